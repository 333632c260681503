//! Number formatting in one place, so `140 ms`, `1.2 s`, `46.8 MiB` and
//! `12.3 %` read the same everywhere.

//! The steady window of a run and its sustained throughput.

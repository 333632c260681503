//! Machine outputs of `gate`: JSON verdict, JUnit XML, GitHub summary.

//! Findings derived from a run: the steady window and sustained throughput,
//! load phases, resource use, errors by status, comparisons.

pub mod compare;
pub mod regression;
pub mod resources;
pub mod steady;
pub mod windows;

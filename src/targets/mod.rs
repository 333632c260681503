//! Target expressions and their evaluation into a verdict.

pub mod expr;

//! perfreport turns load-test output (Locust, Goose) and resource samples of the
//! server under test into a target verdict a CI pipeline can act on and a filled
//! load-testing report.
//!
//! The data flows one way: [`input`] readers produce a [`model::Run`];
//! [`targets`] evaluates it into a verdict, [`analysis`] derives findings,
//! [`report`] derives the typed report model from a run set, and [`render`]
//! writes it as markdown or HTML.
//!
//! ```
//! use perfreport::{input, targets};
//! let stats = "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv";
//! let run = input::load_run(&[stats.into()], None)?;
//! let verdict = targets::evaluate(&run, &targets::default_targets(), None);
//! // p99 560 ms misses the default 500 ms target: exit code 1
//! assert_eq!(verdict.exit_code(false, false), 1);
//! # Ok::<(), perfreport::Error>(())
//! ```
#![deny(missing_docs)]

pub mod analysis;
pub mod app;
pub mod config;
pub mod error;
pub mod format;
pub mod history;
pub mod input;
pub mod latency;
pub mod model;
pub mod output;
pub mod render;
pub mod report;
pub mod sample;
pub mod targets;

pub use error::{Error, Result};
pub use model::Run;

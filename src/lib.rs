//! perfreport turns load-test output (Locust, Goose) and resource samples of the
//! server under test into a target verdict a CI pipeline can act on and a filled
//! load-testing report.
//!
//! The data flows one way: [`input`] readers produce a [`model::Run`];
//! [`targets`] evaluates it into a verdict, [`analysis`] derives findings, and
//! [`render`] writes reports.
//!
//! ```no_run
//! let run = perfreport::input::load_run(&["results_stats.csv".into()], None)?;
//! let verdict = perfreport::targets::evaluate(&run, &perfreport::targets::default_targets())?;
//! println!("{}", verdict.exit_code(false));
//! # Ok::<(), perfreport::Error>(())
//! ```
#![deny(missing_docs)]

pub mod analysis;
pub mod error;
pub mod format;
pub mod input;
pub mod latency;
pub mod model;
pub mod output;
pub mod render;
pub mod sample;
pub mod targets;

pub use error::{Error, Result};
pub use model::Run;

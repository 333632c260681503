//! Print per-endpoint count / p50 / p95 / p99 / max of a run's `--stats` inputs
//! (for example a Goose request log), through `perfreport::input::load_run`.
//! The request-log benchmark (`benches/reqlog.sh`) times this when the CLI's
//! `gate` subcommand is not available.
//!
//! Usage: `cargo run --release --example reqlog_stats -- FILE [FILE...]`

use perfreport::model::Endpoint;
use std::path::PathBuf;

fn ms(e: &Endpoint, p: f64) -> String {
    match e.latency.percentile(p).value() {
        Some(v) => format!("{v:.1}"),
        None => "-".into(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        return Err("usage: reqlog_stats FILE [FILE...]".into());
    }
    let run = perfreport::input::load_run(&paths, None)?;
    println!(
        "{:<8} {:<44} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "method", "name", "count", "fails", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for e in run.endpoints.iter().chain(std::iter::once(&run.total)) {
        println!(
            "{:<8} {:<44} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9}",
            e.kind,
            e.name,
            e.requests,
            e.failures,
            ms(e, 50.0),
            ms(e, 95.0),
            ms(e, 99.0),
            e.latency.max_ms.map_or("-".into(), |m| format!("{m:.1}"))
        );
    }
    for p in &run.provenance {
        eprintln!("note: {p}");
    }
    Ok(())
}

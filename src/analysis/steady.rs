//! The steady window of a run and its sustained throughput.
//!
//! "Sustained" throughput is the request rate over the steady window: the time
//! the test held its peak user count, after ramp-up and before ramp-down.
//!
//! * Goose: the measured window after its metrics reset (Maintaining), over which
//!   Goose computes its own RPS.
//! * Locust with a stats history: from the first tick at which the user count
//!   reached its peak to the last tick at the peak; rate = difference of the
//!   cumulative `Total Request Count` between those ticks / seconds between them.
//! * Per-second counts with users (Locust JSON + history, Goose request log):
//!   mean of the per-second request counts inside that window.
//! * Without any time series: the whole-run average (ramp-up included), and the
//!   report says so.

use crate::model::{Run, Window};

/// Sustained throughput and how it was obtained.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sustained {
    /// Requests per second.
    pub rps: f64,
    /// The window, when one was found.
    #[serde(skip)]
    pub window: Option<Window>,
    /// A sentence on the basis of the figure.
    pub basis: String,
}

/// The window the test held its peak user count, from the timeline.
pub fn peak_window(run: &Run) -> Option<(Window, u64)> {
    let peak = run.timeline.iter().filter_map(|p| p.users).max()?;
    if peak == 0 {
        return None;
    }
    let first = run.timeline.iter().find(|p| p.users == Some(peak))?.t;
    let last = run.timeline.iter().rev().find(|p| p.users == Some(peak))?.t;
    (last > first).then_some((
        Window {
            start: first,
            end: last,
        },
        peak,
    ))
}

/// The steady window: Goose's measured window, else the peak-users window.
pub fn steady_window(run: &Run) -> Option<Window> {
    run.measured_window
        .or_else(|| peak_window(run).map(|(w, _)| w))
}

/// Sustained throughput of the whole run (all requests).
pub fn sustained_rps(run: &Run) -> Option<Sustained> {
    if let Some(w) = run.measured_window
        && let Some(rps) = run.total.rps
    {
        return Some(Sustained {
            rps,
            window: Some(w),
            basis: format!(
                "{}'s measured window after ramp-up ({:.0} s at {} users)",
                run.tool,
                run.duration_s.unwrap_or(w.seconds()),
                run.peak_users.map_or("?".into(), |u| u.to_string())
            ),
        });
    }
    if let Some((w, peak)) = peak_window(run) {
        let at = |t: f64| run.timeline.iter().find(|p| p.t == t);
        if let (Some(a), Some(b)) = (at(w.start), at(w.end))
            && let (Some(ra), Some(rb)) = (a.total_requests, b.total_requests)
        {
            let rps = rb.saturating_sub(ra) as f64 / w.seconds();
            // only Locust writes a stats history; Goose's series are counted
            // from its request log (or graph data)
            let series = match run.tool {
                crate::model::Tool::Locust => "stats history",
                crate::model::Tool::Goose => "Goose's per-second request counts",
            };
            return Some(Sustained {
                rps,
                window: Some(w),
                basis: format!(
                    "steady window of {:.0} s at the peak of {peak} users ({series}, cumulative request count difference)",
                    w.seconds()
                ),
            });
        }
        let per_second: Vec<f64> = run
            .timeline
            .iter()
            .filter(|p| p.t >= w.start && p.t < w.end)
            .filter_map(|p| p.rps)
            .collect();
        if !per_second.is_empty() {
            // seconds without a request are absent from per-second maps
            let rps = per_second.iter().sum::<f64>() / w.seconds().max(1.0);
            return Some(Sustained {
                rps,
                window: Some(w),
                basis: format!(
                    "steady window of {:.0} s at the peak of {peak} users (per-second request counts)",
                    w.seconds()
                ),
            });
        }
    }
    run.total.rps.map(|rps| Sustained {
        rps,
        window: None,
        basis:
            "whole-run average including ramp-up (the input has no time series with user counts)"
                .into(),
    })
}

//! Number formatting in one place, so `140 ms`, `1.25 s`, `46.8 MiB` and
//! `12.3 %` read the same everywhere.

/// A latency in ms: `0.42 ms`, `7.5 ms`, `140 ms`, `1.25 s`.
pub fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{} s", trim(format!("{:.2}", v / 1000.0)))
    } else if v < 10.0 && v.fract() != 0.0 {
        format!("{} ms", trim(format!("{v:.2}")))
    } else {
        format!("{v:.0} ms")
    }
}

/// Bytes as MiB: `46.8 MiB` (GiB from 1 GiB).
pub fn bytes(v: f64) -> String {
    let mib = v / 1_048_576.0;
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

/// A fraction as a percentage: `0.0824` -> `8.24 %`.
pub fn fraction(v: f64) -> String {
    percent(v * 100.0)
}

/// A value already in percent: `12.3 %` (two decimals below 10).
pub fn percent(v: f64) -> String {
    if v != 0.0 && v.abs() < 10.0 {
        format!("{v:.2} %")
    } else {
        format!("{v:.1} %")
    }
}

/// A rate: `16.61 req/s`.
pub fn rps(v: f64) -> String {
    format!("{v:.2} req/s")
}

/// A count with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds as `1 min 30 s` / `45 s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match (s / 60, s % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// A signed change in percent: `-49.2 %`, `+12.0 %`.
pub fn change(v: f64) -> String {
    format!("{v:+.1} %")
}

/// Unix seconds as an RFC 3339 UTC time (whole seconds).
pub fn time(unix: f64) -> String {
    jiff::Timestamp::from_second(unix.floor() as i64)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| format!("{unix}"))
}

/// Unix seconds as a date: `2026-11-27`.
pub fn date(unix: f64) -> String {
    jiff::Timestamp::from_second(unix.floor() as i64)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| format!("{unix}"))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_same_everywhere() {
        assert_eq!(ms(140.0), "140 ms");
        assert_eq!(ms(1250.0), "1.25 s");
        assert_eq!(ms(3.37), "3.37 ms");
        assert_eq!(bytes(49_073_356.8), "46.8 MiB");
        assert_eq!(fraction(0.0824), "8.24 %");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(duration(90.0), "1 min 30 s");
        assert_eq!(time(1795792148.4), "2026-11-27T15:09:08Z");
    }
}

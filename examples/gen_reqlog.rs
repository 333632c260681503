//! Write a synthetic Goose 0.19 CSV request log (`--request-format csv`) of
//! about SIZE_MB megabytes, for the request-log benchmark (`benches/reqlog.sh`).
//! Rows look like `fixtures/goose/monitoring-30u-reqlog-csv/requests.csv`:
//! 12 request names over 4 scenarios, GET/POST, 200 users, roughly log-normal
//! times from 1 ms to a few seconds, ~2 % failures (404/500/504 and a few
//! transport errors with status 0), `elapsed` rising at ~1,000 requests/s with
//! rows slightly out of order as in a real log. Deterministic (fixed seed).
//!
//! Usage: `cargo run --release --example gen_reqlog -- SIZE_MB OUT.csv [ROWS_PER_S] [NAMES]`
//!
//! `ROWS_PER_S` (default 1000) sets how long the run lasts: 100 MB at 4.4
//! rows/s is a 24-hour run. `NAMES` above 12 adds unparameterised URLs
//! (`/api/v1/item/N`, N < NAMES) to every fourth row, for the name cap.

use std::io::{BufWriter, Write};

/// xorshift64*: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const NAMES: [(&str, &str, &str, u32); 12] = [
    ("Get", "monitoring", "/api/v1/monitoring/activity", 0),
    ("Get", "monitoring", "/api/v1/downloads/queue", 0),
    ("Get", "monitoring", "/api/v1/downloads/history", 0),
    ("Get", "configaudit", "/api/v1/config/sabnzbd", 1),
    ("Get", "configaudit", "/api/v1/config/sonarr", 1),
    ("Post", "configaudit", "/api/v1/config/audit", 1),
    ("Get", "configaudit", "/health", 1),
    ("Get", "contentrequest", "/api/v1/content", 2),
    (
        "Post",
        "contentrequest",
        "/api/v1/content/request [movie]",
        2,
    ),
    ("Post", "contentrequest", "/api/v1/content/request [tv]", 2),
    ("Get", "mixed", "/api/v1/queue", 3),
    ("Get", "mixed", "/api/v1/activity", 3),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(size), Some(out)) = (args.first(), args.get(1)) else {
        return Err("usage: gen_reqlog SIZE_MB OUT.csv [ROWS_PER_S] [NAMES]".into());
    };
    let rate: f64 = args.get(2).map_or(Ok(1000.0), |r| r.parse())?;
    let names: u64 = args.get(3).map_or(Ok(12), |n| n.parse())?;
    let target: u64 = size.parse::<u64>()? * 1_000_000;
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let header = "elapsed,scenario_index,scenario_name,transaction_index,transaction_name,raw,name,final_url,redirected,response_time,status_code,success,update,user,error,coordinated_omission_elapsed,user_cadence,response_time_us\n";
    w.write_all(header.as_bytes())?;
    let mut written = header.len() as u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut row = 0u64;
    let mut line = String::with_capacity(512);
    while written < target {
        let (method, scenario, name, scenario_index) =
            NAMES[(rng.next() % NAMES.len() as u64) as usize];
        let item;
        let name = if names > 12 && row.is_multiple_of(4) {
            item = format!("/api/v1/item/{}", rng.next() % names);
            item.as_str()
        } else {
            name
        };
        // `rate` requests/s, with up to ~600 ms of disorder as in a real log
        let elapsed = if rate == 1000.0 {
            (row / 1000) * 1000 + rng.next() % 1000
        } else {
            (row as f64 * 1000.0 / rate) as u64
        };
        let elapsed = elapsed.saturating_sub(rng.next() % 600);
        // log-normal-ish: exp(N(ln 30 ms, 1)) via the sum of uniforms
        let z: f64 = (0..4).map(|_| rng.unit()).sum::<f64>() - 2.0;
        let us = ((30_000.0 * (z * 1.7).exp()) as u64).clamp(150, 5_000_000);
        let roll = rng.next() % 1000;
        let (status, error) = match roll {
            0..=9 => (404, format!("404 Not Found: {name}")),
            10..=14 => (500, format!("500 Internal Server Error: {name}")),
            15..=18 => (504, format!("504 Gateway Timeout: {name}")),
            19 => (
                0,
                format!("error sending request {name}: client error (Connect)"),
            ),
            _ => (200, String::new()),
        };
        let success = status == 200;
        let user = rng.next() % 200;
        let url = format!(
            "http://127.0.0.1:18203{}",
            name.split(' ').next().unwrap_or(name)
        );
        let body = if method == "Post" {
            "{\"\"year\"\":1999}"
        } else {
            ""
        };
        line.clear();
        use std::fmt::Write as _;
        writeln!(
            line,
            "{elapsed},{scenario_index},{scenario},{},,\"GooseRawRequest {{ method: {method}, url: \"\"{url}\"\", headers: [], body: \"\"{body}\"\", custom_method: \"\"\"\" }}\",{name},{url},false,{},{status},{success},false,{user},{error},0,0,{us}",
            rng.next() % 5,
            us / 1000,
        )?;
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        row += 1;
    }
    w.flush()?;
    eprintln!("wrote {row} rows, {written} bytes to {out}");
    Ok(())
}

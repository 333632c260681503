//! The visual HTML report: one self-contained file with the seven kinds of
//! charts, the spectrum read back from the SVG against percentiles computed
//! here from Locust's JSON histograms, and a real browser (headless Chromium)
//! loading the page.

mod common;
use common::locust_pct;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn render_html(args: &[&str], dir: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(name);
    assert_cmd::Command::cargo_bin("perfreport")
        .unwrap()
        .arg("render")
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let html = std::fs::read_to_string(&out).unwrap();
    (out, html)
}

fn autoarr(dir: &Path) -> (PathBuf, String) {
    render_html(
        &["--config", "fixtures/autoarr/perfreport.toml"],
        dir,
        "report.html",
    )
}

fn goose(dir: &Path) -> (PathBuf, String) {
    let d = "fixtures/goose/mixed-graph-jsonl-30u";
    render_html(
        &[
            "--stats",
            &format!("{d}/report.json"),
            "--stats",
            &format!("{d}/requests.json"),
            "--resources",
            &format!("{d}/resources.csv"),
        ],
        dir,
        "goose.html",
    )
}

/// The `<svg ...>...</svg>` element with this id.
fn svg_by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\""
        ))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let end = start + html[start..].find("</svg>").unwrap();
    &html[start..end]
}

fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let i = tag.find(&key).unwrap() + key.len();
    &tag[i..i + tag[i..].find('"').unwrap()]
}

/// (series name, [(x, y)]) of every polyline of a chart, from its data attributes.
fn series(svg: &str) -> Vec<(String, Vec<(f64, f64)>)> {
    svg.match_indices("<polyline ")
        .map(|(i, _)| {
            let tag = &svg[i..i + svg[i..].find('>').unwrap()];
            let pts = attr(tag, "data-points")
                .split(' ')
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            (attr(tag, "data-series").to_string(), pts)
        })
        .collect()
}

/// Every entry of a Locust `--json` file merged into one histogram (what
/// Locust's Aggregated row is computed from).
fn merged_histogram(path: &str) -> (BTreeMap<u64, u64>, u64) {
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut hist = BTreeMap::new();
    for e in &entries {
        for (k, v) in e["response_times"].as_object().unwrap() {
            *hist.entry(k.parse::<f64>().unwrap() as u64).or_insert(0) += v.as_u64().unwrap();
        }
    }
    let n = hist.values().sum();
    (hist, n)
}

#[test]
fn spectrum_points_are_locusts_percentiles_and_after_is_lower_at_p95_and_p99() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = autoarr(dir.path());
    let svg = svg_by_id(&html, "spectrum-compare");
    let lines = series(svg);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let mut at = Vec::new();
    for ((name, pts), file) in lines.iter().zip([
        "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s.json",
        "fixtures/locust/mixed_after_u50_90s/mixed_after_u50_90s.json",
    ]) {
        assert!(name.contains(if file.contains("baseline") {
            "baseline"
        } else {
            "after"
        }));
        let (hist, n) = merged_histogram(file);
        assert!(pts.len() >= 40, "{name}: {} points", pts.len());
        for &(x, y) in pts {
            let q = 1.0 - 10f64.powf(-x);
            // x went through a decimal string: accept the rule on either side
            // of a count boundary
            let ok = [q - 1e-9, q, q + 1e-9]
                .iter()
                .any(|q| locust_pct(&hist, n, q.clamp(0.0, 1.0)) as f64 == y);
            assert!(
                ok,
                "{name}: at q={q} plotted {y} ms, Locust's rule gives {}",
                locust_pct(&hist, n, q)
            );
        }
        let y_at = |p: f64| {
            let x = -(1.0 - p / 100.0).log10();
            pts.iter()
                .find(|(px, _)| (px - x).abs() < 1e-9)
                .unwrap_or_else(|| panic!("{name}: no point at p{p}"))
                .1
        };
        // the plotted values at p95 and p99 are Locust's own
        assert_eq!(y_at(95.0), locust_pct(&hist, n, 0.95) as f64);
        assert_eq!(y_at(99.0), locust_pct(&hist, n, 0.99) as f64);
        at.push((y_at(95.0), y_at(99.0)));
    }
    let ((b95, b99), (a95, a99)) = (at[0], at[1]);
    assert!(
        a95 < b95 && a99 < b99,
        "baseline {b95}/{b99}, after {a95}/{a99}"
    );
}

const KINDS: [&str; 7] = [
    "latency",
    "throughput",
    "spectrum",
    "endpoints",
    "comparison",
    "resources",
    "scalability",
];

/// No `src`/`href` that leaves the file, no script, a CSP, every kind of chart.
fn assert_self_contained(html: &str, kinds: &[&str]) {
    for attr_name in ["src=", "href=", "url(", "@import"] {
        for (i, _) in html.match_indices(attr_name) {
            let rest = &html[i + attr_name.len()..];
            let target = rest.trim_start_matches(['"', '\'']);
            assert!(
                target.starts_with('#') || target.starts_with("data:image/"),
                "reference outside the file: {}",
                &html[i..(i + 80).min(html.len())]
            );
        }
    }
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("script-src") || html.contains("default-src 'none'"));
    for k in kinds {
        let tag = format!("data-kind=\"{k}\"");
        assert!(html.contains(&tag), "no {k} chart");
    }
    // no emoji left for a font to miss; the words stay
    assert!(!html.contains('✅') && !html.contains('❌'));
}

#[test]
fn the_autoarr_report_is_one_file_with_all_seven_kinds_of_chart() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = autoarr(dir.path());
    assert_self_contained(&html, &KINDS);
    // every kind has data here: none is a "no chart" placeholder
    assert!(
        !html.contains("class=\"chart nodata\""),
        "a chart without data"
    );
    // nothing else was written next to it
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    // the summary's fields stay on their own lines
    assert!(
        html.contains("<br />\n<strong>Testing Tool</strong>"),
        "fields run together"
    );
    assert!(html.contains("Met in") && html.contains("Missed in"));
}

#[test]
fn time_charts_plot_the_timeline_and_target_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (_, html) = autoarr(dir.path());
    // throughput of the first scenario against the history CSV, read here
    let rows = {
        let mut r = csv::Reader::from_path(
            "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_stats_history.csv",
        )
        .unwrap();
        let h = r.headers().unwrap().clone();
        let ts = h.iter().position(|c| c == "Timestamp").unwrap();
        let name = h.iter().position(|c| c == "Name").unwrap();
        let rps = h.iter().position(|c| c == "Requests/s").unwrap();
        r.records()
            .map(|x| x.unwrap())
            .filter(|x| &x[name] == "Aggregated")
            .map(|x| {
                (
                    x[ts].parse::<f64>().unwrap(),
                    x[rps].parse::<f64>().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    let svg = svg_by_id(&html, "throughput-1");
    let lines = series(svg);
    let (_, rps) = lines.iter().find(|(n, _)| n == "requests/s").unwrap();
    let plotted: Vec<f64> = rps.iter().map(|p| p.1).collect();
    let expected: Vec<f64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(plotted, expected);
    // the p95 target line is drawn at its limit (200 ms in the default targets)
    let lat = svg_by_id(&html, "latency-1");
    assert!(lat.contains("data-limit=\"200\""), "no 200 ms limit line");
}

/// `true` when Chromium is there; when it is not: skip outside CI, fail in CI.
fn chromium() -> Option<String> {
    for c in ["chromium", "chromium-browser"] {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(c.to_string());
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI is set but chromium is missing: .ci/run installs it (apt-get install chromium)");
    }
    eprintln!(
        "SKIPPED: browser test: chromium is not installed (apt-get install chromium; CI=true makes this a failure)"
    );
    None
}

fn chromium_args(user_dir: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", user_dir.display())])
    .collect()
}

/// Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) to rows.
fn png_rows(path: &Path) -> (usize, Vec<Vec<u8>>, usize) {
    use std::io::Read;
    let d = std::fs::read(path).unwrap();
    assert_eq!(&d[..8], b"\x89PNG\r\n\x1a\n");
    let (mut pos, mut idat, mut w, mut h, mut bpp) = (8, Vec::new(), 0, 0, 0);
    while pos + 8 <= d.len() {
        let n = u32::from_be_bytes(d[pos..pos + 4].try_into().unwrap()) as usize;
        let t = &d[pos + 4..pos + 8];
        let c = &d[pos + 8..pos + 8 + n];
        match t {
            b"IHDR" => {
                w = u32::from_be_bytes(c[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(c[4..8].try_into().unwrap()) as usize;
                assert_eq!(c[8], 8, "bit depth");
                bpp = match c[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(c),
            _ => {}
        }
        pos += 12 + n;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = w * bpp;
    let mut rows: Vec<Vec<u8>> = Vec::with_capacity(h);
    let mut prev = vec![0u8; stride];
    for y in 0..h {
        let f = raw[y * (stride + 1)];
        let mut line = raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)].to_vec();
        for x in 0..stride {
            let a = if x >= bpp { line[x - bpp] as i32 } else { 0 };
            let b = prev[x] as i32;
            let c = if x >= bpp { prev[x - bpp] as i32 } else { 0 };
            let add = match f {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("filter {other}"),
            };
            line[x] = (line[x] as i32 + add) as u8;
        }
        prev = line.clone();
        rows.push(line);
    }
    (w, rows, bpp)
}

fn check_in_browser(browser: &str, page: &Path, shot: &Path, charts: usize) {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    // the DOM after load: every chart parsed as SVG with something drawn in it
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args(chromium_args(profile.path()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // a blocked load or any console message (Chromium logs them as CONSOLE)
    for blocked in [
        "Refused to",
        "Content Security Policy",
        "has been blocked",
        ":CONSOLE",
        "net::ERR_",
        "Failed to load",
    ] {
        assert!(!stderr.contains(blocked), "blocked request: {stderr}");
    }
    let svgs: Vec<&str> = dom
        .match_indices("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart")
        .map(|(i, _)| &dom[i..i + dom[i..].find("</svg>").unwrap()])
        .collect();
    assert_eq!(svgs.len(), charts, "charts in the loaded page");
    for s in &svgs {
        assert!(s.contains("<text") && s.len() > 300, "empty chart: {s}");
    }
    // the screenshot
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args(chromium_args(profile.path()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,4000")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, rows, bpp) = png_rows(shot);
    assert_eq!((w, rows.len()), (1280, 4000));
    // not blank: many pixels far from white, and more than a couple of colours
    let mut dark = 0usize;
    let mut colours = std::collections::HashSet::new();
    for r in &rows {
        for px in r.chunks(bpp) {
            if (px[0] as u32 + px[1] as u32 + px[2] as u32) < 600 {
                dark += 1;
            }
            colours.insert((px[0] >> 4, px[1] >> 4, px[2] >> 4));
        }
    }
    assert!(dark > 20_000, "screenshot nearly blank: {dark} dark pixels");
    assert!(
        colours.len() > 20,
        "screenshot has {} colours",
        colours.len()
    );
}

#[test]
fn reports_load_in_headless_chromium_with_every_chart_drawn() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (page, html) = autoarr(dir.path());
    let charts = html.matches("<figure class=\"chart\"").count();
    assert!(charts >= 7);
    check_in_browser(&browser, &page, &dir.path().join("autoarr.png"), charts);
    let (page, html) = goose(dir.path());
    assert_self_contained(&html, &KINDS);
    let charts = html.matches("<figure class=\"chart\"").count();
    check_in_browser(&browser, &page, &dir.path().join("goose.png"), charts);
    // PERFREPORT_SCREENSHOTS=docs keeps them (how docs/*.png are made)
    if let Ok(to) = std::env::var("PERFREPORT_SCREENSHOTS") {
        for f in ["autoarr.png", "goose.png"] {
            std::fs::copy(
                dir.path().join(f),
                Path::new(&to).join(format!("report-{f}")),
            )
            .unwrap();
        }
    }
}

#[test]
fn the_markdown_report_links_its_charts_as_svg_files_next_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("REPORT.md");
    assert_cmd::Command::cargo_bin("perfreport")
        .unwrap()
        .args([
            "render",
            "--config",
            "fixtures/autoarr/perfreport.toml",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let md = std::fs::read_to_string(&out).unwrap();
    let mut linked = 0;
    for (i, _) in md.match_indices("](REPORT.") {
        let rest = &md[i + 2..];
        let name = &rest[..rest.find(')').unwrap()];
        assert!(name.ends_with(".svg"), "{name}");
        let svg = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(
            svg.starts_with("<?xml") && svg.contains("<svg xmlns"),
            "{name}"
        );
        linked += 1;
    }
    // one file per chart of the HTML report, each linked once
    let (_, html) = autoarr(dir.path());
    assert_eq!(linked, html.matches("<figure class=\"chart\"").count());
}

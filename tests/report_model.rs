//! The report model: `render --format json` follows the committed JSON Schema
//! (which is what schemars generates from the model, so it cannot drift), a
//! saved model renders to the same bytes as the runs it came from, and a model
//! file that is malformed or of another version is refused with its position.
//!
//! `PERFREPORT_BLESS=1 cargo test --test report_model` rewrites
//! schemas/report.schema.json after a deliberate change of the model.

mod common;
use common::files_in as files_of;
use common::perfreport;

const CONFIG: &str = "fixtures/autoarr/perfreport.toml";
const TEMPLATE: &str = "fixtures/autoarr/report.md.tera";
const SCHEMA: &str = "schemas/report.schema.json";
const GOOSE: &str = "fixtures/goose/mixed-baseline-40u/report.json";

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = perfreport()
        .args(["render", "--format", "json"])
        .args(args)
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let generated = perfreport::report::json_schema();
    if std::env::var_os("PERFREPORT_BLESS").is_some() {
        std::fs::write(SCHEMA, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA).unwrap();
    assert!(
        committed == generated,
        "{SCHEMA} differs from the model's schema: regenerate it with PERFREPORT_BLESS=1 cargo test --test report_model"
    );
    // the schema names the version it describes
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert!(schema["properties"]["schema_version"].is_object());
}

#[test]
fn render_format_json_validates_against_the_committed_schema() {
    let autoarr = json_of(&["--config", CONFIG]);
    common::check_schema(SCHEMA, &autoarr);
    assert_eq!(autoarr["schema_version"], 1);
    // four scenarios in the config, one [[scenario]] each, in order
    let config = std::fs::read_to_string(CONFIG).unwrap();
    let names: Vec<&str> = config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    let titles: Vec<&str> = autoarr["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), config.matches("[[scenario]]").count());
    for t in &titles {
        assert!(names.contains(t), "{t} not among {names:?}");
    }

    let goose = json_of(&["--stats", GOOSE]);
    common::check_schema(SCHEMA, &goose);
    // the total request count, from Goose's own Aggregated row
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(GOOSE).unwrap()).unwrap();
    let agg = raw["raw_request_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Aggregated")
        .unwrap();
    let requests = agg["number_of_requests"].as_u64().unwrap();
    assert_eq!(
        goose["scenarios"][0]["actual"][0],
        format!("Total Requests: {requests}")
    );
    // charts are data, not drawn markup: the spectrum's line ends at the
    // run's largest nine its request count supports (log10 of the count)
    let figures = goose["figures"].as_array().unwrap();
    let spectrum = figures.iter().find(|f| f["kind"] == "spectrum").unwrap();
    assert_eq!(spectrum["chart"]["type"], "line");
    let points = spectrum["chart"]["lines"][0]["points"].as_array().unwrap();
    let last_x = points.last().unwrap()[0].as_f64().unwrap();
    let nines = (requests as f64).log10().floor().clamp(1.0, 4.0);
    assert!((last_x - nines).abs() < 1e-9, "{last_x} vs {nines}");
}

#[test]
fn a_saved_model_renders_the_same_markdown_and_html_charts_included() {
    let tmp = tempfile::tempdir().unwrap();
    let direct = tmp.path().join("direct");
    let saved = tmp.path().join("saved");
    std::fs::create_dir_all(&direct).unwrap();
    std::fs::create_dir_all(&saved).unwrap();
    let model = tmp.path().join("model.json");
    for out in ["R.md", "R.html"] {
        perfreport()
            .args(["render", "--config", CONFIG, "--out"])
            .arg(direct.join(out))
            .assert()
            .success();
    }
    perfreport()
        .args(["render", "--config", CONFIG, "--format", "json", "--out"])
        .arg(&model)
        .assert()
        .success();
    for out in ["R.md", "R.html"] {
        // the config's template is presentation, not data: given again
        perfreport()
            .args(["render", "--template", TEMPLATE, "--model"])
            .arg(&model)
            .arg("--out")
            .arg(saved.join(out))
            .assert()
            .success();
    }
    let a = files_of(&direct);
    let b = files_of(&saved);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    // the markdown links its charts as files: R.md, R.html and the SVGs
    assert!(a.len() > 10, "{:?}", names(&a));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs when rendered from the saved model");
    }
    // and the committed report is what the model renders
    let committed = std::fs::read("fixtures/autoarr/LOAD_TEST_REPORT.md").unwrap();
    perfreport()
        .args(["render", "--template", TEMPLATE, "--model"])
        .arg(&model)
        .arg("--out")
        .arg(saved.join("LOAD_TEST_REPORT.md"))
        .assert()
        .success();
    assert!(std::fs::read(saved.join("LOAD_TEST_REPORT.md")).unwrap() == committed);
}

#[test]
fn a_model_of_another_version_or_malformed_exits_2_with_its_position() {
    let tmp = tempfile::tempdir().unwrap();
    let newer = tmp.path().join("newer.json");
    std::fs::write(
        &newer,
        "{\n  \"schema_version\": 2,\n  \"title\": \"x\"\n}\n",
    )
    .unwrap();
    let out = perfreport()
        .args(["render", "--model"])
        .arg(&newer)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("newer.json"), "{err}");
    assert!(err.contains("line 2, column 3"), "{err}");
    assert!(err.contains("\"schema_version\": 2"), "{err}");

    // a model cut short: the JSON error's own line and column
    let model = json_of(&["--stats", GOOSE]).to_string();
    let cut = tmp.path().join("cut.json");
    std::fs::write(&cut, &model[..model.len() / 2]).unwrap();
    let out = perfreport()
        .args(["render", "--model"])
        .arg(&cut)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("cut.json: line 1, column "), "{err}");

    // a model with a field of the wrong type
    let mut doc: serde_json::Value = serde_json::from_str(&model).unwrap();
    doc["scenarios"] = serde_json::json!("none");
    let wrong = tmp.path().join("wrong.json");
    std::fs::write(&wrong, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = perfreport()
        .args(["render", "--model"])
        .arg(&wrong)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("wrong.json: line "), "{err}");
    assert!(err.contains("expected a sequence"), "{err}");

    // --model renders alone
    perfreport()
        .args(["render", "--config", CONFIG, "--model"])
        .arg(&newer)
        .assert()
        .code(2);
}

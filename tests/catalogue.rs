//! Runs every row of `fixtures/bad/CATALOGUE.tsv`: the CLI on a bad (or
//! tricky) input must exit with the listed code and say the listed fragment,
//! and never panic (101), abort (134) or die by a signal.

use std::path::Path;
use std::process::Command;

#[test]
fn every_catalogue_case_exits_as_listed_with_its_message() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(root.join("fixtures/bad/CATALOGUE.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "CATALOGUE.tsv row needs 4 columns: {line}");
        let (case, args, exit, message) = (cols[0], cols[1], cols[2], cols[3]);
        let expected: i32 = exit.parse().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let tmp_text = tmp.path().to_str().unwrap();
        let args: Vec<String> = args
            .split(' ')
            .filter(|a| !a.is_empty())
            .map(|a| a.replace("{tmp}", tmp_text))
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_perfreport"))
            .args(&args)
            .current_dir(root)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        cases += 1;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match out.status.code() {
            None => failures.push(format!("{case}: killed by a signal")),
            Some(c @ (101 | 134)) => failures.push(format!("{case}: crashed with {c}: {text}")),
            Some(c) if c != expected => {
                failures.push(format!("{case}: exit {c}, expected {expected}: {text}"))
            }
            Some(_) if !text.contains(message) => {
                failures.push(format!("{case}: output lacks `{message}`: {text}"))
            }
            Some(_) => {}
        }
    }
    assert!(cases > 0, "the catalogue is empty");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

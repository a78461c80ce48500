#![allow(clippy::unwrap_used, clippy::expect_used)]
//! docs/hostile-inputs.md and the `tests/hostile.rs` suites list the same
//! cases: every row names a test that exists in the file it names, and
//! every test of a suite has its row.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The first identifier on a line (letters, digits, `_`).
fn identifier(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    (end > 0).then(|| &line[..end])
}

/// The cases of one suite: the functions after `#[test]` or
/// `#[tokio::test...]`, and the names that open a `case!(` or
/// `refused!(` invocation (after its doc comments).
fn cases_in(source: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let rest = lines[i + 1..].iter().map(|l| l.trim());
        if t.starts_with("#[test]") || t.starts_with("#[tokio::test") {
            if let Some(f) = rest
                .filter(|l| !l.starts_with("#["))
                .find_map(|l| l.strip_prefix("async fn ").or(l.strip_prefix("fn ")))
                && let Some(name) = identifier(f)
            {
                out.insert(name.to_owned());
            }
        } else if !t.starts_with("macro_rules!")
            && (t == "case!(" || t == "refused!(")
            && let Some(name) = rest
                .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#["))
                .find_map(identifier)
        {
            out.insert(name.to_owned());
        }
    }
    out
}

#[test]
fn the_catalogue_lists_every_hostile_case_and_only_those() {
    let doc = std::fs::read_to_string(root().join("docs/hostile-inputs.md")).unwrap();
    // `crates/<crate>/tests/hostile.rs::<case>` in the rows.
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    for row in doc.lines().filter(|l| l.starts_with("| ")) {
        if let Some(at) = row.find("crates/")
            && let Some((file, rest)) = row[at..].split_once("::")
        {
            let case = identifier(rest).unwrap().to_owned();
            let first_cell = row[2..].split(" |").next().unwrap().trim();
            assert_eq!(first_cell, case, "row's case and test differ: {row}");
            listed.insert((file.to_owned(), case));
        }
    }
    // `tests/hostile.rs`: malformed and forged inputs; `tests/attacks.rs`:
    // the attackers of docs/threat-model.md, each a test that must fail
    // for them.
    let mut found: BTreeSet<(String, String)> = BTreeSet::new();
    let mut attacks = 0;
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        for suite in ["tests/hostile.rs", "tests/attacks.rs"] {
            let file = dir.join(suite);
            if let Ok(source) = std::fs::read_to_string(&file) {
                let name = file
                    .strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let name = name.trim_start_matches("./").to_owned();
                for case in cases_in(&source) {
                    attacks += usize::from(suite == "tests/attacks.rs");
                    found.insert((name.clone(), case));
                }
            }
        }
    }
    let missing: Vec<_> = found.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "cases without a row in docs/hostile-inputs.md: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows in docs/hostile-inputs.md whose test does not exist: {stale:?}"
    );
    let hostile = found.len() - attacks;
    assert!(hostile >= 60, "only {hostile} hostile cases");
    // The counts the file states are the real ones.
    assert!(
        doc.contains(&format!("\n{hostile} cases across")),
        "docs/hostile-inputs.md states another number of cases than {hostile}"
    );
    assert!(
        doc.contains(&format!("\n{attacks} attacks across")),
        "docs/hostile-inputs.md states another number of attacks than {attacks}"
    );
}

#[test]
fn the_case_parser_sees_both_forms() {
    let source = "macro_rules! case {\n    ($name:ident) => { #[test] fn $name() {} };\n}\n\
                  case!(\n    /// doc\n    first_case,\n    {}\n);\n\
                  #[tokio::test(flavor = \"multi_thread\")]\nasync fn second_case() {}\n\
                  refused!(\n    third_case: decode,\n);\n";
    let cases: Vec<String> = cases_in(source).into_iter().collect();
    assert_eq!(cases, ["first_case", "second_case", "third_case"]);
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The validation rule ids of docs/validation-rules.md and docs/kt.md and
//! the code cite each other both ways: every documented rule is cited at
//! its check site (a comment `// KDS-ENR-3: ...` in `crates/*/src`, outside
//! test code), and every rule id the code cites is documented.
//!
//! How ids are read:
//!
//! - An id is one or more segments of uppercase letters and digits, each
//!   starting with a letter, then `-` and a decimal number: `KP-1`,
//!   `KDS-ENR-10`, `FILE-C3-2`. Its *prefix* is everything before the final
//!   `-N` (`KDS-ENR`), its *family* the first segment (`KDS`). It does not
//!   continue a longer word (`X-KDS-ENR-1` is not one) and is not followed
//!   by a letter, digit or `_`.
//! - Documented ids are those in the first cell of a table row (`| KP-1 |`),
//!   aliases included (`| RCV-AUTH-2 (MLS-EXT-2) |`); `A-1 … A-5` in a first
//!   cell documents. A row whose rule cell starts with "retired"
//!   documents ids that code may still mention but need not cite.
//! - In code, `A-1..8` (or `A-1..=8`) cites, and `A-1/2/3` cites
//!   `A-*` cites nothing in particular and is not read.
//! - A token of code counts as a rule id only if its family is the family
//!   of some documented id (so `SHA-256`, `UTF-8`, `P-256`, `ML-KEM-768`,
//!   `RFC-9420` and hex never count, but a typo such as `KDS-ENR-30` or an
//!   undocumented `CRED-FOO-1` does). The Android and iOS attestation rules
//!   (`ATT-A-*`, `ATT-I-*`, `ATT-KD-*`, ...) are documented in
//!   crates/attest/README.md, which counts as documentation for the second
//!   direction only.
//! - Test code is `crates/*/tests`, `crates/*/benches`, and inside
//!   `crates/*/src` a module behind `#[cfg(test)]` (inline, or the file of a
//!   `#[cfg(test)] mod name;`). Citations there count for the second
//!   direction, not for the first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Documented rules that no non-test source can cite, each with the
/// reason. Keep it tiny: a rule belongs at its check site.
const NOT_CITABLE_IN_SOURCE: &[(&str, &str)] = &[];

fn word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The id starting at byte `i` of `s`, if one does: (prefix, number, end).
fn id_at(s: &[u8], i: usize) -> Option<(String, u32, usize)> {
    if !s[i].is_ascii_uppercase() || (i > 0 && (word_char(s[i - 1]) || s[i - 1] == b'-')) {
        return None;
    }
    let mut j = i;
    loop {
        // A segment: an uppercase letter, then uppercase letters or digits.
        if j >= s.len() || !s[j].is_ascii_uppercase() {
            return None;
        }
        while j < s.len() && (s[j].is_ascii_uppercase() || s[j].is_ascii_digit()) {
            j += 1;
        }
        if j + 1 >= s.len() || s[j] != b'-' {
            return None;
        }
        let prefix_end = j;
        j += 1;
        if s[j].is_ascii_digit() {
            let start = j;
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            if j < s.len() && word_char(s[j]) {
                return None;
            }
            let prefix = String::from_utf8(s[i..prefix_end].to_vec()).unwrap();
            let number = std::str::from_utf8(&s[start..j]).unwrap().parse().ok()?;
            return Some((prefix, number, j));
        }
    }
}

/// A decimal number at byte `i`: (value, end).
fn number_at(s: &[u8], i: usize) -> Option<(u32, usize)> {
    let mut j = i;
    while j < s.len() && s[j].is_ascii_digit() {
        j += 1;
    }
    if j == i || (j < s.len() && word_char(s[j])) {
        return None;
    }
    Some((std::str::from_utf8(&s[i..j]).unwrap().parse().ok()?, j))
}

/// Every id `text` names, ranges (`A-1..8`, `A-1..=8`) and lists
/// (`A-1/2`) expanded.
fn ids_in(text: &str) -> Vec<String> {
    let s = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let Some((prefix, first, mut end)) = id_at(s, i) else {
            i += 1;
            continue;
        };
        out.push(format!("{prefix}-{first}"));
        let rest = &s[end..];
        let range_start = if rest.starts_with(b"..=") {
            Some(end + 3)
        } else if rest.starts_with(b"..") {
            Some(end + 2)
        } else {
            None
        };
        if let Some(at) = range_start
            && let Some((last, after)) = number_at(s, at)
        {
            out.extend((first + 1..=last).map(|n| format!("{prefix}-{n}")));
            end = after;
        } else {
            while end < s.len()
                && s[end] == b'/'
                && let Some((n, after)) = number_at(s, end + 1)
            {
                out.push(format!("{prefix}-{n}"));
                end = after;
            }
        }
        i = end;
    }
    out
}

fn prefix_of(id: &str) -> &str {
    id.rsplit_once('-').unwrap().0
}

fn family_of(id: &str) -> &str {
    id.split('-').next().unwrap()
}

/// The ids a document's table rows define: (live, retired).
fn documented_in(doc: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut live = BTreeSet::new();
    let mut retired = BTreeSet::new();
    for row in doc.lines().filter(|l| l.starts_with("| ")) {
        let mut cells = row[2..].split(" |");
        let first = cells.next().unwrap().trim();
        let rule = cells.next().unwrap_or("").trim();
        let mut ids = ids_in(first);
        // `A-1 … A-5`: the whole range.
        if let Some((from, to)) = first.split_once(" … ") {
            let (from, to) = (ids_in(from), ids_in(to));
            if let ([from], [to]) = (&from[..], &to[..])
                && prefix_of(from) == prefix_of(to)
            {
                let n = |id: &str| id.rsplit_once('-').unwrap().1.parse::<u32>().unwrap();
                ids.extend((n(from)..=n(to)).map(|k| format!("{}-{k}", prefix_of(from))));
            }
        }
        let into = if rule.starts_with("retired") {
            &mut retired
        } else {
            &mut live
        };
        into.extend(ids);
    }
    (live, retired)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The directory holding the submodules of the module in `file`.
fn module_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap();
    match file.file_stem().unwrap().to_str().unwrap() {
        "mod" | "lib" | "main" => parent.to_owned(),
        stem => parent.join(stem),
    }
}

/// Splits a source file into (non-test text, test text) and names the
/// files of its `#[cfg(test)] mod name;` modules (a file `name.rs`, or a
/// directory `name/`).
fn split_tests(file: &Path, source: &str) -> (String, String, Vec<PathBuf>) {
    let lines: Vec<&str> = source.lines().collect();
    let (mut code, mut tests, mut test_paths) = (String::new(), String::new(), Vec::new());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]" {
            let mut j = i + 1;
            while j < lines.len() && lines[j].trim().starts_with("#[") {
                j += 1;
            }
            let item = lines.get(j).map_or("", |l| l.trim());
            let item = item
                .strip_prefix("pub(crate) ")
                .or(item.strip_prefix("pub "))
                .unwrap_or(item);
            if let Some(name) = item.strip_prefix("mod ") {
                if let Some(name) = name.strip_suffix(';') {
                    let dir = module_dir(file);
                    test_paths.push(dir.join(format!("{name}.rs")));
                    test_paths.push(dir.join(name));
                    i = j + 1;
                    continue;
                }
                // An inline module: up to its closing brace.
                let mut depth = 0i64;
                let mut k = j;
                while k < lines.len() {
                    let line = lines[k].split("//").next().unwrap();
                    depth += line.matches('{').count() as i64;
                    depth -= line.matches('}').count() as i64;
                    if depth <= 0 && line.contains('}') {
                        break;
                    }
                    k += 1;
                }
                for line in &lines[i..=k.min(lines.len() - 1)] {
                    tests.push_str(line);
                    tests.push('\n');
                }
                i = k + 1;
                continue;
            }
        }
        code.push_str(lines[i]);
        code.push('\n');
        i += 1;
    }
    (code, tests, test_paths)
}

#[test]
fn every_documented_rule_is_cited_in_code_and_every_cited_rule_is_documented() {
    let mut documented = BTreeSet::new();
    let mut retired = BTreeSet::new();
    for doc in ["docs/validation-rules.md", "docs/kt.md"] {
        let text = std::fs::read_to_string(root().join(doc)).unwrap();
        let (live, old) = documented_in(&text);
        assert!(!live.is_empty(), "{doc}: no rule ids found");
        documented.extend(live);
        retired.extend(old);
    }
    let families: BTreeSet<String> = documented
        .iter()
        .chain(&retired)
        .map(|id| family_of(id).to_owned())
        .collect();
    let attest = std::fs::read_to_string(root().join("crates/attest/README.md")).unwrap();
    let (elsewhere, _) = documented_in(&attest);

    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    files.sort();
    let mut test_paths: Vec<PathBuf> = Vec::new();
    let mut split: Vec<(PathBuf, String, String)> = Vec::new();
    // This file's examples are not citations.
    files.retain(|f| !f.ends_with("crates/cli/tests/rule_ids.rs"));
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(root()).unwrap().to_owned();
        let in_src = name
            .components()
            .nth(2)
            .is_some_and(|c| c.as_os_str() == "src");
        if in_src {
            let (code, tests, paths) = split_tests(file, &source);
            test_paths.extend(paths);
            split.push((file.clone(), code, tests));
        } else {
            split.push((file.clone(), String::new(), source));
        }
    }

    // id -> the files citing it (non-test source), and every cited id.
    let mut cited_in_source: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut cited_anywhere: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code, tests) in &split {
        let is_test_file = test_paths.iter().any(|p| file.starts_with(p));
        let name = file
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for (text, source) in [(code, !is_test_file), (tests, false)] {
            for id in ids_in(text) {
                if !families.contains(family_of(&id)) {
                    continue;
                }
                if source {
                    cited_in_source
                        .entry(id.clone())
                        .or_default()
                        .insert(name.clone());
                }
                cited_anywhere.entry(id).or_default().insert(name.clone());
            }
        }
    }

    let allowed: BTreeMap<&str, &str> = NOT_CITABLE_IN_SOURCE.iter().copied().collect();
    let uncited: Vec<&String> = documented
        .iter()
        .filter(|id| !cited_in_source.contains_key(*id) && !allowed.contains_key(id.as_str()))
        .collect();
    let needlessly_allowed: Vec<&&str> = allowed
        .keys()
        .filter(|id| cited_in_source.contains_key(**id) || !documented.contains(**id))
        .collect();
    let undocumented: Vec<String> = cited_anywhere
        .iter()
        .filter(|(id, _)| {
            !documented.contains(*id) && !retired.contains(*id) && !elsewhere.contains(*id)
        })
        .map(|(id, files)| {
            format!(
                "{id} (in {})",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();

    let mut problems = Vec::new();
    if !uncited.is_empty() {
        problems.push(format!(
            "documented rules not cited in any non-test source under crates/*/src: {uncited:?}\n\
             -> add a comment naming the id (`// KDS-ENR-3: ...`) where the rule is checked; \
             if it is checked nowhere, implement it or fix the row in the docs; \
             only if no source can hold the check, add it to NOT_CITABLE_IN_SOURCE with the reason"
        ));
    }
    if !needlessly_allowed.is_empty() {
        problems.push(format!(
            "NOT_CITABLE_IN_SOURCE lists ids that are cited in source or not documented: \
             {needlessly_allowed:?}\n-> remove them from the list"
        ));
    }
    if !undocumented.is_empty() {
        problems.push(format!(
            "rule ids cited in code but documented in no table row of docs/validation-rules.md \
             or docs/kt.md:\n  {}\n\
             -> fix the id if it is a typo, or add the row (| id | rule | error |) to the table \
             of the component that checks it",
            undocumented.join("\n  ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(
        documented.len() >= 150,
        "only {} rule ids documented",
        documented.len()
    );
}

#[test]
fn the_id_reader_sees_ranges_lists_and_skips_lookalikes() {
    let text = "// KDS-ENR-3: x, FILE-C3-1..3 and MLS-GI-1/2, ACS-1..=2; \
                SHA-256, UTF-8, X-KP-1, KP-1a, KP-*, Era-ID-1 `KT-SUITE-4`";
    assert_eq!(
        ids_in(text),
        [
            "KDS-ENR-3",
            "FILE-C3-1",
            "FILE-C3-2",
            "FILE-C3-3",
            "MLS-GI-1",
            "MLS-GI-2",
            "ACS-1",
            "ACS-2",
            "SHA-256",
            "UTF-8",
            "X-KP-1",
            "KT-SUITE-4",
        ]
    );
    let doc = "| id | rule |\n|---|---|\n| RCV-AUTH-2 (MLS-EXT-2) | a | `E` |\n\
               | FILE-BLOB-1 … FILE-BLOB-3 | retired in issue 15 | — |\n\
               | `GET /v1/x` | none |\n";
    let (live, retired) = documented_in(doc);
    assert_eq!(
        live.into_iter().collect::<Vec<_>>(),
        ["MLS-EXT-2", "RCV-AUTH-2"]
    );
    assert_eq!(
        retired.into_iter().collect::<Vec<_>>(),
        ["FILE-BLOB-1", "FILE-BLOB-2", "FILE-BLOB-3"]
    );
    let source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    // KP-1\n    fn b() {\n    }\n}\nfn c() {} // KP-2\n";
    let (code, tests, _) = split_tests(Path::new("x/src/lib.rs"), source);
    assert_eq!(ids_in(&code), ["KP-2"]);
    assert_eq!(ids_in(&tests), ["KP-1"]);
}

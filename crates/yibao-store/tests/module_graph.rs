//! The store's house rules, checked on its source: the mechanism (`src/db/`) names no module
//! outside it, and the store's top-level modules import each other without a circle.
//!
//! An edge is a `crate::` path in a module's code (tests left out): `crate::claims::X`, a
//! name in `use crate::{...}`, or a name the crate root re-exports (`crate::Person` is the
//! registry's). The root's own `Store` handle is shared by every domain and is no edge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as (path relative to `src`, text).
fn sources(dir: &Path, src: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, src, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(src).unwrap().to_path_buf(), text));
        }
    }
}

/// The top-level module a file belongs to (`lib` for the crate root).
fn module_of(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

/// The code without its test module and comments.
fn code(text: &str) -> String {
    let text = text.find("#[cfg(test)]\nmod tests").map_or(text, |i| &text[..i]);
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn ident(s: &str) -> &str {
    let s = s.trim_start();
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The first segment of every `crate::` path, a `use crate::{a, b::c}` group giving each.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let preceded_by_ident = rest[..i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = after;
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    _ => {}
                }
                if c == ',' && depth == 0 {
                    out.push(ident(&item).to_string());
                    item.clear();
                } else {
                    item.push(c);
                }
            }
            out.push(ident(&item).to_string());
        } else {
            out.push(ident(after).to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Names the crate root re-exports, with the module each comes from.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for stmt in code(lib).split(';') {
        let stmt = stmt.trim();
        let Some(path) = stmt.strip_prefix("pub use ").or_else(|| stmt.strip_prefix("pub(crate) use ")) else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else { continue };
        for name in items.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|s| !s.is_empty()) {
            names.entry(name.to_string()).or_insert_with(|| module.to_string());
        }
    }
    names
}

/// module -> (module it names, the file that names it)
fn edges() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|(rel, _)| module_of(rel)).collect();
    let lib = &files.iter().find(|(rel, _)| rel == Path::new("lib.rs")).unwrap().1;
    let names = reexports(lib);
    let mut edges: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (rel, text) in &files {
        let from = module_of(rel);
        for first in crate_paths(&code(text)) {
            let to = if modules.contains(&first) {
                first
            } else {
                names.get(&first).cloned().unwrap_or_else(|| "lib".to_string())
            };
            if to != from {
                edges.entry(from.clone()).or_default().insert((to, rel.display().to_string()));
            }
        }
    }
    edges
}

#[test]
fn the_mechanism_names_no_domain() {
    let edges = edges();
    let outside: Vec<_> = edges.get("db").into_iter().flatten().collect();
    assert!(outside.is_empty(), "src/db/ must name only itself; it names {outside:?}");
}

#[test]
fn the_store_s_modules_import_each_other_without_a_circle() {
    let edges = edges();
    // Depth-first search for a back edge among the modules (the crate root excluded).
    fn visit<'a>(
        m: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<(String, String)>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut circle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            circle.push(m.to_string());
            return Some(circle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for (to, _) in edges.get(m).into_iter().flatten() {
            if to != "lib" {
                if let Some(circle) = visit(to, edges, path, done) {
                    return Some(circle);
                }
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(circle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("the store's modules import each other in a circle: {}", circle.join(" -> "));
        }
    }
}

/// The checks find what they look for: a circle and a mechanism import written the way the
/// store's code writes them.
#[test]
fn the_parser_sees_groups_and_re_exports() {
    let paths = crate_paths("use crate::{db::query::{Arg, Sql}, Store};\nlet x = crate::claims::StoredClaim;");
    assert_eq!(paths, ["db", "Store", "claims"]);
    let names = reexports("pub use settlement::{Admission, Visit};\npub(crate) use db::now_text;");
    assert_eq!(names.get("Visit").map(String::as_str), Some("settlement"));
    assert_eq!(names.get("now_text").map(String::as_str), Some("db"));
}

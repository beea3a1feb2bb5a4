//! The shape the README's architecture section promises, checked on the source itself: the HTTP
//! door builds no postings, reads no clock, mints no ids and lists no roles (the application layer
//! does, once); no module imports a module that imports it back; no source file grows past 700
//! lines without saying why.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source files longer than this say why in a `// Long file:` comment.
const MAX_LINES: usize = 700;

fn rust_files(directory: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every source directory of the workspace: each crate's `src`, and the binary's.
fn source_roots() -> Vec<PathBuf> {
    let mut roots = vec![root().join("src")];
    if let Ok(entries) = std::fs::read_dir(root().join("crates")) {
        for entry in entries.flatten() {
            roots.push(entry.path().join("src"));
        }
    }
    roots.sort();
    roots
}

/// The code of a file without its comments and its `#[cfg(test)]` tail.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(index) => &text[..index],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(index) => &line[..index],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a/b.rs` and `a/b/mod.rs` are module `a::b`; `lib.rs` and `main.rs` the crate root ("").
fn module_of(source_root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(source_root).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if !matches!(stem, "mod" | "lib" | "main") {
            parts.push(stem.to_owned());
        }
    }
    parts.join("::")
}

#[test]
fn the_http_door_builds_no_postings_reads_no_clock_and_lists_no_roles() {
    // Proves the rules have one home: a posting, a transaction draft, the system clock, a fresh
    // id or a role list in ledger-api or ledger-web (the pages) would be a rule written at the
    // door; the pages never reach the store either.
    let mut files = Vec::new();
    rust_files(&root().join("crates/ledger-api/src"), &mut files);
    let mut pages = Vec::new();
    rust_files(&root().join("crates/ledger-web/src"), &mut pages);
    assert!(!pages.is_empty());
    for file in &pages {
        let code = code_of(&std::fs::read_to_string(file).unwrap_or_default());
        assert!(
            !code.contains("ledger_store"),
            "{} reads the store",
            file.display()
        );
        assert!(
            !code.contains(".store"),
            "{} reads the store",
            file.display()
        );
    }
    files.extend(pages);
    let forbidden = [
        "posting(",
        "TransactionDraft",
        "Utc::now",
        "Uuid::now_v7",
        "&[Role::",
        "require(&[",
    ];
    let mut found = Vec::new();
    for file in &files {
        let code = code_of(&std::fs::read_to_string(file).unwrap_or_default());
        for token in forbidden {
            if code.contains(token) {
                found.push(format!("{} uses {token}", file.display()));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    // Proves the module graph of every crate is free of circles: an edge is a `crate::` path from
    // one module to another (to its own parent module does not count: a child uses its parent's
    // shared helpers).
    let mut circles = Vec::new();
    for source_root in source_roots() {
        let mut files = Vec::new();
        rust_files(&source_root, &mut files);
        let modules: BTreeSet<String> = files
            .iter()
            .map(|file| module_of(&source_root, file))
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let from = module_of(&source_root, file);
            if from.is_empty() {
                continue;
            }
            let code = code_of(&std::fs::read_to_string(file).unwrap_or_default());
            for (index, _) in code.match_indices("crate::") {
                let path: String = code[index + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                // The longest prefix that names a module.
                let target = (1..=segments.len())
                    .rev()
                    .map(|length| segments[..length].join("::"))
                    .find(|candidate| modules.contains(candidate));
                if let Some(target) = target
                    && target != from
                    && !from.starts_with(&format!("{target}::"))
                {
                    edges.entry(from.clone()).or_default().insert(target);
                }
            }
        }
        for (from, targets) in &edges {
            for target in targets {
                // A path back from target to from closes a circle.
                let mut seen = BTreeSet::new();
                let mut stack = vec![target.clone()];
                while let Some(module) = stack.pop() {
                    if module == *from {
                        circles.push(format!(
                            "{}: {from} -> {target} -> ... -> {from}",
                            source_root.display()
                        ));
                        break;
                    }
                    if seen.insert(module.clone()) {
                        stack.extend(edges.get(&module).into_iter().flatten().cloned());
                    }
                }
            }
        }
    }
    assert!(circles.is_empty(), "{circles:#?}");
}

#[test]
fn long_source_files_say_why() {
    // Proves every source file over 700 lines carries a `// Long file:` comment with its reason.
    let mut long = Vec::new();
    for source_root in source_roots() {
        let mut files = Vec::new();
        rust_files(&source_root, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.lines().count() > MAX_LINES && !text.contains("// Long file:") {
                long.push(format!(
                    "{} ({} lines)",
                    file.display(),
                    text.lines().count()
                ));
            }
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}

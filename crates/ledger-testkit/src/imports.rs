//! Import circles between the modules of a crate: which module names which (`use crate::..`,
//! `use super::..`, `crate::a::b` in code, a child module by its name), and the groups of modules
//! that reach each other. A crate's test asserts there are none ([`import_circles`]).
//!
//! Read from the source text, not resolved by the compiler: a path counts as naming the longest
//! module it starts with; a module's tests (a trailing `#[cfg(test)] mod tests`) are left out, and
//! so are the crate root's `pub use` re-exports (the root lists its modules; a module naming an
//! item defined in the root counts).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of the crate whose sources are under `src` (with `lib.rs` or `main.rs`), each with
/// the modules it names. The root is `""`, others `a` or `a::b`.
///
/// # Errors
/// When a file under `src` cannot be read.
pub fn module_imports(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut sources = BTreeMap::new();
    read_modules(src, src, &mut sources)?;
    let names: BTreeSet<String> = sources.keys().cloned().collect();
    let mut imports = BTreeMap::new();
    for (module, text) in &sources {
        imports.insert(module.clone(), named_modules(module, text, &names));
    }
    Ok(imports)
}

/// Every group of two or more modules that import each other, directly or through others (the
/// strongly connected components of [`module_imports`]), each sorted.
///
/// # Errors
/// As [`module_imports`].
pub fn import_circles(src: &Path) -> Result<Vec<Vec<String>>, String> {
    let imports = module_imports(src)?;
    let mut circles = Vec::new();
    let mut assigned = BTreeSet::new();
    for module in imports.keys() {
        if assigned.contains(module) {
            continue;
        }
        let from = reachable(&imports, module);
        let group: Vec<String> = from
            .iter()
            .filter(|other| reachable(&imports, other).contains(module))
            .cloned()
            .collect();
        assigned.extend(group.iter().cloned());
        if group.len() > 1 {
            circles.push(group);
        }
    }
    Ok(circles)
}

/// The modules `start` reaches through imports, itself included.
fn reachable(imports: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([start.to_owned()]);
    let mut queue = vec![start.to_owned()];
    while let Some(module) = queue.pop() {
        for next in imports.get(&module).into_iter().flatten() {
            if seen.insert(next.clone()) {
                queue.push(next.clone());
            }
        }
    }
    seen
}

fn read_modules(
    src: &Path,
    directory: &Path,
    sources: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|error| format!("{}: {error}", directory.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("{}: {error}", directory.display()))?
            .path();
        if path.is_dir() {
            read_modules(src, &path, sources)?;
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).unwrap_or(&path).with_extension("");
        let mut segments: Vec<String> = relative
            .iter()
            .map(|segment| segment.to_string_lossy().into_owned())
            .collect();
        if segments
            .last()
            .is_some_and(|last| ["mod", "lib", "main"].contains(&last.as_str()))
        {
            segments.pop();
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        sources.insert(segments.join("::"), text);
    }
    Ok(())
}

/// The modules of `names` that `module`'s source names, other than itself.
fn named_modules(module: &str, text: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let code = without_tests(&without_comments(text));
    let own: Vec<&str> = if module.is_empty() {
        Vec::new()
    } else {
        module.split("::").collect()
    };
    let mut paths = Vec::new();
    for statement in use_statements(&code) {
        if module.is_empty() && statement.starts_with("pub ") {
            continue;
        }
        let tree = statement
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ")
            .trim_start_matches("use ");
        expand(tree, &mut paths);
    }
    paths.extend(inline_paths(&without_use_statements(&code), &own, names));
    let mut named = BTreeSet::new();
    for path in paths {
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<&str> = match segments.first().copied() {
            Some("crate") => {
                segments.remove(0);
                Vec::new()
            }
            Some("super") => {
                let mut base = own.clone();
                while segments.first() == Some(&"super") {
                    segments.remove(0);
                    base.pop();
                }
                base
            }
            Some("self") => {
                segments.remove(0);
                own.clone()
            }
            Some(first) if names.contains(&child(&own, first)) => own.clone(),
            _ => continue,
        };
        let mut target = base.join("::");
        for segment in segments {
            base.push(segment);
            let candidate = base.join("::");
            if names.contains(&candidate) {
                target = candidate;
            } else {
                break;
            }
        }
        if target != module {
            named.insert(target);
        }
    }
    named
}

fn child(own: &[&str], name: &str) -> String {
    let mut path = own.to_vec();
    path.push(name);
    path.join("::")
}

fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(start) => &line[..start],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn without_tests(code: &str) -> String {
    match code.find("#[cfg(test)]\nmod tests") {
        Some(start) => code[..start].to_owned(),
        None => code.to_owned(),
    }
}

/// The `use` statements of the code, whitespace removed, with their visibility.
fn use_statements(code: &str) -> Vec<String> {
    let mut statements = Vec::new();
    for (start, _) in code.match_indices("use ") {
        let line_start = code[..start].rfind('\n').map_or(0, |index| index + 1);
        let before = code[line_start..start].trim();
        if !["", "pub", "pub(crate)", "pub(super)"].contains(&before) {
            continue;
        }
        let Some(end) = code[start..].find(';') else {
            continue;
        };
        let body: String = code[start + 4..start + end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let visibility = if before.is_empty() {
            String::new()
        } else {
            format!("{before} ")
        };
        statements.push(format!("{visibility}use {body}"));
    }
    statements
}

/// The code with its `use` statements taken out (they are read by [`use_statements`]).
fn without_use_statements(code: &str) -> String {
    let mut rest = code;
    let mut kept = String::with_capacity(code.len());
    while let Some(start) = rest.find("use ") {
        let at_statement = rest[..start]
            .rsplit('\n')
            .next()
            .is_some_and(|before| ["", "pub", "pub(crate)", "pub(super)"].contains(&before.trim()));
        let end = rest[start..].find(';').map(|end| start + end + 1);
        match end {
            Some(end) if at_statement => {
                kept.push_str(&rest[..start]);
                rest = &rest[end..];
            }
            _ => {
                kept.push_str(&rest[..start + 4]);
                rest = &rest[start + 4..];
            }
        }
    }
    kept.push_str(rest);
    kept
}

/// `a::{b, c::{d}}` as `a::b`, `a::c::d`.
fn expand(tree: &str, paths: &mut Vec<String>) {
    let Some(open) = tree.find('{') else {
        paths.push(tree.split(" as ").next().unwrap_or(tree).to_owned());
        return;
    };
    let prefix = &tree[..open];
    let inner = tree[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&tree[open + 1..]);
    let mut depth = 0;
    let mut part = String::new();
    for character in inner.chars().chain(std::iter::once(',')) {
        match character {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if character == ',' && depth == 0 {
            if !part.is_empty() {
                expand(&format!("{prefix}{part}"), paths);
            }
            part.clear();
        } else {
            part.push(character);
        }
    }
}

/// Paths written in code: `crate::..`, `super::..`, and a child module's name followed by `::`.
fn inline_paths(code: &str, own: &[&str], names: &BTreeSet<String>) -> Vec<String> {
    let mut starts: Vec<String> = vec!["crate::".into(), "super::".into()];
    for name in names {
        if let Some(rest) =
            name.strip_prefix(&format!("{}::", own.join("::")))
                .or(if own.is_empty() {
                    Some(name.as_str())
                } else {
                    None
                })
            && !rest.is_empty()
            && !rest.contains("::")
        {
            starts.push(format!("{rest}::"));
        }
    }
    let mut paths = Vec::new();
    for start in &starts {
        for (index, _) in code.match_indices(start.as_str()) {
            let preceded = code[..index]
                .chars()
                .next_back()
                .is_some_and(|c| c == ':' || c == '_' || c == '$' || c.is_alphanumeric());
            if preceded {
                continue;
            }
            let path: String = code[index..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(path);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn crate_of(files: &[(&str, &str)]) -> tempfile::TempDir {
        let directory = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = directory.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        directory
    }

    #[test]
    fn modules_that_import_each_other_are_a_circle() {
        // Proves the check sees a circle through `use crate::`, one through `super::` in code
        // and one through an item of the crate root, and none where imports go one way.
        let circular = crate_of(&[
            ("lib.rs", "mod a;\nmod b;\npub use a::A;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", "use crate::a::{self, A};\npub struct B;\n"),
        ]);
        assert_eq!(
            import_circles(circular.path()).unwrap(),
            vec![vec!["a".to_owned(), "b".to_owned()]]
        );
        let through_parent = crate_of(&[
            ("lib.rs", "mod w;\n"),
            (
                "w/mod.rs",
                "mod s;\nfn f() { s::g(); }\npub(crate) struct Plan;\n",
            ),
            (
                "w/s.rs",
                "pub(super) fn g() -> super::Plan { super::Plan }\n",
            ),
        ]);
        assert_eq!(
            import_circles(through_parent.path()).unwrap(),
            vec![vec!["w".to_owned(), "w::s".to_owned()]]
        );
        let through_root = crate_of(&[
            ("lib.rs", "mod a;\nuse a::helper;\npub struct Store;\n"),
            ("a.rs", "use crate::Store;\npub fn helper() {}\n"),
        ]);
        assert_eq!(
            import_circles(through_root.path()).unwrap(),
            vec![vec![String::new(), "a".to_owned()]]
        );
        let one_way = crate_of(&[
            (
                "lib.rs",
                "mod a;\nmod b;\npub use b::B;\npub struct Root;\n",
            ),
            (
                "a.rs",
                "pub struct A;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n",
            ),
            (
                "b.rs",
                "use crate::a::A;\nuse crate::Root;\n// use crate::b;\npub struct B(A);\n",
            ),
        ]);
        assert!(import_circles(one_way.path()).unwrap().is_empty());
    }
}

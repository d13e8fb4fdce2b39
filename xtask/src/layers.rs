//! `cargo xtask layers`: the server's modules form a DAG (ARCHITECTURE.md's layering invariant).
//! Reads every `crate::…`, `super::…` and `self::…` path of server/src (imports and inline paths),
//! resolves it to the module that defines it, and fails on a cycle, both between files and
//! between top-level modules (`api` and `store` count as one module each). Also checks the
//! engine's invariant: nothing under `engine` names axum, HTTP types or the HTTP layer's modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

const SERVER_SRC: &str = "server/src";

/// Imports allowed to close a cycle, each with the change that removes it. Keep this empty.
const KNOWN: &[(&str, &str, &str)] = &[];

/// The module callable without HTTP (ARCHITECTURE.md: the engine does not depend on axum/HTTP types).
const ENGINE: &str = "engine";

/// The HTTP layer: top-level modules the engine may not import.
const HTTP_MODULES: &[&str] = &[
    "api",
    "auth",
    "error",
    "routes",
    "sync",
    "live",
    "openapi",
    "web",
    "hardening",
    "limiter",
];

/// Crates of the HTTP stack the engine may not name.
const HTTP_CRATES: &[&str] = &[
    "axum",
    "http",
    "hyper",
    "hyper_util",
    "tower",
    "tower_http",
    "utoipa",
];

/// Runs the check, printing every cycle found.
pub fn check() -> Result<()> {
    let modules = read_modules(Path::new(SERVER_SRC))?;
    let edges = imports(&modules);
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let files: Graph = edges
        .iter()
        .filter(|((a, b), _)| !known.contains(&(a.clone(), b.clone())) && !ancestor(a, b))
        .map(|(e, why)| (e.clone(), why.clone()))
        .collect();
    let mut tops = Graph::new();
    for ((a, b), why) in &files {
        let (ta, tb) = (top(a), top(b));
        if ta != tb {
            tops.entry((ta.to_owned(), tb.to_owned()))
                .or_insert_with(|| why.clone());
        }
    }
    let mut cycles = cycles_of(&files);
    cycles.extend(cycles_of(&tops));
    let http = engine_http(&modules, &edges);
    for h in &http {
        eprintln!("the engine depends on HTTP: {h}");
    }
    if !http.is_empty() {
        bail!(
            "{} HTTP dependency(ies) in the engine: it must stay callable without HTTP (ARCHITECTURE.md, code map)",
            http.len()
        );
    }
    if cycles.is_empty() {
        eprintln!(
            "server modules: {} files, no import cycle ({} known, listed in xtask/src/layers.rs)",
            modules.len(),
            KNOWN.len()
        );
        return Ok(());
    }
    for c in &cycles {
        eprintln!("import cycle:\n{c}");
    }
    bail!(
        "{} import cycle(s) between server modules: make the imports flow one way (ARCHITECTURE.md, code map)",
        cycles.len()
    )
}

/// Every place an `engine` file imports the HTTP layer or names an HTTP crate.
fn engine_http(modules: &BTreeMap<String, String>, edges: &Graph) -> Vec<String> {
    let inside = |m: &str| top(m) == ENGINE;
    let mut out: Vec<String> = edges
        .iter()
        .filter(|((a, b), _)| inside(a) && HTTP_MODULES.contains(&top(b)))
        .map(|((_, b), why)| format!("{why} (imports {b})"))
        .collect();
    for (m, src) in modules.iter().filter(|(m, _)| inside(m)) {
        let code = code_only(src);
        for krate in HTTP_CRATES {
            let named = code
                .match_indices(&format!("{krate}::"))
                .any(|(i, _)| is_word_at(&code, i, krate) && !code[..i].ends_with("::"));
            if named {
                out.push(format!("{SERVER_SRC} {m}: names {krate}::"));
            }
        }
    }
    out
}

/// (importer, imported) → where: the file and the first path that makes the edge.
type Graph = BTreeMap<(String, String), String>;

/// Each strongly connected component of more than one module, with its edges.
fn cycles_of(g: &Graph) -> Vec<String> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in g.keys() {
        next.entry(a).or_default().push(b);
        next.entry(b).or_default();
    }
    // Kosaraju: reachability both ways, small graphs only.
    let reach = |from: &str, forward: bool| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(m) = todo.pop() {
            for (a, b) in g.keys() {
                let (x, y) = if forward { (a, b) } else { (b, a) };
                if *x == m && seen.insert(y.clone()) {
                    todo.push(y.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in next.keys() {
        if done.contains(*m) {
            continue;
        }
        let fwd = reach(m, true);
        let comp: BTreeSet<String> = reach(m, false).intersection(&fwd).cloned().collect();
        if comp.len() > 1 {
            let lines: Vec<String> = g
                .iter()
                .filter(|((a, b), _)| comp.contains(a) && comp.contains(b))
                .map(|((a, b), why)| format!("  {a} -> {b}    ({why})"))
                .collect();
            out.push(lines.join("\n"));
        }
        done.extend(comp);
        done.insert(m.to_string());
    }
    out
}

/// The top-level module of `m` (`crate` for the root).
fn top(m: &str) -> &str {
    m.split("::").next().unwrap_or(m)
}

/// Whether `a` is `b`'s parent module or further up (a `mod` declaration or re-export, not an import).
fn ancestor(a: &str, b: &str) -> bool {
    a != "crate" && b.starts_with(&format!("{a}::"))
}

/// Module path (`crate`, `api::read`) → source, for every file of `dir` but main.rs.
fn read_modules(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(dir)?.with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = match parts.join("::").as_str() {
                "main" => continue,
                "lib" => "crate".to_owned(),
                other => other.to_owned(),
            };
            out.insert(name, std::fs::read_to_string(&path)?);
        }
    }
    Ok(out)
}

/// Every (importer, imported) pair of modules, with the first path that makes it.
fn imports(modules: &BTreeMap<String, String>) -> Graph {
    let tops: BTreeSet<&str> = modules
        .keys()
        .filter(|m| !m.contains("::"))
        .map(|m| m.as_str())
        .collect();
    let root = modules
        .get("crate")
        .map(|s| code_only(s))
        .unwrap_or_default();
    // `pub use x::Y;` at the root: `crate::Y` is x's.
    let mut reexports: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in use_paths(&root) {
        if path.len() > 1 && tops.contains(path[0].as_str()) {
            let (name, module) = path.split_last().unwrap_or((&path[0], &[]));
            reexports.insert(name.clone(), module.to_vec());
        }
    }
    let mut out = Graph::new();
    for (m, src) in modules {
        let code = code_only(src);
        // In a file's `mod tests`, `super` is the file itself.
        let code = match code.find("mod tests") {
            Some(at) => format!("{}{}", &code[..at], code[at..].replace("super::", "self::")),
            None => code,
        };
        let here: Vec<String> = if m == "crate" {
            Vec::new()
        } else {
            m.split("::").map(str::to_owned).collect()
        };
        let mut paths = use_paths(&code);
        paths.extend(inline_paths(&without_uses(&code), m == "crate", &tops));
        for path in paths {
            let mut abs: Vec<String> = match path[0].as_str() {
                "crate" => path[1..].to_vec(),
                "self" => here.iter().chain(&path[1..]).cloned().collect(),
                "super" => {
                    let ups = path.iter().take_while(|p| *p == "super").count();
                    let base = &here[..here.len().saturating_sub(ups)];
                    base.iter().chain(&path[ups..]).cloned().collect()
                }
                _ if m == "crate" && tops.contains(path[0].as_str()) => path.clone(),
                _ => continue,
            };
            if let Some(module) = abs.first().and_then(|n| reexports.get(n)) {
                abs = module.iter().chain(&abs[1..]).cloned().collect();
            }
            let target = (1..=abs.len())
                .rev()
                .map(|n| abs[..n].join("::"))
                .find(|p| modules.contains_key(p))
                .unwrap_or_else(|| "crate".to_owned());
            if target != *m {
                out.entry((m.clone(), target))
                    .or_insert_with(|| format!("{SERVER_SRC} {m}: {}", path.join("::")));
            }
        }
    }
    out
}

/// `src` without comments, string and char literals (their text is not code).
fn code_only(src: &str) -> String {
    let s: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let at = |i: usize, p: &str| p.chars().enumerate().all(|(k, c)| s.get(i + k) == Some(&c));
    while i < s.len() {
        let c = s[i];
        let word_before = i > 0 && (s[i - 1].is_alphanumeric() || s[i - 1] == '_');
        if at(i, "//") {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            while i < s.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if !word_before && (at(i, "r\"") || at(i, "r#")) {
            let hashes = s[i + 1..].iter().take_while(|c| **c == '#').count();
            if s.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            i += 2 + hashes;
            while i < s.len() && !at(i, &close) {
                i += 1;
            }
            i += close.chars().count();
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < s.len() && s[i] != '"' {
                i += if s[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (s.get(i + 2) == Some(&'\'') || s.get(i + 1) == Some(&'\\')) {
            // A char literal ('x' or an escape), not a lifetime.
            i += 2;
            while i < s.len() && s[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The paths of every `use crate|self|super…;` in `code` (and of every `pub use` at the root), trees expanded.
fn use_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let tail = &rest[at + 3..];
        let Some(end) = tail.find(';') else { break };
        let tree: String = tail[..end]
            .split_whitespace()
            .map(|t| if t == "as" { " as " } else { t })
            .collect();
        expand(&[], &tree, &mut out);
        rest = &tail[end..];
    }
    out
}

/// `a::{b, c::{d, e as f}}` → a::b, a::c::d, a::c::e.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(prefix, &inner[start..], out);
    } else if let Some(brace) = tree.find("::{") {
        let mut p = prefix.to_vec();
        p.extend(tree[..brace].split("::").map(str::to_owned));
        expand(&p, &tree[brace + 2..], out);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let mut p = prefix.to_vec();
        p.extend(
            tree.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        if !p.is_empty() {
            out.push(p);
        }
    }
}

/// Paths outside `use` items: `crate::a::b`, `super::x`, and at the root `module::item`.
fn inline_paths(code: &str, root: bool, tops: &BTreeSet<&str>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        if !ident(chars[i]) || (i > 0 && (ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (ident(chars[j]) || (chars[j] == ':' && chars.get(j + 1) == Some(&':')))
        {
            j += if chars[j] == ':' { 2 } else { 1 };
        }
        let text: String = chars[i..j].iter().collect();
        let parts: Vec<String> = text
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let first = parts[0].as_str();
        let wanted = first == "crate" || first == "super" || (root && tops.contains(first));
        if parts.len() > 1 && wanted {
            out.push(parts);
        }
        i = j.max(i + 1);
    }
    out
}

/// `code` without its `use …;` items (those are read by `use_paths`).
fn without_uses(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        out.push_str(&rest[..at]);
        match rest[at..].find(';') {
            Some(end) => rest = &rest[at + end + 1..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn is_word_at(s: &str, at: usize, word: &str) -> bool {
    let ok = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    ok(s[..at].chars().next_back()) && ok(s[at + word.len()..].chars().next())
}

fn find_word(s: &str, word: &str) -> Option<usize> {
    s.match_indices(word)
        .map(|(i, _)| i)
        .find(|&i| is_word_at(s, i, word))
}

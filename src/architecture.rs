//! The layers of `shared/design.md`, kept true by a test: every module's
//! imports point down (or across, inside one layer, without a cycle).
//!
//! ```text
//! cli, startup, simulate     6  entry points
//! http                       5  parse requests, render answers
//! shell                      4  load facts, ask the core, apply (inbound, worker, office)
//! store, provider            3  rows; carriers' wire formats
//! core                       2  decisions: no I/O, no tokio, no rows
//! config                     1  the owner's config, as data
//! domain, clock, metrics,    0  vocabulary and plumbing
//!   logging
//! ```
//!
//! A unit is a top-level module, or a direct submodule of `core`, `shell`,
//! `store`, `provider` and `http`. The test reads the source (comments and
//! `#[cfg(test)]` modules aside), resolves every `crate::` and `super::`
//! path to its unit, and fails on an import that points up a layer, or on a
//! cycle among units.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module's layer.
    fn layer(top: &str) -> Option<u8> {
        Some(match top {
            "domain" | "clock" | "metrics" | "logging" => 0,
            "config" => 1,
            "core" => 2,
            "store" | "provider" => 3,
            "shell" => 4,
            "http" | "app" => 5,
            "cli" | "startup" | "simulate" | "bench_queue" => 6,
            _ => return None,
        })
    }

    /// Modules whose submodules are units of their own.
    const SPLIT: [&str; 5] = ["core", "shell", "store", "provider", "http"];

    /// The unit a module path belongs to: `store::jobs` for a path into
    /// `src/store/jobs.rs`, `store` for `crate::store::Tx` (re-exported by,
    /// or defined in, `src/store/mod.rs`).
    fn unit(path: &[String]) -> String {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        match path {
            [] => String::new(),
            [top, sub, ..]
                if SPLIT.contains(&top.as_str())
                    && (src.join(top).join(format!("{sub}.rs")).exists()
                        || src.join(top).join(sub).is_dir()) =>
            {
                format!("{top}::{sub}")
            }
            [top, ..] => top.clone(),
        }
    }

    /// The source without comments and `#[cfg(test)]` modules.
    fn code_of(text: &str) -> String {
        let mut out = String::new();
        for line in text.lines() {
            let code = match line.find("//") {
                // A `//` inside a string literal ("https://...") is code.
                Some(i) if line[..i].matches('"').count() % 2 == 0 => &line[..i],
                _ => line,
            };
            out.push_str(code);
            out.push('\n');
        }
        // Drop `#[cfg(test)] mod x { ... }` blocks (balanced braces).
        while let Some(at) = out.find("#[cfg(test)]") {
            let Some(open) = out[at..].find('{').map(|i| at + i) else {
                break;
            };
            // `#[cfg(test)] mod tests;`: the module is a file of its own.
            if let Some(semi) = out[at..].find(';').map(|i| at + i) {
                if semi < open {
                    out.replace_range(at..=semi, "");
                    continue;
                }
            }
            let mut depth = 0;
            let mut end = open;
            for (i, c) in out[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.replace_range(at..end, "");
        }
        out
    }

    /// Every source file's module path and code.
    fn modules() -> Vec<(Vec<String>, String)> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = Vec::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                if p.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let rel = p.strip_prefix(&src).unwrap();
                let mut path: Vec<String> = rel
                    .with_extension("")
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    path.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    path.pop();
                }
                if path.last().is_some_and(|m| m == "tests") {
                    // A module's tests in a file of their own: test code.
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((path, code_of(&text)));
            }
        }
        out
    }

    /// The module paths `code` (in module `at`) names: `crate::a::b` and
    /// `super::`-relative ones.
    fn imports(at: &[String], code: &str, is_dir_module: bool) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let bytes: Vec<char> = code.chars().collect();
        let text: String = bytes.iter().collect();
        for (i, _) in text.match_indices("crate::") {
            if i > 0 && word(bytes[i - 1]) {
                continue;
            }
            let rest: Vec<String> = text[i + 7..]
                .split("::")
                .map(|s| s.chars().take_while(|c| word(*c)).collect::<String>())
                .take_while(|s| !s.is_empty())
                .take(2)
                .collect();
            out.push(rest);
        }
        for (i, _) in text.match_indices("super::") {
            if i > 0 && (word(bytes[i - 1]) || bytes[i - 1] == ':') {
                continue;
            }
            // A file `x.rs` is module `x`: its `super` is its parent. A
            // `mod.rs` is its directory's module: likewise.
            let mut base: Vec<String> = at.to_vec();
            let _ = is_dir_module;
            let mut rest = &text[i..];
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            let next: Vec<String> = rest
                .split("::")
                .map(|s| s.chars().take_while(|c| word(*c)).collect::<String>())
                .take_while(|s| !s.is_empty())
                .take(2)
                .collect();
            base.extend(next);
            out.push(base);
        }
        out
    }

    #[test]
    fn imports_point_down_the_layers_and_never_in_a_cycle() {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut wrong = Vec::new();
        for (path, code) in modules() {
            let from = unit(&path);
            let Some(top) = path.first() else { continue };
            if top == "architecture" {
                // This test (its own code is test code).
                continue;
            }
            let Some(from_layer) = layer(top) else {
                wrong.push(format!(
                    "{from}: a module with no layer (add it to `layer`)"
                ));
                continue;
            };
            for to_path in imports(&path, &code, true) {
                let to = unit(&to_path);
                let Some(to_top) = to_path.first() else {
                    continue;
                };
                let Some(to_layer) = layer(to_top) else {
                    continue;
                };
                if to == from || to.is_empty() {
                    continue;
                }
                if to_layer > from_layer {
                    wrong.push(format!(
                        "{} imports {} (layer {from_layer} -> {to_layer})",
                        path.join("::"),
                        to_path.join("::")
                    ));
                }
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
        wrong.sort();
        wrong.dedup();
        assert!(
            wrong.is_empty(),
            "imports against the layers:\n{}",
            wrong.join("\n")
        );
        // Cycles: depth-first search for a back edge.
        fn visit(
            n: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            state: &mut BTreeMap<String, u8>,
            stack: &mut Vec<String>,
        ) -> Option<Vec<String>> {
            state.insert(n.to_string(), 1);
            stack.push(n.to_string());
            for m in edges.get(n).into_iter().flatten() {
                match state.get(m.as_str()) {
                    Some(1) => {
                        let from = stack.iter().position(|s| s == m).unwrap();
                        let mut cycle = stack[from..].to_vec();
                        cycle.push(m.clone());
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        if let Some(c) = visit(m, edges, state, stack) {
                            return Some(c);
                        }
                    }
                }
            }
            stack.pop();
            state.insert(n.to_string(), 2);
            None
        }
        let mut state = BTreeMap::new();
        for n in edges.keys() {
            if !state.contains_key(n) {
                if let Some(cycle) = visit(n, &edges, &mut state, &mut Vec::new()) {
                    panic!("an import cycle: {}", cycle.join(" -> "));
                }
            }
        }
    }

    /// The core decides from what it is given: no database, no network, no
    /// files, no clock of its own, no async runtime.
    #[test]
    fn the_core_and_the_domain_do_no_io() {
        const IO: [&str; 10] = [
            "tokio",
            "sqlx",
            "rusqlite",
            "reqwest",
            "axum",
            "std::fs",
            "std::net",
            "Utc::now",
            "SystemTime",
            "std::thread",
        ];
        let mut found = Vec::new();
        for (path, code) in modules() {
            if !matches!(path.first().map(String::as_str), Some("core" | "domain")) {
                continue;
            }
            for word in IO {
                if code.contains(word) {
                    found.push(format!("{}: {word}", path.join("::")));
                }
            }
        }
        assert!(found.is_empty(), "I/O in the core:\n{}", found.join("\n"));
    }

    /// The test itself finds what it is meant to find.
    #[test]
    fn the_check_sees_imports_through_crate_and_super_but_not_in_comments() {
        let code = code_of(
            "// crate::shell::Shell in a comment\nuse crate::store::Tx;\n#[cfg(test)]\nmod more;\nuse super::super::Worker;\nlet u = \"https://x\"; crate::core::jobs::Job\n#[cfg(test)]\nmod tests { use crate::http::AppState; }\n",
        );
        let at: Vec<String> = ["shell", "worker", "jobs", "cold_check"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got: Vec<String> = imports(&at, &code, false).iter().map(|p| unit(p)).collect();
        assert_eq!(got, ["store", "core::jobs", "shell::worker"]);
    }
}

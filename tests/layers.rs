//! The module layering, checked on the source: lower layers never import higher ones, so the
//! typed core and the providers stay free of routing, and the config never reaches into a
//! request's lifecycle. A failure names the file and the import that breaks the rule.
//!
//! core (`openai/`) < providers < settings < cache < dispatch < http / server

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::unwrap_used, clippy::string_slice)]

use std::path::{Path, PathBuf};

/// Each layer and the top-level modules its (non-test) code must not name.
const RULES: &[(&str, &[&str])] = &[
    (
        "openai",
        &[
            "providers",
            "settings",
            "cache",
            "dispatch",
            "http",
            "server",
            "state",
            "shared_state",
            "listener",
        ],
    ),
    (
        "providers",
        &[
            "settings",
            "cache",
            "dispatch",
            "http",
            "server",
            "state",
            "shared_state",
            "listener",
            "inbound",
        ],
    ),
    (
        "settings",
        &[
            "cache",
            "dispatch",
            "http",
            "server",
            "state",
            "shared_state",
            "listener",
        ],
    ),
    (
        "cache",
        &["dispatch", "http", "server", "state", "providers"],
    ),
    ("dispatch", &["http", "server", "listener"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without its test module (tests may build a whole config).
fn non_test_code(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut broken = Vec::new();
    for (layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "src/{layer}/ has no files");
        for file in files {
            let code = non_test_code(&file);
            for module in *forbidden {
                let needle = format!("crate::{module}::");
                let needle_use = format!("crate::{module};");
                if code.contains(&needle) || code.contains(&needle_use) {
                    broken.push(format!(
                        "{} uses crate::{module} (layer `{layer}` must not)",
                        file.strip_prefix(&src).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_dispatcher_never_asks_which_provider_it_talks_to() {
    let dispatch = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dispatch");
    let mut files = Vec::new();
    rust_files(&dispatch, &mut files);
    for file in files {
        let code = non_test_code(&file);
        assert!(
            !code.contains("ProviderKind"),
            "{} matches on the provider; call the provider contract instead",
            file.display()
        );
    }
}

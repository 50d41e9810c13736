//! The README's library example is `examples/library.rs` word for word, and it runs: a few
//! steps from a fresh folder leave the checkpoint and the grid it promises.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn the_readme_program_is_the_example_and_it_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/library.rs")).unwrap();
    let program = &example[example
        .find("use counterfeit")
        .expect("the program's first line")..];
    assert!(
        readme.contains(&format!("```rust\n{program}```")),
        "README.md's library example differs from examples/library.rs"
    );

    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/library");
    assert!(
        bin.exists(),
        "{}: `cargo test` builds the examples first",
        bin.display()
    );
    let dir = std::env::temp_dir().join(format!("counterfeit-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    common::quiet_runtime_dir();
    let out = Command::new(&bin)
        .arg("3")
        .current_dir(&dir)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("step: 3"), "the metrics of step 3: {said}");
    for f in ["run/ckpt.safetensors", "run/samples.png"] {
        assert!(dir.join(f).exists(), "{f} missing: {said}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

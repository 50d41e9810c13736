//! Every WGSL file parses and validates with naga, on any machine, GPU or not.

use counterfeit::gpu::shaders::{Shader, INCLUDES};

#[test]
fn every_shader_parses_and_validates() {
    let mut failures = Vec::new();
    for &shader in Shader::ALL {
        let source = shader.source();
        let module = match naga::front::wgsl::parse_str(&source) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{}: {}", shader.name(), e.emit_to_string(&source)));
                continue;
            }
        };
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        );
        if let Err(e) = validator.validate(&module) {
            failures.push(format!("{}: {}", shader.name(), e.emit_to_string(&source)));
        }
        assert!(
            !module.entry_points.is_empty(),
            "{} has no entry point",
            shader.name()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_shader_file_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/shaders");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".wgsl");
        if INCLUDES.contains(&stem) {
            continue;
        }
        assert!(
            Shader::ALL.iter().any(|s| s.name() == stem),
            "shaders/{name} is not listed in src/gpu/shaders.rs"
        );
    }
}

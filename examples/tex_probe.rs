// Scratch (not committed): storage-buffer loads against texture loads on this adapter.
use std::time::Instant;

const SHADER: &str = r#"
override W: u32 = 1024u;
@group(0) @binding(0) var<storage, read> buf: array<vec4<f32>>;
@group(0) @binding(1) var tex: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> ubo: array<vec4<f32>, 4096>;

fn body(lane: u32, wid: u32, mode: u32) {
    var acc: array<vec4<f32>, 16>;
    var off: array<u32, 16>;
    for (var j = 0u; j < 16u; j++) {
        off[j] = ((wid * 128u + j * 8u + lane) * 37u) % (W * 256u);
    }
    let w = vec4<f32>(0.5, 0.25, 0.125, 1.0);
    for (var k = 0u; k < 256u; k++) {
        for (var j = 0u; j < 16u; j++) {
            let i = (off[j] + k) % (W * 256u);
            var v: vec4<f32>;
            if (mode == 1u) {
                v = textureLoad(tex, vec2<u32>(i % W, i / W), 0);
            } else if (mode == 0u) {
                v = buf[i];
            } else if (mode == 2u) {
                v = ubo[i % 4096u];
            } else {
                v = vec4<f32>(f32(i), f32(i ^ 5u), f32(i ^ 7u), f32(i ^ 9u));
            }
            acc[j] = fma(v, w, acc[j]);
        }
    }
    var s = vec4<f32>(0.0);
    for (var j = 0u; j < 16u; j++) { s += acc[j]; }
    out[wid * 8u + lane] = s;
}

@compute @workgroup_size(8)
fn from_buffer(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    body(lane, wid.x, 0u);
}
@compute @workgroup_size(8)
fn from_uniform(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    body(lane, wid.x, 2u);
}
@compute @workgroup_size(8)
fn no_load(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    body(lane, wid.x, 3u);
}
@compute @workgroup_size(8)
fn from_texture(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    body(lane, wid.x, 1u);
}
"#;

fn main() {
    let gpu = counterfeit::Gpu::new().unwrap();
    let (d, q) = (gpu.device(), gpu.queue());
    let w = 1024u32;
    let h = 256u32;
    let n = (w * h) as usize;
    let data: Vec<f32> = (0..n * 4).map(|i| (i % 97) as f32 * 0.01).collect();
    use wgpu::util::DeviceExt;
    let buf = d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&data),
        usage: wgpu::BufferUsages::STORAGE,
    });
    let tex = d.create_texture_with_data(
        q,
        &wgpu::TextureDescriptor {
            label: None,
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
        wgpu::util::TextureDataOrder::LayerMajor,
        bytemuck::cast_slice(&data),
    );
    let view = tex.create_view(&Default::default());
    let ubuf = d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::cast_slice(&data[..4096 * 4]),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let groups = 2048u32;
    let out = d.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: groups as u64 * 8 * 16,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let module = unsafe {
        d.create_shader_module_trusted(
            wgpu::ShaderModuleDescriptor {
                label: None,
                source: wgpu::ShaderSource::Wgsl(SHADER.into()),
            },
            wgpu::ShaderRuntimeChecks::unchecked(),
        )
    };
    let mk = |entry: &str| {
        let p = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: None,
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        let bgl = p.get_bind_group_layout(0);
        let entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: buf.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(&view),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: out.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &ubuf,
                    offset: 0,
                    size: None,
                }),
            },
        ];
        let bg = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &bgl,
            entries: &entries,
        });
        (p, bg)
    };
    let run = |pb: &(wgpu::ComputePipeline, wgpu::BindGroup)| {
        let t = Instant::now();
        let mut e = d.create_command_encoder(&Default::default());
        {
            let mut pass = e.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pb.0);
            pass.set_bind_group(0, &pb.1, &[]);
            pass.dispatch_workgroups(groups, 1, 1);
        }
        q.submit([e.finish()]);
        d.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        t.elapsed().as_secs_f64()
    };
    let scope = d.push_error_scope(wgpu::ErrorFilter::Validation);
    let b = mk("from_buffer");
    let t = mk("from_texture");
    let u = mk("from_uniform");
    let z = mk("no_load");
    run(&b);
    if let Some(e) = pollster::block_on(scope.pop()) {
        println!("error: {e}");
    }
    run(&b);
    run(&t);
    for _ in 0..5 {
        let tb = run(&b);
        let tt = run(&t);
        let tu = run(&u);
        let tz = run(&z);
        println!("uniform {:.1} ms, no load {:.1} ms", tu * 1e3, tz * 1e3);
        let loads = groups as f64 * 8.0 * 256.0 * 16.0;
        println!("buffer {:.1} ms ({:.2} ns/vec4 load)  texture {:.1} ms ({:.2} ns)  buffer/texture {:.2}", tb * 1e3, tb * 1e9 / loads, tt * 1e3, tt * 1e9 / loads, tb / tt);
    }
}

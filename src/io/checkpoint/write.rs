//! Writing a checkpoint (the format is in the module above).

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use crate::eval::pyramid::LEVELS;
use crate::io::metrics_log::QualityPoint;
use crate::step::Row;
use crate::{Error, Gpu, Network, Result, StepMetrics, Tensor};

use super::{describe, FORMAT, HISTORY, NOTE, QUALITY_COLS, QUALITY_SWD};

/// Saves networks (parameters and optimiser moments) and, when given, the GPU step counter
/// and the metrics history.
pub fn save(
    gpu: &Gpu,
    path: &Path,
    nets: &[(&str, &Network)],
    state: Option<&Tensor>,
    history: &[StepMetrics],
    quality: &[QualityPoint],
) -> Result<()> {
    save_with(gpu, path, nets, Extras::default(), state, history, quality)
}

/// What [`save_with`] writes besides the trained networks.
#[derive(Clone, Copy, Default)]
pub(crate) struct Extras<'a> {
    /// Networks saved without optimiser moments (e.g. `G_ema`); they load with
    /// `moments = false`.
    pub weights: &'a [(&'a str, &'a Network)],
    /// Plain f32 tensors by name (e.g. the replay buffer), for [`Checkpoint::load_tensor`].
    pub tensors: &'a [(&'a str, &'a Tensor)],
    /// Text kept in the metadata, for [`Checkpoint::notes`].
    pub notes: &'a [(String, String)],
}

/// As [`save`], with networks kept without moments and named tensors, and the rows of any
/// trainer's metrics.
pub(crate) fn save_with<M: Row>(
    gpu: &Gpu,
    path: &Path,
    nets: &[(&str, &Network)],
    extras: Extras<'_>,
    state: Option<&Tensor>,
    history: &[M],
    quality: &[QualityPoint],
) -> Result<()> {
    let mut all: Vec<(&str, &Network, bool)> =
        nets.iter().map(|&(n, net)| (n, net, true)).collect();
    all.extend(extras.weights.iter().map(|&(n, net)| (n, net, false)));
    write(gpu, path, &all, extras, state, history, quality)
}

/// Saves networks' parameters and batch-norm statistics only: a third of the size, for
/// shipping trained weights; such a file loads with `moments = false`.
pub fn save_weights(gpu: &Gpu, path: &Path, nets: &[(&str, &Network)]) -> Result<()> {
    let all: Vec<(&str, &Network, bool)> = nets.iter().map(|&(n, net)| (n, net, false)).collect();
    write::<StepMetrics>(gpu, path, &all, Extras::default(), None, &[], &[])
}

fn write<M: Row>(
    gpu: &Gpu,
    path: &Path,
    nets: &[(&str, &Network, bool)],
    extras: Extras<'_>,
    state: Option<&Tensor>,
    history: &[M],
    quality: &[QualityPoint],
) -> Result<()> {
    let mut owned: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    for (key, value) in extras.notes {
        meta.insert(format!("{NOTE}{key}"), value.clone());
    }
    let tensors = extras.tensors;
    for &(name, net, moments) in nets {
        meta.insert(format!("{name}.layers"), describe(net));
        let p = net.params();
        let kinds: &[(&str, &Tensor)] = if moments {
            &[("", &p.values), ("m1.", &p.m1), ("m2.", &p.m2)]
        } else {
            &[("", &p.values)]
        };
        for &(kind, flat) in kinds {
            let host = flat.read(gpu)?;
            for (i, part) in p.split(&host).into_iter().enumerate() {
                owned.push((
                    format!("{name}.{kind}{i}"),
                    p.shape(i).to_vec(),
                    Dtype::F32,
                    bytemuck::cast_slice(part).to_vec(),
                ));
            }
        }
        for (li, (mean, var)) in net.running_stats() {
            for (kind, t) in [("mean", mean), ("var", var)] {
                owned.push((
                    format!("{name}.bn{li}.{kind}"),
                    vec![t.len()],
                    Dtype::F32,
                    bytemuck::cast_slice(&t.read(gpu)?).to_vec(),
                ));
            }
        }
        for (li, (u, v)) in net.spectral_vectors() {
            for (kind, t) in [("u", u), ("v", v)] {
                owned.push((
                    format!("{name}.sn{li}.{kind}"),
                    vec![t.len()],
                    Dtype::F32,
                    bytemuck::cast_slice(&t.read(gpu)?).to_vec(),
                ));
            }
        }
    }
    for (name, t) in tensors {
        owned.push((
            name.to_string(),
            t.shape().to_vec(),
            Dtype::F32,
            bytemuck::cast_slice(&t.read(gpu)?).to_vec(),
        ));
    }
    if let Some(state) = state {
        owned.push((
            "state".into(),
            vec![state.len()],
            Dtype::U32,
            bytemuck::cast_slice(&state.read_u32(gpu)?).to_vec(),
        ));
    }
    if let Some(first) = history.first() {
        let cols = 1 + first.slots().len();
        let rows: Vec<f32> = history
            .iter()
            .flat_map(|m| std::iter::once(m.step() as f32).chain(m.slots()))
            .collect();
        owned.push((
            HISTORY.into(),
            vec![history.len(), cols],
            Dtype::F32,
            bytemuck::cast_slice(&rows).to_vec(),
        ));
    }
    if !quality.is_empty() {
        let rows: Vec<f64> = quality
            .iter()
            .flat_map(|q| {
                [
                    q.step as f64,
                    q.n as f64,
                    q.fid,
                    q.score,
                    q.classes_covered as f64,
                ]
            })
            .collect();
        owned.push((
            "quality".into(),
            vec![quality.len(), QUALITY_COLS],
            Dtype::F64,
            bytemuck::cast_slice(&rows).to_vec(),
        ));
        if quality.iter().any(|q| q.swd.is_some()) {
            let rows: Vec<f64> = quality
                .iter()
                .flat_map(|q| q.swd.unwrap_or([f64::NAN; LEVELS]))
                .collect();
            owned.push((
                QUALITY_SWD.into(),
                vec![quality.len(), LEVELS],
                Dtype::F64,
                bytemuck::cast_slice(&rows).to_vec(),
            ));
        }
    }
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(n, shape, dt, bytes)| {
            TensorView::new(*dt, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::Data {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })
        })
        .collect::<Result<_>>()?;
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| Error::Data {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    crate::io::atomic::write_atomic(path, &bytes)
}

//! Checkpoints in the safetensors format: every parameter of each network (with Adam or
//! momentum state) under `<net>.<i>`, `<net>.m1.<i>`, `<net>.m2.<i>`, batch norm's running
//! statistics under `<net>.bn<layer>.mean|var`, spectral normalisation's power-iteration vectors
//! under `<net>.sn<layer>.u|v`, networks kept without moments (the moving
//! average of G's weights, `G_ema`), named f32 tensors (the replay buffer), the step counter, the per-step metrics
//! logged so far (`history`, so a resumed run's CSV and plot cover the whole run), the sample
//! quality measured along the run (`quality`, with `quality_swd` when the SWD was), and the
//! models' layer lists as metadata so a checkpoint is never loaded into the wrong model.
//! Writes are atomic (a temporary file flushed to the disk, then a rename), and create
//! missing folders.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::eval::pyramid::LEVELS;
use crate::io::metrics_log::QualityPoint;
use crate::metrics::GAN_SLOTS;
use crate::nn::Graph;
use crate::step::{Row, StepState};
use crate::{Error, Gpu, Network, Result, StepMetrics, Tensor};

const FORMAT: &str = "counterfeit-checkpoint-1";

fn describe(net: &Network) -> String {
    net.model().describe()
}

/// Columns of the `quality` tensor: step, n, FID, score, classes covered.
const QUALITY_COLS: usize = 5;

/// The `quality_swd` tensor, written beside `quality` when some point has the SWD: one row per
/// point, its SWD per pyramid level (NaN where not measured). A tensor of its own, so that
/// checkpoints without it (from before the SWD was measured) still load, and this version's
/// checkpoints still load in versions that do not know it.
const QUALITY_SWD: &str = "quality_swd";

/// The `history` tensor holds a row per step: the step (exact in f32 below 2^24), then the
/// trainer's metric slots (five for a GAN's [`StepMetrics`]).
const HISTORY: &str = "history";

/// Metadata keys of the notes start with this.
const NOTE: &str = "note.";

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
    super::atomic::write_atomic(path, &bytes)
}

/// A checkpoint read into memory.
pub struct Checkpoint {
    bytes: Vec<u8>,
    path: std::path::PathBuf,
}

impl Checkpoint {
    /// Reads and checks a checkpoint file.
    pub fn open(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(bytes, path)
    }

    /// Checks a checkpoint already in memory (e.g. fetched by a web page); `name` stands for
    /// its path in error messages.
    pub fn from_bytes(bytes: Vec<u8>, name: &Path) -> Result<Checkpoint> {
        let c = Checkpoint {
            bytes,
            path: name.to_path_buf(),
        };
        let format = c.meta()?.get("format").cloned();
        if format.as_deref() != Some(FORMAT) {
            return Err(c.error(format!(
                "not a counterfeit checkpoint (format {format:?}, expected {FORMAT:?})"
            )));
        }
        Ok(c)
    }

    fn tensors(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.bytes)
            .map_err(|e| self.error(format!("not a safetensors file: {e}")))
    }

    fn meta(&self) -> Result<HashMap<String, String>> {
        let (_, m) = SafeTensors::read_metadata(&self.bytes)
            .map_err(|e| self.error(format!("not a safetensors file: {e}")))?;
        Ok(m.metadata().clone().unwrap_or_default())
    }

    fn error(&self, message: String) -> Error {
        Error::Data {
            path: self.path.clone(),
            message,
        }
    }

    fn floats(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let st = self.tensors()?;
        let v = st
            .tensor(name)
            .map_err(|_| self.error(format!("has no tensor {name}")))?;
        if v.dtype() != Dtype::F32 || v.shape() != shape {
            return Err(self.error(format!(
                "tensor {name} is {:?} {:?}, the model needs F32 {shape:?}",
                v.dtype(),
                v.shape()
            )));
        }
        Ok(bytemuck::pod_collect_to_vec(v.data()))
    }

    /// Loads network `name`'s parameters (and optimiser moments, if `moments`) into `net`,
    /// which must have the same layers.
    pub fn load_network(&self, gpu: &Gpu, name: &str, net: &Network, moments: bool) -> Result<()> {
        let saved = self.meta()?.get(&format!("{name}.layers")).cloned();
        let want = describe(net);
        match saved {
            None => return Err(self.error(format!("holds no network {name}"))),
            Some(saved) if saved != want => {
                return Err(self.error(format!(
                    "holds another {name}: its layers are `{saved}`, but the model is `{want}`"
                )))
            }
            Some(_) => {}
        }
        let p = net.params();
        let kinds: &[(&str, &Tensor)] = if moments {
            &[("", &p.values), ("m1.", &p.m1), ("m2.", &p.m2)]
        } else {
            &[("", &p.values)]
        };
        for (kind, flat) in kinds {
            let parts = (0..p.count())
                .map(|i| self.floats(&format!("{name}.{kind}{i}"), p.shape(i)))
                .collect::<Result<Vec<_>>>()?;
            flat.write(gpu, &p.join(&parts))?;
        }
        for (li, (mean, var)) in net.running_stats() {
            mean.write(
                gpu,
                &self.floats(&format!("{name}.bn{li}.mean"), &[mean.len()])?,
            )?;
            var.write(
                gpu,
                &self.floats(&format!("{name}.bn{li}.var"), &[var.len()])?,
            )?;
        }
        for (li, (u, v)) in net.spectral_vectors() {
            u.write(gpu, &self.floats(&format!("{name}.sn{li}.u"), &[u.len()])?)?;
            v.write(gpu, &self.floats(&format!("{name}.sn{li}.v"), &[v.len()])?)?;
        }
        Ok(())
    }

    /// The notes saved with the checkpoint (see [`GanRun::set_notes`](crate::gan::GanRun::set_notes)),
    /// sorted by key.
    pub fn notes(&self) -> Result<Vec<(String, String)>> {
        let mut notes: Vec<(String, String)> = self
            .meta()?
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(NOTE).map(|k| (k.to_string(), v)))
            .collect();
        notes.sort();
        Ok(notes)
    }

    /// Whether the checkpoint holds a network called `name`.
    pub fn has_network(&self, name: &str) -> Result<bool> {
        Ok(self.meta()?.contains_key(&format!("{name}.layers")))
    }

    /// Whether the checkpoint holds a tensor called `name`.
    pub fn has_tensor(&self, name: &str) -> Result<bool> {
        Ok(self.tensors()?.tensor(name).is_ok())
    }

    /// Loads the f32 tensor `name` (a trainer saves its replay buffers so) into `t`, which must
    /// have its shape.
    pub fn load_tensor(&self, gpu: &Gpu, name: &str, t: &Tensor) -> Result<()> {
        t.write(gpu, &self.floats(name, t.shape())?)
    }

    /// Whether network `name` in this checkpoint has `model`'s input shape and layers.
    pub fn describes(&self, name: &str, model: &Graph) -> Result<bool> {
        Ok(self.meta()?.get(&format!("{name}.layers")) == Some(&model.describe()))
    }

    /// The saved step state, if any.
    pub fn state(&self) -> Result<Option<StepState>> {
        let st = self.tensors()?;
        match st.tensor("state") {
            Ok(v) if v.dtype() == Dtype::U32 => {
                let words: Vec<u32> = bytemuck::pod_collect_to_vec(v.data());
                StepState::from_words(&words)
                    .map(Some)
                    .ok_or_else(|| self.error(format!("tensor state has {} words", words.len())))
            }
            Ok(_) => Err(self.error("tensor state is not U32".into())),
            Err(_) => Ok(None),
        }
    }

    /// The metrics logged up to the save, oldest first; empty for checkpoints without them.
    pub fn history(&self) -> Result<Vec<StepMetrics>> {
        // Checkpoints from before the gradient penalties logged 5 slots.
        const BEFORE_PENALTIES: usize = 5;
        let st = self.tensors()?;
        match st.tensor(HISTORY) {
            Ok(v) if v.shape().get(1) == Some(&(BEFORE_PENALTIES + 1)) => {
                self.rows(BEFORE_PENALTIES)
            }
            _ => self.rows(GAN_SLOTS.len()),
        }
    }

    /// The rows of a trainer's metrics with `slots` slots each, oldest first; empty for
    /// checkpoints without them.
    pub(crate) fn rows<M: Row>(&self, slots: usize) -> Result<Vec<M>> {
        let st = self.tensors()?;
        let Ok(v) = st.tensor(HISTORY) else {
            return Ok(Vec::new());
        };
        let cols = slots + 1;
        if v.dtype() != Dtype::F32 || v.shape().len() != 2 || v.shape()[1] != cols {
            return Err(self.error(format!(
                "tensor history is {:?} {:?}, expected F32 [n, {cols}]",
                v.dtype(),
                v.shape()
            )));
        }
        let flat: Vec<f32> = bytemuck::pod_collect_to_vec(v.data());
        Ok(flat
            .chunks_exact(cols)
            .map(|r| M::from_slots(r[0] as u64, &r[1..]))
            .collect())
    }

    /// The sample-quality figures measured up to the save; empty when there are none.
    pub fn quality(&self) -> Result<Vec<QualityPoint>> {
        let st = self.tensors()?;
        let Ok(v) = st.tensor("quality") else {
            return Ok(Vec::new());
        };
        if v.dtype() != Dtype::F64 || v.shape().len() != 2 || v.shape()[1] != QUALITY_COLS {
            return Err(self.error(format!(
                "tensor quality is {:?} {:?}, expected F64 [n, {QUALITY_COLS}]",
                v.dtype(),
                v.shape()
            )));
        }
        let flat: Vec<f64> = bytemuck::pod_collect_to_vec(v.data());
        let points = flat.len() / QUALITY_COLS;
        let swd: Vec<Option<[f64; LEVELS]>> = match st.tensor(QUALITY_SWD) {
            Err(_) => vec![None; points],
            Ok(s) if s.dtype() == Dtype::F64 && s.shape() == [points, LEVELS] => {
                let flat: Vec<f64> = bytemuck::pod_collect_to_vec(s.data());
                flat.chunks_exact(LEVELS)
                    .map(|r| {
                        let levels: [f64; LEVELS] = r.try_into().expect("rows of LEVELS");
                        levels.iter().all(|v| !v.is_nan()).then_some(levels)
                    })
                    .collect()
            }
            Ok(s) => {
                return Err(self.error(format!(
                    "tensor {QUALITY_SWD} is {:?} {:?}, expected F64 [{points}, {LEVELS}]",
                    s.dtype(),
                    s.shape()
                )))
            }
        };
        Ok(flat
            .chunks_exact(QUALITY_COLS)
            .zip(swd)
            .map(|(r, swd)| QualityPoint {
                step: r[0] as u64,
                n: r[1] as usize,
                fid: r[2],
                score: r[3],
                classes_covered: r[4] as usize,
                swd,
            })
            .collect())
    }
}

//! Reading a checkpoint back (the format is in the module above).

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors};

use crate::eval::pyramid::LEVELS;
use crate::io::metrics_log::QualityPoint;
use crate::metrics::GAN_SLOTS;
use crate::nn::Graph;
use crate::step::{Row, StepState};
use crate::{Error, Gpu, Network, Result, StepMetrics, Tensor};

use super::{describe, FORMAT, HISTORY, NOTE, QUALITY_COLS, QUALITY_SWD};

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

//! Parameters by name, as PyTorch's state dict names them: `"<op>.weight"`, `"<op>.bias"`
//! (batch norm's γ and β) and `"<op>.running_mean"`/`"<op>.running_var"`, where `<op>` is the
//! name the op was given or its index (a chain's `i`-th layer is `i`, as in `nn.Sequential`).

use crate::{Error, Gpu, Network, Result, Tensor};

impl Network {
    /// Every named tensor with its shape, in op order.
    pub fn param_names(&self) -> Vec<(String, Vec<usize>)> {
        let mut names = Vec::new();
        for i in 0..self.model.ops.len() {
            let op = self.model.op_name(i);
            for (k, (value, _)) in self.op_params(i).iter().enumerate() {
                let part = if k == 0 { "weight" } else { "bias" };
                names.push((format!("{op}.{part}"), value.shape().to_vec()));
            }
            if let Some((mean, _)) = &self.running[i] {
                for part in ["running_mean", "running_var"] {
                    names.push((format!("{op}.{part}"), mean.shape().to_vec()));
                }
            }
        }
        names
    }

    /// The GPU tensor holding the named parameter or statistic (a view into the network's
    /// buffers).
    pub fn param(&self, name: &str) -> Result<Tensor> {
        let unknown = || {
            let known: Vec<String> = self.param_names().into_iter().map(|(n, _)| n).collect();
            Error::shape(
                &self.label,
                format!("has no parameter {name:?}; it has {}", known.join(", ")),
            )
        };
        let (op, part) = name.rsplit_once('.').ok_or_else(unknown)?;
        let i = (0..self.model.ops.len())
            .find(|&i| self.model.op_name(i) == op)
            .ok_or_else(unknown)?;
        let params = self.op_params(i);
        let found = match (part, &self.running[i]) {
            ("weight", _) => params.first().map(|p| p.0.clone()),
            ("bias", _) => params.get(1).map(|p| p.0.clone()),
            ("running_mean", Some((m, _))) => Some(m.clone()),
            ("running_var", Some((_, v))) => Some(v.clone()),
            _ => None,
        };
        found.ok_or_else(unknown)
    }

    /// Reads the named parameter to the CPU.
    pub fn read_param(&self, gpu: &Gpu, name: &str) -> Result<Vec<f32>> {
        self.param(name)?.read(gpu)
    }

    /// Overwrites the named parameter (set-up and loading; not for the training step).
    pub fn write_param(&self, gpu: &Gpu, name: &str, values: &[f32]) -> Result<()> {
        let t = self.param(name)?;
        if values.len() != t.len() {
            return Err(Error::shape(
                &self.label,
                format!(
                    "{name} is {:?} ({} values), given {}",
                    t.shape(),
                    t.len(),
                    values.len()
                ),
            ));
        }
        t.write(gpu, values)
    }

    /// Overwrites every named tensor given (a state dict, or part of one).
    pub fn load_params(&self, gpu: &Gpu, params: &[(&str, &[f32])]) -> Result<()> {
        params
            .iter()
            .try_for_each(|(name, values)| self.write_param(gpu, name, values))
    }
}

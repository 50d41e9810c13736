//! The step state: four words on the GPU that every recorded kernel may read and that the
//! metrics recorder advances at the end of each step.

use crate::{Gpu, Result, Tensor};

/// The GPU's own count of a run's steps, as the recorded kernels see it (and as checkpoints
/// keep it): random draws and data order take their clock from `iterations`, so replaying a
/// recorded step needs no upload.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepState {
    /// Steps finished.
    pub iterations: u32,
    /// The 1-based step whose metrics first held a NaN or an infinity; 0 while none has.
    pub diverged_at: u32,
    /// Unused, zero: the state is 16 bytes so that it binds like any small buffer.
    pub reserved: [u32; 2],
}

impl StepState {
    /// Words in the state (shaders index `state[0]` and `state[1]`).
    pub const WORDS: usize = 4;

    /// A zeroed state on the GPU.
    pub(crate) fn tensor(gpu: &Gpu, label: &str) -> Result<Tensor> {
        Tensor::zeros(gpu, &[Self::WORDS], label)
    }

    /// Writes this state into `tensor`.
    pub(crate) fn write(&self, gpu: &Gpu, tensor: &Tensor) -> Result<()> {
        tensor.write(gpu, bytemuck::cast_slice(bytemuck::bytes_of(self)))
    }

    /// The state from its words, `None` unless there are exactly [`StepState::WORDS`].
    pub fn from_words(words: &[u32]) -> Option<StepState> {
        let words: [u32; Self::WORDS] = words.try_into().ok()?;
        Some(bytemuck::cast(words))
    }

    /// The state's words, as the GPU holds them.
    pub fn words(&self) -> [u32; Self::WORDS] {
        bytemuck::cast(*self)
    }
}

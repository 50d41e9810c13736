//! The paired tasks of image-to-image translation, made on the GPU from a data set of digits:
//! each target digit with its input (its outline, or a copy at a quarter of the resolution).

use crate::data::idx::Digits;
use crate::ops::morphology::Transform;
use crate::{Dataset, Error, Gpu, Result};

/// What pix2pix learns to turn into a digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairedTask {
    /// The digit's outline (dilation minus erosion, 3×3): the "drawing → photo" of the
    /// literature.
    Outline,
    /// The digit at 7×7, each pixel the mean of a 4×4 tile, shown at 28×28: super-resolution.
    SuperResolution,
}

/// The side of the low-resolution tiles: 28 / 4 = 7 pixels a side.
pub const SUPERRES_FACTOR: usize = 4;

impl PairedTask {
    /// Every task, in the order of [`PairedTask::name`]'s list.
    pub const ALL: [PairedTask; 2] = [PairedTask::Outline, PairedTask::SuperResolution];

    /// The task called `name` (`outline` or `superres`).
    pub fn parse(name: &str) -> Result<PairedTask> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                Error::Config(format!(
                    "unknown translation task {name:?}: use outline or superres"
                ))
            })
    }

    /// The task's name on the command line and in checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            PairedTask::Outline => "outline",
            PairedTask::SuperResolution => "superres",
        }
    }

    /// What makes an input from a target digit.
    pub fn input_transform(self) -> Transform {
        match self {
            PairedTask::Outline => Transform::Outline,
            PairedTask::SuperResolution => Transform::Pixelate(SUPERRES_FACTOR),
        }
    }

    /// The task's pairs for the digits of `targets`, inputs made on the GPU.
    pub fn pairs(self, gpu: &Gpu, targets: &Dataset) -> Result<Pairs> {
        let inputs = targets.transformed(gpu, self.input_transform())?;
        Pairs::new(inputs, targets.clone())
    }
}

/// Inputs and targets, sample `i` of one with sample `i` of the other: the same gather draws
/// both, so each input stays with its target through the shuffle.
#[derive(Clone)]
pub struct Pairs {
    /// What G reads.
    pub inputs: Dataset,
    /// What G should make of each.
    pub targets: Dataset,
}

impl Pairs {
    /// Pairs `inputs` with `targets`: the same number of samples, in the same range.
    pub fn new(inputs: Dataset, targets: Dataset) -> Result<Pairs> {
        if inputs.len() != targets.len() {
            return Err(Error::shape(
                "pairs",
                format!(
                    "{} inputs for {} targets; each input needs its target",
                    inputs.len(),
                    targets.len()
                ),
            ));
        }
        if (inputs.scale, inputs.shift) != (targets.scale, targets.shift) {
            return Err(Error::Config(
                "inputs and targets must map their bytes to the same range".into(),
            ));
        }
        Ok(Pairs { inputs, targets })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Never true: a data set holds at least one sample.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// Two domains of images with no pairs between them, for CycleGAN.
#[derive(Clone)]
pub struct Domains {
    /// Domain A.
    pub a: Dataset,
    /// Domain B.
    pub b: Dataset,
}

impl Domains {
    /// Thin ↔ thick (the "young ↔ old face" of the literature): domain A is the first half
    /// of `digits` eroded over 2×2 blocks, domain B the second half dilated (3×3), so no
    /// digit is in both. (A 3×3 erosion leaves a fifth of a digit's ink: the judge reads only
    /// half of such digits right, where it reads 94 % of the 2×2-eroded and of the dilated
    /// ones.) Pixels in `range`, labels kept.
    pub fn thin_thick(gpu: &Gpu, digits: &Digits, range: (f32, f32)) -> Result<Domains> {
        let (first, second) = digits.split(digits.len() / 2)?;
        let a = Dataset::from_digits(gpu, &first, range)?.transformed(gpu, Transform::Erode2x2)?;
        let b = Dataset::from_digits(gpu, &second, range)?.transformed(gpu, Transform::Dilate)?;
        Ok(Domains { a, b })
    }
}

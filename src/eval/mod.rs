//! Sample quality in numbers: a digit classifier trained by counterfeit, and the metrics
//! computed from its outputs (Fréchet distance of features, the Inception-style score,
//! mode coverage) and from pixels (Parzen-window log-likelihood).

pub mod classifier;
pub mod classifier_training;
pub mod coverage;
pub mod frechet;
pub mod judge;
pub mod parzen;
pub mod score;

pub use classifier::{Classifier, Outputs};
pub use classifier_training::{ClassifierConfig, ClassifierTrainer};
pub use judge::{Judge, Report};

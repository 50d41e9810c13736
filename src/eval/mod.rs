//! Sample quality in numbers: a digit classifier trained by counterfeit, and the metrics
//! computed from its outputs (Fréchet distance of features, the Inception-style score,
//! mode coverage) and from pixels (Parzen-window log-likelihood, the sliced Wasserstein
//! distance of Laplacian-pyramid patches).

pub mod classifier;
pub mod classifier_training;
pub mod coverage;
pub mod frechet;
pub mod judge;
pub mod parzen;
pub mod pyramid;
pub mod real_features;
pub mod score;
pub mod swd;
pub mod translation;

pub use classifier::{Classifier, Outputs};
pub use classifier_training::{ClassifierConfig, ClassifierTrainer};
pub use judge::{Judge, Report};
pub use translation::{TranslationJudge, TranslationReport};

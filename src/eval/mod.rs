//! Sample quality in numbers: a digit classifier trained by counterfeit, and the metrics
//! computed from its outputs (Fréchet distance of features, the Inception-style score,
//! mode coverage) and from pixels (Parzen-window log-likelihood).

//! The `--recipe` flag's learning rate, shared by `dcgan_mnist` and `cgan_mnist`.

use counterfeit::gan::TrainingRecipe;

/// Both networks' learning rate: `--lr` when given, else the named recipe's (DCGAN's for a
/// name the flag checks refuse).
pub fn recipe_lr(recipe: &str, lr: Option<f32>) -> f32 {
    lr.unwrap_or_else(|| {
        TrainingRecipe::parse(recipe)
            .unwrap_or(TrainingRecipe::Dcgan)
            .lr()
    })
}

//! What averaging gradients over MPI ranks costs, apart from training: the sum that
//! data-parallel training runs after each backward, timed alone for the gradient buffers of
//! the benchmark networks and a range of sizes.
//!
//!     cargo build --release --features distributed --example allreduce
//!     mpirun -np 2 target/release/examples/allreduce
//!
//! Before each timed sum the ranks meet in a one-value sum, so the time is the transfer and
//! the additions, not waiting for a late rank. Rank 0 prints the table.

use std::time::Instant;

use counterfeit::distributed::{Collective, Mpi};
use counterfeit::gan::dcgan::Arch;
use counterfeit::{Gpu, Network, Result};

/// Timed sums per size (after one untimed).
const REPEATS: usize = 20;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mpi = Mpi::init()?;
    let root = mpi.rank() == 0;
    // Each network's parameter count is its gradient buffer's, as the trainers reduce it.
    let gpu = Gpu::new()?;
    let mut sizes: Vec<(String, usize)> = Vec::new();
    for arch in [Arch::Dcgan28, Arch::Dcgan64] {
        let g = Network::new(&gpu, "G", arch.generator(), 0)?;
        let d = Network::new(&gpu, "D", arch.discriminator(), 0)?;
        sizes.push((
            format!("{} D gradients", arch.name()),
            d.params().values.len(),
        ));
        sizes.push((
            format!("{} G gradients", arch.name()),
            g.params().values.len(),
        ));
    }
    for floats in [1 << 10, 1 << 14, 1 << 18, 1 << 22] {
        sizes.push((format!("{} floats", floats), floats));
    }
    if root {
        println!(
            "{} ranks (Open MPI, reduce onto rank 0 and broadcast)",
            mpi.ranks()
        );
        println!("| buffer | MB | ms per sum | GB/s (bytes / time) |");
        println!("|---|---|---|---|");
    }
    for (name, floats) in sizes {
        let mut values = vec![1.0f32; floats];
        let mut total = 0.0;
        for i in 0..=REPEATS {
            mpi.sum(&mut [0.0])?;
            let t = Instant::now();
            mpi.sum(&mut values)?;
            if i > 0 {
                total += t.elapsed().as_secs_f64();
            }
        }
        let secs = total / REPEATS as f64;
        let bytes = floats as f64 * 4.0;
        if root {
            println!(
                "| {name} | {:.2} | {:.2} | {:.2} |",
                bytes / 1e6,
                secs * 1e3,
                bytes / secs / 1e9
            );
        }
    }
    Ok(())
}

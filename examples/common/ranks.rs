//! `--distributed`: an example as one rank of an MPI job (`mpirun -np N ... --distributed`).
//! Every rank trains; rank 0 alone writes files and prints the run's story.

use std::sync::Arc;

use counterfeit::gan::GanRun;
use counterfeit::{Error, Gpu, Result};

/// The flag of every training example that can run as several ranks.
#[derive(clap::Args)]
pub struct RankArgs {
    /// Train as one rank of an MPI job started by `mpirun -np N` (a build with `--features
    /// distributed`): each rank trains on its share of every batch on its own GPU, the
    /// gradients are averaged over the ranks, and rank 0 writes the files.
    #[arg(long)]
    pub distributed: bool,
}

/// This process's place among the ranks of a run (rank 0 of 1 without `--distributed`).
pub struct Ranks {
    #[cfg(feature = "distributed")]
    mpi: Option<Arc<counterfeit::distributed::Mpi>>,
    rank: usize,
    ranks: usize,
}

impl Ranks {
    /// Alone, or (with `distributed`) one of the ranks `mpirun` started.
    pub fn start(args: &RankArgs) -> Result<Ranks> {
        if !args.distributed {
            return Ok(Ranks::alone());
        }
        #[cfg(feature = "distributed")]
        {
            use counterfeit::distributed::Collective;
            let mpi = counterfeit::distributed::Mpi::init()?;
            Ok(Ranks {
                rank: mpi.rank(),
                ranks: mpi.ranks(),
                mpi: Some(mpi),
            })
        }
        #[cfg(not(feature = "distributed"))]
        Err(Error::Config(
            "--distributed: this build has no MPI; build with `--features distributed` and start \
             the ranks with `mpirun -np N` (README, \"Several GPUs\")"
                .into(),
        ))
    }

    fn alone() -> Ranks {
        Ranks {
            #[cfg(feature = "distributed")]
            mpi: None,
            rank: 0,
            ranks: 1,
        }
    }

    /// Whether this rank writes files and prints (rank 0).
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Processes in the run.
    pub fn count(&self) -> usize {
        self.ranks
    }

    /// This rank's GPU: `COUNTERFEIT_ADAPTER`'s, or the one its index on its machine picks;
    /// trainers recorded on it train data-parallel with the other ranks.
    pub fn gpu(&self) -> Result<Gpu> {
        #[cfg(feature = "distributed")]
        if let Some(mpi) = &self.mpi {
            let gpu = Gpu::for_local_rank(mpi.local_rank())?;
            return Ok(gpu.in_group(mpi.clone()));
        }
        Gpu::new()
    }

    /// A global `--batch` split over the ranks: each rank's share, which must be whole.
    pub fn share(&self, batch: usize) -> Result<usize> {
        if !batch.is_multiple_of(self.ranks) {
            return Err(Error::Config(format!(
                "--batch {batch}: must be a multiple of the {} ranks (each takes an equal share)",
                self.ranks
            )));
        }
        Ok(batch / self.ranks)
    }

    /// Says which adapter this rank trains on (every rank: a rank's line names it and its
    /// process, for whoever must find it).
    pub fn announce(&self, gpu: &Gpu) {
        if self.ranks > 1 {
            println!(
                "rank {} of {} (pid {}): adapter {}",
                self.rank,
                self.ranks,
                std::process::id(),
                gpu.describe()
            );
        } else {
            println!("adapter: {}", gpu.describe());
        }
    }

    /// At the end of training: checks that every rank holds rank 0's parameters (collective)
    /// and, on rank 0, says so with what the reductions cost per step.
    pub fn agree(&self, run: &GanRun) -> Result<()> {
        run.check_ranks_agree()?;
        if let (true, Some(cost)) = (self.is_root(), run.exchange_cost()) {
            let steps = cost.steps.max(1) as f64;
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3 / steps;
            println!(
                "{} ranks hold identical parameters; per step each sent {:.2} MB into the sums, \
                 spent {:.1} ms copying and {:.1} ms in the sums (waiting for the others included)",
                self.ranks,
                cost.bytes_per_step as f64 / 1e6,
                ms(cost.copying),
                ms(cost.summing)
            );
        }
        Ok(())
    }

    /// Whether any rank saw `flag` (a Ctrl-C, say), so that all stop at the same step.
    /// Collective when there are several ranks.
    pub fn any(&self, flag: bool) -> Result<bool> {
        #[cfg(feature = "distributed")]
        if let Some(mpi) = &self.mpi {
            use counterfeit::distributed::Collective;
            let mut v = [flag as u8 as f32];
            mpi.sum(&mut v)?;
            return Ok(v[0] > 0.0);
        }
        Ok(flag)
    }

    /// Returns once every rank has called it (at once alone).
    pub fn wait_for_all(&self) -> Result<()> {
        self.any(false).map(|_| ())
    }

    /// Ends the process as the run ended. A failing rank of several names itself and
    /// aborts the whole job, so that no other rank waits for it forever; otherwise MPI is
    /// finalised first (the last handle to it ends here).
    pub fn exit_with(self, outcome: Result<super::Finish>) -> ! {
        #[cfg(feature = "distributed")]
        if let (Some(mpi), Err(e)) = (&self.mpi, &outcome) {
            if self.ranks > 1 {
                // One write: mpirun forwards a rank's stderr in the pieces it was written in
                // and prints its own abort notice between them.
                let line = format!("error on rank {} of {}: {e}\n", self.rank, self.ranks);
                let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
                mpi.abort(1);
            }
        }
        #[cfg(feature = "distributed")]
        drop(self.mpi);
        super::exit_with(outcome)
    }
}

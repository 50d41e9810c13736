//! The [`Collective`] over MPI (the `distributed` feature): one process per GPU, started by
//! `mpirun`.

use std::sync::{Arc, Mutex};

use mpi::collective::{Root, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;

use super::Collective;
use crate::{Error, Result};

/// MPI's world: every process `mpirun` started. Dropping it finalises MPI.
pub struct Mpi {
    world: SimpleCommunicator,
    rank: usize,
    ranks: usize,
    /// MPI is initialised for serialised calls: the lock makes them so. It guards the copy
    /// of rank 0's values a sum sends, kept so that a step allocates nothing.
    calls: Mutex<Vec<f32>>,
    _universe: Universe,
}

// SAFETY: MPI runs at the `Serialized` threading level (checked in `init`), which allows
// calls from any thread as long as no two are concurrent; every call goes through `calls`.
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

impl Mpi {
    /// Initialises MPI (once per process).
    pub fn init() -> Result<Arc<Mpi>> {
        let (universe, level) =
            mpi::initialize_with_threading(Threading::Serialized).ok_or_else(|| {
                Error::Distributed("MPI is already initialised in this process".into())
            })?;
        if level < Threading::Serialized {
            return Err(Error::Distributed(format!(
                "the MPI library offers threading level {level:?}; counterfeit needs Serialized"
            )));
        }
        let world = universe.world();
        Ok(Arc::new(Mpi {
            rank: world.rank() as usize,
            ranks: world.size() as usize,
            world,
            calls: Mutex::new(Vec::new()),
            _universe: universe,
        }))
    }

    /// This process's index among the ranks on its own machine (Open MPI and MPICH say it in
    /// the environment), which picks its GPU; the world rank when neither does.
    pub fn local_rank(&self) -> usize {
        [
            "OMPI_COMM_WORLD_LOCAL_RANK",
            "MPI_LOCALRANKID",
            "SLURM_LOCALID",
        ]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
        .unwrap_or(self.rank)
    }

    /// Ends every rank's process with `code`: what a failing rank does, so that no other rank
    /// waits forever for it in a sum.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn serialised(&self) -> std::sync::MutexGuard<'_, Vec<f32>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn ranks(&self) -> usize {
        self.ranks
    }

    /// Reduces onto rank 0 and broadcasts the result: unlike an all-reduce, whose algorithm
    /// may add in another order on each rank, every rank then holds the same bits.
    fn sum(&self, values: &mut [f32]) -> Result<()> {
        let mut mine = self.serialised();
        let root = self.world.process_at_rank(0);
        if self.rank == 0 {
            mine.clear();
            mine.extend_from_slice(values);
            root.reduce_into_root(&mine[..], values, SystemOperation::sum());
        } else {
            root.reduce_into(&values[..], SystemOperation::sum());
        }
        root.broadcast_into(values);
        Ok(())
    }

    fn broadcast(&self, bytes: &mut [u8]) -> Result<()> {
        let _call = self.serialised();
        self.world.process_at_rank(0).broadcast_into(bytes);
        Ok(())
    }
}

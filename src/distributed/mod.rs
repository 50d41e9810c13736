//! Data-parallel training: the same recorded step runs in every process (rank) of a group,
//! each on its own GPU and its own shard of every batch. After each backward the gradients of
//! the network about to be updated are averaged over the ranks, so every rank's optimiser
//! takes the same step and the ranks stay bit-identical.
//!
//! The library needs only a [`Collective`]: a sum over the ranks and a broadcast. The
//! `distributed` feature provides one over MPI ([`Mpi`]); a [`Gpu`](crate::Gpu) joins a group
//! with [`Gpu::in_group`](crate::Gpu::in_group), and every trainer recorded on that handle
//! trains data-parallel.
//!
//! What each rank does differently: the batch it gathers (rank r of N takes samples
//! r·b .. (r+1)·b of the batch of N·b that one process would gather), its latent vectors and
//! fake labels (the same elements one process would draw for those samples), and every other
//! random draw (dropout, label flips, instance noise: a stream of its own). Batch-norm
//! statistics stay per rank, as PyTorch's DistributedDataParallel keeps them by default.

mod exchange;
#[cfg(feature = "distributed")]
mod mpi;

pub(crate) use exchange::{Exchange, Reduction};
#[cfg(feature = "distributed")]
pub use mpi::Mpi;

use crate::io::fingerprint::fnv1a;
use crate::nn::Network;
use crate::ops::Clock;
use crate::{Error, Gpu, Result};

/// What data-parallel training needs of the processes it runs in. Every method is collective:
/// every rank calls it, in the same order, with buffers of the same length.
pub trait Collective: Send + Sync {
    /// This process's rank, 0 .. [`ranks`](Collective::ranks).
    fn rank(&self) -> usize;
    /// Processes in the group.
    fn ranks(&self) -> usize;
    /// Replaces `values` by their sum over the ranks. Every rank must receive the same bits
    /// (the ranks' parameters stay identical only then).
    fn sum(&self, values: &mut [f32]) -> Result<()>;
    /// Replaces `bytes` on every rank by rank 0's.
    fn broadcast(&self, bytes: &mut [u8]) -> Result<()>;
}

/// Where a process stands in its group: rank `rank` of `ranks` (0 of 1 alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This process's rank.
    pub rank: usize,
    /// Processes in the group.
    pub ranks: usize,
}

impl Shard {
    /// A process on its own.
    pub const ALONE: Shard = Shard { rank: 0, ranks: 1 };

    /// The clock of this rank's part of a data batch: batch t of b samples per rank is part
    /// `rank` of batch t of N·b samples in the one-process order, i.e. batch N·t + rank of b.
    pub(crate) fn data_clock(&self, clock: Clock) -> Clock {
        let n = self.ranks as u32;
        Clock {
            mul: clock.mul.wrapping_mul(n),
            add: clock.add.wrapping_mul(n).wrapping_add(self.rank as u32),
        }
    }

    /// The index of this rank's first element in a draw of `len` elements per rank, so that
    /// the ranks together draw what one process would for all their samples.
    pub(crate) fn draw_offset(&self, len: usize) -> u32 {
        (self.rank * len) as u32
    }

    /// The Philox stream of a draw that each rank makes on its own (dropout, label flips,
    /// instance noise): rank 0 keeps a process's streams, rank r moves them above 2^24
    /// (the streams of one process stay below 2^20).
    pub(crate) fn own_stream(&self, stream: u32) -> u32 {
        stream.wrapping_add((self.rank as u32) << 24)
    }
}

/// What the reductions cost a data-parallel run so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExchangeCost {
    /// Bytes each rank sends into the sums of one step (gradients and metric slots).
    pub bytes_per_step: u64,
    /// Host time at the reduction points over the steps run, copying out of the staging
    /// buffers and back into the tensors.
    pub copying: std::time::Duration,
    /// Host time in the sums over the ranks over the steps run. It includes waiting for the
    /// slowest rank to arrive, so on ranks that share cores it is mostly waiting.
    pub summing: std::time::Duration,
    /// The steps these figures cover: those since the step was recorded (a growing
    /// network's last growth) in this process.
    pub steps: u64,
}

/// Checks that every rank of `gpu`'s group holds rank 0's parameters of `nets`, bit for bit.
/// Collective; alone, there is nothing to check.
pub fn check_networks_agree(gpu: &Gpu, nets: &[&Network]) -> Result<()> {
    let Some(group) = gpu.group() else {
        return Ok(());
    };
    let mut bytes = Vec::new();
    for net in nets {
        let values = net.params().values.read(gpu)?;
        bytes.extend_from_slice(bytemuck::cast_slice(&values));
    }
    match ranks_differing(group.as_ref(), &bytes)? {
        0 => Ok(()),
        n => Err(Error::Distributed(format!(
            "{n} of {} ranks hold other parameters than rank 0",
            group.ranks()
        ))),
    }
}

/// How many ranks hold other `bytes` than rank 0 (0 when all agree). Collective: every rank
/// calls it and gets the same count.
pub fn ranks_differing(group: &dyn Collective, bytes: &[u8]) -> Result<usize> {
    let mine = fnv1a(bytes).to_le_bytes();
    let mut root = mine;
    group.broadcast(&mut root)?;
    let mut differs = [if mine == root { 0.0 } else { 1.0 }];
    group.sum(&mut differs)?;
    Ok(differs[0] as usize)
}

//! One training step being recorded: the state and metric slots its kernels share, its
//! kernels in order, and the tapes they bind.

use crate::distributed::{Exchange, Reduction, Shard};
use crate::gpu::Kernel;
use crate::nn::{Network, RngSpec};
use crate::ops::data::record;
use crate::ops::Clock;
use crate::step::readback::Row;
use crate::step::replayer::{Recorded, Replayer};
use crate::step::StepState;
use crate::tape::Tape;
use crate::{Gpu, Optimizer, Result, Tensor};

pub(crate) struct Recorder {
    pub(crate) gpu: Gpu,
    /// Seeds every random draw of the step.
    pub(crate) seed: u64,
    /// The [`StepState`] every kernel reads.
    pub(crate) state: Tensor,
    /// The step's metric slots, which its loss kernels write.
    pub(crate) metrics: Tensor,
    kernels: Vec<Kernel>,
    /// The same step with every optimiser's rate lowered, from the step after `at` on.
    lowered: Option<Lowered>,
    tapes: Vec<Tape>,
    /// Ranges of `kernels` (and of the lowered ones, recorded in step with them) that run
    /// only every so many iterations.
    periodic: Vec<(u64, std::ops::Range<usize>)>,
    /// The iteration the optimisers count their updates from (Adam's bias correction, SGD's
    /// schedules): 0, or where a grown network's stage began.
    optimiser_origin: u32,
    /// This process's part of a data-parallel group (rank 0 of 1 alone).
    shard: Shard,
    /// Where the step stops to average tensors over the ranks (data-parallel only).
    reductions: Vec<Reduction>,
    /// What every rank takes from rank 0 before the first step (data-parallel only).
    replicated: Vec<Tensor>,
}

struct Lowered {
    at: u64,
    factor: f32,
    kernels: Vec<Kernel>,
}

impl Recorder {
    /// An empty step of `slots` metric slots, drawing from `seed`.
    pub(crate) fn new(gpu: &Gpu, seed: u64, slots: usize) -> Result<Recorder> {
        let state = StepState::tensor(gpu, "step state")?;
        Ok(Recorder {
            gpu: gpu.clone(),
            seed,
            state: state.clone(),
            metrics: Tensor::zeros(gpu, &[slots], "metrics")?,
            kernels: Vec::new(),
            lowered: None,
            tapes: Vec::new(),
            periodic: Vec::new(),
            optimiser_origin: 0,
            shard: gpu.shard(),
            reductions: Vec::new(),
            replicated: vec![state],
        })
    }

    /// This process's part of its data-parallel group.
    pub(crate) fn shard(&self) -> Shard {
        self.shard
    }

    /// Whether the step is one of several ranks'.
    fn parallel(&self) -> bool {
        self.shard.ranks > 1
    }

    /// Stops the step before the next kernel to average `tensors` over the ranks (nothing
    /// when the step runs alone).
    pub(crate) fn average_over_ranks(&mut self, tensors: Vec<Tensor>) {
        if self.parallel() {
            self.reductions.push(Reduction {
                at: self.kernels.len(),
                tensors,
            });
        }
    }

    /// Also records the step with every optimiser's learning rate multiplied by `factor`,
    /// which replaces it after step `at` (a step schedule); `None` records one step only.
    pub(crate) fn lowering_rates(mut self, at: Option<u64>, factor: f32) -> Recorder {
        self.lowered = at.map(|at| Lowered {
            at,
            factor,
            kernels: Vec::new(),
        });
        self
    }

    /// Makes the optimisers count their updates from iteration `origin`, as freshly built
    /// optimisers would at that step (progressive growing restarts them at each stage).
    pub(crate) fn count_updates_from(&mut self, origin: u32) {
        self.optimiser_origin = origin;
    }

    pub(crate) fn push(&mut self, kernel: Kernel) {
        if let Some(l) = &mut self.lowered {
            l.kernels.push(kernel.clone());
        }
        self.kernels.push(kernel);
    }

    /// Kernels that run only in iterations 0, `every`, 2·`every`, … (a lazy penalty); every
    /// iteration when `every` is 1.
    pub(crate) fn periodic(&mut self, every: u32, kernels: Vec<Kernel>) {
        let start = self.kernels.len();
        self.extend(kernels);
        if every > 1 {
            self.periodic
                .push((every as u64, start..self.kernels.len()));
        }
    }

    pub(crate) fn extend(&mut self, kernels: impl IntoIterator<Item = Kernel>) {
        for k in kernels {
            self.push(k);
        }
    }

    /// Records `tape`'s forward kernels.
    pub(crate) fn forward(&mut self, tape: &Tape) {
        self.extend(tape.forward().iter().cloned());
    }

    /// Keeps `tape` alive for as long as the recorded kernels.
    pub(crate) fn keep(&mut self, tape: Tape) {
        self.tapes.push(tape);
    }

    /// The draws of a network's noise layers from `stream` on `clock`.
    pub(crate) fn rng(&self, stream: u32, clock: Clock) -> RngSpec {
        RngSpec {
            seed: self.seed,
            stream: self.shard.own_stream(stream),
            clock,
        }
    }

    /// `optimizer`'s step of `net`'s parameters (at the lowered rate in the lowered step).
    pub(crate) fn optimise(
        &mut self,
        optimizer: &Optimizer,
        clock: Clock,
        net: &Network,
    ) -> Result<()> {
        let params = net.params();
        // Data-parallel: every rank steps with the gradients averaged over the ranks, from
        // rank 0's parameters and moments.
        self.average_over_ranks(vec![params.grads.clone()]);
        if self.parallel() {
            for t in [&params.values, &params.m1, &params.m2] {
                if !self.replicated.iter().any(|r| r.same_as(t)) {
                    self.replicated.push(t.clone());
                }
            }
        }
        let (gpu, state) = (&self.gpu, &self.state);
        // The kernels compute the count as state·mul + add in wrapping u32 arithmetic, so a
        // later origin is a subtraction folded into `add`.
        let clock = Clock {
            mul: clock.mul,
            add: clock
                .add
                .wrapping_sub(clock.mul.wrapping_mul(self.optimiser_origin)),
        };
        if let Some(l) = &mut self.lowered {
            let lowered = optimizer.lowered(l.factor);
            l.kernels
                .push(lowered.step_params(gpu, clock, state, params)?);
        }
        let step = optimizer.step_params(gpu, clock, state, params)?;
        self.kernels.push(step);
        Ok(())
    }

    /// Ends the step by logging its metric slots into a history ring of `rows` rows (and
    /// advancing the step state), and hands it to a replayer that brings the ring back every
    /// `rows` steps. `names` says what each slot holds; `what` names the step in errors.
    pub(crate) fn finish<M: Row>(
        mut self,
        rows: usize,
        names: &'static [&'static str],
        what: &'static str,
    ) -> Result<Replayer<M>> {
        let gpu = self.gpu.clone();
        let history = Tensor::zeros(&gpu, &[rows * (names.len() + 1)], "metrics history")?;
        // Every rank logs (and checks for divergence) the metrics averaged over the ranks.
        self.average_over_ranks(vec![self.metrics.clone()]);
        self.push(record(&gpu, &self.state, &self.metrics, &history)?);
        let exchange = match gpu.group() {
            Some(group) if self.parallel() => Some(Exchange::new(
                &gpu,
                group.clone(),
                self.reductions,
                self.replicated,
            )),
            _ => None,
        };
        let recorded = Recorded {
            kernels: self.kernels,
            lowered: self.lowered.map(|l| (l.at, l.kernels)),
            periodic: self.periodic,
            tapes: self.tapes,
            state: self.state,
            history,
            exchange,
        };
        Ok(Replayer::new(&gpu, recorded, rows, names, what))
    }
}

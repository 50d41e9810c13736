//! Data-parallel training over MPI, as `mpirun -np 2` runs it on one machine (two processes,
//! each on the CPU adapter). The ranks are this test binary's own ignored `rank_worker` test,
//! or the `dcgan_mnist` example, started by `mpirun`; the tests read what they leave behind.
//!
//! Needs Open MPI's `mpirun` on the PATH, and the example built with the feature first:
//!
//!     cargo build --release --features distributed --example dcgan_mnist
//!     cargo test --release --features distributed --test distributed
#![cfg(feature = "distributed")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use counterfeit::data::idx;
use counterfeit::distributed::{Collective, Mpi};
use counterfeit::gan::conditional::{
    dcgan28_discriminator, dcgan28_generator, ConditionalConfig, ConditionalTrainer,
};
use counterfeit::{Dataset, Gpu, GradientPenalty, Noise, Sequential, Trainer, TrainerConfig};

/// Where `rank_worker` writes (set by the test that starts it; unset, the worker does nothing).
const OUT_ENV: &str = "COUNTERFEIT_TEST_RANK_OUT";
/// What `rank_worker` does: `train` (20 steps, then write what it holds), `train-r1` (the
/// same with R1's penalty), `conditional` (the conditional DCGAN, batch norm and all, for 3
/// steps) or `endless`.
const MODE_ENV: &str = "COUNTERFEIT_TEST_RANK_MODE";
/// Steps of the comparison runs.
const STEPS: usize = 20;
/// The whole batch: two ranks of 32 against one process of 64.
const BATCH: usize = 64;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("counterfeit-mpi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `mpirun` on this machine, as root where the tests run as root (the ranks follow). The
/// ranks share the machine's cores, so a rank waiting in a sum yields its core to the other.
fn mpirun() -> Command {
    let mut c = Command::new("mpirun");
    c.arg("--oversubscribe")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_mpi_yield_when_idle", "1");
    c
}

/// `mpirun` running this binary's `rank_worker` in `mode`, writing into `out`.
fn workers(out: &Path, mode: &str) -> Command {
    let mut c = mpirun();
    c.args(["-np", "2"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "rank_worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OUT_ENV, out)
        .env(MODE_ENV, mode);
    c
}

/// 200 pseudo-random 6×6 images: a run of 20 batches of 64 passes the end of an epoch
/// several times.
fn data(gpu: &Gpu) -> Dataset {
    let bytes: Vec<u8> = (0..200 * 36u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    Dataset::from_bytes(gpu, &bytes, 200, &[36], (-1.0, 1.0)).unwrap()
}

/// Networks without batch norm or dropout: nothing of a rank's own, so two ranks of 32 and
/// one process of 64 compute the same function of the same samples.
fn models() -> (Sequential, Sequential) {
    let g = Sequential::new([8])
        .linear(24)
        .leaky_relu(0.2)
        .linear(36)
        .tanh();
    let d = Sequential::new([36]).linear(20).leaky_relu(0.2).linear(1);
    (g, d)
}

/// Two D steps per iteration: two gradient reductions for D, one for G, one for the metrics.
fn config(batch: usize) -> TrainerConfig {
    TrainerConfig {
        batch,
        seed: 11,
        noise: Noise::Normal,
        d_steps: 2,
        readback_every: 5,
        ..TrainerConfig::dcgan()
    }
}

/// R1 (`dcgan_mnist`'s default recipe): each rank's penalty is the mean over its samples.
const R1: GradientPenalty = GradientPenalty::Real {
    gamma: 10.0,
    every: 1,
};

/// G's and D's parameters, and every step's D and G loss (and penalty, when there is one).
fn trained(
    gpu: &Gpu,
    batch: usize,
    steps: usize,
    penalty: Option<GradientPenalty>,
) -> (Vec<f32>, Vec<f32>) {
    let (g, d) = models();
    let config = TrainerConfig {
        penalty,
        ..config(batch)
    };
    let mut gan = Trainer::new(gpu, g, d, &data(gpu), config).unwrap();
    for _ in 0..steps {
        gan.step().unwrap();
    }
    gan.flush().unwrap();
    gan.check_ranks_agree().unwrap();
    let mut params = gan.generator().params().values.read(gpu).unwrap();
    params.extend(gan.discriminator().params().values.read(gpu).unwrap());
    let losses = gan
        .history()
        .iter()
        .flat_map(|m| [m.d_loss, m.g_loss, m.penalty])
        .collect();
    (params, losses)
}

fn write_f32(path: &Path, values: &[f32]) {
    std::fs::write(path, bytemuck::cast_slice(values)).unwrap();
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytemuck::cast_slice(&bytes).to_vec()
}

/// One rank, started by `mpirun` from the tests below (ignored when run directly).
#[test]
#[ignore = "a rank of the MPI tests; they start it with mpirun"]
fn rank_worker() {
    let Some(out) = std::env::var_os(OUT_ENV).map(PathBuf::from) else {
        return;
    };
    common::quiet_runtime_dir();
    let mpi = Mpi::init().unwrap();
    let (rank, ranks) = (mpi.rank(), mpi.ranks());
    let gpu = Gpu::for_local_rank(mpi.local_rank())
        .unwrap()
        .in_group(mpi.clone());
    match std::env::var(MODE_ENV).as_deref() {
        Ok(mode @ ("train" | "train-r1")) => {
            let penalty = (mode == "train-r1").then_some(R1);
            let (params, losses) = trained(&gpu, BATCH / ranks, STEPS, penalty);
            write_f32(&out.join(format!("params{rank}")), &params);
            write_f32(&out.join(format!("losses{rank}")), &losses);
        }
        Ok("conditional") => {
            let digits = idx::bundled().unwrap();
            let data = Dataset::from_digits(&gpu, &digits, (-1.0, 1.0)).unwrap();
            let recipe = ConditionalConfig::dcgan(10);
            let config = ConditionalConfig {
                gan: TrainerConfig {
                    batch: 2,
                    g_ema: Some(0.9),
                    label_flip: 0.1,
                    ..recipe.gan
                },
                ..recipe
            };
            let (g, d) = (dcgan28_generator(10), dcgan28_discriminator(10));
            let mut gan = ConditionalTrainer::new(&gpu, g, d, &data, config).unwrap();
            for _ in 0..3 {
                gan.step().unwrap();
            }
            gan.flush().unwrap();
            gan.check_ranks_agree().unwrap();
            let losses: Vec<f32> = gan.history().iter().map(|m| m.d_loss).collect();
            write_f32(&out.join(format!("losses{rank}")), &losses);
        }
        Ok("endless") => {
            let (g, d) = models();
            let mut gan = Trainer::new(&gpu, g, d, &data(&gpu), config(8)).unwrap();
            gan.step().unwrap();
            gan.flush().unwrap();
            std::fs::write(
                out.join(format!("pid{rank}")),
                std::process::id().to_string(),
            )
            .unwrap();
            loop {
                gan.step().unwrap();
            }
        }
        other => panic!("{MODE_ENV} = {other:?}"),
    }
}

#[test]
fn two_ranks_stay_identical_and_match_one_process_of_the_whole_batch() {
    ranks_match_one_process("train", None);
}

/// The same with R1's penalty: its second-order pass adds to each rank's gradients before
/// they are averaged, and its logged value is averaged like the losses.
#[test]
fn with_r1_two_ranks_stay_identical_and_match_one_process_of_the_whole_batch() {
    ranks_match_one_process("train-r1", Some(R1));
}

fn ranks_match_one_process(mode: &str, penalty: Option<GradientPenalty>) {
    let out = scratch(mode);
    let run = workers(&out, mode)
        .output()
        .expect("mpirun (Open MPI) on the PATH");
    assert!(
        run.status.success(),
        "mpirun failed: {}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let (p0, p1) = (
        read_f32(&out.join("params0")),
        read_f32(&out.join("params1")),
    );
    let (l0, l1) = (
        read_f32(&out.join("losses0")),
        read_f32(&out.join("losses1")),
    );
    // Bit for bit: both ranks step from the same averaged gradients.
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&p0), bits(&p1), "the ranks' parameters differ");
    assert_eq!(
        bits(&l0),
        bits(&l1),
        "the ranks logged other (averaged) losses"
    );

    let (p, l) = trained(common::gpu(), BATCH, STEPS, penalty);
    assert_eq!((p.len(), l.len()), (p0.len(), l0.len()));
    assert_eq!(l.len(), 3 * STEPS);
    let penalties = l.iter().skip(2).step_by(3);
    assert!(
        penalties.clone().all(|&v| (v > 0.0) == penalty.is_some()),
        "{mode}: logged penalties {:?}",
        penalties.collect::<Vec<_>>()
    );
    // Only rounding separates them: each rank averages its 32 samples and the ranks' means
    // are averaged, where one process averages 64 at once. Measured on lavapipe: 2.4e-8 for
    // the parameters, 5e-8 for the losses; the bound leaves room for other adapters' sums.
    let worst = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
            .fold(0.0f32, f32::max)
    };
    let (dp, dl) = (worst(&p0, &p), worst(&l0, &l));
    eprintln!(
        "2 ranks × 32 against 1 × 64 after {STEPS} steps: parameters {dp:.2e}, losses {dl:.2e}"
    );
    assert!(dp < 1e-6, "parameters differ by {dp:e}");
    assert!(dl < 1e-6, "losses differ by {dl:e}");
    // ... and both differ from a run that saw only one rank's half of each batch.
    let (half, _) = trained(common::gpu(), BATCH / 2, STEPS, penalty);
    assert!(worst(&half, &p) > 100.0 * dp.max(1e-7));
}

/// The conditional trainer, with batch norm (per rank), label flips (drawn per rank) and a
/// weight average: the ranks still end bit-identical and log the same averaged losses.
#[test]
fn a_conditional_gan_on_two_ranks_stays_identical() {
    let out = scratch("conditional");
    let run = workers(&out, "conditional")
        .output()
        .expect("mpirun (Open MPI) on the PATH");
    assert!(
        run.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let (l0, l1) = (
        read_f32(&out.join("losses0")),
        read_f32(&out.join("losses1")),
    );
    assert_eq!(l0.len(), 3);
    assert_eq!(l0, l1);
}

fn alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[test]
fn a_killed_rank_ends_the_other_within_seconds() {
    let out = scratch("kill");
    let mut run = workers(&out, "endless")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mpirun (Open MPI) on the PATH");
    let started = Instant::now();
    let pids = loop {
        let read = |r: usize| std::fs::read_to_string(out.join(format!("pid{r}"))).ok();
        if let (Some(a), Some(b)) = (read(0), read(1)) {
            break [a, b];
        }
        if started.elapsed() > Duration::from_secs(300) || run.try_wait().unwrap().is_some() {
            let _ = run.kill();
            panic!("the ranks did not both start training");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let killed = Instant::now();
    Command::new("kill")
        .args(["-9", &pids[1]])
        .status()
        .unwrap();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if killed.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            let _ = Command::new("kill").args(["-9", &pids[0]]).status();
            panic!("rank 0 still runs 60 s after rank 1 was killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = killed.elapsed();
    eprintln!("mpirun ended {took:?} after rank 1 was killed");
    assert!(!status.success());
    // mpirun has signalled rank 0; give the kernel a moment to reap it.
    let ended = Instant::now();
    while alive(&pids[0]) && ended.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(&pids[0]), "rank 0 outlived mpirun by 10 s");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --release --features distributed --example {name}`",
        bin.display()
    );
    bin
}

#[test]
fn dcgan_mnist_on_two_ranks_ends_with_identical_parameters() {
    let out = scratch("dcgan");
    let run = mpirun()
        .args(["-np", "2"])
        .arg(example("dcgan_mnist"))
        .args(["--distributed", "--steps", "3", "--batch", "8", "--no-eval"])
        .args(["--sample-every", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("2 ranks, 4 samples each"), "{stdout}");
    assert!(
        stdout.contains("2 ranks hold identical parameters"),
        "{stdout}"
    );
    // Rank 0 alone writes: one checkpoint, one CSV of 3 steps.
    assert!(out.join("checkpoint.safetensors").exists());
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

#[test]
fn a_rank_that_fails_names_itself_and_ends_the_run() {
    let out = scratch("fail");
    let args = ["--distributed", "--steps", "3", "--batch", "8", "--no-eval"];
    // Rank 1 asks for an adapter that does not exist; rank 0 would wait for it forever.
    let run = mpirun()
        .args(["-np", "1"])
        .arg(example("dcgan_mnist"))
        .args(args)
        .arg("--out")
        .arg(&out)
        .args([":", "-np", "1", "-x", "COUNTERFEIT_ADAPTER=no such adapter"])
        .arg(example("dcgan_mnist"))
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("error on rank 1 of 2: no GPU adapter found"),
        "{stderr}"
    );
    assert!(!out.join("checkpoint.safetensors").exists());
}

/// SIGUSR1 to `mpirun` (which passes it on) stops every rank at the same step after rank 0
/// has saved, and `--resume` continues on both ranks from there.
#[test]
fn a_stopped_dcgan_mnist_run_resumes_on_two_ranks() {
    let out = scratch("stop");
    let log = out.join("log");
    let args = [
        "--distributed",
        "--batch",
        "8",
        "--no-eval",
        "--sample-every",
        "0",
    ];
    let mut run = mpirun()
        .args(["-np", "2"])
        .arg(example("dcgan_mnist"))
        .args(args)
        .args(["--steps", "100000", "--out"])
        .arg(&out)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("2 ranks, 4 samples each")
    {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no first step"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(3));
    Command::new("kill")
        .args(["-USR1", &run.id().to_string()])
        .status()
        .unwrap();
    let status = run.wait().unwrap();
    let said = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(130), "{said}");
    let at: u64 = said
        .split("stopped at step ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no stop reported: {said}"));
    let ckpt = out.join("checkpoint.safetensors");
    let resumed = mpirun()
        .args(["-np", "2"])
        .arg(example("dcgan_mnist"))
        .args(args)
        .args(["--steps", &(at + 2).to_string(), "--out"])
        .arg(&out)
        .arg("--resume")
        .arg(&ckpt)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{said}");
    assert!(
        said.contains(&format!("resumed from {} at step {at}", ckpt.display())),
        "{said}"
    );
    assert!(said.contains("2 ranks hold identical parameters"), "{said}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, at + 3, "{csv}");
}

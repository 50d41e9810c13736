//! The front door as a user meets it: `dcgan_mnist` run as a child process. Ctrl-C saves a
//! checkpoint that resumes bit-exactly; a second Ctrl-C stops at once; a fresh run refuses a
//! folder holding another run; a resumed run refuses other settings; mistakes are refused by
//! flag name before the GPU is even opened (the order of events, not a wall time).
//!
//! The example binary is the one `cargo test` builds beside the test binaries.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("counterfeit-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A short dcgan28 run's flags: batch 8, no quality measurement, no periodic grids.
fn dcgan(out: &Path, steps: usize) -> Command {
    dcgan_batch(out, steps, 8)
}

fn dcgan_batch(out: &Path, steps: usize, batch: usize) -> Command {
    let mut c = Command::new(common::example("dcgan_mnist"));
    c.args(["--no-eval", "--sample-every", "0", "--batch"])
        .arg(batch.to_string())
        .arg("--steps")
        .arg(steps.to_string())
        .arg("--out")
        .arg(out);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A running example whose output is collected as it comes (a full or closed pipe would
/// stall or kill it).
struct Running {
    child: Child,
    output: std::thread::JoinHandle<String>,
}

impl Running {
    /// The exit code and everything the run printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait for the example");
        (status.code(), self.output.join().expect("output reader"))
    }
}

/// Starts `cmd` and waits until it has finished its first training step.
fn started(mut cmd: Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the example");
    let (first, first_seen) = std::sync::mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let errors = std::thread::spawn(move || {
        stderr
            .lines()
            .map_while(|l| l.ok())
            .collect::<Vec<_>>()
            .join("\n")
    });
    let output = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in stdout.lines().map_while(|l| l.ok()) {
            if line.contains("first step after") {
                let _ = first.send(());
            }
            lines.push(line);
        }
        format!(
            "{}\n{}",
            lines.join("\n"),
            errors.join().unwrap_or_default()
        )
    });
    let running = Running { child, output };
    if first_seen.recv_timeout(Duration::from_secs(120)).is_err() {
        let (code, said) = running.finish();
        panic!("the run ended ({code:?}) before its first step: {said}");
    }
    running
}

fn signal(run: &Running, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &run.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// Rewrites the checkpoint without the note of `flag`, as a run from before it was recorded.
fn drop_note(ckpt: &Path, flag: &str) {
    use safetensors::SafeTensors;
    let bytes = std::fs::read(ckpt).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut notes = header.metadata().clone().unwrap();
    assert!(
        notes.remove(&format!("note.{flag}")).is_some(),
        "{flag} was recorded"
    );
    let tensors = SafeTensors::deserialize(&bytes).unwrap().tensors();
    std::fs::write(ckpt, safetensors::serialize(tensors, Some(notes)).unwrap()).unwrap();
}

fn step_of(ckpt: &Path) -> usize {
    let c = counterfeit::io::checkpoint::Checkpoint::open(ckpt).unwrap();
    c.state()
        .unwrap()
        .expect("a training checkpoint")
        .iterations as usize
}

#[test]
fn ctrl_c_saves_a_checkpoint_that_resumes_bit_exactly() {
    let stopped = scratch("stopped");
    let run = started(dcgan(&stopped, 10_000));
    std::thread::sleep(Duration::from_millis(1500));
    signal(&run, "-INT");
    let (code, said) = run.finish();
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("continue with --resume"), "{said}");
    let ckpt = stopped.join("checkpoint.safetensors");
    let at = step_of(&ckpt);
    assert!(at >= 1);
    for f in ["metrics.csv", "losses.png"] {
        assert!(stopped.join(f).exists(), "{f} not written on the way out");
    }

    // The stopped run continued to step at + 3 equals a run that never stopped.
    let target = at + 3;
    let resumed = dcgan(&stopped, target)
        .arg("--resume")
        .arg(&ckpt)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    let straight_dir = scratch("straight");
    let straight = dcgan(&straight_dir, target).output().unwrap();
    assert!(straight.status.success(), "{}", text(&straight));
    let csv = |d: &Path| std::fs::read_to_string(d.join("metrics.csv")).unwrap();
    assert_eq!(csv(&stopped).lines().count(), target + 1);
    assert_eq!(csv(&stopped), csv(&straight_dir), "the resumed run differs");

    // A second Ctrl-C does not wait for the save.
    let again = scratch("again");
    let run = started(dcgan(&again, 10_000));
    signal(&run, "-INT");
    std::thread::sleep(Duration::from_millis(20));
    signal(&run, "-INT");
    let (code, said) = run.finish();
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("stopped at once"), "{said}");
    for d in [stopped, straight_dir, again] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn folders_settings_and_flags_are_checked_before_the_gpu_is_opened() {
    let dir = scratch("checks");
    let ran = dcgan(&dir, 2).output().unwrap();
    assert!(ran.status.success(), "{}", text(&ran));
    assert!(
        text(&ran).contains("(r1)"),
        "r1 is the default: {}",
        text(&ran)
    );
    let ckpt = dir.join("checkpoint.safetensors");
    let refused = |cmd: &mut Command, needles: &[&str]| {
        let out = cmd.output().unwrap();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        for n in needles {
            assert!(said.contains(n), "{n:?} not in {said}");
        }
        assert!(
            !said.contains("adapter:"),
            "the GPU was opened first: {said}"
        );
    };
    // Several ranks need the MPI build.
    #[cfg(not(feature = "distributed"))]
    refused(
        dcgan(&scratch("no-mpi"), 4).arg("--distributed"),
        &["--distributed", "--features distributed", "mpirun"],
    );
    // A fresh run into a folder that holds a run.
    refused(
        &mut dcgan(&dir, 4),
        &["already holds a run", "--resume", "--overwrite"],
    );
    // Resuming with other settings, or already at the asked step.
    refused(
        dcgan_batch(&dir, 4, 16).arg("--resume").arg(&ckpt),
        &["--batch 8", "--batch 16"],
    );
    refused(
        dcgan(&dir, 2).arg("--resume").arg(&ckpt),
        &["already at step 2"],
    );
    // Files that are not what the flag needs.
    refused(
        dcgan(&scratch("x"), 4)
            .arg("--resume")
            .arg(dir.join("losses.png")),
        &["--resume", "losses.png"],
    );
    refused(
        dcgan(&scratch("y"), 4)
            .arg("--resume")
            .arg(dir.join("nothing.safetensors")),
        &["--resume", "nothing.safetensors"],
    );
    refused(
        &mut dcgan(&dir.join("metrics.csv"), 4),
        &["--out", "not a folder"],
    );
    // Values out of range, named as typed.
    for (flag, value) in [
        ("--eval-n", "0"),
        ("--lr", "nan"),
        ("--real-label", "5"),
        ("--label-flip", "2"),
        ("--g-ema", "1"),
        ("--recipe", "wgan"),
        ("--gp-lambda", "0"),
        ("--r1-every", "0"),
    ] {
        refused(dcgan(&scratch("z"), 4).args([flag, value]), &[flag]);
    }
    // A run from before --recipe existed was a dcgan run: it resumes as one, and only so.
    let old = scratch("before-recipes");
    let ran = dcgan(&old, 2).args(["--recipe", "dcgan"]).output().unwrap();
    assert!(ran.status.success(), "{}", text(&ran));
    let old_ckpt = old.join("checkpoint.safetensors");
    drop_note(&old_ckpt, "--recipe");
    refused(
        dcgan(&old, 3).arg("--resume").arg(&old_ckpt),
        &["--recipe dcgan", "--recipe r1"],
    );
    let resumed = dcgan(&old, 3)
        .args(["--recipe", "dcgan", "--resume"])
        .arg(&old_ckpt)
        .output()
        .unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));
    std::fs::remove_dir_all(&old).ok();
    // A recipe chooses its own loss (the default's too).
    refused(
        dcgan(&scratch("v"), 4).args(["--loss", "hinge"]),
        &["--recipe r1 (r1 is the default)", "--recipe dcgan"],
    );
    refused(
        dcgan(&scratch("w"), 4).args(["--recipe", "sngan", "--loss", "lsgan"]),
        &["--recipe sngan", "--loss"],
    );
    // A mistyped flag gets a suggestion.
    let out = Command::new(common::example("dcgan_mnist"))
        .args(["--step", "3"])
        .output()
        .unwrap();
    assert!(text(&out).contains("--steps"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).ok();
}

/// Every recipe trains a few steps; the penalised ones log their penalty in the CSV, and a
/// stopped sngan run (spectral norm's kept vectors in its checkpoint) resumes bit for bit.
#[test]
fn every_recipe_trains_and_the_penalties_are_logged() {
    for recipe in ["dcgan", "sngan", "wgan-gp", "r1"] {
        let dir = scratch(recipe);
        let ran = dcgan_batch(&dir, 2, 4)
            .args(["--recipe", recipe])
            .output()
            .unwrap();
        let said = text(&ran);
        assert!(ran.status.success(), "{said}");
        assert!(said.contains(&format!("({recipe})")), "{said}");
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        let last = csv
            .lines()
            .last()
            .unwrap()
            .rsplit(',')
            .take(2)
            .collect::<Vec<_>>();
        let logged = last.iter().any(|v| v.parse::<f32>().unwrap() != 0.0);
        assert_eq!(
            logged,
            ["wgan-gp", "r1"].contains(&recipe),
            "{recipe}: {csv}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
    // The conditional GAN takes them all (WGAN-GP mixes images under the real label).
    for recipe in ["sngan", "wgan-gp", "r1"] {
        let dir = scratch(&format!("cgan-{recipe}"));
        let ran = Command::new(common::example("cgan_mnist"))
            .args([
                "--no-eval",
                "--sample-every",
                "0",
                "--batch",
                "4",
                "--steps",
                "2",
            ])
            .args(["--recipe", recipe, "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(ran.status.success(), "cgan {recipe}: {}", text(&ran));
        std::fs::remove_dir_all(&dir).ok();
    }
    let refused = Command::new(common::example("cgan_mnist"))
        .args(["--recipe", "wgan", "--out"])
        .arg(scratch("cgan-gp"))
        .output()
        .unwrap();
    assert!(
        text(&refused).contains("dcgan, sngan, wgan-gp or r1"),
        "{}",
        text(&refused)
    );
    let (stopped, straight) = (scratch("sn-stopped"), scratch("sn-straight"));
    let sn = |d: &Path, steps| {
        let mut c = dcgan_batch(d, steps, 4);
        c.args(["--recipe", "sngan"]);
        c
    };
    assert!(sn(&stopped, 2).status().unwrap().success());
    let ckpt = stopped.join("checkpoint.safetensors");
    assert!(sn(&stopped, 4)
        .arg("--resume")
        .arg(&ckpt)
        .status()
        .unwrap()
        .success());
    assert!(sn(&straight, 4).status().unwrap().success());
    let csv = |d: &Path| std::fs::read_to_string(d.join("metrics.csv")).unwrap();
    assert_eq!(
        csv(&stopped),
        csv(&straight),
        "the resumed sngan run differs"
    );
    for d in [stopped, straight] {
        std::fs::remove_dir_all(&d).ok();
    }
}

/// A tiny progressive run's flags: 2 steps per stage and per fade-in (10 in all), narrow
/// networks, batch 4, no quality measurement.
fn progan(out: &Path, fade: u64) -> Command {
    let mut c = Command::new(common::example("progan_mnist"));
    c.args(["--fade-steps", &fade.to_string()]);
    c.args([
        "--no-eval",
        "--sample-every",
        "0",
        "--stage-steps",
        "2",
        "--final-steps",
        "2",
        "--channels",
        "4,3,2",
        "--batch",
        "4",
        "--out",
    ])
    .arg(out);
    c
}

#[test]
fn progan_grows_writes_every_stage_and_samples_its_checkpoint() {
    let out = scratch("progan");
    let o = progan(&out, 2).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "stage_7px.png",
        "stage_14px.png",
        "stage_28px.png",
        "samples_final.png",
        "losses.png",
        "metrics.csv",
        "checkpoint.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing: {}", text(&o));
    }
    // Every stage's grid is the same size: the small ones are up-sampled to 28×28.
    let dims = |f: &str| image::image_dimensions(out.join(f)).unwrap();
    assert_eq!(dims("stage_7px.png"), dims("stage_28px.png"));
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 10, "a row per step");
    let ckpt = out.join("checkpoint.safetensors");
    assert_eq!(step_of(&ckpt), 10);

    // The grown generator samples; another schedule cannot continue the run.
    let mut sample = progan(&out, 2);
    sample.arg("--sample").arg(&ckpt);
    let o = sample.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.join("sampled.png").exists());
    let mut other = progan(&out, 3);
    other.args(["--steps", "20", "--resume"]).arg(&ckpt);
    let o = other.output().unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("--fade-steps"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn progan_trains_with_the_papers_wgan_gp() {
    let out = scratch("progan_wgan_gp");
    let o = progan(&out, 2)
        .args(["--loss", "wgan-gp"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "d_penalty").unwrap();
    for row in csv.lines().skip(1) {
        let penalty: f32 = row.split(',').nth(at).unwrap().parse().unwrap();
        assert!(penalty > 0.0, "every step logs its penalty: {row}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

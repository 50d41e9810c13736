//! The examples' progress arithmetic: the time left over a window of recent steps, the
//! durations it is shown in, and how often a plain progress line is printed.

#[path = "../examples/common/pace.rs"]
mod pace;

use pace::{duration, Cadence, Pace};

#[test]
fn durations_read_as_seconds_minutes_or_hours() {
    assert_eq!(duration(0.2), "0 s");
    assert_eq!(duration(44.6), "45 s");
    assert_eq!(duration(59.4), "59 s");
    assert_eq!(duration(59.6), "1 min 0 s");
    assert_eq!(duration(250.0), "4 min 10 s");
    assert_eq!(duration(599.0), "9 min 59 s");
    assert_eq!(duration(1500.0), "25 min");
    assert_eq!(duration(1529.0), "25 min");
    assert_eq!(duration(1531.0), "26 min");
    assert_eq!(duration(3599.0), "1 h 00 min");
    assert_eq!(duration(7500.0), "2 h 05 min");
    assert_eq!(duration(-3.0), "0 s");
}

#[test]
fn the_time_left_is_steady_while_steps_jitter() {
    // Steps alternate between 0.5 s and 1.5 s: 1 s a step on average.
    let mut pace = Pace::new(0);
    let mut t = 0.0;
    let mut estimates = Vec::new();
    for step in 1..=100u64 {
        t += if step % 2 == 0 { 0.5 } else { 1.5 };
        pace.record(step, t);
        if step < 3 {
            assert_eq!(pace.seconds_left(1000), None, "too few steps at {step}");
        } else if step >= 30 {
            estimates.push(pace.seconds_left(1000).unwrap());
        }
    }
    // A per-step estimate would swing between 0.5 and 1.5 s × the steps left; over the
    // window it stays within a few percent of the true 1 s a step.
    for (i, e) in estimates.iter().enumerate() {
        let want = (1000 - 30 - i) as f32;
        assert!(
            (e / want - 1.0).abs() < 0.06,
            "{e} s left where {want} s is true"
        );
    }
    // Counting down: each estimate at most a little above the one before.
    assert!(estimates.windows(2).all(|w| w[1] <= w[0] + 2.0));
}

#[test]
fn a_resumed_run_counts_only_its_own_steps() {
    // Resumed at step 2000 of 3000; this process runs 2 s a step.
    let mut pace = Pace::new(2000);
    for i in 1..=10u64 {
        pace.record(2000 + i, 2.0 * i as f32);
    }
    let left = pace.seconds_left(3000).unwrap();
    assert!((left - 2.0 * 990.0).abs() < 1.0, "{left}");
    assert!((pace.seconds_per_step().unwrap() - 2.0).abs() < 1e-4);
}

#[test]
fn the_window_follows_a_change_of_speed() {
    let mut pace = Pace::new(0);
    let mut t = 0.0;
    for step in 1..=200u64 {
        t += if step <= 100 { 0.1 } else { 1.0 };
        pace.record(step, t);
    }
    // 100 slow steps (100 s) ago the speed changed; the window has forgotten the fast ones.
    assert!((pace.seconds_per_step().unwrap() - 1.0).abs() < 0.05);
}

#[test]
fn plain_lines_every_twentieth_of_the_run_or_every_half_minute() {
    // 3000 steps from 0: a line every 150 steps when steps are fast …
    let mut c = Cadence::new(0, 3000, 30.0);
    let due: Vec<u64> = (1..=600).filter(|&s| c.due(s, s as f32 * 0.01)).collect();
    assert_eq!(due, [150, 300, 450, 600]);
    // … and every 30 s when they are slow (2 s a step: every 15 steps).
    let mut c = Cadence::new(0, 3000, 30.0);
    let due: Vec<u64> = (1..=60).filter(|&s| c.due(s, s as f32 * 2.0)).collect();
    assert_eq!(due, [15, 30, 45, 60]);
    // A resumed run counts from where it starts; a short one prints every step.
    let mut c = Cadence::new(2900, 3000, 30.0);
    assert!(!c.due(2904, 1.0) && c.due(2905, 1.1));
    let mut c = Cadence::new(0, 10, 30.0);
    assert!(c.due(1, 0.1) && c.due(2, 0.2));
    // Time passing without a step prints nothing new.
    let mut c = Cadence::new(0, 3000, 30.0);
    assert!(c.due(1, 31.0) && !c.due(1, 100.0));
}

// The examples use the clock; this test needs only its arithmetic.
#[allow(dead_code)]
#[path = "../examples/common/timeline.rs"]
mod timeline;

#[test]
fn the_timeline_splits_a_run_by_what_it_did() {
    use std::time::Duration;
    let s = |secs: u64| Duration::from_secs(secs);
    assert_eq!(
        timeline::split(s(200), s(10), s(20), s(2)),
        "time 3 min 20 s: start-up and first step 10 s (5 %), steps 2 min 48 s (84 %), \
         measurements 20 s (10 %), writing 2 s (1 %)"
    );
    // Parts never add up to more than the whole: the steps take what is left, or nothing.
    assert!(timeline::split(s(5), s(4), s(3), s(0)).contains("steps 0 s (0 %)"));
}

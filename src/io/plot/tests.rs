use super::font::glyph;
use super::ticks::{format_tick, nice_ticks, Ticks};
use super::*;

const RED: [u8; 3] = [220, 40, 40];
const BLUE: [u8; 3] = [30, 90, 200];

fn count(img: &RgbImage, c: [u8; 3]) -> usize {
    img.pixels().filter(|p| p.0 == c).count()
}

#[test]
fn two_series_plot_to_png() {
    let dir = std::env::temp_dir().join(format!("counterfeit-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("losses.png");
    let xs: Vec<f32> = (0..200).map(|i| i as f32 * 10.0).collect();
    let d: Vec<f32> = xs.iter().map(|x| 1.4 - x / 3000.0).collect();
    let mut g: Vec<f32> = xs.iter().map(|x| 0.7 + (x / 200.0).sin() * 0.3).collect();
    g[50] = f32::NAN;
    g[51] = f32::INFINITY;
    let series = [
        Series {
            name: "D loss",
            values: &d,
            color: RED,
        },
        Series {
            name: "G loss",
            values: &g,
            color: BLUE,
        },
    ];
    save_line_plot(&path, "Losses (step)", "step", &series, &xs).unwrap();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    assert!(!Path::new(&tmp).exists());

    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (DEFAULT_WIDTH, DEFAULT_HEIGHT));
    // Far more than the 100 pixels of each legend square: the curves are drawn.
    assert!(count(&img, RED) > 500, "red pixels: {}", count(&img, RED));
    assert!(
        count(&img, BLUE) > 500,
        "blue pixels: {}",
        count(&img, BLUE)
    );
    // Title and tick labels put dark text pixels outside the plot area.
    let text_above = (0..DEFAULT_WIDTH)
        .flat_map(|x| (0..MARGIN_TOP as u32).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 == TEXT.0)
        .count();
    assert!(text_above > 50);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn degenerate_inputs_still_plot() {
    let xs = [1.0];
    let nan = [f32::NAN];
    let one = [3.0];
    let series = [
        Series {
            name: "nan",
            values: &nan,
            color: RED,
        },
        Series {
            name: "one point",
            values: &one,
            color: BLUE,
        },
    ];
    let img = line_plot("t", "x", &series, &xs, 320, 200).unwrap();
    assert!(count(&img, BLUE) > 100);
    assert!(line_plot("t", "x", &[], &[], 320, 200).is_ok());
    let short = [1.0, 2.0];
    let bad = [Series {
        name: "short",
        values: &short,
        color: RED,
    }];
    match line_plot("t", "x", &bad, &[0.0, 1.0, 2.0], 320, 200) {
        Err(Error::Shape { detail, .. }) => assert!(detail.contains("2 values"), "{detail}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn tick_labels() {
    assert_eq!(format_tick(0.61234, 0.0001), "0.6123");
    assert_eq!(format_tick(2500.0, 2500.0), "2500");
    assert_eq!(format_tick(1.5, 0.25), "1.5");
    assert_eq!(format_tick(1.25, 0.25), "1.25");
    assert_eq!(format_tick(1.5, 0.5), "1.5");
    assert_eq!(format_tick(0.30000000000000004, 0.1), "0.3");
    assert_eq!(format_tick(3.0, 1.0), "3");
    assert_eq!(format_tick(-1e-12, 0.5), "0");
    assert_eq!(format_tick(2.5e7, 5e6), "2.5E7");
    assert_eq!(format_tick(2e7, 1e7), "2E7");
    assert_eq!(glyph('a'), glyph('A'));
}

/// The labels an axis from `lo` to `hi` gets with at most `max` intervals.
fn labels(lo: f64, hi: f64, max: usize, whole: bool) -> Vec<String> {
    let t = nice_ticks(lo, hi, max, whole);
    t.values().iter().map(|&v| format_tick(v, t.step)).collect()
}

#[test]
fn ticks_are_round_steps_that_cover_the_data() {
    // Losses from 0.1 to 4.7: whole numbers from 0 to 5, not −0.2, 1.2, 2.5 ….
    assert_eq!(labels(0.1, 4.7, 6, false), ["0", "1", "2", "3", "4", "5"]);
    // Fewer intervals allowed: the step grows to 2.
    assert_eq!(labels(0.1, 4.7, 3, false), ["0", "2", "4", "6"]);
    assert_eq!(labels(0.0, 1.0, 2, false), ["0", "0.5", "1"]);
    assert_eq!(
        labels(0.0, 1.0, 5, false),
        ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    );
    assert_eq!(labels(-0.03, 0.07, 5, false), ["-0.05", "0", "0.05", "0.1"]);
    assert_eq!(
        labels(1.0, 3000.0, 9, true),
        ["0", "500", "1000", "1500", "2000", "2500", "3000"]
    );
    // Steps 1 to 4 of a short run: no half steps.
    assert_eq!(labels(1.0, 4.0, 9, true), ["1", "2", "3", "4"]);
    for (lo, hi, max) in [
        (0.37, 0.41, 4),
        (-7.0, 130.0, 8),
        (1e-3, 2e-3, 3),
        (5.0, 5.0, 4),
    ] {
        let t = nice_ticks(lo, hi, max, false);
        let mantissa = t.step / 10f64.powf(t.step.log10().floor());
        assert!(
            [1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9),
            "step {} of {lo}..{hi}",
            t.step
        );
        assert!(t.first <= lo && t.last >= hi, "{t:?} covers {lo}..{hi}");
        let n = ((t.last - t.first) / t.step).round() as usize;
        assert!(
            (1..=max).contains(&n),
            "{n} intervals for {lo}..{hi} (at most {max})"
        );
        assert_eq!(t.values().len(), n + 1);
    }
    // No data at all: an axis from 0 to 1.
    let empty = nice_ticks(f64::INFINITY, f64::NEG_INFINITY, 4, false);
    assert_eq!((empty.first, empty.last), (0.0, 1.0));
    // A fixed range that ends between ticks shows only the ticks inside it.
    let fixed = Ticks {
        first: 0.1,
        last: 0.95,
        step: 0.2,
    };
    assert_eq!(fixed.values().len(), 4, "{:?}", fixed.values());
}

#[test]
fn a_fixed_y_range_and_a_text_panel() {
    let xs = [1.0, 2.0, 3.0];
    let p = [0.2, 0.5, 1.0];
    let series = [Series {
        name: "p",
        values: &p,
        color: RED,
    }];
    let img = line_plot_in("t", "x", &series, &xs, YRange::Fixed(0.0, 1.0), 400, 200).unwrap();
    assert_eq!(img.dimensions(), (400, 200));
    // The curve reaches the top of the plot area at 1.0 (the first row, give or take the
    // line's width), which a data range would have widened past.
    let top_rows = (0..400)
        .flat_map(|x| (MARGIN_TOP as u32..MARGIN_TOP as u32 + 2).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 == RED)
        .count();
    assert!(top_rows > 0, "the curve touches 1.0 at the top");
    assert!(line_plot_in("t", "x", &series, &xs, YRange::Fixed(1.0, 1.0), 400, 200).is_err());

    let panel = text_panel("FID", "42.5", "at step 2", 400, 240).unwrap();
    assert_eq!(panel.dimensions(), (400, 240));
    let dark = panel.pixels().filter(|p| p.0 == TEXT.0).count();
    // Glyphs at 4x and 2x: hundreds of text pixels.
    assert!(dark > 500, "{dark} text pixels");
    assert!(text_panel("t", "1", "", 100, 100).is_err());
}

#[test]
fn marks_cross_the_plot_where_asked_and_only_inside_it() {
    let xs: Vec<f32> = (0..=100).map(|i| i as f32 * 10.0).collect();
    let v: Vec<f32> = xs.iter().map(|x| x / 1000.0).collect();
    let series = [Series {
        name: "D loss",
        values: &v,
        color: RED,
    }];
    let plot = |marks: &[Mark]| {
        line_plot_marked("t", "step", &series, &xs, YRange::Data, marks, 400, 300).unwrap()
    };
    let plain = count(&plot(&[]), MARK.0);
    let inside = [Mark {
        x: 500.0,
        label: "14x14",
    }];
    let marked = plot(&inside);
    assert!(
        count(&marked, MARK.0) > plain + 20,
        "a dashed line and its label"
    );
    // Outside the axis nothing is drawn.
    let outside = [Mark {
        x: 5000.0,
        label: "late",
    }];
    assert_eq!(count(&plot(&outside), MARK.0), plain);
}

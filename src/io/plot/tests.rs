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
    assert_eq!(format_tick(0.61234, 0.0001), "0.61234");
    assert_eq!(format_tick(2500.0, 2500.0), "2500");
    assert_eq!(format_tick(1.5, 0.25), "1.50");
    assert_eq!(format_tick(-1e-12, 0.5), "0");
    assert_eq!(format_tick(2.5e7, 1e7), "2.50E7");
    assert_eq!(glyph('a'), glyph('A'));
}

//! SPC on a whole outcomes framework: 1,000 indicators × 10 areas × 120 months, that is
//! 10,000 series of 120 points, one thread. Target: under 100 ms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use spc::{Direction, Options, Rules, xmr};

const SERIES: usize = 1_000 * 10;
const MONTHS: usize = 120;

/// Deterministic data: a noisy level per series, some with a step change and some with a
/// drift, so every rule has work to do. A small LCG keeps the bench free of extra crates.
fn data() -> Vec<Vec<f64>> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..SERIES)
        .map(|s| {
            let level = 50.0 + 100.0 * uniform();
            (0..MONTHS)
                .map(|m| {
                    let step = if s % 3 == 0 && m >= 80 { 15.0 } else { 0.0 };
                    let drift = if s % 5 == 0 { 0.2 * m as f64 } else { 0.0 };
                    level + step + drift + 20.0 * (uniform() - 0.5)
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = data();
    let directions = [Direction::Higher, Direction::Lower, Direction::Neither];
    let mut group = c.benchmark_group("xmr");
    group.sample_size(20);
    for (name, rules, recalculate_at) in [
        ("mdc_10000x120", Rules::Mdc, vec![]),
        ("nhsr_10000x120", Rules::Nhsr, vec![]),
        ("mdc_recalculated_10000x120", Rules::Mdc, vec![60]),
    ] {
        let options: Vec<Options> = directions
            .iter()
            .map(|&direction| Options {
                rules,
                direction,
                target: Some(100.0),
                recalculate_at: recalculate_at.clone(),
                ..Options::default()
            })
            .collect();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut blue = 0usize;
                for (i, series) in data.iter().enumerate() {
                    let chart = xmr(black_box(series), &options[i % 3]);
                    blue += chart
                        .points
                        .iter()
                        .filter(|p| p.colour == spc::Colour::Blue)
                        .count();
                    black_box(chart.assurance_icon());
                }
                blue
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

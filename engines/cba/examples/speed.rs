//! How fast the engine appraises: 10,000 models of 60 years and 50 lines (25 costs, 25
//! benefits, on the Green Book schedule), on one core; and 10,000 Monte Carlo draws of the
//! 2021 business case with its deadweight, attribution and volumes uncertain.
//!
//!     cargo run --release -p earlyhelp-cba --example speed

use earlyhelp_cba::{Benefit, Cost, Input, Kind, Model, Range, appraise, monte_carlo, parse};
use std::time::Instant;

fn model(n: usize) -> Model {
    let years = 60;
    let costs = (0..25)
        .map(|i| Cost {
            name: format!("cost {i}"),
            agency: format!("agency {}", i % 6),
            values: (0..years).map(|t| 1000.0 + (n + i + t) as f64).collect(),
            optimism_bias: 0.1,
        })
        .collect();
    let benefits = (0..25)
        .map(|i| Benefit {
            name: format!("benefit {i}"),
            agency: format!("agency {}", i % 7),
            kind: [Kind::Fiscal, Kind::Economic, Kind::Social][i % 3],
            cashable: i % 2 == 0,
            unit_value: 843.0,
            unit_value_year: 2021,
            volumes: (0..years).map(|t| ((n + t) % 50) as f64).collect(),
            deadweight: 0.2,
            attribution: 0.8,
            optimism_bias: 0.15,
            drop_off: 0.05,
        })
        .collect();
    Model {
        name: format!("model {n}"),
        price_year: 2024,
        first_year: 2025,
        years,
        discount_rate: None,
        costs,
        benefits,
    }
}

fn main() {
    let models: Vec<Model> = (0..10_000).map(model).collect();
    let started = Instant::now();
    let mut npv = 0.0;
    for m in &models {
        npv += appraise(m).npv;
    }
    let elapsed = started.elapsed();
    println!(
        "appraised {} models of 60 years and 50 lines in {:.3} s on one core ({:.1} µs each; checksum {npv:.0})",
        models.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / models.len() as f64
    );
    monte_carlo_speed();
}

/// 10,000 draws of the business case, every benefit line's deadweight (0–35%), attribution
/// (50–100%) and volume (80–120%) drawn at once.
fn monte_carlo_speed() {
    let model = parse(include_str!("business_case_2021.toml")).expect("the example model");
    let ranges: Vec<Range> = (0..model.benefits.len())
        .flat_map(|benefit| {
            [
                (Input::Deadweight, 0.0, 0.35),
                (Input::Attribution, 0.5, 1.0),
                (Input::Volume, 0.8, 1.2),
            ]
            .map(|(input, low, high)| Range {
                benefit,
                input,
                low,
                high,
            })
        })
        .collect();
    let started = Instant::now();
    let chances = monte_carlo(&model, &ranges, 10_000, 2026);
    let elapsed = started.elapsed();
    println!(
        "10,000 Monte Carlo draws of the business case ({} uncertain inputs) in {:.3} s on one core; chance BCR > 1: {:.1}%",
        ranges.len(),
        elapsed.as_secs_f64(),
        chances.bcr_above_one * 100.0
    );
}

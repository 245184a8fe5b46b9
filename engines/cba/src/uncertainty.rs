//! How sure the answer is: each uncertain input at its low and its high (a tornado), and a
//! seeded Monte Carlo over the same ranges giving the chance each partner gets back more than
//! it spends.

use crate::{Model, appraise};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// An input of one benefit line that is not known exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    Deadweight,
    Attribution,
    OptimismBias,
    DropOff,
    /// A multiplier on every year's volume (1 = as modelled).
    Volume,
}

impl Input {
    pub fn label(self) -> &'static str {
        match self {
            Input::Deadweight => "deadweight",
            Input::Attribution => "attribution",
            Input::OptimismBias => "optimism bias",
            Input::DropOff => "drop-off",
            Input::Volume => "volume (multiplier)",
        }
    }
}

/// The low and high of one input of the benefit at `benefit` (its index in the model).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub benefit: usize,
    pub input: Input,
    pub low: f64,
    pub high: f64,
}

/// Sets one input of one benefit to `value` (a volume multiplier scales the volumes).
pub fn set_input(model: &mut Model, benefit: usize, input: Input, value: f64) {
    if let Some(line) = model.benefits.get_mut(benefit) {
        match input {
            Input::Deadweight => line.deadweight = value,
            Input::Attribution => line.attribution = value,
            Input::OptimismBias => line.optimism_bias = value,
            Input::DropOff => line.drop_off = value,
            Input::Volume => line.volumes.iter_mut().for_each(|v| *v *= value),
        }
    }
}

/// The model with one input of one benefit set to `value`.
pub fn with_input(model: &Model, benefit: usize, input: Input, value: f64) -> Model {
    let mut changed = model.clone();
    set_input(&mut changed, benefit, input, value);
    changed
}

/// One bar of the tornado: the net present value with the input at its low and at its high.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swing {
    pub range: Range,
    pub npv_at_low: f64,
    pub npv_at_high: f64,
}

impl Swing {
    pub fn width(&self) -> f64 {
        (self.npv_at_high - self.npv_at_low).abs()
    }
}

/// Each range on its own, the rest as modelled; widest swing first.
pub fn tornado(model: &Model, ranges: &[Range]) -> Vec<Swing> {
    let npv = |value: f64, r: &Range| appraise(&with_input(model, r.benefit, r.input, value)).npv;
    let mut swings: Vec<Swing> = ranges
        .iter()
        .map(|r| Swing {
            range: *r,
            npv_at_low: npv(r.low, r),
            npv_at_high: npv(r.high, r),
        })
        .collect();
    swings.sort_by(|a, b| b.width().total_cmp(&a.width()));
    swings
}

/// What the Monte Carlo found: the share of draws in which benefits exceeded costs overall
/// and, for each partner bearing a cost, in which its fiscal return was above 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chances {
    pub draws: usize,
    pub bcr_above_one: f64,
    /// (agency, share of draws with fiscal ROI above 1), agencies in the appraisal's order.
    pub by_agency: Vec<(String, f64)>,
}

/// `draws` appraisals with every range drawn uniformly between its low and high at once,
/// from `seed`: the same seed gives the same answer.
pub fn monte_carlo(model: &Model, ranges: &[Range], draws: usize, seed: u64) -> Chances {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let agencies: Vec<String> = appraise(model)
        .by_agency
        .into_iter()
        .filter(|a| a.pv_costs > 0.0)
        .map(|a| a.agency)
        .collect();
    let mut above = vec![0usize; agencies.len()];
    let mut overall = 0usize;
    for _ in 0..draws {
        let mut drawn = model.clone();
        for r in ranges {
            let value = if r.high > r.low {
                rng.random_range(r.low..=r.high)
            } else {
                r.low
            };
            set_input(&mut drawn, r.benefit, r.input, value);
        }
        let appraisal = appraise(&drawn);
        if appraisal.bcr.is_some_and(|bcr| bcr > 1.0) {
            overall += 1;
        }
        for (count, agency) in above.iter_mut().zip(&agencies) {
            let roi = appraisal
                .by_agency
                .iter()
                .find(|a| &a.agency == agency)
                .and_then(|a| a.fiscal_roi);
            if roi.is_some_and(|roi| roi > 1.0) {
                *count += 1;
            }
        }
    }
    let share = |n: usize| {
        if draws == 0 {
            0.0
        } else {
            n as f64 / draws as f64
        }
    };
    Chances {
        draws,
        bcr_above_one: share(overall),
        by_agency: agencies
            .into_iter()
            .zip(above)
            .map(|(a, n)| (a, share(n)))
            .collect(),
    }
}

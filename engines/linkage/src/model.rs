//! The Fellegi-Sunter model: for each comparison level, m (how often true matches fall in it)
//! and u (how often non-matches do). A pair's match weight is log2 of the prior odds plus
//! log2(m/u) of each of its levels; its match probability follows from the weight.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::blocking::BlockingRule;
use crate::compare::{Comparison, Level, NULL_LEVEL};
use crate::data::{Field, FieldKind};
use crate::records::{MISSING, Records};

/// Comparisons are packed four bits each into a `u64` pattern.
pub const MAX_COMPARISONS: usize = 16;
pub const MAX_LEVELS: usize = 15;
/// No probability is allowed to reach 0 or 1: a single level must never be certain proof.
const FLOOR: f64 = 1e-6;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    pub label: String,
    pub m: f64,
    /// u among candidate pairs, the population the model scores (estimated by EM, starting
    /// from `u_random`, unless the settings fix u).
    pub u: f64,
    /// u among random pairs of records.
    pub u_random: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub name: String,
    /// Non-null levels, in the comparison's order.
    pub levels: Vec<LevelParams>,
    /// For term-frequency adjustment: log2 of the typical frequency of a value two random
    /// records agree on. Agreeing on a rarer value weighs more, on a commoner one less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log2_typical_frequency: Option<f64>,
}

/// Everything needed to score pairs again later: saved and loaded as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub fields: Vec<Field>,
    pub comparisons: Vec<Comparison>,
    pub blocking: Vec<BlockingRule>,
    /// Prior probability that a candidate pair is a match.
    pub lambda: f64,
    pub params: Vec<ComparisonParams>,
    /// How different people who share an address compare, when the address is one comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_address: Option<SameAddress>,
}

/// Members of one household agree on surname, address and phone, and often nearly on birth
/// date (twins exactly), so among pairs at one address a shared surname is no evidence of one
/// person; given name and date of birth are. Pairs whose address comparison is at `level`
/// are scored with `u`, the level probabilities among different people of one address, in
/// place of those among random pairs; the address comparison itself keeps its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SameAddress {
    pub comparison: usize,
    pub level: u8,
    /// Per comparison and level, as `Table` (index 0, null, is 1).
    pub u: Table,
}

impl Model {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises")
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The level of every comparison for one pair, packed.
pub fn pattern(comparisons: &[Comparison], records: &Records, i: usize, j: usize) -> u64 {
    let (a, b) = (records.left_row(i), records.right_row(j));
    comparisons
        .iter()
        .enumerate()
        .fold(0, |acc, (c, comparison)| {
            acc | u64::from(comparison.level(records, a, b)) << (4 * c)
        })
}

pub fn level_in(pattern: u64, comparison: usize) -> usize {
    (pattern >> (4 * comparison) & 0xF) as usize
}

/// Level probabilities per comparison, indexed by level; index 0 (null) is fixed at 1 so it
/// drops out of products.
pub type Table = Vec<Vec<f64>>;

/// u from `samples` random pairs (distinct rows when deduplicating), in parallel with a fixed
/// seed so runs repeat.
pub fn estimate_u(comparisons: &[Comparison], records: &Records, samples: u64, seed: u64) -> Table {
    let (left, right) = (records.left, records.right);
    const CHUNK: u64 = 100_000;
    let counts = (0..samples.div_ceil(CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ chunk.wrapping_mul(0x9E37_79B9));
            let mut counts: Table = comparisons
                .iter()
                .map(|c| vec![0.0; c.level_count()])
                .collect();
            for _ in 0..CHUNK.min(samples - chunk * CHUNK) {
                let i = rng.random_range(0..left.len());
                let j = rng.random_range(0..right.len());
                if records.is_dedupe() && i == j {
                    continue;
                }
                let (a, b) = (records.left_row(i), records.right_row(j));
                for (c, comparison) in comparisons.iter().enumerate() {
                    counts[c][comparison.level(records, a, b) as usize] += 1.0;
                }
            }
            counts
        })
        .reduce(
            || {
                comparisons
                    .iter()
                    .map(|c| vec![0.0; c.level_count()])
                    .collect()
            },
            |mut a, b| {
                a.iter_mut()
                    .zip(b)
                    .for_each(|(x, y)| x.iter_mut().zip(y).for_each(|(p, q)| *p += q));
                a
            },
        );
    // One pseudo-count per level: a level never seen among random pairs is rare, not impossible.
    counts.into_iter().map(|c| normalised(&c, 1.0)).collect()
}

/// Probabilities over the non-null levels; index 0 set to 1.
fn normalised(counts: &[f64], pseudo: f64) -> Vec<f64> {
    let total: f64 = counts[1..].iter().map(|c| c + pseudo).sum();
    std::iter::once(1.0)
        .chain(
            counts[1..]
                .iter()
                .map(|c| ((c + pseudo) / total).clamp(FLOOR, 1.0 - FLOOR)),
        )
        .collect()
}

/// m starting values: the first (exact) level likely, the rest each half as likely as the one before.
pub fn starting_m(comparisons: &[Comparison]) -> Table {
    comparisons
        .iter()
        .map(|c| {
            let levels = c.levels.len();
            let raw: Vec<f64> = std::iter::once(0.0)
                .chain((0..levels).map(|l| if l == 0 { 8.0 } else { 0.5f64.powi(l as i32) }))
                .collect();
            normalised(&raw, 0.0)
        })
        .collect()
}

/// State of the EM estimation.
#[derive(Clone, Debug, PartialEq)]
pub struct EmState {
    pub lambda: f64,
    pub m: Table,
    pub u: Table,
}

/// Expectation-maximisation over counted patterns, no labels: returns iterations run.
/// Only the comparisons marked in `evidence` take part; with `fix_u` only λ and m move.
pub fn expectation_maximisation(
    state: &mut EmState,
    patterns: &[(u64, u64)],
    evidence: &[bool],
    fix_u: bool,
    max_iterations: usize,
) -> usize {
    let no_u = vec![false; evidence.len()];
    let update = Update {
        m: evidence,
        u: if fix_u { &no_u } else { evidence },
        lambda: true,
    };
    for iteration in 1..=max_iterations {
        if em_step(state, patterns, evidence, &update) < 1e-6 {
            return iteration;
        }
    }
    max_iterations
}

/// One maximisation step, λ unchanged, for the parameters marked in `m` and `u`, from the
/// match posteriors that the comparisons in `evidence` give.
pub fn fit_given(
    state: &mut EmState,
    patterns: &[(u64, u64)],
    evidence: &[bool],
    m: &[bool],
    u: &[bool],
) {
    em_step(
        state,
        patterns,
        evidence,
        &Update {
            m,
            u,
            lambda: false,
        },
    );
}

/// Which parameters an EM step re-estimates.
struct Update<'a> {
    m: &'a [bool],
    u: &'a [bool],
    lambda: bool,
}

/// The match probability of a pattern given the comparisons in `evidence`.
pub fn posterior(state: &EmState, pattern: u64, evidence: &[bool]) -> f64 {
    let (mut pm, mut pu) = (state.lambda, 1.0 - state.lambda);
    for c in (0..state.m.len()).filter(|&c| evidence[c]) {
        let level = level_in(pattern, c);
        pm *= state.m[c][level];
        pu *= state.u[c][level];
    }
    pm / (pm + pu)
}

/// The prior probability that two records match, over all possible pairs: the expected
/// number of matches among candidate pairs (counted in `patterns`, a sample to be multiplied
/// by `scale`) over `all_pairs`, found as a fixed point since each posterior depends on it.
/// Pairs no blocking rule proposes are taken as non-matches.
pub fn prior_among_all_pairs(
    state: &EmState,
    patterns: &[(u64, u64)],
    evidence: &[bool],
    scale: f64,
    all_pairs: f64,
) -> f64 {
    let mut lambda = state.lambda.min(0.5);
    for _ in 0..200 {
        let mut matches = 0.0;
        for &(pattern, count) in patterns {
            let (mut pm, mut pu) = (lambda, 1.0 - lambda);
            for c in (0..state.m.len()).filter(|&c| evidence[c]) {
                let level = level_in(pattern, c);
                pm *= state.m[c][level];
                pu *= state.u[c][level];
            }
            matches += count as f64 * pm / (pm + pu);
        }
        let next = (matches * scale / all_pairs).clamp(1e-12, 0.5);
        if (next / lambda - 1.0).abs() < 1e-6 {
            return next;
        }
        lambda = next;
    }
    lambda
}

/// One E and M step: returns the largest change of any parameter.
fn em_step(
    state: &mut EmState,
    patterns: &[(u64, u64)],
    evidence: &[bool],
    update: &Update,
) -> f64 {
    let comparisons = state.m.len();
    let mut match_counts: Table = state.m.iter().map(|l| vec![0.0; l.len()]).collect();
    let mut non_match_counts = match_counts.clone();
    let (mut matches, mut total) = (0.0, 0.0);
    for &(pattern, count) in patterns {
        let (mut pm, mut pu) = (state.lambda, 1.0 - state.lambda);
        for c in (0..comparisons).filter(|&c| evidence[c]) {
            let level = level_in(pattern, c);
            pm *= state.m[c][level];
            pu *= state.u[c][level];
        }
        let count = count as f64;
        let w = pm / (pm + pu);
        matches += w * count;
        total += count;
        for c in 0..comparisons {
            let level = level_in(pattern, c);
            match_counts[c][level] += w * count;
            non_match_counts[c][level] += (1.0 - w) * count;
        }
    }
    let mut change: f64 = 0.0;
    for (c, (counts, table)) in match_counts.iter().zip(state.m.iter_mut()).enumerate() {
        if update.m[c] {
            let m = normalised(counts, 0.0);
            change = change.max(max_difference(&m, table));
            *table = m;
        }
    }
    for (c, (counts, table)) in non_match_counts.iter().zip(state.u.iter_mut()).enumerate() {
        if update.u[c] {
            let u = normalised(counts, 0.0);
            change = change.max(max_difference(&u, table));
            *table = u;
        }
    }
    if update.lambda {
        let lambda = (matches / total).clamp(FLOOR, 1.0 - FLOOR);
        change = change.max((lambda - state.lambda).abs());
        state.lambda = lambda;
    }
    change
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Scores pairs of two datasets with a model.
pub struct Scorer<'a> {
    model: &'a Model,
    records: &'a Records<'a>,
    /// log2(m/u) per comparison and level; 0 for null.
    weights: Table,
    /// The same for a pair of one address (see `SameAddress`), or empty.
    home_weights: Table,
    prior: f64,
    /// Per comparison with term-frequency adjustment: the exact level and the log2 frequency
    /// of each left row's value (the adjustment applies to exact agreement, where both values
    /// are the same).
    term_frequency: Vec<Option<(usize, Vec<f32>)>>,
    /// Comparisons in the order they are computed: cheap ones first (see `cost`).
    order: Vec<usize>,
    /// Per comparison, the largest weight a level without term-frequency adjustment gives
    /// (the null level's 0 included), away from and at one address.
    best_plain: [Vec<f64>; 2],
    /// Per left row, the largest weight any pair with that row could have, away and at home.
    best_total: Vec<[f64; 2]>,
}

/// How one comparison moved a pair's weight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    pub comparison: String,
    pub level: String,
    pub left: Option<String>,
    pub right: Option<String>,
    pub m: Option<f64>,
    pub u: Option<f64>,
    pub term_frequency_weight: f64,
    pub weight: f64,
}

/// A pair's weight taken apart, comparison by comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub prior_weight: f64,
    pub contributions: Vec<Contribution>,
    pub weight: f64,
    pub probability: f64,
}

pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Away from one address, or at it.
const AWAY: usize = 0;
const HOME: usize = 1;

impl<'a> Scorer<'a> {
    pub fn new(model: &'a Model, records: &'a Records<'a>) -> Self {
        let weights: Table = model
            .params
            .iter()
            .map(|p| {
                std::iter::once(0.0)
                    .chain(p.levels.iter().map(|l| (l.m / l.u).log2()))
                    .collect()
            })
            .collect();
        let home_weights: Table = model.same_address.as_ref().map_or_else(Vec::new, |home| {
            weights
                .iter()
                .zip(&model.params)
                .zip(&home.u)
                .enumerate()
                .map(|(c, ((away, p), u))| match c == home.comparison {
                    true => away.clone(),
                    false => std::iter::once(0.0)
                        .chain(p.levels.iter().zip(&u[1..]).map(|(l, u)| (l.m / u).log2()))
                        .collect(),
                })
                .collect()
        });
        let term_frequency: Vec<Option<(usize, Vec<f32>)>> = model
            .comparisons
            .iter()
            .zip(&model.params)
            .map(|(c, p)| {
                p.log2_typical_frequency?;
                let exact = c.levels.iter().position(|l| *l == Level::Exact)? + 1;
                let frequencies = records.frequencies(c.column);
                let log2 = (0..records.left.len())
                    .map(|r| match records.left_row(r)[c.column] {
                        MISSING => 0.0,
                        code => frequencies[&code].log2() as f32,
                    })
                    .collect();
                Some((exact, log2))
            })
            .collect();
        let home = model.same_address.as_ref();
        let best_plain = [AWAY, HOME].map(|context| {
            (0..weights.len())
                .map(|c| {
                    let table = match context {
                        HOME if home.is_none() => return f64::NEG_INFINITY,
                        HOME => &home_weights[c],
                        _ => &weights[c],
                    };
                    let adjusted = term_frequency[c].as_ref().map(|(exact, _)| *exact);
                    (0..table.len())
                        .filter(|l| context == HOME || Some(*l) != adjusted)
                        .filter(|&l| match home {
                            // The address comparison decides the context.
                            Some(h) if h.comparison == c => {
                                (l == h.level as usize) == (context == HOME)
                            }
                            _ => true,
                        })
                        .map(|l| table[l])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect()
        });
        let mut order: Vec<usize> = (0..model.comparisons.len()).collect();
        order.sort_by_key(|&c| {
            let comparison = &model.comparisons[c];
            match comparison.with.is_empty() {
                true => cost(&model.fields[comparison.column]),
                false => 3,
            }
        });
        let prior = (model.lambda / (1.0 - model.lambda)).log2();
        let mut scorer = Scorer {
            model,
            records,
            weights,
            home_weights,
            prior,
            term_frequency,
            order,
            best_plain,
            best_total: Vec::new(),
        };
        scorer.best_total = (0..records.left.len())
            .map(|i| {
                [AWAY, HOME].map(|context| {
                    let best = (0..scorer.weights.len()).map(|c| scorer.best(c, i, context));
                    scorer.prior + best.sum::<f64>()
                })
            })
            .collect();
        scorer
    }

    /// Match weight of the pair and its packed pattern.
    pub fn weight(&self, i: usize, j: usize) -> (f64, u64) {
        self.weigh(i, j, f64::NEG_INFINITY)
            .expect("no pair falls below an infinite floor")
    }

    /// Match weight of the pair if it can reach `floor`. Comparisons are computed cheapest
    /// first, and as soon as the weight so far plus the most the rest could add falls below
    /// `floor` the pair is given up: most candidate pairs are strangers, settled by date and
    /// names before their addresses are read. The pairs kept, and their weights, are exactly
    /// those of `weight`.
    pub fn weight_from(&self, i: usize, j: usize, floor: f64) -> Option<f64> {
        self.weigh(i, j, floor).map(|(weight, _)| weight)
    }

    /// The weight is summed twice over, as if the pair were of one address and as if not,
    /// until the address comparison says which it is.
    fn weigh(&self, i: usize, j: usize, floor: f64) -> Option<(f64, u64)> {
        let (a, b) = (self.records.left_row(i), self.records.right_row(j));
        let mut pattern = 0;
        let context = self.model.same_address.as_ref();
        let sides = if context.is_some() { 2 } else { 1 };
        let mut weight = [self.prior, f64::NEG_INFINITY];
        let mut possible = [self.best_total[i][AWAY], f64::NEG_INFINITY];
        if context.is_some() {
            (weight[HOME], possible[HOME]) = (self.prior, self.best_total[i][HOME]);
        }
        for &c in &self.order {
            let level = self.model.comparisons[c].level(self.records, a, b);
            pattern |= u64::from(level) << (4 * c);
            for side in 0..sides {
                let mut w = self.level_weight(c, level as usize, i, side);
                if context
                    .is_some_and(|h| h.comparison == c && (h.level == level) != (side == HOME))
                {
                    w = f64::NEG_INFINITY;
                }
                weight[side] += w;
                possible[side] -= self.best(c, i, side) - w;
            }
            if possible[AWAY].max(possible[HOME]) < floor {
                return None;
            }
        }
        Some((weight[AWAY].max(weight[HOME]), pattern))
    }

    /// Whether the pattern's address comparison says the two records share an address.
    fn context_of(&self, pattern: u64) -> usize {
        match &self.model.same_address {
            Some(h) if level_in(pattern, h.comparison) == h.level as usize => HOME,
            _ => AWAY,
        }
    }

    /// The largest weight comparison `c` can give a pair with left row `i`.
    fn best(&self, c: usize, i: usize, context: usize) -> f64 {
        match &self.term_frequency[c] {
            Some((exact, _)) if context == AWAY => {
                self.best_plain[AWAY][c].max(self.level_weight(c, *exact, i, AWAY))
            }
            _ => self.best_plain[context][c],
        }
    }

    fn level_weight(&self, c: usize, level: usize, i: usize, context: usize) -> f64 {
        match context {
            HOME if self.home_weights.is_empty() => f64::NEG_INFINITY,
            // Within a household a shared surname says nothing of rarity.
            HOME => self.home_weights[c][level],
            _ => self.weights[c][level] + self.term_frequency_weight(c, level, i),
        }
    }

    fn term_frequency_weight(&self, c: usize, level: usize, i: usize) -> f64 {
        match (
            &self.term_frequency[c],
            self.model.params[c].log2_typical_frequency,
        ) {
            (Some((exact, left)), Some(typical)) if level == *exact => typical - f64::from(left[i]),
            _ => 0.0,
        }
    }

    pub fn explain(&self, i: usize, j: usize) -> Explanation {
        let (weight, pattern) = self.weight(i, j);
        let context = self.context_of(pattern);
        let contributions = self
            .model
            .comparisons
            .iter()
            .enumerate()
            .map(|(c, comparison)| {
                let level = level_in(pattern, c);
                let params =
                    (level != NULL_LEVEL as usize).then(|| &self.model.params[c].levels[level - 1]);
                let u = match (context, &self.model.same_address) {
                    (HOME, Some(home)) if level != NULL_LEVEL as usize => Some(home.u[c][level]),
                    _ => params.map(|p| p.u),
                };
                Contribution {
                    comparison: comparison.name.clone(),
                    level: params.map_or_else(|| "null".to_string(), |p| p.label.clone()),
                    left: comparison.display(self.records.left, i),
                    right: comparison.display(self.records.right, j),
                    m: params.map(|p| p.m),
                    u,
                    term_frequency_weight: match context {
                        HOME => 0.0,
                        _ => self.term_frequency_weight(c, level, i),
                    },
                    weight: self.level_weight(c, level, i, context),
                }
            })
            .collect();
        Explanation {
            prior_weight: self.prior,
            contributions,
            weight,
            probability: probability(weight),
        }
    }
}

/// How costly a field's comparison is to compute, for the order in which `Scorer` computes
/// them: dates and one-character values, then names and identifiers (short strings), then
/// phones, postcodes and places, then addresses (long strings).
fn cost(field: &Field) -> u8 {
    use FieldKind::*;
    match field.kind {
        DateOfBirth | Sex | HouseNumber => 0,
        GivenName | FamilyName | Identifier | NhsNumber => 1,
        Phone | Email | Postcode | Place => 2,
        Address => 3,
        Encoded if field.is_household() => 2,
        Encoded => 1,
    }
}

/// log2 of the typical frequency of the value two random records agree on
/// (a frequency-squared weighted mean of log2 frequencies).
pub fn log2_typical_frequency(frequencies: &HashMap<u32, f64>) -> Option<f64> {
    let agree: f64 = frequencies.values().map(|f| f * f).sum();
    (agree > 0.0).then(|| frequencies.values().map(|f| f * f * f.log2()).sum::<f64>() / agree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{ProptestConfig, prop_assert, proptest};

    /// Draws comparison patterns from a known model.
    fn planted_patterns(truth: &EmState, pairs: usize, seed: u64) -> Vec<(u64, u64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut counts: HashMap<u64, u64> = HashMap::new();
        for _ in 0..pairs {
            let table = if rng.random_bool(truth.lambda) {
                &truth.m
            } else {
                &truth.u
            };
            let mut pattern = 0u64;
            for (c, levels) in table.iter().enumerate() {
                let mut draw: f64 = rng.random();
                let level = (1..levels.len())
                    .find(|&l| {
                        draw -= levels[l];
                        draw <= 0.0
                    })
                    .unwrap_or(levels.len() - 1);
                pattern |= (level as u64) << (4 * c);
            }
            *counts.entry(pattern).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    fn three_level_model(lambda: f64, agree_m: f64, agree_u: f64) -> EmState {
        let m = vec![1.0, agree_m, (1.0 - agree_m) * 0.6, (1.0 - agree_m) * 0.4];
        let u = vec![1.0, agree_u, 0.1, 0.9 - agree_u];
        EmState {
            lambda,
            m: vec![m.clone(); 5],
            u: vec![u.clone(); 5],
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn em_recovers_a_planted_model(lambda in 0.05f64..0.4, agree_m in 0.7f64..0.95, agree_u in 0.01f64..0.2, seed in 0u64..1000) {
            let truth = three_level_model(lambda, agree_m, agree_u);
            let patterns = planted_patterns(&truth, 60_000, seed);
            let start_u = three_level_model(0.5, 0.5, 0.3).u;
            let mut state = EmState { lambda: 0.1, m: starting_m_for(&truth), u: start_u };
            expectation_maximisation(&mut state, &patterns, &[true; 5], false, 500);
            prop_assert!((state.lambda - lambda).abs() < 0.03, "lambda {} against {}", state.lambda, lambda);
            for c in 0..5 {
                prop_assert!((state.m[c][1] - agree_m).abs() < 0.05, "m {} against {}", state.m[c][1], agree_m);
                prop_assert!((state.u[c][1] - agree_u).abs() < 0.03, "u {} against {}", state.u[c][1], agree_u);
            }
        }
    }

    fn starting_m_for(truth: &EmState) -> Table {
        truth
            .m
            .iter()
            .map(|l| normalised(&[0.0, 8.0, 0.5, 0.25][..l.len()], 0.0))
            .collect()
    }

    #[test]
    fn more_agreement_among_matches_raises_the_agreement_weight() {
        let weight_of_agreement = |agree_m: f64| {
            let truth = three_level_model(0.2, agree_m, 0.05);
            let patterns = planted_patterns(&truth, 40_000, 7);
            let mut state = EmState {
                lambda: 0.1,
                m: starting_m_for(&truth),
                u: truth.u.clone(),
            };
            expectation_maximisation(&mut state, &patterns, &[true; 5], true, 500);
            (state.m[0][1] / state.u[0][1]).log2()
        };
        let (weaker, stronger) = (weight_of_agreement(0.7), weight_of_agreement(0.95));
        assert!(stronger > weaker, "{stronger} should exceed {weaker}");
        assert!(weaker > 0.0, "agreement is evidence for a match");
    }

    #[test]
    fn typical_frequency_lies_between_rarest_and_commonest() {
        let frequencies: HashMap<u32, f64> = [(7, 0.5), (2, 0.3), (9, 0.2)].into_iter().collect();
        let typical = log2_typical_frequency(&frequencies).unwrap();
        assert!(typical < 0.5f64.log2() && typical > 0.2f64.log2());
    }
}

//! Estimating the model without labels.
//!
//! 1. u of every comparison from random pairs of records.
//! 2. m by EM in training sessions, one per blocking rule keyed on person fields (names, date
//!    of birth, identifiers): among pairs that share, say, a date of birth, the pairs that also
//!    share names and address are the matches, and EM finds them with the date left out of the
//!    evidence. Each m is the mean over the sessions that did not block on it; u stays at its
//!    random-pair value. This is the approach Splink takes.
//! 3. The prior: the share of all possible pairs that match, from the candidates' posteriors
//!    given the person comparisons.
//! 4. u of the household comparisons (address, postcode, home phone) again, among candidate
//!    pairs weighted by those posteriors. Members of one family agree on all of them at once
//!    while differing in given name and birth date; with u from random pairs each household
//!    field would count as strong, independent evidence and siblings would look like one person.
//!
//! Where no session is possible (too few comparisons), EM runs on all candidate pairs,
//! estimating m, u and the prior there.

use std::collections::HashMap;

use serde::Serialize;

use crate::blocking::{Blocker, mix};
use crate::compare::{Comparison, Level};
use crate::data::{Dataset, Field, FieldKind};
use crate::model::{self, ComparisonParams, EmState, LevelParams, Model, SameAddress, Table};
use crate::pipeline::{Progress, Settings};
use crate::records::Records;

/// One EM session, for the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainingSession {
    /// The blocking rule whose pairs were used, or "all candidate pairs".
    pub pairs_from: String,
    pub pairs_used: u64,
    pub iterations: usize,
    /// Comparisons whose m this session estimated.
    pub estimated: Vec<String>,
}

/// Work the training passes will report to `Progress`, in proposed pairs.
pub fn planned_pairs(blocker: &Blocker, settings: &Settings, left: &Dataset) -> u64 {
    let sessions: u64 = session_rules(settings, left)
        .iter()
        .map(|(r, _)| blocker.reports()[*r].pairs)
        .sum();
    sessions + blocker.proposed_pairs()
}

/// Rules fit for a session (keyed on person fields only), each with the comparisons it can
/// estimate: those not made from the key's columns, at least two.
fn session_rules(settings: &Settings, left: &Dataset) -> Vec<(usize, Vec<bool>)> {
    settings
        .blocking
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.window.is_none())
        .filter_map(|(r, rule)| {
            let keyed = rule.columns();
            if keyed.iter().any(|&c| left.fields[c].is_household()) {
                return None;
            }
            let evidence: Vec<bool> = settings
                .comparisons
                .iter()
                .map(|c| !c.columns().any(|column| keyed.contains(&column)))
                .collect();
            (evidence.iter().filter(|e| **e).count() >= 2).then_some((r, evidence))
        })
        .collect()
}

pub fn train(
    blocker: &Blocker,
    settings: &Settings,
    records: &Records,
    progress: &Progress,
) -> (Model, Vec<TrainingSession>) {
    let (left, right) = (records.left, records.right);
    let comparisons = &settings.comparisons;
    let u_random = model::estimate_u(comparisons, records, settings.random_pairs, settings.seed);
    let expected_matches = left.len().min(right.len()) as f64;
    let starting_lambda = |pairs: u64| (expected_matches / pairs.max(1) as f64).clamp(1e-4, 0.5);
    let names = |mask: &[bool]| -> Vec<String> {
        comparisons
            .iter()
            .zip(mask)
            .filter(|(_, m)| **m)
            .map(|(c, _)| c.name.clone())
            .collect()
    };

    let mut m_sums: Table = comparisons
        .iter()
        .map(|c| vec![0.0; c.level_count()])
        .collect();
    let mut sessions_of = vec![0usize; comparisons.len()];
    let mut sessions = Vec::new();
    for (rule, evidence) in session_rules(settings, left) {
        let pairs = blocker.reports()[rule].pairs;
        let patterns = count_patterns(blocker, Some(rule), settings, records, pairs, progress);
        let mut state = EmState {
            lambda: starting_lambda(pairs),
            m: model::starting_m(comparisons),
            u: u_random.clone(),
        };
        let iterations = model::expectation_maximisation(
            &mut state,
            &patterns,
            &evidence,
            true,
            settings.em_iterations,
        );
        for (c, _) in evidence.iter().enumerate().filter(|(_, e)| **e) {
            m_sums[c]
                .iter_mut()
                .zip(&state.m[c])
                .for_each(|(sum, m)| *sum += m);
            sessions_of[c] += 1;
        }
        sessions.push(TrainingSession {
            pairs_from: settings.blocking[rule].name.clone(),
            pairs_used: patterns.iter().map(|(_, n)| n).sum(),
            iterations,
            estimated: names(&evidence),
        });
    }

    let proposed = blocker.proposed_pairs();
    let candidates = count_patterns(blocker, None, settings, records, proposed, progress);
    let sampled: u64 = candidates.iter().map(|(_, n)| n).sum();
    let estimated: Vec<bool> = sessions_of.iter().map(|n| *n > 0).collect();
    let household: Vec<bool> = comparisons
        .iter()
        .map(|c| left.fields[c.column].is_household())
        .collect();
    let person: Vec<bool> = estimated
        .iter()
        .zip(&household)
        .map(|(e, h)| *e && !h)
        .collect();
    let mut state = EmState {
        lambda: starting_lambda(sampled),
        m: model::starting_m(comparisons),
        u: u_random.clone(),
    };
    let mut same_address = None;
    if person.iter().filter(|p| **p).count() >= 2 {
        for (c, n) in sessions_of.iter().enumerate().filter(|(_, n)| **n > 0) {
            state.m[c] = m_sums[c].iter().map(|sum| sum / *n as f64).collect();
        }
        let all_pairs = if records.is_dedupe() {
            left.len() as f64 * (left.len() as f64 - 1.0) / 2.0
        } else {
            left.len() as f64 * right.len() as f64
        };
        let scale = proposed.max(1) as f64 / settings.em_pairs.min(proposed).max(1) as f64;
        state.lambda = model::prior_among_all_pairs(&state, &candidates, &person, scale, all_pairs);
        let unestimated: Vec<bool> = estimated.iter().map(|e| !e).collect();
        // A household field compared alone gets its u among candidate pairs (where the
        // members of one family are); an address compared as one fact keeps its u among
        // random pairs, and the other comparisons get a u of their own among people who share
        // an address (`SameAddress`).
        let refit_u: Vec<bool> = (0..comparisons.len())
            .map(|c| unestimated[c] || household[c] && comparisons[c].with.is_empty())
            .collect();
        model::fit_given(&mut state, &candidates, &person, &unestimated, &refit_u);
        same_address = household_u(settings, &left.fields, &candidates, &state, &person);
    } else {
        let all = vec![true; comparisons.len()];
        let iterations = model::expectation_maximisation(
            &mut state,
            &candidates,
            &all,
            false,
            settings.em_iterations,
        );
        sessions.push(TrainingSession {
            pairs_from: "all candidate pairs".into(),
            pairs_used: sampled,
            iterations,
            estimated: names(&all),
        });
    }
    for (c, is_household) in household.iter().enumerate() {
        if *is_household {
            floor_disagreement(&mut state.m[c], MOVED);
        }
    }
    let mut model = model_from(records, settings, &u_random, state);
    model.same_address = same_address;
    (model, sessions)
}

/// Pseudo-pairs, distributed as among random pairs, added to those of one address, so that a
/// run with few households does not learn from a handful of pairs.
const HOUSEHOLD_PSEUDO_PAIRS: f64 = 100.0;

/// u of every comparison among different people at one address: candidate pairs whose
/// address comparison is at its first level ("same address"), each counted as a non-match by
/// its posterior given the person comparisons and the address.
fn household_u(
    settings: &Settings,
    fields: &[Field],
    candidates: &[(u64, u64)],
    state: &EmState,
    person: &[bool],
) -> Option<SameAddress> {
    let comparisons = &settings.comparisons;
    let address = comparisons
        .iter()
        .position(|c| c.levels.first() == Some(&Level::SameAddress))?;
    let mut counts: Table = comparisons
        .iter()
        .map(|c| vec![0.0; c.level_count()])
        .collect();
    // The address is evidence too: without it a true match whose names were mistyped
    // would count as two people of one address.
    let mut evidence = person.to_vec();
    evidence[address] = true;
    for &(pattern, count) in candidates {
        if model::level_in(pattern, address) != 1 {
            continue;
        }
        let non_match = 1.0 - model::posterior(state, pattern, &evidence);
        for (c, levels) in counts.iter_mut().enumerate() {
            levels[model::level_in(pattern, c)] += non_match * count as f64;
        }
    }
    let u = counts
        .iter()
        .zip(&state.u)
        .enumerate()
        .map(|(c, (counts, random))| {
            // An identifier is issued to one person: housemates share it no more than
            // strangers do.
            if matches!(
                fields[comparisons[c].column].kind,
                FieldKind::Identifier | FieldKind::NhsNumber
            ) {
                return random.clone();
            }
            let total: f64 = counts[1..].iter().sum::<f64>() + HOUSEHOLD_PSEUDO_PAIRS;
            std::iter::once(1.0)
                .chain((1..counts.len()).map(|l| {
                    ((counts[l] + HOUSEHOLD_PSEUDO_PAIRS * random[l]) / total).clamp(1e-6, 1.0)
                }))
                .collect()
        })
        .collect();
    Some(SameAddress {
        comparison: address,
        level: 1,
        u,
    })
}

/// The least share of true matches whose household fields disagree: people move, and two
/// agencies record them at different times. EM left to itself tends to find "same household"
/// rather than "same person" and sets this near zero, and then a move alone sinks a pair that
/// agrees on names and date of birth. At 5% a disagreement weighs at most about -4.
const MOVED: f64 = 0.05;

/// Raises the m of the last (disagreement) level to at least `floor`, scaling the others down.
fn floor_disagreement(m: &mut [f64], floor: f64) {
    let last = m.len() - 1;
    if last < 2 || m[last] >= floor {
        return;
    }
    let rest: f64 = m[1..last].iter().sum();
    m[1..last]
        .iter_mut()
        .for_each(|x| *x *= (1.0 - floor) / rest);
    m[last] = floor;
}

/// Comparison patterns of candidate pairs (of one rule, or the union of all), counted over an
/// even sample of at most `settings.em_pairs` of the `proposed` pairs, drawn by hashing.
fn count_patterns(
    blocker: &Blocker,
    rule: Option<usize>,
    settings: &Settings,
    records: &Records,
    proposed: u64,
    progress: &Progress,
) -> Vec<(u64, u64)> {
    let share = settings.em_pairs as f64 / proposed.max(1) as f64;
    let cutoff = (share.min(1.0) * u64::MAX as f64) as u64;
    let visit = |counts: &mut HashMap<u64, u64>, _: usize, i: u32, j: u32| {
        if share >= 1.0 || mix(settings.seed ^ (u64::from(i) << 32 | u64::from(j))) <= cutoff {
            *counts
                .entry(model::pattern(
                    &settings.comparisons,
                    records,
                    i as usize,
                    j as usize,
                ))
                .or_default() += 1;
        }
    };
    let states = match rule {
        Some(rule) => blocker.fold_rule_pairs(rule, HashMap::new, visit, &progress.done),
        None => blocker.fold_pairs(HashMap::new, visit, &progress.done),
    };
    let mut total: HashMap<u64, u64> = HashMap::new();
    for (pattern, count) in states.into_iter().flatten() {
        *total.entry(pattern).or_default() += count;
    }
    let mut patterns: Vec<(u64, u64)> = total.into_iter().collect();
    patterns.sort_unstable();
    patterns
}

fn model_from(records: &Records, settings: &Settings, u_random: &Table, state: EmState) -> Model {
    let params = settings
        .comparisons
        .iter()
        .enumerate()
        .map(|(c, comparison)| ComparisonParams {
            name: comparison.name.clone(),
            levels: level_params(comparison, &state, u_random, c),
            log2_typical_frequency: comparison
                .term_frequency
                .then(|| model::log2_typical_frequency(&records.frequencies(comparison.column)))
                .flatten(),
        })
        .collect();
    Model {
        fields: records.left.fields.clone(),
        comparisons: settings.comparisons.clone(),
        blocking: settings.blocking.clone(),
        lambda: state.lambda,
        params,
        same_address: None,
    }
}

fn level_params(
    comparison: &Comparison,
    state: &EmState,
    u_random: &Table,
    c: usize,
) -> Vec<LevelParams> {
    comparison
        .levels
        .iter()
        .enumerate()
        .map(|(l, level)| LevelParams {
            label: level.label(),
            m: state.m[c][l + 1],
            u: state.u[c][l + 1],
            u_random: u_random[c][l + 1],
        })
        .collect()
}

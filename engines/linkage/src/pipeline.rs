//! A whole run: block, train (see `train`), score, assign one-to-one, cluster, report.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::autoconfig;
use crate::blocking::{Blocker, BlockingRule, RuleReport};
use crate::cluster::{self, Clusters, ScoredPair};
use crate::compare::Comparison;
use crate::data::{Dataset, Field};
use crate::model::{self, ComparisonParams, MAX_COMPARISONS, MAX_LEVELS, Model, Scorer};
use crate::records::Records;
use crate::train::{self, TrainingSession};

/// What to compare and how to train; `Settings::for_fields` gives sensible defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub comparisons: Vec<Comparison>,
    pub blocking: Vec<BlockingRule>,
    /// A block proposing more pairs than this (a very common key) is left out of its rule.
    pub max_block_pairs: u64,
    /// Random pairs drawn to estimate u.
    pub random_pairs: u64,
    pub em_iterations: usize,
    /// Candidate pairs each EM session learns from, drawn evenly: beyond a few hundred
    /// thousand the estimates no longer change (at 200,000 x 200,000, 300,000 and 1,000,000
    /// gave the same F1), and comparing every pair once more would double the work.
    pub em_pairs: u64,
    /// Pairs at or above this match probability are reported and clustered.
    pub threshold: f64,
    /// Each record takes part in at most one reported pair, strongest pairs first (linking
    /// only; ignored when deduplicating). On by default: two agencies' lists of people each
    /// hold a person once, so a record that matches two on the other side has matched a twin
    /// or a housemate as well as its own. Turn it off for a list that holds people more than
    /// once.
    pub one_to_one: bool,
    pub max_cluster_size: usize,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            comparisons: Vec::new(),
            blocking: Vec::new(),
            max_block_pairs: 5_000_000,
            random_pairs: 500_000,
            em_iterations: 300,
            em_pairs: 300_000,
            threshold: 0.5,
            one_to_one: true,
            max_cluster_size: 50,
            seed: 20_240_601,
        }
    }
}

impl Settings {
    pub fn for_fields(fields: &[Field]) -> Self {
        Settings {
            comparisons: autoconfig::comparisons_for(fields),
            blocking: autoconfig::blocking_for(fields),
            ..Settings::default()
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LinkError {
    #[error("the two files must have the same fields in the same order")]
    FieldsDiffer,
    #[error(
        "there is nothing to compare: no column was recognised as a name, date, address or other identifier"
    )]
    NoComparisons,
    #[error("the run was cancelled")]
    Cancelled,
    #[error("no blocking rule applies to these columns, so no pairs would be compared")]
    NoBlockingRules,
    #[error("{0} has no records")]
    Empty(&'static str),
    #[error(
        "at most {MAX_COMPARISONS} comparisons of at most {MAX_LEVELS} levels (null included) are supported; '{0}' is over"
    )]
    TooLarge(String),
    #[error("the saved model was made for fields {expected:?}, but these files have {found:?}")]
    ModelFieldsDiffer {
        expected: Vec<String>,
        found: Vec<String>,
    },
}

/// Counters a caller can watch from another thread while `run` works.
#[derive(Debug, Default)]
pub struct Progress {
    /// Proposed pairs handled so far, over all passes.
    pub done: AtomicU64,
    /// Proposed pairs all passes will handle; set once blocking is done.
    pub total: AtomicU64,
    /// The stage `run` is in: one of [`stage`]'s constants.
    pub stage: AtomicU8,
    /// Set by the caller to stop `run` early (it answers [`LinkError::Cancelled`]): a
    /// background job whose run another server has taken over.
    pub cancelled: AtomicBool,
}

impl Progress {
    fn check(&self) -> Result<(), LinkError> {
        match self.cancelled.load(Ordering::Relaxed) {
            true => Err(LinkError::Cancelled),
            false => Ok(()),
        }
    }
}

/// The stages of a run, in order, as [`Progress::stage`] holds them.
pub mod stage {
    pub const BLOCKING: u8 = 0;
    pub const TRAINING: u8 = 1;
    pub const SCORING: u8 = 2;
    pub const CLUSTERING: u8 = 3;
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleSummary {
    #[serde(flatten)]
    pub proposed: RuleReport,
    /// Pairs this rule found that no earlier rule had.
    pub new_pairs: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timing {
    pub stage: &'static str,
    pub seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub records_left: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_right: Option<usize>,
    pub fields: Vec<Field>,
    pub blocking_rules: Vec<RuleSummary>,
    pub candidate_pairs: u64,
    pub threshold: f64,
    pub one_to_one: bool,
    pub pairs_above_threshold: usize,
    /// EM sessions run; empty when a saved model was used.
    pub training: Vec<TrainingSession>,
    pub lambda: f64,
    pub comparisons: Vec<ComparisonParams>,
    pub clusters: Clusters,
    pub households: usize,
    pub timings: Vec<Timing>,
}

pub struct Outcome {
    /// Pairs at or above the threshold, strongest first when one-to-one was applied.
    pub pairs: Vec<ScoredPair>,
    pub model: Model,
    pub report: Report,
    /// Household number of each record (left rows first, then right rows).
    pub households: Vec<u32>,
}

/// Links `left` against `right`, or deduplicates `left` when `right` is `None`. With a
/// `trained` model the estimation steps are skipped and its comparisons and rules are used.
pub fn run(
    left: &Dataset,
    right: Option<&Dataset>,
    settings: &Settings,
    trained: Option<Model>,
    progress: &Progress,
) -> Result<Outcome, LinkError> {
    check(left, right, settings, trained.as_ref())?;
    let right_data = right.unwrap_or(left);
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |stage: &'static str| {
        timings.push(Timing {
            stage,
            seconds: clock.elapsed().as_secs_f64(),
        });
        clock = Instant::now();
    };
    let blocking_rules = trained
        .as_ref()
        .map_or_else(|| settings.blocking.clone(), |m| m.blocking.clone());
    let blocker = Blocker::new(&blocking_rules, left, right, settings.max_block_pairs);
    let records = Records::new(left, right);
    let training_pairs = if trained.is_some() {
        0
    } else {
        train::planned_pairs(&blocker, settings, left)
    };
    progress
        .total
        .store(blocker.proposed_pairs() + training_pairs, Ordering::Relaxed);
    lap("blocking");
    progress.check()?;

    let (model, training) = match trained {
        Some(model) => (model, Vec::new()),
        None => {
            progress.stage.store(stage::TRAINING, Ordering::Relaxed);
            let trained = train::train(&blocker, settings, &records, progress);
            lap("training");
            trained
        }
    };
    progress.check()?;

    progress.stage.store(stage::SCORING, Ordering::Relaxed);
    let scorer = Scorer::new(&model, &records);
    let threshold = settings.threshold as f32;
    let floor = weight_floor(threshold);
    let states = blocker.fold_pairs(
        || (Vec::new(), vec![0u64; blocking_rules.len()]),
        |(pairs, new_pairs): &mut (Vec<ScoredPair>, Vec<u64>), rule, i, j| {
            new_pairs[rule] += 1;
            // Cancelled: the rest of the pairs are passed over, not scored.
            if progress.cancelled.load(Ordering::Relaxed) {
                return;
            }
            let Some(weight) = scorer.weight_from(i as usize, j as usize, floor) else {
                return;
            };
            let probability = model::probability(weight) as f32;
            if probability >= threshold {
                pairs.push(ScoredPair {
                    left: i,
                    right: j,
                    probability,
                });
            }
        },
        &progress.done,
    );
    let mut new_pairs = vec![0u64; blocking_rules.len()];
    let mut pairs = Vec::new();
    for (state_pairs, counts) in states {
        pairs.extend(state_pairs);
        new_pairs.iter_mut().zip(counts).for_each(|(a, b)| *a += b);
    }
    lap("scoring");
    progress.check()?;
    progress.stage.store(stage::CLUSTERING, Ordering::Relaxed);

    if settings.one_to_one && right.is_some() {
        pairs = cluster::one_to_one(pairs, left.len(), right_data.len());
    }
    let clusters = cluster::connected_components(
        &pairs,
        left.len(),
        right.map(Dataset::len),
        threshold,
        settings.max_cluster_size,
    );
    let sides: Vec<&Dataset> = std::iter::once(left).chain(right).collect();
    let households = cluster::households(&sides, &clusters);
    lap("clustering");

    let report = Report {
        mode: if right.is_some() { "link" } else { "dedupe" },
        records_left: left.len(),
        records_right: right.map(Dataset::len),
        fields: model.fields.clone(),
        blocking_rules: blocker
            .reports()
            .iter()
            .zip(&new_pairs)
            .map(|(r, n)| RuleSummary {
                proposed: r.clone(),
                new_pairs: *n,
            })
            .collect(),
        candidate_pairs: new_pairs.iter().sum(),
        threshold: settings.threshold,
        one_to_one: settings.one_to_one && right.is_some(),
        pairs_above_threshold: pairs.len(),
        training,
        lambda: model.lambda,
        comparisons: model.params.clone(),
        households: households.iter().max().map_or(0, |h| *h as usize + 1),
        clusters,
        timings,
    };
    Ok(Outcome {
        pairs,
        model,
        report,
        households,
    })
}

/// A weight below which no pair's probability, rounded to `f32`, reaches `threshold`: the
/// weight of a probability a little under it, to leave room for that rounding.
fn weight_floor(threshold: f32) -> f64 {
    let p = f64::from(threshold) - f64::from(f32::EPSILON);
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else {
        (p / (1.0 - p)).log2()
    }
}

fn check(
    left: &Dataset,
    right: Option<&Dataset>,
    settings: &Settings,
    trained: Option<&Model>,
) -> Result<(), LinkError> {
    if left.is_empty() {
        return Err(LinkError::Empty("the first file"));
    }
    if let Some(right) = right {
        if right.is_empty() {
            return Err(LinkError::Empty("the second file"));
        }
        if right.fields != left.fields {
            return Err(LinkError::FieldsDiffer);
        }
    }
    if let Some(model) = trained {
        if model.fields != left.fields {
            let names = |f: &[Field]| f.iter().map(|f| f.name.clone()).collect();
            return Err(LinkError::ModelFieldsDiffer {
                expected: names(&model.fields),
                found: names(&left.fields),
            });
        }
        return Ok(());
    }
    if settings.comparisons.is_empty() {
        return Err(LinkError::NoComparisons);
    }
    if settings.blocking.is_empty() {
        return Err(LinkError::NoBlockingRules);
    }
    if settings.comparisons.len() > MAX_COMPARISONS {
        return Err(LinkError::TooLarge(format!(
            "{} comparisons",
            settings.comparisons.len()
        )));
    }
    match settings
        .comparisons
        .iter()
        .find(|c| c.level_count() > MAX_LEVELS)
    {
        Some(c) => Err(LinkError::TooLarge(c.name.clone())),
        None => Ok(()),
    }
}

//! Matching an agency's list against earlyhelp's people (or a second list), in the product:
//! the terms a list is shared on, the stages of a run, and how a pair's probability decides
//! whether it is a match, a possible match for clerical review, or nothing.
//!
//! Who sees what (see docs/matching.md): data analysts upload, run and review. The results
//! page gives counts only; the review queue shows, for each possible match, the values the
//! engine compared on both records (names, date of birth, address) and each field's weight,
//! and nothing else of earlyhelp's record (no case, locality, team or notes).

use crate::cases::{iso, parse_date};
use crate::limits::{LINE, too_long};
use crate::people::FieldError;
use crate::sharing::{Article6, Article9};
use serde::{Deserialize, Serialize};
use time::Date;

/// A pair at or above this probability is a match, no review needed.
pub const MATCH: f64 = 0.9;
/// A pair at or above this (and below [`MATCH`]) is a possible match, for clerical review.
pub const POSSIBLE: f64 = 0.5;
/// The largest list accepted, in bytes: 200,000 records of a dozen columns fit well within it.
pub const MAX_LIST_BYTES: usize = 32 * 1024 * 1024;
/// The most columns a list may have: a list for matching needs a dozen.
pub const MAX_COLUMNS: usize = 100;
/// The longest column name, in characters.
pub const MAX_HEADER_CHARS: usize = 200;
/// The most records a list may hold (the benchmark's 200,000 and room to spare).
pub const MAX_ROWS: usize = 250_000;
/// The fewest records a list matched against earlyhelp's people may hold: matching is for
/// projects over many records, never a way to look one person up.
pub const MIN_ROWS_AGAINST_PEOPLE: i64 = 20;
/// A list's delete-by date is at most this many days ahead: uploaded lists are for a project,
/// not a second register.
pub const MAX_KEEP_DAYS: i64 = 2 * 366;

/// The terms a list is shared on, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TermsInput {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub article6: String,
    #[serde(default)]
    pub article9: String,
    #[serde(default)]
    pub dpia_reference: String,
    #[serde(default)]
    pub delete_by: String,
}

/// The terms, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// The agency or dataset the list comes from; decisions are kept by source.
    pub source: String,
    pub purpose: String,
    pub article6: Article6,
    pub article9: Option<Article9>,
    pub dpia_reference: String,
    pub delete_by: Date,
}

/// Checks the terms of an upload; every problem names its field.
pub fn check_terms(input: &TermsInput, today: Date) -> Result<Terms, Vec<FieldError>> {
    let mut errors = Vec::new();
    let required = |errors: &mut Vec<FieldError>, field, value: &str, message: &str| {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, message));
        }
        errors.extend(too_long(field, "The answer", value, LINE));
    };
    required(
        &mut errors,
        "source",
        &input.source,
        "Enter the agency or dataset the list comes from",
    );
    required(
        &mut errors,
        "purpose",
        &input.purpose,
        "Enter why the list is being matched",
    );
    required(
        &mut errors,
        "dpia_reference",
        &input.dpia_reference,
        "Enter the reference of the data protection impact assessment",
    );
    let article6 = Article6::from_slug(&input.article6);
    if article6.is_none() {
        errors.push(FieldError::new(
            "article6",
            "Select the lawful basis of the share (UK GDPR article 6)",
        ));
    }
    let article9 = match input.article9.trim() {
        "" => None,
        slug => {
            let found = Article9::from_slug(slug);
            if found.is_none() {
                errors.push(FieldError::new(
                    "article9",
                    "Select a condition for special-category data, or none",
                ));
            }
            found
        }
    };
    let delete_by = parse_date(input.delete_by.trim());
    match delete_by {
        None => errors.push(FieldError::new(
            "delete_by",
            "Enter the date the list must be deleted by, as YYYY-MM-DD",
        )),
        Some(d) if d <= today => errors.push(FieldError::new(
            "delete_by",
            "The delete-by date must be in the future",
        )),
        Some(d) if (d - today).whole_days() > MAX_KEEP_DAYS => errors.push(FieldError::new(
            "delete_by",
            format!(
                "The delete-by date must be within two years, by {}",
                iso(today + time::Duration::days(MAX_KEEP_DAYS))
            ),
        )),
        Some(_) => {}
    }
    match (article6, delete_by) {
        (Some(article6), Some(delete_by)) if errors.is_empty() => Ok(Terms {
            source: input.source.trim().to_string(),
            purpose: input.purpose.trim().to_string(),
            article6,
            article9,
            dpia_reference: input.dpia_reference.trim().to_string(),
            delete_by,
        }),
        _ => Err(errors),
    }
}

choices!(
    /// Where a run is: waiting for a worker, its stages, and how it ended.
    Stage {
        Queued => ("queued", "Waiting to start"),
        Reading => ("reading", "Reading the records"),
        Blocking => ("blocking", "Finding candidate pairs (blocking)"),
        Training => ("training", "Training the model"),
        Scoring => ("scoring", "Scoring pairs"),
        Clustering => ("clustering", "Grouping and saving the results"),
        Done => ("done", "Finished"),
        Failed => ("failed", "Failed"),
    }
);

/// Where each stage's share of the progress bar starts: scoring and training, over all
/// candidate pairs, take most of it.
pub fn stage_floor(stage: Stage) -> u8 {
    match stage {
        Stage::Queued => 0,
        Stage::Reading => 1,
        Stage::Blocking => 10,
        Stage::Training | Stage::Scoring => 15,
        Stage::Clustering => 90,
        Stage::Done | Stage::Failed => 100,
    }
}

/// The percentage shown: the stage's floor, and within training and scoring the share of
/// candidate pairs handled.
pub fn percent(stage: Stage, done: u64, total: u64) -> u8 {
    match stage {
        Stage::Training | Stage::Scoring if total > 0 => {
            let share = done.min(total) as f64 / total as f64;
            15 + (share * 75.0) as u8
        }
        _ => stage_floor(stage),
    }
}

choices!(
    /// What became of a pair the engine found.
    PairStatus {
        Match => ("match", "Match"),
        Possible => ("possible", "Possible match, waiting for review"),
        Accepted => ("accepted", "Accepted by a reviewer"),
        Rejected => ("rejected", "Rejected by a reviewer"),
    }
);

/// A pair's status from its probability, or from a decision already taken on the same source.
pub fn status_of(probability: f64, decided: Option<bool>) -> Option<PairStatus> {
    match decided {
        Some(true) => Some(PairStatus::Accepted),
        Some(false) => Some(PairStatus::Rejected),
        None if probability >= MATCH => Some(PairStatus::Match),
        None if probability >= POSSIBLE => Some(PairStatus::Possible),
        None => None,
    }
}

/// A run's quality report: what was found and what review made of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub records: u64,
    /// Matched without review.
    pub matches: u64,
    /// Waiting for review.
    pub possible: u64,
    /// Decided by review, in this run or an earlier one on the same source.
    pub accepted: u64,
    pub rejected: u64,
    /// Of those decided, how many were decided before this run (and so not asked again).
    pub decided_before: u64,
    /// Records with no match (a rejected pair counts as none).
    pub unmatched: u64,
}

impl Counts {
    /// Share of reviewed possible matches that were accepted, when any were reviewed.
    pub fn accepted_share(&self) -> Option<f64> {
        let reviewed = self.accepted + self.rejected;
        (reviewed > 0).then(|| self.accepted as f64 / reviewed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> TermsInput {
        TermsInput {
            source: "Housing: temporary accommodation".into(),
            purpose: "Find families in temporary accommodation who may need help".into(),
            article6: "public_task".into(),
            article9: String::new(),
            dpia_reference: "DPIA-2026-014".into(),
            delete_by: "2027-03-31".into(),
        }
    }

    #[test]
    fn terms_need_a_lawful_basis_a_dpia_and_a_future_delete_by_date() {
        let today = date!(2026 - 12 - 06);
        let terms = check_terms(&input(), today).unwrap();
        assert_eq!(terms.article6, Article6::PublicTask);
        assert_eq!(terms.delete_by, date!(2027 - 03 - 31));
        let fields = |input: TermsInput| -> Vec<&'static str> {
            check_terms(&input, today)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(TermsInput {
                article6: String::new(),
                ..input()
            }),
            ["article6"]
        );
        assert_eq!(
            fields(TermsInput {
                delete_by: "2026-12-06".into(),
                dpia_reference: " ".into(),
                ..input()
            }),
            ["dpia_reference", "delete_by"]
        );
        assert_eq!(
            fields(TermsInput {
                delete_by: "2030-01-01".into(),
                ..input()
            }),
            ["delete_by"]
        );
    }

    #[test]
    fn probability_and_earlier_decisions_decide_a_pair() {
        assert_eq!(status_of(0.95, None), Some(PairStatus::Match));
        assert_eq!(status_of(0.7, None), Some(PairStatus::Possible));
        assert_eq!(status_of(0.3, None), None);
        assert_eq!(status_of(0.7, Some(false)), Some(PairStatus::Rejected));
        assert_eq!(status_of(0.99, Some(true)), Some(PairStatus::Accepted));
    }

    #[test]
    fn the_bar_rises_through_the_stages() {
        assert_eq!(percent(Stage::Queued, 0, 0), 0);
        assert_eq!(percent(Stage::Training, 0, 100), 15);
        assert_eq!(percent(Stage::Scoring, 50, 100), 52);
        assert_eq!(percent(Stage::Scoring, 100, 100), 90);
        assert_eq!(percent(Stage::Done, 0, 0), 100);
    }
}

//! Participatory budgeting for community grants: a voting round's rules (its dates, how the
//! panel's scores and the public vote are weighted, how many projects each voter chooses), a
//! ballot's check, one-time codes, and the tally that combines the panel and the vote into a
//! ranking. Pure rules; the privacy design is in `docs/budgeting.md`.

use crate::cases::parse_date;
use crate::limits::{LINE, too_long};
use crate::people::FieldError;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

/// The most projects a voter may choose in one round.
pub const MAX_CHOICES: i64 = 5;
/// The fewest projects a round offers: a vote on one is no choice.
pub const MIN_OPTIONS: usize = 2;
/// The most event codes printed at once.
pub const MAX_BATCH: i64 = 500;
/// The most event codes printed for one round, in all.
pub const MAX_PRINTED: i64 = 5_000;
/// Characters of a one-time code: no 0/O, 1/I/L, so a code read aloud or from paper is typed right.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a one-time code (about 40 bits).
pub const CODE_LENGTH: usize = 8;
/// The highest score an assessor gives a criterion (see [`crate::grants::SCORES`]).
const TOP_SCORE: i64 = 5;

/// A voting round as the grants officer types it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RoundInput {
    pub title: String,
    pub opens_on: String,
    pub closes_on: String,
    /// The panel's share of the combined score, in percent; the vote has the rest.
    pub panel_weight: String,
    pub choices: String,
    /// Application ids, as the form's checkboxes send them.
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRound {
    pub title: String,
    pub opens_on: Date,
    pub closes_on: Date,
    pub panel_weight: i64,
    pub choices: i64,
    pub options: Vec<Uuid>,
}

/// Every problem with a round, by field, or the round. `shortlist`: the applications that may
/// be put to the vote (submitted, scored by enough assessors, in the round's locality).
pub fn check_round(
    input: &RoundInput,
    shortlist: &[Uuid],
    today: Date,
) -> Result<CheckedRound, Vec<FieldError>> {
    let mut errors = Vec::new();
    let title = input.title.trim().to_string();
    if title.is_empty() {
        errors.push(FieldError::new("title", "Enter the round's title"));
    }
    errors.extend(too_long("title", "The title", &title, LINE));
    let opens_on = parse_date(&input.opens_on);
    if opens_on.is_none() {
        errors.push(FieldError::new(
            "opens_on",
            "Enter the day voting opens, for example 2026-03-01",
        ));
    }
    let closes_on = parse_date(&input.closes_on);
    match (opens_on, closes_on) {
        (_, None) => errors.push(FieldError::new(
            "closes_on",
            "Enter the day voting closes, for example 2026-03-14",
        )),
        (Some(opens), Some(closes)) if closes < opens => errors.push(FieldError::new(
            "closes_on",
            "The day voting closes must be on or after the day it opens",
        )),
        (_, Some(closes)) if closes < today => errors.push(FieldError::new(
            "closes_on",
            "The day voting closes must be today or later",
        )),
        _ => {}
    }
    let panel_weight = match input.panel_weight.trim().parse::<i64>() {
        Ok(w) if (0..=100).contains(&w) => w,
        _ => {
            errors.push(FieldError::new(
                "panel_weight",
                "Enter the panel's weight as a whole number from 0 to 100",
            ));
            0
        }
    };
    let mut options = Vec::new();
    for raw in &input.options {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) if shortlist.contains(&id) => {
                if !options.contains(&id) {
                    options.push(id);
                }
            }
            _ => {
                errors.push(FieldError::new(
                    "options",
                    "Choose projects from the shortlist",
                ));
                break;
            }
        }
    }
    if options.len() < MIN_OPTIONS && !errors.iter().any(|e| e.field == "options") {
        errors.push(FieldError::new(
            "options",
            format!("Choose at least {MIN_OPTIONS} projects to put to the vote"),
        ));
    }
    let most = MAX_CHOICES.min(options.len().max(1) as i64);
    let choices = match input.choices.trim().parse::<i64>() {
        Ok(n) if (1..=most).contains(&n) => n,
        _ => {
            errors.push(FieldError::new(
                "choices",
                format!("Enter how many projects each person may choose, from 1 to {most}"),
            ));
            1
        }
    };
    match (errors.is_empty(), opens_on, closes_on) {
        (true, Some(opens_on), Some(closes_on)) => Ok(CheckedRound {
            title,
            opens_on,
            closes_on,
            panel_weight,
            choices,
            options,
        }),
        _ => Err(errors),
    }
}

/// Where a round stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    NotOpen,
    Open,
    Closed,
}

pub fn stage(opens_on: Date, closes_on: Date, today: Date) -> Stage {
    if today < opens_on {
        Stage::NotOpen
    } else if today > closes_on {
        Stage::Closed
    } else {
        Stage::Open
    }
}

/// A code as typed: capitals, without spaces or dashes.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A code from random bytes, printed in two groups of four. A byte maps to a character only
/// below the largest multiple of the alphabet's length (rejection sampling), so every
/// character is equally likely; `random` must not run out.
pub fn code_from(random: impl IntoIterator<Item = u8>) -> String {
    let fair = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u16;
    let chars: String = random
        .into_iter()
        .filter(|b| u16::from(*b) < fair)
        .take(CODE_LENGTH)
        .map(|b| CODE_ALPHABET[b as usize % CODE_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// The address as one person: lower case, without a `+tag`, and for Gmail without dots (which
/// Gmail ignores), so one inbox cannot ask for a code under many spellings. `email` is
/// already normalised ([`crate::people::normalise_email`]).
pub fn voting_address(email: &str) -> String {
    let Some((local, domain)) = email.split_once('@') else {
        return email.to_string();
    };
    let local = local.split('+').next().unwrap_or(local);
    match domain {
        "gmail.com" | "googlemail.com" => format!("{}@gmail.com", local.replace('.', "")),
        _ => format!("{local}@{domain}"),
    }
}

/// The projects a ballot chooses, or what is wrong with it.
pub fn check_ballot(
    chosen: &[String],
    options: &[Uuid],
    most: i64,
) -> Result<Vec<Uuid>, FieldError> {
    let mut ids = Vec::new();
    for raw in chosen {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) if options.contains(&id) => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            _ => return Err(FieldError::new("projects", "Choose projects from the list")),
        }
    }
    if ids.is_empty() {
        return Err(FieldError::new(
            "projects",
            "Choose at least one project to vote for",
        ));
    }
    if ids.len() as i64 > most {
        let plural = if most == 1 { "" } else { "s" };
        return Err(FieldError::new(
            "projects",
            format!("Choose no more than {most} project{plural}"),
        ));
    }
    Ok(ids)
}

/// One project in the tally: the panel's scores and the votes it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: Uuid,
    /// The sum of every score every assessor gave it.
    pub score_sum: i64,
    pub assessors: i64,
    /// How many criteria each assessor scored.
    pub criteria: i64,
    pub votes: i64,
}

/// A project's place in the combined ranking. Scores are per mille (1000 is the most).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub id: Uuid,
    pub rank: usize,
    pub panel: i64,
    pub vote: i64,
    pub combined: i64,
    pub votes: i64,
}

fn per_mille(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part * 1000 + whole / 2) / whole
    }
}

/// The panel's mean score as a share of the most it could give.
pub fn panel_score(c: &Candidate) -> i64 {
    per_mille(c.score_sum, c.assessors * c.criteria * TOP_SCORE)
}

/// The combined ranking: `panel_weight` percent of the panel's score and the rest of the share
/// of ballots that chose the project. Equal combined scores share a rank ("1, 2, 2, 4"), listed
/// by votes, then the panel's score, then the order given.
pub fn rank(candidates: &[Candidate], ballots: i64, panel_weight: i64) -> Vec<Ranked> {
    let weight = panel_weight.clamp(0, 100);
    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .map(|c| {
            let panel = panel_score(c);
            let vote = per_mille(c.votes, ballots);
            Ranked {
                id: c.id,
                rank: 0,
                panel,
                vote,
                combined: (panel * weight + vote * (100 - weight) + 50) / 100,
                votes: c.votes,
            }
        })
        .collect();
    ranked.sort_by_key(|r| std::cmp::Reverse((r.combined, r.votes, r.panel)));
    for i in 0..ranked.len() {
        ranked[i].rank = if i > 0 && ranked[i].combined == ranked[i - 1].combined {
            ranked[i - 1].rank
        } else {
            i + 1
        };
    }
    ranked
}

/// Per mille as a percentage to one decimal place: 625 is "62.5%".
pub fn percent(per_mille: i64) -> String {
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn candidate(n: u128, score_sum: i64, votes: i64) -> Candidate {
        // Two assessors, four criteria: the most is 40.
        Candidate {
            id: id(n),
            score_sum,
            assessors: 2,
            criteria: 4,
            votes,
        }
    }

    #[test]
    fn the_weights_decide_between_the_panel_and_the_vote() {
        // A: the panel's favourite (36 of 40), few votes. B: middling, most votes.
        let both = [candidate(1, 36, 2), candidate(2, 24, 8)];
        let by_panel = rank(&both, 10, 100);
        assert_eq!(by_panel[0].id, id(1));
        assert_eq!((by_panel[0].panel, by_panel[0].combined), (900, 900));
        let by_vote = rank(&both, 10, 0);
        assert_eq!(by_vote[0].id, id(2));
        assert_eq!((by_vote[0].vote, by_vote[0].combined), (800, 800));
        // Half and half: A 0.5 × 900 + 0.5 × 200 = 550; B 0.5 × 600 + 0.5 × 800 = 700.
        let even = rank(&both, 10, 50);
        assert_eq!(
            even.iter().map(|r| (r.id, r.combined)).collect::<Vec<_>>(),
            [(id(2), 700), (id(1), 550)]
        );
        // 80% panel: A 720 + 40 = 760; B 480 + 160 = 640.
        assert_eq!(rank(&both, 10, 80)[0].id, id(1));
    }

    #[test]
    fn equal_scores_share_a_rank_and_no_ballots_count_nothing() {
        let tied = [
            candidate(1, 20, 0),
            candidate(2, 20, 0),
            candidate(3, 10, 0),
        ];
        let ranked = rank(&tied, 0, 30);
        assert_eq!(ranked.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 1, 3]);
        assert!(ranked.iter().all(|r| r.vote == 0));
        // Unscored: no division by zero.
        let unscored = Candidate {
            assessors: 0,
            ..candidate(4, 0, 1)
        };
        assert_eq!(panel_score(&unscored), 0);
        assert_eq!(percent(625), "62.5%");
    }

    #[test]
    fn a_ballot_chooses_between_one_and_the_most_allowed() {
        let options = [id(1), id(2), id(3)];
        let s = |v: &[u128]| v.iter().map(|n| id(*n).to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_ballot(&s(&[1, 3]), &options, 2),
            Ok(vec![id(1), id(3)])
        );
        // The same project twice is one choice.
        assert_eq!(check_ballot(&s(&[2, 2]), &options, 1), Ok(vec![id(2)]));
        let none = check_ballot(&[], &options, 2).unwrap_err();
        assert_eq!(none.field, "projects");
        assert!(
            check_ballot(&s(&[1, 2, 3]), &options, 2)
                .unwrap_err()
                .message
                .contains("no more than 2")
        );
        assert!(check_ballot(&s(&[9]), &options, 2).is_err());
        assert!(check_ballot(&["x".into()], &options, 2).is_err());
    }

    #[test]
    fn a_round_needs_dates_in_order_a_weight_and_two_shortlisted_projects() {
        let shortlist = [id(1), id(2), id(3)];
        let input = RoundInput {
            title: "Ladywood decides".into(),
            opens_on: "2026-03-01".into(),
            closes_on: "2026-03-14".into(),
            panel_weight: "40".into(),
            choices: "2".into(),
            options: vec![id(1).to_string(), id(2).to_string()],
        };
        let today = date!(2026 - 02 - 20);
        let round = check_round(&input, &shortlist, today).unwrap();
        assert_eq!((round.panel_weight, round.choices), (40, 2));
        let bad = RoundInput {
            title: " ".into(),
            opens_on: "2026-03-14".into(),
            closes_on: "2026-03-01".into(),
            panel_weight: "140".into(),
            choices: "3".into(),
            options: vec![id(1).to_string()],
        };
        let errors = check_round(&bad, &shortlist, today).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["title", "closes_on", "panel_weight", "options", "choices"]
        );
        let outside = RoundInput {
            options: vec![id(1).to_string(), id(7).to_string()],
            ..input.clone()
        };
        assert!(check_round(&outside, &shortlist, today).is_err());
        let past = RoundInput {
            closes_on: "2026-02-19".into(),
            opens_on: "2026-02-01".into(),
            ..input
        };
        assert!(check_round(&past, &shortlist, today).is_err());
    }

    #[test]
    fn stages_and_codes() {
        let (opens, closes) = (date!(2026 - 03 - 01), date!(2026 - 03 - 14));
        assert_eq!(stage(opens, closes, date!(2026 - 02 - 28)), Stage::NotOpen);
        assert_eq!(stage(opens, closes, opens), Stage::Open);
        assert_eq!(stage(opens, closes, closes), Stage::Open);
        assert_eq!(stage(opens, closes, date!(2026 - 03 - 15)), Stage::Closed);
        // 255 is past the last whole alphabet (248): skipped, not folded onto a letter.
        let code = code_from([0, 1, 2, 3, 30, 255, 31, 32, 40]);
        assert_eq!(code, "ABCD-9ABK");
        assert_eq!(normalise_code(" abcd-9abh "), "ABCD9ABH");
        assert_eq!(normalise_code(&code), "ABCD9ABK");
        assert_eq!(voting_address("a.b+x@googlemail.com"), "ab@gmail.com");
        assert_eq!(voting_address("a.b+votes@example.org"), "a.b@example.org");
    }
}

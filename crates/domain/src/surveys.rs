//! Surveys of children, young people and families: the questions an officer builds, the checks
//! of an anonymous answer, personal details flagged in free text, and the statistics of the
//! public results (Wilson intervals, small-number suppression). No IO.

use crate::limits::{LINE, too_long};
use crate::people::FieldError;
use serde::{Deserialize, Serialize};

choices! {
    /// The GOV.UK question patterns a survey is built from.
    QuestionKind {
        Radios => ("radios", "Choose one"),
        Checkboxes => ("checkboxes", "Choose all that apply"),
        Scale => ("scale", "A scale from 1 to 5"),
        Text => ("text", "Free text"),
    }
}

choices! {
    /// Age bands asked of everyone who answers (no date of birth).
    AgeBand {
        Under11 => ("under_11", "Under 11"),
        From11To15 => ("11_to_15", "11 to 15"),
        From16To18 => ("16_to_18", "16 to 18"),
        From19To25 => ("19_to_25", "19 to 25"),
        Adult => ("26_or_over", "26 or over"),
        NotSaid => ("not_said", "Prefer not to say"),
    }
}

choices! {
    /// The optional equality question: the 2021 census's five broad ethnic groups.
    EthnicGroup {
        Asian => ("asian", "Asian or Asian British"),
        Black => ("black", "Black, Black British, Caribbean or African"),
        Mixed => ("mixed", "Mixed or multiple ethnic groups"),
        White => ("white", "White"),
        Other => ("other", "Another ethnic group"),
    }
}

/// The labels of a 1 to 5 scale, as stored and shown.
pub const SCALE: [&str; 5] = ["1", "2", "3", "4", "5"];
/// Questions in one survey: each has a field name from [`QUESTION_FIELDS`].
pub const MAX_QUESTIONS: usize = 20;
/// The field of the n-th question on the public form (GOV.UK's error summary links to it).
pub const QUESTION_FIELDS: [&str; MAX_QUESTIONS] = [
    "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10", "q11", "q12", "q13", "q14", "q15",
    "q16", "q17", "q18", "q19", "q20",
];
/// Options of one question.
pub const MAX_OPTIONS: usize = 12;
/// A free-text answer, in characters.
pub const ANSWER_TEXT: usize = 1_000;
/// The survey's introduction, and what was said and done in "you said, we did".
pub const LONG_TEXT: usize = 2_000;
/// Fewer answers than this and a figure is not shown (nor loaded as an indicator value).
pub const SMALL_NUMBER: u32 = 10;

/// A question as the officer writes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuestionInput {
    pub kind: String,
    pub prompt: String,
    /// One option a line (radios and checkboxes).
    pub options: String,
    /// An indicator reference, or empty.
    pub indicator: String,
    /// The options counted towards the indicator, one a line.
    pub counted: String,
}

/// A checked question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub kind: QuestionKind,
    pub prompt: String,
    pub options: Vec<String>,
    pub indicator: Option<String>,
    pub counted: Vec<String>,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks a question against the indicators it may be linked to.
pub fn check_question(
    input: &QuestionInput,
    indicators: &[String],
) -> Result<Question, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = QuestionKind::from_slug(&input.kind);
    if kind.is_none() {
        errors.push(FieldError::new("kind", "Select the kind of question"));
    }
    let prompt = input.prompt.trim().to_string();
    if prompt.is_empty() {
        errors.push(FieldError::new("prompt", "Enter the question"));
    }
    errors.extend(too_long("prompt", "The question", &prompt, LINE));
    let options = match kind {
        Some(QuestionKind::Scale) => SCALE.iter().map(|s| s.to_string()).collect(),
        Some(QuestionKind::Text) | None => Vec::new(),
        Some(_) => lines(&input.options),
    };
    if matches!(kind, Some(QuestionKind::Radios | QuestionKind::Checkboxes)) {
        if !(2..=MAX_OPTIONS).contains(&options.len()) {
            errors.push(FieldError::new(
                "options",
                format!("Enter between 2 and {MAX_OPTIONS} options, one on each line"),
            ));
        }
        if options.iter().any(|o| o.chars().count() > 200) {
            errors.push(FieldError::new(
                "options",
                "Each option must be 200 characters or fewer",
            ));
        }
    }
    let indicator = Some(input.indicator.trim().to_string()).filter(|s| !s.is_empty());
    let counted = lines(&input.counted);
    if let Some(reference) = &indicator {
        if !indicators.contains(reference) {
            errors.push(FieldError::new(
                "indicator",
                "Select an indicator from the list",
            ));
        } else if kind == Some(QuestionKind::Text) {
            errors.push(FieldError::new(
                "indicator",
                "A free-text question cannot feed an indicator",
            ));
        } else if counted.is_empty() {
            errors.push(FieldError::new(
                "counted",
                "Enter the options that count towards the indicator, one on each line",
            ));
        } else if let Some(stray) = counted.iter().find(|c| !options.contains(c)) {
            errors.push(FieldError::new(
                "counted",
                format!("\"{stray}\" is not one of the question's options"),
            ));
        }
    } else if !counted.is_empty() {
        errors.push(FieldError::new(
            "indicator",
            "Select the indicator the counted options feed",
        ));
    }
    match (kind, errors.is_empty()) {
        (Some(kind), true) => Ok(Question {
            kind,
            prompt,
            options,
            counted: if indicator.is_some() {
                counted
            } else {
                Vec::new()
            },
            indicator,
        }),
        _ => Err(errors),
    }
}

/// What one person answered: nothing that says who they are or when, beyond the day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub age_band: String,
    /// A locality slug, or empty when the postcode district was not given or is not the city's.
    pub locality: String,
    /// An [`EthnicGroup`] slug, or empty.
    pub ethnic_group: String,
    /// (question index, chosen option) for radios, checkboxes and scales.
    pub choices: Vec<(usize, String)>,
    /// (question index, text) for free text, held back for moderation.
    pub texts: Vec<(usize, String)>,
}

/// Checks an answer sent from the public form (`field` reads a field; `all` reads every value of
/// a repeated one). Radios and scales must be answered; checkboxes and free text may be left.
pub fn check_response(
    questions: &[Question],
    field: impl Fn(&str) -> String,
    all: impl Fn(&str) -> Vec<String>,
) -> Result<Response, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut response = Response::default();
    for (i, question) in questions.iter().enumerate().take(MAX_QUESTIONS) {
        let name = QUESTION_FIELDS[i];
        match question.kind {
            QuestionKind::Radios | QuestionKind::Scale => {
                let chosen = field(name);
                if question.options.contains(&chosen) {
                    response.choices.push((i, chosen));
                } else {
                    errors.push(FieldError::new(
                        name,
                        format!("Answer \"{}\"", question.prompt),
                    ));
                }
            }
            QuestionKind::Checkboxes => {
                let chosen = all(name);
                if chosen.iter().any(|c| !question.options.contains(c)) {
                    errors.push(FieldError::new(name, "Choose from the options shown"));
                }
                let mut seen = Vec::new();
                for c in chosen {
                    if !seen.contains(&c) {
                        seen.push(c.clone());
                        response.choices.push((i, c));
                    }
                }
            }
            QuestionKind::Text => {
                let text = field(name).trim().to_string();
                errors.extend(too_long(name, "Your answer", &text, ANSWER_TEXT));
                if !text.is_empty() {
                    response.texts.push((i, text));
                }
            }
        }
    }
    match AgeBand::from_slug(&field("age_band")) {
        Some(band) => response.age_band = band.slug().to_string(),
        None => errors.push(FieldError::new(
            "age_band",
            "Select your age, or prefer not to say",
        )),
    }
    let district = field("district");
    if !district.trim().is_empty() {
        match crate::cases::read_postcode(&district) {
            Some(_) => {
                response.locality = crate::cases::locality_for_postcode(&district)
                    .unwrap_or("")
                    .to_string()
            }
            None => errors.push(FieldError::new(
                "district",
                "Enter the first part of your postcode, like B16, or leave it empty",
            )),
        }
    }
    let group = field("ethnic_group");
    if !group.is_empty() {
        match EthnicGroup::from_slug(&group) {
            Some(g) => response.ethnic_group = g.slug().to_string(),
            None => errors.push(FieldError::new(
                "ethnic_group",
                "Choose an ethnic group, or leave it",
            )),
        }
    }
    if errors.is_empty() {
        Ok(response)
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------------------------
// Personal details in free text

/// What in `text` looks like a personal detail, in words for the moderator ("a phone number").
/// Simple patterns, meant to catch the usual slips, not to prove text safe: a moderator reads
/// every answer before it is published.
pub fn personal_details(text: &str) -> Vec<&'static str> {
    use regex::Regex;
    use std::sync::LazyLock;
    static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
        [
            ("a phone number", r"(?:\+44\s?|\b0)(?:\d[\s-]?){9,10}\b"),
            (
                "an email address",
                r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b",
            ),
            ("a postcode", r"(?i)\b[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}\b"),
            (
                "a name",
                r"(?i:\bmy name is|\bi'm|\bi am|\bcalled|\bnamed)\s+[A-Z][a-z]+",
            ),
        ]
        .into_iter()
        .filter_map(|(what, pattern)| Regex::new(pattern).ok().map(|r| (what, r)))
        .collect()
    });
    PATTERNS
        .iter()
        .filter(|(_, r)| r.is_match(text))
        .map(|(what, _)| *what)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Results

/// The Wilson score interval for `x` of `n` at 95% (z = 1.96), as proportions; `None` for n = 0.
/// Unlike the normal approximation it stays within 0 to 1 and behaves at small counts.
pub fn wilson(x: u32, n: u32) -> Option<(f64, f64)> {
    if n == 0 || x > n {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let (x, n) = (f64::from(x), f64::from(n));
    let p = x / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    Some((
        ((centre - spread) / denominator).max(0.0),
        ((centre + spread) / denominator).min(1.0),
    ))
}

/// One figure of the results: `count` of `n` chose the option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    pub count: u32,
    pub n: u32,
}

impl Share {
    /// Too few answers to show.
    pub fn suppressed(self) -> bool {
        self.n < SMALL_NUMBER
    }

    /// The percentage and its 95% interval, or `None` when suppressed.
    pub fn percent(self) -> Option<(f64, f64, f64)> {
        if self.suppressed() {
            return None;
        }
        let (low, high) = wilson(self.count, self.n)?;
        Some((
            100.0 * f64::from(self.count) / f64::from(self.n),
            100.0 * low,
            100.0 * high,
        ))
    }

    /// Against the city's figure: higher or lower only when the intervals do not overlap.
    pub fn compared_with(self, city: Share) -> &'static str {
        match (self.percent(), city.percent()) {
            (Some((_, low, _)), Some((_, _, city_high))) if low > city_high => {
                "Higher than the city"
            }
            (Some((_, _, high)), Some((_, city_low, _))) if high < city_low => {
                "Lower than the city"
            }
            (Some(_), Some(_)) => "Similar to the city",
            _ => "Too few answers to compare",
        }
    }
}

/// One stored response, as the results read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answered {
    /// `YYYY-MM`.
    pub month: String,
    pub age_band: String,
    pub locality: String,
    pub ethnic_group: String,
    /// (question index, option).
    pub choices: Vec<(usize, String)>,
}

/// Of the responses `keep` picks that answered question `question`, how many chose any of
/// `options`.
pub fn share(
    responses: &[Answered],
    question: usize,
    options: &[String],
    keep: impl Fn(&Answered) -> bool,
) -> Share {
    let (mut count, mut n) = (0, 0);
    for r in responses.iter().filter(|r| keep(r)) {
        let mine: Vec<&String> = r
            .choices
            .iter()
            .filter(|(q, _)| *q == question)
            .map(|(_, c)| c)
            .collect();
        if mine.is_empty() {
            continue;
        }
        n += 1;
        if mine.iter().any(|c| options.contains(c)) {
            count += 1;
        }
    }
    Share { count, n }
}

/// The indicator values a survey gives: for each question linked to an indicator, each month
/// and each area (`city` and every locality), the share who chose a counted option, leaving
/// out every figure from fewer than [`SMALL_NUMBER`] answers. (reference, month, area, share).
pub fn indicator_values(
    questions: &[Question],
    responses: &[Answered],
    localities: &[String],
) -> Vec<(String, String, String, Share)> {
    let mut months: Vec<&String> = responses.iter().map(|r| &r.month).collect();
    months.sort();
    months.dedup();
    let mut out = Vec::new();
    for (i, question) in questions.iter().enumerate() {
        let Some(reference) = &question.indicator else {
            continue;
        };
        for month in &months {
            let areas = std::iter::once(None).chain(localities.iter().map(Some));
            for area in areas {
                let s = share(responses, i, &question.counted, |r| {
                    &r.month == *month && area.is_none_or(|a| &r.locality == a)
                });
                if !s.suppressed() {
                    let area = area.map_or("city".to_string(), Clone::clone);
                    out.push((reference.clone(), month.to_string(), area, s));
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// "You said, we did"

#[derive(Debug, Clone, Default, PartialEq)]
pub struct YouSaidInput {
    pub theme: String,
    pub said: String,
    pub did: String,
    pub done_on: String,
    pub locality: String,
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct YouSaid {
    pub theme: String,
    pub said: String,
    pub did: String,
    pub done_on: time::Date,
    /// A locality slug, or `None` for the whole city.
    pub locality: Option<String>,
    pub outcome: Option<i32>,
}

/// Checks an entry against the localities and outcome numbers there are.
pub fn check_you_said(
    input: &YouSaidInput,
    localities: &[String],
    outcomes: &[i32],
) -> Result<YouSaid, Vec<FieldError>> {
    let mut errors = Vec::new();
    let text =
        |field: &'static str, what: &str, value: &str, max: usize, errors: &mut Vec<FieldError>| {
            let value = value.trim().to_string();
            if value.is_empty() {
                errors.push(FieldError::new(
                    field,
                    format!("Enter {}", what.to_lowercase()),
                ));
            }
            errors.extend(too_long(field, what, &value, max));
            value
        };
    let theme = text("theme", "The theme", &input.theme, LINE, &mut errors);
    let said = text("said", "What was said", &input.said, LONG_TEXT, &mut errors);
    let did = text("did", "What was done", &input.did, LONG_TEXT, &mut errors);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let done_on = time::Date::parse(input.done_on.trim(), &format).ok();
    if done_on.is_none() {
        errors.push(FieldError::new(
            "done_on",
            "Enter the date it was done, like 2026-11-30",
        ));
    }
    let locality = Some(input.locality.trim().to_string()).filter(|s| !s.is_empty());
    if locality.as_ref().is_some_and(|l| !localities.contains(l)) {
        errors.push(FieldError::new(
            "locality",
            "Select a locality, or the whole city",
        ));
    }
    let outcome = match input.outcome.trim() {
        "" => None,
        n => match n.parse::<i32>().ok().filter(|n| outcomes.contains(n)) {
            Some(n) => Some(n),
            None => {
                errors.push(FieldError::new(
                    "outcome",
                    "Select one of the nine outcomes, or none",
                ));
                None
            }
        },
    };
    match (done_on, errors.is_empty()) {
        (Some(done_on), true) => Ok(YouSaid {
            theme,
            said,
            did,
            done_on,
            locality,
            outcome,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), table I: 81 of 263 gives 0.2553 to 0.3662; 15 of 148, 0.0624 to 0.1605.
        let (low, high) = wilson(81, 263).unwrap();
        assert!(close(low, 0.2553) && close(high, 0.3662), "{low} {high}");
        let (low, high) = wilson(15, 148).unwrap();
        assert!(close(low, 0.0624) && close(high, 0.1605), "{low} {high}");
        // 0 of 10: from 0 to 0.2775; 10 of 10: from 0.7225 to 1.
        let (low, high) = wilson(0, 10).unwrap();
        assert!(close(low, 0.0) && close(high, 0.2775), "{low} {high}");
        let (low, high) = wilson(10, 10).unwrap();
        assert!(close(low, 0.7225) && close(high, 1.0), "{low} {high}");
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(3, 2), None);
    }

    #[test]
    fn fewer_than_ten_answers_are_suppressed() {
        assert!(Share { count: 9, n: 9 }.percent().is_none());
        let (p, low, high) = Share { count: 5, n: 10 }.percent().unwrap();
        assert!(close(p, 50.0) && low > 18.0 && high < 82.0);
        assert_eq!(
            Share { count: 90, n: 100 }.compared_with(Share { count: 50, n: 100 }),
            "Higher than the city"
        );
        assert_eq!(
            Share { count: 45, n: 100 }.compared_with(Share { count: 50, n: 100 }),
            "Similar to the city"
        );
        assert_eq!(
            Share { count: 1, n: 5 }.compared_with(Share { count: 50, n: 100 }),
            "Too few answers to compare"
        );
    }

    #[test]
    fn indicator_values_leave_out_small_numbers() {
        let q = Question {
            kind: QuestionKind::Radios,
            prompt: "Safe?".into(),
            options: vec!["Yes".into(), "No".into()],
            indicator: Some("2.1".into()),
            counted: vec!["Yes".into()],
        };
        let answer = |locality: &str, choice: &str| Answered {
            month: "2026-11".into(),
            locality: locality.into(),
            choices: vec![(0, choice.into())],
            ..Answered::default()
        };
        let mut responses: Vec<Answered> = (0..8).map(|_| answer("ladywood", "Yes")).collect();
        responses.extend((0..4).map(|_| answer("ladywood", "No")));
        responses.extend((0..5).map(|_| answer("perry-barr", "Yes")));
        let values = indicator_values(&[q], &responses, &["ladywood".into(), "perry-barr".into()]);
        let got: Vec<_> = values
            .iter()
            .map(|(_, m, a, s)| (m.as_str(), a.as_str(), s.count, s.n))
            .collect();
        assert_eq!(
            got,
            vec![("2026-11", "city", 13, 17), ("2026-11", "ladywood", 8, 12)]
        );
    }

    #[test]
    fn personal_details_are_flagged() {
        let flags = |t: &str| personal_details(t);
        assert_eq!(flags("Ring me on 07700 900123"), vec!["a phone number"]);
        assert_eq!(flags("call 0121 496 0000 please"), vec!["a phone number"]);
        assert_eq!(flags("mail sam.k@example.org"), vec!["an email address"]);
        assert_eq!(flags("we live at B16 8QT"), vec!["a postcode"]);
        assert_eq!(flags("Hi, my name is Jordan and"), vec!["a name"]);
        assert_eq!(flags("I'm Aisha, 14"), vec!["a name"]);
        assert!(flags("The youth club closes too early on Fridays").is_empty());
        assert!(
            flags("I'm happy with the park").is_empty(),
            "lower case is not a name"
        );
        assert!(flags("there were 12 of us and 3 staff").is_empty());
    }

    #[test]
    fn a_question_links_only_its_own_options_to_an_indicator() {
        let indicators = vec!["2.1".to_string()];
        let input = QuestionInput {
            kind: "radios".into(),
            prompt: "Do you feel safe in your area?".into(),
            options: "Yes\nNo\nNot sure".into(),
            indicator: "2.1".into(),
            counted: "Yes".into(),
        };
        let q = check_question(&input, &indicators).unwrap();
        assert_eq!(q.options.len(), 3);
        assert_eq!(q.counted, vec!["Yes"]);
        let stray = QuestionInput {
            counted: "Maybe".into(),
            ..input.clone()
        };
        let errors = check_question(&stray, &indicators).unwrap_err();
        assert_eq!(errors[0].field, "counted");
        let unknown = QuestionInput {
            indicator: "9.9".into(),
            ..input.clone()
        };
        assert_eq!(
            check_question(&unknown, &indicators).unwrap_err()[0].field,
            "indicator"
        );
        let scale = QuestionInput {
            kind: "scale".into(),
            options: String::new(),
            ..input
        };
        assert!(
            check_question(&scale, &indicators).is_err(),
            "Yes is no scale point"
        );
    }

    #[test]
    fn an_answer_needs_an_age_band_and_each_single_choice() {
        let questions = vec![Question {
            kind: QuestionKind::Radios,
            prompt: "Safe?".into(),
            options: vec!["Yes".into(), "No".into()],
            indicator: None,
            counted: vec![],
        }];
        let none = check_response(&questions, |_| String::new(), |_| vec![]).unwrap_err();
        let fields: Vec<_> = none.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["q1", "age_band"]);
        let get = |name: &str| match name {
            "q1" => "Yes".to_string(),
            "age_band" => "11_to_15".into(),
            "district" => "b16".into(),
            _ => String::new(),
        };
        let ok = check_response(&questions, get, |_| vec![]).unwrap();
        assert_eq!(ok.locality, "ladywood");
        assert_eq!(ok.choices, vec![(0, "Yes".to_string())]);
    }
}

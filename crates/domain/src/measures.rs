//! Outcome measures: a named set of areas, each scored 1 (stuck) to 10 (thriving), read again
//! and again to draw a family's journey. An organisation that holds a licence for a published
//! measure (the Outcomes Star, say) names the measure and its areas itself, so its licensed
//! wording never ships with earlyhelp; we ship only our own "Family wellbeing" measure.
//!
//! Also the checks of a readings import: every row, every field, every problem reported.

use crate::cases::{WELLBEING_AREAS, parse_date, valid_score};
use crate::people::FieldError;
use std::collections::HashSet;
use time::Date;
use uuid::Uuid;

/// The built-in measure, with the areas of [`WELLBEING_AREAS`]. Migration 0009 creates it with
/// this id and moves every reading taken before measures were configurable onto it.
pub const DEFAULT_MEASURE_ID: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);
pub const DEFAULT_MEASURE_NAME: &str = "Family wellbeing";

pub const MIN_AREAS: usize = 2;
pub const MAX_AREAS: usize = 12;
const MAX_NAME_CHARS: usize = 80;

/// Field names of the reading form: one per area, in the measure's order.
pub const SCORE_FIELDS: [&str; MAX_AREAS] = [
    "score_1", "score_2", "score_3", "score_4", "score_5", "score_6", "score_7", "score_8",
    "score_9", "score_10", "score_11", "score_12",
];

/// A measure and its areas, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub id: Uuid,
    pub name: String,
    pub areas: Vec<String>,
}

impl Measure {
    pub fn family_wellbeing() -> Measure {
        Measure {
            id: DEFAULT_MEASURE_ID,
            name: DEFAULT_MEASURE_NAME.into(),
            areas: WELLBEING_AREAS.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// The area as the measure spells it, for a name typed in any case.
    pub fn area(&self, typed: &str) -> Option<&str> {
        let typed = typed.trim();
        self.areas
            .iter()
            .find(|a| a.eq_ignore_ascii_case(typed))
            .map(String::as_str)
    }
}

/// A measure as an organisation names it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMeasure {
    pub name: String,
    pub areas: Vec<String>,
    /// Which licence lets the organisation use it (or that it is their own).
    pub licence: String,
}

/// Checks a new measure: a name, one area per line (from 2 to 12, no two alike), a licence.
pub fn check_measure(
    name: &str,
    areas: &str,
    licence: &str,
) -> Result<NewMeasure, Vec<FieldError>> {
    let mut errors = Vec::new();
    let areas_typed = areas;
    let name = name.trim();
    if name.is_empty() {
        errors.push(FieldError::new("name", "Enter the name of the measure"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            "name",
            format!("The name must be {MAX_NAME_CHARS} characters or fewer"),
        ));
    }
    let areas: Vec<String> = areas
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    let mut seen = HashSet::new();
    if !(MIN_AREAS..=MAX_AREAS).contains(&areas.len()) {
        errors.push(FieldError::new(
            "areas",
            format!(
                "Enter from {MIN_AREAS} to {MAX_AREAS} areas, one to a line (you entered {})",
                areas.len()
            ),
        ));
    } else if let Some(twice) = areas.iter().find(|a| !seen.insert(a.to_lowercase())) {
        errors.push(FieldError::new(
            "areas",
            format!("The area {twice:?} is entered twice"),
        ));
    } else if let Some(long) = areas.iter().find(|a| a.chars().count() > MAX_NAME_CHARS) {
        errors.push(FieldError::new(
            "areas",
            format!("The area {long:?} is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    errors.extend(crate::limits::too_long(
        "areas",
        "The areas",
        areas_typed,
        crate::limits::MEASURE_AREAS,
    ));
    errors.extend(crate::limits::too_long(
        "licence",
        "The licence",
        licence,
        crate::limits::LINE,
    ));
    if licence.trim().is_empty() {
        errors.push(FieldError::new(
            "licence",
            "Say which licence lets your organisation use this measure, or that you wrote it",
        ));
    }
    if errors.is_empty() {
        Ok(NewMeasure {
            name: name.to_string(),
            areas,
            licence: licence.trim().to_string(),
        })
    } else {
        Err(errors)
    }
}

/// A reading's score for each area, in the measure's order.
pub type Scores = Vec<(String, i64)>;

/// Checks a reading typed into the form: the date, and a score for every area of `measure`
/// (`scores[i]` is what was typed for its `i`th area).
pub fn check_reading(
    measure: &Measure,
    taken_on: &str,
    scores: &[String],
    today: Date,
) -> Result<(Date, Scores), Vec<FieldError>> {
    let mut errors = Vec::new();
    let taken_on = parse_date(taken_on).filter(|d| *d <= today);
    if taken_on.is_none() {
        errors.push(FieldError::new(
            "taken_on",
            "Enter the date of the reading, today or earlier, like 2026-11-24",
        ));
    }
    let mut checked = Vec::new();
    for (i, (area, field)) in measure.areas.iter().zip(SCORE_FIELDS).enumerate() {
        let typed = scores.get(i).map(String::as_str).unwrap_or("");
        match typed.trim().parse::<i64>() {
            Ok(score) if valid_score(score) => checked.push((area.clone(), score)),
            _ => errors.push(FieldError::new(
                field,
                format!("Enter a score from 1 to 10 for {}", area.to_lowercase()),
            )),
        }
    }
    match taken_on {
        Some(date) if errors.is_empty() => Ok((date, checked)),
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------------------------
// Importing readings

/// The columns a readings file must have.
pub const IMPORT_COLUMNS: [&str; 5] = ["family_id", "measure", "taken_on", "area", "score"];

/// The most rows one file may hold.
pub const MAX_IMPORT_ROWS: usize = 20_000;

/// One row of a readings file, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawReading {
    pub family_id: String,
    pub measure: String,
    pub taken_on: String,
    pub area: String,
    pub score: String,
}

/// A checked score, with the row it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedReading {
    pub row: usize,
    pub family_id: Uuid,
    pub measure_id: Uuid,
    pub taken_on: Date,
    pub area: String,
    pub score: i64,
}

/// A problem with one field of one row. Rows count from 1, the first row after the header;
/// row 0 is the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub field: &'static str,
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, field: &'static str, message: impl Into<String>) -> Self {
        RowError {
            row,
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.row == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "Row {}, {}: {}", self.row, self.field, self.message)
        }
    }
}

/// Checks every field of every row against the measures we hold; answers the scores, or every
/// problem. Whether each family exists and may be changed is the gate's to say, after this.
pub fn check_readings(
    rows: &[RawReading],
    measures: &[Measure],
    today: Date,
) -> Result<Vec<CheckedReading>, Vec<RowError>> {
    if rows.is_empty() {
        return Err(vec![RowError::new(0, "file", "The file has no readings")]);
    }
    if rows.len() > MAX_IMPORT_ROWS {
        return Err(vec![RowError::new(
            0,
            "file",
            format!(
                "The file has {} rows; import at most {MAX_IMPORT_ROWS} at a time",
                rows.len()
            ),
        )]);
    }
    let mut problems = Vec::new();
    let mut checked = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashMap::new();
    for (index, raw) in rows.iter().enumerate() {
        let row = index + 1;
        let family_id = Uuid::parse_str(raw.family_id.trim()).ok();
        if family_id.is_none() {
            problems.push(RowError::new(
                row,
                "family_id",
                format!(
                    "{:?} is not a family id; copy it from the family's page address",
                    raw.family_id.trim()
                ),
            ));
        }
        let typed_measure = raw.measure.trim();
        let measure = measures.iter().find(|m| {
            m.name.eq_ignore_ascii_case(typed_measure) || m.id.to_string() == typed_measure
        });
        if measure.is_none() {
            let names: Vec<&str> = measures.iter().map(|m| m.name.as_str()).collect();
            problems.push(RowError::new(
                row,
                "measure",
                format!(
                    "{typed_measure:?} is not a measure we hold; use one of: {}",
                    names.join(", ")
                ),
            ));
        }
        let taken_on = parse_date(&raw.taken_on);
        match taken_on {
            None => problems.push(RowError::new(
                row,
                "taken_on",
                format!(
                    "Enter the date as YYYY-MM-DD, like 2026-11-24 (got {:?})",
                    raw.taken_on.trim()
                ),
            )),
            Some(d) if d > today => problems.push(RowError::new(
                row,
                "taken_on",
                "The date of a reading must be today or earlier",
            )),
            Some(_) => {}
        }
        let area = measure.and_then(|m| m.area(&raw.area));
        if let (Some(m), None) = (measure, area) {
            problems.push(RowError::new(
                row,
                "area",
                format!(
                    "{:?} is not an area of {}; its areas are: {}",
                    raw.area.trim(),
                    m.name,
                    m.areas.join(", ")
                ),
            ));
        }
        let score = raw
            .score
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| valid_score(*s));
        if score.is_none() {
            problems.push(RowError::new(
                row,
                "score",
                format!(
                    "Enter a whole number from 1 to 10 (got {:?})",
                    raw.score.trim()
                ),
            ));
        }
        let (Some(family_id), Some(measure), Some(taken_on), Some(area), Some(score)) =
            (family_id, measure, taken_on, area, score)
        else {
            continue;
        };
        let key = (family_id, measure.id, taken_on, area.to_string());
        if let Some(first) = seen.insert(key, row) {
            problems.push(RowError::new(
                row,
                "area",
                format!("Row {first} already scores {area} for this family on this date"),
            ));
            continue;
        }
        checked.push(CheckedReading {
            row,
            family_id,
            measure_id: measure.id,
            taken_on,
            area: area.to_string(),
            score,
        });
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    fn confidence() -> Measure {
        Measure {
            id: Uuid::from_u128(7),
            name: "Parenting confidence".into(),
            areas: vec!["Routines".into(), "Boundaries".into()],
        }
    }

    fn raw(family: &str, measure: &str, taken_on: &str, area: &str, score: &str) -> RawReading {
        RawReading {
            family_id: family.into(),
            measure: measure.into(),
            taken_on: taken_on.into(),
            area: area.into(),
            score: score.into(),
        }
    }

    const FAMILY: &str = "0194f3a2-0000-7000-8000-000000000042";

    #[test]
    fn a_measure_needs_a_name_areas_and_a_licence() {
        let ok = check_measure(
            " Young carers' star ",
            "Caring\n\n  School \nFriends",
            "Ours",
        )
        .unwrap();
        assert_eq!(ok.name, "Young carers' star");
        assert_eq!(ok.areas, vec!["Caring", "School", "Friends"]);
        let fields = |r: Result<NewMeasure, Vec<FieldError>>| {
            r.unwrap_err().iter().map(|e| e.field).collect::<Vec<_>>()
        };
        assert_eq!(
            fields(check_measure("", "One", " ")),
            vec!["name", "areas", "licence"]
        );
        assert_eq!(
            fields(check_measure("M", "School\nschool", "x")),
            vec!["areas"]
        );
        let thirteen = (1..=13).map(|i| format!("Area {i}\n")).collect::<String>();
        assert_eq!(fields(check_measure("M", &thirteen, "x")), vec!["areas"]);
        let twelve = (1..=12).map(|i| format!("Area {i}\n")).collect::<String>();
        assert!(check_measure("M", &twelve, "x").is_ok());
    }

    #[test]
    fn the_built_in_measure_is_family_wellbeing() {
        let m = Measure::family_wellbeing();
        assert_eq!(m.id, DEFAULT_MEASURE_ID);
        assert_eq!(m.areas.len(), WELLBEING_AREAS.len());
        assert_eq!(m.area("feeling SAFE "), Some("Feeling safe"));
        assert_eq!(m.area("Feeling"), None);
    }

    #[test]
    fn a_typed_reading_needs_every_area_scored() {
        let m = confidence();
        let (d, scores) =
            check_reading(&m, "2026-11-01", &["3".into(), "10".into()], TODAY).unwrap();
        assert_eq!(d, date!(2026 - 11 - 01));
        assert_eq!(
            scores,
            vec![("Routines".into(), 3), ("Boundaries".into(), 10)]
        );
        let errors = check_reading(&m, "2026-12-01", &["0".into()], TODAY).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["taken_on", "score_1", "score_2"]);
        assert!(errors[2].message.contains("boundaries"));
    }

    #[test]
    fn good_rows_come_back_checked_in_the_measures_own_spelling() {
        let measures = [Measure::family_wellbeing(), confidence()];
        let rows = [
            raw(
                FAMILY,
                "family wellbeing",
                "2026-10-01",
                "home and money",
                "4",
            ),
            raw(
                FAMILY,
                "00000000-0000-0000-0000-000000000007",
                "2026-10-01",
                "Routines",
                " 9 ",
            ),
        ];
        let checked = check_readings(&rows, &measures, TODAY).unwrap();
        assert_eq!(checked.len(), 2);
        assert_eq!(checked[0].area, "Home and money");
        assert_eq!(checked[0].measure_id, DEFAULT_MEASURE_ID);
        assert_eq!(checked[1].measure_id, Uuid::from_u128(7));
        assert_eq!((checked[1].row, checked[1].score), (2, 9));
    }

    #[test]
    fn every_problem_is_named_by_row_and_field() {
        let measures = [Measure::family_wellbeing(), confidence()];
        let rows = [
            raw(
                "not-an-id",
                "Family wellbeing",
                "2026-10-01",
                "Feeling safe",
                "5",
            ),
            raw(
                FAMILY,
                "Outcomes Galaxy",
                "01/10/2026",
                "Feeling safe",
                "11",
            ),
            raw(
                FAMILY,
                "Parenting confidence",
                "2027-01-01",
                "Feeling safe",
                "5",
            ),
            raw(
                FAMILY,
                "Family wellbeing",
                "2026-10-01",
                "Feeling safe",
                "5",
            ),
            raw(
                FAMILY,
                "Family wellbeing",
                "2026-10-01",
                "feeling safe",
                "6",
            ),
        ];
        let problems = check_readings(&rows, &measures, TODAY).unwrap_err();
        let at: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.field)).collect();
        assert_eq!(
            at,
            vec![
                (1, "family_id"),
                (2, "measure"),
                (2, "taken_on"),
                (2, "score"),
                (3, "taken_on"),
                (3, "area"),
                (5, "area"),
            ]
        );
        assert_eq!(
            problems[6].to_string(),
            "Row 5, area: Row 4 already scores Feeling safe for this family on this date"
        );
        assert!(problems[5].message.contains("Routines, Boundaries"));
        assert_eq!(
            check_readings(&[], &measures, TODAY).unwrap_err()[0].to_string(),
            "The file has no readings"
        );
    }
}

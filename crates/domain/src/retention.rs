//! Retention: how long a family's record and a request for support are kept, when each falls
//! due, and what anonymisation leaves behind. Pure: the storage layer reads the records, asks
//! these rules, and writes what they say.
//!
//! Anonymising keeps what aggregate statistics need (locality, dates, states, level of need,
//! reasons, outcome readings, who worked the case) and removes what identifies the family
//! (names, full dates of birth, address, the full postcode, contact details, free text).

use crate::cases::{CaseState, MemberRole, parse_date, read_postcode};
use crate::people::FieldError;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// How long records are kept. Read from a TOML file by `earlyhelp retention apply --schedule`;
/// every field may be left out to take its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// A closed early help record is kept until its youngest child reaches this age.
    pub youngest_child_age: u8,
    /// A closed record of a household with no child in it is kept this many years after it
    /// was last changed (its closure, unless something was recorded later).
    pub years_without_children: u8,
    /// A request for support that never became a case is kept this many years after triage.
    pub request_years: u8,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            youngest_child_age: 25,
            years_without_children: 6,
            request_years: 3,
        }
    }
}

impl Schedule {
    /// Refuses a schedule that would keep records absurdly briefly or forever.
    pub fn check(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(18..=100).contains(&self.youngest_child_age) {
            errors.push(FieldError::new(
                "youngest_child_age",
                "youngest_child_age must be from 18 to 100",
            ));
        }
        for (field, years) in [
            ("years_without_children", self.years_without_children),
            ("request_years", self.request_years),
        ] {
            if !(1..=100).contains(&years) {
                errors.push(FieldError::new(
                    field,
                    format!("{field} must be from 1 to 100"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The schedule in a sentence, for reports and audit events.
    pub fn describe(&self) -> String {
        format!(
            "closed cases kept until the youngest child is {}, or {} years after closure \
             without children; requests that never became a case kept {} years after triage",
            self.youngest_child_age, self.years_without_children, self.request_years
        )
    }
}

/// Which rule made a record due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    YoungestChild,
    NoChildren,
    RequestWithoutCase,
}

impl Rule {
    pub fn slug(self) -> &'static str {
        match self {
            Rule::YoungestChild => "youngest_child",
            Rule::NoChildren => "no_children",
            Rule::RequestWithoutCase => "request_without_case",
        }
    }
}

/// When a record stops being kept, and under which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Due {
    pub on: Date,
    pub rule: Rule,
}

/// `date` moved on `years`; 29 February becomes 28 February in a year that has none.
pub fn years_after(date: Date, years: u8) -> Date {
    let year = date.year() + i32::from(years);
    date.replace_year(year).unwrap_or_else(|_| {
        Date::from_calendar_date(year, Month::February, 28).unwrap_or(Date::MAX)
    })
}

/// The latest day a stored date of birth can mean: the day itself, or 31 December of a
/// year-only date, so a record is never anonymised early because its date is vague.
fn latest_birth_date(stored: &str) -> Option<Date> {
    parse_date(stored).or_else(|| {
        let year: i32 = stored.trim().parse().ok()?;
        Date::from_calendar_date(year, Month::December, 31).ok()
    })
}

/// When family's record falls due: only a closed case does. `members` are (relationship
/// slug, stored date of birth); `closed_on` is the day the case closed.
/// `None` (keep) also when a child's date of birth cannot be read.
pub fn family_due(
    schedule: &Schedule,
    state: CaseState,
    members: &[(&str, &str)],
    closed_on: Date,
) -> Option<Due> {
    if state != CaseState::Closed {
        return None;
    }
    let children: Vec<Option<Date>> = members
        .iter()
        .filter(|(relationship, _)| MemberRole::from_slug(relationship) == Some(MemberRole::Child))
        .map(|(_, born)| latest_birth_date(born))
        .collect();
    if children.is_empty() {
        return Some(Due {
            on: years_after(closed_on, schedule.years_without_children),
            rule: Rule::NoChildren,
        });
    }
    let youngest = children.into_iter().collect::<Option<Vec<Date>>>()?;
    let youngest = youngest.into_iter().max()?;
    Some(Due {
        on: years_after(youngest, schedule.youngest_child_age),
        rule: Rule::YoungestChild,
    })
}

/// When a request that never became a case falls due: some years after it was triaged.
/// A request still waiting for triage, or one that opened a case (it is kept with the
/// family's record), is never due on its own.
pub fn request_due(
    schedule: &Schedule,
    triaged_on: Option<Date>,
    became_case: bool,
) -> Option<Due> {
    if became_case {
        return None;
    }
    Some(Due {
        on: years_after(triaged_on?, schedule.request_years),
        rule: Rule::RequestWithoutCase,
    })
}

/// What the retention run does with one record today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "date")]
pub enum Verdict {
    /// An open case, or a request still waiting: no retention date yet.
    Live,
    /// Not yet due: kept until this date.
    KeepUntil(Date),
    /// Due, but a legal hold keeps it as it is.
    Held,
    /// Due since this date: anonymise it.
    Anonymise(Date),
}

/// Due on the day itself; a legal hold wins over any due date.
pub fn verdict(due: Option<Due>, today: Date, held: bool) -> Verdict {
    match due {
        None => Verdict::Live,
        Some(due) if due.on > today => Verdict::KeepUntil(due.on),
        Some(_) if held => Verdict::Held,
        Some(due) => Verdict::Anonymise(due.on),
    }
}

// ---------------------------------------------------------------------------------------------
// What anonymisation changes

/// Replaces a person's given and family names.
pub const ANONYMOUS_NAME: &str = "[anonymised]";

/// Replaces free text: notes, plan goals and actions, summaries, consent wording.
pub const REMOVED_TEXT: &str = "[removed under the retention schedule]";

/// A date of birth reduced to its year (ages and age bands still count); anything that is
/// not a date of birth is removed.
pub fn birth_year(stored: &str) -> String {
    match latest_birth_date(stored) {
        Some(date) => date.year().to_string(),
        None => String::new(),
    }
}

/// A postcode reduced to its district (outward code, like "B16"), which still places the
/// family in its locality; anything else is removed.
pub fn postcode_district(postcode: &str) -> String {
    read_postcode(postcode)
        .map(|p| p.outward().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const CLOSED: CaseState = CaseState::Closed;

    #[test]
    fn a_closed_case_is_kept_until_the_youngest_child_is_25() {
        let schedule = Schedule::default();
        let members = [
            ("parent_carer", "1985-02-01"),
            ("child", "2012-06-30"),
            ("child", "2016-05-02"),
        ];
        let due = family_due(&schedule, CLOSED, &members, date!(2026 - 11 - 01)).unwrap();
        assert_eq!(due.on, date!(2041 - 05 - 02));
        assert_eq!(due.rule, Rule::YoungestChild);
        assert_eq!(
            verdict(Some(due), date!(2041 - 05 - 01), false),
            Verdict::KeepUntil(date!(2041 - 05 - 02))
        );
        assert_eq!(
            verdict(Some(due), date!(2041 - 05 - 02), false),
            Verdict::Anonymise(date!(2041 - 05 - 02)),
            "due on the birthday itself"
        );
    }

    #[test]
    fn open_and_stepped_up_cases_are_never_due() {
        let members = [("child", "2000-01-01")];
        for state in [CaseState::Open, CaseState::SteppedUp] {
            let due = family_due(&Schedule::default(), state, &members, date!(2026 - 01 - 01));
            assert_eq!(due, None, "{state:?}");
            assert_eq!(verdict(due, date!(2099 - 01 - 01), false), Verdict::Live);
        }
    }

    #[test]
    fn a_household_without_children_is_kept_years_after_closure() {
        let schedule = Schedule {
            years_without_children: 7,
            ..Schedule::default()
        };
        let due = family_due(
            &schedule,
            CLOSED,
            &[
                ("parent_carer", "1990-03-03"),
                ("other_adult", "1960-01-01"),
            ],
            date!(2026 - 11 - 20),
        )
        .unwrap();
        assert_eq!(due.on, date!(2033 - 11 - 20));
        assert_eq!(due.rule, Rule::NoChildren);
    }

    #[test]
    fn vague_or_unreadable_dates_of_birth_never_bring_the_date_forward() {
        let schedule = Schedule::default();
        let year_only = family_due(&schedule, CLOSED, &[("child", "2016")], date!(2026 - 1 - 1));
        assert_eq!(year_only.unwrap().on, date!(2041 - 12 - 31));
        let unreadable = family_due(
            &schedule,
            CLOSED,
            &[("child", "2001-01-01"), ("child", "not known")],
            date!(2026 - 1 - 1),
        );
        assert_eq!(unreadable, None, "keep what we cannot date");
    }

    #[test]
    fn a_leap_day_birthday_falls_on_the_28th() {
        assert_eq!(
            years_after(date!(2016 - 02 - 29), 25),
            date!(2041 - 02 - 28)
        );
        assert_eq!(
            years_after(date!(2016 - 02 - 29), 24),
            date!(2040 - 02 - 29)
        );
    }

    #[test]
    fn requests_without_a_case_are_kept_years_after_triage() {
        let schedule = Schedule::default();
        let due = request_due(&schedule, Some(date!(2026 - 03 - 04)), false).unwrap();
        assert_eq!(due.on, date!(2029 - 03 - 04));
        assert_eq!(due.rule, Rule::RequestWithoutCase);
        assert_eq!(request_due(&schedule, None, false), None, "still waiting");
        assert_eq!(
            request_due(&schedule, Some(date!(2000 - 01 - 01)), true),
            None,
            "kept with its family"
        );
    }

    #[test]
    fn a_legal_hold_keeps_a_due_record_but_not_one_that_is_not_due() {
        let due = Some(Due {
            on: date!(2020 - 01 - 01),
            rule: Rule::RequestWithoutCase,
        });
        assert_eq!(verdict(due, date!(2026 - 01 - 01), true), Verdict::Held);
        assert_eq!(
            verdict(due, date!(2019 - 01 - 01), true),
            Verdict::KeepUntil(date!(2020 - 01 - 01))
        );
        assert_eq!(verdict(None, date!(2026 - 01 - 01), true), Verdict::Live);
    }

    #[test]
    fn schedules_are_checked_field_by_field() {
        assert!(Schedule::default().check().is_ok());
        let bad = Schedule {
            youngest_child_age: 5,
            years_without_children: 0,
            request_years: 3,
        };
        let fields: Vec<&str> = bad.check().unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["youngest_child_age", "years_without_children"]);
    }

    #[test]
    fn anonymising_keeps_the_year_of_birth_and_the_postcode_district() {
        assert_eq!(birth_year("2016-05-02"), "2016");
        assert_eq!(birth_year("2016"), "2016");
        assert_eq!(birth_year("unknown"), "");
        assert_eq!(postcode_district("b16 8ha"), "B16");
        assert_eq!(postcode_district("B168HA"), "B16");
        assert_eq!(postcode_district("nowhere"), "");
    }
}

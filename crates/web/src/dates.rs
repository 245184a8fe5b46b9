//! Dates on pages, GOV.UK style: shown as "28 September 2026" and "9:30am", and asked for with
//! the GOV.UK date input (day, month and year boxes) whose answer is stored as an ISO date.
//! The JSON API, CSV and Open Referral outputs keep ISO 8601 and do not come here.
//!
//! Times are UTC, as the server's "today" is.

use earlyhelp_domain::people::FieldError;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

const ISO_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// "28 September 2026".
pub fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

/// "9:30am", "9am", "midday", "midnight".
pub fn clock(time: Time) -> String {
    let (hour, minute) = (time.hour(), time.minute());
    match (hour, minute) {
        (0, 0) => return "midnight".into(),
        (12, 0) => return "midday".into(),
        _ => {}
    }
    let suffix = if hour < 12 { "am" } else { "pm" };
    let hour = match hour % 12 {
        0 => 12,
        h => h,
    };
    if minute == 0 {
        format!("{hour}{suffix}")
    } else {
        format!("{hour}:{minute:02}{suffix}")
    }
}

/// "28 September 2026 at 9:30am".
pub fn date_time(at: OffsetDateTime) -> String {
    format!("{} at {}", long_date(at.date()), clock(at.time()))
}

/// A stored time in microseconds since 1970, as [`date_time`]; blank if out of range.
pub fn when(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map(date_time)
        .unwrap_or_default()
}

/// The day of a stored time in microseconds since 1970, as [`long_date`]; blank if out of range.
pub fn day_of(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map(|at| long_date(at.date()))
        .unwrap_or_default()
}

/// How long something has waited since a stored time in microseconds: "today", "1 day",
/// "19 days" (whole days).
pub fn waited_since(micros: i64) -> String {
    let days = (OffsetDateTime::now_utc().unix_timestamp() * 1_000_000 - micros).max(0)
        / (86_400 * 1_000_000);
    waited(days)
}

/// Whole days waited, in words: "today", "1 day", "19 days".
pub fn waited(days: i64) -> String {
    match days {
        0 => "today".to_string(),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

/// Any value as a page shows it: an ISO date or date and time in GOV.UK style, anything else
/// (already words, or blank) unchanged, so the filter is safe on any date-ish value.
pub fn display(value: &str) -> String {
    let trimmed = value.trim();
    if let Ok(date) = Date::parse(trimmed, ISO_DATE) {
        return long_date(date);
    }
    if let Ok(at) = OffsetDateTime::parse(trimmed, &time::format_description::well_known::Rfc3339) {
        return date_time(at.to_offset(time::UtcOffset::UTC));
    }
    let spaced = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(at) = PrimitiveDateTime::parse(trimmed, spaced) {
        return date_time(at.assume_utc());
    }
    value.to_string()
}

/// The askama filters of the web crate: `{{ value|date }}` on every date a page shows.
pub mod filters {
    /// `{{ value|date }}`: see [`super::display`].
    #[askama::filter_fn]
    pub fn date(value: impl std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::display(&value.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// The date input

/// What a date answer must be, against today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Any,
    /// Not after today, worded "must be in the past": a date of birth (a birth today has
    /// happened).
    Past,
    TodayOrPast,
    TodayOrFuture,
}

/// One date question of a form: its field name (the boxes are `NAME-day`, `NAME-month` and
/// `NAME-year`), its name in error messages ("Date of birth"), whether it must be answered, and
/// its rule.
#[derive(Debug, Clone, Copy)]
pub struct DateQuestion {
    pub name: &'static str,
    pub what: &'static str,
    pub required: bool,
    pub rule: Rule,
}

impl DateQuestion {
    pub const fn new(name: &'static str, what: &'static str, rule: Rule) -> Self {
        DateQuestion {
            name,
            what,
            required: true,
            rule,
        }
    }

    pub const fn optional(self) -> Self {
        DateQuestion {
            required: false,
            ..self
        }
    }
}

/// What was typed in the three boxes, to show them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateParts {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl DateParts {
    pub fn new(day: &str, month: &str, year: &str) -> Self {
        DateParts {
            day: day.to_string(),
            month: month.to_string(),
            year: year.to_string(),
        }
    }

    /// The boxes as typed, `27 3 2026`; empty when all three are.
    pub fn typed(&self) -> String {
        [&self.day, &self.month, &self.year]
            .map(|p| p.trim())
            .join(" ")
            .trim()
            .to_string()
    }
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The boxes of question `name` as typed; or, when the form was never posted, its stored ISO
/// date (a pair named `name`) split into day, month and year.
pub fn parts(pairs: &[(String, String)], name: &str) -> DateParts {
    let part = |p: &str| value(pairs, &format!("{name}-{p}")).map(str::to_string);
    match (part("day"), part("month"), part("year")) {
        (None, None, None) => value(pairs, name)
            .and_then(|v| Date::parse(v.trim(), ISO_DATE).ok())
            .map(|d| DateParts {
                day: d.day().to_string(),
                month: u8::from(d.month()).to_string(),
                year: d.year().to_string(),
            })
            .unwrap_or_default(),
        (day, month, year) => DateParts {
            day: day.unwrap_or_default(),
            month: month.unwrap_or_default(),
            year: year.unwrap_or_default(),
        },
    }
}

/// A month as a number, or its name or the name's first three letters ("Jan", "january").
fn month_of(raw: &str) -> Option<Month> {
    if let Ok(n) = raw.parse::<u8>() {
        return Month::try_from(n).ok();
    }
    let lower = raw.to_ascii_lowercase();
    (1..=12u8)
        .filter_map(|n| Month::try_from(n).ok())
        .find(|m| {
            let name = m.to_string().to_ascii_lowercase();
            lower == name || (lower.len() == 3 && name.starts_with(&lower))
        })
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads the three boxes of `question`: the date, nothing for an optional question left blank,
/// or the field's error in the Design System's words.
pub fn read(
    pairs: &[(String, String)],
    question: &DateQuestion,
    today: Date,
) -> Result<Option<Date>, FieldError> {
    read_parts(&parts(pairs, question.name), question, today)
}

/// [`read`] for boxes already taken from a form or a query string.
pub fn read_parts(
    typed: &DateParts,
    question: &DateQuestion,
    today: Date,
) -> Result<Option<Date>, FieldError> {
    let what = question.what;
    let error = |message: String| Err(FieldError::new(question.name, message));
    let (day, month, year) = (typed.day.trim(), typed.month.trim(), typed.year.trim());
    let missing: Vec<&str> = [("day", day), ("month", month), ("year", year)]
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(name, _)| *name)
        .collect();
    match missing.len() {
        3 if question.required => return Err(enter(question)),
        3 => return Ok(None),
        0 => {}
        _ => return error(format!("{what} must include a {}", missing.join(" and "))),
    }
    let real = format!("{what} must be a real date");
    let (Ok(day), Some(month)) = (day.parse::<u8>(), month_of(month)) else {
        return error(real);
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return error(format!("{what} must include a year with 4 numbers"));
    }
    let Ok(date) = Date::from_calendar_date(year.parse().unwrap_or(0), month, day) else {
        return error(real);
    };
    let wrong = match question.rule {
        Rule::Any => None,
        Rule::Past => (date > today).then_some("must be in the past"),
        Rule::TodayOrPast => (date > today).then_some("must be today or in the past"),
        Rule::TodayOrFuture => (date < today).then_some("must be today or in the future"),
    };
    match wrong {
        Some(rule) => error(format!("{what} {rule}")),
        None => Ok(Some(date)),
    }
}

fn enter(question: &DateQuestion) -> FieldError {
    FieldError::new(
        question.name,
        format!("Enter the {}", lower_first(question.what)),
    )
}

/// [`read`] for a question that must be answered, whether or not it is marked required.
pub fn answer(
    pairs: &[(String, String)],
    question: &DateQuestion,
    today: Date,
) -> Result<Date, FieldError> {
    read(pairs, question, today)?.ok_or_else(|| enter(question))
}

/// Reads every date question of a form and writes each answer into `pairs` as an ISO date under
/// the question's own name, which the form's handler then reads as before. Returns the errors.
pub fn fold(
    pairs: &mut Vec<(String, String)>,
    questions: &[DateQuestion],
    today: Date,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for question in questions {
        let answer = read(pairs, question, today);
        pairs.retain(|(k, _)| k != question.name);
        match answer {
            Ok(Some(date)) => pairs.push((
                question.name.to_string(),
                earlyhelp_domain::cases::iso(date),
            )),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// A form's own check after [`fold`]: its answer only if the boxes were all read too; else every
/// error, the boxes' first, leaving out the check's own for a field the boxes already refused.
pub fn with_dates<T>(
    date_errors: Vec<FieldError>,
    checked: Result<T, Vec<FieldError>>,
) -> Result<T, Vec<FieldError>> {
    let errors = match checked {
        Ok(answer) if date_errors.is_empty() => return Ok(answer),
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    let mut all = date_errors;
    for e in errors {
        if !all.iter().any(|f| f.field == e.field) {
            all.push(e);
        }
    }
    Err(all)
}

/// Puts `errors` in the order their fields came in the form (a date question by its day box), as
/// the error summary lists them; an error for no one field (none posted) stays first.
pub fn in_page_order(errors: &mut [FieldError], pairs: &[(String, String)]) {
    let place = |field: &str| {
        let day = format!("{field}-day");
        pairs
            .iter()
            .position(|(k, _)| k == field || *k == day)
            .map_or(0, |i| i + 1)
    };
    errors.sort_by_key(|e| place(e.field));
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    const TODAY: Date = date!(2026 - 11 - 24);

    fn pairs(day: &str, month: &str, year: &str) -> Vec<(String, String)> {
        vec![
            ("dob-day".into(), day.into()),
            ("dob-month".into(), month.into()),
            ("dob-year".into(), year.into()),
        ]
    }

    fn answer(day: &str, month: &str, year: &str, rule: Rule) -> Result<Option<Date>, String> {
        let question = DateQuestion::new("dob", "Date of birth", rule);
        read(&pairs(day, month, year), &question, TODAY).map_err(|e| e.message)
    }

    #[test]
    fn dates_and_times_read_the_govuk_way() {
        assert_eq!(long_date(date!(2026 - 09 - 28)), "28 September 2026");
        assert_eq!(long_date(date!(2026 - 03 - 05)), "5 March 2026");
        assert_eq!(clock(time!(9:30)), "9:30am");
        assert_eq!(clock(time!(9:00)), "9am");
        assert_eq!(clock(time!(17:05)), "5:05pm");
        assert_eq!(clock(time!(12:00)), "midday");
        assert_eq!(clock(time!(0:00)), "midnight");
        assert_eq!(clock(time!(0:10)), "12:10am");
        assert_eq!(clock(time!(12:45)), "12:45pm");
        assert_eq!(
            date_time(datetime!(2026-09-28 9:30 UTC)),
            "28 September 2026 at 9:30am"
        );
        let micros = datetime!(2026-09-28 14:00 UTC).unix_timestamp() * 1_000_000;
        assert_eq!(when(micros), "28 September 2026 at 2pm");
    }

    #[test]
    fn the_filter_reformats_iso_and_leaves_words_alone() {
        assert_eq!(display("2026-09-28"), "28 September 2026");
        assert_eq!(
            display("2026-09-28T09:30:00Z"),
            "28 September 2026 at 9:30am"
        );
        assert_eq!(
            display("2026-09-28 21:15:00"),
            "28 September 2026 at 9:15pm"
        );
        assert_eq!(display("Not yet"), "Not yet");
        assert_eq!(display(""), "");
        assert_eq!(display("2026-02-30"), "2026-02-30");
    }

    #[test]
    fn the_three_boxes_make_a_date() {
        assert_eq!(
            answer("2", "5", "2016", Rule::Past),
            Ok(Some(date!(2016 - 05 - 02)))
        );
        assert_eq!(
            answer(" 02 ", "05", "2016", Rule::Any),
            Ok(Some(date!(2016 - 05 - 02)))
        );
        assert_eq!(
            answer("2", "May", "2016", Rule::Any),
            Ok(Some(date!(2016 - 05 - 02)))
        );
        assert_eq!(
            answer("2", "sep", "2016", Rule::Any),
            Ok(Some(date!(2016 - 09 - 02)))
        );
        assert_eq!(
            answer("24", "11", "2026", Rule::TodayOrPast),
            Ok(Some(TODAY))
        );
        assert_eq!(answer("24", "11", "2026", Rule::Past), Ok(Some(TODAY)));
        assert_eq!(
            answer("24", "11", "2026", Rule::TodayOrFuture),
            Ok(Some(TODAY))
        );
    }

    #[test]
    fn each_mistake_has_the_design_systems_message() {
        let err = |d, m, y, rule| answer(d, m, y, rule).unwrap_err();
        assert_eq!(err("", "", "", Rule::Any), "Enter the date of birth");
        assert_eq!(
            err("2", "", "2016", Rule::Any),
            "Date of birth must include a month"
        );
        assert_eq!(
            err("", "5", "2016", Rule::Any),
            "Date of birth must include a day"
        );
        assert_eq!(
            err("2", "5", "", Rule::Any),
            "Date of birth must include a year"
        );
        assert_eq!(
            err("", "", "2016", Rule::Any),
            "Date of birth must include a day and month"
        );
        assert_eq!(
            err("2", "", "", Rule::Any),
            "Date of birth must include a month and year"
        );
        assert_eq!(
            err("31", "2", "2016", Rule::Any),
            "Date of birth must be a real date"
        );
        assert_eq!(
            err("2", "13", "2016", Rule::Any),
            "Date of birth must be a real date"
        );
        assert_eq!(
            err("x", "5", "2016", Rule::Any),
            "Date of birth must be a real date"
        );
        assert_eq!(
            err("2", "5", "16", Rule::Any),
            "Date of birth must include a year with 4 numbers"
        );
        assert_eq!(
            err("25", "11", "2026", Rule::Past),
            "Date of birth must be in the past"
        );
        assert_eq!(
            err("25", "11", "2026", Rule::TodayOrPast),
            "Date of birth must be today or in the past"
        );
        assert_eq!(
            err("23", "11", "2026", Rule::TodayOrFuture),
            "Date of birth must be today or in the future"
        );
    }

    #[test]
    fn errors_follow_the_form() {
        let form: Vec<(String, String)> = ["name", "dob-day", "dob-month", "dob-year", "postcode"]
            .iter()
            .map(|k| (k.to_string(), String::new()))
            .collect();
        let mut errors = vec![
            FieldError::new("dob", "a date"),
            FieldError::new("postcode", "a postcode"),
            FieldError::new("name", "a name"),
            FieldError::new("members", "someone"),
        ];
        in_page_order(&mut errors, &form);
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["members", "name", "dob", "postcode"]);
    }

    #[test]
    fn an_optional_question_may_be_left_blank_but_not_half_done() {
        let question = DateQuestion::new("dob", "Date of birth", Rule::Any).optional();
        assert!(matches!(
            read(&pairs("", "", ""), &question, TODAY),
            Ok(None)
        ));
        assert!(read(&pairs("1", "", ""), &question, TODAY).is_err());
    }

    #[test]
    fn folding_writes_the_iso_date_and_shows_the_boxes_again() {
        let question = DateQuestion::new("dob", "Date of birth", Rule::Any);
        let mut form = pairs("2", "5", "2016");
        assert!(fold(&mut form, &[question], TODAY).is_empty());
        assert_eq!(value(&form, "dob"), Some("2016-05-02"));
        let stored = vec![("dob".to_string(), "2016-05-02".to_string())];
        let typed = |d: &str, m: &str, y: &str| DateParts {
            day: d.into(),
            month: m.into(),
            year: y.into(),
        };
        assert_eq!(parts(&stored, "dob"), typed("2", "5", "2016"));
        let mut bad = pairs("2", "", "2016");
        let errors = fold(&mut bad, &[question], TODAY);
        assert_eq!(errors.len(), 1);
        let refused = with_dates(errors, Err::<(), _>(vec![FieldError::new("dob", "other")]));
        let messages: Vec<String> = refused
            .unwrap_err()
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(messages, ["Date of birth must include a month"]);
        assert_eq!(value(&bad, "dob"), None);
        assert_eq!(parts(&bad, "dob"), typed("2", "", "2016"));
    }
}

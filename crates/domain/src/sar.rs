//! Subject access: marking other people's details in what we hold about one person, so the
//! information governance officer can redact them before the response goes out. Nothing is
//! removed here; each mention is wrapped and listed, and a person decides.

use serde::Serialize;

/// A run of text, and whether it is another person's detail to consider redacting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    pub redact: bool,
}

/// Someone named in a record, as the redaction marking sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
}

/// What to mark in free text: each other person's full name, their given name, their family
/// name when it is not the subject's own (a sibling shares it), and their date of birth.
/// Longest first, so a full name is marked whole rather than in pieces.
pub fn redaction_terms(subject: &Named, others: &[Named]) -> Vec<String> {
    let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
    let mut terms: Vec<String> = Vec::new();
    for other in others {
        let full = format!("{} {}", other.given_name.trim(), other.family_name.trim());
        let mut candidates = vec![full];
        if !same(&other.given_name, &subject.given_name) {
            candidates.push(other.given_name.trim().to_string());
        }
        if !same(&other.family_name, &subject.family_name) {
            candidates.push(other.family_name.trim().to_string());
        }
        if !same(&other.date_of_birth, &subject.date_of_birth) {
            candidates.push(other.date_of_birth.trim().to_string());
        }
        for term in candidates {
            // A word of one or two letters would mark half the text.
            let long_enough = term.chars().filter(|c| c.is_alphanumeric()).count() >= 3;
            if long_enough && !terms.iter().any(|t| same(t, &term)) {
                terms.push(term);
            }
        }
    }
    terms.sort_by_key(|t| std::cmp::Reverse(t.len()));
    terms
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Splits `text` into segments, marking each whole-word mention of a term (ignoring ASCII case).
pub fn mark(text: &str, terms: &[String]) -> Vec<Segment> {
    let bytes = text.as_bytes();
    let mut found: Vec<(usize, usize)> = Vec::new();
    for term in terms {
        let needle = term.as_bytes();
        if needle.is_empty() || needle.len() > bytes.len() {
            continue;
        }
        for start in 0..=bytes.len() - needle.len() {
            let end = start + needle.len();
            let matches = bytes[start..end].eq_ignore_ascii_case(needle)
                && text.is_char_boundary(start)
                && text.is_char_boundary(end)
                && (start == 0 || !is_word_byte(bytes[start - 1]))
                && (end == bytes.len() || !is_word_byte(bytes[end]));
            let overlaps = found.iter().any(|&(s, e)| start < e && s < end);
            if matches && !overlaps {
                found.push((start, end));
            }
        }
    }
    found.sort();
    let mut segments = Vec::new();
    let mut at = 0;
    for (start, end) in found {
        if start > at {
            segments.push(Segment {
                text: text[at..start].to_string(),
                redact: false,
            });
        }
        segments.push(Segment {
            text: text[start..end].to_string(),
            redact: true,
        });
        at = end;
    }
    if at < text.len() || segments.is_empty() {
        segments.push(Segment {
            text: text[at..].to_string(),
            redact: false,
        });
    }
    segments
}

/// Every segment is another person's detail.
pub fn all_redacted(text: &str) -> Vec<Segment> {
    vec![Segment {
        text: text.to_string(),
        redact: true,
    }]
}

/// The day a subject access response is due, received on `received`: the time runs from the
/// next day to the corresponding date of the next month, or that month's last day when it has
/// no such date (the ICO's reading of "one month"). When that is a weekend or bank holiday the
/// law allows until the next working day; the earlier date is shown, which is always in time.
pub fn response_due(received: time::Date) -> time::Date {
    months_on(received.next_day().unwrap_or(received), 1)
}

/// The due day after an extension for a complex or numerous request: two further months.
pub fn extended_due(received: time::Date) -> time::Date {
    months_on(received.next_day().unwrap_or(received), 3)
}

/// `from`'s day of the month, `months` later; the month's last day when it is shorter.
fn months_on(from: time::Date, months: u32) -> time::Date {
    let index = from.year() * 12 + i32::from(u8::from(from.month())) - 1 + months as i32;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u8 + 1);
    let month = time::Month::try_from(month).unwrap_or(time::Month::December);
    let day = from.day().min(month.length(year));
    time::Date::from_calendar_date(year, month, day).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    #[test]
    fn a_response_is_due_a_calendar_month_from_the_day_after_receipt() {
        // The ICO's example: received 3 September, due 4 October.
        assert_eq!(
            super::response_due(date!(2026 - 09 - 03)),
            date!(2026 - 10 - 04)
        );
        // From 31 January there is no 31 February: the last day of February.
        assert_eq!(
            super::response_due(date!(2027 - 01 - 30)),
            date!(2027 - 02 - 28)
        );
        assert_eq!(
            super::response_due(date!(2028 - 01 - 30)),
            date!(2028 - 02 - 29)
        );
        // Across the year's end.
        assert_eq!(
            super::response_due(date!(2026 - 12 - 05)),
            date!(2027 - 01 - 06)
        );
        // Extended by two further months.
        assert_eq!(
            super::extended_due(date!(2026 - 09 - 03)),
            date!(2026 - 12 - 04)
        );
        assert_eq!(
            super::extended_due(date!(2026 - 11 - 29)),
            date!(2027 - 02 - 28)
        );
    }

    use super::*;

    fn named(given: &str, family: &str, born: &str) -> Named {
        Named {
            given_name: given.into(),
            family_name: family.into(),
            date_of_birth: born.into(),
        }
    }

    fn marked(segments: &[Segment]) -> Vec<&str> {
        segments
            .iter()
            .filter(|s| s.redact)
            .map(|s| s.text.as_str())
            .collect()
    }

    #[test]
    fn a_siblings_names_are_marked_but_the_shared_family_name_is_not() {
        let amira = named("Amira", "Hassan", "2016-05-02");
        let noah = named("Noah", "Hassan", "2014-01-09");
        let terms = redaction_terms(&amira, &[noah]);
        assert_eq!(terms, ["Noah Hassan", "2014-01-09", "Noah"]);
        let text =
            "Amira Hassan and NOAH walked in; Noah Hassan (born 2014-01-09) stayed. Noahs ark.";
        let segments = mark(text, &terms);
        assert_eq!(marked(&segments), ["NOAH", "Noah Hassan", "2014-01-09"]);
        let whole: String = segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(whole, text, "nothing is removed");
    }

    #[test]
    fn another_familys_name_is_marked_and_short_words_are_not() {
        let amira = named("Amira", "Hassan", "2016-05-02");
        let terms = redaction_terms(&amira, &[named("Al", "Doyle", "1980-01-01")]);
        assert_eq!(terms, ["1980-01-01", "Al Doyle", "Doyle"]);
        assert_eq!(
            marked(&mark("Mr Doyle called, al fresco", &terms)),
            ["Doyle"]
        );
    }

    #[test]
    fn text_without_mentions_is_one_plain_segment() {
        let segments = mark("Home visit went well.", &["Noah".to_string()]);
        assert_eq!(
            segments,
            [Segment {
                text: "Home visit went well.".into(),
                redact: false
            }]
        );
        assert_eq!(mark("", &[]).len(), 1);
        assert_eq!(marked(&mark("Zoë Noah", &["Noah".to_string()])), ["Noah"]);
    }
}

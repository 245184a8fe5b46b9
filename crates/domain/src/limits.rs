//! Limits on what a person or a program may send: the length of each free-text field, page
//! numbers, request body sizes and how often the public forms may be sent. Each is a constant
//! here so the form (GOV.UK's character count), the check and the README agree.

use crate::people::FieldError;

// ---------------------------------------------------------------------------------------------
// Free text, in characters (a line break counts as one, as the browser's character count does)

/// A note in a family's chronology.
pub const CASE_NOTE: usize = 20_000;
/// Each section of the Early Help assessment.
pub const ASSESSMENT_SECTION: usize = 20_000;
/// What the family would like help with (the request and self-referral forms).
pub const REQUEST_SUMMARY: usize = 5_000;
/// The triage note.
pub const TRIAGE_NOTE: usize = 5_000;
/// A Supporting Families need or its evidence.
pub const OUTCOME_TEXT: usize = 5_000;
/// A reason: to join the team, to break glass, a review of a break-glass access, a legal hold.
pub const REASON: usize = 2_000;
/// A service's description in the directory.
pub const SERVICE_DESCRIPTION: usize = 10_000;
/// A locality's profile.
pub const LOCALITY_PROFILE: usize = 5_000;
/// A measure's areas, one to a line (12 areas of up to 80 characters).
pub const MEASURE_AREAS: usize = 1_200;
/// A one-line field: a name, an address line, a school, languages, a contact, a purpose.
pub const LINE: usize = 500;
/// A password: long enough for any passphrase, short enough that hashing it costs little.
pub const PASSWORD: usize = 1_000;

/// Characters as a person counts them: a line break is one, though a browser sends it as two.
pub fn count_chars(text: &str) -> usize {
    text.chars().count() - text.matches("\r\n").count()
}

/// "The note must be 20,000 characters or fewer", if `text` is longer than `max`.
pub fn too_long(field: &'static str, what: &str, text: &str, max: usize) -> Option<FieldError> {
    (count_chars(text) > max).then(|| {
        FieldError::new(
            field,
            format!("{what} must be {} characters or fewer", thousands(max)),
        )
    })
}

/// 20000 as "20,000" (a reference too, as templates pass one).
pub fn thousands(n: impl std::borrow::Borrow<usize>) -> String {
    let digits = n.borrow().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Pages of a list

/// The highest page number a page of people's lists accepts; beyond it is a mistake.
pub const MAX_PAGE: u64 = 1_000_000;

/// A page number as typed: empty is the first page; otherwise a whole number from 1 to `max`.
pub fn parse_page(raw: &str, max: u64) -> Result<u64, FieldError> {
    match raw.trim() {
        "" => Ok(1),
        raw => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                FieldError::new(
                    "page",
                    format!("page must be a whole number from 1 to {max}"),
                )
            }),
    }
}

/// A number of items a page as typed: empty is `default`, otherwise from 1 to `max`.
pub fn parse_per_page(raw: &str, default: u64, max: u64) -> Result<u64, FieldError> {
    match raw.trim() {
        "" => Ok(default),
        raw => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                FieldError::new(
                    "per_page",
                    format!("per_page must be a whole number from 1 to {max}"),
                )
            }),
    }
}

/// How many items come before page `page` (from 1), or `None` when that is beyond any list
/// (the arithmetic would overflow): such a page is empty, never a page that wrapped round.
pub fn offset(page: u64, per_page: u64) -> Option<u64> {
    page.checked_sub(1)?
        .checked_mul(per_page)
        .filter(|n| i64::try_from(*n).is_ok())
}

// ---------------------------------------------------------------------------------------------
// Request bodies, in bytes

/// A form of short fields.
pub const FORM_BODY: usize = 64 * 1024;
/// A form with long free text (a case note, the assessment, the request form): its longest
/// fields, each character percent-encoded as up to 12 bytes, with room to spare.
pub const LONG_FORM_BODY: usize = 1024 * 1024;
/// A CSV upload or a JSON load of data.
pub const UPLOAD_BODY: usize = 8 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// How often the public forms may be sent from one address

/// Self-referrals from one address in an hour.
pub const SELF_REFERRALS_PER_HOUR: u32 = 5;
/// Sign-in attempts from one address (any accounts) in 15 minutes.
pub const SIGN_INS_PER_15_MINUTES: u32 = 30;

/// Whether a spreadsheet opening `text` from a CSV would run it as a formula.
pub fn starts_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `text` as a CSV cell safe to open in a spreadsheet: one that would run as a formula is
/// quoted with a leading apostrophe, as OWASP advises.
pub fn csv_cell(text: &str) -> String {
    if starts_like_formula(text) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_break_counts_once_and_the_limit_is_inclusive() {
        assert_eq!(count_chars("a\r\nb"), 3);
        assert_eq!(count_chars("é\nü"), 3);
        assert!(too_long("body", "The note", &"x".repeat(CASE_NOTE), CASE_NOTE).is_none());
        let error = too_long("body", "The note", &"x".repeat(CASE_NOTE + 1), CASE_NOTE).unwrap();
        assert_eq!(error.message, "The note must be 20,000 characters or fewer");
        assert_eq!(thousands(500), "500");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn pages_refuse_what_is_out_of_range_and_never_wrap() {
        assert_eq!(parse_page("", MAX_PAGE), Ok(1));
        assert_eq!(parse_page(" 3 ", MAX_PAGE), Ok(3));
        for bad in ["0", "-1", "1.5", "abc", "18446744073709551616", "1000001"] {
            assert!(parse_page(bad, MAX_PAGE).is_err(), "{bad}");
        }
        assert_eq!(parse_page("18446744073709551615", u64::MAX), Ok(u64::MAX));
        assert_eq!(parse_per_page("", 50, 500), Ok(50));
        assert!(parse_per_page("501", 50, 500).is_err());
        assert_eq!(offset(1, 50), Some(0));
        assert_eq!(offset(3, 50), Some(100));
        assert_eq!(offset(u64::MAX, 50), None);
        assert_eq!(
            offset(u64::MAX / 50, 50),
            None,
            "beyond what a database can skip"
        );
        assert_eq!(offset(0, 50), None);
    }
}

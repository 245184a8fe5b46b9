//! Cleaning of raw values into the comparable forms the comparisons and blocking rules use.

use serde::{Deserialize, Serialize};

/// Tokens that agencies write for "no value"; they become nulls so they never agree by accident.
const NULL_TOKENS: &[&str] = &["na", "n a", "null", "none", "unknown", "not known", "nk"];

/// Lower-cases, turns punctuation into spaces and collapses runs of spaces.
pub fn text(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    let trimmed = out.trim_end();
    (!trimmed.is_empty() && !NULL_TOKENS.contains(&trimmed)).then(|| trimmed.to_string())
}

/// Letters and digits only, upper case: identifiers, postcodes.
pub fn compact_upper(raw: &str) -> Option<String> {
    let out: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!out.is_empty()).then_some(out)
}

/// The 10 digits of an NHS number whose Modulus 11 check digit holds (weights 10 to 2, 11
/// counting as 0, 10 never issued); anything else is treated as missing, since a number that
/// fails its check was mistyped and says nothing about who it belongs to. earlyhelp's domain
/// crate checks numbers typed into forms the same way (`nhs_number::NhsNumber::parse`).
pub fn nhs_number(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let d = digits.as_bytes();
    if d.len() != 10 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = (0..9)
        .map(|i| u32::from(d[i] - b'0') * (10 - i as u32))
        .sum();
    let check = (11 - sum % 11) % 11;
    (check != 10 && check == u32::from(d[9] - b'0')).then_some(digits)
}

/// Digits of a phone number with the UK country code folded into a leading zero.
pub fn phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let national = match digits.strip_prefix("44") {
        Some(rest) if raw.trim_start().starts_with('+') || digits.len() == 12 => format!("0{rest}"),
        _ => digits,
    };
    (national.len() >= 6).then_some(national)
}

/// First letter of the recorded sex ("Male" and "m" agree); anything else is kept as written.
pub fn sex(raw: &str) -> Option<String> {
    let cleaned = text(raw)?;
    match cleaned.as_str() {
        "male" | "man" | "boy" => Some("m".into()),
        "female" | "woman" | "girl" => Some("f".into()),
        _ => Some(cleaned),
    }
}

/// A calendar date kept as written numbers, so impossible dates made by typos stay comparable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// The eight digits YYYYMMDD, the form digit-level comparisons and blocking keys use.
    pub fn digits(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// Reads ISO (1990-03-04), compact (19900304) and UK day-first (04/03/1990, 4.3.90) dates.
pub fn date(raw: &str) -> Option<Date> {
    let raw = raw.trim();
    let parts: Vec<&str> = raw
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    let (year, month, day) = match parts.as_slice() {
        [compact] if compact.len() == 8 => {
            let (a, b, c) = (&compact[..4], &compact[4..6], &compact[6..]);
            if a.starts_with("19") || a.starts_with("20") {
                (a, b, c)
            } else {
                (&compact[4..], &compact[2..4], &compact[..2])
            }
        }
        [y, m, d] if y.len() == 4 => (*y, *m, *d),
        [d, m, y] => (*y, *m, *d),
        _ => return None,
    };
    let mut year: u16 = year.parse().ok()?;
    if year < 100 {
        year += if year >= 30 { 1900 } else { 2000 };
    }
    let month: u8 = month.parse().ok()?;
    let day: u8 = day.parse().ok()?;
    // Any two digits for month and day: a transposed or mistyped date (04/93) is still a
    // date worth comparing digit by digit.
    let plausible =
        (1800..=2100).contains(&year) && (1..=99).contains(&month) && (1..=99).contains(&day);
    plausible.then_some(Date { year, month, day })
}

/// The first run of digits in a value: a house number, or the one an address line starts with.
pub fn first_number(text: &str) -> Option<&str> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The parts of a UK postcode: "LS6 2AB" has district "LS6" and sector "LS6 2".
pub struct PostcodeParts<'a> {
    pub district: &'a str,
    pub sector: &'a str,
}

/// Splits a compact upper-case UK postcode; `None` for anything that is not one.
pub fn postcode_parts(compact: &str) -> Option<PostcodeParts<'_>> {
    let bytes = compact.as_bytes();
    let n = bytes.len();
    let uk_shape = (5..=7).contains(&n)
        && bytes[0].is_ascii_alphabetic()
        && bytes[n - 3].is_ascii_digit()
        && bytes[n - 2].is_ascii_alphabetic()
        && bytes[n - 1].is_ascii_alphabetic();
    uk_shape.then(|| PostcodeParts {
        district: &compact[..n - 3],
        sector: &compact[..n - 2],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cleans_case_punctuation_and_nulls() {
        assert_eq!(text("  O'Brien-Smith ").as_deref(), Some("o brien smith"));
        assert_eq!(text("N/A"), None);
        assert_eq!(text(" - "), None);
    }

    #[test]
    fn dates_in_common_formats_agree() {
        let iso = date("1990-03-04").unwrap();
        assert_eq!(date("04/03/1990"), Some(iso));
        assert_eq!(date("19900304"), Some(iso));
        assert_eq!(date("04031990"), Some(iso));
        assert_eq!(date("4.3.90"), Some(iso));
        assert_eq!(date("not a date"), None);
        let mistyped = date("19450493").unwrap();
        assert_eq!(
            (mistyped.month, mistyped.day),
            (4, 93),
            "kept to compare by digits"
        );
        assert_eq!(iso.digits(), "19900304");
    }

    #[test]
    fn postcodes_split_into_sector_and_district() {
        let compact = compact_upper("ls6 2ab").unwrap();
        let parts = postcode_parts(&compact).unwrap();
        assert_eq!((parts.district, parts.sector), ("LS6", "LS62"));
        assert!(postcode_parts("2600").is_none());
    }

    #[test]
    fn phones_fold_country_code() {
        assert_eq!(phone("+44 113 496 0000").as_deref(), Some("01134960000"));
        assert_eq!(phone("0113 496 0000").as_deref(), Some("01134960000"));
        assert_eq!(phone("123"), None);
    }
}

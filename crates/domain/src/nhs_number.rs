//! The consistent child identifier: the NHS number (10 digits, the last a Modulus 11 check
//! digit), and when it is missing, why. See docs/nhs-number.md for the choices made.

use crate::people::FieldError;
use serde::{Deserialize, Serialize};

/// A checked NHS number, held as its 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NhsNumber(String);

/// Spaces and dashes may separate the digits, as people write them ("943 476 5919").
pub const NHS_NUMBER_MESSAGE: &str = "Enter a valid NHS number: 10 digits, like 943 476 5919";

impl NhsNumber {
    /// The number in `raw` if it has 10 digits (spaces and dashes aside) and its check digit
    /// holds: the first nine weighted 10 down to 2, 11 less the sum modulo 11, 11 counting as
    /// 0 and 10 never issued.
    pub fn parse(raw: &str) -> Option<NhsNumber> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let values: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = values[..9]
            .iter()
            .zip((2..=10).rev())
            .map(|(d, w)| d * w)
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return None,
            c => c,
        };
        (check == values[9]).then_some(NhsNumber(digits))
    }

    /// The 10 digits, as stored and as the API sends them.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The number whose first nine digits are `stem` and whose tenth is its check digit, if
    /// one exists (for demo data and tests).
    pub fn with_check_digit(stem: u32) -> Option<NhsNumber> {
        (0..10).find_map(|last| NhsNumber::parse(&format!("{stem:09}{last}")))
    }
}

/// "943 476 5919": three, three and four digits, as NHS England writes it.
impl std::fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.0;
        write!(f, "{} {} {}", &d[..3], &d[3..6], &d[6..])
    }
}

impl TryFrom<String> for NhsNumber {
    type Error = &'static str;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        NhsNumber::parse(&raw).ok_or(NHS_NUMBER_MESSAGE)
    }
}

impl From<NhsNumber> for String {
    fn from(n: NhsNumber) -> String {
        n.0
    }
}

choices! {
    /// Why a person's NHS number is not recorded.
    NhsNumberMissing {
        NotKnown => ("not_known", "Not known"),
        Withheld => ("withheld", "Not included: sharing it would be more detrimental to the child"),
    }
}

/// A person's NHS number, the reason it is missing, or neither (not yet asked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NhsAnswer {
    pub number: Option<NhsNumber>,
    pub missing: Option<NhsNumberMissing>,
}

impl NhsAnswer {
    /// The stored columns: the digits (or empty), and the reason's slug (or empty).
    pub fn columns(&self) -> (&str, &str) {
        (
            self.number.as_ref().map_or("", NhsNumber::digits),
            self.missing.map_or("", NhsNumberMissing::slug),
        )
    }

    /// The answer as a page shows it: the number, or why it is missing, or `None`.
    pub fn in_words(number: &str, missing: &str) -> Option<String> {
        match (
            NhsNumber::parse(number),
            NhsNumberMissing::from_slug(missing),
        ) {
            (Some(n), _) => Some(n.to_string()),
            (None, Some(m)) => Some(m.label().to_string()),
            (None, None) => None,
        }
    }
}

/// Checks a number and a reason typed into fields `number_field` and `missing_field`. Both
/// are optional; a number and a reason together are refused, since they contradict each other.
/// `whose` ends the messages: "of family member 2".
pub fn check_nhs(
    number: &str,
    missing: &str,
    (number_field, missing_field): (&'static str, &'static str),
    whose: &str,
) -> Result<NhsAnswer, FieldError> {
    let reason = if missing.trim().is_empty() {
        None
    } else {
        Some(NhsNumberMissing::from_slug(missing).ok_or_else(|| {
            FieldError::new(
                missing_field,
                format!("Choose why the NHS number{whose} is missing from the list"),
            )
        })?)
    };
    if number.trim().is_empty() {
        return Ok(NhsAnswer {
            number: None,
            missing: reason,
        });
    }
    let Some(parsed) = NhsNumber::parse(number) else {
        let message = if whose.is_empty() {
            NHS_NUMBER_MESSAGE.to_string()
        } else {
            format!("Enter a valid NHS number{whose}: 10 digits, like 943 476 5919")
        };
        return Err(FieldError::new(number_field, message));
    };
    if reason.is_some() {
        return Err(FieldError::new(
            missing_field,
            format!("Enter the NHS number{whose} or say why it is missing, not both"),
        ));
    }
    Ok(NhsAnswer {
        number: Some(parsed),
        missing: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers_pass_and_fail_their_check_digit() {
        // NHS England's published example, and numbers from its test data.
        for good in [
            "943 476 5919",
            "9434765919",
            "943-476-5919",
            "401 023 2137",
            "4505577104",
        ] {
            assert!(NhsNumber::parse(good).is_some(), "{good}");
        }
        for bad in [
            "943 476 5918", // wrong check digit
            "943 476 591",  // nine digits
            "94347659190",  // eleven
            "943476591A",
            "",
            "1000000010", // a remainder of 1: check digit 10, never issued
        ] {
            assert!(NhsNumber::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            NhsNumber::parse("9434765919").unwrap().to_string(),
            "943 476 5919"
        );
        // Check digit 11 counts as 0.
        assert_eq!(
            NhsNumber::parse("0000000000").unwrap().digits(),
            "0000000000"
        );
    }

    #[test]
    fn every_single_digit_change_is_caught() {
        let good = "9434765919";
        for at in 0..10 {
            for d in b'0'..=b'9' {
                let mut changed = good.as_bytes().to_vec();
                if changed[at] == d {
                    continue;
                }
                changed[at] = d;
                let changed = String::from_utf8(changed).unwrap();
                assert!(NhsNumber::parse(&changed).is_none(), "{changed}");
            }
        }
    }

    #[test]
    fn a_check_digit_is_made_for_a_stem() {
        let n = NhsNumber::with_check_digit(943_476_591).unwrap();
        assert_eq!(n.digits(), "9434765919");
        assert!(NhsNumber::with_check_digit(100_000_001).is_none());
    }

    #[test]
    fn a_number_or_a_reason_or_neither() {
        let fields = ("nhs_number", "nhs_number_missing");
        let ok = check_nhs("943 476 5919", "", fields, "").unwrap();
        assert_eq!(ok.columns(), ("9434765919", ""));
        let why = check_nhs("", "withheld", fields, "").unwrap();
        assert_eq!(why.columns(), ("", "withheld"));
        assert_eq!(
            check_nhs(" ", "", fields, "").unwrap(),
            NhsAnswer::default()
        );
        let bad = check_nhs("943 476 5918", "", fields, "").unwrap_err();
        assert_eq!(bad.field, "nhs_number");
        assert_eq!(bad.message, NHS_NUMBER_MESSAGE);
        let both = check_nhs("9434765919", "not_known", fields, " of family member 2").unwrap_err();
        assert_eq!(both.field, "nhs_number_missing");
        assert!(both.message.contains("family member 2"));
        assert_eq!(
            check_nhs("", "lost", fields, "").unwrap_err().field,
            "nhs_number_missing"
        );
        assert_eq!(
            NhsAnswer::in_words("9434765919", "").as_deref(),
            Some("943 476 5919")
        );
        assert_eq!(
            NhsAnswer::in_words("", "not_known").as_deref(),
            Some("Not known")
        );
        assert_eq!(NhsAnswer::in_words("", ""), None);
    }
}

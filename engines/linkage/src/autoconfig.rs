//! A sensible model with no configuration: recognise what each column holds from its header
//! and contents, then choose comparisons and blocking rules for those kinds.

use crate::blocking::{BlockingRule, KeyPart};
use crate::compare::{Comparison, Level};
use crate::data::{Field, FieldKind};
use crate::normalise;

/// The kind a header names, if it names one we know. Case, spaces and punctuation are ignored.
pub fn kind_from_header(header: &str) -> Option<FieldKind> {
    let h: String = header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    use FieldKind::*;
    Some(match h.as_str() {
        "givenname" | "firstname" | "forename" | "forenames" | "fname" | "first" | "given"
        | "christianname" => GivenName,
        "surname" | "lastname" | "familyname" | "lname" | "last" | "family" => FamilyName,
        "dob" | "dateofbirth" | "birthdate" | "birthday" | "dateborn" | "birth" => DateOfBirth,
        "sex" | "gender" => Sex,
        "postcode" | "postalcode" | "zip" | "zipcode" | "pcode" => Postcode,
        "address" | "address1" | "addressline1" | "street" | "streetaddress" | "address2"
        | "addressline2" | "line1" | "line2" => Address,
        "town" | "city" | "suburb" | "locality" | "place" | "county" | "state" | "district" => {
            Place
        }
        "housenumber" | "streetnumber" | "houseno" | "number" | "flatnumber" => HouseNumber,
        "phone" | "telephone" | "tel" | "mobile" | "phonenumber" | "telephonenumber"
        | "mobilenumber" => Phone,
        "email" | "emailaddress" | "mail" => Email,
        "nhsnumber" | "nhsno" | "nhs" | "nhsnum" => NhsNumber,
        "upn" | "uln" | "ninumber" | "nino" | "socsecid" | "ssn" | "personid" | "clientid" => {
            Identifier
        }
        _ => return None,
    })
}

/// The kind most of a column's non-empty values look like, for columns with unknown headers.
pub fn kind_from_values(values: &[&str]) -> Option<FieldKind> {
    let present: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if present.len() < 5 {
        return None;
    }
    let share = |test: &dyn Fn(&str) -> bool| {
        present.iter().filter(|v| test(v)).count() as f64 / present.len() as f64
    };
    let looks_like_date = |v: &str| {
        v.len() >= 6 && v.chars().any(|c| !c.is_ascii_digit()) && normalise::date(v).is_some()
    };
    let looks_like_postcode = |v: &str| {
        normalise::compact_upper(v)
            .is_some_and(|p| normalise::postcode_parts(&p).is_some() && p.len() <= 7)
            && v.chars().any(|c| c.is_ascii_digit())
    };
    let looks_like_phone = |v: &str| {
        v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
            && normalise::phone(v).is_some_and(|p| (10..=11).contains(&p.len()))
    };
    let looks_like_email = |v: &str| v.contains('@') && v.contains('.');
    type Test<'t> = &'t dyn Fn(&str) -> bool;
    let candidates: [(FieldKind, Test); 4] = [
        (FieldKind::DateOfBirth, &looks_like_date),
        (FieldKind::Postcode, &looks_like_postcode),
        (FieldKind::Phone, &looks_like_phone),
        (FieldKind::Email, &looks_like_email),
    ];
    candidates
        .into_iter()
        .find(|(_, test)| share(*test) >= 0.8)
        .map(|(kind, _)| kind)
}

fn name_levels() -> Vec<Level> {
    vec![
        Level::Exact,
        Level::Swapped,
        Level::Nickname,
        Level::Levenshtein { max: 1 },
        Level::JaroWinkler { min: 0.92 },
        Level::JaroWinkler { min: 0.8 },
        Level::Else,
    ]
}

/// Levels for a field kind; the order is strongest first.
pub fn levels_for(kind: FieldKind) -> Vec<Level> {
    use FieldKind::*;
    match kind {
        GivenName | FamilyName => name_levels(),
        DateOfBirth => vec![
            Level::Exact,
            Level::DateTransposed,
            Level::DateDigits { max: 1 },
            Level::DateDigits { max: 2 },
            Level::Else,
        ],
        Postcode => vec![
            Level::Exact,
            Level::Levenshtein { max: 1 },
            Level::PostcodeSector,
            Level::PostcodeDistrict,
            Level::Else,
        ],
        Address => vec![
            Level::Exact,
            Level::Swapped,
            Level::JaroWinkler { min: 0.92 },
            Level::JaroWinkler { min: 0.8 },
            Level::Else,
        ],
        Place => vec![Level::Exact, Level::JaroWinkler { min: 0.9 }, Level::Else],
        // A one-digit slip in an NHS number fails its check digit and is read as missing, so
        // two valid numbers that differ belong to two people.
        Sex | HouseNumber | NhsNumber => vec![Level::Exact, Level::Else],
        Identifier => vec![
            Level::Exact,
            Level::Damerau { max: 1 },
            Level::Damerau { max: 2 },
            Level::Else,
        ],
        Phone | Email => vec![Level::Exact, Level::Damerau { max: 1 }, Level::Else],
        Encoded => vec![
            Level::Exact,
            Level::Dice { min: 0.9 },
            Level::Dice { min: 0.8 },
            Level::Dice { min: 0.7 },
            Level::Dice { min: 0.6 },
            Level::Dice { min: 0.5 },
            Level::Else,
        ],
    }
}

/// The parts of an address compared as one fact, when there are at least two of them.
fn address_columns(fields: &[Field]) -> Vec<usize> {
    use FieldKind::*;
    let columns: Vec<usize> = (0..fields.len())
        .filter(|&c| matches!(fields[c].kind, Postcode | Address | Place | HouseNumber))
        .collect();
    if columns.len() >= 2 {
        columns
    } else {
        Vec::new()
    }
}

/// One comparison per field, except that the parts of an address (house number, street
/// lines, town, postcode) form one comparison: within a household they are one fact, and a
/// move changes them all at once. Given and family names are aware of each other for swaps.
pub fn comparisons_for(fields: &[Field]) -> Vec<Comparison> {
    let column_of = |kind| fields.iter().position(|f| f.kind == kind);
    let (encoded_given, encoded_family) = (encoded(fields, "given"), encoded(fields, "family"));
    let address = address_columns(fields);
    fields
        .iter()
        .enumerate()
        .filter_map(|(column, field)| {
            if address.first() == Some(&column) {
                let names: Vec<&str> = address.iter().map(|&c| fields[c].name.as_str()).collect();
                return Some(Comparison {
                    name: names.join(" + "),
                    column,
                    swap_column: None,
                    with: address[1..].to_vec(),
                    levels: vec![
                        Level::SameAddress,
                        Level::SameStreet,
                        Level::SameArea,
                        Level::Else,
                    ],
                    term_frequency: false,
                });
            }
            if address.contains(&column) {
                return None;
            }
            let swap_column = match field.kind {
                FieldKind::GivenName => column_of(FieldKind::FamilyName),
                FieldKind::FamilyName => column_of(FieldKind::GivenName),
                FieldKind::Encoded if Some(column) == encoded_given => encoded_family,
                FieldKind::Encoded if Some(column) == encoded_family => encoded_given,
                _ => None,
            };
            let mut levels = levels_for(field.kind);
            if Some(column) == encoded_given {
                levels.insert(1, Level::Swapped);
            }
            let holds_swap =
                matches!(field.kind, FieldKind::GivenName) || Some(column) == encoded_given;
            if !holds_swap || swap_column.is_none() {
                levels.retain(|l| *l != Level::Swapped);
            }
            if field.kind != FieldKind::GivenName {
                levels.retain(|l| *l != Level::Nickname);
            }
            Some(Comparison {
                name: field.name.clone(),
                column,
                swap_column,
                with: Vec::new(),
                levels,
                term_frequency: matches!(field.kind, FieldKind::GivenName | FieldKind::FamilyName),
            })
        })
        .collect()
}

/// Blocking rules for the fields present. Several loose rules, so that a record with one field
/// wrong or missing is still found by another rule.
pub fn blocking_for(fields: &[Field]) -> Vec<BlockingRule> {
    let column_of = |kind| fields.iter().position(|f| f.kind == kind);
    let all_of = |kind| {
        fields
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.kind == kind)
            .map(|(c, _)| c)
    };
    let rule = |name: &str, key: Vec<KeyPart>| BlockingRule {
        name: name.to_string(),
        key,
        window: None,
    };
    let mut rules = Vec::new();
    let given = column_of(FieldKind::GivenName);
    let family = column_of(FieldKind::FamilyName);
    let dob = column_of(FieldKind::DateOfBirth);
    let postcode = column_of(FieldKind::Postcode);
    if let Some(dob) = dob {
        rules.push(rule(
            "same date of birth",
            vec![KeyPart::Exact { column: dob }],
        ));
    }
    if let (Some(given), Some(family)) = (given, family) {
        rules.push(rule(
            "names sound alike, either order",
            vec![KeyPart::NamePair { given, family }],
        ));
    }
    if let (Some(postcode), Some(given)) = (postcode, given) {
        rules.push(rule(
            "postcode and given name initial",
            vec![
                KeyPart::Exact { column: postcode },
                KeyPart::Prefix {
                    column: given,
                    chars: 1,
                },
            ],
        ));
    }
    let house = column_of(FieldKind::HouseNumber).or_else(|| column_of(FieldKind::Address));
    if let (Some(postcode), Some(house)) = (postcode, house) {
        // Whoever lives at one address: finds a person whose names and birth date all changed.
        rules.push(rule(
            "postcode and house number",
            vec![
                KeyPart::Exact { column: postcode },
                KeyPart::HouseNumber { column: house },
            ],
        ));
    }
    for kind in [
        FieldKind::NhsNumber,
        FieldKind::Identifier,
        FieldKind::Phone,
        FieldKind::Email,
    ] {
        for column in all_of(kind) {
            rules.push(rule(
                &format!("same {}", fields[column].name),
                vec![KeyPart::Exact { column }],
            ));
        }
    }
    if let (Some(given), Some(family)) = (given, family) {
        rules.push(BlockingRule {
            name: "sorted by family then given name".into(),
            key: vec![
                KeyPart::Exact { column: family },
                KeyPart::Exact { column: given },
            ],
            window: Some(4),
        });
    }
    rules.extend(encoded_rules(fields));
    rules
}

/// The column of one group's encodings (`bf_given`, ...).
fn encoded(fields: &[Field], group: &str) -> Option<usize> {
    fields.iter().position(|f| {
        f.kind == FieldKind::Encoded
            && f.name.trim_start_matches(crate::bloom::ENCODED_PREFIX) == group
    })
}

/// Rules on encodings, which hide values but keep similar values similar: the same birth
/// filter (the date of birth), min-hashes of given and family name filters together (names alike,
/// in bands of different hash seeds), the same address with a given-name min-hash, the same
/// contact filter.
fn encoded_rules(fields: &[Field]) -> Vec<BlockingRule> {
    let group = |g: &str| encoded(fields, g);
    let rule = |name: String, key: Vec<KeyPart>| BlockingRule {
        name,
        key,
        window: None,
    };
    let min_hash = |column, seed| KeyPart::MinHash {
        column,
        seed,
        count: 2,
    };
    let mut rules = Vec::new();
    if let Some(birth) = group("birth") {
        rules.push(rule(
            "same birth encoding".into(),
            vec![KeyPart::Exact { column: birth }],
        ));
    }
    if let (Some(given), Some(family)) = (group("given"), group("family")) {
        for band in 0..3 {
            rules.push(rule(
                format!("name encodings share min-hashes, band {band}"),
                vec![min_hash(given, band), min_hash(family, band)],
            ));
        }
    }
    if let (Some(address), Some(given)) = (group("address"), group("given")) {
        rules.push(rule(
            "same address encoding and a given-name min-hash".into(),
            vec![KeyPart::Exact { column: address }, min_hash(given, 7)],
        ));
    }
    if let Some(contact) = group("contact") {
        rules.push(rule(
            "same contact encoding".into(),
            vec![KeyPart::Exact { column: contact }],
        ));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_values_are_recognised() {
        assert_eq!(kind_from_header("First Name"), Some(FieldKind::GivenName));
        assert_eq!(
            kind_from_header("date_of_birth"),
            Some(FieldKind::DateOfBirth)
        );
        assert_eq!(kind_from_header("Post Code"), Some(FieldKind::Postcode));
        assert_eq!(kind_from_header("favourite colour"), None);
        for nhs in ["nhs_number", "NHS Number", "nhs_no", "NHS No."] {
            assert_eq!(kind_from_header(nhs), Some(FieldKind::NhsNumber), "{nhs}");
        }
        let dates = [
            "01/02/2003",
            "2004-05-06",
            "",
            "07/08/2009",
            "10/11/2012",
            "1/1/2000",
        ];
        assert_eq!(kind_from_values(&dates), Some(FieldKind::DateOfBirth));
        let postcodes = ["LS6 2AB", "BD1 1AA", "M1 4BT", "S10 2TN", "HX1 1UJ"];
        assert_eq!(kind_from_values(&postcodes), Some(FieldKind::Postcode));
        let phones = [
            "0113 496 0000",
            "07700 900123",
            "+44 7700 900456",
            "01632 960001",
            "020 7946 0018",
        ];
        assert_eq!(kind_from_values(&phones), Some(FieldKind::Phone));
        assert_eq!(
            kind_from_values(&["red", "green", "blue", "red", "teal"]),
            None
        );
    }
}

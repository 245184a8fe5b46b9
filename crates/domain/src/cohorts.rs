//! Cohorts and outreach: a finished matching run's list grouped into households, each placed
//! in its locality by postcode and marked by what earlyhelp knows of it, counted by locality;
//! and which households outreach turns into requests for support.
//!
//! Who sees what (see docs/matching.md, "Cohorts and outreach"): data analysts make cohorts
//! and see them pseudonymised (household references and counts, no names or addresses); a
//! household's names are shown only to those who triage requests in its locality.

use crate::cases::locality_for_postcode;
use crate::limits::{LINE, too_long};
use crate::nhs_number::NhsNumber;
use crate::people::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Column names (letters and digits, lower case) taken as the list's own household id.
pub const HOUSEHOLD_HEADERS: &[&str] = &[
    "household",
    "householdid",
    "householdref",
    "householdreference",
    "hhid",
    "hhref",
    "familyid",
    "familyref",
];

/// Whether a column's header names the list's household id.
pub fn is_household_header(header: &str) -> bool {
    let key: String = header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    HOUSEHOLD_HEADERS.contains(&key.as_str())
}

choices!(
    /// How a cohort's people were grouped into households.
    Grouping {
        HouseholdColumn => ("household_column", "By the list's own household id"),
        Address => ("address", "By address and postcode"),
    }
);

/// One person of an uploaded list, as a cohort groups them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
    /// The list's NHS number when it passes its check digit; a failing one is left out.
    pub nhs_number: Option<NhsNumber>,
    pub postcode: String,
    pub address: String,
    /// The list's household id; empty when the list has none.
    pub household: String,
}

/// Letters and digits of an address, lower case, one space between words: "Flat 2, 10 High
/// St." and "flat 2 10 high st" are one address.
fn address_key(address: &str) -> String {
    address
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn postcode_key(postcode: &str) -> String {
    postcode
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A household of a cohort: the people in it (indexes into the list), and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    /// What grouped it: the household id, or the normalised address and postcode.
    pub key: String,
    pub members: Vec<usize>,
    pub postcode: String,
    pub address: String,
    /// `None`: the postcode is not in the city (the household is "not placed").
    pub locality: Option<&'static str>,
}

/// Groups people into households, in the order first seen: by the household id where the list
/// has one, else by normalised address and postcode. A person with no address is a household
/// of their own, never merged with another stranger.
pub fn group(people: &[Person], grouping: Grouping) -> Vec<Household> {
    let mut households: Vec<Household> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, person) in people.iter().enumerate() {
        let by_address = || {
            let (address, postcode) =
                (address_key(&person.address), postcode_key(&person.postcode));
            // A postcode alone is a street, not a household: without an address the person
            // stays alone, never merged with strangers who share the postcode.
            (!address.is_empty()).then(|| format!("address:{address}|{postcode}"))
        };
        let key = match grouping {
            Grouping::HouseholdColumn if !person.household.trim().is_empty() => {
                Some(format!("household:{}", person.household.trim()))
            }
            _ => by_address(),
        }
        .unwrap_or_else(|| format!("alone:{n}"));
        match index.get(&key) {
            Some(&h) => {
                let household = &mut households[h];
                household.members.push(n);
                // The first member with a postcode places the household.
                if household.postcode.trim().is_empty() {
                    household.postcode = person.postcode.trim().to_string();
                    household.locality = locality_for_postcode(&person.postcode);
                }
                if household.address.trim().is_empty() {
                    household.address = person.address.trim().to_string();
                }
            }
            None => {
                index.insert(key.clone(), households.len());
                households.push(Household {
                    key,
                    members: vec![n],
                    postcode: person.postcode.trim().to_string(),
                    address: person.address.trim().to_string(),
                    locality: locality_for_postcode(&person.postcode),
                });
            }
        }
    }
    households
}

choices!(
    /// What earlyhelp knows of a household, from its members' matches: the strongest wins.
    Known {
        Open => ("open", "Open case"),
        Waiting => ("waiting", "Request waiting for triage"),
        Known => ("known", "Known, no open case"),
        NotKnown => ("not_known", "Not known"),
    }
);

impl Known {
    /// The stronger of two: an open case outweighs a waiting request, which outweighs a
    /// closed case, which outweighs nothing.
    pub fn strongest(self, other: Known) -> Known {
        let rank = |k: Known| Known::ALL.iter().position(|a| *a == k).unwrap_or(0);
        if rank(other) < rank(self) {
            other
        } else {
            self
        }
    }

    /// Whether outreach sends the household a request: not while a case is open or a request
    /// waits for triage (it would be a second one).
    pub fn needs_outreach(self) -> bool {
        matches!(self, Known::Known | Known::NotKnown)
    }
}

/// Counts below this are not shown to the analyst: a small count can point at a family.
pub const SUPPRESS_BELOW: u64 = 5;

/// A count as the analyst sees it: "fewer than 5" below [`SUPPRESS_BELOW`].
pub fn suppressed(count: u64) -> String {
    match count < SUPPRESS_BELOW {
        true => format!("fewer than {SUPPRESS_BELOW}"),
        false => count.to_string(),
    }
}

/// A household's reference within its cohort, as the analyst sees it.
pub fn reference(number: i64) -> String {
    format!("H-{number:04}")
}

/// Households and people by locality, and what earlyhelp knows of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// The locality's slug; `None` for households not placed (postcode outside the city).
    pub locality: Option<String>,
    pub households: u64,
    pub people: u64,
    pub open: u64,
    pub waiting: u64,
    pub known: u64,
    pub not_known: u64,
}

impl Tally {
    fn add(&mut self, people: u64, known: Known) {
        self.households += 1;
        self.people += people;
        match known {
            Known::Open => self.open += 1,
            Known::Waiting => self.waiting += 1,
            Known::Known => self.known += 1,
            Known::NotKnown => self.not_known += 1,
        }
    }
}

/// The tally of each locality (by slug; those not placed last), and the total.
pub fn tally<'a>(
    households: impl IntoIterator<Item = (Option<&'a str>, u64, Known)>,
) -> (Vec<Tally>, Tally) {
    let mut by: HashMap<Option<&str>, Tally> = HashMap::new();
    let mut total = Tally::default();
    for (locality, people, known) in households {
        by.entry(locality)
            .or_insert_with(|| Tally {
                locality: locality.map(str::to_string),
                ..Tally::default()
            })
            .add(people, known);
        total.add(people, known);
    }
    let mut tallies: Vec<Tally> = by.into_values().collect();
    tallies.sort_by(|a, b| {
        (a.locality.is_none(), &a.locality).cmp(&(b.locality.is_none(), &b.locality))
    });
    (tallies, total)
}

/// Checks a cohort's name.
pub fn check_name(name: &str) -> Result<String, Vec<FieldError>> {
    let name = name.trim();
    let mut errors: Vec<FieldError> = too_long("name", "The name", name, LINE)
        .into_iter()
        .collect();
    if name.is_empty() {
        errors.push(FieldError::new(
            "name",
            "Enter a name for the cohort, such as 'temporary accommodation, November 2026'",
        ));
    }
    match errors.is_empty() {
        true => Ok(name.to_string()),
        false => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(given: &str, address: &str, postcode: &str, household: &str) -> Person {
        Person {
            given_name: given.into(),
            family_name: "Lee".into(),
            date_of_birth: "2015-03-04".into(),
            nhs_number: None,
            postcode: postcode.into(),
            address: address.into(),
            household: household.into(),
        }
    }

    #[test]
    fn people_at_one_address_are_one_household_and_strangers_are_not_merged() {
        let people = [
            person("Ann", "Flat 2, 10 High St.", "B1 1AA", ""),
            person("Bob", "flat 2 10 high st", "b11aa", ""),
            person("Cat", "Flat 3, 10 High St", "B1 1AA", ""),
            person("Dan", "", "", ""),
            person("Eve", "", "", ""),
            person("Fay", "1 Far Away", "ZZ9 9ZZ", ""),
        ];
        let households = group(&people, Grouping::Address);
        let members: Vec<Vec<usize>> = households.iter().map(|h| h.members.clone()).collect();
        assert_eq!(members, [vec![0, 1], vec![2], vec![3], vec![4], vec![5]]);
        assert_eq!(households[0].locality, Some("ladywood"));
        assert_eq!(households[4].locality, None, "outside the city: not placed");
    }

    #[test]
    fn strangers_sharing_a_postcode_without_an_address_are_not_one_household() {
        let people = [
            person("Ann", "", "B1 1AA", ""),
            person("Bob", " , ", "b1 1aa", ""),
            person("Cat", "10 High St", "B1 1AA", ""),
        ];
        let households = group(&people, Grouping::Address);
        let members: Vec<Vec<usize>> = households.iter().map(|h| h.members.clone()).collect();
        assert_eq!(members, [vec![0], vec![1], vec![2]]);
        assert_eq!(households[0].locality, Some("ladywood"), "still placed");
        assert_eq!(suppressed(4), "fewer than 5");
        assert_eq!(suppressed(0), "fewer than 5");
        assert_eq!(suppressed(5), "5");
    }

    #[test]
    fn a_household_column_groups_before_the_address() {
        let people = [
            person("Ann", "10 High St", "B1 1AA", "HH1"),
            person("Bob", "1 Moved Road", "", "HH1"),
            person("Cat", "10 High St", "B1 1AA", "HH2"),
            person("Dan", "10 High St", "B1 1AA", ""),
        ];
        let households = group(&people, Grouping::HouseholdColumn);
        let members: Vec<Vec<usize>> = households.iter().map(|h| h.members.clone()).collect();
        // Without an id of its own, Dan falls back to the address.
        assert_eq!(members, [vec![0, 1], vec![2], vec![3]]);
        assert!(is_household_header("Household ID"));
        assert!(is_household_header("hh_ref"));
        assert!(!is_household_header("house_number"));
    }

    #[test]
    fn the_strongest_knowledge_wins_and_counts_go_by_locality() {
        assert_eq!(Known::NotKnown.strongest(Known::Known), Known::Known);
        assert_eq!(Known::Open.strongest(Known::Waiting), Known::Open);
        assert_eq!(Known::Known.strongest(Known::Waiting), Known::Waiting);
        assert!(!Known::Open.needs_outreach() && !Known::Waiting.needs_outreach());
        assert!(Known::Known.needs_outreach() && Known::NotKnown.needs_outreach());
        let (tallies, total) = tally([
            (Some("ladywood"), 3, Known::Open),
            (None, 1, Known::NotKnown),
            (Some("erdington"), 2, Known::NotKnown),
            (Some("ladywood"), 1, Known::Known),
        ]);
        let places: Vec<Option<&str>> = tallies.iter().map(|t| t.locality.as_deref()).collect();
        assert_eq!(places, [Some("erdington"), Some("ladywood"), None]);
        assert_eq!(
            tallies[1],
            Tally {
                locality: Some("ladywood".into()),
                households: 2,
                people: 4,
                open: 1,
                known: 1,
                ..Tally::default()
            }
        );
        assert_eq!((total.households, total.people, total.not_known), (4, 7, 2));
        assert_eq!(reference(7), "H-0007");
        assert_eq!(check_name("  ").unwrap_err()[0].field, "name");
    }
}

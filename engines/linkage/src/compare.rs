//! Comparisons: for one field of a pair of records, the first level (best first) whose test
//! holds. Level 0 always means "a value is missing"; it carries no evidence either way.

use serde::{Deserialize, Serialize};

use crate::bloom;
use crate::normalise::{Date, postcode_parts};
use crate::records::{Kind, MISSING, Records, unpack_date};
use crate::similarity;

/// Index of the null level in every comparison.
pub const NULL_LEVEL: u8 = 0;

/// A test two values pass or fail. Tests that do not fit a column's type never pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum Level {
    Exact,
    /// Both given names are forms of one name ("bill", "william").
    Nickname,
    /// Given and family names recorded the other way round (needs `swap_column`).
    Swapped,
    Levenshtein {
        max: usize,
    },
    /// Edits counting a swap of two neighbouring characters as one (optimal string alignment):
    /// the commonest slip in typed reference numbers.
    Damerau {
        max: usize,
    },
    JaroWinkler {
        min: f64,
    },
    /// Same year, day and month exchanged (04/03 against 03/04).
    DateTransposed,
    /// At most `max` of the eight digits YYYYMMDD differ.
    DateDigits {
        max: usize,
    },
    PostcodeSector,
    PostcodeDistrict,
    /// An address held in parts (`Comparison::with`): the parts present agree, at least two
    /// of postcode, street and house number among them, and none disagrees.
    SameAddress,
    /// The same postcode or street, not (or not shown to be) the same house: neighbours.
    SameStreet,
    /// The same postcode district or town.
    SameArea,
    /// Dice coefficient of two Bloom-filter encodings.
    Dice {
        min: f64,
    },
    Else,
}

impl Level {
    pub fn label(&self) -> String {
        match self {
            Level::Exact => "exact".into(),
            Level::Nickname => "nickname".into(),
            Level::Swapped => "given and family swapped".into(),
            Level::Levenshtein { max } => format!("levenshtein <= {max}"),
            Level::Damerau { max } => format!("damerau-levenshtein <= {max}"),
            Level::JaroWinkler { min } => format!("jaro-winkler >= {min}"),
            Level::DateTransposed => "day and month transposed".into(),
            Level::DateDigits { max } => format!("<= {max} digits differ"),
            Level::PostcodeSector => "same sector".into(),
            Level::PostcodeDistrict => "same district".into(),
            Level::SameAddress => "same address".into(),
            Level::SameStreet => "same street or postcode".into(),
            Level::SameArea => "same district or town".into(),
            Level::Dice { min } => format!("dice >= {min}"),
            Level::Else => "else".into(),
        }
    }
}

/// One comparison of the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub name: String,
    /// Index into the shared field list.
    pub column: usize,
    /// The other name column: for `Level::Swapped`, or, in a comparison without that level,
    /// to treat a swapped pair as null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_column: Option<usize>,
    /// Further columns compared together with `column` as one fact: the parts of an address
    /// (house number, street lines, town, postcode). Members of a household agree on all of
    /// them at once, so counted one by one they would be several pieces of evidence where
    /// there is one, and a move would count against a match several times over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<usize>,
    /// Tests in order, strongest first; the last is usually `Else`.
    pub levels: Vec<Level>,
    /// Adjust exact agreement by how common the agreed value is.
    #[serde(default)]
    pub term_frequency: bool,
}

impl Comparison {
    /// Number of levels including the null level.
    pub fn level_count(&self) -> usize {
        self.levels.len() + 1
    }

    /// Every column the comparison reads (not the swap column).
    pub fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.column).chain(self.with.iter().copied())
    }

    /// The values the comparison reads for one row, for explanations.
    pub fn display(&self, data: &crate::data::Dataset, row: usize) -> Option<String> {
        let values: Vec<String> = self
            .columns()
            .filter_map(|c| data.display(c, row))
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The level of the pair whose rows have codes `a` (left) and `b` (right), as
    /// `Records::left_row` and `right_row` give them; `NULL_LEVEL` if either value is missing.
    pub fn level(&self, records: &Records, a: &[u32], b: &[u32]) -> u8 {
        if !self.with.is_empty() {
            let address = address_parts(records, self.columns(), a, b);
            return match address.level() {
                Some(level) => self.first_passing_by(|l| *l == level || *l == Level::Else),
                None => NULL_LEVEL,
            };
        }
        let (x, y) = (a[self.column], b[self.column]);
        if x == MISSING || y == MISSING {
            return NULL_LEVEL;
        }
        // Both crossed values present and alike: a's other name is b's name and the reverse.
        let swapped = |alike: &dyn Fn(u32, u32) -> bool| {
            self.swap_column.is_some_and(|other| {
                let crossed = |p: u32, q: u32| p != MISSING && (p == q || alike(p, q));
                crossed(a[other], y) && crossed(b[other], x)
            })
        };
        match records.kind(self.column) {
            Kind::Text => {
                let alike = |p, q| alike(records.text(p), records.text(q));
                // Without a swapped level of its own, this comparison leaves a swapped pair
                // to the one that has it, so the swap is not counted twice.
                if x != y && !self.levels.contains(&Level::Swapped) && swapped(&alike) {
                    return NULL_LEVEL;
                }
                self.first_passing(TextPair::new(records, x, y, || swapped(&alike)))
            }
            Kind::Date => {
                let (da, db) = (unpack_date(x), unpack_date(y));
                self.first_passing_by(|level| date_level_passes(level, da, db))
            }
            Kind::Bloom => {
                let dice_of = |p, q| {
                    let ((wp, op), (wq, oq)) = (records.filter(p), records.filter(q));
                    bloom::dice(wp, op, wq, oq)
                };
                let alike = |p, q| dice_of(p, q) >= SWAP_DICE;
                if x != y && !self.levels.contains(&Level::Swapped) && swapped(&alike) {
                    return NULL_LEVEL;
                }
                let mut dice = None;
                self.first_passing_by(|level| match level {
                    Level::Exact => x == y,
                    Level::Swapped => swapped(&alike),
                    Level::Dice { min } => *dice.get_or_insert_with(|| dice_of(x, y)) >= *min,
                    Level::Else => true,
                    _ => false,
                })
            }
        }
    }

    fn first_passing<F: Fn() -> bool>(&self, mut pair: TextPair<'_, F>) -> u8 {
        self.first_passing_by(|level| pair.passes(level))
    }

    fn first_passing_by(&self, mut passes: impl FnMut(&Level) -> bool) -> u8 {
        self.levels
            .iter()
            .position(&mut passes)
            .map_or(self.levels.len() as u8, |p| p as u8 + 1)
    }
}

/// Two text values with their similarity scores computed once, when a level first needs them.
struct TextPair<'a, F> {
    records: &'a Records<'a>,
    x: u32,
    y: u32,
    /// The strings of `x` and `y`, read when a level first needs more than their codes.
    strings: Option<(&'a str, &'a str)>,
    swapped: F,
    jaro_winkler: Option<f64>,
    jaro_winkler_bound: Option<f64>,
    levenshtein: Option<usize>,
}

impl<'a, F: Fn() -> bool> TextPair<'a, F> {
    fn new(records: &'a Records<'a>, x: u32, y: u32, swapped: F) -> Self {
        TextPair {
            records,
            x,
            y,
            strings: None,
            swapped,
            jaro_winkler: None,
            jaro_winkler_bound: None,
            levenshtein: None,
        }
    }

    fn passes(&mut self, level: &Level) -> bool {
        let (records, x, y) = (self.records, self.x, self.y);
        match level {
            Level::Exact => return x == y,
            Level::Nickname => return records.nickname_groups(x) & records.nickname_groups(y) != 0,
            Level::Swapped => return (self.swapped)(),
            Level::Else => return true,
            _ => {}
        }
        let (a, b) = *self
            .strings
            .get_or_insert_with(|| (records.text(x), records.text(y)));
        match level {
            Level::Levenshtein { max: 1 } => within_one_edit(a, b),
            Level::Levenshtein { max } => {
                // The length difference is a lower bound: most pairs fail on it, uncounted.
                a.chars().count().abs_diff(b.chars().count()) <= *max
                    && *self
                        .levenshtein
                        .get_or_insert_with(|| strsim::levenshtein(a, b))
                        <= *max
            }
            Level::Damerau { max: 1 } => within_one_edit(a, b) || one_transposition(a, b),
            Level::Damerau { max } => {
                a.chars().count().abs_diff(b.chars().count()) <= *max
                    && strsim::osa_distance(a, b) <= *max
            }
            Level::JaroWinkler { min } => {
                // The bound is cheap and rules out most strangers' names uncomputed.
                let bound = match self.jaro_winkler {
                    Some(known) => known,
                    None => *self
                        .jaro_winkler_bound
                        .get_or_insert_with(|| similarity::jaro_winkler_bound(a, b)),
                };
                bound >= *min
                    && *self
                        .jaro_winkler
                        .get_or_insert_with(|| similarity::jaro_winkler(a, b))
                        >= *min
            }
            Level::PostcodeSector | Level::PostcodeDistrict => {
                match (postcode_parts(a), postcode_parts(b)) {
                    (Some(pa), Some(pb)) if *level == Level::PostcodeSector => {
                        pa.sector == pb.sector
                    }
                    (Some(pa), Some(pb)) => pa.district == pb.district,
                    _ => false,
                }
            }
            Level::Exact | Level::Nickname | Level::Swapped | Level::Else => {
                unreachable!("answered from the codes above")
            }
            Level::DateTransposed
            | Level::DateDigits { .. }
            | Level::Dice { .. }
            | Level::SameAddress
            | Level::SameStreet
            | Level::SameArea => false,
        }
    }
}

/// What the parts of two addresses say, each `None` where a side lacks it.
#[derive(Default)]
struct AddressParts {
    postcode: Option<PostcodeAgreement>,
    street: Option<bool>,
    number: Option<bool>,
    town: Option<bool>,
}

#[derive(Clone, Copy, PartialEq)]
enum PostcodeAgreement {
    Same,
    Area,
    Differs,
}

/// Street names this alike are one street ("victoria rd", "victoria road").
const STREET_SIMILARITY: f64 = 0.9;

impl AddressParts {
    /// The address level, or `None` when too little is present on both sides to say.
    fn level(&self) -> Option<Level> {
        let postcode_same = self.postcode == Some(PostcodeAgreement::Same);
        let postcode_differs = self.postcode.is_some() && !postcode_same;
        let agree = [
            postcode_same,
            self.street == Some(true),
            self.number == Some(true),
        ];
        let disagree = [
            postcode_differs,
            self.street == Some(false),
            self.number == Some(false),
        ];
        let (agree, disagree) = (
            agree.iter().filter(|x| **x).count(),
            disagree.iter().filter(|x| **x).count(),
        );
        Some(if agree >= 2 && disagree == 0 {
            Level::SameAddress
        } else if postcode_same || self.street == Some(true) {
            Level::SameStreet
        } else if self.postcode == Some(PostcodeAgreement::Area) || self.town == Some(true) {
            Level::SameArea
        } else if self.postcode.is_some() || self.street.is_some() || self.town.is_some() {
            Level::Else
        } else {
            return None;
        })
    }
}

/// Compares the parts of an address held in the given columns.
fn address_parts(
    records: &Records,
    columns: impl Iterator<Item = usize>,
    a: &[u32],
    b: &[u32],
) -> AddressParts {
    use crate::data::FieldKind;
    let mut parts = AddressParts::default();
    // Street lines of each side, without their house numbers.
    let (mut lines_a, mut lines_b): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let (mut line_number_a, mut line_number_b) = (None, None);
    for column in columns {
        let (x, y) = (a[column], b[column]);
        let kind = records.left.fields[column].kind;
        if kind == FieldKind::Address {
            // A line missing on one side may be a second line the other never had.
            for (code, lines, number) in [
                (x, &mut lines_a, &mut line_number_a),
                (y, &mut lines_b, &mut line_number_b),
            ] {
                if code != MISSING {
                    let text = records.text(code);
                    *number = number.or_else(|| crate::normalise::first_number(text));
                    let street = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
                    if !street.is_empty() {
                        lines.push(street);
                    }
                }
            }
            continue;
        }
        if x == MISSING || y == MISSING {
            continue;
        }
        let (s, t) = (records.text(x), records.text(y));
        match kind {
            FieldKind::Postcode => {
                parts.postcode = Some(if x == y || s.len() >= 5 && within_one_edit(s, t) {
                    PostcodeAgreement::Same
                } else if matches!(
                    (postcode_parts(s), postcode_parts(t)),
                    (Some(p), Some(q)) if p.district == q.district
                ) {
                    PostcodeAgreement::Area
                } else {
                    PostcodeAgreement::Differs
                });
            }
            FieldKind::HouseNumber => {
                parts.number = Some(
                    x == y
                        || crate::normalise::first_number(s) == crate::normalise::first_number(t),
                );
            }
            FieldKind::Place => {
                parts.town = Some(x == y || similarity::jaro_winkler(s, t) >= STREET_SIMILARITY);
            }
            _ => {}
        }
    }
    if parts.number.is_none()
        && let (Some(p), Some(q)) = (line_number_a, line_number_b)
    {
        parts.number = Some(p == q);
    }
    if !lines_a.is_empty() && !lines_b.is_empty() {
        parts.street = Some(lines_a.iter().any(|p| {
            lines_b.iter().any(|q| {
                p == q
                    || similarity::jaro_winkler_bound(p, q) >= STREET_SIMILARITY
                        && similarity::jaro_winkler(p, q) >= STREET_SIMILARITY
            })
        }));
    }
    parts
}

/// How alike the crossed values of a swap must be: a swap survives a typo in either name
/// (though not in its first letter, which most candidate pairs fail on without further work).
const SWAP_SIMILARITY: f64 = 0.9;
/// The same for encodings, by Dice coefficient.
const SWAP_DICE: f64 = 0.8;

fn alike(x: &str, y: &str) -> bool {
    x == y
        || x.as_bytes().first() == y.as_bytes().first()
            && similarity::jaro_winkler_bound(x, y) >= SWAP_SIMILARITY
            && similarity::jaro_winkler(x, y) >= SWAP_SIMILARITY
}

/// The two values differ only by two neighbouring characters exchanged.
fn one_transposition(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() != b.len() {
        return false;
    }
    let differ: Vec<usize> = (0..a.len()).filter(|&k| a[k] != b[k]).take(3).collect();
    matches!(differ[..], [k, l] if l == k + 1 && a[k] == b[l] && a[l] == b[k])
}

/// Levenshtein distance at most one, in one pass without allocating: the common threshold,
/// tested on most candidate pairs (postcodes and phones of equal length, for a start).
fn within_one_edit(a: &str, b: &str) -> bool {
    let (mut rest_a, mut rest_b) = (a.chars(), b.chars());
    loop {
        match (rest_a.next(), rest_b.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => return true,
            (x, y) => {
                let (after_a, after_b) = (rest_a.as_str(), rest_b.as_str());
                // The character of one side that the other lacks, then the same tail.
                let extra = |c: Option<char>, longer: &str, shorter: &str| {
                    c.is_some_and(|c| longer.starts_with(c) && longer[c.len_utf8()..] == *shorter)
                };
                return after_a == after_b
                    || y.is_none() && after_a.is_empty()
                    || x.is_none() && after_b.is_empty()
                    || extra(y, after_a, after_b)
                    || extra(x, after_b, after_a);
            }
        }
    }
}

fn date_level_passes(level: &Level, a: Date, b: Date) -> bool {
    match level {
        Level::Exact => a == b,
        Level::DateTransposed => a.year == b.year && a.day == b.month && a.month == b.day,
        Level::DateDigits { max } => date_digit_differences(a, b) <= *max,
        Level::Else => true,
        _ => false,
    }
}

fn date_digit_differences(a: Date, b: Date) -> usize {
    let digits = |d: Date| {
        let (y, m, d) = (d.year, u16::from(d.month), u16::from(d.day));
        [
            y / 1000,
            y / 100 % 10,
            y / 10 % 10,
            y % 10,
            m / 10,
            m % 10,
            d / 10,
            d % 10,
        ]
    };
    digits(a)
        .iter()
        .zip(digits(b))
        .filter(|(x, y)| **x != *y)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bloom::Bits;
    use crate::data::tests::people;
    use crate::data::{Dataset, Field, FieldKind};
    use proptest::prelude::*;

    /// The level of rows `i` and `j` of one dataset, linked with itself.
    fn level_of(c: &Comparison, ds: &Dataset, i: usize, j: usize) -> u8 {
        let records = Records::new(ds, Some(ds));
        c.level(&records, records.left_row(i), records.right_row(j))
    }

    fn given() -> Comparison {
        Comparison {
            name: "given".into(),
            column: 0,
            swap_column: Some(1),
            with: Vec::new(),
            levels: vec![
                Level::Exact,
                Level::Swapped,
                Level::Nickname,
                Level::JaroWinkler { min: 0.9 },
                Level::Else,
            ],
            term_frequency: false,
        }
    }

    fn dob() -> Comparison {
        Comparison {
            name: "dob".into(),
            column: 2,
            swap_column: None,
            with: Vec::new(),
            levels: vec![
                Level::Exact,
                Level::DateTransposed,
                Level::DateDigits { max: 1 },
                Level::Else,
            ],
            term_frequency: false,
        }
    }

    #[test]
    fn name_levels_in_order() {
        let ds = people(&[
            ["William", "Jones", "1990-03-04"],
            ["Bill", "Jones", ""],
            ["Jones", "William", "1990-04-03"],
            ["Willaim", "Jones", "1991-03-04"],
            ["Mary", "Jones", "1975-11-30"],
            ["", "Jones", "04/03/1990"],
        ]);
        let g = given();
        let level = |j| level_of(&g, &ds, 0, j);
        assert_eq!(
            [level(0), level(2), level(1), level(3), level(4), level(5)],
            [1, 2, 3, 4, 5, NULL_LEVEL]
        );
        let family = Comparison {
            name: "family".into(),
            column: 1,
            swap_column: Some(0),
            with: Vec::new(),
            levels: vec![Level::Exact, Level::Else],
            term_frequency: false,
        };
        assert_eq!(
            level_of(&family, &ds, 0, 2),
            NULL_LEVEL,
            "a swap is counted by the given name only"
        );
        assert_eq!(level_of(&family, &ds, 0, 1), 1);
        let d = dob();
        let level = |j| level_of(&d, &ds, 0, j);
        assert_eq!(
            [level(5), level(2), level(3), level(4), level(1)],
            [1, 2, 3, 4, NULL_LEVEL]
        );
    }

    #[test]
    fn a_swap_survives_a_typo_in_either_name() {
        let ds = people(&[
            ["William", "Jones", ""],
            ["Jonse", "Wiliam", ""],
            ["Jones", "Mary", ""],
        ]);
        let g = given();
        assert_eq!(level_of(&g, &ds, 0, 1), 2, "swapped, one typo each way");
        assert_eq!(
            level_of(&g, &ds, 0, 2),
            5,
            "only one name crossed over is no swap"
        );
    }

    #[test]
    fn a_swap_shows_on_encodings_too() {
        let clear = people(&[["William", "Jones", ""], ["Jones", "William", ""]]);
        let encoder = crate::bloom::Encoder::new(b"a shared secret of some length").unwrap();
        let mut encoded = Dataset::new(crate::bloom::Encoder::encoded_fields(&clear.fields));
        for row in 0..2 {
            let filters: Vec<String> = encoder
                .encode(&clear, row)
                .iter()
                .map(|f| f.as_ref().map_or(String::new(), Bits::to_base64))
                .collect();
            let values: Vec<&str> = filters.iter().map(String::as_str).collect();
            encoded.push(&row.to_string(), &values).unwrap();
        }
        let comparisons = crate::autoconfig::comparisons_for(&encoded.fields);
        let (given, family) = (&comparisons[0], &comparisons[1]);
        assert_eq!(given.levels[1], Level::Swapped);
        assert_eq!(level_of(given, &encoded, 0, 1), 2);
        assert_eq!(level_of(family, &encoded, 0, 1), NULL_LEVEL);
    }

    #[test]
    fn transposed_digits_are_one_edit_for_reference_numbers() {
        let ids = |rows: &[&str]| {
            let fields = vec![Field {
                name: "nhs".into(),
                kind: FieldKind::Identifier,
            }];
            let mut ds = Dataset::new(fields);
            rows.iter()
                .enumerate()
                .for_each(|(n, r)| ds.push(&n.to_string(), &[r]).unwrap());
            ds
        };
        let ds = ids(&["4086300", "4086030", "4086310", "4680300", "9999999"]);
        let c = Comparison {
            name: "nhs".into(),
            column: 0,
            swap_column: None,
            with: Vec::new(),
            levels: vec![
                Level::Exact,
                Level::Damerau { max: 1 },
                Level::Damerau { max: 2 },
                Level::Else,
            ],
            term_frequency: false,
        };
        let level = |j| level_of(&c, &ds, 0, j);
        assert_eq!([level(1), level(2), level(3), level(4)], [2, 2, 3, 4]);
        assert_eq!(strsim::levenshtein("4086300", "4086030"), 2);
    }

    #[test]
    fn nhs_numbers_agree_exactly_or_disagree_and_a_failed_check_is_missing() {
        let fields = vec![Field {
            name: "NHS Number".into(),
            kind: crate::autoconfig::kind_from_header("NHS Number").unwrap(),
        }];
        let mut ds = Dataset::new(fields.clone());
        // The same number written two ways, another valid number, and a mistyped one.
        for (n, raw) in ["943 476 5919", "9434765919", "401-023-2137", "943 476 5918"]
            .iter()
            .enumerate()
        {
            ds.push(&n.to_string(), &[raw]).unwrap();
        }
        let c = crate::autoconfig::comparisons_for(&fields).remove(0);
        assert_eq!(c.levels, vec![Level::Exact, Level::Else]);
        let level = |j| level_of(&c, &ds, 0, j);
        assert_eq!([level(1), level(2), level(3)], [1, 2, NULL_LEVEL]);
        let rules = crate::autoconfig::blocking_for(&fields);
        assert_eq!(
            rules.len(),
            1,
            "pairs sharing an NHS number are always compared"
        );
    }

    proptest! {
        #[test]
        fn damerau_test_agrees_with_optimal_string_alignment(a in "[abc]{0,6}", b in "[abc]{0,6}") {
            prop_assert_eq!(
                within_one_edit(&a, &b) || one_transposition(&a, &b),
                strsim::osa_distance(&a, &b) <= 1
            );
        }

        #[test]
        fn one_edit_test_agrees_with_levenshtein(a in "[ab]{0,6}", b in "[ab]{0,6}") {
            prop_assert_eq!(within_one_edit(&a, &b), strsim::levenshtein(&a, &b) <= 1);
        }

        #[test]
        fn comparisons_are_symmetric(a in "[a-z]{0,8}", b in "[a-z]{0,8}") {
            let ds = people(&[[&a, "x", ""], [&b, "y", ""]]);
            let g = given();
            prop_assert_eq!(level_of(&g, &ds, 0, 1), level_of(&g, &ds, 1, 0));
            prop_assert!(level_of(&g, &ds, 0, 0) <= 1, "a value agrees exactly with itself");
        }

        #[test]
        fn one_typo_never_scores_below_a_rewrite(name in "[a-z]{4,10}", at in 0usize..4, c in "[a-z]") {
            let mut typo: Vec<char> = name.chars().collect();
            typo[at] = c.chars().next().unwrap();
            let typo: String = typo.into_iter().collect();
            let rewrite: String = name.chars().rev().map(|ch| if ch == 'q' { 'z' } else { 'q' }).collect();
            let ds = people(&[[&name, "x", ""], [&typo, "x", ""], [&rewrite, "x", ""]]);
            let g = given();
            prop_assert!(level_of(&g, &ds, 0, 1) <= level_of(&g, &ds, 0, 2));
        }
    }
}

//! Blocking: which pairs of records are worth comparing at all.
//!
//! Each rule proposes pairs; a pair is compared under the first rule that proposes it and
//! skipped by every later rule (each rule can answer "would I propose this pair?" in constant
//! time), so the union has no duplicates and no set of pairs is ever held in memory. Pairs are
//! produced block by block in parallel and handed to a visitor as they come.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use rphonetic::{DoubleMetaphone, Encoder, Soundex};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;

/// One part of a blocking key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "snake_case")]
pub enum KeyPart {
    Exact {
        column: usize,
    },
    Prefix {
        column: usize,
        chars: usize,
    },
    Soundex {
        column: usize,
    },
    Metaphone {
        column: usize,
    },
    /// Phonetic codes of two name columns in sorted order, so swapped names share a key.
    NamePair {
        given: usize,
        family: usize,
    },
    /// The first number in a text column: a house number, or the one an address line starts with.
    HouseNumber {
        column: usize,
    },
    /// Year of a date column.
    Year {
        column: usize,
    },
    /// Min-hashes of the set bits of an encoding: similar encodings often share them.
    MinHash {
        column: usize,
        seed: u64,
        count: usize,
    },
}

/// Records whose keys are equal (or, with a window, whose keys sort within `window` places of
/// each other) form candidate pairs. A record with any key part missing is in no block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockingRule {
    pub name: String,
    pub key: Vec<KeyPart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
}

impl BlockingRule {
    /// The columns the key is made from.
    pub fn columns(&self) -> Vec<usize> {
        self.key
            .iter()
            .flat_map(|part| match *part {
                KeyPart::Exact { column }
                | KeyPart::Prefix { column, .. }
                | KeyPart::Soundex { column }
                | KeyPart::Metaphone { column }
                | KeyPart::HouseNumber { column }
                | KeyPart::Year { column }
                | KeyPart::MinHash { column, .. } => vec![column],
                KeyPart::NamePair { given, family } => vec![given, family],
            })
            .collect()
    }
}

/// What one rule yields, known before any pair is compared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleReport {
    pub name: String,
    /// Pairs this rule proposes on its own, duplicates with earlier rules included.
    pub pairs: u64,
    pub blocks: u64,
    /// Blocks left out because they alone would exceed the pair budget (common keys).
    pub oversized_blocks: u64,
    pub oversized_pairs: u64,
}

const NO_BLOCK: u32 = u32::MAX;
/// Work is handed to threads in pieces of about this many pairs.
const UNIT_PAIRS: u64 = 50_000;

enum RuleIndex {
    Blocks {
        of_left: Vec<u32>,
        of_right: Vec<u32>,
        members: Vec<(Vec<u32>, Vec<u32>)>,
    },
    Sorted {
        window: u32,
        position_left: Vec<u32>,
        position_right: Vec<u32>,
        /// Records in key order: (is from the right side, row).
        order: Vec<(bool, u32)>,
    },
}

/// A piece of one rule's pairs: a range of left members of a block, or of sorted positions.
struct Unit {
    rule: usize,
    block: u32,
    start: u32,
    end: u32,
}

/// The blocking index of one linkage (left against right) or deduplication (right is None).
pub struct Blocker {
    rules: Vec<RuleIndex>,
    reports: Vec<RuleReport>,
    units: Vec<Unit>,
    dedupe: bool,
}

impl Blocker {
    /// Builds the index; blocks larger than `max_block_pairs` are left out and reported.
    pub fn new(
        rules: &[BlockingRule],
        left: &Dataset,
        right: Option<&Dataset>,
        max_block_pairs: u64,
    ) -> Self {
        let dedupe = right.is_none();
        let right_data = right.unwrap_or(left);
        let mut blocker = Blocker {
            rules: Vec::new(),
            reports: Vec::new(),
            units: Vec::new(),
            dedupe,
        };
        for (rule_number, rule) in rules.iter().enumerate() {
            let keys_left = keys(rule, left);
            let keys_right = if dedupe {
                Vec::new()
            } else {
                keys(rule, right_data)
            };
            let (index, report) = match rule.window {
                Some(window) => {
                    blocker.sorted_index(rule_number, &rule.name, window, keys_left, keys_right)
                }
                None => blocker.block_index(
                    rule_number,
                    &rule.name,
                    keys_left,
                    keys_right,
                    max_block_pairs,
                ),
            };
            blocker.rules.push(index);
            blocker.reports.push(report);
        }
        blocker
    }

    pub fn reports(&self) -> &[RuleReport] {
        &self.reports
    }

    /// Pairs all rules propose, duplicates included: the work the comparing passes will do.
    pub fn proposed_pairs(&self) -> u64 {
        self.reports.iter().map(|r| r.pairs).sum()
    }

    /// Visits every distinct candidate pair once, in parallel: `visit(state, rule, left, right)`
    /// where `rule` is the first rule proposing the pair. Each thread folds into its own state;
    /// the states are returned for the caller to merge. `progress` counts proposed pairs.
    pub fn fold_pairs<T, I, V>(&self, init: I, visit: V, progress: &AtomicU64) -> Vec<T>
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        V: Fn(&mut T, usize, u32, u32) + Sync + Send,
    {
        self.fold(None, init, visit, progress)
    }

    /// Visits every pair one rule proposes, whether or not an earlier rule proposes it too.
    pub fn fold_rule_pairs<T, I, V>(
        &self,
        rule: usize,
        init: I,
        visit: V,
        progress: &AtomicU64,
    ) -> Vec<T>
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        V: Fn(&mut T, usize, u32, u32) + Sync + Send,
    {
        self.fold(Some(rule), init, visit, progress)
    }

    fn fold<T, I, V>(&self, only: Option<usize>, init: I, visit: V, progress: &AtomicU64) -> Vec<T>
    where
        T: Send,
        I: Fn() -> T + Sync + Send,
        V: Fn(&mut T, usize, u32, u32) + Sync + Send,
    {
        // One unit per task: units cost very different amounts (pairs an earlier rule already
        // proposed are skipped), and rayon's default halving left one thread with most of the
        // expensive units at 1M records a side.
        self.units
            .par_iter()
            .with_max_len(1)
            .filter(|unit| only.is_none_or(|rule| unit.rule == rule))
            .fold(&init, |mut state, unit| {
                let mut proposed = 0u64;
                self.unit_pairs(unit, |i, j| {
                    proposed += 1;
                    if only.is_some()
                        || !self.rules[..unit.rule].iter().any(|r| self.covers(r, i, j))
                    {
                        visit(&mut state, unit.rule, i, j);
                    }
                });
                progress.fetch_add(proposed, Ordering::Relaxed);
                state
            })
            .collect()
    }

    fn covers(&self, rule: &RuleIndex, i: u32, j: u32) -> bool {
        let (i, j) = (i as usize, j as usize);
        match rule {
            RuleIndex::Blocks {
                of_left, of_right, ..
            } => {
                let right = if self.dedupe { of_left } else { of_right };
                of_left[i] != NO_BLOCK && of_left[i] == right[j]
            }
            RuleIndex::Sorted {
                window,
                position_left,
                position_right,
                ..
            } => {
                let right = if self.dedupe {
                    position_left
                } else {
                    position_right
                };
                let (a, b) = (position_left[i], right[j]);
                a != NO_BLOCK && b != NO_BLOCK && a.abs_diff(b) < *window
            }
        }
    }

    fn unit_pairs(&self, unit: &Unit, mut emit: impl FnMut(u32, u32)) {
        match &self.rules[unit.rule] {
            RuleIndex::Blocks { members, .. } => {
                let (lefts, rights) = &members[unit.block as usize];
                for a in unit.start as usize..unit.end as usize {
                    if self.dedupe {
                        lefts[a + 1..].iter().for_each(|&b| emit(lefts[a], b));
                    } else {
                        rights.iter().for_each(|&b| emit(lefts[a], b));
                    }
                }
            }
            RuleIndex::Sorted { window, order, .. } => {
                for p in unit.start as usize..unit.end as usize {
                    let (p_right, p_row) = order[p];
                    for &(q_right, q_row) in order.iter().skip(p + 1).take(*window as usize - 1) {
                        match (self.dedupe, p_right, q_right) {
                            (true, ..) => emit(p_row.min(q_row), p_row.max(q_row)),
                            (false, false, true) => emit(p_row, q_row),
                            (false, true, false) => emit(q_row, p_row),
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    fn block_index(
        &mut self,
        rule: usize,
        name: &str,
        keys_left: Vec<Option<String>>,
        keys_right: Vec<Option<String>>,
        max_block_pairs: u64,
    ) -> (RuleIndex, RuleReport) {
        let mut ids: HashMap<u64, u32> = HashMap::new();
        let mut members: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        let mut assign = |key: &Option<String>| -> u32 {
            key.as_ref().map_or(NO_BLOCK, |k| {
                let next = ids.len() as u32;
                let id = *ids.entry(hash_of(k)).or_insert(next);
                if id == next {
                    members.push((Vec::new(), Vec::new()));
                }
                id
            })
        };
        let mut of_left: Vec<u32> = keys_left.iter().map(&mut assign).collect();
        let mut of_right: Vec<u32> = keys_right.iter().map(&mut assign).collect();
        for (row, &b) in of_left.iter().enumerate().filter(|(_, b)| **b != NO_BLOCK) {
            members[b as usize].0.push(row as u32);
        }
        for (row, &b) in of_right.iter().enumerate().filter(|(_, b)| **b != NO_BLOCK) {
            members[b as usize].1.push(row as u32);
        }
        let mut report = RuleReport {
            name: name.to_string(),
            ..RuleReport::default()
        };
        let mut oversized = vec![false; members.len()];
        for (block, (l, r)) in members.iter_mut().enumerate() {
            let n = l.len() as u64;
            let pairs = if self.dedupe {
                n * n.saturating_sub(1) / 2
            } else {
                n * r.len() as u64
            };
            if pairs == 0 {
                continue;
            }
            if pairs > max_block_pairs {
                report.oversized_blocks += 1;
                report.oversized_pairs += pairs;
                oversized[block] = true;
                l.clear();
                r.clear();
                continue;
            }
            report.blocks += 1;
            report.pairs += pairs;
            let per_row = if self.dedupe {
                n / 2 + 1
            } else {
                r.len() as u64
            };
            let rows_per_unit = (UNIT_PAIRS / per_row).max(1);
            for start in (0..n).step_by(rows_per_unit as usize) {
                let end = (start + rows_per_unit).min(n);
                self.units.push(Unit {
                    rule,
                    block: block as u32,
                    start: start as u32,
                    end: end as u32,
                });
            }
        }
        for b in of_left.iter_mut().chain(of_right.iter_mut()) {
            if *b != NO_BLOCK && oversized[*b as usize] {
                *b = NO_BLOCK;
            }
        }
        (
            RuleIndex::Blocks {
                of_left,
                of_right,
                members,
            },
            report,
        )
    }

    fn sorted_index(
        &mut self,
        rule: usize,
        name: &str,
        window: usize,
        keys_left: Vec<Option<String>>,
        keys_right: Vec<Option<String>>,
    ) -> (RuleIndex, RuleReport) {
        let window = window.max(2) as u32;
        let mut keyed: Vec<(String, bool, u32)> = Vec::new();
        for (side, keys) in [(false, keys_left.iter()), (true, keys_right.iter())] {
            keyed.extend(
                keys.enumerate()
                    .filter_map(|(row, k)| k.clone().map(|k| (k, side, row as u32))),
            );
        }
        keyed.par_sort_unstable();
        let mut position_left = vec![NO_BLOCK; keys_left.len()];
        let mut position_right = vec![NO_BLOCK; keys_right.len()];
        let order: Vec<(bool, u32)> = keyed
            .into_iter()
            .map(|(_, side, row)| (side, row))
            .collect();
        for (p, &(side, row)) in order.iter().enumerate() {
            let positions = if side {
                &mut position_right
            } else {
                &mut position_left
            };
            positions[row as usize] = p as u32;
        }
        let mut report = RuleReport {
            name: name.to_string(),
            blocks: 1,
            ..RuleReport::default()
        };
        for p in 0..order.len() {
            let ahead = order.iter().skip(p + 1).take(window as usize - 1);
            report.pairs += if self.dedupe {
                ahead.count() as u64
            } else {
                ahead.filter(|(side, _)| *side != order[p].0).count() as u64
            };
        }
        let positions_per_unit = (UNIT_PAIRS / u64::from(window)).max(1) as usize;
        for start in (0..order.len()).step_by(positions_per_unit) {
            let end = (start + positions_per_unit).min(order.len());
            self.units.push(Unit {
                rule,
                block: 0,
                start: start as u32,
                end: end as u32,
            });
        }
        (
            RuleIndex::Sorted {
                window,
                position_left,
                position_right,
                order,
            },
            report,
        )
    }
}

fn hash_of(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// The blocking key of every row, computed in parallel.
fn keys(rule: &BlockingRule, data: &Dataset) -> Vec<Option<String>> {
    (0..data.len())
        .into_par_iter()
        .map(|row| {
            let parts: Option<Vec<String>> = rule
                .key
                .iter()
                .map(|part| key_part(part, data, row))
                .collect();
            parts.map(|p| p.join("\u{1f}"))
        })
        .collect()
}

fn key_part(part: &KeyPart, data: &Dataset, row: usize) -> Option<String> {
    let phonetic = |column: usize, soundex: bool| {
        let name: String = data
            .text(column, row)?
            .chars()
            .filter(char::is_ascii_alphabetic)
            .collect();
        let code = if soundex {
            Soundex::default().encode(&name)
        } else {
            DoubleMetaphone::default().encode(&name)
        };
        (!code.is_empty()).then_some(code)
    };
    match *part {
        KeyPart::Exact { column } => data
            .text(column, row)
            .map(str::to_string)
            .or_else(|| data.date(column, row).map(|d| d.digits()))
            .or_else(|| data.bits(column, row).map(|b| b.to_base64())),
        KeyPart::Prefix { column, chars } => data
            .text(column, row)
            .map(|t| t.chars().take(chars).collect()),
        KeyPart::Soundex { column } => phonetic(column, true),
        KeyPart::Metaphone { column } => phonetic(column, false),
        KeyPart::NamePair { given, family } => {
            let mut codes = [phonetic(given, false)?, phonetic(family, false)?];
            codes.sort();
            Some(codes.join(" "))
        }
        KeyPart::HouseNumber { column } => {
            crate::normalise::first_number(data.text(column, row)?).map(str::to_string)
        }
        KeyPart::Year { column } => data.date(column, row).map(|d| d.year.to_string()),
        KeyPart::MinHash {
            column,
            seed,
            count,
        } => {
            let bits = data.bits(column, row)?;
            let hashes: Vec<String> = (0..count as u64)
                .map(|k| {
                    let salt = seed.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    let min = bits
                        .iter_ones()
                        .map(|p| mix(salt ^ p as u64))
                        .min()
                        .unwrap_or(0);
                    format!("{min:x}")
                })
                .collect();
            Some(hashes.join(":"))
        }
    }
}

/// SplitMix64 finaliser: a cheap, well-spread hash of a bit position.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Field, FieldKind};
    use std::collections::HashSet;

    fn names(rows: &[(&str, &str)]) -> Dataset {
        let fields = vec![
            Field {
                name: "given".into(),
                kind: FieldKind::GivenName,
            },
            Field {
                name: "family".into(),
                kind: FieldKind::FamilyName,
            },
        ];
        let mut ds = Dataset::new(fields);
        for (n, (g, f)) in rows.iter().enumerate() {
            ds.push(&n.to_string(), &[g, f]).unwrap();
        }
        ds
    }

    fn collect(blocker: &Blocker) -> Vec<(u32, u32)> {
        let progress = AtomicU64::new(0);
        let states = blocker.fold_pairs(
            Vec::new,
            |v: &mut Vec<(u32, u32)>, _, i, j| v.push((i, j)),
            &progress,
        );
        assert_eq!(progress.load(Ordering::Relaxed), blocker.proposed_pairs());
        let mut pairs: Vec<(u32, u32)> = states.into_iter().flatten().collect();
        pairs.sort();
        pairs
    }

    fn rules() -> Vec<BlockingRule> {
        vec![
            BlockingRule {
                name: "family".into(),
                key: vec![KeyPart::Exact { column: 1 }],
                window: None,
            },
            BlockingRule {
                name: "given initial".into(),
                key: vec![KeyPart::Prefix {
                    column: 0,
                    chars: 1,
                }],
                window: None,
            },
            BlockingRule {
                name: "sorted".into(),
                key: vec![KeyPart::Exact { column: 0 }],
                window: Some(3),
            },
            BlockingRule {
                name: "swap".into(),
                key: vec![KeyPart::NamePair {
                    given: 0,
                    family: 1,
                }],
                window: None,
            },
        ]
    }

    /// The pairs, recomputed by brute force over all pairs.
    fn brute_force(left: &Dataset, right: Option<&Dataset>, blocker: &Blocker) -> Vec<(u32, u32)> {
        let nr = right.map_or(left.len(), Dataset::len);
        let mut pairs = HashSet::new();
        for i in 0..left.len() as u32 {
            for j in 0..nr as u32 {
                if (right.is_some() || i < j)
                    && blocker.rules.iter().any(|r| blocker.covers(r, i, j))
                {
                    pairs.insert((i, j));
                }
            }
        }
        let mut pairs: Vec<_> = pairs.into_iter().collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn house_number_is_the_first_number_of_the_text() {
        let ds = names(&[("12b Church Road", ""), ("7", ""), ("Church Road", "")]);
        let part = KeyPart::HouseNumber { column: 0 };
        let keys: Vec<_> = (0..3).map(|r| key_part(&part, &ds, r)).collect();
        assert_eq!(keys, [Some("12".into()), Some("7".into()), None]);
    }

    #[test]
    fn union_of_rules_has_each_pair_once() {
        let left = names(&[
            ("Ann", "Lee"),
            ("Anna", "Lee"),
            ("Bob", "Khan"),
            ("Lee", "Ann"),
            ("Cat", ""),
            ("Bo", "Khan"),
        ]);
        let right = names(&[("Ann", "Leigh"), ("Bob", "Khan"), ("Carl", "Lee")]);
        let blocker = Blocker::new(&rules(), &left, Some(&right), u64::MAX);
        assert_eq!(
            collect(&blocker),
            brute_force(&left, Some(&right), &blocker)
        );
        assert!(
            collect(&blocker).contains(&(3, 0)),
            "swapped names share a name-pair block"
        );

        let dedupe = Blocker::new(&rules(), &left, None, u64::MAX);
        let pairs = collect(&dedupe);
        assert_eq!(pairs, brute_force(&left, None, &dedupe));
        assert!(pairs.iter().all(|(i, j)| i < j));
        assert_eq!(
            dedupe.reports()[0].pairs,
            2,
            "Lee twice and Khan twice; the empty family blocks nothing"
        );
    }

    #[test]
    fn oversized_blocks_are_left_out_and_reported() {
        let left = names(&[
            ("A", "Lee"),
            ("B", "Lee"),
            ("C", "Lee"),
            ("D", "Khan"),
            ("E", "Khan"),
        ]);
        let blocker = Blocker::new(&rules()[..1], &left, None, 2);
        assert_eq!(blocker.reports()[0].oversized_blocks, 1);
        assert_eq!(blocker.reports()[0].oversized_pairs, 3);
        assert_eq!(collect(&blocker), vec![(3, 4)]);
    }
}

//! Both sides of a run as the comparisons read them: every value is one `u32` per row and
//! column, a code into dictionaries shared by both sides and all columns.
//!
//! Comparing used to follow each row's own heap pointer to each value, scattered over the
//! heap, and waited on those loads more than it computed. Now a row's codes sit together in
//! one cache line, equal values have equal codes (exact agreement, the commonest outcome among
//! matches, is an integer compare, and so is the crossed test of a name swap), and each
//! distinct string or filter is stored once, contiguously, in first-seen order column by
//! column, so the values of one column that a comparison does read are mostly in cache.

use std::collections::HashMap;

use crate::data::{Column, Dataset};
use crate::nicknames;
use crate::normalise::Date;

/// The code of a missing value.
pub const MISSING: u32 = u32::MAX;

/// How a column's codes are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A code into the shared strings.
    Text,
    /// The date itself, packed (see `pack_date`).
    Date,
    /// A code into the shared Bloom filters.
    Bloom,
}

/// Distinct values stored end to end: value `k` is `data[starts[k]..starts[k + 1]]`.
struct Store<T> {
    data: T,
    starts: Vec<usize>,
}

/// What `Store` keeps its values in: a `String` for text, a `Vec<u64>` for filters.
trait Buffer: Default {
    type Value: ?Sized + Eq + std::hash::Hash;
    fn len(&self) -> usize;
    fn push(&mut self, value: &Self::Value);
    fn slice(&self, start: usize, end: usize) -> &Self::Value;
}

impl Buffer for String {
    type Value = str;
    fn len(&self) -> usize {
        self.len()
    }
    fn push(&mut self, value: &str) {
        self.push_str(value);
    }
    fn slice(&self, start: usize, end: usize) -> &str {
        &self[start..end]
    }
}

impl Buffer for Vec<u64> {
    type Value = [u64];
    fn len(&self) -> usize {
        self.len()
    }
    fn push(&mut self, value: &[u64]) {
        self.extend_from_slice(value);
    }
    fn slice(&self, start: usize, end: usize) -> &[u64] {
        &self[start..end]
    }
}

impl<T: Buffer> Store<T> {
    fn new() -> Self {
        Store {
            data: T::default(),
            starts: vec![0],
        }
    }

    fn get(&self, code: u32) -> &T::Value {
        let k = code as usize;
        self.data.slice(self.starts[k], self.starts[k + 1])
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// The code of `value`, adding it if it is new; `index` finds the values stored so far.
    fn intern<'v>(&mut self, index: &mut HashMap<&'v T::Value, u32>, value: &'v T::Value) -> u32 {
        if let Some(&code) = index.get(value) {
            return code;
        }
        let code = self.len() as u32;
        self.data.push(value);
        self.starts.push(self.data.len());
        index.insert(value, code);
        code
    }
}

/// The datasets of one run (the right is the left when deduplicating), coded.
pub struct Records<'a> {
    pub left: &'a Dataset,
    pub right: &'a Dataset,
    kinds: Vec<Kind>,
    /// Row-major: row `r`'s codes are `left_codes[r * columns..][..columns]`.
    left_codes: Vec<u32>,
    /// Empty when deduplicating.
    right_codes: Vec<u32>,
    dedupe: bool,
    strings: Store<String>,
    /// Per string code, one bit per nickname group the value belongs to.
    nickname_groups: Vec<u64>,
    filters: Store<Vec<u64>>,
    /// Per filter code, its number of set bits.
    filter_ones: Vec<u32>,
}

impl<'a> Records<'a> {
    pub fn new(left: &'a Dataset, right: Option<&'a Dataset>) -> Self {
        let columns = left.fields.len();
        let kinds: Vec<Kind> = (0..columns)
            .map(|c| match left.column(c) {
                Column::Text(_) => Kind::Text,
                Column::Date(_) => Kind::Date,
                Column::Bloom(_) => Kind::Bloom,
            })
            .collect();
        let mut records = Records {
            left,
            right: right.unwrap_or(left),
            kinds,
            left_codes: vec![MISSING; left.len() * columns],
            right_codes: vec![MISSING; right.map_or(0, |r| r.len() * columns)],
            dedupe: right.is_none(),
            strings: Store::new(),
            nickname_groups: Vec::new(),
            filters: Store::new(),
            filter_ones: Vec::new(),
        };
        let (mut string_index, mut filter_index) = (HashMap::new(), HashMap::new());
        // Column by column, so that one column's distinct values lie together.
        for column in 0..columns {
            let sides = [(true, Some(left)), (false, right)];
            for (is_left, side) in sides.into_iter().filter_map(|(l, s)| Some((l, s?))) {
                for row in 0..side.len() {
                    let code = match records.kinds[column] {
                        Kind::Text => side.text(column, row).map(|t| {
                            let code = records.strings.intern(&mut string_index, t);
                            if code as usize == records.nickname_groups.len() {
                                records.nickname_groups.push(nicknames::groups(t));
                            }
                            code
                        }),
                        Kind::Date => side.date(column, row).map(pack_date),
                        Kind::Bloom => side.bits(column, row).map(|b| {
                            let code = records.filters.intern(&mut filter_index, b.words());
                            if code as usize == records.filter_ones.len() {
                                records.filter_ones.push(b.ones());
                            }
                            code
                        }),
                    };
                    let codes = if is_left {
                        &mut records.left_codes
                    } else {
                        &mut records.right_codes
                    };
                    codes[row * columns + column] = code.unwrap_or(MISSING);
                }
            }
        }
        records
    }

    /// Whether the run deduplicates one dataset (the right side is the left).
    pub fn is_dedupe(&self) -> bool {
        self.dedupe
    }

    pub fn kind(&self, column: usize) -> Kind {
        self.kinds[column]
    }

    /// The codes of left row `i`, one per column.
    pub fn left_row(&self, i: usize) -> &[u32] {
        let n = self.kinds.len();
        &self.left_codes[i * n..(i + 1) * n]
    }

    /// The codes of right row `j` (a left row when deduplicating).
    pub fn right_row(&self, j: usize) -> &[u32] {
        if self.dedupe {
            return self.left_row(j);
        }
        let n = self.kinds.len();
        &self.right_codes[j * n..(j + 1) * n]
    }

    /// The string of a text code.
    pub fn text(&self, code: u32) -> &str {
        self.strings.get(code)
    }

    pub fn nickname_groups(&self, code: u32) -> u64 {
        self.nickname_groups[code as usize]
    }

    /// The words and number of set bits of a filter code.
    pub fn filter(&self, code: u32) -> (&[u64], u32) {
        (self.filters.get(code), self.filter_ones[code as usize])
    }

    /// Share of each value among the non-missing values of one column on both sides (once
    /// when deduplicating), by code.
    pub fn frequencies(&self, column: usize) -> HashMap<u32, f64> {
        let n = self.kinds.len();
        let mut counts: HashMap<u32, f64> = HashMap::new();
        for codes in [&self.left_codes, &self.right_codes] {
            for &code in codes.iter().skip(column).step_by(n) {
                if code != MISSING {
                    *counts.entry(code).or_default() += 1.0;
                }
            }
        }
        let total: f64 = counts.values().sum();
        counts.values_mut().for_each(|c| *c /= total);
        counts
    }
}

/// A date as its code: equal dates have equal codes. Month and day may be any two digits.
fn pack_date(d: Date) -> u32 {
    u32::from(d.year) << 14 | u32::from(d.month) << 7 | u32::from(d.day)
}

pub fn unpack_date(code: u32) -> Date {
    Date {
        year: (code >> 14) as u16,
        month: (code >> 7 & 0x7F) as u8,
        day: (code & 0x7F) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::tests::people as data;

    #[test]
    fn equal_values_share_a_code_across_sides_and_columns() {
        let left = data(&[["James", "Lee", "1990-03-04"], ["Ann", "", "1945-04-93"]]);
        let right = data(&[["Lee", "JAMES", "04/03/1990"]]);
        let records = Records::new(&left, Some(&right));
        let (a, b) = (records.left_row(0), records.right_row(0));
        assert_eq!((a[0], a[1]), (b[1], b[0]), "names cross over by code");
        assert_eq!(records.text(a[0]), "james");
        assert_eq!(a[2], b[2]);
        assert_eq!(records.left_row(1)[1], MISSING);
        let mistyped = unpack_date(records.left_row(1)[2]);
        assert_eq!((mistyped.year, mistyped.month, mistyped.day), (1945, 4, 93));
        assert_eq!(
            records.nickname_groups(a[0]) & records.nickname_groups(b[0]),
            0
        );
        let given = records.frequencies(0);
        assert_eq!(given.len(), 3, "james, ann, lee");
        assert_eq!(given[&a[0]], 1.0 / 3.0);
        assert_eq!(
            records.frequencies(1)[&a[0]],
            0.5,
            "james, lee; one missing"
        );

        let dedupe = Records::new(&left, None);
        assert_eq!(dedupe.right_row(1), dedupe.left_row(1));
        assert_eq!(dedupe.frequencies(0)[&a[0]], 0.5);
    }
}

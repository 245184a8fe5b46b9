//! From matched pairs to people, and from people to households.

use std::collections::HashMap;

use serde::Serialize;

use crate::data::{Dataset, FieldKind};

/// A candidate pair with its match probability (left row, right row).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoredPair {
    pub left: u32,
    pub right: u32,
    pub probability: f32,
}

/// Strongest first, ties broken by rows so results repeat exactly.
fn strongest_first(pairs: &mut [ScoredPair]) {
    pairs.sort_unstable_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then(a.left.cmp(&b.left))
            .then(a.right.cmp(&b.right))
    });
}

/// Keeps each left and each right record in at most one pair, strongest pairs first: for
/// sources known to hold one record per person, so a twin's record cannot take the place of
/// their sibling's.
pub fn one_to_one(
    mut pairs: Vec<ScoredPair>,
    left_len: usize,
    right_len: usize,
) -> Vec<ScoredPair> {
    strongest_first(&mut pairs);
    let (mut left_used, mut right_used) = (vec![false; left_len], vec![false; right_len]);
    pairs.retain(|p| {
        let free = !left_used[p.left as usize] && !right_used[p.right as usize];
        if free {
            left_used[p.left as usize] = true;
            right_used[p.right as usize] = true;
        }
        free
    });
    pairs
}

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn root(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Joins the sets of `a` and `b` unless the result would exceed `max_size`.
    fn union_at_most(&mut self, a: u32, b: u32, max_size: u32) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return true;
        }
        if self.size[ra as usize] + self.size[rb as usize] > max_size {
            return false;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        true
    }

    /// Cluster numbers 0.. in order of first appearance.
    fn labels(&mut self) -> Vec<u32> {
        let mut numbers: HashMap<u32, u32> = HashMap::new();
        (0..self.parent.len() as u32)
            .map(|x| {
                let root = self.root(x);
                let next = numbers.len() as u32;
                *numbers.entry(root).or_insert(next)
            })
            .collect()
    }
}

/// Result of clustering records into people.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Clusters {
    /// Cluster of each record: left rows first, then right rows (none when deduplicating).
    #[serde(skip)]
    pub of_record: Vec<u32>,
    pub count: usize,
    pub largest: usize,
    /// Links refused because they would have made a cluster larger than the limit.
    pub refused_links: usize,
}

/// Connected components of the pairs at or above `threshold`, joining strongest pairs first
/// and refusing any link that would make a cluster larger than `max_size` (one loose link
/// between two families must not make them one person).
pub fn connected_components(
    pairs: &[ScoredPair],
    left_len: usize,
    right_len: Option<usize>,
    threshold: f32,
    max_size: usize,
) -> Clusters {
    let offset = right_len.map_or(0, |_| left_len as u32);
    let mut sets = UnionFind::new(left_len + right_len.unwrap_or(0));
    let mut strong: Vec<ScoredPair> = pairs
        .iter()
        .copied()
        .filter(|p| p.probability >= threshold)
        .collect();
    strongest_first(&mut strong);
    let refused_links = strong
        .iter()
        .filter(|p| !sets.union_at_most(p.left, p.right + offset, max_size as u32))
        .count();
    let of_record = sets.labels();
    let count = of_record.iter().max().map_or(0, |m| *m as usize + 1);
    let mut sizes = vec![0usize; count];
    of_record.iter().for_each(|c| sizes[*c as usize] += 1);
    Clusters {
        of_record,
        count,
        largest: sizes.into_iter().max().unwrap_or(0),
        refused_links,
    }
}

/// Households: people (clusters) whose records share an address, i.e. the same postcode with
/// the same house number or first address line. Returns a household number per record.
pub fn households(records: &[&Dataset], clusters: &Clusters) -> Vec<u32> {
    let mut sets = UnionFind::new(clusters.count);
    let mut first_at: HashMap<String, u32> = HashMap::new();
    let mut record = 0;
    for data in records {
        let column = |kind: FieldKind| data.fields.iter().position(|f| f.kind == kind);
        let postcode = column(FieldKind::Postcode);
        let address = column(FieldKind::HouseNumber).or_else(|| column(FieldKind::Address));
        for row in 0..data.len() {
            let cluster = clusters.of_record[record];
            record += 1;
            let part = |c: Option<usize>| c.and_then(|c| data.text(c, row));
            let key = match (part(postcode), part(address)) {
                (Some(p), Some(a)) => format!("{p}|{a}"),
                (None, Some(a)) if address.is_some() && postcode.is_none() => a.to_string(),
                _ => continue,
            };
            let first = *first_at.entry(key).or_insert(cluster);
            sets.union_at_most(first, cluster, u32::MAX);
        }
    }
    let households = sets.labels();
    clusters
        .of_record
        .iter()
        .map(|c| households[*c as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(left: u32, right: u32, probability: f32) -> ScoredPair {
        ScoredPair {
            left,
            right,
            probability,
        }
    }

    #[test]
    fn one_to_one_keeps_the_strongest_consistent_pairs() {
        let pairs = vec![
            pair(0, 0, 0.9),
            pair(0, 1, 0.95),
            pair(1, 1, 0.8),
            pair(1, 0, 0.7),
        ];
        let kept = one_to_one(pairs, 2, 2);
        assert_eq!(kept, vec![pair(0, 1, 0.95), pair(1, 0, 0.7)]);
    }

    #[test]
    fn clusters_respect_threshold_and_size_limit() {
        // A chain 0-1-2-3 of strong links and a weak link 3-4.
        let pairs = vec![
            pair(0, 1, 0.99),
            pair(1, 2, 0.98),
            pair(2, 3, 0.6),
            pair(3, 4, 0.3),
        ];
        let all = connected_components(&pairs, 5, None, 0.5, 10);
        assert_eq!(all.of_record, vec![0, 0, 0, 0, 1]);
        let capped = connected_components(&pairs, 5, None, 0.5, 3);
        assert_eq!(capped.refused_links, 1);
        assert_eq!(capped.largest, 3);
        assert_ne!(
            capped.of_record[3], capped.of_record[2],
            "the weakest link of the chain is the one refused"
        );
    }
}

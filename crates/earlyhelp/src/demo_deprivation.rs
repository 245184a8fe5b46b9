//! DEMO DATA: synthetic deprivation deciles for the demo's own LSOAs (the synthetic postcode
//! set's), marked synthetic so the spend-against-need page says they are made up. They are set
//! against the demo's spend so that every locality's share of the most deprived LSOAs is close
//! to its share of spend but one: Sutton Coldfield, "broadly a well-resourced area with low
//! levels of deprivation", has none of them and still its share of spend, so the page flags it.
//!
//! The demo's families live at postcodes of their own, which the synthetic set does not hold:
//! each gets a place beside a synthetic postcode of its locality (its LSOA, a few metres off),
//! so their payments land on the map; within a locality the LSOAs with the most spend are made
//! its most deprived. Load after the money (payments and awards), so the spend is there to
//! follow.

use anyhow::Result;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::deprivation::{Edition, ImdRow};
use earlyhelp_storage::deprivation as store;
use earlyhelp_storage::directory::PostcodeRecord;
use earlyhelp_storage::{Db, gate};
use std::collections::{BTreeMap, HashMap};

/// The locality the demo leaves out of line with its need.
pub const OUT_OF_LINE: &str = "sutton-coldfield";

/// The share of the demo city's LSOAs in deciles 1 and 2, in percent (a big city's is high).
const MOST_DEPRIVED_PERCENT: usize = 40;

pub async fn load(db: &Db) -> Result<()> {
    let mut authorised = gate::operator(
        db,
        "deprivation",
        Action::Create,
        "place the demo families' postcodes",
    )
    .await?;
    let synthetic = crate::demo_directory::postcodes();
    let places: Vec<PostcodeRecord> = store::unplaced_family_postcodes(&mut authorised.tx)
        .await?
        .into_iter()
        .filter_map(|(postcode, locality)| place_beside(&synthetic, postcode, &locality))
        .collect();
    store::add_postcodes(&mut authorised.tx, &places).await?;
    authorised.tx.commit().await?;
    store::refresh(db).await?;
    let mut authorised = gate::operator(
        db,
        "deprivation",
        Action::Create,
        "load the demo's synthetic deprivation deciles",
    )
    .await?;
    // Spend by locality, and by LSOA where it is placed.
    let mut spend: HashMap<String, i64> = HashMap::new();
    let mut at: HashMap<String, i64> = HashMap::new();
    for p in store::payments(&mut authorised.tx, None).await?.0 {
        *spend.entry(p.locality).or_default() += p.pence;
        *at.entry(p.lsoa.unwrap_or_default()).or_default() += p.pence;
    }
    for a in store::awards(&mut authorised.tx, None).await? {
        *spend.entry(a.locality).or_default() += a.pence;
        *at.entry(a.area).or_default() += a.pence;
    }
    let mut by_locality: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for area in store::areas(&mut authorised.tx, None).await? {
        by_locality
            .entry(area.locality)
            .or_default()
            .push(area.lsoa);
    }
    // Within a locality the money goes where the need is: its most deprived LSOAs are those
    // with the most spend.
    for codes in by_locality.values_mut() {
        codes.sort_by_key(|code| std::cmp::Reverse(at.get(code).copied().unwrap_or(0)));
    }
    let localities: Vec<(&String, &Vec<String>)> = by_locality.iter().collect();
    let lsoas: usize = localities.iter().map(|(_, l)| l.len()).sum();
    let weights: Vec<i64> = localities
        .iter()
        .map(|(slug, _)| match slug.as_str() {
            OUT_OF_LINE => 0,
            slug => spend.get(slug).copied().unwrap_or(0).max(1),
        })
        .collect();
    let caps: Vec<usize> = localities.iter().map(|(_, l)| l.len()).collect();
    let deprived = allocate(lsoas * MOST_DEPRIVED_PERCENT / 100, &weights, &caps);
    for (turn, edition) in Edition::ALL.into_iter().enumerate() {
        let mut rows = Vec::with_capacity(lsoas);
        for ((_, codes), k) in localities.iter().zip(&deprived) {
            for (i, code) in codes.iter().enumerate() {
                // The next edition moves one LSOA out of the most deprived and one in.
                let is_deprived = match turn {
                    0 => i < *k,
                    _ => (i < *k && i + 1 != *k) || (i == *k && *k > 0),
                };
                let decile = if is_deprived {
                    1 + ((i + turn) % 2) as u8
                } else {
                    3 + ((i * 5 + turn) % 8) as u8
                };
                rows.push(synthetic_row(edition, code, decile, i));
            }
        }
        let source = "synthetic: made up for the demo, not the Indices of Deprivation";
        store::replace_edition(&mut authorised, edition, source, true, &rows).await?;
    }
    authorised.tx.commit().await?;
    Ok(())
}

/// A rank within the decile's tenth of England's LSOAs.
fn synthetic_row(edition: Edition, lsoa: &str, decile: u8, i: usize) -> ImdRow {
    let tenth = edition.lsoas_in_england() / 10;
    ImdRow {
        lsoa: lsoa.to_string(),
        rank: (u32::from(decile) - 1) * tenth + 1 + (i as u32 * 97) % tenth,
        decile,
    }
}

/// A place for a family's postcode beside one of its locality's synthetic postcodes, chosen
/// by the postcode's letters so it is the same every time. (Across the whole locality: the
/// demo's families share few postcodes, all in one outward code of their locality.)
fn place_beside(
    synthetic: &[PostcodeRecord],
    postcode: String,
    locality: &str,
) -> Option<PostcodeRecord> {
    let local: Vec<&PostcodeRecord> = synthetic
        .iter()
        .filter(|p| p.locality_slug.as_deref() == Some(locality))
        .collect();
    let seed: usize = postcode.bytes().map(usize::from).fold(7, |h, b| h * 31 + b) % 1_000_003;
    let beside = local.get(seed % local.len().max(1))?;
    let nudge = |k: usize| ((seed / k) % 21) as f64 / 20.0 - 0.5;
    Some(PostcodeRecord {
        latitude: beside.latitude + nudge(3) * 0.002,
        longitude: beside.longitude + nudge(7) * 0.003,
        lsoa: beside.lsoa.clone(),
        local_authority: beside.local_authority.clone(),
        locality_slug: beside.locality_slug.clone(),
        postcode,
    })
}

/// `total` shared in proportion to `weights` by largest remainders, none above its cap.
fn allocate(total: usize, weights: &[i64], caps: &[usize]) -> Vec<usize> {
    let sum: i64 = weights.iter().map(|w| w.max(&0)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights
        .iter()
        .map(|w| total as f64 * (*w).max(0) as f64 / sum as f64)
        .collect();
    let mut got: Vec<usize> = exact
        .iter()
        .zip(caps)
        .map(|(e, cap)| (e.floor() as usize).min(*cap))
        .collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = total.saturating_sub(got.iter().sum());
    for i in order.iter().cycle().take(weights.len() * 4) {
        if left == 0 {
            break;
        }
        if got[*i] < caps[*i] && weights[*i] > 0 {
            got[*i] += 1;
            left -= 1;
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_the_weights_within_the_caps() {
        assert_eq!(allocate(10, &[1, 1, 2], &[9, 9, 9]), vec![3, 2, 5]);
        assert_eq!(allocate(10, &[0, 1, 1], &[9, 9, 9]), vec![0, 5, 5]);
        assert_eq!(allocate(10, &[1, 1], &[2, 9]), vec![2, 8]);
        assert_eq!(allocate(5, &[0, 0], &[9, 9]), vec![0, 0]);
    }

    #[test]
    fn a_synthetic_rank_lies_in_its_decile() {
        for decile in 1..=10 {
            for i in [0, 1, 500, 10_000] {
                let row = synthetic_row(Edition::E2019, "E01040001", decile, i);
                let tenth = Edition::E2019.lsoas_in_england() / 10;
                assert_eq!((row.rank - 1) / tenth + 1, u32::from(decile), "{row:?}");
            }
        }
    }
}

//! Deprivation: reading the English Indices of Deprivation (IMD) by LSOA, and setting each
//! locality's share of spend beside its share of the city's most deprived LSOAs.
//!
//! The business case's community grants were checked to be "broadly in line with deprivation
//! levels (±6 percentage points)" in every locality (003): [`shares`] flags a locality whose
//! share of spend is more than [`GAP_POINTS`] from its share of the city's LSOAs in deciles 1
//! and 2, compared exactly (in whole numbers), so a gap of exactly 6 points is never flagged by
//! a rounding error.

use crate::measures::RowError;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A published edition of the English Indices of Deprivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Edition {
    /// IMD 2019, on the 2011 LSOAs.
    E2019,
    /// IMD 2025, on the 2021 LSOAs.
    E2025,
}

impl Edition {
    pub const ALL: [Edition; 2] = [Edition::E2019, Edition::E2025];

    pub fn year(self) -> i32 {
        match self {
            Edition::E2019 => 2019,
            Edition::E2025 => 2025,
        }
    }

    pub fn from_year(year: i32) -> Option<Edition> {
        Edition::ALL.into_iter().find(|e| e.year() == year)
    }

    /// `2019` or `2025`, as typed after `--edition` or in a query.
    pub fn parse(raw: &str) -> Option<Edition> {
        raw.trim().parse().ok().and_then(Edition::from_year)
    }

    /// The census year of the LSOAs it is published on.
    pub fn lsoa_vintage(self) -> i32 {
        match self {
            Edition::E2019 => 2011,
            Edition::E2025 => 2021,
        }
    }

    /// How many LSOAs England had on those boundaries: the largest rank.
    pub fn lsoas_in_england(self) -> u32 {
        match self {
            Edition::E2019 => 32_844,
            Edition::E2025 => 33_755,
        }
    }
}

/// The deciles counted as the most deprived: 1 and 2, the most deprived fifth of England.
pub const MOST_DEPRIVED: [u8; 2] = [1, 2];

pub fn most_deprived(decile: u8) -> bool {
    MOST_DEPRIVED.contains(&decile)
}

/// A locality whose share of spend is further than this from its share of the most deprived
/// LSOAs, in percentage points, is flagged.
pub const GAP_POINTS: i64 = 6;

/// One LSOA of an edition: 1 is the most deprived rank and decile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdRow {
    pub lsoa: String,
    pub rank: u32,
    pub decile: u8,
}

/// A file read and checked: the rows to load, and how many were left out as outside the city
/// (only when asked to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImdFile {
    pub rows: Vec<ImdRow>,
    pub outside_city: usize,
}

/// The city's LSOAs (those of its postcodes), when postcodes are loaded; and what to do with
/// a row for an LSOA outside them.
#[derive(Debug, Clone, Copy)]
pub struct City<'a> {
    pub lsoas: &'a HashSet<String>,
    /// Leave such rows out (the published file covers all of England) rather than refuse.
    pub only: bool,
}

/// The headers the published files use, and short ones, for each column we read. A header
/// matches one of these exactly, or begins with a long one (the 2019 files add "(where 1 is
/// most deprived)"). Compared without case.
const LSOA_HEADERS: &[&str] = &[
    "lsoa code (2011)",
    "lsoa code (2021)",
    "lsoa code",
    "lsoa11cd",
    "lsoa21cd",
    "lsoa11",
    "lsoa21",
    "lsoa",
];
const RANK_HEADERS: &[&str] = &[
    "index of multiple deprivation (imd) rank",
    "imd rank",
    "rank",
];
const DECILE_HEADERS: &[&str] = &[
    "index of multiple deprivation (imd) decile",
    "imd decile",
    "decile",
];

fn header_key(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The first column whose header is one of `names` (in their order of preference).
fn column(headers: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|name| {
        headers.iter().position(|h| {
            h == name || (name.starts_with("index of") && h.starts_with(&format!("{name} (")))
        })
    })
}

/// The census year a header names for its LSOAs, if it names one.
fn header_vintage(header: &str) -> Option<i32> {
    if header.contains("2011") || header.starts_with("lsoa11") {
        Some(2011)
    } else if header.contains("2021") || header.starts_with("lsoa21") {
        Some(2021)
    } else {
        None
    }
}

/// An LSOA code in England: `E01` and six digits.
pub fn is_lsoa_code(code: &str) -> bool {
    code.len() == 9 && code.starts_with("E01") && code[3..].bytes().all(|b| b.is_ascii_digit())
}

/// Reads an IMD file (CSV with a header) for `edition`: every row, or every problem by row and
/// field. The columns are chosen by header, so the published file (with its many other columns)
/// loads as it is, and so does a short `lsoa,rank,decile`.
pub fn read_imd(
    bytes: &[u8],
    edition: Edition,
    city: Option<City<'_>>,
) -> Result<ImdFile, Vec<RowError>> {
    let file_error = |message: String| vec![RowError::new(0, "header", message)];
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(header_key).collect(),
        Err(e) => return Err(file_error(format!("The file cannot be read as CSV: {e}"))),
    };
    let vintage = edition.lsoa_vintage();
    let year = edition.year();
    let (Some(lsoa), Some(rank), Some(decile)) = (
        column(&headers, LSOA_HEADERS),
        column(&headers, RANK_HEADERS),
        column(&headers, DECILE_HEADERS),
    ) else {
        return Err(file_error(format!(
            "The header must name the LSOA code, the IMD rank and the IMD decile: \
             \"LSOA code ({vintage})\", \"Index of Multiple Deprivation (IMD) Rank\" and \
             \"Index of Multiple Deprivation (IMD) Decile\" as published, or lsoa, rank and \
             decile (the header has: {})",
            headers.join(", ")
        )));
    };
    if let Some(other) = header_vintage(&headers[lsoa]).filter(|v| *v != vintage) {
        return Err(file_error(format!(
            "The file's LSOA codes are {other}'s (\"{}\"), but the {year} edition is published \
             on {vintage}'s LSOAs: check --edition",
            headers[lsoa]
        )));
    }
    let largest = edition.lsoas_in_england();
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut outside_city = 0;
    for (index, record) in reader.records().enumerate() {
        let row = index + 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                problems.push(RowError::new(row, "row", format!("cannot be read: {e}")));
                continue;
            }
        };
        let get = |i: usize| record.get(i).unwrap_or("").trim();
        let code = get(lsoa).to_ascii_uppercase();
        let mut ok = true;
        if !is_lsoa_code(&code) {
            problems.push(RowError::new(
                row,
                "lsoa",
                format!(
                    "{:?} is not an LSOA code in England (E01 and six digits)",
                    get(lsoa)
                ),
            ));
            ok = false;
        } else if let Some(first) = seen.get(&code) {
            problems.push(RowError::new(
                row,
                "lsoa",
                format!("{code} is already on row {first}: each LSOA once"),
            ));
            ok = false;
        } else {
            seen.insert(code.clone(), row);
            if let Some(city) = city.filter(|c| !c.lsoas.contains(&code)) {
                if city.only {
                    outside_city += 1;
                    continue;
                }
                problems.push(RowError::new(
                    row,
                    "lsoa",
                    format!(
                        "{code} is not an LSOA of the city's postcodes (earlyhelp import \
                         postcodes): load only the city's rows, or add --city-only to leave \
                         the others out"
                    ),
                ));
                ok = false;
            }
        }
        let parsed_rank = get(rank)
            .parse::<u32>()
            .ok()
            .filter(|r| (1..=largest).contains(r));
        if parsed_rank.is_none() {
            problems.push(RowError::new(
                row,
                "rank",
                format!(
                    "{:?} is not a rank from 1 to {} (the LSOAs of England in {year})",
                    get(rank),
                    crate::limits::thousands(largest as usize)
                ),
            ));
        }
        let parsed_decile = get(decile)
            .parse::<u8>()
            .ok()
            .filter(|d| (1..=10).contains(d));
        if parsed_decile.is_none() {
            problems.push(RowError::new(
                row,
                "decile",
                format!("{:?} is not a decile from 1 to 10", get(decile)),
            ));
        }
        if let (true, Some(rank), Some(decile)) = (ok, parsed_rank, parsed_decile) {
            rows.push(ImdRow {
                lsoa: code,
                rank,
                decile,
            });
        }
    }
    if problems.is_empty() && rows.is_empty() {
        let message = if outside_city > 0 {
            format!("None of the file's {outside_city} LSOAs is an LSOA of the city's postcodes")
        } else {
            "The file has no rows".to_string()
        };
        return Err(vec![RowError::new(0, "file", message)]);
    }
    if problems.is_empty() {
        Ok(ImdFile { rows, outside_city })
    } else {
        Err(problems)
    }
}

/// Which way a locality's spend is out of line with its need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gap {
    /// Its share of spend is more than [`GAP_POINTS`] above its share of the most deprived LSOAs.
    Above,
    /// More than [`GAP_POINTS`] below.
    Below,
}

impl Gap {
    pub fn label(self) -> &'static str {
        match self {
            Gap::Above => "More spend than need",
            Gap::Below => "Less spend than need",
        }
    }
}

/// One locality's shares, in percent of the city's totals (none when the total is nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Share {
    pub spend_percent: Option<f64>,
    pub need_percent: Option<f64>,
    /// Share of spend less share of need, in percentage points.
    pub gap_points: Option<f64>,
    pub flag: Option<Gap>,
}

/// Each locality's share of spend and of the most deprived LSOAs, from its (spend in pence,
/// most deprived LSOAs), in the order given. Nothing is flagged until there is both spend and
/// need to compare.
pub fn shares(lines: &[(i64, i64)]) -> Vec<Share> {
    let spend: i128 = lines.iter().map(|l| i128::from(l.0.max(0))).sum();
    let need: i128 = lines.iter().map(|l| i128::from(l.1.max(0))).sum();
    let percent =
        |part: i64, total: i128| (total > 0).then(|| 100.0 * part.max(0) as f64 / total as f64);
    lines
        .iter()
        .map(|&(s, n)| {
            let (spend_percent, need_percent) = (percent(s, spend), percent(n, need));
            let gap_points = spend_percent.zip(need_percent).map(|(s, n)| s - n);
            // s/S - n/N > 6/100, exactly: 100 (s N - n S) > 6 S N.
            let difference = 100 * (i128::from(s.max(0)) * need - i128::from(n.max(0)) * spend);
            let limit = i128::from(GAP_POINTS) * spend * need;
            let flag = match () {
                _ if spend == 0 || need == 0 => None,
                _ if difference > limit => Some(Gap::Above),
                _ if difference < -limit => Some(Gap::Below),
                _ => None,
            };
            Share {
                spend_percent,
                need_percent,
                gap_points,
                flag,
            }
        })
        .collect()
}

/// One of the city's LSOAs: where its postcodes are (their middle), the locality most of them
/// are in, and its decile in the chosen edition (none when the edition lacks it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Area {
    pub lsoa: String,
    pub locality: String,
    pub latitude: f64,
    pub longitude: f64,
    pub decile: Option<u8>,
}

/// Payments to families counted in one locality, at one LSOA (that of the family's postcode;
/// none when the postcode is not in the postcode directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsAt {
    pub locality: String,
    pub lsoa: Option<String>,
    pub payments: i64,
    pub families: i64,
    pub pence: i64,
}

/// Community grant awards in one locality, for beneficiaries in one area (an LSOA or a ward).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardsAt {
    pub locality: String,
    pub area: String,
    /// `LSOA` or `WD` (360Giving's geoCodeType).
    pub area_type: String,
    pub awards: i64,
    pub pence: i64,
}

/// One locality's spend beside its need.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalityLine {
    pub slug: String,
    pub name: String,
    /// Payments to families approved or paid.
    pub payments: i64,
    pub payments_pence: i64,
    /// Community grant awards.
    pub awards: i64,
    pub awards_pence: i64,
    pub spend_pence: i64,
    /// The city's LSOAs in the locality, and those in the most deprived deciles.
    pub lsoas: i64,
    pub most_deprived_lsoas: i64,
    #[serde(flatten)]
    pub share: Share,
}

/// Spend at the LSOAs of one decile (none: LSOAs the edition has no decile for).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecileLine {
    pub decile: Option<u8>,
    pub lsoas: i64,
    pub payments_pence: i64,
    pub awards_pence: i64,
    /// Of the spend placed at an LSOA.
    pub spend_percent: Option<f64>,
}

/// What the map draws at one LSOA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaSpend {
    #[serde(flatten)]
    pub area: Area,
    /// None where fewer than [`crate::disclosure::K`] families were paid (but some were): not
    /// drawn.
    pub payments_pence: Option<i64>,
    pub awards_pence: i64,
}

/// Spend counted in a locality but not drawn on the map, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotDrawn {
    /// Payments whose family's postcode is not in the postcode directory (or has no LSOA).
    pub payments_unplaced: i64,
    pub payments_unplaced_pence: i64,
    /// Payments in LSOAs where fewer than K families were paid.
    pub payments_few_families: i64,
    pub payments_few_families_pence: i64,
    /// Awards for a ward, or an LSOA that is not one of the city's.
    pub awards_unplaced: i64,
    pub awards_unplaced_pence: i64,
}

/// The spend-against-need page's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendAgainstNeed {
    pub localities: Vec<LocalityLine>,
    pub deciles: Vec<DecileLine>,
    pub areas: Vec<AreaSpend>,
    pub not_drawn: NotDrawn,
}

impl LocalityLine {
    fn new(slug: &str, name: &str) -> LocalityLine {
        LocalityLine {
            slug: slug.to_string(),
            name: name.to_string(),
            payments: 0,
            payments_pence: 0,
            awards: 0,
            awards_pence: 0,
            spend_pence: 0,
            lsoas: 0,
            most_deprived_lsoas: 0,
            share: Share::default(),
        }
    }
}

/// Spend drawn at one LSOA while counting: families paid, payments, their pence, awards' pence.
#[derive(Clone, Copy, Default)]
struct Tally {
    families: i64,
    payments: i64,
    payments_pence: i64,
    awards_pence: i64,
}

/// Puts the page together: each locality's spend (payments and awards) and its LSOAs, shares
/// and gaps; spend by decile; and what the map may draw at each LSOA. `localities` are (slug,
/// name) in the order to show; spend in a locality not among them is added after them.
pub fn spend_against_need(
    localities: &[(String, String)],
    areas: Vec<Area>,
    payments: &[PaymentsAt],
    awards: &[AwardsAt],
) -> SpendAgainstNeed {
    let mut lines: Vec<LocalityLine> = localities
        .iter()
        .map(|(slug, name)| LocalityLine::new(slug, name))
        .collect();
    fn line<'a>(lines: &'a mut Vec<LocalityLine>, slug: &str) -> &'a mut LocalityLine {
        let at = lines
            .iter()
            .position(|l| l.slug == slug)
            .unwrap_or_else(|| {
                lines.push(LocalityLine::new(slug, slug));
                lines.len() - 1
            });
        &mut lines[at]
    }
    let index: HashMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.lsoa.as_str(), i))
        .collect();
    let mut tally = vec![Tally::default(); areas.len()];
    // Deciles 1 to 10, then LSOAs without one.
    let mut deciles: Vec<DecileLine> = (1..=10)
        .map(Some)
        .chain([None])
        .map(|decile| DecileLine {
            decile,
            lsoas: 0,
            payments_pence: 0,
            awards_pence: 0,
            spend_percent: None,
        })
        .collect();
    let row = |decile: Option<u8>| decile.map_or(10, |d| usize::from(d.clamp(1, 10)) - 1);
    let mut not_drawn = NotDrawn::default();
    for area in &areas {
        let l = line(&mut lines, &area.locality);
        l.lsoas += 1;
        l.most_deprived_lsoas += i64::from(area.decile.is_some_and(most_deprived));
        deciles[row(area.decile)].lsoas += 1;
    }
    for p in payments {
        let l = line(&mut lines, &p.locality);
        l.payments += p.payments;
        l.payments_pence += p.pence;
        match p.lsoa.as_deref().and_then(|lsoa| index.get(lsoa)) {
            Some(&i) => {
                tally[i].families += p.families;
                tally[i].payments += p.payments;
                tally[i].payments_pence += p.pence;
                deciles[row(areas[i].decile)].payments_pence += p.pence;
            }
            None => {
                not_drawn.payments_unplaced += p.payments;
                not_drawn.payments_unplaced_pence += p.pence;
            }
        }
    }
    for a in awards {
        let l = line(&mut lines, &a.locality);
        l.awards += a.awards;
        l.awards_pence += a.pence;
        let code = a.area.trim().to_ascii_uppercase();
        match index.get(code.as_str()) {
            Some(&i) if a.area_type.eq_ignore_ascii_case("LSOA") => {
                tally[i].awards_pence += a.pence;
                deciles[row(areas[i].decile)].awards_pence += a.pence;
            }
            _ => {
                not_drawn.awards_unplaced += a.awards;
                not_drawn.awards_unplaced_pence += a.pence;
            }
        }
    }
    for l in &mut lines {
        l.spend_pence = l.payments_pence + l.awards_pence;
    }
    let counted: Vec<(i64, i64)> = lines
        .iter()
        .map(|l| (l.spend_pence, l.most_deprived_lsoas))
        .collect();
    for (l, share) in lines.iter_mut().zip(shares(&counted)) {
        l.share = share;
    }
    let placed: i64 = deciles
        .iter()
        .map(|d| d.payments_pence + d.awards_pence)
        .sum();
    for d in &mut deciles {
        let spend = d.payments_pence + d.awards_pence;
        d.spend_percent = (placed > 0).then(|| 100.0 * spend as f64 / placed as f64);
    }
    // A payment is a family's record: the map draws an LSOA's payments only where at least K
    // families were paid there (the partnership's threshold), so no dot is one family.
    let k = crate::disclosure::K as i64;
    let areas = areas
        .into_iter()
        .zip(tally)
        .map(|(area, t)| {
            let shown = t.families >= k || t.payments == 0;
            if !shown {
                not_drawn.payments_few_families += t.payments;
                not_drawn.payments_few_families_pence += t.payments_pence;
            }
            AreaSpend {
                area,
                payments_pence: shown.then_some(t.payments_pence),
                awards_pence: t.awards_pence,
            }
        })
        .collect();
    SpendAgainstNeed {
        localities: lines,
        deciles,
        areas,
        not_drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, edition: Edition) -> Result<ImdFile, Vec<String>> {
        read_imd(text.as_bytes(), edition, None)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn the_published_headers_and_short_ones_are_read_by_name_in_any_order() {
        let published = "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),\
            Index of Multiple Deprivation (IMD) Score,\
            Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),\
            Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs),\
            Income Rank (where 1 is most deprived)\n\
            E01000001,City of London 001A,E09000001,6.2,29199,9,30000\n";
        let file = read(published, Edition::E2019).unwrap();
        assert_eq!(
            file.rows,
            vec![ImdRow {
                lsoa: "E01000001".into(),
                rank: 29199,
                decile: 9
            }]
        );
        let short = "\u{feff}Decile, RANK ,lsoa\n1,12,e01033620\n";
        let file = read(short, Edition::E2025).unwrap();
        assert_eq!(file.rows[0].lsoa, "E01033620");
        assert_eq!((file.rows[0].rank, file.rows[0].decile), (12, 1));
        let file_1 = "LSOA code (2021),LSOA name (2021),Index of Multiple Deprivation (IMD) Rank,\
            Index of Multiple Deprivation (IMD) Decile\nE01033620,Birmingham 050F,12,1\n";
        assert_eq!(read(file_1, Edition::E2025).unwrap().rows.len(), 1);
    }

    #[test]
    fn a_wrong_header_or_the_wrong_editions_lsoas_is_refused_for_the_whole_file() {
        let errors = read("lsoa,score,decile\nE01000001,3.2,4\n", Edition::E2019).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .contains("The header must name the LSOA code, the IMD rank and the IMD decile"),
            "{errors:?}"
        );
        let errors = read(
            "LSOA code (2011),IMD rank,IMD decile\nE01000001,3,1\n",
            Edition::E2025,
        )
        .unwrap_err();
        assert!(errors[0].contains("2011's"), "{errors:?}");
        assert!(read("lsoa,rank,decile\n", Edition::E2019).unwrap_err()[0].contains("no rows"));
    }

    #[test]
    fn every_bad_field_is_named_with_its_row() {
        let text = "lsoa,rank,decile\n\
            E01000001,1,1\n\
            E01000002,2,11\n\
            W01000003,3,1\n\
            E01000004,0,1\n\
            E01000001,5,1\n\
            E01000006,32845,x\n";
        let errors = read(text, Edition::E2019).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "Row 2, decile: \"11\" is not a decile from 1 to 10",
                "Row 3, lsoa: \"W01000003\" is not an LSOA code in England (E01 and six digits)",
                "Row 4, rank: \"0\" is not a rank from 1 to 32,844 (the LSOAs of England in 2019)",
                "Row 5, lsoa: E01000001 is already on row 1: each LSOA once",
                "Row 6, rank: \"32845\" is not a rank from 1 to 32,844 (the LSOAs of England in 2019)",
                "Row 6, decile: \"x\" is not a decile from 1 to 10",
            ]
        );
        // The 2025 edition's England has more LSOAs.
        assert!(read("lsoa,rank,decile\nE01000006,32845,10\n", Edition::E2025).is_ok());
    }

    #[test]
    fn an_lsoa_outside_the_citys_postcodes_is_refused_unless_asked_to_leave_it_out() {
        let lsoas: HashSet<String> = ["E01000001".to_string()].into();
        let text = "lsoa,rank,decile\nE01000001,1,1\nE01000002,2,1\n";
        let refuse = City {
            lsoas: &lsoas,
            only: false,
        };
        let errors = read_imd(text.as_bytes(), Edition::E2019, Some(refuse)).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].row, errors[0].field), (2, "lsoa"));
        assert!(
            errors[0]
                .message
                .contains("not an LSOA of the city's postcodes")
        );
        let only = City {
            lsoas: &lsoas,
            only: true,
        };
        let file = read_imd(text.as_bytes(), Edition::E2019, Some(only)).unwrap();
        assert_eq!((file.rows.len(), file.outside_city), (1, 1));
        let none = "lsoa,rank,decile\nE01000002,2,1\n";
        let errors = read_imd(none.as_bytes(), Edition::E2019, Some(only)).unwrap_err();
        assert!(errors[0].message.contains("None of the file's 1 LSOAs"));
    }

    #[test]
    fn editions_parse_from_their_year_only() {
        assert_eq!(Edition::parse(" 2019"), Some(Edition::E2019));
        assert_eq!(Edition::parse("2025"), Some(Edition::E2025));
        assert_eq!(Edition::parse("2015"), None);
        assert_eq!(Edition::parse("latest"), None);
        assert!(most_deprived(2) && !most_deprived(3));
    }

    #[test]
    fn shares_and_the_gap_are_exact_at_six_points() {
        // Spend 16% against need 10%: 6 points exactly, not flagged; 16.01% would be.
        let got = shares(&[(16, 1), (84, 9)]);
        assert_eq!(got[0].flag, None);
        assert!((got[0].gap_points.unwrap() - 6.0).abs() < 1e-9);
        assert_eq!(got[1].flag, None);
        let got = shares(&[(1601, 1), (8399, 9)]);
        assert_eq!(got[0].flag, Some(Gap::Above));
        assert_eq!(got[1].flag, Some(Gap::Below));
        // A locality with none of the most deprived LSOAs but a tenth of the spend.
        let got = shares(&[(10, 0), (45, 5), (45, 5)]);
        assert_eq!(got[0].need_percent, Some(0.0));
        assert_eq!(got[0].flag, Some(Gap::Above));
        assert_eq!(got[1].flag, None);
        assert!((got[1].spend_percent.unwrap() - 45.0).abs() < 1e-9);
        assert!((got[1].need_percent.unwrap() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_is_flagged_without_both_spend_and_need() {
        let got = shares(&[(0, 3), (0, 1)]);
        assert_eq!(got[0].spend_percent, None);
        assert_eq!(got[0].need_percent, Some(75.0));
        assert!(
            got.iter()
                .all(|s| s.flag.is_none() && s.gap_points.is_none())
        );
        let got = shares(&[(5, 0), (0, 0)]);
        assert!(got.iter().all(|s| s.flag.is_none()));
        assert!(shares(&[]).is_empty());
    }

    fn area(lsoa: &str, locality: &str, decile: Option<u8>) -> Area {
        Area {
            lsoa: lsoa.into(),
            locality: locality.into(),
            latitude: 52.5,
            longitude: -1.9,
            decile,
        }
    }

    #[test]
    fn the_page_counts_spend_and_need_by_locality_decile_and_lsoa() {
        let localities = [("a".to_string(), "A".to_string()), ("b".into(), "B".into())];
        let areas = vec![
            area("E01000001", "a", Some(1)),
            area("E01000002", "a", Some(7)),
            area("E01000003", "b", Some(2)),
            area("E01000004", "b", Some(2)),
            area("E01000005", "b", None),
        ];
        let paid = |locality: &str, lsoa: Option<&str>, families, pence| PaymentsAt {
            locality: locality.into(),
            lsoa: lsoa.map(str::to_string),
            payments: families * 2,
            families,
            pence,
        };
        let payments = [
            paid("a", Some("E01000001"), 6, 60_000),
            paid("b", Some("E01000003"), 2, 20_000),
            paid("b", None, 1, 5_000),
        ];
        let award = |area: &str, area_type: &str, pence| AwardsAt {
            locality: "b".into(),
            area: area.into(),
            area_type: area_type.into(),
            awards: 1,
            pence,
        };
        let awards = [
            award("e01000004", "LSOA", 15_000),
            award("E05011118", "WD", 10_000),
        ];
        let got = spend_against_need(&localities, areas, &payments, &awards);
        let (a, b) = (&got.localities[0], &got.localities[1]);
        assert_eq!(
            (a.spend_pence, a.lsoas, a.most_deprived_lsoas),
            (60_000, 2, 1)
        );
        assert_eq!((b.payments, b.payments_pence, b.awards), (6, 25_000, 2));
        assert_eq!(
            (b.spend_pence, b.lsoas, b.most_deprived_lsoas),
            (50_000, 3, 2)
        );
        // A: 54.5% of spend, a third of need: 21 points above; B the other way.
        assert_eq!(a.share.flag, Some(Gap::Above));
        assert_eq!(b.share.flag, Some(Gap::Below));
        assert!((a.share.gap_points.unwrap() - (600.0 / 11.0 - 100.0 / 3.0)).abs() < 1e-9);
        // By decile: only what is placed at an LSOA, wherever the map may draw it.
        assert_eq!(got.deciles.len(), 11);
        assert_eq!(
            (got.deciles[0].lsoas, got.deciles[0].payments_pence),
            (1, 60_000)
        );
        assert_eq!(got.deciles[1].lsoas, 2);
        assert_eq!(got.deciles[1].payments_pence, 20_000);
        assert_eq!(got.deciles[1].awards_pence, 15_000);
        assert_eq!((got.deciles[10].decile, got.deciles[10].lsoas), (None, 1));
        assert!((got.deciles[0].spend_percent.unwrap() - 60.0 / 0.95).abs() < 1e-9);
        // The map: fewer than five families paid in E01000003, so its payments are not drawn.
        assert_eq!(got.areas[0].payments_pence, Some(60_000));
        assert_eq!(got.areas[2].payments_pence, None);
        assert_eq!(got.areas[3].awards_pence, 15_000);
        assert_eq!(got.areas[3].payments_pence, Some(0));
        assert_eq!(
            got.not_drawn,
            NotDrawn {
                payments_unplaced: 2,
                payments_unplaced_pence: 5_000,
                payments_few_families: 4,
                payments_few_families_pence: 20_000,
                awards_unplaced: 1,
                awards_unplaced_pence: 10_000,
            }
        );
    }

    #[test]
    fn spend_in_a_locality_not_listed_is_still_counted() {
        let payments = [PaymentsAt {
            locality: "elsewhere".into(),
            lsoa: None,
            payments: 1,
            families: 1,
            pence: 100,
        }];
        let got = spend_against_need(&[], vec![], &payments, &[]);
        assert_eq!(got.localities.len(), 1);
        assert_eq!(got.localities[0].name, "elsewhere");
        assert_eq!(got.localities[0].share.spend_percent, Some(100.0));
        assert_eq!(got.localities[0].share.flag, None);
    }
}

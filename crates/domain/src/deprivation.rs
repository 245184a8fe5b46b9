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
const RANK_HEADERS: &[&str] = &["index of multiple deprivation (imd) rank", "imd rank", "rank"];
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
        let parsed_rank = get(rank).parse::<u32>().ok().filter(|r| (1..=largest).contains(r));
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
        let parsed_decile = get(decile).parse::<u8>().ok().filter(|d| (1..=10).contains(d));
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
    let percent = |part: i64, total: i128| {
        (total > 0).then(|| 100.0 * part.max(0) as f64 / total as f64)
    };
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
            errors[0].contains("The header must name the LSOA code, the IMD rank and the IMD decile"),
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
        assert!(errors[0].message.contains("not an LSOA of the city's postcodes"));
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
        assert!(got.iter().all(|s| s.flag.is_none() && s.gap_points.is_none()));
        let got = shares(&[(5, 0), (0, 0)]);
        assert!(got.iter().all(|s| s.flag.is_none()));
        assert!(shares(&[]).is_empty());
    }
}

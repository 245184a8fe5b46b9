//! Disclosure control for the analysts' pseudonymised extract: k-anonymity on the
//! quasi-identifiers (what a neighbour, a colleague or another dataset may know about a family).
//!
//! The method is global generalisation, then local suppression (as in Sweeney's Datafly and
//! the ICO's anonymisation guidance): each quasi-identifier has a ladder of ever coarser values
//! (a month, then its quarter, then its year, then withheld). While more than a small share of
//! rows sit in an equivalence class (rows with the same quasi-identifiers) of fewer than k, we
//! climb one rung on one attribute: the rung that takes the most rows out of risk for what it
//! costs analysts (withholding a column costs more than coarsening it, and locality, reasons and
//! need level cost most). The rows still in small classes then
//! have every quasi-identifier suppressed (`*`): such a row keeps its pseudonym and its other
//! columns, but carries nothing that could single a family out. Every class of released rows
//! then has at least k rows.

use std::collections::HashMap;

/// The partnership's threshold: no released combination of quasi-identifiers describes fewer
/// than five families.
pub const K: usize = 5;

/// Climb the ladders until at most this share of rows is left to suppress.
pub const MAX_SUPPRESSED_SHARE: f64 = 0.05;

/// What a suppressed value shows.
pub const SUPPRESSED: &str = "*";

/// The quasi-identifiers of a family in the extract, in the extract's column order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quasi {
    Locality,
    NeedLevel,
    State,
    ClosureReason,
    Opened,
    Children,
    Adults,
    YoungestAge,
    Reasons,
    EthnicGroups,
    Send,
}

pub const QUASI_COUNT: usize = 11;

/// One family's quasi-identifiers, as held (level 0), in [`Quasi::ALL`]'s order.
pub type QuasiRow = [String; QUASI_COUNT];

impl Quasi {
    pub const ALL: [Quasi; QUASI_COUNT] = [
        Quasi::Locality,
        Quasi::NeedLevel,
        Quasi::State,
        Quasi::ClosureReason,
        Quasi::Opened,
        Quasi::Children,
        Quasi::Adults,
        Quasi::YoungestAge,
        Quasi::Reasons,
        Quasi::EthnicGroups,
        Quasi::Send,
    ];

    /// The column in the extract.
    pub fn column(self) -> &'static str {
        match self {
            Quasi::Locality => "locality",
            Quasi::NeedLevel => "need_level",
            Quasi::State => "state",
            Quasi::ClosureReason => "closure_reason",
            Quasi::Opened => "opened",
            Quasi::Children => "children",
            Quasi::Adults => "adults",
            Quasi::YoungestAge => "youngest_age_band",
            Quasi::Reasons => "reasons",
            Quasi::EthnicGroups => "ethnic_groups",
            Quasi::Send => "send",
        }
    }

    /// Each rung of the ladder in words; the first is the value as held, the last withholds it.
    pub fn rungs(self) -> &'static [&'static str] {
        match self {
            Quasi::Locality => &["the locality", "withheld"],
            Quasi::NeedLevel => &[
                "the level of need",
                "universal or universal plus; additional or complex",
                "withheld",
            ],
            Quasi::State => &["open, stepped up or closed", "active or closed", "withheld"],
            Quasi::ClosureReason => &["the closure reason", "closed or not", "withheld"],
            Quasi::Opened => &[
                "the month (YYYY-MM)",
                "the quarter (YYYY-Qn)",
                "the year (YYYY)",
                "withheld",
            ],
            Quasi::Children => &["the number", "0, 1, 2, 3+", "0-1, 2+", "withheld"],
            Quasi::Adults => &["the number", "0, 1, 2+", "withheld"],
            Quasi::YoungestAge => &[
                "the age band (0-4, 5-10, 11-15, 16-17 ...)",
                "0-10, 11-17, 18+",
                "withheld",
            ],
            Quasi::Reasons => &[
                "each reason",
                "groups of reasons (money and housing; health and safety; children and education)",
                "how many groups of reasons (1, 2, 3+)",
                "withheld",
            ],
            Quasi::EthnicGroups => &[
                "the household's broad ethnic groups (asian, black, mixed, white, other)",
                "white only, or including an ethnic minority",
                "withheld",
            ],
            Quasi::Send => &[
                "the most a child's SEND needs (ehc_plan, sen_support, disability, none)",
                "any SEND or none",
                "withheld",
            ],
        }
    }

    fn top(self) -> usize {
        self.rungs().len() - 1
    }

    /// What climbing to rung `level` costs analysts: more for the columns they need most, and
    /// four times as much to withhold a column as to coarsen it.
    fn cost(self, level: usize) -> usize {
        let weight = match self {
            Quasi::Locality => 4,
            Quasi::Reasons | Quasi::NeedLevel => 3,
            Quasi::State | Quasi::Opened | Quasi::EthnicGroups | Quasi::Send => 2,
            Quasi::ClosureReason | Quasi::Children | Quasi::Adults | Quasi::YoungestAge => 1,
        };
        if level >= self.top() {
            4 * weight
        } else {
            weight
        }
    }

    /// Which attribute to coarsen first when two rungs help as much: what analysts need least.
    fn preference(self) -> usize {
        match self {
            Quasi::ClosureReason => 0,
            Quasi::Adults => 1,
            Quasi::Children => 2,
            Quasi::YoungestAge => 3,
            Quasi::Opened => 4,
            Quasi::State => 5,
            Quasi::NeedLevel => 6,
            Quasi::Reasons => 7,
            Quasi::Send => 8,
            Quasi::EthnicGroups => 9,
            Quasi::Locality => 10,
        }
    }

    /// `value` (as held) at rung `level` of the ladder. Empty (not known) stays empty until
    /// withheld.
    pub fn generalise(self, value: &str, level: usize) -> String {
        if level >= self.top() {
            return SUPPRESSED.into();
        }
        if level == 0 {
            return match self {
                // The same reasons (or groups) in another order are the same.
                Quasi::Reasons | Quasi::EthnicGroups => {
                    sorted_set(value.split(';').map(str::to_string))
                }
                _ => value.to_string(),
            };
        }
        if value.is_empty() {
            return String::new();
        }
        let number = || value.parse::<u32>().ok();
        match (self, level) {
            (Quasi::NeedLevel, _) => match value {
                "universal" | "universal_plus" => "universal_or_plus".into(),
                _ => "additional_or_complex".into(),
            },
            (Quasi::State, _) => match value {
                "closed" => "closed".into(),
                _ => "active".into(),
            },
            (Quasi::ClosureReason, _) => "closed".into(),
            (Quasi::Opened, 1) => match value.split_once('-') {
                Some((year, month)) => match month.parse::<u8>() {
                    Ok(m @ 1..=12) => format!("{year}-Q{}", (m - 1) / 3 + 1),
                    _ => year.to_string(),
                },
                None => value.to_string(),
            },
            (Quasi::Opened, _) => value.split(['-']).next().unwrap_or(value).to_string(),
            (Quasi::Children, 1) => match number() {
                Some(n @ 0..=2) => n.to_string(),
                _ => "3+".into(),
            },
            (Quasi::Children, _) => match number() {
                Some(0 | 1) => "0-1".into(),
                _ => "2+".into(),
            },
            (Quasi::Adults, _) => match number() {
                Some(n @ 0..=1) => n.to_string(),
                _ => "2+".into(),
            },
            (Quasi::YoungestAge, _) => match value {
                "unborn" | "0-4" | "5-10" => "0-10".into(),
                "11-15" | "16-17" => "11-17".into(),
                _ => "18+".into(),
            },
            (Quasi::Reasons, 1) => sorted_set(value.split(';').map(|r| reason_group(r).into())),
            // Groups, not reasons, are counted: each rung must only merge the classes of the
            // rung below (two families alike at one rung stay alike at the next).
            (Quasi::Reasons, _) => {
                let count = sorted_set(value.split(';').map(|r| reason_group(r).into()))
                    .split(';')
                    .filter(|r| !r.is_empty())
                    .count();
                if count >= 3 {
                    "3+".into()
                } else {
                    count.to_string()
                }
            }
            (Quasi::EthnicGroups, _) => {
                if value.split(';').all(|group| group == "white") {
                    "white".into()
                } else {
                    "includes_ethnic_minority".into()
                }
            }
            (Quasi::Send, _) => match value {
                "none" => "none".into(),
                _ => "any".into(),
            },
            (Quasi::Locality, _) => SUPPRESSED.into(),
        }
    }
}

/// A household's broad ethnic groups (2021 census: the slug's first word), from its members'
/// recorded ethnicities; `not_said` and blanks left out.
pub fn ethnic_groups<'a>(ethnicities: impl Iterator<Item = &'a str>) -> String {
    sorted_set(
        ethnicities
            .filter(|e| *e != "not_said")
            .filter_map(|e| e.split('_').next())
            .map(str::to_string),
    )
}

/// The most the children's recorded SEND asks, from an education, health and care plan down;
/// empty when none is recorded.
pub fn most_send<'a>(children: impl Iterator<Item = &'a str> + Clone) -> String {
    ["ehc_plan", "sen_support", "disability", "none"]
        .into_iter()
        .find(|band| children.clone().any(|s| s == *band))
        .unwrap_or_default()
        .to_string()
}

fn sorted_set(items: impl Iterator<Item = String>) -> String {
    let mut items: Vec<String> = items
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    items.sort();
    items.dedup();
    items.join(";")
}

/// The group a reason for a request belongs to.
fn reason_group(reason: &str) -> &'static str {
    match reason.trim() {
        "money_housing_work" | "risk_of_homelessness" => "money_housing",
        "health_wellbeing" | "domestic_abuse" => "health_safety",
        "children_young_people" | "education" => "children_education",
        "" => "",
        _ => "other",
    }
}

/// How many rows share each combination.
pub fn class_sizes(rows: &[QuasiRow]) -> HashMap<&QuasiRow, usize> {
    let mut sizes = HashMap::new();
    for row in rows {
        *sizes.entry(row).or_insert(0) += 1;
    }
    sizes
}

/// The k the rows reach: the size of their smallest class (None when there are no rows).
pub fn k_of<'a>(rows: impl IntoIterator<Item = &'a QuasiRow>) -> Option<usize> {
    let rows: Vec<QuasiRow> = rows.into_iter().cloned().collect();
    class_sizes(&rows).into_values().min()
}

/// What [`anonymise`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Anonymised {
    /// Each row's quasi-identifiers as released: generalised, or all `*` where suppressed.
    pub rows: Vec<QuasiRow>,
    pub suppressed: Vec<bool>,
    /// The rung each attribute was taken to, in [`Quasi::ALL`]'s order.
    pub levels: [usize; QUASI_COUNT],
    /// The smallest class among the rows released unsuppressed (None if none are).
    pub k: Option<usize>,
    /// Before: the smallest class, and how many rows were unique.
    pub k_before: Option<usize>,
    pub unique_before: usize,
}

impl Anonymised {
    pub fn suppressed_count(&self) -> usize {
        self.suppressed.iter().filter(|s| **s).count()
    }

    /// What was done, one line per attribute that is not released as held.
    pub fn generalisations(&self) -> Vec<(Quasi, &'static str)> {
        Quasi::ALL
            .iter()
            .zip(self.levels)
            .filter(|(_, level)| *level > 0)
            .map(|(q, level)| (*q, q.rungs()[level]))
            .collect()
    }
}

/// The rows as small codes per attribute and rung, so each trial of a rung is one pass of
/// integer keys (fast enough for a city of 100,000 families many times over).
struct Coded {
    /// codes[a][level][raw index] -> code of the generalised value.
    codes: Vec<Vec<Vec<u32>>>,
    /// rows[i][a] -> raw index.
    rows: Vec<[u32; QUASI_COUNT]>,
}

impl Coded {
    fn new(rows: &[QuasiRow]) -> Coded {
        let mut raw_index: Vec<HashMap<&str, u32>> = vec![HashMap::new(); QUASI_COUNT];
        let mut raw_values: Vec<Vec<&str>> = vec![Vec::new(); QUASI_COUNT];
        let coded_rows = rows
            .iter()
            .map(|row| {
                let mut coded = [0u32; QUASI_COUNT];
                for a in 0..QUASI_COUNT {
                    let next = raw_values[a].len() as u32;
                    let index = *raw_index[a].entry(row[a].as_str()).or_insert(next);
                    if index == next {
                        raw_values[a].push(row[a].as_str());
                    }
                    coded[a] = index;
                }
                coded
            })
            .collect();
        let codes = Quasi::ALL
            .iter()
            .enumerate()
            .map(|(a, quasi)| {
                (0..=quasi.top())
                    .map(|level| {
                        let mut labels: HashMap<String, u32> = HashMap::new();
                        raw_values[a]
                            .iter()
                            .map(|raw| {
                                let next = labels.len() as u32;
                                *labels.entry(quasi.generalise(raw, level)).or_insert(next)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Coded {
            codes,
            rows: coded_rows,
        }
    }

    fn key(&self, row: &[u32; QUASI_COUNT], levels: &[usize; QUASI_COUNT]) -> [u32; QUASI_COUNT] {
        std::array::from_fn(|a| self.codes[a][levels[a]][row[a] as usize])
    }

    fn sizes(&self, levels: &[usize; QUASI_COUNT]) -> HashMap<[u32; QUASI_COUNT], usize> {
        let mut sizes = HashMap::new();
        for row in &self.rows {
            *sizes.entry(self.key(row, levels)).or_insert(0) += 1;
        }
        sizes
    }

    /// Rows in classes smaller than k.
    fn at_risk(&self, levels: &[usize; QUASI_COUNT], k: usize) -> usize {
        self.sizes(levels).into_values().filter(|n| *n < k).sum()
    }
}

/// Generalises and suppresses `rows` until every class of released rows has at least `k`
/// rows, suppressing at most `max_suppressed_share` of them unless the ladders run out.
pub fn anonymise(rows: &[QuasiRow], k: usize, max_suppressed_share: f64) -> Anonymised {
    let coded = Coded::new(rows);
    let allowed = (max_suppressed_share.clamp(0.0, 1.0) * rows.len() as f64).floor() as usize;
    let mut levels = [0usize; QUASI_COUNT];
    let before = coded.sizes(&levels);
    let k_before = before.values().copied().min();
    let unique_before = before.values().filter(|n| **n == 1).count();
    let mut at_risk = coded.at_risk(&levels, k);
    while at_risk > allowed {
        // Every rung we could climb next, best first: a rung that coarsens a column before one
        // that withholds it; then the most rows taken out of risk for what the rung costs
        // analysts; when no rung helps on its own, the cheapest.
        let best = Quasi::ALL
            .iter()
            .enumerate()
            .filter(|(a, q)| levels[*a] < q.top())
            .map(|(a, q)| {
                let mut trial = levels;
                trial[a] += 1;
                let risk = coded.at_risk(&trial, k);
                let cost = q.cost(trial[a]);
                let gain = at_risk.saturating_sub(risk) as f64 / cost as f64;
                (a, risk, gain, cost)
            })
            .max_by(|x, y| {
                let withholds =
                    |c: &(usize, usize, f64, usize)| levels[c.0] + 1 == Quasi::ALL[c.0].top();
                withholds(y)
                    .cmp(&withholds(x))
                    .then(x.2.total_cmp(&y.2))
                    .then(y.3.cmp(&x.3))
                    .then(
                        Quasi::ALL[y.0]
                            .preference()
                            .cmp(&Quasi::ALL[x.0].preference()),
                    )
            })
            .map(|(a, risk, _, _)| ((), a, risk));
        let Some((_, a, risk)) = best else { break };
        levels[a] += 1;
        at_risk = risk;
    }
    let sizes = coded.sizes(&levels);
    let mut released = Vec::with_capacity(rows.len());
    let mut suppressed = Vec::with_capacity(rows.len());
    for (row, coded_row) in rows.iter().zip(&coded.rows) {
        let small = sizes[&coded.key(coded_row, &levels)] < k;
        suppressed.push(small);
        released.push(if small {
            std::array::from_fn(|_| SUPPRESSED.to_string())
        } else {
            std::array::from_fn(|a| Quasi::ALL[a].generalise(&row[a], levels[a]))
        });
    }
    let k_reached = k_of(
        released
            .iter()
            .zip(&suppressed)
            .filter(|(_, s)| !**s)
            .map(|(r, _)| r),
    );
    Anonymised {
        rows: released,
        suppressed,
        levels,
        k: k_reached,
        k_before,
        unique_before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(values: [&str; QUASI_COUNT]) -> QuasiRow {
        values.map(str::to_string)
    }

    #[test]
    fn each_ladder_coarsens_then_withholds() {
        let g = |q: Quasi, v: &str| -> Vec<String> {
            (0..=q.top()).map(|l| q.generalise(v, l)).collect()
        };
        assert_eq!(
            g(Quasi::Opened, "2026-05"),
            ["2026-05", "2026-Q2", "2026", "*"]
        );
        assert_eq!(
            g(Quasi::Opened, "2025-12"),
            ["2025-12", "2025-Q4", "2025", "*"]
        );
        assert_eq!(g(Quasi::Children, "4"), ["4", "3+", "2+", "*"]);
        assert_eq!(g(Quasi::Children, "1"), ["1", "1", "0-1", "*"]);
        assert_eq!(g(Quasi::Adults, "3"), ["3", "2+", "*"]);
        assert_eq!(g(Quasi::YoungestAge, "unborn"), ["unborn", "0-10", "*"]);
        assert_eq!(g(Quasi::YoungestAge, "16-17"), ["16-17", "11-17", "*"]);
        assert_eq!(
            g(
                Quasi::Reasons,
                "risk_of_homelessness;education;money_housing_work"
            ),
            [
                "education;money_housing_work;risk_of_homelessness",
                "children_education;money_housing",
                "2",
                "*"
            ]
        );
        assert_eq!(
            g(Quasi::NeedLevel, "complex"),
            ["complex", "additional_or_complex", "*"]
        );
        assert_eq!(g(Quasi::State, "stepped_up"), ["stepped_up", "active", "*"]);
        assert_eq!(
            g(Quasi::ClosureReason, "needs_met"),
            ["needs_met", "closed", "*"]
        );
        assert_eq!(g(Quasi::ClosureReason, ""), ["", "", "*"]);
        assert_eq!(g(Quasi::Locality, "ladywood"), ["ladywood", "*"]);
        assert_eq!(
            g(Quasi::EthnicGroups, "white;asian"),
            ["asian;white", "includes_ethnic_minority", "*"]
        );
        assert_eq!(g(Quasi::EthnicGroups, "white"), ["white", "white", "*"]);
        assert_eq!(g(Quasi::EthnicGroups, ""), ["", "", "*"]);
        assert_eq!(g(Quasi::Send, "ehc_plan"), ["ehc_plan", "any", "*"]);
        assert_eq!(g(Quasi::Send, "none"), ["none", "none", "*"]);
        for q in Quasi::ALL {
            assert_eq!(q.rungs().last(), Some(&"withheld"), "{q:?}");
        }
    }

    #[test]
    fn the_same_reasons_in_another_order_are_one_class() {
        let a = row([
            "l",
            "n",
            "s",
            "",
            "2026-01",
            "1",
            "1",
            "0-4",
            "education;health_wellbeing",
            "white",
            "none",
        ]);
        let mut b = a.clone();
        b[8] = "health_wellbeing;education".into();
        let rows: Vec<QuasiRow> = [a, b].into_iter().cycle().take(6).collect();
        let out = anonymise(&rows, 5, 0.0);
        assert_eq!(out.levels, [0; QUASI_COUNT], "nothing needed generalising");
        assert_eq!(out.k, Some(6));
    }

    #[test]
    fn a_unique_family_is_generalised_into_a_crowd_or_suppressed() {
        let months: Vec<String> = (1..=12).map(|m| format!("2026-{m:02}")).collect();
        let mut rows: Vec<QuasiRow> = (0..40)
            .map(|i| {
                row([
                    "ladywood",
                    "additional",
                    "open",
                    "",
                    // Twelve months of three or four families: each month alone is too few.
                    &months[i % 12],
                    "2",
                    "1",
                    "5-10",
                    "education",
                    "white",
                    "none",
                ])
            })
            .collect();
        rows.push(row([
            "erdington",
            "complex",
            "closed",
            "needs_met",
            "2024-07",
            "7",
            "3",
            "16-17",
            "domestic_abuse",
            "white",
            "none",
        ]));
        let out = anonymise(&rows, 5, 0.05);
        assert!(out.k.unwrap() >= 5, "{out:?}");
        assert_eq!(out.k_before, Some(1));
        assert_eq!(out.unique_before, 1);
        // Months became quarters for everyone; the odd family out is suppressed.
        assert_eq!(out.rows[0][4], "2026-Q1");
        assert_eq!(out.suppressed_count(), 1);
        assert!(out.suppressed[40]);
        assert!(out.rows[40].iter().all(|v| v == SUPPRESSED));
        assert!(
            out.generalisations()
                .contains(&(Quasi::Opened, "the quarter (YYYY-Qn)"))
        );
    }

    #[test]
    fn too_few_rows_are_all_suppressed() {
        let rows = vec![
            row([
                "a", "b", "c", "d", "2026-01", "1", "1", "0-4", "x", "white", "none"
            ]);
            3
        ];
        let out = anonymise(&rows, 5, 0.05);
        assert_eq!(out.suppressed_count(), 3);
        assert_eq!(out.k, None);
        let none = anonymise(&[], 5, 0.05);
        assert_eq!((none.k, none.k_before, none.rows.len()), (None, None, 0));
    }

    fn arbitrary_row() -> impl Strategy<Value = QuasiRow> {
        let pick = |values: &'static [&'static str]| {
            proptest::sample::select(values).prop_map(str::to_string)
        };
        (
            pick(&[
                "ladywood",
                "erdington",
                "yardley",
                "hall-green",
                "selly-oak",
            ]),
            pick(&["universal", "universal_plus", "additional", "complex"]),
            pick(&["open", "stepped_up", "closed"]),
            pick(&["", "needs_met", "single_agency", "family_withdrew"]),
            (2023u32..2027, 1u32..13).prop_map(|(y, m)| format!("{y}-{m:02}")),
            (0u32..7).prop_map(|n| n.to_string()),
            (0u32..4).prop_map(|n| n.to_string()),
            pick(&["", "unborn", "0-4", "5-10", "11-15", "16-17", "18-24"]),
            proptest::sample::subsequence(
                &[
                    "money_housing_work",
                    "health_wellbeing",
                    "children_young_people",
                    "domestic_abuse",
                    "education",
                    "risk_of_homelessness",
                ][..],
                0..4,
            )
            .prop_map(|r| r.join(";")),
            proptest::sample::subsequence(&["asian", "black", "mixed", "other", "white"][..], 0..3)
                .prop_map(|g| g.join(";")),
            pick(&["", "none", "sen_support", "ehc_plan", "disability"]),
        )
            .prop_map(|(a, b, c, d, e, f, g, h, i, j, k)| [a, b, c, d, e, f, g, h, i, j, k])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Each rung only merges the classes of the rung below: values alike at one rung are
        /// alike at the next, so climbing never puts more families at risk.
        #[test]
        fn every_ladder_is_a_hierarchy(a in arbitrary_row(), b in arbitrary_row()) {
            for (i, q) in Quasi::ALL.iter().enumerate() {
                for level in 0..q.top() {
                    if q.generalise(&a[i], level) == q.generalise(&b[i], level) {
                        prop_assert_eq!(
                            q.generalise(&a[i], level + 1),
                            q.generalise(&b[i], level + 1),
                            "{:?} at {}: {:?} {:?}", q, level, &a[i], &b[i]
                        );
                    }
                }
            }
        }

        /// Every class of the output has at least k rows, or is suppressed; a released value
        /// is always its own value at the chosen rung.
        #[test]
        fn every_released_class_reaches_k(
            rows in proptest::collection::vec(arbitrary_row(), 0..400),
            k in 2usize..8,
            share in 0.0f64..0.2,
        ) {
            let out = anonymise(&rows, k, share);
            prop_assert_eq!(out.rows.len(), rows.len());
            let released: Vec<&QuasiRow> = out.rows.iter().zip(&out.suppressed)
                .filter(|(_, s)| !**s).map(|(r, _)| r).collect();
            let sizes = class_sizes(&out.rows);
            for (row, suppressed) in out.rows.iter().zip(&out.suppressed) {
                if *suppressed {
                    prop_assert!(row.iter().all(|v| v == SUPPRESSED));
                } else {
                    prop_assert!(sizes[row] >= k, "a class of {} < {}", sizes[row], k);
                }
            }
            if let Some(reached) = out.k {
                prop_assert!(reached >= k);
            }
            prop_assert_eq!(out.k, k_of(released.iter().copied()));
            for ((given, shown), suppressed) in rows.iter().zip(&out.rows).zip(&out.suppressed) {
                if !*suppressed {
                    for (a, q) in Quasi::ALL.iter().enumerate() {
                        prop_assert_eq!(&shown[a], &q.generalise(&given[a], out.levels[a]));
                    }
                }
            }
            // Suppression stays within the share unless the ladders ran out.
            let exhausted = Quasi::ALL.iter().enumerate().all(|(a, q)| out.levels[a] == q.top());
            prop_assert!(
                exhausted || out.suppressed_count() as f64 <= share * rows.len() as f64,
                "{} suppressed of {}", out.suppressed_count(), rows.len()
            );
        }
    }

    /// A synthetic city of 100,000 families with skewed, realistic-looking spreads (a seeded
    /// generator, so the figures in docs/benchmarks/extracts.md repeat).
    fn synthetic_city(families: usize, seed: u64) -> Vec<QuasiRow> {
        let mut state = seed;
        let mut next = move |n: u64| {
            // xorshift64*: small, fast and enough for a spread of values.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
        };
        let weighted = |roll: u64, weights: &[(u64, &'static str)]| -> String {
            let mut left = roll;
            for (w, v) in weights {
                if left < *w {
                    return v.to_string();
                }
                left -= w;
            }
            weights
                .last()
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        let reasons = [
            "money_housing_work",
            "health_wellbeing",
            "children_young_people",
            "domestic_abuse",
            "education",
            "risk_of_homelessness",
        ];
        (0..families)
            .map(|_| {
                let state = weighted(
                    next(100),
                    &[(60, "open"), (10, "stepped_up"), (30, "closed")],
                );
                let closure = if state == "closed" {
                    weighted(
                        next(100),
                        &[
                            (55, "needs_met"),
                            (20, "single_agency"),
                            (15, "social_care_leads"),
                            (10, "family_withdrew"),
                        ],
                    )
                } else {
                    String::new()
                };
                let children = weighted(
                    next(100),
                    &[
                        (38, "1"),
                        (32, "2"),
                        (17, "3"),
                        (8, "4"),
                        (3, "5"),
                        (2, "6"),
                    ],
                );
                let adults = weighted(next(100), &[(45, "1"), (48, "2"), (7, "3")]);
                let mut chosen: Vec<&str> = Vec::new();
                for _ in 0..1 + next(3) {
                    let r = reasons[next(6) as usize];
                    if !chosen.contains(&r) {
                        chosen.push(r);
                    }
                }
                [
                    format!("locality-{}", next(10)),
                    weighted(
                        next(100),
                        &[
                            (10, "universal"),
                            (30, "universal_plus"),
                            (45, "additional"),
                            (15, "complex"),
                        ],
                    ),
                    state,
                    closure,
                    format!("{}-{:02}", 2023 + next(3), 1 + next(12)),
                    children,
                    adults,
                    weighted(
                        next(100),
                        &[
                            (4, "unborn"),
                            (36, "0-4"),
                            (34, "5-10"),
                            (19, "11-15"),
                            (7, "16-17"),
                        ],
                    ),
                    chosen.join(";"),
                    // Broadly the city's census mix; one family in ten has two groups.
                    {
                        let groups = [
                            (49, "white"),
                            (31, "asian"),
                            (11, "black"),
                            (5, "mixed"),
                            (4, "other"),
                        ];
                        let first = weighted(next(100), &groups);
                        let second = weighted(next(100), &groups);
                        if next(10) == 0 && first != second {
                            sorted_set([first, second].into_iter())
                        } else {
                            first
                        }
                    },
                    weighted(
                        next(100),
                        &[
                            (80, "none"),
                            (13, "sen_support"),
                            (4, "ehc_plan"),
                            (3, "disability"),
                        ],
                    ),
                ]
            })
            .collect()
    }

    /// The test: k on a generated city of 100,000 families. The figures it prints are
    /// recorded in docs/benchmarks/extracts.md (`cargo test -p earlyhelp-domain --release
    /// disclosure -- --nocapture`).
    #[test]
    fn a_city_of_100k_families_reaches_k_5() {
        let rows = synthetic_city(100_000, 2026);
        let started = std::time::Instant::now();
        let out = anonymise(&rows, K, MAX_SUPPRESSED_SHARE);
        let took = started.elapsed();
        let suppressed = out.suppressed_count();
        println!(
            "100k families: unique before {} ({:.1}%), k before {:?}, k after {:?}, \
             suppressed {} ({:.2}%), rungs {:?}, {:.2?}",
            out.unique_before,
            100.0 * out.unique_before as f64 / rows.len() as f64,
            out.k_before,
            out.k,
            suppressed,
            100.0 * suppressed as f64 / rows.len() as f64,
            out.generalisations(),
            took
        );
        assert!(out.k.unwrap() >= K);
        assert!(suppressed as f64 <= MAX_SUPPRESSED_SHARE * rows.len() as f64);
        // Locality, the column analysts need most, survives at city scale.
        assert_eq!(out.levels[0], 0, "{:?}", out.generalisations());
    }
}

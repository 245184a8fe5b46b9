//! Social value reports for voluntary-sector providers, in the mix-and-match form seed 002
//! describes: what the organisation was commissioned to deliver, what earlyhelp's records say
//! it delivered, the extra value it added by the way it works (counted; monetised only at a
//! value the organisation holds under its own licence, with its source), case studies shared
//! with consent, and a narrative. earlyhelp ships no monetised proxies.

use serde::{Deserialize, Serialize};
use time::Date;

choices!(
    /// Value added beyond the contract by the way the work is done.
    Extra {
        VolunteerHours => ("volunteer_hours", "Volunteer hours"),
        PeerSupport => ("peer_support", "Peer support sessions"),
        PartnersLevered => ("partners_levered", "Partners levered in"),
        LivingWage => ("living_wage_staff", "Staff paid at least the real Living Wage"),
        LocalSpend => ("local_spend", "Spent with local suppliers (£)"),
        MatchFunding => ("match_funding", "Match funding brought in (£)"),
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtraValue {
    pub kind: Extra,
    pub quantity: f64,
    pub note: String,
    /// Pounds a unit, from a value set the organisation holds a licence for, and its source.
    pub proxy: Option<f64>,
    pub proxy_source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStudy {
    pub title: String,
    pub story: String,
    /// The person the story is about agreed to it being shared.
    pub consent: bool,
}

/// What the organisation writes; the delivered figures come from the records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub from: Date,
    pub to: Date,
    pub commissioned: String,
    pub narrative: String,
    pub extras: Vec<ExtraValue>,
    pub case_studies: Vec<CaseStudy>,
}

/// The longest a report's free text may be: commissioned, narrative, a story.
pub const TEXT_MAX: usize = 5_000;
/// The most case studies one report holds.
pub const CASE_STUDIES_MAX: usize = 5;

/// What the records say the organisation delivered in the period: referrals made to its
/// services, and how they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Delivered {
    pub referrals: i64,
    pub accepted: i64,
    pub completed: i64,
    pub need_met: i64,
    pub need_partly_met: i64,
    pub families: i64,
}

/// A problem with a report, named by its form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// Every problem with a report, by field (`from`, `extra-local_spend-proxy`, `case-0-consent`).
pub fn check(report: &Report) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut need = |ok: bool, field: String, message: &str| {
        if !ok {
            problems.push(Problem {
                field,
                message: message.into(),
            });
        }
    };
    need(
        report.from <= report.to,
        "to".into(),
        "The end of the period must be on or after its start",
    );
    need(
        (report.to - report.from).whole_days() <= 731,
        "to".into(),
        "A report covers at most two years",
    );
    for (text, field) in [
        (&report.commissioned, "commissioned"),
        (&report.narrative, "narrative"),
    ] {
        need(
            text.chars().count() <= TEXT_MAX,
            field.into(),
            "Write at most 5,000 characters",
        );
    }
    for extra in &report.extras {
        let slug = extra.kind.slug();
        need(
            extra.quantity.is_finite() && extra.quantity >= 0.0,
            format!("extra-{slug}-quantity"),
            "Enter a number, 0 or more",
        );
        need(
            extra.proxy.is_none_or(|p| p.is_finite() && p >= 0.0),
            format!("extra-{slug}-proxy"),
            "Enter pounds a unit, 0 or more, or leave it empty",
        );
        need(
            extra.proxy.is_none() || !extra.proxy_source.trim().is_empty(),
            format!("extra-{slug}-proxy_source"),
            "Say where the value a unit comes from and under what licence",
        );
        need(
            extra.note.chars().count() <= 500 && extra.proxy_source.chars().count() <= 500,
            format!("extra-{slug}-note"),
            "Write at most 500 characters",
        );
    }
    need(
        report.case_studies.len() <= CASE_STUDIES_MAX,
        "case-0-title".into(),
        "A report holds at most 5 case studies",
    );
    for (i, case) in report.case_studies.iter().enumerate() {
        need(
            !case.title.trim().is_empty() && case.title.chars().count() <= 200,
            format!("case-{i}-title"),
            "Give the case study a title of up to 200 characters",
        );
        need(
            !case.story.trim().is_empty() && case.story.chars().count() <= TEXT_MAX,
            format!("case-{i}-story"),
            "Write the story, in at most 5,000 characters",
        );
        need(
            case.consent,
            format!("case-{i}-consent"),
            "Confirm the person agreed to their story being shared, or leave it out",
        );
    }
    problems
}

/// The extra value monetised at the organisation's own values, in pounds: only lines with a
/// value a unit.
pub fn monetised(report: &Report) -> f64 {
    report
        .extras
        .iter()
        .filter_map(|e| e.proxy.map(|p| p * e.quantity))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn report() -> Report {
        Report {
            from: date!(2026 - 04 - 01),
            to: date!(2027 - 03 - 31),
            commissioned: "Family support in Hodge Hill".into(),
            narrative: "We ran a cook-along.".into(),
            extras: vec![
                ExtraValue {
                    kind: Extra::VolunteerHours,
                    quantity: 120.0,
                    note: String::new(),
                    proxy: Some(10.0),
                    proxy_source: "our licence".into(),
                },
                ExtraValue {
                    kind: Extra::PeerSupport,
                    quantity: 12.0,
                    note: String::new(),
                    proxy: None,
                    proxy_source: String::new(),
                },
            ],
            case_studies: vec![CaseStudy {
                title: "A father's year".into(),
                story: "Food parcels, then a benefits check.".into(),
                consent: true,
            }],
        }
    }

    #[test]
    fn a_good_report_passes_and_only_valued_lines_are_monetised() {
        assert!(check(&report()).is_empty());
        assert_eq!(monetised(&report()), 1200.0);
    }

    #[test]
    fn each_problem_is_named_by_its_field() {
        let mut bad = report();
        bad.to = date!(2025 - 01 - 01);
        bad.extras[0].proxy_source.clear();
        bad.extras[1].quantity = -1.0;
        bad.case_studies[0].consent = false;
        let fields: Vec<String> = check(&bad).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "to",
                "extra-volunteer_hours-proxy_source",
                "extra-peer_support-quantity",
                "case-0-consent"
            ]
        );
    }
}

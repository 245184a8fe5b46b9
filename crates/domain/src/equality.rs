//! Equality breakdowns of case data: the groups a child named in a request is counted in, so the
//! board can see who early help reaches by ethnic group, age band and SEND.
//!
//! Ethnic groups are the five high-level groups of the 2021 census (the detailed categories
//! the forms collect would leave most localities' counts suppressed), as the outcomes
//! framework's loaded breakdowns already use them.

use crate::cases::{Ethnicity, Send};
use crate::sharing;
use time::Date;

/// The breakdowns that describe people rather than reasons, with their labels: those the
/// equality view offers.
pub const DIMENSIONS: &[(&str, &str)] = &[
    ("ethnicity", "Ethnic group"),
    ("age_band", "Age band"),
    ("sex", "Sex"),
    ("send", "Special educational needs or disability"),
];

/// The group of anyone whose answer is blank or "prefers not to say".
pub const NOT_KNOWN: &str = "Not known";

/// The 2021 census high-level ethnic group of an [`Ethnicity`] slug.
pub fn ethnic_group(slug: &str) -> &'static str {
    let Some(ethnicity) = Ethnicity::from_slug(slug) else {
        return NOT_KNOWN;
    };
    match ethnicity.slug().split('_').next() {
        Some("asian") => "Asian",
        Some("black") => "Black",
        Some("mixed") => "Mixed",
        Some("white") => "White",
        Some("other") => "Other",
        _ => NOT_KNOWN,
    }
}

/// The label of a [`Send`] slug.
pub fn send_group(slug: &str) -> &'static str {
    Send::from_slug(slug).map_or(NOT_KNOWN, Send::label)
}

/// The age band, in whole years on `on`, of someone born on `date_of_birth` (ISO 8601): the
/// sharing ledger's bands, with adults as one group (the requests name children).
pub fn age_band(date_of_birth: &str, on: Date) -> &'static str {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(born) = Date::parse(date_of_birth.trim(), &format) else {
        return NOT_KNOWN;
    };
    match sharing::age_band(born, on) {
        "0-4" => "Under 5",
        "5-10" => "5 to 10",
        "11-15" => "11 to 15",
        "16-17" => "16 or 17",
        "unborn" => NOT_KNOWN,
        _ => "18 or over",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn detailed_categories_fold_into_the_census_high_level_groups() {
        assert_eq!(ethnic_group("asian_pakistani"), "Asian");
        assert_eq!(ethnic_group("black_caribbean"), "Black");
        assert_eq!(ethnic_group("mixed_white_black_african"), "Mixed");
        assert_eq!(ethnic_group("white_roma"), "White");
        assert_eq!(ethnic_group("other_arab"), "Other");
        assert_eq!(ethnic_group("other"), "Other");
        assert_eq!(ethnic_group("not_said"), NOT_KNOWN);
        assert_eq!(ethnic_group(""), NOT_KNOWN);
        assert_eq!(ethnic_group("martian"), NOT_KNOWN);
    }

    #[test]
    fn age_counts_whole_years_on_the_day() {
        let on = date!(2026 - 09 - 28);
        assert_eq!(age_band("2021-09-29", on), "Under 5", "4 until tomorrow");
        assert_eq!(age_band("2021-09-28", on), "5 to 10", "5 today");
        assert_eq!(age_band("2015-12-01", on), "5 to 10");
        assert_eq!(age_band("2011-01-01", on), "11 to 15");
        assert_eq!(age_band("2010-09-28", on), "16 or 17");
        assert_eq!(age_band("2008-09-28", on), "18 or over");
        assert_eq!(age_band("2027-01-01", on), NOT_KNOWN, "not born yet");
        assert_eq!(age_band("28/09/2015", on), NOT_KNOWN);
    }

    #[test]
    fn send_is_named_by_its_label() {
        assert_eq!(send_group("ehc_plan"), "Education, health and care plan");
        assert_eq!(send_group(""), NOT_KNOWN);
    }
}

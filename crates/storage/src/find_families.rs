//! "Your families": the families a person may open, found by name, date of birth, postcode and
//! NHS number, filtered by what is due, a page at a time. The home page's counts are made from the same
//! SQL (see [`crate::home_counts`]), so a number links to a list of exactly that many.
//!
//! Which families a person may open is written once here in SQL, [`open_to!`], the same rule
//! as `earlyhelp_domain::access::decide_family` (a test holds the two together): the families
//! they lead, those of the localities they lead (as a locality lead), those they hold unexpired
//! break-glass access to, and those whose team they are in while their share stands.

use crate::gate::Authorised;
use crate::{StorageError, on_tx};
use earlyhelp_domain::access::Actor;
use earlyhelp_domain::roles::{Permission, Role};
use serde::Serialize;
use time::{Date, Duration};
use uuid::Uuid;

/// `WITH open_to (id)`: the families the person `$1` may open at `$2` (microseconds), with
/// `$3` whether they lead localities. Only for someone whose role works cases.
macro_rules! open_to {
    () => {
        "WITH open_to AS (\
         SELECT id FROM families WHERE lead_practitioner = $1 \
         UNION SELECT f.id FROM families f JOIN user_localities l ON l.locality_slug = f.locality_slug \
         WHERE $3 AND l.user_id = $1 \
         UNION SELECT family_id FROM break_glass WHERE user_id = $1 AND expires_micros > $2 \
         UNION SELECT t.family_id FROM family_team t JOIN families f ON f.id = t.family_id \
         WHERE t.user_id = $1 \
         AND NOT (EXISTS (SELECT 1 FROM lawful_bases b WHERE b.family_id = t.family_id AND b.shared_with_user = $1) \
         AND NOT EXISTS (SELECT 1 FROM lawful_bases b WHERE b.family_id = t.family_id AND b.shared_with_user = $1 \
         AND b.ended_micros IS NULL)) \
         AND (NOT f.consent_withdrawn OR EXISTS (SELECT 1 FROM lawful_bases b WHERE b.family_id = t.family_id \
         AND b.shared_with_user = $1 AND b.ended_micros IS NULL AND b.article6 <> 'consent'))) "
    };
}

// What is due, each over `families f`, with `$4` today, `$5` a week on and `$6` three months
// ago (ISO dates, as the columns hold them).
macro_rules! review_overdue {
    () => {
        "(f.state <> 'closed' AND f.review_date < $4)"
    };
}
macro_rules! review_this_week {
    () => {
        "(f.state <> 'closed' AND f.review_date >= $4 AND f.review_date <= $5)"
    };
}
macro_rules! actions_overdue {
    () => {
        "(f.state <> 'closed' AND EXISTS (SELECT 1 FROM plan_actions p WHERE p.family_id = f.id \
         AND NOT p.done AND p.due_date < $4))"
    };
}
macro_rules! no_recent_reading {
    () => {
        "(f.state <> 'closed' AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.family_id = f.id \
         AND r.taken_on >= $6))"
    };
}
macro_rules! break_glass_held {
    () => {
        "EXISTS (SELECT 1 FROM break_glass g WHERE g.family_id = f.id AND g.user_id = $1 \
         AND g.expires_micros > $2)"
    };
}
macro_rules! unallocated {
    () => {
        "(f.state <> 'closed' AND f.lead_practitioner IS NULL)"
    };
}
macro_rules! open_case {
    () => {
        "(f.state <> 'closed')"
    };
}
pub(crate) use {
    actions_overdue, break_glass_held, no_recent_reading, open_to, review_overdue,
    review_this_week, unallocated,
};

/// Which of a person's families to show: all, or those with something due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Only {
    #[default]
    All,
    Open,
    ReviewOverdue,
    ReviewThisWeek,
    ActionsOverdue,
    NoRecentReading,
    BreakGlass,
    Unallocated,
}

impl Only {
    pub const ALL: [Only; 8] = [
        Only::All,
        Only::Open,
        Only::ReviewOverdue,
        Only::ReviewThisWeek,
        Only::ActionsOverdue,
        Only::NoRecentReading,
        Only::BreakGlass,
        Only::Unallocated,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Only::All => "",
            Only::Open => "open",
            Only::ReviewOverdue => "review_overdue",
            Only::ReviewThisWeek => "review_this_week",
            Only::ActionsOverdue => "actions_overdue",
            Only::NoRecentReading => "no_recent_reading",
            Only::BreakGlass => "break_glass",
            Only::Unallocated => "unallocated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Only::All => "All your families",
            Only::Open => "Open cases",
            Only::ReviewOverdue => "Review overdue",
            Only::ReviewThisWeek => "Review due in the next 7 days",
            Only::ActionsOverdue => "A plan action overdue",
            Only::NoRecentReading => "No wellbeing reading in 3 months",
            Only::BreakGlass => "Break-glass access you hold",
            Only::Unallocated => "No lead practitioner",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Only> {
        Only::ALL.into_iter().find(|o| o.slug() == slug.trim())
    }
}

/// The dates the rules of what is due compare with.
#[derive(Debug, Clone)]
pub(crate) struct Dates {
    pub now_micros: i64,
    pub today: String,
    pub week_on: String,
    pub reading_since: String,
}

impl Dates {
    pub(crate) fn on(today: Date) -> Dates {
        let iso = earlyhelp_domain::cases::iso;
        Dates {
            now_micros: crate::now_micros(),
            today: iso(today),
            week_on: iso(today + Duration::days(7)),
            // Three months, as a practitioner counts them: 91 days.
            reading_since: iso(today - Duration::days(91)),
        }
    }
}

/// Whether `actor` holds a role that works cases (no other role opens a family), and whether
/// they lead localities.
pub(crate) fn case_roles(actor: &Actor) -> (bool, bool) {
    let works = actor.roles.iter().any(|r| r.may(Permission::WorkCases));
    (works, actor.roles.contains(&Role::LocalityLead))
}

/// What to find: empty strings and `None` match everything.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub only: Only,
    /// Part of a member's name, any case.
    pub name: String,
    /// A member's date of birth.
    pub date_of_birth: Option<Date>,
    /// A full postcode ("B23 6AB") or its outward code ("B23"), normalised.
    pub postcode: Option<earlyhelp_domain::directory::Postcode>,
    /// Led by this person.
    pub lead: Option<Uuid>,
    /// In this locality (slug).
    pub locality: String,
    /// A member with this NHS number.
    pub nhs_number: Option<earlyhelp_domain::nhs_number::NhsNumber>,
}

/// A line of the list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FamilyLine {
    pub id: Uuid,
    /// The members' names, eldest first, comma-separated.
    pub names: String,
    pub locality_slug: String,
    pub postcode: String,
    pub state: String,
    pub review_date: Option<String>,
    pub lead_name: Option<String>,
    pub is_lead: bool,
    pub break_glass: bool,
}

/// `LIKE` pattern for text containing `part` (its own `%`, `_` and `\` taken literally).
fn containing(part: &str) -> String {
    let escaped = part
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

macro_rules! matching {
    () => {
        concat!(
            " FROM families f WHERE f.id IN (SELECT id FROM open_to) AND ($7 = '' \
             OR ($7 = 'open' AND ",
            open_case!(),
            ") OR ($7 = 'review_overdue' AND ",
            review_overdue!(),
            ") OR ($7 = 'review_this_week' AND ",
            review_this_week!(),
            ") OR ($7 = 'actions_overdue' AND ",
            actions_overdue!(),
            ") OR ($7 = 'no_recent_reading' AND ",
            no_recent_reading!(),
            ") OR ($7 = 'break_glass' AND ",
            break_glass_held!(),
            ") OR ($7 = 'unallocated' AND ",
            unallocated!(),
            ")) AND ($8 = '' OR EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.id \
             AND lower(m.given_name || ' ' || m.family_name) LIKE $8 ESCAPE '\\')) \
             AND ($9 = '' OR EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.id \
             AND m.date_of_birth = $9)) \
             AND ($10 = '' OR f.postcode LIKE $10) \
             AND ($11 IS NULL OR f.lead_practitioner = $11) \
             AND ($12 = '' OR f.locality_slug = $12) \
             AND ($15 = '' OR EXISTS (SELECT 1 FROM family_members m WHERE m.family_id = f.id \
             AND m.nhs_number = $15)) "
        )
    };
}

/// A page of the families `actor` may open that match `search` (open ones first, soonest
/// review first), with how many match in all. Nothing for someone whose roles hold no cases.
pub async fn find(
    authorised: &mut Authorised,
    actor: &Actor,
    search: &Search,
    today: Date,
    limit: i64,
    skip: i64,
) -> Result<(Vec<FamilyLine>, i64), StorageError> {
    let (works, leads) = case_roles(actor);
    if !works {
        return Ok((Vec::new(), 0));
    }
    let dates = Dates::on(today);
    let name = if search.name.trim().is_empty() {
        String::new()
    } else {
        containing(&search.name)
    };
    let dob = search
        .date_of_birth
        .map(earlyhelp_domain::cases::iso)
        .unwrap_or_default();
    let postcode = match &search.postcode {
        Some(earlyhelp_domain::directory::Postcode::Full(p)) => p.clone(),
        Some(earlyhelp_domain::directory::Postcode::Outward(p)) => format!("{p} %"),
        None => String::new(),
    };
    // The page of families, then their members' names beside them (one row a member).
    const PAGE: &str = concat!(
        open_to!(),
        ", page AS (SELECT f.id, f.locality_slug, f.postcode, f.state, f.review_date, \
         f.lead_practitioner",
        matching!(),
        "ORDER BY CASE WHEN f.state = 'closed' THEN 1 ELSE 0 END, f.review_date, f.id \
         LIMIT $13 OFFSET $14) \
         SELECT p.id, p.locality_slug, p.postcode, p.state, p.review_date, u.name AS lead_name, \
         (p.lead_practitioner IS NOT NULL AND p.lead_practitioner = $1) AS is_lead, \
         EXISTS (SELECT 1 FROM break_glass g WHERE g.family_id = p.id AND g.user_id = $1 \
         AND g.expires_micros > $2) AS break_glass, \
         m.given_name || ' ' || m.family_name AS member \
         FROM page p LEFT JOIN users u ON u.id = p.lead_practitioner \
         LEFT JOIN family_members m ON m.family_id = p.id \
         ORDER BY CASE WHEN p.state = 'closed' THEN 1 ELSE 0 END, p.review_date, p.id, \
         m.date_of_birth, m.id"
    );
    const TOTAL: &str = concat!(
        open_to!(),
        "SELECT COUNT(*)",
        matching!(),
        "AND $13 >= 0 AND $14 >= 0"
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        locality_slug: String,
        postcode: String,
        state: String,
        review_date: Option<String>,
        lead_name: Option<String>,
        is_lead: bool,
        break_glass: bool,
        member: Option<String>,
    }
    let lead = search.lead;
    let nhs_number = search.nhs_number.as_ref().map_or("", |n| n.digits());
    let tx = &mut authorised.tx;
    macro_rules! bound {
        ($sql:expr, $kind:ident) => {
            sqlx::$kind($sql)
                .bind(actor.user_id)
                .bind(dates.now_micros)
                .bind(leads)
                .bind(&dates.today)
                .bind(&dates.week_on)
                .bind(&dates.reading_since)
                .bind(search.only.slug())
                .bind(&name)
                .bind(&dob)
                .bind(&postcode)
                .bind(lead)
                .bind(search.locality.trim())
                .bind(limit)
                .bind(skip)
                .bind(nhs_number)
        };
    }
    let (rows, total): (Vec<Row>, i64) = on_tx!(tx, c => {
        let rows = bound!(PAGE, query_as).fetch_all(&mut *c).await?;
        let total = bound!(TOTAL, query_scalar).fetch_one(&mut *c).await?;
        (rows, total)
    });
    let mut lines: Vec<FamilyLine> = Vec::new();
    for row in rows {
        let member = row.member.unwrap_or_default();
        match lines.last_mut() {
            Some(line) if line.id == row.id => {
                if !member.is_empty() {
                    line.names.push_str(", ");
                    line.names.push_str(&member);
                }
            }
            _ => lines.push(FamilyLine {
                id: row.id,
                names: member,
                locality_slug: row.locality_slug,
                postcode: row.postcode,
                state: row.state,
                review_date: row.review_date,
                lead_name: row.lead_name,
                is_lead: row.is_lead,
                break_glass: row.break_glass,
            }),
        }
    }
    Ok((lines, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_reads_back_from_its_slug() {
        for only in Only::ALL {
            assert_eq!(Only::from_slug(only.slug()), Some(only));
        }
        assert_eq!(Only::from_slug("nonsense"), None);
    }

    #[test]
    fn a_name_is_matched_literally() {
        assert_eq!(containing(" Ann_% "), "%ann\\_\\%%");
    }
}

//! The numbers on each role's home page, a statement or two each. Every count is read under the
//! permit of the list it links to, and the families' counts are made from the same SQL as
//! "Your families" ([`crate::find_families`]): a number never counts a record its reader
//! cannot open, and the list it links to shows exactly that many.

use crate::find_families::{
    Dates, actions_overdue, break_glass_held, case_roles, no_recent_reading, open_to,
    review_overdue, review_this_week, unallocated,
};
use crate::gate::Authorised;
use crate::{StorageError, on_tx};
use earlyhelp_domain::access::Actor;
use time::Date;
use uuid::Uuid;

/// What is due among the families a person may open.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct FamilyCounts {
    pub review_overdue: i64,
    pub review_this_week: i64,
    pub actions_overdue: i64,
    pub no_recent_reading: i64,
    pub break_glass: i64,
    pub unallocated: i64,
}

/// The families' counts, in one statement. Read under the caseload's permit.
pub async fn families(
    authorised: &mut Authorised,
    actor: &Actor,
    today: Date,
) -> Result<FamilyCounts, StorageError> {
    let (works, leads) = case_roles(actor);
    if !works {
        return Ok(FamilyCounts::default());
    }
    const SQL: &str = concat!(
        open_to!(),
        "SELECT \
         COALESCE(SUM(CASE WHEN ",
        review_overdue!(),
        " THEN 1 ELSE 0 END), 0) AS review_overdue, \
         COALESCE(SUM(CASE WHEN ",
        review_this_week!(),
        " THEN 1 ELSE 0 END), 0) AS review_this_week, \
         COALESCE(SUM(CASE WHEN ",
        actions_overdue!(),
        " THEN 1 ELSE 0 END), 0) AS actions_overdue, \
         COALESCE(SUM(CASE WHEN ",
        no_recent_reading!(),
        " THEN 1 ELSE 0 END), 0) AS no_recent_reading, \
         COALESCE(SUM(CASE WHEN ",
        break_glass_held!(),
        " THEN 1 ELSE 0 END), 0) AS break_glass, \
         COALESCE(SUM(CASE WHEN ",
        unallocated!(),
        " THEN 1 ELSE 0 END), 0) AS unallocated \
         FROM families f WHERE f.id IN (SELECT id FROM open_to)"
    );
    let dates = Dates::on(today);
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(SQL)
            .bind(actor.user_id)
            .bind(dates.now_micros)
            .bind(leads)
            .bind(&dates.today)
            .bind(&dates.week_on)
            .bind(&dates.reading_since)
            .fetch_one(c)
            .await?
    }))
}

/// One practitioner's open cases in a locality the reader leads.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Caseload {
    pub locality_slug: String,
    pub user_id: Uuid,
    pub name: String,
    pub open_cases: i64,
}

/// The open cases of each lead practitioner in the localities the reader leads, most first.
/// Read under the caseload's permit; nothing for someone who leads no locality.
pub async fn caseloads(
    authorised: &mut Authorised,
    actor: &Actor,
) -> Result<Vec<Caseload>, StorageError> {
    let (works, leads) = case_roles(actor);
    if !works || !leads {
        return Ok(Vec::new());
    }
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT f.locality_slug, u.id AS user_id, u.name, COUNT(*) AS open_cases \
             FROM families f JOIN users u ON u.id = f.lead_practitioner \
             JOIN user_localities l ON l.locality_slug = f.locality_slug AND l.user_id = $1 \
             WHERE f.state <> 'closed' \
             GROUP BY f.locality_slug, u.id, u.name ORDER BY f.locality_slug, open_cases DESC, u.name",
        )
        .bind(actor.user_id)
        .fetch_all(c)
        .await?
    }))
}

/// The requests waiting for triage in one locality.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waiting {
    pub requests: i64,
    pub complex: i64,
    /// Whole days the oldest has waited.
    pub oldest_days: Option<i64>,
}

/// The requests waiting in the locality the permit's queue names, in one statement.
pub async fn waiting(authorised: &mut Authorised, locality: &str) -> Result<Waiting, StorageError> {
    let tx = &mut authorised.tx;
    let (requests, complex, oldest): (i64, i64, Option<i64>) = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN need_level = 'complex' THEN 1 ELSE 0 END), 0), \
             MIN(created_micros) FROM support_requests WHERE locality_slug = $1 AND status = 'new'",
        )
        .bind(locality)
        .fetch_one(c)
        .await?
    });
    const DAY_MICROS: i64 = 86_400_000_000;
    Ok(Waiting {
        requests,
        complex,
        oldest_days: oldest.map(|at| (crate::now_micros() - at).max(0) / DAY_MICROS),
    })
}

/// The requests a person sent, by status ("new" waits for triage, "triaged" was decided).
pub async fn sent(
    authorised: &mut Authorised,
    user: Uuid,
) -> Result<Vec<(String, i64)>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT status, COUNT(*) FROM support_requests WHERE requested_by = $1 \
             GROUP BY status ORDER BY status",
        )
        .bind(user)
        .fetch_all(c)
        .await?
    }))
}

/// Legal holds in force. Read under the records governance permit.
pub async fn legal_holds(authorised: &mut Authorised) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM legal_holds WHERE lifted_micros IS NULL")
            .fetch_one(c)
            .await?
    }))
}

/// A data analyst's matching work: runs queued or running, possible matches waiting for
/// clerical review, and uploaded lists whose delete-by date is within 30 days.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct MatchingWork {
    pub runs_going: i64,
    pub possible: i64,
    pub lists_ending: i64,
}

/// The matching counts, in one statement. Read under the matching permit.
pub async fn matching(
    authorised: &mut Authorised,
    today: Date,
) -> Result<MatchingWork, StorageError> {
    let soon = earlyhelp_domain::cases::iso(today + time::Duration::days(30));
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM match_runs WHERE state IN ('queued', 'running')) AS runs_going, \
             (SELECT COUNT(*) FROM match_results WHERE status = 'possible') AS possible, \
             (SELECT COUNT(*) FROM match_lists WHERE delete_by <= $1) AS lists_ending",
        )
        .bind(&soon)
        .fetch_one(c)
        .await?
    }))
}

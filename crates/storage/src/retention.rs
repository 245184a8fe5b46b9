//! Retention: legal holds, and the run that anonymises records past their retention date.
//! The rules (when a record is due, what anonymising leaves) are
//! `earlyhelp_domain::retention`; this module reads the records those rules need and writes
//! what they decide, in the transaction that passed the gate, with an audit event per record.

use crate::gate::{Authorised, NewEvent, append};
use crate::{StorageError, Tx, now_micros, on_tx};
use earlyhelp_domain::cases::{CaseState, iso};
use earlyhelp_domain::retention::{
    ANONYMOUS_NAME, Due, REMOVED_TEXT, Schedule, Verdict, birth_year, family_due,
    postcode_district, request_due, verdict,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use time::Date;
use uuid::Uuid;

/// The records retention acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Family,
    Request,
    /// An agency's list uploaded for matching: deleted whole at its delete-by date
    /// ([`crate::matching::delete_due`]), so a hold is all retention asks of it here.
    MatchList,
}

impl RecordKind {
    pub fn slug(self) -> &'static str {
        match self {
            RecordKind::Family => "family",
            RecordKind::Request => "request",
            RecordKind::MatchList => "match_list",
        }
    }

    fn from_slug(slug: &str) -> Option<RecordKind> {
        match slug {
            "family" => Some(RecordKind::Family),
            "request" => Some(RecordKind::Request),
            "match_list" => Some(RecordKind::MatchList),
            _ => None,
        }
    }
}

/// A record named as the audit log names it: `family:ID` or `request:ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RecordRef {
    pub kind: RecordKind,
    pub id: Uuid,
}

impl RecordRef {
    /// Reads `family:ID` or `request:ID`.
    pub fn parse(text: &str) -> Option<RecordRef> {
        let (kind, id) = text.trim().split_once(':')?;
        Some(RecordRef {
            kind: RecordKind::from_slug(kind)?,
            id: Uuid::parse_str(id.trim()).ok()?,
        })
    }
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind.slug(), self.id)
    }
}

// ---------------------------------------------------------------------------------------------
// Legal holds

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Hold {
    pub id: Uuid,
    pub record_kind: String,
    pub record_id: Uuid,
    pub reason: String,
    pub placed_by: String,
    pub placed_micros: i64,
    pub lifted_by: Option<String>,
    pub lift_reason: Option<String>,
    pub lifted_micros: Option<i64>,
}

impl Hold {
    pub fn record(&self) -> String {
        format!("{}:{}", self.record_kind, self.record_id)
    }
}

async fn record_exists(tx: &mut Tx, record: RecordRef) -> Result<bool, StorageError> {
    let sql = match record.kind {
        RecordKind::Family => "SELECT COUNT(*) FROM families WHERE id = $1",
        RecordKind::Request => "SELECT COUNT(*) FROM support_requests WHERE id = $1",
        RecordKind::MatchList => "SELECT COUNT(*) FROM match_lists WHERE id = $1",
    };
    let count: i64 = on_tx!(tx, c => {
        sqlx::query_scalar(sql).bind(record.id).fetch_one(c).await?
    });
    Ok(count > 0)
}

/// Places a legal hold on `record`: retention leaves it as it is until the hold is lifted.
pub async fn place_hold(
    authorised: &mut Authorised,
    record: RecordRef,
    reason: &str,
    placed_by: &str,
) -> Result<Uuid, StorageError> {
    let tx = &mut authorised.tx;
    if !record_exists(tx, record).await? {
        return Err(StorageError::NotFound);
    }
    let id = Uuid::now_v7();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO legal_holds (id, record_kind, record_id, reason, placed_by, placed_micros) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(record.kind.slug())
        .bind(record.id)
        .bind(reason)
        .bind(placed_by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Lifts hold `id`; the hold stays in the list, with who lifted it and why (if they said).
pub async fn lift_hold(
    authorised: &mut Authorised,
    id: Uuid,
    reason: &str,
    lifted_by: &str,
) -> Result<Hold, StorageError> {
    let tx = &mut authorised.tx;
    let lifted = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE legal_holds SET lifted_by = $1, lift_reason = $2, lifted_micros = $3 \
             WHERE id = $4 AND lifted_micros IS NULL",
        )
        .bind(lifted_by)
        .bind(Some(reason.trim()).filter(|r| !r.is_empty()))
        .bind(now_micros())
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
    });
    let hold = hold(tx, id).await?.ok_or(StorageError::NotFound)?;
    if lifted == 0 {
        return Err(StorageError::Conflict(
            "That legal hold has already been lifted".into(),
        ));
    }
    Ok(hold)
}

macro_rules! hold_columns {
    () => {
        "id, record_kind, record_id, reason, placed_by, placed_micros, lifted_by, lift_reason, \
         lifted_micros"
    };
}

async fn hold(tx: &mut Tx, id: Uuid) -> Result<Option<Hold>, StorageError> {
    let sql = concat!(
        "SELECT ",
        hold_columns!(),
        " FROM legal_holds WHERE id = $1"
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await?))
}

/// Every hold, those still in force first, newest first.
pub async fn holds(authorised: &mut Authorised) -> Result<Vec<Hold>, StorageError> {
    let sql = concat!(
        "SELECT ",
        hold_columns!(),
        " FROM legal_holds ORDER BY CASE WHEN lifted_micros IS NULL THEN 0 ELSE 1 END, \
         placed_micros DESC"
    );
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => sqlx::query_as(sql).fetch_all(c).await?))
}

// ---------------------------------------------------------------------------------------------
// The retention run

/// What the schedule says about one record today.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Decided {
    pub record: RecordRef,
    pub due: Option<Due>,
    pub verdict: Verdict,
}

/// What a run found (and, applied, did), by record.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub as_of: Date,
    pub schedule: Schedule,
    pub decided: Vec<Decided>,
}

impl Review {
    /// The records whose verdict passes `wanted`, e.g. every `Anonymise`.
    pub fn matching(&self, wanted: impl Fn(&Verdict) -> bool) -> Vec<&Decided> {
        self.decided.iter().filter(|d| wanted(&d.verdict)).collect()
    }

    /// The first date on which a record now kept falls due.
    pub fn next_due(&self) -> Option<Date> {
        self.decided
            .iter()
            .filter_map(|d| match d.verdict {
                Verdict::KeepUntil(date) => Some(date),
                _ => None,
            })
            .min()
    }
}

fn day_of(micros: i64) -> Date {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// Asks the schedule about every closed case and every triaged request without a case that
/// has not been anonymised yet. Open cases and waiting requests are `Live`.
pub async fn review(
    authorised: &mut Authorised,
    schedule: &Schedule,
    today: Date,
) -> Result<Review, StorageError> {
    type FamilyLine = (Uuid, String, i64);
    type MemberLine = (Uuid, String, String);
    type RequestLine = (Uuid, Option<i64>, Option<Uuid>);
    let tx = &mut authorised.tx;
    type Lines = (
        Vec<FamilyLine>,
        Vec<MemberLine>,
        Vec<RequestLine>,
        Vec<(String, Uuid)>,
    );
    let (families, members, requests, held): Lines = on_tx!(tx, c => {
        let families = sqlx::query_as(
            "SELECT f.id, f.state, COALESCE(f.closed_micros, f.updated_micros) FROM families f \
             WHERE NOT EXISTS \
             (SELECT 1 FROM anonymisations a WHERE a.record_kind = 'family' AND a.record_id = f.id) \
             ORDER BY f.id",
        )
        .fetch_all(&mut *c)
        .await?;
        let members = sqlx::query_as(
            "SELECT m.family_id, m.relationship, m.date_of_birth FROM family_members m \
             JOIN families f ON f.id = m.family_id WHERE f.state = 'closed'",
        )
        .fetch_all(&mut *c)
        .await?;
        let requests = sqlx::query_as(
            "SELECT r.id, r.triaged_micros, r.family_id FROM support_requests r WHERE NOT EXISTS \
             (SELECT 1 FROM anonymisations a WHERE a.record_kind = 'request' AND a.record_id = r.id) \
             ORDER BY r.id",
        )
        .fetch_all(&mut *c)
        .await?;
        let held = sqlx::query_as(
            "SELECT record_kind, record_id FROM legal_holds WHERE lifted_micros IS NULL",
        )
        .fetch_all(&mut *c)
        .await?;
        (families, members, requests, held)
    });
    let held: HashSet<(String, Uuid)> = held.into_iter().collect();
    let decide = |record: RecordRef, due: Option<Due>| Decided {
        record,
        due,
        verdict: verdict(
            due,
            today,
            held.contains(&(record.kind.slug().to_string(), record.id)),
        ),
    };
    let mut by_family: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for (family_id, relationship, born) in members {
        by_family
            .entry(family_id)
            .or_default()
            .push((relationship, born));
    }
    let mut decided = Vec::with_capacity(families.len() + requests.len());
    for (id, state, closed_micros) in families {
        let record = RecordRef {
            kind: RecordKind::Family,
            id,
        };
        let people: Vec<(&str, &str)> = by_family
            .get(&id)
            .map(|m| m.iter().map(|(r, b)| (r.as_str(), b.as_str())).collect())
            .unwrap_or_default();
        let state = CaseState::from_slug(&state).unwrap_or(CaseState::Open);
        let due = family_due(schedule, state, &people, day_of(closed_micros));
        decided.push(decide(record, due));
    }
    for (id, triaged_micros, family_id) in requests {
        // A request that opened a case is kept, and anonymised, with its family.
        if family_id.is_some() {
            continue;
        }
        let record = RecordRef {
            kind: RecordKind::Request,
            id,
        };
        let due = request_due(schedule, triaged_micros.map(day_of), false);
        decided.push(decide(record, due));
    }
    Ok(Review {
        as_of: today,
        schedule: *schedule,
        decided,
    })
}

/// Anonymises every record the review found due, writing an audit event for each in the same
/// transaction. Held and not-yet-due records are left exactly as they are.
pub async fn apply(authorised: &mut Authorised, review: &Review) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    for decided in &review.decided {
        let (Verdict::Anonymise(_), Some(due)) = (decided.verdict, decided.due) else {
            continue;
        };
        let record = decided.record;
        match record.kind {
            RecordKind::Family => anonymise_family(tx, record.id).await?,
            RecordKind::Request => anonymise_request(tx, record.id).await?,
            // Never reviewed here: lists are deleted by their own date.
            RecordKind::MatchList => continue,
        }
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO anonymisations (record_kind, record_id, rule, due_on, anonymised_micros) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(record.kind.slug())
            .bind(record.id)
            .bind(due.rule.slug())
            .bind(iso(due.on))
            .bind(now_micros())
            .execute(c)
            .await?;
        });
        let subject = record.to_string();
        let purpose = format!(
            "retention: anonymised, due {} ({})",
            iso(due.on),
            due.rule.slug()
        );
        // Retention runs from the command line, as the operator (see `gate::operator`).
        append(
            tx,
            &NewEvent {
                actor: "operator",
                actor_organisation: "command line",
                actor_role: "operator",
                subject: &subject,
                action: "update",
                purpose: &purpose,
                outcome: "allowed",
                remote_addr: "local",
            },
        )
        .await?;
    }
    Ok(())
}

/// Names, free-text languages and schools go; dates of birth keep their year; ethnicity and
/// SEND (coded, for the equality statistics) stay. Then the free text of the whole record.
async fn anonymise_family(tx: &mut Tx, id: Uuid) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        let members: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, date_of_birth FROM family_members WHERE family_id = $1")
                .bind(id)
                .fetch_all(&mut *c)
                .await?;
        for (member, born) in members {
            sqlx::query(
                "UPDATE family_members SET given_name = $1, family_name = $1, date_of_birth = $2, \
                 languages = '', school = '', nhs_number = '', nhs_number_missing = '' WHERE id = $3",
            )
            .bind(ANONYMOUS_NAME)
            .bind(birth_year(&born))
            .bind(member)
            .execute(&mut *c)
            .await?;
        }
        let postcode: String = sqlx::query_scalar("SELECT postcode FROM families WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await?;
        sqlx::query("UPDATE families SET address = '', postcode = $1 WHERE id = $2")
            .bind(postcode_district(&postcode))
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE family_notes SET body = $1 WHERE family_id = $2")
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        // Payments keep their amounts and codes (spend is counted); their words and vouchers go.
        sqlx::query(
            "UPDATE payments SET notes = $1, refusal_reason = CASE WHEN refusal_reason IS NULL \
             THEN NULL ELSE $1 END, voucher_code = NULL WHERE family_id = $2",
        )
        .bind(REMOVED_TEXT)
        .bind(id)
        .execute(&mut *c)
        .await?;
        sqlx::query("UPDATE plan_actions SET goal = $1, action = $1, owner = $1 WHERE family_id = $2")
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        // Who withdrew a consent and why are words about the family too.
        sqlx::query(
            "UPDATE consents SET given_by = $1, scope = $2, \
             withdrawn_by = CASE WHEN withdrawn_by IS NULL THEN NULL ELSE $1 END, \
             withdrawn_reason = CASE WHEN withdrawn_reason IS NULL THEN NULL ELSE $2 END \
             WHERE family_id = $3",
        )
            .bind(ANONYMOUS_NAME)
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        // The assessment's needs, status and dates stay; its words go.
        sqlx::query(
            "UPDATE assessments SET family_story = $1, child_voice = $1, strengths = $1, \
             worries = $1, analysis = $1 WHERE family_id = $2",
        )
        .bind(REMOVED_TEXT)
        .bind(id)
        .execute(&mut *c)
        .await?;
        // Who it was shared with and on which lawful basis stay; why, in words, goes.
        sqlx::query(
            "UPDATE lawful_bases SET purpose = $1, \
             ended_reason = CASE WHEN ended_reason IS NULL THEN NULL ELSE $1 END WHERE family_id = $2",
        )
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE break_glass SET reason = $1, \
             review_note = CASE WHEN review_note IS NULL THEN NULL ELSE $1 END WHERE family_id = $2",
        )
        .bind(REMOVED_TEXT)
        .bind(id)
        .execute(&mut *c)
        .await?;
        // Who asked to join and what they were answered stay; the words go, as from notices.
        sqlx::query(
            "UPDATE join_requests SET reason = $1, \
             decision_reason = CASE WHEN decision_reason IS NULL THEN NULL ELSE $1 END WHERE family_id = $2",
        )
        .bind(REMOVED_TEXT)
        .bind(id)
        .execute(&mut *c)
        .await?;
        // Decisions not to share are about the family and nobody else: they go whole.
        sqlx::query("DELETE FROM not_shared WHERE family_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE notices SET body = $1 WHERE family_id = $2")
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        // Which Supporting Families outcomes and when they were achieved stay; the words go.
        sqlx::query("UPDATE family_outcomes SET need = $1, evidence = $1 WHERE family_id = $2")
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        // The family network are people outside the case: they go whole. The levels stepped
        // between and when stay, as do whether family group decision making was offered and
        // taken up and when; the words and names go.
        sqlx::query("DELETE FROM family_network WHERE family_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE level_steps SET reason = $1 WHERE family_id = $2")
            .bind(REMOVED_TEXT)
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE family_group_meetings SET declined_reason = CASE WHEN declined_reason = '' \
             THEN '' ELSE $1 END, attendees = '', plan = CASE WHEN plan = '' THEN '' ELSE $1 END \
             WHERE family_id = $2",
        )
        .bind(REMOVED_TEXT)
        .bind(id)
        .execute(&mut *c)
        .await?;
    });
    let requests: Vec<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT id FROM support_requests WHERE family_id = $1")
            .bind(id)
            .fetch_all(c)
            .await?
    });
    for request in requests {
        anonymise_request(tx, request).await?;
    }
    Ok(())
}

/// The family on the request loses its names, address and words; its locality, reasons,
/// level of need, dates and triage outcome stay for the statistics.
async fn anonymise_request(tx: &mut Tx, id: Uuid) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        let members: Vec<(i64, String)> = sqlx::query_as(
            "SELECT position, date_of_birth FROM request_members WHERE request_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        for (position, born) in members {
            sqlx::query(
                "UPDATE request_members SET given_name = $1, family_name = $1, date_of_birth = $2, \
                 languages = '', school = '', nhs_number = '', nhs_number_missing = '' \
                 WHERE request_id = $3 AND position = $4",
            )
            .bind(ANONYMOUS_NAME)
            .bind(birth_year(&born))
            .bind(id)
            .bind(position)
            .execute(&mut *c)
            .await?;
        }
        let postcode: String =
            sqlx::query_scalar("SELECT postcode FROM support_requests WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await?;
        sqlx::query(
            "UPDATE support_requests SET address = '', postcode = $1, summary = $2, \
             consent_given_by = $3, requester = $3, contact = '', triage_note = $2 WHERE id = $4",
        )
        .bind(postcode_district(&postcode))
        .bind(REMOVED_TEXT)
        .bind(ANONYMOUS_NAME)
        .bind(id)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

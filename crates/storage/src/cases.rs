//! Requests for support and family cases. Every function that reads or changes a family's
//! record takes the gate's [`Authorised`], so none can run without the access check and its
//! audit event in the same transaction. The two exceptions are named for what they are:
//! [`involvement`] (who is involved, which the gate itself needs) and [`self_referral`]
//! (a member of the public, audited as such).

use crate::gate::{Authorised, FamilyId, KnownToFamily, NewEvent, Permit, RequestId, append};
use crate::{Db, StorageError, Tx, json_rows, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::{Actor, Involvement};
use earlyhelp_domain::cases::{
    ActionEnding, CaseEvent, CaseState, CheckedRequest, ClosureReason, NeedOutcome, PersonKey,
    Reason, TriageOutcome, likely_same_person, next_state, parse_date,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use std::sync::LazyLock;
use time::Date;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// What the gate needs to know

/// Who is involved with family `id`, for the access rules; `None` if there is no such family.
/// Read in the transaction that acts on the decision, so the facts cannot change in between.
pub(crate) async fn involvement(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<Involvement>, StorageError> {
    static POSTGRES: LazyLock<String> = LazyLock::new(|| json_rows::postgres(INVOLVEMENT_SQL));
    type Row = (
        String,
        Option<Uuid>,
        Option<Uuid>,
        bool,
        Json<Vec<TeamShare>>,
        Json<Vec<Uuid>>,
    );
    let now = now_micros();
    let row: Option<Row> = match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(INVOLVEMENT_SQL)
                .bind(id)
                .bind(now)
                .fetch_optional(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(POSTGRES.as_str())
                .bind(id)
                .bind(now)
                .fetch_optional(&mut **t)
                .await?
        }
    };
    Ok(row.map(
        |(
            locality,
            lead_practitioner,
            lead_cp_practitioner,
            consent_withdrawn,
            team,
            break_glass,
        )| {
            let team: Vec<TeamShare> = team.0.into_iter().filter(|t| !t.ended).collect();
            Involvement {
                locality,
                lead_practitioner,
                lead_cp_practitioner,
                shared_without_consent: team
                    .iter()
                    .filter(|t| t.other_basis)
                    .map(|t| t.user_id)
                    .collect(),
                team_members: team.into_iter().map(|t| t.user_id).collect(),
                consent_withdrawn,
                break_glass: break_glass.0,
            }
        },
    ))
}

/// A team member's shares, for [`involvement`]: whether one in place rests on a basis other
/// than consent, and whether every one of them has ended.
#[derive(Deserialize)]
struct TeamShare {
    user_id: Uuid,
    #[serde(deserialize_with = "json_rows::flag")]
    other_basis: bool,
    #[serde(deserialize_with = "json_rows::flag")]
    ended: bool,
}

/// [`involvement`] in one statement (see [`json_rows`]): the family's row, its team with their
/// shares, and the unexpired break-glass grants (`$2` is now).
/// A lead child protection practitioner counts only while the case is open at child protection.
const INVOLVEMENT_SQL: &str = "SELECT f.locality_slug, f.lead_practitioner, \
     CASE WHEN f.help_level = 'child_protection' AND f.state = 'open' \
       THEN f.lead_cp_practitioner END, \
     f.consent_withdrawn, \
     (SELECT COALESCE(json_group_array(json_object('user_id', hex(t.user_id), \
       'other_basis', EXISTS (SELECT 1 FROM lawful_bases b WHERE b.family_id = t.family_id \
         AND b.shared_with_user = t.user_id AND b.ended_micros IS NULL AND b.article6 <> 'consent'), \
       'ended', EXISTS (SELECT 1 FROM lawful_bases b WHERE b.family_id = t.family_id \
         AND b.shared_with_user = t.user_id) AND NOT EXISTS (SELECT 1 FROM lawful_bases b \
         WHERE b.family_id = t.family_id AND b.shared_with_user = t.user_id AND b.ended_micros IS NULL))), '[]') \
       FROM family_team t WHERE t.family_id = f.id) AS team, \
     (SELECT COALESCE(json_group_array(hex(g.user_id)), '[]') \
       FROM break_glass g WHERE g.family_id = f.id AND g.expires_micros > $2) AS break_glass \
     FROM families f WHERE f.id = $1";

/// The locality a request is waiting in; `None` if there is no such request.
pub(crate) async fn request_locality(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<String>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT locality_slug FROM support_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Requests

/// The columns of a [`MemberRow`], for requests' and families' members alike.
macro_rules! member_columns {
    () => {
        "given_name, family_name, date_of_birth, relationship, ethnicity, languages, send, school, \
         nhs_number, nhs_number_missing"
    };
}

async fn insert_request(
    tx: &mut Tx,
    id: Uuid,
    requested_by: Option<Uuid>,
    requester: &str,
    self_referral: bool,
    request: &CheckedRequest,
) -> Result<(), StorageError> {
    let reasons = request
        .reasons
        .iter()
        .map(|r| r.slug())
        .collect::<Vec<_>>()
        .join(",");
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO support_requests (id, locality_slug, address, postcode, reasons, need_level, \
             summary, consent_given_by, consent_method, consent_date, requested_by, requester, contact, \
             self_referral, status, created_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'new', $15)",
        )
        .bind(id)
        .bind(request.locality)
        .bind(&request.address)
        .bind(&request.postcode)
        .bind(&reasons)
        .bind(request.need_level.slug())
        .bind(&request.summary)
        .bind(&request.consent_given_by)
        .bind(request.consent_method.slug())
        .bind(earlyhelp_domain::cases::iso(request.consent_date))
        .bind(requested_by)
        .bind(requester)
        .bind(&request.contact)
        .bind(self_referral)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
        for (position, member) in request.members.iter().enumerate() {
            sqlx::query(
                concat!(
                    "INSERT INTO request_members (request_id, position, ",
                    member_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ),
            )
            .bind(id)
            .bind(position as i64)
            .bind(&member.given_name)
            .bind(&member.family_name)
            .bind(earlyhelp_domain::cases::iso(member.date_of_birth))
            .bind(member.relationship.slug())
            .bind(member.ethnicity.map(|e| e.slug()).unwrap_or(""))
            .bind(&member.languages)
            .bind(member.send.map(|s| s.slug()).unwrap_or(""))
            .bind(&member.school)
            .bind(member.nhs.columns().0)
            .bind(member.nhs.columns().1)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Stores a professional's request `id` (the gate has checked they may request support).
pub async fn create_request(
    authorised: &mut Authorised,
    id: Uuid,
    requested_by: &Actor,
    requester: &str,
    request: &CheckedRequest,
) -> Result<(), StorageError> {
    insert_request(
        &mut authorised.tx,
        id,
        Some(requested_by.user_id),
        requester,
        false,
        request,
    )
    .await
}

/// Stores a request a member of the public made for their own family, and audits it as theirs.
pub async fn self_referral(
    db: &Db,
    remote_addr: &str,
    request: &CheckedRequest,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let subject = format!("request:{id}");
    let mut tx = db.begin().await?;
    append(
        &mut tx,
        &NewEvent {
            actor: "public",
            actor_organisation: "",
            actor_role: "none",
            subject: &subject,
            action: "create",
            purpose: "self-referral",
            outcome: "allowed",
            remote_addr,
        },
    )
    .await?;
    let requester = request.consent_given_by.clone();
    insert_request(&mut tx, id, None, &requester, true, request).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct RequestRow {
    pub id: Uuid,
    pub locality_slug: String,
    pub address: String,
    pub postcode: String,
    /// Reason slugs, comma-separated.
    pub reasons: String,
    pub need_level: String,
    pub summary: String,
    pub consent_given_by: String,
    pub consent_method: String,
    pub consent_date: String,
    pub requester: String,
    pub contact: String,
    #[serde(deserialize_with = "json_rows::flag")]
    pub self_referral: bool,
    pub status: String,
    pub outcome: Option<String>,
    pub triage_note: String,
    pub family_id: Option<Uuid>,
    pub created_micros: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct MemberRow {
    /// The family member's id (nil for a request's member, which has none).
    #[sqlx(default)]
    #[serde(skip_serializing, default)]
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
    pub relationship: String,
    /// An `Ethnicity` slug, or empty when not known.
    pub ethnicity: String,
    pub languages: String,
    /// A `Send` slug, or empty when not known.
    pub send: String,
    pub school: String,
    /// The 10 digits of the NHS number, or empty.
    #[sqlx(default)]
    #[serde(default)]
    pub nhs_number: String,
    /// Why the NHS number is missing (`not_known`, `withheld`), or empty.
    #[sqlx(default)]
    #[serde(default)]
    pub nhs_number_missing: String,
}

/// The same columns of member `m` as `json_object` arguments (see [`json_rows`]).
macro_rules! member_json_fields {
    () => {
        "'given_name', m.given_name, 'family_name', m.family_name, 'date_of_birth', \
         m.date_of_birth, 'relationship', m.relationship, 'ethnicity', m.ethnicity, 'languages', \
         m.languages, 'send', m.send, 'school', m.school, 'nhs_number', m.nhs_number, \
         'nhs_number_missing', m.nhs_number_missing"
    };
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestRow,
    pub members: Vec<MemberRow>,
}

macro_rules! request_columns {
    () => {
        "id, locality_slug, address, postcode, reasons, need_level, summary, consent_given_by, \
         consent_method, consent_date, requester, contact, self_referral, status, outcome, \
         triage_note, family_id, created_micros"
    };
}

async fn request_members(tx: &mut Tx, id: Uuid) -> Result<Vec<MemberRow>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            member_columns!(),
            " FROM request_members WHERE request_id = $1 ORDER BY position"
        ))
        .bind(id)
        .fetch_all(c)
        .await?
    }))
}

/// How many requests wait for triage in `locality`.
pub async fn waiting(authorised: &mut Authorised, locality: &str) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM support_requests WHERE locality_slug = $1 AND status = 'new'",
        )
        .bind(locality)
        .fetch_one(c)
        .await?
    }))
}

/// The triage queue's order: complex requests first, then oldest. Migration 0045 indexes this
/// very expression; change both together.
macro_rules! queue_order {
    () => {
        "CASE WHEN need_level = 'complex' THEN 0 ELSE 1 END, created_micros, id"
    };
}

/// A page of the triage queue, each request with its family members as a JSON array.
macro_rules! queue_sql {
    () => {
        concat!(
            "SELECT ",
            request_columns!(),
            ", (SELECT COALESCE(json_group_array(json_object(",
            member_json_fields!(),
            ") ORDER BY m.position), '[]') FROM request_members m \
             WHERE m.request_id = support_requests.id) AS members \
             FROM support_requests WHERE locality_slug = $1 AND status = 'new' \
             ORDER BY ",
            queue_order!(),
            " LIMIT $2 OFFSET $3"
        )
    };
}

/// `limit` requests waiting for triage in `locality`, complex ones first and then oldest
/// first, after the first `skip`, each with its family members (one statement, however long
/// the page). On SQLite the page comes packed in one JSON row: sqlx hands SQLite's rows across
/// a thread one at a time, which for 50 requests cost more than reading them.
pub async fn queue(
    authorised: &mut Authorised,
    locality: &str,
    limit: i64,
    skip: i64,
) -> Result<Vec<RequestDetail>, StorageError> {
    const SQLITE: &str = concat!(
        "SELECT json_group_array(json_object('id', hex(id), 'locality_slug', locality_slug, \
         'address', address, 'postcode', postcode, 'reasons', reasons, 'need_level', need_level, \
         'summary', summary, 'consent_given_by', consent_given_by, 'consent_method', \
         consent_method, 'consent_date', consent_date, 'requester', requester, 'contact', \
         contact, 'self_referral', self_referral, 'status', status, 'outcome', outcome, \
         'triage_note', triage_note, 'family_id', nullif(hex(family_id), ''), 'created_micros', \
         created_micros, 'members', json(members)) ORDER BY ",
        queue_order!(),
        ") FROM (",
        queue_sql!(),
        ")"
    );
    static POSTGRES: LazyLock<String> = LazyLock::new(|| json_rows::postgres(queue_sql!()));
    let tx = &mut authorised.tx;
    Ok(match tx {
        Tx::Sqlite(t, _) => {
            let packed: String = sqlx::query_scalar(SQLITE)
                .bind(locality)
                .bind(limit)
                .bind(skip)
                .fetch_one(&mut **t)
                .await?;
            serde_json::from_str(&packed)
                .map_err(|e| StorageError::Sql(sqlx::Error::Decode(e.into())))?
        }
        Tx::Postgres(t) => {
            let rows: Vec<QueueRow> = sqlx::query_as(POSTGRES.as_str())
                .bind(locality)
                .bind(limit)
                .bind(skip)
                .fetch_all(&mut **t)
                .await?;
            rows.into_iter()
                .map(|r| RequestDetail {
                    request: r.request,
                    members: r.members.0,
                })
                .collect()
        }
    })
}

#[derive(sqlx::FromRow)]
struct QueueRow {
    #[sqlx(flatten)]
    request: RequestRow,
    members: Json<Vec<MemberRow>>,
}

/// A request's member, read beside the request it belongs to.
#[derive(sqlx::FromRow)]
struct RequestMember {
    request_id: Uuid,
    #[sqlx(flatten)]
    member: MemberRow,
}

/// Each request with its members.
fn with_members(rows: Vec<RequestRow>, members: Vec<RequestMember>) -> Vec<RequestDetail> {
    let mut by_request: std::collections::HashMap<Uuid, Vec<MemberRow>> = Default::default();
    for m in members {
        by_request.entry(m.request_id).or_default().push(m.member);
    }
    rows.into_iter()
        .map(|request| RequestDetail {
            members: by_request.remove(&request.id).unwrap_or_default(),
            request,
        })
        .collect()
}

/// The requests the permit's person sent, newest first, a page at a time, and how many in all.
pub async fn sent_by(
    authorised: &mut Authorised,
    user: Uuid,
    limit: i64,
    skip: i64,
) -> Result<(Vec<RequestDetail>, i64), StorageError> {
    let requests_sql = concat!(
        "SELECT ",
        request_columns!(),
        " FROM support_requests WHERE requested_by = $1 \
         ORDER BY created_micros DESC, id LIMIT $2 OFFSET $3"
    );
    let members_sql = concat!(
        "SELECT request_id, ",
        member_columns!(),
        " FROM request_members WHERE request_id IN (SELECT id FROM support_requests \
         WHERE requested_by = $1 ORDER BY created_micros DESC, id LIMIT $2 OFFSET $3) \
         ORDER BY request_id, position"
    );
    let tx = &mut authorised.tx;
    let (rows, members, total): (Vec<RequestRow>, Vec<RequestMember>, i64) = on_tx!(tx, c => {
        let rows = sqlx::query_as(requests_sql)
            .bind(user)
            .bind(limit)
            .bind(skip)
            .fetch_all(&mut *c)
            .await?;
        let members = sqlx::query_as(members_sql)
            .bind(user)
            .bind(limit)
            .bind(skip)
            .fetch_all(&mut *c)
            .await?;
        let total = sqlx::query_scalar("SELECT COUNT(*) FROM support_requests WHERE requested_by = $1")
            .bind(user)
            .fetch_one(&mut *c)
            .await?;
        (rows, members, total)
    });
    Ok((with_members(rows, members), total))
}

/// The request the permit names.
pub async fn request(
    authorised: &mut Authorised<RequestId>,
) -> Result<Option<RequestDetail>, StorageError> {
    request_in(&mut authorised.tx, authorised.permit.record().0).await
}

/// Request `id`, for storage's own use under a permit that covers it.
pub(crate) async fn request_in(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<RequestDetail>, StorageError> {
    let sql = concat!(
        "SELECT ",
        request_columns!(),
        " FROM support_requests WHERE id = $1"
    );
    let row: Option<RequestRow> =
        on_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await?);
    match row {
        Some(request) => {
            let members = request_members(tx, id).await?;
            Ok(Some(RequestDetail { request, members }))
        }
        None => Ok(None),
    }
}

/// A family we may already know, shown to the triager before a new family is created.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyMatch {
    pub family_id: Uuid,
    pub locality_slug: String,
    pub state: String,
    /// Who matched: "Amira Hassan (2016-05-02)".
    pub matched: Vec<String>,
}

/// Existing families with a member who is likely one of the request's members (name, date of
/// birth, postcode): the duplicate check shown to the triager, and the only families triage may
/// attach the request to.
pub async fn likely_families(
    authorised: &mut Authorised<RequestId>,
) -> Result<Vec<FamilyMatch>, StorageError> {
    type Row = (Uuid, String, String, String, String, String, String, String);
    let detail = request(authorised).await?.ok_or(StorageError::NotFound)?;
    let (members, postcode) = (&detail.members, &detail.request.postcode);
    let tx = &mut authorised.tx;
    let mut found: Vec<FamilyMatch> = Vec::new();
    for member in members {
        let Some(date_of_birth) = parse_date(&member.date_of_birth) else {
            continue;
        };
        let wanted = PersonKey {
            given_name: member.given_name.clone(),
            family_name: member.family_name.clone(),
            date_of_birth,
            postcode: postcode.to_string(),
            nhs_number: member.nhs_number.clone(),
        };
        let rows: Vec<Row> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT f.id, f.locality_slug, f.state, f.postcode, m.given_name, m.family_name, \
                 m.date_of_birth, m.nhs_number FROM family_members m \
                 JOIN families f ON f.id = m.family_id \
                 WHERE m.date_of_birth = $1 OR ($2 <> '' AND m.nhs_number = $2)",
            )
            .bind(&member.date_of_birth)
            .bind(&member.nhs_number)
            .fetch_all(c)
            .await?
        });
        for (family_id, locality_slug, state, family_postcode, given, family, dob, nhs) in rows {
            let candidate = PersonKey {
                given_name: given.clone(),
                family_name: family.clone(),
                date_of_birth: parse_date(&dob).unwrap_or(date_of_birth),
                postcode: family_postcode,
                nhs_number: nhs,
            };
            if !likely_same_person(&wanted, &candidate) {
                continue;
            }
            let who = format!("{given} {family} ({dob})");
            match found.iter_mut().find(|f| f.family_id == family_id) {
                Some(existing) => existing.matched.push(who),
                None => found.push(FamilyMatch {
                    family_id,
                    locality_slug,
                    state,
                    matched: vec![who],
                }),
            }
        }
    }
    Ok(found)
}

/// What the triager decided.
#[derive(Debug, Clone)]
pub struct TriageDecision {
    pub outcome: TriageOutcome,
    /// For locality early help: the lead practitioner.
    pub lead_practitioner: Option<Uuid>,
    /// For a transfer: the locality it goes to.
    pub transfer_to: Option<String>,
    pub note: String,
}

/// Records triage of the permitted request by `triager`; for locality early help creates the
/// family case, or attaches the request to `existing` (a family the duplicate check offered for
/// this request, in its locality, under its own permit), and returns it. A transfer leaves the
/// request waiting in its new locality.
pub async fn triage(
    authorised: &mut Authorised<RequestId>,
    existing: Option<&Permit<FamilyId>>,
    decision: &TriageDecision,
    triager: &Actor,
    triager_name: &str,
    triager_organisation: &str,
) -> Result<Option<Uuid>, StorageError> {
    let id = authorised.permit.for_change()?.0;
    let detail = request(authorised).await?.ok_or(StorageError::NotFound)?;
    if let Some(existing) = existing {
        check_offered(authorised, &detail, existing.for_change()?.0).await?;
    }
    if detail.request.status != "new" {
        return Err(StorageError::Conflict(
            "This request has already been triaged".into(),
        ));
    }
    let now = now_micros();
    let tx = &mut authorised.tx;
    if decision.outcome == TriageOutcome::Transfer {
        let to = decision
            .transfer_to
            .as_deref()
            .ok_or_else(|| StorageError::Conflict("Choose the locality to transfer to".into()))?;
        let note = format!(
            "{}Transferred from {} by {triager_name}: {}",
            if detail.request.triage_note.is_empty() {
                String::new()
            } else {
                format!("{}\n", detail.request.triage_note)
            },
            detail.request.locality_slug,
            decision.note
        );
        on_tx!(tx, c => {
            sqlx::query("UPDATE support_requests SET locality_slug = $1, triage_note = $2 WHERE id = $3")
                .bind(to)
                .bind(&note)
                .bind(id)
                .execute(c)
                .await?;
        });
        return Ok(None);
    }
    let mut family_id = None;
    if decision.outcome.opens_family() {
        // Early help needs its lead; a family opened for community support is held by the
        // locality team (its lead) while connections are made.
        let lead = match decision.outcome {
            TriageOutcome::EarlyHelp => Some(decision.lead_practitioner.ok_or_else(|| {
                StorageError::Conflict("Choose the lead practitioner for the family".into())
            })?),
            _ => None,
        };
        let review = earlyhelp_domain::cases::iso(earlyhelp_domain::cases::next_review(
            today(),
            earlyhelp_domain::cases::DEFAULT_REVIEW_WEEKS,
        ));
        let r = &detail.request;
        let fid = match existing.map(|permit| permit.family_id()) {
            Some(existing) => {
                // An open case keeps its lead; a closed one reopens with the lead chosen now.
                on_tx!(tx, c => {
                    sqlx::query(
                        "UPDATE families SET lead_practitioner = $1, state = 'open', closure_reason = NULL, \
                         review_date = $2, updated_micros = $3 WHERE id = $4 AND state = 'closed'",
                    )
                    .bind(lead)
                    .bind(&review)
                    .bind(now)
                    .bind(existing)
                    .execute(c)
                    .await?;
                });
                fill_nhs_numbers(tx, existing, &detail.members).await?;
                existing
            }
            None => insert_family_from_request(tx, &detail, lead, &review, now).await?,
        };
        let (scope, purpose, triaged_for) = match decision.outcome {
            TriageOutcome::EarlyHelp => (
                "Sharing with the team around the family for early help",
                "triage: allocate for locality early help",
                "locality early help",
            ),
            _ => (
                "Sharing with the community services the family is connected to",
                "triage: connect to community support",
                "connection to community support",
            ),
        };
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO consents (id, family_id, given_by, method, given_on, scope, recorded_micros) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(fid)
            .bind(&r.consent_given_by)
            .bind(&r.consent_method)
            .bind(&r.consent_date)
            .bind(scope)
            .bind(now)
            .execute(c)
            .await?;
        });
        let subject = format!("family:{fid}");
        append(
            tx,
            &NewEvent {
                actor: &triager.email,
                actor_organisation: triager_organisation,
                actor_role: "locality_lead",
                subject: &subject,
                action: "create",
                purpose,
                outcome: "allowed",
                remote_addr: "",
            },
        )
        .await?;
        // The referrer's own words join the chronology, so the lead reads what they wrote.
        insert_note(
            tx,
            fid,
            triager_name,
            "event",
            &format!(
                "Request for support triaged for {triaged_for} by {triager_name}. {}\n{}",
                decision.note,
                referrers_words(r)
            ),
        )
        .await?;
        family_id = Some(fid);
    }
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE support_requests SET status = 'triaged', outcome = $1, triage_note = $2, \
             triaged_by = $3, triaged_micros = $4, family_id = $5 WHERE id = $6",
        )
        .bind(decision.outcome.slug())
        .bind(&decision.note)
        .bind(triager.user_id)
        .bind(now)
        .bind(family_id)
        .bind(id)
        .execute(c)
        .await?;
    });
    Ok(family_id)
}

/// What the referrer wrote, for the chronology: who and how to reach them, the reasons and
/// their summary in their own words.
fn referrers_words(r: &RequestRow) -> String {
    let reasons = r
        .reasons
        .split(',')
        .filter_map(Reason::from_slug)
        .map(Reason::label)
        .collect::<Vec<_>>()
        .join(", ");
    let contact = if r.contact.is_empty() {
        String::new()
    } else {
        format!(", {}", r.contact)
    };
    format!(
        "Referred by {}{contact}. Reasons: {reasons}. In their words: {}",
        r.requester, r.summary
    )
}

/// A new open family from the request's address, need and members.
async fn insert_family_from_request(
    tx: &mut Tx,
    detail: &RequestDetail,
    lead: Option<Uuid>,
    review: &str,
    now: i64,
) -> Result<Uuid, StorageError> {
    let r = &detail.request;
    let fid = Uuid::now_v7();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO families (id, locality_slug, address, postcode, need_level, state, \
             lead_practitioner, review_date, consent_withdrawn, created_micros, updated_micros) \
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, FALSE, $8, $8)",
        )
        .bind(fid)
        .bind(&r.locality_slug)
        .bind(&r.address)
        .bind(&r.postcode)
        .bind(&r.need_level)
        .bind(lead)
        .bind(review)
        .bind(now)
        .execute(&mut *c)
        .await?;
        for m in &detail.members {
            sqlx::query(
                concat!(
                    "INSERT INTO family_members (id, family_id, ",
                    member_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ),
            )
            .bind(Uuid::now_v7())
            .bind(fid)
            .bind(&m.given_name)
            .bind(&m.family_name)
            .bind(&m.date_of_birth)
            .bind(&m.relationship)
            .bind(&m.ethnicity)
            .bind(&m.languages)
            .bind(&m.send)
            .bind(&m.school)
            .bind(&m.nhs_number)
            .bind(&m.nhs_number_missing)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(fid)
}

/// Gives the family's members the NHS numbers a request joining it carries for them (the
/// same names and date of birth), where they have none and no other member holds that number.
async fn fill_nhs_numbers(
    tx: &mut Tx,
    family_id: Uuid,
    members: &[MemberRow],
) -> Result<(), StorageError> {
    for m in members.iter().filter(|m| !m.nhs_number.is_empty()) {
        on_tx!(tx, c => {
            sqlx::query(
                "UPDATE family_members SET nhs_number = $1, nhs_number_missing = '' \
                 WHERE family_id = $2 AND nhs_number = '' AND date_of_birth = $3 \
                 AND lower(given_name) = lower($4) AND lower(family_name) = lower($5) \
                 AND NOT EXISTS (SELECT 1 FROM family_members o WHERE o.family_id = $2 \
                 AND o.nhs_number = $1)",
            )
            .bind(&m.nhs_number)
            .bind(family_id)
            .bind(&m.date_of_birth)
            .bind(&m.given_name)
            .bind(&m.family_name)
            .execute(c)
            .await?;
        });
    }
    Ok(())
}

/// Refuses a family the duplicate check did not offer for this request, or one in another
/// locality (that request is transferred, or its triager asks to join), with words to act on.
async fn check_offered(
    authorised: &mut Authorised<RequestId>,
    detail: &RequestDetail,
    family_id: Uuid,
) -> Result<(), StorageError> {
    let offered = likely_families(authorised).await?;
    match offered.iter().find(|m| m.family_id == family_id) {
        None => Err(StorageError::Conflict(
            "Choose a family from the list of families we may already know, or a new family".into(),
        )),
        Some(m) if m.locality_slug != detail.request.locality_slug => Err(StorageError::Conflict(
            "That family is known in another locality: transfer the request there, or ask to join \
             the team around the family"
                .into(),
        )),
        Some(_) => Ok(()),
    }
}

pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

// ---------------------------------------------------------------------------------------------
// Family cases

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FamilyRow {
    pub id: Uuid,
    pub locality_slug: String,
    pub locality_name: String,
    pub address: String,
    pub postcode: String,
    pub need_level: String,
    pub state: String,
    pub lead_practitioner: Option<Uuid>,
    pub lead_name: Option<String>,
    pub lead_email: Option<String>,
    pub lead_organisation: Option<String>,
    pub review_date: Option<String>,
    pub closure_reason: Option<String>,
    pub consent_withdrawn: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Person {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub organisation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Note {
    pub id: Uuid,
    pub author: String,
    /// `note` (written by a person) or `event` (something that happened to the case).
    pub kind: String,
    pub body: String,
    pub at_micros: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct PlanAction {
    pub id: Uuid,
    pub goal: String,
    pub action: String,
    pub owner: String,
    pub due_date: String,
    #[serde(deserialize_with = "json_rows::flag")]
    pub done: bool,
    /// How it ended, if the case closed while it was open (an `ActionEnding` slug).
    pub ending: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Reading {
    #[sqlx(default)]
    pub measure_id: Uuid,
    /// The measure's name.
    #[sqlx(default)]
    pub measure: String,
    pub taken_on: String,
    pub area: String,
    pub score: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Consent {
    pub id: Uuid,
    /// The family member whose consent this is; `None` for consent recorded for the family as a
    /// whole (as triage records it).
    #[serde(deserialize_with = "json_rows::optional_id")]
    pub member_id: Option<Uuid>,
    pub member_name: Option<String>,
    pub given_by: String,
    pub method: String,
    pub given_on: String,
    pub scope: String,
    pub withdrawn_on: Option<String>,
    /// Who withdrew it (the member, or someone on their behalf) and why.
    pub withdrawn_by: Option<String>,
    pub withdrawn_reason: Option<String>,
}

impl Consent {
    /// Whose consent this is, in words.
    pub fn whose(&self) -> String {
        match &self.member_name {
            Some(name) => format!("{name}'s consent"),
            None => format!("the family's consent, given by {}", self.given_by),
        }
    }
}

/// Everything on a family's case page.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyRecord {
    #[serde(flatten)]
    pub family: FamilyRow,
    pub members: Vec<MemberRow>,
    pub team: Vec<Person>,
    pub notes: Vec<Note>,
    pub actions: Vec<PlanAction>,
    pub readings: Vec<Reading>,
    pub consents: Vec<Consent>,
    /// The needs the case is working on: from the latest finalised assessment, else from the
    /// request that opened it (reason slugs).
    pub needs: Vec<String>,
    /// How far each need was met at the latest closure: (need slug, outcome slug).
    pub closure_outcomes: Vec<(String, String)>,
    pub assessments: Vec<crate::sharing::Assessment>,
    pub shares: Vec<crate::sharing::ShareRow>,
    pub break_glass: Vec<crate::sharing::BreakGlassRow>,
}

pub async fn family(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Option<FamilyRecord>, StorageError> {
    static POSTGRES: LazyLock<String> = LazyLock::new(|| json_rows::postgres(FAMILY_SQL));
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let page: Option<RecordRow> = match tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(FAMILY_SQL)
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
        Tx::Postgres(t) => {
            sqlx::query_as(POSTGRES.as_str())
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }
    };
    Ok(page.map(FamilyRecord::from))
}

/// The case page's record in one statement (see [`json_rows`]): the family's row, then each of
/// its lists as a JSON array in the order the page shows it.
#[derive(sqlx::FromRow)]
pub(crate) struct RecordRow {
    #[sqlx(flatten)]
    family: FamilyRow,
    members: Json<Vec<MemberRow>>,
    team: Json<Vec<Person>>,
    notes: Json<Vec<Note>>,
    actions: Json<Vec<PlanAction>>,
    readings: Json<Vec<Reading>>,
    consents: Json<Vec<Consent>>,
    needs: Option<String>,
    closure_outcomes: Json<Vec<(String, String)>>,
    assessments: Json<Vec<crate::sharing::Assessment>>,
    shares: Json<Vec<crate::sharing::ShareRow>>,
    break_glass: Json<Vec<crate::sharing::BreakGlassRow>>,
}

impl From<RecordRow> for FamilyRecord {
    fn from(p: RecordRow) -> FamilyRecord {
        FamilyRecord {
            family: p.family,
            members: p.members.0,
            team: p.team.0,
            notes: p.notes.0,
            actions: p.actions.0,
            readings: p.readings.0,
            consents: p.consents.0,
            needs: p.needs.as_deref().map(split_slugs).unwrap_or_default(),
            closure_outcomes: p.closure_outcomes.0,
            assessments: p.assessments.0,
            shares: p.shares.0,
            break_glass: p.break_glass.0,
        }
    }
}

/// The columns of the case page's record ([`family`]): the needs are those of the latest
/// finalised assessment, else the reasons on the request that opened the case ([`case_needs`]);
/// the notes are the newest 200.
macro_rules! family_columns {
    () => {
        concat!(
            "SELECT f.id, f.locality_slug, l.name AS locality_name, f.address, \
            f.postcode, f.need_level, f.state, f.lead_practitioner, u.name AS lead_name, \
            u.email AS lead_email, o.name AS lead_organisation, f.review_date, f.closure_reason, \
            f.consent_withdrawn, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(m.id), ",
            $crate::cases::member_json_fields!(),
            ") ORDER BY m.date_of_birth), '[]') \
            FROM family_members m WHERE m.family_id = f.id) AS members, \
            (SELECT COALESCE(json_group_array(json_object('user_id', hex(tu.id), 'name', tu.name, \
            'email', tu.email, 'organisation', tor.name) ORDER BY t.added_micros), '[]') \
            FROM family_team t JOIN users tu ON tu.id = t.user_id \
            JOIN organisations tor ON tor.id = tu.organisation_id WHERE t.family_id = f.id) AS team, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(n.id), 'author', n.author, 'kind', \
            n.kind, 'body', n.body, 'at_micros', n.at_micros) ORDER BY n.at_micros DESC, n.id DESC), '[]') \
            FROM (SELECT id, author, kind, body, at_micros FROM family_notes WHERE family_id = f.id \
            ORDER BY at_micros DESC, id DESC LIMIT 200) n) AS notes, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(p.id), 'goal', p.goal, 'action', \
            p.action, 'owner', p.owner, 'due_date', p.due_date, 'done', \
            CASE WHEN p.done THEN 1 ELSE 0 END, 'ending', p.ending) \
            ORDER BY p.due_date, p.created_micros), '[]') \
            FROM plan_actions p WHERE p.family_id = f.id) AS actions, \
            (SELECT COALESCE(json_group_array(json_object('measure_id', hex(r.measure_id), 'measure', \
            ms.name, 'taken_on', r.taken_on, 'area', r.area, 'score', r.score) \
            ORDER BY r.taken_on, a.position, r.area), '[]') \
            FROM readings r JOIN measures ms ON ms.id = r.measure_id \
            LEFT JOIN measure_areas a ON a.measure_id = r.measure_id AND a.name = r.area \
            WHERE r.family_id = f.id) AS readings, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(c.id), 'member_id', \
            nullif(hex(c.member_id), ''), 'member_name', cm.given_name || ' ' || cm.family_name, \
            'given_by', c.given_by, 'method', c.method, 'given_on', c.given_on, 'scope', c.scope, \
            'withdrawn_on', c.withdrawn_on, 'withdrawn_by', c.withdrawn_by, 'withdrawn_reason', \
            c.withdrawn_reason) ORDER BY c.recorded_micros), '[]') \
            FROM consents c LEFT JOIN family_members cm ON cm.id = c.member_id \
            WHERE c.family_id = f.id) AS consents, \
            COALESCE((SELECT needs FROM assessments WHERE family_id = f.id AND status = 'final' \
            ORDER BY finalised_micros DESC LIMIT 1), \
            (SELECT reasons FROM support_requests WHERE family_id = f.id \
            ORDER BY created_micros LIMIT 1)) AS needs, \
            (SELECT COALESCE(json_group_array(json_array(co.need, co.outcome) ORDER BY co.need), '[]') \
            FROM closure_outcomes co WHERE co.family_id = f.id AND co.closed_micros = \
            (SELECT MAX(closed_micros) FROM closure_outcomes WHERE family_id = f.id)) \
            AS closure_outcomes, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(s.id), 'status', s.status, \
            'family_story', s.family_story, 'child_voice', s.child_voice, 'strengths', s.strengths, \
            'worries', s.worries, 'needs', s.needs, 'analysis', s.analysis, 'started_by', \
            s.started_by, 'started_micros', s.started_micros, 'updated_micros', s.updated_micros, \
            'finalised_by', s.finalised_by, 'finalised_micros', s.finalised_micros) \
            ORDER BY s.started_micros DESC), '[]') \
            FROM assessments s WHERE s.family_id = f.id) AS assessments, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(b.id), 'shared_with_user', \
            nullif(hex(b.shared_with_user), ''), 'shared_with', b.shared_with, 'purpose', b.purpose, \
            'article6', b.article6, 'article9', b.article9, 'recorded_by', b.recorded_by, \
            'recorded_micros', b.recorded_micros, 'ended_micros', b.ended_micros, 'consent_id', \
            nullif(hex(b.consent_id), ''), 'ended_reason', b.ended_reason) \
            ORDER BY b.recorded_micros), '[]') \
            FROM lawful_bases b WHERE b.family_id = f.id) AS shares, \
            (SELECT COALESCE(json_group_array(json_object('id', hex(g.id), 'family_id', hex(g.family_id), \
            'user_id', hex(g.user_id), 'user_name', g.user_name, 'reason', g.reason, \
            'granted_micros', g.granted_micros, 'expires_micros', g.expires_micros, 'reviewed_by', \
            g.reviewed_by, 'reviewed_micros', g.reviewed_micros, 'review_note', g.review_note, \
            'review_verdict', g.review_verdict) ORDER BY g.granted_micros DESC), '[]') \
            FROM break_glass g WHERE g.family_id = f.id) AS break_glass"
        )
    };
}

/// The record's tables, for [`family_columns`]: the family whose id is `$1`.
macro_rules! family_tables {
    () => {
        " FROM families f JOIN localities l ON l.slug = f.locality_slug \
         LEFT JOIN users u ON u.id = f.lead_practitioner \
         LEFT JOIN organisations o ON o.id = u.organisation_id WHERE f.id = $1"
    };
}

pub(crate) use {family_columns, family_tables, member_json_fields};

const FAMILY_SQL: &str = concat!(family_columns!(), family_tables!());

fn split_slugs(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The needs the case works on (reason slugs): those of its latest finalised assessment, or
/// else the reasons on the request that opened it.
pub async fn case_needs(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<String>, StorageError> {
    let family_id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let needs: Option<String> = on_tx!(tx, c => {
        let assessed: Option<String> = sqlx::query_scalar(
            "SELECT needs FROM assessments WHERE family_id = $1 AND status = 'final' \
             ORDER BY finalised_micros DESC LIMIT 1",
        )
        .bind(family_id)
        .fetch_optional(&mut *c)
        .await?;
        match assessed {
            Some(needs) => Some(needs),
            None => sqlx::query_scalar(
                "SELECT reasons FROM support_requests WHERE family_id = $1 ORDER BY created_micros LIMIT 1",
            )
            .bind(family_id)
            .fetch_optional(&mut *c)
            .await?,
        }
    });
    Ok(needs.as_deref().map(split_slugs).unwrap_or_default())
}

/// Records how far each need was met, with the closure that is happening in this transaction;
/// refuses if a need of the case has no outcome.
pub async fn record_closure_outcomes(
    authorised: &mut Authorised<FamilyId>,
    outcomes: &[(Reason, NeedOutcome)],
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let unanswered: Vec<&str> = case_needs(authorised)
        .await?
        .iter()
        .filter(|need| !outcomes.iter().any(|(r, _)| r.slug() == need.as_str()))
        .filter_map(|need| Reason::from_slug(need).map(Reason::label))
        .collect();
    if !unanswered.is_empty() {
        return Err(StorageError::Conflict(format!(
            "Say how far each need was met: {}",
            unanswered.join("; ").to_lowercase()
        )));
    }
    let closed = now_micros();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        for (need, outcome) in outcomes {
            sqlx::query(
                "INSERT INTO closure_outcomes (family_id, closed_micros, need, outcome) VALUES ($1, $2, $3, $4)",
            )
            .bind(family_id)
            .bind(closed)
            .bind(need.slug())
            .bind(outcome.slug())
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// The "known to" view for a partner who is not involved: that the family is known, to which
/// locality team, and whom to call to ask to join; never a member's name, age, school or
/// address. After the family withdraws consent, only the locality team's contact.
#[derive(Debug, Clone, Serialize)]
pub struct KnownTo {
    pub family_id: Uuid,
    pub locality_name: String,
    pub open: bool,
    pub consent_withdrawn: bool,
    pub contacts: Vec<Contact>,
}

/// A professional to contact about a family: never a family member.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub organisation: String,
    pub name: String,
    pub email: String,
    /// "Lead practitioner" or "Locality team".
    pub role: String,
}

pub async fn known_to(
    authorised: &mut Authorised<KnownToFamily>,
) -> Result<Option<KnownTo>, StorageError> {
    let id = authorised.permit.record().0;
    type Head = (String, String, bool);
    let tx = &mut authorised.tx;
    let head: Option<Head> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT l.name, f.state, f.consent_withdrawn FROM families f \
             JOIN localities l ON l.slug = f.locality_slug WHERE f.id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    });
    let Some((locality_name, state, consent_withdrawn)) = head else {
        return Ok(None);
    };
    let contacts: Vec<Contact> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT o.name AS organisation, u.name, u.email, 'Lead practitioner' AS role FROM families f \
             JOIN users u ON u.id = f.lead_practitioner JOIN organisations o ON o.id = u.organisation_id \
             WHERE f.id = $1 AND NOT f.consent_withdrawn \
             UNION ALL \
             SELECT o.name, u.name, u.email, 'Locality team' FROM families f \
             JOIN user_localities ul ON ul.locality_slug = f.locality_slug \
             JOIN user_roles r ON r.user_id = ul.user_id AND r.role = 'locality_lead' \
             JOIN users u ON u.id = ul.user_id AND u.active \
             JOIN organisations o ON o.id = u.organisation_id WHERE f.id = $1",
        )
        .bind(id)
        .fetch_all(c)
        .await?
    });
    Ok(Some(KnownTo {
        family_id: id,
        locality_name,
        open: state != "closed",
        consent_withdrawn,
        contacts,
    }))
}

pub(crate) async fn insert_note(
    tx: &mut Tx,
    family_id: Uuid,
    author: &str,
    kind: &str,
    body: &str,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO family_notes (id, family_id, author, kind, body, at_micros) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(family_id)
        .bind(author)
        .bind(kind)
        .bind(body)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Adds a note to the family's chronology.
pub async fn add_note(
    authorised: &mut Authorised<FamilyId>,
    author: &str,
    body: &str,
) -> Result<Uuid, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    insert_note(&mut authorised.tx, family_id, author, "note", body).await
}

pub async fn add_team_member(
    authorised: &mut Authorised<FamilyId>,
    member: &Person,
    added_by: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO family_team (family_id, user_id, added_micros) VALUES ($1, $2, $3) \
             ON CONFLICT (family_id, user_id) DO NOTHING",
        )
        .bind(family_id)
        .bind(member.user_id)
        .bind(now_micros())
        .execute(c)
        .await?
        .rows_affected()
    });
    // Someone whose every share ended (their consent was withdrawn) may join again on a new share.
    let rejoins = done == 0
        && {
            let live: bool = on_tx!(tx, c => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM lawful_bases WHERE family_id = $1 AND shared_with_user = $2 \
                     AND ended_micros IS NULL)",
                )
                .bind(family_id)
                .bind(member.user_id)
                .fetch_one(c)
                .await?
            });
            if live {
                return Err(StorageError::Conflict(format!(
                    "{} is already in the team around the family",
                    member.name
                )));
            }
            true
        };
    let body = format!(
        "{} ({}) {} the team around the family",
        member.name,
        member.organisation,
        if rejoins { "joined again" } else { "joined" }
    );
    insert_note(tx, family_id, added_by, "event", &body).await?;
    Ok(())
}

/// Makes `lead` the lead practitioner of an open case, noting it in the chronology.
pub async fn allocate(
    authorised: &mut Authorised<crate::gate::FamilyAllocation>,
    lead: &Person,
    allocated_by: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let changed = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE families SET lead_practitioner = $1, updated_micros = $2 \
             WHERE id = $3 AND state = 'open'",
        )
        .bind(lead.user_id)
        .bind(now_micros())
        .bind(family_id)
        .execute(c)
        .await?
        .rows_affected()
    });
    if changed == 0 {
        return Err(StorageError::Conflict(
            "Only an open case is allocated: reopen it first".into(),
        ));
    }
    let body = format!(
        "{} ({}) is the lead practitioner",
        lead.name, lead.organisation
    );
    insert_note(tx, family_id, allocated_by, "event", &body).await?;
    Ok(())
}

pub async fn add_action(
    authorised: &mut Authorised<FamilyId>,
    goal: &str,
    action: &str,
    owner: &str,
    due: Date,
) -> Result<Uuid, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO plan_actions (id, family_id, goal, action, owner, due_date, done, created_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)",
        )
        .bind(id)
        .bind(family_id)
        .bind(goal)
        .bind(action)
        .bind(owner)
        .bind(earlyhelp_domain::cases::iso(due))
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Records the plan's review: the next review date, and a chronology event.
pub async fn set_review(
    authorised: &mut Authorised<FamilyId>,
    next: Date,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let next = earlyhelp_domain::cases::iso(next);
    on_tx!(tx, c => {
        sqlx::query("UPDATE families SET review_date = $1, updated_micros = $2 WHERE id = $3")
            .bind(&next)
            .bind(now_micros())
            .bind(family_id)
            .execute(c)
            .await?;
    });
    insert_note(
        tx,
        family_id,
        author,
        "event",
        &format!("Plan reviewed; next review by {next}"),
    )
    .await?;
    Ok(())
}

/// Records one reading on `measure_id`: a score for each area, on `taken_on` (a second
/// reading that day replaces the scores it repeats).
pub async fn record_reading(
    tx: &mut Tx,
    family: &Permit<FamilyId>,
    measure_id: Uuid,
    taken_on: Date,
    scores: &[(String, i64)],
    recorded_by: &str,
) -> Result<(), StorageError> {
    let family_id = family.for_change()?.0;
    let taken = earlyhelp_domain::cases::iso(taken_on);
    let measure: String = on_tx!(tx, c => {
        for (area, score) in scores {
            sqlx::query(
                "INSERT INTO readings (family_id, measure_id, taken_on, area, score, recorded_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (family_id, measure_id, taken_on, area) \
                 DO UPDATE SET score = excluded.score, recorded_by = excluded.recorded_by",
            )
            .bind(family_id)
            .bind(measure_id)
            .bind(&taken)
            .bind(area)
            .bind(*score)
            .bind(recorded_by)
            .execute(&mut *c)
            .await?;
        }
        sqlx::query_scalar("SELECT name FROM measures WHERE id = $1")
            .bind(measure_id)
            .fetch_one(&mut *c)
            .await?
    });
    insert_note(
        tx,
        family_id,
        recorded_by,
        "event",
        &format!("Outcome reading recorded for {taken} ({measure})"),
    )
    .await?;
    Ok(())
}

/// Moves the case on (step up, step down, close, reopen) if its state allows.
pub async fn transition(
    authorised: &mut Authorised<FamilyId>,
    event: CaseEvent,
    why: &str,
    author: &str,
) -> Result<CaseState, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let state: Option<String> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT state FROM families WHERE id = $1")
            .bind(family_id)
            .fetch_optional(c)
            .await?
    });
    let state = state
        .and_then(|s| CaseState::from_slug(&s))
        .ok_or(StorageError::NotFound)?;
    let next = next_state(state, event).map_err(|e| StorageError::Conflict(e.to_string()))?;
    let reason = match event {
        CaseEvent::Close(reason) => Some(reason.slug()),
        _ => None,
    };
    let now = now_micros();
    let closed_micros = (next == CaseState::Closed).then_some(now);
    on_tx!(tx, c => {
        sqlx::query(
            // A closed case has no lead child protection practitioner.
            "UPDATE families SET state = $1, closure_reason = $2, updated_micros = $3, \
             closed_micros = $4, lead_cp_practitioner = CASE WHEN $4 IS NULL \
             THEN lead_cp_practitioner END WHERE id = $5",
        )
        .bind(next.slug())
        .bind(reason)
        .bind(now)
        .bind(closed_micros)
        .bind(family_id)
        .execute(c)
        .await?;
    });
    let body = format!("{}. Why: {why}", event.describe());
    insert_note(tx, family_id, author, "event", &body).await?;
    Ok(next)
}

pub async fn record_consent(
    authorised: &mut Authorised<FamilyId>,
    member_id: Uuid,
    given_by: &str,
    method: &str,
    given_on: Date,
    scope: &str,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let member: Option<String> = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT given_name || ' ' || family_name FROM family_members WHERE id = $1 AND family_id = $2",
        )
        .bind(member_id)
        .bind(family_id)
        .fetch_optional(c)
        .await?
    });
    let Some(member) = member else {
        return Err(StorageError::Conflict(
            "Choose the family member whose consent this is".into(),
        ));
    };
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO consents (id, family_id, member_id, given_by, method, given_on, scope, \
             recorded_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(member_id)
        .bind(given_by)
        .bind(method)
        .bind(earlyhelp_domain::cases::iso(given_on))
        .bind(scope)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
        sqlx::query("UPDATE families SET consent_withdrawn = FALSE, updated_micros = $1 WHERE id = $2")
            .bind(now_micros())
            .bind(family_id)
            .execute(&mut *c)
            .await?;
    });
    insert_note(
        tx,
        family_id,
        author,
        "event",
        &format!("Consent recorded for {member}: given by {given_by}"),
    )
    .await?;
    Ok(())
}

/// Who withdraws which consents, and why.
pub struct Withdrawal<'a> {
    pub consents: &'a [Uuid],
    /// The person withdrawing: the member themselves, or someone on their behalf.
    pub withdrawn_by: &'a str,
    pub reason: &'a str,
    pub on: Date,
}

/// Withdraws the chosen consents, each separately: the shares that rested on them end (when and
/// why are kept). When no consent remains, every share on consent ends and from then only the
/// lead practitioner, the locality lead and shares on another lawful basis see the case.
pub async fn withdraw_consent(
    authorised: &mut Authorised<FamilyId>,
    withdrawal: &Withdrawal<'_>,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let live: Vec<(Uuid, Option<String>, String)> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT c.id, m.given_name || ' ' || m.family_name, c.given_by FROM consents c \
             LEFT JOIN family_members m ON m.id = c.member_id \
             WHERE c.family_id = $1 AND c.withdrawn_on IS NULL ORDER BY c.recorded_micros",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    });
    let chosen: Vec<&(Uuid, Option<String>, String)> = live
        .iter()
        .filter(|(id, _, _)| withdrawal.consents.contains(id))
        .collect();
    if chosen.is_empty() || chosen.len() != withdrawal.consents.len() {
        return Err(StorageError::Conflict(
            "Choose whose consent is withdrawn, from the consents still in place".into(),
        ));
    }
    let none_left = chosen.len() == live.len();
    let now = now_micros();
    let why = format!(
        "consent withdrawn by {}: {}",
        withdrawal.withdrawn_by, withdrawal.reason
    );
    let mut ended: Vec<String> = on_tx!(tx, c => {
        let mut ended = Vec::new();
        for (id, _, _) in &chosen {
            sqlx::query(
                "UPDATE consents SET withdrawn_on = $1, withdrawn_by = $2, withdrawn_reason = $3, \
                 withdrawn_micros = $4 WHERE id = $5",
            )
            .bind(earlyhelp_domain::cases::iso(withdrawal.on))
            .bind(withdrawal.withdrawn_by)
            .bind(withdrawal.reason)
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
            let names: Vec<String> = sqlx::query_scalar(
                "UPDATE lawful_bases SET ended_micros = $1, ended_reason = $2 WHERE consent_id = $3 \
                 AND ended_micros IS NULL RETURNING shared_with",
            )
            .bind(now)
            .bind(&why)
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            ended.extend(names);
        }
        if none_left {
            let names: Vec<String> = sqlx::query_scalar(
                "UPDATE lawful_bases SET ended_micros = $1, ended_reason = $2 WHERE family_id = $3 \
                 AND article6 = 'consent' AND ended_micros IS NULL RETURNING shared_with",
            )
            .bind(now)
            .bind(&why)
            .bind(family_id)
            .fetch_all(&mut *c)
            .await?;
            ended.extend(names);
            sqlx::query("UPDATE families SET consent_withdrawn = TRUE, updated_micros = $1 WHERE id = $2")
                .bind(now)
                .bind(family_id)
                .execute(&mut *c)
                .await?;
        }
        ended
    });
    ended.sort();
    ended.dedup();
    let whose: Vec<String> = chosen
        .iter()
        .map(|(_, member, given_by)| match member {
            Some(name) => format!("{name}'s consent"),
            None => format!("the family's consent given by {given_by}"),
        })
        .collect();
    let mut body = format!(
        "Consent withdrawn ({}) by {}. Why: {}.",
        whose.join(", "),
        withdrawal.withdrawn_by,
        withdrawal.reason
    );
    if !ended.is_empty() {
        body.push_str(&format!(" Sharing ended with {}.", ended.join("; ")));
    }
    if none_left {
        body.push_str(
            " No consent remains: the team around the family can no longer see the case.",
        );
    }
    insert_note(tx, family_id, author, "event", &body).await?;
    if none_left {
        crate::connections::cancel_on_withdrawn_consent(tx, family_id, author).await?;
    }
    Ok(())
}

/// Rests a share recorded on consent on one consent still in place (a member's own).
pub async fn rest_share_on_consent(
    authorised: &mut Authorised<FamilyId>,
    share_id: Uuid,
    consent_id: Uuid,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE lawful_bases SET consent_id = $1 WHERE id = $2 AND family_id = $3 \
             AND article6 = 'consent' AND EXISTS (SELECT 1 FROM consents WHERE id = $1 \
             AND family_id = $3 AND withdrawn_on IS NULL)",
        )
        .bind(consent_id)
        .bind(share_id)
        .bind(family_id)
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::Conflict(
            "Choose a consent still in place for the share to rest on".into(),
        ));
    }
    Ok(())
}

/// Ends every plan action still open as the case closes, each as the practitioner says it ended;
/// refuses if one is not answered.
pub async fn end_open_actions(
    authorised: &mut Authorised<FamilyId>,
    endings: &[(Uuid, ActionEnding)],
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let open: Vec<(Uuid, String)> = on_tx!(tx, c => {
        sqlx::query_as("SELECT id, action FROM plan_actions WHERE family_id = $1 AND NOT done")
            .bind(family_id)
            .fetch_all(c)
            .await?
    });
    let unanswered: Vec<&str> = open
        .iter()
        .filter(|(id, _)| !endings.iter().any(|(e, _)| e == id))
        .map(|(_, action)| action.as_str())
        .collect();
    if !unanswered.is_empty() {
        return Err(StorageError::Conflict(format!(
            "Say how each open plan action ended: {}",
            unanswered.join("; ")
        )));
    }
    let mut lines = Vec::new();
    on_tx!(tx, c => {
        for (id, action) in &open {
            let Some((_, ending)) = endings.iter().find(|(e, _)| e == id) else { continue };
            sqlx::query("UPDATE plan_actions SET done = TRUE, ending = $1 WHERE id = $2")
                .bind(ending.slug())
                .bind(id)
                .execute(&mut *c)
                .await?;
            lines.push(format!("{action}: {}", ending.label().to_lowercase()));
        }
    });
    if !lines.is_empty() {
        let body = format!("Open plan actions ended at closure: {}", lines.join("; "));
        insert_note(tx, family_id, author, "event", &body).await?;
    }
    Ok(())
}

/// Finalises the family's draft assessment: from then it never changes (a later one is a
/// reassessment). The reason goes into the chronology.
pub async fn finalise_assessment(
    authorised: &mut Authorised<FamilyId>,
    why: &str,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let now = now_micros();
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE assessments SET status = 'final', finalised_by = $1, finalised_micros = $2, \
             updated_micros = $2 WHERE family_id = $3 AND status = 'draft'",
        )
        .bind(author)
        .bind(now)
        .bind(family_id)
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::Conflict(
            "There is no draft assessment to finalise: start a reassessment".into(),
        ));
    }
    let body = format!("Early Help assessment finalised. Why: {why}");
    insert_note(tx, family_id, author, "event", &body).await?;
    Ok(())
}

/// A user who may be made lead practitioner or added to a team, found by email.
pub async fn person_by_email(db: &Db, email: &str) -> Result<Option<Person>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT u.id AS user_id, u.name, u.email, o.name AS organisation FROM users u \
             JOIN organisations o ON o.id = u.organisation_id WHERE lower(u.email) = lower($1) AND u.active",
        )
        .bind(email.trim())
        .fetch_optional(pool)
        .await?
    }))
}

/// The words for a stored closure reason.
pub fn closure_reason_label(slug: &str) -> &'static str {
    ClosureReason::from_slug(slug)
        .map(|r| r.label())
        .unwrap_or("")
}

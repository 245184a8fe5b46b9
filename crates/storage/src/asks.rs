//! Requests that wait for a person: a partner asking to join the team around a family, answered
//! by its lead; and what people are told on their home page (the answer to their request, a
//! break-glass access to a family they lead), each also emailed through the outbox in the same
//! transaction. Also who referred a family, from the requests for support triaged onto it.

use crate::cases::Person;
use crate::gate::{Authorised, JoinRequestId, KnownToFamily};
use crate::{StorageError, Tx, now_micros, on_tx};
use earlyhelp_domain::access::Actor;
use earlyhelp_domain::cases::Reason;
use earlyhelp_domain::roles::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Requests to join the team around a family

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JoinRequest {
    pub id: Uuid,
    pub family_id: Uuid,
    pub requester_id: Uuid,
    /// "Name, Organisation (email)".
    pub requester: String,
    pub reason: String,
    pub asked_micros: i64,
    /// `pending`, `accepted` or `declined`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_micros: Option<i64>,
}

impl JoinRequest {
    pub fn pending(&self) -> bool {
        self.state == "pending"
    }
}

macro_rules! join_columns {
    () => {
        "j.id, j.family_id, j.requester_id, j.requester, j.reason, j.asked_micros, j.state, \
         j.decided_by, j.decision_reason, j.decided_micros"
    };
}

/// The family a join request is about, for the gate; `None` if there is no such request.
pub(crate) async fn join_request_family(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<Uuid>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT family_id FROM join_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?
    }))
}

/// Who answers for family `id`: its lead practitioner, or where it has none (a family held by
/// the locality team) the leads of its locality. Active accounts only: (user, email).
async fn leads_of(tx: &mut Tx, family_id: Uuid) -> Result<Vec<(Uuid, String)>, StorageError> {
    Ok(on_tx!(tx, c => {
        let lead: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT u.id, u.email FROM families f JOIN users u ON u.id = f.lead_practitioner \
             WHERE f.id = $1 AND u.active",
        )
        .bind(family_id)
        .fetch_all(&mut *c)
        .await?;
        if lead.is_empty() {
            sqlx::query_as(
                "SELECT u.id, u.email FROM families f \
                 JOIN user_localities ul ON ul.locality_slug = f.locality_slug \
                 JOIN user_roles ur ON ur.user_id = ul.user_id AND ur.role = 'locality_lead' \
                 JOIN users u ON u.id = ul.user_id WHERE f.id = $1 AND u.active ORDER BY u.email",
            )
            .bind(family_id)
            .fetch_all(&mut *c)
            .await?
        } else {
            lead
        }
    }))
}

/// A partner who is not involved asks to join the team around the family, under the known-to
/// permit (the asker still sees nothing more). The lead is emailed and finds it on their home
/// page; the chronology keeps it. One open request per person and family.
pub async fn ask_to_join(
    authorised: &mut Authorised<KnownToFamily>,
    requester_id: Uuid,
    requester: &str,
    reason: &str,
) -> Result<Uuid, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let open: i64 = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM join_requests WHERE family_id = $1 AND requester_id = $2 \
             AND state = 'pending'",
        )
        .bind(family_id)
        .bind(requester_id)
        .fetch_one(c)
        .await?
    });
    if open > 0 {
        return Err(StorageError::Conflict(
            "You have already asked to join this family's team: the lead practitioner has not \
             answered yet"
                .into(),
        ));
    }
    let id = Uuid::now_v7();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO join_requests (id, family_id, requester_id, requester, reason, asked_micros, state) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
        )
        .bind(id)
        .bind(family_id)
        .bind(requester_id)
        .bind(requester)
        .bind(reason)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    let body = format!("{requester} asked to join the team around the family: {reason}");
    crate::cases::insert_note(tx, family_id, requester, "event", &body).await?;
    for (_, email) in leads_of(tx, family_id).await? {
        crate::outbox::enqueue(
            tx,
            &email,
            "Someone asks to join the team around a family",
            "A partner asks to join the team around a family you lead. Sign in to earlyhelp to \
             accept or decline.",
            &format!("/join-requests/{id}"),
        )
        .await?;
    }
    Ok(id)
}

/// The join request the permit names.
pub async fn join_request(
    authorised: &mut Authorised<JoinRequestId>,
) -> Result<Option<JoinRequest>, StorageError> {
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let sql = concat!(
        "SELECT ",
        join_columns!(),
        " FROM join_requests j WHERE j.id = $1"
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await?))
}

/// The person who asked, if their account is still active: whom accepting adds to the team.
pub async fn requester(
    authorised: &mut Authorised<JoinRequestId>,
) -> Result<Option<Person>, StorageError> {
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT u.id AS user_id, u.name, u.email, o.name AS organisation FROM join_requests j \
             JOIN users u ON u.id = j.requester_id JOIN organisations o ON o.id = u.organisation_id \
             WHERE j.id = $1 AND u.active",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    }))
}

/// The lead's answer to the permitted request: accepted, or declined with `reason`. The
/// requester is told on their home page and by email, and the chronology keeps it. Joining the
/// team itself (with its lawful basis) is the caller's next step, under a permit for the family.
pub async fn answer(
    authorised: &mut Authorised<JoinRequestId>,
    accept: bool,
    reason: &str,
    by: &str,
) -> Result<JoinRequest, StorageError> {
    let id = authorised.permit.for_change()?.0;
    let state = if accept { "accepted" } else { "declined" };
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE join_requests SET state = $1, decided_by = $2, decision_reason = $3, \
             decided_micros = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(by)
        .bind(reason)
        .bind(now_micros())
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::Conflict(
            "This request has already been answered".into(),
        ));
    }
    let request = join_request(authorised)
        .await?
        .ok_or(StorageError::NotFound)?;
    let tx = &mut authorised.tx;
    let (note, told) = if accept {
        (
            format!(
                "{by} accepted the request of {} to join the team",
                request.requester
            ),
            format!("{by} accepted your request to join the team around the family"),
        )
    } else {
        (
            format!(
                "{by} declined the request of {} to join the team: {reason}",
                request.requester
            ),
            format!("{by} declined your request to join the team around the family: {reason}"),
        )
    };
    crate::cases::insert_note(tx, request.family_id, by, "event", &note).await?;
    let email: Option<String> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND active")
            .bind(request.requester_id)
            .fetch_optional(c)
            .await?
    });
    let link = format!("/families/{}", request.family_id);
    notify(tx, request.requester_id, request.family_id, &told, &link).await?;
    if let Some(email) = email {
        crate::outbox::enqueue(
            tx,
            &email,
            &format!("Your request to join a family's team was {state}"),
            &format!(
                "Your request to join the team around a family was {state}. Sign in to earlyhelp \
                 to see the answer on your home page."
            ),
            "/",
        )
        .await?;
    }
    Ok(request)
}

// ---------------------------------------------------------------------------------------------
// What people are told on their home page

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: Uuid,
    pub body: String,
    pub link: String,
    pub created_micros: i64,
}

/// Tells `user` something on their home page until they mark it read.
async fn notify(
    tx: &mut Tx,
    user: Uuid,
    family_id: Uuid,
    body: &str,
    link: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO notices (id, user_id, family_id, body, link, created_micros) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(user)
        .bind(family_id)
        .bind(body)
        .bind(link)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Tells the family's lead (or its locality's leads) that `who` broke glass, when and why: on
/// their home page and by email (the email says only that it happened).
pub(crate) async fn tell_of_break_glass(
    tx: &mut Tx,
    family_id: Uuid,
    who: &str,
    reason: &str,
) -> Result<(), StorageError> {
    let body = format!("{who} used break-glass access to a family you lead: {reason}");
    let link = format!("/families/{family_id}");
    for (user, email) in leads_of(tx, family_id).await? {
        notify(tx, user, family_id, &body, &link).await?;
        crate::outbox::enqueue(
            tx,
            &email,
            "Break-glass access to a family you lead",
            "Someone used break-glass access to see the record of a family you lead. Sign in \
             to earlyhelp to see who, when and why.",
            "/",
        )
        .await?;
    }
    Ok(())
}

/// What waits for one person: requests to join that they may answer, oldest first, and what
/// they have not yet marked read, newest first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Waiting {
    pub join_requests: Vec<JoinRequest>,
    pub notices: Vec<Notice>,
}

/// What waits for `actor`, under a permit for their own tasks. A locality lead answers for the
/// families in their localities that have no lead practitioner, as the access rules allow.
pub async fn waiting_for(
    authorised: &mut Authorised,
    actor: &Actor,
) -> Result<Waiting, StorageError> {
    const LIMIT: i64 = 50;
    let tx = &mut authorised.tx;
    let leads_localities = actor.roles.contains(&Role::LocalityLead);
    let mut join_requests: Vec<JoinRequest> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            join_columns!(),
            " FROM join_requests j JOIN families f ON f.id = j.family_id \
             WHERE j.state = 'pending' AND f.lead_practitioner = $1 ORDER BY j.asked_micros LIMIT $2"
        ))
        .bind(actor.user_id)
        .bind(LIMIT)
        .fetch_all(c)
        .await?
    });
    if leads_localities {
        for locality in &actor.localities {
            let held: Vec<JoinRequest> = on_tx!(tx, c => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    join_columns!(),
                    " FROM join_requests j JOIN families f ON f.id = j.family_id \
                     WHERE j.state = 'pending' AND f.lead_practitioner IS NULL \
                     AND f.locality_slug = $1 ORDER BY j.asked_micros LIMIT $2"
                ))
                .bind(locality)
                .bind(LIMIT)
                .fetch_all(c)
                .await?
            });
            join_requests.extend(held);
        }
    }
    let notices = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, body, link, created_micros FROM notices WHERE user_id = $1 \
             AND seen_micros IS NULL ORDER BY created_micros DESC LIMIT $2",
        )
        .bind(actor.user_id)
        .bind(LIMIT)
        .fetch_all(c)
        .await?
    });
    Ok(Waiting {
        join_requests,
        notices,
    })
}

/// Marks one of `user`'s notices read; another person's notice is not found.
pub async fn mark_read(
    authorised: &mut Authorised,
    user: Uuid,
    notice: Uuid,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query("UPDATE notices SET seen_micros = $1 WHERE id = $2 AND user_id = $3")
            .bind(now_micros())
            .bind(notice)
            .bind(user)
            .execute(c)
            .await?
            .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Who referred the family

/// A request for support triaged onto the family: who sent it, how to reach them, when, and
/// why (reason slugs, comma-separated).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Referrer {
    pub requester: String,
    pub contact: String,
    #[serde(deserialize_with = "crate::json_rows::flag")]
    pub self_referral: bool,
    pub reasons: String,
    pub created_micros: i64,
}

impl Referrer {
    /// "Ms Patel, Oakfield Primary, 0121 …: School attendance, Health and wellbeing".
    pub fn describe(&self) -> String {
        let reasons = self
            .reasons
            .split(',')
            .filter_map(Reason::from_slug)
            .map(Reason::label)
            .collect::<Vec<_>>()
            .join(", ");
        let who = if self.self_referral {
            format!("The family themselves ({})", self.requester)
        } else {
            self.requester.clone()
        };
        match self.contact.is_empty() {
            true => format!("{who}: {reasons}"),
            false => format!("{who}, {}: {reasons}", self.contact),
        }
    }
}

//! Connections: referrals from a family's case to a directory service, and every step of
//! each. A referral is made under the family's permit; read and moved on under its own,
//! which the gate gives to the family's team, the referrer and the receiving organisation.

use crate::cases::insert_note;
use crate::gate::{Authorised, FamilyId, ReferralId};
use crate::{StorageError, Tx, now_micros, on_tx};
use earlyhelp_domain::access::{Involvement, Resource};
use earlyhelp_domain::connections::{
    CheckedReferral, FIGURES_FROM, ReferralEvent, ReferralFigures, ReferralState, Side, median,
    next,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the access rules need to know about referral `id`; `None` if there is none.
pub(crate) async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<Resource>, StorageError> {
    type Head = (Uuid, Uuid, Uuid);
    let head: Option<Head> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT family_id, referrer_id, receiving_organisation FROM referrals WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    });
    let Some((family_id, referrer, receiving_organisation)) = head else {
        return Ok(None);
    };
    let family: Involvement = crate::cases::involvement(tx, family_id)
        .await?
        .ok_or(StorageError::NotFound)?;
    let answerers: i64 = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id \
             WHERE u.organisation_id = $1 AND u.active AND r.role IN ('vcs_worker', 'community_connector')",
        )
        .bind(receiving_organisation)
        .fetch_one(c)
        .await?
    });
    Ok(Some(Resource::Referral {
        family,
        referrer,
        receiving_organisation,
        organisation_answers: answerers > 0,
    }))
}

/// Whether `actor` answers the permitted referral for the service, or moves it on as the
/// referrer or the family's team.
pub async fn side_of(
    authorised: &mut Authorised<ReferralId>,
    actor: &earlyhelp_domain::access::Actor,
) -> Result<Side, StorageError> {
    let id = authorised.permit.record().0;
    let Some(Resource::Referral {
        family,
        receiving_organisation,
        organisation_answers,
        ..
    }) = resource(&mut authorised.tx, id).await?
    else {
        return Err(StorageError::NotFound);
    };
    let service = earlyhelp_domain::access::answers_for_service(
        actor,
        &family.locality,
        receiving_organisation,
        organisation_answers,
    );
    Ok(if service.is_some() {
        Side::Service
    } else {
        Side::Referrer
    })
}

/// The service a referral goes to, as the referral keeps it.
#[derive(Debug, Clone)]
pub struct Target {
    pub service_id: Uuid,
    pub service_name: String,
    pub organisation: Uuid,
}

/// A family member as the referral shares them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SharedMember {
    pub member_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
}

/// The permitted family's members, as a referral would share them.
pub async fn members(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<SharedMember>, StorageError> {
    let family_id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id AS member_id, given_name, family_name, date_of_birth FROM family_members \
             WHERE family_id = $1 ORDER BY date_of_birth",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    }))
}

/// Sends a referral for the permitted family: only the chosen members are shared, and a
/// chronology event tells the family's team. Answers the referral's id and reference.
pub async fn send(
    authorised: &mut Authorised<FamilyId>,
    target: &Target,
    referral: &CheckedReferral,
    referrer: (Uuid, &str),
) -> Result<(Uuid, String), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let wanted: Vec<Uuid> = referral
        .members
        .iter()
        .filter_map(|m| Uuid::parse_str(m).ok())
        .collect();
    let mut shared: Vec<SharedMember> = Vec::new();
    for member in &wanted {
        let found: Option<SharedMember> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT id AS member_id, given_name, family_name, date_of_birth FROM family_members \
                 WHERE id = $1 AND family_id = $2",
            )
            .bind(member)
            .bind(family_id)
            .fetch_optional(c)
            .await?
        });
        shared.push(
            found.ok_or_else(|| StorageError::Conflict("Choose people from this family".into()))?,
        );
    }
    let open: Option<String> = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT reference FROM referrals WHERE family_id = $1 AND service_id = $2 \
             AND state IN ('sent', 'opened', 'accepted', 'in_progress', 'on_hold')",
        )
        .bind(family_id)
        .bind(target.service_id)
        .fetch_optional(c)
        .await?
    });
    if let Some(reference) = open {
        return Err(StorageError::Conflict(format!(
            "This family already has an open referral to this service ({reference}): add to that one instead"
        )));
    }
    let id = Uuid::now_v7();
    let reference = format!("CN-{}", &id.simple().to_string()[24..].to_uppercase());
    let now = now_micros();
    let locality: String = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT locality_slug FROM families WHERE id = $1")
            .bind(family_id)
            .fetch_one(c)
            .await?
    });
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO referrals (id, reference, family_id, service_id, service_name, \
             receiving_organisation, referrer_id, referrer_name, locality_slug, why, contact_method, \
             best_times, interpreter, basis, state, created_micros, updated_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'sent', $15, $15)",
        )
        .bind(id)
        .bind(&reference)
        .bind(family_id)
        .bind(target.service_id)
        .bind(&target.service_name)
        .bind(target.organisation)
        .bind(referrer.0)
        .bind(referrer.1)
        .bind(&locality)
        .bind(&referral.why)
        .bind(referral.contact_method.slug())
        .bind(&referral.best_times)
        .bind(&referral.interpreter)
        .bind(referral.basis.slug())
        .bind(now)
        .execute(&mut *c)
        .await?;
        for m in &shared {
            sqlx::query(
                "INSERT INTO referral_members (referral_id, member_id, given_name, family_name, date_of_birth) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(m.member_id)
            .bind(&m.given_name)
            .bind(&m.family_name)
            .bind(&m.date_of_birth)
            .execute(&mut *c)
            .await?;
        }
    });
    record_event(tx, id, ReferralState::Sent, Side::Referrer, referrer.1, "").await?;
    let to = service_addresses(tx, id).await?;
    tell(
        tx,
        to,
        id,
        &reference,
        "a new referral is waiting for an answer",
    )
    .await?;
    let body = format!(
        "Referred to {} ({reference}) by {}",
        target.service_name, referrer.1
    );
    insert_note(tx, family_id, referrer.1, "event", &body).await?;
    Ok((id, reference))
}

/// Who hears of a referral for the service: those of the receiving organisation who answer
/// referrals, or where it has nobody, the community connectors of the family's locality.
async fn service_addresses(tx: &mut Tx, id: Uuid) -> Result<Vec<String>, StorageError> {
    Ok(on_tx!(tx, c => {
        let own: Vec<String> = sqlx::query_scalar(
            "SELECT u.email FROM referrals r JOIN users u ON u.organisation_id = r.receiving_organisation \
             JOIN user_roles ur ON ur.user_id = u.id WHERE r.id = $1 AND u.active \
             AND ur.role IN ('vcs_worker', 'community_connector') ORDER BY u.email",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        if own.is_empty() {
            sqlx::query_scalar(
                "SELECT u.email FROM referrals r JOIN user_localities ul ON ul.locality_slug = r.locality_slug \
                 JOIN user_roles ur ON ur.user_id = ul.user_id AND ur.role = 'community_connector' \
                 JOIN users u ON u.id = ul.user_id WHERE r.id = $1 AND u.active ORDER BY u.email",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?
        } else {
            own
        }
    }))
}

async fn referrer_address(tx: &mut Tx, id: Uuid) -> Result<Vec<String>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT u.email FROM referrals r JOIN users u ON u.id = r.referrer_id WHERE r.id = $1 AND u.active",
        )
        .bind(id)
        .fetch_all(c)
        .await?
    }))
}

/// Tells `to` of a referral's new state, through the outbox: its reference and a link only.
async fn tell(
    tx: &mut Tx,
    to: Vec<String>,
    id: Uuid,
    reference: &str,
    what: &str,
) -> Result<(), StorageError> {
    let subject = format!("Referral {reference}: {what}");
    let body = format!("Referral {reference}: {what}. Sign in to earlyhelp to see it.");
    for address in to {
        crate::outbox::enqueue(tx, &address, &subject, &body, &format!("/referrals/{id}")).await?;
    }
    Ok(())
}

/// Whom a new state is told to, and in what words; `None` for a step nobody needs an email
/// about.
fn news(state: ReferralState) -> Option<(bool, &'static str)> {
    match state {
        ReferralState::Accepted => Some((false, "accepted")),
        ReferralState::Declined => Some((false, "declined")),
        ReferralState::Completed => Some((false, "completed")),
        ReferralState::Expired => Some((false, "expired with no answer")),
        ReferralState::Cancelled => Some((true, "cancelled")),
        _ => None,
    }
}

/// Queues the email a referral's new state calls for: the service hears of a cancellation,
/// the referrer of an answer or an expiry.
async fn tell_of(
    tx: &mut Tx,
    id: Uuid,
    reference: &str,
    state: ReferralState,
) -> Result<(), StorageError> {
    let Some((to_service, what)) = news(state) else {
        return Ok(());
    };
    let to = if to_service {
        service_addresses(tx, id).await?
    } else {
        referrer_address(tx, id).await?
    };
    tell(tx, to, id, reference, what).await
}

async fn record_event(
    tx: &mut Tx,
    id: Uuid,
    state: ReferralState,
    side: Side,
    by: &str,
    note: &str,
) -> Result<(), StorageError> {
    let side = match side {
        Side::Referrer => "referrer",
        Side::Service => "service",
        Side::System => "system",
    };
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO referral_events (referral_id, seq, state, side, by_name, note, at_micros) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM referral_events WHERE referral_id = $1), \
             $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(state.slug())
        .bind(side)
        .bind(by)
        .bind(note)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReferralRow {
    pub id: Uuid,
    pub reference: String,
    pub family_id: Uuid,
    pub service_id: Uuid,
    pub service_name: String,
    pub receiving_organisation: Uuid,
    pub referrer_id: Uuid,
    pub referrer_name: String,
    pub locality_slug: String,
    pub why: String,
    pub contact_method: String,
    pub best_times: String,
    pub interpreter: String,
    pub basis: String,
    pub state: String,
    pub decline_reason: Option<String>,
    pub outcome: Option<String>,
    pub created_micros: i64,
    pub updated_micros: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReferralStep {
    pub state: String,
    pub side: String,
    pub by_name: String,
    pub note: String,
    pub at_micros: i64,
}

/// One message between the referrer's side and the service.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReferralMessage {
    pub side: String,
    pub author: String,
    pub body: String,
    pub at_micros: i64,
}

/// A referral with what was shared, every step, and the messages about it.
#[derive(Debug, Clone, Serialize)]
pub struct Referral {
    #[serde(flatten)]
    pub row: ReferralRow,
    pub members: Vec<SharedMember>,
    pub steps: Vec<ReferralStep>,
    pub messages: Vec<ReferralMessage>,
}

macro_rules! referral_columns {
    () => {
        "id, reference, family_id, service_id, service_name, receiving_organisation, referrer_id, \
         referrer_name, locality_slug, why, contact_method, best_times, interpreter, basis, state, \
         decline_reason, outcome, created_micros, updated_micros"
    };
}

/// The permitted referral.
pub async fn referral(
    authorised: &mut Authorised<ReferralId>,
) -> Result<Option<Referral>, StorageError> {
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let row: Option<ReferralRow> = on_tx!(tx, c => {
        sqlx::query_as(concat!("SELECT ", referral_columns!(), " FROM referrals WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    let Some(row) = row else {
        return Ok(None);
    };
    let (members, steps, messages) = on_tx!(tx, c => {
        let members = sqlx::query_as(
            "SELECT member_id, given_name, family_name, date_of_birth FROM referral_members \
             WHERE referral_id = $1 ORDER BY date_of_birth",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let steps = sqlx::query_as(
            "SELECT state, side, by_name, note, at_micros FROM referral_events \
             WHERE referral_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let messages = sqlx::query_as(
            "SELECT side, author, body, at_micros FROM referral_messages \
             WHERE referral_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        (members, steps, messages)
    });
    Ok(Some(Referral {
        row,
        members,
        steps,
        messages,
    }))
}

/// Moves the permitted referral on by `event` from `side`; a transition its state does not
/// allow is refused with the ones it does. The family's chronology hears of every answer.
pub async fn transition(
    authorised: &mut Authorised<ReferralId>,
    event: ReferralEvent,
    side: Side,
    by: &str,
    note: &str,
) -> Result<ReferralState, StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let head: Option<(String, Uuid, String, String)> = on_tx!(tx, c => {
        sqlx::query_as("SELECT state, family_id, service_name, reference FROM referrals WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    let (state, family_id, service, reference) = head.ok_or(StorageError::NotFound)?;
    let state = ReferralState::from_slug(&state).ok_or(StorageError::NotFound)?;
    let to =
        next(state, event, side).map_err(|refused| StorageError::Refused(refused.to_string()))?;
    let (decline_reason, outcome) = match event {
        ReferralEvent::Decline(reason) => (Some(reason.slug()), None),
        ReferralEvent::Complete(outcome) => (None, Some(outcome.slug())),
        _ => (None, None),
    };
    let now = now_micros();
    let answer = side == Side::Service;
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE referrals SET state = $1, decline_reason = COALESCE($2, decline_reason), \
             outcome = COALESCE($3, outcome), updated_micros = $4, \
             first_response_micros = CASE WHEN $5 AND first_response_micros IS NULL THEN $4 \
             ELSE first_response_micros END WHERE id = $6",
        )
        .bind(to.slug())
        .bind(decline_reason)
        .bind(outcome)
        .bind(now)
        .bind(answer)
        .bind(id)
        .execute(c)
        .await?;
    });
    record_event(tx, id, to, side, by, note).await?;
    tell_of(tx, id, &reference, to).await?;
    let body = format!(
        "Referral {reference} to {service}: {} by {by}",
        to.label().to_lowercase()
    );
    insert_note(tx, family_id, by, "event", &body).await?;
    Ok(to)
}

/// The family withdrew consent: its open referrals that rest on consent are cancelled at once,
/// in the same transaction, and each service sees why.
pub(crate) async fn cancel_on_withdrawn_consent(
    tx: &mut Tx,
    family_id: Uuid,
    by: &str,
) -> Result<usize, StorageError> {
    let open: Vec<(Uuid, String)> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, reference FROM referrals WHERE family_id = $1 AND basis = 'consent' \
             AND state IN ('sent', 'opened', 'accepted', 'in_progress', 'on_hold')",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    });
    for (id, reference) in &open {
        set_state(tx, *id, ReferralState::Cancelled, None).await?;
        let note = "The family withdrew consent to share";
        record_event(tx, *id, ReferralState::Cancelled, Side::Referrer, by, note).await?;
        tell_of(tx, *id, reference, ReferralState::Cancelled).await?;
    }
    Ok(open.len())
}

/// Referrals past their organisation's days (`$2` by default) at `$1`: what [`expire_due`]
/// expires and [`jobs_due`] counts.
macro_rules! expiry_due_sql {
    () => {
        "SELECT r.id, r.family_id, r.service_name, r.reference, \
         COALESCE(o.referral_expiry_days, $2) FROM referrals r \
         JOIN organisations o ON o.id = r.receiving_organisation \
         WHERE r.state IN ('sent', 'opened') \
         AND r.created_micros < $1 - COALESCE(o.referral_expiry_days, $2) * 86400000000"
    };
}

/// Referrals whose service is due a reminder (the cut-offs `$1` and `$2` from [`NUDGE_DAYS`]):
/// what [`nudge_due`] reminds and [`jobs_due`] counts.
macro_rules! nudge_due_sql {
    () => {
        "SELECT id, reference, nudges FROM referrals WHERE state IN ('sent', 'opened') \
         AND ((nudges = 0 AND created_micros < $1) OR (nudges = 1 AND created_micros < $2))"
    };
}

/// Work waiting for the background jobs at `now`, for the operators' metrics: referrals due to
/// expire (after `days` where their organisation sets none) and services due a reminder.
pub async fn jobs_due(db: &crate::Db, now: i64, days: i64) -> Result<(i64, i64), StorageError> {
    let cutoffs = NUDGE_DAYS.map(|days| now - days * 86_400_000_000);
    Ok(crate::on_pool!(db, pool => {
        let (expiring,): (i64,) =
            sqlx::query_as(concat!("SELECT COUNT(*) FROM (", expiry_due_sql!(), ") due"))
                .bind(now)
                .bind(days)
                .fetch_one(pool)
                .await?;
        let (reminders,): (i64,) =
            sqlx::query_as(concat!("SELECT COUNT(*) FROM (", nudge_due_sql!(), ") due"))
                .bind(cutoffs[0])
                .bind(cutoffs[1])
                .fetch_one(pool)
                .await?;
        (expiring, reminders)
    }))
}

/// Expires every referral nobody answered within its organisation's days (or `days`) of
/// `now` (the clock is the caller's, so a test can move it), as the operator in one audited
/// transaction; answers how many. Safe with several app servers: the second finds nothing left.
pub async fn expire_due(db: &crate::Db, now: i64, days: i64) -> Result<usize, StorageError> {
    const DUE: &str = expiry_due_sql!();
    type Due = (Uuid, Uuid, String, String, i64);
    // Most ticks find nothing: ask before taking the operator's transaction (and its event).
    let waiting: Vec<Due> = crate::on_pool!(db, pool => {
        sqlx::query_as(DUE).bind(now).bind(days).fetch_all(pool).await?
    });
    if waiting.is_empty() {
        return Ok(0);
    }
    let mut authorised = crate::gate::operator(
        db,
        "referrals",
        earlyhelp_domain::access::Action::Update,
        "expire referrals nobody answered",
    )
    .await?;
    let tx = &mut authorised.tx;
    let due: Vec<Due> = on_tx!(tx, c => {
        sqlx::query_as(DUE).bind(now).bind(days).fetch_all(c).await?
    });
    for (id, family_id, service, reference, days) in &due {
        set_state(tx, *id, ReferralState::Expired, None).await?;
        let note = format!("No answer in {days} days");
        record_event(
            tx,
            *id,
            ReferralState::Expired,
            Side::System,
            "earlyhelp",
            &note,
        )
        .await?;
        tell_of(tx, *id, reference, ReferralState::Expired).await?;
        let body = format!("Referral {reference} to {service}: expired, no answer in {days} days");
        insert_note(tx, *family_id, "earlyhelp", "event", &body).await?;
    }
    authorised.tx.commit().await?;
    Ok(due.len())
}

/// The days `organisation` gives a referral to be answered before it expires.
pub async fn expiry_days<R>(
    authorised: &mut Authorised<R>,
    organisation: Uuid,
) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    let days: Option<i64> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT referral_expiry_days FROM organisations WHERE id = $1")
            .bind(organisation)
            .fetch_optional(c)
            .await?
            .flatten()
    });
    Ok(days.unwrap_or(earlyhelp_domain::connections::DEFAULT_EXPIRY_DAYS))
}

/// Sets how long `organisation`'s referrals may wait for an answer, under a permit for its inbox.
pub async fn set_expiry_days<R>(
    authorised: &mut Authorised<R>,
    organisation: Uuid,
    days: i64,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query("UPDATE organisations SET referral_expiry_days = $1 WHERE id = $2")
            .bind(days)
            .bind(organisation)
            .execute(c)
            .await?;
    });
    Ok(())
}

/// Days after sending at which a service that has not answered is reminded.
pub const NUDGE_DAYS: [i64; 2] = [3, 10];

/// Reminds each service of the referrals it has not answered after 3 and after 10 days, once
/// each, as the operator; answers how many reminders were queued. Safe with several app
/// servers: a reminder is counted on the referral in the transaction that queues it.
pub async fn nudge_due(db: &crate::Db, now: i64) -> Result<usize, StorageError> {
    let due_sql = nudge_due_sql!();
    let cutoffs = NUDGE_DAYS.map(|days| now - days * 86_400_000_000);
    let waiting: Vec<(Uuid, String, i64)> = crate::on_pool!(db, pool => {
        sqlx::query_as(due_sql).bind(cutoffs[0]).bind(cutoffs[1]).fetch_all(pool).await?
    });
    if waiting.is_empty() {
        return Ok(0);
    }
    let mut authorised = crate::gate::operator(
        db,
        "referrals",
        earlyhelp_domain::access::Action::Update,
        "remind services of referrals waiting for an answer",
    )
    .await?;
    let tx = &mut authorised.tx;
    // Read again in the transaction: another server may have reminded them meanwhile.
    let due: Vec<(Uuid, String, i64)> = on_tx!(tx, c => {
        sqlx::query_as(due_sql).bind(cutoffs[0]).bind(cutoffs[1]).fetch_all(c).await?
    });
    for (id, reference, nudges) in &due {
        on_tx!(tx, c => {
            sqlx::query("UPDATE referrals SET nudges = $1 WHERE id = $2")
                .bind(nudges + 1)
                .bind(id)
                .execute(c)
                .await?;
        });
        let days = NUDGE_DAYS[(*nudges as usize).min(1)];
        let to = service_addresses(tx, *id).await?;
        let what = format!("still waiting for an answer after {days} days");
        tell(tx, to, *id, reference, &what).await?;
    }
    authorised.tx.commit().await?;
    Ok(due.len())
}

async fn set_state(
    tx: &mut Tx,
    id: Uuid,
    state: ReferralState,
    answered: Option<i64>,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query(
            "UPDATE referrals SET state = $1, updated_micros = $2, \
             first_response_micros = COALESCE(first_response_micros, $3) WHERE id = $4",
        )
        .bind(state.slug())
        .bind(now_micros())
        .bind(answered)
        .bind(id)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Adds a message to the permitted referral from `side`; the other side hears of it by email
/// (a reference and a link only).
pub async fn add_message(
    authorised: &mut Authorised<ReferralId>,
    side: Side,
    author: &str,
    body: &str,
) -> Result<(), StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let side_slug = if side == Side::Service {
        "service"
    } else {
        "referrer"
    };
    let reference: String = on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO referral_messages (referral_id, seq, side, author, body, at_micros) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM referral_messages WHERE referral_id = $1), \
             $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(side_slug)
        .bind(author)
        .bind(body)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
        sqlx::query_scalar("SELECT reference FROM referrals WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await?
    });
    let to = if side == Side::Service {
        referrer_address(tx, id).await?
    } else {
        service_addresses(tx, id).await?
    };
    tell(tx, to, id, &reference, "a new message").await
}

/// One line of a list of referrals.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct ReferralLine {
    pub id: Uuid,
    pub reference: String,
    pub service_name: String,
    pub referrer_name: String,
    pub state: String,
    pub outcome: Option<String>,
    pub decline_reason: Option<String>,
    pub created_micros: i64,
}

macro_rules! line_columns {
    () => {
        "id, reference, service_name, referrer_name, state, outcome, decline_reason, created_micros"
    };
}

/// A part of an organisation's inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxPart {
    /// Sent or opened: waiting for the service's answer.
    Waiting,
    /// Accepted, in progress or on hold.
    Working,
    /// Closed to an outcome.
    Closed,
}

impl InboxPart {
    pub const ALL: [InboxPart; 3] = [InboxPart::Waiting, InboxPart::Working, InboxPart::Closed];

    pub fn slug(self) -> &'static str {
        match self {
            InboxPart::Waiting => "new",
            InboxPart::Working => "working",
            InboxPart::Closed => "closed",
        }
    }

    pub fn from_slug(slug: &str) -> Option<InboxPart> {
        InboxPart::ALL.into_iter().find(|p| p.slug() == slug)
    }

    pub fn of(state: ReferralState) -> InboxPart {
        if state.awaits_answer() {
            InboxPart::Waiting
        } else if state.is_open() {
            InboxPart::Working
        } else {
            InboxPart::Closed
        }
    }
}

/// How many referrals to `organisation` are in each part of its inbox.
pub async fn inbox_counts<R>(
    authorised: &mut Authorised<R>,
    organisation: Uuid,
) -> Result<[i64; 3], StorageError> {
    let tx = &mut authorised.tx;
    let by_state: Vec<(String, i64)> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT state, COUNT(*) FROM referrals WHERE receiving_organisation = $1 GROUP BY state",
        )
        .bind(organisation)
        .fetch_all(c)
        .await?
    });
    let mut counts = [0; 3];
    for (state, n) in by_state {
        if let Some(state) = ReferralState::from_slug(&state) {
            counts[InboxPart::ALL
                .iter()
                .position(|p| *p == InboxPart::of(state))
                .unwrap_or(2)] += n;
        }
    }
    Ok(counts)
}

/// One page of a part of `organisation`'s inbox: waiting ones oldest first (they are most
/// overdue), the rest newest first.
pub async fn inbox<R>(
    authorised: &mut Authorised<R>,
    organisation: Uuid,
    part: InboxPart,
    limit: i64,
    skip: i64,
) -> Result<Vec<ReferralLine>, StorageError> {
    // `inbox_part` is the database's copy of `InboxPart::of(state)` (migration 0019).
    let sql = match part {
        InboxPart::Waiting => concat!(
            "SELECT ",
            line_columns!(),
            " FROM referrals WHERE receiving_organisation = $1 AND inbox_part = $4 \
             ORDER BY created_micros, id LIMIT $2 OFFSET $3"
        ),
        InboxPart::Working | InboxPart::Closed => concat!(
            "SELECT ",
            line_columns!(),
            " FROM referrals WHERE receiving_organisation = $1 AND inbox_part = $4 \
             ORDER BY created_micros DESC, id DESC LIMIT $2 OFFSET $3"
        ),
    };
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql)
            .bind(organisation)
            .bind(limit)
            .bind(skip)
            .bind(part.slug())
            .fetch_all(c)
            .await?
    }))
}

/// What a service page says of its replies: shown only from [`FIGURES_FROM`] referrals in the
/// last twelve months.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub referrals: usize,
    /// Median days from sending to the service's first answer.
    pub median_reply_days: Option<f64>,
    /// Accepted (at any point) out of those answered, in per cent.
    pub accepted_percent: f64,
}

/// The service's reply figures, or `None` below [`FIGURES_FROM`] referrals in a year. Counts
/// only: nothing about any family.
pub async fn figures(
    db: &crate::Db,
    service: Uuid,
    now: i64,
) -> Result<Option<Figures>, StorageError> {
    const YEAR_MICROS: i64 = 365 * 24 * 3600 * 1_000_000;
    type Row = (i64, Option<i64>, String);
    let rows: Vec<Row> = crate::on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT created_micros, first_response_micros, state FROM referrals \
             WHERE service_id = $1 AND created_micros >= $2 AND state <> 'entered_in_error'",
        )
        .bind(service)
        .bind(now - YEAR_MICROS)
        .fetch_all(pool)
        .await?
    });
    if rows.len() < FIGURES_FROM {
        return Ok(None);
    }
    let mut days: Vec<f64> = rows
        .iter()
        .filter_map(|(sent, answered, _)| answered.map(|a| (a - sent) as f64 / 86_400e6))
        .collect();
    let declined = rows.iter().filter(|(_, _, s)| s == "declined").count();
    let answered = rows
        .iter()
        .filter(|(_, _, s)| !matches!(s.as_str(), "sent" | "opened" | "expired" | "cancelled"))
        .count();
    let accepted_percent = if answered == 0 {
        0.0
    } else {
        100.0 * (answered - declined) as f64 / answered as f64
    };
    Ok(Some(Figures {
        referrals: rows.len(),
        median_reply_days: median(&mut days),
        accepted_percent,
    }))
}

/// A referral as it happened, with its steps backdated: the demo city and benchmarks load
/// months of them at once, as the operator.
#[derive(Debug, Clone)]
pub struct Historic {
    pub family_id: Uuid,
    pub target: Target,
    pub referrer: (Uuid, String),
    pub locality: String,
    pub why: String,
    pub member: SharedMember,
    /// Every state it passed through, from `sent`, with who moved it and when.
    pub steps: Vec<(ReferralState, Side, i64)>,
    pub decline_reason: Option<earlyhelp_domain::connections::DeclineReason>,
    pub outcome: Option<earlyhelp_domain::cases::NeedOutcome>,
}

/// Loads referrals as they happened, under the operator's permit for the whole load.
pub async fn load_history<R>(
    authorised: &mut Authorised<R>,
    referrals: &[Historic],
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    for h in referrals {
        let id = Uuid::now_v7();
        let reference = format!("CN-{}", &id.simple().to_string()[24..].to_uppercase());
        let (Some(first), Some(last)) = (h.steps.first(), h.steps.last()) else {
            continue;
        };
        let answered = h.steps.iter().find(|s| s.1 == Side::Service).map(|s| s.2);
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO referrals (id, reference, family_id, service_id, service_name, \
                 receiving_organisation, referrer_id, referrer_name, locality_slug, why, contact_method, \
                 best_times, interpreter, basis, state, decline_reason, outcome, created_micros, \
                 updated_micros, first_response_micros) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'phone', '', '', 'consent', $11, $12, $13, $14, $15, $16)",
            )
            .bind(id)
            .bind(&reference)
            .bind(h.family_id)
            .bind(h.target.service_id)
            .bind(&h.target.service_name)
            .bind(h.target.organisation)
            .bind(h.referrer.0)
            .bind(&h.referrer.1)
            .bind(&h.locality)
            .bind(&h.why)
            .bind(last.0.slug())
            .bind(h.decline_reason.map(|r| r.slug()))
            .bind(h.outcome.map(|o| o.slug()))
            .bind(first.2)
            .bind(last.2)
            .bind(answered)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "INSERT INTO referral_members (referral_id, member_id, given_name, family_name, date_of_birth) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(h.member.member_id)
            .bind(&h.member.given_name)
            .bind(&h.member.family_name)
            .bind(&h.member.date_of_birth)
            .execute(&mut *c)
            .await?;
            for (seq, (state, side, at)) in h.steps.iter().enumerate() {
                let by = match side {
                    Side::Referrer => h.referrer.1.as_str(),
                    Side::Service => h.target.service_name.as_str(),
                    Side::System => "earlyhelp",
                };
                let side = match side {
                    Side::Referrer => "referrer",
                    Side::Service => "service",
                    Side::System => "system",
                };
                sqlx::query(
                    "INSERT INTO referral_events (referral_id, seq, state, side, by_name, note, at_micros) \
                     VALUES ($1, $2, $3, $4, $5, '', $6)",
                )
                .bind(id)
                .bind(seq as i64 + 1)
                .bind(state.slug())
                .bind(side)
                .bind(by)
                .bind(*at)
                .execute(&mut *c)
                .await?;
            }
        });
    }
    Ok(())
}

/// What the demo refers from and to: families with their locality, lead and youngest member,
/// and running services with the organisation that answers for each.
pub struct Candidates {
    pub families: Vec<(Uuid, String, Uuid, String, SharedMember)>,
    pub services: Vec<(Target, Option<String>)>,
}

pub async fn candidates<R>(authorised: &mut Authorised<R>) -> Result<Candidates, StorageError> {
    type FamilyRow = (Uuid, String, Uuid, String, Uuid, String, String, String);
    type ServiceRow = (Uuid, String, Uuid, Option<String>);
    let tx = &mut authorised.tx;
    let (families, services): (Vec<FamilyRow>, Vec<ServiceRow>) = on_tx!(tx, c => {
        let families = sqlx::query_as(
            "SELECT f.id, f.locality_slug, u.id, u.name, m.id, m.given_name, m.family_name, m.date_of_birth \
             FROM families f JOIN users u ON u.id = f.lead_practitioner \
             JOIN family_members m ON m.id = (SELECT id FROM family_members WHERE family_id = f.id \
             ORDER BY date_of_birth DESC LIMIT 1) ORDER BY f.id",
        )
        .fetch_all(&mut *c)
        .await?;
        let services = sqlx::query_as(
            "SELECT id, name, owner_organisation_id, locality_slug FROM directory_services \
             WHERE status = 'active' AND merged_into IS NULL ORDER BY id",
        )
        .fetch_all(&mut *c)
        .await?;
        (families, services)
    });
    Ok(Candidates {
        families: families
            .into_iter()
            .map(
                |(
                    id,
                    locality,
                    lead,
                    lead_name,
                    member_id,
                    given_name,
                    family_name,
                    date_of_birth,
                )| {
                    let member = SharedMember {
                        member_id,
                        given_name,
                        family_name,
                        date_of_birth,
                    };
                    (id, locality, lead, lead_name, member)
                },
            )
            .collect(),
        services: services
            .into_iter()
            .map(|(service_id, service_name, organisation, locality)| {
                let target = Target {
                    service_id,
                    service_name,
                    organisation,
                };
                (target, locality)
            })
            .collect(),
    })
}

/// Every referral sent since `since`, as the dashboard counts it: under its locality and under
/// the organisation that answers it. Counts only, under a permit for aggregates.
pub async fn figures_since<R>(
    authorised: &mut Authorised<R>,
    since: i64,
) -> Result<(Vec<ReferralFigures>, Vec<ReferralFigures>), StorageError> {
    type Row = (String, String, String, i64, Option<i64>, Option<String>);
    let tx = &mut authorised.tx;
    let rows: Vec<Row> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT l.name, o.name, r.state, r.created_micros, r.first_response_micros, r.outcome \
             FROM referrals r JOIN localities l ON l.slug = r.locality_slug \
             JOIN organisations o ON o.id = r.receiving_organisation \
             WHERE r.created_micros >= $1 AND r.state <> 'entered_in_error'",
        )
        .bind(since)
        .fetch_all(c)
        .await?
    });
    let figures = |under: &str, row: &Row| ReferralFigures {
        under: under.to_string(),
        state: ReferralState::from_slug(&row.2).unwrap_or(ReferralState::Sent),
        sent_micros: row.3,
        first_response_micros: row.4,
        outcome: row
            .5
            .as_deref()
            .and_then(earlyhelp_domain::cases::NeedOutcome::from_slug),
    };
    Ok((
        rows.iter().map(|r| figures(&r.0, r)).collect(),
        rows.iter().map(|r| figures(&r.1, r)).collect(),
    ))
}

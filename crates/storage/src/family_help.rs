//! The Family Help practice model's records on a family's case (see `docs/family-help.md`):
//! its level and each step between levels, the family network, and family group decision
//! making. Every function takes the gate's permit for the family: a step between levels the
//! [`FamilyLevel`] permit only the case's leads are given, the rest the case's own.

use crate::cases::{Person, insert_note, involvement};
use crate::gate::{Authorised, FamilyId, FamilyLevel};
use crate::{StorageError, Tx, now_micros, on_tx};
use earlyhelp_domain::access::{Actor, may_lead_child_protection};
use earlyhelp_domain::cases::{CaseState, iso};
use earlyhelp_domain::family_help::{HelpLevel, Uptake, check_step, describe_step};
use earlyhelp_domain::roles::Role;
use serde::Serialize;
use time::Date;
use uuid::Uuid;

/// One step between levels: from, to, who decided, when and why.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LevelStep {
    pub from_level: String,
    pub to_level: String,
    pub reason: String,
    pub decided_by_name: String,
    pub lead_cp_name: Option<String>,
    pub at_micros: i64,
}

/// Someone in the family's network: family, friends, neighbours who help.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct NetworkPerson {
    pub id: Uuid,
    pub name: String,
    pub relationship: String,
    pub contact: String,
    /// Part of the family's plan.
    pub in_plan: bool,
}

/// An offer of a family group decision making meeting, and the meeting if it happened.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FamilyGroupMeeting {
    pub id: Uuid,
    pub offered_on: String,
    /// An `Uptake` slug.
    pub uptake: String,
    pub declined_reason: String,
    pub meeting_on: Option<String>,
    /// The names of those from the network who came, joined with "; ".
    pub attendees: String,
    pub plan: String,
    pub recorded_by: String,
    pub recorded_micros: i64,
}

/// The Family Help part of a family's case.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyHelpRecord {
    /// As last stepped; `None` before the first step.
    pub help_level: Option<String>,
    pub lead_cp: Option<Person>,
    /// Oldest first.
    pub steps: Vec<LevelStep>,
    pub network: Vec<NetworkPerson>,
    /// Newest offer first.
    pub meetings: Vec<FamilyGroupMeeting>,
}

/// The level, steps, network and meetings of the permitted family.
pub async fn of_family(
    authorised: &mut Authorised<FamilyId>,
) -> Result<FamilyHelpRecord, StorageError> {
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        let (help_level, lead_cp): (Option<String>, Option<Uuid>) = sqlx::query_as(
            "SELECT help_level, lead_cp_practitioner FROM families WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await?
        .unwrap_or((None, None));
        let lead_cp: Option<Person> = match lead_cp {
            Some(user) => sqlx::query_as(
                "SELECT u.id AS user_id, u.name, u.email, o.name AS organisation FROM users u \
                 JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1",
            )
            .bind(user)
            .fetch_optional(&mut *c)
            .await?,
            None => None,
        };
        let steps = sqlx::query_as(
            "SELECT from_level, to_level, reason, decided_by_name, lead_cp_name, at_micros \
             FROM level_steps WHERE family_id = $1 ORDER BY at_micros, id",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let network = sqlx::query_as(
            "SELECT id, name, relationship, contact, in_plan FROM family_network \
             WHERE family_id = $1 ORDER BY added_micros, id",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let meetings = sqlx::query_as(
            "SELECT id, offered_on, uptake, declined_reason, meeting_on, attendees, plan, \
             recorded_by, recorded_micros FROM family_group_meetings WHERE family_id = $1 \
             ORDER BY offered_on DESC, recorded_micros DESC",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        FamilyHelpRecord {
            help_level,
            lead_cp,
            steps,
            network,
            meetings,
        }
    }))
}

/// A step between levels, as decided.
pub struct Step<'a> {
    pub to: HelpLevel,
    /// At child protection: whom the decider names lead child protection practitioner.
    pub lead_cp: Option<Uuid>,
    pub reason: &'a str,
    pub decided_by: Uuid,
    /// "Name, Organisation".
    pub decided_by_name: &'a str,
}

/// Steps the permitted family to another level if the rules allow: the case is open, the level
/// is another, and child protection names a lead child protection practitioner who holds cases
/// and already has access to this one. Leaving child protection ends that role. The step, who
/// decided and why go into the level history and the chronology.
pub async fn step_level(
    authorised: &mut Authorised<FamilyLevel>,
    step: &Step<'_>,
) -> Result<HelpLevel, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    type Head = (Option<String>, String, String);
    let head: Option<Head> = on_tx!(tx, c => {
        sqlx::query_as("SELECT help_level, need_level, state FROM families WHERE id = $1")
            .bind(family_id)
            .fetch_optional(c)
            .await?
    });
    let (stored, need_level, state) = head.ok_or(StorageError::NotFound)?;
    let from = HelpLevel::of_case(stored.as_deref(), &need_level, &state);
    let state = CaseState::from_slug(&state).unwrap_or(CaseState::Open);
    let lead_cp = step.lead_cp.filter(|_| step.to.needs_lead_cp());
    check_step(state, from, step.to, lead_cp.is_some())
        .map_err(|e| StorageError::Conflict(e.message))?;
    let lead_cp_name = match lead_cp {
        Some(user) => Some(lead_cp_name(tx, family_id, user).await?),
        None => None,
    };
    let now = now_micros();
    on_tx!(tx, c => {
        // Only from the level read above: a step decided meanwhile is not silently overtaken.
        let done = sqlx::query(
            "UPDATE families SET help_level = $1, lead_cp_practitioner = $2, updated_micros = $3 \
             WHERE id = $4 AND COALESCE(help_level, '') = $5",
        )
        .bind(step.to.slug())
        .bind(lead_cp)
        .bind(now)
        .bind(family_id)
        .bind(stored.as_deref().unwrap_or(""))
        .execute(&mut *c)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StorageError::Conflict(
                "Someone changed the case's level meanwhile: look at it again".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO level_steps (id, family_id, from_level, to_level, reason, decided_by, \
             decided_by_name, lead_cp_name, at_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(from.slug())
        .bind(step.to.slug())
        .bind(step.reason)
        .bind(step.decided_by)
        .bind(step.decided_by_name)
        .bind(&lead_cp_name)
        .bind(now)
        .execute(&mut *c)
        .await?;
    });
    let mut body = format!("{}. Why: {}", describe_step(from, step.to), step.reason);
    if let Some(name) = &lead_cp_name {
        body.push_str(&format!(" Lead child protection practitioner: {name}."));
    }
    insert_note(tx, family_id, step.decided_by_name, "event", &body).await?;
    Ok(step.to)
}

/// "Name, Organisation" of `user` if they may be lead child protection practitioner on the
/// family: they hold cases and already have access to it (read in this transaction).
async fn lead_cp_name(tx: &mut Tx, family_id: Uuid, user: Uuid) -> Result<String, StorageError> {
    let refused = || {
        StorageError::Conflict(
            "Choose a lead child protection practitioner who holds cases and already works with \
             this family"
                .into(),
        )
    };
    type Row = (String, String, Uuid, String);
    let (roles, localities, row): (Vec<String>, Vec<String>, Option<Row>) = on_tx!(tx, c => {
        let roles = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1")
            .bind(user)
            .fetch_all(&mut *c)
            .await?;
        let localities =
            sqlx::query_scalar("SELECT locality_slug FROM user_localities WHERE user_id = $1")
                .bind(user)
                .fetch_all(&mut *c)
                .await?;
        let row = sqlx::query_as(
            "SELECT u.name, o.name, u.organisation_id, u.email FROM users u \
             JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1 AND u.active",
        )
        .bind(user)
        .fetch_optional(&mut *c)
        .await?;
        (roles, localities, row)
    });
    let (name, organisation, organisation_id, email) = row.ok_or_else(refused)?;
    let candidate = Actor {
        user_id: user,
        email,
        organisation_id,
        roles: roles.iter().filter_map(|r| Role::from_slug(r)).collect(),
        localities,
    };
    let involvement = involvement(tx, family_id)
        .await?
        .ok_or(StorageError::NotFound)?;
    if !may_lead_child_protection(&candidate, &involvement) {
        return Err(refused());
    }
    Ok(format!("{name}, {organisation}"))
}

/// Someone in the family network, as checked.
pub struct Networked<'a> {
    pub name: &'a str,
    pub relationship: &'a str,
    pub contact: &'a str,
    pub in_plan: bool,
}

/// Adds someone to the permitted family's network, or (`person` given) changes them.
pub async fn save_network(
    authorised: &mut Authorised<FamilyId>,
    person: Option<Uuid>,
    who: &Networked<'_>,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        match person {
            Some(id) => sqlx::query(
                "UPDATE family_network SET name = $1, relationship = $2, contact = $3, \
                 in_plan = $4 WHERE id = $5 AND family_id = $6",
            )
            .bind(who.name)
            .bind(who.relationship)
            .bind(who.contact)
            .bind(who.in_plan)
            .bind(id)
            .bind(family_id)
            .execute(c)
            .await?
            .rows_affected(),
            None => sqlx::query(
                "INSERT INTO family_network (id, family_id, name, relationship, contact, in_plan, \
                 added_micros) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(family_id)
            .bind(who.name)
            .bind(who.relationship)
            .bind(who.contact)
            .bind(who.in_plan)
            .bind(now_micros())
            .execute(c)
            .await?
            .rows_affected(),
        }
    });
    if done == 0 {
        return Err(StorageError::NotFound);
    }
    // No name in the chronology: it outlives the network row, and a subject access copy
    // could not mark it once the person has left the network.
    let what = if person.is_some() {
        "Changed someone in the family network"
    } else {
        "Added someone to the family network"
    };
    let body = format!("{what} ({})", who.relationship);
    insert_note(tx, family_id, author, "event", &body).await?;
    Ok(())
}

/// Takes someone out of the permitted family's network: their row goes.
pub async fn remove_network(
    authorised: &mut Authorised<FamilyId>,
    person: Uuid,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let removed: Option<String> = on_tx!(tx, c => {
        sqlx::query_scalar(
            "DELETE FROM family_network WHERE id = $1 AND family_id = $2 RETURNING relationship",
        )
        .bind(person)
        .bind(family_id)
        .fetch_optional(c)
        .await?
    });
    let relationship = removed.ok_or(StorageError::NotFound)?;
    let body = format!("Removed someone from the family network ({relationship})");
    insert_note(tx, family_id, author, "event", &body).await?;
    Ok(())
}

/// Those who came must be in the family's network now, or already recorded at this meeting
/// (someone may have left the network since): a form cannot put anyone else's name in the record.
async fn check_attendees(
    tx: &mut Tx,
    family_id: Uuid,
    meeting: Option<Uuid>,
    attendees: &[String],
) -> Result<(), StorageError> {
    let mut known: Vec<String> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT name FROM family_network WHERE family_id = $1")
            .bind(family_id)
            .fetch_all(&mut *c)
            .await?
    });
    if let Some(meeting) = meeting {
        let stored: Option<String> = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT attendees FROM family_group_meetings WHERE id = $1 AND family_id = $2",
            )
            .bind(meeting)
            .bind(family_id)
            .fetch_optional(&mut *c)
            .await?
        });
        known.extend(
            stored
                .iter()
                .flat_map(|s| s.split("; ").map(str::to_string)),
        );
    }
    if attendees
        .iter()
        .all(|a| known.iter().any(|k| k.trim() == a))
    {
        Ok(())
    } else {
        Err(StorageError::Conflict(
            "Choose who came from the family network: only people in it can be named".into(),
        ))
    }
}

/// A family group decision making record, as checked.
pub struct Meeting<'a> {
    pub offered_on: Date,
    pub uptake: Uptake,
    pub declined_reason: &'a str,
    pub meeting_on: Option<Date>,
    pub attendees: &'a [String],
    pub plan: &'a str,
}

/// Records an offer of family group decision making for the permitted family, or (`meeting`
/// given) brings one up to date: taken up or declined, the meeting, who came, the plan.
pub async fn save_meeting(
    authorised: &mut Authorised<FamilyId>,
    meeting: Option<Uuid>,
    record: &Meeting<'_>,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let declined_reason = if record.uptake == Uptake::Declined {
        record.declined_reason
    } else {
        ""
    };
    check_attendees(tx, family_id, meeting, record.attendees).await?;
    let attendees = record.attendees.join("; ");
    let offered = iso(record.offered_on);
    let meeting_on = record.meeting_on.map(iso);
    // Both statements take the same binds in the same order: the record, then its id.
    let (sql, id) = match meeting {
        Some(id) => (
            "UPDATE family_group_meetings SET offered_on = $1, uptake = $2, \
             declined_reason = $3, meeting_on = $4, attendees = $5, plan = $6, \
             recorded_by = $7, recorded_micros = $8 WHERE id = $9 AND family_id = $10",
            id,
        ),
        None => (
            "INSERT INTO family_group_meetings (offered_on, uptake, declined_reason, \
             meeting_on, attendees, plan, recorded_by, recorded_micros, id, family_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            Uuid::now_v7(),
        ),
    };
    let done = on_tx!(tx, c => {
        sqlx::query(sql)
            .bind(&offered)
            .bind(record.uptake.slug())
            .bind(declined_reason)
            .bind(&meeting_on)
            .bind(&attendees)
            .bind(record.plan)
            .bind(author)
            .bind(now_micros())
            .bind(id)
            .bind(family_id)
            .execute(c)
            .await?
            .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::NotFound);
    }
    let mut body = format!(
        "Family group decision making offered on {offered}: {}",
        record.uptake.label().to_lowercase()
    );
    if !declined_reason.is_empty() {
        body.push_str(&format!(" ({declined_reason})"));
    }
    if let Some(on) = &meeting_on {
        body.push_str(&format!(". Meeting on {on}"));
        if !record.plan.trim().is_empty() {
            body.push_str("; the family plan is recorded");
        }
    }
    insert_note(tx, family_id, author, "event", &body).await?;
    Ok(())
}

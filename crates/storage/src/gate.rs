//! The one choke point: every read or change of protected data passes [`authorise`], which asks
//! the domain's access rules and writes an audit event in the same transaction.
//!
//! Functions that touch protected data take a [`Permit`], which only this module can make, so
//! the compiler refuses a path to a record that skipped the gate.

use crate::db::{Db, Tx};
use crate::{StorageError, now_micros, on_tx};
use earlyhelp_domain::access::{Action, Actor, Decision, Resource, decide};
use earlyhelp_domain::audit::{ChainedFields, GENESIS, chain_hash};
use serde::Serialize;

/// Who is asking, from where.
#[derive(Debug, Clone)]
pub struct Who {
    pub actor: Actor,
    pub organisation_name: String,
    pub remote_addr: String,
}

/// What they ask to do.
pub struct Request<'a> {
    pub action: Action,
    pub resource: Resource,
    /// The record, as the audit log names it: `user:ID`, `family:ID`, `audit_log`.
    pub subject: &'a str,
    /// Why, in the asker's or the screen's words: "user administration", "triage".
    pub purpose: &'a str,
}

/// Proof that the gate allowed an access and audited it in the transaction it travels with.
#[derive(Debug)]
pub struct Permit {
    _private: (),
}

/// A transaction that has passed the gate, with its permit.
pub struct Authorised {
    pub tx: Tx,
    pub permit: Permit,
}

/// Decides, audits, and on refusal commits the audit event before answering `Denied`.
pub async fn authorise(
    db: &Db,
    who: &Who,
    request: Request<'_>,
) -> Result<Authorised, StorageError> {
    let mut tx = db.begin().await?;
    let decision = decide(&who.actor, request.action, &request.resource);
    append(&mut tx, &access_event(who, &request, &decision)).await?;
    if decision.allowed {
        Ok(Authorised {
            tx,
            permit: Permit { _private: () },
        })
    } else {
        tx.commit().await?;
        Err(StorageError::Denied(decision.reason))
    }
}

/// Decides and audits a read or a listing as [`authorise`] does, but commits the audit event in
/// its own short transaction and answers a read-only snapshot to read from. A reader then
/// holds the audit chain (SQLite's one writer, PostgreSQL's advisory lock) only while its event
/// is appended, not while the page is read and rendered, so readers do not queue behind each
/// other. The event is durable before anything is read.
pub async fn authorise_read(
    db: &Db,
    who: &Who,
    request: Request<'_>,
) -> Result<Authorised, StorageError> {
    debug_assert!(matches!(request.action, Action::Read | Action::List));
    let decision = decide(&who.actor, request.action, &request.resource);
    record(db, &access_event(who, &request, &decision)).await?;
    if !decision.allowed {
        return Err(StorageError::Denied(decision.reason));
    }
    Ok(Authorised {
        tx: db.begin_read().await?,
        permit: Permit { _private: () },
    })
}

/// Widens an authorised transaction to one more record, for a change that must land
/// all-or-nothing across records (an import naming many families). Decided and audited as
/// [`authorise`] does; a refusal rolls back everything so far and commits the refusal alone.
pub async fn authorise_also(
    db: &Db,
    mut authorised: Authorised,
    who: &Who,
    request: Request<'_>,
) -> Result<Authorised, StorageError> {
    let decision = decide(&who.actor, request.action, &request.resource);
    let event = access_event(who, &request, &decision);
    if decision.allowed {
        append(&mut authorised.tx, &event).await?;
        Ok(authorised)
    } else {
        drop(authorised);
        record(db, &event).await?;
        Err(StorageError::Denied(decision.reason))
    }
}

fn access_event<'a>(who: &'a Who, request: &Request<'a>, decision: &Decision) -> NewEvent<'a> {
    NewEvent {
        actor: &who.actor.email,
        actor_organisation: &who.organisation_name,
        actor_role: decision.as_role.map(|r| r.slug()).unwrap_or("none"),
        subject: request.subject,
        action: request.action.as_str(),
        purpose: request.purpose,
        outcome: if decision.allowed {
            "allowed"
        } else {
            "denied"
        },
        remote_addr: &who.remote_addr,
    }
}

/// For the operator at the command line, who holds the database itself: the access is still
/// written to the audit log, under the name `operator`.
pub async fn operator(
    db: &Db,
    subject: &str,
    action: Action,
    purpose: &str,
) -> Result<Authorised, StorageError> {
    let mut authorised = Authorised {
        tx: db.begin().await?,
        permit: Permit { _private: () },
    };
    operator_also(&mut authorised, subject, action, purpose).await?;
    Ok(authorised)
}

/// The operator's access to one more record in the same transaction, written to the audit log.
pub async fn operator_also(
    authorised: &mut Authorised,
    subject: &str,
    action: Action,
    purpose: &str,
) -> Result<(), StorageError> {
    let event = NewEvent {
        actor: "operator",
        actor_organisation: "command line",
        actor_role: "operator",
        subject,
        action: action.as_str(),
        purpose,
        outcome: "allowed",
        remote_addr: "local",
    };
    append(&mut authorised.tx, &event).await
}

/// An event that is not an access to a record: a sign-in, a sign-out, a password change.
pub struct NewEvent<'a> {
    pub actor: &'a str,
    pub actor_organisation: &'a str,
    pub actor_role: &'a str,
    pub subject: &'a str,
    pub action: &'a str,
    pub purpose: &'a str,
    pub outcome: &'a str,
    pub remote_addr: &'a str,
}

/// Appends one event to the chain. The chain is serialised: SQLite's write transactions are
/// `BEGIN IMMEDIATE`; PostgreSQL takes a transaction-scoped advisory lock.
pub async fn append(tx: &mut Tx, event: &NewEvent<'_>) -> Result<(), StorageError> {
    const AUDIT_CHAIN_LOCK: i64 = 0x6561_7564_6974; // "eaudit"
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_CHAIN_LOCK)
            .execute(&mut **t)
            .await?;
    }
    let last: Option<(i64, String)> = on_tx!(tx, c => {
        sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(c)
            .await?
    });
    let (seq, previous) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let at_micros = now_micros();
    let fields = ChainedFields {
        seq,
        at_micros,
        actor: event.actor,
        actor_organisation: event.actor_organisation,
        actor_role: event.actor_role,
        subject: event.subject,
        action: event.action,
        purpose: event.purpose,
        outcome: event.outcome,
        remote_addr: event.remote_addr,
    };
    let hash = chain_hash(&previous, &fields);
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO audit_events (seq, at_micros, actor, actor_organisation, actor_role, \
             subject, action, purpose, outcome, remote_addr, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(seq)
        .bind(at_micros)
        .bind(event.actor)
        .bind(event.actor_organisation)
        .bind(event.actor_role)
        .bind(event.subject)
        .bind(event.action)
        .bind(event.purpose)
        .bind(event.outcome)
        .bind(event.remote_addr)
        .bind(&previous)
        .bind(&hash)
        .execute(c)
        .await?;
    });
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEvent {
    pub seq: i64,
    pub at_micros: i64,
    pub actor: String,
    pub actor_organisation: String,
    pub actor_role: String,
    pub subject: String,
    pub action: String,
    pub purpose: String,
    pub outcome: String,
    pub remote_addr: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    fn fields(&self) -> ChainedFields<'_> {
        ChainedFields {
            seq: self.seq,
            at_micros: self.at_micros,
            actor: &self.actor,
            actor_organisation: &self.actor_organisation,
            actor_role: &self.actor_role,
            subject: &self.subject,
            action: &self.action,
            purpose: &self.purpose,
            outcome: &self.outcome,
            remote_addr: &self.remote_addr,
        }
    }

    pub fn at(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(self.at_micros as i128 * 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

/// Filters for the audit viewer; empty strings match everything.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub outcome: String,
}

macro_rules! audit_columns {
    () => {
        "seq, at_micros, actor, actor_organisation, actor_role, subject, action, purpose, \
         outcome, remote_addr, prev_hash, hash"
    };
}

/// The newest events first, filtered, at most `limit`.
pub async fn list_events(
    authorised: &mut Authorised,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEvent>, StorageError> {
    // A statement per filter shape, so a subject's or an actor's newest events come straight
    // from their index: `($2 = '' OR subject = $2)` alone scans the whole log from its end,
    // and the family page asks for one family's events among millions.
    let sql = match (
        filter.subject.trim().is_empty(),
        filter.actor.trim().is_empty(),
    ) {
        (false, _) => concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events \
             WHERE subject = $2 AND ($1 = '' OR actor = $1) AND ($3 = '' OR outcome = $3) \
             ORDER BY seq DESC LIMIT $4"
        ),
        (true, false) => concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events \
             WHERE actor = $1 AND $2 = '' AND ($3 = '' OR outcome = $3) \
             ORDER BY seq DESC LIMIT $4"
        ),
        (true, true) => concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_events \
             WHERE $1 = '' AND $2 = '' AND ($3 = '' OR outcome = $3) \
             ORDER BY seq DESC LIMIT $4"
        ),
    };
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql)
            .bind(filter.actor.trim())
            .bind(filter.subject.trim())
            .bind(filter.outcome.trim())
            .bind(limit)
            .fetch_all(c)
            .await?
    }))
}

/// Where the chain breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub events: u64,
    pub problems: Vec<String>,
    /// The first event named in `problems`.
    pub first_bad: Option<i64>,
}

/// Recomputes every hash, in order, and reports each event whose stored hash or link is wrong.
pub async fn verify_chain(db: &Db) -> Result<ChainReport, StorageError> {
    let sql = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_events ORDER BY seq"
    );
    let events: Vec<AuditEvent> =
        crate::on_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?);
    let mut previous = GENESIS.to_string();
    let mut problems = Vec::new();
    let mut first_bad = None;
    for (index, event) in events.iter().enumerate() {
        let expected_seq = index as i64 + 1;
        if event.seq != expected_seq {
            problems.push(format!(
                "event {}: expected sequence number {expected_seq} (an event is missing)",
                event.seq
            ));
        }
        if event.prev_hash != previous {
            problems.push(format!(
                "event {}: does not follow the event before it",
                event.seq
            ));
        }
        if chain_hash(&event.prev_hash, &event.fields()) != event.hash {
            problems.push(format!(
                "event {}: its contents have changed since it was written",
                event.seq
            ));
        }
        if first_bad.is_none() && !problems.is_empty() {
            first_bad = Some(expected_seq.min(event.seq));
        }
        previous = event.hash.clone();
    }
    Ok(ChainReport {
        events: events.len() as u64,
        problems,
        first_bad,
    })
}

/// Writes one event that is not an access to a record (a sign-in, a sign-out) and commits it.
pub async fn record(db: &Db, event: &NewEvent<'_>) -> Result<(), StorageError> {
    let mut tx = db.begin().await?;
    append(&mut tx, event).await?;
    tx.commit().await
}

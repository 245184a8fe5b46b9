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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

tokio::task_local! {
    /// What the gate decided while [`noting_decisions`] runs.
    static NOTED: Arc<Noted>;
}

/// What the gate decided during one piece of work (a web request).
#[derive(Default)]
pub struct Noted {
    refused: AtomicBool,
    reads: Mutex<Vec<AllowedRead>>,
}

/// A read the gate allowed and audited as allowed before anything was read.
#[derive(Debug, Clone)]
pub struct AllowedRead {
    pub subject: String,
    pub action: String,
    pub purpose: String,
}

impl Noted {
    /// Whether the gate wrote a refusal.
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }

    /// The reads the gate allowed, in order.
    pub fn allowed_reads(&self) -> Vec<AllowedRead> {
        self.reads.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Runs `work`, answering also what the gate decided in it: the web layer audits a refusal that
/// no gate decided (a page a role may not open at all), and a read the gate allowed that then
/// failed.
pub async fn noting_decisions<F: Future>(work: F) -> (F::Output, Arc<Noted>) {
    let noted = Arc::new(Noted::default());
    let output = NOTED.scope(noted.clone(), work).await;
    (output, noted)
}

fn note_allowed_read(subject: &str, action: &str, purpose: &str) {
    let _ = NOTED.try_with(|noted| {
        if let Ok(mut reads) = noted.reads.lock() {
            reads.push(AllowedRead {
                subject: subject.to_string(),
                action: action.to_string(),
                purpose: purpose.to_string(),
            });
        }
    });
}

/// An allowed read whose work then failed (the page could not be read or shown): written to
/// the audit log as `failed`, so the log does not say that the record was seen.
pub async fn record_failed_read(
    db: &Db,
    who: &Who,
    read: &AllowedRead,
) -> Result<(), StorageError> {
    let purpose = format!("{} (failed: the read did not complete)", read.purpose);
    record(
        db,
        &NewEvent {
            actor: &who.actor.email,
            actor_organisation: &who.organisation_name,
            actor_role: who.actor.roles.first().map(|r| r.slug()).unwrap_or("none"),
            subject: &read.subject,
            action: &read.action,
            purpose: &purpose,
            outcome: "failed",
            remote_addr: &who.remote_addr,
        },
    )
    .await
}

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

/// What a permit was given for: a named subject such as `audit_log` or `requests:ladywood`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// Storage's own subject for a step [`Authorised::covering`] takes.
    pub(crate) fn named(subject: &str) -> Subject {
        Subject(subject.to_string())
    }
}

/// A family's case record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyId(pub Uuid);

/// A family's level in the Family Help model: read with the case, stepped only by its leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyLevel(pub Uuid);

/// Who leads a family's case: read with the case, allocated only by its locality's lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyAllocation(pub Uuid);

/// The "known to" view of a family: that it is known and whom to call, never who is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownToFamily(pub Uuid);

/// Emergency access to a family one is not involved with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakGlassOn(pub Uuid);

/// A request for support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(pub Uuid);

/// A partner's request to join the team around a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinRequestId(pub Uuid);

/// A referral from a family's case to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferralId(pub Uuid);

/// Everything held about one person (a family member), as information governance sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonRecord(pub Uuid);

/// Proof that the gate allowed `action` on `record` and audited it. Only this module makes
/// one, and storage takes the record's id from the permit, never from an argument of its own:
/// a change cannot land on another record than the one the gate allowed.
#[derive(Debug)]
pub struct Permit<R = Subject> {
    record: R,
    action: Action,
    holder: Holder,
}

/// Whom the gate gave a permit: a person it decided for, or the operator at the command line.
/// Only an operator's transaction may be widened as the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Person,
    Operator,
}

impl<R> Permit<R> {
    /// Whether the permit allows changing its record (not only reading it).
    pub fn allows_change(&self) -> Result<(), StorageError> {
        match self.action {
            Action::Create | Action::Update => Ok(()),
            Action::Read | Action::List => {
                Err(StorageError::Denied("a read permit changes nothing"))
            }
        }
    }
}

impl<R: Copy> Permit<R> {
    /// The record this permit names.
    pub fn record(&self) -> R {
        self.record
    }

    /// The record, if the permit allows changing it (not only reading it).
    pub fn for_change(&self) -> Result<R, StorageError> {
        self.allows_change().map(|()| self.record)
    }
}

impl Permit<Subject> {
    pub fn subject(&self) -> &str {
        &self.record.0
    }
}

impl<R> Authorised<R> {
    /// The same transaction under another permit the gate gave, for a change across records
    /// (the operator loading many families); answers the permit it held before.
    pub fn swap<S>(self, permit: Permit<S>) -> (Authorised<S>, Permit<R>) {
        (
            Authorised {
                tx: self.tx,
                permit,
            },
            self.permit,
        )
    }

    /// Commits the audit event (and whatever else is in the transaction so far) and goes on
    /// under the same permit in a fresh transaction, so bulk work that follows (a list's
    /// thousands of rows) does not hold the audit chain's lock, as [`authorise_read`] does
    /// for reads. The event is durable before the work starts.
    pub async fn audited(self, db: &Db) -> Result<Self, StorageError> {
        self.tx.commit().await?;
        Ok(Authorised {
            tx: db.begin().await?,
            permit: self.permit,
        })
    }

    /// Storage's own step from one permitted record to the record it belongs to or holds: a
    /// subject access request reads the person's family record under the person's permit.
    pub(crate) fn covering<S>(self, record: S) -> Authorised<S> {
        Authorised {
            tx: self.tx,
            permit: Permit {
                record,
                action: self.permit.action,
                holder: self.permit.holder,
            },
        }
    }
}

impl Permit<FamilyId> {
    pub fn family_id(&self) -> Uuid {
        self.record.0
    }
}

/// A transaction that has passed the gate, with its permit.
pub struct Authorised<R = Subject> {
    pub tx: Tx,
    pub permit: Permit<R>,
}

fn is_read(action: Action) -> bool {
    matches!(action, Action::Read | Action::List)
}

/// Decides, audits, and on refusal commits the audit event before answering `Denied`.
pub async fn authorise(
    db: &Db,
    who: &Who,
    request: Request<'_>,
) -> Result<Authorised, StorageError> {
    let mut tx = db.begin().await?;
    let decision = decide(&who.actor, request.action, &request.resource);
    let purpose = audit_purpose(request.purpose, &decision);
    let event = access_event(who, request.action, request.subject, &purpose, &decision);
    append(&mut tx, &event).await?;
    if decision.allowed {
        Ok(Authorised {
            tx,
            permit: Permit {
                record: Subject(request.subject.to_string()),
                action: request.action,
                holder: Holder::Person,
            },
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
    debug_assert!(is_read(request.action));
    let decision = decide(&who.actor, request.action, &request.resource);
    let purpose = audit_purpose(request.purpose, &decision);
    let event = access_event(who, request.action, request.subject, &purpose, &decision);
    record(db, &event).await?;
    if !decision.allowed {
        return Err(StorageError::Denied(decision.reason));
    }
    Ok(Authorised {
        tx: db.begin_read().await?,
        permit: Permit {
            record: Subject(request.subject.to_string()),
            action: request.action,
            holder: Holder::Person,
        },
    })
}

/// Widens an authorised transaction to one more named subject, for a change that must land
/// all-or-nothing. Decided and audited as [`authorise`] does; a refusal rolls back everything
/// so far and commits the refusal alone.
pub async fn authorise_also<R>(
    db: &Db,
    mut authorised: Authorised<R>,
    who: &Who,
    request: Request<'_>,
) -> Result<Authorised<R>, StorageError> {
    let decision = decide(&who.actor, request.action, &request.resource);
    let purpose = audit_purpose(request.purpose, &decision);
    let event = access_event(who, request.action, request.subject, &purpose, &decision);
    if decision.allowed {
        append(&mut authorised.tx, &event).await?;
        Ok(authorised)
    } else {
        drop(authorised);
        record(db, &event).await?;
        Err(StorageError::Denied(decision.reason))
    }
}

/// How one access to a record is asked for: the record's id, what is done, and why.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub id: Uuid,
    pub action: Action,
    pub purpose: &'a str,
}

/// A kind of record the gate gives permits for: the facts about it the access rules need, and
/// the subject the audit log files the access under, read in the transaction that acts.
pub trait Guarded: Copy + Send {
    fn new(id: Uuid) -> Self;
    /// What the rules need to know, and the audit subject; `None` if there is no such record.
    fn resource(
        tx: &mut Tx,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<(Resource, String)>, StorageError>> + Send;
}

fn family_subject(id: Uuid) -> String {
    format!("family:{id}")
}

/// A permit kind for a family's own record, judged on its involvement as `$resource`.
macro_rules! guarded_family {
    ($kind:ident, $resource:path) => {
        impl Guarded for $kind {
            fn new(id: Uuid) -> Self {
                $kind(id)
            }
            async fn resource(
                tx: &mut Tx,
                id: Uuid,
            ) -> Result<Option<(Resource, String)>, StorageError> {
                let involvement = crate::cases::involvement(tx, id).await?;
                Ok(involvement.map(|i| ($resource(i), family_subject(id))))
            }
        }
    };
}

guarded_family!(FamilyId, Resource::Family);
guarded_family!(FamilyAllocation, Resource::FamilyAllocation);
guarded_family!(FamilyLevel, Resource::FamilyLevel);

impl Guarded for KnownToFamily {
    fn new(id: Uuid) -> Self {
        KnownToFamily(id)
    }
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let involvement = crate::cases::involvement(tx, id).await?;
        Ok(involvement.map(|_| (Resource::FamilyKnownTo, family_subject(id))))
    }
}

impl Guarded for BreakGlassOn {
    fn new(id: Uuid) -> Self {
        BreakGlassOn(id)
    }
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let involvement = crate::cases::involvement(tx, id).await?;
        Ok(involvement.map(|_| (Resource::BreakGlass, family_subject(id))))
    }
}

impl Guarded for JoinRequestId {
    fn new(id: Uuid) -> Self {
        JoinRequestId(id)
    }
    /// Filed under the family, so answering shows among those who have touched its record.
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let Some(family) = crate::asks::join_request_family(tx, id).await? else {
            return Ok(None);
        };
        let involvement = crate::cases::involvement(tx, family).await?;
        Ok(involvement.map(|i| (Resource::JoinRequest(i), family_subject(family))))
    }
}

impl Guarded for RequestId {
    fn new(id: Uuid) -> Self {
        RequestId(id)
    }
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let locality = crate::cases::request_locality(tx, id).await?;
        Ok(locality.map(|locality| {
            let resource = Resource::SupportRequest {
                locality: Some(locality),
            };
            (resource, format!("request:{id}"))
        }))
    }
}

impl Guarded for ReferralId {
    fn new(id: Uuid) -> Self {
        ReferralId(id)
    }
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let resource = crate::connections::resource(tx, id).await?;
        Ok(resource.map(|r| (r, format!("referral:{id}"))))
    }
}

impl Guarded for PersonRecord {
    fn new(id: Uuid) -> Self {
        PersonRecord(id)
    }
    /// Filed under the person's family, so the subject access request shows among those who
    /// have looked at the family's record.
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let family = crate::sar::person_family(tx, id).await?;
        Ok(family.map(|family| (Resource::RecordsGovernance, family_subject(family))))
    }
}

/// What the gate decided about one record, with the facts read in the transaction that acts.
struct Judged<R> {
    record: R,
    subject: String,
    purpose: String,
    decision: Decision,
    /// No such record: refused (and audited) as one the asker may not see, so neither leaks.
    missing: bool,
}

impl<R: Guarded> Judged<R> {
    async fn judge(tx: &mut Tx, who: &Who, ask: Ask<'_>) -> Result<Self, StorageError> {
        let record = R::new(ask.id);
        let (decision, missing, subject) = match R::resource(tx, ask.id).await? {
            Some((resource, subject)) => {
                (decide(&who.actor, ask.action, &resource), false, subject)
            }
            None => (Decision::deny("no such record"), true, ask.id.to_string()),
        };
        Ok(Judged {
            subject,
            purpose: audit_purpose(ask.purpose, &decision).into_owned(),
            record,
            decision,
            missing,
        })
    }

    fn event<'a>(&'a self, who: &'a Who, ask: Ask<'a>) -> NewEvent<'a> {
        access_event(
            who,
            ask.action,
            &self.subject,
            &self.purpose,
            &self.decision,
        )
    }

    fn permit(self, ask: Ask<'_>) -> Result<Permit<R>, StorageError> {
        match (self.decision.allowed, self.missing) {
            (true, _) => Ok(Permit {
                record: self.record,
                action: ask.action,
                holder: Holder::Person,
            }),
            (false, true) => Err(StorageError::NotFound),
            (false, false) => Err(StorageError::Denied(self.decision.reason)),
        }
    }
}

/// Through the gate to one record: the facts the decision rests on (team, consent, locality)
/// are read in the transaction that writes the decision. A change keeps that transaction; a
/// read commits it and answers a read-only snapshot, as [`authorise_read`] does.
pub async fn authorise_record<R: Guarded>(
    db: &Db,
    who: &Who,
    ask: Ask<'_>,
) -> Result<Authorised<R>, StorageError> {
    if is_read(ask.action) {
        // Judged in a snapshot given back before the event is written: a read waits for the
        // audit log holding no connection, then reads in a snapshot of its own.
        let mut judging = db.begin_read().await?;
        let judged = Judged::<R>::judge(&mut judging, who, ask).await?;
        judging.commit().await?;
        record(db, &judged.event(who, ask)).await?;
        let permit = judged.permit(ask)?;
        return Ok(Authorised {
            tx: db.begin_read().await?,
            permit,
        });
    }
    let mut tx = db.begin().await?;
    let judged = Judged::<R>::judge(&mut tx, who, ask).await?;
    append(&mut tx, &judged.event(who, ask)).await?;
    let permit = match judged.permit(ask) {
        Ok(permit) => permit,
        Err(refused) => {
            tx.commit().await?;
            return Err(refused);
        }
    };
    Ok(Authorised { tx, permit })
}

/// A permit for one more record in an authorised change (triage onto a family already known,
/// an import naming many), decided and audited in the same transaction. A refusal rolls back
/// everything so far and commits the refusal alone.
pub async fn authorise_also_record<R: Guarded, P>(
    db: &Db,
    mut authorised: Authorised<P>,
    who: &Who,
    ask: Ask<'_>,
) -> Result<(Authorised<P>, Permit<R>), StorageError> {
    let judged = Judged::<R>::judge(&mut authorised.tx, who, ask).await?;
    if judged.decision.allowed {
        append(&mut authorised.tx, &judged.event(who, ask)).await?;
        let permit = judged.permit(ask)?;
        return Ok((authorised, permit));
    }
    drop(authorised);
    record(db, &judged.event(who, ask)).await?;
    Err(judged.permit(ask).err().unwrap_or(StorageError::NotFound))
}

/// Permits for many records of one kind in one transaction, all or none: an import naming
/// many families. On the first refusal nothing is kept but the refusal, and its index is named.
pub async fn authorise_many<R: Guarded>(
    db: &Db,
    who: &Who,
    asks: &[Ask<'_>],
) -> Result<Many<R>, (usize, StorageError)> {
    let mut tx = db.begin().await.map_err(|e| (0, e))?;
    let mut permits = Vec::with_capacity(asks.len());
    for (index, ask) in asks.iter().enumerate() {
        let judged = Judged::<R>::judge(&mut tx, who, *ask)
            .await
            .map_err(|e| (index, e))?;
        if !judged.decision.allowed {
            drop(tx);
            record(db, &judged.event(who, *ask))
                .await
                .map_err(|e| (index, e))?;
            return Err((
                index,
                judged.permit(*ask).err().unwrap_or(StorageError::NotFound),
            ));
        }
        append(&mut tx, &judged.event(who, *ask))
            .await
            .map_err(|e| (index, e))?;
        permits.push(judged.permit(*ask).map_err(|e| (index, e))?);
    }
    Ok(Many { tx, permits })
}

/// A transaction with permits for many records of one kind.
pub struct Many<R> {
    pub tx: Tx,
    pub permits: Vec<Permit<R>>,
}

/// A refusal that the gate did not decide, such as a page that a role may not open at all:
/// written to the audit log like every other refusal, with who, what and why.
pub async fn record_refusal(
    db: &Db,
    who: &Who,
    subject: &str,
    action: Action,
    purpose: &str,
    reason: &'static str,
) -> Result<(), StorageError> {
    let purpose = audit_purpose(purpose, &Decision::deny(reason));
    record(
        db,
        &NewEvent {
            actor: &who.actor.email,
            actor_organisation: &who.organisation_name,
            actor_role: who.actor.roles.first().map(|r| r.slug()).unwrap_or("none"),
            subject,
            action: action.as_str(),
            purpose: &purpose,
            outcome: "denied",
            remote_addr: &who.remote_addr,
        },
    )
    .await
}

/// The purpose as the audit log keeps it: a refusal says why it was refused.
fn audit_purpose<'a>(purpose: &'a str, decision: &Decision) -> std::borrow::Cow<'a, str> {
    if decision.allowed {
        purpose.into()
    } else {
        format!("{purpose} (refused: {})", decision.reason).into()
    }
}

fn access_event<'a>(
    who: &'a Who,
    action: Action,
    subject: &'a str,
    purpose: &'a str,
    decision: &Decision,
) -> NewEvent<'a> {
    NewEvent {
        actor: &who.actor.email,
        actor_organisation: &who.organisation_name,
        actor_role: decision.as_role.map(|r| r.slug()).unwrap_or("none"),
        subject,
        action: action.as_str(),
        purpose,
        outcome: if decision.allowed {
            "allowed"
        } else {
            "denied"
        },
        remote_addr: &who.remote_addr,
    }
}

/// Writes, under another record's own subject (`family:ID`, `request:ID`), that a person
/// already allowed `request` saw something of that record (a matching reviewer shown a masked
/// candidate), so the record's own access log shows it. Decided as `request` is.
pub async fn record_seen(
    db: &Db,
    who: &Who,
    request: Request<'_>,
    record_subject: &str,
) -> Result<(), StorageError> {
    let decision = decide(&who.actor, request.action, &request.resource);
    let purpose = audit_purpose(request.purpose, &decision);
    let event = access_event(who, request.action, record_subject, &purpose, &decision);
    record(db, &event).await?;
    match decision.allowed {
        true => Ok(()),
        false => Err(StorageError::Denied(decision.reason)),
    }
}

/// For the operator at the command line and background jobs, who hold the database itself: the
/// access is still written to the audit log, under the name `operator`. Never called from a web
/// handler (a test holds the web crate to that).
pub async fn operator(
    db: &Db,
    subject: &str,
    action: Action,
    purpose: &str,
) -> Result<Authorised, StorageError> {
    let mut authorised = Authorised {
        tx: db.begin().await?,
        permit: Permit {
            record: Subject(subject.to_string()),
            action,
            holder: Holder::Operator,
        },
    };
    operator_also(&mut authorised, subject, action, purpose).await?;
    Ok(authorised)
}

/// Refuses a transaction that a person's permit opened: the operator's name in the audit log
/// must not cover a change a person was allowed.
fn held_by_operator<P>(authorised: &Authorised<P>) -> Result<(), StorageError> {
    match authorised.permit.holder {
        Holder::Operator => Ok(()),
        Holder::Person => Err(StorageError::Denied(
            "only the operator's own transaction is widened as the operator",
        )),
    }
}

/// The operator's access to one more named subject in the same transaction, written to the
/// audit log. Only in a transaction the operator opened.
pub async fn operator_also<P>(
    authorised: &mut Authorised<P>,
    subject: &str,
    action: Action,
    purpose: &str,
) -> Result<(), StorageError> {
    held_by_operator(authorised)?;
    append(
        &mut authorised.tx,
        &operator_event(subject, action, purpose),
    )
    .await
}

pub(crate) fn operator_event<'a>(
    subject: &'a str,
    action: Action,
    purpose: &'a str,
) -> NewEvent<'a> {
    NewEvent {
        actor: "operator",
        actor_organisation: "command line",
        actor_role: "operator",
        subject,
        action: action.as_str(),
        purpose,
        outcome: "allowed",
        remote_addr: "local",
    }
}

/// The operator's access to one record, in a transaction of its own, written to the audit log.
pub async fn operator_on<R: Guarded>(db: &Db, ask: Ask<'_>) -> Result<Authorised<R>, StorageError> {
    let mut tx = db.begin().await?;
    let permit = operator_permit(&mut tx, ask).await?;
    Ok(Authorised { tx, permit })
}

/// The operator's permit for one more record in a transaction the operator opened, written to
/// the audit log.
pub async fn operator_record<R: Guarded, P>(
    authorised: &mut Authorised<P>,
    ask: Ask<'_>,
) -> Result<Permit<R>, StorageError> {
    held_by_operator(authorised)?;
    operator_permit(&mut authorised.tx, ask).await
}

async fn operator_permit<R: Guarded>(tx: &mut Tx, ask: Ask<'_>) -> Result<Permit<R>, StorageError> {
    let (_, subject) = R::resource(tx, ask.id)
        .await?
        .ok_or(StorageError::NotFound)?;
    append(tx, &operator_event(&subject, ask.action, ask.purpose)).await?;
    Ok(Permit {
        record: R::new(ask.id),
        action: ask.action,
        holder: Holder::Operator,
    })
}

/// The operator's permits for many records of one kind in one transaction: records that do
/// not exist are refused by index, as for a person.
pub async fn operator_many<R: Guarded>(
    db: &Db,
    asks: &[Ask<'_>],
) -> Result<Many<R>, (usize, StorageError)> {
    let mut tx = db.begin().await.map_err(|e| (0, e))?;
    let mut permits = Vec::with_capacity(asks.len());
    for (index, ask) in asks.iter().enumerate() {
        let permit = operator_permit::<R>(&mut tx, *ask)
            .await
            .map_err(|e| (index, e))?;
        permits.push(permit);
    }
    Ok(Many { tx, permits })
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
    note(event);
    chain(tx, std::slice::from_ref(event)).await
}

/// Notes the decision for the request's refusal and failed-read auditing (`noting_decisions`),
/// in the task of the request itself.
fn note(event: &NewEvent<'_>) {
    if event.outcome == "denied" {
        let _ = NOTED.try_with(|noted| noted.refused.store(true, Ordering::Relaxed));
    } else if event.outcome == "allowed" && matches!(event.action, "read" | "list") {
        note_allowed_read(event.subject, event.action, event.purpose);
    }
}

/// Appends `events`, in order, after the chain's last event.
async fn chain(tx: &mut Tx, events: &[NewEvent<'_>]) -> Result<(), StorageError> {
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
    let (mut seq, mut previous) = last.unwrap_or_else(|| (0, GENESIS.to_string()));
    for event in events {
        seq += 1;
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
        previous = hash;
    }
    Ok(())
}

/// An audit event waiting in an [`AuditQueue`].
#[derive(Debug)]
struct QueuedEvent {
    actor: String,
    actor_organisation: String,
    actor_role: String,
    subject: String,
    action: String,
    purpose: String,
    outcome: String,
    remote_addr: String,
}

impl QueuedEvent {
    fn of(event: &NewEvent<'_>) -> Self {
        QueuedEvent {
            actor: event.actor.to_string(),
            actor_organisation: event.actor_organisation.to_string(),
            actor_role: event.actor_role.to_string(),
            subject: event.subject.to_string(),
            action: event.action.to_string(),
            purpose: event.purpose.to_string(),
            outcome: event.outcome.to_string(),
            remote_addr: event.remote_addr.to_string(),
        }
    }

    fn event(&self) -> NewEvent<'_> {
        NewEvent {
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
}

type Written = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Group commit of the audit events a process records in their own transactions (every
/// read's event): each waits here, and whoever holds the writer's turn appends everything
/// waiting in one transaction (on PostgreSQL under one take of the chain's advisory lock).
/// Under load, one commit then serves many requests instead of each queueing for the writer
/// (measured: on PostgreSQL most of the family page's waits were for the lock; on SQLite each
/// read paid a write transaction of its own). Several PostgreSQL processes still share the
/// chain through the lock; every event is committed before its request reads anything.
#[derive(Clone, Debug, Default)]
pub struct AuditQueue(Arc<QueueState>);

#[derive(Debug, Default)]
struct QueueState {
    waiting: Mutex<Vec<(QueuedEvent, Written)>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl AuditQueue {
    async fn append(&self, db: &Db, event: &NewEvent<'_>) -> Result<(), StorageError> {
        let unwritten = || StorageError::Audit("the batch was not written".into());
        let (done, mut written) = tokio::sync::oneshot::channel();
        self.waiting().push((QueuedEvent::of(event), done));
        let turn = self.0.turn.clone().lock_owned().await;
        // The batch before ours may have taken it: it answered before giving up the turn.
        match written.try_recv() {
            Ok(outcome) => return outcome.map_err(StorageError::Audit),
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => return Err(unwritten()),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = std::mem::take(&mut *self.waiting());
        let db = db.clone();
        // A task of its own, so that a request cancelled now cannot drop the others' events.
        tokio::spawn(async move {
            let events: Vec<NewEvent<'_>> = batch.iter().map(|(e, _)| e.event()).collect();
            let outcome = write_events(&db, &events).await.map_err(|e| e.to_string());
            drop(events);
            for (_, done) in batch {
                let _ = done.send(outcome.clone());
            }
            drop(turn);
        });
        written
            .await
            .map_err(|_| unwritten())?
            .map_err(StorageError::Audit)
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<(QueuedEvent, Written)>> {
        // A panic while holding it only pushed or took the list, which stays whole.
        self.0.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Appends `events` in a transaction of their own.
async fn write_events(db: &Db, events: &[NewEvent<'_>]) -> Result<(), StorageError> {
    let mut tx = db.begin().await?;
    chain(&mut tx, events).await?;
    tx.commit().await
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
pub async fn list_events<R>(
    authorised: &mut Authorised<R>,
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

/// Writes one event and commits it, in a transaction of its own with the others waiting in
/// the [`AuditQueue`]: a sign-in, a refusal, or a read's access.
pub async fn record(db: &Db, event: &NewEvent<'_>) -> Result<(), StorageError> {
    note(event);
    match db {
        Db::Postgres(_, queue) => queue.append(db, event).await,
        Db::Sqlite(_, writes) => writes.audit.append(db, event).await,
    }
}

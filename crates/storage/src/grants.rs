//! Community grants: applications from the public form, assessors' scores and conflicts, the
//! decision (which commits the programme's budget in its transaction, as a payment's approval
//! does), tranches, monitoring returns, and the funded service's directory listing.
//!
//! An application is read and scored under an [`ApplicationId`] permit and decided, paid and
//! reported on under an [`AwardOf`] permit; both carry the conflicts declared on it, so the gate
//! keeps a conflicted assessor or officer out.

use crate::directory::{self, ServiceRecord};
use crate::gate::{Authorised, Guarded, NewEvent, append};
use crate::payments::{ProgrammeRow, commit_budget, programme};
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::Resource;
use earlyhelp_domain::cases::iso;
use earlyhelp_domain::grants::{
    self, ApplicationFacts, ApplicationState, CheckedApplication, CheckedDecision, CheckedReturn,
};
use earlyhelp_domain::money::ProgrammeKind;
use serde::Serialize;
use uuid::Uuid;

/// An application, to read and score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationId(pub Uuid);

/// An application, to decide, pay and report on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwardOf(pub Uuid);

async fn facts_of(tx: &mut Tx, id: Uuid) -> Result<Option<ApplicationFacts>, StorageError> {
    let exists: Option<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT id FROM grant_applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
    });
    if exists.is_none() {
        return Ok(None);
    }
    let conflicted: Vec<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT assessor_id FROM grant_conflicts WHERE application_id = $1")
            .bind(id)
            .fetch_all(c)
            .await?
    });
    Ok(Some(ApplicationFacts { conflicted }))
}

fn subject(id: Uuid) -> String {
    format!("grant_application:{id}")
}

impl Guarded for ApplicationId {
    fn new(id: Uuid) -> Self {
        ApplicationId(id)
    }
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let facts = facts_of(tx, id).await?;
        Ok(facts.map(|f| (Resource::GrantApplication(f), subject(id))))
    }
}

impl Guarded for AwardOf {
    fn new(id: Uuid) -> Self {
        AwardOf(id)
    }
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        let facts = facts_of(tx, id).await?;
        Ok(facts.map(|f| (Resource::GrantAward(f), subject(id))))
    }
}

/// `CG-` and the id's last ten hex digits: short enough to quote on the phone.
fn reference_of(id: Uuid) -> String {
    format!("CG-{}", &id.simple().to_string()[22..].to_uppercase())
}

// ---------------------------------------------------------------------------------------------
// Applying

/// The community grants programmes open on `today`, for the public form.
pub async fn open_programmes(
    db: &Db,
    today: time::Date,
) -> Result<Vec<ProgrammeRow>, StorageError> {
    let mut tx = db.begin_read().await?;
    let all = crate::payments::programmes(&mut tx).await?;
    tx.commit().await?;
    Ok(all
        .into_iter()
        .filter(|p| p.kind == ProgrammeKind::CommunityGrants.slug() && p.is_open(today))
        .collect())
}

/// One programme with its criteria, if it exists.
pub async fn programme_with_criteria(
    tx: &mut Tx,
    id: Uuid,
) -> Result<Option<(ProgrammeRow, Vec<String>)>, StorageError> {
    let Some(found) = programme(tx, id).await? else {
        return Ok(None);
    };
    let criteria = criteria(tx, id).await?;
    Ok(Some((found, criteria)))
}

async fn criteria(tx: &mut Tx, programme: Uuid) -> Result<Vec<String>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT criterion FROM programme_criteria WHERE programme_id = $1 ORDER BY position",
        )
        .bind(programme)
        .fetch_all(c)
        .await?
    }))
}

/// Stores an application from the public form (no one is signed in: the audit log records the
/// public and the address it came from). Answers its reference.
pub async fn submit(
    db: &Db,
    remote_addr: &str,
    programme: &ProgrammeRow,
    application: &CheckedApplication,
) -> Result<String, StorageError> {
    let id = Uuid::now_v7();
    let reference = reference_of(id);
    let mut tx = db.begin().await?;
    append(
        &mut tx,
        &NewEvent {
            actor: "public",
            actor_organisation: "",
            actor_role: "none",
            subject: &subject(id),
            action: "create",
            purpose: "community grant application",
            outcome: "allowed",
            remote_addr,
        },
    )
    .await?;
    insert_application(
        &mut tx,
        id,
        &reference,
        programme,
        application,
        now_micros(),
    )
    .await?;
    let subject = format!("Your application {reference} to {}", programme.name);
    let body = format!(
        "We have your application {reference} ({}) to {}. At least two assessors will score it \
         against the programme's criteria; the decision and its reasons will come to this address.",
        application.title, programme.name
    );
    let to = &application.contact_email;
    crate::outbox::enqueue(&mut tx, to, &subject, &body, "/grants/apply").await?;
    tx.commit().await?;
    Ok(reference)
}

/// Writes one application as submitted (the public form, the demo).
pub async fn insert_application(
    tx: &mut Tx,
    id: Uuid,
    reference: &str,
    programme: &ProgrammeRow,
    a: &CheckedApplication,
    submitted_micros: i64,
) -> Result<(), StorageError> {
    let identifier = a.organisation_identifier(&programme.identifier_prefix, reference);
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO grant_applications (id, reference, programme_id, organisation_type, \
             organisation_name, charity_number, company_number, organisation_identifier, \
             contact_name, contact_email, locality_slug, beneficiary_area, beneficiary_area_type, \
             title, activity, families, amount_pence, charter, state, submitted_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(id)
        .bind(reference)
        .bind(programme.id)
        .bind(a.organisation_type.slug())
        .bind(&a.organisation_name)
        .bind(&a.charity_number)
        .bind(&a.company_number)
        .bind(&identifier)
        .bind(&a.contact_name)
        .bind(&a.contact_email)
        .bind(&a.locality)
        .bind(&a.area)
        .bind(a.area_type.slug())
        .bind(&a.title)
        .bind(&a.activity)
        .bind(a.families)
        .bind(a.amount_pence)
        .bind(a.charter)
        .bind(ApplicationState::Submitted.slug())
        .bind(submitted_micros)
        .execute(c)
        .await?;
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading

/// An application as its line in the assessors' list: where it stands and how it scored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApplicationLine {
    pub id: Uuid,
    pub reference: String,
    pub programme_name: String,
    pub organisation_name: String,
    pub title: String,
    pub locality_slug: String,
    pub amount_pence: i64,
    pub state: String,
    pub submitted_micros: i64,
    pub award_pence: Option<i64>,
    /// How many assessors have scored it.
    pub assessors: i64,
    /// The sum of every score given, over every assessor.
    pub score_sum: i64,
    /// Whether the person looking declared a conflict in it, or has scored it.
    pub conflicted: bool,
    pub scored: bool,
}

/// Applications to one programme (or every one), oldest first, as `viewer` sees them listed.
pub async fn applications(
    tx: &mut Tx,
    programme: Option<Uuid>,
    viewer: Uuid,
) -> Result<Vec<ApplicationLine>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT a.id, a.reference, g.name AS programme_name, a.organisation_name, a.title, \
             a.locality_slug, a.amount_pence, a.state, a.submitted_micros, a.award_pence, \
             (SELECT COUNT(DISTINCT s.assessor_id) FROM grant_scores s WHERE s.application_id = a.id) AS assessors, \
             (SELECT CAST(COALESCE(SUM(s.score), 0) AS BIGINT) FROM grant_scores s WHERE s.application_id = a.id) AS score_sum, \
             EXISTS (SELECT 1 FROM grant_conflicts k WHERE k.application_id = a.id AND k.assessor_id = $2) AS conflicted, \
             EXISTS (SELECT 1 FROM grant_scores s WHERE s.application_id = a.id AND s.assessor_id = $2) AS scored \
             FROM grant_applications a JOIN programmes g ON g.id = a.programme_id \
             WHERE ($1 IS NULL OR a.programme_id = $1) \
             ORDER BY a.submitted_micros, a.id",
        )
        .bind(programme)
        .bind(viewer)
        .fetch_all(c)
        .await?
    }))
}

/// An application in full.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub reference: String,
    pub programme_id: Uuid,
    pub organisation_type: String,
    pub organisation_name: String,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub organisation_identifier: String,
    pub contact_name: String,
    pub contact_email: String,
    pub locality_slug: String,
    pub beneficiary_area: String,
    pub beneficiary_area_type: String,
    pub title: String,
    pub activity: String,
    pub families: i64,
    pub amount_pence: i64,
    pub charter: bool,
    pub state: String,
    pub submitted_micros: i64,
    pub decider_name: Option<String>,
    pub decided_micros: Option<i64>,
    pub decision_reasons: Option<String>,
    pub award_pence: Option<i64>,
    pub award_date: Option<String>,
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    pub service_id: Option<Uuid>,
}

/// One assessor's score for one criterion.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ScoreRow {
    pub assessor_id: Uuid,
    pub assessor_name: String,
    pub position: i64,
    pub score: i64,
    pub comment: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConflictRow {
    pub assessor_id: Uuid,
    pub assessor_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TrancheRow {
    pub number: i64,
    pub amount_pence: i64,
    pub due_on: String,
    pub paid_on: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReturnRow {
    pub period_end: String,
    pub families_supported: i64,
    pub sessions: i64,
    pub packs: i64,
    pub case_study: String,
}

/// Everything about one application.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationFile {
    pub application: ApplicationRow,
    pub programme: ProgrammeRow,
    pub criteria: Vec<String>,
    pub scores: Vec<ScoreRow>,
    pub conflicts: Vec<ConflictRow>,
    pub tranches: Vec<TrancheRow>,
    pub returns: Vec<ReturnRow>,
}

/// The permitted application and all that hangs off it.
pub async fn application<R: Guarded + Into<Uuid>>(
    authorised: &mut Authorised<R>,
) -> Result<ApplicationFile, StorageError> {
    let id: Uuid = authorised.permit.record().into();
    let tx = &mut authorised.tx;
    let application: ApplicationRow = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, reference, programme_id, organisation_type, organisation_name, charity_number, \
             company_number, organisation_identifier, contact_name, contact_email, locality_slug, \
             beneficiary_area, beneficiary_area_type, title, activity, families, amount_pence, charter, \
             state, submitted_micros, decider_name, decided_micros, decision_reasons, award_pence, \
             award_date, planned_start, planned_end, service_id \
             FROM grant_applications WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    })
    .ok_or(StorageError::NotFound)?;
    let (programme, criteria) = programme_with_criteria(tx, application.programme_id)
        .await?
        .ok_or(StorageError::NotFound)?;
    let (scores, conflicts, tranches, returns) = on_tx!(tx, c => {
        let scores = sqlx::query_as(
            "SELECT assessor_id, assessor_name, position, score, comment FROM grant_scores \
             WHERE application_id = $1 ORDER BY scored_micros, assessor_id, position",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let conflicts = sqlx::query_as(
            "SELECT k.assessor_id, u.name AS assessor_name, k.reason FROM grant_conflicts k \
             JOIN users u ON u.id = k.assessor_id WHERE k.application_id = $1 ORDER BY k.declared_micros",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let tranches = sqlx::query_as(
            "SELECT number, amount_pence, due_on, paid_on FROM grant_tranches \
             WHERE application_id = $1 ORDER BY number",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        let returns = sqlx::query_as(
            "SELECT period_end, families_supported, sessions, packs, \
             CASE WHEN case_study_consent THEN case_study ELSE '' END AS case_study \
             FROM grant_returns WHERE application_id = $1 ORDER BY period_end",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        (scores, conflicts, tranches, returns)
    });
    Ok(ApplicationFile {
        application,
        programme,
        criteria,
        scores,
        conflicts,
        tranches,
        returns,
    })
}

impl From<ApplicationId> for Uuid {
    fn from(id: ApplicationId) -> Uuid {
        id.0
    }
}

impl From<AwardOf> for Uuid {
    fn from(id: AwardOf) -> Uuid {
        id.0
    }
}

// ---------------------------------------------------------------------------------------------
// Assessing

/// Someone who acts: their account and name.
pub type By<'a> = (Uuid, &'a str);

/// Declares `by`'s conflict of interest: from now on the gate keeps them out of it.
pub async fn declare_conflict(
    authorised: &mut Authorised<ApplicationId>,
    by: By<'_>,
    reason: &str,
) -> Result<(), StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO grant_conflicts (application_id, assessor_id, reason, declared_micros) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (application_id, assessor_id) DO NOTHING",
        )
        .bind(id)
        .bind(by.0)
        .bind(reason)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Records (or replaces) `by`'s scores, one per criterion, while the application is undecided.
pub async fn score(
    authorised: &mut Authorised<ApplicationId>,
    by: By<'_>,
    scores: &[i64],
    comment: &str,
) -> Result<(), StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    require_state(tx, id, ApplicationState::Submitted, "scored").await?;
    let now = now_micros();
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM grant_scores WHERE application_id = $1 AND assessor_id = $2")
            .bind(id)
            .bind(by.0)
            .execute(&mut *c)
            .await?;
        for (position, score) in scores.iter().enumerate() {
            sqlx::query(
                "INSERT INTO grant_scores (application_id, assessor_id, assessor_name, position, \
                 score, comment, scored_micros) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(by.0)
            .bind(by.1)
            .bind(position as i64)
            .bind(score)
            .bind(comment)
            .bind(now)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

async fn require_state(
    tx: &mut Tx,
    id: Uuid,
    wanted: ApplicationState,
    doing: &str,
) -> Result<(), StorageError> {
    let state: String = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT state FROM grant_applications WHERE id = $1")
            .bind(id)
            .fetch_one(c)
            .await?
    });
    if state == wanted.slug() {
        Ok(())
    } else {
        let now = ApplicationState::from_slug(&state).map_or("changed", ApplicationState::label);
        Err(StorageError::Refused(format!(
            "This application cannot be {doing}: it is {}",
            now.to_lowercase()
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Deciding and paying

/// Awards or declines. An award needs two assessors' scores, and commits the programme's budget
/// (and the locality's) in this transaction, so concurrent awards never overspend.
pub async fn decide(
    authorised: &mut Authorised<AwardOf>,
    by: By<'_>,
    decision: &CheckedDecision,
    today: time::Date,
) -> Result<(), StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let (programme_id, locality): (Uuid, String) = on_tx!(tx, c => {
        sqlx::query_as("SELECT programme_id, locality_slug FROM grant_applications WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await?
    });
    let assessors: i64 = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(DISTINCT assessor_id) FROM grant_scores WHERE application_id = $1",
        )
        .bind(id)
        .fetch_one(c)
        .await?
    });
    grants::ready_to_decide(assessors as usize).map_err(StorageError::Refused)?;
    let to = if decision.award.is_some() {
        ApplicationState::Awarded
    } else {
        ApplicationState::Declined
    };
    let award = decision.award.as_ref();
    let moved = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE grant_applications SET state = $2, decided_by = $3, decider_name = $4, \
             decided_micros = $5, decision_reasons = $6, award_pence = $7, award_date = $8, \
             planned_start = $9, planned_end = $10 WHERE id = $1 AND state = $11",
        )
        .bind(id)
        .bind(to.slug())
        .bind(by.0)
        .bind(by.1)
        .bind(now_micros())
        .bind(&decision.reasons)
        .bind(award.map(|a| a.amount_pence))
        .bind(award.map(|_| iso(today)))
        .bind(award.map(|a| iso(a.planned_start)))
        .bind(award.map(|a| iso(a.planned_end)))
        .bind(ApplicationState::Submitted.slug())
        .execute(c)
        .await?
        .rows_affected()
    });
    if moved == 0 {
        return Err(StorageError::Refused(
            "This application has already been decided: look at it again".into(),
        ));
    }
    if let Some(award) = award {
        commit_budget(tx, programme_id, &locality, award.amount_pence).await?;
        for (number, (amount, due)) in award.tranches.iter().enumerate() {
            on_tx!(tx, c => {
                sqlx::query(
                    "INSERT INTO grant_tranches (application_id, number, amount_pence, due_on) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(number as i64 + 1)
                .bind(amount)
                .bind(iso(*due))
                .execute(c)
                .await?;
            });
        }
    }
    Ok(())
}

/// Tells the applicant of the decision and its reasons, through the outbox in the decision's
/// transaction. The message names their organisation's application, no family.
pub async fn tell_decision(authorised: &mut Authorised<AwardOf>) -> Result<(), StorageError> {
    let file = application(authorised).await?;
    let a = &file.application;
    let outcome = match (&a.state[..], a.award_pence) {
        ("awarded", Some(pence)) => format!("awarded {}", earlyhelp_domain::money::pounds(pence)),
        _ => "not funded this time".to_string(),
    };
    let subject = format!(
        "Your application {} to {}: {outcome}",
        a.reference, file.programme.name
    );
    let body = format!(
        "Your application {} ({}) to {} has been decided: {outcome}.\n\nThe reasons: {}",
        a.reference,
        a.title,
        file.programme.name,
        a.decision_reasons.as_deref().unwrap_or_default()
    );
    crate::outbox::enqueue(
        &mut authorised.tx,
        &a.contact_email,
        &subject,
        &body,
        "/grants",
    )
    .await
}

/// Marks a tranche of an award paid on `paid_on`.
pub async fn pay_tranche(
    authorised: &mut Authorised<AwardOf>,
    number: i64,
    paid_on: time::Date,
) -> Result<(), StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let paid = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE grant_tranches SET paid_on = $3 \
             WHERE application_id = $1 AND number = $2 AND paid_on IS NULL",
        )
        .bind(id)
        .bind(number)
        .bind(iso(paid_on))
        .execute(c)
        .await?
        .rows_affected()
    });
    if paid == 0 {
        return Err(StorageError::Refused(
            "That tranche is already paid, or there is no such tranche".into(),
        ));
    }
    Ok(())
}

/// Records a monitoring return for an award.
pub async fn add_return(
    authorised: &mut Authorised<AwardOf>,
    r: &CheckedReturn,
) -> Result<(), StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    require_state(tx, id, ApplicationState::Awarded, "reported on").await?;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO grant_returns (id, application_id, period_end, families_supported, sessions, \
             packs, case_study, case_study_consent, submitted_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(iso(r.period_end))
        .bind(r.families_supported)
        .bind(r.sessions)
        .bind(r.packs)
        .bind(&r.case_study)
        .bind(r.case_study_consent)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Lists the funded project in the directory in one step: the recipient as the organisation,
/// the project as the service, in its locality, kept by the organisation that leads the
/// locality (or the council), and due for review at once so a connector checks its details.
/// Answers the service's id; a second call answers the same one.
pub async fn to_directory(
    authorised: Authorised<AwardOf>,
    today: time::Date,
) -> Result<Uuid, StorageError> {
    let id = authorised.permit.for_change()?.0;
    let mut authorised = authorised;
    require_state(&mut authorised.tx, id, ApplicationState::Awarded, "listed").await?;
    let file = application(&mut authorised).await?;
    if let Some(service) = file.application.service_id {
        authorised.tx.commit().await?;
        return Ok(service);
    }
    let tx = &mut authorised.tx;
    let owner: Option<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT id FROM organisations WHERE (leads_locality AND locality_slug = $1) OR kind = 'council' \
             ORDER BY leads_locality DESC, name LIMIT 1",
        )
        .bind(&file.application.locality_slug)
        .fetch_optional(c)
        .await?
    });
    let owner = owner.ok_or_else(|| {
        StorageError::Refused("No organisation keeps listings in this locality".into())
    })?;
    let mut listing = authorised.covering(crate::gate::Subject::named("directory"));
    let mut organization =
        directory::organization_named(&mut listing, &file.application.organisation_name).await?;
    if organization.charity_number.is_none() && file.application.charity_number.is_some() {
        organization.charity_number = file.application.charity_number.clone();
        directory::save_organization(&mut listing, &organization).await?;
    }
    let service = ServiceRecord {
        id: Uuid::now_v7(),
        organization,
        name: file.application.title.clone(),
        description: file.application.activity.clone(),
        url: None,
        email: None,
        phone: None,
        status: "active".into(),
        minimum_age: None,
        maximum_age: None,
        free: true,
        fees_description: None,
        alert: None,
        locality_slug: Some(file.application.locality_slug.clone()),
        owner_organisation_id: owner,
        review_by: today,
        assured_date: None,
        assurer_email: None,
        last_modified_micros: now_micros(),
        merged_into: None,
        detail: Default::default(),
        source: "local".into(),
        source_id: Some(file.application.reference.clone()),
        fetched_micros: None,
        locations: Vec::new(),
        schedules: Vec::new(),
        terms: Vec::new(),
    };
    directory::save_service(&mut listing, &service).await?;
    let tx = &mut listing.tx;
    on_tx!(tx, c => {
        sqlx::query("UPDATE grant_applications SET service_id = $2 WHERE id = $1")
            .bind(id)
            .bind(service.id)
            .execute(c)
            .await?;
    });
    listing.tx.commit().await?;
    Ok(service.id)
}

/// Totals for the programme page: applications, awards and what was awarded, by programme.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GrantTotals {
    pub programme_id: Uuid,
    pub applications: i64,
    pub awards: i64,
    pub awarded_pence: i64,
    pub families_supported: i64,
}

pub async fn totals(db: &Db) -> Result<Vec<GrantTotals>, StorageError> {
    Ok(on_pool!(db, p => {
        sqlx::query_as(
            "SELECT a.programme_id, COUNT(*) AS applications, \
             SUM(CASE WHEN a.state = 'awarded' THEN 1 ELSE 0 END) AS awards, \
             CAST(COALESCE(SUM(a.award_pence), 0) AS BIGINT) AS awarded_pence, \
             CAST(COALESCE(SUM((SELECT SUM(r.families_supported) FROM grant_returns r \
             WHERE r.application_id = a.id)), 0) AS BIGINT) AS families_supported \
             FROM grant_applications a GROUP BY a.programme_id",
        )
        .fetch_all(p)
        .await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Loading history (the demo)

/// An application as history records it: submitted, scored, and perhaps decided, paid and
/// reported on.
pub struct HistoricApplication {
    pub application: CheckedApplication,
    pub submitted_micros: i64,
    /// (assessor, name, a score per criterion).
    pub scores: Vec<(Uuid, String, Vec<i64>)>,
    /// (decider, name, the decision, the day it was made).
    pub decision: Option<(Uuid, String, CheckedDecision, time::Date)>,
    /// How many of the award's tranches are paid (each on its due date).
    pub tranches_paid: usize,
    pub returns: Vec<CheckedReturn>,
}

/// Adds a programme and its history under an operator's permit, each award's money committed
/// by the same [`decide`] the page uses. Answers the transaction, to commit, and the programme.
pub async fn load_history(
    mut authorised: Authorised,
    programme: &earlyhelp_domain::money::CheckedProgramme,
    history: &[HistoricApplication],
) -> Result<(Authorised, Uuid), StorageError> {
    authorised.permit.allows_change()?;
    let programme_id = crate::payments::create_programme(&mut authorised, programme).await?;
    let row = crate::payments::programme(&mut authorised.tx, programme_id)
        .await?
        .ok_or(StorageError::NotFound)?;
    for h in history {
        let id = Uuid::now_v7();
        let reference = reference_of(id);
        let tx = &mut authorised.tx;
        insert_application(tx, id, &reference, &row, &h.application, h.submitted_micros).await?;
        for (assessor, name, scores) in &h.scores {
            for (position, score) in scores.iter().enumerate() {
                on_tx!(tx, c => {
                    sqlx::query(
                        "INSERT INTO grant_scores (application_id, assessor_id, assessor_name, position, \
                         score, comment, scored_micros) VALUES ($1, $2, $3, $4, $5, '', $6)",
                    )
                    .bind(id)
                    .bind(assessor)
                    .bind(name)
                    .bind(position as i64)
                    .bind(score)
                    .bind(h.submitted_micros)
                    .execute(c)
                    .await?;
                });
            }
        }
        let Some((decider, name, decision, on)) = &h.decision else {
            continue;
        };
        let mut award = authorised.covering(AwardOf(id));
        decide(&mut award, (*decider, name), decision, *on).await?;
        if let Some(a) = &decision.award {
            for (number, (_, due)) in a.tranches.iter().enumerate().take(h.tranches_paid) {
                pay_tranche(&mut award, number as i64 + 1, *due).await?;
            }
        }
        for r in &h.returns {
            add_return(&mut award, r).await?;
        }
        authorised = award.covering(crate::gate::Subject::named("demo"));
    }
    Ok((authorised, programme_id))
}

//! The records that make sharing defensible: Early Help assessments, the lawful basis of each
//! share, and break-glass access with its review. Every function takes the gate's
//! [`Authorised`], and each change also lands in the family's chronology.

use crate::cases::insert_note;
use crate::gate::{AuditEvent, Authorised, BreakGlassOn, FamilyId};
use crate::{StorageError, now_micros, on_tx};
use earlyhelp_domain::sharing::{
    AssessmentInput, AssessmentStatus, BreakGlassVerdict, Share, break_glass_expiry,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Early Help assessments

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Assessment {
    pub id: Uuid,
    pub status: String,
    pub family_story: String,
    pub child_voice: String,
    pub strengths: String,
    pub worries: String,
    /// Reason slugs, comma-separated.
    pub needs: String,
    pub analysis: String,
    pub started_by: String,
    pub started_micros: i64,
    pub updated_micros: i64,
    pub finalised_by: Option<String>,
    pub finalised_micros: Option<i64>,
}

impl Assessment {
    pub fn is_draft(&self) -> bool {
        self.status == AssessmentStatus::Draft.slug()
    }
}

/// The family's assessments, newest first.
pub async fn assessments(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<Assessment>, StorageError> {
    let family_id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, status, family_story, child_voice, strengths, worries, needs, analysis, \
             started_by, started_micros, updated_micros, finalised_by, finalised_micros \
             FROM assessments WHERE family_id = $1 ORDER BY started_micros DESC",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    }))
}

/// Saves the family's draft assessment (starting one if there is none), and finalises it if
/// asked: a finalised assessment never changes, and the next one starts as a new draft.
pub async fn save_assessment(
    authorised: &mut Authorised<FamilyId>,
    input: &AssessmentInput,
    finalise: bool,
    author: &str,
) -> Result<Uuid, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let now = now_micros();
    let needs = input.needs.join(",");
    let draft: Option<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT id FROM assessments WHERE family_id = $1 AND status = 'draft'")
            .bind(family_id)
            .fetch_optional(c)
            .await?
    });
    let status = if finalise {
        AssessmentStatus::Final
    } else {
        AssessmentStatus::Draft
    };
    let finalised_by = finalise.then_some(author);
    let finalised_micros = finalise.then_some(now);
    let id = draft.unwrap_or_else(Uuid::now_v7);
    on_tx!(tx, c => {
        if draft.is_some() {
            sqlx::query(
                "UPDATE assessments SET status = $1, family_story = $2, child_voice = $3, strengths = $4, \
                 worries = $5, needs = $6, analysis = $7, updated_micros = $8, finalised_by = $9, \
                 finalised_micros = $10 WHERE id = $11",
            )
            .bind(status.slug())
            .bind(&input.family_story)
            .bind(&input.child_voice)
            .bind(&input.strengths)
            .bind(&input.worries)
            .bind(&needs)
            .bind(&input.analysis)
            .bind(now)
            .bind(finalised_by)
            .bind(finalised_micros)
            .bind(id)
            .execute(c)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO assessments (id, family_id, status, family_story, child_voice, strengths, \
                 worries, needs, analysis, started_by, started_micros, updated_micros, finalised_by, \
                 finalised_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13)",
            )
            .bind(id)
            .bind(family_id)
            .bind(status.slug())
            .bind(&input.family_story)
            .bind(&input.child_voice)
            .bind(&input.strengths)
            .bind(&input.worries)
            .bind(&needs)
            .bind(&input.analysis)
            .bind(author)
            .bind(now)
            .bind(finalised_by)
            .bind(finalised_micros)
            .execute(c)
            .await?;
        }
    });
    let event = match (draft.is_some(), finalise) {
        (_, true) => Some("Early Help assessment finalised"),
        (false, false) => Some("Early Help assessment started"),
        (true, false) => None,
    };
    if let Some(event) = event {
        insert_note(tx, family_id, author, "event", event).await?;
    }
    Ok(id)
}

// ---------------------------------------------------------------------------------------------
// The lawful-basis ledger

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct ShareRow {
    pub id: Uuid,
    #[serde(deserialize_with = "crate::json_rows::optional_id")]
    pub shared_with_user: Option<Uuid>,
    pub shared_with: String,
    pub purpose: String,
    pub article6: String,
    pub article9: Option<String>,
    pub recorded_by: String,
    pub recorded_micros: i64,
    pub ended_micros: Option<i64>,
    /// For a share on consent: the one consent it rests on, if not the family's as a whole.
    #[serde(deserialize_with = "crate::json_rows::optional_id")]
    pub consent_id: Option<Uuid>,
    /// Why it ended (consent withdrawn: by whom, and why).
    pub ended_reason: Option<String>,
}

/// Records a share of the family's record with `shared_with` (a team member, when
/// `shared_with_user` is set) on a lawful basis.
pub async fn record_share(
    authorised: &mut Authorised<FamilyId>,
    shared_with_user: Option<Uuid>,
    shared_with: &str,
    share: &Share,
    recorded_by: &str,
) -> Result<Uuid, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO lawful_bases (id, family_id, shared_with_user, shared_with, purpose, article6, \
             article9, recorded_by, recorded_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(family_id)
        .bind(shared_with_user)
        .bind(shared_with)
        .bind(&share.purpose)
        .bind(share.article6.slug())
        .bind(share.article9.map(|a| a.slug()))
        .bind(recorded_by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    let body = format!(
        "Record shared with {shared_with} for {}: {}",
        share.purpose,
        share.article6.label()
    );
    insert_note(tx, family_id, recorded_by, "event", &body).await?;
    Ok(id)
}

/// A team member whose share of a family's record has no lawful basis recorded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UnrecordedShare {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub organisation: String,
    pub family_state: String,
}

/// Team members across all families with no lawful basis recorded for their share (those added
/// before the ledger existed, or loaded from elsewhere), for the information governance officer.
pub async fn unrecorded_shares(
    authorised: &mut Authorised,
) -> Result<Vec<UnrecordedShare>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT t.family_id, t.user_id, u.name, o.name AS organisation, f.state AS family_state \
             FROM family_team t JOIN users u ON u.id = t.user_id \
             JOIN organisations o ON o.id = u.organisation_id JOIN families f ON f.id = t.family_id \
             WHERE NOT EXISTS (SELECT 1 FROM lawful_bases b WHERE b.family_id = t.family_id \
             AND b.shared_with_user = t.user_id) ORDER BY t.family_id, t.user_id",
        )
        .fetch_all(c)
        .await?
    }))
}

/// The family's shares, oldest first: the ledger an information governance officer reads.
pub async fn shares(authorised: &mut Authorised<FamilyId>) -> Result<Vec<ShareRow>, StorageError> {
    let family_id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, shared_with_user, shared_with, purpose, article6, article9, recorded_by, \
             recorded_micros, ended_micros, consent_id, ended_reason FROM lawful_bases \
             WHERE family_id = $1 ORDER BY recorded_micros",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Break-glass access

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct BreakGlassRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub reason: String,
    pub granted_micros: i64,
    pub expires_micros: i64,
    pub reviewed_by: Option<String>,
    pub reviewed_micros: Option<i64>,
    pub review_note: Option<String>,
    /// `justified` or `not_justified`; none for a review recorded before verdicts were kept.
    pub review_verdict: Option<String>,
}

/// Grants `user` emergency access to the family for [`earlyhelp_domain::sharing::BREAK_GLASS_HOURS`],
/// under a permit for `Resource::BreakGlass`; the lead practitioner sees it in the chronology,
/// on their home page and by email.
pub async fn break_glass(
    authorised: &mut Authorised<BreakGlassOn>,
    user_id: Uuid,
    user_name: &str,
    reason: &str,
) -> Result<i64, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let granted = now_micros();
    let expires = break_glass_expiry(granted);
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO break_glass (id, family_id, user_id, user_name, reason, granted_micros, expires_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(user_id)
        .bind(user_name)
        .bind(reason)
        .bind(granted)
        .bind(expires)
        .execute(c)
        .await?;
    });
    let body = format!("{user_name} used break-glass access: {reason}");
    insert_note(tx, family_id, user_name, "event", &body).await?;
    crate::asks::tell_of_break_glass(tx, family_id, user_name, reason).await?;
    Ok(expires)
}

macro_rules! break_glass_columns {
    () => {
        "id, family_id, user_id, user_name, reason, granted_micros, expires_micros, reviewed_by, \
         reviewed_micros, review_note, review_verdict"
    };
}

/// Who has broken glass to see this family, newest first.
pub async fn family_break_glass(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<BreakGlassRow>, StorageError> {
    let family_id = authorised.permit.record().0;
    let sql = concat!(
        "SELECT ",
        break_glass_columns!(),
        " FROM break_glass WHERE family_id = $1 ORDER BY granted_micros DESC"
    );
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql).bind(family_id).fetch_all(c).await?
    }))
}

/// Break-glass grants, unreviewed first and newest first within that.
pub async fn break_glass_grants(
    authorised: &mut Authorised,
    limit: i64,
) -> Result<Vec<BreakGlassRow>, StorageError> {
    let sql = concat!(
        "SELECT ",
        break_glass_columns!(),
        " FROM break_glass \
         ORDER BY CASE WHEN reviewed_micros IS NULL THEN 0 ELSE 1 END, granted_micros DESC LIMIT $1"
    );
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql).bind(limit).fetch_all(c).await?
    }))
}

/// What the holder of a break-glass grant did with it: their audit events on that family
/// while it lasted, oldest first.
pub async fn accesses_under(
    authorised: &mut Authorised,
    grant: &BreakGlassRow,
) -> Result<Vec<AuditEvent>, StorageError> {
    let subject = format!("family:{}", grant.family_id);
    let sql = concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_events WHERE subject = $1 AND at_micros >= $2 AND at_micros <= $3 \
         AND actor = (SELECT email FROM users WHERE id = $4) ORDER BY seq LIMIT 200"
    );
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql)
            .bind(&subject)
            .bind(grant.granted_micros)
            .bind(grant.expires_micros)
            .bind(grant.user_id)
            .fetch_all(c)
            .await?
    }))
}

/// How many break-glass accesses wait for review.
pub async fn unreviewed_break_glass(authorised: &mut Authorised) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM break_glass WHERE reviewed_micros IS NULL")
            .fetch_one(c)
            .await?
    }))
}

/// The information governance officer's verdict on a break-glass access, with a note.
pub async fn review_break_glass(
    authorised: &mut Authorised,
    id: Uuid,
    reviewer: &str,
    verdict: BreakGlassVerdict,
    note: &str,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE break_glass SET reviewed_by = $1, reviewed_micros = $2, review_note = $3, \
             review_verdict = $4 WHERE id = $5 AND reviewed_micros IS NULL",
        )
        .bind(reviewer)
        .bind(now_micros())
        .bind(note)
        .bind(verdict.slug())
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::Conflict(
            "that break-glass access is already reviewed, or does not exist".into(),
        ));
    }
    Ok(())
}

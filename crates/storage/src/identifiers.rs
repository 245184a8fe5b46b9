//! The consistent child identifier on a family's members, and the log of decisions not to share
//! information about a family. Both change a family's record, so both take a family permit
//! for change; the officer's list across localities takes a records-governance permit.

use crate::cases::insert_note;
use crate::gate::{Authorised, FamilyId};
use crate::{StorageError, now_micros, on_tx};
use earlyhelp_domain::nhs_number::NhsAnswer;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Records member `member_id`'s NHS number, or why it is missing, and says so (without the
/// number) in the chronology.
pub async fn set_nhs_number(
    authorised: &mut Authorised<FamilyId>,
    member_id: Uuid,
    nhs: &NhsAnswer,
    author: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let (number, missing) = nhs.columns();
    let tx = &mut authorised.tx;
    let member: Option<String> = on_tx!(tx, c => {
        let name = sqlx::query_scalar(
            "SELECT given_name || ' ' || family_name FROM family_members WHERE id = $1 AND family_id = $2",
        )
        .bind(member_id)
        .bind(family_id)
        .fetch_optional(&mut *c)
        .await?;
        sqlx::query(
            "UPDATE family_members SET nhs_number = $1, nhs_number_missing = $2 \
             WHERE id = $3 AND family_id = $4",
        )
        .bind(number)
        .bind(missing)
        .bind(member_id)
        .bind(family_id)
        .execute(&mut *c)
        .await?;
        name
    });
    let Some(member) = member else {
        return Err(StorageError::Conflict(
            "Choose the family member whose NHS number this is".into(),
        ));
    };
    let what = match (&nhs.number, nhs.missing) {
        (Some(_), _) => "NHS number recorded".to_string(),
        (None, Some(why)) => format!("NHS number not recorded: {}", why.label()),
        (None, None) => "NHS number removed".to_string(),
    };
    insert_note(
        tx,
        family_id,
        author,
        "event",
        &format!("{what} for {member}"),
    )
    .await?;
    Ok(())
}

/// A decision not to share information about a family, as typed.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub information: String,
    pub withheld_from: String,
    pub reason: String,
    pub decided_by: String,
}

/// A decision not to share, with its family's locality for the officer's list.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Decision {
    pub id: Uuid,
    pub family_id: Uuid,
    pub information: String,
    pub withheld_from: String,
    pub reason: String,
    pub decided_by: String,
    pub recorded_by_name: String,
    pub decided_micros: i64,
    #[sqlx(default)]
    #[serde(default)]
    pub locality_name: String,
}

/// Records a decision not to share, and notes it in the family's chronology.
pub async fn record_not_shared(
    authorised: &mut Authorised<FamilyId>,
    decision: &NewDecision,
    recorded_by: Uuid,
    recorded_by_name: &str,
) -> Result<Uuid, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO not_shared (id, family_id, information, withheld_from, reason, \
             decided_by, recorded_by, recorded_by_name, decided_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(family_id)
        .bind(&decision.information)
        .bind(&decision.withheld_from)
        .bind(&decision.reason)
        .bind(&decision.decided_by)
        .bind(recorded_by)
        .bind(recorded_by_name)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    let body = format!(
        "Decided not to share {} with {}: {} (decided by {})",
        decision.information, decision.withheld_from, decision.reason, decision.decided_by
    );
    insert_note(tx, family_id, recorded_by_name, "event", &body).await?;
    Ok(id)
}

/// The decisions with their family's locality: `SELECT` and `FROM`, for a `WHERE` to follow.
macro_rules! decisions {
    () => {
        "SELECT d.id, d.family_id, d.information, d.withheld_from, d.reason, d.decided_by, \
         d.recorded_by_name, d.decided_micros, l.name AS locality_name \
         FROM not_shared d JOIN families f ON f.id = d.family_id \
         JOIN localities l ON l.slug = f.locality_slug "
    };
}

/// The decisions about the permitted family, newest first.
pub async fn of_family(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<Decision>, StorageError> {
    let family_id = authorised.permit.record().0;
    let sql = concat!(
        decisions!(),
        "WHERE d.family_id = $1 ORDER BY d.decided_micros DESC, d.id"
    );
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql).bind(family_id).fetch_all(c).await?
    }))
}

/// How many decisions were recorded at or after `since` (microseconds), in every locality.
pub async fn count_since(authorised: &mut Authorised, since: i64) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM not_shared WHERE decided_micros >= $1")
            .bind(since)
            .fetch_one(c)
            .await?
    }))
}

/// Every decision in every locality, newest first, a page at a time, with how many there are
/// (the information governance officer's list).
pub async fn all(
    authorised: &mut Authorised,
    limit: i64,
    skip: i64,
) -> Result<(Vec<Decision>, i64), StorageError> {
    let sql = concat!(
        decisions!(),
        "ORDER BY d.decided_micros DESC, d.id LIMIT $1 OFFSET $2"
    );
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        let rows = sqlx::query_as(sql).bind(limit).bind(skip).fetch_all(&mut *c).await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM not_shared")
            .fetch_one(&mut *c)
            .await?;
        (rows, total)
    }))
}

#[cfg(test)]
mod tests {
    /// An agency's list uploaded for matching: its NHS number column is recognised by its
    /// header (as `earlyhelp link` recognises it) and offered on the preview as such.
    #[test]
    fn an_uploaded_lists_nhs_number_column_is_recognised() {
        let csv = "ref,first_name,surname,dob,NHS Number\n\
                   A1,Amira,Test,2016-05-02,943 476 5919\n\
                   A2,Layla,Test,1988-01-12,\n";
        let list = crate::matching::read_list("housing.csv", csv.as_bytes()).unwrap();
        assert_eq!(list.roles[4], "nhs_number");
        assert_eq!(
            crate::matching::kind_label(linkage::FieldKind::NhsNumber),
            "NHS number"
        );
        assert!(crate::matching::KINDS.contains(&linkage::FieldKind::NhsNumber));
    }
}

//! What the 360Giving file is made from: awards to community organisations (public, read by
//! anyone) and paid payments to families (read under a permit, since each is a family's
//! record). A payment leaves here with its amount, codes, dates, locality and the locality's
//! local authority only: its query reads no family, and selects no name, family id, postcode,
//! date of birth or note.

use crate::gate::Authorised;
use crate::{StorageError, Tx, on_tx};
use earlyhelp_domain::giving::{Award, FamilyPayment, Programme};
use earlyhelp_domain::money::PaymentState;
use uuid::Uuid;

/// The state of an application that was awarded.
const AWARDED: &str = "awarded";

/// The programme's columns, first in both queries.
macro_rules! programme_columns {
    () => {
        "SELECT g.id AS programme_id, g.name AS programme_name, g.funder, g.funder_identifier, \
         g.identifier_prefix, g.regrant_type, "
    };
}

#[derive(sqlx::FromRow)]
struct ProgrammeColumns {
    programme_id: Uuid,
    programme_name: String,
    funder: String,
    funder_identifier: String,
    identifier_prefix: String,
    regrant_type: Option<String>,
}

impl ProgrammeColumns {
    fn into_programme(self) -> Programme {
        Programme {
            id: self.programme_id,
            name: self.programme_name,
            funder: self.funder,
            funder_identifier: self.funder_identifier,
            identifier_prefix: self.identifier_prefix,
            regrant_type: self.regrant_type.filter(|code| !code.is_empty()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct AwardRow {
    #[sqlx(flatten)]
    programme: ProgrammeColumns,
    reference: String,
    organisation_name: String,
    organisation_identifier: String,
    charity_number: Option<String>,
    company_number: Option<String>,
    title: String,
    activity: String,
    award_pence: i64,
    award_date: String,
    planned_start: Option<String>,
    planned_end: Option<String>,
    beneficiary_area: String,
    beneficiary_area_type: String,
    locality: String,
    modified_micros: i64,
}

/// Every award to an organisation (of one programme, if given), newest first. Awards are
/// published to anyone, so no permit is asked for; an award without an amount or date reads
/// as zero or empty, for the accuracy checks to find.
pub async fn awards(tx: &mut Tx, programme: Option<Uuid>) -> Result<Vec<Award>, StorageError> {
    let sql = concat!(
        programme_columns!(),
        "a.reference, a.organisation_name, a.organisation_identifier, a.charity_number, \
         a.company_number, a.title, a.activity, CAST(COALESCE(a.award_pence, 0) AS BIGINT) AS award_pence, \
         COALESCE(a.award_date, '') AS award_date, a.planned_start, a.planned_end, \
         a.beneficiary_area, a.beneficiary_area_type, l.name AS locality, \
         CAST(COALESCE(a.decided_micros, a.submitted_micros) AS BIGINT) AS modified_micros \
         FROM grant_applications a JOIN programmes g ON g.id = a.programme_id \
         JOIN localities l ON l.slug = a.locality_slug \
         WHERE a.state = $1 AND ($2 IS NULL OR a.programme_id = $2) \
         ORDER BY award_date DESC, a.reference"
    );
    let rows: Vec<AwardRow> = on_tx!(tx, c => {
        sqlx::query_as(sql).bind(AWARDED).bind(programme).fetch_all(c).await?
    });
    Ok(rows
        .into_iter()
        .map(|r| Award {
            programme: r.programme.into_programme(),
            reference: r.reference,
            organisation_name: r.organisation_name,
            organisation_identifier: r.organisation_identifier,
            charity_number: r.charity_number,
            company_number: r.company_number,
            title: r.title,
            activity: r.activity,
            amount_pence: r.award_pence,
            award_date: r.award_date,
            planned_start: r.planned_start,
            planned_end: r.planned_end,
            beneficiary_area: r.beneficiary_area,
            beneficiary_area_type: r.beneficiary_area_type,
            locality: r.locality,
            modified_micros: r.modified_micros,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    #[sqlx(flatten)]
    programme: ProgrammeColumns,
    reference: String,
    amount_pence: i64,
    purposes: String,
    reason: String,
    decided_micros: Option<i64>,
    paid_on: Option<String>,
    locality: String,
    local_authority: Option<String>,
}

/// The day of a time in microseconds, `YYYY-MM-DD` (UTC).
fn day_of(micros: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).ok()?;
    Some(earlyhelp_domain::cases::iso(at.date()))
}

/// Every paid payment to a family (of one programme, if given), oldest decision first, under
/// the permit of whoever may take the full file. The family's record is not read at all: the
/// local authority is its locality's, from the postcode directory's postcodes there.
pub async fn paid_payments<R>(
    authorised: &mut Authorised<R>,
    programme: Option<Uuid>,
) -> Result<Vec<FamilyPayment>, StorageError> {
    let sql = concat!(
        programme_columns!(),
        "p.reference, p.amount_pence, p.purposes, p.reason, p.decided_micros, p.paid_on, \
         l.name AS locality, pc.local_authority \
         FROM payments p JOIN programmes g ON g.id = p.programme_id \
         JOIN localities l ON l.slug = p.locality_slug \
         LEFT JOIN (SELECT locality_slug, MIN(local_authority) AS local_authority FROM postcodes \
             WHERE locality_slug IS NOT NULL AND local_authority IS NOT NULL GROUP BY locality_slug) pc \
             ON pc.locality_slug = p.locality_slug \
         WHERE p.state = $1 AND ($2 IS NULL OR p.programme_id = $2) \
         ORDER BY p.decided_micros, p.reference"
    );
    let tx = &mut authorised.tx;
    let rows: Vec<PaymentRow> = on_tx!(tx, c => {
        sqlx::query_as(sql)
            .bind(PaymentState::Paid.slug())
            .bind(programme)
            .fetch_all(c)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|r| {
            // Approved is awarded; a payment without its decision's time (none is written so)
            // falls back on the day it was paid.
            let modified = r.decided_micros.unwrap_or_default();
            let award_date = r
                .decided_micros
                .and_then(day_of)
                .or(r.paid_on)
                .unwrap_or_default();
            FamilyPayment {
                programme: r.programme.into_programme(),
                reference: r.reference,
                amount_pence: r.amount_pence,
                purposes: r
                    .purposes
                    .split(',')
                    .map(str::trim)
                    .filter(|code| !code.is_empty())
                    .map(str::to_string)
                    .collect(),
                reason: r.reason,
                award_date,
                locality: r.locality,
                local_authority: r.local_authority,
                modified_micros: modified,
            }
        })
        .collect())
}

/// The name of a programme, if there is one with this id.
pub async fn programme_name(tx: &mut Tx, id: Uuid) -> Result<Option<String>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT name FROM programmes WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?
    }))
}

//! Everything the family's case page reads under its permit, in one statement: the record
//! ([`cases::family`]'s columns) and, as JSON arrays (see [`json_rows`]), the family's
//! Supporting Families outcomes, referrals, payments, the requests that brought it, decisions
//! not to share, and the measures a reading may be taken on. Each was a statement of its own; at a
//! city's load the round trips, not the reads, were the page's cost (`docs/benchmarks/cases.md`).
//! The staff the team pickers offer are not read here: they are the same for every family in a
//! locality, and the web layer keeps them for a while.

use crate::asks::Referrer;
use crate::cases::{FamilyRecord, RecordRow, family_columns, family_tables};
use crate::connections::ReferralLine;
use crate::gate::{Authorised, FamilyId};
use crate::identifiers::Decision;
use crate::measures::{ListedMeasure, MeasureListing, OutcomeRow, listings};
use crate::payments::PaymentRow;
use crate::{StorageError, Tx, json_rows};
use sqlx::types::Json;
use std::sync::LazyLock;

/// The case page's reads.
pub struct CasePage {
    pub record: FamilyRecord,
    /// When the case last closed, if it did.
    pub closed_micros: Option<i64>,
    pub outcomes: Vec<OutcomeRow>,
    /// Newest first.
    pub referrals: Vec<ReferralLine>,
    /// Newest first.
    pub payments: Vec<PaymentRow>,
    /// The requests for support triaged onto the family, oldest first.
    pub referrers: Vec<Referrer>,
    /// Newest first.
    pub not_shared: Vec<Decision>,
    /// Every measure a reading may be taken on (as [`crate::measures::list`]).
    pub measures: Vec<MeasureListing>,
}

/// The permitted family's page; `None` if there is no such family.
pub async fn read(authorised: &mut Authorised<FamilyId>) -> Result<Option<CasePage>, StorageError> {
    static POSTGRES: LazyLock<String> = LazyLock::new(|| json_rows::postgres(PAGE_SQL));
    let id = authorised.permit.record().0;
    let row: Option<PageRow> = match &mut authorised.tx {
        Tx::Sqlite(t, _) => {
            sqlx::query_as(PAGE_SQL)
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
    Ok(row.map(|r| CasePage {
        record: r.record.into(),
        closed_micros: r.closed_micros,
        outcomes: r.outcomes.0,
        referrals: r.referrals.0,
        payments: r.payments.0,
        referrers: r.referrers.0,
        not_shared: r.not_shared.0,
        measures: listings(r.measures.0),
    }))
}

#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    record: RecordRow,
    closed_micros: Option<i64>,
    outcomes: Json<Vec<OutcomeRow>>,
    referrals: Json<Vec<ReferralLine>>,
    payments: Json<Vec<PaymentRow>>,
    referrers: Json<Vec<Referrer>>,
    not_shared: Json<Vec<Decision>>,
    measures: Json<Vec<ListedMeasure>>,
}

/// Each list in the order its own page section shows it; `f` is the family and `l` its locality.
const PAGE_SQL: &str = concat!(
    family_columns!(),
    ", f.closed_micros, \
     (SELECT COALESCE(json_group_array(json_object('outcome', fo.outcome, 'need', fo.need, \
       'identified_on', fo.identified_on, 'evidence', fo.evidence, 'achieved_on', \
       fo.achieved_on, 'recorded_by', fo.recorded_by) ORDER BY fo.identified_on, fo.outcome), \
       '[]') FROM family_outcomes fo WHERE fo.family_id = f.id) AS outcomes, \
     (SELECT COALESCE(json_group_array(json_object('id', hex(rf.id), 'reference', rf.reference, \
       'service_name', rf.service_name, 'referrer_name', rf.referrer_name, 'state', rf.state, \
       'outcome', rf.outcome, 'decline_reason', rf.decline_reason, 'created_micros', \
       rf.created_micros) ORDER BY rf.created_micros DESC), '[]') \
       FROM referrals rf WHERE rf.family_id = f.id) AS referrals, \
     (SELECT COALESCE(json_group_array(json_object('id', hex(p.id), 'reference', p.reference, \
       'programme_id', hex(p.programme_id), 'programme_name', g.name, 'family_id', \
       hex(p.family_id), 'locality_slug', p.locality_slug, 'locality_name', pl.name, \
       'amount_pence', p.amount_pence, 'approval_threshold_pence', g.approval_threshold_pence, \
       'purposes', p.purposes, 'reason', p.reason, 'notes', p.notes, 'crisis', p.crisis, \
       'state', p.state, 'requested_by', hex(p.requested_by), 'requester_name', \
       p.requester_name, 'requested_micros', p.requested_micros, 'decider_name', \
       p.decider_name, 'decided_micros', p.decided_micros, 'refusal_reason', p.refusal_reason, \
       'method', p.method, 'voucher_provider', p.voucher_provider, 'voucher_code', \
       p.voucher_code, 'paid_on', p.paid_on, 'payer_name', p.payer_name) \
       ORDER BY p.requested_micros DESC), '[]') \
       FROM payments p JOIN programmes g ON g.id = p.programme_id \
       JOIN localities pl ON pl.slug = p.locality_slug WHERE p.family_id = f.id) AS payments, \
     (SELECT COALESCE(json_group_array(json_object('requester', sr.requester, 'contact', \
       sr.contact, 'self_referral', sr.self_referral, 'reasons', sr.reasons, 'created_micros', \
       sr.created_micros) ORDER BY sr.created_micros), '[]') \
       FROM support_requests sr WHERE sr.family_id = f.id) AS referrers, \
     (SELECT COALESCE(json_group_array(json_object('id', hex(d.id), 'family_id', \
       hex(d.family_id), 'information', d.information, 'withheld_from', d.withheld_from, \
       'reason', d.reason, 'decided_by', d.decided_by, 'recorded_by_name', d.recorded_by_name, \
       'decided_micros', d.decided_micros, 'locality_name', l.name) \
       ORDER BY d.decided_micros DESC, d.id), '[]') \
       FROM not_shared d WHERE d.family_id = f.id) AS not_shared, \
     (SELECT COALESCE(json_group_array(json_array(hex(ms.id), ms.name, mo.name, ms.licence, \
       (SELECT COALESCE(json_group_array(ma.name ORDER BY ma.position), '[]') \
       FROM measure_areas ma WHERE ma.measure_id = ms.id)) ORDER BY ms.name), '[]') \
       FROM measures ms LEFT JOIN organisations mo ON mo.id = ms.organisation_id) AS measures",
    family_tables!()
);

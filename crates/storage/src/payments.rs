//! Money: funding programmes, resilience payments to families and spend. A payment is a
//! family record: asked for under the family's permit, then read and moved on under its own,
//! which the gate gives to grants officers and the family's team (see `money::decide_*`).
//!
//! An approval commits the money in the same transaction, by UPDATEs that hold only while the
//! programme's budget (and the locality's, where it has one) still covers it: two approvals at
//! once can never both take the last of a budget, on either database.

use crate::cases::insert_note;
use crate::gate::{Authorised, FamilyId, Guarded};
use crate::{StorageError, Tx, now_micros, on_tx};
use earlyhelp_domain::access::Resource;
use earlyhelp_domain::cases::iso;
use earlyhelp_domain::money::{
    self, Budgets, CheckedPay, CheckedPayment, CheckedProgramme, PaymentFacts, PaymentState,
    PaymentStep, ProgrammeKind, check_amount, pounds,
};
use earlyhelp_domain::people::FieldError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A payment to a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentId(pub Uuid);

impl Guarded for PaymentId {
    fn new(id: Uuid) -> Self {
        PaymentId(id)
    }
    /// Filed under the family, so the payment shows among those who looked at its record.
    async fn resource(tx: &mut Tx, id: Uuid) -> Result<Option<(Resource, String)>, StorageError> {
        type Head = (Uuid, Uuid, i64, i64, String);
        let head: Option<Head> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT p.family_id, p.requested_by, p.amount_pence, g.approval_threshold_pence, p.state \
                 FROM payments p JOIN programmes g ON g.id = p.programme_id WHERE p.id = $1",
            )
            .bind(id)
            .fetch_optional(c)
            .await?
        });
        let Some((family_id, requested_by, amount, threshold, state)) = head else {
            return Ok(None);
        };
        let family = crate::cases::involvement(tx, family_id)
            .await?
            .ok_or(StorageError::NotFound)?;
        let facts = PaymentFacts {
            family,
            requested_by,
            officer_only: amount > threshold || state == PaymentState::Approved.slug(),
        };
        Ok(Some((
            Resource::Payment(facts),
            format!("family:{family_id}"),
        )))
    }
}

/// What the access rules know about the permitted payment, read again in its transaction: to
/// show its page only the steps this person may take.
pub async fn facts(authorised: &mut Authorised<PaymentId>) -> Result<PaymentFacts, StorageError> {
    let id = authorised.permit.record().0;
    match PaymentId::resource(&mut authorised.tx, id).await? {
        Some((Resource::Payment(facts), _)) => Ok(facts),
        _ => Err(StorageError::NotFound),
    }
}

// ---------------------------------------------------------------------------------------------
// Programmes

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProgrammeRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub funder: String,
    pub budget_pence: i64,
    pub committed_pence: i64,
    pub opens_on: String,
    pub closes_on: String,
    pub cap_pence: i64,
    pub approval_threshold_pence: i64,
    pub identifier_prefix: String,
    pub regrant_type: Option<String>,
    pub crisis: bool,
    pub eligibility: String,
}

impl ProgrammeRow {
    pub fn is_open(&self, today: time::Date) -> bool {
        let date = earlyhelp_domain::cases::parse_date;
        match (date(&self.opens_on), date(&self.closes_on)) {
            (Some(opens), Some(closes)) => money::is_open(opens, closes, today),
            _ => false,
        }
    }
}

macro_rules! programme_select {
    () => {
        "SELECT id, name, kind, funder, budget_pence, committed_pence, opens_on, closes_on, \
         cap_pence, approval_threshold_pence, identifier_prefix, regrant_type, crisis, eligibility \
         FROM programmes"
    };
}

/// Adds a programme and its localities' budgets; answers its id.
pub async fn create_programme<R>(
    authorised: &mut Authorised<R>,
    programme: &CheckedProgramme,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    insert_programme(&mut authorised.tx, id, programme).await?;
    Ok(id)
}

pub(crate) async fn insert_programme(
    tx: &mut Tx,
    id: Uuid,
    p: &CheckedProgramme,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO programmes (id, name, kind, funder, budget_pence, opens_on, closes_on, \
             cap_pence, approval_threshold_pence, identifier_prefix, regrant_type, crisis, created_micros, \
             eligibility) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id)
        .bind(&p.name)
        .bind(p.kind.slug())
        .bind(&p.funder)
        .bind(p.budget)
        .bind(iso(p.opens_on))
        .bind(iso(p.closes_on))
        .bind(p.cap)
        .bind(p.threshold)
        .bind(&p.identifier_prefix)
        .bind(p.regrant_type)
        .bind(p.crisis)
        .bind(now_micros())
        .bind(&p.eligibility)
        .execute(&mut *c)
        .await?;
        for (position, criterion) in p.criteria.iter().enumerate() {
            sqlx::query(
                "INSERT INTO programme_criteria (programme_id, position, criterion) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(position as i64)
            .bind(criterion)
            .execute(&mut *c)
            .await?;
        }
        for (locality, budget) in &p.locality_budgets {
            sqlx::query(
                "INSERT INTO programme_budgets (programme_id, locality_slug, budget_pence) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(locality)
            .bind(budget)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Every programme, newest first.
pub async fn programmes(tx: &mut Tx) -> Result<Vec<ProgrammeRow>, StorageError> {
    let sql = concat!(programme_select!(), " ORDER BY created_micros DESC");
    Ok(on_tx!(tx, c => sqlx::query_as(sql).fetch_all(c).await?))
}

pub(crate) async fn programme(tx: &mut Tx, id: Uuid) -> Result<Option<ProgrammeRow>, StorageError> {
    let sql = concat!(programme_select!(), " WHERE id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await?))
}

/// A locality's own budget in a programme and what is committed of it, if it has one.
async fn locality_budget(
    tx: &mut Tx,
    programme: Uuid,
    locality: &str,
) -> Result<Option<(i64, i64)>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT budget_pence, committed_pence FROM programme_budgets \
             WHERE programme_id = $1 AND locality_slug = $2",
        )
        .bind(programme)
        .bind(locality)
        .fetch_optional(c)
        .await?
    }))
}

/// Spend in one programme and locality: approved (committed, not yet paid) and paid.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SpendLine {
    pub programme: String,
    pub locality: String,
    pub payments: i64,
    pub approved_pence: i64,
    pub paid_pence: i64,
    /// The locality's own budget in the programme, if it has one.
    pub budget_pence: Option<i64>,
}

/// Spend by programme and locality: counts and sums only, never a family.
pub async fn spend(tx: &mut Tx) -> Result<Vec<SpendLine>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT g.name AS programme, l.name AS locality, COUNT(*) AS payments, \
             CAST(COALESCE(SUM(CASE WHEN p.state = 'approved' THEN p.amount_pence ELSE 0 END), 0) AS BIGINT) AS approved_pence, \
             CAST(COALESCE(SUM(CASE WHEN p.state = 'paid' THEN p.amount_pence ELSE 0 END), 0) AS BIGINT) AS paid_pence, \
             b.budget_pence \
             FROM payments p JOIN programmes g ON g.id = p.programme_id \
             JOIN localities l ON l.slug = p.locality_slug \
             LEFT JOIN programme_budgets b ON b.programme_id = p.programme_id AND b.locality_slug = p.locality_slug \
             WHERE p.state IN ('approved', 'paid') \
             GROUP BY g.name, l.name, b.budget_pence ORDER BY g.name, l.name",
        )
        .fetch_all(c)
        .await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Payments

/// Asks for a payment for the permitted family from an open programme for families: its id,
/// or the problem by field (an amount over the cap or over what is left names `amount`).
pub async fn request(
    authorised: &mut Authorised<FamilyId>,
    programme_id: Uuid,
    payment: &CheckedPayment,
    requester: (Uuid, &str),
) -> Result<Result<Uuid, FieldError>, StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let found = programme(tx, programme_id).await?;
    let today = crate::cases::today();
    let Some(programme) =
        found.filter(|p| p.kind == ProgrammeKind::FamilyPayments.slug() && p.is_open(today))
    else {
        return Ok(Err(FieldError::new(
            "programme",
            "Choose a programme that is open for payments to families",
        )));
    };
    let locality: String = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT locality_slug FROM families WHERE id = $1")
            .bind(family_id)
            .fetch_one(c)
            .await?
    });
    let budgets = budgets(tx, &programme, &locality).await?;
    if let Err(error) = check_amount("amount", payment.amount, budgets) {
        return Ok(Err(error));
    }
    let id = Uuid::now_v7();
    let reference = reference_of(id);
    let now = now_micros();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO payments (id, reference, programme_id, family_id, locality_slug, amount_pence, \
             purposes, reason, notes, crisis, state, requested_by, requester_name, requested_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'requested', $11, $12, $13)",
        )
        .bind(id)
        .bind(&reference)
        .bind(programme_id)
        .bind(family_id)
        .bind(&locality)
        .bind(payment.amount)
        .bind(payment.purposes.join(","))
        .bind(payment.reason)
        .bind(&payment.notes)
        .bind(programme.crisis)
        .bind(requester.0)
        .bind(requester.1)
        .bind(now)
        .execute(c)
        .await?;
    });
    let note = format!(
        "{} asked for a payment of {} from {} ({reference})",
        requester.1,
        pounds(payment.amount),
        programme.name
    );
    insert_note(tx, family_id, requester.1, "event", &note).await?;
    Ok(Ok(id))
}

/// `RP-` and the id's last twelve hex digits: short enough to read out on the phone.
fn reference_of(id: Uuid) -> String {
    format!("RP-{}", &id.simple().to_string()[20..].to_uppercase())
}

async fn budgets(
    tx: &mut Tx,
    programme: &ProgrammeRow,
    locality: &str,
) -> Result<Budgets, StorageError> {
    let local = locality_budget(tx, programme.id, locality).await?;
    Ok(Budgets {
        cap: programme.cap_pence,
        overall_left: money::remaining(programme.budget_pence, programme.committed_pence),
        locality_left: local.map(|(budget, committed)| money::remaining(budget, committed)),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: Uuid,
    pub reference: String,
    pub programme_id: Uuid,
    pub programme_name: String,
    pub family_id: Uuid,
    pub locality_slug: String,
    pub locality_name: String,
    pub amount_pence: i64,
    pub approval_threshold_pence: i64,
    pub purposes: String,
    pub reason: String,
    pub notes: String,
    #[serde(deserialize_with = "crate::json_rows::flag")]
    pub crisis: bool,
    pub state: String,
    pub requested_by: Uuid,
    pub requester_name: String,
    pub requested_micros: i64,
    pub decider_name: Option<String>,
    pub decided_micros: Option<i64>,
    pub refusal_reason: Option<String>,
    pub method: Option<String>,
    pub voucher_provider: Option<String>,
    pub voucher_code: Option<String>,
    pub paid_on: Option<String>,
    pub payer_name: Option<String>,
}

macro_rules! payment_select {
    () => {
        "SELECT p.id, p.reference, p.programme_id, g.name AS programme_name, \
     p.family_id, p.locality_slug, l.name AS locality_name, p.amount_pence, g.approval_threshold_pence, \
     p.purposes, p.reason, p.notes, p.crisis, p.state, p.requested_by, p.requester_name, \
     p.requested_micros, p.decider_name, p.decided_micros, p.refusal_reason, p.method, \
     p.voucher_provider, p.voucher_code, p.paid_on, p.payer_name \
     FROM payments p JOIN programmes g ON g.id = p.programme_id \
     JOIN localities l ON l.slug = p.locality_slug"
    };
}

/// The permitted payment.
pub async fn payment(
    authorised: &mut Authorised<PaymentId>,
) -> Result<Option<PaymentRow>, StorageError> {
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let sql = concat!(payment_select!(), " WHERE p.id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(id).fetch_optional(c).await?))
}

/// The permitted family's payments, newest first.
/// The grants officers' queue: waiting for approval (crisis requests first, then oldest first),
/// then approved and waiting to be paid; at most `limit`.
pub async fn queue<R>(
    authorised: &mut Authorised<R>,
    limit: i64,
) -> Result<Vec<PaymentRow>, StorageError> {
    let tx = &mut authorised.tx;
    let sql = concat!(
        payment_select!(),
        " WHERE p.state IN ('requested', 'approved') \
         ORDER BY CASE WHEN p.state = 'requested' THEN 0 ELSE 1 END, \
         CASE WHEN p.crisis THEN 0 ELSE 1 END, p.requested_micros LIMIT $1"
    );
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(limit).fetch_all(c).await?))
}

/// How many wait in each part of the queue: (for approval, of which crisis, to pay).
pub async fn queue_counts<R>(
    authorised: &mut Authorised<R>,
) -> Result<(i64, i64, i64), StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN state = 'requested' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'requested' AND crisis THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'approved' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM payments WHERE state IN ('requested', 'approved')",
        )
        .fetch_one(c)
        .await?
    }))
}

/// Who takes a step: their id and name.
pub type By<'a> = (Uuid, &'a str);

/// Moves the permitted payment on: a step its state does not allow is `Refused` (409); an
/// approval the budget no longer covers is `Conflict` naming what is left (422 on `amount`).
pub async fn take_step(
    authorised: &mut Authorised<PaymentId>,
    step: PaymentStep,
    by: By<'_>,
    refusal: &str,
    pay: Option<&CheckedPay>,
) -> Result<PaymentState, StorageError> {
    let id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    type Head = (String, i64, Uuid, String, Uuid, String);
    let (state, amount, programme_id, locality, family_id, reference): Head = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT state, amount_pence, programme_id, locality_slug, family_id, reference \
             FROM payments WHERE id = $1",
        )
        .bind(id)
        .fetch_one(c)
        .await?
    });
    let from = PaymentState::from_slug(&state).ok_or(StorageError::NotFound)?;
    let to = money::next(from, step).map_err(StorageError::Refused)?;
    let now = now_micros();
    // The payment first: of two approvals of one payment, the second finds it approved.
    let moved = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE payments SET state = $3, \
             decided_by = CASE WHEN $4 THEN $5 ELSE decided_by END, \
             decider_name = CASE WHEN $4 THEN $6 ELSE decider_name END, \
             decided_micros = CASE WHEN $4 THEN $7 ELSE decided_micros END, \
             refusal_reason = $8, method = $9, voucher_provider = $10, voucher_code = $11, \
             paid_on = $12, payer_name = CASE WHEN $4 THEN payer_name ELSE $6 END \
             WHERE id = $1 AND state = $2",
        )
        .bind(id)
        .bind(from.slug())
        .bind(to.slug())
        .bind(step != PaymentStep::Pay)
        .bind(by.0)
        .bind(by.1)
        .bind(now)
        .bind((step == PaymentStep::Refuse).then_some(refusal))
        .bind(pay.map(|p| p.method.slug()))
        .bind(pay.and_then(|p| p.voucher.as_ref().map(|v| v.0.clone())))
        .bind(pay.and_then(|p| p.voucher.as_ref().map(|v| v.1.clone())))
        .bind(pay.map(|p| iso(p.paid_on)))
        .execute(c)
        .await?
        .rows_affected()
    });
    if moved == 0 {
        return Err(StorageError::Refused(
            "This payment has just been changed by someone else: look at it again".into(),
        ));
    }
    if step == PaymentStep::Approve {
        commit_budget(tx, programme_id, &locality, amount).await?;
    }
    let what = match step {
        PaymentStep::Approve => "approved",
        PaymentStep::Refuse => "refused",
        PaymentStep::Pay => "paid",
    };
    let note = format!("{} {what} payment {reference} of {}", by.1, pounds(amount));
    insert_note(tx, family_id, by.1, "event", &note).await?;
    Ok(to)
}

/// Takes `amount` from the programme's budget, and the locality's if it has its own, each by an
/// UPDATE that holds only while the budget covers it. PostgreSQL re-reads a row another
/// transaction changed before it tests the condition; SQLite runs one writer at a time.
pub(crate) async fn commit_budget(
    tx: &mut Tx,
    programme: Uuid,
    locality: &str,
    amount: i64,
) -> Result<(), StorageError> {
    let overall = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE programmes SET committed_pence = committed_pence + $2 \
             WHERE id = $1 AND committed_pence + $2 <= budget_pence",
        )
        .bind(programme)
        .bind(amount)
        .execute(c)
        .await?
        .rows_affected()
    });
    if overall == 0 {
        let left: (i64, i64) = on_tx!(tx, c => {
            sqlx::query_as("SELECT budget_pence, committed_pence FROM programmes WHERE id = $1")
                .bind(programme)
                .fetch_one(c)
                .await?
        });
        return Err(StorageError::Conflict(format!(
            "The programme has only {} left, less than this amount",
            pounds(money::remaining(left.0, left.1))
        )));
    }
    if let Some((budget, committed)) = locality_budget(tx, programme, locality).await? {
        let local = on_tx!(tx, c => {
            sqlx::query(
                "UPDATE programme_budgets SET committed_pence = committed_pence + $3 \
                 WHERE programme_id = $1 AND locality_slug = $2 AND committed_pence + $3 <= budget_pence",
            )
            .bind(programme)
            .bind(locality)
            .bind(amount)
            .execute(c)
            .await?
            .rows_affected()
        });
        if local == 0 {
            return Err(StorageError::Conflict(format!(
                "The locality has only {} left in this programme, less than this amount",
                pounds(money::remaining(budget, committed))
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Loading history (the demo, benchmarks)

/// A payment as history records it: asked for, and perhaps decided and paid.
#[derive(Debug, Clone)]
pub struct Historic {
    pub programme: usize,
    pub family_id: Uuid,
    pub locality: String,
    pub amount: i64,
    pub purposes: &'static str,
    pub reason: &'static str,
    pub state: PaymentState,
    pub requested_by: (Uuid, String),
    pub requested_micros: i64,
    pub decided_by: Option<(Uuid, String)>,
    pub decided_micros: Option<i64>,
    pub paid: Option<Paid>,
}

/// How a payment was made: the method, a voucher's provider and code, and the date.
pub type Paid = (money::PaymentMethod, Option<(String, String)>, String);

/// Families with a lead practitioner: (family, locality, lead, lead's name), in id order.
pub async fn families_with_leads<R>(
    authorised: &mut Authorised<R>,
) -> Result<Vec<(Uuid, String, Uuid, String)>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT f.id, f.locality_slug, u.id, u.name FROM families f \
             JOIN users u ON u.id = f.lead_practitioner ORDER BY f.id",
        )
        .fetch_all(c)
        .await?
    }))
}

/// Loads programmes and their payments in bulk, in the permit's transaction. A payment the
/// budgets would not cover is left out, as an approval would refuse it. Answers how many were
/// loaded.
pub async fn load_history<R>(
    authorised: &mut Authorised<R>,
    programmes: &[CheckedProgramme],
    payments: &[Historic],
) -> Result<usize, StorageError> {
    use crate::case_load::{Cell, Rows};
    let tx = &mut authorised.tx;
    let ids: Vec<Uuid> = programmes.iter().map(|_| Uuid::now_v7()).collect();
    let mut committed = vec![0i64; programmes.len()];
    let mut local: std::collections::HashMap<(usize, String), i64> = Default::default();
    let mut rows = Rows::new(
        "INSERT INTO payments (id, reference, programme_id, family_id, locality_slug, amount_pence, \
         purposes, reason, notes, crisis, state, requested_by, requester_name, requested_micros, \
         decided_by, decider_name, decided_micros, method, voucher_provider, voucher_code, paid_on, payer_name)",
        22,
    );
    let mut loaded = 0;
    for p in payments {
        let programme = &programmes[p.programme];
        let counts = matches!(p.state, PaymentState::Approved | PaymentState::Paid);
        if counts {
            let key = (p.programme, p.locality.clone());
            let local_budget = programme
                .locality_budgets
                .iter()
                .find(|(l, _)| *l == p.locality)
                .map(|(_, b)| *b);
            let spent_here = local.get(&key).copied().unwrap_or(0);
            if committed[p.programme] + p.amount > programme.budget
                || local_budget.is_some_and(|b| spent_here + p.amount > b)
            {
                continue;
            }
            committed[p.programme] += p.amount;
            local.insert(key, spent_here + p.amount);
        }
        let id = Uuid::now_v7();
        let (method, voucher, paid_on) = match &p.paid {
            Some((method, voucher, on)) => (Some(method.slug()), voucher.clone(), Some(on.clone())),
            None => (None, None, None),
        };
        let text = |s: &str| Cell::Text(s.to_string());
        rows.push([
            Cell::Id(id),
            Cell::Text(reference_of(id)),
            Cell::Id(ids[p.programme]),
            Cell::Id(p.family_id),
            text(&p.locality),
            Cell::Int(p.amount),
            text(p.purposes),
            text(p.reason),
            text(""),
            Cell::Bool(programme.crisis),
            text(p.state.slug()),
            Cell::Id(p.requested_by.0),
            text(&p.requested_by.1),
            Cell::Int(p.requested_micros),
            Cell::MaybeId(p.decided_by.as_ref().map(|d| d.0)),
            Cell::MaybeText(p.decided_by.as_ref().map(|d| d.1.clone())),
            Cell::MaybeInt(p.decided_micros),
            Cell::MaybeText(method.map(str::to_string)),
            Cell::MaybeText(voucher.as_ref().map(|v| v.0.clone())),
            Cell::MaybeText(voucher.map(|v| v.1)),
            Cell::MaybeText(paid_on),
            Cell::MaybeText(
                p.paid
                    .as_ref()
                    .and(p.decided_by.as_ref())
                    .map(|d| d.1.clone()),
            ),
        ]);
        loaded += 1;
    }
    for (n, (id, programme)) in ids.iter().zip(programmes).enumerate() {
        insert_programme(tx, *id, programme).await?;
        on_tx!(tx, c => {
            sqlx::query("UPDATE programmes SET committed_pence = $2 WHERE id = $1")
                .bind(id)
                .bind(committed[n])
                .execute(&mut *c)
                .await?;
            for ((index, locality), spent) in &local {
                if *index == n {
                    sqlx::query(
                        "UPDATE programme_budgets SET committed_pence = $3 \
                         WHERE programme_id = $1 AND locality_slug = $2",
                    )
                    .bind(id)
                    .bind(locality)
                    .bind(spent)
                    .execute(&mut *c)
                    .await?;
                }
            }
        });
    }
    rows.insert(tx).await?;
    Ok(loaded)
}

// ---------------------------------------------------------------------------------------------
// The duplicate check

pub use duplicates::{Duplicate, EarlierPayment, PersonLine};

/// Other households paid, or waiting to be, in the last twelve months in any locality whom the
/// linkage engine takes to be this payment's household, likeliest first, each with why.
pub async fn duplicates(
    authorised: &mut Authorised<PaymentId>,
) -> Result<Vec<Duplicate>, StorageError> {
    let id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let family_id: Uuid = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT family_id FROM payments WHERE id = $1")
            .bind(id)
            .fetch_one(c)
            .await?
    });
    let since = now_micros() - 365 * 86_400_000_000;
    duplicates_of_family(tx, family_id, since).await
}

/// Likely duplicates shown at most: the strongest first.
const MOST_DUPLICATES: usize = 10;

/// The check itself, for a family and a window. Candidates are the people of other households
/// with a payment in the window who share a date of birth, both names, or the postcode with
/// this household (the blocking, each an indexed SQL lookup); the linkage engine scores them,
/// household by household; the payments of the likeliest are read last.
pub async fn duplicates_of_family(
    tx: &mut Tx,
    family_id: Uuid,
    since: i64,
) -> Result<Vec<Duplicate>, StorageError> {
    let household: Vec<PersonLine> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT m.id AS person_id, m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address, \
             f.id AS family_id FROM family_members m JOIN families f ON f.id = m.family_id \
             WHERE m.family_id = $1",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    });
    let Some(first) = household.first() else {
        return Ok(Vec::new());
    };
    let postcode = first.postcode.clone();
    // A household counts if it had a payment in the window that was not refused.
    macro_rules! paid_since {
        () => {
            " AND EXISTS (SELECT 1 FROM payments p WHERE p.family_id = m.family_id \
              AND p.requested_micros >= $2 AND p.state <> 'refused')"
        };
    }
    let mut candidates: Vec<PersonLine> = Vec::new();
    for person in &household {
        let by_birth: Vec<PersonLine> = on_tx!(tx, c => {
            sqlx::query_as(concat!(
                "SELECT m.id AS person_id, m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address, \
                 f.id AS family_id FROM family_members m JOIN families f ON f.id = m.family_id \
                 WHERE m.date_of_birth = $3 AND m.family_id <> $1",
                paid_since!()
            ))
            .bind(family_id)
            .bind(since)
            .bind(&person.date_of_birth)
            .fetch_all(&mut *c)
            .await?
        });
        let by_name: Vec<PersonLine> = on_tx!(tx, c => {
            sqlx::query_as(concat!(
                "SELECT m.id AS person_id, m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address, \
                 f.id AS family_id FROM family_members m JOIN families f ON f.id = m.family_id \
                 WHERE m.family_name = $3 AND m.given_name = $4 AND m.family_id <> $1",
                paid_since!()
            ))
            .bind(family_id)
            .bind(since)
            .bind(&person.family_name)
            .bind(&person.given_name)
            .fetch_all(&mut *c)
            .await?
        });
        candidates.extend(by_birth);
        candidates.extend(by_name);
    }
    let at_address: Vec<PersonLine> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT m.id AS person_id, m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address, \
             f.id AS family_id FROM families f JOIN family_members m ON m.family_id = f.id \
             WHERE f.postcode = $3 AND f.id <> $1",
            paid_since!()
        ))
        .bind(family_id)
        .bind(since)
        .bind(&postcode)
        .fetch_all(c)
        .await?
    });
    candidates.extend(at_address);
    // One row a person, however many rules found them.
    candidates.sort_by_key(|p| p.person_id);
    candidates.dedup_by_key(|p| p.person_id);
    let mut found = duplicates::score(&household, &candidates);
    found.truncate(MOST_DUPLICATES);
    for duplicate in &mut found {
        duplicate.payments = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT p.reference, l.name AS locality, p.requested_micros, p.amount_pence, p.state \
                 FROM payments p JOIN localities l ON l.slug = p.locality_slug \
                 WHERE p.family_id = $1 AND p.requested_micros >= $2 AND p.state <> 'refused' \
                 ORDER BY p.requested_micros DESC",
            )
            .bind(duplicate.family_id)
            .bind(since)
            .fetch_all(c)
            .await?
        });
    }
    Ok(found)
}

mod duplicates {
    //! Scoring with the linkage engine's Fellegi-Sunter model. Its m and u are fixed here
    //! rather than trained: one household against a few candidates is too little to learn
    //! from, and a fixed model gives the same answer for the same pair every time.

    use linkage::compare::Comparison;
    use linkage::data::{Dataset, Field, FieldKind};
    use linkage::model::{ComparisonParams, LevelParams, Model, Scorer};
    use linkage::records::Records;
    use serde::Serialize;
    use std::sync::LazyLock;
    use uuid::Uuid;

    /// One person as the check compares them, and their household.
    #[derive(Debug, Clone, Serialize, sqlx::FromRow)]
    pub struct PersonLine {
        pub person_id: Uuid,
        pub given_name: String,
        pub family_name: String,
        pub date_of_birth: String,
        pub postcode: String,
        pub address: String,
        pub family_id: Uuid,
    }

    /// One payment to a likely duplicate household.
    #[derive(Debug, Clone, Serialize, sqlx::FromRow)]
    pub struct EarlierPayment {
        pub reference: String,
        pub locality: String,
        pub requested_micros: i64,
        pub amount_pence: i64,
        pub state: String,
    }

    /// Another household, paid in the window, that is likely this one, and why.
    #[derive(Debug, Clone, Serialize)]
    pub struct Duplicate {
        pub family_id: Uuid,
        /// Its payments in the window, newest first.
        pub payments: Vec<EarlierPayment>,
        /// The match probability of the closest pair of people.
        pub probability: f64,
        /// Which person of this household matched whom.
        pub this_person: String,
        pub their_person: String,
        /// Field by field: (field, level, this value, their value, weight in bits).
        pub explanation: Vec<(String, String, String, String, f64)>,
    }

    /// A pair at or above this probability is shown as a likely duplicate.
    pub const LIKELY: f64 = 0.9;

    fn fields() -> Vec<Field> {
        [
            ("given name", FieldKind::GivenName),
            ("family name", FieldKind::FamilyName),
            ("date of birth", FieldKind::DateOfBirth),
            ("postcode", FieldKind::Postcode),
            ("address", FieldKind::Address),
        ]
        .into_iter()
        .map(|(name, kind)| Field {
            name: name.into(),
            kind,
        })
        .collect()
    }

    /// How often two different people agree exactly on a field, by kind (u of the exact level).
    fn exact_u(kind: FieldKind) -> f64 {
        match kind {
            FieldKind::DateOfBirth => 0.0005,
            FieldKind::Postcode => 0.001,
            FieldKind::Address => 0.0005,
            _ => 0.01,
        }
    }

    /// m falls and u rises level by level; the last level (`else`) holds what is left.
    fn params(comparison: &Comparison, kind: FieldKind) -> ComparisonParams {
        let n = comparison.levels.len();
        let mut levels = Vec::with_capacity(n);
        let (mut m_left, mut u_left) = (1.0, 1.0);
        for (k, level) in comparison.levels.iter().enumerate() {
            let (m, u) = if k + 1 == n {
                (m_left, u_left)
            } else {
                // m: 0.75 exact, 0.04 each level between (at most five), `else` the rest.
                // u: the kind's exact rate; a slip in a name or date is rarer among
                // strangers than a near address, which grows fourfold a level.
                let m: f64 = if k == 0 { 0.75 } else { 0.04 };
                let u = match kind {
                    _ if k == 0 => exact_u(kind),
                    FieldKind::Postcode | FieldKind::Address => {
                        (exact_u(kind) * 4f64.powi(k as i32)).min(0.05)
                    }
                    _ => exact_u(kind) * k as f64,
                };
                (m, u)
            };
            m_left -= m;
            u_left -= u;
            levels.push(LevelParams {
                label: level.label(),
                m: m.max(1e-6),
                u: u.max(1e-6),
                u_random: u.max(1e-6),
            });
        }
        ComparisonParams {
            name: comparison.name.clone(),
            levels,
            log2_typical_frequency: None,
        }
    }

    static MODEL: LazyLock<Model> = LazyLock::new(|| {
        let fields = fields();
        let comparisons = linkage::autoconfig::comparisons_for(&fields);
        let params = comparisons
            .iter()
            .map(|c| params(c, fields[c.column].kind))
            .collect();
        Model {
            blocking: linkage::autoconfig::blocking_for(&fields),
            fields,
            comparisons,
            // Among candidates already sharing a birth date, names or postcode.
            lambda: 0.05,
            params,
            same_address: None,
        }
    });

    fn dataset(people: &[PersonLine]) -> Dataset {
        let mut data = Dataset::new(MODEL.fields.clone());
        for (n, p) in people.iter().enumerate() {
            let values = [
                p.given_name.as_str(),
                &p.family_name,
                &p.date_of_birth,
                &p.postcode,
                &p.address,
            ];
            // A value the engine cannot read (a malformed date) counts as missing.
            if data.push(&n.to_string(), &values).is_err() {
                let blank = [values[0], values[1], "", values[3], values[4]];
                let _ = data.push(&n.to_string(), &blank);
            }
        }
        data
    }

    /// Each candidate payment whose closest pair reaches [`LIKELY`], likeliest first.
    pub fn score(household: &[PersonLine], candidates: &[PersonLine]) -> Vec<Duplicate> {
        if household.is_empty() || candidates.is_empty() {
            return Vec::new();
        }
        let (left, right) = (dataset(household), dataset(candidates));
        if left.len() != household.len() || right.len() != candidates.len() {
            return Vec::new();
        }
        let records = Records::new(&left, Some(&right));
        let scorer = Scorer::new(&MODEL, &records);
        // The weight of a pair at [`LIKELY`]: a pair that cannot reach it is given up as soon
        // as the comparisons left could not lift it there (strangers, by date and names).
        let floor = (LIKELY / (1.0 - LIKELY)).log2();
        let mut best: std::collections::HashMap<Uuid, (f64, usize, usize)> = Default::default();
        for (j, candidate) in candidates.iter().enumerate() {
            let household = candidate.family_id;
            for i in 0..left.len() {
                let Some(weight) = scorer.weight_from(i, j, floor) else {
                    continue;
                };
                let p = linkage::model::probability(weight);
                let entry = best.entry(household).or_insert((p, i, j));
                if p > entry.0 {
                    *entry = (p, i, j);
                }
            }
        }
        let mut found: Vec<Duplicate> = best
            .into_iter()
            .filter(|(_, (p, _, _))| *p >= LIKELY)
            .map(|(family_id, (probability, i, j))| {
                let explained = scorer.explain(i, j);
                let name = |p: &PersonLine| {
                    format!("{} {} ({})", p.given_name, p.family_name, p.date_of_birth)
                };
                Duplicate {
                    family_id,
                    payments: Vec::new(),
                    probability,
                    this_person: name(&household[i]),
                    their_person: name(&candidates[j]),
                    explanation: explained
                        .contributions
                        .into_iter()
                        .map(|c| {
                            (
                                c.comparison,
                                c.level,
                                c.left.unwrap_or_default(),
                                c.right.unwrap_or_default(),
                                (c.weight * 10.0).round() / 10.0,
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        found.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        found
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn person(
            given: &str,
            family: &str,
            dob: &str,
            postcode: &str,
            address: &str,
        ) -> PersonLine {
            PersonLine {
                person_id: Uuid::now_v7(),
                given_name: given.into(),
                family_name: family.into(),
                date_of_birth: dob.into(),
                postcode: postcode.into(),
                address: address.into(),
                family_id: Uuid::now_v7(),
            }
        }

        #[test]
        fn the_same_household_elsewhere_is_likely_and_a_neighbour_is_not() {
            let household = vec![
                person("Amira", "Khan", "1990-03-04", "B16 8HA", "12 Oakfield Road"),
                person("Zain", "Khan", "2016-07-09", "B16 8HA", "12 Oakfield Road"),
            ];
            // Moved across the city, one typo in the name.
            let moved = person("Amirah", "Khan", "1990-03-04", "B23 5TT", "4 Kingsway");
            // Same street, different people.
            let neighbour = person(
                "Grace",
                "Okafor",
                "1985-01-20",
                "B16 8HA",
                "14 Oakfield Road",
            );
            // Same birthday, a stranger.
            let stranger = person("Tom", "Smith", "1990-03-04", "B44 0AA", "1 Elmwood Close");
            let found = score(&household, &[moved.clone(), neighbour, stranger]);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].family_id, moved.family_id);
            assert!(found[0].probability >= LIKELY);
            assert!(found[0].this_person.starts_with("Amira Khan"));
            let dob = found[0]
                .explanation
                .iter()
                .find(|e| e.0 == "date of birth")
                .unwrap();
            assert_eq!(dob.1, "exact");
            assert!(dob.4 > 0.0);
        }
    }
}

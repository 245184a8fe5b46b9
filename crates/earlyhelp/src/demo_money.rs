//! DEMO DATA: the business case's two funds for families (003): a resilience fund that gave
//! about 7,000 families (at the demo's 3,000 families, scaled with them) an average of about
//! £133, up to £150 each; and an emergency food and fuel scheme, a crisis fund, that gave 600
//! families up to £100. Eighteen months of payments across the ten localities, most paid, the
//! last few days' still waiting for the demo grants officer, crisis requests among them.

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::money::{CheckedProgramme, PaymentMethod, PaymentState, ProgrammeKind};
use earlyhelp_storage::payments::{self, Historic};
use earlyhelp_storage::{Db, accounts, gate, now_micros};

pub const GRANTS_OFFICER: &str = "grants@earlyhelp.test";

const DAY: i64 = 86_400_000_000;

/// Amounts that average £133 (the resilience fund) and £88 (food and fuel), in pence.
const RESILIENCE: [i64; 6] = [15_000, 15_000, 10_000, 15_000, 13_000, 11_800];
const FOOD_AND_FUEL: [i64; 5] = [10_000, 8_000, 10_000, 6_000, 10_000];

/// (purposes, reason) in turn: food, utilities, devices, clothing; hardship, abuse, crisis.
const WHY: [(&str, &str); 6] = [
    ("GTIP070", "GTIR010"),
    ("GTIP050,GTIP070", "GTIR010"),
    ("GTIP040", "GTIR070"),
    ("GTIP080", "GTIR050"),
    ("GTIP070,GTIP060", "GTIR060"),
    ("GTIP170", "GTIR100"),
];

fn programme(
    name: &str,
    budget: i64,
    cap: i64,
    crisis: bool,
    localities: &[String],
) -> Result<CheckedProgramme> {
    let today = earlyhelp_storage::cases::today();
    Ok(CheckedProgramme {
        name: name.into(),
        kind: ProgrammeKind::FamilyPayments,
        funder: "City Council".into(),
        budget,
        // Each locality its tenth, so a busy one cannot take another's share.
        locality_budgets: localities
            .iter()
            .map(|l| (l.clone(), budget / localities.len() as i64))
            .collect(),
        opens_on: today - time::Duration::days(560),
        closes_on: today + time::Duration::days(180),
        cap,
        threshold: 10_000,
        identifier_prefix: "360G-earlyhelp".into(),
        // Council to the voluntary sector council to families.
        regrant_type: Some("FRG010"),
        crisis,
        eligibility: String::new(),
        criteria: Vec::new(),
    })
}

pub async fn load(db: &Db) -> Result<()> {
    let officer = accounts::user_id_by_email(db, GRANTS_OFFICER)
        .await?
        .context("the demo grants officer is missing")?;
    let mut authorised =
        gate::operator(db, "demo", Action::Create, "load the demo's payments").await?;
    let families = payments::families_with_leads(&mut authorised).await?;
    let mut localities: Vec<String> = families.iter().map(|f| f.1.clone()).collect();
    localities.sort();
    localities.dedup();
    let programmes = [
        programme("Resilience Fund", 107_000_000, 15_000, false, &localities)?,
        programme(
            "Emergency Food and Fuel",
            15_000_000,
            10_000,
            true,
            &localities,
        )?,
    ];
    let officer_by = (officer, "Demo Grants Officer".to_string());
    let now = now_micros();
    let today = earlyhelp_storage::cases::today();
    let mut history = Vec::new();
    // The resilience fund: seven payments for every three families; food and fuel: one family
    // in five, a different one each time (7919 is prime) and so across every locality (families
    // come in locality order).
    let resilience = families.len() * 7 / 3;
    let food = families.len() / 5;
    for n in 0..resilience + food {
        let (programme, amount, family) = if n < resilience {
            (
                0,
                RESILIENCE[n % RESILIENCE.len()],
                &families[n % families.len()],
            )
        } else {
            let k = n - resilience;
            (
                1,
                FOOD_AND_FUEL[k % FOOD_AND_FUEL.len()],
                &families[(k * 7919 + 2) % families.len()],
            )
        };
        let (family_id, locality, lead, lead_name) = family;
        // Food and fuel ran over the last winter; the resilience fund over eighteen months.
        let days_ago = if programme == 0 {
            (n as i64 * 37) % 540
        } else {
            (n as i64 * 13) % 150
        };
        let requested = now - days_ago * DAY - (n as i64 % 24) * DAY / 24;
        let (purposes, reason) = WHY[n % WHY.len()];
        let state = match days_ago {
            0..=2 => PaymentState::Requested,
            3..=5 => PaymentState::Approved,
            _ if n % 40 == 7 => PaymentState::Refused,
            _ => PaymentState::Paid,
        };
        let decided = (state != PaymentState::Requested).then_some(requested + DAY / 3);
        let paid = (state == PaymentState::Paid).then(|| {
            let method = PaymentMethod::ALL[n % PaymentMethod::ALL.len()];
            let voucher = (method != PaymentMethod::BankTransfer).then(|| {
                (
                    "PayPoint".to_string(),
                    format!("PP-{:08}", n * 7919 % 100_000_000),
                )
            });
            let on = today - time::Duration::days(days_ago - 2);
            (method, voucher, earlyhelp_domain::cases::iso(on))
        });
        history.push(Historic {
            programme,
            family_id: *family_id,
            locality: locality.clone(),
            amount,
            purposes,
            reason,
            state,
            requested_by: (*lead, lead_name.clone()),
            requested_micros: requested,
            decided_by: decided.map(|_| officer_by.clone()),
            decided_micros: decided,
            paid,
        });
    }
    payments::load_history(&mut authorised, &programmes, &history).await?;
    authorised.tx.commit().await?;
    Ok(())
}

//! DEMO DATA: eighteen months of referrals from the demo families to the directory's services,
//! in every state, so the inboxes, the reply figures on service pages and the family pages
//! have shape. The demo VCS worker's organisation gets a full inbox.

use anyhow::Result;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::NeedOutcome;
use earlyhelp_domain::connections::{DeclineReason, ReferralState, Side};
use earlyhelp_storage::connections::{self, Historic};
use earlyhelp_storage::{Db, accounts, gate, now_micros};

const VCS_WORKER: &str = "vcs@earlyhelp.test";

const DAY: i64 = 86_400_000_000;

const WHY: &[&str] = &[
    "Money is tight at the end of each month and the cupboards are empty",
    "Mum would like to meet other parents; she feels alone since the move",
    "The eldest needs somewhere to go after school",
    "Advice on debts and benefits, which the family has asked for",
];

/// The steps after `sent` (each some days on), and a decline's reason or a completion's outcome.
type Path = (
    Vec<(ReferralState, Side, i64)>,
    Option<DeclineReason>,
    Option<NeedOutcome>,
);

/// Where the `n`th referral ended up, and how.
fn path(n: usize) -> Path {
    use ReferralState::*;
    let service = |state, days| (state, Side::Service, days);
    match n % 10 {
        0 => (vec![], None, None),
        1 => (vec![service(Opened, 1)], None, None),
        2 => (vec![service(Accepted, 2)], None, None),
        3 => (
            vec![service(Declined, 4)],
            Some(DeclineReason::ALL[n / 10 % DeclineReason::ALL.len()]),
            None,
        ),
        4 => (
            vec![service(Accepted, 1), service(InProgress, 6)],
            None,
            None,
        ),
        5 => (vec![service(Accepted, 3), service(OnHold, 20)], None, None),
        6 | 7 => {
            let outcome = if n % 10 == 6 {
                NeedOutcome::Met
            } else {
                NeedOutcome::PartlyMet
            };
            let steps = vec![
                service(Accepted, 2),
                service(InProgress, 5),
                service(Completed, 60),
            ];
            (steps, None, Some(outcome))
        }
        8 => (
            vec![service(Accepted, 3), service(DidNotEngage, 30)],
            None,
            None,
        ),
        // Of the rest, most expire; a few the referrer cancels or marks as a mistake.
        _ => match n / 10 % 4 {
            1 => (vec![(Cancelled, Side::Referrer, 5)], None, None),
            2 => (vec![(EnteredInError, Side::Referrer, 1)], None, None),
            _ => (vec![(Expired, Side::System, 14)], None, None),
        },
    }
}

pub async fn load(db: &Db) -> Result<()> {
    let mut authorised =
        gate::operator(db, "demo", Action::Create, "load the demo's referrals").await?;
    let found = connections::candidates(&mut authorised).await?;
    let vcs_organisation = match accounts::user_id_by_email(db, VCS_WORKER).await? {
        Some(user) => accounts::user_organisation(db, user).await?,
        None => None,
    };
    let vcs_services: Vec<usize> = (0..found.services.len())
        .filter(|i| Some(found.services[*i].0.organisation) == vcs_organisation)
        .collect();
    let now = now_micros();
    let mut history = Vec::new();
    for (n, (family_id, locality, lead, lead_name, member)) in found.families.iter().enumerate() {
        // About one family in three was connected to community support.
        if n % 3 != 0 {
            continue;
        }
        let local: Vec<usize> = (0..found.services.len())
            .filter(|i| {
                found.services[*i]
                    .1
                    .as_deref()
                    .is_none_or(|l| l == locality)
            })
            .collect();
        let pick = if n % 4 == 0 && !vcs_services.is_empty() {
            vcs_services[n / 4 % vcs_services.len()]
        } else if local.is_empty() {
            continue;
        } else {
            local[n / 3 % local.len()]
        };
        let (steps, decline_reason, outcome) = path(n / 3);
        // Those still waiting are recent (older ones would have expired); the rest spread
        // over eighteen months.
        let waiting = steps.iter().all(|s| s.0.awaits_answer());
        let sent = if waiting {
            now - (n as i64 % 9 + 1) * DAY
        } else {
            now - (90 + (n as i64 * 37) % 450) * DAY
        };
        let mut all = vec![(ReferralState::Sent, Side::Referrer, sent)];
        all.extend(
            steps
                .into_iter()
                .map(|(state, side, days)| (state, side, sent + days * DAY)),
        );
        history.push(Historic {
            family_id: *family_id,
            target: found.services[pick].0.clone(),
            referrer: (*lead, lead_name.clone()),
            locality: locality.clone(),
            why: WHY[n % WHY.len()].into(),
            member: member.clone(),
            steps: all,
            decline_reason,
            outcome,
        });
    }
    connections::load_history(&mut authorised, &history).await?;
    authorised.tx.commit().await?;
    Ok(())
}

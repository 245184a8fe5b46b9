//! The demo's requests for support and family cases: invented families across the ten
//! localities in every state (waiting for triage, open with plans and readings, stepped up,
//! closed with a reason), and three more demo practitioners so each role sees something:
//!
//! - `practitioner@earlyhelp.test` (a Ladywood school) leads some Ladywood families and is in
//!   the team around others;
//! - `health.visitor@earlyhelp.test` (community health, city-wide) leads families elsewhere;
//! - `practitioner.erdington@earlyhelp.test` (an Erdington school) is involved with none: they
//!   see only the "known to" view;
//! - `lead.erdington@earlyhelp.test` triages Erdington.
//!
//! Every name, address and date here is invented. Deterministic: the same every time.

use anyhow::{Context, Result};
use earlyhelp_domain::access::{Action, Actor};
use earlyhelp_domain::cases::{
    CaseEvent, CheckedRequest, ClosureReason, ConsentMethod, Ethnicity, Member, MemberRole,
    NeedLevel, NeedOutcome, OUTWARD_LOCALITIES, Reason, Send, TriageOutcome, WELLBEING_AREAS,
};
use earlyhelp_domain::measures::DEFAULT_MEASURE_ID;
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::Db;
use earlyhelp_storage::accounts::{self, NewUser};
use earlyhelp_storage::cases::{self, Person, TriageDecision};
use earlyhelp_storage::gate;
use time::Date;
use uuid::Uuid;

pub const HEALTH_VISITOR: &str = "health.visitor@earlyhelp.test";
pub const ERDINGTON_PRACTITIONER: &str = "practitioner.erdington@earlyhelp.test";
pub const ERDINGTON_LEAD: &str = "lead.erdington@earlyhelp.test";

/// Families per locality.
const PER_LOCALITY: usize = 24;

const GIVEN_ADULTS: &[&str] = &[
    "Layla", "Sophie", "Grace", "Aisha", "Maria", "Chloe", "Fatima", "Emma", "Joanne", "Precious",
    "Daniel", "Marcus", "Imran", "Tomasz", "Kwame", "Lee",
];
const GIVEN_CHILDREN: &[&str] = &[
    "Amira", "Noah", "Ava", "Yusuf", "Lily", "Kai", "Zara", "Oliver", "Maya", "Ibrahim", "Ruby",
    "Leo", "Hana", "Jayden", "Evie", "Musa",
];
const FAMILY_NAMES: &[&str] = &[
    "Hassan",
    "Okafor",
    "Brennan",
    "Kowalski",
    "Patel",
    "Mensah",
    "Whitfield",
    "Rahman",
    "Doyle",
    "Ahmed",
    "Campbell",
    "Nowak",
    "Begum",
    "Fraser",
    "Osei",
    "Hughes",
    "Ali",
    "Reid",
    "Popescu",
    "Clarke",
];
const STREETS: &[&str] = &[
    "Alder Road",
    "Beech Grove",
    "Cedar Close",
    "Hawthorn Way",
    "Juniper Street",
    "Larch Avenue",
    "Maple Court",
    "Rowan Drive",
];

const LANGUAGES: &[&str] = &[
    "English",
    "English, Urdu",
    "English, Polish",
    "Arabic",
    "English, Somali",
    "English, Punjabi",
];

/// A deterministic spread: the `n`th pick from `list` for seed `i`.
fn pick<T: Copy>(list: &[T], i: usize, n: usize) -> T {
    list[(i * 7 + n * 13 + i / 3) % list.len()]
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(
        y,
        time::Month::try_from(m).unwrap_or(time::Month::January),
        d,
    )
    .unwrap_or(Date::MIN)
}

fn request_for(locality: &'static str, i: usize) -> CheckedRequest {
    let outward: Vec<&str> = OUTWARD_LOCALITIES
        .iter()
        .filter(|(_, l)| *l == locality)
        .map(|(c, _)| *c)
        .collect();
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    let postcode = format!(
        "{} {}{}{}",
        outward[i % outward.len()],
        1 + i % 9,
        letters[i % letters.len()] as char,
        letters[(i * 3 + 1) % letters.len()] as char
    );
    let family_name = pick(FAMILY_NAMES, i, 0);
    let mut members = vec![Member {
        given_name: pick(GIVEN_ADULTS, i, 1).to_string(),
        family_name: family_name.to_string(),
        date_of_birth: date(
            1978 + (i % 20) as i32,
            1 + (i % 12) as u8,
            1 + (i % 27) as u8,
        ),
        relationship: MemberRole::Parent,
        ethnicity: Some(pick(Ethnicity::ALL, i, 4)),
        languages: pick(LANGUAGES, i, 5).to_string(),
        send: None,
        school: String::new(),
    }];
    for c in 0..(1 + i % 3) {
        members.push(Member {
            given_name: pick(GIVEN_CHILDREN, i, c + 2).to_string(),
            family_name: family_name.to_string(),
            date_of_birth: date(
                2010 + ((i + c * 4) % 14) as i32,
                1 + ((i + c) % 12) as u8,
                1 + ((i * 5 + c) % 27) as u8,
            ),
            relationship: MemberRole::Child,
            ethnicity: Some(pick(Ethnicity::ALL, i, 4)),
            languages: pick(LANGUAGES, i, 5).to_string(),
            send: Some(pick(Send::ALL, i, c + 6)),
            school: format!(
                "{} Primary",
                pick(STREETS, i, c + 7).split(' ').next().unwrap_or("Oak")
            ),
        });
    }
    let reasons = vec![
        Reason::ALL[i % Reason::ALL.len()],
        Reason::ALL[(i + 2) % Reason::ALL.len()],
    ];
    CheckedRequest {
        members,
        address: format!("{} {}", 1 + (i * 11) % 180, pick(STREETS, i, 3)),
        postcode,
        locality,
        reasons,
        need_level: NeedLevel::ALL[i % NeedLevel::ALL.len()],
        summary: "The family would like help to get back on track; invented for the demo.".into(),
        consent_given_by: format!("{} {}", pick(GIVEN_ADULTS, i, 1), family_name),
        consent_method: if i.is_multiple_of(2) {
            ConsentMethod::Verbal
        } else {
            ConsentMethod::Written
        },
        consent_date: date(2026, 9, 1 + (i % 28) as u8),
        contact: String::new(),
    }
}

async fn add_user(
    db: &Db,
    email: &str,
    name: &str,
    organisation: Uuid,
    role: Role,
    localities: Vec<String>,
    password_hash: &str,
) -> Result<Uuid> {
    let mut authorised = gate::operator(
        db,
        &format!("user:{email}"),
        Action::Create,
        "load the demo cases",
    )
    .await?;
    let id = Uuid::now_v7();
    let new = NewUser {
        email: email.into(),
        name: name.into(),
        organisation_id: organisation,
        password_hash: password_hash.into(),
        roles: vec![role],
        localities,
    };
    accounts::create_user(&mut authorised, id, &new).await?;
    authorised.tx.commit().await?;
    Ok(id)
}

async fn actor(db: &Db, email: &str) -> Result<(Actor, String, String)> {
    let id = accounts::user_id_by_email(db, email)
        .await?
        .with_context(|| format!("demo user {email} is missing"))?;
    let signed = accounts::signed_in(db, id)
        .await?
        .with_context(|| format!("demo user {email} is inactive"))?;
    Ok((signed.actor, signed.name, signed.organisation_name))
}

pub async fn load(db: &Db) -> Result<()> {
    let organisations = accounts::list_organisations(db).await?;
    let org = |test: &dyn Fn(&accounts::Organisation) -> bool, what: &str| {
        organisations
            .iter()
            .find(|o| test(o))
            .map(|o| o.id)
            .with_context(|| format!("the demo needs {what}"))
    };
    let health = org(
        &|o| o.name == "Community Health NHS Foundation Trust",
        "community health",
    )?;
    let erdington_school = org(
        &|o| o.kind == "school" && o.locality_slug.as_deref() == Some("erdington"),
        "an Erdington school",
    )?;
    let erdington_lead = org(
        &|o| o.leads_locality && o.locality_slug.as_deref() == Some("erdington"),
        "Erdington's lead organisation",
    )?;
    let password_hash = earlyhelp_storage::secrets::hash_password(crate::demo::PASSWORD);
    add_user(
        db,
        HEALTH_VISITOR,
        "Demo Health Visitor",
        health,
        Role::Practitioner,
        vec![],
        &password_hash,
    )
    .await?;
    add_user(
        db,
        ERDINGTON_PRACTITIONER,
        "Demo Erdington Practitioner",
        erdington_school,
        Role::Practitioner,
        vec!["erdington".into()],
        &password_hash,
    )
    .await?;
    add_user(
        db,
        ERDINGTON_LEAD,
        "Demo Erdington Locality Lead",
        erdington_lead,
        Role::LocalityLead,
        vec!["erdington".into()],
        &password_hash,
    )
    .await?;

    let (practitioner, practitioner_name, _) = actor(db, "practitioner@earlyhelp.test").await?;
    let (ladywood_lead, ladywood_lead_name, ladywood_lead_org) =
        actor(db, "lead.ladywood@earlyhelp.test").await?;
    let (health_visitor, health_name, health_org) = actor(db, HEALTH_VISITOR).await?;
    let health_person = Person {
        user_id: health_visitor.user_id,
        name: health_name.clone(),
        email: HEALTH_VISITOR.into(),
        organisation: health_org.clone(),
    };
    let practitioner_person = Person {
        user_id: practitioner.user_id,
        name: practitioner_name.clone(),
        email: practitioner.email.clone(),
        organisation: String::new(),
    };

    let mut localities: Vec<&'static str> = OUTWARD_LOCALITIES.iter().map(|(_, l)| *l).collect();
    localities.sort();
    localities.dedup();
    let mut authorised = gate::operator(db, "demo", Action::Create, "load the demo cases").await?;
    let mut self_referrals = Vec::new();
    let mut seed = 0usize;
    for locality in &localities {
        for n in 0..PER_LOCALITY {
            seed += 1;
            let request = request_for(locality, seed);
            // Every sixth is a self-referral still waiting; every sixth a professional's request.
            match n % 6 {
                0 => {
                    self_referrals.push(CheckedRequest {
                        contact: "07700 900123".into(),
                        ..request
                    });
                    continue;
                }
                1 => {
                    let requester = if *locality == "ladywood" {
                        &practitioner
                    } else {
                        &health_visitor
                    };
                    cases::create_request(
                        &mut authorised,
                        Uuid::now_v7(),
                        requester,
                        "Demo requester",
                        &request,
                    )
                    .await?;
                    continue;
                }
                _ => {}
            }
            let id = Uuid::now_v7();
            cases::create_request(
                &mut authorised,
                id,
                &practitioner,
                "Demo requester",
                &request,
            )
            .await?;
            let in_ladywood = *locality == "ladywood";
            let (lead, team) = if in_ladywood && n.is_multiple_of(2) {
                (&practitioner, Some(&health_person))
            } else if in_ladywood {
                (&health_visitor, Some(&practitioner_person))
            } else {
                (&health_visitor, None)
            };
            let decision = TriageDecision {
                outcome: TriageOutcome::EarlyHelp,
                lead_practitioner: Some(lead.user_id),
                existing_family: None,
                transfer_to: None,
                note: "Demo allocation.".into(),
            };
            let family = cases::triage(
                &mut authorised,
                id,
                &decision,
                &ladywood_lead,
                &ladywood_lead_name,
                &ladywood_lead_org,
            )
            .await?
            .context("early help opens a family case")?;
            if let Some(team) = team {
                cases::add_team_member(&mut authorised, family, team, "Demo").await?;
            }
            for (k, due) in [(0, date(2026, 10, 15)), (1, date(2027, 1, 20))] {
                cases::add_action(
                    &mut authorised,
                    family,
                    [
                        "Get the children to school every day",
                        "Sort out the rent arrears",
                    ][k],
                    [
                        "Morning routine chart and a walking bus",
                        "Appointment with the money advice service",
                    ][k],
                    if k == 0 {
                        "Parent, with school"
                    } else {
                        "Lead practitioner"
                    },
                    due,
                )
                .await?;
            }
            for (r, taken_on) in [date(2026, 9, 10), date(2026, 10, 15), date(2026, 11, 19)]
                .iter()
                .enumerate()
            {
                if r > n % 3 {
                    break;
                }
                let scores: Vec<(String, i64)> = WELLBEING_AREAS
                    .iter()
                    .enumerate()
                    .map(|(a, area)| {
                        (
                            area.to_string(),
                            (2 + (seed + a) % 4 + r * 2).min(10) as i64,
                        )
                    })
                    .collect();
                cases::record_reading(
                    &mut authorised,
                    family,
                    DEFAULT_MEASURE_ID,
                    *taken_on,
                    &scores,
                    "Demo",
                )
                .await?;
            }
            cases::add_note(
                &mut authorised,
                family,
                "Demo",
                "Home visit: the family set their goals together.",
            )
            .await?;
            if n.is_multiple_of(5) {
                cases::set_review(&mut authorised, family, date(2026, 11, 1), "Demo").await?;
            }
            match n % 6 {
                3 => {
                    cases::transition(&mut authorised, family, CaseEvent::StepUp, "Demo").await?;
                }
                4 => {
                    let reason = ClosureReason::ALL[seed % ClosureReason::ALL.len()];
                    let event = if reason == ClosureReason::SocialCareLeads {
                        cases::transition(&mut authorised, family, CaseEvent::StepUp, "Demo")
                            .await?;
                        CaseEvent::Close(reason)
                    } else {
                        CaseEvent::Close(reason)
                    };
                    cases::transition(&mut authorised, family, event, "Demo").await?;
                    let outcomes: Vec<_> = request
                        .reasons
                        .iter()
                        .enumerate()
                        .map(|(k, need)| {
                            (*need, NeedOutcome::ALL[(seed + k) % NeedOutcome::ALL.len()])
                        })
                        .collect();
                    cases::record_closure_outcomes(&mut authorised, family, &outcomes).await?;
                }
                _ => {}
            }
        }
    }
    authorised.tx.commit().await?;
    for request in &self_referrals {
        cases::self_referral(db, "demo", request).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use earlyhelp_domain::cases::locality_for_postcode;

    #[test]
    fn demo_requests_route_to_their_own_locality() {
        for (i, locality) in ["ladywood", "erdington", "yardley", "sutton-coldfield"]
            .iter()
            .enumerate()
        {
            let request = request_for(locality, i + 1);
            assert_eq!(
                locality_for_postcode(&request.postcode),
                Some(*locality),
                "{}",
                request.postcode
            );
            assert!(request.members.len() >= 2);
        }
        assert_eq!(
            request_for("ladywood", 5).postcode,
            request_for("ladywood", 5).postcode
        );
    }
}

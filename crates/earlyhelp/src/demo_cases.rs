//! The demo's requests for support and family cases: about 3,000 invented families across the
//! ten localities in every state (open with plans and readings, stepped up, stepped down,
//! closed with a reason, reopened), about 600 requests waiting for triage, and requests triaged
//! to other outcomes. Each locality has a lead who triages and four practitioners from its lead
//! organisation, a school, a nursery and a youth project; and so each role sees something:
//!
//! - `practitioner@earlyhelp.test` (a Ladywood school) leads some Ladywood families and is in
//!   the team around others;
//! - `health.visitor@earlyhelp.test` (community health, city-wide) leads families in every
//!   locality and is in the team around others;
//! - `practitioner.erdington@earlyhelp.test` (an Erdington school) is involved with none: they
//!   see only the "known to" view;
//! - `lead.ladywood@earlyhelp.test`, `lead.erdington@earlyhelp.test` (and `lead.SLUG@...` for
//!   the other localities) triage their locality.
//!
//! Every name, address and story here is invented. Deterministic: the same families every time,
//! with dates counted back from the day it is loaded (so some reviews are always overdue).
//! [`city`] builds the same kind of families at any scale, for the city-scale benchmark.

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::{
    CaseEvent, CheckedRequest, ClosureReason, ConsentMethod, Ethnicity, Member, MemberRole,
    NeedLevel, NeedOutcome, OUTWARD_LOCALITIES, Reason, Send, TriageOutcome, WELLBEING_AREAS,
};
use earlyhelp_domain::nhs_number::{NhsAnswer, NhsNumber, NhsNumberMissing};
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::Db;
use earlyhelp_storage::accounts::{self, GrantedBy, NewUser, Organisation};
use earlyhelp_storage::case_load::{self, Family, History, Note, Reading, Triage};
use earlyhelp_storage::gate::{self, Ask, FamilyId};
use time::{Date, Duration};
use uuid::Uuid;

pub const HEALTH_VISITOR: &str = "health.visitor@earlyhelp.test";
pub const ERDINGTON_PRACTITIONER: &str = "practitioner.erdington@earlyhelp.test";
pub const ERDINGTON_LEAD: &str = "lead.erdington@earlyhelp.test";
const LADYWOOD_PRACTITIONER: &str = "practitioner@earlyhelp.test";

/// The demo's size: families with a case, and requests still waiting, per locality.
pub const DEMO_SCALE: Scale = Scale {
    families_per_locality: 300,
    waiting_per_locality: 60,
    extra_notes: 0,
};

/// The city every integration test loads: every state in every locality, small enough that a
/// test spends its time on what it tests.
pub const TEST_SCALE: Scale = Scale {
    families_per_locality: 20,
    waiting_per_locality: 6,
    extra_notes: 0,
};

/// How big a city to build.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub families_per_locality: usize,
    pub waiting_per_locality: usize,
    /// Practitioners' notes added to every family's chronology beyond its own story.
    pub extra_notes: usize,
}

/// A person who works cases.
#[derive(Debug, Clone)]
pub struct Worker {
    pub id: Uuid,
    pub email: String,
    pub name: String,
}

/// Who triages a locality's requests and who works its families.
#[derive(Debug, Clone)]
pub struct LocalityStaff {
    pub slug: &'static str,
    pub lead: Worker,
    /// Lead practitioners and the team around the family, from several organisations.
    pub practitioners: Vec<Worker>,
}

const GIVEN_ADULTS: &[&str] = &[
    "Layla", "Sophie", "Grace", "Aisha", "Maria", "Chloe", "Fatima", "Emma", "Joanne", "Precious",
    "Daniel", "Marcus", "Imran", "Tomasz", "Kwame", "Lee", "Nadia", "Shauna", "Hamid", "Olena",
    "Craig", "Parveen", "Bogdan", "Tanisha",
];
const GIVEN_CHILDREN: &[&str] = &[
    "Amira", "Noah", "Ava", "Yusuf", "Lily", "Kai", "Zara", "Oliver", "Maya", "Ibrahim", "Ruby",
    "Leo", "Hana", "Jayden", "Evie", "Musa", "Isla", "Reggie", "Safiya", "Theo", "Aaliyah",
    "Kacper", "Demi", "Zayn", "Poppy", "Ellis",
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
    "Achterberg",
    "Bhatti",
    "Costa",
    "Dunmore",
    "Ekwueme",
    "Farrow",
    "Gashi",
    "Haddad",
    "Iqbal",
    "Jovanovic",
    "Kerrigan",
    "Lindqvist",
    "Mahmood",
    "Nkemelu",
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
    "Sycamore Walk",
    "Willow Crescent",
    "Chestnut Lane",
    "Poplar Terrace",
];
const LANGUAGES: &[&str] = &[
    "English",
    "English, Urdu",
    "English, Polish",
    "Arabic",
    "English, Somali",
    "English, Punjabi",
];
const WORKER_NAMES: &[&str] = &[
    "Ruth Adeyemi",
    "Sam Whitlock",
    "Priya Chauhan",
    "Owen Maddox",
    "Bea Lacroix",
    "Tariq Siddiqui",
    "Hollie Brand",
    "Femi Coker",
    "Agnes Duffy",
    "Jonah Pearce",
];
const WORKER_FIRST_NAMES: &[&str] = &[
    "Ruth", "Sam", "Priya", "Owen", "Bea", "Tariq", "Hollie", "Femi", "Agnes", "Jonah", "Carys",
    "Dev", "Marta", "Rory", "Yasmin",
];
const GOALS: &[(&str, &str, &str)] = &[
    (
        "Get the children to school every day",
        "Morning routine chart and a walking bus",
        "Parent, with school",
    ),
    (
        "Sort out the rent arrears",
        "Appointment with the money advice service",
        "Lead practitioner",
    ),
    (
        "Mum feels less alone",
        "Join the parents' coffee morning at the family hub",
        "Parent",
    ),
    (
        "Calmer evenings at home",
        "Six sessions of the parenting programme",
        "Parent, with family support worker",
    ),
    (
        "Warm, dry bedroom for the children",
        "Report the damp to the landlord and ask for a repair date",
        "Lead practitioner",
    ),
    (
        "Eldest finds something to enjoy after school",
        "Try the youth project's Tuesday club",
        "Young person, with youth worker",
    ),
];
const NOTES: &[&str] = &[
    "Home visit: the family set their goals together.",
    "Phoned mum: the school run went well this week.",
    "Met the class teacher; attendance is up since half term.",
    "Dad has an appointment with the money advice service on Thursday.",
    "Family missed the parenting session; rearranged for next week.",
    "Team around the family met at school; actions agreed and shared.",
    "The eldest went to the youth club twice and wants to keep going.",
    "Food bank voucher given; referral made to the community pantry.",
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

/// Microseconds since the epoch at `hour` o'clock on `day`.
fn micros(day: Date, hour: i64) -> i64 {
    (day.midnight().assume_utc().unix_timestamp() + hour * 3600) * 1_000_000
}

/// Most demo children have an NHS number that passes its check (made from the locality, the
/// family and the child, so no two share one); one in seven is not known, one in thirteen
/// left out because sharing it would be more detrimental to the child.
fn demo_nhs(locality: &str, i: usize, c: usize) -> NhsAnswer {
    let place = OUTWARD_LOCALITIES
        .iter()
        .position(|(_, l)| *l == locality)
        .unwrap_or(0);
    let missing = match (i + c) % 91 {
        n if n % 13 == 12 => Some(NhsNumberMissing::Withheld),
        n if n % 7 == 6 => Some(NhsNumberMissing::NotKnown),
        _ => None,
    };
    // Stems 400 000 000 up; about one stem in eleven has no check digit, so try the next.
    let stem = 400_000_000 + ((place * 10_000 + i) * 10 + c) as u32 * 16;
    let number = missing
        .is_none()
        .then(|| (stem..stem + 16).find_map(NhsNumber::with_check_digit))
        .flatten();
    NhsAnswer { number, missing }
}

fn request_for(locality: &'static str, i: usize, today: Date) -> CheckedRequest {
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
    let year = today.year();
    let mut members = Vec::new();
    for a in 0..(1 + usize::from(i.is_multiple_of(3))) {
        members.push(Member {
            given_name: pick(GIVEN_ADULTS, i, 1 + a * 5).to_string(),
            family_name: family_name.to_string(),
            date_of_birth: date(
                year - 28 - ((i + a * 3) % 20) as i32,
                1 + ((i + a) % 12) as u8,
                1 + (i % 27) as u8,
            ),
            relationship: MemberRole::Parent,
            ethnicity: Some(pick(Ethnicity::ALL, i, 4)),
            languages: pick(LANGUAGES, i, 5).to_string(),
            send: None,
            school: String::new(),
            nhs: NhsAnswer::default(),
        });
    }
    for c in 0..(1 + i % 3) {
        members.push(Member {
            // Steps of 5 through 26 names: brothers and sisters never share a name.
            given_name: GIVEN_CHILDREN[(i * 7 + i / 3 + c * 5) % GIVEN_CHILDREN.len()].to_string(),
            family_name: family_name.to_string(),
            date_of_birth: date(
                year - 1 - ((i + c * 4) % 16) as i32,
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
            nhs: demo_nhs(locality, i, c),
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
        consent_date: today - Duration::days(30 + (i % 400) as i64),
        contact: String::new(),
    }
}

/// How family `n` of a locality moved on after its case opened: mostly open, some stepped up
/// (and down), a quarter closed for each of the reasons, a few closed and reopened.
fn events_for(n: usize, seed: usize) -> Vec<CaseEvent> {
    use CaseEvent::*;
    match n % 20 {
        11 | 12 => vec![StepUp],
        13 => vec![StepUp, StepDown],
        14..=18 => match ClosureReason::ALL[seed % ClosureReason::ALL.len()] {
            ClosureReason::SocialCareLeads => vec![StepUp, Close(ClosureReason::SocialCareLeads)],
            reason => vec![Close(reason)],
        },
        19 => vec![Close(ClosureReason::NeedsMet), Reopen],
        _ => vec![],
    }
}

/// Family `n` of `staff`'s locality (`seed` unique across the city): its request, triage
/// and case history, every date counted back from `today`.
fn family_history(
    staff: &LocalityStaff,
    n: usize,
    seed: usize,
    today: Date,
    scale: &Scale,
) -> History {
    let request = request_for(staff.slug, seed, today);
    let opened = today - Duration::days(21 + ((seed * 37) % 480) as i64);
    let workers = &staff.practitioners;
    let lead = &workers[n % workers.len()];
    let team: Vec<&Worker> = (1..=(n % 3))
        .map(|k| &workers[(n + k) % workers.len()])
        .collect();
    let events = events_for(n, seed);
    let closed = events
        .iter()
        .filter(|e| matches!(e, CaseEvent::Close(_)))
        .count()
        > events.iter().filter(|e| **e == CaseEvent::Reopen).count();
    let mut notes = vec![Note {
        author: staff.lead.name.clone(),
        kind: "event",
        body: format!(
            "Request for support triaged for locality early help by {}. Allocated to {}.",
            staff.lead.name, lead.name
        ),
        at_micros: micros(opened, 9),
    }];
    for (k, member) in team.iter().enumerate() {
        notes.push(Note {
            author: lead.name.clone(),
            kind: "event",
            body: format!("{} joined the team around the family", member.name),
            at_micros: micros(opened + Duration::days(1 + k as i64), 10),
        });
    }
    // Readings while the case ran, scores rising as the plan works.
    let ran_until = if closed {
        opened + Duration::days(90 + (seed % 90) as i64)
    } else {
        today
    }
    .min(today);
    // The last day anything happened: never later than yesterday.
    let last_day = ran_until.min(today - Duration::days(1));
    let mut readings = Vec::new();
    // Up to four readings spread over the case, six weeks apart at the least.
    let every = Duration::days(((last_day - opened).whole_days() / 4).max(42));
    let mut taken_on = opened + Duration::days(7);
    while taken_on <= last_day && readings.len() < 4 {
        let r = readings.len();
        let scores = WELLBEING_AREAS
            .iter()
            .enumerate()
            .map(|(a, area)| {
                // Each area starts and moves at its own pace; some stay put.
                let start = 2 + (seed + a * 3) % 5;
                (
                    area.to_string(),
                    (start + r * ((seed + a * 2) % 3)).min(10) as i64,
                )
            })
            .collect();
        readings.push(Reading {
            taken_on,
            scores,
            recorded_by: lead.name.clone(),
        });
        notes.push(Note {
            author: lead.name.clone(),
            kind: "event",
            body: format!(
                "Outcome reading recorded for {}",
                earlyhelp_domain::cases::iso(taken_on)
            ),
            at_micros: micros(taken_on, 14),
        });
        taken_on += every;
    }
    let story_notes = 1 + seed % 3 + scale.extra_notes;
    for k in 0..story_notes {
        let day =
            opened + Duration::days(2 + (k as i64 * 9) % (last_day - opened).whole_days().max(3));
        notes.push(Note {
            author: workers[(n + k) % workers.len()].name.clone(),
            kind: "note",
            body: pick(NOTES, seed, k).into(),
            at_micros: micros(day, 11) + k as i64,
        });
    }
    // Two in ten open plans are overdue for review.
    let review_date = if closed {
        ran_until
    } else {
        // (n and seed mixed: seed alone repeats its last digit across a locality)
        today + Duration::weeks(((n + seed / 10) % 10) as i64 - 2)
    };
    // The last review set the next one six weeks on (so an overdue one was set long ago).
    let reviewed = (review_date - Duration::weeks(6)).clamp(opened, last_day);
    notes.push(Note {
        author: lead.name.clone(),
        kind: "event",
        body: format!(
            "Plan reviewed; next review by {}",
            earlyhelp_domain::cases::iso(review_date)
        ),
        at_micros: micros(reviewed, 15),
    });
    for (k, event) in events.iter().enumerate() {
        notes.push(Note {
            author: lead.name.clone(),
            kind: "event",
            body: event.describe(),
            at_micros: micros(last_day, 16) + k as i64,
        });
    }
    let actions = (0..2 + seed % 3)
        .map(|k| {
            let (goal, action, owner) = pick(GOALS, seed, k);
            let due = opened + Duration::weeks(4 + 4 * k as i64);
            case_load::Action {
                goal: goal.into(),
                action: action.into(),
                owner: owner.into(),
                due,
                done: closed || due < today - Duration::weeks(2),
            }
        })
        .collect();
    History {
        id: Uuid::now_v7(),
        requested_by: Some(lead.id),
        requester: lead.name.clone(),
        created_micros: micros(opened - Duration::days(3 + (seed % 5) as i64), 13),
        request,
        triage: Some(Triage {
            outcome: TriageOutcome::EarlyHelp,
            by: staff.lead.id,
            note: format!("Allocated to {}.", lead.name),
            micros: micros(opened, 9),
            family: Some(Family {
                id: Uuid::now_v7(),
                events,
                lead_practitioner: lead.id,
                team: team.iter().map(|w| w.id).collect(),
                review_date,
                actions,
                readings,
                notes,
            }),
        }),
    }
}

/// Request `n` of a locality that has not become a family case: most still wait for triage
/// (a third of those are self-referrals), one in seven was answered another way.
fn other_request(staff: &LocalityStaff, n: usize, seed: usize, today: Date) -> History {
    let request = request_for(staff.slug, seed, today);
    let asked = today - Duration::days((n % 21) as i64);
    let outcomes = [
        TriageOutcome::Advice,
        TriageOutcome::Community,
        TriageOutcome::StepUp,
        TriageOutcome::NoFurtherAction,
    ];
    let triage = (n % 7 == 6).then(|| Triage {
        outcome: outcomes[(n / 7) % outcomes.len()],
        by: staff.lead.id,
        note: "Triaged for the demo.".into(),
        micros: micros(asked, 15),
        family: None,
    });
    let worker = &staff.practitioners[n % staff.practitioners.len()];
    if n.is_multiple_of(3) && triage.is_none() {
        let requester = request.consent_given_by.clone();
        return History {
            id: Uuid::now_v7(),
            request: CheckedRequest {
                contact: "07700 900123".into(),
                ..request
            },
            requested_by: None,
            requester,
            created_micros: micros(asked, 8) + n as i64,
            triage: None,
        };
    }
    History {
        id: Uuid::now_v7(),
        request,
        requested_by: Some(worker.id),
        requester: worker.name.clone(),
        created_micros: micros(asked, 8) + n as i64,
        triage,
    }
}

/// Every history of the city at `scale`, locality by locality, in batches of `batch`
/// (so a city of 100,000 families never sits in memory at once).
pub fn city<'a>(
    staff: &'a [LocalityStaff],
    scale: Scale,
    today: Date,
    batch: usize,
) -> impl Iterator<Item = Vec<History>> + 'a {
    let per_locality = scale.families_per_locality + scale.waiting_per_locality * 7 / 6;
    let total = staff.len() * per_locality;
    (0..total.div_ceil(batch)).map(move |b| {
        (b * batch..((b + 1) * batch).min(total))
            .map(|i| {
                let (l, n) = (i % staff.len(), i / staff.len());
                let seed = i + 1;
                if n < scale.families_per_locality {
                    family_history(&staff[l], n, seed, today, &scale)
                } else {
                    other_request(&staff[l], n - scale.families_per_locality, seed, today)
                }
            })
            .collect()
    })
}

/// Half the demo families have their first need recorded against a Supporting Families headline
/// outcome; in a case closed with its needs met it was achieved, so some are sustained by now.
async fn supporting_families(
    authorised: &mut gate::Authorised<FamilyId>,
    history: &History,
    family: &Family,
) -> Result<()> {
    use earlyhelp_domain::supporting_families::{CheckedOutcome, HeadlineOutcome};
    let Some(first) = history.request.reasons.first() else {
        return Ok(());
    };
    if history.request.members.len() % 2 == 1 {
        return Ok(());
    }
    let outcome = match first {
        Reason::Money => HeadlineOutcome::Money,
        Reason::Health => HeadlineOutcome::Health,
        Reason::Children => HeadlineOutcome::Relationships,
        Reason::DomesticAbuse => HeadlineOutcome::DomesticAbuse,
        Reason::Education => HeadlineOutcome::Education,
        Reason::Homelessness => HeadlineOutcome::Housing,
    };
    let opened = family
        .readings
        .first()
        .map_or(family.review_date, |r| r.taken_on);
    let achieved = family.events.last() == Some(&CaseEvent::Close(ClosureReason::NeedsMet));
    let checked = CheckedOutcome {
        outcome,
        need: history.request.summary.clone(),
        identified_on: opened,
        evidence: if achieved {
            "Confirmed at the closing review with the family and the school.".into()
        } else {
            String::new()
        },
        achieved_on: achieved.then(|| family.readings.last().map_or(opened, |r| r.taken_on)),
    };
    let recorded_by = history.requester.clone();
    earlyhelp_storage::measures::record_outcome(authorised, &checked, &recorded_by).await?;
    Ok(())
}

async fn add_user(
    db: &Db,
    email: &str,
    name: &str,
    organisation: Uuid,
    role: Role,
    localities: Vec<String>,
    password_hash: &str,
) -> Result<Worker> {
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
    accounts::create_user(&mut authorised, id, &new, GrantedBy::Operator).await?;
    authorised.tx.commit().await?;
    Ok(Worker {
        id,
        email: email.into(),
        name: name.into(),
    })
}

async fn worker(db: &Db, email: &str) -> Result<Worker> {
    let id = accounts::user_id_by_email(db, email)
        .await?
        .with_context(|| format!("demo user {email} is missing"))?;
    let signed = accounts::signed_in(db, id)
        .await?
        .with_context(|| format!("demo user {email} is inactive"))?;
    Ok(Worker {
        id,
        email: email.into(),
        name: signed.name,
    })
}

/// The localities' slugs, in order.
pub fn locality_slugs() -> Vec<&'static str> {
    let mut slugs: Vec<&'static str> = OUTWARD_LOCALITIES.iter().map(|(_, l)| *l).collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// Adds the demo's case workers (a lead and `per_locality` practitioners in each locality,
/// the health visitor and the uninvolved Erdington practitioner) and returns who works where.
pub async fn add_staff(db: &Db, per_locality: usize) -> Result<Vec<LocalityStaff>> {
    let organisations = accounts::list_organisations(db).await?;
    let find = |name: &str| {
        organisations
            .iter()
            .find(|o| o.name == name)
            .with_context(|| format!("the demo needs {name}"))
    };
    let password_hash = earlyhelp_storage::secrets::hash_password(crate::demo::PASSWORD);
    let health = find("Community Health NHS Foundation Trust")?;
    let health_visitor = add_user(
        db,
        HEALTH_VISITOR,
        "Demo Health Visitor",
        health.id,
        Role::Practitioner,
        vec![],
        &password_hash,
    )
    .await?;
    let erdington_school = outsider_school(&organisations)?;
    add_user(
        db,
        ERDINGTON_PRACTITIONER,
        "Demo Erdington Practitioner",
        erdington_school.id,
        Role::Practitioner,
        vec!["erdington".into()],
        &password_hash,
    )
    .await?;
    let mut staff = Vec::new();
    for (l, slug) in locality_slugs().into_iter().enumerate() {
        let lead = if slug == "ladywood" {
            worker(db, "lead.ladywood@earlyhelp.test").await?
        } else {
            let lead_org = organisations
                .iter()
                .find(|o| o.leads_locality && o.locality_slug.as_deref() == Some(slug))
                .with_context(|| format!("the demo needs {slug}'s lead organisation"))?;
            let email = format!("lead.{slug}@earlyhelp.test");
            let name = if email == ERDINGTON_LEAD {
                "Demo Erdington Locality Lead".to_string()
            } else {
                format!("{} (locality lead)", pick(WORKER_NAMES, l, 9))
            };
            add_user(
                db,
                &email,
                &name,
                lead_org.id,
                Role::LocalityLead,
                vec![slug.into()],
                &password_hash,
            )
            .await?
        };
        // The city-wide health visitor works in Ladywood and a few other localities.
        let mut practitioners = Vec::new();
        if slug == "ladywood" || l.is_multiple_of(3) {
            practitioners.push(health_visitor.clone());
        }
        if slug == "ladywood" {
            practitioners.push(worker(db, LADYWOOD_PRACTITIONER).await?);
        }
        staff.push(LocalityStaff {
            slug,
            lead,
            practitioners,
        });
    }
    add_practitioners(db, &mut staff, 1, per_locality, &password_hash).await?;
    Ok(staff)
}

/// The school of the Erdington practitioner who is involved with no family.
fn outsider_school(organisations: &[Organisation]) -> Result<&Organisation> {
    organisations
        .iter()
        .find(|o| o.kind == "school" && o.locality_slug.as_deref() == Some("erdington"))
        .context("the demo needs an Erdington school")
}

/// The locality leads of a loaded demo, with no practitioners yet (the benchmark adds its own).
pub async fn leads(db: &Db) -> Result<Vec<LocalityStaff>> {
    let mut staff = Vec::new();
    for slug in locality_slugs() {
        staff.push(LocalityStaff {
            slug,
            lead: worker(db, &format!("lead.{slug}@earlyhelp.test")).await?,
            practitioners: Vec::new(),
        });
    }
    Ok(staff)
}

/// Adds practitioners `practitionerN.SLUG@earlyhelp.test`, N from `first`, `count` to each
/// locality, working for its lead organisation, nursery, youth project and a school; they sign
/// in with the password `password_hash` was made from.
pub async fn add_practitioners(
    db: &Db,
    staff: &mut [LocalityStaff],
    first: usize,
    count: usize,
    password_hash: &str,
) -> Result<()> {
    let organisations = accounts::list_organisations(db).await?;
    let outsider = outsider_school(&organisations)?.id;
    for (l, locality) in staff.iter_mut().enumerate() {
        let slug = locality.slug;
        let employers: Vec<&Organisation> = organisations
            .iter()
            .filter(|o| o.locality_slug.as_deref() == Some(slug) && o.id != outsider)
            .filter(|o| o.leads_locality || ["school", "nursery", "vcs"].contains(&o.kind.as_str()))
            .collect();
        anyhow::ensure!(
            !employers.is_empty(),
            "the demo needs organisations in {slug}"
        );
        for n in first..first + count {
            let name = format!(
                "{} {}",
                pick(WORKER_FIRST_NAMES, l * 5 + n, 0),
                pick(FAMILY_NAMES, l * 7 + n, 4)
            );
            let practitioner = add_user(
                db,
                &format!("practitioner{n}.{slug}@earlyhelp.test"),
                &name,
                employers[n % employers.len()].id,
                Role::Practitioner,
                vec![slug.into()],
                password_hash,
            )
            .await?;
            locality.practitioners.push(practitioner);
        }
    }
    Ok(())
}

pub async fn load(db: &Db, scale: Scale) -> Result<()> {
    let staff = add_staff(db, 4).await?;
    let today = earlyhelp_storage::cases::today();
    let mut authorised = gate::operator(db, "demo", Action::Create, "load the demo cases").await?;
    for histories in city(&staff, scale, today, usize::MAX) {
        case_load::load(&mut authorised, &histories).await?;
        // Closed cases say how far each need was met.
        for h in &histories {
            let Some(family) = h.triage.as_ref().and_then(|t| t.family.as_ref()) else {
                continue;
            };
            let ask = Ask {
                id: family.id,
                action: Action::Update,
                purpose: "load the demo cases",
            };
            let permit = gate::operator_record::<FamilyId, _>(&mut authorised, ask).await?;
            let (mut on_family, held) = authorised.swap(permit);
            supporting_families(&mut on_family, h, family).await?;
            if matches!(family.events.last(), Some(CaseEvent::Close(_))) {
                let outcomes: Vec<(Reason, NeedOutcome)> = h
                    .request
                    .reasons
                    .iter()
                    .enumerate()
                    .map(|(k, need)| {
                        let pick = (k + h.request.members.len()) % NeedOutcome::ALL.len();
                        (*need, NeedOutcome::ALL[pick])
                    })
                    .collect();
                earlyhelp_storage::cases::record_closure_outcomes(&mut on_family, &outcomes)
                    .await?;
            }
            authorised = on_family.swap(held).0;
        }
    }
    authorised.tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use earlyhelp_domain::cases::locality_for_postcode;

    fn staff() -> Vec<LocalityStaff> {
        let worker = |name: &str| Worker {
            id: Uuid::now_v7(),
            email: format!("{name}@example.test"),
            name: name.into(),
        };
        locality_slugs()
            .into_iter()
            .map(|slug| LocalityStaff {
                slug,
                lead: worker("Lead"),
                practitioners: vec![worker("A"), worker("B"), worker("C")],
            })
            .collect()
    }

    #[test]
    fn demo_requests_route_to_their_own_locality() {
        let today = date(2026, 12, 1);
        for (i, locality) in ["ladywood", "erdington", "yardley", "sutton-coldfield"]
            .iter()
            .enumerate()
        {
            let request = request_for(locality, i + 1, today);
            assert_eq!(
                locality_for_postcode(&request.postcode),
                Some(*locality),
                "{}",
                request.postcode
            );
            assert!(request.members.len() >= 2);
        }
        assert_eq!(
            request_for("ladywood", 5, today),
            request_for("ladywood", 5, today)
        );
    }

    #[test]
    fn the_city_has_every_state_and_its_size() {
        let today = date(2026, 12, 1);
        let staff = staff();
        let histories: Vec<History> = city(&staff, DEMO_SCALE, today, 1000).flatten().collect();
        let families: Vec<&Family> = histories
            .iter()
            .filter_map(|h| h.triage.as_ref().and_then(|t| t.family.as_ref()))
            .collect();
        assert_eq!(families.len(), 10 * DEMO_SCALE.families_per_locality);
        let waiting = histories.iter().filter(|h| h.triage.is_none()).count();
        assert!((550..=650).contains(&waiting), "{waiting} waiting");
        let self_referrals = histories
            .iter()
            .filter(|h| h.requested_by.is_none())
            .count();
        assert!(self_referrals > 100, "{self_referrals} self-referrals");
        for event in [
            CaseEvent::StepUp,
            CaseEvent::StepDown,
            CaseEvent::Reopen,
            CaseEvent::Close(ClosureReason::NeedsMet),
            CaseEvent::Close(ClosureReason::SingleAgency),
            CaseEvent::Close(ClosureReason::SocialCareLeads),
            CaseEvent::Close(ClosureReason::FamilyWithdrew),
        ] {
            assert!(
                families.iter().any(|f| f.events.contains(&event)),
                "{event:?}"
            );
        }
        let people: usize = histories.iter().map(|h| h.request.members.len()).sum();
        assert!(people >= 3 * histories.len(), "{people} people");
        for h in &histories {
            let mut names: Vec<&str> = h.request.members.iter().map(|m| &*m.given_name).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                h.request.members.len(),
                "{:?}",
                h.request.members
            );
        }
        assert!(
            families
                .iter()
                .all(|f| !f.readings.is_empty() && !f.notes.is_empty())
        );
        for locality in locality_slugs() {
            let overdue = histories
                .iter()
                .filter(|h| h.request.locality == locality)
                .filter_map(|h| h.triage.as_ref().and_then(|t| t.family.as_ref()))
                .filter(|f| f.events.is_empty() && f.review_date < today)
                .count();
            assert!(overdue > 0, "some open reviews in {locality} are overdue");
        }
        // The same city every time.
        let again: Vec<History> = city(&staff, DEMO_SCALE, today, 7).flatten().collect();
        assert_eq!(again.len(), histories.len());
        assert!(
            again
                .iter()
                .zip(&histories)
                .all(|(a, b)| a.request == b.request)
        );
    }
}

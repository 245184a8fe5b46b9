//! DEMO DATA: the business case's community grants programme (003): about £0.8m awarded (of an
//! £850,000 budget), more than 300
//! applications and 162 projects funded, among them £8,541 to St Margaret's Trust for a
//! gardening and cook-along project. Two assessors scored every decided application; the
//! newest still wait for scores or a decision. Organisations other than St Margaret's Trust are
//! invented, and so are their register numbers.

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::grants::{
    AreaType, CheckedApplication, CheckedDecision, CheckedReturn, OrganisationType, split_tranches,
};
use earlyhelp_domain::money::{CheckedProgramme, ProgrammeKind};
use earlyhelp_storage::grants::{self, HistoricApplication};
use earlyhelp_storage::{Db, accounts, directory, gate, now_micros};

pub const ASSESSOR: &str = "assessor@earlyhelp.test";

const DAY: i64 = 86_400_000_000;
const APPLICATIONS: usize = 310;
const AWARDS: usize = 162;
/// The newest applications, still being assessed.
const WAITING: usize = 24;

const CRITERIA: [&str; 4] = [
    "Meets a need families in the locality have",
    "Reaches families no one reaches today",
    "Value for money",
    "The organisation can deliver it",
];

/// (kind of group, project) in turn.
const PROJECTS: [(&str, &str, &str); 8] = [
    (
        "Food Network",
        "Holiday activities and food",
        "Cooked meals and activities for children in the school holidays",
    ),
    (
        "Parents Together",
        "Parent peer support",
        "Weekly drop-in where parents support each other, with a crèche",
    ),
    (
        "Digital Bridge",
        "Devices and data for families",
        "Refurbished laptops, data and help to get online for families",
    ),
    (
        "Baby Bank",
        "Baby bank",
        "Cots, clothes and essentials for babies, by referral",
    ),
    (
        "Community Learning",
        "English for parents",
        "English lessons for parents new to the country, with childcare",
    ),
    (
        "Dads' Club",
        "Dads' group",
        "Saturday sessions for dads and their children",
    ),
    (
        "Youth Project",
        "Youth mentoring",
        "Mentoring for young people at risk of leaving school",
    ),
    (
        "Warm Spaces",
        "Warm space and pantry",
        "A warm room, hot drinks and a pantry through the winter",
    ),
];

fn programme(today: time::Date) -> CheckedProgramme {
    CheckedProgramme {
        name: "Community Grants Programme".into(),
        kind: ProgrammeKind::CommunityGrants,
        funder: "City Council".into(),
        budget: 85_000_000,
        locality_budgets: Vec::new(),
        opens_on: today - time::Duration::days(400),
        closes_on: today + time::Duration::days(60),
        cap: 1_000_000,
        threshold: 10_000,
        identifier_prefix: "360G-earlyhelp".into(),
        // Council to the voluntary sector council to community groups.
        regrant_type: Some("FRG010"),
        crisis: false,
        eligibility: "Charities, companies, community interest companies and constituted groups working with families in the city.".into(),
        criteria: CRITERIA.iter().map(|c| c.to_string()).collect(),
    }
}

/// The `n`th application, in the `place`th locality: St Margaret's Trust first, then invented
/// groups in every locality.
fn application(
    n: usize,
    place: usize,
    localities: &[(String, String)],
    lsoas: &[(String, String)],
) -> CheckedApplication {
    let (locality, locality_name) = &localities[place % localities.len()];
    let area = lsoas
        .iter()
        .filter(|(_, l)| l == locality)
        .nth(n / localities.len() % 6)
        .map(|(lsoa, _)| lsoa.clone())
        .unwrap_or_else(|| format!("E0104{:04}", n % 10_000));
    let (group, title, activity) = PROJECTS[n % PROJECTS.len()];
    let kind = OrganisationType::ALL[n % OrganisationType::ALL.len()];
    let (charity, company) = match kind {
        OrganisationType::Charity => (Some(format!("{}", 1_100_000 + n * 37)), None),
        OrganisationType::Company | OrganisationType::Cic => {
            (None, Some(format!("{:08}", 9_000_000 + n * 41)))
        }
        OrganisationType::Unregistered => (None, None),
    };
    let mut checked = CheckedApplication {
        organisation_type: kind,
        organisation_name: format!("{locality_name} {group} {}", n / PROJECTS.len() + 1),
        charity_number: charity,
        company_number: company,
        contact_name: "Demo Applicant".into(),
        contact_email: format!("applicant{n}@example.org"),
        locality: locality.clone(),
        area_type: AreaType::Lsoa,
        area,
        title: title.into(),
        activity: activity.into(),
        families: 20 + (n as i64 * 7) % 80,
        amount_pence: 150_000 + (n as i64 * 7_919 % 70) * 10_000,
        charter: !n.is_multiple_of(3),
    };
    if n == 0 {
        checked.organisation_type = OrganisationType::Charity;
        checked.organisation_name = "St Margaret's Trust".into();
        checked.charity_number = Some("1098765".into());
        checked.company_number = None;
        checked.title = "Gardening and cook-along".into();
        checked.activity =
            "A community garden where families grow vegetables and cook them together".into();
        checked.amount_pence = 854_100;
    }
    checked
}

pub async fn load(db: &Db) -> Result<()> {
    let officer = accounts::user_id_by_email(db, crate::demo_money::GRANTS_OFFICER)
        .await?
        .context("the demo grants officer is missing")?;
    let assessor = accounts::user_id_by_email(db, ASSESSOR)
        .await?
        .context("the demo grant assessor is missing")?;
    let localities: Vec<(String, String)> = accounts::list_localities(db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect();
    let lsoas = directory::lsoa_localities(db).await?;
    let today = earlyhelp_storage::cases::today();
    let now = now_micros();
    let history: Vec<HistoricApplication> = (0..APPLICATIONS)
        .map(|n| {
            // Oldest first; the last WAITING arrived in the last few weeks.
            let days_ago = (APPLICATIONS - n) as i64 + 30;
            let submitted_micros = now - days_ago * DAY;
            let waiting = n >= APPLICATIONS - WAITING;
            // Those waiting with two assessors' scores are all in the first locality, where
            // residents vote on them (`demo_budgeting`).
            let place = if waiting && n % 3 == 2 { 0 } else { n };
            let application = application(n, place, &localities, &lsoas);
            let score = |who: usize| -> Vec<i64> {
                (0..CRITERIA.len())
                    .map(|c| 1 + ((n * 7 + c * 3 + who) % 5) as i64)
                    .collect()
            };
            // The waiting ones: some unscored, some with one assessor, some ready to decide.
            let assessors = if waiting { n % 3 } else { 2 };
            let scores = [
                (assessor, "Demo Grant Assessor"),
                (officer, "Demo Grants Officer"),
            ]
            .into_iter()
            .take(assessors)
            .enumerate()
            .map(|(who, (id, name))| (id, name.to_string(), score(who)))
            .collect();
            // AWARDS of the decided applications, spread evenly among them.
            let awarded = !waiting && (n * AWARDS) % (APPLICATIONS - WAITING) < AWARDS;
            let decided_on = today - time::Duration::days(days_ago - 21);
            let start = decided_on + time::Duration::days(30);
            let end = start + time::Duration::days(365);
            let decision = (!waiting).then(|| {
                let award = awarded.then(|| earlyhelp_domain::grants::Award {
                    amount_pence: application.amount_pence,
                    tranches: split_tranches(application.amount_pence, 2, start, end),
                    planned_start: start,
                    planned_end: end,
                });
                let reasons = if awarded {
                    "Scored well on need and reach; funded in full."
                } else {
                    "Scored below the funding line this round."
                };
                (
                    officer,
                    "Demo Grants Officer".to_string(),
                    CheckedDecision {
                        reasons: reasons.into(),
                        award,
                    },
                    decided_on,
                )
            });
            let started = awarded && start < today;
            let tranches_paid = if !started {
                0
            } else if end - time::Duration::days(182) < today {
                2
            } else {
                1
            };
            let returns = if started && start + time::Duration::days(90) < today {
                vec![CheckedReturn {
                    period_end: start + time::Duration::days(90),
                    families_supported: application.families / 2 + (n as i64 % 7),
                    sessions: 6 + (n as i64 % 10),
                    packs: (n as i64 * 3) % 40,
                    case_study: if n % 10 == 0 {
                        "A family new to the city found friends and a regular meal here.".into()
                    } else {
                        String::new()
                    },
                    case_study_consent: n % 10 == 0,
                }]
            } else {
                Vec::new()
            };
            HistoricApplication {
                application,
                submitted_micros,
                scores,
                decision,
                tranches_paid,
                returns,
            }
        })
        .collect();
    let authorised = gate::operator(
        db,
        "demo",
        Action::Create,
        "load the demo's community grants",
    )
    .await?;
    let (authorised, _) = grants::load_history(authorised, &programme(today), &history).await?;
    authorised.tx.commit().await?;
    Ok(())
}

//! The demo city: the ten localities of the partnership's business case with their profiles,
//! the partnership's organisations, a lead VCS organisation per locality, schools, nurseries,
//! VCS and faith groups, and one demo user per role. Deterministic: the same every time.
//! Every person and every local organisation here is invented.

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::people::{OrganisationKind, slugify};
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::Db;
use earlyhelp_storage::accounts::{self, GrantedBy, Locality, NewOrganisation, NewUser};
use earlyhelp_storage::gate::{self, Authorised};
use earlyhelp_storage::secrets::hash_password;
use uuid::Uuid;

/// Every demo user's password. Demo only: `earlyhelp serve` has no such users.
pub const PASSWORD: &str = "demo-password-2026";
/// The demo city's early help front door (an Ofcom number reserved for drama).
pub const FRONT_DOOR_PHONE: &str = "0121 496 0000";

const LOCALITIES_CSV: &str = include_str!("../demo/localities.csv");

/// The partnership's city-wide organisations.
const PARTNERS: &[(&str, OrganisationKind)] = &[
    ("City Council", OrganisationKind::Council),
    ("Children's Trust", OrganisationKind::ChildrensTrust),
    (
        "Integrated Care Board",
        OrganisationKind::IntegratedCareBoard,
    ),
    (
        "Community Health NHS Foundation Trust",
        OrganisationKind::NhsTrust,
    ),
    (
        "Women's and Children's NHS Foundation Trust",
        OrganisationKind::NhsTrust,
    ),
    ("City Police", OrganisationKind::Police),
    ("Voluntary Sector Council", OrganisationKind::Vcs),
    (
        "Mental Health Partnership for Young People",
        OrganisationKind::Partnership,
    ),
    ("Education Partnership", OrganisationKind::Partnership),
];

/// One invented lead VCS organisation per locality, in the order of the localities file.
const LEAD_ORGANISATIONS: &[&str] = &[
    "Royal Town Family Network",
    "Northside Community Alliance",
    "Canal Quarter Family Trust",
    "Westgate Families Together",
    "Southfield Community Partnership",
    "Riverside Family Hub Trust",
    "Greenway Families Collective",
    "Eastmoor Community Foundation",
    "Hillcrest Family Support",
    "Old Forge Neighbourhood Trust",
];

const STREETS: &[&str] = &[
    "Oakfield",
    "Brookvale",
    "Marsh Lane",
    "St Anne's",
    "Elmwood",
    "Kingsway",
    "Meadowbank",
    "Foxhill",
];

/// Loads the demo city, its cases at `scale`, and returns its sign-ins (email, role).
pub async fn load(db: &Db, scale: crate::demo_cases::Scale) -> Result<Vec<(String, &'static str)>> {
    let mut authorised = gate::operator(db, "demo", Action::Create, "load the demo city").await?;
    let localities = load_localities(&mut authorised).await?;
    let mut by_name = std::collections::HashMap::new();
    for (name, kind) in PARTNERS {
        let id = add_organisation(&mut authorised, name, *kind, None, None, false).await?;
        by_name.insert(name.to_string(), id);
    }
    for (index, locality) in localities.iter().enumerate() {
        let lead = LEAD_ORGANISATIONS[index % LEAD_ORGANISATIONS.len()];
        let charity = format!("{}", 1_190_001 + index * 7);
        let id = add_organisation(
            &mut authorised,
            lead,
            OrganisationKind::Vcs,
            Some(&locality.slug),
            Some(charity),
            true,
        )
        .await?;
        by_name.insert(lead.to_string(), id);
        for (n, (suffix, kind)) in local_organisations().iter().enumerate() {
            let street = STREETS[(index + n) % STREETS.len()];
            let name = format!("{street} {suffix}, {}", locality.name);
            let charity = matches!(kind, OrganisationKind::Vcs | OrganisationKind::Faith)
                .then(|| format!("{}", 1_150_000 + index * 31 + n));
            let id = add_organisation(
                &mut authorised,
                &name,
                *kind,
                Some(&locality.slug),
                charity,
                false,
            )
            .await?;
            by_name.insert(name, id);
        }
    }

    // Hash the shared demo password once; argon2 is slow on purpose.
    let password_hash = hash_password(PASSWORD);
    let ladywood_index = localities
        .iter()
        .position(|l| l.slug == "ladywood")
        .context("the demo needs Ladywood")?;
    let ladywood = &localities[ladywood_index];
    let ladywood_lead = LEAD_ORGANISATIONS[ladywood_index % LEAD_ORGANISATIONS.len()];
    // The first local organisation of each locality is its primary school (see the loop above).
    let school = format!(
        "{} Primary School, {}",
        STREETS[ladywood_index % STREETS.len()],
        ladywood.name
    );
    let people: &[(&str, &str, &str, Role, bool)] = &[
        (
            "admin@earlyhelp.test",
            "Demo Administrator",
            "City Council",
            Role::Administrator,
            false,
        ),
        (
            "lead.ladywood@earlyhelp.test",
            "Demo Locality Lead",
            ladywood_lead,
            Role::LocalityLead,
            true,
        ),
        (
            "practitioner@earlyhelp.test",
            "Demo Practitioner",
            &school,
            Role::Practitioner,
            true,
        ),
        (
            "connector.ladywood@earlyhelp.test",
            "Demo Community Connector",
            ladywood_lead,
            Role::CommunityConnector,
            true,
        ),
        (
            "vcs@earlyhelp.test",
            "Demo VCS Worker",
            "Voluntary Sector Council",
            Role::VcsWorker,
            false,
        ),
        (
            "analyst@earlyhelp.test",
            "Demo Data Analyst",
            "City Council",
            Role::DataAnalyst,
            false,
        ),
        (
            "commissioner@earlyhelp.test",
            "Demo Commissioner",
            "Children's Trust",
            Role::Commissioner,
            false,
        ),
        (
            "ig@earlyhelp.test",
            "Demo Information Governance Officer",
            "Children's Trust",
            Role::InformationGovernanceOfficer,
            false,
        ),
        (
            crate::demo_money::GRANTS_OFFICER,
            "Demo Grants Officer",
            "Voluntary Sector Council",
            Role::GrantsOfficer,
            false,
        ),
        (
            crate::demo_grants::ASSESSOR,
            "Demo Grant Assessor",
            "Voluntary Sector Council",
            Role::GrantAssessor,
            false,
        ),
    ];
    let mut sign_ins = Vec::new();
    for (email, name, organisation, role, in_ladywood) in people {
        let organisation_id = *by_name
            .get(*organisation)
            .with_context(|| format!("demo organisation {organisation} is missing"))?;
        let new = NewUser {
            email: email.to_string(),
            name: name.to_string(),
            organisation_id,
            password_hash: password_hash.clone(),
            roles: vec![*role],
            localities: if *in_ladywood {
                vec![ladywood.slug.clone()]
            } else {
                vec![]
            },
        };
        accounts::create_user(&mut authorised, Uuid::now_v7(), &new, GrantedBy::Operator).await?;
        sign_ins.push((email.to_string(), role.label()));
    }
    authorised.tx.commit().await?;
    crate::demo_cases::load(db, scale).await?;
    crate::demo_sharing::load(db).await?;
    crate::demo_directory::load(db).await?;
    crate::demo_connections::load(db).await?;
    let money = std::time::Instant::now();
    crate::demo_money::load(db).await?;
    crate::demo_grants::load(db).await?;
    tracing::info!("demo payments loaded in {:?}", money.elapsed());
    // After all the money: its synthetic deciles follow the spend.
    let deprivation = std::time::Instant::now();
    crate::demo_deprivation::load(db).await?;
    tracing::info!("demo deprivation loaded in {:?}", deprivation.elapsed());
    crate::demo_outcomes::load(db).await?;
    crate::demo_surveys::load(db).await?;
    crate::demo_budgeting::load(db).await?;
    load_impact_scenarios(db).await?;
    Ok(sign_ins)
}

/// The baseline scenario, and a cautious one beside it, so the impact page has two to compare.
async fn load_impact_scenarios(db: &Db) -> Result<()> {
    use earlyhelp_domain::impact::baseline;
    let mut authorised = gate::operator(
        db,
        "demo",
        Action::Create,
        "load the demo's impact scenarios",
    )
    .await?;
    let first = baseline(earlyhelp_storage::cases::today().year());
    let mut cautious = first.clone();
    cautious.name = "Cautious: more deadweight, faster drop-off".into();
    for line in &mut cautious.lines {
        line.deadweight = line.deadweight_range[1];
        line.drop_off = 0.5;
    }
    for scenario in [&first, &cautious] {
        earlyhelp_storage::impact::save_scenario(&mut authorised, None, scenario, "demo").await?;
    }
    authorised.tx.commit().await?;
    Ok(())
}

/// The kinds of local organisation each locality gets in the demo.
fn local_organisations() -> [(&'static str, OrganisationKind); 7] {
    [
        ("Primary School", OrganisationKind::School),
        ("Junior and Infant School", OrganisationKind::School),
        ("Academy", OrganisationKind::School),
        ("Day Nursery", OrganisationKind::Nursery),
        ("Community Pantry", OrganisationKind::Vcs),
        ("Youth Project", OrganisationKind::Vcs),
        ("Faith Centre", OrganisationKind::Faith),
    ]
}

async fn load_localities(authorised: &mut Authorised) -> Result<Vec<Locality>> {
    let mut reader = csv::Reader::from_reader(LOCALITIES_CSV.as_bytes());
    let mut localities = Vec::new();
    for record in reader.records() {
        let record = record.context("reading the demo localities")?;
        let name = record.get(0).unwrap_or_default().trim().to_string();
        let locality = Locality {
            slug: slugify(&name),
            name,
            profile: record.get(1).unwrap_or_default().trim().to_string(),
        };
        accounts::upsert_locality(&mut authorised.tx, &locality).await?;
        localities.push(locality);
    }
    Ok(localities)
}

async fn add_organisation(
    authorised: &mut Authorised,
    name: &str,
    kind: OrganisationKind,
    locality: Option<&str>,
    charity_number: Option<String>,
    leads_locality: bool,
) -> Result<Uuid> {
    let new = NewOrganisation {
        name: name.to_string(),
        kind: kind.slug().to_string(),
        charity_number,
        company_number: None,
        locality_slug: locality.map(str::to_string),
        leads_locality,
    };
    Ok(accounts::create_organisation(authorised, &new).await?)
}

//! The demo's directory of community support: a synthetic postcode set for the ten localities
//! (real outward codes of the city's districts, invented inward codes and coordinates near
//! them), the taxonomy of needs, and some 430 invented services from invented providers. Some
//! are stale, some are entered twice, some have no coordinates, so every feature shows.
//! Deterministic: the same services, ids and postcodes every time (dates count from today).

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::directory::{ServiceDetail, need_id, oruk};
use earlyhelp_storage::Db;
use earlyhelp_storage::accounts;
use earlyhelp_storage::directory::{
    self as store, LocationRecord, OrganizationRecord, PostcodeRecord, ScheduleRecord,
    ServiceRecord, TermRecord,
};
use earlyhelp_storage::gate;
use uuid::Uuid;

/// Each locality: its slug, the outward codes of its districts, the middle of them, and
/// neighbourhood names for invented providers.
/// (slug, outward codes, middle (latitude, longitude), neighbourhoods).
pub type LocalityPlace = (
    &'static str,
    &'static [&'static str],
    (f64, f64),
    [&'static str; 4],
);

pub const LOCALITY_PLACES: &[LocalityPlace] = &[
    (
        "sutton-coldfield",
        &["B72", "B73", "B74", "B75", "B76"],
        (52.566, -1.820),
        ["Falcon Lodge", "Boldmere", "Wylde Green", "Walmley"],
    ),
    (
        "perry-barr",
        &["B42", "B44", "B20"],
        (52.530, -1.905),
        ["Handsworth Wood", "Kingstanding", "Perry Common", "Oscott"],
    ),
    (
        "ladywood",
        &["B1", "B16", "B18"],
        (52.482, -1.918),
        ["Ladywood", "Jewellery Quarter", "Nechells", "Soho"],
    ),
    (
        "edgbaston",
        &["B15", "B17", "B32"],
        (52.455, -1.950),
        ["Quinton", "Bartley Green", "Harborne", "Edgbaston"],
    ),
    (
        "northfield",
        &["B31", "B38", "B45"],
        (52.410, -1.975),
        ["Longbridge", "Kings Norton", "Weoley Castle", "Frankley"],
    ),
    (
        "erdington",
        &["B23", "B24"],
        (52.524, -1.836),
        ["Erdington", "Stockland Green", "Castle Vale", "Pype Hayes"],
    ),
    (
        "hodge-hill",
        &["B8", "B34", "B36"],
        (52.495, -1.790),
        [
            "Shard End",
            "Bordesley Green",
            "Washwood Heath",
            "Hodge Hill",
        ],
    ),
    (
        "yardley",
        &["B25", "B26", "B33"],
        (52.470, -1.785),
        ["Acocks Green", "South Yardley", "Sheldon", "Stechford"],
    ),
    (
        "hall-green",
        &["B28", "B11", "B13"],
        (52.437, -1.845),
        ["Hall Green", "Sparkhill", "Moseley", "Springfield"],
    ),
    (
        "selly-oak",
        &["B29", "B30", "B14"],
        (52.425, -1.925),
        ["Selly Oak", "Bournville", "Billesley", "Druids Heath"],
    ),
];

/// A kind of service: name pattern ({area} is a neighbourhood), needs, ages, cost, when.
struct Template {
    name: &'static str,
    needs: &'static [&'static str],
    ages: (Option<i64>, Option<i64>),
    /// None for free, or what it costs.
    cost: Option<(f64, &'static str)>,
    days: &'static str,
    opens: &'static str,
    closes: &'static str,
    /// Which kind of provider runs it: 0 community trust, 1 family centre, 2 church,
    /// 3 faith centre, 4 youth trust, 5 advice centre.
    provider: usize,
    description: &'static str,
}

const fn t(
    name: &'static str,
    needs: &'static [&'static str],
    ages: (Option<i64>, Option<i64>),
    cost: Option<(f64, &'static str)>,
    when: (&'static str, &'static str, &'static str),
    provider: usize,
    description: &'static str,
) -> Template {
    Template {
        name,
        needs,
        ages,
        cost,
        days: when.0,
        opens: when.1,
        closes: when.2,
        provider,
        description,
    }
}

const TEMPLATES: &[Template] = &[
    t(
        "{area} Food Bank",
        &["food", "money-housing-work"],
        (None, None),
        None,
        ("TU,FR,SA", "10:00", "13:00"),
        2,
        "Emergency food parcels for families in crisis. Come with a referral voucher if you have one, or just come along and we will help you get one.",
    ),
    t(
        "{area} Community Pantry",
        &["food"],
        (None, None),
        Some((3.5, "£3.50 a week for a bag of at least £15 of food")),
        ("WE,SA", "11:00", "14:00"),
        0,
        "A membership food club: choose your own groceries, fresh fruit and vegetables each week at a fraction of shop prices.",
    ),
    t(
        "Baby Bank at {area}",
        &["baby-bank"],
        (Some(0), Some(5)),
        None,
        ("TH", "10:00", "12:00"),
        1,
        "Free clothes, prams, cots, nappies and essentials for babies and young children, passed on by local families.",
    ),
    t(
        "Stay and Play at {area}",
        &["parenting"],
        (Some(0), Some(5)),
        None,
        ("MO,TH", "09:30", "11:30"),
        1,
        "Play sessions for babies, toddlers and their parents or carers. Meet other families and talk to our family support workers.",
    ),
    t(
        "Parenting Puzzle course",
        &["parenting", "children-young-people"],
        (Some(0), Some(11)),
        None,
        ("WE", "10:00", "12:00"),
        1,
        "A ten-week parenting support course for parents and carers of children up to 11: routines, behaviour, and looking after yourself.",
    ),
    t(
        "Dads' Group",
        &["parenting"],
        (Some(0), Some(11)),
        None,
        ("SA", "10:00", "12:00"),
        0,
        "A Saturday morning group for dads and male carers and their children: activities, breakfast and support.",
    ),
    t(
        "Young Minds Drop-in",
        &["mental-health", "health-wellbeing"],
        (Some(11), Some(18)),
        None,
        ("TU", "16:00", "18:00"),
        4,
        "A weekly drop-in for young people who feel anxious, low or stressed. Talk to a trained youth worker, no appointment needed.",
    ),
    t(
        "Talking Space counselling for young people",
        &["counselling", "mental-health"],
        (Some(11), Some(25)),
        None,
        ("MO,WE,FR", "15:30", "19:00"),
        4,
        "Free, confidential one-to-one counselling for young people aged 11 to 25. Self-referral welcome.",
    ),
    t(
        "Family Counselling Service",
        &["counselling", "health-wellbeing"],
        (None, None),
        Some((
            10.0,
            "Sliding scale from £10 a session; free for families on benefits",
        )),
        ("MO,TU,TH", "09:00", "17:00"),
        5,
        "Counselling for parents, couples and families going through a hard time: separation, loss, stress and conflict.",
    ),
    t(
        "SEND Parent Carer Support Group",
        &["send-autism", "parenting"],
        (Some(0), Some(25)),
        None,
        ("TH", "10:00", "12:00"),
        1,
        "A friendly group for parents and carers of children with special educational needs and disabilities: EHCP advice and peer support.",
    ),
    t(
        "Autism Family Café",
        &["send-autism"],
        (Some(0), Some(18)),
        None,
        ("SA", "10:00", "12:00"),
        0,
        "A relaxed, sensory-friendly café morning for autistic children and their families. Quiet room available.",
    ),
    t(
        "{area} Youth Club",
        &["youth-activities", "children-young-people"],
        (Some(11), Some(18)),
        None,
        ("TU,TH", "18:00", "20:30"),
        4,
        "Sport, music, games and trips for young people, with youth workers to talk to.",
    ),
    t(
        "Holiday Activities and Food",
        &["youth-activities", "food"],
        (Some(5), Some(16)),
        None,
        ("MO,TU,WE,TH", "10:00", "14:00"),
        4,
        "Free holiday club with a hot meal for children who get free school meals: sport, crafts and days out.",
    ),
    t(
        "Junior Football Club",
        &["youth-activities"],
        (Some(6), Some(14)),
        Some((2.0, "£2 a session, first month free")),
        ("SA", "09:00", "11:00"),
        4,
        "Coached football for boys and girls of all abilities. Boots can be borrowed.",
    ),
    t(
        "Debt and Benefits Advice Surgery",
        &["debt-benefits", "money-housing-work"],
        (Some(18), None),
        None,
        ("MO,WE", "09:30", "15:00"),
        5,
        "Free, confidential advice on debt, benefits, Universal Credit, budgeting and energy bills. Bring your letters.",
    ),
    t(
        "Housing Advice Drop-in",
        &["homelessness", "money-housing-work"],
        (Some(18), None),
        None,
        ("TU", "10:00", "13:00"),
        5,
        "Advice on renting, repairs, arrears and eviction notices. We can speak to your landlord or the council with you.",
    ),
    t(
        "Homelessness Prevention Service",
        &["homelessness"],
        (Some(16), None),
        None,
        ("MO,TU,WE,TH,FR", "09:00", "17:00"),
        5,
        "If you might lose your home, talk to us early: we help families stay housed or find somewhere safe.",
    ),
    t(
        "Job Club",
        &["money-housing-work", "education"],
        (Some(16), None),
        None,
        ("TH", "13:00", "16:00"),
        0,
        "Help with CVs, applications and interviews, job search on our computers, and links to local employers and training.",
    ),
    t(
        "ESOL and Skills for Work",
        &["education", "money-housing-work"],
        (Some(16), None),
        None,
        ("MO,WE", "10:00", "12:00"),
        3,
        "English classes for speakers of other languages, from beginners up, with a free crèche.",
    ),
    t(
        "Domestic Abuse Outreach",
        &["domestic-abuse"],
        (Some(16), None),
        None,
        ("MO,TU,WE,TH,FR", "09:00", "17:00"),
        5,
        "Confidential support for anyone affected by domestic abuse: safety planning, advocacy and help to move on. In an emergency call 999.",
    ),
    t(
        "Children's Domestic Abuse Recovery Group",
        &["domestic-abuse", "children-young-people"],
        (Some(5), Some(16)),
        None,
        ("WE", "16:00", "17:30"),
        1,
        "A ten-week group helping children who have lived with domestic abuse to understand their feelings and feel safe.",
    ),
    t(
        "Homework Club",
        &["education", "children-young-people"],
        (Some(7), Some(16)),
        None,
        ("MO,WE", "15:30", "17:30"),
        3,
        "Quiet space, computers and volunteer tutors for homework and revision after school.",
    ),
    t(
        "Healthy Families Walk",
        &["health-wellbeing"],
        (None, None),
        None,
        ("SU", "10:30", "12:00"),
        0,
        "A gentle led walk for families, buggies welcome, finishing with a cuppa.",
    ),
    t(
        "Community Lunch",
        &["faith-community", "food"],
        (None, None),
        None,
        ("SU", "12:30", "14:30"),
        2,
        "A free hot lunch for anyone in the community, every Sunday. Everyone welcome, whatever your faith.",
    ),
    t(
        "Women's Wellbeing Circle",
        &["health-wellbeing", "faith-community"],
        (Some(16), None),
        None,
        ("FR", "10:00", "12:00"),
        3,
        "A weekly women-only group for wellbeing, friendship and crafts, with a crèche.",
    ),
    t(
        "Toddler Music and Rhyme",
        &["parenting"],
        (Some(0), Some(4)),
        Some((2.5, "£2.50 per family")),
        ("TU", "10:00", "11:00"),
        2,
        "Songs, rhymes and instruments for little ones and their grown-ups.",
    ),
    t(
        "Young Carers Group",
        &["children-young-people", "health-wellbeing"],
        (Some(8), Some(18)),
        None,
        ("WE", "17:00", "19:00"),
        4,
        "A break and support for children and young people who look after someone at home.",
    ),
    t(
        "Mentoring for Young People",
        &["children-young-people", "education"],
        (Some(10), Some(18)),
        None,
        ("TH", "16:00", "18:00"),
        4,
        "One-to-one mentoring with a trained volunteer for young people who are struggling at school or at home.",
    ),
    t(
        "Family Learning: Maths and English",
        &["education", "parenting"],
        (Some(4), Some(11)),
        None,
        ("TU", "13:00", "15:00"),
        1,
        "Learn alongside your child: fun maths and English sessions for parents and children together.",
    ),
    t(
        "Community Fridge",
        &["food", "faith-community"],
        (None, None),
        None,
        ("MO,WE,FR,SA", "12:00", "16:00"),
        3,
        "Surplus food from local shops, free to anyone who needs it. No referral needed.",
    ),
];

const PROVIDER_KINDS: [(&str, &str); 6] = [
    (
        "{area} Community Trust",
        "A local charity running community activities and support.",
    ),
    (
        "{area} Family Centre",
        "A family centre offering support to parents and children.",
    ),
    (
        "St {saint}'s Church, {area}",
        "A church serving its neighbourhood with practical help.",
    ),
    (
        "{area} Faith and Community Centre",
        "A faith-based community centre open to everyone.",
    ),
    (
        "{area} Youth Trust",
        "A youth charity for children and young people.",
    ),
    (
        "{area} Advice Centre",
        "Independent advice on money, housing and rights.",
    ),
];

const SAINTS: &[&str] = &[
    "Mary", "John", "Peter", "Anne", "Luke", "Paul", "Michael", "Barnabas", "Chad", "Martin",
];
const STREETS: &[&str] = &[
    "Church Road",
    "High Street",
    "Station Road",
    "Park Lane",
    "Victoria Road",
    "Grange Road",
    "Albert Street",
    "Mill Lane",
];
const LANGUAGES: &[(&str, &str)] = &[
    ("Urdu", "ur"),
    ("Punjabi", "pa"),
    ("Bengali", "bn"),
    ("Arabic", "ar"),
    ("Polish", "pl"),
    ("Romanian", "ro"),
    ("Somali", "so"),
    ("Pashto", "ps"),
];
const ACCESS: &[&str] = &[
    "Step-free access",
    "Accessible toilet",
    "Hearing loop",
    "Parking for blue badge holders",
    "Baby changing",
];
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A small deterministic generator (xorshift), so the demo is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// The synthetic postcodes: 24 per outward code, near the district's middle.
pub fn postcodes() -> Vec<PostcodeRecord> {
    let mut rng = Rng(0x5EED_0FB0_57C0_DE00);
    let mut out = Vec::new();
    for (locality, outwards, centre, _) in LOCALITY_PLACES {
        for (k, outward) in outwards.iter().enumerate() {
            // Each district a little way from the locality's middle.
            let angle = k as f64 * 2.1;
            let district = (
                centre.0 + 0.012 * angle.cos(),
                centre.1 + 0.018 * angle.sin(),
            );
            for n in 0..24 {
                let inward = format!(
                    "{}{}{}",
                    1 + n % 9,
                    INWARD_LETTERS[rng.below(INWARD_LETTERS.len())] as char,
                    INWARD_LETTERS[rng.below(INWARD_LETTERS.len())] as char
                );
                let postcode = format!("{outward} {inward}");
                if out.iter().any(|p: &PostcodeRecord| p.postcode == postcode) {
                    continue;
                }
                out.push(PostcodeRecord {
                    postcode,
                    latitude: district.0 + (rng.unit() - 0.5) * 0.016,
                    longitude: district.1 + (rng.unit() - 0.5) * 0.024,
                    lsoa: Some(format!("E0104{:04}", 1000 + out.len() / 6)),
                    local_authority: Some("E08000025".into()),
                    locality_slug: Some(locality.to_string()),
                });
            }
        }
    }
    out
}

pub async fn load(db: &Db) -> Result<()> {
    let mut authorised =
        gate::operator(db, "directory", Action::Create, "load the demo directory").await?;
    store::ensure_needs_taxonomy(&mut authorised).await?;
    let postcodes = postcodes();
    for postcode in &postcodes {
        store::upsert_postcode(&mut authorised.tx, postcode).await?;
        if let (Some(lsoa), Some(locality)) = (&postcode.lsoa, &postcode.locality_slug) {
            store::upsert_lsoa_locality(&mut authorised.tx, lsoa, locality).await?;
        }
    }
    let organisations = accounts::list_organisations(db).await?;
    let vcs_council = organisations
        .iter()
        .find(|o| o.name == "Voluntary Sector Council")
        .context("the demo directory needs the Voluntary Sector Council")?
        .id;
    // The needs as terms, made here: the taxonomy is not committed yet, so not readable.
    let terms: Vec<TermRecord> = earlyhelp_domain::directory::NEEDS
        .iter()
        .filter_map(|n| {
            Some(TermRecord {
                id: need_id(n.code)?,
                taxonomy_id: earlyhelp_domain::directory::NEEDS_TAXONOMY_ID,
                code: n.code.into(),
                name: n.name.into(),
                description: n.description.into(),
                parent_id: n.parent.and_then(need_id),
            })
        })
        .collect();
    let today = store::today();
    let now = earlyhelp_storage::now_micros();
    let mut rng = Rng(0xD1EC_7043_2026);
    let mut count = 0;
    for (index, (locality, _, _, areas)) in LOCALITY_PLACES.iter().enumerate() {
        let lead = organisations
            .iter()
            .find(|o| o.leads_locality && o.locality_slug.as_deref() == Some(locality))
            .with_context(|| format!("the demo has no lead organisation for {locality}"))?
            .id;
        let local_postcodes: Vec<&PostcodeRecord> = postcodes
            .iter()
            .filter(|p| p.locality_slug.as_deref() == Some(*locality))
            .collect();
        // The locality's providers: each kind, in one of its neighbourhoods.
        let mut providers = Vec::new();
        for (k, (pattern, description)) in PROVIDER_KINDS.iter().enumerate() {
            let area = areas[(index + k) % areas.len()];
            let name = pattern
                .replace("{area}", area)
                .replace("{saint}", SAINTS[(index + k) % SAINTS.len()]);
            let slug = earlyhelp_domain::people::slugify(&name);
            let org = OrganizationRecord {
                id: rng.uuid(),
                name,
                description: description.to_string(),
                email: Some(format!("hello@{slug}.example.org")),
                website: earlyhelp_domain::links::WebLink::parse(&format!(
                    "https://{slug}.example.org"
                ))
                .ok(),
                charity_number: Some(format!("{}", 1_100_000 + index * 97 + k * 13)),
                partner_organisation_id: None,
                last_modified_micros: now,
                source: "local".into(),
                source_id: None,
                fetched_micros: None,
            };
            store::save_organization(&mut authorised, &org).await?;
            providers.push(org);
        }
        // Every template once, and a dozen again from a second neighbourhood.
        let mut picks: Vec<(usize, usize)> = (0..TEMPLATES.len()).map(|i| (i, 0)).collect();
        for _ in 0..12 {
            picks.push((rng.below(TEMPLATES.len()), 1 + rng.below(3)));
        }
        let mut made: Vec<ServiceRecord> = Vec::new();
        for (n, (template_index, area_shift)) in picks.into_iter().enumerate() {
            let template = &TEMPLATES[template_index];
            let area = areas[(index + template.provider + area_shift) % areas.len()];
            let provider = &providers[template.provider];
            let postcode = local_postcodes[rng.below(local_postcodes.len())];
            let phone = format!("0121 496 {:04}", (index * 97 + n * 7) % 1000);
            let name = template.name.replace("{area}", area);
            let owner = if (*locality == "ladywood" || *locality == "erdington")
                && template.provider == 0
            {
                vcs_council
            } else {
                lead
            };
            let review_by = match rng.below(100) {
                0..=14 => today - time::Duration::days(10 + rng.below(200) as i64),
                15..=24 => today + time::Duration::days(rng.below(30) as i64),
                _ => today + time::Duration::days(31 + rng.below(150) as i64),
            };
            let assured = review_by - time::Duration::days(182);
            let status = match rng.below(100) {
                0..=1 => "temporarily closed",
                2 => "inactive",
                _ => "active",
            };
            let no_coordinates = rng.below(10) == 0;
            let id = rng.uuid();
            let mut detail = ServiceDetail {
                contacts: vec![oruk::Contact {
                    id: rng.uuid(),
                    service_id: Some(id),
                    name: Some(format!(
                        "{} {}",
                        [
                            "Amina", "Jo", "Priya", "Marek", "Grace", "Tom", "Fatima", "Sam"
                        ][rng.below(8)],
                        [
                            "Hussain", "Clarke", "Patel", "Nowak", "Okafor", "Evans", "Begum",
                            "Reid"
                        ][rng.below(8)]
                    )),
                    title: Some(
                        [
                            "Volunteer coordinator",
                            "Project worker",
                            "Family support worker",
                            "Manager",
                        ][rng.below(4)]
                        .into(),
                    ),
                    email: provider.email.clone(),
                    phones: vec![oruk::Phone {
                        id: rng.uuid(),
                        number: phone.clone(),
                        description: None,
                    }],
                }],
                languages: vec![oruk::Language {
                    id: rng.uuid(),
                    service_id: Some(id),
                    name: Some("English".into()),
                    code: Some("en".into()),
                }],
                cost_options: Vec::new(),
                funding: Vec::new(),
                service_areas: vec![oruk::ServiceArea {
                    id: rng.uuid(),
                    service_id: Some(id),
                    name: Some(locality_name(locality)),
                    description: Some(format!(
                        "Families living in the {} locality",
                        locality_name(locality)
                    )),
                }],
            };
            for _ in 0..rng.below(3) {
                let (name, code) = LANGUAGES[rng.below(LANGUAGES.len())];
                if !detail
                    .languages
                    .iter()
                    .any(|l| l.code.as_deref() == Some(code))
                {
                    detail.languages.push(oruk::Language {
                        id: rng.uuid(),
                        service_id: Some(id),
                        name: Some(name.into()),
                        code: Some(code.into()),
                    });
                }
            }
            if let Some((amount, description)) = template.cost {
                detail.cost_options.push(oruk::CostOption {
                    id: rng.uuid(),
                    service_id: Some(id),
                    option: Some("Standard".into()),
                    amount: Some(amount),
                    currency: Some("GBP".into()),
                    amount_description: Some(description.into()),
                });
            }
            if rng.below(3) == 0 {
                detail.funding.push(oruk::Funding {
                    id: rng.uuid(),
                    service_id: Some(id),
                    source: Some("Community grant from the Early Help partnership".into()),
                });
            }
            let accessibility: Vec<&str> = (0..1 + rng.below(3))
                .map(|_| ACCESS[rng.below(ACCESS.len())])
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let service = ServiceRecord {
                id,
                organization: provider.clone(),
                name,
                description: template.description.into(),
                url: provider.website.clone(),
                email: provider.email.clone(),
                phone: Some(phone),
                status: status.into(),
                minimum_age: template.ages.0,
                maximum_age: template.ages.1,
                free: template.cost.is_none(),
                fees_description: template.cost.map(|c| c.1.to_string()),
                alert: (status == "temporarily closed")
                    .then(|| "Closed for building repairs; reopening next month.".to_string()),
                locality_slug: Some(locality.to_string()),
                owner_organisation_id: owner,
                review_by,
                assured_date: Some(assured),
                assurer_email: Some(format!("connector.{locality}@earlyhelp.test")),
                last_modified_micros: now,
                merged_into: None,
                detail,
                source: "local".into(),
                source_id: None,
                fetched_micros: None,
                locations: vec![LocationRecord {
                    id: rng.uuid(),
                    location_id: rng.uuid(),
                    name: Some(provider.name.clone()),
                    address_1: format!(
                        "{} {}",
                        1 + rng.below(180),
                        STREETS[rng.below(STREETS.len())]
                    ),
                    city: "Birmingham".into(),
                    postcode: Some(postcode.postcode.clone()),
                    latitude: (!no_coordinates)
                        .then(|| postcode.latitude + (rng.unit() - 0.5) * 0.001),
                    longitude: (!no_coordinates)
                        .then(|| postcode.longitude + (rng.unit() - 0.5) * 0.001),
                    geo_latitude: None,
                    geo_longitude: None,
                    accessibility: accessibility.join(". "),
                }],
                schedules: vec![ScheduleRecord {
                    id: rng.uuid(),
                    freq: "WEEKLY".into(),
                    byday: template.days.into(),
                    opens_at: template.opens.into(),
                    closes_at: template.closes.into(),
                    description: String::new(),
                }],
                terms: template
                    .needs
                    .iter()
                    .filter_map(|code| need_id(code))
                    .filter_map(|id| terms.iter().find(|t| t.id == id).cloned())
                    .collect::<Vec<TermRecord>>(),
            };
            store::save_service(&mut authorised, &service).await?;
            made.push(service);
            count += 1;
        }
        // Some listings entered twice, the way they are when two people add the same thing.
        for k in 0..2 {
            let original = &made[(k * 7 + index * 3) % made.len()];
            let mut twin = original.clone();
            twin.id = rng.uuid();
            twin.name = if k == 0 {
                format!("The {}", original.name)
            } else {
                original.name.replace(" and ", " & ")
            };
            twin.email = None;
            twin.review_by = today - time::Duration::days(40 + rng.below(300) as i64);
            twin.assured_date = Some(twin.review_by - time::Duration::days(182));
            for location in &mut twin.locations {
                location.id = rng.uuid();
                location.location_id = rng.uuid();
                location.latitude = None;
                location.longitude = None;
            }
            for schedule in &mut twin.schedules {
                schedule.id = rng.uuid();
            }
            store::save_service(&mut authorised, &twin).await?;
            count += 1;
        }
        // A school uniform scheme in each locality, from a generator of its own so the
        // services above stay as they were.
        let mut own = Rng(0x5C40_0101_0000 + index as u64);
        let mut uniform = made[0].clone();
        uniform.id = own.uuid();
        uniform.organization = providers[0].clone();
        uniform.name = format!("{} School Uniform Exchange", areas[index % areas.len()]);
        uniform.description = "Free, good-as-new school uniforms, PE kits and shoes: bring what \
            your children have grown out of, take what fits. No referral needed."
            .into();
        uniform.url = providers[0].website.clone();
        uniform.email = providers[0].email.clone();
        uniform.minimum_age = Some(4);
        uniform.maximum_age = Some(16);
        uniform.free = true;
        uniform.fees_description = None;
        uniform.status = "active".into();
        uniform.alert = None;
        uniform.review_by = today + time::Duration::days(90);
        uniform.assured_date = Some(today - time::Duration::days(92));
        uniform.detail = ServiceDetail {
            service_areas: made[0]
                .detail
                .service_areas
                .iter()
                .map(|area| oruk::ServiceArea {
                    id: own.uuid(),
                    service_id: Some(uniform.id),
                    ..area.clone()
                })
                .collect(),
            ..ServiceDetail::default()
        };
        uniform.terms = ["children-young-people", "money-housing-work"]
            .iter()
            .filter_map(|code| need_id(code))
            .filter_map(|id| terms.iter().find(|t| t.id == id).cloned())
            .collect();
        for location in &mut uniform.locations {
            location.id = own.uuid();
            location.location_id = own.uuid();
            location.name = Some(providers[0].name.clone());
        }
        uniform.schedules = vec![ScheduleRecord {
            id: own.uuid(),
            freq: "WEEKLY".into(),
            byday: "SA".into(),
            opens_at: "10:00".into(),
            closes_at: "12:00".into(),
            description: String::new(),
        }];
        store::save_service(&mut authorised, &uniform).await?;
        count += 1;
    }
    authorised.tx.commit().await?;
    tracing::info!(services = count, "demo directory loaded");
    Ok(())
}

fn locality_name(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

//! The directory of community support: the pure rules behind the Local Offer website and the
//! Open Referral UK API. Postcodes, distance, staleness, search ranking, duplicate scoring, the
//! taxonomy of needs, and the ORUK 3.0 shapes we serialise to and read from.

use crate::access::{Action, Actor, Resource, decide};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Postcodes

/// A UK postcode as a person may type it: a full one ("B23 6AB") or only its outward code
/// ("B23"), which we place at the middle of the postcodes we know in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Postcode {
    Full(String),
    Outward(String),
}

impl Postcode {
    pub fn as_str(&self) -> &str {
        match self {
            Postcode::Full(p) | Postcode::Outward(p) => p,
        }
    }

    /// The outward code: "B23" of "B23 6AB".
    pub fn outward(&self) -> &str {
        match self {
            Postcode::Full(p) => p.split(' ').next().unwrap_or(p),
            Postcode::Outward(p) => p,
        }
    }
}

fn is_outward(code: &str) -> bool {
    // A9, A99, AA9, AA99, A9A, AA9A.
    let chars: Vec<char> = code.chars().collect();
    let letters = chars.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if !(1..=2).contains(&letters) || chars.len() < letters + 1 || chars.len() > 4 {
        return false;
    }
    let rest = &chars[letters..];
    rest[0].is_ascii_digit()
        && match rest.len() {
            1 => true,
            2 => rest[1].is_ascii_alphanumeric(),
            _ => false,
        }
}

fn is_inward(code: &str) -> bool {
    let chars: Vec<char> = code.chars().collect();
    chars.len() == 3
        && chars[0].is_ascii_digit()
        && chars[1].is_ascii_alphabetic()
        && chars[2].is_ascii_alphabetic()
}

/// Upper-cased, single-spaced and checked for the shape of a UK postcode.
pub fn normalise_postcode(raw: &str) -> Option<Postcode> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    // Only letters and digits (so the byte split below is on a character boundary).
    if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    if compact.len() >= 5 {
        let (outward, inward) = compact.split_at(compact.len() - 3);
        if is_outward(outward) && is_inward(inward) {
            return Some(Postcode::Full(format!("{outward} {inward}")));
        }
    }
    is_outward(&compact).then_some(Postcode::Outward(compact))
}

// ---------------------------------------------------------------------------------------------
// Distance

pub const EARTH_RADIUS_METRES: f64 = 6_371_008.8;
pub const METRES_PER_MILE: f64 = 1_609.344;

/// Great-circle distance between two (latitude, longitude) points in degrees, in metres.
pub fn haversine_metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_METRES * h.sqrt().min(1.0).asin()
}

/// A box (min_lat, max_lat, min_lon, max_lon) that holds every point within `radius` metres of
/// `centre`: a cheap prefilter for the database before the exact distance.
pub fn bounding_box(centre: (f64, f64), radius: f64) -> (f64, f64, f64, f64) {
    let dlat = (radius / EARTH_RADIUS_METRES).to_degrees();
    let cos = centre.0.to_radians().cos().abs().max(0.01);
    let dlon = (radius / (EARTH_RADIUS_METRES * cos)).to_degrees();
    (
        centre.0 - dlat,
        centre.0 + dlat,
        centre.1 - dlon,
        centre.1 + dlon,
    )
}

/// "0.4 miles", "3 miles": how far, in the words a family uses.
pub fn describe_distance(metres: f64) -> String {
    let miles = metres / METRES_PER_MILE;
    if miles < 0.1 {
        "less than 0.1 miles".into()
    } else if miles < 10.0 {
        format!("{miles:.1} miles")
    } else {
        format!("{miles:.0} miles")
    }
}

// ---------------------------------------------------------------------------------------------
// Freshness

/// How long a listing stays fresh after someone checks it.
pub const REVIEW_INTERVAL_DAYS: i64 = 182;
/// The "due for review" queue shows listings whose review falls within this many days.
pub const DUE_SOON_DAYS: i64 = 30;

/// A listing is stale once its review date has passed.
pub fn is_stale(review_by: Date, today: Date) -> bool {
    review_by < today
}

pub fn is_due_for_review(review_by: Date, today: Date) -> bool {
    review_by <= today + time::Duration::days(DUE_SOON_DAYS)
}

/// When a listing checked on `today` is next due. Saturating: a feed's "assured" date may lie
/// at the end of the calendar (`earlyhelp import oruk` panicked on 9999-12-31).
pub fn next_review(today: Date) -> Date {
    today.saturating_add(time::Duration::days(REVIEW_INTERVAL_DAYS))
}

// ---------------------------------------------------------------------------------------------
// Days of the week (RFC 5545 BYDAY codes)

pub const DAYS: [(&str, &str); 7] = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
];

/// "sat", "Saturday", "SA" -> "SA".
pub fn parse_day(raw: &str) -> Option<&'static str> {
    let raw = raw.trim().to_ascii_uppercase();
    if raw.len() < 2 {
        return None;
    }
    DAYS.iter()
        .find(|(code, name)| raw == *code || name.to_ascii_uppercase().starts_with(&raw))
        .map(|(code, _)| *code)
}

/// "MO,WE" -> "Monday and Wednesday".
pub fn describe_days(byday: &str) -> String {
    let names: Vec<&str> = byday
        .split(',')
        .filter_map(|code| {
            let code = code.trim();
            // Monthly rules may prefix an ordinal ("2MO"); the day is the last two letters.
            let day = code.get(code.len().saturating_sub(2)..).unwrap_or("");
            DAYS.iter().find(|(c, _)| *c == day).map(|(_, name)| *name)
        })
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "HH:MM" (or "HH:MM:SS"), checked.
pub fn parse_time(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let mut parts = raw.split(':');
    let hours: u32 = parts.next()?.parse().ok()?;
    let minutes: u32 = parts.next()?.parse().ok()?;
    if let Some(seconds) = parts.next() {
        let _: u32 = seconds.parse().ok()?;
    }
    (hours < 24 && minutes < 60 && parts.next().is_none())
        .then(|| format!("{hours:02}:{minutes:02}"))
}

// ---------------------------------------------------------------------------------------------
// The taxonomy of needs

/// Our taxonomy's fixed id, so a feed we publish keeps its ids across rebuilds.
pub const NEEDS_TAXONOMY_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

pub struct Need {
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// The code of the broader need it belongs to.
    pub parent: Option<&'static str>,
}

const fn need(
    code: &'static str,
    name: &'static str,
    description: &'static str,
    parent: Option<&'static str>,
) -> Need {
    Need {
        code,
        name,
        description,
        parent,
    }
}

/// The needs families are referred for (the partnership's reasons for a request for support)
/// and the family services people look for. Order is the order shown.
pub const NEEDS: &[Need] = &[
    need(
        "reasons",
        "Reasons families ask for help",
        "The reasons for a request for support in the partnership's Family Connect Form.",
        None,
    ),
    need(
        "money-housing-work",
        "Money, housing, work and training",
        "Financial difficulty, housing problems, finding work or training.",
        Some("reasons"),
    ),
    need(
        "health-wellbeing",
        "Health and emotional wellbeing",
        "Physical health, emotional wellbeing and mental health of parents and children.",
        Some("reasons"),
    ),
    need(
        "children-young-people",
        "Children and young people who need help",
        "Children and young people at risk, struggling or needing extra support.",
        Some("reasons"),
    ),
    need(
        "domestic-abuse",
        "Domestic abuse",
        "Support for people affected by domestic abuse, including children.",
        Some("reasons"),
    ),
    need(
        "education",
        "Education",
        "School attendance, learning, exclusions and adult learning.",
        Some("reasons"),
    ),
    need(
        "homelessness",
        "Risk of homelessness",
        "Families who may lose their home or are in temporary accommodation.",
        Some("reasons"),
    ),
    need(
        "services",
        "Family services",
        "The everyday support families look for.",
        None,
    ),
    need(
        "food",
        "Food and food banks",
        "Food banks, pantries, community meals and holiday food.",
        Some("services"),
    ),
    need(
        "baby-bank",
        "Baby bank",
        "Clothes, equipment and essentials for babies and young children.",
        Some("services"),
    ),
    need(
        "parenting",
        "Parenting support",
        "Parenting courses, stay and play, family learning and parent groups.",
        Some("services"),
    ),
    need(
        "mental-health",
        "Mental health",
        "Mental health support for children, young people and parents.",
        Some("services"),
    ),
    need(
        "send-autism",
        "SEND and autism",
        "Support for families of children with special educational needs or disabilities, and autism.",
        Some("services"),
    ),
    need(
        "youth-activities",
        "Youth activities",
        "Youth clubs, sport, arts and holiday activities.",
        Some("services"),
    ),
    need(
        "counselling",
        "Counselling",
        "Talking therapies and counselling for children, young people and adults.",
        Some("services"),
    ),
    need(
        "debt-benefits",
        "Debt and benefits advice",
        "Help with debt, benefits, budgeting and bills.",
        Some("services"),
    ),
    need(
        "faith-community",
        "Faith and community groups",
        "Faith groups, community centres and social groups.",
        Some("services"),
    ),
];

/// The fixed id of a need: the taxonomy id with the need's position in its last bytes.
pub fn need_id(code: &str) -> Option<Uuid> {
    NEEDS
        .iter()
        .position(|n| n.code == code)
        .map(|i| Uuid::from_u128(NEEDS_TAXONOMY_ID.as_u128() + 0x100 + i as u128))
}

pub fn need_by_code(code: &str) -> Option<&'static Need> {
    NEEDS.iter().find(|n| n.code == code)
}

// ---------------------------------------------------------------------------------------------
// Search ranking

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "at", "for", "in", "is", "near", "of", "on", "or", "the", "to", "with", "my",
    "me", "i", "this", "who",
];

/// The words of a search, lower-cased, without punctuation or the words that carry no meaning.
pub fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(|w| w.to_lowercase())
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
        .take(12)
        .collect()
}

/// How well a listing answers the words: each word counts three times in the name, once in
/// the description; a word's stem ("parenting" for "parent") counts as the word.
pub fn relevance(words: &[String], name: &str, description: &str) -> f64 {
    if words.is_empty() {
        return 0.0;
    }
    let name = name.to_lowercase();
    let description = description.to_lowercase();
    let stem = |w: &str| -> String {
        let w = w.trim_end_matches('s');
        w.get(..w.len().min(5)).unwrap_or(w).to_string()
    };
    let mut score = 0.0;
    for word in words {
        let stem = stem(word);
        if name.contains(&stem) {
            score += 3.0;
        }
        if description.contains(&stem) {
            score += 1.0;
        }
    }
    score / words.len() as f64
}

/// What ranking needs to know about one result.
#[derive(Debug, Clone)]
pub struct Ranked<T> {
    pub item: T,
    pub stale: bool,
    /// Metres from the place searched from, when there is one.
    pub distance: Option<f64>,
    pub relevance: f64,
    pub name: String,
}

/// Fresh before stale; then nearest first when searching from a place (unplaceable ones last),
/// otherwise the most relevant; then by name so the order is stable.
pub fn rank<T>(results: &mut [Ranked<T>]) {
    results.sort_by(|a, b| {
        a.stale
            .cmp(&b.stale)
            .then_with(|| match (a.distance, b.distance) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| b.relevance.total_cmp(&a.relevance))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// Pages of `per_page` (at least 1): (total pages, the 1-based page clamped to them).
pub fn paging(total: usize, page: usize, per_page: usize) -> (usize, usize) {
    let per_page = per_page.max(1);
    let pages = total.div_ceil(per_page);
    (pages, page.clamp(1, pages.max(1)))
}

// ---------------------------------------------------------------------------------------------
// Duplicates

/// What duplicate detection compares.
#[derive(Debug, Clone, Default)]
pub struct ListingKey {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub postcode: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateScore {
    pub score: f64,
    pub reasons: Vec<&'static str>,
}

/// Pairs scoring this or more are flagged as likely twins.
pub const DUPLICATE_THRESHOLD: f64 = 0.55;

const NAME_NOISE: &[&str] = &[
    "the", "and", "of", "at", "for", "in", "ltd", "limited", "cic", "group", "service", "services",
    "project",
];

/// The name's meaningful words, lower-cased, in their order.
fn name_tokens(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .map(|t| t.to_lowercase())
        .filter(|t| !t.is_empty() && !NAME_NOISE.contains(&t.as_str()))
        .collect()
}

/// Two listings of one provider with this same key are one service to someone searching ("The
/// Food Bank" and "Food Bank"): the search shows it once.
pub fn name_key(name: &str) -> String {
    name_tokens(name).join(" ")
}

fn trigrams(text: &str) -> Vec<String> {
    let padded: Vec<char> = format!("  {}  ", text).chars().collect();
    let mut grams: Vec<String> = padded.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    grams
}

/// 0..1: the better of token overlap and character-trigram overlap of the two names, so that
/// both reordered words and small misspellings count as similar.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    let (ta, tb) = (name_tokens(a), name_tokens(b));
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let (mut sa, mut sb) = (ta.clone(), tb.clone());
    sa.sort();
    sa.dedup();
    sb.sort();
    sb.dedup();
    let shared = sa.iter().filter(|t| sb.contains(t)).count() as f64;
    let jaccard = shared / (sa.len() + sb.len()) as f64 * 2.0;
    let (ga, gb) = (trigrams(&ta.join(" ")), trigrams(&tb.join(" ")));
    let shared_grams = ga.iter().filter(|g| gb.binary_search(g).is_ok()).count() as f64;
    let dice = 2.0 * shared_grams / (ga.len() + gb.len()) as f64;
    jaccard.max(dice).min(1.0)
}

fn digits(phone: &str) -> String {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    d.strip_prefix("44")
        .map(|rest| format!("0{rest}"))
        .unwrap_or(d)
}

fn website_host(url: &str) -> String {
    let url = url.trim().to_lowercase();
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let host = rest.split('/').next().unwrap_or(rest);
    host.trim_start_matches("www.").to_string()
}

fn same(a: &Option<String>, b: &Option<String>, norm: impl Fn(&str) -> String) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (a, b) = (norm(a), norm(b));
            !a.is_empty() && a == b
        }
        _ => false,
    }
}

/// How likely two listings are the same service entered twice. Names weigh most; a shared
/// phone, email, postcode or website adds to it. A provider's different services at one
/// address share a phone and postcode but not a name, so they stay below the threshold.
pub fn duplicate_score(a: &ListingKey, b: &ListingKey) -> DuplicateScore {
    let mut score = 0.0;
    let mut reasons = Vec::new();
    let names = name_similarity(&a.name, &b.name);
    score += 0.5 * names;
    if names >= 0.99 {
        reasons.push("same name");
    } else if names >= 0.6 {
        reasons.push("similar name");
    }
    if same(&a.phone, &b.phone, digits) {
        score += 0.15;
        reasons.push("same phone");
    }
    if same(&a.email, &b.email, |e| e.trim().to_lowercase()) {
        score += 0.1;
        reasons.push("same email");
    }
    if same(&a.postcode, &b.postcode, |p| {
        p.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase()
    }) {
        score += 0.1;
        reasons.push("same postcode");
    }
    if same(&a.website, &b.website, website_host) {
        score += 0.1;
        reasons.push("same website");
    }
    DuplicateScore {
        score: (score * 1000.0_f64).round() / 1000.0,
        reasons,
    }
}

/// Every pair (i < j) scoring at least the threshold, best first.
pub fn likely_duplicates(listings: &[ListingKey]) -> Vec<(usize, usize, DuplicateScore)> {
    let mut pairs = Vec::new();
    for i in 0..listings.len() {
        for j in i + 1..listings.len() {
            let score = duplicate_score(&listings[i], &listings[j]);
            if score.score >= DUPLICATE_THRESHOLD {
                pairs.push((i, j, score));
            }
        }
    }
    pairs.sort_by(|a, b| b.2.score.total_cmp(&a.2.score));
    pairs
}

// ---------------------------------------------------------------------------------------------
// Who may change a listing, and whether the change applies at once

/// A connector's (or an approver's) own change applies at once; anyone else's waits for a
/// connector of the listing's locality to approve it.
pub fn edit_applies_directly(actor: &Actor, locality: Option<&str>) -> bool {
    decide(
        actor,
        Action::Update,
        &Resource::ListingApproval {
            locality: locality.map(str::to_string),
            connector_there: true,
        },
    )
    .allowed
}

// ---------------------------------------------------------------------------------------------
// Open Referral UK 3.0 shapes

pub mod oruk {
    //! The Open Referral UK 3.0 objects as served and read. Optional fields with no value are
    //! left out, as the standard asks.

    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    fn is_false(b: &bool) -> bool {
        !*b
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Page<T> {
        pub total_items: u64,
        pub total_pages: u64,
        pub page_number: u64,
        pub size: u64,
        pub first_page: bool,
        pub last_page: bool,
        pub empty: bool,
        pub contents: Vec<T>,
    }

    impl<T> Page<T> {
        pub fn new(contents: Vec<T>, total_items: u64, page_number: u64, per_page: u64) -> Self {
            let total_pages = total_items.div_ceil(per_page.max(1));
            Page {
                total_items,
                total_pages,
                page_number,
                size: contents.len() as u64,
                first_page: page_number <= 1,
                last_page: page_number >= total_pages,
                empty: contents.is_empty(),
                contents,
            }
        }
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Organization {
        pub id: Uuid,
        pub name: String,
        #[serde(default)]
        pub description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub website: Option<crate::links::WebLink>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub organization_identifiers: Vec<OrganizationIdentifier>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub services: Vec<Service>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct OrganizationIdentifier {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub organization_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub identifier_scheme: Option<String>,
        pub identifier_type: String,
        pub identifier: String,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Service {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub organization_id: Option<Uuid>,
        pub name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<crate::links::WebLink>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        pub status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub fees_description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub minimum_age: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub maximum_age: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub assured_date: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub assurer_email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub alert: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_modified: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub organization: Option<Box<Organization>>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub schedules: Vec<Schedule>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub service_areas: Vec<ServiceArea>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub service_at_locations: Vec<ServiceAtLocation>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub languages: Vec<Language>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub funding: Vec<Funding>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub cost_options: Vec<CostOption>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub contacts: Vec<Contact>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub phones: Vec<Phone>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub attributes: Vec<Attribute>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Schedule {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub freq: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interval: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub byday: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub opens_at: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub closes_at: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub attending_type: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct ServiceArea {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct ServiceAtLocation {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub location_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub location: Option<Location>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service: Option<Box<Service>>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Location {
        pub id: Uuid,
        #[serde(default = "physical")]
        pub location_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub latitude: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub longitude: Option<f64>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub addresses: Vec<Address>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub accessibility: Vec<Accessibility>,
    }

    fn physical() -> String {
        "physical".into()
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Address {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub location_id: Option<Uuid>,
        #[serde(default)]
        pub address_1: String,
        #[serde(default)]
        pub city: String,
        #[serde(default)]
        pub state_province: String,
        #[serde(default)]
        pub postal_code: String,
        #[serde(default)]
        pub country: String,
        #[serde(default = "physical")]
        pub address_type: String,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Accessibility {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub location_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Language {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Funding {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub source: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct CostOption {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub option: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub amount: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub currency: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub amount_description: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Contact {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub email: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub phones: Vec<Phone>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Phone {
        pub id: Uuid,
        pub number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Attribute {
        pub id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub link_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub link_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub link_entity: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub taxonomy_term_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub taxonomy_term: Option<TaxonomyTerm>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct Taxonomy {
        pub id: Uuid,
        pub name: String,
        #[serde(default)]
        pub description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub uri: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub version: Option<String>,
    }

    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
    pub struct TaxonomyTerm {
        pub id: Uuid,
        pub name: String,
        #[serde(default)]
        pub description: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub parent_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub taxonomy: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub taxonomy_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub taxonomy_detail: Option<Taxonomy>,
        #[serde(default, skip_serializing_if = "is_false")]
        pub deprecated: bool,
    }
}

/// The parts of a listing held as an ORUK document rather than in columns: contacts,
/// languages, cost options, funding, service areas and accessibility.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceDetail {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<oruk::Contact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<oruk::Language>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cost_options: Vec<oruk::CostOption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funding: Vec<oruk::Funding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_areas: Vec<oruk::ServiceArea>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn postcodes_are_normalised() {
        // Regression: a character of several bytes at the split once panicked (a 500).
        for odd in [
            "\u{fffd}\u{fffd}\u{fffd}\u{fffd}(",
            "B23é6AB",
            "ÉÉÉÉÉ",
            "B1\u{0}1AA",
        ] {
            assert_eq!(normalise_postcode(odd), None, "{odd:?}");
        }
        assert_eq!(
            normalise_postcode(" b23 6ab"),
            Some(Postcode::Full("B23 6AB".into()))
        );
        assert_eq!(
            normalise_postcode("B236AB"),
            Some(Postcode::Full("B23 6AB".into()))
        );
        assert_eq!(
            normalise_postcode("b1 1aa"),
            Some(Postcode::Full("B1 1AA".into()))
        );
        assert_eq!(
            normalise_postcode("EC1A1BB"),
            Some(Postcode::Full("EC1A 1BB".into()))
        );
        assert_eq!(
            normalise_postcode("b23"),
            Some(Postcode::Outward("B23".into()))
        );
        assert_eq!(normalise_postcode("B23 6AB").unwrap().outward(), "B23");
        for bad in ["", "23", "hello world", "B23 66B", "BBB1 1AA", "B"] {
            assert_eq!(normalise_postcode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn haversine_matches_known_distances() {
        // Birmingham New Street to London Euston is about 160 km as the crow flies.
        let d = haversine_metres((52.4778, -1.8990), (51.5282, -0.1337));
        assert!((d - 160_500.0).abs() < 1_500.0, "{d}");
        assert_eq!(haversine_metres((52.5, -1.9), (52.5, -1.9)), 0.0);
        // One degree of latitude is about 111.2 km anywhere.
        let d = haversine_metres((52.0, -1.9), (53.0, -1.9));
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
        // Symmetric.
        let (a, b) = ((52.48, -1.92), (52.52, -1.83));
        assert!((haversine_metres(a, b) - haversine_metres(b, a)).abs() < 1e-6);
    }

    #[test]
    fn bounding_box_holds_the_circle() {
        let centre = (52.48, -1.90);
        let (min_lat, max_lat, min_lon, max_lon) = bounding_box(centre, 5_000.0);
        for bearing in 0..36 {
            let angle = (bearing as f64 * 10.0).to_radians();
            // A point about 4.9 km away in each direction.
            let p = (
                centre.0 + (4_900.0 / 111_195.0) * angle.cos(),
                centre.1 + (4_900.0 / (111_195.0 * centre.0.to_radians().cos())) * angle.sin(),
            );
            assert!(haversine_metres(centre, p) < 5_000.0);
            assert!(p.0 > min_lat && p.0 < max_lat && p.1 > min_lon && p.1 < max_lon);
        }
    }

    #[test]
    fn staleness_and_review_queue() {
        let today = date!(2026 - 06 - 01);
        assert!(is_stale(date!(2026 - 05 - 31), today));
        assert!(!is_stale(today, today), "due today is not yet stale");
        assert!(is_due_for_review(date!(2026 - 06 - 20), today));
        assert!(!is_due_for_review(date!(2026 - 08 - 01), today));
        assert!(!is_stale(next_review(today), today));
        assert!(is_due_for_review(date!(2020 - 01 - 01), today));
    }

    #[test]
    fn the_next_review_of_the_last_day_of_the_calendar_does_not_overflow() {
        assert_eq!(next_review(Date::MAX), Date::MAX);
        assert_eq!(next_review(date!(9999 - 12 - 31)), Date::MAX);
    }

    #[test]
    fn days_and_times() {
        assert_eq!(parse_day("saturday"), Some("SA"));
        assert_eq!(parse_day("Sat"), Some("SA"));
        assert_eq!(parse_day("SU"), Some("SU"));
        assert_eq!(parse_day("x"), None);
        assert_eq!(parse_day("funday"), None);
        assert_eq!(describe_days("MO,WE,FR"), "Monday, Wednesday and Friday");
        assert_eq!(describe_days("2SA"), "Saturday");
        assert_eq!(parse_time("9:30"), Some("09:30".into()));
        assert_eq!(parse_time("17:00:00"), Some("17:00".into()));
        assert_eq!(parse_time("25:00"), None);
    }

    #[test]
    fn needs_have_stable_unique_ids() {
        let ids: std::collections::HashSet<Uuid> =
            NEEDS.iter().filter_map(|n| need_id(n.code)).collect();
        assert_eq!(ids.len(), NEEDS.len());
        assert_eq!(need_id("food"), need_id("food"));
        assert!(need_id("unknown").is_none());
        for n in NEEDS {
            if let Some(parent) = n.parent {
                assert!(need_by_code(parent).is_some(), "{} has no parent", n.code);
            }
        }
    }

    fn ranked(name: &str, stale: bool, distance: Option<f64>, relevance: f64) -> Ranked<()> {
        Ranked {
            item: (),
            stale,
            distance,
            relevance,
            name: name.into(),
        }
    }

    #[test]
    fn fresh_nearest_first_then_stale() {
        let mut results = vec![
            ranked("stale but close", true, Some(100.0), 1.0),
            ranked("far", false, Some(5_000.0), 1.0),
            ranked("near", false, Some(800.0), 0.1),
            ranked("unplaced", false, None, 3.0),
        ];
        rank(&mut results);
        let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["near", "far", "unplaced", "stale but close"]);
    }

    #[test]
    fn without_a_place_the_most_relevant_come_first() {
        let words = search_words("the Food bank");
        assert_eq!(words, ["food", "bank"]);
        let name_match = relevance(&words, "Erdington Food Bank", "Emergency parcels");
        let description_match = relevance(&words, "Community pantry", "Like a food bank");
        let none = relevance(&words, "Youth club", "Sport and games");
        assert!(name_match > description_match && description_match > none);
        let mut results = vec![
            ranked("B", false, None, description_match),
            ranked("A", false, None, none),
            ranked("C", false, None, name_match),
        ];
        rank(&mut results);
        assert_eq!(results[0].name, "C");
        assert_eq!(results[2].name, "A");
        // Stems: "parent" finds "Parenting".
        assert!(relevance(&search_words("parent"), "Parenting course", "") > 0.0);
    }

    #[test]
    fn paging_clamps() {
        assert_eq!(paging(0, 1, 10), (0, 1));
        assert_eq!(paging(25, 3, 10), (3, 3));
        assert_eq!(paging(25, 9, 10), (3, 3));
        assert_eq!(paging(25, 0, 10), (3, 1));
        let page = oruk::Page::new(vec![1, 2], 12, 2, 5);
        assert_eq!(
            (page.total_pages, page.size, page.first_page, page.last_page),
            (3, 2, false, false)
        );
        let empty = oruk::Page::<u8>::new(vec![], 0, 1, 5);
        assert!(empty.empty && empty.first_page && empty.last_page);
    }

    fn key(name: &str, phone: &str, email: &str, postcode: &str, web: &str) -> ListingKey {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        ListingKey {
            name: name.into(),
            phone: opt(phone),
            email: opt(email),
            postcode: opt(postcode),
            website: opt(web),
        }
    }

    #[test]
    fn twins_are_flagged_and_neighbours_are_not() {
        let a = key(
            "Erdington Food Bank",
            "0121 496 0001",
            "hello@efb.org.uk",
            "B23 6AB",
            "https://www.efb.org.uk/",
        );
        let retyped = key(
            "The Erdington Foodbank",
            "+44 121 496 0001",
            "",
            "b236ab",
            "http://efb.org.uk",
        );
        let same_provider_other_service = key(
            "Debt advice drop-in",
            "0121 496 0001",
            "hello@efb.org.uk",
            "B23 6AB",
            "https://www.efb.org.uk/",
        );
        let unrelated = key("Youth Club", "0121 496 0999", "", "B16 8AA", "");
        let twin = duplicate_score(&a, &retyped);
        assert!(twin.score >= DUPLICATE_THRESHOLD, "{twin:?}");
        assert!(twin.reasons.contains(&"same phone"));
        assert!(twin.reasons.contains(&"same postcode"));
        assert!(twin.reasons.contains(&"same website"));
        let other = duplicate_score(&a, &same_provider_other_service);
        assert!(other.score < DUPLICATE_THRESHOLD, "{other:?}");
        assert!(duplicate_score(&a, &unrelated).score < 0.2);
        // Same name, nothing else in common: flagged only if the names are the same.
        let same_name = key("Erdington Food Bank", "", "", "", "");
        assert!(duplicate_score(&a, &same_name).score < DUPLICATE_THRESHOLD);
        let pairs = likely_duplicates(&[a, unrelated, retyped, same_provider_other_service]);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].0, pairs[0].1), (0, 2));
    }

    #[test]
    fn name_similarity_is_symmetric_and_bounded() {
        for (a, b) in [
            ("Stay and Play", "Play and Stay"),
            ("Baby Bank", "Babybank"),
            ("x", "y"),
            ("", "Food"),
        ] {
            let s = name_similarity(a, b);
            assert!((0.0..=1.0).contains(&s));
            assert!((s - name_similarity(b, a)).abs() < 1e-9);
        }
        assert_eq!(name_similarity("Stay and Play", "Play and Stay"), 1.0);
        assert!(name_similarity("Baby Bank", "Babybank") > 0.5);
    }

    #[test]
    fn oruk_leaves_out_empty_fields() {
        let service = oruk::Service {
            id: Uuid::nil(),
            name: "Food bank".into(),
            status: "active".into(),
            ..Default::default()
        };
        let json = serde_json::to_value(&service).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "name", "status"]);
    }
}

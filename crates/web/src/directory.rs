//! The Local Offer: the public directory of community support. No sign-in: search by words,
//! need, age, cost, day, area and distance from a postcode; a page per service; a shortlist
//! kept in a cookie (and shareable as a link) that a family can print or email to themselves.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::views::{Layout, Pagination, SelectOption, error_for, page_asked};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use earlyhelp_domain::directory::{self as rules, METRES_PER_MILE};
use earlyhelp_domain::links::WebLink;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::accounts;
use earlyhelp_storage::directory::{self as store, Filter, ServiceRecord};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

pub const PER_PAGE: usize = 10;
pub const SHORTLIST_COOKIE: &str = "eh_shortlist";
const SHORTLIST_MAX: usize = 30;

pub fn routes() -> Routes {
    Routes::new()
        .route("/find-support", get(search))
        .route("/find-support/services/{id}", get(service))
        .route(
            "/find-support/shortlist",
            get(shortlist).post(change_shortlist),
        )
}

/// The search form, exactly as typed (so a mistake can be shown back with its message).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub need: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub distance: String,
    #[serde(default)]
    pub age: String,
    #[serde(default)]
    pub free: String,
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub locality: String,
    #[serde(default)]
    pub page: String,
}

/// One result as the list shows it.
pub struct Card {
    pub id: Uuid,
    pub name: String,
    pub provider: String,
    pub summary: String,
    pub distance: Option<String>,
    pub stale: bool,
    pub status_note: Option<String>,
    pub checked: String,
    pub when: String,
    pub cost: String,
    pub ages: String,
    pub needs: Vec<String>,
    pub place: String,
}

#[derive(Template)]
#[template(path = "directory_search.html")]
struct SearchPage {
    layout: Layout,
    errors: Vec<FieldError>,
    query: SearchQuery,
    needs: Vec<SelectOption>,
    distances: Vec<SelectOption>,
    days: Vec<SelectOption>,
    localities: Vec<SelectOption>,
    searched: bool,
    total: usize,
    cards: Vec<Card>,
    from_place: Option<String>,
    pagination: Pagination,
    shortlist_count: usize,
    /// The page is about domestic abuse: it carries "Exit this page".
    exit_this_page: bool,
    /// How many filters are chosen, and whether to show them unfolded (one has a problem).
    filter_count: usize,
    filters_open: bool,
    /// "back=…": each result's link carries the search, so its page leads back to it.
    back: String,
}

/// The need whose pages carry "Exit this page".
const DOMESTIC_ABUSE: &str = "domestic-abuse";

fn about_domestic_abuse(service: &ServiceRecord) -> bool {
    service.terms.iter().any(|t| t.code == DOMESTIC_ABUSE)
}

/// Where a service page's "Back to search" goes: the search it came from, if that is a search
/// on this site, else the search page.
fn back_to_search(back: &str) -> String {
    crate::redirect::local_path(back)
        .filter(|p| *p == "/find-support" || p.starts_with("/find-support?"))
        .unwrap_or("/find-support")
        .to_string()
}

#[derive(Deserialize, Default)]
struct BackQuery {
    #[serde(default)]
    back: String,
}

impl SearchPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn public_layout() -> Layout {
    Layout::anonymous(String::new())
}

pub use crate::dates::long_date as format_date;

pub fn describe_ages(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (None | Some(0), None) => "All ages".into(),
        (None | Some(0), Some(max)) => format!("Up to {max} years"),
        (Some(min), None) => format!("{min} years and over"),
        (Some(min), Some(max)) => format!("{min} to {max} years"),
    }
}

pub fn describe_cost(service: &ServiceRecord) -> String {
    if service.free {
        "Free".into()
    } else {
        service
            .fees_description
            .clone()
            .unwrap_or_else(|| "There is a charge".into())
    }
}

pub fn describe_when(service: &ServiceRecord) -> String {
    service
        .schedules
        .iter()
        .map(|s| {
            let days = rules::describe_days(&s.byday);
            match (s.opens_at.is_empty(), s.closes_at.is_empty()) {
                (false, false) => format!("{days}, {} to {}", s.opens_at, s.closes_at),
                _ => days,
            }
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn place_of(service: &ServiceRecord) -> String {
    service
        .locations
        .first()
        .map(|l| {
            [
                l.address_1.as_str(),
                l.city.as_str(),
                l.postcode.as_deref().unwrap_or(""),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
        })
        .unwrap_or_default()
}

fn status_note(service: &ServiceRecord) -> Option<String> {
    match service.status.as_str() {
        "active" => None,
        "temporarily closed" => Some(
            service
                .alert
                .clone()
                .unwrap_or_else(|| "Temporarily closed".into()),
        ),
        other => Some(format!("This service is {other}")),
    }
}

pub(crate) fn card(service: &ServiceRecord, distance: Option<f64>, today: Date) -> Card {
    let summary: String = if service.description.chars().count() > 220 {
        let cut: String = service.description.chars().take(217).collect();
        format!("{}…", cut.trim_end())
    } else {
        service.description.clone()
    };
    Card {
        id: service.id,
        name: service.name.clone(),
        provider: service.organization.name.clone(),
        summary,
        distance: distance.map(rules::describe_distance),
        stale: service.is_stale(today),
        status_note: status_note(service),
        checked: service
            .assured_date
            .map(format_date)
            .unwrap_or_else(|| "not yet".into()),
        when: describe_when(service),
        cost: describe_cost(service),
        ages: describe_ages(service.minimum_age, service.maximum_age),
        needs: service.terms.iter().map(|t| t.name.clone()).collect(),
        place: place_of(service),
    }
}

/// The needs to search by, with "Any need" first and `chosen` selected.
pub(crate) fn need_options(chosen: &str) -> Vec<SelectOption> {
    let mut needs = vec![SelectOption::new("", "Any need", chosen.is_empty())];
    needs.extend(
        rules::NEEDS
            .iter()
            .filter(|n| n.parent.is_some())
            .map(|n| SelectOption::new(n.code, n.name, chosen == n.code)),
    );
    needs
}

fn link_for(query: &SearchQuery, page: usize) -> String {
    let mut q = query.clone();
    q.page = page.to_string();
    let pairs: Vec<(&str, &str)> = [
        ("q", q.q.as_str()),
        ("need", &q.need),
        ("postcode", &q.postcode),
        ("distance", &q.distance),
        ("age", &q.age),
        ("free", &q.free),
        ("day", &q.day),
        ("locality", &q.locality),
        ("page", &q.page),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    format!(
        "/find-support?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// What a search asks for, short of where its postcode is (that needs the postcode directory):
/// the filter, the postcode to find, the distance from it in metres, and the problems. Pure, so
/// the fuzz target `search_query` drives it with any input.
pub fn parse_search(
    query: &SearchQuery,
) -> (
    Filter,
    Option<rules::Postcode>,
    Option<f64>,
    Vec<FieldError>,
) {
    let mut errors = Vec::new();
    let mut filter = Filter {
        words: rules::search_words(&query.q),
        once_per_service: true,
        ..Filter::default()
    };
    if !query.need.is_empty() {
        match rules::need_id(&query.need) {
            Some(id) => filter.term_id = Some(id),
            None => errors.push(FieldError::new("need", "Choose a need from the list")),
        }
    }
    if !query.age.trim().is_empty() {
        match query.age.trim().parse::<i64>() {
            Ok(age) if (0..=120).contains(&age) => filter.age = Some(age),
            _ => errors.push(FieldError::new(
                "age",
                "Age must be a whole number of years, like 4",
            )),
        }
    }
    filter.free_only = query.free == "yes";
    if !query.day.is_empty() {
        match rules::parse_day(&query.day) {
            Some(day) => filter.day = day.to_string(),
            None => errors.push(FieldError::new("day", "Choose a day from the list")),
        }
    }
    filter.locality = query.locality.trim().to_string();
    let mut postcode = None;
    if !query.postcode.trim().is_empty() {
        postcode = rules::normalise_postcode(&query.postcode);
        if postcode.is_none() {
            errors.push(FieldError::new(
                "postcode",
                "Enter a full postcode, like B23 6AB, or the first part, like B23",
            ));
        }
    }
    let mut within = None;
    if !query.distance.is_empty() {
        match query.distance.parse::<f64>() {
            Ok(miles) if miles > 0.0 && miles <= 50.0 => {
                within = Some(miles * METRES_PER_MILE);
                if query.postcode.trim().is_empty() {
                    errors.push(FieldError::new(
                        "postcode",
                        "Enter a postcode to search within a distance",
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                "distance",
                "Choose a distance from the list",
            )),
        }
    }
    (filter, postcode, within, errors)
}

/// The filter a query asks for, with the place searched from, or the problems with it.
pub async fn filter_for(
    state: &AppState,
    query: &SearchQuery,
) -> Result<(Filter, Option<store::Place>, Vec<FieldError>), AppError> {
    let (mut filter, postcode, within, mut errors) = parse_search(query);
    let mut place = None;
    if let Some(postcode) = postcode {
        match store::locate(&state.db, &postcode).await? {
            Some(found) => {
                filter.near = Some((found.latitude, found.longitude));
                filter.within_metres = within;
                place = Some(found);
            }
            None => errors.push(FieldError::new(
                "postcode",
                format!(
                    "We do not know the postcode {}. Check it, or choose an area instead. \
                     These results are not sorted by distance.",
                    postcode.as_str()
                ),
            )),
        }
    }
    Ok((filter, place, errors))
}

async fn search(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let searched = [
        &query.q,
        &query.need,
        &query.postcode,
        &query.age,
        &query.free,
        &query.day,
        &query.locality,
        &query.distance,
    ]
    .iter()
    .any(|v| !v.is_empty());
    let (filter, place, errors) = filter_for(&state, &query).await?;
    let today = store::today();
    let localities = accounts::list_localities(&state.db).await?;
    let asked = page_asked(&query.page)?;
    let mut exit_this_page = query.need == DOMESTIC_ABUSE;
    let (hits, cards, pagination) = if searched {
        let hits = store::search(&state.db, &filter, today).await?;
        let pagination = Pagination::new(hits.len(), asked, PER_PAGE, "Results pages", |n| {
            link_for(&query, n)
        });
        let shown: Vec<&store::Hit> = hits
            .iter()
            .skip(pagination.skip(PER_PAGE))
            .take(PER_PAGE)
            .collect();
        let ids: Vec<Uuid> = shown.iter().map(|h| h.id).collect();
        let services = store::load_services(&state.db, &ids, true).await?;
        exit_this_page |= services.iter().any(about_domestic_abuse);
        let cards = services
            .iter()
            .map(|service| {
                let distance = shown
                    .iter()
                    .find(|h| h.id == service.id)
                    .and_then(|h| h.distance);
                card(service, distance, today)
            })
            .collect();
        (hits.len(), cards, pagination)
    } else {
        let none = Pagination::new(0, 1, PER_PAGE, "Results pages", |n| link_for(&query, n));
        (0, Vec::new(), none)
    };
    let needs = need_options(&query.need);
    let distances = [
        ("", "Any distance"),
        ("1", "Within 1 mile"),
        ("3", "Within 3 miles"),
        ("5", "Within 5 miles"),
        ("10", "Within 10 miles"),
    ]
    .iter()
    .map(|(v, l)| SelectOption::new(*v, *l, query.distance == *v))
    .collect();
    let wanted_day = rules::parse_day(&query.day).unwrap_or("");
    let mut days = vec![SelectOption::new("", "Any day", query.day.is_empty())];
    days.extend(
        rules::DAYS
            .iter()
            .map(|(code, name)| SelectOption::new(*code, *name, wanted_day == *code)),
    );
    let mut locality_options = vec![SelectOption::new(
        "",
        "Anywhere in the city",
        query.locality.is_empty(),
    )];
    locality_options.extend(
        localities
            .iter()
            .map(|l| SelectOption::new(l.slug.clone(), l.name.clone(), query.locality == l.slug)),
    );
    let from_place = place.map(|p| p.postcode);
    let filter_count = [
        &query.need,
        &query.postcode,
        &query.distance,
        &query.age,
        &query.free,
        &query.day,
        &query.locality,
    ]
    .iter()
    .filter(|v| !v.trim().is_empty())
    .count();
    let filters_open = errors.iter().any(|e| e.field != "q");
    // Input that is not a search (not a postcode we do not know, whose results still show).
    let malformed = !parse_search(&query).3.is_empty();
    let status = if !malformed {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let back = serde_urlencoded::to_string([("back", link_for(&query, pagination.page))])
        .unwrap_or_default();
    let page = SearchPage {
        exit_this_page,
        filter_count,
        filters_open,
        back,
        layout: public_layout(),
        errors,
        query,
        needs,
        distances,
        days,
        localities: locality_options,
        searched,
        total: hits,
        cards,
        from_place,
        pagination,
        shortlist_count: shortlist_ids(&jar).len(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "directory_service.html")]
struct ServicePage {
    layout: Layout,
    card: Card,
    description: String,
    /// The only kind of link the page renders from stored data.
    url: Option<WebLink>,
    email: Option<String>,
    phone: Option<String>,
    contacts: Vec<String>,
    languages: String,
    accessibility: String,
    review_by: String,
    locality: String,
    on_shortlist: bool,
    tel: String,
    needs: String,
    /// "Usually replies within 3 days; 94% of referrals accepted", from five referrals a year.
    replies: Option<String>,
    exit_this_page: bool,
    back: String,
}

/// The service's reply figures in words, once it has enough referrals to say anything.
async fn replies(state: &AppState, id: Uuid) -> Result<Option<String>, AppError> {
    let figures =
        earlyhelp_storage::connections::figures(&state.db, id, earlyhelp_storage::now_micros())
            .await?;
    Ok(figures.map(|f| {
        let reply = match f.median_reply_days {
            Some(days) => {
                let days = days.ceil().max(1.0) as i64;
                let plural = if days == 1 { "" } else { "s" };
                format!("Usually replies within {days} day{plural}")
            }
            None => "No replies yet".into(),
        };
        format!(
            "{reply}; {:.0}% of referrals accepted (last 12 months)",
            f.accepted_percent
        )
    }))
}

async fn service(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Query(back): Query<BackQuery>,
) -> Result<Response, AppError> {
    let service = store::load_service(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(kept) = service.merged_into {
        return Ok(Redirect::permanent(&format!("/find-support/services/{kept}")).into_response());
    }
    let today = store::today();
    let localities = accounts::list_localities(&state.db).await?;
    let locality = service
        .locality_slug
        .as_ref()
        .and_then(|slug| localities.iter().find(|l| &l.slug == slug))
        .map(|l| l.name.clone())
        .unwrap_or_else(|| "The whole city".into());
    let contacts = service
        .detail
        .contacts
        .iter()
        .map(|c| {
            [c.name.clone(), c.title.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|s| !s.is_empty())
        .collect();
    let languages = service
        .detail
        .languages
        .iter()
        .filter_map(|l| l.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let accessibility = service
        .locations
        .iter()
        .map(|l| l.accessibility.clone())
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(". ");
    let on_shortlist = shortlist_ids(&jar).contains(&id);
    let replies = replies(&state, id).await?;
    let page = ServicePage {
        exit_this_page: about_domestic_abuse(&service),
        back: back_to_search(&back.back),
        replies,
        layout: public_layout(),
        card: card(&service, None, today),
        description: service.description.clone(),
        url: service.url.clone(),
        email: service.email.clone(),
        phone: service.phone.clone(),
        contacts,
        languages,
        accessibility,
        review_by: format_date(service.review_by),
        locality,
        on_shortlist,
        tel: service
            .phone
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect(),
        needs: service
            .terms
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    Ok(Html(page.render()?).into_response())
}

fn parse_ids(raw: &str) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = Vec::new();
    for id in raw
        .split([',', ' ', '.'])
        .filter_map(|s| Uuid::parse_str(s.trim()).ok())
    {
        if !ids.contains(&id) && ids.len() < SHORTLIST_MAX {
            ids.push(id);
        }
    }
    ids
}

pub fn shortlist_ids(jar: &CookieJar) -> Vec<Uuid> {
    jar.get(SHORTLIST_COOKIE)
        .map(|c| parse_ids(c.value()))
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct ShortlistQuery {
    #[serde(default)]
    ids: String,
}

#[derive(Template)]
#[template(path = "directory_shortlist.html")]
struct ShortlistPage {
    layout: Layout,
    cards: Vec<Card>,
    share_link: String,
    mailto: String,
    shared: bool,
}

async fn shortlist(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<ShortlistQuery>,
) -> Result<Response, AppError> {
    let shared = !query.ids.is_empty();
    let ids = if shared {
        parse_ids(&query.ids)
    } else {
        shortlist_ids(&jar)
    };
    let today = store::today();
    let mut cards = Vec::new();
    for id in &ids {
        if let Some(service) = store::load_service(&state.db, *id).await? {
            cards.push(card(&service, None, today));
        }
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    let list = ids
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let share_link = format!("{scheme}://{host}/find-support/shortlist?ids={list}");
    let mut body = String::from("The services I saved:\n\n");
    for card in &cards {
        body.push_str(&format!("{} ({})\n", card.name, card.provider));
    }
    body.push_str(&format!("\nSee them all: {share_link}\n"));
    let mailto = format!(
        "mailto:?{}",
        serde_urlencoded::to_string([("subject", "My shortlist of support"), ("body", &body)])
            .unwrap_or_default()
            .replace('+', "%20")
    );
    let page = ShortlistPage {
        layout: public_layout(),
        cards,
        share_link,
        mailto,
        shared,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Deserialize)]
struct ShortlistForm {
    id: Uuid,
    #[serde(default)]
    action: String,
    #[serde(default)]
    back: String,
}

/// Adds to or removes from the shortlist cookie. It holds only public ids, so there is no
/// session or CSRF token; the same-origin check of every write still applies.
async fn change_shortlist(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ShortlistForm>,
) -> Result<Response, AppError> {
    let mut ids = shortlist_ids(&jar);
    if form.action == "remove" {
        ids.retain(|id| *id != form.id);
    } else if !ids.contains(&form.id) {
        if store::load_service_brief(&state.db, form.id)
            .await?
            .is_none()
        {
            return Err(AppError::NotFound);
        }
        ids.push(form.id);
        ids.truncate(SHORTLIST_MAX);
    }
    let value = ids
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let cookie = Cookie::build((SHORTLIST_COOKIE, value))
        .http_only(true)
        .secure(state.config.secure_cookies)
        .same_site(SameSite::Lax)
        .path("/find-support")
        .max_age(time::Duration::days(90))
        .build();
    // Back to the directory page the form was on; anywhere else is the shortlist.
    let back = crate::redirect::local_path(&form.back)
        .filter(|path| path.starts_with("/find-support"))
        .unwrap_or("/find-support/shortlist");
    Ok((
        jar.add(cookie),
        crate::redirect::to(back, "/find-support/shortlist"),
    )
        .into_response())
}

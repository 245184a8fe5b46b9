//! The young people's section of the Local Offer (`/find-support/young-people`): the directory
//! filtered to services for 11 to 25 year olds and worded for them, their reviews of a listing
//! (held until the listing's community connector approves them, at `/directory/manage/reviews`)
//! and the surveys meant for them. The search is the public directory's own
//! (`earlyhelp_storage::directory::search`), asked with an age.

use crate::AppState;
use crate::directory::{Card, PER_PAGE, SearchQuery, card, filter_for, need_options};
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::throttle::{ClientIp, Throttle};
use crate::views::{Layout, Pagination, SelectOption, error_for, page_asked};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use earlyhelp_domain::access::{Action, Resource, decide};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::directory as store;
use earlyhelp_storage::gate::{Request, authorise};
use earlyhelp_storage::listing_reviews::{self as reviews, Review};
use earlyhelp_storage::secrets::random_token;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use uuid::Uuid;

/// The ages the section is for.
pub const AGES: RangeInclusive<i64> = 11..=25;
/// A review's words, in characters.
pub const REVIEW_TEXT: usize = 500;
const REVIEW_COOKIE: &str = "eh_review";
const SECTION: &str = "/find-support/young-people";

pub fn routes() -> Routes {
    Routes::new()
        .route(SECTION, get(search))
        .route(
            "/find-support/young-people/services/{id}",
            get(service).post(review),
        )
        .route("/directory/manage/reviews", get(moderation))
        .route("/directory/manage/reviews/{id}", post(moderate))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct YoungQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    need: String,
    #[serde(default)]
    age: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    page: String,
}

fn link_for(query: &YoungQuery, page: usize) -> String {
    let mut q = query.clone();
    q.page = page.to_string();
    let pairs: Vec<(&str, &str)> = [
        ("q", q.q.as_str()),
        ("need", &q.need),
        ("age", &q.age),
        ("locality", &q.locality),
        ("page", &q.page),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    format!(
        "{SECTION}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

#[derive(Template)]
#[template(path = "young_people_search.html")]
struct SearchPage {
    layout: Layout,
    errors: Vec<FieldError>,
    query: YoungQuery,
    needs: Vec<SelectOption>,
    ages: Vec<SelectOption>,
    localities: Vec<SelectOption>,
    total: usize,
    cards: Vec<Card>,
    pagination: Pagination,
    /// (id, title) of the surveys for young people.
    surveys: Vec<(Uuid, String)>,
}

impl SearchPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Every service for `ages` that the filter finds, best first: one search per age, each
/// service once, fresh before stale.
async fn services_for(
    state: &AppState,
    filter: &store::Filter,
    ages: RangeInclusive<i64>,
) -> Result<Vec<store::Hit>, AppError> {
    let today = store::today();
    let mut hits: Vec<store::Hit> = Vec::new();
    for age in ages {
        let filter = store::Filter {
            age: Some(age),
            ..filter.clone()
        };
        for hit in store::search(&state.db, &filter, today).await? {
            if !hits.iter().any(|h| h.id == hit.id) {
                hits.push(hit);
            }
        }
    }
    hits.sort_by_key(|h| h.stale);
    Ok(hits)
}

async fn search(
    State(state): State<AppState>,
    Query(query): Query<YoungQuery>,
) -> Result<Response, AppError> {
    let asked = page_asked(&query.page)?;
    let mut errors = Vec::new();
    let ages = match query.age.trim() {
        "" => AGES,
        raw => match raw.parse::<i64>() {
            Ok(age) if AGES.contains(&age) => age..=age,
            _ => {
                errors.push(FieldError::new("age", "Choose your age from the list"));
                AGES
            }
        },
    };
    let asked_for = SearchQuery {
        q: query.q.clone(),
        need: query.need.clone(),
        locality: query.locality.clone(),
        ..SearchQuery::default()
    };
    let (filter, _, mut problems) = filter_for(&state, &asked_for).await?;
    errors.append(&mut problems);
    let hits = services_for(&state, &filter, ages).await?;
    let pagination = Pagination::new(hits.len(), asked, PER_PAGE, "Results pages", |n| {
        link_for(&query, n)
    });
    let ids: Vec<Uuid> = hits
        .iter()
        .skip(pagination.skip(PER_PAGE))
        .take(PER_PAGE)
        .map(|h| h.id)
        .collect();
    let today = store::today();
    let cards = store::load_services(&state.db, &ids, true)
        .await?
        .iter()
        .map(|s| card(s, None, today))
        .collect();
    let localities = earlyhelp_storage::accounts::list_localities(&state.db).await?;
    let surveys = earlyhelp_storage::surveys::for_young_people(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.title))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page =
        SearchPage {
            layout: Layout::anonymous(String::new()),
            errors,
            needs: need_options(&query.need),
            ages: std::iter::once(SelectOption::new(
                "",
                "Any age from 11 to 25",
                query.age.is_empty(),
            ))
            .chain(AGES.map(|a| {
                SelectOption::new(a.to_string(), a.to_string(), query.age == a.to_string())
            }))
            .collect(),
            localities: std::iter::once(SelectOption::new(
                "",
                "Anywhere in the city",
                query.locality.is_empty(),
            ))
            .chain(localities.iter().map(|l| {
                SelectOption::new(l.slug.clone(), l.name.clone(), query.locality == l.slug)
            }))
            .collect(),
            total: hits.len(),
            cards,
            pagination,
            surveys,
            query,
        };
    Ok((status, Html(page.render()?)).into_response())
}

// ---------------------------------------------------------------------------------------------
// A service, its reviews and the review form

#[derive(Template)]
#[template(path = "young_people_service.html")]
struct ServicePage {
    layout: Layout,
    errors: Vec<FieldError>,
    card: Card,
    description: String,
    phone: Option<String>,
    email: Option<String>,
    /// Reviews are taken for listings in a locality, whose connector reads them first.
    takes_reviews: bool,
    reviews: Vec<Review>,
    /// The mean of the approved ratings, "4.3 out of 5".
    mean: Option<String>,
    ratings: Vec<SelectOption>,
    words: String,
    sent: bool,
}

impl ServicePage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn service_page(
    state: &AppState,
    token: String,
    id: Uuid,
    pairs: &[(String, String)],
    errors: Vec<FieldError>,
) -> Result<ServicePage, AppError> {
    let service = store::load_service(&state.db, id)
        .await?
        .filter(|s| s.merged_into.is_none())
        .ok_or(AppError::NotFound)?;
    let approved = reviews::approved(&state.db, id).await?;
    let mean = (!approved.is_empty()).then(|| {
        let sum: i64 = approved.iter().map(|r| r.rating).sum();
        format!("{:.1} out of 5", sum as f64 / approved.len() as f64)
    });
    let rating = field(pairs, "rating");
    Ok(ServicePage {
        layout: Layout::anonymous(token),
        errors,
        card: card(&service, None, store::today()),
        description: service.description.clone(),
        phone: service.phone.clone(),
        email: service.email.clone(),
        takes_reviews: service.locality_slug.is_some(),
        reviews: approved,
        mean,
        ratings: (1..=5)
            .rev()
            .map(|n| {
                let label = match n {
                    5 => "5: really good",
                    4 => "4: good",
                    3 => "3: OK",
                    2 => "2: not good",
                    _ => "1: bad",
                };
                SelectOption::new(n.to_string(), label, rating == n.to_string())
            })
            .collect(),
        words: field(pairs, "words"),
        sent: false,
    })
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn service(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    // The cookie carries only the form's CSRF token.
    let token = jar
        .get(REVIEW_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_else(random_token);
    let page = service_page(&state, token.clone(), id, &[], vec![]).await?;
    let jar = jar.add(crate::session::form_token_cookie(
        REVIEW_COOKIE,
        SECTION,
        token,
        state.config.secure_cookies,
    ));
    Ok((jar, Html(page.render()?)).into_response())
}

/// A review's rating and words, or what is wrong with them.
fn check_review(pairs: &[(String, String)]) -> Result<(i64, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let rating = match field(pairs, "rating").parse::<i64>() {
        Ok(n) if (1..=5).contains(&n) => n,
        _ => {
            errors.push(FieldError::new(
                "rating",
                "Choose how good it was, from 1 to 5",
            ));
            0
        }
    };
    let words = field(pairs, "words").trim().to_string();
    if words.is_empty() {
        errors.push(FieldError::new("words", "Write a few words about it"));
    }
    errors.extend(earlyhelp_domain::limits::too_long(
        "words",
        "Your review",
        &words,
        REVIEW_TEXT,
    ));
    if errors.is_empty() {
        Ok((rating, words))
    } else {
        Err(errors)
    }
}

async fn review(
    State(state): State<AppState>,
    Extension(throttle): Extension<std::sync::Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token =
        crate::session::check_form_token(&jar, REVIEW_COOKIE, &field(&pairs, "csrf_token"))?;
    let page = service_page(&state, token.clone(), id, &pairs, vec![]).await?;
    if !page.takes_reviews {
        return Err(AppError::Conflict(
            "This service works across the whole city and does not take reviews here".into(),
        ));
    }
    match check_review(&pairs) {
        Err(errors) => {
            let page = service_page(&state, token, id, &pairs, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Ok((rating, words)) => {
            // The address is counted in memory for the limit and never stored.
            throttle.public_voice(client, "reviews")?;
            reviews::submit(&state.db, id, rating, &words, store::today()).await?;
            let mut page = service_page(&state, token, id, &[], vec![]).await?;
            page.sent = true;
            Ok(Html(page.render()?).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Moderation by the listing's community connector

/// The listings of `locality`'s approvers (its connectors, or where it has none its lead).
async fn approval_in(state: &AppState, locality: Option<&str>) -> Result<Resource, AppError> {
    let connector_there = match locality {
        Some(l) => earlyhelp_storage::listing_changes::has_connector(&state.db, l).await?,
        None => true,
    };
    Ok(Resource::ListingApproval {
        locality: locality.map(str::to_string),
        connector_there,
    })
}

#[derive(Template)]
#[template(path = "young_people_moderation.html")]
struct ModerationPage {
    layout: Layout,
    waiting: Vec<Review>,
}

async fn moderation(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    // Reading reviews before they are public is the approvers' work: each of the actor's
    // localities is decided as moderating one of its reviews is, and only those allowed are
    // listed. The audit asks as for the first allowed (or, if none, the first, refused).
    let actor = &signed.user.actor;
    let mut allowed = Vec::new();
    for locality in &actor.localities {
        let resource = approval_in(&state, Some(locality)).await?;
        if decide(actor, Action::List, &resource).allowed {
            allowed.push(locality.clone());
        }
    }
    let asked = allowed.first().or(actor.localities.first());
    let request = Request {
        action: Action::List,
        resource: approval_in(&state, asked.map(String::as_str)).await?,
        subject: "listing_reviews",
        purpose: "moderate young people's reviews",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let waiting = reviews::waiting(&mut authorised, &allowed).await?;
    authorised.tx.commit().await?;
    let page = ModerationPage {
        layout: Layout::for_user(&signed, "/directory/manage"),
        waiting,
    };
    Ok(Html(page.render()?))
}

async fn moderate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let found = reviews::review(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = format!("listing_review:{id}");
    let request = Request {
        action: Action::Update,
        resource: approval_in(&state, found.locality_slug.as_deref()).await?,
        subject: &subject,
        purpose: "moderate a young person's review",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let approve = match field(&pairs, "decision").as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "decision",
                "Choose whether to publish or reject the review",
            )]));
        }
    };
    let body = field(&pairs, "body").trim().to_string();
    if approve && body.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "body",
            "Enter the review as it will be published, or reject it",
        )]));
    }
    if let Some(error) =
        earlyhelp_domain::limits::too_long("body", "The review", &body, REVIEW_TEXT)
    {
        return Err(AppError::Invalid(vec![error]));
    }
    let by = signed.user.actor.email.clone();
    if !reviews::moderate(&mut authorised, id, approve, &body, &by).await? {
        return Err(AppError::Conflict(
            "That review has already been moderated".into(),
        ));
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to("/directory/manage/reviews").into_response())
}

//! "Your families": the families a person may open, a page at a time, found by a member's name,
//! date of birth, postcode or NHS number, and filtered by what is due (the home page's numbers link here).

use super::status_for;
use crate::AppState;
use crate::dates::{DateParts, DateQuestion, Rule, read_parts};
use crate::error::AppError;
use crate::extract::Query;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, LocalityNames, Pagination, SelectOption, search_purpose};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::{CaseState, parse_date, review_overdue};
use earlyhelp_domain::directory::normalise_postcode;
use earlyhelp_domain::nhs_number::{NHS_NUMBER_MESSAGE, NhsNumber};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::cases;
use earlyhelp_storage::find_families::{self, FamilyLine, Only, Search};
use earlyhelp_storage::gate::{Request, authorise_read};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::new().route("/families", get(families))
}

/// The date of birth boxes (`dob-day` …), read by the one GOV.UK date parser.
const DATE_OF_BIRTH: DateQuestion =
    DateQuestion::new("dob", "Date of birth", Rule::TodayOrPast).optional();

/// Families on one page: a screenful on a phone.
const PER_PAGE: usize = 25;

#[derive(Deserialize, Default, Clone)]
pub struct FamiliesQuery {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "dob-day")]
    pub dob_day: String,
    #[serde(default, rename = "dob-month")]
    pub dob_month: String,
    #[serde(default, rename = "dob-year")]
    pub dob_year: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub nhs_number: String,
    #[serde(default)]
    pub only: String,
    /// A lead practitioner's user id (from the locality lead's home page).
    #[serde(default)]
    pub lead: String,
    #[serde(default)]
    pub locality: String,
    #[serde(default)]
    pub page: String,
}

impl FamiliesQuery {
    /// The query string of this search at page `page`.
    fn href(&self, page: usize) -> String {
        let pairs = [
            ("name", self.name.as_str()),
            ("dob-day", self.dob_day.as_str()),
            ("dob-month", self.dob_month.as_str()),
            ("dob-year", self.dob_year.as_str()),
            ("postcode", self.postcode.as_str()),
            ("nhs_number", self.nhs_number.as_str()),
            ("only", self.only.as_str()),
            ("lead", self.lead.as_str()),
            ("locality", self.locality.as_str()),
        ];
        let page = page.to_string();
        let kept: Vec<(&str, &str)> = pairs
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(key, value)| (key, value.trim()))
            .chain([("page", page.as_str())])
            .collect();
        format!(
            "/families?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }

    fn dob_parts(&self) -> DateParts {
        DateParts::new(&self.dob_day, &self.dob_month, &self.dob_year)
    }

    /// The search in the audit event's purpose, so the log shows who looked up whom.
    fn purpose(&self) -> String {
        let pairs = [
            ("name", self.name.trim().to_string()),
            ("date of birth", self.dob_parts().typed()),
            ("postcode", self.postcode.trim().to_string()),
            ("NHS number", self.nhs_number.trim().to_string()),
            ("only", self.only.trim().to_string()),
            ("lead", self.lead.trim().to_string()),
            ("locality", self.locality.trim().to_string()),
        ];
        search_purpose("my families", &pairs)
    }

    /// What to find, or what is wrong with the question, field by field.
    fn search(&self, localities: &LocalityNames, today: time::Date) -> (Search, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut search = Search {
            name: self.name.trim().chars().take(100).collect(),
            ..Search::default()
        };
        match Only::from_slug(&self.only) {
            Some(only) => search.only = only,
            None => errors.push(FieldError::new("only", "Choose what to show from the list")),
        }
        match read_parts(&self.dob_parts(), &DATE_OF_BIRTH, today) {
            Ok(date) => search.date_of_birth = date,
            Err(e) => errors.push(e),
        }
        if !self.postcode.trim().is_empty() {
            match normalise_postcode(&self.postcode) {
                Some(postcode) => search.postcode = Some(postcode),
                None => errors.push(FieldError::new(
                    "postcode",
                    "Enter a postcode, like B23 6AB, or its first half, like B23",
                )),
            }
        }
        if !self.nhs_number.trim().is_empty() {
            match NhsNumber::parse(&self.nhs_number) {
                Some(number) => search.nhs_number = Some(number),
                None => errors.push(FieldError::new("nhs_number", NHS_NUMBER_MESSAGE)),
            }
        }
        if !self.lead.trim().is_empty() {
            match uuid::Uuid::parse_str(self.lead.trim()) {
                Ok(lead) => search.lead = Some(lead),
                Err(_) => errors.push(FieldError::new(
                    "only",
                    "The lead practitioner asked for is not known: choose from your home page",
                )),
            }
        }
        if !self.locality.trim().is_empty() {
            if localities.knows(self.locality.trim()) {
                search.locality = self.locality.trim().to_string();
            } else {
                errors.push(FieldError::new("only", "There is no such locality"));
            }
        }
        (search, errors)
    }
}

/// A line of the table: the family, its state in words, whether its review is overdue, its
/// locality's name, and what the reader is to it.
pub struct Line {
    pub family: FamilyLine,
    pub state: &'static str,
    pub overdue: bool,
    pub locality: String,
    pub role: &'static str,
}

#[derive(Template)]
#[template(path = "cases_caseload.html")]
struct FamiliesPage {
    layout: Layout,
    query: FamiliesQuery,
    errors: Vec<FieldError>,
    shows: Vec<SelectOption>,
    /// The filter in words, when it is not "all".
    filtered: Option<&'static str>,
    lines: Vec<Line>,
    total: i64,
    /// "1 to 25"
    shown: String,
    pagination: Pagination,
    /// The lead practitioner's title, in the practice model's words.
    lead_label: &'static str,
}

impl FamiliesPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::first_error(&self.errors, field)
    }
}

async fn families(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<FamiliesQuery>,
) -> Result<Response, AppError> {
    let asked = crate::views::page_asked(&query.page)?;
    let localities = LocalityNames::load(&state.db).await?;
    let today = cases::today();
    let (search, errors) = query.search(&localities, today);
    let purpose = query.purpose();
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        Request {
            action: Action::List,
            resource: Resource::Caseload,
            subject: "caseload",
            purpose: &purpose,
        },
    )
    .await?;
    let (first, total) = if errors.is_empty() {
        let skip = (asked.max(1) - 1) * PER_PAGE;
        find_families::find(
            &mut authorised,
            &signed.user.actor,
            &search,
            today,
            PER_PAGE as i64,
            skip as i64,
        )
        .await?
    } else {
        (Vec::new(), 0)
    };
    let pagination = Pagination::new(total as usize, asked, PER_PAGE, "Pages of families", |n| {
        query.href(n)
    });
    // A page asked for beyond the last shows the last.
    let lines = if pagination.page != asked.max(1) && total > 0 {
        find_families::find(
            &mut authorised,
            &signed.user.actor,
            &search,
            today,
            PER_PAGE as i64,
            pagination.skip(PER_PAGE) as i64,
        )
        .await?
        .0
    } else {
        first
    };
    authorised.tx.commit().await?;
    let skip = pagination.skip(PER_PAGE);
    let shown = format!("{} to {}", skip + 1, skip + lines.len());
    let lines = lines
        .into_iter()
        .map(|family| Line {
            state: CaseState::from_slug(&family.state)
                .map(CaseState::label)
                .unwrap_or(""),
            overdue: family.state != "closed"
                && review_overdue(family.review_date.as_deref().and_then(parse_date), today),
            locality: localities.name(&family.locality_slug),
            role: if family.is_lead {
                "Lead"
            } else if family.break_glass {
                "Break-glass access"
            } else {
                "Team or locality lead"
            },
            family,
        })
        .collect();
    let shows = Only::ALL
        .into_iter()
        .map(|o| SelectOption::new(o.slug(), o.label(), o == search.only))
        .collect();
    let page = FamiliesPage {
        layout: Layout::for_user(&signed, "/families"),
        filtered: (search.only != Only::All).then(|| search.only.label()),
        query,
        shows,
        lines,
        total,
        shown,
        pagination,
        errors,
        lead_label: earlyhelp_domain::family_help::lead_title(state.config.practice_model),
    };
    let status = status_for(&page.errors);
    Ok((status, Html(page.render()?)).into_response())
}

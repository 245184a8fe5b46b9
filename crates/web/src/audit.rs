//! The information governance officer's view of the audit log.

use crate::AppState;
use crate::dates::{DateParts, DateQuestion, Rule, filters, read_parts};
use crate::error::AppError;
use crate::extract::Query;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use crate::views::search_purpose;
use crate::views::{LocalityNames, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::audit_search::{self, ACTIONS, Find};
use earlyhelp_storage::gate::{AuditEvent, Request, authorise_read};
use earlyhelp_storage::sharing;
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::new().route("/audit", get(audit_log))
}

/// The date boxes: `from-day` … and `to-day` …, read by the one GOV.UK date parser.
const FROM: DateQuestion = DateQuestion::new("from", "The first day", Rule::Any).optional();
const TO: DateQuestion = DateQuestion::new("to", "The last day", Rule::Any).optional();

/// Events on one page.
const PER_PAGE: i64 = 50;

struct EventLine {
    when: String,
    /// The actor's roles in words ("Information governance officer").
    roles: String,
    /// The action in words ("sign in", not "sign_in").
    action: String,
    /// The record in words ("a family's record"), localities by name.
    record: String,
    event: AuditEvent,
}

impl std::ops::Deref for EventLine {
    type Target = AuditEvent;
    fn deref(&self) -> &AuditEvent {
        &self.event
    }
}

/// The audit log's filters, as the form and the links send them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// A person's email.
    #[serde(default)]
    pub actor: String,
    /// A record as the log names it (`family:ID`).
    #[serde(default)]
    pub subject: String,
    /// A family's id: its record.
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default, rename = "from-day")]
    pub from_day: String,
    #[serde(default, rename = "from-month")]
    pub from_month: String,
    #[serde(default, rename = "from-year")]
    pub from_year: String,
    #[serde(default, rename = "to-day")]
    pub to_day: String,
    #[serde(default, rename = "to-month")]
    pub to_month: String,
    #[serde(default, rename = "to-year")]
    pub to_year: String,
    /// Older than this event.
    #[serde(default)]
    pub before: String,
}

impl AuditQuery {
    /// This search's link, older than event `before` (none: the newest).
    fn href(&self, before: Option<i64>) -> String {
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let pairs = [
            ("actor", self.actor.as_str()),
            ("subject", self.subject.as_str()),
            ("action", self.action.as_str()),
            ("outcome", self.outcome.as_str()),
            ("from-day", self.from_day.as_str()),
            ("from-month", self.from_month.as_str()),
            ("from-year", self.from_year.as_str()),
            ("to-day", self.to_day.as_str()),
            ("to-month", self.to_month.as_str()),
            ("to-year", self.to_year.as_str()),
            ("before", before.as_str()),
        ];
        let kept: Vec<(&str, &str)> = pairs
            .into_iter()
            .map(|(k, v)| (k, v.trim()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        format!(
            "/audit?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }

    fn first_day(&self) -> DateParts {
        DateParts::new(&self.from_day, &self.from_month, &self.from_year)
    }

    fn last_day(&self) -> DateParts {
        DateParts::new(&self.to_day, &self.to_month, &self.to_year)
    }

    /// The search in the audit event's purpose, so a review of the log shows who looked for
    /// whose events: the filters given, by name.
    fn purpose(&self) -> String {
        let pairs = [
            ("actor", self.actor.trim().to_string()),
            // In words as the page shows them ("sign in", "audit log"), not as codes.
            ("subject", self.subject.trim().replace('_', " ")),
            ("family", self.family.trim().to_string()),
            ("action", self.action.trim().replace('_', " ")),
            ("outcome", self.outcome.trim().to_string()),
            ("from", self.first_day().typed()),
            ("to", self.last_day().typed()),
        ];
        search_purpose("audit review", &pairs)
    }

    /// What to find, or what is wrong with the question, field by field.
    fn find(&mut self) -> (Find, Vec<FieldError>) {
        let mut errors = Vec::new();
        if !self.family.trim().is_empty() {
            match uuid::Uuid::parse_str(self.family.trim()) {
                Ok(id) => self.subject = format!("family:{id}"),
                Err(_) => errors.push(FieldError::new("subject", "There is no such family")),
            }
            self.family.clear();
        }
        if !self.action.is_empty() && !ACTIONS.iter().any(|(a, _)| *a == self.action) {
            errors.push(FieldError::new("action", "Choose an action from the list"));
        }
        if !matches!(self.outcome.as_str(), "" | "allowed" | "denied" | "failed") {
            errors.push(FieldError::new(
                "outcome",
                "Choose an outcome from the list",
            ));
        }
        let today = earlyhelp_storage::cases::today();
        let mut day = |question: &DateQuestion, typed: DateParts| {
            read_parts(&typed, question, today)
                .map_err(|e| errors.push(e))
                .ok()
                .flatten()
        };
        let from = day(&FROM, self.first_day());
        let to = day(&TO, self.last_day());
        let micros = |date: time::Date| date.midnight().assume_utc().unix_timestamp() * 1_000_000;
        let before = match self.before.trim() {
            "" => None,
            raw => match raw.parse::<i64>() {
                Ok(seq) if seq > 0 => Some(seq),
                _ => {
                    errors.push(FieldError::new("actor", "The page asked for is not known"));
                    None
                }
            },
        };
        // The day after the last, as the search runs up to its midnight; there is none after 9999.
        let until = match to.map(|d| d.next_day()) {
            Some(None) => {
                errors.push(FieldError::new(
                    TO.name,
                    "The last day must be before 31 12 9999",
                ));
                None
            }
            next => next.flatten(),
        };
        let find = Find {
            actor: self.actor.trim().to_lowercase(),
            subject: self.subject.trim().to_string(),
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            from_micros: from.map(micros),
            until_micros: until.map(micros),
            before,
        };
        (find, errors)
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    errors: Vec<FieldError>,
    events: Vec<EventLine>,
    actions: Vec<SelectOption>,
    outcomes: Vec<SelectOption>,
    /// (email, name and organisation) for the person picker.
    people: Vec<(String, String)>,
    /// Link to older events, if there are more.
    older: Option<String>,
    /// Link back to the newest, when this page is not the first.
    newest: Option<String>,
    /// Break-glass accesses waiting for review.
    break_glass_waiting: i64,
}

impl AuditPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// What an event's record is, in words: localities by their names, not their slugs.
fn record_words(subject: &str, localities: &LocalityNames) -> String {
    let (kind, rest) = subject.split_once(':').unwrap_or((subject, ""));
    match kind {
        "family" => "A family's record".into(),
        "user" => "A user account".into(),
        "request" => "A request for support".into(),
        "referral" => "A referral".into(),
        "legal_hold" => "A legal hold".into(),
        "requests" if rest.starts_with("sent_by") => "Requests someone sent".into(),
        "requests" => format!("Requests waiting in {}", localities.name(rest)),
        "tasks" => "What waits for someone".into(),
        // Another kind: its name without the id, so the link reads as words.
        _ => {
            let words = kind.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

async fn audit_log(
    State(state): State<AppState>,
    signed: Signed,
    Query(mut query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    // Decided and audited (with the search) before the question is read, so a refusal never
    // depends on what was asked; the event is committed first, so the log is read without
    // holding the audit chain.
    let purpose = query.purpose();
    let request = Request {
        action: Action::List,
        resource: Resource::AuditLog,
        subject: "audit_log",
        purpose: &purpose,
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let (find, errors) = query.find();
    let mut events = if errors.is_empty() {
        audit_search::find(&mut authorised, &find, PER_PAGE + 1).await?
    } else {
        Vec::new()
    };
    let people = audit_search::people(&mut authorised).await?;
    let break_glass_waiting = sharing::unreviewed_break_glass(&mut authorised).await?;
    authorised.tx.commit().await?;
    let older = (events.len() as i64 > PER_PAGE).then(|| {
        events.truncate(PER_PAGE as usize);
        query.href(events.last().map(|e| e.seq))
    });
    let newest = find.before.map(|_| query.href(None));
    let localities = LocalityNames::load(&state.db).await?;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let events = events
        .into_iter()
        .map(|event| EventLine {
            when: event.at().format(format).unwrap_or_default(),
            roles: earlyhelp_domain::roles::in_words(&event.actor_role),
            action: event.action.replace('_', " "),
            record: record_words(&event.subject, &localities),
            event,
        })
        .collect();
    let actions = std::iter::once(("", "Any"))
        .chain(ACTIONS.iter().copied())
        .map(|(value, label)| SelectOption::new(value, label, value == query.action))
        .collect();
    let outcomes = [
        ("", "Any"),
        ("allowed", "Allowed"),
        ("denied", "Denied"),
        ("failed", "Failed"),
    ]
    .into_iter()
    .map(|(value, label)| SelectOption::new(value, label, value == query.outcome))
    .collect();
    let page = AuditPage {
        layout: Layout::for_user(&signed, "/audit"),
        people: people
            .into_iter()
            .map(|(email, name, organisation)| (email, format!("{name}, {organisation}")))
            .collect(),
        query,
        errors,
        events,
        actions,
        outcomes,
        older,
        newest,
        break_glass_waiting,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

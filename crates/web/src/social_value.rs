//! Social value reports for voluntary-sector providers (`earlyhelp_domain::social_value`): the
//! organisation's own people write what it was commissioned to do, the extra value it added and
//! consented case studies; the records say what it delivered. Read as a page or a printable PDF
//! by the organisation and by commissioners.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::pdf::{self, Block};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::roles::Permission;
use earlyhelp_domain::social_value::{
    CASE_STUDIES_MAX, CaseStudy, Delivered, Extra, ExtraValue, Problem, Report, TEXT_MAX, check,
    monetised,
};
use earlyhelp_storage::gate::{Authorised, Request, authorise, authorise_read};
use earlyhelp_storage::social_value::{self as store, Saved};
use std::collections::HashMap;
use time::Date;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/social-value", get(list))
        .route("/social-value/new", get(new_report))
        .long_form("/social-value/save", post(save))
        .route("/social-value/{id}", get(report_page))
        .route("/social-value/{id}/edit", get(edit_report))
        .route("/social-value/{id}/report.pdf", get(report_pdf))
}

fn subject(organisation: Option<Uuid>) -> String {
    organisation.map_or("social_value".into(), |o| format!("social_value:{o}"))
}

async fn open(
    state: &AppState,
    signed: &Signed,
    organisation: Option<Uuid>,
    action: Action,
    purpose: &str,
) -> Result<Authorised, AppError> {
    let subject = subject(organisation);
    let request = Request {
        action,
        resource: Resource::SocialValue { organisation },
        subject: &subject,
        purpose,
    };
    Ok(match action {
        Action::List | Action::Read => authorise_read(&state.db, &signed.who(), request).await?,
        _ => authorise(&state.db, &signed.who(), request).await?,
    })
}

/// Whether this person writes their own organisation's reports (else they read everyone's).
fn writes_own(signed: &Signed) -> bool {
    signed.may(Permission::AnswerReferrals)
}

#[derive(Template)]
#[template(path = "social_value_list.html")]
struct ListPage {
    layout: Layout,
    writes: bool,
    /// (id, organisation, period).
    reports: Vec<(Uuid, String, String)>,
}

fn period(report: &Report) -> String {
    format!("{} to {}", report.from, report.to)
}

async fn list(State(state): State<AppState>, signed: Signed) -> Result<Html<String>, AppError> {
    let writes = writes_own(&signed);
    let organisation = writes.then_some(signed.user.actor.organisation_id);
    let mut authorised = open(
        &state,
        &signed,
        organisation,
        Action::List,
        "social value reports",
    )
    .await?;
    let reports = store::list(&mut authorised, organisation).await?;
    authorised.tx.commit().await?;
    let page = ListPage {
        layout: Layout::for_user(&signed, "/social-value"),
        writes,
        reports: reports
            .iter()
            .map(|s| (s.id, s.organisation_name.clone(), period(&s.report)))
            .collect(),
    };
    Ok(Html(page.render()?))
}

/// Report `id` through the gate, with what its organisation delivered in its period.
async fn read(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
) -> Result<(Saved, Delivered), AppError> {
    let organisation = store::owner(&state.db, id).await?;
    let mut authorised = open(state, signed, organisation, Action::Read, purpose).await?;
    let saved = match organisation {
        Some(organisation) => store::load(&mut authorised, organisation, id).await?,
        None => None,
    }
    .ok_or(AppError::NotFound)?;
    let micros = |d: Date| d.midnight().assume_utc().unix_timestamp() * 1_000_000;
    let delivered = store::delivered(
        &mut authorised,
        saved.organisation_id,
        micros(saved.report.from),
        micros(saved.report.to.next_day().unwrap_or(saved.report.to)),
    )
    .await?;
    authorised.tx.commit().await?;
    Ok((saved, delivered))
}

fn pounds(value: f64) -> String {
    format!(
        "£{}",
        earlyhelp_domain::limits::thousands(value.round().max(0.0) as usize)
    )
}

/// The report as labelled sections, shared by the page and the PDF.
fn sections(saved: &Saved, delivered: &Delivered) -> Vec<(String, Vec<(String, String)>)> {
    let r = &saved.report;
    let mut out = vec![
        (
            "What we were commissioned to deliver".to_string(),
            vec![(String::new(), r.commissioned.clone())],
        ),
        (
            "What we delivered (from earlyhelp's records)".into(),
            vec![
                (
                    "Families referred to us".into(),
                    delivered.families.to_string(),
                ),
                ("Referrals".into(), delivered.referrals.to_string()),
                ("Accepted".into(), delivered.accepted.to_string()),
                ("Completed".into(), delivered.completed.to_string()),
                (
                    "Completed with the need met".into(),
                    delivered.need_met.to_string(),
                ),
                (
                    "Completed with the need partly met".into(),
                    delivered.need_partly_met.to_string(),
                ),
            ],
        ),
    ];
    let mut extras: Vec<(String, String)> = r
        .extras
        .iter()
        .filter(|e| e.quantity > 0.0 || !e.note.is_empty())
        .map(|e| {
            let mut value = format!("{}", e.quantity);
            if let Some(proxy) = e.proxy {
                value.push_str(&format!(
                    " (valued at {} a unit: {}; source: {})",
                    pounds(proxy),
                    pounds(proxy * e.quantity),
                    e.proxy_source
                ));
            }
            if !e.note.is_empty() {
                value.push_str(&format!(". {}", e.note));
            }
            (e.kind.label().to_string(), value)
        })
        .collect();
    let valued = monetised(r);
    if valued > 0.0 {
        extras.push((
            "Monetised at our own licensed values".into(),
            pounds(valued),
        ));
    }
    out.push(("The extra value we added".into(), extras));
    for case in &r.case_studies {
        out.push((
            format!("Case study: {}", case.title),
            vec![(String::new(), case.story.clone())],
        ));
    }
    out.push((
        "In our own words".into(),
        vec![(String::new(), r.narrative.clone())],
    ));
    out
}

#[derive(Template)]
#[template(path = "social_value_report.html")]
struct ReportPage {
    layout: Layout,
    id: Uuid,
    organisation: String,
    period: String,
    sections: Vec<(String, Vec<(String, String)>)>,
    may_edit: bool,
}

async fn report_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let (saved, delivered) = read(&state, &signed, id, "social value report").await?;
    let page = ReportPage {
        layout: Layout::for_user(&signed, "/social-value"),
        id,
        organisation: saved.organisation_name.clone(),
        period: period(&saved.report),
        sections: sections(&saved, &delivered),
        may_edit: writes_own(&signed) && saved.organisation_id == signed.user.actor.organisation_id,
    };
    Ok(Html(page.render()?))
}

async fn report_pdf(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let (saved, delivered) = read(&state, &signed, id, "social value report (PDF)").await?;
    let title = format!("Social value: {}", saved.organisation_name);
    let mut blocks = vec![
        Block::Title(title.clone()),
        Block::Paragraph(period(&saved.report)),
    ];
    for (heading, rows) in sections(&saved, &delivered) {
        blocks.push(Block::Heading(heading));
        for (label, value) in rows {
            blocks.push(if label.is_empty() {
                Block::Paragraph(value)
            } else {
                Block::Pair(label, value)
            });
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"social-value.pdf\"",
            ),
        ],
        pdf::render(&title, &blocks),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Writing a report

/// One field of the form: its name, label, what is typed, any problem.
struct Field {
    id: String,
    label: String,
    value: String,
    error: Option<String>,
}

/// A case study on the form: its title and story, and whether consent is ticked.
struct CaseSlot {
    title: Field,
    story: Field,
    consent_id: String,
    consent: bool,
    consent_error: Option<String>,
}

#[derive(Template)]
#[template(path = "social_value_edit.html")]
struct EditPage {
    layout: Layout,
    id: String,
    errors: Vec<Problem>,
    period: Vec<Field>,
    commissioned: Field,
    narrative: Field,
    /// For each kind of extra value: its label and its four fields.
    extras: Vec<(String, Vec<Field>)>,
    cases: Vec<CaseSlot>,
    text_max: usize,
}

impl EditPage {
    fn new(
        signed: &Signed,
        id: Option<Uuid>,
        report: &Report,
        typed: &HashMap<String, String>,
        problems: Vec<Problem>,
    ) -> EditPage {
        let field = |id: String, label: &str, held: String| Field {
            value: typed.get(&id).cloned().unwrap_or(held),
            error: problems
                .iter()
                .find(|p| p.field == id)
                .map(|p| p.message.clone()),
            label: label.into(),
            id,
        };
        let extras = Extra::ALL
            .iter()
            .map(|kind| {
                let held = report.extras.iter().find(|e| e.kind == *kind);
                let slug = kind.slug();
                let number = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
                (
                    kind.label().to_string(),
                    vec![
                        field(
                            format!("extra-{slug}-quantity"),
                            "How many",
                            number(held.map(|e| e.quantity)),
                        ),
                        field(
                            format!("extra-{slug}-note"),
                            "What it was (optional)",
                            held.map(|e| e.note.clone()).unwrap_or_default(),
                        ),
                        field(
                            format!("extra-{slug}-proxy"),
                            "Value a unit in pounds, from a value set you hold a licence for (optional)",
                            number(held.and_then(|e| e.proxy)),
                        ),
                        field(
                            format!("extra-{slug}-proxy_source"),
                            "Where that value comes from",
                            held.map(|e| e.proxy_source.clone()).unwrap_or_default(),
                        ),
                    ],
                )
            })
            .collect();
        let slots = (report.case_studies.len() + 1).min(CASE_STUDIES_MAX);
        let cases = (0..slots)
            .map(|i| {
                let held = report.case_studies.get(i);
                let consent_id = format!("case-{i}-consent");
                CaseSlot {
                    consent: if typed.is_empty() {
                        held.is_some_and(|c| c.consent)
                    } else {
                        typed.contains_key(&consent_id)
                    },
                    consent_error: problems
                        .iter()
                        .find(|p| p.field == consent_id)
                        .map(|p| p.message.clone()),
                    title: field(
                        format!("case-{i}-title"),
                        "Title",
                        held.map(|c| c.title.clone()).unwrap_or_default(),
                    ),
                    story: field(
                        format!("case-{i}-story"),
                        "The story, without the person's name",
                        held.map(|c| c.story.clone()).unwrap_or_default(),
                    ),
                    consent_id,
                }
            })
            .collect();
        EditPage {
            layout: Layout::for_user(signed, "/social-value"),
            id: id.map(|i| i.to_string()).unwrap_or_default(),
            period: vec![
                field("from".into(), "From (YYYY-MM-DD)", report.from.to_string()),
                field("to".into(), "To (YYYY-MM-DD)", report.to.to_string()),
            ],
            commissioned: field(
                "commissioned".into(),
                "What you were commissioned to deliver",
                report.commissioned.clone(),
            ),
            narrative: field(
                "narrative".into(),
                "In your own words: what difference the work made",
                report.narrative.clone(),
            ),
            extras,
            cases,
            errors: problems,
            text_max: TEXT_MAX,
        }
    }
}

/// A new report for the last financial year.
fn blank() -> Report {
    let today = earlyhelp_storage::cases::today();
    let year = if today.month() >= time::Month::April {
        today.year() - 1
    } else {
        today.year() - 2
    };
    let on = |y, m, d| Date::from_calendar_date(y, m, d).unwrap_or(today);
    Report {
        from: on(year, time::Month::April, 1),
        to: on(year + 1, time::Month::March, 31),
        commissioned: String::new(),
        narrative: String::new(),
        extras: Vec::new(),
        case_studies: Vec::new(),
    }
}

async fn new_report(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    let organisation = Some(signed.user.actor.organisation_id);
    open(
        &state,
        &signed,
        organisation,
        Action::Create,
        "write a social value report",
    )
    .await?
    .tx
    .commit()
    .await?;
    let page = EditPage::new(&signed, None, &blank(), &HashMap::new(), Vec::new());
    Ok(Html(page.render()?).into_response())
}

async fn edit_report(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let organisation = store::owner(&state.db, id).await?;
    open(
        &state,
        &signed,
        organisation,
        Action::Update,
        "change a social value report",
    )
    .await?
    .tx
    .commit()
    .await?;
    let (saved, _) = read(&state, &signed, id, "change a social value report").await?;
    let page = EditPage::new(
        &signed,
        Some(id),
        &saved.report,
        &HashMap::new(),
        Vec::new(),
    );
    Ok(Html(page.render()?).into_response())
}

/// The report the form describes; a field that cannot be read is a problem by its name.
fn read_form(form: &HashMap<String, String>) -> (Report, Vec<Problem>) {
    let mut problems = Vec::new();
    let text = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut report = blank();
    for (name, into) in [("from", &mut report.from), ("to", &mut report.to)] {
        match earlyhelp_domain::cases::parse_date(&text(name)) {
            Some(date) => *into = date,
            None => problems.push(Problem {
                field: name.into(),
                message: "Enter a date as YYYY-MM-DD".into(),
            }),
        }
    }
    report.commissioned = text("commissioned");
    report.narrative = text("narrative");
    for kind in Extra::ALL {
        let slug = kind.slug();
        let mut number = |field: String| -> Option<f64> {
            let raw = text(&field).replace([',', '£'], "");
            if raw.is_empty() {
                return None;
            }
            let parsed = raw.parse::<f64>().ok().filter(|v| v.is_finite());
            if parsed.is_none() {
                problems.push(Problem {
                    field,
                    message: "Enter a number".into(),
                });
            }
            parsed
        };
        let quantity = number(format!("extra-{slug}-quantity"));
        let proxy = number(format!("extra-{slug}-proxy"));
        let note = text(&format!("extra-{slug}-note"));
        if quantity.is_some() || proxy.is_some() || !note.is_empty() {
            report.extras.push(ExtraValue {
                kind: *kind,
                quantity: quantity.unwrap_or(0.0),
                note,
                proxy,
                proxy_source: text(&format!("extra-{slug}-proxy_source")),
            });
        }
    }
    for i in 0..CASE_STUDIES_MAX {
        let (title, story) = (
            text(&format!("case-{i}-title")),
            text(&format!("case-{i}-story")),
        );
        if !title.is_empty() || !story.is_empty() {
            report.case_studies.push(CaseStudy {
                title,
                story,
                consent: form.contains_key(&format!("case-{i}-consent")),
            });
        }
    }
    (report, problems)
}

async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    signed.check_csrf(form.get("csrf_token").map_or("", String::as_str))?;
    let id = form
        .get("id")
        .and_then(|id| Uuid::parse_str(id.trim()).ok());
    // A report already saved is its organisation's to change, which the gate decides.
    let organisation = match id {
        Some(id) => store::owner(&state.db, id)
            .await?
            .ok_or(AppError::NotFound)?,
        None => signed.user.actor.organisation_id,
    };
    let mut authorised = open(
        &state,
        &signed,
        Some(organisation),
        Action::Update,
        "save a social value report",
    )
    .await?;
    let (report, mut problems) = read_form(&form);
    for problem in check(&report) {
        if !problems.iter().any(|p| p.field == problem.field) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        let id = store::save(
            &mut authorised,
            organisation,
            id,
            &report,
            &signed.user.name,
        )
        .await?;
        authorised.tx.commit().await?;
        return Ok(Redirect::to(&format!("/social-value/{id}")).into_response());
    }
    // The attempt stays in the audit trail; nothing is saved.
    authorised.tx.commit().await?;
    let page = EditPage::new(&signed, id, &report, &form, problems);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

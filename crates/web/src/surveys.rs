//! The voice of children and families (`earlyhelp_domain::surveys`): officers (commissioners
//! and data analysts) build surveys, publish them, moderate their free text, turn their results
//! into indicator values and record "you said, we did"; the public answers without signing in
//! and reads the results. Officers' work goes through the gate; public answers do not (see
//! `earlyhelp_storage::surveys`).

use crate::AppState;
use crate::dates::{DateQuestion, Rule, filters};
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::throttle::{ClientIp, Throttle};
use crate::views::{Layout, SelectOption, error_for};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::surveys::{
    AgeBand, Answered, EthnicGroup, LONG_TEXT, QUESTION_FIELDS, Question, QuestionInput,
    QuestionKind, Share, YouSaidInput, check_question, check_response, check_you_said,
    indicator_values, share,
};
use earlyhelp_storage::gate::{Authorised, Request, authorise, authorise_read};
use earlyhelp_storage::outcomes::{self, NewValue};
use earlyhelp_storage::secrets::random_token;
use earlyhelp_storage::surveys::{self as store, Survey};
use std::sync::Arc;
use uuid::Uuid;

type Pairs = Form<Vec<(String, String)>>;

pub fn routes() -> Routes {
    Routes::new()
        .route("/have-your-say", get(public_list))
        .route("/have-your-say/{id}", get(answer_form).post(answer))
        .route("/have-your-say/{id}/results", get(results))
        .route("/have-your-say/{id}/results.csv", get(results_csv))
        .route("/you-said-we-did", get(you_said_page))
        .route(
            "/you-said-we-did/new",
            get(you_said_form).post(you_said_save),
        )
        .route("/surveys", get(officer_list).post(create))
        .route("/surveys/moderation", get(moderation))
        .route("/surveys/moderation/{id}", post(moderate))
        .route("/surveys/{id}", get(build))
        .route("/surveys/{id}/questions", post(add_question))
        .route("/surveys/{id}/publish", post(publish))
        .route("/surveys/{id}/close", post(close))
        .route("/surveys/{id}/indicators", post(to_indicators))
}

/// The first value of a repeated-field form's `name`, or empty (shared with the voting forms).
pub(crate) fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every value of a repeated-field form's `name`.
pub(crate) fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// Through the gate for the surveys, as `action`.
async fn open(
    state: &AppState,
    signed: &Signed,
    action: Action,
    purpose: &str,
) -> Result<Authorised, AppError> {
    let request = Request {
        action,
        resource: Resource::Surveys,
        subject: "surveys",
        purpose,
    };
    Ok(match action {
        Action::List | Action::Read => authorise_read(&state.db, &signed.who(), request).await?,
        _ => authorise(&state.db, &signed.who(), request).await?,
    })
}

/// A signed-in change: the CSRF token, then the gate.
async fn change(
    state: &AppState,
    signed: &Signed,
    pairs: &[(String, String)],
    purpose: &str,
) -> Result<Authorised, AppError> {
    signed.check_csrf(&field(pairs, "csrf_token"))?;
    open(state, signed, Action::Update, purpose).await
}

async fn locality_names(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(earlyhelp_storage::accounts::list_localities(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect())
}

/// A published or closed survey, for the public; drafts are not found.
async fn public_survey(state: &AppState, id: Uuid) -> Result<(Survey, Vec<Question>), AppError> {
    let survey = store::survey(&state.db, id)
        .await?
        .filter(|s| s.state != "draft")
        .ok_or(AppError::NotFound)?;
    let questions = store::questions(&state.db, id).await?;
    Ok((survey, questions))
}

// ---------------------------------------------------------------------------------------------
// Answering (public)

const ANSWER_COOKIE: &str = "eh_survey";

#[derive(Template)]
#[template(path = "surveys_public_list.html")]
struct PublicList {
    layout: Layout,
    surveys: Vec<Survey>,
}

async fn public_list(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let page = PublicList {
        layout: Layout::anonymous(String::new()),
        surveys: store::published(&state.db).await?,
    };
    Ok(Html(page.render()?))
}

/// A question on the public form, with what was chosen or written.
struct Asked {
    field: &'static str,
    prompt: String,
    kind: QuestionKind,
    options: Vec<SelectOption>,
    text: String,
}

#[derive(Template)]
#[template(path = "surveys_answer.html")]
struct AnswerPage {
    layout: Layout,
    errors: Vec<FieldError>,
    survey: Survey,
    questions: Vec<Asked>,
    ages: Vec<SelectOption>,
    groups: Vec<SelectOption>,
    district: String,
    sent: bool,
}

impl AnswerPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn answer_page(
    token: String,
    survey: Survey,
    questions: &[Question],
    pairs: &[(String, String)],
    errors: Vec<FieldError>,
) -> AnswerPage {
    let asked = questions
        .iter()
        .zip(QUESTION_FIELDS)
        .map(|(q, name)| {
            let chosen = all(pairs, name);
            Asked {
                field: name,
                prompt: q.prompt.clone(),
                kind: q.kind,
                options: q
                    .options
                    .iter()
                    .map(|o| SelectOption::new(o.clone(), o.clone(), chosen.contains(o)))
                    .collect(),
                text: field(pairs, name),
            }
        })
        .collect();
    let age = field(pairs, "age_band");
    let group = field(pairs, "ethnic_group");
    AnswerPage {
        layout: Layout::anonymous(token),
        errors,
        survey,
        questions: asked,
        ages: AgeBand::ALL
            .iter()
            .map(|a| SelectOption::new(a.slug(), a.label(), a.slug() == age))
            .collect(),
        groups: EthnicGroup::ALL
            .iter()
            .map(|g| SelectOption::new(g.slug(), g.label(), g.slug() == group))
            .collect(),
        district: field(pairs, "district"),
        sent: false,
    }
}

async fn answer_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let (survey, questions) = public_survey(&state, id).await?;
    if survey.state != "published" {
        return Ok(Redirect::to(&format!("/have-your-say/{id}/results")).into_response());
    }
    // The cookie carries only the form's CSRF token: nothing about who answers is kept.
    let token = jar
        .get(ANSWER_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_else(random_token);
    let page = answer_page(token.clone(), survey, &questions, &[], vec![]);
    let jar = jar.add(crate::session::form_token_cookie(
        ANSWER_COOKIE,
        "/have-your-say",
        token,
        state.config.secure_cookies,
    ));
    Ok((jar, Html(page.render()?)).into_response())
}

async fn answer(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    let token =
        crate::session::check_form_token(&jar, ANSWER_COOKIE, &field(&pairs, "csrf_token"))?;
    let (survey, questions) = public_survey(&state, id).await?;
    if survey.state != "published" {
        return Err(AppError::Conflict("This survey has closed".into()));
    }
    let checked = check_response(&questions, |n| field(&pairs, n), |n| all(&pairs, n));
    match checked {
        Err(errors) => {
            let page = answer_page(token, survey, &questions, &pairs, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Ok(response) => {
            // The address is counted in memory for the limit and never stored.
            throttle.survey_answer(client)?;
            let today = earlyhelp_storage::cases::today();
            if !store::submit(&state.db, id, &response, today).await? {
                return Err(AppError::Conflict("This survey has closed".into()));
            }
            let mut page = answer_page(String::new(), survey, &questions, &[], vec![]);
            page.sent = true;
            Ok(Html(page.render()?).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Results (public)

/// One row of a question's results: an area or a group.
struct ResultRow {
    label: String,
    answers: String,
    /// Per option: "62%" and "48% to 74%", or "Too few answers" and "".
    cells: Vec<(String, String)>,
    compared: &'static str,
    /// The headline share as (percent, low, high), for the chart.
    headline: Option<(f64, f64, f64)>,
}

struct QuestionResult {
    prompt: String,
    options: Vec<String>,
    /// What the chart and the comparison count: the linked options, or the first.
    headline: String,
    rows: Vec<ResultRow>,
}

/// A filter of the responses: the area or group a row of the results is about.
struct Group {
    dimension: &'static str,
    label: String,
    keep: Box<dyn Fn(&Answered) -> bool + Send + Sync>,
}

fn groups(localities: &[(String, String)]) -> Vec<Group> {
    let mut out = vec![Group {
        dimension: "city",
        label: "The city".into(),
        keep: Box::new(|_| true),
    }];
    for (slug, name) in localities {
        let slug = slug.clone();
        out.push(Group {
            dimension: "locality",
            label: name.clone(),
            keep: Box::new(move |r| r.locality == slug),
        });
    }
    for band in AgeBand::ALL.iter().filter(|b| **b != AgeBand::NotSaid) {
        out.push(Group {
            dimension: "age band",
            label: format!("Aged {}", band.label().to_lowercase()),
            keep: Box::new(move |r| r.age_band == band.slug()),
        });
    }
    for group in EthnicGroup::ALL {
        out.push(Group {
            dimension: "ethnic group",
            label: group.label().to_string(),
            keep: Box::new(move |r| r.ethnic_group == group.slug()),
        });
    }
    out
}

fn percent(value: f64) -> String {
    format!("{value:.0}%")
}

fn headline_options(question: &Question) -> Vec<String> {
    if question.counted.is_empty() {
        question.options.iter().take(1).cloned().collect()
    } else {
        question.counted.clone()
    }
}

fn question_results(
    questions: &[Question],
    answers: &[Answered],
    groups: &[Group],
) -> Vec<QuestionResult> {
    questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind != QuestionKind::Text)
        .map(|(i, q)| {
            let headline = headline_options(q);
            let city = share(answers, i, &headline, |_| true);
            let rows = groups
                .iter()
                .map(|g| {
                    let main = share(answers, i, &headline, &g.keep);
                    let cells = q
                        .options
                        .iter()
                        .map(|o| {
                            let s = share(answers, i, std::slice::from_ref(o), &g.keep);
                            match s.percent() {
                                Some((p, low, high)) => {
                                    (percent(p), format!("{} to {}", percent(low), percent(high)))
                                }
                                None => ("Too few answers".into(), String::new()),
                            }
                        })
                        .collect();
                    ResultRow {
                        label: g.label.clone(),
                        answers: answers_text(main),
                        cells,
                        compared: if g.dimension == "city" {
                            ""
                        } else {
                            main.compared_with(city)
                        },
                        headline: main.percent(),
                    }
                })
                .collect();
            QuestionResult {
                prompt: q.prompt.clone(),
                options: q.options.clone(),
                headline: headline.join(" or "),
                rows,
            }
        })
        .collect()
}

fn answers_text(share: Share) -> String {
    if share.suppressed() {
        "Fewer than 10".into()
    } else {
        share.n.to_string()
    }
}

/// A bar of the chart: label, percent, interval, as SVG coordinates.
struct Bar {
    label: String,
    y: usize,
    width: f64,
    low: f64,
    high: f64,
    text: String,
}

impl QuestionResult {
    /// The areas with enough answers, for the chart (the table beside it has every row).
    fn bars(&self) -> Vec<Bar> {
        self.rows
            .iter()
            .filter_map(|r| r.headline.map(|h| (r, h)))
            .enumerate()
            .map(|(n, (r, (p, low, high)))| Bar {
                label: r.label.clone(),
                y: 10 + n * 28,
                width: p * 3.0,
                low: low * 3.0,
                high: high * 3.0,
                text: percent(p),
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "surveys_results.html")]
struct ResultsPage {
    layout: Layout,
    survey: Survey,
    answered: usize,
    results: Vec<QuestionResult>,
    /// (question, approved comments) for free-text questions.
    texts: Vec<(String, Vec<String>)>,
}

async fn results(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let (survey, questions) = public_survey(&state, id).await?;
    let answers = store::answers(&state.db, id).await?;
    let localities = locality_names(&state).await?;
    let comments = store::approved(&state.db, id).await?;
    let texts = questions
        .iter()
        .enumerate()
        .filter(|(_, q)| q.kind == QuestionKind::Text)
        .map(|(i, q)| {
            let said = comments
                .iter()
                .filter(|c| c.position == i as i32)
                .map(|c| c.body.clone())
                .collect();
            (q.prompt.clone(), said)
        })
        .collect();
    let page = ResultsPage {
        layout: Layout::anonymous(String::new()),
        answered: answers.len(),
        results: question_results(&questions, &answers, &groups(&localities)),
        texts,
        survey,
    };
    Ok(Html(page.render()?))
}

async fn results_csv(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let (_, questions) = public_survey(&state, id).await?;
    let answers = store::answers(&state.db, id).await?;
    let localities = locality_names(&state).await?;
    let groups = groups(&localities);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "question",
        "option",
        "dimension",
        "group",
        "answers",
        "chose",
        "percent",
        "low_95",
        "high_95",
    ];
    let csv_error = |e: csv::Error| AppError::Internal(anyhow::anyhow!("{e}"));
    writer.write_record(header).map_err(csv_error)?;
    for (i, q) in questions.iter().enumerate() {
        for option in &q.options {
            for g in &groups {
                let s = share(&answers, i, std::slice::from_ref(option), &g.keep);
                let figures = match s.percent() {
                    Some((p, low, high)) => vec![
                        s.n.to_string(),
                        s.count.to_string(),
                        format!("{p:.1}"),
                        format!("{low:.1}"),
                        format!("{high:.1}"),
                    ],
                    // Suppressed: not even the number who answered.
                    None => vec![
                        "fewer than 10".into(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ],
                };
                let mut record = vec![
                    q.prompt.clone(),
                    option.clone(),
                    g.dimension.to_string(),
                    g.label.clone(),
                ];
                record.extend(figures);
                writer.write_record(&record).map_err(csv_error)?;
            }
        }
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"survey-results.csv\"".to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Officers: building, publishing, indicator values

#[derive(Template)]
#[template(path = "surveys_officer.html")]
struct OfficerList {
    layout: Layout,
    errors: Vec<FieldError>,
    surveys: Vec<store::SurveyLine>,
    title: String,
    intro: String,
    runs: bool,
}

impl OfficerList {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Whether this person builds surveys (commissioners and data analysts) or only reads them.
fn runs(signed: &Signed) -> bool {
    use earlyhelp_domain::roles::Role;
    signed
        .user
        .actor
        .roles
        .iter()
        .any(|r| matches!(r, Role::Commissioner | Role::DataAnalyst))
}

async fn officer_list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    render_officer_list(&state, &signed, vec![], String::new(), String::new()).await
}

async fn render_officer_list(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    title: String,
    intro: String,
) -> Result<Html<String>, AppError> {
    let mut authorised = open(state, signed, Action::List, "surveys").await?;
    let surveys = store::list(&mut authorised).await?;
    authorised.tx.commit().await?;
    let page = OfficerList {
        layout: Layout::for_user(signed, "/surveys"),
        errors,
        surveys,
        title,
        intro,
        runs: runs(signed),
    };
    Ok(Html(page.render()?))
}

async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    let mut authorised = change(&state, &signed, &pairs, "build a survey").await?;
    let title = field(&pairs, "title").trim().to_string();
    let intro = field(&pairs, "intro").trim().to_string();
    let mut errors = Vec::new();
    if title.is_empty() {
        errors.push(FieldError::new("title", "Enter the survey's title"));
    }
    errors.extend(earlyhelp_domain::limits::too_long(
        "title",
        "The title",
        &title,
        earlyhelp_domain::limits::LINE,
    ));
    errors.extend(earlyhelp_domain::limits::too_long(
        "intro",
        "The introduction",
        &intro,
        LONG_TEXT,
    ));
    if !errors.is_empty() {
        drop(authorised);
        let page = render_officer_list(&state, &signed, errors, title, intro).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let id = store::create(&mut authorised, &title, &intro, &signed.user.actor.email).await?;
    if field(&pairs, "for_young_people") == "yes" {
        store::set_for_young_people(&mut authorised, id, true).await?;
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/surveys/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "surveys_build.html")]
struct BuildPage {
    layout: Layout,
    errors: Vec<FieldError>,
    survey: Survey,
    questions: Vec<Question>,
    kinds: Vec<SelectOption>,
    indicators: Vec<SelectOption>,
    input: QuestionInput,
    runs: bool,
    /// What loading the indicator values did, once done.
    loaded: Option<String>,
}

impl BuildPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Indicators a question may feed: those loaded by hand, not computed from the records.
async fn linkable(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(outcomes::list_indicators(&state.db)
        .await?
        .into_iter()
        .filter(|i| i.source == "uploaded")
        .map(|i| (i.reference.clone(), format!("{} {}", i.reference, i.name)))
        .collect())
}

async fn render_build(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    input: QuestionInput,
    errors: Vec<FieldError>,
    loaded: Option<String>,
) -> Result<BuildPage, AppError> {
    let authorised = open(state, signed, Action::Read, "a survey").await?;
    authorised.tx.commit().await?;
    let survey = store::survey(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let questions = store::questions(&state.db, id).await?;
    let indicators = std::iter::once(SelectOption::new("", "None", input.indicator.is_empty()))
        .chain(
            linkable(state)
                .await?
                .into_iter()
                .map(|(r, label)| SelectOption::new(r.clone(), label, r == input.indicator)),
        )
        .collect();
    Ok(BuildPage {
        layout: Layout::for_user(signed, "/surveys"),
        errors,
        survey,
        questions,
        kinds: QuestionKind::ALL
            .iter()
            .map(|k| SelectOption::new(k.slug(), k.label(), k.slug() == input.kind))
            .collect(),
        indicators,
        input,
        runs: runs(signed),
        loaded,
    })
}

async fn build(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let page = render_build(&state, &signed, id, QuestionInput::default(), vec![], None).await?;
    Ok(Html(page.render()?))
}

async fn add_question(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    // Read on the pool before the gate's transaction holds a connection of its own.
    let references: Vec<String> = linkable(&state)
        .await?
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let asked = store::questions(&state.db, id).await?.len();
    let mut authorised = change(&state, &signed, &pairs, "add a question to a survey").await?;
    let input = QuestionInput {
        kind: field(&pairs, "kind"),
        prompt: field(&pairs, "prompt"),
        options: field(&pairs, "options"),
        indicator: field(&pairs, "indicator"),
        counted: field(&pairs, "counted"),
    };
    let mut checked = check_question(&input, &references);
    if asked >= QUESTION_FIELDS.len() {
        checked = Err(vec![FieldError::new(
            "prompt",
            format!("A survey has at most {} questions", QUESTION_FIELDS.len()),
        )]);
    }
    let question = match checked {
        Ok(question) => question,
        Err(errors) => {
            drop(authorised);
            let page = render_build(&state, &signed, id, input, errors, None).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    if !store::add_question(&mut authorised, id, &question).await? {
        return Err(AppError::Conflict(
            "Questions are added only while the survey is a draft".into(),
        ));
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/surveys/{id}")).into_response())
}

async fn move_state(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    pairs: &[(String, String)],
    (from, to): (&str, &str),
) -> Result<Response, AppError> {
    let mut authorised = change(state, signed, pairs, "publish or close a survey").await?;
    if !store::set_state(&mut authorised, id, from, to).await? {
        return Err(AppError::Conflict(format!(
            "Only a {from} survey can be {to}"
        )));
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/surveys/{id}")).into_response())
}

async fn publish(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    move_state(&state, &signed, id, &pairs, ("draft", "published")).await
}

async fn close(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    move_state(&state, &signed, id, &pairs, ("published", "closed")).await
}

/// Loads the survey's results into the outcomes framework: each linked question's share by
/// month and locality, figures from fewer than 10 answers left out.
async fn to_indicators(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    // Read on the pool before the gate's transaction holds a connection of its own.
    let questions = store::questions(&state.db, id).await?;
    let answers = store::answers(&state.db, id).await?;
    let localities: Vec<String> = locality_names(&state)
        .await?
        .into_iter()
        .map(|l| l.0)
        .collect();
    let mut authorised = change(
        &state,
        &signed,
        &pairs,
        "load a survey's results as indicator values",
    )
    .await?;
    let values: Vec<NewValue> = indicator_values(&questions, &answers, &localities)
        .into_iter()
        .map(|(reference, period, area, s)| NewValue {
            indicator_ref: reference,
            period,
            area,
            dimension: String::new(),
            group: String::new(),
            value: 100.0 * f64::from(s.count) / f64::from(s.n),
            denominator: Some(f64::from(s.n)),
        })
        .collect();
    let by = format!("survey:{id}");
    let plan = outcomes::load_values(&mut authorised, &values, &by, None, true).await?;
    authorised.tx.commit().await?;
    let loaded = format!(
        "{} values added, {} corrected, {} unchanged.",
        plan.added,
        plan.corrections.len(),
        plan.unchanged
    );
    let page = render_build(
        &state,
        &signed,
        id,
        QuestionInput::default(),
        vec![],
        Some(loaded),
    )
    .await?;
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Moderation

#[derive(Template)]
#[template(path = "surveys_moderation.html")]
struct ModerationPage {
    layout: Layout,
    /// (comment, survey title, question).
    waiting: Vec<(store::Comment, String, String)>,
}

async fn moderation(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    // Reading unpublished free text is the moderators' work, so it needs the change permission.
    let mut authorised = open(&state, &signed, Action::Update, "moderate survey answers").await?;
    let comments = store::waiting(&mut authorised).await?;
    authorised.tx.commit().await?;
    let mut waiting = Vec::new();
    for c in comments {
        let survey = store::survey(&state.db, c.survey_id).await?;
        let question = store::questions(&state.db, c.survey_id)
            .await?
            .get(c.position.max(0) as usize)
            .map(|q| q.prompt.clone())
            .unwrap_or_default();
        waiting.push((c, survey.map(|s| s.title).unwrap_or_default(), question));
    }
    let page = ModerationPage {
        layout: Layout::for_user(&signed, "/surveys"),
        waiting,
    };
    Ok(Html(page.render()?))
}

async fn moderate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    let mut authorised = change(&state, &signed, &pairs, "moderate survey answers").await?;
    let approve = match field(&pairs, "decision").as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "decision",
                "Choose whether to publish or reject the answer",
            )]));
        }
    };
    let body = field(&pairs, "body").trim().to_string();
    if approve && body.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "body",
            "Enter the answer as it will be published, or reject it",
        )]));
    }
    if let Some(error) = earlyhelp_domain::limits::too_long(
        "body",
        "The answer",
        &body,
        earlyhelp_domain::surveys::ANSWER_TEXT,
    ) {
        return Err(AppError::Invalid(vec![error]));
    }
    if !store::moderate(
        &mut authorised,
        id,
        approve,
        &body,
        &signed.user.actor.email,
    )
    .await?
    {
        return Err(AppError::Conflict(
            "That answer has already been moderated".into(),
        ));
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to("/surveys/moderation").into_response())
}

// ---------------------------------------------------------------------------------------------
// You said, we did

struct Entry {
    theme: String,
    said: String,
    did: String,
    done_on: String,
    locality: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "surveys_you_said.html")]
struct YouSaidPage {
    layout: Layout,
    entries: Vec<Entry>,
}

async fn you_said_page(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let localities = locality_names(&state).await?;
    let outcomes = outcomes::list_outcomes(&state.db).await?;
    let entries = store::you_said(&state.db)
        .await?
        .into_iter()
        .map(|row| Entry {
            locality: row
                .locality
                .as_ref()
                .and_then(|l| localities.iter().find(|(s, _)| s == l))
                .map_or("The whole city".to_string(), |(_, name)| name.clone()),
            outcome: row
                .outcome_number
                .and_then(|n| outcomes.iter().find(|o| o.number == n))
                .map_or(String::new(), |o| {
                    format!("Outcome {}: {}", o.number, o.name)
                }),
            theme: row.theme,
            said: row.said,
            did: row.did,
            done_on: row.done_on,
        })
        .collect();
    let page = YouSaidPage {
        layout: Layout::anonymous(String::new()),
        entries,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "surveys_you_said_form.html")]
struct YouSaidForm {
    layout: Layout,
    errors: Vec<FieldError>,
    input: YouSaidInput,
    /// The date boxes as typed.
    done_on: crate::dates::DateParts,
    localities: Vec<SelectOption>,
    outcomes: Vec<SelectOption>,
}

impl YouSaidForm {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn render_you_said_form(
    state: &AppState,
    signed: &Signed,
    input: YouSaidInput,
    errors: Vec<FieldError>,
) -> Result<YouSaidForm, AppError> {
    let localities = std::iter::once(SelectOption::new(
        "",
        "The whole city",
        input.locality.is_empty(),
    ))
    .chain(
        locality_names(state)
            .await?
            .into_iter()
            .map(|(s, n)| SelectOption::new(s.clone(), n, s == input.locality)),
    )
    .collect();
    let outcomes = std::iter::once(SelectOption::new("", "None", input.outcome.is_empty()))
        .chain(
            outcomes::list_outcomes(&state.db)
                .await?
                .into_iter()
                .map(|o| {
                    let n = o.number.to_string();
                    SelectOption::new(
                        n.clone(),
                        format!("{}: {}", o.number, o.name),
                        n == input.outcome,
                    )
                }),
        )
        .collect();
    Ok(YouSaidForm {
        layout: Layout::for_user(signed, "/surveys"),
        errors,
        done_on: crate::dates::DateParts::default(),
        input,
        localities,
        outcomes,
    })
}

async fn you_said_form(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    let authorised = open(&state, &signed, Action::Update, "record you said, we did").await?;
    authorised.tx.commit().await?;
    let page = render_you_said_form(&state, &signed, YouSaidInput::default(), vec![]).await?;
    Ok(Html(page.render()?))
}

async fn you_said_save(
    State(state): State<AppState>,
    signed: Signed,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    // Read on the pool before the gate's transaction holds a connection of its own.
    let slugs: Vec<String> = locality_names(&state)
        .await?
        .into_iter()
        .map(|l| l.0)
        .collect();
    let numbers: Vec<i32> = outcomes::list_outcomes(&state.db)
        .await?
        .iter()
        .map(|o| o.number)
        .collect();
    let mut authorised = change(&state, &signed, &pairs, "record you said, we did").await?;
    let done_on = DateQuestion::new("done_on", "Date it was done", Rule::TodayOrPast);
    let refused = crate::dates::fold(&mut pairs, &[done_on], earlyhelp_storage::cases::today());
    let input = YouSaidInput {
        theme: field(&pairs, "theme"),
        said: field(&pairs, "said"),
        did: field(&pairs, "did"),
        done_on: field(&pairs, "done_on"),
        locality: field(&pairs, "locality"),
        outcome: field(&pairs, "outcome"),
    };
    let entry = match crate::dates::with_dates(refused, check_you_said(&input, &slugs, &numbers)) {
        Ok(entry) => entry,
        Err(errors) => {
            drop(authorised);
            let mut page = render_you_said_form(&state, &signed, input, errors).await?;
            page.done_on = crate::dates::parts(&pairs, "done_on");
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    store::add_you_said(&mut authorised, &entry, &signed.user.actor.email).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/you-said-we-did").into_response())
}

//! Participatory budgeting for community grants (`earlyhelp_domain::budgeting`): the grants
//! officer opens a voting round on a programme's shortlisted applications for a locality and
//! prints single-use codes for events; residents ask for a code by email and vote at
//! `/vote/{id}` without signing in; the tally is public once voting closes. Officers' work goes
//! through the gate; a vote does not (see `earlyhelp_storage::budgeting`).

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::surveys::{all, field};
use crate::throttle::{ClientIp, Throttle};
use crate::views::{Layout, LocalityNames, SelectOption, error_for};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::budgeting::{
    Candidate, MAX_BATCH, MAX_PRINTED, RoundInput, Stage, check_ballot, check_round, percent, rank,
    stage,
};
use earlyhelp_domain::money::{ProgrammeKind, pounds};
use earlyhelp_domain::people::{FieldError, normalise_email};
use earlyhelp_storage::budgeting::{self as store, Cast, OptionRow, RoundRow, Tally};
use earlyhelp_storage::gate::{Authorised, Request, authorise, authorise_read};
use earlyhelp_storage::secrets::random_token;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

type Pairs = Form<Vec<(String, String)>>;

const VOTE_COOKIE: &str = "eh_vote";

pub fn routes() -> Routes {
    Routes::new()
        .route("/vote", get(public_list))
        .route("/vote/{id}", get(ballot_form).post(vote))
        .route("/vote/{id}/code", post(send_code))
        .route("/vote/{id}/results", get(results))
        .route("/vote/{id}/results.csv", get(results_csv))
        .route("/vote/{id}/ballots.csv", get(ballots_csv))
        .route("/grants/voting", get(officer_page).post(open_round))
        .route("/grants/voting/{id}/codes", post(print_codes))
}

fn today() -> time::Date {
    earlyhelp_storage::cases::today()
}

fn stage_of(round: &RoundRow) -> Stage {
    let (opens, closes) = round.dates();
    stage(opens, closes, today())
}

async fn found(state: &AppState, id: Uuid) -> Result<RoundRow, AppError> {
    store::round(&state.db, id).await?.ok_or(AppError::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Voting (public)

#[derive(Template)]
#[template(path = "budgeting_rounds.html")]
struct RoundsPage {
    layout: Layout,
    /// (round, locality name, open now).
    rounds: Vec<(RoundRow, String, bool)>,
}

async fn public_list(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let names = LocalityNames::load(&state.db).await?;
    let rounds = store::rounds(&state.db)
        .await?
        .into_iter()
        .map(|r| {
            let open = stage_of(&r) == Stage::Open;
            let name = names.name(&r.locality_slug);
            (r, name, open)
        })
        .collect();
    let page = RoundsPage {
        layout: Layout::anonymous(String::new()),
        rounds,
    };
    Ok(Html(page.render()?))
}

/// A project on the ballot, as the form shows it.
struct Project {
    id: Uuid,
    title: String,
    organisation: String,
    activity: String,
    amount: String,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "budgeting_ballot.html")]
struct BallotPage {
    layout: Layout,
    errors: Vec<FieldError>,
    round: RoundRow,
    locality: String,
    open: bool,
    projects: Vec<Project>,
    email: String,
    code: String,
    /// "We have sent a code to …", once asked for.
    code_sent: Option<String>,
    /// The ballot's receipt, once counted.
    receipt: Option<String>,
}

impl BallotPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn ballot_page(
    state: &AppState,
    token: String,
    round: RoundRow,
    pairs: &[(String, String)],
    errors: Vec<FieldError>,
) -> Result<BallotPage, AppError> {
    let chosen = all(pairs, "projects");
    let projects = store::options(&state.db, round.id)
        .await?
        .into_iter()
        .map(|o| Project {
            chosen: chosen.contains(&o.application_id.to_string()),
            id: o.application_id,
            title: o.title,
            organisation: o.organisation_name,
            activity: o.activity,
            amount: pounds(o.amount_pence),
        })
        .collect();
    let locality = LocalityNames::load(&state.db)
        .await?
        .name(&round.locality_slug);
    Ok(BallotPage {
        layout: Layout::anonymous(token),
        errors,
        open: stage_of(&round) == Stage::Open,
        round,
        locality,
        projects,
        email: field(pairs, "email"),
        code: field(pairs, "code"),
        code_sent: None,
        receipt: None,
    })
}

async fn ballot_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let round = found(&state, id).await?;
    if stage_of(&round) == Stage::Closed {
        return Ok(Redirect::to(&format!("/vote/{id}/results")).into_response());
    }
    // The cookie carries only the form's CSRF token: nothing about who votes is kept in it.
    let token = jar
        .get(VOTE_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_else(random_token);
    let page = ballot_page(&state, token.clone(), round, &[], vec![]).await?;
    let jar = jar.add(crate::session::form_token_cookie(
        VOTE_COOKIE,
        "/vote",
        token,
        state.config.secure_cookies,
    ));
    Ok((jar, Html(page.render()?)).into_response())
}

/// The round `id` while voting is open: a closed or future round takes no codes or votes.
async fn open_round_for_voting(state: &AppState, id: Uuid) -> Result<RoundRow, AppError> {
    let round = found(state, id).await?;
    match stage_of(&round) {
        Stage::Open => Ok(round),
        _ => Err(closed(&round)),
    }
}

fn closed(round: &RoundRow) -> AppError {
    AppError::Conflict(match stage_of(round) {
        Stage::NotOpen => format!("Voting in this round opens on {}", round.opens()),
        _ => format!("Voting in this round closed on {}", round.closes()),
    })
}

async fn send_code(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    let token = crate::session::check_form_token(&jar, VOTE_COOKIE, &field(&pairs, "csrf_token"))?;
    let round = open_round_for_voting(&state, id).await?;
    // The address as lettre, which sends it, would parse it: a plausible shape is not enough.
    let email =
        normalise_email(&field(&pairs, "email")).filter(|e| e.parse::<lettre::Address>().is_ok());
    let Some(email) = email else {
        let error = FieldError::new("email", "Enter your email address, like name@example.com");
        let page = ballot_page(&state, token, round, &pairs, vec![error]).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    };
    throttle.public_voice(client, "requests for a code to vote")?;
    store::email_code(&state.db, &round, &email).await?;
    let mut page = ballot_page(&state, token, round, &[], vec![]).await?;
    page.code_sent = Some(format!(
        "We have sent a code to {email}. It can take a few minutes to arrive."
    ));
    Ok(Html(page.render()?).into_response())
}

async fn vote(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    let token = crate::session::check_form_token(&jar, VOTE_COOKIE, &field(&pairs, "csrf_token"))?;
    let round = open_round_for_voting(&state, id).await?;
    let options: Vec<Uuid> = store::options(&state.db, id)
        .await?
        .iter()
        .map(|o| o.application_id)
        .collect();
    let mut errors = Vec::new();
    let chosen = check_ballot(&all(&pairs, "projects"), &options, round.choices)
        .map_err(|e| errors.push(e))
        .ok();
    let code = field(&pairs, "code");
    if earlyhelp_domain::budgeting::normalise_code(&code).is_empty() {
        errors.push(FieldError::new(
            "code",
            "Enter your code: the one we emailed you, or the one on your card",
        ));
    }
    let refuse = |message: &str| vec![FieldError::new("code", message)];
    let outcome = match chosen {
        Some(chosen) if errors.is_empty() => {
            throttle.may_try_a_code(client)?;
            let cast = store::cast(&state.db, id, &code, &chosen).await?;
            // Only wrong codes count against the address's limit (see `Throttle::wrong_code`).
            if matches!(cast, Cast::BadCode | Cast::AlreadyVoted) {
                throttle.wrong_code(client)?;
            }
            match cast {
                Cast::Counted(receipt) => Ok(receipt),
                // Unknown and used alike: a guess learns nothing about which codes exist.
                Cast::BadCode => Err(refuse(
                    "That code does not work in this round: it may be mistyped, or already used. \
                     Check it, or ask for a new one",
                )),
                Cast::AlreadyVoted => Err(refuse(
                    "Someone using that email address has already voted in this round. Each person votes once",
                )),
                Cast::Closed => return Err(closed(&round)),
            }
        }
        _ => Err(errors),
    };
    match outcome {
        Ok(receipt) => {
            let mut page = ballot_page(&state, String::new(), round, &[], vec![]).await?;
            page.receipt = Some(receipt.simple().to_string());
            Ok(Html(page.render()?).into_response())
        }
        Err(errors) => {
            let page = ballot_page(&state, token, round, &pairs, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tally (public)

/// One project's line in the tally.
struct Line {
    rank: usize,
    reference: String,
    title: String,
    organisation: String,
    amount: String,
    panel: String,
    votes: i64,
    vote_share: String,
    combined: String,
}

/// The ranking of a round's projects, best first.
fn lines(options: &[OptionRow], tally: &Tally, panel_weight: i64) -> Vec<Line> {
    let candidates: Vec<Candidate> = options
        .iter()
        .map(|o| Candidate {
            id: o.application_id,
            score_sum: o.score_sum,
            assessors: o.assessors,
            criteria: o.criteria,
            votes: tally
                .votes
                .iter()
                .find(|(id, _)| *id == o.application_id)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    rank(&candidates, tally.counted, panel_weight)
        .into_iter()
        .filter_map(|r| {
            let o = options.iter().find(|o| o.application_id == r.id)?;
            Some(Line {
                rank: r.rank,
                reference: o.reference.clone(),
                title: o.title.clone(),
                organisation: o.organisation_name.clone(),
                amount: pounds(o.amount_pence),
                panel: percent(r.panel),
                votes: r.votes,
                vote_share: percent(r.vote),
                combined: percent(r.combined),
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "budgeting_results.html")]
struct ResultsPage {
    layout: Layout,
    round: RoundRow,
    locality: String,
    closed: bool,
    tally: Tally,
    lines: Vec<Line>,
    vote_weight: i64,
}

/// The round, its projects and its count; once closed, every ballot mixed into the count.
async fn counted(
    state: &AppState,
    id: Uuid,
) -> Result<(RoundRow, Vec<OptionRow>, Tally, bool), AppError> {
    let round = found(state, id).await?;
    let closed = stage_of(&round) == Stage::Closed;
    if closed {
        // The first read after voting closes counts the round (the periodic job may have).
        store::mix(&state.db, id).await?;
    }
    let options = store::options(&state.db, id).await?;
    let tally = store::tally(&state.db, id).await?;
    Ok((round, options, tally, closed))
}

async fn results(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let (round, options, tally, closed) = counted(&state, id).await?;
    // While voting is open only the turnout shows: a running count would tell someone who
    // watched it as a neighbour voted how they voted.
    let lines = if closed {
        lines(&options, &tally, round.panel_weight)
    } else {
        Vec::new()
    };
    let locality = LocalityNames::load(&state.db)
        .await?
        .name(&round.locality_slug);
    let page = ResultsPage {
        layout: Layout::anonymous(String::new()),
        vote_weight: 100 - round.panel_weight,
        round,
        locality,
        closed,
        tally,
        lines,
    };
    Ok(Html(page.render()?))
}

pub(crate) fn csv_response(name: &str, rows: Vec<Vec<String>>) -> Result<Response, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::Internal(anyhow::anyhow!("{e}"));
    for row in rows {
        let row = row
            .iter()
            .map(|cell| earlyhelp_domain::limits::csv_cell(cell));
        writer.write_record(row).map_err(csv_error)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

fn not_yet(round: &RoundRow) -> AppError {
    AppError::Conflict(format!(
        "The count is published when voting closes on {}",
        round.closes()
    ))
}

async fn results_csv(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let (round, options, tally, closed) = counted(&state, id).await?;
    if !closed {
        return Err(not_yet(&round));
    }
    let mut rows = vec![
        [
            "rank",
            "reference",
            "project",
            "organisation",
            "amount",
            "panel_score",
            "votes",
            "vote_share",
            "combined_score",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for l in lines(&options, &tally, round.panel_weight) {
        rows.push(vec![
            l.rank.to_string(),
            l.reference,
            l.title,
            l.organisation,
            l.amount,
            l.panel,
            l.votes.to_string(),
            l.vote_share,
            l.combined,
        ]);
    }
    csv_response("voting-results.csv", rows)
}

async fn ballots_csv(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let (round, options, _, closed) = counted(&state, id).await?;
    if !closed {
        return Err(not_yet(&round));
    }
    let reference = |id: Uuid| {
        options
            .iter()
            .find(|o| o.application_id == id)
            .map_or_else(String::new, |o| o.reference.clone())
    };
    let mut rows = vec![vec!["receipt".to_string(), "project".to_string()]];
    for (ballot, choice) in store::ballots(&state.db, id).await? {
        rows.push(vec![ballot.simple().to_string(), reference(choice)]);
    }
    csv_response("ballots.csv", rows)
}

// ---------------------------------------------------------------------------------------------
// The grants officer: opening rounds, printing codes

async fn gate(
    state: &AppState,
    signed: &Signed,
    action: Action,
    subject: &str,
    purpose: &str,
) -> Result<Authorised, AppError> {
    // The officer's pages show undecided applications with their panel scores: only the grants
    // officer (who pays) reads them, not everyone who may list programmes to ask for a payment.
    let resource = match action {
        Action::List | Action::Read => Resource::PaymentQueue,
        _ => Resource::Programmes,
    };
    let request = Request {
        action,
        resource,
        subject,
        purpose,
    };
    Ok(match action {
        Action::List | Action::Read => authorise_read(&state.db, &signed.who(), request).await?,
        _ => authorise(&state.db, &signed.who(), request).await?,
    })
}

#[derive(Deserialize, Default)]
struct ShortlistQuery {
    #[serde(default)]
    programme: String,
    #[serde(default)]
    locality: String,
}

#[derive(Template)]
#[template(path = "budgeting_officer.html")]
struct OfficerPage {
    layout: Layout,
    errors: Vec<FieldError>,
    /// (round, locality name, where it stands).
    rounds: Vec<(RoundRow, String, &'static str)>,
    programmes: Vec<SelectOption>,
    localities: Vec<SelectOption>,
    /// The programme and locality chosen, once both are.
    chosen: Option<(Uuid, String)>,
    /// (application, mean panel score, put to the vote).
    shortlist: Vec<(OptionRow, String, bool)>,
    input: RoundInput,
    max_batch: i64,
}

impl OfficerPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn render_officer(
    state: &AppState,
    signed: &Signed,
    query: &ShortlistQuery,
    input: RoundInput,
    errors: Vec<FieldError>,
) -> Result<OfficerPage, AppError> {
    // Read on the pool before the gate's transaction holds a connection of its own.
    let names = LocalityNames::load(&state.db).await?;
    let localities = earlyhelp_storage::accounts::list_localities(&state.db).await?;
    let mut authorised = gate(
        state,
        signed,
        Action::List,
        "budgeting_rounds",
        "voting rounds",
    )
    .await?;
    let programmes: Vec<_> = earlyhelp_storage::payments::programmes(&mut authorised.tx)
        .await?
        .into_iter()
        .filter(|p| p.kind == ProgrammeKind::CommunityGrants.slug())
        .collect();
    let programme = Uuid::parse_str(query.programme.trim())
        .ok()
        .filter(|id| programmes.iter().any(|p| p.id == *id));
    let locality = localities
        .iter()
        .find(|l| l.slug == query.locality)
        .map(|l| l.slug.clone());
    let chosen = programme.zip(locality);
    let shortlist = match &chosen {
        Some((p, l)) => store::shortlist(&mut authorised.tx, *p, l).await?,
        None => Vec::new(),
    };
    authorised.tx.commit().await?;
    let rounds = store::rounds(&state.db)
        .await?
        .into_iter()
        .map(|r| {
            let stands = match stage_of(&r) {
                Stage::NotOpen => "Not open yet",
                Stage::Open => "Open",
                Stage::Closed => "Closed",
            };
            let name = names.name(&r.locality_slug);
            (r, name, stands)
        })
        .collect();
    let candidate = |o: &OptionRow| Candidate {
        id: o.application_id,
        score_sum: o.score_sum,
        assessors: o.assessors,
        criteria: o.criteria,
        votes: 0,
    };
    Ok(OfficerPage {
        layout: Layout::for_user(signed, "/grants/applications"),
        errors,
        rounds,
        programmes: std::iter::once(SelectOption::new(
            "",
            "Choose a programme",
            programme.is_none(),
        ))
        .chain(
            programmes.iter().map(|p| {
                SelectOption::new(p.id.to_string(), p.name.clone(), Some(p.id) == programme)
            }),
        )
        .collect(),
        localities: std::iter::once(SelectOption::new("", "Choose a locality", chosen.is_none()))
            .chain(localities.iter().map(|l| {
                SelectOption::new(l.slug.clone(), l.name.clone(), l.slug == query.locality)
            }))
            .collect(),
        shortlist: shortlist
            .into_iter()
            .map(|o| {
                let mean = percent(earlyhelp_domain::budgeting::panel_score(&candidate(&o)));
                let picked = input.options.contains(&o.application_id.to_string());
                (o, mean, picked)
            })
            .collect(),
        chosen,
        input,
        max_batch: MAX_BATCH,
    })
}

async fn officer_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ShortlistQuery>,
) -> Result<Html<String>, AppError> {
    let input = RoundInput {
        panel_weight: "50".into(),
        choices: "3".into(),
        ..RoundInput::default()
    };
    let page = render_officer(&state, &signed, &query, input, vec![]).await?;
    Ok(Html(page.render()?))
}

async fn open_round(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let mut authorised = gate(
        &state,
        &signed,
        Action::Create,
        "budgeting_rounds",
        "open a voting round",
    )
    .await?;
    let query = ShortlistQuery {
        programme: field(&pairs, "programme"),
        locality: field(&pairs, "locality"),
    };
    let input = RoundInput {
        title: field(&pairs, "title"),
        opens_on: field(&pairs, "opens_on"),
        closes_on: field(&pairs, "closes_on"),
        panel_weight: field(&pairs, "panel_weight"),
        choices: field(&pairs, "choices"),
        options: all(&pairs, "options"),
    };
    let programme = Uuid::parse_str(query.programme.trim()).ok();
    let shortlist: Vec<Uuid> = match programme {
        Some(p) => store::shortlist(&mut authorised.tx, p, &query.locality)
            .await?
            .iter()
            .map(|o| o.application_id)
            .collect(),
        None => Vec::new(),
    };
    let checked = match (programme, check_round(&input, &shortlist, today())) {
        (Some(p), Ok(round)) => Ok((p, round)),
        (None, _) => Err(vec![FieldError::new(
            "programme",
            "Choose a programme and a locality, then the projects",
        )]),
        (_, Err(errors)) => Err(errors),
    };
    let conflicted = match &checked {
        Ok((_, round)) => {
            store::conflicted(&mut authorised.tx, officer(&signed), &round.options).await?
        }
        Err(_) => false,
    };
    if conflicted {
        return Err(conflict_refused());
    }
    match checked {
        Ok((programme, round)) => {
            let by = signed.user.actor.email.clone();
            store::create_round(&mut authorised, programme, &query.locality, &round, &by).await?;
            authorised.tx.commit().await?;
            Ok(Redirect::to("/grants/voting").into_response())
        }
        Err(errors) => {
            drop(authorised);
            let page = render_officer(&state, &signed, &query, input, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "budgeting_codes.html")]
struct CodesPage {
    layout: Layout,
    round: RoundRow,
    locality: String,
    codes: Vec<String>,
}

async fn print_codes(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let round = found(&state, id).await?;
    if stage_of(&round) == Stage::Closed {
        return Err(AppError::Conflict(
            "Voting in this round has closed: no more codes".into(),
        ));
    }
    let count = match field(&pairs, "count").trim().parse::<i64>() {
        Ok(n) if (1..=MAX_BATCH).contains(&n) => n,
        _ => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "count",
                format!("Enter how many codes to print, from 1 to {MAX_BATCH}"),
            )]));
        }
    };
    let subject = format!("budgeting_round:{id}");
    let purpose = format!("print {count} codes to vote");
    let mut authorised = gate(&state, &signed, Action::Update, &subject, &purpose).await?;
    let options: Vec<Uuid> = store::options(&state.db, id)
        .await?
        .iter()
        .map(|o| o.application_id)
        .collect();
    if store::conflicted(&mut authorised.tx, officer(&signed), &options).await? {
        return Err(conflict_refused());
    }
    let Some(codes) = store::event_codes(&mut authorised, id, count).await? else {
        return Err(AppError::Invalid(vec![FieldError::new(
            "count",
            format!(
                "A round has at most {MAX_PRINTED} printed codes: print fewer, or open another round"
            ),
        )]));
    };
    authorised.tx.commit().await?;
    let locality = LocalityNames::load(&state.db)
        .await?
        .name(&round.locality_slug);
    let page = CodesPage {
        layout: Layout::for_user(&signed, "/grants/applications"),
        round,
        locality,
        codes,
    };
    Ok(Html(page.render()?).into_response())
}

fn officer(signed: &Signed) -> Uuid {
    signed.user.actor.user_id
}

/// An officer who has declared a conflict of interest in a project on the ballot neither opens
/// the round nor prints its codes, as they may not decide its application.
fn conflict_refused() -> AppError {
    AppError::Conflict(
        "You have declared a conflict of interest in a project in this round: ask another \
         grants officer to open it or print its codes"
            .into(),
    )
}

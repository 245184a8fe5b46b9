//! DEMO DATA: participatory budgeting and the young people's section of the Local Offer. One
//! voting round in the first locality, open for a week more, on the applications there waiting
//! for a decision, with votes cast by codes handed out at an event (the public page shows the
//! turnout; the count is made once voting closes); a survey for young people; and young people's reviews of a listing, one
//! published and two waiting for the connector (one naming someone, so the flag shows).

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::budgeting::CheckedRound;
use earlyhelp_domain::money::ProgrammeKind;
use earlyhelp_domain::surveys::{QuestionInput, check_question};
use earlyhelp_storage::budgeting::{self, Cast};
use earlyhelp_storage::{Db, accounts, directory, gate, listing_reviews, payments, surveys};

pub const ROUND_TITLE: &str = "Your area, your choice";
pub const YOUNG_SURVEY_TITLE: &str = "What do you think of places for young people?";
/// Votes cast in the demo's round.
pub const VOTES: usize = 64;

pub async fn load(db: &Db) -> Result<()> {
    load_round(db).await?;
    load_young_people(db).await
}

async fn load_round(db: &Db) -> Result<()> {
    let locality = accounts::list_localities(db)
        .await?
        .into_iter()
        .next()
        .context("the demo has localities")?
        .slug;
    let mut authorised = gate::operator(
        db,
        "budgeting_rounds",
        Action::Create,
        "load the demo's voting round",
    )
    .await?;
    let programme = payments::programmes(&mut authorised.tx)
        .await?
        .into_iter()
        .find(|p| p.kind == ProgrammeKind::CommunityGrants.slug())
        .context("the demo's community grants programme is missing")?;
    let shortlist = budgeting::shortlist(&mut authorised.tx, programme.id, &locality).await?;
    let options: Vec<_> = shortlist.iter().take(6).map(|o| o.application_id).collect();
    anyhow::ensure!(
        options.len() >= 2,
        "the demo round needs two shortlisted applications"
    );
    let today = earlyhelp_storage::cases::today();
    let round = CheckedRound {
        title: ROUND_TITLE.into(),
        opens_on: today - time::Duration::days(21),
        closes_on: today + time::Duration::days(7),
        panel_weight: 40,
        choices: 3,
        options: options.clone(),
    };
    let id =
        budgeting::create_round(&mut authorised, programme.id, &locality, &round, "demo").await?;
    let codes = budgeting::event_codes(&mut authorised, id, VOTES as i64 + 16)
        .await?
        .context("the demo prints fewer codes than a round may have")?;
    authorised.tx.commit().await?;
    for (n, code) in codes.iter().take(VOTES).enumerate() {
        // Each voter chooses one to three projects; the later ones on the ballot are liked more.
        let chosen: Vec<_> = (0..options.len())
            .filter(|i| (n * 7 + i * 5) % 11 < 2 + i)
            .take(3)
            .map(|i| options[i])
            .collect();
        let chosen = if chosen.is_empty() {
            vec![options[n % options.len()]]
        } else {
            chosen
        };
        let cast = budgeting::cast(db, id, code, &chosen).await?;
        anyhow::ensure!(
            matches!(cast, Cast::Counted(_)),
            "demo vote refused: {cast:?}"
        );
    }
    Ok(())
}

async fn load_young_people(db: &Db) -> Result<()> {
    let mut authorised = gate::operator(
        db,
        "surveys",
        Action::Create,
        "load the demo's survey for young people",
    )
    .await?;
    let survey = surveys::create(
        &mut authorised,
        YOUNG_SURVEY_TITLE,
        "For 11 to 25 year olds. Three questions. We do not ask your name.",
        "demo",
    )
    .await?;
    for (kind, prompt, options) in [
        (
            "radios",
            "Is there somewhere near you where you can go and feel welcome?",
            "Yes\nNo\nNot sure",
        ),
        (
            "checkboxes",
            "What would you like more of?",
            "Free things to do\nSomeone to talk to\nHelp finding work or training\nSport\nPlaces to study",
        ),
        ("text", "What would make things better for you?", ""),
    ] {
        let input = QuestionInput {
            kind: kind.into(),
            prompt: prompt.into(),
            options: options.into(),
            indicator: String::new(),
            counted: String::new(),
        };
        let question = check_question(&input, &[])
            .map_err(|errors| anyhow::anyhow!("demo survey question: {errors:?}"))?;
        surveys::add_question(&mut authorised, survey, &question).await?;
    }
    surveys::set_state(&mut authorised, survey, "draft", "published").await?;
    surveys::set_for_young_people(&mut authorised, survey, true).await?;
    authorised.tx.commit().await?;

    // Reviews of the first listing in a locality for a 16 year old.
    let today = directory::today();
    let filter = directory::Filter {
        age: Some(16),
        once_per_service: true,
        ..directory::Filter::default()
    };
    let mut listing = None;
    for hit in directory::search(db, &filter, today).await? {
        let service = directory::load_service_brief(db, hit.id).await?;
        if service.is_some_and(|s| s.locality_slug.is_some()) {
            listing = Some(hit.id);
            break;
        }
    }
    let Some(listing) = listing else {
        return Ok(());
    };
    let day = earlyhelp_storage::cases::today();
    for (rating, words) in [
        (5, "Really friendly, and they helped me sort out college"),
        (4, "Good on Fridays, gets busy"),
        (2, "My name is Jordan and nobody rang me back"),
    ] {
        listing_reviews::submit(db, listing, rating, words, day).await?;
    }
    let mut authorised = gate::operator(
        db,
        "listing_reviews",
        Action::Update,
        "moderate the demo's reviews",
    )
    .await?;
    let localities: Vec<String> = accounts::list_localities(db)
        .await?
        .into_iter()
        .map(|l| l.slug)
        .collect();
    let waiting = listing_reviews::waiting(&mut authorised, &localities).await?;
    if let Some(first) = waiting.iter().find(|r| r.rating == 5) {
        listing_reviews::moderate(&mut authorised, first.id, true, &first.body, "demo").await?;
    }
    authorised.tx.commit().await?;
    Ok(())
}

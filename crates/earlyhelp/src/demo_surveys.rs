//! The demo's voice of children and families: one published survey of young people with
//! answers from every locality (a few too small to show, so suppression can be seen), free text
//! both waiting for a moderator and approved, and "you said, we did".

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::surveys::{
    AgeBand, EthnicGroup, QuestionInput, Response, YouSaid, check_question,
};
use earlyhelp_storage::{Db, accounts, gate, surveys};

pub const TITLE: &str = "Feeling safe and listened to";
/// Answers in the demo: enough in most localities to show their figures, not in the last two.
const ANSWERS: usize = 420;

/// What young people wrote; the one naming someone shows the moderator's flag.
const COMMENTS: [&str; 4] = [
    "More places to go after school that are free",
    "The path by the shops is dark and scary in winter",
    "My name is Sam and the youth club helped me a lot",
    "Buses that come on time so I can get to college",
];

pub async fn load(db: &Db) -> Result<()> {
    let localities: Vec<String> = accounts::list_localities(db)
        .await?
        .into_iter()
        .map(|l| l.slug)
        .collect();
    let mut authorised =
        gate::operator(db, "surveys", Action::Create, "load the demo's survey").await?;
    let survey = surveys::create(
        &mut authorised,
        TITLE,
        "Five questions for children and young people. We do not ask your name.",
        "demo",
    )
    .await?;
    let questions = [
        (
            "radios",
            "Do you feel safe where you live?",
            "Yes\nNo\nNot sure",
        ),
        (
            "scale",
            "How much do adults listen to you? (1 not at all, 5 a lot)",
            "",
        ),
        (
            "text",
            "What would make where you live better for young people?",
            "",
        ),
    ];
    for (kind, prompt, options) in questions {
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
    for (theme, said, did, locality) in [
        (
            "Somewhere to go",
            "Young people said there is nowhere free to go after school.",
            "Two youth clubs now open on Fridays until 9pm, free.",
            localities.first().cloned(),
        ),
        (
            "Being listened to",
            "Children said professionals talk to their parents, not to them.",
            "Every family plan now records what the child said, in their words.",
            None,
        ),
    ] {
        let entry = YouSaid {
            theme: theme.into(),
            said: said.into(),
            did: did.into(),
            done_on: earlyhelp_storage::cases::today() - time::Duration::days(40),
            locality,
            outcome: None,
        };
        surveys::add_you_said(&mut authorised, &entry, "demo").await?;
    }
    authorised.tx.commit().await?;

    let today = earlyhelp_storage::cases::today();
    // The last two localities get too few answers to show (fewer than 10).
    let answering = localities.len().saturating_sub(2).max(1);
    for n in 0..ANSWERS {
        let locality = if n < ANSWERS - 12 {
            localities.get(n % answering)
        } else {
            localities.get(answering + n % 2)
        };
        // Most feel safe; how many varies from place to place.
        let safe = (n * 37 + n / answering * 11) % 100 < 55 + (n % answering) * 4;
        let mut texts = Vec::new();
        if n % 60 == 0 {
            texts.push((2, COMMENTS[(n / 60) % COMMENTS.len()].to_string()));
        }
        let response = Response {
            age_band: AgeBand::ALL[1 + n % 3].slug().to_string(),
            locality: locality.cloned().unwrap_or_default(),
            ethnic_group: if n % 7 == 0 {
                String::new()
            } else {
                EthnicGroup::ALL[(n * 3) % EthnicGroup::ALL.len()]
                    .slug()
                    .to_string()
            },
            choices: vec![
                (0, if safe { "Yes" } else { "No" }.to_string()),
                (1, (1 + (n * 13) % 5).to_string()),
            ],
            texts,
        };
        surveys::submit(db, survey, &response, today).await?;
    }

    // The moderator has approved the comments naming no one; the rest wait.
    let mut authorised = gate::operator(
        db,
        "surveys",
        Action::Update,
        "moderate the demo's comments",
    )
    .await?;
    let waiting = surveys::waiting(&mut authorised).await?;
    for comment in waiting.iter().filter(|c| c.flags.is_empty()).skip(1) {
        surveys::moderate(&mut authorised, comment.id, true, &comment.body, "demo")
            .await
            .context("approving a demo comment")?;
    }
    authorised.tx.commit().await?;
    Ok(())
}

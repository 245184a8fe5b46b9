//! Surveys of children and families: a commissioner builds and publishes one, the public
//! answers it anonymously, free text waits for a moderator, results are suppressed below 10
//! answers and become indicator values; "you said, we did"; on both databases. And a young
//! person answering on a phone, in a real browser with axe-core.

use crate::cases::post_form;
use crate::helpers::*;
use earlyhelp_storage::Db;

crate::on_both_backends!(
    answers_are_anonymous_suppressed_below_ten_and_become_indicator_values,
    free_text_waits_for_a_moderator_who_takes_out_personal_details,
    only_commissioners_and_analysts_run_surveys_and_say_what_was_done,
    answers_from_one_address_are_limited_and_a_closed_survey_takes_none,
);

/// Rows of a query with no parameters or one text parameter, as strings, on either backend.
pub(crate) async fn strings(db: &Db, sql: &'static str, bind: &str) -> Vec<String> {
    let bind = bind.to_string();
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(bind.clone())
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

/// An indicator loaded by hand (not computed from the records), to link a question to.
pub async fn uploaded_indicator(db: &Db) -> String {
    earlyhelp_storage::outcomes::list_indicators(db)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.source == "uploaded")
        .expect("the demo has uploaded indicators")
        .reference
}

/// Builds and publishes a survey as `officer`: a question "Do you feel safe where you live?"
/// (Yes, No, Not sure) feeding `indicator` with "Yes", and a free-text question. Its id.
pub async fn published_survey(app: &TestApp, officer: &Session, indicator: &str) -> String {
    let created = post_form(
        officer,
        app,
        "/surveys",
        &[("title", "Feeling safe"), ("intro", "Five minutes.")],
    )
    .await;
    assert_eq!(created.status(), 303);
    let page = created.headers()["location"].to_str().unwrap().to_string();
    let id = page.trim_start_matches("/surveys/").to_string();
    let question = [
        ("kind", "radios"),
        ("prompt", "Do you feel safe where you live?"),
        ("options", "Yes\nNo\nNot sure"),
        ("indicator", indicator),
        ("counted", "Yes"),
    ];
    let added = post_form(officer, app, &format!("{page}/questions"), &question).await;
    assert_eq!(added.status(), 303);
    let text = [
        ("kind", "text"),
        ("prompt", "What would make your area better?"),
        ("options", ""),
        ("indicator", ""),
        ("counted", ""),
    ];
    assert_eq!(
        post_form(officer, app, &format!("{page}/questions"), &text)
            .await
            .status(),
        303
    );
    let published = post_form(officer, app, &format!("{page}/publish"), &[]).await;
    assert_eq!(published.status(), 303);
    id
}

/// Answers survey `id` as a member of the public in a fresh browser: the status.
async fn answer(app: &TestApp, id: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let browser = client();
    let form = browser
        .get(app.url(&format!("/have-your-say/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form);
    let mut pairs = vec![("csrf_token", csrf.as_str())];
    pairs.extend_from_slice(fields);
    browser
        .post(app.url(&format!("/have-your-say/{id}")))
        .form(&pairs)
        .send()
        .await
        .unwrap()
}

async fn answers_are_anonymous_suppressed_below_ten_and_become_indicator_values(backend: Backend) {
    let app = spawn_app(backend).await;
    let indicator = uploaded_indicator(&app.db).await;
    let commissioner = app.sign_in(COMMISSIONER).await;
    let id = published_survey(&app, &commissioner, &indicator).await;

    // No age band and no answer: the GOV.UK error summary names both fields.
    let refused = answer(&app, &id, &[("district", "not a postcode")]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    for field in ["q1", "age_band", "district"] {
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{field}: {html}"
        );
    }

    // Ladywood (B16): 12 answers, 8 "Yes". Perry Barr (B6): 4 answers, 1 "Yes".
    let sent = |district: &'static str, choice: &'static str| {
        vec![
            ("q1", choice),
            ("age_band", "11_to_15"),
            ("district", district),
        ]
    };
    let mut all = Vec::new();
    all.extend((0..8).map(|_| sent("B16", "Yes")));
    all.extend((0..4).map(|_| sent("b16", "No")));
    all.push(sent("B6", "Yes"));
    all.extend((0..3).map(|_| sent("B6", "Not sure")));
    for fields in &all {
        let thanks = answer(&app, &id, fields).await;
        assert_eq!(thanks.status(), 200);
        assert!(
            thanks
                .text()
                .await
                .unwrap()
                .contains("Your answers have been sent")
        );
    }

    // Anonymity: the table has no column that could point at a person, a session or a moment.
    let columns_sql = match backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY name",
        Backend::Postgres => {
            "SELECT column_name::TEXT FROM information_schema.columns WHERE table_name = $1 \
             ORDER BY column_name"
        }
    };
    let mut columns = strings(&app.db, columns_sql, "survey_responses").await;
    columns.sort();
    assert_eq!(
        columns,
        [
            "age_band",
            "answered_on",
            "ethnic_group",
            "id",
            "locality",
            "survey_id"
        ],
        "a response holds no user, session, address or time of day"
    );
    let days = strings(
        &app.db,
        "SELECT answered_on FROM survey_responses WHERE survey_id IN (SELECT id FROM surveys WHERE title <> $1) ORDER BY answered_on",
        earlyhelp::demo_surveys::TITLE,
    )
    .await;
    let today = earlyhelp_storage::cases::today().to_string();
    assert_eq!(days.len(), 16);
    assert!(
        days.iter().all(|d| *d == today),
        "coarsened to the day: {days:?}"
    );
    let localities = strings(
        &app.db,
        "SELECT DISTINCT locality FROM survey_responses WHERE survey_id IN (SELECT id FROM surveys WHERE title <> $1) ORDER BY locality",
        earlyhelp::demo_surveys::TITLE,
    )
    .await;
    assert_eq!(
        localities,
        ["ladywood", "perry-barr"],
        "only the locality of the district"
    );
    // Answering writes nothing to the audit log (an event would keep the moment and address).
    let public_events = strings(
        &app.db,
        "SELECT subject FROM audit_events WHERE actor = $1",
        "public",
    )
    .await;
    assert!(
        public_events.iter().all(|s| !s.contains("survey")),
        "{public_events:?}"
    );

    // The public results: Ladywood shown with its interval, Perry Barr (4) suppressed.
    let results = client()
        .get(app.url(&format!("/have-your-say/{id}/results")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(results.contains("16 people have answered"), "{results}");
    let row = |label: &str| {
        let start = results
            .find(&format!(">{label}</th>"))
            .unwrap_or_else(|| panic!("{label}"));
        results[start..].split("</tr>").next().unwrap().to_string()
    };
    let ladywood = row("Ladywood");
    assert!(
        ladywood.contains("<td class=\"govuk-table__cell\">12</td>"),
        "{ladywood}"
    );
    // 8 of 12: 67%, Wilson 95% from 39% to 86%.
    assert!(
        ladywood.contains("67%") && ladywood.contains("39% to 86%"),
        "{ladywood}"
    );
    let perry = row("Perry Barr");
    assert!(
        perry.contains("Fewer than 10") && !perry.contains("25%"),
        "{perry}"
    );
    assert!(perry.contains("Too few answers to compare"), "{perry}");
    assert!(
        results.contains("<svg role=\"img\""),
        "a chart beside its table"
    );

    let csv = client()
        .get(app.url(&format!("/have-your-say/{id}/results.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("Do you feel safe where you live?,Yes,locality,Ladywood,12,8,66.7,39.1,86.2"),
        "{csv}"
    );
    assert!(
        csv.contains("Yes,locality,Perry Barr,fewer than 10,,,,"),
        "{csv}"
    );

    // Indicator values: the city (9 of 16) and Ladywood (8 of 12); no value for Perry Barr.
    let loaded = post_form(
        &commissioner,
        &app,
        &format!("/surveys/{id}/indicators"),
        &[],
    )
    .await;
    assert_eq!(loaded.status(), 200);
    let period = &today[..7];
    let values = strings(
        &app.db,
        "SELECT area || '=' || CAST(ROUND(CAST(value AS NUMERIC), 2) AS TEXT) || '/' || \
         CAST(CAST(denominator AS INTEGER) AS TEXT) FROM indicator_values \
         WHERE current AND loaded_by LIKE 'survey:%' AND indicator_ref = $1 ORDER BY area",
        &indicator,
    )
    .await;
    assert_eq!(values, ["city=56.25/16", "ladywood=66.67/12"], "{period}");
    let periods = strings(
        &app.db,
        "SELECT DISTINCT period FROM indicator_values WHERE loaded_by LIKE 'survey:%' AND $1 <> ''",
        "x",
    )
    .await;
    assert_eq!(periods, [period.to_string()]);
}

async fn free_text_waits_for_a_moderator_who_takes_out_personal_details(backend: Backend) {
    let app = spawn_app(backend).await;
    let indicator = uploaded_indicator(&app.db).await;
    let analyst = app.sign_in(ANALYST).await;
    let id = published_survey(&app, &analyst, &indicator).await;
    let said = "My name is Jordan, ring 07700 900123. The park needs lights.";
    let thanks = answer(
        &app,
        &id,
        &[("q1", "Yes"), ("q2", said), ("age_band", "16_to_18")],
    )
    .await;
    assert_eq!(thanks.status(), 200);
    let results_path = format!("/have-your-say/{id}/results");
    let before = client()
        .get(app.url(&results_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !before.contains("Jordan") && !before.contains("lights"),
        "held back"
    );

    // The comment is kept apart from the response: no column links the two.
    let comment_columns = match backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1)",
        Backend::Postgres => {
            "SELECT column_name::TEXT FROM information_schema.columns WHERE table_name = $1"
        }
    };
    let columns = strings(&app.db, comment_columns, "survey_comments").await;
    assert!(
        !columns.iter().any(|c| c.contains("response")),
        "{columns:?}"
    );

    let queue = analyst
        .get(&app, "/surveys/moderation")
        .await
        .text()
        .await
        .unwrap();
    // The demo's comments wait too: this answer's card is the one holding its text.
    let card = queue
        .split("govuk-summary-card comment")
        .find(|card| card.contains("ring 07700"))
        .expect("the answer waits for moderation");
    assert!(
        card.contains("may contain a phone number; a name"),
        "{card}"
    );
    let comment = card
        .split("action=\"/surveys/moderation/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // A practitioner cannot moderate.
    let practitioner = app.sign_in(PRACTITIONER).await;
    let path = format!("/surveys/moderation/{comment}");
    let edited = [("decision", "approve"), ("body", "The park needs lights.")];
    assert_eq!(
        post_form(&practitioner, &app, &path, &edited)
            .await
            .status(),
        403
    );
    assert_eq!(
        post_form(&analyst, &app, &path, &edited).await.status(),
        303
    );
    let after = client()
        .get(app.url(&results_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(after.contains("The park needs lights."), "{after}");
    assert!(
        !after.contains("Jordan") && !after.contains("07700"),
        "{after}"
    );
    // Moderated once only.
    assert_eq!(
        post_form(&analyst, &app, &path, &edited).await.status(),
        409
    );
}

async fn only_commissioners_and_analysts_run_surveys_and_say_what_was_done(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let refused = post_form(&practitioner, &app, "/surveys", &[("title", "Mine")]).await;
    assert_eq!(refused.status(), 403);
    let audit = app.audit_of("surveys").await;
    assert!(
        audit
            .iter()
            .any(|(actor, action, outcome)| actor == PRACTITIONER
                && action == "update"
                && outcome == "denied"),
        "{audit:?}"
    );
    // Without the form's token, even a commissioner is refused.
    let commissioner = app.sign_in(COMMISSIONER).await;
    let no_token = commissioner
        .post(&app, "/surveys", &[("title", "Feeling safe")])
        .await;
    assert_eq!(no_token.status(), 403);
    // Signed out: the officers' pages ask to sign in.
    let anonymous = client().get(app.url("/surveys")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    // A draft is not public.
    let created = post_form(&commissioner, &app, "/surveys", &[("title", "Draft")]).await;
    let draft = created.headers()["location"]
        .to_str()
        .unwrap()
        .replace("/surveys/", "");
    let hidden = client()
        .get(app.url(&format!("/have-your-say/{draft}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);

    // You said, we did: a bad date is named; a good entry is public.
    let entry = |(day, month, year): (&'static str, &'static str, &'static str)| {
        vec![
            ("theme", "Safer streets"),
            ("said", "The park is too dark after school."),
            ("did", "Lights were put up along the path."),
            ("done_on-day", day),
            ("done_on-month", month),
            ("done_on-year", year),
            ("locality", "ladywood"),
            ("outcome", ""),
        ]
    };
    let bad = post_form(
        &commissioner,
        &app,
        "/you-said-we-did/new",
        &entry(("last", "week", "")),
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("href=\"#done_on\""));
    let practitioner_entry = post_form(
        &practitioner,
        &app,
        "/you-said-we-did/new",
        &entry(("30", "11", "2026")),
    )
    .await;
    assert_eq!(practitioner_entry.status(), 403);
    let saved = post_form(
        &commissioner,
        &app,
        "/you-said-we-did/new",
        &entry(("30", "11", "2026")),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let page = client()
        .get(app.url("/you-said-we-did"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Lights were put up along the path."),
        "{page}"
    );
    assert!(
        page.contains("Ladywood") && page.contains("30 November 2026"),
        "{page}"
    );
}

async fn answers_from_one_address_are_limited_and_a_closed_survey_takes_none(backend: Backend) {
    // One self-referral an hour: ten survey answers an hour (a class shares a school's address).
    let config = earlyhelp_web::Config {
        self_referrals_per_hour: 1,
        ..test_config()
    };
    let app = spawn_app_with(backend, config).await;
    let indicator = uploaded_indicator(&app.db).await;
    let commissioner = app.sign_in(COMMISSIONER).await;
    let id = published_survey(&app, &commissioner, &indicator).await;
    let fields = [("q1", "No"), ("age_band", "not_said")];
    for n in 0..10 {
        assert_eq!(answer(&app, &id, &fields).await.status(), 200, "answer {n}");
    }
    let limited = answer(&app, &id, &fields).await;
    assert_eq!(limited.status(), 429);
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .contains("Too many answers to surveys")
    );
    // A form sent back to correct costs nothing.
    assert_eq!(answer(&app, &id, &[("q1", "No")]).await.status(), 422);

    // Someone opens the form, and the survey closes before they send it.
    let late = client();
    let form = late
        .get(app.url(&format!("/have-your-say/{id}")))
        .send()
        .await
        .unwrap();
    let csrf = csrf_in(&form.text().await.unwrap());
    let closed = post_form(&commissioner, &app, &format!("/surveys/{id}/close"), &[]).await;
    assert_eq!(closed.status(), 303);
    let form = client()
        .get(app.url(&format!("/have-your-say/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 303, "a closed survey shows its results");
    let mut pairs = vec![("csrf_token", csrf.as_str())];
    pairs.extend_from_slice(&fields);
    let sent = late
        .post(app.url(&format!("/have-your-say/{id}")))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 409, "a closed survey takes no answers");
    let stored = strings(
        &app.db,
        "SELECT age_band FROM survey_responses WHERE survey_id IN (SELECT id FROM surveys WHERE title <> $1)",
        earlyhelp::demo_surveys::TITLE,
    )
    .await;
    assert_eq!(stored.len(), 10);
}

/// A young person answers a survey on a phone-sized window: the page passes axe-core, with
/// the error summary and after sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_person_answers_a_survey_on_a_phone() {
    use crate::browser::assert_accessible;
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let indicator = uploaded_indicator(&app.db).await;
    let commissioner = app.sign_in(COMMISSIONER).await;
    published_survey(&app, &commissioner, &indicator).await;
    let driver = &browser.driver;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    driver.goto(app.url("/have-your-say")).await.unwrap();
    browser.wait_for_heading("Have your say").await;
    assert_accessible(&browser, "have your say").await;
    browser.click(By::Css("#surveys a")).await;
    browser.wait_for_heading("Feeling safe").await;
    assert_accessible(&browser, "the survey").await;
    let width: i64 = driver
        .execute("return document.documentElement.scrollWidth;", Vec::new())
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(width <= 390, "no sideways scrolling on a phone: {width}");
    // Sent without an age band: the error summary, still accessible.
    browser.click(By::Css("label[for=q1]")).await;
    browser.click(By::Css("form button[type=submit]")).await;
    browser
        .wait_for_text(By::Css(".govuk-error-summary"), "Select your age")
        .await;
    assert_accessible(&browser, "the survey with errors").await;
    browser.click(By::Css("label[for=age_band-2]")).await;
    browser.fill(By::Id("district"), "B16").await;
    browser
        .fill(By::Id("q2"), "More things to do at weekends")
        .await;
    browser.click(By::Css("form button[type=submit]")).await;
    browser.wait_for_heading("Thank you").await;
    assert_accessible(&browser, "thank you").await;
    browser.screenshot("survey-answered-on-a-phone").await;
    browser.quit().await;
    let days = strings(
        &app.db,
        "SELECT age_band || ' ' || locality FROM survey_responses WHERE survey_id IN (SELECT id FROM surveys WHERE title <> $1)",
        earlyhelp::demo_surveys::TITLE,
    )
    .await;
    assert_eq!(days, ["11_to_15 ladywood"]);
}

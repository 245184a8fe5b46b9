//! Community grants on both databases: a group applies on the public form (bad input refused by
//! field, nothing kept), two assessors score, the grants officer awards within the budget, pays
//! a tranche, records a return and lists the project in the directory; a conflicted assessor is
//! kept out; each role sees only what it may.

use crate::helpers::*;
use crate::on_both_backends;
use earlyhelp_storage::Db;
use reqwest::header::LOCATION;

on_both_backends!(
    a_group_applies_two_assessors_score_and_the_officer_awards,
    a_conflicted_assessor_is_kept_out_and_each_role_sees_only_what_it_may,
    the_api_submits_scores_and_decides,
);

const OFFICER: &str = "grants@earlyhelp.test";
const ASSESSOR: &str = earlyhelp::demo_grants::ASSESSOR;

async fn scalar_i64(db: &Db, sql: &'static str, bind: &str) -> i64 {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn application_id(db: &Db, reference: &str) -> String {
    let sql = "SELECT id FROM grant_applications WHERE reference = $1";
    let id: uuid::Uuid = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(reference)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    id.to_string()
}

/// The demo's open community grants programme, from the public list.
async fn open_programme(app: &TestApp) -> String {
    let list = client().get(app.url("/grants/apply")).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let page = list.text().await.unwrap();
    let at = page
        .find("/grants/apply/")
        .expect("an open programme to apply to");
    page[at + "/grants/apply/".len()..][..36].to_string()
}

fn application<'a>(
    csrf: &'a str,
    company_number: &'a str,
    amount: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("organisation_type", "cic"),
        ("organisation_name", "Nechells Cook and Grow CIC"),
        ("company_number", company_number),
        ("contact_name", "Ada Obi"),
        ("contact_email", "ada@cookandgrow.example"),
        ("locality", "ladywood"),
        ("area_type", "LSOA"),
        ("area", "E01009123"),
        ("title", "Cook and grow"),
        (
            "activity",
            "Families grow vegetables and cook them together",
        ),
        ("families", "40"),
        ("amount", amount),
        ("charter", "yes"),
    ]
}

/// Sends a good application as the public; its id.
async fn apply(app: &TestApp, programme: &str) -> String {
    let public = client();
    let form_page = public
        .get(app.url(&format!("/grants/apply/{programme}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form_page);
    let sent = public
        .post(app.url(&format!("/grants/apply/{programme}")))
        .form(&application(&csrf, "12345678", "4,000"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let page = sent.text().await.unwrap();
    let (_, after) = page.split_once("id=\"reference\">").expect("a reference");
    let reference = after.split('<').next().unwrap();
    assert!(reference.starts_with("CG-"), "{reference}");
    application_id(&app.db, reference).await
}

fn scores<'a>(csrf: &'a str, values: [&'a str; 4]) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("score_0", values[0]),
        ("score_1", values[1]),
        ("score_2", values[2]),
        ("score_3", values[3]),
        ("comment", "Clear plan"),
    ]
}

async fn a_group_applies_two_assessors_score_and_the_officer_awards(backend: Backend) {
    let app = spawn_app(backend).await;
    let programme = open_programme(&app).await;
    let count = "SELECT COUNT(*) FROM grant_applications WHERE organisation_name = $1";
    let name = "Nechells Cook and Grow CIC";

    // Bad input: every problem named by field, nothing kept, what was typed kept on the form.
    let public = client();
    let page = public
        .get(app.url(&format!("/grants/apply/{programme}")))
        .send()
        .await
        .unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    let refused = public
        .post(app.url(&format!("/grants/apply/{programme}")))
        .form(&application(&csrf, "1234", "50,000"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("href=\"#company_number\""), "{body}");
    assert!(body.contains("href=\"#amount\""));
    assert!(body.contains("Cook and grow"), "what was typed stays");
    assert_eq!(scalar_i64(&app.db, count, name).await, 0);
    let forged = client()
        .post(app.url(&format!("/grants/apply/{programme}")))
        .form(&application("forged", "12345678", "4,000"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no form cookie, no application");

    let id = apply(&app, &programme).await;
    assert_eq!(scalar_i64(&app.db, count, name).await, 1);
    let identifier: String = {
        let sql =
            "SELECT organisation_identifier FROM grant_applications WHERE organisation_name = $1";
        earlyhelp_storage::on_pool!(&app.db, pool => {
            sqlx::query_scalar(sql)
                .bind(name)
                .fetch_one(pool)
                .await
                .unwrap()
        })
    };
    assert_eq!(identifier, "GB-COH-12345678");

    // The first assessor scores; others' scores stay hidden from them until they have.
    let assessor = app.sign_in(ASSESSOR).await;
    let list = assessor
        .get(&app, "/grants/applications")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&id), "the assessor lists it");
    let bad = assessor
        .post(
            &app,
            &format!("/grants/applications/{id}/score"),
            &scores(&assessor.csrf, ["5", "9", "", "1"]),
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("Score every criterion"));
    let scored = assessor
        .post(
            &app,
            &format!("/grants/applications/{id}/score"),
            &scores(&assessor.csrf, ["5", "4", "3", "4"]),
        )
        .await;
    assert_eq!(scored.status(), 303);

    // One assessor is not enough to decide.
    let officer = app.sign_in(OFFICER).await;
    let page = officer
        .get(&app, &format!("/grants/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"not-ready\""), "{page}");
    let award = |amount: &'static str| {
        let mut form = owned(&[
            ("csrf_token", officer.csrf.as_str()),
            ("outcome", "award"),
            ("amount", amount),
            ("tranches", "2"),
            ("reasons", "Strong on need and reach"),
        ]);
        form.extend(date_boxes("planned_start", &day(-100)));
        form.extend(date_boxes("planned_end", &day(265)));
        form
    };
    let early = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/decide"),
            &award("4000"),
        )
        .await;
    assert_eq!(early.status(), 409, "two assessors first");

    let officer_scores = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/score"),
            &scores(&officer.csrf, ["4", "4", "4", "4"]),
        )
        .await;
    assert_eq!(officer_scores.status(), 303);
    let page = officer
        .get(&app, &format!("/grants/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("mean total 16.0 of 20"),
        "(16 + 16) / 2: {page}"
    );

    // More than was asked is refused by field; the award commits the budget.
    let over = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/decide"),
            &award("4001"),
        )
        .await;
    assert_eq!(over.status(), 422);
    assert!(over.text().await.unwrap().contains("href=\"#amount\""));
    let before = scalar_i64(
        &app.db,
        "SELECT committed_pence FROM programmes WHERE name = $1",
        "Community Grants Programme",
    )
    .await;
    let decided = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/decide"),
            &award("3,500"),
        )
        .await;
    assert_eq!(decided.status(), 303);
    let after = scalar_i64(
        &app.db,
        "SELECT committed_pence FROM programmes WHERE name = $1",
        "Community Grants Programme",
    )
    .await;
    assert_eq!(after - before, 350_000);
    let told = "SELECT COUNT(*) FROM outbox WHERE to_address = $1";
    let mails = scalar_i64(&app.db, told, "ada@cookandgrow.example").await;
    assert_eq!(
        mails, 2,
        "the acknowledgement and the decision, through the outbox"
    );
    let again = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/decide"),
            &award("3,500"),
        )
        .await;
    assert_eq!(again.status(), 409, "decided once");

    // Tranches: two of £1,750, the first paid.
    let pay = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/tranches/pay"),
            &[
                ("csrf_token", officer.csrf.as_str()),
                ("paid_on", day(0).as_str()),
                ("number", "1"),
            ],
        )
        .await;
    assert_eq!(pay.status(), 303);
    let twice = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/tranches/pay"),
            &[
                ("csrf_token", officer.csrf.as_str()),
                ("paid_on", day(0).as_str()),
                ("number", "1"),
            ],
        )
        .await;
    assert_eq!(twice.status(), 409);

    // A return: a case study without the family's consent is refused and kept on the form.
    let return_form = |consent: &'static str| {
        let mut form = owned(&[
            ("csrf_token", officer.csrf.as_str()),
            ("families_supported", "31"),
            ("sessions", "12"),
            ("packs", "40"),
            (
                "case_study",
                "A father cooked for his children for the first time",
            ),
            ("case_study_consent", consent),
        ]);
        form.extend(date_boxes("period_end", &day(-1)));
        form
    };
    let no_consent = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/returns"),
            &return_form(""),
        )
        .await;
    assert_eq!(no_consent.status(), 422);
    assert!(
        no_consent
            .text()
            .await
            .unwrap()
            .contains("href=\"#case_study_consent\"")
    );
    let returned = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/returns"),
            &return_form("yes"),
        )
        .await;
    assert_eq!(returned.status(), 303);
    let page = officer
        .get(&app, &format!("/grants/applications/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("£1,750.00"), "{page}");
    assert!(page.contains("A father cooked"));

    // The funded project goes into the directory in one step.
    let listed = officer
        .post(
            &app,
            &format!("/grants/applications/{id}/directory"),
            &[("csrf_token", officer.csrf.as_str())],
        )
        .await;
    assert_eq!(listed.status(), 303);
    let service = listed.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(service.starts_with("/find-support/services/"), "{service}");
    let listing = client().get(app.url(&service)).send().await.unwrap();
    assert_eq!(listing.status(), 200);
    let listing = listing.text().await.unwrap();
    assert!(
        listing.contains("Cook and grow") && listing.contains(name),
        "{listing}"
    );

    // Who read and changed it is in the audit log.
    let events = app.audit_of(&format!("grant_application:{id}")).await;
    assert_eq!(
        events[0],
        ("public".into(), "create".into(), "allowed".into())
    );
    assert!(events.iter().any(|e| e.0 == OFFICER && e.1 == "update"));
}

async fn a_conflicted_assessor_is_kept_out_and_each_role_sees_only_what_it_may(backend: Backend) {
    let app = spawn_app(backend).await;
    let programme = open_programme(&app).await;
    let id = apply(&app, &programme).await;
    let path = format!("/grants/applications/{id}");

    let assessor = app.sign_in(ASSESSOR).await;
    let empty = assessor
        .post(
            &app,
            &format!("{path}/conflict"),
            &[("csrf_token", assessor.csrf.as_str()), ("conflict", "")],
        )
        .await;
    assert_eq!(empty.status(), 422);
    let declared = assessor
        .post(
            &app,
            &format!("{path}/conflict"),
            &[
                ("csrf_token", assessor.csrf.as_str()),
                ("conflict", "I am a trustee"),
            ],
        )
        .await;
    assert_eq!(declared.status(), 303);
    assert_eq!(
        assessor.get(&app, &path).await.status(),
        403,
        "kept out, and told why"
    );
    let score = assessor
        .post(
            &app,
            &format!("{path}/score"),
            &scores(&assessor.csrf, ["5", "5", "5", "5"]),
        )
        .await;
    assert_eq!(score.status(), 403);
    let list = assessor
        .get(&app, "/grants/applications")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("You declared a conflict"));
    assert!(!list.contains(&format!("href=\"{path}\"")), "no link to it");
    let refused = app.audit_of(&format!("grant_application:{id}")).await;
    assert!(
        refused.iter().any(|e| e.0 == ASSESSOR && e.2 == "denied"),
        "{refused:?}"
    );

    // Only assessors and grants officers list applications; only the officer decides.
    for (email, status) in [
        (earlyhelp::demo_cases::ERDINGTON_PRACTITIONER, 403),
        ("commissioner@earlyhelp.test", 403),
        ("admin@earlyhelp.test", 403),
        (OFFICER, 200),
    ] {
        let who = app.sign_in(email).await;
        assert_eq!(
            who.get(&app, "/grants/applications").await.status(),
            status,
            "{email}"
        );
    }
    let other = app.sign_in(OFFICER).await;
    assert_eq!(other.get(&app, &path).await.status(), 200);
    let practitioner = app
        .sign_in(earlyhelp::demo_cases::ERDINGTON_PRACTITIONER)
        .await;
    assert_eq!(practitioner.get(&app, &path).await.status(), 404);
    let signed_out = client().get(app.url(&path)).send().await.unwrap();
    assert_eq!(signed_out.status(), 303, "to sign in");
}

fn day(offset: i64) -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(offset);
    earlyhelp_domain::cases::iso(date)
}

/// The journey in a real browser, checked with axe-core at each step: a group applies (and
/// corrects a mistake), two assessors score, the grants officer awards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_applies_and_is_awarded_in_a_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let driver = &browser.driver;
    driver.goto(app.url("/grants/apply")).await.unwrap();
    browser
        .wait_for_heading("Apply for a community grant")
        .await;
    assert_accessible(&browser, "the open grants programmes").await;
    browser
        .click(By::LinkText("Apply to Community Grants Programme"))
        .await;
    browser
        .wait_for_heading("Apply for a community grant")
        .await;
    assert_accessible(&browser, "the application form").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("the error summary");
    assert_accessible(&browser, "the application form with errors").await;
    browser
        .click(By::Css("input[name=organisation_type][value=charity]"))
        .await;
    browser
        .fill(By::Id("organisation_name"), "Aston Pantry Trust")
        .await;
    browser.fill(By::Id("charity_number"), "1187654").await;
    browser.fill(By::Id("contact_name"), "Sam Patel").await;
    browser
        .fill(By::Id("contact_email"), "sam@astonpantry.example")
        .await;
    browser.click(By::Id("charter")).await;
    browser.fill(By::Id("title"), "Pantry and cook club").await;
    browser
        .fill(
            By::Id("activity"),
            "A weekly pantry and a cook club for parents",
        )
        .await;
    browser.fill(By::Id("families"), "60").await;
    browser.fill(By::Id("amount"), "5000").await;
    driver
        .find(By::Id("locality"))
        .await
        .unwrap()
        .find(By::XPath("./option[@value='ladywood']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .click(By::Css("input[name=area_type][value=LSOA]"))
        .await;
    browser.fill(By::Id("area"), "E01009123").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .wait_for_text(By::ClassName("govuk-panel__title"), "Application sent")
        .await;
    assert_accessible(&browser, "the application sent").await;
    browser.screenshot("grants-application-sent").await;
    let reference = driver
        .find(By::Id("reference"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = application_id(&app.db, &reference).await;

    for (email, values) in [
        (ASSESSOR, ["4", "5", "3", "4"]),
        (OFFICER, ["5", "4", "4", "4"]),
    ] {
        sign_in(&browser, &app, email).await;
        browser.click(By::LinkText("Grants")).await;
        browser
            .wait_for_heading("Community grant applications")
            .await;
        assert_accessible(&browser, "the applications").await;
        browser.click(By::LinkText(&reference)).await;
        browser.wait_for_heading("Pantry and cook club").await;
        for (i, value) in values.iter().enumerate() {
            browser.fill(By::Id(format!("score_{i}")), value).await;
        }
        browser.click(By::Id("save-scores")).await;
        browser.wait_for_heading("Pantry and cook club").await;
        assert_accessible(&browser, "the application, scored").await;
        if email == ASSESSOR {
            browser.click(By::Css(".eh-masthead form button")).await;
            browser.wait_for_heading("Sign in to earlyhelp").await;
        }
    }
    browser.click(By::Id("outcome")).await;
    browser.fill(By::Id("amount"), "4500").await;
    browser.fill(By::Id("tranches"), "2").await;
    for (name, iso) in [("planned_start", day(10)), ("planned_end", day(375))] {
        for (id, value) in date_boxes(name, &iso) {
            browser.fill(By::Id(&id), &value).await;
        }
    }
    browser
        .fill(By::Id("reasons"), "Strong on need; funded at £4,500")
        .await;
    browser.click(By::Id("save-decision")).await;
    browser
        .wait_for_text(By::Id("application-state"), "Awarded")
        .await;
    assert_accessible(&browser, "the award with its tranches").await;
    browser.screenshot("grants-awarded").await;
    assert!(driver.current_url().await.unwrap().as_str().ends_with(&id));
}

async fn the_api_submits_scores_and_decides(backend: Backend) {
    let app = spawn_app(backend).await;
    let programme = open_programme(&app).await;
    let path = format!("/api/grants/programmes/{programme}/applications");
    let body = |company: &str| {
        serde_json::json!({
            "organisation_type": "company", "organisation_name": "Aston Kitchen Ltd",
            "company_number": company, "contact_name": "Lee", "contact_email": "lee@kitchen.example",
            "locality": "ladywood", "area_type": "WD", "area": "E05011121", "title": "Kitchen club",
            "activity": "Cooking on a budget", "families": 25, "amount_pence": 300_000, "charter": false
        })
    };
    let bad = client()
        .post(app.url(&path))
        .json(&body("12"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let problems: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(
        problems["problems"][0]["field"], "company_number",
        "{problems}"
    );
    let sent = client()
        .post(app.url(&path))
        .json(&body("SC123456"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let reference: serde_json::Value = sent.json().await.unwrap();
    let id = application_id(&app.db, reference["reference"].as_str().unwrap()).await;

    let post = |who: &Session, path: String, body: serde_json::Value| {
        who.client
            .post(app.url(&path))
            .header("x-csrf-token", &who.csrf)
            .json(&body)
            .send()
    };
    let assessor = app.sign_in(ASSESSOR).await;
    let officer = app.sign_in(OFFICER).await;
    let scores = format!("/api/grants/applications/{id}/scores");
    let wrong = post(
        &assessor,
        scores.clone(),
        serde_json::json!({"scores": [5, 5]}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 422, "one score per criterion");
    for who in [&assessor, &officer] {
        let done = post(
            who,
            scores.clone(),
            serde_json::json!({"scores": [4, 4, 3, 5]}),
        )
        .await
        .unwrap();
        assert_eq!(done.status(), 200);
    }
    let read: serde_json::Value = assessor
        .get(&app, &format!("/api/grants/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["scores"].as_array().unwrap().len(),
        8,
        "two assessors, four criteria"
    );
    let decision = format!("/api/grants/applications/{id}/decision");
    let decline =
        serde_json::json!({"outcome": "decline", "reasons": "Outside this round's priorities"});
    let not_theirs = post(&assessor, decision.clone(), decline.clone())
        .await
        .unwrap();
    assert_eq!(not_theirs.status(), 404, "assessors do not decide");
    let declined = post(&officer, decision.clone(), decline.clone())
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    let again = post(&officer, decision, decline).await.unwrap();
    assert_eq!(again.status(), 409);
    let spec: serde_json::Value = client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/grants/applications/{id}/decision"].is_object());
}

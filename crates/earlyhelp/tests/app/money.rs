//! Money: programmes, payments to families, four eyes on approval, budgets under concurrent
//! approvals, the duplicate check, access by role, and the API, on both databases.

use crate::helpers::*;
use crate::hostile::ladywood_family;
use crate::on_both_backends;
use earlyhelp::demo_cases::{ERDINGTON_LEAD, ERDINGTON_PRACTITIONER};
use earlyhelp_storage::Db;
use reqwest::header::LOCATION;

on_both_backends!(
    twenty_simultaneous_approvals_never_overspend_a_budget_for_ten,
    a_requester_cannot_approve_their_own_payment,
    bad_amounts_are_refused_naming_the_field,
    each_role_sees_only_what_it_may_and_refusals_are_audited,
    a_likely_duplicate_is_shown_with_its_explanation,
    the_api_asks_approves_and_pays_with_409_for_a_step_not_allowed,
);

/// Runs a query built by `$query` (once per backend, as each binds its own types) for one row.
macro_rules! one {
    ($db:expr, $query:expr) => {
        earlyhelp_storage::on_pool!($db, pool => $query.fetch_one(pool).await.unwrap())
    };
}

fn uuid(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id).unwrap()
}

async fn programme_id(db: &Db, name: &str) -> String {
    let sql = "SELECT id FROM programmes WHERE name = $1";
    let id: uuid::Uuid = one!(db, sqlx::query_scalar(sql).bind(name));
    id.to_string()
}

async fn payment_text(db: &Db, column: &str, payment: &str) -> String {
    let sql = match column {
        "state" => "SELECT state FROM payments WHERE id = $1",
        _ => "SELECT reference FROM payments WHERE id = $1",
    };
    one!(db, sqlx::query_scalar(sql).bind(uuid(payment)))
}

async fn number(db: &Db, sql: &'static str, bind: &str) -> i64 {
    one!(db, sqlx::query_scalar(sql).bind(bind))
}

fn day(offset: i64) -> String {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(offset);
    earlyhelp_domain::cases::iso(date)
}

/// Adds an open programme for families through the page, as the grants officer; its id.
async fn programme(
    app: &TestApp,
    officer: &Session,
    name: &str,
    budget: &str,
    cap: &str,
) -> String {
    let mut form = owned(&[
        ("csrf_token", officer.csrf.as_str()),
        ("name", name),
        ("kind", "family_payments"),
        ("funder", "City Council"),
        ("budget", budget),
        ("cap", cap),
        ("threshold", ""),
        ("identifier_prefix", "360G-earlyhelp"),
        ("regrant_type", "FRG010"),
        ("crisis", "yes"),
    ]);
    form.extend(date_boxes("opens_on", &day(-1)));
    form.extend(date_boxes("closes_on", &day(30)));
    let response = officer.post(app, "/programmes", &form).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    programme_id(&app.db, name).await
}

/// Asks for a payment for `family` through the page; the response.
async fn ask(
    app: &TestApp,
    who: &Session,
    family: &str,
    programme: &str,
    amount: &str,
) -> reqwest::Response {
    let form = [
        ("csrf_token", who.csrf.as_str()),
        ("programme", programme),
        ("amount", amount),
        ("purposes", "GTIP070"),
        ("purposes", "GTIP050"),
        ("reason", "GTIR010"),
        ("notes", "The gas meter is empty"),
    ];
    who.post(app, &format!("/families/{family}/payments/new"), &form)
        .await
}

/// Asks for a payment that must be made; its id.
async fn asked(
    app: &TestApp,
    who: &Session,
    family: &str,
    programme: &str,
    amount: &str,
) -> String {
    let response = ask(app, who, family, programme, amount).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let to = response.headers()[LOCATION].to_str().unwrap().to_string();
    to.trim_start_matches("/payments/").to_string()
}

async fn approve(app: &TestApp, who: &Session, payment: &str) -> reqwest::Response {
    let form = [("csrf_token", who.csrf.as_str())];
    who.post(app, &format!("/payments/{payment}/approve"), &form)
        .await
}

async fn twenty_simultaneous_approvals_never_overspend_a_budget_for_ten(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family = ladywood_family(&app.db).await;
    let programme = programme(&app, &officer, "Ten payments", "100", "10").await;
    let mut payments = Vec::new();
    for _ in 0..20 {
        payments.push(asked(&app, &lead, &family, &programme, "10").await);
    }
    let mut approvals = Vec::new();
    for payment in payments {
        let client = officer.client.clone();
        let (url, csrf) = (
            app.url(&format!("/payments/{payment}/approve")),
            officer.csrf.clone(),
        );
        approvals.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .form(&[("csrf_token", csrf)])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }));
    }
    let mut statuses = Vec::new();
    for approval in approvals {
        let (status, body) = approval.await.unwrap();
        if status == 422 {
            assert!(body.contains("The programme has only £0.00 left"), "{body}");
            assert!(
                body.contains("href=\"#amount\""),
                "the refusal names the field"
            );
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, [vec![303; 10], vec![422; 10]].concat());
    let approved = "SELECT COUNT(*) FROM payments WHERE programme_id = (SELECT id FROM programmes WHERE name = $1) AND state = 'approved'";
    assert_eq!(number(&app.db, approved, "Ten payments").await, 10);
    let committed = "SELECT committed_pence FROM programmes WHERE name = $1";
    assert_eq!(number(&app.db, committed, "Ten payments").await, 10_000);
}

async fn a_requester_cannot_approve_their_own_payment(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family = ladywood_family(&app.db).await;
    let programme = programme(&app, &officer, "Own", "1000", "50").await;
    // At or below the threshold the locality's lead may approve, but not what they asked for.
    let payment = asked(&app, &lead, &family, &programme, "50").await;
    let page = lead.get(&app, &format!("/payments/{payment}")).await;
    assert_eq!(page.status(), 200, "the requester sees it");
    assert!(!page.text().await.unwrap().contains("id=\"approve\""));
    assert_eq!(approve(&app, &lead, &payment).await.status(), 403);
    let refusals = app.audit_of(&format!("family:{family}")).await;
    assert!(
        refusals
            .iter()
            .any(|(actor, action, outcome)| actor == LOCALITY_LEAD
                && action == "update"
                && outcome == "denied"),
        "{refusals:?}"
    );
    // A grants officer's own request goes to another grants officer or the lead, not them.
    assert_eq!(payment_text(&app.db, "state", &payment).await, "requested");
    assert_eq!(approve(&app, &officer, &payment).await.status(), 303);
    assert_eq!(payment_text(&app.db, "state", &payment).await, "approved");
}

async fn bad_amounts_are_refused_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family = ladywood_family(&app.db).await;
    let programme = programme(&app, &officer, "Small", "200", "150").await;
    let first = asked(&app, &lead, &family, &programme, "150").await;
    assert_eq!(approve(&app, &officer, &first).await.status(), 303);
    for (amount, says) in [
        ("0", "more than £0"),
        ("-5", "more than £0"),
        ("ten", "Enter an amount"),
        ("151", "£150.00 or less"),
        ("60", "programme has left (£50.00)"),
    ] {
        let response = ask(&app, &lead, &family, &programme, amount).await;
        assert_eq!(response.status(), 422, "{amount}");
        let page = response.text().await.unwrap();
        assert!(page.contains("href=\"#amount\""), "{amount}");
        assert!(page.contains(says), "{amount}: {says}");
        assert!(
            page.contains(&format!("value=\"{amount}\"")),
            "what was typed is kept"
        );
    }
    // The API says the same by field.
    let response = lead
        .client
        .post(app.url("/api/payments"))
        .header("x-csrf-token", &lead.csrf)
        .json(&serde_json::json!({
            "family_id": family, "programme_id": programme, "amount_pence": -100,
            "purposes": ["GTIP999"], "reason": ""
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    for field in ["amount", "purposes", "reason"] {
        assert!(body.contains(&format!("\"{field}\"")), "{field} in {body}");
    }
}

async fn each_role_sees_only_what_it_may_and_refusals_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let sql = "SELECT f.id FROM families f JOIN users u ON u.id = f.lead_practitioner \
               WHERE u.email = $1 AND f.state = 'open' ORDER BY f.id LIMIT 1";
    let family: uuid::Uuid = one!(&app.db, sqlx::query_scalar(sql).bind(PRACTITIONER));
    let family = family.to_string();
    let programme = programme(&app, &officer, "Access", "1000", "150").await;
    let payment = asked(&app, &practitioner, &family, &programme, "120").await;
    let payment_page = format!("/payments/{payment}");

    // The grants officer sees the payment and the queue, never the case.
    assert_eq!(officer.get(&app, &payment_page).await.status(), 200);
    let queue = officer.get(&app, "/payments").await.text().await.unwrap();
    assert!(
        queue.contains(&payment) && queue.contains("Crisis: 4"),
        "the 48-hour clock"
    );
    assert!(
        queue.contains("href=\"/payments\""),
        "Payments is in their menu"
    );
    assert_eq!(
        officer
            .get(&app, &format!("/families/{family}"))
            .await
            .status(),
        404
    );

    // Above the threshold (£100) the lead of the locality, who sees it, may not approve it.
    assert_eq!(lead.get(&app, &payment_page).await.status(), 200);
    assert_eq!(approve(&app, &lead, &payment).await.status(), 403);

    for who in [
        ERDINGTON_PRACTITIONER,
        ERDINGTON_LEAD,
        VCS_WORKER,
        COMMISSIONER,
        ANALYST,
    ] {
        let session = app.sign_in(who).await;
        assert_eq!(
            session.get(&app, &payment_page).await.status(),
            404,
            "{who}"
        );
        assert_eq!(
            approve(&app, &session, &payment).await.status(),
            404,
            "{who}"
        );
        let queue = session.get(&app, "/payments").await;
        assert_eq!(queue.status(), 403, "{who}");
        let home = session.get(&app, "/").await.text().await.unwrap();
        assert!(
            !home.contains("href=\"/payments\""),
            "{who} has no Payments in the menu"
        );
    }
    let events = app.audit_of(&format!("family:{family}")).await;
    for who in [ERDINGTON_PRACTITIONER, VCS_WORKER, COMMISSIONER] {
        let denied = events
            .iter()
            .filter(|(actor, _, outcome)| actor == who && outcome == "denied")
            .count();
        assert_eq!(
            denied, 2,
            "{who}'s read and approval are audited: {events:?}"
        );
    }
    let queue_refusals = app.audit_of("payments").await;
    assert!(
        queue_refusals
            .iter()
            .any(|(a, _, o)| a == COMMISSIONER && o == "denied")
    );

    // Commissioners see spend by programme and locality, and no family.
    assert_eq!(approve(&app, &officer, &payment).await.status(), 303);
    let spend = app
        .sign_in(COMMISSIONER)
        .await
        .get(&app, "/programmes")
        .await;
    assert_eq!(spend.status(), 200);
    let spend = spend.text().await.unwrap();
    assert!(spend.contains("Access") && spend.contains("Ladywood") && spend.contains("£120.00"));
    assert!(!spend.contains(&family) && !spend.contains(&payment));
    assert!(
        !spend.contains("Add the programme"),
        "only grants officers add programmes"
    );
    let commissioner = app.sign_in(COMMISSIONER).await;
    let form = [
        ("csrf_token", commissioner.csrf.as_str()),
        ("name", "Not theirs"),
        ("kind", "family_payments"),
        ("funder", "City Council"),
        ("budget", "100"),
        ("opens_on-day", "1"),
        ("opens_on-month", "1"),
        ("opens_on-year", "2026"),
        ("closes_on-day", "31"),
        ("closes_on-month", "12"),
        ("closes_on-year", "2026"),
        ("cap", "10"),
        ("identifier_prefix", "360G-earlyhelp"),
    ];
    let add = commissioner.post(&app, "/programmes", &form).await;
    assert_eq!(add.status(), 403, "only grants officers add programmes");
    // The family's page shows the payment to its team.
    let family_page = practitioner
        .get(&app, &format!("/families/{family}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(family_page.contains("id=\"payments-table\"") && family_page.contains("£120.00"));
}

async fn a_likely_duplicate_is_shown_with_its_explanation(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let family = ladywood_family(&app.db).await;
    let sql =
        "SELECT id FROM families WHERE locality_slug = $1 AND state = 'open' ORDER BY id LIMIT 1";
    let elsewhere: uuid::Uuid = one!(&app.db, sqlx::query_scalar(sql).bind("erdington"));
    let elsewhere = elsewhere.to_string();
    // The same mother, recorded again in Erdington at another address.
    let sql = "SELECT given_name, family_name, date_of_birth FROM family_members \
               WHERE family_id = $1 ORDER BY date_of_birth LIMIT 1";
    let (given, surname, born): (String, String, String) =
        one!(&app.db, sqlx::query_as(sql).bind(uuid(&family)));
    let copy = "UPDATE family_members SET given_name = $1, family_name = $2, date_of_birth = $3 \
                WHERE id = (SELECT id FROM family_members WHERE family_id = $4 ORDER BY date_of_birth LIMIT 1) \
                RETURNING id";
    let _: uuid::Uuid = one!(
        &app.db,
        sqlx::query_scalar(copy)
            .bind(&given)
            .bind(&surname)
            .bind(&born)
            .bind(uuid(&elsewhere))
    );
    let programme = programme(&app, &officer, "Twice", "1000", "150").await;
    let erdington = app.sign_in(ERDINGTON_LEAD).await;
    let first = asked(&app, &erdington, &elsewhere, &programme, "100").await;
    let reference = payment_text(&app.db, "reference", &first).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let second = asked(&app, &lead, &family, &programme, "100").await;
    let page = officer
        .get(&app, &format!("/payments/{second}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Likely duplicate"), "{page}");
    assert!(page.contains(&reference) && page.contains("Erdington"));
    assert!(page.contains(&format!("{given} {surname} ({born})")));
    assert!(page.contains("date of birth") && page.contains("exact"));
    // Either way round.
    let first_page = officer
        .get(&app, &format!("/payments/{first}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(first_page.contains("Likely duplicate") && first_page.contains("Ladywood"));
    // The requester is not shown the check (it reads other households).
    let own = lead
        .get(&app, &format!("/payments/{second}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!own.contains("Likely duplicate") && !own.contains(&reference));
}

async fn the_api_asks_approves_and_pays_with_409_for_a_step_not_allowed(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family = ladywood_family(&app.db).await;
    let post = |who: &Session, path: &str, body: serde_json::Value| {
        who.client
            .post(app.url(path))
            .header("x-csrf-token", &who.csrf)
            .json(&body)
            .send()
    };
    let created = post(
        &officer,
        "/api/programmes",
        serde_json::json!({
            "name": "API fund", "kind": "family_payments", "funder": "City Council",
            "budget_pence": 50_000, "locality_budgets_pence": {"ladywood": 20_000},
            "opens_on": day(-1), "closes_on": day(10), "cap_pence": 15_000,
            "identifier_prefix": "360G-earlyhelp", "crisis": false
        }),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let programme: serde_json::Value = created.json().await.unwrap();
    let bad = post(&lead, "/api/programmes", serde_json::json!({"name": "x"}))
        .await
        .unwrap();
    assert_eq!(bad.status(), 403, "only grants officers add programmes");
    let asked = post(
        &lead,
        "/api/payments",
        serde_json::json!({
            "family_id": family, "programme_id": programme["id"], "amount_pence": 13_300,
            "purposes": ["GTIP070"], "reason": "GTIR010"
        }),
    )
    .await
    .unwrap();
    assert_eq!(asked.status(), 201);
    let id = asked.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pay = serde_json::json!({"method": "voucher", "voucher_provider": "PayPoint", "voucher_code": "PP-1", "paid_on": day(0)});
    let early = post(&officer, &format!("/api/payments/{id}/pay"), pay.clone())
        .await
        .unwrap();
    assert_eq!(early.status(), 409, "not approved yet");
    let own = post(
        &lead,
        &format!("/api/payments/{id}/approve"),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(own.status(), 403);
    let view: serde_json::Value = officer
        .get(&app, &format!("/api/payments/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        view["allowed_steps"],
        serde_json::json!(["approve", "refuse"])
    );
    assert!(view["duplicates"].is_array());
    let approved = post(
        &officer,
        &format!("/api/payments/{id}/approve"),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(approved.status(), 200);
    let again = post(
        &officer,
        &format!("/api/payments/{id}/approve"),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 409);
    let future = serde_json::json!({"method": "bank_transfer", "paid_on": day(3)});
    let refused = post(&officer, &format!("/api/payments/{id}/pay"), future)
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("paid_on"));
    let paid = post(&officer, &format!("/api/payments/{id}/pay"), pay)
        .await
        .unwrap();
    assert_eq!(
        paid.json::<serde_json::Value>().await.unwrap()["state"],
        "paid"
    );
    let nobody = app.sign_in(VCS_WORKER).await;
    assert_eq!(
        nobody
            .get(&app, &format!("/api/payments/{id}"))
            .await
            .status(),
        404
    );
    let spec = app
        .sign_in(ADMIN)
        .await
        .get(&app, "/api/openapi.json")
        .await
        .text()
        .await
        .unwrap();
    for path in [
        "/api/programmes",
        "/api/payments",
        "/api/payments/{id}/approve",
        "/api/payments/{id}/pay",
    ] {
        assert!(
            spec.contains(&format!("\"{path}\"")),
            "{path} in the OpenAPI description"
        );
    }
    let budget = "SELECT b.committed_pence FROM programme_budgets b JOIN programmes p ON p.id = b.programme_id \
                  WHERE p.name = 'API fund' AND b.locality_slug = $1";
    assert_eq!(number(&app.db, budget, "ladywood").await, 13_300);
}

/// In a real browser, every page checked by axe-core: a practitioner asks for a payment from
/// the demo's resilience fund, the grants officer approves and pays it from the queue, and
/// the family's page shows it paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practitioner_asks_and_a_grants_officer_approves_and_pays_in_a_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let sql = "SELECT f.id FROM families f JOIN users u ON u.id = f.lead_practitioner \
               WHERE u.email = $1 AND f.state = 'open' ORDER BY f.id LIMIT 1";
    let family: uuid::Uuid = one!(&app.db, sqlx::query_scalar(sql).bind(PRACTITIONER));
    let driver = &browser.driver;

    sign_in(&browser, &app, PRACTITIONER).await;
    driver
        .goto(app.url(&format!("/families/{family}#payments")))
        .await
        .unwrap();
    browser.wait_for_heading("Family case").await;
    browser.click(By::Id("ask-for-payment")).await;
    browser.wait_for_heading("Ask for a payment").await;
    assert_accessible(&browser, "the payment form").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("the error summary");
    assert_accessible(&browser, "the payment form with errors").await;
    browser
        .click(By::XPath(
            "//label[starts-with(normalize-space(.), 'Resilience Fund')]",
        ))
        .await;
    browser.fill(By::Id("amount"), "120").await;
    browser
        .click(By::Css("input[name=purposes][value=GTIP070]"))
        .await;
    driver
        .find(By::Id("reason"))
        .await
        .unwrap()
        .find(By::XPath("./option[@value='GTIR010']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .wait_for_heading("£120.00 from Resilience Fund")
        .await;
    assert_accessible(&browser, "the payment as its requester sees it").await;
    let payment = driver.current_url().await.unwrap().to_string();
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    sign_in(&browser, &app, GRANTS_OFFICER).await;
    browser.click(By::LinkText("Payments")).await;
    browser.wait_for_heading("Payments").await;
    assert_accessible(&browser, "the payments queue").await;
    browser.screenshot("payments-queue").await;
    driver.goto(&payment).await.unwrap();
    browser
        .wait_for_heading("£120.00 from Resilience Fund")
        .await;
    browser
        .wait_for_text(By::Id("duplicates"), "Duplicate check")
        .await;
    assert_accessible(&browser, "the payment with its duplicate check").await;
    browser.click(By::Id("approve")).await;
    browser
        .wait_for_text(By::Id("payment-state"), "Approved, to pay")
        .await;
    browser
        .click(By::Css("input[name=method][value=bank_transfer]"))
        .await;
    browser.click(By::Id("pay")).await;
    browser.wait_for_text(By::Id("payment-state"), "Paid").await;
    assert_accessible(&browser, "the paid payment").await;
    browser.screenshot("payment-paid").await;
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    sign_in(&browser, &app, PRACTITIONER).await;
    driver
        .goto(app.url(&format!("/families/{family}#payments")))
        .await
        .unwrap();
    browser
        .wait_for_text(By::Id("payments-table"), "Paid")
        .await;
    assert_accessible(&browser, "the family page with its payment").await;
    browser.quit().await;
}

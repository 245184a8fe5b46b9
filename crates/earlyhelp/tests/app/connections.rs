//! Connections: a practitioner refers a family to a community service, the service answers
//! and closes the loop, and the family's team sees the outcome; who sees what, on both databases.

use crate::cases::{amira, open_case, post_form, send, token};
use crate::helpers::*;
use earlyhelp::demo_cases::ERDINGTON_PRACTITIONER;
use earlyhelp_storage::Db;
use serde_json::{Value, json};

crate::on_both_backends!(
    a_referral_goes_to_the_service_and_comes_back_with_an_outcome,
    unanswered_referrals_expire_and_withdrawn_consent_cancels,
    a_service_shows_its_replies_from_five_referrals,
    the_referrals_api,
    an_organisation_sets_how_long_referrals_wait,
    the_dashboard_counts_what_the_referrals_hold,
    triage_to_community_support_goes_on_to_find_a_service,
    the_database_files_each_referral_in_the_inbox_part_its_state_says,
);

/// Refers `family` to `service` as the practitioner, sharing the first member offered;
/// answers the referral's page.
pub async fn refer(app: &TestApp, practitioner: &Session, family: &str, service: &str) -> String {
    let form_path = format!("/families/{family}/connect/{service}");
    let form = practitioner
        .get(app, &form_path)
        .await
        .text()
        .await
        .unwrap();
    let member = members_offered(&form)[0].0.clone();
    let response = post_form(
        practitioner,
        app,
        &form_path,
        &[
            ("not_safeguarding", "yes"),
            ("members", &member),
            ("why", "Food runs out at the end of the month"),
            ("contact_method", "phone"),
            ("basis", "consent"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn state_of(app: &TestApp, session: &Session, referral: &str) -> String {
    let html = session.get(app, referral).await.text().await.unwrap();
    let tag = &html[html.find("id=\"referral-state\">").unwrap() + 20..];
    tag[..tag.find('<').unwrap()].to_string()
}

async fn unanswered_referrals_expire_and_withdrawn_consent_cancels(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let service = vcs_service(&app.db).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let referral = refer(&app, &practitioner, &family, &service).await;
    // The clock is the test's: 13 days on, not this one (the demo's older ones, yes); 15 days
    // on, it expires.
    let now = earlyhelp_storage::now_micros();
    let day = 86_400_000_000;
    // Reminders to the service after 3 and 10 days, once each.
    let nudge = |at| earlyhelp_storage::connections::nudge_due(&app.db, at);
    let id = referral.trim_start_matches("/referrals/").to_string();
    let reminders = || async {
        earlyhelp_storage::outbox::recent(&app.db, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.subject.contains("still waiting") && m.link.ends_with(&id))
            .count()
    };
    nudge(now + 2 * day).await.unwrap();
    assert_eq!(reminders().await, 0);
    nudge(now + 4 * day).await.unwrap();
    nudge(now + 5 * day).await.unwrap();
    assert_eq!(reminders().await, 1, "once after 3 days");
    nudge(now + 11 * day).await.unwrap();
    nudge(now + 12 * day).await.unwrap();
    assert_eq!(reminders().await, 2, "and once after 10");
    let expire = |at| earlyhelp_storage::connections::expire_due(&app.db, at, 14);
    expire(now + 13 * day).await.unwrap();
    assert_eq!(state_of(&app, &practitioner, &referral).await, "Sent");
    assert!(expire(now + 15 * day).await.unwrap() >= 1);
    assert_eq!(
        state_of(&app, &practitioner, &referral).await,
        "Expired: no answer"
    );
    assert_eq!(expire(now + 15 * day).await.unwrap(), 0, "only once");
    let told = earlyhelp_storage::outbox::recent(&app.db, 200)
        .await
        .unwrap();
    assert!(
        told.iter().any(|m| m.to_address == PRACTITIONER
            && m.subject.contains("expired")
            && referral.ends_with(m.link.trim_start_matches("/referrals/"))),
        "the referrer is told"
    );

    // A referral on consent is cancelled the moment the family withdraws it.
    let second = refer(&app, &practitioner, &family, &service).await;
    assert!(
        crate::serious::withdraw_all_consent(&app, &practitioner, &family)
            .await
            .status()
            .is_redirection()
    );
    assert_eq!(state_of(&app, &practitioner, &second).await, "Cancelled");
    let vcs = app.sign_in(VCS_WORKER).await;
    let page = vcs.get(&app, &second).await.text().await.unwrap();
    assert!(
        page.contains("The family withdrew consent to share"),
        "the service sees why"
    );
}

async fn a_service_shows_its_replies_from_five_referrals(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = unanswered_service(&app.db).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    // The service's organisation has nobody to answer: Ladywood's connector answers for it.
    let vcs = app.sign_in("connector.ladywood@earlyhelp.test").await;
    let public = format!("/find-support/services/{service}");
    let replies = |html: String| html.contains("id=\"replies\"");
    for n in 0..5 {
        assert!(
            !replies(
                client()
                    .get(app.url(&public))
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            ),
            "{n} referrals: too few to say"
        );
        let family = open_case(&app).await;
        let referral = refer(&app, &practitioner, &family, &service).await;
        let event = if n == 0 { "decline" } else { "accept" };
        let response = post_form(
            &vcs,
            &app,
            &referral,
            &[("event", event), ("reason", "no_capacity")],
        )
        .await;
        assert_eq!(response.status(), 303);
    }
    let html = client()
        .get(app.url(&public))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Usually replies within 1 day; 80% of referrals accepted"),
        "{html}"
    );
}

/// An active service run by the demo VCS worker's organisation.
pub async fn vcs_service(db: &Db) -> String {
    const SQL: &str = "SELECT s.id FROM directory_services s JOIN users u \
         ON u.organisation_id = s.owner_organisation_id WHERE u.email = $1 \
         AND s.status = 'active' AND s.merged_into IS NULL ORDER BY s.name LIMIT 1";
    one_id(db, SQL, VCS_WORKER).await
}

/// An active service without referrals whose organisation has nobody to answer them: the
/// community connectors of the family's locality answer for it.
async fn unanswered_service(db: &Db) -> String {
    const SQL: &str = "SELECT s.id FROM directory_services s WHERE s.status = 'active' \
         AND s.merged_into IS NULL AND $1 <> '' \
         AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.service_id = s.id) \
         AND NOT EXISTS (SELECT 1 FROM users u JOIN user_roles ur ON ur.user_id = u.id \
             WHERE u.organisation_id = s.owner_organisation_id \
             AND ur.role IN ('vcs_worker', 'community_connector')) ORDER BY s.name LIMIT 1";
    one_id(db, SQL, "any").await
}

async fn one_id(db: &Db, sql: &'static str, bind: &str) -> String {
    let id: uuid::Uuid = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(pool)
            .await
            .expect("the demo has such a service")
    });
    id.to_string()
}

/// The family's members as the referral form offers them: (id, label).
fn members_offered(html: &str) -> Vec<(String, String)> {
    html.split("name=\"members\" type=\"checkbox\" value=\"")
        .skip(1)
        .map(|rest| {
            let id = rest[..36].to_string();
            let label_start = rest.find("checkboxes__label").unwrap();
            let label = rest[label_start..].split('>').nth(1).unwrap();
            (id, label.split('<').next().unwrap().to_string())
        })
        .collect()
}

async fn a_referral_goes_to_the_service_and_comes_back_with_an_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let service = vcs_service(&app.db).await;
    let practitioner = app.sign_in(PRACTITIONER).await;

    // The search in place, preset to the youngest child's age.
    let find = practitioner
        .get(&app, &format!("/families/{family}/connect"))
        .await;
    assert_eq!(find.status(), 200);
    let html = find.text().await.unwrap();
    assert!(html.contains("This is not for reporting a child at risk"));
    assert!(
        html.contains("name=\"age\" type=\"text\" inputmode=\"numeric\" value=\"10\""),
        "{html}"
    );
    assert_preset_to_education(&html);

    let form_path = format!("/families/{family}/connect/{service}");
    let form = practitioner
        .get(&app, &form_path)
        .await
        .text()
        .await
        .unwrap();
    let members = members_offered(&form);
    let amira = members
        .iter()
        .find(|(_, label)| label.starts_with("Amira"))
        .unwrap_or_else(|| panic!("{members:?}"))
        .0
        .clone();

    // Every problem named by field, and nothing sent.
    let response = post_form(&practitioner, &app, &form_path, &[]).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for field in [
        "not_safeguarding",
        "members",
        "why",
        "contact_method",
        "basis",
    ] {
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
    }

    let send = [
        ("not_safeguarding", "yes"),
        ("members", amira.as_str()),
        ("why", "Food runs out at the end of the month"),
        ("contact_method", "text"),
        ("best_times", "after school"),
        ("basis", "consent"),
    ];
    let response = post_form(&practitioner, &app, &form_path, &send).await;
    assert_eq!(response.status(), 303);
    let referral_page = response.headers()["location"].to_str().unwrap().to_string();
    assert!(referral_page.starts_with("/referrals/"));
    // The same family to the same service while that one is open: caught.
    let again = post_form(&practitioner, &app, &form_path, &send).await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already has an open referral")
    );

    // The service's inbox and the referral: only Amira was shared.
    let vcs = app.sign_in(VCS_WORKER).await;
    let inbox = vcs.get(&app, "/referrals").await.text().await.unwrap();
    assert!(inbox.contains(&referral_page), "the inbox lists it");
    assert!(
        inbox.contains("Closed ("),
        "and counts the demo's closed ones"
    );
    let closed = vcs
        .get(&app, "/referrals?show=closed")
        .await
        .text()
        .await
        .unwrap();
    assert!(closed.contains("Completed") && !closed.contains(&referral_page));
    let page = vcs.get(&app, &referral_page).await.text().await.unwrap();
    assert!(page.contains("Amira Testcase"));
    assert!(!page.contains("Layla"), "a member not chosen is not shared");
    assert!(!page.contains("12 Test Road"), "nor the address");
    assert!(
        page.contains("<code>requested</code>"),
        "the FHIR Task status"
    );

    // Nobody else sees it.
    for email in [ERDINGTON_PRACTITIONER, COMMISSIONER, ANALYST, ADMIN] {
        let other = app.sign_in(email).await;
        assert_eq!(
            other.get(&app, &referral_page).await.status(),
            404,
            "{email}"
        );
    }
    let analyst = app.sign_in(ANALYST).await;
    assert_eq!(analyst.get(&app, "/referrals").await.status(), 403);

    // The referrer cannot answer for the service: 409, naming what they may do.
    let response = post_form(&practitioner, &app, &referral_page, &[("event", "accept")]).await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("cancel, entered_in_error")
    );

    // A conversation both sides and the family's team see; each side is told by email.
    let messages = format!("{referral_page}/messages");
    let response = post_form(&practitioner, &app, &messages, &[("message", " ")]).await;
    assert_eq!(response.status(), 422);
    let ask = "Mum works until 4pm on weekdays";
    assert_eq!(
        post_form(&practitioner, &app, &messages, &[("message", ask)])
            .await
            .status(),
        303
    );
    let reply = "Thanks, we will ring after 4";
    assert_eq!(
        post_form(&vcs, &app, &messages, &[("message", reply)])
            .await
            .status(),
        303
    );
    let page = vcs.get(&app, &referral_page).await.text().await.unwrap();
    assert!(page.contains(ask) && page.contains(reply));
    let told = earlyhelp_storage::outbox::recent(&app.db, 20)
        .await
        .unwrap();
    assert!(
        told.iter()
            .any(|m| m.to_address == PRACTITIONER && m.subject.ends_with("a new message"))
    );
    assert!(
        told.iter()
            .any(|m| m.to_address == VCS_WORKER && m.subject.ends_with("a new message"))
    );
    assert!(
        told.iter().all(|m| !m.body.contains("Mum")),
        "no message text in email"
    );

    // The service accepts, then completes it with the need met.
    let response = post_form(&vcs, &app, &referral_page, &[("event", "accept")]).await;
    assert_eq!(response.status(), 303);
    let response = post_form(&vcs, &app, &referral_page, &[("event", "complete")]).await;
    assert_eq!(response.status(), 422, "completing needs an outcome");
    let response = post_form(
        &vcs,
        &app,
        &referral_page,
        &[
            ("event", "complete"),
            ("outcome", "met"),
            ("note", "Comes every Friday"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        post_form(&vcs, &app, &referral_page, &[("event", "accept")])
            .await
            .status(),
        409
    );

    // The family's team sees the outcome on the family page and in the chronology.
    let html = practitioner
        .get(&app, &format!("/families/{family}"))
        .await
        .text()
        .await
        .unwrap();
    let connections = &html[html.find("id=\"referrals\"").unwrap()..];
    assert!(connections.contains("Completed") && connections.contains("Met"));
    assert!(html.contains(": completed by"));
    let audit = app
        .audit_of(&referral_page.replace("/referrals/", "referral:"))
        .await;
    assert!(audit.contains(&(VCS_WORKER.into(), "update".into(), "allowed".into())));
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "read".into(),
        "denied".into()
    )));
}

async fn the_referrals_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let service = vcs_service(&app.db).await;
    let practitioner = token(&app, PRACTITIONER).await;
    let vcs = token(&app, VCS_WORKER).await;
    let post = |path: String, bearer: String, body: Value| {
        let app = &app;
        async move {
            client()
                .post(app.url(&path))
                .bearer_auth(bearer)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let get = |path: String, bearer: String| {
        let app = &app;
        async move {
            client()
                .get(app.url(&path))
                .bearer_auth(bearer)
                .send()
                .await
                .unwrap()
        }
    };
    let response = post(
        "/api/referrals".into(),
        practitioner.clone(),
        json!({"family_id": family, "service_id": service}),
    )
    .await;
    assert_eq!(response.status(), 422);
    let problems: Value = response.json().await.unwrap();
    assert!(
        problems["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["field"] == "why")
    );
    // A member of the family, from the family record.
    let record: Value = get(format!("/api/families/{family}"), practitioner.clone())
        .await
        .json()
        .await
        .unwrap();
    let members = record["records"]["members"].as_array().unwrap().len();
    assert!(members > 0);
    let form = app.sign_in(PRACTITIONER).await;
    let html = form
        .get(&app, &format!("/families/{family}/connect/{service}"))
        .await
        .text()
        .await
        .unwrap();
    let member = members_offered(&html)[0].0.clone();
    let body = json!({"family_id": family, "service_id": service, "members": [member], "why": "Food", "contact_method": "email", "basis": "public_task", "not_safeguarding": true});
    let response = post("/api/referrals".into(), practitioner.clone(), body).await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let seen: Value = get(format!("/api/referrals/{id}"), vcs.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["fhir_task_status"], "requested");
    assert_eq!(
        seen["allowed_events"],
        json!(["open", "accept", "decline", "cancel"])
    );
    let inbox: Value = get("/api/referrals".into(), vcs.clone())
        .await
        .json()
        .await
        .unwrap();
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str())
    );
    let accept = json!({"event": "accept"});
    let response = post(
        format!("/api/referrals/{id}/status"),
        vcs.clone(),
        accept.clone(),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["fhir_task_status"],
        "accepted"
    );
    let again = post(format!("/api/referrals/{id}/status"), vcs.clone(), accept).await;
    assert_eq!(again.status(), 409);
    let commissioner = token(&app, COMMISSIONER).await;
    assert_eq!(
        get(format!("/api/referrals/{id}"), commissioner)
            .await
            .status(),
        404
    );
    let doc: Value = client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/referrals",
        "/api/referrals/{id}",
        "/api/referrals/{id}/status",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

/// A school practitioner refers a family to a service, the VCS worker accepts and completes
/// it with the need met, and the practitioner sees the outcome: every page checked by axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_in_a_real_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let family = open_case(&app).await;
    let service = vcs_service(&app.db).await;
    let name = earlyhelp_storage::directory::load_service(&app.db, service.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .name;

    sign_in(&browser, &app, PRACTITIONER).await;
    browser
        .driver
        .goto(app.url(&format!("/families/{family}#connections")))
        .await
        .unwrap();
    browser.click(By::LinkText("Connect to a service")).await;
    browser
        .wait_for_heading("Connect the family to a service")
        .await;
    // The search opens preset to the family's need; looking for a service by name, "Any need".
    browser
        .driver
        .query(By::Id("services"))
        .first()
        .await
        .expect("preset results");
    let first_word = name.split_whitespace().next().unwrap();
    browser.fill(By::Id("q"), first_word).await;
    browser.click(By::Css("#need option[value='']")).await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .driver
        .query(By::Id("services"))
        .first()
        .await
        .expect("results");
    assert_accessible(&browser, "connect: find a service").await;
    browser.screenshot("connections-find").await;
    browser.click(By::PartialLinkText(name.as_str())).await;
    browser.wait_for_heading("Refer the family to").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("errors");
    assert_accessible(&browser, "referral form with errors").await;
    browser.click(By::Id("not_safeguarding")).await;
    browser.click(By::Id("members")).await;
    browser
        .fill(By::Id("why"), "Food runs out at the end of the month")
        .await;
    browser.click(By::Id("contact_method")).await;
    browser.click(By::Id("basis")).await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser.wait_for_heading(&name).await;
    assert_accessible(&browser, "the referral as sent").await;
    browser.screenshot("connections-sent").await;
    let referral = browser
        .driver
        .current_url()
        .await
        .unwrap()
        .path()
        .to_string();
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    sign_in(&browser, &app, VCS_WORKER).await;
    browser.click(By::LinkText("Referrals")).await;
    browser
        .wait_for_heading("Referrals to your organisation")
        .await;
    assert_accessible(&browser, "the inbox").await;
    browser.screenshot("connections-inbox").await;
    browser.driver.goto(app.url(&referral)).await.unwrap();
    browser.wait_for_heading(&name).await;
    browser
        .click(By::Css("input[name=event][value=accept]"))
        .await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .wait_for_text(By::Id("referral-state"), "Accepted")
        .await;
    browser
        .click(By::Css("input[name=event][value=complete]"))
        .await;
    browser
        .click(By::Css("input[name=outcome][value=met]"))
        .await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .wait_for_text(By::Id("referral-state"), "Completed")
        .await;
    assert_accessible(&browser, "the referral completed").await;
    browser.screenshot("connections-completed").await;
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    sign_in(&browser, &app, PRACTITIONER).await;
    browser
        .driver
        .goto(app.url(&format!("/families/{family}#connections")))
        .await
        .unwrap();
    let row = browser
        .driver
        .find(By::Css("#referrals tbody tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("Completed") && row.contains("Met"), "{row}");
    browser.quit().await;
}

async fn an_organisation_sets_how_long_referrals_wait(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let service = vcs_service(&app.db).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let referral = refer(&app, &practitioner, &family, &service).await;
    let vcs = app.sign_in(VCS_WORKER).await;
    let inbox = vcs.get(&app, "/referrals").await.text().await.unwrap();
    assert!(inbox.contains("expires after 14 days"));
    for bad in ["0", "91", "soon"] {
        let response = post_form(&vcs, &app, "/referrals/expiry", &[("expiry_days", bad)]).await;
        assert_eq!(response.status(), 422, "{bad}");
    }
    let response = post_form(&vcs, &app, "/referrals/expiry", &[("expiry_days", "30")]).await;
    assert_eq!(response.status(), 303);
    let practitioner_tries = post_form(
        &practitioner,
        &app,
        "/referrals/expiry",
        &[("expiry_days", "1")],
    )
    .await;
    assert_eq!(
        practitioner_tries.status(),
        403,
        "only the organisation sets it"
    );
    let now = earlyhelp_storage::now_micros();
    let day = 86_400_000_000;
    earlyhelp_storage::connections::expire_due(&app.db, now + 15 * day, 14)
        .await
        .unwrap();
    assert_eq!(state_of(&app, &practitioner, &referral).await, "Sent");
    earlyhelp_storage::connections::expire_due(&app.db, now + 31 * day, 14)
        .await
        .unwrap();
    assert_eq!(
        state_of(&app, &practitioner, &referral).await,
        "Expired: no answer"
    );
}

async fn the_dashboard_counts_what_the_referrals_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(practitioner.get(&app, "/connections").await.status(), 403);
    assert!(app.audit_of("connections_dashboard").await.contains(&(
        PRACTITIONER.into(),
        "list".into(),
        "denied".into()
    )));
    let board = app.sign_in(COMMISSIONER).await;
    let response = board.get(&app, "/connections").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"by-locality\"") && html.contains("id=\"by-organisation\""));
    let csv = board
        .get(&app, "/connections.csv")
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let total = |under: &str| -> i64 {
        rows.iter()
            .filter(|r| &r[0] == under)
            .map(|r| r[2].parse::<i64>().unwrap())
            .sum()
    };
    const SQL: &str = "SELECT COUNT(*) FROM referrals WHERE state <> $1 AND created_micros >= $2";
    let since = earlyhelp_storage::now_micros() - 365 * 86_400_000_000;
    let held: i64 = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(SQL)
            .bind("entered_in_error")
            .bind(since)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert!(held > 0, "the demo's referrals");
    assert_eq!(total("locality"), held, "{csv}");
    assert_eq!(total("organisation"), held);
    for name in ["Alice", "Amira", "Testcase"] {
        assert!(!html.contains(name), "no person on an aggregate page");
    }
}

/// The search in place starts from the family's first reason (Amira's request: education) and
/// shows services at once, each a service the directory tags with that need.
fn assert_preset_to_education(html: &str) {
    assert!(
        html.contains("<option value=\"education\" selected>"),
        "the need is preset: {html}"
    );
    let listed = html.matches("/connect/").count();
    assert!(listed > 0, "services are shown before any search: {html}");
    let found = &html[html.find("id=\"found\">").unwrap() + 11..];
    let found: usize = found[..found.find(' ').unwrap()].parse().unwrap();
    assert!(found >= listed, "{found} found, {listed} listed");
}

/// Triage's "connect to community support" opens a family held by the locality team (no lead)
/// and goes straight to the search in place; the locality lead refers from there, and the
/// request's words are in the family's chronology.
async fn triage_to_community_support_goes_on_to_find_a_service(backend: Backend) {
    let app = spawn_app(backend).await;
    let request = send(&app, &amira("B16 8HA")).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let response = post_form(
        &lead,
        &app,
        &format!("/triage/{request}"),
        &[
            ("outcome", "community_support"),
            ("note", "a homework club would help"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let find = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        find.starts_with("/families/") && find.ends_with("/connect"),
        "{find}"
    );
    let family = find
        .trim_start_matches("/families/")
        .trim_end_matches("/connect");
    let html = lead.get(&app, &find).await.text().await.unwrap();
    assert!(html.contains("This is not for reporting a child at risk"));
    assert_preset_to_education(&html);

    let page = lead
        .get(&app, &format!("/families/{family}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("None allocated"), "no lead practitioner");
    assert!(page.contains("triaged for connection to community support"));
    assert!(page.contains("Attendance has dropped since the winter"));

    let service = vcs_service(&app.db).await;
    let referral = refer(&app, &lead, family, &service).await;
    assert!(referral.starts_with("/referrals/"), "{referral}");
    // The request is triaged: it has left the queue.
    let queue = lead.get(&app, "/triage").await.text().await.unwrap();
    assert!(!queue.contains(&format!("/triage/{request}")));
}

/// The inbox reads pages by the database's `inbox_part` (migration 0019): it must agree with
/// `InboxPart::of` for every state, which the demo's referrals cover.
async fn the_database_files_each_referral_in_the_inbox_part_its_state_says(backend: Backend) {
    use earlyhelp_domain::connections::ReferralState;
    use earlyhelp_storage::connections::InboxPart;
    let app = spawn_app(backend).await;
    const SQL: &str = "SELECT DISTINCT state, inbox_part FROM referrals";
    let pairs: Vec<(String, String)> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(SQL).fetch_all(pool).await.unwrap()
    });
    let states: std::collections::BTreeSet<&str> = pairs.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        states.len(),
        ReferralState::ALL.len(),
        "every state: {states:?}"
    );
    for (state, part) in &pairs {
        let state = ReferralState::from_slug(state).unwrap();
        assert_eq!(part, InboxPart::of(state).slug(), "{state:?}");
    }
}

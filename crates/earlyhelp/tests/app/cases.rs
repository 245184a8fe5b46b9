//! Requests for support, triage and family cases, through the pages and the JSON API, on both
//! databases: every route, its refusals, and their audit events.

use crate::helpers::*;
use earlyhelp::demo_cases::{ERDINGTON_LEAD, ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
use earlyhelp_storage::accounts;
use serde_json::{Value, json};

crate::on_both_backends!(
    a_practitioner_sends_a_request_routed_by_postcode,
    a_referrer_sees_what_became_of_their_requests,
    the_public_self_referral_form,
    the_triage_queue_pages_fifty_at_a_time,
    api_requests_are_checked_routed_and_refused,
    api_triage_opens_a_case_only_for_the_localitys_lead,
    api_family_reads_and_notes_answer_404_to_the_uninvolved,
    api_audit_is_for_the_information_governance_officer,
    withdrawn_consent_shuts_out_the_team_at_once,
    the_case_moves_through_its_states,
    the_known_to_view_is_all_an_uninvolved_partner_sees,
    a_transfer_moves_the_request_to_the_other_localitys_queue,
    triage_shows_families_we_may_already_know,
    plans_readings_and_reviews,
    the_demo_gives_each_role_something_to_see,
    an_uninvolved_partner_asks_to_join,
);

async fn an_uninvolved_partner_asks_to_join(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let ask = format!("/families/{family}/ask");
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let response = post_form(&outsider, &app, &ask, &[("reason", " ")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("href=\"#reason\""));
    let response = post_form(
        &outsider,
        &app,
        &ask,
        &[("reason", "Amira's brother is at our school")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Your request to join the team has been sent"));
    assert!(!html.contains("12 Test Road"), "asking shows nothing more");
    let commissioner = app.sign_in(COMMISSIONER).await;
    assert_eq!(
        post_form(&commissioner, &app, &ask, &[("reason", "curious")])
            .await
            .status(),
        404
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "create".into(),
        "allowed".into()
    )));
    assert!(audit.contains(&(COMMISSIONER.into(), "create".into(), "denied".into())));
    let lead = app.sign_in(PRACTITIONER).await;
    let page = lead
        .client
        .get(app.url(&format!("/families/{family}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            "asked to join the team around the family: Amira&#x27;s brother is at our school"
        ) || page.contains(
            "asked to join the team around the family: Amira&#39;s brother is at our school"
        ),
        "the lead sees the request"
    );
}

pub async fn token(app: &TestApp, email: &str) -> String {
    let id = accounts::user_id_by_email(&app.db, email)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{email} is a demo user"));
    accounts::create_api_token(&app.db, id).await.unwrap()
}

pub fn amira(postcode: &str) -> Value {
    json!({
        "members": [
            {"given_name": "Amira", "family_name": "Testcase", "date_of_birth": "2016-05-02", "relationship": "child"},
            {"given_name": "Layla", "family_name": "Testcase", "date_of_birth": "1988-01-12", "relationship": "parent_carer"}
        ],
        "address": "12 Test Road",
        "postcode": postcode,
        "reasons": ["education", "health_wellbeing"],
        "need_level": "additional",
        "summary": "Attendance has dropped since the winter",
        "consent_given_by": "Layla Testcase",
        "consent_method": "verbal",
        "consent_date": "2026-11-20"
    })
}

/// Sends a request as the demo practitioner; returns its id.
pub async fn send(app: &TestApp, body: &Value) -> String {
    let response = client()
        .post(app.url("/api/requests"))
        .bearer_auth(token(app, PRACTITIONER).await)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_string()
}

/// A request triaged by the Ladywood lead for early help, led by the demo practitioner.
pub async fn open_case(app: &TestApp) -> String {
    open_case_of(app, &amira("B16 8HA")).await
}

/// The request `body` triaged as [`open_case`] does.
pub async fn open_case_of(app: &TestApp, body: &Value) -> String {
    let request = send(app, body).await;
    let response = client()
        .post(app.url(&format!("/api/requests/{request}/triage")))
        .bearer_auth(token(app, LOCALITY_LEAD).await)
        .json(&json!({"outcome": "locality_early_help", "lead_practitioner": PRACTITIONER, "note": "school leads"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let triaged: Value = response.json().await.unwrap();
    triaged["family_id"].as_str().unwrap().to_string()
}

pub fn form_pairs(csrf: &str, postcode: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf_token", csrf.to_string()),
        ("member_1_given_name", "Noah".into()),
        ("member_1_family_name", "Formfamily".into()),
        ("member_1_date_of_birth-day", "3".into()),
        ("member_1_date_of_birth-month", "2".into()),
        ("member_1_date_of_birth-year", "2014".into()),
        ("member_1_relationship", "child".into()),
        ("address", "3 Form Street".into()),
        ("postcode", postcode.into()),
        ("reasons", "domestic_abuse".into()),
        ("reasons", "risk_of_homelessness".into()),
        ("need_level", "complex".into()),
        ("summary", "Needs somewhere safe".into()),
        ("consent_given_by", "Mother".into()),
        ("consent_method", "written".into()),
        ("consent_date-day", "1".into()),
        ("consent_date-month", "11".into()),
        ("consent_date-year", "2026".into()),
    ]
}

async fn a_practitioner_sends_a_request_routed_by_postcode(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let page = practitioner
        .client
        .get(app.url("/requests/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("immediate danger, call 999"));

    let response = practitioner
        .client
        .post(app.url("/requests/new"))
        .form(&form_pairs(&practitioner.csrf, "b23 6ab"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Erdington locality team")
    );

    // Every problem at once, each linked to its field; nothing is saved.
    let mut bad = form_pairs(&practitioner.csrf, "SW1A 1AA");
    bad.retain(|(k, _)| *k != "need_level" && *k != "reasons");
    let response = practitioner
        .client
        .post(app.url("/requests/new"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for anchor in ["#postcode", "#reasons", "#need_level"] {
        assert!(
            html.contains(&format!("href=\"{anchor}\"")),
            "{anchor} in {html}"
        );
    }
    assert!(
        html.contains("value=\"Formfamily\""),
        "what was typed is kept"
    );

    // A forged form is refused.
    let mut forged = form_pairs("not-the-token", "B16 8HA");
    forged[0].1 = "forged".into();
    let response = practitioner
        .client
        .post(app.url("/requests/new"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // The commissioner may not send requests, and the refusal is audited.
    let commissioner = app.sign_in(COMMISSIONER).await;
    let response = commissioner
        .client
        .get(app.url("/requests/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let audit = app.audit_of("request:new").await;
    assert!(audit.contains(&(COMMISSIONER.into(), "create".into(), "denied".into())));
    assert!(audit.contains(&(PRACTITIONER.into(), "create".into(), "allowed".into())));
}

async fn the_public_self_referral_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = client();
    let page = public.get(app.url("/self-referral")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("immediate danger, call 999"));
    let csrf = csrf_in(&html);

    // Without a contact, the public form refuses and says why.
    let response = public
        .post(app.url("/self-referral"))
        .form(&form_pairs(&csrf, "B16 8HA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("href=\"#contact\""));

    let mut pairs = form_pairs(&csrf, "B16 8HA");
    pairs.push(("contact", "07700 900456".into()));
    // The family is asked in their words whether we may share it; without a yes nothing is sent.
    let unanswered = public
        .post(app.url("/self-referral"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(unanswered.status(), 422);
    let unanswered = unanswered.text().await.unwrap();
    assert!(unanswered.contains("Can we share this with people who can help?"));
    assert!(
        unanswered.contains("href=\"#share\""),
        "the error summary names it"
    );
    assert!(!unanswered.contains("Universal plus") && !unanswered.contains("Verbal"));
    pairs.push(("share", "yes".into()));
    let response = public
        .post(app.url("/self-referral"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Ladywood locality team")
    );

    // Another site cannot post it for someone: no cookie, no request.
    let response = client()
        .post(app.url("/self-referral"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // It waits in Ladywood's queue, marked as a self-referral.
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let queue = lead
        .client
        .get(app.url("/triage"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains("Formfamily"));
    assert!(queue.contains("Self-referral"));
}

async fn the_triage_queue_pages_fifty_at_a_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = token(&app, PRACTITIONER).await;
    // Fifty of additional need and, sent last, one complex: it must still come first.
    for n in 0..51 {
        let mut request = amira("B16 8AB");
        request["members"][0]["family_name"] = json!(format!("Pagefamily{n}"));
        if n == 50 {
            request["need_level"] = json!("complex");
        }
        let response = client()
            .post(app.url("/api/requests"))
            .bearer_auth(&practitioner)
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let page = |n: usize| {
        let lead = &lead;
        let app = &app;
        async move {
            let url = app.url(&format!("/triage?locality=ladywood&page={n}"));
            lead.client
                .get(url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let first = page(1).await;
    let waiting: usize = first
        .split(" waiting, complex first, then oldest first: 1 to 50")
        .next()
        .and_then(|before| before.rsplit('>').next())
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("the caption counts every request waiting: {first}"));
    assert!(waiting > 51, "{waiting}");
    assert!(first.contains("aria-label=\"Queue pages\""));
    let complex = first
        .find("Pagefamily50")
        .expect("the complex one on page 1");
    let oldest = first.find("Pagefamily0").expect("the oldest on page 1");
    assert!(complex < oldest, "complex first, then the oldest");
    assert!(first.contains(">today</td>"), "how long each has waited");
    assert!(
        !first.contains("Pagefamily49"),
        "the newest is on the next page"
    );
    let second = page(2).await;
    assert!(second.contains(&format!("then oldest first: 51 to {waiting}")));
    assert!(second.contains("Pagefamily49"));
    assert!(!second.contains("Pagefamily0,"));
    assert!(
        page(9).await.contains("Pagefamily49"),
        "past the end is the last page"
    );
}

async fn api_requests_are_checked_routed_and_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = token(&app, PRACTITIONER).await;
    let response = client()
        .post(app.url("/api/requests"))
        .bearer_auth(&practitioner)
        .json(&amira("B75 5AA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["locality"], "sutton-coldfield");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.audit_of(&format!("request:{id}")).await,
        vec![(PRACTITIONER.into(), "create".into(), "allowed".into())]
    );

    let mut bad = amira("B99");
    bad["members"][0]["date_of_birth"] = json!("2099-01-01");
    bad["need_level"] = json!("desperate");
    bad["reasons"] = json!([]);
    let response = client()
        .post(app.url("/api/requests"))
        .bearer_auth(&practitioner)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "member_1_date_of_birth",
            "postcode",
            "reasons",
            "need_level"
        ]
    );

    let response = client()
        .post(app.url("/api/requests"))
        .bearer_auth(token(&app, COMMISSIONER).await)
        .json(&amira("B16 8HA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // A browser session must echo its CSRF token to write through the API.
    let session = app.sign_in(PRACTITIONER).await;
    let response = session
        .client
        .post(app.url("/api/requests"))
        .json(&amira("B16 8HA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = session
        .client
        .post(app.url("/api/requests"))
        .header("X-CSRF-Token", &session.csrf)
        .json(&amira("B16 8HA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // Without a token: 401.
    let response = client()
        .post(app.url("/api/requests"))
        .json(&amira("B16 8HA"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

async fn api_triage_opens_a_case_only_for_the_localitys_lead(backend: Backend) {
    let app = spawn_app(backend).await;
    let request = send(&app, &amira("B16 8HA")).await;
    let lead = token(&app, LOCALITY_LEAD).await;

    let queue: Value = client()
        .get(app.url("/api/requests?locality=ladywood"))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = queue["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&request.as_str()));
    assert_eq!(
        queue["records"][ids.iter().position(|i| *i == request).unwrap()]["members"][0]["given_name"],
        "Amira"
    );

    for (email, locality) in [
        (PRACTITIONER, "ladywood"),
        (ERDINGTON_LEAD, "ladywood"),
        (COMMISSIONER, "ladywood"),
    ] {
        let response = client()
            .get(app.url(&format!("/api/requests?locality={locality}")))
            .bearer_auth(token(&app, email).await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{email}");
    }
    assert!(app.audit_of("requests:ladywood").await.contains(&(
        ERDINGTON_LEAD.into(),
        "list".into(),
        "denied".into()
    )));

    // Another locality's lead cannot triage it: 404, and the refusal is audited.
    let triage = app.url(&format!("/api/requests/{request}/triage"));
    let body = json!({"outcome": "locality_early_help", "lead_practitioner": PRACTITIONER});
    let response = client()
        .post(&triage)
        .bearer_auth(token(&app, ERDINGTON_LEAD).await)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        app.audit_of(&format!("request:{request}"))
            .await
            .contains(&(ERDINGTON_LEAD.into(), "read".into(), "denied".into()))
    );

    // Every problem by field.
    let response = client()
        .post(&triage)
        .bearer_auth(&lead)
        .json(&json!({"outcome": "locality_early_help", "lead_practitioner": COMMISSIONER}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problems: Value = response.json().await.unwrap();
    assert_eq!(problems["problems"][0]["field"], "lead_practitioner");
    let response = client()
        .post(&triage)
        .bearer_auth(&lead)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    let response = client()
        .post(&triage)
        .bearer_auth(&lead)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let triaged: Value = response.json().await.unwrap();
    let family = triaged["family_id"].as_str().unwrap();
    assert!(app.audit_of(&format!("family:{family}")).await.contains(&(
        LOCALITY_LEAD.into(),
        "create".into(),
        "allowed".into()
    )));

    // Triaged once only; and it has left the queue.
    let response = client()
        .post(&triage)
        .bearer_auth(&lead)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let queue: Value = client()
        .get(app.url("/api/requests"))
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !queue["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == request.as_str())
    );

    // Other outcomes (but community support, which opens a family to refer from) close the
    // request without a case.
    let second = send(&app, &amira("B16 8HA")).await;
    let response = client()
        .post(app.url(&format!("/api/requests/{second}/triage")))
        .bearer_auth(&lead)
        .json(&json!({"outcome": "information_advice", "note": "pantry and youth club"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap()["family_id"],
        Value::Null
    );

    // An unknown request: 404.
    let response = client()
        .post(app.url(&format!("/api/requests/{}/triage", uuid::Uuid::now_v7())))
        .bearer_auth(&lead)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

async fn api_family_reads_and_notes_answer_404_to_the_uninvolved(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let url = app.url(&format!("/api/families/{family}"));
    let notes = app.url(&format!("/api/families/{family}/notes"));

    for email in [PRACTITIONER, LOCALITY_LEAD] {
        let response = client()
            .get(&url)
            .bearer_auth(token(&app, email).await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{email}");
        let record: Value = response.json().await.unwrap();
        assert_eq!(record["records"]["members"].as_array().unwrap().len(), 2);
        assert_eq!(record["records"]["lead_email"], PRACTITIONER);
    }
    for email in [
        ERDINGTON_PRACTITIONER,
        ERDINGTON_LEAD,
        HEALTH_VISITOR,
        COMMISSIONER,
        ANALYST,
        ADMIN,
        IG_OFFICER,
    ] {
        let response = client()
            .get(&url)
            .bearer_auth(token(&app, email).await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{email}");
        let response = client()
            .post(&notes)
            .bearer_auth(token(&app, email).await)
            .json(&json!({"body": "hello"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{email}");
    }
    let response = client()
        .get(app.url(&format!("/api/families/{}", uuid::Uuid::now_v7())))
        .bearer_auth(token(&app, PRACTITIONER).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let lead = token(&app, PRACTITIONER).await;
    let response = client()
        .post(&notes)
        .bearer_auth(&lead)
        .json(&json!({"body": "  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<Value>().await.unwrap()["problems"][0]["field"],
        "body"
    );
    let response = client()
        .post(&notes)
        .bearer_auth(&lead)
        .json(&json!({"body": "Met Amira at school"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let record: Value = client()
        .get(&url)
        .bearer_auth(&lead)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        record["records"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["body"] == "Met Amira at school")
    );

    let audit = app.audit_of(&format!("family:{family}")).await;
    for (who, action, outcome) in [
        (ERDINGTON_PRACTITIONER, "read", "denied"),
        (COMMISSIONER, "read", "denied"),
        (ADMIN, "update", "denied"),
        (PRACTITIONER, "update", "allowed"),
        (LOCALITY_LEAD, "read", "allowed"),
    ] {
        assert!(
            audit.contains(&(who.into(), action.into(), outcome.into())),
            "{who} {action} {outcome}: {audit:?}"
        );
    }
}

async fn api_audit_is_for_the_information_governance_officer(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let subject = format!("family:{family}");
    client()
        .get(app.url(&format!("/api/families/{family}")))
        .bearer_auth(token(&app, COMMISSIONER).await)
        .send()
        .await
        .unwrap();

    let response = client()
        .get(app.url("/api/audit"))
        .query(&[("subject", subject.as_str())])
        .bearer_auth(token(&app, IG_OFFICER).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let events = body["records"].as_array().unwrap();
    assert!(events.iter().all(|e| e["subject"] == subject.as_str()));
    assert!(
        events
            .iter()
            .any(|e| e["actor"] == COMMISSIONER && e["outcome"] == "denied")
    );
    assert!(
        events
            .iter()
            .any(|e| e["actor"] == LOCALITY_LEAD && e["action"] == "create")
    );

    for email in [PRACTITIONER, LOCALITY_LEAD, ADMIN] {
        let response = client()
            .get(app.url("/api/audit"))
            .query(&[("subject", subject.as_str())])
            .bearer_auth(token(&app, email).await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{email}");
    }
    // The OpenAPI description documents every route.
    let doc: Value = client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/requests",
        "/api/requests/{id}/triage",
        "/api/families/{id}",
        "/api/families/{id}/notes",
        "/api/audit",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

pub async fn post_form(
    session: &Session,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut pairs: Vec<(&str, &str)> = vec![("csrf_token", session.csrf.as_str())];
    pairs.extend_from_slice(fields);
    session
        .client
        .post(app.url(path))
        .form(&pairs)
        .send()
        .await
        .unwrap()
}

async fn withdrawn_consent_shuts_out_the_team_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let page = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    let partner = app.sign_in(HEALTH_VISITOR).await;

    let before = partner
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        before.contains("This family is known to early help"),
        "not yet in the team"
    );

    let response = post_form(
        &lead,
        &app,
        &format!("{page}/team"),
        &[
            ("team_email", "nobody@example.org"),
            ("purpose", "health visiting"),
            ("article6", "consent"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let response = post_form(
        &lead,
        &app,
        &format!("{page}/team"),
        &[
            ("team_email", HEALTH_VISITOR),
            ("purpose", "health visiting"),
            ("article6", "consent"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let response = post_form(
        &lead,
        &app,
        &format!("{page}/team"),
        &[
            ("team_email", HEALTH_VISITOR),
            ("purpose", "health visiting"),
            ("article6", "consent"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422, "already in the team");

    let during = partner
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        during.contains("Family case: Layla Testcase, Amira Testcase"),
        "the team sees the case"
    );

    let response = crate::serious::withdraw_all_consent(&app, &lead, &family).await;
    assert_eq!(response.status(), 303);
    let after = partner
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !after.contains("Family case:"),
        "withdrawn consent shuts the team out"
    );
    assert!(after.contains("This family is known to early help"));
    let response = client()
        .get(app.url(&format!("/api/families/{family}")))
        .bearer_auth(token(&app, HEALTH_VISITOR).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let lead_view = lead
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(lead_view.contains("Consent withdrawn"));

    // Consent given again, and the health visitor's share recorded on it again, lets them back in.
    let layla = crate::serious::member_id(&app, &family, "Layla").await;
    let response = post_form(
        &lead,
        &app,
        &format!("{page}/consent"),
        &[
            ("member", &layla),
            ("given_by", "Layla Testcase"),
            ("method", "written"),
            ("given_on-day", "22"),
            ("given_on-month", "11"),
            ("given_on-year", "2026"),
            ("scope", "Health visitor and school"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let response = post_form(
        &lead,
        &app,
        &format!("{page}/team"),
        &[
            ("team_email", HEALTH_VISITOR),
            ("purpose", "health visiting"),
            ("article6", "consent"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303, "joins again on a new share");
    let again = partner
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("Family case: Layla Testcase, Amira Testcase"));
    let response = post_form(
        &lead,
        &app,
        &format!("{page}/consent"),
        &[("given_by", ""), ("method", "telepathy")],
    )
    .await;
    assert_eq!(response.status(), 422);
}

async fn the_case_moves_through_its_states(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let page = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    let state = async |session: &Session| {
        let html = session
            .client
            .get(app.url(&page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let start = html.find("id=\"case-state\">").unwrap() + "id=\"case-state\">".len();
        html[start..].split('<').next().unwrap().to_string()
    };
    assert_eq!(state(&lead).await, "Open");
    let step = async |fields: &[(&str, &str)]| {
        let fields = [fields, &[("reason", "The test says so")]].concat();
        post_form(&lead, &app, &format!("{page}/state"), &fields)
            .await
            .status()
    };
    assert_eq!(step(&[("event", "step_down")]).await, 422);
    assert_eq!(step(&[("event", "step_up")]).await, 303);
    assert_eq!(state(&lead).await, "Stepped up to social care");
    assert_eq!(
        step(&[("event", "close"), ("closure_reason", "needs_met")]).await,
        422
    );
    assert_eq!(step(&[("event", "step_down")]).await, 303);
    assert_eq!(step(&[("event", "close")]).await, 422, "a reason is needed");
    let needs = [("needs", "education"), ("needs", "health_wellbeing")];
    let close = [("event", "close"), ("closure_reason", "needs_met")];
    let status = step(&[&close[..], &needs[..]].concat()).await;
    assert_eq!(status, 422, "each need wants an outcome");
    let status = step(&close).await;
    assert_eq!(status, 422, "even when the form leaves the needs out");
    let outcomes = [
        ("outcome_education", "met"),
        ("outcome_health_wellbeing", "partly_met"),
    ];
    let status = step(&[&close[..], &needs[..], &outcomes[..]].concat()).await;
    assert_eq!(status, 303);
    assert_eq!(state(&lead).await, "Closed");
    let html = lead
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Closed: Needs met."));
    assert!(html.contains("Education: Met; Health and emotional wellbeing: Partly met."));
    assert!(
        html.contains("Case closed: Needs met"),
        "the chronology records it"
    );
    assert_eq!(step(&[("event", "step_up")]).await, 422);
    assert_eq!(step(&[("event", "reopen")]).await, 303);
    assert_eq!(state(&lead).await, "Open");

    // Someone outside the case cannot move it: not found, and audited.
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    assert_eq!(
        post_form(
            &outsider,
            &app,
            &format!("{page}/state"),
            &[("event", "step_up"), ("reason", "curious")]
        )
        .await
        .status(),
        404
    );
    assert!(app.audit_of(&format!("family:{family}")).await.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "update".into(),
        "denied".into()
    )));
}

async fn the_known_to_view_is_all_an_uninvolved_partner_sees(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let page = format!("/families/{family}");
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let response = outsider.client.get(app.url(&page)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("This family is known to early help"));
    assert!(!html.contains("Amira Testcase"), "no names");
    assert!(html.contains(PRACTITIONER), "whom to contact");
    assert!(!html.contains("2016-05-02"), "no dates of birth");
    assert!(!html.contains("12 Test Road"), "no address");
    assert!(!html.contains("Attendance"), "no case content");
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "read".into(),
        "denied".into()
    )));
    assert!(
        audit.contains(&(
            ERDINGTON_PRACTITIONER.into(),
            "read".into(),
            "allowed".into()
        )),
        "the known-to view is audited too"
    );

    // Commissioners, analysts and administrators see nothing at all.
    for email in [COMMISSIONER, ANALYST, ADMIN, IG_OFFICER] {
        let session = app.sign_in(email).await;
        let response = session.client.get(app.url(&page)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{email}");
        assert!(!response.text().await.unwrap().contains("Amira"), "{email}");
    }
    // The lead sees who has looked.
    let lead = app.sign_in(PRACTITIONER).await;
    let html = lead
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Who has looked at this record"));
    assert!(html.contains(ERDINGTON_PRACTITIONER));
    assert!(html.contains(COMMISSIONER));
}

async fn a_transfer_moves_the_request_to_the_other_localitys_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    let request = send(&app, &amira("B16 8HA")).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let page = lead
        .client
        .get(app.url(&format!("/triage/{request}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // The lead practitioner is picked from the locality's staff who work cases, by name.
    let page = page.text().await.unwrap();
    let picker = page
        .split("<datalist id=\"lead_practitioner-people\">")
        .nth(1)
        .and_then(|rest| rest.split("</datalist>").next())
        .unwrap_or_else(|| panic!("a picker: {page}"));
    assert!(picker.contains(PRACTITIONER), "{picker}");
    assert!(
        !picker.contains(ERDINGTON_PRACTITIONER),
        "only Ladywood's: {picker}"
    );
    assert!(!picker.contains(COMMISSIONER), "only those who work cases");
    let response = post_form(
        &lead,
        &app,
        &format!("/triage/{request}"),
        &[("outcome", "transfer"), ("transfer_to", "ladywood")],
    )
    .await;
    assert_eq!(response.status(), 422, "not to its own locality");
    let response = post_form(
        &lead,
        &app,
        &format!("/triage/{request}"),
        &[
            ("outcome", "transfer"),
            ("transfer_to", "erdington"),
            ("note", "lives with grandparent in B23"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        lead.client
            .get(app.url(&format!("/triage/{request}")))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "no longer Ladywood's"
    );
    let erdington = app.sign_in(ERDINGTON_LEAD).await;
    let queue = erdington
        .client
        .get(app.url("/triage"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains(&request));
    let page = erdington
        .client
        .get(app.url(&format!("/triage/{request}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Transferred from ladywood"));
    // Practitioners have no triage queue.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(
        practitioner
            .client
            .get(app.url("/triage"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

async fn triage_shows_families_we_may_already_know(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    // The same child, a nickname, at the same address.
    let mut again = amira("B16 8HA");
    again["members"] = json!([{"given_name": "Ami", "family_name": "TESTCASE", "date_of_birth": "2016-05-02", "relationship": "child"}]);
    let request = send(&app, &again).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let html = lead
        .client
        .get(app.url(&format!("/triage/{request}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"likely-families\""));
    assert!(html.contains(&family));
    assert!(html.contains("Amira Testcase (2016-05-02)"));

    // Opening the case on the family we know keeps one family, with its history.
    let response = post_form(
        &lead,
        &app,
        &format!("/triage/{request}"),
        &[
            ("outcome", "locality_early_help"),
            ("lead_practitioner", HEALTH_VISITOR),
            ("existing_family", &family),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        format!("/families/{family}").as_str()
    );

    // A different child is not a match.
    let mut other = amira("B16 8HA");
    other["members"] = json!([{"given_name": "Zara", "family_name": "Testcase", "date_of_birth": "2016-05-02", "relationship": "child"}]);
    let request = send(&app, &other).await;
    let html = lead
        .client
        .get(app.url(&format!("/triage/{request}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("id=\"likely-families\""));
}

async fn plans_readings_and_reviews(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let page = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;

    let response = post_form(
        &lead,
        &app,
        &format!("{page}/actions"),
        &[
            ("goal", ""),
            ("plan_action", ""),
            ("owner", ""),
            ("due_date-day", "soon"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for anchor in ["#goal", "#plan_action", "#owner", "#due_date"] {
        assert!(html.contains(&format!("href=\"{anchor}\"")), "{anchor}");
    }
    let response = post_form(
        &lead,
        &app,
        &format!("{page}/actions"),
        &[
            ("goal", "Amira in school every day"),
            ("plan_action", "Walking bus"),
            ("owner", "Layla"),
            ("due_date-day", "10"),
            ("due_date-month", "1"),
            ("due_date-year", "2026"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);

    let mut scores: Vec<(&str, &str)> = vec![
        ("taken_on-day", "1"),
        ("taken_on-month", "11"),
        ("taken_on-year", "2026"),
        ("score_1", "3"),
        ("score_2", "4"),
        ("score_3", "5"),
        ("score_4", "6"),
        ("score_5", "7"),
        ("score_6", "11"),
    ];
    assert_eq!(
        post_form(&lead, &app, &format!("{page}/readings"), &scores)
            .await
            .status(),
        422,
        "11 is out of range"
    );
    scores[8].1 = "8";
    assert_eq!(
        post_form(&lead, &app, &format!("{page}/readings"), &scores)
            .await
            .status(),
        303
    );
    scores[0].1 = "20";
    scores[3].1 = "6";
    assert_eq!(
        post_form(&lead, &app, &format!("{page}/readings"), &scores)
            .await
            .status(),
        303
    );

    assert_eq!(
        post_form(
            &lead,
            &app,
            &format!("{page}/review"),
            &[
                ("next_review-day", "1"),
                ("next_review-month", "1"),
                ("next_review-year", "2020")
            ]
        )
        .await
        .status(),
        422
    );
    let html = lead
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Walking bus"));
    assert!(
        html.contains("Overdue"),
        "an action past its due date is flagged"
    );
    assert!(html.contains("<svg"), "the journey is drawn");
    assert!(
        html.contains("<th scope=\"row\" class=\"govuk-table__header\">20 November 2026</th>"),
        "and tabled"
    );
    assert!(
        !html.contains("id=\"review-overdue\""),
        "a new case's review is in the future"
    );
    assert_eq!(
        post_form(
            &lead,
            &app,
            &format!("{page}/review"),
            &[
                ("next_review-day", "1"),
                ("next_review-month", "1"),
                ("next_review-year", "2030")
            ]
        )
        .await
        .status(),
        303
    );
    let html = lead
        .client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("next review by 2030-01-01"));
}

async fn the_demo_gives_each_role_something_to_see(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let html = practitioner
        .client
        .get(app.url("/families"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(">Lead<") && html.contains("Team or locality lead"),
        "leads some, in the team of others"
    );
    assert!(html.contains("Overdue"), "some reviews are overdue");
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let queue = lead
        .client
        .get(app.url("/triage"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains("Self-referral"));
    let caseload = lead
        .client
        .get(app.url("/families"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(caseload.contains("Stepped up to social care") && caseload.contains("Closed"));
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let html = outsider
        .client
        .get(app.url("/families"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Involved with none: at most the family the demo gave them break-glass access to.
    assert!(
        !html.contains(">Lead<") && !html.contains("Team or locality lead"),
        "{html}"
    );
    let commissioner = app.sign_in(COMMISSIONER).await;
    assert_eq!(
        commissioner
            .client
            .get(app.url("/families"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let home = practitioner
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/requests/new\"") && home.contains("href=\"/families\""));
}

mod journey {
    //! The whole journey in a real browser, with axe-core on every page.

    use crate::helpers::*;
    use earlyhelp::demo_cases::{ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
    use thirtyfour::prelude::*;

    async fn type_into(browser: &Browser, css: &str, text: &str) {
        let element = browser.driver.find(By::Css(css)).await.unwrap();
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    async fn click(browser: &Browser, css: &str) {
        browser
            .driver
            .find(By::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
        browser.driver.goto(app.url("/sign-in")).await.unwrap();
        type_into(browser, "#email", email).await;
        type_into(browser, "#password", DEMO_PASSWORD).await;
        click(browser, "main form button[type=submit]").await;
        until(browser, "h1", "Welcome").await;
    }

    /// Waits (up to ten seconds) until the element's text contains `needle`; the page may
    /// still be loading after a click.
    async fn until(browser: &Browser, css: &str, needle: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(element) = browser.driver.find(By::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if last.contains(needle) {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{css} never contained {needle:?}; last saw {last:?}");
    }

    async fn sign_out(browser: &Browser) {
        click(browser, ".eh-masthead form button").await;
        until(browser, "h1", "Sign in").await;
    }

    async fn accessible(browser: &Browser, page: &str) {
        let violations = browser.accessibility_violations().await;
        assert!(violations.is_empty(), "{page}: {violations:#?}");
        browser.screenshot(&format!("cases-{page}")).await;
    }

    async fn text(browser: &Browser, css: &str) -> String {
        browser
            .driver
            .find(By::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn request_triage_case_and_known_to_in_a_browser() {
        let Some(browser) = Browser::start().await else {
            return;
        };
        let app = spawn_app(Backend::Sqlite).await;

        // A school practitioner sends a request.
        sign_in(&browser, &app, PRACTITIONER).await;
        browser.driver.goto(app.url("/requests/new")).await.unwrap();
        accessible(&browser, "request-form").await;
        // A date of birth without its month is refused in the Design System's words.
        type_into(&browser, "#member_1_date_of_birth-day", "15").await;
        type_into(&browser, "#member_1_date_of_birth-year", "2017").await;
        click(&browser, "main form button[type=submit]").await;
        until(
            &browser,
            ".govuk-error-summary",
            "Enter at least one family member",
        )
        .await;
        until(
            &browser,
            "#member_1_date_of_birth-error",
            "Date of birth must include a month",
        )
        .await;
        let month = browser
            .driver
            .find(By::Css("#member_1_date_of_birth-month"))
            .await
            .unwrap();
        let class = month.attr("class").await.unwrap().unwrap_or_default();
        assert!(class.contains("govuk-input--error"), "{class}");
        accessible(&browser, "request-form-errors").await;
        for (css, value) in [
            ("#member_1_given_name", "Kai"),
            ("#member_1_family_name", "Browserton"),
            ("#member_1_date_of_birth-month", "6"),
            ("#address", "8 Canal Walk"),
            ("#postcode", "B16 9ZZ"),
            (
                "#summary",
                "Kai is anxious about school and mum is worried about money",
            ),
            ("#consent_given_by", "Mum, Sara Browserton"),
            ("#consent_date-day", "23"),
            ("#consent_date-month", "11"),
            ("#consent_date-year", "2026"),
        ] {
            type_into(&browser, css, value).await;
        }
        browser
            .driver
            .find(By::Css("#member_1_relationship option[value=child]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(&browser, "main form fieldset details summary").await;
        browser
            .driver
            .find(By::Css(
                "#member_1_ethnicity option[value=mixed_white_black_caribbean]",
            ))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        type_into(&browser, "#member_1_school", "Canal Walk Primary").await;
        click(&browser, "input[name=reasons][value=health_wellbeing]").await;
        click(&browser, "input[name=reasons][value=money_housing_work]").await;
        click(&browser, "input[name=need_level][value=additional]").await;
        click(&browser, "input[name=consent_method][value=verbal]").await;
        click(&browser, "main form button[type=submit]").await;
        until(&browser, "h1", "Request sent").await;
        until(&browser, ".govuk-panel__body", "Ladywood").await;
        accessible(&browser, "request-sent").await;
        sign_out(&browser).await;

        // The locality lead triages it and allocates the practitioner as lead.
        sign_in(&browser, &app, LOCALITY_LEAD).await;
        browser.driver.goto(app.url("/triage")).await.unwrap();
        accessible(&browser, "triage-queue").await;
        browser
            .driver
            .find(By::LinkText("Kai Browserton"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        accessible(&browser, "triage-request").await;
        click(&browser, "input[name=outcome][value=locality_early_help]").await;
        type_into(&browser, "#lead_practitioner", PRACTITIONER).await;
        click(&browser, "main form button[type=submit]").await;
        until(&browser, "h1", "Family case: Kai Browserton").await;
        let family_url = browser.driver.current_url().await.unwrap().to_string();
        accessible(&browser, "family-new").await;
        sign_out(&browser).await;

        // The lead practitioner builds the team, the plan, a reading, and closes the case.
        sign_in(&browser, &app, PRACTITIONER).await;
        browser.driver.goto(&family_url).await.unwrap();
        // The contents list counts each section and opens the one it links to.
        until(
            &browser,
            "#contents",
            "Team around the family (0 practitioners)",
        )
        .await;
        click(&browser, "#contents a[href='#team']").await;
        click(&browser, "#team details summary").await;
        type_into(&browser, "#team_email", HEALTH_VISITOR).await;
        type_into(
            &browser,
            "#purpose",
            "health visiting for Kai's baby sister",
        )
        .await;
        click(&browser, "input[name=article6][value=public_task]").await;
        click(&browser, "form[action$='/team'] button").await;
        until(&browser, "#team-list", "Demo Health Visitor").await;
        until(&browser, "#done", "added to the team around the family").await;
        until(
            &browser,
            "#contents",
            "Team around the family (1 practitioner)",
        )
        .await;
        click(&browser, "#contents a[href='#sharing']").await;
        until(
            &browser,
            "#shares",
            "To do our public task (article 6(1)(e)",
        )
        .await;

        // The Early Help assessment, written with the family, then finalised.
        click(&browser, "#contents a[href='#assessment']").await;
        click(&browser, "#assessment-link").await;
        until(&browser, "h1", "Early Help assessment").await;
        for (css, value) in [
            ("#family_story", "Mum lost her job in the autumn"),
            ("#child_voice", "Kai says school is too loud"),
            ("#strengths", "Kai and mum are close"),
            ("#worries", "Rent arrears; Kai missing school"),
            ("#analysis", "Money advice first, then a school plan"),
        ] {
            type_into(&browser, css, value).await;
        }
        click(&browser, "input[name=needs][value=education]").await;
        accessible(&browser, "assessment").await;
        click(&browser, "button[value=finalise]").await;
        until(&browser, "h1", "Finalise the assessment").await;
        type_into(&browser, "#reason", "Agreed with mum at the home visit").await;
        click(&browser, "#confirm-form button").await;
        until(&browser, "#assessments", "Finalised").await;
        click(&browser, "#contents a[href='#plan']").await;
        click(&browser, "#plan details summary").await;
        type_into(&browser, "#goal", "Kai feels safe going to school").await;
        type_into(
            &browser,
            "#plan_action",
            "Weekly check-in with the school mentor",
        )
        .await;
        type_into(&browser, "#owner", "School mentor").await;
        type_into(&browser, "#due_date-day", "31").await;
        type_into(&browser, "#due_date-month", "1").await;
        type_into(&browser, "#due_date-year", "2027").await;
        click(&browser, "form[action$='/actions'] button").await;
        until(&browser, "#plan-actions", "Weekly check-in").await;
        until(&browser, "#plan-actions", "31 January 2027").await;
        until(&browser, "#done", "The action is added to the plan.").await;
        click(&browser, "#contents a[href='#journey']").await;
        click(&browser, "#journey details summary").await;
        type_into(&browser, "#taken_on-day", "23").await;
        type_into(&browser, "#taken_on-month", "11").await;
        type_into(&browser, "#taken_on-year", "2026").await;
        for (i, score) in ["3", "5", "6", "4", "7", "5"].iter().enumerate() {
            type_into(&browser, &format!("#score_{}", i + 1), score).await;
        }
        click(&browser, "form[action$='/readings'] button").await;
        until(&browser, "#readings", "23 November 2026").await;
        browser
            .driver
            .find(By::Css("#journey .eh-chart-wrap svg"))
            .await
            .unwrap();
        accessible(&browser, "family-with-plan").await;
        click(&browser, "#contents a[href='#state']").await;
        click(&browser, "#close").await;
        until(&browser, "h1", "Close the case").await;
        click(&browser, "input[name=closure_reason][value=needs_met]").await;
        click(&browser, "input[name=outcome_education][value=met]").await;
        click(&browser, "input[name^=ending-][value=done]").await;
        type_into(&browser, "#reason", "Kai is going to school every day").await;
        accessible(&browser, "close-confirmation").await;
        click(&browser, "#confirm-form button").await;
        until(&browser, "#case-state", "Closed").await;
        accessible(&browser, "family-closed").await;
        browser.driver.goto(app.url("/families")).await.unwrap();
        accessible(&browser, "caseload").await;
        sign_out(&browser).await;

        // A practitioner from an uninvolved organisation sees only who is involved.
        sign_in(&browser, &app, ERDINGTON_PRACTITIONER).await;
        browser.driver.goto(&family_url).await.unwrap();
        assert_eq!(
            text(&browser, "h1").await,
            "This family is known to early help"
        );
        let page = browser.driver.source().await.unwrap();
        assert!(!page.contains("Weekly check-in") && !page.contains("2017-06-15"));
        until(&browser, "#known-to", "Demo Practitioner").await;
        accessible(&browser, "known-to").await;

        // In an emergency they break glass, and see the record for a few hours.
        click(&browser, "main details summary").await;
        type_into(
            &browser,
            "#break_glass_reason",
            "Kai found alone at the bus station at 11pm",
        )
        .await;
        click(&browser, "form[action$='/break-glass'] button").await;
        until(&browser, "h1", "Family case: Kai Browserton").await;
        click(&browser, "#contents a[href='#sharing']").await;
        until(&browser, "#break-glass", "Waiting for review").await;
        until(
            &browser,
            "#break-glass-banner",
            "under break-glass access until",
        )
        .await;
        accessible(&browser, "break-glass-family").await;
        sign_out(&browser).await;

        // The information governance officer reviews it.
        sign_in(&browser, &app, IG_OFFICER).await;
        browser
            .driver
            .goto(app.url("/audit/break-glass"))
            .await
            .unwrap();
        until(&browser, "main", "Kai found alone at the bus station").await;
        accessible(&browser, "break-glass-review").await;
        type_into(&browser, "textarea[name=note]", "Justified: police request").await;
        click(&browser, "form[action^='/audit/break-glass/'] button").await;
        until(&browser, "main", "Justified: police request").await;
        sign_out(&browser).await;

        // The public self-referral form.
        browser
            .driver
            .goto(app.url("/self-referral"))
            .await
            .unwrap();
        until(&browser, ".govuk-warning-text", "call 999").await;
        accessible(&browser, "self-referral").await;
        browser.quit().await;
    }
}

/// A practitioner sees the requests they sent and what became of each, and nobody else's.
async fn a_referrer_sees_what_became_of_their_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let waiting = send(&app, &amira("B16 8HA")).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let html = practitioner
        .get(&app, "/requests/sent")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Triaged: Locality early help")
            && html.contains(&format!("/families/{family}")),
        "{html}"
    );
    let cell = format!("data-request=\"{waiting}\">Waiting for the locality team");
    assert!(html.contains(&cell), "{html}");
    // Another referrer's list does not hold them.
    let vcs = app.sign_in(VCS_WORKER).await;
    let theirs = vcs.get(&app, "/requests/sent").await.text().await.unwrap();
    assert!(!theirs.contains(&waiting) && !theirs.contains(&family));
    // Those who do not send requests have no such list, and the refusal is audited.
    let analyst = app.sign_in(ANALYST).await;
    assert_eq!(analyst.get(&app, "/requests/sent").await.status(), 403);
}

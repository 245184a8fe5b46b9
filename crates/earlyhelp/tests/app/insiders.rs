//! An insider with another locality's ids: the takeover at triage, made-up ids, the "known to"
//! view without names, and refusals in the audit log, on both databases.

use crate::cases::{amira, open_case, post_form, send, token};
use crate::helpers::*;
use earlyhelp::demo_cases::{ERDINGTON_LEAD, ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
use serde_json::{Value, json};

crate::on_both_backends!(
    a_locality_lead_cannot_take_another_localitys_family_at_triage,
    triage_names_only_a_family_the_duplicate_check_offered,
    the_known_to_view_names_nobody_in_the_family,
    refusals_without_a_record_are_audited,
);

/// A family in Erdington, led by the Erdington practitioner; the same people as `amira`.
pub async fn erdington_family(app: &TestApp) -> String {
    let mut body = amira("B23 6AB");
    body["address"] = json!("4 Erdington Road");
    let request = send(app, &body).await;
    let response = client()
        .post(app.url(&format!("/api/requests/{request}/triage")))
        .bearer_auth(token(app, ERDINGTON_LEAD).await)
        .json(
            &json!({"outcome": "locality_early_help", "lead_practitioner": ERDINGTON_PRACTITIONER}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let triaged: Value = response.json().await.unwrap();
    triaged["family_id"].as_str().unwrap().to_string()
}

async fn lead_of(app: &TestApp, family: &str) -> String {
    let record: Value = client()
        .get(app.url(&format!("/api/families/{family}")))
        .bearer_auth(token(app, ERDINGTON_PRACTITIONER).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    record["records"]["lead_email"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn a_locality_lead_cannot_take_another_localitys_family_at_triage(backend: Backend) {
    let app = spawn_app(backend).await;
    let erdington = erdington_family(&app).await;
    assert_eq!(lead_of(&app, &erdington).await, ERDINGTON_PRACTITIONER);
    // A Ladywood request for the same people: the duplicate check finds them in Erdington.
    let request = send(&app, &amira("B16 8HA")).await;
    let ladywood = app.sign_in(LOCALITY_LEAD).await;
    let page = ladywood.get(&app, &format!("/triage/{request}")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"known-elsewhere\""), "{html}");
    assert!(
        !html.contains(&format!("<option value=\"{erdington}\"")),
        "another locality's family is not offered"
    );

    // The form sent anyway, naming the Erdington family and themselves as lead: refused.
    for (path, api) in [(format!("/triage/{request}"), false), (String::new(), true)] {
        let response = if api {
            client()
                .post(app.url(&format!("/api/requests/{request}/triage")))
                .bearer_auth(token(&app, LOCALITY_LEAD).await)
                .json(&json!({"outcome": "locality_early_help", "lead_practitioner": LOCALITY_LEAD, "existing_family": erdington}))
                .send()
                .await
                .unwrap()
        } else {
            post_form(
                &ladywood,
                &app,
                &path,
                &[
                    ("outcome", "locality_early_help"),
                    ("lead_practitioner", LOCALITY_LEAD),
                    ("existing_family", &erdington),
                ],
            )
            .await
        };
        assert_eq!(response.status(), 422, "api: {api}");
        let body = response.text().await.unwrap();
        assert!(body.contains("existing_family"), "names the field: {body}");
    }
    assert_eq!(
        lead_of(&app, &erdington).await,
        ERDINGTON_PRACTITIONER,
        "the Erdington family keeps its lead"
    );
    // The Ladywood lead still sees only the known-to view, and the refusal is audited.
    let html = ladywood
        .get(&app, &format!("/families/{erdington}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("This family is known to early help"));
    assert!(!html.contains("4 Erdington Road"));
    let audit = app.audit_of(&format!("family:{erdington}")).await;
    assert!(audit.contains(&(LOCALITY_LEAD.into(), "update".into(), "denied".into())));
    // The request is still waiting, untouched.
    let html = ladywood
        .get(&app, &format!("/triage/{request}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Record triage"));
}

async fn triage_names_only_a_family_the_duplicate_check_offered(backend: Backend) {
    let app = spawn_app(backend).await;
    // A Ladywood family of other people: the lead may change it, but it was not offered.
    let ladywood_family = open_case(&app).await;
    let mut others = amira("B16 8HA");
    others["members"] = json!([{"given_name": "Zeynep", "family_name": "Other", "date_of_birth": "2012-07-07", "relationship": "child"}]);
    let request = send(&app, &others).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let made_up = uuid::Uuid::now_v7().to_string();
    for existing in [ladywood_family.as_str(), made_up.as_str(), "not-an-id"] {
        let response = post_form(
            &lead,
            &app,
            &format!("/triage/{request}"),
            &[
                ("outcome", "locality_early_help"),
                ("lead_practitioner", HEALTH_VISITOR),
                ("existing_family", existing),
            ],
        )
        .await;
        assert_eq!(response.status(), 422, "{existing}");
        let html = response.text().await.unwrap();
        assert!(html.contains("href=\"#existing_family\""), "{existing}");
    }
    // A family the check offered, in the lead's locality, keeps its lead practitioner.
    let again = send(&app, &amira("B16 8HA")).await;
    let response = post_form(
        &lead,
        &app,
        &format!("/triage/{again}"),
        &[
            ("outcome", "locality_early_help"),
            ("lead_practitioner", HEALTH_VISITOR),
            ("existing_family", &ladywood_family),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let practitioner = app.sign_in(PRACTITIONER).await;
    let html = practitioner
        .get(&app, &format!("/families/{ladywood_family}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Attendance has dropped since the winter"),
        "the referrer's words"
    );
    let record: Value = client()
        .get(app.url(&format!("/api/families/{ladywood_family}")))
        .bearer_auth(token(&app, PRACTITIONER).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        record["records"]["lead_email"], PRACTITIONER,
        "the open case keeps its lead"
    );
}

async fn the_known_to_view_names_nobody_in_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let page = format!("/families/{family}");
    for email in [ERDINGTON_PRACTITIONER, VCS_WORKER] {
        let outsider = app.sign_in(email).await;
        let response = outsider.get(&app, &page).await;
        assert_eq!(response.status(), 200, "{email}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("This family is known to early help"),
            "{email}"
        );
        for private in [
            "Amira",
            "Layla",
            "Testcase",
            "2016-05-02",
            "12 Test Road",
            "B16 8HA",
        ] {
            assert!(!html.contains(private), "{email} sees {private}");
        }
        assert!(
            html.contains(PRACTITIONER),
            "the lead practitioner's contact"
        );
        assert!(
            html.contains("Locality team"),
            "the locality team's contact"
        );
    }
    // After the family withdraws consent: only the locality team's contact.
    let lead = app.sign_in(PRACTITIONER).await;
    let response = crate::serious::withdraw_all_consent(&app, &lead, &family).await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let outsider = app.sign_in(VCS_WORKER).await;
    let html = outsider.get(&app, &page).await.text().await.unwrap();
    assert!(html.contains("withdrawn consent"));
    assert!(
        !html.contains(PRACTITIONER),
        "no lead practitioner after withdrawal"
    );
    assert!(html.contains("Locality team"));
    assert!(!html.contains("Amira"));
}

async fn refusals_without_a_record_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let commissioner = app.sign_in(COMMISSIONER).await;
    let response = commissioner.get(&app, "/outcomes/uploads/new").await;
    assert_eq!(response.status(), 403);
    let audit = app.audit_of("/outcomes/uploads/new").await;
    assert_eq!(
        audit,
        vec![(COMMISSIONER.into(), "read".into(), "denied".into())],
        "a page the role may not open"
    );
    // A refusal the gate decided is written once, not twice.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(practitioner.get(&app, "/audit").await.status(), 403);
    assert!(app.audit_of("/audit").await.is_empty());
    assert!(app.audit_of("audit_log").await.contains(&(
        PRACTITIONER.into(),
        "list".into(),
        "denied".into()
    )));
}

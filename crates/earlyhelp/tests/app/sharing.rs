//! What makes sharing a family's record defensible, on both databases: each person's details,
//! the Early Help assessment, the lawful basis of each share (separate from consent), and
//! break-glass access with the information governance officer's review.

use crate::cases::{amira, open_case, post_form, send, token};
use crate::helpers::*;
use earlyhelp::demo_cases::{ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
use serde_json::Value;

crate::on_both_backends!(
    member_details_travel_from_request_to_case,
    an_assessment_is_drafted_finalised_and_then_fixed,
    a_share_on_another_lawful_basis_survives_withdrawn_consent,
    break_glass_opens_the_record_for_hours_and_is_reviewed,
);

/// The family's record as the API gives it to `email`.
async fn family_json(app: &TestApp, email: &str, family: &str) -> Value {
    let body: Value = client()
        .get(app.url(&format!("/api/families/{family}")))
        .bearer_auth(token(app, email).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["records"].clone()
}

async fn page(session: &Session, app: &TestApp, path: &str) -> (u16, String) {
    let response = session.get(app, path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn member_details_travel_from_request_to_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = amira("B16 8HA");
    body["members"][0]["ethnicity"] = "asian_pakistani".into();
    body["members"][0]["languages"] = "English, Urdu".into();
    body["members"][0]["send"] = "ehc_plan".into();
    body["members"][0]["school"] = "Oakfield Primary".into();
    body["members"][1]["ethnicity"] = "martian".into();
    let response = client()
        .post(app.url("/api/requests"))
        .bearer_auth(token(&app, PRACTITIONER).await)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problems: Value = response.json().await.unwrap();
    assert!(
        problems.to_string().contains("member_2_ethnicity"),
        "{problems}"
    );

    body["members"][1]["ethnicity"] = "".into();
    let details_request = send(&app, &body).await;
    let triaged: Value = client()
        .post(app.url(&format!("/api/requests/{details_request}/triage")))
        .bearer_auth(token(&app, LOCALITY_LEAD).await)
        .json(&serde_json::json!({"outcome": "locality_early_help", "lead_practitioner": PRACTITIONER, "note": "school leads"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_details = triaged["family_id"].as_str().unwrap();
    let record = family_json(&app, PRACTITIONER, with_details).await;
    let child = record["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["given_name"] == "Amira")
        .unwrap()
        .clone();
    assert_eq!(child["ethnicity"], "asian_pakistani");
    assert_eq!(child["send"], "ehc_plan");
    assert_eq!(child["school"], "Oakfield Primary");
    let lead = app.sign_in(PRACTITIONER).await;
    let (_, html) = page(&lead, &app, &format!("/families/{with_details}")).await;
    assert!(html.contains("Ethnic group: Asian or Asian British: Pakistani"));
    assert!(html.contains("Education, health and care plan"));
    assert!(html.contains("School: Oakfield Primary"));
}

async fn an_assessment_is_drafted_finalised_and_then_fixed(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let path = format!("/families/{family}/assessment");
    let lead = app.sign_in(PRACTITIONER).await;

    let response = post_form(
        &lead,
        &app,
        &path,
        &[
            ("intent", "save"),
            ("family_story", "We moved in the summer"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303, "a partial draft saves");
    let (_, draft) = page(&lead, &app, &path).await;
    assert!(
        draft.contains("We moved in the summer"),
        "the draft is kept"
    );

    let response = post_form(
        &lead,
        &app,
        &path,
        &[
            ("intent", "finalise"),
            ("family_story", "We moved in the summer"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for field in ["child_voice", "strengths", "worries", "analysis", "needs"] {
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
    }

    let whole = [
        ("intent", "finalise"),
        ("family_story", "We moved in the summer"),
        ("child_voice", "Amira misses her friends"),
        ("strengths", "Close, loving family"),
        ("worries", "Rent arrears and attendance"),
        ("needs", "money_housing_work"),
        ("needs", "education"),
        ("analysis", "Debt advice first, then a school plan"),
    ];
    assert_eq!(post_form(&lead, &app, &path, &whole).await.status(), 303);
    let finalise = format!("/families/{family}/finalise-assessment");
    let confirmed = post_form(
        &lead,
        &app,
        &finalise,
        &[("reason", "Agreed with the family")],
    );
    assert_eq!(confirmed.await.status(), 303);
    let (_, case) = page(&lead, &app, &format!("/families/{family}")).await;
    assert!(case.contains("Early Help assessment finalised"));
    assert!(case.contains("Start a reassessment"));
    let record = family_json(&app, PRACTITIONER, &family).await;
    let finalised = &record["assessments"][0];
    assert_eq!(finalised["status"], "final");
    assert_eq!(finalised["needs"], "money_housing_work,education");

    // A finalised assessment does not change: the next save starts a reassessment.
    let (_, fresh) = page(&lead, &app, &path).await;
    assert!(
        !fresh.contains("Close, loving family"),
        "a new draft is empty"
    );
    let id = finalised["id"].as_str().unwrap();
    let (status, read_only) = page(&lead, &app, &format!("{path}/{id}")).await;
    assert_eq!(status, 200);
    assert!(read_only.contains("Close, loving family") && !read_only.contains("<textarea"));

    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    assert_eq!(page(&outsider, &app, &format!("{path}/{id}")).await.0, 404);
    assert_eq!(
        post_form(&outsider, &app, &path, &whole).await.status(),
        404
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "update".into(),
        "denied".into()
    )));
}

async fn a_share_on_another_lawful_basis_survives_withdrawn_consent(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;

    let response = post_form(
        &lead,
        &app,
        &format!("{case}/team"),
        &[("team_email", HEALTH_VISITOR), ("article9", "horoscope")],
    )
    .await;
    assert_eq!(response.status(), 422, "a share needs its lawful basis");
    let html = response.text().await.unwrap();
    for field in ["purpose", "article6", "article9"] {
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
    }
    let response = post_form(
        &lead,
        &app,
        &format!("{case}/team"),
        &[
            ("team_email", HEALTH_VISITOR),
            ("purpose", "health visiting for the baby"),
            ("article6", "public_task"),
            ("article9", "health_social_care"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, html) = page(&lead, &app, &case).await;
    assert!(html.contains("To do our public task (article 6(1)(e)"));
    assert!(html.contains("For health or social care (article 9(2)(h))"));

    assert_eq!(
        crate::serious::withdraw_all_consent(&app, &lead, &family)
            .await
            .status(),
        303
    );
    let partner = app.sign_in(HEALTH_VISITOR).await;
    let (status, html) = page(&partner, &app, &case).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Family case:"),
        "a share on a public task does not end with consent"
    );
}

async fn break_glass_opens_the_record_for_hours_and_is_reviewed(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;

    let (_, known_to) = page(&outsider, &app, &case).await;
    assert!(known_to.contains("Break glass"));
    let response = post_form(
        &outsider,
        &app,
        &format!("{case}/break-glass"),
        &[("break_glass_reason", "urgent")],
    )
    .await;
    assert_eq!(response.status(), 422, "a one-word reason is not enough");
    let reason = "Police called: Amira found alone at the station at night";
    let response = post_form(
        &outsider,
        &app,
        &format!("{case}/break-glass"),
        &[("break_glass_reason", reason)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (status, html) = page(&outsider, &app, &case).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Family case:"),
        "break glass opens the whole record"
    );
    assert!(html.contains("Waiting for review"));
    assert!(
        html.contains("under break-glass access until"),
        "they are told"
    );
    let lead = app.sign_in(PRACTITIONER).await;
    let (_, lead_view) = page(&lead, &app, &case).await;
    assert!(
        !lead_view.contains("under break-glass access until"),
        "only the one who broke glass sees the banner"
    );

    let commissioner = app.sign_in(COMMISSIONER).await;
    let response = post_form(
        &commissioner,
        &app,
        &format!("{case}/break-glass"),
        &[("break_glass_reason", reason)],
    )
    .await;
    assert_eq!(
        response.status(),
        404,
        "no person-level data, not even in an emergency"
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(COMMISSIONER.into(), "create".into(), "denied".into())));
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "create".into(),
        "allowed".into()
    )));

    assert_eq!(page(&outsider, &app, "/audit/break-glass").await.0, 403);
    let ig = app.sign_in(IG_OFFICER).await;
    let (status, queue) = page(&ig, &app, "/audit/break-glass").await;
    assert_eq!(status, 200);
    assert!(queue.contains("Amira found alone at the station"));
    assert!(
        queue.contains("read case record"),
        "what they looked at is listed"
    );
    let grant = queue
        .split("action=\"/audit/break-glass/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let review = format!("/audit/break-glass/{grant}");
    assert_eq!(
        post_form(&ig, &app, &review, &[("note", " ")])
            .await
            .status(),
        422
    );
    let justified = [
        ("verdict", "justified"),
        ("note", "Justified: safeguarding emergency"),
    ];
    assert_eq!(
        post_form(&ig, &app, &review, &justified).await.status(),
        303
    );
    assert_eq!(
        post_form(&ig, &app, &review, &justified).await.status(),
        422,
        "a review is recorded once"
    );
    let (_, html) = page(&ig, &app, "/audit/break-glass").await;
    assert!(html.contains("Justified: safeguarding emergency"));
}

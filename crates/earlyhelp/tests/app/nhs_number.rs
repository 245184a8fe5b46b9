//! The consistent child identifier (issue 14, item 6): an NHS number through the API, the
//! request form and the family page, refused by field when its check digit fails; families
//! found by it only by those who may open them; and the log of decisions not to share, which
//! the information governance officer reads across localities. On both databases.

use crate::cases::{amira, open_case_of, post_form, token};
use crate::helpers::*;
use earlyhelp::demo_cases::ERDINGTON_PRACTITIONER;
use earlyhelp_domain::nhs_number::NhsNumber;
use serde_json::{Value, json};

crate::on_both_backends!(
    an_nhs_number_travels_by_api_form_and_family_page,
    families_are_found_by_nhs_number_and_decisions_not_to_share_are_logged,
);

/// Amira (NHS number 943 476 5919) and her mother (number not known), as a request body.
fn amira_with_nhs() -> Value {
    let mut body = amira("B16 8HA");
    body["members"][0]["nhs_number"] = json!("943 476 5919");
    body["members"][1]["nhs_number_missing"] = json!("not_known");
    body
}

/// Family `family`'s members, as the API gives them to its lead practitioner.
async fn members_of(app: &TestApp, family: &str) -> Vec<Value> {
    let record: Value = client()
        .get(app.url(&format!("/api/families/{family}")))
        .bearer_auth(token(app, PRACTITIONER).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    record["records"]["members"].as_array().unwrap().clone()
}

/// The family member ids offered by the family page's NHS number form, in page order.
fn nhs_member_ids(html: &str) -> Vec<String> {
    let marker = "name=\"nhs_member\" type=\"radio\" value=\"";
    html.match_indices(marker)
        .map(|(at, _)| html[at + marker.len()..at + marker.len() + 36].to_string())
        .collect()
}

async fn an_nhs_number_travels_by_api_form_and_family_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case_of(&app, &amira_with_nhs()).await;
    let members = members_of(&app, &family).await;
    let amira = members.iter().find(|m| m["given_name"] == "Amira").unwrap();
    assert_eq!(amira["nhs_number"], "9434765919", "the API reads it back");
    let layla = members.iter().find(|m| m["given_name"] == "Layla").unwrap();
    assert_eq!(layla["nhs_number_missing"], "not_known");
    let doc: Value = client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = &doc["components"]["schemas"]["MemberBody"]["properties"];
    assert!(
        member["nhs_number"]["description"].is_string() && member["nhs_number_missing"].is_object()
    );

    // A number failing its check digit is refused by the API, by field, and nothing is stored.
    let mut bad = amira_with_nhs();
    bad["members"][0]["nhs_number"] = json!("943 476 5918");
    let response = client()
        .post(app.url("/api/requests"))
        .bearer_auth(token(&app, PRACTITIONER).await)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problems: Value = response.json().await.unwrap();
    assert_eq!(problems["problems"][0]["field"], "member_1_nhs_number");

    // The request form: a bad number is named and everything typed is kept; a good one is sent.
    let practitioner = app.sign_in(PRACTITIONER).await;
    let mut form = crate::cases::form_pairs(&practitioner.csrf, "B16 8HA");
    form.push(("member_1_nhs_number", "401 023 2138".into()));
    let response = practitioner.post(&app, "/requests/new", &form).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"#member_1_nhs_number\""), "{html}");
    assert!(html.contains("Enter a valid NHS number of family member 1"));
    assert!(html.contains("value=\"Formfamily\"") && html.contains("value=\"401 023 2138\""));
    form.last_mut().unwrap().1 = "401 023 2137".into();
    let response = practitioner.post(&app, "/requests/new", &form).await;
    assert_eq!(response.status(), 200);

    // The family page shows the number to those who may read the family, and changes it.
    let page = practitioner.get(&app, &format!("/families/{family}")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("NHS number: 943 476 5919"));
    assert!(html.contains("NHS number: Not known"));
    let ids = nhs_member_ids(&html);
    assert_eq!(ids.len(), 2, "one choice a member");
    let path = format!("/families/{family}/nhs-number");
    let refused = post_form(
        &practitioner,
        &app,
        &path,
        &[("nhs_member", ids[0].as_str()), ("nhs_number", "12345")],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("href=\"#nhs_number\"") && html.contains("value=\"12345\""));
    let changed = post_form(
        &practitioner,
        &app,
        &path,
        &[
            ("nhs_member", ids[0].as_str()),
            ("nhs_number", "401-023-2137"),
        ],
    )
    .await;
    assert_eq!(changed.status(), 303);
    let html = practitioner
        .get(&app, &format!("/families/{family}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("NHS number: 401 023 2137"));
    assert!(html.contains("NHS number recorded for"));
    // Triage's duplicate check finds the family by the number, under a new name and date.
    let mut renamed = crate::cases::amira("B16 9AA");
    renamed["members"] = json!([{"given_name": "Amira", "family_name": "Newname",
        "date_of_birth": "2016-02-05", "relationship": "child", "nhs_number": "9434765919"}]);
    let request = crate::cases::send(&app, &renamed).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let html = lead
        .get(&app, &format!("/triage/{request}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"likely-families\"") && html.contains(&family));
    assert!(
        html.contains(">943 476 5919<"),
        "the lead sees the number asked about"
    );
    // Another locality's practitioner may not change it.
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let refused = post_form(
        &outsider,
        &app,
        &path,
        &[
            ("nhs_member", ids[0].as_str()),
            ("nhs_number", "943 476 5919"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 404);

    // A request joining a family we know brings the numbers its members lack.
    let known = open_case_of(&app, &crate::cases::amira("B16 8HA")).await;
    let request = crate::cases::send(&app, &amira_with_nhs()).await;
    let joined = client()
        .post(app.url(&format!("/api/requests/{request}/triage")))
        .bearer_auth(token(&app, LOCALITY_LEAD).await)
        .json(
            &json!({"outcome": "locality_early_help", "lead_practitioner": PRACTITIONER,
            "existing_family": known}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
    let numbers: Vec<String> = members_of(&app, &known)
        .await
        .iter()
        .map(|m| m["nhs_number"].as_str().unwrap().to_string())
        .collect();
    assert!(numbers.contains(&"9434765919".to_string()), "{numbers:?}");
}

async fn families_are_found_by_nhs_number_and_decisions_not_to_share_are_logged(backend: Backend) {
    let app = spawn_app(backend).await;
    // The demo's children carry NHS numbers that pass the check.
    let sql = "SELECT nhs_number FROM family_members WHERE nhs_number <> ''";
    let demo: Vec<String> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
    });
    assert!(demo.len() > 50, "{} demo NHS numbers", demo.len());
    assert!(demo.iter().all(|n| NhsNumber::parse(n).is_some()));
    let family = open_case_of(&app, &amira_with_nhs()).await;
    let search = "/families?nhs_number=943-476-5919";

    let practitioner = app.sign_in(PRACTITIONER).await;
    let found = practitioner.get(&app, search).await;
    assert_eq!(found.status(), 200);
    assert!(found.text().await.unwrap().contains(&family));
    let asked: Vec<String> = crate::home::purposes(&app, PRACTITIONER, "caseload")
        .await
        .into_iter()
        .map(|(purpose, _)| purpose)
        .collect();
    assert!(
        asked.iter().any(|p| p.contains("NHS number=943-476-5919")),
        "{asked:?}"
    );
    let bad = practitioner
        .get(&app, "/families?nhs_number=9434765918")
        .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("href=\"#nhs_number\""));

    // An insider in another locality finds nothing; a role without cases may not search.
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let found = outsider.get(&app, search).await;
    assert_eq!(found.status(), 200);
    assert!(!found.text().await.unwrap().contains(&family));
    let commissioner = app.sign_in(COMMISSIONER).await;
    assert_eq!(commissioner.get(&app, search).await.status(), 403);

    // A decision not to share: every missing answer named; then recorded, by who decided.
    let path = format!("/families/{family}/not-shared");
    let refused = post_form(&practitioner, &app, &path, &[("information", "")]).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    for field in ["#information", "#withheld_from", "#not_shared_reason"] {
        assert!(html.contains(&format!("href=\"{field}\"")), "{field}");
    }
    let decision = [
        ("information", "Where the mother now lives"),
        ("withheld_from", "Oakfield Housing Association"),
        (
            "not_shared_reason",
            "The father must not learn where they live",
        ),
        ("decided_by", "Sam Patel, team manager"),
    ];
    let made = post_form(&practitioner, &app, &path, &decision).await;
    assert_eq!(made.status(), 303);
    let refused = post_form(&outsider, &app, &path, &decision).await;
    assert_eq!(refused.status(), 404, "another locality may not add one");

    // The information governance officer sees it, in its locality; a practitioner may not.
    let ig = app.sign_in(IG_OFFICER).await;
    let home = ig.get(&app, "/").await.text().await.unwrap();
    assert!(home.contains("href=\"/governance/not-shared\""));
    let list = ig.get(&app, "/governance/not-shared").await;
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    assert!(html.contains("Where the mother now lives"));
    assert!(
        html.contains("Oakfield Housing Association") && html.contains("Sam Patel, team manager")
    );
    assert!(html.contains("Ladywood"));
    assert_eq!(
        outsider.get(&app, "/governance/not-shared").await.status(),
        403
    );
    assert_eq!(
        practitioner
            .get(&app, "/governance/not-shared")
            .await
            .status(),
        403
    );
    let page = outsider.get(&app, &format!("/families/{family}")).await;
    assert!(
        !page
            .text()
            .await
            .unwrap()
            .contains("Oakfield Housing Association")
    );
    let audit = app.audit_of("not_shared").await;
    assert!(audit.contains(&(IG_OFFICER.into(), "list".into(), "allowed".into())));
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "list".into(),
        "denied".into()
    )));

    // The subject access request carries the decision and her NHS number.
    let found = ig.get(&app, "/governance?name=amira+testcase").await;
    let html = found.text().await.unwrap();
    let marker = "href=\"/governance/people/";
    let start = html.find(marker).expect("Amira is found") + marker.len();
    let person = html[start..start + 36].to_string();
    let sar: Value = ig
        .get(&app, &format!("/governance/people/{person}/sar.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sar["person"]["nhs_number"], "9434765919");
    assert_eq!(
        sar["not_shared"][0]["withheld_from"],
        "Oakfield Housing Association"
    );
}

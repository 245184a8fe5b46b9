//! The Family Help practice model (`EARLYHELP_PRACTICE_MODEL=family-help`), on both databases:
//! stepping a case between levels with who decided and why, refused to anyone but its leads;
//! the family network and family group decision making, and both in a subject access request.
//! The default model's own pages are held to what they were by the rest of the suite.

use crate::browser::{assert_accessible, sign_in};
use crate::cases::{open_case, post_form as post};
use crate::helpers::*;
use crate::serious::{member_id, purposes};
use earlyhelp::demo_cases::{ERDINGTON_LEAD, HEALTH_VISITOR};
use earlyhelp_domain::family_help::PracticeModel;
use serde_json::Value;
use thirtyfour::By;
use uuid::Uuid;

crate::on_both_backends!(
    stepping_between_levels_says_who_and_why_and_only_the_cases_leads_may,
    the_family_network_and_family_group_decision_making_reach_the_subject_access_request,
);

async fn spawn_family_help(backend: Backend) -> TestApp {
    let config = earlyhelp_web::Config {
        practice_model: PracticeModel::FamilyHelp,
        ..test_config()
    };
    spawn_app_with(backend, config).await
}

async fn user_id(app: &TestApp, email: &str) -> String {
    let sql = "SELECT id FROM users WHERE email = $1";
    let id: Uuid = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql).bind(email).fetch_one(pool).await.unwrap()
    });
    id.to_string()
}

/// Posts `fields` to `path`; the status.
async fn status(session: &Session, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> u16 {
    post(session, app, path, fields).await.status().as_u16()
}

/// Posts a form that is refused with 422, its error summary linking to `field`.
async fn refused(
    session: &Session,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    field: &str,
) {
    let response = post(session, app, path, fields).await;
    assert_eq!(response.status(), 422, "{path} without {field}");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("href=\"#{field}\"")),
        "{field}: {html}"
    );
}

async fn page(session: &Session, app: &TestApp, path: &str) -> String {
    let response = session.get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response
        .text()
        .await
        .unwrap()
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
}

/// The text of the element with `id` on the page, up to its first tag.
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("#{id} on the page"))
        + marker.len();
    html[start..].split('<').next().unwrap().to_string()
}

async fn stepping_between_levels_says_who_and_why_and_only_the_cases_leads_may(backend: Backend) {
    let app = spawn_family_help(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let level = format!("{case}/level");
    let lead = app.sign_in(PRACTITIONER).await;

    let html = page(&lead, &app, &case).await;
    assert_eq!(
        text_of(&html, "help-level"),
        "Targeted Family Help",
        "a request for additional needs starts at targeted Family Help"
    );
    assert!(html.contains("Family Help lead practitioner"));
    let families = page(&lead, &app, "/families").await;
    assert!(
        families.contains("Family Help lead practitioner</th>"),
        "the caseload's words too"
    );
    let locality_lead = app.sign_in(LOCALITY_LEAD).await;
    let home = page(&locality_lead, &app, "/").await;
    assert!(
        home.contains("Family Help lead practitioner</th>"),
        "the locality lead's caseloads too"
    );
    assert!(html.contains("id=\"level-form\""));
    assert!(
        !html.contains("id=\"step-up\""),
        "the level replaces stepping up to social care"
    );
    assert_eq!(
        lead.get(&app, &format!("{case}/state/step_up"))
            .await
            .status(),
        404
    );

    // No reason, and child protection without its lead: 422 naming each field, nothing changes.
    refused(
        &lead,
        &app,
        &level,
        &[("level", "child_in_need")],
        "level_reason",
    )
    .await;
    refused(
        &lead,
        &app,
        &level,
        &[("level", "child_protection"), ("level_reason", "Bruising")],
        "lead_cp_practitioner",
    )
    .await;

    // In the team around the family, a health visitor reads the case but is not offered the
    // form, and may not change its level.
    let add = [
        ("team_email", HEALTH_VISITOR),
        ("purpose", "health visiting"),
        ("article6", "public_task"),
    ];
    assert_eq!(
        status(&lead, &app, &format!("{case}/team"), &add).await,
        303
    );
    let health_visitor = app.sign_in(HEALTH_VISITOR).await;
    let html = page(&health_visitor, &app, &case).await;
    assert_eq!(text_of(&html, "help-level"), "Targeted Family Help");
    assert!(!html.contains("id=\"level-form\""));
    // The team member, another locality's lead with the family's id, and a role without
    // cases: refused (as not found), audited.
    for outsider in [HEALTH_VISITOR, ERDINGTON_LEAD, COMMISSIONER] {
        let session = app.sign_in(outsider).await;
        let why = [("level", "universal_plus"), ("level_reason", "Tidying up")];
        assert_eq!(
            status(&session, &app, &level, &why).await,
            404,
            "{outsider}"
        );
        let audit = app.audit_of(&format!("family:{family}")).await;
        assert!(
            audit.contains(&(outsider.into(), "update".into(), "denied".into())),
            "{outsider}: {audit:?}"
        );
    }
    let html = page(&lead, &app, &case).await;
    assert_eq!(text_of(&html, "help-level"), "Targeted Family Help");

    let why = "Neglect concerns after the home visit";
    let response = post(
        &lead,
        &app,
        &level,
        &[("level", "child_in_need"), ("level_reason", why)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let html = page(
        &lead,
        &app,
        response.headers()["location"].to_str().unwrap(),
    )
    .await;
    assert!(html.contains("govuk-notification-banner--success"));
    assert_eq!(text_of(&html, "help-level"), "Child in need (section 17)");
    assert!(html.contains(&format!(
        "Stepped up from Targeted Family Help to Child in need (section 17). Why: {why}"
    )));
    let history = &html[html
        .find("id=\"level-history\"")
        .expect("the level history")..];
    assert!(history.contains(why) && history.contains("Demo Practitioner"));
    // The audit purpose names the level, not the reason (which may name other people).
    let audit = purposes(&app, &format!("family:{family}")).await;
    assert!(audit.contains(&(
        PRACTITIONER.into(),
        "change the case's level to Child in need (section 17)".into()
    )));
    assert!(!audit.iter().any(|(_, p)| p.contains(why)), "{audit:?}");

    // The locality lead steps it to child protection, naming the lead practitioner as its lead
    // child protection practitioner; someone with no access to the case cannot be named.
    let locality_lead = app.sign_in(LOCALITY_LEAD).await;
    let stranger = user_id(&app, ERDINGTON_LEAD).await;
    let to_cp = |who: &str| {
        owned(&[
            ("level", "child_protection"),
            ("lead_cp_practitioner", who),
            ("level_reason", "Strategy discussion held"),
        ])
    };
    // Refused by storage's check in the transaction (the form named someone).
    let named = to_cp(&stranger);
    refused(
        &locality_lead,
        &app,
        &level,
        &refs(&named),
        "lead_cp_practitioner",
    )
    .await;
    let practitioner = user_id(&app, PRACTITIONER).await;
    let named = to_cp(&practitioner);
    assert_eq!(
        status(&locality_lead, &app, &level, &refs(&named)).await,
        303
    );
    let html = page(&lead, &app, &case).await;
    assert_eq!(text_of(&html, "help-level"), "Child protection");
    assert!(text_of(&html, "lead-cp").starts_with("Demo Practitioner"));
    assert!(html.contains("Lead child protection practitioner: Demo Practitioner"));

    // Closing the case ends the role: no lead child protection practitioner stays behind.
    let close = [
        ("event", "close"),
        ("closure_reason", "needs_met"),
        ("needs", "education"),
        ("outcome_education", "met"),
        ("needs", "health_wellbeing"),
        ("outcome_health_wellbeing", "met"),
        ("reason", "Plan complete"),
    ];
    assert_eq!(
        status(&lead, &app, &format!("{case}/state"), &close).await,
        303
    );
    let sql = "SELECT lead_cp_practitioner FROM families WHERE id = $1";
    let id = Uuid::parse_str(&family).unwrap();
    let lead_cp: Option<Uuid> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql).bind(id).fetch_one(pool).await.unwrap()
    });
    assert_eq!(lead_cp, None, "cleared at closure");
}

async fn the_family_network_and_family_group_decision_making_reach_the_subject_access_request(
    backend: Backend,
) {
    let app = spawn_family_help(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;

    let nan = [
        ("name", "Nasreen Testnan"),
        ("relationship", "Grandmother"),
        ("contact", "07700 900123"),
        ("in_plan", "yes"),
    ];
    // Whether they are in the plan is asked.
    refused(
        &lead,
        &app,
        &format!("{case}/network/new"),
        &nan[..2],
        "in_plan",
    )
    .await;
    assert_eq!(
        status(&lead, &app, &format!("{case}/network/new"), &nan).await,
        303
    );
    let neighbour = [
        ("name", "Mr Testneighbour"),
        ("relationship", "Neighbour"),
        ("in_plan", "no"),
    ];
    assert_eq!(
        status(&lead, &app, &format!("{case}/network/new"), &neighbour).await,
        303
    );
    let html = page(&lead, &app, &case).await;
    let link = |name: &str| {
        let row = &html[..html.find(name).unwrap_or_else(|| panic!("{name} listed"))];
        let start = row.rfind("<tr").unwrap();
        let rest = &html[start..];
        let marker = format!("href=\"{case}/network/");
        let at = rest.find(&marker).unwrap() + marker.len();
        format!("{case}/network/{}", &rest[at..at + 36])
    };
    let (nan_page, neighbour_page) = (link("Nasreen Testnan"), link("Mr Testneighbour"));
    assert_eq!(text_of(&html, "network-summary"), "2 people");
    // Change one, remove the other.
    assert!(
        page(&lead, &app, &nan_page)
            .await
            .contains("value=\"07700 900123\"")
    );
    let changed = [
        ("name", "Nasreen Testnan"),
        ("relationship", "Grandmother"),
        ("contact", "07700 900999"),
        ("in_plan", "yes"),
    ];
    assert_eq!(status(&lead, &app, &nan_page, &changed).await, 303);

    // Family group decision making: a declined offer says why; a meeting held records who came,
    // only people in the network and not too many of them.
    let new = format!("{case}/family-group/new");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let mut declined = owned(&[("uptake", "declined")]);
    declined.extend(date_boxes("offered_on", &today));
    refused(&lead, &app, &new, &refs(&declined), "declined_reason").await;
    let plan = "Nasreen collects Amira from school on Tuesdays, Mr Testneighbour on Fridays";
    let meeting = |attendees: &[&str]| {
        let mut held = owned(&[("uptake", "yes"), ("plan", plan)]);
        held.extend(
            attendees
                .iter()
                .map(|a| ("attendees".to_string(), a.to_string())),
        );
        held.extend(date_boxes("offered_on", &today));
        held.extend(date_boxes("meeting_on", &today));
        held
    };
    let stranger = meeting(&["Nasreen Testnan", "Someone Notinthenetwork"]);
    refused(&lead, &app, &new, &refs(&stranger), "attendees").await;
    let crowd = meeting(&["Nasreen Testnan"; 51]);
    refused(&lead, &app, &new, &refs(&crowd), "attendees").await;
    let held = meeting(&["Nasreen Testnan", "Mr Testneighbour"]);
    assert_eq!(status(&lead, &app, &new, &refs(&held)).await, 303);

    // The neighbour leaves the network: the chronology says so without his name.
    let remove = format!("{neighbour_page}/remove");
    assert_eq!(status(&lead, &app, &remove, &[]).await, 303);
    let html = page(&lead, &app, &case).await;
    assert!(html.contains("07700 900999") && !html.contains("Mr Testneighbour</td>"));
    assert!(html.contains("Removed someone from the family network (Neighbour)"));
    assert!(html.contains("Added someone to the family network (Neighbour)"));
    assert!(!html.contains("family network: Mr Testneighbour"));
    // The meeting he came to may still be saved with him: he is recorded there; a new name not.
    let marker = format!("href=\"{case}/family-group/");
    let at = html.find(&marker).expect("the meeting's link") + marker.len();
    let saved = format!("{case}/family-group/{}", &html[at..at + 36]);
    assert_eq!(status(&lead, &app, &saved, &refs(&held)).await, 303);
    refused(&lead, &app, &saved, &refs(&stranger), "attendees").await;
    assert!(
        html.contains("Family group decision making</a> <span class=\"govuk-body-s\">(1 offer)")
    );
    assert!(html.contains(plan) && html.contains("with Nasreen Testnan"));

    // A team member from another locality (not in this team) cannot add to the network.
    let outsider = app.sign_in(ERDINGTON_LEAD).await;
    assert_eq!(
        status(&outsider, &app, &format!("{case}/network/new"), &nan).await,
        404
    );

    // The subject access request holds them, the network's details marked as other people's.
    let step = [("level", "child_in_need"), ("level_reason", "Worries grew")];
    assert_eq!(
        status(&lead, &app, &format!("{case}/level"), &step).await,
        303
    );
    let amira = member_id(&app, &family, "Amira").await;
    let ig = app.sign_in(IG_OFFICER).await;
    let sar: Value = ig
        .get(&app, &format!("/governance/people/{amira}/sar.json"))
        .await
        .json()
        .await
        .unwrap();
    let help = &sar["family_help"];
    assert_eq!(help["level"], "Child in need (section 17)");
    assert_eq!(help["steps"][0]["reason"][0]["text"], "Worries grew");
    assert_eq!(help["network"].as_array().unwrap().len(), 1);
    assert_eq!(help["network"][0]["name"][0]["text"], "Nasreen Testnan");
    assert_eq!(help["network"][0]["name"][0]["redact"], true);
    let group = &help["family_group"][0];
    assert_eq!(group["uptake"], "Yes, taken up");
    assert_eq!(group["attendees"][0]["redact"], true);
    let plan_text: String = group["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(plan_text, plan);
    // Nowhere in the copy is a name of the network shown unmarked, even one who has left it
    // (his name was in the chronology, and is still in the meeting's plan).
    let unmarked = unmarked_text(&sar);
    assert!(
        !unmarked.contains("Testneighbour") && !unmarked.contains("Testnan"),
        "{unmarked}"
    );
    assert!(
        group["plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["redact"] == true && s["text"] == "Nasreen"),
        "the grandmother's name is marked in the plan: {group}"
    );
    let html = ig
        .get(&app, &format!("/governance/people/{amira}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"sar-network\"") && html.contains("id=\"sar-family-group\""));
}

/// Every segment of a subject access copy not marked for redaction, joined.
fn unmarked_text(value: &Value) -> String {
    match value {
        Value::Object(map) if map.get("redact") == Some(&Value::Bool(false)) => map
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        Value::Object(map) => map.values().map(unmarked_text).collect(),
        Value::Array(items) => items.iter().map(unmarked_text).collect(),
        _ => String::new(),
    }
}

/// The lead practitioner steps a case up to child in need in the browser, in the Family Help
/// model: the form on the case page, the level history, every page accessible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_practitioner_steps_a_case_up_to_child_in_need_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_family_help(Backend::Sqlite).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    sign_in(&browser, &app, PRACTITIONER).await;
    browser
        .driver
        .goto(app.url(&format!("{case}#case-level")))
        .await
        .unwrap();
    browser.click(By::Css("#case-level details summary")).await;
    browser
        .click(By::Css("input[name=level][value=child_in_need]"))
        .await;
    browser
        .fill(
            By::Id("level_reason"),
            "Neglect concerns after the home visit",
        )
        .await;
    assert_accessible(&browser, "the case page in the Family Help model").await;
    browser
        .click(By::Css("#level-form button[type=submit]"))
        .await;
    browser
        .wait_for_text(By::Id("done"), "The case's level is changed")
        .await;
    browser
        .wait_for_text(By::Id("help-level"), "Child in need (section 17)")
        .await;
    browser
        .wait_for_text(
            By::Id("level-history"),
            "Neglect concerns after the home visit",
        )
        .await;
    assert_accessible(&browser, "the case page after stepping up").await;
    browser.screenshot("family-help-child-in-need").await;
    for (form, heading) in [
        ("network/new", "Add someone to the family network"),
        ("family-group/new", "Family group decision making"),
    ] {
        let path = format!("{case}/{form}");
        browser.driver.goto(app.url(&path)).await.unwrap();
        browser.wait_for_heading(heading).await;
        assert_accessible(&browser, &path).await;
    }
    browser.quit().await;
}

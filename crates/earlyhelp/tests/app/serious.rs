//! Serious actions on a family's case, on both databases: each has a confirmation page, needs a
//! reason (a form without one answers 422 and changes nothing), and records who and why in the
//! chronology and the audit event. Consent is withdrawn member by member, and what rested on a
//! withdrawn consent shows as ended.

use crate::browser::{assert_accessible, sign_in};
use crate::cases::{amira, open_case, open_case_of, post_form as post};
use crate::helpers::*;
use earlyhelp::demo_cases::{ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
use thirtyfour::By;
use uuid::Uuid;

crate::on_both_backends!(
    stepping_up_down_closing_and_reopening_ask_why,
    closing_asks_how_each_open_action_ended,
    finalising_the_assessment_asks_why_and_it_never_changes,
    consent_is_withdrawn_member_by_member,
);

/// The audit log's purposes for `subject`, with who acted.
pub async fn purposes(app: &TestApp, subject: &str) -> Vec<(String, String)> {
    let sql = "SELECT actor, purpose FROM audit_events WHERE subject = $1 ORDER BY seq";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(sql)
            .bind(subject)
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

/// The id of the family member called `given_name`.
pub async fn member_id(app: &TestApp, family: &str, given_name: &str) -> String {
    let sql = "SELECT id FROM family_members WHERE family_id = $1 AND given_name = $2";
    let family = Uuid::parse_str(family).unwrap();
    let id: Uuid = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(family)
            .bind(given_name)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    id.to_string()
}

/// The consents of the family still in place, as (id, given_by).
async fn consents_in_place(app: &TestApp, family: &str) -> Vec<(String, String)> {
    let sql = "SELECT id, given_by FROM consents WHERE family_id = $1 AND withdrawn_on IS NULL \
               ORDER BY recorded_micros";
    let family = Uuid::parse_str(family).unwrap();
    let rows: Vec<(Uuid, String)> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(sql)
            .bind(family)
            .fetch_all(pool)
            .await
            .unwrap()
    });
    rows.into_iter()
        .map(|(id, by)| (id.to_string(), by))
        .collect()
}

async fn page(session: &Session, app: &TestApp, path: &str) -> String {
    let response = session.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// The family withdraws every consent still in place (through the confirmation page, with who
/// and why), as older tests did in one click.
pub async fn withdraw_all_consent(
    app: &TestApp,
    session: &Session,
    family: &str,
) -> reqwest::Response {
    let path = format!("/families/{family}/consent/withdraw");
    let confirm = page(session, app, &path).await;
    let ids: Vec<String> = confirm
        .split("name=\"consents\" type=\"checkbox\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect();
    assert!(!ids.is_empty(), "a consent to withdraw");
    let mut fields: Vec<(&str, &str)> = ids.iter().map(|id| ("consents", id.as_str())).collect();
    fields.push(("withdrawn_by", "Layla Testcase, for the family"));
    fields.push(("reason", "The family no longer wants to share"));
    post(session, app, &path, &fields).await
}

/// The case's state, as its page shows it.
fn state_of(html: &str) -> String {
    let start = html.find("id=\"case-state\">").unwrap() + "id=\"case-state\">".len();
    html[start..].split('<').next().unwrap().to_string()
}

/// The text of the page with HTML's escapes of quotes undone, to find what people typed.
fn plain(html: &str) -> String {
    html.replace("&#x27;", "'").replace("&#39;", "'")
}

async fn stepping_up_down_closing_and_reopening_ask_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    let state = format!("{case}/state");

    let confirm = plain(&page(&lead, &app, &format!("{case}/state/step_up")).await);
    assert!(confirm.contains("Children's social care will lead"));
    assert!(
        confirm.contains("name=\"reason\""),
        "the confirmation asks why"
    );
    let missing = page_status(&lead, &app, &format!("{case}/state/fly_away")).await;
    assert_eq!(missing, 404);
    // The default practice model has no Family Help level, network or family group pages.
    let html = page(&lead, &app, &case).await;
    assert!(html.contains("Lead practitioner") && !html.contains("id=\"level-form\""));
    for path in ["network/new", "family-group/new"] {
        assert_eq!(
            page_status(&lead, &app, &format!("{case}/{path}")).await,
            404
        );
    }

    // No reason: 422 naming the field, and nothing changes.
    let response = post(
        &lead,
        &app,
        &state,
        &[("event", "step_up"), ("reason", "  ")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"#reason\""));
    assert!(html.contains("Say why the case is stepping up"));
    assert_eq!(state_of(&page(&lead, &app, &case).await), "Open");

    for (event, why, state_after, chronology) in [
        (
            "step_up",
            "Bruises seen at school on Monday",
            "Stepped up to social care",
            "Stepped up to children's social care. Why: Bruises seen at school on Monday",
        ),
        (
            "step_down",
            "Social care assessment found early help fits",
            "Open",
            "Stepped down from children's social care to early help. Why: Social care assessment found early help fits",
        ),
    ] {
        let response = post(&lead, &app, &state, &[("event", event), ("reason", why)]).await;
        assert_eq!(response.status(), 303, "{event}");
        let to = response.headers()["location"].to_str().unwrap().to_string();
        assert!(to.contains(&format!("done={event}")), "{to}");
        let html = plain(&page(&lead, &app, &to).await);
        assert!(
            html.contains("govuk-notification-banner--success"),
            "the banner after {event}"
        );
        assert_eq!(state_of(&html), state_after);
        assert!(
            html.contains(chronology),
            "the chronology says why: {event}"
        );
        assert!(html.contains("Demo Practitioner"), "and who");
    }
    // The audit purpose says what was done, never the reason (it may name other people).
    let audit = purposes(&app, &format!("family:{family}")).await;
    assert!(audit.contains(&(
        PRACTITIONER.into(),
        "step up to children's social care".into()
    )));
    assert!(audit.contains(&(PRACTITIONER.into(), "step down to early help".into())));
    assert!(
        !audit
            .iter()
            .any(|(_, p)| p.contains("Bruises") || p.contains("assessment found")),
        "{audit:?}"
    );

    // Close, then reopen: each with its reason.
    let close = [
        ("event", "close"),
        ("closure_reason", "needs_met"),
        ("needs", "education"),
        ("outcome_education", "met"),
        ("needs", "health_wellbeing"),
        ("outcome_health_wellbeing", "partly_met"),
    ];
    let response = post(&lead, &app, &state, &close).await;
    assert_eq!(response.status(), 422, "a closure without a reason");
    assert!(response.text().await.unwrap().contains("href=\"#reason\""));
    assert_eq!(state_of(&page(&lead, &app, &case).await), "Open");
    let status = post(
        &lead,
        &app,
        &state,
        &[
            &close[..],
            &[("reason", "Attending every day since January")],
        ]
        .concat(),
    )
    .await
    .status();
    assert_eq!(status, 303);
    let html = plain(&page(&lead, &app, &case).await);
    assert_eq!(state_of(&html), "Closed");
    assert!(html.contains("Case closed: Needs met. Why: Attending every day since January"));
    let response = post(&lead, &app, &state, &[("event", "reopen")]).await;
    assert_eq!(response.status(), 422);
    assert_eq!(state_of(&page(&lead, &app, &case).await), "Closed");
    let status = post(
        &lead,
        &app,
        &state,
        &[("event", "reopen"), ("reason", "Mum asked for help again")],
    )
    .await
    .status();
    assert_eq!(status, 303);
    let html = page(&lead, &app, &format!("{case}?done=reopen")).await;
    assert_eq!(state_of(&html), "Open");
    assert!(html.contains("The case is reopened."));
    assert!(html.contains("Case reopened. Why: Mum asked for help again"));
    let audit = purposes(&app, &format!("family:{family}")).await;
    assert!(audit.contains(&(PRACTITIONER.into(), "reopen the case".into())));
    assert!(audit.contains(&(PRACTITIONER.into(), "close the case".into())));
    assert!(
        !audit
            .iter()
            .any(|(_, p)| p.contains("Mum asked") || p.contains("Attending every day")),
        "{audit:?}"
    );
}

async fn page_status(session: &Session, app: &TestApp, path: &str) -> u16 {
    session
        .client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn closing_asks_how_each_open_action_ended(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    for (goal, action) in [
        (
            "Amira goes to school",
            "Weekly check-in with the school mentor",
        ),
        (
            "The family's home is safe",
            "Housing officer visits about the damp",
        ),
    ] {
        let response = post(
            &lead,
            &app,
            &format!("{case}/actions"),
            &[
                ("goal", goal),
                ("plan_action", action),
                ("owner", "Someone"),
                ("due_date-day", "31"),
                ("due_date-month", "1"),
                ("due_date-year", "2027"),
            ],
        )
        .await;
        assert_eq!(response.status(), 303);
    }
    let confirm = page(&lead, &app, &format!("{case}/state/close")).await;
    assert!(confirm.contains("How each open plan action ended"));
    assert!(confirm.contains("Weekly check-in with the school mentor"));
    assert!(confirm.contains("Passed to another service"));
    // The radios are named for each action: read their ids from the form.
    let ids: Vec<String> = confirm
        .split("name=\"open_action\" value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);

    let mut close = vec![
        ("event", "close"),
        ("closure_reason", "needs_met"),
        ("needs", "education"),
        ("outcome_education", "met"),
        ("needs", "health_wellbeing"),
        ("outcome_health_wellbeing", "met"),
        ("reason", "Everything the plan set out is done or handed on"),
        ("open_action", ids[0].as_str()),
        ("open_action", ids[1].as_str()),
    ];
    let first = format!("ending-{}", ids[0]);
    let second = format!("ending-{}", ids[1]);
    close.push((first.as_str(), "done"));
    let response = post(&lead, &app, &format!("{case}/state"), &close).await;
    assert_eq!(response.status(), 422, "one action has no ending");
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"#action_endings\""));
    assert_eq!(
        state_of(&page(&lead, &app, &case).await),
        "Open",
        "nothing changed"
    );

    // A form that leaves an open action out entirely is refused too (the database decides).
    let without = [&close[..2], &close[2..7]].concat();
    let response = post(&lead, &app, &format!("{case}/state"), &without).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Say how each open plan action ended")
    );
    assert_eq!(state_of(&page(&lead, &app, &case).await), "Open");

    close.push((second.as_str(), "passed_on"));
    let response = post(&lead, &app, &format!("{case}/state"), &close).await;
    assert_eq!(response.status(), 303);
    let html = page(&lead, &app, &format!("{case}?done=close")).await;
    assert_eq!(state_of(&html), "Closed");
    assert!(html.contains("The case is closed."));
    assert!(html.contains("Passed to another service"));
    assert!(html.contains(
        "Open plan actions ended at closure: Weekly check-in with the school mentor: done; \
         Housing officer visits about the damp: passed to another service"
    ));
}

async fn finalising_the_assessment_asks_why_and_it_never_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    let assessment = [
        ("family_story", "Mum works nights"),
        ("child_voice", "Amira likes art"),
        ("strengths", "A close family"),
        ("worries", "Mornings are hard"),
        ("needs", "education"),
        ("analysis", "A morning routine and a school plan"),
    ];
    let response = post(
        &lead,
        &app,
        &format!("{case}/assessment"),
        &[&assessment[..], &[("intent", "finalise")]].concat(),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        format!("{case}/finalise-assessment").as_str(),
        "finalising goes by the confirmation page"
    );
    let confirm = page(&lead, &app, &format!("{case}/finalise-assessment")).await;
    assert!(confirm.contains("can no longer be changed"));
    let finalise = format!("{case}/finalise-assessment");
    let response = post(&lead, &app, &finalise, &[("reason", "")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("href=\"#reason\""));
    let html = page(&lead, &app, &case).await;
    assert!(html.contains("Continue the assessment"), "still a draft");

    let response = post(
        &lead,
        &app,
        &finalise,
        &[("reason", "Agreed with Layla at the home visit")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let html = page(&lead, &app, &format!("{case}?done=assessment_finalised")).await;
    assert!(html.contains("The assessment is finalised."));
    assert!(
        html.contains("Early Help assessment finalised. Why: Agreed with Layla at the home visit")
    );
    assert!(html.contains("Start a reassessment"));
    let audit = purposes(&app, &format!("family:{family}")).await;
    assert!(audit.contains(&(
        PRACTITIONER.into(),
        "finalise the Early Help assessment".into()
    )));
    assert!(
        !audit.iter().any(|(_, p)| p.contains("Agreed with Layla")),
        "{audit:?}"
    );
    // Nothing left to finalise: a second confirmation is refused, not a 500.
    let response = post(&lead, &app, &finalise, &[("reason", "again")]).await;
    assert_eq!(response.status(), 422);

    // The finalised one offers a reassessment; a new draft never touches it.
    let finalised_link = html
        .split(&format!("href=\"{case}/assessment/"))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let finalised = format!("{case}/assessment/{finalised_link}");
    let shown = page(&lead, &app, &finalised).await;
    assert!(shown.contains("Start a reassessment") && !shown.contains("<textarea"));
    let mut changed = assessment.to_vec();
    changed[0] = ("family_story", "Everything changed");
    let response = post(
        &lead,
        &app,
        &format!("{case}/assessment"),
        &[&changed[..], &[("intent", "save")]].concat(),
    )
    .await;
    assert_eq!(response.status(), 303);
    assert!(
        page(&lead, &app, &finalised)
            .await
            .contains("Mum works nights")
    );
}

async fn consent_is_withdrawn_member_by_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    let layla = member_id(&app, &family, "Layla").await;
    let amira = member_id(&app, &family, "Amira").await;

    // Each member's consent is recorded separately; a consent needs its member.
    let response = post(
        &lead,
        &app,
        &format!("{case}/consent"),
        &[
            ("given_by", "Layla Testcase"),
            ("method", "written"),
            ("given_on-day", "22"),
            ("given_on-month", "11"),
            ("given_on-year", "2026"),
            ("scope", "School"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("href=\"#member\""));
    for (member, given_by) in [
        (&layla, "Layla Testcase"),
        (&amira, "Layla Testcase, on behalf of Amira"),
    ] {
        let response = post(
            &lead,
            &app,
            &format!("{case}/consent"),
            &[
                ("member", member),
                ("given_by", given_by),
                ("method", "written"),
                ("given_on-day", "22"),
                ("given_on-month", "11"),
                ("given_on-year", "2026"),
                ("scope", "School, health visitor and youth club"),
            ],
        )
        .await;
        assert_eq!(response.status(), 303);
    }
    let in_place = consents_in_place(&app, &family).await;
    assert_eq!(in_place.len(), 3, "triage's, Layla's and Amira's");
    let amiras = in_place[2].0.clone();
    let laylas = in_place[1].0.clone();

    // The health visitor joins on the family's consent; the youth worker on Amira's own.
    for (email, purpose, consent) in [
        (HEALTH_VISITOR, "health visiting", ""),
        (ERDINGTON_PRACTITIONER, "youth club", amiras.as_str()),
    ] {
        let response = post(
            &lead,
            &app,
            &format!("{case}/team"),
            &[
                ("team_email", email),
                ("purpose", purpose),
                ("article6", "consent"),
                ("consent_id", consent),
            ],
        )
        .await;
        assert_eq!(response.status(), 303, "{email}");
    }
    let youth_worker = app.sign_in(ERDINGTON_PRACTITIONER).await;
    assert!(
        page(&youth_worker, &app, &case)
            .await
            .contains("Family case:")
    );

    // The confirmation lists each consent in place, and asks who withdraws and why.
    let confirm = plain(&page(&lead, &app, &format!("{case}/consent/withdraw")).await);
    assert!(
        confirm.contains("Amira Testcase's consent")
            && confirm.contains("Layla Testcase's consent")
    );
    assert!(confirm.contains("name=\"withdrawn_by\""));
    let withdraw = format!("{case}/consent/withdraw");
    let response = post(
        &lead,
        &app,
        &withdraw,
        &[
            ("consents", &amiras),
            ("withdrawn_by", "Layla Testcase, on behalf of Amira"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422, "no reason");
    assert!(response.text().await.unwrap().contains("href=\"#reason\""));
    let response = post(
        &lead,
        &app,
        &withdraw,
        &[("withdrawn_by", "Layla"), ("reason", "no")],
    )
    .await;
    assert_eq!(response.status(), 422, "nobody's consent chosen");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("href=\"#consents\"")
    );
    let response = post(
        &lead,
        &app,
        &withdraw,
        &[("consents", &amiras), ("reason", "Amira asked")],
    )
    .await;
    assert_eq!(response.status(), 422, "nobody withdrawing");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("href=\"#withdrawn_by\"")
    );
    assert_eq!(
        consents_in_place(&app, &family).await.len(),
        3,
        "nothing changed"
    );
    assert!(
        page(&youth_worker, &app, &case)
            .await
            .contains("Family case:")
    );

    let why = "Amira does not want the youth club to know about home";
    let response = post(
        &lead,
        &app,
        &withdraw,
        &[
            ("consents", &amiras),
            ("withdrawn_by", "Layla Testcase, on behalf of Amira"),
            ("reason", why),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();

    // Only Amira's consent ended: Layla's stays, and so does the family's.
    let left: Vec<String> = consents_in_place(&app, &family)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(left.contains(&laylas) && !left.contains(&amiras) && left.len() == 2);
    let youth_view = page(&youth_worker, &app, &case).await;
    assert!(
        !youth_view.contains("Family case:"),
        "the share on Amira's consent ended"
    );
    let health_visitor = app.sign_in(HEALTH_VISITOR).await;
    assert!(
        page(&health_visitor, &app, &case)
            .await
            .contains("Family case:"),
        "the family's consent stays"
    );

    // The record tells the truth: the share and the team line show ended, when and why.
    let html = plain(&page(&lead, &app, &to).await);
    assert!(html.contains("Consent is withdrawn."));
    let shares = html
        .split("id=\"shares\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    let youth_row = shares
        .split("<tr")
        .find(|row| row.contains("youth club"))
        .unwrap();
    assert!(
        youth_row.contains("Ended") && youth_row.contains(why),
        "{youth_row}"
    );
    assert!(youth_row.contains("consent withdrawn by Layla Testcase, on behalf of Amira"));
    let health_row = shares
        .split("<tr")
        .find(|row| row.contains("health visiting"))
        .unwrap();
    assert!(health_row.contains("In place"));
    let team = html
        .split("id=\"team-list\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    let youth_line = team
        .split("<li>")
        .find(|l| l.contains(ERDINGTON_PRACTITIONER))
        .unwrap();
    assert!(
        youth_line.contains("Ended") && youth_line.contains(why),
        "{youth_line}"
    );
    let health_line = team
        .split("<li>")
        .find(|l| l.contains(HEALTH_VISITOR))
        .unwrap();
    assert!(!health_line.contains("Ended"));
    assert!(
        html.contains("by Layla Testcase, on behalf of Amira: Amira does not want"),
        "the consent table"
    );
    assert!(html.contains("Consent withdrawn (Amira Testcase's consent) by Layla Testcase, on behalf of Amira. Why: Amira does not want"));
    let audit = purposes(&app, &format!("family:{family}")).await;
    assert!(audit.contains(&(PRACTITIONER.into(), "withdraw consent".into())));
    assert!(
        !audit
            .iter()
            .any(|(_, p)| p.contains(why) || p.contains("on behalf of")),
        "who withdrew and why stay out of the audit purpose: {audit:?}"
    );

    // Withdrawing the same consent again is refused with the form, not a 500.
    let response = post(
        &lead,
        &app,
        &withdraw,
        &[
            ("consents", &amiras),
            ("withdrawn_by", "Layla"),
            ("reason", "again"),
        ],
    )
    .await;
    assert_eq!(response.status(), 422);

    // The youth worker may join again on a new share once there is a consent to rest it on.
    let response = post(
        &lead,
        &app,
        &format!("{case}/team"),
        &[
            ("team_email", ERDINGTON_PRACTITIONER),
            ("purpose", "youth club"),
            ("article6", "consent"),
            ("consent_id", &laylas),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert!(
        page(&youth_worker, &app, &case)
            .await
            .contains("Family case:")
    );
}

/// In a browser: a family with two parents; one withdraws his own consent, with a reason; the
/// other's stays. The confirmation page, its error and the case page after pass axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_withdraws_his_own_consent_in_the_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let mut body = amira("B16 8HA");
    body["members"].as_array_mut().unwrap().push(serde_json::json!(
        {"given_name": "Omar", "family_name": "Testcase", "date_of_birth": "1986-03-04", "relationship": "parent_carer"}
    ));
    let family = open_case_of(&app, &body).await;
    let case = format!("/families/{family}");
    let lead = app.sign_in(PRACTITIONER).await;
    for name in ["Layla", "Omar"] {
        let member = member_id(&app, &family, name).await;
        let given_by = format!("{name} Testcase");
        let fields = [
            ("member", member.as_str()),
            ("given_by", &given_by),
            ("method", "written"),
            ("given_on-day", "22"),
            ("given_on-month", "11"),
            ("given_on-year", "2026"),
            ("scope", "School and health visitor"),
        ];
        assert_eq!(
            post(&lead, &app, &format!("{case}/consent"), &fields)
                .await
                .status(),
            303
        );
    }
    let omars = consents_in_place(&app, &family).await[2].0.clone();

    sign_in(&browser, &app, PRACTITIONER).await;
    browser
        .driver
        .goto(app.url(&format!("{case}#consent")))
        .await
        .unwrap();
    browser.click(By::Id("withdraw-consent")).await;
    browser.wait_for_heading("Withdraw consent").await;
    assert_accessible(&browser, "withdraw consent").await;
    browser
        .click(By::Css(format!("input[name=consents][value='{omars}']")))
        .await;
    browser
        .fill(By::Id("withdrawn_by"), "Omar Testcase, for himself")
        .await;
    browser.click(By::Css("#confirm-form button")).await;
    browser
        .wait_for_text(
            By::Css(".govuk-error-summary"),
            "Say why consent is being withdrawn",
        )
        .await;
    assert_accessible(&browser, "withdraw consent, no reason").await;
    assert_eq!(
        consents_in_place(&app, &family).await.len(),
        3,
        "nothing changed yet"
    );

    browser
        .fill(
            By::Id("reason"),
            "Omar has moved out and does not want his details shared",
        )
        .await;
    browser.click(By::Css("#confirm-form button")).await;
    browser
        .wait_for_text(By::Id("done"), "Consent is withdrawn")
        .await;
    assert_accessible(&browser, "case after withdrawal").await;
    browser.screenshot("consent-withdrawn").await;
    let rows = browser
        .driver
        .find(By::Id("consents-table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let omar = rows
        .lines()
        .find(|l| l.starts_with("Omar Testcase"))
        .unwrap();
    assert!(
        omar.contains("by Omar Testcase, for himself: Omar has moved out"),
        "{omar}"
    );
    let layla = rows
        .lines()
        .find(|l| l.starts_with("Layla Testcase"))
        .unwrap();
    assert!(layla.ends_with("In place"), "{layla}");
    // How it was given, in words: "Written", never the stored "written".
    assert!(
        layla.contains("Written") && !layla.contains("written"),
        "{layla}"
    );
    // The chronology is folded away until opened from the contents list.
    browser.click(By::Css("#contents a[href='#notes']")).await;
    browser
        .wait_for_text(
            By::Id("chronology"),
            "Consent withdrawn (Omar Testcase's consent) by Omar Testcase, for himself",
        )
        .await;
    browser.quit().await;
}

//! Nothing lost at triage, and requests that wait for a person, on both databases: the
//! referrer's words and name carried onto a family we already know; asking to join answered
//! both ways by the lead, with the requester told on their home page and by email; break glass
//! telling the lead; the information governance officer's verdict on each break-glass access.

use crate::cases::{amira, open_case, post_form, send};
use crate::helpers::*;
use earlyhelp::demo_cases::{ERDINGTON_LEAD, ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
use serde_json::json;

crate::on_both_backends!(
    attaching_a_request_carries_the_referrers_words_and_name,
    a_request_to_join_is_answered_both_ways_and_the_requester_told,
    break_glass_tells_the_lead_and_is_judged_by_the_ig_officer,
);

async fn page(session: &Session, app: &TestApp, path: &str) -> (u16, String) {
    let response = session.get(app, path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The emails queued for `to`: (subject, link).
async fn emails_to(app: &TestApp, to: &str) -> Vec<(String, String)> {
    earlyhelp_storage::outbox::recent(&app.db, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to_address == to)
        .map(|m| (m.subject, m.link))
        .collect()
}

/// The first `href` on the page that starts with `prefix`, without its quotes.
fn link_starting(html: &str, prefix: &str) -> String {
    let start = html
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix}"));
    html[start + 6..].split('"').next().unwrap().to_string()
}

async fn attaching_a_request_carries_the_referrers_words_and_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let mut again = amira("B16 8HA");
    again["reasons"] = json!(["education", "money_housing_work"]);
    again["summary"] = "Attendance 82% this term; Amira says she is too tired for school".into();
    let request = send(&app, &again).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let response = post_form(
        &lead,
        &app,
        &format!("/triage/{request}"),
        &[
            ("outcome", "locality_early_help"),
            ("lead_practitioner", PRACTITIONER),
            ("existing_family", &family),
            ("note", "Known to us: same lead"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);

    let practitioner = app.sign_in(PRACTITIONER).await;
    let (status, html) = page(&practitioner, &app, &format!("/families/{family}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("In their words: Attendance 82% this term"),
        "the school's own words join the chronology"
    );
    assert!(
        html.contains("Reasons: Education, Financial, housing, employment or training."),
        "and the reasons"
    );
    assert!(
        html.contains("Known to us: same lead"),
        "beside the lead's note"
    );
    let referred = html
        .split("id=\"referred-by\"")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("a Referred by list on the case");
    assert_eq!(
        referred.matches("<li>").count(),
        2,
        "both requests' referrers: {referred}"
    );
    assert!(
        referred.contains(
            "Demo Practitioner, Marsh Lane Primary School, Ladywood: Education, Financial"
        ),
        "who referred, their organisation and why: {referred}"
    );
}

async fn a_request_to_join_is_answered_both_ways_and_the_requester_told(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let ask = format!("{case}/ask");
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let why = [(
        "reason",
        "Her brother is at our school and we see him weekly",
    )];
    assert_eq!(post_form(&outsider, &app, &ask, &why).await.status(), 200);
    let response = post_form(&outsider, &app, &ask, &why).await;
    assert_eq!(response.status(), 422, "one open request at a time");
    assert!(response.text().await.unwrap().contains("already asked"));

    // The lead's task, on their home page and by email.
    let lead = app.sign_in(PRACTITIONER).await;
    let (_, home) = page(&lead, &app, "/").await;
    assert!(home.contains("id=\"waiting-count\">1<"), "a count: {home}");
    assert!(home.contains("asks to join the team around a family you lead"));
    let request = link_starting(&home, "/join-requests/");
    assert!(
        emails_to(&app, PRACTITIONER).await.contains(&(
            "Someone asks to join the team around a family".into(),
            request.clone()
        )),
        "the lead is emailed a link to the request"
    );
    let (status, html) = page(&lead, &app, &request).await;
    assert_eq!(status, 200);
    assert!(html.contains("Her brother is at our school"));

    // Nobody else answers: the requester, a team member, the lead of another locality.
    let health_visitor = app.sign_in(HEALTH_VISITOR).await;
    let add = [
        ("team_email", HEALTH_VISITOR),
        ("purpose", "health visiting"),
        ("article6", "public_task"),
    ];
    assert_eq!(
        post_form(&lead, &app, &format!("{case}/team"), &add)
            .await
            .status(),
        303
    );
    let other_lead = app.sign_in(ERDINGTON_LEAD).await;
    for (who, session) in [
        (ERDINGTON_PRACTITIONER, &outsider),
        (HEALTH_VISITOR, &health_visitor),
        (ERDINGTON_LEAD, &other_lead),
    ] {
        let accept = [("purpose", "school"), ("article6", "public_task")];
        let response = post_form(session, &app, &format!("{request}/accept"), &accept).await;
        assert_eq!(response.status(), 403, "{who} may not answer");
    }
    let audit = app.audit_of(&format!("family:{family}")).await;
    for who in [ERDINGTON_PRACTITIONER, HEALTH_VISITOR, ERDINGTON_LEAD] {
        assert!(
            audit.contains(&(who.into(), "update".into(), "denied".into())),
            "{who}'s refusal is audited"
        );
    }

    // Declined: a reason is required, the requester is told it and does not join.
    let decline = format!("{request}/decline");
    let response = post_form(&lead, &app, &decline, &[("decline_reason", "  ")]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("href=\"#decline_reason\"")
    );
    let reason = "The school nurse already shares what is needed";
    let response = post_form(&lead, &app, &decline, &[("decline_reason", reason)]).await;
    assert_eq!(response.status(), 303);
    let (_, told) = page(&outsider, &app, "/").await;
    assert!(
        told.contains(&format!(
            "declined your request to join the team around the family: {reason}"
        )),
        "the requester sees the answer and its reason"
    );
    assert!(
        emails_to(&app, ERDINGTON_PRACTITIONER)
            .await
            .iter()
            .any(|(subject, _)| subject == "Your request to join a family's team was declined")
    );
    let (_, html) = page(&outsider, &app, &case).await;
    assert!(
        html.contains("This family is known to early help"),
        "not joined"
    );
    let response = post_form(&lead, &app, &decline, &[("decline_reason", reason)]).await;
    assert_eq!(response.status(), 422, "answered once");

    // Accepted: with the lawful basis of the share; the requester joins and is told.
    assert_eq!(post_form(&outsider, &app, &ask, &why).await.status(), 200);
    let (_, home) = page(&lead, &app, "/").await;
    let second = link_starting(&home, "/join-requests/");
    assert_ne!(second, request);
    let accept = format!("{second}/accept");
    let response = post_form(&lead, &app, &accept, &[("purpose", "school liaison")]).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("href=\"#article6\"")
    );
    let response = post_form(
        &lead,
        &app,
        &accept,
        &[("purpose", "school liaison"), ("article6", "public_task")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (status, html) = page(&outsider, &app, &case).await;
    assert_eq!(status, 200);
    assert!(html.contains("Family case:"), "they joined the team");
    let (_, told) = page(&outsider, &app, "/").await;
    assert!(told.contains("accepted your request to join the team around the family"));
    assert!(
        emails_to(&app, ERDINGTON_PRACTITIONER)
            .await
            .iter()
            .any(|(subject, _)| subject == "Your request to join a family's team was accepted")
    );
    let (_, home) = page(&lead, &app, "/").await;
    assert!(!home.contains("/join-requests/"), "nothing left waiting");

    // Both requests and their answers are in a subject access request about the child.
    let ig = app.sign_in(IG_OFFICER).await;
    let (_, found) = page(&ig, &app, "/governance?name=amira+testcase").await;
    let person = link_starting(&found, "/governance/people/");
    let (status, sar) = page(&ig, &app, &format!("{person}/sar.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        sar.matches("Asked to join the team around the family: Her brother is at our school")
            .count(),
        2
    );
    assert!(sar.contains(&format!("Request to join the team declined: {reason}")));
    assert!(sar.contains("Request to join the team accepted"));
}

async fn break_glass_tells_the_lead_and_is_judged_by_the_ig_officer(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let reason = "Police called: Amira found alone at the station at night";
    let response = post_form(
        &outsider,
        &app,
        &format!("/families/{family}/break-glass"),
        &[("break_glass_reason", reason)],
    )
    .await;
    assert_eq!(response.status(), 303);

    let lead = app.sign_in(PRACTITIONER).await;
    let (_, home) = page(&lead, &app, "/").await;
    assert!(
        home.contains(&format!(
            "used break-glass access to a family you lead: {reason}"
        )),
        "who and why, on the lead's home page"
    );
    assert!(
        emails_to(&app, PRACTITIONER)
            .await
            .iter()
            .any(|(subject, _)| subject == "Break-glass access to a family you lead"),
        "and by email"
    );
    let read = link_starting(
        &home.replace("action=\"/notices/", "href=\"/notices/"),
        "/notices/",
    );
    assert_eq!(post_form(&lead, &app, &read, &[]).await.status(), 303);
    let (_, home) = page(&lead, &app, "/").await;
    assert!(!home.contains("used break-glass access"), "read, it goes");
    assert_eq!(
        post_form(&outsider, &app, &read, &[]).await.status(),
        404,
        "nobody marks another's notice"
    );

    let ig = app.sign_in(IG_OFFICER).await;
    let (_, home) = page(&ig, &app, "/").await;
    assert!(home.contains("id=\"break-glass-reviews\""), "{home}");
    assert!(home.contains("href=\"/audit/break-glass\""));
    let (_, queue) = page(&ig, &app, "/audit/break-glass").await;
    let grant = queue
        .split(&format!("{reason}</dd>"))
        .next()
        .and_then(|before| before.rsplit("id=\"grant-").next())
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let review = format!("/audit/break-glass/{grant}");
    let response = post_form(&ig, &app, &review, &[("note", "Was it?")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("href=\"#verdict\""));
    let response = post_form(
        &ig,
        &app,
        &review,
        &[("verdict", "not_justified"), ("note", " ")],
    )
    .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("href=\"#note\""));
    let note = "The police could have called the emergency duty team";
    let response = post_form(
        &ig,
        &app,
        &review,
        &[("verdict", "not_justified"), ("note", note)],
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, queue) = page(&ig, &app, "/audit/break-glass").await;
    assert!(queue.contains("Not justified. "));
    assert!(queue.contains(note));
}

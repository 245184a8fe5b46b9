//! Subject access requests and retention, on both databases: the information governance
//! officer's pages, `earlyhelp sar`, `earlyhelp retention`, legal holds, and their audit events.

use crate::cases::{send, token};
use crate::helpers::*;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::{CaseEvent, ClosureReason};
use earlyhelp_storage::{Db, cases as store, gate};
use serde_json::{Value, json};
use std::process::Output;
use uuid::Uuid;

crate::on_both_backends!(
    a_subject_access_request_marks_the_siblings_details,
    retention_anonymises_only_what_is_due_and_honours_holds,
    legal_holds_from_the_governance_page,
);

/// A household of three, "Testsar" unless `family_name` says otherwise: Amira (the subject in
/// these tests), her brother Noah and their mother Layla.
fn household(family_name: &str, amira_born: &str) -> Value {
    json!({
        "members": [
            {"given_name": "Amira", "family_name": family_name, "date_of_birth": amira_born, "relationship": "child",
             "ethnicity": "asian_pakistani", "school": "Ladywood Primary"},
            {"given_name": "Noah", "family_name": family_name, "date_of_birth": "1999-09-09", "relationship": "child",
             "school": "Park Secondary"},
            {"given_name": "Layla", "family_name": family_name, "date_of_birth": "1975-01-12", "relationship": "parent_carer",
             "nhs_number": "401 023 2137"}
        ],
        "address": "7 Retention Row",
        "postcode": "B16 8HA",
        "reasons": ["education"],
        "need_level": "additional",
        "summary": format!("Noah {family_name} worries about his sister"),
        "consent_given_by": format!("Layla {family_name}"),
        "consent_method": "verbal",
        "consent_date": "2026-11-20"
    })
}

/// Triages request `request` as the Ladywood lead: early help (led by the demo practitioner,
/// returning the family) or another outcome (returning `None`).
async fn triage(app: &TestApp, request: &str, outcome: &str) -> Option<String> {
    let response = client()
        .post(app.url(&format!("/api/requests/{request}/triage")))
        .bearer_auth(token(app, LOCALITY_LEAD).await)
        .json(&json!({"outcome": outcome, "lead_practitioner": PRACTITIONER, "note": "triaged in a test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let triaged: Value = response.json().await.unwrap();
    triaged["family_id"].as_str().map(str::to_string)
}

async fn open_family(app: &TestApp, body: &Value) -> String {
    let request = send(app, body).await;
    triage(app, &request, "locality_early_help")
        .await
        .expect("early help opens a family case")
}

async fn close(app: &TestApp, family: &str) {
    let ask = gate::Ask {
        id: Uuid::parse_str(family).unwrap(),
        action: Action::Update,
        purpose: "test: close the case",
    };
    let mut authorised = gate::operator_on::<gate::FamilyId>(&app.db, ask)
        .await
        .unwrap();
    let event = CaseEvent::Close(ClosureReason::NeedsMet);
    store::transition(&mut authorised, event, "a test", "Test")
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();
}

/// A decision not to share about `family`, recorded by the demo practitioner.
async fn not_shared_about(app: &TestApp, family: &str) {
    let ask = gate::Ask {
        id: Uuid::parse_str(family).unwrap(),
        action: Action::Update,
        purpose: "test: a decision not to share",
    };
    let mut authorised = gate::operator_on::<gate::FamilyId>(&app.db, ask)
        .await
        .unwrap();
    let by = earlyhelp_storage::accounts::user_id_by_email(&app.db, PRACTITIONER)
        .await
        .unwrap()
        .unwrap();
    let decision = earlyhelp_storage::identifiers::NewDecision {
        information: "The new address".into(),
        withheld_from: "A landlord".into(),
        reason: "Safety".into(),
        decided_by: "Test".into(),
    };
    earlyhelp_storage::identifiers::record_not_shared(&mut authorised, &decision, by, "Test")
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();
}

/// Rows of one query with a single id parameter, every column read as text.
async fn rows(db: &Db, sql: &'static str, id: &str) -> Vec<Vec<String>> {
    let id = Uuid::parse_str(id).unwrap();
    fn text<R: sqlx::Row>(row: &R) -> Vec<String>
    where
        usize: sqlx::ColumnIndex<R>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        (0..row.len()).map(|i| row.get::<String, _>(i)).collect()
    }
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query(sql)
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(text)
            .collect()
    })
}

/// What anonymising changes about a family, read straight from the tables.
async fn family_snapshot(db: &Db, family: &str) -> Vec<Vec<String>> {
    let mut all = rows(
        db,
        "SELECT given_name, family_name, date_of_birth, ethnicity, school FROM family_members \
         WHERE family_id = $1 ORDER BY relationship, date_of_birth",
        family,
    )
    .await;
    all.extend(
        rows(
            db,
            "SELECT address, postcode, state FROM families WHERE id = $1",
            family,
        )
        .await,
    );
    all.extend(
        rows(
            db,
            "SELECT body FROM family_notes WHERE family_id = $1 ORDER BY at_micros",
            family,
        )
        .await,
    );
    all.extend(
        rows(
            db,
            "SELECT summary, consent_given_by, locality_slug, reasons, need_level FROM support_requests \
             WHERE family_id = $1",
            family,
        )
        .await,
    );
    all
}

async fn a_subject_access_request_marks_the_siblings_details(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_family(&app, &household("Testsar", "2016-05-02")).await;
    let note = client()
        .post(app.url(&format!("/api/families/{family}/notes")))
        .bearer_auth(token(&app, PRACTITIONER).await)
        .json(&json!({"body": "Amira and noah came to the session; Noah is shy"}))
        .send()
        .await
        .unwrap();
    assert_eq!(note.status(), 201);

    let ig = app.sign_in(IG_OFFICER).await;
    let found = ig.get(&app, "/governance?name=amira+testsar").await;
    assert_eq!(found.status(), 200);
    let html = found.text().await.unwrap();
    let marker = "href=\"/governance/people/";
    let start = html.find(marker).expect("Amira is found") + marker.len();
    let person = &html[start..start + 36];
    assert!(
        !html.contains("Noah"),
        "the search finds only the person asked for"
    );

    let page = ig.get(&app, &format!("/governance/people/{person}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"subject-name\">Amira Testsar<"));
    assert!(
        html.contains("Asian or Asian British: Pakistani"),
        "her own details, in words"
    );
    assert!(
        html.contains("<mark class=\"eh-redact\">Noah Testsar<"),
        "the brother's name is marked"
    );
    assert!(
        html.contains("<mark class=\"eh-redact\">noah<"),
        "and his name in a note"
    );
    assert!(
        !html.contains("<mark class=\"eh-redact\">Amira"),
        "hers is not"
    );

    let json: Value = ig
        .get(&app, &format!("/governance/people/{person}/sar.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["person"]["given_name"], "Amira");
    assert_eq!(json["person"]["date_of_birth"], "2016-05-02");
    assert_eq!(json["person"]["school"], "Ladywood Primary");
    assert_eq!(json["family"]["address"], "7 Retention Row");
    let household = json["household"].as_array().unwrap();
    assert_eq!(household.len(), 2);
    let noah = household
        .iter()
        .find(|o| o["relationship"] == "Child or young person")
        .unwrap();
    assert_eq!(
        noah["details"],
        json!([[{"text": "School: Park Secondary", "redact": true}]])
    );
    assert!(
        household
            .iter()
            .any(|o| o["name"] == json!([{"text": "Noah Testsar", "redact": true}]))
    );
    let note = json["narrative"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "note")
        .expect("the note is in the narrative");
    assert_eq!(
        note["text"],
        json!([
            {"text": "Amira and ", "redact": false},
            {"text": "noah", "redact": true},
            {"text": " came to the session; ", "redact": false},
            {"text": "Noah", "redact": true},
            {"text": " is shy", "redact": false}
        ])
    );
    let request = &json["requests"][0];
    assert_eq!(
        request["summary"][0],
        json!({"text": "Noah Testsar", "redact": true})
    );
    let people = request["people"].as_array().unwrap();
    assert_eq!(people.iter().filter(|p| p["is_subject"] == true).count(), 1);
    let terms: Vec<&str> = json["marked_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(terms.contains(&"Noah Testsar") && terms.contains(&"Layla Testsar"));
    assert!(!terms.iter().any(|t| t.contains("Amira")));
    assert!(
        json["access_log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["actor"] == PRACTITIONER && a["action"] == "update"),
        "who changed the record is listed"
    );
    let records: Vec<&str> = json["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["record"].as_str().unwrap())
        .collect();
    assert!(records.contains(&"the family's case record"), "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| *r == "the family's case record"
                || r.starts_with("the request for support sent ")),
        "records named in words, not by id: {records:?}"
    );

    let document = ig
        .get(&app, &format!("/governance/people/{person}/sar.html"))
        .await;
    assert!(
        document.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        document
            .text()
            .await
            .unwrap()
            .contains("<mark class=\"eh-redact\">Noah Testsar<")
    );

    // Anyone else is refused, even the lead practitioner of the case, and the refusal is audited.
    let lead = app.sign_in(PRACTITIONER).await;
    let refused = lead
        .get(&app, &format!("/governance/people/{person}"))
        .await;
    assert_eq!(refused.status(), 403);
    let commissioner = app.sign_in(COMMISSIONER).await;
    assert_eq!(
        commissioner
            .get(&app, "/governance?name=amira")
            .await
            .status(),
        403
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| *e == &(IG_OFFICER.into(), "read".into(), "allowed".into()))
            .count(),
        3,
        "the page, the JSON and the HTML file are each audited"
    );
    assert!(audit.contains(&(PRACTITIONER.into(), "read".into(), "denied".into())));
    assert!(app.audit_of("people").await.contains(&(
        COMMISSIONER.into(),
        "list".into(),
        "denied".into()
    )));
}

fn earlyhelp(args: &[&str]) -> Output {
    run_earlyhelp(args, &[])
}

/// The lines of a retention report under the heading that starts with `heading`.
fn listed(report: &str, heading: &str) -> Vec<String> {
    report
        .lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// A paid voucher from the demo's resilience fund, for family `$1`.
const PAYMENT: &str = "INSERT INTO payments (id, reference, programme_id, family_id, locality_slug, \
     amount_pence, purposes, reason, notes, crisis, state, requested_by, requester_name, \
     requested_micros, method, voucher_provider, voucher_code, paid_on) \
     SELECT f.id, 'RP-RETAINED', g.id, f.id, f.locality_slug, 13300, 'GTIP070', 'GTIR010', \
     'Rent arrears after the move', FALSE, 'paid', (SELECT id FROM users ORDER BY email LIMIT 1), \
     'Demo Practitioner', 0, 'voucher', 'PayPoint', 'PP-123', '2026-01-05' \
     FROM families f, programmes g WHERE f.id = $1 AND g.name = 'Resilience Fund'";

const PAYMENT_AFTER: &str = "SELECT notes, voucher_code, amount_pence FROM payments \
     WHERE reference = 'RP-RETAINED'";

async fn retention_anonymises_only_what_is_due_and_honours_holds(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.database_url.as_str();
    let as_of =
        (time::OffsetDateTime::now_utc().date() + time::Duration::days(4 * 366)).to_string();
    let retention = |mode: &str| {
        stdout_of(&earlyhelp(&[
            "retention",
            "apply",
            mode,
            "--as-of",
            &as_of,
            "--database",
            db,
        ]))
    };
    // What of the demo city itself is due by then (requests answered with advice, say).
    let demo_due = listed(&retention("--dry-run"), "would anonymise");
    let new_since_demo = |report: &str, heading: &str| -> Vec<String> {
        listed(report, heading)
            .into_iter()
            .filter(|record| !demo_due.contains(record))
            .collect()
    };
    let count = |kind: &str| demo_due.iter().filter(|r| r.starts_with(kind)).count();
    let (demo_families, demo_requests) = (count("family:"), count("request:"));
    // Amira turned 25 on 2025-02-01: due. Another family whose youngest is 10: not due. A
    // third, due, under a legal hold. A request that ended in advice: due three years on.
    let due = open_family(&app, &household("Testdue", "2000-02-01")).await;
    let young = open_family(&app, &household("Testyoung", "2016-05-02")).await;
    let held = open_family(&app, &household("Testheld", "2001-01-01")).await;
    for family in [&due, &young, &held] {
        close(&app, family).await;
    }
    let advice = send(&app, &household("Testadvice", "2012-03-03")).await;
    assert_eq!(triage(&app, &advice, "information_advice").await, None);
    let hold = stdout_of(&earlyhelp(&[
        "retention",
        "hold",
        "place",
        &format!("family:{held}"),
        "--reason",
        "Complaint 2026/17",
        "--by",
        "Demo IG Officer",
        "--database",
        db,
    ]));
    let hold = hold.trim().to_string();
    // The officer's page is a dry run for today: the same verdicts, nothing changed.
    let ig = app.sign_in(IG_OFFICER).await;
    let page = ig
        .get(&app, "/governance/retention")
        .await
        .text()
        .await
        .unwrap();
    let table = |id: &str| {
        page.split(&format!("id=\"{id}\""))
            .nth(1)
            .unwrap_or("")
            .to_string()
    };
    assert!(table("due").contains(&format!("family:{due}")), "{page}");
    assert!(!table("due").contains(&format!("family:{young}")));
    assert!(table("held").contains(&format!("family:{held}")));
    let commissioner = app.sign_in(COMMISSIONER).await;
    assert_eq!(
        commissioner
            .get(&app, "/governance/retention")
            .await
            .status(),
        403
    );
    let family_id = Uuid::parse_str(&due).unwrap();
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(PAYMENT)
            .bind(family_id)
            .execute(pool)
            .await
            .unwrap();
    });
    not_shared_about(&app, &due).await;
    // Someone in the family network (the Family Help model's): deleted with the case.
    const NETWORK: &str = "INSERT INTO family_network (id, family_id, name, relationship, contact, \
         in_plan, added_micros) VALUES ($1, $2, 'Nasreen Testnan', 'Grandmother', '07700 900123', TRUE, 1)";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(NETWORK)
            .bind(Uuid::now_v7())
            .bind(family_id)
            .execute(pool)
            .await
            .unwrap();
    });
    let network = "SELECT name FROM family_network WHERE family_id = $1";
    assert_eq!(rows(&app.db, network, &due).await.len(), 1);
    let before = family_snapshot(&app.db, &due).await;
    const NHS: &str = "SELECT nhs_number FROM family_members WHERE family_id = $1 \
                       UNION SELECT information FROM not_shared WHERE family_id = $1";
    assert_eq!(
        rows(&app.db, NHS, &due).await.len(),
        3,
        "a number, none, a decision"
    );
    let audited_before = app.audit_of(&format!("family:{due}")).await;

    let dry = retention("--dry-run");
    assert!(
        dry.contains(&format!(
            "would anonymise {} family records and {} requests",
            demo_families + 1,
            demo_requests + 1
        )),
        "{dry}"
    );
    assert_eq!(
        new_since_demo(&dry, "would anonymise"),
        [format!("family:{due}"), format!("request:{advice}")]
    );
    assert_eq!(
        listed(&dry, "kept under a legal hold"),
        [format!("family:{held}")]
    );
    assert_eq!(
        family_snapshot(&app.db, &due).await,
        before,
        "a dry run changes nothing"
    );
    assert_eq!(
        app.audit_of(&format!("family:{due}")).await,
        audited_before,
        "nor writes to the family's audit trail"
    );

    let run = retention("--apply");
    assert!(
        run.contains(&format!(
            "anonymised {} family records and {} requests",
            demo_families + 1,
            demo_requests + 1
        )),
        "{run}"
    );
    // The payments of anonymised families keep their amounts, for spend; their vouchers go.
    // A payment the family had keeps its amount, for spend; its words and voucher go.
    let (notes, voucher, amount): (String, Option<String>, i64) = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(PAYMENT_AFTER).fetch_one(pool).await.unwrap()
    });
    assert_eq!(
        (notes.as_str(), voucher, amount),
        ("[removed under the retention schedule]", None, 13_300)
    );
    assert!(
        rows(&app.db, network, &due).await.is_empty(),
        "the family network goes with the case"
    );
    let after = family_snapshot(&app.db, &due).await;
    assert_eq!(
        rows(&app.db, NHS, &due).await,
        [[""]],
        "NHS numbers are cleared and decisions not to share deleted"
    );
    assert_eq!(
        after[0],
        ["[anonymised]", "[anonymised]", "1999", "", ""],
        "{after:?}"
    );
    assert_eq!(
        after[1],
        [
            "[anonymised]",
            "[anonymised]",
            "2000",
            "asian_pakistani",
            ""
        ],
        "the year of birth and ethnicity stay for the statistics; the school goes"
    );
    assert_eq!(after[2], ["[anonymised]", "[anonymised]", "1975", "", ""]);
    assert_eq!(
        after[3],
        ["", "B16", "closed"],
        "the district and the state stay"
    );
    assert!(
        after[4..after.len() - 1]
            .iter()
            .all(|n| n[0] == "[removed under the retention schedule]")
    );
    assert_eq!(
        after.last().unwrap()[..],
        [
            "[removed under the retention schedule]",
            "[anonymised]",
            "ladywood",
            "education",
            "additional"
        ],
        "what the statistics need is kept"
    );
    assert_eq!(
        family_snapshot(&app.db, &young).await[0][0],
        "Noah",
        "not due yet"
    );
    assert_eq!(family_snapshot(&app.db, &held).await[0][0], "Noah", "held");
    let advice_row = rows(
        &app.db,
        "SELECT summary, address, postcode, outcome FROM support_requests WHERE id = $1",
        &advice,
    )
    .await;
    assert_eq!(
        advice_row[0],
        [
            "[removed under the retention schedule]",
            "",
            "B16",
            "information_advice"
        ]
    );
    let retention_event = (
        "operator".to_string(),
        "update".to_string(),
        "allowed".to_string(),
    );
    let audited_after = app.audit_of(&format!("family:{due}")).await;
    assert_eq!(audited_after.len(), audited_before.len() + 1);
    assert_eq!(audited_after.last(), Some(&retention_event));
    assert!(app.audit_of(&format!("request:{advice}")).await.contains(&(
        "operator".into(),
        "update".into(),
        "allowed".into()
    )));

    let again = retention("--apply");
    assert!(
        again.contains("anonymised 0 family records and 0 requests"),
        "{again}"
    );
    stdout_of(&earlyhelp(&[
        "retention",
        "hold",
        "lift",
        &hold,
        "--by",
        "Demo IG Officer",
        "--database",
        db,
    ]));
    let lifted = retention("--apply");
    assert_eq!(listed(&lifted, "anonymised"), [format!("family:{held}")]);

    // The subject access request from the command line, and its refusals.
    let out = std::env::temp_dir().join(format!("sar-{}.json", Uuid::new_v4()));
    let id = person_id(&app.db, &young, "Amira").await;
    let written = earlyhelp(&[
        "sar",
        &id,
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
        "--database",
        db,
    ]);
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let json: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(json["person"]["family_name"], "Testyoung");
    assert!(app.audit_of(&format!("family:{young}")).await.contains(&(
        "operator".into(),
        "read".into(),
        "allowed".into()
    )));
    let html = stdout_of(&earlyhelp(&["sar", &id, "--database", db]));
    assert!(html.contains("<mark class=\"eh-redact\">Noah Testyoung<"));
    let nobody = earlyhelp(&["sar", &Uuid::now_v7().to_string(), "--database", db]);
    assert!(!nobody.status.success());
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("there is no person"));

    let schedule = std::env::temp_dir().join(format!("schedule-{}.toml", Uuid::new_v4()));
    std::fs::write(&schedule, "youngest_child_age = 12\n").unwrap();
    let bad = earlyhelp(&[
        "retention",
        "apply",
        "--dry-run",
        "--schedule",
        schedule.to_str().unwrap(),
        "--database",
        db,
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("youngest_child_age must be from 18 to 100"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

async fn person_id(db: &Db, family: &str, given_name: &str) -> String {
    let family = Uuid::parse_str(family).unwrap();
    let sql = "SELECT id FROM family_members WHERE family_id = $1 AND given_name = $2";
    let id: Uuid = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(family)
            .bind(given_name)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    id.to_string()
}

async fn legal_holds_from_the_governance_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_family(&app, &household("Testhold", "2010-10-10")).await;
    let record = format!("family:{family}");
    let ig = app.sign_in(IG_OFFICER).await;
    let form = |record: &str, reason: &str| {
        vec![
            ("csrf_token", ig.csrf.clone()),
            ("record", record.to_string()),
            ("reason", reason.to_string()),
        ]
    };
    let bad = ig
        .post(&app, "/governance/holds", &form("family:nonsense", " "))
        .await;
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("href=\"#record\"") && html.contains("href=\"#reason\""));
    let missing = format!("family:{}", Uuid::now_v7());
    let unknown = ig
        .post(&app, "/governance/holds", &form(&missing, "court order"))
        .await;
    assert_eq!(unknown.status(), 422);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains(&format!("There is no record {missing}"))
    );

    let placed = ig
        .post(&app, "/governance/holds", &form(&record, "Court order 44"))
        .await;
    assert_eq!(placed.status(), 303);
    let list = ig
        .get(&app, "/governance/holds")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&record) && list.contains("Court order 44") && list.contains("In force"));
    let marker = "href=\"/governance/holds/";
    let start = list.find(marker).unwrap() + marker.len();
    let lift = format!("/governance/holds/{}/lift", &list[start..start + 36]);
    // Lifting asks first, and needs a reason: without one, 422 and the hold stays.
    let confirm = ig.get(&app, &lift).await.text().await.unwrap();
    assert!(confirm.contains("Court order 44") && confirm.contains("cannot be brought back"));
    let no_reason = ig
        .post(
            &app,
            &lift,
            &[("csrf_token", ig.csrf.as_str()), ("reason", " ")],
        )
        .await;
    assert_eq!(no_reason.status(), 422);
    assert!(no_reason.text().await.unwrap().contains("href=\"#reason\""));
    let still = ig
        .get(&app, "/governance/holds")
        .await
        .text()
        .await
        .unwrap();
    assert!(still.contains("In force"));

    let commissioner = app.sign_in(COMMISSIONER).await;
    let refused = commissioner
        .post(
            &app,
            "/governance/holds",
            &[
                ("csrf_token", commissioner.csrf.as_str()),
                ("record", record.as_str()),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert!(app.audit_of(&record).await.contains(&(
        COMMISSIONER.into(),
        "create".into(),
        "denied".into()
    )));
    assert!(app.audit_of(&record).await.contains(&(
        IG_OFFICER.into(),
        "create".into(),
        "allowed".into()
    )));

    let lifted = ig
        .post(
            &app,
            &lift,
            &[("csrf_token", ig.csrf.as_str()), ("reason", "case settled")],
        )
        .await;
    assert_eq!(lifted.status(), 303);
    assert_eq!(
        lifted.headers()["location"],
        "/governance/holds?done=lifted"
    );
    let list = ig
        .get(&app, "/governance/holds?done=lifted")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("The legal hold is lifted."));
    assert!(list.contains("Lifted") && list.contains("case settled") && !list.contains("In force"));
    let hold_subject = format!(
        "legal_hold:{}",
        &lift["/governance/holds/".len().."/governance/holds/".len() + 36]
    );
    assert!(
        crate::serious::purposes(&app, &hold_subject)
            .await
            .contains(&(IG_OFFICER.into(), "lift a legal hold".into())),
        "the audit event says who, the hold why"
    );
    let twice = ig
        .post(
            &app,
            &lift,
            &[("csrf_token", ig.csrf.as_str()), ("reason", "again")],
        )
        .await;
    assert_eq!(twice.status(), 422, "a hold is lifted once");
    assert!(twice.text().await.unwrap().contains("already been lifted"));
}

/// The officer's journey in a real browser: find a person, read their subject access request,
/// place a hold; axe-core checks each page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_governance_pages_are_accessible() {
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let driver = &browser.driver;
    let accessible = async |page: &str| {
        let violations = browser.accessibility_violations().await;
        assert!(violations.is_empty(), "{page}: {violations:#?}");
        browser.screenshot(page).await;
    };
    // Signing in from a link to the governance page lands on it.
    driver.goto(app.url("/governance")).await.unwrap();
    browser.fill(By::Id("email"), IG_OFFICER).await;
    browser.fill(By::Id("password"), DEMO_PASSWORD).await;
    browser.click(By::Css("main button[type=submit]")).await;
    browser
        .wait_for_heading("Subject access and retention")
        .await;
    accessible("governance-search").await;

    browser.fill(By::Id("name"), "a").await;
    browser.click(By::Css("main button[type=submit]")).await;
    driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("a one-letter search is refused");
    accessible("governance-search-errors").await;

    driver
        .find(By::Id("name"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    browser.fill(By::Id("name"), "amira").await;
    browser.click(By::Css("main button[type=submit]")).await;
    driver
        .query(By::Css("#people a"))
        .first()
        .await
        .expect("demo people called Amira")
        .click()
        .await
        .unwrap();
    browser.wait_for_heading("Amira ").await;
    let subject = driver.find(By::Id("subject-name")).await.unwrap();
    assert!(subject.text().await.unwrap().starts_with("Amira "));
    assert!(
        !driver
            .find_all(By::Css("#household mark.eh-redact"))
            .await
            .unwrap()
            .is_empty(),
        "the household is marked for redaction"
    );
    accessible("governance-sar").await;

    browser.click(By::LinkText("Governance")).await;
    browser
        .wait_for_heading("Subject access and retention")
        .await;
    browser.click(By::LinkText("Retention")).await;
    browser.wait_for_heading("Retention").await;
    accessible("governance-retention").await;
    browser.click(By::LinkText("Not shared")).await;
    browser.wait_for_heading("Decisions not to share").await;
    driver
        .query(By::Css("#decisions tbody tr"))
        .first()
        .await
        .expect("the demo's decisions not to share");
    accessible("governance-not-shared").await;
    browser.click(By::LinkText("Governance")).await;
    browser
        .wait_for_heading("Subject access and retention")
        .await;
    browser.click(By::LinkText("Legal holds")).await;
    browser.wait_for_heading("Legal holds").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("an empty hold is refused");
    accessible("governance-holds-errors").await;
    browser.quit().await;
}

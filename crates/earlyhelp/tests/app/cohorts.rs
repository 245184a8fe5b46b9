//! Cohorts and outreach (issue 14), on both databases: a cohort from a finished run, counted by
//! locality; the analyst sees it pseudonymised; outreach makes one request per household not
//! already open, in its locality's queue, once however often it is sent; another locality's
//! lead can neither see nor open them; the cohort goes with its list at the delete-by date.

use crate::helpers::*;
use crate::matching::{
    count, delete_by, figure, known_pairs_list, run_to_the_end, run_with_roles, run_with_unused,
};
use earlyhelp::demo_cases::ERDINGTON_LEAD;
use earlyhelp_domain::access::Action;
use earlyhelp_storage::{gate, matching};

crate::on_both_backends!(
    a_cohort_is_counted_pseudonymised_and_outreach_lands_once_in_each_locality,
    a_lists_nhs_numbers_reach_the_outreach_request_and_a_failing_one_never_does,
    a_matched_persons_subject_access_request_names_the_cohort,
);

const OUTREACH: &str = "SELECT COUNT(*) FROM support_requests WHERE requester = 'Outreach: temporary accommodation, November 2026'";

/// Makes the run's cohort `name` as the analyst; answers its page's path.
async fn make_cohort(app: &TestApp, analyst: &Session, run: &str, name: &str) -> String {
    let made = analyst
        .post(
            app,
            &format!("/matching/runs/{run}/cohorts"),
            &[
                ("csrf_token", analyst.csrf.clone()),
                ("name", name.to_string()),
            ],
        )
        .await;
    assert_eq!(made.status(), 303, "{}", made.text().await.unwrap());
    made.headers()["location"].to_str().unwrap().to_string()
}

/// A count on the analyst's page: its figure, or `None` where it reads "fewer than 5".
fn shown(page: &str, id: &str) -> Option<u64> {
    let marker = format!("id=\"{id}\">fewer than 5<");
    (!page.contains(&marker)).then(|| figure(page, id))
}

/// Households of the cohort named `name` whose status is `status` (`%` for any), placed or not.
async fn households_of(app: &TestApp, name: &str, status: &str, placed: bool) -> u64 {
    let sql = "SELECT COUNT(*) FROM cohort_households h JOIN cohorts c ON c.id = h.cohort_id \
               WHERE c.name = $1 AND h.status LIKE $2 AND (h.locality_slug IS NOT NULL) = $3";
    let n: i64 = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(name)
            .bind(status)
            .bind(placed)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    n as u64
}

async fn exec(app: &TestApp, sql: &'static str) {
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(sql).execute(pool).await.unwrap();
    });
}

/// The id of the outreach request for the household whose members have `family_name`.
async fn request_of(app: &TestApp, family_name: &str) -> String {
    let sql = "SELECT r.id FROM support_requests r JOIN request_members m ON m.request_id = r.id \
               WHERE m.family_name = $1 AND r.requester LIKE 'Outreach: %'";
    let id: uuid::Uuid = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(family_name)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    id.to_string()
}

async fn a_cohort_is_counted_pseudonymised_and_outreach_lands_once_in_each_locality(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    // Ten demo people as they are, ten strangers outside the city (not placed), a household
    // of two at one address written two ways in Ladywood, and one person in Erdington.
    let mut csv = known_pairs_list(&app.db, 10, 0, 10).await;
    csv.push_str("N1,Ada,Newcomer,2016-01-01,B1 1AA,\"5 New Street\"\n");
    csv.push_str("N2,Ben,Newcomer,1985-02-02,b11aa,\"5, new street\"\n");
    csv.push_str("N3,Cal,Farfield,2014-05-05,B23 1AA,\"7 Far Road\"\n");
    let run = run_to_the_end(&app, &analyst, "Housing", &csv).await;
    let run_page = analyst.get(&app, &format!("/matching/runs/{run}")).await;
    assert!(
        run_page
            .text()
            .await
            .unwrap()
            .contains(&format!("/matching/runs/{run}/cohorts"))
    );

    // A cohort needs a name, named by field.
    let cohorts = format!("/matching/runs/{run}/cohorts");
    let form = |name: &str| {
        [
            ("csrf_token", analyst.csrf.clone()),
            ("name", name.to_string()),
        ]
    };
    let refused = analyst.post(&app, &cohorts, &form(" ")).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Enter a name for the cohort")
    );
    let made = analyst
        .post(
            &app,
            &cohorts,
            &form("temporary accommodation, November 2026"),
        )
        .await;
    assert_eq!(made.status(), 303);
    let cohort = made.headers()["location"].to_str().unwrap().to_string();
    let taken = analyst
        .post(
            &app,
            &cohorts,
            &form("temporary accommodation, November 2026"),
        )
        .await;
    assert_eq!(taken.status(), 422, "one name, one cohort");

    // Counts by locality only, each below 5 suppressed: no household's status, nobody's name
    // or address, and not who holds an open case.
    const NAME: &str = "temporary accommodation, November 2026";
    let page = analyst.get(&app, &cohort).await.text().await.unwrap();
    assert_eq!(figure(&page, "people"), 23);
    assert_eq!(figure(&page, "households-not-placed"), 10);
    assert_eq!(figure(&page, "not-known-not-placed"), 10);
    assert!(page.contains("id=\"households-ladywood\">"));
    assert!(page.contains("id=\"households-erdington\">"));
    for (id, status) in [
        ("open", "open"),
        ("waiting", "waiting"),
        ("known", "known"),
        ("not-known", "not_known"),
    ] {
        let actual = households_of(&app, NAME, status, true).await
            + households_of(&app, NAME, status, false).await;
        assert_eq!(shown(&page, id), (actual >= 5).then_some(actual), "{id}");
    }
    let open = households_of(&app, NAME, "open", true).await;
    assert!(open >= 1, "demo people with open cases");
    for private in [
        "Newcomer",
        "Farfield",
        "Zebedee",
        "New Street",
        "B1 1AA",
        "H-0001",
        "Known to earlyhelp",
        "known-to",
        "locality team",
        "social care",
    ] {
        assert!(!page.contains(private), "{private} shown to the analyst");
    }
    let subject = cohort.replace("/cohorts/", "cohort:");
    let audit = app.audit_of(&subject).await;
    for action in ["create", "read"] {
        let event = (
            ANALYST.to_string(),
            action.to_string(),
            "allowed".to_string(),
        );
        assert!(audit.contains(&event), "{action}: {audit:?}");
    }
    // Each matched family's case state, read to make the cohort, is in the family's own log
    // as the cohort's background read, never as the analyst allowed to read the family.
    let family_reads = count(
        &app.db,
        "SELECT COUNT(*) FROM audit_events WHERE subject LIKE 'family:%' \
         AND purpose LIKE 'case state read to make cohort%' AND actor = 'operator'",
    )
    .await;
    assert!(family_reads >= 1);
    let as_analyst = count(
        &app.db,
        "SELECT COUNT(*) FROM audit_events WHERE (subject LIKE 'family:%' \
         OR subject LIKE 'request:%') AND actor = 'analyst@earlyhelp.test'",
    )
    .await;
    assert_eq!(as_analyst, 0);

    // Outreach: a confirmation with the count, a reason named by field, then the requests.
    let outreach = format!("{cohort}/outreach");
    let confirm = analyst.get(&app, &outreach).await.text().await.unwrap();
    let expected = households_of(&app, NAME, "known", true).await
        + households_of(&app, NAME, "not_known", true).await;
    assert_eq!(figure(&confirm, "new"), expected, "{confirm}");
    assert!(confirm.contains("10 households are not placed"));
    let send = |reason: &str| {
        [
            ("csrf_token", analyst.csrf.clone()),
            ("reason", reason.to_string()),
        ]
    };
    let no_reason = analyst.post(&app, &outreach, &send("")).await;
    assert_eq!(no_reason.status(), 422);
    assert!(
        no_reason
            .text()
            .await
            .unwrap()
            .contains("Choose the reason")
    );
    let forged = [
        ("csrf_token", "forged".to_string()),
        ("reason", "risk_of_homelessness".into()),
    ];
    assert_eq!(analyst.post(&app, &outreach, &forged).await.status(), 403);
    assert_eq!(count(&app.db, OUTREACH).await, 0);
    // Every case opens after the cohort is made: outreach reads again, and a household whose
    // case is open now is left to its holder.
    let known_before = households_of(&app, NAME, "known", true).await;
    exec(
        &app,
        "UPDATE families SET state = 'open' WHERE state <> 'stepped_up'",
    )
    .await;
    let sent = analyst
        .post(&app, &outreach, &send("risk_of_homelessness"))
        .await;
    assert_eq!(sent.status(), 303);
    let expected = households_of(&app, NAME, "known", true).await
        + households_of(&app, NAME, "not_known", true).await;
    assert!(
        households_of(&app, NAME, "known", true).await < known_before,
        "known households whose case opened since: {known_before}"
    );
    assert_eq!(count(&app.db, OUTREACH).await as u64, expected);
    let sent_to_open = "SELECT COUNT(*) FROM cohort_households \
                        WHERE request_id IS NOT NULL AND status IN ('open', 'waiting')";
    assert_eq!(count(&app.db, sent_to_open).await, 0);
    // Nobody's "requests you sent": outreach requests carry no requester account.
    let with_sender = "SELECT COUNT(*) FROM support_requests \
                       WHERE requester LIKE 'Outreach: %' AND requested_by IS NOT NULL";
    assert_eq!(count(&app.db, with_sender).await, 0);
    // Twice: nothing more.
    let again = analyst
        .post(&app, &outreach, &send("risk_of_homelessness"))
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(count(&app.db, OUTREACH).await as u64, expected);
    let page = analyst.get(&app, &cohort).await.text().await.unwrap();
    assert_eq!(shown(&page, "sent"), (expected >= 5).then_some(expected));
    assert_eq!(
        shown(&page, "to-send"),
        None,
        "none left, shown as fewer than 5"
    );
    let newcomers = request_of(&app, "Newcomer").await;
    let audit = app.audit_of(&format!("request:{newcomers}")).await;
    assert_eq!(
        audit[0],
        (
            ANALYST.to_string(),
            "create".to_string(),
            "allowed".to_string()
        )
    );

    // Ladywood's lead sees the newcomers in the queue, marked as outreach, and opens it.
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let queue = lead
        .get(&app, "/triage?locality=ladywood")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        queue.contains("Ada Newcomer, Ben Newcomer"),
        "one request, both members"
    );
    assert!(queue.contains("Outreach: temporary accommodation, November 2026"));
    assert!(
        !queue.contains("Farfield"),
        "Erdington's household is not Ladywood's"
    );
    let request = lead.get(&app, &format!("/triage/{newcomers}")).await;
    assert_eq!(request.status(), 200);
    let request = request.text().await.unwrap();
    assert!(request.contains("on a list from Housing"), "the source");
    assert!(
        request.contains(&format!("{cohort}/localities/ladywood")),
        "where the names are"
    );
    let named = lead
        .get(&app, &format!("{cohort}/localities/ladywood"))
        .await
        .text()
        .await
        .unwrap();
    assert!(named.contains("Ada Newcomer") && named.contains("5 New Street"));
    assert!(!named.contains("Farfield"));
    assert!(
        named.contains("Not known"),
        "the status is the locality's to see"
    );
    // An unknown locality is not found, and not written to the audit log.
    let nowhere = lead
        .get(&app, &format!("{cohort}/localities/nowhere"))
        .await;
    assert_eq!(nowhere.status(), 404);
    assert!(app.audit_of(&format!("{subject}:nowhere")).await.is_empty());

    // Erdington's lead: their own household, never Ladywood's, and no names to the analyst.
    let other = app.sign_in(ERDINGTON_LEAD).await;
    let queue = other
        .get(&app, "/triage?locality=erdington")
        .await
        .text()
        .await
        .unwrap();
    assert!(queue.contains("Cal Farfield") && !queue.contains("Newcomer"));
    // Another locality's request is answered as if it did not exist, and the refusal audited.
    assert_eq!(
        other
            .get(&app, &format!("/triage/{newcomers}"))
            .await
            .status(),
        404
    );
    let refused = (
        ERDINGTON_LEAD.to_string(),
        "read".to_string(),
        "denied".to_string(),
    );
    assert!(
        app.audit_of(&format!("request:{newcomers}"))
            .await
            .contains(&refused)
    );
    assert_eq!(
        other.get(&app, "/triage?locality=ladywood").await.status(),
        403
    );
    assert_eq!(
        other
            .get(&app, &format!("{cohort}/localities/ladywood"))
            .await
            .status(),
        403
    );
    assert_eq!(
        analyst
            .get(&app, &format!("{cohort}/localities/ladywood"))
            .await
            .status(),
        403
    );
    assert_eq!(
        lead.get(&app, &cohort).await.status(),
        403,
        "counts are the analyst's"
    );
    let by_lead = [
        ("csrf_token", lead.csrf.clone()),
        ("name", "a lead's cohort".to_string()),
        ("reason", "education".to_string()),
    ];
    assert_eq!(lead.post(&app, &cohorts, &by_lead).await.status(), 403);
    assert_eq!(lead.post(&app, &outreach, &by_lead).await.status(), 403);
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM cohorts").await, 1);

    // A second cohort of the same source sends those households nothing more.
    let second = analyst
        .post(&app, &cohorts, &form("the same households again"))
        .await;
    let second = second.headers()["location"].to_str().unwrap().to_string();
    let confirm = analyst
        .get(&app, &format!("{second}/outreach"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(figure(&confirm, "new"), 0, "{confirm}");
    let sent = analyst
        .post(&app, &format!("{second}/outreach"), &send("education"))
        .await;
    assert_eq!(sent.status(), 303);
    assert_eq!(count(&app.db, OUTREACH).await as u64, expected);
    let page = analyst.get(&app, &second).await.text().await.unwrap();
    assert_eq!(
        shown(&page, "sent"),
        (expected >= 5).then_some(expected),
        "linked to the first cohort's requests"
    );

    // Fewer than 5 households placed: no cohort, which would point at the families in it.
    let mut few = known_pairs_list(&app.db, 0, 0, 18).await;
    few.push_str("F1,Fay,Fewer,2016-01-01,B1 1AA,\"9 Few Street\"\n");
    few.push_str("F2,Gus,Fewer,2015-01-01,B1 1AA,\"11 Few Street\"\n");
    let few = run_to_the_end(&app, &analyst, "Few", &few).await;
    let refused = analyst
        .post(&app, &format!("/matching/runs/{few}/cohorts"), &form("few"))
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("fewer than 5 households")
    );

    // A source reusing its household ids next month: another list's HH1 is another family,
    // sent its own request, not linked to last month's.
    let hostel = |month: &str, given: &str, year: u32| {
        let mut csv = String::from("ref,first_name,surname,dob,postcode,address,household_id\n");
        for n in 1..=6 {
            csv.push_str(&format!(
                "{month}{n},{given},{month}field{n},{year}-0{n}-1{n},B1 1AA,\"{n} {month} Row\",HH{n}\n"
            ));
        }
        for n in 0..14 {
            csv.push_str(&format!(
                "{month}S{n},Yolanda{n},Strangeway,19{:02}-02-1{},ZZ1 {n}QQ,\"{n} Nowhere\",\n",
                60 + n,
                n % 9
            ));
        }
        csv
    };
    for (month, given, year) in [("May", "Quentin", 2012), ("June", "Rosalind", 2003)] {
        let list = hostel(month, given, year);
        let run = run_with_unused(&app, &analyst, "Hostel", &list, 1).await;
        let made = analyst
            .post(
                &app,
                &format!("/matching/runs/{run}/cohorts"),
                &form(&format!("hostel {month}")),
            )
            .await;
        assert_eq!(made.status(), 303, "{}", made.text().await.unwrap());
        let cohort = made.headers()["location"].to_str().unwrap().to_string();
        let confirm = analyst
            .get(&app, &format!("{cohort}/outreach"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(figure(&confirm, "new"), 6, "{month}: {confirm}");
        let sent = analyst
            .post(&app, &format!("{cohort}/outreach"), &send("education"))
            .await;
        assert_eq!(sent.status(), 303);
    }

    // A run with possible matches waiting for review makes no cohort: one of them could be
    // an open case.
    let changed = known_pairs_list(&app.db, 10, 10, 6).await;
    let waiting = run_to_the_end(&app, &analyst, "Schools", &changed).await;
    let refused = analyst
        .post(
            &app,
            &format!("/matching/runs/{waiting}/cohorts"),
            &form("schools"),
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("wait for review: decide them first")
    );

    // The cohorts go with their list at the delete-by date; the requests stay the localities'.
    let mut authorised = gate::operator(&app.db, "retention", Action::Update, "test")
        .await
        .unwrap();
    matching::delete_due(&mut authorised, delete_by(), true)
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();
    for table in [
        "SELECT COUNT(*) FROM cohorts",
        "SELECT COUNT(*) FROM cohort_households",
        "SELECT COUNT(*) FROM cohort_people",
    ] {
        assert_eq!(count(&app.db, table).await, 0, "{table}");
    }
    assert_eq!(count(&app.db, OUTREACH).await as u64, expected);
}

/// The members of the outreach request whose members have `family_name`: given name, NHS
/// number and why it is missing, by given name.
async fn outreach_members(app: &TestApp, family_name: &str) -> Vec<(String, String, String)> {
    let sql = "SELECT m.given_name, m.nhs_number, m.nhs_number_missing FROM request_members m \
               JOIN support_requests r ON r.id = m.request_id \
               WHERE m.family_name = $1 AND r.requester LIKE 'Outreach: %' ORDER BY m.given_name";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(sql)
            .bind(family_name)
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

async fn a_lists_nhs_numbers_reach_the_outreach_request_and_a_failing_one_never_does(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    // The usual list with an NHS number column, empty for its people, and a household of two
    // in Ladywood: Nia's number passes its check digit, Oto's (its last digit changed) fails.
    let mut csv = String::new();
    for (n, line) in known_pairs_list(&app.db, 10, 0, 10)
        .await
        .lines()
        .enumerate()
    {
        csv.push_str(line);
        csv.push_str(if n == 0 { ",nhs_number\n" } else { ",\n" });
    }
    csv.push_str("N1,Nia,Numbered,2016-01-01,B1 1AA,\"5 New Street\",943 476 5919\n");
    csv.push_str("N2,Oto,Numbered,1984-02-02,B1 1AA,\"5 New Street\",943 476 5918\n");
    let run = run_with_roles(&app, &analyst, "Health", &csv, &["nhs_number"]).await;
    let cohort = make_cohort(&app, &analyst, &run, "numbered").await;
    // Only the valid number is kept; the failing one is never stored.
    let numbered = "SELECT COUNT(*) FROM cohort_people WHERE nhs_number <> ''";
    let nia = "SELECT COUNT(*) FROM cohort_people WHERE given_name = 'Nia' \
               AND nhs_number = '9434765919'";
    assert_eq!(count(&app.db, numbered).await, 1);
    assert_eq!(count(&app.db, nia).await, 1);
    // The analyst sees counts, never the number.
    let page = analyst.get(&app, &cohort).await.text().await.unwrap();
    assert!(!page.contains("5919") && !page.contains("Numbered"));

    let sent = analyst
        .post(
            &app,
            &format!("{cohort}/outreach"),
            &[
                ("csrf_token", analyst.csrf.clone()),
                ("reason", "risk_of_homelessness".to_string()),
            ],
        )
        .await;
    assert_eq!(sent.status(), 303);
    // Nia's number on Nia; Oto has none, and no reason is made up for it ("not asked yet").
    assert_eq!(
        outreach_members(&app, "Numbered").await,
        [
            ("Nia".to_string(), "9434765919".to_string(), String::new()),
            ("Oto".to_string(), String::new(), String::new()),
        ]
    );
    let request = request_of(&app, "Numbered").await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let triage = lead.get(&app, &format!("/triage/{request}")).await;
    assert_eq!(triage.status(), 200);
    let triage = triage.text().await.unwrap();
    assert!(triage.contains("943 476 5919") && !triage.contains("943 476 5918"));
    // The locality's lead, who sees the names, sees the number with them.
    let named = lead
        .get(&app, &format!("{cohort}/localities/ladywood"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        named.contains("Nia Numbered (born 2016-01-01, NHS number 943 476 5919)"),
        "{named}"
    );
    assert!(named.contains("Oto Numbered (born 1984-02-02)"));

    // The numbers go with the cohort at the list's delete-by date; the request keeps its own.
    let mut authorised = gate::operator(&app.db, "retention", Action::Update, "test")
        .await
        .unwrap();
    matching::delete_due(&mut authorised, delete_by(), true)
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM cohort_people").await,
        0
    );
    assert_eq!(outreach_members(&app, "Numbered").await[0].1, "9434765919");
}

/// A person the run matched is named by the cohort in their subject access request, with who
/// shared the list and why, and still is once unmatched (the cohort keeps the list's people);
/// a person no list named has none.
async fn a_matched_persons_subject_access_request_names_the_cohort(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let csv = known_pairs_list(&app.db, 10, 0, 10).await;
    let run = run_to_the_end(&app, &analyst, "Housing", &csv).await;
    make_cohort(
        &app,
        &analyst,
        &run,
        "temporary accommodation, December 2026",
    )
    .await;
    let (keys, members) = earlyhelp_storage::on_pool!(&app.db, pool => {
        let keys = sqlx::query_scalar::<_, String>(KEYS).fetch_all(pool).await;
        let members = sqlx::query_scalar::<_, uuid::Uuid>(MEMBERS).fetch_all(pool).await;
        (keys.unwrap(), members.unwrap())
    });
    let person = keys[0].strip_prefix("person:").unwrap().to_string();
    let unnamed = members
        .iter()
        .find(|m| !keys.contains(&format!("person:{m}")))
        .unwrap();
    let ig = app.sign_in(IG_OFFICER).await;
    let sar: serde_json::Value = ig
        .get(&app, &format!("/governance/people/{person}/sar.json"))
        .await
        .json()
        .await
        .unwrap();
    let cohorts = sar["cohorts"].as_array().unwrap();
    assert_eq!(cohorts.len(), 1, "{sar}");
    assert_eq!(
        cohorts[0]["cohort"],
        "temporary accommodation, December 2026"
    );
    assert_eq!(cohorts[0]["source"], "Housing");
    assert!(!cohorts[0]["lawful_basis"].as_str().unwrap().is_empty());
    let page = ig
        .get(&app, &format!("/governance/people/{person}/sar.html"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("temporary accommodation, December 2026"));
    // Who looked at the record, in words: the officer's own read is in the access log.
    assert!(page.contains("Information governance officer"));
    assert!(!page.contains("information_governance_officer"));
    // Unmatched, they are still on the cohort's list: found by name and date of birth.
    let unmatch = "DELETE FROM match_results WHERE right_key = $1";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(unmatch).bind(&keys[0]).execute(pool).await.unwrap();
    });
    let listed: serde_json::Value = ig
        .get(&app, &format!("/governance/people/{person}/sar.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["cohorts"], sar["cohorts"],
        "found by name once unmatched"
    );
    let other: serde_json::Value = ig
        .get(&app, &format!("/governance/people/{unnamed}/sar.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        other["cohorts"],
        serde_json::json!([]),
        "no list named them"
    );
}

const KEYS: &str = "SELECT right_key FROM match_results WHERE status = 'match' \
     AND right_key LIKE 'person:%' ORDER BY right_key";
const MEMBERS: &str = "SELECT id FROM family_members ORDER BY id";

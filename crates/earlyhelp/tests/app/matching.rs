//! Matching in the product (issue 14), on both databases: bad lists refused before any job,
//! a run's counts on a list with known true pairs, a run whose worker died run again cleanly,
//! review decisions recorded and reused, who may see it, and the audit trail.

use crate::helpers::*;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::matching::{MAX_COLUMNS, MAX_HEADER_CHARS, MAX_LIST_BYTES, MAX_ROWS, Stage};
use earlyhelp_storage::{Db, gate, matching, now_micros};
use std::time::Duration;

crate::on_both_backends!(
    bad_lists_are_refused_before_any_job_with_their_messages,
    a_run_finds_the_known_pairs_and_review_is_recorded_and_reused,
    a_run_whose_worker_died_is_run_again_cleanly,
    only_analysts_match_and_the_queue_shows_only_what_review_needs,
    hostile_uploads_and_roles_are_refused,
);

const HEADER: &str = "ref,first_name,surname,dob,postcode,address";

/// A delete-by date that never expires: four months from today (review L9).
pub(crate) fn delete_by() -> time::Date {
    earlyhelp_storage::cases::today() + time::Duration::days(120)
}

/// Terms of a share that pass the checks.
pub(crate) fn terms(source: &str) -> Vec<(&'static str, String)> {
    vec![
        ("source", source.to_string()),
        ("purpose", "Find families in temporary accommodation".into()),
        ("article6", "public_task".into()),
        ("article9", String::new()),
        ("dpia_reference", "DPIA-2026-014".into()),
        ("delete_by", earlyhelp_domain::cases::iso(delete_by())),
    ]
}

/// The upload form as a browser would send it: the token, the terms, then the files.
fn multipart(csrf: &str, fields: &[(&str, String)], files: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut part = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    part("csrf_token", csrf);
    for (name, value) in fields {
        part(name, value);
    }
    for file in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"housing.csv\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

const BOUNDARY: &str = "eh-matching-boundary";

async fn post_list(session: &Session, app: &TestApp, body: Vec<u8>) -> reqwest::Response {
    session
        .client
        .post(app.url("/matching/lists"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Posts the upload form with one file.
pub(crate) async fn upload(
    session: &Session,
    app: &TestApp,
    fields: &[(&str, String)],
    file: &[u8],
) -> reqwest::Response {
    post_list(session, app, multipart(&session.csrf, fields, &[file])).await
}

pub(crate) async fn count(db: &Db, sql: &'static str) -> i64 {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    })
}

/// Demo family members: given name, family name, date of birth, postcode, address.
async fn demo_people(db: &Db, n: i64) -> Vec<(String, String, String, String, String)> {
    let sql = "SELECT m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address \
               FROM family_members m JOIN families f ON f.id = m.family_id \
               ORDER BY m.date_of_birth, m.given_name LIMIT $1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql).bind(n).fetch_all(pool).await.unwrap()
    })
}

/// The id in a `Location: /matching/.../ID` answer.
pub(crate) fn id_in(response: &reqwest::Response) -> String {
    let location = response.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_string()
}

/// A list of known pairs: `exact` demo people copied as they are, `changed` who have moved
/// and whose given name has a slip, is an initial or another name, whose family name changed,
/// or whose date of birth has a slip (the engine finds most, many not sure enough to match),
/// and `strangers` earlyhelp has never heard of.
pub(crate) async fn known_pairs_list(
    db: &Db,
    exact: usize,
    changed: usize,
    strangers: usize,
) -> String {
    let people = demo_people(db, (exact + changed) as i64 * 7).await;
    // Every seventh person by date of birth: seldom two of one household.
    let chosen: Vec<_> = people.iter().step_by(7).take(exact + changed).collect();
    let mut csv = format!("{HEADER}\n");
    for (n, (given, family, born, postcode, address)) in chosen.iter().enumerate() {
        let moved = "B99 9ZZ,\"1 Elsewhere Lane\"";
        let line = match n.checked_sub(exact).map(|k| k % 5) {
            None => format!("H{n},{given},{family},{born},{postcode},\"{address}\""),
            Some(0) => format!("H{n},{given}x,{family},{born},{moved}"),
            Some(1) => format!("H{n},{},{family},{born},{moved}", &given[..1]),
            Some(2) => format!("H{n},Xavier,{family},{born},{moved}"),
            Some(3) => format!("H{n},{given},Smithson,{born},{moved}"),
            Some(_) => format!("H{n},{given},{family},{},{moved}", slip(born)),
        };
        csv.push_str(&line);
        csv.push('\n');
    }
    for n in 0..strangers {
        csv.push_str(&format!(
            "S{n},Zebedee{n},Quillfeather,19{:02}-0{}-1{},ZZ1 {n}QQ,\"{n} Nowhere Close\"\n",
            30 + n,
            1 + n % 9,
            n % 9
        ));
    }
    csv
}

/// A date of birth with its last digit mistyped.
fn slip(born: &str) -> String {
    let last = born.chars().last().unwrap();
    let other = if last == '1' { '2' } else { '1' };
    format!("{}{other}", &born[..born.len() - 1])
}

/// Uploads `csv`, starts a run against earlyhelp's people and waits for it to finish.
pub(crate) async fn run_to_the_end(
    app: &TestApp,
    analyst: &Session,
    source: &str,
    csv: &str,
) -> String {
    run_with_unused(app, analyst, source, csv, 0).await
}

/// As [`run_to_the_end`], with `unused` more columns after the six, given no role.
pub(crate) async fn run_with_unused(
    app: &TestApp,
    analyst: &Session,
    source: &str,
    csv: &str,
    unused: usize,
) -> String {
    run_with_roles(app, analyst, source, csv, &vec![""; unused]).await
}

/// As [`run_to_the_end`], with more columns after the six, given the roles `more`.
pub(crate) async fn run_with_roles(
    app: &TestApp,
    analyst: &Session,
    source: &str,
    csv: &str,
    more: &[&str],
) -> String {
    let response = upload(analyst, app, &terms(source), csv.as_bytes()).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let list = id_in(&response);
    let preview = analyst.get(app, &format!("/matching/lists/{list}")).await;
    let preview = preview.text().await.unwrap();
    // The columns as `earlyhelp link` recognises them, to be corrected here.
    assert!(
        preview.contains(r#"<option value="given_name" selected>"#),
        "{preview}"
    );
    assert!(preview.contains(r#"<option value="id" selected>"#));
    let roles: Vec<(String, String)> = [
        "id",
        "given_name",
        "family_name",
        "date_of_birth",
        "postcode",
        "address",
    ]
    .iter()
    .chain(more)
    .enumerate()
    .map(|(c, r)| (format!("role_{c}"), r.to_string()))
    .chain([
        ("csrf_token".to_string(), analyst.csrf.clone()),
        ("against".to_string(), "earlyhelp".to_string()),
    ])
    .collect();
    let started = analyst
        .post(app, &format!("/matching/lists/{list}/runs"), &roles)
        .await;
    assert_eq!(started.status(), 303);
    let run = id_in(&started);
    wait_for(app, analyst, &run).await
}

/// Waits for a run to finish (its page shows a bar while it runs); answers the run.
pub(crate) async fn wait_for(app: &TestApp, session: &Session, run: &str) -> String {
    for _ in 0..600 {
        let page = session.get(app, &format!("/matching/runs/{run}")).await;
        let page = page.text().await.unwrap();
        if !page.contains("<progress") {
            assert!(!page.contains("did not finish"), "{page}");
            return run.to_string();
        }
        assert!(
            page.contains("Check its progress"),
            "a way to look again while it runs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the run did not finish in a minute");
}

/// The figure in the element with this id on the run page.
pub(crate) fn figure(page: &str, id: &str) -> u64 {
    let marker = format!("id=\"{id}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id}: {page}"))
        + marker.len();
    page[start..]
        .split('<')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The form's fields, the file, the status and the message expected.
type BadList = (Vec<(&'static str, String)>, Vec<u8>, u16, &'static str);

async fn bad_lists_are_refused_before_any_job_with_their_messages(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let good = "ref,first_name,surname,dob\nA1,Ann,Lee,2015-03-04\n";
    let cases: Vec<BadList> = vec![
        (
            terms("Housing"),
            b"ref,favourite_colour,dob\nA1,red,2015-03-04\n".to_vec(),
            422,
            "housing.csv: no column was recognised as a name",
        ),
        (
            terms("Housing"),
            b"ref,first_name,surname\nA1,Ann,Lee\n".to_vec(),
            422,
            "housing.csv: no column was recognised as a date of birth",
        ),
        (
            terms("Housing"),
            b"ref,first_name,surname,dob\nA1,Ann,Lee,2015-03-04\nA1,Bob,Lee,2016-03-04\n".to_vec(),
            422,
            "housing.csv: rows 2 and 3, column &#39;ref&#39;: the id &#39;A1&#39; appears more than once",
        ),
        (
            terms("Housing"),
            b"ref,first_name,surname,dob\nA1,Bj\xf6rn,Lee,2015-03-04\n".to_vec(),
            422,
            "housing.csv: row 2, column &#39;first_name&#39;: the text is not valid UTF-8",
        ),
        (
            terms("Housing")
                .into_iter()
                .filter(|(k, _)| *k != "article6")
                .collect(),
            good.as_bytes().to_vec(),
            422,
            "Select the lawful basis of the share (UK GDPR article 6)",
        ),
        (
            terms("Housing"),
            b"ref,first_name,surname,dob\nA1,Ann\x01,Lee,2015-03-04\n".to_vec(),
            422,
            "housing.csv: row 2, column &#39;first_name&#39;: the cell holds a control character",
        ),
        (
            terms("Housing"),
            b"ref,first_name,surname,dob\nA1,Ann,Lee,2015-03-04\nA2,Bo,L\x00e,2015-03-04\n"
                .to_vec(),
            422,
            "housing.csv: row 3, column &#39;surname&#39;: the cell holds a control character",
        ),
        (
            terms("Housing"),
            format!("{good}{}\n", ",x".repeat(MAX_COLUMNS + 2)).into_bytes(),
            422,
            "housing.csv: row 3: 103 cells, more than the 100 columns allowed",
        ),
        (
            terms("Housing"),
            format!("ref,first_name,surname,dob{}\n", ",x".repeat(MAX_COLUMNS)).into_bytes(),
            422,
            "housing.csv: row 1 (the header): 104 columns, more than the 100 allowed",
        ),
        (
            terms("Housing"),
            format!(
                "ref,first_name,surname,dob,{}\n",
                "x".repeat(MAX_HEADER_CHARS + 1)
            )
            .into_bytes(),
            422,
            "housing.csv: row 1 (the header), column 5: the name is longer than 200 characters",
        ),
        (
            terms("Housing"),
            format!(
                "ref,first_name,surname,dob\n{}",
                "A,Ann,Lee,2015-03-04\n".repeat(MAX_ROWS + 1)
            )
            .into_bytes(),
            422,
            "housing.csv: more than 250,000 records; split the list",
        ),
        (
            terms("Housing"),
            [good.as_bytes(), &vec![b'x'; MAX_LIST_BYTES]].concat(),
            413,
            "housing.csv: the file is larger than 32 MB",
        ),
    ];
    for (fields, file, status, message) in cases {
        let response = upload(&analyst, &app, &fields, &file).await;
        assert_eq!(response.status(), status, "{message}");
        let page = response.text().await.unwrap();
        let summary = page
            .split("govuk-error-summary__list")
            .nth(1)
            .and_then(|s| s.split("</ul>").next())
            .unwrap_or(&page);
        assert!(page.contains(message), "{message} in {summary}");
    }
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_lists").await, 0);
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_runs").await, 0);
    // Preview: a corrected role that leaves no date of birth is refused by column, no run.
    let response = upload(&analyst, &app, &terms("Housing"), good.as_bytes()).await;
    let list = id_in(&response);
    let form = [
        ("csrf_token", analyst.csrf.clone()),
        ("role_0", "id".into()),
        ("role_1", "given_name".into()),
        ("role_2", "family_name".into()),
        ("role_3", String::new()),
        ("against", "earlyhelp".into()),
    ];
    let refused = analyst
        .post(&app, &format!("/matching/lists/{list}/runs"), &form)
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("no column was recognised as a date of birth")
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_runs").await, 0);
    let audit = app.audit_of(&format!("matching:list:{list}")).await;
    assert_eq!(
        audit[0],
        (
            ANALYST.to_string(),
            "create".to_string(),
            "allowed".to_string()
        ),
        "the upload is audited"
    );
}

const FOUND: &str = "SELECT left_id, status FROM match_results ORDER BY left_id";

async fn a_run_finds_the_known_pairs_and_review_is_recorded_and_reused(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let csv = known_pairs_list(&app.db, 10, 10, 6).await;
    let run = run_to_the_end(&app, &analyst, "Housing", &csv).await;
    let page = analyst.get(&app, &format!("/matching/runs/{run}")).await;
    let page = page.text().await.unwrap();
    assert_eq!(figure(&page, "records"), 26);
    let (matches, possible) = (figure(&page, "matches"), figure(&page, "possible"));
    // The ten copied are matched; of the ten changed, most are found, some for review; the
    // six strangers are never found, nor anyone not on the list.
    let rows: Vec<(String, String)> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(FOUND).fetch_all(pool).await.unwrap()
    });
    for n in 0..10 {
        let id = format!("H{n}");
        assert!(rows.contains(&(id, "match".to_string())), "H{n}: {rows:?}");
    }
    assert!(rows.iter().all(|(id, _)| id.starts_with('H')), "{rows:?}");
    assert!(matches >= 10 && possible >= 2, "{rows:?}");
    assert_eq!((matches + possible) as usize, rows.len());
    let unmatched = 26 - matches - possible;
    assert!(unmatched >= 6);
    assert_eq!(figure(&page, "unmatched"), unmatched);
    // The analyst's home page counts the pairs waiting for review, and nothing still running.
    let home = crate::home::numbers(&app, &analyst).await;
    assert_eq!(
        crate::home::number(&home, "possible-matches"),
        possible as i64
    );
    assert_eq!(crate::home::number(&home, "runs-going"), 0);
    assert_eq!(
        crate::home::number(&home, "lists-ending"),
        0,
        "due in 120 days"
    );
    let audit = app.audit_of(&format!("matching:run:{run}")).await;
    assert_eq!(
        audit[0],
        (
            ANALYST.to_string(),
            "create".to_string(),
            "allowed".to_string()
        ),
        "the request to run"
    );
    assert!(
        audit.contains(&(
            "operator".to_string(),
            "read".to_string(),
            "allowed".to_string()
        )),
        "the worker's read of earlyhelp's people"
    );
    // Review: the first pair accepted, any other rejected; each decision audited.
    let mut decided = 0;
    loop {
        let queue = analyst
            .get(&app, &format!("/matching/runs/{run}/review"))
            .await
            .text()
            .await
            .unwrap();
        if queue.contains("none-waiting") {
            break;
        }
        assert!(
            queue.contains("Weight"),
            "the engine's explanation per field"
        );
        let pair = value_of(&queue, "pair");
        let decision = if decided == 0 { "accept" } else { "reject" };
        // A pair id not of this run (review M1: the form names no record) is refused.
        let forged = [
            ("csrf_token", analyst.csrf.clone()),
            ("pair", uuid::Uuid::now_v7().to_string()),
            ("decision", decision.into()),
        ];
        let refused = analyst
            .post(&app, &format!("/matching/runs/{run}/review"), &forged)
            .await;
        assert_eq!(refused.status(), 409);
        let form = [
            ("csrf_token", analyst.csrf.clone()),
            ("pair", pair.clone()),
            ("decision", decision.into()),
        ];
        let answer = analyst
            .post(&app, &format!("/matching/runs/{run}/review"), &form)
            .await;
        assert_eq!(answer.status(), 303);
        // The same pair again: decided already.
        let again = analyst
            .post(&app, &format!("/matching/runs/{run}/review"), &form)
            .await;
        assert_eq!(again.status(), 409);
        decided += 1;
    }
    assert_eq!(decided, possible);
    let page = analyst
        .get(&app, &format!("/matching/runs/{run}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(figure(&page, "possible"), 0);
    assert_eq!(figure(&page, "accepted"), 1);
    assert_eq!(figure(&page, "rejected"), possible - 1);
    assert_eq!(figure(&page, "unmatched"), unmatched + possible - 1);
    let decisions = app.audit_of(&format!("matching:run:{run}")).await;
    let updates = decisions.iter().filter(|e| e.1 == "update").count();
    // Each decision, and each refused attempt (a forged pair, the same pair twice): the audit
    // event is committed before the decision is tried.
    assert_eq!(updates as u64, 3 * possible, "each decision");
    // The same source again: nothing is asked twice.
    let again = run_to_the_end(&app, &analyst, "Housing", &csv).await;
    let page = analyst
        .get(&app, &format!("/matching/runs/{again}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(figure(&page, "possible"), 0, "{page}");
    assert_eq!(figure(&page, "decided-before"), possible);
    assert_eq!(figure(&page, "accepted"), 1);
    // Another source is asked afresh.
    let other = run_to_the_end(&app, &analyst, "Police", &csv).await;
    let page = analyst
        .get(&app, &format!("/matching/runs/{other}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(figure(&page, "possible"), possible);
}

/// The value of the hidden field `name` in a page.
pub(crate) fn value_of(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#x3a;", ":")
}

async fn a_run_whose_worker_died_is_run_again_cleanly(backend: Backend) {
    // No background jobs: the test is every server here.
    let app = spawn_app_mailing(backend, None).await;
    let analyst = app.sign_in(ANALYST).await;
    let csv = known_pairs_list(&app.db, 10, 0, 10).await;
    let response = upload(&analyst, &app, &terms("Housing"), csv.as_bytes()).await;
    let list = id_in(&response);
    let form = [
        ("csrf_token", analyst.csrf.clone()),
        ("against", "earlyhelp".to_string()),
        ("role_0", "id".into()),
        ("role_1", "given_name".into()),
        ("role_2", "family_name".into()),
        ("role_3", "date_of_birth".into()),
        ("role_4", "postcode".into()),
        ("role_5", "address".into()),
    ];
    let run = id_in(
        &analyst
            .post(&app, &format!("/matching/lists/{list}/runs"), &form)
            .await,
    );
    // Two servers ask at once: one gets it. This one then dies mid-run: its lease, taken
    // long ago, has run out.
    let long_ago = now_micros() - 10 * matching::LEASE_MICROS;
    let (a, b) = tokio::join!(
        matching::claim(&app.db, "dead", long_ago, matching::LEASE_MICROS),
        matching::claim(&app.db, "other", long_ago, matching::LEASE_MICROS),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.is_some() != b.is_some(),
        "exactly one server claims the run"
    );
    let dead = if a.is_some() { "dead" } else { "other" };
    let page = analyst
        .get(&app, &format!("/matching/runs/{run}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<progress"),
        "still running, as far as anyone knows"
    );
    // Another server picks it up and runs it from the start.
    assert!(
        matching::work_once(&app.db, "survivor", None)
            .await
            .unwrap()
    );
    let page = analyst
        .get(&app, &format!("/matching/runs/{run}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(figure(&page, "matches"), 10, "{page}");
    assert_eq!(figure(&page, "unmatched"), 10);
    let results = "SELECT COUNT(*) FROM match_results";
    assert_eq!(count(&app.db, results).await, 10);
    assert_eq!(
        count(&app.db, "SELECT attempts FROM match_runs").await,
        2,
        "claimed twice"
    );
    // The dead worker wakes: its progress and results are refused, nothing is doubled.
    let id = uuid::Uuid::parse_str(&run).unwrap();
    assert!(
        !matching::report_progress(&app.db, id, dead, Stage::Scoring, 40)
            .await
            .unwrap()
    );
    let stale = matching::Found {
        left_id: "H0".into(),
        right_key: "person:stale".into(),
        probability: 0.99,
        status: earlyhelp_domain::matching::PairStatus::Match,
        reused: false,
        fields: Vec::new(),
        other_masked: String::new(),
    };
    let report = matching::EngineReport::default();
    assert!(
        !matching::finish(&app.db, id, dead, &[stale], &report)
            .await
            .unwrap()
    );
    assert_eq!(count(&app.db, results).await, 10);
    assert!(
        !matching::work_once(&app.db, "survivor", None)
            .await
            .unwrap(),
        "nothing left to run"
    );

    // Retention: the list goes at its delete-by date, with its rows and results, unless
    // held; with the source's last list go its review decisions (review M2).
    let due = delete_by();
    // A decision on the source, kept while a list of it is held, goes with its last list.
    let decision = "INSERT INTO match_decisions (source, left_id, right_key, decision, decided_by, \
                    decided_micros) VALUES ('Housing', 'H0', 'person:x', 'rejected', 'a', 0)";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(decision).execute(pool).await.unwrap();
    });
    let mut authorised = gate::operator(&app.db, "retention", Action::Update, "test")
        .await
        .unwrap();
    let early = matching::delete_due(&mut authorised, due.previous_day().unwrap(), true)
        .await
        .unwrap();
    assert!(early.is_empty());
    let deleted = matching::delete_due(&mut authorised, due, true)
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();
    assert_eq!(deleted.len(), 1);
    for table in [
        "SELECT COUNT(*) FROM match_lists",
        "SELECT COUNT(*) FROM match_list_rows",
        "SELECT COUNT(*) FROM match_runs",
        "SELECT COUNT(*) FROM match_decisions",
        results,
    ] {
        assert_eq!(count(&app.db, table).await, 0, "{table}");
    }
    assert_eq!(
        app.audit_of(&format!("matching:list:{list}"))
            .await
            .last()
            .unwrap(),
        &(
            "operator".to_string(),
            "update".to_string(),
            "allowed".to_string()
        )
    );
}

async fn only_analysts_match_and_the_queue_shows_only_what_review_needs(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let csv = known_pairs_list(&app.db, 10, 10, 3).await;
    // H0's family has withdrawn consent: no team may see them, nor may matching.
    let people = demo_people(&app.db, 10 * 7).await;
    let (given, family, born, ..) = &people[0];
    let withdraw = "UPDATE families SET consent_withdrawn = TRUE WHERE id IN (SELECT family_id \
                    FROM family_members WHERE given_name = $1 AND family_name = $2 AND date_of_birth = $3)";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(withdraw)
            .bind(given)
            .bind(family)
            .bind(born)
            .execute(pool)
            .await
            .unwrap();
    });
    let run = run_to_the_end(&app, &analyst, "Housing", &csv).await;
    assert_eq!(
        count(
            &app.db,
            "SELECT COUNT(*) FROM match_results WHERE left_id = 'H0'"
        )
        .await,
        0,
        "a family whose consent is withdrawn is not matched"
    );
    // earlyhelp's side is stored masked only: no value of theirs in any explanation.
    let sql = "SELECT explanation, other_masked FROM match_results";
    let stored: Vec<(String, String)> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(sql).fetch_all(pool).await.unwrap()
    });
    assert!(!stored.is_empty());
    for (explanation, masked) in &stored {
        let fields: Vec<matching::FieldWeight> = serde_json::from_str(explanation).unwrap();
        assert!(fields.iter().all(|f| f.right.is_empty()), "{explanation}");
        assert!(masked.starts_with("initials "), "{masked}");
        assert!(masked.contains(", born ") && masked.contains(", postcode district "));
    }
    let results = analyst
        .get(&app, &format!("/matching/runs/{run}"))
        .await
        .text()
        .await
        .unwrap();
    let named = &people[1];
    // The results are counts: no one earlyhelp knows is named there, nor linked to a case.
    assert!(!results.contains(&named.1), "{results}");
    assert!(!results.contains("/families/"));
    let queue = analyst
        .get(&app, &format!("/matching/runs/{run}/review"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !queue.contains("/families/"),
        "no way from the queue to a case"
    );
    // The reviewer sees both records' compared values, enough to decide, and the engine's
    // weight of each; earlyhelp's person is described, never named by a database id.
    let table = queue.split("id=\"pair\"").nth(1).expect("a pair to review");
    let table = table.split("</table>").next().unwrap();
    assert!(table.contains("elsewhere"), "{table}");
    // earlyhelp's person: initials, year of birth and postcode district only.
    assert!(table.contains("id=\"masked\">initials "), "{table}");
    for (given, family, born, _, address) in &people {
        for full in [
            format!("{given} {family}"),
            born.clone(),
            address.to_lowercase(),
        ] {
            let right_cells: Vec<&str> = table
                .split("<td class=\"govuk-table__cell\">")
                .skip(2)
                .step_by(4)
                .collect();
            assert!(
                right_cells.iter().all(|c| !c.contains(&full)),
                "{full} in {table}"
            );
        }
    }
    // The family's own access log shows an analyst saw them, masked, as a candidate.
    let sql = "SELECT COUNT(*) FROM audit_events WHERE (subject LIKE 'family:%' OR subject LIKE 'request:%') \
               AND purpose LIKE 'shown masked as a possible match in matching run %' AND actor = $1";
    let seen: i64 = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(ANALYST)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    assert_eq!(
        seen, 1,
        "the candidate shown is audited under its own record"
    );
    // One-row lookups are refused: too few records to match against earlyhelp's people.
    let one = "ref,first_name,surname,dob\nA1,Ann,Lee,2015-03-04\n";
    let list = id_in(&upload(&analyst, &app, &terms("Police"), one.as_bytes()).await);
    let form = [
        ("csrf_token", analyst.csrf.clone()),
        ("role_0", "id".into()),
        ("role_1", "given_name".into()),
        ("role_2", "family_name".into()),
        ("role_3", "date_of_birth".into()),
        ("against", "earlyhelp".into()),
    ];
    let refused = analyst
        .post(&app, &format!("/matching/lists/{list}/runs"), &form)
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("must hold at least 20 (matching is not a way to look people up)")
    );
    assert!(
        table.contains("A family member in an earlyhelp case"),
        "{table}"
    );
    assert!(!table.contains("person:"), "{table}");
    for email in [
        PRACTITIONER,
        LOCALITY_LEAD,
        IG_OFFICER,
        COMMISSIONER,
        ADMIN,
        GRANTS_OFFICER,
        VCS_WORKER,
    ] {
        let other = app.sign_in(email).await;
        for path in [
            "/matching".to_string(),
            format!("/matching/runs/{run}"),
            format!("/matching/runs/{run}/review"),
            format!("/matching/runs/{run}/matched.csv"),
        ] {
            let status = other.get(&app, &path).await.status();
            assert_eq!(status, 403, "{email} {path}");
        }
        let form = [
            ("csrf_token", other.csrf.clone()),
            ("pair", uuid::Uuid::now_v7().to_string()),
            ("decision", "accept".to_string()),
        ];
        let status = other
            .post(&app, &format!("/matching/runs/{run}/review"), &form)
            .await
            .status();
        assert_eq!(status, 403, "{email} decides");
        let refused = upload(&other, &app, &terms("Housing"), csv.as_bytes()).await;
        assert_eq!(refused.status(), 403, "{email} uploads");
    }
    let denied = app
        .audit_of(&format!("matching:run:{run}"))
        .await
        .into_iter()
        .filter(|e| e.2 == "denied")
        .count();
    assert_eq!(denied, 7 * 4, "each refusal is audited");
}

/// Security review H4/L2/L3/L4: an oversize upload is not excused its token, a second file is
/// refused, and a column role the form never offered is refused by column.
async fn hostile_uploads_and_roles_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let good = "ref,first_name,surname,dob\nA1,Ann,Lee,2015-03-04\n";
    let oversize = [good.as_bytes(), &vec![b'x'; MAX_LIST_BYTES]].concat();
    // Without its token, an oversize upload is answered 413 and does nothing: no page of the
    // analyst's lists, no audit event.
    let events = "SELECT COUNT(*) FROM audit_events";
    let before = count(&app.db, events).await;
    let tokenless = post_list(
        &analyst,
        &app,
        multipart("", &terms("Housing"), &[&oversize]),
    )
    .await;
    assert_eq!(tokenless.status(), 413);
    assert!(!tokenless.text().await.unwrap().contains("Upload a list"));
    assert_eq!(
        count(&app.db, events).await,
        before,
        "no audit event, no work"
    );
    // A small upload without its token is refused as any form is.
    let forged = post_list(
        &analyst,
        &app,
        multipart("", &terms("Housing"), &[b"a,b\n1,2\n"]),
    )
    .await;
    assert_eq!(forged.status(), 403);
    let two = multipart(
        &analyst.csrf,
        &terms("Housing"),
        &[good.as_bytes(), good.as_bytes()],
    );
    let refused = post_list(&analyst, &app, two).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Send one file"));
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_lists").await, 0);
    let list = id_in(&upload(&analyst, &app, &terms("Housing"), good.as_bytes()).await);
    let form = [
        ("csrf_token", analyst.csrf.clone()),
        ("role_0", "id".into()),
        ("role_1", "given_name".into()),
        ("role_2", "<script>".into()),
        ("role_3", "date_of_birth".into()),
        ("against", "earlyhelp".into()),
    ];
    let refused = analyst
        .post(&app, &format!("/matching/lists/{list}/runs"), &form)
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Column 3: &#39;&#60;script&#62;&#39; is not a role a column can take"),
        "{page}"
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_runs").await, 0);
    // Review M2: once the delete-by date has come, no run is started.
    let today = earlyhelp_domain::cases::iso(earlyhelp_storage::cases::today());
    let due = "UPDATE match_lists SET delete_by = $1";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(due).bind(&today).execute(pool).await.unwrap();
    });
    let mut form = form;
    form[3].1 = "family_name".into();
    let refused = analyst
        .post(&app, &format!("/matching/lists/{list}/runs"), &form)
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains(&format!(
            "is due for deletion on {today}: it can no longer be matched"
        )),
        "{page}"
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_runs").await, 0);
}

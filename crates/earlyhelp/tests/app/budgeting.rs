//! Participatory budgeting for community grants: the grants officer opens a round on the
//! shortlist and prints codes; residents vote once each, by an event code or an emailed code;
//! the count is weighted as the round says and published when voting closes; and no counted
//! ballot can be joined to the person who cast it. On both databases, and a resident voting on
//! a phone in a real browser with axe-core.

use crate::cases::post_form;
use crate::helpers::*;
use crate::surveys::strings;
use earlyhelp_storage::Db;
use uuid::Uuid;

crate::on_both_backends!(
    votes_are_counted_and_weighted_and_published_when_voting_closes,
    a_code_works_once_and_a_person_votes_once_per_round,
    no_ballot_row_can_be_joined_to_a_voter,
    the_public_forms_refuse_a_missing_csrf_token,
    only_the_grants_officer_sees_the_voting_rounds_and_panel_scores,
    a_round_is_counted_once_and_takes_no_ballot_after,
    printing_codes_is_audited_capped_and_refused_to_a_conflicted_officer,
    only_wrong_codes_count_against_a_shared_connection,
);

/// The app without its background jobs: the outbox keeps an emailed code until a test drains
/// it (sent, its code is forgotten), and a round is counted only when a test reads its results.
async fn app_for(backend: Backend) -> TestApp {
    spawn_app_mailing(backend, None).await
}

/// Runs `sql` with one text parameter.
async fn execute(db: &Db, sql: &'static str, value: &str) {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query(sql).bind(value).execute(pool).await.unwrap();
    });
}

const TITLE: &str = "Ladywood decides";

/// The demo's community grants programme, the first locality and its shortlist.
async fn shortlist(db: &Db) -> (Uuid, String, Vec<Uuid>) {
    let locality = earlyhelp_storage::accounts::list_localities(db)
        .await
        .unwrap()
        .remove(0)
        .slug;
    let mut tx = db.begin().await.unwrap();
    let programme = earlyhelp_storage::payments::programmes(&mut tx)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.kind == "community_grants")
        .unwrap()
        .id;
    let options = earlyhelp_storage::budgeting::shortlist(&mut tx, programme, &locality)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(options.len() >= 3, "the demo shortlists applications");
    (
        programme,
        locality,
        options.iter().map(|o| o.application_id).collect(),
    )
}

/// Opens a round on the first three shortlisted projects (panel 50%, two choices each) as the
/// grants officer, and prints `codes` codes for an event. The round, its projects, the codes.
async fn open_round(app: &TestApp, codes: usize) -> (Uuid, Vec<Uuid>, Vec<String>) {
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let (programme, locality, shortlist) = shortlist(&app.db).await;
    let today = earlyhelp_storage::cases::today();
    let programme = programme.to_string();
    let opens = today.to_string();
    let closes = (today + time::Duration::days(7)).to_string();
    let ids: Vec<String> = shortlist.iter().take(3).map(Uuid::to_string).collect();
    let mut fields = vec![
        ("programme", programme.as_str()),
        ("locality", locality.as_str()),
        ("title", TITLE),
        ("opens_on", opens.as_str()),
        ("closes_on", closes.as_str()),
        ("panel_weight", "50"),
        ("choices", "2"),
    ];
    // A bad weight first: the page names the field and nothing is opened.
    let mut bad = fields.clone();
    bad[5] = ("panel_weight", "150");
    bad.extend(ids.iter().map(|id| ("options", id.as_str())));
    let refused = post_form(&officer, app, "/grants/voting", &bad).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("href=\"#panel_weight\"")
    );
    fields.extend(ids.iter().map(|id| ("options", id.as_str())));
    let opened = post_form(&officer, app, "/grants/voting", &fields).await;
    assert_eq!(opened.status(), 303);
    let round = round_id(&app.db).await;
    // Nobody but a grants officer opens a round.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(
        post_form(&practitioner, app, "/grants/voting", &fields)
            .await
            .status(),
        403
    );
    let count = codes.to_string();
    let printed = post_form(
        &officer,
        app,
        &format!("/grants/voting/{round}/codes"),
        &[("count", count.as_str())],
    )
    .await;
    assert_eq!(printed.status(), 200);
    let html = printed.text().await.unwrap();
    let codes: Vec<String> = html
        .split("<li class=\"govuk-heading-m\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), count.parse::<usize>().unwrap());
    (round, shortlist.into_iter().take(3).collect(), codes)
}

async fn round_id(db: &Db) -> Uuid {
    let sql = "SELECT id FROM budgeting_rounds WHERE title = $1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).bind(TITLE).fetch_one(pool).await.unwrap()
    })
}

/// Moves every round's dates into the past: voting has closed.
async fn close_voting(db: &Db) {
    let today = earlyhelp_storage::cases::today();
    let opens = (today - time::Duration::days(10)).to_string();
    let closes = (today - time::Duration::days(1)).to_string();
    let sql = "UPDATE budgeting_rounds SET opens_on = $1, closes_on = $2";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query(sql)
            .bind(opens)
            .bind(closes)
            .execute(pool)
            .await
            .unwrap();
    });
}

/// Votes in `round` from a fresh browser with `code` for `projects`: the answer.
async fn vote(app: &TestApp, round: Uuid, code: &str, projects: &[Uuid]) -> reqwest::Response {
    let browser = client();
    let form = browser
        .get(app.url(&format!("/vote/{round}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form);
    let ids: Vec<String> = projects.iter().map(Uuid::to_string).collect();
    let mut pairs = vec![("csrf_token", csrf.as_str()), ("code", code)];
    pairs.extend(ids.iter().map(|id| ("projects", id.as_str())));
    browser
        .post(app.url(&format!("/vote/{round}")))
        .form(&pairs)
        .send()
        .await
        .unwrap()
}

/// Asks for a code by email from a fresh browser, and reads it from the outbox.
async fn emailed_code(app: &TestApp, round: Uuid, email: &str) -> String {
    let browser = client();
    let form = browser
        .get(app.url(&format!("/vote/{round}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form);
    let sent = browser
        .post(app.url(&format!("/vote/{round}/code")))
        .form(&[("csrf_token", csrf.as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert!(
        sent.text()
            .await
            .unwrap()
            .contains("We have sent a code to")
    );
    let bodies = strings(
        &app.db,
        "SELECT body FROM outbox WHERE to_address = $1 ORDER BY created_micros",
        &email.trim().to_lowercase(),
    )
    .await;
    let body = bodies.last().expect("the code went through the outbox");
    body.split(" is ")
        .nth(1)
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string()
}

async fn votes_are_counted_and_weighted_and_published_when_voting_closes(backend: Backend) {
    let app = app_for(backend).await;
    let (round, p, codes) = open_round(&app, 5).await;
    let (a, b, c) = (p[0], p[1], p[2]);
    let ballots = [vec![a, b], vec![a], vec![b, c], vec![a, c], vec![a]];
    for (code, chosen) in codes.iter().zip(&ballots) {
        let counted = vote(&app, round, code, chosen).await;
        assert_eq!(counted.status(), 200);
        assert!(
            counted
                .text()
                .await
                .unwrap()
                .contains("Your vote has been counted")
        );
    }
    // Too many choices: named by field, and the code is not used up.
    let spare = emailed_code(&app, round, "spare@example.org").await;
    let refused = vote(&app, round, &spare, &[a, b, c]).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Choose no more than 2 projects")
    );
    assert_eq!(vote(&app, round, &spare, &[c]).await.status(), 200);

    // While voting is open only the turnout shows.
    let open = client()
        .get(app.url(&format!("/vote/{round}/results")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(open.contains("6 people have voted so far"), "{open}");
    assert!(!open.contains("id=\"count\""));
    let early = client()
        .get(app.url(&format!("/vote/{round}/results.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(early.status(), 409);

    close_voting(&app.db).await;
    let page = client()
        .get(app.url(&format!("/vote/{round}/results")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"count\""), "{page}");
    assert!(
        page.contains("<dd class=\"govuk-summary-list__value\">6</dd>"),
        "{page}"
    );
    assert!(page.contains("6 (1 with an emailed code, 5 with a code from an event)"));
    assert!(
        page.contains("6 (1 emailed, 5 printed for events)"),
        "{page}"
    );
    // A title a spreadsheet would run as a formula is quoted in the CSV.
    let sql = "UPDATE grant_applications SET title = '=HYPERLINK(\"http://x\")' \
               WHERE reference = $1";
    let options = earlyhelp_storage::budgeting::options(&app.db, round)
        .await
        .unwrap();
    let first = options.iter().find(|o| o.application_id == a).unwrap();
    execute(&app.db, sql, &first.reference).await;

    // The CSV: votes a 4, b 2, c 3 of 6 ballots, and each combined score half the panel's
    // (its mean total over the most it could be) and half the share of voters.
    let csv = client()
        .get(app.url(&format!("/vote/{round}/results.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let options = earlyhelp_storage::budgeting::options(&app.db, round)
        .await
        .unwrap();
    let per_mille = |part: i64, whole: i64| (part * 1000 + whole / 2) / whole;
    let shown = |v: i64| format!("{}.{}%", v / 10, v % 10);
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
    let mut expected = Vec::new();
    for (id, votes) in [(a, 4), (b, 2), (c, 3)] {
        let o = options.iter().find(|o| o.application_id == id).unwrap();
        let panel = per_mille(o.score_sum, o.assessors * o.criteria * 5);
        let vote = per_mille(votes, 6);
        let combined = (panel * 50 + vote * 50 + 50) / 100;
        let line = format!(
            "{},{},{},{},{}",
            shown(panel),
            votes,
            shown(vote),
            shown(combined),
            o.reference
        );
        let row = csv
            .lines()
            .find(|l| l.contains(&o.reference))
            .unwrap_or_else(|| panic!("{} in {csv}", o.reference));
        let fields: Vec<&str> = row.split(',').collect();
        let n = fields.len();
        assert_eq!(
            format!(
                "{},{},{},{},{}",
                fields[n - 4],
                fields[n - 3],
                fields[n - 2],
                fields[n - 1],
                fields[1]
            ),
            line,
            "{row}"
        );
        expected.push((combined, o.reference.clone()));
    }
    // Ranked by the combined score, best first.
    expected.sort_by_key(|e| std::cmp::Reverse(e.0));
    let order: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        order,
        expected.iter().map(|e| e.1.as_str()).collect::<Vec<_>>()
    );

    // Every ballot by its receipt: six receipts, and the choices add up to the count.
    let ballots = client()
        .get(app.url(&format!("/vote/{round}/ballots.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<(&str, &str)> = ballots
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .collect();
    let mut receipts: Vec<&str> = rows.iter().map(|r| r.0).collect();
    receipts.dedup();
    assert_eq!(receipts.len(), 6, "{ballots}");
    assert_eq!(rows.len(), 4 + 2 + 3);
    // Voting has closed: the ballot page sends to the count.
    let late = client()
        .get(app.url(&format!("/vote/{round}")))
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 303);
}

async fn a_code_works_once_and_a_person_votes_once_per_round(backend: Backend) {
    let app = app_for(backend).await;
    let (round, p, codes) = open_round(&app, 2).await;
    assert_eq!(vote(&app, round, &codes[0], &[p[0]]).await.status(), 200);
    // The same code again, typed differently: refused, with why.
    let again = vote(
        &app,
        round,
        &codes[0].to_lowercase().replace('-', " "),
        &[p[1]],
    )
    .await;
    assert_eq!(again.status(), 422);
    let html = again.text().await.unwrap();
    let refused = "That code does not work in this round";
    assert!(html.contains(refused), "{html}");
    assert!(html.contains("href=\"#code\""));
    // An unknown code gets the same answer as a used one.
    let unknown = vote(&app, round, "ZZZZ-ZZZZ", &[p[1]]).await;
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains(refused));

    // One person: a new code replaces their old one, and a +tag or Gmail's dots make no new voter.
    let first = emailed_code(&app, round, "Resident@Example.org").await;
    let second = emailed_code(&app, round, "resident@example.org ").await;
    assert_ne!(first, second);
    assert_eq!(vote(&app, round, &first, &[p[1]]).await.status(), 422);
    assert_eq!(vote(&app, round, &second, &[p[1]]).await.status(), 200);
    let tagged = emailed_code(&app, round, "resident+again@example.org").await;
    let twice = vote(&app, round, &tagged, &[p[2]]).await;
    assert_eq!(twice.status(), 422);
    assert!(
        twice
            .text()
            .await
            .unwrap()
            .contains("Someone using that email address has already voted in this round")
    );
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!(tally.counted + tally.waiting, 2);
    assert_eq!((tally.voters_by_email, tally.voters_by_event_code), (1, 1));
    assert_eq!(
        tally.codes_used, 2,
        "the refused tagged code is still unused"
    );
    assert_eq!((tally.codes_emailed, tally.codes_printed), (3, 2));
    let gmail = emailed_code(&app, round, "jo.bloggs+pb@googlemail.com").await;
    assert_eq!(vote(&app, round, &gmail, &[p[0]]).await.status(), 200);
    let dotless = emailed_code(&app, round, "jobloggs@gmail.com").await;
    assert_eq!(vote(&app, round, &dotless, &[p[0]]).await.status(), 422);
    // Sent, an emailed code leaves the outbox: no address, no words.
    let sending = log_mail();
    earlyhelp::mail::drain(&app.db, &sending, earlyhelp_storage::now_micros())
        .await
        .unwrap();
    let kept = strings(
        &app.db,
        "SELECT to_address || body FROM outbox WHERE link LIKE $1",
        "/vote/%",
    )
    .await;
    assert!(
        !kept.is_empty() && kept.iter().all(String::is_empty),
        "{kept:?}"
    );
    // A bad email address is named.
    let browser = client();
    let form = browser
        .get(app.url(&format!("/vote/{round}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bad = browser
        .post(app.url(&format!("/vote/{round}/code")))
        .form(&[
            ("csrf_token", csrf_in(&form).as_str()),
            ("email", "not an email"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("href=\"#email\""));
    // Shaped like an address, but not one a mail server takes.
    let unsendable = browser
        .post(app.url(&format!("/vote/{round}/code")))
        .form(&[
            ("csrf_token", csrf_in(&form).as_str()),
            ("email", "a<b>@example.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unsendable.status(), 422);
}

/// The columns of `table`, sorted.
async fn columns(app: &TestApp, backend: Backend, table: &str) -> Vec<String> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY name",
        Backend::Postgres => {
            "SELECT column_name::TEXT FROM information_schema.columns WHERE table_name = $1 \
             ORDER BY column_name"
        }
    };
    let mut found = strings(&app.db, sql, table).await;
    found.sort();
    found
}

async fn no_ballot_row_can_be_joined_to_a_voter(backend: Backend) {
    let app = app_for(backend).await;
    let (round, p, codes) = open_round(&app, 4).await;
    let email = "neighbour@example.org";
    let emailed = emailed_code(&app, round, email).await;
    let mut receipts = Vec::new();
    for (n, code) in codes.iter().chain(std::iter::once(&emailed)).enumerate() {
        let html = vote(&app, round, code, &[p[n % 3]])
            .await
            .text()
            .await
            .unwrap();
        let receipt = html
            .split("<strong id=\"receipt\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string();
        receipts.push(receipt);
    }
    // Five ballots wait in the box while voting is open; the count moves them all at once.
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!((tally.counted, tally.waiting), (0, 5));
    close_voting(&app.db).await;
    let counted = client()
        .get(app.url(&format!("/vote/{round}/results")))
        .send()
        .await
        .unwrap();
    assert_eq!(counted.status(), 200);
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!((tally.counted, tally.waiting), (5, 0));

    // A ballot holds its random id and round, its choices their ballot and project: no
    // voter, code, email, time or order column to join on.
    assert_eq!(
        columns(&app, backend, "budgeting_ballots").await,
        ["id", "round_id"]
    );
    assert_eq!(
        columns(&app, backend, "budgeting_ballot_choices").await,
        ["application_id", "ballot_id"]
    );
    assert_eq!(
        columns(&app, backend, "budgeting_voters").await,
        ["kind", "round_id", "voter_hash"]
    );
    // The email address is kept nowhere in voting's tables, only as a hash.
    let hashes = strings(
        &app.db,
        "SELECT voter_hash FROM budgeting_voters UNION ALL SELECT code_hash FROM budgeting_codes \
         UNION ALL SELECT voter_hash FROM budgeting_codes WHERE kind = $1",
        "email",
    )
    .await;
    assert!(hashes.iter().all(|h| h.len() == 64 && !h.contains('@')));
    // Nobody's receipt is kept with their mark: the receipts are the ballots' own ids only.
    for receipt in &receipts {
        assert!(!hashes.iter().any(|h| h.contains(receipt.as_str())));
    }
    match &app.db {
        // No rowid: the tables are kept in the order of their random keys, not of writing.
        Db::Sqlite(pool, _) => {
            for table in ["budgeting_ballots", "budgeting_voters", "budgeting_codes"] {
                let sql = match table {
                    "budgeting_ballots" => "SELECT rowid FROM budgeting_ballots",
                    "budgeting_voters" => "SELECT rowid FROM budgeting_voters",
                    _ => "SELECT rowid FROM budgeting_codes",
                };
                assert!(
                    sqlx::query(sql).fetch_all(pool).await.is_err(),
                    "{table} has no rowid"
                );
            }
        }
        // One transaction id for the whole round: the count rewrote every mark and code and
        // wrote every ballot, so no xmin places a voter beside their ballot.
        Db::Postgres(pool, _) => {
            let transactions: i64 = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT x) FROM ( \
                 SELECT xmin::TEXT AS x FROM budgeting_ballots WHERE round_id = $1 \
                 UNION ALL SELECT xmin::TEXT FROM budgeting_voters WHERE round_id = $1 \
                 UNION ALL SELECT xmin::TEXT FROM budgeting_codes WHERE round_id = $1) t",
            )
            .bind(round)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(
                transactions, 1,
                "marks, codes and ballots share the count's xmin"
            );
        }
    }
    // Voting writes no audit event (it would keep the moment and the address).
    let events = strings(
        &app.db,
        "SELECT subject FROM audit_events WHERE actor = $1",
        "public",
    )
    .await;
    assert!(
        events.iter().all(|s| !s.contains("budgeting")),
        "{events:?}"
    );
}

async fn the_public_forms_refuse_a_missing_csrf_token(backend: Backend) {
    let app = app_for(backend).await;
    let (round, p, codes) = open_round(&app, 1).await;
    let id = p[0].to_string();
    // A cross-site post: no cookie, a made-up token.
    let forged = client()
        .post(app.url(&format!("/vote/{round}")))
        .form(&[
            ("csrf_token", "forged"),
            ("code", codes[0].as_str()),
            ("projects", id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let forged_code = client()
        .post(app.url(&format!("/vote/{round}/code")))
        .form(&[("csrf_token", "forged"), ("email", "someone@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_code.status(), 403);
    // Nothing was counted, and the code still works.
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!(tally.counted + tally.waiting, 0);
    assert_eq!(vote(&app, round, &codes[0], &p[..1]).await.status(), 200);
}

/// A resident votes with a code from an event on a phone-sized window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_votes_on_a_phone() {
    use crate::browser::assert_accessible;
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let (round, _, codes) = open_round(&app, 1).await;
    let driver = &browser.driver;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    driver.goto(app.url("/")).await.unwrap();
    browser
        .click(By::LinkText("Vote on community grants in your area"))
        .await;
    browser.wait_for_heading("Vote on community grants").await;
    assert_accessible(&browser, "the list of votes").await;
    browser
        .click(By::Css(format!("a[href='/vote/{round}']")))
        .await;
    browser.wait_for_heading(TITLE).await;
    assert_accessible(&browser, "the ballot").await;
    let width: i64 = driver
        .execute("return document.documentElement.scrollWidth;", Vec::new())
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(width <= 390, "no sideways scrolling on a phone: {width}");
    // Sent with no project and no code: the error summary, still accessible.
    let send = format!("form[action='/vote/{round}'] button[type=submit]");
    browser.click(By::Css(&send)).await;
    browser
        .wait_for_text(
            By::Css(".govuk-error-summary"),
            "Choose at least one project",
        )
        .await;
    assert_accessible(&browser, "the ballot with errors").await;
    browser.click(By::Css("label[for=projects]")).await;
    browser.fill(By::Id("code"), &codes[0]).await;
    browser.click(By::Css(&send)).await;
    browser.wait_for_heading("Your vote has been counted").await;
    assert_accessible(&browser, "the vote counted").await;
    browser.screenshot("resident-voted-on-a-phone").await;
    browser.quit().await;
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!(tally.counted + tally.waiting, 1);
}

/// The officer's page lists undecided applications with their mean panel scores: staff who may
/// list programmes to ask for a payment do not read it.
async fn only_the_grants_officer_sees_the_voting_rounds_and_panel_scores(backend: Backend) {
    let app = app_for(backend).await;
    for who in [PRACTITIONER, LOCALITY_LEAD] {
        let session = app.sign_in(who).await;
        assert_eq!(
            session.get(&app, "/grants/voting").await.status(),
            403,
            "{who}"
        );
    }
    let officer = app.sign_in(GRANTS_OFFICER).await;
    assert_eq!(officer.get(&app, "/grants/voting").await.status(), 200);
}

/// Counted once, however many read the results at once; after the count no ballot is taken,
/// even if the round's dates are moved to open it again.
async fn a_round_is_counted_once_and_takes_no_ballot_after(backend: Backend) {
    let app = app_for(backend).await;
    let (round, p, codes) = open_round(&app, 4).await;
    for code in &codes[..3] {
        assert_eq!(vote(&app, round, code, &p[..1]).await.status(), 200);
    }
    close_voting(&app.db).await;
    let reads = (0..6).map(|_| {
        client()
            .get(app.url(&format!("/vote/{round}/results.csv")))
            .send()
    });
    for read in futures_util::future::join_all(reads).await {
        assert_eq!(read.unwrap().status(), 200);
    }
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!((tally.counted, tally.waiting), (3, 0));
    // Open again by its dates: counted, so the spare code is refused and nothing waits.
    let today = earlyhelp_storage::cases::today().to_string();
    execute(
        &app.db,
        "UPDATE budgeting_rounds SET closes_on = $1",
        &today,
    )
    .await;
    assert_eq!(vote(&app, round, &codes[3], &p[..1]).await.status(), 409);
    let tally = earlyhelp_storage::budgeting::tally(&app.db, round)
        .await
        .unwrap();
    assert_eq!((tally.counted, tally.waiting), (3, 0));
}

/// Printing codes is audited against the round with how many; a round has at most 5,000; an
/// officer with a declared conflict in a project on the ballot prints none.
async fn printing_codes_is_audited_capped_and_refused_to_a_conflicted_officer(backend: Backend) {
    let app = app_for(backend).await;
    let (round, _, _) = open_round(&app, 2).await;
    let subject = format!("budgeting_round:{round}");
    assert_eq!(app.audit_of(&subject).await.len(), 1);
    let purposes = strings(
        &app.db,
        "SELECT purpose FROM audit_events WHERE subject = $1",
        &subject,
    )
    .await;
    assert!(purposes[0].contains("print 2 codes"), "{purposes:?}");
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let path = format!("/grants/voting/{round}/codes");
    execute(
        &app.db,
        "UPDATE budgeting_rounds SET codes_printed = 4990 WHERE title = $1",
        TITLE,
    )
    .await;
    let over = post_form(&officer, &app, &path, &[("count", "11")]).await;
    assert_eq!(over.status(), 422);
    assert!(
        over.text()
            .await
            .unwrap()
            .contains("at most 5000 printed codes")
    );
    assert_eq!(
        post_form(&officer, &app, &path, &[("count", "10")])
            .await
            .status(),
        200
    );
    let sql = "INSERT INTO grant_conflicts (application_id, assessor_id, reason, declared_micros) \
               SELECT o.application_id, u.id, 'my sister runs it', 0 \
               FROM budgeting_options o JOIN budgeting_rounds r ON r.id = o.round_id, users u \
               WHERE r.title = 'Ladywood decides' AND o.position = 0 AND u.email = $1";
    execute(&app.db, sql, GRANTS_OFFICER).await;
    let conflicted = post_form(&officer, &app, &path, &[("count", "1")]).await;
    assert_eq!(conflicted.status(), 409);
}

/// Everyone at an event votes over the venue's one connection: good codes are not limited,
/// wrong ones are (ten an hour here), and then even a good code waits.
async fn only_wrong_codes_count_against_a_shared_connection(backend: Backend) {
    let config = earlyhelp_web::Config {
        self_referrals_per_hour: 1,
        ..test_config()
    };
    let app = spawn_app_with(backend, config).await;
    let (round, p, codes) = open_round(&app, 13).await;
    for code in &codes[..12] {
        assert_eq!(vote(&app, round, code, &p[..1]).await.status(), 200);
    }
    for _ in 0..10 {
        assert_eq!(vote(&app, round, "ZZZZ-ZZZZ", &p[..1]).await.status(), 422);
    }
    assert_eq!(vote(&app, round, "ZZZZ-ZZZZ", &p[..1]).await.status(), 429);
    assert_eq!(vote(&app, round, &codes[12], &p[..1]).await.status(), 429);
}

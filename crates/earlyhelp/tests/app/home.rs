//! The home page's numbers of today's work and "Your families" (search, filters, pages), on
//! both databases: each number is the length of the list it links to, every family in those
//! lists opens for its reader, and an insider in another locality is counted nowhere else.

use crate::cases::open_case;
use crate::helpers::*;
use earlyhelp::demo_cases::{ERDINGTON_LEAD, ERDINGTON_PRACTITIONER, HEALTH_VISITOR};
use earlyhelp_domain::access::Action;
use earlyhelp_storage::{cases, gate};
use regex::Regex;

crate::on_both_backends!(
    each_number_on_the_home_page_is_the_list_it_links_to,
    another_localitys_family_is_counted_and_found_only_there,
    families_are_found_by_name_date_of_birth_and_postcode_within_access,
    your_families_come_a_page_at_a_time,
    the_information_governance_officer_sees_holds_and_break_glass,
    the_directorys_numbers_are_the_workspaces_lists,
    the_audit_log_is_filtered_and_paged,
    the_audit_log_gates_before_it_reads_and_searches_are_recorded,
    the_families_list_is_exactly_the_families_each_reader_may_open,
    the_administrator_counts_locked_accounts_and_lists_them,
    the_commissioner_counts_indicators_with_special_cause,
    subject_access_requests_are_registered_with_their_days_left,
    the_locality_lead_allocates_an_unallocated_case,
);

/// The numbers on `who`'s home page: (id, count, link).
pub async fn numbers(app: &TestApp, who: &Session) -> Vec<(String, i64, String)> {
    let html = who.get(app, "/").await.text().await.unwrap();
    let tile =
        Regex::new(r#"href="([^"]+)" id="([^"]+)"><span class="eh-count">(\d+)</span>"#).unwrap();
    tile.captures_iter(&html)
        .map(|c| {
            (
                c[2].to_string(),
                c[3].parse().unwrap(),
                c[1].replace("&amp;", "&"),
            )
        })
        .collect()
}

pub fn number(numbers: &[(String, i64, String)], id: &str) -> i64 {
    numbers
        .iter()
        .find(|(n, _, _)| n == id)
        .unwrap_or_else(|| panic!("no {id} among {numbers:?}"))
        .1
}

/// The families on a page of "Your families": (total, family ids on the page).
async fn listed(app: &TestApp, who: &Session, path: &str) -> (i64, Vec<String>) {
    let response = who.get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let html = response.text().await.unwrap();
    let total =
        Regex::new(r#"<caption class="govuk-table__caption govuk-table__caption--m">(\d+) famil"#)
            .unwrap()
            .captures(&html)
            .map_or(0, |c| c[1].parse().unwrap());
    let ids = Regex::new(r#"<a class="govuk-link" href="/families/([0-9a-f-]{36})">"#)
        .unwrap()
        .captures_iter(&html)
        .map(|c| c[1].to_string())
        .collect();
    (total, ids)
}

/// Every family of every page of `path`.
async fn every_family(app: &TestApp, who: &Session, path: &str) -> (i64, Vec<String>) {
    let (total, mut ids) = listed(app, who, path).await;
    let mut page = 2;
    while (ids.len() as i64) < total {
        let (_, more) = listed(app, who, &format!("{path}&page={page}")).await;
        assert!(
            !more.is_empty(),
            "page {page} of {path} is empty before {total}"
        );
        ids.extend(more);
        page += 1;
    }
    (total, ids)
}

async fn each_number_on_the_home_page_is_the_list_it_links_to(backend: Backend) {
    let app = spawn_app(backend).await;
    open_case(&app).await;
    for email in [
        PRACTITIONER,
        LOCALITY_LEAD,
        ERDINGTON_PRACTITIONER,
        ERDINGTON_LEAD,
    ] {
        let who = app.sign_in(email).await;
        let numbers = numbers(&app, &who).await;
        assert!(
            numbers.iter().any(|(id, _, _)| id == "review-overdue"),
            "{email} has the families' numbers"
        );
        for (id, count, href) in numbers
            .iter()
            .filter(|(_, _, h)| h.starts_with("/families"))
        {
            let (total, ids) = every_family(&app, &who, href).await;
            assert_eq!(total, *count, "{email}: {id} is the length of {href}");
            assert_eq!(ids.len() as i64, total, "{email}: {href}");
            // None of them is a record its reader cannot open.
            for family in ids.iter().take(30) {
                let status = who.get(&app, &format!("/families/{family}")).await.status();
                assert_eq!(status, 200, "{email} opens {family} counted in {id}");
            }
        }
    }
    // The demo has work due: the practitioner sees some of it.
    let practitioner = app.sign_in(PRACTITIONER).await;
    let numbers = numbers(&app, &practitioner).await;
    assert!(number(&numbers, "review-overdue") > 0, "{numbers:?}");
    // Requests sent: the number is the length of the list of them.
    let sent = number(&numbers, "sent");
    let html = practitioner
        .get(&app, "/requests/sent")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        sent > 0 && html.contains(&format!(">{sent} sent, newest first<")),
        "{sent}: {html}"
    );
    // The locality lead sees the queue and each practitioner's open cases.
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let html = lead.get(&app, "/").await.text().await.unwrap();
    assert!(html.contains("id=\"waiting-ladywood\""), "{html}");
    assert!(html.contains("waiting for triage"));
    assert!(
        html.contains("class=\"govuk-table__row caseload\""),
        "{html}"
    );
    // Someone whose roles hold no cases has no families' numbers.
    let commissioner = app.sign_in(COMMISSIONER).await;
    let html = commissioner.get(&app, "/").await.text().await.unwrap();
    assert!(!html.contains("id=\"review-overdue\""));
}

/// A family in Erdington led by the Erdington practitioner, with a plan action long overdue.
async fn erdington_family_with_an_overdue_action(app: &TestApp) -> String {
    let family = crate::insiders::erdington_family(app).await;
    let ask = gate::Ask {
        id: family.parse().unwrap(),
        action: Action::Update,
        purpose: "test: an overdue action",
    };
    let mut authorised = gate::operator_on::<gate::FamilyId>(&app.db, ask)
        .await
        .unwrap();
    let due = time::macros::date!(2020 - 01 - 31);
    cases::add_action(&mut authorised, "Safe at home", "Check in", "Sam", due)
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();
    family
}

async fn another_localitys_family_is_counted_and_found_only_there(backend: Backend) {
    let app = spawn_app(backend).await;
    let ladywood_lead = app.sign_in(LOCALITY_LEAD).await;
    let ladywood = app.sign_in(PRACTITIONER).await;
    let erdington = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let before = (
        number(&numbers(&app, &ladywood_lead).await, "actions-overdue"),
        number(&numbers(&app, &ladywood).await, "actions-overdue"),
        number(&numbers(&app, &erdington).await, "actions-overdue"),
    );
    let family = erdington_family_with_an_overdue_action(&app).await;
    let after = (
        number(&numbers(&app, &ladywood_lead).await, "actions-overdue"),
        number(&numbers(&app, &ladywood).await, "actions-overdue"),
        number(&numbers(&app, &erdington).await, "actions-overdue"),
    );
    assert_eq!(
        after,
        (before.0, before.1, before.2 + 1),
        "only the Erdington practitioner's number counts it"
    );
    let (_, theirs) = every_family(&app, &erdington, "/families?only=actions_overdue").await;
    assert!(theirs.contains(&family));
    // The Ladywood lead searching for the same people by name finds only Ladywood's.
    for who in [&ladywood_lead, &ladywood] {
        let (_, found) = listed(&app, who, "/families?name=testcase").await;
        assert!(
            !found.contains(&family),
            "another locality's family is not found"
        );
        let (_, due) = every_family(&app, who, "/families?only=actions_overdue").await;
        assert!(!due.contains(&family));
    }
    let (_, found) = listed(&app, &erdington, "/families?name=testcase").await;
    assert_eq!(found, vec![family]);
}

async fn families_are_found_by_name_date_of_birth_and_postcode_within_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    for path in [
        "/families?name=amira+test",
        "/families?name=TESTCASE&postcode=b16+8ha",
        "/families?dob-day=2&dob-month=5&dob-year=2016&postcode=B16",
    ] {
        let (total, ids) = listed(&app, &practitioner, path).await;
        assert_eq!((total, ids), (1, vec![family.clone()]), "{path}");
    }
    let (total, _) = listed(&app, &practitioner, "/families?name=testcase&postcode=B23").await;
    assert_eq!(total, 0, "another postcode");
    let (total, _) = listed(&app, &practitioner, "/families?name=%25").await;
    assert_eq!(total, 0, "a % in a name is a %, not anything");
    // Someone not involved finds nothing, though the family exists.
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    let html = outsider
        .get(&app, "/families?name=testcase")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No families you may open match"), "{html}");
    assert!(!html.contains(&family));
    // A question that makes no sense is answered with what is wrong, by field.
    for (path, field, words) in [
        (
            "/families?dob-day=31&dob-month=2&dob-year=2016",
            "dob",
            "real date",
        ),
        (
            "/families?postcode=not+a+postcode",
            "postcode",
            "Enter a postcode",
        ),
        ("/families?only=everything", "only", "Choose what to show"),
        ("/families?lead=nobody", "only", "not known"),
        ("/families?locality=atlantis", "only", "no such locality"),
    ] {
        let response = practitioner.get(&app, path).await;
        assert_eq!(response.status(), 422, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{path}: {html}"
        );
        assert!(html.contains(words), "{path}");
    }
    // Those whose roles hold no cases cannot search families at all.
    let commissioner = app.sign_in(COMMISSIONER).await;
    let status = commissioner
        .get(&app, "/families?name=testcase")
        .await
        .status();
    assert_eq!(status, 403);
}

async fn your_families_come_a_page_at_a_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    // More than a page: the demo's locality has 20 families.
    for _ in 0..6 {
        open_case(&app).await;
    }
    let (total, first) = listed(&app, &lead, "/families?only=").await;
    assert!(total > 25, "more than a page: {total}");
    assert_eq!(first.len(), 25);
    let (_, second) = listed(&app, &lead, "/families?page=2").await;
    assert!(!second.is_empty() && second.iter().all(|id| !first.contains(id)));
    let html = lead.get(&app, "/families").await.text().await.unwrap();
    assert!(html.contains("class=\"govuk-pagination\""));
    assert!(html.contains("href=\"/families?page=2\""), "{html}");
    // Beyond the last page is the last page; nonsense is a clear refusal, not a failure.
    let last = (total + 24) / 25;
    let (_, beyond) = listed(&app, &lead, "/families?page=999").await;
    let (_, at_last) = listed(&app, &lead, &format!("/families?page={last}")).await;
    assert_eq!(beyond, at_last);
    assert_eq!(lead.get(&app, "/families?page=x").await.status(), 422);
    // A filter is kept from page to page.
    let html = lead
        .get(&app, "/families?only=open&postcode=B16")
        .await
        .text()
        .await
        .unwrap();
    if html.contains("rel=\"next\"") {
        assert!(
            html.contains("postcode=B16&amp;only=open&amp;page=2"),
            "{html}"
        );
    }
}

async fn the_information_governance_officer_sees_holds_and_break_glass(backend: Backend) {
    let app = spawn_app(backend).await;
    let ig = app.sign_in(IG_OFFICER).await;
    let holds_before = number(&numbers(&app, &ig).await, "legal-holds");
    let family = open_case(&app).await;
    let record = format!("family:{family}");
    let placed = crate::cases::post_form(
        &ig,
        &app,
        "/governance/holds",
        &[("record", record.as_str()), ("reason", "Court order 44")],
    )
    .await;
    assert_eq!(placed.status(), 303);
    let numbers = numbers(&app, &ig).await;
    assert_eq!(number(&numbers, "legal-holds"), holds_before + 1);
    assert!(!numbers.iter().any(|(id, _, _)| id == "review-overdue"));
}

/// The rows of the table after the heading `heading` on `html`.
fn rows_after(html: &str, heading: &str) -> usize {
    let Some((_, after)) = html.split_once(&format!(">{heading}</h2>")) else {
        panic!("no {heading} in {html}");
    };
    let section = after.split("<h2").next().unwrap_or_default();
    section.split("<tbody").nth(1).map_or(0, |body| {
        body.matches("<tr class=\"govuk-table__row\"").count()
    })
}

async fn the_directorys_numbers_are_the_workspaces_lists(backend: Backend) {
    let app = spawn_app(backend).await;
    for email in ["connector.ladywood@earlyhelp.test", VCS_WORKER] {
        let who = app.sign_in(email).await;
        let numbers = numbers(&app, &who).await;
        let due = number(&numbers, "listings-due");
        let href = &numbers
            .iter()
            .find(|(id, _, _)| id == "listings-due")
            .unwrap()
            .2;
        let html = who.get(&app, href).await.text().await.unwrap();
        assert_eq!(due as usize, rows_after(&html, "Due for review"), "{email}");
        if let Some((_, waiting, _)) = numbers.iter().find(|(id, _, _)| id == "changes-waiting") {
            let rows = rows_after(&html, "Changes waiting for your approval");
            assert_eq!(*waiting as usize, rows, "{email}");
        }
    }
    let connector = app.sign_in("connector.ladywood@earlyhelp.test").await;
    let numbers = numbers(&app, &connector).await;
    assert!(
        number(&numbers, "listings-due") > 0,
        "the demo has listings due"
    );
    assert!(numbers.iter().any(|(id, _, _)| id == "changes-waiting"));
}

/// The events on a page of the audit log: (who, record) of each.
async fn events(app: &TestApp, ig: &Session, path: &str) -> (Vec<(String, String)>, String) {
    let response = ig.get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let html = response.text().await.unwrap();
    let row = Regex::new(r#"href="/audit\?actor=[^"]*">([^<]+)<span[\s\S]*?<code class="eh-mono govuk-body-s">([^<]+)</code>"#)
        .unwrap();
    let found = row
        .captures_iter(&html)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    (found, html)
}

async fn the_audit_log_is_filtered_and_paged(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(
        practitioner
            .get(&app, &format!("/families/{family}"))
            .await
            .status(),
        200
    );
    let ig = app.sign_in(IG_OFFICER).await;
    // The newest page, 50 events, and a link to older ones that are all older.
    let (newest, html) = events(&app, &ig, "/audit").await;
    assert_eq!(newest.len(), 50, "{html}");
    assert!(
        html.contains("href=\"/audit/break-glass\""),
        "the break-glass review is linked"
    );
    let older = Regex::new(r#"href="(/audit\?before=\d+)" rel="next""#)
        .unwrap()
        .captures(&html)
        .map(|c| c[1].to_string())
        .expect("a link to older events");
    let (page_two, html) = events(&app, &ig, &older).await;
    assert!(!page_two.is_empty());
    assert!(html.contains("Newest events"));
    // By person, by family (from a picker's link, not a typed id), by action, by date.
    let (theirs, html) = events(&app, &ig, &format!("/audit?actor={PRACTITIONER}")).await;
    assert!(!theirs.is_empty() && theirs.iter().all(|(who, _)| who == PRACTITIONER));
    assert!(
        html.contains("<datalist id=\"actor-people\">")
            && html.contains(&format!("<option value=\"{PRACTITIONER}\">"))
    );
    let (its, _) = events(&app, &ig, &format!("/audit?family={family}")).await;
    let record = format!("family:{family}");
    assert!(!its.is_empty() && its.iter().all(|(_, subject)| subject == &record));
    assert!(
        its.iter().any(|(who, _)| who == PRACTITIONER),
        "the practitioner's read"
    );
    let (signins, html) = events(&app, &ig, "/audit?action=sign_in").await;
    assert!(!signins.is_empty());
    assert!(
        !html.contains(">read: ") && !html.contains(">list: "),
        "only sign-ins"
    );
    let today = time::OffsetDateTime::now_utc().date();
    let day = |d: time::Date| format!("{}&{}&{}", d.day(), d.month() as u8, d.year());
    let parts = |prefix: &str, d: time::Date| {
        let [dd, mm, yy]: [String; 3] = day(d)
            .split('&')
            .map(str::to_string)
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        format!("{prefix}-day={dd}&{prefix}-month={mm}&{prefix}-year={yy}")
    };
    let (todays, _) = events(
        &app,
        &ig,
        &format!("/audit?actor={PRACTITIONER}&{}", parts("from", today)),
    )
    .await;
    assert_eq!(todays, theirs, "all of today's");
    let yesterday = today - time::Duration::days(1);
    let (before_today, html) = events(
        &app,
        &ig,
        &format!("/audit?actor={PRACTITIONER}&{}", parts("to", yesterday)),
    )
    .await;
    assert!(before_today.is_empty(), "{html}");
    assert!(html.contains("No events match"));
    // Nonsense is answered with the field to fix, never a failure.
    for (path, field) in [
        ("/audit?from-day=30&from-month=2&from-year=2026", "from"),
        ("/audit?action=delete_everything", "action"),
        ("/audit?family=not-an-id", "subject"),
        ("/audit?before=-4", "actor"),
    ] {
        let response = ig.get(&app, path).await;
        assert_eq!(response.status(), 422, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("href=\"#{field}\"")), "{path}");
    }
}

/// Each role's home page in a real browser, checked by axe-core, and a number followed to its
/// list; the families list and the audit log checked too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_pages_and_lists_are_accessible_in_a_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    for (email, number) in [
        (PRACTITIONER, "review-overdue"),
        (LOCALITY_LEAD, "unallocated"),
        ("connector.ladywood@earlyhelp.test", "listings-due"),
        (IG_OFFICER, "subject-access"),
        (ANALYST, "possible-matches"),
        (COMMISSIONER, "special-cause"),
        (ADMIN, "unused-accounts"),
    ] {
        sign_in(&browser, &app, email).await;
        browser.wait_for_text(By::Id("today"), "Today").await;
        assert_accessible(&browser, &format!("home page of {email}")).await;
        let short = email.split('@').next().unwrap();
        browser.screenshot(&format!("home-today-{short}")).await;
        browser.click(By::Id(number)).await;
        let path = browser
            .driver
            .current_url()
            .await
            .unwrap()
            .path()
            .to_string();
        assert_ne!(path, "/", "{email}: {number} leads to its list");
        assert_accessible(&browser, &format!("{email}'s {number} list")).await;
        browser.driver.goto(app.url("/")).await.unwrap();
        browser.click(By::Css(".eh-masthead form button")).await;
        browser.wait_for_heading("Sign in to earlyhelp").await;
    }
    sign_in(&browser, &app, PRACTITIONER).await;
    browser
        .driver
        .goto(app.url("/families?name=x&dob-day=31&dob-month=2&dob-year=2015"))
        .await
        .unwrap();
    browser.wait_for_heading("Your families").await;
    assert_accessible(&browser, "the families search with an error").await;
    browser.screenshot("families-search-error").await;
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;
    sign_in(&browser, &app, IG_OFFICER).await;
    browser.driver.goto(app.url("/audit")).await.unwrap();
    browser.wait_for_heading("Audit log").await;
    assert_accessible(&browser, "the audit log").await;
    browser.screenshot("audit-log-filters").await;
    browser.quit().await;
}

/// The purposes of the events about `subject` by `actor`, oldest first.
pub async fn purposes(app: &TestApp, actor: &str, subject: &str) -> Vec<(String, String)> {
    let sql =
        "SELECT purpose, outcome FROM audit_events WHERE actor = $1 AND subject = $2 ORDER BY seq";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_as(sql)
            .bind(actor)
            .bind(subject)
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

async fn the_audit_log_gates_before_it_reads_and_searches_are_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    // The last day of the calendar has no next day: refused by the gate for a practitioner
    // (and the refusal audited), a field to fix for the officer, never a failure.
    let last = "/audit?to-day=31&to-month=12&to-year=9999";
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(practitioner.get(&app, last).await.status(), 403);
    let refused = purposes(&app, PRACTITIONER, "audit_log").await;
    assert!(
        refused
            .iter()
            .any(|(purpose, outcome)| outcome == "denied" && purpose.contains("to=31 12 9999")),
        "{refused:?}"
    );
    let ig = app.sign_in(IG_OFFICER).await;
    let response = ig.get(&app, last).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"#to\""), "{html}");
    // The date parser's own messages.
    let html = ig
        .get(&app, "/audit?from-day=3&from-year=2026")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("The first day must include a month"),
        "{html}"
    );
    // The officer's own search is in the log, by its filters.
    let path = format!("/audit?actor={PRACTITIONER}&action=read");
    assert_eq!(ig.get(&app, &path).await.status(), 200);
    let reviews = purposes(&app, IG_OFFICER, "audit_log").await;
    assert!(
        reviews
            .iter()
            .any(|(purpose, _)| purpose
                == &format!("audit review: actor={PRACTITIONER}, action=read")),
        "{reviews:?}"
    );
    // So is a practitioner's family search: who looked up whom.
    let path = "/families?name=Amira&dob-day=2&dob-month=5&dob-year=2016&postcode=B16";
    assert_eq!(practitioner.get(&app, path).await.status(), 200);
    let searches = purposes(&app, PRACTITIONER, "caseload").await;
    assert!(
        searches.iter().any(|(purpose, _)| purpose
            == "my families: name=Amira, date of birth=2 5 2016, postcode=B16"),
        "{searches:?}"
    );
}

/// Runs `sql` with `$1` and `$2` ids (users and families are ids on both databases) and `$3`
/// a time in microseconds.
async fn run(app: &TestApp, sql: &'static str, a: uuid::Uuid, b: uuid::Uuid, micros: i64) {
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(sql)
            .bind(a)
            .bind(b)
            .bind(micros)
            .execute(pool)
            .await
            .unwrap();
    });
}

async fn ids(app: &TestApp, sql: &'static str, email: &str) -> Vec<uuid::Uuid> {
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(email)
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

/// The list's SQL rule (`open_to!`) held to the domain's: for readers of each role and each way
/// in or out (a share that ended, consent withdrawn, break-glass expired and current), every
/// family listed opens, and every family of a sample that opens is listed.
async fn the_families_list_is_exactly_the_families_each_reader_may_open(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let outsider = ids(
        &app,
        "SELECT id FROM users WHERE email = $1",
        ERDINGTON_PRACTITIONER,
    )
    .await[0];
    // Families in Ladywood the Erdington practitioner has nothing to do with.
    let others = ids(
        &app,
        "SELECT id FROM families WHERE locality_slug <> (SELECT locality_slug FROM user_localities \
         l JOIN users u ON u.id = l.user_id WHERE u.email = $1 LIMIT 1) ORDER BY id LIMIT 4",
        ERDINGTON_PRACTITIONER,
    )
    .await;
    let [ended, withdrawn, expired, current] = others[..] else {
        panic!("four families elsewhere: {others:?}")
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1_000_000;
    let hour = 3_600_000_000;
    // On the team of one whose share has since ended.
    for (f, ended_at) in [(ended, Some(now - hour)), (withdrawn, None)] {
        run(
            &app,
            "INSERT INTO family_team (family_id, user_id, added_micros) VALUES ($2, $1, $3)",
            outsider,
            f,
            now - 2 * hour,
        )
        .await;
        let sql = if ended_at.is_some() {
            "INSERT INTO lawful_bases (id, family_id, shared_with_user, shared_with, purpose, article6, \
             recorded_by, recorded_micros, ended_micros) VALUES ($2, $2, $1, 'test', 'test', 'consent', 'test', $3, $3)"
        } else {
            "INSERT INTO lawful_bases (id, family_id, shared_with_user, shared_with, purpose, article6, \
             recorded_by, recorded_micros) VALUES ($2, $2, $1, 'test', 'test', 'consent', 'test', $3)"
        };
        run(&app, sql, outsider, f, now - hour).await;
    }
    // Consent withdrawn where the share rested on it.
    run(
        &app,
        "UPDATE families SET consent_withdrawn = ($1 = $1) WHERE id = $2 AND $3 = $3",
        outsider,
        withdrawn,
        0,
    )
    .await;
    for (f, expires) in [(expired, now - hour), (current, now + hour)] {
        run(
            &app,
            "INSERT INTO break_glass (id, family_id, user_id, user_name, reason, granted_micros, expires_micros) \
             VALUES ($2, $2, $1, 'test', 'test', $3 - 7200000000, $3)",
            outsider,
            f,
            expires,
        )
        .await;
    }
    let mut sample: Vec<String> = ids(
        &app,
        "SELECT id FROM families WHERE $1 = $1 ORDER BY id LIMIT 30",
        "",
    )
    .await
    .iter()
    .chain(&others)
    .map(uuid::Uuid::to_string)
    .collect();
    sample.push(family);
    for email in [
        PRACTITIONER,
        LOCALITY_LEAD,
        ERDINGTON_LEAD,
        ERDINGTON_PRACTITIONER,
        HEALTH_VISITOR,
    ] {
        let who = app.sign_in(email).await;
        let (_, listed) = every_family(&app, &who, "/families?name=").await;
        // Opening is the record itself, not the "known to" page a stranger is shown.
        let opens = |id: String| {
            let who = &who;
            let app = &app;
            async move {
                let response = who.get(app, &format!("/families/{id}")).await;
                response.status() == 200
                    && !response.text().await.unwrap().contains("id=\"known-to\"")
            }
        };
        for id in &listed {
            assert!(
                opens(id.clone()).await,
                "{email} is shown {id} but may not open it"
            );
        }
        for id in &sample {
            let may = opens(id.clone()).await;
            assert_eq!(may, listed.contains(id), "{email} and {id}: opens {may}");
        }
        if email == ERDINGTON_PRACTITIONER {
            let mine = |f: uuid::Uuid| listed.contains(&f.to_string());
            assert_eq!(
                [ended, withdrawn, expired, current].map(mine),
                [false, false, false, true],
                "only the current break-glass opens"
            );
        }
    }
}

async fn the_administrator_counts_locked_accounts_and_lists_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    assert_eq!(number(&numbers(&app, &admin).await, "locked-accounts"), 0);
    for _ in 0..5 {
        let response = app.try_sign_in(&client(), COMMISSIONER, "guess").await;
        assert_eq!(response.status(), 401);
    }
    let home = numbers(&app, &admin).await;
    assert_eq!(number(&home, "locked-accounts"), 1);
    let link = &home
        .iter()
        .find(|(id, _, _)| id == "locked-accounts")
        .unwrap()
        .2;
    let html = admin.get(&app, link).await.text().await.unwrap();
    assert!(
        html.contains("1 locked after repeated failed sign-ins"),
        "{html}"
    );
    assert!(
        html.contains(COMMISSIONER) && !html.contains(PRACTITIONER),
        "{html}"
    );
    assert_eq!(
        admin.get(&app, "/admin/users?locked=maybe").await.status(),
        422
    );
    // An account not signed in for 100 days is counted and listed as unused, until it signs in.
    assert_eq!(number(&numbers(&app, &admin).await, "unused-accounts"), 0);
    let analyst = ids(&app, "SELECT id FROM users WHERE email = $1", ANALYST).await[0];
    let long_ago = earlyhelp_storage::now_micros() - 100 * 86_400 * 1_000_000;
    run(
        &app,
        "UPDATE users SET last_active_micros = $3 WHERE id = $1 OR id = $2",
        analyst,
        analyst,
        long_ago,
    )
    .await;
    let home = numbers(&app, &admin).await;
    assert_eq!(number(&home, "unused-accounts"), 1);
    let html = admin
        .get(&app, "/admin/users?unused=yes")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("1 active but not signed in for 90 days"),
        "{html}"
    );
    assert!(
        html.contains(ANALYST) && !html.contains(PRACTITIONER),
        "{html}"
    );
    app.sign_in(ANALYST).await;
    assert_eq!(number(&numbers(&app, &admin).await, "unused-accounts"), 0);
}

async fn the_commissioner_counts_indicators_with_special_cause(backend: Backend) {
    let app = spawn_app(backend).await;
    let commissioner = app.sign_in(COMMISSIONER).await;
    let home = numbers(&app, &commissioner).await;
    let (_, count, link) = home
        .iter()
        .find(|(id, _, _)| id == "special-cause")
        .unwrap();
    let html = commissioner.get(&app, link).await.text().await.unwrap();
    assert!(html.contains("id=\"special-only\""), "{html}");
    let all = commissioner
        .get(&app, "/outcomes/board")
        .await
        .text()
        .await
        .unwrap();
    let rows = |html: &str| html.matches("data-indicator=").count() as i64;
    assert_eq!(
        rows(&html),
        *count,
        "the number is the filtered board's rows"
    );
    assert!(rows(&html) < rows(&all), "the filter leaves indicators out");
    assert_eq!(
        commissioner
            .get(&app, "/outcomes/board?special=maybe")
            .await
            .status(),
        422
    );
}

async fn subject_access_requests_are_registered_with_their_days_left(backend: Backend) {
    let app = spawn_app(backend).await;
    let ig = app.sign_in(IG_OFFICER).await;
    let before = numbers(&app, &ig).await;
    assert_eq!(number(&before, "subject-access"), 0);
    let today = cases::today();
    let day = |d: time::Date| {
        [
            d.day().to_string(),
            u8::from(d.month()).to_string(),
            d.year().to_string(),
        ]
    };
    // A bad date is refused, naming the field, and the name typed is kept.
    let future = day(today + time::Duration::days(3));
    let refused = crate::cases::post_form(
        &ig,
        &app,
        "/governance/requests",
        &[
            ("requester", "Dana Whitlock"),
            ("received-day", &future[0]),
            ("received-month", &future[1]),
            ("received-year", &future[2]),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("must be today or in the past"), "{html}");
    assert!(html.contains("value=\"Dana Whitlock\""), "{html}");
    // Received 40 days ago: overdue; received today: a month left.
    for (who, received) in [
        ("Dana Whitlock", today - time::Duration::days(40)),
        ("Sam Okafor", today),
    ] {
        let [d, m, y] = day(received);
        let recorded = crate::cases::post_form(
            &ig,
            &app,
            "/governance/requests",
            &[
                ("requester", who),
                ("received-day", &d),
                ("received-month", &m),
                ("received-year", &y),
            ],
        )
        .await;
        assert_eq!(recorded.status(), 303);
    }
    let home = numbers(&app, &ig).await;
    assert_eq!(number(&home, "subject-access"), 2);
    let html = ig.get(&app, "/").await.text().await.unwrap();
    assert!(html.contains("the soonest was due"), "{html}");
    let register = ig
        .get(&app, "/governance/requests")
        .await
        .text()
        .await
        .unwrap();
    let due = earlyhelp_domain::sar::response_due(today - time::Duration::days(40));
    let overdue = (today - due).whole_days();
    assert!(
        register.contains(&format!("{overdue} days overdue")),
        "{register}"
    );
    let whitlock = register.find("Dana Whitlock").unwrap();
    assert!(
        whitlock < register.find("Sam Okafor").unwrap(),
        "soonest first"
    );
    let ids: Vec<String> = Regex::new(r#"/governance/requests/([0-9a-f-]{36})/extend"#)
        .unwrap()
        .captures_iter(&register)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{register}");
    // Extending needs a reason; then it is due two months later, and cannot be extended again.
    let extend = format!("/governance/requests/{}/extend", ids[1]);
    let no_reason = crate::cases::post_form(&ig, &app, &extend, &[("reason", " ")]).await;
    assert_eq!(no_reason.status(), 422);
    let extended =
        crate::cases::post_form(&ig, &app, &extend, &[("reason", "Records from 4 agencies")]).await;
    assert_eq!(extended.status(), 303);
    let register = ig
        .get(&app, "/governance/requests")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        register.contains("Extended: Records from 4 agencies"),
        "{register}"
    );
    let again = crate::cases::post_form(&ig, &app, &extend, &[("reason", "more")]).await;
    assert_eq!(again.status(), 404);
    // Answered: it leaves the count.
    let complete = format!("/governance/requests/{}/complete", ids[0]);
    let done = crate::cases::post_form(&ig, &app, &complete, &[]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(number(&numbers(&app, &ig).await, "subject-access"), 1);
    // Only the information governance officer keeps the register.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(
        practitioner
            .get(&app, "/governance/requests")
            .await
            .status(),
        403
    );
    let refused = crate::cases::post_form(&practitioner, &app, &complete, &[]).await;
    assert_eq!(refused.status(), 403);
    assert!(
        !numbers(&app, &practitioner)
            .await
            .iter()
            .any(|(id, _, _)| id == "subject-access")
    );
}

async fn the_locality_lead_allocates_an_unallocated_case(backend: Backend) {
    use crate::cases::{amira, send, token};
    let app = spawn_app(backend).await;
    // Connected to community support: a case held by the locality team, with no lead.
    let request = send(&app, &amira("B16 8HA")).await;
    let triaged: serde_json::Value = client()
        .post(app.url(&format!("/api/requests/{request}/triage")))
        .bearer_auth(token(&app, LOCALITY_LEAD).await)
        .json(&serde_json::json!({"outcome": "community_support", "note": "parenting group"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let family = triaged["family_id"].as_str().unwrap().to_string();
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let before = number(&numbers(&app, &lead).await, "unallocated");
    assert!(before >= 1);
    let page = format!("/families/{family}");
    let html = lead.get(&app, &page).await.text().await.unwrap();
    assert!(html.contains("Allocate a lead practitioner"), "{html}");
    let path = format!("/families/{family}/lead");
    // Not someone who works cases: refused, naming the field.
    let wrong = crate::cases::post_form(&lead, &app, &path, &[("lead_email", COMMISSIONER)]).await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong.text().await.unwrap().contains("lead_email-error"));
    // Only the lead of the family's locality allocates: another locality's lead, with the
    // family's id, and a practitioner are refused as if there were no such family.
    for who in [ERDINGTON_LEAD, PRACTITIONER] {
        let insider = app.sign_in(who).await;
        let refused =
            crate::cases::post_form(&insider, &app, &path, &[("lead_email", PRACTITIONER)]).await;
        assert_eq!(refused.status(), 404, "{who}");
    }
    let allocated =
        crate::cases::post_form(&lead, &app, &path, &[("lead_email", HEALTH_VISITOR)]).await;
    assert_eq!(allocated.status(), 303);
    let to = allocated.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(to.starts_with(&format!("{page}?done=lead")), "{to}");
    let html = lead.get(&app, &to).await.text().await.unwrap();
    assert!(
        html.contains("The lead practitioner is allocated."),
        "{html}"
    );
    assert!(
        html.contains("is the lead practitioner"),
        "noted in the chronology"
    );
    assert!(html.contains("Change the lead practitioner"));
    assert_eq!(
        number(&numbers(&app, &lead).await, "unallocated"),
        before - 1
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(ERDINGTON_LEAD.into(), "update".into(), "denied".into())));
    assert!(audit.contains(&(LOCALITY_LEAD.into(), "update".into(), "allowed".into())));
    // The one allocated can now open the case.
    let health_visitor = app.sign_in(HEALTH_VISITOR).await;
    assert_eq!(health_visitor.get(&app, &page).await.status(), 200);
}

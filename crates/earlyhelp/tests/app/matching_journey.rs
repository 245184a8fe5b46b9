//! Finding families in a real browser (issue 14), with axe-core on every page: an analyst
//! uploads a housing list, watches the run's progress bar, reviews two possible matches, makes
//! a cohort and sends outreach; Ladywood's lead finds Ladywood's new requests in triage, and
//! not Erdington's.

use crate::browser::{assert_accessible, sign_in};
use crate::helpers::*;
use crate::matching::{delete_by, figure, known_pairs_list};
use thirtyfour::prelude::*;

const COHORT: &str = "temporary accommodation, December 2026";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_finds_families_on_a_list_and_their_locality_hears_of_them() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    // No background jobs: the test runs the matching job itself, so the browser is sure to
    // see the run waiting with its bar before the results.
    let app = spawn_app_mailing(Backend::Sqlite, None).await;
    // Ten demo people as they are, ten changed (some only possible matches), four strangers
    // outside the city, a household of two in Ladywood and one person in Erdington.
    let mut csv = known_pairs_list(&app.db, 10, 10, 4).await;
    csv.push_str("N1,Ada,Newcomer,2016-01-01,B1 1AA,\"5 New Street\"\n");
    csv.push_str("N2,Ben,Newcomer,1985-02-02,b11aa,\"5, new street\"\n");
    csv.push_str("N3,Cal,Farfield,2014-05-05,B23 1AA,\"7 Far Road\"\n");
    let file = temp_dir("matching-journey").join("housing.csv");
    std::fs::write(&file, csv).unwrap();

    sign_in(&browser, &app, ANALYST).await;
    browser.click(By::LinkText("Matching")).await;
    browser.wait_for_heading("Match an agency's list").await;
    assert_accessible(&browser, "matching page").await;
    browser.fill(By::Id("source"), "Housing").await;
    browser
        .fill(
            By::Id("purpose"),
            "Find families in temporary accommodation",
        )
        .await;
    choose(&browser, "article6", "public_task").await;
    browser
        .fill(By::Id("dpia_reference"), "DPIA-2026-014")
        .await;
    browser
        .fill(
            By::Id("delete_by"),
            &earlyhelp_domain::cases::iso(delete_by()),
        )
        .await;
    browser.fill(By::Id("file"), file.to_str().unwrap()).await;
    browser.screenshot("matching-upload").await;
    submit(&browser).await;

    browser.wait_for_heading("Check the columns of").await;
    assert_accessible(&browser, "column preview").await;
    browser.screenshot("matching-columns").await;
    submit(&browser).await;

    // The run waits for a worker: the bar is there, at 0%, and the page follows the run.
    browser.wait_for_heading("Matching").await;
    let bar = browser.driver.find(By::Id("progress")).await.unwrap();
    assert_eq!(bar.attr("value").await.unwrap().as_deref(), Some("0"));
    browser
        .wait_for_text(By::Css("label[for=progress]"), "Waiting to start: 0%")
        .await;
    assert_accessible(&browser, "run in progress").await;
    browser.screenshot("matching-progress").await;
    assert!(
        earlyhelp_storage::matching::work_once(&app.db, "journey", None)
            .await
            .unwrap(),
        "the worker finds the queued run"
    );
    // The page brings itself up to date, with no reload, and takes the reader to the results.
    browser.wait_for_text(By::Id("counts"), "Matches").await;
    assert!(browser.driver.find(By::Id("progress")).await.is_err());
    let focused = browser.driver.active_element().await.unwrap();
    assert_eq!(focused.id().await.unwrap().as_deref(), Some("results"));
    assert_accessible(&browser, "run results").await;
    browser.screenshot("matching-results").await;
    let results = browser.driver.source().await.unwrap();
    let possible = figure(&results, "possible");
    assert!(possible >= 2, "two possible matches to review: {possible}");

    // Review: the first is the same person, the rest are not; a cohort waits for every one.
    browser.click(By::LinkText("Review possible matches")).await;
    browser.wait_for_heading("Review possible matches").await;
    assert_accessible(&browser, "review").await;
    browser.screenshot("matching-review").await;
    for left in (0..possible).rev() {
        let decision = if left + 1 == possible {
            "accept"
        } else {
            "reject"
        };
        browser
            .click(By::Css(format!("button[value={decision}]")))
            .await;
        browser
            .wait_for_text(By::Css(".govuk-caption-l"), &format!("{left} waiting"))
            .await;
    }
    browser
        .wait_for_text(By::Id("none-waiting"), "No possible match")
        .await;
    browser
        .click(By::LinkText("Back to the run's results"))
        .await;
    browser.wait_for_heading("Matching").await;
    let results = browser.driver.source().await.unwrap();
    assert_eq!(figure(&results, "accepted"), 1);
    assert_eq!(figure(&results, "rejected"), possible - 1);

    // A cohort, then outreach to the households with no case open.
    browser
        .click(By::LinkText("Cohorts and outreach from this run"))
        .await;
    browser.wait_for_heading("Cohorts from this run").await;
    assert_accessible(&browser, "run's cohorts").await;
    browser.fill(By::Id("name"), COHORT).await;
    submit(&browser).await;
    browser.wait_for_heading(COHORT).await;
    assert_accessible(&browser, "cohort").await;
    browser.screenshot("cohort").await;
    let page = browser.driver.source().await.unwrap();
    assert!(!page.contains("Newcomer"), "the analyst sees no names");
    browser.click(By::LinkText("Send outreach")).await;
    browser.wait_for_heading("Send outreach").await;
    assert_accessible(&browser, "outreach confirmation").await;
    let confirm = browser.driver.source().await.unwrap();
    let new = figure(&confirm, "new");
    assert!(
        new >= 2,
        "Ladywood's and Erdington's newcomers at least: {new}"
    );
    choose(&browser, "reason", "risk_of_homelessness").await;
    browser.screenshot("cohort-outreach").await;
    submit(&browser).await;
    browser.wait_for_heading(COHORT).await;
    let outreach = crate::matching::count(
        &app.db,
        "SELECT COUNT(*) FROM support_requests WHERE requester LIKE 'Outreach: %'",
    )
    .await;
    assert_eq!(outreach as u64, new, "one request for each household");
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    // Ladywood's lead: the household at 5 New Street is waiting, marked as outreach.
    sign_in(&browser, &app, LOCALITY_LEAD).await;
    browser
        .driver
        .goto(app.url("/triage?locality=ladywood"))
        .await
        .unwrap();
    browser
        .wait_for_heading("Requests waiting for triage")
        .await;
    browser
        .wait_for_text(By::Tag("main"), "Ada Newcomer, Ben Newcomer")
        .await;
    let queue = browser.driver.source().await.unwrap();
    assert!(queue.contains(&format!("Outreach: {COHORT}")));
    assert!(!queue.contains("Farfield"), "Erdington's is not Ladywood's");
    assert_accessible(&browser, "triage queue with outreach").await;
    browser.screenshot("triage-outreach").await;
    browser
        .click(By::LinkText("Ada Newcomer, Ben Newcomer"))
        .await;
    browser.wait_for_text(By::Tag("main"), "Outreach").await;
    assert_accessible(&browser, "outreach request").await;
    browser.quit().await;
}

/// Picks the option `value` of the select `id`.
async fn choose(browser: &Browser, id: &str, value: &str) {
    browser
        .click(By::Css(format!("select#{id} option[value={value}]")))
        .await;
}

async fn submit(browser: &Browser) {
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
}

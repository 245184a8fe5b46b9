//! Journeys in a real browser (headless Chromium through chromedriver), with axe-core
//! checking each page for accessibility problems.

use crate::helpers::*;
use thirtyfour::prelude::*;

pub(crate) async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    let driver = &browser.driver;
    driver.goto(app.url("/sign-in")).await.unwrap();
    browser.fill(By::Id("email"), email).await;
    browser.fill(By::Id("password"), DEMO_PASSWORD).await;
    browser.click(By::Css("button[type=submit]")).await;
    browser.wait_for_heading("Welcome, ").await;
}

pub(crate) async fn assert_accessible(browser: &Browser, page: &str) {
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{page} has accessibility problems: {violations:#?}"
    );
}

/// A parent arrives at `/`: the front door finds support and leads to asking for help.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_finds_support_from_the_front_door() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    browser.driver.goto(app.url("/")).await.unwrap();
    browser.wait_for_heading("Help for families").await;
    assert_accessible(&browser, "front door").await;
    browser.screenshot("front-door").await;
    browser.fill(By::Id("q"), "food").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser.wait_for_text(By::Css("main"), "food").await;
    assert!(browser.driver.current_url().await.unwrap().path() == "/find-support");
    browser.driver.goto(app.url("/")).await.unwrap();
    browser.click(By::Id("get-help")).await;
    assert!(browser.driver.current_url().await.unwrap().path() == "/self-referral");
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_signs_in_to_an_accessible_home_page() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    browser.driver.goto(app.url("/sign-in")).await.unwrap();
    assert_accessible(&browser, "sign-in page").await;
    browser.screenshot("sign-in").await;

    for (email, name) in [
        (PRACTITIONER, "Demo Practitioner"),
        (IG_OFFICER, "Demo Information Governance Officer"),
        (ADMIN, "Demo Administrator"),
    ] {
        sign_in(&browser, &app, email).await;
        browser.wait_for_heading(&format!("Welcome, {name}")).await;
        assert_accessible(&browser, &format!("home page of {email}")).await;
        browser
            .screenshot(&format!("home-{}", email.split('@').next().unwrap()))
            .await;
        browser.click(By::Css(".eh-masthead form button")).await;
        browser.wait_for_heading("Sign in to earlyhelp").await;
    }
    browser.quit().await;
}

/// Waits until the page holds `text` (after a form posts back to the same page).
async fn wait_for_text(browser: &Browser, text: &str) {
    for _ in 0..100 {
        if browser
            .driver
            .source()
            .await
            .unwrap_or_default()
            .contains(text)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("waited 10 s for the page to say {text:?}");
}

async fn sign_out(browser: &Browser) {
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;
}

/// Two people to grant access: the administrator adds a practitioner, Ladywood's lead approves
/// them and puts them on a family's team, and the practitioner opens the family's case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_a_user_whom_the_locality_lead_approves() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    sign_in(&browser, &app, ADMIN).await;
    let driver = &browser.driver;
    browser.click(By::LinkText("Users")).await;
    browser.wait_for_heading("Users").await;
    assert_accessible(&browser, "users page").await;
    browser.click(By::LinkText("Add a user")).await;
    browser.wait_for_heading("Add a user").await;
    // Send it empty first: the error summary must be accessible and take focus.
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    // query() polls until the reloaded page shows the summary.
    driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("the error summary");
    assert_accessible(&browser, "add-user form with errors").await;
    browser.screenshot("add-user-errors").await;

    const NEW: &str = "browser.made@example.org";
    browser.fill(By::Id("name"), "Browser Made").await;
    browser.fill(By::Id("email"), NEW).await;
    let organisation = driver.find(By::Id("organisation")).await.unwrap();
    organisation
        .find(By::XPath(
            "./option[starts-with(normalize-space(.), 'Children')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .click(By::Css("input[name=roles][value=practitioner]"))
        .await;
    browser
        .click(By::Css("input[name=localities][value=ladywood]"))
        .await;
    browser.fill(By::Id("password"), DEMO_PASSWORD).await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser.wait_for_heading("Users").await;
    let page = driver.source().await.unwrap();
    assert!(page.contains(NEW), "the new user is listed");
    assert!(
        page.contains("Waiting for approval"),
        "and waits for a second person"
    );
    browser.screenshot("users-after-add").await;
    sign_out(&browser).await;

    sign_in(&browser, &app, LOCALITY_LEAD).await;
    browser.click(By::LinkText("Access requests")).await;
    browser.wait_for_heading("Access requests").await;
    assert_accessible(&browser, "access requests waiting").await;
    browser.screenshot("access-requests").await;
    browser
        .click(By::Css("#waiting-for-you form[action$='/approve'] button"))
        .await;
    wait_for_text(&browser, "Approved by").await;
    assert_accessible(&browser, "access requests decided").await;

    // The lead puts the new practitioner in the team around one of Ladywood's families.
    let family = {
        let sql = "SELECT id FROM families WHERE locality_slug = 'ladywood' \
                   AND state <> 'closed' ORDER BY id LIMIT 1";
        let earlyhelp_storage::Db::Sqlite(pool, _) = &app.db else {
            unreachable!()
        };
        sqlx::query_scalar::<_, uuid::Uuid>(sql)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let added = lead
        .post(
            &app,
            &format!("/families/{family}/team"),
            &[
                ("csrf_token", lead.csrf.as_str()),
                ("team_email", NEW),
                ("purpose", "family support worker"),
                ("article6", "public_task"),
                ("article9", "health_social_care"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303, "{}", added.text().await.unwrap());
    sign_out(&browser).await;

    sign_in(&browser, &app, NEW).await;
    browser.click(By::LinkText("Families")).await;
    browser.wait_for_heading("Your families").await;
    browser
        .click(By::Css(format!("a[href='/families/{family}']")))
        .await;
    browser.wait_for_heading("Family case:").await;
    assert_accessible(&browser, "the new practitioner's family case").await;
    browser.screenshot("new-practitioner-case").await;
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_over_the_limit_shows_the_character_counts_error_and_is_kept() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let family = crate::hostile::ladywood_family(&app.db).await;
    sign_in(&browser, &app, LOCALITY_LEAD).await;
    let driver = &browser.driver;
    driver
        .goto(app.url(&format!("/families/{family}#notes")))
        .await
        .unwrap();
    // 20,000 characters put in at once (typing them takes minutes), then one more typed.
    let note = driver.find(By::Id("body")).await.unwrap();
    driver
        .execute(
            "arguments[0].value = 'x'.repeat(20000);",
            vec![note.to_json().unwrap()],
        )
        .await
        .unwrap();
    note.send_keys("y").await.unwrap();
    let status = driver
        .query(By::XPath(
            "//*[contains(@class, 'govuk-character-count__status') and contains(@class, 'govuk-error-message')]",
        ))
        .first()
        .await
        .expect("the character count shows an error");
    let mut words = String::new();
    for _ in 0..50 {
        words = status.text().await.unwrap();
        if words.contains("too many") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(words, "You have 1 character too many");
    let class = note.attr("class").await.unwrap().unwrap_or_default();
    assert!(class.contains("govuk-textarea--error"), "{class}");
    assert_accessible(&browser, "a note over the limit").await;
    browser.screenshot("note-over-the-limit").await;

    // Sent anyway, the server refuses it the same way and keeps every character typed.
    browser
        .click(By::Css("form[action$='/notes'] button[type=submit]"))
        .await;
    driver
        .query(By::ClassName("govuk-error-summary"))
        .first()
        .await
        .expect("the error summary");
    let summary = driver
        .find(By::ClassName("govuk-error-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        summary.contains("The note must be 20,000 characters or fewer"),
        "{summary}"
    );
    let kept = driver
        .execute("return document.getElementById('body').value;", Vec::new())
        .await
        .unwrap();
    let kept: String = kept.convert().unwrap();
    assert_eq!(kept, format!("{}y", "x".repeat(20_000)));
    assert_accessible(&browser, "the family page refusing a long note").await;
    browser.screenshot("note-over-the-limit-refused").await;
    browser.quit().await;
}

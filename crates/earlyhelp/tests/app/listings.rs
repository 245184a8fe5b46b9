//! Proposals to the directory (every field of a listing, new listings, side-by-side review,
//! rejection with a reason, the lead where a locality has no connector) and the public search
//! as a family meets it (word forms and synonyms, one result per service, "Exit this page",
//! "Back to search", the self-referral's reference).

use crate::helpers::*;
use crate::on_both_backends;
use earlyhelp_storage::Db;

const CONNECTOR: &str = "connector.ladywood@earlyhelp.test";

on_both_backends!(
    every_field_is_proposed_reviewed_side_by_side_and_approved,
    a_rejection_needs_a_reason_the_proposer_sees,
    a_new_listing_is_proposed_and_approved,
    where_a_locality_has_no_connector_its_lead_approves,
    word_forms_and_synonyms_find_services_once,
    domestic_abuse_pages_carry_exit_this_page_and_back_keeps_the_search,
    the_self_referral_gives_a_reference_and_what_happens_next,
);

async fn sql(db: &Db, sql: &'static str) -> Vec<uuid::Uuid> {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
    })
}

/// The Voluntary Sector Council's first listing in Ladywood (the demo's VCS worker keeps it).
async fn vcs_listing(app: &TestApp) -> uuid::Uuid {
    sql(
        &app.db,
        "SELECT s.id FROM directory_services s JOIN organisations o ON o.id = s.owner_organisation_id \
         WHERE o.name = 'Voluntary Sector Council' AND s.locality_slug = 'ladywood' \
         AND s.merged_into IS NULL ORDER BY s.name, s.id LIMIT 1",
    )
    .await[0]
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

/// A whole listing form, every field set to something new.
fn full_form(csrf: &str, name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf_token", csrf.to_string()),
        ("lists", "yes".into()),
        ("name", name.into()),
        ("description", "Open to every family, no referral.".into()),
        ("status", "active".into()),
        ("phone", "0121 496 0999".into()),
        ("email", "new@example.org".into()),
        ("url", "https://new.example.org".into()),
        ("minimum_age", "3".into()),
        ("maximum_age", "15".into()),
        ("free", "no".into()),
        ("fees_description", "£1 a session".into()),
        ("schedule_days", "0:TU".into()),
        ("schedule_days", "0:TH".into()),
        ("schedule_opens", "09:15".into()),
        ("schedule_closes", "11:45".into()),
        ("schedule_days", "1:SA".into()),
        ("schedule_opens", "13:00".into()),
        ("schedule_closes", "15:00".into()),
        ("address_1", "7 Proposal Street".into()),
        ("city", "Birmingham".into()),
        ("postcode", "B16 8HA".into()),
        ("accessibility", "Lift to every floor".into()),
        ("needs", "counselling".into()),
        ("needs", "youth-activities".into()),
        ("languages", "English, Tigrinya".into()),
    ]
}

/// The id of the first change waiting on the approver's workspace.
async fn first_waiting(app: &TestApp, approver: &Session) -> String {
    let workspace = text(approver.get(app, "/directory/manage").await).await;
    workspace
        .split("/directory/manage/changes/")
        .nth(1)
        .expect("a change waits")
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

async fn every_field_is_proposed_reviewed_side_by_side_and_approved(backend: Backend) {
    let app = spawn_app(backend).await;
    let listing = vcs_listing(&app).await;
    let vcs = app.sign_in(VCS_WORKER).await;
    let path = format!("/directory/manage/services/{listing}");
    let form = text(vcs.get(&app, &path).await).await;
    assert!(form.contains("Days and times") && form.contains("Languages spoken"));

    // Bad input: 422, the summary naming the field, nothing lost.
    let mut bad = full_form(&vcs.csrf, "Renamed Group");
    bad.retain(|(k, _)| *k != "schedule_opens");
    bad.push(("schedule_opens", "25:99".into()));
    bad.push(("schedule_opens", "13:00".into()));
    let refused = vcs.post(&app, &path, &bad).await;
    assert_eq!(refused.status(), 422);
    let page = text(refused).await;
    assert!(page.contains("href=\"#schedule_opens_0\""), "{page}");
    assert!(page.contains("7 Proposal Street") && page.contains("Tigrinya"));

    let response = vcs
        .post(&app, &path, &full_form(&vcs.csrf, "Renamed Group"))
        .await;
    assert_eq!(response.status(), 303);
    // The proposer's list marks the listing as waiting.
    let own = text(vcs.get(&app, "/directory/manage").await).await;
    assert!(own.contains("Change waiting"), "marked as waiting");
    assert!(own.contains("Waiting for approval"));

    let connector = app.sign_in(CONNECTOR).await;
    let change = first_waiting(&app, &connector).await;
    let review = text(
        connector
            .get(&app, &format!("/directory/manage/changes/{change}/review"))
            .await,
    )
    .await;
    let table = review
        .split("id=\"side-by-side\"")
        .nth(1)
        .expect("a side-by-side table")
        .split("</table>")
        .next()
        .unwrap();
    // Every field, with its new value beside the old.
    for (field, new) in [
        ("Name", "Renamed Group"),
        ("What the service is", "Open to every family, no referral."),
        ("Phone", "0121 496 0999"),
        ("Email", "new@example.org"),
        ("Website", "https://new.example.org"),
        ("Ages", "3 to 15"),
        ("Cost", "£1 a session"),
        (
            "Days and times",
            "Tuesday and Thursday 09:15 to 11:45; Saturday 13:00 to 15:00",
        ),
        ("Address", "7 Proposal Street, Birmingham, B16 8HA"),
        ("Accessibility", "Lift to every floor"),
        ("Needs it helps with", "Counselling"),
        ("Languages", "English, Tigrinya"),
    ] {
        let row = table
            .split("<tr class=\"govuk-table__row\">")
            .find(|r| r.contains(&format!(">{field}</th>")))
            .unwrap_or_else(|| panic!("no row for {field}: {table}"));
        let cells: Vec<&str> = row.split("<td").skip(1).collect();
        assert_eq!(cells.len(), 2, "{field}: before and after");
        assert!(
            cells[1].contains(&new.replace('&', "&amp;").replace('\'', "&#39;"))
                || cells[1].contains(new),
            "{field}: {row}"
        );
        assert_ne!(cells[0], cells[1], "{field}");
    }
    let response = connector
        .post(
            &app,
            &format!("/directory/manage/changes/{change}/approve"),
            &[("csrf_token", &connector.csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);

    // On the public page, each field as proposed.
    let public = text(
        client()
            .get(app.url(&format!("/find-support/services/{listing}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for expected in [
        "Renamed Group",
        "0121 496 0999",
        "Tuesday and Thursday, 09:15 to 11:45",
        "Saturday, 13:00 to 15:00",
        "7 Proposal Street",
        "B16 8HA",
        "Lift to every floor",
        "Tigrinya",
        "Youth activities",
        "3 to 15 years",
        "£1 a session",
    ] {
        assert!(public.contains(expected), "{expected} on the public page");
    }
    // And the search finds it by its new need.
    let found = text(
        client()
            .get(app.url("/find-support?need=counselling&locality=ladywood"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(found.contains(&listing.to_string()));
}

async fn a_rejection_needs_a_reason_the_proposer_sees(backend: Backend) {
    let app = spawn_app(backend).await;
    let listing = vcs_listing(&app).await;
    let vcs = app.sign_in(VCS_WORKER).await;
    let path = format!("/directory/manage/services/{listing}");
    let response = vcs
        .post(&app, &path, &full_form(&vcs.csrf, "A Name Nobody Wants"))
        .await;
    assert_eq!(response.status(), 303);
    let connector = app.sign_in(CONNECTOR).await;
    let change = first_waiting(&app, &connector).await;
    let reject = format!("/directory/manage/changes/{change}/reject");
    let refused = connector
        .post(
            &app,
            &reject,
            &[("csrf_token", connector.csrf.as_str()), ("reason", "  ")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(text(refused).await.contains("href=\"#reason\""));
    let response = connector
        .post(
            &app,
            &reject,
            &[
                ("csrf_token", connector.csrf.as_str()),
                (
                    "reason",
                    "The provider told us the group keeps its old name",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let own = text(vcs.get(&app, "/directory/manage").await).await;
    let proposals = own.split("id=\"proposals\"").nth(1).expect("proposals");
    assert!(proposals.contains("Rejected"));
    assert!(proposals.contains("The provider told us the group keeps its old name"));
    assert!(!own.contains("Change waiting"));
    let public = text(
        client()
            .get(app.url(&format!("/find-support/services/{listing}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!public.contains("A Name Nobody Wants"));
    // The gate saw the rejection.
    let audit = app.audit_of(&format!("listing:{listing}")).await;
    assert!(
        audit
            .iter()
            .any(|(actor, action, outcome)| actor == CONNECTOR
                && action == "update"
                && outcome == "allowed")
    );
}

async fn a_new_listing_is_proposed_and_approved(backend: Backend) {
    let app = spawn_app(backend).await;
    let vcs = app.sign_in(VCS_WORKER).await;
    let form = text(vcs.get(&app, "/directory/manage/new").await).await;
    assert!(form.contains("Propose a new listing"));
    // Without a locality: 422 naming it.
    let mut pairs = full_form(&vcs.csrf, "Ladywood Sewing Circle");
    let refused = vcs.post(&app, "/directory/manage/new", &pairs).await;
    assert_eq!(refused.status(), 422);
    assert!(text(refused).await.contains("href=\"#locality\""));
    pairs.push(("locality", "ladywood".into()));
    let response = vcs.post(&app, "/directory/manage/new", &pairs).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/directory/manage?done=proposed"
    );
    let public = text(
        client()
            .get(app.url("/find-support?q=sewing"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        !public.contains("Ladywood Sewing Circle"),
        "not public before approval"
    );

    let connector = app.sign_in(CONNECTOR).await;
    let change = first_waiting(&app, &connector).await;
    let review = text(
        connector
            .get(&app, &format!("/directory/manage/changes/{change}/review"))
            .await,
    )
    .await;
    assert!(
        review.contains("What the new listing says") && review.contains("Ladywood Sewing Circle")
    );
    let response = connector
        .post(
            &app,
            &format!("/directory/manage/changes/{change}/approve"),
            &[("csrf_token", &connector.csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let public = text(
        client()
            .get(app.url("/find-support?q=sewing"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        public.contains("Ladywood Sewing Circle"),
        "public once approved"
    );
    // Kept by the proposer's organisation: the VCS worker can edit it now.
    let own = text(vcs.get(&app, "/directory/manage").await).await;
    assert!(own.contains("Ladywood Sewing Circle"));
    assert!(own.contains("Approved"));
}

async fn where_a_locality_has_no_connector_its_lead_approves(backend: Backend) {
    let app = spawn_app(backend).await;
    let listing = vcs_listing(&app).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    // While Ladywood has a connector, its lead approves nothing.
    assert_eq!(lead.get(&app, "/directory/manage").await.status(), 403);
    let vcs = app.sign_in(VCS_WORKER).await;
    let path = format!("/directory/manage/services/{listing}");
    assert_eq!(
        vcs.post(&app, &path, &full_form(&vcs.csrf, "Lead Approved Group"))
            .await
            .status(),
        303
    );
    let connector = app.sign_in(CONNECTOR).await;
    let change = first_waiting(&app, &connector).await;
    let review_path = format!("/directory/manage/changes/{change}/review");
    assert_eq!(lead.get(&app, &review_path).await.status(), 403);

    // The connector leaves: the change goes to the lead.
    sql(
        &app.db,
        "UPDATE users SET active = FALSE WHERE email = 'connector.ladywood@earlyhelp.test' RETURNING id",
    )
    .await;
    let workspace = text(lead.get(&app, "/directory/manage").await).await;
    assert!(workspace.contains("Changes waiting for your approval"));
    assert!(workspace.contains(&change));
    let review = text(lead.get(&app, &review_path).await).await;
    assert!(review.contains("Lead Approved Group"));
    let response = lead
        .post(
            &app,
            &format!("/directory/manage/changes/{change}/approve"),
            &[("csrf_token", &lead.csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let public = text(
        client()
            .get(app.url(&format!("/find-support/services/{listing}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(public.contains("Lead Approved Group"));
    // The lead approves; it does not edit listings in place.
    assert_eq!(lead.get(&app, &path).await.status(), 403);
}

/// The ids of the services linked from a results page, in order.
fn result_ids(html: &str) -> Vec<String> {
    html.split("href=\"/find-support/services/")
        .skip(1)
        .filter_map(|rest| rest.split(['"', '?']).next())
        .map(str::to_string)
        .collect()
}

fn result_names(html: &str) -> Vec<String> {
    html.split(
        "<h3 class=\"govuk-heading-s\"><a class=\"govuk-link\" href=\"/find-support/services/",
    )
    .skip(1)
    .filter_map(|rest| rest.split('>').nth(1))
    .filter_map(|rest| rest.split('<').next())
    .map(str::to_string)
    .collect()
}

async fn search(app: &TestApp, query: &str) -> String {
    let response = client()
        .get(app.url(&format!("/find-support?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    text(response).await
}

async fn word_forms_and_synonyms_find_services_once(backend: Backend) {
    let app = spawn_app(backend).await;
    // "foodbank" (one word) finds the food banks, through the seeded synonym.
    let page = search(&app, "q=foodbank").await;
    let names = result_names(&page);
    assert!(!names.is_empty(), "foodbank finds something");
    assert!(names[0].contains("Food Bank"), "{names:?}");
    // "uniform" and "uniforms" find the uniform exchanges.
    for q in ["uniform", "uniforms", "school+clothes"] {
        let page = search(&app, &format!("q={q}")).await;
        assert!(
            result_names(&page)
                .iter()
                .any(|n| n.contains("School Uniform Exchange")),
            "{q}"
        );
    }
    // A word form: "families" finds what says "family".
    let page = search(&app, "q=families&locality=ladywood").await;
    assert!(
        result_names(&page).iter().any(|n| n.contains("Family")),
        "families"
    );

    // No service twice: not by id, and not one provider's same-named listings.
    for query in [
        "need=domestic-abuse",
        "q=food",
        "need=parenting&locality=ladywood",
    ] {
        let mut page_number = 1;
        let mut ids = std::collections::HashSet::new();
        loop {
            let page = search(&app, &format!("{query}&page={page_number}")).await;
            for id in result_ids(&page) {
                assert!(ids.insert(id.clone()), "{id} twice for {query}");
            }
            if !page.contains("rel=\"next\"") || page_number > 20 {
                break;
            }
            page_number += 1;
        }
    }
    let page = search(&app, "need=domestic-abuse&locality=ladywood").await;
    let mut names = result_names(&page);
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "one group shown once: {names:?}");

    // A connector adds words that mean the same: the search finds them at once.
    let connector = app.sign_in(CONNECTOR).await;
    let bad = connector
        .post(
            &app,
            "/directory/manage/synonyms",
            &[
                ("csrf_token", connector.csrf.as_str()),
                ("phrases", "grocery"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(text(bad).await.contains("href=\"#phrases\""));
    assert!(result_names(&search(&app, "q=larder").await).is_empty());
    let added = connector
        .post(
            &app,
            "/directory/manage/synonyms",
            &[
                ("csrf_token", connector.csrf.as_str()),
                ("phrases", "Community Pantry, larder"),
            ],
        )
        .await;
    assert_eq!(added.status(), 303);
    let page = search(&app, "q=larder").await;
    assert!(
        result_names(&page)
            .iter()
            .any(|n| n.contains("Community Pantry")),
        "synonym added"
    );
    let synonyms = text(connector.get(&app, "/directory/manage/synonyms").await).await;
    assert!(
        synonyms.contains("foodbank, food bank") && synonyms.contains("community pantry, larder")
    );
    // Nobody but a connector keeps them.
    let vcs = app.sign_in(VCS_WORKER).await;
    assert_eq!(
        vcs.get(&app, "/directory/manage/synonyms").await.status(),
        403
    );
}

async fn domestic_abuse_pages_carry_exit_this_page_and_back_keeps_the_search(backend: Backend) {
    let app = spawn_app(backend).await;
    const EXIT: &str = "govuk-exit-this-page";
    let page = search(&app, "need=domestic-abuse").await;
    assert!(page.contains(EXIT) && page.contains("href=\"https://www.bbc.co.uk/weather\""));
    let food = search(&app, "q=food+bank").await;
    assert!(!food.contains(EXIT), "not on other pages");
    // The service's own page, reached from the results: exit, and back to this very search.
    let link = page
        .split("href=\"/find-support/services/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(link.contains("back="), "{link}");
    let service = text(
        client()
            .get(app.url(&format!("/find-support/services/{link}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(service.contains(EXIT));
    let back = service
        .split("class=\"govuk-back-link\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        back.starts_with("/find-support?") && back.contains("need=domestic-abuse"),
        "{back}"
    );
    // Another site is never the way back.
    let id = link.split('?').next().unwrap();
    for evil in [
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2Fsign-in",
    ] {
        let page = text(
            client()
                .get(app.url(&format!("/find-support/services/{id}?back={evil}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            page.contains("href=\"/find-support\" class=\"govuk-back-link\""),
            "{evil}"
        );
    }
    // A bad filter: 422 naming it, filters unfolded, the words kept.
    let response = client()
        .get(app.url("/find-support?q=food&age=old"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let page = text(response).await;
    assert!(page.contains("href=\"#age\"") && page.contains("value=\"food\""));
    assert!(page.contains("<details class=\"govuk-details eh-filters\" open>"));
}

async fn the_self_referral_gives_a_reference_and_what_happens_next(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = client();
    let html = text(public.get(app.url("/self-referral")).send().await.unwrap()).await;
    let csrf = csrf_in(&html);
    // Every field the form has, as a parent fills it in: the form's own names and values.
    let mut pairs: Vec<(String, String)> = vec![("csrf_token".into(), csrf)];
    for (name, value) in [
        ("member_1_given_name", "Noah"),
        ("member_1_family_name", "Refamily"),
        ("member_1_date_of_birth-day", "3"),
        ("member_1_date_of_birth-month", "2"),
        ("member_1_date_of_birth-year", "2014"),
        ("member_1_relationship", "child"),
        ("address", "3 Form Street"),
        ("postcode", "B16 8HA"),
        ("summary", "We need some help"),
        ("contact", "07700 900456"),
        ("consent_given_by", "Mother"),
        ("consent_date-day", "1"),
        ("consent_date-month", "11"),
        ("consent_date-year", "2026"),
    ] {
        pairs.push((name.into(), value.into()));
    }
    // Choices: the first offered value of each radio and checkbox group.
    for group in ["reasons", "need_level", "share"] {
        if let Some(value) = html
            .split(&format!("name=\"{group}\""))
            .nth(1)
            .and_then(|rest| rest.split("value=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
        {
            pairs.push((group.into(), value.into()));
        }
    }
    let response = public
        .post(app.url("/self-referral"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = text(response).await;
    let reference = page
        .split("id=\"reference\">")
        .nth(1)
        .expect("a reference number")
        .split('<')
        .next()
        .unwrap();
    assert!(
        reference.starts_with("EH-") && reference.len() == 12,
        "{reference}"
    );
    assert!(page.contains("What happens next"));
}

/// In a browser: a VCS worker proposes a new opening time; the connector sees it beside the
/// old ones and rejects it with a reason, which the worker then reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_rejects_a_proposed_schedule_in_a_browser() {
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let listing = vcs_listing(&app).await;
    crate::browser::sign_in(&browser, &app, VCS_WORKER).await;
    let driver = &browser.driver;
    driver
        .goto(app.url(&format!("/directory/manage/services/{listing}")))
        .await
        .unwrap();
    browser.wait_for_heading("Edit listing").await;
    crate::browser::assert_accessible(&browser, "the listing form").await;
    // The blank row after the listing's own opening time.
    browser
        .click(By::Css("label[for='schedule_days_1-7']"))
        .await;
    browser.fill(By::Id("schedule_opens_1"), "14:00").await;
    browser.fill(By::Id("schedule_closes_1"), "15:30").await;
    browser.screenshot("listing-proposal").await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser.wait_for_heading("Directory listings").await;
    browser
        .wait_for_text(By::Id("proposals"), "Waiting for approval")
        .await;
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    crate::browser::sign_in(&browser, &app, CONNECTOR).await;
    driver.goto(app.url("/directory/manage")).await.unwrap();
    browser.wait_for_heading("Directory listings").await;
    browser.click(By::PartialLinkText("Review")).await;
    browser.wait_for_heading("Review the change").await;
    browser
        .wait_for_text(By::Id("side-by-side"), "Sunday 14:00 to 15:30")
        .await;
    let row = driver
        .find(By::XPath(
            "//table[@id='side-by-side']//tr[th[normalize-space()='Days and times']]",
        ))
        .await
        .unwrap();
    let cells = row.find_all(By::Tag("td")).await.unwrap();
    let before = cells[0].text().await.unwrap();
    let after = cells[1].text().await.unwrap();
    assert!(
        !before.contains("Sunday") && after.contains("Sunday 14:00 to 15:30"),
        "{before} | {after}"
    );
    crate::browser::assert_accessible(&browser, "the side-by-side review").await;
    browser.screenshot("listing-review-side-by-side").await;
    // Rejecting without a reason is refused, with the summary naming the field.
    browser
        .click(By::Css("form[action$='/reject'] button"))
        .await;
    browser
        .wait_for_text(By::Css(".govuk-error-summary"), "Enter why")
        .await;
    crate::browser::assert_accessible(&browser, "the review with an error").await;
    browser
        .fill(
            By::Id("reason"),
            "They open on Sundays only in the holidays",
        )
        .await;
    browser
        .click(By::Css("form[action$='/reject'] button"))
        .await;
    browser.wait_for_heading("Directory listings").await;
    browser.click(By::Css(".eh-masthead form button")).await;
    browser.wait_for_heading("Sign in to earlyhelp").await;

    crate::browser::sign_in(&browser, &app, VCS_WORKER).await;
    driver.goto(app.url("/directory/manage")).await.unwrap();
    browser
        .wait_for_text(
            By::Id("proposals"),
            "They open on Sundays only in the holidays",
        )
        .await;
    crate::browser::assert_accessible(&browser, "the proposer's list").await;
    browser.screenshot("listing-rejected-with-reason").await;
    browser.quit().await;
}

/// In a browser the size of a phone: a parent finds "foodbank" with the first result on the
/// first screen, then leaves a page about domestic abuse with "Exit this page" by keyboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_on_a_phone_finds_a_foodbank_and_exits_a_domestic_abuse_page() {
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let driver = &browser.driver;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    driver.goto(app.url("/find-support")).await.unwrap();
    browser.wait_for_heading("Find support near you").await;
    browser.fill(By::Id("q"), "foodbank").await;
    browser
        .click(By::Css("form[role=search] button[type=submit]"))
        .await;
    browser
        .wait_for_text(By::Id("results-heading"), "found")
        .await;
    let (top, height): (f64, f64) = driver
        .execute(
            "const r = document.querySelector('.eh-result h3').getBoundingClientRect(); \
             return [r.bottom, window.innerHeight];",
            Vec::new(),
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(
        top <= height,
        "the first result ends at {top} px, below the screen of {height} px"
    );
    let first = driver
        .find(By::Css(".eh-result h3"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("Food Bank"), "{first}");
    crate::browser::assert_accessible(&browser, "results on a phone").await;
    browser.screenshot("phone-foodbank-results").await;

    driver
        .goto(app.url("/find-support?need=domestic-abuse"))
        .await
        .unwrap();
    browser.wait_for_heading("Find support near you").await;
    browser.click(By::Css(".eh-result h3 a")).await;
    browser
        .wait_for_text(By::Css(".govuk-exit-this-page"), "Exit this page")
        .await;
    crate::browser::assert_accessible(&browser, "a domestic abuse service on a phone").await;
    browser.screenshot("phone-exit-this-page").await;
    // "Back to search" leads to the same search.
    let back = driver
        .find(By::Css(".govuk-back-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(back.contains("need=domestic-abuse"), "{back}");
    // Reached by keyboard, and it leaves.
    let exit = driver
        .find(By::Css(".govuk-exit-this-page__button"))
        .await
        .unwrap();
    assert_eq!(
        exit.attr("href").await.unwrap().as_deref(),
        Some("https://www.bbc.co.uk/weather")
    );
    let mut reached = false;
    for _ in 0..40 {
        driver
            .active_element()
            .await
            .unwrap()
            .send_keys(Key::Tab)
            .await
            .unwrap();
        let active = driver.active_element().await.unwrap();
        if active
            .class_name()
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("govuk-exit-this-page__button")
        {
            reached = true;
            active.send_keys(Key::Enter).await.unwrap();
            break;
        }
    }
    assert!(reached, "Exit this page is reached with the Tab key");
    let here = app.url("");
    for _ in 0..100 {
        let url = driver.current_url().await.unwrap().to_string();
        if !url.starts_with(&here) {
            return browser.quit().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("Exit this page did not leave the site");
}

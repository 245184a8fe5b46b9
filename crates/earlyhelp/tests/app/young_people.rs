//! The young people's section of the Local Offer: services for 11 to 25 year olds, their
//! survey, and reviews that show only once the listing's community connector approves them.
//! On both databases, and a young person finding a service on a phone in a real browser.

use crate::cases::post_form;
use crate::helpers::*;
use crate::surveys::strings;
use earlyhelp_storage::Db;
use uuid::Uuid;

crate::on_both_backends!(
    the_section_shows_services_for_young_people_and_their_survey,
    a_review_is_not_public_until_the_connector_approves_it,
    a_lead_does_not_see_reviews_of_a_locality_with_a_connector,
);

const CONNECTOR: &str = "connector.ladywood@earlyhelp.test";

/// A listing in Ladywood, whose connector moderates its reviews.
async fn ladywood_listing(db: &Db) -> Uuid {
    let sql = "SELECT id FROM directory_services WHERE locality_slug = $1 \
               AND merged_into IS NULL AND status = 'active' ORDER BY id LIMIT 1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind("ladywood")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

/// The (minimum, maximum) ages of listing `id`.
async fn ages_of(db: &Db, id: Uuid) -> (Option<i64>, Option<i64>) {
    let sql = "SELECT minimum_age, maximum_age FROM directory_services WHERE id = $1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql).bind(id).fetch_one(pool).await.unwrap()
    })
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let answer = client().get(app.url(path)).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// The listings a results page links to.
fn listed(html: &str) -> Vec<Uuid> {
    html.split("href=\"/find-support/young-people/services/")
        .skip(1)
        .filter_map(|s| Uuid::parse_str(&s[..36]).ok())
        .collect()
}

async fn the_section_shows_services_for_young_people_and_their_survey(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, front) = page(&app, "/find-support").await;
    assert_eq!(status, 200);
    assert!(front.contains("href=\"/find-support/young-people\""));

    let (status, section) = page(&app, "/find-support/young-people").await;
    assert_eq!(status, 200);
    assert!(section.contains(earlyhelp::demo_budgeting::YOUNG_SURVEY_TITLE));
    let all = listed(&section);
    assert!(!all.is_empty(), "the demo has services for young people");
    for id in &all {
        let (min, max) = ages_of(&app.db, *id).await;
        assert!(
            min.unwrap_or(0) <= 25 && max.unwrap_or(200) >= 11,
            "{id} is for {min:?} to {max:?}"
        );
    }
    // One age: every service listed takes a 17 year old.
    let (_, seventeen) = page(&app, "/find-support/young-people?age=17").await;
    for id in listed(&seventeen) {
        let (min, max) = ages_of(&app.db, id).await;
        assert!(min.unwrap_or(0) <= 17 && max.unwrap_or(200) >= 17);
    }
    // A service only for under-fives is not in the section.
    let toddlers: Vec<String> = strings(
        &app.db,
        "SELECT name FROM directory_services WHERE maximum_age < 5 AND name <> $1",
        "",
    )
    .await;
    for name in toddlers.iter().take(3) {
        let found = client()
            .get(app.url("/find-support/young-people"))
            .query(&[("q", name)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !found.contains(&format!(">{name}</a>")),
            "{name} is for under-fives"
        );
    }
    // An age outside 11 to 25 is named.
    let (status, wrong) = page(&app, "/find-support/young-people?age=40").await;
    assert_eq!(status, 422);
    assert!(wrong.contains("Choose your age from the list"));
}

async fn a_review_is_not_public_until_the_connector_approves_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let listing = ladywood_listing(&app.db).await;
    let path = format!("/find-support/young-people/services/{listing}");
    let young = client();
    let form = young
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form);
    // Without the cookie's twin: refused.
    let forged = client()
        .post(app.url(&path))
        .form(&[
            ("csrf_token", "forged"),
            ("rating", "5"),
            ("words", "Great"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // No rating: named.
    let missing = young
        .post(app.url(&path))
        .form(&[("csrf_token", csrf.as_str()), ("words", "Great")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 422);
    assert!(missing.text().await.unwrap().contains("href=\"#rating\""));
    let words = "Brilliant youth worker, ring me on 07700 900123";
    let sent = young
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("rating", "4"),
            ("words", words),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert!(
        sent.text()
            .await
            .unwrap()
            .contains("Thanks for your review")
    );
    let (_, public) = page(&app, &path).await;
    assert!(
        !public.contains("Brilliant youth worker"),
        "not public before approval"
    );

    // Only approvers read the queue; the connector sees the flag.
    let practitioner = app.sign_in(PRACTITIONER).await;
    let refused = practitioner.get(&app, "/directory/manage/reviews").await;
    assert_eq!(refused.status(), 403);
    let connector = app.sign_in(CONNECTOR).await;
    let queue = connector
        .get(&app, "/directory/manage/reviews")
        .await
        .text()
        .await
        .unwrap();
    assert!(queue.contains(words), "{queue}");
    assert!(queue.contains("phone number"), "flagged: {queue}");
    // The queue lists the demo's waiting reviews too: ours is the form before our words.
    let review: Uuid = {
        let marker = "action=\"/directory/manage/reviews/";
        let ours = queue.find(words).unwrap();
        let start = queue[..ours].rfind(marker).unwrap() + marker.len();
        Uuid::parse_str(&queue[start..start + 36]).unwrap()
    };
    // A practitioner cannot approve it either.
    let not_theirs = post_form(
        &practitioner,
        &app,
        &format!("/directory/manage/reviews/{review}"),
        &[("decision", "approve"), ("body", "x")],
    )
    .await;
    assert_eq!(not_theirs.status(), 403);
    let approved = post_form(
        &connector,
        &app,
        &format!("/directory/manage/reviews/{review}"),
        &[("decision", "approve"), ("body", "Brilliant youth worker")],
    )
    .await;
    assert_eq!(approved.status(), 303);
    let (_, public) = page(&app, &path).await;
    assert!(public.contains("Brilliant youth worker"), "{public}");
    assert!(
        !public.contains("07700"),
        "the connector took the number out"
    );
    assert!(public.contains("4 out of 5"));
    let again = post_form(
        &connector,
        &app,
        &format!("/directory/manage/reviews/{review}"),
        &[("decision", "reject"), ("body", "")],
    )
    .await;
    assert_eq!(again.status(), 409, "already moderated");
}

/// A young person finds a service from the Local Offer's front page on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_young_person_finds_a_service_on_a_phone() {
    use crate::browser::assert_accessible;
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let driver = &browser.driver;
    driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    driver.goto(app.url("/find-support")).await.unwrap();
    browser.click(By::Id("young-people-link")).await;
    browser.wait_for_heading("Support for young people").await;
    assert_accessible(&browser, "support for young people").await;
    let age = driver.find(By::Id("age")).await.unwrap();
    age.find(By::Css("option[value='16']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .click(By::Css("form[action='/find-support/young-people'] button"))
        .await;
    browser
        .wait_for_text(By::Id("results-heading"), "for you")
        .await;
    let width: i64 = driver
        .execute("return document.documentElement.scrollWidth;", Vec::new())
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(width <= 390, "no sideways scrolling on a phone: {width}");
    browser.click(By::Css(".eh-result h3 a")).await;
    browser
        .wait_for_text(By::Id("main-content"), "What young people say")
        .await;
    assert_accessible(&browser, "a service for young people").await;
    browser.screenshot("young-person-found-a-service").await;
    browser.quit().await;
}

/// A lead of Ladywood (which has a connector) and of a locality without one moderates only the
/// latter's reviews: the queue is decided locality by locality, not by their first.
async fn a_lead_does_not_see_reviews_of_a_locality_with_a_connector(backend: Backend) {
    let app = spawn_app(backend).await;
    // A second locality for the lead, sorting before Ladywood, with no connector.
    let sql = "INSERT INTO user_localities (user_id, locality_slug) \
               SELECT u.id, l.slug FROM users u, localities l WHERE u.email = $1 \
               AND l.slug = (SELECT MIN(slug) FROM localities WHERE slug < 'ladywood')";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(sql)
            .bind(LOCALITY_LEAD)
            .execute(pool)
            .await
            .unwrap();
    });
    let listing = ladywood_listing(&app.db).await;
    let path = format!("/find-support/young-people/services/{listing}");
    let young = client();
    let form = young
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&form);
    let words = "The drop-in on Thursdays is great";
    let sent = young
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("rating", "5"),
            ("words", words),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let queue = lead.get(&app, "/directory/manage/reviews").await;
    assert_eq!(queue.status(), 200, "they moderate their other locality");
    assert!(!queue.text().await.unwrap().contains(words));
    let connector = app.sign_in(CONNECTOR).await;
    let theirs = connector.get(&app, "/directory/manage/reviews").await;
    assert!(theirs.text().await.unwrap().contains(words));
}

//! The family page as a practitioner finds their way round it: the contents list with counts
//! and overdue flags, the success banner after a change, the chronology's filters, and the
//! GOV.UK date input refusing a bad date in the Design System's words; on both databases.

use crate::cases::{open_case, post_form};
use crate::helpers::*;

crate::on_both_backends!(
    a_bad_date_is_refused_in_the_design_systems_words,
    each_change_shows_its_own_success_banner,
    the_contents_counts_and_flags_the_overdue,
    the_chronology_is_newest_first_and_filters_by_kind_and_author,
    the_pages_one_statement_reads_what_each_sections_own_would,
    many_pages_at_once_all_come_back,
);

async fn html_of(session: &Session, app: &TestApp, path: &str) -> String {
    let response = session.get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn a_bad_date_is_refused_in_the_design_systems_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let lead = app.sign_in(PRACTITIONER).await;
    let action = |day: &'static str, month: &'static str, year: &'static str| {
        [
            ("goal", "Kai in school"),
            ("plan_action", "Walking bus"),
            ("owner", "Mum"),
            ("due_date-day", day),
            ("due_date-month", month),
            ("due_date-year", year),
        ]
    };
    let actions = format!("/families/{family}/actions");
    for (form, message) in [
        (action("31", "", "2027"), "Due date must include a month"),
        (action("", "", ""), "Enter the due date"),
        (action("31", "2", "2027"), "Due date must be a real date"),
        (
            action("1", "2", "27"),
            "Due date must include a year with 4 numbers",
        ),
    ] {
        let response = post_form(&lead, &app, &actions, &form).await;
        assert_eq!(response.status(), 422, "{message}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{message}");
        // The summary links to the boxes, and what was typed is kept in them.
        assert!(html.contains("href=\"#due_date\""), "{message}");
        assert!(html.contains("id=\"due_date-error\""), "{message}");
        assert!(
            html.contains(&format!(
                "name=\"due_date-day\" type=\"text\" inputmode=\"numeric\" value=\"{}\"",
                form[3].1
            )),
            "{message}"
        );
    }
    let review = post_form(
        &lead,
        &app,
        &format!("/families/{family}/review"),
        &[
            ("next_review-day", "1"),
            ("next_review-month", "1"),
            ("next_review-year", "2020"),
        ],
    )
    .await;
    assert_eq!(review.status(), 422);
    assert!(
        review
            .text()
            .await
            .unwrap()
            .contains("Date of the next review must be today or in the future")
    );
    // A request for a child not yet born is refused: a date of birth must be in the past.
    let mut request = crate::cases::form_pairs(&lead.csrf, "B16 8HA");
    for (key, value) in &mut request {
        if *key == "member_1_date_of_birth-year" {
            *value = "2099".into();
        }
    }
    let refused = lead.post(&app, "/requests/new", &request).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Date of birth must be in the past")
    );
}

async fn each_change_shows_its_own_success_banner(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let lead = app.sign_in(PRACTITIONER).await;
    let response = post_form(
        &lead,
        &app,
        &format!("/families/{family}/notes"),
        &[("body", "Spoke to mum on the phone")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, format!("/families/{family}?done=note#notes"));
    let html = html_of(&lead, &app, &to).await;
    assert!(html.contains("govuk-notification-banner--success"));
    assert!(html.contains("Your note is added to the chronology."));
    // The section changed is open; the others are not.
    let open: Vec<&str> = html
        .split("<details class=\"govuk-details eh-section\" open>")
        .skip(1)
        .collect();
    assert_eq!(open.len(), 1);
    assert!(open[0].contains("id=\"notes-heading\">Chronology</h2>"));

    let response = post_form(
        &lead,
        &app,
        &format!("/families/{family}/review"),
        &[
            ("next_review-day", "1"),
            ("next_review-month", "1"),
            ("next_review-year", "2030"),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=review#plan"), "{to}");
    assert!(
        html_of(&lead, &app, &to)
            .await
            .contains("The review is recorded, with the date of the next one.")
    );
    // The banner's words are the server's own: an unknown or hostile name shows no banner.
    let html = html_of(
        &lead,
        &app,
        &format!("/families/{family}?done=%3Cscript%3Ealert(1)%3C/script%3E"),
    )
    .await;
    assert!(!html.contains("govuk-notification-banner"));
    assert!(!html.contains("<script>alert"));
}

async fn the_contents_counts_and_flags_the_overdue(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let lead = app.sign_in(PRACTITIONER).await;
    let page = format!("/families/{family}");
    for (goal, day, year) in [("Late", "10", "2026"), ("Later", "10", "2099")] {
        let response = post_form(
            &lead,
            &app,
            &format!("{page}/actions"),
            &[
                ("goal", goal),
                ("plan_action", "Walking bus"),
                ("owner", "Mum"),
                ("due_date-day", day),
                ("due_date-month", "1"),
                ("due_date-year", year),
            ],
        )
        .await;
        assert_eq!(response.status(), 303);
    }
    let html = html_of(&lead, &app, &page).await;
    let contents = html
        .split("id=\"contents\"")
        .nth(1)
        .and_then(|rest| rest.split("</ol>").next())
        .expect("the contents list");
    assert!(contents.contains(
        "<a class=\"govuk-link\" href=\"#plan\">Our Family Plan</a> <span class=\"govuk-body-s\">(2 actions)</span> <strong class=\"govuk-tag govuk-tag--red\">1 action overdue</strong>"
    ), "{contents}");
    assert!(
        contents.contains(
            "href=\"#members\">Family members</a> <span class=\"govuk-body-s\">(2 people)</span>"
        ),
        "{contents}"
    );
    assert!(
        contents.contains("href=\"#notes\">Chronology</a>"),
        "{contents}"
    );
    // Flagged where it is too: on the action, and on the plan section's heading.
    assert!(
        html.contains(
            "10 January 2026 <strong class=\"govuk-tag govuk-tag--red\">Overdue</strong>"
        )
    );
    assert!(html.contains("10 January 2099</td>"));
    assert!(html.contains("id=\"plan-summary\">2 actions <strong class=\"govuk-tag govuk-tag--red\">1 action overdue</strong>"));
}

async fn the_chronology_is_newest_first_and_filters_by_kind_and_author(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let page = format!("/families/{family}");
    let practitioner = app.sign_in(PRACTITIONER).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    for (who, body) in [
        (&practitioner, "First, from the practitioner"),
        (&lead, "Second, from the lead"),
        (&practitioner, "Third, from the practitioner"),
    ] {
        let response = post_form(who, &app, &format!("{page}/notes"), &[("body", body)]).await;
        assert_eq!(response.status(), 303);
    }
    let chronology = |html: &str| {
        html.split("id=\"chronology\"")
            .nth(1)
            .and_then(|rest| rest.split("</ol>").next())
            .expect("the chronology")
            .to_string()
    };
    let all = chronology(&html_of(&practitioner, &app, &page).await);
    let (first, second, third) = (
        all.find("First, from").unwrap(),
        all.find("Second, from").unwrap(),
        all.find("Third, from").unwrap(),
    );
    assert!(third < second && second < first, "newest first: {all}");
    assert!(all.contains("Event"), "the triage left an event: {all}");

    let notes = chronology(&html_of(&practitioner, &app, &format!("{page}?kind=note")).await);
    assert_eq!(notes.matches("<li").count(), 3, "{notes}");
    assert!(!notes.contains("Event"), "{notes}");
    let events = chronology(&html_of(&practitioner, &app, &format!("{page}?kind=event")).await);
    assert!(
        events.contains("Event") && !events.contains("from the"),
        "{events}"
    );

    let name = "Demo Locality Lead";
    let html = html_of(
        &practitioner,
        &app,
        &format!("{page}?author={}", name.replace(' ', "+")),
    )
    .await;
    let theirs = chronology(&html);
    assert!(theirs.contains("Second, from the lead"), "{theirs}");
    assert!(!theirs.contains("from the practitioner"), "{theirs}");
    // The choice is kept in the filter, and the chronology opened to show it.
    assert!(html.contains(&format!("<option value=\"{name}\" selected>")));
    assert!(html.contains("id=\"notes-summary\">"));
    assert!(
        html.contains(" shown"),
        "the count says how many the filter shows"
    );
    let none = html_of(&practitioner, &app, &format!("{page}?author=Nobody")).await;
    assert!(none.contains("No entries match."));
}

/// The page's sections as each was read on its own before they were folded into one statement
/// (`family_page::read`), to hold the one statement to them field by field.
const REFERRALS: &str = "SELECT id, reference, service_name, referrer_name, state, outcome, \
     decline_reason, created_micros FROM referrals WHERE family_id = $1 ORDER BY created_micros DESC";
const PAYMENTS: &str = "SELECT p.id, p.reference, p.programme_id, g.name AS programme_name, \
     p.family_id, p.locality_slug, l.name AS locality_name, p.amount_pence, \
     g.approval_threshold_pence, p.purposes, p.reason, p.notes, p.crisis, p.state, \
     p.requested_by, p.requester_name, p.requested_micros, p.decider_name, p.decided_micros, \
     p.refusal_reason, p.method, p.voucher_provider, p.voucher_code, p.paid_on, p.payer_name \
     FROM payments p JOIN programmes g ON g.id = p.programme_id \
     JOIN localities l ON l.slug = p.locality_slug \
     WHERE p.family_id = $1 ORDER BY p.requested_micros DESC";
const REFERRERS: &str = "SELECT requester, contact, self_referral, reasons, created_micros \
     FROM support_requests WHERE family_id = $1 ORDER BY created_micros";

async fn all_of<T>(
    db: &earlyhelp_storage::Db,
    sql: &'static str,
    id: uuid::Uuid,
) -> serde_json::Value
where
    T: serde::Serialize
        + Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let rows: Vec<T> = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql).bind(id).fetch_all(pool).await.unwrap()
    });
    serde_json::to_value(rows).unwrap()
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

async fn the_pages_one_statement_reads_what_each_sections_own_would(backend: Backend) {
    use earlyhelp_domain::access::Action;
    use earlyhelp_storage::{asks, connections, family_page, gate, identifiers};
    use earlyhelp_storage::{measures, payments};
    // The demo city has every kind of row on some family, and payments' flag both ways (no
    // family there came from a self-referral; that flag is read by the same decoder).
    let app = spawn_app(backend).await;
    let ids: Vec<uuid::Uuid> = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar("SELECT id FROM families")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let mut seen = [0usize; 8];
    for id in ids {
        let ask = gate::Ask {
            id,
            action: Action::Read,
            purpose: "test: the page's reads",
        };
        let mut authorised = gate::operator_on::<gate::FamilyId>(&app.db, ask)
            .await
            .unwrap();
        let page = family_page::read(&mut authorised).await.unwrap().unwrap();
        let record = earlyhelp_storage::cases::family(&mut authorised)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(json(&page.record), json(&record), "{id}");
        let outcomes = measures::outcomes(&mut authorised).await.unwrap();
        assert_eq!(json(&page.outcomes), json(&outcomes), "{id}");
        let closed_on = measures::closed_on(&mut authorised).await.unwrap();
        assert_eq!(measures::day_of(page.closed_micros), closed_on, "{id}");
        let not_shared = identifiers::of_family(&mut authorised).await.unwrap();
        assert_eq!(json(&page.not_shared), json(&not_shared), "{id}");
        authorised.tx.commit().await.unwrap();
        let referrals = all_of::<connections::ReferralLine>(&app.db, REFERRALS, id).await;
        assert_eq!(json(&page.referrals), referrals, "{id}");
        let payments = all_of::<payments::PaymentRow>(&app.db, PAYMENTS, id).await;
        assert_eq!(json(&page.payments), payments, "{id}");
        let referrers = all_of::<asks::Referrer>(&app.db, REFERRERS, id).await;
        assert_eq!(json(&page.referrers), referrers, "{id}");
        let listed = measures::list(&app.db).await.unwrap();
        assert_eq!(
            format!("{:?}", page.measures),
            format!("{listed:?}"),
            "{id}"
        );
        for (n, count) in [
            page.outcomes.len(),
            page.referrals.len(),
            page.payments.iter().filter(|p| p.crisis).count(),
            page.payments.iter().filter(|p| !p.crisis).count(),
            page.referrers.len(),
            page.not_shared.len(),
            page.measures.len(),
            usize::from(page.closed_micros.is_some()),
        ]
        .into_iter()
        .enumerate()
        {
            seen[n] += count;
        }
    }
    assert!(
        seen.iter().all(|&n| n > 0),
        "every section holds something on some family: {seen:?}"
    );
}

/// Family pages at once on a server whose pool has one connection, before it keeps a staff
/// list for the pickers: a page that held its permit's connection while it waited for another
/// would wait out the pool's timeout (under load, every connection so held deadlocks the pool).
async fn many_pages_at_once_all_come_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let db = earlyhelp_storage::Db::connect_pooled(&app.database_url, Some(1))
        .await
        .unwrap();
    let small = serve(db, app.database_url.clone()).await;
    let lead = small.sign_in(PRACTITIONER).await;
    let path = format!("/families/{family}");
    let pages = (0..24).map(|_| lead.get(&small, &path));
    for response in futures_util::future::join_all(pages).await {
        assert_eq!(response.status(), 200);
    }
}

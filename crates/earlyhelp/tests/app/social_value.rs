//! Social value reports: a provider's own people write them, the records fill in what it
//! delivered, commissioners read them as a page or a PDF, and nobody else sees them; on both
//! databases.

use crate::cases::post_form;
use crate::helpers::*;
use earlyhelp_storage::Db;

crate::on_both_backends!(a_provider_reports_its_social_value_to_commissioners);

async fn referrals_to(db: &Db, email: &str) -> i64 {
    const SQL: &str = "SELECT COUNT(*) FROM referrals r JOIN users u \
         ON u.organisation_id = r.receiving_organisation WHERE u.email = $1 \
         AND r.state <> 'entered_in_error' AND r.created_micros >= $2";
    let since = earlyhelp_storage::now_micros() - 400 * 86_400_000_000;
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(SQL)
            .bind(email)
            .bind(since)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn a_provider_reports_its_social_value_to_commissioners(backend: Backend) {
    let app = spawn_app(backend).await;
    let vcs = app.sign_in(VCS_WORKER).await;
    let today = earlyhelp_storage::cases::today();
    let from = (today - time::Duration::days(399)).to_string();
    let to = today.to_string();
    let mut fields = vec![
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("commissioned", "Food and family support in Ladywood"),
        (
            "narrative",
            "Our volunteers ran the pantry five days a week.",
        ),
        ("extra-volunteer_hours-quantity", "1200"),
        ("extra-volunteer_hours-proxy", "10"),
        ("extra-volunteer_hours-proxy_source", ""),
        ("case-0-title", "A father's winter"),
        ("case-0-story", "Food parcels, then a benefits check."),
    ];
    // A monetised line without its source, and a story without consent: both named.
    let refused = post_form(&vcs, &app, "/social-value/save", &fields).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    for field in ["extra-volunteer_hours-proxy_source", "case-0-consent"] {
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{field}: {html}"
        );
    }
    assert!(
        html.contains("Food parcels, then a benefits check."),
        "the story is kept"
    );

    fields.retain(|(name, _)| *name != "extra-volunteer_hours-proxy_source");
    fields.push((
        "extra-volunteer_hours-proxy_source",
        "Our own valuation, 2026",
    ));
    fields.push(("case-0-consent", "yes"));
    let saved = post_form(&vcs, &app, "/social-value/save", &fields).await;
    assert_eq!(saved.status(), 303);
    let page_path = saved.headers()["location"].to_str().unwrap().to_string();
    let page = vcs.get(&app, &page_path).await.text().await.unwrap();
    let referrals = referrals_to(&app.db, VCS_WORKER).await;
    assert!(
        referrals > 0,
        "the demo refers families to this organisation"
    );
    assert!(
        page.contains(&format!(
            "Referrals</dt><dd class=\"govuk-summary-list__value\">{referrals}<"
        )),
        "the records' count: {page}"
    );
    assert!(page.contains("£12,000"), "1,200 hours at £10");

    // Commissioners read it, as a page and a PDF; another organisation's people do not.
    let commissioner = app.sign_in(COMMISSIONER).await;
    let list = commissioner
        .get(&app, "/social-value")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&page_path), "{list}");
    let pdf = commissioner
        .get(&app, &format!("{page_path}/report.pdf"))
        .await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let id = page_path.trim_start_matches("/social-value/");
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(practitioner.get(&app, &page_path).await.status(), 403);
    // A commissioner may read but not change it.
    let changed = post_form(&commissioner, &app, "/social-value/save", &[("id", id)]).await;
    assert_eq!(changed.status(), 403);
    assert!(
        app.audit_of(&format!("social_value:{}", signed_org(&app).await))
            .await
            .iter()
            .any(|(actor, _, outcome)| actor == COMMISSIONER && outcome == "denied")
    );
}

/// The demo VCS worker's organisation.
async fn signed_org(app: &TestApp) -> uuid::Uuid {
    const SQL: &str = "SELECT organisation_id FROM users WHERE email = $1";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(SQL)
            .bind(VCS_WORKER)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

/// A VCS worker writes a report in a real browser and reads it back: each page checked by
/// axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_writes_its_report_in_a_real_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    sign_in(&browser, &app, VCS_WORKER).await;
    browser.click(By::LinkText("Social value")).await;
    browser.wait_for_heading("Social value reports").await;
    assert_accessible(&browser, "social value reports").await;
    browser.click(By::LinkText("Write a report")).await;
    browser.wait_for_heading("Social value report").await;
    assert_accessible(&browser, "social value: the form").await;
    browser
        .fill(By::Id("commissioned"), "Food and family support")
        .await;
    browser
        .fill(By::Id("extra-volunteer_hours-quantity"), "300")
        .await;
    browser.fill(By::Id("case-0-title"), "A winter").await;
    browser
        .fill(By::Id("case-0-story"), "Food parcels first.")
        .await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser
        .wait_for_text(
            By::ClassName("govuk-error-summary"),
            "Confirm the person agreed",
        )
        .await;
    assert_accessible(&browser, "social value: a story without consent").await;
    browser.click(By::Id("case-0-consent")).await;
    browser
        .click(By::Css("main form button[type=submit]"))
        .await;
    browser.wait_for_heading("Social value: ").await;
    assert_accessible(&browser, "social value: the report").await;
    browser.screenshot("social-value-report").await;
    browser.quit().await;
}

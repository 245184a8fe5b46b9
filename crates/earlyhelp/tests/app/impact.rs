//! The return on Early Help for each partner: the counts the page values are the records'
//! own, its downloads rerun to the same figures, a commissioner's change of deadweight moves
//! the return, and only aggregates are shown, to those who may see them; on both databases.

use crate::cases::post_form;
use crate::helpers::*;
use earlyhelp_storage::Db;

crate::on_both_backends!(
    the_impact_page_values_the_records_own_counts,
    a_commissioner_changes_deadweight_and_the_return_moves,
    only_aggregates_and_only_for_those_who_may_see_them,
    unit_values_load_by_csv_or_not_at_all,
);

const YEAR_MICROS: i64 = 365 * 86_400_000_000;

async fn scalar(db: &Db, sql: &'static str, since: i64) -> i64 {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).bind(since).fetch_one(pool).await.unwrap()
    })
}

/// The text of the element whose attribute `marker` is `name` (a count or a return).
fn cell(html: &str, marker: &str, name: &str) -> String {
    let tag = format!("{marker}=\"{name}\">");
    let at = html.find(&tag).unwrap_or_else(|| panic!("{tag} in {html}"));
    let rest = &html[at + tag.len()..];
    rest[..rest.find('<').unwrap()].to_string()
}

fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'").replace("&#39;", "'")
}

async fn the_impact_page_values_the_records_own_counts(backend: Backend) {
    let app = spawn_app(backend).await;
    let since = earlyhelp_storage::now_micros() - YEAR_MICROS;
    let children = scalar(
        &app.db,
        "SELECT COUNT(*) FROM family_members m JOIN families f ON f.id = m.family_id \
         WHERE m.relationship = 'child' AND f.closure_reason = 'needs_met' AND f.closed_micros >= $1",
        since,
    )
    .await;
    let connections = scalar(
        &app.db,
        "SELECT COUNT(*) FROM referrals WHERE state = 'completed' AND outcome = 'met' \
         AND updated_micros >= $1",
        since,
    )
    .await;
    assert!(children > 0 && connections > 0, "the demo has both");

    let commissioner = app.sign_in(COMMISSIONER).await;
    let html = unescape(
        &commissioner
            .get(&app, "/impact")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(
        cell(&html, "data-count", "Children kept out of care"),
        children.to_string()
    );
    let unvalued = &html[html.find("id=\"unvalued\"").expect("unvalued outcomes")..];
    assert!(
        unvalued.contains(&format!(
            "Connections to community support completed with the need met</th><td class=\"govuk-table__cell govuk-table__cell--numeric\">{connections}<"
        )),
        "{unvalued}"
    );

    // The model downloaded reruns to the figures in the CSV, partner by partner.
    let toml = commissioner
        .get(&app, "/impact/model.toml")
        .await
        .text()
        .await
        .unwrap();
    let appraisal = earlyhelp_cba::appraise(&earlyhelp_cba::parse(&toml).expect(&toml));
    let csv = commissioner
        .get(&app, "/impact.csv")
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), appraisal.by_agency.len() + 1, "{csv}");
    for (row, agency) in rows.iter().zip(&appraisal.by_agency) {
        assert_eq!(&row[0], agency.agency);
        let pv: f64 = row[3].parse().unwrap();
        assert!((pv - agency.pv_fiscal_benefits).abs() < 0.01, "{csv}");
    }
    let trust = appraisal
        .by_agency
        .iter()
        .find(|a| a.agency == "Birmingham Children's Trust")
        .unwrap();
    assert_eq!(
        cell(&html, "data-roi", "Birmingham Children's Trust"),
        format!("£{:.2}", trust.fiscal_roi.unwrap())
    );
}

async fn trust_return(app: &TestApp, session: &Session, query: &str) -> f64 {
    let html = unescape(
        &session
            .get(app, &format!("/impact{query}"))
            .await
            .text()
            .await
            .unwrap(),
    );
    cell(&html, "data-roi", "Birmingham Children's Trust")
        .trim_start_matches('£')
        .parse()
        .unwrap()
}

async fn a_commissioner_changes_deadweight_and_the_return_moves(backend: Backend) {
    let app = spawn_app(backend).await;
    let commissioner = app.sign_in(COMMISSIONER).await;
    let edit = commissioner
        .get(&app, "/impact/edit")
        .await
        .text()
        .await
        .unwrap();
    let id = {
        let at = edit.find("name=\"scenario\" value=\"").unwrap() + 23;
        edit[at..at + 36].to_string()
    };
    let before = trust_return(&app, &commissioner, &format!("?scenario={id}")).await;

    // Nonsense is refused, named by its field, and what was typed is kept.
    let refused = post_form(
        &commissioner,
        &app,
        "/impact/edit",
        &[
            ("scenario", &id),
            ("save_as", "this"),
            ("line-0-deadweight", "lots"),
            ("line-1-attribution", "150"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("href=\"#line-0-deadweight\""), "{html}");
    assert!(html.contains("href=\"#line-1-attribution\""), "{html}");
    assert!(html.contains("value=\"lots\""), "the typed text is kept");
    assert_eq!(
        trust_return(&app, &commissioner, &format!("?scenario={id}")).await,
        before,
        "nothing saved"
    );

    // Deadweight from 20% to 30%: the trust keeps 70/80 of its benefit.
    let saved = post_form(
        &commissioner,
        &app,
        "/impact/edit",
        &[
            ("scenario", &id),
            ("save_as", "this"),
            ("line-0-deadweight", "30"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let after = trust_return(&app, &commissioner, &format!("?scenario={id}")).await;
    assert!(
        (after - before * 0.7 / 0.8).abs() <= 0.011,
        "{before} -> {after}"
    );
    // A copy under the same name is refused; under a new one it is a scenario of its own.
    let same_name = post_form(
        &commissioner,
        &app,
        "/impact/edit",
        &[("scenario", &id), ("save_as", "new")],
    )
    .await;
    assert_eq!(same_name.status(), 422);
    let copy = post_form(
        &commissioner,
        &app,
        "/impact/edit",
        &[
            ("scenario", &id),
            ("save_as", "new"),
            ("name", "No deadweight at all"),
            ("line-0-deadweight", "0"),
            ("line-0-deadweight_low", "0"),
        ],
    )
    .await;
    assert_eq!(copy.status(), 303);
    let compared = commissioner
        .get(&app, "/impact/compare")
        .await
        .text()
        .await
        .unwrap();
    assert!(compared.contains("No deadweight at all"), "{compared}");
    assert!(
        app.audit_of("impact")
            .await
            .iter()
            .any(|(actor, action, outcome)| {
                actor == COMMISSIONER && action == "update" && outcome == "allowed"
            })
    );
}

async fn only_aggregates_and_only_for_those_who_may_see_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let html = lead.get(&app, "/impact").await.text().await.unwrap();
    assert!(html.contains("Return on Early Help for each partner"));
    assert!(!html.contains("/families/"), "no link to any family");
    assert!(!html.contains("Testcase"), "no name");
    // A locality lead sees the figures but does not set the assumptions.
    assert!(!html.contains("id=\"change\""));
    assert_eq!(lead.get(&app, "/impact/edit").await.status(), 403);
    let refused = post_form(&lead, &app, "/impact/edit", &[("line-0-deadweight", "0")]).await;
    assert_eq!(refused.status(), 403);
    // Those without aggregates see nothing, and each refusal is in the audit trail.
    for who in [PRACTITIONER, VCS_WORKER] {
        let session = app.sign_in(who).await;
        for path in [
            "/impact",
            "/impact.csv",
            "/impact/model.toml",
            "/impact/unit-values",
        ] {
            assert_eq!(session.get(&app, path).await.status(), 403, "{who} {path}");
        }
    }
    let events = app.audit_of("impact").await;
    for who in [LOCALITY_LEAD, PRACTITIONER, VCS_WORKER] {
        assert!(
            events
                .iter()
                .any(|(actor, _, outcome)| actor == who && outcome == "denied"),
            "{who}: {events:?}"
        );
    }
}

async fn unit_values_load_by_csv_or_not_at_all(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let header = "code,description,agency,kind,cashable,unit,value,price_year,source\n";
    let bad = format!(
        "{header}nhs_visit,A GP visit,NHS,fiscal,no,visit,40,2024,our own\n\
         bad,Something,Council,moral,no,each,-3,2024,ours\n"
    );
    let response = analyst.post_file(&app, "/impact/unit-values", &bad).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Row 2, kind") && html.contains("Row 2, value"),
        "{html}"
    );
    let listed = analyst
        .get(&app, "/impact/unit-values")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !listed.contains("nhs_visit"),
        "nothing loaded from a bad file"
    );
    assert!(
        listed.contains("placement_year"),
        "the shipped values are listed"
    );

    let good = format!("{header}nhs_visit,A GP visit,NHS,fiscal,no,visit,40,2024,our own\n");
    let response = analyst.post_file(&app, "/impact/unit-values", &good).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("1 unit value loaded") && html.contains("nhs_visit"));
    // A commissioner reads the library but a locality lead may not load one.
    let lead = app.sign_in(LOCALITY_LEAD).await;
    assert_eq!(
        lead.post_file(&app, "/impact/unit-values", &good)
            .await
            .status(),
        403
    );
}

/// A commissioner opens the impact page, changes a scenario's deadweight and sees each
/// partner's return move: every page checked by axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commissioner_moves_deadweight_in_a_real_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    sign_in(&browser, &app, COMMISSIONER).await;
    browser.click(By::LinkText("Impact")).await;
    browser
        .wait_for_heading("Return on Early Help for each partner")
        .await;
    assert_accessible(&browser, "impact").await;
    browser.screenshot("impact").await;
    for (id, shot) in [
        ("by-partner-heading", "impact-chart"),
        ("tornado", "impact-tornado"),
    ] {
        let script = format!("document.getElementById('{id}').scrollIntoView()");
        browser.driver.execute(&script, vec![]).await.unwrap();
        browser.screenshot(shot).await;
    }
    let trust = "td[data-roi=\"Birmingham Children's Trust\"]";
    let read_return = || async {
        let text = browser
            .driver
            .find(By::Css(trust))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.trim_start_matches('£').parse::<f64>().unwrap()
    };
    let before = read_return().await;

    browser.click(By::Id("change")).await;
    browser.wait_for_heading("Change the assumptions").await;
    assert_accessible(&browser, "impact: change the assumptions").await;
    save_deadweight(&browser, "lots").await;
    browser
        .wait_for_text(By::ClassName("govuk-error-summary"), "Enter a number")
        .await;
    assert_accessible(&browser, "impact: an assumption refused").await;
    save_deadweight(&browser, "30").await;
    browser
        .wait_for_heading("Return on Early Help for each partner")
        .await;
    let after = read_return().await;
    assert!(
        (after - before * 0.7 / 0.8).abs() <= 0.011,
        "{before} -> {after}"
    );
    browser.click(By::LinkText("Compare scenarios")).await;
    browser.wait_for_heading("Compare scenarios").await;
    assert_accessible(&browser, "impact: compare").await;
    browser.screenshot("impact-compare").await;
    browser.quit().await;
}

/// Types into the first line's deadweight and saves the scenario.
async fn save_deadweight(browser: &Browser, typed: &str) {
    use thirtyfour::prelude::*;
    let field = browser
        .driver
        .find(By::Id("line-0-deadweight"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(typed).await.unwrap();
    browser
        .click(By::Css("button[name=save_as][value=this]"))
        .await;
}

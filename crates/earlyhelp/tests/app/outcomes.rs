//! The outcomes framework: the board's dashboard with SPC judgements, uploads with preview and
//! corrections, the machine-load API, annotations and downloads, the equality view, the
//! public explorer with small numbers suppressed, the indicators computed from case data, and
//! each indicator's own SPC rules, baseline and recalculations.

use crate::helpers::*;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::Reason;
use earlyhelp_storage::outcomes::computed::{
    self, CHILDREN, FAMILIES_REFERRED, OPEN_CASES, REQUESTS,
};
use earlyhelp_storage::outcomes::{self, CITY, Indicator, NewValue};
use earlyhelp_storage::{accounts, gate};

crate::on_both_backends!(
    the_board_sees_every_indicator_with_spc_judgements,
    a_data_owner_uploads_previews_and_commits_a_correction,
    machines_load_values_through_the_api,
    annotations_and_downloads_on_the_indicator_page,
    the_equality_view_shows_disparity_ratios,
    the_board_sees_the_localities_at_a_glance,
    the_public_explores_without_signing_in_and_small_numbers_are_hidden,
    indicators_computed_from_case_data_refresh_themselves,
    each_indicator_has_its_own_spc_rules_baseline_and_recalculations,
);

async fn get(session: &Session, app: &TestApp, path: &str) -> (u16, String) {
    let response = session.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Posts a form as the signed-in person.
async fn post_form(
    session: &Session,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    session
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The current city value of an indicator for a month, with its revision.
async fn current(app: &TestApp, reference: &str, period: &str) -> Option<(f64, i32)> {
    outcomes::current_values(&app.db, reference)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.area == CITY && v.dimension.is_empty() && v.period == period)
        .map(|v| (v.value, v.revision))
}

async fn the_board_sees_every_indicator_with_spc_judgements(backend: Backend) {
    let app = spawn_app(backend).await;
    let board = app.sign_in(COMMISSIONER).await;
    let (status, html) = get(&board, &app, "/outcomes").await;
    assert_eq!(status, 200);
    assert_eq!(
        html.matches("data-indicator=").count(),
        37,
        "all 30 seed indicators and the 7 computed from case data and grant returns"
    );
    for outcome in 1..=9 {
        assert!(
            html.contains(&format!("id=\"outcome-{outcome}\"")),
            "outcome {outcome}"
        );
    }
    // Every indicator with 13 months or more has a variation icon; those with less say so.
    let icons = html.matches("data-icon=\"").count();
    assert!(icons >= 24, "{icons} icons");
    assert!(html.contains("SPC needs 13"), "short series are explained");
    // Illustrative targets give assurance icons.
    assert!(html.contains("data-icon=\"hit_or_miss\"") || html.contains("data-icon=\"fail\""));
    // Direction of travel, judged by polarity: domestic abuse incidents fell from 4,182 to
    // 2,560 in December 2020, and lower is better.
    let row = row_of(&html, "7.2");
    assert!(row.contains("Down 1,622"), "{row}");
    assert!(row.contains("data-travel=\"better\""), "{row}");
    assert!(row.contains("<svg") && row.contains("eh-sparkline"));
    assert!(row.contains("WM Police"));

    // The filters.
    let (_, only_7) = get(&board, &app, "/outcomes?outcome=7&area=perry-barr").await;
    assert_eq!(only_7.matches("data-indicator=").count(), 5);
    assert!(only_7.contains("Perry Barr"));
    assert!(only_7.contains("/outcomes/indicators/7.2?area=perry-barr"));

    // The November 2020 spike in domestic abuse incidents is beyond the upper process limit:
    // a concern, since lower is better.
    let (status, page) = get(&board, &app, "/outcomes/indicators/7.2").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"point-2020-11\" tabindex=\"-1\" data-colour=\"orange\""));
    assert_eq!(
        page.matches("<a href=\"#point-").count(),
        24,
        "every point is a link"
    );
    assert!(page.contains("<title id=\"spc-title\">"));

    // Practitioners do not see aggregates.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(get(&practitioner, &app, "/outcomes").await.0, 403);
    assert_eq!(
        get(&practitioner, &app, "/outcomes/indicators/7.2").await.0,
        403
    );
    assert_eq!(get(&board, &app, "/outcomes/indicators/99.9").await.0, 404);
}

/// The table row of an indicator on the dashboard.
fn row_of<'a>(html: &'a str, reference: &str) -> &'a str {
    let start = html
        .find(&format!("data-indicator=\"{reference}\""))
        .expect("the indicator is on the page");
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}

async fn upload(session: &Session, app: &TestApp, csv: &str) -> reqwest::Response {
    let boundary = "eh-test-boundary-7d1f";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"values.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
        session.csrf
    );
    session
        .client
        .post(app.url("/outcomes/uploads"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn a_data_owner_uploads_previews_and_commits_a_correction(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    assert_eq!(get(&analyst, &app, "/outcomes/uploads/new").await.0, 200);

    // A bad file: every problem named by row and field, nothing stored.
    let bad = "indicator,period,area,value\n7.2,2020-12,city,2600\n7.2,2020-13,city,x\n9.9,2021-01,Atlantis,5\n";
    let response = upload(&analyst, &app, bad).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for expected in [
        "Row 2, period",
        "Row 2, value",
        "Row 3, indicator",
        "Row 3, area",
        "Nothing has been loaded",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert_eq!(current(&app, "7.2", "2020-12").await, Some((2560.0, 1)));

    // A good file: one correction, one new month, one unchanged value.
    let good = "indicator,period,area,value\n7.2,2020-12,city,2600\n7.2,2020-11,city,4182\n7.3,2021-01,city,301\n";
    let response = upload(&analyst, &app, good).await;
    assert_eq!(response.status(), 303);
    let preview_url = response.headers()["location"].to_str().unwrap().to_string();
    let id = preview_url.rsplit('/').next().unwrap().to_string();
    let (status, preview) = get(&analyst, &app, &preview_url).await;
    assert_eq!(status, 200);
    assert!(preview.contains("data-added>1<"), "{preview}");
    assert!(preview.contains("data-corrected>1<"));
    assert!(preview.contains("data-unchanged>1<"));
    assert!(
        preview.contains("2,560") && preview.contains("2,600"),
        "was and becomes"
    );
    // Previewing changes nothing.
    assert_eq!(current(&app, "7.2", "2020-12").await, Some((2560.0, 1)));

    // Someone else cannot see or load it.
    let other = app.sign_in(COMMISSIONER).await;
    assert_eq!(get(&other, &app, &preview_url).await.0, 403);
    assert_eq!(upload(&other, &app, good).await.status(), 403);

    // A forged form (no CSRF token) is refused.
    let forged = post_form(
        &analyst,
        &app,
        &format!("{preview_url}/commit"),
        &[("csrf_token", "wrong")],
    )
    .await;
    assert_eq!(forged.status(), 403);

    let committed = post_form(
        &analyst,
        &app,
        &format!("{preview_url}/commit"),
        &[("csrf_token", analyst.csrf.as_str())],
    )
    .await;
    assert_eq!(committed.status(), 200);
    assert!(committed.text().await.unwrap().contains("Values loaded"));
    assert_eq!(current(&app, "7.2", "2020-12").await, Some((2600.0, 2)));
    assert_eq!(
        outcomes::current_values(&app.db, "7.3")
            .await
            .unwrap()
            .iter()
            .filter(|v| v.period == "2021-01")
            .count(),
        1
    );
    // A second click loads nothing twice.
    let again = post_form(
        &analyst,
        &app,
        &format!("{preview_url}/commit"),
        &[("csrf_token", analyst.csrf.as_str())],
    )
    .await;
    assert_eq!(again.status(), 303);
    assert_eq!(current(&app, "7.2", "2020-12").await, Some((2600.0, 2)));

    // The correction is visible as a correction, with both revisions.
    let (_, page) = get(&analyst, &app, "/outcomes/indicators/7.2").await;
    let corrections = &page[page
        .find("<h2 class=\"govuk-heading-m\">Corrections</h2>")
        .unwrap()..];
    assert!(
        corrections.contains("2 (current)") && corrections.contains("1 (replaced)"),
        "{corrections}"
    );
    assert!(corrections.contains(ANALYST));

    let audit = app.audit_of(&format!("indicator_upload:{id}")).await;
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|(_, a, o)| (a.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("create", "allowed"),
            ("read", "allowed"),
            ("update", "allowed")
        ]
    );
    assert!(audit.iter().all(|(actor, _, _)| actor == ANALYST));
}

async fn machines_load_values_through_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst_id = accounts::user_id_by_email(&app.db, ANALYST)
        .await
        .unwrap()
        .unwrap();
    let token = accounts::create_api_token(&app.db, analyst_id)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value, token: Option<String>| {
        let mut request = http.post(app.url("/api/indicators/values")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let bad = serde_json::json!({"values": [
        {"indicator": "7.2", "period": "2021-01", "value": 2700},
        {"indicator": "7.2", "period": "Jan 2021", "value": -4},
    ]});
    let response = post(bad, Some(token.clone())).await.unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    let problems: Vec<(u64, String)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(problems, vec![(2, "period".into()), (2, "value".into())]);

    let good = serde_json::json!({"values": [
        {"indicator": "7.2", "period": "2021-01", "value": 2700},
        {"indicator": "7.2", "period": "2021-01", "area": "perry-barr", "value": 390},
        {"indicator": "7.2", "period": "2020-12", "value": 2560},
        {"indicator": "3.7", "period": "2020-12", "dimension": "ethnicity", "group": "Black", "value": 300, "denominator": 26100},
    ], "dry_run": true});
    let response = post(good.clone(), Some(token.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    let dry: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        dry,
        serde_json::json!({"dry_run": true, "added": 2, "corrected": 1, "unchanged": 1})
    );
    assert_eq!(
        current(&app, "7.2", "2021-01").await,
        None,
        "a dry run writes nothing"
    );

    let mut real = good;
    real["dry_run"] = serde_json::json!(false);
    let response = post(real, Some(token.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(current(&app, "7.2", "2021-01").await, Some((2700.0, 1)));
    let audit = app.audit_of("indicator_values:api").await;
    assert_eq!(
        audit.last().unwrap(),
        &(
            ANALYST.to_string(),
            "update".to_string(),
            "allowed".to_string()
        )
    );

    // Without a token, or with the token of someone who does not load data: refused.
    let simple =
        serde_json::json!({"values": [{"indicator": "7.2", "period": "2021-02", "value": 1}]});
    assert_eq!(post(simple.clone(), None).await.unwrap().status(), 401);
    let commissioner_id = accounts::user_id_by_email(&app.db, COMMISSIONER)
        .await
        .unwrap()
        .unwrap();
    let other = accounts::create_api_token(&app.db, commissioner_id)
        .await
        .unwrap();
    assert_eq!(post(simple, Some(other)).await.unwrap().status(), 403);

    // The endpoint is described in the OpenAPI document.
    let openapi: serde_json::Value = http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        openapi["paths"]["/api/indicators/values"]["post"].is_object(),
        "{openapi}"
    );
    assert!(openapi["components"]["schemas"]["ApiLoad"].is_object());
}

async fn annotations_and_downloads_on_the_indicator_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let path = "/outcomes/indicators/7.2/annotations";
    let empty = [
        ("csrf_token", analyst.csrf.as_str()),
        ("period", "2020-11"),
        ("area", "city"),
        ("note", " "),
    ];
    let response = post_form(&analyst, &app, path, &empty).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("govuk-error-summary") && html.contains("Enter the note"));

    let note = [
        ("csrf_token", analyst.csrf.as_str()),
        ("period", "2020-11"),
        ("area", "city"),
        ("note", "Second lockdown"),
    ];
    let response = post_form(&analyst, &app, path, &note).await;
    assert_eq!(response.status(), 303);
    let (_, page) = get(&analyst, &app, "/outcomes/indicators/7.2").await;
    assert!(page.contains("Second lockdown"));
    assert!(
        page.contains("November 2020: 4,182. Special cause: concern. Note: Second lockdown."),
        "the point says so"
    );
    assert_eq!(
        app.audit_of("indicator:7.2").await,
        vec![(ANALYST.into(), "update".into(), "allowed".into())]
    );

    // Commissioners read but do not annotate.
    let board = app.sign_in(COMMISSIONER).await;
    let theirs = [
        ("csrf_token", board.csrf.as_str()),
        ("period", "2020-11"),
        ("area", "city"),
        ("note", "x"),
    ];
    assert_eq!(post_form(&board, &app, path, &theirs).await.status(), 403);

    let svg = board
        .client
        .get(app.url("/outcomes/indicators/7.2/chart.svg?area=ladywood"))
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.contains("Ladywood")
    );
    // The same chart as a picture, twice the size, for documents that take no SVG.
    let png = board
        .client
        .get(app.url("/outcomes/indicators/7.2/chart.png?area=ladywood"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(
        png.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("indicator-7.2-ladywood.png")
    );
    let png = png.bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(
        (dimension(16), dimension(20)),
        (1520, 832),
        "twice the size of the chart and its title above it"
    );
    let csv = board
        .client
        .get(app.url("/outcomes/indicators/7.2/data.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("indicator,period,area,dimension,group,value,denominator,revision,note\n")
    );
    assert!(csv.contains("7.2,2020-11,city,,,4182,,1,\n"), "{csv}");

    // Reported child deaths are a few a month: by locality they are suppressed, and no chart
    // (whose mean could give them away) is drawn.
    let (_, deaths) = get(&board, &app, "/outcomes/indicators/4.15?area=ladywood").await;
    assert!(deaths.contains("fewer than 5"));
    assert!(!deaths.contains("<a href=\"#point-"));
    let csv = board
        .client
        .get(app.url("/outcomes/indicators/4.15/data.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains(",fewer than 5\n"));
    for chart in ["chart.svg", "chart.png"] {
        let url = app.url(&format!("/outcomes/indicators/4.15/{chart}?area=ladywood"));
        let response = board.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 404, "{chart}");
    }
}

async fn the_equality_view_shows_disparity_ratios(backend: Backend) {
    let app = spawn_app(backend).await;
    let board = app.sign_in(COMMISSIONER).await;
    let (status, html) = get(&board, &app, "/outcomes/indicators/3.7/equality").await;
    assert_eq!(status, 200);
    let ratio = |group: &str| -> f64 {
        let start = html.find(&format!("data-group=\"{group}\"")).unwrap();
        let cell = &html[start..];
        let at = cell.find("data-ratio>").unwrap() + "data-ratio>".len();
        cell[at..cell[at..].find('<').unwrap() + at]
            .parse()
            .unwrap()
    };
    assert_eq!(ratio("White"), 1.0, "White is the comparison group");
    assert!(ratio("Black") > 1.2 && ratio("Mixed") > 1.5 && ratio("Asian") < 0.8);
    assert!(html.contains("rate per 1,000"));
    assert_eq!(
        html.matches("data-icon=\"").count(),
        5,
        "SPC on each group's rate"
    );
    // Another comparison group.
    let (_, asian) = get(
        &board,
        &app,
        "/outcomes/indicators/3.7/equality?comparison=Asian",
    )
    .await;
    assert!(asian.contains("Asian (comparison)"));
    // The indicator page links to it; an indicator without a breakdown says there is none.
    assert!(
        get(&board, &app, "/outcomes/indicators/3.7")
            .await
            .1
            .contains("/outcomes/indicators/3.7/equality")
    );
    assert!(
        get(&board, &app, "/outcomes/indicators/7.2/equality")
            .await
            .1
            .contains("no values by ethnic group")
    );
}

async fn the_board_sees_the_localities_at_a_glance(backend: Backend) {
    let app = spawn_app(backend).await;
    let board = app.sign_in(COMMISSIONER).await;
    let (status, grid) = get(&board, &app, "/outcomes/board").await;
    assert_eq!(status, 200);
    let localities = accounts::list_localities(&app.db).await.unwrap();
    assert_eq!(localities.len(), 10);
    for locality in &localities {
        assert!(
            grid.contains(&format!("eh-board__area\">{}</th>", locality.name)),
            "a column for {}",
            locality.name
        );
    }
    assert_eq!(grid.matches("data-indicator=").count(), 37);
    // One cell for the city and each locality, each a link to that area's chart.
    let row = row_of(&grid, "7.2");
    assert_eq!(row.matches("eh-board__cell").count(), 11);
    assert!(row.contains("href=\"/outcomes/indicators/7.2?area=perry-barr\""));
    // The city's cell says what the dashboard's row says: value, month, variation and change.
    let (_, dashboard) = get(&board, &app, "/outcomes").await;
    let city_icon = {
        let row = row_of(&dashboard, "7.2");
        let at = row.find("data-icon=\"").unwrap() + "data-icon=\"".len();
        row[at..at + row[at..].find('"').unwrap()].to_string()
    };
    assert!(
        row.contains("The whole city: 2,560 in Dec 2020")
            && row.contains(
                "Common cause variation, down 1,622 since the month before \
                 (better, within the usual range)"
            ),
        "{row}"
    );
    assert!(row.contains(&format!("data-icon=\"{city_icon}\"")));
    // Small counts by locality are hidden, in the cell and in the words read out.
    let sessions = row_of(&grid, "1.12");
    assert!(
        sessions.contains(">&#60;5</span>") && sessions.contains("Ladywood: fewer than 5"),
        "{sessions}"
    );
    // Filtered to one outcome.
    let (_, only_7) = get(&board, &app, "/outcomes/board?outcome=7").await;
    assert_eq!(only_7.matches("data-indicator=").count(), 5);
    // The dashboard links to it; practitioners do not see aggregates.
    assert!(dashboard.contains("href=\"/outcomes/board\""));
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(get(&practitioner, &app, "/outcomes/board").await.0, 403);
}

async fn the_public_explores_without_signing_in_and_small_numbers_are_hidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = client();
    let page = |path: String| {
        let public = public.clone();
        async move { public.get(path).send().await.unwrap().text().await.unwrap() }
    };
    let start = page(app.url("/explore")).await;
    assert!(
        start.contains("Explore the data")
            && start.contains("<optgroup label=\"7. Reduce domestic abuse\">")
    );

    // "How have domestic abuse incidents changed this year in my area?"
    let html = page(app.url("/explore?indicator=7.2&area=perry-barr&area=city")).await;
    assert!(
        html.contains("Perry Barr:") && html.contains("in December 2020"),
        "{html}"
    );
    assert!(html.contains("in January 2020"), "the change this year");
    assert!(html.contains("Statistical process control: the latest month is"));
    assert!(html.contains("id=\"explore-table\""));
    assert!(
        html.contains("href=\"/explore?indicator=7.2&#38;area=perry-barr&#38;area=city\""),
        "a link to share"
    );
    let csv = page(app.url("/explore/data.csv?indicator=7.2&area=perry-barr")).await;
    assert!(csv.starts_with("indicator,name,period,area,dimension,group,value,note\n"));
    assert_eq!(csv.lines().count(), 1 + 24);

    // Reported child deaths are a few a month: the public sees none under 5, even city-wide,
    // and no SPC (its mean could give them away).
    let deaths = page(app.url("/explore?indicator=4.15&area=city")).await;
    assert!(
        deaths.contains("fewer than 5. They are not shown"),
        "{deaths}"
    );
    assert!(!deaths.contains("Statistical process control: the latest"));
    let csv = page(app.url("/explore/data.csv?indicator=4.15&area=city")).await;
    assert!(
        csv.contains("2020-04,city,,,,suppressed (fewer than 5) or missing\n"),
        "{csv}"
    );
    assert!(csv.contains("2020-07,city,,,7,"), "7 is shown");

    // An ethnicity breakdown, and rubbish in the query does no harm.
    let groups = page(app.url("/explore?indicator=3.7&area=city&breakdown=ethnicity")).await;
    assert!(groups.contains("Black (The whole city)"));
    let rubbish = public
        .get(app.url("/explore?indicator=%3Cscript%3E&area=nowhere&breakdown=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(rubbish.status(), 200);
    assert!(!rubbish.text().await.unwrap().contains("<script>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_an_indicator_page_are_accessible_in_a_browser() {
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let driver = &browser.driver;
    let assert_accessible = |page: &'static str| {
        let browser = &browser;
        async move {
            let violations = browser.accessibility_violations().await;
            assert!(
                violations.is_empty(),
                "{page} has accessibility problems: {violations:#?}"
            );
        }
    };
    driver
        .goto(app.url("/explore?indicator=7.2&area=perry-barr&area=city"))
        .await
        .unwrap();
    browser.wait_for_heading("Explore the data").await;
    assert_accessible("the public explorer").await;
    browser.screenshot("outcomes-explore").await;

    // A data analyst: they see what the board sees, and may choose how limits are calculated.
    crate::browser::sign_in(&browser, &app, ANALYST).await;
    driver.goto(app.url("/outcomes")).await.unwrap();
    browser.wait_for_heading("Outcomes framework").await;
    let icons = driver
        .find_all(By::Css(".eh-icon[data-icon]"))
        .await
        .unwrap();
    assert!(icons.len() >= 24, "{} icons", icons.len());
    let words = icons[0].text().await.unwrap();
    assert!(!words.trim().is_empty(), "each icon says what it means");
    let so_far = driver
        .find(By::Css("tr[data-indicator='EH2'] [data-so-far]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(so_far.contains("so far: "), "{so_far}");
    assert_accessible("the dashboard").await;
    browser.screenshot("outcomes-dashboard").await;

    // The localities at a glance, from the dashboard's link.
    browser.click(By::Css("a[href='/outcomes/board']")).await;
    browser.wait_for_heading("The localities at a glance").await;
    let cells = driver
        .find_all(By::Css("tr[data-indicator='7.2'] td"))
        .await
        .unwrap();
    assert_eq!(cells.len(), 11, "the city and ten localities");
    assert_accessible("the localities at a glance").await;
    browser.screenshot("outcomes-board").await;
    // The equality view, by ethnic group and then by another breakdown of case data.
    driver
        .goto(app.url("/outcomes/indicators/3.7/equality"))
        .await
        .unwrap();
    browser
        .wait_for_heading("3.7 Number of children in care")
        .await;
    assert_accessible("the equality view").await;
    driver
        .goto(app.url("/outcomes/indicators/EH7/equality?dimension=send"))
        .await
        .unwrap();
    browser
        .wait_for_heading("EH7 Children and young people")
        .await;
    assert_accessible("the equality view of case data").await;
    browser.screenshot("outcomes-equality-send").await;
    driver.goto(app.url("/outcomes")).await.unwrap();
    browser.wait_for_heading("Outcomes framework").await;

    browser.click(By::Css("tr[data-indicator='7.2'] a")).await;
    browser
        .wait_for_heading("7.2 Reported domestic abuse")
        .await;
    let rows = driver
        .find_all(By::Css("#spc-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 24);
    let variation = driver.find(By::Css("#variation .eh-icon")).await.unwrap();
    assert!(variation.attr("data-icon").await.unwrap().is_some());
    assert_accessible("an indicator page").await;
    // The points are reachable by keyboard and named.
    let point = driver
        .find(By::Css("svg a[href='#point-2020-11']"))
        .await
        .unwrap();
    point.focus().await.unwrap();
    let active = driver.active_element().await.unwrap();
    let label = active.attr("aria-label").await.unwrap().unwrap_or_default();
    assert!(
        label.starts_with("November 2020: 4,182. Special cause: concern"),
        "{label}"
    );
    active.send_keys(Key::Enter).await.unwrap();
    assert!(
        driver
            .current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("#point-2020-11")
    );
    browser.screenshot("outcomes-indicator").await;

    // Recalculate the limits from the first lockdown, through the form.
    browser
        .click(By::Css("#limits ~ details .govuk-details__summary"))
        .await;
    let month = driver.find(By::Id("recalculate_period")).await.unwrap();
    month
        .find(By::Css("option[value='2020-02']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.fill(By::Id("reason"), "New reporting system").await;
    browser
        .click(By::XPath(
            "//button[normalize-space()='Recalculate from this month']",
        ))
        .await;
    browser
        .wait_for_heading("7.2 Reported domestic abuse")
        .await;
    let recalculated = driver
        .find(By::Css("[data-recalculation='2020-02']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        recalculated.contains("New reporting system"),
        "{recalculated}"
    );
    assert_accessible("an indicator page with a recalculation").await;
    driver
        .find(By::Id("limits"))
        .await
        .unwrap()
        .scroll_into_view()
        .await
        .unwrap();
    browser.screenshot("outcomes-indicator-recalculated").await;

    driver
        .goto(app.url("/outcomes/indicators/EH2"))
        .await
        .unwrap();
    browser
        .wait_for_heading("EH2 Requests for early help")
        .await;
    assert!(
        driver
            .find(By::Id("so-far"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("so far")
    );
    assert_accessible("a computed indicator").await;
    browser.screenshot("outcomes-computed").await;

    driver
        .goto(app.url("/outcomes/indicators/3.7/equality"))
        .await
        .unwrap();
    browser
        .wait_for_heading("3.7 Number of children in care by ethnic group")
        .await;
    assert_accessible("the equality view").await;
    browser.quit().await;
}

/// The value of an indicator for the month in progress.
async fn this_month(app: &TestApp, reference: &str, area: &str, group: &str) -> f64 {
    let period = computed::current_period();
    outcomes::current_values(&app.db, reference)
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.period == period && v.area == area && v.grp == group)
        .map(|v| v.value)
        .unwrap_or_else(|| panic!("{reference} has a value for {area} {group:?} in {period}"))
}

/// This month's city count of children named in requests in one group, zero if none yet.
async fn children_in(app: &TestApp, dimension: &str, group: &str) -> f64 {
    let period = computed::current_period();
    outcomes::current_values(&app.db, CHILDREN)
        .await
        .unwrap()
        .into_iter()
        .find(|v| {
            v.period == period && v.area == CITY && v.dimension == dimension && v.grp == group
        })
        .map_or(0.0, |v| v.value)
}

async fn indicators_computed_from_case_data_refresh_themselves(backend: Backend) {
    let app = spawn_app(backend).await;
    let board = app.sign_in(COMMISSIONER).await;
    let (_, html) = get(&board, &app, "/outcomes").await;
    let education = Reason::Education.label();
    let count = |reference: &'static str, area: &'static str, group: &'static str| {
        let app = &app;
        async move { this_month(app, reference, area, group).await }
    };
    // The demo's requests and families, all made this month.
    let requests = count(REQUESTS, CITY, "").await;
    let ladywood = count(REQUESTS, "ladywood", "").await;
    let for_education = count(REQUESTS, CITY, education).await;
    let referred = count(FAMILIES_REFERRED, CITY, "").await;
    let open = count(OPEN_CASES, CITY, "").await;
    let children = count(CHILDREN, CITY, "").await;
    let aged_5_to_10 = children_in(&app, "age_band", "5 to 10").await;
    assert!(requests > 0.0 && referred > 0.0 && open > 0.0);
    let row = row_of(&html, REQUESTS);
    assert!(
        row.contains(&format!("so far: {}", whole(requests))),
        "{row}"
    );
    assert!(row.contains("Early help case records"));

    // A practitioner sends a request, and another that the Ladywood lead takes into locality
    // early help; both give education as a reason.
    crate::cases::send(&app, &crate::cases::amira("B16 8HA")).await;
    crate::cases::open_case(&app).await;
    // The background job (every 200 ms in tests, a minute by default) counts them; no page
    // a visitor opens recomputes anything.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // A refresh may land between the request and its triage: wait for one after both.
    while count(REQUESTS, CITY, "").await != requests + 2.0
        || count(FAMILIES_REFERRED, CITY, "").await != referred + 1.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the background job counts the new requests"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, html) = get(&board, &app, "/outcomes").await;
    assert!(
        row_of(&html, REQUESTS).contains(&format!("so far: {}", whole(requests + 2.0))),
        "the dashboard shows the new requests"
    );
    assert_eq!(count(REQUESTS, "ladywood", "").await, ladywood + 2.0);
    assert_eq!(count(REQUESTS, CITY, education).await, for_education + 2.0);
    assert_eq!(count(FAMILIES_REFERRED, CITY, "").await, referred + 1.0);
    assert_eq!(count(OPEN_CASES, CITY, "").await, open + 1.0);
    // Each request names one child, Amira, aged 10, with no ethnic group or SEND recorded.
    assert_eq!(count(CHILDREN, CITY, "").await, children + 2.0);
    assert_eq!(
        children_in(&app, "age_band", "5 to 10").await,
        aged_5_to_10 + 2.0
    );
    assert!(children_in(&app, "ethnicity", "Not known").await >= 2.0);
    assert_eq!(
        app.audit_of("computed_indicators").await.last(),
        Some(&("operator".into(), "update".into(), "allowed".into())),
        "each refresh is audited"
    );

    // The indicator page: marked computed, the month in progress as "so far", by reason.
    let (_, page) = get(&board, &app, &format!("/outcomes/indicators/{REQUESTS}")).await;
    assert!(page.contains("Early help case records (computed)"));
    assert!(page.contains("so far: ") && page.contains("not on the chart"));
    let reasons = &page[page.find("data-breakdown=\"reason\"").unwrap()..];
    assert!(
        reasons.contains(&format!(">{education}</th>")),
        "the reasons for request"
    );
    // The public explorer leaves the month in progress out, and says so.
    let public = client()
        .get(app.url(&format!(
            "/explore?indicator={REQUESTS}&area=city&breakdown=reason"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("This month is still being counted"));

    // The equality view of case data: by age band, shares rather than disparity ratios (there
    // are no population figures), and the month in progress left out.
    let (status, equality) = get(
        &board,
        &app,
        &format!("/outcomes/indicators/{CHILDREN}/equality?dimension=age_band"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(equality.contains("by age band") && equality.contains("Share of all"));
    assert!(!equality.contains("Disparity ratio"));
    for offered in [
        "Ethnic group",
        "Age band",
        "Special educational needs or disability",
    ] {
        assert!(
            equality.contains(&format!(">{offered}</option>")),
            "{offered}"
        );
    }
    assert!(
        get(&board, &app, &format!("/outcomes/indicators/{CHILDREN}"))
            .await
            .1
            .contains(&format!("/outcomes/indicators/{CHILDREN}/equality"))
    );
}

/// The colour-coded variation icon of the indicator page.
fn variation_of(page: &str) -> &str {
    let at = &page[page.find("id=\"variation\"").unwrap()..];
    match at.find("data-icon=\"") {
        Some(i) if i < at.find("</dd>").unwrap() => {
            let rest = &at[i + "data-icon=\"".len()..];
            &rest[..rest.find('"').unwrap()]
        }
        _ => "none",
    }
}

/// A count as the pages show it: `1,240`.
fn whole(count: f64) -> String {
    let digits = format!("{count:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number as the pages show it: to one decimal place, without a trailing `.0`.
fn one_decimal(x: f64) -> String {
    let text = format!("{x:.1}");
    text.strip_suffix(".0").unwrap_or(&text).to_string()
}

/// The cells of one row of the indicator page's SPC table.
fn table_row<'a>(page: &'a str, period: &str) -> &'a str {
    let start = page.find(&format!("id=\"point-{period}\"")).unwrap();
    &page[start..start + page[start..].find("</tr>").unwrap()]
}

async fn each_indicator_has_its_own_spc_rules_baseline_and_recalculations(backend: Backend) {
    let app = spawn_app(backend).await;
    // Six months in a row above the mean: a shift for Making Data Count, not for NHS-R's seven.
    let series = [
        14.0, 10.0, 14.0, 10.0, 14.0, 10.0, 14.0, 10.0, 13.0, 13.0, 13.0, 13.0, 13.0, 13.0,
    ];
    let periods: Vec<String> = (0..series.len())
        .map(|i| format!("{}-{:02}", 2024 + i / 12, i % 12 + 1))
        .collect();
    let mut authorised = gate::operator(&app.db, "indicators", Action::Create, "test data")
        .await
        .unwrap();
    let indicator = Indicator {
        reference: "9.90".into(),
        outcome_number: 9,
        name: "Test shifts".into(),
        unit: "count".into(),
        better: "higher".into(),
        data_owner: "Tests".into(),
        frequency: "monthly".into(),
        source: "uploaded".into(),
        target: None,
        small_number_threshold: None,
        public: true,
        spc_rules: "mdc".into(),
        spc_baseline: None,
    };
    outcomes::upsert_indicator(&mut authorised, &indicator)
        .await
        .unwrap();
    let values: Vec<NewValue> = series
        .iter()
        .zip(&periods)
        .map(|(v, p)| NewValue {
            indicator_ref: "9.90".into(),
            period: p.clone(),
            area: CITY.into(),
            dimension: String::new(),
            group: String::new(),
            value: *v,
            denominator: None,
        })
        .collect();
    outcomes::insert_new_values(&mut authorised, &values, "tests")
        .await
        .unwrap();
    authorised.tx.commit().await.unwrap();

    let analyst = app.sign_in(ANALYST).await;
    let page = || {
        let (analyst, app) = (&analyst, &app);
        async move { get(analyst, app, "/outcomes/indicators/9.90").await.1 }
    };
    let choose = |rules: &'static str, baseline: &'static str| {
        let analyst = &analyst;
        let app = &app;
        async move {
            let form = [
                ("csrf_token", analyst.csrf.as_str()),
                ("area", "city"),
                ("rules", rules),
                ("baseline", baseline),
            ];
            post_form(analyst, app, "/outcomes/indicators/9.90/spc", &form).await
        }
    };
    let html = page().await;
    assert_eq!(variation_of(&html), "improvement_high");
    assert!(html.contains("data-rules=\"mdc\""));

    // A baseline too short for limits is refused, naming the field; nothing changes.
    let refused = choose("nhsr", "12").await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Enter the baseline as a whole number")
    );
    let stored = || {
        let db = &app.db;
        async move { outcomes::indicator(db, "9.90").await.unwrap().unwrap() }
    };
    assert_eq!(stored().await.spc_rules, "mdc");

    // The NHS-R rules need seven: common cause, on the page and on the board's dashboard.
    assert_eq!(choose("nhsr", "").await.status(), 303);
    let html = page().await;
    assert_eq!(variation_of(&html), "common_cause");
    assert!(html.contains("data-rules=\"nhsr\""));
    let board = app.sign_in(COMMISSIONER).await;
    let (_, dashboard) = get(&board, &app, "/outcomes?outcome=9").await;
    assert!(row_of(&dashboard, "9.90").contains("data-icon=\"common_cause\""));

    // A baseline: the limits come from the first 13 months only.
    assert_eq!(choose("mdc", "13").await.status(), 303);
    assert_eq!(stored().await.spc_baseline, Some(13));
    let upper = |baseline: Option<usize>| {
        let options = spc::Options {
            baseline,
            ..spc::Options::default()
        };
        let chart = spc::xmr(&series, &options);
        one_decimal(chart.points[13].limits.unwrap().upper)
    };
    assert_ne!(upper(Some(13)), upper(None), "the test can tell them apart");
    let last = page().await;
    let last = table_row(&last, "2025-02");
    assert!(
        last.contains(&format!(">{}</td>", upper(Some(13)))),
        "{last}"
    );

    // A recalculation from the month the new pattern starts, with its reason.
    assert_eq!(choose("mdc", "").await.status(), 303);
    let recalculate = |reason: &'static str| {
        let analyst = &analyst;
        let app = &app;
        async move {
            let form = [
                ("csrf_token", analyst.csrf.as_str()),
                ("area", "city"),
                ("recalculate_period", "2024-09"),
                ("reason", reason),
            ];
            post_form(
                analyst,
                app,
                "/outcomes/indicators/9.90/recalculations",
                &form,
            )
            .await
        }
    };
    assert_eq!(recalculate(" ").await.status(), 422);
    assert_eq!(recalculate("New pathway").await.status(), 303);
    let html = page().await;
    assert!(table_row(&html, "2024-09").contains("Limits recalculated from here: New pathway"));
    assert!(
        table_row(&html, "2025-02").contains(">13</td>"),
        "the new phase's mean"
    );
    assert!(html.contains("class=\"eh-chart__recalculation\""));
    assert_eq!(
        variation_of(&html),
        "none",
        "six months since: too few for limits"
    );
    let again = recalculate("Twice").await;
    assert_eq!(again.status(), 422);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already recalculated from that month")
    );

    let removed = post_form(
        &analyst,
        &app,
        "/outcomes/indicators/9.90/recalculations/remove",
        &[
            ("csrf_token", analyst.csrf.as_str()),
            ("area", "city"),
            ("period", "2024-09"),
        ],
    )
    .await;
    assert_eq!(removed.status(), 303);
    assert_eq!(variation_of(&page().await), "improvement_high");

    // Every change passed the gate; the board may look but not choose.
    let audit = app.audit_of("indicator:9.90").await;
    assert_eq!(audit.len(), 6, "{audit:?}");
    assert!(audit.iter().all(|(who, action, outcome)| {
        who == ANALYST && action == "update" && outcome == "allowed"
    }));
    let theirs = [
        ("csrf_token", board.csrf.as_str()),
        ("area", "city"),
        ("rules", "nhsr"),
        ("baseline", ""),
    ];
    let forbidden = post_form(&board, &app, "/outcomes/indicators/9.90/spc", &theirs).await;
    assert_eq!(forbidden.status(), 403);
}

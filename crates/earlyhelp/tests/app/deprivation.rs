//! Deprivation: `earlyhelp import imd` (all or nothing, by row and field), the spend-against-
//! need page with its ±6-point flag, map, CSV and JSON, and who may see it, on both databases.

use crate::helpers::*;
use crate::on_both_backends;
use earlyhelp_storage::Db;

on_both_backends!(
    the_import_refuses_a_bad_file_by_row_and_field_and_loads_a_good_one,
    the_page_sets_shares_side_by_side_and_flags_the_gap,
    only_those_who_see_spend_see_it_and_the_public_signs_in,
);

async fn strings(db: &Db, sql: &'static str) -> Vec<String> {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
    })
}

/// (synthetic, LSOAs held) of an edition.
async fn edition(db: &Db, year: i64) -> (bool, i64) {
    let sql = "SELECT e.synthetic, (SELECT COUNT(*) FROM imd i WHERE i.edition = e.edition) \
               FROM imd_editions e WHERE e.edition = $1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql).bind(year).fetch_one(pool).await.unwrap()
    })
}

async fn city_lsoas(db: &Db) -> Vec<String> {
    strings(
        db,
        "SELECT DISTINCT lsoa FROM postcodes WHERE lsoa IS NOT NULL ORDER BY lsoa",
    )
    .await
}

fn imd(app: &TestApp, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let file = file.to_str().unwrap();
    let args = [
        &["import", "imd", file, "--database", &app.database_url][..],
        extra,
    ]
    .concat();
    run_earlyhelp(&args, &[])
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

async fn the_import_refuses_a_bad_file_by_row_and_field_and_loads_a_good_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let lsoas = city_lsoas(&app.db).await;
    assert!(lsoas.len() > 20, "the demo's LSOAs: {}", lsoas.len());
    assert_eq!(edition(&app.db, 2019).await, (true, lsoas.len() as i64));
    let dir = temp_dir("imd");

    // A decile out of range, an LSOA the city's postcodes do not know, and a bad rank.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "lsoa,rank,decile\n{},100,1\n{},200,11\nE01999999,300,2\n{},many,3\n",
            lsoas[0], lsoas[1], lsoas[2]
        ),
    )
    .unwrap();
    let refused = imd(&app, &bad, &["--edition", "2019"]);
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(said.contains("nothing was imported"), "{said}");
    assert!(
        said.contains("Row 2, decile: \"11\" is not a decile from 1 to 10"),
        "{said}"
    );
    assert!(
        said.contains("Row 3, lsoa: E01999999 is not an LSOA of the city's postcodes"),
        "{said}"
    );
    assert!(
        said.contains("Row 4, rank: \"many\" is not a rank"),
        "{said}"
    );
    assert_eq!(
        edition(&app.db, 2019).await,
        (true, lsoas.len() as i64),
        "nothing was loaded: the edition is as it was"
    );

    let header = dir.join("header.csv");
    std::fs::write(&header, format!("lsoa,score,decile\n{},3.5,1\n", lsoas[0])).unwrap();
    let refused = imd(&app, &header, &["--edition", "2019"]);
    assert!(
        stderr(&refused)
            .contains("The header must name the LSOA code, the IMD rank and the IMD decile"),
        "{}",
        stderr(&refused)
    );
    let refused = imd(&app, &header, &["--edition", "2020"]);
    assert!(stderr(&refused).contains("--edition: \"2020\" is not an edition we read"));

    // The published file's own headers, every city LSOA and one beyond the city.
    let good = dir.join("File_7.csv");
    let mut text = String::from(
        "LSOA code (2011),LSOA name (2011),Index of Multiple Deprivation (IMD) Score,\
         Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),\
         Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)\n",
    );
    for (i, lsoa) in lsoas.iter().enumerate() {
        let decile = 1 + i % 10;
        text.push_str(&format!(
            "{lsoa},Birmingham {i:03}A,30.1,{},{decile}\n",
            (decile - 1) * 3284 + 1 + i
        ));
    }
    text.push_str("E01000001,City of London 001A,6.2,29199,9\n");
    std::fs::write(&good, &text).unwrap();
    let refused = imd(&app, &good, &["--edition", "2019"]);
    assert!(
        stderr(&refused).contains(&format!(
            "Row {}, lsoa: E01000001 is not an LSOA of the city's postcodes",
            lsoas.len() + 1
        )),
        "{}",
        stderr(&refused)
    );
    let loaded = imd(&app, &good, &["--edition", "2019", "--city-only"]);
    assert_eq!(
        stdout_of(&loaded).trim(),
        format!(
            "IMD 2019: {} LSOAs loaded (1 outside the city's postcodes left out)",
            lsoas.len()
        )
    );
    assert_eq!(edition(&app.db, 2019).await, (false, lsoas.len() as i64));
    let deciles = strings(
        &app.db,
        "SELECT lsoa FROM imd WHERE edition = 2019 AND decile = 1 ORDER BY lsoa",
    )
    .await;
    assert_eq!(deciles[0], lsoas[0]);
    // 2011 LSOAs are not the 2025 edition's.
    let refused = imd(&app, &good, &["--edition", "2025", "--city-only"]);
    assert!(stderr(&refused).contains("2011's"), "{}", stderr(&refused));

    // The page now reads the real edition without the synthetic warning; 2025 still has it.
    let commissioner = app.sign_in(COMMISSIONER).await;
    let page = commissioner
        .get(&app, "/spend-against-need?edition=2019")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"synthetic\""), "{page}");
    assert!(page.contains("Deciles from the English Indices of Deprivation 2019 (File_7.csv"));
    let page = commissioner
        .get(&app, "/spend-against-need?edition=2025")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"synthetic\"") && page.contains("made up for the demo"));
    let audit = app.audit_of("deprivation").await;
    assert!(
        audit
            .iter()
            .any(|(actor, action, outcome)| actor == "operator"
                && action == "create"
                && outcome == "allowed"),
        "{audit:?}"
    );
}

/// The CSV's locality rows: name, spend share, most deprived share, gap, flag.
fn csv_localities(csv: &str) -> Vec<(String, f64, f64, f64, String)> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (name, spend, need, gap, flag) = (
        at("name"),
        at("spend_share_percent"),
        at("most_deprived_share_percent"),
        at("gap_points"),
        at("flag"),
    );
    reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "locality")
        .map(|r| {
            let number = |i: usize| r[i].parse::<f64>().unwrap();
            (
                r[name].to_string(),
                number(spend),
                number(need),
                number(gap),
                r[flag].to_string(),
            )
        })
        .collect()
}

async fn the_page_sets_shares_side_by_side_and_flags_the_gap(backend: Backend) {
    let app = spawn_app(backend).await;
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let page = officer.get(&app, "/spend-against-need").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    // The demo: in line everywhere but Sutton Coldfield, which has none of the most deprived.
    assert!(
        page.contains("1 locality is more than 6 points out of line"),
        "{page}"
    );
    assert!(page.contains("More spend than need"));
    assert!(
        page.contains("id=\"synthetic\""),
        "the demo's deciles say so"
    );
    assert!(page.contains(r#"role="img" aria-labelledby="need-map-title need-map-desc""#));
    assert!(
        page.contains("<title id=\"need-map-title\">Map of spend over deprivation deciles</title>")
    );
    assert!(page.contains("id=\"by-decile\"") && page.contains("id=\"by-lsoa\""));
    let svg = &page[page.find("<svg xmlns").unwrap()..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert!(
        !svg.contains("<script") && !svg.contains("<image") && svg.contains("<circle"),
        "drawn in Rust, no tiles and no script: {svg}"
    );

    let csv = officer
        .get(&app, "/spend-against-need.csv")
        .await
        .text()
        .await
        .unwrap();
    let lines = csv_localities(&csv);
    assert_eq!(lines.len(), 10, "{csv}");
    let spend: f64 = lines.iter().map(|l| l.1).sum();
    let need: f64 = lines.iter().map(|l| l.2).sum();
    assert!(
        (spend - 100.0).abs() < 0.1 && (need - 100.0).abs() < 0.1,
        "{csv}"
    );
    for (name, spend, need, gap, flag) in &lines {
        assert!(
            (spend - need - gap).abs() < 0.02,
            "{name}: the gap is the difference"
        );
        if name == "Sutton Coldfield" {
            assert_eq!((*need, flag.as_str()), (0.0, "More spend than need"));
            assert!(*gap > 6.0);
        } else {
            assert!(gap.abs() <= 6.0 && flag.is_empty(), "{name}: {gap}");
        }
    }

    // One programme: the payments counted are that programme's approved and paid ones.
    let sql = "SELECT id FROM programmes WHERE name = 'Emergency Food and Fuel'";
    let programme: uuid::Uuid = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    });
    let sql = "SELECT CAST(SUM(amount_pence) AS BIGINT) FROM payments \
               WHERE programme_id = $1 AND state IN ('approved', 'paid') AND locality_slug = 'ladywood'";
    let expected: i64 = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(programme)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    let json: serde_json::Value = officer
        .get(
            &app,
            &format!("/api/spend-against-need?programme={programme}&edition=2019"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["edition"], 2019);
    assert_eq!(json["synthetic_deciles"], true);
    assert_eq!(json["gap_points"], 6);
    let ladywood = json["localities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["slug"] == "ladywood")
        .unwrap();
    assert_eq!(ladywood["payments_pence"], expected, "{ladywood}");
    assert!(expected > 0);

    // A payment approved now is counted by the background job within moments (here it runs
    // every 200 ms), and the page says when payments were counted.
    let sql = "SELECT f.id FROM families f JOIN users u ON u.id = f.lead_practitioner \
               WHERE u.email = $1 AND f.state = 'open' ORDER BY f.id LIMIT 1";
    let family: uuid::Uuid = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(PRACTITIONER)
            .fetch_one(pool)
            .await
            .unwrap()
    });
    let practitioner = app.sign_in(PRACTITIONER).await;
    let form = [
        ("csrf_token", practitioner.csrf.as_str()),
        ("programme", &programme.to_string()),
        ("amount", "99.99"),
        ("purposes", "GTIP070"),
        ("reason", "GTIR010"),
        ("notes", ""),
    ];
    let asked = practitioner
        .post(&app, &format!("/families/{family}/payments/new"), &form)
        .await;
    assert_eq!(asked.status(), 303, "{}", asked.text().await.unwrap());
    let payment = asked.headers()["location"].to_str().unwrap().to_string();
    let approve = [("csrf_token", officer.csrf.as_str())];
    let approved = officer
        .post(&app, &format!("{payment}/approve"), &approve)
        .await;
    assert_eq!(approved.status(), 303);
    let ladywood_pence = |json: serde_json::Value| {
        json["localities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["slug"] == "ladywood")
            .map(|l| l["payments_pence"].as_i64().unwrap())
            .unwrap()
    };
    let mut seen = 0;
    for _ in 0..100 {
        let json: serde_json::Value = officer
            .get(
                &app,
                &format!("/api/spend-against-need?programme={programme}"),
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(json["payments_counted_micros"].is_i64());
        seen = ladywood_pence(json);
        if seen == expected + 9_999 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, expected + 9_999, "the approval is counted");
    let page = officer
        .get(&app, "/spend-against-need")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Payments to families as counted at"));

    // A programme or an edition not on file is refused by field.
    let bad = officer
        .get(&app, "/spend-against-need?programme=nonsense")
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Choose a programme from the list")
    );
    let bad = officer
        .get(&app, "/api/spend-against-need?edition=2015")
        .await;
    assert_eq!(bad.status(), 422);
    let problems: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(problems["problems"][0]["field"], "edition", "{problems}");
    let openapi: serde_json::Value = officer
        .get(&app, "/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/spend-against-need"]["get"].is_object());

    // Linked from the programmes page.
    let programmes = officer.get(&app, "/programmes").await.text().await.unwrap();
    assert!(programmes.contains("href=\"/spend-against-need\""));
}

async fn only_those_who_see_spend_see_it_and_the_public_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = client()
        .get(app.url("/spend-against-need"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 303);
    let to = public.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("/sign-in?next=%2Fspend-against-need"),
        "{to}"
    );
    let api = client()
        .get(app.url("/api/spend-against-need"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);

    for who in [GRANTS_OFFICER, COMMISSIONER, ADMIN, LOCALITY_LEAD, ANALYST] {
        let session = app.sign_in(who).await;
        assert_eq!(
            session.get(&app, "/spend-against-need").await.status(),
            200,
            "{who}"
        );
    }
    for who in [PRACTITIONER, VCS_WORKER] {
        let session = app.sign_in(who).await;
        for path in [
            "/spend-against-need",
            "/spend-against-need.csv",
            "/api/spend-against-need",
        ] {
            assert_eq!(session.get(&app, path).await.status(), 403, "{who} {path}");
        }
    }
    let refusals = app.audit_of("spend").await;
    for who in [PRACTITIONER, VCS_WORKER] {
        let denied = refusals
            .iter()
            .filter(|(actor, _, outcome)| actor == who && outcome == "denied")
            .count();
        assert!(denied >= 3, "{who}'s refusals are audited: {refusals:?}");
    }
}

/// In a real browser, checked by axe-core: the grants officer follows the link from the
/// programmes page to spend against need, filters it, and opens the map's table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_against_need_is_accessible_in_a_browser() {
    use crate::browser::{assert_accessible, sign_in};
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    sign_in(&browser, &app, GRANTS_OFFICER).await;
    browser.driver.goto(app.url("/programmes")).await.unwrap();
    browser
        .wait_for_heading("Funding programmes and spend")
        .await;
    browser.click(By::LinkText("Spend against need")).await;
    browser.wait_for_heading("Spend against need").await;
    assert_accessible(&browser, "spend against need").await;
    browser.screenshot("spend-against-need").await;
    browser
        .driver
        .find(By::Id("edition"))
        .await
        .unwrap()
        .find(By::XPath("./option[@value='2019']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.click(By::Css("form.eh-filters button")).await;
    browser
        .wait_for_text(By::Id("synthetic"), "Indices of Deprivation 2019")
        .await;
    browser.click(By::Css("details summary")).await;
    browser.wait_for_text(By::Id("by-lsoa"), "E0104").await;
    assert_accessible(&browser, "spend against need, 2019, the map as a table").await;
    browser.quit().await;
}

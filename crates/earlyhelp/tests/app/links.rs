//! Stored links, on both databases: every way in takes only http and https websites, the
//! report names the row and field, and a bad link written before the checks is never linked
//! and is listed by `earlyhelp directory check-links`.

use crate::helpers::*;
use serde_json::Value;
use uuid::Uuid;

crate::on_both_backends!(
    imports_take_only_web_links_and_old_bad_links_are_never_linked,
    the_listing_form_refuses_a_script_link,
);

const CONNECTOR: &str = "connector.ladywood@earlyhelp.test";

/// Runs one statement with a text ($1) and ids ($2...), as a database writer would.
async fn write(app: &TestApp, sql: &'static str, text: &str, ids: &[Uuid]) {
    earlyhelp_storage::on_pool!(&app.db, pool => {
        let mut query = sqlx::query(sql).bind(text);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(pool).await.unwrap();
    });
}

async fn json(app: &TestApp, path: &str) -> Value {
    client()
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn text(app: &TestApp, path: &str) -> String {
    client()
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("links-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// The services the ORUK API serves under this exact name.
async fn found(app: &TestApp, name: &str) -> Vec<Value> {
    let words = name.replace(' ', "+");
    json(
        app,
        &format!("/openreferral/services?search={words}&per_page=100"),
    )
    .await["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .cloned()
        .collect()
}

/// No script or data link anywhere in a page or a document, whatever its case.
fn assert_no_script_links(body: &str, what: &str) {
    let lower = body.to_lowercase();
    for scheme in ["javascript:", "data:text", "vbscript:"] {
        assert!(!lower.contains(scheme), "{what} holds {scheme}");
    }
}

async fn imports_take_only_web_links_and_old_bad_links_are_never_linked(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.database_url.as_str();
    let clean = run_earlyhelp(&["directory", "check-links", "--database", db], &[]);
    assert!(
        stdout_of(&clean).contains("every stored website is an http or https address"),
        "the demo's links are all web links"
    );

    // The services spreadsheet: each bad website named by row and field, the good row loaded.
    let sheet = temp_file(
        "services.csv",
        "name,organization,locality,postcode,website\n\
         Safe Links Club,Ladywood Community Trust,ladywood,B16 1AB,www.safe-links.example/club\n\
         Script Club,Ladywood Community Trust,ladywood,B16 1AB,javascript:alert(document.cookie)\n\
         Data Club,Ladywood Community Trust,ladywood,B16 1AB,\"data:text/html,<script>alert(1)</script>\"\n\
         Tab Club,Ladywood Community Trust,ladywood,B16 1AB,\"java\tscript:alert(1)\"\n",
    );
    let imported = run_earlyhelp(
        &[
            "import",
            "services",
            sheet.to_str().unwrap(),
            "--database",
            db,
        ],
        &[],
    );
    assert!(stdout_of(&imported).contains("1 added"));
    let report = String::from_utf8_lossy(&imported.stderr).to_string();
    for (row, says) in [
        (3, "is a javascript: address"),
        (4, "is a data: address"),
        (5, "has a space or a control character"),
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&format!("row {row}, website: ")) && l.contains(says)),
            "row {row}: {report}"
        );
    }
    for refused in ["Script Club", "Data Club", "Tab Club"] {
        assert!(
            found(&app, refused).await.is_empty(),
            "{refused} was loaded"
        );
    }
    let safe = found(&app, "Safe Links Club").await;
    assert_eq!(safe.len(), 1);
    assert_eq!(safe[0]["url"], "https://www.safe-links.example/club");
    let safe_id: Uuid = safe[0]["id"].as_str().unwrap().parse().unwrap();
    let page = text(&app, &format!("/find-support/services/{safe_id}")).await;
    assert!(page.contains("href=\"https://www.safe-links.example/club\""));

    // An Open Referral UK feed: the same, by service and field.
    let full = json(&app, &format!("/openreferral/services/{safe_id}")).await;
    let mut script = full.clone();
    script["id"] = "7d0c4a52-0000-4000-8000-000000000001".into();
    script["name"] = "Feed Script Club".into();
    script["url"] = "JaVaScRiPt:alert(1)".into();
    let mut provider = full.clone();
    provider["id"] = "7d0c4a52-0000-4000-8000-000000000002".into();
    provider["name"] = "Feed Provider Club".into();
    provider["organization"]["website"] = "vbscript:msgbox(1)".into();
    let mut good = full.clone();
    good["id"] = "7d0c4a52-0000-4000-8000-000000000003".into();
    good["name"] = "Feed Good Club".into();
    good["url"] = " HTTPS://Good.Example/Club ".into();
    let feed = temp_file(
        "feed.json",
        &serde_json::to_string(&serde_json::json!({ "contents": [script, provider, good] }))
            .unwrap(),
    );
    let imported = run_earlyhelp(
        &["import", "oruk", feed.to_str().unwrap(), "--database", db],
        &[],
    );
    assert!(stdout_of(&imported).contains("1 added"));
    let report = String::from_utf8_lossy(&imported.stderr).to_string();
    assert!(
        report.contains(
            "service 1 (7d0c4a52-0000-4000-8000-000000000001), url: \"JaVaScRiPt:alert(1)\" is a javascript: address"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "service 2 (7d0c4a52-0000-4000-8000-000000000002), organization.website: \"vbscript:msgbox(1)\""
        ),
        "{report}"
    );
    assert!(found(&app, "Feed Script Club").await.is_empty());
    let good = found(&app, "Feed Good Club").await;
    assert_eq!(good[0]["url"], "https://good.example/Club");

    // A link written before the checks (straight into the database): never linked or served,
    // and listed by the command until someone corrects it.
    write(
        &app,
        "UPDATE directory_services SET url = $1 WHERE id = $2",
        "javascript:alert(document.cookie)",
        &[safe_id],
    )
    .await;
    let organisation: Uuid = full["organization"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    write(
        &app,
        "UPDATE directory_organizations SET website = $1 WHERE id = $2",
        "data:text/html,<script>alert(1)</script>",
        &[organisation],
    )
    .await;
    let page = text(&app, &format!("/find-support/services/{safe_id}")).await;
    assert!(page.contains("Safe Links Club"));
    assert_no_script_links(&page, "the public service page");
    let served = json(&app, &format!("/openreferral/services/{safe_id}")).await;
    assert!(served.get("url").is_none(), "{served}");
    assert_no_script_links(&served.to_string(), "the ORUK service");
    let organisation_json =
        json(&app, &format!("/openreferral/organizations/{organisation}")).await;
    assert_no_script_links(&organisation_json.to_string(), "the ORUK organisation");
    let listed = run_earlyhelp(&["directory", "check-links", "--database", db], &[]);
    assert!(!listed.status.success());
    let out = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        out.contains(&format!(
            "service {safe_id} (Safe Links Club), website: \"javascript:alert(document.cookie)\" is a javascript: address"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("organisation {organisation} ("))
            && out.contains("is a data: address"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&listed.stderr).contains("2 stored website(s)"));
}

async fn the_listing_form_refuses_a_script_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let sql = "SELECT id FROM directory_services WHERE locality_slug = 'ladywood' \
               AND merged_into IS NULL ORDER BY name LIMIT 1";
    let id: Uuid = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    });
    let connector = app.sign_in(CONNECTOR).await;
    let form = |url: &str| {
        vec![
            ("csrf_token", connector.csrf.clone()),
            ("name", "Linked Club".to_string()),
            ("description", "For every family.".to_string()),
            ("status", "active".to_string()),
            ("url", url.to_string()),
            ("free", "yes".to_string()),
        ]
    };
    let path = format!("/directory/manage/services/{id}");
    for (bad, says) in [
        ("javascript:alert(1)", "is a javascript: address"),
        ("https://user:secret@evil.example", "user name or password"),
        ("https://exa mple.org", "has a space"),
    ] {
        let response = connector.post(&app, &path, &form(bad)).await;
        assert_ne!(response.status(), 303, "{bad} was taken");
        let page = response.text().await.unwrap();
        assert!(page.contains(says), "{bad}: {page}");
    }
    let saved = connector
        .post(&app, &path, &form("www.linked-club.example"))
        .await;
    assert_eq!(saved.status(), 303);
    let page = text(&app, &format!("/find-support/services/{id}")).await;
    assert!(page.contains("href=\"https://www.linked-club.example/\""));

    // A change proposed before links were checked cannot be approved (422, not a 500), and the
    // listing keeps its link.
    let change = Uuid::now_v7();
    let proposed = serde_json::json!({
        "name": "Linked Club", "description": "", "url": "javascript:alert(1)", "email": null,
        "phone": null, "status": "active", "minimum_age": null, "maximum_age": null,
        "free": true, "fees_description": null
    })
    .to_string();
    write(
        &app,
        "INSERT INTO directory_changes (id, service_id, at_micros, actor, actor_organisation, kind, \
         status, summary, proposed) VALUES ($2, $3, 1, 'someone', 'somewhere', 'edit', 'pending', \
         'Changed website', $1)",
        &proposed,
        &[change, id],
    )
    .await;
    let approve = connector
        .post(
            &app,
            &format!("/directory/manage/changes/{change}/approve"),
            &[("csrf_token", connector.csrf.clone())],
        )
        .await;
    assert_eq!(approve.status(), 422);
    assert!(approve.text().await.unwrap().contains("reject it"));
    let page = text(&app, &format!("/find-support/services/{id}")).await;
    assert!(page.contains("href=\"https://www.linked-club.example/\""));
    assert_no_script_links(&page, "the service page");
}

//! Privacy-preserving matching (issue 14, item 5), on both databases: an agency's list encoded
//! with `earlyhelp link encode` and a project key is matched by a real `earlyhelp serve` that
//! holds the same key, and only the agency's matched ids come back; a list encoded with another
//! key, or before key checks, or sent to a server without a key, is refused saying why; the key
//! is found neither in the database nor in the server's log.

use crate::helpers::*;
use crate::matching::{count, id_in, known_pairs_list, terms, upload, value_of, wait_for};
use crate::observability::Served;
use base64::Engine;
use earlyhelp_storage::Db;
use earlyhelp_storage::encoded::LinkageKey;
use std::path::Path;

crate::on_both_backends!(
    an_encoded_list_is_matched_and_only_the_agencys_matched_ids_come_back,
    lists_encoded_with_another_key_or_none_are_refused_saying_why,
);

/// A key of this test's own, so that finding it anywhere means it leaked.
fn test_key(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4().simple())
}

/// `csv` encoded by `earlyhelp link encode` with `key` (written to a key file beside it).
fn encode(dir: &Path, name: &str, csv: &str, key: &str) -> String {
    let (plain, key_file, out) = (
        dir.join(format!("{name}.csv")),
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.encoded.csv")),
    );
    std::fs::write(&plain, csv).unwrap();
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let output = earlyhelp_command(
        &[
            "link",
            "encode",
            &path(&plain),
            "--id",
            "ref",
            "--key-file",
            &path(&key_file),
            "--out",
            &path(&out),
        ],
        &[],
    )
    .output()
    .unwrap();
    stdout_of(&output);
    std::fs::read_to_string(out).unwrap()
}

/// Whether `key` (as text, hex or base64) is anywhere in the database: every table's rows as
/// text on PostgreSQL, the database file and its write-ahead log on SQLite.
async fn database_holds(db: &Db, url: &str, key: &str) -> bool {
    let forms = [
        key.to_string(),
        hex_of(key),
        base64::engine::general_purpose::STANDARD.encode(key),
    ];
    match db {
        Db::Postgres(pool, _) => {
            // query_to_xml reads each table by its name from the catalogue; bytea is base64.
            let sql = "SELECT COUNT(*) FROM information_schema.tables t \
                       WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
                       AND query_to_xml(format('SELECT * FROM %I', t.table_name), true, false, '')::text \
                       LIKE '%' || $1 || '%'";
            for form in forms {
                let found: i64 = sqlx::query_scalar(sql)
                    .bind(form)
                    .fetch_one(pool)
                    .await
                    .unwrap();
                if found > 0 {
                    return true;
                }
            }
            false
        }
        Db::Sqlite(..) => {
            let file = earlyhelp::server::sqlite_path(url).unwrap();
            let mut bytes = std::fs::read(file).unwrap();
            bytes.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
            forms
                .iter()
                .any(|f| bytes.windows(f.len()).any(|w| w == f.as_bytes()))
        }
    }
}

/// An upload refused (422) with `message` on the page.
async fn refused(response: reqwest::Response, message: &str) {
    assert_eq!(response.status(), 422, "{message}");
    let page = response.text().await.unwrap();
    assert!(page.contains(message), "{message} in {page}");
}

/// The list's ids of the pairs found with `status`, in order.
async fn ids_with(db: &Db, status: &str) -> Vec<String> {
    let sql = "SELECT left_id FROM match_results WHERE status = $1 ORDER BY left_id";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).bind(status).fetch_all(pool).await.unwrap()
    })
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn an_encoded_list_is_matched_and_only_the_agencys_matched_ids_come_back(backend: Backend) {
    let dir = temp_dir("encoded-matching");
    let key = test_key("project-key");
    let key_file = dir.join("server.key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let served = Served::start(
        backend,
        &[
            ("EARLYHELP_LINKAGE_KEY_FILE", key_file.to_str().unwrap()),
            ("EARLYHELP_LOG", "debug,hyper=info,h2=info,reqwest=info"),
        ],
    )
    .await;
    let app = &served.app;
    let analyst = app.sign_in(ANALYST).await;
    let page = analyst.get(app, "/matching").await.text().await.unwrap();
    assert!(page.contains("id=\"encoded-ok\""), "{page}");

    // Twenty of earlyhelp's people as the agency holds them, ten changed, and ten strangers;
    // encoded on the agency's side, so no name, date or address leaves it.
    let clear = known_pairs_list(&app.db, 20, 10, 10).await;
    let encoded = encode(&dir, "housing", &clear, &key);
    let header = encoded.lines().next().unwrap();
    assert_eq!(
        header,
        "ref,bf_given,bf_family,bf_birth,bf_address,key_check"
    );
    assert!(!encoded.contains("Quillfeather"), "no clear value");

    let response = upload(&analyst, app, &terms("Housing"), encoded.as_bytes()).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let list = id_in(&response);
    let preview = analyst.get(app, &format!("/matching/lists/{list}")).await;
    let preview = preview.text().await.unwrap();
    assert!(preview.contains("id=\"encoded\""), "{preview}");
    assert!(!preview.contains("<select class=\"govuk-select\" id=\"role_"));

    let form = [
        ("csrf_token", analyst.csrf.as_str()),
        ("against", "earlyhelp"),
    ];
    let started = analyst
        .post(app, &format!("/matching/lists/{list}/runs"), &form)
        .await;
    assert_eq!(started.status(), 303, "{}", started.text().await.unwrap());
    let run = id_in(&started);
    wait_for(app, &analyst, &run).await;

    // What comes back: the agency's own ids of the twenty, and nothing else.
    let download = analyst
        .get(app, &format!("/matching/runs/{run}/matched.csv"))
        .await;
    assert_eq!(download.status(), 200);
    assert!(
        download.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = download.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "ref", "{body}");
    let matched = ids_with(&app.db, "match").await;
    assert_eq!(lines[1..], matched, "the matches' ids, and nothing else");
    for n in 0..20 {
        assert!(matched.contains(&format!("H{n}")), "H{n}: {body}");
    }
    assert!(matched.iter().all(|id| id.starts_with('H')), "{body}");
    // No address or postcode to group households by: no cohort is made from it.
    let cohort = analyst
        .post(
            app,
            &format!("/matching/runs/{run}/cohorts"),
            &[
                ("csrf_token", analyst.csrf.as_str()),
                ("name", "Housing, encoded"),
            ],
        )
        .await;
    assert_eq!(cohort.status(), 409);

    // Possible matches (a name or a date of birth changed, and moved) are reviewed as in the
    // clear: the agency's record by its id alone, earlyhelp's masked. Once one is accepted, its
    // id goes back too.
    let possible = ids_with(&app.db, "possible").await;
    assert!(!possible.is_empty(), "{matched:?}");
    let review = format!("/matching/runs/{run}/review");
    let queue = analyst.get(app, &review).await.text().await.unwrap();
    let shown = queue
        .split("Record ")
        .nth(1)
        .and_then(|rest| rest.split(" of Housing").next())
        .unwrap_or_else(|| panic!("no record in {queue}"))
        .to_string();
    assert!(possible.contains(&shown), "{shown}");
    assert!(queue.contains("encoded (no value)") && queue.contains("id=\"masked\""));
    let form = [
        ("csrf_token", analyst.csrf.clone()),
        ("pair", value_of(&queue, "pair")),
        ("decision", "accept".to_string()),
    ];
    assert_eq!(analyst.post(app, &review, &form).await.status(), 303);
    let again = analyst
        .get(app, &format!("/matching/runs/{run}/matched.csv"))
        .await;
    let again = again.text().await.unwrap();
    assert!(again.lines().any(|id| id == shown), "{again}");
    assert_eq!(again.lines().count(), lines.len() + 1);

    // The encodings of earlyhelp's people are not kept; the explanation holds no value.
    let explanations = count(
        &app.db,
        "SELECT COUNT(*) FROM match_results WHERE explanation LIKE '%encoded (no value)%'",
    )
    .await;
    assert_eq!(
        explanations,
        count(&app.db, "SELECT COUNT(*) FROM match_results").await
    );

    let (db, url) = (app.db.clone(), app.database_url.clone());
    let logs = served.stop();
    assert!(!logs.is_empty(), "the server logged");
    assert!(
        logs.iter().all(|line| !line.contains(&key)),
        "the key is in the log"
    );
    assert!(!database_holds(&db, &url, &key).await, "the key is stored");
    assert!(
        database_holds(&db, &url, "encoded (no value)").await,
        "the scan finds what is there"
    );
    let _ = std::fs::remove_dir_all(dir);
}

async fn lists_encoded_with_another_key_or_none_are_refused_saying_why(backend: Backend) {
    let dir = temp_dir("encoded-refused");
    let key = test_key("server-key");
    let config = earlyhelp_web::Config {
        linkage_key: Some(LinkageKey::new(key.as_bytes()).unwrap()),
        ..test_config()
    };
    // The configuration as a log line or panic would print it holds nothing of the key.
    let printed = format!("{config:?}");
    assert!(
        !printed.contains(&key) && !printed.contains(&hex_of(&key)),
        "{printed}"
    );
    let app = spawn_app_with(backend, config).await;
    let analyst = app.sign_in(ANALYST).await;
    let clear = known_pairs_list(&app.db, 20, 0, 0).await;

    // Encoded with another key: refused at upload, plainly.
    let other = encode(&dir, "other", &clear, &test_key("another-key"));
    let response = upload(&analyst, &app, &terms("Housing"), other.as_bytes()).await;
    refused(
        response,
        "the list was encoded with a different key from this server&#39;s",
    )
    .await;
    // The command line refuses to link the two files as well.
    let ours = encode(&dir, "ours", &clear, &key);
    let output = earlyhelp_command(
        &[
            "link",
            dir.join("ours.encoded.csv").to_str().unwrap(),
            dir.join("other.encoded.csv").to_str().unwrap(),
            "--id",
            "ref",
            "--out",
            dir.join("pairs.csv").to_str().unwrap(),
        ],
        &[],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("were encoded with different keys"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Encoded before key checks were written (no key_check column): refused, saying why.
    let older: String = ours
        .lines()
        .map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0))
        .collect();
    let response = upload(&analyst, &app, &terms("Housing"), older.as_bytes()).await;
    refused(response, "has no key_check column").await;

    // Encoded with the server's key: kept, with no values to preview.
    let response = upload(&analyst, &app, &terms("Housing"), ours.as_bytes()).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let list = id_in(&response);

    // A server without a key says on the page that encoded lists cannot be matched, and why,
    // refuses one, and will not start a run of the one kept.
    let keyless = serve(app.db.clone(), app.database_url.clone()).await;
    let analyst = keyless.sign_in(ANALYST).await;
    let page = analyst
        .get(&keyless, "/matching")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"no-key\""), "{page}");
    assert!(page.contains("no linkage key is set"));
    let response = upload(&analyst, &keyless, &terms("Housing"), ours.as_bytes()).await;
    refused(response, "encoded lists cannot be matched on this server").await;
    let form = [
        ("csrf_token", analyst.csrf.as_str()),
        ("against", "earlyhelp"),
    ];
    let started = analyst
        .post(&keyless, &format!("/matching/lists/{list}/runs"), &form)
        .await;
    refused(started, "encoded lists cannot be matched on this server").await;
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_lists").await, 1);
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM match_runs").await, 0);

    // A server given a key it cannot use does not start, and does not say the key.
    let short = test_key("k")[..10].to_string();
    for envs in [
        vec![("EARLYHELP_LINKAGE_KEY", short.as_str())],
        vec![
            ("EARLYHELP_LINKAGE_KEY", key.as_str()),
            ("EARLYHELP_LINKAGE_KEY_FILE", "/nonexistent"),
        ],
    ] {
        let output = earlyhelp_command(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                "sqlite://",
            ],
            &envs,
        )
        .output()
        .unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{said}");
        assert!(said.contains("EARLYHELP_LINKAGE_KEY"), "{said}");
        assert!(!said.contains(&short) && !said.contains(&key), "{said}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

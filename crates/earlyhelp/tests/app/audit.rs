use crate::helpers::*;
use earlyhelp_domain::audit::{ChainedFields, GENESIS, chain_hash};
use earlyhelp_storage::Db;
use earlyhelp_storage::gate::{AuditEvent, NewEvent};
use std::path::Path;
use std::process::Output;

crate::on_both_backends!(
    the_information_governance_officer_reads_the_audit_log,
    the_audit_log_refuses_changes,
    audit_verify_catches_an_edited_and_a_recomputed_chain,
);

async fn the_information_governance_officer_reads_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(practitioner.get(&app, "/admin/users").await.status(), 403);
    assert_eq!(practitioner.get(&app, "/audit").await.status(), 403);

    let ig = app.sign_in(IG_OFFICER).await;
    let query = [("actor", PRACTITIONER), ("outcome", "denied")];
    let response = ig
        .client
        .get(app.url("/audit"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("2 events"),
        "the practitioner's two refusals, and nothing else: {html}"
    );
    assert!(html.contains("audit_log") && html.contains(">users<"));
    assert!(!html.contains(">allowed<"));
}

async fn run_sql(app: &TestApp, sql: &str) -> Result<u64, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })
}

async fn the_audit_log_refuses_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(ADMIN).await;
    let update = run_sql(
        &app,
        "UPDATE audit_events SET outcome = 'allowed' WHERE seq = 1",
    )
    .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = run_sql(&app, "DELETE FROM audit_events").await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

/// `earlyhelp audit ACTION --database URL` with default settings, under `home`.
fn audit(action: &str, database: &str, home: &Path) -> Output {
    let home = home.to_str().unwrap();
    run_earlyhelp(
        &["audit", action, "--database", database],
        &[("HOME", home)],
    )
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Signs a checkpoint of the chain's head as it is now; answers its seq.
async fn checkpoint(app: &TestApp, home: &Path) -> i64 {
    let output = audit("checkpoint", &app.database_url, home);
    assert!(output.status.success(), "{}", said(&output));
    newest_seq(&app.db).await
}

async fn newest_seq(db: &Db) -> i64 {
    let sql = "SELECT MAX(seq) FROM audit_events";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    })
}

async fn sql_on(db: &Db, sql: &str) -> u64 {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query(sql)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    })
}

/// What someone holding the database does to hide a change: rewrites event `from` and every
/// hash after it, so the chain in the database is consistent again.
async fn recompute_chain_from(db: &Db, from: i64) {
    let sql = "SELECT seq, at_micros, actor, actor_organisation, actor_role, subject, action, \
               purpose, outcome, remote_addr, prev_hash, hash FROM audit_events ORDER BY seq";
    let events: Vec<AuditEvent> = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql).fetch_all(pool).await.unwrap()
    });
    let mut previous = GENESIS.to_string();
    for event in events {
        if event.seq >= from {
            let purpose = if event.seq == from {
                format!("{} (rewritten)", event.purpose)
            } else {
                event.purpose.clone()
            };
            let fields = ChainedFields {
                seq: event.seq,
                at_micros: event.at_micros,
                actor: &event.actor,
                actor_organisation: &event.actor_organisation,
                actor_role: &event.actor_role,
                subject: &event.subject,
                action: &event.action,
                purpose: &purpose,
                outcome: &event.outcome,
                remote_addr: &event.remote_addr,
            };
            let hash = chain_hash(&previous, &fields);
            let update = "UPDATE audit_events SET purpose = $1, prev_hash = $2, hash = $3 \
                          WHERE seq = $4";
            earlyhelp_storage::on_pool!(db, pool => {
                sqlx::query(update)
                    .bind(&purpose)
                    .bind(&previous)
                    .bind(&hash)
                    .bind(event.seq)
                    .execute(pool)
                    .await
                    .unwrap();
            });
            previous = hash;
        } else {
            previous = event.hash;
        }
    }
}

/// Makes a few audit events: sign-ins, right and wrong.
async fn some_events(app: &TestApp) {
    for _ in 0..2 {
        app.sign_in(ADMIN).await;
        app.try_sign_in(&client(), COMMISSIONER, "wrong password")
            .await;
    }
}

async fn audit_verify_catches_an_edited_and_a_recomputed_chain(backend: Backend) {
    let app = spawn_app(backend).await;
    let home = temp_dir("home");
    some_events(&app).await;
    checkpoint(&app, &home).await;
    let clean = audit("verify", &app.database_url, &home);
    assert!(clean.status.success(), "{}", said(&clean));
    let report = said(&clean);
    assert!(
        report.contains("hash chain verified against 1 signed checkpoint"),
        "{report}"
    );
    assert!(report.contains("seconds ago"), "{report}");

    // Someone with the database itself switches off the guard and rewrites history.
    let disable = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
    };
    sql_on(&app.db, disable).await;
    let edited = sql_on(
        &app.db,
        "UPDATE audit_events SET outcome = 'allowed' WHERE seq = \
         (SELECT MIN(seq) FROM audit_events WHERE outcome = 'denied')",
    )
    .await;
    assert_eq!(edited, 1);

    let tampered = audit("verify", &app.database_url, &home);
    assert!(!tampered.status.success());
    let report = said(&tampered);
    assert!(
        report.contains("its contents have changed since it was written"),
        "{report}"
    );
    assert!(
        report.contains("tampered with: the first bad event is"),
        "{report}"
    );

    // Recomputing the chain after the change hides it from the chain, not from the checkpoint.
    let changed = {
        let sql = "SELECT MIN(seq) FROM audit_events WHERE actor = $1 \
                   AND purpose = 'wrong email or password'";
        earlyhelp_storage::on_pool!(&app.db, pool => {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(COMMISSIONER)
                .fetch_one(pool)
                .await
                .unwrap()
        })
    };
    recompute_chain_from(&app.db, changed).await;
    let recomputed = audit("verify", &app.database_url, &home);
    assert!(!recomputed.status.success());
    let report = said(&recomputed);
    assert!(
        !report.contains("its contents have changed"),
        "the chain itself holds: {report}"
    );
    assert!(
        report.contains("the chain was rewritten at or before this event"),
        "{report}"
    );
}

/// Copies the SQLite database as someone would take it away, whole.
async fn copy_of(db: &Db) -> (Db, String) {
    let path = temp_dir("copy").join("copy.db");
    let Db::Sqlite(pool, _) = db else {
        unreachable!("copies are of SQLite files")
    };
    sqlx::query("VACUUM INTO $1")
        .bind(path.to_str().unwrap())
        .execute(pool)
        .await
        .unwrap();
    let url = format!("sqlite://{}", path.display());
    (Db::connect(&url).await.unwrap(), url)
}

/// Each way of rewriting the log, tried on a copy of the file taken elsewhere and checked with
/// default settings: the checkpoints are found by the chain's own id, not the file's path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tampering_is_caught_on_a_copy_of_the_file() {
    let app = spawn_app(Backend::Sqlite).await;
    let home = temp_dir("home");
    some_events(&app).await;
    let first = checkpoint(&app, &home).await;
    some_events(&app).await;
    let second = checkpoint(&app, &home).await;
    some_events(&app).await;
    assert!(first + 3 < second && second < newest_seq(&app.db).await);

    let verify = |url: &str| audit("verify", url, &home);
    let (_, untouched) = copy_of(&app.db).await;
    let intact = verify(&untouched);
    assert!(intact.status.success(), "{}", said(&intact));
    assert!(
        said(&intact).contains("against 2 signed checkpoint(s)"),
        "{}",
        said(&intact)
    );

    let no_guard = "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete";
    let cases = [
        (
            "an edited event",
            format!(
                "UPDATE audit_events SET purpose = 'nothing to see' WHERE seq = {}",
                first - 1
            ),
            format!("first bad event is {}", first - 1),
        ),
        (
            "an event deleted",
            format!("DELETE FROM audit_events WHERE seq = {}", first + 1),
            format!("first bad event is {}", first + 1),
        ),
        (
            "the last events deleted, cutting the log before the newest checkpoint",
            format!("DELETE FROM audit_events WHERE seq >= {}", second - 1),
            format!("event {}: missing", second - 1),
        ),
    ];
    for (what, tampering, expected) in cases {
        let (copy, url) = copy_of(&app.db).await;
        for statement in no_guard.split("; ") {
            sql_on(&copy, statement).await;
        }
        sql_on(&copy, &tampering).await;
        copy.close().await;
        let output = verify(&url);
        assert!(
            !output.status.success(),
            "{what} went unnoticed: {}",
            said(&output)
        );
        assert!(
            said(&output).contains(&expected),
            "{what}: {}",
            said(&output)
        );
        assert!(
            said(&output).contains("ago"),
            "{what}: says how old the newest checkpoint is"
        );
    }

    // The log cut after the first checkpoint, and new events chained on properly past the second.
    let (copy, url) = copy_of(&app.db).await;
    sql_on(&copy, "DROP TRIGGER audit_events_no_delete").await;
    sql_on(
        &copy,
        &format!("DELETE FROM audit_events WHERE seq > {first}"),
    )
    .await;
    while newest_seq(&copy).await <= second {
        let event = NewEvent {
            actor: "someone",
            actor_organisation: "",
            actor_role: "",
            subject: "session",
            action: "sign_in",
            purpose: "signed in",
            outcome: "allowed",
            remote_addr: "127.0.0.1",
        };
        earlyhelp_storage::gate::record(&copy, &event)
            .await
            .unwrap();
    }
    copy.close().await;
    let output = verify(&url);
    assert!(!output.status.success());
    let report = said(&output);
    assert!(
        report.contains(&format!("first bad event is {second}")),
        "{report}"
    );
    assert!(report.contains(&format!("after event {first}")), "{report}");

    // A recomputed chain: consistent in itself, but not what the checkpoint signed.
    let (copy, url) = copy_of(&app.db).await;
    sql_on(&copy, "DROP TRIGGER audit_events_no_update").await;
    recompute_chain_from(&copy, first - 2).await;
    copy.close().await;
    let output = verify(&url);
    assert!(!output.status.success());
    let report = said(&output);
    assert!(
        report.contains(&format!("first bad event is {first}")),
        "{report}"
    );
    assert!(report.contains("the chain was rewritten"), "{report}");

    // Recomputed from the very first event, the chain gets a new id: no checkpoint vouches for it.
    let (copy, url) = copy_of(&app.db).await;
    sql_on(&copy, "DROP TRIGGER audit_events_no_update").await;
    recompute_chain_from(&copy, 1).await;
    copy.close().await;
    let output = verify(&url);
    assert!(!output.status.success());
    assert!(
        said(&output).contains("no signed checkpoint of this chain"),
        "{}",
        said(&output)
    );

    // A checkpoint file changed to agree with a rewrite is not evidence: it is a forgery.
    let chain_dir = home.join(".local/share/earlyhelp/checkpoints");
    let file = std::fs::read_dir(
        std::fs::read_dir(&chain_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .max()
    .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("\"seq\": ", "\"seq\": 1")).unwrap();
    let output = verify(&untouched);
    assert!(!output.status.success());
    assert!(
        said(&output).contains("forged or altered"),
        "{}",
        said(&output)
    );
}

use crate::helpers::*;
use std::process::Command;

crate::on_both_backends!(
    the_information_governance_officer_reads_the_audit_log,
    the_audit_log_refuses_changes,
    audit_verify_catches_an_edited_row,
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
    match &app.db {
        earlyhelp_storage::Db::Sqlite(pool, _) => sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        earlyhelp_storage::Db::Postgres(pool) => sqlx::query(sql)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    }
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

fn verify(app: &TestApp) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_earlyhelp"))
        .args(["audit", "verify", "--database", &app.database_url])
        .output()
        .unwrap()
}

async fn audit_verify_catches_an_edited_row(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(ADMIN).await;
    app.try_sign_in(&client(), ADMIN, "wrong password").await;
    let clean = verify(&app);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).contains("hash chain verified"));

    // Someone with the database itself switches off the guard and rewrites history.
    let disable = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
    };
    run_sql(&app, disable).await.unwrap();
    let edited = run_sql(
        &app,
        "UPDATE audit_events SET outcome = 'allowed' WHERE outcome = 'denied'",
    )
    .await
    .unwrap();
    assert_eq!(edited, 1);

    let tampered = verify(&app);
    assert!(!tampered.status.success());
    let report = String::from_utf8_lossy(&tampered.stdout);
    assert!(
        report.contains("its contents have changed since it was written"),
        "{report}"
    );
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("tampered"));
}

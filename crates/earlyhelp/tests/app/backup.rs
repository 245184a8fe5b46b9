//! `earlyhelp backup` while the server takes writes, and `earlyhelp restore` into a new
//! database: every write acknowledged before the backup began is there, and the audit chain
//! holds.

use crate::cli::stderr;
use crate::helpers::*;
use earlyhelp_storage::Db;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

crate::on_both_backends!(a_backup_under_writes_restores_every_acknowledged_write);

async fn a_backup_under_writes_restores_every_acknowledged_write(backend: Backend) {
    let app = spawn_app(backend).await;
    // Writers: failed sign-ins, each an audit event and a counted attempt, acknowledged by
    // the server's 401.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stopping = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..2 {
        let (address, acknowledged, stopping) =
            (app.address.clone(), acknowledged.clone(), stopping.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stopping.load(Ordering::Relaxed) {
                let email = format!("writer-{writer}-{n}@example.org");
                let client = client();
                let page = client
                    .get(format!("{address}/sign-in"))
                    .send()
                    .await
                    .unwrap();
                let form = [
                    ("csrf_token", csrf_in(&page.text().await.unwrap())),
                    ("email", email.clone()),
                    ("password", "not the password".into()),
                ];
                let answer = client
                    .post(format!("{address}/sign-in"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 401);
                acknowledged.lock().unwrap().push(email);
                n += 1;
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 6 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let dir = temp_dir("backup");
    let file = dir.join("earlyhelp.backup");
    let (url, out) = (app.database_url.clone(), file.to_str().unwrap().to_string());
    let backed_up = tokio::task::spawn_blocking(move || {
        run_earlyhelp(&["backup", "--out", &out, "--database", &url], &[])
    })
    .await
    .unwrap();
    stopping.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(stdout_of(&backed_up).contains("backed up"));

    let again = run_earlyhelp(
        &[
            "backup",
            "--out",
            file.to_str().unwrap(),
            "--database",
            &app.database_url,
        ],
        &[],
    );
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    let target = fresh_database(backend).await;
    let restore = |into: &str| {
        run_earlyhelp(
            &["restore", file.to_str().unwrap(), "--database", into],
            &[("HOME", dir.to_str().unwrap())],
        )
    };
    let said = stdout_of(&restore(&target));
    assert!(said.contains("audit log intact"), "{said}");

    let restored = Db::connect(&target).await.unwrap();
    let chain = earlyhelp_storage::gate::verify_chain(&restored)
        .await
        .unwrap();
    assert!(chain.problems.is_empty(), "{:?}", chain.problems);
    let sql = "SELECT actor FROM audit_events WHERE action = 'sign_in' AND actor LIKE 'writer-%'";
    let actors: Vec<String> = earlyhelp_storage::on_pool!(&restored, pool => {
        sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
    });
    for email in &before {
        assert!(
            actors.contains(email),
            "{email} was acknowledged before the backup"
        );
    }
    restored.close().await;

    // Into a database that holds anything, never.
    let refused = restore(&target);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("is not empty"),
        "{}",
        stderr(&refused)
    );
}

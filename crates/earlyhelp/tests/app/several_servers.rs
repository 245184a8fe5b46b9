//! Several app servers on one PostgreSQL: sessions, CSRF, the sign-in lockout, the audit chain,
//! the outbox and the periodic jobs' lease hold across them, and migrations run once when
//! they start together. SQLite is for one server, and a second on the same file is refused.

use crate::cli::{start_server, stderr, stop};
use crate::helpers::*;
use earlyhelp_storage::{Db, gate, leases, outbox};
use std::time::Duration;

/// A failed sign-in for `email` on `app` (one audit event), answered 401.
async fn wrong_password(app: &TestApp, email: &str) -> String {
    let response = app.try_sign_in(&client(), email, "not the password").await;
    assert_eq!(response.status(), 401, "a wrong password for {email}");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgresql() {
    if postgres_admin_url().is_none() {
        return;
    }
    let a = spawn_app(Backend::Postgres).await;
    let b = serve_another(&a).await;

    // A session begun on one server is good on the other, request after request.
    let session = a.sign_in(PRACTITIONER).await;
    for (i, server) in [&a, &b, &a, &b, &b, &a].into_iter().enumerate() {
        let page = session.get(server, "/account/sessions").await;
        assert_eq!(page.status(), 200, "request {i} on {}", server.address);
    }

    // Its CSRF token is checked by either server; a wrong one is refused by either.
    let forged = session
        .post(&b, "/sign-out", &[("csrf_token", "not-the-token")])
        .await;
    assert_eq!(forged.status(), 403);
    let signed_out = session
        .post(&b, "/sign-out", &[("csrf_token", session.csrf.as_str())])
        .await;
    assert_eq!(signed_out.status(), 303);
    let after = session.get(&a, "/account/sessions").await;
    assert_ne!(after.status(), 200, "signed out on B is signed out on A");

    // Wrong passwords count across both servers: five, alternating, lock the sixth out even
    // with the right password.
    for server in [&a, &b, &a, &b, &a] {
        wrong_password(server, LOCALITY_LEAD).await;
    }
    let locked = b.try_sign_in(&client(), LOCALITY_LEAD, DEMO_PASSWORD).await;
    assert_eq!(locked.status(), 401);
    assert!(
        locked.text().await.unwrap().contains("too many times"),
        "the lockout counts attempts on both servers"
    );

    // Audited writes through both at once make one chain, unforked.
    let writes = (0..24).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        async move { wrong_password(server, &format!("writer-{i}@example.org")).await }
    });
    futures_util::future::join_all(writes).await;
    let chain = gate::verify_chain(&a.db).await.unwrap();
    assert!(chain.problems.is_empty(), "{:?}", chain.problems);
    let writers = a.audit_of("session").await;
    let written = writers
        .iter()
        .filter(|(actor, _, _)| actor.starts_with("writer-"))
        .count();
    assert_eq!(written, 24, "every write is in the chain once");

    // Messages queued once are sent once, with both servers' workers draining the outbox.
    let mut tx = a.db.begin().await.unwrap();
    for i in 0..30 {
        outbox::enqueue(
            &mut tx,
            &format!("someone-{i}@example.org"),
            "two servers",
            "A message",
            "/",
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut waited = 0;
    let queued = loop {
        let queued: Vec<_> = outbox::recent(&a.db, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.subject == "two servers")
            .collect();
        if queued.iter().all(|m| m.sent_micros.is_some()) {
            break queued;
        }
        assert!(waited < 100, "the outbox was not drained within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    };
    assert_eq!(queued.len(), 30);
    for message in &queued {
        assert_eq!(
            message.attempts, 1,
            "{} was claimed (and sent) more than once",
            message.to_address
        );
    }
}

crate::on_both_backends!(one_server_at_a_time_holds_the_jobs_lease);

async fn one_server_at_a_time_holds_the_jobs_lease(backend: Backend) {
    let db: Db = earlyhelp::server::open(&fresh_database(backend).await)
        .await
        .unwrap();
    let minute = 60_000_000;
    assert!(leases::take(&db, "jobs", "a", 0, minute).await.unwrap());
    assert!(!leases::take(&db, "jobs", "b", 1, minute).await.unwrap());
    assert!(
        leases::take(&db, "jobs", "a", 2, minute).await.unwrap(),
        "its holder renews it"
    );
    assert!(
        leases::take(&db, "other", "b", 3, minute).await.unwrap(),
        "leases are by name"
    );
    leases::give_back(&db, "jobs", "b").await.unwrap();
    assert!(
        !leases::take(&db, "jobs", "b", 4, minute).await.unwrap(),
        "only the holder gives it back"
    );
    leases::give_back(&db, "jobs", "a").await.unwrap();
    assert!(leases::take(&db, "jobs", "b", 5, minute).await.unwrap());
    assert!(
        leases::take(&db, "jobs", "a", 6 + minute, minute)
            .await
            .unwrap(),
        "a lease whose holder died runs out"
    );
    db.close().await;
}

/// Two `earlyhelp serve` processes started at once on an empty PostgreSQL database: both
/// start, and each migration is applied once (sqlx's migrator holds an advisory lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_starting_at_once_migrate_once() {
    if postgres_admin_url().is_none() {
        return;
    }
    let database = fresh_database(Backend::Postgres).await;
    let home = temp_dir("home");
    let ((first, _), (second, _)) = tokio::join!(
        start_server(&database, &home, "3600"),
        start_server(&database, &home, "3600")
    );
    stop(first);
    stop(second);
    let db = Db::connect(&database).await.unwrap();
    let Db::Postgres(pool, _) = &db else {
        unreachable!()
    };
    let (rows, versions, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT version), COUNT(*) FILTER (WHERE NOT success) \
         FROM _sqlx_migrations",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/postgres"
    ))
    .unwrap()
    .count() as i64;
    assert_eq!((rows, versions, failed), (migrations, migrations, 0));
    db.close().await;
}

/// SQLite is one server's: a second `serve` on the same file refuses to start, and once the
/// first has stopped a new one starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_sqlite_file_is_refused() {
    let home = temp_dir("home");
    let database = format!("sqlite://{}", temp_dir("db").join("one.db").display());
    let (first, _) = start_server(&database, &home, "3600").await;
    let second = run_earlyhelp(
        &["serve", "--listen", "127.0.0.1:0", "--database", &database],
        &[("HOME", home.to_str().unwrap())],
    );
    let (said, first_id) = (stderr(&second), first.id());
    stop(first); // before asserting, so a failure leaves no server behind
    assert!(!second.status.success());
    assert!(
        said.contains("another earlyhelp server is already serving")
            && said.contains(&format!("process {first_id}"))
            && said.contains("use PostgreSQL"),
        "{said}"
    );
    let (again, _) = start_server(&database, &home, "3600").await;
    stop(again);
}

//! What operators see: `/metrics` on its own address, and JSON logs with a request id on each
//! request's lines and no personal data. Each test runs the real `earlyhelp serve` as a child
//! process, as an operator would, and reads what it writes to standard error.

use crate::helpers::*;
use std::io::BufRead;
use std::sync::{Arc, Mutex};

/// A child `earlyhelp serve` on a copy of the demo city, with its log lines as they come.
pub(crate) struct Served {
    child: Option<std::process::Child>,
    pub(crate) app: TestApp,
    metrics: Option<String>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Served {
    pub(crate) async fn start(backend: Backend, envs: &[(&str, &str)]) -> Served {
        let database = fresh_demo_database(backend).await;
        let home = temp_dir("observed");
        let mut all = vec![
            ("HOME", home.to_str().unwrap()),
            ("EARLYHELP_LOG_FORMAT", "json"),
            // The demo's accounts have no second factor set up.
            ("EARLYHELP_SECOND_FACTOR", "optional"),
        ];
        all.extend_from_slice(envs);
        let mut command = earlyhelp_command(
            &["serve", "--listen", "127.0.0.1:0", "--database", &database],
            &[],
        );
        command.env_remove("EARLYHELP_LOG").envs(all);
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                kept.lock().unwrap().push(line.unwrap());
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (address, metrics) = tokio::task::spawn_blocking(move || {
            let mut metrics = None;
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let after = |marker: &str| {
                    line.split(marker)
                        .nth(1)
                        .map(|rest| rest.split(' ').next().unwrap().to_string())
                };
                if let Some(url) = after("metrics for operators at ") {
                    metrics = Some(url);
                }
                if let Some(url) = after("listening on ") {
                    return (url, metrics);
                }
            }
            panic!("the server stopped before it listened");
        })
        .await
        .unwrap();
        Served {
            child: Some(child),
            app: TestApp::elsewhere(address, database).await,
            metrics,
            logs,
        }
    }

    /// Stops the server (SIGTERM, a clean shutdown) and answers every line it logged.
    pub(crate) fn stop(mut self) -> Vec<String> {
        crate::cli::stop(self.child.take().unwrap());
        // The reader thread ends at the pipe's end, just after the process.
        std::thread::sleep(std::time::Duration::from_millis(200));
        self.logs.lock().unwrap().clone()
    }
}

/// A test that fails must not leave its server running.
impl Drop for Served {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The sample of `metric` with exactly these `labels` (as Prometheus writes them), if any.
fn sample(metrics: &str, metric: &str, labels: &str) -> Option<f64> {
    let wanted = format!("{metric}{labels} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&wanted))
        .map(|value| value.trim().parse().unwrap())
}

crate::on_both_backends!(
    metrics_are_served_on_their_own_address_by_route_pattern,
    logs_are_json_with_request_ids_and_no_personal_data,
);

async fn metrics_are_served_on_their_own_address_by_route_pattern(backend: Backend) {
    // An hour between the background jobs: they run once, at start.
    let served = Served::start(
        backend,
        &[
            ("EARLYHELP_METRICS_ADDR", "127.0.0.1:0"),
            ("EARLYHELP_REFRESH_SECONDS", "3600"),
        ],
    )
    .await;
    let app = &served.app;
    let metrics_url = served
        .metrics
        .clone()
        .expect("the server says where metrics are");
    assert!(metrics_url.ends_with("/metrics"), "{metrics_url}");
    assert!(
        !metrics_url.starts_with(&app.address),
        "metrics have their own address"
    );
    let public = client();
    let get = |url: String| {
        let public = public.clone();
        async move { public.get(url).send().await.unwrap() }
    };

    // The public listener has no /metrics.
    assert_eq!(get(app.url("/metrics")).await.status(), 404);

    // One email of ours in the outbox, so it is not empty.
    let mut tx = app.db.begin().await.unwrap();
    earlyhelp_storage::outbox::enqueue(&mut tx, "ops@example.org", "A test", "Body", "/")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    for _ in 0..3 {
        assert_eq!(get(app.url("/healthz")).await.status(), 200);
    }
    let service = "0190a0a0-0000-7000-8000-00000000beef";
    let missing = get(app.url(&format!("/find-support/services/{service}"))).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(get(app.url("/no/such/page")).await.status(), 404);

    // The jobs' first run may be sending the demo's mail meanwhile: read the outbox before and
    // after a scrape until they agree.
    let mut tries = 0;
    let (metrics, unsent) = loop {
        let before = earlyhelp_storage::outbox::depth(&app.db).await.unwrap().0;
        let page = get(metrics_url.clone()).await;
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let metrics = page.text().await.unwrap();
        if earlyhelp_storage::outbox::depth(&app.db).await.unwrap().0 == before {
            break (metrics, before);
        }
        tries += 1;
        assert!(tries < 50, "the outbox never kept still");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let count = |labels: &str| sample(&metrics, "http_requests_total", labels);
    assert_eq!(
        count(r#"{method="GET",route="/healthz",status="200"}"#),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        count(r#"{method="GET",route="/find-support/services/{id}",status="404"}"#),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        count(r#"{method="GET",route="(no route)",status="404"}"#),
        Some(2.0),
        "the public /metrics and /no/such/page: {metrics}"
    );
    assert!(
        !metrics.contains(service) && !metrics.contains("/no/such/page"),
        "never a raw path: {metrics}"
    );
    assert!(
        metrics.contains(
            r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",le="+Inf"} 3"#
        ),
        "{metrics}"
    );
    assert!(unsent >= 1);
    assert_eq!(
        sample(&metrics, "earlyhelp_outbox_unsent", ""),
        Some(unsent as f64),
        "{metrics}"
    );
    assert!(sample(&metrics, "earlyhelp_outbox_retrying", "").is_some());
    for job in ["expire_referrals", "remind_services"] {
        let labels = format!(r#"{{job="{job}"}}"#);
        assert!(
            sample(&metrics, "earlyhelp_jobs_due", &labels).is_some(),
            "{metrics}"
        );
    }
    assert!(sample(&metrics, "earlyhelp_db_pool_connections", "").unwrap() >= 1.0);
    assert!(sample(&metrics, "earlyhelp_db_pool_idle", "").is_some());

    // The metrics address serves nothing else.
    let elsewhere = metrics_url.trim_end_matches("/metrics");
    assert_eq!(get(format!("{elsewhere}/healthz")).await.status(), 404);
    served.stop();
}

async fn logs_are_json_with_request_ids_and_no_personal_data(backend: Backend) {
    // Jobs often, so the outbox's mail is logged too; a debug filter, so every line the code
    // has is in play.
    let served = Served::start(
        backend,
        &[
            ("EARLYHELP_REFRESH_SECONDS", "0.2"),
            ("EARLYHELP_LOG", "debug"),
        ],
    )
    .await;
    let app = &served.app;

    // A practitioner opens a family they lead, and writes a note naming them.
    let practitioner = app.sign_in(PRACTITIONER).await;
    let (family, given, surname, postcode) = practitioners_family(&app.db).await;
    let page = practitioner.get(app, &format!("/families/{family}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&surname));
    let note = format!("Met {given} {surname} at home, {postcode}");
    let noted = practitioner
        .post(
            app,
            &format!("/families/{family}/notes"),
            &[("csrf_token", practitioner.csrf.as_str()), ("body", &note)],
        )
        .await;
    assert_eq!(noted.status(), 303);

    // A family refers themselves, once with a mistake (refused, and logged at warn).
    let public = client();
    let form = public
        .get(app.url("/self-referral"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut pairs = crate::cases::form_pairs(&csrf_in(&form), "B16 8HA");
    for (field, value) in pairs.iter_mut() {
        match *field {
            "member_1_given_name" => *value = "Zebedee".into(),
            "member_1_family_name" => *value = "Quartermaine".into(),
            "address" => *value = "7 Loglane Close".into(),
            _ => {}
        }
    }
    let refused = public
        .post(app.url("/self-referral"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422, "no contact yet");
    pairs.push(("contact", "zebedee.quartermaine@example.org".into()));
    pairs.push(("share", "yes".into()));
    let sent = public
        .post(app.url("/self-referral"))
        .form(&pairs)
        .header("x-request-id", "caller-chosen-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(sent.headers()["x-request-id"], "caller-chosen-id-1");

    // Searches: the directory by postcode and words, and the family's name by the IG officer.
    let search = public
        .get(app.url(&format!(
            "/find-support?q=Quartermaine&postcode={}",
            postcode.replace(' ', "+")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200);
    let request_id = search.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let ig = app.sign_in(IG_OFFICER).await;
    let found = ig
        .get(app, &format!("/governance?name={given}+{surname}"))
        .await;
    assert_eq!(found.status(), 200);
    // Let the jobs tell the locality team of the self-referral, through the log mailer.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;

    let lines = served.stop();
    assert!(lines.len() > 10, "the journey was logged: {lines:?}");
    let mut answered = 0;
    let mut ids = std::collections::HashSet::new();
    for line in &lines {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        let request = entry["spans"]
            .as_array()
            .and_then(|spans| spans.iter().find(|s| s["name"] == "request"));
        if entry["message"] == "answered" || entry["route"].is_string() {
            let request = request.unwrap_or_else(|| panic!("a request line with no id: {line}"));
            ids.insert(request["request_id"].as_str().unwrap().to_string());
            answered += 1;
        }
        for private in [
            given.as_str(),
            surname.as_str(),
            postcode.as_str(),
            &postcode.replace(' ', "+"),
            "Zebedee",
            "Quartermaine",
            "Loglane",
            "Formfamily",
            // Any email address: the demo's staff are all @earlyhelp.test.
            "@example.org",
            "@earlyhelp.test",
        ] {
            assert!(
                !line.to_lowercase().contains(&private.to_lowercase()),
                "a log line holds {private:?}: {line}"
            );
        }
    }
    assert!(answered >= 10, "each request has its line: {lines:?}");
    assert!(
        ids.contains(&request_id),
        "the answered id is the logged one"
    );
    assert!(ids.contains("caller-chosen-id-1"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("refused a request as sent")),
        "the refused form was logged: {lines:?}"
    );
}

/// An open family the practitioner leads: its id, a member's given and family name, and its
/// postcode.
async fn practitioners_family(db: &earlyhelp_storage::Db) -> (uuid::Uuid, String, String, String) {
    let sql = "SELECT f.id, m.given_name, m.family_name, f.postcode FROM families f \
               JOIN users u ON u.id = f.lead_practitioner \
               JOIN family_members m ON m.family_id = f.id \
               WHERE u.email = $1 AND f.state = 'open' ORDER BY f.id, m.id LIMIT 1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql)
            .bind(PRACTITIONER)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

//! The command line as an operator uses it: real processes, real exit codes.

use crate::helpers::*;
use std::process::Output;

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

crate::on_both_backends!(users_and_tokens_from_the_command_line);

async fn users_and_tokens_from_the_command_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.database_url.as_str();
    let password = [("EARLYHELP_PASSWORD", "a long enough password")];
    let base = [
        "user",
        "add",
        "--email",
        "cli@example.org",
        "--name",
        "Cli User",
        "--database",
        db,
    ];

    let unknown_org = run_earlyhelp(
        &[
            &base[..],
            &["--org", "Nowhere Trust", "--role", "practitioner"],
        ]
        .concat(),
        &password,
    );
    assert!(!unknown_org.status.success());
    assert!(
        stderr(&unknown_org).contains("no organisation called \"Nowhere Trust\""),
        "{}",
        stderr(&unknown_org)
    );

    let unknown_role = run_earlyhelp(
        &[&base[..], &["--org", "City Council", "--role", "wizard"]].concat(),
        &password,
    );
    assert!(!unknown_role.status.success());
    assert!(stderr(&unknown_role).contains("no role called \"wizard\""));

    let both = run_earlyhelp(
        &[
            &base[..],
            &[
                "--org",
                "City Council",
                "--role",
                "administrator",
                "--role",
                "practitioner",
            ],
        ]
        .concat(),
        &password,
    );
    assert!(!both.status.success());
    assert!(stderr(&both).contains("An administrator cannot also hold a role that reads cases"));

    let added = run_earlyhelp(
        &[
            &base[..],
            &[
                "--org",
                "city council",
                "--role",
                "Locality Lead",
                "--locality",
                "Perry Barr",
            ],
        ]
        .concat(),
        &password,
    );
    assert!(added.status.success(), "{}", stderr(&added));

    let token = run_earlyhelp(
        &[
            "token",
            "add",
            "--email",
            "cli@example.org",
            "--database",
            db,
        ],
        &[],
    );
    assert!(token.status.success(), "{}", stderr(&token));
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let me: serde_json::Value = client()
        .get(app.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["localities"], serde_json::json!(["perry-barr"]));
    assert_eq!(me["organisation"]["name"], "City Council");
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let output = run_earlyhelp(&["migrate", "--database", "mysql://somewhere/db"], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("use sqlite://FILE or postgres://"),
        "{}",
        stderr(&output)
    );
    let unreachable = run_earlyhelp(
        &[
            "migrate",
            "--database",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[],
    );
    assert!(!unreachable.status.success());
    assert!(
        stderr(&unreachable).contains("cannot reach the database"),
        "{}",
        stderr(&unreachable)
    );
}

#[test]
fn a_port_already_taken_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let db = format!(
        "sqlite://{}",
        std::env::temp_dir()
            .join(format!("eh-port-{}.db", uuid::Uuid::new_v4()))
            .display()
    );
    let output = run_earlyhelp(&["serve", "--listen", &address, "--database", &db], &[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(&format!("cannot listen on {address}")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_cost_benefit_appraisal_from_the_command_line() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../engines/cba/examples/business_case_2021.toml"
    );
    let json = run_earlyhelp(&["cba", model, "--format", "json"], &[]);
    assert!(json.status.success(), "{}", stderr(&json));
    let appraisal: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let (costs, benefits) = (
        appraisal["pv_costs"].as_f64().unwrap(),
        appraisal["pv_benefits"].as_f64().unwrap(),
    );
    assert!((appraisal["npv"].as_f64().unwrap() - (benefits - costs)).abs() < 1e-6);
    assert!(appraisal["by_agency"].as_array().unwrap().len() >= 2);
    let text = run_earlyhelp(&["cba", model], &[]);
    assert!(stdout_of(&text).contains("Benefit-cost ratio"));
    let bad = std::env::temp_dir().join(format!("cba-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&bad, "name = \"x\"\nprice_year = 2021\nfirst_year = 2021\nyears = 2\n\n[[costs]]\nname = \"a\"\nagency = \"b\"\nvalues = [1.0]\n").unwrap();
    let refused = run_earlyhelp(&["cba", bad.to_str().unwrap()], &[]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("line 9, costs[0].values"),
        "{}",
        stderr(&refused)
    );
    let _ = std::fs::remove_file(bad);
}

/// `earlyhelp serve` on `database` under `home`, until it says where it listens.
pub(crate) async fn start_server(
    database: &str,
    home: &std::path::Path,
    every: &str,
) -> (std::process::Child, String) {
    let mut child = earlyhelp_command(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            database,
            "--checkpoint-every",
            every,
        ],
        &[("HOME", home.to_str().unwrap())],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let address = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split(' ').next().unwrap().to_string();
            }
        }
        panic!("the server stopped before it listened");
    })
    .await
    .unwrap();
    (child, address)
}

/// A failed sign-in: one more audit event.
async fn an_event(address: &str) {
    let client = client();
    let page = client
        .get(format!("{address}/sign-in"))
        .send()
        .await
        .unwrap();
    let form = [
        ("csrf_token", csrf_in(&page.text().await.unwrap())),
        ("email", "someone@example.org".into()),
        ("password", "a wrong password".into()),
    ];
    let response = client
        .post(format!("{address}/sign-in"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// Seqs of the checkpoints written under `home`, oldest first.
fn checkpoint_seqs(home: &std::path::Path) -> Vec<i64> {
    let dir = home.join(".local/share/earlyhelp/checkpoints");
    let mut seqs: Vec<i64> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flat_map(|chain| std::fs::read_dir(chain.unwrap().path()).unwrap())
        .map(|file| {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            let checkpoint: serde_json::Value = serde_json::from_str(&text).unwrap();
            checkpoint["seq"].as_i64().unwrap()
        })
        .collect();
    seqs.sort();
    seqs
}

pub fn stop(mut child: std::process::Child) {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success(), "a clean shutdown");
}

/// The server makes its signing key at first start, signs checkpoints on its clock and at
/// shutdown, and `audit verify` holds the database to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_signs_checkpoints_outside_the_database() {
    use std::os::unix::fs::PermissionsExt;
    let home = temp_dir("home");
    let database = format!("sqlite://{}", temp_dir("db").join("served.db").display());
    let (server, address) = start_server(&database, &home, "1").await;
    let key = home.join(".local/share/earlyhelp/audit-key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is the owner's alone");
    assert!(home.join(".local/share/earlyhelp/audit-key.pub").exists());
    assert!(
        checkpoint_seqs(&home).is_empty(),
        "an empty log has nothing to sign"
    );
    an_event(&address).await;
    let mut waited = 0;
    while checkpoint_seqs(&home).is_empty() {
        assert!(waited < 100, "no checkpoint within 10 s of a 1 s clock");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    stop(server);

    // Again with an hourly clock: only the shutdown can have signed the newest event.
    let (server, address) = start_server(&database, &home, "3600").await;
    let before = *checkpoint_seqs(&home).last().unwrap();
    an_event(&address).await;
    an_event(&address).await;
    stop(server);
    assert_eq!(*checkpoint_seqs(&home).last().unwrap(), before + 2);

    let home_dir = home.to_str().unwrap();
    let verified = run_earlyhelp(
        &["audit", "verify", "--database", &database],
        &[("HOME", home_dir)],
    );
    let said = stdout_of(&verified);
    // Every event is in a checkpoint: the last one signed is the newest event.
    let events = before + 2;
    assert!(
        said.contains(&format!("audit log intact: {events} events")),
        "{said}"
    );
    assert!(
        said.contains(&format!("(event {events}) was signed")),
        "{said}"
    );

    // Elsewhere, without the checkpoints, the chain alone is not enough.
    let empty_home = temp_dir("home");
    let elsewhere = run_earlyhelp(
        &["audit", "verify", "--database", &database],
        &[("HOME", empty_home.to_str().unwrap())],
    );
    assert!(!elsewhere.status.success());
    assert!(
        stderr(&elsewhere).contains("audit public key"),
        "{}",
        stderr(&elsewhere)
    );

    // A second destination gets every checkpoint too.
    let copy = temp_dir("copy");
    let written = run_earlyhelp(
        &[
            "audit",
            "checkpoint",
            "--database",
            &database,
            "--checkpoint-copy",
            copy.to_str().unwrap(),
        ],
        &[("HOME", home_dir)],
    );
    assert!(
        stdout_of(&written).contains(&format!("checkpoint of event {events} signed")),
        "{}",
        stdout_of(&written)
    );
    assert_eq!(
        std::fs::read_dir(&copy).unwrap().count(),
        1,
        "one chain's directory"
    );
}

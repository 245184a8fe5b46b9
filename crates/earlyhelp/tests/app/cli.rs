//! The command line as an operator uses it: real processes, real exit codes.

use crate::helpers::*;
use std::process::Output;

fn stderr(output: &Output) -> String {
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

//! 360Giving: the export by command and over HTTP validates against the standard's package
//! schema (the copy in crates/domain/data/360giving) and passes its accuracy checks; a grant
//! failing them is left out and named; payments to families carry no name, family id, postcode
//! or date of birth; the public sees awards to organisations only; on both databases.

use crate::helpers::*;
use crate::on_both_backends;
use earlyhelp_domain::giving::{self, GRANT_SCHEMA, GRANT_SCHEMA_URL, Grant, PACKAGE_SCHEMA};
use earlyhelp_storage::Db;
use serde_json::Value;
use uuid::Uuid;

on_both_backends!(
    the_export_validates_passes_the_checks_and_names_no_family,
    the_public_sees_awards_to_organisations_only,
);

/// Runs a statement built by `$query` (once per backend, as each binds its own types).
macro_rules! execute {
    ($db:expr, $query:expr) => {
        earlyhelp_storage::on_pool!($db, pool => {
            $query.execute(pool).await.unwrap();
        })
    };
}

/// Every problem `package` has against the package schema, formats checked too; the grant
/// schema it refers to by address is resolved to the copy in the repository.
fn schema_problems(package: &Value) -> Vec<String> {
    let grant: Value = serde_json::from_str(GRANT_SCHEMA).unwrap();
    let schema: Value = serde_json::from_str(PACKAGE_SCHEMA).unwrap();
    let registry = jsonschema::Registry::new()
        .add(GRANT_SCHEMA_URL, grant)
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(package)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Valid against the schema, and every grant passes 360Giving's accuracy checks; its grants.
fn assert_publishable(package: &Value) -> Vec<Grant> {
    let problems = schema_problems(package);
    assert!(problems.is_empty(), "{problems:#?}");
    let grants: Vec<Grant> = serde_json::from_value(package["grants"].clone()).unwrap();
    let today = earlyhelp_storage::cases::today();
    for grant in &grants {
        assert_eq!(giving::check(grant, today), vec![], "{}", grant.id);
    }
    grants
}

const BAD_TITLE: &str = "Cook and eat together";

/// (reference, type, name, charity number, company number, identifier, title, activity, pence,
/// state)
type Application = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
);

/// A programme of community grants with four awards, one of them with an email address in its
/// description (held back), and an application not yet decided; the programme's id.
/// Takes away the demo's community grants, so the tests' own awards are the only ones.
async fn without_demo_awards(db: &Db) {
    for table in [
        "DELETE FROM grant_tranches",
        "DELETE FROM grant_returns",
        "DELETE FROM grant_scores",
        "DELETE FROM grant_conflicts",
        // The demo's voting round puts some applications to the vote.
        "DELETE FROM budgeting_ballot_choices",
        "DELETE FROM budgeting_options",
        "DELETE FROM grant_applications",
    ] {
        execute!(db, sqlx::query(table));
    }
}

async fn awards(db: &Db) -> Uuid {
    let programme = Uuid::now_v7();
    execute!(
        db,
        sqlx::query(
            "INSERT INTO programmes (id, name, kind, funder, budget_pence, opens_on, closes_on, \
             cap_pence, approval_threshold_pence, identifier_prefix, regrant_type, crisis, created_micros) \
             VALUES ($1, 'Community Grants', 'community_grants', 'Birmingham City Council', 100000000, \
             '2026-01-01', '2027-03-31', 1000000, 10000, '360G-earlyhelp', NULL, FALSE, 1)"
        )
        .bind(programme)
    );
    let yesterday =
        earlyhelp_domain::cases::iso(earlyhelp_storage::cases::today() - time::Duration::days(1));
    let rows: [Application; 5] = [
        (
            "GA-0001",
            "charity",
            "St Margaret's Trust",
            Some("1234567"),
            None,
            "GB-CHC-1234567",
            "Gardening and cook-along",
            "Weekly gardening and cooking sessions for families",
            854_100,
            "awarded",
        ),
        (
            "GA-0002",
            "cic",
            "Ladywood Play CIC",
            None,
            Some("12345678"),
            "GB-COH-12345678",
            "Holiday play scheme",
            "Play sessions in the school holidays",
            500_000,
            "awarded",
        ),
        (
            "GA-0003",
            "unregistered",
            "Friends of Summerfield Park",
            None,
            None,
            "360G-earlyhelp-ORG-0003",
            "Park family days",
            "Monthly family days in the park",
            150_000,
            "awarded",
        ),
        (
            "GA-0004",
            "charity",
            "Hope Kitchen",
            Some("7654321"),
            None,
            "GB-CHC-7654321",
            BAD_TITLE,
            "Book by writing to bookings@hopekitchen.example",
            300_000,
            "awarded",
        ),
        (
            "GA-0005",
            "charity",
            "Undecided Trust",
            Some("1111111"),
            None,
            "GB-CHC-1111111",
            "Not yet decided",
            "Waiting for its assessors",
            200_000,
            "submitted",
        ),
    ];
    for (reference, kind, name, charity, company, identifier, title, activity, pence, state) in rows
    {
        let awarded = state == "awarded";
        execute!(
            db,
            sqlx::query(
                "INSERT INTO grant_applications (id, reference, programme_id, organisation_type, \
                 organisation_name, charity_number, company_number, organisation_identifier, \
                 contact_name, contact_email, locality_slug, beneficiary_area, beneficiary_area_type, \
                 title, activity, families, amount_pence, charter, state, submitted_micros, \
                 decided_micros, award_pence, award_date, planned_start, planned_end) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'Pat Contact', 'pat.contact@applicant.example', \
                 'ladywood', 'E01009146', 'LSOA', $9, $10, 40, $11, TRUE, $12, 1, $13, $14, $15, \
                 '2026-09-01', '2027-08-31')"
            )
            .bind(Uuid::now_v7())
            .bind(reference)
            .bind(programme)
            .bind(kind)
            .bind(name)
            .bind(charity)
            .bind(company)
            .bind(identifier)
            .bind(title)
            .bind(activity)
            .bind(pence)
            .bind(state)
            .bind(awarded.then_some(earlyhelp_storage::now_micros()))
            .bind(awarded.then_some(pence))
            .bind(awarded.then_some(yesterday.clone()))
        );
    }
    programme
}

/// What identifies the families with paid payments, none of which may be published: their
/// ids, postcodes, full names, adults' dates of birth (a child's could be any recent day, an
/// award date among them) and the payments' notes.
async fn family_details(db: &Db) -> Vec<String> {
    let sql = "SELECT f.id, f.postcode, m.given_name, m.family_name, m.date_of_birth, p.notes \
               FROM payments p JOIN families f ON f.id = p.family_id \
               JOIN family_members m ON m.family_id = f.id WHERE p.state = 'paid'";
    type Row = (Uuid, String, String, String, String, String);
    let rows: Vec<Row> = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_as(sql).fetch_all(pool).await.unwrap()
    });
    assert!(
        rows.len() > 50,
        "the demo has paid payments: {}",
        rows.len()
    );
    let mut details = Vec::new();
    for (id, postcode, given, family, born, notes) in rows {
        details.extend([id.to_string(), postcode, format!("{given} {family}")]);
        if born.as_str() < "2008" {
            details.push(born);
        }
        if notes.len() > 3 {
            details.push(notes);
        }
    }
    details.sort();
    details.dedup();
    details
}

async fn paid_count(db: &Db) -> usize {
    let sql = "SELECT COUNT(*) FROM payments WHERE state = 'paid'";
    let count: i64 = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    });
    count as usize
}

fn assert_names_no_family(text: &str, details: &[String]) {
    for detail in details {
        assert!(!text.contains(detail.as_str()), "{detail:?} is in the file");
    }
}

async fn the_export_validates_passes_the_checks_and_names_no_family(backend: Backend) {
    let app = spawn_app(backend).await;
    without_demo_awards(&app.db).await;
    let programme = awards(&app.db).await;
    let details = family_details(&app.db).await;
    let paid = paid_count(&app.db).await;

    // The command: JSON, every grant valid and checked, the held-back award named.
    let dir = temp_dir("giving");
    let out = dir.join("360giving.json");
    let output = run_earlyhelp(
        &[
            "export",
            "360giving",
            "--out",
            out.to_str().unwrap(),
            "--database",
            &app.database_url,
        ],
        &[("EARLYHELP_PUBLIC_URL", "https://earlyhelp.example/")],
    );
    let said = stdout_of(&output);
    assert!(
        said.contains(&format!(
            "3 award(s) to organisations and {paid} payment(s)"
        )),
        "{said}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("left out 360G-earlyhelp-GA-0004: Description: contains an email address"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let package: Value = serde_json::from_str(&text).unwrap();
    let grants = assert_publishable(&package);
    assert_eq!(grants.len(), 3 + paid);
    assert_names_no_family(&text, &details);
    for absent in [
        "pat.contact@applicant.example",
        "Pat Contact",
        BAD_TITLE,
        "GA-0005",
    ] {
        assert!(!text.contains(absent), "{absent}");
    }
    let trust = grants
        .iter()
        .find(|g| g.id == "360G-earlyhelp-GA-0001")
        .unwrap();
    assert_eq!(trust.amount_awarded, 8541.0);
    assert_eq!(
        trust.recipient_organization[0].charity_number.as_deref(),
        Some("1234567")
    );
    assert_eq!(trust.funding_organization[0].id, "GB-LAE-BIR");
    assert_eq!(
        trust.data_source.as_deref(),
        Some("https://earlyhelp.example/grants")
    );
    let payments: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.recipient_individual.is_some())
        .collect();
    assert_eq!(payments.len(), paid);
    for payment in &payments {
        assert_eq!(
            payment.recipient_individual.as_ref().unwrap().name,
            giving::INDIVIDUAL_RECIPIENT
        );
        assert!(payment.recipient_organization.is_empty());
        // The locality, in Birmingham, a metropolitan district (the demo's postcode directory
        // says so of every locality): never finer.
        let place = &payment.beneficiary_location[0];
        assert!(!place.name.is_empty());
        assert_eq!(
            place.geo_code.as_deref(),
            Some("E08000025"),
            "{}",
            payment.id
        );
        assert_eq!(place.geo_code_type.as_deref(), Some("MD"));
        assert!(payment.to_individuals_details.is_some());
    }

    // One programme; CSV with 360Giving's columns, a row a grant.
    let output = run_earlyhelp(
        &[
            "export",
            "360giving",
            "--programme",
            &programme.to_string(),
            "--format",
            "csv",
            "--database",
            &app.database_url,
        ],
        &[],
    );
    let csv_text = stdout_of(&output);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers, giving::COLUMNS);
    assert_eq!(reader.records().count(), 3, "the programme's awards only");
    assert_names_no_family(&csv_text, &details);

    // A programme that does not exist, and a bad id, are refused by name.
    let nobody = Uuid::now_v7().to_string();
    let output = run_earlyhelp(
        &[
            "export",
            "360giving",
            "--programme",
            &nobody,
            "--database",
            &app.database_url,
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no programme has the id"));

    // Over HTTP, the grants officer's full file: the same grants, checked and valid.
    let officer = app.sign_in(GRANTS_OFFICER).await;
    let response = officer.get(&app, "/api/360giving").await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let over_http: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(assert_publishable(&over_http).len(), 3 + paid);
    assert_names_no_family(&body, &details);
    let response = officer.get(&app, "/api/360giving?format=csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = response.text().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(body.as_bytes()).records().count(),
        3 + paid
    );
    // What was held back, and why, for the officer.
    let page = officer.get(&app, "/grants/360giving").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("360G-earlyhelp-GA-0004"), "{page}");
    assert!(page.contains("contains an email address"));
    // The officer's readings are audited, as is the operator's.
    let audit = app.audit_of("360giving").await;
    assert!(
        audit
            .iter()
            .any(|(actor, _, outcome)| actor == GRANTS_OFFICER && outcome == "allowed"),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|(actor, _, _)| actor == "operator"),
        "{audit:?}"
    );
    // An administrator takes the file too.
    let admin = app.sign_in(ADMIN).await;
    assert_eq!(admin.get(&app, "/api/360giving").await.status(), 200);

    // Bad input is named, never a 500.
    for (query, field) in [
        ("?programme=nonsense", "programme"),
        ("?format=xml", "format"),
    ] {
        let response = officer.get(&app, &format!("/api/360giving{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let problems: Value = response.json().await.unwrap();
        assert_eq!(problems["problems"][0]["field"], field, "{query}");
    }
}

async fn the_public_sees_awards_to_organisations_only(backend: Backend) {
    let app = spawn_app(backend).await;
    without_demo_awards(&app.db).await;
    let public = client();

    // Before any award: the page says so, and there is no file.
    let page = public.get(app.url("/grants")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("No awards to community organisations have been published yet"));
    assert!(!page.contains("/grants.json"));
    let empty = public.get(app.url("/grants.json")).send().await.unwrap();
    assert_eq!(empty.status(), 404);

    let programme = awards(&app.db).await;
    // One programme's awards; a programme that is not an id is named.
    let page = public
        .get(app.url(&format!("/grants?programme={programme}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("3 awards, £15,041.00 in all")
    );
    let bad = public
        .get(app.url("/grants?programme=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("Choose a programme"));
    let page = public.get(app.url("/grants")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for shown in [
        "St Margaret&#39;s Trust",
        "Gardening and cook-along",
        "£8,541.00",
        "Ladywood",
        "Community Grants",
        "Friends of Summerfield Park",
        "/grants.csv",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
    for hidden in [
        BAD_TITLE,
        "Not yet decided",
        "Resilience Fund",
        "Individual Recipient",
    ] {
        assert!(!page.contains(hidden), "{hidden} on the public page");
    }

    // The public file: valid, checked, awards to organisations only.
    let response = public.get(app.url("/grants.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let package: Value = response.json().await.unwrap();
    let grants = assert_publishable(&package);
    assert_eq!(grants.len(), 3);
    assert!(grants.iter().all(|g| g.recipient_individual.is_none()));
    let csv_text = public
        .get(app.url("/grants.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        csv::Reader::from_reader(csv_text.as_bytes())
            .records()
            .count(),
        3
    );
    assert!(!csv_text.contains("Individual Recipient"));

    // The full file and what is held back are not for the public, nor for every role.
    let response = public.get(app.url("/api/360giving")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = public
        .get(app.url("/grants/360giving"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "sent to sign in");
    for email in [COMMISSIONER, PRACTITIONER, LOCALITY_LEAD, ANALYST] {
        let session = app.sign_in(email).await;
        assert_eq!(
            session.get(&app, "/api/360giving").await.status(),
            403,
            "{email}"
        );
        assert_eq!(
            session.get(&app, "/grants/360giving").await.status(),
            403,
            "{email}"
        );
        // The public page is theirs as anyone's.
        assert_eq!(session.get(&app, "/grants").await.status(), 200, "{email}");
    }

    // The API description names the export.
    let openapi: Value = public
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/360giving", "/grants.json"] {
        assert!(openapi["paths"].get(path).is_some(), "{path}");
    }
}

/// The public page of awards and the grants officer's page of what is held back, in a real
/// browser, with axe-core finding no accessibility problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grants_pages_are_accessible() {
    use crate::browser::{assert_accessible, sign_in};
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    browser.driver.goto(app.url("/grants")).await.unwrap();
    browser.wait_for_heading("Community grants awarded").await;
    assert_accessible(&browser, "/grants with no awards").await;
    awards(&app.db).await;
    browser.driver.goto(app.url("/grants")).await.unwrap();
    browser.wait_for_heading("Community grants awarded").await;
    assert_accessible(&browser, "/grants").await;
    browser.screenshot("grants").await;
    sign_in(&browser, &app, GRANTS_OFFICER).await;
    browser
        .driver
        .goto(app.url("/grants/360giving"))
        .await
        .unwrap();
    browser.wait_for_heading("Publish to 360Giving").await;
    assert_accessible(&browser, "/grants/360giving").await;
    browser.screenshot("grants-360giving").await;
    browser.quit().await;
}

//! Analysts' pseudonymised extracts, on both databases: only analysts get them, they carry no
//! identifiers, and a family keeps its pseudonym from one extract to the next.

use crate::cases::open_case;
use crate::helpers::*;

crate::on_both_backends!(an_analyst_gets_families_with_no_identifiers_and_stable_pseudonyms,);

async fn extract(session: &Session, app: &TestApp) -> (u16, String) {
    let response = session.get(app, "/extracts/cases.csv").await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn an_analyst_gets_families_with_no_identifiers_and_stable_pseudonyms(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let analyst = app.sign_in(ANALYST).await;
    let (status, first) = extract(&analyst, &app).await;
    assert_eq!(status, 200);
    let header = first.lines().next().unwrap();
    assert!(
        header.starts_with("pseudonym,locality,need_level,state"),
        "{header}"
    );
    for identifier in [
        family.as_str(),
        "Amira",
        "Testcase",
        "12 Test Road",
        "B16 8HA",
        "2016-05-02",
        "Attendance has dropped",
    ] {
        assert!(
            !first.contains(identifier),
            "the extract holds {identifier:?}"
        );
    }
    // k-anonymity on the demo's extract: every released combination of quasi-identifiers
    // describes at least five families (a withheld column shows * in every row; a suppressed
    // row shows * in every one of them).
    let mut reader = csv::Reader::from_reader(first.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        columns[1..10],
        [
            "locality",
            "need_level",
            "state",
            "closure_reason",
            "opened",
            "children",
            "adults",
            "youngest_age_band",
            "reasons"
        ]
    );
    let mut classes: std::collections::HashMap<Vec<String>, usize> = Default::default();
    let (mut rows, mut suppressed) = (0, 0);
    for record in reader.records() {
        let record = record.unwrap();
        let quasi: Vec<String> = record.iter().skip(1).take(9).map(str::to_string).collect();
        rows += 1;
        if quasi.iter().all(|v| v == "*") {
            suppressed += 1;
        } else {
            *classes.entry(quasi).or_default() += 1;
        }
    }
    let k = classes
        .values()
        .copied()
        .min()
        .expect("some rows are released");
    assert!(k >= 5, "k = {k}: {classes:?}");
    assert!(
        rows >= 200 && suppressed * 20 <= rows,
        "{suppressed} of {rows} suppressed"
    );
    // The page says the same k, and what was done.
    let page = analyst.get(&app, "/extracts").await.text().await.unwrap();
    assert!(page.contains(&format!("id=\"k-reached\">{k}<")), "k = {k}");
    assert!(page.contains(&format!("{rows} families")));
    assert!(page.contains(&format!("id=\"suppressed\">{suppressed} rows")));
    assert!(page.contains("Data dictionary") && page.contains("<code>youngest_age_band</code>"));
    let (_, second) = extract(&analyst, &app).await;
    assert_eq!(first, second, "pseudonyms are stable between extracts");

    for email in [PRACTITIONER, COMMISSIONER, LOCALITY_LEAD, ADMIN, IG_OFFICER] {
        let session = app.sign_in(email).await;
        assert_eq!(extract(&session, &app).await.0, 403, "{email}");
    }
    let audit = app.audit_of("extract:cases").await;
    assert!(audit.contains(&(ANALYST.into(), "list".into(), "allowed".into())));
    assert!(audit.contains(&(COMMISSIONER.into(), "list".into(), "denied".into())));
}

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
        columns[1..12],
        [
            "locality",
            "need_level",
            "state",
            "closure_reason",
            "opened",
            "children",
            "adults",
            "youngest_age_band",
            "reasons",
            "ethnic_groups",
            "send"
        ]
    );
    let score_columns = [columns.len() - 2, columns.len() - 1];
    let mut classes: std::collections::HashMap<Vec<String>, usize> = Default::default();
    let (mut rows, mut suppressed) = (0, 0);
    for record in reader.records() {
        let record = record.unwrap();
        let quasi: Vec<String> = record.iter().skip(1).take(11).map(str::to_string).collect();
        rows += 1;
        // Means of whole-number scores, to one decimal place (not 3.8333333333333335).
        for score in score_columns.map(|c| &record[c]) {
            let decimals = score.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 1, "score {score:?}");
        }
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
    // The dictionary as CSV: one row for every column of the extract, each with its meaning.
    let dictionary = analyst.get(&app, "/extracts/dictionary.csv").await;
    assert_eq!(dictionary.status(), 200);
    let dictionary = dictionary.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(dictionary.as_bytes());
    let described: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    assert_eq!(
        described.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        columns,
        "the dictionary describes every column, in order"
    );
    assert!(described.iter().all(|(_, meaning)| meaning.len() > 10));
    let (_, second) = extract(&analyst, &app).await;
    assert_eq!(first, second, "pseudonyms are stable between extracts");

    for email in [PRACTITIONER, COMMISSIONER, LOCALITY_LEAD, ADMIN, IG_OFFICER] {
        let session = app.sign_in(email).await;
        assert_eq!(extract(&session, &app).await.0, 403, "{email}");
        let dictionary = session.get(&app, "/extracts/dictionary.csv").await;
        assert_eq!(dictionary.status(), 403, "{email}");
    }
    let audit = app.audit_of("extract:cases").await;
    assert!(audit.contains(&(ANALYST.into(), "list".into(), "allowed".into())));
    assert!(audit.contains(&(COMMISSIONER.into(), "list".into(), "denied".into())));
}

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
    let ours = first
        .lines()
        .find(|l| l.contains("education;health_wellbeing") && l.contains("ladywood"))
        .expect("the test family is in the extract");
    assert!(
        ours.contains(",1,1,5-10,"),
        "one child aged 9, one adult: {ours}"
    );
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

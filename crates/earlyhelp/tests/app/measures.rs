//! Outcome measures, readings by CSV and Supporting Families outcomes, on both databases:
//! an organisation's own measure read on a family, an import that lands all-or-nothing and
//! names each problem by row and field, refusals audited, and the six-month sustained flag.

use crate::cases::{open_case, post_form as post, token};
use crate::helpers::*;
use earlyhelp::demo_cases::ERDINGTON_PRACTITIONER;
use earlyhelp_domain::supporting_families::{SUSTAIN_MONTHS, add_months};
use earlyhelp_storage::{Db, accounts, measures};
use serde_json::Value;

crate::on_both_backends!(
    an_organisation_names_its_measure_and_a_family_is_read_on_it,
    readings_import_from_csv_all_or_nothing,
    readings_import_from_the_command_line,
    supporting_families_outcomes_and_the_sustained_flag,
);

async fn page(session: &Session, app: &TestApp, path: &str) -> (u16, String) {
    let response = session.get(app, path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn family_json(app: &TestApp, family: &str) -> Value {
    let response = client()
        .get(app.url(&format!("/api/families/{family}")))
        .bearer_auth(token(app, PRACTITIONER).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["records"].clone()
}

async fn an_organisation_names_its_measure_and_a_family_is_read_on_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let organisation = accounts::list_organisations(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.kind == "vcs")
        .expect("the demo has VCS organisations");
    let org_id = organisation.id.to_string();
    let measure = [
        ("organisation", org_id.as_str()),
        ("name", "Parenting confidence"),
        ("areas", "Routines\r\nBoundaries\r\n\r\nPlaying together"),
        ("licence", "Written by the organisation in 2025"),
    ];

    let admin = app.sign_in(ADMIN).await;
    let (status, html) = page(&admin, &app, "/measures").await;
    assert_eq!(status, 200);
    assert!(html.contains("Family wellbeing") && html.contains("id=\"define\""));
    let response = post(
        &admin,
        &app,
        "/measures",
        &[("name", " "), ("areas", "One")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for anchor in ["#organisation", "#name", "#areas", "#licence"] {
        assert!(html.contains(&format!("href=\"{anchor}\"")), "{anchor}");
    }

    // Defining a measure is an administrator's change to the organisation's reference data.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(
        post(&practitioner, &app, "/measures", &measure)
            .await
            .status(),
        403
    );
    assert_eq!(
        post(&admin, &app, "/measures", &measure).await.status(),
        303
    );
    let audit = app.audit_of(&format!("organisation:{org_id}")).await;
    assert!(audit.contains(&(PRACTITIONER.into(), "update".into(), "denied".into())));
    assert!(audit.contains(&(ADMIN.into(), "update".into(), "allowed".into())));
    let mut again = measure;
    again[1].1 = "PARENTING confidence";
    let response = post(&admin, &app, "/measures", &again).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("There is already a measure called Parenting confidence")
    );
    let listed = measures::list(&app.db).await.unwrap();
    assert_eq!(
        listed[0].measure.name, "Family wellbeing",
        "the built-in one first"
    );
    let ours = listed
        .iter()
        .find(|l| l.measure.name == "Parenting confidence")
        .expect("the measure is stored");
    assert_eq!(
        ours.measure.areas,
        vec!["Routines", "Boundaries", "Playing together"]
    );
    assert_eq!(
        ours.organisation.as_deref(),
        Some(organisation.name.as_str())
    );
    let measure_id = ours.measure.id.to_string();

    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let form = format!("{case}/readings/new?measure={measure_id}");
    let (status, html) = page(&practitioner, &app, &case).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("href=\"{form}\"")),
        "the page offers every measure"
    );
    let (status, html) = page(&practitioner, &app, &form).await;
    assert_eq!(status, 200);
    assert!(html.contains("Record a reading on Parenting confidence"));
    assert!(html.contains("id=\"score_3\"") && !html.contains("id=\"score_4\""));
    let mut scores = vec![
        ("measure", measure_id.as_str()),
        ("taken_on-day", "1"),
        ("taken_on-month", "11"),
        ("taken_on-year", "2026"),
        ("score_1", "4"),
        ("score_2", "5"),
        ("score_3", "0"),
    ];
    let response = post(&practitioner, &app, &format!("{case}/readings"), &scores).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"#score_3\"") && html.contains("playing together"));
    scores[6].1 = "6";
    assert_eq!(
        post(&practitioner, &app, &format!("{case}/readings"), &scores)
            .await
            .status(),
        303
    );
    let wellbeing = [
        ("taken_on-day", "1"),
        ("taken_on-month", "11"),
        ("taken_on-year", "2026"),
        ("score_1", "3"),
        ("score_2", "4"),
        ("score_3", "5"),
        ("score_4", "6"),
        ("score_5", "7"),
        ("score_6", "8"),
    ];
    assert_eq!(
        post(&practitioner, &app, &format!("{case}/readings"), &wellbeing)
            .await
            .status(),
        303
    );

    let (_, html) = page(&practitioner, &app, &case).await;
    assert!(html.contains("id=\"readings\"") && html.contains("id=\"readings-2\""));
    assert!(
        html.contains("Family wellbeing: readings")
            && html.contains("Parenting confidence: readings")
    );
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "a journey for each measure"
    );
    assert!(html.contains("aria-labelledby=\"journey-2-title\""));
    assert!(html.contains("Outcome reading recorded for 2026-11-01 (Parenting confidence)"));
    let record = family_json(&app, &family).await;
    let readings = record["readings"].as_array().unwrap();
    let on = |name: &str| readings.iter().filter(|r| r["measure"] == name).count();
    assert_eq!((on("Family wellbeing"), on("Parenting confidence")), (6, 3));

    // Someone not involved with the family learns nothing, and is audited.
    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    assert_eq!(page(&outsider, &app, &form).await.0, 404);
    assert_eq!(
        post(&outsider, &app, &format!("{case}/readings"), &scores)
            .await
            .status(),
        404
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "read".into(),
        "denied".into()
    )));
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "update".into(),
        "denied".into()
    )));
}

/// A demo family the demo practitioner has nothing to do with.
async fn erdington_family(db: &Db) -> String {
    let sql = "SELECT id FROM families WHERE locality_slug = 'erdington' ORDER BY id LIMIT 1";
    let id: uuid::Uuid = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    });
    id.to_string()
}

async fn scores_on(db: &Db, family: &str, taken_on: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM readings WHERE family_id = $1 AND taken_on = $2";
    let family = uuid::Uuid::parse_str(family).unwrap();
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(family)
            .bind(taken_on)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn readings_import_from_csv_all_or_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let elsewhere = erdington_family(&app.db).await;
    let lead = app.sign_in(PRACTITIONER).await;
    let (status, html) = page(&lead, &app, "/readings/import").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Home and money, Health and wellbeing"),
        "the measures and their areas are listed"
    );

    let response = lead
        .post_file(
            &app,
            "/readings/import",
            "family_id,measure,taken_on,area\n",
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("missing: score"));

    let bad = format!(
        "family_id,measure,taken_on,area,score\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,5\n\
         {family},Family wellbeing,2026-13-02,Feeling safe,5\n\
         {family},Galaxy of outcomes,2026-11-02,Feeling safe,5\n\
         {family},family wellbeing,2026-11-02,Feeling unsafe,11\n\
         not-a-family,Family wellbeing,2026-11-02,Home and money,3\n"
    );
    let response = lead.post_file(&app, "/readings/import", &bad).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for problem in [
        "Row 2, taken_on: Enter the date as YYYY-MM-DD",
        "Row 3, measure: ",
        "Galaxy of outcomes",
        "is not a measure we hold; use one of: Family wellbeing",
        "Row 4, area: ",
        "is not an area of Family wellbeing",
        "Row 4, score: Enter a whole number from 1 to 10",
        "Row 5, family_id:",
    ] {
        assert!(html.contains(problem), "{problem}");
    }
    assert!(!html.contains("Row 1,"), "the good row has no problem");
    assert_eq!(
        scores_on(&app.db, &family, "2026-11-02").await,
        0,
        "nothing is imported"
    );

    // A family the importer may not change stops the whole file, and the refusal is audited.
    let refused = format!(
        "family_id,measure,taken_on,area,score\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,5\n\
         {elsewhere},Family wellbeing,2026-11-02,Feeling safe,5\n"
    );
    let response = lead.post_file(&app, "/readings/import", &refused).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Row 2, family_id: there is no family with this id that you may change")
    );
    assert_eq!(
        scores_on(&app.db, &family, "2026-11-02").await,
        0,
        "not even the allowed family's row"
    );
    let audit = app.audit_of(&format!("family:{elsewhere}")).await;
    assert!(audit.contains(&(PRACTITIONER.into(), "update".into(), "denied".into())));
    let update = (
        PRACTITIONER.to_string(),
        "update".to_string(),
        "allowed".to_string(),
    );
    assert!(
        !app.audit_of(&format!("family:{family}"))
            .await
            .contains(&update)
    );
    let unknown = format!(
        "family_id,measure,taken_on,area,score\n{},Family wellbeing,2026-11-02,Feeling safe,5\n",
        uuid::Uuid::now_v7()
    );
    let response = lead.post_file(&app, "/readings/import", &unknown).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Row 1, family_id: there is no family with this id")
    );

    let good = format!(
        "Family_ID,Measure,Taken_On,Area,Score\n\
         {family},Family wellbeing,2026-10-05,Home and money,2\n\
         {family},Family wellbeing,2026-10-05,feeling safe,3\n\
         {family},Family wellbeing,2026-11-02,Home and money,4\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,6\n"
    );
    let response = lead.post_file(&app, "/readings/import", &good).await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("4 scores in 2 readings for 1 family")
    );
    assert_eq!(scores_on(&app.db, &family, "2026-11-02").await, 2);
    assert!(
        app.audit_of(&format!("family:{family}"))
            .await
            .contains(&update)
    );
    let (_, html) = page(&lead, &app, &format!("/families/{family}")).await;
    assert!(html.contains("<th scope=\"row\" class=\"govuk-table__header\">5 October 2026</th>"));
    assert!(html.contains("Outcome reading recorded for 2026-11-02 (Family wellbeing)"));
}

/// The operator's import: every problem by row and field and nothing stored, or the whole file,
/// audited as the operator.
async fn readings_import_from_the_command_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let file = std::env::temp_dir().join(format!("readings-{}.csv", uuid::Uuid::now_v7()));
    let import = |csv: &str| {
        std::fs::write(&file, csv).unwrap();
        run_earlyhelp(
            &[
                "import",
                "readings",
                file.to_str().unwrap(),
                "--by",
                "Family Star worker",
                "--database",
                &app.database_url,
            ],
            &[],
        )
    };
    let bad = import(&format!(
        "family_id,measure,taken_on,area,score\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,5\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,12\n\
         {},Family wellbeing,2026-11-02,Feeling safe,4\n",
        uuid::Uuid::now_v7()
    ));
    assert!(!bad.status.success());
    let problems = String::from_utf8_lossy(&bad.stderr).to_string();
    assert!(problems.contains("nothing was imported"), "{problems}");
    assert!(
        problems.contains("Row 2, score: Enter a whole number from 1 to 10"),
        "{problems}"
    );
    assert_eq!(scores_on(&app.db, &family, "2026-11-02").await, 0);

    let unknown = import(&format!(
        "family_id,measure,taken_on,area,score\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,5\n\
         {},Family wellbeing,2026-11-02,Feeling safe,4\n",
        uuid::Uuid::now_v7()
    ));
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("Row 2, family_id: there is no family with this id")
    );
    assert_eq!(scores_on(&app.db, &family, "2026-11-02").await, 0);

    std::fs::write(&file, b"family_id,measure\n\xff\xfe,x\n").unwrap();
    let binary = run_earlyhelp(
        &[
            "import",
            "readings",
            file.to_str().unwrap(),
            "--by",
            "x",
            "--database",
            &app.database_url,
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&binary.stderr).contains("is not UTF-8"));

    let good = stdout_of(&import(&format!(
        "family_id,measure,taken_on,area,score\n\
         {family},Family wellbeing,2026-11-02,Feeling safe,5\n\
         {family},Family wellbeing,2026-11-02,Home and money,3\n"
    )));
    assert!(
        good.contains("imported 1 readings (2 scores) for 1 families"),
        "{good}"
    );
    assert_eq!(scores_on(&app.db, &family, "2026-11-02").await, 2);
    let operator = (
        "operator".to_string(),
        "update".to_string(),
        "allowed".to_string(),
    );
    assert!(
        app.audit_of(&format!("family:{family}"))
            .await
            .contains(&operator)
    );
    std::fs::remove_file(&file).unwrap();
}

async fn set_closed_at(db: &Db, family: &str, micros: i64) {
    let sql = "UPDATE families SET closed_micros = $1 WHERE id = $2 AND state = 'closed'";
    let family = uuid::Uuid::parse_str(family).unwrap();
    let changed = earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query(sql)
            .bind(micros)
            .bind(family)
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    });
    assert_eq!(changed, 1, "the case is closed");
}

async fn supporting_families_outcomes_and_the_sustained_flag(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = open_case(&app).await;
    let case = format!("/families/{family}");
    let outcomes = format!("{case}/outcomes");
    let lead = app.sign_in(PRACTITIONER).await;
    // Dates from today back: the need, its achievement, and (later, by hand) the closure.
    let today = earlyhelp_storage::cases::today();
    let days_ago = |days: i64| earlyhelp_domain::cases::iso(today - time::Duration::days(days));
    let (identified, achieved) = (days_ago(300), days_ago(240));

    let response = post(
        &lead,
        &app,
        &outcomes,
        &[("sf_outcome", ""), ("sf_need", " ")],
    )
    .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for anchor in ["#sf_outcome", "#sf_need", "#sf_identified_on"] {
        assert!(html.contains(&format!("href=\"{anchor}\"")), "{anchor}");
    }
    let mut housing = crate::helpers::date_boxes("sf_identified_on", &identified);
    housing.extend(crate::helpers::owned(&[
        ("sf_outcome", "secure_housing"),
        ("sf_need", "Rent arrears; notice served"),
    ]));
    assert_eq!(
        post(&lead, &app, &outcomes, &crate::helpers::refs(&housing))
            .await
            .status(),
        303
    );
    let mut education = crate::helpers::owned(&[
        ("sf_outcome", "good_education"),
        ("sf_need", "Attendance at 70%"),
        ("sf_evidence", ""),
    ]);
    education.extend(crate::helpers::date_boxes("sf_identified_on", &identified));
    education.extend(crate::helpers::date_boxes("sf_achieved_on", &achieved));
    let response = post(&lead, &app, &outcomes, &crate::helpers::refs(&education)).await;
    assert_eq!(
        response.status(),
        422,
        "an achieved outcome needs its evidence"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("href=\"#sf_evidence\"")
    );
    education[2].1 = "Attendance 96% this half term (school report)".into();
    assert_eq!(
        post(&lead, &app, &outcomes, &crate::helpers::refs(&education))
            .await
            .status(),
        303
    );

    let (_, html) = page(&lead, &app, &case).await;
    assert!(html.contains("Secure housing") && html.contains("Getting a good education"));
    assert!(html.contains(
        "Achieved</strong> <span class=\"govuk-body-s\">sustained six months after the case closes"
    ));
    assert!(html.contains(&format!(
        "Supporting Families outcome achieved on {achieved}: Getting a good education"
    )));

    let outsider = app.sign_in(ERDINGTON_PRACTITIONER).await;
    assert_eq!(
        post(&outsider, &app, &outcomes, &crate::helpers::refs(&housing))
            .await
            .status(),
        404
    );
    let audit = app.audit_of(&format!("family:{family}")).await;
    assert!(audit.contains(&(
        ERDINGTON_PRACTITIONER.into(),
        "update".into(),
        "denied".into()
    )));

    let by_outcome = |record: &Value, slug: &str| -> Value {
        record["supporting_families"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["outcome"] == slug)
            .cloned()
            .unwrap_or_else(|| panic!("{slug} is in the record"))
    };
    let record = family_json(&app, &family).await;
    assert_eq!(by_outcome(&record, "good_education")["status"], "achieved");
    assert_eq!(
        by_outcome(&record, "good_education")["sustained_on"],
        Value::Null
    );
    assert_eq!(by_outcome(&record, "secure_housing")["status"], "need");

    let close = [
        ("event", "close"),
        ("closure_reason", "needs_met"),
        ("needs", "education"),
        ("needs", "health_wellbeing"),
        ("outcome_education", "met"),
        ("outcome_health_wellbeing", "partly_met"),
        ("reason", "Attendance back to normal"),
    ];
    assert_eq!(
        post(&lead, &app, &format!("{case}/state"), &close)
            .await
            .status(),
        303
    );
    let record = family_json(&app, &family).await;
    let education_now = by_outcome(&record, "good_education");
    assert_eq!(
        education_now["status"], "achieved",
        "closed today: not sustained yet"
    );
    let due = earlyhelp_domain::cases::iso(add_months(today, SUSTAIN_MONTHS));
    assert_eq!(education_now["sustained_on"], due.as_str());

    // Seven months on from the closure, the achieved outcome is sustained; the need is not.
    let seven_months_ago = today - time::Duration::days(213);
    let micros = seven_months_ago.midnight().assume_utc().unix_timestamp() * 1_000_000;
    set_closed_at(&app.db, &family, micros).await;
    let record = family_json(&app, &family).await;
    let sustained = by_outcome(&record, "good_education");
    assert_eq!(sustained["status"], "sustained");
    let since = earlyhelp_domain::cases::iso(add_months(seven_months_ago, SUSTAIN_MONTHS));
    assert_eq!(sustained["sustained_on"], since.as_str());
    assert_eq!(by_outcome(&record, "secure_housing")["status"], "need");
    let (_, html) = page(&lead, &app, &case).await;
    assert!(html.contains(&format!(
        "Sustained</strong> <span class=\"govuk-body-s\">since {since}"
    )));

    // Reopened, the case sustains nothing until it closes again.
    let reopen = [("event", "reopen"), ("reason", "Attendance fell again")];
    assert_eq!(
        post(&lead, &app, &format!("{case}/state"), &reopen)
            .await
            .status(),
        303
    );
    let record = family_json(&app, &family).await;
    assert_eq!(by_outcome(&record, "good_education")["status"], "achieved");
}

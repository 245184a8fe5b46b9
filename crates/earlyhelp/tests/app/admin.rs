use crate::helpers::*;
use earlyhelp_storage::accounts;

crate::on_both_backends!(
    an_administrator_adds_a_user_who_can_then_sign_in,
    the_add_user_form_names_every_problem,
    non_administrators_are_refused_and_the_refusal_is_audited,
    a_deactivated_user_cannot_sign_in,
    an_administrator_adds_an_organisation,
);

async fn organisation_id(app: &TestApp, name: &str) -> String {
    accounts::find_organisation(&app.db, name)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

async fn an_administrator_adds_a_user_who_can_then_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let form_page = admin.get(&app, "/admin/users/new").await;
    assert_eq!(form_page.status(), 200);
    let org = organisation_id(&app, "Children's Trust").await;
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", "New Worker"),
        ("email", " New.Worker@Trust.Example "),
        ("organisation", &org),
        ("roles", "practitioner"),
        ("roles", "community_connector"),
        ("localities", "perry-barr"),
        ("password", "a long first password"),
    ];
    let created = admin.post(&app, "/admin/users", &form).await;
    assert_eq!(created.status(), 303, "{}", created.text().await.unwrap());
    let list = admin.get(&app, "/admin/users").await.text().await.unwrap();
    assert!(list.contains("new.worker@trust.example"));
    assert!(
        list.contains("Community connector, Early help practitioner")
            || list.contains("Early help practitioner, Community connector")
    );

    let response = app
        .try_sign_in(
            &client(),
            "new.worker@trust.example",
            "a long first password",
        )
        .await;
    assert_eq!(response.status(), 303);
    let id = accounts::user_id_by_email(&app.db, "new.worker@trust.example")
        .await
        .unwrap()
        .unwrap();
    let audit = app.audit_of(&format!("user:{id}")).await;
    assert_eq!(
        audit,
        vec![(ADMIN.into(), "create".into(), "allowed".into())]
    );

    let duplicate = admin.post(&app, "/admin/users", &form).await;
    assert_eq!(duplicate.status(), 422);
    assert!(duplicate.text().await.unwrap().contains("already exists"));
}

async fn the_add_user_form_names_every_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", ""),
        ("email", "not-an-email"),
        ("roles", "locality_lead"),
        ("password", "short"),
    ];
    let response = admin.post(&app, "/admin/users", &form).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("govuk-error-summary"));
    for (field, message) in [
        ("name", "Enter the person&#39;s full name"),
        ("email", "Enter an email address in the correct format"),
        ("organisation", "Choose the organisation they work for"),
        ("localities", "Choose the localities a locality lead leads"),
        ("password", "Password must be 12 characters or more"),
    ] {
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "summary links to {field}"
        );
        assert!(html.contains(message), "message for {field}: {message}");
    }
    assert!(
        html.contains("value=\"not-an-email\""),
        "what they typed is kept"
    );
}

async fn non_administrators_are_refused_and_the_refusal_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    for email in [PRACTITIONER, LOCALITY_LEAD, COMMISSIONER, IG_OFFICER] {
        let session = app.sign_in(email).await;
        assert_eq!(
            session.get(&app, "/admin/users").await.status(),
            403,
            "{email}"
        );
        let org = organisation_id(&app, "City Council").await;
        let form = [
            ("csrf_token", session.csrf.as_str()),
            ("name", "Sneaky"),
            ("email", "sneaky@example.org"),
            ("organisation", &org),
            ("roles", "administrator"),
            ("password", "a long first password"),
        ];
        let response = session.post(&app, "/admin/users", &form).await;
        assert_eq!(response.status(), 403, "{email}");
    }
    assert!(
        accounts::user_id_by_email(&app.db, "sneaky@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let audit = app.audit_of("users").await;
    assert!(audit.contains(&(PRACTITIONER.into(), "list".into(), "denied".into())));
    assert!(audit.contains(&(IG_OFFICER.into(), "list".into(), "denied".into())));

    let admin = app.sign_in(ADMIN).await;
    assert_eq!(admin.get(&app, "/admin/users").await.status(), 200);
    assert!(
        app.audit_of("users")
            .await
            .contains(&(ADMIN.into(), "list".into(), "allowed".into()))
    );
}

async fn a_deactivated_user_cannot_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    let admin = app.sign_in(ADMIN).await;
    let id = accounts::user_id_by_email(&app.db, ANALYST)
        .await
        .unwrap()
        .unwrap();
    let path = format!("/admin/users/{id}/deactivate");
    let response = admin
        .post(&app, &path, &[("csrf_token", admin.csrf.as_str())])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        analyst.get(&app, "/").await.status(),
        303,
        "their session ended"
    );
    assert_eq!(
        app.try_sign_in(&client(), ANALYST, DEMO_PASSWORD)
            .await
            .status(),
        401
    );

    let unknown = format!("/admin/users/{}/deactivate", uuid::Uuid::now_v7());
    let missing = admin
        .post(&app, &unknown, &[("csrf_token", admin.csrf.as_str())])
        .await;
    assert_eq!(missing.status(), 404);
}

async fn an_administrator_adds_an_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", "Hope Street Food Bank"),
        ("kind", "vcs"),
        ("locality", "ladywood"),
        ("charity_number", "1234567"),
        ("company_number", ""),
    ];
    let response = admin.post(&app, "/admin/organisations", &form).await;
    assert_eq!(response.status(), 303);
    let org = accounts::find_organisation(&app.db, "hope street food bank")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.charity_number.as_deref(), Some("1234567"));
    assert_eq!(org.locality_slug.as_deref(), Some("ladywood"));

    let bad = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", ""),
        ("kind", "spaceship"),
        ("locality", "atlantis"),
        ("charity_number", "abc"),
        ("company_number", ""),
    ];
    let refused = admin.post(&app, "/admin/organisations", &bad).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    for field in ["name", "kind", "locality", "charity_number"] {
        assert!(html.contains(&format!("href=\"#{field}\"")), "{field}");
    }
}

use crate::helpers::*;
use earlyhelp_storage::accounts;

crate::on_both_backends!(
    an_administrator_adds_a_user_who_can_then_sign_in,
    an_administrators_escalation_waits_for_a_second_person,
    nobody_approves_their_own_access,
    the_add_user_form_names_every_problem,
    non_administrators_are_refused_and_the_refusal_is_audited,
    a_deactivated_user_cannot_sign_in,
    an_administrator_adds_an_organisation,
    the_pickers_offer_staff_as_soon_as_their_access_changes,
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
    assert!(list.contains("Waiting for approval"), "{list}");
    assert!(list.contains("Early help practitioner in Perry Barr"));
    assert!(list.contains("Community connector in Perry Barr"));

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
        analyst.get(&app, "/account/password").await.status(),
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

/// The team picker's list of a locality's staff is kept for a while between pages; a change
/// to who works there made on this server shows on the next page all the same.
async fn the_pickers_offer_staff_as_soon_as_their_access_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family_page = format!("/families/{}", family_in(&app, "ladywood").await);
    let picker = || async {
        let page = lead.get(&app, &family_page).await.text().await.unwrap();
        page.split("<datalist id=\"team_email-people\">")
            .nth(1)
            .and_then(|rest| rest.split("</datalist>").next())
            .unwrap_or_else(|| panic!("a team picker: {page}"))
            .to_owned()
    };
    const NEW: &str = "picked.soon@trust.example";
    assert!(picker().await.contains(PRACTITIONER));

    let admin = app.sign_in(ADMIN).await;
    let org = organisation_id(&app, "Children's Trust").await;
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", "Picked Soon"),
        ("email", NEW),
        ("organisation", &org),
        ("roles", "practitioner"),
        ("localities", "ladywood"),
        ("password", "a long first password"),
    ];
    assert_eq!(admin.post(&app, "/admin/users", &form).await.status(), 303);
    assert!(!picker().await.contains(NEW), "not until approved");
    let grant = grant_of(&app, NEW, ("practitioner", "ladywood")).await;
    let approve = format!("/access-requests/{grant}/approve");
    let approved = lead
        .post(&app, &approve, &[("csrf_token", &lead.csrf)])
        .await;
    assert_eq!(approved.status(), 303);
    assert!(picker().await.contains(NEW), "approved");

    let id = accounts::user_id_by_email(&app.db, NEW)
        .await
        .unwrap()
        .unwrap();
    let deactivate = format!("/admin/users/{id}/deactivate");
    let deactivated = admin
        .post(&app, &deactivate, &[("csrf_token", admin.csrf.as_str())])
        .await;
    assert_eq!(deactivated.status(), 303);
    assert!(!picker().await.contains(NEW), "deactivated");
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

/// The first id an SQL statement with one text parameter answers.
async fn id_of(app: &TestApp, sql: &'static str, parameter: &str) -> uuid::Uuid {
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(parameter)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn family_in(app: &TestApp, locality: &str) -> uuid::Uuid {
    let sql = "SELECT id FROM families WHERE locality_slug = $1 ORDER BY id LIMIT 1";
    id_of(app, sql, locality).await
}

/// The access request for `email`'s `role` in `locality`.
async fn grant_of(app: &TestApp, email: &str, role_and_locality: (&str, &str)) -> uuid::Uuid {
    let sql = "SELECT g.id FROM access_grants g JOIN users u ON u.id = g.user_id \
               WHERE u.email || ' ' || g.role || ' ' || g.locality_slug = $1";
    let key = format!("{email} {} {}", role_and_locality.0, role_and_locality.1);
    id_of(app, sql, &key).await
}

/// The administrator makes a lead in every locality: nothing until a second person approves,
/// and the administrator is never that person.
async fn an_administrators_escalation_waits_for_a_second_person(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let org = organisation_id(&app, "City Council").await;
    let localities: Vec<String> = accounts::list_localities(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.slug)
        .collect();
    let mut form = vec![
        ("csrf_token", admin.csrf.clone()),
        ("name", "Everywhere Lead".into()),
        ("email", "everywhere@earlyhelp.test".into()),
        ("organisation", org.clone()),
        ("roles", "locality_lead".into()),
        ("password", DEMO_PASSWORD.into()),
    ];
    form.extend(localities.iter().map(|l| ("localities", l.clone())));
    assert_eq!(admin.post(&app, "/admin/users", &form).await.status(), 303);

    // Pending access shows no case data.
    let lead = app.sign_in("everywhere@earlyhelp.test").await;
    let home = lead.get(&app, "/").await.text().await.unwrap();
    assert!(
        home.contains("10 of the roles or localities asked for you wait"),
        "{home}"
    );
    let ladywood = family_in(&app, "ladywood").await;
    let erdington = family_in(&app, "erdington").await;
    for path in ["/families", "/triage"] {
        assert_eq!(lead.get(&app, path).await.status(), 403, "{path}");
    }
    let family_page = format!("/families/{ladywood}");
    assert_eq!(lead.get(&app, &family_page).await.status(), 404);

    // The administrator cannot approve it, nor can a locality lead approve a lead.
    let grant = grant_of(
        &app,
        "everywhere@earlyhelp.test",
        ("locality_lead", "ladywood"),
    )
    .await;
    let approve = format!("/access-requests/{grant}/approve");
    assert_eq!(admin.get(&app, "/access-requests").await.status(), 403);
    let refused = admin
        .post(&app, &approve, &[("csrf_token", &admin.csrf)])
        .await;
    assert_eq!(refused.status(), 403);
    let ladywood_lead = app.sign_in(LOCALITY_LEAD).await;
    let page = ladywood_lead
        .get(&app, "/access-requests")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Waiting for the information governance officer"),
        "{page}"
    );
    let refused = ladywood_lead
        .post(&app, &approve, &[("csrf_token", &ladywood_lead.csrf)])
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        lead.get(&app, &family_page).await.status(),
        404,
        "still nothing"
    );

    // The information governance officer approves Ladywood only, and refuses Erdington.
    let ig = app.sign_in(IG_OFFICER).await;
    let waiting = ig.get(&app, "/access-requests").await.text().await.unwrap();
    assert!(waiting.contains("Locality lead in Ladywood") && waiting.contains("Approve"));
    assert_eq!(
        ig.post(&app, &approve, &[("csrf_token", &ig.csrf)])
            .await
            .status(),
        303
    );
    let erdington_grant = grant_of(
        &app,
        "everywhere@earlyhelp.test",
        ("locality_lead", "erdington"),
    )
    .await;
    let refuse = format!("/access-requests/{erdington_grant}/refuse");
    assert_eq!(
        ig.post(&app, &refuse, &[("csrf_token", &ig.csrf)])
            .await
            .status(),
        303
    );
    let again = ig
        .post(
            &app,
            &approve.replace("approve", "refuse"),
            &[("csrf_token", &ig.csrf)],
        )
        .await;
    assert_eq!(again.status(), 422, "a decided request stays decided");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already been approved or refused")
    );

    let record = lead.get(&app, &family_page).await;
    assert_eq!(record.status(), 200, "now a lead in Ladywood");
    assert!(
        record
            .text()
            .await
            .unwrap()
            .contains("Team around the family")
    );
    // Erdington's family: at most the "known to" view, never its record.
    let other = lead.get(&app, &format!("/families/{erdington}")).await;
    assert!(
        !other
            .text()
            .await
            .unwrap()
            .contains("Team around the family")
    );

    let decided = ig.get(&app, "/access-requests").await.text().await.unwrap();
    assert!(
        decided.contains(&format!("Approved by {IG_OFFICER}")),
        "{decided}"
    );
    assert!(decided.contains(&format!("Refused by {IG_OFFICER}")));
    let id = accounts::user_id_by_email(&app.db, "everywhere@earlyhelp.test")
        .await
        .unwrap()
        .unwrap();
    let audit = app.audit_of(&format!("user:{id}")).await;
    for (who, outcome) in [
        (ADMIN, "allowed"), // the request
        (ADMIN, "denied"),
        (LOCALITY_LEAD, "denied"),
        (IG_OFFICER, "allowed"),
    ] {
        assert!(
            audit.iter().any(|(a, _, o)| a == who && o == outcome),
            "{who} {outcome}: {audit:?}"
        );
    }
    assert_eq!(
        audit
            .iter()
            .filter(|(a, _, o)| a == IG_OFFICER && o == "allowed")
            .count(),
        2,
        "the approval and the refusal"
    );

    // Nor can the administrator give itself a case role.
    let admin_id = accounts::user_id_by_email(&app.db, ADMIN)
        .await
        .unwrap()
        .unwrap();
    let own = format!("/admin/users/{admin_id}/access");
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("roles", "practitioner"),
        ("localities", "ladywood"),
    ];
    let response = admin.post(&app, &own, &form).await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("An administrator cannot also hold a role")
    );
}

/// A practitioner made by the administrator works once Ladywood's lead approves; a lead cannot
/// approve access asked for themselves.
async fn nobody_approves_their_own_access(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let org = organisation_id(&app, "Children's Trust").await;
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", "New Practitioner"),
        ("email", "new.practitioner@earlyhelp.test"),
        ("organisation", &org),
        ("roles", "practitioner"),
        ("localities", "ladywood"),
        ("password", DEMO_PASSWORD),
    ];
    assert_eq!(admin.post(&app, "/admin/users", &form).await.status(), 303);
    let practitioner = app.sign_in("new.practitioner@earlyhelp.test").await;
    assert_eq!(practitioner.get(&app, "/families").await.status(), 403);

    let lead = app.sign_in(LOCALITY_LEAD).await;
    let grant = grant_of(
        &app,
        "new.practitioner@earlyhelp.test",
        ("practitioner", "ladywood"),
    )
    .await;
    let page = lead
        .get(&app, "/access-requests")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Early help practitioner in Ladywood") && page.contains("Waiting for you")
    );
    let approve = format!("/access-requests/{grant}/approve");
    assert_eq!(
        lead.post(&app, &approve, &[("csrf_token", &lead.csrf)])
            .await
            .status(),
        303
    );
    assert_eq!(practitioner.get(&app, "/families").await.status(), 200);

    // The administrator asks for more for the Ladywood lead: the lead cannot approve it.
    let lead_id = accounts::user_id_by_email(&app.db, LOCALITY_LEAD)
        .await
        .unwrap()
        .unwrap();
    let ask = [
        ("csrf_token", admin.csrf.as_str()),
        ("roles", "community_connector"),
        ("localities", "ladywood"),
    ];
    let asked = admin
        .post(&app, &format!("/admin/users/{lead_id}/access"), &ask)
        .await;
    assert_eq!(asked.status(), 303);
    let account = admin
        .get(&app, &format!("/admin/users/{lead_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        account.contains("Community connector in Ladywood"),
        "{account}"
    );
    let own = grant_of(&app, LOCALITY_LEAD, ("community_connector", "ladywood")).await;
    let approve_own = format!("/access-requests/{own}/approve");
    let refused = lead
        .post(&app, &approve_own, &[("csrf_token", &lead.csrf)])
        .await;
    assert_eq!(refused.status(), 403);
    let again = admin
        .post(&app, &format!("/admin/users/{lead_id}/access"), &ask)
        .await;
    assert_eq!(again.status(), 422, "already waiting");
    let audit = app.audit_of(&format!("user:{lead_id}")).await;
    assert!(audit.contains(&(LOCALITY_LEAD.into(), "update".into(), "denied".into())));
}

use crate::helpers::*;
use earlyhelp_storage::accounts;

crate::on_both_backends!(
    signing_in_reaches_the_home_page,
    a_wrong_email_and_a_wrong_password_get_the_same_message,
    sign_in_without_its_csrf_token_is_refused,
    a_form_with_a_wrong_csrf_token_changes_nothing,
    a_write_from_another_origin_is_refused,
    repeated_failures_lock_the_account_for_a_while,
    parallel_guesses_are_never_checked_more_than_five_times,
    api_me_needs_a_valid_bearer_token,
    sessions_survive_a_restart,
    signing_out_ends_the_session,
    changing_the_password_signs_out_other_sessions,
);

async fn signing_in_reaches_the_home_page(backend: Backend) {
    let app = spawn_app(backend).await;
    // The public's front door: find support, ask for help, explore the data, staff sign in.
    let front = client().get(app.url("/")).send().await.unwrap();
    assert_eq!(front.status(), 200);
    let html = front.text().await.unwrap();
    for link in ["/find-support", "/self-referral", "/explore", "/sign-in"] {
        assert!(
            html.contains(&format!("href=\"{link}\""))
                || html.contains(&format!("action=\"{link}\"")),
            "{link}"
        );
    }
    let anonymous = client()
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(
        anonymous.headers()["location"],
        "/sign-in?next=%2Faccount%2Fpassword"
    );

    let session = app.sign_in(PRACTITIONER).await;
    let home = session.get(&app, "/").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("Welcome, Demo Practitioner"), "{html}");
    assert!(
        html.contains("Primary School"),
        "the home page names their organisation"
    );
    assert!(
        !html.contains("/admin/users"),
        "a practitioner is not offered user administration"
    );
    assert_eq!(
        app.audit_of("session").await.last().unwrap(),
        &(PRACTITIONER.into(), "sign_in".into(), "allowed".into())
    );
}

async fn a_wrong_email_and_a_wrong_password_get_the_same_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let wrong_password = app.try_sign_in(&client(), ADMIN, "not the password").await;
    let wrong_email = app
        .try_sign_in(&client(), "nobody@earlyhelp.test", DEMO_PASSWORD)
        .await;
    assert_eq!(wrong_password.status(), 401);
    assert_eq!(wrong_email.status(), 401);
    let message = |html: String| {
        html.split("govuk-error-summary__list")
            .nth(1)
            .unwrap()
            .split("</ul>")
            .next()
            .unwrap()
            .to_string()
    };
    let (a, b) = (
        message(wrong_password.text().await.unwrap()),
        message(wrong_email.text().await.unwrap()),
    );
    assert_eq!(a, b);
    assert!(a.contains("Enter the email address and password for your account"));
}

async fn sign_in_without_its_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    // A fresh client has no pre-session cookie, as a forged cross-site form would not.
    let form = [
        ("csrf_token", "forged"),
        ("email", ADMIN),
        ("password", DEMO_PASSWORD),
    ];
    let response = client()
        .post(app.url("/sign-in"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no session was started"
    );
}

async fn a_form_with_a_wrong_csrf_token_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let form = [
        ("csrf_token", "wrong"),
        ("name", "Forged Org"),
        ("kind", "vcs"),
    ];
    let response = admin.post(&app, "/admin/organisations", &form).await;
    assert_eq!(response.status(), 403);
    assert!(
        accounts::find_organisation(&app.db, "Forged Org")
            .await
            .unwrap()
            .is_none()
    );
    let signed_out = admin
        .post(&app, "/sign-out", &[("csrf_token", "wrong")])
        .await;
    assert_eq!(signed_out.status(), 403);
    assert_eq!(admin.get(&app, "/").await.status(), 200, "still signed in");
}

async fn a_write_from_another_origin_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.sign_in(ADMIN).await;
    let form = [
        ("csrf_token", admin.csrf.as_str()),
        ("name", "Cross Site Org"),
        ("kind", "vcs"),
    ];
    let response = admin
        .client
        .post(app.url("/admin/organisations"))
        .header("Origin", "https://attacker.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        accounts::find_organisation(&app.db, "Cross Site Org")
            .await
            .unwrap()
            .is_none()
    );
}

async fn repeated_failures_lock_the_account_for_a_while(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        assert_eq!(
            app.try_sign_in(&client(), COMMISSIONER, "guess")
                .await
                .status(),
            401
        );
    }
    let locked = app
        .try_sign_in(&client(), COMMISSIONER, DEMO_PASSWORD)
        .await;
    assert_eq!(
        locked.status(),
        401,
        "even the right password is refused while locked"
    );
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("tried to sign in too many times")
    );
    // Unknown emails lock the same way, so lockout does not reveal who has an account.
    for _ in 0..5 {
        app.try_sign_in(&client(), "nobody@earlyhelp.test", "guess")
            .await;
    }
    let unknown = app
        .try_sign_in(&client(), "nobody@earlyhelp.test", "guess")
        .await;
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("tried to sign in too many times")
    );
    // Others are unaffected.
    assert_eq!(
        app.try_sign_in(&client(), ADMIN, DEMO_PASSWORD)
            .await
            .status(),
        303
    );
}

/// How many sign-in attempts for `email` were checked against the password hash and failed:
/// each one writes this audit event after the check, and only then.
async fn guesses_checked(app: &TestApp, email: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM audit_events WHERE actor = $1 AND action = 'sign_in' \
               AND purpose = 'wrong email or password'";
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql)
            .bind(email)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

async fn parallel_guesses_are_never_checked_more_than_five_times(backend: Backend) {
    let app = spawn_app(backend).await;
    // A right password within the first five attempts still signs in, and starts the count again.
    for _ in 0..4 {
        app.try_sign_in(&client(), ANALYST, "guess").await;
    }
    let right = app.try_sign_in(&client(), ANALYST, DEMO_PASSWORD).await;
    assert_eq!(right.status(), 303, "the fifth attempt is still checked");
    assert_eq!(guesses_checked(&app, ANALYST).await, 4);

    // Twenty wrong guesses at once: each is counted before its password is checked.
    let guesses = (0..20).map(|n| {
        let app = &app;
        async move {
            app.try_sign_in(&client(), ANALYST, &format!("guess {n}"))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        guesses_checked(&app, ANALYST).await,
        4 + 5,
        "five of the twenty were checked against the hash, no more"
    );
    let locked = app.try_sign_in(&client(), ANALYST, DEMO_PASSWORD).await;
    assert_eq!(
        locked.status(),
        401,
        "the right password waits out the lock"
    );
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("tried to sign in too many times")
    );
    assert_eq!(guesses_checked(&app, ANALYST).await, 9);
}

async fn api_me_needs_a_valid_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let user_id = accounts::user_id_by_email(&app.db, LOCALITY_LEAD)
        .await
        .unwrap()
        .unwrap();
    let token = accounts::create_api_token(&app.db, user_id).await.unwrap();

    let me: serde_json::Value = client()
        .get(app.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], LOCALITY_LEAD);
    assert_eq!(me["roles"], serde_json::json!(["locality_lead"]));
    assert_eq!(me["localities"], serde_json::json!(["ladywood"]));
    assert!(
        me["organisation"]["name"]
            .as_str()
            .unwrap()
            .contains("Family")
    );

    for bad in ["", "eh_not-a-token"] {
        let response = client()
            .get(app.url("/api/me"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "token {bad:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("bearer token"));
    }
    assert_eq!(
        client()
            .get(app.url("/api/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let openapi: serde_json::Value = client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/me"]["get"].is_object());
}

async fn sessions_survive_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in(IG_OFFICER).await;
    let cookie = session.get(&app, "/").await;
    assert_eq!(cookie.status(), 200);
    let (db, url) = (app.db.clone(), app.database_url.clone());
    drop(app);
    let restarted = serve(db, url).await;
    let home = session.client.get(restarted.url("/")).send().await.unwrap();
    assert_eq!(
        home.status(),
        200,
        "the session cookie still works on the new server"
    );
}

async fn signing_out_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = app.sign_in(ANALYST).await;
    let response = session
        .post(&app, "/sign-out", &[("csrf_token", session.csrf.as_str())])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(session.get(&app, "/account/password").await.status(), 303);
}

async fn changing_the_password_signs_out_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.sign_in(VCS_WORKER).await;
    let phone = app.sign_in(VCS_WORKER).await;
    let weak = [
        ("csrf_token", laptop.csrf.as_str()),
        ("current_password", DEMO_PASSWORD),
        ("new_password", "short"),
        ("confirm_password", "short"),
    ];
    let refused = laptop.post(&app, "/account/password", &weak).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("12 characters or more")
    );

    let new_password = "a much longer passphrase";
    let form = [
        ("csrf_token", laptop.csrf.as_str()),
        ("current_password", DEMO_PASSWORD),
        ("new_password", new_password),
        ("confirm_password", new_password),
    ];
    let changed = laptop.post(&app, "/account/password", &form).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        laptop.get(&app, "/").await.status(),
        200,
        "this session stays"
    );
    assert_eq!(
        phone.get(&app, "/account/password").await.status(),
        303,
        "the other is signed out"
    );
    assert_eq!(
        app.try_sign_in(&client(), VCS_WORKER, DEMO_PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.try_sign_in(&client(), VCS_WORKER, new_password)
            .await
            .status(),
        303
    );
}

//! The second factor (issue 15, item 4): set up with a QR code, a code at every sign-in, a
//! replayed code refused, recovery codes once each, the lockout, an administrator's reset; and
//! the session list, where a person ends their other sessions.

use crate::helpers::*;
use earlyhelp_storage::accounts;
use earlyhelp_storage::second_factor::{code_at, unix_seconds};

crate::on_both_backends!(
    a_second_factor_is_set_up_and_asked_for_at_every_sign_in,
    recovery_codes_work_once_and_an_administrator_resets_the_factor,
    wrong_codes_lock_the_second_factor_as_wrong_passwords_do,
    a_person_ends_their_other_sessions,
);

fn requiring() -> earlyhelp_web::Config {
    earlyhelp_web::Config {
        second_factor_required: true,
        ..test_config()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The text of the element with `id` (its first text node).
fn text_of(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    let open = start + html[start..].find('>').unwrap() + 1;
    let inner = &html[open..];
    let inner = inner.trim_start_matches("<code>");
    inner[..inner.find('<').unwrap()].trim().to_string()
}

async fn send_code(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    let page = client
        .get(app.url("/account/second-factor"))
        .send()
        .await
        .unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    client
        .post(app.url("/account/second-factor"))
        .form(&[("csrf_token", csrf.as_str()), ("code", code), ("next", "/")])
        .send()
        .await
        .unwrap()
}

/// Signs in with the password alone: the session waits for the second factor.
async fn password_only(app: &TestApp, email: &str) -> reqwest::Client {
    let client = client();
    let response = app.try_sign_in(&client, email, DEMO_PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert!(
        location(&response).starts_with("/account/second-factor"),
        "{}",
        location(&response)
    );
    client
}

/// Signs `email` in for the first time and sets up the factor; answers the signed-in session,
/// the secret, the recovery codes and the time whose code set it up.
async fn set_up(app: &TestApp, email: &str) -> (Session, String, Vec<String>, u64) {
    let client = password_only(app, email).await;
    let page = client
        .get(app.url("/account/second-factor"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"), "the QR code is drawn: {html}");
    let secret = text_of(&html, "secret");
    let used_at = unix_seconds();
    let code = code_at(&secret, used_at).unwrap();
    let response = send_code(app, &client, &code).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let list = &html[html.find("id=\"recovery-codes\"").unwrap()..];
    let list = &list[..list.find("</ul>").unwrap()];
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let csrf = csrf_in(&home.text().await.unwrap());
    (Session { client, csrf }, secret, codes, used_at)
}

async fn a_second_factor_is_set_up_and_asked_for_at_every_sign_in(backend: Backend) {
    let app = spawn_app_with(backend, requiring()).await;
    // Password alone opens nothing: every page sends the person to the second factor.
    let client = password_only(&app, PRACTITIONER).await;
    let home = client.get(app.url("/families")).send().await.unwrap();
    assert_eq!(home.status(), 303);
    assert_eq!(location(&home), "/account/second-factor");
    let page = client
        .get(app.url("/account/second-factor"))
        .send()
        .await
        .unwrap();
    let secret = text_of(&page.text().await.unwrap(), "secret");
    let wrong = send_code(&app, &client, "000000").await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The code is not right")
    );
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 303);
    drop(client);
    // The set-up offers the same secret until it is confirmed.
    let (session, same_secret, _, now) = set_up(&app, PRACTITIONER).await;
    assert_eq!(same_secret, secret);
    assert_eq!(session.get(&app, "/families").await.status(), 200);

    // The next sign-in asks for a code; the one used at set-up is refused (replayed).
    let used = code_at(&secret, now).unwrap();
    let client = password_only(&app, PRACTITIONER).await;
    let page = client
        .get(app.url("/account/second-factor"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Enter your code") && !html.contains("<svg"));
    let replayed = send_code(&app, &client, &used).await;
    assert_eq!(replayed.status(), 401);
    let next = code_at(&secret, now + 30).unwrap();
    let right = send_code(&app, &client, &next).await;
    assert_eq!(right.status(), 303);
    assert_eq!(location(&right), "/");
    assert_eq!(
        client
            .get(app.url("/families"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The same code again, in another sign-in: refused.
    let other = password_only(&app, PRACTITIONER).await;
    assert_eq!(send_code(&app, &other, &next).await.status(), 401);

    // Every step is in the audit log.
    let outcomes: Vec<(String, String)> = app
        .audit_of("session")
        .await
        .into_iter()
        .filter(|(actor, action, _)| actor == PRACTITIONER && action == "second_factor")
        .map(|(_, _, outcome)| (outcome.clone(), outcome))
        .collect();
    let denied = outcomes.iter().filter(|(o, _)| o == "denied").count();
    let allowed = outcomes.iter().filter(|(o, _)| o == "allowed").count();
    assert_eq!((denied, allowed), (3, 2));
}

async fn recovery_codes_work_once_and_an_administrator_resets_the_factor(backend: Backend) {
    let app = spawn_app_with(backend, requiring()).await;
    let (_, _, codes, _) = set_up(&app, PRACTITIONER).await;
    let client = password_only(&app, PRACTITIONER).await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    let response = send_code(&app, &client, &typed).await;
    assert_eq!(response.status(), 303);
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 200);
    let again = password_only(&app, PRACTITIONER).await;
    assert_eq!(send_code(&app, &again, &codes[3]).await.status(), 401);
    assert_eq!(send_code(&app, &again, &codes[4]).await.status(), 303);

    // An administrator (with a second factor of their own) resets it: audited, signed out.
    let (admin, _, _, _) = set_up(&app, ADMIN).await;
    let id = accounts::user_id_by_email(&app.db, PRACTITIONER)
        .await
        .unwrap()
        .unwrap();
    let page = admin.get(&app, &format!("/admin/users/{id}")).await;
    assert!(page.text().await.unwrap().contains("Reset second factor"));
    let reset = admin
        .post(
            &app,
            &format!("/admin/users/{id}/second-factor/reset"),
            &[("csrf_token", admin.csrf.as_str())],
        )
        .await;
    assert_eq!(reset.status(), 303);
    let audit = app.audit_of(&format!("user:{id}")).await;
    assert_eq!(
        audit.last(),
        Some(&(
            ADMIN.to_string(),
            "update".to_string(),
            "allowed".to_string()
        ))
    );
    let purpose: String = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(
            "SELECT purpose FROM audit_events WHERE subject = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(format!("user:{id}"))
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(purpose, "user administration: reset second factor");
    let signed_out = client.get(app.url("/families")).send().await.unwrap();
    assert!(location(&signed_out).starts_with("/sign-in"));
    // The old recovery codes are gone; the next sign-in sets up a new factor.
    let fresh = password_only(&app, PRACTITIONER).await;
    assert_eq!(send_code(&app, &fresh, &codes[5]).await.status(), 401);
    let (_, _, new_codes, _) = set_up(&app, PRACTITIONER).await;
    assert!(new_codes.iter().all(|c| !codes.contains(c)));
}

async fn wrong_codes_lock_the_second_factor_as_wrong_passwords_do(backend: Backend) {
    let app = spawn_app_with(backend, requiring()).await;
    let (_, secret, _, _) = set_up(&app, ADMIN).await;
    let client = password_only(&app, ADMIN).await;
    for _ in 0..5 {
        assert_eq!(send_code(&app, &client, "123456").await.status(), 401);
    }
    let right = code_at(&secret, unix_seconds() + 30).unwrap();
    let locked = send_code(&app, &client, &right).await;
    assert_eq!(locked.status(), 401);
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("too many wrong codes")
    );
    assert_eq!(client.get(app.url("/")).send().await.unwrap().status(), 303);
}

async fn a_person_ends_their_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let laptop = app.sign_in(ANALYST).await;
    let phone = app.sign_in(ANALYST).await;
    let list = laptop
        .get(&app, "/account/sessions")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        list.matches("<td class=\"govuk-table__cell\"><strong class=\"govuk-tag\">This session")
            .count(),
        1
    );
    assert_eq!(
        list.matches("<tr class=\"govuk-table__row\">").count(),
        3,
        "{list}"
    );
    let ended = laptop
        .post(
            &app,
            "/account/sessions/end-others",
            &[("csrf_token", laptop.csrf.as_str())],
        )
        .await;
    assert_eq!(ended.status(), 303);
    assert_eq!(location(&ended), "/account/sessions?ended=1");
    let signed_out = phone.get(&app, "/account/sessions").await;
    assert!(location(&signed_out).starts_with("/sign-in"));
    assert_eq!(laptop.get(&app, "/account/sessions").await.status(), 200);
    let list = laptop
        .get(&app, &location(&ended))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(list.matches("<tr class=\"govuk-table__row\">").count(), 2);
    assert!(list.contains("1 other session ended."));
    // Without the form's token nothing ends.
    let phone = app.sign_in(ANALYST).await;
    let forged = laptop
        .post(
            &app,
            "/account/sessions/end-others",
            &[("csrf_token", "forged")],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(phone.get(&app, "/account/sessions").await.status(), 200);
}

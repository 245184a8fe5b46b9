//! Help for each role, the accessibility statement and the cookies page: public, linked from
//! every page's footer, and every task on a role's help page starts from a page that role opens.

use crate::helpers::*;
use regex::Regex;

#[tokio::test]
async fn help_pages_are_public_and_linked_from_every_footer() {
    let app = spawn_app(Backend::Sqlite).await;
    let public = Session {
        client: client(),
        csrf: String::new(),
    };
    let front_door = public.get(&app, "/").await.text().await.unwrap();
    for path in ["/help", "/accessibility", "/cookies"] {
        assert!(
            front_door.contains(&format!("href=\"{path}\"")),
            "footer lacks {path}"
        );
        let response = public.get(&app, path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    let help = public.get(&app, "/help").await.text().await.unwrap();
    assert!(help.contains("href=\"/help/information-governance-officer\""));
    assert_eq!(public.get(&app, "/help/head-teacher").await.status(), 404);
}

/// Each role's help page links only to pages that role can open (a dead or forbidden link
/// would send a person with ten minutes to spare down a wrong turn).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_on_a_roles_help_page_opens_for_that_role() {
    let app = spawn_app(Backend::Sqlite).await;
    let go_to = Regex::new(r#"<a class="govuk-link" href="(/[^"]*)">Go to "#).unwrap();
    for (email, role) in [
        (ADMIN, "administrator"),
        (LOCALITY_LEAD, "locality-lead"),
        (PRACTITIONER, "practitioner"),
        ("connector.ladywood@earlyhelp.test", "community-connector"),
        (VCS_WORKER, "vcs-worker"),
        (ANALYST, "data-analyst"),
        (COMMISSIONER, "commissioner"),
        (IG_OFFICER, "information-governance-officer"),
        (GRANTS_OFFICER, "grants-officer"),
        (earlyhelp::demo_grants::ASSESSOR, "grant-assessor"),
    ] {
        let session = app.sign_in(email).await;
        let page = session.get(&app, &format!("/help/{role}")).await;
        assert_eq!(page.status(), 200, "{role}");
        let body = page.text().await.unwrap();
        let links: Vec<String> = go_to
            .captures_iter(&body)
            .map(|c| c[1].to_string())
            .collect();
        assert!(!links.is_empty(), "{role} has no tasks");
        for link in links {
            let response = session.get(&app, &link).await;
            assert_eq!(response.status(), 200, "{role}: {link}");
            assert!(
                !response.url().path().starts_with("/sign-in"),
                "{role}: {link} sent them to sign in"
            );
        }
    }
}

#[tokio::test]
async fn the_cookies_page_names_every_cookie_set() {
    let app = spawn_app(Backend::Sqlite).await;
    let cookies = client()
        .get(app.url("/cookies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let officer = app.sign_in(COMMISSIONER).await;
    let indicator = crate::surveys::uploaded_indicator(&app.db).await;
    let survey = crate::surveys::published_survey(&app, &officer, &indicator).await;
    let mut names = vec![earlyhelp_web::session::SESSION_COOKIE.to_string()];
    for path in [
        "/sign-in",
        "/self-referral",
        &format!("/have-your-say/{survey}"),
    ] {
        let response = client().get(app.url(path)).send().await.unwrap();
        for cookie in response.cookies() {
            names.push(cookie.name().to_string());
        }
    }
    assert!(names.len() >= 4, "expected the forms' cookies: {names:?}");
    for name in names {
        assert!(
            cookies.contains(&format!("<code>{name}</code>")),
            "{name} is not on /cookies"
        );
    }
}

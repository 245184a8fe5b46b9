//! Hostile input: every route of the router (its own table, not a list kept here) sent crafted
//! input anonymously and as a person whose work it is; and the findings of issue 21, each as a
//! regression from the outside.

use crate::helpers::*;
use crate::on_both_backends;
use earlyhelp_storage::Db;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use std::collections::BTreeSet;

on_both_backends!(
    every_route_answers_crafted_input_without_a_server_error,
    sign_in_sends_people_only_to_paths_on_this_site,
    the_shortlist_goes_back_only_to_the_directory,
    broken_uploads_are_the_senders_mistake,
    rejected_requests_are_answered_in_the_callers_kind,
    pages_out_of_range_are_refused_or_empty_never_wrapped,
    a_note_over_the_limit_is_refused_and_kept,
    the_sixth_self_referral_in_an_hour_gives_the_phone_number,
    sign_in_is_limited_per_address_across_accounts,
    the_forwarded_address_counts_only_from_a_trusted_proxy,
);

const CONNECTOR: &str = "connector.ladywood@earlyhelp.test";

async fn scalar(db: &Db, sql: &str) -> String {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar::<_, uuid::Uuid>(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap()
            .to_string()
    })
}

/// An open family in Ladywood, whose locality lead may work on it.
pub async fn ladywood_family(db: &Db) -> String {
    scalar(
        db,
        "SELECT id FROM families WHERE locality_slug = 'ladywood' AND state = 'open' ORDER BY id LIMIT 1",
    )
    .await
}

async fn requests_at(db: &Db, address: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM support_requests WHERE address = $1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql)
            .bind(address)
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

// ---------------------------------------------------------------------------------------------
// Route by route

/// Who, besides someone anonymous, tries each route: the role whose work it is.
fn role_for(path: &str) -> &'static str {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| path.starts_with(p));
    if starts(&["/admin"]) {
        ADMIN
    } else if starts(&["/audit", "/governance", "/api/audit"]) {
        IG_OFFICER
    } else if starts(&["/directory/manage"]) {
        CONNECTOR
    } else if starts(&[
        "/outcomes",
        "/extracts",
        "/matching",
        "/api/indicators",
        "/readings",
        "/surveys",
        "/you-said-we-did",
    ]) {
        ANALYST
    } else if starts(&[
        "/payments",
        "/programmes",
        "/api/payments",
        "/api/programmes",
        "/grants",
        "/api/360giving",
        "/spend-against-need",
        "/api/spend-against-need",
    ]) {
        GRANTS_OFFICER
    } else {
        LOCALITY_LEAD
    }
}

/// Text that has broken parsers, headers and templates: control characters, a NUL, escape
/// sequences, bidirectional overrides, markup.
const CONTROL: &str = "a\u{0}\u{1}\r\n\t\u{1b}[31m\u{7f}\u{202e}<script>\u{85}";
const NUMBERS: &[&str] = &[
    "-1",
    "0",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "99999999999999999999999999999",
    "-0.0",
];
/// Query parameters read somewhere (the Open Referral API, lists, redirects), beside the form
/// fields found on the pages themselves.
const QUERY_NAMES: &[&str] = &[
    "page",
    "per_page",
    "next",
    "back",
    "q",
    "search",
    "locality",
    "area",
    "ids",
    "subject",
    "actor",
    "outcome",
    "measure",
    "taxonomy_id",
    "taxonomy_term_id",
    "organization_id",
    "minimum_age",
    "maximum_age",
    "day",
    "start_time",
    "end_time",
    "postcode",
    "proximity",
    "modified_after",
    "distance",
    "age",
    "free",
    "need",
    "group",
    "dimension",
    "indicator",
    "done",
];

fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every `name="..."` on a page: the fields its forms send.
fn field_names(html: &str, into: &mut BTreeSet<String>) {
    for piece in html.split("name=\"").skip(1) {
        if let Some(name) = piece.split('"').next()
            && !name.is_empty()
            && name.len() < 60
        {
            into.insert(name.to_string());
        }
    }
}

/// The route's path with each `{parameter}` as `value` (or a real one, where `real` says).
fn fill(path: &str, value: &str, real: &dyn Fn(&str, &str) -> Option<String>) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let name = name.trim_start_matches('*');
                    if value.is_empty() {
                        real(path, name).unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
                    } else {
                        value.to_string()
                    }
                }
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

struct Probe<'a> {
    app: &'a TestApp,
    failures: Vec<String>,
    tried: usize,
}

impl Probe<'_> {
    /// Sends `request` and records a server error, or a refusal that is not a page (or JSON
    /// under /api and /openreferral).
    async fn check(&mut self, who: &str, what: &str, path: &str, request: reqwest::RequestBuilder) {
        self.tried += 1;
        let again = request.try_clone();
        // A pooled keep-alive connection that the server closed just before (after answering a
        // request without reading all of its body) fails before the request reaches it: it is
        // sent once more, on a fresh connection. A server that does not answer still fails.
        let sent = match (request.send().await, again) {
            (Err(error), Some(again)) if error.is_request() => again.send().await,
            (sent, _) => sent,
        };
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                self.failures
                    .push(format!("{who} {what} {path}: no answer ({error})"));
                return;
            }
        };
        let status = response.status();
        let kind = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let json = path.starts_with("/api/") || path.starts_with("/openreferral");
        let wanted = if json {
            "application/json"
        } else {
            "text/html"
        };
        if status.is_server_error() {
            let body = response.text().await.unwrap_or_default();
            let excerpt: String = body.chars().take(200).collect();
            self.failures
                .push(format!("{who} {what} {path}: {status} {excerpt}"));
        } else if status.is_client_error() && !kind.starts_with(wanted) {
            self.failures.push(format!(
                "{who} {what} {path}: {status} answered as {kind:?}, not {wanted}"
            ));
        }
    }

    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }
}

/// Served from a pool of one database connection, so a handler that holds a connection while
/// it waits for another (which deadlocks a busy server's pool) answers 500 here.
async fn every_route_answers_crafted_input_without_a_server_error(backend: Backend) {
    let demo = spawn_app(backend).await;
    let one_connection = earlyhelp_storage::Db::connect_pooled(&demo.database_url, Some(1))
        .await
        .unwrap();
    let app = serve(one_connection, demo.database_url.clone()).await;
    let family = ladywood_family(&app.db).await;
    let real = move |path: &str, name: &str| -> Option<String> {
        match (name, path) {
            ("id", p) if p.starts_with("/families/") || p.starts_with("/api/families/") => {
                Some(family.clone())
            }
            ("reference", _) => Some("EH1".into()),
            ("decision", _) => Some("approve".into()),
            ("name", _) => Some("govuk-frontend.min.css".into()),
            _ => None,
        }
    };
    let table = earlyhelp_web::route_table();
    assert!(table.len() > 60, "the router's own table lists every route");
    // Sign-out last: it ends the session the other routes are tried with.
    let mut routes = table.clone();
    routes.sort_by_key(|r| r.path == "/sign-out");

    let roles: BTreeSet<&str> = routes.iter().map(|r| role_for(r.path)).collect();
    let mut sessions = std::collections::BTreeMap::new();
    let mut names: BTreeSet<String> = QUERY_NAMES.iter().map(|s| s.to_string()).collect();
    for role in &roles {
        let session = app.sign_in(role).await;
        // The fields of every form this role is shown.
        for route in &routes {
            if route.path.contains("sign-out") {
                continue;
            }
            let path = fill(route.path, "", &real);
            let page = session.client.get(app.url(&path)).send().await.unwrap();
            if page.status() == 200 {
                field_names(&page.text().await.unwrap_or_default(), &mut names);
            }
        }
        sessions.insert(*role, session);
    }
    names.remove("csrf_token");
    assert!(
        names.contains("body") && names.contains("summary"),
        "{names:?}"
    );

    let crafted_path = [
        "not-an-id",
        "-1",
        "18446744073709551616",
        "%FF%FE%80",
        "%00%0D%0Aset-cookie:x",
        "00000000-0000-0000-0000-000000000000",
        "..%2F..%2Fetc%2Fpasswd",
        &"9".repeat(3000),
    ];
    let with = |value: &dyn Fn(usize) -> String| -> Vec<(String, String)> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), value(i)))
            .collect()
    };
    let controls = encode(&with(&|_| CONTROL.to_string()));
    let numbers = encode(&with(&|i| NUMBERS[i % NUMBERS.len()].to_string()));
    let bad_utf8: Vec<u8> = names
        .iter()
        .flat_map(|n| [percent(n).into_bytes(), b"=%FF%FE\xff\xc3(&".to_vec()].concat())
        .collect();
    let queries = [
        controls.clone(),
        numbers.clone(),
        "page=%FF%FE&per_page=%C0%AF&next=%0D%0A//evil.example&q=%00".to_string(),
        "&&=&a==b&%&page&page=1&page=2&ids[]=x".to_string(),
    ];

    let mut probe = Probe {
        app: &app,
        failures: Vec::new(),
        tried: 0,
    };
    let anonymous = client();
    for route in &routes {
        let role = role_for(route.path);
        let signed = &sessions[role];
        for (who, http, csrf) in [
            ("anonymous", &anonymous, String::new()),
            (role, &signed.client, signed.csrf.clone()),
        ] {
            let token = format!("csrf_token={}&", percent(&csrf));
            let path = fill(route.path, "", &real);
            let form = "application/x-www-form-urlencoded";
            // Over the route's stated limit, in the kind it reads: 413 for anyone it reads.
            // (First: a crafted form may end the session, at sign-out.)
            let filler = "a".repeat(route.body_limit);
            let (kind, body) = if path.starts_with("/api/") {
                (
                    "application/json".to_string(),
                    format!("{{\"body\": \"{filler}\"}}"),
                )
            } else if route.body_limit >= earlyhelp_domain::limits::UPLOAD_BODY {
                (
                    "multipart/form-data; boundary=B".to_string(),
                    format!(
                        "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n{filler}\r\n--B--\r\n"
                    ),
                )
            } else {
                (form.to_string(), format!("{token}body={filler}"))
            };
            // Its own connection: one answered before its body is read is not used again.
            let over = http
                .post(probe.url(&path))
                .header(CONTENT_TYPE, kind)
                .header("connection", "close")
                .body(body);
            probe.tried += 1;
            // Anyone may be answered (413, or sent to sign in) before all of a body over the
            // limit is sent, and the connection closed under it: the server refused to read
            // it, and on a busy machine the client can see the reset before the answer. What
            // must never come is any other status, which the check below catches.
            let status = match over.send().await {
                Ok(response) => response.status().as_u16(),
                Err(error) if error.is_request() || error.is_body() => 0,
                Err(error) => {
                    probe
                        .failures
                        .push(format!("{who} over the limit {path}: {error}"));
                    0
                }
            };
            if who != "anonymous" && status != 0 && !matches!(status, 413 | 405) {
                probe
                    .failures
                    .push(format!("{who} over the limit {path}: {status}, not 413"));
            }
            // Reading: odd paths and queries.
            for (i, value) in crafted_path.iter().enumerate() {
                if !route.path.contains('{') && i > 0 {
                    break;
                }
                let odd = if route.path.contains('{') {
                    fill(route.path, value, &real)
                } else {
                    path.clone()
                };
                let query = &queries[i % queries.len()];
                let url = format!("{}?{query}", probe.url(&odd));
                probe.check(who, "GET", &odd, http.get(url)).await;
            }
            for query in &queries {
                let url = format!("{}?{query}", probe.url(&path));
                probe.check(who, "GET query", &path, http.get(url)).await;
            }
            // Writing: crafted forms, other content types, broken uploads, too much.
            let bodies: Vec<(&str, Option<String>, Vec<u8>)> = vec![
                ("controls", Some(form.into()), format!("{token}{controls}").into_bytes()),
                ("numbers", Some(form.into()), format!("{token}{numbers}").into_bytes()),
                ("invalid UTF-8", Some(form.into()), [token.as_bytes(), &bad_utf8].concat()),
                ("truncated JSON", Some("application/json".into()), b"{\"body\": \"x".to_vec()),
                ("JSON of the wrong shape", Some("application/json".into()), b"[1, {\"members\": 7}, null]".to_vec()),
                ("text", Some("text/plain".into()), controls.clone().into_bytes()),
                ("no content type", None, controls.clone().into_bytes()),
                (
                    "truncated multipart",
                    Some("multipart/form-data; boundary=XyZ".into()),
                    format!("--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nfamily_id,measure,ta").into_bytes(),
                ),
                ("multipart without a boundary", Some("multipart/form-data".into()), b"--x\r\n\r\n".to_vec()),
            ];
            for (what, kind, body) in bodies {
                let mut request = http.post(probe.url(&path)).body(body);
                if let Some(kind) = kind {
                    request = request.header(CONTENT_TYPE, kind);
                }
                probe.check(who, what, &path, request).await;
            }
            for value in &crafted_path[..4] {
                let odd = fill(route.path, value, &real);
                let request = http
                    .post(probe.url(&odd))
                    .header(CONTENT_TYPE, form)
                    .body(format!("{token}{controls}"));
                probe.check(who, "POST to an odd path", &odd, request).await;
            }
            for method in [
                reqwest::Method::PUT,
                reqwest::Method::DELETE,
                reqwest::Method::PATCH,
            ] {
                let request = http.request(method.clone(), probe.url(&path));
                probe.check(who, method.as_str(), &path, request).await;
            }
        }
        // Hostile headers, from a client with no session.
        let path = fill(route.path, "", &real);
        let headers = [
            (
                "cookie",
                "eh_session=%00%FF; eh_presession=;;; eh_shortlist=..,,x".to_string(),
            ),
            ("authorization", format!("Bearer {}", "x".repeat(8000))),
            ("authorization", "Basic %%%".into()),
            ("x-forwarded-for", "not-an-address, 999.1.1.1, ::g".into()),
            ("accept", "application/json;q=nonsense".into()),
        ];
        for (name, value) in headers {
            let request = client().post(probe.url(&path)).header(name, value.clone());
            probe.check("anonymous", name, &path, request).await;
            let request = client().get(probe.url(&path)).header(name, value);
            probe.check("anonymous", name, &path, request).await;
        }
    }
    assert!(
        probe.tried > 5_000,
        "only {} requests were tried",
        probe.tried
    );
    assert!(
        probe.failures.is_empty(),
        "{} of {} crafted requests failed:\n{}",
        probe.failures.len(),
        probe.tried,
        probe.failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Redirects from input

async fn sign_in_sends_people_only_to_paths_on_this_site(backend: Backend) {
    let app = spawn_app(backend).await;
    for (next, expected) in [
        ("/%09/evil.example", "/"),
        ("/%0D%0A/evil.example", "/"),
        ("//evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("https://evil.example/", "/"),
        ("/families%0D%0ASet-Cookie:%20x=1", "/"),
        ("/%01", "/"),
        ("/families?x=1", "/families?x=1"),
    ] {
        let browser = client();
        let page = browser
            .get(app.url(&format!("/sign-in?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "the sign-in page with next={next}");
        let html = page.text().await.unwrap();
        let shown = format!("name=\"next\" value=\"{}\"", expected.replace('&', "&amp;"));
        assert!(html.contains(&shown), "next={next} is shown as {expected}");
        let decoded = percent_decode(next);
        let form = [
            ("csrf_token", csrf_in(&html)),
            ("email", PRACTITIONER.to_string()),
            ("password", DEMO_PASSWORD.to_string()),
            ("next", decoded),
        ];
        let response = browser
            .post(app.url("/sign-in"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "sign-in with next={next}");
        assert_eq!(response.headers()[LOCATION], expected, "next={next}");
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn the_shortlist_goes_back_only_to_the_directory(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = get_json_id(&app).await;
    for (back, expected) in [
        (
            "/find-support\r\nSet-Cookie: x=1",
            "/find-support/shortlist",
        ),
        ("/find-support\t//evil.example", "/find-support/shortlist"),
        ("//evil.example/find-support", "/find-support/shortlist"),
        ("/families", "/find-support/shortlist"),
        ("/find-support?q=food", "/find-support?q=food"),
    ] {
        let response = client()
            .post(app.url("/find-support/shortlist"))
            .form(&[("id", service.as_str()), ("back", back)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "back={back:?}");
        assert_eq!(response.headers()[LOCATION], expected, "back={back:?}");
    }
}

async fn get_json_id(app: &TestApp) -> String {
    let page: serde_json::Value = client()
        .get(app.url("/openreferral/services?per_page=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["contents"][0]["id"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// Bodies that cannot be read

async fn broken_uploads_are_the_senders_mistake(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.sign_in(ANALYST).await;
    for path in ["/readings/import", "/outcomes/uploads"] {
        for (what, kind, body) in [
            (
                "cut off",
                "multipart/form-data; boundary=B",
                format!(
                    "--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\nfamily_id,mea",
                    analyst.csrf
                ),
            ),
            (
                "no boundary",
                "multipart/form-data",
                "--B\r\n\r\n".to_string(),
            ),
            (
                "a form, not a file",
                "application/x-www-form-urlencoded",
                "file=x".to_string(),
            ),
        ] {
            let response = analyst
                .client
                .post(app.url(path))
                .header(CONTENT_TYPE, kind)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(matches!(status, 400 | 415), "{path} {what}: {status}");
            let page = response.text().await.unwrap();
            assert!(
                page.contains("What you sent could not be read"),
                "{path} {what}"
            );
            assert!(
                page.contains("Go back, check what you entered"),
                "{path} {what}"
            );
        }
    }
    // Larger than a form may be: 413, with what to do.
    let response = analyst
        .client
        .post(app.url("/measures"))
        .form(&[
            ("csrf_token", analyst.csrf.as_str()),
            ("name", &"a".repeat(70_000)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("What you sent is too large")
    );
}

async fn rejected_requests_are_answered_in_the_callers_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family = ladywood_family(&app.db).await;
    let notes = app.url(&format!("/api/families/{family}/notes"));
    let cases = [
        ("text/plain", "body".to_string(), 415),
        ("application/json", "{\"body\": ".to_string(), 400),
        ("application/json", "{\"body\": 7}".to_string(), 422),
    ];
    for (kind, body, status) in cases {
        let response = lead
            .client
            .post(&notes)
            .header(CONTENT_TYPE, kind)
            .header("x-csrf-token", &lead.csrf)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{kind} {body}");
        let json: serde_json::Value = response.json().await.expect("a JSON error");
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{json}"
        );
    }
    for (path, status) in [
        ("/api/families/not-an-id", 400),
        ("/api/no-such-thing", 404),
        ("/openreferral/services?page=abc", 422),
    ] {
        let response = lead.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let json: serde_json::Value = response.json().await.expect("a JSON error");
        assert!(json["problems"].is_array(), "{path}: {json}");
    }
    let response = lead.client.delete(app.url("/api/me")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.headers().contains_key("allow"));
    let json: serde_json::Value = response.json().await.expect("a JSON error");
    assert!(json["error"].is_string());
    // For people, a page that says what to do.
    let response = lead
        .client
        .get(app.url("/families/not-an-id"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("check what you entered")
    );
    let response = lead
        .client
        .post(app.url(&format!("/families/{family}/notes")))
        .header(CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert!(response.text().await.unwrap().contains("govuk-heading-l"));
}

// ---------------------------------------------------------------------------------------------
// Paging

async fn pages_out_of_range_are_refused_or_empty_never_wrapped(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = client();
    let get = |path: String| {
        let public = public.clone();
        let url = app.url(&path);
        async move { public.get(url).send().await.unwrap() }
    };
    for list in [
        "organizations",
        "services",
        "service_at_locations",
        "taxonomies",
        "taxonomy_terms",
    ] {
        let first: serde_json::Value = get(format!("/openreferral/{list}"))
            .await
            .json()
            .await
            .unwrap();
        let total = first["total_items"].as_u64().unwrap();
        assert!(total > 0, "{list}");
        for page in ["18446744073709551615", "368934881474191033", "1000000000"] {
            let response = get(format!("/openreferral/{list}?page={page}&per_page=50")).await;
            assert_eq!(response.status(), 200, "{list} page {page}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(
                body["contents"].as_array().unwrap().len(),
                0,
                "{list} page {page}"
            );
            assert_eq!(
                body["total_items"].as_u64(),
                Some(total),
                "{list}: the true total"
            );
            assert_eq!(body["page_number"].to_string(), page, "{list}");
            assert_eq!(body["empty"], true);
        }
        for query in [
            "page=0",
            "page=-1",
            "page=18446744073709551616",
            "page=1.5",
            "per_page=0",
            "per_page=501",
            "per_page=-50",
        ] {
            let response = get(format!("/openreferral/{list}?{query}")).await;
            assert_eq!(response.status(), 422, "{list}?{query}");
        }
    }
    for path in [
        "/find-support?q=food&page=18446744073709551615",
        "/find-support?q=food&page=-1",
        "/find-support?q=food&page=0",
    ] {
        let response = get(path.to_string()).await;
        assert_eq!(response.status(), 422, "{path}");
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("page must be a whole number")
        );
    }
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let response = lead.get(&app, "/triage?page=18446744073709551615").await;
    assert_eq!(response.status(), 422);
    let response = lead.get(&app, "/triage?page=2").await;
    assert_eq!(response.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// Limits people can see

async fn a_note_over_the_limit_is_refused_and_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let family = ladywood_family(&app.db).await;
    let page = lead
        .get(&app, &format!("/families/{family}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-module=\"govuk-character-count\" data-maxlength=\"20000\""));
    assert!(page.contains("You can enter up to 20,000 characters"));

    let long = format!("Started {} ended", "x".repeat(25_000));
    let response = lead
        .post(
            &app,
            &format!("/families/{family}/notes"),
            &[("csrf_token", lead.csrf.as_str()), ("body", long.as_str())],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("The note must be 20,000 characters or fewer"));
    assert!(
        page.contains("href=\"#body\""),
        "the error summary links to the field"
    );
    assert!(
        page.contains(&format!(">{long}</textarea>")),
        "the typed text is kept"
    );

    // At the limit, with line breaks counted once as the browser counts them, it is taken.
    let lines = format!("{}\r\n{}", "y".repeat(9_999), "z".repeat(10_000));
    let response = lead
        .post(
            &app,
            &format!("/families/{family}/notes"),
            &[("csrf_token", lead.csrf.as_str()), ("body", lines.as_str())],
        )
        .await;
    assert_eq!(response.status(), 303);

    // The API says the same, as JSON.
    let response = lead
        .client
        .post(app.url(&format!("/api/families/{family}/notes")))
        .header("x-csrf-token", &lead.csrf)
        .json(&serde_json::json!({ "body": long }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["problems"][0]["field"], "body");
}

fn self_referral(csrf: &str, address: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf_token", csrf.to_string()),
        ("member_1_given_name", "Noah".into()),
        ("member_1_family_name", "Burstfamily".into()),
        ("member_1_date_of_birth-day", "3".into()),
        ("member_1_date_of_birth-month", "2".into()),
        ("member_1_date_of_birth-year", "2014".into()),
        ("member_1_relationship", "child".into()),
        ("address", address.into()),
        ("postcode", "B16 8HA".into()),
        ("reasons", "domestic_abuse".into()),
        ("need_level", "complex".into()),
        ("summary", "We need help".into()),
        ("consent_given_by", "Mother".into()),
        ("consent_method", "written".into()),
        ("consent_date-day", "1".into()),
        ("consent_date-month", "11".into()),
        ("consent_date-year", "2026".into()),
        ("contact", "07700 900456".into()),
        ("share", "yes".into()),
    ]
}

/// Sends the public self-referral form `n` times from one browser; their statuses.
async fn refer(app: &TestApp, n: usize, address: &str, forwarded_for: Option<&str>) -> Vec<u16> {
    let public = client();
    let html = public
        .get(app.url("/self-referral"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html);
    let mut statuses = Vec::new();
    for i in 0..n {
        let mut request = public
            .post(app.url("/self-referral"))
            .form(&self_referral(&csrf, address));
        if let Some(prefix) = forwarded_for {
            request = request.header("x-forwarded-for", format!("{prefix}.{i}"));
        }
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    statuses
}

async fn the_sixth_self_referral_in_an_hour_gives_the_phone_number(backend: Backend) {
    let app = spawn_app_with(
        backend,
        earlyhelp_web::Config {
            self_referrals_per_hour: 5,
            ..test_config()
        },
    )
    .await;
    let public = client();
    let html = public
        .get(app.url("/self-referral"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&html);
    // A form sent back to correct is not counted.
    let mut unfinished = self_referral(&csrf, "1 Burst Street");
    unfinished.retain(|(k, _)| *k != "contact");
    let response = public
        .post(app.url("/self-referral"))
        .form(&unfinished)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    for n in 1..=5 {
        let response = public
            .post(app.url("/self-referral"))
            .form(&self_referral(&csrf, "1 Burst Street"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "self-referral {n}");
    }
    let response = public
        .post(app.url("/self-referral"))
        .form(&self_referral(&csrf, "1 Burst Street"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(
        page.contains(earlyhelp::demo::FRONT_DOOR_PHONE),
        "the phone number instead"
    );
    assert!(page.contains("Requests sent earlier have reached the early help team"));
    // The five before it all wait for triage; the sixth was not stored.
    assert_eq!(requests_at(&app.db, "1 Burst Street").await, 5);
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let queue = lead.get(&app, "/triage").await.text().await.unwrap();
    assert_eq!(queue.matches("Burstfamily").count(), 5);
}

async fn sign_in_is_limited_per_address_across_accounts(backend: Backend) {
    let app = spawn_app_with(
        backend,
        earlyhelp_web::Config {
            sign_ins_per_15_minutes: 4,
            ..test_config()
        },
    )
    .await;
    // Four tries at different accounts (under each account's own lockout), then refused.
    for email in [ADMIN, ANALYST, COMMISSIONER, IG_OFFICER] {
        let response = app.try_sign_in(&client(), email, "a wrong password!").await;
        assert_eq!(response.status(), 401, "{email}");
    }
    let response = app
        .try_sign_in(&client(), PRACTITIONER, DEMO_PASSWORD)
        .await;
    assert_eq!(response.status(), 429);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("too many attempts to sign in")
    );
}

async fn the_forwarded_address_counts_only_from_a_trusted_proxy(backend: Backend) {
    // Not trusted: a client cannot dodge the limit by writing the header itself.
    let app = spawn_app_with(
        backend,
        earlyhelp_web::Config {
            self_referrals_per_hour: 2,
            ..test_config()
        },
    )
    .await;
    let statuses = refer(&app, 3, "2 Proxy Street", Some("198.51.100")).await;
    assert_eq!(statuses, [200, 200, 429]);
    // Trusted (the test connects from 127.0.0.1): each forwarded client has its own allowance.
    let app = spawn_app_with(
        backend,
        earlyhelp_web::Config {
            self_referrals_per_hour: 2,
            trusted_proxies: earlyhelp_web::throttle::parse_trusted_proxies("127.0.0.1").unwrap(),
            ..test_config()
        },
    )
    .await;
    let statuses = refer(&app, 3, "3 Proxy Street", Some("198.51.100")).await;
    assert_eq!(statuses, [200, 200, 200]);
    let statuses = refer(&app, 3, "4 Proxy Street", None).await;
    assert_eq!(statuses, [200, 200, 429]);
}

//! Plain words on every page: each demo role (and the public) walks every page it can reach by
//! following links from its home page, and no page's visible text holds a raw code: a
//! snake_case identifier ("parent_carer", "information_governance_officer"), a locality's slug
//! ("hall-green"), or a database id. Text marked up as code (`<code>`, as a data dictionary's
//! column names are) and what people typed into form fields are not page text.
//! The same walk finds inline `style` attributes, which the content security policy blocks,
//! and pages that fail: it is served from a pool of one database connection, so a page that
//! holds a connection while it waits for another (which deadlocks a busy server's pool) fails.

use crate::helpers::*;
use regex::Regex;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Pages walked per role, at most: enough for every route pattern, a few times over.
const MOST_PAGES: usize = 400;
/// Pages walked per route pattern (`/families/{id}`): the same template again says nothing new.
const PER_PATTERN: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_shows_a_raw_code_to_any_role() {
    let demo = spawn_app(Backend::Sqlite).await;
    let one_connection = earlyhelp_storage::Db::connect_pooled(&demo.database_url, Some(1))
        .await
        .unwrap();
    let app = serve(one_connection, demo.database_url.clone()).await;
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    found.extend(
        walk(
            &app,
            &Session {
                client: client(),
                csrf: String::new(),
            },
            "the public",
        )
        .await,
    );
    for email in [
        ADMIN,
        LOCALITY_LEAD,
        PRACTITIONER,
        "connector.ladywood@earlyhelp.test",
        VCS_WORKER,
        ANALYST,
        COMMISSIONER,
        IG_OFFICER,
        GRANTS_OFFICER,
        earlyhelp::demo_grants::ASSESSOR,
    ] {
        let session = app.sign_in(email).await;
        found.extend(walk(&app, &session, email).await);
    }
    let report: Vec<String> = found
        .iter()
        .map(|(page, codes)| format!("{page}: {}", codes.join(", ")))
        .collect();
    assert!(
        report.is_empty(),
        "raw codes, inline styles or failures on {} pages:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// Every page `session` reaches from `/`, each with the raw codes its text shows.
async fn walk(app: &TestApp, session: &Session, who: &str) -> BTreeMap<String, Vec<String>> {
    let link = Regex::new(r##"href="(/[^"#]*)""##).unwrap();
    let mut seen: HashSet<String> = HashSet::new();
    let mut per_pattern: BTreeMap<String, usize> = BTreeMap::new();
    let mut queue = VecDeque::from(["/".to_string()]);
    let mut found = BTreeMap::new();
    let mut walked = 0;
    while let Some(path) = queue.pop_front() {
        if walked == MOST_PAGES {
            break;
        }
        let response = session.get(app, &path).await;
        if response.status().is_server_error() {
            found.insert(format!("{who} {path}"), vec![response.status().to_string()]);
            continue;
        }
        let html = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/html"));
        if !html || response.status() != 200 {
            continue;
        }
        walked += 1;
        let body = response.text().await.unwrap();
        let mut codes = raw_codes(&body);
        // The content security policy blocks inline styles, so one silently does nothing.
        if body.contains(" style=\"") {
            codes.push("an inline style attribute (blocked by the content security policy)".into());
        }
        if !codes.is_empty() {
            found.insert(format!("{who} {path}"), codes);
        }
        for href in link
            .captures_iter(&body)
            .map(|c| c[1].replace("&amp;", "&"))
        {
            if !worth_walking(&href) || !seen.insert(href.clone()) {
                continue;
            }
            let count = per_pattern.entry(pattern(&href)).or_default();
            if *count < PER_PATTERN {
                *count += 1;
                queue.push_back(href);
            }
        }
    }
    found
}

/// Pages, not downloads, feeds, assets or signing out.
fn worth_walking(href: &str) -> bool {
    let path = href.split('?').next().unwrap_or(href);
    let skipped_prefixes = [
        "/assets/",
        "/api/",
        "/openreferral",
        "/sign-out",
        "/metrics",
    ];
    let skipped_suffixes = [".csv", ".json", ".pdf", ".toml", ".xml", ".svg", ".png"];
    !skipped_prefixes.iter().any(|p| path.starts_with(p))
        && !skipped_suffixes.iter().any(|s| path.ends_with(s))
}

/// The route a link belongs to: ids and numbers replaced, the query's names kept.
fn pattern(href: &str) -> String {
    let (path, query) = href.split_once('?').unwrap_or((href, ""));
    let id = Regex::new(r"^[0-9a-f-]{8,}$|^\d+$").unwrap();
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| if id.is_match(s) { "{id}" } else { s })
        .collect();
    let mut names: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    names.sort_unstable();
    format!("{}?{}", segments.join("/"), names.join("&"))
}

/// The raw codes in a page's visible text.
fn raw_codes(html: &str) -> Vec<String> {
    let hidden = Regex::new(
        r"(?s)<(script|style|code|pre|textarea|title)\b[^>]*>.*?</(script|style|code|pre|textarea|title)>",
    )
    .unwrap();
    let tags = Regex::new(r"(?s)<[^>]*>").unwrap();
    let visible = hidden.replace_all(html, " ");
    let text = tags.replace_all(&visible, " ");
    // Email addresses are people's words for themselves ("lead.ladywood@..."), and a link
    // shown to copy ("/explore?area=edgbaston") is an address, not words.
    let emails = Regex::new(r"\S+@\S+|\S*[/?]\S*=\S*|https?://\S+").unwrap();
    let text = emails.replace_all(&text, " ");
    let code = Regex::new(
        r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
    )
    .unwrap();
    let slugs: Vec<&str> = earlyhelp_domain::cases::OUTWARD_LOCALITIES
        .iter()
        .map(|(_, slug)| *slug)
        .collect();
    let words = Regex::new(r"[A-Za-z][A-Za-z-]*").unwrap();
    let space = Regex::new(r"\s+").unwrap();
    // Each code with a little of the text around it, to find it by.
    let in_context = |m: regex::Match| {
        let from = text.floor_char_boundary(m.start().saturating_sub(30));
        let to = text.ceil_char_boundary(m.end() + 30);
        format!(
            "{} («{}»)",
            m.as_str(),
            space.replace_all(&text[from..to], " ").trim()
        )
    };
    let mut codes: Vec<String> = code
        .find_iter(&text)
        .chain(
            words
                .find_iter(&text)
                .filter(|w| slugs.contains(&w.as_str())),
        )
        .map(in_context)
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

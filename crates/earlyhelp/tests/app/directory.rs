//! The directory: the public Local Offer search, the Open Referral UK API (validated against the
//! standard's schemas, each parameter shown to filter), the connector's workspace, imports and
//! exports, and a family's journey in a real browser.

use crate::helpers::*;
use crate::on_both_backends;

const CONNECTOR: &str = "connector.ladywood@earlyhelp.test";
use serde_json::Value;
use std::collections::HashSet;

on_both_backends!(
    the_public_site_answers_real_questions,
    an_unknown_postcode_gets_a_clear_message,
    oruk_responses_validate_against_the_schemas,
    each_oruk_parameter_really_filters,
    a_connector_approves_a_vcs_edit_and_merges_duplicates,
    an_oruk_feed_imports_once_and_updates_on_reimport,
    services_round_trip_through_csv,
);

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

async fn get_text(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.text().await.unwrap()
}

/// The ids of the services linked from a results page, in order.
fn result_ids(html: &str) -> Vec<String> {
    html.split("href=\"/find-support/services/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

async fn full_service(app: &TestApp, client: &reqwest::Client, id: &str) -> Value {
    get_json(client, &app.url(&format!("/openreferral/services/{id}"))).await
}

fn has_term(service: &Value, code: &str) -> bool {
    service["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a["taxonomy_term"]["code"] == code)
}

fn days_of(service: &Value) -> String {
    service["schedules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["byday"].as_str())
        .collect::<Vec<_>>()
        .join(",")
}

async fn the_public_site_answers_real_questions(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client();
    // The search page needs no sign-in.
    let page = get_text(&client, &app.url("/find-support")).await;
    assert!(page.contains("Find support near you"));

    // "Food bank near B23 this Saturday".
    let html = get_text(
        &client,
        &app.url("/find-support?q=food+bank&postcode=B23&day=saturday"),
    )
    .await;
    let ids = result_ids(&html);
    assert!(!ids.is_empty(), "food banks near B23 on Saturday");
    assert!(html.contains("nearest to B23 first"));
    let mut last_distance = 0.0;
    let mut seen_stale = false;
    for id in &ids {
        let service = full_service(&app, &client, id).await;
        let name = service["name"].as_str().unwrap().to_lowercase();
        assert!(has_term(&service, "food"), "{name} is about food");
        assert!(days_of(&service).contains("SA"), "{name} opens on Saturday");
        let review_due = service["assured_date"].as_str().map(|_| ());
        assert!(review_due.is_some());
        // Distance rises within the fresh ones, then again within the stale ones.
        let card = html
            .split(&format!("/find-support/services/{id}\""))
            .nth(1)
            .unwrap()
            .split("</li>")
            .next()
            .unwrap();
        let stale = card.contains("Not checked recently");
        if stale && !seen_stale {
            seen_stale = true;
            last_distance = 0.0;
        }
        assert!(!seen_stale || stale, "a fresh result after a stale one");
        let distance: f64 = card
            .split("Distance</dt><dd class=\"govuk-summary-list__value\">")
            .nth(1)
            .and_then(|d| d.split(' ').next())
            .map(|d| d.parse().unwrap_or(0.0))
            .expect("each result says how far");
        assert!(
            distance >= last_distance,
            "nearest first: {distance} after {last_distance}"
        );
        last_distance = distance;
    }
    // The nearest is in Erdington itself.
    let first = full_service(&app, &client, &ids[0]).await;
    let postcode = first["service_at_locations"][0]["location"]["addresses"][0]["postal_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        postcode.starts_with("B23") || postcode.starts_with("B24"),
        "{postcode}"
    );

    // "Free parenting support in Ladywood for a 4-year-old".
    let html = get_text(
        &client,
        &app.url("/find-support?need=parenting&locality=ladywood&age=4&free=yes"),
    )
    .await;
    let ids = result_ids(&html);
    assert!(
        ids.len() >= 3,
        "parenting support in Ladywood: {}",
        ids.len()
    );
    for id in &ids {
        let service = full_service(&app, &client, id).await;
        assert!(has_term(&service, "parenting"), "{}", service["name"]);
        assert!(
            service["cost_options"].as_array().is_none(),
            "free: {}",
            service["name"]
        );
        assert!(service["minimum_age"].as_f64().unwrap_or(0.0) <= 4.0);
        assert!(service["maximum_age"].as_f64().unwrap_or(200.0) >= 4.0);
        assert_eq!(service["service_areas"][0]["name"], "Ladywood");
    }
    // Paid services are not there, but appear without "free".
    let all = get_text(
        &client,
        &app.url("/find-support?need=parenting&locality=ladywood&age=4"),
    )
    .await;
    assert!(
        result_ids(&all).len() > ids.len(),
        "some parenting support is paid"
    );

    // Pages: ten a page, and the second page continues the first.
    let first_page = get_text(&client, &app.url("/find-support?need=food")).await;
    let second_page = get_text(&client, &app.url("/find-support?need=food&page=2")).await;
    let (a, b) = (result_ids(&first_page), result_ids(&second_page));
    assert_eq!(a.len(), 10);
    assert!(!b.is_empty() && a.iter().all(|id| !b.contains(id)));
    assert!(first_page.contains("govuk-pagination"));

    // A service page says what, who for, when, where, cost, contact, languages, access.
    let page = get_text(
        &client,
        &app.url(&format!("/find-support/services/{}", a[0])),
    )
    .await;
    for heading in [
        "What it is",
        "Who it is for",
        "When",
        "Where",
        "Cost",
        "Get in touch",
        "Languages",
        "Accessibility",
        "Last checked",
    ] {
        assert!(page.contains(heading), "service page has {heading}");
    }
    // Bad input is told, not ignored.
    let response = client
        .get(app.url("/find-support?age=four"))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Age must be a whole number")
    );
}

async fn an_unknown_postcode_gets_a_clear_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client();
    let html = get_text(
        &client,
        &app.url("/find-support?postcode=ZZ9+9ZZ&need=food"),
    )
    .await;
    assert!(html.contains("We do not know the postcode ZZ9 9ZZ"));
    assert!(html.contains("govuk-error-summary"));
    assert!(
        !result_ids(&html).is_empty(),
        "results still shown, just not by distance"
    );
    // A real postcode missing from our postcode file is measured from its district's middle.
    let html = get_text(&client, &app.url("/find-support?postcode=B16+8AA")).await;
    assert!(!html.contains("We do not know the postcode"), "{html}");
    assert!(html.contains("nearest to B16 first"), "{html}");
    // Not a postcode at all: 422, the summary naming the field.
    let response = client
        .get(app.url("/find-support?postcode=hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Enter a full postcode") && html.contains("href=\"#postcode\""));
    // A service without coordinates is placed by its postcode.
    let unplaced: i64 = earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM service_locations WHERE latitude IS NULL AND geo_latitude IS NOT NULL").fetch_one(pool).await.unwrap()
    });
    assert!(
        unplaced > 20,
        "services without coordinates are placed by postcode: {unplaced}"
    );
}

// ------------------------------------------------------------------------------------------
// Open Referral UK

fn schema(name: &str) -> Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/app/oruk");
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    // taxonomy.json refers to taxonomy_term.json by file name: put it in place.
    if name == "taxonomy.json" {
        let term = std::fs::read_to_string(dir.join("taxonomy_term.json")).unwrap();
        let text = text.replace("{\n      \"$ref\": \"taxonomy_term.json\"\n    }", &term);
        let text = text.replace("{\"$ref\": \"taxonomy_term.json\"}", &term);
        let mut value: Value = serde_json::from_str(&text).unwrap();
        if let Some(items) = value["properties"]["taxonomy_terms"]["items"].as_object_mut()
            && items.contains_key("$ref")
        {
            *items = serde_json::from_str(&term).unwrap();
        }
        return value;
    }
    serde_json::from_str(&text).unwrap()
}

/// Every problem `instance` has against the schema, with formats (uuid, date-time, email, uri)
/// checked too.
fn problems(schema_name: &str, instance: &Value) -> Vec<String> {
    let schema = schema(schema_name);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_name} does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{schema_name}: {e} at {}", e.instance_path()))
        .collect()
}

fn assert_valid(schema_name: &str, instance: &Value) {
    let found = problems(schema_name, instance);
    assert!(found.is_empty(), "{found:#?}\n{instance:#}");
}

fn assert_valid_page(item_schema: &str, page: &Value) {
    assert_valid("page.json", page);
    for key in [
        "total_items",
        "total_pages",
        "page_number",
        "size",
        "first_page",
        "last_page",
        "empty",
        "contents",
    ] {
        assert!(page.get(key).is_some(), "page has {key}");
    }
    for item in page["contents"].as_array().unwrap() {
        assert_valid(item_schema, item);
    }
}

async fn oruk_responses_validate_against_the_schemas(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client();
    let response = client.get(app.url("/openreferral/")).send().await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let about: Value = response.json().await.unwrap();
    assert_eq!(about["version"], "3.0");
    assert!(
        about["openapi_url"]
            .as_str()
            .unwrap()
            .ends_with("/openreferral/openapi.json")
    );
    let openapi = get_json(&client, about["openapi_url"].as_str().unwrap()).await;
    assert_eq!(openapi["info"]["version"], "3.0");

    let services = get_json(&client, &app.url("/openreferral/services?per_page=100")).await;
    assert_valid_page("service_list.json", &services);
    assert_eq!(services["size"], 100);
    assert!(services["total_items"].as_u64().unwrap() >= 400);
    // Every service in full, including the stale, the twins and the unplaced.
    let mut page = 1;
    let mut checked = 0;
    loop {
        let list = get_json(
            &client,
            &app.url(&format!("/openreferral/services?per_page=200&page={page}")),
        )
        .await;
        for item in list["contents"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            let full = full_service(&app, &client, id).await;
            assert_valid("service.json", &full);
            checked += 1;
        }
        if list["last_page"] == true {
            break;
        }
        page += 1;
    }
    assert_eq!(checked as u64, services["total_items"].as_u64().unwrap());
    // Optional fields with no value are left out, never null.
    let text = client
        .get(app.url("/openreferral/services?per_page=500"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(":null"), "no nulls in the feed");

    let sals = get_json(
        &client,
        &app.url("/openreferral/service_at_locations?per_page=20"),
    )
    .await;
    assert_valid_page("service_at_location_list.json", &sals);
    let sal_id = sals["contents"][0]["id"].as_str().unwrap();
    let sal = get_json(
        &client,
        &app.url(&format!("/openreferral/service_at_locations/{sal_id}")),
    )
    .await;
    assert_valid("service_at_location.json", &sal);

    let orgs = get_json(&client, &app.url("/openreferral/organizations")).await;
    assert_valid_page("organization_list.json", &orgs);
    let org_id = orgs["contents"][0]["id"].as_str().unwrap();
    let org = get_json(
        &client,
        &app.url(&format!("/openreferral/organizations/{org_id}")),
    )
    .await;
    assert_valid("organization.json", &org);
    assert!(!org["services"].as_array().unwrap().is_empty());

    let taxonomies = get_json(&client, &app.url("/openreferral/taxonomies")).await;
    assert_valid_page("taxonomy.json", &taxonomies);
    let taxonomy_id = taxonomies["contents"][0]["id"].as_str().unwrap();
    let taxonomy = get_json(
        &client,
        &app.url(&format!("/openreferral/taxonomies/{taxonomy_id}")),
    )
    .await;
    assert_valid("taxonomy.json", &taxonomy);
    let terms = get_json(
        &client,
        &app.url("/openreferral/taxonomy_terms?per_page=100"),
    )
    .await;
    assert_valid_page("taxonomy_term.json", &terms);
    let codes: HashSet<&str> = terms["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["code"].as_str())
        .collect();
    for need in [
        "food",
        "baby-bank",
        "parenting",
        "mental-health",
        "send-autism",
        "youth-activities",
        "counselling",
        "debt-benefits",
        "faith-community",
        "domestic-abuse",
        "homelessness",
        "education",
        "health-wellbeing",
        "children-young-people",
        "money-housing-work",
    ] {
        assert!(codes.contains(need), "the taxonomy has {need}");
    }
    let term_id = terms["contents"][0]["id"].as_str().unwrap();
    let term = get_json(
        &client,
        &app.url(&format!("/openreferral/taxonomy_terms/{term_id}")),
    )
    .await;
    assert_valid("taxonomy_term.json", &term);

    // The schemas are not a formality: a broken service fails them.
    let mut broken = full_service(
        &app,
        &client,
        services["contents"][0]["id"].as_str().unwrap(),
    )
    .await;
    broken["status"] = "open".into();
    broken["id"] = "not-a-uuid".into();
    assert_eq!(problems("service.json", &broken).len(), 2);

    // Unknown ids are 404 and bad parameters 400, as JSON.
    let missing = client
        .get(app.url("/openreferral/services/00000000-0000-4000-8000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = client
        .get(app.url("/openreferral/services?minimum_age=old&page=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["problems"].as_array().unwrap().len(), 2);
}

/// The ids of every service a query returns (all pages).
async fn all_ids(app: &TestApp, client: &reqwest::Client, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let list = get_json(
            client,
            &app.url(&format!(
                "/openreferral/services?per_page=500&page={page}{sep}{query}"
            )),
        )
        .await;
        ids.extend(
            list["contents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_string()),
        );
        assert!(list["total_items"].as_u64().unwrap() as usize >= ids.len());
        if list["last_page"] == true {
            break;
        }
        page += 1;
    }
    ids
}

async fn each_oruk_parameter_really_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = client();
    let everything = all_ids(&app, &client, "").await;
    let total = everything.len();
    assert!(total >= 400);
    let food = earlyhelp_domain::directory::need_id("food").unwrap();
    let taxonomy = earlyhelp_domain::directory::NEEDS_TAXONOMY_ID;
    let some_org =
        get_json(&client, &app.url("/openreferral/organizations?per_page=1")).await["contents"][0]
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    let first_modified = {
        let any = full_service(&app, &client, &everything[0]).await;
        any["last_modified"].as_str().unwrap().to_string()
    };

    // Each parameter: fewer results than without it, and every result meets it.
    type Check = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(String, Check)> = vec![
        (
            "search=food".into(),
            Box::new(|s: &Value| {
                let text = format!(
                    "{} {} {}",
                    s["name"], s["description"], s["organization"]["name"]
                )
                .to_lowercase();
                text.contains("food") || has_term(s, "food")
            }),
        ),
        (
            format!("taxonomy_term_id={food}"),
            Box::new(|s: &Value| has_term(s, "food")),
        ),
        (
            "minimum_age=11".into(),
            Box::new(|s: &Value| s["minimum_age"].as_f64().is_some_and(|a| a >= 11.0)),
        ),
        (
            "maximum_age=5".into(),
            Box::new(|s: &Value| s["maximum_age"].as_f64().is_some_and(|a| a <= 5.0)),
        ),
        (
            "day=SU".into(),
            Box::new(|s: &Value| days_of(s).contains("SU")),
        ),
        (
            "start_time=15:00".into(),
            Box::new(|s: &Value| {
                s["schedules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["opens_at"].as_str().unwrap() >= "15:00")
            }),
        ),
        (
            "end_time=12:00".into(),
            Box::new(|s: &Value| {
                s["schedules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["closes_at"].as_str().unwrap() <= "12:00")
            }),
        ),
        (
            "postcode=B16&proximity=2000".into(),
            Box::new(|s: &Value| {
                s["service_at_locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| {
                        let loc = &l["location"];
                        let (lat, lon) = (
                            loc["latitude"].as_f64().unwrap(),
                            loc["longitude"].as_f64().unwrap(),
                        );
                        let centre = (
                            52.482 + 0.012 * (1.0_f64 * 2.1).cos(),
                            -1.918 + 0.018 * (1.0_f64 * 2.1).sin(),
                        );
                        // Within 2 km of the postcode district's middle, with slack for its spread.
                        earlyhelp_domain::directory::haversine_metres(centre, (lat, lon)) < 3_500.0
                    })
            }),
        ),
        (
            "postcode=B23".into(),
            Box::new(|s: &Value| s["service_areas"][0]["name"] == "Erdington"),
        ),
        (
            format!("organization_id={some_org}"),
            Box::new(move |s: &Value| s["organization"]["id"] == some_org.as_str()),
        ),
    ];
    for (query, check) in &cases {
        let ids = all_ids(&app, &client, query).await;
        assert!(!ids.is_empty(), "{query} finds something");
        assert!(
            ids.len() < total,
            "{query} filters: {} of {total}",
            ids.len()
        );
        for id in &ids {
            let service = full_service(&app, &client, id).await;
            assert!(check(&service), "{query} let through {}", service["name"]);
        }
    }
    // taxonomy_id: every service has a need from our taxonomy; an unknown taxonomy has none.
    assert_eq!(
        all_ids(&app, &client, &format!("taxonomy_id={taxonomy}"))
            .await
            .len(),
        total
    );
    assert!(
        all_ids(
            &app,
            &client,
            "taxonomy_id=00000000-0000-4000-8000-000000000001"
        )
        .await
        .is_empty()
    );
    // modified_after: nothing after the future, everything after the past.
    assert!(
        all_ids(&app, &client, "modified_after=2999-01-01T00:00:00Z")
            .await
            .is_empty()
    );
    assert_eq!(
        all_ids(&app, &client, "modified_after=2000-01-01")
            .await
            .len(),
        total
    );
    assert!(!first_modified.is_empty());
    // Parameters combine with AND.
    let food_on_sunday = all_ids(&app, &client, &format!("taxonomy_term_id={food}&day=SU")).await;
    let food_ids = all_ids(&app, &client, &format!("taxonomy_term_id={food}")).await;
    let sunday = all_ids(&app, &client, "day=SU").await;
    let both: Vec<&String> = food_ids.iter().filter(|id| sunday.contains(id)).collect();
    assert_eq!(food_on_sunday.len(), both.len());
    assert!(!food_on_sunday.is_empty() && food_on_sunday.len() < food_ids.len());
    // Pagination keys add up.
    let page = get_json(
        &client,
        &app.url("/openreferral/services?per_page=7&page=3"),
    )
    .await;
    assert_eq!(page["size"], 7);
    assert_eq!(page["page_number"], 3);
    assert_eq!(page["total_pages"], total.div_ceil(7));
    assert_eq!(page["first_page"], false);
    let last = get_json(
        &client,
        &app.url(&format!(
            "/openreferral/services?per_page=7&page={}",
            total.div_ceil(7)
        )),
    )
    .await;
    assert_eq!(last["last_page"], true);
    // service_at_locations filters the same way.
    let sals = get_json(
        &client,
        &app.url(&format!(
            "/openreferral/service_at_locations?per_page=500&taxonomy_term_id={food}"
        )),
    )
    .await;
    assert_eq!(
        sals["total_items"].as_u64().unwrap() as usize,
        food_ids.len()
    );
}

// ------------------------------------------------------------------------------------------
// The connector's workspace

async fn uuids(app: &TestApp, sql: &'static str) -> Vec<uuid::Uuid> {
    earlyhelp_storage::on_pool!(&app.db, pool => {
        sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
    })
}

/// The value of the hidden field `name` in the first form after `marker`.
fn hidden_after(html: &str, marker: &str, name: &str) -> String {
    let rest = &html[html.find(marker).expect("marker on the page")..];
    let key = format!("name=\"{name}\" value=\"");
    let start = rest.find(&key).expect("hidden field") + key.len();
    rest[start..].split('"').next().unwrap().to_string()
}

async fn a_connector_approves_a_vcs_edit_and_merges_duplicates(backend: Backend) {
    let app = spawn_app(backend).await;
    let own = uuids(&app, "SELECT s.id FROM directory_services s JOIN organisations o ON o.id = s.owner_organisation_id \
         WHERE o.name = 'Voluntary Sector Council' AND s.locality_slug = 'ladywood' AND s.merged_into IS NULL ORDER BY s.name").await;
    let others = uuids(&app, "SELECT s.id FROM directory_services s JOIN organisations o ON o.id = s.owner_organisation_id \
         WHERE o.name <> 'Voluntary Sector Council' AND s.locality_slug = 'ladywood' ORDER BY s.name").await;
    assert!(!own.is_empty() && !others.is_empty());
    let (listing, not_theirs) = (own[0], others[0]);

    // A VCS worker edits their own organisation's listing: it waits for approval.
    let vcs = app.sign_in(VCS_WORKER).await;
    let form_page = vcs
        .get(&app, &format!("/directory/manage/services/{listing}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(form_page.contains("Send for approval"));
    let name = form_page
        .split("id=\"name\" name=\"name\" type=\"text\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let edit = |phone: &str, csrf: &str| {
        vec![
            ("csrf_token", csrf.to_string()),
            ("name", name.replace("&#39;", "'").replace("&amp;", "&")),
            (
                "description",
                "Open to every family in the area.".to_string(),
            ),
            ("status", "active".to_string()),
            ("phone", phone.to_string()),
            ("free", "yes".to_string()),
        ]
    };
    let response = vcs
        .post(
            &app,
            &format!("/directory/manage/services/{listing}"),
            &edit("0121 496 0555", &vcs.csrf),
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/directory/manage?done=pending"
    );
    let public = client();
    let page = get_text(
        &public,
        &app.url(&format!("/find-support/services/{listing}")),
    )
    .await;
    assert!(
        !page.contains("0121 496 0555"),
        "not public before approval"
    );
    // Not another organisation's listing, and not without the form's token.
    let refused = vcs
        .post(
            &app,
            &format!("/directory/manage/services/{not_theirs}"),
            &edit("0121 496 0666", &vcs.csrf),
        )
        .await;
    assert_eq!(refused.status(), 403);
    let forged = vcs
        .post(
            &app,
            &format!("/directory/manage/services/{listing}"),
            &edit("0121 496 0777", "forged"),
        )
        .await;
    assert_eq!(forged.status(), 403);
    // Nor approve anything.
    let workspace = vcs
        .get(&app, "/directory/manage")
        .await
        .text()
        .await
        .unwrap();
    assert!(!workspace.contains("/approve"));

    // The connector sees it waiting and approves it.
    let connector = app.sign_in(CONNECTOR).await;
    let workspace = connector
        .get(&app, "/directory/manage")
        .await
        .text()
        .await
        .unwrap();
    assert!(workspace.contains("Changes waiting for your approval"));
    let waiting = workspace
        .split("Changes waiting for your approval")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(
        waiting.contains("phone") && waiting.contains(VCS_WORKER),
        "{waiting}"
    );
    assert!(workspace.contains("Due for review"));
    let change = workspace
        .split("/directory/manage/changes/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let response = connector
        .post(
            &app,
            &format!("/directory/manage/changes/{change}/approve"),
            &[("csrf_token", &connector.csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = get_text(
        &public,
        &app.url(&format!("/find-support/services/{listing}")),
    )
    .await;
    assert!(page.contains("0121 496 0555"), "public after approval");
    // Approving twice is refused; the history says who did what.
    let again = connector
        .post(
            &app,
            &format!("/directory/manage/changes/{change}/approve"),
            &[("csrf_token", &connector.csrf)],
        )
        .await;
    assert_eq!(again.status(), 422);
    let history = connector
        .get(&app, &format!("/directory/manage/services/{listing}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(history.contains(VCS_WORKER));
    assert!(history.contains(&format!("approved by {CONNECTOR}")));
    // Every step went through the gate and into the audit log.
    let audit = app.audit_of(&format!("listing:{listing}")).await;
    assert!(
        audit
            .iter()
            .any(|(actor, action, outcome)| actor == VCS_WORKER
                && action == "update"
                && outcome == "allowed")
    );
    assert!(
        audit
            .iter()
            .any(|(actor, _, outcome)| actor == CONNECTOR && outcome == "allowed")
    );
    let refused_audit = app.audit_of(&format!("listing:{not_theirs}")).await;
    assert!(
        refused_audit
            .iter()
            .any(|(actor, _, outcome)| actor == VCS_WORKER && outcome == "denied")
    );

    // A connector marks a stale listing checked: it leaves the stale ones.
    let stale = uuids(&app, "SELECT id FROM directory_services WHERE locality_slug = 'ladywood' AND merged_into IS NULL ORDER BY review_by LIMIT 1").await[0];
    let response = connector
        .post(
            &app,
            &format!("/directory/manage/services/{stale}/verify"),
            &[("csrf_token", &connector.csrf)],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = get_text(
        &public,
        &app.url(&format!("/find-support/services/{stale}")),
    )
    .await;
    assert!(!page.contains("Nobody has checked this listing"));

    // Duplicates: the demo's twins are flagged; merging folds one into the other.
    let duplicates = connector
        .get(&app, "/directory/manage/duplicates")
        .await
        .text()
        .await
        .unwrap();
    assert!(duplicates.contains("alike"), "twins are flagged");
    let keep = hidden_after(&duplicates, "action=\"/directory/manage/merge\"", "keep");
    let twin = hidden_after(
        &duplicates,
        "action=\"/directory/manage/merge\"",
        "duplicate",
    );
    let response = connector
        .post(
            &app,
            "/directory/manage/merge",
            &[
                ("csrf_token", connector.csrf.as_str()),
                ("keep", &keep),
                ("duplicate", &twin),
                ("decision", "merge"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let gone = public
        .get(app.url(&format!("/find-support/services/{twin}")))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 308);
    assert_eq!(
        gone.headers()["location"],
        format!("/find-support/services/{keep}")
    );
    let twin_oruk = full_service(&app, &public, &twin).await;
    assert_eq!(twin_oruk["status"], "defunct");
    let after = connector
        .get(&app, "/directory/manage/duplicates")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !after.contains(&twin),
        "the merged pair is no longer flagged"
    );
    let search = get_text(&public, &app.url("/find-support?locality=ladywood&page=1")).await;
    assert!(!search.contains(&twin));
    // The spreadsheet of the locality downloads.
    let csv = connector.get(&app, "/directory/manage/export.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("id,name,organization,"));
    assert!(!csv.contains(&twin));
    // Someone without the directory in their roles cannot open the workspace.
    let practitioner = app.sign_in(PRACTITIONER).await;
    assert_eq!(
        practitioner.get(&app, "/directory/manage").await.status(),
        403
    );
}

// ------------------------------------------------------------------------------------------
// Imports and exports

async fn an_oruk_feed_imports_once_and_updates_on_reimport(backend: Backend) {
    let source = spawn_app(backend).await;
    let target = spawn_app(backend).await;
    let before = earlyhelp_storage::directory::count_services(&target.db)
        .await
        .unwrap();
    let feed = source.url("/openreferral/");
    let report = earlyhelp::commands::import::import_oruk(&target.db, &feed, None, None)
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let published =
        get_json(&client(), &source.url("/openreferral/services?per_page=1")).await["total_items"]
            .as_u64()
            .unwrap() as usize;
    assert_eq!(report.added, published);
    let after = earlyhelp_storage::directory::count_services(&target.db)
        .await
        .unwrap();
    assert_eq!(after - before, published as i64);
    // Again: the same services are updated, not duplicated.
    let again = earlyhelp::commands::import::import_oruk(&target.db, &feed, None, None)
        .await
        .unwrap();
    assert_eq!((again.added, again.updated), (0, published));
    assert_eq!(
        earlyhelp_storage::directory::count_services(&target.db)
            .await
            .unwrap(),
        after
    );
    // modified_after asks only for what changed.
    let none = earlyhelp::commands::import::import_oruk(
        &target.db,
        &feed,
        Some("2999-01-01T00:00:00Z"),
        None,
    )
    .await
    .unwrap();
    assert_eq!((none.added, none.updated), (0, 0));
    // What came in is searchable and placed: food in Erdington, from the other directory.
    let imported = get_json(
        &client(),
        &target.url("/openreferral/services?postcode=B23&search=food&per_page=500"),
    )
    .await;
    assert!(imported["total_items"].as_u64().unwrap() >= 4);
    // A file with bad services: each reported, the good one loaded.
    let dir = std::env::temp_dir().join(format!("oruk-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("feed.json");
    let good = full_service(
        &source,
        &client(),
        &all_ids(&source, &client(), "").await[0],
    )
    .await;
    let mut renamed = good.clone();
    renamed["id"] = "9f0b8f9c-0000-4000-8000-000000000001".into();
    let mut nameless = good.clone();
    nameless["id"] = "9f0b8f9c-0000-4000-8000-000000000002".into();
    nameless.as_object_mut().unwrap().remove("name");
    let mut odd = good.clone();
    odd["id"] = "9f0b8f9c-0000-4000-8000-000000000003".into();
    odd["status"] = "open".into();
    std::fs::write(
        &file,
        serde_json::to_string(
            &serde_json::json!({"contents": [renamed, nameless, odd], "total_pages": 1}),
        )
        .unwrap(),
    )
    .unwrap();
    let report =
        earlyhelp::commands::import::import_oruk(&target.db, file.to_str().unwrap(), None, None)
            .await
            .unwrap();
    assert_eq!(report.added, 1);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(report.problems[0].contains("name: missing"));
    assert!(report.problems[1].contains("status"));
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn services_round_trip_through_csv(backend: Backend) {
    let app = spawn_app(backend).await;
    let csv = earlyhelp::commands::import::export_services_csv(&app.db, "ladywood")
        .await
        .unwrap();
    let rows = String::from_utf8(csv.clone()).unwrap().lines().count() - 1;
    assert!(rows >= 40);
    let before = earlyhelp_storage::directory::count_services(&app.db)
        .await
        .unwrap();
    let report = earlyhelp::commands::import::import_services_csv(&app.db, &csv, None)
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.added, report.updated), (0, rows));
    assert_eq!(
        earlyhelp_storage::directory::count_services(&app.db)
            .await
            .unwrap(),
        before
    );
    // Re-exported, it is the same spreadsheet.
    assert_eq!(
        earlyhelp::commands::import::export_services_csv(&app.db, "ladywood")
            .await
            .unwrap(),
        csv
    );

    let sheet = "name,organization,locality,postcode,minimum_age,maximum_age,free,days,opens_at,closes_at,needs\n\
        Saturday Food Share,Ladywood Community Trust,ladywood,B16 1AB,,,yes,SA,10:00,12:00,food\n\
        Broken Row,Someone,nowhere,B16 XYZ,old,5,maybe,Funday,25:00,,snacks\n";
    let report = earlyhelp::commands::import::import_services_csv(&app.db, sheet.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.added, 1);
    for field in [
        "locality",
        "postcode",
        "minimum_age",
        "free",
        "days",
        "opens_at",
        "needs",
    ] {
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.starts_with(&format!("row 3, {field}:"))),
            "{field}: {:?}",
            report.problems
        );
    }
    assert!(report.problems.iter().all(|p| p.starts_with("row 3")));
    let found = get_json(
        &client(),
        &app.url("/openreferral/services?search=food+share"),
    )
    .await;
    assert_eq!(found["total_items"], 1);
}

// ------------------------------------------------------------------------------------------
// In a browser

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_finds_food_near_them_and_shortlists_it() {
    use thirtyfour::prelude::*;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let driver = &browser.driver;
    driver.goto(app.url("/sign-in")).await.unwrap();
    browser.click(By::LinkText("Find support")).await;
    let violations = browser.accessibility_violations().await;
    assert!(violations.is_empty(), "search page: {violations:#?}");
    // The filters fold behind "Filter results".
    browser.click(By::Css(".eh-filters summary")).await;
    browser.fill(By::Id("postcode"), "B23").await;
    browser.click(By::Css("#need option[value='food']")).await;
    browser.click(By::Css("#day option[value='SA']")).await;
    browser
        .click(By::Css("form[role=search] button[type=submit]"))
        .await;
    let heading = driver
        .query(By::Id("results-heading"))
        .first()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains("nearest to B23 first"), "{heading}");
    let violations = browser.accessibility_violations().await;
    assert!(violations.is_empty(), "results page: {violations:#?}");
    browser.screenshot("directory-results").await;
    let first = driver.find(By::Css(".eh-result h3 a")).await.unwrap();
    let name = first.text().await.unwrap();
    first.click().await.unwrap();
    // The service page, once it has loaded, is headed with the service's name.
    driver
        .query(By::Css("form[action='/find-support/shortlist']"))
        .first()
        .await
        .unwrap();
    assert_eq!(
        driver
            .find(By::Tag("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        name
    );
    let violations = browser.accessibility_violations().await;
    assert!(violations.is_empty(), "service page: {violations:#?}");
    browser.screenshot("directory-service").await;
    browser
        .click(By::XPath("//button[normalize-space(.)='Add to shortlist']"))
        .await;
    driver
        .query(By::XPath("//p[contains(., 'on your shortlist')]"))
        .first()
        .await
        .unwrap();
    browser.click(By::LinkText("your shortlist")).await;
    let list = driver
        .query(By::Css(".eh-results"))
        .first()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&name));
    let print = driver.find(By::Css("[data-eh-print]")).await.unwrap();
    assert!(
        print.is_displayed().await.unwrap(),
        "the print button shows when scripts run"
    );
    let mailto = driver
        .find(By::LinkText("Email this list to yourself"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        mailto.starts_with("mailto:?subject=") && mailto.contains("shortlist%3Fids%3D"),
        "{mailto}"
    );
    let violations = browser.accessibility_violations().await;
    assert!(violations.is_empty(), "shortlist: {violations:#?}");
    browser.screenshot("directory-shortlist").await;
    browser.quit().await;
}

//! The directory: the public Local Offer search, the Open Referral UK API (validated against the
//! standard's schemas, each parameter shown to filter), the connector's workspace, imports and
//! exports, and a family's journey in a real browser.

use crate::helpers::*;
use crate::on_both_backends;
use serde_json::Value;
use std::collections::HashSet;

on_both_backends!(
    the_public_site_answers_real_questions,
    an_unknown_postcode_gets_a_clear_message,
    oruk_responses_validate_against_the_schemas,
    each_oruk_parameter_really_filters,
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
        assert!(!(seen_stale && !stale), "a fresh result after a stale one");
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
    let html = get_text(&client, &app.url("/find-support?postcode=hello")).await;
    assert!(html.contains("Enter a full postcode"));
    // A service without coordinates is placed by its postcode.
    let unplaced: i64 = match &app.db {
        earlyhelp_storage::Db::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM service_locations WHERE latitude IS NULL AND geo_latitude IS NOT NULL").fetch_one(pool).await.unwrap(),
        earlyhelp_storage::Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM service_locations WHERE latitude IS NULL AND geo_latitude IS NOT NULL").fetch_one(pool).await.unwrap(),
    };
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
        assert_eq!(
            list["total_items"].as_u64().unwrap() as usize >= ids.len(),
            true
        );
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

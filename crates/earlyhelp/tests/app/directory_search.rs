//! The directory search reads a narrow table of candidates kept in step with the services
//! (`directory_candidates`). This proves it finds and ranks exactly what a straightforward
//! reference over the services themselves finds, for many queries on the demo directory, and
//! still does after each kind of write (edit, move, merge, review, a new listing).

use crate::helpers::*;
use crate::on_both_backends;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::directory::{self as rules, Ranked, need_id};
use earlyhelp_domain::search_words;
use earlyhelp_storage::Db;
use earlyhelp_storage::directory::{self as store, Filter, Hit};
use earlyhelp_storage::gate;
use std::collections::HashMap;
use time::Date;
use uuid::Uuid;

on_both_backends!(the_search_matches_a_plain_reference);

/// The services' rows with the words (`$text`: the backend's match, or no words), need and
/// status.
macro_rules! reference_sql {
    ($text:expr) => {
        concat!(
            "SELECT s.id, s.name, s.review_by, l.geo_latitude, l.geo_longitude, s.organization_id \
             FROM directory_services s LEFT JOIN service_locations l ON l.service_id = s.id \
             WHERE s.merged_into IS NULL AND ($1 OR s.status IN ('active', 'temporarily closed')) \
             AND ($2 IS NULL OR EXISTS (SELECT 1 FROM service_terms st \
                  WHERE st.service_id = s.id AND st.term_id = $2)) \
             AND ",
            $text,
            " ORDER BY s.id"
        )
    };
}

type Row = (Uuid, String, Date, Option<f64>, Option<f64>, Uuid);

/// Every matching service's rows straight from the wide tables (words, need and status in SQL,
/// as the text index is the backend's), then distance, radius, one-per-service and ranking
/// done here, plainly.
async fn reference(db: &Db, filter: &Filter, today: Date) -> Vec<Hit> {
    let stems: Vec<String> = filter
        .words
        .iter()
        .map(|w| {
            search_words::stem(
                &w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>(),
            )
        })
        .filter(|w| !w.is_empty())
        .collect();
    // The words as each backend's text index wants them: every stem, as a prefix.
    let sqlite_words: Vec<String> = stems.iter().map(|w| format!("\"{w}\"*")).collect();
    let postgres_words: Vec<String> = stems.iter().map(|w| format!("{w}:*")).collect();
    macro_rules! fetch {
        ($pool:expr, $text:expr, $words:expr) => {
            sqlx::query_as(reference_sql!($text))
                .bind(filter.every_status)
                .bind(filter.term_id)
                .bind($words)
                .fetch_all($pool)
                .await
                .unwrap()
        };
    }
    let rows: Vec<Row> = match (db, stems.is_empty()) {
        (Db::Sqlite(pool, _), true) => fetch!(pool, "$3 = ''", ""),
        (Db::Postgres(pool, _), true) => fetch!(pool, "$3 = ''", ""),
        (Db::Sqlite(pool, _), false) => fetch!(
            pool,
            "s.id IN (SELECT service_id FROM directory_search WHERE directory_search MATCH $3)",
            sqlite_words.join(" ")
        ),
        (Db::Postgres(pool, _), false) => fetch!(
            pool,
            "s.search_vector @@ to_tsquery('english', $3)",
            postgres_words.join(" & ")
        ),
    };
    let rank_words = if filter.words.is_empty() {
        Vec::new()
    } else {
        let groups = earlyhelp_storage::search_synonyms::groups(db)
            .await
            .unwrap();
        search_words::with_synonyms(&filter.words, &groups)
    };
    // One entry per service (or per provider and name), the first by id standing for it, at
    // its nearest place.
    let mut groups: Vec<Ranked<Uuid>> = Vec::new();
    let mut group_of: HashMap<(Uuid, String), usize> = HashMap::new();
    for (id, name, review_by, lat, lon, provider) in rows {
        let distance = match (filter.near, lat, lon) {
            (Some(centre), Some(lat), Some(lon)) => {
                Some(rules::haversine_metres(centre, (lat, lon)))
            }
            _ => None,
        };
        if let Some(limit) = filter.within_metres
            && distance.is_none_or(|d| d > limit)
        {
            continue;
        }
        let key = if filter.once_per_service {
            (provider, rules::name_key(&name))
        } else {
            (id, String::new())
        };
        match group_of.get(&key) {
            Some(&i) => {
                let nearer = match (distance, groups[i].distance) {
                    (Some(d), Some(old)) => d < old,
                    (Some(_), None) => true,
                    _ => false,
                };
                if nearer {
                    groups[i].distance = distance;
                }
            }
            None => {
                group_of.insert(key, groups.len());
                groups.push(Ranked {
                    item: id,
                    stale: rules::is_stale(review_by, today),
                    distance,
                    relevance: rules::relevance(&rank_words, &name, ""),
                    name,
                });
            }
        }
    }
    rules::rank(&mut groups);
    groups
        .into_iter()
        .map(|r| Hit {
            id: r.item,
            distance: r.distance,
            stale: r.stale,
        })
        .collect()
}

/// Many queries: words (none, common, rare, two, none matching), needs, places, a radius, one
/// per service or every record, running or every status.
async fn compare_many(db: &Db, when: &str) -> usize {
    const WORDS: &[&str] = &[
        "",
        "food",
        "parenting",
        "youth club",
        "advice",
        "baby",
        "counselling",
        "autism",
        "zzzz",
        "families support",
    ];
    const NEEDS: &[&str] = &[
        "",
        "food",
        "parenting",
        "youth-activities",
        "send-autism",
        "debt-benefits",
    ];
    let postcodes = earlyhelp::demo_directory::postcodes();
    let today = store::today();
    let mut compared = 0;
    let mut found = 0;
    for i in 0..240usize {
        let place = (i % 4 != 0).then(|| {
            let p = &postcodes[(i * 31) % postcodes.len()];
            (p.latitude, p.longitude)
        });
        let filter = Filter {
            words: rules::search_words(WORDS[i % WORDS.len()]),
            term_id: need_id(NEEDS[(i / 3) % NEEDS.len()]),
            near: place,
            within_metres: (place.is_some() && i % 5 == 1).then_some(3_000.0),
            once_per_service: i % 2 == 0,
            every_status: i % 7 == 3,
            ..Filter::default()
        };
        let got = store::search(db, &filter, today).await.unwrap();
        let want = reference(db, &filter, today).await;
        assert_eq!(got, want, "{when}: query {i}: {filter:?}");
        compared += 1;
        found += got.len();
    }
    assert!(
        found > 1_000,
        "{when}: the queries found too little to prove anything ({found})"
    );
    compared
}

async fn the_search_matches_a_plain_reference(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = &app.db;
    compare_many(db, "as loaded").await;

    // Each kind of write, then the same queries again.
    let ids = store::all_service_ids(db, "").await.unwrap();
    let mut authorised = gate::operator(db, "directory", Action::Update, "test")
        .await
        .unwrap();
    // Moved, renamed and made stale.
    let mut moved = store::load_service(db, ids[3]).await.unwrap().unwrap();
    moved.name = "Food and Parenting Help".into();
    moved.review_by = Date::from_calendar_date(2020, time::Month::January, 1).unwrap();
    for l in &mut moved.locations {
        l.latitude = l.latitude.map(|v| v + 0.01);
        l.longitude = l.longitude.map(|v| v - 0.01);
    }
    store::save_service(&mut authorised, &moved).await.unwrap();
    // A new listing, copied from another at a second place.
    let mut copy = store::load_service(db, ids[5]).await.unwrap().unwrap();
    copy.id = Uuid::now_v7();
    copy.source_id = None;
    for l in &mut copy.locations {
        l.id = Uuid::now_v7();
        l.location_id = Uuid::now_v7();
    }
    for s in &mut copy.schedules {
        s.id = Uuid::now_v7();
    }
    let mut second = copy.locations[0].clone();
    second.id = Uuid::now_v7();
    second.location_id = Uuid::now_v7();
    second.latitude = second.latitude.map(|v| v + 0.02);
    copy.locations.push(second);
    store::save_service(&mut authorised, &copy).await.unwrap();
    // Merged away, and reviewed.
    store::merge(&mut authorised, ids[7], ids[8]).await.unwrap();
    earlyhelp_storage::listing_changes::verify(
        &mut authorised,
        ids[9],
        "checker@earlyhelp.test",
        store::today(),
    )
    .await
    .unwrap();
    authorised.tx.commit().await.unwrap();
    compare_many(db, "after writes").await;

    // The narrow table really is what the search reads: the merged listing is gone from it.
    let merged = store::search(
        db,
        &Filter {
            every_status: true,
            ..Filter::default()
        },
        store::today(),
    )
    .await
    .unwrap();
    assert!(merged.iter().all(|h| h.id != ids[8]));
    assert!(merged.iter().any(|h| h.id == copy.id));
}

//! The public directory search's query string (`/find-support?...`): a filter, or problems each
//! naming a field.
#![no_main]
use earlyhelp_web::parsers::{SearchQuery, parse_search};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = serde_urlencoded::from_bytes::<SearchQuery>(data) else {
        return;
    };
    let (filter, _, within, errors) = parse_search(&query);
    assert!(filter.age.is_none_or(|age| (0..=120).contains(&age)));
    assert!(within.is_none_or(|metres| metres > 0.0) || !errors.is_empty());
    assert!(errors.iter().all(|e| !e.field.is_empty()));
});

//! The Open Referral UK API's query string (`/openreferral/services?...`): a filter and a page,
//! or problems each naming a parameter; never a page that wraps round.
#![no_main]
use earlyhelp_web::parsers::{ListQuery, parse_list_query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = serde_urlencoded::from_bytes::<ListQuery>(data) else {
        return;
    };
    let parsed = parse_list_query(&query);
    if parsed.errors.is_empty() {
        assert!(parsed.page >= 1 && parsed.per_page >= 1);
        assert!(parsed.page.checked_mul(parsed.per_page).is_some());
    }
});

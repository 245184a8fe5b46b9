//! The Open Referral UK API's query string (`/openreferral/services?...`): a filter and a page,
//! or problems each naming a parameter; a page past the end is an empty page (ORUK's way),
//! found with checked arithmetic, never one that wraps round.
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
        // Worked in 128 bits: the offset is exact and fits a database's i64, or there is none.
        let exact = (parsed.page as u128 - 1) * parsed.per_page as u128;
        match earlyhelp_domain::limits::offset(parsed.page, parsed.per_page) {
            Some(n) => assert!(n as u128 == exact && exact <= i64::MAX as u128),
            None => assert!(exact > i64::MAX as u128),
        }
    }
});

//! An Open Referral UK service as a feed gives it (`earlyhelp import oruk`): any JSON is read to
//! a service or refused in words.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(problem) = earlyhelp::commands::import::service_of(&value, "fuzz", 0) {
            assert!(!problem.is_empty());
        }
    }
});

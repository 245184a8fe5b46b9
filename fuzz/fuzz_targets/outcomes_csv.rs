//! Indicator values by CSV (`/outcomes/uploads`, `/api/indicators/values`): rows, or every
//! problem.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(problems) = earlyhelp_web::parsers::outcomes_csv(&text) {
        assert!(!problems.is_empty());
    }
});

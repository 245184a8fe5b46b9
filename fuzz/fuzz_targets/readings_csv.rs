//! Outcome readings by CSV (`/readings/import`, `earlyhelp import readings`): all or nothing,
//! every problem by row and field.
#![no_main]
use earlyhelp_domain::measures::Measure;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let measures = [Measure::family_wellbeing()];
    let today = time::macros::date!(2026 - 12 - 05);
    match earlyhelp_web::parsers::readings_csv(&text, &measures, today) {
        Ok(readings) => assert!(!readings.is_empty()),
        Err(problems) => assert!(!problems.is_empty()),
    }
});

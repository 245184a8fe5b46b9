//! The services spreadsheet import (`earlyhelp import services`): every row read and checked;
//! a refused row names a field.
#![no_main]
use earlyhelp_storage::directory::{ServiceRow, check_row};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let localities = vec!["ladywood".to_string(), "erdington".to_string()];
    let mut reader = csv::Reader::from_reader(data);
    for row in reader.deserialize::<ServiceRow>().flatten() {
        if let Err(problems) = check_row(&row, &localities) {
            assert!(!problems.is_empty());
            assert!(problems.iter().all(|(field, _)| !field.is_empty()));
        }
    }
});

//! The linkage engine's input (`earlyhelp link`, `earlyhelp dedupe`): a CSV with an id column,
//! its fields chosen and read into a dataset, or refused.
#![no_main]
use libfuzzer_sys::fuzz_target;
use linkage::input::{Table, choose_fields};
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(table) = Table::read("fuzz.csv", data, "id") else {
        return;
    };
    if let Ok((fields, _)) = choose_fields(&[&table], &HashMap::new()) {
        let _ = table.to_dataset(&fields);
    }
});

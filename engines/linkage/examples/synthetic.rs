//! Generates household-structured data, links it in-process and prints precision, recall,
//! F1, timings and the fitted model: `cargo run --release --example synthetic -- PEOPLE [SEED] [--many-to-many] [--encoded] [--dedupe]`.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use linkage::bloom::Encoder;
use linkage::data::{Dataset, Field};
use linkage::generate::{self, GeneratorSettings, HEADERS};
use linkage::input::{Table, choose_fields};
use linkage::{Progress, Settings, run};

fn dataset(name: &str, rows: &[[String; 8]], fields: Option<&[Field]>) -> Dataset {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADERS).unwrap();
    rows.iter().for_each(|r| writer.write_record(r).unwrap());
    let table = Table::read(name, &writer.into_inner().unwrap()[..], "id").unwrap();
    let fields = fields.map_or_else(
        || choose_fields(&[&table], &HashMap::new()).unwrap().0,
        <[Field]>::to_vec,
    );
    table.to_dataset(&fields).unwrap()
}

fn encoded(data: &Dataset) -> Dataset {
    let encoder = Encoder::new(b"benchmark key, not a real secret").unwrap();
    let mut out = Dataset::new(Encoder::encoded_fields(&data.fields));
    for row in 0..data.len() {
        let filters: Vec<String> = encoder
            .encode(data, row)
            .iter()
            .map(|f| f.as_ref().map_or(String::new(), |b| b.to_base64()))
            .collect();
        out.push(
            &data.ids[row],
            &filters.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .unwrap();
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let people: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let flag = |f: &str| args.iter().any(|a| a == f);
    let started = Instant::now();
    let generator = GeneratorSettings { people, seed };
    let (left, right, truth) = if flag("--dedupe") {
        let data = generate::dedupe_data(&generator);
        (dataset("people", &data.records, None), None, data.truth)
    } else {
        let data = generate::link_data(&generator);
        let left = dataset("left", &data.left, None);
        let right = dataset("right", &data.right, Some(&left.fields));
        (left, Some(right), data.truth)
    };
    let (left, right) = if flag("--encoded") {
        (encoded(&left), right.as_ref().map(encoded))
    } else {
        (left, right)
    };
    eprintln!(
        "prepared {} records in {:.1}s",
        left.len() + right.as_ref().map_or(0, Dataset::len),
        started.elapsed().as_secs_f64()
    );
    let mut settings = Settings::for_fields(&left.fields);
    settings.one_to_one = !flag("--many-to-many");
    let started = Instant::now();
    let outcome = run(&left, right.as_ref(), &settings, None, &Progress::default()).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let r = right.as_ref().unwrap_or(&left);
    let key = |a: &str, b: &str| {
        if a < b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    };
    let truth: HashSet<_> = truth.iter().map(|(a, b)| key(a, b)).collect();
    let found: HashSet<_> = outcome
        .pairs
        .iter()
        .map(|p| key(&left.ids[p.left as usize], &r.ids[p.right as usize]))
        .collect();
    let correct = found.intersection(&truth).count() as f64;
    let (precision, recall) = (correct / found.len() as f64, correct / truth.len() as f64);
    if flag("--verbose") {
        println!("{}", serde_json::to_string_pretty(&outcome.report).unwrap());
    }
    println!(
        "people {people} candidates {} precision {precision:.4} recall {recall:.4} f1 {:.4} link seconds {seconds:.1}",
        outcome.report.candidate_pairs,
        2.0 * precision * recall / (precision + recall)
    );
}

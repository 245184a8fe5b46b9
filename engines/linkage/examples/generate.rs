//! Writes synthetic household data as CSV for benchmarks and demonstrations:
//! `cargo run --release --example generate -- PEOPLE SEED OUT_DIR [--dedupe]`
//! gives OUT_DIR/left.csv, right.csv and truth.csv (or people.csv and truth.csv).

use std::path::Path;

use linkage::generate::{self, GeneratorSettings, HEADERS};

fn write(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let mut writer =
        csv::Writer::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    writer.write_record(header).unwrap();
    rows.for_each(|r| writer.write_record(r).unwrap());
    writer.flush().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [people, seed, out, ..] = args.as_slice() else {
        panic!("usage: generate PEOPLE SEED OUT_DIR [--dedupe]");
    };
    let settings = GeneratorSettings {
        people: people.parse().expect("PEOPLE is a number"),
        seed: seed.parse().expect("SEED is a number"),
    };
    let out = Path::new(out);
    std::fs::create_dir_all(out).unwrap();
    let truth_header = ["left_id", "right_id"];
    let pairs = |truth: Vec<(String, String)>| truth.into_iter().map(|(a, b)| vec![a, b]);
    if args.iter().any(|a| a == "--dedupe") {
        let data = generate::dedupe_data(&settings);
        write(
            &out.join("people.csv"),
            &HEADERS,
            data.records.into_iter().map(Vec::from),
        );
        write(&out.join("truth.csv"), &truth_header, pairs(data.truth));
    } else {
        let data = generate::link_data(&settings);
        write(
            &out.join("left.csv"),
            &HEADERS,
            data.left.into_iter().map(Vec::from),
        );
        write(
            &out.join("right.csv"),
            &HEADERS,
            data.right.into_iter().map(Vec::from),
        );
        write(&out.join("truth.csv"), &truth_header, pairs(data.truth));
    }
}

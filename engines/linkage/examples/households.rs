//! Writes the second, independent generator's household data as CSV:
//! `cargo run --release --example households -- PER_SIDE SEED OUT_DIR [--profile b]`
//! gives OUT_DIR/left.csv, right.csv and truth.csv (`left_id,right_id`).

use std::path::Path;

use linkage::households::{HEADERS, Profile, households};

fn write(path: &Path, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let mut writer =
        csv::Writer::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    writer.write_record(header).unwrap();
    rows.for_each(|r| writer.write_record(r).unwrap());
    writer.flush().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [per_side, seed, out, ..] = args.as_slice() else {
        panic!("usage: households PER_SIDE SEED OUT_DIR [--profile a|b]");
    };
    let profile = match args.iter().skip_while(|a| *a != "--profile").nth(1) {
        Some(p) if p == "b" => Profile::b(),
        _ => Profile::a(),
    };
    let data = households(
        per_side.parse().expect("PER_SIDE is a number"),
        seed.parse().expect("SEED is a number"),
        profile,
    );
    let out = Path::new(out);
    std::fs::create_dir_all(out).unwrap();
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
    write(
        &out.join("truth.csv"),
        &["left_id", "right_id"],
        data.truth.into_iter().map(|(a, b)| vec![a, b]),
    );
}

//! Benchmark driver: the engine on CSV files as `earlyhelp link`/`dedupe` runs it, without the
//! progress bar or configuration file, so benchmarks need not build the whole product.
//! `cargo run --release --example link_csv -- ID OUT.csv LEFT.csv [RIGHT.csv] [--many-to-many]`

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;

use linkage::input::{Table, choose_fields};
use linkage::{Progress, Settings, run};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (flags, paths): (Vec<&String>, Vec<&String>) =
        args.iter().partition(|a| a.starts_with("--"));
    let [id, out, files @ ..] = paths.as_slice() else {
        panic!("usage: link_csv ID OUT.csv LEFT.csv [RIGHT.csv] [--many-to-many]")
    };
    let tables: Vec<Table> = files
        .iter()
        .map(|f| {
            Table::read(f, BufReader::new(File::open(f).expect("readable file")), id)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let (fields, ignored) =
        choose_fields(&tables.iter().collect::<Vec<_>>(), &HashMap::new()).unwrap();
    eprintln!(
        "fields {:?}; not used {ignored:?}",
        fields.iter().map(|f| (&f.name, f.kind)).collect::<Vec<_>>()
    );
    let data: Vec<_> = tables
        .iter()
        .map(|t| t.to_dataset(&fields).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    drop(tables);
    let mut settings = Settings::for_fields(&fields);
    settings.one_to_one = !flags.iter().any(|f| *f == "--many-to-many");
    let outcome = run(&data[0], data.get(1), &settings, None, &Progress::default()).unwrap();
    let right = data.get(1).unwrap_or(&data[0]);
    let mut writer = csv::Writer::from_path(out.as_str()).unwrap();
    writer
        .write_record(["left_id", "right_id", "match_probability"])
        .unwrap();
    for p in &outcome.pairs {
        writer
            .write_record([
                &data[0].ids[p.left as usize],
                &right.ids[p.right as usize],
                &p.probability.to_string(),
            ])
            .unwrap();
    }
    writer.flush().unwrap();
    std::fs::write(
        format!("{out}.report.json"),
        serde_json::to_string_pretty(&outcome.report).unwrap(),
    )
    .unwrap();
}

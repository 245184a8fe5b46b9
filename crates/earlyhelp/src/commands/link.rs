//! `earlyhelp link`, `earlyhelp dedupe` and `earlyhelp link encode`: record linkage of CSV files.
//!
//! Reading and checking the CSV, choosing fields, the model and clustering are all in the
//! `linkage` engine, where they are tested; this adapter opens and writes files, reads the
//! optional TOML configuration and shows progress.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use linkage::bloom::{Encoder, KEY_CHECK_COLUMN};
use linkage::data::{Dataset, Field, FieldKind};
use linkage::input::{Table, choose_fields};
use linkage::{Model, Outcome, Progress, Settings};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LinkArgs {
    #[command(subcommand)]
    pub command: Option<LinkCommand>,
    /// First CSV file (cleartext, or encoded by `link encode`).
    #[arg(required = true)]
    pub left: Option<PathBuf>,
    /// Second CSV file, of the same kind as the first.
    #[arg(required = true)]
    pub right: Option<PathBuf>,
    #[command(flatten)]
    pub options: MatchOptions,
}

#[derive(Debug, clap::Subcommand)]
pub enum LinkCommand {
    /// Encode a file's identifiers into Bloom filters with a secret key shared between agencies.
    Encode(EncodeArgs),
}

#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    /// CSV file to encode.
    pub file: PathBuf,
    /// Column holding each record's unique id (kept in the clear).
    #[arg(long)]
    pub id: String,
    /// File holding the shared secret key (at least 16 bytes; keep it off shared drives).
    #[arg(long)]
    pub key_file: PathBuf,
    /// Where to write the encoded CSV.
    #[arg(long)]
    pub out: PathBuf,
    /// TOML file naming column kinds (see `MatchOptions::config`).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DedupeArgs {
    /// CSV file in which the same person may appear more than once.
    pub file: PathBuf,
    #[command(flatten)]
    pub options: MatchOptions,
}

#[derive(Debug, clap::Args)]
pub struct MatchOptions {
    /// Column holding each record's unique id.
    #[arg(long, required = true)]
    pub id: Option<String>,
    /// Where to write `left_id,right_id,match_probability`; the JSON report and the trained
    /// model are written beside it (`NAME.report.json`, `NAME.model.json`).
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// TOML file: `threshold`, `one_to_one`, `max_cluster_size`, `ignore = [columns]`
    /// and a `[columns]` table of column name = kind (given_name, family_name, date_of_birth,
    /// sex, postcode, address, place, house_number, phone, email, identifier).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Lowest match probability reported [default: 0.5].
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Each record is matched at most once (each file holds one record per person). The
    /// default when linking two files; kept so older scripts still run.
    #[arg(long, conflicts_with = "many_to_many")]
    pub one_to_one: bool,
    /// Let a record match several on the other side: for a file that holds a person more
    /// than once (otherwise each is matched at most once).
    #[arg(long)]
    pub many_to_many: bool,
    /// Score with a model saved by an earlier run instead of training a new one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Also write `record_id,person,household` for every record.
    #[arg(long)]
    pub clusters: Option<PathBuf>,
}

/// The optional TOML configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    threshold: Option<f64>,
    one_to_one: Option<bool>,
    max_cluster_size: Option<usize>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    columns: HashMap<String, FieldKind>,
}

fn read_config(path: Option<&Path>) -> Result<Config> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the configuration", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn read_table(path: &Path, id: &str) -> Result<Table> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    Ok(Table::read(
        &path.display().to_string(),
        BufReader::new(file),
        id,
    )?)
}

pub fn run(args: &LinkArgs) -> Result<()> {
    if let Some(LinkCommand::Encode(encode)) = &args.command {
        return run_encode(encode);
    }
    let (Some(left), Some(right)) = (&args.left, &args.right) else {
        bail!("give two files to link, or `link encode FILE`");
    };
    run_match(&[left, right], &args.options)
}

pub fn run_dedupe(args: &DedupeArgs) -> Result<()> {
    run_match(&[&args.file], &args.options)
}

fn run_match(paths: &[&PathBuf], options: &MatchOptions) -> Result<()> {
    let id = options.id.as_deref().context("--id is required")?;
    let out = options.out.as_deref().context("--out is required")?;
    let config = read_config(options.config.as_deref())?;
    let tables = paths
        .iter()
        .map(|p| read_table(p, id))
        .collect::<Result<Vec<_>>>()?;
    let table_refs: Vec<&Table> = tables.iter().collect();
    let (mut fields, mut ignored) = choose_fields(&table_refs, &config.columns)?;
    check_keys(&tables)?;
    ignored.extend(
        fields
            .iter()
            .filter(|f| config.ignore.contains(&f.name))
            .map(|f| f.name.clone()),
    );
    fields.retain(|f| !config.ignore.contains(&f.name));
    let described: Vec<String> = fields
        .iter()
        .map(|f| format!("{} ({:?})", f.name, f.kind))
        .collect();
    eprintln!("comparing {}", described.join(", "));
    if !ignored.is_empty() {
        eprintln!("not used: {}", ignored.join(", "));
    }
    let datasets = tables
        .iter()
        .map(|t| t.to_dataset(&fields))
        .collect::<Result<Vec<_>, _>>()?;
    drop(tables);

    let mut settings = Settings::for_fields(&fields);
    settings.threshold = options
        .threshold
        .or(config.threshold)
        .unwrap_or(settings.threshold);
    settings.one_to_one = match (options.one_to_one, options.many_to_many) {
        (true, _) => true,
        (_, true) => false,
        _ => config.one_to_one.unwrap_or(settings.one_to_one),
    };
    settings.max_cluster_size = config.max_cluster_size.unwrap_or(settings.max_cluster_size);
    if !(0.0..=1.0).contains(&settings.threshold) {
        bail!(
            "the threshold is a probability between 0 and 1, got {}",
            settings.threshold
        );
    }
    let trained = match &options.model {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the model", path.display()))?;
            Some(
                Model::from_json(&text)
                    .map_err(|e| anyhow!("{}: not a saved model: {e}", path.display()))?,
            )
        }
        None => None,
    };

    let (left, right) = (&datasets[0], datasets.get(1));
    let outcome =
        with_progress(|progress| linkage::run(left, right, &settings, trained, progress))?;
    let right_data = right.unwrap_or(left);
    write_pairs(out, &outcome, left, right_data)?;
    let report_path = beside(out, "report.json");
    std::fs::write(&report_path, serde_json::to_string_pretty(&outcome.report)?)
        .with_context(|| format!("{}: cannot write", report_path.display()))?;
    let model_path = beside(out, "model.json");
    std::fs::write(&model_path, outcome.model.to_json())
        .with_context(|| format!("{}: cannot write", model_path.display()))?;
    if let Some(path) = &options.clusters {
        write_clusters(path, &outcome, &datasets)?;
    }
    let seconds: f64 = outcome.report.timings.iter().map(|t| t.seconds).sum();
    eprintln!(
        "{} candidate pairs, {} at or above {} in {seconds:.1}s; {} people in {} households; report in {}",
        outcome.report.candidate_pairs,
        outcome.pairs.len(),
        settings.threshold,
        outcome.report.clusters.count,
        outcome.report.households,
        report_path.display()
    );
    Ok(())
}

/// Encoded files must have been encoded with one key: files whose key checks differ are
/// refused (linked, they would give nonsense). Files encoded before key checks were written
/// are linked with a warning.
fn check_keys(tables: &[Table]) -> Result<()> {
    if !tables.iter().all(Table::is_encoded) || tables.len() < 2 {
        return Ok(());
    }
    let checks = tables
        .iter()
        .map(Table::key_check)
        .collect::<Result<Vec<_>, _>>()?;
    match (&checks[0], &checks[1]) {
        (Some(a), Some(b)) if a != b => bail!(
            "{} and {} were encoded with different keys (their {KEY_CHECK_COLUMN} columns differ): \
             encode both with the same key",
            tables[0].file,
            tables[1].file
        ),
        (Some(_), Some(_)) => {}
        _ => eprintln!(
            "warning: a file has no {KEY_CHECK_COLUMN} column (encoded by an older earlyhelp), so \
             whether both were encoded with the same key cannot be checked"
        ),
    }
    Ok(())
}

/// Runs `work` while a progress bar on the terminal shows pairs compared, rate and time left.
fn with_progress<T>(work: impl FnOnce(&Progress) -> T) -> T {
    let progress = Progress::default();
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {human_pos}/{human_len} pairs, {per_sec}, {eta} left")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            while !finished.load(Ordering::Relaxed) {
                bar.set_length(progress.total.load(Ordering::Relaxed));
                bar.set_position(progress.done.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(200));
            }
            bar.finish_and_clear();
        });
        let result = work(&progress);
        finished.store(true, Ordering::Relaxed);
        result
    })
}

/// `pairs.csv` gives `pairs.report.json` and so on.
fn beside(out: &Path, suffix: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "pairs".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.{suffix}"))
}

fn create(path: &Path) -> Result<csv::Writer<BufWriter<File>>> {
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    Ok(csv::Writer::from_writer(BufWriter::new(file)))
}

fn write_pairs(path: &Path, outcome: &Outcome, left: &Dataset, right: &Dataset) -> Result<()> {
    let mut pairs = outcome.pairs.clone();
    pairs.sort_unstable_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then((a.left, a.right).cmp(&(b.left, b.right)))
    });
    let mut writer = create(path)?;
    writer.write_record(["left_id", "right_id", "match_probability"])?;
    for p in pairs {
        let probability = format!("{:.6}", p.probability);
        writer.write_record([
            &left.ids[p.left as usize],
            &right.ids[p.right as usize],
            &probability,
        ])?;
    }
    writer
        .flush()
        .with_context(|| format!("{}: cannot write", path.display()))
}

fn write_clusters(path: &Path, outcome: &Outcome, datasets: &[Dataset]) -> Result<()> {
    let mut writer = create(path)?;
    writer.write_record(["record_id", "person", "household"])?;
    let ids = datasets.iter().flat_map(|d| d.ids.iter());
    for ((id, person), household) in ids
        .zip(&outcome.report.clusters.of_record)
        .zip(&outcome.households)
    {
        writer.write_record([id, &person.to_string(), &household.to_string()])?;
    }
    writer
        .flush()
        .with_context(|| format!("{}: cannot write", path.display()))
}

fn run_encode(args: &EncodeArgs) -> Result<()> {
    let key = std::fs::read(&args.key_file)
        .with_context(|| format!("{}: cannot read the key", args.key_file.display()))?;
    let encoder = Encoder::new(key.trim_ascii_end())
        .map_err(|e| anyhow!("{}: {e}", args.key_file.display()))?;
    let config = read_config(args.config.as_deref())?;
    let table = read_table(&args.file, &args.id)?;
    let (fields, ignored) = choose_fields(&[&table], &config.columns)?;
    let fields: Vec<Field> = fields
        .into_iter()
        .filter(|f| !config.ignore.contains(&f.name))
        .collect();
    if fields.iter().any(|f| f.kind == FieldKind::Encoded) {
        bail!("{}: this file is already encoded", args.file.display());
    }
    // Sex is recognised but not encoded (see docs/linkage-privacy.md): say so, with the rest.
    let left_out: Vec<String> = ignored
        .into_iter()
        .chain(
            fields
                .iter()
                .filter(|f| f.kind == FieldKind::Sex)
                .map(|f| f.name.clone()),
        )
        .collect();
    if !left_out.is_empty() {
        eprintln!("not encoded: {}", left_out.join(", "));
    }
    let data = table.to_dataset(&fields)?;
    drop(table);
    let mut writer = create(&args.out)?;
    // The key check goes in every row, so a file cut or joined keeps it.
    let key_check = encoder.key_check();
    writer.write_record(Encoder::file_header(&args.id, &fields))?;
    for row in 0..data.len() {
        writer.write_record(encoder.file_row(&data, row, &key_check))?;
    }
    writer
        .flush()
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    eprintln!("encoded {} records into {}", data.len(), args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Command {
        Link(LinkArgs),
        Dedupe(DedupeArgs),
    }

    #[test]
    fn link_takes_two_files_or_the_encode_subcommand() {
        let cli = Cli::try_parse_from([
            "earlyhelp",
            "link",
            "a.csv",
            "b.csv",
            "--id",
            "ref",
            "--out",
            "p.csv",
        ])
        .unwrap();
        let Command::Link(args) = cli.command else {
            panic!("link expected")
        };
        assert_eq!(args.right.as_deref(), Some(Path::new("b.csv")));
        let cli = Cli::try_parse_from([
            "earlyhelp",
            "link",
            "encode",
            "a.csv",
            "--id",
            "ref",
            "--key-file",
            "k",
            "--out",
            "e.csv",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Link(LinkArgs {
                command: Some(LinkCommand::Encode(_)),
                ..
            })
        ));
        assert!(
            Cli::try_parse_from([
                "earlyhelp",
                "link",
                "a.csv",
                "--id",
                "ref",
                "--out",
                "p.csv"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from(["earlyhelp", "dedupe", "a.csv", "--out", "p.csv"]).is_err(),
            "--id is required"
        );
    }

    #[test]
    fn outputs_sit_beside_the_pairs_file() {
        assert_eq!(
            beside(Path::new("/tmp/out/pairs.csv"), "report.json"),
            Path::new("/tmp/out/pairs.report.json")
        );
    }
}

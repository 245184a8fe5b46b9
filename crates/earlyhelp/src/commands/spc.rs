//! `earlyhelp spc FILE.csv`: statistical process control for an analyst's indicator file.
//!
//! Reads `metric,date,value` rows, charts each metric with the SPC engine and writes CSV to
//! standard output. All parsing and writing is in `spc::table`, where it is unit-tested; this
//! adapter only opens the file and maps the flags to engine options.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use time::Date;

use ::spc::table::{parse_date, read_series, write_points, write_summary};
use ::spc::{Chart, Direction, Options, Rules};

/// Rule set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesArg {
    /// NHS England Making Data Count: runs of 6.
    Mdc,
    /// NHSRplotthedots: runs of 7, moving-range outliers screened.
    Nhsr,
}

/// Which way is improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectionArg {
    Higher,
    Lower,
    Neither,
}

#[derive(Debug, clap::Args)]
pub struct SpcArgs {
    /// CSV with columns metric,date,value (dates YYYY-MM-DD or DD/MM/YYYY; other columns ignored).
    pub file: PathBuf,
    /// Special cause rules.
    #[arg(long, value_enum, default_value_t = RulesArg::Mdc)]
    pub rules: RulesArg,
    /// Improvement direction, applied to every metric in the file.
    #[arg(long, value_enum, default_value_t = DirectionArg::Higher)]
    pub direction: DirectionArg,
    /// Target for the assurance icon (shown with --summary).
    #[arg(long)]
    pub target: Option<f64>,
    /// Recalculate limits from the first point on or after DATE; may be repeated.
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub recalculate_at: Vec<Date>,
    /// One row per metric with its variation and assurance icons instead of one per point.
    #[arg(long)]
    pub summary: bool,
}

fn date_arg(s: &str) -> Result<Date, String> {
    parse_date(s).ok_or_else(|| format!("{s:?} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)"))
}

pub fn run(args: &SpcArgs) -> Result<()> {
    let path = args.file.display();
    let file = File::open(&args.file).with_context(|| format!("cannot open {path}"))?;
    // Row errors name the data row (1-based, header not counted) and the file line.
    let series = read_series(BufReader::new(file)).map_err(|e| anyhow!("{path}: {e}"))?;

    let opts = Options {
        rules: match args.rules {
            RulesArg::Mdc => Rules::Mdc,
            RulesArg::Nhsr => Rules::Nhsr,
        },
        direction: match args.direction {
            DirectionArg::Higher => Direction::Higher,
            DirectionArg::Lower => Direction::Lower,
            DirectionArg::Neither => Direction::Neither,
        },
        target: args.target,
        ..Options::default()
    };
    let charts: Vec<Chart> = series
        .iter()
        .map(|s| s.chart(&opts, &args.recalculate_at))
        .collect();

    // Build the whole output first so that a failure prints nothing.
    let mut out = Vec::new();
    if args.summary {
        write_summary(&mut out, &series, &charts)?;
    } else {
        write_points(&mut out, &series, &charts)?;
    }
    match std::io::stdout().lock().write_all(&out) {
        // A reader such as `head` that stops early is not a failure.
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

//! `earlyhelp cba MODEL.toml`: a cost-benefit appraisal of a model (see `engines/cba`), as a
//! readable summary or as JSON at full precision.

use anyhow::{Context, Result};
use earlyhelp_cba::{Appraisal, appraise, parse};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CbaArgs {
    /// The model: costs and benefits by year, in TOML (see engines/cba/examples/).
    pub model: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &CbaArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    let model =
        parse(&text).with_context(|| format!("{} is not a usable model", args.model.display()))?;
    let appraisal = appraise(&model);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&appraisal)?),
        Format::Text => print!("{}", summary(&model.name, model.price_year, &appraisal)),
    }
    Ok(())
}

fn money(v: f64) -> String {
    let whole = format!("{:.0}", v.abs());
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}£{grouped}", if v < 0.0 { "-" } else { "" })
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("none".into(), |v| format!("{v:.2}"))
}

fn summary(name: &str, price_year: i32, a: &Appraisal) -> String {
    let mut out = format!("{name} (present values in {price_year} prices)\n\n");
    for (label, value) in [
        ("Costs", money(a.pv_costs)),
        ("Benefits", money(a.pv_benefits)),
        ("Net present value", money(a.npv)),
        ("Benefit-cost ratio", ratio(a.bcr)),
        (
            "Pays back in",
            a.payback_year.map_or("never".into(), |y| y.to_string()),
        ),
        ("Fiscal benefits", money(a.by_kind.fiscal)),
        ("Economic benefits", money(a.by_kind.economic)),
        ("Social benefits", money(a.by_kind.social)),
        ("Cashable", money(a.cashable)),
        ("Non-cashable", money(a.non_cashable)),
    ] {
        out.push_str(&format!("{label:<20} {value:>16}\n"));
    }
    out.push_str(&format!(
        "\n{:<32} {:>14} {:>14} {:>14} {:>10}\n",
        "Partner", "Costs", "Benefits", "Fiscal", "Fiscal ROI"
    ));
    for line in &a.by_agency {
        out.push_str(&format!(
            "{:<32} {:>14} {:>14} {:>14} {:>10}\n",
            line.agency,
            money(line.pv_costs),
            money(line.pv_benefits),
            money(line.pv_fiscal_benefits),
            ratio(line.fiscal_roi)
        ));
    }
    out
}

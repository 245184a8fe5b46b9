//! `earlyhelp export 360giving`: the 360Giving file of awards to community organisations and
//! paid payments to families (each a generic recipient with its codes and locality, never a
//! name, family id, postcode or date of birth), as JSON or 360Giving's CSV. A grant failing
//! 360Giving's accuracy checks is left out and the problem printed, so the rest still publish.
//! The operator's reading is audited.

use crate::server::DbArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::giving::{self, Package};
use earlyhelp_storage::gate;
use earlyhelp_storage::giving as store;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Args)]
pub struct GivingArgs {
    /// Only this programme's grants (its id).
    #[arg(long)]
    pub programme: Option<Uuid>,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Where the data is published, for each grant's `dataSource`: the site's `/grants` page, when
/// `EARLYHELP_PUBLIC_URL` names the site.
fn data_source() -> Result<Option<String>> {
    let Ok(site) = std::env::var("EARLYHELP_PUBLIC_URL") else {
        return Ok(None);
    };
    let url = reqwest::Url::parse(site.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .with_context(|| {
            format!("EARLYHELP_PUBLIC_URL {site:?} is not an http or https address")
        })?;
    Ok(Some(format!(
        "{}/grants",
        url.as_str().trim_end_matches('/')
    )))
}

pub async fn run(args: GivingArgs) -> Result<()> {
    let source = data_source()?;
    let db = crate::server::open(&args.db.database).await?;
    let mut authorised = gate::operator(
        &db,
        "360giving",
        Action::List,
        "360Giving file (command line)",
    )
    .await?;
    if let Some(id) = args.programme
        && store::programme_name(&mut authorised.tx, id)
            .await?
            .is_none()
    {
        bail!("no programme has the id {id}");
    }
    let awards = store::awards(&mut authorised.tx, args.programme).await?;
    let payments = store::paid_payments(&mut authorised, args.programme).await?;
    authorised.tx.commit().await?;
    let grants = awards
        .iter()
        .map(|a| giving::award_grant(a, source.as_deref()))
        .chain(
            payments
                .iter()
                .map(|p| giving::payment_grant(p, source.as_deref())),
        )
        .collect();
    let (grants, findings) = giving::publishable(grants, earlyhelp_storage::cases::today());
    for finding in &findings {
        eprintln!(
            "left out {}: {}: {}",
            finding.grant, finding.field, finding.problem
        );
    }
    if grants.is_empty() {
        bail!("nothing to publish: no awards or paid payments that pass the checks");
    }
    let people = grants
        .iter()
        .filter(|g| g.recipient_individual.is_some())
        .count();
    let summary = format!(
        "{} award(s) to organisations and {people} payment(s) to families; {} problem(s) held grants back",
        grants.len() - people,
        findings.len()
    );
    let body = match args.format {
        Format::Json => serde_json::to_vec_pretty(&Package::new(grants))?,
        Format::Csv => giving::csv(&grants)?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
            println!("{}: {summary}", path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&body)?;
            eprintln!("{summary}");
        }
    }
    Ok(())
}

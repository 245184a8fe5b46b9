//! The `earlyhelp` command: serve the product, load the demo city, administer users and
//! tokens, verify the audit chain, and run the analysts' engines (SPC, record linkage).

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use earlyhelp::commands;
use earlyhelp::server::{self, CheckpointArgs, DbArgs, ListenArgs};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::people::{check_new_password, normalise_email};
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::accounts::{self, GrantedBy, NewUser};
use earlyhelp_storage::gate;
use earlyhelp_storage::secrets::hash_password;

#[derive(Parser)]
#[command(
    name = "earlyhelp",
    version,
    about = "Early Help for a city's children's partnership"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve earlyhelp (applies migrations first).
    Serve {
        #[command(flatten)]
        listen: ListenArgs,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        checkpoints: CheckpointArgs,
    },
    /// Create a fresh demo city and serve it.
    Demo {
        #[command(flatten)]
        listen: ListenArgs,
        /// Where to build the demo; an SQLite file here is replaced.
        #[arg(
            long = "database",
            env = "EARLYHELP_DATABASE_URL",
            default_value = "sqlite://earlyhelp-demo.db"
        )]
        database: String,
        #[command(flatten)]
        checkpoints: CheckpointArgs,
    },
    /// Apply database migrations and stop.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage the people who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the audit log, and sign a checkpoint of it.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Copy the whole database to a file while it is in use (SQLite: VACUUM INTO; PostgreSQL:
    /// pg_dump's custom format).
    Backup(commands::backup::BackupArgs),
    /// Restore a backup into a new, empty database, then verify its audit chain.
    Restore(commands::backup::RestoreArgs),
    /// Statistical process control (Making Data Count XmR charts) on a CSV of metric,date,value.
    Spc(commands::spc::SpcArgs),
    /// Cost-benefit appraisal of a model in TOML: NPV, BCR, payback and the return to each partner.
    Cba(commands::cba::CbaArgs),
    /// Link records between two agencies' CSV files (or encode a file for privacy-preserving linkage).
    Link(commands::link::LinkArgs),
    /// Find records of the same people within one CSV file.
    Dedupe(commands::link::DedupeArgs),
    /// Load data: postcodes, LSOA localities, Open Referral UK feeds, services CSV, readings, IMD.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Check the directory: stored websites that are not web links.
    #[command(subcommand)]
    Directory(commands::directory::DirectoryCommand),
    /// Write data out: services as CSV, grants to 360Giving.
    #[command(subcommand)]
    Export(commands::import::ExportCommand),
    /// Everything held about one person, for a subject access request (HTML or JSON).
    Sar(commands::sar::SarArgs),
    /// Apply the retention schedule (anonymise records past their date); legal holds.
    #[command(subcommand)]
    Retention(commands::retention::RetentionCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. The password comes from EARLYHELP_PASSWORD or is asked for.
    Add(UserAddArgs),
}

#[derive(Args)]
struct UserAddArgs {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// The organisation's exact name.
    #[arg(long)]
    org: String,
    /// One of: administrator, locality_lead, practitioner, community_connector, vcs_worker,
    /// data_analyst, commissioner, information_governance_officer. Repeat for several.
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
    /// A locality they work in. Repeat for several.
    #[arg(long = "locality")]
    localities: Vec<String>,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API bearer token for a user (only its hash is stored).
    Add {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn main() {
    if let Err(error) = earlyhelp::logs::init().and_then(|()| run(Cli::parse())) {
        eprintln!("earlyhelp: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Spc(args) => commands::spc::run(&args),
        Command::Cba(args) => commands::cba::run(&args),
        Command::Link(args) => commands::link::run(&args),
        Command::Dedupe(args) => commands::link::run_dedupe(&args),
        other => tokio::runtime::Runtime::new()?.block_on(run_async(other)),
    }
}

async fn run_async(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            listen,
            db,
            checkpoints,
        } => server::serve(&listen, &db.database, &checkpoints, false).await,
        Command::Demo {
            listen,
            database,
            checkpoints,
        } => server::serve(&listen, &database, &checkpoints, true).await,
        Command::Migrate { db } => {
            server::open(&db.database).await?;
            println!("migrations applied to {}", db.database);
            Ok(())
        }
        Command::User(UserCommand::Add(args)) => add_user(args).await,
        Command::Import(command) => commands::import::run(command).await,
        Command::Export(command) => commands::import::run_export(command).await,
        Command::Directory(command) => commands::directory::run(command).await,
        Command::Sar(args) => commands::sar::run(args).await,
        Command::Retention(command) => commands::retention::run(command).await,
        Command::Token(TokenCommand::Add { email, db }) => {
            let db = server::open(&db.database).await?;
            let email = normalise_email(&email).context("that is not an email address")?;
            let user_id = accounts::user_id_by_email(&db, &email)
                .await?
                .with_context(|| format!("no user has the email {email}"))?;
            let subject = format!("user:{user_id}");
            let authorised =
                gate::operator(&db, &subject, Action::Create, "issue API token").await?;
            authorised.tx.commit().await?;
            println!("{}", accounts::create_api_token(&db, user_id).await?);
            Ok(())
        }
        Command::Audit(command) => commands::audit::run(command).await,
        Command::Backup(args) => commands::backup::backup(&args).await,
        Command::Restore(args) => commands::backup::restore(&args).await,
        Command::Spc(_) | Command::Cba(_) | Command::Link(_) | Command::Dedupe(_) => {
            unreachable!("run() handles the engines")
        }
    }
}

async fn add_user(args: UserAddArgs) -> Result<()> {
    let db = server::open(&args.db.database).await?;
    let email = normalise_email(&args.email)
        .with_context(|| format!("{:?} is not an email address", args.email))?;
    let organisation = accounts::find_organisation(&db, &args.org).await?.with_context(|| {
        format!("there is no organisation called {:?} (see the Organisations page for their exact names)", args.org)
    })?;
    let mut roles = Vec::new();
    for slug in &args.roles {
        let known = Role::ALL.map(Role::slug).join(", ");
        roles.push(Role::from_slug(slug).with_context(|| {
            format!("there is no role called {slug:?}; the roles are: {known}")
        })?);
    }
    earlyhelp_domain::roles::check_role_set(&roles).map_err(|message| anyhow::anyhow!(message))?;
    let known_localities = accounts::list_localities(&db).await?;
    let mut localities = Vec::new();
    for wanted in &args.localities {
        let locality = known_localities
            .iter()
            .find(|l| l.slug == *wanted || l.name.eq_ignore_ascii_case(wanted))
            .with_context(|| format!("there is no locality called {wanted:?}"))?;
        localities.push(locality.slug.clone());
    }
    let password = match std::env::var("EARLYHELP_PASSWORD") {
        Ok(password) => password,
        Err(_) => rpassword::prompt_password(format!("Password for {email}: "))?,
    };
    check_new_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
    let id = uuid::Uuid::now_v7();
    let new = NewUser {
        email: email.clone(),
        name: args.name,
        organisation_id: organisation.id,
        password_hash: hash_password(&password),
        roles,
        localities,
    };
    let mut authorised = gate::operator(
        &db,
        &format!("user:{id}"),
        Action::Create,
        "add user from the command line",
    )
    .await?;
    accounts::create_user(&mut authorised, id, &new, GrantedBy::Operator).await?;
    authorised.tx.commit().await?;
    println!("added {email} to {}", organisation.name);
    Ok(())
}

//! The `earlyhelp` program: its commands, the demo city and the server start-up.
//! (`main.rs` parses the command line and dispatches here.)

pub mod commands;
pub mod demo;
pub mod demo_budgeting;
pub mod demo_cases;
pub mod demo_connections;
pub mod demo_deprivation;
pub mod demo_directory;
pub mod demo_grants;
pub mod demo_money;
pub mod demo_outcomes;
pub mod demo_sharing;
pub mod demo_surveys;
pub mod jobs;
pub mod logs;
pub mod mail;
pub mod metrics;
pub mod server;

//! Where log lines go and in what form: human-readable text (the default, for a person at a
//! terminal or the demo) or one JSON object a line (`EARLYHELP_LOG_FORMAT=json`, for a log
//! collector), always on standard error. A request's lines carry its request id in the
//! `request` span. No line may hold personal data: code logs routes, ids and counts, never
//! names, addresses, emails, search words or form values.

use anyhow::{Result, bail};
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    /// From `EARLYHELP_LOG_FORMAT`: `text` (or unset) or `json`.
    pub fn from_env() -> Result<Format> {
        match std::env::var("EARLYHELP_LOG_FORMAT").as_deref() {
            Err(_) | Ok("" | "text") => Ok(Format::Text),
            Ok("json") => Ok(Format::Json),
            Ok(other) => bail!("EARLYHELP_LOG_FORMAT={other:?}: say text or json"),
        }
    }

    /// What is logged unless `EARLYHELP_LOG` says otherwise: JSON goes to a collector, so it
    /// has a line for each request (info); text keeps a terminal quiet (warnings only).
    fn default_filter(self) -> &'static str {
        match self {
            Format::Text => "warn",
            Format::Json => "info",
        }
    }
}

/// Sets up logging for the whole process; call once, first.
pub fn init() -> Result<()> {
    let format = Format::from_env()?;
    let filter = EnvFilter::try_from_env("EARLYHELP_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format.default_filter()));
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        Format::Text => lines.init(),
        // Every span the line is in, outermost first: the request's id is in the first.
        Format::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
    Ok(())
}

//! Sending the outbox: a background worker claims due messages, sends each over SMTP (lettre)
//! with its stored Message-ID, and marks it sent, or schedules a retry with backoff. Without
//! `EARLYHELP_SMTP_URL` mail goes to the log (and stays listed in the outbox).

use anyhow::{Context, Result};
use earlyhelp_storage::{Db, outbox};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Log,
}

/// How the worker sends: where, from whom, and the site's address for links.
#[derive(Clone)]
pub struct Sending {
    pub mailer: Mailer,
    pub from: String,
    pub site: String,
}

impl Sending {
    /// From `EARLYHELP_SMTP_URL` (for example `smtp://relay.example.org:25`),
    /// `EARLYHELP_MAIL_FROM` and `EARLYHELP_PUBLIC_URL`.
    pub fn from_env(site: &str) -> Result<Sending> {
        let mailer = match std::env::var("EARLYHELP_SMTP_URL") {
            Ok(url) if !url.is_empty() => Mailer::Smtp(smtp(&url)?),
            _ => Mailer::Log,
        };
        Ok(Sending {
            mailer,
            from: std::env::var("EARLYHELP_MAIL_FROM")
                .unwrap_or_else(|_| "earlyhelp <no-reply@earlyhelp.invalid>".into()),
            site: std::env::var("EARLYHELP_PUBLIC_URL").unwrap_or_else(|_| site.to_string()),
        })
    }
}

/// An SMTP relay at `smtp://HOST[:PORT]` (port 25 by default). earlyhelp speaks plain SMTP to
/// a relay it trusts (on the host or the private network), which carries mail on over TLS.
pub fn smtp(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let address = url
        .strip_prefix("smtp://")
        .with_context(|| format!("EARLYHELP_SMTP_URL {url:?} must be smtp://HOST[:PORT]"))?
        .trim_end_matches('/');
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .with_context(|| format!("EARLYHELP_SMTP_URL {url:?} has no valid port"))?,
        ),
        None => (address, 25),
    };
    anyhow::ensure!(!host.is_empty(), "EARLYHELP_SMTP_URL {url:?} names no host");
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build(),
    )
}

/// Claims and sends what is due, several at once over pooled connections; answers how many
/// went. A message whose send fails is tried again later; one claimed by a worker that died is
/// claimed again when its lease runs out.
pub async fn drain(db: &Db, sending: &Sending, now: i64) -> Result<usize> {
    const LEASE_MICROS: i64 = 60_000_000;
    const AT_ONCE: usize = 8;
    let claimed = outbox::claim(db, now, LEASE_MICROS, 64).await?;
    let mut sent = 0;
    for batch in claimed.chunks(AT_ONCE) {
        let mut sends = tokio::task::JoinSet::new();
        for message in batch.iter().cloned() {
            let sending = sending.clone();
            sends.spawn(async move {
                let result = match &sending.mailer {
                    Mailer::Log => {
                        // Its id only: the address and words stay in the outbox, not the log.
                        tracing::info!(id = %message.id, "email not sent: no SMTP server configured (it is in the outbox)");
                        Ok(())
                    }
                    Mailer::Smtp(transport) => send(transport, &sending, &message).await,
                };
                (message, result)
            });
        }
        while let Some(joined) = sends.join_next().await {
            let (message, result) = joined?;
            match result {
                Ok(()) => {
                    outbox::sent(db, message.id, earlyhelp_storage::now_micros()).await?;
                    sent += 1;
                }
                Err(error) => {
                    let retry = now + outbox::backoff_seconds(message.attempts) * 1_000_000;
                    // The relay's words can echo the address: they go to the outbox page, not the log.
                    tracing::warn!(id = %message.id, attempts = message.attempts, "sending an email failed; will retry (the outbox page says why)");
                    outbox::failed(db, message.id, retry, &format!("{error:#}")).await?;
                }
            }
        }
    }
    Ok(sent)
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    sending: &Sending,
    message: &outbox::Message,
) -> Result<()> {
    let email = Message::builder()
        .message_id(Some(format!("<{}>", message.message_key)))
        .from(
            sending
                .from
                .parse()
                .context("EARLYHELP_MAIL_FROM is not an address")?,
        )
        .to(message
            .to_address
            .parse()
            .context("the recipient is not an address")?)
        .subject(&message.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "{}\n\n{}{}\n",
            message.body,
            sending.site.trim_end_matches('/'),
            message.link
        ))?;
    transport.send(email).await?;
    Ok(())
}

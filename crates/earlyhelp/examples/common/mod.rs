//! What the HTTP benchmarks share: signing in as a browser does, driving signed-in clients
//! for a measured time, and percentiles.

use anyhow::{Context, Result, bail};
use std::time::{Duration, Instant};

/// A signed-in browser: its cookie jar holds the session.
pub async fn sign_in(address: &str, email: &str) -> Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = client
        .get(format!("{address}/sign-in"))
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"csrf_token\" value=\"";
    let start = page
        .find(marker)
        .context("the sign-in page has a CSRF token")?
        + marker.len();
    let csrf = page[start..].split('"').next().unwrap_or_default();
    let response = client
        .post(format!("{address}/sign-in"))
        .form(&[
            ("csrf_token", csrf),
            ("email", email),
            ("password", earlyhelp::demo::PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await?;
    if response.status() != 303 {
        bail!("{email} could not sign in: {}", response.status());
    }
    Ok(client)
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Each client asks for its own paths, one after another, as fast as the server answers.
pub async fn drive(
    clients: Vec<(reqwest::Client, Vec<String>)>,
    seconds: u64,
    think: Duration,
) -> Result<(Vec<Duration>, f64)> {
    let warm_until = Instant::now() + Duration::from_secs(2);
    let stop_at = warm_until + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (c, (client, paths)) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut i = c * 7919;
            loop {
                let path = &paths[i % paths.len()];
                i += 1;
                let t = Instant::now();
                if t >= stop_at {
                    break;
                }
                let response = client.get(path).send().await?;
                let status = response.status();
                response.bytes().await?;
                if status != 200 {
                    bail!("{path}: {status}");
                }
                if t >= warm_until {
                    times.push(t.elapsed());
                }
                if !think.is_zero() {
                    tokio::time::sleep(think).await;
                }
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await??);
    }
    times.sort();
    let throughput = times.len() as f64 / seconds as f64;
    Ok((times, throughput))
}

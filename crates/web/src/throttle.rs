//! How often the public forms may be sent from one client address (governor's GCRA: a burst of
//! N, then one more every period/N), and who the client is when earlyhelp sits behind a proxy.

use crate::error::AppError;
use crate::{AppState, Config};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

/// Addresses remembered before the limiters forget those that are back to a full allowance.
const FORGET_ABOVE: usize = 10_000;

pub struct Throttle {
    self_referral: Option<DefaultKeyedRateLimiter<IpAddr>>,
    grant_application: Option<DefaultKeyedRateLimiter<IpAddr>>,
    survey_answer: Option<DefaultKeyedRateLimiter<IpAddr>>,
    sign_in: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Wrong codes to vote, as survey answers are limited; a vote with a good code is not
    /// counted, so a venue's shared connection is not shut out by the people voting there.
    wrong_code: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses that have used up their wrong codes, and until when. (Governor cannot look
    /// without taking, and a code must be refused before it is tried.)
    barred: std::sync::Mutex<std::collections::HashMap<IpAddr, std::time::Instant>>,
    contact_phone: String,
}

/// `n` in `period` from one address, or no limit for 0.
fn limiter(n: u32, period: Duration) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    let burst = NonZeroU32::new(n)?;
    let quota = Quota::with_period(period / n)?.allow_burst(burst);
    Some(RateLimiter::keyed(quota))
}

/// Takes one from `ip`'s allowance, or says how long until there is one.
fn take(limiter: &Option<DefaultKeyedRateLimiter<IpAddr>>, ip: IpAddr) -> Result<(), Duration> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > FORGET_ABOVE {
        limiter.retain_recent();
    }
    limiter
        .check_key(&ip)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

fn too_many_wrong_codes(wait: Duration) -> AppError {
    AppError::TooManyRequests {
        paragraphs: vec![
            "Too many wrong codes to vote have been sent from your internet connection in the last hour.".into(),
            format!("Try again in {} minutes.", minutes(wait)),
        ],
        retry_after_secs: wait.as_secs().max(1),
    }
}

fn minutes(wait: Duration) -> u64 {
    wait.as_secs().div_ceil(60).max(1)
}

impl Throttle {
    pub fn new(config: &Config) -> Throttle {
        Throttle {
            self_referral: limiter(config.self_referrals_per_hour, Duration::from_secs(3600)),
            // As many applications an hour as self-referrals: both are public forms.
            grant_application: limiter(config.self_referrals_per_hour, Duration::from_secs(3600)),
            // Ten times as many survey answers: a classroom answers from one school address.
            survey_answer: limiter(
                config.self_referrals_per_hour.saturating_mul(10),
                Duration::from_secs(3600),
            ),
            sign_in: limiter(config.sign_ins_per_15_minutes, Duration::from_secs(15 * 60)),
            wrong_code: limiter(
                config.self_referrals_per_hour.saturating_mul(10),
                Duration::from_secs(3600),
            ),
            barred: Default::default(),
            contact_phone: config.contact_phone.trim().to_string(),
        }
    }

    /// One self-referral from `ip`, or the 429 page that gives the phone number instead.
    pub fn self_referral(&self, ip: IpAddr) -> Result<(), AppError> {
        take(&self.self_referral, ip).map_err(|wait| {
            let phone = if self.contact_phone.is_empty() {
                "To ask for help now, contact your council's children's services.".to_string()
            } else {
                format!(
                    "To ask for help now, phone the early help team on {}.",
                    self.contact_phone
                )
            };
            AppError::TooManyRequests {
                paragraphs: vec![
                    "Too many requests for support have been sent from your internet connection in the last hour, so this one has not been sent.".into(),
                    "Requests sent earlier have reached the early help team.".into(),
                    phone,
                    format!("Or try again in {} minutes.", minutes(wait)),
                ],
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// One grant application from `ip`, or the 429 page.
    pub fn grant_application(&self, ip: IpAddr) -> Result<(), AppError> {
        take(&self.grant_application, ip).map_err(|wait| AppError::TooManyRequests {
            paragraphs: vec![
                "Too many grant applications have been sent from your internet connection in the last hour, so this one has not been sent.".into(),
                "Applications sent earlier have reached the grants team.".into(),
                format!("Try again in {} minutes.", minutes(wait)),
            ],
            retry_after_secs: wait.as_secs().max(1),
        })
    }

    /// One survey answer from `ip`, or the 429 page.
    pub fn survey_answer(&self, ip: IpAddr) -> Result<(), AppError> {
        self.public_voice(ip, "answers to surveys")
    }

    /// One of the public's say (a survey answer, a vote, a code to vote, a review) from `ip`,
    /// under the survey answers' limit, or the 429 page naming `what` was sent too often.
    pub fn public_voice(&self, ip: IpAddr, what: &str) -> Result<(), AppError> {
        take(&self.survey_answer, ip).map_err(|wait| AppError::TooManyRequests {
            paragraphs: vec![
                format!("Too many {what} have been sent from your internet connection in the last hour, so this one has not been sent."),
                format!("Try again in {} minutes.", minutes(wait)),
            ],
            retry_after_secs: wait.as_secs().max(1),
        })
    }

    /// Whether `ip` may try a code to vote, or the 429 page if it sent too many wrong ones.
    pub fn may_try_a_code(&self, ip: IpAddr) -> Result<(), AppError> {
        let now = std::time::Instant::now();
        let mut barred = self.barred.lock().unwrap_or_else(|e| e.into_inner());
        barred.retain(|_, until| *until > now);
        match barred.get(&ip) {
            None => Ok(()),
            Some(until) => Err(too_many_wrong_codes(*until - now)),
        }
    }

    /// A wrong code to vote from `ip`: counted; one too many is answered with the 429 page,
    /// and the address may try no code until it has waited.
    pub fn wrong_code(&self, ip: IpAddr) -> Result<(), AppError> {
        take(&self.wrong_code, ip).map_err(|wait| {
            let mut barred = self.barred.lock().unwrap_or_else(|e| e.into_inner());
            barred.insert(ip, std::time::Instant::now() + wait);
            too_many_wrong_codes(wait)
        })
    }

    /// One sign-in attempt from `ip` (whatever the account), or the 429 page.
    pub fn sign_in(&self, ip: IpAddr) -> Result<(), AppError> {
        take(&self.sign_in, ip).map_err(|wait| AppError::TooManyRequests {
            paragraphs: vec![
                "There have been too many attempts to sign in from your internet connection.".into(),
                format!(
                    "Wait {} minutes and try again. If you have forgotten your password, ask your administrator to set a new one.",
                    minutes(wait)
                ),
            ],
            retry_after_secs: wait.as_secs().max(1),
        })
    }
}

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one (read from the right, as each proxy
/// appends the address it heard from; anything further left the client could have written).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Parses `EARLYHELP_TRUSTED_PROXIES`: addresses or networks, separated by commas.
pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or network like 10.0.0.0/8"))
        })
        .collect()
}

/// The client's address, as [`client_ip`] finds it.
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn of(parts: &Parts, config: &Config) -> IpAddr {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        client_ip(peer, &parts.headers, &config.trusted_proxies)
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(ClientIp::of(parts, &state.config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn the_forwarded_header_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let trusted = parse_trusted_proxies("10.0.0.0/8, 192.0.2.1").unwrap();
        let headers = forwarded("198.51.100.1, 198.51.100.7");
        assert_eq!(client_ip(stranger, &headers, &trusted), stranger);
        assert_eq!(client_ip(proxy, &headers, &[]), proxy);
        assert_eq!(
            client_ip(proxy, &headers, &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "the nearest untrusted hop, not what the client wrote further left"
        );
        let chain = forwarded("198.51.100.1, 192.0.2.1");
        assert_eq!(
            client_ip(proxy, &chain, &trusted),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        assert!(parse_trusted_proxies("nonsense").is_err());
    }

    #[test]
    fn the_sixth_in_an_hour_is_refused_and_others_are_not() {
        let config = Config {
            self_referrals_per_hour: 5,
            ..Config::default()
        };
        let throttle = Throttle::new(&config);
        let (one, two): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        for _ in 0..5 {
            assert!(throttle.self_referral(one).is_ok());
        }
        assert!(matches!(
            throttle.self_referral(one),
            Err(AppError::TooManyRequests { .. })
        ));
        assert!(throttle.self_referral(two).is_ok());
        let off = Throttle::new(&Config {
            self_referrals_per_hour: 0,
            ..Config::default()
        });
        assert!((0..100).all(|_| off.self_referral(one).is_ok()));
    }
}

//! Indicators computed from case data: families referred into locality early help
//! (cumulative), requests for early help each month (with a breakdown by reason for request),
//! open early help cases, connections to community support made each month, and the share of
//! referrals completed each month with the need met, for the city and each locality.
//!
//! A background job beside the server calls [`refresh_if_stale`], which compares a cheap
//! fingerprint of the `support_requests`, `families` and `referrals` tables with the one stored
//! at the last refresh and recomputes only when they differ (or an hour has passed, to catch
//! what the fingerprint cannot see). The demo refreshes them once it has loaded.
//! Writes to requests and families are the cases capability's and are left alone.
//!
//! Computed values are a cache of a query over case records, which keep their own audit: they
//! are overwritten in place (revision 1) rather than kept as corrections. The month in progress
//! is provisional ([`is_provisional`]): pages show it as "so far" and chart only whole months.
//! Open cases can only be counted as they are now, so each month keeps the count of the last
//! refresh made in it; months before the first refresh have none.

use super::{CITY, Indicator, NewValue, insert_new_values};
use crate::gate::{self, Authorised};
use crate::{Db, StorageError, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::Reason;
use earlyhelp_domain::equality;
use std::collections::{BTreeMap, HashMap};

/// Families referred into locality early help, cumulative.
pub const FAMILIES_REFERRED: &str = "EH1";
/// Requests for early help received in the month.
pub const REQUESTS: &str = "EH2";
/// Open early help cases.
pub const OPEN_CASES: &str = "EH3";
/// Connections to community support (referrals sent) in the month.
pub const CONNECTIONS: &str = "EH4";
/// Of the referrals completed in the month, the share completed with the need met.
pub const CONNECTIONS_MET: &str = "EH5";
/// Families supported by community groups funded by grants, as their monitoring returns say,
/// in the month each return's period ends.
pub const GRANT_FAMILIES: &str = "EH6";
/// Children and young people named in requests received in the month, by equality group.
pub const CHILDREN: &str = "EH7";
/// The breakdown of requests by the reasons given; a request with two reasons counts in both.
pub const REASON: &str = "reason";
/// The outcome they sit under, beside the business case's own early help indicators (1.7, 1.14).
pub const OUTCOME: i32 = 1;
/// Who their values are loaded by, as the charts and downloads say.
pub const LOADED_BY: &str = "computed from case data";
/// Refresh at least this often when pages are read, even if the fingerprint is unchanged.
const AT_LEAST_EVERY_MICROS: i64 = 60 * 60 * 1_000_000;

/// The computed indicators' definitions.
pub fn definitions() -> Vec<Indicator> {
    let define = |reference: &str, name: &str| Indicator {
        reference: reference.into(),
        outcome_number: OUTCOME,
        name: name.into(),
        unit: "count".into(),
        better: "neither".into(),
        data_owner: "Early help case records".into(),
        frequency: "monthly".into(),
        source: "computed".into(),
        target: None,
        small_number_threshold: Some(5),
        public: true,
        spc_rules: "mdc".into(),
        spc_baseline: None,
    };
    vec![
        define(
            FAMILIES_REFERRED,
            "Families referred into locality early help (cumulative)",
        ),
        define(REQUESTS, "Requests for early help received in the month"),
        define(OPEN_CASES, "Open early help cases"),
        define(
            CONNECTIONS,
            "Connections to community support made in the month",
        ),
        Indicator {
            unit: "percent".into(),
            better: "higher".into(),
            ..define(
                CONNECTIONS_MET,
                "Referrals completed in the month with the need met",
            )
        },
        define(
            CHILDREN,
            "Children and young people named in requests for early help in the month",
        ),
        Indicator {
            data_owner: "Community grants monitoring returns".into(),
            ..define(
                GRANT_FAMILIES,
                "Families supported by community grants (monitoring returns)",
            )
        },
    ]
}

/// `YYYY-MM` of an instant, in UTC.
pub fn period_of(micros: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", at.year(), u8::from(at.month()))
}

/// The month in progress.
pub fn current_period() -> String {
    period_of(now_micros())
}

/// A computed indicator's value for the month in progress is still counting.
pub fn is_provisional(indicator: &Indicator, period: &str) -> bool {
    indicator.source == "computed" && period >= current_period().as_str()
}

fn next_period(period: &str) -> String {
    let (year, month) = period.split_once('-').unwrap_or(("1970", "01"));
    let (year, month): (i32, u32) = (year.parse().unwrap_or(1970), month.parse().unwrap_or(1));
    if month >= 12 {
        format!("{:04}-01", year + 1)
    } else {
        format!("{year:04}-{:02}", month + 1)
    }
}

/// Every month from `first`'s to `now`'s (at least `now`'s).
fn periods_from(first: String, now: i64) -> Vec<String> {
    let last = period_of(now);
    let mut periods = vec![first.min(last.clone())];
    while *periods.last().expect("one period") < last {
        let next = next_period(periods.last().expect("one period"));
        periods.push(next);
    }
    periods
}

/// A monitoring return as the indicators see it: where, which month, how many families.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReturnFact {
    pub locality_slug: String,
    /// `YYYY-MM-DD`: the end of the period it reports on.
    pub period_end: String,
    pub families_supported: i64,
}

/// Families supported by funded groups, month by month from the first return to `now`'s, for
/// the city and every locality, zeros included. Pure.
pub fn compute_returns(returns: &[ReturnFact], localities: &[String], now: i64) -> Vec<NewValue> {
    let month = |r: &ReturnFact| r.period_end.get(..7).unwrap_or_default().to_string();
    let Some(first) = returns.iter().map(month).min() else {
        return Vec::new();
    };
    let mut families: HashMap<(String, &str), f64> = HashMap::new();
    for r in returns {
        for area in [CITY, r.locality_slug.as_str()] {
            *families.entry((month(r), area)).or_default() += r.families_supported as f64;
        }
    }
    let periods = periods_from(first, now);
    std::iter::once(CITY)
        .chain(localities.iter().map(String::as_str))
        .flat_map(|area| {
            let families = &families;
            periods.iter().map(move |period| NewValue {
                indicator_ref: GRANT_FAMILIES.into(),
                period: period.clone(),
                area: area.into(),
                dimension: String::new(),
                group: String::new(),
                value: families
                    .get(&(period.clone(), area))
                    .copied()
                    .unwrap_or(0.0),
                denominator: None,
            })
        })
        .collect()
}

/// A request for support as the indicators see it: where, when and why, nothing about whom.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RequestFact {
    pub locality_slug: String,
    /// Reason slugs, comma-separated, as `support_requests.reasons` holds them.
    pub reasons: String,
    pub created_micros: i64,
}

/// A child named in a request, as the equality breakdowns see them: where and when the request
/// came, and the groups they are counted in; no name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ChildFact {
    pub locality_slug: String,
    pub created_micros: i64,
    pub date_of_birth: String,
    /// An ethnicity slug, or empty.
    pub ethnicity: String,
    /// A SEND slug, or empty.
    pub send: String,
}

/// Children named in requests each month from the first request's month to `now`'s, for the
/// city and every locality: in all, and by ethnic group, age band (on the request's day) and
/// SEND. Every group seen anywhere gets a value in every month and area, zeros included, so
/// each group's series charts without gaps. Pure.
pub fn compute_children(children: &[ChildFact], localities: &[String], now: i64) -> Vec<NewValue> {
    let Some(first) = children.iter().map(|c| c.created_micros).min() else {
        return Vec::new();
    };
    let periods = periods_from(period_of(first), now);
    let mut counts: HashMap<(String, &str, &str, &str), f64> = HashMap::new();
    let mut groups: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for child in children {
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(child.created_micros) * 1000,
        )
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
        let period = period_of(child.created_micros);
        let memberships = [
            ("", ""),
            ("ethnicity", equality::ethnic_group(&child.ethnicity)),
            ("age_band", equality::age_band(&child.date_of_birth, at)),
            ("send", equality::send_group(&child.send)),
        ];
        for (dimension, group) in memberships {
            groups.entry(dimension).or_default().insert(group);
            for area in [CITY, child.locality_slug.as_str()] {
                *counts
                    .entry((period.clone(), area, dimension, group))
                    .or_default() += 1.0;
            }
        }
    }
    let mut values = Vec::new();
    for area in std::iter::once(CITY).chain(localities.iter().map(String::as_str)) {
        for (dimension, groups) in &groups {
            for group in groups {
                for period in &periods {
                    values.push(NewValue {
                        indicator_ref: CHILDREN.into(),
                        period: period.clone(),
                        area: area.into(),
                        dimension: (*dimension).into(),
                        group: (*group).into(),
                        value: counts
                            .get(&(period.clone(), area, *dimension, *group))
                            .copied()
                            .unwrap_or(0.0),
                        denominator: None,
                    });
                }
            }
        }
    }
    values
}

/// A family case as the indicators see it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FamilyFact {
    pub locality_slug: String,
    pub state: String,
    pub created_micros: i64,
}

/// A referral as the indicators see it: where, when sent, when last changed, and how it
/// stands; nothing about whom.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReferralFact {
    pub locality_slug: String,
    pub created_micros: i64,
    pub updated_micros: i64,
    pub state: String,
    pub outcome: Option<String>,
}

/// The connections indicators from the first referral's month to `now`'s, for the city and
/// every locality, zeros included: referrals sent each month, and of those completed in a
/// month (by their last change), the share with the need met. Pure.
pub fn compute_connections(
    referrals: &[ReferralFact],
    localities: &[String],
    now: i64,
) -> Vec<NewValue> {
    let Some(first) = referrals.iter().map(|r| r.created_micros).min() else {
        return Vec::new();
    };
    let periods = periods_from(period_of(first), now);
    let mut sent: HashMap<(String, &str), f64> = HashMap::new();
    let mut completed: HashMap<(String, &str), (f64, f64)> = HashMap::new();
    for r in referrals {
        for area in [CITY, r.locality_slug.as_str()] {
            *sent.entry((period_of(r.created_micros), area)).or_default() += 1.0;
            if r.state == "completed" {
                let done = completed
                    .entry((period_of(r.updated_micros), area))
                    .or_default();
                done.1 += 1.0;
                if r.outcome.as_deref() == Some("met") {
                    done.0 += 1.0;
                }
            }
        }
    }
    let mut values = Vec::new();
    for area in std::iter::once(CITY).chain(localities.iter().map(String::as_str)) {
        for period in &periods {
            let value = |reference: &str, value: f64, denominator: Option<f64>| NewValue {
                indicator_ref: reference.into(),
                period: period.clone(),
                area: area.into(),
                dimension: String::new(),
                group: String::new(),
                value,
                denominator,
            };
            let count = sent.get(&(period.clone(), area)).copied().unwrap_or(0.0);
            values.push(value(CONNECTIONS, count, None));
            // A share of nothing is no value, not zero.
            if let Some((met, done)) = completed.get(&(period.clone(), area)) {
                values.push(value(CONNECTIONS_MET, 100.0 * met / done, Some(*done)));
            }
        }
    }
    values
}

/// Every computed value from the first month with a request or a family to `now`'s month, for
/// the city and every locality, zeros included (a gap would narrow SPC limits). Pure.
pub fn compute(
    requests: &[RequestFact],
    families: &[FamilyFact],
    localities: &[String],
    now: i64,
) -> Vec<NewValue> {
    let last = period_of(now);
    let first = requests
        .iter()
        .map(|r| r.created_micros)
        .chain(families.iter().map(|f| f.created_micros))
        .min()
        .map_or_else(|| last.clone(), period_of);
    let periods = periods_from(first, now);
    let areas: Vec<&str> = std::iter::once(CITY)
        .chain(localities.iter().map(String::as_str))
        .collect();
    let reasons: Vec<&str> = Reason::ALL.iter().map(|r| r.label()).collect();

    // Counts keyed by (period, area, group); the group is "" for everyone.
    let mut requested: HashMap<(String, &str, &str), f64> = HashMap::new();
    let mut referred: HashMap<(String, &str), f64> = HashMap::new();
    let mut open: HashMap<&str, f64> = HashMap::new();
    for r in requests {
        let period = period_of(r.created_micros);
        for area in [CITY, r.locality_slug.as_str()] {
            *requested.entry((period.clone(), area, "")).or_default() += 1.0;
            for reason in r.reasons.split(',').filter_map(Reason::from_slug) {
                *requested
                    .entry((period.clone(), area, reason.label()))
                    .or_default() += 1.0;
            }
        }
    }
    for f in families {
        for area in [CITY, f.locality_slug.as_str()] {
            *referred
                .entry((period_of(f.created_micros), area))
                .or_default() += 1.0;
            if f.state == "open" {
                *open.entry(area).or_default() += 1.0;
            }
        }
    }

    let value = |reference: &str, period: &str, area: &str, group: &str, v: f64| NewValue {
        indicator_ref: reference.into(),
        period: period.into(),
        area: area.into(),
        dimension: if group.is_empty() { "" } else { REASON }.into(),
        group: group.into(),
        value: v,
        denominator: None,
    };
    let mut values = Vec::new();
    for area in &areas {
        let mut cumulative = 0.0;
        for period in &periods {
            cumulative += referred
                .get(&(period.clone(), *area))
                .copied()
                .unwrap_or(0.0);
            values.push(value(FAMILIES_REFERRED, period, area, "", cumulative));
            for group in std::iter::once("").chain(reasons.iter().copied()) {
                let count = requested
                    .get(&(period.clone(), *area, group))
                    .copied()
                    .unwrap_or(0.0);
                values.push(value(REQUESTS, period, area, group, count));
            }
        }
        let now_open = open.get(area).copied().unwrap_or(0.0);
        values.push(value(OPEN_CASES, &last, area, "", now_open));
    }
    values
}

/// What the computed values depend on, cheaply: the month, how many outcomes there are (the
/// indicators need theirs), requests by locality (a transfer moves one), the newest request,
/// and families' count and latest change (a case opened, closed or reopened).
async fn fingerprint(db: &Db) -> Result<String, StorageError> {
    type Totals = (i64, i64, i64, i64);
    let (totals, by_locality) = on_pool!(db, pool => {
        let totals: Totals = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM outcomes), \
             (SELECT COALESCE(MAX(created_micros), 0) FROM support_requests), \
             (SELECT COUNT(*) FROM families), \
             (SELECT COALESCE(MAX(updated_micros), 0) FROM families) + \
             (SELECT COUNT(*) + COALESCE(MAX(updated_micros), 0) FROM referrals) + \
             (SELECT COUNT(*) FROM grant_returns)",
        )
        .fetch_one(pool)
        .await?;
        let by_locality: Vec<(String, i64)> = sqlx::query_as(
            "SELECT locality_slug, COUNT(*) FROM support_requests GROUP BY locality_slug \
             ORDER BY locality_slug",
        )
        .fetch_all(pool)
        .await?;
        (totals, by_locality)
    });
    let mut text = format!("{} {totals:?}", current_period());
    for (locality, count) in by_locality {
        text.push_str(&format!(" {locality}={count}"));
    }
    Ok(text)
}

/// Refreshes the computed indicators if the case data have changed since the last refresh;
/// answers whether it did.
pub async fn refresh_if_stale(db: &Db) -> Result<bool, StorageError> {
    let now = fingerprint(db).await?;
    let last: Option<(String, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT fingerprint, refreshed_micros FROM computed_indicators_refresh WHERE id = 1",
        )
        .fetch_optional(pool)
        .await?
    });
    let fresh = last.is_some_and(|(fingerprint, at)| {
        fingerprint == now && now_micros() - at < AT_LEAST_EVERY_MICROS
    });
    if fresh {
        return Ok(false);
    }
    refresh_with(db, &now).await?;
    Ok(true)
}

/// Recomputes every computed indicator now, in one audited transaction.
pub async fn refresh(db: &Db) -> Result<(), StorageError> {
    let now = fingerprint(db).await?;
    refresh_with(db, &now).await
}

async fn refresh_with(db: &Db, fingerprint: &str) -> Result<(), StorageError> {
    let mut authorised = gate::operator(
        db,
        "computed_indicators",
        Action::Update,
        "refresh the indicators computed from case data",
    )
    .await?;
    let tx = &mut authorised.tx;
    let has_outcome: i64 = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT COUNT(*) FROM outcomes WHERE number = $1")
            .bind(OUTCOME)
            .fetch_one(c)
            .await?
    });
    // Without the outcomes framework loaded there is nowhere to put them yet.
    if has_outcome > 0 {
        for indicator in definitions() {
            super::upsert_indicator(&mut authorised, &indicator).await?;
        }
        let tx = &mut authorised.tx;
        let (requests, families, localities) = on_tx!(tx, c => {
            let requests: Vec<RequestFact> = sqlx::query_as(
                "SELECT locality_slug, reasons, created_micros FROM support_requests",
            )
            .fetch_all(&mut *c)
            .await?;
            let families: Vec<FamilyFact> = sqlx::query_as(
                "SELECT locality_slug, state, created_micros FROM families",
            )
            .fetch_all(&mut *c)
            .await?;
            let localities: Vec<String> = sqlx::query_scalar("SELECT slug FROM localities ORDER BY slug")
                .fetch_all(&mut *c)
                .await?;
            (requests, families, localities)
        });
        let referrals: Vec<ReferralFact> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT locality_slug, created_micros, updated_micros, state, outcome FROM referrals",
            )
            .fetch_all(c)
            .await?
        });
        let returns: Vec<ReturnFact> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT a.locality_slug, r.period_end, r.families_supported FROM grant_returns r \
                 JOIN grant_applications a ON a.id = r.application_id",
            )
            .fetch_all(c)
            .await?
        });
        let children: Vec<ChildFact> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT r.locality_slug, r.created_micros, m.date_of_birth, m.ethnicity, m.send \
                 FROM request_members m JOIN support_requests r ON r.id = m.request_id \
                 WHERE m.relationship = 'child'",
            )
            .fetch_all(c)
            .await?
        });
        let now = now_micros();
        let mut values = compute(&requests, &families, &localities, now);
        values.extend(compute_children(&children, &localities, now));
        values.extend(compute_connections(&referrals, &localities, now));
        values.extend(compute_returns(&returns, &localities, now));
        save(&mut authorised, &values).await?;
    }
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO computed_indicators_refresh (id, fingerprint, refreshed_micros) \
             VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, \
             refreshed_micros = excluded.refreshed_micros",
        )
        .bind(fingerprint)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    authorised.tx.commit().await?;
    Ok(())
}

type Key = (String, String, String, String, String);

fn key_of(v: &NewValue) -> Key {
    (
        v.indicator_ref.clone(),
        v.period.clone(),
        v.area.clone(),
        v.dimension.clone(),
        v.group.clone(),
    )
}

/// Writes what differs from the current computed values: new months in one statement, changed
/// counts in place.
async fn save(authorised: &mut Authorised, values: &[NewValue]) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    type Stored = (String, String, String, String, String, f64);
    let stored: Vec<Stored> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT indicator_ref, period, area, dimension, grp, value FROM indicator_values \
             WHERE current AND indicator_ref IN (SELECT reference FROM indicators \
             WHERE source = 'computed')",
        )
        .fetch_all(c)
        .await?
    });
    let stored: BTreeMap<Key, f64> = stored
        .into_iter()
        .map(|(i, p, a, d, g, v)| ((i, p, a, d, g), v))
        .collect();
    let mut added = Vec::new();
    let at = now_micros();
    for value in values {
        match stored.get(&key_of(value)) {
            None => added.push(value.clone()),
            Some(old) if *old == value.value => {}
            Some(_) => {
                let tx = &mut authorised.tx;
                on_tx!(tx, c => {
                    sqlx::query(
                        "UPDATE indicator_values SET value = $1, loaded_micros = $2 \
                         WHERE indicator_ref = $3 AND period = $4 AND area = $5 \
                         AND dimension = $6 AND grp = $7 AND current",
                    )
                    .bind(value.value)
                    .bind(at)
                    .bind(&value.indicator_ref)
                    .bind(&value.period)
                    .bind(&value.area)
                    .bind(&value.dimension)
                    .bind(&value.group)
                    .execute(c)
                    .await?;
                });
            }
        }
    }
    if !added.is_empty() {
        insert_new_values(authorised, &added, LOADED_BY).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Microseconds at midnight UTC on the first of a month.
    fn month(year: i32, month: u8) -> i64 {
        let date = time::Date::from_calendar_date(year, month.try_into().unwrap(), 1).unwrap();
        (date.midnight().assume_utc().unix_timestamp_nanos() / 1000) as i64
    }

    fn request(locality: &str, reasons: &str, at: i64) -> RequestFact {
        RequestFact {
            locality_slug: locality.into(),
            reasons: reasons.into(),
            created_micros: at,
        }
    }

    fn family(locality: &str, state: &str, at: i64) -> FamilyFact {
        FamilyFact {
            locality_slug: locality.into(),
            state: state.into(),
            created_micros: at,
        }
    }

    fn find(values: &[NewValue], reference: &str, period: &str, area: &str, group: &str) -> f64 {
        values
            .iter()
            .find(|v| {
                v.indicator_ref == reference
                    && v.period == period
                    && v.area == area
                    && v.group == group
            })
            .unwrap_or_else(|| panic!("{reference} {period} {area} {group:?}"))
            .value
    }

    #[test]
    fn counts_by_month_area_and_reason_with_zeros_between() {
        let localities = vec!["ladywood".to_string(), "yardley".to_string()];
        let requests = [
            request("ladywood", "domestic_abuse,education", month(2026, 9) + 5),
            request("yardley", "education", month(2026, 9) + 9),
            request("ladywood", "health_wellbeing", month(2026, 11) + 1),
        ];
        let families = [
            family("ladywood", "open", month(2026, 9) + 7),
            family("yardley", "closed", month(2026, 11) + 2),
        ];
        let values = compute(&requests, &families, &localities, month(2026, 12) + 60);
        let da = Reason::DomesticAbuse.label();
        let ed = Reason::Education.label();
        assert_eq!(find(&values, REQUESTS, "2026-09", CITY, ""), 2.0);
        assert_eq!(find(&values, REQUESTS, "2026-09", "ladywood", ""), 1.0);
        assert_eq!(find(&values, REQUESTS, "2026-09", CITY, ed), 2.0);
        assert_eq!(find(&values, REQUESTS, "2026-09", "ladywood", da), 1.0);
        assert_eq!(find(&values, REQUESTS, "2026-09", "yardley", da), 0.0);
        assert_eq!(
            find(&values, REQUESTS, "2026-10", CITY, ""),
            0.0,
            "a month without requests is zero, not missing"
        );
        assert_eq!(find(&values, REQUESTS, "2026-12", CITY, ""), 0.0);
        // Cumulative families referred.
        assert_eq!(find(&values, FAMILIES_REFERRED, "2026-09", CITY, ""), 1.0);
        assert_eq!(find(&values, FAMILIES_REFERRED, "2026-10", CITY, ""), 1.0);
        assert_eq!(find(&values, FAMILIES_REFERRED, "2026-11", CITY, ""), 2.0);
        assert_eq!(
            find(&values, FAMILIES_REFERRED, "2026-12", "yardley", ""),
            1.0
        );
        // Open cases: only as they are now, in the month in progress.
        assert_eq!(find(&values, OPEN_CASES, "2026-12", CITY, ""), 1.0);
        assert_eq!(find(&values, OPEN_CASES, "2026-12", "yardley", ""), 0.0);
        assert!(
            !values
                .iter()
                .any(|v| v.indicator_ref == OPEN_CASES && v.period != "2026-12")
        );
        // Four months, three areas: the families series, seven request series, one open count.
        assert_eq!(values.len(), 3 * (4 * (1 + 1 + Reason::ALL.len()) + 1));
    }

    #[test]
    fn no_case_data_gives_zeros_for_this_month() {
        let values = compute(&[], &[], &[], month(2027, 1) + 1);
        assert!(
            values
                .iter()
                .all(|v| v.period == "2027-01" && v.value == 0.0)
        );
        assert_eq!(values.len(), 1 + 1 + Reason::ALL.len() + 1);
    }

    #[test]
    fn months_roll_over_the_year() {
        assert_eq!(next_period("2026-12"), "2027-01");
        assert_eq!(next_period("2026-09"), "2026-10");
        assert_eq!(period_of(month(2026, 12) - 1), "2026-11");
    }

    #[test]
    fn connections_a_month_and_the_share_completed_with_the_need_met() {
        let referral =
            |locality: &str, sent: i64, changed: i64, state: &str, outcome: Option<&str>| {
                ReferralFact {
                    locality_slug: locality.into(),
                    created_micros: sent,
                    updated_micros: changed,
                    state: state.into(),
                    outcome: outcome.map(str::to_string),
                }
            };
        let (oct, nov, dec) = (
            month(2026, 10) + 5,
            month(2026, 11) + 5,
            month(2026, 12) + 5,
        );
        let referrals = [
            referral("ladywood", oct, nov, "completed", Some("met")),
            referral("ladywood", oct, nov, "completed", Some("partly_met")),
            referral("erdington", oct, nov, "completed", Some("met")),
            referral("erdington", nov, nov, "declined", None),
            referral("ladywood", nov, dec, "sent", None),
        ];
        let localities = ["erdington".to_string(), "ladywood".to_string()];
        let values = compute_connections(&referrals, &localities, dec);
        assert_eq!(find(&values, CONNECTIONS, "2026-10", CITY, ""), 3.0);
        assert_eq!(find(&values, CONNECTIONS, "2026-11", "erdington", ""), 1.0);
        assert_eq!(
            find(&values, CONNECTIONS, "2026-12", CITY, ""),
            0.0,
            "zeros kept"
        );
        let met = |area| {
            values
                .iter()
                .find(|v| {
                    v.indicator_ref == CONNECTIONS_MET && v.period == "2026-11" && v.area == area
                })
                .map(|v| (v.value, v.denominator))
        };
        assert_eq!(met(CITY), Some((200.0 / 3.0, Some(3.0))));
        assert_eq!(met("ladywood"), Some((50.0, Some(2.0))));
        assert!(
            !values
                .iter()
                .any(|v| v.indicator_ref == CONNECTIONS_MET && v.period == "2026-10"),
            "no share of nothing"
        );
        assert!(compute_connections(&[], &localities, dec).is_empty());
    }

    #[test]
    fn children_count_in_each_of_their_groups_with_zeros_between() {
        let child = |locality: &str, at: i64, born: &str, ethnicity: &str, send: &str| ChildFact {
            locality_slug: locality.into(),
            created_micros: at,
            date_of_birth: born.into(),
            ethnicity: ethnicity.into(),
            send: send.into(),
        };
        let children = [
            child(
                "ladywood",
                month(2026, 9) + 5,
                "2015-03-27",
                "asian_pakistani",
                "sen_support",
            ),
            child(
                "ladywood",
                month(2026, 9) + 6,
                "2019-01-01",
                "asian_indian",
                "",
            ),
            child("yardley", month(2026, 11) + 1, "2010-12-01", "", "none"),
        ];
        let localities = vec!["ladywood".to_string(), "yardley".to_string()];
        let values = compute_children(&children, &localities, month(2026, 11) + 9);
        let get = |period: &str, area: &str, dimension: &str, group: &str| {
            values
                .iter()
                .find(|v| {
                    v.period == period
                        && v.area == area
                        && v.dimension == dimension
                        && v.group == group
                })
                .map(|v| v.value)
        };
        assert_eq!(get("2026-09", CITY, "", ""), Some(2.0));
        assert_eq!(get("2026-09", "ladywood", "ethnicity", "Asian"), Some(2.0));
        assert_eq!(
            get("2026-09", "ladywood", "age_band", "11 to 15"),
            Some(1.0)
        );
        assert_eq!(get("2026-09", "ladywood", "age_band", "5 to 10"), Some(1.0));
        assert_eq!(
            get("2026-11", "yardley", "age_band", "11 to 15"),
            Some(1.0),
            "15 until December"
        );
        assert_eq!(
            get("2026-11", "yardley", "age_band", "16 or 17"),
            None,
            "no one is 16"
        );
        assert_eq!(
            get("2026-11", "yardley", "ethnicity", equality::NOT_KNOWN),
            Some(1.0)
        );
        assert_eq!(
            get("2026-10", CITY, "ethnicity", "Asian"),
            Some(0.0),
            "zeros kept"
        );
        assert_eq!(get("2026-11", "yardley", "send", "SEN support"), Some(0.0));
        assert!(values.iter().all(|v| v.indicator_ref == CHILDREN));
        assert!(compute_children(&[], &localities, month(2026, 11)).is_empty());
    }

    #[test]
    fn monitoring_returns_count_in_the_month_their_period_ends() {
        let ret = |locality: &str, end: &str, families: i64| ReturnFact {
            locality_slug: locality.into(),
            period_end: end.into(),
            families_supported: families,
        };
        let returns = [
            ret("ladywood", "2026-01-31", 30),
            ret("ladywood", "2026-01-15", 5),
            ret("erdington", "2026-03-31", 12),
        ];
        let localities = vec!["erdington".to_string(), "ladywood".to_string()];
        let values = compute_returns(&returns, &localities, month(2026, 4));
        assert_eq!(
            find(&values, GRANT_FAMILIES, "2026-01", "ladywood", ""),
            35.0
        );
        assert_eq!(find(&values, GRANT_FAMILIES, "2026-01", CITY, ""), 35.0);
        assert_eq!(
            find(&values, GRANT_FAMILIES, "2026-02", CITY, ""),
            0.0,
            "zeros kept"
        );
        assert_eq!(find(&values, GRANT_FAMILIES, "2026-03", CITY, ""), 12.0);
        assert_eq!(values.len(), 3 * 4, "three areas, January to April");
        assert!(compute_returns(&[], &localities, month(2026, 4)).is_empty());
    }
}

//! Pseudonymised extracts of case data for analysts: one row per family, with the family's id
//! replaced by a keyed pseudonym, people by counts and age bands, and no names, addresses,
//! postcodes, dates of birth or free text. The quasi-identifiers are then made k-anonymous
//! (k = 5) by [`earlyhelp_domain::disclosure`]: generalised, and suppressed where that is not
//! enough.

use crate::gate::Authorised;
use crate::secrets::{pseudonym, random_token};
use crate::{StorageError, Tx, on_tx};
use earlyhelp_domain::cases::parse_date;
use earlyhelp_domain::disclosure::{self, Quasi, QuasiRow};
use earlyhelp_domain::sharing::age_band;
use serde::Serialize;
use std::collections::HashMap;
use time::Date;
use uuid::Uuid;

/// One family in an analyst's extract. The columns from `locality` to `reasons` are the
/// quasi-identifiers, released at the rung of generalisation the extract needed, or `*`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CaseExtractRow {
    pub pseudonym: String,
    pub locality: String,
    pub need_level: String,
    pub state: String,
    pub closure_reason: String,
    /// When the case opened: `YYYY-MM`, or generalised to `YYYY-Qn` or `YYYY`.
    pub opened: String,
    pub children: String,
    pub adults: String,
    pub youngest_age_band: String,
    /// Reason slugs of the request that opened the case, `;`-separated.
    pub reasons: String,
    /// The broad ethnic groups of the household's members (`asian;white`), as recorded.
    pub ethnic_groups: String,
    /// The most any child's special educational needs or disability asks (`ehc_plan` first).
    pub send: String,
    pub readings: usize,
    /// Mean score (1-10) of the family's first and latest readings, when there are readings, to
    /// one decimal place: each is a mean of a few whole-number scores.
    pub first_mean_score: Option<f64>,
    pub latest_mean_score: Option<f64>,
}

/// The deployment's pseudonym key, made on first use and the same ever after.
async fn pseudonym_key(tx: &mut Tx) -> Result<String, StorageError> {
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO settings (name, value) VALUES ('pseudonym_key', $1) ON CONFLICT (name) DO NOTHING")
            .bind(random_token())
            .execute(&mut *c)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = 'pseudonym_key'")
            .fetch_one(&mut *c)
            .await?)
    })
}

/// The extract and what disclosure control did to it.
#[derive(Debug, Clone)]
pub struct CaseExtract {
    pub rows: Vec<CaseExtractRow>,
    /// The smallest class of released rows (None when every row is suppressed or none exist).
    pub k: Option<usize>,
    /// Families alone in their combination of quasi-identifiers before any generalisation.
    pub unique_before: usize,
    /// Rows whose quasi-identifiers are all `*`.
    pub suppressed: usize,
    /// Each column not released as held, and how it was released.
    pub generalised: Vec<(&'static str, &'static str)>,
}

impl CaseExtractRow {
    fn quasi(&self) -> QuasiRow {
        Quasi::ALL.map(|q| {
            match q {
                Quasi::Locality => &self.locality,
                Quasi::NeedLevel => &self.need_level,
                Quasi::State => &self.state,
                Quasi::ClosureReason => &self.closure_reason,
                Quasi::Opened => &self.opened,
                Quasi::Children => &self.children,
                Quasi::Adults => &self.adults,
                Quasi::YoungestAge => &self.youngest_age_band,
                Quasi::Reasons => &self.reasons,
                Quasi::EthnicGroups => &self.ethnic_groups,
                Quasi::Send => &self.send,
            }
            .clone()
        })
    }

    fn release(&mut self, values: QuasiRow) {
        let [
            locality,
            need_level,
            state,
            closure_reason,
            opened,
            children,
            adults,
            youngest,
            reasons,
            ethnic_groups,
            send,
        ] = values;
        self.locality = locality;
        self.need_level = need_level;
        self.state = state;
        self.closure_reason = closure_reason;
        self.opened = opened;
        self.children = children;
        self.adults = adults;
        self.youngest_age_band = youngest;
        self.reasons = reasons;
        self.ethnic_groups = ethnic_groups;
        self.send = send;
    }
}

/// A family member as the extract reads them: family, relationship, date of birth, ethnicity,
/// SEND.
type MemberRow = (Uuid, String, String, String, String);

/// Every family, pseudonymised and made k-anonymous (k = 5), as of `today` (for the age bands).
pub async fn case_extract(
    authorised: &mut Authorised,
    today: Date,
) -> Result<CaseExtract, StorageError> {
    type FamilyRow = (Uuid, String, String, String, Option<String>, i64);
    type ReadingRow = (Uuid, String, i64);
    type Tables = (
        Vec<FamilyRow>,
        Vec<MemberRow>,
        Vec<(Uuid, String)>,
        Vec<ReadingRow>,
    );
    let tx = &mut authorised.tx;
    let key = pseudonym_key(tx).await?;
    let (families, members, requests, readings): Tables = on_tx!(tx, c => {
        let families = sqlx::query_as(
            "SELECT id, locality_slug, need_level, state, closure_reason, created_micros FROM families ORDER BY id",
        )
        .fetch_all(&mut *c)
        .await?;
        let members = sqlx::query_as("SELECT family_id, relationship, date_of_birth, ethnicity, send FROM family_members")
            .fetch_all(&mut *c)
            .await?;
        let requests = sqlx::query_as(
            "SELECT family_id, reasons FROM support_requests WHERE family_id IS NOT NULL ORDER BY created_micros",
        )
        .fetch_all(&mut *c)
        .await?;
        let readings = sqlx::query_as("SELECT family_id, taken_on, score FROM readings ORDER BY taken_on")
            .fetch_all(&mut *c)
            .await?;
        (families, members, requests, readings)
    });
    let mut people: HashMap<Uuid, Vec<MemberRow>> = HashMap::new();
    for member in members {
        people.entry(member.0).or_default().push(member);
    }
    let mut first_reasons: HashMap<Uuid, String> = HashMap::new();
    for (family, reasons) in requests {
        first_reasons
            .entry(family)
            .or_insert_with(|| reasons.replace(',', ";"));
    }
    // Each family's readings by date, in date order: (date, sum, count).
    let mut scores: HashMap<Uuid, Vec<(String, i64, usize)>> = HashMap::new();
    for (family, taken_on, score) in readings {
        let days = scores.entry(family).or_default();
        match days.last_mut() {
            Some((day, sum, count)) if *day == taken_on => {
                *sum += score;
                *count += 1;
            }
            _ => days.push((taken_on, score, 1)),
        }
    }
    let mean = |day: Option<&(String, i64, usize)>| {
        day.map(|(_, sum, n)| (10.0 * *sum as f64 / *n as f64).round() / 10.0)
    };
    let mut rows: Vec<CaseExtractRow> = families
        .into_iter()
        .map(
            |(id, locality, need_level, state, closure_reason, created)| {
                let members = people.remove(&id).unwrap_or_default();
                let children = members.iter().filter(|m| m.1 == "child").count();
                let youngest = members
                    .iter()
                    .filter_map(|m| parse_date(&m.2))
                    .max()
                    .map(|dob| age_band(dob, today).to_string())
                    .unwrap_or_default();
                let days = scores.remove(&id).unwrap_or_default();
                CaseExtractRow {
                    pseudonym: pseudonym(&key, id),
                    locality,
                    need_level,
                    state,
                    closure_reason: closure_reason.unwrap_or_default(),
                    opened: month_of(created),
                    adults: (members.len() - children).to_string(),
                    children: children.to_string(),
                    youngest_age_band: youngest,
                    reasons: first_reasons.remove(&id).unwrap_or_default(),
                    ethnic_groups: disclosure::ethnic_groups(members.iter().map(|m| m.3.as_str())),
                    send: disclosure::most_send(
                        members
                            .iter()
                            .filter(|m| m.1 == "child")
                            .map(|m| m.4.as_str()),
                    ),
                    readings: days.len(),
                    first_mean_score: mean(days.first()),
                    latest_mean_score: mean(days.last()),
                }
            },
        )
        .collect();
    let quasi: Vec<QuasiRow> = rows.iter().map(CaseExtractRow::quasi).collect();
    let released = disclosure::anonymise(&quasi, disclosure::K, disclosure::MAX_SUPPRESSED_SHARE);
    for (row, values) in rows.iter_mut().zip(released.rows.iter().cloned()) {
        row.release(values);
    }
    Ok(CaseExtract {
        k: released.k,
        unique_before: released.unique_before,
        suppressed: released.suppressed_count(),
        generalised: released
            .generalisations()
            .into_iter()
            .map(|(q, rung)| (q.column(), rung))
            .collect(),
        rows,
    })
}

fn month_of(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .map(|t| format!("{:04}-{:02}", t.year(), t.month() as u8))
        .unwrap_or_default()
}

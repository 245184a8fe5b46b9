//! Cohorts and outreach: a finished run's list grouped into households, each placed in its
//! locality and marked by what earlyhelp knows of it (see `earlyhelp_domain::cohorts`), and
//! outreach, which turns the households not already open into requests for support in their
//! localities' triage queues, in one transaction and never twice.
//!
//! Reads and changes pass the gate in the web layer (a cohort as `Resource::Matching`, its
//! named households as `Resource::SupportRequest` of their locality). What a cohort reads of
//! earlyhelp's records (a matched family's case state and who holds it) and each request that
//! outreach makes is written to the audit log under that record's own subject.

use crate::gate::{Authorised, NewEvent, Who, append};
use crate::{StorageError, Tx, now_micros, on_tx};
use earlyhelp_domain::access::{self, Action, Resource};
use earlyhelp_domain::cases::{MemberRole, NeedLevel, Reason, iso, parse_date};
use earlyhelp_domain::cohorts::{self, Grouping, Known, Person};
use earlyhelp_domain::nhs_number::NhsNumber;
use linkage::data::FieldKind;
use rand::seq::SliceRandom;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use time::Date;
use uuid::Uuid;

/// Rows written or asked for by one statement: well within both databases' bind limits.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CohortRow {
    pub id: Uuid,
    pub run_id: Uuid,
    pub list_id: Uuid,
    pub name: String,
    pub source: String,
    pub grouped_by: String,
    pub created_by: String,
    pub created_micros: i64,
}

impl CohortRow {
    pub fn grouping(&self) -> &'static str {
        Grouping::from_slug(&self.grouped_by).map_or("", Grouping::label)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub reference: i64,
    pub household_key: String,
    pub locality_slug: Option<String>,
    pub postcode: String,
    pub address: String,
    pub people: i64,
    pub status: String,
    pub known_to: String,
    pub request_id: Option<Uuid>,
}

impl HouseholdRow {
    pub fn known(&self) -> Known {
        Known::from_slug(&self.status).unwrap_or(Known::NotKnown)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PersonRow {
    pub household_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
    /// The 10 digits, or empty.
    pub nhs_number: String,
}

/// What a matched earlyhelp record tells of a household, and the audit subject it is read under.
#[derive(Clone)]
struct Knowledge {
    known: Known,
    known_to: String,
    subject: String,
}

/// The households' people as the list gives them: each kind's columns joined (an address's
/// house number and lines with ", "), a date of birth in ISO form where it can be read, and
/// the first NHS number that passes its check digit (one that fails is never kept).
fn people_of(headers: &[String], roles: &[String], rows: &[Vec<String>]) -> Vec<Person> {
    let columns = |kinds: &[FieldKind]| -> Vec<usize> {
        (0..roles.len())
            .filter(|&c| {
                crate::matching::kind_from_slug(&roles[c]).is_some_and(|k| kinds.contains(&k))
            })
            .collect()
    };
    let given = columns(&[FieldKind::GivenName]);
    let family = columns(&[FieldKind::FamilyName]);
    let born = columns(&[FieldKind::DateOfBirth]);
    let nhs = columns(&[FieldKind::NhsNumber]);
    let postcode = columns(&[FieldKind::Postcode]);
    let address = columns(&[FieldKind::HouseNumber, FieldKind::Address, FieldKind::Place]);
    let household = headers.iter().position(|h| cohorts::is_household_header(h));
    rows.iter()
        .map(|row| {
            let joined = |columns: &[usize], with: &str| {
                columns
                    .iter()
                    .filter_map(|&c| row.get(c).map(|v| v.trim()))
                    .filter(|v| !v.is_empty())
                    .collect::<Vec<_>>()
                    .join(with)
            };
            let written = joined(&born, " ");
            Person {
                given_name: joined(&given, " "),
                family_name: joined(&family, " "),
                date_of_birth: iso_date(&written).unwrap_or(written),
                nhs_number: nhs
                    .iter()
                    .find_map(|&c| row.get(c).and_then(|v| NhsNumber::parse(v))),
                postcode: joined(&postcode, " "),
                address: joined(&address, ", "),
                household: household
                    .and_then(|c| row.get(c))
                    .map_or_else(String::new, |v| v.trim().to_string()),
            }
        })
        .collect()
}

/// A date as the linkage engine reads it (ISO, compact or day-first), in ISO form.
fn iso_date(raw: &str) -> Option<String> {
    let d = linkage::normalise::date(raw)?;
    let month = time::Month::try_from(d.month).ok()?;
    Date::from_calendar_date(i32::from(d.year), month, d.day)
        .ok()
        .map(iso)
}

/// Makes cohort `id`, named `name`, from the finished run `run_id` of a list against
/// earlyhelp's people, under the permit for `cohort:ID`; answers how many households.
pub async fn create(
    authorised: &mut Authorised,
    who: &Who,
    id: Uuid,
    run_id: Uuid,
    name: &str,
) -> Result<usize, StorageError> {
    authorised.permit.allows_change()?;
    let run = crate::matching::run(authorised, run_id).await?;
    if run.against_list.is_some() {
        return Err(StorageError::Refused(
            "A cohort is made from a run against earlyhelp's people, not against another list"
                .into(),
        ));
    }
    if run.stage() != earlyhelp_domain::matching::Stage::Done {
        return Err(StorageError::Refused(
            "The run has not finished: a cohort is made from a finished run".into(),
        ));
    }
    let counts = crate::matching::counts(authorised, &run).await?;
    if counts.possible > 0 {
        return Err(StorageError::Refused(format!(
            "{} possible matches wait for review: decide them first, so that no household is sent a request it does not need",
            counts.possible
        )));
    }
    let tx = &mut authorised.tx;
    let taken: Option<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT id FROM cohorts WHERE name = $1")
            .bind(name)
            .fetch_optional(c)
            .await?
    });
    if taken.is_some() {
        return Err(StorageError::Refused(format!(
            "A cohort named '{name}' exists already: choose another name"
        )));
    }
    let purpose = format!(
        "case state read to make cohort {id} (matching run {run_id}, asked by {})",
        who.actor.email
    );
    let Grouped {
        list,
        people,
        grouping,
        households,
        known,
    } = grouped(authorised, &run, &purpose).await?;
    let tx = &mut authorised.tx;
    let placed = households.iter().filter(|h| h.locality.is_some()).count() as u64;
    if placed < cohorts::SUPPRESS_BELOW {
        return Err(StorageError::Refused(format!(
            "The list places fewer than {} households in the city's localities: a cohort so \
             small would point at the families in it, so none is made",
            cohorts::SUPPRESS_BELOW
        )));
    }
    // References in a random order: the list's order does not give a household away.
    let mut references: Vec<i64> = (1..=households.len() as i64).collect();
    references.shuffle(&mut rand::rng());
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO cohorts (id, run_id, list_id, name, source, grouped_by, created_by, \
             created_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(run_id)
        .bind(run.list_id)
        .bind(name)
        .bind(&list.source)
        .bind(grouping.slug())
        .bind(&who.actor.email)
        .bind(now_micros())
        .execute(c)
        .await
        // Two made at once with one name: the second is refused, not a failure.
        .map_err(|e| {
            crate::accounts::unique_violation(
                e,
                &format!("A cohort named '{name}' exists already: choose another name"),
            )
        })?;
    });
    let mut household_rows = Vec::with_capacity(households.len());
    let mut person_rows = Vec::with_capacity(people.len());
    for ((household, reference), strongest) in households.iter().zip(references).zip(&known) {
        let household_id = Uuid::now_v7();
        household_rows.push((
            household_id,
            reference,
            household,
            strongest.as_ref().map_or(Known::NotKnown, |k| k.known),
            strongest.as_ref().map_or("", |k| k.known_to.as_str()),
        ));
        for (position, &n) in household.members.iter().enumerate() {
            person_rows.push((household_id, position as i64, &people[n]));
        }
    }
    for chunk in household_rows.chunks(CHUNK / 10) {
        on_tx!(tx, c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO cohort_households (id, cohort_id, reference, household_key, \
                 locality_slug, postcode, address, people, status, known_to) ",
            );
            insert.push_values(chunk, |mut b, (hid, reference, h, known, known_to)| {
                b.push_bind(*hid)
                    .push_bind(id)
                    .push_bind(*reference)
                    .push_bind(h.key.clone())
                    .push_bind(h.locality)
                    .push_bind(h.postcode.clone())
                    .push_bind(h.address.clone())
                    .push_bind(h.members.len() as i64)
                    .push_bind(known.slug())
                    .push_bind(known_to.to_string());
            });
            insert.build().execute(&mut *c).await?;
        });
    }
    for chunk in person_rows.chunks(CHUNK / 5) {
        on_tx!(tx, c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO cohort_people (household_id, position, given_name, family_name, \
                 date_of_birth, nhs_number) ",
            );
            insert.push_values(chunk, |mut b, (hid, position, p)| {
                b.push_bind(*hid)
                    .push_bind(*position)
                    .push_bind(p.given_name.clone())
                    .push_bind(p.family_name.clone())
                    .push_bind(p.date_of_birth.clone())
                    .push_bind(p.nhs_number.as_ref().map_or("", NhsNumber::digits).to_string());
            });
            insert.build().execute(&mut *c).await?;
        });
    }
    Ok(households.len())
}

/// A run's list grouped into households, with what earlyhelp knows of each now.
struct Grouped {
    list: crate::matching::ListRow,
    people: Vec<Person>,
    grouping: Grouping,
    households: Vec<cohorts::Household>,
    /// Each household's strongest knowledge, in the order of `households`.
    known: Vec<Option<Knowledge>>,
}

/// Groups the finished run's list into households and reads what earlyhelp knows of each
/// member's match. Each earlyhelp record read is audited under its own subject, once, with
/// `purpose`, as the background read of the cohort (the operator's, as the matching worker's
/// read of earlyhelp's people is), never as the analyst reading a family the access table
/// would refuse them.
async fn grouped<P>(
    authorised: &mut Authorised<P>,
    run: &crate::matching::RunRow,
    purpose: &str,
) -> Result<Grouped, StorageError> {
    let list = crate::matching::list(authorised, run.list_id).await?;
    let rows = crate::matching::first_rows(authorised, run.list_id, list.row_count.max(0)).await?;
    let (headers, roles) = (list.headers(), list.roles());
    let people = people_of(&headers, &roles, &rows);
    let id_column = roles
        .iter()
        .position(|r| r == crate::matching::ID_ROLE)
        .unwrap_or(0);
    let row_of: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .filter_map(|(n, row)| row.get(id_column).map(|v| (v.trim(), n)))
        .collect();
    let tx = &mut authorised.tx;
    let matched: Vec<(String, String)> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT left_id, right_key FROM match_results WHERE run_id = $1 \
             AND status IN ('match', 'accepted')",
        )
        .bind(run.id)
        .fetch_all(c)
        .await?
    });
    let knowledge = knowledge(tx, matched.iter().map(|(_, key)| key.as_str())).await?;
    let mut known: Vec<Option<&Knowledge>> = vec![None; people.len()];
    for (left, key) in &matched {
        if let (Some(&n), Some(k)) = (row_of.get(left.trim()), knowledge.get(key)) {
            known[n] = Some(k);
        }
    }
    let subjects: HashSet<&str> = known.iter().flatten().map(|k| k.subject.as_str()).collect();
    let mut subjects: Vec<&str> = subjects.into_iter().collect();
    subjects.sort_unstable();
    for subject in subjects {
        append(
            tx,
            &crate::gate::operator_event(subject, Action::Read, purpose),
        )
        .await?;
    }
    let grouping = match headers.iter().any(|h| cohorts::is_household_header(h)) {
        true => Grouping::HouseholdColumn,
        false => Grouping::Address,
    };
    let households = cohorts::group(&people, grouping);
    // The strongest knowledge of a household's members wins.
    let known = households
        .iter()
        .map(|h| {
            h.members
                .iter()
                .filter_map(|&n| known[n])
                .fold(None::<&Knowledge>, |best, k| match best {
                    Some(b) if b.known.strongest(k.known) == b.known => Some(b),
                    _ => Some(k),
                })
                .cloned()
        })
        .collect();
    Ok(Grouped {
        list,
        people,
        grouping,
        households,
        known,
    })
}

/// What each matched earlyhelp record (`person:ID` or `request:ID:N`) tells of its household:
/// an open case and who holds it, a request waiting for triage, a closed case or a request
/// triaged without one.
async fn knowledge<'a>(
    tx: &mut Tx,
    keys: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Knowledge>, StorageError> {
    let mut members = Vec::new();
    let mut requests = Vec::new();
    for key in keys {
        if let Some(id) = key
            .strip_prefix("person:")
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            members.push((key, id));
        } else if let Some(id) = key
            .strip_prefix("request:")
            .and_then(|s| s.split(':').next())
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            requests.push((key, id));
        }
    }
    let localities: HashMap<String, String> = on_tx!(tx, c => {
        sqlx::query_as::<_, (String, String)>("SELECT slug, name FROM localities")
            .fetch_all(c)
            .await?
            .into_iter()
            .collect()
    });
    // A family's state, locality and the organisation of its lead practitioner.
    type Case = (Uuid, String, String, Option<String>);
    let case_known = |(family, state, locality, organisation): &Case| {
        let locality = localities.get(locality).cloned().unwrap_or_default();
        let (known, known_to) = match state.as_str() {
            "open" => (
                Known::Open,
                organisation
                    .clone()
                    .unwrap_or_else(|| format!("{locality} locality team")),
            ),
            "stepped_up" => (Known::Open, "Children's social care".to_string()),
            _ => (Known::Known, String::new()),
        };
        Knowledge {
            known,
            known_to,
            subject: format!("family:{family}"),
        }
    };
    let mut found = HashMap::new();
    for chunk in members.chunks(CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|(_, id)| *id).collect();
        let rows: Vec<(Uuid, Uuid, String, String, Option<String>)> = rows_for(
            tx,
            "SELECT m.id, f.id, f.state, f.locality_slug, o.name FROM family_members m \
             JOIN families f ON f.id = m.family_id \
             LEFT JOIN users u ON u.id = f.lead_practitioner \
             LEFT JOIN organisations o ON o.id = u.organisation_id WHERE m.id IN (",
            &ids,
        )
        .await?;
        let by_member: HashMap<Uuid, Case> = rows
            .into_iter()
            .map(|(m, f, state, locality, org)| (m, (f, state, locality, org)))
            .collect();
        for (key, id) in chunk {
            if let Some(case) = by_member.get(id) {
                found.insert(key.to_string(), case_known(case));
            }
        }
    }
    for chunk in requests.chunks(CHUNK) {
        type RequestCase = (
            Uuid,
            String,
            String,
            Option<Uuid>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let ids: Vec<Uuid> = chunk.iter().map(|(_, id)| *id).collect();
        let rows: Vec<RequestCase> = rows_for(
            tx,
            "SELECT r.id, r.status, r.locality_slug, f.id, f.state, f.locality_slug, o.name \
             FROM support_requests r LEFT JOIN families f ON f.id = r.family_id \
             LEFT JOIN users u ON u.id = f.lead_practitioner \
             LEFT JOIN organisations o ON o.id = u.organisation_id WHERE r.id IN (",
            &ids,
        )
        .await?;
        let by_request: HashMap<Uuid, RequestCase> = rows.into_iter().map(|r| (r.0, r)).collect();
        for (key, id) in chunk {
            let Some((_, status, locality, family, state, family_locality, org)) =
                by_request.get(id)
            else {
                continue;
            };
            let knowledge = match (status.as_str(), family, state, family_locality) {
                ("new", ..) => Knowledge {
                    known: Known::Waiting,
                    known_to: format!(
                        "{} triage queue",
                        localities.get(locality).cloned().unwrap_or_default()
                    ),
                    subject: format!("request:{id}"),
                },
                (_, Some(family), Some(state), Some(family_locality)) => {
                    case_known(&(*family, state.clone(), family_locality.clone(), org.clone()))
                }
                _ => Knowledge {
                    known: Known::Known,
                    known_to: String::new(),
                    subject: format!("request:{id}"),
                },
            };
            found.insert(key.to_string(), knowledge);
        }
    }
    Ok(found)
}

/// The rows of `head` (a query ending in `IN (`) for `ids`, each id bound.
async fn rows_for<T>(tx: &mut Tx, head: &str, ids: &[Uuid]) -> Result<Vec<T>, StorageError>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    Ok(on_tx!(tx, c => {
        let mut query = sqlx::QueryBuilder::new(head);
        let mut bound = query.separated(", ");
        for id in ids {
            bound.push_bind(*id);
        }
        query.push(")");
        query.build_query_as().fetch_all(&mut *c).await?
    }))
}

macro_rules! cohort_columns {
    () => {
        "id, run_id, list_id, name, source, grouped_by, created_by, created_micros"
    };
}

macro_rules! household_columns {
    () => {
        "id, reference, household_key, locality_slug, postcode, address, people, status, \
         known_to, request_id"
    };
}

/// Every cohort, newest first; those of one run when `run` is given.
pub async fn cohorts<R>(
    authorised: &mut Authorised<R>,
    run: Option<Uuid>,
) -> Result<Vec<CohortRow>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            cohort_columns!(),
            " FROM cohorts WHERE $1 IS NULL OR run_id = $1 ORDER BY created_micros DESC"
        ))
        .bind(run)
        .fetch_all(c)
        .await?
    }))
}

pub async fn cohort<R>(
    authorised: &mut Authorised<R>,
    id: Uuid,
) -> Result<CohortRow, StorageError> {
    cohort_in(&mut authorised.tx, id).await
}

async fn cohort_in(tx: &mut Tx, id: Uuid) -> Result<CohortRow, StorageError> {
    let found: Option<CohortRow> = on_tx!(tx, c => {
        sqlx::query_as(concat!("SELECT ", cohort_columns!(), " FROM cohorts WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    found.ok_or(StorageError::NotFound)
}

/// A cohort's households by reference; those of one locality when `locality` is given.
pub async fn households<R>(
    authorised: &mut Authorised<R>,
    cohort: Uuid,
    locality: Option<&str>,
) -> Result<Vec<HouseholdRow>, StorageError> {
    households_in(&mut authorised.tx, cohort, locality).await
}

async fn households_in(
    tx: &mut Tx,
    cohort: Uuid,
    locality: Option<&str>,
) -> Result<Vec<HouseholdRow>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            household_columns!(),
            " FROM cohort_households WHERE cohort_id = $1 \
             AND ($2 IS NULL OR locality_slug = $2) ORDER BY reference"
        ))
        .bind(cohort)
        .bind(locality)
        .fetch_all(c)
        .await?
    }))
}

/// The people of a cohort's households in `locality`, for those who may see their names.
pub async fn people_in_locality<R>(
    authorised: &mut Authorised<R>,
    cohort: Uuid,
    locality: &str,
) -> Result<Vec<PersonRow>, StorageError> {
    people_in(&mut authorised.tx, cohort, Some(locality)).await
}

async fn people_in(
    tx: &mut Tx,
    cohort: Uuid,
    locality: Option<&str>,
) -> Result<Vec<PersonRow>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT p.household_id, p.given_name, p.family_name, p.date_of_birth, p.nhs_number \
             FROM cohort_people p JOIN cohort_households h ON h.id = p.household_id \
             WHERE h.cohort_id = $1 AND ($2 IS NULL OR h.locality_slug = $2) \
             ORDER BY h.reference, p.position",
        )
        .bind(cohort)
        .bind(locality)
        .fetch_all(c)
        .await?
    }))
}

/// What outreach would do for each household that needs it: a new request, or none because a
/// request was made for the same household from an earlier cohort of the same source (the
/// same address; a list's own household id only within the same list, since a source may
/// reuse its ids from one month's list to the next).
pub struct Plan {
    /// Households outreach sends a request, with the locality it goes to.
    pub new: Vec<(Uuid, String)>,
    /// Households already sent one from an earlier cohort of the source, with that request.
    pub earlier: Vec<(Uuid, Uuid)>,
}

/// The outreach plan of a cohort: placed households not open, not waiting, not yet sent.
pub async fn plan<R>(authorised: &mut Authorised<R>, cohort: Uuid) -> Result<Plan, StorageError> {
    plan_in(&mut authorised.tx, cohort).await
}

async fn plan_in(tx: &mut Tx, cohort: Uuid) -> Result<Plan, StorageError> {
    let candidates: Vec<(Uuid, String, Option<Uuid>)> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT h.id, h.locality_slug, (SELECT e.request_id \
             FROM cohort_households e JOIN cohorts ec ON ec.id = e.cohort_id \
             JOIN cohorts hc ON hc.id = h.cohort_id \
             WHERE ec.source = hc.source AND e.household_key = h.household_key \
             AND (h.household_key LIKE 'address:%' OR ec.list_id = hc.list_id) \
             AND e.request_id IS NOT NULL ORDER BY e.request_id LIMIT 1) FROM cohort_households h \
             WHERE h.cohort_id = $1 AND h.locality_slug IS NOT NULL AND h.request_id IS NULL \
             AND h.status IN ('known', 'not_known') ORDER BY h.reference",
        )
        .bind(cohort)
        .fetch_all(c)
        .await?
    });
    let mut plan = Plan {
        new: Vec::new(),
        earlier: Vec::new(),
    };
    for (id, locality, earlier) in candidates {
        match earlier {
            Some(request) => plan.earlier.push((id, request)),
            None => plan.new.push((id, locality)),
        }
    }
    Ok(plan)
}

/// What outreach did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Requests made.
    pub requests: usize,
    /// Households linked to a request made from an earlier cohort of the source.
    pub earlier: usize,
    /// Households skipped: a case opened or a request arrived since the cohort was made.
    pub skipped: usize,
}

/// Why outreach is sent, in the requests' words.
pub struct Outreach<'a> {
    pub reason: Reason,
    /// The share the list came under: its purpose and DPIA reference.
    pub purpose: &'a str,
    pub dpia_reference: &'a str,
    pub today: Date,
}

/// Outreach for the permitted cohort: each household in the plan that is still not open and
/// has no request waiting (read again now, in this transaction) becomes a request for
/// support in its locality's triage queue (a household claimed by setting its request in the
/// same statement that checks it has none, so two at once never make two), each audited under
/// `request:ID`. One transaction: all or none.
pub async fn send_outreach(
    authorised: &mut Authorised,
    who: &Who,
    cohort: Uuid,
    outreach: &Outreach<'_>,
) -> Result<Sent, StorageError> {
    authorised.permit.allows_change()?;
    let row = cohort_in(&mut authorised.tx, cohort).await?;
    // What earlyhelp knows now, not when the cohort was made: a case opened or a request made
    // since is left to whoever holds it.
    let run = crate::matching::run(authorised, row.run_id).await?;
    let purpose = format!(
        "case state read again for outreach from cohort {cohort}, asked by {}",
        who.actor.email
    );
    let now = grouped(authorised, &run, &purpose).await?;
    let known_now: HashMap<&str, &Knowledge> = now
        .households
        .iter()
        .zip(&now.known)
        .filter_map(|(h, k)| k.as_ref().map(|k| (h.key.as_str(), k)))
        .collect();
    let tx = &mut authorised.tx;
    let plan = plan_in(tx, cohort).await?;
    let households: HashMap<Uuid, HouseholdRow> = households_in(tx, cohort, None)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    let mut people: HashMap<Uuid, Vec<PersonRow>> = HashMap::new();
    for person in people_in(tx, cohort, None).await? {
        people.entry(person.household_id).or_default().push(person);
    }
    let mut sent = Sent::default();
    for (household, request) in &plan.earlier {
        sent.earlier += claim(tx, *household, *request).await? as usize;
    }
    let role = access::decide(&who.actor, Action::Create, &Resource::Matching)
        .as_role
        .map_or("none", |r| r.slug());
    let requester = format!("Outreach: {}", row.name);
    let purpose = format!("outreach from cohort {cohort}");
    for (household, locality) in &plan.new {
        let Some(h) = households.get(household) else {
            continue;
        };
        if let Some(k) = known_now.get(h.household_key.as_str())
            && !k.known.needs_outreach()
        {
            set_status(tx, *household, k).await?;
            sent.skipped += 1;
            continue;
        }
        let request = Uuid::now_v7();
        if !claim(tx, *household, request).await? {
            continue;
        }
        let summary = format!(
            "Outreach: this household (household {} of the cohort '{}') is on a list from {} shared for: {} (DPIA {}). {} Nobody has asked the family yet: contact them to offer help and ask their consent before sharing further. The cohort's households in this locality: /cohorts/{cohort}/localities/{locality}",
            cohorts::reference(h.reference),
            row.name,
            row.source,
            outreach.purpose,
            outreach.dpia_reference,
            match h.known() {
                Known::Known => "earlyhelp knew the family before, with no case open now.",
                _ => "earlyhelp did not know the family.",
            },
        );
        let members = people.get(household).map_or(&[][..], Vec::as_slice);
        insert_request(
            tx, request, locality, h, members, &summary, who, &requester, outreach,
        )
        .await?;
        append(
            tx,
            &NewEvent {
                actor: &who.actor.email,
                actor_organisation: &who.organisation_name,
                actor_role: role,
                subject: &format!("request:{request}"),
                action: Action::Create.as_str(),
                purpose: &purpose,
                outcome: "allowed",
                remote_addr: &who.remote_addr,
            },
        )
        .await?;
        sent.requests += 1;
    }
    Ok(sent)
}

/// Marks a household with what earlyhelp knows of it now.
async fn set_status(tx: &mut Tx, household: Uuid, k: &Knowledge) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query("UPDATE cohort_households SET status = $1, known_to = $2 WHERE id = $3")
            .bind(k.known.slug())
            .bind(&k.known_to)
            .bind(household)
            .execute(c)
            .await?;
    });
    Ok(())
}

/// Sets a household's request if it has none; answers whether it did.
async fn claim(tx: &mut Tx, household: Uuid, request: Uuid) -> Result<bool, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query(
            "UPDATE cohort_households SET request_id = $1 WHERE id = $2 AND request_id IS NULL",
        )
        .bind(request)
        .bind(household)
        .execute(c)
        .await?
        .rows_affected()
            == 1
    }))
}

/// An outreach request: no consent yet (the share's lawful basis carries it until the family
/// is asked), its members' relationships guessed from their age for triage to correct.
#[allow(clippy::too_many_arguments)]
async fn insert_request(
    tx: &mut Tx,
    id: Uuid,
    locality: &str,
    household: &HouseholdRow,
    members: &[PersonRow],
    summary: &str,
    who: &Who,
    requester: &str,
    outreach: &Outreach<'_>,
) -> Result<(), StorageError> {
    let today = iso(outreach.today);
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO support_requests (id, locality_slug, address, postcode, reasons, need_level, \
             summary, consent_given_by, consent_method, consent_date, requested_by, requester, contact, \
             self_referral, status, created_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, FALSE, 'new', $14)",
        )
        .bind(id)
        .bind(locality)
        .bind(&household.address)
        .bind(&household.postcode)
        .bind(outreach.reason.slug())
        .bind(NeedLevel::UniversalPlus.slug())
        .bind(summary)
        .bind("Not asked yet: outreach from a shared list")
        .bind("not_asked")
        .bind(&today)
        // Nobody's "requests you sent": the analyst may hold another role too.
        .bind(None::<Uuid>)
        .bind(requester)
        .bind(&who.actor.email)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
        for (position, m) in members.iter().enumerate() {
            let relationship = match parse_date(&m.date_of_birth) {
                Some(born) if (outreach.today - born).whole_days() < 18 * 365 => MemberRole::Child,
                Some(_) => MemberRole::Parent,
                None => MemberRole::OtherAdult,
            };
            // No number from the list leaves nhs_number_missing blank, "not asked yet", as a
            // form left blank does: nobody has asked the family (docs/matching.md).
            sqlx::query(
                "INSERT INTO request_members (request_id, position, given_name, family_name, \
                 date_of_birth, relationship, nhs_number, nhs_number_missing, ethnicity, \
                 languages, send, school) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '', '', '', '', '')",
            )
            .bind(id)
            .bind(position as i64)
            .bind(&m.given_name)
            .bind(&m.family_name)
            .bind(&m.date_of_birth)
            .bind(relationship.slug())
            .bind(&m.nhs_number)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Deletes the cohorts made from list `list_id` or from a run against it (their households
/// and people), for retention: a cohort goes with its list at the list's delete-by date. The
/// requests outreach made stay: they are the localities' records now.
pub(crate) async fn delete_for_list(tx: &mut Tx, list_id: Uuid) -> Result<(), StorageError> {
    macro_rules! of_list {
        () => {
            "SELECT c.id FROM cohorts c JOIN match_runs r ON r.id = c.run_id \
             WHERE r.list_id = $1 OR r.against_list = $1"
        };
    }
    const STATEMENTS: [&str; 3] = [
        // Children first: SQLite cascades only with foreign keys on.
        concat!(
            "DELETE FROM cohort_people WHERE household_id IN (SELECT id FROM cohort_households \
             WHERE cohort_id IN (",
            of_list!(),
            "))"
        ),
        concat!(
            "DELETE FROM cohort_households WHERE cohort_id IN (",
            of_list!(),
            ")"
        ),
        concat!("DELETE FROM cohorts WHERE id IN (", of_list!(), ")"),
    ];
    for statement in STATEMENTS {
        on_tx!(tx, c => {
            sqlx::query(statement).bind(list_id).execute(c).await?;
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lists_people_are_read_by_their_columns_roles() {
        let headers: Vec<String> = [
            "ref", "hh_id", "first", "surname", "dob", "no", "street", "pc", "nhs",
        ]
        .map(String::from)
        .to_vec();
        let roles: Vec<String> = [
            "id",
            "",
            "given_name",
            "family_name",
            "date_of_birth",
            "house_number",
            "address",
            "postcode",
            "nhs_number",
        ]
        .map(String::from)
        .to_vec();
        let rows = vec![
            [
                "A1",
                "HH7",
                "Ann",
                "Lee",
                "04/03/2015",
                "10",
                "High St",
                "B1 1AA",
                "943 476 5919",
            ]
            .map(String::from)
            .to_vec(),
            [
                "A2",
                "",
                "Bo",
                "Lee",
                "not known",
                "",
                "",
                "",
                "943 476 5918",
            ]
            .map(String::from)
            .to_vec(),
        ];
        let people = people_of(&headers, &roles, &rows);
        assert_eq!(
            people[0],
            Person {
                given_name: "Ann".into(),
                family_name: "Lee".into(),
                date_of_birth: "2015-03-04".into(),
                nhs_number: NhsNumber::parse("9434765919"),
                postcode: "B1 1AA".into(),
                address: "10, High St".into(),
                household: "HH7".into(),
            }
        );
        assert_eq!(people[1].date_of_birth, "not known", "kept as written");
        assert_eq!(people[1].household, "");
        assert_eq!(
            people[1].nhs_number, None,
            "a failed check digit is left out"
        );
    }
}

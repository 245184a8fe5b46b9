//! Matching in the product: agencies' lists uploaded with the terms of their share, runs of
//! the linkage engine as jobs in a table, their results and clerical review.
//!
//! A run is claimed by one worker for a lease, in one statement (as the outbox is), and the
//! worker renews the lease as it writes its progress. A worker that dies leaves the lease to
//! run out and another claims the run and starts it again from the beginning. Results are
//! written in the one transaction that marks the run done, and only by the worker that still
//! holds it, so a run restarted never holds a dead worker's results beside its own.
//!
//! Reads and changes pass the gate in the web layer (`Resource::Matching`); the worker reads
//! earlyhelp's people as the operator, audited under the run.

use crate::encoded::{self, LinkageKey};
use crate::gate::{self, Authorised};
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::iso;
use earlyhelp_domain::limits::thousands;
use earlyhelp_domain::matching::{self, Counts, PairStatus, Stage, Terms};
use linkage::data::{Dataset, Field, FieldKind};
use linkage::input::{Table, choose_fields};
use linkage::model::Scorer;
use linkage::records::Records;
use linkage::{Progress, Settings};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use time::Date;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Reading an upload

/// The role of the column holding each record's id.
pub const ID_ROLE: &str = "id";
/// The role of an encoded column (`bf_given`, ...) of a list written by `link encode`.
pub const ENCODED_ROLE: &str = "encoded";

/// Headers taken for the id column when the list does not say.
const ID_HEADERS: &[&str] = &[
    "id",
    "ref",
    "reference",
    "recordid",
    "record",
    "clientref",
    "personref",
    "uniqueid",
];

/// A list as read from its file, before it is stored.
#[derive(Debug, Clone)]
pub struct ReadList {
    pub headers: Vec<String>,
    /// One per column: [`ID_ROLE`], a field kind's slug, or empty (not used).
    pub roles: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The slug of a field kind (`given_name`), as the roles hold it.
pub fn kind_slug(kind: FieldKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn kind_from_slug(slug: &str) -> Option<FieldKind> {
    serde_json::from_value(serde_json::Value::String(slug.to_string())).ok()
}

/// The kinds a column may be given on the preview page, in the order offered.
pub const KINDS: &[FieldKind] = &[
    FieldKind::GivenName,
    FieldKind::FamilyName,
    FieldKind::DateOfBirth,
    FieldKind::Sex,
    FieldKind::Postcode,
    FieldKind::Address,
    FieldKind::HouseNumber,
    FieldKind::Place,
    FieldKind::Phone,
    FieldKind::Email,
    FieldKind::NhsNumber,
    FieldKind::Identifier,
];

/// A kind in words.
pub fn kind_label(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::GivenName => "Given name",
        FieldKind::FamilyName => "Family name",
        FieldKind::DateOfBirth => "Date of birth",
        FieldKind::Sex => "Sex",
        FieldKind::Postcode => "Postcode",
        FieldKind::Address => "Address",
        FieldKind::HouseNumber => "House number",
        FieldKind::Place => "Town or place",
        FieldKind::Phone => "Phone",
        FieldKind::Email => "Email",
        FieldKind::NhsNumber => "NHS number",
        FieldKind::Identifier => "Other identifier",
        FieldKind::Encoded => "Encoded",
    }
}

/// Reads an uploaded CSV and recognises its columns as `earlyhelp link` does; every problem
/// names its row or column. Checks the list as [`check_list`] does.
pub fn read_list(filename: &str, bytes: &[u8]) -> Result<ReadList, Vec<String>> {
    if bytes.len() > matching::MAX_LIST_BYTES {
        return Err(vec![format!(
            "{filename}: the file is larger than {} MB; split it, or leave out columns not used for matching",
            matching::MAX_LIST_BYTES / (1024 * 1024)
        )]);
    }
    let headers = header_row(bytes).map_err(|e| vec![format!("{filename}: {e}")])?;
    check_shape(&headers, bytes).map_err(|e| vec![format!("{filename}: {e}")])?;
    let id_column = headers
        .iter()
        .position(|h| {
            let h: String = h
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_lowercase();
            ID_HEADERS.contains(&h.as_str())
        })
        .unwrap_or(0);
    let id_header = headers.get(id_column).cloned().unwrap_or_default();
    let table = Table::read(filename, bytes, &id_header).map_err(|e| vec![e.to_string()])?;
    if table.is_encoded() {
        // Every encoding must read, and every row carry the one key check, before it is kept.
        table.key_check().map_err(|e| vec![e.to_string()])?;
        if let Ok((fields, _)) = choose_fields(&[&table], &HashMap::new()) {
            table.to_dataset(&fields).map_err(|e| vec![e.to_string()])?;
        }
    }
    let mut roles = vec![String::new(); table.headers.len()];
    roles[table.id_column] = ID_ROLE.to_string();
    // Columns of no known kind are simply not used; the check below says what is missing.
    if let Ok((fields, _)) = choose_fields(&[&table], &HashMap::new()) {
        for field in fields {
            if let Some(c) = table.headers.iter().position(|h| *h == field.name) {
                roles[c] = kind_slug(field.kind);
            }
        }
    }
    let rows: Vec<Vec<String>> = table
        .records
        .iter()
        .map(|r| r.iter().map(str::to_string).collect())
        .collect();
    let list = ReadList {
        headers: table.headers,
        roles,
        rows,
    };
    let problems = check_list(filename, &list.headers, &list.roles, &list.rows);
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(problems)
    }
}

/// The header row alone, to find the id column before the whole file is read.
fn header_row(bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let headers = reader.headers().map_err(|e| match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "row 1 (the header): the text is not valid UTF-8 (save the file as UTF-8)".to_string()
        }
        _ => format!("row 1 (the header): {e}"),
    })?;
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err("the file is empty; it needs a header row and at least one record".into());
    }
    Ok(headers.iter().map(|h| h.trim().to_string()).collect())
}

/// Refuses, before the list is read into memory, a list over the limits of columns, column
/// names or records, and any cell holding a NUL or other control character (naming its row
/// and column). Streams the file once without keeping it.
fn check_shape(headers: &[String], bytes: &[u8]) -> Result<(), String> {
    if headers.len() > matching::MAX_COLUMNS {
        return Err(format!(
            "row 1 (the header): {} columns, more than the {} allowed; leave out columns not used for matching",
            headers.len(),
            matching::MAX_COLUMNS
        ));
    }
    let column = |c: usize| {
        headers
            .get(c)
            .map_or_else(|| format!("{}", c + 1), |h| format!("'{h}'"))
    };
    for (c, header) in headers.iter().enumerate() {
        if header.chars().count() > matching::MAX_HEADER_CHARS {
            return Err(format!(
                "row 1 (the header), column {}: the name is longer than {} characters",
                c + 1,
                matching::MAX_HEADER_CHARS
            ));
        }
        if header.chars().any(char::is_control) {
            return Err(format!(
                "row 1 (the header), column {}: the name holds a control character",
                c + 1
            ));
        }
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    // Other faults (such as text that is not UTF-8) are left for the full read to name.
    while let Ok(true) = reader.read_byte_record(&mut record) {
        rows += 1;
        let line = rows + 1;
        if rows > matching::MAX_ROWS {
            return Err(format!(
                "more than {} records; split the list",
                thousands(matching::MAX_ROWS)
            ));
        }
        if record.len() > matching::MAX_COLUMNS {
            return Err(format!(
                "row {line}: {} cells, more than the {} columns allowed",
                record.len(),
                matching::MAX_COLUMNS
            ));
        }
        if let Some(c) = record
            .iter()
            .position(|cell| cell.iter().any(|&b| b < 0x20 || b == 0x7f))
        {
            return Err(format!(
                "row {line}, column {}: the cell holds a control character (such as NUL or a line break); remove it",
                column(c)
            ));
        }
    }
    Ok(())
}

/// What stops a list being matched, by row or column: an id column that is missing, empty
/// or repeated, and no name or date-of-birth column.
pub fn check_list(
    filename: &str,
    headers: &[String],
    roles: &[String],
    rows: &[Vec<String>],
) -> Vec<String> {
    let mut problems = Vec::new();
    let has = |kind: FieldKind| roles.iter().any(|r| kind_from_slug(r) == Some(kind));
    if encoded::is_encoded(roles) {
        problems.extend(encoded::column_problems(filename, headers, roles));
    } else if !has(FieldKind::GivenName) && !has(FieldKind::FamilyName) {
        problems.push(format!(
            "{filename}: no column was recognised as a name (a given or family name); the columns are: {}",
            headers.join(", ")
        ));
    }
    if !has(FieldKind::DateOfBirth) && !encoded::is_encoded(roles) {
        problems.push(format!(
            "{filename}: no column was recognised as a date of birth; the columns are: {}",
            headers.join(", ")
        ));
    }
    let ids: Vec<usize> = (0..roles.len()).filter(|c| roles[*c] == ID_ROLE).collect();
    let [id] = ids[..] else {
        problems.push(format!(
            "{filename}: choose exactly one column that holds each record's id"
        ));
        return problems;
    };
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        // Row 1 is the header.
        let line = index + 2;
        let value = row.get(id).map_or("", |v| v.trim());
        if value.is_empty() {
            problems.push(format!(
                "{filename}: row {line}, column '{}': the id is empty",
                headers[id]
            ));
        } else if let Some(first) = seen.insert(value, line) {
            problems.push(format!(
                "{filename}: rows {first} and {line}, column '{}': the id '{value}' appears more than once",
                headers[id]
            ));
        }
        if problems.len() >= 10 {
            problems.push("and perhaps more: correct these first".into());
            break;
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ListRow {
    pub id: Uuid,
    pub source: String,
    pub filename: String,
    pub purpose: String,
    pub article6: String,
    pub article9: Option<String>,
    pub dpia_reference: String,
    pub delete_by: String,
    pub headers: String,
    pub roles: String,
    pub row_count: i64,
    pub uploaded_by: String,
    pub uploaded_micros: i64,
}

impl ListRow {
    pub fn headers(&self) -> Vec<String> {
        serde_json::from_str(&self.headers).unwrap_or_default()
    }

    pub fn roles(&self) -> Vec<String> {
        serde_json::from_str(&self.roles).unwrap_or_default()
    }
}

macro_rules! list_columns {
    () => {
        "id, source, filename, purpose, article6, article9, dpia_reference, delete_by, headers, \
         roles, row_count, uploaded_by, uploaded_micros"
    };
}

/// Rows inserted by one statement: three binds each, well within both databases' limits.
const ROWS_PER_INSERT: usize = 1000;

/// Stores an uploaded list and its rows under the permit for `matching:list:ID`.
pub async fn create_list(
    authorised: &mut Authorised,
    id: Uuid,
    terms: &Terms,
    filename: &str,
    list: &ReadList,
    uploaded_by: &str,
) -> Result<(), StorageError> {
    authorised.permit.allows_change()?;
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(concat!(
            "INSERT INTO match_lists (",
            list_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(id)
        .bind(&terms.source)
        .bind(filename)
        .bind(&terms.purpose)
        .bind(terms.article6.slug())
        .bind(terms.article9.map(|a| a.slug()))
        .bind(&terms.dpia_reference)
        .bind(iso(terms.delete_by))
        .bind(serde_json::to_string(&list.headers).unwrap_or_default())
        .bind(serde_json::to_string(&list.roles).unwrap_or_default())
        .bind(list.rows.len() as i64)
        .bind(uploaded_by)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
    });
    for (chunk_index, chunk) in list.rows.chunks(ROWS_PER_INSERT).enumerate() {
        let first = chunk_index * ROWS_PER_INSERT;
        on_tx!(tx, c => {
            let mut insert =
                sqlx::QueryBuilder::new("INSERT INTO match_list_rows (list_id, position, cells) ");
            insert.push_values(chunk.iter().enumerate(), |mut b, (k, row)| {
                b.push_bind(id)
                    .push_bind((first + k) as i64)
                    .push_bind(serde_json::to_string(row).unwrap_or_default());
            });
            insert.build().execute(&mut *c).await?;
        });
    }
    Ok(())
}

/// Every list, newest first.
pub async fn lists<R>(authorised: &mut Authorised<R>) -> Result<Vec<ListRow>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            list_columns!(),
            " FROM match_lists ORDER BY uploaded_micros DESC"
        ))
        .fetch_all(c)
        .await?
    }))
}

pub async fn list<R>(authorised: &mut Authorised<R>, id: Uuid) -> Result<ListRow, StorageError> {
    list_in(&mut authorised.tx, id).await
}

async fn list_in(tx: &mut Tx, id: Uuid) -> Result<ListRow, StorageError> {
    let found: Option<ListRow> = on_tx!(tx, c => {
        sqlx::query_as(concat!("SELECT ", list_columns!(), " FROM match_lists WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    found.ok_or(StorageError::NotFound)
}

/// The first `limit` rows of a list, for the preview.
pub async fn first_rows<R>(
    authorised: &mut Authorised<R>,
    id: Uuid,
    limit: i64,
) -> Result<Vec<Vec<String>>, StorageError> {
    let tx = &mut authorised.tx;
    let cells: Vec<String> = on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT cells FROM match_list_rows WHERE list_id = $1 ORDER BY position LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(c)
        .await?
    });
    Ok(cells
        .iter()
        .map(|c| serde_json::from_str(c).unwrap_or_default())
        .collect())
}

async fn all_rows(tx: &mut Tx, id: Uuid) -> Result<Vec<Vec<String>>, StorageError> {
    let cells: Vec<String> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT cells FROM match_list_rows WHERE list_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(c)
            .await?
    });
    Ok(cells
        .iter()
        .map(|c| serde_json::from_str(c).unwrap_or_default())
        .collect())
}

/// Checks corrected column roles against the list's rows; saves them if they pass, else
/// answers the problems.
pub async fn set_roles(
    authorised: &mut Authorised,
    id: Uuid,
    roles: &[String],
) -> Result<Vec<String>, StorageError> {
    authorised.permit.allows_change()?;
    let tx = &mut authorised.tx;
    let list = list_in(tx, id).await?;
    // An encoded list's columns are fixed by `link encode`: nothing to correct.
    if encoded::is_encoded(&list.roles()) {
        return Ok(Vec::new());
    }
    let headers = list.headers();
    if roles.len() != headers.len() {
        return Ok(vec!["give every column a role".into()]);
    }
    let rows = all_rows(tx, id).await?;
    let problems = check_list(&list.filename, &headers, roles, &rows);
    if problems.is_empty() {
        on_tx!(tx, c => {
            sqlx::query("UPDATE match_lists SET roles = $1 WHERE id = $2")
                .bind(serde_json::to_string(roles).unwrap_or_default())
                .bind(id)
                .execute(c)
                .await?;
        });
    }
    Ok(problems)
}

// ---------------------------------------------------------------------------------------------
// Runs

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub list_id: Uuid,
    pub against_list: Option<Uuid>,
    pub state: String,
    pub stage: String,
    pub percent: i64,
    pub claimed_by: Option<String>,
    pub lease_until_micros: Option<i64>,
    pub attempts: i64,
    pub problem: Option<String>,
    pub report: Option<String>,
    pub requested_by: String,
    pub created_micros: i64,
    pub finished_micros: Option<i64>,
}

impl RunRow {
    pub fn stage(&self) -> Stage {
        Stage::from_slug(&self.stage).unwrap_or(Stage::Queued)
    }

    pub fn finished(&self) -> bool {
        matches!(self.stage(), Stage::Done | Stage::Failed)
    }
}

macro_rules! run_columns {
    () => {
        "id, list_id, against_list, state, stage, percent, claimed_by, lease_until_micros, \
         attempts, problem, report, requested_by, created_micros, finished_micros"
    };
}

/// Queues a run of `list_id` against earlyhelp's people (`against` none) or another list.
pub async fn queue_run(
    authorised: &mut Authorised,
    id: Uuid,
    list_id: Uuid,
    against: Option<Uuid>,
    requested_by: &str,
) -> Result<(), StorageError> {
    authorised.permit.allows_change()?;
    let tx = &mut authorised.tx;
    list_in(tx, list_id).await?;
    if let Some(other) = against {
        if other == list_id {
            return Err(StorageError::Refused(
                "a list is matched against another list, not itself".into(),
            ));
        }
        list_in(tx, other).await?;
    }
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO match_runs (id, list_id, against_list, state, stage, percent, \
             requested_by, created_micros) VALUES ($1, $2, $3, 'queued', 'queued', 0, $4, $5)",
        )
        .bind(id)
        .bind(list_id)
        .bind(against)
        .bind(requested_by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn runs<R>(authorised: &mut Authorised<R>) -> Result<Vec<RunRow>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM match_runs ORDER BY created_micros DESC"
        ))
        .fetch_all(c)
        .await?
    }))
}

pub async fn run<R>(authorised: &mut Authorised<R>, id: Uuid) -> Result<RunRow, StorageError> {
    let tx = &mut authorised.tx;
    let found: Option<RunRow> = on_tx!(tx, c => {
        sqlx::query_as(concat!("SELECT ", run_columns!(), " FROM match_runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(c)
            .await?
    });
    found.ok_or(StorageError::NotFound)
}

/// A run's counts: its list's records, and what became of the pairs found.
pub async fn counts<R>(
    authorised: &mut Authorised<R>,
    run: &RunRow,
) -> Result<Counts, StorageError> {
    let tx = &mut authorised.tx;
    let (by_status, matched, records): (Vec<(String, bool, i64)>, i64, i64) = on_tx!(tx, c => {
        let by_status = sqlx::query_as(
            "SELECT status, reused, COUNT(*) FROM match_results WHERE run_id = $1 \
             GROUP BY status, reused",
        )
        .bind(run.id)
        .fetch_all(&mut *c)
        .await?;
        let matched = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT left_id) FROM match_results WHERE run_id = $1 \
             AND status IN ('match', 'possible', 'accepted')",
        )
        .bind(run.id)
        .fetch_one(&mut *c)
        .await?;
        let records = sqlx::query_scalar("SELECT row_count FROM match_lists WHERE id = $1")
            .bind(run.list_id)
            .fetch_one(&mut *c)
            .await?;
        (by_status, matched, records)
    });
    let mut counts = Counts {
        records: records as u64,
        unmatched: (records - matched).max(0) as u64,
        ..Counts::default()
    };
    for (status, reused, n) in by_status {
        let n = n as u64;
        match PairStatus::from_slug(&status) {
            Some(PairStatus::Match) => counts.matches += n,
            Some(PairStatus::Possible) => counts.possible += n,
            Some(PairStatus::Accepted) => counts.accepted += n,
            Some(PairStatus::Rejected) => counts.rejected += n,
            None => {}
        }
        if reused {
            counts.decided_before += n;
        }
    }
    Ok(counts)
}

/// One field of a pair, as the engine weighed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldWeight {
    pub field: String,
    pub level: String,
    pub left: String,
    pub right: String,
    /// In bits: positive for the pair, negative against.
    pub weight: f64,
}

/// A pair found by a run, with its explanation.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PairRow {
    pub id: Uuid,
    pub left_id: String,
    pub right_key: String,
    pub probability: f64,
    pub status: String,
    pub explanation: String,
    pub reused: bool,
    pub other_masked: String,
}

impl PairRow {
    pub fn fields(&self) -> Vec<FieldWeight> {
        serde_json::from_str(&self.explanation).unwrap_or_default()
    }
}

/// The next possible match waiting for review (likeliest first), and how many wait.
pub async fn next_possible<R>(
    authorised: &mut Authorised<R>,
    run_id: Uuid,
) -> Result<(Option<PairRow>, i64), StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        let next = sqlx::query_as(
            "SELECT id, left_id, right_key, probability, status, explanation, reused, other_masked \
             FROM match_results WHERE run_id = $1 AND status = 'possible' \
             ORDER BY probability DESC, left_id, right_key LIMIT 1",
        )
        .bind(run_id)
        .fetch_optional(&mut *c)
        .await?;
        let waiting = sqlx::query_scalar(
            "SELECT COUNT(*) FROM match_results WHERE run_id = $1 AND status = 'possible'",
        )
        .bind(run_id)
        .fetch_one(&mut *c)
        .await?;
        (next, waiting)
    }))
}

/// The audit subject of the earlyhelp record a candidate key names (`family:ID` for a family
/// member, `request:ID` for a person named on a request); `None` for another list's record.
pub async fn candidate_subject<R>(
    authorised: &mut Authorised<R>,
    right_key: &str,
) -> Result<Option<String>, StorageError> {
    if let Some(member) = right_key.strip_prefix("person:") {
        let Ok(member) = Uuid::parse_str(member) else {
            return Ok(None);
        };
        let tx = &mut authorised.tx;
        let family: Option<Uuid> = on_tx!(tx, c => {
            sqlx::query_scalar("SELECT family_id FROM family_members WHERE id = $1")
                .bind(member)
                .fetch_optional(c)
                .await?
        });
        return Ok(family.map(|f| format!("family:{f}")));
    }
    Ok(right_key
        .strip_prefix("request:")
        .and_then(|rest| rest.split(':').next())
        .map(|id| format!("request:{id}")))
}

/// Records a reviewer's decision on the possible match `pair` (the result row's own id) of
/// the run, and keeps it for later runs on the same source; the pair's records are found here,
/// never taken from the form. A pair already decided is refused (two reviewers, one pair).
pub async fn decide(
    authorised: &mut Authorised,
    run_id: Uuid,
    pair: Uuid,
    accept: bool,
    decided_by: &str,
) -> Result<(), StorageError> {
    authorised.permit.allows_change()?;
    let status = if accept {
        PairStatus::Accepted
    } else {
        PairStatus::Rejected
    };
    let tx = &mut authorised.tx;
    let found: Option<(String, String, String)> = on_tx!(tx, c => {
        let changed = sqlx::query(
            "UPDATE match_results SET status = $1 WHERE run_id = $2 AND id = $3 \
             AND status = 'possible'",
        )
        .bind(status.slug())
        .bind(run_id)
        .bind(pair)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if changed == 0 {
            None
        } else {
            sqlx::query_as(
                "SELECT l.source, m.left_id, m.right_key FROM match_results m \
                 JOIN match_runs r ON r.id = m.run_id JOIN match_lists l ON l.id = r.list_id \
                 WHERE m.id = $1",
            )
            .bind(pair)
            .fetch_optional(&mut *c)
            .await?
        }
    });
    let Some((source, left_id, right_key)) = found else {
        return Err(StorageError::Refused(
            "this pair is not waiting for review: it has been decided already".into(),
        ));
    };
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO match_decisions (source, left_id, right_key, decision, decided_by, decided_micros) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, left_id, right_key) DO UPDATE \
             SET decision = excluded.decision, decided_by = excluded.decided_by, \
             decided_micros = excluded.decided_micros",
        )
        .bind(&source)
        .bind(&left_id)
        .bind(&right_key)
        .bind(status.slug())
        .bind(decided_by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The worker

/// How long a claim lasts without renewal: a worker renews it with each progress report, so a
/// run is taken over this long after its worker died.
pub const LEASE_MICROS: i64 = 60 * 1_000_000;
/// A run tried this many times without finishing is failed rather than tried again.
pub const MAX_ATTEMPTS: i64 = 3;

/// Claims the oldest run that is queued, or running on a lease that has run out, for
/// `holder` until `now + lease`. One statement, so two servers never claim the same run.
pub async fn claim(
    db: &Db,
    holder: &str,
    now: i64,
    lease: i64,
) -> Result<Option<RunRow>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(
            "UPDATE match_runs SET state = 'running', stage = 'reading', percent = 1, \
             claimed_by = $1, lease_until_micros = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM match_runs WHERE state = 'queued' \
             OR (state = 'running' AND lease_until_micros < $3) ORDER BY created_micros LIMIT 1) \
             AND (state = 'queued' OR (state = 'running' AND lease_until_micros < $3)) RETURNING ",
            run_columns!()
        ))
        .bind(holder)
        .bind(now + lease)
        .bind(now)
        .fetch_optional(pool)
        .await?
    }))
}

/// Writes progress and renews the lease, if `holder` still holds the run; answers whether it
/// does.
pub async fn report_progress(
    db: &Db,
    run_id: Uuid,
    holder: &str,
    stage: Stage,
    percent: u8,
) -> Result<bool, StorageError> {
    let changed = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE match_runs SET stage = $1, percent = $2, lease_until_micros = $3 \
             WHERE id = $4 AND claimed_by = $5 AND state = 'running'",
        )
        .bind(stage.slug())
        .bind(i64::from(percent))
        .bind(now_micros() + LEASE_MICROS)
        .bind(run_id)
        .bind(holder)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

/// Marks the run failed with `problem`, if `holder` still holds it.
async fn fail(db: &Db, run_id: Uuid, holder: &str, problem: &str) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query(
            "UPDATE match_runs SET state = 'failed', stage = 'failed', percent = 100, problem = $1, \
             finished_micros = $2 WHERE id = $3 AND claimed_by = $4 AND state = 'running'",
        )
        .bind(problem)
        .bind(now_micros())
        .bind(run_id)
        .bind(holder)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// A pair as the worker found it, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub left_id: String,
    pub right_key: String,
    pub probability: f64,
    pub status: PairStatus,
    pub reused: bool,
    pub fields: Vec<FieldWeight>,
    /// earlyhelp's person masked (empty for another list's record).
    pub other_masked: String,
}

/// What the engine reported, kept with the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EngineReport {
    pub records_left: usize,
    pub records_right: usize,
    pub fields: Vec<String>,
    pub candidate_pairs: u64,
    pub seconds: Vec<(String, f64)>,
}

/// Stores the run's results and marks it done, in one transaction, if `holder` still holds
/// it; answers whether it did. Any results already stored for the run are replaced.
pub async fn finish(
    db: &Db,
    run_id: Uuid,
    holder: &str,
    found: &[Found],
    report: &EngineReport,
) -> Result<bool, StorageError> {
    let mut tx = db.begin().await?;
    let held = on_tx!(&mut tx, c => {
        sqlx::query(
            "UPDATE match_runs SET state = 'done', stage = 'done', percent = 100, report = $1, \
             finished_micros = $2 WHERE id = $3 AND claimed_by = $4 AND state = 'running'",
        )
        .bind(serde_json::to_string(report).unwrap_or_default())
        .bind(now_micros())
        .bind(run_id)
        .bind(holder)
        .execute(&mut *c)
        .await?
        .rows_affected()
            == 1
    });
    if !held {
        return Ok(false);
    }
    on_tx!(&mut tx, c => {
        sqlx::query("DELETE FROM match_results WHERE run_id = $1")
            .bind(run_id)
            .execute(&mut *c)
            .await?;
    });
    for chunk in found.chunks(ROWS_PER_INSERT / 2) {
        on_tx!(&mut tx, c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO match_results (id, run_id, left_id, right_key, probability, status, \
                 explanation, reused, other_masked) ",
            );
            insert.push_values(chunk, |mut b, f| {
                b.push_bind(Uuid::now_v7())
                    .push_bind(run_id)
                    .push_bind(f.left_id.clone())
                    .push_bind(f.right_key.clone())
                    .push_bind(f.probability)
                    .push_bind(f.status.slug())
                    .push_bind(serde_json::to_string(&f.fields).unwrap_or_default())
                    .push_bind(f.reused)
                    .push_bind(f.other_masked.clone());
            });
            insert.build().execute(&mut *c).await?;
        });
    }
    tx.commit().await?;
    Ok(true)
}

/// One side of a run: record ids (or keys) and the values of each kind.
pub(crate) struct Side {
    pub(crate) keys: Vec<String>,
    /// Per kind present: the value of each record.
    pub(crate) values: HashMap<FieldKind, Vec<String>>,
}

impl Side {
    /// Record `row` masked, as a reviewer may see earlyhelp's people: initials, year of birth
    /// and postcode district only (never the name, date of birth or address).
    fn masked(&self, row: usize) -> String {
        let value = |kind| self.values.get(&kind).map_or("", |v| v[row].trim());
        let initial = |s: &str| {
            s.chars()
                .next()
                .map(|c| format!("{}.", c.to_uppercase()))
                .unwrap_or_default()
        };
        let initials = format!(
            "{}{}",
            initial(value(FieldKind::GivenName)),
            initial(value(FieldKind::FamilyName))
        );
        let year = value(FieldKind::DateOfBirth)
            .get(..4)
            .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("unknown");
        let postcode: String = value(FieldKind::Postcode)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        // The outward code: all but the last three characters of a full postcode.
        let district = match postcode.len() {
            5.. => postcode[..postcode.len() - 3].to_string(),
            _ => "unknown".to_string(),
        };
        format!("initials {initials}, born {year}, postcode district {district}")
    }

    pub(crate) fn kinds(&self) -> HashSet<FieldKind> {
        self.values.keys().copied().collect()
    }

    /// The dataset of the shared kinds, in [`KINDS`] order.
    pub(crate) fn dataset(&self, fields: &[Field]) -> Dataset {
        let mut data = Dataset::new(fields.to_vec());
        let columns: Vec<&Vec<String>> = fields.iter().map(|f| &self.values[&f.kind]).collect();
        let mut values: Vec<&str> = Vec::with_capacity(fields.len());
        for (row, key) in self.keys.iter().enumerate() {
            values.clear();
            values.extend(columns.iter().map(|c| c[row].as_str()));
            if data.push(key, &values).is_err() {
                // A value the engine cannot read (a mistyped date) counts as missing.
                let fallback: Vec<&str> = fields
                    .iter()
                    .zip(&values)
                    .map(|(f, v)| match f.kind {
                        FieldKind::DateOfBirth => "",
                        _ => v,
                    })
                    .collect();
                let _ = data.push(key, &fallback);
            }
        }
        data
    }
}

/// A list as one side: each kind's columns joined (address lines with ", ").
fn list_side(list: &ListRow, rows: &[Vec<String>], fold_house_number: bool) -> Side {
    let roles = list.roles();
    let id = roles.iter().position(|r| r == ID_ROLE).unwrap_or(0);
    let mut by_kind: HashMap<FieldKind, Vec<usize>> = HashMap::new();
    for (column, role) in roles.iter().enumerate() {
        if let Some(kind) = kind_from_slug(role) {
            let kind = match kind {
                FieldKind::HouseNumber if fold_house_number => FieldKind::Address,
                other => other,
            };
            by_kind.entry(kind).or_default().push(column);
        }
    }
    let cell = |row: &Vec<String>, c: usize| row.get(c).map_or("", |v| v.trim()).to_string();
    let values = by_kind
        .into_iter()
        .map(|(kind, columns)| {
            let joiner = if kind == FieldKind::Address {
                ", "
            } else {
                " "
            };
            let values = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .map(|c| cell(row, *c))
                        .filter(|v| !v.is_empty())
                        .collect::<Vec<_>>()
                        .join(joiner)
                })
                .collect();
            (kind, values)
        })
        .collect();
    Side {
        keys: rows.iter().map(|r| cell(r, id)).collect(),
        values,
    }
}

type PersonLine = (String, String, String, String, String, String);

/// earlyhelp's people as one side: family members (`person:ID`) and the members of requests
/// for support (`request:ID:N`), with their household's postcode and address.
async fn people_side(tx: &mut Tx) -> Result<Side, StorageError> {
    type Member = (Uuid, String, String, String, String, String, String);
    type RequestMember = (Uuid, i64, String, String, String, String, String, String);
    let (members, request_members): (Vec<Member>, Vec<RequestMember>) = on_tx!(tx, c => {
        let members = sqlx::query_as(
            "SELECT m.id, m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address, \
             m.nhs_number \
             FROM family_members m JOIN families f ON f.id = m.family_id \
             WHERE NOT f.consent_withdrawn ORDER BY m.id",
        )
        .fetch_all(&mut *c)
        .await?;
        let request_members = sqlx::query_as(
            "SELECT r.request_id, r.position, r.given_name, r.family_name, r.date_of_birth, \
             s.postcode, s.address, r.nhs_number FROM request_members r \
             JOIN support_requests s ON s.id = r.request_id \
             WHERE NOT EXISTS (SELECT 1 FROM families f WHERE f.id = s.family_id \
             AND f.consent_withdrawn) ORDER BY r.request_id, r.position",
        )
        .fetch_all(&mut *c)
        .await?;
        (members, request_members)
    });
    let mut keys = Vec::with_capacity(members.len() + request_members.len());
    let mut lines: Vec<PersonLine> = Vec::with_capacity(keys.capacity());
    for (id, given, family, born, postcode, address, nhs) in members {
        keys.push(format!("person:{id}"));
        lines.push((given, family, born, postcode, address, nhs));
    }
    for (id, position, given, family, born, postcode, address, nhs) in request_members {
        keys.push(format!("request:{id}:{position}"));
        lines.push((given, family, born, postcode, address, nhs));
    }
    let column = |pick: fn(&PersonLine) -> &String| lines.iter().map(|l| pick(l).clone()).collect();
    let values = HashMap::from([
        (FieldKind::GivenName, column(|l| &l.0)),
        (FieldKind::FamilyName, column(|l| &l.1)),
        (FieldKind::DateOfBirth, column(|l| &l.2)),
        (FieldKind::Postcode, column(|l| &l.3)),
        (FieldKind::Address, column(|l| &l.4)),
        (FieldKind::NhsNumber, column(|l| &l.5)),
    ]);
    Ok(Side { keys, values })
}

/// Claims a due run, if there is one, and runs it to the end; answers whether one was run.
pub async fn work_once(
    db: &Db,
    holder: &str,
    key: Option<&LinkageKey>,
) -> Result<bool, StorageError> {
    let Some(run) = claim(db, holder, now_micros(), LEASE_MICROS).await? else {
        return Ok(false);
    };
    if run.attempts > MAX_ATTEMPTS {
        fail(
            db,
            run.id,
            holder,
            "the run stopped before it finished three times; ask for help",
        )
        .await?;
        return Ok(true);
    }
    if let Err(problem) = execute(db, &run, holder, key).await {
        tracing::warn!(run = %run.id, %problem, "a matching run failed");
        fail(db, run.id, holder, &problem).await?;
    }
    Ok(true)
}

/// Reads both sides, runs the engine with progress, and stores the results.
async fn execute(
    db: &Db,
    run: &RunRow,
    holder: &str,
    key: Option<&LinkageKey>,
) -> Result<(), String> {
    let text = |e: StorageError| e.to_string();
    let subject = format!("matching:run:{}", run.id);
    let purpose = match run.against_list {
        None => "match an uploaded list against earlyhelp's people",
        Some(_) => "match an uploaded list against another uploaded list",
    };
    // The access is audited and committed first; the bulk reading runs in its own read-only
    // snapshot, not holding the audit chain's lock.
    let authorised = gate::operator(db, &subject, Action::Read, purpose)
        .await
        .map_err(text)?;
    authorised.tx.commit().await.map_err(text)?;
    let reading = async {
        let mut snapshot = db.begin_read().await.map_err(text)?;
        let tx = &mut snapshot;
        let list = list_in(tx, run.list_id).await.map_err(text)?;
        let rows = all_rows(tx, run.list_id).await.map_err(text)?;
        let (right, right_source) = match run.against_list {
            None => (people_side(tx).await.map_err(text)?, None),
            Some(other) => {
                let other_list = list_in(tx, other).await.map_err(text)?;
                let other_rows = all_rows(tx, other).await.map_err(text)?;
                let has_number = other_list
                    .roles()
                    .iter()
                    .any(|r| kind_from_slug(r) == Some(FieldKind::HouseNumber));
                (
                    list_side(&other_list, &other_rows, !has_number),
                    Some(other_list.source),
                )
            }
        };
        let decisions: Vec<(String, String, String)> = on_tx!(tx, c => {
            sqlx::query_as(
                "SELECT left_id, right_key, decision FROM match_decisions WHERE source = $1",
            )
            .bind(&list.source)
            .fetch_all(c)
            .await
            .map_err(|e| e.to_string())?
        });
        snapshot.commit().await.map_err(text)?;
        Ok((list, rows, right, right_source, decisions))
    };
    let (list, rows, right, right_source, decisions) =
        renewing(db, run.id, holder, Stage::Reading, reading).await?;
    let decided: HashMap<(String, String), bool> = decisions
        .into_iter()
        .map(|(l, r, d)| ((l, r), d == PairStatus::Accepted.slug()))
        .collect();
    let right_prefix = right_source.map(|s| format!("list:{s}:"));

    let progress = Arc::new(Progress::default());
    let worker = if encoded::is_encoded(&list.roles()) {
        // earlyhelp's people are encoded with the server's key inside this job and the
        // encodings dropped with it: never stored.
        let key = encoded::key_for_run(run, &list, &rows, key)?;
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || {
            encoded::match_encoded(&list, &rows, &right, &key, &progress)
        })
    } else {
        let left = list_side(
            &list,
            &rows,
            !right.kinds().contains(&FieldKind::HouseNumber),
        );
        drop(rows);
        let shared = left.kinds();
        let fields: Vec<Field> = KINDS
            .iter()
            .filter(|k| shared.contains(k) && right.kinds().contains(k))
            .map(|&kind| Field {
                name: kind_label(kind).to_lowercase(),
                kind,
            })
            .collect();
        let progress = progress.clone();
        let mask = run.against_list.is_none();
        tokio::task::spawn_blocking(move || match_sides(&left, &right, &fields, mask, &progress))
    };
    let outcome = watch(db, run.id, holder, &progress, worker).await?;
    let (pairs, report) = outcome?;
    let found: Vec<Found> = pairs
        .into_iter()
        .filter_map(|(left_id, right_id, probability, fields, other_masked)| {
            let right_key = match &right_prefix {
                Some(prefix) => format!("{prefix}{right_id}"),
                None => right_id,
            };
            let prior = decided.get(&(left_id.clone(), right_key.clone())).copied();
            let status = matching::status_of(probability, prior)?;
            Some(Found {
                left_id,
                right_key,
                probability,
                status,
                reused: prior.is_some(),
                fields,
                other_masked,
            })
        })
        .collect();
    let saving = async {
        finish(db, run.id, holder, &found, &report)
            .await
            .map_err(text)
    };
    let stored = renewing(db, run.id, holder, Stage::Clustering, saving).await?;
    if !stored {
        tracing::warn!(run = %run.id, "another server took over this matching run");
    }
    Ok(())
}

const TAKEN_OVER: &str = "another server took over this matching run";

/// Runs `work` (reading both sides, saving the results), renewing the lease twice a second at
/// `stage` so a long read or save is not taken for a dead worker; gives up if the run has been
/// taken over.
async fn renewing<T>(
    db: &Db,
    run_id: Uuid,
    holder: &str,
    stage: Stage,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let mut work = std::pin::pin!(work);
    let mut every = tokio::time::interval(Duration::from_millis(500));
    every.tick().await;
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = every.tick() => {
                let percent = if stage == Stage::Reading { 0 } else { 99 };
                if let Ok(false) = report_progress(db, run_id, holder, stage, percent).await {
                    return Err(TAKEN_OVER.into());
                }
            }
        }
    }
}

/// Reports progress twice a second while the engine works; answers its result. A run that
/// another server has taken over is left to it: its results will not be stored.
async fn watch<T>(
    db: &Db,
    run_id: Uuid,
    holder: &str,
    progress: &Progress,
    mut worker: tokio::task::JoinHandle<T>,
) -> Result<T, String> {
    let mut every = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            result = &mut worker => {
                if progress.cancelled.load(Ordering::Relaxed) {
                    return Err(TAKEN_OVER.into());
                }
                return result.map_err(|e| format!("the matching engine stopped: {e}"));
            }
            _ = every.tick() => {
                let stage = match progress.total.load(Ordering::Relaxed) {
                    0 => Stage::Blocking,
                    _ => match progress.stage.load(Ordering::Relaxed) {
                        linkage::pipeline::stage::BLOCKING => Stage::Blocking,
                        linkage::pipeline::stage::TRAINING => Stage::Training,
                        linkage::pipeline::stage::SCORING => Stage::Scoring,
                        _ => Stage::Clustering,
                    },
                };
                let percent = matching::percent(
                    stage,
                    progress.done.load(Ordering::Relaxed),
                    progress.total.load(Ordering::Relaxed),
                );
                match report_progress(db, run_id, holder, stage, percent).await {
                    // Taken over: stop the engine early; the result is not stored.
                    Ok(false) => progress.cancelled.store(true, Ordering::Relaxed),
                    Ok(true) => {}
                    Err(error) => tracing::warn!(%error, "writing a matching run's progress failed"),
                }
            }
        }
    }
}

/// Left id, right id, probability, each field's weight, and the right record masked.
pub(crate) type Pair = (String, String, f64, Vec<FieldWeight>, String);

/// The engine's run over two sides (blocking work): pairs at or above the possible-match
/// threshold, each with its explanation, and the report.
fn match_sides(
    left: &Side,
    right: &Side,
    fields: &[Field],
    mask_right: bool,
    progress: &Progress,
) -> Result<(Vec<Pair>, EngineReport), String> {
    if fields.is_empty() {
        return Err(
            "the two sides have no kind of column in common (names, date of birth, address)".into(),
        );
    }
    let (left_data, right_data) = (left.dataset(fields), right.dataset(fields));
    if right_data.is_empty() {
        return Err("there is nobody on the other side to match against".into());
    }
    let outcome = run_engine(&left_data, &right_data, fields, progress)?;
    let shown = match mask_right {
        true => Shown::MaskedRight(right),
        false => Shown::Both,
    };
    Ok(explained(&outcome, &left_data, &right_data, fields, &shown))
}

/// The engine with the product's settings: pairs down to the possible-match threshold.
pub(crate) fn run_engine(
    left: &Dataset,
    right: &Dataset,
    fields: &[Field],
    progress: &Progress,
) -> Result<linkage::Outcome, String> {
    let mut settings = Settings::for_fields(fields);
    settings.threshold = matching::POSSIBLE;
    linkage::run(left, Some(right), &settings, None, progress).map_err(|e| e.to_string())
}

/// Which values of a pair are kept with its explanation.
pub(crate) enum Shown<'a> {
    /// Both records' values (two uploaded lists).
    Both,
    /// The list's values; earlyhelp's person masked, from this side (never stored in full).
    MaskedRight(&'a Side),
    /// No values on either side (an encoded list has none); earlyhelp's person masked.
    Encoded(&'a Side),
}

/// Each pair with its explanation (field, level and weight), and the run's report.
pub(crate) fn explained(
    outcome: &linkage::Outcome,
    left_data: &Dataset,
    right_data: &Dataset,
    fields: &[Field],
    shown: &Shown,
) -> (Vec<Pair>, EngineReport) {
    let records = Records::new(left_data, Some(right_data));
    let scorer = Scorer::new(&outcome.model, &records);
    let pairs = outcome
        .pairs
        .iter()
        .map(|p| {
            let (i, j) = (p.left as usize, p.right as usize);
            let explained = scorer.explain(i, j);
            let weights = explained
                .contributions
                .into_iter()
                .map(|c| FieldWeight {
                    field: c.comparison,
                    level: c.level,
                    left: match shown {
                        Shown::Encoded(_) => ENCODED_VALUE.into(),
                        _ => c.left.unwrap_or_default(),
                    },
                    // earlyhelp's people are never shown or stored in full.
                    right: match shown {
                        Shown::Both => c.right.unwrap_or_default(),
                        _ => String::new(),
                    },
                    weight: (c.weight * 10.0).round() / 10.0,
                })
                .collect();
            (
                left_data.ids[i].clone(),
                right_data.ids[j].clone(),
                f64::from(p.probability),
                weights,
                match shown {
                    Shown::MaskedRight(side) | Shown::Encoded(side) => side.masked(j),
                    Shown::Both => String::new(),
                },
            )
        })
        .collect();
    let report = EngineReport {
        records_left: left_data.len(),
        records_right: right_data.len(),
        fields: fields.iter().map(|f| f.name.clone()).collect(),
        candidate_pairs: outcome.report.candidate_pairs,
        seconds: outcome
            .report
            .timings
            .iter()
            .map(|t| (t.stage.to_string(), t.seconds))
            .collect(),
    };
    (pairs, report)
}

/// What the review shows for an encoded list's value: there is none to show.
const ENCODED_VALUE: &str = "encoded (no value)";

// ---------------------------------------------------------------------------------------------
// Retention

/// Deletes every list whose delete-by date has come (with its rows, the runs on it and their
/// results) unless a legal hold is on it, each with an audit event; answers those deleted.
/// Review decisions, which hold ids only, are kept for later runs on the same source while a
/// list of that source is held, and deleted with its last list.
pub async fn delete_due(
    authorised: &mut Authorised,
    today: Date,
    apply: bool,
) -> Result<Vec<(Uuid, String)>, StorageError> {
    let tx = &mut authorised.tx;
    let due: Vec<(Uuid, String)> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT l.id, l.source FROM match_lists l WHERE l.delete_by <= $1 AND NOT EXISTS \
             (SELECT 1 FROM legal_holds h WHERE h.record_kind = 'match_list' \
             AND h.record_id = l.id AND h.lifted_micros IS NULL) ORDER BY l.id",
        )
        .bind(iso(today))
        .fetch_all(c)
        .await?
    });
    if !apply {
        return Ok(due);
    }
    for (id, source) in &due {
        gate::operator_also(
            authorised,
            &format!("matching:list:{id}"),
            Action::Update,
            "retention: delete an uploaded list at its delete-by date",
        )
        .await?;
        let tx = &mut authorised.tx;
        // The cohorts made from the list go with it.
        crate::cohorts::delete_for_list(tx, *id).await?;
        on_tx!(tx, c => {
            // Explicitly, children first: SQLite cascades only with foreign keys on.
            sqlx::query(
                "DELETE FROM match_results WHERE run_id IN \
                 (SELECT id FROM match_runs WHERE list_id = $1 OR against_list = $1)",
            )
            .bind(id)
            .execute(&mut *c)
            .await?;
            sqlx::query("DELETE FROM match_runs WHERE list_id = $1 OR against_list = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
            sqlx::query("DELETE FROM match_list_rows WHERE list_id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
            sqlx::query("DELETE FROM match_lists WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
            // The source's review decisions go with its last list: kept only while a list
            // of the source is held under its terms.
            sqlx::query(
                "DELETE FROM match_decisions WHERE source = $1 \
                 AND NOT EXISTS (SELECT 1 FROM match_lists WHERE source = $1)",
            )
            .bind(source)
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(due)
}

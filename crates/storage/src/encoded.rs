//! Privacy-preserving matching in the product (issue 14; docs/matching.md, "Encoded lists"):
//! an agency encodes its list with `earlyhelp link encode` and a key shared out of band, and
//! uploads only the encodings; the matching job encodes earlyhelp's people with the server's
//! copy of the key, matches on the encodings, and keeps only the agency's ids with the results.
//!
//! The key is the server's alone: read from a file or the environment at start-up, held in
//! memory as a keyed hash (the raw bytes are dropped once read), never written to the database
//! or a log; its `Debug` shows neither. The key check value `link encode` writes in every row
//! tells a list encoded with another key apart, at upload and again at the run.

use crate::gate::Authorised;
use crate::matching::EngineReport;
use crate::matching::{
    ENCODED_ROLE, ID_ROLE, ListRow, Pair, RunRow, Shown, Side, explained, run_engine,
};
use crate::{StorageError, on_tx};
use linkage::Progress;
use linkage::bloom::{ENCODED_PREFIX, Encoder, KEY_CHECK_COLUMN};
use linkage::data::{Dataset, Field, FieldKind};
use std::sync::Arc;
use uuid::Uuid;

/// The server's linkage key.
#[derive(Clone)]
pub struct LinkageKey {
    encoder: Arc<Encoder>,
    check: String,
}

impl LinkageKey {
    /// From the key's bytes, trailing whitespace (a newline at the end of a key file) left
    /// out as `earlyhelp link encode --key-file` leaves it out, so one file serves both.
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        let encoder = Encoder::new(bytes.trim_ascii_end())?;
        let check = encoder.key_check();
        Ok(LinkageKey {
            encoder: Arc::new(encoder),
            check,
        })
    }

    /// The key's check value, as `link encode` writes it in the [`KEY_CHECK_COLUMN`].
    pub fn check(&self) -> &str {
        &self.check
    }
}

/// Neither the key nor anything made from it is printed.
impl std::fmt::Debug for LinkageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkageKey(set, not shown)")
    }
}

/// Whether a list's columns are encodings (written by `link encode`).
pub fn is_encoded(roles: &[String]) -> bool {
    roles.iter().any(|r| r == ENCODED_ROLE)
}

/// What stops an encoded list being matched, by column: it needs an encoded name and date of
/// birth, as a list in the clear needs a name and a date of birth.
pub fn column_problems(filename: &str, headers: &[String], roles: &[String]) -> Vec<String> {
    let has = |group: &str| {
        headers
            .iter()
            .zip(roles)
            .any(|(h, r)| r == ENCODED_ROLE && h.strip_prefix(ENCODED_PREFIX) == Some(group))
    };
    let mut problems = Vec::new();
    if !has("given") && !has("family") {
        problems.push(format!(
            "{filename}: the encoded list has no encoded name (a column bf_given or bf_family); the columns are: {}",
            headers.join(", ")
        ));
    }
    if !has("birth") {
        problems.push(format!(
            "{filename}: the encoded list has no encoded date of birth (a column bf_birth); the columns are: {}",
            headers.join(", ")
        ));
    }
    problems
}

/// The key check value of a list's rows (every row holds the same; `read_list` checked).
fn list_key_check<'a>(headers: &[String], rows: &'a [Vec<String>]) -> Option<&'a str> {
    let column = headers.iter().position(|h| h == KEY_CHECK_COLUMN)?;
    rows.first()
        .and_then(|row| row.get(column))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether an encoded list can be matched with the server's key: a key is set, the list
/// carries a key check value, and the two agree. The problem in plain words otherwise.
pub fn key_problem(
    filename: &str,
    headers: &[String],
    rows: &[Vec<String>],
    key: Option<&LinkageKey>,
) -> Option<String> {
    let Some(key) = key else {
        return Some(format!("{filename}: {NO_KEY}"));
    };
    match list_key_check(headers, rows) {
        None => Some(format!(
            "{filename}: the encoded list has no {KEY_CHECK_COLUMN} column, so whether it was encoded with this project's key cannot be checked (it was written by an older earlyhelp): ask the agency to encode it again with the current `earlyhelp link encode`"
        )),
        Some(check) if check != key.check() => Some(format!(
            "{filename}: the list was encoded with a different key from this server's (its {KEY_CHECK_COLUMN} does not match): matched, it would give nonsense. Ask the agency to encode it again with the key agreed for this project, or set that key on the server"
        )),
        Some(_) => None,
    }
}

/// Why encoded lists cannot be matched on a server without a key.
pub const NO_KEY: &str = "encoded lists cannot be matched on this server: no linkage key is set (EARLYHELP_LINKAGE_KEY_FILE or EARLYHELP_LINKAGE_KEY), and without the key agreed with the agency earlyhelp cannot encode its own people the same way";

/// The key a run of an encoded list is matched with, once the list is checked against it
/// (the key may have changed since the upload). Encoded lists are matched against
/// earlyhelp's people only: a second list would need encoding in the same way.
pub(crate) fn key_for_run(
    run: &RunRow,
    list: &ListRow,
    rows: &[Vec<String>],
    key: Option<&LinkageKey>,
) -> Result<LinkageKey, String> {
    if run.against_list.is_some() {
        return Err("an encoded list is matched against earlyhelp's people only".into());
    }
    if let Some(problem) = key_problem(&list.filename, &list.headers(), rows, key) {
        return Err(problem);
    }
    key.cloned().ok_or_else(|| NO_KEY.to_string())
}

/// What comes back to the agency from a run: the ids of its records that matched (a match,
/// or a possible match accepted on review), in order, and nothing of earlyhelp's side.
/// Possible matches still waiting for review are left out until they are accepted.
pub async fn matched_ids<R>(
    authorised: &mut Authorised<R>,
    run_id: Uuid,
) -> Result<Vec<String>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT DISTINCT left_id FROM match_results WHERE run_id = $1 \
             AND status IN ('match', 'accepted') ORDER BY left_id",
        )
        .bind(run_id)
        .fetch_all(c)
        .await?
    }))
}

/// The kinds of earlyhelp's people that are encoded, as the agency's would be.
const PEOPLE_KINDS: [FieldKind; 5] = [
    FieldKind::GivenName,
    FieldKind::FamilyName,
    FieldKind::DateOfBirth,
    FieldKind::Postcode,
    FieldKind::Address,
];

/// Matches an encoded list against earlyhelp's people, encoded here with `key` (blocking
/// work). The encodings of earlyhelp's people live only as long as this call.
pub(crate) fn match_encoded(
    list: &ListRow,
    rows: &[Vec<String>],
    people: &Side,
    key: &LinkageKey,
    progress: &Progress,
) -> Result<(Vec<Pair>, EngineReport), String> {
    let kinds: Vec<FieldKind> = PEOPLE_KINDS
        .into_iter()
        .filter(|k| people.values.contains_key(k))
        .collect();
    let clear_fields: Vec<Field> = kinds
        .iter()
        .map(|&kind| Field {
            name: format!("{kind:?}"),
            kind,
        })
        .collect();
    let (headers, roles) = (list.headers(), list.roles());
    // The groups both sides have.
    let fields: Vec<Field> = Encoder::encoded_fields(&clear_fields)
        .into_iter()
        .filter(|f| {
            headers
                .iter()
                .zip(&roles)
                .any(|(h, r)| *h == f.name && r == ENCODED_ROLE)
        })
        .collect();
    if fields.is_empty() {
        return Err("the encoded list and earlyhelp's people share no encoded group".into());
    }
    let id = roles.iter().position(|r| r == ID_ROLE).unwrap_or(0);
    let columns: Vec<usize> = fields
        .iter()
        .filter_map(|f| headers.iter().position(|h| *h == f.name))
        .collect();
    let mut left = Dataset::new(fields.clone());
    for (index, row) in rows.iter().enumerate() {
        let cell = |c: usize| row.get(c).map_or("", |v| v.trim());
        let values: Vec<&str> = columns.iter().map(|&c| cell(c)).collect();
        left.push(cell(id), &values).map_err(|(position, e)| {
            format!(
                "{}: row {}, column '{}': {e}",
                list.filename,
                index + 2,
                fields[position].name
            )
        })?;
    }
    let right = encode_people(people, &clear_fields, &fields, &key.encoder);
    if right.is_empty() {
        return Err("there is nobody on the other side to match against".into());
    }
    let outcome = run_engine(&left, &right, &fields, progress)?;
    Ok(explained(
        &outcome,
        &left,
        &right,
        &fields,
        &Shown::Encoded(people),
    ))
}

/// earlyhelp's people encoded as `link encode` encodes a list, in the groups of `fields`.
fn encode_people(
    people: &Side,
    clear_fields: &[Field],
    fields: &[Field],
    encoder: &Encoder,
) -> Dataset {
    let clear = people.dataset(clear_fields);
    let groups = Encoder::encoded_fields(clear_fields);
    let keep: Vec<usize> = fields
        .iter()
        .filter_map(|f| groups.iter().position(|g| g.name == f.name))
        .collect();
    let mut encoded = Dataset::new(fields.to_vec());
    for row in 0..clear.len() {
        let filters = encoder.encode(&clear, row);
        let values: Vec<String> = keep
            .iter()
            .map(|&g| {
                filters[g]
                    .as_ref()
                    .map_or_else(String::new, |b| b.to_base64())
            })
            .collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        encoded
            .push(&clear.ids[row], &values)
            .expect("encodings made here read back");
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_shown_and_its_check_matches_link_encode() {
        let key = LinkageKey::new(b"a project key of thirty-two bytes\n").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("project key"), "{shown}");
        let encoder = Encoder::new(b"a project key of thirty-two bytes").unwrap();
        assert_eq!(key.check(), encoder.key_check(), "the newline is left out");
        assert!(LinkageKey::new(b"short\n").is_err());
    }
}

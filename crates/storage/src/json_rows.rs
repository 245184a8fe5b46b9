//! Many small reads folded into one statement: each list is a JSON array built by the database
//! (SQLite `json_group_array`, PostgreSQL `json_agg`) and decoded here with serde. Each
//! statement crosses sqlx's worker thread (SQLite) or the network (PostgreSQL), so a page that
//! made a dozen of them pays that a dozen times; one wider statement pays it once.
//!
//! Queries are written once, in SQLite's spelling, and [`postgres`] renames the functions
//! whose names differ. Values inside JSON lose their SQL types, so ids travel as text (`hex` of
//! SQLite's blob, `text` of PostgreSQL's uuid) and flags as 0/1.

use serde::{Deserialize, Deserializer};
use uuid::Uuid;

/// The PostgreSQL spelling of a query written for SQLite: `json_object` is `json_build_object`,
/// `json_group_array` is `json_agg`, `json_array` is `json_build_array`, and an id's text is `text(id)` rather than `hex(id)`.
/// Only ever applied to the constant queries of this crate, never to input.
pub(crate) fn postgres(sqlite: &str) -> String {
    sqlite
        .replace("json_object(", "json_build_object(")
        .replace("json_group_array(", "json_agg(")
        .replace("json_array(", "json_build_array(")
        .replace("hex(", "text(")
}

/// A flag as either database puts it in JSON: SQLite's 0/1 or PostgreSQL's true/false.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Int(i64),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Int(i) => i != 0,
    })
}

/// An optional id: SQLite's `hex(NULL)` is the empty string.
pub(crate) fn optional_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => Uuid::parse_str(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Row {
        #[serde(deserialize_with = "flag")]
        done: bool,
        #[serde(deserialize_with = "optional_id")]
        member: Option<Uuid>,
        id: Uuid,
    }

    #[test]
    fn both_spellings_decode_alike() {
        let id = Uuid::now_v7();
        let sqlite = format!(
            r#"{{"done": 1, "member": "", "id": "{}"}}"#,
            id.simple().to_string().to_uppercase()
        );
        let pg = format!(r#"{{"done": true, "member": "{id}", "id": "{id}"}}"#);
        let a: Row = serde_json::from_str(&sqlite).unwrap();
        let b: Row = serde_json::from_str(&pg).unwrap();
        assert!(a.done && b.done);
        assert_eq!((a.id, b.id), (id, id));
        assert_eq!((a.member, b.member), (None, Some(id)));
        assert_eq!(
            postgres("SELECT json_group_array(json_object('id', hex(id))), json_array(1)"),
            "SELECT json_agg(json_build_object('id', text(id))), json_build_array(1)"
        );
    }
}

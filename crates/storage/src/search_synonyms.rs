//! The connectors' synonyms for the directory search: groups of words and phrases that mean
//! the same ("foodbank, food bank"). A listing is indexed with every phrase of a group it says
//! one of, so a change to the groups re-indexes every listing, in the same transaction.

use crate::directory::{index_for_search, search_text};
use crate::gate::Authorised;
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::search_words;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SynonymGroup {
    pub id: Uuid,
    /// The phrases, comma-separated.
    pub phrases: String,
    pub changed_by: String,
    pub changed_micros: i64,
}

impl SynonymGroup {
    pub fn phrases(&self) -> Vec<String> {
        search_words::parse_group(&self.phrases).unwrap_or_default()
    }
}

pub async fn list(db: &Db) -> Result<Vec<SynonymGroup>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, phrases, changed_by, changed_micros FROM search_synonyms ORDER BY phrases, id")
            .fetch_all(pool)
            .await?
    }))
}

/// Every group's phrases (for ranking a search by them).
pub async fn groups(db: &Db) -> Result<Vec<Vec<String>>, StorageError> {
    Ok(list(db).await?.iter().map(SynonymGroup::phrases).collect())
}

/// Every group's phrases, read in the transaction that indexes.
pub(crate) async fn groups_in(tx: &mut Tx) -> Result<Vec<Vec<String>>, StorageError> {
    let rows: Vec<String> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT phrases FROM search_synonyms ORDER BY id")
            .fetch_all(c)
            .await?
    });
    Ok(rows
        .iter()
        .filter_map(|p| search_words::parse_group(p).ok())
        .collect())
}

/// Adds a group (already checked by [`search_words::parse_group`]) and re-indexes.
pub async fn add(
    authorised: &mut Authorised,
    phrases: &[String],
    by: &str,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO search_synonyms (id, phrases, changed_by, changed_micros) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(phrases.join(", "))
            .bind(by)
            .bind(now_micros())
            .execute(c)
            .await?;
    });
    reindex(authorised).await?;
    Ok(id)
}

pub async fn remove(authorised: &mut Authorised, id: Uuid) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query("DELETE FROM search_synonyms WHERE id = $1")
            .bind(id)
            .execute(c)
            .await?
            .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::NotFound);
    }
    reindex(authorised).await
}

/// A listing's id, name, description and provider.
type ServiceText = (Uuid, String, String, String);

/// Writes every listing's search text again with the groups as they are in this transaction.
pub async fn reindex(authorised: &mut Authorised) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let (services, needs): (Vec<ServiceText>, Vec<(Uuid, String)>) = on_tx!(tx, c => {
        let services = sqlx::query_as(
            "SELECT s.id, s.name, s.description, o.name FROM directory_services s \
             JOIN directory_organizations o ON o.id = s.organization_id WHERE s.merged_into IS NULL",
        )
        .fetch_all(&mut *c)
        .await?;
        let needs = sqlx::query_as(
            "SELECT st.service_id, t.name FROM service_terms st JOIN taxonomy_terms t ON t.id = st.term_id \
             ORDER BY t.position, t.name",
        )
        .fetch_all(&mut *c)
        .await?;
        (services, needs)
    });
    let groups = groups_in(tx).await?;
    for (id, name, description, provider) in services {
        let own: Vec<&str> = needs
            .iter()
            .filter(|(s, _)| *s == id)
            .map(|(_, n)| n.as_str())
            .collect();
        let body =
            search_words::index_text(&search_text(&name, &description, &provider, &own), &groups);
        index_for_search(tx, id, Some(&body), false).await?;
    }
    Ok(())
}

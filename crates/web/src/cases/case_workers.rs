//! The staff the lead-practitioner and team pickers offer, per locality, kept for half a minute.
//! The list is the same for every family in a locality, and reading it on every view was the
//! largest part of a family page's work on PostgreSQL (`docs/benchmarks/cases.md`). A list a
//! little out of date only offers a name: the person chosen is checked against the database when
//! the form is sent (`case_worker`), and this process forgets its lists when an administrator
//! changes who works here; another app server's lists catch up within [`FRESH_FOR`].

use earlyhelp_storage::{Db, StorageError, accounts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FRESH_FOR: Duration = Duration::from_secs(30);

/// (email, "name, organisation"), by name.
pub type CaseWorkers = Arc<[(String, String)]>;

#[derive(Default)]
pub struct CaseWorkerLists {
    by_locality: Mutex<HashMap<String, (Instant, CaseWorkers)>>,
}

impl CaseWorkerLists {
    /// Staff who may work cases in `locality`, read afresh when this process's copy is older
    /// than [`FRESH_FOR`].
    pub async fn of(&self, db: &Db, locality: &str) -> Result<CaseWorkers, StorageError> {
        if let Some((read_at, list)) = self.lock().get(locality)
            && read_at.elapsed() < FRESH_FOR
        {
            return Ok(list.clone());
        }
        let list: CaseWorkers = accounts::case_workers_in(db, locality).await?.into();
        self.lock()
            .insert(locality.to_owned(), (Instant::now(), list.clone()));
        Ok(list)
    }

    /// After a change to who works where.
    pub fn forget(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, CaseWorkers)>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.by_locality
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

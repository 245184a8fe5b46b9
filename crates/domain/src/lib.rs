//! earlyhelp's domain: the rules of the product, with no IO.
//!
//! - [`roles`]: the roles and the one table of what each may do.
//! - [`access`]: whether a person may do an action to a record.
//! - [`audit`]: the hash chain that makes the audit log tamper-evident.
//! - [`cases`]: requests for support and family cases: routing, duplicates, the case states.
//! - [`directory`]: the directory's rules: postcodes, distance, staleness, ranking, duplicates, ORUK.
//! - [`people`]: validation of the people and organisations we hold.
//! - [`measures`]: configurable outcome measures and the checks of a readings import.
//! - [`supporting_families`]: needs against the ten headline outcomes; when one is sustained.

pub mod access;
pub mod audit;
#[macro_use]
pub mod cases;
pub mod directory;
pub mod measures;
pub mod people;
pub mod roles;
pub mod supporting_families;

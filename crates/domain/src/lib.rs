//! earlyhelp's domain: the rules of the product, with no IO.
//!
//! - [`roles`]: the roles and the one table of what each may do.
//! - [`access`]: whether a person may do an action to a record.
//! - [`audit`]: the hash chain that makes the audit log tamper-evident.
//! - [`cases`]: requests for support and family cases: routing, duplicates, the case states.
//! - [`directory`]: the directory's rules: postcodes, distance, staleness, ranking, duplicates, ORUK.
//! - [`people`]: validation of the people and organisations we hold.

pub mod access;
pub mod audit;
pub mod cases;
pub mod directory;
pub mod people;
pub mod roles;

//! earlyhelp's domain: the rules of the product, with no IO.
//!
//! - [`roles`]: the roles and the one table of what each may do.
//! - [`access`]: whether a person may do an action to a record.
//! - [`audit`]: the hash chain that makes the audit log tamper-evident.
//! - [`cases`]: requests for support and family cases: routing, duplicates, the case states.
//! - [`directory`]: the directory's rules: postcodes, distance, staleness, ranking, duplicates, ORUK.
//! - [`people`]: validation of the people and organisations we hold.
//! - [`retention`]: the retention schedule, when records fall due, what anonymisation keeps.
//! - [`sar`]: subject access: marking other people's details for redaction.

pub mod access;
pub mod audit;
pub mod cases;
pub mod directory;
pub mod people;
pub mod retention;
pub mod roles;
pub mod sar;

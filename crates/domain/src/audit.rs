//! The audit log's hash chain.
//!
//! Each event's hash covers its own fields and the previous event's hash, so editing,
//! deleting or reordering any stored event breaks every hash after it. `earlyhelp audit
//! verify` recomputes the chain with [`chain_hash`].

use sha2::{Digest, Sha256};

/// The hash the first event chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an audit event that the chain protects, in their stored text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    pub seq: i64,
    /// Microseconds since the Unix epoch (both databases keep microseconds exactly).
    pub at_micros: i64,
    pub actor: &'a str,
    pub actor_organisation: &'a str,
    pub actor_role: &'a str,
    pub subject: &'a str,
    pub action: &'a str,
    pub purpose: &'a str,
    pub outcome: &'a str,
    pub remote_addr: &'a str,
}

/// SHA-256 over the previous hash and each field, length-prefixed so that no two different
/// events can serialise to the same bytes.
pub fn chain_hash(previous: &str, fields: &ChainedFields<'_>) -> String {
    let mut hasher = Sha256::new();
    let seq = fields.seq.to_string();
    let at = fields.at_micros.to_string();
    for part in [
        previous,
        &seq,
        &at,
        fields.actor,
        fields.actor_organisation,
        fields.actor_role,
        fields.subject,
        fields.action,
        fields.purpose,
        fields.outcome,
        fields.remote_addr,
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ChainedFields<'static> {
        ChainedFields {
            seq: 1,
            at_micros: 1_700_000_000_000_000,
            actor: "ig@example.org",
            actor_organisation: "City Council",
            actor_role: "information_governance_officer",
            subject: "audit_log",
            action: "list",
            purpose: "review",
            outcome: "allowed",
            remote_addr: "127.0.0.1",
        }
    }

    #[test]
    fn any_changed_field_changes_the_hash() {
        let original = chain_hash(GENESIS, &fields());
        let mut changed = fields();
        changed.outcome = "denied";
        assert_ne!(chain_hash(GENESIS, &changed), original);
        assert_ne!(
            chain_hash(&original, &fields()),
            original,
            "the previous hash counts"
        );
    }

    #[test]
    fn field_boundaries_count() {
        let mut a = fields();
        a.actor = "ab";
        a.actor_organisation = "c";
        let mut b = fields();
        b.actor = "a";
        b.actor_organisation = "bc";
        assert_ne!(chain_hash(GENESIS, &a), chain_hash(GENESIS, &b));
    }

    #[test]
    fn the_same_event_hashes_the_same() {
        assert_eq!(
            chain_hash(GENESIS, &fields()),
            chain_hash(GENESIS, &fields())
        );
        assert_eq!(chain_hash(GENESIS, &fields()).len(), 64);
    }
}

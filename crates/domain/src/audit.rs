//! The audit log's hash chain.
//!
//! Each event's hash covers its own fields and the previous event's hash, so editing,
//! deleting or reordering any stored event breaks every hash after it. `earlyhelp audit
//! verify` recomputes the chain with [`chain_hash`].
//!
//! Whoever holds the database can still drop its guards and recompute every hash, so the head
//! of the chain is also written outside it as a [`Checkpoint`] signed with an Ed25519 key that
//! the database never holds (see `earlyhelp_storage::checkpoint`).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

/// What a checkpoint file says it is, and which version of [`Checkpoint::message`] it signs.
pub const CHECKPOINT_FORMAT: &str = "earlyhelp-audit-checkpoint/1";

/// A signed statement that chain `chain` had event `seq` with hash `hash` at time `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    /// The chain's own id: the hash of its first event, so a copy of the database taken
    /// anywhere finds its checkpoints.
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    /// When it was signed, RFC 3339 in UTC.
    pub at: String,
    /// Ed25519 over [`Checkpoint::message`], in hex.
    pub signature: String,
}

impl Checkpoint {
    pub fn sign(key: &SigningKey, chain: &str, seq: i64, hash: &str, at: OffsetDateTime) -> Self {
        let mut checkpoint = Checkpoint {
            format: CHECKPOINT_FORMAT.to_string(),
            chain: chain.to_string(),
            seq,
            hash: hash.to_string(),
            at: at.format(&Rfc3339).unwrap_or_default(),
            signature: String::new(),
        };
        checkpoint.signature = hex::encode(key.sign(checkpoint.message().as_bytes()).to_bytes());
        checkpoint
    }

    /// Every field but the signature, one a line, so no two checkpoints sign the same bytes.
    fn message(&self) -> String {
        format!(
            "{}\nchain {}\nseq {}\nhash {}\nat {}\n",
            self.format, self.chain, self.seq, self.hash, self.at
        )
    }

    /// Whether `key` signed exactly these fields.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.format == CHECKPOINT_FORMAT
            && key.verify(self.message().as_bytes(), &signature).is_ok()
    }

    pub fn signed_at(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.at, &Rfc3339).ok()
    }
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

    #[test]
    fn a_checkpoint_verifies_only_unchanged_and_under_its_own_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let checkpoint = Checkpoint::sign(&key, "chain", 42, "abc", at);
        assert!(checkpoint.is_signed_by(&key.verifying_key()));
        assert_eq!(checkpoint.signed_at(), Some(at));
        for changed in [
            Checkpoint {
                seq: 41,
                ..checkpoint.clone()
            },
            Checkpoint {
                hash: "abd".into(),
                ..checkpoint.clone()
            },
            Checkpoint {
                chain: "other".into(),
                ..checkpoint.clone()
            },
            Checkpoint {
                at: "2030-01-01T00:00:00Z".into(),
                ..checkpoint.clone()
            },
            Checkpoint {
                signature: "00".into(),
                ..checkpoint.clone()
            },
        ] {
            assert!(!changed.is_signed_by(&key.verifying_key()), "{changed:?}");
        }
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(!checkpoint.is_signed_by(&other.verifying_key()));
    }
}

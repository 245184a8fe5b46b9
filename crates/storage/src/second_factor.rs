//! A second factor: time-based one-time codes (TOTP, RFC 6238: SHA-1, six digits, 30 seconds,
//! as every authenticator app reads them) and ten single-use recovery codes.
//!
//! The secret is kept as base32 text in `second_factors` (see the README on its storage); a
//! code is accepted once: the time step it matched must be later than the last one accepted,
//! and that is one conditional UPDATE, so two requests with the same code cannot both pass.
//! Recovery codes are kept only as argon2 hashes.

use crate::gate::Authorised;
use crate::secrets::{hash_password, same_secret, verify_password};
use crate::{Db, StorageError, now_micros, on_pool, on_tx};
use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};
use uuid::Uuid;

/// Seconds a code lasts.
const STEP_SECONDS: u64 = 30;
/// Recovery codes given at set-up.
pub const RECOVERY_CODES: usize = 10;
/// Named in the authenticator app beside the account.
const ISSUER: &str = "earlyhelp";

/// A person's second factor, confirmed or still being set up.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecondFactor {
    pub secret: String,
    pub confirmed_micros: Option<i64>,
}

impl SecondFactor {
    pub fn confirmed(&self) -> bool {
        self.confirmed_micros.is_some()
    }
}

/// A fresh secret of 160 bits, base32, as RFC 4226 recommends.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_string()),
        account.replace(':', ""),
    )
    .ok()
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &str, account: &str) -> Option<String> {
    totp(secret, account).map(|t| t.get_url())
}

/// The time step `code` is right for at `unix_seconds`, allowing one step either side for a
/// clock a little out; `None` if it is right for none.
pub fn matching_step(secret: &str, code: &str, unix_seconds: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "account")?;
    let now = unix_seconds / STEP_SECONDS;
    [now.saturating_sub(1), now, now + 1]
        .into_iter()
        .find(|step| same_secret(&totp.generate(step * STEP_SECONDS), &code))
        .and_then(|step| i64::try_from(step).ok())
}

/// The current code, for tests and the set-up page's own check.
pub fn code_at(secret: &str, unix_seconds: u64) -> Option<String> {
    totp(secret, "account").map(|t| t.generate(unix_seconds))
}

pub fn unix_seconds() -> u64 {
    u64::try_from(now_micros() / 1_000_000).unwrap_or(0)
}

pub async fn of_user(db: &Db, user_id: Uuid) -> Result<Option<SecondFactor>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT secret, confirmed_micros FROM second_factors WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?
    }))
}

/// The secret being set up for `user_id`: the one already offered if set-up was begun, else
/// `fresh`. Never replaces a confirmed factor (an administrator resets it).
pub async fn begin(db: &Db, user_id: Uuid, fresh: &str) -> Result<SecondFactor, StorageError> {
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO second_factors (user_id, secret, confirmed_micros, last_step) \
             VALUES ($1, $2, NULL, 0) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(fresh)
        .execute(pool)
        .await?;
    });
    of_user(db, user_id).await?.ok_or(StorageError::NotFound)
}

/// Accepts a code that matched time step `step` if no code of that step or a later one was
/// accepted before: answers false for a replayed code.
pub async fn accept_step(db: &Db, user_id: Uuid, step: i64) -> Result<bool, StorageError> {
    let changed = on_pool!(db, pool => {
        sqlx::query("UPDATE second_factors SET last_step = $1 WHERE user_id = $2 AND last_step < $1")
            .bind(step)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

/// Confirms the factor being set up, whose code matched `step`, and replaces any recovery
/// codes with new ones; answers the codes, to be shown once.
pub async fn confirm(db: &Db, user_id: Uuid, step: i64) -> Result<Vec<String>, StorageError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes = {
        let codes = codes.clone();
        tokio::task::spawn_blocking(move || codes.iter().map(|c| hash_password(c)).collect())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    };
    let hashes: Vec<String> = hashes;
    let at = now_micros();
    let mut tx = db.begin().await?;
    let confirmed = on_tx!(&mut tx, c => {
        let done = sqlx::query(
            "UPDATE second_factors SET confirmed_micros = $1, last_step = $2 \
             WHERE user_id = $3 AND confirmed_micros IS NULL AND last_step < $2",
        )
        .bind(at)
        .bind(step)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        for hash in &hashes {
            sqlx::query("INSERT INTO recovery_codes (id, user_id, code_hash) VALUES ($1, $2, $3)")
                .bind(Uuid::new_v4())
                .bind(user_id)
                .bind(hash)
                .execute(&mut *c)
                .await?;
        }
        done.rows_affected()
    });
    if confirmed != 1 {
        return Err(StorageError::Conflict(
            "The second factor is already set up, or that code was used".into(),
        ));
    }
    tx.commit().await?;
    Ok(codes)
}

/// Ten characters from an alphabet without look-alikes, shown as two groups of five.
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Uses one of `user_id`'s recovery codes if `code` is one not used before; answers whether it
/// was. Spaces, dashes and capitals in what was typed do not matter.
pub async fn use_recovery_code(db: &Db, user_id: Uuid, code: &str) -> Result<bool, StorageError> {
    let typed: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if typed.len() != 10 {
        return Ok(false);
    }
    let typed = format!("{}-{}", &typed[..5], &typed[5..]);
    let unused: Vec<(Uuid, String)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT id, code_hash FROM recovery_codes WHERE user_id = $1 AND used_micros IS NULL")
            .bind(user_id)
            .fetch_all(pool)
            .await?
    });
    let found = tokio::task::spawn_blocking(move || {
        unused
            .into_iter()
            .find(|(_, hash)| verify_password(&typed, hash))
            .map(|(id, _)| id)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let Some(id) = found else {
        return Ok(false);
    };
    // Conditional, so two requests with one code cannot both use it.
    let changed = on_pool!(db, pool => {
        sqlx::query("UPDATE recovery_codes SET used_micros = $1 WHERE id = $2 AND used_micros IS NULL")
            .bind(now_micros())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

/// An administrator's reset: the factor and its recovery codes go, and so do the person's
/// sessions; they set up a new factor at their next sign-in. The gate's event is the audit.
pub async fn reset(authorised: &mut Authorised, user_id: Uuid) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM second_factors WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", last six digits.
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1111111109).unwrap(), "081804");
        assert_eq!(code_at(&secret, 20000000000).unwrap(), "353130");
        assert_eq!(matching_step(&secret, "287082", 59), Some(1));
        // One step either side is allowed; two is not.
        assert_eq!(matching_step(&secret, "287082", 89), Some(1));
        assert_eq!(matching_step(&secret, "287082", 120), None);
        assert_eq!(matching_step(&secret, "28708", 59), None);
        assert_eq!(matching_step(&secret, "abcdef", 59), None);
    }

    #[test]
    fn recovery_codes_are_two_groups_of_five() {
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(code.as_bytes()[5], b'-');
        assert_ne!(code, recovery_code());
    }
}

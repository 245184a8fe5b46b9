//! Localities, organisations, users, sessions and API tokens.

use crate::gate::Authorised;
use crate::secrets::{random_token, token_hash};
use crate::{Db, StorageError, Tx, now, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::Actor;
use earlyhelp_domain::roles::Role;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Locality {
    pub slug: String,
    pub name: String,
    pub profile: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub locality_slug: Option<String>,
    pub leads_locality: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: String,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub locality_slug: Option<String>,
    pub leads_locality: bool,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub organisation_id: Uuid,
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub localities: Vec<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub active: bool,
}

/// A user as the rest of the product sees them once signed in.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    pub name: String,
    pub organisation_name: String,
    pub actor: Actor,
}

fn unique_violation(error: sqlx::Error, message: &str) -> StorageError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StorageError::Conflict(message.to_string())
        }
        _ => StorageError::Sql(error),
    }
}

pub async fn upsert_locality(tx: &mut Tx, locality: &Locality) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO localities (slug, name, profile) VALUES ($1, $2, $3) \
             ON CONFLICT (slug) DO UPDATE SET name = excluded.name, profile = excluded.profile",
        )
        .bind(&locality.slug)
        .bind(&locality.name)
        .bind(&locality.profile)
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn list_localities(db: &Db) -> Result<Vec<Locality>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT slug, name, profile FROM localities ORDER BY name")
            .fetch_all(pool)
            .await?
    }))
}

macro_rules! organisation_columns {
    () => {
        "id, name, kind, charity_number, company_number, locality_slug, leads_locality"
    };
}

pub async fn list_organisations(db: &Db) -> Result<Vec<Organisation>, StorageError> {
    let sql = concat!(
        "SELECT ",
        organisation_columns!(),
        " FROM organisations ORDER BY name"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?))
}

/// Finds an organisation by its exact name, ignoring case.
pub async fn find_organisation(db: &Db, name: &str) -> Result<Option<Organisation>, StorageError> {
    let sql = concat!(
        "SELECT ",
        organisation_columns!(),
        " FROM organisations WHERE lower(name) = lower($1)"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(name.trim()).fetch_optional(pool).await?))
}

pub async fn create_organisation(
    authorised: &mut Authorised,
    new: &NewOrganisation,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO organisations (id, name, kind, charity_number, company_number, \
             locality_slug, leads_locality, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(new.name.trim())
        .bind(&new.kind)
        .bind(&new.charity_number)
        .bind(&new.company_number)
        .bind(&new.locality_slug)
        .bind(new.leads_locality)
        .bind(now())
        .execute(c)
        .await
        .map_err(|e| unique_violation(e, "An organisation with that name already exists"))?;
    });
    Ok(id)
}

/// Creates the account `id` (chosen by the caller, so the audit event can name it first).
pub async fn create_user(
    authorised: &mut Authorised,
    id: Uuid,
    new: &NewUser,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO users (id, email, name, organisation_id, password_hash, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, TRUE, $6)",
        )
        .bind(id)
        .bind(&new.email)
        .bind(new.name.trim())
        .bind(new.organisation_id)
        .bind(&new.password_hash)
        .bind(now())
        .execute(&mut *c)
        .await
        .map_err(|e| unique_violation(e, "A user with that email address already exists"))?;
        for role in &new.roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(id)
                .bind(role.slug())
                .execute(&mut *c)
                .await?;
        }
        for locality in &new.localities {
            sqlx::query("INSERT INTO user_localities (user_id, locality_slug) VALUES ($1, $2)")
                .bind(id)
                .bind(locality)
                .execute(&mut *c)
                .await?;
        }
    });
    Ok(())
}

pub async fn list_users(authorised: &mut Authorised) -> Result<Vec<UserRow>, StorageError> {
    let sql = "SELECT u.id, u.email, u.name, u.organisation_id, o.name AS organisation_name, \
               u.active FROM users u JOIN organisations o ON o.id = u.organisation_id \
               ORDER BY o.name, u.name";
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => sqlx::query_as(sql).fetch_all(c).await?))
}

/// Roles of each user, for listing beside them.
pub async fn roles_by_user(
    authorised: &mut Authorised,
) -> Result<Vec<(Uuid, String)>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as("SELECT user_id, role FROM user_roles ORDER BY role").fetch_all(c).await?
    }))
}

pub async fn set_user_active(
    authorised: &mut Authorised,
    user_id: Uuid,
    active: bool,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let changed = on_tx!(tx, c => {
        let done = sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(active)
            .bind(user_id)
            .execute(&mut *c)
            .await?;
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
            sqlx::query("DELETE FROM api_tokens WHERE user_id = $1").bind(user_id).execute(&mut *c).await?;
        }
        done.rows_affected()
    });
    if changed == 0 {
        Err(StorageError::NotFound)
    } else {
        Ok(())
    }
}

/// The organisation a user belongs to, for deciding who may administer them.
pub async fn user_organisation(db: &Db, user_id: Uuid) -> Result<Option<Uuid>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT organisation_id FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?
    }))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub active: bool,
}

pub async fn credentials(db: &Db, email: &str) -> Result<Option<Credentials>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, password_hash, active FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn credentials_by_id(
    db: &Db,
    user_id: Uuid,
) -> Result<Option<Credentials>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, password_hash, active FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Loads the signed-in person with their roles and localities; `None` if inactive or gone.
pub async fn signed_in(db: &Db, user_id: Uuid) -> Result<Option<SignedIn>, StorageError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        email: String,
        name: String,
        organisation_id: Uuid,
        organisation_name: String,
    }
    let (row, roles, localities): (Option<Row>, Vec<String>, Vec<String>) = on_pool!(db, pool => {
        let row = sqlx::query_as(
            "SELECT u.email, u.name, u.organisation_id, o.name AS organisation_name \
             FROM users u JOIN organisations o ON o.id = u.organisation_id \
             WHERE u.id = $1 AND u.active",
        )
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
        let roles = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(user_id)
            .fetch_all(pool)
            .await?;
        let localities = sqlx::query_scalar(
            "SELECT locality_slug FROM user_localities WHERE user_id = $1 ORDER BY locality_slug",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?;
        (row, roles, localities)
    });
    Ok(row.map(|row| SignedIn {
        name: row.name,
        organisation_name: row.organisation_name,
        actor: Actor {
            user_id,
            email: row.email,
            organisation_id: row.organisation_id,
            roles: roles.iter().filter_map(|r| Role::from_slug(r)).collect(),
            localities,
        },
    }))
}

pub async fn set_password(
    db: &Db,
    user_id: Uuid,
    password_hash: &str,
    keep_session: &str,
) -> Result<(), StorageError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *c)
            .await?;
        // A changed password signs out every other session of that person.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(token_hash(keep_session))
            .execute(&mut *c)
            .await?;
    });
    tx.commit().await
}

pub async fn recent_sign_in_failures(
    db: &Db,
    email: &str,
    window_micros: i64,
) -> Result<i64, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_failures WHERE email = $1 AND at_micros > $2")
            .bind(email)
            .bind(now_micros() - window_micros)
            .fetch_one(pool)
            .await?
    }))
}

/// Records a failure, and forgets failures older than `window_micros` (they no longer count).
pub async fn record_sign_in_failure(
    db: &Db,
    email: &str,
    window_micros: i64,
) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query("DELETE FROM sign_in_failures WHERE at_micros < $1")
            .bind(now_micros() - window_micros)
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO sign_in_failures (email, at_micros) VALUES ($1, $2)")
            .bind(email)
            .bind(now_micros())
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn clear_sign_in_failures(db: &Db, email: &str) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query("DELETE FROM sign_in_failures WHERE email = $1").bind(email).execute(pool).await?;
    });
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub user_id: Uuid,
    pub csrf_token: String,
    pub created_micros: i64,
    pub last_seen_micros: i64,
}

/// Starts a session and returns its token (for the cookie) and CSRF token (for forms).
pub async fn create_session(db: &Db, user_id: Uuid) -> Result<(String, String), StorageError> {
    let (token, csrf) = (random_token(), random_token());
    let at = now_micros();
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_micros, last_seen_micros) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(&csrf)
        .bind(at)
        .execute(pool)
        .await?;
    });
    Ok((token, csrf))
}

pub async fn session(db: &Db, token: &str) -> Result<Option<Session>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT user_id, csrf_token, created_micros, last_seen_micros FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await?
    }))
}

pub async fn touch_session(db: &Db, token: &str) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query("UPDATE sessions SET last_seen_micros = $1 WHERE token_hash = $2")
            .bind(now_micros())
            .bind(token_hash(token))
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn end_session(db: &Db, token: &str) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(token)).execute(pool).await?;
    });
    Ok(())
}

pub async fn create_api_token(db: &Db, user_id: Uuid) -> Result<String, StorageError> {
    let token = format!("eh_{}", random_token());
    on_pool!(db, pool => {
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_micros) VALUES ($1, $2, $3)")
            .bind(token_hash(&token))
            .bind(user_id)
            .bind(now_micros())
            .execute(pool)
            .await?;
    });
    Ok(token)
}

pub async fn api_token_user(db: &Db, token: &str) -> Result<Option<Uuid>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(pool)
            .await?
    }))
}

pub async fn user_id_by_email(db: &Db, email: &str) -> Result<Option<Uuid>, StorageError> {
    Ok(credentials(db, email).await?.map(|c| c.id))
}

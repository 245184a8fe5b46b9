//! Localities, organisations, users, sessions and API tokens.

use crate::gate::Authorised;
use crate::secrets::{random_token, token_hash};
use crate::{Db, StorageError, Tx, now, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::{Actor, Grant};
use earlyhelp_domain::roles::{Role, check_role_set, in_effect};
use serde::Serialize;
use sqlx::types::Json;
use std::sync::LazyLock;
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
    /// The last sign-in, or when the account was made if it never signed in.
    pub last_active_micros: i64,
}

/// Days without a sign-in after which an active account is listed as unused: an account
/// nobody uses is a door nobody watches.
pub const UNUSED_DAYS: i64 = 90;

impl UserRow {
    /// Active, and neither signed in nor made in the last [`UNUSED_DAYS`].
    pub fn unused(&self, now_micros: i64) -> bool {
        self.active && now_micros - self.last_active_micros > UNUSED_DAYS * 86_400 * 1_000_000
    }
}

/// A user as the rest of the product sees them once signed in.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    pub name: String,
    pub organisation_name: String,
    pub actor: Actor,
}

pub(crate) fn unique_violation(error: sqlx::Error, message: &str) -> StorageError {
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

/// Staff who may work cases in `locality` (a role that may, and the locality), for the pickers
/// that choose a lead practitioner or a team member: (email, "name, organisation"), by name.
/// Staff names and work emails only, so no permit: every member of staff may see who works where.
pub async fn case_workers_in(
    db: &Db,
    locality: &str,
) -> Result<Vec<(String, String)>, StorageError> {
    let rows: Vec<(String, String, String, String)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT u.email, u.name, o.name, r.role FROM users u \
             JOIN organisations o ON o.id = u.organisation_id \
             JOIN user_localities l ON l.user_id = u.id AND l.locality_slug = $1 \
             JOIN user_roles r ON r.user_id = u.id \
             WHERE u.active ORDER BY u.name, u.email LIMIT 5000",
        )
        .bind(locality)
        .fetch_all(pool)
        .await?
    });
    Ok(who_works_cases(rows))
}

/// Of staff rows (email, name, organisation, one of their roles), by name: those with a role
/// that works cases, once each, as (email, "name, organisation").
fn who_works_cases(rows: Vec<(String, String, String, String)>) -> Vec<(String, String)> {
    let mut people: Vec<(String, String)> = rows
        .into_iter()
        .filter(|(_, _, _, role)| {
            Role::from_slug(role)
                .is_some_and(|r| r.may(earlyhelp_domain::roles::Permission::WorkCases))
        })
        .map(|(email, name, organisation, _)| (email, format!("{name}, {organisation}")))
        .collect();
    people.dedup();
    people
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

/// Whether the access asked for takes effect at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantedBy {
    /// An administrator in the product asked for it: each grant waits for a second person
    /// (see `earlyhelp_domain::access::Grant`).
    Request(Uuid),
    /// The operator at the command line, or the demo: in effect at once.
    Operator,
}

/// One grant for each role in each locality (or in none, when no locality is given).
pub fn grants_for(roles: &[Role], localities: &[String]) -> Vec<(Role, Option<String>)> {
    let mut grants = Vec::new();
    for role in roles {
        if localities.is_empty() {
            grants.push((*role, None));
        }
        for locality in localities {
            grants.push((*role, Some(locality.clone())));
        }
    }
    grants
}

/// Creates the account `id` (chosen by the caller, so the audit event can name it first),
/// with its roles and localities as grants: pending, or in effect at once for the operator.
pub async fn create_user(
    authorised: &mut Authorised,
    id: Uuid,
    new: &NewUser,
    by: GrantedBy,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO users (id, email, name, organisation_id, password_hash, active, created_at, \
             last_active_micros) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $7)",
        )
        .bind(id)
        .bind(&new.email)
        .bind(new.name.trim())
        .bind(new.organisation_id)
        .bind(&new.password_hash)
        .bind(now())
        .bind(now_micros())
        .execute(&mut *c)
        .await
        .map_err(|e| unique_violation(e, "A user with that email address already exists"))?;
    });
    for (role, locality) in grants_for(&new.roles, &new.localities) {
        insert_grant(tx, id, role, locality.as_deref(), by).await?;
    }
    Ok(())
}

/// Asks for more access for an existing account; grants already in effect or already waiting
/// are left alone. Answers how many new grants wait.
pub async fn request_access(
    authorised: &mut Authorised,
    user_id: Uuid,
    grants: &[(Role, Option<String>)],
    requested_by: Uuid,
) -> Result<usize, StorageError> {
    let tx = &mut authorised.tx;
    let mut asked = 0;
    for (role, locality) in grants {
        let known: i64 = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM access_grants WHERE user_id = $1 AND role = $2 \
                 AND locality_slug IS NOT DISTINCT FROM $3 AND decision = 'pending'",
            )
            .bind(user_id)
            .bind(role.slug())
            .bind(locality)
            .fetch_one(&mut *c)
            .await?
        });
        let held: i64 = on_tx!(tx, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM user_roles r WHERE r.user_id = $1 AND r.role = $2 \
                 AND ($3 IS NULL OR EXISTS (SELECT 1 FROM user_localities l \
                      WHERE l.user_id = $1 AND l.locality_slug = $3))",
            )
            .bind(user_id)
            .bind(role.slug())
            .bind(locality)
            .fetch_one(&mut *c)
            .await?
        });
        if known == 0 && held == 0 {
            insert_grant(
                tx,
                user_id,
                *role,
                locality.as_deref(),
                GrantedBy::Request(requested_by),
            )
            .await?;
            asked += 1;
        }
    }
    Ok(asked)
}

async fn insert_grant(
    tx: &mut Tx,
    user_id: Uuid,
    role: Role,
    locality: Option<&str>,
    by: GrantedBy,
) -> Result<(), StorageError> {
    let (requested_by, decision, decided_micros) = match by {
        GrantedBy::Request(who) => (Some(who), "pending", None),
        GrantedBy::Operator => (None, "approved", Some(now_micros())),
    };
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO access_grants (id, user_id, role, locality_slug, requested_by, \
             requested_micros, decision, decided_by, decided_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(role.slug())
        .bind(locality)
        .bind(requested_by)
        .bind(now_micros())
        .bind(decision)
        .bind(decided_micros)
        .execute(&mut *c)
        .await?;
    });
    if by == GrantedBy::Operator {
        put_in_effect(tx, user_id, role, locality).await?;
    }
    Ok(())
}

async fn put_in_effect(
    tx: &mut Tx,
    user_id: Uuid,
    role: Role,
    locality: Option<&str>,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(role.slug())
            .execute(&mut *c)
            .await?;
        if let Some(locality) = locality {
            sqlx::query(
                "INSERT INTO user_localities (user_id, locality_slug) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(locality)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// An access request as the approvers' page shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct GrantRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub user_email: String,
    pub organisation_name: String,
    pub role: String,
    pub locality_slug: Option<String>,
    pub locality_name: Option<String>,
    pub requested_by: Option<Uuid>,
    pub requested_by_email: Option<String>,
    pub requested_micros: i64,
    pub decision: String,
    pub decided_by_email: Option<String>,
    pub decided_micros: Option<i64>,
}

impl GrantRow {
    /// The facts the access rules decide on.
    pub fn grant(&self) -> Option<Grant> {
        Some(Grant {
            user_id: self.user_id,
            requested_by: self.requested_by,
            role: Role::from_slug(&self.role)?,
            locality: self.locality_slug.clone(),
        })
    }

    pub fn pending(&self) -> bool {
        self.decision == "pending"
    }
}

macro_rules! grant_select {
    () => {
        "SELECT g.id, g.user_id, u.name AS user_name, u.email AS user_email, \
         o.name AS organisation_name, g.role, g.locality_slug, l.name AS locality_name, \
         g.requested_by, r.email AS requested_by_email, g.requested_micros, g.decision, \
         d.email AS decided_by_email, g.decided_micros \
         FROM access_grants g JOIN users u ON u.id = g.user_id \
         JOIN organisations o ON o.id = u.organisation_id \
         LEFT JOIN localities l ON l.slug = g.locality_slug \
         LEFT JOIN users r ON r.id = g.requested_by \
         LEFT JOIN users d ON d.id = g.decided_by "
    };
}

/// One access request, to decide on it: read before the gate, which decides on its facts.
pub async fn grant(db: &Db, id: Uuid) -> Result<Option<GrantRow>, StorageError> {
    let sql = concat!(grant_select!(), "WHERE g.id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
}

/// Access requests, waiting ones first, then the newest; of one account, or of everyone.
pub async fn list_grants(
    authorised: &mut Authorised,
    user_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<GrantRow>, StorageError> {
    macro_rules! waiting_first {
        () => {
            " ORDER BY CASE WHEN g.decision = 'pending' THEN 0 ELSE 1 END, \
             g.requested_micros DESC LIMIT $2"
        };
    }
    let sql = match user_id {
        Some(_) => concat!(grant_select!(), "WHERE g.user_id = $1", waiting_first!()),
        None => concat!(grant_select!(), "WHERE $1 IS NULL", waiting_first!()),
    };
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(user_id).bind(limit).fetch_all(c).await?))
}

/// How many of this person's grants wait for a second person.
pub async fn pending_grants(db: &Db, user_id: Uuid) -> Result<i64, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM access_grants WHERE user_id = $1 AND decision = 'pending'",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await?
    }))
}

/// The roles in effect for an account.
pub async fn roles_in_effect(db: &Db, user_id: Uuid) -> Result<Vec<Role>, StorageError> {
    let slugs: Vec<String> = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(pool)
            .await?
    });
    Ok(slugs.iter().filter_map(|r| Role::from_slug(r)).collect())
}

/// The roles asked for an account that wait for a second person.
pub async fn waiting_roles(db: &Db, user_id: Uuid) -> Result<Vec<Role>, StorageError> {
    let slugs: Vec<String> = on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT role FROM access_grants WHERE user_id = $1 AND decision = 'pending'",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?
    });
    Ok(slugs.iter().filter_map(|r| Role::from_slug(r)).collect())
}

/// Approves or refuses a waiting grant; an approved one takes effect at once. A grant decided
/// meanwhile, or one that would give an administrator a case role, is a `Conflict`.
pub async fn decide_grant(
    authorised: &mut Authorised,
    grant_id: Uuid,
    decided_by: Uuid,
    approve: bool,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let decided: Option<(Uuid, String, Option<String>)> = on_tx!(tx, c => {
        sqlx::query_as(
            "UPDATE access_grants SET decision = $1, decided_by = $2, decided_micros = $3 \
             WHERE id = $4 AND decision = 'pending' RETURNING user_id, role, locality_slug",
        )
        .bind(if approve { "approved" } else { "refused" })
        .bind(decided_by)
        .bind(now_micros())
        .bind(grant_id)
        .fetch_optional(&mut *c)
        .await?
    });
    let Some((user_id, role, locality)) = decided else {
        return Err(StorageError::Conflict(
            "This request has already been approved or refused".into(),
        ));
    };
    if !approve {
        return Ok(());
    }
    let role = Role::from_slug(&role)
        .ok_or_else(|| StorageError::Conflict(format!("There is no role called {role}")))?;
    let mut held: Vec<Role> = on_tx!(tx, c => {
        sqlx::query_scalar::<_, String>("SELECT role FROM user_roles WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *c)
            .await?
    })
    .iter()
    .filter_map(|r| Role::from_slug(r))
    .collect();
    held.push(role);
    check_role_set(&held).map_err(StorageError::Conflict)?;
    put_in_effect(tx, user_id, role, locality.as_deref()).await
}

pub async fn list_users(authorised: &mut Authorised) -> Result<Vec<UserRow>, StorageError> {
    let sql = "SELECT u.id, u.email, u.name, u.organisation_id, o.name AS organisation_name, \
               u.active, u.last_active_micros FROM users u JOIN organisations o ON o.id = u.organisation_id \
               ORDER BY o.name, u.name";
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => sqlx::query_as(sql).fetch_all(c).await?))
}

/// The emails of accounts locked now: `threshold` failed sign-ins or more in a window that
/// began within `window_micros` (the next attempt is refused unchecked).
pub async fn locked_emails(
    authorised: &mut Authorised,
    threshold: i64,
    window_micros: i64,
) -> Result<Vec<String>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT u.email FROM users u JOIN sign_in_attempts a ON a.email = u.email \
             WHERE a.attempts >= $1 AND a.window_start_micros >= $2 ORDER BY u.email",
        )
        .bind(threshold)
        .bind(now_micros() - window_micros)
        .fetch_all(c)
        .await?
    }))
}

/// One account, with the roles and localities in effect.
pub struct Account {
    pub row: UserRow,
    pub roles: Vec<Role>,
    pub localities: Vec<String>,
}

pub async fn account(
    authorised: &mut Authorised,
    id: Uuid,
) -> Result<Option<Account>, StorageError> {
    let tx = &mut authorised.tx;
    let (row, roles, localities): (Option<UserRow>, Vec<String>, Vec<String>) = on_tx!(tx, c => {
        let row = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.organisation_id, o.name AS organisation_name, \
             u.active, u.last_active_micros FROM users u \
             JOIN organisations o ON o.id = u.organisation_id WHERE u.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
        let roles = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
        let localities = sqlx::query_scalar(
            "SELECT locality_slug FROM user_localities WHERE user_id = $1 ORDER BY locality_slug",
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        (row, roles, localities)
    });
    Ok(row.map(|row| Account {
        row,
        roles: roles.iter().filter_map(|r| Role::from_slug(r)).collect(),
        localities,
    }))
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

/// The signed-in person's columns of `users u` and `organisations o`, with their roles and
/// localities as JSON arrays: one statement, as every signed-in request asks it (see
/// `json_rows`).
macro_rules! signed_in_columns {
    () => {
        "u.email, u.name, u.organisation_id, o.name AS organisation_name, \
         (SELECT COALESCE(json_group_array(r.role ORDER BY r.role), '[]') \
           FROM user_roles r WHERE r.user_id = u.id) AS roles, \
         (SELECT COALESCE(json_group_array(l.locality_slug ORDER BY l.locality_slug), '[]') \
           FROM user_localities l WHERE l.user_id = u.id) AS localities"
    };
}

/// Loads the signed-in person with their roles and localities; `None` if inactive or gone.
pub async fn signed_in(db: &Db, user_id: Uuid) -> Result<Option<SignedIn>, StorageError> {
    const SQL: &str = concat!(
        "SELECT ",
        signed_in_columns!(),
        " FROM users u JOIN organisations o ON o.id = u.organisation_id \
         WHERE u.id = $1 AND u.active"
    );
    static POSTGRES: LazyLock<String> = LazyLock::new(|| crate::json_rows::postgres(SQL));
    let row: Option<SignedInRow> = match db {
        Db::Sqlite(pool, _) => {
            sqlx::query_as(SQL)
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        }
        Db::Postgres(pool, _) => {
            sqlx::query_as(POSTGRES.as_str())
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(row.map(|row| row.signed_in(user_id)))
}

#[derive(sqlx::FromRow)]
struct SignedInRow {
    email: String,
    name: String,
    organisation_id: Uuid,
    organisation_name: String,
    roles: Json<Vec<String>>,
    localities: Json<Vec<String>>,
}

impl SignedInRow {
    fn signed_in(self, user_id: Uuid) -> SignedIn {
        SignedIn {
            name: self.name,
            organisation_name: self.organisation_name,
            actor: Actor {
                user_id,
                email: self.email,
                organisation_id: self.organisation_id,
                roles: in_effect(
                    self.roles
                        .iter()
                        .filter_map(|r| Role::from_slug(r))
                        .collect(),
                ),
                localities: self.localities.0,
            },
        }
    }
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

/// Counts one sign-in attempt for `email` and answers how many its window now holds, this one
/// included. It is one statement, taken before the password is checked, so however many
/// guesses arrive at once each gets its own number and only the first few are checked. A
/// window that began more than `window_micros` ago starts again at one.
pub async fn count_sign_in_attempt(
    db: &Db,
    email: &str,
    window_micros: i64,
) -> Result<i64, StorageError> {
    let now = now_micros();
    let mut tx = db.begin().await?;
    let attempts = on_tx!(&mut tx, c => {
        sqlx::query_scalar(
            "INSERT INTO sign_in_attempts (email, window_start_micros, attempts) VALUES ($1, $2, 1) \
             ON CONFLICT (email) DO UPDATE SET \
             attempts = CASE WHEN sign_in_attempts.window_start_micros < $3 THEN 1 \
                        ELSE sign_in_attempts.attempts + 1 END, \
             window_start_micros = CASE WHEN sign_in_attempts.window_start_micros < $3 \
                        THEN excluded.window_start_micros \
                        ELSE sign_in_attempts.window_start_micros END \
             RETURNING attempts",
        )
        .bind(email)
        .bind(now)
        .bind(now - window_micros)
        .fetch_one(&mut *c)
        .await?
    });
    tx.commit().await?;
    Ok(attempts)
}

/// After a right password: the count starts again. Windows that have ended are forgotten too.
pub async fn clear_sign_in_attempts(
    db: &Db,
    email: &str,
    window_micros: i64,
) -> Result<(), StorageError> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => {
        sqlx::query("DELETE FROM sign_in_attempts WHERE email = $1 OR window_start_micros < $2")
            .bind(email)
            .bind(now_micros() - window_micros)
            .execute(&mut *c)
            .await?;
    });
    tx.commit().await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub user_id: Uuid,
    pub csrf_token: String,
    pub created_micros: i64,
    pub last_seen_micros: i64,
    /// The password was right but the second factor is still to come: not yet signed in.
    pub second_factor_pending: bool,
}

/// Starts a session and returns its token (for the cookie) and CSRF token (for forms). A
/// session `pending` a second factor opens no page but the second factor's.
pub async fn create_session(
    db: &Db,
    user_id: Uuid,
    pending: bool,
) -> Result<(String, String), StorageError> {
    let (token, csrf) = (random_token(), random_token());
    let at = now_micros();
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_micros, last_seen_micros, \
             second_factor_pending) VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(&csrf)
        .bind(at)
        .bind(pending)
        .execute(pool)
        .await?;
        if !pending {
            sqlx::query("UPDATE users SET last_active_micros = $1 WHERE id = $2")
                .bind(at)
                .bind(user_id)
                .execute(pool)
                .await?;
        }
    });
    Ok((token, csrf))
}

/// The second factor was right: the session is signed in.
pub async fn complete_second_factor(db: &Db, token: &str) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query("UPDATE sessions SET second_factor_pending = FALSE WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(pool)
            .await?;
        sqlx::query(
            "UPDATE users SET last_active_micros = $1 \
             WHERE id = (SELECT user_id FROM sessions WHERE token_hash = $2)",
        )
        .bind(now_micros())
        .bind(token_hash(token))
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// One of a person's sessions, as their session list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionLine {
    pub token_hash: String,
    pub created_micros: i64,
    pub last_seen_micros: i64,
}

/// A person's signed-in sessions, the most recently used first.
pub async fn sessions_of(db: &Db, user_id: Uuid) -> Result<Vec<SessionLine>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT token_hash, created_micros, last_seen_micros FROM sessions \
             WHERE user_id = $1 AND NOT second_factor_pending ORDER BY last_seen_micros DESC",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await?
    }))
}

/// Ends every session of `user_id` but the one whose token is `keep`; answers how many ended.
pub async fn end_other_sessions(db: &Db, user_id: Uuid, keep: &str) -> Result<u64, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(token_hash(keep))
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

/// The session `token` names and its person, in one statement (every signed-in request asks
/// it); `None` if there is no such session or its person is inactive or gone.
pub async fn session(db: &Db, token: &str) -> Result<Option<(Session, SignedIn)>, StorageError> {
    const SQL: &str = concat!(
        "SELECT s.user_id, s.csrf_token, s.created_micros, s.last_seen_micros, \
         s.second_factor_pending, ",
        signed_in_columns!(),
        " FROM sessions s JOIN users u ON u.id = s.user_id AND u.active \
         JOIN organisations o ON o.id = u.organisation_id WHERE s.token_hash = $1"
    );
    static POSTGRES: LazyLock<String> = LazyLock::new(|| crate::json_rows::postgres(SQL));
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        session: Session,
        #[sqlx(flatten)]
        person: SignedInRow,
    }
    let hash = token_hash(token);
    let row: Option<Row> = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(SQL).bind(hash).fetch_optional(pool).await?,
        Db::Postgres(pool, _) => {
            sqlx::query_as(POSTGRES.as_str())
                .bind(hash)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(row.map(|row| {
        let user_id = row.session.user_id;
        (row.session, row.person.signed_in(user_id))
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

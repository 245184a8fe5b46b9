//! Participatory budgeting for community grants: voting rounds on shortlisted applications,
//! one-time codes (by email through the outbox, or printed for an event), ballots and the
//! tally. See `docs/budgeting.md`.
//!
//! A round is opened under an [`Authorised`] permit. A vote does not pass the gate and writes no
//! audit event (an event would keep the moment and the address); it marks its voter in
//! `budgeting_voters` and drops its ballot in the ballot box. Ballots leave the box once, after
//! voting closes, all together and shuffled, in a transaction that also rewrites every mark and
//! code of the round ([`mix`]): no counted row keeps the transaction or order of its vote.

use crate::gate::Authorised;
use crate::secrets::token_hash;
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::budgeting::{
    CheckedRound, MAX_PRINTED, code_from, normalise_code, voting_address,
};
use earlyhelp_domain::cases::iso;
use earlyhelp_domain::grants::{ApplicationState, MIN_ASSESSORS};
use rand::RngCore;
use rand::seq::SliceRandom;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RoundRow {
    pub id: Uuid,
    pub programme_id: Uuid,
    pub programme_name: String,
    pub locality_slug: String,
    pub title: String,
    pub opens_on: String,
    pub closes_on: String,
    pub panel_weight: i64,
    pub choices: i64,
}

impl RoundRow {
    pub fn dates(&self) -> (time::Date, time::Date) {
        let day = |s: &str| earlyhelp_domain::cases::parse_date(s).unwrap_or(time::Date::MIN);
        (day(&self.opens_on), day(&self.closes_on))
    }

    /// The day voting opens, as people write it: "1 March 2026".
    pub fn opens(&self) -> String {
        written(&self.opens_on)
    }

    /// The last day to vote, as people write it.
    pub fn closes(&self) -> String {
        written(&self.closes_on)
    }
}

fn written(iso: &str) -> String {
    earlyhelp_domain::cases::parse_date(iso).map_or_else(
        || iso.to_string(),
        |d| format!("{} {} {}", d.day(), d.month(), d.year()),
    )
}

/// A shortlisted application, as the ballot and the tally show it, with the panel's scores.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OptionRow {
    pub application_id: Uuid,
    pub reference: String,
    pub organisation_name: String,
    pub title: String,
    pub activity: String,
    pub amount_pence: i64,
    pub score_sum: i64,
    pub assessors: i64,
    pub criteria: i64,
}

/// The columns of an [`OptionRow`] from `grant_applications a`.
macro_rules! option_columns {
    () => {
        "a.id AS application_id, a.reference, a.organisation_name, a.title, a.activity, \
         a.amount_pence, \
         (SELECT CAST(COALESCE(SUM(s.score), 0) AS BIGINT) FROM grant_scores s WHERE s.application_id = a.id) AS score_sum, \
         (SELECT COUNT(DISTINCT s.assessor_id) FROM grant_scores s WHERE s.application_id = a.id) AS assessors, \
         (SELECT COUNT(*) FROM programme_criteria k WHERE k.programme_id = a.programme_id) AS criteria "
    };
}

/// The applications that may be put to a vote: submitted to `programme` for `locality`, not yet
/// decided, and scored by at least [`MIN_ASSESSORS`] assessors.
pub async fn shortlist(
    tx: &mut Tx,
    programme: Uuid,
    locality: &str,
) -> Result<Vec<OptionRow>, StorageError> {
    let rows: Vec<OptionRow> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            option_columns!(),
            "FROM grant_applications a WHERE a.programme_id = $1 AND a.locality_slug = $2 \
             AND a.state = $3 ORDER BY a.submitted_micros, a.id"
        ))
        .bind(programme)
        .bind(locality)
        .bind(ApplicationState::Submitted.slug())
        .fetch_all(c)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter(|r| r.assessors >= MIN_ASSESSORS as i64)
        .collect())
}

/// Opens a round on `programme`'s applications for `locality`: its id.
pub async fn create_round(
    authorised: &mut Authorised,
    programme: Uuid,
    locality: &str,
    round: &CheckedRound,
    by: &str,
) -> Result<Uuid, StorageError> {
    authorised.permit.allows_change()?;
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO budgeting_rounds (id, programme_id, locality_slug, title, opens_on, \
             closes_on, panel_weight, choices, created_by, created_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(programme)
        .bind(locality)
        .bind(&round.title)
        .bind(iso(round.opens_on))
        .bind(iso(round.closes_on))
        .bind(round.panel_weight)
        .bind(round.choices)
        .bind(by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    for (position, application) in round.options.iter().enumerate() {
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO budgeting_options (round_id, application_id, position) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(application)
            .bind(position as i64)
            .execute(c)
            .await?;
        });
    }
    Ok(id)
}

macro_rules! select_rounds {
    () => {
        "SELECT r.id, r.programme_id, p.name AS programme_name, r.locality_slug, r.title, \
         r.opens_on, r.closes_on, r.panel_weight, r.choices \
         FROM budgeting_rounds r JOIN programmes p ON p.id = r.programme_id "
    };
}

/// Every round, the latest to close first.
pub async fn rounds(db: &Db) -> Result<Vec<RoundRow>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(select_rounds!(), "ORDER BY r.closes_on DESC, r.id"))
            .fetch_all(pool)
            .await?
    }))
}

pub async fn round(db: &Db, id: Uuid) -> Result<Option<RoundRow>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(select_rounds!(), "WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// The projects on round `id`'s ballot, in the order the officer gave.
pub async fn options(db: &Db, id: Uuid) -> Result<Vec<OptionRow>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(
            "SELECT ",
            option_columns!(),
            "FROM budgeting_options o JOIN grant_applications a ON a.id = o.application_id \
             WHERE o.round_id = $1 ORDER BY o.position"
        ))
        .bind(id)
        .fetch_all(pool)
        .await?
    }))
}

fn new_code() -> String {
    let mut rng = rand::rng();
    code_from(std::iter::repeat_with(|| rng.next_u32() as u8))
}

/// What is kept of a code: a hash over the round and the code as typed, normalised.
fn code_hash(round: Uuid, code: &str) -> String {
    token_hash(&format!("{round}:code:{}", normalise_code(code)))
}

/// What is kept of an email address: a hash over the round and the address as one person
/// ([`voting_address`]), so one inbox votes once per round and the address is not kept.
fn email_hash(round: Uuid, email: &str) -> String {
    token_hash(&format!("{round}:email:{}", voting_address(email)))
}

async fn insert_code(
    tx: &mut Tx,
    round: Uuid,
    code: &str,
    kind: &str,
    voter_hash: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO budgeting_codes (round_id, code_hash, kind, voter_hash, used) \
             VALUES ($1, $2, $3, $4, FALSE)",
        )
        .bind(round)
        .bind(code_hash(round, code))
        .bind(kind)
        .bind(voter_hash)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Prints `count` single-use codes for an event: answered once, kept only as hashes. `None`
/// if the round would then have more than [`MAX_PRINTED`] printed codes.
pub async fn event_codes(
    authorised: &mut Authorised,
    round: Uuid,
    count: i64,
) -> Result<Option<Vec<String>>, StorageError> {
    authorised.permit.allows_change()?;
    let counted = on_tx!(&mut authorised.tx, c => {
        sqlx::query(
            "UPDATE budgeting_rounds SET codes_printed = codes_printed + $2 \
             WHERE id = $1 AND codes_printed + $2 <= $3",
        )
        .bind(round)
        .bind(count)
        .bind(MAX_PRINTED)
        .execute(c)
        .await?
        .rows_affected()
    });
    if counted != 1 {
        return Ok(None);
    }
    let mut codes = Vec::new();
    for _ in 0..count {
        let code = new_code();
        // An event code is its own voter: whoever holds the card votes once.
        let voter = code_hash(round, &code);
        insert_code(&mut authorised.tx, round, &code, "event", &voter).await?;
        codes.push(code);
    }
    Ok(Some(codes))
}

/// Whether `user` has declared a conflict of interest in any of `applications`.
pub async fn conflicted(
    tx: &mut Tx,
    user: Uuid,
    applications: &[Uuid],
) -> Result<bool, StorageError> {
    for application in applications {
        let found: i64 = on_tx!(&mut *tx, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM grant_conflicts WHERE application_id = $1 AND assessor_id = $2",
            )
            .bind(application)
            .bind(user)
            .fetch_one(c)
            .await?
        });
        if found > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Sends a one-time code to `email` (normalised) for round `round`, through the outbox. An
/// address may ask again (a lost email): the new code replaces its unused old one, and it
/// still votes only once. The outbox forgets the code and address once sent
/// ([`crate::outbox::sent`]).
pub async fn email_code(db: &Db, round: &RoundRow, email: &str) -> Result<(), StorageError> {
    let code = new_code();
    let voter = email_hash(round.id, email);
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => {
        sqlx::query(
            "DELETE FROM budgeting_codes WHERE round_id = $1 AND voter_hash = $2 \
             AND kind = 'email' AND used = FALSE",
        )
        .bind(round.id)
        .bind(&voter)
        .execute(&mut *c)
        .await?;
        sqlx::query("UPDATE budgeting_rounds SET codes_emailed = codes_emailed + 1 WHERE id = $1")
            .bind(round.id)
            .execute(&mut *c)
            .await?;
    });
    insert_code(&mut tx, round.id, &code, "email", &voter).await?;
    let subject = format!("Your code to vote: {}", round.title);
    let body = format!(
        "Your code to vote in \"{}\" is {code}. It works once, until voting closes on {}. \
         If you did not ask for it, you need do nothing.",
        round.title,
        round.closes()
    );
    crate::outbox::enqueue(
        &mut tx,
        email,
        &subject,
        &body,
        &format!("{}{}", crate::outbox::FORGOTTEN_ONCE_SENT, round.id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What became of a vote.
#[derive(Debug, Clone, PartialEq)]
pub enum Cast {
    /// Counted: the ballot's receipt.
    Counted(Uuid),
    /// Unknown or already used: one answer for both, so a guess learns nothing.
    BadCode,
    /// The person (their email address) has voted in this round already, with another code.
    AlreadyVoted,
    /// Voting is not open today, or the round has been counted.
    Closed,
}

/// Casts a ballot choosing `choices` in `round` with `code`. The code is used up, the person
/// marked as having voted and the ballot dropped in the box in one transaction; the box is
/// mixed into the count only once voting has closed ([`mix`]).
pub async fn cast(
    db: &Db,
    round: Uuid,
    code: &str,
    choices: &[Uuid],
) -> Result<Cast, StorageError> {
    let hash = code_hash(round, code);
    let today = iso(crate::cases::today());
    let mut tx = db.begin().await?;
    // The dates again, in the vote's transaction, and a lock on the round's row: the count
    // takes the same lock first, so no ballot reaches the box after it has been emptied.
    let open = on_tx!(&mut tx, c => {
        sqlx::query(
            "UPDATE budgeting_rounds SET counted = counted WHERE id = $1 AND counted = FALSE \
             AND opens_on <= $2 AND closes_on >= $2",
        )
        .bind(round)
        .bind(&today)
        .execute(c)
        .await?
        .rows_affected()
    });
    if open != 1 {
        return Ok(Cast::Closed);
    }
    let claimed: Option<(String, String)> = on_tx!(&mut tx, c => {
        sqlx::query_as(
            "UPDATE budgeting_codes SET used = TRUE WHERE round_id = $1 AND code_hash = $2 \
             AND used = FALSE RETURNING voter_hash, kind",
        )
        .bind(round)
        .bind(&hash)
        .fetch_optional(c)
        .await?
    });
    let Some((voter, kind)) = claimed else {
        return Ok(Cast::BadCode);
    };
    let marked = on_tx!(&mut tx, c => {
        sqlx::query(
            "INSERT INTO budgeting_voters (round_id, voter_hash, kind) VALUES ($1, $2, $3) \
             ON CONFLICT (round_id, voter_hash) DO NOTHING",
        )
        .bind(round)
        .bind(&voter)
        .bind(&kind)
        .execute(c)
        .await?
        .rows_affected()
    });
    if marked != 1 {
        // Rolled back: the new code stays unused, and nothing is counted twice.
        return Ok(Cast::AlreadyVoted);
    }
    // A random id, not time-ordered: it is the voter's receipt and says nothing of when.
    let receipt = Uuid::new_v4();
    let listed = choices
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",");
    on_tx!(&mut tx, c => {
        sqlx::query("INSERT INTO budgeting_ballot_box (id, round_id, choices) VALUES ($1, $2, $3)")
            .bind(receipt)
            .bind(round)
            .bind(&listed)
            .execute(c)
            .await?;
    });
    tx.commit().await?;
    Ok(Cast::Counted(receipt))
}

/// Counts `round` once voting has closed: once only, in one transaction that marks the round
/// counted, rewrites every voter mark and code of the round, and moves every ballot from the
/// box into the count in a shuffled order. On PostgreSQL every mark, code and counted ballot
/// of the round then carries this transaction's id (xmin), not its voter's. The number of
/// ballots moved; 0 if voting is still open or the round was counted already.
pub async fn mix(db: &Db, round: Uuid) -> Result<usize, StorageError> {
    let today = iso(crate::cases::today());
    let mut tx = db.begin().await?;
    // The round's row lock: a second count waits here, then finds the round counted.
    let counting = on_tx!(&mut tx, c => {
        sqlx::query(
            "UPDATE budgeting_rounds SET counted = TRUE WHERE id = $1 AND counted = FALSE \
             AND closes_on < $2",
        )
        .bind(round)
        .bind(&today)
        .execute(c)
        .await?
        .rows_affected()
    });
    if counting != 1 {
        return Ok(0);
    }
    let mut waiting: Vec<(Uuid, String)> = on_tx!(&mut tx, c => {
        sqlx::query("UPDATE budgeting_voters SET kind = kind WHERE round_id = $1")
            .bind(round)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE budgeting_codes SET used = used WHERE round_id = $1")
            .bind(round)
            .execute(&mut *c)
            .await?;
        sqlx::query_as("DELETE FROM budgeting_ballot_box WHERE round_id = $1 RETURNING id, choices")
            .bind(round)
            .fetch_all(&mut *c)
            .await?
    });
    waiting.shuffle(&mut rand::rng());
    for (id, choices) in &waiting {
        on_tx!(&mut tx, c => {
            sqlx::query("INSERT INTO budgeting_ballots (id, round_id) VALUES ($1, $2)")
                .bind(id)
                .bind(round)
                .execute(&mut *c)
                .await?;
        });
        for choice in choices.split(',').filter_map(|s| Uuid::parse_str(s).ok()) {
            on_tx!(&mut tx, c => {
                sqlx::query(
                    "INSERT INTO budgeting_ballot_choices (ballot_id, application_id) VALUES ($1, $2)",
                )
                .bind(id)
                .bind(choice)
                .execute(c)
                .await?;
            });
        }
    }
    tx.commit().await?;
    Ok(waiting.len())
}

/// Counts every round whose voting has closed and that is not counted yet ([`mix`]).
pub async fn count_closed(db: &Db) -> Result<(), StorageError> {
    let today = iso(crate::cases::today());
    let due: Vec<Uuid> = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT id FROM budgeting_rounds WHERE counted = FALSE AND closes_on < $1")
            .bind(&today)
            .fetch_all(pool)
            .await?
    });
    for round in due {
        mix(db, round).await?;
    }
    Ok(())
}

/// The count for one round: ballots counted and waiting, votes per project, and the marks
/// that must add up to the ballots.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    pub counted: i64,
    pub waiting: i64,
    /// (application, votes), every project on the ballot.
    pub votes: Vec<(Uuid, i64)>,
    pub voters_by_email: i64,
    pub voters_by_event_code: i64,
    pub codes_used: i64,
    pub codes_emailed: i64,
    pub codes_printed: i64,
}

pub async fn tally(db: &Db, round: Uuid) -> Result<Tally, StorageError> {
    type Counts = (i64, i64, i64, i64, i64, i64, i64);
    let (counted, waiting, email, event, used, emailed, printed): Counts = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM budgeting_ballots WHERE round_id = $1), \
             (SELECT COUNT(*) FROM budgeting_ballot_box WHERE round_id = $1), \
             (SELECT COUNT(*) FROM budgeting_voters WHERE round_id = $1 AND kind = 'email'), \
             (SELECT COUNT(*) FROM budgeting_voters WHERE round_id = $1 AND kind = 'event'), \
             (SELECT COUNT(*) FROM budgeting_codes WHERE round_id = $1 AND used = TRUE), \
             (SELECT codes_emailed FROM budgeting_rounds WHERE id = $1), \
             (SELECT codes_printed FROM budgeting_rounds WHERE id = $1)",
        )
        .bind(round)
        .fetch_one(pool)
        .await?
    });
    let votes: Vec<(Uuid, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT o.application_id, (SELECT COUNT(*) FROM budgeting_ballot_choices c \
             JOIN budgeting_ballots b ON b.id = c.ballot_id \
             WHERE b.round_id = o.round_id AND c.application_id = o.application_id) \
             FROM budgeting_options o WHERE o.round_id = $1 ORDER BY o.position",
        )
        .bind(round)
        .fetch_all(pool)
        .await?
    });
    Ok(Tally {
        counted,
        waiting,
        votes,
        voters_by_email: email,
        voters_by_event_code: event,
        codes_used: used,
        codes_emailed: emailed,
        codes_printed: printed,
    })
}

/// Every counted ballot of `round` by its receipt, with the projects it chose, in receipt
/// order (random): a voter finds their own; nobody finds anyone else's.
pub async fn ballots(db: &Db, round: Uuid) -> Result<Vec<(Uuid, Uuid)>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT b.id, c.application_id FROM budgeting_ballots b \
             JOIN budgeting_ballot_choices c ON c.ballot_id = b.id \
             WHERE b.round_id = $1 ORDER BY b.id, c.application_id",
        )
        .bind(round)
        .fetch_all(pool)
        .await?
    }))
}

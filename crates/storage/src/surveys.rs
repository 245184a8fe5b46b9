//! Surveys, their anonymous answers, free text awaiting moderation, and "you said, we did".
//!
//! Officers' changes take an [`Authorised`] (the gate has checked and audited them). A public
//! answer does not pass the gate and writes no audit event: an event would record the moment
//! and the address it came from, which is what an anonymous answer must not keep. It stores the
//! day only, never a user, session or address, and its free text apart from its choices.

use crate::gate::Authorised;
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::surveys::{
    Answered, Question, QuestionKind, Response, YouSaid, personal_details,
};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Survey {
    pub id: Uuid,
    pub title: String,
    pub intro: String,
    /// `draft`, `published` or `closed`.
    pub state: String,
}

/// A survey in the officers' list, with how many have answered.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SurveyLine {
    pub id: Uuid,
    pub title: String,
    pub state: String,
    pub responses: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub position: i32,
    pub answered_on: String,
    pub locality: String,
    pub body: String,
    pub flags: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct YouSaidRow {
    pub id: Uuid,
    pub theme: String,
    pub said: String,
    pub did: String,
    pub done_on: String,
    pub locality: Option<String>,
    pub outcome_number: Option<i32>,
}

pub async fn create(
    authorised: &mut Authorised,
    title: &str,
    intro: &str,
    by: &str,
) -> Result<Uuid, StorageError> {
    authorised.permit.allows_change()?;
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO surveys (id, title, intro, state, created_by, created_micros) \
             VALUES ($1, $2, $3, 'draft', $4, $5)",
        )
        .bind(id)
        .bind(title)
        .bind(intro)
        .bind(by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Adds a question at the end of draft survey `survey`; `false` if it is not a draft.
pub async fn add_question(
    authorised: &mut Authorised,
    survey: Uuid,
    question: &Question,
) -> Result<bool, StorageError> {
    authorised.permit.allows_change()?;
    let tx = &mut authorised.tx;
    let added = on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO survey_questions (survey_id, position, kind, prompt, options, \
             indicator_ref, counted) \
             SELECT s.id, (SELECT COUNT(*) FROM survey_questions q WHERE q.survey_id = s.id), \
             $2, $3, $4, $5, $6 FROM surveys s WHERE s.id = $1 AND s.state = 'draft'",
        )
        .bind(survey)
        .bind(question.kind.slug())
        .bind(&question.prompt)
        .bind(question.options.join("\n"))
        .bind(&question.indicator)
        .bind(question.counted.join("\n"))
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(added == 1)
}

/// Moves `survey` from state `from` to `to` (draft to published, published to closed).
pub async fn set_state(
    authorised: &mut Authorised,
    survey: Uuid,
    from: &str,
    to: &str,
) -> Result<bool, StorageError> {
    authorised.permit.allows_change()?;
    let tx = &mut authorised.tx;
    let changed = on_tx!(tx, c => {
        sqlx::query("UPDATE surveys SET state = $3 WHERE id = $1 AND state = $2")
            .bind(survey)
            .bind(from)
            .bind(to)
            .execute(c)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

/// Survey `id`, whatever its state (the public pages show only published and closed ones).
pub async fn survey(db: &Db, id: Uuid) -> Result<Option<Survey>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, title, intro, state FROM surveys WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Published surveys, newest first, for the public.
pub async fn published(db: &Db) -> Result<Vec<Survey>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, title, intro, state FROM surveys WHERE state <> 'draft' \
             ORDER BY created_micros DESC",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Every survey, newest first, with how many have answered.
pub async fn list(authorised: &mut Authorised) -> Result<Vec<SurveyLine>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT s.id, s.title, s.state, (SELECT COUNT(*) FROM survey_responses r \
             WHERE r.survey_id = s.id) AS responses FROM surveys s ORDER BY s.created_micros DESC",
        )
        .fetch_all(c)
        .await?
    }))
}

type QuestionRow = (String, String, String, Option<String>, String);

/// Survey `id`'s questions in order.
pub async fn questions(db: &Db, id: Uuid) -> Result<Vec<Question>, StorageError> {
    let rows: Vec<QuestionRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT kind, prompt, options, indicator_ref, counted FROM survey_questions \
             WHERE survey_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
    });
    let split = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    Ok(rows
        .into_iter()
        .filter_map(|(kind, prompt, options, indicator, counted)| {
            Some(Question {
                kind: QuestionKind::from_slug(&kind)?,
                prompt,
                options: split(&options),
                indicator,
                counted: split(&counted),
            })
        })
        .collect())
}

/// Stores one anonymous answer to published survey `survey`: its choices under a random id,
/// its free text apart, flagged and waiting for a moderator. `false` if the survey is not open.
pub async fn submit(
    db: &Db,
    survey: Uuid,
    response: &Response,
    today: time::Date,
) -> Result<bool, StorageError> {
    let mut tx = db.begin().await?;
    let day = today.to_string();
    // A random id (not time-ordered), so ids do not give away the order people answered in.
    let id = Uuid::new_v4();
    let stored = on_tx!(&mut tx, c => {
        sqlx::query(
            "INSERT INTO survey_responses (id, survey_id, answered_on, age_band, locality, \
             ethnic_group) SELECT $1, id, $3, $4, $5, $6 FROM surveys \
             WHERE id = $2 AND state = 'published'",
        )
        .bind(id)
        .bind(survey)
        .bind(&day)
        .bind(&response.age_band)
        .bind(&response.locality)
        .bind(&response.ethnic_group)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    if stored != 1 {
        return Ok(false);
    }
    for (position, choice) in &response.choices {
        insert_choice(&mut tx, id, *position, choice).await?;
    }
    for (position, body) in &response.texts {
        let flags = personal_details(body).join("; ");
        on_tx!(&mut tx, c => {
            sqlx::query(
                "INSERT INTO survey_comments (id, survey_id, position, answered_on, locality, \
                 body, flags, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting')",
            )
            .bind(Uuid::new_v4())
            .bind(survey)
            .bind(*position as i32)
            .bind(&day)
            .bind(&response.locality)
            .bind(body)
            .bind(&flags)
            .execute(c)
            .await?;
        });
    }
    tx.commit().await?;
    Ok(true)
}

async fn insert_choice(
    tx: &mut Tx,
    id: Uuid,
    position: usize,
    choice: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query("INSERT INTO survey_choices (response_id, position, choice) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(position as i32)
            .bind(choice)
            .execute(c)
            .await?;
    });
    Ok(())
}

type AnswerRow = (
    Uuid,
    String,
    String,
    String,
    String,
    Option<i32>,
    Option<String>,
);

/// Every response to `survey`, as the results read them.
pub async fn answers(db: &Db, survey: Uuid) -> Result<Vec<Answered>, StorageError> {
    let rows: Vec<AnswerRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT r.id, r.answered_on, r.age_band, r.locality, r.ethnic_group, c.position, \
             c.choice FROM survey_responses r LEFT JOIN survey_choices c ON c.response_id = r.id \
             WHERE r.survey_id = $1 ORDER BY r.id",
        )
        .bind(survey)
        .fetch_all(pool)
        .await?
    });
    let mut out: Vec<Answered> = Vec::new();
    let mut last = None;
    for (id, day, age_band, locality, ethnic_group, position, choice) in rows {
        if last != Some(id) {
            last = Some(id);
            out.push(Answered {
                month: day.get(..7).unwrap_or("").to_string(),
                age_band,
                locality,
                ethnic_group,
                choices: Vec::new(),
            });
        }
        if let (Some(position), Some(choice), Some(answered)) = (position, choice, out.last_mut()) {
            answered.choices.push((position.max(0) as usize, choice));
        }
    }
    Ok(out)
}

/// The columns of a [`Comment`].
macro_rules! select_comments {
    () => {
        "SELECT id, survey_id, position, answered_on, locality, body, flags, state \
         FROM survey_comments "
    };
}

/// Free text waiting for a moderator, oldest first.
pub async fn waiting(authorised: &mut Authorised) -> Result<Vec<Comment>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            select_comments!(),
            "WHERE state = 'waiting' ORDER BY answered_on, id"
        ))
        .fetch_all(c)
        .await?
    }))
}

/// Free text a moderator has approved for `survey`, for the public results.
pub async fn approved(db: &Db, survey: Uuid) -> Result<Vec<Comment>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(
            select_comments!(),
            "WHERE survey_id = $1 AND state = 'approved' ORDER BY position, answered_on, id"
        ))
        .bind(survey)
        .fetch_all(pool)
        .await?
    }))
}

/// Approves comment `id` as the moderator has edited it, or rejects it; `false` if it was not
/// waiting.
pub async fn moderate(
    authorised: &mut Authorised,
    id: Uuid,
    approve: bool,
    body: &str,
    by: &str,
) -> Result<bool, StorageError> {
    authorised.permit.allows_change()?;
    let state = if approve { "approved" } else { "rejected" };
    // A rejected comment keeps no text: nobody will read it again.
    let body = if approve { body } else { "" };
    let tx = &mut authorised.tx;
    let changed = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE survey_comments SET state = $2, body = $3, moderated_by = $4, \
             moderated_micros = $5 WHERE id = $1 AND state = 'waiting'",
        )
        .bind(id)
        .bind(state)
        .bind(body)
        .bind(by)
        .bind(now_micros())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}

pub async fn add_you_said(
    authorised: &mut Authorised,
    entry: &YouSaid,
    by: &str,
) -> Result<Uuid, StorageError> {
    authorised.permit.allows_change()?;
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO you_said_we_did (id, theme, said, did, done_on, locality, \
             outcome_number, recorded_by, recorded_micros) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(&entry.theme)
        .bind(&entry.said)
        .bind(&entry.did)
        .bind(entry.done_on.to_string())
        .bind(&entry.locality)
        .bind(entry.outcome)
        .bind(by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Every "you said, we did", most recently done first.
pub async fn you_said(db: &Db) -> Result<Vec<YouSaidRow>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, theme, said, did, done_on, locality, outcome_number FROM you_said_we_did \
             ORDER BY done_on DESC, recorded_micros DESC",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Marks survey `id` as one for young people (or not): it is then listed in their section of
/// the Local Offer too.
pub async fn set_for_young_people(
    authorised: &mut Authorised,
    id: Uuid,
    young: bool,
) -> Result<(), StorageError> {
    authorised.permit.allows_change()?;
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query("UPDATE surveys SET for_young_people = $2 WHERE id = $1")
            .bind(id)
            .bind(young)
            .execute(c)
            .await?;
    });
    Ok(())
}

/// Published surveys for young people, newest first.
pub async fn for_young_people(db: &Db) -> Result<Vec<Survey>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, title, intro, state FROM surveys WHERE state = 'published' \
             AND for_young_people = TRUE ORDER BY created_micros DESC",
        )
        .fetch_all(pool)
        .await?
    }))
}

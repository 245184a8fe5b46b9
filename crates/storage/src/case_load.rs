//! Loading many case histories at once, for the demo city and the city-scale benchmark:
//! requests, their triage, the family cases they opened, teams, plans, readings and notes, in a
//! few multi-row statements per table instead of one statement per row. Like every writer of
//! family records it takes the gate's [`Authorised`], so the load is audited.

use crate::gate::Authorised;
use crate::{StorageError, Tx, on_tx};
use earlyhelp_domain::cases::{
    CaseState, CheckedRequest, ClosureReason, TriageOutcome, iso, next_state,
};
use earlyhelp_domain::measures::DEFAULT_MEASURE_ID;
use time::Date;
use uuid::Uuid;

/// A request for support and, once triaged, what became of it.
#[derive(Debug, Clone)]
pub struct History {
    pub id: Uuid,
    pub request: CheckedRequest,
    /// The professional who asked; `None` for a self-referral.
    pub requested_by: Option<Uuid>,
    pub requester: String,
    pub created_micros: i64,
    /// `None`: still waiting in the locality's triage queue.
    pub triage: Option<Triage>,
}

#[derive(Debug, Clone)]
pub struct Triage {
    pub outcome: TriageOutcome,
    pub by: Uuid,
    pub note: String,
    pub micros: i64,
    /// The family case it opened (for locality early help).
    pub family: Option<Family>,
}

/// A family case, its members and consent taken from the request that opened it.
#[derive(Debug, Clone)]
pub struct Family {
    pub id: Uuid,
    /// How the case moved on after it opened, in order; the state machine must allow each.
    pub events: Vec<earlyhelp_domain::cases::CaseEvent>,
    pub lead_practitioner: Uuid,
    pub team: Vec<Uuid>,
    pub review_date: Date,
    pub actions: Vec<Action>,
    pub readings: Vec<Reading>,
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub goal: String,
    pub action: String,
    pub owner: String,
    pub due: Date,
    pub done: bool,
}

#[derive(Debug, Clone)]
pub struct Reading {
    pub taken_on: Date,
    pub scores: Vec<(String, i64)>,
    pub recorded_by: String,
}

#[derive(Debug, Clone)]
pub struct Note {
    pub author: String,
    /// `note` (written by a person) or `event` (something that happened to the case).
    pub kind: &'static str,
    pub body: String,
    pub at_micros: i64,
}

/// One value of a row; each backend binds it as its own type (a uuid, a blob, text...).
pub(crate) enum Cell {
    Id(Uuid),
    MaybeId(Option<Uuid>),
    Text(String),
    MaybeText(Option<String>),
    Int(i64),
    MaybeInt(Option<i64>),
    Real(f64),
    Bool(bool),
}

/// The rows for one table, inserted as `INSERT INTO table (columns) VALUES (...), (...)`.
pub(crate) struct Rows {
    into: &'static str,
    width: usize,
    cells: Vec<Cell>,
}

impl Rows {
    pub(crate) fn new(into: &'static str, width: usize) -> Rows {
        Rows {
            into,
            width,
            cells: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: impl IntoIterator<Item = Cell>) {
        let before = self.cells.len();
        self.cells.extend(row);
        debug_assert_eq!(self.cells.len() - before, self.width, "{}", self.into);
    }

    /// Binds every cell; the SQL text holds only the table, its columns and `$n` placeholders.
    pub(crate) async fn insert(self, tx: &mut Tx) -> Result<(), StorageError> {
        // SQLite finds each `$n` by a linear search of those before it, so preparing a
        // statement costs the square of its parameters: keep them few, and reuse the
        // prepared statement (every full chunk of a table has the same text).
        const MAX_BINDS: usize = 1_000;
        let per_statement = (MAX_BINDS / self.width) * self.width;
        for chunk in self.cells.chunks(per_statement) {
            let rows: Vec<String> = (0..chunk.len() / self.width)
                .map(|r| {
                    let row: Vec<String> = (1..=self.width)
                        .map(|c| format!("${}", r * self.width + c))
                        .collect();
                    format!("({})", row.join(", "))
                })
                .collect();
            let sql = format!("{} VALUES {}", self.into, rows.join(", "));
            on_tx!(tx, c => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for cell in chunk {
                    query = match cell {
                        Cell::Id(v) => query.bind(*v),
                        Cell::MaybeId(v) => query.bind(*v),
                        Cell::Text(v) => query.bind(v.as_str()),
                        Cell::MaybeText(v) => query.bind(v.as_deref()),
                        Cell::Int(v) => query.bind(*v),
                        Cell::MaybeInt(v) => query.bind(*v),
                        Cell::Real(v) => query.bind(*v),
                        Cell::Bool(v) => query.bind(*v),
                    };
                }
                query.execute(c).await?;
            });
        }
        Ok(())
    }
}

/// A request's or a family's member, after the columns that say whose member they are.
fn member(m: &earlyhelp_domain::cases::Member) -> [Cell; 10] {
    use Cell::Text;
    [
        Text(m.given_name.clone()),
        Text(m.family_name.clone()),
        Text(iso(m.date_of_birth)),
        Text(m.relationship.slug().into()),
        Text(m.ethnicity.map(|e| e.slug()).unwrap_or("").into()),
        Text(m.languages.clone()),
        Text(m.send.map(|e| e.slug()).unwrap_or("").into()),
        Text(m.school.clone()),
        Text(m.nhs.columns().0.into()),
        Text(m.nhs.columns().1.into()),
    ]
}

/// Where the case ends up after its events, and the closure reason if it closed.
fn final_state(family: &Family) -> Result<(CaseState, Option<ClosureReason>), StorageError> {
    let mut state = CaseState::Open;
    let mut reason = None;
    for event in &family.events {
        state = next_state(state, *event)
            .map_err(|e| StorageError::Conflict(format!("family {}: {e}", family.id)))?;
        reason = match event {
            earlyhelp_domain::cases::CaseEvent::Close(r) => Some(*r),
            _ => None,
        };
    }
    Ok((state, reason))
}

/// Stores `histories` in the authorised transaction. Ids must be new.
pub async fn load(authorised: &mut Authorised, histories: &[History]) -> Result<(), StorageError> {
    let mut families = Rows::new(
        "INSERT INTO families (id, locality_slug, address, postcode, need_level, state, \
         lead_practitioner, review_date, closure_reason, consent_withdrawn, created_micros, \
         updated_micros, closed_micros)",
        13,
    );
    let mut family_members = Rows::new(
        "INSERT INTO family_members (id, family_id, given_name, family_name, date_of_birth, \
         relationship, ethnicity, languages, send, school, nhs_number, nhs_number_missing)",
        12,
    );
    let mut team = Rows::new(
        "INSERT INTO family_team (family_id, user_id, added_micros)",
        3,
    );
    let mut consents = Rows::new(
        "INSERT INTO consents (id, family_id, given_by, method, given_on, scope, withdrawn_on, \
         recorded_micros)",
        8,
    );
    let mut actions = Rows::new(
        "INSERT INTO plan_actions (id, family_id, goal, action, owner, due_date, done, \
         created_micros)",
        8,
    );
    let mut readings = Rows::new(
        "INSERT INTO readings (family_id, measure_id, taken_on, area, score, recorded_by)",
        6,
    );
    let mut notes = Rows::new(
        "INSERT INTO family_notes (id, family_id, author, kind, body, at_micros)",
        6,
    );
    let mut requests = Rows::new(
        "INSERT INTO support_requests (id, locality_slug, address, postcode, reasons, need_level, \
         summary, consent_given_by, consent_method, consent_date, requested_by, requester, \
         contact, self_referral, status, outcome, triage_note, triaged_by, triaged_micros, \
         family_id, created_micros)",
        21,
    );
    let mut request_members = Rows::new(
        "INSERT INTO request_members (request_id, position, given_name, family_name, \
         date_of_birth, relationship, ethnicity, languages, send, school, nhs_number, \
         nhs_number_missing)",
        12,
    );
    use Cell::*;
    for h in histories {
        let r = &h.request;
        let family = h.triage.as_ref().and_then(|t| t.family.as_ref());
        if let (Some(f), Some(t)) = (family, &h.triage) {
            let (state, closure) = final_state(f)?;
            let updated = f
                .notes
                .iter()
                .map(|n| n.at_micros)
                .max()
                .unwrap_or(t.micros);
            families.push([
                Id(f.id),
                Text(r.locality.into()),
                Text(r.address.clone()),
                Text(r.postcode.clone()),
                Text(r.need_level.slug().into()),
                Text(state.slug().into()),
                MaybeId(Some(f.lead_practitioner)),
                MaybeText(Some(iso(f.review_date))),
                MaybeText(closure.map(|c| c.slug().into())),
                Bool(false),
                Int(t.micros),
                Int(updated),
                // The case's events are the last of its chronology, so it closed then.
                MaybeInt((state == CaseState::Closed).then_some(updated)),
            ]);
            for m in &r.members {
                family_members.push([Id(Uuid::now_v7()), Id(f.id)].into_iter().chain(member(m)));
            }
            for user in &f.team {
                team.push([Id(f.id), Id(*user), Int(t.micros)]);
            }
            consents.push([
                Id(Uuid::now_v7()),
                Id(f.id),
                Text(r.consent_given_by.clone()),
                Text(r.consent_method.slug().into()),
                Text(iso(r.consent_date)),
                Text("Sharing with the team around the family for early help".into()),
                MaybeText(None),
                Int(t.micros),
            ]);
            for a in &f.actions {
                actions.push([
                    Id(Uuid::now_v7()),
                    Id(f.id),
                    Text(a.goal.clone()),
                    Text(a.action.clone()),
                    Text(a.owner.clone()),
                    Text(iso(a.due)),
                    Bool(a.done),
                    Int(t.micros),
                ]);
            }
            for reading in &f.readings {
                for (area, score) in &reading.scores {
                    readings.push([
                        Id(f.id),
                        Id(DEFAULT_MEASURE_ID),
                        Text(iso(reading.taken_on)),
                        Text(area.clone()),
                        Int(*score),
                        Text(reading.recorded_by.clone()),
                    ]);
                }
            }
            for n in &f.notes {
                notes.push([
                    Id(Uuid::now_v7()),
                    Id(f.id),
                    Text(n.author.clone()),
                    Text(n.kind.into()),
                    Text(n.body.clone()),
                    Int(n.at_micros),
                ]);
            }
        }
        let reasons: Vec<&str> = r.reasons.iter().map(|x| x.slug()).collect();
        requests.push([
            Id(h.id),
            Text(r.locality.into()),
            Text(r.address.clone()),
            Text(r.postcode.clone()),
            Text(reasons.join(",")),
            Text(r.need_level.slug().into()),
            Text(r.summary.clone()),
            Text(r.consent_given_by.clone()),
            Text(r.consent_method.slug().into()),
            Text(iso(r.consent_date)),
            MaybeId(h.requested_by),
            Text(h.requester.clone()),
            Text(r.contact.clone()),
            Bool(h.requested_by.is_none()),
            Text(if h.triage.is_some() { "triaged" } else { "new" }.into()),
            MaybeText(h.triage.as_ref().map(|t| t.outcome.slug().into())),
            Text(
                h.triage
                    .as_ref()
                    .map(|t| t.note.clone())
                    .unwrap_or_default(),
            ),
            MaybeId(h.triage.as_ref().map(|t| t.by)),
            MaybeInt(h.triage.as_ref().map(|t| t.micros)),
            MaybeId(family.map(|f| f.id)),
            Int(h.created_micros),
        ]);
        for (position, m) in r.members.iter().enumerate() {
            request_members.push(
                [Id(h.id), Int(position as i64)]
                    .into_iter()
                    .chain(member(m)),
            );
        }
    }
    // Parents before children: a request names the family it opened.
    let tx = &mut authorised.tx;
    for rows in [
        families,
        family_members,
        team,
        consents,
        actions,
        readings,
        notes,
        requests,
        request_members,
    ] {
        rows.insert(tx).await?;
    }
    Ok(())
}

//! Subject access: everything held about one person (a `family_members` row), gathered in the
//! transaction that passed the gate, with other people's details marked for redaction by
//! `earlyhelp_domain::sar`. Staff names stay unmarked: they act in a professional capacity.
//!
//! [`person_family`] and [`find_people`] are the lookups the information governance officer
//! needs first; the second takes a permit, since a list of names is itself personal data.

use crate::cases::{self, Consent, MemberRow, Note, PlanAction, Reading, RequestDetail};
use crate::family_help::FamilyHelpRecord;
use crate::gate::{AuditFilter, Authorised, FamilyId, PersonRecord, list_events};
use crate::{StorageError, Tx, on_tx};
use earlyhelp_domain::cases::{
    CaseState, Ethnicity, MemberRole, NeedLevel, PersonKey, Reason, Send, TriageOutcome,
    likely_same_person, parse_date,
};
use earlyhelp_domain::family_help::{HelpLevel, Uptake};
use earlyhelp_domain::nhs_number::NhsAnswer;
use earlyhelp_domain::sar::{Named, Segment, all_redacted, mark, redaction_terms};
use earlyhelp_domain::sharing::{Article6, Article9};
use serde::Serialize;
use uuid::Uuid;

/// Text with other people's details marked: join the segments to read it whole.
pub type Marked = Vec<Segment>;

/// The family person `id` belongs to; `None` if there is no such person. The gate needs it
/// to name the record in the audit log.
pub(crate) async fn person_family(tx: &mut Tx, id: Uuid) -> Result<Option<Uuid>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT family_id FROM family_members WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?
    }))
}

/// A person found by the information governance officer's search.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PersonHit {
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
    pub relationship: String,
    pub family_id: Uuid,
    pub locality_name: String,
    pub state: String,
}

/// People whose name contains `name` (any case) and, if given, born on `date_of_birth`.
pub async fn find_people(
    authorised: &mut Authorised,
    name: &str,
    date_of_birth: &str,
    limit: i64,
) -> Result<Vec<PersonHit>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT m.id, m.given_name, m.family_name, m.date_of_birth, m.relationship, m.family_id, \
             l.name AS locality_name, f.state FROM family_members m \
             JOIN families f ON f.id = m.family_id JOIN localities l ON l.slug = f.locality_slug \
             WHERE lower(m.given_name || ' ' || m.family_name) LIKE '%' || lower($1) || '%' \
             AND ($2 = '' OR m.date_of_birth = $2) \
             ORDER BY m.family_name, m.given_name, m.date_of_birth LIMIT $3",
        )
        .bind(name.trim())
        .bind(date_of_birth.trim())
        .bind(limit)
        .fetch_all(c)
        .await?
    }))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PersonDetails {
    pub id: Uuid,
    pub family_id: Uuid,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: String,
    pub relationship: String,
    /// An `Ethnicity` slug, or empty.
    pub ethnicity: String,
    pub languages: String,
    /// A `Send` slug, or empty.
    pub send: String,
    pub school: String,
    /// The 10 digits of the NHS number, or empty.
    pub nhs_number: String,
    /// Why the NHS number is missing (a `NhsNumberMissing` slug), or empty.
    pub nhs_number_missing: String,
}

/// The columns of a [`PersonDetails`].
macro_rules! person_columns {
    () => {
        "id, family_id, given_name, family_name, date_of_birth, relationship, ethnicity, \
         languages, send, school, nhs_number, nhs_number_missing"
    };
}

impl PersonDetails {
    fn named(&self) -> Named {
        Named {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            date_of_birth: self.date_of_birth.clone(),
        }
    }

    /// NHS number, ethnicity, languages, SEND and school, as (what, in words), those that are
    /// known.
    pub fn details(&self) -> Vec<(&'static str, String)> {
        let ethnicity = Ethnicity::from_slug(&self.ethnicity).map(Ethnicity::label);
        let send = Send::from_slug(&self.send).map(Send::label);
        let nhs = NhsAnswer::in_words(&self.nhs_number, &self.nhs_number_missing);
        [
            ("NHS number", nhs.unwrap_or_default()),
            ("Ethnicity", ethnicity.unwrap_or("").to_string()),
            ("Languages", self.languages.clone()),
            ("SEND", send.unwrap_or("").to_string()),
            ("School", self.school.clone()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect()
    }

    /// The person as [`likely_same_person`] compares people, at the family's `postcode`;
    /// `None` when their date of birth cannot be read.
    fn key(&self, postcode: &str) -> Option<PersonKey> {
        Some(PersonKey {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            date_of_birth: parse_date(&self.date_of_birth)?,
            postcode: postcode.to_string(),
            nhs_number: self.nhs_number.clone(),
        })
    }

    fn is(&self, member: &MemberRow) -> bool {
        if !self.nhs_number.is_empty() && !member.nhs_number.is_empty() {
            return self.nhs_number == member.nhs_number;
        }
        self.given_name.eq_ignore_ascii_case(&member.given_name)
            && self.family_name.eq_ignore_ascii_case(&member.family_name)
            && self.date_of_birth == member.date_of_birth
    }
}

/// Someone on a record beside the subject: every detail of theirs is marked.
#[derive(Debug, Clone, Serialize)]
pub struct OtherPerson {
    pub name: Marked,
    pub date_of_birth: Marked,
    pub relationship: &'static str,
    /// Their ethnicity, languages, SEND and school, each marked.
    pub details: Vec<Marked>,
}

/// A person named on a request: the subject, or someone whose details are marked.
#[derive(Debug, Clone, Serialize)]
pub struct RequestPerson {
    pub is_subject: bool,
    pub name: Marked,
    pub date_of_birth: Marked,
    pub relationship: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarRequest {
    pub id: Uuid,
    pub made_micros: i64,
    pub self_referral: bool,
    pub requester: Marked,
    pub contact: Marked,
    pub address: String,
    pub postcode: String,
    pub reasons: Vec<&'static str>,
    pub need_level: &'static str,
    pub summary: Marked,
    pub consent_given_by: Marked,
    pub consent_method: String,
    pub consent_date: String,
    pub status: String,
    pub outcome: &'static str,
    pub triage_note: Marked,
    pub people: Vec<RequestPerson>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarAction {
    pub goal: Marked,
    pub action: Marked,
    pub owner: Marked,
    pub due_date: String,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarConsent {
    pub given_by: Marked,
    pub method: String,
    pub given_on: String,
    pub scope: Marked,
    pub withdrawn_on: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarAssessment {
    pub status: String,
    pub started_by: String,
    pub started_micros: i64,
    pub finalised_by: Option<String>,
    pub finalised_micros: Option<i64>,
    pub family_story: Marked,
    pub child_voice: Marked,
    pub strengths: Marked,
    pub worries: Marked,
    pub needs: Vec<&'static str>,
    pub analysis: Marked,
}

/// A share of the record with a partner, and its lawful basis.
#[derive(Debug, Clone, Serialize)]
pub struct SarShare {
    pub shared_with: String,
    pub purpose: Marked,
    pub article6: &'static str,
    pub article9: &'static str,
    pub recorded_by: String,
    pub recorded_micros: i64,
    pub ended_micros: Option<i64>,
}

/// Emergency access by someone not involved, and its review.
#[derive(Debug, Clone, Serialize)]
pub struct SarBreakGlass {
    pub user_name: String,
    pub reason: Marked,
    pub granted_micros: i64,
    pub expires_micros: i64,
    pub reviewed_by: Option<String>,
    pub review_note: Marked,
}

/// A decision not to share information about the family.
#[derive(Debug, Clone, Serialize)]
pub struct SarNotShared {
    pub information: Marked,
    pub withheld_from: String,
    pub reason: Marked,
    pub decided_by: String,
    pub decided_micros: i64,
}

/// A cohort that holds the person: a list another agency shared, grouped into households for
/// outreach (see [`cohorts_naming`]).
#[derive(Debug, Clone, Serialize)]
pub struct SarCohort {
    pub cohort: String,
    /// Who shared the list.
    pub source: String,
    pub purpose: String,
    /// The lawful basis of the share, in words.
    pub lawful_basis: &'static str,
    pub created_micros: i64,
}

/// The Family Help part of the case: each step between levels, the family network (other
/// people: their names and how to reach them are marked) and family group decision making.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SarFamilyHelp {
    pub level: &'static str,
    pub steps: Vec<SarLevelStep>,
    pub network: Vec<SarNetworkPerson>,
    pub family_group: Vec<SarFamilyGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarLevelStep {
    pub at_micros: i64,
    pub from_level: &'static str,
    pub to_level: &'static str,
    pub decided_by: String,
    pub reason: Marked,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarNetworkPerson {
    pub name: Marked,
    pub relationship: Marked,
    pub contact: Marked,
    pub in_plan: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SarFamilyGroup {
    pub offered_on: String,
    pub uptake: &'static str,
    pub declined_reason: Marked,
    pub meeting_on: Option<String>,
    pub attendees: Marked,
    pub plan: Marked,
}

/// One line of the chronological narrative.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub at_micros: i64,
    /// `request`, `triage`, `note`, `event` or `join_request`.
    pub kind: &'static str,
    pub by: String,
    pub text: Marked,
}

/// A partner's request to join the team around the family, and its answer.
#[derive(sqlx::FromRow)]
struct JoinAsk {
    requester: String,
    reason: String,
    asked_micros: i64,
    state: String,
    decided_by: Option<String>,
    decision_reason: Option<String>,
    decided_micros: Option<i64>,
}

/// One look at (or change to) the record, from the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    pub at_micros: i64,
    pub actor: String,
    pub organisation: String,
    pub role: String,
    /// The record in words: "the family's case record", "the request for support sent 5 March
    /// 2026".
    pub record: String,
    pub action: String,
    pub purpose: String,
    pub outcome: String,
}

/// The family case's state, level of need and closure reason, in words.
#[derive(Debug, Clone, Serialize)]
pub struct CaseInWords {
    pub state: &'static str,
    pub need_level: &'static str,
    pub closure_reason: &'static str,
}

/// Everything held about one person, ready to render as a narrative or serialise as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccess {
    pub person: PersonDetails,
    pub family: cases::FamilyRow,
    pub case_in_words: CaseInWords,
    pub household: Vec<OtherPerson>,
    pub team: Vec<cases::Person>,
    pub requests: Vec<SarRequest>,
    pub plan: Vec<SarAction>,
    pub readings: Vec<Reading>,
    pub consents: Vec<SarConsent>,
    pub assessments: Vec<SarAssessment>,
    pub shares: Vec<SarShare>,
    pub break_glass: Vec<SarBreakGlass>,
    /// Decisions not to share information about the family: what, with whom, why, who decided.
    pub not_shared: Vec<SarNotShared>,
    /// Cohorts of other agencies' lists that named the person (issue 14).
    pub cohorts: Vec<SarCohort>,
    pub family_help: SarFamilyHelp,
    pub narrative: Vec<Entry>,
    pub access_log: Vec<Access>,
    /// Every name and date marked for redaction, for the officer's checklist.
    pub marked_terms: Vec<String>,
}

/// The most audit events one subject access request lists per record.
const ACCESS_LIMIT: i64 = 100_000;

fn reason_labels(slugs: &str) -> Vec<&'static str> {
    slugs
        .split(',')
        .filter_map(Reason::from_slug)
        .map(Reason::label)
        .collect()
}

fn relationship_label(slug: &str) -> &'static str {
    MemberRole::from_slug(slug)
        .map(MemberRole::label)
        .unwrap_or("")
}

/// Gathers everything held about the permitted person, and ends the read.
pub async fn subject_access(
    authorised: Authorised<PersonRecord>,
) -> Result<Option<SubjectAccess>, StorageError> {
    let id = authorised.permit.record().0;
    let mut authorised = authorised;
    let tx = &mut authorised.tx;
    let person: Option<PersonDetails> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            person_columns!(),
            " FROM family_members WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(c)
        .await?
    });
    let Some(person) = person else {
        return Ok(None);
    };
    let family_id = person.family_id;
    let mut authorised = authorised.covering(FamilyId(family_id));
    let record = cases::family(&mut authorised)
        .await?
        .ok_or(StorageError::NotFound)?;
    let tx = &mut authorised.tx;
    let (others, notes): (Vec<PersonDetails>, Vec<Note>) = on_tx!(tx, c => {
        let others = sqlx::query_as(concat!(
            "SELECT ",
            person_columns!(),
            " FROM family_members WHERE family_id = $1 AND id <> $2 ORDER BY date_of_birth"
        ))
        .bind(family_id)
        .bind(id)
        .fetch_all(&mut *c)
        .await?;
        // All of the chronology, not the case page's newest 200.
        let notes = sqlx::query_as(
            "SELECT id, author, kind, body, at_micros FROM family_notes WHERE family_id = $1 \
             ORDER BY at_micros, id",
        )
        .bind(family_id)
        .fetch_all(&mut *c)
        .await?;
        (others, notes)
    });
    let asks: Vec<JoinAsk> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT requester, reason, asked_micros, state, decided_by, decision_reason, \
             decided_micros FROM join_requests WHERE family_id = $1 ORDER BY asked_micros",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    });
    let requests = requests_naming(&mut authorised, &person, &record.family.postcode).await?;
    let not_shared = crate::identifiers::of_family(&mut authorised).await?;
    let help = crate::family_help::of_family(&mut authorised).await?;
    let cohorts = cohorts_naming(
        &mut authorised.tx,
        &person,
        &record.family.postcode,
        &requests,
    )
    .await?;

    let mut named: Vec<Named> = others.iter().map(PersonDetails::named).collect();
    for request in &requests {
        for member in &request.members {
            if !person.is(member) {
                named.push(Named {
                    given_name: member.given_name.clone(),
                    family_name: member.family_name.clone(),
                    date_of_birth: member.date_of_birth.clone(),
                });
            }
        }
    }
    // The family network are other people too, and so is everyone who came to a family group
    // meeting (who may have left the network since): their names are marked wherever they appear.
    let attendees = help.meetings.iter().flat_map(|m| m.attendees.split(';'));
    named.extend(
        help.network
            .iter()
            .map(|n| n.name.as_str())
            .chain(attendees)
            .filter(|name| !name.trim().is_empty())
            .map(|name| {
                let (given, family) = name.trim().split_once(' ').unwrap_or((name.trim(), ""));
                Named {
                    given_name: given.to_string(),
                    family_name: family.trim().to_string(),
                    date_of_birth: String::new(),
                }
            }),
    );
    let terms = redaction_terms(&person.named(), &named);
    let marked = |text: &str| mark(text, &terms);
    let family_help = sar_family_help(&help, &record.family, &marked);

    let mut narrative: Vec<Entry> = notes
        .iter()
        .map(|n| Entry {
            at_micros: n.at_micros,
            kind: if n.kind == "event" { "event" } else { "note" },
            by: n.author.clone(),
            text: marked(&n.body),
        })
        .collect();
    // Partners' requests to join the team, and the answers: their reasons are about the family.
    for ask in &asks {
        narrative.push(Entry {
            at_micros: ask.asked_micros,
            kind: "join_request",
            by: ask.requester.clone(),
            text: marked(&format!(
                "Asked to join the team around the family: {}",
                ask.reason
            )),
        });
        if let (Some(by), Some(at)) = (&ask.decided_by, ask.decided_micros) {
            let why = ask.decision_reason.as_deref().unwrap_or_default();
            let answer = if why.is_empty() {
                format!("Request to join the team {}", ask.state)
            } else {
                format!("Request to join the team {}: {why}", ask.state)
            };
            narrative.push(Entry {
                at_micros: at,
                kind: "join_request",
                by: by.clone(),
                text: marked(&answer),
            });
        }
    }
    // Each audited record with how the access log names it: not by its id, which says nothing
    // to the person asking or to the officer reading the log.
    let mut subjects = vec![(
        format!("family:{family_id}"),
        "the family's case record".to_string(),
    )];
    let mut sar_requests = Vec::with_capacity(requests.len());
    for detail in requests {
        let r = &detail.request;
        subjects.push((
            format!("request:{}", r.id),
            format!("the request for support sent {}", day_of(r.created_micros)),
        ));
        narrative.push(Entry {
            at_micros: r.created_micros,
            kind: "request",
            by: r.requester.clone(),
            text: marked(&format!("Request for support: {}", r.summary)),
        });
        let outcome = r
            .outcome
            .as_deref()
            .and_then(TriageOutcome::from_slug)
            .map(TriageOutcome::label)
            .unwrap_or("");
        let requester_is_subject = r
            .requester
            .eq_ignore_ascii_case(&format!("{} {}", person.given_name, person.family_name));
        sar_requests.push(SarRequest {
            id: r.id,
            made_micros: r.created_micros,
            self_referral: r.self_referral,
            requester: marked(&r.requester),
            contact: if requester_is_subject || r.contact.is_empty() {
                marked(&r.contact)
            } else {
                all_redacted(&r.contact)
            },
            address: r.address.clone(),
            postcode: r.postcode.clone(),
            reasons: reason_labels(&r.reasons),
            need_level: NeedLevel::from_slug(&r.need_level)
                .map(NeedLevel::label)
                .unwrap_or(""),
            summary: marked(&r.summary),
            consent_given_by: marked(&r.consent_given_by),
            consent_method: r.consent_method.clone(),
            consent_date: r.consent_date.clone(),
            status: r.status.clone(),
            outcome,
            triage_note: marked(&r.triage_note),
            people: detail
                .members
                .iter()
                .map(|m| {
                    let is_subject = person.is(m);
                    let name = format!("{} {}", m.given_name, m.family_name);
                    RequestPerson {
                        is_subject,
                        name: if is_subject {
                            marked(&name)
                        } else {
                            all_redacted(&name)
                        },
                        date_of_birth: if is_subject {
                            marked(&m.date_of_birth)
                        } else {
                            all_redacted(&m.date_of_birth)
                        },
                        relationship: relationship_label(&m.relationship),
                    }
                })
                .collect(),
        });
    }
    narrative.sort_by_key(|e| e.at_micros);

    let mut access_log = Vec::new();
    for (subject, record) in &subjects {
        let filter = AuditFilter {
            subject: subject.clone(),
            ..AuditFilter::default()
        };
        for event in list_events(&mut authorised, &filter, ACCESS_LIMIT).await? {
            access_log.push(Access {
                at_micros: event.at_micros,
                actor: event.actor,
                organisation: event.actor_organisation,
                role: earlyhelp_domain::roles::in_words(&event.actor_role),
                record: record.clone(),
                action: event.action,
                purpose: event.purpose,
                outcome: event.outcome,
            });
        }
    }
    access_log.sort_by_key(|a| a.at_micros);

    let found = SubjectAccess {
        household: others
            .iter()
            .map(|o| OtherPerson {
                name: all_redacted(&format!("{} {}", o.given_name, o.family_name)),
                date_of_birth: all_redacted(&o.date_of_birth),
                relationship: relationship_label(&o.relationship),
                details: o
                    .details()
                    .iter()
                    .map(|(what, value)| all_redacted(&format!("{what}: {value}")))
                    .collect(),
            })
            .collect(),
        team: record.team,
        requests: sar_requests,
        plan: record
            .actions
            .iter()
            .map(|a: &PlanAction| SarAction {
                goal: marked(&a.goal),
                action: marked(&a.action),
                owner: marked(&a.owner),
                due_date: a.due_date.clone(),
                done: a.done,
            })
            .collect(),
        readings: record.readings,
        consents: record
            .consents
            .iter()
            .map(|c: &Consent| SarConsent {
                given_by: marked(&c.given_by),
                method: c.method.clone(),
                given_on: c.given_on.clone(),
                scope: marked(&c.scope),
                withdrawn_on: c.withdrawn_on.clone(),
            })
            .collect(),
        assessments: record
            .assessments
            .iter()
            .map(|a| SarAssessment {
                status: a.status.clone(),
                started_by: a.started_by.clone(),
                started_micros: a.started_micros,
                finalised_by: a.finalised_by.clone(),
                finalised_micros: a.finalised_micros,
                family_story: marked(&a.family_story),
                child_voice: marked(&a.child_voice),
                strengths: marked(&a.strengths),
                worries: marked(&a.worries),
                needs: reason_labels(&a.needs),
                analysis: marked(&a.analysis),
            })
            .collect(),
        shares: record
            .shares
            .iter()
            .map(|share| SarShare {
                shared_with: share.shared_with.clone(),
                purpose: marked(&share.purpose),
                article6: Article6::from_slug(&share.article6)
                    .map(Article6::label)
                    .unwrap_or(""),
                article9: share
                    .article9
                    .as_deref()
                    .and_then(Article9::from_slug)
                    .map(Article9::label)
                    .unwrap_or(""),
                recorded_by: share.recorded_by.clone(),
                recorded_micros: share.recorded_micros,
                ended_micros: share.ended_micros,
            })
            .collect(),
        not_shared: not_shared
            .iter()
            .map(|d| SarNotShared {
                information: marked(&d.information),
                withheld_from: d.withheld_from.clone(),
                reason: marked(&d.reason),
                decided_by: d.decided_by.clone(),
                decided_micros: d.decided_micros,
            })
            .collect(),
        cohorts,
        break_glass: record
            .break_glass
            .iter()
            .map(|b| SarBreakGlass {
                user_name: b.user_name.clone(),
                reason: marked(&b.reason),
                granted_micros: b.granted_micros,
                expires_micros: b.expires_micros,
                reviewed_by: b.reviewed_by.clone(),
                review_note: marked(b.review_note.as_deref().unwrap_or("")),
            })
            .collect(),
        family_help,
        narrative,
        access_log,
        marked_terms: terms,
        case_in_words: CaseInWords {
            state: CaseState::from_slug(&record.family.state)
                .map(CaseState::label)
                .unwrap_or(""),
            need_level: NeedLevel::from_slug(&record.family.need_level)
                .map(NeedLevel::label)
                .unwrap_or(""),
            closure_reason: record
                .family
                .closure_reason
                .as_deref()
                .map(cases::closure_reason_label)
                .unwrap_or(""),
        },
        family: record.family,
        person,
    };
    // The operator's audit event travels in this transaction: commit, never drop it.
    authorised.tx.commit().await?;
    Ok(Some(found))
}

/// A cohort's columns as the subject access request shows them.
macro_rules! cohort_columns {
    () => {
        "c.id, c.name AS cohort, c.source, l.purpose, l.article6, c.created_micros"
    };
}

/// The cohorts that hold the person: those whose runs matched their family record or a
/// request naming them (a match the engine was sure of, or one a reviewer accepted), and those
/// whose list names someone likely to be them (as [`requests_naming`] decides), matched or not:
/// a cohort keeps every person on its list. Oldest first.
async fn cohorts_naming(
    tx: &mut Tx,
    person: &PersonDetails,
    postcode: &str,
    requests: &[RequestDetail],
) -> Result<Vec<SarCohort>, StorageError> {
    type Row = (Uuid, String, String, String, String, i64);
    let mut keys = vec![format!("person:{}", person.id)];
    for request in requests {
        for (position, member) in request.members.iter().enumerate() {
            if person.is(member) {
                keys.push(format!("request:{}:{position}", request.request.id));
            }
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    for key in &keys {
        let matched: Vec<Row> = on_tx!(tx, c => {
            sqlx::query_as(concat!(
                "SELECT ",
                cohort_columns!(),
                " FROM cohorts c JOIN match_lists l ON l.id = c.list_id \
                 WHERE EXISTS (SELECT 1 FROM match_results r WHERE r.run_id = c.run_id \
                   AND r.right_key = $1 AND r.status IN ('match', 'accepted'))"
            ))
            .bind(key)
            .fetch_all(c)
            .await?
        });
        rows.extend(matched);
    }
    if let Some(wanted) = person.key(postcode) {
        type Listed = (
            Uuid,
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            String,
            String,
            String,
        );
        let listed: Vec<Listed> = on_tx!(tx, c => {
            sqlx::query_as(concat!(
                "SELECT ",
                cohort_columns!(),
                ", p.given_name, p.family_name, p.date_of_birth, p.nhs_number, \
                 h.postcode FROM cohort_people p \
                 JOIN cohort_households h ON h.id = p.household_id \
                 JOIN cohorts c ON c.id = h.cohort_id JOIN match_lists l ON l.id = c.list_id \
                 WHERE p.date_of_birth = $1 OR ($2 <> '' AND p.nhs_number = $2)"
            ))
            .bind(&person.date_of_birth)
            .bind(&person.nhs_number)
            .fetch_all(c)
            .await?
        });
        for (id, name, source, purpose, article6, at, given, family, born, nhs, postcode) in listed
        {
            let candidate = PersonKey {
                given_name: given,
                family_name: family,
                date_of_birth: parse_date(&born).unwrap_or(wanted.date_of_birth),
                postcode,
                nhs_number: nhs,
            };
            if likely_same_person(&wanted, &candidate) {
                rows.push((id, name, source, purpose, article6, at));
            }
        }
    }
    rows.sort_by(|a, b| (a.5, &a.1).cmp(&(b.5, &b.1)));
    rows.dedup_by_key(|row| row.0);
    Ok(rows
        .into_iter()
        .map(
            |(_, cohort, source, purpose, article6, created_micros)| SarCohort {
                cohort,
                source,
                purpose,
                lawful_basis: Article6::from_slug(&article6)
                    .map(Article6::label)
                    .unwrap_or(""),
                created_micros,
            },
        )
        .collect())
}

fn help_label(slug: &str) -> &'static str {
    HelpLevel::from_slug(slug).map_or("", HelpLevel::label)
}

/// The Family Help records, with other people's details marked.
fn sar_family_help(
    help: &FamilyHelpRecord,
    family: &cases::FamilyRow,
    marked: &impl Fn(&str) -> Marked,
) -> SarFamilyHelp {
    let level = HelpLevel::of_case(
        help.help_level.as_deref(),
        &family.need_level,
        &family.state,
    );
    SarFamilyHelp {
        level: level.label(),
        steps: help
            .steps
            .iter()
            .map(|s| SarLevelStep {
                at_micros: s.at_micros,
                from_level: help_label(&s.from_level),
                to_level: help_label(&s.to_level),
                decided_by: s.decided_by_name.clone(),
                reason: marked(&s.reason),
            })
            .collect(),
        network: help
            .network
            .iter()
            .map(|n| SarNetworkPerson {
                name: all_redacted(&n.name),
                relationship: marked(&n.relationship),
                contact: if n.contact.is_empty() {
                    Vec::new()
                } else {
                    all_redacted(&n.contact)
                },
                in_plan: n.in_plan,
            })
            .collect(),
        family_group: help
            .meetings
            .iter()
            .map(|m| SarFamilyGroup {
                offered_on: m.offered_on.clone(),
                uptake: Uptake::from_slug(&m.uptake).map_or("", Uptake::label),
                declined_reason: marked(&m.declined_reason),
                meeting_on: m.meeting_on.clone(),
                attendees: if m.attendees.is_empty() {
                    Vec::new()
                } else {
                    all_redacted(&m.attendees)
                },
                plan: marked(&m.plan),
            })
            .collect(),
    }
}

/// Requests that opened or joined the person's family case, and any other request naming
/// someone who is likely them (the same NHS number, or the same date of birth and family name,
/// and given name or initial: `likely_same_person`).
async fn requests_naming(
    authorised: &mut Authorised<FamilyId>,
    person: &PersonDetails,
    postcode: &str,
) -> Result<Vec<RequestDetail>, StorageError> {
    type NamedRow = (Uuid, String, String, String, String, String);
    let tx = &mut authorised.tx;
    let (mut ids, named): (Vec<Uuid>, Vec<NamedRow>) = on_tx!(tx, c => {
        let ids = sqlx::query_scalar("SELECT id FROM support_requests WHERE family_id = $1")
            .bind(person.family_id)
            .fetch_all(&mut *c)
            .await?;
        let named = sqlx::query_as(
            "SELECT r.id, r.postcode, m.given_name, m.family_name, m.date_of_birth, m.nhs_number \
             FROM request_members m JOIN support_requests r ON r.id = m.request_id \
             WHERE m.date_of_birth = $1 OR ($2 <> '' AND m.nhs_number = $2)",
        )
        .bind(&person.date_of_birth)
        .bind(&person.nhs_number)
        .fetch_all(&mut *c)
        .await?;
        (ids, named)
    });
    if let Some(wanted) = person.key(postcode) {
        for (request, postcode, given_name, family_name, born, nhs_number) in named {
            let candidate = PersonKey {
                given_name,
                family_name,
                date_of_birth: parse_date(&born).unwrap_or(wanted.date_of_birth),
                postcode,
                nhs_number,
            };
            if likely_same_person(&wanted, &candidate) && !ids.contains(&request) {
                ids.push(request);
            }
        }
    }
    let mut requests = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(detail) = cases::request_in(&mut authorised.tx, id).await? {
            requests.push(detail);
        }
    }
    requests.sort_by_key(|r| r.request.created_micros);
    Ok(requests)
}

/// "5 March 2026": the day of a stored time in microseconds since 1970, as the pages write it.
fn day_of(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .map(|at| format!("{} {} {}", at.day(), at.month(), at.year()))
        .unwrap_or_default()
}

//! The access rules: may this person do this to that record?
//!
//! This is the pure half of the one choke point. The storage layer's gate calls [`decide`] for
//! every read or change of protected data and writes the answer to the audit log in the same
//! transaction; no handler decides access on its own.

use crate::roles::{Permission, Role};
use serde::Serialize;
use uuid::Uuid;

/// The signed-in person, as the access rules see them.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: Uuid,
    pub email: String,
    pub organisation_id: Uuid,
    pub roles: Vec<Role>,
    /// Locality slugs this person works in.
    pub localities: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    List,
    Read,
    Create,
    Update,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
        }
    }
}

/// Who is involved with a family, and whether they still consent to sharing.
#[derive(Debug, Clone, Default)]
pub struct Involvement {
    pub locality: String,
    pub lead_practitioner: Option<Uuid>,
    /// At child protection in the Family Help model: the lead child protection practitioner.
    pub lead_cp_practitioner: Option<Uuid>,
    pub team_members: Vec<Uuid>,
    pub consent_withdrawn: bool,
    /// Team members whose share rests on a lawful basis other than consent: withdrawing
    /// consent does not end it.
    pub shared_without_consent: Vec<Uuid>,
    /// People holding unexpired break-glass access to this family.
    pub break_glass: Vec<Uuid>,
}

/// A protected record, with what the rules need to know about it.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A user account; `organisation_id` is the account's organisation.
    UserAccount {
        user_id: Option<Uuid>,
        organisation_id: Uuid,
    },
    Organisation,
    Locality,
    AuditLog,
    /// A family's case record.
    Family(Involvement),
    /// A family's level in the Family Help model: read with the case, stepped (update) only by
    /// those who lead it: see [`may_step_level`].
    FamilyLevel(Involvement),
    /// Who leads a family's case: read with the case, allocated (update) only by the lead of
    /// its locality: see [`may_allocate`].
    FamilyAllocation(Involvement),
    /// The outcomes framework's indicators and their values: aggregate, never person-level.
    Indicators,
    /// A request for support, in `locality` (none before it is routed by postcode).
    SupportRequest {
        locality: Option<String>,
    },
    /// The name-only "known to" view of a family: which organisations are involved, whom to call.
    FamilyKnownTo,
    /// One's own caseload: the families one leads, works with, or whose locality one leads.
    Caseload,
    /// Case data with every identifier replaced by a pseudonym and dates of birth by age bands,
    /// for analysts.
    PseudonymisedExtract,
    /// Emergency access to a family one is not involved with (create), and its review by the
    /// information governance officer (list, update).
    BreakGlass,
    /// A partner's request to join the team around a family: read and answered by the family's
    /// lead practitioner, or the lead of its locality, and nobody else in the team.
    JoinRequest(Involvement),
    /// What waits for the signed-in person on their home page: requests they may answer and
    /// what they have been told. Always their own, so anyone signed in with a role.
    OwnTasks,
    /// A directory listing: `locality` is where it is (none for city-wide), and
    /// `owner_organisation` the partner organisation that runs it.
    Listing {
        locality: Option<String>,
        owner_organisation: Uuid,
    },
    /// Approving someone else's change to a listing in `locality`, or merging listings there:
    /// its community connectors, or where it has none (`connector_there` false) its lead.
    ListingApproval {
        locality: Option<String>,
        connector_there: bool,
    },
    /// A referral from a family's case to a service: the family's team see it, the referrer,
    /// and the receiving organisation (or, where it has nobody to answer, the community
    /// connectors of the family's locality).
    Referral {
        family: Involvement,
        referrer: Uuid,
        receiving_organisation: Uuid,
        /// The receiving organisation has active users who answer referrals.
        organisation_answers: bool,
    },
    /// The referrals sent to `organisation`'s services: its inbox.
    ReferralInbox {
        organisation: Uuid,
    },
    /// A person's whole record as governance sees it: a subject access request (read), finding
    /// the person (list), legal holds that stop retention (create, update), and the log of
    /// decisions not to share information across every locality (list).
    RecordsGovernance,
    /// The access requests waiting for a second person, and those decided.
    AccessGrants,
    /// Approving or refusing one access request (update).
    AccessGrant(Grant),
    /// Funding programmes: staff who ask for payments read them (list, read); grants officers
    /// run them (create, update).
    Programmes,
    /// One payment to a family: see [`crate::money::decide_read`] and
    /// [`crate::money::decide_change`].
    Payment(crate::money::PaymentFacts),
    /// The grants officers' queue of payments across the city.
    PaymentQueue,
    /// Spend by programme and locality: aggregate, never a family.
    Spend,
    /// Applications for community grants, across programmes (list).
    GrantApplications,
    /// One application: read and scored by assessors, never a conflicted one.
    GrantApplication(crate::grants::ApplicationFacts),
    /// One application's decision, tranches, returns and directory listing: the grants officer.
    GrantAward(crate::grants::ApplicationFacts),
    /// The full 360Giving file, with payments to families (anonymised): see
    /// [`crate::giving::decide_export`]. Awards to organisations are public.
    GivingExport,
    /// The return on Early Help for each partner: aggregate figures only (list, read), and the
    /// scenarios and unit values behind them (create, update).
    Impact,
    /// Social value reports: `organisation`'s (none: every organisation's). Written by its own
    /// people who answer referrals; read by them and by those who see aggregates.
    SocialValue {
        organisation: Option<Uuid>,
    },
    /// The requests for support one has sent oneself, with their outcome.
    SentRequests,
    /// Surveys of children and families, the moderation of their free text, their indicator
    /// values and "you said, we did": read by those who see aggregates, run by commissioners
    /// and data analysts (see [`crate::surveys`]).
    Surveys,
    /// Agencies' lists uploaded for matching, their runs, results and review (see
    /// [`crate::matching`]): data analysts only.
    Matching,
}

/// A role, in one locality or none, asked for on someone's behalf: it takes effect only once a
/// second person approves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user_id: Uuid,
    /// Who asked for it; `None` for the operator at the command line.
    pub requested_by: Option<Uuid>,
    pub role: Role,
    pub locality: Option<String>,
}

/// Who may approve a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approver {
    /// The information governance officer: for a locality lead or IG role, or no locality.
    InformationGovernance,
    /// The lead of this locality.
    LeadOf(String),
}

impl Grant {
    pub fn approver(&self) -> Approver {
        match &self.locality {
            Some(locality)
                if !matches!(
                    self.role,
                    Role::LocalityLead | Role::InformationGovernanceOfficer
                ) =>
            {
                Approver::LeadOf(locality.clone())
            }
            _ => Approver::InformationGovernance,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The role the permission was granted under, for the audit trail.
    pub as_role: Option<Role>,
    pub reason: &'static str,
}

impl Decision {
    pub(crate) fn allow(as_role: Role, reason: &'static str) -> Self {
        Decision {
            allowed: true,
            as_role: Some(as_role),
            reason,
        }
    }

    pub fn deny(reason: &'static str) -> Self {
        Decision {
            allowed: false,
            as_role: None,
            reason,
        }
    }
}

/// The first of the actor's roles that holds `permission`.
fn role_with(actor: &Actor, permission: Permission) -> Option<Role> {
    actor
        .roles
        .iter()
        .copied()
        .find(|role| role.may(permission))
}

fn allow_if(actor: &Actor, permission: Permission, reason: &'static str) -> Decision {
    match role_with(actor, permission) {
        Some(role) => Decision::allow(role, reason),
        None => Decision::deny("no role of theirs holds the permission"),
    }
}

pub fn decide(actor: &Actor, action: Action, resource: &Resource) -> Decision {
    match resource {
        Resource::UserAccount { user_id, .. } => {
            if action == Action::Read && *user_id == Some(actor.user_id) {
                let role = actor.roles.first().copied().unwrap_or(Role::Practitioner);
                return Decision::allow(role, "their own account");
            }
            allow_if(actor, Permission::ManageUsers, "administers users")
        }
        Resource::Organisation | Resource::Locality => match action {
            Action::List | Action::Read => match actor.roles.first() {
                Some(role) => Decision::allow(*role, "reference data is open to staff"),
                None => Decision::deny("no role"),
            },
            Action::Create | Action::Update => allow_if(
                actor,
                Permission::ManageOrganisations,
                "administers organisations",
            ),
        },
        Resource::AuditLog => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::ReadAuditLog, "governs information")
            }
            // Nobody changes the audit log: it is append-only.
            Action::Create | Action::Update => Decision::deny("the audit log is append-only"),
        },
        Resource::Family(involvement) => decide_family(actor, involvement),
        Resource::FamilyLevel(involvement) => match action {
            Action::List | Action::Read => decide_family(actor, involvement),
            Action::Create | Action::Update => decide_level_step(actor, involvement),
        },
        Resource::FamilyAllocation(involvement) => match action {
            Action::List | Action::Read => decide_family(actor, involvement),
            Action::Create | Action::Update => decide_allocation(actor, &involvement.locality),
        },
        Resource::SupportRequest { locality } => decide_request(actor, action, locality.as_deref()),
        Resource::FamilyKnownTo => match action {
            // Create: ask the lead practitioner to join the team around the family.
            Action::List | Action::Read | Action::Create => {
                match role_with(actor, Permission::WorkCases)
                    .or_else(|| role_with(actor, Permission::RequestSupport))
                {
                    Some(role) => {
                        Decision::allow(role, "works with families: may see who is involved")
                    }
                    None => Decision::deny("no role of theirs works with families"),
                }
            }
            Action::Update => Decision::deny("the known-to view is read-only"),
        },
        Resource::Caseload => allow_if(actor, Permission::WorkCases, "holds family cases"),
        Resource::PseudonymisedExtract => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::LoadData, "analyses pseudonymised data")
            }
            Action::Create | Action::Update => Decision::deny("an extract is read-only"),
        },
        Resource::BreakGlass => match action {
            Action::Create => allow_if(
                actor,
                Permission::WorkCases,
                "holds family cases: may break glass in an emergency",
            ),
            Action::List | Action::Read | Action::Update => allow_if(
                actor,
                Permission::ReadAuditLog,
                "reviews break-glass access",
            ),
        },
        Resource::JoinRequest(involvement) => decide_join_request(actor, involvement),
        Resource::OwnTasks => match actor.roles.first() {
            Some(role) => Decision::allow(*role, "their own tasks"),
            None => Decision::deny("no role"),
        },
        Resource::Listing {
            locality,
            owner_organisation,
        } => decide_listing(actor, action, locality.as_deref(), *owner_organisation),
        Resource::ListingApproval {
            locality,
            connector_there,
        } => decide_listing_approval(actor, locality.as_deref(), *connector_there),
        Resource::RecordsGovernance => {
            allow_if(actor, Permission::GovernRecords, "governs information")
        }
        Resource::ReferralInbox { organisation } => {
            match role_with(actor, Permission::AnswerReferrals) {
                Some(role) if actor.organisation_id == *organisation => {
                    Decision::allow(role, "answers referrals to their organisation")
                }
                _ => Decision::deny("answers no referrals for that organisation"),
            }
        }
        Resource::Referral {
            family,
            referrer,
            receiving_organisation,
            organisation_answers,
        } => decide_referral(
            actor,
            family,
            *referrer,
            *receiving_organisation,
            *organisation_answers,
        ),
        Resource::AccessGrants => match action {
            Action::List | Action::Read => {
                let approver =
                    actor.roles.iter().copied().find(|r| {
                        matches!(r, Role::LocalityLead | Role::InformationGovernanceOfficer)
                    });
                match approver {
                    Some(role) => Decision::allow(role, "approves access"),
                    None => Decision::deny("no role of theirs approves access"),
                }
            }
            Action::Create | Action::Update => Decision::deny("access is requested per account"),
        },
        Resource::AccessGrant(grant) => match action {
            Action::Update => decide_grant(actor, grant),
            _ => Decision::deny("an access request is approved or refused, nothing else"),
        },
        Resource::Programmes => match action {
            Action::List | Action::Read => role_with(actor, Permission::ManagePayments)
                .or_else(|| role_with(actor, Permission::WorkCases))
                .map_or(
                    Decision::deny("no role of theirs asks for or makes payments"),
                    |role| Decision::allow(role, "asks for or makes payments"),
                ),
            Action::Create | Action::Update => {
                allow_if(actor, Permission::ManagePayments, "runs funding programmes")
            }
        },
        Resource::Payment(facts) => match action {
            Action::List | Action::Read => crate::money::decide_read(actor, facts),
            Action::Create | Action::Update => crate::money::decide_change(actor, facts),
        },
        Resource::PaymentQueue => match action {
            Action::List | Action::Read => allow_if(
                actor,
                Permission::ManagePayments,
                "approves and pays payments",
            ),
            Action::Create | Action::Update => Decision::deny("the queue is read-only"),
        },
        Resource::Spend => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::SeeAggregates, "sees aggregate reports")
            }
            Action::Create | Action::Update => Decision::deny("spend is counted, not changed"),
        },
        Resource::GrantApplications => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::AssessGrants, "assesses community grants")
            }
            Action::Create | Action::Update => {
                Decision::deny("applications come from the public form")
            }
        },
        Resource::GrantApplication(facts) => crate::grants::decide_assessment(actor, facts),
        Resource::GrantAward(facts) => crate::grants::decide_award(actor, facts),
        Resource::GivingExport => match action {
            Action::List | Action::Read => crate::giving::decide_export(actor),
            Action::Create | Action::Update => Decision::deny("the file is made from the records"),
        },
        Resource::SentRequests => match action {
            Action::List | Action::Read => allow_if(
                actor,
                Permission::RequestSupport,
                "sees the requests they sent",
            ),
            Action::Create | Action::Update => {
                Decision::deny("the list of sent requests is read-only")
            }
        },
        Resource::SocialValue { organisation } => {
            let own = *organisation == Some(actor.organisation_id);
            match role_with(actor, Permission::AnswerReferrals) {
                Some(role) if own => {
                    Decision::allow(role, "reports its organisation's social value")
                }
                _ if matches!(action, Action::List | Action::Read) => allow_if(
                    actor,
                    Permission::SeeAggregates,
                    "reads providers' social value reports",
                ),
                _ => Decision::deny("only the organisation's own people write its reports"),
            }
        }
        Resource::Matching => allow_if(
            actor,
            Permission::LinkRecords,
            "matches agencies' lists and reviews possible matches",
        ),
        Resource::Impact => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::SeeAggregates, "sees aggregate reports")
            }
            // Those who commission and appraise set the assumptions; nobody else.
            Action::Create | Action::Update => match actor
                .roles
                .iter()
                .find(|r| matches!(r, Role::Commissioner | Role::DataAnalyst))
            {
                Some(role) => Decision::allow(*role, "commissions or appraises services"),
                None => Decision::deny("only commissioners and data analysts set the assumptions"),
            },
        },
        Resource::Surveys => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::SeeAggregates, "sees aggregate reports")
            }
            // Those who commission and measure run the surveys; nobody else.
            Action::Create | Action::Update => match actor
                .roles
                .iter()
                .find(|r| matches!(r, Role::Commissioner | Role::DataAnalyst))
            {
                Some(role) => Decision::allow(*role, "runs surveys of children and families"),
                None => Decision::deny("only commissioners and data analysts run surveys"),
            },
        },
        Resource::Indicators => match action {
            Action::List | Action::Read => {
                allow_if(actor, Permission::SeeAggregates, "sees aggregate reports")
            }
            Action::Create | Action::Update => {
                allow_if(actor, Permission::LoadData, "loads indicator data")
            }
        },
    }
}

/// Connectors keep the listings of their localities; VCS workers edit their own
/// organisation's listings (their changes wait for a connector, see `directory`).
fn decide_listing(
    actor: &Actor,
    action: Action,
    locality: Option<&str>,
    owner_organisation: Uuid,
) -> Decision {
    if let Action::List | Action::Read = action {
        return allow_if(actor, Permission::EditDirectory, "keeps the directory");
    }
    // Editing in place is a connector's (a lead approves proposals, not edits).
    let approval = decide_listing_approval(actor, locality, true);
    if approval.allowed {
        return approval;
    }
    match role_with(actor, Permission::EditDirectory) {
        Some(role) if actor.organisation_id == owner_organisation => {
            Decision::allow(role, "edits its own organisation's listing")
        }
        Some(_) => Decision::deny("not their organisation's listing nor their locality"),
        None => Decision::deny("no role of theirs edits the directory"),
    }
}

fn decide_listing_approval(
    actor: &Actor,
    locality: Option<&str>,
    connector_there: bool,
) -> Decision {
    let leads_it = locality.is_some_and(|l| actor.localities.iter().any(|m| m == l))
        && actor.roles.contains(&Role::LocalityLead);
    if !connector_there && leads_it {
        return Decision::allow(
            Role::LocalityLead,
            "leads a locality with no community connector",
        );
    }
    let Some(role) = role_with(actor, Permission::ApproveDirectory) else {
        return Decision::deny("no role of theirs approves directory changes");
    };
    match locality {
        Some(locality) if actor.localities.iter().any(|l| l == locality) => {
            Decision::allow(role, "connects the listing's locality")
        }
        Some(_) => Decision::deny("the listing is in another locality"),
        None => Decision::deny("city-wide listings are kept by their own organisation"),
    }
}

/// Anyone who may request support sends requests; a locality lead triages their localities'.
fn decide_request(actor: &Actor, action: Action, locality: Option<&str>) -> Decision {
    if action == Action::Create {
        return allow_if(
            actor,
            Permission::RequestSupport,
            "requests support for families",
        );
    }
    let Some(role) = role_with(actor, Permission::TriageRequests) else {
        return Decision::deny("no role of theirs triages requests");
    };
    match locality {
        Some(locality) if actor.localities.iter().any(|l| l == locality) => {
            Decision::allow(role, "triages the request's locality")
        }
        _ => Decision::deny("the request is for another locality"),
    }
}

/// Whether `actor` answers a referral for the service: a member of the receiving organisation
/// who answers referrals, or, where that organisation has nobody to, a community connector of
/// the family's locality.
pub fn answers_for_service(
    actor: &Actor,
    locality: &str,
    receiving_organisation: Uuid,
    organisation_answers: bool,
) -> Option<Role> {
    let role = role_with(actor, Permission::AnswerReferrals)?;
    if actor.organisation_id == receiving_organisation {
        return Some(role);
    }
    let connects_locality = actor.roles.contains(&Role::CommunityConnector)
        && actor.localities.iter().any(|l| l == locality);
    (!organisation_answers && connects_locality).then_some(Role::CommunityConnector)
}

fn decide_referral(
    actor: &Actor,
    family: &Involvement,
    referrer: Uuid,
    receiving_organisation: Uuid,
    organisation_answers: bool,
) -> Decision {
    if let Some(role) = answers_for_service(
        actor,
        &family.locality,
        receiving_organisation,
        organisation_answers,
    ) {
        return Decision::allow(role, "answers referrals for the service");
    }
    if actor.user_id == referrer
        && let Some(role) = actor.roles.first()
    {
        return Decision::allow(*role, "sent the referral");
    }
    decide_family(actor, family)
}

/// Four eyes: someone other than the person and whoever asked, holding the approver's role.
fn decide_grant(actor: &Actor, grant: &Grant) -> Decision {
    if grant.user_id == actor.user_id {
        return Decision::deny("nobody approves their own access");
    }
    if grant.requested_by == Some(actor.user_id) {
        return Decision::deny("nobody approves access they asked for");
    }
    match grant.approver() {
        Approver::InformationGovernance => {
            if actor.roles.contains(&Role::InformationGovernanceOfficer) {
                Decision::allow(
                    Role::InformationGovernanceOfficer,
                    "governs information: approves lead and governance access",
                )
            } else {
                Decision::deny("only the information governance officer approves this access")
            }
        }
        Approver::LeadOf(locality) => {
            if actor.roles.contains(&Role::LocalityLead) && actor.localities.contains(&locality) {
                Decision::allow(Role::LocalityLead, "leads the locality the access is for")
            } else {
                Decision::deny("only the lead of the locality approves this access")
            }
        }
    }
}

/// Who answers a request to join the team: the lead practitioner, or the lead of the family's
/// locality (who holds a family opened for community support).
fn decide_join_request(actor: &Actor, involvement: &Involvement) -> Decision {
    let Some(role) = role_with(actor, Permission::WorkCases) else {
        return Decision::deny("no role of theirs works cases");
    };
    if involvement.lead_practitioner == Some(actor.user_id) {
        return Decision::allow(role, "lead practitioner");
    }
    if actor.roles.contains(&Role::LocalityLead) && actor.localities.contains(&involvement.locality)
    {
        return Decision::allow(Role::LocalityLead, "leads the family's locality");
    }
    Decision::deny("only the lead practitioner or the locality lead answers a request to join")
}

/// Who steps a case between levels: whoever leads it (the lead practitioner, or at child
/// protection the lead child protection practitioner) or the lead of its locality; not the rest
/// of the team around the family, and never someone under break-glass access.
fn decide_level_step(actor: &Actor, involvement: &Involvement) -> Decision {
    let Some(role) = role_with(actor, Permission::WorkCases) else {
        return Decision::deny("no role of theirs works cases");
    };
    leads_case(actor, role, involvement).unwrap_or(Decision::deny(
        "only the case's lead or the lead of its locality changes its level",
    ))
}

/// Allowed as one who leads the case: its lead practitioner, its lead child protection
/// practitioner, or the lead of its locality; `None` for anyone else.
fn leads_case(actor: &Actor, role: Role, involvement: &Involvement) -> Option<Decision> {
    if involvement.lead_practitioner == Some(actor.user_id) {
        return Some(Decision::allow(role, "lead practitioner"));
    }
    // Being named lead child protection practitioner is no route to the case by itself: it
    // adds the right to step levels only while they are in the team with consent in place.
    if involvement.lead_cp_practitioner == Some(actor.user_id)
        && involvement.team_members.contains(&actor.user_id)
        && !involvement.consent_withdrawn
    {
        return Some(Decision::allow(role, "lead child protection practitioner"));
    }
    let leads_locality = actor.roles.contains(&Role::LocalityLead)
        && actor.localities.contains(&involvement.locality);
    leads_locality.then(|| Decision::allow(Role::LocalityLead, "leads the family's locality"))
}

/// Who allocates a case's lead practitioner: the lead of its locality, whoever leads it now, as
/// triage does for a new case.
fn decide_allocation(actor: &Actor, locality: &str) -> Decision {
    if actor.roles.contains(&Role::LocalityLead) && actor.localities.iter().any(|l| l == locality) {
        Decision::allow(
            Role::LocalityLead,
            "allocates the cases of the family's locality",
        )
    } else {
        Decision::deny("only the lead of the family's locality allocates its cases")
    }
}

/// Whether `actor` may allocate the lead practitioner of a case in `locality`: the page offers
/// the form only to them.
pub fn may_allocate(actor: &Actor, locality: &str) -> bool {
    decide_allocation(actor, locality).allowed
}

/// Whether `actor` may step the case between levels: the page offers the form only to them.
pub fn may_step_level(actor: &Actor, involvement: &Involvement) -> bool {
    decide_level_step(actor, involvement).allowed
}

/// Whether `candidate` may be named lead child protection practitioner: someone who holds
/// cases and already has access to this one (its lead, a lead of its locality, or in the team
/// around the family with their access in place), never through break-glass access alone.
pub fn may_lead_child_protection(candidate: &Actor, involvement: &Involvement) -> bool {
    let without_break_glass = Involvement {
        break_glass: Vec::new(),
        ..involvement.clone()
    };
    decide_family(candidate, &without_break_glass).allowed
}

fn decide_family(actor: &Actor, involvement: &Involvement) -> Decision {
    let Some(role) = role_with(actor, Permission::WorkCases) else {
        return Decision::deny("no role of theirs works cases");
    };
    if let Some(leads) = leads_case(actor, role, involvement) {
        return leads;
    }
    // An emergency overrides withdrawn consent; it is time-limited and reviewed.
    if involvement.break_glass.contains(&actor.user_id) {
        return Decision::allow(role, "break-glass access");
    }
    if !involvement.team_members.contains(&actor.user_id) {
        return Decision::deny("not involved with the family");
    }
    if !involvement.consent_withdrawn {
        return Decision::allow(role, "in the team around the family");
    }
    if involvement.shared_without_consent.contains(&actor.user_id) {
        return Decision::allow(role, "in the team on a lawful basis other than consent");
    }
    Decision::deny(
        "consent withdrawn: only the lead, the locality lead and shares on another lawful basis",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn actor(roles: &[Role], localities: &[&str]) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            email: "someone@example.org".into(),
            organisation_id: Uuid::now_v7(),
            roles: roles.to_vec(),
            localities: localities.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn only_administrators_create_or_change_accounts() {
        let other_org = Resource::UserAccount {
            user_id: None,
            organisation_id: Uuid::now_v7(),
        };
        for role in Role::ALL {
            let a = actor(&[role], &[]);
            for action in [Action::Create, Action::Update, Action::List] {
                let decision = decide(&a, action, &other_org);
                assert_eq!(decision.allowed, role == Administrator, "{role} {action:?}");
            }
        }
    }

    #[test]
    fn everyone_may_read_their_own_account_but_not_anothers() {
        let a = actor(&[Practitioner], &[]);
        let own = Resource::UserAccount {
            user_id: Some(a.user_id),
            organisation_id: a.organisation_id,
        };
        let colleague = Resource::UserAccount {
            user_id: Some(Uuid::now_v7()),
            organisation_id: a.organisation_id,
        };
        assert!(decide(&a, Action::Read, &own).allowed);
        assert!(!decide(&a, Action::Read, &colleague).allowed);
        assert!(
            !decide(&a, Action::Update, &own).allowed,
            "role changes go through an admin"
        );
    }

    #[test]
    fn the_audit_log_is_read_only_and_only_for_governance() {
        for role in Role::ALL {
            let a = actor(&[role], &[]);
            let read = decide(&a, Action::List, &Resource::AuditLog);
            assert_eq!(read.allowed, role == InformationGovernanceOfficer, "{role}");
            assert!(!decide(&a, Action::Update, &Resource::AuditLog).allowed);
        }
    }

    #[test]
    fn the_granting_role_is_reported() {
        let a = actor(&[Commissioner, InformationGovernanceOfficer], &[]);
        let decision = decide(&a, Action::List, &Resource::AuditLog);
        assert_eq!(decision.as_role, Some(InformationGovernanceOfficer));
    }

    /// Role x relationship -> may they read the family? Every cell asserted.
    #[test]
    fn family_access_table() {
        #[derive(Clone, Copy, Debug)]
        enum Relationship {
            Lead,
            Team,
            SameLocality,
            Unrelated,
            /// In the team after the family withdrew consent, the share resting on consent.
            TeamConsentWithdrawn,
            /// In the team after consent was withdrawn, the share on another lawful basis.
            TeamOtherBasis,
            /// Not involved, holding unexpired break-glass access, consent withdrawn.
            BreakGlass,
        }
        use Relationship::*;
        const ALL: [Relationship; 7] = [
            Lead,
            Team,
            SameLocality,
            Unrelated,
            TeamConsentWithdrawn,
            TeamOtherBasis,
            BreakGlass,
        ];
        let (t, f) = (true, false);
        let expected: &[(Role, [bool; 7])] = &[
            // role                   lead team locality unrelated team-withdrawn team-other break-glass
            (Administrator, [f, f, f, f, f, f, f]),
            (LocalityLead, [t, t, t, f, f, t, t]),
            (Practitioner, [t, t, f, f, f, t, t]),
            (CommunityConnector, [f, f, f, f, f, f, f]),
            (VcsWorker, [f, f, f, f, f, f, f]),
            (DataAnalyst, [f, f, f, f, f, f, f]),
            (Commissioner, [f, f, f, f, f, f, f]),
            (InformationGovernanceOfficer, [f, f, f, f, f, f, f]),
            (GrantsOfficer, [f, f, f, f, f, f, f]),
            (GrantAssessor, [f, f, f, f, f, f, f]),
        ];
        for (role, cells) in expected {
            for (relationship, want) in ALL.iter().zip(cells) {
                let a = actor(&[*role], &["ladywood"]);
                let mut involvement = Involvement {
                    locality: "perry-barr".into(),
                    ..Default::default()
                };
                match relationship {
                    Lead => involvement.lead_practitioner = Some(a.user_id),
                    Team => involvement.team_members.push(a.user_id),
                    SameLocality => involvement.locality = "ladywood".into(),
                    Unrelated => {}
                    TeamConsentWithdrawn => {
                        involvement.team_members.push(a.user_id);
                        involvement.consent_withdrawn = true;
                    }
                    TeamOtherBasis => {
                        involvement.team_members.push(a.user_id);
                        involvement.shared_without_consent.push(a.user_id);
                        involvement.consent_withdrawn = true;
                    }
                    BreakGlass => {
                        involvement.break_glass.push(a.user_id);
                        involvement.consent_withdrawn = true;
                    }
                }
                for action in [Action::Read, Action::Update] {
                    let family = Resource::Family(involvement.clone());
                    let got = decide(&a, action, &family).allowed;
                    assert_eq!(got, *want, "{role} as {relationship:?} {action:?}");
                }
            }
        }
    }

    /// Allocating a case's lead practitioner: its locality's lead only, not the lead
    /// practitioner themselves, nor another locality's lead; reading goes with the case.
    #[test]
    fn only_the_localitys_lead_allocates_a_case() {
        let lead = actor(&[Practitioner], &["ladywood"]);
        let locality_lead = actor(&[LocalityLead], &["ladywood"]);
        let elsewhere = actor(&[LocalityLead], &["erdington"]);
        let involvement = Involvement {
            locality: "ladywood".into(),
            lead_practitioner: Some(lead.user_id),
            ..Default::default()
        };
        let allocation = Resource::FamilyAllocation(involvement);
        for (who, reads, allocates) in [
            (&lead, true, false),
            (&locality_lead, true, true),
            (&elsewhere, false, false),
        ] {
            assert_eq!(decide(who, Action::Read, &allocation).allowed, reads);
            assert_eq!(decide(who, Action::Update, &allocation).allowed, allocates);
            assert_eq!(may_allocate(who, "ladywood"), allocates);
        }
    }

    /// Stepping a case between levels: its leads and its locality's lead, nobody else in the
    /// team, no other locality's lead, no role without cases; reading it goes with the case.
    #[test]
    fn only_the_cases_leads_step_its_level() {
        let lead = actor(&[Practitioner], &[]);
        let lead_cp = actor(&[Practitioner], &[]);
        let team = actor(&[Practitioner], &[]);
        let locality_lead = actor(&[LocalityLead], &["ladywood"]);
        let elsewhere = actor(&[LocalityLead], &["erdington"]);
        let commissioner = actor(&[Commissioner], &["ladywood"]);
        let involvement = Involvement {
            locality: "ladywood".into(),
            lead_practitioner: Some(lead.user_id),
            lead_cp_practitioner: Some(lead_cp.user_id),
            team_members: vec![team.user_id, lead_cp.user_id],
            ..Default::default()
        };
        let level = Resource::FamilyLevel(involvement.clone());
        for (who, reads, steps) in [
            (&lead, true, true),
            (&lead_cp, true, true),
            (&locality_lead, true, true),
            (&team, true, false),
            (&elsewhere, false, false),
            (&commissioner, false, false),
        ] {
            assert_eq!(
                decide(who, Action::Read, &level).allowed,
                reads,
                "{:?}",
                who.roles
            );
            assert_eq!(
                decide(who, Action::Update, &level).allowed,
                steps,
                "{:?}",
                who.roles
            );
            assert_eq!(may_step_level(who, &involvement), steps);
        }
        // The lead child protection practitioner must already have access, not by break glass.
        assert!(may_lead_child_protection(&team, &involvement));
        assert!(may_lead_child_protection(&locality_lead, &involvement));
        assert!(!may_lead_child_protection(&elsewhere, &involvement));
        assert!(!may_lead_child_protection(&commissioner, &involvement));
        let stranger = actor(&[Practitioner], &[]);
        let glass = Involvement {
            break_glass: vec![stranger.user_id],
            ..involvement.clone()
        };
        assert!(decide(&stranger, Action::Read, &Resource::Family(glass.clone())).allowed);
        assert!(!may_lead_child_protection(&stranger, &glass));
    }

    /// The lead child protection practitioner keeps nothing once every other route to the
    /// case has gone: out of the team, consent withdrawn, or no longer named (the case left
    /// child protection, was closed or stepped up: `involvement` then reads no lead).
    #[test]
    fn the_lead_cp_practitioner_holds_nothing_once_other_routes_have_gone() {
        let lead_cp = actor(&[Practitioner], &["erdington"]);
        let named = Involvement {
            locality: "ladywood".into(),
            lead_cp_practitioner: Some(lead_cp.user_id),
            team_members: vec![lead_cp.user_id],
            ..Default::default()
        };
        let team_ended = Involvement {
            team_members: Vec::new(),
            ..named.clone()
        };
        let consent_withdrawn = Involvement {
            consent_withdrawn: true,
            ..named.clone()
        };
        let on_another_basis = Involvement {
            shared_without_consent: vec![lead_cp.user_id],
            ..consent_withdrawn.clone()
        };
        let not_child_protection = Involvement {
            lead_cp_practitioner: None,
            ..named.clone()
        };
        let (family, level) = (Resource::Family, Resource::FamilyLevel);
        for (case, involvement, reads, steps) in [
            ("named, in the team", &named, true, true),
            ("team ended", &team_ended, false, false),
            ("consent withdrawn", &consent_withdrawn, false, false),
            ("other lawful basis", &on_another_basis, true, false),
            ("not child protection", &not_child_protection, true, false),
        ] {
            for action in [Action::Read, Action::Update] {
                let got = decide(&lead_cp, action, &family(involvement.clone())).allowed;
                assert_eq!(got, reads, "{case}: family {action:?}");
            }
            let got = decide(&lead_cp, Action::Update, &level(involvement.clone())).allowed;
            assert_eq!(got, steps, "{case}: step the level");
            assert_eq!(may_step_level(&lead_cp, involvement), steps, "{case}");
        }
    }

    #[test]
    fn only_the_lead_or_the_locality_lead_answers_a_request_to_join() {
        let lead = actor(&[Practitioner], &[]);
        let team = actor(&[Practitioner], &[]);
        let locality_lead = actor(&[LocalityLead], &["ladywood"]);
        let elsewhere = actor(&[LocalityLead], &["erdington"]);
        let request = Resource::JoinRequest(Involvement {
            locality: "ladywood".into(),
            lead_practitioner: Some(lead.user_id),
            team_members: vec![team.user_id],
            ..Default::default()
        });
        let answers = |a: &Actor| decide(a, Action::Update, &request).allowed;
        assert!(answers(&lead));
        assert!(answers(&locality_lead));
        assert!(!answers(&team), "being in the team is not enough");
        assert!(!answers(&elsewhere));
    }

    #[test]
    fn social_value_is_written_by_the_organisation_and_read_by_commissioners() {
        let vcs = actor(&[VcsWorker], &[]);
        let own = Resource::SocialValue {
            organisation: Some(vcs.organisation_id),
        };
        let other = Resource::SocialValue {
            organisation: Some(Uuid::now_v7()),
        };
        let every = Resource::SocialValue { organisation: None };
        assert!(decide(&vcs, Action::Update, &own).allowed);
        assert!(!decide(&vcs, Action::Read, &other).allowed);
        assert!(!decide(&vcs, Action::List, &every).allowed);
        let commissioner = actor(&[Commissioner], &[]);
        assert!(decide(&commissioner, Action::Read, &other).allowed);
        assert!(decide(&commissioner, Action::List, &every).allowed);
        assert!(!decide(&commissioner, Action::Update, &other).allowed);
        let practitioner = actor(&[Practitioner], &[]);
        assert!(!decide(&practitioner, Action::Read, &other).allowed);
    }

    #[test]
    fn the_impact_is_read_with_aggregates_and_its_assumptions_set_by_commissioners() {
        for role in Role::ALL {
            let a = actor(&[role], &[]);
            let read = decide(&a, Action::Read, &Resource::Impact).allowed;
            assert_eq!(read, role.may(Permission::SeeAggregates), "{role}");
            let set = decide(&a, Action::Update, &Resource::Impact).allowed;
            assert_eq!(set, matches!(role, Commissioner | DataAnalyst), "{role}");
        }
    }

    #[test]
    fn indicators_are_read_with_aggregates_and_loaded_by_data_owners() {
        for role in Role::ALL {
            let a = actor(&[role], &[]);
            for action in [Action::List, Action::Read] {
                let read = decide(&a, action, &Resource::Indicators).allowed;
                assert_eq!(
                    read,
                    role.may(Permission::SeeAggregates),
                    "{role} {action:?}"
                );
            }
            for action in [Action::Create, Action::Update] {
                let write = decide(&a, action, &Resource::Indicators).allowed;
                assert_eq!(write, role == DataAnalyst, "{role} {action:?}");
            }
        }
        let practitioner = actor(&[Practitioner], &[]);
        assert!(!decide(&practitioner, Action::Read, &Resource::Indicators).allowed);
    }

    #[test]
    fn listings_belong_to_their_locality_connector_and_their_organisation() {
        let connector = actor(&[CommunityConnector], &["ladywood"]);
        let vcs = actor(&[VcsWorker], &[]);
        let listing = |locality: &str, owner: Uuid| Resource::Listing {
            locality: Some(locality.into()),
            owner_organisation: owner,
        };
        let elsewhere = Uuid::now_v7();
        // A connector edits any listing of their locality, whoever runs it, and approves there.
        assert!(decide(&connector, Action::Update, &listing("ladywood", elsewhere)).allowed);
        assert!(!decide(&connector, Action::Update, &listing("erdington", elsewhere)).allowed);
        let approve = |a: &Actor, l: &str| {
            decide(
                a,
                Action::Update,
                &Resource::ListingApproval {
                    locality: Some(l.into()),
                    connector_there: true,
                },
            )
            .allowed
        };
        assert!(approve(&connector, "ladywood"));
        assert!(!approve(&connector, "erdington"));
        // A VCS worker edits only their own organisation's listings, anywhere, and approves none.
        assert!(
            decide(
                &vcs,
                Action::Update,
                &listing("erdington", vcs.organisation_id)
            )
            .allowed
        );
        assert!(!decide(&vcs, Action::Update, &listing("ladywood", elsewhere)).allowed);
        assert!(!approve(&vcs, "ladywood"));
        // Everyone else: no.
        for role in [
            Administrator,
            Practitioner,
            LocalityLead,
            Commissioner,
            DataAnalyst,
        ] {
            let a = actor(&[role], &["ladywood"]);
            assert!(
                !decide(&a, Action::Update, &listing("ladywood", a.organisation_id)).allowed,
                "{role}"
            );
            assert!(
                !decide(&a, Action::List, &listing("ladywood", elsewhere)).allowed,
                "{role}"
            );
            assert!(!approve(&a, "ladywood"), "{role}");
        }
        // Staff who keep the directory may list it.
        assert!(decide(&vcs, Action::List, &listing("ladywood", elsewhere)).allowed);
        // Where a locality has no connector, its lead approves, and only there.
        let lead = actor(&[LocalityLead], &["ladywood"]);
        let unconnected = |a: &Actor, l: &str| {
            decide(
                a,
                Action::Update,
                &Resource::ListingApproval {
                    locality: Some(l.into()),
                    connector_there: false,
                },
            )
            .allowed
        };
        assert!(unconnected(&lead, "ladywood"));
        assert!(!unconnected(&lead, "erdington"));
        assert!(!unconnected(&vcs, "ladywood"));
        assert!(!decide(&lead, Action::Update, &listing("ladywood", elsewhere)).allowed);
    }

    /// Role x relationship to a request x action: every cell asserted.
    #[test]
    fn request_access_table() {
        // role, [create, list own locality, update own locality, list other locality]
        let expected: &[(Role, [bool; 4])] = &[
            (Administrator, [false, false, false, false]),
            (LocalityLead, [true, true, true, false]),
            (Practitioner, [true, false, false, false]),
            (CommunityConnector, [true, false, false, false]),
            (VcsWorker, [true, false, false, false]),
            (DataAnalyst, [false, false, false, false]),
            (Commissioner, [false, false, false, false]),
            (InformationGovernanceOfficer, [false, false, false, false]),
        ];
        let request = |l: &str| Resource::SupportRequest {
            locality: Some(l.into()),
        };
        for (role, cells) in expected {
            let a = actor(&[*role], &["ladywood"]);
            let got = [
                decide(
                    &a,
                    Action::Create,
                    &Resource::SupportRequest { locality: None },
                )
                .allowed,
                decide(&a, Action::List, &request("ladywood")).allowed,
                decide(&a, Action::Update, &request("ladywood")).allowed,
                decide(&a, Action::List, &request("erdington")).allowed,
            ];
            assert_eq!(&got, cells, "{role}");
        }
    }

    /// Who gets the name-only "known to" view and a caseload: staff who work with families.
    #[test]
    fn known_to_and_caseload_table() {
        // role, [known-to read, ask to join, known-to update, caseload list]
        let expected: &[(Role, [bool; 4])] = &[
            (Administrator, [false, false, false, false]),
            (LocalityLead, [true, true, false, true]),
            (Practitioner, [true, true, false, true]),
            (CommunityConnector, [true, true, false, false]),
            (VcsWorker, [true, true, false, false]),
            (DataAnalyst, [false, false, false, false]),
            (Commissioner, [false, false, false, false]),
            (InformationGovernanceOfficer, [false, false, false, false]),
        ];
        for (role, cells) in expected {
            let a = actor(&[*role], &["ladywood"]);
            let got = [
                decide(&a, Action::Read, &Resource::FamilyKnownTo).allowed,
                decide(&a, Action::Create, &Resource::FamilyKnownTo).allowed,
                decide(&a, Action::Update, &Resource::FamilyKnownTo).allowed,
                decide(&a, Action::List, &Resource::Caseload).allowed,
            ];
            assert_eq!(&got, cells, "{role}");
        }
    }

    /// Subject access and legal holds: the information governance officer, for every action.
    #[test]
    fn records_governance_is_for_the_information_governance_officer_only() {
        for role in Role::ALL {
            let a = actor(&[role], &["ladywood"]);
            for action in [Action::List, Action::Read, Action::Create, Action::Update] {
                let got = decide(&a, action, &Resource::RecordsGovernance).allowed;
                assert_eq!(
                    got,
                    role == InformationGovernanceOfficer,
                    "{role} {action:?}"
                );
            }
        }
    }

    /// Only analysts get pseudonymised extracts; nobody writes to one.
    #[test]
    fn pseudonymised_extract_table() {
        for role in Role::ALL {
            let a = actor(&[role], &[]);
            let read = decide(&a, Action::List, &Resource::PseudonymisedExtract).allowed;
            assert_eq!(read, role == DataAnalyst, "{role}");
            assert!(!decide(&a, Action::Update, &Resource::PseudonymisedExtract).allowed);
        }
    }

    /// Who may break glass (create) and who reviews it (list, update).
    #[test]
    fn break_glass_table() {
        for role in Role::ALL {
            let a = actor(&[role], &[]);
            let create = decide(&a, Action::Create, &Resource::BreakGlass).allowed;
            assert_eq!(create, role.may(Permission::WorkCases), "{role} create");
            for action in [Action::List, Action::Update] {
                let review = decide(&a, action, &Resource::BreakGlass).allowed;
                assert_eq!(
                    review,
                    role == InformationGovernanceOfficer,
                    "{role} {action:?}"
                );
            }
        }
    }

    /// Programmes, the payment queue and spend: who may do what, every role.
    #[test]
    fn money_access_table() {
        // role, [programmes read, programmes change, queue, spend]
        let expected: &[(Role, [bool; 4])] = &[
            (Administrator, [false, false, false, true]),
            (LocalityLead, [true, false, false, true]),
            (Practitioner, [true, false, false, false]),
            (CommunityConnector, [false, false, false, false]),
            (VcsWorker, [false, false, false, false]),
            (DataAnalyst, [false, false, false, true]),
            (Commissioner, [false, false, false, true]),
            (InformationGovernanceOfficer, [false, false, false, true]),
            (GrantsOfficer, [true, true, true, true]),
            (GrantAssessor, [false, false, false, false]),
        ];
        assert_eq!(expected.len(), Role::ALL.len());
        for (role, cells) in expected {
            let a = actor(&[*role], &["ladywood"]);
            let got = [
                decide(&a, Action::List, &Resource::Programmes).allowed,
                decide(&a, Action::Create, &Resource::Programmes).allowed,
                decide(&a, Action::List, &Resource::PaymentQueue).allowed,
                decide(&a, Action::List, &Resource::Spend).allowed,
            ];
            assert_eq!(&got, cells, "{role}");
        }
    }

    #[test]
    fn withdrawn_consent_shuts_out_the_team_at_once() {
        let a = actor(&[Practitioner], &[]);
        let mut involvement = Involvement {
            locality: "ladywood".into(),
            team_members: vec![a.user_id],
            ..Default::default()
        };
        assert!(decide(&a, Action::Read, &Resource::Family(involvement.clone())).allowed);
        involvement.consent_withdrawn = true;
        assert!(!decide(&a, Action::Read, &Resource::Family(involvement)).allowed);
    }

    #[test]
    fn a_second_person_approves_access_never_the_first() {
        let admin = actor(&[Administrator], &[]);
        let lead = actor(&[LocalityLead], &["ladywood"]);
        let other_lead = actor(&[LocalityLead], &["erdington"]);
        let ig = actor(&[InformationGovernanceOfficer], &[]);
        let grant = |role, locality: Option<&str>| Grant {
            user_id: Uuid::now_v7(),
            requested_by: Some(admin.user_id),
            role,
            locality: locality.map(str::to_string),
        };
        let may = |who: &Actor, grant: &Grant| {
            decide(who, Action::Update, &Resource::AccessGrant(grant.clone())).allowed
        };

        let practitioner = grant(Practitioner, Some("ladywood"));
        assert!(may(&lead, &practitioner));
        assert!(!may(&other_lead, &practitioner), "another locality's lead");
        assert!(!may(&admin, &practitioner), "the administrator who asked");
        assert!(
            !may(&ig, &practitioner),
            "a locality's lead decides its practitioners"
        );

        for lead_or_ig in [
            grant(LocalityLead, Some("ladywood")),
            grant(InformationGovernanceOfficer, None),
            grant(Commissioner, None),
        ] {
            assert!(may(&ig, &lead_or_ig), "{lead_or_ig:?}");
            assert!(!may(&lead, &lead_or_ig), "{lead_or_ig:?}");
        }

        let own = Grant {
            user_id: lead.user_id,
            ..practitioner.clone()
        };
        assert!(!may(&lead, &own), "nobody approves their own access");
        let asked = Grant {
            requested_by: Some(lead.user_id),
            ..practitioner.clone()
        };
        assert!(!may(&lead, &asked), "nobody approves what they asked for");

        for who in [&lead, &ig] {
            assert!(decide(who, Action::List, &Resource::AccessGrants).allowed);
        }
        for who in [&admin, &actor(&[Practitioner], &["ladywood"])] {
            assert!(!decide(who, Action::List, &Resource::AccessGrants).allowed);
        }
    }
}

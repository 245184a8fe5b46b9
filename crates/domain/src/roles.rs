//! Roles and what each may do: the one table an information governance officer can read.
//!
//! A permission names a kind of work, not a screen. Whether a person may do that work on a
//! particular record (their organisation, their locality, their involvement) is decided in
//! [`crate::access`], which consults this table first.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    LocalityLead,
    Practitioner,
    CommunityConnector,
    VcsWorker,
    DataAnalyst,
    Commissioner,
    InformationGovernanceOfficer,
    GrantsOfficer,
    GrantAssessor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create, change and deactivate user accounts.
    ManageUsers,
    /// Create and change organisations and localities.
    ManageOrganisations,
    /// Read the audit log of who saw and changed what.
    ReadAuditLog,
    /// Send a request for support for a family.
    RequestSupport,
    /// Triage and allocate the requests of one's own localities.
    TriageRequests,
    /// Hold family cases: assessment, plan, notes, readings, closure.
    WorkCases,
    /// Keep the directory of community support true.
    EditDirectory,
    /// Approve other people's changes to directory listings.
    ApproveDirectory,
    /// Accept or decline referrals into one's own organisation's services.
    AnswerReferrals,
    /// Load indicator values and take pseudonymised extracts.
    LoadData,
    /// Upload agencies' lists and match them against earlyhelp's people or each other, and
    /// review possible matches: the review queue shows the values the engine compared on both
    /// records (names, date of birth, address), never the case behind earlyhelp's record.
    LinkRecords,
    /// See aggregate reports: outcomes, costs and benefits. Never person-level data.
    SeeAggregates,
    /// Answer subject access requests, and place and lift legal holds on records.
    GovernRecords,
    /// Run funding programmes; see, approve and pay payments to families (never case notes).
    ManagePayments,
    /// Score applications for community grants (never families' records).
    AssessGrants,
}

use Permission::*;
use Role::*;

/// Who may do what. Read it across: a role, then everything that role may do.
pub const ROLE_TABLE: &[(Role, &[Permission])] = &[
    (
        Administrator,
        &[ManageUsers, ManageOrganisations, SeeAggregates],
    ),
    (
        LocalityLead,
        &[RequestSupport, TriageRequests, WorkCases, SeeAggregates],
    ),
    (Practitioner, &[RequestSupport, WorkCases]),
    (
        CommunityConnector,
        &[
            EditDirectory,
            ApproveDirectory,
            AnswerReferrals,
            RequestSupport,
        ],
    ),
    (VcsWorker, &[EditDirectory, AnswerReferrals, RequestSupport]),
    (DataAnalyst, &[LoadData, LinkRecords, SeeAggregates]),
    (Commissioner, &[SeeAggregates]),
    (
        InformationGovernanceOfficer,
        &[ReadAuditLog, GovernRecords, SeeAggregates],
    ),
    (
        GrantsOfficer,
        &[ManagePayments, AssessGrants, SeeAggregates],
    ),
    (GrantAssessor, &[AssessGrants]),
];

impl Role {
    pub const ALL: [Role; 10] = [
        Administrator,
        LocalityLead,
        Practitioner,
        CommunityConnector,
        VcsWorker,
        DataAnalyst,
        Commissioner,
        InformationGovernanceOfficer,
        GrantsOfficer,
        GrantAssessor,
    ];

    /// The stable name stored in the database and typed on the command line.
    pub fn slug(self) -> &'static str {
        match self {
            Administrator => "administrator",
            LocalityLead => "locality_lead",
            Practitioner => "practitioner",
            CommunityConnector => "community_connector",
            VcsWorker => "vcs_worker",
            DataAnalyst => "data_analyst",
            Commissioner => "commissioner",
            InformationGovernanceOfficer => "information_governance_officer",
            GrantsOfficer => "grants_officer",
            GrantAssessor => "grant_assessor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Administrator => "Administrator",
            LocalityLead => "Locality lead",
            Practitioner => "Early help practitioner",
            CommunityConnector => "Community connector",
            VcsWorker => "VCS worker",
            DataAnalyst => "Data analyst",
            Commissioner => "Commissioner",
            InformationGovernanceOfficer => "Information governance officer",
            GrantsOfficer => "Grants officer",
            GrantAssessor => "Grant assessor",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Role> {
        let wanted = slug.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Role::ALL.into_iter().find(|role| role.slug() == wanted)
    }

    pub fn permissions(self) -> &'static [Permission] {
        ROLE_TABLE
            .iter()
            .find(|(role, _)| *role == self)
            .map(|(_, permissions)| *permissions)
            .unwrap_or(&[])
    }

    pub fn may(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl Role {
    /// Reads what is held about families: their cases (lead, practitioner), a person's whole
    /// record (the information governance officer, for subject access) or the households
    /// payments go to (the grants officer).
    pub fn reads_cases(self) -> bool {
        self.may(WorkCases)
            || self.may(TriageRequests)
            || self.may(GovernRecords)
            || self.may(ManagePayments)
    }
}

/// Administrators hold no case role: whoever makes accounts must not be able to read what
/// the accounts read. Checks the roles one account would hold.
pub fn check_role_set(roles: &[Role]) -> Result<(), String> {
    if roles.contains(&Administrator) && roles.iter().any(|r| r.reads_cases()) {
        let case_roles: Vec<_> = Role::ALL
            .iter()
            .filter(|r| r.reads_cases())
            .map(|r| r.label())
            .collect();
        return Err(format!(
            "An administrator cannot also hold a role that reads cases ({}): give them a \
             separate account",
            case_roles.join(", ")
        ));
    }
    Ok(())
}

/// The roles in effect for an account: an administrator's case roles (held before they were
/// refused) count for nothing.
pub fn in_effect(roles: Vec<Role>) -> Vec<Role> {
    if roles.contains(&Administrator) {
        roles.into_iter().filter(|r| !r.reads_cases()).collect()
    } else {
        roles
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}

/// The roles an audit event recorded (slugs, comma-separated) in words; an unknown one as
/// recorded.
pub fn in_words(slugs: &str) -> String {
    slugs
        .split(',')
        .map(|slug| match Role::from_slug(slug.trim()) {
            Some(role) => role.label(),
            None => slug.trim(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_in_the_table_exactly_once() {
        for role in Role::ALL {
            let rows = ROLE_TABLE.iter().filter(|(r, _)| *r == role).count();
            assert_eq!(rows, 1, "{role} appears {rows} times in ROLE_TABLE");
        }
    }

    #[test]
    fn slugs_round_trip_and_accept_human_spellings() {
        for role in Role::ALL {
            assert_eq!(Role::from_slug(role.slug()), Some(role));
        }
        assert_eq!(Role::from_slug("Locality Lead"), Some(LocalityLead));
        assert_eq!(
            Role::from_slug("community-connector"),
            Some(CommunityConnector)
        );
        assert_eq!(Role::from_slug("superuser"), None);
    }

    #[test]
    fn only_administrators_manage_users() {
        for role in Role::ALL {
            assert_eq!(role.may(ManageUsers), role == Administrator, "{role}");
        }
    }

    #[test]
    fn only_the_information_governance_officer_reads_the_audit_log() {
        for role in Role::ALL {
            assert_eq!(
                role.may(ReadAuditLog),
                role == InformationGovernanceOfficer,
                "{role}"
            );
        }
    }

    #[test]
    fn only_data_analysts_link_records() {
        for role in Role::ALL {
            assert_eq!(role.may(LinkRecords), role == DataAnalyst, "{role}");
        }
    }

    #[test]
    fn commissioners_and_analysts_never_work_cases() {
        for role in [
            Commissioner,
            DataAnalyst,
            Administrator,
            InformationGovernanceOfficer,
        ] {
            assert!(!role.may(WorkCases), "{role} must not work cases");
            assert!(!role.may(TriageRequests), "{role} must not triage");
        }
    }

    #[test]
    fn administrators_hold_no_case_role() {
        for role in Role::ALL {
            let both = check_role_set(&[Administrator, role]);
            assert_eq!(both.is_err(), role.reads_cases(), "{role}");
            assert!(check_role_set(&[role]).is_ok());
        }
        assert!(
            check_role_set(&[Administrator, Practitioner])
                .unwrap_err()
                .contains("separate account")
        );
        assert_eq!(
            in_effect(vec![Administrator, LocalityLead, Commissioner]),
            vec![Administrator, Commissioner]
        );
        assert_eq!(in_effect(vec![LocalityLead]), vec![LocalityLead]);
        let reading: Vec<_> = Role::ALL.into_iter().filter(|r| r.reads_cases()).collect();
        assert_eq!(
            reading,
            vec![
                LocalityLead,
                Practitioner,
                InformationGovernanceOfficer,
                GrantsOfficer
            ]
        );
    }
}

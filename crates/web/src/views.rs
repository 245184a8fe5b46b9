//! What every page shares: the layout (who is signed in, the menu, the CSRF token) and the
//! small view types the templates iterate over.

use crate::session::Signed;
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::roles::Permission;

pub struct UserView {
    pub name: String,
    pub organisation: String,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub struct Layout {
    pub user: Option<UserView>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

/// The menu: each entry shown only to people whose roles hold its permission.
const MENU: &[(&str, &str, Option<Permission>)] = &[
    ("/", "Home", None),
    ("/admin/users", "Users", Some(Permission::ManageUsers)),
    (
        "/admin/organisations",
        "Organisations",
        Some(Permission::ManageOrganisations),
    ),
    (
        "/admin/localities",
        "Localities",
        Some(Permission::ManageOrganisations),
    ),
    ("/audit", "Audit log", Some(Permission::ReadAuditLog)),
    ("/governance", "Governance", Some(Permission::GovernRecords)),
    (
        "/directory/manage",
        "Directory",
        Some(Permission::EditDirectory),
    ),
    (
        "/requests/new",
        "Requests",
        Some(Permission::RequestSupport),
    ),
    ("/triage", "Triage", Some(Permission::TriageRequests)),
    ("/families", "Families", Some(Permission::WorkCases)),
    ("/outcomes", "Outcomes", Some(Permission::SeeAggregates)),
    ("/extracts", "Extracts", Some(Permission::LoadData)),
];

impl Layout {
    pub fn anonymous(csrf: String) -> Layout {
        Layout {
            user: None,
            csrf,
            nav: Vec::new(),
        }
    }

    pub fn for_user(signed: &Signed, current: &str) -> Layout {
        let nav = MENU
            .iter()
            .filter(|(_, _, permission)| permission.is_none_or(|p| signed.may(p)))
            .map(|(href, label, _)| NavItem {
                href,
                label,
                current: *href == current,
            })
            .collect();
        Layout {
            user: Some(UserView {
                name: signed.user.name.clone(),
                organisation: signed.user.organisation_name.clone(),
            }),
            csrf: signed.csrf.clone(),
            nav,
        }
    }
}

pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl SelectOption {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Self {
        SelectOption {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

/// The message for `field`, if it has one; templates call this through `self.error(..)`.
pub fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// A card on the home page.
pub struct Task {
    pub title: &'static str,
    pub description: &'static str,
    pub href: Option<&'static str>,
}

/// What a permission lets a person do, in their words, and where to do it (once built).
pub fn task_for(permission: Permission) -> Task {
    use Permission::*;
    let (title, description, href) = match permission {
        ManageUsers => (
            "Manage users",
            "Add people, give them roles and localities, deactivate them.",
            Some("/admin/users"),
        ),
        ManageOrganisations => (
            "Organisations and localities",
            "Keep the partnership's organisations and the ten localities up to date.",
            Some("/admin/organisations"),
        ),
        ReadAuditLog => (
            "Audit log",
            "See who looked at or changed which record, when and why, and every refusal.",
            Some("/audit"),
        ),
        RequestSupport => (
            "Request support for a family",
            "Send a Family Connect Form to the family's locality.",
            Some("/requests/new"),
        ),
        TriageRequests => (
            "Triage requests",
            "Decide what each request for your locality needs and allocate a lead practitioner.",
            Some("/triage"),
        ),
        WorkCases => (
            "Your families",
            "Assessments, plans, notes and outcome readings for the families you work with.",
            Some("/families"),
        ),
        EditDirectory => (
            "Directory listings",
            "Keep your services in the Local Offer directory true and current.",
            Some("/directory/manage"),
        ),
        ApproveDirectory => (
            "Review directory changes",
            "Approve changes to listings and merge duplicates in your locality.",
            Some("/directory/manage/duplicates"),
        ),
        AnswerReferrals => (
            "Referrals to your services",
            "Accept or decline families referred to your services and record the result.",
            None,
        ),
        LoadData => (
            "Load data",
            "Upload monthly indicator values and match records across agencies.",
            Some("/outcomes/uploads/new"),
        ),
        GovernRecords => (
            "Subject access and retention",
            "Find a person, produce everything held about them, and place or lift legal holds.",
            Some("/governance"),
        ),
        SeeAggregates => (
            "Outcomes and impact",
            "The outcomes framework and the return on investment for each partner.",
            Some("/outcomes"),
        ),
    };
    Task {
        title,
        description,
        href,
    }
}

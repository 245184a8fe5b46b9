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
        "/governance/not-shared",
        "Not shared",
        Some(Permission::GovernRecords),
    ),
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
    ("/referrals", "Referrals", Some(Permission::AnswerReferrals)),
    ("/payments", "Payments", Some(Permission::ManagePayments)),
    (
        "/grants/applications",
        "Grants",
        Some(Permission::AssessGrants),
    ),
    (
        "/social-value",
        "Social value",
        Some(Permission::AnswerReferrals),
    ),
    ("/outcomes", "Outcomes", Some(Permission::SeeAggregates)),
    ("/impact", "Impact", Some(Permission::SeeAggregates)),
    ("/surveys", "Surveys", Some(Permission::SeeAggregates)),
    (
        "/spend-against-need",
        "Spend",
        Some(Permission::SeeAggregates),
    ),
    ("/extracts", "Extracts", Some(Permission::LoadData)),
    ("/matching", "Matching", Some(Permission::LinkRecords)),
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
            "Send a Family Connect Form to the family's locality, and see what became of the requests you sent.",
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
            "Upload monthly indicator values.",
            Some("/outcomes/uploads/new"),
        ),
        LinkRecords => (
            "Match an agency's list",
            "Upload an agency's list, match it against the people earlyhelp knows, and review possible matches.",
            Some("/matching"),
        ),
        GovernRecords => (
            "Subject access and retention",
            "Keep the register of requests received and their due dates, find a person and produce everything held about them, and place or lift legal holds.",
            Some("/governance"),
        ),
        ManagePayments => (
            "Payments",
            "Approve and pay payments to families, crisis requests first, and run the programmes.",
            Some("/payments"),
        ),
        AssessGrants => (
            "Community grant applications",
            "Score applications against the programme's criteria, or declare a conflict of interest.",
            Some("/grants/applications"),
        ),
        SeeAggregates => (
            "Outcomes and impact",
            "The outcomes framework's indicators, and from there the return on Early Help for each \
             partner: the fiscal return for each £1 it spends.",
            Some("/outcomes"),
        ),
    };
    Task {
        title,
        description,
        href,
    }
}

/// An audit purpose that names a search: `what: name=…, postcode=…`, the filters given only,
/// so an information governance review sees who looked for whom.
pub fn search_purpose(what: &str, filters: &[(&str, String)]) -> String {
    let given: Vec<String> = filters
        .iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(name, value)| format!("{name}={}", value.trim()))
        .collect();
    if given.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {}", given.join(", "))
    }
}

/// The page of a list asked for in a query: empty is the first; anything but a whole number
/// from 1 to `MAX_PAGE` is refused (422), never wrapped round or quietly replaced.
pub fn page_asked(raw: &str) -> Result<usize, crate::error::AppError> {
    use earlyhelp_domain::limits::{MAX_PAGE, parse_page};
    let page = parse_page(raw, MAX_PAGE).map_err(|e| crate::error::AppError::Invalid(vec![e]))?;
    Ok(page as usize)
}

/// Numbered page links in the GOV.UK pagination pattern: the current page and up to two either
/// side, with previous and next. No links at all when everything fits on one page.
pub struct Pagination {
    /// The page shown, from 1 (a page asked for beyond the last is the last).
    pub page: usize,
    pub links: Vec<PageLink>,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// What the pages are of, for screen readers: "Results pages".
    pub label: &'static str,
}

pub struct PageLink {
    pub number: usize,
    pub href: String,
    pub current: bool,
}

impl Pagination {
    pub fn new(
        total: usize,
        asked: usize,
        per_page: usize,
        label: &'static str,
        href: impl Fn(usize) -> String,
    ) -> Self {
        let (pages, page) = earlyhelp_domain::directory::paging(total, asked, per_page);
        let links = (page.saturating_sub(2).max(1)..=(page + 2).min(pages))
            .filter(|_| pages > 1)
            .map(|n| PageLink {
                number: n,
                href: href(n),
                current: n == page,
            })
            .collect();
        Pagination {
            page,
            links,
            previous: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
            label,
        }
    }

    /// How many items come before the current page.
    pub fn skip(&self, per_page: usize) -> usize {
        (self.page - 1) * per_page
    }
}

/// The localities' names, for pages whose rows hold a locality's slug.
pub struct LocalityNames(Vec<earlyhelp_storage::accounts::Locality>);

impl LocalityNames {
    pub async fn load(db: &earlyhelp_storage::Db) -> Result<Self, crate::error::AppError> {
        Ok(LocalityNames(
            earlyhelp_storage::accounts::list_localities(db).await?,
        ))
    }

    /// Whether a locality has the slug `slug`.
    pub fn knows(&self, slug: &str) -> bool {
        self.0.iter().any(|l| l.slug == slug)
    }

    /// The name of the locality `slug` ("Hall Green"); a slug no locality has, as it is.
    pub fn name(&self, slug: &str) -> String {
        self.0
            .iter()
            .find(|l| l.slug == slug)
            .map_or_else(|| slug.to_string(), |l| l.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::Pagination;

    fn numbers(p: &Pagination) -> Vec<(usize, bool)> {
        p.links.iter().map(|l| (l.number, l.current)).collect()
    }

    #[test]
    fn pages_around_the_current_one() {
        let p = Pagination::new(210, 3, 50, "Queue pages", |n| format!("?page={n}"));
        assert_eq!(p.page, 3);
        assert_eq!(
            numbers(&p),
            [(1, false), (2, false), (3, true), (4, false), (5, false)]
        );
        assert_eq!(p.previous.as_deref(), Some("?page=2"));
        assert_eq!(p.next.as_deref(), Some("?page=4"));
        assert_eq!(p.skip(50), 100);
    }

    #[test]
    fn beyond_the_last_page_is_the_last_and_one_page_needs_no_links() {
        let p = Pagination::new(51, 9, 50, "Queue pages", |n| n.to_string());
        assert_eq!((p.page, p.next.clone()), (2, None));
        assert_eq!(p.skip(50), 50);
        let one = Pagination::new(50, 1, 50, "Queue pages", |n| n.to_string());
        assert!(one.links.is_empty() && one.previous.is_none() && one.next.is_none());
        let none = Pagination::new(0, 0, 50, "Queue pages", |n| n.to_string());
        assert_eq!((none.page, none.skip(50)), (1, 0));
    }
}

//! People and organisations: the kinds we know and the checks their details must pass.

use serde::{Deserialize, Serialize};

/// A problem with one field of a form or a row, in words its user understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Council,
    ChildrensTrust,
    NhsTrust,
    IntegratedCareBoard,
    Police,
    School,
    Nursery,
    College,
    Vcs,
    Faith,
    Partnership,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 11] = [
        Self::Council,
        Self::ChildrensTrust,
        Self::NhsTrust,
        Self::IntegratedCareBoard,
        Self::Police,
        Self::School,
        Self::Nursery,
        Self::College,
        Self::Vcs,
        Self::Faith,
        Self::Partnership,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Council => "council",
            Self::ChildrensTrust => "childrens_trust",
            Self::NhsTrust => "nhs_trust",
            Self::IntegratedCareBoard => "integrated_care_board",
            Self::Police => "police",
            Self::School => "school",
            Self::Nursery => "nursery",
            Self::College => "college",
            Self::Vcs => "vcs",
            Self::Faith => "faith",
            Self::Partnership => "partnership",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Council => "Council",
            Self::ChildrensTrust => "Children's trust",
            Self::NhsTrust => "NHS trust",
            Self::IntegratedCareBoard => "Integrated care board",
            Self::Police => "Police",
            Self::School => "School",
            Self::Nursery => "Nursery",
            Self::College => "College",
            Self::Vcs => "Voluntary and community sector",
            Self::Faith => "Faith organisation",
            Self::Partnership => "Partnership",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.slug() == slug)
    }
}

/// Lower-cased, trimmed email if it looks like one (something@something.something).
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    plausible.then_some(email)
}

pub const MIN_PASSWORD_LENGTH: usize = 12;

/// NCSC advice: length over complexity rules. We ask for 12 characters and refuse the
/// passwords every attacker tries first.
pub fn check_new_password(password: &str) -> Result<(), FieldError> {
    const COMMON: &[&str] = &[
        "password1234",
        "123456789012",
        "qwertyuiop12",
        "earlyhelp123",
    ];
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(FieldError::new(
            "password",
            format!("Password must be {MIN_PASSWORD_LENGTH} characters or more"),
        ));
    }
    if let Some(error) =
        crate::limits::too_long("password", "Password", password, crate::limits::PASSWORD)
    {
        return Err(error);
    }
    if COMMON.contains(&password.to_lowercase().as_str()) {
        return Err(FieldError::new(
            "password",
            "Choose a password that is harder to guess",
        ));
    }
    Ok(())
}

/// A URL-safe identifier made from a name: "Perry Barr" -> "perry-barr".
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Ana@School.SCH.uk "),
            Some("ana@school.sch.uk".into())
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@school.uk",
            "ana@school",
            "an a@school.uk",
            "a@.uk",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_length_not_symbols() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("Password1234").is_err());
        assert!(check_new_password("correct horse battery").is_ok());
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Perry Barr"), "perry-barr");
        assert_eq!(slugify("  Hall Green & Moseley "), "hall-green-moseley");
        for kind in OrganisationKind::ALL {
            assert_eq!(OrganisationKind::from_slug(kind.slug()), Some(kind));
        }
    }
}

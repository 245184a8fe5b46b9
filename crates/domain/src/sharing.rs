//! Sharing a family's record lawfully: the lawful basis of each share (separate from consent),
//! break-glass access for emergencies, and the Early Help assessment that a share is for.

use crate::cases::Reason;
use crate::people::FieldError;
use serde::{Deserialize, Serialize};

choices!(
    /// UK GDPR article 6(1): the lawful basis for sharing personal data.
    Article6 {
        Consent => ("consent", "The family agreed (article 6(1)(a), consent)"),
        LegalObligation => ("legal_obligation", "The law requires it (article 6(1)(c), legal obligation: for example the Children Act 2004, section 11)"),
        VitalInterests => ("vital_interests", "To protect someone's life (article 6(1)(d), vital interests)"),
        PublicTask => ("public_task", "To do our public task (article 6(1)(e), public task: for example the Children Act 1989, section 17)"),
        LegitimateInterests => ("legitimate_interests", "For a legitimate interest (article 6(1)(f), legitimate interests: not for public authorities' own tasks)"),
    }
);

choices!(
    /// UK GDPR article 9(2): the condition for sharing special-category data (health, ethnicity,
    /// religion, sexual life), with the Data Protection Act 2018 schedule 1 condition where one applies.
    Article9 {
        ExplicitConsent => ("explicit_consent", "The family explicitly agreed (article 9(2)(a), explicit consent)"),
        SocialProtection => ("social_protection", "Social protection law requires it (article 9(2)(b))"),
        VitalInterests => ("vital_interests", "To protect someone's life when they cannot agree (article 9(2)(c), vital interests)"),
        Safeguarding => ("safeguarding", "To keep children safe (article 9(2)(g), substantial public interest: safeguarding of children, DPA 2018 schedule 1 paragraph 18)"),
        HealthCare => ("health_social_care", "For health or social care (article 9(2)(h))"),
    }
);

impl Article6 {
    /// A share that rests on consent ends when the family withdraws it; one on any other basis
    /// does not, though the partner should be told.
    pub fn rests_on_consent(self) -> bool {
        self == Article6::Consent
    }
}

/// A share as typed: to whom, why, and on what basis.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShareInput {
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub article6: String,
    /// Empty when no special-category data is shared.
    #[serde(default)]
    pub article9: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub purpose: String,
    pub article6: Article6,
    pub article9: Option<Article9>,
}

pub fn check_share(input: &ShareInput) -> Result<Share, Vec<FieldError>> {
    let mut errors = Vec::new();
    if input.purpose.trim().is_empty() {
        errors.push(FieldError::new(
            "purpose",
            "Enter why the record is shared, for example \"to support the family plan\"",
        ));
    }
    let article6 = Article6::from_slug(&input.article6);
    if article6.is_none() {
        errors.push(FieldError::new(
            "article6",
            "Choose the lawful basis for the share (UK GDPR article 6)",
        ));
    }
    let article9 = match input.article9.trim() {
        "" => Ok(None),
        slug => Article9::from_slug(slug).map(Some).ok_or(()),
    };
    if article9.is_err() {
        errors.push(FieldError::new(
            "article9",
            "Choose a condition from the list, or none if no special-category data is shared",
        ));
    }
    errors.extend(crate::limits::too_long(
        "purpose",
        "Why the record is shared",
        &input.purpose,
        crate::limits::LINE,
    ));
    match (article6, article9) {
        (Some(article6), Ok(article9)) if errors.is_empty() => Ok(Share {
            purpose: input.purpose.trim().to_string(),
            article6,
            article9,
        }),
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------------------------
// Break-glass access

/// How long break-glass access lasts: long enough to act on an emergency, short enough that it
/// is not a back door.
pub const BREAK_GLASS_HOURS: i64 = 4;

/// The shortest reason we accept: "urgent" alone does not tell the reviewer anything.
pub const BREAK_GLASS_REASON_MIN: usize = 20;

pub fn check_break_glass_reason(reason: &str) -> Result<String, FieldError> {
    let reason = reason.trim();
    if reason.chars().count() < BREAK_GLASS_REASON_MIN {
        return Err(FieldError::new(
            "reason",
            format!(
                "Say why you need to see this family's record now, in at least {BREAK_GLASS_REASON_MIN} characters: \
                 the information governance officer reviews every break-glass access"
            ),
        ));
    }
    if let Some(error) =
        crate::limits::too_long("reason", "The reason", reason, crate::limits::REASON)
    {
        return Err(error);
    }
    Ok(reason.to_string())
}

/// The information governance officer's verdict on a break-glass access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakGlassVerdict {
    Justified,
    NotJustified,
}

impl BreakGlassVerdict {
    pub const ALL: [BreakGlassVerdict; 2] = [Self::Justified, Self::NotJustified];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Justified => "justified",
            Self::NotJustified => "not_justified",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Justified => "Justified",
            Self::NotJustified => "Not justified",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.slug() == slug)
    }
}

/// A break-glass review as typed: a verdict, and a note saying why (and, if it was not
/// justified, what follows). Every problem, each naming its field.
pub fn check_break_glass_review(
    verdict: &str,
    note: &str,
) -> Result<(BreakGlassVerdict, String), Vec<FieldError>> {
    let mut errors = Vec::new();
    let verdict = BreakGlassVerdict::from_slug(verdict);
    if verdict.is_none() {
        errors.push(FieldError::new(
            "verdict",
            "Say whether the access was justified or not justified",
        ));
    }
    let note = note.trim();
    if note.is_empty() {
        errors.push(FieldError::new(
            "note",
            "Say why, and what follows if the access was not justified",
        ));
    } else if let Some(error) =
        crate::limits::too_long("note", "Your note", note, crate::limits::REASON)
    {
        errors.push(error);
    }
    match verdict {
        Some(verdict) if errors.is_empty() => Ok((verdict, note.to_string())),
        _ => Err(errors),
    }
}

/// The instant break-glass access granted at `granted_micros` ends.
pub fn break_glass_expiry(granted_micros: i64) -> i64 {
    granted_micros + BREAK_GLASS_HOURS * 3_600 * 1_000_000
}

// ---------------------------------------------------------------------------------------------
// The Early Help assessment

choices!(
    AssessmentStatus {
        Draft => ("draft", "Draft"),
        Final => ("final", "Finalised"),
    }
);

/// An assessment as typed. A draft may be incomplete; finalising needs every part.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AssessmentInput {
    /// The family's story, in their own words.
    #[serde(default)]
    pub family_story: String,
    /// What the children and young people say.
    #[serde(default)]
    pub child_voice: String,
    #[serde(default)]
    pub strengths: String,
    #[serde(default)]
    pub worries: String,
    /// [`Reason`] slugs: the needs the assessment finds.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The practitioner's analysis: what needs to change, and what the plan should do.
    #[serde(default)]
    pub analysis: String,
}

/// Checks an assessment: unknown needs are always an error; finalising also needs every part.
pub fn check_assessment(input: &AssessmentInput, finalising: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let sections = [
        ("family_story", "The family's story", &input.family_story),
        ("child_voice", "What the children say", &input.child_voice),
        ("strengths", "The family's strengths", &input.strengths),
        ("worries", "What everyone is worried about", &input.worries),
        ("analysis", "Your analysis", &input.analysis),
    ];
    for (field, what, text) in sections {
        errors.extend(crate::limits::too_long(
            field,
            what,
            text,
            crate::limits::ASSESSMENT_SECTION,
        ));
    }
    for need in &input.needs {
        if Reason::from_slug(need).is_none() {
            errors.push(FieldError::new(
                "needs",
                format!("{need:?} is not a need we know"),
            ));
        }
    }
    if !finalising {
        return errors;
    }
    let parts = [
        (
            "family_story",
            &input.family_story,
            "the family's story in their words",
        ),
        ("child_voice", &input.child_voice, "what the children say"),
        ("strengths", &input.strengths, "the family's strengths"),
        ("worries", &input.worries, "what everyone is worried about"),
        ("analysis", &input.analysis, "your analysis"),
    ];
    for (field, text, what) in parts {
        if text.trim().is_empty() {
            errors.push(FieldError::new(
                field,
                format!("Enter {what} before finalising"),
            ));
        }
    }
    if input.needs.is_empty() {
        errors.push(FieldError::new(
            "needs",
            "Choose at least one need before finalising",
        ));
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// Pseudonymised extracts for analysts

/// Age bands coarse enough that an extract does not carry dates of birth, fine enough to tell
/// early years from teenagers.
pub fn age_band(date_of_birth: time::Date, today: time::Date) -> &'static str {
    let mut age = today.year() - date_of_birth.year();
    if (today.month() as u8, today.day()) < (date_of_birth.month() as u8, date_of_birth.day()) {
        age -= 1;
    }
    match age {
        ..0 => "unborn",
        0..=4 => "0-4",
        5..=10 => "5-10",
        11..=15 => "11-15",
        16..=17 => "16-17",
        18..=24 => "18-24",
        25..=64 => "25-64",
        _ => "65+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_turn_on_the_birthday() {
        use time::macros::date;
        let today = date!(2026 - 12 - 01);
        assert_eq!(age_band(date!(2022 - 12 - 01), today), "0-4", "four today");
        assert_eq!(age_band(date!(2021 - 12 - 01), today), "5-10", "five today");
        assert_eq!(
            age_band(date!(2021 - 12 - 02), today),
            "0-4",
            "five tomorrow"
        );
        assert_eq!(age_band(date!(2010 - 06 - 30), today), "16-17");
        assert_eq!(age_band(date!(2008 - 12 - 01), today), "18-24");
        assert_eq!(age_band(date!(1990 - 01 - 01), today), "25-64");
    }

    fn share(article6: &str, article9: &str) -> ShareInput {
        ShareInput {
            purpose: "to deliver the family plan".into(),
            article6: article6.into(),
            article9: article9.into(),
        }
    }

    #[test]
    fn a_share_needs_a_purpose_and_an_article_6_basis() {
        let ok = check_share(&share("public_task", "safeguarding")).unwrap();
        assert_eq!(ok.article6, Article6::PublicTask);
        assert_eq!(ok.article9, Some(Article9::Safeguarding));
        assert_eq!(check_share(&share("consent", "")).unwrap().article9, None);

        let errors = check_share(&ShareInput::default()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["purpose", "article6"]);
        let errors = check_share(&share("because", "gossip")).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["article6", "article9"]);
    }

    #[test]
    fn only_a_consent_share_ends_with_consent() {
        for basis in Article6::ALL {
            assert_eq!(basis.rests_on_consent(), *basis == Article6::Consent);
        }
    }

    #[test]
    fn break_glass_wants_a_real_reason_and_ends_after_its_hours() {
        assert!(check_break_glass_reason("urgent").is_err());
        assert!(check_break_glass_reason("   urgent urgent urgent   ").is_ok());
        let granted = 1_000_000;
        assert_eq!(
            break_glass_expiry(granted) - granted,
            BREAK_GLASS_HOURS * 3_600_000_000
        );
    }

    #[test]
    fn a_break_glass_review_needs_a_verdict_and_a_note() {
        let fields = |e: Vec<FieldError>| e.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(
            fields(check_break_glass_review("", " ").unwrap_err()),
            ["verdict", "note"]
        );
        assert_eq!(
            fields(check_break_glass_review("maybe", "fine").unwrap_err()),
            ["verdict"]
        );
        let (verdict, note) = check_break_glass_review("not_justified", " curiosity ").unwrap();
        assert_eq!(verdict, BreakGlassVerdict::NotJustified);
        assert_eq!(note, "curiosity");
    }

    #[test]
    fn a_draft_may_be_partial_but_a_final_assessment_is_whole() {
        let partial = AssessmentInput {
            family_story: "We moved in the summer".into(),
            ..Default::default()
        };
        assert!(check_assessment(&partial, false).is_empty());
        let fields: Vec<_> = check_assessment(&partial, true)
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["child_voice", "strengths", "worries", "analysis", "needs"]
        );
        let whole = AssessmentInput {
            family_story: "We moved in the summer".into(),
            child_voice: "I miss my friends".into(),
            strengths: "Close family".into(),
            worries: "Rent arrears".into(),
            needs: vec!["money_housing_work".into()],
            analysis: "Debt advice first".into(),
        };
        assert!(check_assessment(&whole, true).is_empty());
        let unknown = AssessmentInput {
            needs: vec!["astrology".into()],
            ..whole
        };
        assert_eq!(check_assessment(&unknown, true).len(), 1);
        assert_eq!(check_assessment(&unknown, false).len(), 1);
    }
}

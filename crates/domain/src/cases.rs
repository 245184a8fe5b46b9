//! Requests for support and family cases: the pure rules. Reasons and levels of need from the
//! partnership's business case, routing a postcode to its locality, spotting a family we may
//! already know, the case's state machine, closure reasons, plan reviews and the outcome
//! measure's areas.

use crate::nhs_number::{NhsAnswer, check_nhs};
use crate::people::FieldError;
use serde::{Deserialize, Serialize};
use time::{Date, Duration};

choices!(
    /// Why a family needs help: the seed's reasons for a request.
    Reason {
        Money => ("money_housing_work", "Financial, housing, employment or training"),
        Health => ("health_wellbeing", "Health and emotional wellbeing"),
        Children => ("children_young_people", "Children and young people who need help"),
        DomesticAbuse => ("domestic_abuse", "Domestic abuse"),
        Education => ("education", "Education"),
        Homelessness => ("risk_of_homelessness", "Risk of homelessness"),
    }
);

choices!(
    /// The level of need, from the partnership's continuum of need.
    NeedLevel {
        Universal => ("universal", "Universal"),
        UniversalPlus => ("universal_plus", "Universal plus"),
        Additional => ("additional", "Additional needs"),
        Complex => ("complex", "Complex or significant"),
    }
);

choices!(
    /// How a family member is related to the household.
    MemberRole {
        Child => ("child", "Child or young person"),
        Parent => ("parent_carer", "Parent or carer"),
        OtherAdult => ("other_adult", "Other adult"),
    }
);

choices!(
    /// Ethnic group, in the categories of the 2021 census for England and Wales.
    Ethnicity {
        Bangladeshi => ("asian_bangladeshi", "Asian or Asian British: Bangladeshi"),
        Chinese => ("asian_chinese", "Asian or Asian British: Chinese"),
        Indian => ("asian_indian", "Asian or Asian British: Indian"),
        Pakistani => ("asian_pakistani", "Asian or Asian British: Pakistani"),
        OtherAsian => ("asian_other", "Asian or Asian British: any other Asian background"),
        African => ("black_african", "Black, Black British, Caribbean or African: African"),
        Caribbean => ("black_caribbean", "Black, Black British, Caribbean or African: Caribbean"),
        OtherBlack => ("black_other", "Black, Black British, Caribbean or African: any other Black background"),
        WhiteAsian => ("mixed_white_asian", "Mixed or multiple: White and Asian"),
        WhiteBlackAfrican => ("mixed_white_black_african", "Mixed or multiple: White and Black African"),
        WhiteBlackCaribbean => ("mixed_white_black_caribbean", "Mixed or multiple: White and Black Caribbean"),
        OtherMixed => ("mixed_other", "Mixed or multiple: any other mixed background"),
        British => ("white_british", "White: English, Welsh, Scottish, Northern Irish or British"),
        Irish => ("white_irish", "White: Irish"),
        Traveller => ("white_gypsy_traveller", "White: Gypsy or Irish Traveller"),
        Roma => ("white_roma", "White: Roma"),
        OtherWhite => ("white_other", "White: any other White background"),
        Arab => ("other_arab", "Other ethnic group: Arab"),
        Other => ("other", "Other ethnic group: any other ethnic group"),
        NotSaid => ("not_said", "Prefers not to say"),
    }
);

choices!(
    /// Special educational needs or disability, as a school or health visitor would record it.
    Send {
        No => ("none", "No known SEND or disability"),
        SenSupport => ("sen_support", "SEN support"),
        EhcPlan => ("ehc_plan", "Education, health and care plan"),
        Disability => ("disability", "Disability without special educational needs"),
    }
);

choices!(
    ConsentMethod {
        Verbal => ("verbal", "Verbal"),
        Written => ("written", "Written"),
    }
);

choices!(
    /// What triage decides a request needs.
    TriageOutcome {
        Advice => ("information_advice", "Information and advice"),
        Community => ("community_support", "Connect to community support"),
        EarlyHelp => ("locality_early_help", "Locality early help (allocate a lead practitioner)"),
        StepUp => ("step_up_social_care", "Step up to children's social care"),
        NoFurtherAction => ("no_further_action", "No further action"),
        Transfer => ("transfer", "Transfer to another locality"),
    }
);

choices!(
    ClosureReason {
        NeedsMet => ("needs_met", "Needs met"),
        SingleAgency => ("single_agency", "A single agency can continue"),
        SocialCareLeads => ("social_care_leads", "Children's social care leads"),
        FamilyWithdrew => ("family_withdrew", "The family no longer wishes to continue"),
    }
);

choices!(
    /// How far a need was met when the case closed.
    NeedOutcome {
        Met => ("met", "Met"),
        PartlyMet => ("partly_met", "Partly met"),
        NotMet => ("not_met", "Not met"),
    }
);

choices!(
    /// How a plan action still open when the case closes came to an end.
    ActionEnding {
        Done => ("done", "Done"),
        NotNeeded => ("not_needed", "No longer needed"),
        PassedOn => ("passed_on", "Passed to another service"),
    }
);

/// The closure form's field for how open plan action `id` ended.
pub fn action_ending_field(id: uuid::Uuid) -> String {
    format!("ending-{id}")
}

/// How each plan action still open (by id) ended, from the closure form; every one must say,
/// or one error (on the form's `action_endings` group) says how many do not.
pub fn check_action_endings(
    open: &[uuid::Uuid],
    answer: impl Fn(&str) -> String,
) -> Result<Vec<(uuid::Uuid, ActionEnding)>, FieldError> {
    let endings: Vec<(uuid::Uuid, ActionEnding)> = open
        .iter()
        .filter_map(|id| {
            ActionEnding::from_slug(&answer(&action_ending_field(*id))).map(|e| (*id, e))
        })
        .collect();
    match open.len() - endings.len() {
        0 => Ok(endings),
        1 => Err(FieldError::new(
            "action_endings",
            "Say how each open plan action ended: one has no answer",
        )),
        n => Err(FieldError::new(
            "action_endings",
            format!("Say how each open plan action ended: {n} have no answer"),
        )),
    }
}

impl NeedLevel {
    /// The level as a family would say how much help they need, for the self-referral form.
    pub fn in_family_words(self) -> &'static str {
        match self {
            NeedLevel::Universal => "Some information or advice",
            NeedLevel::UniversalPlus => "Help with one thing for a short while",
            NeedLevel::Additional => "Help with several things",
            NeedLevel::Complex => "A lot of help: things are very hard right now",
        }
    }
}

impl Reason {
    /// The closure form's field for how far this need was met.
    pub fn outcome_field(self) -> &'static str {
        match self {
            Reason::Money => "outcome_money_housing_work",
            Reason::Health => "outcome_health_wellbeing",
            Reason::Children => "outcome_children_young_people",
            Reason::DomesticAbuse => "outcome_domestic_abuse",
            Reason::Education => "outcome_education",
            Reason::Homelessness => "outcome_risk_of_homelessness",
        }
    }

    /// The directory's need (a code in `directory::NEEDS`) that services for this reason carry,
    /// so a search for a family's support starts from why they asked for help.
    pub fn directory_need(self) -> &'static str {
        match self {
            Reason::Money => "money-housing-work",
            Reason::Health => "health-wellbeing",
            Reason::Children => "children-young-people",
            Reason::DomesticAbuse => "domestic-abuse",
            Reason::Education => "education",
            Reason::Homelessness => "homelessness",
        }
    }
}

impl TriageOutcome {
    /// Whether this outcome opens a family record (or attaches the request to one already
    /// known): early help to allocate a lead, and community support to make connections from.
    pub fn opens_family(self) -> bool {
        matches!(self, TriageOutcome::EarlyHelp | TriageOutcome::Community)
    }
}

/// At closure, how far each of the case's needs was met: every need wants an answer.
/// `answer` gives the typed value of a field.
pub fn check_closure_outcomes(
    needs: &[Reason],
    answer: impl Fn(&str) -> String,
) -> Result<Vec<(Reason, NeedOutcome)>, Vec<FieldError>> {
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for need in needs {
        match NeedOutcome::from_slug(&answer(need.outcome_field())) {
            Some(outcome) => outcomes.push((*need, outcome)),
            None => errors.push(FieldError::new(
                need.outcome_field(),
                format!(
                    "Say how far this need was met: {}",
                    need.label().to_lowercase()
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(outcomes)
    } else {
        Err(errors)
    }
}

choices!(
    /// Where a family's episode of early help stands.
    CaseState {
        Open => ("open", "Open"),
        SteppedUp => ("stepped_up", "Stepped up to social care"),
        Closed => ("closed", "Closed"),
    }
);

/// What can happen to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEvent {
    StepUp,
    StepDown,
    Close(ClosureReason),
    Reopen,
}

impl CaseEvent {
    pub fn describe(self) -> String {
        match self {
            CaseEvent::StepUp => "Stepped up to children's social care".into(),
            CaseEvent::StepDown => "Stepped down from children's social care to early help".into(),
            CaseEvent::Close(reason) => format!("Case closed: {}", reason.label()),
            CaseEvent::Reopen => "Case reopened".into(),
        }
    }
}

/// The case state machine: open -> stepped up -> (stepped down) open -> closed -> reopened open.
pub fn next_state(state: CaseState, event: CaseEvent) -> Result<CaseState, &'static str> {
    use CaseEvent::*;
    use CaseState::*;
    match (state, event) {
        (Open, StepUp) => Ok(SteppedUp),
        (SteppedUp, StepDown) => Ok(Open),
        (Open, Close(_)) => Ok(Closed),
        // Social care taking the lead is the only way a stepped-up case closes in early help.
        (SteppedUp, Close(ClosureReason::SocialCareLeads)) => Ok(Closed),
        (SteppedUp, Close(_)) => Err("step the case down before closing it for that reason"),
        (Closed, Reopen) => Ok(Open),
        (Closed, _) => Err("the case is closed: reopen it first"),
        (SteppedUp, StepUp) => Err("the case is already stepped up"),
        (Open, StepDown) => Err("only a stepped-up case can be stepped down"),
        (Open | SteppedUp, Reopen) => Err("the case is not closed"),
    }
}

// ---------------------------------------------------------------------------------------------
// Plans and reviews

/// Weeks between reviews of a family plan, unless the lead practitioner sets another.
pub const DEFAULT_REVIEW_WEEKS: i64 = 6;

pub fn next_review(from: Date, weeks: i64) -> Date {
    from + Duration::weeks(weeks.clamp(1, 52))
}

/// A review date in the past is overdue; the day itself is not.
pub fn review_overdue(review_date: Option<Date>, today: Date) -> bool {
    review_date.is_some_and(|d| d < today)
}

// ---------------------------------------------------------------------------------------------
// The outcome measure

/// The demo's own "family wellbeing" measure: areas scored 1 (stuck) to 10 (thriving). Our
/// words, not the Outcomes Star's, which is licensed.
pub const WELLBEING_AREAS: &[&str] = &[
    "Home and money",
    "Health and wellbeing",
    "Family relationships",
    "Children's learning",
    "Feeling safe",
    "Friends and community",
];

pub fn valid_score(score: i64) -> bool {
    (1..=10).contains(&score)
}

// ---------------------------------------------------------------------------------------------
// Routing by postcode

/// DEMO DATA: outward codes of the demo city and the locality each belongs to. Plausible, not
/// authoritative; a real deployment loads the ONS postcode directory.
pub const OUTWARD_LOCALITIES: &[(&str, &str)] = &[
    ("B1", "ladywood"),
    ("B3", "ladywood"),
    ("B16", "ladywood"),
    ("B18", "ladywood"),
    ("B6", "perry-barr"),
    ("B20", "perry-barr"),
    ("B42", "perry-barr"),
    ("B43", "perry-barr"),
    ("B44", "perry-barr"),
    ("B23", "erdington"),
    ("B24", "erdington"),
    ("B35", "erdington"),
    ("B72", "sutton-coldfield"),
    ("B73", "sutton-coldfield"),
    ("B74", "sutton-coldfield"),
    ("B75", "sutton-coldfield"),
    ("B76", "sutton-coldfield"),
    ("B15", "edgbaston"),
    ("B17", "edgbaston"),
    ("B32", "edgbaston"),
    ("B31", "northfield"),
    ("B38", "northfield"),
    ("B45", "northfield"),
    ("B29", "selly-oak"),
    ("B30", "selly-oak"),
    ("B14", "selly-oak"),
    ("B13", "hall-green"),
    ("B11", "hall-green"),
    ("B28", "hall-green"),
    ("B8", "hodge-hill"),
    ("B34", "hodge-hill"),
    ("B36", "hodge-hill"),
    ("B9", "hodge-hill"),
    ("B25", "yardley"),
    ("B26", "yardley"),
    ("B27", "yardley"),
    ("B33", "yardley"),
    ("B10", "yardley"),
];

/// A postcode typed by a person, upper-cased and single-spaced: `Full("B16 8HA")`, or
/// `OutwardOnly("B16")` when only the first half was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedPostcode {
    Full(String),
    OutwardOnly(String),
}

impl TypedPostcode {
    pub fn outward(&self) -> &str {
        match self {
            TypedPostcode::Full(p) => p.split(' ').next().unwrap_or(p),
            TypedPostcode::OutwardOnly(p) => p,
        }
    }
}

/// Checks the shape of a UK postcode: outward A9, A99, AA9, AA99, A9A or AA9A; inward 9AA.
pub fn read_postcode(raw: &str) -> Option<TypedPostcode> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let outward_ok = |code: &str| {
        let letters = code.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let rest: Vec<char> = code.chars().skip(letters).collect();
        (1..=2).contains(&letters)
            && !rest.is_empty()
            && rest[0].is_ascii_digit()
            && rest.len() <= 2
            && rest.iter().all(|c| c.is_ascii_alphanumeric())
    };
    let inward_ok = |code: &str| {
        let c: Vec<char> = code.chars().collect();
        c.len() == 3
            && c[0].is_ascii_digit()
            && c[1].is_ascii_alphabetic()
            && c[2].is_ascii_alphabetic()
    };
    // Only letters and digits (so the byte split below is on a character boundary).
    if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    if compact.len() >= 5 {
        let (outward, inward) = compact.split_at(compact.len() - 3);
        if outward_ok(outward) && inward_ok(inward) {
            return Some(TypedPostcode::Full(format!("{outward} {inward}")));
        }
    }
    outward_ok(&compact).then_some(TypedPostcode::OutwardOnly(compact))
}

/// The locality a postcode's outward code belongs to, if it is in the demo city.
pub fn locality_for_postcode(raw: &str) -> Option<&'static str> {
    let postcode = read_postcode(raw)?;
    let outward = postcode.outward();
    OUTWARD_LOCALITIES
        .iter()
        .find(|(code, _)| *code == outward)
        .map(|(_, locality)| *locality)
}

// ---------------------------------------------------------------------------------------------
// Likely existing families

/// A person as the duplicate check sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonKey {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Date,
    pub postcode: String,
    /// The NHS number's 10 digits, or empty.
    pub nhs_number: String,
}

/// Lower case, letters only: "O'Neil-Smith " and "oneil smith" compare equal.
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

fn postcode_key(postcode: &str) -> String {
    postcode
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Probably the same person: when both have an NHS number, the same number (whatever their
/// names, which change at marriage or adoption, and dates, which are mistyped); otherwise the
/// same date of birth and family name, and either the same given name or (for a nickname or a
/// misspelling) the same initial at the same full postcode.
pub fn likely_same_person(a: &PersonKey, b: &PersonKey) -> bool {
    if !a.nhs_number.is_empty() && !b.nhs_number.is_empty() {
        return a.nhs_number == b.nhs_number;
    }
    if a.date_of_birth != b.date_of_birth || name_key(&a.family_name) != name_key(&b.family_name) {
        return false;
    }
    let (ga, gb) = (name_key(&a.given_name), name_key(&b.given_name));
    if !ga.is_empty() && ga == gb {
        return true;
    }
    let same_initial = ga.chars().next().is_some() && ga.chars().next() == gb.chars().next();
    let same_postcode =
        !a.postcode.trim().is_empty() && postcode_key(&a.postcode) == postcode_key(&b.postcode);
    same_initial && same_postcode
}

// ---------------------------------------------------------------------------------------------
// Checking a request

/// One family member on a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberInput {
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    /// ISO 8601, `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: String,
    /// `child`, `parent_carer` or `other_adult`.
    #[serde(default)]
    pub relationship: String,
    /// An [`Ethnicity`] slug, or empty when not known.
    #[serde(default)]
    pub ethnicity: String,
    /// Languages spoken at home, in the family's words ("English, Urdu").
    #[serde(default)]
    pub languages: String,
    /// A [`Send`] slug, or empty when not known.
    #[serde(default)]
    pub send: String,
    /// School, nursery or college, for a child.
    #[serde(default)]
    pub school: String,
    /// The NHS number, as typed ("943 476 5919"), or empty.
    #[serde(default)]
    pub nhs_number: String,
    /// Why the NHS number is missing: a `NhsNumberMissing` slug, or empty.
    #[serde(default)]
    pub nhs_number_missing: String,
}

/// A request for support as typed in a form or sent to the API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestInput {
    #[serde(default)]
    pub members: Vec<MemberInput>,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub need_level: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub consent_given_by: String,
    #[serde(default)]
    pub consent_method: String,
    #[serde(default)]
    pub consent_date: String,
    /// For a self-referral: how to get back to the person asking.
    #[serde(default)]
    pub contact: String,
    /// For a self-referral: the family's answer to "can we share this with people who can
    /// help?" ("yes" or "no"), which stands for the consent fields above.
    #[serde(default)]
    pub share: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Date,
    pub relationship: MemberRole,
    pub ethnicity: Option<Ethnicity>,
    pub languages: String,
    pub send: Option<Send>,
    pub school: String,
    pub nhs: NhsAnswer,
}

/// A checked request, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    pub members: Vec<Member>,
    pub address: String,
    pub postcode: String,
    pub locality: &'static str,
    pub reasons: Vec<Reason>,
    pub need_level: NeedLevel,
    pub summary: String,
    pub consent_given_by: String,
    pub consent_method: ConsentMethod,
    pub consent_date: Date,
    pub contact: String,
}

/// The most family members one request carries (the form shows this many rows).
pub const MAX_MEMBERS: usize = 6;

/// The form's field names for one member row, so errors can point at the right input.
#[derive(Debug, Clone, Copy)]
pub struct MemberFields {
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub date_of_birth: &'static str,
    pub relationship: &'static str,
    pub ethnicity: &'static str,
    pub languages: &'static str,
    pub send: &'static str,
    pub school: &'static str,
    pub nhs_number: &'static str,
    pub nhs_number_missing: &'static str,
}

macro_rules! member_fields {
    ($n:literal) => {
        MemberFields {
            given_name: concat!("member_", $n, "_given_name"),
            family_name: concat!("member_", $n, "_family_name"),
            date_of_birth: concat!("member_", $n, "_date_of_birth"),
            relationship: concat!("member_", $n, "_relationship"),
            ethnicity: concat!("member_", $n, "_ethnicity"),
            languages: concat!("member_", $n, "_languages"),
            send: concat!("member_", $n, "_send"),
            school: concat!("member_", $n, "_school"),
            nhs_number: concat!("member_", $n, "_nhs_number"),
            nhs_number_missing: concat!("member_", $n, "_nhs_number_missing"),
        }
    };
}

pub const MEMBER_FIELDS: [MemberFields; MAX_MEMBERS] = [
    member_fields!(1),
    member_fields!(2),
    member_fields!(3),
    member_fields!(4),
    member_fields!(5),
    member_fields!(6),
];

/// An optional choice: blank is `None`, a known slug is `Some`, anything else an error.
fn optional_choice<T>(raw: &str, from_slug: fn(&str) -> Option<T>) -> Result<Option<T>, ()> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    from_slug(raw).map(Some).ok_or(())
}

pub fn parse_date(raw: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw.trim(), format).ok()
}

pub fn iso(date: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(format).unwrap_or_default()
}

/// Every field of a request longer than its limit.
fn lengths_of(input: &RequestInput) -> Vec<FieldError> {
    use crate::limits::{LINE, REQUEST_SUMMARY, too_long};
    let mut fields = vec![
        (
            "summary",
            "What the family would like help with",
            &input.summary,
            REQUEST_SUMMARY,
        ),
        ("address", "The address", &input.address, LINE),
        (
            "consent_given_by",
            "Who agreed",
            &input.consent_given_by,
            LINE,
        ),
        (
            "contact",
            "The phone number or email address",
            &input.contact,
            LINE,
        ),
    ];
    for (member, names) in input.members.iter().zip(MEMBER_FIELDS.iter()) {
        fields.extend([
            (names.given_name, "A first name", &member.given_name, LINE),
            (names.family_name, "A last name", &member.family_name, LINE),
            (names.languages, "Languages", &member.languages, LINE),
            (names.school, "A school", &member.school, LINE),
        ]);
    }
    fields
        .into_iter()
        .filter_map(|(field, what, text, max)| too_long(field, what, text, max))
        .collect()
}

/// Checks a request and reports every problem, by field. Empty member rows are skipped.
/// `self_referral` requires a way to contact the person asking.
pub fn check_request(
    input: &RequestInput,
    today: Date,
    self_referral: bool,
) -> Result<CheckedRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut members = Vec::new();
    if input.members.len() > MAX_MEMBERS {
        errors.push(FieldError::new(
            "members",
            format!("Send at most {MAX_MEMBERS} family members; add others in the summary"),
        ));
    }
    for (index, member) in input.members.iter().take(MAX_MEMBERS).enumerate() {
        let fields = MEMBER_FIELDS[index];
        let (given, family, dob, relationship) = (
            fields.given_name,
            fields.family_name,
            fields.date_of_birth,
            fields.relationship,
        );
        let blank = member.given_name.trim().is_empty()
            && member.family_name.trim().is_empty()
            && member.date_of_birth.trim().is_empty();
        if blank {
            continue;
        }
        let n = index + 1;
        if member.given_name.trim().is_empty() {
            errors.push(FieldError::new(
                given,
                format!("Enter the first name of family member {n}"),
            ));
        }
        if member.family_name.trim().is_empty() {
            errors.push(FieldError::new(
                family,
                format!("Enter the last name of family member {n}"),
            ));
        }
        let date_of_birth = parse_date(&member.date_of_birth);
        match date_of_birth {
            None => errors.push(FieldError::new(
                dob,
                format!("Enter the date of birth of family member {n} like 2015-03-27"),
            )),
            Some(d) if d > today => errors.push(FieldError::new(
                dob,
                format!("The date of birth of family member {n} must be in the past"),
            )),
            Some(_) => {}
        }
        let role = MemberRole::from_slug(&member.relationship);
        if role.is_none() {
            errors.push(FieldError::new(
                relationship,
                format!("Choose how family member {n} is related to the family"),
            ));
        }
        let ethnicity = optional_choice(&member.ethnicity, Ethnicity::from_slug);
        if ethnicity.is_err() {
            errors.push(FieldError::new(
                fields.ethnicity,
                format!(
                    "Choose the ethnic group of family member {n} from the list, or leave it blank"
                ),
            ));
        }
        let send = optional_choice(&member.send, Send::from_slug);
        if send.is_err() {
            errors.push(FieldError::new(
                fields.send,
                format!("Choose special educational needs or disability of family member {n} from the list, or leave it blank"),
            ));
        }
        let nhs = check_nhs(
            &member.nhs_number,
            &member.nhs_number_missing,
            (fields.nhs_number, fields.nhs_number_missing),
            &format!(" of family member {n}"),
        )
        .map_err(|e| errors.push(e));
        if let (Some(date_of_birth), Some(relationship), Ok(ethnicity), Ok(send), Ok(nhs)) =
            (date_of_birth, role, ethnicity, send, nhs)
        {
            members.push(Member {
                given_name: member.given_name.trim().to_string(),
                family_name: member.family_name.trim().to_string(),
                date_of_birth,
                relationship,
                ethnicity,
                languages: member.languages.trim().to_string(),
                send,
                school: member.school.trim().to_string(),
                nhs,
            });
        }
    }
    let any_member = input.members.iter().any(|m| {
        !(m.given_name.trim().is_empty()
            && m.family_name.trim().is_empty()
            && m.date_of_birth.trim().is_empty())
    });
    if !any_member {
        errors.push(FieldError::new(
            MEMBER_FIELDS[0].given_name,
            "Enter at least one family member",
        ));
    }
    if input.address.trim().is_empty() {
        errors.push(FieldError::new("address", "Enter the family's address"));
    }
    let postcode = read_postcode(&input.postcode);
    let locality = locality_for_postcode(&input.postcode);
    match (&postcode, locality) {
        (None, _) => errors.push(FieldError::new(
            "postcode",
            "Enter a full postcode in the correct format, like B16 8HA",
        )),
        (Some(TypedPostcode::OutwardOnly(_)), _) => errors.push(FieldError::new(
            "postcode",
            "Enter the full postcode, like B16 8HA, not only its first half",
        )),
        (Some(_), None) => errors.push(FieldError::new(
            "postcode",
            "That postcode is outside the city's localities; contact the family's own council",
        )),
        _ => {}
    }
    let mut reasons = Vec::new();
    for raw in &input.reasons {
        match Reason::from_slug(raw) {
            Some(r) if !reasons.contains(&r) => reasons.push(r),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "reasons",
                format!("{raw:?} is not a reason we know"),
            )),
        }
    }
    if input.reasons.is_empty() {
        errors.push(FieldError::new(
            "reasons",
            "Choose at least one reason for the request",
        ));
    }
    let need_level = NeedLevel::from_slug(&input.need_level);
    if need_level.is_none() {
        let message = if self_referral {
            "Choose how much help you need"
        } else {
            "Choose the level of need"
        };
        errors.push(FieldError::new("need_level", message));
    }
    if input.summary.trim().is_empty() {
        errors.push(FieldError::new(
            "summary",
            "Say what the family would like help with, in their words where you can",
        ));
    }
    if input.consent_given_by.trim().is_empty() {
        errors.push(FieldError::new(
            "consent_given_by",
            "Enter who in the family agreed to this request",
        ));
    }
    let consent_method = ConsentMethod::from_slug(&input.consent_method);
    if consent_method.is_none() {
        errors.push(FieldError::new(
            "consent_method",
            "Choose how consent was given",
        ));
    }
    let consent_date = parse_date(&input.consent_date);
    match consent_date {
        None => errors.push(FieldError::new(
            "consent_date",
            "Enter the date consent was given like 2026-11-24",
        )),
        Some(d) if d > today => errors.push(FieldError::new(
            "consent_date",
            "The date consent was given must be today or in the past",
        )),
        Some(_) => {}
    }
    if self_referral && input.contact.trim().is_empty() {
        errors.push(FieldError::new(
            "contact",
            "Enter a phone number or email address so the locality team can contact you",
        ));
    }
    errors.extend(lengths_of(input));
    match (postcode, locality, need_level, consent_method, consent_date) {
        (
            Some(postcode),
            Some(locality),
            Some(need_level),
            Some(consent_method),
            Some(consent_date),
        ) if errors.is_empty() => {
            let postcode = match postcode {
                TypedPostcode::Full(p) | TypedPostcode::OutwardOnly(p) => p,
            };
            Ok(CheckedRequest {
                members,
                address: input.address.trim().to_string(),
                postcode,
                locality,
                reasons,
                need_level,
                summary: input.summary.trim().to_string(),
                consent_given_by: input.consent_given_by.trim().to_string(),
                consent_method,
                consent_date,
                contact: input.contact.trim().to_string(),
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    #[test]
    fn every_open_action_says_how_it_ended() {
        let (first, second) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let form = |pairs: Vec<(String, &'static str)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default()
            }
        };
        let open = [first, second];
        let one = form(vec![(action_ending_field(first), "done")]);
        let error = check_action_endings(&open, one).unwrap_err();
        assert_eq!(error.field, "action_endings");
        assert!(error.message.contains("one has no answer"));
        let both = form(vec![
            (action_ending_field(first), "done"),
            (action_ending_field(second), "passed_on"),
        ]);
        assert_eq!(
            check_action_endings(&open, both).unwrap(),
            vec![
                (first, ActionEnding::Done),
                (second, ActionEnding::PassedOn)
            ]
        );
        let nonsense = form(vec![(action_ending_field(first), "vanished")]);
        assert!(check_action_endings(&open[..1], nonsense).is_err());
        assert_eq!(check_action_endings(&[], form(vec![])).unwrap(), vec![]);
    }

    fn request() -> RequestInput {
        RequestInput {
            members: vec![
                MemberInput {
                    given_name: "Amira".into(),
                    family_name: "Hassan".into(),
                    date_of_birth: "2016-05-02".into(),
                    relationship: "child".into(),
                    ethnicity: "asian_pakistani".into(),
                    languages: "English, Urdu".into(),
                    send: "sen_support".into(),
                    school: "Oakfield Primary".into(),
                    nhs_number: "943 476 5919".into(),
                    ..MemberInput::default()
                },
                MemberInput::default(),
            ],
            address: "12 Oakfield Road".into(),
            postcode: "b16 8ha".into(),
            reasons: vec!["education".into(), "health_wellbeing".into()],
            need_level: "additional".into(),
            summary: "Struggling with attendance".into(),
            consent_given_by: "Mother, Layla Hassan".into(),
            consent_method: "verbal".into(),
            consent_date: "2026-11-20".into(),
            contact: String::new(),
            share: String::new(),
        }
    }

    #[test]
    fn closing_wants_an_outcome_for_every_need() {
        let needs = [Reason::Money, Reason::Education];
        let answers = |field: &str| match field {
            "outcome_money_housing_work" => "met".to_string(),
            "outcome_education" => "sort of".to_string(),
            _ => String::new(),
        };
        let errors = check_closure_outcomes(&needs, answers).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "outcome_education");
        let all = |field: &str| {
            if field == "outcome_education" {
                "partly_met".to_string()
            } else {
                "met".to_string()
            }
        };
        assert_eq!(
            check_closure_outcomes(&needs, all).unwrap(),
            [
                (Reason::Money, NeedOutcome::Met),
                (Reason::Education, NeedOutcome::PartlyMet)
            ]
        );
        assert!(check_closure_outcomes(&[], answers).unwrap().is_empty());
        for need in Reason::ALL {
            assert_eq!(need.outcome_field(), format!("outcome_{}", need.slug()));
        }
    }

    #[test]
    fn member_details_are_kept_and_unknown_choices_named() {
        let checked = check_request(&request(), TODAY, false).unwrap();
        let amira = &checked.members[0];
        assert_eq!(amira.ethnicity, Some(Ethnicity::Pakistani));
        assert_eq!(amira.send, Some(Send::SenSupport));
        assert_eq!(amira.languages, "English, Urdu");
        assert_eq!(amira.school, "Oakfield Primary");
        assert_eq!(amira.nhs.columns(), ("9434765919", ""));

        let mut blank = request();
        blank.members[0].ethnicity.clear();
        blank.members[0].send.clear();
        let checked = check_request(&blank, TODAY, false).unwrap();
        assert_eq!(checked.members[0].ethnicity, None, "not known is allowed");

        let mut wrong = request();
        wrong.members[0].ethnicity = "martian".into();
        wrong.members[0].send = "lots".into();
        wrong.members[0].nhs_number = "943 476 5918".into();
        let errors = check_request(&wrong, TODAY, false).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["member_1_ethnicity", "member_1_send", "member_1_nhs_number"]
        );
        assert!(
            errors[2]
                .message
                .contains("valid NHS number of family member 1")
        );
    }

    #[test]
    fn a_good_request_is_routed_by_its_postcode() {
        let checked = check_request(&request(), TODAY, false).unwrap();
        assert_eq!(checked.locality, "ladywood");
        assert_eq!(checked.postcode, "B16 8HA");
        assert_eq!(checked.members.len(), 1, "the blank row is skipped");
        assert_eq!(checked.reasons, vec![Reason::Education, Reason::Health]);
    }

    #[test]
    fn every_problem_is_reported_by_field() {
        let mut bad = request();
        bad.members[0].date_of_birth = "2030-01-01".into();
        bad.members[0].relationship = "cousin".into();
        bad.postcode = "B99 1AA".into();
        bad.reasons = vec![];
        bad.need_level = "".into();
        bad.consent_method = "telepathy".into();
        bad.consent_date = "yesterday".into();
        let errors = check_request(&bad, TODAY, true).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![
                "member_1_date_of_birth",
                "member_1_relationship",
                "postcode",
                "reasons",
                "need_level",
                "consent_method",
                "consent_date",
                "contact"
            ]
        );
        let empty = check_request(&RequestInput::default(), TODAY, false).unwrap_err();
        assert!(empty.iter().any(|e| e.field == "member_1_given_name"));
        let mut outward = request();
        outward.postcode = "B16".into();
        assert_eq!(
            check_request(&outward, TODAY, false).unwrap_err()[0].field,
            "postcode"
        );
    }

    #[test]
    fn postcodes_route_to_the_ten_localities() {
        // Regression: a character of several bytes at the split once panicked (a 500).
        for odd in ["\u{fffd}\u{fffd}\u{fffd}\u{fffd}(", "B16é8HA", "ÉÉÉÉÉ"] {
            assert!(read_postcode(odd).is_none(), "{odd:?}");
        }
        assert_eq!(locality_for_postcode("B23 6AB"), Some("erdington"));
        assert_eq!(locality_for_postcode("b1 1aa"), Some("ladywood"));
        assert_eq!(locality_for_postcode("B75 5AA"), Some("sutton-coldfield"));
        assert_eq!(locality_for_postcode("B8 1AA"), Some("hodge-hill"));
        assert_eq!(locality_for_postcode("SW1A 1AA"), None);
        assert_eq!(locality_for_postcode("nonsense"), None);
        assert_eq!(
            read_postcode(" b16  8ha"),
            Some(TypedPostcode::Full("B16 8HA".into()))
        );
        assert_eq!(
            read_postcode("B16"),
            Some(TypedPostcode::OutwardOnly("B16".into()))
        );
        assert_eq!(read_postcode("B1 1AA").unwrap().outward(), "B1");
        assert_eq!(read_postcode("16B 8HA"), None);
        let mut localities: Vec<_> = OUTWARD_LOCALITIES.iter().map(|(_, l)| *l).collect();
        localities.sort();
        localities.dedup();
        assert_eq!(localities.len(), 10, "every locality has postcodes");
        let mut codes: Vec<_> = OUTWARD_LOCALITIES.iter().map(|(c, _)| *c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(
            codes.len(),
            OUTWARD_LOCALITIES.len(),
            "no outward code is in two localities"
        );
    }

    #[test]
    fn the_case_state_machine() {
        use CaseEvent::*;
        use CaseState::*;
        let needs_met = Close(ClosureReason::NeedsMet);
        let social_care = Close(ClosureReason::SocialCareLeads);
        let cases: &[(CaseState, CaseEvent, Option<CaseState>)] = &[
            (Open, StepUp, Some(SteppedUp)),
            (Open, StepDown, None),
            (Open, needs_met, Some(Closed)),
            (Open, social_care, Some(Closed)),
            (Open, Reopen, None),
            (SteppedUp, StepUp, None),
            (SteppedUp, StepDown, Some(Open)),
            (SteppedUp, needs_met, None),
            (SteppedUp, social_care, Some(Closed)),
            (SteppedUp, Reopen, None),
            (Closed, StepUp, None),
            (Closed, StepDown, None),
            (Closed, needs_met, None),
            (Closed, Reopen, Some(Open)),
        ];
        for (state, event, want) in cases {
            assert_eq!(
                next_state(*state, *event).ok(),
                *want,
                "{state:?} {event:?}"
            );
        }
        // The whole journey: open, stepped up, stepped down, closed, reopened.
        let mut state = Open;
        for event in [StepUp, StepDown, needs_met, Reopen] {
            state = next_state(state, event).unwrap();
        }
        assert_eq!(state, Open);
    }

    #[test]
    fn reviews_fall_due_and_become_overdue() {
        assert_eq!(next_review(date!(2026 - 11 - 01), 6), date!(2026 - 12 - 13));
        assert_eq!(next_review(date!(2026 - 11 - 01), 0), date!(2026 - 11 - 08));
        assert!(review_overdue(Some(date!(2026 - 11 - 23)), TODAY));
        assert!(!review_overdue(Some(TODAY), TODAY));
        assert!(!review_overdue(None, TODAY));
    }

    #[test]
    fn likely_the_same_person() {
        let amira = PersonKey {
            given_name: "Amira".into(),
            family_name: "Hassan".into(),
            date_of_birth: date!(2016 - 05 - 02),
            postcode: "B16 8HA".into(),
            nhs_number: String::new(),
        };
        let same = |f: &dyn Fn(&mut PersonKey)| {
            let mut other = amira.clone();
            f(&mut other);
            likely_same_person(&amira, &other)
        };
        assert!(same(&|_| {}));
        assert!(same(&|p| p.family_name = "hassan ".into()));
        assert!(same(&|p| p.postcode = "B23 1AA".into()), "moved house");
        assert!(
            same(&|p| p.given_name = "Ami".into()),
            "nickname at the same address"
        );
        assert!(!same(&|p| {
            p.given_name = "Ami".into();
            p.postcode = "B23 1AA".into();
        }));
        assert!(!same(&|p| p.date_of_birth = date!(2016 - 05 - 03)));
        assert!(!same(&|p| p.family_name = "Hussain".into()));
        assert!(!same(&|p| p.given_name = "Zara".into()));
        // With an NHS number on both sides, it decides; on one side only, it is not evidence.
        let numbered = |p: &mut PersonKey| p.nhs_number = "9434765919".into();
        assert!(same(&numbered));
        let renamed = PersonKey {
            family_name: "Khan".into(),
            nhs_number: "9434765919".into(),
            ..amira.clone()
        };
        assert!(!likely_same_person(&amira, &renamed));
        let mut amira_numbered = amira.clone();
        numbered(&mut amira_numbered);
        assert!(
            likely_same_person(&amira_numbered, &renamed),
            "a new surname"
        );
        let other = PersonKey {
            nhs_number: "4010232137".into(),
            ..amira_numbered.clone()
        };
        assert!(
            !likely_same_person(&amira_numbered, &other),
            "twins' numbers differ"
        );
        assert_eq!(name_key("O'Neil-Smith "), "oneilsmith");
    }

    #[test]
    fn scores_run_from_one_to_ten_and_slugs_round_trip() {
        assert!(valid_score(1) && valid_score(10));
        assert!(!valid_score(0) && !valid_score(11));
        for reason in Reason::ALL {
            assert_eq!(Reason::from_slug(reason.slug()), Some(*reason));
            let need = crate::directory::need_by_code(reason.directory_need());
            assert_eq!(need.and_then(|n| n.parent), Some("reasons"), "{reason:?}");
        }
        assert_eq!(TriageOutcome::ALL.len(), 6);
        let opening: Vec<_> = TriageOutcome::ALL
            .iter()
            .filter(|o| o.opens_family())
            .collect();
        assert_eq!(
            opening,
            [&TriageOutcome::Community, &TriageOutcome::EarlyHelp]
        );
        assert_eq!(
            ClosureReason::from_slug("needs_met"),
            Some(ClosureReason::NeedsMet)
        );
    }
}

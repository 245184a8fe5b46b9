//! earlyhelp's domain: the rules of the product, with no IO.
//!
//! - [`roles`]: the roles and the one table of what each may do.
//! - [`access`]: whether a person may do an action to a record.
//! - [`audit`]: the hash chain that makes the audit log tamper-evident.
//! - [`cases`]: requests for support and family cases: routing, duplicates, the case states.
//! - [`connections`]: referrals to community services, their states and FHIR Task statuses.
//! - [`family_help`]: the Family Help practice model: levels, steps, family network, family group decisions.
//! - [`equality`]: the groups a child is counted in by ethnic group, age band and SEND.
//! - [`disclosure`]: k-anonymity for analysts' extracts: generalise, then suppress.
//! - [`directory`]: the directory's rules: postcodes, distance, staleness, ranking, duplicates, ORUK.
//! - [`impact`]: the return on a year of Early Help for each partner, from the records' own counts.
//! - [`links`]: the one type for a stored link to a website: http or https, parsed.
//! - [`nhs_number`]: the NHS number, its Modulus 11 check, and why one is missing.
//! - [`people`]: validation of the people and organisations we hold.
//! - [`limits`]: how long each free-text field may be, page numbers, body sizes, rate limits.
//! - [`retention`]: the retention schedule, when records fall due, what anonymisation keeps.
//! - [`sar`]: subject access: marking other people's details for redaction.
//! - [`search_words`]: the directory search's word forms: English stems and the connectors' synonyms.
//! - [`sharing`]: lawful bases of each share, break-glass access, the Early Help assessment.
//! - [`money`]: funding programmes and payments to families: caps, budgets, approval, 360Giving codes.
//! - [`giving`]: awards and payments as 360Giving grants, its CSV and its data quality checks.
//! - [`deprivation`]: reading the Indices of Deprivation; each locality's share of spend against need.
//! - [`social_value`]: social value reports of voluntary-sector providers, mix and match.
//! - [`measures`]: configurable outcome measures and the checks of a readings import.
//! - [`supporting_families`]: needs against the ten headline outcomes; when one is sustained.
//! - [`budgeting`]: participatory budgeting for community grants: rounds, ballots, the weighted tally.
//! - [`surveys`]: surveys of children and families: questions, anonymous answers, Wilson intervals.

/// Declares a closed set of choices with a stable slug (stored and sent over the API) and a label.
macro_rules! choices {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($slug:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn slug(self) -> &'static str {
                match self { $($name::$variant => $slug),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn from_slug(slug: &str) -> Option<$name> {
                let slug = slug.trim();
                Self::ALL.iter().copied().find(|c| c.slug() == slug)
            }
        }
    };
}

pub mod access;
pub mod audit;
pub mod budgeting;
pub mod cases;
pub mod cohorts;
pub mod connections;
pub mod deprivation;
pub mod directory;
pub mod disclosure;
pub mod equality;
pub mod family_help;
pub mod giving;
pub mod grants;
pub mod impact;
pub mod limits;
pub mod links;
pub mod matching;
pub mod measures;
pub mod money;
pub mod nhs_number;
pub mod people;
pub mod retention;
pub mod roles;
pub mod sar;
pub mod search_words;
pub mod sharing;
pub mod social_value;
pub mod supporting_families;
pub mod surveys;

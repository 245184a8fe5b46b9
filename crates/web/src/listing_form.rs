//! The listing form: every field a listing has, as typed, checked into a
//! [`ListingEdit`] or the problems named by field. Used to edit a listing and to propose a new one.

use crate::directory::need_options;
use crate::views::SelectOption;
use earlyhelp_domain::directory::{self as rules, need_by_code};
use earlyhelp_domain::limits::{LINE, SERVICE_DESCRIPTION, too_long};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::listing_changes::{ListingEdit, LocationEdit, ScheduleEdit};
use serde::Deserialize;

/// How many opening times a listing may have; each row's fields, for error links.
pub const MAX_SCHEDULES: usize = 6;
const DAYS_IDS: [&str; MAX_SCHEDULES] = [
    "schedule_days_0",
    "schedule_days_1",
    "schedule_days_2",
    "schedule_days_3",
    "schedule_days_4",
    "schedule_days_5",
];
const OPENS_IDS: [&str; MAX_SCHEDULES] = [
    "schedule_opens_0",
    "schedule_opens_1",
    "schedule_opens_2",
    "schedule_opens_3",
    "schedule_opens_4",
    "schedule_opens_5",
];
const CLOSES_IDS: [&str; MAX_SCHEDULES] = [
    "schedule_closes_0",
    "schedule_closes_1",
    "schedule_closes_2",
    "schedule_closes_3",
    "schedule_closes_4",
    "schedule_closes_5",
];
const MAX_LANGUAGES: usize = 20;

#[derive(Deserialize, Default, Clone)]
pub struct EditForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub minimum_age: String,
    #[serde(default)]
    pub maximum_age: String,
    #[serde(default)]
    pub free: String,
    #[serde(default)]
    pub fees_description: String,
    /// "yes" when the form showed the lists below: a form without them (an older page, a
    /// script) proposes no change to them rather than clearing them.
    #[serde(default)]
    pub lists: String,
    /// "{row}:{day code}", one per ticked day.
    #[serde(default)]
    pub schedule_days: Vec<String>,
    #[serde(default)]
    pub schedule_opens: Vec<String>,
    #[serde(default)]
    pub schedule_closes: Vec<String>,
    #[serde(default)]
    pub address_1: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub accessibility: String,
    #[serde(default)]
    pub needs: Vec<String>,
    /// Comma-separated.
    #[serde(default)]
    pub languages: String,
    /// A new listing's locality.
    #[serde(default)]
    pub locality: String,
}

/// One opening-time row as the form shows it.
pub struct ScheduleRow {
    pub index: usize,
    pub days_id: &'static str,
    pub opens_id: &'static str,
    pub closes_id: &'static str,
    pub days: Vec<SelectOption>,
    pub opens: String,
    pub closes: String,
}

impl EditForm {
    pub fn of(edit: &ListingEdit) -> EditForm {
        let schedules = edit.schedules.clone().unwrap_or_default();
        let location = edit.location.clone().unwrap_or_default();
        EditForm {
            csrf_token: String::new(),
            name: edit.name.clone(),
            description: edit.description.clone(),
            url: edit
                .url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            email: edit.email.clone().unwrap_or_default(),
            phone: edit.phone.clone().unwrap_or_default(),
            status: edit.status.clone(),
            minimum_age: edit.minimum_age.map(|a| a.to_string()).unwrap_or_default(),
            maximum_age: edit.maximum_age.map(|a| a.to_string()).unwrap_or_default(),
            free: if edit.free { "yes" } else { "no" }.into(),
            fees_description: edit.fees_description.clone().unwrap_or_default(),
            lists: "yes".into(),
            schedule_days: schedules
                .iter()
                .enumerate()
                .flat_map(|(i, s)| {
                    s.byday
                        .split(',')
                        .filter(|d| !d.is_empty())
                        .map(move |d| format!("{i}:{}", d.trim()))
                })
                .collect(),
            schedule_opens: schedules.iter().map(|s| s.opens_at.clone()).collect(),
            schedule_closes: schedules.iter().map(|s| s.closes_at.clone()).collect(),
            address_1: location.address_1,
            city: location.city,
            postcode: location.postcode.unwrap_or_default(),
            accessibility: location.accessibility,
            needs: edit.needs.clone().unwrap_or_default(),
            languages: edit.languages.clone().unwrap_or_default().join(", "),
            locality: String::new(),
        }
    }

    /// The rows to show: those filled in and one blank, up to the most there may be.
    pub fn schedule_rows(&self) -> Vec<ScheduleRow> {
        let filled = self.schedule_opens.len().max(self.schedule_closes.len());
        let count = (filled + 1).min(MAX_SCHEDULES);
        (0..count)
            .map(|i| ScheduleRow {
                index: i,
                days_id: DAYS_IDS[i],
                opens_id: OPENS_IDS[i],
                closes_id: CLOSES_IDS[i],
                days: rules::DAYS
                    .iter()
                    .map(|(code, name)| {
                        let value = format!("{i}:{code}");
                        let ticked = self.schedule_days.contains(&value);
                        SelectOption::new(value, *name, ticked)
                    })
                    .collect(),
                opens: self.schedule_opens.get(i).cloned().unwrap_or_default(),
                closes: self.schedule_closes.get(i).cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// The needs as checkboxes, those ticked checked.
    pub fn need_boxes(&self) -> Vec<SelectOption> {
        need_options("")
            .into_iter()
            .filter(|o| !o.value.is_empty())
            .map(|o| {
                let ticked = self.needs.contains(&o.value);
                SelectOption::new(o.value, o.label, ticked)
            })
            .collect()
    }

    fn check_schedules(&self, errors: &mut Vec<FieldError>) -> Vec<ScheduleEdit> {
        let rows = self.schedule_opens.len().max(self.schedule_closes.len());
        if rows > MAX_SCHEDULES {
            errors.push(FieldError::new(
                OPENS_IDS[0],
                format!("A listing can have at most {MAX_SCHEDULES} opening times"),
            ));
            return Vec::new();
        }
        let mut out = Vec::new();
        for i in 0..rows {
            let prefix = format!("{i}:");
            let mut days: Vec<&str> = Vec::new();
            for raw in self
                .schedule_days
                .iter()
                .filter_map(|d| d.strip_prefix(&prefix))
            {
                match rules::parse_day(raw) {
                    Some(day) if !days.contains(&day) => days.push(day),
                    Some(_) => {}
                    None => errors.push(FieldError::new(DAYS_IDS[i], "Choose days from the list")),
                }
            }
            // Keep the week's order whatever order they came in.
            days.sort_by_key(|d| rules::DAYS.iter().position(|(c, _)| c == d));
            let opens_raw = self.schedule_opens.get(i).map(|s| s.trim()).unwrap_or("");
            let closes_raw = self.schedule_closes.get(i).map(|s| s.trim()).unwrap_or("");
            if days.is_empty() && opens_raw.is_empty() && closes_raw.is_empty() {
                continue;
            }
            if days.is_empty() {
                errors.push(FieldError::new(
                    DAYS_IDS[i],
                    format!("Choose the days of opening time {}", i + 1),
                ));
            }
            let time =
                |raw: &str, field: &'static str, what: &str, errors: &mut Vec<FieldError>| {
                    if raw.is_empty() {
                        return String::new();
                    }
                    rules::parse_time(raw).unwrap_or_else(|| {
                        errors.push(FieldError::new(
                            field,
                            format!("Enter the time it {what} as hours and minutes, like 09:30"),
                        ));
                        String::new()
                    })
                };
            let opens = time(opens_raw, OPENS_IDS[i], "opens", errors);
            if opens_raw.is_empty() {
                errors.push(FieldError::new(
                    OPENS_IDS[i],
                    format!("Enter the time opening time {} starts, like 09:30", i + 1),
                ));
            }
            let closes = time(closes_raw, CLOSES_IDS[i], "closes", errors);
            if !opens.is_empty() && !closes.is_empty() && closes <= opens {
                errors.push(FieldError::new(
                    CLOSES_IDS[i],
                    "The closing time must be after the opening time",
                ));
            }
            out.push(ScheduleEdit {
                byday: days.join(","),
                opens_at: opens,
                closes_at: closes,
            });
        }
        out
    }

    pub fn check(&self) -> Result<ListingEdit, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "Enter the name of the service"));
        }
        errors.extend(too_long("name", "The name", &self.name, LINE));
        errors.extend(too_long(
            "description",
            "What the service is",
            &self.description,
            SERVICE_DESCRIPTION,
        ));
        errors.extend(too_long(
            "fees_description",
            "The cost",
            &self.fees_description,
            LINE,
        ));
        let status = self.status.trim();
        if !["active", "inactive", "defunct", "temporarily closed"].contains(&status) {
            errors.push(FieldError::new(
                "status",
                "Choose whether the service is running",
            ));
        }
        let age = |raw: &str, field: &'static str, errors: &mut Vec<FieldError>| match raw.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(a) if (0..=120).contains(&a) => Some(a),
                _ => {
                    errors.push(FieldError::new(
                        field,
                        "Enter an age in whole years, like 11",
                    ));
                    None
                }
            },
        };
        let minimum_age = age(&self.minimum_age, "minimum_age", &mut errors);
        let maximum_age = age(&self.maximum_age, "maximum_age", &mut errors);
        if let (Some(min), Some(max)) = (minimum_age, maximum_age)
            && min > max
        {
            errors.push(FieldError::new(
                "maximum_age",
                "The oldest age must be the same as or more than the youngest",
            ));
        }
        let email = match self.email.trim() {
            "" => None,
            raw => match earlyhelp_domain::people::normalise_email(raw) {
                Some(e) => Some(e),
                None => {
                    errors.push(FieldError::new(
                        "email",
                        "Enter an email address like name@example.org",
                    ));
                    None
                }
            },
        };
        let url = earlyhelp_domain::links::optional_link(&self.url).unwrap_or_else(|e| {
            errors.push(FieldError::new("url", format!("The website {e}")));
            None
        });
        let lists = self.lists == "yes";
        let schedules = lists.then(|| self.check_schedules(&mut errors));
        let location = lists.then(|| self.check_location(&mut errors));
        let needs = lists.then(|| {
            let mut codes: Vec<String> = Vec::new();
            for code in &self.needs {
                match need_by_code(code) {
                    Some(n) if n.parent.is_some() => {
                        if !codes.contains(code) {
                            codes.push(code.clone());
                        }
                    }
                    _ => errors.push(FieldError::new("needs", "Choose needs from the list")),
                }
            }
            codes
        });
        let languages = lists.then(|| {
            let names: Vec<String> = self
                .languages
                .split([',', ';', '\n'])
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect();
            if names.len() > MAX_LANGUAGES
                || names.iter().any(|n| {
                    n.chars().count() > 40
                        || !n.chars().all(|c| c.is_alphabetic() || " -()'".contains(c))
                })
            {
                errors.push(FieldError::new(
                    "languages",
                    "Enter the languages by name, separated by commas, like English, Urdu",
                ));
            }
            names
        });
        let free = self.free == "yes";
        if !errors.is_empty() {
            return Err(errors);
        }
        let optional = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        Ok(ListingEdit {
            name: self.name.trim().to_string(),
            description: self.description.trim().to_string(),
            url,
            email,
            phone: optional(&self.phone),
            status: status.to_string(),
            minimum_age,
            maximum_age,
            free,
            fees_description: if free {
                None
            } else {
                optional(&self.fees_description)
            },
            schedules,
            location,
            needs,
            languages,
        })
    }

    fn check_location(&self, errors: &mut Vec<FieldError>) -> LocationEdit {
        errors.extend(too_long("address_1", "The address", &self.address_1, LINE));
        errors.extend(too_long("city", "The town or city", &self.city, LINE));
        errors.extend(too_long(
            "accessibility",
            "Accessibility",
            &self.accessibility,
            LINE,
        ));
        let postcode = match self.postcode.trim() {
            "" => None,
            raw => match rules::normalise_postcode(raw) {
                Some(p) => Some(p.as_str().to_string()),
                None => {
                    errors.push(FieldError::new(
                        "postcode",
                        "Enter a full postcode, like B23 6AB",
                    ));
                    None
                }
            },
        };
        LocationEdit {
            address_1: self.address_1.trim().to_string(),
            city: self.city.trim().to_string(),
            postcode,
            accessibility: self.accessibility.trim().to_string(),
        }
    }
}

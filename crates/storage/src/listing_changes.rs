//! Changes to directory listings: edits applied at once by a community connector, and
//! proposals (an edit, or a new listing) that wait for whoever approves in the listing's
//! locality (its connectors, or where it has none its lead), approved or rejected with a reason
//! the proposer sees. Every field a listing has can be proposed; the approver sees each changed
//! field's old and new value side by side.

use crate::directory::{self, LocationRecord, ScheduleRecord, ServiceRecord, TermRecord};
use crate::gate::Authorised;
use crate::{Db, StorageError, now_micros, on_pool, on_tx};
use earlyhelp_domain::directory::{self as rules, NEEDS_TAXONOMY_ID, need_by_code, need_id, oruk};
use earlyhelp_domain::links::WebLink;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

/// One opening time: RFC 5545 day codes ("MO,TH") and "HH:MM" times.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ScheduleEdit {
    pub byday: String,
    pub opens_at: String,
    pub closes_at: String,
}

/// Where the service happens (its first location): coordinates come from the postcode.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LocationEdit {
    pub address_1: String,
    pub city: String,
    pub postcode: Option<String>,
    pub accessibility: String,
}

/// The fields a person can change on a listing. The lists were added later: a proposal saved
/// before them has none (`None`), which leaves the listing's own as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ListingEdit {
    pub name: String,
    pub description: String,
    pub url: Option<WebLink>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: String,
    pub minimum_age: Option<i64>,
    pub maximum_age: Option<i64>,
    pub free: bool,
    pub fees_description: Option<String>,
    #[serde(default)]
    pub schedules: Option<Vec<ScheduleEdit>>,
    #[serde(default)]
    pub location: Option<LocationEdit>,
    /// Need codes, as in [`earlyhelp_domain::directory::NEEDS`].
    #[serde(default)]
    pub needs: Option<Vec<String>>,
    /// Language names, as the public page shows them.
    #[serde(default)]
    pub languages: Option<Vec<String>>,
}

/// One changed field, in words, before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

fn or_none(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "(none)".into(),
    }
}

fn describe_ages(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (None, None) => "Any age".into(),
        (Some(a), None) => format!("{a} and over"),
        (None, Some(b)) => format!("Up to {b}"),
        (Some(a), Some(b)) => format!("{a} to {b}"),
    }
}

/// "Tuesday, Friday 10:00 to 13:00; Saturday 09:00 to 11:00".
pub fn describe_schedules(schedules: &[ScheduleEdit]) -> String {
    if schedules.is_empty() {
        return "(none)".into();
    }
    schedules
        .iter()
        .map(|s| {
            let days = rules::describe_days(&s.byday);
            let times = match (s.opens_at.as_str(), s.closes_at.as_str()) {
                ("", "") => String::new(),
                (open, "") => format!(" from {open}"),
                (open, close) => format!(" {open} to {close}"),
            };
            format!("{days}{times}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn describe_location(location: &LocationEdit) -> (String, String) {
    let address = [
        location.address_1.as_str(),
        location.city.as_str(),
        location.postcode.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    (
        or_none(Some(&address)),
        or_none(Some(&location.accessibility)),
    )
}

fn describe_needs(codes: &[String]) -> String {
    let names: Vec<&str> = codes
        .iter()
        .filter_map(|c| need_by_code(c).map(|n| n.name))
        .collect();
    or_none(Some(&names.join(", ")))
}

impl ListingEdit {
    pub fn of(service: &ServiceRecord) -> ListingEdit {
        ListingEdit {
            name: service.name.clone(),
            description: service.description.clone(),
            url: service.url.clone(),
            email: service.email.clone(),
            phone: service.phone.clone(),
            status: service.status.clone(),
            minimum_age: service.minimum_age,
            maximum_age: service.maximum_age,
            free: service.free,
            fees_description: service.fees_description.clone(),
            schedules: Some(
                service
                    .schedules
                    .iter()
                    .map(|s| ScheduleEdit {
                        byday: s.byday.clone(),
                        opens_at: s.opens_at.clone(),
                        closes_at: s.closes_at.clone(),
                    })
                    .collect(),
            ),
            location: Some(
                service
                    .locations
                    .first()
                    .map(|l| LocationEdit {
                        address_1: l.address_1.clone(),
                        city: l.city.clone(),
                        postcode: l.postcode.clone(),
                        accessibility: l.accessibility.clone(),
                    })
                    .unwrap_or_default(),
            ),
            needs: Some(
                service
                    .terms
                    .iter()
                    .filter(|t| t.taxonomy_id == NEEDS_TAXONOMY_ID)
                    .map(|t| t.code.clone())
                    .collect(),
            ),
            languages: Some(
                service
                    .detail
                    .languages
                    .iter()
                    .filter_map(|l| l.name.clone())
                    .collect(),
            ),
        }
    }

    /// Every field that differs from `before`, with both values in words. A list this edit
    /// does not propose (`None`) is not a change.
    pub fn changes_from(&self, before: &ListingEdit) -> Vec<FieldChange> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, before: String, after: String| {
            if before != after {
                out.push(FieldChange {
                    field,
                    before,
                    after,
                });
            }
        };
        check("Name", before.name.clone(), self.name.clone());
        check(
            "What the service is",
            before.description.clone(),
            self.description.clone(),
        );
        check("Status", before.status.clone(), self.status.clone());
        check(
            "Phone",
            or_none(before.phone.as_deref()),
            or_none(self.phone.as_deref()),
        );
        check(
            "Email",
            or_none(before.email.as_deref()),
            or_none(self.email.as_deref()),
        );
        let link = |l: &Option<WebLink>| or_none(l.as_ref().map(WebLink::as_str));
        check("Website", link(&before.url), link(&self.url));
        check(
            "Ages",
            describe_ages(before.minimum_age, before.maximum_age),
            describe_ages(self.minimum_age, self.maximum_age),
        );
        let cost = |e: &ListingEdit| {
            if e.free {
                "Free".to_string()
            } else {
                or_none(e.fees_description.as_deref())
            }
        };
        check("Cost", cost(before), cost(self));
        if let Some(after) = &self.schedules {
            let old = before.schedules.as_deref().unwrap_or_default();
            check(
                "Days and times",
                describe_schedules(old),
                describe_schedules(after),
            );
        }
        if let Some(after) = &self.location {
            let (old_address, old_access) =
                describe_location(&before.location.clone().unwrap_or_default());
            let (address, access) = describe_location(after);
            check("Address", old_address, address);
            check("Accessibility", old_access, access);
        }
        if let Some(after) = &self.needs {
            let old = before.needs.as_deref().unwrap_or_default();
            check(
                "Needs it helps with",
                describe_needs(old),
                describe_needs(after),
            );
        }
        if let Some(after) = &self.languages {
            let old = before.languages.as_deref().unwrap_or_default();
            check(
                "Languages",
                or_none(Some(&old.join(", "))),
                or_none(Some(&after.join(", "))),
            );
        }
        out
    }

    /// The service as it would be with this edit: the lists it proposes replace the service's.
    pub fn applied_to(&self, service: &ServiceRecord) -> ServiceRecord {
        let mut updated = service.clone();
        updated.name = self.name.clone();
        updated.description = self.description.clone();
        updated.url = self.url.clone();
        updated.email = self.email.clone();
        updated.phone = self.phone.clone();
        updated.status = self.status.clone();
        updated.minimum_age = self.minimum_age;
        updated.maximum_age = self.maximum_age;
        updated.free = self.free;
        updated.fees_description = self.fees_description.clone();
        if let Some(schedules) = &self.schedules {
            updated.schedules = schedules
                .iter()
                .map(|s| ScheduleRecord {
                    id: Uuid::now_v7(),
                    freq: "WEEKLY".into(),
                    byday: s.byday.clone(),
                    opens_at: s.opens_at.clone(),
                    closes_at: s.closes_at.clone(),
                    description: String::new(),
                })
                .collect();
        }
        if let Some(edit) = &self.location {
            let unchanged = updated.locations.first().is_some_and(|l| {
                l.address_1 == edit.address_1 && l.city == edit.city && l.postcode == edit.postcode
            });
            let mut first = updated
                .locations
                .first()
                .cloned()
                .unwrap_or_else(|| LocationRecord {
                    id: Uuid::now_v7(),
                    location_id: Uuid::now_v7(),
                    name: Some(service.organization.name.clone()),
                    ..Default::default()
                });
            if !unchanged {
                // A new address is placed by its postcode.
                first.latitude = None;
                first.longitude = None;
            }
            first.address_1 = edit.address_1.clone();
            first.city = edit.city.clone();
            first.postcode = edit.postcode.clone();
            first.accessibility = edit.accessibility.clone();
            if updated.locations.is_empty() {
                updated.locations.push(first);
            } else {
                updated.locations[0] = first;
            }
        }
        if let Some(needs) = &self.needs {
            // Terms of other taxonomies stay; the needs are replaced.
            updated.terms.retain(|t| t.taxonomy_id != NEEDS_TAXONOMY_ID);
            for code in needs {
                if let (Some(need), Some(id)) = (need_by_code(code), need_id(code)) {
                    updated.terms.push(TermRecord {
                        id,
                        taxonomy_id: NEEDS_TAXONOMY_ID,
                        code: need.code.into(),
                        name: need.name.into(),
                        description: need.description.into(),
                        parent_id: need.parent.and_then(need_id),
                    });
                }
            }
        }
        if let Some(languages) = &self.languages {
            let old = std::mem::take(&mut updated.detail.languages);
            updated.detail.languages = languages
                .iter()
                .map(|name| {
                    // A language kept keeps its id and code.
                    old.iter()
                        .find(|l| l.name.as_deref() == Some(name.as_str()))
                        .cloned()
                        .unwrap_or_else(|| oruk::Language {
                            id: Uuid::now_v7(),
                            service_id: Some(service.id),
                            name: Some(name.clone()),
                            code: None,
                        })
                })
                .collect();
        }
        updated
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ChangeRecord {
    pub id: Uuid,
    pub service_id: Uuid,
    pub service_name: String,
    pub at_micros: i64,
    pub actor: String,
    pub actor_organisation: String,
    /// edit, new, verify, merge, import.
    pub kind: String,
    /// applied, pending, approved or rejected.
    pub status: String,
    pub summary: String,
    pub proposed: String,
    pub decided_by: Option<String>,
    pub decided_micros: Option<i64>,
    pub locality_slug: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

impl ChangeRecord {
    /// The proposal, if it can still be read as one (one saved before websites were checked
    /// may not).
    pub fn proposal(&self) -> Option<ListingEdit> {
        serde_json::from_str(&self.proposed).ok()
    }
}

pub struct NewChange<'a> {
    pub service_id: Uuid,
    /// The listing's name (for a new listing, the name proposed).
    pub listing_name: &'a str,
    pub locality: Option<&'a str>,
    pub actor: &'a str,
    pub actor_organisation: &'a str,
    /// edit, new, verify, merge, import.
    pub kind: &'a str,
    /// applied or pending.
    pub status: &'a str,
    pub summary: &'a str,
    pub proposed: Option<&'a ListingEdit>,
}

/// "Changed name, days and times" for the history.
pub fn summary_of(changes: &[FieldChange]) -> String {
    let fields: Vec<String> = changes.iter().map(|c| c.field.to_lowercase()).collect();
    format!("Changed {}", fields.join(", "))
}

pub async fn record_change(
    authorised: &mut Authorised,
    change: &NewChange<'_>,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let proposed = change
        .proposed
        .map(|p| serde_json::to_string(p).unwrap_or_default())
        .unwrap_or_else(|| "{}".into());
    let decided = (change.status == "applied").then(now_micros);
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO directory_changes (id, service_id, at_micros, actor, actor_organisation, kind, \
             status, summary, proposed, decided_by, decided_micros, locality_slug, listing_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(change.service_id)
        .bind(now_micros())
        .bind(change.actor)
        .bind(change.actor_organisation)
        .bind(change.kind)
        .bind(change.status)
        .bind(change.summary)
        .bind(&proposed)
        .bind(decided.map(|_| change.actor))
        .bind(decided)
        .bind(change.locality)
        .bind(change.listing_name)
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// Applies an edit to a listing and re-indexes it.
pub async fn apply_edit(
    authorised: &mut Authorised,
    service: &ServiceRecord,
    edit: &ListingEdit,
) -> Result<(), StorageError> {
    let mut updated = edit.applied_to(service);
    updated.last_modified_micros = now_micros();
    directory::save_service(authorised, &updated).await
}

/// Makes an approved new listing: provided by the proposer's organisation (by name, made if
/// new), kept by it, and due for review at once so a connector checks it with the provider.
pub async fn create_listing(
    authorised: &mut Authorised,
    change: &ChangeRecord,
    edit: &ListingEdit,
    owner_organisation_id: Uuid,
    today: time::Date,
) -> Result<(), StorageError> {
    let organization =
        directory::organization_named(authorised, &change.actor_organisation).await?;
    let blank = ServiceRecord {
        id: change.service_id,
        organization,
        name: String::new(),
        description: String::new(),
        url: None,
        email: None,
        phone: None,
        status: "active".into(),
        minimum_age: None,
        maximum_age: None,
        free: true,
        fees_description: None,
        alert: None,
        locality_slug: change.locality_slug.clone(),
        owner_organisation_id,
        review_by: rules::next_review(today),
        assured_date: Some(today),
        assurer_email: change.decided_by.clone(),
        last_modified_micros: now_micros(),
        merged_into: None,
        detail: Default::default(),
        source: "local".into(),
        source_id: None,
        fetched_micros: None,
        locations: Vec::new(),
        schedules: Vec::new(),
        terms: Vec::new(),
    };
    apply_edit(authorised, &blank, edit).await
}

macro_rules! change_select {
    () => {
        "SELECT c.id, c.service_id, COALESCE(s.name, c.listing_name) AS service_name, c.at_micros, \
         c.actor, c.actor_organisation, c.kind, c.status, c.summary, c.proposed, c.decided_by, \
         c.decided_micros, c.locality_slug, c.reason FROM directory_changes c \
         LEFT JOIN directory_services s ON s.id = c.service_id "
    };
}

pub async fn history(
    authorised: &mut Authorised,
    service_id: Uuid,
) -> Result<Vec<ChangeRecord>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(change_select!(), "WHERE c.service_id = $1 ORDER BY c.at_micros DESC, c.id DESC"))
            .bind(service_id)
            .fetch_all(c)
            .await?
    }))
}

/// Changes waiting for approval in a locality, oldest first.
pub async fn pending_changes(
    authorised: &mut Authorised,
    locality: &str,
) -> Result<Vec<ChangeRecord>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            change_select!(),
            "WHERE c.status = 'pending' AND c.locality_slug = $1 ORDER BY c.at_micros"
        ))
        .bind(locality)
        .fetch_all(c)
        .await?
    }))
}

/// How many changes [`pending_changes`] lists, counted.
pub async fn count_pending_changes(
    authorised: &mut Authorised,
    locality: &str,
) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM directory_changes WHERE status = 'pending' AND locality_slug = $1",
        )
        .bind(locality)
        .fetch_one(c)
        .await?
    }))
}

/// What an organisation's people have proposed, newest first (the last hundred): pending,
/// approved, or rejected with the reason.
pub async fn proposals_of(
    authorised: &mut Authorised,
    organisation_name: &str,
) -> Result<Vec<ChangeRecord>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(concat!(
            change_select!(),
            "WHERE c.actor_organisation = $1 AND c.kind IN ('edit', 'new') \
             AND c.status IN ('pending', 'approved', 'rejected') \
             ORDER BY c.at_micros DESC, c.id DESC LIMIT 100"
        ))
        .bind(organisation_name)
        .fetch_all(c)
        .await?
    }))
}

pub async fn change(db: &Db, id: Uuid) -> Result<Option<ChangeRecord>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(change_select!(), "WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Marks a pending change approved or rejected (with the reason, for a rejection); applying
/// it is the caller's, in the same transaction. Refuses a change that is no longer pending.
pub async fn decide_change(
    authorised: &mut Authorised,
    id: Uuid,
    approved: bool,
    decided_by: &str,
    reason: &str,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE directory_changes SET status = $2, decided_by = $3, decided_micros = $4, reason = $5 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(if approved { "approved" } else { "rejected" })
        .bind(decided_by)
        .bind(now_micros())
        .bind(reason)
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::Conflict(
            "That change has already been decided".into(),
        ));
    }
    Ok(())
}

/// Whether a locality has a community connector who can sign in (where it has none, its lead
/// approves its listings' changes).
pub async fn has_connector(db: &Db, locality: &str) -> Result<bool, StorageError> {
    let found: i64 = on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_localities ul \
             JOIN user_roles ur ON ur.user_id = ul.user_id AND ur.role = 'community_connector' \
             JOIN users u ON u.id = ul.user_id WHERE ul.locality_slug = $1 AND u.active",
        )
        .bind(locality)
        .fetch_one(pool)
        .await?
    });
    Ok(found > 0)
}

/// The organisation of the person who proposed a change (a new listing is kept by it).
pub async fn proposer_organisation(db: &Db, email: &str) -> Result<Option<Uuid>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT organisation_id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(pool)
            .await?
    }))
}

/// Marks a listing checked today: assured now, next review in six months.
pub async fn verify(
    authorised: &mut Authorised,
    service_id: Uuid,
    assurer_email: &str,
    today: Date,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE directory_services SET assured_date = $2, review_by = $3, assurer_email = $4, \
             last_modified_micros = $5 WHERE id = $1",
        )
        .bind(service_id)
        .bind(today)
        .bind(rules::next_review(today))
        .bind(assurer_email)
        .bind(now_micros())
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 0 {
        return Err(StorageError::NotFound);
    }
    crate::directory::refresh_candidates(tx, service_id).await
}

//! How an indicator's SPC charts are calculated, chosen on its page by those who load data:
//! the rule set (NHS England's Making Data Count, or the NHS-R NHSRplotthedots variant), a
//! baseline, and recalculation points with the reason for each. The choice is stored with the
//! indicator and applies to every chart and icon of it. Every change passes the gate.

use super::load::parse_period;
use super::pages::{Typed, authorise_update, back_to, indicator_and_area, refuse};
use super::signed_may;
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::session::Signed;
use axum::extract::State;
use axum::response::Response;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;
use earlyhelp_storage::outcomes::{self, Recalculation};
use serde::Deserialize;

/// The longest baseline: ten years of months.
const MAX_BASELINE: i32 = 120;

#[derive(Deserialize, Default)]
pub struct RulesForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    rules: String,
    #[serde(default)]
    baseline: String,
}

/// Empty for none, else a whole number of months with enough points for limits.
fn parse_baseline(text: &str) -> Result<Option<i32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let least = spc::MIN_POINTS as i32;
    match text.parse::<i32>() {
        Ok(months) if (least..=MAX_BASELINE).contains(&months) => Ok(Some(months)),
        _ => Err(format!(
            "Enter the baseline as a whole number of months from {least} to {MAX_BASELINE}, or leave it empty to use every month"
        )),
    }
}

pub async fn set_rules(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Form(form): Form<RulesForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    signed_may(&signed, Action::Update)?;
    let (indicator, area) = indicator_and_area(&state, &reference, &form.area).await?;
    let mut errors = Vec::new();
    let rules = ["mdc", "nhsr"].into_iter().find(|r| *r == form.rules);
    if rules.is_none() {
        errors.push(FieldError::new(
            "rules",
            "Choose the rules for special causes",
        ));
    }
    let baseline = parse_baseline(&form.baseline).unwrap_or_else(|message| {
        errors.push(FieldError::new("baseline", message));
        None
    });
    let Some(rules) = rules.filter(|_| errors.is_empty()) else {
        let typed = Typed {
            baseline: form.baseline,
            ..Typed::default()
        };
        return refuse(&state, &signed, &reference, &area, errors, typed).await;
    };
    let mut authorised = authorise_update(
        &state,
        &signed,
        &indicator,
        "choose how an indicator's limits are calculated",
    )
    .await?;
    outcomes::set_spc_rules(&mut authorised, &indicator.reference, rules, baseline).await?;
    authorised.tx.commit().await?;
    Ok(back_to(&indicator, &area, "limits"))
}

#[derive(Deserialize, Default)]
pub struct RecalculationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    area: String,
    /// Named `recalculate_period` in the form that adds one, beside the annotation's `period`.
    #[serde(default, alias = "recalculate_period")]
    period: String,
    #[serde(default)]
    reason: String,
}

pub async fn add_recalculation(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Form(form): Form<RecalculationForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    signed_may(&signed, Action::Update)?;
    let (indicator, area) = indicator_and_area(&state, &reference, &form.area).await?;
    let reason = form.reason.trim().to_string();
    let mut errors = Vec::new();
    let period = parse_period(&form.period);
    if period.is_none() {
        errors.push(FieldError::new(
            "recalculate_period",
            "Choose the month the limits are recalculated from",
        ));
    }
    if reason.is_empty() {
        errors.push(FieldError::new(
            "reason",
            "Enter why, for example \u{201c}New referral pathway from April\u{201d}",
        ));
    } else if reason.chars().count() > 200 {
        errors.push(FieldError::new(
            "reason",
            "The reason must be 200 characters or fewer",
        ));
    }
    let refused = |errors: Vec<FieldError>, reason: String| {
        let typed = Typed {
            reason,
            ..Typed::default()
        };
        refuse(&state, &signed, &reference, &area, errors, typed)
    };
    let Some(period) = period.filter(|_| errors.is_empty()) else {
        return refused(errors, reason).await;
    };
    let mut authorised = authorise_update(
        &state,
        &signed,
        &indicator,
        "recalculate an indicator's limits",
    )
    .await?;
    let added = outcomes::add_recalculation(
        &mut authorised,
        &Recalculation {
            indicator_ref: indicator.reference.clone(),
            period,
            reason: reason.clone(),
            created_by: signed.user.actor.email.clone(),
            created_micros: earlyhelp_storage::now_micros(),
        },
    )
    .await;
    match added {
        Ok(()) => {
            authorised.tx.commit().await?;
            Ok(back_to(&indicator, &area, "limits"))
        }
        // Nothing was written; the audit event of the attempt is kept.
        Err(StorageError::Conflict(message)) => {
            authorised.tx.commit().await?;
            refused(vec![FieldError::new("recalculate_period", message)], reason).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn remove_recalculation(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Form(form): Form<RecalculationForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    signed_may(&signed, Action::Update)?;
    let (indicator, area) = indicator_and_area(&state, &reference, &form.area).await?;
    let mut authorised = authorise_update(
        &state,
        &signed,
        &indicator,
        "remove a recalculation of an indicator's limits",
    )
    .await?;
    match outcomes::remove_recalculation(&mut authorised, &indicator.reference, &form.period).await
    {
        // Already gone (a second click): the page shows it gone.
        Ok(()) | Err(StorageError::NotFound) => {}
        Err(other) => return Err(other.into()),
    }
    authorised.tx.commit().await?;
    Ok(back_to(&indicator, &area, "limits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_baseline_needs_enough_months_for_limits() {
        assert_eq!(parse_baseline(" "), Ok(None));
        assert_eq!(parse_baseline("13"), Ok(Some(13)));
        assert_eq!(parse_baseline(" 24 "), Ok(Some(24)));
        for bad in ["12", "0", "-5", "1.5", "twelve", "121"] {
            assert!(parse_baseline(bad).is_err(), "{bad}");
        }
    }
}

//! DEMO DATA: what makes the demo families' sharing defensible, loaded after the cases: the
//! lawful basis of each team member's share, Early Help assessments (finalised and draft), a
//! few decisions not to share information, and one break-glass access waiting for the
//! information governance officer's review.

use crate::demo_cases::ERDINGTON_PRACTITIONER;
use anyhow::Result;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::sharing::{Article6, Article9, AssessmentInput, Share};
use earlyhelp_storage::gate::{Ask, BreakGlassOn, FamilyId};
use earlyhelp_storage::identifiers::{self, NewDecision};
use earlyhelp_storage::{Db, gate, sharing};

pub async fn load(db: &Db) -> Result<()> {
    let mut authorised = gate::operator(
        db,
        "demo",
        Action::Create,
        "load the demo's shares and assessments",
    )
    .await?;
    let team = sharing::unrecorded_shares(&mut authorised).await?;
    for (n, member) in team.iter().enumerate() {
        // Health and schools share on their public task; the voluntary sector on consent.
        let share = if member.organisation.contains("Health") {
            Share {
                purpose: "health visiting for the youngest child".into(),
                article6: Article6::PublicTask,
                article9: Some(Article9::HealthCare),
            }
        } else if member.organisation.contains("School") && n % 2 == 0 {
            Share {
                purpose: "support in school and attendance".into(),
                article6: Article6::PublicTask,
                article9: None,
            }
        } else {
            Share {
                purpose: "delivering the family plan".into(),
                article6: Article6::Consent,
                article9: None,
            }
        };
        let shared_with = format!("{}, {}", member.name, member.organisation);
        let ask = Ask {
            id: member.family_id,
            action: Action::Update,
            purpose: "load the demo's shares and assessments",
        };
        let permit = gate::operator_record::<FamilyId, _>(&mut authorised, ask).await?;
        let (mut on_family, held) = authorised.swap(permit);
        sharing::record_share(
            &mut on_family,
            Some(member.user_id),
            &shared_with,
            &share,
            "Demo",
        )
        .await?;
        if member.family_state != "closed" && n % 4 != 3 {
            let finalise = n % 2 == 0;
            sharing::save_assessment(&mut on_family, &assessment(n), finalise, "Demo").await?;
        }
        if n % 20 == 7 {
            let decision = not_shared(n, &member.name);
            identifiers::record_not_shared(&mut on_family, &decision, member.user_id, &member.name)
                .await?;
        }
        authorised = on_family.swap(held).0;
    }
    authorised.tx.commit().await?;
    break_glass(db, &team).await
}

/// A decision not to share, of a few kinds a practitioner meets.
fn not_shared(n: usize, by: &str) -> NewDecision {
    let (information, withheld_from, reason) = [
        (
            "The family's new address",
            "Oakfield Housing Association",
            "The mother has moved to get away from a violent ex-partner; the landlord knows him.",
        ),
        (
            "The eldest child's mental health referral",
            "Marsh Lane Primary School",
            "The young person asked us not to tell the school, and is old enough to decide.",
        ),
        (
            "The children's NHS numbers",
            "A private tutoring agency",
            "Not needed for the tutoring; sharing them would be more detrimental to the children.",
        ),
    ][n % 3];
    NewDecision {
        information: information.into(),
        withheld_from: withheld_from.into(),
        reason: reason.into(),
        decided_by: by.into(),
    }
}

fn assessment(n: usize) -> AssessmentInput {
    let needs = [
        "money_housing_work",
        "health_wellbeing",
        "education",
        "children_young_people",
    ];
    AssessmentInput {
        family_story: "We have had a hard year since moving; we want the children settled.".into(),
        child_voice: "I like my new school but I miss my friends.".into(),
        strengths: "A close family who want help and keep appointments.".into(),
        worries: "Money is tight and the eldest is missing school.".into(),
        needs: vec![
            needs[n % needs.len()].into(),
            needs[(n + 1) % needs.len()].into(),
        ],
        analysis: "Money advice first, then a plan with the school for attendance.".into(),
    }
}

/// An Erdington practitioner broke glass on a family they are not involved with: the
/// information governance officer has it to review.
async fn break_glass(db: &Db, team: &[sharing::UnrecordedShare]) -> Result<()> {
    let Some(family) = team.first().map(|m| m.family_id) else {
        return Ok(());
    };
    let Some(person) =
        earlyhelp_storage::cases::person_by_email(db, ERDINGTON_PRACTITIONER).await?
    else {
        return Ok(());
    };
    let ask = Ask {
        id: family,
        action: Action::Create,
        purpose: "demo break-glass access",
    };
    let mut authorised = gate::operator_on::<BreakGlassOn>(db, ask).await?;
    sharing::break_glass(
        &mut authorised,
        person.user_id,
        &person.name,
        "Police called out of hours: the youngest child was found alone at the bus station",
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(())
}

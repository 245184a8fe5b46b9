//! Smaller repairs from review (issue 15, item 7): the operator's name covers only the
//! operator's own transactions, and a read the gate allowed that then failed is audited as
//! failed.

use crate::helpers::*;
use earlyhelp_domain::access::{Action, Actor, Resource};
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::outcomes::{self, CITY, Indicator, NewValue};
use earlyhelp_storage::{Db, StorageError, gate};
use uuid::Uuid;

crate::on_both_backends!(
    only_an_operator_transaction_is_widened_as_the_operator,
    an_allowed_read_that_fails_is_audited_as_failed,
    a_running_total_is_charted_without_limits_and_the_home_page_promises_what_is_there,
);

async fn execute(db: &Db, sql: &'static str) {
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query(sql).execute(pool).await.unwrap();
    });
}

/// The id of a family `email` leads.
async fn family_led_by(db: &Db, email: &str) -> Uuid {
    let sql = "SELECT f.id FROM families f JOIN users u ON u.id = f.lead_practitioner \
               WHERE u.email = $1 ORDER BY f.id LIMIT 1";
    earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).bind(email).fetch_one(pool).await.unwrap()
    })
}

async fn only_an_operator_transaction_is_widened_as_the_operator(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = gate::Who {
        actor: Actor {
            user_id: Uuid::new_v4(),
            email: "someone@earlyhelp.test".into(),
            organisation_id: Uuid::new_v4(),
            roles: vec![Role::Administrator],
            localities: vec![],
        },
        organisation_name: "Test".into(),
        remote_addr: "127.0.0.1".into(),
    };
    let request = gate::Request {
        action: Action::List,
        resource: Resource::Organisation,
        subject: "organisations",
        purpose: "test",
    };
    let mut person = gate::authorise(&app.db, &who, request).await.unwrap();
    let widened = gate::operator_also(&mut person, "widened", Action::Update, "test").await;
    assert!(
        matches!(widened, Err(StorageError::Denied(_))),
        "{widened:?}"
    );
    let family = family_led_by(&app.db, PRACTITIONER).await;
    let subject = format!("family:{family}");
    let before = app.audit_of(&subject).await;
    let ask = gate::Ask {
        id: family,
        action: Action::Update,
        purpose: "test",
    };
    let record = gate::operator_record::<gate::FamilyId, _>(&mut person, ask).await;
    assert!(matches!(record, Err(StorageError::Denied(_))), "{record:?}");
    person.tx.commit().await.unwrap();
    assert!(app.audit_of("widened").await.is_empty());
    assert_eq!(app.audit_of(&subject).await, before);

    // The operator's own transaction still widens.
    let mut operator = gate::operator(&app.db, "test", Action::Create, "test")
        .await
        .unwrap();
    gate::operator_also(&mut operator, "widened", Action::Update, "test")
        .await
        .unwrap();
    gate::operator_record::<gate::FamilyId, _>(&mut operator, ask)
        .await
        .unwrap();
    operator.tx.commit().await.unwrap();
    assert_eq!(app.audit_of(&subject).await.len(), before.len() + 1);
    assert_eq!(
        app.audit_of("widened").await,
        [("operator".into(), "update".into(), "allowed".into())]
    );
}

async fn an_allowed_read_that_fails_is_audited_as_failed(backend: Backend) {
    let app = spawn_app(backend).await;
    let family = family_led_by(&app.db, PRACTITIONER).await;
    let subject = format!("family:{family}");
    let practitioner = app.sign_in(PRACTITIONER).await;
    let page = practitioner.get(&app, &format!("/families/{family}")).await;
    assert_eq!(page.status(), 200);
    let read = (
        PRACTITIONER.to_string(),
        "read".to_string(),
        "allowed".to_string(),
    );
    assert_eq!(app.audit_of(&subject).await.last(), Some(&read));

    // The page cannot be read once the gate has allowed it: its notes are gone.
    execute(
        &app.db,
        "ALTER TABLE family_notes RENAME TO family_notes_gone",
    )
    .await;
    let page = practitioner.get(&app, &format!("/families/{family}")).await;
    assert_eq!(page.status(), 500);
    let audit = app.audit_of(&subject).await;
    let failed = (
        PRACTITIONER.to_string(),
        "read".to_string(),
        "failed".to_string(),
    );
    assert_eq!(audit[audit.len() - 2..], [read.clone(), failed]);
    execute(
        &app.db,
        "ALTER TABLE family_notes_gone RENAME TO family_notes",
    )
    .await;
    let page = practitioner.get(&app, &format!("/families/{family}")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(app.audit_of(&subject).await.last(), Some(&read));
}

async fn a_running_total_is_charted_without_limits_and_the_home_page_promises_what_is_there(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let lead = app.sign_in(LOCALITY_LEAD).await;
    let home = lead.get(&app, "/").await.text().await.unwrap();
    assert!(!home.contains("return on investment"), "{home}");
    assert!(home.contains("the return on Early Help for each partner"));
    let outcomes = lead.get(&app, "/outcomes").await.text().await.unwrap();
    assert!(outcomes.contains("href=\"/impact\">Return on Early Help for each partner</a>"));
    let impact = lead.get(&app, "/impact").await;
    assert_eq!(impact.status(), 200);
    assert!(
        impact
            .text()
            .await
            .unwrap()
            .contains("Return on Early Help for each partner")
    );

    // The same rising series twice: as a monthly count its rise is a trend (blue); as a running
    // total it has no limits, no colours, and the page says why.
    let mut authorised = gate::operator(&app.db, "indicators", Action::Create, "test data")
        .await
        .unwrap();
    for (reference, name) in [
        ("9.91", "Test running total (cumulative)"),
        ("9.92", "Test count"),
    ] {
        let indicator = Indicator {
            reference: reference.into(),
            outcome_number: 9,
            name: name.into(),
            unit: "count".into(),
            better: "higher".into(),
            data_owner: "Tests".into(),
            frequency: "monthly".into(),
            source: "uploaded".into(),
            target: None,
            small_number_threshold: None,
            public: true,
            spc_rules: "mdc".into(),
            spc_baseline: None,
        };
        outcomes::upsert_indicator(&mut authorised, &indicator)
            .await
            .unwrap();
        let values: Vec<NewValue> = (0..20)
            .map(|i| NewValue {
                indicator_ref: reference.into(),
                period: format!("{}-{:02}", 2024 + i / 12, i % 12 + 1),
                area: CITY.into(),
                dimension: String::new(),
                group: String::new(),
                value: f64::from(100 * (i + 1) + i * i),
                denominator: None,
            })
            .collect();
        outcomes::insert_new_values(&mut authorised, &values, "tests")
            .await
            .unwrap();
    }
    authorised.tx.commit().await.unwrap();
    let total = lead
        .get(&app, "/outcomes/indicators/9.91")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        total.contains("This indicator is a running total"),
        "{total}"
    );
    assert!(total.contains("None: a running total has no process limits"));
    assert!(!total.contains("data-colour=\"blue\""));
    assert!(total.contains("data-colour=\"grey\""));
    let count = lead
        .get(&app, "/outcomes/indicators/9.92")
        .await
        .text()
        .await
        .unwrap();
    assert!(!count.contains("running total"));
    assert!(count.contains("data-colour=\"blue\""), "{count}");
}

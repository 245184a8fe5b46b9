//! Smaller repairs from review (issue 15, item 7): the operator's name covers only the
//! operator's own transactions, and a read the gate allowed that then failed is audited as
//! failed.

use crate::helpers::*;
use earlyhelp_domain::access::{Action, Actor, Resource};
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::{Db, StorageError, gate};
use uuid::Uuid;

crate::on_both_backends!(
    only_an_operator_transaction_is_widened_as_the_operator,
    an_allowed_read_that_fails_is_audited_as_failed,
);

async fn execute(db: &Db, sql: &'static str) {
    match db {
        Db::Sqlite(pool, _) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
    }
    .unwrap();
}

/// The id of a family `email` leads.
async fn family_led_by(db: &Db, email: &str) -> Uuid {
    let sql = "SELECT f.id FROM families f JOIN users u ON u.id = f.lead_practitioner \
               WHERE u.email = $1 ORDER BY f.id LIMIT 1";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).bind(email).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).bind(email).fetch_one(pool).await,
    }
    .unwrap()
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
    assert!(matches!(widened, Err(StorageError::Denied(_))), "{widened:?}");
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
    let mut operator = gate::operator(&app.db, "test", Action::Create, "test").await.unwrap();
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
    let read = (PRACTITIONER.to_string(), "read".to_string(), "allowed".to_string());
    assert_eq!(app.audit_of(&subject).await.last(), Some(&read));

    // The page cannot be read once the gate has allowed it: its notes are gone.
    execute(&app.db, "ALTER TABLE family_notes RENAME TO family_notes_gone").await;
    let page = practitioner.get(&app, &format!("/families/{family}")).await;
    assert_eq!(page.status(), 500);
    let audit = app.audit_of(&subject).await;
    let failed = (PRACTITIONER.to_string(), "read".to_string(), "failed".to_string());
    assert_eq!(audit[audit.len() - 2..], [read.clone(), failed]);
    execute(&app.db, "ALTER TABLE family_notes_gone RENAME TO family_notes").await;
    let page = practitioner.get(&app, &format!("/families/{family}")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(app.audit_of(&subject).await.last(), Some(&read));
}

//! The outbox against a real SMTP server (aiosmtpd, installed by scripts/test.sh): a server
//! that is down and then comes back loses nothing and sends nothing twice, and a worker that
//! dies holding a message leaves it to be sent once its lease runs out. The test drives the
//! worker on a clock of its own.

use crate::cases::{open_case, post_form};
use crate::connections::{refer, vcs_service};
use crate::helpers::*;
use earlyhelp::mail::{Mailer, Sending, drain, smtp};
use earlyhelp_storage::outbox;
use std::process::{Child, Command, Stdio};

crate::on_both_backends!(the_outbox_survives_a_mail_server_outage_and_a_dead_worker);

/// A running SMTP server, stopped when dropped (a failed test too).
struct SmtpServer(Child);

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// aiosmtpd delivering to a maildir of its own, on `port`; `None` (and a loud skip, or a
/// failure under CI) when it is not installed.
fn smtp_server(port: u16, maildir: &std::path::Path) -> Option<SmtpServer> {
    let installed = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed && missing("aiosmtpd (pip install aiosmtpd)") {
        return None;
    }
    let server = SmtpServer(
        Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd"),
    );
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("aiosmtpd did not start on port {port}");
}

fn delivered(maildir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(maildir.join("new"))
        .map(|dir| {
            dir.map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn the_outbox_survives_a_mail_server_outage_and_a_dead_worker(backend: Backend) {
    let port = free_port();
    let maildir = std::env::temp_dir().join(format!("eh-mail-{}", uuid::Uuid::new_v4()));
    let sending = Sending {
        mailer: Mailer::Smtp(smtp(&format!("smtp://127.0.0.1:{port}")).unwrap()),
        from: "earlyhelp <no-reply@earlyhelp.test>".into(),
        site: "http://earlyhelp.test".into(),
    };
    let app = spawn_app_mailing(backend, None).await;
    // The demo's own mail (a break-glass notice to a lead) goes first, to the log.
    drain(&app.db, &log_mail(), earlyhelp_storage::now_micros())
        .await
        .unwrap();
    let family = open_case(&app).await;
    let service = vcs_service(&app.db).await;
    let practitioner = app.sign_in(PRACTITIONER).await;
    let referral = refer(&app, &practitioner, &family, &service).await;
    let now = earlyhelp_storage::now_micros();
    let second = 1_000_000;

    // The mail server is down: nothing goes, and the message waits to be tried again.
    assert_eq!(drain(&app.db, &sending, now).await.unwrap(), 0);
    // One message to each who answers referrals for the service's organisation.
    let queued: Vec<_> = outbox::recent(&app.db, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.sent_micros.is_none())
        .collect();
    let answerers = queued.len();
    assert!(
        queued.iter().any(|m| m.to_address == VCS_WORKER),
        "{queued:?}"
    );
    assert!(
        queued
            .iter()
            .all(|m| m.sent_micros.is_none() && m.last_error.is_some())
    );
    assert_eq!(
        drain(&app.db, &sending, now + 10 * second).await.unwrap(),
        0,
        "backing off"
    );

    // It comes back: the message goes once.
    let Some(server) = smtp_server(port, &maildir) else {
        return;
    };
    assert_eq!(
        drain(&app.db, &sending, now + 31 * second).await.unwrap(),
        answerers
    );
    assert_eq!(
        drain(&app.db, &sending, now + 100 * second).await.unwrap(),
        0
    );
    assert_eq!(delivered(&maildir).len(), answerers);

    // The service accepts; a worker claims the email to the referrer and dies before sending.
    let vcs = app.sign_in(VCS_WORKER).await;
    assert_eq!(
        post_form(&vcs, &app, &referral, &[("event", "accept")])
            .await
            .status(),
        303
    );
    let t = now + 200 * second;
    let claimed = outbox::claim(&app.db, t, 60 * second, 50).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        drain(&app.db, &sending, t + second).await.unwrap(),
        0,
        "its lease holds"
    );
    assert_eq!(
        drain(&app.db, &sending, t + 61 * second).await.unwrap(),
        1,
        "then it goes"
    );
    assert_eq!(drain(&app.db, &sending, t + 200 * second).await.unwrap(), 0);

    let mail = delivered(&maildir);
    assert_eq!(mail.len(), answerers + 1, "nothing lost, nothing twice");
    let ids: std::collections::HashSet<&str> = mail
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        })
        .collect();
    assert_eq!(ids.len(), answerers + 1);
    for message in &mail {
        assert!(
            message.contains(&format!("http://earlyhelp.test{referral}")),
            "{message}"
        );
        for private in ["Amira", "Layla", "Testcase", "Test Road", "Food"] {
            assert!(!message.contains(private), "no personal details: {message}");
        }
    }
    assert!(
        mail.iter()
            .any(|m| m.contains("accepted") && m.contains(PRACTITIONER))
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&maildir);
}

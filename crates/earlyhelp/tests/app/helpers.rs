//! Starting the real server on a random port against a fresh database, signing in, and
//! driving a real browser.

use earlyhelp_storage::Db;
use earlyhelp_web::{AppState, Config};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

pub const DEMO_PASSWORD: &str = earlyhelp::demo::PASSWORD;
pub const ADMIN: &str = "admin@earlyhelp.test";
pub const LOCALITY_LEAD: &str = "lead.ladywood@earlyhelp.test";
pub const PRACTITIONER: &str = "practitioner@earlyhelp.test";
pub const VCS_WORKER: &str = "vcs@earlyhelp.test";
pub const ANALYST: &str = "analyst@earlyhelp.test";
pub const COMMISSIONER: &str = "commissioner@earlyhelp.test";
pub const IG_OFFICER: &str = "ig@earlyhelp.test";
pub const GRANTS_OFFICER: &str = earlyhelp::demo_money::GRANTS_OFFICER;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Under CI a missing PostgreSQL or browser fails the run; elsewhere it skips, loudly.
pub fn missing(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required under CI=true; run the tests with scripts/test.sh");
    }
    eprintln!("SKIPPED: {what} is not available (scripts/test.sh provides it)");
    true
}

/// Runs each named `async fn(Backend)` as two tests: one on SQLite, one on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_admin_url().is_some() {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            )+
        }
    };
}

pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("EARLYHELP_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            missing("PostgreSQL (EARLYHELP_TEST_POSTGRES_URL)");
            None
        }
    }
}

/// A fresh, empty database URL for one test.
pub async fn fresh_database(backend: Backend) -> String {
    new_database(backend, None).await
}

/// A fresh database holding the demo city, copied from one loaded once per run and backend:
/// loading it took about 2 s on SQLite and 5 s on PostgreSQL, most of a short test's time.
pub async fn fresh_demo_database(backend: Backend) -> String {
    let template = demo_template(backend);
    new_database(backend, Some(template)).await
}

/// A new database named for this test, empty or a copy of `template` (a file path on SQLite,
/// a database name on PostgreSQL).
async fn new_database(backend: Backend, template: Option<&str>) -> String {
    let name = format!("eh_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            if let Some(template) = template {
                std::fs::copy(template, &path).expect("copy the demo template");
            }
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres => {
            let admin = postgres_admin_url().expect("PostgreSQL is configured");
            let pool = sqlx::PgPool::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            let create = match template {
                Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
                None => format!("CREATE DATABASE {name}"),
            };
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&pool)
                .await
                .expect("create a test database");
            pool.close().await;
            let base = admin
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}

/// The demo city loaded into a database nobody connects to again, once per backend. Each test
/// has its own runtime, so the load runs on a thread of its own and the others wait for it.
fn demo_template(backend: Backend) -> &'static str {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let cell = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    cell.get_or_init(|| {
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .expect("a runtime for the demo template")
                .block_on(load_demo_template(backend))
        })
        .join()
        .expect("load the demo template")
    })
}

async fn load_demo_template(backend: Backend) -> String {
    let url = fresh_database(backend).await;
    let db = earlyhelp::server::open(&url)
        .await
        .expect("open the demo template");
    earlyhelp::demo::load(&db, earlyhelp::demo_cases::TEST_SCALE)
        .await
        .expect("load the demo city");
    // Closing the last connection checkpoints SQLite's write-ahead log into the file.
    db.close().await;
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").to_string();
            let wal = std::path::Path::new(&format!("{path}-wal")).exists();
            assert!(!wal, "the demo template's write-ahead log was left open");
            path
        }
        Backend::Postgres => url.rsplit('/').next().expect("a database name").to_string(),
    }
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub database_url: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Loads the demo city into a fresh database and serves it on a random port.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, test_config()).await
}

/// The tests' configuration: plain-http cookies, and rate limits out of the way (every test
/// signs in from 127.0.0.1, often many times); the rate-limit tests set their own. The demo
/// accounts sign in with their password alone, as in `earlyhelp serve --demo`; the second
/// factor's tests require it.
pub fn test_config() -> Config {
    Config {
        secure_cookies: false,
        self_referrals_per_hour: 0,
        sign_ins_per_15_minutes: 0,
        second_factor_required: false,
        contact_phone: earlyhelp::demo::FRONT_DOOR_PHONE.into(),
        ..Config::default()
    }
}

/// Mail to the log, as `earlyhelp serve` sends it without an SMTP server.
pub fn log_mail() -> earlyhelp::mail::Sending {
    earlyhelp::mail::Sending {
        mailer: earlyhelp::mail::Mailer::Log,
        from: "earlyhelp <no-reply@earlyhelp.test>".into(),
        site: "http://earlyhelp.test".into(),
    }
}

/// As `spawn_app`, with `config`.
pub async fn spawn_app_with(backend: Backend, config: Config) -> TestApp {
    spawn(backend, config, Some(log_mail())).await
}

/// As [`spawn_app`]; without `sending` no background job runs: the test drives them itself.
pub async fn spawn_app_mailing(
    backend: Backend,
    sending: Option<earlyhelp::mail::Sending>,
) -> TestApp {
    spawn(backend, test_config(), sending).await
}

async fn spawn(
    backend: Backend,
    config: Config,
    sending: Option<earlyhelp::mail::Sending>,
) -> TestApp {
    let database_url = fresh_demo_database(backend).await;
    let db = earlyhelp::server::open(&database_url)
        .await
        .expect("open the test database");
    serve_with(db, database_url, config, sending).await
}

/// A second server on `app`'s database, with a connection pool and background jobs of its
/// own, as a second `earlyhelp serve` process behind the same load balancer would be.
pub async fn serve_another(app: &TestApp) -> TestApp {
    let db = earlyhelp::server::open(&app.database_url)
        .await
        .expect("open the same database again");
    serve(db, app.database_url.clone()).await
}

/// Serves an existing database (for example to prove sessions survive a restart).
pub async fn serve(db: Db, database_url: String) -> TestApp {
    serve_with(db, database_url, test_config(), Some(log_mail())).await
}

async fn serve_with(
    db: Db,
    database_url: String,
    config: Config,
    sending: Option<earlyhelp::mail::Sending>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a random port");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(db.clone(), config);
    // The background jobs run as they do beside `earlyhelp serve`, only more often; without
    // `sending`, none runs: the test drives them on a clock of its own.
    if let Some(sending) = sending {
        earlyhelp::jobs::spawn(
            db.clone(),
            std::time::Duration::from_millis(200),
            Some(sending),
            state.config.linkage_key.clone(),
        );
    }
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(earlyhelp_web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        db,
        database_url,
        _shutdown: shutdown,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (so tests can see them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first `csrf_token` hidden field in a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let Some(start) = html.find(marker) else {
        panic!("the page has no CSRF token: {html}");
    };
    let start = start + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

pub struct Session {
    pub client: reqwest::Client,
    pub csrf: String,
}

impl Session {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(app.url(path)).send().await.unwrap()
    }

    /// Posts a form as the signed-in browser would (the caller includes the CSRF token or not).
    pub async fn post<T: serde::Serialize + ?Sized>(
        &self,
        app: &TestApp,
        path: &str,
        form: &T,
    ) -> reqwest::Response {
        self.client
            .post(app.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads `csv` as the form's `file` field, with the session's CSRF token, as a browser would.
    pub async fn post_file(&self, app: &TestApp, path: &str, csv: &str) -> reqwest::Response {
        let boundary = "eh-test-file-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
            self.csrf
        );
        self.client
            .post(app.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

impl TestApp {
    /// A server started elsewhere (a child `earlyhelp serve`) at `address`, on `database_url`.
    pub async fn elsewhere(address: String, database_url: String) -> TestApp {
        let db = earlyhelp::server::open(&database_url)
            .await
            .expect("open the served database");
        TestApp {
            address,
            db,
            database_url,
            _shutdown: tokio::sync::oneshot::channel().0,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Posts the sign-in form as a browser would; returns the response.
    pub async fn try_sign_in(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = client
            .get(self.url("/sign-in"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = [
            ("csrf_token", csrf_in(&page)),
            ("email", email.into()),
            ("password", password.into()),
            ("next", "/".into()),
        ];
        client
            .post(self.url("/sign-in"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str) -> Session {
        let client = client();
        let response = self.try_sign_in(&client, email, DEMO_PASSWORD).await;
        assert_eq!(response.status(), 303, "{email} should sign in");
        let home = client
            .get(self.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Session {
            csrf: csrf_in(&home),
            client,
        }
    }

    /// Every audit event about `subject`, oldest first: (actor, action, outcome).
    pub async fn audit_of(&self, subject: &str) -> Vec<(String, String, String)> {
        let sql = "SELECT actor, action, outcome FROM audit_events WHERE subject = $1 ORDER BY seq";
        earlyhelp_storage::on_pool!(&self.db, pool => {
            sqlx::query_as(sql)
                .bind(subject)
                .fetch_all(pool)
                .await
                .unwrap()
        })
    }
}

/// A headless Chromium driven through its own chromedriver, or `None` where there is none.
pub struct Browser {
    pub driver: thirtyfour::WebDriver,
    chromedriver: std::process::Child,
}

impl Browser {
    pub async fn start() -> Option<Browser> {
        use thirtyfour::prelude::*;
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(chromedriver) = chromedriver else {
            missing("chromedriver (Debian package chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // In a process group of its own, so that the browsers it starts end with it.
        let child = std::process::Command::new(chromedriver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium").unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ] {
            caps.add_arg(arg).unwrap();
        }
        let server = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..50 {
            match WebDriver::new(&server, caps.clone()).await {
                Ok(driver) => {
                    return Some(Browser {
                        driver,
                        chromedriver: child,
                    });
                }
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("chromedriver did not start: {last_error:?}");
    }

    /// Waits for the page whose `h1` begins with `text`, so a test never races a navigation
    /// (an `h1` found on the old page may go stale while we read it: look again).
    pub async fn wait_for_heading(&self, text: &str) {
        let mut seen = String::new();
        for _ in 0..100 {
            if let Ok(h1) = self.driver.find(thirtyfour::By::Tag("h1")).await {
                seen = h1.text().await.unwrap_or_default();
                if seen.starts_with(text) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("waited 10 s for a page headed {text:?}; the heading is {seen:?}");
    }

    /// Waits (up to ten seconds) until an element's text contains `needle`, looking again when
    /// a navigation leaves the one found stale.
    pub async fn wait_for_text(&self, by: thirtyfour::By, needle: &str) {
        let mut seen = String::new();
        for _ in 0..100 {
            if let Ok(element) = self.driver.find(by.clone()).await {
                seen = element.text().await.unwrap_or_default();
                if seen.contains(needle) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("waited 10 s for {by:?} to say {needle:?}; it says {seen:?}");
    }

    pub async fn click(&self, by: thirtyfour::By) {
        let element = self
            .driver
            .find(by)
            .await
            .expect("the element is on the page");
        element.click().await.expect("click it");
    }

    pub async fn fill(&self, by: thirtyfour::By, text: &str) {
        let element = self
            .driver
            .find(by)
            .await
            .expect("the field is on the page");
        element.send_keys(text).await.expect("type into it");
    }

    /// Runs axe-core (vendored) on the current page and returns its violations, described.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        const AXE: &str = include_str!("vendor/axe.min.js");
        self.driver
            .execute(AXE, Vec::new())
            .await
            .expect("inject axe-core");
        let result = self
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] })
                   .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                Vec::new(),
            )
            .await
            .expect("run axe-core");
        result.convert().expect("axe returns a list of strings")
    }

    /// Saves a screenshot under target/test-artifacts for people to look at.
    pub async fn screenshot(&self, name: &str) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        self.driver
            .screenshot(&dir.join(format!("{name}.png")))
            .await
            .expect("save a screenshot");
    }

    pub async fn quit(self) {
        let _ = self.driver.clone().quit().await;
    }
}

/// A failed test panics before `quit`: chromedriver and the browsers under it must not outlive
/// it (killing chromedriver alone left Chromium running, busy, until the machine restarted).
impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.chromedriver.id());
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.chromedriver.wait();
    }
}

/// Runs the real `earlyhelp` binary, taking no database or password from the environment
/// except what `envs` gives it.
pub fn run_earlyhelp(args: &[&str], envs: &[(&str, &str)]) -> Output {
    earlyhelp_command(args, envs).output().unwrap()
}

/// The command with none of the caller's earlyhelp settings, and a home of its own, so the
/// audit key and checkpoints it makes by default never land in the real home (a test that
/// needs one home across commands passes `HOME`).
pub fn earlyhelp_command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_earlyhelp"));
    command
        .args(args)
        .env("HOME", std::env::temp_dir().join("eh-test-home"));
    for setting in [
        "EARLYHELP_DATABASE_URL",
        "EARLYHELP_PASSWORD",
        "EARLYHELP_AUDIT_KEY",
        "EARLYHELP_CHECKPOINT_DIR",
        "EARLYHELP_CHECKPOINT_COPY_DIR",
        "EARLYHELP_CHECKPOINT_EVERY",
        "XDG_DATA_HOME",
    ] {
        command.env_remove(setting);
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    command
}

/// A fresh, empty directory for one test's files.
pub fn temp_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("eh-{what}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a command printed, once it has succeeded (or its error output, failing the test).
pub fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// A form's date question answered in its three GOV.UK boxes (`NAME-day`, `NAME-month`,
/// `NAME-year`), from an ISO date.
pub fn date_boxes(name: &str, iso: &str) -> Vec<(String, String)> {
    let date = earlyhelp_domain::cases::parse_date(iso).expect("an ISO date");
    vec![
        (format!("{name}-day"), date.day().to_string()),
        (format!("{name}-month"), u8::from(date.month()).to_string()),
        (format!("{name}-year"), date.year().to_string()),
    ]
}

/// A form's pairs as owned strings, to add date boxes to.
pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Owned pairs borrowed, for a helper that takes `&[(&str, &str)]`.
pub fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

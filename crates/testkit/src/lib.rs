//! Test support. [`spawn_app`] builds the whole application, with every module of the
//! server's list, on a fresh temporary SQLite file, or on a fresh PostgreSQL schema when
//! `ZHONGSHU_TEST_PG_URL` is set, and gives a client that behaves like a browser (cookies,
//! CSRF tokens, forms) or like an API caller (bearer token, JSON).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::TimeZone;
use db::{Actor, Db, DbConfig, RowExt};
use http_body_util::BodyExt;
use kernel::{Clock, Grant, Scope};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use web::accounts::{self, RoleForm, UserForm};

/// The password every test user gets.
pub const PASSWORD: &str = "correct-horse-battery";

/// A running application for one test.
pub struct TestApp {
    pub db: Db,
    pub router: Router,
    pub clock: Clock,
    pub company_id: i64,
    /// The database URL, for tests that open a second connection or a second app.
    pub url: String,
    temp_dir: Option<PathBuf>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12).map(|_| char::from(b'a' + rng.gen_range(0..26))).collect()
}

/// The database kind the suite runs on.
pub fn on_postgres() -> bool {
    std::env::var("ZHONGSHU_TEST_PG_URL").map(|u| !u.is_empty()).unwrap_or(false)
}

/// A fresh, empty database URL: a temporary SQLite file or a new PostgreSQL schema.
pub async fn fresh_database() -> (String, Option<PathBuf>) {
    match std::env::var("ZHONGSHU_TEST_PG_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => {
            let schema = format!("t_{}", random_suffix());
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
                .await
                .unwrap_or_else(|e| panic!("ZHONGSHU_TEST_PG_URL={base} is set but PostgreSQL does not answer: {e}"));
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create the test schema");
            let separator = if base.contains('?') { '&' } else { '?' };
            (format!("{base}{separator}options=-c%20search_path%3D{schema}"), None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("zhongshu-test-{}", random_suffix()));
            std::fs::create_dir_all(&dir).expect("create a temporary directory");
            (format!("sqlite://{}?mode=rwc", dir.join("test.db").display()), Some(dir))
        }
    }
}

/// A fresh SQLite file whatever the suite runs on (for moving data between the two kinds).
pub fn fresh_sqlite() -> (String, PathBuf) {
    let dir = std::env::temp_dir().join(format!("zhongshu-test-{}", random_suffix()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    (format!("sqlite://{}?mode=rwc", dir.join("test.db").display()), dir)
}

/// The instant test clocks start at: 15 March 2026, 10:00 in Shanghai.
pub fn test_start() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 3, 15, 2, 0, 0).single().expect("a valid instant")
}

/// The whole app on a fresh database, with the built-in roles and the administrator
/// (`admin` / [`PASSWORD`]) in a company 华东测试贸易有限公司.
pub async fn spawn_app() -> TestApp {
    let (url, temp_dir) = fresh_database().await;
    let clock = Clock::fixed(test_start());
    let db = Db::connect(&DbConfig { url: url.clone(), max_connections: 8 }, clock.clone())
        .await
        .expect("connect to the test database");
    let modules = server::modules();
    db::migrate::run(&db, &web::migrations(&modules)).await.expect("migrations");
    let permissions: Vec<&str> = modules.iter().flat_map(|m| m.permissions.iter().copied()).collect();
    let company = server::bootstrap::CompanySeed {
        legal_name: "华东测试贸易有限公司",
        short_name: "华东测试",
        credit_code: Some("91110000600037341L"),
    };
    let prepared =
        server::bootstrap::prepare(&db, &permissions, &company, Some(PASSWORD.into())).await.expect("bootstrap");
    // Tests stand behind a pretend proxy: their X-Forwarded-For is the client's address.
    let state = web::state(db.clone(), &modules, web::WebConfig { trusted_proxy: true, ..Default::default() });
    let router = web::app(state, &modules);
    TestApp { db, router, clock, company_id: prepared.company_id, url, temp_dir }
}

impl TestApp {
    /// Creates a user with roles, team and department; returns the user id.
    pub async fn user(&self, login: &str, roles: &[&str], team: &str, department: &str) -> i64 {
        let mut tx = self.db.begin(Actor::system()).await.expect("begin");
        let form = UserForm {
            login: login.into(),
            display_name: login.into(),
            password: PASSWORD.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            team: Some(team.into()).filter(|t: &String| !t.is_empty()),
            department: Some(department.into()).filter(|d: &String| !d.is_empty()),
            lang: Some("en".into()),
            ..Default::default()
        };
        let id = accounts::create_user(&mut tx, self.company_id, &form).await.expect("create user");
        tx.commit().await.expect("commit");
        id
    }

    /// Creates a role with exactly these grants.
    pub async fn role(&self, code: &str, grants: &[(&str, Scope)]) {
        let mut tx = self.db.begin(Actor::system()).await.expect("begin");
        let permissions: Vec<&str> = server::modules().iter().flat_map(|m| m.permissions.iter().copied()).collect();
        let form = RoleForm {
            code: code.into(),
            name: code.into(),
            description: String::new(),
            grants: grants.iter().map(|(p, s)| Grant { permission: p.to_string(), scope: *s }).collect(),
        };
        accounts::create_role(&mut tx, &permissions, &form).await.expect("create role");
        tx.commit().await.expect("commit");
    }

    /// An API token for a user.
    pub async fn token(&self, login: &str) -> String {
        let id = accounts::find_user_id(&self.db, login).await.expect("user exists");
        let mut tx = self.db.begin(Actor::system()).await.expect("begin");
        let (_, secret) = accounts::create_token(&mut tx, id, "test").await.expect("token");
        tx.commit().await.expect("commit");
        secret
    }

    /// A browser with no session yet.
    pub fn browser(&self) -> Browser {
        Browser { router: self.router.clone(), cookies: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// A browser signed in as `login`.
    pub async fn signed_in(&self, login: &str) -> Browser {
        let browser = self.browser();
        let response = browser.login(login, PASSWORD).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "login of {login} failed: {}", response.body);
        browser
    }

    /// A browser signed in as `login` with its own password.
    pub async fn signed_in_with(&self, login: &str, password: &str) -> Browser {
        let browser = self.browser();
        let response = browser.login(login, password).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "login of {login} failed: {}", response.body);
        browser
    }

    /// An API caller with a bearer token for `login`.
    pub async fn api(&self, login: &str) -> ApiClient {
        ApiClient { router: self.router.clone(), token: Some(self.token(login).await) }
    }

    /// An API caller without credentials.
    pub fn anonymous_api(&self) -> ApiClient {
        ApiClient { router: self.router.clone(), token: None }
    }

    /// A second server process on the same database: its own pool, its own router, nothing
    /// shared in memory with the first (as two `zhongshu serve` behind a load balancer).
    pub async fn second_process(&self) -> Router {
        let db = Db::connect(&DbConfig { url: self.url.clone(), max_connections: 8 }, self.clock.clone())
            .await
            .expect("connect the second process");
        let modules = server::modules();
        web::app(web::state(db, &modules, web::WebConfig::default()), &modules)
    }

    /// Delivers every pending event to the modules' subscribers, as the server's background
    /// dispatcher would, until none is left. Returns how many were delivered.
    pub async fn dispatch_events(&self) -> usize {
        let subscribers: Vec<db::events::Subscriber> =
            server::modules().iter().flat_map(|m| m.subscribers.iter().copied()).collect();
        let mut delivered = 0;
        loop {
            let done = db::events::dispatch_batch(&self.db, &subscribers, "test").await.expect("dispatch");
            if done == 0 {
                return delivered;
            }
            delivered += done;
        }
    }

    /// Inserts `rows` rows into `table` for a benchmark, `per` rows a statement, in one
    /// transaction; `row` writes row `i`'s values. At benchmark volumes the service layer
    /// would take hours, and what a benchmark measures is the reading.
    pub async fn bulk(&self, table: &str, columns: &str, rows: i64, per: i64, row: impl Fn(&mut db::SqlBuilder, i64)) {
        let mut tx = self.db.begin(Actor::system()).await.expect("begin");
        let mut start = 0;
        while start < rows {
            let mut q = db::SqlBuilder::new(format!("INSERT INTO {table} ({columns}) VALUES "));
            for i in start..(start + per).min(rows) {
                q.push(if i == start { "(" } else { ", (" });
                row(&mut q, i);
                q.push(")");
            }
            q.build().execute(tx.conn()).await.expect("insert");
            start += per;
        }
        tx.commit().await.expect("commit");
    }

    /// Runs every module's periodic jobs once at the test clock's time, as the server does
    /// every minute. Returns the units of work done.
    pub async fn run_jobs(&self) -> u64 {
        db::jobs::run_all(&self.db, &web::jobs(&server::modules())).await
    }

    /// Runs one periodic job, by name, once at the test clock's time. Returns its units of work.
    pub async fn run_job(&self, name: &str) -> u64 {
        let jobs: Vec<db::jobs::Job> =
            web::jobs(&server::modules()).into_iter().filter(|job| job.name == name).collect();
        assert_eq!(jobs.len(), 1, "no job is named {name}");
        db::jobs::run_all(&self.db, &jobs).await
    }

    /// Counts rows of a table (to show nothing was stored).
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.db.reader())
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }
}

/// A response as a test reads it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// The value of the first `name="_csrf"` field on the page.
    pub fn csrf(&self) -> Option<String> {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }
}

async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.expect("the router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("read the body").to_bytes();
    TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// A client that keeps cookies and sends forms with the page's CSRF token, like a browser.
#[derive(Clone)]
pub struct Browser {
    router: Router,
    cookies: Arc<Mutex<HashMap<String, String>>>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&self, response: &TestResponse) {
        let mut cookies = self.cookies.lock().unwrap_or_else(|p| p.into_inner());
        for value in response.headers.get_all(header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let Some((pair, attributes)) = text.split_once(';').or(Some((text, ""))) else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if value.is_empty() || attributes.contains("Max-Age=0") {
                cookies.remove(name.trim());
            } else {
                cookies.insert(name.trim().to_string(), value.to_string());
            }
        }
    }

    /// The same browser (same cookies) talking to another server process.
    pub fn via(&self, router: &Router) -> Browser {
        Browser { router: router.clone(), cookies: self.cookies.clone() }
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.lock().unwrap_or_else(|p| p.into_inner()).contains_key(name)
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        let request =
            Request::get(path).header(header::COOKIE, self.cookie_header()).body(Body::empty()).expect("request");
        let response = send(&self.router, request).await;
        self.keep_cookies(&response);
        response
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_raw(&self, path: &str, pairs: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        let response = send(&self.router, request).await;
        self.keep_cookies(&response);
        response
    }

    /// Posts a form with the CSRF token of the page at `from` (as a browser submits the form
    /// it shows).
    pub async fn post_form(&self, from: &str, path: &str, pairs: &[(&str, &str)]) -> TestResponse {
        let page = self.get(from).await;
        let csrf = page.csrf().unwrap_or_else(|| panic!("no form on {from}: {} {}", page.status, page.body));
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(path, &all).await
    }

    /// Submits a page's file form (`multipart/form-data`) with the CSRF token of the page at
    /// `from` (none when `from` is empty, as a forged request would): its text fields and one
    /// file as `(file name, type, bytes)`.
    pub async fn post_upload(
        &self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> TestResponse {
        let csrf = if from.is_empty() {
            String::new()
        } else {
            let page = self.get(from).await;
            page.csrf().unwrap_or_else(|| panic!("no form on {from}: {} {}", page.status, page.body))
        };
        let token = [("_csrf", csrf.as_str())];
        let boundary = "----zhongshu-test-upload";
        let mut body = Vec::new();
        for (name, value) in token.iter().filter(|_| !csrf.is_empty()).chain(fields) {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (file_name, content_type, bytes) = file;
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .expect("request");
        let response = send(&self.router, request).await;
        self.keep_cookies(&response);
        response
    }

    pub async fn login(&self, login: &str, password: &str) -> TestResponse {
        self.post_form("/login", "/login", &[("login", login), ("password", password), ("next", "/")]).await
    }
}

/// A JSON API caller.
#[derive(Clone)]
pub struct ApiClient {
    router: Router,
    pub token: Option<String>,
}

impl ApiClient {
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        send(&self.router, request.body(body).expect("request")).await
    }

    /// Sends a raw body with extra headers (a carrier's signed callback).
    pub async fn raw_with(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        headers: &[(&str, String)],
    ) -> TestResponse {
        let mut request = Request::builder().method(Method::POST).uri(path).header(header::CONTENT_TYPE, content_type);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        send(&self.router, request.body(Body::from(body.to_string())).expect("request")).await
    }

    /// Sends a raw body with a content type (for malformed and oversized input).
    pub async fn raw(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, content_type);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        send(&self.router, request.body(Body::from(body)).expect("request")).await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(Method::GET, path, None).await
    }

    /// A GET with extra headers (`X-Company-Id` for another of the user's companies).
    pub async fn get_with(&self, path: &str, headers: &[(&str, String)]) -> TestResponse {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        send(&self.router, request.body(Body::empty()).expect("request")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> TestResponse {
        self.call(Method::PUT, path, Some(body)).await
    }
}

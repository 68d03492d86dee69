//! The shell as users meet it: signing in, forms that must come from our pages, languages,
//! tokens, and the administration of users, roles, tokens, the audit log and webhooks.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use db::RowExt;
use serde_json::json;
use testkit::{spawn_app, PASSWORD};

#[tokio::test]
async fn a_wrong_password_is_refused_and_five_failures_lock_the_login_for_fifteen_minutes() {
    let app = spawn_app().await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let browser = app.browser();
    let wrong = browser.login("wang.fang", "guess-guess-guess").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("用户名或密码错误") || wrong.body.contains("Wrong login or password"));
    assert!(!browser.has_cookie("zs_session"));
    for _ in 0..4 {
        browser.login("wang.fang", "guess-guess-guess").await;
    }
    let locked = browser.login("wang.fang", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    app.clock.advance(Duration::minutes(16));
    assert_eq!(browser.login("wang.fang", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert!(browser.has_cookie("zs_session"));
}

#[tokio::test]
async fn session_cookies_are_http_only_and_lax_and_expire() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser.login("admin", PASSWORD).await;
    let cookie = response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("zs_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    app.clock.advance(Duration::hours(13));
    let expired = browser.get("/parties").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.header("location").as_deref(), Some("/login?next=%2Fparties"));
}

#[tokio::test]
async fn a_form_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin").await;
    let forged = browser.post_raw("/parties", &[("kind", "person"), ("name", "伪造")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("表单已过期或来源不明"));
    let wrong = browser.post_raw("/parties", &[("_csrf", "0000"), ("kind", "person"), ("name", "伪造")]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("parties").await, 0);
    // The login form itself carries a token too.
    let anonymous = app.browser();
    assert_eq!(
        anonymous.post_raw("/login", &[("login", "admin"), ("password", PASSWORD)]).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_language_follows_the_profile_then_the_browser_and_switches_both_ways() {
    let app = spawn_app().await;
    let anonymous = app.browser();
    assert!(anonymous.get("/login").await.body.contains("登录"));
    let browser = app.signed_in("admin").await;
    assert!(browser.get("/").await.body.contains("工作台"));
    browser.post_form("/", "/lang", &[("lang", "en"), ("next", "/")]).await;
    assert!(browser.get("/").await.body.contains("Dashboard"));
    // The choice is stored in the profile: a new session opens in English.
    let again = app.signed_in("admin").await;
    assert!(again.get("/").await.body.contains("Dashboard"));
    again.post_form("/", "/lang", &[("lang", "zh-CN"), ("next", "/")]).await;
    assert!(again.get("/").await.body.contains("工作台"));
}

#[tokio::test]
async fn api_tokens_authenticate_until_revoked_and_bad_tokens_get_a_problem() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let me = api.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["login"], "admin");
    let nobody = app.anonymous_api();
    let refused = nobody.get("/api/v1/parties").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.header("content-type").as_deref(), Some("application/problem+json"));
    let mut forged = api.clone();
    forged.token = Some("zs_not-a-real-token".into());
    assert_eq!(forged.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);

    let tokens = api.get("/api/v1/tokens").await.json();
    let id = tokens["items"][0]["id"].as_i64().expect("token id");
    assert!(tokens["items"][0].get("token_hash").is_none(), "secrets are never listed");
    assert_eq!(api.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "a revoked token stops working at once");

    // On the page, a name past a hundred characters is refused beside it, as typed, for the
    // user chosen; no token is made.
    let admin: i64 = sqlx::query("SELECT id FROM users WHERE login = 'admin'")
        .fetch_one(app.db.reader())
        .await
        .expect("the administrator")
        .try_get("id")
        .expect("id");
    let admin = admin.to_string();
    let long = "对账机器人".repeat(21);
    let refused = app
        .signed_in("admin")
        .await
        .post_form("/admin/tokens", "/admin/tokens", &[("user_id", &admin), ("name", &long)])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let field = refused.body.split("id=\"token-name\"").nth(1).expect("the name field");
    let field = &field[..field.find("</div>").expect("field end")];
    assert!(field.contains(&format!("value=\"{long}\"")) && field.contains("role=\"alert\""), "{field}");
    assert!(refused.body.contains(&format!("<option value=\"{admin}\" selected>")));
    assert_eq!(app.count("api_tokens WHERE revoked_at IS NULL").await, 0);
}

#[tokio::test]
async fn a_token_works_in_the_companies_of_its_user_and_is_refused_in_any_other() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let home = api.get("/api/v1/me").await.json();
    assert_eq!(home["company_id"], app.company_id);
    let mut tx = app.db.begin(db::Actor::system()).await.unwrap();
    let branch: i64 = tx
        .fetch_one(db::sqlx::query(
            "INSERT INTO companies (legal_name, short_name, created_at) \
             VALUES ('上海华信分公司', '上海分公司', '2026-01-01T00:00:00Z') RETURNING id",
        ))
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    tx.commit().await.unwrap();
    let in_branch = [("x-company-id", branch.to_string())];
    let refused = api.get_with("/api/v1/me", &in_branch).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "not a company of the user: {}", refused.body);
    let user = home["user_id"].as_i64().unwrap();
    let mut tx = app.db.begin(db::Actor::system()).await.unwrap();
    tx.execute(
        db::sqlx::query("INSERT INTO user_companies (user_id, company_id) VALUES ($1, $2)").bind(user).bind(branch),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let there = api.get_with("/api/v1/me", &in_branch).await;
    assert_eq!(there.status, StatusCode::OK, "{}", there.body);
    let there = there.json();
    assert_eq!(there["company_id"], branch);
    // The same person with the same roles: their grants do not depend on the company asked for.
    assert_eq!((&there["login"], &there["grants"]), (&home["login"], &home["grants"]));
    assert!(!home["grants"].as_array().unwrap().is_empty() || home["is_admin"] == true, "{home}");
}

#[tokio::test]
async fn an_administrator_creates_a_user_gives_roles_disables_and_resets_the_password() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin").await;
    let bad = admin
        .post_form(
            "/admin/users/new",
            "/admin/users",
            &[("login", "x"), ("display_name", ""), ("password", "short"), ("email", "not-mail")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("密码至少 10 位") && bad.body.contains("邮箱格式不正确"), "{}", bad.body);
    let users_before = app.count("users").await;

    let created = admin
        .post_form(
            "/admin/users/new",
            "/admin/users",
            &[
                ("login", "zhang.wei"),
                ("display_name", "张伟"),
                ("email", "zhang.wei@example.cn"),
                ("password", "a-long-password"),
                ("team", "east"),
                ("roles", "sales_rep"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(app.count("users").await, users_before + 1);
    let user_page = created.header("location").expect("location");
    let zhang = app.browser();
    assert_eq!(zhang.login("zhang.wei", "a-long-password").await.status, StatusCode::SEE_OTHER);
    assert_eq!(zhang.get("/parties").await.status, StatusCode::OK);

    // Disable: the session ends at once and signing in is refused.
    let page = admin.get(&user_page).await;
    let version = page
        .body
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("version")
        .to_string();
    let disabled = admin
        .post_form(
            &user_page,
            &user_page,
            &[
                ("version", &version),
                ("display_name", "张伟"),
                ("roles", "sales_rep"),
                ("companies", &app.company_id.to_string()),
                ("disabled", "true"),
            ],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.body);
    assert_eq!(zhang.get("/parties").await.status, StatusCode::SEE_OTHER, "signed out");
    assert_eq!(app.browser().login("zhang.wei", "a-long-password").await.status, StatusCode::UNAUTHORIZED);

    // Reset the password; the history shows each change.
    let reset =
        admin.post_form(&user_page, &format!("{user_page}/password"), &[("password", "another-long-one")]).await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let history = admin.get(&user_page).await.body;
    assert!(history.contains("disabled") && history.contains("password"));
}

#[tokio::test]
async fn user_administration_is_only_for_those_granted_it() {
    let app = spawn_app().await;
    app.user("zhou.tao", &["user_admin"], "", "it").await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let rep = app.signed_in("wang.fang").await;
    for path in ["/admin/users", "/admin/roles", "/admin/tokens", "/admin/audit", "/admin/webhooks"] {
        assert_eq!(rep.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let rep_api = app.api("wang.fang").await;
    assert_eq!(rep_api.get("/api/v1/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(rep_api.post("/api/v1/roles", &json!({"code": "x", "name": "x"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(rep_api.get("/api/v1/audit").await.status, StatusCode::FORBIDDEN);
    let user_admin = app.signed_in("zhou.tao").await;
    for path in ["/admin/users", "/admin/roles", "/admin/tokens", "/admin/audit", "/admin/webhooks"] {
        assert_eq!(user_admin.get(path).await.status, StatusCode::OK, "{path}");
    }
    // A user administrator cannot make administrators.
    let api = app.api("zhou.tao").await;
    let refused = api
        .post(
            "/api/v1/users",
            &json!({"login": "evil", "display_name": "x", "password": "a-long-password", "is_admin": true}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_role_gets_grants_from_the_matrix_and_they_take_effect() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin").await;
    let created = admin
        .post_form(
            "/admin/roles/new",
            "/admin/roles",
            &[
                ("code", "front_desk"),
                ("name", "前台"),
                ("description", ""),
                ("grant:party.party.read", "company"),
                ("grant:party.party.create", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    app.user("qian.li", &["front_desk"], "", "").await;
    let api = app.api("qian.li").await;
    assert_eq!(api.get("/api/v1/parties").await.status, StatusCode::OK);
    assert_eq!(
        api.post("/api/v1/parties", &json!({"kind": "person", "name": "访客"})).await.status,
        StatusCode::FORBIDDEN
    );
    let role_page = created.header("location").expect("location");
    let saved = admin
        .post_form(
            &role_page,
            &role_page,
            &[("grant:party.party.read", "company"), ("grant:party.party.create", "own")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        api.post("/api/v1/parties", &json!({"kind": "person", "name": "访客"})).await.status,
        StatusCode::CREATED
    );
    let bad = admin.post_form(&role_page, &role_page, &[("grant:party.party.fly", "company")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_audit_log_is_filtered_by_user_resource_and_date() {
    let app = spawn_app().await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let wang = app.api("wang.fang").await;
    wang.post("/api/v1/parties", &json!({"kind": "person", "name": "三月客户"})).await;
    app.clock.advance(Duration::days(20));
    wang.post("/api/v1/parties", &json!({"kind": "person", "name": "四月客户"})).await;
    let api = app.api("admin").await;
    let wang_id = api.get("/api/v1/users").await.json()["items"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["login"] == "wang.fang")
        .and_then(|u| u["id"].as_i64())
        .expect("id");
    let march = api
        .get(&format!("/api/v1/audit?user_id={wang_id}&resource=party.party&from=2026-03-01&until=2026-03-31"))
        .await
        .json();
    let items = march["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["changes"]["name"], json!([null, "三月客户"]));
    assert_eq!(api.get("/api/v1/audit?from=yesterday").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = app
        .signed_in("admin")
        .await
        .get(&format!("/admin/audit?user_id={wang_id}&resource=party.party&from=2026-04-01"))
        .await;
    assert!(page.body.contains("四月客户") && !page.body.contains("三月客户"));
}

#[tokio::test]
async fn pages_that_do_not_exist_get_a_translated_404_and_problems_under_the_api() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin").await;
    let missing = browser.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("找不到该页面或记录"));
    assert_eq!(browser.get("/parties/999999").await.status, StatusCode::NOT_FOUND);
    let api = app.api("admin").await;
    let problem = api.get("/api/v1/nothing").await;
    assert_eq!(problem.status, StatusCode::NOT_FOUND);
    assert_eq!(problem.json()["type"], "/problems/not-found");
}

#[tokio::test]
async fn health_and_metrics_report_the_database_requests_and_the_outbox() {
    let app = spawn_app().await;
    let browser = app.browser();
    let health = browser.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    app.api("admin").await.post("/api/v1/parties", &json!({"kind": "person", "name": "李娜"})).await;
    let metrics = browser.get("/metrics").await.body;
    assert!(
        metrics.contains("http_requests_total{method=\"POST\",route=\"/api/v1/parties\",status=\"201\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("outbox_pending_events 1"));
    assert!(metrics.contains("db_pool_connections"));
}

#[tokio::test]
async fn webhooks_are_registered_and_their_deliveries_are_logged() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let bad = api.post("/api/v1/webhooks", &json!({"url": "ftp://example"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing listens on this port: the delivery fails and is scheduled again.
    let created = api
        .post("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/hook", "event_types": "party.PartyCreated"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["id"].as_i64().expect("id");
    api.post("/api/v1/parties", &json!({"kind": "person", "name": "周杰"})).await;
    let dispatched = db::events::dispatch_batch(&app.db, &[], "test").await.expect("dispatch");
    assert_eq!(dispatched, 1);
    let sent = web::webhooks::send_due(&app.db, web::webhooks::Reach { allow_private: true }).await.expect("send");
    assert_eq!(sent, 1);
    let log = api.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert_eq!(log["items"][0]["status"], "pending");
    assert_eq!(log["items"][0]["attempts"], 1);
    assert!(log["items"][0]["last_error"].as_str().is_some());
    assert_eq!(
        web::webhooks::send_due(&app.db, web::webhooks::Reach { allow_private: true }).await.expect("send"),
        0,
        "not due again before its backoff"
    );
    // By default a webhook may not reach into the server's own network.
    app.clock.advance(chrono::Duration::minutes(5));
    web::webhooks::send_due(&app.db, web::webhooks::Reach::default()).await.expect("send");
    let refused = api.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert!(refused["items"][0]["last_error"].as_str().unwrap_or_default().contains("private address"), "{refused}");
    let page = app.signed_in("admin").await.get(&format!("/admin/webhooks/{id}")).await;
    assert!(page.body.contains("party.PartyCreated"));
}

#[tokio::test]
async fn data_belongs_to_a_company_and_users_switch_between_the_companies_they_may_enter() {
    let app = spawn_app().await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let admin = app.signed_in("admin").await;
    let bad = admin
        .post_form(
            "/admin/companies",
            "/admin/companies",
            &[("legal_name", "深圳分公司"), ("short_name", ""), ("credit_code", "911100001000006290")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let created = admin
        .post_form(
            "/admin/companies",
            "/admin/companies",
            &[
                ("legal_name", "华东测试贸易（深圳）有限公司"),
                ("short_name", "深圳"),
                ("credit_code", "91350100M000100Y43"),
                ("base_currency", "CNY"),
                ("time_zone", "Asia/Shanghai"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let api = app.api("admin").await;
    let companies = api.get("/api/v1/companies").await.json();
    let shenzhen = companies["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["short_name"] == "深圳")
        .and_then(|c| c["id"].as_i64())
        .expect("id");
    let users = api.get("/api/v1/users").await.json();
    let wang_id = users["items"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["login"] == "wang.fang")
        .and_then(|u| u["id"].as_i64())
        .expect("id");
    let granted = api
        .call(Method::PUT, &format!("/api/v1/users/{wang_id}/companies"), Some(&json!([app.company_id, shenzhen])))
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert_eq!(
        api.call(Method::PUT, &format!("/api/v1/users/{wang_id}/companies"), Some(&json!([]))).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let wang = app.signed_in("wang.fang").await;
    assert_eq!(
        wang.post_form("/", "/company", &[("company_id", &shenzhen.to_string())]).await.status,
        StatusCode::SEE_OTHER
    );
    let made = wang
        .post_form("/parties/new", "/parties", &[("kind", "person"), ("name", "深圳客户"), ("roles", "customer")])
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert!(wang.get("/parties").await.body.contains("深圳客户"));
    wang.post_form("/", "/company", &[("company_id", &app.company_id.to_string())]).await;
    assert!(!wang.get("/parties").await.body.contains("深圳客户"), "another company's party is not listed");
    let elsewhere = wang.post_form("/", "/company", &[("company_id", "999")]).await;
    assert_eq!(elsewhere.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn two_server_processes_share_sessions_numbers_and_the_audit_chain() {
    let app = spawn_app().await;
    let second = app.second_process().await;
    let on_first = app.signed_in("admin").await;
    let on_second = on_first.via(&second);
    assert_eq!(on_second.get("/parties").await.status, StatusCode::OK, "the session lives in the database");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let browser = if i % 2 == 0 { on_first.clone() } else { on_second.clone() };
        tasks.push(tokio::spawn(async move {
            let name = format!("并发客户{i}");
            browser.post_form("/parties/new", "/parties", &[("kind", "person"), ("name", &name)]).await.status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), StatusCode::SEE_OTHER);
    }
    let numbers: Vec<String> = sqlx::query("SELECT number FROM parties ORDER BY number")
        .fetch_all(app.db.reader())
        .await
        .expect("numbers")
        .iter()
        .map(|r| db::RowExt::try_get(r, "number").expect("number"))
        .collect();
    let expected: Vec<String> = (1..=10).map(|n| format!("PTY/2026/{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert!(matches!(db::audit::verify(&app.db).await.expect("verify"), db::audit::Verdict::Intact { .. }));
}

#[tokio::test]
async fn an_oversized_form_is_refused_with_a_page_not_a_crash() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin").await;
    let page = browser.get("/parties/new").await;
    let csrf = page.csrf().expect("csrf");
    let huge = "长".repeat(2 * 1024 * 1024 / 3);
    let response = browser.post_raw("/parties", &[("_csrf", &csrf), ("kind", "person"), ("name", &huge)]).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.body.contains("请求体过大"));
    assert_eq!(app.count("parties").await, 0);
}

#[tokio::test]
async fn a_webhook_receiver_gets_the_event_with_a_signature_it_can_check() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let receiver = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await.expect("read");
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length: usize = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await.expect("write");
        String::from_utf8_lossy(&request).to_string()
    });
    let api = app.api("admin").await;
    let created = api
        .post("/api/v1/webhooks", &json!({"url": format!("http://127.0.0.1:{port}/hook"), "event_types": "*"}))
        .await;
    let secret = created.json()["secret"].as_str().expect("secret").to_string();
    let id = created.json()["id"].as_i64().expect("id");
    api.post("/api/v1/parties", &json!({"kind": "organization", "name": "杭州启明软件有限公司"})).await;
    db::events::dispatch_batch(&app.db, &[], "test").await.expect("dispatch");
    assert_eq!(web::webhooks::send_due(&app.db, web::webhooks::Reach { allow_private: true }).await.expect("send"), 1);
    let request = receiver.await.expect("receiver");
    let (head, body) = request.split_once("\r\n\r\n").expect("a request");
    assert!(head.to_ascii_lowercase().contains("x-zhongshu-event: party.partycreated"));
    let signature = head
        .lines()
        .find_map(|l| l.strip_prefix("x-zhongshu-signature: ").or_else(|| l.strip_prefix("X-Zhongshu-Signature: ")))
        .expect("signature header");
    let timestamp: i64 =
        signature.split(',').next().and_then(|t| t.strip_prefix("t=")).and_then(|t| t.parse().ok()).expect("t");
    assert_eq!(
        signature,
        web::webhooks::signature(&secret, timestamp, body),
        "the receiver can recompute the signature"
    );
    assert!(body.contains("杭州启明软件有限公司"));
    let log = api.get(&format!("/api/v1/webhooks/{id}/deliveries")).await.json();
    assert_eq!(log["items"][0]["status"], "delivered");
    assert_eq!(log["items"][0]["last_status_code"], 200);
}

#[tokio::test]
async fn a_user_administrator_cannot_take_over_an_administrator_or_hand_out_more_than_they_hold() {
    let app = spawn_app().await;
    app.user("zhou.tao", &["user_admin"], "", "it").await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let api = app.api("zhou.tao").await;
    let users = api.get("/api/v1/users").await.json();
    let id_of = |login: &str| {
        users["items"]
            .as_array()
            .expect("users")
            .iter()
            .find(|u| u["login"] == login)
            .and_then(|u| u["id"].as_i64())
            .expect("id")
    };
    let (admin, wang) = (id_of("admin"), id_of("wang.fang"));
    let reset = api.post(&format!("/api/v1/users/{admin}/password"), &json!({"password": "taken-over-now"})).await;
    assert_eq!(reset.status, StatusCode::FORBIDDEN, "no password reset of an administrator");
    let token = api.post("/api/v1/tokens", &json!({"user_id": admin, "name": "mine now"})).await;
    assert_eq!(token.status, StatusCode::FORBIDDEN, "no token for an administrator");
    let version = api.get(&format!("/api/v1/users/{wang}")).await.json()["version"].as_i64().expect("version");
    let promote =
        api.patch(&format!("/api/v1/users/{wang}"), &json!({"version": version, "roles": ["accountant"]})).await;
    assert_eq!(
        promote.status,
        StatusCode::FORBIDDEN,
        "the accountant role grants finance permissions the user administrator lacks"
    );
    let role = api.post("/api/v1/roles", &json!({"code": "superuser", "name": "x", "grants": [{"permission": "party.party.read_sensitive", "scope": "company"}]})).await;
    assert_eq!(role.status, StatusCode::FORBIDDEN);
    // What they hold they may pass on.
    let ok = api.post("/api/v1/roles", &json!({"code": "auditor_lite", "name": "审计助理", "grants": [{"permission": "web.audit.read", "scope": "company"}]})).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let self_disable = app.api("admin").await;
    let admin_version =
        self_disable.get(&format!("/api/v1/users/{admin}")).await.json()["version"].as_i64().expect("version");
    assert_eq!(
        self_disable
            .patch(&format!("/api/v1/users/{admin}"), &json!({"version": admin_version, "disabled": true}))
            .await
            .status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn a_password_reset_revokes_the_users_api_tokens() {
    let app = spawn_app().await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let wang = app.api("wang.fang").await;
    assert_eq!(wang.get("/api/v1/me").await.status, StatusCode::OK);
    let admin = app.api("admin").await;
    let users = admin.get("/api/v1/users").await.json();
    let id = users["items"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["login"] == "wang.fang")
        .and_then(|u| u["id"].as_i64())
        .expect("id");
    assert_eq!(
        admin.post(&format!("/api/v1/users/{id}/password"), &json!({"password": "a-fresh-password"})).await.status,
        StatusCode::OK
    );
    assert_eq!(wang.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn after_login_only_local_paths_are_followed() {
    let app = spawn_app().await;
    for next in ["//evil.example/", "/\t/evil.example", "https://evil.example/", "/\\evil.example"] {
        let browser = app.browser();
        let response = browser
            .post_form("/login", "/login", &[("login", "admin"), ("password", testkit::PASSWORD), ("next", next)])
            .await;
        assert_eq!(response.header("location").as_deref(), Some("/"), "{next:?}");
    }
}

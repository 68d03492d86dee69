//! Scenarios of the address book: a sales team at 华东测试贸易 records customers, finds
//! them again, edits them, and sees only what its grants allow.

use axum::http::{Method, StatusCode};
use kernel::Scope;
use serde_json::json;
use testkit::spawn_app;

fn huaxin() -> serde_json::Value {
    json!({
        "kind": "organization",
        "name": "北京华信科技有限公司",
        "name_en": "Beijing Huaxin Technology Co., Ltd.",
        "credit_code": "91110000600037341L",
        "roles": ["customer"],
        "tags": ["重点客户"],
        "contacts": [{"kind": "mobile", "value": "+86 138-0013-8000", "label": "采购部"}, {"kind": "email", "value": "buyer@huaxin.example.cn"}],
        "addresses": [{"kind": "office", "province": "北京市", "city": "北京", "district": "朝阳区", "street": "建国路88号", "postcode": "100022"}]
    })
}

#[tokio::test]
async fn an_accountant_records_a_customer_through_the_api_and_finds_it_by_phone_and_credit_code() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let created = api.post("/api/v1/parties", &huaxin()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let party = created.json();
    assert_eq!(party["number"], "PTY/2026/000001");
    assert_eq!(party["contacts"][0]["value"], "13800138000", "the mobile is stored normalised");
    assert_eq!(party["version"], 1);

    for q in ["华信", "huaxin", "13800138000", "+86 138 0013 8000", "91110000600037341l", "buyer@huaxin.example.cn"] {
        let path = format!("/api/v1/parties?q={}", urlencode(q));
        let found = api.get(&path).await.json();
        assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "search for {q}");
    }
    let none = api.get("/api/v1/parties?q=%E5%B9%BF%E5%B7%9E").await.json();
    assert_eq!(none["items"].as_array().map(Vec::len), Some(0));
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_bad_credit_code_is_refused_with_the_expected_check_character_and_nothing_is_stored() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let mut body = huaxin();
    body["credit_code"] = json!("911100001000006290");
    body["contacts"][0]["value"] = json!("12345");
    let response = api.post("/api/v1/parties", &body).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.header("content-type").as_deref(), Some("application/problem+json"));
    let problem = response.json();
    assert_eq!(problem["type"], "/problems/validation");
    let errors = problem["errors"].as_array().expect("field errors");
    assert_eq!(errors[0]["field"], "credit_code");
    assert_eq!(errors[0]["code"], "error.credit_code.check_digit");
    assert!(errors[0]["message"].as_str().unwrap_or_default().contains('R'), "{}", errors[0]);
    assert_eq!(errors[1]["field"], "contacts[0]");
    assert_eq!(app.count("parties").await, 0);
    assert_eq!(app.count("sequences").await, 0, "no number was used up");
}

#[tokio::test]
async fn a_duplicate_mobile_or_credit_code_is_flagged_until_confirmed() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    assert_eq!(api.post("/api/v1/parties", &huaxin()).await.status, StatusCode::CREATED);
    let mut again = huaxin();
    again["name"] = json!("华信科技（北京）");
    let warned = api.post("/api/v1/parties", &again).await;
    assert_eq!(warned.status, StatusCode::CONFLICT);
    let problem = warned.json();
    assert_eq!(problem["type"], "/problems/duplicate");
    assert_eq!(problem["duplicates"][0]["number"], "PTY/2026/000001");
    assert_eq!(app.count("parties").await, 1);
    again["confirm_duplicates"] = json!(true);
    let created = api.post("/api/v1/parties", &again).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json()["number"], "PTY/2026/000002");
}

#[tokio::test]
async fn an_update_with_a_stale_version_is_refused_and_the_history_shows_each_change() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let id = api.post("/api/v1/parties", &huaxin()).await.json()["id"].as_i64().expect("id");
    let path = format!("/api/v1/parties/{id}");
    let renamed = api
        .patch(&path, &json!({"version": 1, "name": "北京华信科技股份有限公司", "tags": ["重点客户", "上市公司"]}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.json()["version"], 2);
    // A second user still holding version 1 tries to save.
    let stale = api.patch(&path, &json!({"version": 1, "name": "华信"})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["type"], "/problems/stale-version");
    assert_eq!(api.get(&path).await.json()["name"], "北京华信科技股份有限公司");

    let history = api.get(&format!("{path}/history")).await.json();
    let items = history["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "update");
    assert_eq!(items[0]["changes"]["name"], json!(["北京华信科技有限公司", "北京华信科技股份有限公司"]));
    assert_eq!(items[0]["changes"]["tags"], json!([["重点客户"], ["上市公司", "重点客户"]]));
    assert_eq!(items[1]["action"], "create");
}

#[tokio::test]
async fn malformed_oversized_and_unknown_input_gets_a_problem_not_a_500() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let malformed =
        api.raw(Method::POST, "/api/v1/parties", "application/json", b"{\"kind\": \"organization\", ".to_vec()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json()["type"], "/problems/malformed-body");

    let unknown_field = api.post("/api/v1/parties", &json!({"kind": "person", "name": "张伟", "salary": 1})).await;
    assert_eq!(unknown_field.status, StatusCode::BAD_REQUEST);

    let huge = format!("{{\"kind\":\"person\",\"name\":\"{}\"}}", "长".repeat(10 * 1024 * 1024 / 3));
    let too_large = api.raw(Method::POST, "/api/v1/parties", "application/json", huge.into_bytes()).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.json()["type"], "/problems/too-large");

    let long_name = api.post("/api/v1/parties", &json!({"kind": "person", "name": "长".repeat(201)})).await;
    assert_eq!(long_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long_name.json()["errors"][0]["code"], "error.too_long");

    let unknown_filter = api.get("/api/v1/parties?colour=red").await;
    assert_eq!(unknown_filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown_filter.json()["type"], "/problems/bad-list-parameter");
    assert_eq!(api.get("/api/v1/parties?sort=password").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.get("/api/v1/parties?cursor=not-a-cursor").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.get("/api/v1/parties/abc").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("parties").await, 0);
}

#[tokio::test]
async fn keyset_pages_walk_every_party_once_in_order() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    for i in 0..23 {
        let body = json!({"kind": "person", "name": format!("客户{:02}", 22 - i), "roles": ["customer"], "tags": if i % 2 == 0 { json!(["华东"]) } else { json!([]) }});
        assert_eq!(api.post("/api/v1/parties", &body).await.status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/parties?limit=5&sort=name".to_string();
    loop {
        let page = api.get(&path).await.json();
        seen.extend(
            page["items"].as_array().expect("items").iter().map(|p| p["name"].as_str().unwrap_or_default().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/parties?limit=5&sort=name&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..23).map(|i| format!("客户{i:02}")).collect();
    assert_eq!(seen, expected);
    let newest_first = api.get("/api/v1/parties?limit=3&sort=-created_at").await.json();
    assert_eq!(newest_first["items"].as_array().map(Vec::len), Some(3));
    let tagged = api.get("/api/v1/parties?tag=%E5%8D%8E%E4%B8%9C&limit=100").await.json();
    assert_eq!(tagged["items"].as_array().map(Vec::len), Some(12));
    let suppliers = api.get("/api/v1/parties?role=supplier").await.json();
    assert_eq!(suppliers["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn salespeople_see_their_own_customers_and_managers_their_teams() {
    let app = spawn_app().await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    app.user("li.qiang", &["sales_rep"], "west", "sales").await;
    app.user("zhao.min", &["sales_manager"], "east", "sales").await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let wang = app.api("wang.fang").await;
    let li = app.api("li.qiang").await;
    let wang_customer = wang
        .post("/api/v1/parties", &json!({"kind": "person", "name": "王的客户", "roles": ["customer"]}))
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let li_customer =
        li.post("/api/v1/parties", &json!({"kind": "person", "name": "李的客户", "roles": ["customer"]})).await.json()
            ["id"]
            .as_i64()
            .expect("id");

    let names = |v: serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(names(wang.get("/api/v1/parties").await.json()), vec!["王的客户"]);
    assert_eq!(
        wang.get(&format!("/api/v1/parties/{li_customer}")).await.status,
        StatusCode::NOT_FOUND,
        "another rep's customer does not exist for wang"
    );
    let denied = wang.patch(&format!("/api/v1/parties/{li_customer}"), &json!({"version": 1, "name": "改名"})).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND);

    let zhao = app.api("zhao.min").await;
    assert_eq!(
        names(zhao.get("/api/v1/parties").await.json()),
        vec!["王的客户"],
        "the east team's manager sees the east team only"
    );
    assert_eq!(
        zhao.patch(&format!("/api/v1/parties/{wang_customer}"), &json!({"version": 1, "notes": "经理已回访"}))
            .await
            .status,
        StatusCode::OK
    );

    let chen = app.api("chen.jing").await;
    assert_eq!(names(chen.get("/api/v1/parties").await.json()).len(), 2, "the accountant reads the whole company");
    let refused = chen.post("/api/v1/parties", &json!({"kind": "person", "name": "无权创建"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["type"], "/problems/forbidden");
    assert_eq!(
        chen.patch(&format!("/api/v1/parties/{wang_customer}"), &json!({"version": 2, "notes": "x"})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(chen.get("/parties/export.csv").await.status, StatusCode::OK);
    assert_eq!(wang.get("/parties/export.csv").await.status, StatusCode::OK);
    app.user("zhou.tao", &["user_admin"], "", "it").await;
    let zhou = app.api("zhou.tao").await;
    assert_eq!(zhou.get("/api/v1/parties").await.status, StatusCode::FORBIDDEN);
    assert_eq!(zhou.get("/parties/export.csv").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn resident_ids_are_masked_without_permission_and_every_full_read_is_audited() {
    let app = spawn_app().await;
    app.user("liu.yang", &["hr_officer"], "", "hr").await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let hr = app.api("liu.yang").await;
    let created = hr
        .post(
            "/api/v1/parties",
            &json!({"kind": "person", "name": "张伟", "id_number": "11010519491231002x", "roles": ["employee"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.json()["id"].as_i64().expect("id");
    let path = format!("/api/v1/parties/{id}");
    let reads_before = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'read'")
        .fetch_one(app.db.reader())
        .await
        .map(|r| db::RowExt::try_get::<i64, _>(&r, "n").unwrap_or(0))
        .unwrap_or(0);
    assert_eq!(hr.get(&path).await.json()["id_number"], "11010519491231002X");
    let reads_after = sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'read'")
        .fetch_one(app.db.reader())
        .await
        .map(|r| db::RowExt::try_get::<i64, _>(&r, "n").unwrap_or(0))
        .unwrap_or(0);
    assert_eq!(reads_after, reads_before + 1, "the full read is in the audit chain");

    let chen = app.api("chen.jing").await;
    assert_eq!(chen.get(&path).await.json()["id_number"], "110105********002X");
    let page = app.signed_in("chen.jing").await.get(&format!("/parties/{id}")).await;
    assert!(page.body.contains("110105********002X") && !page.body.contains("11010519491231002X"));
    // The audit trail itself never holds the number in full.
    let changes: Vec<String> = sqlx::query("SELECT changes FROM audit_log")
        .fetch_all(app.db.reader())
        .await
        .expect("rows")
        .iter()
        .map(|r| db::RowExt::try_get(r, "changes").unwrap_or_default())
        .collect();
    assert!(changes.iter().all(|c| !c.contains("11010519491231002X")));

    // Saving the masked number back through the form keeps the stored one.
    let patched = hr.patch(&path, &json!({"version": 1, "id_number": "110105********002X", "notes": "入职"})).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(hr.get(&path).await.json()["id_number"], "11010519491231002X");
}

#[tokio::test]
async fn in_the_browser_a_bad_credit_code_is_shown_next_to_the_field_then_a_good_one_saves() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin").await;
    // The administrator works in Chinese; switch to English for this scenario.
    assert!(browser.get("/").await.body.contains("lang=\"zh-CN\""));
    let switched = browser.post_form("/", "/lang", &[("lang", "en"), ("next", "/parties")]).await;
    assert_eq!(switched.header("location").as_deref(), Some("/parties"));
    assert!(browser.get("/parties").await.body.contains("<html lang=\"en\">"));
    let form = [
        ("kind", "organization"),
        ("name", "上海瑞丰贸易有限公司"),
        ("credit_code", "911100001000006290"),
        ("roles", "customer"),
        ("roles", "supplier"),
        ("tags", "华东, 新客户"),
        ("contact_kind", "mobile"),
        ("contact_value", "139 1234 5678"),
        ("contact_label", "张经理"),
        ("addr_kind", "office"),
        ("addr_province", "上海市"),
        ("addr_city", "上海"),
        ("addr_district", "浦东新区"),
        ("addr_street", "世纪大道100号"),
        ("addr_postcode", "200120"),
        ("notes", ""),
    ];
    let refused = browser.post_form("/parties/new", "/parties", &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("The credit code&#39;s check character is wrong; it should be R")
            || refused.body.contains("it should be R"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"上海瑞丰贸易有限公司\""), "what was typed is kept");
    assert_eq!(app.count("parties").await, 0);

    let mut good = form.to_vec();
    good[2] = ("credit_code", "91110000100000629R");
    let saved = browser.post_form("/parties/new", "/parties", &good).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let location = saved.header("location").expect("redirect to the new party");
    let detail = browser.get(&location).await;
    assert!(
        detail.body.contains("91110000100000629R")
            && detail.body.contains("13912345678")
            && detail.body.contains("世纪大道100号")
    );
    assert!(detail.body.contains("Created"), "the flash message is shown once");
    assert!(!browser.get(&location).await.body.contains("class=\"flash\""));

    // Edit: change the name, keep the rest; the history lists the change.
    let edit_path = format!("{location}/edit");
    let edit_page = browser.get(&edit_path).await;
    assert!(edit_page.body.contains("name=\"version\" value=\"1\""));
    let mut edited = good.clone();
    edited[1] = ("name", "上海瑞丰国际贸易有限公司");
    edited.push(("version", "1"));
    let updated = browser.post_form(&edit_path, &location, &edited).await;
    assert_eq!(updated.status, StatusCode::SEE_OTHER, "{}", updated.body);
    let detail = browser.get(&location).await;
    assert!(detail.body.contains("上海瑞丰国际贸易有限公司"));
    assert!(detail.body.contains("<del>上海瑞丰贸易有限公司</del>"), "history shows before and after");

    // Saving the old version again is refused with a message, not lost silently.
    let stale = browser.post_form(&edit_path, &location, &edited).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("Someone else changed this record"));
}

#[tokio::test]
async fn the_list_page_searches_filters_pages_and_exports_the_current_filter() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    for i in 0..60 {
        let roles = if i % 3 == 0 { json!(["supplier"]) } else { json!(["customer"]) };
        api.post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": format!("测试{i:03}有限公司"), "roles": roles}),
        )
        .await;
    }
    let browser = app.signed_in("admin").await;
    let first = browser.get("/parties?role=supplier").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches(">PTY/2026/").count(), 20);
    let page = browser.get("/parties").await;
    assert_eq!(page.body.matches(">PTY/2026/").count(), 50, "fifty rows a page");
    assert!(page.body.contains("rel=\"next\""));
    let csv = browser.get("/parties/export.csv?role=supplier&q=%E6%B5%8B%E8%AF%95").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body.lines().count(), 21, "a header and every supplier, not just one page");
    assert!(csv.body.contains("测试000有限公司"));
    let bad = browser.get("/parties?colour=red").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("未知的筛选字段：colour"));
}

#[tokio::test]
async fn a_role_without_grants_cannot_reach_the_pages_and_the_menu_hides_them() {
    let app = spawn_app().await;
    app.role("nothing", &[]).await;
    app.role("reader", &[("party.party.read", Scope::Company)]).await;
    app.user("zhang.san", &["nothing"], "", "").await;
    app.user("li.si", &["reader"], "", "").await;
    let nobody = app.signed_in("zhang.san").await;
    assert_eq!(nobody.get("/parties").await.status, StatusCode::FORBIDDEN);
    assert!(!nobody.get("/").await.body.contains("href=\"/parties\""));
    let reader = app.signed_in("li.si").await;
    let list = reader.get("/parties").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("/parties/new"), "no create button without the grant");
    assert_eq!(reader.get("/parties/new").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_department_grant_reaches_the_whole_department_across_teams() {
    let app = spawn_app().await;
    app.role("dept_reader", &[("party.party.read", Scope::Department), ("party.party.create", Scope::Own)]).await;
    app.user("wang.fang", &["dept_reader"], "east", "sales").await;
    app.user("li.qiang", &["dept_reader"], "west", "sales").await;
    app.user("chen.jing", &["dept_reader"], "", "finance").await;
    for login in ["wang.fang", "li.qiang", "chen.jing"] {
        let api = app.api(login).await;
        let created = api.post("/api/v1/parties", &json!({"kind": "person", "name": format!("{login}的客户")})).await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let wang = app.api("wang.fang").await;
    let names: Vec<String> = wang.get("/api/v1/parties").await.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, vec!["li.qiang的客户", "wang.fang的客户"], "the sales department, not finance");
}

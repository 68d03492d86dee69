//! The CRM at a company selling notebooks: a lead from the website is assigned by the rules,
//! converted into a customer and an opportunity, quoted, won when its order is confirmed, and
//! its whole story — through delivery, invoice and payment — reads on one timeline; the public
//! form turns robots and floods away; salespeople see only their own pipeline; the forecast
//! equals a direct count.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use testkit::{spawn_app, ApiClient, TestApp};

struct Shop {
    app: TestApp,
    api: ApiClient,
    notebook: i64,
    /// Where the website posts its enquiries.
    form: String,
}

/// Books for 2026, the Shanghai warehouse with 50 notebooks at 4,550.00, and the east sales
/// team (王芳, 李强) that web leads go to.
async fn shop() -> Shop {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    assert_eq!(api.post("/api/v1/finance/setup", &json!({"year": 2026})).await.status, StatusCode::CREATED);
    api.post("/api/v1/stock/warehouses", &json!({"code": "SH", "name": "上海总仓"})).await;
    let product = json!({"code": "NB-14", "name": "14 英寸笔记本电脑", "kind": "goods", "uom": "pc", "vat_rate": "13", "sale_price": "6500.00"});
    let notebook = api.post("/api/v1/catalog/products", &product).await.json()["id"].as_i64().expect("product");
    let receipt = json!({"product_id": notebook, "quantity": "50", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "4550.00", "date": "2026-03-02"});
    assert_eq!(api.post("/api/v1/stock/moves", &receipt).await.status, StatusCode::CREATED);
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    app.user("li.qiang", &["sales_rep"], "east", "sales").await;
    app.user("zhao.min", &["sales_manager"], "east", "sales").await;
    app.user("sun.hao", &["sales_rep"], "west", "sales").await;
    let rule = api.post("/api/v1/crm/assignment-rules", &json!({"source": "web", "team": "east"})).await;
    assert_eq!(rule.status, StatusCode::CREATED, "{}", rule.body);
    let form = api.post("/api/v1/crm/web-form", &json!({})).await;
    assert_eq!(form.status, StatusCode::CREATED, "{}", form.body);
    let form = form.json()["submit"].as_str().expect("the form's address").to_string();
    Shop { app, api, notebook, form }
}

/// Someone fills in the company's web form (JSON), from `address` (as the proxy in front
/// reports it).
/// A company the shop sells to; returns its id.
async fn customer(api: &ApiClient, name: &str) -> i64 {
    let body = json!({"kind": "organization", "name": name, "roles": ["customer"], "confirm_duplicates": true});
    let made = api.post("/api/v1/parties", &body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()["id"].as_i64().expect("id")
}

async fn web_lead(app: &TestApp, form: &str, body: Value, address: &str) -> testkit::TestResponse {
    app.anonymous_api()
        .raw_with(form, "application/json", &body.to_string(), &[("x-forwarded-for", address.to_string())])
        .await
}

#[tokio::test]
async fn a_visitor_who_leaves_out_a_contact_finds_the_form_as_typed_and_then_is_thanked() {
    let Shop { app, form, .. } = shop().await;
    let visitor = app.anonymous_api();
    let from = [("x-forwarded-for", "203.0.113.50".to_string())];
    let kind = "application/x-www-form-urlencoded";
    // Name and message but neither mobile nor e-mail, and the e-mail mistyped on the second try.
    let body = "name=%E9%99%88%E9%9D%99&organization=&mobile=&email=&message=%E9%9C%80%E8%A6%81%E6%8A%A5%E4%BB%B7";
    let refused = visitor.raw_with(&form, kind, body, &from).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(
        refused.body.contains("value=\"陈静\"") && refused.body.contains(">需要报价</textarea>"),
        "{}",
        refused.body
    );
    let mobile = refused.body.split("id=\"f-mobile\"").nth(1).expect("the mobile field");
    assert!(mobile[..mobile.find("<label").expect("next field")].contains("role=\"alert\""), "beside the mobile");
    assert_eq!(app.count("crm_leads").await, 0, "nothing recorded");
    let mistyped = visitor.raw_with(&form, kind, "name=Chen&email=chen%40", &from).await;
    let email = mistyped.body.split("id=\"f-email\"").nth(1).expect("the e-mail field");
    assert!(email[..email.find("<label").expect("next field")].contains("value=\"chen@\""), "{email}");
    assert!(email[..email.find("<label").expect("next field")].contains("role=\"alert\""), "{email}");
    // With a mobile number the lead is taken and the visitor is thanked on the page.
    let taken = visitor.raw_with(&form, kind, "name=Chen&mobile=13800138000", &from).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
    assert!(taken.body.contains("id=\"received\""), "{}", taken.body);
    assert_eq!(app.count("crm_leads").await, 1);
}

#[tokio::test]
async fn refused_lead_customer_and_target_forms_come_back_as_typed() {
    let Shop { app, api, .. } = shop().await;
    let lead = api
        .post(
            "/api/v1/crm/leads",
            &json!({"name": "陈静", "organization": "厦门华信科技有限公司", "mobile": "13800138000"}),
        )
        .await;
    assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.body);
    let lead = lead.json()["id"].as_i64().unwrap();
    let browser = app.signed_in("admin").await;
    let beside = |body: &str, marker: &str| -> String {
        let after = body.split(marker).nth(1).unwrap_or_else(|| panic!("no {marker}: {body}"));
        after[..after.find("</div>").unwrap_or(after.len())].to_string()
    };

    // Converting with the revenue in words: the title and revenue as typed, the reason beside it.
    let convert = browser
        .post_form(
            &format!("/crm/leads/{lead}"),
            &format!("/crm/leads/{lead}/convert"),
            &[("title", "华信 10 台笔记本"), ("expected_revenue", "六万五"), ("close_date", "2026-04-30")],
        )
        .await;
    assert_eq!(convert.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", convert.body);
    assert!(beside(&convert.body, "id=\"c-title\"").contains("value=\"华信 10 台笔记本\""));
    let revenue = beside(&convert.body, "id=\"c-revenue\"");
    assert!(revenue.contains("value=\"六万五\"") && revenue.contains("role=\"alert\""), "{revenue}");
    assert!(beside(&convert.body, "id=\"c-close\"").contains("value=\"2026-04-30\""));

    // A customer's activity with a due date that is no date: subject and notes kept.
    let customer = api
        .post("/api/v1/parties", &json!({"kind": "organization", "name": "温州瓯海五金制品厂", "roles": ["customer"]}))
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let activity = browser
        .post_form(
            &format!("/crm/customers/{customer}"),
            &format!("/crm/customers/{customer}/activity"),
            &[("kind", "meeting"), ("subject", "上门拜访"), ("due_date", "2026-02-30"), ("body", "带样品")],
        )
        .await;
    assert_eq!(activity.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", activity.body);
    assert!(beside(&activity.body, "id=\"a-subject\"").contains("value=\"上门拜访\""));
    assert!(beside(&activity.body, "id=\"a-due\"").contains("role=\"alert\""));
    assert!(
        activity.body.contains(">带样品</textarea>") && activity.body.contains("<option value=\"meeting\" selected>")
    );

    // A sales target in words: the month and amount kept.
    let target = browser
        .post_form(
            "/crm/performance",
            "/crm/performance",
            &[("user_id", "1"), ("month", "2026-04"), ("amount", "八万")],
        )
        .await;
    assert_eq!(target.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", target.body);
    let amount = beside(&target.body, "id=\"t-amount\"");
    assert!(amount.contains("value=\"八万\"") && amount.contains("role=\"alert\""), "{amount}");
    assert!(beside(&target.body, "id=\"t-month\"").contains("value=\"2026-04\""));

    // A holiday on 30 February: the name kept, the day shown as typed with the reason.
    let holiday = browser
        .post_form(
            "/crm/settings",
            "/crm/settings",
            &[("action", "holiday"), ("day", "2026-02-30"), ("name", "元宵节")],
        )
        .await;
    assert_eq!(holiday.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", holiday.body);
    let day = beside(&holiday.body, "id=\"h-day\"");
    assert!(
        day.contains("value=\"2026-02-30\"") && day.contains("role=\"alert\"") && !day.contains("type=\"date\""),
        "{day}"
    );
    assert!(beside(&holiday.body, "id=\"h-name\"").contains("value=\"元宵节\""));
}

fn kinds(timeline: &Value) -> Vec<String> {
    let mut kinds: Vec<String> =
        timeline["items"].as_array().expect("items").iter().map(|i| i["kind"].as_str().unwrap().to_string()).collect();
    kinds.reverse();
    kinds
}

#[tokio::test]
async fn a_web_lead_becomes_a_customer_an_order_an_invoice_and_a_payment_on_one_timeline() {
    let Shop { app, api, notebook, form } = shop().await;

    // The spring campaign runs in WeChat through March with a budget of 5,000.00.
    let campaign = json!({"code": "spring-2026", "name": "春季新品推广", "channel": "wechat", "budget": "5000.00",
        "start_date": "2026-03-01", "end_date": "2026-03-31"});
    let campaign = api.post("/api/v1/crm/campaigns", &campaign).await;
    assert_eq!(campaign.status, StatusCode::CREATED, "{}", campaign.body);
    let campaign = campaign.json()["id"].as_i64().unwrap();

    // Two enquiries from the website: the east team's members take turns.
    let first = json!({"name": "陈静", "organization": "厦门华信科技有限公司", "mobile": "138 0013 8000",
        "message": "需要 10 台笔记本电脑", "campaign": "spring-2026"});
    assert_eq!(web_lead(&app, &form, first, "203.0.113.7").await.status, StatusCode::ACCEPTED);
    let second = json!({"name": "刘洋", "email": "liu.yang@example.cn"});
    assert_eq!(web_lead(&app, &form, second, "203.0.113.8").await.status, StatusCode::ACCEPTED);
    let leads = api.get("/api/v1/crm/leads").await.json();
    let owners: Vec<&str> =
        leads["items"].as_array().unwrap().iter().rev().map(|l| l["owner_name"].as_str().unwrap()).collect();
    assert_eq!(owners, ["wang.fang", "li.qiang"]);
    let lead = &leads["items"][1];
    assert_eq!(
        (lead["source"].as_str(), lead["campaign"].as_str(), lead["mobile"].as_str()),
        (Some("web"), Some("spring-2026"), Some("13800138000"))
    );
    let lead_id = lead["id"].as_i64().unwrap();

    // 王芳 qualifies it and converts it: a customer and an opportunity of 65,000.00, hers.
    let wang = app.api("wang.fang").await;
    assert_eq!(wang.post(&format!("/api/v1/crm/leads/{lead_id}/qualify"), &json!({})).await.status, StatusCode::OK);
    let converted = wang
        .post(
            &format!("/api/v1/crm/leads/{lead_id}/convert"),
            &json!({"expected_revenue": "65000.00", "close_date": "2026-04-30"}),
        )
        .await;
    assert_eq!(converted.status, StatusCode::CREATED, "{}", converted.body);
    let (customer, opportunity) =
        (converted.json()["party_id"].as_i64().unwrap(), converted.json()["opportunity_id"].as_i64().unwrap());
    let party = api.get(&format!("/api/v1/parties/{customer}")).await.json();
    assert_eq!((party["name"].as_str(), party["roles"][0].as_str()), (Some("厦门华信科技有限公司"), Some("customer")));

    // A call, then a quotation of 10 notebooks at the list price from the opportunity.
    let call = json!({"kind": "call", "subject": "确认配置与交期", "opportunity_id": opportunity});
    assert_eq!(wang.post("/api/v1/crm/activities", &call).await.status, StatusCode::CREATED);
    // The sale is the sales department's: the quotation names it, as the opportunity page's
    // form offers it, and the order keeps it for its revenue and cost of sales.
    let listed = api.post("/api/v1/finance/dimensions/cost_center", &json!({"code": "SAL", "name": "销售部"})).await;
    assert_eq!(listed.status, StatusCode::CREATED, "{}", listed.body);
    let browser = app.signed_in("wang.fang").await;
    let page = browser.get(&format!("/crm/opportunities/{opportunity}")).await;
    assert!(
        page.body.contains("name=\"cost_center\" list=\"cost-centers\"")
            && page.body.contains("<option value=\"SAL\">销售部</option>")
    );
    // Typed on the page with the centre misspelt and the quantity in words on the second
    // row: refused, the form as typed, each message beside its field or row.
    let notebook_id = notebook.to_string();
    let refused = browser
        .post_form(
            &format!("/crm/opportunities/{opportunity}"),
            &format!("/crm/opportunities/{opportunity}/quote"),
            &[
                ("warehouse", "SH"),
                ("date", "2026-03-16"),
                ("cost_center", "SALES"),
                ("product_id", ""),
                ("quantity", ""),
                ("unit", ""),
                ("unit_price", ""),
                ("product_id", &notebook_id),
                ("quantity", "十"),
                ("unit", ""),
                ("unit_price", "6500.00"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let centre = refused.body.split("id=\"q-cost-center\"").nth(1).expect("centre field");
    let centre = &centre[..centre.find("</div>").expect("field end")];
    assert!(centre.contains("value=\"SALES\"") && centre.contains("role=\"alert\""), "{centre}");
    let first_row = refused.body.split("<tbody>").nth(1).expect("quotation rows");
    let first_row = &first_row[..first_row.find("</tr>").expect("row end")];
    assert!(first_row.contains(&format!("<option value=\"{notebook}\" selected>")), "the line as typed: {first_row}");
    assert!(first_row.contains("value=\"十\"") && first_row.contains("role=\"alert\""), "{first_row}");
    assert!(first_row.contains("value=\"6500.00\""), "{first_row}");
    assert!(!refused.body.contains("type=\"checkbox\" name=\"tax_inclusive\" value=\"1\" checked"), "unticked as sent");
    assert_eq!(app.count("sal_orders").await, 0, "nothing written");
    let quote = json!({"customer_id": 0, "warehouse": "SH", "date": "2026-03-16", "tax_inclusive": true,
        "cost_center": "SAL", "lines": [{"product_id": notebook, "quantity": "10"}]});
    let quoted = wang.post(&format!("/api/v1/crm/opportunities/{opportunity}/quote"), &quote).await;
    assert_eq!(quoted.status, StatusCode::CREATED, "{}", quoted.body);
    let order = quoted.json()["order_id"].as_i64().unwrap();
    assert_eq!(api.get(&format!("/api/v1/sales/orders/{order}")).await.json()["cost_center"], "SAL");

    // Confirming the order wins the opportunity (through the sales event).
    let confirmed = wang.post(&format!("/api/v1/sales/orders/{order}/confirm"), &json!({})).await;
    assert_eq!(confirmed.json()["status"], "confirmed", "{}", confirmed.body);
    app.dispatch_events().await;
    let won = api.get(&format!("/api/v1/crm/opportunities/{opportunity}")).await.json();
    assert_eq!(won["status"], "won", "{won}");

    // The warehouse delivers, accounting invoices 65,000.00 and the customer pays.
    api.post(&format!("/api/v1/sales/orders/{order}/deliver"), &json!({"date": "2026-03-17"})).await;
    let invoiced = api.post(&format!("/api/v1/sales/orders/{order}/invoice"), &json!({"date": "2026-03-17"})).await;
    let invoice = invoiced.json()["invoice_id"].as_i64().unwrap();
    // Everything was delivered: the customer is sent a survey about the order.
    app.dispatch_events().await;
    assert_eq!(app.count(&format!("crm_surveys WHERE order_id = {order} AND party_id = {customer}")).await, 1);
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-25", "amount": "65000.00",
                "allocations": [{"invoice_id": invoice, "amount": "65000.00"}]}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);

    // The customer's timeline tells the story in order, with the figures beside it.
    let timeline = api.get(&format!("/api/v1/crm/customers/{customer}/timeline")).await.json();
    assert_eq!(
        kinds(&timeline),
        [
            "lead",
            "activity.call",
            "opportunity",
            "quotation",
            "order",
            "opportunity.won",
            "delivery",
            "invoice",
            "receipt"
        ]
    );
    assert_eq!(
        (
            timeline["lifetime_value"].as_str(),
            timeline["open_receivables"].as_str(),
            timeline["last_purchase"].as_str()
        ),
        (Some("65000.00"), Some("0.00"), Some("2026-03-16"))
    );
    assert_eq!(timeline["salesperson"], "wang.fang");
    // The campaign brought one lead, one new customer and its revenue: 65,000.00 with VAT is
    // 57,522.12 net, against a budget of 5,000.00 — 5,000.00 a lead, a return of 1,050.44 %.
    let effect = api.get(&format!("/api/v1/crm/campaigns/{campaign}/effect")).await.json();
    assert_eq!(
        (
            effect["leads"].as_i64(),
            effect["new_customers"].as_i64(),
            effect["conversion_rate"].as_str(),
            effect["revenue"].as_str()
        ),
        (Some(1), Some(1), Some("100.00"), Some("57522.12")),
        "{effect}"
    );
    assert_eq!((effect["cost_per_lead"].as_str(), effect["roi"].as_str()), (Some("5000.00"), Some("1050.44")));

    // 王芳's March: a target of 50,000.00, 57,522.12 sold (115.04 %), one order, one deal won
    // of one closed, the same day it was opened. Her manager sees her row too; 李强 only his own.
    let wang_id: i64 = sqlx::query("SELECT id FROM users WHERE login = 'wang.fang'")
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let target =
        api.post("/api/v1/crm/targets", &json!({"user_id": wang_id, "month": "2026-03", "amount": "50000.00"})).await;
    assert_eq!(target.status, StatusCode::NO_CONTENT, "{}", target.body);
    let march = "/api/v1/crm/reports/sales-performance?from=2026-03&to=2026-03";
    let mine = wang.get(march).await.json();
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{mine}");
    let row = &mine["items"][0];
    assert_eq!(
        (
            row["rank"].as_i64(),
            row["revenue"].as_str(),
            row["attainment"].as_str(),
            row["orders"].as_i64(),
            row["win_rate"].as_str(),
            row["cycle_days"].as_i64()
        ),
        (Some(1), Some("57522.12"), Some("115.04"), Some(1), Some("100.00"), Some(0))
    );
    let team = app.api("zhao.min").await.get(march).await.json();
    assert_eq!(team["items"][0]["name"], "wang.fang", "{team}");
    assert!(app.api("li.qiang").await.get(march).await.json()["items"].as_array().unwrap().is_empty());

    // Paged: three at a time, the cursor continues where the page ended.
    let page = api.get(&format!("/api/v1/crm/customers/{customer}/timeline?limit=3")).await.json();
    let next = page["next"].as_str().expect("a next page").to_string();
    let rest = api.get(&format!("/api/v1/crm/customers/{customer}/timeline?limit=50&after={next}")).await.json();
    assert_eq!(page["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(), 9);
    assert!(rest["next"].is_null());

    // The page shows it too. 王芳 sees her order but not the invoices (that is accounting's
    // permission), so neither the invoice nor the lifetime value is on her page; 孙浩 of the
    // west team cannot open the customer at all.
    let shown = app.signed_in("wang.fang").await.get(&format!("/crm/customers/{customer}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("SO/2026/00001") && !shown.body.contains("INV/2026/00001"), "{}", shown.body);
    assert!(!shown.body.contains("lifetime-value"));
    let full = app.signed_in("admin").await.get(&format!("/crm/customers/{customer}")).await;
    assert!(full.body.contains("INV/2026/00001") && full.body.contains("65,000.00"), "{}", full.body);
    let sun = app.api("sun.hao").await;
    assert_eq!(sun.get(&format!("/api/v1/crm/customers/{customer}/timeline")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_public_form_turns_away_robots_floods_and_anything_but_a_lead() {
    let Shop { app, api, form, .. } = shop().await;
    let good = json!({"name": "陈静", "mobile": "13800138000"});

    // A robot fills the hidden field, or sends links: told "received", nothing recorded.
    let robot = json!({"name": "Best offer", "email": "x@example.com", "website": "http://spam.example"});
    assert_eq!(web_lead(&app, &form, robot, "198.51.100.1").await.status, StatusCode::ACCEPTED);
    let links = json!({"name": "x", "email": "x@example.com", "message": "https://a.example https://b.example https://c.example"});
    assert_eq!(web_lead(&app, &form, links, "198.51.100.1").await.status, StatusCode::ACCEPTED);
    assert_eq!(app.count("crm_leads").await, 0);

    // Fields it does not take (an owner, a status) are refused, and so is a lead nobody can reach.
    let hostile = json!({"name": "陈静", "mobile": "13800138000", "owner_id": 1, "status": "converted"});
    let refused = web_lead(&app, &form, hostile, "198.51.100.2").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let unreachable = web_lead(&app, &form, json!({"name": "陈静"}), "198.51.100.2").await;
    assert_eq!(unreachable.json()["errors"][0]["field"], "mobile", "{}", unreachable.body);
    let injected = json!({"name": "'; DROP TABLE crm_leads; --", "email": "not-an-email"});
    assert_eq!(web_lead(&app, &form, injected, "198.51.100.2").await.json()["errors"][0]["field"], "email");
    assert_eq!(app.count("crm_leads").await, 0);

    // A wrong address is not found, like any unknown page.
    let nowhere =
        app.anonymous_api().raw_with("/public/crm/forms/0000/leads", "application/json", &good.to_string(), &[]).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    // A client cannot dodge the limit by writing its own X-Forwarded-For in front: the hop the
    // proxy appended (the last) is the one counted.
    for i in 0..10 {
        let spoofed = [("x-forwarded-for", format!("10.0.0.{i}, 198.51.100.5"))];
        let sent = app.anonymous_api().raw_with(&form, "application/json", &good.to_string(), &spoofed).await;
        assert_eq!(sent.status, StatusCode::ACCEPTED);
    }
    let spoofed = [("x-forwarded-for", "10.0.0.99, 198.51.100.5".to_string())];
    let sent = app.anonymous_api().raw_with(&form, "application/json", &good.to_string(), &spoofed).await;
    assert_eq!(sent.status, StatusCode::TOO_MANY_REQUESTS);

    // Ten an hour from one address; the eleventh is throttled, another address is not.
    for _ in 0..10 {
        assert_eq!(web_lead(&app, &form, good.clone(), "198.51.100.3").await.status, StatusCode::ACCEPTED);
    }
    let flood = web_lead(&app, &form, good.clone(), "198.51.100.3").await;
    assert_eq!(flood.status, StatusCode::TOO_MANY_REQUESTS, "{}", flood.body);
    assert_eq!(flood.json()["type"], "/problems/throttled");
    assert_eq!(web_lead(&app, &form, good.clone(), "198.51.100.4").await.status, StatusCode::ACCEPTED);

    // A plain HTML form posts too (form-encoded), and the form page itself needs no session.
    let posted = app
        .anonymous_api()
        .raw_with(
            &form,
            "application/x-www-form-urlencoded",
            "name=%E5%88%98%E6%B4%8B&email=liu%40example.cn&website=",
            &[("x-forwarded-for", "198.51.100.9".into())],
        )
        .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert!(posted.body.contains("id=\"received\""), "the visitor is thanked on the page: {}", posted.body);
    let page = app.anonymous_api().get(form.trim_end_matches("/leads")).await;
    assert!(page.status == StatusCode::OK && page.body.contains("name=\"website\""), "{}", page.body);
    // Every accepted submission is one new web lead; nothing else was written.
    assert_eq!(app.count("crm_leads WHERE source = 'web' AND status = 'new'").await, 22);
    assert_eq!(api.get("/api/v1/crm/leads?status=new").await.json()["items"].as_array().map(Vec::len), Some(22));

    // Turning the form on again gives it a new address; the old one is gone.
    let renewed = api.post("/api/v1/crm/web-form", &json!({})).await.json()["submit"].as_str().unwrap().to_string();
    assert_ne!(renewed, form);
    assert_eq!(web_lead(&app, &form, good.clone(), "198.51.100.7").await.status, StatusCode::NOT_FOUND);
    assert_eq!(web_lead(&app, &renewed, good, "198.51.100.7").await.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_rep_sees_only_their_own_leads_and_opportunities_and_the_manager_the_teams() {
    let Shop { app, .. } = shop().await;
    let (wang, li, zhao, sun) =
        (app.api("wang.fang").await, app.api("li.qiang").await, app.api("zhao.min").await, app.api("sun.hao").await);
    let lead =
        wang.post("/api/v1/crm/leads", &json!({"name": "陈静", "mobile": "13800138000", "source": "referral"})).await;
    assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.body);
    assert_eq!(lead.json()["owner_name"], "wang.fang", "an own-scope rep keeps the lead she enters");
    let id = lead.json()["id"].as_i64().unwrap();
    let count = |v: Value| v["items"].as_array().map(Vec::len).unwrap_or(0);

    assert_eq!(count(wang.get("/api/v1/crm/leads").await.json()), 1);
    assert_eq!(count(li.get("/api/v1/crm/leads").await.json()), 0);
    assert_eq!(count(zhao.get("/api/v1/crm/leads").await.json()), 1);
    assert_eq!(count(sun.get("/api/v1/crm/leads").await.json()), 0);
    assert_eq!(li.get(&format!("/api/v1/crm/leads/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(li.post(&format!("/api/v1/crm/leads/{id}/qualify"), &json!({})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        sun.post(&format!("/api/v1/crm/leads/{id}/lose"), &json!({"reason": "x"})).await.status,
        StatusCode::NOT_FOUND
    );

    // The manager converts it for her; the opportunity stays hers.
    let converted = zhao
        .post(
            &format!("/api/v1/crm/leads/{id}/convert"),
            &json!({"expected_revenue": "10000.00", "close_date": "2026-05-31"}),
        )
        .await;
    assert_eq!(converted.status, StatusCode::CREATED, "{}", converted.body);
    let opportunity = converted.json()["opportunity_id"].as_i64().unwrap();
    let board =
        |v: Value| v["stages"].as_array().unwrap().iter().map(|s| s["items"].as_array().unwrap().len()).sum::<usize>();
    assert_eq!(board(wang.get("/api/v1/crm/opportunities").await.json()), 1);
    assert_eq!(board(li.get("/api/v1/crm/opportunities").await.json()), 0);
    assert_eq!(board(zhao.get("/api/v1/crm/opportunities").await.json()), 1);
    assert_eq!(board(sun.get("/api/v1/crm/opportunities").await.json()), 0);
    let stages = wang.get("/api/v1/crm/stages").await.json();
    let proposal = stages["items"][2]["id"].as_i64().unwrap();
    let moved =
        li.post(&format!("/api/v1/crm/opportunities/{opportunity}/stage"), &json!({"stage_id": proposal})).await;
    assert_eq!(moved.status, StatusCode::NOT_FOUND);
    assert_eq!(
        wang.post(&format!("/api/v1/crm/opportunities/{opportunity}/stage"), &json!({"stage_id": proposal}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(count(li.get("/api/v1/crm/forecast").await.json()), 0);
    assert_eq!(count(zhao.get("/api/v1/crm/forecast").await.json()), 1);

    // 李强 cannot open a deal with 王芳's customer (to him it does not exist), nor make a deal
    // too large to weigh.
    let customer = converted.json()["party_id"].as_i64().unwrap();
    let deal = |party: i64, revenue: &str| json!({"title": "扩容", "party_id": party, "expected_revenue": revenue, "close_date": "2026-06-30"});
    let refused = li.post("/api/v1/crm/opportunities", &deal(customer, "1000.00")).await;
    assert_eq!(refused.json()["errors"][0]["field"], "party_id", "{}", refused.body);
    let refused = wang.post("/api/v1/crm/opportunities", &deal(customer, "10000000000000.00")).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.crm.revenue_too_large", "{}", refused.body);

    // A lead the manager enters that no rule assigns stays hers, so she can find it again.
    let manual = zhao.post("/api/v1/crm/leads", &json!({"name": "周杰", "email": "zhou.jie@example.cn"})).await;
    assert_eq!(
        (manual.status, manual.json()["owner_name"].as_str()),
        (StatusCode::CREATED, Some("zhao.min")),
        "{}",
        manual.body
    );
}

#[tokio::test]
async fn the_weighted_forecast_equals_a_direct_count_and_the_board_moves_without_javascript() {
    let Shop { app, api, .. } = shop().await;
    let customer = customer(&api, "福州金桥电子有限公司").await;
    let stages = api.get("/api/v1/crm/stages").await.json();
    let stage = |i: usize| stages["items"][i]["id"].as_i64().unwrap();
    // 120,000.00 at 60 % (72,000.00), 33,333.33 at 30 % (10,000.00, half up), 8,000.00 at 10 %.
    for (title, revenue, close, s) in [
        ("服务器扩容", "120000.00", "2026-04-20", stage(2)),
        ("办公终端更新", "33333.33", "2026-04-28", stage(1)),
        ("软件许可", "8000.00", "2026-05-15", stage(0)),
    ] {
        let made = api
            .post("/api/v1/crm/opportunities", &json!({"title": title, "party_id": customer, "expected_revenue": revenue, "close_date": close, "stage_id": s}))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    }
    let forecast = api.get("/api/v1/crm/forecast").await.json();
    let april = forecast["items"].as_array().unwrap().iter().find(|r| r["month"] == "2026-04").expect("April").clone();
    assert_eq!(
        (april["count"].as_i64(), april["expected"].as_str(), april["weighted"].as_str()),
        (Some(2), Some("153333.33"), Some("82000.00"))
    );
    let direct: i64 = sqlx::query(
        "SELECT CAST(SUM((o.expected_revenue * s.probability_bp + 5000) / 10000) AS BIGINT) AS w FROM crm_opportunities o \
         JOIN crm_stages s ON s.id = o.stage_id WHERE o.status = 'open'",
    )
    .fetch_one(app.db.reader())
    .await
    .unwrap()
    .try_get("w")
    .unwrap();
    let total: i64 = forecast["items"]
        .as_array()
        .unwrap()
        .iter()
        // Amounts are decimal strings with two places: fen without the point.
        .map(|r| r["weighted"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, direct);
    assert_eq!(direct, 8_280_000);

    // On the board page every card has a move form; posting it moves the card. A card moved
    // by someone else meanwhile (an old version) is refused.
    let browser = app.signed_in("admin").await;
    let board = browser.get("/crm/pipeline").await;
    assert!(board.body.contains("kanban-move"), "{}", board.body);
    let opportunity: i64 = sqlx::query("SELECT id FROM crm_opportunities WHERE title = '软件许可'")
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .try_get("id")
        .unwrap();
    let (stage_field, version) = (stage(3).to_string(), "1".to_string());
    let moved = browser
        .post_form(
            "/crm/pipeline",
            &format!("/crm/opportunities/{opportunity}/stage"),
            &[("stage_id", &stage_field), ("version", &version), ("back", "pipeline")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let stale = api
        .post(&format!("/api/v1/crm/opportunities/{opportunity}/stage"), &json!({"stage_id": stage(1), "version": 1}))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let lost = api.post(&format!("/api/v1/crm/opportunities/{opportunity}/lost"), &json!({"reason": "价格"})).await;
    assert_eq!((lost.json()["status"].as_str(), lost.json()["lost_reason"].as_str()), (Some("lost"), Some("价格")));
}

#[tokio::test]
async fn a_csv_of_leads_is_imported_whole_or_not_at_all_and_a_known_customer_is_flagged() {
    let Shop { app, api, .. } = shop().await;
    api.post(
        "/api/v1/parties",
        &json!({"kind": "organization", "name": "厦门华信科技有限公司", "roles": ["customer"], "contacts": [{"kind": "mobile", "value": "13800138000"}], "confirm_duplicates": true}),
    )
    .await;
    let bad = "name,organization,mobile,email,region\n陈静,厦门华信,13800138000,,华东\n,无名,13900139000,,华南\n";
    let refused = api.post("/api/v1/crm/leads/import", &json!({"csv": bad})).await;
    assert_eq!(refused.json()["errors"][0]["field"], "rows[2].name", "{}", refused.body);
    assert_eq!(app.count("crm_leads").await, 0, "nothing of a refused file is kept");
    // Pasted on the page, the file comes back beside the reason, to correct.
    let page = app.signed_in("admin").await.post_form("/crm/leads", "/crm/leads/import", &[("csv", bad)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains(",无名,13900139000,,华南"), "{}", page.body);
    let good =
        "name,organization,mobile,email,region\n陈静,厦门华信,13800138000,,华东\n刘洋,,,liu.yang@example.cn,华南\n";
    let imported = api.post("/api/v1/crm/leads/import", &json!({"csv": good})).await;
    assert_eq!(imported.json()["imported"], 2, "{}", imported.body);
    let leads = api.get("/api/v1/crm/leads").await.json();
    let chen = leads["items"].as_array().unwrap().iter().find(|l| l["name"] == "陈静").unwrap().clone();
    assert_eq!(
        (chen["source"].as_str(), chen["duplicate_name"].as_str()),
        (Some("import"), Some("厦门华信科技有限公司"))
    );

    // Converting onto the known customer makes no second party.
    let parties = app.count("parties").await;
    let id = chen["id"].as_i64().unwrap();
    let converted = api
        .post(
            &format!("/api/v1/crm/leads/{id}/convert"),
            &json!({"party_id": chen["duplicate_of"], "expected_revenue": "5000.00", "close_date": "2026-04-01"}),
        )
        .await;
    assert_eq!(converted.status, StatusCode::CREATED, "{}", converted.body);
    assert_eq!(app.count("parties").await, parties);
    assert_eq!(converted.json()["party_id"], chen["duplicate_of"]);
}

/// A posted customer invoice of `net` yuan + 13 % VAT, dated 10 March; its id.
async fn invoiced(api: &ApiClient, party: i64, net: &str) -> i64 {
    let body = json!({"kind": "customer", "party_id": party, "date": "2026-03-10",
        "lines": [{"description": "服务器 R750", "quantity": "1", "unit_price": net, "vat_rate": "13"}]});
    let draft = api.post("/api/v1/finance/invoices", &body).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let id = draft.json()["id"].as_i64().unwrap();
    assert_eq!(api.post(&format!("/api/v1/finance/invoices/{id}/post"), &json!({})).await.status, StatusCode::OK);
    id
}

#[tokio::test]
async fn a_segment_of_big_spenders_is_evaluated_live_launched_to_and_exported() {
    let Shop { app, api, .. } = shop().await;
    let customer = |name: &str, city: &str, tag: &str| {
        json!({"kind": "organization", "name": name, "roles": ["customer"], "tags": [tag], "confirm_duplicates": true,
            "contacts": [{"kind": "mobile", "value": format!("1380013{:04}", name.len())}],
            "addresses": [{"kind": "billing", "province": "福建省", "city": city, "street": "软件园二期"}]})
    };
    let mut ids = Vec::new();
    for (name, city, tag) in [
        ("厦门华信科技有限公司", "厦门市", "VIP"),
        ("福州金桥电子有限公司", "福州市", "VIP"),
        ("厦门海沧物流有限公司", "厦门市", "新客户"),
    ] {
        let made = api.post("/api/v1/parties", &customer(name, city, tag)).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        ids.push(made.json()["id"].as_i64().unwrap());
    }
    // 华信 buys 100,000.00 + VAT = 113,000.00; 金桥 150,000.00 + VAT = 169,500.00; 海沧 nothing.
    invoiced(&api, ids[0], "100000.00").await;
    invoiced(&api, ids[1], "150000.00").await;

    let segment = |body: Value| {
        let api = api.clone();
        async move {
            let made = api.post("/api/v1/crm/segments", &body).await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
            made.json()
        }
    };
    let big = segment(json!({"name": "年消费十一万以上", "min_spend_12m": "110000.00"})).await;
    let big_in_xiamen = segment(json!({"name": "厦门大客户", "min_spend_12m": "110000.00", "region": "厦门市"})).await;
    let vip = segment(json!({"name": "VIP", "tag": "VIP"})).await;
    let lapsed = segment(json!({"name": "今年未下单", "no_purchase_since": "2026-01-01"})).await;
    assert_eq!(
        (
            big["members"].as_i64(),
            big_in_xiamen["members"].as_i64(),
            vip["members"].as_i64(),
            lapsed["members"].as_i64()
        ),
        (Some(2), Some(1), Some(2), Some(3))
    );
    // The count is what a direct SQL count of the same data gives.
    let direct: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM (SELECT i.party_id FROM fin_invoices i WHERE i.kind = 'customer' AND i.number IS NOT NULL \
         GROUP BY i.party_id HAVING SUM(i.total) >= 11000000) t",
    )
    .fetch_one(app.db.reader())
    .await
    .unwrap()
    .try_get("n")
    .unwrap();
    assert_eq!(big["members"].as_i64(), Some(direct));
    let members = api.get(&format!("/api/v1/crm/segments/{}/members", big_in_xiamen["id"])).await.json();
    assert_eq!(members["items"][0]["name"], "厦门华信科技有限公司");
    // Live: a further invoice to 海沧 takes it into the big spenders at once.
    let haicang = invoiced(&api, ids[2], "120000.00").await;
    let big_members = || {
        let api = api.clone();
        let id = big["id"].clone();
        async move {
            let now = api.get("/api/v1/crm/segments").await.json();
            now["items"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()["members"].as_i64().unwrap()
        }
    };
    assert_eq!(big_members().await, 3);

    // The month's job keeps each customer's twelve-month sum (as the server does when a month
    // begins); read from those sums the segment is the same, and stays live: a credit note of
    // 海沧's invoice takes it out at once.
    app.run_jobs().await;
    let kept: i64 = sqlx::query("SELECT CAST(SUM(total) AS BIGINT) AS n FROM fin_customer_spend")
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(kept, 11_300_000 + 16_950_000 + 13_560_000, "113,000.00 + 169,500.00 + 135,600.00 in fen");
    assert_eq!(big_members().await, 3);
    let credit =
        api.post(&format!("/api/v1/finance/invoices/{haicang}/credit-note"), &json!({"date": "2026-03-16"})).await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.body);
    assert_eq!(big_members().await, 2);
    // A year on, March 2026 has left the twelve months: nobody is a big spender, before the
    // job has rolled the sums forward (read from the invoices) and after.
    app.clock.advance(chrono::Duration::days(366));
    assert_eq!(big_members().await, 0);
    app.run_jobs().await;
    assert_eq!(app.count("fin_customer_spend").await, 0);
    assert_eq!(big_members().await, 0);
    app.clock.advance(chrono::Duration::days(-366));
    app.run_jobs().await;

    // A campaign to the VIPs touches the two of them when launched, once.
    let campaign = api
        .post(
            "/api/v1/crm/campaigns",
            &json!({"code": "vip-march", "name": "VIP 答谢", "channel": "event", "budget": "20000.00", "start_date": "2026-03-01", "end_date": "2026-03-31", "segment_id": vip["id"]}),
        )
        .await
        .json();
    let id = campaign["id"].as_i64().unwrap();
    let launched = api.post(&format!("/api/v1/crm/campaigns/{id}/launch"), &json!({})).await;
    assert_eq!(launched.json()["touched"], 2, "{}", launched.body);
    assert_eq!(
        api.post(&format!("/api/v1/crm/campaigns/{id}/launch"), &json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Their March invoices are its attributed revenue: 250,000.00 net against 20,000.00.
    let effect = api.get(&format!("/api/v1/crm/campaigns/{id}/effect")).await.json();
    assert_eq!(
        (effect["touched"].as_i64(), effect["revenue"].as_str(), effect["roi"].as_str()),
        (Some(2), Some("250000.00"), Some("1150.00"))
    );

    // The segment leaves as CSV for the channel, and the export is on the audit trail.
    let csv = api.get(&format!("/api/v1/crm/segments/{}/export", vip["id"])).await;
    assert!(
        csv.body.starts_with("number,name,mobile,email\n") && csv.body.contains("福州金桥电子有限公司"),
        "{}",
        csv.body
    );
    assert_eq!(csv.body.lines().count(), 3);
    assert_eq!(app.count("audit_log WHERE action = 'export' AND resource = 'crm.segment'").await, 1);

    // A bad campaign is refused field by field.
    let bad = api
        .post("/api/v1/crm/campaigns", &json!({"code": "春季", "name": "", "channel": "fax", "budget": "-1", "start_date": "2026-04-01", "end_date": "2026-03-01"}))
        .await;
    let errors = bad.json()["errors"].clone();
    let fields: Vec<&str> = errors.as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["code", "name", "channel", "budget", "end_date"], "{}", bad.body);
}

#[tokio::test]
async fn an_urgent_ticket_nobody_answers_goes_to_the_service_lead_once_per_missed_target() {
    let Shop { app, api, .. } = shop().await;
    let customer = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "泉州恒通物流有限公司", "roles": ["customer"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    app.user("he.li", &["service_agent"], "service", "service").await;
    app.user("wu.lei", &["service_agent"], "service", "service").await;
    let user_id = |login: &'static str| {
        let app = &app;
        async move {
            let row = sqlx::query("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(app.db.reader()).await;
            row.unwrap().try_get::<i64, _>("id").unwrap()
        }
    };
    let (he_li, wu_lei) = (user_id("he.li").await, user_id("wu.lei").await);

    // On the settings page the admin sends missed urgent tickets to 吴磊, the service lead.
    // Someone who is not a user of the company is refused next to the field.
    let browser = app.signed_in("admin").await;
    let stranger = browser
        .post_form(
            "/crm/settings",
            "/crm/settings",
            &[
                ("action", "policy"),
                ("priority", "urgent"),
                ("first_response_minutes", "60"),
                ("resolution_minutes", "240"),
                ("escalate_to", "99999"),
            ],
        )
        .await;
    assert_eq!(stranger.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", stranger.body);
    assert!(stranger.body.contains("role=\"alert\""), "{}", stranger.body);
    let lead = wu_lei.to_string();
    let saved = browser
        .post_form(
            "/crm/settings",
            "/crm/settings",
            &[
                ("action", "policy"),
                ("priority", "urgent"),
                ("first_response_minutes", "60"),
                ("resolution_minutes", "240"),
                ("escalate_to", &lead),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let policies = api.get("/api/v1/crm/sla-policies").await.json();
    let urgent = policies["items"].as_array().unwrap().iter().find(|p| p["priority"] == "urgent").unwrap().clone();
    assert_eq!(urgent["escalate_to"], wu_lei, "{policies}");

    // Sunday: an urgent ticket for 何丽. The first response is due Monday 10:00, the fix 13:00.
    let raised = api
        .post(
            "/api/v1/crm/tickets",
            &json!({"party_id": customer, "subject": "仓库扫码枪全部离线", "category": "repair", "priority": "urgent"}),
        )
        .await;
    let id = raised.json()["id"].as_i64().unwrap();
    api.post(&format!("/api/v1/crm/tickets/{id}/assign"), &json!({"user_id": he_li})).await;
    assert_eq!(app.run_job("crm.escalate_breaches").await, 0, "nothing is late on Sunday");

    // Monday 10:01 and nobody answered: 吴磊 gets it, level 1, once however often the job runs.
    app.clock.advance(chrono::Duration::minutes(24 * 60 + 1));
    assert_eq!(app.run_job("crm.escalate_breaches").await, 1);
    assert_eq!(app.run_job("crm.escalate_breaches").await, 0);
    let ticket = api.get(&format!("/api/v1/crm/tickets/{id}")).await.json();
    assert_eq!((ticket["assignee_id"].as_i64(), ticket["escalation"].as_i64()), (Some(wu_lei), Some(1)), "{ticket}");

    // 吴磊 answers but cannot fix it by 13:00: escalated again for the missed resolution, to
    // the same lead (level 2), and then no more.
    let lead_api = app.api("wu.lei").await;
    lead_api.post(&format!("/api/v1/crm/tickets/{id}/reply"), &json!({"body": "正在排查网络"})).await;
    app.clock.advance(chrono::Duration::minutes(3 * 60));
    assert_eq!(app.run_job("crm.escalate_breaches").await, 1);
    assert_eq!(app.run_job("crm.escalate_breaches").await, 0);
    let ticket = api.get(&format!("/api/v1/crm/tickets/{id}")).await.json();
    assert_eq!(ticket["escalation"], 2, "{ticket}");
    assert_eq!(app.count("audit_log WHERE action = 'escalate' AND resource = 'crm.ticket'").await, 2);
    assert_eq!(app.count("outbox WHERE event_type = 'crm.TicketEscalated'").await, 2);
    assert_eq!(app.count(&format!("crm_ticket_notes WHERE ticket_id = {id} AND body LIKE '升级%'")).await, 2);

    // A resolved ticket is never escalated, however late.
    api.post(&format!("/api/v1/crm/tickets/{id}/status"), &json!({"status": "resolved"})).await;
    app.clock.advance(chrono::Duration::days(7));
    assert_eq!(app.run_job("crm.escalate_breaches").await, 0);
}

#[tokio::test]
async fn a_ticket_breaches_its_sla_is_resolved_and_the_answer_counts_for_its_agent() {
    let Shop { app, api, notebook, form } = shop().await;
    let customer = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "厦门华信科技有限公司", "roles": ["customer"], "confirm_duplicates": true,
                "contacts": [{"kind": "mobile", "value": "13800138000"}]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    app.user("he.li", &["service_agent"], "service", "service").await;
    let agent = app.api("he.li").await;
    let he_li: i64 = sqlx::query("SELECT id FROM users WHERE login = 'he.li'")
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .try_get("id")
        .unwrap();

    // Sunday 10:00: a notebook will not start. High priority: a first response within two
    // business hours and a fix within eight — the clocks start on Monday at 09:00.
    let raised = agent
        .post(
            "/api/v1/crm/tickets",
            &json!({"party_id": customer, "subject": "笔记本无法开机", "category": "repair", "priority": "high", "product_id": notebook, "serial": "SN-0042"}),
        )
        .await;
    assert_eq!(raised.status, StatusCode::CREATED, "{}", raised.body);
    let ticket = raised.json();
    let id = ticket["id"].as_i64().unwrap();
    assert_eq!(
        (ticket["first_response_due"].as_str(), ticket["resolution_due"].as_str()),
        (Some("2026-03-16T03:00:00.000000Z"), Some("2026-03-16T09:00:00.000000Z")),
        "Monday 11:00 and 17:00 in Shanghai"
    );
    assert_eq!((ticket["response_breached"].as_bool(), ticket["at_risk"].as_bool()), (Some(false), Some(false)));

    // Monday 10:30: at risk. Monday 12:00 without a reply: the first response is breached.
    app.clock.advance(chrono::Duration::minutes(24 * 60 + 30));
    assert_eq!(agent.get(&format!("/api/v1/crm/tickets/{id}")).await.json()["at_risk"], true);
    app.clock.advance(chrono::Duration::minutes(90));
    let queue = agent.get("/api/v1/crm/tickets").await.json();
    assert_eq!(queue["items"][0]["response_breached"], true, "{queue}");

    // 何丽 takes it, replies late, fits a spare part from stock and resolves it before 17:00.
    agent.post(&format!("/api/v1/crm/tickets/{id}/assign"), &json!({"user_id": he_li})).await;
    let replied = agent.post(&format!("/api/v1/crm/tickets/{id}/reply"), &json!({"body": "已安排上门检测"})).await;
    assert_eq!(replied.json()["status"], "open", "{}", replied.body);
    // The part first typed on the page with the quantity in words: refused, what was typed kept.
    let (product_field, ticket) = (notebook.to_string(), format!("/crm/tickets/{id}"));
    let typo = app
        .signed_in("admin")
        .await
        .post_form(
            &ticket,
            &format!("{ticket}/parts"),
            &[
                ("product_id", &product_field),
                ("quantity", "一"),
                ("warehouse", "SH"),
                ("lot", ""),
                ("date", "2026-03-16"),
            ],
        )
        .await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", typo.body);
    assert!(typo.body.contains("id=\"p-qty\" name=\"quantity\" inputmode=\"decimal\" maxlength=\"20\" value=\"一\""));
    assert!(typo
        .body
        .contains(&format!("id=\"p-product\" name=\"product_id\" inputmode=\"numeric\" value=\"{notebook}\"")));
    let part = json!({"product_id": notebook, "quantity": "1", "warehouse": "SH", "date": "2026-03-16"});
    let used = agent.post(&format!("/api/v1/crm/tickets/{id}/parts"), &part).await;
    assert_eq!(used.status, StatusCode::CREATED, "{}", used.body);
    let on_hand = api.get(&format!("/api/v1/stock/quantities?product={notebook}")).await.json();
    assert_eq!(on_hand["items"][0]["quantity"], "49", "the part left stock");
    let resolved = agent.post(&format!("/api/v1/crm/tickets/{id}/status"), &json!({"status": "resolved"})).await;
    let resolved = resolved.json();
    assert_eq!(
        (
            resolved["status"].as_str(),
            resolved["response_breached"].as_bool(),
            resolved["resolution_breached"].as_bool()
        ),
        (Some("resolved"), Some(true), Some(false))
    );
    let survey = resolved["survey"].as_str().expect("a survey link").to_string();
    let refused = agent.post(&format!("/api/v1/crm/tickets/{id}/status"), &json!({"status": "pending"})).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.crm.ticket_status");

    // The customer opens the link without signing in and answers: CSAT 5, NPS 9. Once only;
    // nonsense is refused.
    let page = app.anonymous_api().get(&survey).await;
    assert!(page.status == StatusCode::OK && page.body.contains("TK/2026/00001"), "{}", page.body);
    let answer = |body: Value| {
        let app = &app;
        let survey = survey.clone();
        async move {
            app.anonymous_api()
                .raw_with(&survey, "application/json", &body.to_string(), &[("x-forwarded-for", "203.0.113.20".into())])
                .await
        }
    };
    let bad = answer(json!({"csat": "6", "nps": "-1"})).await;
    let errors = bad.json()["errors"].clone();
    let fields: Vec<&str> = errors.as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["csat", "nps"], "{}", bad.body);
    // From the page, an answer without its recommendation: refused beside it, the rest as given.
    let half = app
        .anonymous_api()
        .raw_with(
            &survey,
            "application/x-www-form-urlencoded",
            "csat=4&comment=%E4%B8%8A%E9%97%A8%E5%8F%8A%E6%97%B6",
            &[("x-forwarded-for", "203.0.113.21".into())],
        )
        .await;
    assert_eq!(half.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", half.body);
    assert!(
        half.body.contains("name=\"csat\" value=\"4\" checked") && half.body.contains(">上门及时</textarea>"),
        "{}",
        half.body
    );
    assert_eq!(answer(json!({"csat": "5", "nps": "9", "comment": "上门及时"})).await.status, StatusCode::ACCEPTED);
    assert_eq!(answer(json!({"csat": "1", "nps": "0"})).await.status, StatusCode::CONFLICT);
    assert_eq!(app.anonymous_api().get("/public/crm/surveys/not-a-token").await.status, StatusCode::NOT_FOUND);

    // The answer is on 何丽's score and on the customer's timeline.
    let scores = api.get("/api/v1/crm/reports/satisfaction?by=agent&from=2026-03-01&to=2026-03-31").await.json();
    assert_eq!(scores["items"][0], json!({"key": "he.li", "answers": 1, "csat": "5.00", "nps": "100.00"}), "{scores}");
    let timeline = api.get(&format!("/api/v1/crm/customers/{customer}/timeline")).await.json();
    assert_eq!(kinds(&timeline), ["ticket", "survey"]);

    // The same customer writes in through the public service form: matched by mobile.
    let service_form = form.replace("/leads", "/tickets");
    let sent = app
        .anonymous_api()
        .raw_with(
            &service_form,
            "application/json",
            &json!({"name": "陈静", "mobile": "13800138000", "subject": "发票抬头更正", "description": "请更正发票抬头"}).to_string(),
            &[("x-forwarded-for", "203.0.113.21".into())],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    assert_eq!(app.count(&format!("crm_tickets WHERE channel = 'web' AND party_id = {customer}")).await, 1);
    let hostile = app
        .anonymous_api()
        .raw_with(
            &service_form,
            "application/json",
            &json!({"name": "x", "mobile": "13800138000", "subject": "x", "priority": "urgent"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(hostile.status, StatusCode::UNPROCESSABLE_ENTITY, "only the form's own fields are taken");
}

/// A small-scale taxpayer's support contract is charged at its collection rate: 6 % is refused
/// beside the rate when the contract is written, not months later when it is invoiced.
#[tokio::test]
async fn a_small_scale_taxpayers_contract_is_charged_at_its_collection_rate() {
    let Shop { app, api, .. } = shop().await;
    api.patch("/api/v1/finance/settings", &json!({"taxpayer": "small_scale"})).await;
    let customer = customer(&api, "厦门华信科技有限公司").await;
    let contract = |rate: &str| {
        json!({"party_id": customer, "title": "年度运维服务", "value": "12000.00", "vat_rate": rate,
        "start_date": "2026-03-01", "end_date": "2027-02-28", "instalments": [{"due_date": "2026-03-20", "amount": "12000.00"}]})
    };
    let refused = api.post("/api/v1/crm/contracts", &contract("6")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let error = &refused.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str()),
        (Some("vat_rate"), Some("error.finance.small_scale_rate"))
    );
    assert_eq!(app.count("crm_contracts").await, 0);
    assert_eq!(api.post("/api/v1/crm/contracts", &contract("3")).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_contract_is_collected_in_two_instalments_one_of_them_late_and_reminded() {
    let Shop { app, api, .. } = shop().await;
    let customer = customer(&api, "厦门华信科技有限公司").await;
    // 100,000.00 for a year of support, in two instalments; a plan that does not add up is refused.
    let contract = |plan: Value| {
        json!({"party_id": customer, "title": "年度运维服务", "value": "100000.00", "vat_rate": "6",
        "start_date": "2026-03-01", "end_date": "2027-02-28", "instalments": plan})
    };
    let refused =
        api.post("/api/v1/crm/contracts", &contract(json!([{"due_date": "2026-03-20", "amount": "60000.00"}]))).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.crm.plan_total", "{}", refused.body);
    // A plan that falls short on the page: refused beside the plan, its rows as typed (the
    // empty one between them dropped), nothing stored.
    let customer_text = customer.to_string();
    let short = app
        .signed_in("admin")
        .await
        .post_form(
            "/crm/contracts",
            "/crm/contracts",
            &[
                ("party_id", &customer_text),
                ("title", "年度运维服务"),
                ("value", "100000.00"),
                ("vat_rate", "6"),
                ("start_date", "2026-03-01"),
                ("end_date", "2027-02-28"),
                ("due_date", "2026-03-20"),
                ("amount", "60000.00"),
                ("due_date", ""),
                ("amount", ""),
                ("due_date", "2026-09-20"),
                ("amount", "30000.00"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", short.body);
    for typed in
        ["value=\"2026-03-20\"", "value=\"60000.00\"", "value=\"2026-09-20\"", "value=\"30000.00\"", "role=\"alert\""]
    {
        assert!(short.body.contains(typed), "{typed}");
    }
    assert_eq!(app.count("crm_contracts").await, 0);
    let made = api
        .post(
            "/api/v1/crm/contracts",
            &contract(json!([{"due_date": "2026-03-20", "amount": "60000.00"}, {"due_date": "2026-09-20", "amount": "40000.00"}])),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.json()["id"].as_i64().unwrap();
    assert_eq!(made.json()["instalments"][0]["status"], "planned");

    // The first is invoiced (60,000.00 with 6 % VAT) and 30,000.00 of it comes in.
    let invoiced =
        api.post(&format!("/api/v1/crm/contracts/{id}/instalments/1/invoice"), &json!({"date": "2026-03-15"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    let invoice = invoiced.json()["invoice_id"].as_i64().unwrap();
    assert_eq!(invoiced.json()["instalments"][0]["status"], "invoiced");
    let twice =
        api.post(&format!("/api/v1/crm/contracts/{id}/instalments/1/invoice"), &json!({"date": "2026-03-15"})).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "an instalment is invoiced once");
    let pay = |amount: &str, date: &str| json!({"kind": "receipt", "party_id": customer, "date": date, "amount": amount, "allocations": [{"invoice_id": invoice, "amount": amount}]});
    assert_eq!(api.post("/api/v1/finance/payments", &pay("30000.00", "2026-03-18")).await.status, StatusCode::CREATED);
    let now = api.get(&format!("/api/v1/crm/contracts/{id}")).await.json();
    assert_eq!(
        (now["instalments"][0]["status"].as_str(), now["instalments"][0]["collected"].as_str()),
        (Some("partial"), Some("30000.00"))
    );

    // Ten days past the due date the rest is overdue: a level-1 reminder, once.
    app.clock.advance(chrono::Duration::days(15));
    let late = api.get(&format!("/api/v1/crm/contracts/{id}")).await.json();
    assert_eq!(
        (late["instalments"][0]["status"].as_str(), late["instalments"][0]["days_overdue"].as_i64()),
        (Some("overdue"), Some(10))
    );
    assert_eq!(late["overdue"], "30000.00");
    let reminded = api.post(&format!("/api/v1/crm/contracts/{id}/instalments/1/remind"), &json!({})).await;
    assert_eq!(reminded.json()["dunning_level"], 1, "{}", reminded.body);
    assert_eq!(
        api.post(&format!("/api/v1/crm/contracts/{id}/instalments/1/remind"), &json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let timeline = api.get(&format!("/api/v1/crm/customers/{customer}/timeline")).await.json();
    assert!(kinds(&timeline).contains(&"activity.email".to_string()), "the reminder is on the customer's timeline");

    // The rest is paid: collected. The collection report equals a direct count of the receipts.
    assert_eq!(api.post("/api/v1/finance/payments", &pay("30000.00", "2026-04-01")).await.status, StatusCode::CREATED);
    let report = api.get("/api/v1/crm/reports/collection").await.json();
    assert_eq!(
        (
            report["totals"]["value"].as_str(),
            report["totals"]["invoiced"].as_str(),
            report["totals"]["collected"].as_str(),
            report["totals"]["overdue"].as_str()
        ),
        (Some("100000.00"), Some("60000.00"), Some("60000.00"), Some("0.00")),
        "{report}"
    );
    let direct: i64 = sqlx::query("SELECT CAST(SUM(amount) AS BIGINT) AS n FROM fin_allocations WHERE invoice_id = $1")
        .bind(invoice)
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(direct, 6_000_000);
}

/// A company keeping the small-enterprise chart, whose main operating revenue is 5001, not
/// CAS's 6001, invoices a contract's instalment: the revenue lands on its own chart's account.
#[tokio::test]
async fn a_contract_instalment_of_a_small_enterprise_is_booked_to_its_charts_revenue() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let setup = api.post("/api/v1/finance/setup", &json!({"year": 2026, "template": "small_enterprise"})).await;
    assert_eq!(setup.status, StatusCode::CREATED, "{}", setup.body);
    let customer = customer(&api, "温州瓯海五金商行").await;
    let contract = json!({"party_id": customer, "title": "门店收银系统年度维护", "value": "10600.00", "vat_rate": "6",
        "start_date": "2026-03-01", "end_date": "2027-02-28", "instalments": [{"due_date": "2026-03-20", "amount": "10600.00"}]});
    let made = api.post("/api/v1/crm/contracts", &contract).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.json()["id"].as_i64().expect("id");
    let invoiced =
        api.post(&format!("/api/v1/crm/contracts/{id}/instalments/1/invoice"), &json!({"date": "2026-03-15"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.json();
    let revenue = tb["items"].as_array().expect("items").iter().find(|r| r["code"] == "5001").cloned();
    assert_eq!(revenue.map(|r| r["credit"].clone()), Some(json!("10000.00")), "10,600.00 with 6 % VAT in it: {tb}");
}

/// A company whose books start in July carries over what its customer owed and had paid ahead
/// under the earlier books: on the customer's timeline those documents stand at their own
/// dates in May and June, not at the moment the opening balances were typed.
#[tokio::test]
async fn documents_carried_over_stand_on_the_timeline_at_their_own_dates() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    let customer = customer(&api, "宁波瑞丰电子有限公司").await;
    let number =
        api.get(&format!("/api/v1/parties/{customer}")).await.json()["number"].as_str().expect("number").to_string();
    let carried = |account: &str, debit: &str, credit: &str, document: Value| json!({"account": account, "debit": debit, "credit": credit, "party": number, "document": document});
    let opened = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                carried("1122", "30000.00", "", json!({"number": "XS-0412", "date": "2026-05-20", "due_date": "2026-06-19"})),
                carried("2203", "", "6000.00", json!({"number": "YS-0007", "date": "2026-06-25"})),
                {"account": "4001", "credit": "24000.00"},
            ]}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let july = api
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "customer", "party_id": customer, "date": "2026-07-08", "lines": [
                {"description": "贴片电容 0805", "quantity": "1000", "unit_price": "2.00", "vat_rate": "13"}]}),
        )
        .await;
    let id = july.json()["id"].as_i64().expect("id");
    assert_eq!(api.post(&format!("/api/v1/finance/invoices/{id}/post"), &json!({})).await.status, StatusCode::OK);
    let timeline = api.get(&format!("/api/v1/crm/customers/{customer}/timeline")).await.json();
    let items: Vec<(String, String)> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (i["kind"].as_str().unwrap_or_default().into(), i["at"].as_str().unwrap_or_default().into()))
        .collect();
    // July's invoice stands at the moment it was posted (the test clock's); the carried
    // documents at their dates, newest first.
    assert_eq!(items.len(), 3, "{timeline}");
    let carried: Vec<&(String, String)> = items.iter().filter(|(_, at)| at.contains("T00:00:00")).collect();
    assert_eq!(
        carried,
        [
            &("receipt".to_string(), "2026-06-25T00:00:00.000000Z".to_string()),
            &("invoice".to_string(), "2026-05-20T00:00:00.000000Z".to_string())
        ],
        "{timeline}"
    );
    // Part of the advance goes back: the refund stands on the timeline too.
    let advance = timeline["items"].as_array().expect("items").iter().find(|i| i["kind"] == "receipt").cloned();
    let advance = advance.expect("the advance")["id"].as_i64().expect("id");
    let refunded = api
        .post(
            &format!("/api/v1/finance/payments/{advance}/refund"),
            &json!({"date": "2026-07-10", "amount": "1000.00"}),
        )
        .await;
    assert_eq!(refunded.status, StatusCode::CREATED, "{}", refunded.body);
    let timeline = api.get(&format!("/api/v1/crm/customers/{customer}/timeline")).await.json();
    let refund = timeline["items"].as_array().expect("items").iter().find(|i| i["kind"] == "refund").cloned();
    assert_eq!(refund.map(|r| r["amount"].clone()), Some(json!("1000.00")), "{timeline}");
}

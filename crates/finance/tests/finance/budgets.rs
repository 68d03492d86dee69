//! The sales department's budget for 2026: 120,000.00 of selling expenses spread over the year
//! and 15,000.00 of administration in the first quarter, set against what it spent on
//! advertising and the trade fair, with each refusal beside its field.

use crate::ledger::post;
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

/// A voucher of the sales department: an expense paid from the bank.
fn spent(date: &str, account: &str, amount: &str, memo: &str) -> Value {
    json!({"date": date, "word": "付", "memo": memo, "lines": [
        {"account": account, "debit": amount, "credit": "", "cost_center": "SAL"},
        {"account": "1002", "debit": "", "credit": amount},
    ]})
}

fn group<'a>(report: &'a Value, code: &str) -> &'a Value {
    let groups = report["groups"].as_array().expect("groups");
    groups.iter().find(|g| g["cost_center"] == code).unwrap_or_else(|| panic!("no {code} in {report}"))
}

fn row<'a>(report: &'a Value, code: &str, account: &str) -> &'a Value {
    let accounts = group(report, code)["accounts"].as_array().expect("accounts");
    accounts.iter().find(|a| a["account"] == account).unwrap_or_else(|| panic!("no {account} in {report}"))
}

async fn set(api: &ApiClient, body: Value) -> testkit::TestResponse {
    api.post("/api/v1/finance/budgets/cost_center", &body).await
}

#[tokio::test]
async fn the_sales_departments_budget_is_set_against_what_it_spent_and_an_overspend_shows() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    api.post("/api/v1/finance/dimensions/cost_center", &json!({"code": "SAL", "name": "销售部"})).await;
    for (code, name) in [("660101", "广告费"), ("660102", "展览费")] {
        let added =
            api.post("/api/v1/finance/accounts", &json!({"parent": "6601", "code": code, "name_zh": name})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }

    // 120,000.00 for the year on 销售费用, spread evenly: 10,000.00 a month.
    let yearly = set(&api, json!({"code": "SAL", "account": "6601", "year": "2026", "annual": "120000.00"})).await;
    assert_eq!(yearly.status, StatusCode::OK, "{}", yearly.body);
    assert_eq!(yearly.json()["months"][0], "10000.00");
    assert_eq!(yearly.json()["total"], "120000.00");
    // Administration month by month: 5,000.00 in each of the first three months only.
    let mut months = vec![""; 12];
    months[..3].fill("5000.00");
    let quarter = set(&api, json!({"code": "SAL", "account": "6602", "year": "2026", "months": months})).await;
    assert_eq!(quarter.status, StatusCode::OK, "{}", quarter.body);
    assert_eq!(quarter.json()["total"], "15000.00");

    // Advertising in January and February, the fair's stand in March, one office bill.
    post(&api, spent("2026-01-20", "660101", "9000.00", "一月广告")).await;
    post(&api, spent("2026-02-18", "660101", "11500.00", "二月广告")).await;
    post(&api, spent("2026-03-12", "660102", "12500.00", "展位费")).await;
    post(&api, spent("2026-03-25", "6602", "4000.00", "办公用品")).await;

    // The first quarter: 33,000.00 spent of 30,000.00 on selling, 3,000.00 over (110 %);
    // 4,000.00 of 15,000.00 on administration (27 %).
    let report = api.get("/api/v1/finance/budgets?from=2026-01&to=2026-03").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let report = report.json();
    let selling = row(&report, "SAL", "6601");
    assert_eq!(
        (&selling["budget"], &selling["actual"], &selling["remaining"], &selling["used_percent"], &selling["over"]),
        (&json!("30000.00"), &json!("33000.00"), &json!("-3000.00"), &json!(110), &json!(true)),
        "sub-accounts count against their parent's budget: {report}"
    );
    let admin = row(&report, "SAL", "6602");
    assert_eq!(
        (&admin["actual"], &admin["used_percent"], &admin["over"]),
        (&json!("4000.00"), &json!(27), &json!(false))
    );
    assert_eq!((&report["budget"], &report["actual"]), (&json!("45000.00"), &json!("37000.00")));
    // January alone was within budget.
    let january = api.get("/api/v1/finance/budgets?from=2026-01&to=2026-01").await.json();
    assert_eq!(row(&january, "SAL", "6601")["remaining"], "1000.00");

    // Each refusal beside its field, and nothing changes.
    let audited = app.count("audit_log WHERE resource = 'finance.budget'").await;
    let refused = set(
        &api,
        json!({"code": "SALES", "account": "1002", "year": "26", "months": ["1", "2", "x", "4", "5", "6", "7", "8", "9", "10", "11"]}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let problems: Vec<(String, String)> = refused.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or("").to_string(), e["code"].as_str().unwrap_or("").to_string()))
        .collect();
    for expected in [
        ("code", "error.finance.unknown_cost_center"),
        ("account", "error.finance.budget_account"),
        ("year", "error.finance.year"),
        ("months", "error.finance.budget_months"),
        ("months[2]", "error.amount.not_a_number"),
    ] {
        assert!(problems.iter().any(|(f, c)| f == expected.0 && c == expected.1), "{expected:?} in {problems:?}");
    }
    assert_eq!(app.count("audit_log WHERE resource = 'finance.budget'").await, audited);
    assert_eq!(api.get("/api/v1/finance/budgets?from=2026-01&to=2026-03").await.json(), report);

    // A year's amount and months together are refused, and so is a budget on advertising while
    // selling expenses, its parent, have one: the advertising would count twice.
    let both =
        set(&api, json!({"code": "SAL", "account": "6602", "year": "2026", "annual": "1000.00", "months": months}))
            .await;
    assert_eq!(both.json()["errors"][0]["code"], "error.finance.budget_both", "{}", both.body);
    let child = set(&api, json!({"code": "SAL", "account": "660101", "year": "2026", "annual": "50000.00"})).await;
    assert_eq!(child.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", child.body);
    let problem = &child.json()["errors"][0];
    assert_eq!(
        (problem["field"].as_str(), problem["code"].as_str()),
        (Some("account"), Some("error.finance.budget_overlap"))
    );
    // An account never used but with a budget is not deleted until the budget goes.
    api.post("/api/v1/finance/dimensions/cost_center", &json!({"code": "FIN", "name": "财务部"})).await;
    let fee =
        api.post("/api/v1/finance/accounts", &json!({"parent": "6603", "code": "660301", "name_zh": "手续费"})).await;
    assert_eq!(fee.status, StatusCode::CREATED, "{}", fee.body);
    let audit_fee = json!({"code": "FIN", "account": "660301", "year": "2026", "annual": "24000.00"});
    assert_eq!(set(&api, audit_fee).await.status, StatusCode::OK);
    let delete = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/660301", None).await;
    assert_eq!(delete.json()["errors"][0]["code"], "error.finance.delete_budgeted", "{}", delete.body);
    // The centre archived, its budget is no longer raised but may still be taken away.
    api.post("/api/v1/finance/dimensions/cost_center/FIN/archive", &json!({})).await;
    let raised = set(&api, json!({"code": "FIN", "account": "660301", "year": "2026", "annual": "30000.00"})).await;
    assert_eq!(raised.json()["errors"][0]["code"], "error.finance.archived_cost_center", "{}", raised.body);
    let gone = set(&api, json!({"code": "FIN", "account": "660301", "year": "2026", "annual": "0"})).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    let deleted = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/660301", None).await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let audited = app.count("audit_log WHERE resource = 'finance.budget'").await;

    // Administration's budget taken back (all zero): its row goes, the selling one stays.
    let removed = set(&api, json!({"code": "SAL", "account": "6602", "year": "2026", "annual": "0"})).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let after = api.get("/api/v1/finance/budgets?from=2026-01&to=2026-03").await.json();
    assert_eq!(group(&after, "SAL")["accounts"].as_array().map(Vec::len), Some(1), "{after}");
    assert_eq!(app.count("audit_log WHERE resource = 'finance.budget'").await, audited + 1);

    // The page: the overspend marked, each actual opening its lines, the form refusing beside
    // the field with what was typed, and a row's 调整 filling the form with its months.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/budgets?from=2026-01&to=2026-03").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let selling_row = page.body.split("id=\"budget-SAL-6601\"").nth(1).expect("the selling row");
    let selling_row = &selling_row[..selling_row.find("</tr>").expect("row end")];
    assert!(selling_row.contains("110%") && selling_row.contains("超支"), "{selling_row}");
    assert!(
        selling_row.contains("/finance/reports/account?code=6601&amp;from=2026-01&amp;to=2026-03&amp;cost_center=SAL")
    );
    let refused = browser
        .post_form(
            "/finance/budgets",
            "/finance/budgets",
            &[("dimension", "cost_center"), ("code", "SAL"), ("account", "6601"), ("year", "2026"), ("annual", "十万")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let annual = refused.body.split("id=\"b-annual\"").nth(1).expect("annual field");
    let annual = &annual[..annual.find("</div>").expect("field end")];
    assert!(annual.contains("value=\"十万\"") && annual.contains("role=\"alert\""), "{annual}");
    assert!(selling_row.contains("revise=SAL&amp;account=6601&amp;year=2026"), "{selling_row}");
    let revising = browser.get("/finance/budgets?from=2026-01&to=2026-03&revise=SAL&account=6601&year=2026").await;
    let annual = revising.body.split("id=\"b-annual\"").nth(1).expect("annual field");
    let annual = &annual[..annual.find("</div>").expect("field end")];
    assert!(annual.contains("value=\"120000.00\""), "a year spread evenly comes back as its amount: {annual}");

    // An auditor reads the budget but cannot set one.
    app.user("li.shen", &["auditor"], "", "finance").await;
    let auditor = app.api("li.shen").await;
    assert_eq!(auditor.get("/api/v1/finance/budgets?from=2026-01&to=2026-03").await.status, StatusCode::OK);
    let forbidden = set(&auditor, json!({"code": "SAL", "account": "6601", "year": "2026", "annual": "1.00"})).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{}", forbidden.body);
}

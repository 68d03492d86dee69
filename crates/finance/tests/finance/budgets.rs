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

#[tokio::test]
async fn a_stopping_budget_refuses_the_voucher_or_bill_that_would_overspend_it_and_lets_a_reversal_through() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    api.post("/api/v1/finance/dimensions/cost_center", &json!({"code": "SAL", "name": "销售部"})).await;
    let added =
        api.post("/api/v1/finance/accounts", &json!({"parent": "6601", "code": "660101", "name_zh": "广告费"})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let budget = |action: &str| json!({"code": "SAL", "account": "6601", "year": "2026", "annual": "120000.00", "action": action});
    let unknown = set(&api, budget("block")).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    assert_eq!(unknown.json()["errors"][0]["field"], "action");
    // 10,000.00 a month of selling expenses, and not a fen more by the month.
    let stop = set(&api, budget("stop")).await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.body);
    assert_eq!(stop.json()["action"], "stop");
    // Revised through the API without naming the action, it keeps stopping.
    let mut revised = budget("");
    revised.as_object_mut().expect("object").remove("action");
    assert_eq!(set(&api, revised).await.json()["action"], "stop");

    // January's advertising, 9,000.00, is within January's 10,000.00.
    post(&api, spent("2026-01-20", "660101", "9000.00", "一月广告")).await;
    // A February campaign of 12,000.00 would make 21,000.00 against 20,000.00 budgeted to the
    // end of February: the voucher stays a draft, the reason beside its lines.
    let campaign =
        api.post("/api/v1/finance/entries", &spent("2026-02-10", "660101", "12000.00", "二月推广")).await.json();
    let refused = api.post(&format!("/api/v1/finance/entries/{}/post", campaign["id"]), &json!({})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let error = &refused.json()["errors"][0];
    assert_eq!((error["field"].as_str(), error["code"].as_str()), (Some("lines"), Some("error.finance.over_budget")));
    assert!(
        error["message"].as_str().unwrap_or_default().contains("SAL · 6601 · 20000.00 / 9000.00 + 12000.00"),
        "{error}"
    );
    assert_eq!(app.count("fin_entries WHERE status = 'posted'").await, 1, "nothing more was posted");
    assert_eq!(app.count("fin_balances WHERE cost_center = 'SAL'").await, 1, "no balance moved");

    // Cut to 11,000.00 it takes the budget to the fen and is posted.
    let cut = post(&api, spent("2026-02-10", "660101", "11000.00", "二月推广")).await;
    // A supplier's bill for the same department's 500.00 of leaflets is refused the same way
    // when posted: bills post through the same ledger.
    let printer = app.api("admin").await;
    let supplier = crate::invoicing::party(&printer, "上海印务有限公司", "supplier").await;
    let bill = api
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "supplier", "party_id": supplier, "date": "2026-02-26", "lines": [
                {"description": "宣传单印刷", "quantity": "1", "unit_price": "500.00", "vat_rate": "6", "account": "660101", "cost_center": "SAL"}]}),
        )
        .await
        .json();
    let bill_refused = api.post(&format!("/api/v1/finance/invoices/{}/post", bill["id"]), &json!({})).await;
    assert_eq!(bill_refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bill_refused.body);
    assert_eq!(bill_refused.json()["errors"][0]["code"], "error.finance.over_budget");
    // In March a new month's 10,000.00 is there: the bill goes through then.
    let march = api
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "supplier", "party_id": supplier, "date": "2026-03-02", "lines": [
                {"description": "宣传单印刷", "quantity": "1", "unit_price": "500.00", "vat_rate": "6", "account": "660101", "cost_center": "SAL"}]}),
        )
        .await
        .json();
    let posted = api.post(&format!("/api/v1/finance/invoices/{}/post", march["id"]), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);

    // A reversal lowers the spending, so it always goes through; and set back to warn, the
    // budget lets the February overspend be posted and the report marks it.
    let reversed =
        api.post(&format!("/api/v1/finance/entries/{}/reverse", cut["id"]), &json!({"date": "2026-02-28"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    // On the page: the row says it stops postings, the campaign's voucher page shows why it
    // is not posted, and the budget is set back to warn from its 调整 form.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/budgets?from=2026-01&to=2026-02").await;
    let selling_row = page.body.split("id=\"budget-SAL-6601\"").nth(1).expect("the selling row");
    assert!(selling_row[..selling_row.find("</tr>").expect("row end")].contains("禁止过账"), "{}", page.body);
    let revising = browser.get("/finance/budgets?from=2026-01&to=2026-02&revise=SAL&account=6601&year=2026").await;
    assert!(revising.body.contains("<option value=\"stop\" selected>"), "{}", revising.body);
    let voucher = format!("/finance/entries/{}", campaign["id"]);
    let on_page = browser.post_form(&voucher, &format!("{voucher}/post"), &[]).await;
    assert_eq!(on_page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", on_page.body);
    assert!(on_page.body.contains("超出预算，未过账：SAL · 6601 · 20000.00 / 9000.00 + 12000.00"), "{}", on_page.body);
    let warn = browser
        .post_form(
            "/finance/budgets",
            "/finance/budgets",
            &[
                ("dimension", "cost_center"),
                ("code", "SAL"),
                ("account", "6601"),
                ("year", "2026"),
                ("annual", "120000.00"),
                ("action", "warn"),
            ],
        )
        .await;
    assert_eq!(warn.status, StatusCode::SEE_OTHER, "{}", warn.body);
    let again = api.post(&format!("/api/v1/finance/entries/{}/post", campaign["id"]), &json!({})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let report = api.get("/api/v1/finance/budgets?from=2026-01&to=2026-02").await.json();
    let sales = row(&report, "SAL", "6601");
    assert_eq!(
        (sales["action"].as_str(), sales["actual"].as_str(), sales["over"].as_bool()),
        (Some("warn"), Some("21000.00"), Some(true))
    );
    let audit = api.get("/api/v1/audit?resource=finance.budget").await.json();
    assert_eq!(audit["items"][0]["changes"]["action"], json!(["stop", "warn"]));
}

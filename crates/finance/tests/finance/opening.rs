//! A trading company moving its books to Zhongshu from July 2026 enters what its accounts held
//! at the end of June (期初余额): the trial balance, the balance sheet, the cash flow statement
//! and the VAT return of July open with it, no year-to-date figure counts it as a movement,
//! and once July is closed no more can be entered.

use crate::invoicing::party;
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::spawn_app;

fn lines(rows: &[(&str, &str, &str, &str)]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|(account, debit, credit, party)| json!({"account": account, "debit": debit, "credit": credit, "party": party}))
        .collect();
    json!({"lines": rows})
}

fn figure(statement: &Value, key: &str) -> String {
    let lines = statement["lines"].as_array().expect("lines");
    lines.iter().find(|l| l["key"] == key).and_then(|l| l["amount"].as_str()).unwrap_or("missing").to_string()
}

#[tokio::test]
async fn a_company_starting_its_books_in_july_opens_them_with_what_its_accounts_held() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let setup = api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    assert_eq!(setup.status, StatusCode::CREATED, "{}", setup.body);
    let customer = party(&api, "上海瑞丰贸易有限公司", "customer").await;
    let number =
        api.get(&format!("/api/v1/parties/{customer}")).await.json()["number"].as_str().expect("number").to_string();

    // Refused, storing nothing: lines that do not balance (the difference named), and an
    // income account, whose year to date starts with the books.
    let unbalanced = api
        .post(
            "/api/v1/finance/opening-balances",
            &lines(&[("1002", "200000.00", "", ""), ("4001", "", "150000.00", "")]),
        )
        .await;
    assert_eq!(unbalanced.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unbalanced.body);
    assert_eq!(unbalanced.json()["errors"][0]["code"], "error.finance.unbalanced");
    let income = api
        .post("/api/v1/finance/opening-balances", &lines(&[("6001", "", "100.00", ""), ("1002", "100.00", "", "")]))
        .await;
    let error = &income.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str()),
        (Some("lines[0]"), Some("error.finance.opening_account"))
    );
    assert_eq!(app.count("fin_entries").await, 0);

    // What June ended with: 200,000.00 in the bank, 50,000.00 owed by 瑞丰, 30,000.00 of stock,
    // 5,000.00 of input VAT carried forward; 40,000.00 owed to suppliers, 200,000.00 of capital
    // and 45,000.00 of retained earnings.
    let opened = api
        .post(
            "/api/v1/finance/opening-balances",
            &lines(&[
                ("1002", "200000.00", "", ""),
                ("1122", "50000.00", "", &number),
                ("1405", "30000.00", "", ""),
                ("22210101", "5000.00", "", ""),
                ("2202", "", "40000.00", ""),
                ("4001", "", "200000.00", ""),
                ("4104", "", "45000.00", ""),
            ]),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let opened = opened.json();
    assert_eq!(
        (opened["period"].as_str(), opened["number"].as_str(), opened["amount"].as_str()),
        (Some("2026-00"), Some("转-0001"), Some("285000.00"))
    );
    let audited = format!(
        "audit_log WHERE resource = 'finance.entry' AND action = 'create' AND resource_id = '{}'",
        opened["entry_id"]
    );
    assert_eq!(app.count(&audited).await, 1, "the lines typed are in the audit trail");

    // July's trial balance opens with it and moved nothing; the balance sheet balances.
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-07&to=2026-07").await.json();
    let bank = tb["items"].as_array().expect("items").iter().find(|r| r["code"] == "1002").cloned().expect("1002");
    assert_eq!((bank["opening"].as_str(), bank["debit"].as_str()), (Some("200000.00"), Some("0.00")));
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-07").await.json();
    // The input VAT carried forward is an asset (其他流动资产), not less tax payable.
    assert_eq!(
        [figure(&sheet, "total_assets"), figure(&sheet, "other_current_assets"), figure(&sheet, "taxes")],
        ["285000.00", "5000.00", "0.00"]
    );
    assert_eq!(figure(&sheet, "total_assets"), figure(&sheet, "total_liabilities_and_equity"));
    // The cash flow statement opens with the bank's 200,000.00, whether it starts in July or in
    // January: the cash the books start with is no flow.
    for range in ["from=2026-07&to=2026-07", "from=2026-01&to=2026-07"] {
        let flows = api.get(&format!("/api/v1/finance/reports/cash-flow?{range}")).await.json();
        assert_eq!(
            (figure(&flows, "opening"), figure(&flows, "net_increase"), figure(&flows, "closing")),
            ("200000.00".to_string(), "0.00".to_string(), "200000.00".to_string()),
            "{range}: {flows}"
        );
    }
    // The bank journal of July opens with the 200,000.00, and its year to date (本年累计) does
    // not count them as received.
    let journal =
        api.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-07-01&to=2026-07-31").await.json();
    assert_eq!(
        (journal["opening"].as_str(), journal["months"][0]["year_received"].as_str()),
        (Some("200000.00"), Some("0.00")),
        "{journal}"
    );
    // July's VAT return carries in the 5,000.00 of input VAT.
    let vat = api.get("/api/v1/finance/reports/vat?from=2026-07&to=2026-07").await.json();
    assert_eq!(vat["credit_carried_in"], "5000.00", "{vat}");

    // The page lists the opening voucher; once July is closed, none can be added.
    let page = app.signed_in("admin").await.get("/finance/opening").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2026-00 转-0001") && page.body.contains("285,000.00"), "{}", page.body);
    let closed = api.post("/api/v1/finance/periods/2026-07/close", &json!({})).await;
    assert!(closed.status.is_success(), "{}", closed.body);
    let late = api
        .post("/api/v1/finance/opening-balances", &lines(&[("1001", "500.00", "", ""), ("4001", "", "500.00", "")]))
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", late.body);
    assert_eq!(late.json()["errors"][0]["code"], "error.finance.opening_closed");
}

#[tokio::test]
async fn the_accountant_enters_opening_balances_on_their_page_and_a_refusal_shows_beside_the_line() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let browser = app.signed_in("admin").await;
    assert!(browser.get("/finance/accounts").await.body.contains("href=\"/finance/opening\""));
    let refused = browser
        .post_form(
            "/finance/opening",
            "/finance/opening",
            &[
                ("account", "6602"),
                ("debit", "300.00"),
                ("credit", ""),
                ("account", "1001"),
                ("debit", ""),
                ("credit", "300.00"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("期初余额只录资产负债表科目，损益类科目不能录入：6602"), "{}", refused.body);
    assert!(refused.body.contains("value=\"6602\""), "the form comes back as typed");
    let posted = browser
        .post_form(
            "/finance/opening",
            "/finance/opening",
            &[
                ("account", "1001"),
                ("debit", "300.00"),
                ("credit", ""),
                ("account", "4001"),
                ("debit", ""),
                ("credit", "300.00"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    // Books from January open on the last day of the year before, in the year's month 00.
    assert_eq!(
        app.count("fin_entries WHERE kind = 'opening' AND period = '2026-00' AND entry_date = '2025-12-31'").await,
        1
    );
}

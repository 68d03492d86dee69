//! Books kept on the two other charts: a small enterprise (小企业会计准则) and a foreign-owned
//! company on the generic English chart. The same documents as under CAS post to each chart's
//! own accounts, the month closes to its own 本年利润, and its statements, in its own line
//! format, tie out.

use crate::invoicing::{party, posted_invoice};
use crate::ledger::{line, post, voucher};
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

/// A voucher's lines as (account, debit, credit).
pub(crate) async fn voucher_lines(api: &ApiClient, entry_id: &Value) -> Vec<(String, String, String)> {
    let entry = api.get(&format!("/api/v1/finance/entries/{entry_id}")).await.json();
    entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or_default().to_string();
            (text("account"), text("debit"), text("credit"))
        })
        .collect()
}

fn owned(lines: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    lines.iter().map(|(a, d, c)| (a.to_string(), d.to_string(), c.to_string())).collect()
}

async fn closing_balances(api: &ApiClient, from: &str, to: &str, codes: &[&str]) -> Vec<String> {
    let tb = api.get(&format!("/api/v1/finance/reports/trial-balance?from={from}&to={to}")).await.json();
    codes
        .iter()
        .map(|code| {
            tb["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|r| r["code"] == *code)
                .and_then(|r| r["closing"].as_str())
                .unwrap_or("0.00")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_small_enterprise_posts_to_its_own_chart_and_closes_the_year_to_3104() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let api = app.api("chen.jing").await;
    let admin = app.api("admin").await;
    let unknown = api.post("/api/v1/finance/setup", &json!({"year": 2025, "template": "ifrs"})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.json()["errors"][0]["field"], "template");
    // A trading company that started in December keeps its books under 小企业会计准则.
    let set_up = api
        .post("/api/v1/finance/setup", &json!({"year": 2025, "first_month": 12, "template": "small_enterprise"}))
        .await;
    assert_eq!(set_up.status, StatusCode::CREATED, "{}", set_up.body);
    assert_eq!(set_up.json()["template"], "small_enterprise");
    let accounts = api.get("/api/v1/finance/accounts").await.json();
    let name_of = |code: &str| {
        accounts["items"].as_array().expect("items").iter().find(|a| a["code"] == code).map(|a| a["name_zh"].clone())
    };
    assert_eq!(name_of("3001"), Some(json!("实收资本")));
    assert_eq!(name_of("5001"), Some(json!("主营业务收入")));
    assert_eq!(name_of("6001"), None, "no CAS revenue account");

    post(&api, voucher("2025-12-01", "股东投入资本", &[("1002", "300000.00", ""), ("3001", "", "300000.00")])).await;
    let supplier = party(&admin, "苏州恒通贸易有限公司", "supplier").await;
    let bill = posted_invoice(
        &api,
        json!({"kind": "supplier", "party_id": supplier, "date": "2025-12-03",
               "lines": [{"description": "办公椅 200 把", "quantity": "200", "unit_price": "200.00", "vat_rate": "13"}]}),
    )
    .await;
    assert_eq!(
        voucher_lines(&api, &bill["entry_id"]).await,
        owned(&[("2202", "0.00", "45200.00"), ("1405", "40000.00", "0.00"), ("22210101", "5200.00", "0.00")])
    );
    let customer = party(&admin, "杭州西湖文具有限公司", "customer").await;
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2025-12-10",
               "lines": [{"description": "办公椅", "quantity": "2", "unit_price": "25000.00", "vat_rate": "13"}]}),
    )
    .await;
    assert_eq!(
        voucher_lines(&api, &invoice["entry_id"]).await,
        owned(&[("1122", "56500.00", "0.00"), ("5001", "0.00", "50000.00"), ("22210102", "0.00", "6500.00")])
    );
    post(&api, voucher("2025-12-10", "结转销售成本", &[("5401", "30000.00", ""), ("1405", "", "30000.00")])).await;
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2025-12-20", "amount": "20000.00",
                    "allocations": [{"invoice_id": invoice["id"], "amount": "20000.00"}]}),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    post(&api, voucher("2025-12-31", "计提工资", &[("5602", "8000.00", ""), ("2211", "", "8000.00")])).await;
    post(&api, voucher("2025-12-31", "银行手续费", &[("5603", "50.00", ""), ("1002", "", "50.00")])).await;

    // 利润表 (会小企02表): 50,000 − 30,000 − 8,000 − 50 = 11,950.
    let income = api.get("/api/v1/finance/reports/income-statement?from=2025-12&to=2025-12").await.json();
    let figures = |s: &Value, keys: &[&str]| keys.iter().map(|k| line(s, k).to_string()).collect::<Vec<_>>();
    assert_eq!(
        figures(
            &income,
            &["revenue", "cost_of_sales", "administrative", "financial", "operating_profit", "net_profit"]
        ),
        ["50000.00", "30000.00", "8000.00", "50.00", "11950.00", "11950.00"]
    );
    // 资产负债表 (会小企01表): cash 300,000 + 20,000 − 50; VAT 6,500 − 5,200 still owed.
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2025-12").await.json();
    let expected = [
        ("cash", "319950.00"),
        ("receivables", "36500.00"),
        ("inventories", "10000.00"),
        ("total_assets", "366450.00"),
        ("payables", "45200.00"),
        ("payroll", "8000.00"),
        ("taxes", "1300.00"),
        ("total_liabilities", "54500.00"),
        ("paid_in_capital", "300000.00"),
        ("retained_earnings", "11950.00"),
        ("total_liabilities_and_equity", "366450.00"),
    ];
    let keys: Vec<&str> = expected.iter().map(|(k, _)| *k).collect();
    assert_eq!(figures(&sheet, &keys), expected.iter().map(|(_, v)| v.to_string()).collect::<Vec<_>>());
    assert_eq!(
        sheet["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["key"] == "total_equity")
            .map(|l| l["label_zh"].clone()),
        Some(json!("所有者权益（或股东权益）合计")),
        "the small-enterprise form's own labels"
    );

    // December closes the year: the profit goes to 3103 本年利润, then on to 3104 利润分配.
    let closed = api.post("/api/v1/finance/periods/2025-12/close", &json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(
        closing_balances(&api, "2025-12", "2025-12", &["3103", "3104", "5001", "5602"]).await,
        ["0.00", "-11950.00", "0.00", "0.00"]
    );
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2025-12").await.json();
    assert_eq!(line(&sheet, "retained_earnings"), "11950.00");
    assert_eq!(line(&sheet, "total_assets"), line(&sheet, "total_liabilities_and_equity"));
    let income = api.get("/api/v1/finance/reports/income-statement?from=2025-12&to=2025-12").await.json();
    assert_eq!(line(&income, "net_profit"), "11950.00", "a closed month still shows its result");
}

#[tokio::test]
async fn the_generic_english_chart_posts_invoices_and_receipts_to_its_own_accounts() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let set_up =
        api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 3, "template": "generic_en"})).await;
    assert_eq!(set_up.status, StatusCode::CREATED, "{}", set_up.body);
    post(&api, voucher("2026-03-01", "Share capital paid in", &[("1010", "100000.00", ""), ("3000", "", "100000.00")]))
        .await;
    let refused = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-02", "a CAS code", &[("6602", "1.00", ""), ("1010", "", "1.00")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.json()["errors"][0]["code"], "error.finance.unknown_account");

    let client = party(&api, "Harbour Consulting Ltd", "customer").await;
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": client, "date": "2026-03-10",
               "lines": [{"description": "Advisory, March", "quantity": "1", "unit_price": "10000.00", "vat_rate": "6"}]}),
    )
    .await;
    assert_eq!(
        voucher_lines(&api, &invoice["entry_id"]).await,
        owned(&[("1100", "10600.00", "0.00"), ("4000", "0.00", "10000.00"), ("230002", "0.00", "600.00")])
    );
    // The receipt goes to the chart's bank account when none is named.
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": client, "date": "2026-03-25", "amount": "10600.00"}),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    post(&api, voucher("2026-03-31", "Office rent", &[("6100", "2000.00", ""), ("1010", "", "2000.00")])).await;
    assert_eq!(api.post("/api/v1/finance/periods/2026-03/close", &json!({})).await.status, StatusCode::OK);
    assert_eq!(
        closing_balances(&api, "2026-03", "2026-03", &["1010", "1100", "3200", "4000"]).await,
        ["108600.00", "0.00", "-8000.00", "0.00"]
    );

    let income = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03").await.json();
    assert_eq!(
        ["revenue", "gross_profit", "administrative", "operating_profit", "net_profit"].map(|k| line(&income, k)),
        ["10000.00", "10000.00", "2000.00", "8000.00", "8000.00"]
    );
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
    assert_eq!(
        ["cash", "total_assets", "taxes", "share_capital", "retained_earnings", "total_liabilities_and_equity"]
            .map(|k| line(&sheet, k)),
        ["108600.00", "108600.00", "600.00", "100000.00", "8000.00", "108600.00"]
    );
}

#[tokio::test]
async fn the_chart_is_chosen_on_the_set_up_form_and_shown_with_the_accounts() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin").await;
    let form = browser.get("/finance/accounts").await;
    assert!(form.body.contains(r#"<option value="small_enterprise">小企业会计准则</option>"#), "{}", form.body);
    let set_up = browser
        .post_form("/finance/accounts", "/finance/setup", &[("template", "small_enterprise"), ("year", "2026")])
        .await;
    assert_eq!(set_up.status, StatusCode::SEE_OTHER, "{}", set_up.body);
    let page = browser.get("/finance/accounts").await;
    assert!(page.body.contains("<strong>小企业会计准则</strong>") && page.body.contains("3103"), "{}", page.body);
    let again =
        browser.post_form("/finance/accounts", "/finance/setup", &[("template", "cas"), ("year", "2026")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the chart is chosen once");
}

#[tokio::test]
async fn the_small_enterprise_and_english_sheets_put_each_partys_balance_on_its_own_side() {
    for (template, bank, advance_account) in [("small_enterprise", "1002", "2203"), ("generic_en", "1010", "2150")] {
        let app = spawn_app().await;
        let api = app.api("admin").await;
        api.post("/api/v1/finance/setup", &json!({"year": 2026, "template": template})).await;
        let paid_ahead = party(&api, "厦门海韵茶业有限公司", "customer").await;
        let overdrawn = party(&api, "泉州闽南食品有限公司", "customer").await;
        // 海韵 pays 1,000.00 ahead; 闽南's advance account is overdrawn by 300.00 refunded by hand.
        let receipt = api
            .post(
                "/api/v1/finance/payments",
                &json!({"kind": "receipt", "party_id": paid_ahead, "date": "2026-03-02", "amount": "1000.00", "bank_account": bank, "allocations": []}),
            )
            .await;
        assert_eq!(receipt.status, StatusCode::CREATED, "{template}: {}", receipt.body);
        let number = api.get(&format!("/api/v1/parties/{overdrawn}")).await.json()["number"]
            .as_str()
            .expect("number")
            .to_string();
        let refund = api
            .post(
                "/api/v1/finance/entries",
                &json!({"date": "2026-03-03", "word": "付", "memo": "退预收款", "lines": [
                    {"account": advance_account, "debit": "300.00", "party": number},
                    {"account": bank, "credit": "300.00"}]}),
            )
            .await;
        assert_eq!(refund.status, StatusCode::CREATED, "{template}: {}", refund.body);
        api.post(&format!("/api/v1/finance/entries/{}/post", refund.json()["id"]), &json!({})).await;
        let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
        let value = |key: &str| {
            sheet["lines"].as_array().expect("lines").iter().find(|l| l["key"] == key).expect(key)["amount"].clone()
        };
        assert_eq!(
            (value("receivables"), value("advances")),
            (json!("300.00"), json!("1000.00")),
            "{template}: {sheet}"
        );
    }
}

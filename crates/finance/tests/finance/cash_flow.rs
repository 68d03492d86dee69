//! March of a Suzhou trading company, as its cash flow statement shows it: capital paid in and
//! a bank loan, goods bought and paid for, sales partly collected (once net of the bank's fee),
//! wages and stamp duty paid, a used van bought, cash drawn for the till, the loan's interest
//! accrued and paid.

use crate::invoicing::{party, posted_invoice};
use crate::ledger::{post, voucher};
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::spawn_app;

fn figure(statement: &Value, key: &str) -> String {
    let lines = statement["lines"].as_array().expect("lines");
    lines.iter().find(|l| l["key"] == key).map(|l| l["amount"].as_str().unwrap_or("").to_string()).unwrap_or_default()
}

#[tokio::test]
async fn a_month_of_cash_adds_up_to_the_bank_and_the_till() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let maker = party(&api, "宁波灯具制造有限公司", "supplier").await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;

    post(&api, voucher("2026-03-01", "收到股东投资款", &[("1002", "500000.00", ""), ("4001", "", "500000.00")])).await;
    post(&api, voucher("2026-03-02", "取得短期借款", &[("1002", "200000.00", ""), ("2001", "", "200000.00")])).await;
    let lines =
        |price: &str| json!([{"description": "台灯", "quantity": "100", "unit_price": price, "vat_rate": "13"}]);
    posted_invoice(
        &api,
        json!({"kind": "supplier", "party_id": maker, "date": "2026-03-05", "lines": lines("1000.00")}),
    )
    .await;
    posted_invoice(&api, json!({"kind": "customer", "party_id": shop, "date": "2026-03-10", "lines": lines("500.00")}))
        .await;
    for (kind, party, date, amount) in
        [("payment", maker, "2026-03-06", "113000.00"), ("receipt", shop, "2026-03-12", "30000.00")]
    {
        let paid = api
            .post("/api/v1/finance/payments", &json!({"kind": kind, "party_id": party, "date": date, "amount": amount}))
            .await;
        assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    }
    // 20,000.00 more from the shop, which arrived less the bank's 10.00 fee.
    post(
        &api,
        voucher(
            "2026-03-15",
            "收到货款（扣手续费）",
            &[("1002", "19990.00", ""), ("6603", "10.00", ""), ("1122", "", "20000.00")],
        ),
    )
    .await;
    post(&api, voucher("2026-03-18", "计提工资", &[("6602", "15000.00", ""), ("2211", "", "15000.00")])).await;
    post(&api, voucher("2026-03-20", "发放工资", &[("2211", "15000.00", ""), ("1002", "", "15000.00")])).await;
    post(&api, voucher("2026-03-21", "缴纳印花税", &[("6403", "150.00", ""), ("1002", "", "150.00")])).await;
    post(&api, voucher("2026-03-25", "购入二手货车", &[("1601", "8000.00", ""), ("1002", "", "8000.00")])).await;
    post(&api, voucher("2026-03-28", "提取备用金", &[("1001", "5000.00", ""), ("1002", "", "5000.00")])).await;
    post(&api, voucher("2026-03-31", "计提借款利息", &[("6603", "800.00", ""), ("2231", "", "800.00")])).await;
    post(&api, voucher("2026-03-31", "支付借款利息", &[("2231", "800.00", ""), ("1002", "", "800.00")])).await;

    let statement = api.get("/api/v1/finance/reports/cash-flow?from=2026-03&to=2026-03").await;
    assert_eq!(statement.status, StatusCode::OK, "{}", statement.body);
    let statement = statement.json();
    for (line, amount) in [
        // 30,000.00 received and 20,000.00 of which the bank kept 10.00.
        ("op_in_sales", "50000.00"),
        ("op_in_total", "50000.00"),
        ("op_out_purchases", "113000.00"),
        ("op_out_staff", "15000.00"),
        ("op_out_taxes", "150.00"),
        ("op_out_other", "10.00"),
        ("op_out_total", "128160.00"),
        ("op_net", "-78160.00"),
        ("inv_out_assets", "8000.00"),
        ("inv_net", "-8000.00"),
        ("fin_in_capital", "500000.00"),
        ("fin_in_loans", "200000.00"),
        ("fin_out_interest", "800.00"),
        ("fin_net", "699200.00"),
        ("exchange", "0.00"),
        // Cash drawn for the till moved from the bank to cash: no flow.
        ("net_increase", "613040.00"),
        ("opening", "0.00"),
        ("closing", "613040.00"),
    ] {
        assert_eq!(figure(&statement, line), amount, "{line}: {statement}");
    }
    assert_eq!(statement["cash_in_ledger"], "613040.00", "the statement ties to 1001 + 1002");
    let sales = statement["lines"].as_array().expect("lines").iter().find(|l| l["key"] == "op_in_sales").cloned();
    assert_eq!(sales.map(|l| l["accounts"].clone()), Some(json!([{"code": "1122", "amount": "50000.00"}])));

    // April starts from March's cash; a reversal takes its voucher's flow away again.
    let wrong = post(&api, voucher("2026-04-02", "误付", &[("6602", "300.00", ""), ("1002", "", "300.00")])).await;
    let reversed =
        api.post(&format!("/api/v1/finance/entries/{}/reverse", wrong["id"]), &json!({"date": "2026-04-03"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    let april = api.get("/api/v1/finance/reports/cash-flow?from=2026-04&to=2026-04").await.json();
    for (line, amount) in [("opening", "613040.00"), ("op_out_other", "0.00"), ("closing", "613040.00")] {
        assert_eq!(figure(&april, line), amount, "{line}: {april}");
    }

    // The page: the quarter to date, a figure opening its accounts, and the download.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/reports/cash-flow?from=2026-03&to=2026-03&line=op_out_purchases").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let opened = page.body.split("id=\"accounts\"").nth(1).expect("the opened line");
    assert!(opened.contains("购买商品、接受劳务支付的现金") && opened.contains("code=2202"), "{opened}");
    assert!(opened.contains("113,000.00"), "{opened}");
    let csv = browser.get("/finance/reports/cash-flow?from=2026-03&to=2026-03&format=csv").await;
    assert!(csv.body.contains("吸收投资收到的现金") && csv.body.contains("500000.00"), "{}", csv.body);
    let refused = browser.get("/finance/reports/cash-flow?from=2026-05&to=2026-03").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_small_enterprise_reads_its_own_form_with_interest_apart_from_profits() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "template": "small_enterprise"})).await;
    post(&api, voucher("2026-03-01", "收到投资款", &[("1002", "300000.00", ""), ("3001", "", "300000.00")])).await;
    post(&api, voucher("2026-03-02", "取得借款", &[("1002", "100000.00", ""), ("2001", "", "100000.00")])).await;
    post(&api, voucher("2026-03-20", "计提利息", &[("5603", "500.00", ""), ("2231", "", "500.00")])).await;
    post(&api, voucher("2026-03-21", "支付利息", &[("2231", "500.00", ""), ("1002", "", "500.00")])).await;
    post(&api, voucher("2026-03-25", "宣告分配利润", &[("3104", "20000.00", ""), ("2232", "", "20000.00")])).await;
    post(&api, voucher("2026-03-26", "支付利润", &[("2232", "20000.00", ""), ("1002", "", "20000.00")])).await;
    post(&api, voucher("2026-03-30", "归还部分借款", &[("2001", "30000.00", ""), ("1002", "", "30000.00")])).await;

    let statement = api.get("/api/v1/finance/reports/cash-flow?from=2026-03&to=2026-03").await.json();
    for (line, amount) in [
        ("fin_in_capital", "300000.00"),
        ("fin_in_loans", "100000.00"),
        ("fin_out_repay", "30000.00"),
        ("fin_out_interest", "500.00"),
        ("fin_out_profit", "20000.00"),
        ("fin_net", "349500.00"),
        ("closing", "349500.00"),
    ] {
        assert_eq!(figure(&statement, line), amount, "{line}: {statement}");
    }
    assert_eq!(statement["cash_in_ledger"], "349500.00");
    let keys: Vec<&str> =
        statement["lines"].as_array().expect("lines").iter().filter_map(|l| l["key"].as_str()).collect();
    assert!(
        !keys.contains(&"op_in_tax_refund") && !keys.contains(&"exchange") && !keys.contains(&"op_in_total"),
        "{keys:?}"
    );
    let page = app.signed_in("admin").await.get("/finance/reports/cash-flow?from=2026-03&to=2026-03").await;
    assert!(page.body.contains("会小企03表") && page.body.contains("分配利润支付的现金"), "{}", page.body);
}

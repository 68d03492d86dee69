//! A Suzhou trading company's VAT over three months, as its accountant files it: March's sales
//! at 13 % and 6 % (one partly credited), an export at 0 % in dollars, a bill and a hand-entered
//! voucher of input VAT, the month's unpaid VAT transferred; April's large purchase leaving a
//! credit carried forward; May's sales using it up.

use crate::invoicing::{party, posted_invoice};
use crate::ledger::{post, voucher};
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

fn document(kind: &str, party: i64, date: &str, lines: &[(&str, &str, &str, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(description, quantity, price, rate)| {
            json!({"description": description, "quantity": quantity, "unit_price": price, "vat_rate": rate})
        })
        .collect();
    json!({"kind": kind, "party_id": party, "date": date, "lines": lines})
}

async fn vat(api: &ApiClient, month: &str) -> Value {
    let report = api.get(&format!("/api/v1/finance/reports/vat?from={month}&to={month}")).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    report.json()
}

fn schedule(report: &Value, side: &str) -> Vec<(String, i64, String, String)> {
    report[side]
        .as_array()
        .expect("schedule")
        .iter()
        .map(|r| {
            (
                r["vat_rate"].as_str().unwrap_or("").to_string(),
                r["documents"].as_i64().unwrap_or(-1),
                r["net"].as_str().unwrap_or("").to_string(),
                r["tax"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn row(rate: &str, documents: i64, net: &str, tax: &str) -> (String, i64, String, String) {
    (rate.into(), documents, net.into(), tax.into())
}

#[tokio::test]
async fn three_months_of_vat_are_reported_transferred_and_carried_forward() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;
    let abroad = party(&api, "Pacific Home Goods Inc.", "customer").await;
    let maker = party(&api, "宁波灯具制造有限公司", "supplier").await;

    // March: ten lamps at 1,000.00 (13 %), two days of installation at 1,000.00 (6 %) of which
    // one is credited, USD 1,000.00 of lamps exported at 7.1 (0 %); lamps bought for 5,000.00
    // (13 %), and a hand-entered office bill of 300.00 with 39.00 of input VAT.
    posted_invoice(&api, document("customer", shop, "2026-03-05", &[("台灯", "10", "1000.00", "13")])).await;
    let service =
        posted_invoice(&api, document("customer", shop, "2026-03-06", &[("安装服务", "2", "1000.00", "6")])).await;
    let credit = api
        .post(
            &format!("/api/v1/finance/invoices/{}/credit-note", service["id"]),
            &json!({"date": "2026-03-20", "lines": [{"description": "安装服务", "quantity": "1", "unit_price": "1000.00", "vat_rate": "6"}]}),
        )
        .await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.body);
    let mut export = document("customer", abroad, "2026-03-10", &[("LED desk lamp", "100", "10.00", "0")]);
    export["currency"] = json!("USD");
    export["rate"] = json!("7.1");
    posted_invoice(&api, export).await;
    posted_invoice(&api, document("supplier", maker, "2026-03-08", &[("台灯", "10", "500.00", "13")])).await;
    post(
        &api,
        voucher("2026-03-15", "办公用品", &[("6602", "300.00", ""), ("22210101", "39.00", ""), ("1002", "", "339.00")]),
    )
    .await;

    let march = vat(&api, "2026-03").await;
    assert_eq!(
        schedule(&march, "sales"),
        vec![row("13", 1, "10000.00", "1300.00"), row("6", 2, "1000.00", "60.00"), row("0", 1, "7100.00", "0.00")]
    );
    assert_eq!(schedule(&march, "purchases"), vec![row("13", 1, "5000.00", "650.00")]);
    // The credit note counts as a document of its own; each document once in the total.
    assert_eq!((march["sales_documents"].as_i64(), march["purchase_documents"].as_i64()), (Some(4), Some(1)));
    // Output 1,360.00 less input 689.00 (650.00 billed, 39.00 by hand): 671.00 payable.
    for (figure, amount) in [
        ("output", "1360.00"),
        ("input", "689.00"),
        ("opening", "0.00"),
        ("payable", "671.00"),
        ("to_transfer", "671.00"),
        ("carried_forward", "0.00"),
    ] {
        assert_eq!(march[figure], amount, "{figure}: {march}");
    }

    // The month's unpaid VAT goes to 未交增值税; a second transfer finds nothing to move.
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.status, StatusCode::CREATED, "{}", transferred.body);
    let entry = api.get(&format!("/api/v1/finance/entries/{}", transferred.json()["entry_id"])).await.json();
    let lines: Vec<(&str, &str, &str)> = entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (l["account"].as_str().unwrap_or(""), l["debit"].as_str().unwrap_or(""), l["credit"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(lines, vec![("22210104", "671.00", "0.00"), ("222102", "0.00", "671.00")]);
    assert_eq!((entry["date"].as_str(), entry["word"].as_str()), (Some("2026-03-31"), Some("转")));
    let again = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!((again.status, again.json()["entry_id"].clone()), (StatusCode::OK, Value::Null));
    let after = vat(&api, "2026-03").await;
    assert_eq!((after["settled"].as_str(), after["to_transfer"].as_str()), (Some("671.00"), Some("0.00")));

    // April: March's VAT paid to the tax office; 20,000.00 of lamps bought (2,600.00 input),
    // one sale of 1,000.00 (130.00 output): 2,470.00 carried forward, nothing to transfer.
    post(&api, voucher("2026-04-15", "缴纳三月增值税", &[("222102", "671.00", ""), ("1002", "", "671.00")])).await;
    posted_invoice(&api, document("supplier", maker, "2026-04-02", &[("台灯", "40", "500.00", "13")])).await;
    posted_invoice(&api, document("customer", shop, "2026-04-20", &[("台灯", "1", "1000.00", "13")])).await;
    let april = vat(&api, "2026-04").await;
    for (figure, amount) in
        [("opening", "0.00"), ("payable", "0.00"), ("carried_forward", "2470.00"), ("to_transfer", "0.00")]
    {
        assert_eq!(april[figure], amount, "{figure}: {april}");
    }
    let nothing = api.post("/api/v1/finance/periods/2026-04/vat-transfer", &json!({})).await;
    assert_eq!(nothing.status, StatusCode::OK, "{}", nothing.body);

    // May: 30,000.00 of sales (3,900.00 output) use up April's credit: 1,430.00 payable.
    posted_invoice(&api, document("customer", shop, "2026-05-08", &[("台灯", "30", "1000.00", "13")])).await;
    let may = vat(&api, "2026-05").await;
    for (figure, amount) in
        [("opening", "-2470.00"), ("payable", "1430.00"), ("to_transfer", "1430.00"), ("carried_forward", "0.00")]
    {
        assert_eq!(may[figure], amount, "{figure}: {may}");
    }
    // The quarter at once: the figures run from March's opening, and the tax payable is each
    // month's: 671.00 in March, none in April, 1,430.00 in May.
    let quarter = api.get("/api/v1/finance/reports/vat?from=2026-03&to=2026-05").await.json();
    assert_eq!((quarter["output"].as_str(), quarter["input"].as_str()), (Some("5390.00"), Some("3289.00")));
    assert_eq!((quarter["payable"].as_str(), quarter["settled"].as_str()), (Some("2101.00"), Some("671.00")));

    // With May closed, its transfer is refused beside the button on the page.
    for month in ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"] {
        let closed = api.post(&format!("/api/v1/finance/periods/{month}/close"), &json!({})).await;
        assert_eq!(closed.status, StatusCode::OK, "{month}: {}", closed.body);
    }
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/reports/vat?from=2026-05&to=2026-05").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let payable = page.body.split("id=\"vat-payable\"").nth(1).expect("payable");
    assert!(payable[..payable.find("</tr>").expect("row")].contains("1,430.00"), "{}", page.body);
    assert!(page.body.contains("/finance/reports/account?code=22210102&amp;from=2026-05&amp;to=2026-05"));
    let refused = browser
        .post_form(
            "/finance/reports/vat?from=2026-05&to=2026-05",
            "/finance/reports/vat/transfer",
            &[("period", "2026-05")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(app.count("fin_entries WHERE kind = 'vat_transfer'").await, 1, "only March's transfer was posted");
    let at_button = refused.body.split("id=\"vat-transfer\"").nth(1).expect("the transfer form");
    assert!(at_button.contains("role=\"alert\""), "{at_button}");
    let csv = browser.get("/finance/reports/vat?from=2026-03&to=2026-03&format=csv").await;
    assert!(csv.body.contains("671.00") && csv.body.contains("10000.00"), "{}", csv.body);
}

#[tokio::test]
async fn the_generic_chart_transfers_unpaid_vat_to_its_own_accounts() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "template": "generic_en"})).await;
    let shop = party(&api, "Suzhou Department Store", "customer").await;
    posted_invoice(&api, document("customer", shop, "2026-03-05", &[("Lamp", "10", "100.00", "13")])).await;
    assert_eq!(vat(&api, "2026-03").await["to_transfer"], "130.00");
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.status, StatusCode::CREATED, "{}", transferred.body);
    let entry = api.get(&format!("/api/v1/finance/entries/{}", transferred.json()["entry_id"])).await.json();
    assert_eq!(
        (entry["lines"][0]["account"].as_str(), entry["lines"][1]["account"].as_str()),
        (Some("230005"), Some("230003"))
    );
    let after = vat(&api, "2026-03").await;
    assert_eq!((after["output"].as_str(), after["to_transfer"].as_str()), (Some("130.00"), Some("0.00")));
}

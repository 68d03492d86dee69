//! A Suzhou trading company's VAT over three months, as its accountant files it: March's sales
//! at 13 % and 6 % (one partly credited), an export at 0 % in dollars, a bill and a hand-entered
//! voucher of input VAT, the month's unpaid VAT transferred and its surtaxes accrued, both paid
//! in April; April's large purchase leaving a credit carried forward; May's sales using it up.

use crate::invoicing::{party, posted_invoice};
use crate::ledger::{post, voucher};
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

pub(crate) fn document(kind: &str, party: i64, date: &str, lines: &[(&str, &str, &str, &str)]) -> Value {
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

/// Each surtax of a return as one line: its rate, what is due, accrued and still to accrue.
fn surtaxes(report: &Value) -> Vec<String> {
    report["surtaxes"]
        .as_array()
        .expect("surtaxes")
        .iter()
        .map(|s| {
            let text = |key: &str| s[key].as_str().unwrap_or("?").to_string();
            format!(
                "{} {}%: due {}, accrued {}, to accrue {}",
                text("tax"),
                text("rate"),
                text("due"),
                text("accrued"),
                text("to_accrue")
            )
        })
        .collect()
}

/// A voucher's lines as (account, debit, credit).
fn lines(entry: &Value) -> Vec<(&str, &str, &str)> {
    entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (l["account"].as_str().unwrap_or(""), l["debit"].as_str().unwrap_or(""), l["credit"].as_str().unwrap_or(""))
        })
        .collect()
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

    // The surtaxes on the 671.00 of a company in the city: 7 % urban construction tax, none
    // accrued yet. Its 18,100.00 of sales are under 100,000.00, so the month owes no
    // education surcharges, and the return says why.
    assert_eq!(
        surtaxes(&march),
        vec![
            "urban_construction 7%: due 46.97, accrued 0.00, to accrue 46.97",
            "education 3%: due 0.00, accrued 0.00, to accrue 0.00",
            "local_education 2%: due 0.00, accrued 0.00, to accrue 0.00",
        ]
    );
    assert_eq!(march["education_exempt_months"], json!(["2026-03"]));

    // The month's unpaid VAT goes to 未交增值税, and its surtaxes are accrued to 税金及附加 on
    // the same day; a second transfer finds nothing to move or accrue.
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.status, StatusCode::CREATED, "{}", transferred.body);
    let entry = api.get(&format!("/api/v1/finance/entries/{}", transferred.json()["entry_id"])).await.json();
    assert_eq!(lines(&entry), vec![("22210104", "671.00", "0.00"), ("222102", "0.00", "671.00")]);
    assert_eq!((entry["date"].as_str(), entry["word"].as_str()), (Some("2026-03-31"), Some("转")));
    let accrual = transferred.json()["surtaxes"].clone();
    assert_eq!(accrual["amount"], "46.97", "{accrual}");
    let entry = api.get(&format!("/api/v1/finance/entries/{}", accrual["entry_id"])).await.json();
    assert_eq!(lines(&entry), vec![("6403", "46.97", "0.00"), ("222104", "0.00", "46.97")]);
    assert_eq!((entry["date"].as_str(), entry["kind"].as_str()), (Some("2026-03-31"), Some("surtax_accrual")));
    let again = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!((again.status, again.json()["entry_id"].clone()), (StatusCode::OK, Value::Null));
    assert_eq!(again.json()["surtaxes"]["entry_id"], Value::Null);
    let after = vat(&api, "2026-03").await;
    assert_eq!((after["settled"].as_str(), after["to_transfer"].as_str()), (Some("671.00"), Some("0.00")));
    assert_eq!(surtaxes(&after)[0], "urban_construction 7%: due 46.97, accrued 46.97, to accrue 0.00");
    let income = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03").await.json();
    let taxes = income["lines"].as_array().expect("lines").iter().find(|l| l["key"] == "taxes_surcharges").cloned();
    assert_eq!(taxes.map(|l| l["amount"].clone()), Some(json!("46.97")), "{income}");

    // April: March's VAT and surtaxes are paid to the tax office together, 717.97 from the
    // bank on the 15th. A day within March is refused beside it, and nothing is paid twice.
    assert_eq!(
        after["to_pay"],
        json!({"vat": "671.00", "simplified_vat": "0.00", "urban_construction": "46.97", "education": "0.00", "local_education": "0.00", "total": "717.97"})
    );
    let early = api.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-03-31"})).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", early.body);
    assert_eq!(early.json()["errors"][0]["field"], "date", "{}", early.body);
    // A bank sub-account that does not exist is refused beside the bank account.
    let unknown = api
        .post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-15", "bank_account": "100299"}))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    assert_eq!(unknown.json()["errors"][0]["field"], "bank_account", "{}", unknown.body);
    let paid = api.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-15"})).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.json()["paid"]["total"], "717.97");
    let entry = api.get(&format!("/api/v1/finance/entries/{}", paid.json()["entry_id"])).await.json();
    assert_eq!(
        lines(&entry),
        vec![("222102", "671.00", "0.00"), ("222104", "46.97", "0.00"), ("1002", "0.00", "717.97")]
    );
    assert_eq!((entry["word"].as_str(), entry["period"].as_str()), (Some("付"), Some("2026-04")));
    let twice = api.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-16"})).await;
    assert_eq!((twice.status, twice.json()["entry_id"].clone()), (StatusCode::OK, Value::Null), "{}", twice.body);
    assert_eq!(vat(&api, "2026-03").await["to_pay"]["total"], "0.00");

    // April: 20,000.00 of lamps bought (2,600.00 input), one sale of 1,000.00 (130.00
    // output): 2,470.00 carried forward, nothing to transfer and no surtax.
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
    let due: Vec<&str> =
        may["surtaxes"].as_array().expect("surtaxes").iter().map(|s| s["due"].as_str().unwrap_or("")).collect();
    assert_eq!(due, vec!["100.10", "0.00", "0.00"]);
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

#[tokio::test]
async fn a_small_county_company_pays_half_surtaxes_on_the_generic_chart() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "template": "generic_en"})).await;
    // A company in a county town (5 %) with the small taxpayers' halving.
    let patch = async |body: Value| api.call(axum::http::Method::PATCH, "/api/v1/finance/settings", Some(&body)).await;
    let wrong = patch(json!({"urban_tax_rate": "6", "surtax_relief": "quarter"})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let errors = wrong.json()["errors"].clone();
    let fields: Vec<&str> = errors.as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, vec!["urban_tax_rate", "surtax_relief"]);
    let saved = patch(json!({"urban_tax_rate": "5", "surtax_relief": "half"})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        (
            saved.json()["urban_tax_rate"].clone(),
            saved.json()["surtax_relief"].clone(),
            saved.json()["vat_rounding"].clone()
        ),
        (json!("5"), json!("half"), json!("line"))
    );

    // 120,000.00 of sales, over the 100,000.00 that would exempt the education surcharges:
    // 15,600.00 of VAT, on which 780.00, 468.00 and 312.00 are halved.
    let shop = party(&api, "Suzhou Department Store", "customer").await;
    posted_invoice(&api, document("customer", shop, "2026-03-05", &[("Lamp", "1200", "100.00", "13")])).await;
    let march = vat(&api, "2026-03").await;
    assert_eq!(
        surtaxes(&march),
        vec![
            "urban_construction 5%: due 390.00, accrued 0.00, to accrue 390.00",
            "education 3%: due 234.00, accrued 0.00, to accrue 234.00",
            "local_education 2%: due 156.00, accrued 0.00, to accrue 156.00",
        ]
    );
    assert_eq!(march["education_exempt_months"], json!([]));
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.status, StatusCode::CREATED, "{}", transferred.body);
    let entry =
        api.get(&format!("/api/v1/finance/entries/{}", transferred.json()["surtaxes"]["entry_id"])).await.json();
    assert_eq!(
        lines(&entry),
        vec![
            ("6300", "780.00", "0.00"),
            ("230006", "0.00", "390.00"),
            ("230007", "0.00", "234.00"),
            ("230008", "0.00", "156.00")
        ]
    );

    // Paid from the page on the 15th of April from the bank account, 1010 on this chart; an
    // expense account typed as the bank is refused beside it, and nothing is paid. (While
    // March lasted, its page had no payment form: a month's taxes are paid once it ends.)
    let in_march = app.signed_in("admin").await.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    assert!(in_march.body.contains("id=\"vat-surtaxes\"") && !in_march.body.contains("id=\"tax-payment\""));
    app.clock.advance(chrono::Duration::days(31));
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    let form = page.body.split("id=\"tax-payment\"").nth(1).expect("the payment form");
    assert!(form.contains("16,380.00") && form.contains("value=\"2026-04-15\""), "{form}");
    let refused = browser
        .post_form(
            "/finance/reports/vat?from=2026-03&to=2026-03",
            "/finance/reports/vat/pay",
            &[("period", "2026-03"), ("date", "2026-04-15"), ("bank_account", "6300")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let beside = refused.body.split("id=\"pay-bank\"").nth(1).expect("the bank field");
    assert!(beside[..beside.find("</div>").expect("field")].contains("role=\"alert\""), "{beside}");
    assert_eq!(app.count("fin_entries WHERE kind = 'tax_payment'").await, 0);
    let paid = browser
        .post_form(
            "/finance/reports/vat?from=2026-03&to=2026-03",
            "/finance/reports/vat/pay",
            &[("period", "2026-03"), ("date", "2026-04-15"), ("bank_account", "1010")],
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    assert_eq!(app.count("fin_entries WHERE kind = 'tax_payment' AND status = 'posted'").await, 1);
    assert_eq!(vat(&api, "2026-03").await["to_pay"]["total"], "0.00");
}

#[tokio::test]
async fn the_tax_control_service_fee_and_a_travel_agencys_deduction_lower_the_months_tax() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;
    let maker = party(&api, "宁波灯具制造有限公司", "supplier").await;
    // March: lamps sold for 100,000.00 (13,000.00 output) and bought for 20,000.00 (2,600.00
    // input). The year's service fee of the tax-control system, 280.00, is taken off the tax
    // in full (减免税款); and 600.00 of output VAT is taken off for tickets resold at their
    // cost under the difference method (销项税额抵减).
    posted_invoice(&api, document("customer", shop, "2026-03-05", &[("台灯", "1000", "100.00", "13")])).await;
    posted_invoice(&api, document("supplier", maker, "2026-03-06", &[("台灯", "200", "100.00", "13")])).await;
    post(&api, voucher("2026-03-10", "税控系统技术维护费", &[("6602", "280.00", ""), ("1002", "", "280.00")])).await;
    post(&api, voucher("2026-03-10", "技术维护费全额抵减", &[("22210106", "280.00", ""), ("6602", "", "280.00")]))
        .await;
    post(&api, voucher("2026-03-20", "差额征税抵减销项税额", &[("22210107", "600.00", ""), ("6401", "", "600.00")]))
        .await;

    // 13,000.00 − 2,600.00 − 280.00 − 600.00 = 9,520.00, and the surtaxes are on that.
    let march = vat(&api, "2026-03").await;
    for (figure, amount) in [
        ("output", "13000.00"),
        ("input", "2600.00"),
        ("reduction", "280.00"),
        ("output_deduction", "600.00"),
        ("payable", "9520.00"),
        ("to_transfer", "9520.00"),
        ("settled", "0.00"),
        ("surtax_base", "9520.00"),
    ] {
        assert_eq!(march[figure], amount, "{figure}: {march}");
    }
    assert_eq!(surtaxes(&march)[0], "urban_construction 7%: due 666.40, accrued 0.00, to accrue 666.40");
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.json()["amount"], "9520.00", "{}", transferred.body);
    let after = vat(&api, "2026-03").await;
    assert_eq!(
        (after["to_transfer"].as_str(), after["carried_forward"].as_str()),
        (Some("0.00"), Some("0.00")),
        "{after}"
    );
    let page = app.signed_in("admin").await.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    for (row, amount) in [("vat-reduction", "280.00"), ("vat-output-deduction", "600.00")] {
        let cell = page.body.split(&format!("id=\"{row}\"")).nth(1).expect("the row");
        assert!(cell[..cell.find("</tr>").expect("row end")].contains(amount), "{row}");
    }
}

#[tokio::test]
async fn input_vat_taken_back_for_lost_goods_adds_to_the_months_tax() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;
    let maker = party(&api, "宁波灯具制造有限公司", "supplier").await;
    // March: ten lamps bought for 5,000.00 (650.00 input VAT), five sold for 10,000.00
    // (1,300.00 output); the other five were stolen from the warehouse, so the input VAT on
    // them, 325.00, is taken back (进项税额转出) with their cost to 待处理财产损溢.
    posted_invoice(&api, document("supplier", maker, "2026-03-02", &[("台灯", "10", "500.00", "13")])).await;
    posted_invoice(&api, document("customer", shop, "2026-03-20", &[("台灯", "5", "2000.00", "13")])).await;
    post(
        &api,
        voucher(
            "2026-03-25",
            "台灯被盗，进项税额转出",
            &[("1901", "2825.00", ""), ("1405", "", "2500.00"), ("22210105", "", "325.00")],
        ),
    )
    .await;
    let march = vat(&api, "2026-03").await;
    // 1,300.00 − 650.00 + 325.00 = 975.00.
    for (figure, amount) in [
        ("output", "1300.00"),
        ("input", "650.00"),
        ("input_reversed", "325.00"),
        ("payable", "975.00"),
        ("to_transfer", "975.00"),
        ("settled", "0.00"),
    ] {
        assert_eq!(march[figure], amount, "{figure}: {march}");
    }
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.json()["amount"], "975.00", "{}", transferred.body);
    let page = app.signed_in("admin").await.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    let row = page.body.split("id=\"vat-input-reversed\"").nth(1).expect("the row");
    assert!(row[..row.find("</tr>").expect("row end")].contains("325.00"), "{}", page.body);
}

#[tokio::test]
async fn a_credit_note_after_the_month_end_brings_sales_under_the_limit_and_the_surcharges_are_taken_back() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;

    // March: 120 lamps sold for 120,000.00 (15,600.00 output VAT), and the month-end run on
    // the 25th: the VAT transferred, 1,092.00, 468.00 and 312.00 of surtaxes accrued.
    let sale =
        posted_invoice(&api, document("customer", shop, "2026-03-05", &[("台灯", "120", "1000.00", "13")])).await;
    let first = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.json()["surtaxes"]["amount"], "1872.00", "{}", first.body);

    // On the 28th twenty lamps come back: a credit note of 20,000.00 leaves 100,000.00 of
    // sales, which owes no education surcharges. The accountant reverses the early transfer
    // and runs the month-end again.
    let credit = api
        .post(
            &format!("/api/v1/finance/invoices/{}/credit-note", sale["id"]),
            &json!({"date": "2026-03-28", "lines": [{"description": "台灯", "quantity": "20", "unit_price": "1000.00", "vat_rate": "13"}]}),
        )
        .await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.body);
    let reversed = api
        .post(&format!("/api/v1/finance/entries/{}/reverse", first.json()["entry_id"]), &json!({"date": "2026-03-28"}))
        .await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    let march = vat(&api, "2026-03").await;
    assert_eq!((march["payable"].as_str(), march["to_transfer"].as_str()), (Some("13000.00"), Some("13000.00")));
    assert_eq!(
        surtaxes(&march),
        vec![
            "urban_construction 7%: due 910.00, accrued 1092.00, to accrue -182.00",
            "education 3%: due 0.00, accrued 468.00, to accrue -468.00",
            "local_education 2%: due 0.00, accrued 312.00, to accrue -312.00",
        ]
    );
    assert_eq!(march["education_exempt_months"], json!(["2026-03"]));

    // The second run transfers 13,000.00 and takes back what was accrued too much in red ink
    // (红字冲回): 962.00 off 税金及附加, so March's surtaxes are the 910.00 it owes.
    let second = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.json()["amount"], "13000.00", "{}", second.body);
    let taken_back =
        api.get(&format!("/api/v1/finance/entries/{}", second.json()["surtaxes"]["entry_id"])).await.json();
    assert_eq!(
        lines(&taken_back),
        vec![
            ("6403", "-962.00", "0.00"),
            ("222104", "0.00", "-182.00"),
            ("222105", "0.00", "-468.00"),
            ("222106", "0.00", "-312.00")
        ]
    );
    assert_eq!(taken_back["memo"], "冲回 2026-03 多计提附加税费");
    let after = vat(&api, "2026-03").await;
    assert!(surtaxes(&after).iter().all(|s| s.ends_with("to accrue 0.00")), "{after}");
    assert_eq!(after["to_pay"]["total"], "13910.00");
    let income = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03").await.json();
    let taxes = income["lines"].as_array().expect("lines").iter().find(|l| l["key"] == "taxes_surcharges").cloned();
    assert_eq!(taxes.map(|l| l["amount"].clone()), Some(json!("910.00")), "{income}");
    let page = app.signed_in("admin").await.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    let note = page.body.split("id=\"surtax-exempt\"").nth(1).expect("the exemption's note");
    assert!(note[..note.find("</p>").expect("note")].contains("2026-03"), "{note}");

    // April: 1,000.00 of sales, but output VAT of 260.00 on goods given to a customer booked
    // by hand (视同销售). The month's sales are not all on the return, so it is not exempted.
    posted_invoice(&api, document("customer", shop, "2026-04-08", &[("台灯", "1", "1000.00", "13")])).await;
    post(
        &api,
        voucher(
            "2026-04-20",
            "赠送客户样品",
            &[("6601", "1260.00", ""), ("1405", "", "1000.00"), ("22210102", "", "260.00")],
        ),
    )
    .await;
    let april = vat(&api, "2026-04").await;
    assert_eq!(april["payable"], "390.00", "{april}");
    assert_eq!(april["education_exempt_months"], json!([]));
    let due: Vec<&str> =
        april["surtaxes"].as_array().expect("surtaxes").iter().map(|s| s["due"].as_str().unwrap_or("")).collect();
    assert_eq!(due, vec!["27.30", "11.70", "7.80"]);
}

#[tokio::test]
async fn a_general_taxpayer_renting_out_an_old_building_pays_the_simplified_methods_tax_beside_its_own() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "Suzhou Department Store", "customer").await;
    let maker = party(&api, "Ningbo Lamp Works", "supplier").await;
    let workshop = party(&api, "Kunshan Repair Shop", "supplier").await;

    // March: lamps sold for 120,000.00 at 13 %, and on the same invoice a month's rent of a
    // building owned since before 2016, 20,000.00 at the simplified method's 5 % (简易计税).
    // The rent's 1,000.00 of tax is credited to 简易计税, not to output VAT.
    let invoice = posted_invoice(
        &api,
        document(
            "customer",
            shop,
            "2026-03-05",
            &[("台灯", "1200", "100.00", "13"), ("厂房租金", "1", "20000.00", "5")],
        ),
    )
    .await;
    let voucher = api.get(&format!("/api/v1/finance/entries/{}", invoice["entry_id"])).await.json();
    assert_eq!(
        lines(&voucher),
        vec![
            ("1122", "156600.00", "0.00"),
            ("6001", "0.00", "140000.00"),
            ("22210102", "0.00", "15600.00"),
            ("222107", "0.00", "1000.00")
        ]
    );
    // Bought: lamps for 50,000.00 at 13 % and a repair from a small-scale workshop for
    // 10,000.00 at 3 %; both input taxes are deducted under the general method.
    posted_invoice(&api, document("supplier", maker, "2026-03-10", &[("台灯", "100", "500.00", "13")])).await;
    posted_invoice(&api, document("supplier", workshop, "2026-03-12", &[("维修", "1", "10000.00", "3")])).await;

    // The return: the rent on a row of its own, marked as the simplified method; the general
    // method's 15,600.00 less 6,800.00 of input is 8,800.00, the rent's 1,000.00 is owed as it
    // is, 9,800.00 in all, on which the surtaxes are levied.
    let march = vat(&api, "2026-03").await;
    assert_eq!(
        schedule(&march, "sales"),
        vec![row("13", 1, "120000.00", "15600.00"), row("5", 1, "20000.00", "1000.00")]
    );
    assert_eq!(march["sales"][1]["simplified_method"], true);
    assert_eq!(
        schedule(&march, "purchases"),
        vec![row("13", 1, "50000.00", "6500.00"), row("3", 1, "10000.00", "300.00")]
    );
    let figures = |r: &Value| {
        ["output", "input", "payable", "simplified", "tax_due", "to_transfer", "surtax_base"]
            .map(|k| r[k].as_str().unwrap_or("?").to_string())
    };
    assert_eq!(figures(&march), ["15600.00", "6800.00", "8800.00", "1000.00", "9800.00", "8800.00", "9800.00"]);
    assert_eq!(
        surtaxes(&march),
        vec![
            "urban_construction 7%: due 686.00, accrued 0.00, to accrue 686.00",
            "education 3%: due 294.00, accrued 0.00, to accrue 294.00",
            "local_education 2%: due 196.00, accrued 0.00, to accrue 196.00",
        ]
    );

    // Month end: only the general method's tax moves to 未交增值税; the surtaxes are accrued
    // on both.
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.status, StatusCode::CREATED, "{}", transferred.body);
    assert_eq!(transferred.json()["amount"], "8800.00", "{}", transferred.body);
    assert_eq!(
        surtaxes(&vat(&api, "2026-03").await)[0],
        "urban_construction 7%: due 686.00, accrued 686.00, to accrue 0.00"
    );

    // Paid on 15 April: the unpaid VAT, the simplified method's tax and the surtaxes, from the
    // bank, 10,976.00; nothing is left to pay.
    let paid = api.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-15"})).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.json()["paid"]["simplified_vat"], "1000.00");
    let entry = api.get(&format!("/api/v1/finance/entries/{}", paid.json()["entry_id"])).await.json();
    assert_eq!(
        lines(&entry),
        vec![
            ("222102", "8800.00", "0.00"),
            ("222107", "1000.00", "0.00"),
            ("222104", "686.00", "0.00"),
            ("222105", "294.00", "0.00"),
            ("222106", "196.00", "0.00"),
            ("1002", "0.00", "10976.00")
        ]
    );
    assert_eq!(vat(&api, "2026-03").await["to_pay"]["total"], "0.00");
    // April's return does not count March's payment of the rent's tax as April's.
    let april = vat(&api, "2026-04").await;
    assert_eq!(figures(&april)[3..5], ["0.00".to_string(), "0.00".to_string()]);

    // The page shows the rent's rate as the simplified method's, and the tax due in all.
    let page = app.signed_in("admin").await.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    assert!(page.body.contains("5%（simplified method）") || page.body.contains("5%（简易计税）"), "{}", page.body);
    let due = page.body.split("id=\"vat-tax-due\"").nth(1).expect("the tax due");
    assert!(due[..due.find("</tr>").expect("row")].contains("9,800.00"), "{due}");
}

#[tokio::test]
async fn books_older_than_the_simplified_method_keep_their_own_222107_and_credit_old_invoices_as_they_were_posted() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "Suzhou Department Store", "customer").await;
    // Before the simplified method had its account, the books posted a sale at 3 % with its
    // tax on output VAT, and the company made 222107 its income tax payable.
    let old = posted_invoice(&api, document("customer", shop, "2026-02-10", &[("旧设备", "1", "10000.00", "3")])).await;
    let account_id = async |code: &str| -> i64 {
        let sql = format!("SELECT id FROM fin_accounts WHERE company_id = {} AND code = '{code}'", app.company_id);
        let row = sqlx::query(&sql).fetch_one(app.db.reader()).await.expect("account");
        sqlx::Row::try_get(&row, "id").expect("id")
    };
    let (template_account, output_vat) = (account_id("222107").await, account_id("22210102").await);
    let mut tx = app.db.begin(db::Actor::user(1, "admin", app.company_id)).await.expect("begin");
    let as_before = [
        format!("UPDATE fin_entry_lines SET account_id = {output_vat} WHERE entry_id = {} AND account_id = {template_account}", old["entry_id"]),
        format!("DELETE FROM fin_balances WHERE account_id = {template_account}"),
        format!("DELETE FROM fin_accounts WHERE id = {template_account}"),
    ];
    for sql in &as_before {
        tx.execute(sqlx::query(sql)).await.expect("the books as they were");
    }
    tx.commit().await.expect("commit");
    let own = api
        .post(
            "/api/v1/finance/accounts",
            &json!({"parent": "2221", "code": "222107", "name_zh": "应交所得税", "name_en": "Income tax payable"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);

    // The upgrade: the company's 222107 stays its income tax; the simplified method's account
    // is made at 222108, and the books remember it.
    let migration = include_str!("../../migrations/0037_simplified_vat.sql");
    let mut tx = app.db.begin(db::Actor::user(1, "admin", app.company_id)).await.expect("begin");
    for statement in
        migration.split(";\n").map(str::trim).filter(|s| s.contains("fin_books") && !s.contains("ALTER TABLE"))
    {
        tx.execute(sqlx::query(statement)).await.expect("the migration");
    }
    tx.commit().await.expect("commit");
    let accounts = api.get("/api/v1/finance/accounts").await.json();
    let name = |code: &str| -> String {
        let list = accounts["items"].as_array().or(accounts.as_array()).cloned().unwrap_or_default();
        list.iter().find(|a| a["code"] == code).and_then(|a| a["name_zh"].as_str()).unwrap_or("").to_string()
    };
    assert_eq!((name("222107"), name("222108")), ("应交所得税".to_string(), "简易计税".to_string()), "{accounts}");
    // The ledger needs it, so it cannot be deleted, though nothing is posted to it yet.
    let deleted = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/222108", None).await;
    assert_eq!(deleted.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", deleted.body);

    // A rent at 5 % now credits 222108; the income tax accrued on 222107 is no VAT: neither
    // the return, nor the surtaxes, nor the month's payment count it.
    let rent =
        posted_invoice(&api, document("customer", shop, "2026-03-01", &[("仓库租金", "1", "8000.00", "5")])).await;
    let rent_voucher = api.get(&format!("/api/v1/finance/entries/{}", rent["entry_id"])).await.json();
    assert!(lines(&rent_voucher).contains(&("222108", "0.00", "400.00")), "{rent_voucher}");
    post(&api, voucher("2026-03-31", "计提一季度所得税", &[("6801", "5000.00", ""), ("222107", "", "5000.00")])).await;
    let march = vat(&api, "2026-03").await;
    assert_eq!((march["simplified"].as_str(), march["surtax_base"].as_str()), (Some("400.00"), Some("400.00")));
    assert_eq!(march["to_pay"]["simplified_vat"], "400.00");

    // February's sale is credited as it was posted: its tax comes off output VAT, not off the
    // simplified method's account.
    let note =
        api.post(&format!("/api/v1/finance/invoices/{}/credit-note", old["id"]), &json!({"date": "2026-03-20"})).await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let note_voucher = api.get(&format!("/api/v1/finance/entries/{}", note.json()["entry_id"])).await.json();
    let taxed: Vec<&str> = lines(&note_voucher).iter().map(|l| l.0).filter(|a| a.starts_with("2221")).collect();
    assert_eq!(taxed, vec!["22210102"], "{note_voucher}");
}

#[tokio::test]
async fn a_month_left_untransferred_is_owed_as_filed_and_a_later_credit_is_carried_forward() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;
    let maker = party(&api, "宁波灯具制造有限公司", "supplier").await;

    // January owes 650.00 (1,300.00 out, 650.00 in), but nobody transfers it at the month's
    // end. February's large purchase leaves 910.00 of input over; March owes 390.00 before
    // that credit and so nothing after it.
    for (kind, party, date, price) in [
        ("customer", shop, "2026-01-20", "10000.00"),
        ("supplier", maker, "2026-01-10", "5000.00"),
        ("customer", shop, "2026-02-20", "1000.00"),
        ("supplier", maker, "2026-02-10", "8000.00"),
        ("customer", shop, "2026-03-20", "5000.00"),
        ("supplier", maker, "2026-03-10", "2000.00"),
    ] {
        posted_invoice(&api, document(kind, party, date, &[("台灯", "1", price, "13")])).await;
    }

    // Filed month by month, the quarter owes January's 650.00, still to transfer, and carries
    // 520.00 forward: February's credit does not pay January's tax after the fact, though
    // the ledger's 应交增值税 nets them to 130.00.
    let quarter = api.get("/api/v1/finance/reports/vat?from=2026-01&to=2026-03").await.json();
    for (figure, amount) in
        [("payable", "650.00"), ("to_transfer", "650.00"), ("carried_forward", "520.00"), ("surtax_base", "650.00")]
    {
        assert_eq!(quarter[figure], amount, "{figure}: {quarter}");
    }
    assert_eq!(surtaxes(&quarter)[0], "urban_construction 7%: due 45.50, accrued 0.00, to accrue 45.50");

    // The transfer at March's end moves the 650.00 owed, leaving the 520.00 credit on the
    // account for April.
    let transferred = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(transferred.json()["amount"], "650.00", "{}", transferred.body);
    // January's month-end, run afterwards, finds its tax moved already and moves it no
    // second time.
    let late = api.post("/api/v1/finance/periods/2026-01/vat-transfer", &json!({})).await;
    assert_eq!(late.json()["entry_id"], Value::Null, "{}", late.body);
    let after = vat(&api, "2026-03").await;
    assert_eq!((after["to_transfer"].as_str(), after["carried_forward"].as_str()), (Some("0.00"), Some("520.00")));
    let april = vat(&api, "2026-04").await;
    assert_eq!((april["opening"].as_str(), april["carried_forward"].as_str()), (Some("-520.00"), Some("520.00")));
    // March alone opens with February's credit of 910.00 carried in and January's 650.00
    // still to transfer, though the accounts held a net 260.00 debit: the return agrees with
    // itself.
    let march = vat(&api, "2026-03").await;
    assert_eq!(
        ["opening", "credit_carried_in", "untransferred_before"].map(|k| march[k].as_str().unwrap_or("?").to_string()),
        ["-260.00", "910.00", "650.00"]
    );
}

#[tokio::test]
async fn vat_paid_twice_over_is_paid_ahead_and_owed_again_when_the_payment_is_reversed() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let shop = party(&api, "苏州观前百货有限公司", "customer").await;
    let maker = party(&api, "宁波灯具制造有限公司", "supplier").await;
    posted_invoice(&api, document("customer", shop, "2026-01-20", &[("台灯", "1", "20000.00", "13")])).await;
    posted_invoice(&api, document("supplier", maker, "2026-01-10", &[("台灯", "1", "5000.00", "13")])).await;

    // January owes 1,950.00 (2,600.00 out, 650.00 in); the cashier pays 3,000.00 into 已交税金
    // by a slip of the hand. Nothing is left to transfer, and 1,050.00 is paid ahead, not
    // carried forward as input credit.
    let paid =
        post(&api, voucher("2026-01-25", "预缴增值税", &[("22210103", "3000.00", ""), ("1002", "", "3000.00")])).await;
    let january = vat(&api, "2026-01").await;
    assert_eq!(
        ["payable", "to_transfer", "paid_ahead", "carried_forward"]
            .map(|k| january[k].as_str().unwrap_or("?").to_string()),
        ["1950.00", "0.00", "1050.00", "0.00"]
    );
    // The surtaxes are on the 1,950.00 due, though it was paid within the month rather than
    // transferred: 7 % is 136.50.
    assert_eq!(surtaxes(&january)[0], "urban_construction 7%: due 136.50, accrued 0.00, to accrue 136.50");

    // In February the payment is reversed: January's 1,950.00 is owed again, to transfer at
    // February's end, and nothing is paid ahead any more.
    let reversed =
        api.post(&format!("/api/v1/finance/entries/{}/reverse", paid["id"]), &json!({"date": "2026-02-05"})).await;
    assert!(reversed.status.is_success(), "{}", reversed.body);
    let february = vat(&api, "2026-02").await;
    assert_eq!(
        ["to_transfer", "paid_ahead", "carried_forward"].map(|k| february[k].as_str().unwrap_or("?").to_string()),
        ["1950.00", "0.00", "0.00"]
    );
    let transferred = api.post("/api/v1/finance/periods/2026-02/vat-transfer", &json!({})).await;
    assert_eq!(transferred.json()["amount"], "1950.00", "{}", transferred.body);
}

#[tokio::test]
async fn a_clinics_exempt_medical_services_bear_no_tax_and_are_reported_apart_from_zero_rated_sales() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let patient = party(&api, "苏州工业园区星海社区卫生服务站", "customer").await;

    // The clinic's consultation is exempt from VAT (医疗服务免征增值税); the catalog keeps it so,
    // and shows it as exempt rather than as 0 %.
    let consultation = api
        .post(
            "/api/v1/catalog/products",
            &json!({"code": "MED-01", "name": "门诊诊疗费", "kind": "service", "uom": "pc", "purchase_uom": "pc",
                    "sales_uom": "pc", "vat_rate": "exempt", "sale_price": "300.00"}),
        )
        .await;
    assert_eq!(consultation.status, StatusCode::CREATED, "{}", consultation.body);
    let id = consultation.json()["id"].as_i64().expect("id");
    assert_eq!(api.get(&format!("/api/v1/catalog/products/{id}")).await.json()["vat_rate"], "exempt");
    let browser = app.signed_in("admin").await;
    let product_page = browser.get(&format!("/catalog/products/{id}")).await;
    assert!(product_page.body.contains("Exempt") || product_page.body.contains("免税"), "{}", product_page.body);

    // One invoice: the consultation from the catalog, exempt, and two boxes of health
    // supplements at 13 %: 500.00 net, 26.00 of output VAT, all of it on the supplements.
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": patient, "date": "2026-03-16", "lines": [
            {"product_id": id, "description": "", "quantity": "1", "unit_price": "", "vat_rate": ""},
            {"description": "保健品", "quantity": "2", "unit_price": "100.00", "vat_rate": "13"}]}),
    )
    .await;
    let stored = api.get(&format!("/api/v1/finance/invoices/{}", invoice["id"])).await.json();
    let rates: Vec<(&str, &str)> = stored["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["vat_rate"].as_str().unwrap_or("?"), l["tax"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(rates, vec![("exempt", "0.00"), ("13", "26.00")]);
    assert_eq!((stored["net"].as_str(), stored["tax"].as_str()), (Some("500.00"), Some("26.00")), "{stored}");
    let entry = api.get(&format!("/api/v1/finance/entries/{}", stored["entry_id"])).await.json();
    assert_eq!(
        lines(&entry),
        vec![("1122", "526.00", "0.00"), ("6001", "0.00", "500.00"), ("22210102", "0.00", "26.00")]
    );
    let page = browser.get(&format!("/finance/invoices/{}", invoice["id"])).await;
    assert!(page.body.contains(">Exempt<") || page.body.contains(">免税<"), "{}", page.body);

    // The month's return lists the exempt sales on their own row, after the rates, and no
    // 0 % row: nothing was exported.
    let march = vat(&api, "2026-03").await;
    assert_eq!(schedule(&march, "sales"), vec![row("13", 1, "200.00", "26.00"), row("exempt", 1, "300.00", "0.00")]);
    assert_eq!(march["output"], "26.00");
    let return_page = browser.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    assert!(return_page.body.contains("Exempt") || return_page.body.contains("免税"), "{}", return_page.body);

    // The clinic buys 1,000.00 of disposables at 13 %, used for both kinds of sale: 130.00 of
    // input it cannot set apart. The exempt 300.00 of 500.00 sales is three fifths, so the
    // return suggests taking back 78.00 of it (进项税额转出).
    let supplier = party(&api, "苏州医疗用品有限公司", "supplier").await;
    posted_invoice(&api, document("supplier", supplier, "2026-03-05", &[("一次性耗材", "1", "1000.00", "13")])).await;
    let march = vat(&api, "2026-03").await;
    assert_eq!(
        (march["sales_without_deduction"].as_str(), march["input_share_to_take_back"].as_str()),
        (Some("300.00"), Some("78.00")),
        "{march}"
    );
    let return_page = browser.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    let share = return_page.body.split("id=\"vat-input-share\"").nth(1).expect("the suggestion");
    assert!(share[..share.find("</tr>").expect("row")].contains("78.00"), "{share}");

    // A rate that is none of the choices is refused beside its line.
    let wrong = api
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "customer", "party_id": patient, "date": "2026-03-17", "lines": [
                {"description": "体检费", "quantity": "1", "unit_price": "200.00", "vat_rate": "免征"}]}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert_eq!(
        (wrong.json()["errors"][0]["field"].clone(), wrong.json()["errors"][0]["code"].clone()),
        (json!("lines[0]"), json!("error.finance.vat_rate"))
    );
    assert_eq!(app.count("fin_invoices WHERE invoice_date = '2026-03-17'").await, 0, "nothing stored");
}

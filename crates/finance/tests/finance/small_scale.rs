//! A Hangzhou tea shop that is a small-scale VAT taxpayer (小规模纳税人), in March 2026: it
//! buys tea from a general taxpayer and deducts none of the VAT, sells at the reduced 1 %
//! collection rate, and its month of small sales owes no VAT until a late invoice takes the
//! month past 100,000.00; then the tax and the halved surtaxes are owed and paid in April. The
//! same shop filing quarterly, whose limit is the quarter's 300,000.00.

use crate::charts::voucher_lines;
use crate::invoicing::{party, posted_invoice};
use crate::vat_return::document;
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

fn line(account: &str, debit: &str, credit: &str) -> (String, String, String) {
    (account.into(), debit.into(), credit.into())
}

async fn march(api: &ApiClient) -> Value {
    let report = api.get("/api/v1/finance/reports/vat?from=2026-03&to=2026-03").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    report.json()
}

fn figures(report: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| report[*k].as_str().unwrap_or("?").to_string()).collect()
}

#[tokio::test]
async fn a_small_scale_tea_shop_costs_its_input_vat_and_owes_no_vat_on_a_month_of_small_sales() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let grower = party(&api, "安吉白茶合作社", "supplier").await;
    let teahouse = party(&api, "西湖茶馆", "customer").await;
    // A draft at 13 % saved while the books were still a general taxpayer's.
    let old_draft = api
        .post(
            "/api/v1/finance/invoices",
            &document("customer", teahouse, "2026-03-02", &[("礼盒", "1", "500.00", "13")]),
        )
        .await;
    assert_eq!(old_draft.status, StatusCode::CREATED, "{}", old_draft.body);

    // The shop registers as a small-scale taxpayer with the halved surtaxes.
    let wrong = api.patch("/api/v1/finance/settings", &json!({"taxpayer": "tiny"})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert_eq!(wrong.json()["errors"][0]["field"], "taxpayer");
    let set = api.patch("/api/v1/finance/settings", &json!({"taxpayer": "small_scale", "surtax_relief": "half"})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.json()["taxpayer"], "small_scale");

    // It may not charge 13 %: refused beside the line, nothing stored; the old draft is refused
    // when posted.
    let invoices = app.count("fin_invoices").await;
    let refused = api
        .post(
            "/api/v1/finance/invoices",
            &document(
                "customer",
                teahouse,
                "2026-03-03",
                &[("龙井", "10", "100.00", "1"), ("礼盒", "1", "500.00", "13")],
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let error = &refused.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str()),
        (Some("lines[1]"), Some("error.finance.small_scale_rate"))
    );
    assert_eq!(app.count("fin_invoices").await, invoices);
    let old = api.post(&format!("/api/v1/finance/invoices/{}/post", old_draft.json()["id"]), &json!({})).await;
    assert_eq!(old.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", old.body);
    assert_eq!(old.json()["errors"][0]["code"], "error.finance.small_scale_rate");

    // 100 kg of white tea at 200.00 plus 13 % from the cooperative: the 2,600.00 of VAT is part
    // of the tea's cost, 22,600.00 in stock, none of it input VAT.
    let bill =
        posted_invoice(&api, document("supplier", grower, "2026-03-04", &[("安吉白茶", "100", "200.00", "13")])).await;
    assert_eq!(
        voucher_lines(&api, &bill["entry_id"]).await,
        vec![line("2202", "0.00", "22600.00"), line("1405", "22600.00", "0.00")]
    );
    // Two tins were crushed and go back: the credit note takes the cost back in red ink (红字), as
    // the bill put it.
    let back =
        posted_invoice(&api, document("supplier", grower, "2026-03-06", &[("破损退货", "1", "1000.00", "13")])).await;
    let note =
        api.post(&format!("/api/v1/finance/invoices/{}/credit-note", back["id"]), &json!({"date": "2026-03-07"})).await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    assert_eq!(
        voucher_lines(&api, &note.json()["entry_id"]).await,
        vec![line("2202", "0.00", "-1130.00"), line("1405", "-1130.00", "0.00")]
    );

    // Sales at 1 %: 45,000.00 and 20,000.00, tax 450.00 and 200.00 on 简易计税; a sale of
    // 1,000.00 is credited in full. The first is of tea kept in the catalogue at 13 %, as it is
    // bought: the invoice charges the shop's 1 %.
    let longjing = json!({"code": "LJ-250", "name": "西湖龙井 250g", "kind": "goods", "uom": "pc", "purchase_uom": "pc",
        "sales_uom": "pc", "vat_rate": "13", "costing": "moving_average", "sale_price": "150.00"});
    let longjing = api.post("/api/v1/catalog/products", &longjing).await.json()["id"].as_i64().expect("product");
    let first = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": teahouse, "date": "2026-03-10", "lines": [
            {"product_id": longjing, "quantity": "300", "description": "", "unit_price": "", "vat_rate": ""}]}),
    )
    .await;
    assert_eq!(first["lines"][0]["vat_rate"], "1", "{first}");
    assert_eq!(
        voucher_lines(&api, &first["entry_id"]).await,
        vec![line("1122", "45450.00", "0.00"), line("6001", "0.00", "45000.00"), line("222107", "0.00", "450.00")]
    );
    posted_invoice(&api, document("customer", teahouse, "2026-03-18", &[("白茶饼", "200", "100.00", "1")])).await;
    let credited =
        posted_invoice(&api, document("customer", teahouse, "2026-03-20", &[("茶具", "10", "100.00", "1")])).await;
    let credit = api
        .post(&format!("/api/v1/finance/invoices/{}/credit-note", credited["id"]), &json!({"date": "2026-03-21"}))
        .await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.body);

    // March's return: 65,000.00 of sales, within 100,000.00: the 650.00 of tax is exempted and
    // nothing is due, no surtaxes either.
    let report = march(&api).await;
    assert_eq!(report["taxpayer"], "small_scale");
    assert_eq!(
        figures(&report, &["input", "simplified", "vat_exempt", "tax_due", "surtax_base"]),
        ["0.00", "650.00", "650.00", "0.00", "0.00"]
    );
    assert_eq!(report["vat_exempt_months"], json!([{"month": "2026-03", "exempt": "650.00", "exempted": "0.00"}]));
    let page = app.signed_in("admin").await.get("/finance/reports/vat?from=2026-03&to=2026-03").await;
    let months = page.body.split("id=\"vat-exempt-months\"").nth(1).expect("the exempt months named");
    assert!(months[..months.find("</p>").expect("note")].contains("2026-03 (650.00)"), "{months}");

    // The month-end moves the exempted tax to non-operating income; run again, it posts nothing.
    let month_end = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(month_end.status, StatusCode::CREATED, "{}", month_end.body);
    let month_end = month_end.json();
    assert_eq!((month_end["amount"].as_str(), month_end["surtaxes"]["entry_id"].as_i64()), (Some("0.00"), None));
    assert_eq!(
        voucher_lines(&api, &month_end["exemption"]["entry_id"]).await,
        vec![line("222107", "650.00", "0.00"), line("6301", "0.00", "650.00")]
    );
    assert_eq!(api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await.status, StatusCode::OK);
    let owed = march(&api).await;
    assert_eq!(owed["to_pay"]["total"], "0.00", "{owed}");

    // A late invoice of 31 March, 40,000.00 at 1 %, takes the month to 105,000.00: the month
    // owes its 1,050.00 after all. The month-end takes the exemption back in red ink and
    // accrues the surtaxes, halved: 36.75, 15.75 and 10.50.
    posted_invoice(&api, document("customer", teahouse, "2026-03-31", &[("明前龙井", "100", "400.00", "1")])).await;
    let report = march(&api).await;
    assert_eq!(
        figures(&report, &["simplified", "vat_exempt", "tax_due", "surtax_base"]),
        ["1050.00", "0.00", "1050.00", "1050.00"]
    );
    let again = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let again = again.json();
    assert_eq!(
        voucher_lines(&api, &again["exemption"]["entry_id"]).await,
        vec![line("222107", "-650.00", "0.00"), line("6301", "0.00", "-650.00")]
    );
    assert_eq!(
        voucher_lines(&api, &again["surtaxes"]["entry_id"]).await,
        vec![
            line("6403", "63.00", "0.00"),
            line("222104", "0.00", "36.75"),
            line("222105", "0.00", "15.75"),
            line("222106", "0.00", "10.50")
        ]
    );

    // Paid on 15 April: the 1,050.00 of VAT and the 63.00 of surtaxes.
    let paid = api.post("/api/v1/finance/periods/2026-03/tax-payment", &json!({"date": "2026-04-15"})).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(
        voucher_lines(&api, &paid.json()["entry_id"]).await,
        vec![
            line("222107", "1050.00", "0.00"),
            line("222104", "36.75", "0.00"),
            line("222105", "15.75", "0.00"),
            line("222106", "10.50", "0.00"),
            line("1002", "0.00", "1113.00")
        ]
    );
}

#[tokio::test]
async fn the_accountant_chooses_the_kind_of_taxpayer_on_the_chart_page() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/accounts").await;
    assert!(page.body.contains("<option value=\"general\" selected"), "general until told otherwise");
    let wrong = browser.post_form("/finance/accounts", "/finance/settings", &[("taxpayer", "tiny")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let beside = wrong.body.split("id=\"taxpayer\"").nth(1).expect("the field");
    assert!(beside[..beside.find("</div>").expect("field")]
        .contains("纳税人类型应为 general、small_scale 或 small_scale_quarterly：tiny"));
    let saved =
        browser.post_form("/finance/accounts", "/finance/settings", &[("taxpayer", "small_scale_quarterly")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(browser.get("/finance/accounts").await.body.contains("<option value=\"small_scale_quarterly\" selected"));
    // Its invoice form offers the rates it may charge, from 1 %; its bill form every rate.
    let invoice_form = browser.get("/finance/invoices/new").await.body;
    assert!(invoice_form.contains("<option value=\"1\" selected") && !invoice_form.contains("<option value=\"13\""));
    assert!(browser.get("/finance/bills/new").await.body.contains("<option value=\"13\" selected"));

    // Once March holds a posted invoice, the kind of taxpayer changes only after March is closed:
    // its VAT is reckoned as the kind is now.
    let teahouse = party(&api, "西湖茶馆", "customer").await;
    posted_invoice(&api, document("customer", teahouse, "2026-03-10", &[("西湖龙井", "10", "150.00", "1")])).await;
    let refused = api.patch("/api/v1/finance/settings", &json!({"taxpayer": "general"})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let error = &refused.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str(), error["message"].as_str().map(|m| m.starts_with("2026-03"))),
        (Some("taxpayer"), Some("error.finance.taxpayer_open_month"), Some(true))
    );
    assert_eq!(api.get("/api/v1/finance/settings").await.json()["taxpayer"], "small_scale_quarterly");
    assert_eq!(
        app.count("audit_log WHERE resource = 'finance.books' AND action = 'update' AND changes LIKE '%small_scale%'")
            .await,
        1
    );
}

/// The same shop filing quarterly (按季申报): its first quarter's 270,000.00 of sales stays
/// within 300,000.00 though January alone passed 100,000.00, so the quarter owes no VAT; the
/// second quarter's 350,000.00 does not, and owes its VAT and halved surtaxes at June's end.
#[tokio::test]
async fn a_quarterly_filer_is_exempted_by_the_quarters_sales_and_pays_after_the_quarter() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let teahouse = party(&api, "西湖茶馆", "customer").await;
    let set = api
        .patch("/api/v1/finance/settings", &json!({"taxpayer": "small_scale_quarterly", "surtax_relief": "half"}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    for (date, quantity) in [("2026-01-20", "1200"), ("2026-02-20", "900"), ("2026-03-20", "600")] {
        posted_invoice(&api, document("customer", teahouse, date, &[("西湖龙井", quantity, "100.00", "1")])).await;
    }

    // Asked for February, the return is the quarter's: 2,700.00 of tax, all of it exempted at
    // March's end.
    let report = api.get("/api/v1/finance/reports/vat?from=2026-02&to=2026-02").await.json();
    assert_eq!((report["from"].as_str(), report["to"].as_str()), (Some("2026-01"), Some("2026-03")));
    assert_eq!(
        figures(&report, &["simplified", "vat_exempt", "tax_due", "surtax_base"]),
        ["2700.00", "2700.00", "0.00", "0.00"]
    );
    let exempt: Vec<&str> =
        report["vat_exempt_months"].as_array().expect("months").iter().filter_map(|m| m["exempt"].as_str()).collect();
    assert_eq!(exempt, ["0.00", "0.00", "2700.00"]);
    assert_eq!(api.post("/api/v1/finance/periods/2026-01/vat-transfer", &json!({})).await.status, StatusCode::OK);
    let quarter_end = api.post("/api/v1/finance/periods/2026-03/vat-transfer", &json!({})).await;
    assert_eq!(quarter_end.status, StatusCode::CREATED, "{}", quarter_end.body);
    assert_eq!(
        voucher_lines(&api, &quarter_end.json()["exemption"]["entry_id"]).await,
        vec![line("222107", "2700.00", "0.00"), line("6301", "0.00", "2700.00")]
    );

    // The second quarter: 200,000.00 in April and 150,000.00 in May. Its taxes are paid after
    // June, not after a month of it.
    for (date, quantity) in [("2026-04-20", "2000"), ("2026-05-20", "1500")] {
        posted_invoice(&api, document("customer", teahouse, date, &[("西湖龙井", quantity, "100.00", "1")])).await;
    }
    let june = api.post("/api/v1/finance/periods/2026-06/vat-transfer", &json!({})).await;
    assert_eq!(june.status, StatusCode::CREATED, "{}", june.body);
    let june = june.json();
    assert_eq!(june["exemption"]["entry_id"], Value::Null);
    assert_eq!(
        voucher_lines(&api, &june["surtaxes"]["entry_id"]).await,
        vec![
            line("6403", "210.00", "0.00"),
            line("222104", "0.00", "122.50"),
            line("222105", "0.00", "52.50"),
            line("222106", "0.00", "35.00")
        ]
    );
    let early = api.post("/api/v1/finance/periods/2026-05/tax-payment", &json!({"date": "2026-06-15"})).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", early.body);
    let error = &early.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str()),
        (Some("period"), Some("error.finance.paid_by_quarter"))
    );
    let paid = api.post("/api/v1/finance/periods/2026-06/tax-payment", &json!({"date": "2026-07-15"})).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(
        voucher_lines(&api, &paid.json()["entry_id"]).await,
        vec![
            line("222107", "3500.00", "0.00"),
            line("222104", "122.50", "0.00"),
            line("222105", "52.50", "0.00"),
            line("222106", "35.00", "0.00"),
            line("1002", "0.00", "3710.00")
        ]
    );
}

//! Invoices, bills and payments in a foreign currency, as a Ningbo exporter of desk lamps keeps
//! them: a dollar invoice booked at the day's rate, paid in two receipts at other rates with
//! the exchange differences in 财务费用, revalued at month end; a dollar invoice credited in part;
//! a yen bill from a Japanese supplier; and the same in the browser.

use crate::invoicing::{account_closing, party, posted_invoice};
use crate::ledger::post;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

/// A voucher's lines as (account, debit, credit, foreign amount with its currency and rate).
async fn voucher(api: &ApiClient, entry: &Value) -> Vec<(String, String, String, String)> {
    let entry = api.get(&format!("/api/v1/finance/entries/{entry}")).await.json();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            let foreign = match l["currency"].as_str() {
                Some(code) => format!("{code} {} @ {}", text(&l["foreign_amount"]), text(&l["rate"])),
                None => String::new(),
            };
            (text(&l["account"]), text(&l["debit"]), text(&l["credit"]), foreign)
        })
        .collect()
}

fn row(account: &str, debit: &str, credit: &str, foreign: &str) -> (String, String, String, String) {
    (account.into(), debit.into(), credit.into(), foreign.into())
}

async fn invoice(api: &ApiClient, id: i64) -> Value {
    api.get(&format!("/api/v1/finance/invoices/{id}")).await.json()
}

#[tokio::test]
async fn a_dollar_invoice_is_paid_in_two_receipts_at_other_rates_and_revalued_at_month_end() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let api = app.api("chen.jing").await;
    let admin = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let pacific = party(&admin, "Pacific Home Goods Inc.", "customer").await;
    let lamps = |currency: &str, rate: &str| {
        json!({"kind": "customer", "party_id": pacific, "date": "2026-03-05", "currency": currency, "rate": rate,
               "lines": [{"description": "LED desk lamp DL-20", "quantity": "500", "unit_price": "12.40", "vat_rate": "0"}]})
    };

    // A currency not offered, or a dollar invoice without its rate (and none in the rate
    // table), is refused on the field.
    for (body, field, code) in [
        (lamps("GBP", "9.1"), "currency", "error.finance.currency"),
        (lamps("USD", ""), "rate", "error.finance.no_table_rate"),
        (lamps("USD", "0"), "rate", "error.finance.rate"),
    ] {
        let refused = api.post("/api/v1/finance/invoices", &body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        let error = &refused.json()["errors"][0];
        assert_eq!((error["field"].as_str(), error["code"].as_str()), (Some(field), Some(code)));
    }
    assert_eq!(app.count("fin_invoices").await, 0);

    // 500 lamps at USD 12.40, exported at 0 % VAT: USD 6,200.00 at 7.1 is ¥44,020.00.
    let posted = posted_invoice(&api, lamps("usd", "7.1000")).await;
    let id = posted["id"].as_i64().expect("id");
    assert_eq!((posted["currency"].as_str(), posted["total"].as_str()), (Some("USD"), Some("44020.00")));
    assert_eq!(
        (posted["foreign"]["total"].as_str(), posted["foreign"]["rate"].as_str()),
        (Some("6200.00"), Some("7.1"))
    );
    assert_eq!(posted["lines"][0]["unit_price"], "12.40");
    // The receivable carries the dollars, so month-end revaluation finds them; revenue stays
    // at the booking rate.
    assert_eq!(
        voucher(&api, &posted["entry_id"]).await,
        vec![row("1122", "44020.00", "0.00", "USD 6200.00 @ 7.1"), row("6001", "0.00", "44020.00", "")]
    );

    // Yuan cannot settle a dollar invoice, and a dollar receipt is not kept as an advance.
    let in_yuan = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-03-20", "amount": "14300.00",
                    "allocations": [{"invoice_id": id, "amount": "14300.00"}]}),
        )
        .await;
    assert_eq!(in_yuan.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", in_yuan.body);
    assert_eq!(in_yuan.json()["errors"][0]["code"], "error.finance.allocation_currency");
    let too_much = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-03-20", "amount": "7000.00", "currency": "USD", "rate": "7.15"}),
        )
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", too_much.body);
    let error = &too_much.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str()),
        (Some("amount"), Some("error.finance.foreign_unallocated"))
    );
    assert!(error["message"].as_str().unwrap_or_default().contains("800.00"), "{error}");
    assert_eq!(app.count("fin_payments").await, 0);

    // USD 2,000.00 comes in at 7.15: ¥14,300.00 in the bank, ¥14,200.00 of the invoice cleared
    // at its rate, and a gain of ¥100.00 credited to 6603.
    let receipt = |date: &str, dollars: &str, rate: &str| {
        json!({"kind": "receipt", "party_id": pacific, "date": date, "amount": dollars, "currency": "USD", "rate": rate,
               "allocations": [{"invoice_id": id, "amount": dollars}]})
    };
    let first = api.post("/api/v1/finance/payments", &receipt("2026-03-20", "2000.00", "7.15")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let first = first.json();
    assert_eq!((first["amount"].as_str(), first["foreign"]["amount"].as_str()), (Some("14300.00"), Some("2000.00")));
    assert_eq!(
        voucher(&api, &first["entry_id"]).await,
        vec![
            row("1002", "14300.00", "0.00", "USD 2000.00 @ 7.15"),
            row("1122", "0.00", "14200.00", "USD 2000.00 @ 7.1"),
            row("6603", "0.00", "100.00", ""),
        ]
    );
    // The bank's dollar statement shows the USD 2,000.00 coming in: it is that receipt, by its
    // dollars; a yuan line of the same ¥14,300.00 is not.
    let statement = |currency: &str, rows: &str| {
        json!({"bank_account": "1002", "currency": currency, "csv": format!("date,amount,counterparty\n{rows}"),
               "mapping": {"date": "date", "amount": "amount", "counterparty": "counterparty"}})
    };
    for (currency, rows) in [
        ("USD", "2026-03-20,\"$2,000.00\",Pacific Home Goods Inc.\n"),
        ("", "2026-03-20,14300.00,Pacific Home Goods Inc.\n"),
    ] {
        let imported = api.post("/api/v1/finance/bank-statements", &statement(currency, rows)).await;
        assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    }
    let pounds = api.post("/api/v1/finance/bank-statements", &statement("GBP", "2026-03-20,100.00,x\n")).await;
    assert_eq!(pounds.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", pounds.body);
    assert_eq!(pounds.json()["errors"][0]["field"], "currency");
    assert_eq!(app.count("fin_bank_lines").await, 2, "the refused statement imported nothing");
    let lines = api.get("/api/v1/finance/bank-lines?unmatched=true").await.json();
    let line = |currency: &str| {
        lines["items"].as_array().expect("items").iter().find(|l| l["currency"] == currency).cloned().expect("line")
    };
    let (dollars, yuan) = (line("USD"), line("CNY"));
    assert_eq!(dollars["amount"], "2000.00");
    let suggested = |line: &Value| {
        let api = &api;
        let id = line["id"].clone();
        async move { api.get(&format!("/api/v1/finance/bank-lines/{id}/suggestions")).await.json()["items"].clone() }
    };
    assert_eq!(suggested(&dollars).await[0]["payment_id"], first["id"]);
    assert_eq!(suggested(&yuan).await.as_array().map(Vec::len), Some(0), "a yuan line is not the dollar receipt");
    let wrong = api
        .post(&format!("/api/v1/finance/bank-lines/{}/match", yuan["id"]), &json!({"payment_id": first["id"]}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let matched = api
        .post(&format!("/api/v1/finance/bank-lines/{}/match", dollars["id"]), &json!({"payment_id": first["id"]}))
        .await;
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    // The month's receipts list it in yuan as booked, naming the dollars.
    let receipts = api.get("/api/v1/finance/payments?kind=receipt&month=2026-03").await.json();
    assert_eq!(
        (receipts["items"][0]["amount"].as_str(), receipts["items"][0]["foreign"]["amount"].as_str()),
        (Some("14300.00"), Some("2000.00")),
        "{receipts}"
    );
    let listed = app.signed_in("chen.jing").await.get("/finance/payments?kind=receipt&month=2026-03").await;
    assert!(listed.body.contains("USD 2,000.00"), "{}", listed.body);
    let part_paid = invoice(&api, id).await;
    assert_eq!(part_paid["status"], "partial");
    assert_eq!(
        (part_paid["foreign"]["open"].as_str(), part_paid["open"].as_str()),
        (Some("4200.00"), Some("29820.00"))
    );

    // At March's closing rate of 7.2 the dollars in the bank and those still owed are worth
    // more: 2,000 × 7.2 = 14,400 (+100) and 4,200 × 7.2 = 30,240 (+420).
    let march = api
        .post("/api/v1/finance/periods/2026-03/revalue", &json!({"rates": [{"currency": "USD", "rate": "7.2"}]}))
        .await;
    assert_eq!(march.status, StatusCode::CREATED, "{}", march.body);
    let differences: Vec<(String, String, String)> = march.json()["revaluations"]
        .as_array()
        .expect("revaluations")
        .iter()
        .map(|r| (r["account"].to_string(), r["revalued"].to_string(), r["difference"].to_string()))
        .collect();
    assert_eq!(
        differences,
        vec![
            ("\"1002\"".into(), "\"14400.00\"".into(), "\"100.00\"".into()),
            ("\"1122\"".into(), "\"30240.00\"".into(), "\"420.00\"".into())
        ]
    );
    // On the cash flow statement, the bank's 100.00 is the effect of exchange rates; the
    // receivable's 420.00 moved no cash.
    let flows = api.get("/api/v1/finance/reports/cash-flow?from=2026-03&to=2026-03").await.json();
    let exchange = flows["lines"].as_array().expect("lines").iter().find(|l| l["key"] == "exchange").cloned();
    assert_eq!(exchange.map(|l| l["amount"].clone()), Some(json!("100.00")), "{flows}");
    let ends = flows["lines"].as_array().expect("lines").iter().find(|l| l["key"] == "closing").cloned();
    assert_eq!(ends.map(|l| l["amount"].clone()), Some(flows["cash_in_ledger"].clone()), "{flows}");

    // The rest, USD 4,200.00, comes in April at 7.05: ¥29,610.00 for the ¥29,820.00 still
    // carried of the invoice, a loss of ¥210.00. The invoice is paid in dollars and in yuan.
    let last = api.post("/api/v1/finance/payments", &receipt("2026-04-10", "4200.00", "7.05")).await;
    assert_eq!(last.status, StatusCode::CREATED, "{}", last.body);
    assert_eq!(
        voucher(&api, &last.json()["entry_id"]).await,
        vec![
            row("1002", "29610.00", "0.00", "USD 4200.00 @ 7.05"),
            row("1122", "0.00", "29820.00", "USD 4200.00 @ 7.1"),
            row("6603", "210.00", "0.00", ""),
        ]
    );
    let paid = invoice(&api, id).await;
    assert_eq!((paid["status"].as_str(), paid["settled"].as_str()), (Some("paid"), Some("44020.00")));
    assert_eq!(
        (paid["foreign"]["settled"].as_str(), paid["foreign"]["open"].as_str()),
        (Some("6200.00"), Some("0.00"))
    );

    // April's revaluation at 7.05 takes back March's gain on the receivable (no dollars are
    // owed any more) and marks the bank's USD 6,200.00 down to ¥43,710.00.
    let april = api
        .post("/api/v1/finance/periods/2026-04/revalue", &json!({"rates": [{"currency": "USD", "rate": "7.05"}]}))
        .await;
    assert_eq!(april.status, StatusCode::CREATED, "{}", april.body);
    assert_eq!(account_closing(&api, "1122").await, "0.00");
    assert_eq!(account_closing(&api, "1002").await, "43710.00");
    // Received ¥43,910.00 for ¥44,020.00 invoiced (−110.00), and the dollars held are worth
    // ¥200.00 less than received: ¥310.00 of exchange loss in all.
    assert_eq!(account_closing(&api, "6603").await, "310.00");
    let ageing = api.get("/api/v1/finance/reports/ageing?kind=receivable&date=2026-04-30").await.json();
    assert_eq!(ageing["total"], "0.00");
    // The customer's statement owes nothing either: each receipt counts what it cleared of the
    // invoice (¥14,200.00 and ¥29,820.00); the exchange differences are the company's.
    let statement = api
        .get(&format!("/api/v1/finance/reports/party-statement?party_id={pacific}&from=2026-03-01&to=2026-04-30"))
        .await
        .json();
    let credits: Vec<&str> =
        statement["items"].as_array().expect("items").iter().filter_map(|l| l["credit"].as_str()).collect();
    assert_eq!(
        (credits, statement["closing"].as_str()),
        (vec!["0.00", "14200.00", "29820.00"], Some("0.00")),
        "{statement}"
    );
    // The statement sent to the customer is in dollars: the invoice and its two receipts.
    let in_dollars = api
        .get(&format!(
            "/api/v1/finance/reports/party-statement?party_id={pacific}&from=2026-03-01&to=2026-04-30&currency=USD"
        ))
        .await
        .json();
    let lines: Vec<(&str, &str, &str)> = in_dollars["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            (
                l["charge"].as_str().unwrap_or(""),
                l["credit"].as_str().unwrap_or(""),
                l["balance"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![("6200.00", "0.00", "6200.00"), ("0.00", "2000.00", "4200.00"), ("0.00", "4200.00", "0.00")],
        "{in_dollars}"
    );
    let page = app
        .signed_in("chen.jing")
        .await
        .get(&format!("/finance/reports/party-statement?party_id={pacific}&from=2026-03-01&to=2026-04-30&currency=USD"))
        .await;
    assert!(page.body.contains("<option value=\"USD\" selected>") && page.body.contains("6,200.00"), "{}", page.body);
}

#[tokio::test]
async fn a_dollar_invoice_is_credited_in_part_and_the_rest_paid() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let pacific = party(&api, "Pacific Home Goods Inc.", "customer").await;
    // 100 lamps at USD 12.40 = USD 1,240.00 at 7.13: ¥8,841.20.
    let posted = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": pacific, "date": "2026-05-06", "currency": "USD", "rate": "7.13",
               "lines": [{"description": "LED desk lamp DL-20", "quantity": "100", "unit_price": "12.40", "vat_rate": "0"}]}),
    )
    .await;
    let id = posted["id"].as_i64().expect("id");
    assert_eq!(posted["total"], "8841.20");

    // Ten arrive broken: a credit note of USD 124.00, ¥884.12 at the invoice's rate, in red ink
    // on the receivable's dollars too.
    let note = api
        .post(
            &format!("/api/v1/finance/invoices/{id}/credit-note"),
            &json!({"date": "2026-05-08", "lines": [{"description": "LED desk lamp DL-20", "quantity": "10", "unit_price": "12.40", "vat_rate": "0"}]}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let note = invoice(&api, note.json()["id"].as_i64().expect("note id")).await;
    assert_eq!((note["currency"].as_str(), note["total"].as_str()), (Some("USD"), Some("-884.12")));
    assert_eq!((note["foreign"]["total"].as_str(), note["status"].as_str()), (Some("-124.00"), Some("paid")));
    assert_eq!(
        voucher(&api, &note["entry_id"]).await,
        vec![row("1122", "-884.12", "0.00", "USD -124.00 @ 7.13"), row("6001", "0.00", "-884.12", "")]
    );
    let credited = invoice(&api, id).await;
    assert_eq!(
        (credited["status"].as_str(), credited["foreign"]["open"].as_str(), credited["open"].as_str()),
        (Some("partial"), Some("1116.00"), Some("7957.08"))
    );

    // The customer pays the USD 1,116.00 left at 7.2: ¥8,035.20 for ¥7,957.08, a gain of ¥78.12.
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-05-25", "amount": "1116.00", "currency": "USD", "rate": "7.2"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(
        voucher(&api, &paid.json()["entry_id"]).await,
        vec![
            row("1002", "8035.20", "0.00", "USD 1116.00 @ 7.2"),
            row("1122", "0.00", "7957.08", "USD 1116.00 @ 7.13"),
            row("6603", "0.00", "78.12", ""),
        ]
    );
    assert_eq!(invoice(&api, id).await["status"], "paid");
    assert_eq!(account_closing(&api, "1122").await, "0.00");
    // Five more turn out broken after it was paid: a note of USD 62.00 (¥442.06) owed back.
    // Refunds and set-offs move yuan only, so one in dollars is refused, saying why.
    let owed = api
        .post(
            &format!("/api/v1/finance/invoices/{id}/credit-note"),
            &json!({"date": "2026-05-28", "lines": [{"description": "LED desk lamp DL-20", "quantity": "5", "unit_price": "12.40", "vat_rate": "0"}]}),
        )
        .await;
    assert_eq!(owed.status, StatusCode::CREATED, "{}", owed.body);
    let owed = invoice(&api, owed.json()["id"].as_i64().expect("note id")).await;
    assert_eq!(
        (owed["status"].as_str(), owed["open"].as_str(), owed["foreign"]["open"].as_str()),
        (Some("open"), Some("-442.06"), Some("-62.00"))
    );
    // It is not set off against another invoice (that moves yuan only), but refunded in
    // dollars at the day's rate, which must be given.
    let set_off = api
        .post(
            &format!("/api/v1/finance/invoices/{}/set-off", owed["id"]),
            &json!({"invoice_id": id, "date": "2026-05-29"}),
        )
        .await;
    assert_eq!(set_off.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", set_off.body);
    assert_eq!(set_off.json()["errors"][0]["code"], "error.finance.foreign_document");
    let path = format!("/api/v1/finance/invoices/{}/refund", owed["id"]);
    let no_rate = api.post(&path, &json!({"date": "2026-05-29"})).await;
    assert_eq!(no_rate.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_rate.body);
    assert_eq!(no_rate.json()["errors"][0]["field"], "rate");
    assert_eq!(app.count("fin_payments").await, 1);
    // USD 62.00 paid back at 7.25 is ¥449.50 for the ¥442.06 the note carries: a loss of ¥7.44.
    let refund = api.post(&path, &json!({"date": "2026-05-29", "rate": "7.25"})).await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.body);
    assert_eq!(
        voucher(&api, &refund.json()["entry_id"]).await,
        vec![
            row("1122", "442.06", "0.00", "USD 62.00 @ 7.13"),
            row("1002", "0.00", "449.50", "USD 62.00 @ 7.25"),
            row("6603", "7.44", "0.00", ""),
        ]
    );
    let refunded = invoice(&api, owed["id"].as_i64().expect("id")).await;
    assert_eq!((refunded["status"].as_str(), refunded["open"].as_str()), (Some("paid"), Some("0.00")));
    assert_eq!(account_closing(&api, "1122").await, "0.00");
}

#[tokio::test]
async fn a_yen_bill_from_a_japanese_supplier_is_paid_at_a_better_rate() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let osaka = party(&api, "Osaka Precision Parts Co., Ltd.", "supplier").await;
    let bill = |price: &str| {
        json!({"kind": "supplier", "party_id": osaka, "date": "2026-05-12", "currency": "JPY", "rate": "0.0478",
               "lines": [{"description": "Spindle motor SM-8", "quantity": "2", "unit_price": price, "vat_rate": "0"}]})
    };
    // The yen has no minor unit: a price in sen is refused on its line.
    let refused = api.post("/api/v1/finance/invoices", &bill("500000.50")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.json()["errors"][0]["field"], "lines[0]");
    // ¥1,000,000 (yen) at 0.0478 is ¥47,800.00, on the payable in yen.
    let posted = posted_invoice(&api, bill("500000")).await;
    assert_eq!((posted["total"].as_str(), posted["foreign"]["total"].as_str()), (Some("47800.00"), Some("1000000")));
    assert_eq!(
        voucher(&api, &posted["entry_id"]).await,
        vec![row("2202", "0.00", "47800.00", "JPY 1000000 @ 0.0478"), row("1405", "47800.00", "0.00", "")]
    );
    // Paid when the yen stands at 0.0470: ¥47,000.00 leaves the bank for ¥47,800.00 owed, a
    // gain of ¥800.00.
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "payment", "party_id": osaka, "date": "2026-06-01", "amount": "1,000,000", "currency": "JPY", "rate": "0.047"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(
        voucher(&api, &paid.json()["entry_id"]).await,
        vec![
            row("2202", "47800.00", "0.00", "JPY 1000000 @ 0.0478"),
            row("6603", "0.00", "800.00", ""),
            row("1002", "0.00", "47000.00", "JPY 1000000 @ 0.047"),
        ]
    );
    assert_eq!(invoice(&api, posted["id"].as_i64().expect("id")).await["status"], "paid");
}

#[tokio::test]
async fn a_dollar_invoice_is_written_and_paid_in_the_browser() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let pacific = party(&api, "Pacific Home Goods Inc.", "customer").await;
    // The catalog's price is in yuan: a dollar line naming the product names its own price.
    let lamp = api
        .post(
            "/api/v1/catalog/products",
            &json!({"code": "DL-20", "name": "LED desk lamp", "kind": "goods", "uom": "pc", "purchase_uom": "pc",
                    "sales_uom": "pc", "vat_rate": "13", "sale_price": "88.00"}),
        )
        .await;
    assert_eq!(lamp.status, StatusCode::CREATED, "{}", lamp.body);
    let unpriced = api
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "customer", "party_id": pacific, "date": "2026-03-05", "currency": "USD", "rate": "7.1",
                    "lines": [{"product_id": lamp.json()["id"], "description": "", "quantity": "500", "unit_price": "", "vat_rate": "0"}]}),
        )
        .await;
    assert_eq!(unpriced.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unpriced.body);
    assert_eq!(
        (unpriced.json()["errors"][0]["field"].as_str(), unpriced.json()["errors"][0]["code"].as_str()),
        (Some("lines[0]"), Some("error.finance.foreign_price"))
    );
    let browser = app.signed_in("admin").await;
    let party_text = pacific.to_string();
    let fields = |rate: &'static str| {
        vec![
            ("party_id", party_text.clone()),
            ("date", "2026-03-05".into()),
            ("due_date", "".into()),
            ("vat_rounding", "line".into()),
            ("memo", "".into()),
            ("currency", "USD".into()),
            ("rate", rate.into()),
            ("description", "LED desk lamp DL-20".into()),
            ("quantity", "500".into()),
            ("unit_price", "12.40".into()),
            ("discount", "".into()),
            ("vat_rate", "0".into()),
            ("post", "true".into()),
        ]
    };
    let form = browser.get("/finance/invoices/new").await;
    assert!(form.body.contains("name=\"currency\"") && form.body.contains("name=\"rate\""), "{}", form.body);
    // Without the rate: refused beside it, the dollars still chosen and the line as typed.
    let sent = fields("");
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post_form("/finance/invoices/new", "/finance/invoices", &sent).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let rate_field = refused.body.split("id=\"rate\"").nth(1).expect("rate field");
    assert!(rate_field[..rate_field.find("</div>").expect("end")].contains("role=\"alert\""), "{rate_field}");
    assert!(refused.body.contains("<option value=\"USD\" selected>"), "{}", refused.body);
    assert!(refused.body.contains("value=\"12.40\""));
    assert_eq!(app.count("fin_invoices").await, 0);

    let sent = fields("7.1");
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = browser.post_form("/finance/invoices/new", "/finance/invoices", &sent).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let location = saved.header("location").expect("location");
    let page = browser.get(&location).await;
    // The invoice in dollars, what the ledger carries in yuan, and a receipt form in dollars
    // that asks for the day's rate.
    for shown in ["USD @ 7.1", "6,200.00", "44,020.00", "name=\"rate\" value=\"7.1\""] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let paid = browser
        .post_form(
            &location,
            &format!("{location}/pay"),
            &[
                ("party_id", &party_text),
                ("date", "2026-03-20"),
                ("amount", "2,000.00"),
                ("currency", "USD"),
                ("rate", "7.15"),
                ("bank_account", "1002"),
            ],
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    let page = browser.get(&location).await;
    assert!(page.body.contains("部分收付"), "{}", page.body);
    assert!(page.body.contains("4,200.00"), "the dollars still open as the next receipt's amount: {}", page.body);
    // The list names the dollars beside the yuan.
    assert!(browser.get("/finance/invoices").await.body.contains("USD 6,200.00"));
}

#[tokio::test]
async fn documents_left_without_a_rate_take_the_exchange_rate_table_s() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    app.user("zhao.lei", &["buyer"], "", "purchase").await;
    let api = app.api("chen.jing").await;
    let buyer = app.api("zhao.lei").await;
    let admin = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let pacific = party(&admin, "Pacific Home Goods Inc.", "customer").await;
    let osaka = party(&admin, "Osaka Precision Parts K.K.", "supplier").await;

    // The accountant enters the bank's middle rates for March: 7.10 from the 1st, 7.15 from
    // the 20th, 7.20 at the month's end. What cannot be read is refused beside its field.
    for (body, field) in [
        (json!({"currency": "CNY", "date": "2026-03-01", "rate": "1"}), "currency"),
        (json!({"currency": "GBP", "date": "2026-03-01", "rate": "9.1"}), "currency"),
        (json!({"currency": "USD", "date": "2026-03-32", "rate": "7.1"}), "date"),
        (json!({"currency": "USD", "date": "2026-03-01", "rate": "-7.1"}), "rate"),
        (json!({"currency": "USD", "date": "2026-03-01", "rate": "7.1234567"}), "rate"),
    ] {
        let refused = api.post("/api/v1/finance/exchange-rates", &body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.json()["errors"][0]["field"], field, "{body}");
    }
    let denied = buyer
        .post("/api/v1/finance/exchange-rates", &json!({"currency": "USD", "date": "2026-03-01", "rate": "7.1"}))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "a buyer reads the rates but does not set them");
    for (date, rate) in [("2026-03-01", "7.1000"), ("2026-03-20", "7.14"), ("2026-03-31", "7.2")] {
        let set =
            api.post("/api/v1/finance/exchange-rates", &json!({"currency": "usd", "date": date, "rate": rate})).await;
        assert_eq!(set.status, StatusCode::CREATED, "{}", set.body);
    }
    // The 20th's rate was mistyped: entered again, it replaces the day's, and the audit trail
    // keeps what it was.
    let corrected = api
        .post("/api/v1/finance/exchange-rates", &json!({"currency": "USD", "date": "2026-03-20", "rate": "7.15"}))
        .await;
    assert_eq!(corrected.json(), json!({"currency": "USD", "date": "2026-03-20", "rate": "7.15"}));
    let audit = admin.get("/api/v1/audit?resource=finance.exchange_rate").await.json();
    assert_eq!(
        (audit["items"][0]["resource_id"].as_str(), &audit["items"][0]["changes"]["rate"]),
        (Some("USD 2026-03-20"), &json!(["7.14", "7.15"])),
        "{audit}"
    );
    assert_eq!(app.count("fin_exchange_rates").await, 3);
    let in_force = buyer.get("/api/v1/finance/exchange-rates?date=2026-03-25").await.json();
    assert_eq!(in_force["items"], json!([{"currency": "USD", "date": "2026-03-20", "rate": "7.15"}]));
    let before_any = buyer.get("/api/v1/finance/exchange-rates?date=2026-02-28").await.json();
    assert_eq!(before_any["items"], json!([]));
    let bad = buyer.get("/api/v1/finance/exchange-rates?currency=GBP").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);

    // An invoice of the 5th with its rate left empty is booked at 7.1: USD 6,200.00 is
    // ¥44,020.00. A rate typed on the document still wins over the table's.
    let lamps = |rate: &str| {
        json!({"kind": "customer", "party_id": pacific, "date": "2026-03-05", "currency": "USD", "rate": rate,
               "lines": [{"description": "LED desk lamp DL-20", "quantity": "500", "unit_price": "12.40", "vat_rate": "0"}]})
    };
    let posted = posted_invoice(&api, lamps("")).await;
    assert_eq!((posted["total"].as_str(), posted["foreign"]["rate"].as_str()), (Some("44020.00"), Some("7.1")));
    let typed = posted_invoice(&api, lamps("7.11")).await;
    assert_eq!(typed["foreign"]["rate"], "7.11");

    // USD 2,000.00 received on the 25th, rate left empty, is booked at the 20th's 7.15: the
    // gain of ¥100.00 against the invoice's 7.1, as when the rate was typed.
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-03-25", "amount": "2000.00", "currency": "USD",
                    "allocations": [{"invoice_id": posted["id"], "amount": "2000.00"}]}),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    assert_eq!(
        voucher(&api, &receipt.json()["entry_id"]).await,
        vec![
            row("1002", "14300.00", "0.00", "USD 2000.00 @ 7.15"),
            row("1122", "0.00", "14200.00", "USD 2000.00 @ 7.1"),
            row("6603", "0.00", "100.00", ""),
        ]
    );

    // The page of the invoice booked at 7.11 offers today's rate from the table for its
    // receipt: the 15th's, 7.1.
    let page = app.signed_in("chen.jing").await.get(&format!("/finance/invoices/{}", typed["id"])).await;
    assert!(page.body.contains("name=\"rate\" value=\"7.1\""), "{}", page.body);

    // A yen bill with no yen in the table is refused beside its rate, saying so; nothing is
    // written.
    let bill = buyer
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "supplier", "party_id": osaka, "date": "2026-03-10", "currency": "JPY",
                    "lines": [{"description": "Spindle bearing 6203", "quantity": "1000", "unit_price": "1000", "vat_rate": "0"}]}),
        )
        .await;
    assert_eq!(bill.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bill.body);
    let error = &bill.json()["errors"][0];
    assert_eq!((error["field"].as_str(), error["code"].as_str()), (Some("rate"), Some("error.finance.no_table_rate")));
    assert!(error["message"].as_str().unwrap_or_default().contains("JPY"), "{error}");

    // March's revaluation, given no rates, takes the table's 7.2 of the 31st: the bank's
    // USD 2,000.00 is worth ¥14,400.00 (+100), the 4,200 still owed plus the typed invoice's
    // 6,200 ¥74,880.00 (+420 and +558).
    let march = api.post("/api/v1/finance/periods/2026-03/revalue", &json!({})).await;
    assert_eq!(march.status, StatusCode::CREATED, "{}", march.body);
    let revalued: Vec<(String, String, String)> = march.json()["revaluations"]
        .as_array()
        .expect("revaluations")
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap_or("").into(),
                r["rate"].as_str().unwrap_or("").into(),
                r["difference"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        revalued,
        vec![("1002".into(), "7.2".into(), "100.00".into()), ("1122".into(), "7.2".into(), "978.00".into())]
    );

    // Taking the 31st's rate out leaves the 20th's in force; a rate that is not there is a 404.
    let removed = api.call(Method::DELETE, "/api/v1/finance/exchange-rates/USD/2026-03-31", None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let again = api.call(Method::DELETE, "/api/v1/finance/exchange-rates/USD/2026-03-31", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
    let in_force = buyer.get("/api/v1/finance/exchange-rates?currency=USD&date=2026-04-30").await.json();
    assert_eq!(in_force["items"][0]["rate"], "7.15");
}

#[tokio::test]
async fn a_dollar_accounts_fees_and_interest_are_booked_from_its_statement_in_dollars() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    app.user("wu.xia", &["cashier"], "", "finance").await;
    let (api, cashier) = (app.api("chen.jing").await, app.api("wu.xia").await);
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    api.post("/api/v1/finance/exchange-rates", &json!({"currency": "USD", "date": "2026-03-01", "rate": "7.1"})).await;
    let csv =
        "date,amount,memo\n2026-03-25,-15.00,Wire fee\n2026-03-31,2.30,Interest\n2026-03-28,-20.00,Cable charge\n";
    let imported = api
        .post(
            "/api/v1/finance/bank-statements",
            &json!({"bank_account": "1002", "currency": "USD", "csv": csv,
                    "mapping": {"date": "date", "amount": "amount", "memo": "memo"}}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    let lines = api.get("/api/v1/finance/bank-lines?unmatched=true").await.json()["items"].clone();
    let line_of = |amount: &str| {
        lines.as_array().and_then(|l| l.iter().find(|l| l["amount"] == amount)).map(|l| l["id"].clone()).expect("line")
    };
    let (fee, interest, cable) = (line_of("-15.00"), line_of("2.30"), line_of("-20.00"));

    // The wire fee at the table's 7.10: 106.50 to 财务费用, the dollars on the bank's side; the
    // line is matched with it.
    let booked = api.post(&format!("/api/v1/finance/bank-lines/{fee}/book"), &json!({"account": "6603"})).await;
    assert_eq!(
        (booked.status, booked.json()["status"].clone()),
        (StatusCode::CREATED, json!("posted")),
        "{}",
        booked.body
    );
    assert_eq!(
        voucher(&api, &booked.json()["entry_id"]).await,
        vec![row("6603", "106.50", "0.00", ""), row("1002", "0.00", "106.50", "USD 15.00 @ 7.1")]
    );
    // The interest at the bank's own 7.20, typed: 2.30 × 7.20 = 16.56. A rate that cannot be
    // read is refused beside it, and nothing is booked.
    let unreadable = api
        .post(&format!("/api/v1/finance/bank-lines/{interest}/book"), &json!({"account": "6603", "rate": "七点二"}))
        .await;
    assert_eq!(unreadable.json()["errors"][0]["field"], "rate", "{}", unreadable.body);
    assert_eq!(app.count("fin_entries WHERE kind = 'bank'").await, 1, "only the wire fee is booked");
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {interest} AND entry_id IS NULL")).await, 1);
    let booked = api
        .post(&format!("/api/v1/finance/bank-lines/{interest}/book"), &json!({"account": "6603", "rate": "7.2"}))
        .await;
    assert_eq!(
        voucher(&api, &booked.json()["entry_id"]).await,
        vec![row("1002", "16.56", "0.00", "USD 2.30 @ 7.2"), row("6603", "0.00", "16.56", "")]
    );

    // The cashier, who may not post, books the cable charge from the bank page, whose form
    // for a dollar line asks for the rate too; her draft keeps the dollars, and posted by the
    // accountant, it is matched with its line.
    let page = app.signed_in("wu.xia").await.get("/finance/bank").await;
    let row_of_cable = page.body.split(&format!("id=\"line-{cable}\"")).nth(1).expect("the cable charge's row");
    assert!(row_of_cable[..row_of_cable.find("</tr>").expect("row")].contains("name=\"rate\""), "{row_of_cable}");
    let drafted = cashier.post(&format!("/api/v1/finance/bank-lines/{cable}/book"), &json!({"account": "6603"})).await;
    assert_eq!(drafted.json()["status"], "draft", "{}", drafted.body);
    let draft = drafted.json()["entry_id"].clone();
    assert_eq!(
        voucher(&api, &draft).await,
        vec![row("6603", "142.00", "0.00", ""), row("1002", "0.00", "142.00", "USD 20.00 @ 7.1")]
    );
    let posted = api.post(&format!("/api/v1/finance/entries/{draft}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(app.count("fin_bank_lines WHERE entry_id IS NULL").await, 0, "every line matched");

    // The account held 1,000.00 dollars from February; March's journal keeps its balance in
    // dollars beside the yuan (外币日记账): 1,000.00 − 15.00 − 20.00 + 2.30 = 967.30.
    let deposit = json!({"date": "2026-02-27", "word": "收", "memo": "美元存入", "lines": [
        {"account": "1002", "debit": "7000.00", "currency": "USD", "foreign_amount": "1000.00", "rate": "7"},
        {"account": "4001", "credit": "7000.00"}]});
    post(&api, deposit).await;
    let journal = cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-03-01&to=2026-03-31").await;
    assert_eq!(journal.status, StatusCode::OK, "{}", journal.body);
    let journal = journal.json();
    assert_eq!(
        (journal["currency"].as_str(), journal["foreign_opening"].as_str(), journal["foreign_closing"].as_str()),
        (Some("USD"), Some("1000.00"), Some("967.30"))
    );
    let balances: Vec<&str> = journal["months"][0]["days"]
        .as_array()
        .expect("days")
        .iter()
        .flat_map(|d| d["lines"].as_array().expect("lines").iter().filter_map(|l| l["foreign_balance"].as_str()))
        .collect();
    assert_eq!(balances, ["985.00", "965.00", "967.30"]);
    assert_eq!(journal["opening"], "7000.00");
    let page = app
        .signed_in("wu.xia")
        .await
        .get("/finance/reports/cash-journal?account=1002&from=2026-03-01&to=2026-03-31")
        .await;
    let total = page.body.split("id=\"journal-total\"").nth(1).expect("the total row");
    assert!(total[..total.find("</tr>").expect("row")].contains("USD 967.30"), "{total}");
}

#[tokio::test]
async fn a_dollar_customers_ageing_reads_in_dollars_on_any_date() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let pacific = party(&api, "Pacific Home Goods Inc.", "customer").await;
    let lamps = |date: &str, quantity: &str, rate: &str| {
        json!({"kind": "customer", "party_id": pacific, "date": date, "currency": "USD", "rate": rate,
               "lines": [{"description": "LED desk lamp DL-20", "quantity": quantity, "unit_price": "10.00", "vat_rate": "0"}]})
    };
    // January: USD 1,000.00 at 7.10, due 9 February. March: USD 2,000.00 at 7.20, due 31 March.
    // And one yuan invoice, ¥5,650.00, which the dollar ageing leaves out.
    let january = posted_invoice(&api, lamps("2026-01-10", "100", "7.10")).await["id"].as_i64().expect("id");
    let march = posted_invoice(&api, lamps("2026-03-01", "200", "7.20")).await["id"].as_i64().expect("id");
    posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": pacific, "date": "2026-03-01", "lines": [
            {"description": "样品费", "quantity": "1", "unit_price": "5000.00", "vat_rate": "13"}]}),
    )
    .await;
    // In April USD 400.00 comes in for January's invoice and twenty lamps of March's go back.
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-04-05", "amount": "400.00", "currency": "USD",
                    "rate": "7.15", "allocations": [{"invoice_id": january, "amount": "400.00"}]}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    let note = api
        .post(
            &format!("/api/v1/finance/invoices/{march}/credit-note"),
            &json!({"date": "2026-04-10", "lines": [{"description": "LED desk lamp DL-20", "quantity": "20", "unit_price": "10.00", "vat_rate": "0"}]}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let ageing = |date: &str, currency: &str| {
        let api = &api;
        let path = format!("/api/v1/finance/reports/ageing?kind=receivable&date={date}&currency={currency}");
        async move { api.get(&path).await }
    };
    let buckets = |report: &Value| {
        let row = &report["items"][0];
        ["0_30", "31_60", "61_90", "over_90", "total"].map(|b| row[b].as_str().unwrap_or_default().to_string())
    };
    // On 31 March, before either: January's USD 1,000.00 is 50 days late, March's 2,000.00 due.
    let end_of_march = ageing("2026-03-31", "USD").await.json();
    assert_eq!(end_of_march["currency"], "USD");
    assert_eq!(buckets(&end_of_march), ["2000.00", "1000.00", "0.00", "0.00", "3000.00"], "{end_of_march}");
    // On 30 April: USD 600.00 of January's, 80 days late; USD 1,800.00 of March's, 30 days.
    let end_of_april = ageing("2026-04-30", "USD").await.json();
    assert_eq!(buckets(&end_of_april), ["1800.00", "0.00", "600.00", "0.00", "2400.00"], "{end_of_april}");
    // In yuan every document counts at the ledger's figures: ¥7,100.00 + ¥14,400.00 + ¥5,650.00.
    let in_yuan = ageing("2026-03-31", "").await.json();
    assert_eq!((in_yuan["currency"].as_str(), in_yuan["total"].as_str()), (Some("CNY"), Some("27150.00")), "{in_yuan}");
    // The documents behind the dollar figure, in dollars.
    let opened = api
        .get(&format!("/api/v1/finance/reports/ageing?kind=receivable&date=2026-03-31&currency=USD&party_id={pacific}"))
        .await
        .json();
    let documents: Vec<(i64, String)> = opened["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| (d["id"].as_i64().unwrap_or_default(), d["open"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(documents, [(january, "1000.00".to_string()), (march, "2000.00".to_string())]);
    // No euro documents: an empty report. A currency the books do not keep is refused.
    assert_eq!(ageing("2026-04-30", "EUR").await.json()["items"], json!([]));
    let refused = ageing("2026-04-30", "XAU").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.json()["errors"][0]["field"], "currency");
    // The page: the currency chosen, the figures in it, the refusal beside the field.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/reports/ageing?kind=receivable&date=2026-04-30&currency=USD").await;
    assert!(page.body.contains("<option value=\"USD\" selected>"), "{}", page.body);
    assert!(page.body.contains(">2,400.00</a>") && !page.body.contains("5,650.00"), "{}", page.body);
    let csv = browser.get("/finance/reports/ageing?kind=receivable&date=2026-04-30&currency=USD&format=csv").await;
    assert!(csv.body.contains("1800.00") && csv.body.contains("2400.00"), "{}", csv.body);
    let refused = browser.get("/finance/reports/ageing?kind=receivable&date=2026-04-30&currency=XAU").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = refused.body.split("id=\"currency\"").nth(1).unwrap_or_default();
    assert!(field.split("</div>").next().unwrap_or_default().contains("role=\"alert\""), "{field}");
}

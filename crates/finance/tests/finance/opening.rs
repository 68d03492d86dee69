//! A trading company moving its books to Zhongshu from July 2026 enters what its accounts held
//! at the end of June (期初余额): the trial balance, the balance sheet, the cash flow statement
//! and the VAT return of July open with it, no year-to-date figure counts it as a movement,
//! and once July is closed no more can be entered.

use crate::invoicing::{party, posted_invoice};
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
    assert!(browser.get("/finance/entries").await.body.contains("href=\"/finance/opening\""), "the menu has it");
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

/// A line of opening balances with an open document of the earlier books on it.
fn carried(account: &str, debit: &str, credit: &str, party: &str, document: (&str, &str, &str)) -> Value {
    let (number, date, due_date) = document;
    json!({"account": account, "debit": debit, "credit": credit, "party": party,
           "document": {"number": number, "date": date, "due_date": due_date}})
}

async fn party_number(api: &testkit::ApiClient, id: i64) -> String {
    api.get(&format!("/api/v1/parties/{id}")).await.json()["number"].as_str().expect("number").to_string()
}

#[tokio::test]
async fn the_open_invoices_and_bills_of_the_earlier_books_are_carried_over_and_settled_here() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    let ruifeng = party(&api, "上海瑞丰贸易有限公司", "customer").await;
    let pacific = party(&api, "Pacific Trading LLC", "customer").await;
    let paper = party(&api, "华东纸业有限公司", "supplier").await;
    let mingyuan = party(&api, "杭州明远电子有限公司", "customer").await;
    let (ruifeng_no, pacific_no, paper_no) =
        (party_number(&api, ruifeng).await, party_number(&api, pacific).await, party_number(&api, paper).await);
    let mingyuan_no = party_number(&api, mingyuan).await;

    // Refused beside each line, storing nothing: a document on the bank line, one on the credit
    // side of receivables, one without its customer, one dated after 30 June (the day the
    // opening balances stand on), one due before its date, a number typed twice, an advance
    // received on the debit side, and one given a due date.
    let refused = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                carried("1002", "1000.00", "", "", ("B-1", "2026-06-01", "")),
                carried("1122", "", "500.00", &ruifeng_no, ("XS-1", "2026-06-01", "")),
                carried("1122", "500.00", "", "", ("XS-2", "2026-06-01", "")),
                carried("1122", "300.00", "", &ruifeng_no, ("XS-3", "2026-07-02", "")),
                carried("1122", "200.00", "", &ruifeng_no, ("XS-4", "2026-06-10", "2026-06-01")),
                carried("2202", "", "100.00", &paper_no, ("CG-1", "2026-06-01", "")),
                carried("2202", "", "1400.00", &paper_no, ("CG-1", "2026-06-02", "")),
                carried("2203", "60.00", "", &ruifeng_no, ("YS-1", "2026-06-01", "")),
                carried("2203", "", "60.00", &ruifeng_no, ("YS-2", "2026-06-01", "2026-07-01")),
            ]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let errors: Vec<(String, String)> = refused.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or_default().into(), e["code"].as_str().unwrap_or_default().into()))
        .collect();
    let expected = [
        ("lines[0]", "error.finance.opening_document_account"),
        ("lines[1]", "error.finance.opening_document_side"),
        ("lines[2]", "error.finance.opening_document_party"),
        ("lines[3]", "error.finance.opening_document_date"),
        ("lines[4]", "error.finance.due_before_date"),
        ("lines[6]", "error.finance.document_number_taken"),
        ("lines[7]", "error.finance.opening_document_side"),
        ("lines[8]", "error.finance.opening_advance_due"),
    ];
    assert_eq!(errors, expected.map(|(f, c)| (f.to_string(), c.to_string())), "{}", refused.body);
    assert_eq!((app.count("fin_entries").await, app.count("fin_invoices").await), (0, 0));

    // What the earlier books left open at the end of June: 瑞丰 owes two invoices, 30,000.00
    // due 19 June and 20,000.00 due 18 July; Pacific owes USD 1,000.00 booked at 7.10, due 30
    // June; 华东纸业 is owed a bill of 40,000.00 due 10 July; 明远 paid 6,000.00 in advance
    // on 25 June for goods not yet invoiced.
    let opened = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                {"account": "1002", "debit": "200000.00"},
                carried("1122", "30000.00", "", &ruifeng_no, ("XS-0412", "2026-05-20", "2026-06-19")),
                carried("1122", "20000.00", "", &ruifeng_no, ("XS-0466", "2026-06-18", "2026-07-18")),
                {"account": "1122", "debit": "7100.00", "party": pacific_no, "currency": "USD", "foreign_amount": "1000.00", "rate": "7.10",
                 "document": {"number": "EX-0088", "date": "2026-05-31", "due_date": "2026-06-30"}},
                carried("2202", "", "40000.00", &paper_no, ("CG-0201", "2026-06-10", "2026-07-10")),
                carried("2203", "", "6000.00", &mingyuan_no, ("YS-0007", "2026-06-25", "")),
                {"account": "4001", "credit": "211100.00"},
            ]}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let opened = opened.json();
    assert_eq!(opened["documents"].as_array().map(Vec::len), Some(5), "{opened}");
    assert_eq!(app.count("audit_log WHERE resource = 'finance.invoice' AND action = 'create'").await, 4);
    assert_eq!(app.count("fin_payments WHERE opening = 1 AND unallocated = 600000 AND bank_account = ''").await, 1);
    let invoices = api.get("/api/v1/finance/invoices?kind=customer").await.json();
    let xs0412 = invoices["items"].as_array().expect("items").iter().find(|i| i["number"] == "XS-0412").cloned();
    let xs0412 = xs0412.expect("XS-0412 is listed among the invoices");
    assert_eq!((xs0412["status"].as_str(), xs0412["opening"].as_bool()), (Some("open"), Some(true)));

    // On 31 July: 瑞丰's first invoice is 42 days past due, its second 13; Pacific's 31.
    let ageing = api.get("/api/v1/finance/reports/ageing?kind=receivable&date=2026-07-31").await.json();
    let row = |name: &str| ageing["items"].as_array().expect("items").iter().find(|r| r["party_name"] == name).cloned();
    let ruifeng_row = row("上海瑞丰贸易有限公司").expect("瑞丰 is aged");
    assert_eq!((ruifeng_row["0_30"].as_str(), ruifeng_row["31_60"].as_str()), (Some("20000.00"), Some("30000.00")));
    assert_eq!(row("Pacific Trading LLC").expect("Pacific is aged")["31_60"], "7100.00");

    // 瑞丰 pays 35,000.00 on 10 July: the oldest invoice is paid, 5,000.00 of the next, and
    // nothing is left over as an advance.
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": ruifeng, "date": "2026-07-10", "amount": "35000.00"}),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    assert_eq!(receipt.json()["unallocated"], "0.00", "{}", receipt.body);
    let status = |number: &'static str| {
        let api = &api;
        async move {
            let items = api.get("/api/v1/finance/invoices?kind=customer").await.json();
            let found = items["items"].as_array().expect("items").iter().find(|i| i["number"] == number).cloned();
            found.expect("listed")["status"].as_str().unwrap_or_default().to_string()
        }
    };
    assert_eq!((status("XS-0412").await, status("XS-0466").await), ("paid".to_string(), "partial".to_string()));
    // Pacific pays its dollars at 7.20: the invoice is cleared at its 7.10, ¥100.00 gained.
    let dollars = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-07-20", "amount": "1000.00", "currency": "USD", "rate": "7.20"}),
        )
        .await;
    assert_eq!(dollars.status, StatusCode::CREATED, "{}", dollars.body);
    assert_eq!(status("EX-0088").await, "paid");
    // 华东纸业's bill is paid on 10 July.
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "payment", "party_id": paper, "date": "2026-07-10", "amount": "40000.00"}),
        )
        .await;
    assert_eq!(
        (paid.status, paid.json()["unallocated"].as_str()),
        (StatusCode::CREATED, Some("0.00")),
        "{}",
        paid.body
    );
    // 明远 is invoiced 11,300.00 in July, and its advance of June is applied to it.
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": mingyuan, "date": "2026-07-22",
               "lines": [{"description": "电源模块", "quantity": "100", "unit_price": "100.00", "vat_rate": "13"}]}),
    )
    .await;
    let invoice_id = invoice["id"].as_i64().expect("id");
    let applied =
        api.post(&format!("/api/v1/finance/invoices/{invoice_id}/apply-advance"), &json!({"date": "2026-07-22"})).await;
    assert!(applied.status.is_success(), "{}", applied.body);
    let invoice = api.get(&format!("/api/v1/finance/invoices/{invoice_id}")).await.json();
    assert_eq!((invoice["status"].as_str(), invoice["open"].as_str()), (Some("partial"), Some("5300.00")));

    // The ledger agrees with the documents: 1122 holds 瑞丰's 15,000.00 and 明远's 5,300.00
    // still open, 2202 and the advance accounts nothing, and the dollar receipt's gain is in
    // 6603.
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-07&to=2026-07").await.json();
    let closing = |code: &str| {
        let items = tb["items"].as_array().expect("items");
        items.iter().find(|r| r["code"] == code).and_then(|r| r["closing"].as_str()).unwrap_or("0.00").to_string()
    };
    assert_eq!(
        [closing("1122"), closing("2202"), closing("2203"), closing("1123"), closing("6603")],
        ["20300.00", "0.00", "0.00", "0.00", "-100.00"],
        "{tb}"
    );

    // 瑞丰's statement of July opens with the 50,000.00 carried over and ends with 15,000.00.
    let statement = api
        .get(&format!("/api/v1/finance/reports/party-statement?party_id={ruifeng}&from=2026-07-01&to=2026-07-31"))
        .await
        .json();
    assert_eq!((statement["opening"].as_str(), statement["closing"].as_str()), (Some("50000.00"), Some("15000.00")));

    // It has no lines here to credit in full: a credit note of it is typed line by line.
    let id = xs0412["id"].as_i64().expect("id");
    let second = invoices["items"].as_array().expect("items").iter().find(|i| i["number"] == "XS-0466").cloned();
    let second = second.expect("XS-0466")["id"].as_i64().expect("id");
    let whole =
        api.post(&format!("/api/v1/finance/invoices/{second}/credit-note"), &json!({"date": "2026-07-25"})).await;
    assert_eq!(whole.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", whole.body);
    assert_eq!(whole.json()["errors"][0]["code"], "error.finance.opening_document_credit");
    let browser = app.signed_in("admin").await;
    let page = browser.get(&format!("/finance/invoices/{id}")).await;
    assert!(page.body.contains("id=\"opening-document\""), "{}", page.body);
    // 瑞丰 sends back ten of the components XS-0466 sold, at 565.00 each with 13 % VAT: the
    // note takes 5,000.00 off July's sales and 650.00 off its output VAT, and 5,650.00 off
    // what 瑞丰 owes on the invoice. A quantity that is not one is refused on its row, and so
    // is an account a sale's revenue cannot be taken back from (the bank's).
    let from = format!("/finance/invoices/{second}");
    let to = format!("/finance/invoices/{second}/credit-note");
    let typed = |quantity: &'static str, account: &'static str| {
        [
            ("date", "2026-07-25"),
            ("credit_description_0", "退货 电子元件"),
            ("credit_quantity_0", quantity),
            ("credit_price_0", "565.00"),
            ("credit_vat_0", "13"),
            ("credit_account_0", account),
        ]
    };
    let stored = async || {
        let invoice = api.get(&format!("/api/v1/finance/invoices/{second}")).await.body;
        (invoice, app.count("fin_invoices").await, app.count("fin_entries").await, app.count("audit_log").await)
    };
    let before = stored().await;
    for (quantity, account) in [("ten", ""), ("10", "1002")] {
        let refused = browser.post_form(&from, &to, &typed(quantity, account)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body.contains("value=\"退货 电子元件\""), "the line comes back as typed");
        let errors = refused.body.split("<tr class=\"line-errors\"><td colspan=\"5\">").nth(1).unwrap_or_default();
        assert!(errors.starts_with("<p class=\"error\""), "refused on its row: {}", refused.body);
        if account == "1002" {
            assert!(errors.contains("收入类科目"), "{errors}");
        }
        assert_eq!(stored().await, before, "the invoice, the notes, the vouchers and the audit trail as they were");
    }
    let credited = browser.post_form(&from, &to, &typed("10", "6001")).await;
    assert_eq!(credited.status, StatusCode::SEE_OTHER, "{}", credited.body);
    let invoice = api.get(&format!("/api/v1/finance/invoices/{second}")).await.json();
    assert_eq!(invoice["open"], "9350.00", "{invoice}");
    let vat = api.get("/api/v1/finance/reports/vat?from=2026-07&to=2026-07").await.json();
    assert_eq!(vat["output"], "650.00", "明远's 1,300.00 less the note's 650.00: {vat}");
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-07&to=2026-07").await.json();
    let row = |code: &str| tb["items"].as_array().expect("items").iter().find(|r| r["code"] == code).cloned();
    assert_eq!(row("1122").expect("1122")["closing"], "14650.00");
    // 明远's advance is listed among June's receipts, marked as carried over.
    let receipts = browser.get("/finance/payments?kind=receipt&month=2026-06").await;
    assert!(receipts.body.contains("YS-0007") && receipts.body.contains("期初单据"), "{}", receipts.body);
}

#[tokio::test]
async fn an_open_invoice_is_typed_beside_its_line_on_the_opening_balances_page() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    let customer = party(&api, "杭州明远电子有限公司", "customer").await;
    let number = party_number(&api, customer).await;
    let browser = app.signed_in("admin").await;
    let form = |date: &'static str| {
        vec![
            ("account", "1122".to_string()),
            ("debit", "8800.00".to_string()),
            ("credit", String::new()),
            ("party", number.clone()),
            ("document_number", "MY-2026-031".to_string()),
            ("document_date", date.to_string()),
            ("due_date", "2026-07-15".to_string()),
            ("account", "4001".to_string()),
            ("debit", String::new()),
            ("credit", "8800.00".to_string()),
            ("party", String::new()),
            ("document_number", String::new()),
            ("document_date", String::new()),
            ("due_date", String::new()),
        ]
    };
    let typed = form("2026-07-05");
    let pairs: Vec<(&str, &str)> = typed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post_form("/finance/opening", "/finance/opening", &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("未清单据的日期须为 YYYY-MM-DD 格式，且不晚于期初日 2026-06-30"), "{}", refused.body);
    assert!(refused.body.contains("value=\"MY-2026-031\""), "the document comes back as typed");
    let typed = form("2026-06-15");
    let pairs: Vec<(&str, &str)> = typed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let posted = browser.post_form("/finance/opening", "/finance/opening", &pairs).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(
        app.count("fin_invoices WHERE number = 'MY-2026-031' AND opening = 1 AND status = 'open' AND total = 880000")
            .await,
        1
    );
    let list = browser.get("/finance/invoices").await;
    assert!(list.body.contains("MY-2026-031") && list.body.contains("期初单据"), "{}", list.body);
}

#[tokio::test]
async fn a_company_starting_in_july_enters_the_first_half_years_income_and_its_year_is_whole() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    let customer = party(&api, "上海瑞丰贸易有限公司", "customer").await;

    // January to June under the earlier books: 500,000.00 of sales, 350,000.00 of cost of sales
    // and 80,000.00 of administrative expenses; their 70,000.00 of profit stands in 本年利润.
    // Selling expenses are kept by sub-account, so 6601 itself takes no figure.
    let added =
        api.post("/api/v1/finance/accounts", &json!({"parent": "6601", "code": "660101", "name_zh": "广告费"})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let refused = api
        .put(
            "/api/v1/finance/opening-balances/year-to-date",
            &json!({"lines": [
                {"account": "6001", "credit": "500000.00"},
                {"account": "1002", "debit": "10.00"},
                {"account": "6602", "debit": "80000.00", "credit": "1.00"},
                {"account": "6001", "credit": "5.00"},
                {"account": "6601", "debit": "9.00"},
            ]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let codes: Vec<(String, String)> = refused.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or_default().into(), e["code"].as_str().unwrap_or_default().into()))
        .collect();
    assert_eq!(
        codes,
        [
            ("lines[1]", "error.finance.year_to_date_account"),
            ("lines[2]", "error.finance.one_side"),
            ("lines[3]", "error.finance.year_to_date_twice"),
            ("lines[4]", "error.finance.parent_account")
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    assert_eq!(app.count("fin_opening_year_to_date").await, 0);
    let set = api
        .put(
            "/api/v1/finance/opening-balances/year-to-date",
            &json!({"lines": [
                {"account": "6001", "credit": "500000.00"},
                {"account": "6401", "debit": "350000.00"},
                {"account": "6602", "debit": "80000.00"},
            ]}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.json()["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(app.count("audit_log WHERE resource = 'finance.opening_year_to_date'").await, 1);
    let opened = api
        .post("/api/v1/finance/opening-balances", &lines(&[("1002", "70000.00", "", ""), ("4103", "", "70000.00", "")]))
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);

    // July: 100,000.00 sold (plus 13,000.00 of VAT), and the month closed.
    crate::invoicing::posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-07-15",
               "lines": [{"description": "办公家具", "quantity": "10", "unit_price": "10000.00", "vat_rate": "13"}]}),
    )
    .await;
    let closed = api.post("/api/v1/finance/periods/2026-07/close", &json!({})).await;
    assert!(closed.status.is_success(), "{}", closed.body);

    // The year to July has all seven months; July alone, and a range starting in March (which
    // the six months' figures cannot be split into), only the books' own.
    let year = api.get("/api/v1/finance/reports/income-statement?from=2026-01&to=2026-07").await.json();
    assert_eq!(
        [
            figure(&year, "revenue"),
            figure(&year, "cost_of_sales"),
            figure(&year, "administrative"),
            figure(&year, "net_profit")
        ],
        ["600000.00", "350000.00", "80000.00", "170000.00"],
        "{year}"
    );
    let july = api.get("/api/v1/finance/reports/income-statement?from=2026-07&to=2026-07").await.json();
    assert_eq!(figure(&july, "revenue"), "100000.00");
    let spring = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-07").await.json();
    assert_eq!(figure(&spring, "revenue"), "100000.00");
    // Thirteen months from December 2025 cover them all; a range ending in May, none.
    let rolling = api.get("/api/v1/finance/reports/income-statement?from=2025-12&to=2026-07").await.json();
    assert_eq!(figure(&rolling, "revenue"), "600000.00");
    let may = api.get("/api/v1/finance/reports/income-statement?from=2026-01&to=2026-05").await.json();
    assert_eq!(figure(&may, "revenue"), "0.00");
    // The revenue figure of the year traces to its account: the ledger shows the 500,000.00 of
    // January to June beside July's own lines, and July alone leaves it out.
    let ledger = api.get("/api/v1/finance/reports/account-ledger?code=6001&from=2026-01&to=2026-07").await.json();
    assert_eq!(
        ledger["earlier_months"],
        json!({"through": "2026-06", "debit": "0.00", "credit": "500000.00"}),
        "{ledger}"
    );
    let july_only = api.get("/api/v1/finance/reports/account-ledger?code=6001&from=2026-07&to=2026-07").await.json();
    assert_eq!(july_only["earlier_months"], Value::Null);
    let page = app.signed_in("admin").await.get("/finance/reports/account?code=6001&from=2026-01&to=2026-07").await;
    let row = page.body.split("id=\"earlier-months\"").nth(1).unwrap_or_default();
    let row = row.split("</tr>").next().unwrap_or_default();
    assert!(row.contains("2026-06") && row.contains("500,000.00"), "{}", page.body);
    // The year's profit ties out with the balance sheet's 未分配利润 (本年利润 holds both halves).
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-07").await.json();
    assert_eq!(figure(&sheet, "retained_earnings"), "170000.00");

    // Once July is closed, the figures are kept as they are.
    let late = api
        .put(
            "/api/v1/finance/opening-balances/year-to-date",
            &json!({"lines": [{"account": "6001", "credit": "1.00"}]}),
        )
        .await;
    assert_eq!(late.json()["errors"][0]["code"], "error.finance.opening_closed", "{}", late.body);
}

#[tokio::test]
async fn the_year_to_date_figures_are_typed_on_the_opening_page_and_books_from_january_have_none() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 4})).await;
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/opening").await;
    assert!(page.body.contains("id=\"year-to-date\"") && page.body.contains("2026-03"), "{}", page.body);
    let refused = browser
        .post_form(
            "/finance/opening",
            "/finance/opening/year-to-date",
            &[("ytd_account", "1122"), ("ytd_debit", "100.00"), ("ytd_credit", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("只能录入未停用的损益类科目：1122"), "{}", refused.body);
    let saved = browser
        .post_form(
            "/finance/opening",
            "/finance/opening/year-to-date",
            &[("ytd_account", "6601"), ("ytd_debit", "12,000.00"), ("ytd_credit", "")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = browser.get("/finance/opening").await;
    assert!(page.body.contains("value=\"12000.00\""), "the figure is shown to change: {}", page.body);

    let january = spawn_app().await;
    let api = january.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let page = january.signed_in("admin").await.get("/finance/opening").await;
    assert!(!page.body.contains("id=\"year-to-date\""));
    let refused = api
        .put(
            "/api/v1/finance/opening-balances/year-to-date",
            &json!({"lines": [{"account": "6001", "credit": "1.00"}]}),
        )
        .await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.finance.year_to_date_january", "{}", refused.body);
}

#[tokio::test]
async fn a_document_carried_by_mistake_is_taken_back_and_carried_again_as_it_should_have_been() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    let ruifeng = party(&api, "上海瑞丰贸易有限公司", "customer").await;
    let paper = party(&api, "华东纸业有限公司", "supplier").await;
    let ink = party(&api, "江南油墨有限公司", "supplier").await;
    let (ruifeng_no, paper_no, ink_no) =
        (party_number(&api, ruifeng).await, party_number(&api, paper).await, party_number(&api, ink).await);
    let refusals = |body: &str| -> Vec<(String, String)> {
        let body: Value = serde_json::from_str(body).expect("json");
        body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["field"].as_str().unwrap_or_default().into(), e["code"].as_str().unwrap_or_default().into()))
            .collect()
    };

    // Refused: a number shaped like this ledger's own, a document on a row without account or
    // amount, and documents that come to more than the customer's opening balance (a debit
    // carrying one invoice, undone by a credit carrying none).
    let own = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                carried("1122", "100.00", "", &ruifeng_no, ("INV/2026/00001", "2026-06-01", "")),
                {"account": "", "document": {"number": "XS-9", "date": "2026-06-01"}},
                {"account": "4001", "credit": "100.00"},
            ]}),
        )
        .await;
    assert_eq!(
        refusals(&own.body),
        [
            ("lines[1]", "error.finance.opening_document_blank_line"),
            ("lines[0]", "error.finance.opening_document_own_number")
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    let beyond = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                carried("1122", "50000.00", "", &ruifeng_no, ("XS-0400", "2026-06-01", "")),
                {"account": "1122", "credit": "50000.00", "party": ruifeng_no},
            ]}),
        )
        .await;
    assert_eq!(refusals(&beyond.body), [("lines".to_string(), "error.finance.opening_documents_exceed".to_string())]);
    assert!(beyond.body.contains("50000.00 > 0.00"), "{}", beyond.body);
    assert_eq!((app.count("fin_entries").await, app.count("fin_invoices").await), (0, 0));

    // 瑞丰's invoice of 30,000.00 is typed as 300,000.00; two suppliers' bills share the
    // number F-100, which is theirs, not ours.
    let typo = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                carried("1122", "300000.00", "", &ruifeng_no, ("XS-0412", "2026-05-20", "2026-06-19")),
                carried("2202", "", "8000.00", &paper_no, ("F-100", "2026-06-05", "")),
                carried("2202", "", "2000.00", &ink_no, ("F-100", "2026-06-06", "")),
                {"account": "4001", "credit": "290000.00"},
            ]}),
        )
        .await;
    assert_eq!(typo.status, StatusCode::CREATED, "{}", typo.body);
    let documents = typo.json()["documents"].clone();
    assert_eq!((documents[0]["kind"].as_str(), documents[0]["number"].as_str()), (Some("customer"), Some("XS-0412")));
    let wrong = documents[0]["id"].as_i64().expect("id");

    // Taken back: the invoice is gone (the audit trail keeps it); 1122 still holds the
    // 300,000.00, now without a document, and another opening voucher puts it right, carrying
    // the invoice as it should have been.
    let browser = app.signed_in("admin").await;
    assert!(browser.get(&format!("/finance/invoices/{wrong}")).await.body.contains("/withdraw"));
    let taken = browser
        .post_form(&format!("/finance/invoices/{wrong}"), &format!("/finance/invoices/{wrong}/withdraw"), &[])
        .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    assert_eq!(app.count(&format!("fin_invoices WHERE id = {wrong}")).await, 0);
    assert_eq!(
        app.count(&format!(
            "audit_log WHERE resource = 'finance.invoice' AND action = 'delete' AND resource_id = '{wrong}'"
        ))
        .await,
        1
    );
    let corrected = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                {"account": "1122", "credit": "300000.00", "party": ruifeng_no},
                carried("1122", "30000.00", "", &ruifeng_no, ("XS-0412", "2026-05-20", "2026-06-19")),
                {"account": "4001", "debit": "270000.00"},
            ]}),
        )
        .await;
    assert_eq!(corrected.status, StatusCode::CREATED, "{}", corrected.body);
    let ageing = api.get("/api/v1/finance/reports/ageing?kind=receivable&date=2026-07-31").await.json();
    assert_eq!(ageing["items"][0]["total"], "30000.00", "{ageing}");
    // A later voucher may not take the balance below the documents that make it up.
    let below = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [{"account": "1122", "credit": "400.00", "party": ruifeng_no}, {"account": "4001", "debit": "400.00"}]}),
        )
        .await;
    assert_eq!(refusals(&below.body), [("lines".to_string(), "error.finance.opening_documents_exceed".to_string())]);

    // Once money has settled part of it, it stays.
    let right = corrected.json()["documents"][0]["id"].as_i64().expect("id");
    api.post(
        "/api/v1/finance/payments",
        &json!({"kind": "receipt", "party_id": ruifeng, "date": "2026-07-08", "amount": "10000.00"}),
    )
    .await;
    let before = api.get(&format!("/api/v1/finance/invoices/{right}")).await.body;
    let audited = app.count("audit_log").await;
    let kept = api.post(&format!("/api/v1/finance/invoices/{right}/withdraw"), &json!({})).await;
    assert_eq!(refusals(&kept.body), [("withdraw".to_string(), "error.finance.opening_document_settled".to_string())]);
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{right}")).await.body, before, "the document as it was");
    assert_eq!(app.count("audit_log").await, audited, "nothing audited, as nothing happened");

    // An advance carried over by mistake is taken back from June's receipts.
    let advance = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                {"account": "1002", "debit": "500.00"},
                carried("2203", "", "500.00", &ruifeng_no, ("YS-0009", "2026-06-28", "")),
            ]}),
        )
        .await;
    let id = advance.json()["documents"][0]["id"].as_i64().expect("id");
    let june = "/finance/payments?kind=receipt&month=2026-06";
    assert!(browser.get(june).await.body.contains(&format!("/finance/payments/{id}/withdraw")));
    let taken = browser.post_form(june, &format!("/finance/payments/{id}/withdraw"), &[]).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    assert_eq!(app.count("fin_payments WHERE opening = 1").await, 0);
}

#[tokio::test]
async fn a_dollar_invoice_carried_over_is_credited_with_its_vat_at_its_rate() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 7})).await;
    let pacific = party(&api, "Pacific Trading LLC", "customer").await;
    let pacific_no = party_number(&api, pacific).await;
    let opened = api
        .post(
            "/api/v1/finance/opening-balances",
            &json!({"lines": [
                {"account": "1122", "debit": "14200.00", "party": pacific_no, "currency": "USD", "foreign_amount": "2000.00", "rate": "7.10",
                 "document": {"number": "EX-0090", "date": "2026-06-10", "due_date": "2026-07-10"}},
                {"account": "4001", "credit": "14200.00"},
            ]}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let id = opened.json()["documents"][0]["id"].as_i64().expect("id");
    // One carton of the USD 113.00 (with 13 % VAT) comes back: USD 100.00 + 13.00, booked at
    // the invoice's 7.10 as ¥710.00 + ¥92.30, the tax taken off July's output VAT.
    let note = api
        .post(
            &format!("/api/v1/finance/invoices/{id}/credit-note"),
            &json!({"date": "2026-07-12", "lines": [{"description": "退货 木制托盘", "quantity": "1", "unit_price": "113.00", "vat_rate": "13"}]}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let note = note.json();
    assert_eq!((note["net"].as_str(), note["tax"].as_str()), (Some("-710.00"), Some("-92.30")), "{note}");
    let vat = api.get("/api/v1/finance/reports/vat?from=2026-07&to=2026-07").await.json();
    assert_eq!(vat["output"], "-92.30", "{vat}");
    let invoice = api.get(&format!("/api/v1/finance/invoices/{id}")).await.json();
    assert_eq!(invoice["foreign"]["open"], "1887.00", "{invoice}");
}

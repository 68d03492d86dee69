//! Invoicing as the accountant of a trading company does it: a customer invoice with lines
//! at three VAT rates, receipts that pay it in part and then over several invoices with an
//! advance left over, a credit note, a supplier bill and its payment, and the ageing report.

use crate::ledger::line;
use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use testkit::{spawn_app, ApiClient};

pub(crate) async fn party(api: &ApiClient, name: &str, role: &str) -> i64 {
    let created = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": name, "roles": [role], "confirm_duplicates": true}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.json()["id"].as_i64().expect("id")
}

pub(crate) async fn posted_invoice(api: &ApiClient, body: Value) -> Value {
    let draft = api.post("/api/v1/finance/invoices", &body).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let id = draft.json()["id"].as_i64().expect("id");
    let posted = api.post(&format!("/api/v1/finance/invoices/{id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    posted.json()
}

pub(crate) async fn account_closing(api: &ApiClient, code: &str) -> String {
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-01&to=2026-12").await.json();
    tb["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["code"] == code)
        .map(|r| r["closing"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| "0.00".into())
}

#[tokio::test]
async fn an_invoice_is_posted_paid_in_part_then_in_full_with_an_advance_left_over() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let api = app.api("chen.jing").await;
    let admin = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let huaxin = party(&admin, "北京华信科技有限公司", "customer").await;

    let invoice = posted_invoice(
        &api,
        json!({
            "kind": "customer", "party_id": huaxin, "date": "2026-03-10", "due_date": "2026-04-09",
            "lines": [
                {"description": "服务器 R750", "quantity": "2", "unit_price": "30000.00", "vat_rate": "13"},
                {"description": "运输服务", "quantity": "1", "unit_price": "800.00", "vat_rate": "9"},
                {"description": "安装调试", "quantity": "10", "unit_price": "150.00", "discount": "10", "vat_rate": "6"}
            ]
        }),
    )
    .await;
    assert_eq!(invoice["number"], "INV/2026/00001");
    assert_eq!(invoice["status"], "open");
    // Net 60,000 + 800 + 1,350 = 62,150; VAT 7,800 + 72 + 81 = 7,953; total 70,103.
    assert_eq!(
        (invoice["net"].as_str(), invoice["tax"].as_str(), invoice["total"].as_str()),
        (Some("62150.00"), Some("7953.00"), Some("70103.00"))
    );
    let entry = api.get(&format!("/api/v1/finance/entries/{}", invoice["entry_id"])).await.json();
    let lines: Vec<(String, String, String)> = entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["account"].as_str().unwrap_or("").into(),
                l["debit"].as_str().unwrap_or("").into(),
                l["credit"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("1122".to_string(), "70103.00".to_string(), "0.00".to_string()),
            ("6001".to_string(), "0.00".to_string(), "62150.00".to_string()),
            ("22210102".to_string(), "0.00".to_string(), "7953.00".to_string()),
        ]
    );

    let id = invoice["id"].as_i64().expect("id");
    let partial = api
        .post("/api/v1/finance/payments", &json!({"kind": "receipt", "party_id": huaxin, "date": "2026-03-20", "amount": "30000.00", "allocations": [{"invoice_id": id, "amount": "30000.00"}]}))
        .await;
    assert_eq!(partial.status, StatusCode::CREATED, "{}", partial.body);
    assert_eq!(partial.json()["number"], "REC/2026/00001");
    let after_partial = api.get(&format!("/api/v1/finance/invoices/{id}")).await.json();
    assert_eq!((after_partial["status"].as_str(), after_partial["open"].as_str()), (Some("partial"), Some("40103.00")));

    let second = posted_invoice(&api, json!({"kind": "customer", "party_id": huaxin, "date": "2026-03-25", "tax_inclusive": true, "lines": [{"description": "维保服务", "quantity": "1", "unit_price": "10600.00", "vat_rate": "6"}]})).await;
    assert_eq!(
        (second["net"].as_str(), second["tax"].as_str()),
        (Some("10000.00"), Some("600.00")),
        "10,600 including 6 % is 10,000 + 600"
    );

    // One receipt over both invoices, oldest first, with 5,000 more than is owed.
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": huaxin, "date": "2026-04-01", "amount": "55703.00"}),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    assert_eq!(receipt.json()["unallocated"], "5000.00");
    for invoice_id in [id, second["id"].as_i64().expect("id")] {
        assert_eq!(api.get(&format!("/api/v1/finance/invoices/{invoice_id}")).await.json()["status"], "paid");
    }
    assert_eq!(account_closing(&api, "1122").await, "0.00");
    assert_eq!(account_closing(&api, "2203").await, "-5000.00", "the advance is a credit on 预收账款");
    assert_eq!(account_closing(&api, "1002").await, "85703.00");

    let over = api
        .post("/api/v1/finance/payments", &json!({"kind": "receipt", "party_id": huaxin, "date": "2026-04-02", "amount": "10.00", "allocations": [{"invoice_id": id, "amount": "10.00"}]}))
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(over.json()["errors"][0]["code"], "error.finance.invoice_not_open");
}

#[tokio::test]
async fn a_credit_note_reverses_an_unpaid_invoice_in_red_ink() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "上海瑞丰贸易有限公司", "customer").await;
    let invoice = posted_invoice(&api, json!({"kind": "customer", "party_id": customer, "date": "2026-03-10", "lines": [{"description": "打印纸", "quantity": "100", "unit_price": "25.00", "vat_rate": "13"}]})).await;
    let id = invoice["id"].as_i64().expect("id");
    let note = api.post(&format!("/api/v1/finance/invoices/{id}/credit-note"), &json!({"date": "2026-03-15"})).await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let note = note.json();
    assert_eq!(
        (note["number"].as_str(), note["total"].as_str(), note["credit_of"].as_i64()),
        (Some("INV/2026/00002"), Some("-2825.00"), Some(id))
    );
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{id}")).await.json()["status"], "credited");
    for code in ["1122", "6001", "22210102"] {
        assert_eq!(account_closing(&api, code).await, "0.00", "{code} back to zero");
    }
    let again = api.post(&format!("/api/v1/finance/invoices/{id}/credit-note"), &json!({"date": "2026-03-16"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_supplier_bill_books_input_vat_and_its_payment_clears_the_payable() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let supplier = party(&api, "杭州新元电子有限公司", "supplier").await;
    let bill = posted_invoice(&api, json!({"kind": "supplier", "party_id": supplier, "date": "2026-03-05", "lines": [{"description": "主板", "quantity": "50", "unit_price": "2000.00", "vat_rate": "13"}]})).await;
    assert_eq!(bill["number"], "BILL/2026/00001");
    assert_eq!(account_closing(&api, "1405").await, "100000.00");
    assert_eq!(account_closing(&api, "22210101").await, "13000.00");
    assert_eq!(account_closing(&api, "2202").await, "-113000.00");
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "payment", "party_id": supplier, "date": "2026-03-28", "amount": "113000.00"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(paid.json()["number"], "PAY/2026/00001");
    assert_eq!(account_closing(&api, "2202").await, "0.00");
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{}", bill["id"])).await.json()["status"], "paid");
}

#[tokio::test]
async fn ageing_sorts_open_amounts_into_buckets_by_days_past_due() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let a = party(&api, "甲公司", "customer").await;
    let b = party(&api, "乙公司", "customer").await;
    for (party_id, date, due, price) in [
        (a, "2026-01-05", "2026-01-05", "100.00"),
        (a, "2026-03-01", "2026-03-31", "200.00"),
        (b, "2026-02-01", "2026-02-10", "300.00"),
        (b, "2026-04-20", "2026-05-20", "400.00"),
    ] {
        posted_invoice(&api, json!({"kind": "customer", "party_id": party_id, "date": date, "due_date": due, "lines": [{"description": "货物", "quantity": "1", "unit_price": price, "vat_rate": "0"}]})).await;
    }
    let report = api.get("/api/v1/finance/reports/ageing?kind=receivable&date=2026-04-30").await.json();
    let rows = report["items"].as_array().expect("items");
    let row = |name: &str| rows.iter().find(|r| r["party_name"] == name).cloned().expect("row");
    // 甲: due 5 Jan is 115 days past (>90); due 31 Mar is 30 days past (0–30).
    assert_eq!((row("甲公司")["0_30"].as_str(), row("甲公司")["over_90"].as_str()), (Some("200.00"), Some("100.00")));
    // 乙: due 10 Feb is 79 days past (61–90); the 20 April invoice is not yet due (0–30).
    assert_eq!((row("乙公司")["61_90"].as_str(), row("乙公司")["0_30"].as_str()), (Some("300.00"), Some("400.00")));
    assert_eq!(report["total"], "1000.00");
    assert_eq!(
        api.get("/api/v1/finance/reports/ageing?kind=sideways&date=2026-04-30").await.status,
        StatusCode::BAD_REQUEST
    );
    let page = app.signed_in("admin").await.get("/finance/reports/ageing?kind=receivable&date=2026-04-30").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("甲公司") && page.body.contains("1,000.00"));
}

#[tokio::test]
async fn the_ageing_report_reads_its_covering_index_and_never_the_invoice_rows() {
    let app = spawn_app().await;
    if app.db.dialect() != db::Dialect::Sqlite {
        return; // PostgreSQL plans by table size; the benchmark measures it there.
    }
    let ageing = |sql| {
        sqlx::query(sql)
            .bind(app.company_id)
            .bind("customer")
            .bind("2026-04-30")
            .bind("2026-03-31")
            .bind("2026-03-01")
            .bind("2026-01-30")
            .persistent(false)
    };
    // SQLite explains a statement from the schema the connection last read, without checking it
    // is still current as running a statement does: a pooled reader that last read the schema
    // while the migrations ran would explain the plan with indexes since dropped. So the report
    // runs once on the same connection first, which brings its schema up to date.
    let (report, explained) =
        (finance::invoicing::ageing_sql(), format!("EXPLAIN QUERY PLAN {}", finance::invoicing::ageing_sql()));
    let mut reader = app.db.reader().acquire().await.expect("a reader");
    ageing(&report).fetch_all(&mut *reader).await.expect("the report runs");
    let plan = ageing(&explained).fetch_all(&mut *reader).await.expect("plan");
    let steps: Vec<String> = plan.iter().filter_map(|row| row.try_get::<String, _>("detail").ok()).collect();
    let invoices: Vec<&String> = steps.iter().filter(|step| step.contains(" i ")).collect();
    assert_eq!(invoices.len(), 1, "one pass over the invoices: {steps:?}");
    assert!(invoices[0].contains("USING COVERING INDEX fin_invoices_ageing"), "{steps:?}");
}

#[tokio::test]
async fn bad_invoices_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let supplier = party(&api, "供应商甲", "supplier").await;
    let refused = api
        .post("/api/v1/finance/invoices", &json!({"kind": "customer", "party_id": supplier, "date": "2026-03-10", "lines": [{"description": "货物", "quantity": "1", "unit_price": "10.00", "vat_rate": "17"}]}))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = refused.json();
    let codes: Vec<&str> =
        problem["errors"].as_array().expect("errors").iter().filter_map(|e| e["code"].as_str()).collect();
    assert!(codes.contains(&"error.finance.not_customer") && codes.contains(&"error.finance.vat_rate"), "{codes:?}");
    // A party that does not exist is refused beside the party field.
    let nobody = api
        .post("/api/v1/finance/invoices", &json!({"kind": "customer", "party_id": 999_999, "date": "2026-03-10", "lines": [{"description": "货物", "quantity": "1", "unit_price": "10.00", "vat_rate": "13"}]}))
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = nobody.json();
    let fields: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| Some((e["field"].as_str()?, e["code"].as_str()?)))
        .collect();
    assert_eq!(fields, vec![("party_id", "error.finance.party")]);
    let float = api.raw(axum::http::Method::POST, "/api/v1/finance/invoices", "application/json", br#"{"kind":"customer","party_id":1,"date":"2026-03-10","lines":[{"description":"x","quantity":1,"unit_price":10.5,"vat_rate":"13"}]}"#.to_vec()).await;
    assert_eq!(
        float.status,
        StatusCode::BAD_REQUEST,
        "numbers as JSON floats are refused: amounts are decimal strings"
    );
    assert_eq!(app.count("fin_invoices").await, 0);
    let rep = app.api("wang.fang").await;
    assert_eq!(rep.get("/api/v1/finance/invoices").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        rep.post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": supplier, "date": "2026-03-10", "amount": "1.00"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_invoice_is_entered_posted_and_paid_in_the_browser() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "深圳博达电子有限公司", "customer").await;
    let browser = app.signed_in("admin").await;
    let customer_text = customer.to_string();
    let fields = [
        ("party_id", customer_text.as_str()),
        ("date", "2026-03-15"),
        ("due_date", ""),
        ("vat_rounding", "line"),
        ("memo", "三月订单"),
        ("description", "显示器"),
        ("quantity", "4"),
        ("unit_price", "1500.00"),
        ("discount", ""),
        ("vat_rate", "13"),
        ("post", "true"),
    ];
    let saved = browser.post_form("/finance/invoices/new", "/finance/invoices", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let location = saved.header("location").expect("location");
    let page = browser.get(&location).await;
    assert!(page.body.contains("INV/2026/00001") && page.body.contains("6,780.00"), "{}", page.body);
    let paid = browser
        .post_form(
            &location,
            &format!("{location}/pay"),
            &[("party_id", &customer_text), ("date", "2026-03-20"), ("amount", "6,780.00"), ("bank_account", "1002")],
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    assert!(browser.get(&location).await.body.contains("已结清"));
    assert_eq!(browser.get("/finance/nonsense").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bank_statement_is_imported_and_reconciled_with_suggested_receipts_and_payments() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "北京华信科技有限公司", "customer").await;
    let supplier = party(&api, "杭州新元电子有限公司", "supplier").await;
    posted_invoice(&api, json!({"kind": "customer", "party_id": customer, "date": "2026-03-10", "lines": [{"description": "服务器", "quantity": "1", "unit_price": "30000.00", "vat_rate": "0"}]})).await;
    posted_invoice(&api, json!({"kind": "supplier", "party_id": supplier, "date": "2026-03-05", "lines": [{"description": "主板", "quantity": "1", "unit_price": "113000.00", "vat_rate": "0"}]})).await;
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-19", "amount": "30000.00"}),
        )
        .await
        .json();
    let payment = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "payment", "party_id": supplier, "date": "2026-03-28", "amount": "113000.00"}),
        )
        .await
        .json();

    let bad = api
        .post("/api/v1/finance/bank-statements", &json!({"bank_account": "1002", "csv": "交易日期,金额\n2026-03-20,abc\n", "mapping": {"date": "交易日期", "amount": "金额"}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["errors"][0]["field"], "row 2");
    assert_eq!(app.count("fin_bank_lines").await, 0, "a bad file imports nothing");

    let csv = "交易日期,收入金额,支出金额,对方户名,摘要\n2026/03/20,\"30,000.00\",,北京华信科技有限公司,货款\n20260328,,113000.00,杭州新元电子有限公司,采购款\n2026-03-31,,12.50,,手续费\n";
    let imported = api
        .post(
            "/api/v1/finance/bank-statements",
            &json!({"bank_account": "1002", "csv": csv, "mapping": {"date": "交易日期", "money_in": "收入金额", "money_out": "支出金额", "counterparty": "对方户名", "memo": "摘要"}}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    assert_eq!(imported.json()["lines"], 3);
    let lines = api.get("/api/v1/finance/bank-lines?unmatched=true").await.json();
    let line_of = |amount: &str| {
        lines["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|l| l["amount"] == amount)
            .and_then(|l| l["id"].as_i64())
            .expect("line")
    };
    let incoming = line_of("30000.00");
    let suggestions = api.get(&format!("/api/v1/finance/bank-lines/{incoming}/suggestions")).await.json();
    assert_eq!(suggestions["items"][0]["payment_id"], receipt["id"]);
    assert_eq!(suggestions["items"][0]["name_matches"], true);
    let wrong =
        api.post(&format!("/api/v1/finance/bank-lines/{incoming}/match"), &json!({"payment_id": payment["id"]})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "a payment out cannot match money in");
    assert_eq!(
        api.post(&format!("/api/v1/finance/bank-lines/{incoming}/match"), &json!({"payment_id": receipt["id"]}))
            .await
            .status,
        StatusCode::OK
    );
    let outgoing = line_of("-113000.00");
    assert_eq!(
        api.post(&format!("/api/v1/finance/bank-lines/{outgoing}/match"), &json!({"payment_id": payment["id"]}))
            .await
            .status,
        StatusCode::OK
    );
    let again = api
        .post(&format!("/api/v1/finance/bank-lines/{}/match", line_of("-12.50")), &json!({"payment_id": payment["id"]}))
        .await;
    assert_ne!(again.status, StatusCode::OK, "a payment is reconciled once");
    let open = api.get("/api/v1/finance/bank-lines?unmatched=true").await.json();
    assert_eq!(open["items"].as_array().map(Vec::len), Some(1), "only the bank fee is left to book");
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/bank").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("REC/2026/00001") && page.body.contains("手续费"));

    // April's export is uploaded as the bank wrote it: GBK, with its own column names.
    let april: Vec<u8> = [
        &[0xBD, 0xBB, 0xD2, 0xD7, 0xC8, 0xD5, 0xC6, 0xDA][..], // 交易日期
        b",",
        &[0xBD, 0xF0, 0xB6, 0xEE][..], // 金额
        b"\n2026-04-02,5000.00\n2026-04-03,-20.00\n",
    ]
    .concat();
    let fields = [("bank_account", "1002"), ("date", "交易日期"), ("amount", "金额"), ("has_header", "true")];
    let uploaded =
        browser.post_upload("/finance/bank", "/finance/bank", &fields, ("202604.csv", "text/csv", &april)).await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    assert_eq!(app.count("fin_bank_lines WHERE line_date >= '2026-04-01'").await, 2);
    let bad: &[u8] = b"\xBD\xBB\xD2\xD7\xC8\xD5\xC6\xDA,\xBD\xF0\xB6\xEE\n2026-04-31,1.00\n";
    let refused = browser.post_upload("/finance/bank", "/finance/bank", &fields, ("bad.csv", "text/csv", bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("第 2 行: 日期无法识别：2026-04-31"), "the row is named: {}", refused.body);
    assert_eq!(app.count("fin_bank_lines WHERE line_date >= '2026-04-01'").await, 2, "a bad file imports nothing");
    let wrong_column = [("bank_account", "1002"), ("date", "记账日"), ("amount", "金额"), ("has_header", "true")];
    let refused =
        browser.post_upload("/finance/bank", "/finance/bank", &wrong_column, ("202604.csv", "text/csv", &april)).await;
    let beside = refused.body.split("id=\"m-date\"").nth(1).expect("the date column's field");
    assert!(beside[..beside.find("</div>").expect("field end")].contains("找不到列：记账日"), "{}", refused.body);

    // The receipt matched by mistake is unmatched, then matched again by its number typed on
    // the line; a number of another amount is refused on that line.
    let matched = line_of("30000.00");
    let undone = browser.post_form("/finance/bank", &format!("/finance/bank/{matched}/unmatch"), &[]).await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {matched} AND payment_id IS NULL")).await, 1);
    let number = receipt["number"].as_str().expect("number").to_string();
    let other = payment["number"].as_str().expect("number").to_string();
    let mismatch =
        browser.post_form("/finance/bank", &format!("/finance/bank/{matched}/match"), &[("number", &other)]).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", mismatch.body);
    let row = mismatch.body.split(&format!("id=\"line-{matched}\"")).nth(1).expect("the line's row");
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains("role=\"alert\"") && row.contains(&format!("value=\"{other}\"")), "{row}");
    let rematched =
        browser.post_form("/finance/bank", &format!("/finance/bank/{matched}/match"), &[("number", &number)]).await;
    assert_eq!(rematched.status, StatusCode::SEE_OTHER, "{}", rematched.body);
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {matched} AND payment_id IS NOT NULL")).await, 1);
    // A number no receipt has, and undoing a line never matched: each refused on its row,
    // nothing changed.
    let fee = line_of("-12.50");
    let unknown = browser
        .post_form("/finance/bank", &format!("/finance/bank/{fee}/match"), &[("number", "REC/2026/09999")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    let row = unknown.body.split(&format!("id=\"line-{fee}\"")).nth(1).expect("the fee's row");
    assert!(
        row[..row.find("</tr>").expect("row end")].contains("没有单号为 REC/2026/09999 的收付款"),
        "{}",
        unknown.body
    );
    let never = browser.post_form("/finance/bank", &format!("/finance/bank/{fee}/unmatch"), &[]).await;
    assert_ne!(never.status, StatusCode::SEE_OTHER, "{}", never.body);
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {fee} AND payment_id IS NULL")).await, 1);
    assert_eq!(
        app.count("audit_log WHERE resource = 'finance.bank_line'").await,
        4,
        "two matches, the undo and the match again"
    );
}

#[tokio::test]
async fn a_statement_of_account_runs_from_the_opening_balance_through_invoices_and_receipts() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "南京鼎盛物流有限公司", "customer").await;
    let line =
        |price: &str| json!([{"description": "运输服务", "quantity": "1", "unit_price": price, "vat_rate": "0"}]);
    posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-02-10", "lines": line("1000.00")}),
    )
    .await;
    posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-03-05", "lines": line("2500.00")}),
    )
    .await;
    api.post(
        "/api/v1/finance/payments",
        &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-12", "amount": "1800.00"}),
    )
    .await;
    let statement = api
        .get(&format!("/api/v1/finance/reports/party-statement?party_id={customer}&from=2026-03-01&to=2026-03-31"))
        .await
        .json();
    assert_eq!(statement["opening"], "1000.00", "February's invoice is the opening balance");
    let items = statement["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!((items[0]["kind"].as_str(), items[0]["balance"].as_str()), (Some("invoice"), Some("3500.00")));
    assert_eq!(
        (items[1]["kind"].as_str(), items[1]["credit"].as_str(), items[1]["balance"].as_str()),
        (Some("receipt"), Some("1800.00"), Some("1700.00"))
    );
    assert_eq!(statement["closing"], "1700.00");
    let page = app
        .signed_in("admin")
        .await
        .get(&format!("/finance/reports/party-statement?party_id={customer}&from=2026-03-01&to=2026-03-31"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("1,700.00") && page.body.contains("南京鼎盛物流有限公司"));
    assert!(page.body.contains("<a href=\"/finance/invoices/"), "each invoice opens its page");
    assert!(page.body.contains("<a href=\"/finance/entries/"), "each receipt opens its voucher");
    let csv = app
        .signed_in("admin")
        .await
        .get(&format!("/finance/reports/party-statement?party_id={customer}&from=2026-03-01&to=2026-03-31&format=csv"))
        .await;
    assert_eq!(csv.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    let rows: Vec<&str> = csv.body.lines().collect();
    assert_eq!(rows.len(), 5, "header, opening, invoice, receipt, closing: {}", csv.body);
    assert!(rows[1].ends_with("1000.00") && rows[4].ends_with("1700.00"), "{}", csv.body);
    assert!(rows[3].contains("1800.00"), "{}", csv.body);
    assert_eq!(
        api.get(&format!("/api/v1/finance/reports/party-statement?party_id={customer}&from=March&to=2026-03-31"))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn document_vouchers_are_undone_through_their_documents_and_allocations_are_checked() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "西安安泰建材有限公司", "customer").await;
    let invoice = posted_invoice(&api, json!({"kind": "customer", "party_id": customer, "date": "2026-03-10", "lines": [{"description": "水泥", "quantity": "10", "unit_price": "500.00", "vat_rate": "13"}]})).await;
    let reversal = api
        .post(&format!("/api/v1/finance/entries/{}/reverse", invoice["entry_id"]), &json!({"date": "2026-03-11"}))
        .await;
    assert_eq!(reversal.status, StatusCode::CONFLICT, "an invoice voucher is undone by a credit note");
    let id = invoice["id"].as_i64().expect("id");
    let twice = api
        .post("/api/v1/finance/payments", &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-20", "amount": "200.00", "allocations": [{"invoice_id": id, "amount": "100.00"}, {"invoice_id": id, "amount": "100.00"}]}))
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(twice.json()["errors"][0]["code"], "error.finance.allocation_twice");
    assert_eq!(
        api.post(&format!("/api/v1/finance/invoices/{id}/post"), &json!({})).await.status,
        StatusCode::CONFLICT,
        "posted once"
    );
    let sub =
        api.post("/api/v1/finance/accounts", &json!({"parent": "6001", "code": "600101", "name_zh": "建材销售"})).await;
    assert_eq!(sub.status, StatusCode::UNPROCESSABLE_ENTITY, "6001 already carries revenue");
    assert_eq!(sub.json()["errors"][0]["code"], "error.finance.parent_used");
}

#[tokio::test]
async fn each_customers_twelve_month_spend_is_kept_at_posting_and_rolled_when_a_month_begins() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let huaxin = party(&api, "北京华信科技有限公司", "customer").await;
    let invoice = |date: &str, net: &str| {
        json!({"kind": "customer", "party_id": huaxin, "date": date,
            "lines": [{"description": "服务器 R750", "quantity": "1", "unit_price": net, "vat_rate": "13"}]})
    };
    let kept = || async {
        let row = sqlx::query("SELECT total FROM fin_customer_spend WHERE party_id = $1")
            .bind(huaxin)
            .fetch_optional(app.db.reader())
            .await
            .expect("kept");
        row.map(|r| sqlx::Row::try_get::<i64, _>(&r, "total").expect("total"))
    };
    // Before the first roll nothing is kept (readers sum the invoices themselves).
    posted_invoice(&api, invoice("2026-03-10", "1000.00")).await;
    assert_eq!(kept().await, None);
    // It is 15 March: the twelve months are April 2025 to March 2026. A bill dated in April
    // is not in them yet.
    assert_eq!(app.run_job("finance.roll_customer_spend").await, 1);
    assert_eq!(app.run_job("finance.roll_customer_spend").await, 0, "once a month");
    assert_eq!(kept().await, Some(113_000));
    posted_invoice(&api, invoice("2026-04-02", "2000.00")).await;
    assert_eq!(kept().await, Some(113_000));
    // Posting in the window adds at once; a credit note takes away.
    let march = posted_invoice(&api, invoice("2026-03-20", "500.00")).await;
    assert_eq!(kept().await, Some(169_500));
    let credit = api
        .post(&format!("/api/v1/finance/invoices/{}/credit-note", march["id"]), &json!({"date": "2026-03-21"}))
        .await;
    assert_eq!(credit.status, StatusCode::CREATED, "{}", credit.body);
    assert_eq!(kept().await, Some(113_000));
    // In April the job rolls the sums forward and the April invoice is in them: the kept sum
    // is what the invoices of the twelve months add up to.
    app.clock.advance(chrono::Duration::days(20));
    assert_eq!(app.run_job("finance.roll_customer_spend").await, 1);
    assert_eq!(kept().await, Some(113_000 + 226_000));
}

/// Two desks at 5,000.00 + 13 % VAT invoiced on the 1st of `month` and paid in full on the
/// 3rd; one comes back on the 10th, so its credit note owes the customer 5,650.00. Returns the
/// invoice's and the note's ids.
async fn desks_paid_then_one_returned(
    app: &testkit::TestApp,
    api: &ApiClient,
    customer: i64,
    month: u32,
) -> (i64, i64) {
    let invoice = posted_invoice(
        api,
        json!({"kind": "customer", "party_id": customer, "date": format!("2026-{month:02}-01"),
               "lines": [{"description": "办公桌", "quantity": "2", "unit_price": "5000.00", "vat_rate": "13"}]}),
    )
    .await["id"]
        .as_i64()
        .expect("invoice");
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": format!("2026-{month:02}-03"), "amount": "11300.00"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    let principal = kernel::permission::Principal::new(
        kernel::ids::UserId(1),
        "admin".into(),
        kernel::ids::CompanyId(app.company_id),
        None,
        None,
        true,
        Vec::new(),
    );
    let mut tx = app.db.begin(db::Actor::user(1, "admin", app.company_id)).await.expect("begin");
    let returned = finance::vat::InvoiceLineForm {
        description: "办公桌（退货）".into(),
        quantity: "1".into(),
        unit_price: "5000.00".into(),
        vat_rate: "13".into(),
        ..Default::default()
    };
    let note = finance::invoicing::credit_part(
        &mut tx,
        &principal,
        invoice,
        &format!("2026-{month:02}-10"),
        &[returned],
        "退货",
    )
    .await
    .expect("credit note");
    tx.commit().await.expect("commit");
    (invoice, note)
}

#[tokio::test]
async fn what_a_credit_note_owes_back_after_payment_is_refunded_in_part_and_then_in_full() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "上海明德文具有限公司", "customer").await;
    let (_, note) = desks_paid_then_one_returned(&app, &api, customer, 3).await;
    let owed = api.get(&format!("/api/v1/finance/invoices/{note}")).await.json();
    assert_eq!(
        (owed["total"].as_str(), owed["settled"].as_str(), owed["status"].as_str()),
        (Some("-5650.00"), Some("0.00"), Some("open"))
    );

    let too_much = api
        .post(&format!("/api/v1/finance/invoices/{note}/refund"), &json!({"date": "2026-03-12", "amount": "6000.00"}))
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_much.json()["errors"][0]["code"], "error.finance.refund_too_large");
    let first = api
        .post(&format!("/api/v1/finance/invoices/{note}/refund"), &json!({"date": "2026-03-12", "amount": "2000.00"}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.json()["number"], "RFD/2026/00001");
    let voucher = api.get(&format!("/api/v1/finance/entries/{}", first.json()["entry_id"])).await.json();
    assert_eq!(voucher["word"], "付");
    assert_eq!(
        (voucher["lines"][0]["account"].as_str(), voucher["lines"][0]["debit"].as_str()),
        (Some("1122"), Some("2000.00"))
    );
    assert_eq!(
        (voucher["lines"][1]["account"].as_str(), voucher["lines"][1]["credit"].as_str()),
        (Some("1002"), Some("2000.00"))
    );

    // The rest from the note's page.
    let browser = app.signed_in("admin").await;
    let page = format!("/finance/invoices/{note}");
    assert!(browser.get(&page).await.body.contains("3,650.00"), "the page shows what is still owed");
    let rest = browser
        .post_form(
            &page,
            &format!("{page}/refund"),
            &[("date", "2026-03-20"), ("amount", "3650.00"), ("bank_account", "1002")],
        )
        .await;
    assert_eq!(rest.status, StatusCode::SEE_OTHER, "{}", rest.body);
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{note}")).await.json()["status"], "paid");
    let again = api.post(&format!("/api/v1/finance/invoices/{note}/refund"), &json!({"date": "2026-03-21"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Nothing is owed either way, the bank paid back the returned desk, and the statement of
    // account shows the refunds bringing the balance back to zero.
    assert_eq!(account_closing(&api, "1122").await, "0.00");
    assert_eq!(account_closing(&api, "1002").await, "5650.00");
    let statement = api
        .get(&format!("/api/v1/finance/reports/party-statement?party_id={customer}&from=2026-03-01&to=2026-03-31"))
        .await
        .json();
    let last = statement["items"].as_array().expect("lines").last().cloned().expect("a line");
    assert_eq!(
        (last["kind"].as_str(), last["charge"].as_str(), last["balance"].as_str()),
        (Some("refund"), Some("3650.00"), Some("0.00"))
    );
}

#[tokio::test]
async fn a_credit_note_is_set_off_against_the_customers_next_invoices_instead_of_refunded() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "杭州青禾文化传媒有限公司", "customer").await;
    let other = party(&api, "苏州远航物流有限公司", "customer").await;
    let (_, note) = desks_paid_then_one_returned(&app, &api, customer, 4).await;
    // The customer takes the credit against what it buys next: chairs for 3,390.00 and a
    // cabinet for 5,650.00; and another customer has an open invoice too.
    let chairs = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-04-15",
               "lines": [{"description": "办公椅", "quantity": "3", "unit_price": "1000.00", "vat_rate": "13"}]}),
    )
    .await["id"]
        .as_i64()
        .expect("chairs");
    let cabinet = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-04-20",
               "lines": [{"description": "文件柜", "quantity": "1", "unit_price": "5000.00", "vat_rate": "13"}]}),
    )
    .await["id"]
        .as_i64()
        .expect("cabinet");
    let theirs = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": other, "date": "2026-04-20",
               "lines": [{"description": "运输服务", "quantity": "1", "unit_price": "1000.00", "vat_rate": "9"}]}),
    )
    .await["id"]
        .as_i64()
        .expect("theirs");
    let vouchers = app.count("fin_entries").await;
    let set_off = format!("/api/v1/finance/invoices/{note}/set-off");

    // Refused: more than the chairs' invoice is open for, a date before it, another customer's
    // invoice, and the note itself.
    let refusals = [
        (
            json!({"invoice_id": chairs, "date": "2026-04-21", "amount": "4000.00"}),
            "amount",
            "error.finance.setoff_too_large",
        ),
        (json!({"invoice_id": chairs, "date": "2026-04-12"}), "date", "error.finance.setoff_date"),
        (json!({"invoice_id": theirs, "date": "2026-04-21"}), "invoice_id", "error.finance.setoff_invoice"),
        (json!({"invoice_id": note, "date": "2026-04-21"}), "invoice_id", "error.finance.setoff_invoice"),
    ];
    for (body, field, code) in refusals {
        let refused = api.post(&set_off, &body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.header("content-type").as_deref(), Some("application/problem+json"));
        assert_eq!(
            (refused.json()["errors"][0]["field"].as_str(), refused.json()["errors"][0]["code"].as_str()),
            (Some(field), Some(code))
        );
    }

    // Without an amount, as much as both allow: the chairs are paid in full.
    let first = api.post(&set_off, &json!({"invoice_id": chairs, "date": "2026-04-21"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.json()["amount"], "3390.00");
    let invoice = |id: i64| {
        let api = &api;
        async move {
            let i = api.get(&format!("/api/v1/finance/invoices/{id}")).await.json();
            (
                i["status"].as_str().unwrap_or_default().to_string(),
                i["settled"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    assert_eq!(invoice(chairs).await, ("paid".to_string(), "3390.00".to_string()));
    assert_eq!(invoice(note).await, ("open".to_string(), "-3390.00".to_string()), "the note still owes 2,260.00");

    // The rest from the note's page, against the cabinet, which stays open for 3,390.00.
    let browser = app.signed_in("admin").await;
    let page = format!("/finance/invoices/{note}");
    let shown = browser.get(&page).await.body;
    assert!(
        shown.contains("2,260.00") && shown.contains("3,390.00"),
        "the page shows what is owed and the set-off made"
    );
    let refused = browser
        .post_form(
            &page,
            &format!("{page}/set-off"),
            &[("invoice_id", &cabinet.to_string()), ("date", "2026-04-22"), ("amount", "9999.00")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let beside_amount = refused.body.split("id=\"samount\"").nth(1).unwrap_or_default();
    assert!(
        beside_amount.contains("role=\"alert\">") && beside_amount.contains("2260.00"),
        "the refusal stands beside the amount"
    );
    let rest = browser
        .post_form(
            &page,
            &format!("{page}/set-off"),
            &[("invoice_id", &cabinet.to_string()), ("date", "2026-04-22"), ("amount", "2260.00")],
        )
        .await;
    assert_eq!(rest.status, StatusCode::SEE_OTHER, "{}", rest.body);
    assert_eq!(invoice(note).await, ("paid".to_string(), "-5650.00".to_string()));
    assert_eq!(invoice(cabinet).await, ("partial".to_string(), "2260.00".to_string()));
    let again = api.post(&set_off, &json!({"invoice_id": cabinet, "date": "2026-04-23"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "nothing is owed any more");

    // No money moved and no voucher was posted; what the customer owes in the ledger is what
    // is open on the cabinet, and the ageing says the same.
    assert_eq!(app.count("fin_entries").await, vouchers);
    assert_eq!(
        account_closing(&api, "1122").await,
        "4480.00",
        "3,390.00 on the cabinet and 1,090.00 from the other customer"
    );
    let ageing = api.get("/api/v1/finance/reports/ageing?kind=receivable&date=2026-04-30").await.json();
    let row = ageing["items"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["party_id"] == customer)
        .cloned()
        .expect("customer");
    assert_eq!(row["total"], "3390.00");
    // Each document's page and audit trail records the set-off.
    assert!(browser.get(&format!("/finance/invoices/{cabinet}")).await.body.contains("2,260.00"));
    assert_eq!(
        app.count(&format!(
            "audit_log WHERE action = 'set_off' AND resource_id IN ('{note}', '{chairs}', '{cabinet}')"
        ))
        .await,
        4
    );
}

/// A posted invoice of one line at 13 % VAT for `net`, dated `date`.
async fn invoice_of(api: &ApiClient, party: i64, date: &str, what: &str, net: &str) -> i64 {
    let invoice = posted_invoice(
        api,
        json!({"kind": "customer", "party_id": party, "date": date,
               "lines": [{"description": what, "quantity": "1", "unit_price": net, "vat_rate": "13"}]}),
    )
    .await;
    invoice["id"].as_i64().expect("id")
}

#[tokio::test]
async fn one_receipt_settles_several_invoices_in_the_browser_and_its_rest_is_applied_to_a_later_one() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let api = app.api("chen.jing").await;
    let admin = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let huaxin = party(&admin, "北京华信科技有限公司", "customer").await;
    // Two invoices: 10,000.00 + 1,300.00 VAT = 11,300.00, and 5,000.00 + 650.00 = 5,650.00.
    let servers = invoice_of(&api, huaxin, "2026-03-02", "服务器", "10000.00").await;
    let switches = invoice_of(&api, huaxin, "2026-03-09", "交换机", "5000.00").await;

    let browser = app.signed_in("chen.jing").await;
    let form = browser.get(&format!("/finance/payments/new?kind=receipt&party_id={huaxin}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains(&format!("name=\"allocate_{servers}\""))
            && form.body.contains(&format!("name=\"allocate_{switches}\""))
    );

    // Too much put on the switches: refused on that invoice's row, the form as typed, nothing stored.
    let form_path = format!("/finance/payments/new?kind=receipt&party_id={huaxin}");
    let receipt = |switches_part: &str| -> Vec<(String, String)> {
        [
            ("kind", "receipt"),
            ("party_id", &huaxin.to_string()),
            ("date", "2026-03-20"),
            ("amount", "20000.00"),
            ("bank_account", "1002"),
            (&format!("allocate_{servers}"), "11300.00"),
            (&format!("allocate_{switches}"), switches_part),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    let pairs = receipt("6000.00");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = browser.post_form(&form_path, "/finance/payments", &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let row = refused.body.split(&format!("id=\"invoice-{switches}\"")).nth(1).expect("the switches' row");
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains("role=\"alert\">More than the open amount 5650.00"), "{row}");
    assert!(row.contains("value=\"6000.00\""), "the allocation as typed: {row}");
    assert_eq!(app.count("fin_payments").await, 0);

    // 20,000.00 received: both invoices paid, 3,050.00 kept as an advance on 2203.
    let pairs = receipt("5650.00");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = browser.post_form(&form_path, "/finance/payments", &pairs).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    for invoice in [servers, switches] {
        let stored = api.get(&format!("/api/v1/finance/invoices/{invoice}")).await.json();
        assert_eq!(stored["status"], "paid", "{stored}");
    }
    let listed = api.get("/api/v1/finance/payments?kind=receipt&month=2026-03").await.json();
    assert_eq!(listed["items"][0]["amount"], "20000.00", "{listed}");
    assert_eq!(listed["items"][0]["unallocated"], "3050.00");
    let page = browser.get("/finance/payments?kind=receipt&month=2026-03").await;
    assert!(page.body.contains("REC/2026/00001") && page.body.contains("3,050.00"), "{}", page.body);
    assert_eq!(account_closing(&api, "2203").await, "-3050.00");

    // April's invoice of 2,000.00 + 260.00 VAT takes 2,260.00 of the advance, from its page.
    let cables = invoice_of(&api, huaxin, "2026-04-03", "线缆", "2000.00").await;
    let invoice_page = browser.get(&format!("/finance/invoices/{cables}")).await;
    assert!(invoice_page.body.contains("/apply-advance"), "the invoice offers the advance");
    let early = browser
        .post_form(
            &format!("/finance/invoices/{cables}"),
            &format!("/finance/invoices/{cables}/apply-advance"),
            &[("date", "2026-03-31"), ("amount", "")],
        )
        .await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "not before the invoice's date: {}", early.body);
    let applied = browser
        .post_form(
            &format!("/finance/invoices/{cables}"),
            &format!("/finance/invoices/{cables}/apply-advance"),
            &[("date", "2026-04-03"), ("amount", "")],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let stored = api.get(&format!("/api/v1/finance/invoices/{cables}")).await.json();
    assert_eq!(stored["status"], "paid", "{stored}");
    assert_eq!(account_closing(&api, "2203").await, "-790.00");
    assert_eq!(account_closing(&api, "1122").await, "0.00");

    // A round sum paid on a 1,130.00 invoice from its page: 70.00 more joins the advance.
    let cable_ties = invoice_of(&api, huaxin, "2026-04-10", "扎带", "1000.00").await;
    let paid = browser
        .post_form(
            &format!("/finance/invoices/{cable_ties}"),
            &format!("/finance/invoices/{cable_ties}/pay"),
            &[
                ("party_id", &huaxin.to_string()),
                ("date", "2026-04-12"),
                ("amount", "1200.00"),
                ("bank_account", "1002"),
            ],
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{cable_ties}")).await.json()["status"], "paid");
    assert_eq!(account_closing(&api, "2203").await, "-860.00");

    // Through the API, an advance is applied only to an invoice it can settle.
    let more = invoice_of(&api, huaxin, "2026-04-20", "机柜", "1000.00").await;
    let too_much = api
        .post(
            &format!("/api/v1/finance/invoices/{more}/apply-advance"),
            &json!({"date": "2026-04-20", "amount": "900.00"}),
        )
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY, "only 860.00 is held: {}", too_much.body);
    let part =
        api.post(&format!("/api/v1/finance/invoices/{more}/apply-advance"), &json!({"date": "2026-04-20"})).await;
    assert_eq!(part.status, StatusCode::OK, "{}", part.body);
    assert_eq!(part.json()["invoice"]["status"], "partial");
    assert_eq!(part.json()["invoice"]["open"], "270.00");
    assert_eq!(account_closing(&api, "2203").await, "0.00");
    let none_left =
        api.post(&format!("/api/v1/finance/invoices/{more}/apply-advance"), &json!({"date": "2026-04-21"})).await;
    assert_eq!(none_left.json()["errors"][0]["code"], "error.finance.no_advance", "{}", none_left.body);
    assert_eq!(app.count("audit_log WHERE action = 'apply_advance'").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_posted_at_the_same_moment_get_gapless_distinct_numbers_and_vouchers() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "苏州恒通电子有限公司", "customer").await;
    // Twenty-four drafts of a month's orders, then all posted at once by as many clerks.
    let mut drafts = Vec::new();
    for i in 0..24 {
        let draft = api
            .post(
                "/api/v1/finance/invoices",
                &json!({"kind": "customer", "party_id": customer, "date": "2026-05-18",
                        "lines": [{"description": format!("订单 {i}"), "quantity": "1", "unit_price": "1000.00", "vat_rate": "13"}]}),
            )
            .await;
        drafts.push(draft.json()["id"].as_i64().expect("id"));
    }
    let principal = crate::ledger::admin_principal(app.company_id);
    let tasks: Vec<_> = drafts
        .iter()
        .map(|id| {
            let (db, principal, id) = (app.db.clone(), principal.clone(), *id);
            tokio::spawn(async move {
                let mut tx = db.begin(db::Actor::user(1, "admin", principal.company_id.0)).await.expect("begin");
                let number = finance::invoicing::post_invoice(&mut tx, &principal, id).await.expect("post");
                tx.commit().await.expect("commit");
                number
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("task"));
    }
    numbers.sort();
    let expected: Vec<String> = (1..=24).map(|n| format!("INV/2026/{n:05}")).collect();
    assert_eq!(numbers, expected, "invoice numbers without gaps or repeats");
    let vouchers: Vec<String> = sqlx::query("SELECT number FROM fin_entries WHERE period = '2026-05' ORDER BY number")
        .fetch_all(app.db.reader())
        .await
        .expect("vouchers")
        .iter()
        .map(|r| r.try_get("number").expect("number"))
        .collect();
    assert_eq!(vouchers.len(), 24);
    let word = vouchers[0].split('-').next().expect("word").to_string();
    let expected: Vec<String> = (1..=24).map(|n| format!("{word}-{n:04}")).collect();
    assert_eq!(vouchers, expected, "voucher numbers of the month without gaps or repeats");
    assert_eq!(account_closing(&api, "1122").await, "27120.00", "24 × 1,130.00 receivable, each posted once");
}

#[tokio::test]
async fn a_company_that_rounds_vat_per_document_gets_it_on_every_invoice_it_issues() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "杭州云帆文具有限公司", "customer").await;
    // Three pencils at 0.10 with 6 % VAT: 0.006 a line, 0.01 each rounded per line (0.03),
    // 0.018 → 0.02 rounded once on the document.
    let pencils = || {
        json!({"kind": "customer", "party_id": customer, "date": "2026-06-01", "lines": [
            {"description": "铅笔 HB", "quantity": "1", "unit_price": "0.10", "vat_rate": "6"},
            {"description": "铅笔 2B", "quantity": "1", "unit_price": "0.10", "vat_rate": "6"},
            {"description": "铅笔 4B", "quantity": "1", "unit_price": "0.10", "vat_rate": "6"}]})
    };
    assert_eq!(api.get("/api/v1/finance/settings").await.json()["vat_rounding"], "line");
    let per_line = api.post("/api/v1/finance/invoices", &pencils()).await.json();
    assert_eq!(per_line["tax"], "0.03", "{per_line}");

    // The accountant switches the books to per-document rounding on the chart page.
    let browser = app.signed_in("admin").await;
    let wrong = browser.post_form("/finance/accounts", "/finance/settings", &[("vat_rounding", "per-invoice")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert!(wrong.body.contains("税额舍入应为 line 或 document：per-invoice"), "{}", wrong.body);
    let saved = browser.post_form("/finance/accounts", "/finance/settings", &[("vat_rounding", "document")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(app.count("audit_log WHERE resource = 'finance.books' AND action = 'update'").await, 1);
    assert!(
        browser.get("/finance/invoices/new").await.body.contains("<option value=\"document\" selected"),
        "the form starts from it"
    );

    let per_document = posted_invoice(&api, pencils()).await;
    assert_eq!(per_document["tax"], "0.02", "{per_document}");
    assert_eq!(per_document["total"], "0.32");
    let mut by_line = pencils();
    by_line["vat_rounding"] = json!("line");
    let chosen = api.post("/api/v1/finance/invoices", &by_line).await.json();
    assert_eq!(chosen["tax"], "0.03", "a form may still choose per line");
    assert_eq!(api.get("/api/v1/finance/invoices").await.status, StatusCode::OK);
    let unknown =
        api.call(axum::http::Method::PATCH, "/api/v1/finance/settings", Some(&json!({"vat_rounding": "yearly"}))).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    assert!(unknown.body.contains("expected `line` or `document`"), "{}", unknown.body);
    let back =
        api.call(axum::http::Method::PATCH, "/api/v1/finance/settings", Some(&json!({"vat_rounding": "line"}))).await;
    assert_eq!(back.json()["vat_rounding"], "line", "{}", back.body);
}

#[tokio::test]
async fn the_ageing_on_a_past_date_counts_what_was_open_then_not_what_is_open_now() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "无锡万家超市有限公司", "customer").await;
    let invoice = |date: &str, due: &str, price: &str| {
        json!({"kind": "customer", "party_id": customer, "date": date, "due_date": due,
               "lines": [{"description": "货物", "quantity": "1", "unit_price": price, "vat_rate": "0"}]})
    };
    // An advance of 300.00 in February, then three March invoices.
    let advance = api
        .post("/api/v1/finance/payments", &json!({"kind": "receipt", "party_id": customer, "date": "2026-02-20", "amount": "300.00", "allocations": []}))
        .await;
    assert_eq!(advance.status, StatusCode::CREATED, "{}", advance.body);
    let a = posted_invoice(&api, invoice("2026-03-01", "2026-03-31", "1000.00")).await["id"].as_i64().expect("a");
    let b = posted_invoice(&api, invoice("2026-03-10", "2026-04-09", "500.00")).await["id"].as_i64().expect("b");
    let c = posted_invoice(&api, invoice("2026-03-05", "2026-04-04", "300.00")).await["id"].as_i64().expect("c");
    // April: 600.00 received on A, B credited in full, the advance applied to C.
    let receipt = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-04-15", "amount": "600.00",
            "allocations": [{"invoice_id": a, "amount": "600.00"}]}),
        )
        .await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    let note = api.post(&format!("/api/v1/finance/invoices/{b}/credit-note"), &json!({"date": "2026-04-20"})).await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    let applied =
        api.post(&format!("/api/v1/finance/invoices/{c}/apply-advance"), &json!({"date": "2026-04-25"})).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);

    let at = |date: &'static str| {
        let api = &api;
        async move { api.get(&format!("/api/v1/finance/reports/ageing?kind=receivable&date={date}")).await.json() }
    };
    // At the end of March everything was still open: A and C due within 30 days, B not yet due.
    let march = at("2026-03-31").await;
    assert_eq!(march["total"], "1800.00", "{march}");
    assert_eq!(march["items"][0]["0_30"], "1800.00");
    // At the end of April only what is left of A, 30 days past due.
    let april = at("2026-04-30").await;
    assert_eq!(april["total"], "400.00", "{april}");
    assert_eq!(april["items"][0]["0_30"], "400.00");
    // Between the receipt and the credit note: A's 400.00, B's 500.00, C's 300.00.
    assert_eq!(at("2026-04-16").await["total"], "1200.00");
    // Before any of them were issued: nothing.
    assert_eq!(at("2026-02-28").await["items"].as_array().map(Vec::len), Some(0));

    // Each figure opens the documents behind it as they stood that day: on 16 April, A's
    // 400.00 left after the receipt, C's 300.00 before the advance, B's 500.00 before its
    // credit note, oldest due first, adding up to the row.
    let opened = api
        .get(&format!("/api/v1/finance/reports/ageing?kind=receivable&date=2026-04-16&party_id={customer}"))
        .await
        .json();
    let documents: Vec<(i64, &str, i64, &str)> = opened["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| {
            (
                d["id"].as_i64().unwrap_or(0),
                d["open"].as_str().unwrap_or(""),
                d["days_past_due"].as_i64().unwrap_or(0),
                d["bucket"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(documents, vec![(a, "400.00", 16, "0_30"), (c, "300.00", 12, "0_30"), (b, "500.00", 7, "0_30")]);
    assert_eq!((opened["items"][0]["total"].as_str(), opened["total"].as_str()), (Some("1200.00"), Some("1200.00")));
    // By mid-May A's 400.00 is 45 days past due: on the page its 31–60 figure opens A alone.
    let browser = app.signed_in("admin").await;
    let report = browser.get("/finance/reports/ageing?kind=receivable&date=2026-05-15").await;
    let link = format!(
        "/finance/reports/ageing?kind=receivable&amp;date=2026-05-15&amp;party_id={customer}&amp;bucket=1#documents"
    );
    assert!(report.body.contains(&format!("<a href=\"{link}\">400.00</a>")), "{}", report.body);
    let page = browser.get(&link.replace("&amp;", "&")).await;
    let section = page.body.split("id=\"documents\"").nth(1).expect("the documents");
    assert!(section.contains("31–60 天") && section.contains(&format!("href=\"/finance/invoices/{a}\"")), "{section}");
    assert!(
        section.contains("<td class=\"num\">45</td>") && !section.contains(&format!("/finance/invoices/{b}\"")),
        "{section}"
    );
}

#[tokio::test]
async fn goods_returned_from_a_part_paid_invoice_are_credited_line_by_line_in_the_browser() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "合肥启明教育科技有限公司", "customer").await;
    // Ten projectors at 2,000.00 and an installation at 1,000.00, 13 % and 6 %:
    // 20,000 + 2,600 + 1,000 + 60 = 23,660.00; 10,000.00 received.
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-07-01", "lines": [
            {"description": "投影仪", "quantity": "10", "unit_price": "2000.00", "vat_rate": "13"},
            {"description": "安装", "quantity": "1", "unit_price": "1000.00", "vat_rate": "6"}]}),
    )
    .await;
    let id = invoice["id"].as_i64().expect("id");
    assert_eq!(invoice["total"], "23660.00");
    api.post(
        "/api/v1/finance/payments",
        &json!({"kind": "receipt", "party_id": customer, "date": "2026-07-05", "amount": "10000.00",
                "allocations": [{"invoice_id": id, "amount": "10000.00"}]}),
    )
    .await;

    // Two projectors come back: 4,000.00 + 520.00 VAT credited, the invoice open for 9,140.00.
    let browser = app.signed_in("admin").await;
    let page = browser.get(&format!("/finance/invoices/{id}")).await;
    assert!(page.body.contains("name=\"credit_qty_0\""), "a part-paid invoice offers a credit by line");
    let too_many = browser
        .post_form(
            &format!("/finance/invoices/{id}"),
            &format!("/finance/invoices/{id}/credit-note"),
            &[("date", "2026-07-10"), ("credit_qty_0", "12")],
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY, "more than was invoiced: {}", too_many.body);
    let row = too_many.body.split("name=\"credit_qty_0\"").nth(1).expect("the projectors' row");
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains("value=\"12\""), "the quantity as typed: {row}");
    assert!(too_many.body.contains("role=\"alert\">红字金额超过发票可冲销的余额 23660.00"), "{}", too_many.body);
    // A quantity that is no number is refused on its own line.
    let not_a_number = browser
        .post_form(
            &format!("/finance/invoices/{id}"),
            &format!("/finance/invoices/{id}/credit-note"),
            &[("date", "2026-07-10"), ("credit_qty_1", "一台")],
        )
        .await;
    let row = not_a_number.body.split("name=\"credit_qty_1\"").nth(1).expect("the installation's row");
    assert!(row[..row.find("</tr>").expect("row end")].contains("role=\"alert\""), "{}", not_a_number.body);
    assert_eq!(app.count("fin_invoices WHERE credit_of IS NOT NULL").await, 0);
    let credited = browser
        .post_form(
            &format!("/finance/invoices/{id}"),
            &format!("/finance/invoices/{id}/credit-note"),
            &[("date", "2026-07-10"), ("credit_qty_0", "2")],
        )
        .await;
    assert_eq!(credited.status, StatusCode::SEE_OTHER, "{}", credited.body);
    let after = api.get(&format!("/api/v1/finance/invoices/{id}")).await.json();
    assert_eq!((after["status"].as_str(), after["open"].as_str()), (Some("partial"), Some("9140.00")), "{after}");

    // Through the API, the installation is credited by its line.
    let note = api
        .post(
            &format!("/api/v1/finance/invoices/{id}/credit-note"),
            &json!({"date": "2026-07-12", "memo": "安装取消", "lines": [
                {"description": "安装", "quantity": "1", "unit_price": "1000.00", "vat_rate": "6"}]}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    assert_eq!(note.json()["total"], "-1060.00");
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{id}")).await.json()["open"], "8080.00");
}

#[tokio::test]
async fn the_balance_sheet_shows_each_partys_balance_on_its_own_side() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let (owes, paid_ahead, owed_back) = (
        party(&api, "成都蓝海贸易有限公司", "customer").await,
        party(&api, "重庆山城百货有限公司", "customer").await,
        party(&api, "西安古都文化传媒有限公司", "customer").await,
    );
    let (we_prepaid, we_owe, owes_us_back) = (
        party(&api, "宁波港联物流有限公司", "supplier").await,
        party(&api, "佛山南方五金有限公司", "supplier").await,
        party(&api, "东莞精工电子有限公司", "supplier").await,
    );
    let goods = |kind: &str, party_id: i64, date: &str, price: &str| {
        json!({"kind": kind, "party_id": party_id, "date": date,
               "lines": [{"description": "货物", "quantity": "1", "unit_price": price, "vat_rate": "13"}]})
    };
    let pay = |kind: &str, party_id: i64, date: &str, amount: &str| json!({"kind": kind, "party_id": party_id, "date": date, "amount": amount});
    // 蓝海 owes 11,300.00; 山城 paid 5,000.00 ahead; 古都 paid 1,130.00 and then the goods
    // were credited, so it is owed 1,130.00 back.
    posted_invoice(&api, goods("customer", owes, "2026-03-02", "10000.00")).await;
    api.post("/api/v1/finance/payments", &pay("receipt", paid_ahead, "2026-03-03", "5000.00")).await;
    let sold =
        posted_invoice(&api, goods("customer", owed_back, "2026-03-04", "1000.00")).await["id"].as_i64().expect("id");
    api.post("/api/v1/finance/payments", &pay("receipt", owed_back, "2026-03-05", "1130.00")).await;
    let line = json!([{"description": "货物", "quantity": "1", "unit_price": "1000.00", "vat_rate": "13"}]);
    let note = api
        .post(&format!("/api/v1/finance/invoices/{sold}/credit-note"), &json!({"date": "2026-03-06", "lines": line}))
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    // We paid 港联 2,000.00 ahead and owe 南方 3,390.00; 精工 was paid 2,260.00 for goods it
    // then credited, so it owes that back.
    api.post("/api/v1/finance/payments", &pay("payment", we_prepaid, "2026-03-07", "2000.00")).await;
    posted_invoice(&api, goods("supplier", we_owe, "2026-03-08", "3000.00")).await;
    let bought = posted_invoice(&api, goods("supplier", owes_us_back, "2026-03-09", "2000.00")).await["id"]
        .as_i64()
        .expect("id");
    api.post("/api/v1/finance/payments", &pay("payment", owes_us_back, "2026-03-10", "2260.00")).await;
    let line = json!([{"description": "货物", "quantity": "1", "unit_price": "2000.00", "vat_rate": "13"}]);
    let returned = api
        .post(&format!("/api/v1/finance/invoices/{bought}/credit-note"), &json!({"date": "2026-03-11", "lines": line}))
        .await;
    assert_eq!(returned.status, StatusCode::CREATED, "{}", returned.body);
    // And a manual voucher to 1122 that names no customer: 500.00 of scrap sold on account.
    let scrap = api
        .post(
            "/api/v1/finance/entries",
            &crate::ledger::voucher("2026-03-12", "废料销售", &[("1122", "500.00", ""), ("6051", "", "500.00")]),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    api.post(&format!("/api/v1/finance/entries/{scrap}/post"), &json!({})).await;

    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
    let value = |key: &str| {
        sheet["lines"].as_array().expect("lines").iter().find(|l| l["key"] == key).expect(key)["amount"].clone()
    };
    assert_eq!(value("receivables"), "11800.00", "蓝海's 11,300.00 and the scrap's 500.00: {sheet}");
    assert_eq!(value("advances"), "6130.00", "山城's 5,000.00 paid ahead and 古都's 1,130.00 owed back");
    assert_eq!(value("prepayments"), "4260.00", "港联's 2,000.00 and 精工's 2,260.00 owed back to us");
    assert_eq!(value("payables"), "3390.00", "南方's bill");
    assert_eq!(value("total_assets"), value("total_liabilities_and_equity"));
    // The figure opens the account it is part of.
    let detail = api
        .get("/api/v1/finance/reports/statement-line?statement=balance-sheet&line=advances&period=2026-03")
        .await
        .json();
    assert_eq!(detail["amount"], "6130.00", "{detail}");
    let codes: Vec<&str> =
        detail["accounts"].as_array().expect("accounts").iter().filter_map(|a| a["code"].as_str()).collect();
    assert_eq!(codes, ["2203", "1122"], "{detail}");

    // A voucher typed by hand names its customer by number: 800.00 of packaging charged to
    // 山城 is receivable from it while its 5,000.00 paid ahead stays an advance.
    let number =
        api.get(&format!("/api/v1/parties/{paid_ahead}")).await.json()["number"].as_str().expect("number").to_string();
    let browser = app.signed_in("admin").await;
    let lines = |party: &str| {
        vec![
            ("date", "2026-03-20".to_string()),
            ("word", "记".to_string()),
            ("memo", "包装费".to_string()),
            ("account", "1122".to_string()),
            ("debit", "800.00".to_string()),
            ("credit", String::new()),
            ("party", party.to_string()),
            ("account", "6051".to_string()),
            ("debit", String::new()),
            ("credit", "800.00".to_string()),
            ("party", String::new()),
            ("post", "true".to_string()),
        ]
    };
    let unknown = lines("PTY/2026/999999");
    let unknown: Vec<(&str, &str)> = unknown.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post_form("/finance/entries/new", "/finance/entries", &unknown).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("往来单位不存在：PTY/2026/999999"), "{}", refused.body);
    let known = lines(&number);
    let known: Vec<(&str, &str)> = known.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let posted = browser.post_form("/finance/entries/new", "/finance/entries", &known).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let voucher = browser.get(&posted.header("location").expect("location")).await;
    assert!(voucher.body.contains("重庆山城百货有限公司"), "the line shows its customer");
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
    let value = |key: &str| {
        sheet["lines"].as_array().expect("lines").iter().find(|l| l["key"] == key).expect(key)["amount"].clone()
    };
    assert_eq!((value("receivables"), value("advances")), (json!("12600.00"), json!("6130.00")), "{sheet}");
}

#[tokio::test]
async fn an_invoice_line_names_a_catalog_product_whose_name_price_and_rate_fill_what_is_left_empty() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "南昌赣江图书有限公司", "customer").await;
    let book = api
        .post(
            "/api/v1/catalog/products",
            &json!({"code": "book-01", "name": "会计学原理", "kind": "goods", "uom": "pc", "purchase_uom": "pc",
                    "sales_uom": "pc", "vat_rate": "9", "sale_price": "58.00"}),
        )
        .await;
    assert_eq!(book.status, StatusCode::CREATED, "{}", book.body);
    let book = book.json()["id"].as_i64().expect("id");
    // Ten books at the catalog's 58.00 and 9 % (books are taxed at 9 %): 580.00 + 52.20; and a
    // free-text line for delivery.
    let invoice = api
        .post(
            "/api/v1/finance/invoices",
            &json!({"kind": "customer", "party_id": customer, "date": "2026-03-16", "lines": [
                {"product_id": book, "description": "", "quantity": "10", "unit_price": "", "vat_rate": ""},
                {"description": "送货", "quantity": "1", "unit_price": "20.00", "vat_rate": "6"}]}),
        )
        .await;
    assert_eq!(invoice.status, StatusCode::CREATED, "{}", invoice.body);
    let stored = api.get(&format!("/api/v1/finance/invoices/{}", invoice.json()["id"])).await.json();
    let line = &stored["lines"][0];
    assert_eq!(
        (line["description"].as_str(), line["unit_price"].as_str(), line["vat_rate"].as_str(), line["tax"].as_str()),
        (Some("BOOK-01 会计学原理"), Some("58.00"), Some("9"), Some("52.20")),
        "{stored}"
    );
    assert_eq!(line["product_id"], book);
    assert_eq!(stored["total"], "653.40", "632.20 for the books, 21.20 for the delivery");

    // In the browser the line's product is chosen from the catalog; an unknown one is refused
    // on its line and nothing is stored.
    let browser = app.signed_in("admin").await;
    let form = browser.get("/finance/invoices/new").await;
    assert!(form.body.contains(&format!("<option value=\"{book}\">BOOK-01 会计学原理</option>")), "{}", form.body);
    let invoices = app.count("fin_invoices").await;
    let refused = browser
        .post_form(
            "/finance/invoices/new",
            "/finance/invoices",
            &[
                ("party_id", &customer.to_string()),
                ("date", "2026-03-16"),
                ("product_id", "999999"),
                ("description", ""),
                ("quantity", "1"),
                ("unit_price", ""),
                ("discount", ""),
                ("vat_rate", "9"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("产品不存在或已停用：999999"), "{}", refused.body);
    assert_eq!(app.count("fin_invoices").await, invoices);
    let saved = browser
        .post_form(
            "/finance/invoices/new",
            "/finance/invoices",
            &[
                ("party_id", &customer.to_string()),
                ("date", "2026-03-16"),
                ("product_id", &book.to_string()),
                ("description", ""),
                ("quantity", "2"),
                ("unit_price", ""),
                ("discount", ""),
                ("vat_rate", "9"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = browser.get(&saved.header("location").expect("location")).await;
    assert!(page.body.contains("BOOK-01 会计学原理") && page.body.contains("126.44"), "2 × 58.00 + 9 %: {}", page.body);
}

/// A supplier's bill for the trade fair's stand names the fair's project and the sales
/// department on its lines; the voucher carries both to the ledger, so the fair's costs by
/// month include the bill. The stand is partly returned after the fair's project was closed
/// (archived): the credit note still undoes the cost under the project.
#[tokio::test]
async fn a_bills_lines_carry_their_cost_centre_and_project_to_the_ledger_and_its_credit_note_undoes_them() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let builder = party(&api, "上海展装搭建有限公司", "supplier").await;
    for (dimension, code, name) in [("cost_center", "SAL", "销售部"), ("project", "EXPO-2026", "2026 上海工博会参展")]
    {
        let added =
            api.post(&format!("/api/v1/finance/dimensions/{dimension}"), &json!({"code": code, "name": name})).await;
        assert_eq!(added.status, StatusCode::CREATED);
    }
    let bill = |project: &str| {
        json!({
            "kind": "supplier", "party_id": builder, "date": "2026-03-18",
            "lines": [
                {"description": "展位搭建", "quantity": "1", "unit_price": "20000.00", "vat_rate": "6", "account": "6601", "cost_center": "SAL", "project": project},
                {"description": "展台灯具", "quantity": "4", "unit_price": "750.00", "vat_rate": "13", "account": "6601", "cost_center": "SAL", "project": project}
            ]
        })
    };
    let slip = api.post("/api/v1/finance/invoices", &bill("EXPO-2062")).await;
    assert_eq!(slip.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = slip.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .map(|f| if f == "lines[0]" { "lines[0]" } else { "other" })
        .collect();
    assert_eq!(fields, ["lines[0]", "other"], "each line that names the unknown project: {}", slip.body);

    let posted = posted_invoice(&api, bill("EXPO-2026")).await;
    assert_eq!(posted["lines"][0]["project"], "EXPO-2026");
    let voucher = api.get(&format!("/api/v1/finance/entries/{}", posted["entry_id"])).await.json();
    let cost = voucher["lines"].as_array().expect("lines").iter().find(|l| l["account"] == "6601").cloned();
    let cost = cost.unwrap_or_else(|| panic!("6601 in {voucher}"));
    assert_eq!(
        (cost["debit"].as_str(), cost["cost_center"].as_str(), cost["project"].as_str()),
        (Some("23000.00"), Some("SAL"), Some("EXPO-2026")),
        "both lines' nets on one voucher line under their centre and project"
    );
    let costs = |api: &ApiClient| {
        let api = api.clone();
        async move {
            let report =
                api.get("/api/v1/finance/reports/cost-centers?dimension=project&from=2026-03&to=2026-03").await.json();
            report["groups"][0]["amount"].as_str().unwrap_or("none").to_string()
        }
    };
    assert_eq!(costs(&api).await, "23000.00");
    // The fair brings in its own revenue: the stand's sponsorship sold to an exhibitor.
    let exhibitor = party(&api, "苏州恒远机电有限公司", "customer").await;
    posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": exhibitor, "date": "2026-03-20", "lines": [
            {"description": "展位联合冠名", "quantity": "1", "unit_price": "40000.00", "vat_rate": "6", "project": "EXPO-2026"}
        ]}),
    )
    .await;

    // The fair is over; two of the lamps go back after its project was archived.
    assert_eq!(
        api.post("/api/v1/finance/dimensions/project/EXPO-2026/archive", &json!({})).await.status,
        StatusCode::OK
    );
    let id = posted["id"].as_i64().expect("id");
    let elsewhere = api
        .post(
            &format!("/api/v1/finance/invoices/{id}/credit-note"),
            &json!({"date": "2026-03-28", "lines": [{"description": "展台灯具", "quantity": "2", "unit_price": "750.00", "vat_rate": "13", "account": "6601", "cost_center": "SAL"}]}),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a note undoes the bill's lines under their own project"
    );
    assert!(elsewhere.body.contains("error.finance.credit_tags"), "{}", elsewhere.body);
    let note = api
        .post(
            &format!("/api/v1/finance/invoices/{id}/credit-note"),
            &json!({"date": "2026-03-28", "lines": [{"description": "展台灯具", "quantity": "2", "unit_price": "750.00", "vat_rate": "13", "account": "6601", "cost_center": "SAL", "project": "EXPO-2026"}]}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
    assert_eq!(costs(&api).await, "21500.00", "23,000.00 less the two lamps' 1,500.00");

    // The fair's own profit and loss: its revenue less its costs, from the project's rows.
    let fair =
        api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03&project=EXPO-2026").await.json();
    assert_eq!(
        (line(&fair, "revenue"), line(&fair, "selling"), line(&fair, "operating_profit")),
        ("40000.00", "21500.00", "18500.00"),
        "{fair}"
    );
    let sales_dept =
        api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03&cost_center=SAL").await.json();
    assert_eq!((line(&sales_dept, "revenue"), line(&sales_dept, "selling")), ("0.00", "21500.00"));
    let whole = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03").await.json();
    assert_eq!(line(&whole, "revenue"), "40000.00");
    // The revenue names no cost centre: it is the "none named" centre's.
    let no_centre =
        api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03&cost_center=").await.json();
    assert_eq!((line(&no_centre, "revenue"), line(&no_centre, "selling")), ("40000.00", "0.00"));
    // A balance-sheet figure is always the whole company's, and so are its links.
    let sheet_line = api
        .get("/api/v1/finance/reports/statement-line?statement=balance-sheet&line=cash&period=2026-03&cost_center=SAL")
        .await
        .json();
    assert!(!sheet_line.to_string().contains("cost_center=SAL"), "{sheet_line}");

    // In the browser: the bill shows each line's centre and project, and the bill form offers
    // the active codes (the archived project no longer) in two columns of its own.
    let browser = app.signed_in("admin").await;
    let statement =
        browser.get("/finance/reports/income-statement?from=2026-03&to=2026-03&slice=project:EXPO-2026").await;
    assert!(statement.body.contains("<option value=\"project:EXPO-2026\" selected>"), "the chooser shows the project");
    assert!(statement.body.contains("<option value=\"cost_center:\">成本中心 未指定</option>"));
    assert!(
        statement.body.contains("line=selling&amp;from=2026-03&amp;to=2026-03&#38;project=EXPO-2026\">21,500.00</a>"),
        "a figure opens the project's accounts: {}",
        statement.body
    );
    let detail = browser.get("/finance/reports/statement-line?statement=income-statement&line=selling&from=2026-03&to=2026-03&project=EXPO-2026").await;
    assert!(detail
        .body
        .contains("/finance/reports/account?code=6601&amp;from=2026-03&amp;to=2026-03&#38;project=EXPO-2026"));
    let page = browser.get(&format!("/finance/bills/{id}")).await;
    assert!(page.body.contains("<span class=\"tag\" title=\"项目\">EXPO-2026</span>"), "{}", page.body);
    let form = browser.get("/finance/bills/new").await;
    assert!(
        form.body.contains("<option value=\"SAL\">销售部</option>")
            && form.body.contains("name=\"project\" list=\"projects\"")
    );
    assert!(!form.body.contains("<option value=\"EXPO-2026\">"));
    let mut fields = vec![("party_id", builder.to_string()), ("date", "2026-03-20".to_string())];
    for (name, value) in [
        ("product_id", ""),
        ("description", "展会保洁"),
        ("quantity", "1"),
        ("unit_price", "600.00"),
        ("discount", ""),
        ("vat_rate", "6"),
        ("cost_center", "SAL"),
        ("project", "EXPO-2026"),
    ] {
        fields.push((name, value.to_string()));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post_form("/finance/bills/new", "/finance/bills", &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("项目 EXPO-2026 已停用"), "the refusal stands under its line: {}", refused.body);
}

#[tokio::test]
async fn a_bill_line_names_the_account_of_what_was_bought_and_never_one_the_bill_settles_through() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let supplier = party(&api, "苏州精工机械有限公司", "supplier").await;
    for (parent, code, name) in [("6602", "660201", "办公费"), ("1002", "100201", "工商银行宁波分行")] {
        let added =
            api.post("/api/v1/finance/accounts", &json!({"parent": parent, "code": code, "name_zh": name})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    let bill = |account: &str| {
        json!({"kind": "supplier", "party_id": supplier, "date": "2026-04-08", "lines": [
            {"description": "数控车床 CK6140", "quantity": "1", "unit_price": "86000.00", "vat_rate": "13", "account": account}]})
    };
    // The prepayment account, a bank's sub-account, accumulated depreciation (a contra
    // account), the payable itself, an account the chart lacks and one with sub-accounts are
    // each refused on the line, and no bill is stored.
    for (account, code) in [
        ("1123", "error.finance.bill_line_account"),
        ("100201", "error.finance.bill_line_account"),
        ("1602", "error.finance.bill_line_account"),
        ("2202", "error.finance.bill_line_account"),
        ("9999", "error.finance.unknown_account"),
        ("6602", "error.finance.parent_account"),
    ] {
        let refused = api.post("/api/v1/finance/invoices", &bill(account)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{account}: {}", refused.body);
        assert!(
            refused.header("content-type").unwrap_or_default().starts_with("application/problem+json"),
            "{account}"
        );
        let problem = refused.json();
        assert_eq!(
            (problem["errors"][0]["field"].as_str(), problem["errors"][0]["code"].as_str()),
            (Some("lines[0]"), Some(code))
        );
    }
    assert_eq!(app.count("fin_invoices").await, 0, "nothing stored");
    // A lathe is a fixed asset: 86,000.00 on 1601 and 11,180.00 of input VAT, owed to the supplier.
    posted_invoice(&api, bill("1601")).await;
    assert_eq!(account_closing(&api, "1601").await, "86000.00");
    assert_eq!(account_closing(&api, "2202").await, "-97180.00");
    // Office paper goes to the office expenses sub-account.
    let paper = json!({"kind": "supplier", "party_id": supplier, "date": "2026-04-09", "lines": [
        {"description": "A4 复印纸", "quantity": "20", "unit_price": "25.00", "vat_rate": "13", "account": "660201"}]});
    posted_invoice(&api, paper).await;
    assert_eq!(account_closing(&api, "660201").await, "500.00");
    // A sale goes to income only: the same bank account on an invoice line is refused too.
    let customer = party(&api, "宁波海曙文具批发部", "customer").await;
    let sale = json!({"kind": "customer", "party_id": customer, "date": "2026-04-10", "lines": [
        {"description": "技术服务费", "quantity": "1", "unit_price": "3000.00", "vat_rate": "6", "account": "100201"}]});
    let refused = api.post("/api/v1/finance/invoices", &sale).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.json()["errors"][0]["code"], "error.finance.sale_line_account");
    // Selling an old forklift is no revenue: it goes to 固定资产清理.
    let forklift = json!({"kind": "customer", "party_id": customer, "date": "2026-04-12", "lines": [
        {"description": "旧叉车一台", "quantity": "1", "unit_price": "20000.00", "vat_rate": "13", "account": "1606"}]});
    posted_invoice(&api, forklift).await;
    assert_eq!(account_closing(&api, "1606").await, "-20000.00");
}

#[tokio::test]
async fn an_advance_is_given_back_when_the_order_falls_through() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "杭州明远电子有限公司", "customer").await;
    // 明远 pays 10,000.00 ahead on 2 March for an order of sensors.
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-02", "amount": "10000.00", "allocations": []}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    let advance = paid.json()["id"].as_i64().expect("id");
    let refund = |body: Value| {
        let api = &api;
        async move { api.post(&format!("/api/v1/finance/payments/{advance}/refund"), &body).await }
    };
    // A refund dated before the advance, of more than it holds, through the revenue account:
    // each refused beside its field, and nothing changes.
    let refused = refund(json!({"date": "2026-03-01", "amount": "12000.00", "bank_account": "6001"})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let fields: Vec<String> = refused.json()["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| format!("{} {}", e["field"].as_str().unwrap_or_default(), e["code"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        fields,
        [
            "date error.finance.refund_before_advance",
            "amount error.finance.refund_too_large",
            "bank_account error.finance.bank_account"
        ]
    );
    assert_eq!((app.count("fin_payments").await, app.count("fin_entries").await), (1, 1), "nothing stored");
    // Part of the order is cancelled: 4,000.00 goes back on 20 March (Dr 2203 / Cr 1002).
    let given = refund(json!({"date": "2026-03-20", "amount": "4000.00"})).await;
    assert_eq!(given.status, StatusCode::CREATED, "{}", given.body);
    assert_eq!(given.json()["number"], "RFD/2026/00001");
    assert_eq!(account_closing(&api, "2203").await, "-6000.00");
    assert_eq!(account_closing(&api, "1002").await, "6000.00");
    let receipts = api.get("/api/v1/finance/payments?kind=receipt&month=2026-03").await.json();
    let items = receipts["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "the refund is listed with its advance, not as a receipt: {receipts}");
    assert_eq!((items[0]["unallocated"].as_str(), items[0]["refunded"].as_str()), (Some("6000.00"), Some("4000.00")));
    assert_eq!(items[0]["refunds"][0]["number"], "RFD/2026/00001", "the refund named beside its advance");
    // The statement of account shows the money going back: 明远 is owed 6,000.00 at the end.
    let statement = api
        .get(&format!("/api/v1/finance/reports/party-statement?party_id={customer}&from=2026-03-01&to=2026-03-31"))
        .await
        .json();
    let lines = statement["items"].as_array().expect("items");
    assert_eq!(
        (lines[1]["kind"].as_str(), lines[1]["balance"].as_str()),
        (Some("refund"), Some("-6000.00")),
        "{statement}"
    );
    assert_eq!(statement["closing"], "-6000.00");
    // The rest of the order ships: 5,650.00 is invoiced and settled from the advance; what is
    // left, 350.00, goes back with no amount typed, and then there is nothing left to refund.
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-03-25", "lines": [
            {"description": "温湿度传感器", "quantity": "50", "unit_price": "100.00", "vat_rate": "13"}]}),
    )
    .await;
    let id = invoice["id"].as_i64().expect("id");
    let applied =
        api.post(&format!("/api/v1/finance/invoices/{id}/apply-advance"), &json!({"date": "2026-03-25"})).await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    let rest = refund(json!({"date": "2026-03-31"})).await;
    assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
    assert_eq!(rest.json()["amount"], "350.00");
    assert_eq!(account_closing(&api, "2203").await, "0.00");
    let again = refund(json!({"date": "2026-03-31"})).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    assert_eq!(again.json()["errors"][0]["code"], "error.finance.no_advance_left");
    // A refund cannot itself be refunded.
    let refund_id = rest.json()["id"].as_i64().expect("id");
    let of_refund =
        api.post(&format!("/api/v1/finance/payments/{refund_id}/refund"), &json!({"date": "2026-03-31"})).await;
    assert_eq!(of_refund.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", of_refund.body);
    assert_eq!(
        app.count("fin_payments").await,
        3,
        "the advance and its two refunds (applying it is no payment): none more"
    );
}

#[tokio::test]
async fn a_suppliers_prepayment_comes_back_from_the_payments_page() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let supplier = party(&api, "苏州精工机械有限公司", "supplier").await;
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "payment", "party_id": supplier, "date": "2026-03-05", "amount": "20000.00", "allocations": []}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    let advance = paid.json()["id"].as_i64().expect("id");
    assert_eq!(account_closing(&api, "1123").await, "20000.00");
    // The lathe will not be built: the supplier sends the 20,000.00 back. The refund form sits
    // on the prepayment's row; an amount that is not one comes back beside the field, as typed.
    let browser = app.signed_in("admin").await;
    let list = browser.get("/finance/payments?kind=payment&month=2026-03").await;
    assert!(list.body.contains(&format!("action=\"/finance/payments/{advance}/refund\"")), "{}", list.body);
    let to = format!("/finance/payments/{advance}/refund");
    let from = "/finance/payments?kind=payment&month=2026-03";
    let refused =
        browser.post_form(from, &to, &[("date", "2026-03-18"), ("amount", "两万"), ("bank_account", "1002")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains(&format!("<details id=\"refund-{advance}\" open>")), "the form stays open");
    let amount = refused.body.split(&format!("id=\"ramount-{advance}\"")).nth(1).unwrap_or_default();
    assert!(amount.starts_with(" name=\"amount\" value=\"两万\""), "as typed: {amount}");
    assert!(amount.split("</div>").next().unwrap_or_default().contains("role=\"alert\""), "beside it: {amount}");
    assert_eq!(app.count("fin_entries").await, 1, "nothing stored");
    let given =
        browser.post_form(from, &to, &[("date", "2026-03-18"), ("amount", "20000.00"), ("bank_account", "1002")]).await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    assert_eq!(account_closing(&api, "1123").await, "0.00");
    assert_eq!(account_closing(&api, "1002").await, "0.00");
    let list = browser.get("/finance/payments?kind=payment&month=2026-03").await;
    assert!(list.body.contains(&format!("id=\"refunded-{advance}\">已退 20,000.00")), "{}", list.body);
    assert!(!list.body.contains(&format!("<details id=\"refund-{advance}\"")), "nothing left to refund");
    // Money that came back is a receipt of the bank: a 收 voucher of 20,000.00 beside the 付
    // one that paid it.
    let vouchers = api.get("/api/v1/finance/entries?period=2026-03").await.json();
    let mut words: Vec<(String, String)> = vouchers["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["number"].as_str().unwrap_or_default().into(), e["total"].as_str().unwrap_or_default().into()))
        .collect();
    words.sort();
    let expected = [("付-0001", "20000.00"), ("收-0001", "20000.00")].map(|(n, t)| (n.to_string(), t.to_string()));
    assert_eq!(words, expected, "{vouchers}");
}

#[tokio::test]
async fn a_receipt_recorded_by_mistake_is_undone_and_the_invoice_is_open_again() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "宁波海曙文具批发部", "customer").await;
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-03-02", "lines": [
            {"description": "中性笔（盒）", "quantity": "100", "unit_price": "100.00", "vat_rate": "13"}]}),
    )
    .await;
    let id = invoice["id"].as_i64().expect("id");
    // The clerk books 11,300.00 received on 12 March against the wrong customer's invoice, and
    // again 12,000.00 of which 700.00 stays an advance that is then applied.
    let receipt = |amount: &str| {
        json!({"kind": "receipt", "party_id": customer, "date": "2026-03-12", "amount": amount,
               "allocations": [{"invoice_id": id, "amount": "11300.00"}]})
    };
    let first = api.post("/api/v1/finance/payments", &receipt("11300.00")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let first = first.json()["id"].as_i64().expect("id");
    assert_eq!(api.get(&format!("/api/v1/finance/invoices/{id}")).await.json()["status"], "paid");
    // From the invoice's page: the receipt is listed, and undone with its button.
    let browser = app.signed_in("admin").await;
    let page = browser.get(&format!("/finance/invoices/{id}")).await;
    let cancel = format!("/finance/invoices/{id}/payments/{first}/cancel");
    assert!(page.body.contains("id=\"settled-by\"") && page.body.contains(&cancel), "{}", page.body);
    let undone = browser.post_form(&format!("/finance/invoices/{id}"), &cancel, &[]).await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
    let now = api.get(&format!("/api/v1/finance/invoices/{id}")).await.json();
    assert_eq!((now["status"].as_str(), now["open"].as_str()), (Some("open"), Some("11300.00")), "{now}");
    assert_eq!(account_closing(&api, "1002").await, "0.00");
    assert_eq!(account_closing(&api, "1122").await, "11300.00");
    // The ledger keeps both vouchers, the second in red ink on the same day; the receipt is gone,
    // audited with what it was.
    let vouchers = api.get("/api/v1/finance/entries?period=2026-03").await.json();
    let receipts: Vec<(String, String)> = vouchers["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["kind"] != "invoice")
        .map(|e| (e["date"].as_str().unwrap_or_default().into(), e["total"].as_str().unwrap_or_default().into()))
        .collect();
    assert_eq!(receipts.len(), 2, "{vouchers}");
    assert!(receipts.iter().all(|(date, _)| date == "2026-03-12"), "{vouchers}");
    assert_eq!(app.count("fin_payments").await, 0);
    assert_eq!(app.count("audit_log WHERE action = 'delete' AND resource = 'finance.payment'").await, 1);

    // A receipt whose advance was applied since stays until that is undone.
    let second = api.post("/api/v1/finance/payments", &receipt("12000.00")).await.json()["id"].as_i64().expect("id");
    let later = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-03-20", "lines": [
            {"description": "订书机", "quantity": "10", "unit_price": "50.00", "vat_rate": "13"}]}),
    )
    .await;
    let later = later["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/finance/invoices/{later}/apply-advance"), &json!({"date": "2026-03-20"})).await;
    let kept = api.post(&format!("/api/v1/finance/payments/{second}/cancel"), &json!({})).await;
    assert_eq!(kept.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", kept.body);
    assert_eq!(kept.json()["errors"][0]["code"], "error.finance.cancel_advance_applied");
    // Nor is one whose invoice was credited since: undone, the invoice would be open for all it
    // paid while the note took part of it already. Pressed twice, the button says it is gone.
    let staplers = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-03-21", "lines": [
            {"description": "订书机", "quantity": "10", "unit_price": "100.00", "vat_rate": "13"}]}),
    )
    .await;
    let staplers = staplers["id"].as_i64().expect("id");
    let paid_later = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-22", "amount": "1130.00",
                    "allocations": [{"invoice_id": staplers, "amount": "1130.00"}]}),
        )
        .await;
    assert_eq!(paid_later.status, StatusCode::CREATED, "{}", paid_later.body);
    let paid_later = paid_later.json()["id"].as_i64().expect("id");
    let credited = api
        .post(
            &format!("/api/v1/finance/invoices/{staplers}/credit-note"),
            &json!({"date": "2026-03-23", "lines": [{"description": "订书机", "quantity": "2", "unit_price": "100.00", "vat_rate": "13"}]}),
        )
        .await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.body);
    let page = format!("/finance/invoices/{staplers}");
    let refused = browser.post_form(&page, &format!("{page}/payments/{paid_later}/cancel"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let beside = refused.body.split("id=\"settled-by\"").nth(1).unwrap_or_default();
    assert!(beside.contains("红字发票"), "the reason beside the list: {}", refused.body);
    let twice = browser.post_form(&page, &format!("{page}/payments/{first}/cancel"), &[]).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", twice.body);
    assert!(twice.body.contains("已不存在"), "{}", twice.body);

    // One matched with a line of the bank's statement stays until it is unmatched.
    let third = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-25", "amount": "300.00"}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let lines = crate::bank::imported_lines(&api, "日期,金额,摘要\n2026-03-25,300.00,货款\n").await;
    let line = lines[0]["id"].as_i64().expect("line");
    let matched = api.post(&format!("/api/v1/finance/bank-lines/{line}/match"), &json!({"payment_id": third})).await;
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    let kept = api.post(&format!("/api/v1/finance/payments/{third}/cancel"), &json!({})).await;
    assert_eq!(kept.json()["errors"][0]["code"], "error.finance.cancel_matched", "{}", kept.body);

    // Once March is closed, nothing of it is undone: the refusal is shown on the page.
    api.post(&format!("/api/v1/finance/bank-lines/{line}/unmatch"), &json!({})).await;
    for month in ["2026-01", "2026-02", "2026-03"] {
        let closed = api.post(&format!("/api/v1/finance/periods/{month}/close"), &json!({})).await;
        assert!(closed.status.is_success(), "{}", closed.body);
    }
    let month = "/finance/payments?kind=receipt&month=2026-03";
    let refused = browser.post_form(month, &format!("/finance/payments/{third}/cancel"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("2026-03") && refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert_eq!(app.count("fin_payments").await, 3, "the three receipts kept");
}

#[tokio::test]
async fn an_advance_refund_and_a_dollar_receipt_are_undone_in_full() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "杭州明远电子有限公司", "customer").await;
    let advance = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-02", "amount": "10000.00", "allocations": []}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let refund = api
        .post(
            &format!("/api/v1/finance/payments/{advance}/refund"),
            &json!({"date": "2026-03-20", "amount": "4000.00"}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    // The refund is listed under its advance with its own button; undone, the advance holds
    // the whole 10,000.00 again.
    let browser = app.signed_in("admin").await;
    let month = "/finance/payments?kind=receipt&month=2026-03";
    assert!(browser.get(month).await.body.contains(&format!("/finance/payments/{refund}/cancel")));
    let undone = browser.post_form(month, &format!("/finance/payments/{refund}/cancel"), &[]).await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
    assert_eq!(undone.header("location").as_deref(), Some(month), "back to the advance's month");
    let receipts = api.get("/api/v1/finance/payments?kind=receipt&month=2026-03").await.json();
    assert_eq!(
        (receipts["items"][0]["unallocated"].as_str(), receipts["items"][0]["refunded"].as_str()),
        (Some("10000.00"), Some("0.00"))
    );
    assert_eq!(account_closing(&api, "2203").await, "-10000.00");
    // Now nothing was used of it, the advance itself is undone too.
    let gone = api.post(&format!("/api/v1/finance/payments/{advance}/cancel"), &json!({})).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    assert_eq!(account_closing(&api, "2203").await, "0.00");
    assert_eq!(account_closing(&api, "1002").await, "0.00");

    // USD 400.00 received at 7.15 on an invoice of USD 1,000.00 at 7.10, undone: the invoice is
    // open for USD 1,000.00 (¥7,100.00) again and the exchange gain is gone.
    let pacific = party(&api, "Pacific Home Goods Inc.", "customer").await;
    let dollar = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": pacific, "date": "2026-03-05", "currency": "USD", "rate": "7.10",
               "lines": [{"description": "LED desk lamp DL-20", "quantity": "100", "unit_price": "10.00", "vat_rate": "0"}]}),
    )
    .await;
    let dollar = dollar["id"].as_i64().expect("id");
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": pacific, "date": "2026-03-25", "amount": "400.00", "currency": "USD",
                    "rate": "7.15", "allocations": [{"invoice_id": dollar, "amount": "400.00"}]}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(account_closing(&api, "6603").await, "-20.00");
    let undone = api.post(&format!("/api/v1/finance/payments/{}/cancel", paid.json()["id"]), &json!({})).await;
    assert_eq!(undone.status, StatusCode::NO_CONTENT, "{}", undone.body);
    let invoice = api.get(&format!("/api/v1/finance/invoices/{dollar}")).await.json();
    assert_eq!(
        (invoice["status"].as_str(), invoice["open"].as_str(), invoice["foreign"]["settled"].as_str()),
        (Some("open"), Some("7100.00"), Some("0.00")),
        "{invoice}"
    );
    assert_eq!(account_closing(&api, "6603").await, "0.00");
    assert_eq!(account_closing(&api, "1122").await, "7100.00");
}

//! The finance pages when a form is refused: an accountant who typed something wrong sees the
//! reason beside the field (or beside the button that was pressed), finds the form as typed,
//! and nothing is stored.

use crate::invoicing::{party, posted_invoice};
use crate::ledger::voucher;
use axum::http::StatusCode;
use serde_json::json;
use testkit::{spawn_app, TestResponse};

/// The part of a page from an element's marker up to the next table row or form: what stands
/// beside that field or button.
fn beside<'a>(page: &'a TestResponse, marker: &str) -> &'a str {
    let after = page.body.split(marker).nth(1).unwrap_or_else(|| panic!("no {marker} on the page: {}", page.body));
    let end =
        ["<tr>", "<form", "<div class=\"field\""].iter().filter_map(|m| after.find(m)).min().unwrap_or(after.len());
    &after[..end]
}

/// One table row of a page, from its marker to the row's end: its cells, buttons and messages.
fn row<'a>(page: &'a TestResponse, marker: &str) -> &'a str {
    let after = page.body.split(marker).nth(1).unwrap_or_else(|| panic!("no {marker} on the page: {}", page.body));
    &after[..after.find("</tr>").unwrap_or(after.len())]
}

#[tokio::test]
async fn a_month_is_not_closed_while_drafts_wait_and_only_the_latest_closed_month_reopens() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    // A rent voucher for January left in draft.
    let draft = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-01-31", "一月房租", &[("6602", "6000.00", ""), ("1002", "", "6000.00")]),
        )
        .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let draft = draft.json()["id"].as_i64().expect("id");

    let browser = app.signed_in("admin").await;
    let refused = browser.post_form("/finance/periods", "/finance/periods/2026-01/close", &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let at_january = beside(&refused, "action=\"/finance/periods/2026-01/close\"");
    assert!(
        at_january.contains("role=\"alert\">本期还有 1 张未过账凭证"),
        "the refusal stands beside January's button: {at_january}"
    );
    assert!(!beside(&refused, "action=\"/finance/periods/2026-02/close\"").contains("role=\"alert\""));
    let closed: i64 = app.count("fin_periods WHERE status = 'closed'").await;
    assert_eq!(closed, 0, "nothing was closed");

    // Posted, January and February close; January cannot be reopened before February.
    let posted = api.post(&format!("/api/v1/finance/entries/{draft}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    for month in ["2026-01", "2026-02"] {
        let closed = browser.post_form("/finance/periods", &format!("/finance/periods/{month}/close"), &[]).await;
        assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    }
    let early = browser.post_form("/finance/periods", "/finance/periods/2026-01/reopen", &[]).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", early.body);
    assert!(
        beside(&early, "action=\"/finance/periods/2026-01/reopen\"").contains("只能反结账最近结账的期间（2026-02）"),
        "{}",
        early.body
    );
    let reopened = browser.post_form("/finance/periods", "/finance/periods/2026-02/reopen", &[]).await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER, "{}", reopened.body);
    assert_eq!(app.count("fin_periods WHERE status = 'closed'").await, 1, "January stays closed");
}

#[tokio::test]
async fn the_books_and_sub_account_forms_keep_what_was_typed_and_say_what_is_wrong_beside_it() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin").await;
    let refused = browser
        .post_form(
            "/finance/accounts",
            "/finance/setup",
            &[("template", "small_enterprise"), ("year", "26"), ("first_month", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(beside(&refused, "id=\"year\"").contains("value=\"26\""), "the year as typed");
    assert!(beside(&refused, "id=\"year\"").contains("role=\"alert\">期间格式应为 YYYY-MM：26"));
    assert!(refused.body.contains("<option value=\"small_enterprise\" selected>"), "the chart as chosen");
    assert_eq!(app.count("fin_accounts").await, 0, "no books yet");
    let bad_month = browser
        .post_form(
            "/finance/accounts",
            "/finance/setup",
            &[("template", "cas"), ("year", "2026"), ("first_month", "13")],
        )
        .await;
    assert_eq!(bad_month.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_month.body);
    assert!(beside(&bad_month, "id=\"first_month\"").contains("value=\"13\""));
    assert!(beside(&bad_month, "id=\"first_month\"").contains("role=\"alert\""));
    assert_eq!(app.count("fin_accounts").await, 0);

    let set_up =
        browser.post_form("/finance/accounts", "/finance/setup", &[("template", "cas"), ("year", "2026")]).await;
    assert_eq!(set_up.status, StatusCode::SEE_OTHER, "{}", set_up.body);
    let accounts = app.count("fin_accounts").await;
    let unknown_parent = browser
        .post_form(
            "/finance/accounts",
            "/finance/accounts",
            &[("parent", "1009"), ("code", "100901"), ("name_zh", "招商银行"), ("name_en", "China Merchants Bank")],
        )
        .await;
    assert_eq!(unknown_parent.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown_parent.body);
    assert!(beside(&unknown_parent, "id=\"parent\"").contains("role=\"alert\">科目不存在：1009"));
    assert!(beside(&unknown_parent, "id=\"name_zh\"").contains("value=\"招商银行\""), "the name as typed");
    assert_eq!(app.count("fin_accounts").await, accounts);
}

#[tokio::test]
async fn a_refused_invoice_shows_each_problem_on_its_line_with_the_lines_as_typed() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "宁波海曙文具批发部", "customer").await.to_string();
    let browser = app.signed_in("admin").await;
    let fields = [
        ("party_id", customer.as_str()),
        ("date", "2026-03-15"),
        ("due_date", "2026-03-01"),
        ("vat_rounding", "document"),
        ("memo", "三月订单"),
        ("description", "中性笔（盒）"),
        ("quantity", "40"),
        ("unit_price", "36.00"),
        ("discount", ""),
        ("vat_rate", "13"),
        ("description", "订书机"),
        ("quantity", "十二"),
        ("unit_price", "25.00"),
        ("discount", ""),
        ("vat_rate", "13"),
        ("post", "true"),
    ];
    let refused = browser.post_form("/finance/invoices/new", "/finance/invoices", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(beside(&refused, "id=\"due_date\"").contains("role=\"alert\""), "a due date before the date");
    let lines = refused.body.split("value=\"中性笔（盒）\"").nth(1).unwrap_or_default();
    let (first_line, rest) = lines.split_once("value=\"订书机\"").unwrap_or_default();
    let second_line = rest.split("</tbody>").next().unwrap_or_default();
    assert!(!first_line.contains("line-errors"), "the first line is fine: {first_line}");
    assert!(second_line.contains("value=\"十二\""), "the quantity as typed");
    assert!(second_line.contains("<tr class=\"line-errors\">"), "the refusal on the second line's row: {second_line}");
    assert!(refused.body.contains("<option value=\"document\" selected>"), "rounding per document as chosen");
    assert_eq!(app.count("fin_invoices").await, 0, "nothing stored");
}

#[tokio::test]
async fn refused_forms_on_an_invoice_page_keep_what_was_typed_beside_the_reason() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let customer = party(&api, "温州瓯海五金制品厂", "customer").await;
    let invoice = posted_invoice(
        &api,
        json!({"kind": "customer", "party_id": customer, "date": "2026-03-10",
               "lines": [{"description": "不锈钢合页", "quantity": "500", "unit_price": "12.00", "vat_rate": "13"}]}),
    )
    .await;
    let id = invoice["id"].as_i64().expect("id");
    let page = format!("/finance/invoices/{id}");
    let browser = app.signed_in("admin").await;
    let payments = app.count("fin_payments").await;

    // A receipt typed with two decimal points: refused beside the amount, as typed.
    let receipt = browser
        .post_form(
            &page,
            &format!("{page}/pay"),
            &[
                ("party_id", &customer.to_string()),
                ("date", "2026-03-20"),
                ("amount", "67.80.00"),
                ("bank_account", "1002"),
            ],
        )
        .await;
    assert_eq!(receipt.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", receipt.body);
    let at_amount = beside(&receipt, "id=\"amount\"");
    assert!(at_amount.contains("value=\"67.80.00\"") && at_amount.contains("role=\"alert\""), "{at_amount}");
    assert!(beside(&receipt, "id=\"pdate\"").contains("value=\"2026-03-20\""), "the date as typed");
    assert_eq!(app.count("fin_payments").await, payments);

    // A credit note dated in no calendar: refused beside its date, no note issued.
    let credit = browser.post_form(&page, &format!("{page}/credit-note"), &[("date", "2026-02-30")]).await;
    assert_eq!(credit.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", credit.body);
    let at_date = beside(&credit, "id=\"cdate\"");
    assert!(at_date.contains("value=\"2026-02-30\"") && at_date.contains("日期格式应为 YYYY-MM-DD"), "{at_date}");
    assert_eq!(app.count("fin_invoices").await, 1, "no credit note");
}

#[tokio::test]
async fn an_account_entered_by_mistake_is_deleted_one_with_entries_only_archived() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    for (code, name) in [("100201", "工商银行基本户"), ("100202", "建设银行一般户")] {
        let added =
            api.post("/api/v1/finance/accounts", &json!({"parent": "1002", "code": code, "name_zh": name})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    // Rent paid from the ICBC account; the CCB account was a typo and has nothing on it.
    let rent = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-01-31", "一月房租", &[("6602", "6000.00", ""), ("100201", "", "6000.00")]),
        )
        .await;
    let rent = rent.json()["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/finance/entries/{rent}/post"), &json!({})).await;

    let browser = app.signed_in("admin").await;
    let chart = browser.get("/finance/accounts").await;
    assert!(
        row(&chart, "id=\"account-100202\"").contains("/finance/accounts/100202/delete"),
        "an unused account offers delete"
    );
    assert!(!row(&chart, "id=\"account-100201\"").contains("/delete\""), "one with postings does not");
    let deleted = browser.post_form("/finance/accounts", "/finance/accounts/100202/delete", &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(app.count("fin_accounts WHERE code = '100202'").await, 0);
    assert_eq!(app.count("audit_log WHERE resource = 'finance.account' AND action = 'delete'").await, 1);

    // An account with entries, a parent, and an account the modules post to stay; each says why
    // on its own row, and nothing is deleted.
    let accounts = app.count("fin_accounts").await;
    let used = browser.post_form("/finance/accounts", "/finance/accounts/100201/delete", &[]).await;
    assert_eq!(used.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", used.body);
    assert!(
        row(&used, "id=\"account-100201\"")
            .contains("role=\"alert\">科目 100201 已有凭证或期初数据，不能删除，只能停用"),
        "{}",
        used.body
    );
    let parent = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/1002", None).await;
    assert_eq!(parent.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", parent.body);
    assert_eq!(parent.json()["errors"][0]["code"], "error.finance.delete_parent");
    let receivable = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/1122", None).await;
    assert_eq!(receivable.json()["errors"][0]["code"], "error.finance.delete_role", "{}", receivable.body);
    let revenue = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/6001", None).await;
    assert_eq!(revenue.json()["errors"][0]["code"], "error.finance.delete_role", "{}", revenue.body);
    let unused = api.call(axum::http::Method::DELETE, "/api/v1/finance/accounts/1101", None).await;
    assert_eq!(unused.status, StatusCode::NO_CONTENT, "an unused template account may go: {}", unused.body);
    assert_eq!(app.count("fin_accounts").await, accounts - 1);

    // Archived, the ICBC account takes no postings and shows as archived; restored, it does again.
    let archived = browser.post_form("/finance/accounts", "/finance/accounts/100201/archive", &[]).await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER, "{}", archived.body);
    let chart = browser.get("/finance/accounts").await;
    assert!(row(&chart, "id=\"account-100201\"").contains("已停用"));
    assert!(row(&chart, "id=\"account-100201\"").contains("/finance/accounts/100201/restore"));
    let refused = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-02-28", "二月房租", &[("6602", "6000.00", ""), ("100201", "", "6000.00")]),
        )
        .await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.finance.archived_account", "{}", refused.body);
    let again = api.post("/api/v1/finance/accounts/100201/archive", &json!({})).await;
    assert_eq!(again.json()["errors"][0]["code"], "error.finance.not_active", "{}", again.body);
    let restored = api.post("/api/v1/finance/accounts/100201/restore", &json!({})).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let february = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-02-28", "二月房租", &[("6602", "6000.00", ""), ("100201", "", "6000.00")]),
        )
        .await;
    assert_eq!(february.status, StatusCode::CREATED, "{}", february.body);
    assert_eq!(app.count("audit_log WHERE resource = 'finance.account' AND action = 'state'").await, 2);
}

#[tokio::test]
async fn after_december_the_next_year_is_opened_and_takes_the_carried_profit_forward() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 12})).await;
    // December's only sale: 10,000.00 of consulting received in the bank.
    let sale = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-12-15", "咨询收入", &[("1002", "10000.00", ""), ("6001", "", "10000.00")]),
        )
        .await;
    let sale = sale.json()["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/finance/entries/{sale}/post"), &json!({})).await;
    let closed = api.post("/api/v1/finance/periods/2026-12/close", &json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let january = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2027-01-05", "一月房租", &[("6602", "3000.00", ""), ("1002", "", "3000.00")]),
        )
        .await;
    assert_eq!(january.json()["errors"][0]["code"], "error.finance.period_missing", "{}", january.body);

    let browser = app.signed_in("admin").await;
    let periods = browser.get("/finance/periods").await;
    assert!(periods.body.contains("action=\"/finance/periods/next-year\""), "the periods page offers the next year");
    let opened = browser.post_form("/finance/periods", "/finance/periods/next-year", &[]).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    assert_eq!(app.count("fin_periods WHERE period LIKE '2027-%' AND status = 'open'").await, 12);
    assert_eq!(app.count("audit_log WHERE resource = 'finance.year' AND resource_id = '2027'").await, 1);

    let january = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2027-01-05", "一月房租", &[("6602", "3000.00", ""), ("1002", "", "3000.00")]),
        )
        .await;
    assert_eq!(january.status, StatusCode::CREATED, "{}", january.body);
    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2027-01").await.json();
    let line =
        |key: &str| sheet["lines"].as_array().unwrap().iter().find(|l| l["key"] == key).unwrap()["amount"].clone();
    assert_eq!(line("retained_earnings"), "10000.00", "December's profit, carried to 4104, opens 2027: {sheet}");
    assert_eq!(line("cash"), "10000.00");

    // 2027 is open while it is still 2026: the year after it waits.
    let too_early = api.post("/api/v1/finance/years", &json!({})).await;
    assert_eq!(too_early.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", too_early.body);
    assert_eq!(too_early.json()["errors"][0]["code"], "error.finance.year_ahead");
    let refused = browser.post_form("/finance/periods", "/finance/periods/next-year", &[]).await;
    assert!(refused.body.contains("2027 年度已开启；到 2027 年再开启下一年度"), "beside the button: {}", refused.body);
    assert_eq!(app.count("fin_periods WHERE period LIKE '2028-%'").await, 0);
    // A sales representative may not open a year; nothing is opened.
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let refused = app.api("wang.fang").await.post("/api/v1/finance/years", &json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(app.count("fin_periods WHERE period LIKE '2028-%'").await, 0);
}

#[tokio::test]
async fn a_draft_voucher_is_changed_or_deleted_but_a_posted_one_only_reversed() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    // January's rent entered as 6,000.00, though the lease says 6,500.00; a second draft by mistake.
    let rent = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-01-31", "一月房租", &[("6602", "6000.00", ""), ("1002", "", "6000.00")]),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let twice = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-01-31", "一月房租", &[("6602", "6000.00", ""), ("1002", "", "6000.00")]),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");

    let browser = app.signed_in("admin").await;
    let form = browser.get(&format!("/finance/entries/{rent}/edit")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains("value=\"6000.00\"") && form.body.contains("value=\"一月房租\""),
        "the form holds the draft"
    );
    let edit = format!("/finance/entries/{rent}/edit");
    let unbalanced = browser
        .post_form(
            &edit,
            &edit,
            &[
                ("date", "2026-01-31"),
                ("word", "付"),
                ("memo", "一月房租"),
                ("account", "6602"),
                ("debit", "6500.00"),
                ("credit", ""),
                ("account", "1002"),
                ("debit", ""),
                ("credit", "6000.00"),
            ],
        )
        .await;
    assert_eq!(unbalanced.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unbalanced.body);
    assert!(
        unbalanced.body.contains(&format!("action=\"/finance/entries/{rent}/edit\"")),
        "the same draft's form again"
    );
    let stored = api.get(&format!("/api/v1/finance/entries/{rent}")).await.json();
    assert_eq!(stored["lines"][0]["debit"], "6000.00", "nothing changed: {stored}");
    let changed = browser
        .post_form(
            &edit,
            &edit,
            &[
                ("date", "2026-01-31"),
                ("word", "付"),
                ("memo", "一月房租（按合同）"),
                ("account", "6602"),
                ("debit", "6500.00"),
                ("credit", ""),
                ("account", "1002"),
                ("debit", ""),
                ("credit", "6500.00"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let stored = api.get(&format!("/api/v1/finance/entries/{rent}")).await.json();
    assert_eq!(
        (stored["word"].as_str(), stored["lines"][1]["credit"].as_str()),
        (Some("付"), Some("6500.00")),
        "{stored}"
    );
    assert_eq!(app.count("audit_log WHERE resource = 'finance.entry' AND action = 'update'").await, 1);

    // The duplicate goes; January closes once the rent is posted.
    let deleted =
        browser.post_form(&format!("/finance/entries/{twice}"), &format!("/finance/entries/{twice}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(app.count(&format!("fin_entries WHERE id = {twice}")).await, 0);
    assert_eq!(app.count(&format!("fin_entry_lines WHERE entry_id = {twice}")).await, 0);
    api.post(&format!("/api/v1/finance/entries/{rent}/post"), &json!({})).await;
    assert_eq!(api.post("/api/v1/finance/periods/2026-01/close", &json!({})).await.status, StatusCode::OK);

    // Posted, it is neither changed nor deleted: through the API both are refused.
    let put = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/finance/entries/{rent}"),
            Some(&voucher("2026-01-31", "改", &[("6602", "1.00", ""), ("1002", "", "1.00")])),
        )
        .await;
    assert_eq!(put.status, StatusCode::CONFLICT, "{}", put.body);
    let delete = api.call(axum::http::Method::DELETE, &format!("/api/v1/finance/entries/{rent}"), None).await;
    assert_eq!(delete.status, StatusCode::CONFLICT, "{}", delete.body);
    assert!(
        !browser.get(&format!("/finance/entries/{rent}")).await.body.contains("/delete\""),
        "a posted voucher offers no delete"
    );
}

#[tokio::test]
async fn a_report_asked_for_a_mistyped_or_reversed_range_says_so_beside_the_month() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let browser = app.signed_in("admin").await;

    // March typed as "2026-3a" on the trial balance: the month as typed, the reason beside it,
    // no figures and no download links for figures it did not read.
    let mistyped = browser.get("/finance/reports/trial-balance?from=2026-3a&to=2026-06").await;
    assert_eq!(mistyped.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", mistyped.body);
    let from = beside(&mistyped, "id=\"from\"");
    assert!(from.contains("value=\"2026-3a\""), "{from}");
    assert!(from.contains("role=\"alert\">期间格式应为 YYYY-MM：2026-3a"), "{from}");
    assert!(!beside(&mistyped, "id=\"to\"").contains("role=\"alert\""), "June was read");
    assert!(!mistyped.body.contains("format=csv"), "no download of a report not shown");
    // Both months mistyped: both refused at once. A ledger refused shows no figure at all.
    let both = browser.get("/finance/reports/account?code=6001&from=2026-+1&to=2026-13").await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", both.body);
    assert!(beside(&both, "id=\"from\"").contains("role=\"alert\""), "2026-+1 is no month");
    assert!(beside(&both, "id=\"to\"").contains("role=\"alert\""));
    assert!(!both.body.contains("<table"), "no opening balance of months not read");
    // A download asked for with the same months is refused the same way, not sent empty.
    let download = browser.get("/finance/reports/trial-balance?from=2026-3a&to=2026-06&format=csv").await;
    assert_eq!(download.status, StatusCode::UNPROCESSABLE_ENTITY);

    // June to March, the wrong way round, on the income statement and the account ledger.
    for page in [
        "/finance/reports/income-statement",
        "/finance/reports/account?code=6001&",
        "/finance/reports/statement-line?statement=income-statement&line=selling&project=EXPO-2026&",
    ] {
        let joiner = if page.ends_with('&') { "" } else { "?" };
        let reversed = browser.get(&format!("{page}{joiner}from=2026-06&to=2026-03")).await;
        assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY, "{page}: {}", reversed.body);
        let to = beside(&reversed, "id=\"to\"");
        assert!(to.contains("role=\"alert\">截止期间 2026-03 早于起始期间"), "{page}: {to}");
        assert!(beside(&reversed, "id=\"from\"").contains("value=\"2026-06\""), "{page}");
        if page.contains("statement-line") {
            // The figure's project rides along, so the corrected range opens the same figure.
            assert!(reversed.body.contains("name=\"project\" value=\"EXPO-2026\""), "{}", reversed.body);
        }
    }
    // The API refuses the same range as a problem naming the field.
    let reversed = api.get("/api/v1/finance/reports/trial-balance?from=2026-06&to=2026-03").await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reversed.body);
    assert_eq!(reversed.json()["errors"][0]["field"], "to", "{}", reversed.body);

    // A balance sheet for month 13, ageing on 31 February, vouchers and payments of a mistyped
    // month: each the page again, the reason beside the field.
    let cases = [
        ("/finance/reports/balance-sheet?period=2026-13", "id=\"period\"", "2026-13"),
        ("/finance/reports/ageing?kind=receivable&date=2026-02-31", "id=\"date\"", "2026-02-31"),
        ("/finance/entries?period=26-01", "id=\"period\"", "26-01"),
        ("/finance/payments?kind=receipt&month=2026-1", "id=\"month\"", "2026-1"),
    ];
    for (url, field, typed) in cases {
        let refused = browser.get(url).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {}", refused.body);
        let at = beside(&refused, field);
        assert!(at.contains(&format!("value=\"{typed}\"")) && at.contains("role=\"alert\""), "{url}: {at}");
        // A browser would empty a date or month field holding what is not one: shown as text.
        assert!(!at.contains("type=\"date\"") && !at.contains("type=\"month\""), "{url}: {at}");
        assert!(!refused.body.contains("<table"), "{url}: no figures for what was not read");
    }

    // A customer's statement from July back to January is refused beside its last day.
    let customer = party(&api, "北京远航贸易有限公司", "customer").await;
    let statement = browser
        .get(&format!("/finance/reports/party-statement?party_id={customer}&from=2026-07-01&to=2026-01-31"))
        .await;
    assert_eq!(statement.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", statement.body);
    assert!(beside(&statement, "id=\"to\"").contains("role=\"alert\">截止日期 2026-01-31 早于起始日期"));
    // Months and days of one digit are dates all the same, compared as dates.
    let short =
        browser.get(&format!("/finance/reports/party-statement?party_id={customer}&from=2026-2-1&to=2026-10-01")).await;
    assert_eq!(short.status, StatusCode::OK, "{}", short.body);

    // The same pages with months that read show their figures.
    for url in [
        "/finance/reports/trial-balance?from=2026-03&to=2026-06",
        "/finance/reports/income-statement?from=2026-03&to=2026-06",
        "/finance/reports/balance-sheet?period=2026-06",
        "/finance/reports/ageing?kind=receivable&date=2026-02-28",
    ] {
        let shown = browser.get(url).await;
        assert_eq!(shown.status, StatusCode::OK, "{url}: {}", shown.body);
        assert!(shown.body.contains("format=csv") && !shown.body.contains("role=\"alert\""), "{url}");
    }
}

#[tokio::test]
async fn the_rate_table_page_enters_a_rate_keeps_a_refused_one_as_typed_and_removes_one() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    app.user("zhao.lei", &["buyer"], "", "purchase").await;
    let browser = app.signed_in("chen.jing").await;
    let empty = browser.get("/finance/rates").await;
    assert!(empty.body.contains("The rate table is empty"), "{}", empty.body);

    // A rate typed with a comma for a point is refused beside the field, the date kept.
    let refused = browser
        .post_form("/finance/rates", "/finance/rates", &[("currency", "USD"), ("date", "2026-03-02"), ("rate", "7,12")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(beside(&refused, "id=\"rate\"").contains("A rate is positive"), "{}", refused.body);
    assert!(refused.body.contains("value=\"2026-03-02\""), "{}", refused.body);
    assert_eq!(app.count("fin_exchange_rates").await, 0);

    // Corrected, it is the rate in force from the 2nd, so on the 15th (today).
    let saved = browser
        .post_form("/finance/rates", "/finance/rates", &[("currency", "USD"), ("date", "2026-03-02"), ("rate", "7.12")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = browser.get(&saved.header("location").expect("location")).await;
    let in_force = page.body.split("id=\"rates-in-force\"").nth(1).unwrap_or_default();
    assert!(in_force.contains("<td>USD</td><td class=\"num\">7.12</td><td>2026-03-02</td>"), "{}", page.body);
    assert!(page.body.contains("/finance/rates/USD/2026-03-02/remove"));

    // A buyer reads the table but has no form and no buttons.
    let buyer = app.signed_in("zhao.lei").await.get("/finance/rates").await;
    assert!(buyer.body.contains("7.12") && !buyer.body.contains("/remove"), "{}", buyer.body);
    assert!(!buyer.body.contains("action=\"/finance/rates\" class=\"card"), "{}", buyer.body);

    let removed = browser.post_form("/finance/rates", "/finance/rates/USD/2026-03-02/remove", &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(app.count("fin_exchange_rates").await, 0);
}

#[tokio::test]
async fn an_invoice_line_is_booked_to_the_account_chosen_on_the_form_and_a_wrong_one_is_refused_beside_it() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let tenant = party(&api, "宁波海曙文具批发部", "customer").await.to_string();
    let browser = app.signed_in("admin").await;
    // The form offers the income accounts for a line, main operating revenue when none is chosen.
    let form = browser.get("/finance/invoices/new").await;
    assert!(form.body.contains("<option value=\"6051\">"), "other operating revenue offered: {}", form.body);
    assert!(!form.body.contains("<option value=\"1002\">"), "the bank is no sale's account");
    assert!(form.body.contains("placeholder=\"6001\""), "revenue when left empty");
    // March's rent of a warehouse let to the stationer, 10,000.00 with 9 % VAT, is other
    // operating revenue; typed on the bank's account by mistake, it is refused on its line.
    let fields = |account: &'static str| {
        [
            ("party_id", tenant.as_str()),
            ("date", "2026-03-31"),
            ("due_date", ""),
            ("description", "仓库出租（三月）"),
            ("quantity", "1"),
            ("unit_price", "10000.00"),
            ("discount", ""),
            ("vat_rate", "9"),
            ("account", account),
            ("cost_center", ""),
            ("project", ""),
            ("post", "true"),
        ]
    };
    let refused = browser.post_form("/finance/invoices/new", "/finance/invoices", &fields("1002")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let line = refused.body.split("value=\"仓库出租（三月）\"").nth(1).unwrap_or_default();
    assert!(line.contains("name=\"account\" list=\"line-accounts\" value=\"1002\""), "the account as typed: {line}");
    let errors = line.split("<tr class=\"line-errors\">").nth(1).unwrap_or_default();
    assert!(errors.contains("收入类科目") && errors.contains("1002"), "the reason on the line: {errors}");
    assert_eq!(app.count("fin_invoices").await, 0, "nothing stored");
    let posted = browser.post_form("/finance/invoices/new", "/finance/invoices", &fields("6051")).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.json();
    let credit = |code: &str| {
        tb["items"].as_array().expect("items").iter().find(|r| r["code"] == code).map(|r| r["credit"].clone())
    };
    assert_eq!(credit("6051"), Some(json!("10000.00")), "{tb}");
    assert_eq!(credit("6001").unwrap_or(json!("0.00")), json!("0.00"), "nothing on main revenue: {tb}");
    // The invoice's page shows the account beside the line.
    let invoice = browser.get(posted.header("location").as_deref().unwrap_or_default()).await;
    assert!(invoice.body.contains("title=\"科目\">6051</span>"), "{}", invoice.body);
}

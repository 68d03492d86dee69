//! April's bank statement of a Suzhou trading company, reconciled with what no receipt or
//! payment records: the capital paid in and the wages sent, booked by hand, matched with their
//! vouchers; the bank's fee and the interest it paid, booked from the statement itself.

use crate::invoicing::party;
use crate::ledger::{post, voucher};
use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

/// Imports a statement of the bank (1002) with the columns 日期, 金额 and 摘要, and returns the
/// lines left unmatched, newest first.
pub(crate) async fn imported_lines(api: &ApiClient, csv: &str) -> Vec<Value> {
    let imported = api
        .post(
            "/api/v1/finance/bank-statements",
            &json!({"bank_account": "1002", "csv": csv, "mapping": {"date": "日期", "amount": "金额", "memo": "摘要"}}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    unmatched(api).await
}

async fn unmatched(api: &ApiClient) -> Vec<Value> {
    api.get("/api/v1/finance/bank-lines?unmatched=true").await.json()["items"].as_array().cloned().unwrap_or_default()
}

/// The text of `keys` in each item of a list of the API's answer.
fn fields<const N: usize>(items: &Value, keys: [&str; N]) -> Vec<[String; N]> {
    let items = items.as_array().cloned().unwrap_or_default();
    items.iter().map(|item| keys.map(|k| item[k].as_str().unwrap_or("?").to_string())).collect()
}

fn line_of(lines: &[Value], amount: &str) -> i64 {
    lines.iter().find(|l| l["amount"] == amount).and_then(|l| l["id"].as_i64()).expect("the statement line")
}

/// A voucher's lines as (account, debit, credit).
async fn lines_of(api: &ApiClient, entry: &Value) -> Vec<(String, String, String)> {
    let entry = api.get(&format!("/api/v1/finance/entries/{entry}")).await.json();
    let text = |l: &Value, key: &str| l[key].as_str().unwrap_or("").to_string();
    entry["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (text(l, "account"), text(l, "debit"), text(l, "credit")))
        .collect()
}

fn row(account: &str, debit: &str, credit: &str) -> (String, String, String) {
    (account.into(), debit.into(), credit.into())
}

#[tokio::test]
async fn statement_lines_are_matched_with_vouchers_or_booked_from_the_statement() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let capital =
        post(&api, voucher("2026-04-01", "股东投入资本", &[("1002", "100000.00", ""), ("4001", "", "100000.00")]))
            .await;
    let wages =
        post(&api, voucher("2026-04-10", "发放三月工资", &[("2211", "8000.00", ""), ("1002", "", "8000.00")])).await;
    let csv = "日期,金额,摘要\n2026-04-02,100000.00,投资款\n2026-04-10,-8000.00,代发工资\n2026-04-21,3.20,结息\n2026-04-30,-15.00,手续费\n";
    let lines = imported_lines(&api, csv).await;

    // The wages line is offered the wages voucher, named by its month and number; the capital's
    // voucher moves the other way and another amount, so it is not offered, and is refused.
    let paid_out = line_of(&lines, "-8000.00");
    let offered = api.get(&format!("/api/v1/finance/bank-lines/{paid_out}/suggestions")).await.json();
    assert_eq!(offered["items"].as_array().map(Vec::len), Some(1), "{offered}");
    assert_eq!(
        (offered["items"][0]["entry_id"].clone(), offered["items"][0]["payment_id"].clone()),
        (wages["id"].clone(), Value::Null)
    );
    assert_eq!(offered["items"][0]["number"], "2026-04 记-0002");
    let wrong =
        api.post(&format!("/api/v1/finance/bank-lines/{paid_out}/match"), &json!({"entry_id": capital["id"]})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert_eq!(wrong.json()["errors"][0]["field"], "entry_id");
    for (line, entry) in [(paid_out, &wages), (line_of(&lines, "100000.00"), &capital)] {
        let matched =
            api.post(&format!("/api/v1/finance/bank-lines/{line}/match"), &json!({"entry_id": entry["id"]})).await;
        assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    }
    // A voucher is matched once.
    let twice = api
        .post(
            &format!("/api/v1/finance/bank-lines/{}/match", line_of(&lines, "-15.00")),
            &json!({"entry_id": wages["id"]}),
        )
        .await;
    assert_ne!(twice.status, StatusCode::OK, "{}", twice.body);

    // The fee is booked from the page against 6603 财务费用: Dr 6603, Cr 1002 on its day.
    let fee = line_of(&lines, "-15.00");
    let browser = app.signed_in("admin").await;
    let booked = browser
        .post_form("/finance/bank", &format!("/finance/bank/{fee}/book"), &[("account", "6603"), ("memo", "")])
        .await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let fee_voucher = api.get("/api/v1/finance/bank-lines").await.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|l| l["id"] == fee)
        .map(|l| l["entry_id"].clone())
        .expect("the fee's line");
    assert_eq!(lines_of(&api, &fee_voucher).await, vec![row("6603", "15.00", "0.00"), row("1002", "0.00", "15.00")]);
    let entry = api.get(&format!("/api/v1/finance/entries/{fee_voucher}")).await.json();
    assert_eq!(
        (entry["date"].as_str(), entry["word"].as_str(), entry["memo"].as_str(), entry["kind"].as_str()),
        (Some("2026-04-30"), Some("付"), Some("手续费"), Some("bank"))
    );

    // The interest: an unknown account is refused beside the account, with nothing posted;
    // then booked against 6603 as money in, Dr 1002, Cr 6603.
    let interest = line_of(&lines, "3.20");
    let unknown = browser
        .post_form(
            "/finance/bank",
            &format!("/finance/bank/{interest}/book"),
            &[("account", "6699"), ("memo", "利息收入")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    let at_row = unknown.body.split(&format!("id=\"line-{interest}\"")).nth(1).expect("the line's row");
    let at_row = &at_row[..at_row.find("</tr>").expect("row end")];
    assert!(at_row.contains("role=\"alert\"") && at_row.contains("value=\"6699\""), "{at_row}");
    assert_eq!(app.count("fin_entries WHERE kind = 'bank'").await, 1, "only the fee was booked");
    let api_refused =
        api.post(&format!("/api/v1/finance/bank-lines/{interest}/book"), &json!({"account": "6699"})).await;
    assert_eq!(api_refused.json()["errors"][0]["field"], "account", "{}", api_refused.body);
    let booked = api
        .post(&format!("/api/v1/finance/bank-lines/{interest}/book"), &json!({"account": "6603", "memo": "利息收入"}))
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    assert_eq!(
        lines_of(&api, &booked.json()["entry_id"]).await,
        vec![row("1002", "3.20", "0.00"), row("6603", "0.00", "3.20")]
    );
    assert!(unmatched(&api).await.is_empty(), "the whole statement is reconciled");

    // The fee's match undone: its voucher stays posted and is offered to the line again.
    let undone = browser.post_form("/finance/bank", &format!("/finance/bank/{fee}/unmatch"), &[]).await;
    assert_eq!(undone.status, StatusCode::SEE_OTHER, "{}", undone.body);
    let offered = api.get(&format!("/api/v1/finance/bank-lines/{fee}/suggestions")).await.json();
    assert_eq!(offered["items"][0]["entry_id"], fee_voucher, "{offered}");
    let page = browser.get("/finance/bank").await;
    assert!(page.body.contains(&format!("/finance/entries/{}", wages["id"])), "a matched voucher links to itself");
    let again = browser
        .post_form("/finance/bank", &format!("/finance/bank/{fee}/match"), &[("entry_id", &fee_voucher.to_string())])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let booked_twice = api.post(&format!("/api/v1/finance/bank-lines/{fee}/book"), &json!({"account": "6603"})).await;
    assert_ne!(booked_twice.status, StatusCode::CREATED, "a matched line is not booked again");
    assert_eq!(app.count("fin_entries WHERE kind = 'bank'").await, 2);

    // The interest was booked to the wrong account: its voucher is reversed, which leaves the
    // line open to book again.
    let interest_voucher = booked.json()["entry_id"].clone();
    let reversed =
        api.post(&format!("/api/v1/finance/entries/{interest_voucher}/reverse"), &json!({"date": "2026-04-30"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    assert_eq!(unmatched(&api).await.iter().map(|l| l["id"].as_i64()).collect::<Vec<_>>(), vec![Some(interest)]);
    let rebooked = api
        .post(&format!("/api/v1/finance/bank-lines/{interest}/book"), &json!({"account": "6603", "memo": "利息收入"}))
        .await;
    assert_eq!(rebooked.status, StatusCode::CREATED, "{}", rebooked.body);
}

#[tokio::test]
async fn a_transfer_between_two_accounts_is_matched_on_both_statements() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    post(&api, voucher("2026-04-01", "股东投入资本", &[("1002", "100000.00", ""), ("4001", "", "100000.00")])).await;
    // 20,000.00 moved to the deposit account kept with the bank for letters of credit (1012).
    let moved =
        post(&api, voucher("2026-04-08", "存入信用证保证金", &[("1012", "20000.00", ""), ("1002", "", "20000.00")]))
            .await;
    for (account, amount) in [("1002", "-20000.00"), ("1012", "20000.00")] {
        let csv = format!("2026-04-08,{amount},转账\n");
        let imported = api
            .post(
                "/api/v1/finance/bank-statements",
                &json!({"bank_account": account, "csv": csv, "mapping": {"date": "1", "amount": "2", "memo": "3", "has_header": false}}),
            )
            .await;
        assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    }
    for line in unmatched(&api).await {
        let offered = api.get(&format!("/api/v1/finance/bank-lines/{}/suggestions", line["id"])).await.json();
        assert_eq!(offered["items"][0]["entry_id"], moved["id"], "{line}: {offered}");
        let matched = api
            .post(&format!("/api/v1/finance/bank-lines/{}/match", line["id"]), &json!({"entry_id": moved["id"]}))
            .await;
        assert_eq!(matched.status, StatusCode::OK, "{line}: {}", matched.body);
    }
    assert!(unmatched(&api).await.is_empty());
}

/// What the page offers each line, read for all its lines at once, as (payment or voucher id).
async fn offered_at_once(app: &testkit::TestApp, lines: &[Value]) -> Vec<Vec<i64>> {
    let mut conn = app.db.read_conn().await.expect("conn");
    let company = app.company_id;
    let mut read = Vec::new();
    for line in lines {
        let id = line["id"].as_i64().expect("id");
        read.push(finance::bank::line(&mut conn, company, id).await.expect("line"));
    }
    finance::bank::suggestions_for(&mut conn, company, &read)
        .await
        .expect("suggestions")
        .iter()
        .map(|found| found.iter().map(|s| s.payment_id.or(s.entry_id).unwrap_or(0)).collect())
        .collect()
}

#[tokio::test]
async fn two_months_of_statement_lines_are_each_offered_only_their_own_matches_when_read_at_once() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let huaxin = party(&api, "北京华信科技有限公司", "customer").await;
    let mingde = party(&api, "上海明德贸易有限公司", "customer").await;
    let xinyuan = party(&api, "杭州新元电子有限公司", "supplier").await;
    let pay = async |kind: &str, party: i64, date: &str, amount: &str| -> i64 {
        let made = api
            .post("/api/v1/finance/payments", &json!({"kind": kind, "party_id": party, "date": date, "amount": amount}))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        made.json()["id"].as_i64().expect("payment")
    };
    // Two customers each pay 5,000.00 in early April, one of them again in late May; a supplier
    // is paid 2,000.00; April's and May's wages, 8,000.00 each, are sent by hand vouchers.
    let huaxin_april = pay("receipt", huaxin, "2026-04-03", "5000.00").await;
    let mingde_april = pay("receipt", mingde, "2026-04-05", "5000.00").await;
    let huaxin_may = pay("receipt", huaxin, "2026-05-20", "5000.00").await;
    let supplier = pay("payment", xinyuan, "2026-04-08", "2000.00").await;
    let wages = async |date: &str| -> i64 {
        let posted = post(&api, voucher(date, "发放工资", &[("2211", "8000.00", ""), ("1002", "", "8000.00")])).await;
        posted["id"].as_i64().expect("voucher")
    };
    let (april_wages, may_wages) = (wages("2026-04-10").await, wages("2026-05-10").await);

    let csv = "日期,金额,对方户名\n2026-04-04,5000.00,上海明德贸易有限公司\n2026-04-09,-2000.00,杭州新元电子有限公司\n\
               2026-04-10,-8000.00,\n2026-04-30,-15.00,\n2026-05-11,-8000.00,\n2026-05-21,5000.00,北京华信科技有限公司\n";
    let imported = api
        .post(
            "/api/v1/finance/bank-statements",
            &json!({"bank_account": "1002", "csv": csv, "mapping": {"date": "日期", "amount": "金额", "counterparty": "对方户名"}}),
        )
        .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    let mut lines = unmatched(&api).await;
    lines.sort_by_key(|l| l["date"].as_str().unwrap_or("").to_string());

    // Read together, the lines span seven weeks and two amounts of each kind, yet each is
    // offered only what lies within its own ten days: the early-April receipt both April
    // receipts, the customer it names first; the May receipt only May's; each month's wages
    // line only its own month's voucher; the fee nothing.
    let expected = vec![
        vec![mingde_april, huaxin_april],
        vec![supplier],
        vec![april_wages],
        vec![],
        vec![may_wages],
        vec![huaxin_may],
    ];
    assert_eq!(offered_at_once(&app, &lines).await, expected);
    // Each line asked alone through the API is offered the same.
    for (line, expected) in lines.iter().zip(&expected) {
        let offered = api.get(&format!("/api/v1/finance/bank-lines/{}/suggestions", line["id"])).await.json();
        let ids: Vec<i64> = offered["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| s["payment_id"].as_i64().or(s["entry_id"].as_i64()).unwrap_or(0))
            .collect();
        assert_eq!(&ids, expected, "{line}");
    }
    // Once April's wages are matched, May's line is still offered only May's voucher, and the
    // page shows every suggestion beside its line.
    let matched = api
        .post(&format!("/api/v1/finance/bank-lines/{}/match", lines[2]["id"]), &json!({"entry_id": april_wages}))
        .await;
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    assert_eq!(offered_at_once(&app, &lines[4..5]).await, vec![vec![may_wages]]);
    let page = app.signed_in("admin").await.get("/finance/bank").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2026-05 记-0001"), "May's wages voucher is offered on the page");
}

#[tokio::test]
async fn the_cashier_reads_the_bank_journal_day_by_day_with_each_days_totals() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    app.user("wu.xia", &["cashier"], "", "finance").await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    for (date, memo, debit, credit, amount) in [
        ("2026-03-20", "股东投入资本", "1002", "4001", "50000.00"),
        ("2026-04-01", "提取备用金", "1001", "1002", "2000.00"),
        ("2026-04-03", "支付货款", "2202", "1002", "8000.00"),
        ("2026-04-10", "发放三月工资", "2211", "1002", "30000.00"),
        ("2026-04-10", "银行手续费", "6603", "1002", "15.00"),
        ("2026-04-12", "收回货款", "1002", "1122", "11300.00"),
    ] {
        post(&api, voucher(date, memo, &[(debit, amount, ""), (credit, "", amount)])).await;
    }

    // From the 3rd to the 10th of April: the balance before is March's capital less the
    // petty cash drawn on the 1st; the 10th has two payments and its total.
    let cashier = app.api("wu.xia").await;
    let read = cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-03&to=2026-04-10").await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let journal = read.json();
    assert_eq!(journal["opening"], "48000.00");
    let april = &journal["months"][0];
    assert_eq!(
        fields(&april["days"], ["date", "paid", "balance"]),
        [["2026-04-03", "8000.00", "40000.00"], ["2026-04-10", "30015.00", "9985.00"]]
    );
    let tenth = &april["days"][1]["lines"];
    assert_eq!(
        (tenth[0]["memo"].as_str(), tenth[0]["counter_accounts"].clone()),
        (Some("发放三月工资"), json!(["2211"]))
    );
    assert_eq!((tenth[1]["balance"].as_str(), tenth[1]["number"].as_str()), (Some("9985.00"), Some("记-0004")));
    assert_eq!(
        (journal["paid"].as_str(), journal["received"].as_str(), journal["closing"].as_str()),
        (Some("38015.00"), Some("0.00"), Some("9985.00"))
    );
    // April's total counts the petty cash drawn on the 1st too, before the range; the year to
    // date adds March's capital.
    let totals = |m: &Value| {
        ["received", "paid", "year_received", "year_paid"].map(|k| m[k].as_str().unwrap_or("?").to_string())
    };
    assert_eq!(totals(april), ["0.00", "40015.00", "50000.00", "40015.00"]);

    // Refused beside the field: an expense account, and a range that ends before it starts.
    let wrong = cashier.get("/api/v1/finance/reports/cash-journal?account=6603&from=2026-04-01&to=2026-04-30").await;
    assert_eq!(
        (wrong.status, wrong.json()["errors"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("account"))
    );
    let reversed = cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-30&to=2026-04-01").await;
    assert_eq!(reversed.json()["errors"][0]["field"], "to", "{}", reversed.body);
    // A sales rep keeps no journal.
    let rep = app.api("wang.fang").await.get("/api/v1/finance/reports/cash-journal?account=1002").await;
    assert_eq!(rep.status, StatusCode::FORBIDDEN, "{}", rep.body);

    // The page: the day's totals, and the same in the download; the cash journal of April
    // holds the petty cash drawn.
    let browser = app.signed_in("wu.xia").await;
    let page = browser.get("/finance/reports/cash-journal?account=1002&from=2026-04-03&to=2026-04-10").await;
    assert!(
        page.body.contains("Day&#39;s total") || page.body.contains("Day's total") || page.body.contains("本日合计"),
        "{}",
        page.body
    );
    assert!(page.body.contains("30,015.00") && page.body.contains("9,985.00"), "{}", page.body);
    assert!(page.body.contains("Bank journal"), "titled as the bank's");
    let csv = browser.get("/finance/reports/cash-journal?account=1002&from=2026-04-03&to=2026-04-10&format=csv").await;
    assert!(csv.body.contains("30015.00") && csv.body.contains("2211"), "{}", csv.body);
    let cash =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1001&from=2026-04-01&to=2026-04-30").await.json();
    assert_eq!((cash["received"].as_str(), cash["closing"].as_str()), (Some("2000.00"), Some("2000.00")));
    // A receipt the bank paid net of its fee: the counter account of the money in is the
    // customer's receivable, not the fee on the same side.
    post(
        &api,
        voucher(
            "2026-04-15",
            "收回货款（扣手续费）",
            &[("1002", "11285.00", ""), ("6603", "15.00", ""), ("1122", "", "11300.00")],
        ),
    )
    .await;
    let net =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-15&to=2026-04-15").await.json();
    assert_eq!(net["months"][0]["days"][0]["lines"][0]["counter_accounts"], json!(["1122"]), "{net}");
    // Dollars received into the bank: the journal shows them beside the yuan.
    let dollars = json!({"date": "2026-04-20", "word": "收", "memo": "收到美元货款", "lines": [
        {"account": "1002", "debit": "7100.00", "credit": "", "currency": "USD", "foreign_amount": "1000.00", "rate": "7.1"},
        {"account": "1122", "debit": "", "credit": "7100.00"},
    ]});
    post(&api, dollars).await;
    let usd =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-20&to=2026-04-20").await.json();
    assert_eq!(
        usd["months"][0]["days"][0]["lines"][0]["foreign"],
        json!({"currency": "USD", "amount": "1000.00", "rate": "7.1"}),
        "{usd}"
    );
    let usd_page = browser.get("/finance/reports/cash-journal?account=1002&from=2026-04-20&to=2026-04-20").await;
    assert!(usd_page.body.contains("USD 1,000.00 @ 7.1"), "{}", usd_page.body);
    let titled = browser.get("/finance/reports/cash-journal?account=1001&from=2026-04-01&to=2026-04-30").await;
    assert!(titled.body.contains("Cash journal") || titled.body.contains("现金日记账"), "{}", titled.body);

    // From February, which moved nothing: it still closes with its totals and the balance it
    // carried, before March's capital.
    let quarter =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-02-01&to=2026-04-30").await.json();
    assert_eq!(
        fields(&quarter["months"], ["month", "year_received", "balance"])[..2],
        [["2026-02", "0.00", "0.00"], ["2026-03", "50000.00", "50000.00"]]
    );
    assert_eq!(quarter["months"][0]["days"], json!([]));

    // Two accounts under 其他货币资金: 5,000.00 moved from the bank draft deposit to the
    // out-of-town deposit shows in the parent's journal in and out, each line naming the
    // other sub-account as its counter account.
    for (code, name) in [("101201", "银行汇票存款"), ("101202", "外埠存款")] {
        let made =
            api.post("/api/v1/finance/accounts", &json!({"parent": "1012", "code": code, "name_zh": name})).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    }
    post(&api, voucher("2026-04-21", "办理银行汇票", &[("101201", "6000.00", ""), ("1002", "", "6000.00")])).await;
    post(&api, voucher("2026-04-22", "汇票转外埠存款", &[("101202", "5000.00", ""), ("101201", "", "5000.00")])).await;
    let funds =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1012&from=2026-04-22&to=2026-04-22").await.json();
    let counters: Vec<Value> = funds["months"][0]["days"][0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["counter_accounts"].clone())
        .collect();
    assert_eq!(counters, vec![json!(["101201"]), json!(["101202"])], "{funds}");

    // Read in pages of three lines, April ends its first page with the 3rd: the 10th's two
    // lines would not fit whole, so the next page starts with the 10th. A page of one line
    // cannot hold the 10th, and a page of no lines is refused beside the field.
    let paged = cashier
        .get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-01&to=2026-04-30&lines=3")
        .await
        .json();
    assert_eq!(
        (paged["to"].as_str(), paged["continues_from"].as_str(), paged["closing"].as_str()),
        (Some("2026-04-03"), Some("2026-04-10"), Some("40000.00")),
        "{paged}"
    );
    let next = cashier
        .get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-10&to=2026-04-30&lines=3")
        .await
        .json();
    assert_eq!((next["opening"].as_str(), next["continues_from"].as_str()), (Some("40000.00"), Some("2026-04-15")));
    let page = browser.get("/finance/reports/cash-journal?account=1002&from=2026-04-01&to=2026-04-30&lines=3").await;
    let link = page.body.split("id=\"journal-next\"").nth(1).expect("the next page's link");
    assert!(link.contains("from=2026-04-10&amp;to=2026-04-30"), "{link}");
    let one =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-10&to=2026-04-10&lines=1").await;
    assert_eq!(one.json()["errors"][0]["code"], "error.finance.journal_too_long", "{}", one.body);
    let none =
        cashier.get("/api/v1/finance/reports/cash-journal?account=1002&from=2026-04-10&to=2026-04-10&lines=0").await;
    assert_eq!(none.json()["errors"][0]["field"], "lines", "{}", none.body);

    // The journal is on the menu of the cashier and of the auditor, who reads reports, once.
    app.user("zhao.min", &["auditor"], "", "finance").await;
    for login in ["wu.xia", "zhao.min"] {
        let home = app.signed_in(login).await.get("/finance/reports/cash-journal?account=1002").await;
        assert_eq!(home.body.matches("href=\"/finance/reports/cash-journal\"").count(), 1, "{login}: {}", home.body);
    }
}

#[tokio::test]
async fn the_cashiers_draft_from_a_statement_line_is_matched_when_posted_unless_it_was_changed() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    app.user("wu.xia", &["cashier"], "", "finance").await;
    let cashier = app.api("wu.xia").await;
    let csv = "日期,金额,摘要\n2026-04-30,-30.00,网银年费\n2026-04-30,-12.00,回单箱费\n";
    let lines = imported_lines(&api, csv).await;
    let (yearly, box_fee) = (line_of(&lines, "-30.00"), line_of(&lines, "-12.00"));

    // The cashier may not post, so each booking is a draft the list shows waiting; the
    // accountant posts the first as it is, and it is matched with its line.
    let mut drafts = Vec::new();
    for line in [yearly, box_fee] {
        let booked =
            cashier.post(&format!("/api/v1/finance/bank-lines/{line}/book"), &json!({"account": "6603"})).await;
        assert_eq!(booked.json()["status"], "draft", "{}", booked.body);
        drafts.push(booked.json()["entry_id"].as_i64().expect("the draft"));
    }
    let waiting: Vec<Value> = unmatched(&api).await.iter().map(|l| l["waiting_draft"].clone()).collect();
    assert_eq!(waiting, vec![json!(drafts[1]), json!(drafts[0])], "newest first");
    let posted = api.post(&format!("/api/v1/finance/entries/{}/post", drafts[0]), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(app.count(&format!("fin_bank_lines WHERE id = {yearly} AND entry_id = {}", drafts[0])).await, 1);

    // The second draft is changed to 10.00 before posting: it no longer moves the line's
    // 12.00, so posting it leaves the line open, free to be booked or matched again.
    let changed = voucher("2026-04-30", "回单箱费", &[("6603", "10.00", ""), ("1002", "", "10.00")]);
    let put =
        cashier.call(axum::http::Method::PUT, &format!("/api/v1/finance/entries/{}", drafts[1]), Some(&changed)).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    api.post(&format!("/api/v1/finance/entries/{}/post", drafts[1]), &json!({})).await;
    let open = unmatched(&api).await;
    assert_eq!(open.len(), 1);
    assert_eq!((open[0]["id"].as_i64(), open[0]["waiting_draft"].clone()), (Some(box_fee), Value::Null));
    let booked = api.post(&format!("/api/v1/finance/bank-lines/{box_fee}/book"), &json!({"account": "6603"})).await;
    assert_eq!(booked.json()["status"], "posted", "{}", booked.body);
}

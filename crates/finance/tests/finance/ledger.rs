//! The ledger as an accountant uses it: a month of a small trading company, closed and
//! reported; the rules that refuse bad vouchers; numbers under concurrency; and property
//! tests that no sequence of postings, reversals and closes can unbalance the books.

use axum::http::StatusCode;
use db::{Actor, RowExt};
use finance::dimensions::Dimension;
use finance::domain::{EntryForm, LineForm};
use finance::service;
use kernel::ids::{CompanyId, UserId};
use kernel::permission::Principal;
use kernel::Scope;
use proptest::prelude::*;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient};

pub(crate) fn voucher(date: &str, memo: &str, lines: &[(&str, &str, &str)]) -> Value {
    json!({
        "date": date,
        "word": "记",
        "memo": memo,
        "lines": lines.iter().map(|(account, debit, credit)| json!({"account": account, "debit": debit, "credit": credit})).collect::<Vec<_>>(),
    })
}

pub(crate) async fn post(api: &ApiClient, body: Value) -> Value {
    let draft = api.post("/api/v1/finance/entries", &body).await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let id = draft.json()["id"].as_i64().expect("id");
    let posted = api.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    posted.json()
}

pub(crate) fn line<'a>(statement: &'a Value, key: &str) -> &'a str {
    statement["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["key"] == key)
        .and_then(|l| l["amount"].as_str())
        .unwrap_or("missing")
}

#[tokio::test]
async fn a_month_of_a_small_trading_company_closes_and_its_statements_tie_out() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let api = app.api("chen.jing").await;
    // The company starts its books in March.
    assert_eq!(
        api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 3})).await.status,
        StatusCode::CREATED
    );

    let first =
        post(&api, voucher("2026-03-01", "股东投入资本", &[("1002", "500000.00", ""), ("4001", "", "500000.00")]))
            .await;
    assert_eq!(first["number"], "记-0001");
    post(
        &api,
        voucher(
            "2026-03-05",
            "采购商品，取得专用发票",
            &[("1405", "100000.00", ""), ("22210101", "13000.00", ""), ("2202", "", "113000.00")],
        ),
    )
    .await;
    post(
        &api,
        voucher(
            "2026-03-12",
            "销售商品，开具专用发票",
            &[("1122", "169500.00", ""), ("6001", "", "150000.00"), ("22210102", "", "19500.00")],
        ),
    )
    .await;
    post(&api, voucher("2026-03-12", "结转销售成本", &[("6401", "90000.00", ""), ("1405", "", "90000.00")])).await;
    post(&api, voucher("2026-03-20", "收到部分货款", &[("1002", "100000.00", ""), ("1122", "", "100000.00")])).await;
    post(
        &api,
        voucher(
            "2026-03-31",
            "计提本月工资",
            &[("6602", "30000.00", ""), ("6601", "12000.00", ""), ("2211", "", "42000.00")],
        ),
    )
    .await;
    let fee = post(&api, voucher("2026-03-31", "银行手续费", &[("6603", "50.00", ""), ("1002", "", "50.00")])).await;
    assert_eq!(fee["number"], "记-0007", "gapless per word and period");

    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.json();
    assert_eq!(tb["totals"]["debit"], "1014550.00");
    assert_eq!(tb["totals"]["credit"], "1014550.00");
    assert_eq!(tb["totals"]["closing"], "0.00");

    let before_close = api.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
    assert_eq!(
        line(&before_close, "retained_earnings"),
        "17950.00",
        "profit of the open month is in retained earnings"
    );
    assert_eq!(line(&before_close, "total_assets"), line(&before_close, "total_liabilities_and_equity"));

    let closed = api.post("/api/v1/finance/periods/2026-03/close", &json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.json()["closing_entry"], "转-0001");

    let sheet = api.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.json();
    for (key, amount) in [
        ("cash", "599950.00"),
        ("receivables", "69500.00"),
        ("inventories", "10000.00"),
        ("current_assets", "679450.00"),
        ("total_assets", "679450.00"),
        ("payables", "113000.00"),
        ("payroll", "42000.00"),
        ("taxes", "6500.00"),
        ("total_liabilities", "161500.00"),
        ("paid_in_capital", "500000.00"),
        ("retained_earnings", "17950.00"),
        ("total_equity", "517950.00"),
        ("total_liabilities_and_equity", "679450.00"),
    ] {
        assert_eq!(line(&sheet, key), amount, "balance sheet line {key}");
    }
    let income = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03").await.json();
    for (key, amount) in [
        ("revenue", "150000.00"),
        ("cost_of_sales", "90000.00"),
        ("selling", "12000.00"),
        ("administrative", "30000.00"),
        ("financial", "50.00"),
        ("operating_profit", "17950.00"),
        ("profit_before_tax", "17950.00"),
        ("net_profit", "17950.00"),
    ] {
        assert_eq!(line(&income, key), amount, "income statement line {key}");
    }

    // The closed month takes no more postings, and only the accountant with the grant reopens it.
    let late = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-31", "补记", &[("6603", "10.00", ""), ("1002", "", "10.00")]),
        )
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late.json()["errors"][0]["code"], "error.finance.period_closed");
    assert_eq!(api.post("/api/v1/finance/periods/2026-03/reopen", &json!({})).await.status, StatusCode::FORBIDDEN);
    let admin = app.api("admin").await;
    assert_eq!(admin.post("/api/v1/finance/periods/2026-03/reopen", &json!({})).await.status, StatusCode::OK);
    let audit = admin.get("/api/v1/audit?resource=finance.period").await.json();
    assert_eq!(audit["items"][0]["changes"]["status"], json!(["closed", "open"]));
}

#[tokio::test]
async fn bad_vouchers_are_refused_with_the_reason_and_change_nothing() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let unbalanced = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-02", "试算", &[("1002", "100.00", ""), ("4001", "", "99.50")]),
        )
        .await;
    assert_eq!(unbalanced.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = unbalanced.json();
    assert_eq!(problem["errors"][0]["code"], "error.finance.unbalanced");
    assert!(problem["errors"][0]["message"].as_str().unwrap_or_default().contains("Δ 0.50"));
    let float = api
        .post("/api/v1/finance/entries", &voucher("2026-03-02", "x", &[("1002", "0.001", ""), ("4001", "", "0.001")]))
        .await;
    assert_eq!(float.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = api
        .post("/api/v1/finance/entries", &voucher("2026-03-02", "x", &[("9999", "1.00", ""), ("4001", "", "1.00")]))
        .await;
    assert_eq!(unknown.json()["errors"][0]["code"], "error.finance.unknown_account");
    let parent = api
        .post("/api/v1/finance/entries", &voucher("2026-03-02", "x", &[("2221", "1.00", ""), ("1002", "", "1.00")]))
        .await;
    assert_eq!(
        parent.json()["errors"][0]["code"],
        "error.finance.parent_account",
        "post to 222101's leaves, not to 2221"
    );
    let no_period = api
        .post("/api/v1/finance/entries", &voucher("2031-01-02", "x", &[("1002", "1.00", ""), ("4001", "", "1.00")]))
        .await;
    assert_eq!(no_period.json()["errors"][0]["code"], "error.finance.period_missing");
    assert_eq!(app.count("fin_entries").await, 0);
    assert_eq!(app.count("fin_balances").await, 0);

    // A sub-account, then archiving it: it keeps its history and takes no new postings.
    let sub = api
        .post(
            "/api/v1/finance/accounts",
            &json!({"parent": "1002", "code": "100201", "name_zh": "工商银行基本户", "name_en": "ICBC basic account"}),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.body);
    let bad_sub =
        api.post("/api/v1/finance/accounts", &json!({"parent": "1002", "code": "2002", "name_zh": "x"})).await;
    assert_eq!(bad_sub.json()["errors"][0]["code"], "error.finance.sub_code");
    let parent_now = api
        .post("/api/v1/finance/entries", &voucher("2026-03-02", "x", &[("1002", "1.00", ""), ("4001", "", "1.00")]))
        .await;
    assert_eq!(parent_now.json()["errors"][0]["code"], "error.finance.parent_account");
    let mut tx = app.db.begin(Actor::user(1, "admin", app.company_id)).await.expect("begin");
    let principal = admin_principal(app.company_id);
    service::archive_account(&mut tx, &principal, "100201").await.expect("archive");
    tx.commit().await.expect("commit");
    let archived = api
        .post("/api/v1/finance/entries", &voucher("2026-03-02", "x", &[("100201", "1.00", ""), ("4001", "", "1.00")]))
        .await;
    assert_eq!(archived.json()["errors"][0]["code"], "error.finance.archived_account");
}

pub(crate) fn admin_principal(company: i64) -> Principal {
    Principal::new(UserId(1), "admin".into(), CompanyId(company), None, None, true, Vec::new())
}

/// Sets up the company's books on the CAS chart with the twelve months of 2026 open, and
/// returns the administrator who did it.
async fn cas_books_for_2026(app: &testkit::TestApp) -> Principal {
    let principal = admin_principal(app.company_id);
    let mut tx = app.db.begin(Actor::user(1, "admin", app.company_id)).await.expect("begin");
    service::set_up_books(&mut tx, &principal, finance::chart::Template::Cas, 2026, 1).await.expect("books");
    tx.commit().await.expect("commit");
    principal
}

#[tokio::test]
async fn a_reversal_restores_every_balance_and_cannot_be_repeated() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let posted =
        post(&api, voucher("2026-03-10", "预付货款", &[("1123", "8000.00", ""), ("1002", "", "8000.00")])).await;
    let id = posted["id"].as_i64().expect("id");
    let reversed = api.post(&format!("/api/v1/finance/entries/{id}/reverse"), &json!({"date": "2026-04-02"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    let reversal = reversed.json();
    assert_eq!(reversal["lines"][0]["debit"], "-8000.00", "red ink: the same side, negated");
    assert_eq!(reversal["number"], "记-0001", "numbered in April");
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-01&to=2026-04").await.json();
    assert!(tb["items"].as_array().expect("items").iter().all(|r| r["closing"] == "0.00"), "{tb}");
    assert_eq!(
        api.post(&format!("/api/v1/finance/entries/{id}/reverse"), &json!({"date": "2026-04-03"})).await.status,
        StatusCode::CONFLICT
    );
    let original = api.get(&format!("/api/v1/finance/entries/{id}")).await.json();
    assert_eq!(original["reversed_by"], reversal["id"]);
    assert_eq!(original["lines"], posted["lines"], "the posted entry itself never changed");
}

#[tokio::test]
async fn the_ledger_permissions_allow_and_deny() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    app.user("sun.li", &["auditor"], "", "audit").await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let accountant = app.api("chen.jing").await;
    accountant.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    post(&accountant, voucher("2026-03-01", "投资", &[("1002", "1000.00", ""), ("4001", "", "1000.00")])).await;
    let auditor = app.api("sun.li").await;
    assert_eq!(
        auditor.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.status,
        StatusCode::OK
    );
    assert_eq!(
        auditor
            .post("/api/v1/finance/entries", &voucher("2026-03-01", "x", &[("1002", "1.00", ""), ("4001", "", "1.00")]))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(auditor.post("/api/v1/finance/periods/2026-03/close", &json!({})).await.status, StatusCode::FORBIDDEN);
    let rep = app.api("wang.fang").await;
    assert_eq!(rep.get("/api/v1/finance/accounts").await.status, StatusCode::FORBIDDEN);
    assert_eq!(rep.get("/api/v1/finance/reports/balance-sheet?period=2026-03").await.status, StatusCode::FORBIDDEN);
    let browser = app.signed_in("wang.fang").await;
    assert_eq!(browser.get("/finance/entries").await.status, StatusCode::FORBIDDEN);
    assert!(!browser.get("/").await.body.contains("/finance/"), "no finance menu for a sales rep");
    let accountant_pages = app.signed_in("chen.jing").await;
    for path in [
        "/finance/entries?period=2026-03",
        "/finance/accounts",
        "/finance/reports/trial-balance?from=2026-03&to=2026-03",
        "/finance/reports/balance-sheet?period=2026-03",
        "/finance/reports/income-statement?from=2026-03&to=2026-03",
        "/finance/periods",
        "/finance/entries/new",
    ] {
        let page = accountant_pages.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
    }
    let sheet = accountant_pages.get("/finance/reports/balance-sheet?period=2026-03").await;
    assert!(sheet.body.contains("资产总计") || sheet.body.contains("Total assets"));
    assert!(sheet.body.contains("1,000.00"));
}

#[tokio::test]
async fn a_voucher_entered_in_the_browser_is_posted_and_shown() {
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let browser = app.signed_in("chen.jing").await;
    let setup = browser.post_form("/finance/accounts", "/finance/setup", &[("year", "2026")]).await;
    assert_eq!(setup.status, StatusCode::SEE_OTHER, "{}", setup.body);
    let centre = browser
        .post_form(
            "/finance/dimensions/cost_center",
            "/finance/dimensions/cost_center",
            &[("code", "行政部"), ("name", "行政部")],
        )
        .await;
    assert_eq!(centre.status, StatusCode::SEE_OTHER, "{}", centre.body);
    let fields = [
        ("date", "2026-03-15"),
        ("word", "付"),
        ("memo", "支付房租"),
        ("account", "6602"),
        ("debit", "6000.00"),
        ("credit", ""),
        ("cost_center", "行政部"),
        ("project", ""),
        ("line_memo", "三月房租"),
        ("account", "1002"),
        ("debit", ""),
        ("credit", "6000.00"),
        ("cost_center", ""),
        ("project", ""),
        ("line_memo", ""),
        ("post", "true"),
    ];
    let unbalanced: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| if *v == "6000.00" && *k == "credit" { (*k, "5000.00") } else { (*k, *v) })
        .collect();
    let refused = browser.post_form("/finance/entries/new", "/finance/entries", &unbalanced).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let under_lines = refused.body.split("</table>").nth(1).unwrap_or_default();
    assert!(
        under_lines.contains("role=\"alert\">")
            && (under_lines.contains("Δ 1,000.00") || under_lines.contains("Δ 1000.00")),
        "the difference stands under the lines: {}",
        refused.body
    );
    assert!(refused.body.contains("value=\"5000.00\""), "the lines as typed");
    let saved = browser.post_form("/finance/entries/new", "/finance/entries", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = browser.get(&saved.header("location").expect("location")).await;
    assert!(page.body.contains("付-0001") && page.body.contains("6,000.00") && page.body.contains("行政部"));
    let balance: i64 =
        sqlx::query("SELECT CAST(SUM(debit) AS BIGINT) AS d FROM fin_balances WHERE cost_center = '行政部'")
            .fetch_one(app.db.reader())
            .await
            .expect("row")
            .try_get("d")
            .expect("d");
    assert_eq!(balance, 600_000, "the cost centre carries the amount in fen");

    // April's rent is March's voucher copied (复制凭证): the form comes filled with its word,
    // memo and lines, dated today, and saves a new draft; March's voucher stays as it was.
    let posted = saved.header("location").expect("location");
    let copy = format!("/finance/entries/new?copy={}", &posted["/finance/entries/".len()..]);
    let copied = browser.get(&copy).await;
    assert_eq!(copied.status, StatusCode::OK, "{}", copied.body);
    for shown in ["value=\"6000.00\"", "value=\"6602\"", "value=\"行政部\"", "value=\"2026-03-15\""] {
        assert!(copied.body.contains(shown), "{shown} in {}", copied.body);
    }
    let april: Vec<(&str, &str)> =
        fields.iter().map(|(k, v)| if *k == "date" { (*k, "2026-04-01") } else { (*k, *v) }).collect();
    let again = browser.post_form(&copy, "/finance/entries", &april).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(app.count("fin_entries WHERE memo = '支付房租' AND status = 'posted'").await, 2);
    assert_eq!(app.count("fin_entries WHERE memo = '支付房租' AND period = '2026-04'").await, 1);
}

#[tokio::test]
async fn concurrent_postings_get_gapless_distinct_voucher_numbers() {
    let app = spawn_app().await;
    let principal = cas_books_for_2026(&app).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = app.db.clone();
        let principal = principal.clone();
        tasks.push(tokio::spawn(async move {
            let form = EntryForm {
                date: "2026-03-09".into(),
                word: "收".into(),
                memo: format!("收款 {i}"),
                lines: vec![
                    LineForm { account: "1002".into(), debit: format!("{}.00", 100 + i), ..Default::default() },
                    LineForm { account: "1122".into(), credit: format!("{}.00", 100 + i), ..Default::default() },
                ],
            };
            let mut tx = db.begin(Actor::user(1, "admin", principal.company_id.0)).await.expect("begin");
            let (_, number) = service::post(&mut tx, &principal, &form).await.expect("post");
            tx.commit().await.expect("commit");
            number
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.expect("task"));
    }
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("收-{n:04}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn a_month_closed_while_vouchers_are_posted_carries_every_voucher_that_got_in() {
    let app = spawn_app().await;
    let principal = cas_books_for_2026(&app).await;
    // Twelve sales of 100.00 booked into January while the accountant closes January.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let db = app.db.clone();
        let seller = principal.clone();
        tasks.push(tokio::spawn(async move {
            let form = EntryForm {
                date: "2026-01-20".into(),
                word: "转".into(),
                memo: format!("销售 {i}"),
                lines: vec![
                    LineForm { account: "1122".into(), debit: "100.00".into(), ..Default::default() },
                    LineForm { account: "6001".into(), credit: "100.00".into(), ..Default::default() },
                ],
            };
            let mut tx = db.begin(Actor::user(1, "admin", seller.company_id.0)).await.expect("begin");
            match service::post(&mut tx, &seller, &form).await {
                Ok(_) => tx.commit().await.map(|()| true).expect("commit"),
                Err(e) => {
                    assert!(format!("{e:?}").contains("period_closed"), "refused for the closed month, not {e:?}");
                    false
                }
            }
        }));
        if i == 5 {
            let db = app.db.clone();
            let accountant = principal.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin(Actor::user(1, "admin", accountant.company_id.0)).await.expect("begin");
                service::close_period(&mut tx, &accountant, "2026-01").await.expect("close");
                tx.commit().await.expect("commit");
                false
            }));
        }
    }
    let mut got_in = 0;
    for task in tasks {
        got_in += i64::from(task.await.expect("task"));
    }
    let revenue = |sql: &'static str| {
        let db = app.db.clone();
        async move { sqlx::query(sql).fetch_one(db.reader()).await.expect("row").try_get::<i64, _>("fen").expect("fen") }
    };
    let posted = revenue(
        "SELECT CAST(COALESCE(SUM(l.credit), 0) AS BIGINT) AS fen FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id \
         JOIN fin_accounts a ON a.id = l.account_id WHERE a.code = '6001' AND e.period = '2026-01' AND e.kind = 'manual' AND e.status = 'posted'",
    )
    .await;
    assert_eq!(posted, got_in * 10_000, "every voucher that committed is in January");
    let left = revenue(
        "SELECT CAST(COALESCE(SUM(b.credit - b.debit), 0) AS BIGINT) AS fen FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE a.code = '6001' AND b.period = '2026-01'",
    )
    .await;
    assert_eq!(left, 0, "the closing voucher carried all {got_in} sales to 本年利润, none slipped in after it");
}

/// One step of random bookkeeping: post an entry moving `amount` fen from one account to another
/// in a month (its debit tagged with a cost centre, its credit with a project), reverse an
/// earlier entry, or close the next open month.
#[derive(Debug, Clone)]
enum Step {
    Post { debit: usize, credit: usize, amount: i64, month: u32, centre: usize, project: usize },
    Reverse { which: usize },
    Close,
}

const ACCOUNTS: [&str; 8] = ["1002", "1122", "1405", "2202", "4001", "6001", "6401", "6602"];
const CENTRES: [&str; 3] = ["", "行政部", "销售一部"];
const PROJECTS: [&str; 3] = ["", "EXPO-2026", "ERP-ROLLOUT"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..ACCOUNTS.len(), 0..ACCOUNTS.len(), 1i64..10_000_000, 1u32..4, 0..CENTRES.len(), 0..PROJECTS.len())
            .prop_filter("two accounts", |(d, c, _, _, _, _)| d != c)
            .prop_map(|(debit, credit, amount, month, centre, project)| Step::Post { debit, credit, amount, month, centre, project }),
        2 => (0usize..50).prop_map(|which| Step::Reverse { which }),
        1 => Just(Step::Close),
    ]
}

/// What a sequence of steps did: the entries posted (and not refused), and which of them were
/// reversed.
#[derive(Debug, Default)]
struct Applied {
    posted: Vec<(i64, Step)>,
    reversed: Vec<i64>,
}

/// Runs the steps, each in a transaction of its own. A posting into a month closed by an
/// earlier step is refused, as it must be, and leaves nothing behind; a second reversal of
/// the same entry likewise. Months close in order, January to March; April stays open, and
/// reversals are dated in it.
async fn apply(db: &db::Db, principal: &Principal, steps: &[Step]) -> Applied {
    let mut applied = Applied::default();
    let mut closed = 0u32;
    for step in steps {
        let mut tx = db.begin(Actor::user(1, "admin", principal.company_id.0)).await.expect("begin");
        let outcome = match step {
            Step::Post { debit, credit, amount, month, centre, project } => {
                let form = EntryForm {
                    date: format!("2026-{month:02}-10"),
                    word: "记".into(),
                    memo: String::new(),
                    lines: vec![
                        LineForm {
                            account: ACCOUNTS[*debit].into(),
                            debit: finance::domain::yuan(*amount),
                            cost_center: CENTRES[*centre].into(),
                            ..Default::default()
                        },
                        LineForm {
                            account: ACCOUNTS[*credit].into(),
                            credit: finance::domain::yuan(*amount),
                            project: PROJECTS[*project].into(),
                            ..Default::default()
                        },
                    ],
                };
                match service::post(&mut tx, principal, &form).await {
                    Ok((id, _)) => {
                        applied.posted.push((id, step.clone()));
                        Ok(())
                    }
                    Err(refused) => {
                        assert!(*month <= closed, "only a closed month refuses a posting: {refused:?}");
                        Err(())
                    }
                }
            }
            Step::Reverse { which } => match applied.posted.get(which % applied.posted.len().max(1)) {
                Some((id, _)) if !applied.reversed.contains(id) => {
                    service::reverse_entry(&mut tx, principal, *id, "2026-04-01").await.expect("reverse");
                    applied.reversed.push(*id);
                    Ok(())
                }
                Some((id, _)) => {
                    assert!(service::reverse_entry(&mut tx, principal, *id, "2026-04-01").await.is_err());
                    Err(())
                }
                None => Err(()),
            },
            Step::Close if closed < 3 => {
                closed += 1;
                service::close_period(&mut tx, principal, &format!("2026-{closed:02}")).await.expect("close");
                Ok(())
            }
            Step::Close => Err(()),
        };
        if outcome.is_ok() {
            tx.commit().await.expect("commit");
        }
    }
    applied
}

async fn new_company(app: &testkit::TestApp, name: &str) -> Principal {
    let mut tx = app.db.begin(Actor::user(1, "admin", app.company_id)).await.expect("begin");
    let id = web::accounts::create_company(
        &mut tx,
        &web::accounts::CompanyForm { legal_name: name.into(), short_name: name.into(), ..Default::default() },
    )
    .await
    .expect("company");
    let principal = admin_principal(id);
    service::set_up_books(&mut tx, &principal, finance::chart::Template::Cas, 2026, 1).await.expect("books");
    for (dimension, codes) in [(Dimension::CostCenter, CENTRES), (Dimension::Project, PROJECTS)] {
        for code in codes.into_iter().filter(|c| !c.is_empty()) {
            finance::dimensions::register(&mut tx, id, dimension, code, code).await.expect("listed");
        }
    }
    tx.commit().await.expect("commit");
    principal
}

/// Everything the statements say about a company's first four months: the trial balance's
/// closing per account for accounts outside profit and loss, the balance sheet at the end
/// of April and the income statement for the four months.
async fn statements(db: &db::Db, company: i64) -> (Vec<(String, i64)>, Vec<i64>, Vec<i64>) {
    let mut conn = db.read_conn().await.expect("conn");
    let tb = service::trial_balance(&mut conn, company, "2026-01", "2026-04").await.expect("tb");
    let lasting = tb
        .iter()
        .filter(|r| !r.code.starts_with('6') && r.code != "4103")
        .map(|r| (r.code.clone(), r.closing))
        .collect();
    let sheet = service::balance_sheet(&mut conn, company, "2026-04").await.expect("sheet");
    let income = service::income_statement(&mut conn, company, "2026-01", "2026-04", service::LedgerSlice::All)
        .await
        .expect("income");
    (lasting, sheet.iter().map(|r| r.amount).collect(), income.iter().map(|r| r.amount).collect())
}

/// The same steps in another order, from a seed: a Fisher–Yates shuffle on a small linear
/// congruential generator, so a failing case replays.
fn shuffled(steps: &[Step], mut seed: u64) -> Vec<Step> {
    let mut out = steps.to_vec();
    for i in (1..out.len()).rev() {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        out.swap(i, (seed >> 33) as usize % (i + 1));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_of_postings_reversals_and_closes_unbalances_the_books(
        steps in proptest::collection::vec(step(), 1..30),
        seed in any::<u64>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let app = spawn_app().await;
            let books = new_company(&app, "甲").await;
            let applied = apply(&app.db, &books, &steps).await;
            let mut conn = app.db.read_conn().await.expect("conn");
            let company = books.company_id.0;

            // The trial balance balances.
            let tb = service::trial_balance(&mut conn, company, "2026-01", "2026-12").await.expect("tb");
            assert_eq!(tb.iter().map(|r| r.debit).sum::<i64>(), tb.iter().map(|r| r.credit).sum::<i64>());
            assert_eq!(tb.iter().map(|r| r.closing).sum::<i64>(), 0);

            // The balance sheet balances in every month.
            for month in 1..=4 {
                let sheet = service::balance_sheet(&mut conn, company, &format!("2026-{month:02}")).await.expect("sheet");
                let value = |key: &str| sheet.iter().find(|r| r.key == key).map(|r| r.amount).unwrap_or(0);
                assert_eq!(value("total_assets"), value("total_liabilities_and_equity"), "month {month}");
            }

            // Balance rows equal a full recomputation from the posted entry lines, per account,
            // month and cost centre.
            let kept = sqlx::query("SELECT account_id, period, cost_center, CAST(SUM(debit) AS BIGINT) AS d, CAST(SUM(credit) AS BIGINT) AS c FROM fin_balances WHERE company_id = $1 AND (debit <> 0 OR credit <> 0) GROUP BY account_id, period, cost_center ORDER BY account_id, period, cost_center")
                .bind(company).fetch_all(&mut conn).await.expect("kept");
            let recomputed = sqlx::query("SELECT l.account_id, e.period, l.cost_center, CAST(SUM(l.debit) AS BIGINT) AS d, CAST(SUM(l.credit) AS BIGINT) AS c FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id WHERE e.company_id = $1 AND e.status = 'posted' GROUP BY l.account_id, e.period, l.cost_center ORDER BY l.account_id, e.period, l.cost_center")
                .bind(company).fetch_all(&mut conn).await.expect("recomputed");
            let rows = |rows: &[db::Row]| rows.iter().map(|r| (r.try_get::<i64, _>("account_id").unwrap_or(0), r.try_get::<String, _>("period").unwrap_or_default(), r.try_get::<String, _>("cost_center").unwrap_or_default(), r.try_get::<i64, _>("d").unwrap_or(0), r.try_get::<i64, _>("c").unwrap_or(0))).collect::<Vec<_>>();
            assert_eq!(rows(&kept), rows(&recomputed));
            // And per account, month and project, for the lines that name one.
            let kept = sqlx::query("SELECT account_id, period, project, debit AS d, credit AS c FROM fin_project_balances WHERE company_id = $1 AND (debit <> 0 OR credit <> 0) ORDER BY account_id, period, project")
                .bind(company).fetch_all(&mut conn).await.expect("kept");
            let recomputed = sqlx::query("SELECT l.account_id, e.period, l.project, CAST(SUM(l.debit) AS BIGINT) AS d, CAST(SUM(l.credit) AS BIGINT) AS c FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id WHERE e.company_id = $1 AND e.status = 'posted' AND l.project <> '' GROUP BY l.account_id, e.period, l.project HAVING SUM(l.debit) <> 0 OR SUM(l.credit) <> 0 ORDER BY l.account_id, e.period, l.project")
                .bind(company).fetch_all(&mut conn).await.expect("recomputed");
            let rows = |rows: &[db::Row]| rows.iter().map(|r| (r.try_get::<i64, _>("account_id").unwrap_or(0), r.try_get::<String, _>("period").unwrap_or_default(), r.try_get::<String, _>("project").unwrap_or_default(), r.try_get::<i64, _>("d").unwrap_or(0), r.try_get::<i64, _>("c").unwrap_or(0))).collect::<Vec<_>>();
            assert_eq!(rows(&kept), rows(&recomputed));
            // The cash flow rows equal a recomputation from the vouchers that moved cash, as the
            // migration that filled them for earlier vouchers computes it.
            let cash = "(a.code LIKE '1001%' OR a.code LIKE '1002%' OR a.code LIKE '1012%')";
            let kept = sqlx::query("SELECT account_id, period, CAST(SUM(debit) AS BIGINT) AS d, CAST(SUM(credit) AS BIGINT) AS c FROM fin_cash_flow_balances WHERE company_id = $1 GROUP BY account_id, period HAVING SUM(debit) <> 0 OR SUM(credit) <> 0 ORDER BY account_id, period")
                .bind(company).fetch_all(&mut conn).await.expect("kept");
            let recomputed = sqlx::query(&format!("SELECT l.account_id, e.period, CAST(SUM(l.debit) AS BIGINT) AS d, CAST(SUM(l.credit) AS BIGINT) AS c FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id JOIN fin_accounts a ON a.id = l.account_id WHERE e.company_id = $1 AND e.status = 'posted' AND NOT {cash} AND EXISTS (SELECT 1 FROM fin_entry_lines x JOIN fin_accounts a ON a.id = x.account_id WHERE x.entry_id = e.id AND {cash}) GROUP BY l.account_id, e.period HAVING SUM(l.debit) <> 0 OR SUM(l.credit) <> 0 ORDER BY l.account_id, e.period"))
                .bind(company).fetch_all(&mut conn).await.expect("recomputed");
            let rows = |rows: &[db::Row]| rows.iter().map(|r| (r.try_get::<i64, _>("account_id").unwrap_or(0), r.try_get::<String, _>("period").unwrap_or_default(), r.try_get::<i64, _>("d").unwrap_or(0), r.try_get::<i64, _>("c").unwrap_or(0))).collect::<Vec<_>>();
            assert_eq!(rows(&kept), rows(&recomputed));
            // The cash flow statement of the four months ends at the cash the ledger holds, and
            // of each month at the next one's opening.
            let flows = finance::cash_flow::cash_flow_statement(&mut conn, company, "2026-01", "2026-04").await.expect("cash flow");
            let line = |statement: &finance::cash_flow::CashFlowStatement, key: &str| statement.rows.iter().find(|r| r.key == key).map(|r| r.amount).unwrap_or(0);
            assert_eq!(line(&flows, "closing"), flows.cash_in_ledger);
            let mut months = Vec::new();
            for month in 1..=4 {
                let period = format!("2026-{month:02}");
                months.push(finance::cash_flow::cash_flow_statement(&mut conn, company, &period, &period).await.expect("cash flow"));
            }
            for pair in months.windows(2) {
                assert_eq!(line(&pair[0], "closing"), line(&pair[1], "opening"));
            }
            assert_eq!(months.iter().map(|m| line(m, "net_increase")).sum::<i64>(), line(&flows, "net_increase"));
            drop(conn);

            // Reversal restores every balance: the same steps without the reversed postings
            // and their reversals leave the same lasting balances and the same balance sheet.
            let unreversed = new_company(&app, "乙").await;
            let reversed_steps: Vec<&Step> = applied.posted.iter().filter(|(id, _)| applied.reversed.contains(id)).map(|(_, s)| s).collect();
            let mut kept_steps = Vec::new();
            let mut skipped = reversed_steps.clone();
            for step in &steps {
                match step {
                    Step::Reverse { .. } => {}
                    Step::Post { .. } => {
                        // Equal postings are interchangeable, so any one of them may stand for the reversed one.
                        if let Some(at) = skipped.iter().position(|s| format!("{s:?}") == format!("{step:?}")) {
                            skipped.remove(at);
                        } else {
                            kept_steps.push(step.clone());
                        }
                    }
                    Step::Close => kept_steps.push(Step::Close),
                }
            }
            apply(&app.db, &unreversed, &kept_steps).await;
            let (with, without) = (statements(&app.db, company).await, statements(&app.db, unreversed.company_id.0).await);
            assert_eq!(with.0, without.0, "lasting balances");
            assert_eq!(with.1, without.1, "balance sheet");

            // The order of postings does not change the statements.
            let posts: Vec<Step> = steps.iter().filter(|s| matches!(s, Step::Post { .. })).cloned().collect();
            let (in_order, reordered) = (new_company(&app, "丙").await, new_company(&app, "丁").await);
            apply(&app.db, &in_order, &posts).await;
            apply(&app.db, &reordered, &shuffled(&posts, seed)).await;
            assert_eq!(statements(&app.db, in_order.company_id.0).await, statements(&app.db, reordered.company_id.0).await);
        });
    }
}

#[test]
fn the_scope_of_ledger_grants_is_company_wide() {
    // Ledger permissions are granted at company scope in the built-in roles: a voucher has no owner.
    let accountant = server::bootstrap::BUILTIN_ROLES.iter().find(|r| r.code == "accountant").expect("accountant");
    assert!(accountant.grants.iter().filter(|(p, _)| p.starts_with("finance.")).all(|(_, s)| *s == Scope::Company));
}

#[tokio::test]
async fn a_figure_drills_down_to_its_entries_costs_show_by_centre_and_reports_download_as_csv() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let with_centre = |date: &str, account: &str, amount: &str, centre: &str| {
        json!({"date": date, "word": "付", "memo": "费用", "lines": [
            {"account": account, "debit": amount, "cost_center": centre},
            {"account": "1002", "credit": amount}
        ]})
    };
    for (code, name) in [("行政部", "行政管理部"), ("销售一部", "华东销售一部")] {
        let added = api.post("/api/v1/finance/dimensions/cost_center", &json!({"code": code, "name": name})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    post(&api, voucher("2026-01-02", "投资", &[("1002", "100000.00", ""), ("4001", "", "100000.00")])).await;
    post(&api, with_centre("2026-01-10", "6602", "3000.00", "行政部")).await;
    post(&api, with_centre("2026-01-20", "6601", "2000.00", "销售一部")).await;
    post(&api, with_centre("2026-02-05", "6602", "1200.00", "行政部")).await;
    assert_eq!(api.post("/api/v1/finance/periods/2026-01/close", &json!({})).await.status, StatusCode::OK);

    let ledger = api.get("/api/v1/finance/reports/account-ledger?code=1002&from=2026-02&to=2026-02").await.json();
    assert_eq!(ledger["opening"], "95000.00");
    assert_eq!(ledger["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(ledger["items"][0]["balance"], "93800.00");

    let costs = api.get("/api/v1/finance/reports/cost-centers?from=2026-01&to=2026-02").await.json();
    assert_eq!(costs["periods"], json!(["2026-01", "2026-02"]));
    let account = |centre: &str, code: &str| {
        let group = costs["groups"].as_array().expect("groups").iter().find(|g| g["cost_center"] == centre).cloned();
        let group = group.unwrap_or_else(|| panic!("{centre} in {costs}"));
        group["accounts"].as_array().expect("accounts").iter().find(|r| r["code"] == code).cloned().unwrap_or_default()
    };
    let admin = account("行政部", "6602");
    assert_eq!(admin["amount"], "4200.00", "closing January does not hide its costs");
    assert_eq!(admin["months"], json!({"2026-01": "3000.00", "2026-02": "1200.00"}));
    assert_eq!(account("销售一部", "6601")["months"], json!({"2026-01": "2000.00", "2026-02": "0.00"}));
    let group = costs["groups"].as_array().expect("groups").iter().find(|g| g["cost_center"] == "行政部").cloned();
    assert_eq!(group.map(|g| g["name"].clone()), Some(json!("行政管理部")));
    // The figure opens its own cost centre's lines: 行政部's 3,000.00 and 1,200.00 on 6602.
    let ledger = api
        .get("/api/v1/finance/reports/account-ledger?code=6602&from=2026-01&to=2026-02&cost_center=行政部")
        .await
        .json();
    let debits: Vec<&str> = ledger["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|l| l["debit"].as_str())
        .filter(|d| *d != "0.00")
        .collect();
    assert_eq!(debits, ["3000.00", "1200.00"], "{ledger}");
    let elsewhere = api
        .get("/api/v1/finance/reports/account-ledger?code=6602&from=2026-01&to=2026-02&cost_center=销售一部")
        .await
        .json();
    assert_eq!(elsewhere["items"].as_array().map(Vec::len), Some(0), "{elsewhere}");

    let browser = app.signed_in("admin").await;
    let csv = browser.get("/finance/reports/trial-balance?from=2026-01&to=2026-02&format=csv").await;
    assert_eq!(csv.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert!(csv.body.contains("1002") && csv.body.contains("93800.00"), "{}", csv.body);
    let sheet = browser.get("/finance/reports/balance-sheet?period=2026-02&format=csv").await;
    assert!(sheet.body.contains("资产总计") && sheet.body.contains("93800.00"));
    let xlsx = browser.get("/finance/reports/balance-sheet?period=2026-02&format=xlsx").await;
    assert_eq!(
        xlsx.header("content-type").as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    assert!(
        xlsx.body.starts_with("PK") && xlsx.body.contains("资产总计") && xlsx.body.contains("<v>93800.00</v>"),
        "a workbook with numbers as numbers"
    );
    let page = browser.get("/finance/reports/trial-balance?from=2026-02&to=2026-02").await;
    let start = page.body.find("code=1002&amp;").expect("1002's row");
    let bank_row = &page.body[start..start + page.body[start..].find("</tr>").expect("row end")];
    assert!(
        bank_row.contains("/finance/reports/account?code=1002&amp;from=2026-01&amp;to=2026-01\">95,000.00</a>"),
        "February's opening opens January's entries: {bank_row}"
    );
    assert!(
        bank_row.contains("from=2026-02&amp;to=2026-02\">1,200.00</a>")
            && bank_row.contains("from=2026-02&amp;to=2026-02\">93,800.00</a>"),
        "the credit and the closing open February's entries: {bank_row}"
    );
    assert_eq!(browser.get("/finance/reports/account?code=1002&from=2026-01&to=2026-02").await.status, StatusCode::OK);
    assert_eq!(browser.get("/finance/reports/cost-centers?from=2026-01&to=2026-02").await.status, StatusCode::OK);
}

/// A trading company books the spring trade fair and its new management system as projects,
/// its sales department as a cost centre, and reads what each cost month by month.
#[tokio::test]
async fn costs_show_by_project_and_month_from_listed_codes_and_an_archived_project_takes_no_new_lines() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026, "first_month": 3})).await;
    for (dimension, code, name) in [
        ("cost_center", "SAL", "销售部"),
        ("project", "EXPO-2026", "2026 上海工博会参展"),
        ("project", "ERP", "管理系统上线"),
    ] {
        let added =
            api.post(&format!("/api/v1/finance/dimensions/{dimension}"), &json!({"code": code, "name": name})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    // A code with a space, a code taken, a missing name: each refused on its field.
    let refused = |body: &Value| {
        body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["field"].as_str().unwrap_or("").to_string(), e["code"].as_str().unwrap_or("").to_string()))
            .collect::<Vec<_>>()
    };
    let spaced =
        api.post("/api/v1/finance/dimensions/project", &json!({"code": "EXPO 2027", "name": "明年展会"})).await;
    assert_eq!(spaced.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused(&spaced.json()), [("code".to_string(), "error.finance.dimension_code".to_string())]);
    let taken = api.post("/api/v1/finance/dimensions/project", &json!({"code": "ERP", "name": ""})).await;
    assert_eq!(
        refused(&taken.json()),
        [("name".to_string(), "error.required".to_string())],
        "the name is checked before the code is looked up"
    );
    let taken = api.post("/api/v1/finance/dimensions/project", &json!({"code": "ERP", "name": "另一个"})).await;
    assert_eq!(refused(&taken.json()), [("code".to_string(), "error.finance.dimension_taken".to_string())]);
    let listed = api.get("/api/v1/finance/dimensions/project").await.json();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2), "{listed}");

    let cost = |date: &str, account: &str, amount: &str, centre: &str, project: &str| {
        json!({"date": date, "word": "付", "memo": "费用", "lines": [
            {"account": account, "debit": amount, "cost_center": centre, "project": project},
            {"account": "1002", "credit": amount}
        ]})
    };
    post(&api, voucher("2026-03-01", "投资", &[("1002", "500000.00", ""), ("4001", "", "500000.00")])).await;
    let stand = post(&api, cost("2026-03-12", "6601", "12000.00", "SAL", "EXPO-2026")).await;
    post(&api, cost("2026-04-08", "6601", "3450.50", "SAL", "EXPO-2026")).await;
    post(&api, cost("2026-04-20", "6602", "8000.00", "", "ERP")).await;
    // A slip of the keyboard (a zero for the letter O) is not a new project.
    let before = app.count("fin_entries").await;
    let slip = api.post("/api/v1/finance/entries", &cost("2026-04-21", "6601", "100.00", "SAL", "EXP0-2026")).await;
    assert_eq!(slip.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused(&slip.json()), [("lines[0]".to_string(), "error.finance.unknown_project".to_string())]);
    assert!(slip.body.contains("EXP0-2026"), "the message names the code: {}", slip.body);
    assert_eq!(app.count("fin_entries").await, before, "nothing stored");
    // A row left blank above it does not move the refusal off the row that names the code.
    let gap = json!({"date": "2026-04-21", "lines": [
        {"account": ""},
        {"account": "6601", "debit": "100.00", "project": "EXP0-2026"},
        {"account": "1002", "credit": "100.00"}
    ]});
    let gap = api.post("/api/v1/finance/entries", &gap).await;
    assert_eq!(refused(&gap.json()), [("lines[1]".to_string(), "error.finance.unknown_project".to_string())]);
    assert_eq!(api.post("/api/v1/finance/periods/2026-03/close", &json!({})).await.status, StatusCode::OK);

    let report = api.get("/api/v1/finance/reports/cost-centers?dimension=project&from=2026-03&to=2026-04").await.json();
    let groups = report["groups"].as_array().expect("groups");
    let codes: Vec<&str> = groups.iter().filter_map(|g| g["project"].as_str()).collect();
    assert_eq!(codes, ["ERP", "EXPO-2026"], "only lines that name a project: {report}");
    assert_eq!(groups[1]["name"], "2026 上海工博会参展");
    assert_eq!(groups[1]["months"], json!({"2026-03": "12000.00", "2026-04": "3450.50"}));
    assert_eq!(groups[1]["amount"], "15450.50", "closing March left the project's figures whole");
    assert_eq!(groups[0]["accounts"][0]["code"], "6602");
    assert_eq!(groups[0]["amount"], "8000.00");
    // By cost centre the same costs fall to 销售部, and the system's to no centre at all.
    let by_centre = api.get("/api/v1/finance/reports/cost-centers?from=2026-03&to=2026-04").await.json();
    let centres: Vec<(&str, &str)> = by_centre["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["cost_center"].as_str().unwrap_or("?"), g["amount"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(centres, [("", "8000.00"), ("SAL", "15450.50")]);
    let ledger = api
        .get("/api/v1/finance/reports/account-ledger?code=6601&from=2026-04&to=2026-04&project=EXPO-2026")
        .await
        .json();
    assert_eq!(ledger["opening"], "12000.00", "March's stand, before April");
    assert_eq!(ledger["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(ledger["items"][0]["balance"], "15450.50");

    // The fair is over: its project is archived. A new line naming it is refused, and so is
    // a draft saved before, when it is posted; undoing the stand's voucher is still allowed.
    let draft = api.post("/api/v1/finance/entries", &cost("2026-04-25", "6601", "260.00", "SAL", "EXPO-2026")).await;
    assert_eq!(draft.status, StatusCode::CREATED);
    let draft = draft.json()["id"].as_i64().expect("id");
    let archived = api.post("/api/v1/finance/dimensions/project/EXPO-2026/archive", &json!({})).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    let late = api.post("/api/v1/finance/entries", &cost("2026-04-26", "6601", "80.00", "SAL", "EXPO-2026")).await;
    assert_eq!(refused(&late.json()), [("lines[0]".to_string(), "error.finance.archived_project".to_string())]);
    let posted = api.post(&format!("/api/v1/finance/entries/{draft}/post"), &json!({})).await;
    assert_eq!(posted.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", posted.body);
    let id = stand["id"].as_i64().expect("id");
    let reversed = api.post(&format!("/api/v1/finance/entries/{id}/reverse"), &json!({"date": "2026-04-30"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    let april = api.get("/api/v1/finance/reports/cost-centers?dimension=project&from=2026-04&to=2026-04").await.json();
    let expo = april["groups"].as_array().expect("groups").iter().find(|g| g["project"] == "EXPO-2026").cloned();
    assert_eq!(expo.map(|g| g["amount"].clone()), Some(json!("-8549.50")), "3,450.50 less the reversed 12,000.00");
    assert_eq!(app.count("audit_log WHERE resource = 'finance.project' AND action = 'archive'").await, 1);
    let restored = api.post("/api/v1/finance/dimensions/project/EXPO-2026/restore", &json!({})).await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(api.post(&format!("/api/v1/finance/entries/{draft}/post"), &json!({})).await.status, StatusCode::OK);

    // A report runs forwards and over at most two years.
    let backwards = api.get("/api/v1/finance/reports/cost-centers?from=2026-04&to=2026-03").await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wide = api.get("/api/v1/finance/reports/cost-centers?from=2024-01&to=2026-04").await;
    assert_eq!(refused(&wide.json()), [("to".to_string(), "error.finance.range_too_wide".to_string())]);

    // In the browser: the lists with their form, the report with a column per month whose
    // figures open the lines behind them, and the voucher form offering the codes.
    let browser = app.signed_in("admin").await;
    let list = browser.get("/finance/dimensions/project").await;
    assert!(list.body.contains("2026 上海工博会参展") && list.body.contains("/finance/dimensions/project/ERP/archive"));
    assert!(
        list.body.contains("/finance/reports/income-statement?slice=project:EXPO-2026"),
        "each code opens its 利润表"
    );
    let refused_form = browser
        .post_form("/finance/dimensions/project", "/finance/dimensions/project", &[("code", "ERP"), ("name", "重复")])
        .await;
    assert_eq!(refused_form.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused_form.body.contains("编码 ERP 已存在") && refused_form.body.contains("value=\"重复\""));
    // A name is changed on its row (the code the lines name stays); an empty one is refused there.
    let renamed = api
        .call(
            axum::http::Method::PATCH,
            "/api/v1/finance/dimensions/project/ERP",
            Some(&json!({"name": "管理系统上线（一期）"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let emptied = browser
        .post_form("/finance/dimensions/project", "/finance/dimensions/project/ERP/rename", &[("name", " ")])
        .await;
    assert_eq!(emptied.status, StatusCode::UNPROCESSABLE_ENTITY);
    let row = emptied.body.split("id=\"tag-ERP\"").nth(1).and_then(|r| r.split("</tr>").next()).unwrap_or_default();
    assert!(row.contains("role=\"alert\">必填</p>"), "the refusal stands on the row: {row}");
    assert_eq!(app.count("audit_log WHERE resource = 'finance.project' AND action = 'update'").await, 1);
    assert!(browser.get("/finance/dimensions/project").await.body.contains("管理系统上线（一期）"));
    let added = browser
        .post_form(
            "/finance/dimensions/cost_center",
            "/finance/dimensions/cost_center",
            &[("code", "FIN"), ("name", "财务部")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let page = browser.get("/finance/reports/cost-centers?dimension=project&from=2026-03&to=2026-04").await;
    assert!(page.body.contains("<th class=\"num\">2026-03</th><th class=\"num\">2026-04</th>"), "{}", page.body);
    assert!(page
        .body
        .contains("/finance/reports/account?code=6601&amp;from=2026-04&amp;to=2026-04&amp;project=EXPO-2026"));
    let backwards = browser.get("/finance/reports/cost-centers?dimension=project&from=2026-04&to=2026-03").await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards.body.contains(
            "value=\"2026-03\" maxlength=\"7\" aria-invalid=\"true\"><p class=\"error\" role=\"alert\">截止期间 2026-03 早于起始期间</p>"
        ),
        "the refusal stands beside the last month, as typed: {}",
        backwards.body
    );
    // Only the first month typed: the last is this month (March on the tests' clock), and the
    // refusal stands beside it with the month the report read.
    let wide = browser.get("/finance/reports/cost-centers?from=2020-01").await;
    assert_eq!(wide.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wide
        .body
        .contains("value=\"2026-03\" maxlength=\"7\" aria-invalid=\"true\"><p class=\"error\" role=\"alert\">最多选择 24 个月</p>"));
    let csv = browser.get("/finance/reports/cost-centers?dimension=project&from=2026-03&to=2026-04&format=csv").await;
    assert!(csv.body.contains("EXPO-2026") && csv.body.contains("12000.00"), "{}", csv.body);
    let done = browser.post_form("/finance/dimensions/project", "/finance/dimensions/project/ERP/archive", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let form = browser.get("/finance/entries/new").await;
    assert!(form.body.contains("<option value=\"SAL\">销售部</option>") && form.body.contains("name=\"project\""));
    assert!(form.body.contains("<option value=\"FIN\">财务部</option>"));
    assert!(
        form.body.contains("<option value=\"EXPO-2026\">") && !form.body.contains("<option value=\"ERP\">"),
        "an archived project is not offered"
    );
}

#[tokio::test]
async fn statement_figures_open_their_accounts_and_entries_and_print_as_signed_statements() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    post(&api, voucher("2026-01-02", "投资", &[("1002", "100000.00", ""), ("4001", "", "100000.00")])).await;
    post(&api, voucher("2026-01-03", "备用金", &[("1001", "2000.00", ""), ("1002", "", "2000.00")])).await;
    post(
        &api,
        voucher(
            "2026-02-10",
            "销售",
            &[("1122", "11300.00", ""), ("6001", "", "10000.00"), ("22210102", "", "1300.00")],
        ),
    )
    .await;
    post(
        &api,
        voucher("2026-02-11", "成本", &[("6401", "6000.00", ""), ("1405", "6000.00", ""), ("1002", "", "12000.00")]),
    )
    .await;

    // 货币资金 at the end of February is 1001 + 1002: 2,000 + 86,000.
    let cash = api.get("/api/v1/finance/reports/statement-line?statement=balance-sheet&line=cash&period=2026-02").await;
    assert_eq!(cash.status, StatusCode::OK, "{}", cash.body);
    let cash = cash.json();
    assert_eq!(cash["amount"], "88000.00");
    let accounts: Vec<(String, String)> = cash["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter(|a| a["amount"] != "0.00")
        .map(|a| (a["code"].as_str().unwrap_or("").into(), a["amount"].as_str().unwrap_or("").into()))
        .collect();
    assert_eq!(accounts, [("1001".to_string(), "2000.00".to_string()), ("1002".to_string(), "86000.00".to_string())]);
    // A subtotal opens into the lines it adds and takes away.
    let profit = api
        .get("/api/v1/finance/reports/statement-line?statement=income-statement&line=operating_profit&from=2026-02&to=2026-02")
        .await
        .json();
    assert_eq!(profit["amount"], "4000.00");
    let part = |key: &str| {
        profit["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .find(|p| p["key"] == key)
            .map(|p| (p["sign"].clone(), p["amount"].clone()))
    };
    assert_eq!(part("revenue"), Some((json!(1), json!("10000.00"))));
    assert_eq!(part("cost_of_sales"), Some((json!(-1), json!("6000.00"))));
    let unknown =
        api.get("/api/v1/finance/reports/statement-line?statement=balance-sheet&line=goodwill&period=2026-02").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let wrong = api.get("/api/v1/finance/reports/statement-line?statement=cash-flow&line=cash&period=2026-02").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);

    // In the browser: figure → accounts → the account's ledger → the voucher.
    let browser = app.signed_in("admin").await;
    let sheet = browser.get("/finance/reports/balance-sheet?period=2026-02").await;
    let drill = "/finance/reports/statement-line?statement=balance-sheet&amp;line=cash&amp;from=2026-01&amp;to=2026-02";
    assert!(sheet.body.contains(drill), "{}", sheet.body);
    let line = browser.get(&drill.replace("&amp;", "&")).await;
    assert_eq!(line.status, StatusCode::OK);
    assert!(line.body.contains("86,000.00") && line.body.contains("88,000.00"), "{}", line.body);
    let ledger = "/finance/reports/account?code=1002&amp;from=2026-01&amp;to=2026-02";
    assert!(line.body.contains(ledger), "{}", line.body);
    let entries = browser.get(&ledger.replace("&amp;", "&")).await;
    assert!(entries.body.contains("记-0001") && entries.body.contains("86,000.00"), "{}", entries.body);

    // Printed, the statement carries its form number, the company, the date and the unit,
    // and the line its officers sign on.
    for text in ["会企01表", "编制单位：", "2026-02-28", "单位：元", "window.print()", "单位负责人："]
    {
        assert!(sheet.body.contains(text), "{text} on the balance sheet");
    }
    let income = browser.get("/finance/reports/income-statement?from=2026-02&to=2026-02").await;
    assert!(income.body.contains("会企02表") && income.body.contains("2026-02 — 2026-02"));
    let trial = browser.get("/finance/reports/trial-balance?from=2026-01&to=2026-02").await;
    assert!(
        trial.body.contains("window.print()") && !trial.body.contains("单位负责人："),
        "a working report, unsigned"
    );
}

#[tokio::test]
async fn the_year_end_close_carries_profit_to_retained_earnings() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2025, "first_month": 12})).await;
    post(&api, voucher("2025-12-05", "销售", &[("1002", "10000.00", ""), ("6001", "", "10000.00")])).await;
    post(&api, voucher("2025-12-06", "费用", &[("6602", "4000.00", ""), ("1002", "", "4000.00")])).await;
    let closed = api.post("/api/v1/finance/periods/2025-12/close", &json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2025-12&to=2025-12").await.json();
    let closing = |code: &str| {
        tb["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["code"] == code)
            .map(|r| r["closing"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(closing("4103").as_deref(), Some("0.00"), "本年利润 is emptied at year end");
    assert_eq!(closing("4104").as_deref(), Some("-6000.00"), "and carried to 利润分配");
    assert_eq!(closing("6001").as_deref(), Some("0.00"));
}

#[tokio::test]
async fn a_dollar_receipt_keeps_its_foreign_amount_and_rate_while_the_ledger_stays_in_yuan() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let body = json!({"date": "2026-03-18", "word": "收", "memo": "收到美元货款", "lines": [
        {"account": "1002", "debit": "71234.00", "currency": "USD", "foreign_amount": "10000.00", "rate": "7.1234"},
        {"account": "1122", "credit": "71234.00", "currency": "USD", "foreign_amount": "10000.00", "rate": "7.1234"}
    ]});
    let posted = post(&api, body.clone()).await;
    assert_eq!(posted["lines"][0]["currency"], "USD");
    assert_eq!(posted["lines"][0]["foreign_amount"], "10000.00");
    assert_eq!(posted["lines"][0]["rate"], "7.1234");
    let mut wrong = body;
    wrong["lines"][0]["debit"] = json!("71230.00");
    wrong["lines"][1]["credit"] = json!("71230.00");
    let refused = api.post("/api/v1/finance/entries", &wrong).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json()["errors"][0]["code"], "error.finance.fx_mismatch");
    let reversal = api
        .post(&format!("/api/v1/finance/entries/{}/reverse", posted["id"]), &json!({"date": "2026-03-19"}))
        .await
        .json();
    assert_eq!(reversal["lines"][0]["foreign_amount"], "-10000.00", "the reversal negates the foreign amount too");
    let page = app.signed_in("admin").await.get(&format!("/finance/entries/{}", posted["id"])).await;
    assert!(page.body.contains("USD 10,000.00 @ 7.1234"));
}

#[tokio::test]
async fn a_voucher_keeps_its_source_documents_and_a_posted_one_never_loses_them() {
    use base64::Engine as _;
    let app = spawn_app().await;
    app.user("chen.jing", &["accountant"], "", "finance").await;
    let api = app.api("chen.jing").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let draft = api
        .post(
            "/api/v1/finance/entries",
            &voucher("2026-03-18", "报销差旅费", &[("6602", "1280.00", ""), ("1001", "", "1280.00")]),
        )
        .await
        .json();
    let id = draft["id"].as_i64().expect("id");

    // The clerk scans the train ticket in the browser.
    let browser = app.signed_in("chen.jing").await;
    let voucher_page = format!("/finance/entries/{id}");
    let ticket: &[u8] = b"PNG scanned ticket G1234, 2026-03-16, 553.00";
    let uploaded = browser
        .post_upload(&voucher_page, &format!("{voucher_page}/attachments"), &[], ("火车票.png", "image/png", ticket))
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let refused = browser
        .post_upload(
            &voucher_page,
            &format!("{voucher_page}/attachments"),
            &[],
            ("macro.xlsm", "application/octet-stream", b"PK.."),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(r#"<p class="error" id="file-error" role="alert">Only PDF, OFD, XML, JPG, PNG or WEBP files are accepted: macro.xlsm</p>"#), "{}", refused.body);
    let forged =
        browser.post_upload("", &format!("{voucher_page}/attachments"), &[], ("票.png", "image/png", ticket)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "an upload needs the page's token");

    // The e-invoice comes through the API.
    let invoice = b"%PDF-1.7 electronic invoice 26312000000012345678";
    let body = json!({"file_name": "电子发票.pdf", "content_base64": base64::engine::general_purpose::STANDARD.encode(invoice)});
    let attached = api.post(&format!("/api/v1/finance/entries/{id}/attachments"), &body).await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.body);
    let again = api.post(&format!("/api/v1/finance/entries/{id}/attachments"), &body).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.json()["errors"][0]["code"], "error.finance.attachment_again");

    let entry = api.get(&format!("/api/v1/finance/entries/{id}")).await.json();
    let names: Vec<&str> =
        entry["attachments"].as_array().expect("attachments").iter().filter_map(|a| a["file_name"].as_str()).collect();
    assert_eq!(names, ["火车票.png", "电子发票.pdf"]);
    let download = api.get(entry["attachments"][1]["href"].as_str().expect("href")).await;
    assert_eq!(download.body.as_bytes(), invoice);
    assert_eq!(download.header("content-type").as_deref(), Some("application/pdf"));
    assert!(download
        .header("content-disposition")
        .unwrap_or_default()
        .contains("filename*=UTF-8''%E7%94%B5%E5%AD%90%E5%8F%91%E7%A5%A8.pdf"));
    assert!(browser.get(&voucher_page).await.body.contains("2 document(s) attached"));

    // Posted, the voucher keeps both; the attempt changes nothing.
    api.post(&format!("/api/v1/finance/entries/{id}/post"), &json!({})).await;
    let first = entry["attachments"][0]["id"].as_i64().expect("id");
    let kept = browser.post_form(&voucher_page, &format!("{voucher_page}/attachments/{first}/delete"), &[]).await;
    assert_eq!(kept.status, StatusCode::CONFLICT);
    assert_eq!(app.count(&format!("fin_attachments WHERE entry_id = {id}")).await, 2);
    assert_eq!(app.count("audit_log WHERE resource = 'finance.attachment' AND action = 'create'").await, 2);
    let scan = browser.get(&format!("{voucher_page}/attachments/{first}")).await;
    assert_eq!(scan.body.as_bytes(), ticket);
}

#[tokio::test]
async fn dollar_balances_are_revalued_at_month_end_and_the_difference_goes_to_financial_expenses() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let usd = |account: &str, debit: &str, credit: &str, dollars: &str, rate: &str| json!({"account": account, "debit": debit, "credit": credit, "currency": "USD", "foreign_amount": dollars, "rate": rate});
    let cny = |account: &str, debit: &str, credit: &str| json!({"account": account, "debit": debit, "credit": credit});
    // March: the owner pays in USD 2,000.00 at 7.1000, and a customer is invoiced USD 1,000.00.
    for (date, lines) in [
        ("2026-03-02", vec![usd("1002", "14200.00", "", "2000.00", "7.1"), cny("4001", "", "14200.00")]),
        ("2026-03-09", vec![usd("1122", "7100.00", "", "1000.00", "7.1"), cny("6001", "", "7100.00")]),
    ] {
        post(&api, json!({"date": date, "word": "转", "memo": "外币业务", "lines": lines})).await;
    }
    // A rate is needed for every currency held, and must be a rate.
    let missing = api.post("/api/v1/finance/periods/2026-03/revalue", &json!({"rates": []})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", missing.body);
    assert_eq!(
        (missing.json()["errors"][0]["field"].as_str(), missing.json()["errors"][0]["code"].as_str()),
        (Some("rates"), Some("error.finance.rate_missing"))
    );
    let bad = api
        .post("/api/v1/finance/periods/2026-03/revalue", &json!({"rates": [{"currency": "USD", "rate": "-7"}]}))
        .await;
    assert_eq!(bad.json()["errors"][0]["field"], "rates[0].rate");

    // At the closing rate of 7.2000 the dollars are worth 300.00 more: a gain, credited to 6603.
    let march = api
        .post("/api/v1/finance/periods/2026-03/revalue", &json!({"rates": [{"currency": "USD", "rate": "7.2000"}]}))
        .await;
    assert_eq!(march.status, StatusCode::CREATED, "{}", march.body);
    let body = march.json();
    let differences: Vec<(&str, &str, &str)> = body["revaluations"]
        .as_array()
        .expect("revaluations")
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap_or(""),
                r["revalued"].as_str().unwrap_or(""),
                r["difference"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(differences, vec![("1002", "14400.00", "200.00"), ("1122", "7200.00", "100.00")]);
    let voucher = api.get(&format!("/api/v1/finance/entries/{}", body["entry_id"])).await.json();
    assert_eq!((voucher["date"].as_str(), voucher["word"].as_str()), (Some("2026-03-31"), Some("转")));
    let last = &voucher["lines"][2];
    assert_eq!((last["account"].as_str(), last["credit"].as_str()), (Some("6603"), Some("300.00")));
    // Run again at the same rate, nothing is left to adjust.
    let again = api
        .post("/api/v1/finance/periods/2026-03/revalue", &json!({"rates": [{"currency": "USD", "rate": "7.2"}]}))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json()["entry_id"], Value::Null);

    // April: USD 400.00 comes in at 7.1500, and the month ends at 7.0000: a loss of 600.00.
    post(
        &api,
        json!({"date": "2026-04-08", "word": "收", "memo": "收回外币货款", "lines": [
            usd("1002", "2860.00", "", "400.00", "7.15"), usd("1122", "", "2860.00", "400.00", "7.15")]}),
    )
    .await;
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/periods").await;
    assert!(page.body.contains("/finance/periods/revalue"), "the periods page offers revaluation");
    let refused = browser
        .post_form(
            "/finance/periods",
            "/finance/periods/revalue",
            &[("period", "2026-04"), ("currency", "USD"), ("rate", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "the form says what is wrong");
    assert!(refused.body.contains("value=\"USD\""), "and keeps what was typed");
    let april = browser
        .post_form(
            "/finance/periods",
            "/finance/periods/revalue",
            &[("period", "2026-04"), ("currency", "USD"), ("rate", "7.0000"), ("currency", ""), ("rate", "")],
        )
        .await;
    assert_eq!(april.status, StatusCode::SEE_OTHER, "{}", april.body);
    let tb = api.get("/api/v1/finance/reports/trial-balance?from=2026-04&to=2026-04").await.json();
    let row =
        |code: &str| tb["items"].as_array().expect("items").iter().find(|r| r["code"] == code).cloned().expect("row");
    // 2,400 dollars at 7.0 in the bank and 600 owed by the customer at 7.0.
    assert_eq!(row("1002")["closing"], "16800.00");
    assert_eq!(row("1122")["closing"], "4200.00");
    assert_eq!(row("6603")["debit"], "600.00");

    // A closed month is not revalued.
    api.post("/api/v1/finance/periods/2026-01/close", &json!({})).await;
    let closed = api
        .post("/api/v1/finance/periods/2026-01/revalue", &json!({"rates": [{"currency": "USD", "rate": "7.0"}]}))
        .await;
    assert_eq!(closed.json()["errors"][0]["code"], "error.finance.period_closed");
}

#[tokio::test]
async fn research_costs_kept_under_administrative_expenses_show_on_their_own_line() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    for (code, name) in [("660201", "研发费用"), ("660202", "办公费")] {
        let added =
            api.post("/api/v1/finance/accounts", &json!({"parent": "6602", "code": code, "name_zh": name})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    }
    // March: 20,000.00 of consulting sold; 8,000.00 paid to the lab's engineers as research,
    // 3,000.00 for office supplies.
    post(&api, voucher("2026-03-05", "咨询收入", &[("1002", "20000.00", ""), ("6001", "", "20000.00")])).await;
    post(&api, voucher("2026-03-20", "研发人员劳务", &[("660201", "8000.00", ""), ("1002", "", "8000.00")])).await;
    post(&api, voucher("2026-03-25", "办公用品", &[("660202", "3000.00", ""), ("1002", "", "3000.00")])).await;
    for month in ["2026-01", "2026-02", "2026-03"] {
        assert_eq!(
            api.post(&format!("/api/v1/finance/periods/{month}/close"), &json!({})).await.status,
            StatusCode::OK
        );
    }
    let statement = api.get("/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03").await.json();
    let line = |key: &str| {
        statement["lines"].as_array().expect("lines").iter().find(|l| l["key"] == key).expect(key)["amount"].clone()
    };
    assert_eq!(line("administrative"), "3000.00", "{statement}");
    assert_eq!(line("research"), "8000.00");
    assert_eq!(line("operating_profit"), "9000.00");
    assert_eq!(line("net_profit"), "9000.00", "the month's close carried the same to 本年利润");
    let research = api
        .get("/api/v1/finance/reports/statement-line?statement=income-statement&line=research&from=2026-03&to=2026-03")
        .await
        .json();
    assert_eq!(research["amount"], "8000.00", "{research}");
    assert_eq!(research["accounts"][0]["code"], "6602", "it opens the account the research sits under: {research}");
}

/// An auditor reads the cost centre and project lists and their reports but changes nothing:
/// adding, renaming and archiving are refused and the list stays as it was.
#[tokio::test]
async fn an_auditor_reads_the_cost_centre_list_but_may_not_change_it() {
    let app = spawn_app().await;
    let admin = app.api("admin").await;
    admin.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let added = admin.post("/api/v1/finance/dimensions/cost_center", &json!({"code": "SAL", "name": "销售部"})).await;
    assert_eq!(added.status, StatusCode::CREATED);
    app.user("li.shen", &["auditor"], "", "finance").await;
    let auditor = app.api("li.shen").await;
    let listed = auditor.get("/api/v1/finance/dimensions/cost_center").await;
    assert_eq!(listed.status, StatusCode::OK);
    let refused = [
        auditor.post("/api/v1/finance/dimensions/cost_center", &json!({"code": "FIN", "name": "财务部"})).await,
        auditor.post("/api/v1/finance/dimensions/cost_center/SAL/archive", &json!({})).await,
        auditor
            .call(
                axum::http::Method::PATCH,
                "/api/v1/finance/dimensions/cost_center/SAL",
                Some(&json!({"name": "营销部"})),
            )
            .await,
    ];
    for response in &refused {
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{}", response.body);
    }
    assert_eq!(auditor.get("/api/v1/finance/dimensions/cost_center").await.json(), listed.json(), "nothing changed");
    assert_eq!(app.count("audit_log WHERE resource = 'finance.cost_center'").await, 1, "only the administrator's");
    let page = app.signed_in("li.shen").await.get("/finance/dimensions/cost_center").await;
    assert!(page.body.contains("销售部") && !page.body.contains("/finance/dimensions/cost_center/SAL/archive"));
    assert!(
        page.body.contains("/finance/reports/income-statement?slice=cost_center:SAL"),
        "the auditor may read reports"
    );
}

#[tokio::test]
async fn the_general_ledger_gives_each_first_level_account_its_months_and_year_to_date() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    let added =
        api.post("/api/v1/finance/accounts", &json!({"parent": "1002", "code": "100201", "name_zh": "招商银行"})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    // January's capital, February's sale and bank fee, March's purchase, all through the
    // company's account at China Merchants Bank.
    post(&api, voucher("2026-01-05", "投入资本", &[("100201", "100000.00", ""), ("4001", "", "100000.00")])).await;
    post(&api, voucher("2026-02-10", "销售收入", &[("100201", "20000.00", ""), ("6001", "", "20000.00")])).await;
    post(&api, voucher("2026-02-28", "手续费", &[("6603", "50.00", ""), ("100201", "", "50.00")])).await;
    post(&api, voucher("2026-03-12", "采购商品", &[("1405", "30000.00", ""), ("100201", "", "30000.00")])).await;

    let ledger = api.get("/api/v1/finance/reports/general-ledger?from=2026-02&to=2026-03").await;
    assert_eq!(ledger.status, StatusCode::OK, "{}", ledger.body);
    let ledger = ledger.json();
    let items = ledger["items"].as_array().expect("items");
    let codes: Vec<&str> = items.iter().filter_map(|a| a["code"].as_str()).collect();
    assert_eq!(
        codes,
        vec!["1002", "1405", "4001", "6001", "6603"],
        "first-level accounts, the bank's sub-account in 1002"
    );
    // 银行存款: 100,000.00 carried in; February +20,000.00 −50.00; March −30,000.00; the
    // year's totals run from January.
    let bank = &items[0];
    assert_eq!(bank["opening"], "100000.00");
    let months: Vec<(&str, &str, &str, &str, &str)> = bank["months"]
        .as_array()
        .expect("months")
        .iter()
        .map(|m| {
            (
                m["debit"].as_str().unwrap_or(""),
                m["credit"].as_str().unwrap_or(""),
                m["balance"].as_str().unwrap_or(""),
                m["year_debit"].as_str().unwrap_or(""),
                m["year_credit"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        months,
        vec![
            ("20000.00", "50.00", "119950.00", "120000.00", "50.00"),
            ("0.00", "30000.00", "89950.00", "120000.00", "30050.00")
        ]
    );
    // Capital has no movement in the months but a balance, so it is there, on the credit side.
    assert_eq!(
        (items[2]["opening"].as_str(), items[2]["months"][1]["balance"].as_str()),
        (Some("-100000.00"), Some("-100000.00"))
    );
    // One account alone, and one that does not exist.
    let one = api.get("/api/v1/finance/reports/general-ledger?from=2026-02&to=2026-03&code=100201").await.json();
    assert_eq!(one["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["items"][0]["months"][1]["balance"], "89950.00");
    let unknown = api.get("/api/v1/finance/reports/general-ledger?from=2026-02&to=2026-03&code=1999").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
    assert_eq!(unknown.json()["errors"][0]["field"], "code");

    // On the page: 借 and the balance, each month's figure opening that month's lines, and the
    // download with 本年累计.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/reports/general-ledger?from=2026-02&to=2026-03").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let february = page.body.split("id=\"ledger-1002-2026-02\"").nth(1).expect("February of 1002");
    let february = &february[..february.find("</tr>").expect("row end")];
    assert!(february.contains("<td>借</td>") && february.contains("119,950.00"), "{february}");
    assert!(february.contains("/finance/reports/account?code=1002&amp;from=2026-02&amp;to=2026-02"), "{february}");
    let capital = page.body.split("id=\"ledger-4001-2026-03\"").nth(1).expect("March of 4001");
    assert!(capital[..capital.find("</tr>").expect("row end")].contains("<td>贷</td>"), "{capital}");
    let csv = browser.get("/finance/reports/general-ledger?from=2026-02&to=2026-03&format=csv").await;
    assert!(csv.body.contains("本年累计") && csv.body.contains("119950.00"), "{}", csv.body);
    let unknown_page = browser.get("/finance/reports/general-ledger?from=2026-02&to=2026-03&code=1999").await;
    assert_eq!(unknown_page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown_page.body.contains("role=\"alert\""), "the unknown account is named beside its field");
}

#[tokio::test]
async fn the_trial_balance_of_one_cost_centre_holds_only_its_lines() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    for (code, name) in [("SAL", "销售部"), ("ADM", "行政部")] {
        api.post("/api/v1/finance/dimensions/cost_center", &json!({"code": code, "name": name})).await;
    }
    let tagged = |date: &str, memo: &str, lines: &[(&str, &str, &str, &str)]| {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(account, debit, credit, centre)| {
                json!({"account": account, "debit": debit, "credit": credit, "cost_center": centre})
            })
            .collect();
        json!({"date": date, "word": "记", "memo": memo, "lines": lines})
    };
    // March: the sales department's revenue and advertising, the office's rent; the bank and
    // the receivable name no centre.
    post(&api, tagged("2026-03-05", "销售", &[("1122", "20000.00", "", ""), ("6001", "", "20000.00", "SAL")])).await;
    post(&api, tagged("2026-03-10", "广告", &[("6601", "5000.00", "", "SAL"), ("1002", "", "5000.00", "")])).await;
    post(&api, tagged("2026-03-15", "房租", &[("6602", "3000.00", "", "ADM"), ("1002", "", "3000.00", "")])).await;

    let sales = api.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03&cost_center=SAL").await.json();
    let rows: Vec<(&str, &str, &str)> = sales["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            (r["code"].as_str().unwrap_or(""), r["debit"].as_str().unwrap_or(""), r["credit"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(rows, vec![("6001", "0.00", "20000.00"), ("6601", "5000.00", "0.00")]);
    // The whole company's still balances.
    let all = api.get("/api/v1/finance/reports/trial-balance?from=2026-03&to=2026-03").await.json();
    assert_eq!(all["totals"]["debit"], all["totals"]["credit"]);

    // The page's chooser, its note that a centre's figures need not balance, and links that
    // open the centre's lines only.
    let browser = app.signed_in("admin").await;
    let page = browser.get("/finance/reports/trial-balance?from=2026-03&to=2026-03&slice=cost_center:SAL").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<option value=\"cost_center:SAL\" selected>"), "{}", page.body);
    assert!(page.body.contains("借贷合计不必相等"), "{}", page.body);
    let ledger_link = "/finance/reports/account?code=6601&amp;from=2026-03&amp;to=2026-03&#38;cost_center=SAL";
    assert!(page.body.contains(ledger_link), "{}", page.body);
    assert!(!page.body.contains("<code>6602</code>"), "the office's rent is not the sales department's");
}

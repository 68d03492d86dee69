//! Ledger benchmarks: customer invoices of three lines with VAT created and posted one per
//! transaction, through the service layer and through the HTTP API, in runs of 1,000 and
//! 10,000, and by 32 clients at once; and the trial balance, balance sheet, income statement,
//! cost report by centre, budget against actual and ageing report on the books that result,
//! and on books padded to a million (and, with `ZHONGSHU_BENCH_10M=1`, ten million) entry
//! lines, a sixth of them selling expenses charged to two cost centres with a budget.
//!
//!     cargo bench -p finance --bench ledger                       # SQLite
//!     ZHONGSHU_TEST_PG_URL=postgres://… cargo bench -p finance --bench ledger
//!
//! Criterion reports invoices/s for the posting groups (throughput = invoices per batch).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use db::Actor;
use finance::invoicing::{self, InvoiceForm};
use finance::vat::InvoiceLineForm;
use kernel::ids::{CompanyId, UserId};
use kernel::permission::Principal;
use serde_json::json;
use sqlx::Row;
use std::time::{Duration, Instant};

fn invoice_form(party_id: i64, i: u64) -> InvoiceForm {
    let line = |description: &str, quantity: u64, price: &str, rate: &str| InvoiceLineForm {
        description: description.into(),
        quantity: quantity.to_string(),
        unit_price: price.into(),
        vat_rate: rate.into(),
        ..Default::default()
    };
    InvoiceForm {
        kind: "customer".into(),
        party_id,
        date: format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
        lines: vec![
            line("服务器", 1 + i % 5, "28000.00", "13"),
            line("运输服务", 1, "800.00", "9"),
            line("技术服务", 2 + i % 3, "1200.00", "6"),
        ],
        ..Default::default()
    }
}

struct Books {
    app: testkit::TestApp,
    principal: Principal,
    customer: i64,
}

async fn books() -> Books {
    let app = testkit::spawn_app().await;
    let principal = Principal::new(UserId(1), "admin".into(), CompanyId(app.company_id), None, None, true, Vec::new());
    let mut tx = app.db.begin(Actor::user(1, "admin", app.company_id)).await.expect("begin");
    finance::service::set_up_books(&mut tx, &principal, finance::chart::Template::Cas, 2026, 1).await.expect("books");
    tx.commit().await.expect("commit");
    let api = app.api("admin").await;
    let customer = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "北京华信科技有限公司", "roles": ["customer"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("customer");
    Books { app, principal, customer }
}

async fn post_via_service(books: &Books, n: u64, offset: u64) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        let mut tx = books.app.db.begin(Actor::user(1, "admin", books.app.company_id)).await.expect("begin");
        let id = invoicing::create_invoice(&mut tx, &books.principal, &invoice_form(books.customer, offset + i))
            .await
            .expect("invoice");
        invoicing::post_invoice(&mut tx, &books.principal, id).await.expect("post");
        tx.commit().await.expect("commit");
    }
    started.elapsed()
}

async fn post_via_http(books: &Books, api: &testkit::ApiClient, n: u64, offset: u64) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        let draft = api
            .post(
                "/api/v1/finance/invoices",
                &serde_json::to_value(invoice_form(books.customer, offset + i)).expect("json"),
            )
            .await;
        let id = draft.json()["id"].as_i64().expect("id");
        api.post(&format!("/api/v1/finance/invoices/{id}/post"), &json!({})).await;
    }
    started.elapsed()
}

/// `clients` tasks at once, each creating and posting `per_client` invoices one per
/// transaction, all in the same books: they contend for the invoice and voucher number rows,
/// the receivable and revenue balance rows and the customer's spend row, as a busy sales
/// office would.
async fn post_concurrently(books: &Books, clients: u64, per_client: u64, offset: u64) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let db = books.app.db.clone();
        let principal = books.principal.clone();
        let (company, customer) = (books.app.company_id, books.customer);
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                let form = invoice_form(customer, offset + client * per_client + i);
                let mut tx = db.begin(Actor::user(1, "admin", company)).await.expect("begin");
                let id = invoicing::create_invoice(&mut tx, &principal, &form).await.expect("invoice");
                invoicing::post_invoice(&mut tx, &principal, id).await.expect("post");
                tx.commit().await.expect("commit");
            }
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
    started.elapsed()
}

/// Posting throughput with 32 clients at once (the figure is for PostgreSQL).
fn concurrent_posting(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("post_invoice_concurrently");
    group.sample_size(10).sampling_mode(criterion::SamplingMode::Flat).measurement_time(Duration::from_secs(5));
    let (clients, per_client) = (32u64, 50u64);
    group.throughput(Throughput::Elements(clients * per_client));
    group.bench_with_input(BenchmarkId::new("service_32_clients", clients * per_client), &clients, |b, &clients| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let books = books().await;
            let mut total = Duration::ZERO;
            for round in 0..iters {
                total += post_concurrently(&books, clients, per_client, round * clients * per_client).await;
            }
            total
        })
    });
    group.finish();
}

fn posting(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("post_invoice");
    // Each sample posts a whole run of N invoices into fresh books; ten samples per run size.
    group.sample_size(10).sampling_mode(criterion::SamplingMode::Flat).measurement_time(Duration::from_secs(5));
    for n in [1_000u64, 10_000] {
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::new("service", n), &n, |b, &n| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let books = books().await;
                let mut total = Duration::ZERO;
                for round in 0..iters {
                    total += post_via_service(&books, n, round * n).await;
                }
                total
            })
        });
        group.bench_with_input(BenchmarkId::new("http", n), &n, |b, &n| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let books = books().await;
                let api = books.app.api("admin").await;
                let mut total = Duration::ZERO;
                for round in 0..iters {
                    total += post_via_http(&books, &api, n, round * n).await;
                }
                total
            })
        });
    }
    group.finish();
}

fn reports(c: &mut Criterion) {
    reports_at(c, None, "reports_after_5000_invoices");
}

/// Pads the books with `lines` more posted entry lines (four a voucher: Dr 1122, Cr 6001 on two
/// cost centres, Cr 22210102, spread over the twelve months of 2026), their balance rows, and
/// one customer invoice a voucher over 1,000 customers (a third of them paid), written with a
/// few set-based statements: through the posting service ten million lines would take hours,
/// and the reports read the same rows either way.
async fn pad_books(app: &testkit::TestApp, lines: u64) {
    let company = app.company_id;
    // Six lines a voucher: a sale to the east or west sales centre and a selling expense
    // charged to one of them, so the cost and budget reports have centres' costs to read.
    let vouchers = (lines / 6) as i64;
    // Open invoices as before the selling expenses came in (one for each four lines), so the
    // ageing figures stay comparable with earlier runs.
    let invoices = (lines / 4) as i64;
    let months =
        "(VALUES (0, '2026-01'), (1, '2026-02'), (2, '2026-03'), (3, '2026-04'), (4, '2026-05'), (5, '2026-06'), \
                  (6, '2026-07'), (7, '2026-08'), (8, '2026-09'), (9, '2026-10'), (10, '2026-11'), (11, '2026-12')) m";
    let statements = [
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1000) \
         INSERT INTO parties (company_id, number, kind, name, search_text, created_at, updated_at) \
         SELECT $1, 'BULK-' || CAST(n AS TEXT), 'organization', '客户 ' || CAST(n AS TEXT), '', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM seq"
            .to_string(),
        format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $2) \
             INSERT INTO fin_entries (company_id, period, entry_date, word, number, status, kind, memo, created_at, posted_at) \
             SELECT $1, m.column2, m.column2 || '-15', '记', 'B-' || CAST(seq.n AS TEXT), 'posted', 'bulk', '', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' \
             FROM seq JOIN {months} ON m.column1 = seq.n % 12"
        ),
        "INSERT INTO fin_entry_lines (entry_id, line_no, account_id, debit, credit, cost_center, memo) \
         SELECT e.id, k.column1, a.id, k.column3, k.column4, \
           CASE WHEN k.column5 = 'either' THEN CASE WHEN e.id % 2 = 0 THEN 'east' ELSE 'west' END ELSE k.column5 END, '' \
         FROM fin_entries e \
         CROSS JOIN (VALUES (1, '1122', 113000, 0, ''), (2, '6001', 0, 60000, 'east'), (3, '6001', 0, 40000, 'west'), (4, '22210102', 0, 13000, ''), \
                            (5, '6601', 2500, 0, 'either'), (6, '1002', 0, 2500, '')) k \
         JOIN fin_accounts a ON a.company_id = e.company_id AND a.code = k.column2 \
         WHERE e.company_id = $1 AND e.kind = 'bulk' AND $2 > 0"
            .to_string(),
        "INSERT INTO fin_balances (company_id, account_id, period, cost_center, debit, credit) \
         SELECT e.company_id, l.account_id, e.period, l.cost_center, SUM(l.debit), SUM(l.credit) \
         FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id WHERE e.company_id = $1 AND e.kind = 'bulk' AND $2 > 0 \
         GROUP BY e.company_id, l.account_id, e.period, l.cost_center \
         ON CONFLICT (company_id, account_id, period, cost_center) \
         DO UPDATE SET debit = fin_balances.debit + excluded.debit, credit = fin_balances.credit + excluded.credit"
            .to_string(),
        format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $2) \
             INSERT INTO fin_invoices (company_id, kind, party_id, number, status, invoice_date, due_date, tax_inclusive, vat_rounding, net, tax, total, settled, memo, created_at) \
             SELECT $1, 'customer', p.id, 'BULK/' || CAST(seq.n AS TEXT), CASE WHEN seq.n % 3 = 0 THEN 'paid' ELSE 'open' END, \
             m.column2 || '-10', m.column2 || '-28', 0, 'line', 100000, 13000, 113000, CASE WHEN seq.n % 3 = 0 THEN 113000 ELSE 0 END, '', '2026-01-01T00:00:00Z' \
             FROM seq JOIN {months} ON m.column1 = seq.n % 12 \
             JOIN parties p ON p.company_id = $1 AND p.number = 'BULK-' || CAST(1 + seq.n % 1000 AS TEXT)"
        ),
        // Every padding voucher moves money on 1002, so its other lines are cash flow rows,
        // as posting would have kept them.
        "INSERT INTO fin_cash_flow_balances (company_id, account_id, period, source, debit, credit) \
         SELECT e.company_id, l.account_id, e.period, '', SUM(l.debit), SUM(l.credit) \
         FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.kind = 'bulk' AND a.code <> '1002' AND $2 > 0 \
         GROUP BY e.company_id, l.account_id, e.period \
         ON CONFLICT (company_id, account_id, period, source) \
         DO UPDATE SET debit = fin_cash_flow_balances.debit + excluded.debit, credit = fin_cash_flow_balances.credit + excluded.credit"
            .to_string(),
        // The two centres listed, each with a monthly selling budget for the year.
        "INSERT INTO fin_dimensions (company_id, dimension, code, name) \
         SELECT $1, 'cost_center', k.column1, k.column1 FROM (VALUES ('east'), ('west')) k WHERE $2 > 0"
            .to_string(),
        format!(
            "INSERT INTO fin_budgets (company_id, dimension, code, account_id, period, amount) \
             SELECT $1, 'cost_center', c.column1, a.id, m.column2, CAST($2 AS BIGINT) * 1200 / 12 \
             FROM (VALUES ('east'), ('west')) c CROSS JOIN {months} JOIN fin_accounts a ON a.company_id = $1 AND a.code = '6601'"
        ),
    ];
    let mut tx = app.db.begin(Actor::system()).await.expect("begin");
    for sql in &statements {
        let count = if sql.contains("INSERT INTO fin_invoices") { invoices } else { vouchers };
        sqlx::query(sql).bind(company).bind(count).execute(tx.conn()).await.expect("pad the books");
    }
    tx.commit().await.expect("commit");
    app.db.analyze().await.expect("analyze");
}

/// The trial balance, balance sheet, income statement, cost and budget reports, general
/// ledger, a month's VAT return and ageing on
/// books of 5,000 posted
/// invoices (20,000 entry lines), padded to `lines` entry lines when given.
fn reports_at(c: &mut Criterion, lines: Option<u64>, name: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let books = runtime.block_on(async {
        let books = books().await;
        post_via_service(&books, 5_000, 0).await;
        if let Some(lines) = lines {
            pad_books(&books.app, lines - 20_000).await;
        }
        books
    });
    let company = books.app.company_id;
    let mut group = c.benchmark_group(name);
    if lines.is_some() {
        group.sample_size(10);
    }
    group.bench_function("trial_balance_year", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::service::trial_balance(&mut conn, company, "2026-01", "2026-12").await.expect("tb")
        })
    });
    group.bench_function("balance_sheet", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::service::balance_sheet(&mut conn, company, "2026-12").await.expect("sheet")
        })
    });
    group.bench_function("income_statement_year", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::service::income_statement(
                &mut conn,
                company,
                "2026-01",
                "2026-12",
                finance::service::LedgerSlice::All,
            )
            .await
            .expect("income")
        })
    });
    group.bench_function("cost_report_year", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            let centres = finance::dimensions::Dimension::CostCenter;
            finance::costs::cost_report(&mut conn, company, centres, "2026-01", "2026-12").await.expect("costs")
        })
    });
    group.bench_function("budget_report_year", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            let centres = finance::dimensions::Dimension::CostCenter;
            finance::budgets::budget_report(&mut conn, company, centres, "2026-01", "2026-12").await.expect("budget")
        })
    });
    group.bench_function("general_ledger_year", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::service::general_ledger(&mut conn, company, "2026-01", "2026-12", None).await.expect("ledger")
        })
    });
    group.bench_function("cash_flow_year", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::cash_flow::cash_flow_statement(&mut conn, company, "2026-01", "2026-12").await.expect("cash flow")
        })
    });
    group.bench_function("vat_return_month", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::vat_return::vat_return(&mut conn, company, "2026-06", "2026-06").await.expect("vat")
        })
    });
    // A statement line of the bank account nothing booked, in a month whose every padding
    // voucher moves money on that account: the voucher suggestions' worst plain case.
    let line = runtime.block_on(async {
        let mut tx = books.app.db.begin(Actor::system()).await.expect("begin");
        let id: i64 = sqlx::query(
            "INSERT INTO fin_bank_lines (company_id, bank_account, line_date, amount, counterparty, reference, memo, batch, imported_at, currency) \
             VALUES ($1, '1002', '2026-06-20', -800000, '', '', '', 'bench', '2026-06-21T00:00:00Z', 'CNY') RETURNING id",
        )
        .bind(company)
        .fetch_one(tx.conn())
        .await
        .expect("a statement line")
        .get("id");
        tx.commit().await.expect("commit");
        id
    });
    group.bench_function("bank_line_suggestions", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::bank::suggestions(&mut conn, company, line).await.expect("suggestions")
        })
    });
    // The bank page of a month nothing was matched in: 200 unmatched lines over June, each
    // with its suggestions, read at once as the page reads them.
    runtime.block_on(async {
        let mut tx = books.app.db.begin(Actor::system()).await.expect("begin");
        let mut q = db::SqlBuilder::new(
            "INSERT INTO fin_bank_lines (company_id, bank_account, line_date, amount, counterparty, reference, memo, batch, imported_at, currency) VALUES ",
        );
        for i in 0..199_i64 {
            q.push(if i == 0 { "(" } else { ", (" }).bind(company).push(", '1002', ");
            q.bind(format!("2026-06-{:02}", 1 + i % 30)).push(", ").bind(-(100_000 + i * 137));
            q.push(", '', '', '', 'bench', '2026-07-01T00:00:00Z', 'CNY')");
        }
        q.build().execute(tx.conn()).await.expect("statement lines");
        tx.commit().await.expect("commit");
    });
    let bank_page = || async {
        let mut conn = books.app.db.read_conn().await.expect("conn");
        let lines = finance::bank::lines(&mut conn, company, true).await.expect("lines");
        finance::bank::suggestions_for(&mut conn, company, &lines).await.expect("suggestions")
    };
    group.bench_function("bank_page_200_lines", |b| b.to_async(&runtime).iter(bank_page));
    // The bank journal of one day in June: every padding voucher pays a selling expense from
    // the bank, so the day holds hundreds of bank lines, each with its counter accounts.
    group.bench_function("bank_journal_day", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::journal::journal(&mut conn, company, "1002", ("2026-06-20", "2026-06-20"), "")
                .await
                .expect("journal")
        })
    });
    group.bench_function("ageing", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::invoicing::ageing(&mut conn, company, "receivable", "2026-12-31", kernel::Currency::CNY)
                .await
                .expect("ageing")
        })
    });
    // The worst case of the suggestions: every padding voucher made a voucher entered by hand
    // (so the suggestions read them all, a month and a half of them around the line's day).
    runtime.block_on(async {
        let mut tx = books.app.db.begin(Actor::system()).await.expect("begin");
        sqlx::query("UPDATE fin_entries SET kind = 'manual' WHERE company_id = $1 AND kind = 'bulk'")
            .bind(company)
            .execute(tx.conn())
            .await
            .expect("made manual");
        tx.commit().await.expect("commit");
    });
    group.bench_function("bank_line_suggestions_all_vouchers_by_hand", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = books.app.db.read_conn().await.expect("conn");
            finance::bank::suggestions(&mut conn, company, line).await.expect("suggestions")
        })
    });
    group.bench_function("bank_page_200_lines_all_vouchers_by_hand", |b| b.to_async(&runtime).iter(bank_page));
    group.finish();
}

/// A million entry lines; ten million too when `ZHONGSHU_BENCH_10M=1` (padding them takes
/// minutes).
fn reports_at_scale(c: &mut Criterion) {
    reports_at(c, Some(1_000_000), "reports_at_1m_lines");
    if std::env::var("ZHONGSHU_BENCH_10M").is_ok_and(|v| v == "1") {
        reports_at(c, Some(10_000_000), "reports_at_10m_lines");
    }
}

criterion_group!(benches, posting, concurrent_posting, reports, reports_at_scale);
criterion_main!(benches);

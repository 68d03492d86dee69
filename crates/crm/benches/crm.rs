//! The CRM's reads at volume: a customer's 360 page at 10,000 timeline items, the kanban at
//! 100,000 open opportunities (50 cards a stage), and a spend segment counted over 100,000
//! customers with 1,000,000 posted invoices. Rows are written by bulk SQL (the service layer
//! would take hours at this volume; what is measured is the reading), then ANALYZE.
//!
//!     cargo bench -p crm --bench crm                                    # SQLite
//!     ZHONGSHU_TEST_PG_URL=postgres://… cargo bench -p crm --bench crm  # PostgreSQL
//!
//! The full segment scale, a million customers with ten million order lines, is
//! `CRM_BENCH_CUSTOMERS=1000000 CRM_BENCH_INVOICES_PER_CUSTOMER=2`: two invoices of five lines
//! a customer. Spend is read from the invoices' totals (kept by finance in the posting
//! transaction), so the lines themselves are not written: no query of the segment reads them.

use criterion::{criterion_group, criterion_main, Criterion};
use kernel::ids::{CompanyId, UserId};
use kernel::permission::Principal;
use serde_json::json;
use std::time::Duration;

const TIMELINE_ITEMS: i64 = 10_000;
const OPEN_OPPORTUNITIES: i64 = 100_000;
/// Customers and their invoices for the segment (see the header for the full scale).
fn scale(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Store {
    app: testkit::TestApp,
    principal: Principal,
    customer: i64,
}

async fn store() -> Store {
    let customers = scale("CRM_BENCH_CUSTOMERS", 100_000);
    let invoices_per_customer = scale("CRM_BENCH_INVOICES_PER_CUSTOMER", 10);
    let app = testkit::spawn_app().await;
    let company = app.company_id;
    let principal = Principal::new(UserId(1), "admin".into(), CompanyId(company), None, None, true, Vec::new());
    let api = app.api("admin").await;
    let customer = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "厦门华信科技有限公司", "roles": ["customer"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("customer");
    // The deals on the board belong to another customer, so the 360 page reads its 10,000 items.
    let other = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "福州金桥电子有限公司", "roles": ["customer"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("customer");
    let stages = api.get("/api/v1/crm/stages").await.json();
    let stage_ids: Vec<i64> =
        stages["items"].as_array().expect("stages").iter().map(|s| s["id"].as_i64().unwrap()).collect();
    // Ten thousand calls on one customer, a second apart.
    app.bulk(
        "crm_activities",
        "company_id, party_id, kind, subject, body, done_at, owner_id, created_at",
        TIMELINE_ITEMS,
        2_000,
        |q, i| {
            let at =
                kernel::clock::format_instant(chrono::DateTime::from_timestamp(1_767_225_600 + i, 0).expect("instant"));
            q.bind(company)
                .push(", ")
                .bind(customer)
                .push(", 'call', ")
                .bind(format!("回访 {i}"))
                .push(", '', ")
                .bind(at.clone());
            q.push(", 1, ").bind(at);
        },
    )
    .await;
    // A hundred thousand open deals across the four open stages.
    app.bulk(
        "crm_opportunities",
        "company_id, number, title, party_id, stage_id, expected_revenue, close_date, status, owner_id, created_at",
        OPEN_OPPORTUNITIES,
        2_000,
        |q, i| {
            q.bind(company)
                .push(", ")
                .bind(format!("OP/BENCH/{i:06}"))
                .push(", ")
                .bind(format!("商机 {i}"))
                .push(", ")
                .bind(other);
            q.push(", ")
                .bind(stage_ids[(i % 4) as usize])
                .push(", ")
                .bind(100_000 + (i % 1_000) * 1_000)
                .push(", '2026-06-30', 'open', 1, '2026-03-01T00:00:00.000000Z'");
        },
    )
    .await;
    // A hundred thousand customers (by default), ten posted invoices each.
    app.bulk(
        "parties",
        "company_id, number, kind, name, search_text, created_at, updated_at",
        customers,
        2_000,
        |q, i| {
            q.bind(company)
                .push(", ")
                .bind(format!("PTY/BENCH/{i:06}"))
                .push(", 'organization', ")
                .bind(format!("客户 {i}"));
            q.push(", ")
                .bind(format!("客户 {i}"))
                .push(", '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'");
        },
    )
    .await;
    // Statistics first: the lookups by number below must see a million rows, not an empty
    // table (PostgreSQL would scan them all for each row).
    app.db.analyze().await.expect("analyze");
    app.bulk("party_roles", "party_id, role", customers, 5_000, |q, i| {
        // By (company, number): the unique index answers it.
        q.push("(SELECT id FROM parties WHERE company_id = ")
            .bind(company)
            .push(" AND number = ")
            .bind(format!("PTY/BENCH/{i:06}"));
        q.push("), 'customer'");
    })
    .await;
    app.bulk("fin_invoices",
        "company_id, kind, party_id, number, status, invoice_date, due_date, tax_inclusive, vat_rounding, net, tax, total, settled, created_at",
        customers * invoices_per_customer,
        1_000,
        |q, i| {
            let party = i / invoices_per_customer;
            let total = (1_000_000 + (party % 100) * 50_000) * 10 / invoices_per_customer;
            q.bind(company).push(", 'customer', (SELECT id FROM parties WHERE company_id = ").bind(company);
            q.push(" AND number = ").bind(format!("PTY/BENCH/{party:06}"));
            q.push("), ").bind(format!("INV/BENCH/{i:07}")).push(", 'paid', '2026-02-10', '2026-03-10', 1, 'line', ").bind(total);
            q.push(", 0, ").bind(total).push(", ").bind(total).push(", '2026-02-10T00:00:00.000000Z'");
        },
    )
    .await;
    // The month's job sums each customer's twelve months, as the server does when a month
    // begins; the segment reads those sums.
    app.run_jobs().await;
    app.db.analyze().await.expect("analyze");
    Store { app, principal, customer }
}

fn crm_reads(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime.block_on(store());
    let mut group = c.benchmark_group("crm");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 15).expect("date");
    group.bench_function("customer_360_first_page_at_10k_items", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            crm::timeline::customer(&mut conn, &store.principal, store.customer, None, 50).await.expect("360")
        })
    });
    group.bench_function("kanban_at_100k_open_opportunities", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            crm::service::board(&mut conn, &store.principal, None, None, 50).await.expect("board")
        })
    });
    let segment = crm::marketing::Segment {
        id: 0,
        name: "big".into(),
        min_spend_12m: Some(12_000_000),
        region: String::new(),
        tag: String::new(),
        no_purchase_since: None,
    };
    group.bench_function("segment_count", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            crm::marketing::count(&mut conn, &store.principal, &segment, today).await.expect("count")
        })
    });
    group.finish();
}

criterion_group!(benches, crm_reads);
criterion_main!(benches);

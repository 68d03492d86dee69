//! Stock benchmarks: done moves recorded one per transaction through the service layer (a
//! receipt, then a delivery that must pass the never-below-zero check), valued, and, in the
//! `with_ledger` case, posted to the books as a voucher each; the on-hand report, the
//! valuation report and a product's stock ledger after 20,000 moves over 200 products; and
//! availability, valuation and on hand again after a million moves (the 20,000 plus 980,000
//! receipts and deliveries written straight in SQL, which leave on hand unchanged).
//!
//!     cargo bench -p stock --bench moves                       # SQLite
//!     ZHONGSHU_TEST_PG_URL=postgres://… cargo bench -p stock --bench moves
//!
//! Criterion reports moves/s for the `move` group (throughput = moves per batch).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use db::Actor;
use kernel::ids::{CompanyId, UserId};
use kernel::permission::Principal;
use serde_json::json;
use std::time::{Duration, Instant};
use stock::service::{self, MoveForm};

struct Store {
    app: testkit::TestApp,
    principal: Principal,
    products: Vec<i64>,
}

async fn store(products: usize, books: bool) -> Store {
    let app = testkit::spawn_app().await;
    let principal = Principal::new(UserId(1), "admin".into(), CompanyId(app.company_id), None, None, true, Vec::new());
    let mut tx = app.db.begin(Actor::user(1, "admin", app.company_id)).await.expect("begin");
    service::create_warehouse(&mut tx, &principal, "SH", "上海总仓").await.expect("warehouse");
    if books {
        finance::service::set_up_books(&mut tx, &principal, finance::chart::Template::Cas, 2026, 1)
            .await
            .expect("books");
    }
    tx.commit().await.expect("commit");
    let api = app.api("admin").await;
    let mut ids = Vec::with_capacity(products);
    for i in 0..products {
        let form = json!({"code": format!("P{i:05}"), "name": format!("商品 {i}"), "kind": "goods", "uom": "pc",
            "purchase_uom": "pc", "sales_uom": "pc", "vat_rate": "13", "sale_price": "10.00"});
        ids.push(api.post("/api/v1/catalog/products", &form).await.json()["id"].as_i64().expect("product"));
    }
    Store { app, principal, products: ids }
}

/// Records n moves: even ones receive 10 pieces, odd ones deliver 7 of them.
async fn record(store: &Store, n: u64, offset: u64) -> Duration {
    let started = Instant::now();
    for i in offset..offset + n {
        let product_id = store.products[(i / 2) as usize % store.products.len()];
        let (quantity, from, to) =
            if i % 2 == 0 { ("10", "SUPPLIER", "SH/STOCK") } else { ("7", "SH/STOCK", "CUSTOMER") };
        let form = MoveForm {
            product_id,
            quantity: quantity.into(),
            from: from.into(),
            to: to.into(),
            date: format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            unit_cost: if from == "SUPPLIER" { "12.50".into() } else { String::new() },
            ..Default::default()
        };
        let mut tx = store.app.db.begin(Actor::user(1, "admin", store.app.company_id)).await.expect("begin");
        service::move_stock(&mut tx, &store.principal, &form).await.expect("move");
        tx.commit().await.expect("commit");
    }
    started.elapsed()
}

fn moves(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("move");
    group.sample_size(10).sampling_mode(criterion::SamplingMode::Flat).measurement_time(Duration::from_secs(5));
    let n = 1_000u64;
    group.throughput(Throughput::Elements(n));
    for (name, books) in [("service", false), ("with_ledger", true)] {
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
            b.to_async(&runtime).iter_custom(|iters| async move {
                let store = store(20, books).await;
                let mut total = Duration::ZERO;
                for round in 0..iters {
                    total += record(&store, n, round * n).await;
                }
                total
            })
        });
    }
    group.finish();
}

fn reports(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime.block_on(async {
        let store = store(200, true).await;
        record(&store, 20_000, 0).await;
        store
    });
    let company = store.app.company_id;
    let product = store.products[0];
    let mut group = c.benchmark_group("reports_after_20000_moves");
    group.bench_function("on_hand_all_products", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            service::on_hand(&mut conn, company, None, None).await.expect("on hand")
        })
    });
    group.bench_function("valuation_all_products", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            let rows = service::valuation(&mut conn, company).await.expect("valuation");
            let ledger = service::stock_account_balance(&mut conn, company).await.expect("ledger");
            (rows, ledger)
        })
    });
    group.bench_function("ledger_of_one_product", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            service::ledger(&mut conn, company, product).await.expect("ledger")
        })
    });
    group.finish();
}

/// Adds `pairs` receipts and as many deliveries of the same quantity, straight in SQL, so the
/// company has a long history while what is on hand (and its value) stays as it was.
async fn pad_history(store: &Store, pairs: i64) {
    let company = store.app.company_id;
    for (from, to) in [("SUPPLIER", "SH/STOCK"), ("SH/STOCK", "CUSTOMER")] {
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {pairs}) \
             INSERT INTO stk_moves (company_id, number, product_id, quantity, from_location_id, to_location_id, lot, reference, move_date, created_at, value) \
             SELECT {company}, 'H-{from}-' || CAST(i AS TEXT), (SELECT MIN(id) FROM cat_products WHERE company_id = {company}) + (i % 200), 5000000, \
               (SELECT id FROM stk_locations WHERE company_id = {company} AND code = '{from}'), \
               (SELECT id FROM stk_locations WHERE company_id = {company} AND code = '{to}'), '', 'history', '2025-06-01', '2025-06-01T00:00:00Z', 0 FROM n"
        );
        let mut tx = store.app.db.begin(Actor::system()).await.expect("begin");
        sqlx::query(&sql).execute(tx.conn()).await.expect("history");
        tx.commit().await.expect("commit");
    }
    // As the database's own maintenance would after a bulk load: fresh statistics for the planner.
    store.app.db.analyze().await.expect("analyze");
}

fn at_a_million_moves(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime.block_on(async {
        let store = store(200, true).await;
        record(&store, 20_000, 0).await;
        pad_history(&store, 490_000).await;
        store
    });
    let company = store.app.company_id;
    let product = store.products[0];
    let mut group = c.benchmark_group("reports_after_1000000_moves");
    group.bench_function("availability_of_one_product", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            service::availability(&mut conn, company, product).await.expect("availability")
        })
    });
    group.bench_function("valuation_all_products", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            let rows = service::valuation(&mut conn, company).await.expect("valuation");
            let ledger = service::stock_account_balance(&mut conn, company).await.expect("ledger");
            (rows, ledger)
        })
    });
    group.bench_function("on_hand_all_products", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            service::on_hand(&mut conn, company, None, None).await.expect("on hand")
        })
    });
    group.bench_function("ledger_of_one_product_5000_moves", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            service::ledger(&mut conn, company, product).await.expect("ledger")
        })
    });
    group.bench_function("turnover_of_a_month", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut conn = store.app.db.read_conn().await.expect("conn");
            stock::reports::turnover(&mut conn, company, "2026-03-01", "2026-03-31").await.expect("turnover")
        })
    });
    group.finish();
}

criterion_group!(benches, moves, reports, at_a_million_moves);
criterion_main!(benches);

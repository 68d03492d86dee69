//! Order-to-cash cycles through the service layer, each step its own transaction as a user
//! would do it: a quotation of two lines (one stocked product, one service), its confirmation
//! (credit check and reservation), the delivery (a valued stock move posting the cost of
//! sales), the invoice (posted) and the customer's payment (posted, allocated).
//!
//!     cargo bench -p sales --bench order_to_cash                       # SQLite
//!     ZHONGSHU_TEST_PG_URL=postgres://… cargo bench -p sales --bench order_to_cash
//!
//! Criterion reports cycles/s (throughput = cycles per batch).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use db::Actor;
use kernel::ids::{CompanyId, UserId};
use kernel::permission::Principal;
use sales::service::{self, DeliveryForm, OrderForm, OrderLineForm};
use serde_json::json;
use std::time::{Duration, Instant};

struct Store {
    app: testkit::TestApp,
    principal: Principal,
    customer: i64,
    goods: i64,
    service: i64,
}

async fn store() -> Store {
    let app = testkit::spawn_app().await;
    let principal = Principal::new(UserId(1), "admin".into(), CompanyId(app.company_id), None, None, true, Vec::new());
    let api = app.api("admin").await;
    api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    api.post("/api/v1/stock/warehouses", &json!({"code": "SH", "name": "上海总仓"})).await;
    let customer = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "厦门华信科技有限公司", "roles": ["customer"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("customer");
    let product = |code: &str, kind: &str, uom: &str| json!({"code": code, "name": code, "kind": kind, "uom": uom, "purchase_uom": uom, "sales_uom": uom, "vat_rate": "13", "sale_price": "20.00"});
    let goods = api.post("/api/v1/catalog/products", &product("NB-14", "goods", "pc")).await.json()["id"]
        .as_i64()
        .expect("goods");
    let service = api.post("/api/v1/catalog/products", &product("SVC-1", "service", "h")).await.json()["id"]
        .as_i64()
        .expect("service");
    // Enough stock for every cycle the benchmark may run.
    let receipt = json!({"product_id": goods, "quantity": "1000000", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "11", "date": "2026-01-02"});
    api.post("/api/v1/stock/moves", &receipt).await;
    Store { app, principal, customer, goods, service }
}

async fn cycle(store: &Store, i: u64) {
    let date = format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
    let actor = || Actor::user(1, "admin", store.app.company_id);
    let p = &store.principal;
    let form = OrderForm {
        customer_id: store.customer,
        warehouse: "SH".into(),
        date: date.clone(),
        tax_inclusive: true,
        memo: String::new(),
        cost_center: String::new(),
        project: String::new(),
        lines: vec![
            OrderLineForm {
                product_id: store.goods,
                quantity: "3".into(),
                unit: String::new(),
                unit_price: String::new(),
            },
            OrderLineForm {
                product_id: store.service,
                quantity: "1".into(),
                unit: String::new(),
                unit_price: "120.00".into(),
            },
        ],
    };
    let mut tx = store.app.db.begin(actor()).await.expect("begin");
    let id = service::create_quotation(&mut tx, p, &form).await.expect("quotation");
    tx.commit().await.expect("commit");
    let mut tx = store.app.db.begin(actor()).await.expect("begin");
    service::confirm_order(&mut tx, p, id).await.expect("confirm");
    tx.commit().await.expect("commit");
    let mut tx = store.app.db.begin(actor()).await.expect("begin");
    service::deliver(&mut tx, p, id, &DeliveryForm { date: date.clone(), ..Default::default() })
        .await
        .expect("deliver");
    tx.commit().await.expect("commit");
    let mut tx = store.app.db.begin(actor()).await.expect("begin");
    let invoice = service::invoice(&mut tx, p, id, &date).await.expect("invoice");
    tx.commit().await.expect("commit");
    let payment = finance::invoicing::PaymentForm {
        kind: "receipt".into(),
        party_id: store.customer,
        date,
        amount: "180.00".into(),
        allocations: Some(vec![finance::invoicing::AllocationForm { invoice_id: invoice, amount: "180.00".into() }]),
        ..Default::default()
    };
    let mut tx = store.app.db.begin(actor()).await.expect("begin");
    finance::invoicing::record_payment(&mut tx, p, &payment).await.expect("payment");
    tx.commit().await.expect("commit");
}

fn order_to_cash(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("order_to_cash");
    group.sample_size(10).sampling_mode(criterion::SamplingMode::Flat).measurement_time(Duration::from_secs(10));
    let n = 100u64;
    group.throughput(Throughput::Elements(n));
    group.bench_with_input(BenchmarkId::new("cycles", n), &n, |b, &n| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let store = store().await;
            let started = Instant::now();
            for i in 0..iters * n {
                cycle(&store, i).await;
            }
            started.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, order_to_cash);
criterion_main!(benches);

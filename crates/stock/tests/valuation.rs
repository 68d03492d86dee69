//! Stock valuation as the accountant sees it: notebooks bought at two prices and sold, each
//! move valued by moving average or FIFO and posted to the ledger in the same transaction, so
//! the valuation report always equals the balance of 1405 库存商品.

use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::{json, Value};
use sqlx::Row;
use testkit::{spawn_app, ApiClient, TestApp};

/// A company with books for 2026, the Shanghai warehouse and one product costed `costing`.
async fn books_and_warehouse(costing: &str) -> (TestApp, ApiClient, i64) {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let books = api.post("/api/v1/finance/setup", &json!({"year": 2026})).await;
    assert_eq!(books.status, StatusCode::CREATED, "{}", books.body);
    let warehouse = api.post("/api/v1/stock/warehouses", &json!({"code": "SH", "name": "上海总仓"})).await;
    assert_eq!(warehouse.status, StatusCode::CREATED, "{}", warehouse.body);
    let product = product(&api, "NB-14", costing).await;
    (app, api, product)
}

async fn product(api: &ApiClient, code: &str, costing: &str) -> i64 {
    let form = json!({"code": code, "name": format!("笔记本 {code}"), "kind": "goods", "uom": "pc", "purchase_uom": "pc",
        "sales_uom": "pc", "vat_rate": "13", "costing": costing, "sale_price": "20.00"});
    let created = api.post("/api/v1/catalog/products", &form).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.json()["id"].as_i64().expect("id")
}

async fn receive(api: &ApiClient, product: i64, quantity: &str, unit_cost: &str, date: &str) -> Value {
    let form = json!({"product_id": product, "quantity": quantity, "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": unit_cost, "date": date});
    let made = api.post("/api/v1/stock/moves", &form).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()
}

async fn deliver(api: &ApiClient, product: i64, quantity: &str, date: &str) -> Value {
    let form = json!({"product_id": product, "quantity": quantity, "from": "SH/STOCK", "to": "CUSTOMER", "date": date});
    let made = api.post("/api/v1/stock/moves", &form).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()
}

/// Debit minus credit of an account over every period, in fen.
async fn balance(app: &TestApp, code: &str) -> i64 {
    sqlx::query(
        "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM fin_balances b \
         JOIN fin_accounts a ON a.id = b.account_id WHERE a.code = $1",
    )
    .bind(code)
    .fetch_one(app.db.reader())
    .await
    .expect("balance")
    .try_get("net")
    .expect("net")
}

async fn move_value(app: &TestApp, id: i64) -> i64 {
    sqlx::query("SELECT value FROM stk_moves WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.reader())
        .await
        .expect("move")
        .try_get("value")
        .expect("value")
}

#[tokio::test]
async fn notebooks_bought_at_ten_and_thirteen_cost_eleven_on_average_and_their_sale_books_cogs() {
    let (app, api, notebook) = books_and_warehouse("moving_average").await;

    // 100 notebooks at 10.00: Dr 1405 1,000.00 / Cr 1402 1,000.00 (the bill has not come yet).
    receive(&api, notebook, "100", "10.00", "2026-03-02").await;
    assert_eq!((balance(&app, "1405").await, balance(&app, "1402").await), (100_000, -100_000));

    // 50 more at 13.00: 150 notebooks worth 1,650.00, 11.00 each.
    receive(&api, notebook, "50", "13.00", "2026-03-09").await;
    let report = api.get("/api/v1/stock/valuation").await.json();
    assert_eq!(report["items"][0]["quantity"], "150");
    assert_eq!(report["items"][0]["value"], "1650.00");
    assert_eq!(report["items"][0]["average_cost"], "11");
    assert_eq!((report["total"].as_str(), report["ledger_balance"].as_str()), (Some("1650.00"), Some("1650.00")));

    // 120 delivered to a customer leave at 11.00: Dr 6401 1,320.00 / Cr 1405 1,320.00.
    let sale = deliver(&api, notebook, "120", "2026-03-16").await;
    let sale_id = sale["id"].as_i64().expect("id");
    assert_eq!(move_value(&app, sale_id).await, 132_000);
    assert_eq!((balance(&app, "6401").await, balance(&app, "1405").await), (132_000, 33_000));
    let voucher: String = sqlx::query(
        "SELECT e.number FROM fin_entries e JOIN stk_moves m ON m.entry_id = e.id WHERE m.id = $1 AND e.status = 'posted'",
    )
    .bind(sale_id)
    .fetch_one(app.db.reader())
    .await
    .expect("the delivery's voucher")
    .try_get("number")
    .expect("number");
    assert!(voucher.starts_with("转-"), "{voucher}");

    // The count finds 28 of the 30: two notebooks, 22.00, wait in 1901 for approval.
    let count = json!({"product_id": notebook, "location": "SH/STOCK", "counted": "28", "date": "2026-03-31"});
    assert_eq!(api.post("/api/v1/stock/counts", &count).await.status, StatusCode::OK);
    assert_eq!((balance(&app, "1901").await, balance(&app, "1405").await), (2_200, 30_800));

    // The customer sends the whole delivery back: the reversal brings the 120 back at exactly
    // the 1,320.00 they left with, and the cost of sales is undone.
    let reversed = api.post(&format!("/api/v1/stock/moves/{sale_id}/reverse"), &json!({"date": "2026-03-31"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    assert_eq!((balance(&app, "6401").await, balance(&app, "1405").await), (0, 162_800));
    let again = api.post(&format!("/api/v1/stock/moves/{sale_id}/reverse"), &json!({"date": "2026-03-31"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a move is reversed once");
    let reversal = reversed.json()["id"].as_i64().expect("id");
    let undo = api.post(&format!("/api/v1/stock/moves/{reversal}/reverse"), &json!({"date": "2026-03-31"})).await;
    assert_eq!(undo.status, StatusCode::CONFLICT, "a reversal is not reversed");

    let report = api.get("/api/v1/stock/valuation").await.json();
    assert_eq!((report["total"].as_str(), report["ledger_balance"].as_str()), (Some("1628.00"), Some("1628.00")));
    assert_eq!(report["items"][0]["quantity"], "148");

    // The product's ledger shows the running value beside the running quantity.
    let ledger = api.get(&format!("/api/v1/stock/ledger?product_id={notebook}")).await.json();
    let last = ledger["items"].as_array().expect("items").last().expect("a line").clone();
    assert_eq!((last["balance"].as_str(), last["value_balance"].as_str()), (Some("148"), Some("1628.00")));
}

#[tokio::test]
async fn fifo_notebooks_leave_oldest_first() {
    let (app, api, notebook) = books_and_warehouse("fifo").await;
    receive(&api, notebook, "100", "10.00", "2026-03-02").await;
    receive(&api, notebook, "50", "13.00", "2026-03-09").await;
    // 100 at 10.00 and 20 at 13.00.
    let sale = deliver(&api, notebook, "120", "2026-03-16").await;
    assert_eq!(move_value(&app, sale["id"].as_i64().expect("id")).await, 126_000);
    let report = api.get("/api/v1/stock/valuation").await.json();
    assert_eq!(
        (report["items"][0]["value"].as_str(), report["items"][0]["average_cost"].as_str()),
        (Some("390.00"), Some("13"))
    );
    assert_eq!(balance(&app, "1405").await, 39_000);
}

#[tokio::test]
async fn a_move_the_ledger_refuses_is_not_recorded_at_all() {
    let (app, api, notebook) = books_and_warehouse("moving_average").await;
    // The books start in 2026: a receipt dated 2025 has no period to post to.
    let form = json!({"product_id": notebook, "quantity": "10", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "10", "date": "2025-12-30"});
    let refused = api.post("/api/v1/stock/moves", &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert_eq!(refused.json()["errors"][0]["field"], "date");
    assert_eq!(app.count("stk_moves").await, 0);
    assert_eq!(app.count("stk_quants WHERE quantity <> 0").await, 0);
    assert_eq!(app.count("stk_valuations WHERE quantity <> 0").await, 0);
}

#[tokio::test]
async fn costs_are_entered_for_receipts_only_and_refused_when_missing_or_absurd() {
    let (_app, api, notebook) = books_and_warehouse("moving_average").await;
    let missing =
        json!({"product_id": notebook, "quantity": "10", "from": "SUPPLIER", "to": "SH/STOCK", "date": "2026-03-02"});
    let refused = api.post("/api/v1/stock/moves", &missing).await;
    assert_eq!(refused.json()["errors"][0]["field"], "unit_cost");
    for cost in ["-1", "abc", "99999999999"] {
        let mut form = missing.clone();
        form["unit_cost"] = json!(cost);
        let refused = api.post("/api/v1/stock/moves", &form).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{cost}");
        assert_eq!(refused.json()["errors"][0]["field"], "unit_cost", "{cost}");
    }
    receive(&api, notebook, "10", "10", "2026-03-02").await;
    let delivery = json!({"product_id": notebook, "quantity": "1", "from": "SH/STOCK", "to": "CUSTOMER", "unit_cost": "99", "date": "2026-03-03"});
    let refused = api.post("/api/v1/stock/moves", &delivery).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.stock.unit_cost_inbound");
}

#[tokio::test]
async fn a_storekeeper_without_ledger_rights_still_posts_the_value_of_his_moves() {
    let (app, _api, notebook) = books_and_warehouse("moving_average").await;
    app.role(
        "storekeeper",
        &[
            ("stock.move.create", kernel::permission::Scope::Company),
            ("stock.move.read", kernel::permission::Scope::Company),
        ],
    )
    .await;
    app.user("xu.cang", &["storekeeper"], "仓储", "仓储部").await;
    let storekeeper = app.api("xu.cang").await;
    receive(&storekeeper, notebook, "10", "10", "2026-03-02").await;
    assert_eq!(balance(&app, "1405").await, 10_000);
    // … but cannot read the ledger itself.
    assert_eq!(storekeeper.get("/api/v1/finance/accounts").await.status, StatusCode::FORBIDDEN);
}

/// One step of random work on a moving-average and a FIFO product: (kind, product, quantity,
/// cost in yuan).
fn step() -> impl Strategy<Value = (u8, usize, u32, u32)> {
    (0u8..5, 0usize..2, 1u32..40, 1u32..30)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]

    #[test]
    fn the_valuation_report_always_equals_the_stock_account(steps in proptest::collection::vec(step(), 1..25)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (app, api, average) = books_and_warehouse("moving_average").await;
            let fifo = product(&api, "VAC-F", "fifo").await;
            api.post("/api/v1/stock/warehouses", &json!({"code": "SZ", "name": "深圳仓"})).await;
            let products = [average, fifo];
            let mut done: Vec<i64> = Vec::new();
            for (kind, which, quantity, cost) in steps {
                let product = products[which];
                let quantity = quantity.to_string();
                // A third of a yuan: costs that do not divide evenly, so rounding is exercised.
                let cost = format!("{cost}.33");
                let made = match kind {
                    0 => api.post("/api/v1/stock/moves", &json!({"product_id": product, "quantity": quantity, "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": cost, "date": "2026-04-01"})).await,
                    1 => api.post("/api/v1/stock/moves", &json!({"product_id": product, "quantity": quantity, "from": "SH/STOCK", "to": "CUSTOMER", "date": "2026-04-02"})).await,
                    2 => api.post("/api/v1/stock/moves", &json!({"product_id": product, "quantity": quantity, "from": "SH/STOCK", "to": "SZ/STOCK", "date": "2026-04-03"})).await,
                    3 => api.post("/api/v1/stock/counts", &json!({"product_id": product, "location": "SH/STOCK", "counted": quantity, "date": "2026-04-04"})).await,
                    _ => match done.pop() {
                        Some(id) => api.post(&format!("/api/v1/stock/moves/{id}/reverse"), &json!({"date": "2026-04-05"})).await,
                        None => continue,
                    },
                };
                if made.status == StatusCode::CREATED {
                    done.push(made.json()["id"].as_i64().expect("id"));
                }
            }
            let report = api.get("/api/v1/stock/valuation").await.json();
            assert_eq!(report["total"], report["ledger_balance"], "{report}");
            // Quantity and value kept per product equal the quants and the moves behind them.
            for product in products {
                let kept = sqlx::query("SELECT quantity, value FROM stk_valuations WHERE product_id = $1")
                    .bind(product).fetch_optional(app.db.reader()).await.expect("valuation");
                let (quantity, value): (i64, i64) = kept.map(|r| (r.get("quantity"), r.get("value"))).unwrap_or((0, 0));
                let quants: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(q.quantity), 0) AS BIGINT) AS n FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id WHERE q.product_id = $1 AND l.kind = 'internal'")
                    .bind(product).fetch_one(app.db.reader()).await.expect("quants").get("n");
                assert_eq!(quantity, quants);
                let moves: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(CASE WHEN t.kind = 'internal' THEN m.value ELSE -m.value END), 0) AS BIGINT) AS n \
                    FROM stk_moves m JOIN stk_locations f ON f.id = m.from_location_id JOIN stk_locations t ON t.id = m.to_location_id \
                    WHERE m.product_id = $1 AND (f.kind = 'internal') <> (t.kind = 'internal')")
                    .bind(product).fetch_one(app.db.reader()).await.expect("moves").get("n");
                assert_eq!(value, moves);
                assert!(value >= 0 && (quantity > 0 || value == 0), "quantity {quantity}, value {value}");
                if product == fifo {
                    let layers: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) AS n FROM stk_layers WHERE product_id = $1")
                        .bind(product).fetch_one(app.db.reader()).await.expect("layers").get("n");
                    assert_eq!(layers, value, "FIFO layers hold the product's value");
                }
            }
        });
    }
}

#[tokio::test]
async fn the_valuation_page_sets_the_stock_value_beside_the_ledger_and_a_move_is_reversed_from_the_list() {
    let (app, api, notebook) = books_and_warehouse("moving_average").await;
    let received = receive(&api, notebook, "100", "10.00", "2026-03-02").await;
    let browser = app.signed_in("admin").await;
    let page = browser.get("/stock/valuation").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"valuation-total\">1000.00") && page.body.contains("id=\"ledger-balance\">1000.00"),
        "{}",
        page.body
    );
    let id = received["id"].as_i64().expect("id");
    let listed = browser.get("/stock/moves").await;
    assert!(listed.body.contains(&format!("action=\"/stock/moves/{id}/reverse\"")));
    let reversed =
        browser.post_form("/stock/moves", &format!("/stock/moves/{id}/reverse"), &[("date", "2026-03-03")]).await;
    assert_eq!(reversed.status, StatusCode::SEE_OTHER, "{}", reversed.body);
    let listed = browser.get("/stock/moves").await;
    assert!(!listed.body.contains("/reverse\""), "neither the move nor its reversal can be reversed again");
    assert!(listed.body.contains("冲销 MV/2026/000001"));
    let page = browser.get("/stock/valuation").await;
    assert!(page.body.contains("id=\"ledger-balance\">0.00"), "{}", page.body);
}

#[tokio::test]
async fn februarys_turnover_days_of_cover_and_slow_movers_follow_the_moves() {
    let (_app, api, notebook) = books_and_warehouse("moving_average").await;
    let cable = product(&api, "CBL-C", "moving_average").await;
    receive(&api, notebook, "100", "10.00", "2026-01-05").await;
    receive(&api, cable, "500", "2.00", "2026-01-06").await;
    deliver(&api, notebook, "60", "2026-02-10").await;
    receive(&api, notebook, "50", "13.00", "2026-03-02").await;
    let march = deliver(&api, notebook, "30", "2026-03-10").await["id"].as_i64().expect("move");

    // February: 1,000.00 held at its start, 400.00 at its end, 600.00 cost of sales: 0.85 times
    // (600 over the average of 700); 40 left at 60 a month of 28 days lasts 18 days.
    let report = api.get("/api/v1/stock/reports/turnover?from=2026-02-01&to=2026-02-28").await.json();
    let nb =
        report["items"].as_array().unwrap().iter().find(|r| r["product_id"] == notebook).expect("notebook").clone();
    assert_eq!(
        (nb["opening_value"].as_str(), nb["closing_value"].as_str(), nb["cost_of_sales"].as_str()),
        (Some("1000.00"), Some("400.00"), Some("600.00"))
    );
    assert_eq!(
        (nb["turnover"].as_str(), nb["days_of_cover"].as_i64(), nb["closing_quantity"].as_str()),
        (Some("0.85"), Some(18), Some("40"))
    );
    let cables = report["items"].as_array().unwrap().iter().find(|r| r["product_id"] == cable).expect("cable").clone();
    assert_eq!((cables["cost_of_sales"].as_str(), cables["days_of_cover"].as_i64()), (Some("0.00"), None));

    // Cables never left; notebooks last left on 10 March (today is 15 March).
    let slow = api.get("/api/v1/stock/reports/slow-movers").await.json();
    let codes: Vec<i64> = slow["items"].as_array().unwrap().iter().map(|r| r["product_id"].as_i64().unwrap()).collect();
    assert_eq!(codes, [cable]);
    let slow = api.get("/api/v1/stock/reports/slow-movers?days=3").await.json();
    assert_eq!(slow["items"].as_array().unwrap().len(), 2, "{slow}");
    assert_eq!(api.get("/api/v1/stock/reports/slow-movers?days=0").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Within 30 days notebooks sold on 10 March; once that delivery is reversed, their last
    // sale is 10 February and they are slow too.
    let month = |api: &ApiClient| {
        let api = api.clone();
        async move { api.get("/api/v1/stock/reports/slow-movers?days=30").await.json()["items"].as_array().unwrap().len() }
    };
    assert_eq!(month(&api).await, 1);
    api.post(&format!("/api/v1/stock/moves/{march}/reverse"), &json!({"date": "2026-03-11"})).await;
    assert_eq!(month(&api).await, 2);
    assert_eq!(
        api.get("/api/v1/stock/reports/turnover?from=2026-03-01&to=2026-02-01").await.json()["errors"][0]["field"],
        "to"
    );

    // The page draws the charts and lists both tables.
    let browser = _app.signed_in("admin").await;
    let page = browser.get("/stock/analysis?from=2026-02-01&to=2026-02-28").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<svg class=\"chart\"")
            && page.body.contains("id=\"turnover\"")
            && page.body.contains("id=\"slow-movers\"")
    );
    let refused = browser.get("/stock/analysis?from=2026-02-30&days=0").await;
    assert_eq!(refused.status, StatusCode::OK, "the page shows the default period with the refusals");
    assert_eq!(refused.body.matches("class=\"error\"").count(), 2, "{}", refused.body);
}

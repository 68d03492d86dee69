//! A trading company's stock through a month: cables received from the supplier, delivered to
//! customers, moved between warehouses and counted, and the refusals that keep quantities true.

use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::{json, Value};
use testkit::{spawn_app, ApiClient, TestApp};

async fn product(api: &ApiClient, code: &str, track_lot: bool) -> i64 {
    let form = json!({"code": code, "name": format!("产品 {code}"), "kind": "goods", "uom": "pc", "purchase_uom": "pc",
        "sales_uom": "pc", "vat_rate": "13", "track_lot": track_lot, "sale_price": "39.00"});
    let created = api.post("/api/v1/catalog/products", &form).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.json()["id"].as_i64().expect("id")
}

async fn warehouse(api: &ApiClient, code: &str, name: &str) {
    let created = api.post("/api/v1/stock/warehouses", &json!({"code": code, "name": name})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

/// A company with the Shanghai warehouse (`SH/STOCK`) and one product, seen through the
/// administrator's API.
async fn shop(code: &str, track_lot: bool) -> (TestApp, ApiClient, i64) {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    warehouse(&api, "SH", "上海总仓").await;
    let product = product(&api, code, track_lot).await;
    (app, api, product)
}

/// The HTML of a form field, from its input's id to the end of its `div`: where its error sits.
fn field<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.split(&format!("id=\"{id}\"")).nth(1).expect("the field is on the page");
    start.split("</div>").next().expect("the field ends")
}

/// A move on 5 March; goods from the supplier into a warehouse cost 12.50 a piece.
fn moved(product: i64, quantity: &str, from: &str, to: &str, lot: &str) -> Value {
    let mut form =
        json!({"product_id": product, "quantity": quantity, "from": from, "to": to, "lot": lot, "date": "2026-03-05"});
    if from == "SUPPLIER" && to.ends_with("/STOCK") {
        form["unit_cost"] = json!("12.50");
    }
    form
}

/// Quantity on hand of a product at a location (all lots), as the API reports it.
async fn on_hand(api: &ApiClient, product: i64, location: &str) -> String {
    // The short parameter names of the API listing (`product`, `location`).
    let report = api.get(&format!("/api/v1/stock/quantities?product={product}&location={location}")).await.json();
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|row| row["location"] == location)
        .map(|row| row["quantity"].as_str().expect("quantity").to_string())
        .next()
        .unwrap_or_else(|| "0".into())
}

#[tokio::test]
async fn cables_are_received_delivered_and_transferred_and_the_ledger_shows_every_step() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    warehouse(&api, "SH", "上海总仓").await;
    warehouse(&api, "SZ", "深圳仓").await;
    let cable = product(&api, "CBL-C", false).await;

    let receipt = api.post("/api/v1/stock/moves", &moved(cable, "600", "SUPPLIER", "SH/STOCK", "")).await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{}", receipt.body);
    assert_eq!(receipt.json()["number"], "MV/2026/000001");
    let delivery = api.post("/api/v1/stock/moves", &moved(cable, "144", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(delivery.status, StatusCode::CREATED, "{}", delivery.body);
    let transfer = api.post("/api/v1/stock/moves", &moved(cable, "200", "SH/STOCK", "SZ/STOCK", "")).await;
    assert_eq!(transfer.status, StatusCode::CREATED, "{}", transfer.body);

    assert_eq!(on_hand(&api, cable, "SH/STOCK").await, "256");
    assert_eq!(on_hand(&api, cable, "SZ/STOCK").await, "200");
    // Virtual locations are not stock: the on-hand report lists internal locations only.
    assert_eq!(on_hand(&api, cable, "CUSTOMER").await, "0");

    let ledger = api.get(&format!("/api/v1/stock/ledger?product_id={cable}")).await.json();
    let changes: Vec<(&str, &str)> = ledger["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| (l["change"].as_str().expect("change"), l["balance"].as_str().expect("balance")))
        .collect();
    // The company's total: +600 in, −144 out; a transfer between its own warehouses changes nothing.
    assert_eq!(changes, vec![("600", "600"), ("-144", "456"), ("0", "456")]);

    // The move is audited and announced to the other modules.
    assert_eq!(app.count("audit_log WHERE resource = 'stock.move'").await, 3);
    assert_eq!(app.count("outbox WHERE event_type = 'stock.MoveDone'").await, 3);
}

#[tokio::test]
async fn stock_never_goes_below_zero_and_bad_moves_are_refused_field_by_field() {
    let (app, api, switch) = shop("SW-24G", false).await;
    api.post("/api/v1/stock/moves", &moved(switch, "5", "SUPPLIER", "SH/STOCK", "")).await;

    let too_many = api.post("/api/v1/stock/moves", &moved(switch, "6", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(too_many.json()["errors"][0]["code"], "error.stock.not_enough");
    assert_eq!(on_hand(&api, switch, "SH/STOCK").await, "5");

    let nonsense = api.post("/api/v1/stock/moves", &json!({"product_id": switch, "quantity": "-2", "from": "SH/STOCK", "to": "SH/STOCK", "date": "2026-02-30"})).await;
    assert_eq!(nonsense.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = nonsense.json();
    let fields: Vec<&str> =
        problem["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().unwrap_or("")).collect();
    assert!(fields.contains(&"quantity") && fields.contains(&"date") && fields.contains(&"to"), "{fields:?}");

    let nowhere = api.post("/api/v1/stock/moves", &moved(switch, "1", "SH/STOCK", "GZ/STOCK", "")).await;
    assert_eq!(nowhere.json()["errors"][0]["code"], "error.stock.location");

    // A service is never in stock.
    let install = api
        .post("/api/v1/catalog/products", &json!({"code": "SVC-1", "name": "安装服务", "kind": "service", "uom": "h", "purchase_uom": "h", "sales_uom": "h", "vat_rate": "6"}))
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let service = api.post("/api/v1/stock/moves", &moved(install, "1", "SUPPLIER", "SH/STOCK", "")).await;
    assert_eq!(service.json()["errors"][0]["code"], "error.stock.service");
    assert_eq!(app.count("stk_moves").await, 1, "only the first receipt was recorded");
}

#[tokio::test]
async fn lots_are_required_for_tracked_products_and_kept_apart() {
    let (_app, api, vaccine) = shop("VAC-01", true).await;
    let missing = api.post("/api/v1/stock/moves", &moved(vaccine, "10", "SUPPLIER", "SH/STOCK", "")).await;
    assert_eq!(missing.json()["errors"][0]["code"], "error.stock.lot_required");
    api.post("/api/v1/stock/moves", &moved(vaccine, "10", "SUPPLIER", "SH/STOCK", "L2603A")).await;
    api.post("/api/v1/stock/moves", &moved(vaccine, "4", "SUPPLIER", "SH/STOCK", "L2603B")).await;
    // Lot B holds only 4: it cannot give 5 even though the location holds 14 in all.
    let wrong_lot = api.post("/api/v1/stock/moves", &moved(vaccine, "5", "SH/STOCK", "CUSTOMER", "L2603B")).await;
    assert_eq!(wrong_lot.json()["errors"][0]["code"], "error.stock.not_enough");
    let report = api.get(&format!("/api/v1/stock/quantities?product_id={vaccine}")).await.json();
    let lots: Vec<(&str, &str)> = report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| (r["lot"].as_str().unwrap(), r["quantity"].as_str().unwrap()))
        .collect();
    assert_eq!(lots, vec![("L2603A", "10"), ("L2603B", "4")]);
}

#[tokio::test]
async fn a_count_books_the_difference_to_inventory_loss() {
    let (_app, api, notebook) = shop("NB-14", false).await;
    api.post("/api/v1/stock/moves", &moved(notebook, "20", "SUPPLIER", "SH/STOCK", "")).await;

    let short = api
        .post(
            "/api/v1/stock/counts",
            &json!({"product_id": notebook, "location": "SH/STOCK", "counted": "18", "date": "2026-03-31"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::OK, "{}", short.body);
    assert_eq!(short.json()["adjustment"], "MV/2026/000002");
    assert_eq!(on_hand(&api, notebook, "SH/STOCK").await, "18");
    // Counting again with the same figure changes nothing.
    let same = api
        .post(
            "/api/v1/stock/counts",
            &json!({"product_id": notebook, "location": "SH/STOCK", "counted": "18", "date": "2026-03-31"}),
        )
        .await;
    assert_eq!(same.json()["adjustment"], Value::Null);
    let found = api
        .post(
            "/api/v1/stock/counts",
            &json!({"product_id": notebook, "location": "SH/STOCK", "counted": "19", "date": "2026-04-30"}),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(on_hand(&api, notebook, "SH/STOCK").await, "19");
    let ledger = api.get(&format!("/api/v1/stock/ledger?product_id={notebook}")).await.json();
    let last = &ledger["items"][2];
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str(), last["change"].as_str()),
        (Some("LOSS"), Some("SH/STOCK"), Some("1"))
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_the_last_pieces_never_oversell() {
    let (_app, api, server) = shop("SRV-R750", false).await;
    api.post("/api/v1/stock/moves", &moved(server, "10", "SUPPLIER", "SH/STOCK", "")).await;
    let order = moved(server, "3", "SH/STOCK", "CUSTOMER", "");
    let (a, b, c, d) = tokio::join!(
        api.post("/api/v1/stock/moves", &order),
        api.post("/api/v1/stock/moves", &order),
        api.post("/api/v1/stock/moves", &order),
        api.post("/api/v1/stock/moves", &order),
    );
    let done = [&a, &b, &c, &d].iter().filter(|r| r.status == StatusCode::CREATED).count();
    assert_eq!(done, 3, "three deliveries of 3 fit in 10, the fourth is refused");
    assert_eq!(on_hand(&api, server, "SH/STOCK").await, "1");
}

#[tokio::test]
async fn a_clerk_without_the_stock_permission_cannot_move_goods() {
    let (app, _admin, cable) = shop("CBL-C", false).await;
    app.user("li.na", &["sales_rep"], "", "").await;
    let clerk = app.api("li.na").await;
    let refused = clerk.post("/api/v1/stock/moves", &moved(cable, "1", "SUPPLIER", "SH/STOCK", "")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("stk_moves").await, 0);
}

/// One step of a random month: a move between two of the company's places.
fn step() -> impl Strategy<Value = (usize, usize, u32)> {
    (0usize..4, 0usize..4, 1u32..40)
}

const PLACES: [&str; 4] = ["SUPPLIER", "SH/STOCK", "SZ/STOCK", "CUSTOMER"];

async fn replay(app: &TestApp, steps: &[(usize, usize, u32)]) -> (i64, Vec<Value>) {
    let api = app.api("admin").await;
    warehouse(&api, "SH", "上海总仓").await;
    warehouse(&api, "SZ", "深圳仓").await;
    let cable = product(&api, "CBL-C", false).await;
    for (from, to, quantity) in steps {
        api.post("/api/v1/stock/moves", &moved(cable, &quantity.to_string(), PLACES[*from], PLACES[*to], "")).await;
    }
    let report = api.get(&format!("/api/v1/stock/quantities?product_id={cable}")).await.json();
    (cable, report["items"].as_array().expect("items").clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn quantities_on_hand_always_equal_the_sum_of_the_moves(steps in proptest::collection::vec(step(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let app = spawn_app().await;
            let (cable, report) = replay(&app, &steps).await;
            for location in ["SH/STOCK", "SZ/STOCK"] {
                let kept: i64 = report.iter().filter(|r| r["location"] == location).map(|r| r["quantity"].as_str().unwrap().parse::<i64>().unwrap()).sum();
                let moves = format!(
                    "stk_moves m JOIN stk_locations t ON t.id = m.to_location_id WHERE m.product_id = {cable} AND t.code = '{location}'"
                );
                let inward = sum_of(&app, &moves).await;
                let outward = sum_of(&app, &format!(
                    "stk_moves m JOIN stk_locations f ON f.id = m.from_location_id WHERE m.product_id = {cable} AND f.code = '{location}'"
                )).await;
                assert!(kept >= 0, "{location} went below zero");
                assert_eq!(kept * 1_000_000, inward - outward, "{location}: quants disagree with the moves");
            }
        });
    }
}

async fn sum_of(app: &TestApp, from: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(&format!("SELECT CAST(COALESCE(SUM(m.quantity), 0) AS BIGINT) AS n FROM {from}"))
        .fetch_one(app.db.reader())
        .await
        .expect("sum")
        .try_get::<i64, _>("n")
        .expect("n")
}

#[tokio::test]
async fn a_storekeeper_records_a_receipt_on_the_page_and_sees_refusals_next_to_the_field() {
    let (app, _api, cable) = shop("CBL-C", false).await;
    let browser = app.signed_in("admin").await;
    // A warehouse with a code of spaces and no name: both reasons beside their fields, the
    // code as typed, nothing created.
    let warehouses = app.count("stk_warehouses").await;
    let refused = browser.post_form("/stock/warehouses", "/stock/warehouses", &[("code", "B 2"), ("name", "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("value=\"B 2\"><p class=\"error\" role=\"alert\">"), "{}", refused.body);
    assert!(refused
        .body
        .contains("id=\"w-name\" name=\"name\" maxlength=\"100\" value=\"\"><p class=\"error\" role=\"alert\">"));
    assert_eq!(app.count("stk_warehouses").await, warehouses);
    let id = cable.to_string();
    let received = browser
        .post_form(
            "/stock/moves",
            "/stock/moves",
            &[
                ("product_id", &id),
                ("quantity", "120"),
                ("from", "SUPPLIER"),
                ("to", "SH/STOCK"),
                ("unit_cost", "12.50"),
                ("date", "2026-03-02"),
            ],
        )
        .await;
    assert_eq!(received.status, StatusCode::SEE_OTHER, "{}", received.body);
    let listed = browser.get("/stock/moves").await;
    assert!(listed.body.contains("MV/2026/000001") && listed.body.contains("CBL-C"));
    let refused = browser
        .post_form(
            "/stock/moves",
            "/stock/moves",
            &[
                ("product_id", &id),
                ("quantity", "500"),
                ("from", "SH/STOCK"),
                ("to", "CUSTOMER"),
                ("date", "2026-03-03"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The message sits right after the quantity input, which keeps what was typed.
    let message = field(&refused.body, "m-qty");
    assert!(message.contains("value=\"500\"") && message.contains("class=\"error\""), "{message}");
    let on_hand_page = browser.get(&format!("/stock/on-hand?product_id={cable}")).await;
    assert_eq!(on_hand_page.status, StatusCode::OK);
    assert!(on_hand_page.body.contains("SH/STOCK") && on_hand_page.body.contains("120"));
}

#[tokio::test]
async fn falling_below_the_minimum_raises_one_alert_and_puts_the_cable_on_the_replenishment_list() {
    let (app, api, cable) = shop("CBL-C", false).await;
    let supplier = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "福州金桥电子有限公司", "roles": ["supplier"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let linked = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/catalog/products/{cable}/suppliers"),
            Some(&json!({"party_id": supplier, "price": "25.00", "lead_days": 5, "preferred": true})),
        )
        .await;
    assert!(linked.status.is_success(), "{}", linked.body);

    let backwards = api
        .post(
            "/api/v1/stock/reorder-rules",
            &json!({"product_id": cable, "warehouse": "SH", "min": "200", "max": "50"}),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(backwards.json()["errors"][0]["field"], "max");
    let rule = api
        .post(
            "/api/v1/stock/reorder-rules",
            &json!({"product_id": cable, "warehouse": "sh", "min": "50", "max": "200"}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::OK, "{}", rule.body);

    let alerts = || app.count("outbox WHERE event_type = 'stock.StockBelowMinimum'");
    api.post("/api/v1/stock/moves", &moved(cable, "120", "SUPPLIER", "SH/STOCK", "")).await;
    api.post("/api/v1/stock/moves", &moved(cable, "60", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(alerts().await, 0, "60 left is still above the minimum of 50");
    assert!(api.get("/api/v1/stock/replenishment").await.json()["items"].as_array().expect("items").is_empty());

    api.post("/api/v1/stock/moves", &moved(cable, "20", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(alerts().await, 1);
    api.post("/api/v1/stock/moves", &moved(cable, "5", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(alerts().await, 1, "already below: no second alert");

    let due = api.get("/api/v1/stock/replenishment").await.json();
    let line = &due["items"][0];
    assert_eq!(line["on_hand"], "35");
    assert_eq!(line["to_order"], "165", "up to the maximum of 200");
    assert_eq!(line["supplier"], "福州金桥电子有限公司");
    assert_eq!(line["lead_days"], 5);

    // A receipt lifts it above the minimum, which re-arms the alert.
    api.post("/api/v1/stock/moves", &moved(cable, "165", "SUPPLIER", "SH/STOCK", "")).await;
    assert!(api.get("/api/v1/stock/replenishment").await.json()["items"].as_array().expect("items").is_empty());
    api.post("/api/v1/stock/moves", &moved(cable, "151", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(alerts().await, 2);

    let page = app.signed_in("admin").await.get("/stock/replenishment").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("49 on hand, below the minimum of 50; order up to 200")
            || page.body.contains("现有 49，低于最低 50；补至最高 200"),
        "{}",
        page.body
    );
    assert_eq!(app.count("audit_log WHERE resource = 'stock.reorder_rule'").await, 1);
}

#[tokio::test]
async fn a_reorder_rule_entered_on_the_page_is_refused_next_to_the_bad_field() {
    let (app, api, cable) = shop("CBL-C", false).await;
    let browser = app.signed_in("admin").await;
    let id = cable.to_string();
    let refused = browser
        .post_form(
            "/stock/replenishment",
            "/stock/replenishment",
            &[("product_id", &id), ("warehouse", "SH"), ("min", "ten"), ("max", "200")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let min_field = field(&refused.body, "r-min");
    assert!(min_field.contains("value=\"ten\"") && min_field.contains("class=\"error\""), "{min_field}");
    let saved = browser
        .post_form(
            "/stock/replenishment",
            "/stock/replenishment",
            &[("product_id", &id), ("warehouse", "SH"), ("min", "10"), ("max", "200")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let rules = api.get("/api/v1/stock/reorder-rules").await.json();
    assert_eq!((rules["items"][0]["min"].as_str(), rules["items"][0]["max"].as_str()), (Some("10"), Some("200")));
}

#[tokio::test]
async fn a_count_typed_wrong_on_the_page_is_refused_next_to_the_counted_quantity() {
    let (app, api, notebook) = shop("NB-14", false).await;
    api.post("/api/v1/stock/moves", &moved(notebook, "20", "SUPPLIER", "SH/STOCK", "")).await;
    let browser = app.signed_in("admin").await;
    let id = notebook.to_string();
    let count = |counted: &'static str| {
        let id = id.clone();
        let browser = &browser;
        async move {
            let pairs =
                [("product_id", id.as_str()), ("location", "SH/STOCK"), ("counted", counted), ("date", "2026-03-31")];
            browser.post_form("/stock/on-hand", "/stock/count", &pairs).await
        }
    };
    let refused = count("十八").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let counted = field(&refused.body, "c-counted");
    assert!(counted.contains("value=\"十八\"") && counted.contains("class=\"error\""), "{counted}");
    assert_eq!(on_hand(&api, notebook, "SH/STOCK").await, "20", "nothing changed");
    assert_eq!(count("18").await.status, StatusCode::SEE_OTHER);
    assert_eq!(on_hand(&api, notebook, "SH/STOCK").await, "18");
}

#[tokio::test]
async fn transfers_both_ways_at_once_and_a_double_submitted_count_stay_consistent() {
    let (app, api, cable) = shop("CBL-C", false).await;
    warehouse(&api, "SZ", "深圳仓").await;
    api.post("/api/v1/stock/moves", &moved(cable, "100", "SUPPLIER", "SH/STOCK", "")).await;
    api.post("/api/v1/stock/moves", &moved(cable, "100", "SUPPLIER", "SZ/STOCK", "")).await;
    let (there, back) = (moved(cable, "7", "SH/STOCK", "SZ/STOCK", ""), moved(cable, "7", "SZ/STOCK", "SH/STOCK", ""));
    for _ in 0..5 {
        let (there, back) =
            tokio::join!(api.post("/api/v1/stock/moves", &there), api.post("/api/v1/stock/moves", &back));
        assert_eq!(
            (there.status, back.status),
            (StatusCode::CREATED, StatusCode::CREATED),
            "{} {}",
            there.body,
            back.body
        );
    }
    assert_eq!(on_hand(&api, cable, "SH/STOCK").await, "100");
    let count = json!({"product_id": cable, "location": "SH/STOCK", "counted": "98", "date": "2026-03-31"});
    let (first, second) =
        tokio::join!(api.post("/api/v1/stock/counts", &count), api.post("/api/v1/stock/counts", &count));
    assert_eq!((first.status, second.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(on_hand(&api, cable, "SH/STOCK").await, "98", "the difference of 2 is booked once");
    assert_eq!(app.count("stk_moves m JOIN stk_locations l ON l.id = m.to_location_id WHERE l.code = 'LOSS'").await, 1);
}

#[tokio::test]
async fn absurd_quantities_and_dates_are_refused_and_an_empty_filter_lists_everything() {
    let (app, api, cable) = shop("CBL-C", false).await;
    let huge = api.post("/api/v1/stock/moves", &moved(cable, "5000000000000", "SUPPLIER", "SH/STOCK", "")).await;
    assert_eq!(huge.json()["errors"][0]["code"], "error.stock.too_large");
    let mut two_digit_year = moved(cable, "1", "SUPPLIER", "SH/STOCK", "");
    two_digit_year["date"] = json!("26-03-05");
    assert_eq!(api.post("/api/v1/stock/moves", &two_digit_year).await.json()["errors"][0]["field"], "date");
    assert_eq!(app.count("stk_moves").await, 0);
    let browser = app.signed_in("admin").await;
    assert_eq!(browser.get("/stock/on-hand?product_id=").await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/stock/quantities?product_id=abc").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn lowering_the_minimum_below_what_is_left_re_arms_the_alert() {
    let (app, api, cable) = shop("CBL-C", false).await;
    api.post(
        "/api/v1/stock/reorder-rules",
        &json!({"product_id": cable, "warehouse": "SH", "min": "50", "max": "200"}),
    )
    .await;
    api.post("/api/v1/stock/moves", &moved(cable, "100", "SUPPLIER", "SH/STOCK", "")).await;
    api.post("/api/v1/stock/moves", &moved(cable, "60", "SH/STOCK", "CUSTOMER", "")).await;
    let alerts = || app.count("outbox WHERE event_type = 'stock.StockBelowMinimum'");
    assert_eq!(alerts().await, 1, "40 is below 50");
    // The buyer decides 30 is enough: 40 now meets it, and the next fall alerts again.
    api.post(
        "/api/v1/stock/reorder-rules",
        &json!({"product_id": cable, "warehouse": "SH", "min": "30", "max": "200"}),
    )
    .await;
    assert_eq!(alerts().await, 1, "changing a rule does not alert by itself");
    api.post("/api/v1/stock/moves", &moved(cable, "15", "SH/STOCK", "CUSTOMER", "")).await;
    assert_eq!(alerts().await, 2, "25 is below the new minimum of 30");
}

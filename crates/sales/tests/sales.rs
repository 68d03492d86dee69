//! Order-to-cash at a trading company: notebooks bought at 10.00 and 13.00 (moving average
//! 11.00) and sold, 120 at 20.00 including 13 % VAT, delivered and invoiced in two parts and
//! paid, with stock, cost of sales, VAT and the ledger checked at each step; a credit limit
//! stopping an order; scarce stock never promised twice, even to fifty orders at once.

use axum::http::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use testkit::{spawn_app, ApiClient, TestApp};

struct Shop {
    app: TestApp,
    api: ApiClient,
    customer: i64,
    notebook: i64,
}

async fn party(api: &ApiClient, name: &str, role: &str) -> i64 {
    let made = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": name, "roles": [role], "confirm_duplicates": true}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()["id"].as_i64().expect("id")
}

/// Books for 2026, the Shanghai warehouse, a customer, and `stock` notebooks bought in two
/// lots: at 10.00, and the rest at 13.00.
async fn shop(first_lot: &str, second_lot: &str) -> Shop {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    assert_eq!(api.post("/api/v1/finance/setup", &json!({"year": 2026})).await.status, StatusCode::CREATED);
    api.post("/api/v1/stock/warehouses", &json!({"code": "SH", "name": "上海总仓"})).await;
    let customer = party(&api, "厦门华信科技有限公司", "customer").await;
    let product = json!({"code": "NB-14", "name": "14 英寸笔记本电脑", "kind": "goods", "uom": "pc", "purchase_uom": "pc",
        "sales_uom": "pc", "vat_rate": "13", "costing": "moving_average", "sale_price": "25.00"});
    let notebook = api.post("/api/v1/catalog/products", &product).await.json()["id"].as_i64().expect("product");
    for (quantity, cost, date) in [(first_lot, "10.00", "2026-03-02"), (second_lot, "13.00", "2026-03-09")] {
        if quantity != "0" {
            let receipt = json!({"product_id": notebook, "quantity": quantity, "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": cost, "date": date});
            assert_eq!(api.post("/api/v1/stock/moves", &receipt).await.status, StatusCode::CREATED);
        }
    }
    Shop { app, api, customer, notebook }
}

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

async fn quotation(api: &ApiClient, customer: i64, lines: Value) -> Value {
    let form = json!({"customer_id": customer, "warehouse": "SH", "date": "2026-03-16", "tax_inclusive": true, "lines": lines});
    let made = api.post("/api/v1/sales/orders", &form).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()
}

async fn availability(api: &ApiClient, product: i64) -> (String, String) {
    let report = api.get(&format!("/api/v1/stock/availability?product_id={product}")).await.json();
    let sh = &report["items"][0];
    (sh["reserved"].as_str().unwrap().to_string(), sh["available"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn notebooks_are_quoted_confirmed_delivered_and_invoiced_in_two_parts_and_paid() {
    let Shop { app, api, customer, notebook } = shop("100", "50").await;

    // 120 at 20.00 including VAT: 2,400.00 of which 276.11 is VAT.
    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "120", "unit_price": "20.00"}])).await;
    assert_eq!((so["number"].as_str(), so["status"].as_str()), (Some("SO/2026/00001"), Some("quotation")));
    assert_eq!(
        (so["net"].as_str(), so["tax"].as_str(), so["total"].as_str()),
        (Some("2123.89"), Some("276.11"), Some("2400.00"))
    );
    let id = so["id"].as_i64().expect("id");
    let line = so["lines"][0]["id"].as_i64().expect("line");

    // Confirmed: 120 of the 150 are reserved for it.
    let confirmed = api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    assert_eq!(confirmed.json()["status"], "confirmed", "{}", confirmed.body);
    assert_eq!(availability(&api, notebook).await, ("120".into(), "30".into()));

    // 80 leave first at the moving average of 11.00: 880.00 cost of sales.
    let first = json!({"date": "2026-03-17", "lines": [{"line_id": line, "quantity": "80"}]});
    let delivered = api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &first).await;
    assert_eq!(delivered.status, StatusCode::CREATED, "{}", delivered.body);
    assert_eq!((balance(&app, "6401").await, balance(&app, "1405").await), (88_000, 165_000 - 88_000));
    assert_eq!(availability(&api, notebook).await, ("40".into(), "30".into()));

    // The 80 delivered are invoiced: 1,600.00 = 1,415.93 + 184.07 VAT.
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    assert_eq!(
        (balance(&app, "1122").await, balance(&app, "6001").await, balance(&app, "22210102").await),
        (160_000, -141_593, -18_407)
    );
    let nothing = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(nothing.json()["errors"][0]["code"], "error.sales.nothing_to_invoice", "nothing more was delivered");

    // The backorder of 40, then its invoice: the order is done.
    api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-18"})).await;
    let last = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-18"})).await;
    assert_eq!(last.json()["order"]["status"], "done", "{}", last.body);
    assert_eq!((balance(&app, "6001").await, balance(&app, "22210102").await), (-212_389, -27_611));
    assert_eq!((balance(&app, "6401").await, balance(&app, "1405").await), (132_000, 33_000));
    let valuation = api.get("/api/v1/stock/valuation").await.json();
    assert_eq!((valuation["total"].as_str(), valuation["ledger_balance"].as_str()), (Some("330.00"), Some("330.00")));

    // The customer pays both invoices.
    let invoices: Vec<i64> =
        last.json()["order"]["invoices"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let paid = api
        .post(
            "/api/v1/finance/payments",
            &json!({"kind": "receipt", "party_id": customer, "date": "2026-03-25", "amount": "2400.00",
                "allocations": [{"invoice_id": invoices[0], "amount": "1600.00"}, {"invoice_id": invoices[1], "amount": "800.00"}]}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);
    assert_eq!(balance(&app, "1122").await, 0);
    for event in ["sales.OrderConfirmed", "sales.OrderDelivered", "sales.OrderInvoiced"] {
        assert!(app.count(&format!("outbox WHERE event_type = '{event}'")).await >= 1, "{event}");
    }
}

#[tokio::test]
async fn an_order_beyond_the_credit_limit_or_the_stock_is_refused_and_reserves_nothing() {
    let Shop { app, api, customer, notebook } = shop("100", "50").await;
    let limit = |amount: &str| json!({"customer_id": customer, "credit_limit": amount});
    let set = api.call(axum::http::Method::PUT, "/api/v1/sales/credit-limits", Some(&limit("2000.00"))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    // Typed on the page in words: refused beside the field, the customer and amount kept.
    let refused = app
        .signed_in("admin")
        .await
        .post_form(
            "/sales/credit-limits",
            "/sales/credit-limits",
            &[("customer_id", &customer.to_string()), ("credit_limit", "两千")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("value=\"两千\"><p class=\"error\" role=\"alert\">"), "{}", refused.body);
    assert!(refused.body.contains(&format!("<option value=\"{customer}\" selected>")));

    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "120", "unit_price": "20.00"}])).await;
    let id = so["id"].as_i64().expect("id");
    let refused = api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json()["errors"][0]["code"], "error.sales.credit_limit");
    assert_eq!(availability(&api, notebook).await, ("0".into(), "150".into()));

    api.call(axum::http::Method::PUT, "/api/v1/sales/credit-limits", Some(&limit("3000.00"))).await;
    assert_eq!(api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await.status, StatusCode::OK);
    // 2,400.00 already on order: another 1,000.00 would make 3,400.00.
    let more =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "20", "unit_price": "50.00"}])).await;
    let more_id = more["id"].as_i64().expect("id");
    let refused = api.post(&format!("/api/v1/sales/orders/{more_id}/confirm"), &json!({})).await;
    let message = refused.json()["errors"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("3400.00 > 3000.00"), "{message}");

    // Without a limit, 40 more than the 30 available are refused on the line, and nothing is held.
    api.call(axum::http::Method::PUT, "/api/v1/sales/credit-limits", Some(&limit(""))).await;
    let big = quotation(&api, customer, json!([{"product_id": notebook, "quantity": "40"}])).await;
    assert_eq!(big["lines"][0]["unit_price"], "25.00", "the product's own price when no list applies");
    let refused = api.post(&format!("/api/v1/sales/orders/{}/confirm", big["id"]), &json!({})).await;
    let error = &refused.json()["errors"][0];
    assert_eq!(
        (error["field"].as_str(), error["code"].as_str()),
        (Some("lines[0].quantity"), Some("error.stock.not_available"))
    );
    assert!(error["message"].as_str().unwrap_or_default().contains("30"), "{error}");
    assert_eq!(availability(&api, notebook).await, ("120".into(), "30".into()));

    // Cancelling the confirmed order gives its 120 back.
    assert_eq!(api.post(&format!("/api/v1/sales/orders/{id}/cancel"), &json!({})).await.status, StatusCode::OK);
    assert_eq!(availability(&api, notebook).await, ("0".into(), "150".into()));
}

#[tokio::test]
async fn fifty_orders_at_once_for_ten_notebooks_reserve_exactly_ten() {
    let Shop { app: _app, api, customer, notebook } = shop("10", "0").await;
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(
            quotation(&api, customer, json!([{"product_id": notebook, "quantity": "1", "unit_price": "20.00"}])).await
                ["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let confirmations = ids.iter().map(|id| {
        let api = &api;
        async move { api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await.status }
    });
    let statuses = futures_util::future::join_all(confirmations).await;
    let confirmed = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count();
    assert_eq!((confirmed, refused), (10, 40), "{statuses:?}");
    assert_eq!(availability(&api, notebook).await, ("10".into(), "0".into()));
}

#[tokio::test]
async fn a_salesperson_quotes_on_the_page_and_sees_a_shortage_on_the_line() {
    let Shop { app, api: _api, customer, notebook } = shop("5", "0").await;
    let browser = app.signed_in("admin").await;
    let (customer, notebook) = (customer.to_string(), notebook.to_string());
    let made = browser
        .post_form(
            "/sales/orders",
            "/sales/orders",
            &[
                ("customer_id", &customer),
                ("warehouse", "SH"),
                ("date", "2026-03-16"),
                ("tax_inclusive", "1"),
                ("product_id", &notebook),
                ("quantity", "8"),
                ("unit_price", ""),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let location = made.header("location").expect("location");
    let page = browser.get(&location).await;
    assert!(page.body.contains("25.00"), "the product's price");
    let refused = browser.post_form(&location, &format!("{location}/confirm"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("可用库存不足，仅剩 5") || refused.body.contains("only 5 left"), "{}", refused.body);
    assert!(
        browser.get(&location).await.body.contains("id=\"order-status\">报价")
            || browser.get(&location).await.body.contains("id=\"order-status\">Quotation")
    );
}

#[tokio::test]
async fn a_delivery_is_tracked_by_hand_by_the_carriers_csv_and_by_its_signed_callback() {
    let Shop { app, api, customer, notebook } = shop("20", "0").await;
    let carrier = api.post("/api/v1/sales/carriers", &json!({"code": "SF", "name": "顺丰速运"})).await;
    assert_eq!(carrier.status, StatusCode::CREATED, "{}", carrier.body);
    let secret = carrier.json()["webhook_secret"].as_str().expect("secret").to_string();
    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "12", "unit_price": "20.00"}])).await;
    let id = so["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    let shipped = api
        .post(
            &format!("/api/v1/sales/orders/{id}/deliver"),
            &json!({"date": "2026-03-17", "carrier": "SF", "tracking_number": "SF1400012345"}),
        )
        .await;
    assert_eq!(shipped.json()["delivery"], "DO/2026/00001", "{}", shipped.body);
    let order = api.get(&format!("/api/v1/sales/orders/{id}")).await.json();
    let delivery = order["deliveries"][0]["id"].as_i64().expect("delivery");
    assert_eq!(order["deliveries"][0]["status"], "shipped");

    // By hand: in transit at the Xiamen hub.
    let event = json!({"status": "in_transit", "time": "2026-03-17 18:40", "location": "厦门转运中心"});
    let recorded = api.post(&format!("/api/v1/sales/deliveries/{delivery}/events"), &event).await;
    assert_eq!(recorded.json()["status"], "in_transit", "{}", recorded.body);
    let bad = api
        .post(&format!("/api/v1/sales/deliveries/{delivery}/events"), &json!({"status": "lost", "time": "yesterday"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = bad.json()["errors"].clone();
    let fields: Vec<&str> = errors.as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["status", "time"]);

    // The carrier's CSV: one unknown tracking number refuses the whole file, naming its row.
    let csv = "tracking_number,status,time,location,note\nSF1400012345,in_transit,2026-03-18 07:10,福州分拨中心,\nSF9999999999,delivered,2026-03-18 09:00,,\n";
    let refused = api.post("/api/v1/sales/tracking-imports", &json!({"carrier": "SF", "csv": csv})).await;
    assert_eq!(refused.json()["errors"][0]["field"], "rows[1].tracking_number", "{}", refused.body);
    assert_eq!(app.count("sal_tracking_events").await, 2, "nothing of the refused file was kept");
    // The same file pasted on the page: the row named, the file kept to correct it.
    let page = app
        .signed_in("admin")
        .await
        .post_form("/sales/carriers", "/sales/tracking-import", &[("carrier", "SF"), ("csv", csv)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.body);
    assert!(page.body.contains("SF9999999999,delivered") && page.body.contains("role=\"alert\">#3 "), "{}", page.body);
    let good = "tracking_number,status,time,location,note\nSF1400012345,in_transit,2026-03-18 07:10,福州分拨中心,\n";
    assert_eq!(
        api.post("/api/v1/sales/tracking-imports", &json!({"carrier": "SF", "csv": good})).await.json()["recorded"],
        1
    );

    // The carrier's signed callback: delivered. No session, only the signature.
    let outsider = app.anonymous_api();
    let path = format!("/public/carriers/{}/SF/events", app.company_id);
    let body = json!({"tracking_number": "SF1400012345", "status": "delivered", "time": "2026-03-18 15:02", "location": "福州", "note": "本人签收"}).to_string();
    let now = app.clock.now().timestamp();
    let signed = |t: i64, key: &str| vec![("x-zhongshu-signature", web::webhooks::signature(key, t, &body))];
    let forged = outsider.raw_with(&path, "application/json", &body, &signed(now, "not-the-secret")).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let replayed = outsider.raw_with(&path, "application/json", &body, &signed(now - 3600, &secret)).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED, "an hour-old call is a replay");
    let unknown_carrier = outsider
        .raw_with(
            &format!("/public/carriers/{}/JD/events", app.company_id),
            "application/json",
            &body,
            &signed(now, &secret),
        )
        .await;
    assert_eq!(unknown_carrier.status, StatusCode::UNAUTHORIZED, "unknown carriers look like bad signatures");
    let called = outsider.raw_with(&path, "application/json", &body, &signed(now, &secret)).await;
    assert_eq!(called.status, StatusCode::OK, "{}", called.body);
    assert_eq!(called.json()["status"], "delivered");
    let again = outsider.raw_with(&path, "application/json", &body, &signed(now, &secret)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the same signed call twice is a replay");

    // A late scan from before does not turn the status back.
    let late = json!({"status": "in_transit", "time": "2026-03-18 12:00", "location": "福州"});
    assert_eq!(
        api.post(&format!("/api/v1/sales/deliveries/{delivery}/events"), &late).await.json()["status"],
        "delivered"
    );

    // The customer's order shows the whole timeline.
    let browser = app.signed_in("admin").await;
    let page = browser.get(&format!("/sales/orders/{id}")).await;
    assert!(
        page.body.contains("SF1400012345") && page.body.contains("厦门转运中心") && page.body.contains("本人签收"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("id=\"delivery-status-{delivery}\">已签收"))
            || page.body.contains(&format!("id=\"delivery-status-{delivery}\">Delivered"))
    );
    assert_eq!(app.count("outbox WHERE event_type = 'sales.ShipmentUpdated'").await, 4);
    assert!(app.count("audit_log WHERE resource = 'sales.delivery'").await >= 4);
}

#[tokio::test]
async fn ten_notebooks_are_picked_packed_and_shipped_in_steps_and_a_second_pick_is_cancelled() {
    let Shop { app, api, customer, notebook } = shop("100", "50").await;
    api.post("/api/v1/sales/carriers", &json!({"code": "SF", "name": "顺丰速运"})).await;
    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "10", "unit_price": "20.00"}])).await;
    let (id, line) = (so["id"].as_i64().expect("id"), so["lines"][0]["id"].as_i64().expect("line"));
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;

    // Six are picked: nothing moves, all ten stay reserved, four are left to pick.
    let six = json!({"date": "2026-03-17", "lines": [{"line_id": line, "quantity": "6"}]});
    let picked = api.post(&format!("/api/v1/sales/orders/{id}/pick"), &six).await;
    assert_eq!(picked.status, StatusCode::CREATED, "{}", picked.body);
    let delivery = picked.json()["delivery"]["id"].as_i64().expect("delivery");
    assert_eq!(picked.json()["delivery"]["status"], "picked");
    let order_line = &picked.json()["order"]["lines"][0];
    assert_eq!((order_line["preparing"].as_str(), order_line["to_pick"].as_str()), (Some("6"), Some("4")));
    assert_eq!(availability(&api, notebook).await, ("10".into(), "140".into()));
    assert_eq!(app.count("stk_moves WHERE reference LIKE 'SO/%'").await, 0);

    // What is on the pick list cannot be picked again, and a parcel not yet sent has no timeline.
    let five = json!({"date": "2026-03-17", "lines": [{"line_id": line, "quantity": "5"}]});
    let refused = api.post(&format!("/api/v1/sales/orders/{id}/pick"), &five).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.sales.over_delivery", "{}", refused.body);
    let early = json!({"status": "in_transit", "time": "2026-03-17 18:40"});
    let refused = api.post(&format!("/api/v1/sales/deliveries/{delivery}/events"), &early).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.sales.not_shipped", "{}", refused.body);

    // Packed in two parcels of 3.5 kg in all; a parcel count of nought is refused.
    let refused = api.post(&format!("/api/v1/sales/deliveries/{delivery}/pack"), &json!({"packages": "0"})).await;
    assert_eq!(refused.json()["errors"][0]["field"], "packages");
    let packed = api
        .post(&format!("/api/v1/sales/deliveries/{delivery}/pack"), &json!({"packages": "2", "weight": "3.5"}))
        .await;
    assert_eq!(packed.json()["delivery"]["status"], "packed", "{}", packed.body);

    // Shipped with SF: six leave at the average 11.00, the other four stay reserved.
    let ship = json!({"date": "2026-03-18", "carrier": "SF", "tracking_number": "SF1400012345"});
    let shipped = api.post(&format!("/api/v1/sales/deliveries/{delivery}/ship"), &ship).await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
    let after = shipped.json();
    assert_eq!(
        (
            after["delivery"]["status"].as_str(),
            after["delivery"]["tracking_number"].as_str(),
            after["delivery"]["date"].as_str()
        ),
        (Some("shipped"), Some("SF1400012345"), Some("2026-03-18"))
    );
    assert_eq!(after["order"]["lines"][0]["delivered"], "6");
    assert_eq!(availability(&api, notebook).await, ("4".into(), "140".into()));
    assert_eq!(balance(&app, "6401").await, 6_600);
    let again = api.post(&format!("/api/v1/sales/deliveries/{delivery}/ship"), &ship).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "a delivery ships once");

    // The last four are picked on the page, then the pick is cancelled: they are free to pick again.
    let browser = app.signed_in("admin").await;
    let page = format!("/sales/orders/{id}");
    let qty_field = format!("deliver_qty_{line}");
    // Forty typed for the four left: refused beside the line, the form back as typed.
    let lot_field = format!("deliver_lot_{line}");
    let too_many = browser
        .post_form(
            &page,
            &format!("/sales/orders/{id}/pick"),
            &[("date", "2026-03-19"), (&qty_field, "40"), (&lot_field, "B0319"), ("tracking_number", "SF1400099999")],
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", too_many.body);
    let row = too_many.body.split(&format!("name=\"{qty_field}\"")).nth(1).expect("the line's row");
    let row = &row[..row.find("</tr>").expect("row end")];
    assert!(row.contains("value=\"40\"") && row.contains("value=\"B0319\"") && row.contains("role=\"alert\""), "{row}");
    assert!(too_many.body.contains("value=\"SF1400099999\"") && too_many.body.contains("value=\"2026-03-19\""));
    let picked = browser
        .post_form(&page, &format!("/sales/orders/{id}/pick"), &[("date", "2026-03-19"), (&qty_field, "4")])
        .await;
    assert_eq!(picked.status, StatusCode::SEE_OTHER, "{}", picked.body);
    let shown = browser.get(&page).await;
    assert!(shown.body.contains("DO/2026/00002") && shown.body.contains("/pack"), "the pick list is on the order");
    let second: i64 = sqlx::query("SELECT id FROM sal_deliveries WHERE number = 'DO/2026/00002'")
        .fetch_one(app.db.reader())
        .await
        .expect("second delivery")
        .try_get("id")
        .expect("id");
    // A count of packages that is no number: refused beside it, the weight kept.
    let unpacked = browser
        .post_form(&page, &format!("/sales/deliveries/{second}/pack"), &[("packages", "two"), ("weight", "3.5")])
        .await;
    assert_eq!(unpacked.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unpacked.body);
    let pack = unpacked.body.split(&format!("id=\"p-packages-{second}\"")).nth(1).expect("the pack form");
    let pack = &pack[..pack.find("</form>").expect("form end")];
    assert!(
        pack.contains("value=\"two\"") && pack.contains("value=\"3.5\"") && pack.contains("role=\"alert\""),
        "{pack}"
    );
    let cancelled = browser.post_form(&page, &format!("/sales/deliveries/{second}/cancel"), &[]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{}", cancelled.body);
    let order = api.get(&format!("/api/v1/sales/orders/{id}")).await.json();
    assert_eq!(order["lines"][0]["to_pick"], "4");
    assert_eq!(availability(&api, notebook).await, ("4".into(), "140".into()), "still reserved for the order");
}

#[tokio::test]
async fn a_sales_rep_works_only_their_own_orders_and_their_manager_the_whole_teams() {
    let Shop { app, api, customer, notebook } = shop("100", "0").await;
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    app.user("li.qiang", &["sales_rep"], "west", "sales").await;
    app.user("zhao.min", &["sales_manager"], "east", "sales").await;
    app.user("qian.jun", &["sales_manager"], "west", "sales").await;
    let (wang, li) = (app.api("wang.fang").await, app.api("li.qiang").await);
    let (east, west) = (app.api("zhao.min").await, app.api("qian.jun").await);

    // Wang Fang quotes 5 notebooks; the admin quotes 3.
    let mine =
        quotation(&wang, customer, json!([{"product_id": notebook, "quantity": "5", "unit_price": "20.00"}])).await;
    let id = mine["id"].as_i64().expect("id");
    quotation(&api, customer, json!([{"product_id": notebook, "quantity": "3", "unit_price": "20.00"}])).await;
    let numbers = |list: Value| -> Vec<String> {
        list["items"].as_array().unwrap().iter().map(|o| o["number"].as_str().unwrap().to_string()).collect()
    };

    // Her list and reports hold only her order; Li Qiang's nothing; the east manager hers,
    // the west manager nothing; the admin both.
    assert_eq!(numbers(wang.get("/api/v1/sales/orders").await.json()), ["SO/2026/00001"]);
    assert!(numbers(li.get("/api/v1/sales/orders").await.json()).is_empty());
    assert_eq!(numbers(east.get("/api/v1/sales/orders").await.json()), ["SO/2026/00001"]);
    assert!(numbers(west.get("/api/v1/sales/orders").await.json()).is_empty());
    assert_eq!(numbers(api.get("/api/v1/sales/orders").await.json()).len(), 2);
    let report = wang.get("/api/v1/sales/reports/analysis?from=2026-01-01&to=2026-12-31&by=month").await.json();
    assert_eq!(report["items"].as_array().map(Vec::len), Some(0), "a quotation is no sale yet: {report}");

    // Out of reach is not found, to read and to work; within reach it works.
    let path = format!("/api/v1/sales/orders/{id}");
    assert_eq!(li.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(west.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(li.post(&format!("{path}/confirm"), &json!({})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(west.post(&format!("{path}/cancel"), &json!({})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(wang.get(&path).await.status, StatusCode::OK);
    let confirmed = east.post(&format!("{path}/confirm"), &json!({})).await;
    assert_eq!(confirmed.json()["status"], "confirmed", "{}", confirmed.body);
    let report = east.get("/api/v1/sales/reports/open-orders").await.json();
    assert_eq!(report["items"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(west.get("/api/v1/sales/reports/open-orders").await.json()["items"].as_array().map(Vec::len), Some(0));
    // The page list follows the same rule.
    let page = app.signed_in("li.qiang").await.get("/sales/orders").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("SO/2026/00001"));
}

#[tokio::test]
async fn the_sales_analysis_and_open_orders_agree_with_the_orders_behind_them() {
    let Shop { app, api, customer, notebook } = shop("100", "0").await;
    let other = party(&api, "福州鑫源贸易有限公司", "customer").await;
    let order_on = |customer: i64, date: &str, quantity: &str, price: &str| json!({"customer_id": customer, "warehouse": "SH", "date": date, "lines": [{"product_id": notebook, "quantity": quantity, "unit_price": price}]});
    let mut ids = Vec::new();
    for (who, date, quantity, price) in [
        (customer, "2026-02-03", "10", "20.00"),
        (other, "2026-02-20", "5", "30.00"),
        (customer, "2026-03-02", "4", "25.00"),
    ] {
        let id = api.post("/api/v1/sales/orders", &order_on(who, date, quantity, price)).await.json()["id"]
            .as_i64()
            .unwrap();
        assert_eq!(api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await.status, StatusCode::OK);
        ids.push(id);
    }
    // A quotation left unconfirmed is not a sale.
    api.post("/api/v1/sales/orders", &order_on(other, "2026-03-03", "50", "20.00")).await;
    api.post(&format!("/api/v1/sales/orders/{}/deliver", ids[0]), &json!({"date": "2026-03-05"})).await;
    api.post(&format!("/api/v1/sales/orders/{}/invoice", ids[0]), &json!({"date": "2026-03-05"})).await;

    let by_month = api.get("/api/v1/sales/reports/analysis?from=2026-01-01&to=2026-03-31&by=month").await.json();
    let months: Vec<(String, i64, String)> = by_month["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                g["orders"].as_i64().unwrap(),
                g["net"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        months,
        [("2026-02".to_string(), 2, "350.00".to_string()), ("2026-03".to_string(), 1, "100.00".to_string())]
    );
    let direct: i64 = sqlx::query("SELECT CAST(SUM(l.net) AS BIGINT) AS n FROM sal_order_lines l JOIN sal_orders o ON o.id = l.order_id WHERE o.status IN ('confirmed', 'done')")
        .fetch_one(app.db.reader())
        .await
        .unwrap()
        .get("n");
    assert_eq!(direct, 45_000);
    let by_customer = api.get("/api/v1/sales/reports/analysis?from=2026-01-01&to=2026-03-31&by=customer").await.json();
    assert_eq!(by_customer["items"][0]["key"], "厦门华信科技有限公司");
    assert_eq!(by_customer["items"][0]["net"], "300.00");
    assert_eq!(
        api.get("/api/v1/sales/reports/analysis?by=region").await.json()["errors"][0]["code"],
        "error.sales.grouping"
    );

    // The first order is done; the other two are open with everything to deliver and invoice.
    let open = api.get("/api/v1/sales/reports/open-orders").await.json();
    let numbers: Vec<&str> = open["items"].as_array().unwrap().iter().map(|o| o["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["SO/2026/00002", "SO/2026/00003"]);
    assert_eq!(
        (open["items"][0]["lines_to_deliver"].as_i64(), open["items"][0]["not_invoiced"].as_str()),
        (Some(1), Some("169.50"))
    );

    let browser = app.signed_in("admin").await;
    let page = browser.get("/sales/analysis?from=2026-01-01&to=2026-03-31&by=month").await;
    assert!(page.body.contains("<svg class=\"chart\"") && page.body.contains("SO/2026/00002"), "{}", page.body);
}

#[tokio::test]
async fn a_backorder_is_dropped_by_closing_the_order_and_one_line_cannot_be_delivered_twice_over() {
    let Shop { app: _app, api, customer, notebook } = shop("30", "0").await;
    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "10", "unit_price": "20.00"}])).await;
    let id = so["id"].as_i64().expect("id");
    let line = so["lines"][0]["id"].as_i64().expect("line");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    // Six and six of a line of ten: refused on the second, nothing moves.
    let twice = json!({"date": "2026-03-17", "lines": [{"line_id": line, "quantity": "6"}, {"line_id": line, "quantity": "6"}]});
    let refused = api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &twice).await;
    assert_eq!(refused.json()["errors"][0]["field"], "lines[1].quantity", "{}", refused.body);
    assert_eq!(availability(&api, notebook).await, ("10".into(), "20".into()));
    // Four leave; the customer wants no more: closing gives the other six back.
    api.post(
        &format!("/api/v1/sales/orders/{id}/deliver"),
        &json!({"date": "2026-03-17", "lines": [{"line_id": line, "quantity": "4"}]}),
    )
    .await;
    let closed = api.post(&format!("/api/v1/sales/orders/{id}/cancel"), &json!({})).await;
    assert_eq!(closed.json()["status"], "closed", "{}", closed.body);
    assert_eq!(availability(&api, notebook).await, ("0".into(), "26".into()));
    // What was delivered can still be invoiced.
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-18"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
}

#[tokio::test]
async fn an_order_that_reserves_the_stock_below_its_minimum_raises_the_alert_before_anything_leaves() {
    let Shop { app, api, customer, notebook } = shop("30", "0").await;
    let rule = json!({"product_id": notebook, "warehouse": "SH", "min": "20", "max": "50"});
    assert_eq!(api.post("/api/v1/stock/reorder-rules", &rule).await.status, StatusCode::OK);
    let alerts = || app.count("outbox WHERE event_type = 'stock.StockBelowMinimum'");
    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "15", "unit_price": "20.00"}])).await;
    let id = so["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    // 30 on hand, 15 promised: 15 available, below 20, though nothing has left yet.
    assert_eq!(alerts().await, 1);
    let due = api.get("/api/v1/stock/replenishment").await.json();
    let line = &due["items"][0];
    assert_eq!(
        (line["on_hand"].as_str(), line["reserved"].as_str(), line["forecast"].as_str(), line["to_order"].as_str()),
        (Some("30"), Some("15"), Some("15"), Some("35"))
    );
    // Delivering the order changes nothing more: the alert was for this fall.
    api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(alerts().await, 1);
    app.dispatch_events().await;
    let requests = api.get("/api/v1/purchase/requests").await.json();
    assert_eq!(requests["items"][0]["lines"][0]["quantity"], "35", "{requests}");
}

#[tokio::test]
async fn goods_billed_in_advance_are_invoiced_as_ordered_and_services_never_wait_for_a_delivery() {
    let Shop { app: _app, api, customer, notebook } = shop("10", "0").await;
    let advance = json!({"code": "NB-PRE", "name": "预售笔记本", "kind": "goods", "uom": "pc", "purchase_uom": "pc", "sales_uom": "pc",
        "vat_rate": "13", "sale_price": "30.00", "invoice_policy": "ordered"});
    let prepaid = api.post("/api/v1/catalog/products", &advance).await.json()["id"].as_i64().expect("product");
    let service = json!({"code": "SVC-SETUP", "name": "上门安装", "kind": "service", "uom": "h", "purchase_uom": "h", "sales_uom": "h", "vat_rate": "6", "sale_price": "100.00"});
    let setup = api.post("/api/v1/catalog/products", &service).await.json()["id"].as_i64().expect("service");
    let wrong = json!({"code": "SVC-X", "name": "错", "kind": "service", "uom": "h", "vat_rate": "6", "invoice_policy": "delivered"});
    assert_eq!(api.post("/api/v1/catalog/products", &wrong).await.json()["errors"][0]["field"], "invoice_policy");
    api.post("/api/v1/stock/moves", &json!({"product_id": prepaid, "quantity": "5", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "20", "date": "2026-03-02"})).await;

    let so = quotation(
        &api,
        customer,
        json!([
            {"product_id": notebook, "quantity": "2", "unit_price": "20.00"},
            {"product_id": prepaid, "quantity": "3", "unit_price": "30.00"},
            {"product_id": setup, "quantity": "1", "unit_price": "100.00"},
        ]),
    )
    .await;
    let id = so["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    // Nothing delivered yet: the pre-sold notebooks and the service are invoiced, the notebooks wait.
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-16"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    let lines = invoiced.json()["order"]["lines"].clone();
    let done: Vec<&str> = lines.as_array().unwrap().iter().map(|l| l["invoiced"].as_str().unwrap()).collect();
    assert_eq!(done, ["0", "3", "1"]);
    let product = api.get(&format!("/api/v1/catalog/products/{setup}")).await.json();
    assert_eq!(product["invoice_policy"], "ordered", "services default to as ordered");
}

#[tokio::test]
async fn an_exempt_service_is_ordered_and_invoiced_without_tax_beside_taxed_notebooks() {
    let Shop { app: _app, api, customer, notebook } = shop("10", "0").await;
    // Technology transfer is exempt from VAT (技术转让免征增值税): the order and its invoice
    // carry it as exempt, with no tax, and the notebooks' 40.00 with 4.60 of VAT at 13 % in it.
    let transfer = json!({"code": "TECH-01", "name": "技术转让", "kind": "service", "uom": "pc", "purchase_uom": "pc",
        "sales_uom": "pc", "vat_rate": "exempt", "sale_price": "5000.00"});
    let licence = api.post("/api/v1/catalog/products", &transfer).await.json()["id"].as_i64().expect("service");
    let so = quotation(
        &api,
        customer,
        json!([
            {"product_id": notebook, "quantity": "2", "unit_price": "20.00"},
            {"product_id": licence, "quantity": "1", "unit_price": "5000.00"},
        ]),
    )
    .await;
    let rates: Vec<(String, String)> = so["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["vat_rate"].as_str().unwrap_or("?").into(), l["tax"].as_str().unwrap_or("?").into()))
        .collect();
    assert_eq!(rates, [("13".to_string(), "4.60".to_string()), ("exempt".to_string(), "0.00".to_string())]);
    let id = so["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-16"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    let invoices = api.get(&format!("/api/v1/finance/invoices?party_id={customer}")).await.json();
    let invoice = api.get(&format!("/api/v1/finance/invoices/{}", invoices["items"][0]["id"])).await.json();
    let line = invoice["lines"].as_array().and_then(|l| l.iter().find(|l| l["vat_rate"] == "exempt")).cloned();
    assert_eq!(
        line.map(|l| (l["net"].clone(), l["tax"].clone())),
        Some((json!("5000.00"), json!("0.00"))),
        "{invoice}"
    );
}

/// A small-scale taxpayer sells at its collection rate: notebooks kept at 13 %, as they are
/// bought, are ordered and invoiced at 1 % (the reduced rate through 2027), their tax on
/// 简易计税.
#[tokio::test]
async fn a_small_scale_shop_sells_notebooks_kept_at_13_percent_at_its_collection_rate() {
    let Shop { app, api, customer, notebook } = shop("10", "0").await;
    let set = api.patch("/api/v1/finance/settings", &json!({"taxpayer": "small_scale"})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let form = json!({"customer_id": customer, "warehouse": "SH", "date": "2026-03-16", "lines": [{"product_id": notebook, "quantity": "2", "unit_price": "20.00"}]});
    let made = api.post("/api/v1/sales/orders", &form).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let line = &made.json()["lines"][0];
    assert_eq!((line["vat_rate"].as_str(), line["tax"].as_str()), (Some("1"), Some("0.40")));
    let id = made.json()["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-16"})).await;
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-16"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    assert_eq!((balance(&app, "222107").await, balance(&app, "22210102").await), (-40, 0));
}

#[tokio::test]
async fn four_notebooks_come_back_after_the_invoice_and_their_cost_of_sales_is_undone() {
    let Shop { app, api, customer, notebook } = shop("100", "50").await;
    let so =
        quotation(&api, customer, json!([{"product_id": notebook, "quantity": "10", "unit_price": "20.00"}])).await;
    let id = so["id"].as_i64().expect("id");
    let line = so["lines"][0]["id"].as_i64().expect("line");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await;
    let done = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(done.json()["order"]["status"], "done");
    assert_eq!(balance(&app, "6401").await, 11_000, "ten at the average of 11.00");

    let too_many = json!({"date": "2026-03-18", "lines": [{"line_id": line, "quantity": "11"}]});
    let refused = api.post(&format!("/api/v1/sales/orders/{id}/return"), &too_many).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.sales.over_return");
    let back = json!({"date": "2026-03-18", "lines": [{"line_id": line, "quantity": "4"}]});
    let returned = api.post(&format!("/api/v1/sales/orders/{id}/return"), &back).await;
    assert_eq!(returned.status, StatusCode::CREATED, "{}", returned.body);
    let order = returned.json()["order"].clone();
    // Back at 11.00: 44.00 less cost of sales; four to send again, reserved; four invoiced to credit.
    assert_eq!(balance(&app, "6401").await, 6_600);
    assert_eq!(
        (order["status"].as_str(), order["lines"][0]["to_deliver"].as_str(), order["lines"][0]["to_credit"].as_str()),
        (Some("confirmed"), Some("4"), Some("4"))
    );
    assert_eq!(availability(&api, notebook).await, ("4".into(), "140".into()));
    let valuation = api.get("/api/v1/stock/valuation").await.json();
    assert_eq!(valuation["total"], valuation["ledger_balance"]);
    // The customer wants no replacement: closing gives the reservation back.
    assert_eq!(api.post(&format!("/api/v1/sales/orders/{id}/cancel"), &json!({})).await.json()["status"], "closed");
    assert_eq!(availability(&api, notebook).await, ("0".into(), "144".into()));

    // The four are credited in red ink: 4 × 20.00 = 80.00 with VAT (70.80 + 9.20) back out of
    // sales, VAT and the receivable; the unpaid invoice is settled by that much.
    let invoice = done.json()["invoice_id"].as_i64().expect("invoice");
    let (sales_before, receivable_before) = (balance(&app, "6001").await, balance(&app, "1122").await);
    let credited = api.post(&format!("/api/v1/sales/orders/{id}/credit"), &json!({"date": "2026-03-19"})).await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.body);
    assert_eq!(credited.json()["order"]["lines"][0]["invoiced"], "6");
    assert_eq!(credited.json()["order"]["lines"][0]["to_credit"], "0");
    assert_eq!(balance(&app, "6001").await - sales_before, 7_080);
    assert_eq!(balance(&app, "1122").await - receivable_before, -8_000);
    let note = credited.json()["credit_note_id"].as_i64().expect("note");
    let note = api.get(&format!("/api/v1/finance/invoices/{note}")).await.json();
    assert_eq!((note["total"].as_str(), note["credit_of"].as_i64()), (Some("-80.00"), Some(invoice)));
    let original = api.get(&format!("/api/v1/finance/invoices/{invoice}")).await.json();
    assert_eq!((original["status"].as_str(), original["settled"].as_str()), (Some("partial"), Some("80.00")));
    // Nothing is left to credit: a second credit note is refused.
    let again = api.post(&format!("/api/v1/sales/orders/{id}/credit"), &json!({"date": "2026-03-19"})).await;
    assert_eq!(again.json()["errors"][0]["code"], "error.sales.nothing_to_credit");
}

#[tokio::test]
async fn cables_are_sold_by_the_box_and_leave_the_warehouse_by_the_piece() {
    let Shop { app, api, customer, .. } = shop("0", "0").await;
    let product = json!({"code": "CBL-C", "name": "USB-C 数据线", "kind": "goods", "uom": "pc", "purchase_uom": "pc",
        "sales_uom": "box12", "vat_rate": "13", "sale_price": "468.00"});
    let cable = api.post("/api/v1/catalog/products", &product).await.json()["id"].as_i64().expect("product");
    let receipt = json!({"product_id": cable, "quantity": "48", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "25.00", "date": "2026-03-02"});
    assert_eq!(api.post("/api/v1/stock/moves", &receipt).await.status, StatusCode::CREATED);

    // Two boxes at the catalog's 468.00 a box, and six single cables at the same price per
    // piece (39.00), on one order.
    let so = quotation(
        &api,
        customer,
        json!([{"product_id": cable, "quantity": "2"}, {"product_id": cable, "quantity": "6", "unit": "pc"}]),
    )
    .await;
    let lines = &so["lines"];
    assert_eq!(
        (
            lines[0]["unit"].as_str(),
            lines[0]["unit_price"].as_str(),
            lines[1]["unit"].as_str(),
            lines[1]["unit_price"].as_str()
        ),
        (Some("box12"), Some("468.00"), Some("pc"), Some("39.00"))
    );
    assert_eq!(so["total"], "1170.00", "2 × 468.00 + 6 × 39.00, VAT included");
    let (id, boxes) = (so["id"].as_i64().expect("id"), lines[0]["id"].as_i64().expect("line"));

    // Confirming reserves 30 pieces: 24 for the boxes, 6 loose.
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    assert_eq!(availability(&api, cable).await, ("30".into(), "18".into()));

    // Half a box leaves: 6 pieces at 25.00 cost 150.00; the rest of the line stays reserved.
    let half = json!({"date": "2026-03-17", "lines": [{"line_id": boxes, "quantity": "0.5"}]});
    let delivered = api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &half).await;
    assert_eq!(delivered.status, StatusCode::CREATED, "{}", delivered.body);
    assert_eq!(delivered.json()["order"]["lines"][0]["to_deliver"], "1.5");
    assert_eq!(availability(&api, cable).await, ("24".into(), "18".into()));
    assert_eq!(balance(&app, "6401").await, 15_000);

    // The invoice is in boxes, as ordered: 0.5 × 468.00 = 234.00 with VAT.
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    let invoice = invoiced.json()["invoice_id"].as_i64().expect("invoice");
    let invoice = api.get(&format!("/api/v1/finance/invoices/{invoice}")).await.json();
    assert_eq!((invoice["total"].as_str(), invoice["lines"][0]["quantity"].as_str()), (Some("234.00"), Some("0.5")));

    // A quarter box comes back: three pieces, at the cost they left with.
    let back = json!({"date": "2026-03-18", "lines": [{"line_id": boxes, "quantity": "0.25"}]});
    let returned = api.post(&format!("/api/v1/sales/orders/{id}/return"), &back).await;
    assert_eq!(returned.status, StatusCode::CREATED, "{}", returned.body);
    assert_eq!(balance(&app, "6401").await, 7_500);
    let on_hand = api.get(&format!("/api/v1/stock/quantities?product_id={cable}")).await.json();
    assert_eq!(on_hand["items"][0]["quantity"], "45");

    // A cable is not sold by the gram.
    let form = json!({"customer_id": customer, "warehouse": "SH", "date": "2026-03-16", "lines": [{"product_id": cable, "quantity": "1", "unit": "g"}]});
    let refused = api.post("/api/v1/sales/orders", &form).await;
    assert_eq!(refused.json()["errors"][0]["field"], "lines[0].unit", "{}", refused.body);
}

#[tokio::test]
async fn two_servers_leave_by_their_serial_numbers_and_one_comes_back() {
    let Shop { app, api, customer, .. } = shop("0", "0").await;
    let product = json!({"code": "SRV-R750", "name": "服务器 R750", "kind": "goods", "uom": "pc", "vat_rate": "13",
        "track_serial": true, "sale_price": "28000.00"});
    let server = api.post("/api/v1/catalog/products", &product).await.json()["id"].as_i64().expect("product");
    for serial in ["SN-003", "SN-001", "SN-002"] {
        let receipt = json!({"product_id": server, "quantity": "1", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "19600.00", "date": "2026-03-02", "lot": serial});
        assert_eq!(api.post("/api/v1/stock/moves", &receipt).await.status, StatusCode::CREATED);
    }
    let so = quotation(&api, customer, json!([{"product_id": server, "quantity": "2"}])).await;
    let (id, line) = (so["id"].as_i64().expect("id"), so["lines"][0]["id"].as_i64().expect("line"));
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;

    // No serials named: the two first in order leave, one move each.
    let delivered = api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(delivered.status, StatusCode::CREATED, "{}", delivered.body);
    let left: Vec<String> = sqlx::query("SELECT lot FROM stk_moves WHERE reference = $1 ORDER BY lot")
        .bind(so["number"].as_str().unwrap())
        .fetch_all(app.db.reader())
        .await
        .expect("moves")
        .iter()
        .map(|r| r.try_get("lot").expect("lot"))
        .collect();
    assert_eq!(left, ["SN-001", "SN-002"]);

    // SN-002 comes back by name; a serial that never left cannot come back.
    let wrong = json!({"date": "2026-03-18", "lines": [{"line_id": line, "quantity": "1", "lot": "SN-003"}]});
    let refused = api.post(&format!("/api/v1/sales/orders/{id}/return"), &wrong).await;
    assert_eq!(refused.json()["errors"][0]["code"], "error.stock.serial_on_hand", "{}", refused.body);
    let back = json!({"date": "2026-03-18", "lines": [{"line_id": line, "quantity": "1", "lot": "SN-002"}]});
    assert_eq!(api.post(&format!("/api/v1/sales/orders/{id}/return"), &back).await.status, StatusCode::CREATED);
    assert_eq!(app.count("stk_quants WHERE lot IN ('SN-002', 'SN-003') AND quantity = 1000000").await, 2);
}

#[tokio::test]
async fn vaccines_leave_by_the_lot_that_expires_first() {
    let Shop { app: _app, api, customer, notebook: _ } = shop("0", "0").await;
    let form = json!({"code": "VAC-FLU", "name": "流感疫苗", "kind": "goods", "uom": "pc", "purchase_uom": "pc", "sales_uom": "pc",
        "vat_rate": "13", "track_lot": true, "track_expiry": true, "sale_price": "80.00"});
    let vaccine = api.post("/api/v1/catalog/products", &form).await.json()["id"].as_i64().expect("vaccine");
    let receipt = |lot: &str, expiry: &str| json!({"product_id": vaccine, "quantity": "10", "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "50", "lot": lot, "expiry": expiry, "date": "2026-03-02"});
    // A new lot of a product that tracks expiry needs its date, and keeps it.
    let undated = api.post("/api/v1/stock/moves", &receipt("L2606", "")).await;
    assert_eq!(undated.json()["errors"][0]["field"], "expiry", "{}", undated.body);
    assert_eq!(api.post("/api/v1/stock/moves", &receipt("L2606", "2026-06-30")).await.status, StatusCode::CREATED);
    assert_eq!(api.post("/api/v1/stock/moves", &receipt("L2604", "2026-04-30")).await.status, StatusCode::CREATED);
    let redated = api.post("/api/v1/stock/moves", &receipt("L2604", "2026-05-31")).await;
    assert_eq!(redated.json()["errors"][0]["code"], "error.stock.expiry_mismatch");

    let picks = api.get(&format!("/api/v1/stock/fefo?product_id={vaccine}&warehouse=SH&quantity=15")).await.json();
    let lots: Vec<(&str, &str)> = picks["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["lot"].as_str().unwrap(), p["take"].as_str().unwrap()))
        .collect();
    assert_eq!(lots, [("L2604", "10"), ("L2606", "5")]);
    assert_eq!(
        api.get(&format!("/api/v1/stock/fefo?product_id={vaccine}&warehouse=SH&quantity=25")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A delivery that names no lot takes April's ten, then five of June's.
    let so = quotation(&api, customer, json!([{"product_id": vaccine, "quantity": "15"}])).await;
    let id = so["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    let delivered = api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(delivered.status, StatusCode::CREATED, "{}", delivered.body);
    let left = api.get(&format!("/api/v1/stock/quantities?product_id={vaccine}")).await.json();
    let rows: Vec<(&str, &str, &str)> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["lot"].as_str().unwrap(), r["expiry"].as_str().unwrap(), r["quantity"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [("L2606", "2026-06-30", "5")]);
}

/// One step of a random week of trade: (what, which product, quantity, which order).
fn step() -> impl proptest::strategy::Strategy<Value = (u8, usize, u32, usize)> {
    (0u8..5, 0usize..2, 1u32..12, 0usize..8)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4, ..proptest::prelude::ProptestConfig::default() })]

    #[test]
    fn reservations_always_equal_what_confirmed_orders_still_owe(steps in proptest::collection::vec(step(), 1..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let Shop { app, api, customer, notebook } = shop("20", "0").await;
            let cable = json!({"code": "CBL-C", "name": "数据线", "kind": "goods", "uom": "pc", "purchase_uom": "pc", "sales_uom": "pc", "vat_rate": "13", "costing": "fifo", "sale_price": "5.00"});
            let cable = api.post("/api/v1/catalog/products", &cable).await.json()["id"].as_i64().expect("cable");
            let products = [notebook, cable];
            let mut orders: Vec<(i64, i64)> = Vec::new();
            for (what, which, quantity, pick) in steps {
                let product = products[which];
                let quantity = quantity.to_string();
                let order = orders.get(pick % orders.len().max(1)).copied();
                match (what, order) {
                    (0, _) => {
                        let so = quotation(&api, customer, json!([{"product_id": product, "quantity": quantity, "unit_price": "20.00"}])).await;
                        let id = so["id"].as_i64().expect("id");
                        api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
                        orders.push((id, so["lines"][0]["id"].as_i64().expect("line")));
                    }
                    (1, Some((id, _))) => { api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await; }
                    (2, Some((id, _))) => { api.post(&format!("/api/v1/sales/orders/{id}/cancel"), &json!({})).await; }
                    (3, Some((id, line))) => {
                        api.post(&format!("/api/v1/sales/orders/{id}/return"), &json!({"date": "2026-03-18", "lines": [{"line_id": line, "quantity": quantity}]})).await;
                    }
                    _ => {
                        api.post("/api/v1/stock/moves", &json!({"product_id": product, "quantity": quantity, "from": "SUPPLIER", "to": "SH/STOCK", "unit_cost": "7.77", "date": "2026-03-10"})).await;
                    }
                }
            }
            for product in products {
                let reserved: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS n FROM stk_reservations WHERE product_id = $1")
                    .bind(product).fetch_one(app.db.reader()).await.expect("reserved").get("n");
                let owed: i64 = sqlx::query(
                    "SELECT CAST(COALESCE(SUM((l.quantity - l.delivered) * l.stock_num / l.stock_den), 0) AS BIGINT) AS n FROM sal_order_lines l JOIN sal_orders o ON o.id = l.order_id \
                     WHERE l.product_id = $1 AND o.status = 'confirmed' AND l.stocked = 1",
                ).bind(product).fetch_one(app.db.reader()).await.expect("owed").get("n");
                assert_eq!(reserved, owed, "product {product}: reservations and what confirmed orders still owe");
                let on_hand: i64 = sqlx::query("SELECT CAST(COALESCE(SUM(q.quantity), 0) AS BIGINT) AS n FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id WHERE q.product_id = $1 AND l.kind = 'internal'")
                    .bind(product).fetch_one(app.db.reader()).await.expect("on hand").get("n");
                assert!(reserved <= on_hand, "product {product}: {reserved} reserved of {on_hand} on hand");
            }
            let valuation = api.get("/api/v1/stock/valuation").await.json();
            assert_eq!(valuation["total"], valuation["ledger_balance"], "{valuation}");
        });
    }
}

/// Three sample notebooks at 0.45 each including 13 % VAT: rounded per line the VAT is
/// 0.05 × 3 = 0.15; rounded once for the document it is 0.16. The order is written while the
/// company rounds per line; the accountant switches to per document before it is invoiced.
/// The invoice follows the order, not the new setting, so it bills exactly the order's total.
#[tokio::test]
async fn an_order_is_invoiced_with_the_vat_rounding_it_was_written_with() {
    let Shop { app, api, customer, notebook } = shop("10", "0").await;
    let line = json!({"product_id": notebook, "quantity": "1", "unit_price": "0.45"});
    let so = quotation(&api, customer, json!([line, line, line])).await;
    assert_eq!((so["tax"].as_str(), so["total"].as_str()), (Some("0.15"), Some("1.35")));
    let switched = api
        .call(axum::http::Method::PATCH, "/api/v1/finance/settings", Some(&json!({"vat_rounding": "document"})))
        .await;
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.body);
    let id = so["id"].as_i64().expect("id");
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await;
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    assert_eq!((balance(&app, "1122").await, balance(&app, "22210102").await), (135, -15));
    // A new order takes the new setting.
    let next = quotation(&api, customer, json!([line, line, line])).await;
    assert_eq!((next["tax"].as_str(), next["total"].as_str()), (Some("0.16"), Some("1.35")));
}

/// A line of an income statement from the API, as a decimal string.
fn statement_line(statement: &Value, key: &str) -> String {
    let lines = statement["lines"].as_array().expect("lines");
    let line = lines.iter().find(|l| l["key"] == key).unwrap_or_else(|| panic!("no {key} in {statement}"));
    line["amount"].as_str().expect("amount").to_string()
}

#[tokio::test]
async fn notebooks_sold_at_the_fair_show_their_revenue_and_cost_under_the_sales_department_and_the_fair() {
    let Shop { app, api, customer, notebook } = shop("100", "50").await;
    for (dimension, code, name) in [("cost_center", "SAL", "销售部"), ("project", "EXPO-2026", "上海工博会")] {
        let listed =
            api.post(&format!("/api/v1/finance/dimensions/{dimension}"), &json!({"code": code, "name": name})).await;
        assert_eq!(listed.status, StatusCode::CREATED, "{}", listed.body);
    }
    // The fair typed with a zero for the O: refused beside the project, nothing written.
    let typo = json!({"customer_id": customer, "warehouse": "SH", "date": "2026-03-16", "tax_inclusive": true,
        "cost_center": "SAL", "project": "EXP0-2026",
        "lines": [{"product_id": notebook, "quantity": "10", "unit_price": "20.00"}]});
    let refused = api.post("/api/v1/sales/orders", &typo).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let problem = &refused.json()["errors"][0];
    assert_eq!(
        (problem["field"].as_str(), problem["code"].as_str()),
        (Some("project"), Some("error.finance.unknown_project"))
    );
    assert_eq!(app.count("sal_orders").await, 0);

    // Ten notebooks at 20.00 with VAT taken at the fair: 176.99 of sales, 110.00 of cost at
    // the average of 11.00, both under the sales department and the fair.
    let mut form = typo.clone();
    form["project"] = json!("EXPO-2026");
    let so = api.post("/api/v1/sales/orders", &form).await;
    assert_eq!(so.status, StatusCode::CREATED, "{}", so.body);
    let so = so.json();
    assert_eq!((so["cost_center"].as_str(), so["project"].as_str()), (Some("SAL"), Some("EXPO-2026")));
    let audited = format!(
        "audit_log WHERE resource = 'sales.order' AND resource_id = '{}' AND changes LIKE '%EXPO-2026%'",
        so["id"]
    );
    assert_eq!(app.count(&audited).await, 1, "the audit trail names the order's project");
    let (id, line) = (so["id"].as_i64().expect("id"), so["lines"][0]["id"].as_i64().expect("line"));
    api.post(&format!("/api/v1/sales/orders/{id}/confirm"), &json!({})).await;
    api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-17"})).await;
    let invoiced = api.post(&format!("/api/v1/sales/orders/{id}/invoice"), &json!({"date": "2026-03-17"})).await;
    assert_eq!(invoiced.status, StatusCode::CREATED, "{}", invoiced.body);
    let march = "/api/v1/finance/reports/income-statement?from=2026-03&to=2026-03";
    for slice in ["project=EXPO-2026", "cost_center=SAL"] {
        let statement = api.get(&format!("{march}&{slice}")).await.json();
        assert_eq!(
            (statement_line(&statement, "revenue"), statement_line(&statement, "cost_of_sales")),
            ("176.99".to_string(), "110.00".to_string()),
            "{slice}: {statement}"
        );
    }

    // Four come back and are credited: their cost (44.00) and sales (70.80) leave the fair too.
    let back = json!({"date": "2026-03-18", "lines": [{"line_id": line, "quantity": "4"}]});
    assert_eq!(api.post(&format!("/api/v1/sales/orders/{id}/return"), &back).await.status, StatusCode::CREATED);
    let credited = api.post(&format!("/api/v1/sales/orders/{id}/credit"), &json!({"date": "2026-03-19"})).await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.body);
    let fair = api.get(&format!("{march}&project=EXPO-2026")).await.json();
    assert_eq!(
        (statement_line(&fair, "revenue"), statement_line(&fair, "cost_of_sales")),
        ("106.19".to_string(), "66.00".to_string())
    );
    let department = api.get(&format!("{march}&cost_center=SAL")).await.json();
    assert_eq!(statement_line(&department, "revenue"), "106.19");
    let whole = api.get(march).await.json();
    assert_eq!(statement_line(&whole, "revenue"), "106.19", "the whole company sold only at the fair");

    // The order's page names both, each a link to its income statement; the quotation form
    // offers the listed codes and refuses an archived project beside its field.
    let browser = app.signed_in("admin").await;
    let page = browser.get(&format!("/sales/orders/{id}")).await;
    assert!(page.body.contains("/finance/reports/income-statement?slice=project:EXPO-2026&amp;from=2026-03"));
    assert!(page.body.contains("/finance/reports/income-statement?slice=cost_center:SAL&amp;from=2026-03"));
    let archived = api.post("/api/v1/finance/dimensions/project/EXPO-2026/archive", &json!({})).await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    let orders_before = app.count("sal_orders").await;
    let refused = browser
        .post_form(
            "/sales/orders",
            "/sales/orders",
            &[
                ("customer_id", &customer.to_string()),
                ("warehouse", "SH"),
                ("date", "2026-03-20"),
                ("cost_center", "SAL"),
                ("project", "EXPO-2026"),
                ("product_id", &notebook.to_string()),
                ("quantity", "2"),
                ("unit", ""),
                ("unit_price", "20.00"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let project = refused.body.split("id=\"q-project\"").nth(1).expect("project field");
    let project = &project[..project.find("</div>").expect("field end")];
    assert!(project.contains("value=\"EXPO-2026\"") && project.contains("role=\"alert\""), "{project}");
    assert!(refused.body.contains("<option value=\"SAL\">销售部</option>"), "the listed centres are offered");
    assert_eq!(app.count("sal_orders").await, orders_before, "nothing written");
    assert!(!refused.body.contains("<option value=\"EXPO-2026\">"), "an archived project is not offered");
    assert!(project.contains("项目 EXPO-2026 已停用"), "{project}");

    // With the fair archived, the four still to send wait until it is restored; goods coming
    // back, and a return reversed, carry the fair's codes as their delivery did.
    let held = api.post(&format!("/api/v1/sales/orders/{id}/deliver"), &json!({"date": "2026-03-21"})).await;
    assert_eq!(held.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", held.body);
    assert_eq!(held.json()["errors"][0]["code"], "error.finance.archived_project", "{}", held.body);
    let two_back = json!({"date": "2026-03-22", "lines": [{"line_id": line, "quantity": "2"}]});
    let returned = api.post(&format!("/api/v1/sales/orders/{id}/return"), &two_back).await;
    assert_eq!(returned.status, StatusCode::CREATED, "{}", returned.body);
    let fair_cost = async || {
        let fair = api.get(&format!("{march}&project=EXPO-2026")).await.json();
        statement_line(&fair, "cost_of_sales")
    };
    assert_eq!(fair_cost().await, "44.00", "two more back at 11.00");
    let return_move: i64 = sqlx::query("SELECT id FROM stk_moves WHERE move_date = '2026-03-22'")
        .fetch_one(app.db.reader())
        .await
        .expect("the return's move")
        .try_get("id")
        .expect("id");
    let reversed =
        api.post(&format!("/api/v1/stock/moves/{return_move}/reverse"), &json!({"date": "2026-03-23"})).await;
    assert_eq!(reversed.status, StatusCode::CREATED, "{}", reversed.body);
    assert_eq!(fair_cost().await, "66.00", "the return undone, its cost of sales is the fair's again");
}

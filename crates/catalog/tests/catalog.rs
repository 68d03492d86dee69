//! The catalog as a trading company sets it up: units with exact conversions, a product with a
//! barcode and a preferred supplier, and the refusals that keep it clean.

use axum::http::StatusCode;
use serde_json::json;
use testkit::spawn_app;

#[tokio::test]
async fn boxes_convert_to_pieces_exactly_and_inexact_conversions_are_refused() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let units = api.get("/api/v1/catalog/uoms").await.json();
    assert!(units["items"].as_array().expect("units").iter().any(|u| u["code"] == "box12"));
    let three_boxes = api.get("/api/v1/catalog/convert?quantity=3&from=box12&to=pc").await.json();
    assert_eq!(three_boxes["result"], "36");
    assert_eq!(api.get("/api/v1/catalog/convert?quantity=1.25&from=kg&to=g").await.json()["result"], "1250");
    let inexact = api.get("/api/v1/catalog/convert?quantity=1&from=pc&to=box12").await;
    assert_eq!(inexact.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(inexact.json()["errors"][0]["code"], "error.catalog.inexact");
    assert_eq!(
        api.get("/api/v1/catalog/convert?quantity=1&from=kg&to=pc").await.json()["errors"][0]["code"],
        "error.catalog.uom_category"
    );
    let case = api
        .post(
            "/api/v1/catalog/uoms",
            &json!({"code": "case24", "name_zh": "箱（24 瓶）", "category": "unit", "ratio_num": 24}),
        )
        .await;
    assert_eq!(case.status, StatusCode::CREATED, "{}", case.body);
    assert_eq!(api.get("/api/v1/catalog/convert?quantity=2&from=case24&to=box12").await.json()["result"], "4");
    let bad = api
        .post("/api/v1/catalog/uoms", &json!({"code": "zero", "name_zh": "零", "category": "unit", "ratio_num": 0}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_product_is_created_with_its_units_and_a_preferred_supplier() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let supplier = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "福州金桥电子有限公司", "roles": ["supplier"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let customer = api
        .post("/api/v1/parties", &json!({"kind": "organization", "name": "客户甲", "roles": ["customer"]}))
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let form = json!({"code": "usb-c-01", "barcode": "6901234567892", "name": "USB-C 数据线", "name_en": "USB-C cable", "category": "配件",
        "kind": "goods", "uom": "pc", "purchase_uom": "box12", "sales_uom": "pc", "vat_rate": "13", "track_lot": true, "sale_price": "39.00"});
    let created = api.post("/api/v1/catalog/products", &form).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let product = created.json();
    assert_eq!((product["code"].as_str(), product["purchase_uom"].as_str()), (Some("USB-C-01"), Some("box12")));
    let id = product["id"].as_i64().expect("id");
    let again = api.post("/api/v1/catalog/products", &form).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = again.json();
    assert!(
        problem["errors"].as_array().expect("errors").iter().any(|e| e["code"] == "error.catalog.code_taken"),
        "{problem}"
    );
    let mut wrong = form.clone();
    wrong["code"] = json!("X2");
    wrong["barcode"] = json!("6901234567891");
    wrong["purchase_uom"] = json!("kg");
    let refused = api.post("/api/v1/catalog/products", &wrong).await.json();
    let errors: Vec<String> = refused["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["code"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(errors.contains(&"error.catalog.barcode_check".to_string()), "{errors:?}");
    let mut service = form.clone();
    service["code"] = json!("SVC-1");
    service["barcode"] = json!("");
    service["kind"] = json!("service");
    assert_eq!(
        api.post("/api/v1/catalog/products", &service).await.json()["errors"][0]["code"],
        "error.catalog.service_tracking"
    );

    let set = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/catalog/products/{id}/suppliers"),
            Some(&json!({"party_id": supplier, "price": "180.00", "lead_days": 5, "preferred": true})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.json()["suppliers"][0]["party_name"], "福州金桥电子有限公司");
    let not_supplier = api
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/catalog/products/{id}/suppliers"),
            Some(&json!({"party_id": customer, "price": "1.00", "lead_days": 5})),
        )
        .await;
    assert_eq!(not_supplier.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The same on the product's page: the price and lead time as typed, the reason beside them.
    let refused = app
        .signed_in("admin")
        .await
        .post_form(
            &format!("/catalog/products/{id}"),
            &format!("/catalog/products/{id}/suppliers"),
            &[("party_id", &customer.to_string()), ("price", "1.00"), ("lead_days", "5"), ("min_qty", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("id=\"price\" name=\"price\" inputmode=\"decimal\" maxlength=\"20\" value=\"1.00\""));
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert_eq!(
        api.get("/api/v1/catalog/products?q=6901234567892").await.json()["items"].as_array().map(Vec::len),
        Some(1)
    );

    let browser = app.signed_in("admin").await;
    let page = browser.get(&format!("/catalog/products/{id}")).await;
    assert!(
        page.body.contains("USB-C 数据线")
            && page.body.contains("福州金桥电子有限公司")
            && page.body.contains("180.00")
    );
    let made = browser
        .post_form(
            "/catalog/products/new",
            "/catalog/products",
            &[
                ("code", "HDMI-2"),
                ("name", "HDMI 线"),
                ("kind", "goods"),
                ("uom", "pc"),
                ("purchase_uom", "pc"),
                ("sales_uom", "pc"),
                ("vat_rate", "13"),
                ("costing", "fifo"),
                ("sale_price", "25.00"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let converted = browser.get("/catalog/uoms?quantity=2&from=dozen&to=pc").await;
    assert!(converted.body.contains("2 dozen = 24 pc"));
    assert!(converted.body.contains("<option value=\"dozen\" selected>"), "the question stays in the converter");
    // Grams into pieces cannot be: the converter says why (422) and keeps what was asked.
    let across = browser.get("/catalog/uoms?quantity=500&from=g&to=pc").await;
    assert_eq!(across.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", across.body);
    assert!(across.body.contains("value=\"500\"") && across.body.contains("role=\"alert\""));
    // A unit with a ratio of zero: refused with the code and names as typed.
    let zero = browser
        .post_form(
            "/catalog/uoms",
            "/catalog/uoms",
            &[
                ("code", "zero"),
                ("name_zh", "零"),
                ("name_en", "Zero"),
                ("category", "unit"),
                ("ratio_num", "0"),
                ("ratio_den", "1"),
            ],
        )
        .await;
    assert_eq!(zero.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", zero.body);
    assert!(zero.body.contains("id=\"code\" name=\"code\" maxlength=\"20\" value=\"zero\""), "{}", zero.body);
    assert!(zero.body.contains("value=\"0\" maxlength=\"10\"") && zero.body.contains("role=\"alert\""));
    app.user("wang.fang", &["sales_rep"], "east", "sales").await;
    let rep = app.api("wang.fang").await;
    assert_eq!(rep.get("/api/v1/catalog/products").await.status, StatusCode::OK);
    assert_eq!(
        rep.post(
            "/api/v1/catalog/products",
            &json!({"code": "X", "name": "x", "kind": "goods", "uom": "pc", "vat_rate": "13"})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_product_is_edited_with_its_version_and_the_history_shows_the_change() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let created = api.post("/api/v1/catalog/products", &json!({"code": "NB-14", "name": "笔记本电脑", "kind": "goods", "uom": "pc", "vat_rate": "13", "sale_price": "6500.00"})).await.json();
    let id = created["id"].as_i64().expect("id");
    let path = format!("/api/v1/catalog/products/{id}");
    let changed = api
        .patch(&path, &json!({"version": 1, "name": "14 英寸笔记本电脑", "sale_price": "6299.00", "code": "IGNORED"}))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let product = changed.json();
    assert_eq!(
        (product["name"].as_str(), product["sale_price"].as_i64(), product["code"].as_str()),
        (Some("14 英寸笔记本电脑"), Some(629_900), Some("NB-14"))
    );
    let stale = api.patch(&path, &json!({"version": 1, "name": "旧版本"})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let browser = app.signed_in("admin").await;
    let edit = browser.get(&format!("/catalog/products/{id}/edit")).await;
    assert!(edit.body.contains("name=\"version\" value=\"2\""));
    let page = browser.get(&format!("/catalog/products/{id}")).await;
    assert!(page.body.contains("<del>笔记本电脑</del>"), "the history shows before and after");
    let archived = api.post(&format!("{path}/archive"), &json!({"archived": true})).await;
    assert_eq!(archived.json()["archived"], true);
    assert_eq!(
        api.get("/api/v1/catalog/products").await.json()["items"].as_array().map(Vec::len),
        Some(0),
        "archived products leave the list"
    );
    let restored = browser
        .post_form(
            &format!("/catalog/products/{id}"),
            &format!("/catalog/products/{id}/archive"),
            &[("archived", "false")],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    assert_eq!(api.get("/api/v1/catalog/products").await.json()["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_most_specific_valid_price_list_and_the_highest_reached_quantity_break_set_the_price() {
    let app = spawn_app().await;
    let api = app.api("admin").await;
    let vip = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "大客户甲", "roles": ["customer"], "tags": ["VIP"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let walk_in =
        api.post("/api/v1/parties", &json!({"kind": "person", "name": "散客乙", "roles": ["customer"]})).await.json()
            ["id"]
            .as_i64()
            .expect("id");
    let special = api
        .post(
            "/api/v1/parties",
            &json!({"kind": "organization", "name": "合同客户丙", "roles": ["customer"], "tags": ["VIP"]}),
        )
        .await
        .json()["id"]
        .as_i64()
        .expect("id");
    let product = api.post("/api/v1/catalog/products", &json!({"code": "CBL-C", "name": "USB-C 数据线", "kind": "goods", "uom": "pc", "vat_rate": "13", "sale_price": "39.00"})).await.json()["id"].as_i64().expect("id");
    let list = |body: serde_json::Value| {
        let api = api.clone();
        async move { api.post("/api/v1/catalog/price-lists", &body).await.json()["id"].as_i64().expect("list") }
    };
    let everyone = list(json!({"name": "2026 标准价"})).await;
    let group =
        list(json!({"name": "VIP 三月促销", "tag": "VIP", "valid_from": "2026-03-01", "valid_to": "2026-03-31"})).await;
    let contract = list(json!({"name": "丙公司合同价", "party_id": special})).await;
    let item = |list: i64, min_qty: &str, price: &str| {
        let api = api.clone();
        let body = json!({"product_id": product, "min_qty": min_qty, "price": price});
        async move {
            assert_eq!(
                api.call(axum::http::Method::PUT, &format!("/api/v1/catalog/price-lists/{list}/items"), Some(&body))
                    .await
                    .status,
                StatusCode::OK
            )
        }
    };
    item(everyone, "", "36.00").await;
    item(everyone, "100", "33.00").await;
    item(group, "", "32.00").await;
    item(contract, "", "30.00").await;
    let price = |party: i64, quantity: &str, date: &str| {
        let api = api.clone();
        let path =
            format!("/api/v1/catalog/price?product_id={product}&party_id={party}&quantity={quantity}&date={date}");
        async move {
            let quote = api.get(&path).await.json();
            (quote["price"].as_str().unwrap_or("").to_string(), quote["source"].as_str().unwrap_or("own").to_string())
        }
    };
    assert_eq!(price(walk_in, "10", "2026-03-15").await, ("36.00".into(), "2026 标准价".into()));
    assert_eq!(
        price(walk_in, "150", "2026-03-15").await,
        ("33.00".into(), "2026 标准价".into()),
        "the 100-piece break"
    );
    assert_eq!(
        price(vip, "10", "2026-03-15").await,
        ("32.00".into(), "VIP 三月促销".into()),
        "the group list wins over everyone's"
    );
    assert_eq!(
        price(vip, "10", "2026-04-02").await,
        ("36.00".into(), "2026 标准价".into()),
        "the promotion ended in March"
    );
    assert_eq!(
        price(special, "500", "2026-03-15").await,
        ("30.00".into(), "丙公司合同价".into()),
        "the customer's own list wins"
    );
    let both = api.post("/api/v1/catalog/price-lists", &json!({"name": "x", "party_id": vip, "tag": "VIP"})).await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = app
        .signed_in("admin")
        .await
        .get(&format!("/catalog/price-lists?product_id={product}&party_id={vip}&quantity=10&date=2026-03-15"))
        .await;
    assert!(page.body.contains("VIP 三月促销") && page.body.contains("32.00"), "{}", page.body);
    // A quantity in words, for no customer (the form's "—"): refused beside the quantity, the
    // check shown again as asked.
    let asked = app
        .signed_in("admin")
        .await
        .get(&format!("/catalog/price-lists?product_id={product}&party_id=&quantity=%E5%8D%81&date=2026-03-15"))
        .await;
    assert_eq!(asked.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", asked.body);
    let quantity = asked.body.split("id=\"q-qty\"").nth(1).expect("the quantity field");
    let quantity = &quantity[..quantity.find("</div>").expect("field end")];
    assert!(quantity.contains("value=\"十\"") && quantity.contains("role=\"alert\""), "{quantity}");
    assert!(
        asked.body.contains(&format!("<option value=\"{product}\" selected>"))
            && asked.body.contains("value=\"2026-03-15\"")
    );

    // On the page, a list for a customer and a tag at once is refused beside the fields with
    // what was typed, and so is a price in words added to a list: nothing is written.
    let browser = app.signed_in("admin").await;
    let lists = app.count("cat_price_lists").await;
    let vip_field = vip.to_string();
    let refused = browser
        .post_form(
            "/catalog/price-lists",
            "/catalog/price-lists",
            &[
                ("name", "四月促销"),
                ("party_id", &vip_field),
                ("tag", "VIP"),
                ("valid_from", "2026-04-01"),
                ("valid_to", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("id=\"pl-name\" name=\"name\" maxlength=\"100\" value=\"四月促销\""));
    assert!(refused.body.contains("id=\"pl-tag\" name=\"tag\" maxlength=\"50\" value=\"VIP\""));
    assert!(refused.body.contains("role=\"alert\""), "the reason is on the page");
    assert_eq!(app.count("cat_price_lists").await, lists);
    let (product_field, item_path) = (product.to_string(), format!("/catalog/price-lists/{contract}/items"));
    let price = browser
        .post_form(
            "/catalog/price-lists",
            &item_path,
            &[("product_id", &product_field), ("min_qty", "10"), ("price", "三十")],
        )
        .await;
    assert_eq!(price.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", price.body);
    let at = price.body.split("value=\"三十\"").nth(1).expect("the price as typed");
    assert!(at[..at.find("</form>").expect("form end")].contains("role=\"alert\""), "the reason beside it");
}

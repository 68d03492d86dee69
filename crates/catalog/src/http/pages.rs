//! Catalog pages: the product list with search, the product form, a product with its
//! suppliers, and the units of measure with a converter. All work without JavaScript.

use crate::domain::{ProductForm, COSTING, KINDS, UOM_CATEGORIES};
use crate::service::{self, Product, SupplierForm, UomForm, UomRow};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use db::RowExt;
use kernel::error::FieldError;
use kernel::DomainError;
use serde::Deserialize;
use web::page::{finish_form, flash_redirect, render, render_status, Refused};
use web::{AppError, AppResult, Ctx, FieldView, FormBuilder, FormPairs, PageCtx};

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

async fn units(ctx: &Ctx) -> AppResult<Vec<UomRow>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::ensure_default_uoms(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    let mut conn = conn(ctx).await?;
    Ok(service::uoms(&mut conn, ctx.company_id()).await?)
}

#[derive(Template)]
#[template(path = "catalog/products.html")]
struct ListPage {
    page: PageCtx,
    q: String,
    items: Vec<Product>,
    can_manage: bool,
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

pub async fn products(ctx: Ctx, Query(s): Query<Search>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items = service::products(&mut conn, ctx.company_id(), s.q.as_deref()).await?;
    render(&ListPage {
        page: PageCtx::new(&ctx, "catalog.products", "/catalog/products").await?,
        q: s.q.unwrap_or_default(),
        items,
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

#[derive(Template)]
#[template(path = "catalog/product_form.html")]
struct FormPage {
    page: PageCtx,
    action: String,
    version: i64,
    fields: Vec<FieldView>,
    general_errors: Vec<String>,
}

async fn form_page(ctx: &Ctx, form: &ProductForm, errors: &[FieldError]) -> AppResult<FormPage> {
    edit_page(ctx, "/catalog/products".into(), 0, form, errors).await
}

/// The product form, for a new product (version 0, code editable) or an existing one.
async fn edit_page(
    ctx: &Ctx,
    action: String,
    version: i64,
    form: &ProductForm,
    errors: &[FieldError],
) -> AppResult<FormPage> {
    let units = units(ctx).await?;
    let unit_choices = |selected: &str| -> Vec<(String, String, bool)> {
        units.iter().map(|u| (u.code.clone(), format!("{} ({})", u.name_zh, u.code), u.code == selected)).collect()
    };
    let mut b = FormBuilder::new(ctx, errors);
    if version == 0 {
        b.field("text", "code", "catalog.code", &form.code, true);
    }
    b.field("text", "name", "catalog.name", &form.name, true);
    b.field("text", "name_en", "catalog.name_en", &form.name_en, false);
    b.field("text", "barcode", "catalog.barcode", &form.barcode, false);
    b.field("text", "category", "catalog.category", &form.category, false);
    b.choice(
        "select",
        "kind",
        "catalog.kind",
        KINDS.iter().map(|k| (k.to_string(), format!("catalog.kind.{k}"), form.kind == *k)).collect(),
    );
    b.choice("select", "uom", "catalog.uom", unit_choices(if form.uom.is_empty() { "pc" } else { &form.uom }));
    b.choice(
        "select",
        "purchase_uom",
        "catalog.purchase_uom",
        unit_choices(if form.purchase_uom.is_empty() { "pc" } else { &form.purchase_uom }),
    );
    b.choice(
        "select",
        "sales_uom",
        "catalog.sales_uom",
        unit_choices(if form.sales_uom.is_empty() { "pc" } else { &form.sales_uom }),
    );
    b.choice(
        "select",
        "vat_rate",
        "catalog.vat_rate",
        kernel::vat::RATE_CHOICES
            .iter()
            .map(|r| (r.to_string(), web::page::vat_choice_label(r), form.vat_rate == *r))
            .collect(),
    );
    b.choice(
        "select",
        "costing",
        "catalog.costing",
        COSTING.iter().map(|c| (c.to_string(), format!("catalog.costing.{c}"), form.costing == *c)).collect(),
    );
    // Empty lets the kind decide: goods as delivered, services as ordered.
    let policies = [
        ("", "catalog.invoice_policy.default"),
        ("delivered", "catalog.invoice_policy.delivered"),
        ("ordered", "catalog.invoice_policy.ordered"),
    ];
    b.choice(
        "select",
        "invoice_policy",
        "catalog.invoice_policy",
        policies.iter().map(|(v, label)| (v.to_string(), label.to_string(), form.invoice_policy == *v)).collect(),
    );
    b.field("text", "sale_price", "catalog.sale_price", &form.sale_price, false);
    b.field("checkbox", "track_lot", "catalog.track_lot", if form.track_lot { "true" } else { "" }, false);
    b.field("checkbox", "track_serial", "catalog.track_serial", if form.track_serial { "true" } else { "" }, false);
    b.field("checkbox", "track_expiry", "catalog.track_expiry", if form.track_expiry { "true" } else { "" }, false);
    let general_errors = b.general_errors();
    let title = if version == 0 { "catalog.product_new" } else { "catalog.product_edit" };
    Ok(FormPage {
        page: PageCtx::new(ctx, title, "/catalog/products").await?,
        action,
        version,
        fields: b.finish(),
        general_errors,
    })
}

pub async fn new(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::MANAGE)?;
    let form = ProductForm {
        kind: "goods".into(),
        vat_rate: "13".into(),
        costing: "moving_average".into(),
        ..Default::default()
    };
    render(&form_page(&ctx, &form, &[]).await?)
}

fn form_from(pairs: &FormPairs) -> ProductForm {
    ProductForm {
        code: pairs.text("code"),
        barcode: pairs.text("barcode"),
        name: pairs.text("name"),
        name_en: pairs.text("name_en"),
        category: pairs.text("category"),
        kind: pairs.text("kind"),
        uom: pairs.text("uom"),
        purchase_uom: pairs.text("purchase_uom"),
        sales_uom: pairs.text("sales_uom"),
        vat_rate: pairs.text("vat_rate"),
        costing: pairs.text("costing"),
        invoice_policy: pairs.text("invoice_policy"),
        track_lot: pairs.get("track_lot") == Some("true"),
        track_serial: pairs.get("track_serial") == Some("true"),
        track_expiry: pairs.get("track_expiry") == Some("true"),
        sale_price: pairs.text("sale_price"),
    }
}

pub async fn create(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = form_from(&pairs);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_product(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/catalog/products/{id}"), "common.created"),
        async |errors| form_page(&ctx, &form, &errors).await,
    )
    .await
}

#[derive(Template)]
#[template(path = "catalog/product.html")]
struct DetailPage {
    page: PageCtx,
    history: Vec<web::page::HistoryEntry>,
    product: Product,
    suppliers: Vec<(i64, String)>,
    /// The supplier form just refused: shown again as typed, each message beside its field.
    refused: Refused,
    can_manage: bool,
}

impl DetailPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound("product")))
}

pub async fn product(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    render(&product_view(&ctx, parse_id(&id)?, Refused::default()).await?)
}

async fn product_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<DetailPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let product = service::product(&mut conn, ctx.company_id(), id).await?;
    let rows = sqlx::query("SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'supplier' WHERE p.company_id = $1 ORDER BY p.name LIMIT 500")
        .bind(ctx.company_id())
        .fetch_all(&mut conn)
        .await?;
    let suppliers = rows.iter().filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("name").ok()?))).collect();
    let title = format!("{} {}", product.code, product.name);
    drop(conn);
    let history = web::page::history(ctx, "catalog.product", &product.id.to_string()).await?;
    Ok(DetailPage {
        page: PageCtx::new(ctx, "catalog.products", "/catalog/products").await?.titled(title),
        history,
        product,
        suppliers,
        refused,
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

pub async fn add_supplier(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let form = SupplierForm {
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        price: pairs.text("price"),
        lead_days: pairs.get("lead_days").and_then(|d| d.trim().parse().ok()).unwrap_or(-1),
        min_qty: pairs.text("min_qty"),
        preferred: pairs.get("preferred") == Some("true"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::set_supplier(&mut tx, &ctx.principal, id, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| (format!("/catalog/products/{id}"), "common.saved"),
        async |errors| product_view(&ctx, id, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

#[derive(Template)]
#[template(path = "catalog/uoms.html")]
struct UomsPage {
    page: PageCtx,
    units: Vec<UomRow>,
    categories: Vec<&'static str>,
    /// Why the converter has no answer for what was asked.
    errors: Vec<String>,
    conversion: Option<String>,
    /// What the converter was asked, shown again in its fields.
    asked: ConvertQuery,
    /// The new unit just refused: shown again as typed, each message beside its field.
    refused: Refused,
    can_manage: bool,
}

impl UomsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str, usual: &str) -> String {
        self.refused.typed(field, usual)
    }
}

#[derive(Deserialize, Default)]
pub struct ConvertQuery {
    quantity: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn uoms(ctx: Ctx, Query(q): Query<ConvertQuery>) -> AppResult<Response> {
    let page = uoms_view(&ctx, q, Refused::default()).await?;
    web::page::render_answer(&page, !page.errors.is_empty())
}

/// The units with the converter (its question as asked, and its answer or why there is none)
/// and the form that adds a unit (as refused, when it was).
async fn uoms_view(ctx: &Ctx, q: ConvertQuery, refused: Refused) -> AppResult<UomsPage> {
    ctx.require(service::READ)?;
    let units = units(ctx).await?;
    let mut errors = Vec::new();
    let mut conversion = None;
    if let (Some(quantity), Some(from), Some(to)) = (q.quantity.clone().filter(|v| !v.is_empty()), &q.from, &q.to) {
        let mut conn = conn(ctx).await?;
        match service::convert(&mut conn, ctx.company_id(), &quantity, from, to).await {
            Ok(result) => conversion = Some(format!("{quantity} {from} = {result} {to}")),
            Err(db::Error::Domain(DomainError::Invalid(e))) => {
                errors = e.iter().map(|e| ctx.state.messages.format(ctx.lang, e.key, &e.detail)).collect()
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(UomsPage {
        page: PageCtx::new(ctx, "catalog.uoms", "/catalog/uoms").await?,
        units,
        categories: UOM_CATEGORIES.to_vec(),
        errors,
        conversion,
        asked: q,
        refused,
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

pub async fn create_uom(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = UomForm {
        code: pairs.text("code"),
        name_zh: pairs.text("name_zh"),
        name_en: pairs.text("name_en"),
        category: pairs.text("category"),
        ratio_num: pairs.get("ratio_num").and_then(|v| v.trim().parse().ok()).unwrap_or(0),
        ratio_den: pairs.get("ratio_den").and_then(|v| v.trim().parse().ok()).unwrap_or(1),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_uom(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/catalog/uoms".into(), "common.created"),
        async |errors| uoms_view(&ctx, ConvertQuery::default(), Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    ctx.require(service::MANAGE)?;
    let id = parse_id(&id)?;
    let mut conn = conn(&ctx).await?;
    let product = service::product(&mut conn, ctx.company_id(), id).await?;
    drop(conn);
    render(
        &edit_page(&ctx, format!("/catalog/products/{id}"), product.version, &service::form_of(&product), &[]).await?,
    )
}

pub async fn save(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let form = form_from(&pairs);
    let version: i64 = pairs.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match service::update_product(&mut tx, &ctx.principal, id, version, &form).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/catalog/products/{id}"), "common.saved"))
        }
        Err(db::Error::Domain(e @ (DomainError::Invalid(_) | DomainError::StaleVersion { .. }))) => {
            drop(tx);
            let errors = match e {
                DomainError::Invalid(errors) => errors,
                _ => vec![FieldError::new("version", "error.stale_version", "")],
            };
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &edit_page(&ctx, format!("/catalog/products/{id}"), version, &form, &errors).await?,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "catalog/price_lists.html")]
struct PriceListsPage {
    page: PageCtx,
    lists: Vec<crate::pricing::PriceList>,
    products: Vec<Product>,
    customers: Vec<(i64, String)>,
    quote: Option<String>,
    /// The price check as asked, shown again in its fields.
    asked: PriceQuery,
    /// Why the price check could not answer, per field (`quantity`, `date`).
    errors: Vec<(String, String)>,
    /// The form just refused (`list:<field>` for a new list, `item-<id>:<field>` for a price
    /// added to one): shown again as typed, each message beside its field.
    refused: Refused,
    can_manage: bool,
}

impl PriceListsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str) -> String {
        self.refused.typed(field, "")
    }

    /// The price check's refusal of one field.
    fn check_error(&self, field: &str) -> Option<&str> {
        web::page::message_for(&self.errors, field)
    }

    /// The price check's refusals of no field it shows.
    fn check_errors_elsewhere(&self) -> Vec<&str> {
        web::page::messages_elsewhere(&self.errors, &["quantity", "date"])
    }

    /// Whether an option of the price check was the one asked for in `field`.
    fn asked_for(&self, field: &str, id: &i64) -> bool {
        let asked = if field == "party_id" { &self.asked.party_id } else { &self.asked.product_id };
        asked.as_deref().is_some_and(|a| a.trim() == id.to_string())
    }
}

#[derive(Deserialize, Default)]
pub struct PriceQuery {
    /// As sent: the form's "—" sends an empty customer, and text is what a page shows again.
    product_id: Option<String>,
    party_id: Option<String>,
    quantity: Option<String>,
    date: Option<String>,
}

pub async fn price_lists(ctx: Ctx, Query(q): Query<PriceQuery>) -> AppResult<Response> {
    let view = price_lists_view(&ctx, q, Refused::default()).await?;
    let refused = !view.errors.is_empty();
    web::page::render_answer(&view, refused)
}

async fn price_lists_view(ctx: &Ctx, q: PriceQuery, refused: Refused) -> AppResult<PriceListsPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let mut refusals = Vec::new();
    let mut quote = None;
    let id = |text: &Option<String>| text.as_deref().and_then(|t| t.trim().parse::<i64>().ok());
    let (product, party) = (id(&q.product_id), id(&q.party_id));
    if let (Some(product), Some(date)) = (product, q.date.as_deref().filter(|d| !d.is_empty())) {
        let quantity = q.quantity.clone().unwrap_or_else(|| "1".into());
        match kernel::Qty::parse(&quantity) {
            Ok(qty) => match crate::pricing::price_for(&mut conn, ctx.company_id(), product, party, qty, date).await {
                Ok(found) => {
                    let source = found.source.unwrap_or_else(|| ctx.t("catalog.own_price"));
                    quote = Some(format!(
                        "{} × {quantity} → {} ({source})",
                        ctx.t("catalog.list_price"),
                        kernel::Money::from_minor(found.price, kernel::Currency::CNY)
                    ));
                }
                Err(db::Error::Domain(DomainError::Invalid(e))) => refusals = e,
                Err(e) => return Err(e.into()),
            },
            Err(e) => refusals.push(kernel::error::FieldError { field: "quantity".into(), ..e }),
        }
    }
    let errors = web::page::field_messages(ctx, &refusals);
    let lists = crate::pricing::lists(&mut conn, ctx.company_id()).await?;
    let products = service::products(&mut conn, ctx.company_id(), None).await?;
    let rows = sqlx::query("SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' WHERE p.company_id = $1 ORDER BY p.name LIMIT 500")
        .bind(ctx.company_id())
        .fetch_all(&mut conn)
        .await?;
    let customers = rows.iter().filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("name").ok()?))).collect();
    drop(conn);
    let can_manage = ctx.principal.may(service::MANAGE);
    Ok(PriceListsPage {
        page: PageCtx::new(ctx, "catalog.price_lists", "/catalog/price-lists").await?,
        lists,
        products,
        customers,
        quote,
        asked: q,
        errors,
        refused,
        can_manage,
    })
}

pub async fn create_price_list(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = crate::pricing::PriceListForm {
        name: pairs.text("name"),
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()),
        tag: Some(pairs.text("tag")),
        valid_from: Some(pairs.text("valid_from")),
        valid_to: Some(pairs.text("valid_to")),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = crate::pricing::create_list(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/catalog/price-lists".into(), "common.created"),
        async |errors| {
            let refused = Refused::new(&ctx, "list", errors, pairs.clone());
            price_lists_view(&ctx, PriceQuery::default(), refused).await
        },
    )
    .await
}

pub async fn add_price_item(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let form = crate::pricing::ItemForm {
        product_id: pairs.get("product_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        min_qty: pairs.text("min_qty"),
        price: pairs.text("price"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = crate::pricing::set_item(&mut tx, &ctx.principal, id, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/catalog/price-lists".into(), "common.saved"),
        async |errors| {
            let refused = Refused::new(&ctx, &format!("item-{id}"), errors, pairs.clone());
            price_lists_view(&ctx, PriceQuery::default(), refused).await
        },
    )
    .await
}

pub async fn archive(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::archive_product(&mut tx, &ctx.principal, id, pairs.get("archived") == Some("true")).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/catalog/products/{id}"), "common.saved"))
}

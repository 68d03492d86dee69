//! Catalog operations, one transaction each with its audit row.

use crate::domain::{self, LineUnit, ProductForm, ProductInput, Uom, DEFAULT_UOMS, UOM_CATEGORIES};
use db::{Result, RowExt, SqlBuilder, Tx};
use kernel::error::FieldError;
use kernel::permission::Principal;
use kernel::{Currency, DomainError, Money, Qty};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const READ: &str = "catalog.product.read";
pub const MANAGE: &str = "catalog.product.manage";

/// A unit as stored.
#[derive(Debug, Clone, Serialize)]
pub struct UomRow {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub category: String,
    pub ratio_num: i64,
    pub ratio_den: i64,
}

impl UomRow {
    pub fn uom(&self) -> Uom {
        Uom {
            code: self.code.clone(),
            category: self.category.clone(),
            ratio_num: self.ratio_num,
            ratio_den: self.ratio_den,
        }
    }
}

/// The company's units as (code, label) choices for an order line's unit.
pub async fn unit_choices(conn: &mut db::Conn, company: i64) -> Result<Vec<(String, String)>> {
    Ok(uoms(conn, company)
        .await?
        .into_iter()
        .map(|u| (u.code.clone(), format!("{} ({})", u.name_zh, u.code)))
        .collect())
}

/// A company's units, loaded once per document so its lines resolve their units without a
/// query each.
pub struct Units(pub Vec<UomRow>);

impl Units {
    pub async fn load(conn: &mut db::Conn, company: i64) -> Result<Self> {
        Ok(Units(uoms(conn, company).await?))
    }

    fn by_id(&self, id: i64) -> Option<&UomRow> {
        self.0.iter().find(|u| u.id == id)
    }

    /// The unit a line of a product is written in: `code`, or when it is empty the product's
    /// unit for this side of trade (`side_uom`, its purchase or sales unit), whose prices the
    /// catalog keeps. Returns (the line's unit, the catalog price's unit), both relative to
    /// the product's stock unit `stock_uom`.
    pub fn line(
        &self,
        stock_uom: i64,
        side_uom: i64,
        code: &str,
    ) -> std::result::Result<(LineUnit, LineUnit), FieldError> {
        let (Some(stock), Some(side)) = (self.by_id(stock_uom), self.by_id(side_uom)) else {
            return Err(FieldError::new("unit", "error.catalog.unknown_uom", code));
        };
        let catalog = LineUnit::new(side.id, &side.uom(), &stock.uom())?;
        let code = code.trim();
        if code.is_empty() {
            return Ok((catalog.clone(), catalog));
        }
        let unit = self
            .0
            .iter()
            .find(|u| u.code == code)
            .ok_or_else(|| FieldError::new("unit", "error.catalog.unknown_uom", code))?;
        Ok((LineUnit::new(unit.id, &unit.uom(), &stock.uom())?, catalog))
    }
}

/// Creates the default units for a company that has none.
pub async fn ensure_default_uoms(tx: &mut Tx, company: i64) -> Result<()> {
    let any = sqlx::query("SELECT 1 FROM cat_uoms WHERE company_id = $1 LIMIT 1")
        .bind(company)
        .fetch_optional(tx.conn())
        .await?;
    if any.is_some() {
        return Ok(());
    }
    let mut q = SqlBuilder::new(
        "INSERT INTO cat_uoms (company_id, code, name_zh, name_en, category, ratio_num, ratio_den) VALUES ",
    );
    for (i, (code, zh, en, category, num, den)) in DEFAULT_UOMS.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" });
        q.bind(company).push(", ").bind(*code).push(", ").bind(*zh).push(", ").bind(*en).push(", ").bind(*category);
        q.push(", ").bind(*num).push(", ").bind(*den).push(")");
    }
    q.build().execute(tx.conn()).await?;
    tx.audit("create", "catalog.uom", None, &json!({"defaults": [null, DEFAULT_UOMS.len()]})).await?;
    Ok(())
}

pub async fn uoms(conn: &mut db::Conn, company: i64) -> Result<Vec<UomRow>> {
    let rows = sqlx::query("SELECT id, code, name_zh, name_en, category, ratio_num, ratio_den FROM cat_uoms WHERE company_id = $1 ORDER BY category, ratio_num * 1000000 / ratio_den, code")
        .bind(company)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(UomRow {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                category: r.try_get("category")?,
                ratio_num: r.try_get("ratio_num")?,
                ratio_den: r.try_get("ratio_den")?,
            })
        })
        .collect()
}

/// A new unit: a code, names, a category and its size in the category's reference unit, e.g.
/// 箱（24 个） = 24/1 of 个.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UomForm {
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    pub category: String,
    pub ratio_num: i64,
    #[serde(default = "one")]
    pub ratio_den: i64,
}

fn one() -> i64 {
    1
}

pub async fn create_uom(tx: &mut Tx, principal: &Principal, form: &UomForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    ensure_default_uoms(tx, company).await?;
    let mut p = kernel::error::Problems::default();
    let code = form.code.trim();
    if code.is_empty() || code.len() > 20 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        p.add("code", "error.catalog.code", code);
    }
    if form.name_zh.trim().is_empty() {
        p.add("name_zh", "error.required", "");
    }
    if !UOM_CATEGORIES.contains(&form.category.as_str()) {
        p.add("category", "error.catalog.uom_category", &form.category);
    }
    if form.ratio_num <= 0 || form.ratio_den <= 0 || form.ratio_num > 1_000_000_000 || form.ratio_den > 1_000_000_000 {
        p.add("ratio_num", "error.catalog.ratio", format!("{}/{}", form.ratio_num, form.ratio_den));
    }
    if sqlx::query("SELECT 1 FROM cat_uoms WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(code)
        .fetch_optional(tx.conn())
        .await?
        .is_some()
    {
        p.add("code", "error.catalog.code_taken", code);
    }
    p.finish()?;
    let id: i64 = sqlx::query("INSERT INTO cat_uoms (company_id, code, name_zh, name_en, category, ratio_num, ratio_den) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(company)
        .bind(code)
        .bind(form.name_zh.trim())
        .bind(if form.name_en.trim().is_empty() { form.name_zh.trim() } else { form.name_en.trim() })
        .bind(&form.category)
        .bind(form.ratio_num)
        .bind(form.ratio_den)
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?;
    tx.audit("create", "catalog.uom", Some(&id.to_string()), &json!({"code": [null, code], "category": [null, form.category], "ratio": [null, format!("{}/{}", form.ratio_num, form.ratio_den)]})).await?;
    Ok(id)
}

/// Converts a quantity between two of the company's units.
pub async fn convert(conn: &mut db::Conn, company: i64, quantity: &str, from: &str, to: &str) -> Result<Qty> {
    let quantity = Qty::parse(quantity).map_err(|e| DomainError::Invalid(vec![e]))?;
    let units = uoms(conn, company).await?;
    let find = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .map(UomRow::uom)
            .ok_or_else(|| DomainError::invalid("uom", "error.catalog.unknown_uom", code))
    };
    let (from, to) = (find(from)?, find(to)?);
    Ok(domain::convert(quantity, &from, &to).map_err(|e| DomainError::Invalid(vec![e]))?)
}

/// A product as stored, with its units' codes and its suppliers.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub barcode: Option<String>,
    pub name: String,
    pub name_en: String,
    pub category: String,
    pub kind: String,
    pub uom: String,
    pub purchase_uom: String,
    pub sales_uom: String,
    /// The rate as stored (`kernel::vat::RATES_BP`); the API sends `vat_rate` instead, as it
    /// is typed (`13`, `exempt`).
    #[serde(skip)]
    pub vat_rate_bp: i64,
    pub vat_rate: String,
    pub costing: String,
    /// `delivered` or `ordered`: what a sales order invoices of it.
    pub invoice_policy: String,
    pub track_lot: bool,
    pub track_serial: bool,
    pub track_expiry: bool,
    pub sale_price: i64,
    pub archived: bool,
    pub version: i64,
    pub suppliers: Vec<Supplier>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Supplier {
    pub party_id: i64,
    pub party_name: String,
    pub price: i64,
    pub lead_days: i64,
    pub min_qty: i64,
    pub preferred: bool,
}

async fn uom_ids(tx: &mut Tx, company: i64, input: &ProductInput) -> Result<(i64, i64, i64)> {
    let units = uoms(tx.conn(), company).await?;
    let mut p = kernel::error::Problems::default();
    let mut id_of = |field: &str, code: &str| match units.iter().find(|u| u.code == code) {
        Some(u) => Some(u.clone()),
        None => {
            p.add(field, "error.catalog.unknown_uom", code);
            None
        }
    };
    let (stock, purchase, sales) =
        (id_of("uom", &input.uom), id_of("purchase_uom", &input.purchase_uom), id_of("sales_uom", &input.sales_uom));
    for (field, other) in [("purchase_uom", &purchase), ("sales_uom", &sales)] {
        if let (Some(s), Some(o)) = (&stock, other) {
            if s.category != o.category {
                p.add(field, "error.catalog.uom_category", format!("{} → {}", o.code, s.code));
            }
        }
    }
    p.finish()?;
    match (stock, purchase, sales) {
        (Some(s), Some(pu), Some(sa)) => Ok((s.id, pu.id, sa.id)),
        _ => Err(DomainError::Internal("units were checked".into()).into()),
    }
}

/// Creates a product; the code and barcode are unique in the company.
pub async fn create_product(tx: &mut Tx, principal: &Principal, form: &ProductForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    ensure_default_uoms(tx, company).await?;
    let input = domain::validate(form)?;
    let mut p = kernel::error::Problems::default();
    if sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(&input.code)
        .fetch_optional(tx.conn())
        .await?
        .is_some()
    {
        p.add("code", "error.catalog.code_taken", &input.code);
    }
    if let Some(barcode) = &input.barcode {
        if sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 AND barcode = $2")
            .bind(company)
            .bind(barcode)
            .fetch_optional(tx.conn())
            .await?
            .is_some()
        {
            p.add("barcode", "error.catalog.barcode_taken", barcode);
        }
    }
    p.finish()?;
    let (uom, purchase, sales) = uom_ids(tx, company, &input).await?;
    let now = tx.now().to_string();
    let id: i64 = sqlx::query(
        "INSERT INTO cat_products (company_id, code, barcode, name, name_en, category, kind, uom_id, purchase_uom_id, sales_uom_id, vat_rate_bp, costing, \
         track_lot, track_serial, track_expiry, sale_price, created_at, invoice_policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
    )
    .bind(company)
    .bind(&input.code)
    .bind(&input.barcode)
    .bind(&input.name)
    .bind(&input.name_en)
    .bind(&input.category)
    .bind(&input.kind)
    .bind(uom)
    .bind(purchase)
    .bind(sales)
    .bind(input.vat_rate_bp)
    .bind(&input.costing)
    .bind(i64::from(input.track_lot))
    .bind(i64::from(input.track_serial))
    .bind(i64::from(input.track_expiry))
    .bind(input.sale_price)
    .bind(now)
    .bind(&input.invoice_policy)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "catalog.product",
        Some(&id.to_string()),
        &kernel::audit::diff(&serde_json::Value::Null, &json!(input)),
    )
    .await?;
    tx.emit(
        "catalog.product",
        &id.to_string(),
        "catalog.ProductCreated",
        &json!({"id": id, "code": input.code, "name": input.name}),
    )
    .await?;
    Ok(id)
}

/// Changes a product if `version` is still current. The code stays: other documents name it.
pub async fn update_product(
    tx: &mut Tx,
    principal: &Principal,
    id: i64,
    version: i64,
    form: &ProductForm,
) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let before = product(tx.conn(), company, id).await?;
    if before.version != version {
        return Err(DomainError::StaleVersion { resource: "product", expected: version, actual: before.version }.into());
    }
    let mut form = form.clone();
    form.code = before.code.clone();
    let input = domain::validate(&form)?;
    if let Some(barcode) = &input.barcode {
        let taken = sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 AND barcode = $2 AND id <> $3")
            .bind(company)
            .bind(barcode)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
        if taken.is_some() {
            return Err(DomainError::invalid("barcode", "error.catalog.barcode_taken", barcode).into());
        }
    }
    let (uom, purchase, sales) = uom_ids(tx, company, &input).await?;
    let changed = sqlx::query(
        "UPDATE cat_products SET barcode = $1, name = $2, name_en = $3, category = $4, kind = $5, uom_id = $6, purchase_uom_id = $7, sales_uom_id = $8, \
         vat_rate_bp = $9, costing = $10, track_lot = $11, track_serial = $12, track_expiry = $13, sale_price = $14, invoice_policy = $17, version = version + 1 \
         WHERE id = $15 AND version = $16",
    )
    .bind(&input.barcode)
    .bind(&input.name)
    .bind(&input.name_en)
    .bind(&input.category)
    .bind(&input.kind)
    .bind(uom)
    .bind(purchase)
    .bind(sales)
    .bind(input.vat_rate_bp)
    .bind(&input.costing)
    .bind(i64::from(input.track_lot))
    .bind(i64::from(input.track_serial))
    .bind(i64::from(input.track_expiry))
    .bind(input.sale_price)
    .bind(id)
    .bind(version)
    .bind(&input.invoice_policy)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(DomainError::StaleVersion { resource: "product", expected: version, actual: version + 1 }.into());
    }
    let after = product(tx.conn(), company, id).await?;
    let strip = |p: &Product| {
        let mut v = json!(p);
        v.as_object_mut().map(|o| {
            o.remove("version");
            o.remove("suppliers")
        });
        v
    };
    tx.audit("update", "catalog.product", Some(&id.to_string()), &kernel::audit::diff(&strip(&before), &strip(&after)))
        .await?;
    Ok(())
}

/// Archives a product: it leaves lists and new documents but keeps its history and the records
/// that name it. Restoring it is `archive_product(…, false)`.
pub async fn archive_product(tx: &mut Tx, principal: &Principal, id: i64, archived: bool) -> Result<()> {
    principal.authorize(MANAGE)?;
    let now = tx.now().to_string();
    let changed = sqlx::query(
        "UPDATE cat_products SET archived_at = CASE WHEN $1 = 1 THEN $2 ELSE NULL END, version = version + 1 WHERE company_id = $3 AND id = $4",
    )
    .bind(i64::from(archived))
    .bind(&now)
    .bind(principal.company_id.0)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(DomainError::NotFound("product").into());
    }
    tx.audit("state", "catalog.product", Some(&id.to_string()), &json!({"archived": [!archived, archived]})).await?;
    Ok(())
}

/// The form that reproduces a stored product (for editing).
pub fn form_of(p: &Product) -> ProductForm {
    ProductForm {
        code: p.code.clone(),
        barcode: p.barcode.clone().unwrap_or_default(),
        name: p.name.clone(),
        name_en: p.name_en.clone(),
        category: p.category.clone(),
        kind: p.kind.clone(),
        uom: p.uom.clone(),
        purchase_uom: p.purchase_uom.clone(),
        sales_uom: p.sales_uom.clone(),
        vat_rate: kernel::vat::choice(p.vat_rate_bp),
        costing: p.costing.clone(),
        invoice_policy: p.invoice_policy.clone(),
        track_lot: p.track_lot,
        track_serial: p.track_serial,
        track_expiry: p.track_expiry,
        sale_price: if p.sale_price == 0 {
            String::new()
        } else {
            Money::from_minor(p.sale_price, Currency::CNY).to_decimal().to_string()
        },
    }
}

/// Adds or replaces a supplier of a product: price per purchase unit, lead time, minimum order.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SupplierForm {
    pub party_id: i64,
    pub price: String,
    pub lead_days: i64,
    #[serde(default)]
    pub min_qty: String,
    #[serde(default)]
    pub preferred: bool,
}

pub async fn set_supplier(tx: &mut Tx, principal: &Principal, product: i64, form: &SupplierForm) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut p = kernel::error::Problems::default();
    let exists = sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(product)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_none() {
        return Err(DomainError::NotFound("product").into());
    }
    let supplier = sqlx::query("SELECT 1 FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'supplier' WHERE p.company_id = $1 AND p.id = $2")
        .bind(company)
        .bind(form.party_id)
        .fetch_optional(tx.conn())
        .await?;
    if supplier.is_none() {
        p.add("party_id", "error.finance.not_supplier", form.party_id.to_string());
    }
    let price = p.check(Money::parse(&form.price, Currency::CNY).map_err(|mut e| {
        e.field = "price".into();
        e
    }));
    if !(0..=365).contains(&form.lead_days) {
        p.add("lead_days", "error.catalog.lead_days", form.lead_days.to_string());
    }
    let min_qty =
        if form.min_qty.trim().is_empty() { Some(Qty::from_units(0)) } else { p.check(Qty::parse(&form.min_qty)) };
    p.finish()?;
    let (price, min_qty) = (price.map(|m| m.minor()).unwrap_or(0), min_qty.map(|q| q.scaled()).unwrap_or(0));
    if form.preferred {
        sqlx::query("UPDATE cat_product_suppliers SET preferred = 0 WHERE product_id = $1")
            .bind(product)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "INSERT INTO cat_product_suppliers (product_id, party_id, price, lead_days, min_qty, preferred) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (product_id, party_id) DO UPDATE SET price = excluded.price, lead_days = excluded.lead_days, min_qty = excluded.min_qty, preferred = excluded.preferred",
    )
    .bind(product)
    .bind(form.party_id)
    .bind(price)
    .bind(form.lead_days)
    .bind(min_qty)
    .bind(i64::from(form.preferred))
    .execute(tx.conn())
    .await?;
    tx.audit("update", "catalog.product", Some(&product.to_string()), &json!({"supplier": [null, {"party_id": form.party_id, "price": form.price, "lead_days": form.lead_days, "preferred": form.preferred}]})).await?;
    Ok(())
}

const PRODUCT_COLUMNS: &str = "p.id, p.code, p.barcode, p.name, p.name_en, p.category, p.kind, u.code AS uom, pu.code AS purchase_uom, su.code AS sales_uom, \
     p.vat_rate_bp, p.costing, p.invoice_policy, p.track_lot, p.track_serial, p.track_expiry, p.sale_price, p.archived_at, p.version";
const PRODUCT_FROM: &str = "FROM cat_products p JOIN cat_uoms u ON u.id = p.uom_id JOIN cat_uoms pu ON pu.id = p.purchase_uom_id JOIN cat_uoms su ON su.id = p.sales_uom_id";

fn product_from_row(r: &db::Row) -> std::result::Result<Product, sqlx::Error> {
    Ok(Product {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        barcode: r.try_get("barcode")?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
        category: r.try_get("category")?,
        kind: r.try_get("kind")?,
        uom: r.try_get("uom")?,
        purchase_uom: r.try_get("purchase_uom")?,
        sales_uom: r.try_get("sales_uom")?,
        vat_rate_bp: r.try_get("vat_rate_bp")?,
        vat_rate: kernel::vat::choice(r.try_get("vat_rate_bp")?),
        costing: r.try_get("costing")?,
        invoice_policy: r.try_get("invoice_policy")?,
        track_lot: r.try_get::<i64, _>("track_lot")? == 1,
        track_serial: r.try_get::<i64, _>("track_serial")? == 1,
        track_expiry: r.try_get::<i64, _>("track_expiry")? == 1,
        sale_price: r.try_get("sale_price")?,
        archived: r.try_get::<Option<String>, _>("archived_at")?.is_some(),
        version: r.try_get("version")?,
        suppliers: Vec::new(),
    })
}

/// One product with its suppliers.
pub async fn product(conn: &mut db::Conn, company: i64, id: i64) -> Result<Product> {
    let row = sqlx::query(&format!("SELECT {PRODUCT_COLUMNS} {PRODUCT_FROM} WHERE p.company_id = $1 AND p.id = $2"))
        .bind(company)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("product"))?;
    let mut product = product_from_row(&row)?;
    let suppliers = sqlx::query(
        "SELECT s.party_id, pa.name, s.price, s.lead_days, s.min_qty, s.preferred FROM cat_product_suppliers s JOIN parties pa ON pa.id = s.party_id \
         WHERE s.product_id = $1 ORDER BY s.preferred DESC, s.price",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for s in suppliers {
        product.suppliers.push(Supplier {
            party_id: s.try_get("party_id")?,
            party_name: s.try_get("name")?,
            price: s.try_get("price")?,
            lead_days: s.try_get("lead_days")?,
            min_qty: s.try_get("min_qty")?,
            preferred: s.try_get::<i64, _>("preferred")? == 1,
        });
    }
    Ok(product)
}

/// Products matching a search (code, barcode or name), by code, at most 500.
pub async fn products(conn: &mut db::Conn, company: i64, q: Option<&str>) -> Result<Vec<Product>> {
    let mut query = SqlBuilder::new(format!(
        "SELECT {PRODUCT_COLUMNS} {PRODUCT_FROM} WHERE p.archived_at IS NULL AND p.company_id = "
    ));
    query.bind(company);
    if let Some(text) = q.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        query
            .push(" AND (LOWER(p.name) LIKE ")
            .bind(pattern)
            .push(" OR p.code = ")
            .bind(text.to_uppercase())
            .push(" OR p.barcode = ")
            .bind(text)
            .push(")");
    }
    query.push(" ORDER BY p.code LIMIT 500");
    let rows = query.build().fetch_all(conn).await?;
    Ok(rows.iter().map(product_from_row).collect::<std::result::Result<_, _>>()?)
}

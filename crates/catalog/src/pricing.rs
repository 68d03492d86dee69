//! Price lists and the price a customer pays: the most specific list that applies on the date
//! (the customer's own, then a customer group's by tag, then one for everyone), and within it
//! the item with the highest quantity break the order reaches; the product's sales price when
//! no list applies.

use crate::service::MANAGE;
use db::{Result, RowExt, Tx};
use kernel::permission::Principal;
use kernel::{Currency, DomainError, Money, Qty};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A price list as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceListForm {
    pub name: String,
    /// For one customer …
    #[serde(default)]
    pub party_id: Option<i64>,
    /// … or for the customers with this tag; neither: for everyone.
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub valid_from: Option<String>,
    #[serde(default)]
    pub valid_to: Option<String>,
}

/// A price list as listed.
#[derive(Debug, Clone, Serialize)]
pub struct PriceList {
    pub id: i64,
    pub name: String,
    pub party_id: Option<i64>,
    pub party_name: Option<String>,
    pub tag: Option<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub items: Vec<PriceItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceItem {
    pub product_id: i64,
    pub product_code: String,
    pub min_qty: i64,
    pub price: i64,
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn create_list(tx: &mut Tx, principal: &Principal, form: &PriceListForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut p = kernel::error::Problems::default();
    let name = form.name.trim();
    if name.is_empty() {
        p.add("name", "error.required", "");
    }
    let tag = blank(&form.tag);
    if form.party_id.is_some() && tag.is_some() {
        p.add("tag", "error.catalog.list_target", "");
    }
    if let Some(party) = form.party_id {
        let customer = sqlx::query("SELECT 1 FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' WHERE p.company_id = $1 AND p.id = $2")
            .bind(company)
            .bind(party)
            .fetch_optional(tx.conn())
            .await?;
        if customer.is_none() {
            p.add("party_id", "error.finance.not_customer", party.to_string());
        }
    }
    let (from, to) = (blank(&form.valid_from), blank(&form.valid_to));
    for (field, date) in [("valid_from", &from), ("valid_to", &to)] {
        if let Some(d) = date {
            p.check(kernel::dates::parse(field, d));
        }
    }
    if let (Some(f), Some(t)) = (&from, &to) {
        if t < f {
            p.add("valid_to", "error.finance.due_before_date", t);
        }
    }
    p.finish()?;
    let now = tx.now().to_string();
    let id: i64 = sqlx::query("INSERT INTO cat_price_lists (company_id, name, party_id, tag, valid_from, valid_to, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(company)
        .bind(name)
        .bind(form.party_id)
        .bind(&tag)
        .bind(&from)
        .bind(&to)
        .bind(now)
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?;
    tx.audit("create", "catalog.price_list", Some(&id.to_string()), &json!({"name": [null, name], "party_id": [null, form.party_id], "tag": [null, tag], "valid": [null, [from, to]]})).await?;
    Ok(id)
}

/// An item: a product's price from a minimum quantity.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemForm {
    pub product_id: i64,
    #[serde(default)]
    pub min_qty: String,
    pub price: String,
}

pub async fn set_item(tx: &mut Tx, principal: &Principal, list: i64, form: &ItemForm) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut p = kernel::error::Problems::default();
    if sqlx::query("SELECT 1 FROM cat_price_lists WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(list)
        .fetch_optional(tx.conn())
        .await?
        .is_none()
    {
        return Err(DomainError::NotFound("price list").into());
    }
    if sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(form.product_id)
        .fetch_optional(tx.conn())
        .await?
        .is_none()
    {
        p.add("product_id", "error.catalog.unknown_product", form.product_id.to_string());
    }
    let min_qty =
        if form.min_qty.trim().is_empty() { Some(Qty::from_units(0)) } else { p.check(Qty::parse(&form.min_qty)) };
    let price = p.check(Money::parse(&form.price, Currency::CNY).map_err(|mut e| {
        e.field = "price".into();
        e
    }));
    if min_qty.is_some_and(|q| q.scaled() < 0) || price.is_some_and(|m| m.minor() < 0) {
        p.add("price", "error.finance.negative", "");
    }
    p.finish()?;
    let (min_qty, price) = (min_qty.map(|q| q.scaled()).unwrap_or(0), price.map(|m| m.minor()).unwrap_or(0));
    sqlx::query(
        "INSERT INTO cat_price_list_items (price_list_id, product_id, min_qty, price) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (price_list_id, product_id, min_qty) DO UPDATE SET price = excluded.price",
    )
    .bind(list)
    .bind(form.product_id)
    .bind(min_qty)
    .bind(price)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "update",
        "catalog.price_list",
        Some(&list.to_string()),
        &json!({"item": [null, {"product_id": form.product_id, "min_qty": form.min_qty, "price": form.price}]}),
    )
    .await?;
    Ok(())
}

pub async fn lists(conn: &mut db::Conn, company: i64) -> Result<Vec<PriceList>> {
    let rows = sqlx::query(
        "SELECT l.id, l.name, l.party_id, p.name AS party_name, l.tag, l.valid_from, l.valid_to FROM cat_price_lists l \
         LEFT JOIN parties p ON p.id = l.party_id WHERE l.company_id = $1 ORDER BY l.id",
    )
    .bind(company)
    .fetch_all(&mut *conn)
    .await?;
    let items = sqlx::query(
        "SELECT i.price_list_id, i.product_id, c.code, i.min_qty, i.price FROM cat_price_list_items i JOIN cat_products c ON c.id = i.product_id \
         WHERE c.company_id = $1 ORDER BY c.code, i.min_qty",
    )
    .bind(company)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        out.push(PriceList {
            id,
            name: r.try_get("name")?,
            party_id: r.try_get("party_id")?,
            party_name: r.try_get("party_name")?,
            tag: r.try_get("tag")?,
            valid_from: r.try_get("valid_from")?,
            valid_to: r.try_get("valid_to")?,
            items: items
                .iter()
                .filter(|i| i.try_get::<i64, _>("price_list_id").ok() == Some(id))
                .map(|i| {
                    Ok(PriceItem {
                        product_id: i.try_get("product_id")?,
                        product_code: i.try_get("code")?,
                        min_qty: i.try_get("min_qty")?,
                        price: i.try_get("price")?,
                    })
                })
                .collect::<std::result::Result<_, sqlx::Error>>()?,
        });
    }
    Ok(out)
}

/// The price a customer pays for a quantity of a product on a date, and where it comes from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Quote {
    pub price: i64,
    /// The price list's name, or `None` for the product's own sales price.
    pub source: Option<String>,
}

pub async fn price_for(
    conn: &mut db::Conn,
    company: i64,
    product: i64,
    party: Option<i64>,
    quantity: Qty,
    date: &str,
) -> Result<Quote> {
    kernel::dates::parse("date", date).map_err(|e| DomainError::Invalid(vec![e]))?;
    // Rank: 0 the customer's own list, 1 a list for one of its tags, 2 a list for everyone.
    let best = sqlx::query(
        "SELECT l.name, i.price, CASE WHEN l.party_id IS NOT NULL THEN 0 WHEN l.tag IS NOT NULL THEN 1 ELSE 2 END AS rank \
         FROM cat_price_list_items i JOIN cat_price_lists l ON l.id = i.price_list_id \
         WHERE l.company_id = $1 AND i.product_id = $2 AND i.min_qty <= $3 \
           AND (l.valid_from IS NULL OR l.valid_from <= $4) AND (l.valid_to IS NULL OR l.valid_to >= $4) \
           AND ((l.party_id IS NULL AND l.tag IS NULL) OR l.party_id = $5 \
                OR l.tag IN (SELECT t.tag FROM party_tags t WHERE t.party_id = $5)) \
         ORDER BY rank, i.min_qty DESC, l.id DESC LIMIT 1",
    )
    .bind(company)
    .bind(product)
    .bind(quantity.scaled())
    .bind(date)
    .bind(party.unwrap_or(-1))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = best {
        return Ok(Quote { price: row.try_get("price")?, source: Some(row.try_get("name")?) });
    }
    let own = sqlx::query("SELECT sale_price FROM cat_products WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(product)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DomainError::NotFound("product"))?;
    Ok(Quote { price: own.try_get("sale_price")?, source: None })
}

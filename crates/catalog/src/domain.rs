//! Catalog rules without I/O: exact unit conversions and what a valid product is.

use kernel::error::{FieldError, Problems};
use kernel::{Currency, DomainResult, Money, Qty};
use serde::{Deserialize, Serialize};

pub const KINDS: [&str; 3] = ["goods", "service", "consumable"];
pub const COSTING: [&str; 2] = ["moving_average", "fifo"];
/// What a sales order invoices of a product: what was delivered, or what was ordered.
pub const INVOICE_POLICIES: [&str; 2] = ["delivered", "ordered"];
pub const UOM_CATEGORIES: [&str; 5] = ["unit", "weight", "length", "volume", "time"];

/// A unit: its category and its size as the exact fraction num/den of the category's reference unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uom {
    pub code: String,
    pub category: String,
    pub ratio_num: i64,
    pub ratio_den: i64,
}

/// The units every company starts with (code, 中文, English, category, num, den).
pub const DEFAULT_UOMS: [(&str, &str, &str, &str, i64, i64); 13] = [
    ("pc", "个", "piece", "unit", 1, 1),
    ("dozen", "打", "dozen", "unit", 12, 1),
    ("box12", "箱（12 个）", "box of 12", "unit", 12, 1),
    ("kg", "千克", "kilogram", "weight", 1, 1),
    ("g", "克", "gram", "weight", 1, 1000),
    ("t", "吨", "tonne", "weight", 1000, 1),
    ("m", "米", "metre", "length", 1, 1),
    ("cm", "厘米", "centimetre", "length", 1, 100),
    ("l", "升", "litre", "volume", 1, 1),
    ("ml", "毫升", "millilitre", "volume", 1, 1000),
    ("h", "小时", "hour", "time", 1, 1),
    ("day", "天", "day", "time", 24, 1),
    ("min", "分钟", "minute", "time", 1, 60),
];

/// Converts a quantity between two units of one category, exactly: the result must be a whole
/// number of millionths, or the conversion is refused rather than rounded.
pub fn convert(quantity: Qty, from: &Uom, to: &Uom) -> Result<Qty, FieldError> {
    if from.category != to.category {
        return Err(FieldError::new("uom", "error.catalog.uom_category", format!("{} → {}", from.code, to.code)));
    }
    // q × (from.num / from.den) / (to.num / to.den)
    let numerator = i128::from(quantity.scaled()) * i128::from(from.ratio_num) * i128::from(to.ratio_den);
    let denominator = i128::from(from.ratio_den) * i128::from(to.ratio_num);
    if denominator == 0 || numerator % denominator != 0 {
        return Err(FieldError::new(
            "quantity",
            "error.catalog.inexact",
            format!("{} {} → {}", quantity, from.code, to.code),
        ));
    }
    i64::try_from(numerator / denominator)
        .map(Qty::from_scaled)
        .map_err(|_| FieldError::new("quantity", "error.quantity.too_large", quantity.to_string()))
}

/// The unit an order line is written in (箱 on a purchase order, 个 on a sales order) and how
/// many stock units one of it is, as an exact fraction `num / den` kept on the line: a line
/// keeps its quantities and price in its own unit, and what moves in the warehouse is
/// converted, exactly or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineUnit {
    pub uom_id: i64,
    pub code: String,
    pub num: i64,
    pub den: i64,
}

impl LineUnit {
    /// The line unit `unit` for a product counted in `stock`; both of one category.
    pub fn new(uom_id: i64, unit: &Uom, stock: &Uom) -> Result<Self, FieldError> {
        if unit.category != stock.category {
            return Err(FieldError::new(
                "unit",
                "error.catalog.uom_category",
                format!("{} → {}", unit.code, stock.code),
            ));
        }
        let (num, den) = reduce(
            i128::from(unit.ratio_num) * i128::from(stock.ratio_den),
            i128::from(unit.ratio_den) * i128::from(stock.ratio_num),
        );
        Ok(LineUnit { uom_id, code: unit.code.clone(), num, den })
    }

    /// The stock unit itself.
    pub fn stock(uom_id: i64, code: &str) -> Self {
        LineUnit { uom_id, code: code.into(), num: 1, den: 1 }
    }

    /// A quantity in this unit (millionths) as millionths of the stock unit, when exact.
    pub fn to_stock(&self, quantity: i64) -> Option<i64> {
        let numerator = i128::from(quantity) * i128::from(self.num);
        (numerator % i128::from(self.den) == 0).then(|| i64::try_from(numerator / i128::from(self.den)).ok()).flatten()
    }

    /// A quantity in the stock unit as millionths of this unit, when exact.
    pub fn from_stock(&self, quantity: i64) -> Option<i64> {
        LineUnit { num: self.den, den: self.num, ..self.clone() }.to_stock(quantity)
    }

    /// A price (fen) per unit `per` as a price per this unit, when it is a whole number of fen.
    pub fn price_from(&self, price: i64, per: &LineUnit) -> Option<i64> {
        let numerator = i128::from(price) * i128::from(self.num) * i128::from(per.den);
        let denominator = i128::from(self.den) * i128::from(per.num);
        (numerator % denominator == 0).then(|| i64::try_from(numerator / denominator).ok()).flatten()
    }

    /// A price (fen) per this unit as a unit cost per stock unit in millionths of a yuan (the
    /// stock module's unit cost), rounded half up to the millionth: a box of 12 at 100.00 costs
    /// 8.333333 a piece, and the receipt's value is rounded to the fen as any value is.
    pub fn stock_unit_cost(&self, price: i64) -> i64 {
        let numerator = i128::from(price) * 10_000 * i128::from(self.den);
        let denominator = i128::from(self.num);
        i64::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap_or(i64::MAX)
    }
}

fn reduce(num: i128, den: i128) -> (i64, i64) {
    let (mut a, mut b) = (num, den);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let g = a.max(1);
    (i64::try_from(num / g).unwrap_or(i64::MAX), i64::try_from(den / g).unwrap_or(i64::MAX))
}

/// A product as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProductForm {
    pub code: String,
    #[serde(default)]
    pub barcode: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub category: String,
    pub kind: String,
    /// Unit codes; purchase and sales units default to the stock unit.
    pub uom: String,
    #[serde(default)]
    pub purchase_uom: String,
    #[serde(default)]
    pub sales_uom: String,
    /// VAT percent, one of `kernel::vat::RATE_CHOICES`.
    pub vat_rate: String,
    #[serde(default = "moving_average")]
    pub costing: String,
    /// `delivered` or `ordered`; empty: as delivered for goods, as ordered for services
    /// (which are never delivered).
    #[serde(default)]
    pub invoice_policy: String,
    #[serde(default)]
    pub track_lot: bool,
    #[serde(default)]
    pub track_serial: bool,
    #[serde(default)]
    pub track_expiry: bool,
    /// Sales price in yuan per sales unit.
    #[serde(default)]
    pub sale_price: String,
}

fn moving_average() -> String {
    "moving_average".into()
}

/// A checked product (units still as codes; the store resolves them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductInput {
    pub code: String,
    pub barcode: Option<String>,
    pub name: String,
    pub name_en: String,
    pub category: String,
    pub kind: String,
    pub uom: String,
    pub purchase_uom: String,
    pub sales_uom: String,
    pub vat_rate_bp: i64,
    pub costing: String,
    pub invoice_policy: String,
    pub track_lot: bool,
    pub track_serial: bool,
    pub track_expiry: bool,
    pub sale_price: i64,
}

/// Checks an EAN-13 / EAN-8 barcode's check digit; other lengths (internal codes) pass as text.
pub fn barcode(text: &str) -> Result<String, FieldError> {
    let code = text.trim().to_string();
    if code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(FieldError::new("barcode", "error.catalog.barcode", code));
    }
    if (code.len() == 13 || code.len() == 8) && code.chars().all(|c| c.is_ascii_digit()) {
        let digits: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
        let body = &digits[..digits.len() - 1];
        let sum: u32 = body.iter().rev().enumerate().map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d }).sum();
        let check = (10 - sum % 10) % 10;
        if check != digits[digits.len() - 1] {
            return Err(FieldError::new("barcode", "error.catalog.barcode_check", check.to_string()));
        }
    }
    Ok(code)
}

pub fn validate(form: &ProductForm) -> DomainResult<ProductInput> {
    let mut p = Problems::default();
    let code = form.code.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 40
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        p.add("code", "error.catalog.code", &code);
    }
    let name = form.name.trim().to_string();
    if name.is_empty() {
        p.add("name", "error.required", "");
    } else if name.chars().count() > 200 {
        p.add("name", "error.too_long", "200");
    }
    if !KINDS.contains(&form.kind.as_str()) {
        p.add("kind", "error.catalog.kind", &form.kind);
    }
    if !COSTING.contains(&form.costing.as_str()) {
        p.add("costing", "error.catalog.costing", &form.costing);
    }
    let invoice_policy = match (form.invoice_policy.trim(), form.kind.as_str()) {
        ("", "service") => "ordered".to_string(),
        ("", _) => "delivered".to_string(),
        ("delivered", "service") => {
            p.add("invoice_policy", "error.catalog.service_delivered", "");
            String::new()
        }
        (policy, _) if INVOICE_POLICIES.contains(&policy) => policy.to_string(),
        (policy, _) => {
            p.add("invoice_policy", "error.catalog.invoice_policy", policy);
            String::new()
        }
    };
    let vat_rate_bp = kernel::vat::parse_rate(&form.vat_rate).unwrap_or_else(|| {
        p.add("vat_rate", "error.finance.vat_rate", form.vat_rate.trim());
        0
    });
    let barcode_value = if form.barcode.trim().is_empty() { None } else { p.check(barcode(&form.barcode)) };
    let sale_price = if form.sale_price.trim().is_empty() {
        0
    } else {
        p.check(Money::parse(&form.sale_price, Currency::CNY).map_err(|mut e| {
            e.field = "sale_price".into();
            e
        }))
        .map(|m| m.minor())
        .unwrap_or(0)
    };
    if sale_price < 0 {
        p.add("sale_price", "error.finance.negative", "");
    }
    if form.kind == "service" && (form.track_lot || form.track_serial || form.track_expiry) {
        p.add("track_lot", "error.catalog.service_tracking", "");
    }
    if form.uom.trim().is_empty() {
        p.add("uom", "error.required", "");
    }
    p.finish()?;
    let or_stock = |u: &str| if u.trim().is_empty() { form.uom.trim().to_string() } else { u.trim().to_string() };
    Ok(ProductInput {
        code,
        barcode: barcode_value,
        name,
        name_en: form.name_en.trim().to_string(),
        category: form.category.trim().to_string(),
        kind: form.kind.clone(),
        uom: form.uom.trim().to_string(),
        purchase_uom: or_stock(&form.purchase_uom),
        sales_uom: or_stock(&form.sales_uom),
        vat_rate_bp,
        costing: form.costing.clone(),
        invoice_policy,
        track_lot: form.track_lot,
        track_serial: form.track_serial,
        track_expiry: form.track_expiry,
        sale_price,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uom(code: &str, category: &str, num: i64, den: i64) -> Uom {
        Uom { code: code.into(), category: category.into(), ratio_num: num, ratio_den: den }
    }

    #[test]
    fn a_line_in_boxes_moves_pieces_and_a_line_in_grams_moves_kilograms() {
        let uom = |code: &str, category: &str, num, den| Uom {
            code: code.into(),
            category: category.into(),
            ratio_num: num,
            ratio_den: den,
        };
        let (pc, box12, kg, g) = (
            uom("pc", "unit", 1, 1),
            uom("box12", "unit", 12, 1),
            uom("kg", "weight", 1, 1),
            uom("g", "weight", 1, 1000),
        );
        let boxes = LineUnit::new(3, &box12, &pc).unwrap();
        assert_eq!((boxes.num, boxes.den), (12, 1));
        assert_eq!(boxes.to_stock(2_500_000), Some(30_000_000)); // 2.5 boxes = 30 pieces
        assert_eq!(boxes.from_stock(6_000_000), Some(500_000)); // 6 pieces = half a box
        assert_eq!(boxes.from_stock(7_000_000), None); // 7 pieces are no exact number of boxes
                                                       // 300.00 a box is 25.00 a piece; 100.00 a box is 8.333333 a piece (rounded to the millionth).
        assert_eq!(boxes.stock_unit_cost(30_000), 25_000_000);
        assert_eq!(boxes.stock_unit_cost(10_000), 8_333_333);
        let pieces = LineUnit::new(1, &pc, &pc).unwrap();
        assert_eq!(boxes.price_from(3_900, &pieces), Some(46_800)); // 39.00 a piece = 468.00 a box
        assert_eq!(pieces.price_from(10_000, &boxes), None); // 100.00 a box is no whole fen a piece
        let grams = LineUnit::new(5, &g, &kg).unwrap();
        assert_eq!((grams.num, grams.den), (1, 1000));
        assert_eq!(grams.to_stock(1_500_000), Some(1_500)); // 1.5 g = 0.0015 kg
        assert_eq!(grams.to_stock(1), None); // a millionth of a gram is no whole millionth of a kilogram
        assert_eq!(LineUnit::new(5, &g, &pc).unwrap_err().key, "error.catalog.uom_category");
    }

    #[test]
    fn boxes_and_grams_convert_exactly_or_not_at_all() {
        let (pc, box12) = (uom("pc", "unit", 1, 1), uom("box12", "unit", 12, 1));
        assert_eq!(convert(Qty::from_units(3), &box12, &pc).unwrap(), Qty::from_units(36));
        assert_eq!(convert(Qty::from_units(6), &pc, &box12).unwrap(), Qty::parse("0.5").unwrap());
        // One piece is a twelfth of a box: 0.083333… is not exact and is refused.
        assert_eq!(convert(Qty::from_units(1), &pc, &box12).unwrap_err().key, "error.catalog.inexact");
        let (kg, g) = (uom("kg", "weight", 1, 1), uom("g", "weight", 1, 1000));
        assert_eq!(convert(Qty::parse("1.25").unwrap(), &kg, &g).unwrap(), Qty::from_units(1250));
        assert_eq!(convert(Qty::from_units(1), &kg, &pc).unwrap_err().key, "error.catalog.uom_category");
    }

    #[test]
    fn ean_check_digits() {
        assert!(barcode("6901234567892").is_ok());
        assert_eq!(barcode("6901234567891").unwrap_err().key, "error.catalog.barcode_check");
        assert!(barcode("INT-0001").is_ok());
    }
}

//! Pay rules: what a payroll run computes from and what hiring an employee needs in place,
//! stored per company: each city's social insurance and housing fund rule for a year, and the
//! salary structures' components. A company starts with the shipped sample rule of its year
//! and the standard structure `STD` ([`ensure_defaults`]). Changing them is payroll's, with
//! its permission (`payroll::save_city_rule`, `payroll::create_structure`); this module only
//! reads and stores, so that the employee register can call it without reaching up into
//! payroll.

use crate::domain::{self, CityRule};
use db::{Result, RowExt, Tx};

/// The components every company starts with in structure `STD`: (code, name, kind, formula).
pub const STANDARD_COMPONENTS: [(&str, &str, &str, &str); 4] = [
    ("base_pay", "基本工资", "earning", "base * days_worked / work_days"),
    ("overtime", "加班费", "earning", "round(base / 21.75 / 8 * 1.5 * overtime_hours)"),
    ("performance_bonus", "绩效奖金", "earning", "target_bonus * rating_percent / 100"),
    ("commission", "销售提成", "earning", "sales_amount * 0.01"),
];

/// Creates what a company's payroll needs if it is missing: the sample city rule for the
/// year (marked as a sample) and the standard structure.
pub async fn ensure_defaults(tx: &mut Tx, company: i64, year: i32) -> Result<()> {
    store_city_rule(tx, company, &domain::sample_city(year), false).await?;
    let existing = sqlx::query("SELECT id FROM hr_structures WHERE company_id = $1 AND code = 'STD'")
        .bind(company)
        .fetch_optional(tx.conn())
        .await?;
    if existing.is_none() {
        let id: i64 = sqlx::query(
            "INSERT INTO hr_structures (company_id, code, name, created_at) VALUES ($1, 'STD', '标准工资结构 Standard', $2) RETURNING id",
        )
        .bind(company)
        .bind(tx.now().to_string())
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?;
        for (i, (code, name, kind, formula)) in STANDARD_COMPONENTS.iter().enumerate() {
            insert_component(tx, id, i as i64 + 1, code, name, kind, formula).await?;
        }
    }
    Ok(())
}

pub(crate) async fn insert_component(
    tx: &mut Tx,
    structure: i64,
    position: i64,
    code: &str,
    name: &str,
    kind: &str,
    formula: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO hr_components (structure_id, position, code, name, kind, formula) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(structure)
    .bind(position)
    .bind(code)
    .bind(name)
    .bind(kind)
    .bind(formula)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The company's social insurance and housing fund rules of a year, by city.
pub async fn city_rules(conn: &mut db::Conn, company: i64, year: i32) -> Result<Vec<CityRule>> {
    sqlx::query("SELECT * FROM hr_city_rules WHERE company_id = $1 AND year = $2 ORDER BY city")
        .bind(company)
        .bind(i64::from(year))
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(CityRule {
                city: r.try_get("city")?,
                year: r.try_get::<i64, _>("year")? as i32,
                floor: r.try_get("floor")?,
                cap: r.try_get("cap")?,
                pension_employee_bp: r.try_get("pension_employee_bp")?,
                medical_employee_bp: r.try_get("medical_employee_bp")?,
                unemployment_employee_bp: r.try_get("unemployment_employee_bp")?,
                pension_employer_bp: r.try_get("pension_employer_bp")?,
                medical_employer_bp: r.try_get("medical_employer_bp")?,
                unemployment_employer_bp: r.try_get("unemployment_employer_bp")?,
                injury_employer_bp: r.try_get("injury_employer_bp")?,
                housing_fund_bp: r.try_get("housing_fund_bp")?,
                rounding: r.try_get("rounding")?,
                sample: r.try_get::<i64, _>("sample")? != 0,
            })
        })
        .collect()
}

/// Writes a city's rule for its year: replacing the one there (`replace`), or only where
/// there is none (the shipped sample).
pub(crate) async fn store_city_rule(tx: &mut Tx, company: i64, rule: &CityRule, replace: bool) -> Result<()> {
    let on_conflict = if replace {
        "DO UPDATE SET floor = excluded.floor, cap = excluded.cap, pension_employee_bp = excluded.pension_employee_bp, \
           medical_employee_bp = excluded.medical_employee_bp, unemployment_employee_bp = excluded.unemployment_employee_bp, \
           pension_employer_bp = excluded.pension_employer_bp, medical_employer_bp = excluded.medical_employer_bp, \
           unemployment_employer_bp = excluded.unemployment_employer_bp, injury_employer_bp = excluded.injury_employer_bp, \
           housing_fund_bp = excluded.housing_fund_bp, rounding = excluded.rounding, sample = excluded.sample"
    } else {
        "DO NOTHING"
    };
    sqlx::query(&format!(
        "INSERT INTO hr_city_rules (company_id, city, year, floor, cap, pension_employee_bp, medical_employee_bp, unemployment_employee_bp, \
           pension_employer_bp, medical_employer_bp, unemployment_employer_bp, injury_employer_bp, housing_fund_bp, rounding, sample) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (company_id, city, year) {on_conflict}"
    ))
    .bind(company)
    .bind(&rule.city)
    .bind(i64::from(rule.year))
    .bind(rule.floor)
    .bind(rule.cap)
    .bind(rule.pension_employee_bp)
    .bind(rule.medical_employee_bp)
    .bind(rule.unemployment_employee_bp)
    .bind(rule.pension_employer_bp)
    .bind(rule.medical_employer_bp)
    .bind(rule.unemployment_employer_bp)
    .bind(rule.injury_employer_bp)
    .bind(rule.housing_fund_bp)
    .bind(&rule.rounding)
    .bind(i64::from(rule.sample))
    .execute(tx.conn())
    .await?;
    Ok(())
}

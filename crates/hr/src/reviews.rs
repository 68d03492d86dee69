//! Performance reviews: a review of one employee for a cycle's period (monthly `2026-04`,
//! quarterly `2026-Q1`, annual `2026`) with weighted goals; the employee scores themself, the
//! manager scores each goal (0–100), and HR finalises: the weighted manager score gives the
//! rating (A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else E), which calibration may move with a reason.
//! The final rating is what the next payroll's rating bonus and career eligibility read.

use crate::domain;
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const REVIEW_MANAGE: &str = "hr.review.manage";
pub const CYCLES: [&str; 3] = ["monthly", "quarterly", "annual"];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    pub employee_id: i64,
    pub cycle: String,
    pub period: String,
    pub goals: Vec<GoalForm>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalForm {
    pub title: String,
    /// Percent; the goals' weights sum to 100.
    pub weight: i64,
    #[serde(default)]
    pub target: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub title: String,
    pub weight: i64,
    pub target: String,
    pub self_score: Option<i64>,
    pub manager_score: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub id: i64,
    pub employee_id: i64,
    pub employee: String,
    pub cycle: String,
    pub period: String,
    pub status: String,
    pub self_score: Option<String>,
    pub manager_score: Option<String>,
    pub rating: Option<String>,
    pub calibrated_from: Option<String>,
    pub finalised_at: Option<String>,
    pub goals: Vec<Goal>,
}

fn period_matches(cycle: &str, period: &str) -> bool {
    if !period.is_ascii() {
        return false;
    }
    let year_ok = |y: &str| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit());
    match cycle {
        "monthly" => {
            period.len() == 7
                && year_ok(&period[..4])
                && matches!(period[5..].parse::<u32>(), Ok(1..=12))
                && &period[4..5] == "-"
        }
        "quarterly" => {
            period.len() == 7 && year_ok(&period[..4]) && matches!(&period[4..], "-Q1" | "-Q2" | "-Q3" | "-Q4")
        }
        "annual" => year_ok(period),
        _ => false,
    }
}

pub async fn create(tx: &mut Tx, principal: &Principal, form: &ReviewForm) -> Result<i64> {
    principal.authorize(REVIEW_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    if !CYCLES.contains(&form.cycle.as_str()) {
        p.add("cycle", "error.hr.cycle", &form.cycle);
    } else if !period_matches(&form.cycle, form.period.trim()) {
        p.add("period", "error.hr.review_period", form.period.trim());
    }
    if form.goals.is_empty() || form.goals.len() > 20 {
        p.add("goals", "error.hr.goals", form.goals.len().to_string());
    }
    for (i, g) in form.goals.iter().enumerate() {
        if g.title.trim().is_empty() || g.title.chars().count() > 200 {
            p.add(&format!("goals[{i}].title"), "error.required", "");
        }
        if !(1..=100).contains(&g.weight) {
            p.add(&format!("goals[{i}].weight"), "error.hr.weight", g.weight.to_string());
        }
    }
    let total: i64 = form.goals.iter().map(|g| g.weight).sum();
    if !form.goals.is_empty() && total != 100 {
        p.add("goals", "error.hr.weights_total", total.to_string());
    }
    let employee = sqlx::query("SELECT status FROM hr_employees WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(form.employee_id)
        .fetch_optional(tx.conn())
        .await?;
    if employee.is_none() {
        p.add("employee_id", "error.hr.employee", form.employee_id.to_string());
    }
    let taken = sqlx::query("SELECT 1 FROM hr_reviews WHERE employee_id = $1 AND cycle = $2 AND period = $3")
        .bind(form.employee_id)
        .bind(&form.cycle)
        .bind(form.period.trim())
        .fetch_optional(tx.conn())
        .await?;
    if taken.is_some() {
        p.add("period", "error.hr.review_exists", form.period.trim());
    }
    p.finish()?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_reviews (company_id, employee_id, cycle, period, status, created_at, created_by) VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
    )
    .bind(company)
    .bind(form.employee_id)
    .bind(&form.cycle)
    .bind(form.period.trim())
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    for (i, g) in form.goals.iter().enumerate() {
        sqlx::query(
            "INSERT INTO hr_review_goals (review_id, position, title, weight_bp, target) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(g.title.trim())
        .bind(g.weight * 100)
        .bind(g.target.trim())
        .execute(tx.conn())
        .await?;
    }
    tx.audit(
        "create",
        "hr.review",
        Some(&id.to_string()),
        &json!({"employee_id": [null, form.employee_id], "cycle": [null, form.cycle], "period": [null, form.period.trim()]}),
    )
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresForm {
    /// self or manager.
    pub by: String,
    /// One score 0–100 per goal, in the goals' order.
    pub scores: Vec<i64>,
}

/// Weighted score of goals (each 0–100) to two decimals.
fn weighted(goals: &[(i64, i64)]) -> Decimal {
    let sum: i64 = goals.iter().map(|(weight_bp, score)| weight_bp * score).sum();
    (Decimal::from(sum) / Decimal::from(10_000)).round_dp(2)
}

/// Enters the employee's own or the manager's scores. The employee scores themself; the
/// manager is the employee's manager; HR may enter either.
pub async fn score(tx: &mut Tx, principal: &Principal, id: i64, form: &ScoresForm) -> Result<()> {
    let company = principal.company_id.0;
    let row = sqlx::query(
        "SELECT r.status, r.employee_id, e.user_id, m.user_id AS manager_user FROM hr_reviews r JOIN hr_employees e ON e.id = r.employee_id \
         LEFT JOIN hr_employees m ON m.id = e.manager_id WHERE r.company_id = $1 AND r.id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("review"))?;
    let me = Some(principal.user_id.0);
    let allowed = match form.by.as_str() {
        "self" => row.try_get::<Option<i64>, _>("user_id")? == me,
        "manager" => row.try_get::<Option<i64>, _>("manager_user")? == me,
        _ => return Err(DomainError::invalid("by", "error.hr.score_by", &form.by).into()),
    };
    if !allowed {
        principal.authorize(REVIEW_MANAGE)?;
    }
    let status: String = row.try_get("status")?;
    if status != "open" {
        return Err(db::document::wrong_status(&status));
    }
    let goals = sqlx::query("SELECT position, weight_bp FROM hr_review_goals WHERE review_id = $1 ORDER BY position")
        .bind(id)
        .fetch_all(tx.conn())
        .await?;
    let mut p = Problems::default();
    if form.scores.len() != goals.len() {
        p.add("scores", "error.hr.scores_count", goals.len().to_string());
    }
    for (i, s) in form.scores.iter().enumerate() {
        if !(0..=100).contains(s) {
            p.add(&format!("scores[{i}]"), "error.hr.score", s.to_string());
        }
    }
    p.finish()?;
    let column = if form.by == "self" { "self_score" } else { "manager_score" };
    let mut weights = Vec::new();
    for (g, s) in goals.iter().zip(&form.scores) {
        let position: i64 = g.try_get("position")?;
        weights.push((g.try_get::<i64, _>("weight_bp")?, *s));
        sqlx::query(&format!("UPDATE hr_review_goals SET {column} = $1 WHERE review_id = $2 AND position = $3"))
            .bind(*s)
            .bind(id)
            .bind(position)
            .execute(tx.conn())
            .await?;
    }
    let total = weighted(&weights);
    sqlx::query(&format!("UPDATE hr_reviews SET {column} = $1 WHERE id = $2"))
        .bind(format!("{total:.2}"))
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit("score", "hr.review", Some(&id.to_string()), &json!({column: [null, format!("{total:.2}")]})).await
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinaliseForm {
    /// A calibrated rating that replaces the computed one; with a reason.
    #[serde(default)]
    pub rating: String,
    #[serde(default)]
    pub reason: String,
}

/// Finalises a review the manager has scored: the rating from the weighted score, or the
/// calibrated one with its reason. Emits `hr.ReviewFinalised`.
pub async fn finalise(tx: &mut Tx, principal: &Principal, id: i64, form: &FinaliseForm) -> Result<String> {
    principal.authorize(REVIEW_MANAGE)?;
    let company = principal.company_id.0;
    let row =
        sqlx::query("SELECT status, manager_score, employee_id FROM hr_reviews WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or(DomainError::NotFound("review"))?;
    let status: String = row.try_get("status")?;
    if status != "open" {
        return Err(db::document::wrong_status(&status));
    }
    let Some(score) = row.try_get::<Option<String>, _>("manager_score")? else {
        return Err(DomainError::invalid("manager_score", "error.hr.not_scored", "").into());
    };
    let computed = domain::rating_of(score.parse().unwrap_or_default());
    let mut p = Problems::default();
    let rating = match form.rating.trim() {
        "" => computed.to_string(),
        r if domain::RATINGS.contains(&r) => {
            if r != computed && form.reason.trim().is_empty() {
                p.add("reason", "error.hr.calibration_reason", "");
            }
            r.to_string()
        }
        r => {
            p.add("rating", "error.hr.rating", r);
            String::new()
        }
    };
    p.finish()?;
    let calibrated_from = (rating != computed).then(|| computed.to_string());
    sqlx::query(
        "UPDATE hr_reviews SET status = 'final', rating = $1, calibrated_from = $2, finalised_at = $3 WHERE id = $4",
    )
    .bind(&rating)
    .bind(&calibrated_from)
    .bind(tx.now().to_string())
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "finalise",
        "hr.review",
        Some(&id.to_string()),
        &json!({"status": ["open", "final"], "rating": [computed, rating], "reason": [null, form.reason.trim()]}),
    )
    .await?;
    let employee: i64 = row.try_get("employee_id")?;
    tx.emit(
        "hr.review",
        &id.to_string(),
        "hr.ReviewFinalised",
        &json!({"id": id, "employee_id": employee, "rating": rating}),
    )
    .await?;
    Ok(rating)
}

/// Reviews HR may read, or one's own (and those of one's reports, as their manager).
pub async fn reviews(conn: &mut db::Conn, principal: &Principal, employee: Option<i64>) -> Result<Vec<Review>> {
    let mut q = db::SqlBuilder::new(
        "SELECT r.id, r.employee_id, e.number || ' ' || p.name AS employee, r.cycle, r.period, r.status, r.self_score, r.manager_score, \
           r.rating, r.calibrated_from, r.finalised_at FROM hr_reviews r JOIN hr_employees e ON e.id = r.employee_id \
           JOIN parties p ON p.id = e.party_id LEFT JOIN hr_employees m ON m.id = e.manager_id WHERE r.company_id = ",
    );
    q.bind(principal.company_id.0);
    if !principal.may(REVIEW_MANAGE) {
        q.push(" AND (e.user_id = ")
            .bind(principal.user_id.0)
            .push(" OR m.user_id = ")
            .bind(principal.user_id.0)
            .push(")");
    }
    if let Some(employee) = employee {
        q.push(" AND r.employee_id = ").bind(employee);
    }
    q.push(" ORDER BY r.period DESC, r.id DESC LIMIT 500");
    let rows = q.build().fetch_all(&mut *conn).await?;
    // Every listed review's goals in one query, not one per review.
    let mut goals: std::collections::HashMap<i64, Vec<Goal>> = std::collections::HashMap::new();
    if !rows.is_empty() {
        let mut g = db::SqlBuilder::new(
            "SELECT review_id, title, weight_bp, target, self_score, manager_score FROM hr_review_goals WHERE review_id IN (",
        );
        for (i, r) in rows.iter().enumerate() {
            g.push(if i == 0 { "" } else { ", " }).bind(r.try_get::<i64, _>("id")?);
        }
        g.push(") ORDER BY review_id, position");
        for row in g.build().fetch_all(&mut *conn).await? {
            goals.entry(row.try_get("review_id")?).or_default().push(Goal {
                title: row.try_get("title")?,
                weight: row.try_get::<i64, _>("weight_bp")? / 100,
                target: row.try_get("target")?,
                self_score: row.try_get("self_score")?,
                manager_score: row.try_get("manager_score")?,
            });
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let goals = goals.remove(&id).unwrap_or_default();
        out.push(Review {
            id,
            employee_id: r.try_get("employee_id")?,
            employee: r.try_get("employee")?,
            cycle: r.try_get("cycle")?,
            period: r.try_get("period")?,
            status: r.try_get("status")?,
            self_score: r.try_get("self_score")?,
            manager_score: r.try_get("manager_score")?,
            rating: r.try_get("rating")?,
            calibrated_from: r.try_get("calibrated_from")?,
            finalised_at: r.try_get("finalised_at")?,
            goals,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_their_cycle() {
        assert!(period_matches("quarterly", "2026-Q1"));
        assert!(!period_matches("quarterly", "2026-03"));
        assert!(period_matches("monthly", "2026-03"));
        assert!(!period_matches("monthly", "2026-13"));
        assert!(period_matches("annual", "2026"));
        assert!(!period_matches("quarterly", "202年1"), "not a panic either");
    }

    #[test]
    fn the_weighted_score_is_to_two_decimals() {
        // 60 % at 90 and 40 % at 75: 84.
        assert_eq!(weighted(&[(6_000, 90), (4_000, 75)]), Decimal::from(84));
        assert_eq!(weighted(&[(3_300, 91), (6_700, 80)]), Decimal::new(8363, 2));
    }
}

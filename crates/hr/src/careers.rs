//! Career paths: promotion ladders per job family as steps from one position to the next,
//! each with its requirements — months in grade and the lowest final rating that qualifies —
//! and the list of employees who meet a step's requirements today.

use crate::domain::RATINGS;
use crate::planning::{PLAN_MANAGE, PLAN_READ};
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepForm {
    pub from_position_id: i64,
    pub to_position_id: i64,
    pub min_months: i64,
    /// A to E: the lowest latest final rating that qualifies.
    pub min_rating: String,
    /// A course the employee must have completed.
    #[serde(default)]
    pub required_course_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub job_family: String,
    pub from_position_id: i64,
    pub from_title: String,
    pub from_grade: i64,
    pub to_position_id: i64,
    pub to_title: String,
    pub to_grade: i64,
    pub min_months: i64,
    pub min_rating: String,
    pub required_course: Option<String>,
}

/// An employee who meets a step's requirements today.
#[derive(Debug, Clone, Serialize)]
pub struct Eligible {
    pub employee_id: i64,
    pub number: String,
    pub name: String,
    pub department: String,
    pub from_title: String,
    pub to_title: String,
    pub months_in_grade: i64,
    pub rating: String,
}

/// Adds or replaces the step that leads from a position: to a higher grade of the same job
/// family.
pub async fn set_step(tx: &mut Tx, principal: &Principal, form: &StepForm) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let position = |id: i64| {
        sqlx::query("SELECT job_family, grade FROM hr_positions WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(id)
    };
    let from = position(form.from_position_id).fetch_optional(tx.conn()).await?;
    let to = position(form.to_position_id).fetch_optional(tx.conn()).await?;
    match (&from, &to) {
        (None, _) => p.add("from_position_id", "error.hr.position", form.from_position_id.to_string()),
        (_, None) => p.add("to_position_id", "error.hr.position", form.to_position_id.to_string()),
        (Some(from), Some(to)) => {
            let (from_family, from_grade): (String, i64) = (from.try_get("job_family")?, from.try_get("grade")?);
            let (to_family, to_grade): (String, i64) = (to.try_get("job_family")?, to.try_get("grade")?);
            if from_family != to_family || to_grade <= from_grade {
                p.add(
                    "to_position_id",
                    "error.hr.career_step",
                    format!("{from_family} G{from_grade} → {to_family} G{to_grade}"),
                );
            }
        }
    }
    if !(0..=240).contains(&form.min_months) {
        p.add("min_months", "error.hr.min_months", form.min_months.to_string());
    }
    if !RATINGS.contains(&form.min_rating.as_str()) {
        p.add("min_rating", "error.hr.rating", &form.min_rating);
    }
    if let Some(course) = form.required_course_id {
        let known = sqlx::query("SELECT 1 FROM hr_courses WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(course)
            .fetch_optional(tx.conn())
            .await?;
        if known.is_none() {
            p.add("required_course_id", "error.hr.course", course.to_string());
        }
    }
    p.finish()?;
    sqlx::query(
        "INSERT INTO hr_career_steps (company_id, from_position_id, to_position_id, min_months, min_rating, created_at, required_course_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (company_id, from_position_id) DO UPDATE SET to_position_id = excluded.to_position_id, min_months = excluded.min_months, \
           min_rating = excluded.min_rating, required_course_id = excluded.required_course_id",
    )
    .bind(company)
    .bind(form.from_position_id)
    .bind(form.to_position_id)
    .bind(form.min_months)
    .bind(&form.min_rating)
    .bind(tx.now().to_string())
    .bind(form.required_course_id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "update",
        "hr.career_step",
        Some(&form.from_position_id.to_string()),
        &json!({"to_position_id": [null, form.to_position_id], "min_months": [null, form.min_months], "min_rating": [null, form.min_rating]}),
    )
    .await
}

/// The ladders: every step by job family and grade.
pub async fn steps(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Step>> {
    principal.authorize(PLAN_READ)?;
    sqlx::query(
        "SELECT f.job_family, s.from_position_id, f.title AS from_title, f.grade AS from_grade, s.to_position_id, t.title AS to_title, \
           t.grade AS to_grade, s.min_months, s.min_rating, c.code || ' ' || c.title AS required_course \
         FROM hr_career_steps s JOIN hr_positions f ON f.id = s.from_position_id JOIN hr_positions t ON t.id = s.to_position_id \
         LEFT JOIN hr_courses c ON c.id = s.required_course_id \
         WHERE s.company_id = $1 ORDER BY f.job_family, f.grade",
    )
    .bind(principal.company_id.0)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Step {
            job_family: r.try_get("job_family")?,
            from_position_id: r.try_get("from_position_id")?,
            from_title: r.try_get("from_title")?,
            from_grade: r.try_get("from_grade")?,
            to_position_id: r.try_get("to_position_id")?,
            to_title: r.try_get("to_title")?,
            to_grade: r.try_get("to_grade")?,
            min_months: r.try_get("min_months")?,
            min_rating: r.try_get("min_rating")?,
            required_course: r.try_get("required_course")?,
        })
    })
    .collect()
}

/// Whole months from `since` to `today` (a month counts when its day is reached).
pub fn months_between(since: chrono::NaiveDate, today: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let months = (today.year() - since.year()) as i64 * 12 + today.month() as i64 - since.month() as i64;
    if today.day() < since.day() {
        months - 1
    } else {
        months
    }
}

/// Active employees who meet their position's next step today: long enough in grade, a
/// latest final rating at least the step's, and its required course completed.
pub async fn eligible(conn: &mut db::Conn, principal: &Principal, today: chrono::NaiveDate) -> Result<Vec<Eligible>> {
    principal.authorize(PLAN_READ)?;
    let company = principal.company_id.0;
    let rows = sqlx::query(
        "SELECT e.id, e.number, p.name, d.name AS department, e.grade_since, f.title AS from_title, t.title AS to_title, s.min_months, s.min_rating, \
           (SELECT v.rating FROM hr_reviews v WHERE v.employee_id = e.id AND v.status = 'final' ORDER BY v.finalised_at DESC, v.id DESC LIMIT 1) AS rating \
         FROM hr_employees e JOIN hr_career_steps s ON s.company_id = e.company_id AND s.from_position_id = e.position_id \
         JOIN parties p ON p.id = e.party_id JOIN hr_departments d ON d.id = e.department_id \
         JOIN hr_positions f ON f.id = s.from_position_id JOIN hr_positions t ON t.id = s.to_position_id \
         WHERE e.company_id = $1 AND e.status = 'active' AND (s.required_course_id IS NULL OR EXISTS ( \
           SELECT 1 FROM hr_enrolments n JOIN hr_sessions x ON x.id = n.session_id \
           WHERE n.employee_id = e.id AND x.course_id = s.required_course_id AND n.completed_at IS NOT NULL)) \
         ORDER BY e.number",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let since: String = r.try_get("grade_since")?;
        let Ok(since) = chrono::NaiveDate::parse_from_str(&since, "%Y-%m-%d") else {
            continue;
        };
        let months = months_between(since, today);
        let rating: Option<String> = r.try_get("rating")?;
        let min_rating: String = r.try_get("min_rating")?;
        let rank = |x: &str| RATINGS.iter().position(|r| *r == x).unwrap_or(RATINGS.len());
        let rated = rating.as_deref().is_some_and(|x| rank(x) <= rank(&min_rating));
        if months >= r.try_get::<i64, _>("min_months")? && rated {
            out.push(Eligible {
                employee_id: r.try_get("id")?,
                number: r.try_get("number")?,
                name: r.try_get("name")?,
                department: r.try_get("department")?,
                from_title: r.try_get("from_title")?,
                to_title: r.try_get("to_title")?,
                months_in_grade: months,
                // The rating itself only for those who manage reviews.
                rating: if principal.may(crate::reviews::REVIEW_MANAGE) {
                    rating.unwrap_or_default()
                } else {
                    String::new()
                },
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::months_between;

    #[test]
    fn a_month_in_grade_counts_when_its_day_is_reached() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(months_between(d("2025-03-15"), d("2026-03-15")), 12);
        assert_eq!(months_between(d("2025-03-16"), d("2026-03-15")), 11);
        assert_eq!(months_between(d("2026-01-31"), d("2026-02-28")), 0);
    }
}

//! Training: courses and their sessions, enrolment, attendance and evaluation at the four
//! levels — reaction (1–5), learning (a test score before and after, 0–100), behaviour and
//! result (1–5, as the manager sees them later); training needs from performance gaps (a
//! latest final rating of D or E) and from career steps that require a course not yet
//! completed; and each course's effectiveness. A participant completes a course when they
//! attended and their evaluation is entered. The year's plan says how many people of a
//! department are to take a course and its budget; sessions record their cost, and the plan
//! reads against who attended and each session's cost shared by its attendees.

use crate::org::EMPLOYEE_READ;
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

pub const TRAINING_MANAGE: &str = "hr.training.manage";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseForm {
    pub code: String,
    pub title: String,
    pub hours: i64,
}

pub async fn create_course(tx: &mut Tx, principal: &Principal, form: &CourseForm) -> Result<i64> {
    principal.authorize(TRAINING_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let code = form.code.trim().to_uppercase();
    crate::org::check_code(&mut p, "code", &code);
    if form.title.trim().is_empty() || form.title.chars().count() > 200 {
        p.add("title", "error.required", "");
    }
    if !(1..=1_000).contains(&form.hours) {
        p.add("hours", "error.hr.hours", form.hours.to_string());
    }
    let taken = sqlx::query("SELECT 1 FROM hr_courses WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(&code)
        .fetch_optional(tx.conn())
        .await?;
    if taken.is_some() {
        p.add("code", "error.hr.duplicate_code", &code);
    }
    p.finish()?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_courses (company_id, code, title, hours, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(form.title.trim())
    .bind(form.hours)
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit("create", "hr.course", Some(&id.to_string()), &json!({"code": [null, code], "hours": [null, form.hours]}))
        .await?;
    Ok(id)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionForm {
    pub starts_on: String,
    #[serde(default)]
    pub trainer: String,
    pub capacity: i64,
    /// What the session cost (trainer, room, materials), in yuan; empty is nothing.
    #[serde(default)]
    pub cost: String,
}

pub async fn schedule(tx: &mut Tx, principal: &Principal, course: i64, form: &SessionForm) -> Result<i64> {
    principal.authorize(TRAINING_MANAGE)?;
    let company = principal.company_id.0;
    let known = sqlx::query("SELECT 1 FROM hr_courses WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(course)
        .fetch_optional(tx.conn())
        .await?;
    if known.is_none() {
        return Err(DomainError::NotFound("course").into());
    }
    let mut p = Problems::default();
    let starts = p.check(kernel::dates::parse("starts_on", &form.starts_on));
    if !(1..=1_000).contains(&form.capacity) {
        p.add("capacity", "error.hr.capacity", form.capacity.to_string());
    }
    if form.trainer.chars().count() > 100 {
        p.add("trainer", "error.too_long", "100");
    }
    let cost = if form.cost.trim().is_empty() { 0 } else { p.amount("cost", form.cost.trim()) };
    p.finish()?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_sessions (company_id, course_id, starts_on, trainer, capacity, cost, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(company)
    .bind(course)
    .bind(starts.map(|d| d.to_string()).unwrap_or_default())
    .bind(form.trainer.trim())
    .bind(form.capacity)
    .bind(cost)
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit("create", "hr.training_session", Some(&id.to_string()), &json!({"course_id": [null, course]})).await?;
    Ok(id)
}

async fn session_capacity(tx: &mut Tx, company: i64, session: i64) -> Result<i64> {
    Ok(sqlx::query("SELECT capacity FROM hr_sessions WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(session)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("session"))?
        .try_get("capacity")?)
}

/// Enrols employees in a session, up to its capacity; one already enrolled is skipped.
pub async fn enrol(tx: &mut Tx, principal: &Principal, session: i64, employees: &[i64]) -> Result<i64> {
    principal.authorize(TRAINING_MANAGE)?;
    let company = principal.company_id.0;
    let capacity = session_capacity(tx, company, session).await?;
    let mut p = Problems::default();
    for (i, employee) in employees.iter().enumerate() {
        let active = sqlx::query("SELECT 1 FROM hr_employees WHERE company_id = $1 AND id = $2 AND status = 'active'")
            .bind(company)
            .bind(*employee)
            .fetch_optional(tx.conn())
            .await?;
        if active.is_none() {
            p.add(&format!("employee_ids[{i}]"), "error.hr.employee", employee.to_string());
        }
    }
    p.finish()?;
    let mut added = 0;
    for employee in employees {
        added += sqlx::query(
            "INSERT INTO hr_enrolments (session_id, employee_id) VALUES ($1, $2) ON CONFLICT (session_id, employee_id) DO NOTHING",
        )
        .bind(session)
        .bind(*employee)
        .execute(tx.conn())
        .await?
        .rows_affected() as i64;
    }
    let enrolled: i64 = sqlx::query("SELECT COUNT(*) AS n FROM hr_enrolments WHERE session_id = $1")
        .bind(session)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
    if enrolled > capacity {
        return Err(DomainError::invalid("employee_ids", "error.hr.session_full", capacity.to_string()).into());
    }
    tx.audit("enrol", "hr.training_session", Some(&session.to_string()), &json!({"employees": [null, employees]}))
        .await?;
    Ok(added)
}

/// One participant's attendance and evaluation. Scores are optional until known; attending
/// with a post-test score completes the course.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationForm {
    pub employee_id: i64,
    pub attended: bool,
    #[serde(default)]
    pub reaction: Option<i64>,
    #[serde(default)]
    pub pre_score: Option<i64>,
    #[serde(default)]
    pub post_score: Option<i64>,
    #[serde(default)]
    pub behaviour: Option<i64>,
    #[serde(default)]
    pub result: Option<i64>,
}

pub async fn evaluate(tx: &mut Tx, principal: &Principal, session: i64, form: &EvaluationForm) -> Result<()> {
    principal.authorize(TRAINING_MANAGE)?;
    let company = principal.company_id.0;
    session_capacity(tx, company, session).await?;
    let mut p = Problems::default();
    let mut range = |field: &str, value: Option<i64>, low: i64, high: i64| {
        if value.is_some_and(|v| !(low..=high).contains(&v)) {
            p.add(field, "error.hr.score_range", format!("{low}–{high}"));
        }
    };
    range("reaction", form.reaction, 1, 5);
    range("pre_score", form.pre_score, 0, 100);
    range("post_score", form.post_score, 0, 100);
    range("behaviour", form.behaviour, 1, 5);
    range("result", form.result, 1, 5);
    p.finish()?;
    let completed = (form.attended && form.post_score.is_some()).then(|| tx.now().to_string());
    let changed = sqlx::query(
        "UPDATE hr_enrolments SET attended = $1, reaction = $2, pre_score = $3, post_score = $4, behaviour = $5, result = $6, \
           completed_at = CASE WHEN $7 IS NULL THEN NULL ELSE COALESCE(completed_at, $7) END WHERE session_id = $8 AND employee_id = $9",
    )
    .bind(i64::from(form.attended))
    .bind(form.reaction)
    .bind(form.pre_score)
    .bind(form.post_score)
    .bind(form.behaviour)
    .bind(form.result)
    .bind(completed)
    .bind(session)
    .bind(form.employee_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(DomainError::invalid("employee_id", "error.hr.not_enrolled", form.employee_id.to_string()).into());
    }
    tx.audit(
        "evaluate",
        "hr.training_session",
        Some(&session.to_string()),
        &json!({"employee_id": [null, form.employee_id], "attended": [null, form.attended], "post_score": [null, form.post_score]}),
    )
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub employee_id: i64,
    pub employee: String,
    pub attended: bool,
    pub reaction: Option<i64>,
    pub pre_score: Option<i64>,
    pub post_score: Option<i64>,
    pub behaviour: Option<i64>,
    pub result: Option<i64>,
    pub completed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: i64,
    pub course_id: i64,
    pub course: String,
    pub starts_on: String,
    pub trainer: String,
    pub capacity: i64,
    pub participants: Vec<Participant>,
}

pub async fn sessions(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Session>> {
    principal.authorize(EMPLOYEE_READ)?;
    let heads = sqlx::query(
        "SELECT s.id, s.course_id, c.code || ' ' || c.title AS course, s.starts_on, s.trainer, s.capacity FROM hr_sessions s \
         JOIN hr_courses c ON c.id = s.course_id WHERE s.company_id = $1 ORDER BY s.starts_on DESC, s.id DESC LIMIT 100",
    )
    .bind(principal.company_id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(heads.len());
    for h in &heads {
        let id: i64 = h.try_get("id")?;
        let participants = sqlx::query(
            "SELECT n.*, e.number || ' ' || p.name AS employee FROM hr_enrolments n JOIN hr_employees e ON e.id = n.employee_id \
             JOIN parties p ON p.id = e.party_id WHERE n.session_id = $1 ORDER BY e.number",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Participant {
                employee_id: r.try_get("employee_id")?,
                employee: r.try_get("employee")?,
                attended: r.try_get::<i64, _>("attended")? != 0,
                reaction: r.try_get("reaction")?,
                pre_score: r.try_get("pre_score")?,
                post_score: r.try_get("post_score")?,
                behaviour: r.try_get("behaviour")?,
                result: r.try_get("result")?,
                completed_at: r.try_get("completed_at")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        out.push(Session {
            id,
            course_id: h.try_get("course_id")?,
            course: h.try_get("course")?,
            starts_on: h.try_get("starts_on")?,
            trainer: h.try_get("trainer")?,
            capacity: h.try_get("capacity")?,
            participants,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Course {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub hours: i64,
}

pub async fn courses(conn: &mut db::Conn, company: i64) -> Result<Vec<Course>> {
    sqlx::query("SELECT id, code, title, hours FROM hr_courses WHERE company_id = $1 ORDER BY code")
        .bind(company)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Course {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                title: r.try_get("title")?,
                hours: r.try_get("hours")?,
            })
        })
        .collect()
}

/// Effectiveness of a course over all its sessions (averages in hundredths).
#[derive(Debug, Clone, Serialize)]
pub struct Effectiveness {
    pub course_id: i64,
    pub course: String,
    pub enrolled: i64,
    pub attended: i64,
    pub completed: i64,
    pub reaction_x100: Option<i64>,
    pub pre_x100: Option<i64>,
    pub post_x100: Option<i64>,
    /// Average gain of those with both scores: post − pre.
    pub gain_x100: Option<i64>,
    pub behaviour_x100: Option<i64>,
    pub result_x100: Option<i64>,
}

pub async fn effectiveness(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Effectiveness>> {
    principal.authorize(EMPLOYEE_READ)?;
    let rows = sqlx::query(
        "SELECT c.id, c.code || ' ' || c.title AS course, COUNT(n.employee_id) AS enrolled, \
           CAST(COALESCE(SUM(n.attended), 0) AS BIGINT) AS attended, \
           CAST(COALESCE(SUM(CASE WHEN n.completed_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed, \
           CAST(SUM(n.reaction) AS BIGINT) AS reaction_sum, COUNT(n.reaction) AS reaction_n, \
           CAST(SUM(n.pre_score) AS BIGINT) AS pre_sum, COUNT(n.pre_score) AS pre_n, \
           CAST(SUM(n.post_score) AS BIGINT) AS post_sum, COUNT(n.post_score) AS post_n, \
           CAST(SUM(CASE WHEN n.pre_score IS NOT NULL AND n.post_score IS NOT NULL THEN n.post_score - n.pre_score END) AS BIGINT) AS gain_sum, \
           COUNT(CASE WHEN n.pre_score IS NOT NULL AND n.post_score IS NOT NULL THEN 1 END) AS gain_n, \
           CAST(SUM(n.behaviour) AS BIGINT) AS behaviour_sum, COUNT(n.behaviour) AS behaviour_n, \
           CAST(SUM(n.result) AS BIGINT) AS result_sum, COUNT(n.result) AS result_n \
         FROM hr_courses c LEFT JOIN hr_sessions s ON s.course_id = c.id LEFT JOIN hr_enrolments n ON n.session_id = s.id \
         WHERE c.company_id = $1 GROUP BY c.id, c.code, c.title ORDER BY c.code",
    )
    .bind(principal.company_id.0)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let average = |sum: &str, n: &str| -> std::result::Result<Option<i64>, sqlx::Error> {
                let (sum, n): (Option<i64>, i64) = (r.try_get(sum)?, r.try_get(n)?);
                // Half away from zero, in hundredths.
                Ok(sum.filter(|_| n > 0).map(|s| s.signum() * ((s.abs() * 200 + n) / (2 * n))))
            };
            Ok(Effectiveness {
                course_id: r.try_get("id")?,
                course: r.try_get("course")?,
                enrolled: r.try_get("enrolled")?,
                attended: r.try_get("attended")?,
                completed: r.try_get("completed")?,
                reaction_x100: average("reaction_sum", "reaction_n")?,
                pre_x100: average("pre_sum", "pre_n")?,
                post_x100: average("post_sum", "post_n")?,
                gain_x100: average("gain_sum", "gain_n")?,
                behaviour_x100: average("behaviour_sum", "behaviour_n")?,
                result_x100: average("result_sum", "result_n")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// A training need: who, what for, and the course if a career step names one.
#[derive(Debug, Clone, Serialize)]
pub struct Need {
    pub employee_id: i64,
    pub employee: String,
    /// `performance` (latest final rating D or E) or `career` (a step's required course).
    pub reason: String,
    pub detail: String,
    pub course_id: Option<i64>,
}

pub async fn needs(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Need>> {
    principal.authorize(EMPLOYEE_READ)?;
    let company = principal.company_id.0;
    let mut out = Vec::new();
    for r in sqlx::query(
        "SELECT e.id, e.number || ' ' || p.name AS employee, \
           (SELECT v.rating FROM hr_reviews v WHERE v.employee_id = e.id AND v.status = 'final' ORDER BY v.finalised_at DESC, v.id DESC LIMIT 1) AS rating \
         FROM hr_employees e JOIN parties p ON p.id = e.party_id WHERE e.company_id = $1 AND e.status = 'active' ORDER BY e.number",
    )
    .bind(company)
    .fetch_all(&mut *conn)
    .await?
    {
        let rating: Option<String> = r.try_get("rating")?;
        // Ratings are for those who manage reviews: others do not learn of the gap.
        if !principal.may(crate::reviews::REVIEW_MANAGE) {
            break;
        }
        if let Some(rating) = rating.filter(|x| x == "D" || x == "E") {
            out.push(Need {
                employee_id: r.try_get("id")?,
                employee: r.try_get("employee")?,
                reason: "performance".into(),
                detail: rating,
                course_id: None,
            });
        }
    }
    for r in sqlx::query(
        "SELECT e.id, e.number || ' ' || p.name AS employee, c.id AS course_id, c.code || ' ' || c.title AS course \
         FROM hr_employees e JOIN parties p ON p.id = e.party_id \
         JOIN hr_career_steps s ON s.company_id = e.company_id AND s.from_position_id = e.position_id \
         JOIN hr_courses c ON c.id = s.required_course_id \
         WHERE e.company_id = $1 AND e.status = 'active' AND NOT EXISTS ( \
           SELECT 1 FROM hr_enrolments n JOIN hr_sessions x ON x.id = n.session_id \
           WHERE n.employee_id = e.id AND x.course_id = c.id AND n.completed_at IS NOT NULL) \
         ORDER BY e.number",
    )
    .bind(company)
    .fetch_all(&mut *conn)
    .await?
    {
        out.push(Need {
            employee_id: r.try_get("id")?,
            employee: r.try_get("employee")?,
            reason: "career".into(),
            detail: r.try_get("course")?,
            course_id: r.try_get("course_id")?,
        });
    }
    Ok(out)
}

// ---- The year's plan and its budget ----

/// A line of the year's training plan: a department is to train so many people on a course
/// within a budget (yuan).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanForm {
    pub year: i32,
    pub department_id: i64,
    pub course_id: i64,
    pub heads: i64,
    pub budget: String,
}

/// Adds a plan line, or replaces the one of the same year, department and course. Audited.
pub async fn plan(tx: &mut Tx, principal: &Principal, form: &PlanForm) -> Result<i64> {
    principal.authorize(TRAINING_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    if !(2000..=2100).contains(&form.year) {
        p.add("year", "error.hr.year", form.year.to_string());
    }
    for (field, table, id) in
        [("department_id", "hr_departments", form.department_id), ("course_id", "hr_courses", form.course_id)]
    {
        let known = sqlx::query(&format!("SELECT 1 FROM {table} WHERE company_id = $1 AND id = $2"))
            .bind(company)
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
        if known.is_none() {
            p.add(field, "error.hr.unknown", id.to_string());
        }
    }
    if !(1..=10_000).contains(&form.heads) {
        p.add("heads", "error.hr.heads", form.heads.to_string());
    }
    let budget = p.amount("budget", form.budget.trim());
    p.finish()?;
    let before = sqlx::query(
        "SELECT id, heads, budget FROM hr_training_plans WHERE company_id = $1 AND year = $2 AND department_id = $3 AND course_id = $4",
    )
    .bind(company)
    .bind(i64::from(form.year))
    .bind(form.department_id)
    .bind(form.course_id)
    .fetch_optional(tx.conn())
    .await?;
    let id: i64 = match &before {
        Some(row) => {
            let id: i64 = row.try_get("id")?;
            sqlx::query("UPDATE hr_training_plans SET heads = $1, budget = $2 WHERE id = $3")
                .bind(form.heads)
                .bind(budget)
                .bind(id)
                .execute(tx.conn())
                .await?;
            id
        }
        None => sqlx::query(
            "INSERT INTO hr_training_plans (company_id, year, department_id, course_id, heads, budget, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(company)
        .bind(i64::from(form.year))
        .bind(form.department_id)
        .bind(form.course_id)
        .bind(form.heads)
        .bind(budget)
        .bind(tx.now().to_string())
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?,
    };
    let was =
        |column: &str| -> Result<Option<i64>> { Ok(before.as_ref().map(|r| r.try_get::<i64, _>(column)).transpose()?) };
    tx.audit(
        if before.is_some() { "update" } else { "create" },
        "hr.training_plan",
        Some(&id.to_string()),
        &json!({"heads": [was("heads")?, form.heads], "budget": [was("budget")?, budget]}),
    )
    .await?;
    Ok(id)
}

/// A plan line against what happened: people of the department who attended a session of the
/// course that year, and the sessions' cost shared by their attendees. A course a department
/// trained on without a plan line shows with nothing planned.
#[derive(Debug, Clone, Serialize)]
pub struct PlanLine {
    pub department_id: i64,
    pub department: String,
    pub course_id: i64,
    pub course: String,
    pub heads: i64,
    pub trained: i64,
    /// Fen.
    pub budget: i64,
    pub spent: i64,
}

pub async fn plan_lines(conn: &mut db::Conn, principal: &Principal, year: i32) -> Result<Vec<PlanLine>> {
    principal.authorize(EMPLOYEE_READ)?;
    let company = principal.company_id.0;
    let mut lines: Vec<PlanLine> = Vec::new();
    for r in sqlx::query(
        "SELECT l.department_id, d.name AS department, l.course_id, c.code || ' ' || c.title AS course, l.heads, l.budget \
         FROM hr_training_plans l JOIN hr_departments d ON d.id = l.department_id JOIN hr_courses c ON c.id = l.course_id \
         WHERE l.company_id = $1 AND l.year = $2 ORDER BY d.code, c.code",
    )
    .bind(company)
    .bind(i64::from(year))
    .fetch_all(&mut *conn)
    .await?
    {
        lines.push(PlanLine {
            department_id: r.try_get("department_id")?,
            department: r.try_get("department")?,
            course_id: r.try_get("course_id")?,
            course: r.try_get("course")?,
            heads: r.try_get("heads")?,
            trained: 0,
            budget: r.try_get("budget")?,
            spent: 0,
        });
    }
    // Each attended seat of the year's sessions, with the session's cost and its number of
    // attendees: a seat's share of the cost is cost ÷ attendees.
    let seats = sqlx::query(
        "SELECT s.id AS session, s.course_id, c.code || ' ' || c.title AS course, s.cost, e.id AS employee, e.department_id, d.name AS department, \
           (SELECT COUNT(*) FROM hr_enrolments x WHERE x.session_id = s.id AND x.attended = 1) AS attendees \
         FROM hr_sessions s JOIN hr_courses c ON c.id = s.course_id JOIN hr_enrolments n ON n.session_id = s.id \
           JOIN hr_employees e ON e.id = n.employee_id JOIN hr_departments d ON d.id = e.department_id \
         WHERE s.company_id = $1 AND n.attended = 1 AND s.starts_on >= $2 AND s.starts_on < $3 ORDER BY s.id, e.id",
    )
    .bind(company)
    .bind(format!("{year:04}-01-01"))
    .bind(format!("{:04}-01-01", year + 1))
    .fetch_all(&mut *conn)
    .await?;
    // Cost per (session, department) first, rounded once, so shares add up per department.
    let mut shares: HashMap<(i64, i64), (i64, i64, i64)> = HashMap::new();
    let mut trained: HashMap<(i64, i64), std::collections::HashSet<i64>> = HashMap::new();
    for r in &seats {
        let (session, course, department): (i64, i64, i64) =
            (r.try_get("session")?, r.try_get("course_id")?, r.try_get("department_id")?);
        if !lines.iter().any(|l| l.department_id == department && l.course_id == course) {
            lines.push(PlanLine {
                department_id: department,
                department: r.try_get("department")?,
                course_id: course,
                course: r.try_get("course")?,
                heads: 0,
                trained: 0,
                budget: 0,
                spent: 0,
            });
        }
        let entry = shares.entry((session, department)).or_insert((0, r.try_get("cost")?, r.try_get("attendees")?));
        entry.0 += 1;
        trained.entry((course, department)).or_default().insert(r.try_get("employee")?);
    }
    let course_of: HashMap<i64, i64> = seats
        .iter()
        .map(|r| Ok((r.try_get("session")?, r.try_get("course_id")?)))
        .collect::<std::result::Result<_, sqlx::Error>>()?;
    for line in &mut lines {
        line.trained = trained.get(&(line.course_id, line.department_id)).map_or(0, |s| s.len() as i64);
        line.spent = shares
            .iter()
            .filter(|((session, department), _)| {
                *department == line.department_id && course_of.get(session) == Some(&line.course_id)
            })
            .map(|(_, (seats, cost, attendees))| (cost * seats * 2 + attendees) / (attendees * 2))
            .sum();
    }
    Ok(lines)
}

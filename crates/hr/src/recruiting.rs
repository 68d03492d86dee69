//! Recruiting: a requisition → a job posting published at a secret address with an
//! application form (résumé text and an optional file, size- and type-limited) → candidates
//! (parties with the candidate role; a person applying again is matched by mobile and stays
//! one party) → screening (a score from required keywords, years of experience and education,
//! explained line by line) → assessments and interviews with scorecards → offer → hire, which
//! makes the candidate an employee and fills the requisition. The funnel per posting counts
//! each stage reached and the average days from application to hire.

use crate::domain::{self, EDUCATION};
use crate::org::{self, HireForm, EMPLOYEE_MANAGE};
use crate::planning::{PLAN_MANAGE, PLAN_READ};
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Stages in order; `rejected` leaves the funnel at any point.
pub const STAGES: [&str; 5] = ["applied", "screened", "interview", "offered", "hired"];
/// The largest résumé file taken, and the kinds: PDF, Word and plain text.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// Résumé file bytes a company stores from the public form in any 24 hours (200 MB).
pub const RESUME_BYTES_PER_DAY: i64 = 200 * 1024 * 1024;
pub const FILE_TYPES: [(&str, &str); 4] = [
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("doc", "application/msword"),
    ("txt", "text/plain"),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingForm {
    pub requisition_id: i64,
    pub title: String,
    pub description: String,
    /// Required keywords, separated by commas.
    #[serde(default)]
    pub keywords: String,
    #[serde(default)]
    pub min_years: i64,
    /// One of [`EDUCATION`], or empty for any.
    #[serde(default)]
    pub education: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Posting {
    pub id: i64,
    pub number: String,
    pub requisition_id: i64,
    pub token: String,
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub min_years: i64,
    pub education: String,
    pub status: String,
    /// Applications that reached each of [`STAGES`].
    pub funnel: [i64; 5],
    pub rejected: i64,
    /// Average whole days from application to hire, of those hired.
    pub days_to_hire: Option<i64>,
}

fn keyword_list(text: &str) -> Vec<String> {
    text.split([',', '，', ';', '；']).map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect()
}

pub async fn create_posting(tx: &mut Tx, principal: &Principal, form: &PostingForm) -> Result<i64> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let requisition = sqlx::query("SELECT status FROM hr_requisitions WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(form.requisition_id)
        .fetch_optional(tx.conn())
        .await?;
    if requisition.map(|r| r.try_get::<String, _>("status")).transpose()?.as_deref() != Some("approved") {
        p.add("requisition_id", "error.hr.requisition", form.requisition_id.to_string());
    }
    if form.title.trim().is_empty() || form.title.chars().count() > 200 {
        p.add("title", "error.required", "");
    }
    if form.description.trim().is_empty() || form.description.chars().count() > 10_000 {
        p.add("description", "error.required", "");
    }
    let keywords = keyword_list(&form.keywords);
    if keywords.len() > 20 {
        p.add("keywords", "error.hr.keywords", keywords.len().to_string());
    }
    if !(0..=40).contains(&form.min_years) {
        p.add("min_years", "error.hr.years", form.min_years.to_string());
    }
    if !form.education.is_empty() && !EDUCATION.contains(&form.education.as_str()) {
        p.add("education", "error.hr.education", &form.education);
    }
    p.finish()?;
    let year =
        chrono::Datelike::year(&chrono::NaiveDate::parse_from_str(&tx.now()[..10], "%Y-%m-%d").unwrap_or_default());
    let number = tx.next_number(company, "posting", year, "JOB/{year}/{seq:03}").await?;
    let token = web::accounts::random_hex(16);
    let id: i64 = sqlx::query(
        "INSERT INTO hr_postings (company_id, number, requisition_id, token, title, description, keywords, min_years, education, status, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(form.requisition_id)
    .bind(&token)
    .bind(form.title.trim())
    .bind(form.description.trim())
    .bind(keywords.join(","))
    .bind(form.min_years)
    .bind(&form.education)
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "hr.posting",
        Some(&id.to_string()),
        &json!({"number": [null, number], "requisition_id": [null, form.requisition_id]}),
    )
    .await?;
    Ok(id)
}

const POSTING_COLUMNS: &str =
    "id, number, requisition_id, token, title, description, keywords, min_years, education, status, company_id";

fn posting_of(r: &db::Row) -> std::result::Result<Posting, sqlx::Error> {
    Ok(Posting {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        requisition_id: r.try_get("requisition_id")?,
        token: r.try_get("token")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        keywords: keyword_list(&r.try_get::<String, _>("keywords")?),
        min_years: r.try_get("min_years")?,
        education: r.try_get("education")?,
        status: r.try_get("status")?,
        funnel: [0; 5],
        rejected: 0,
        days_to_hire: None,
    })
}

/// The postings with their funnels.
pub async fn postings(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Posting>> {
    principal.authorize(PLAN_READ)?;
    let rows = sqlx::query(&format!(
        "SELECT {POSTING_COLUMNS} FROM hr_postings WHERE company_id = $1 ORDER BY id DESC LIMIT 200"
    ))
    .bind(principal.company_id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<Posting> = rows.iter().map(posting_of).collect::<std::result::Result<_, _>>()?;
    // The listed postings' applications in one read, not one per posting.
    let mut apps: std::collections::HashMap<i64, Vec<sqlx::any::AnyRow>> = std::collections::HashMap::new();
    if !out.is_empty() {
        let mut q = db::SqlBuilder::new(
            "SELECT posting_id, stage, rejected_at_stage, applied_at, hired_at FROM hr_applications WHERE posting_id IN (",
        );
        for (i, posting) in out.iter().enumerate() {
            q.push(if i == 0 { "" } else { ", " }).bind(posting.id);
        }
        q.push(")");
        for a in q.build().fetch_all(&mut *conn).await? {
            apps.entry(a.try_get("posting_id")?).or_default().push(a);
        }
    }
    for posting in &mut out {
        let mut days = Vec::new();
        for a in apps.remove(&posting.id).unwrap_or_default() {
            let mut stage: String = a.try_get("stage")?;
            // A stage reached counts for every stage before it; a rejection counts for the
            // stage it had reached.
            if stage == "rejected" {
                posting.rejected += 1;
                stage = a.try_get::<Option<String>, _>("rejected_at_stage")?.unwrap_or_else(|| "applied".into());
            }
            let reached = STAGES.iter().position(|s| *s == stage).unwrap_or(0);
            for count in posting.funnel.iter_mut().take(reached + 1) {
                *count += 1;
            }
            if let Some(hired) = a.try_get::<Option<String>, _>("hired_at")? {
                let applied: String = a.try_get("applied_at")?;
                let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
                if let (Some(a), Some(h)) = (parse(&applied), parse(&hired)) {
                    days.push((h - a).num_days());
                }
            }
        }
        if !days.is_empty() {
            posting.days_to_hire = Some(days.iter().sum::<i64>() / days.len() as i64);
        }
    }
    Ok(out)
}

/// The open posting behind a public address, if any.
pub async fn public_posting(conn: &mut db::Conn, token: &str) -> Result<Option<(i64, Posting)>> {
    let row = sqlx::query(&format!("SELECT {POSTING_COLUMNS} FROM hr_postings WHERE token = $1 AND status = 'open'"))
        .bind(token)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("company_id")?, posting_of(&r)?)),
        None => None,
    })
}

/// An application as the public form sends it. The file comes apart (multipart).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    pub name: String,
    pub mobile: String,
    #[serde(default)]
    pub email: String,
    pub years: String,
    #[serde(default)]
    pub education: String,
    #[serde(default)]
    pub resume: String,
    /// A honeypot field humans never see; filled in, the submission is dropped.
    #[serde(default)]
    pub website: String,
}

/// A résumé file as uploaded.
pub struct ResumeFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Whether the bytes are what their name says: a PDF starts `%PDF`, a .docx is a zip, a .doc
/// an OLE file, a .txt valid UTF-8 text.
fn file_kind(file: &ResumeFile) -> Option<&'static str> {
    let extension = file.name.rsplit('.').next().unwrap_or("").to_lowercase();
    let (kind, _) = FILE_TYPES.iter().find(|(kind, _)| *kind == extension)?;
    let ok = match *kind {
        "pdf" => file.bytes.starts_with(b"%PDF"),
        "docx" => file.bytes.starts_with(b"PK\x03\x04"),
        "doc" => file.bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]),
        _ => std::str::from_utf8(&file.bytes).is_ok(),
    };
    ok.then_some(*kind)
}

/// Records an application from the public form: checks everything, matches or makes the
/// candidate, screens the résumé. Returns the application id.
pub async fn apply(
    tx: &mut Tx,
    company: i64,
    posting: &Posting,
    form: &ApplicationForm,
    file: Option<&ResumeFile>,
) -> Result<i64> {
    let mut p = Problems::default();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        p.add("name", "error.required", "");
    }
    let mobile = p.check(kernel::identifiers::mobile("mobile", &form.mobile));
    let email = match form.email.trim() {
        "" => String::new(),
        e => p.check(kernel::identifiers::email("email", e)).unwrap_or_default(),
    };
    let years = match form.years.trim().parse::<i64>() {
        Ok(y) if (0..=60).contains(&y) => y,
        _ => {
            p.add("years", "error.hr.years", form.years.trim());
            0
        }
    };
    if !form.education.is_empty() && !EDUCATION.contains(&form.education.as_str()) {
        p.add("education", "error.hr.education", &form.education);
    }
    if form.resume.chars().count() > 20_000 {
        p.add("resume", "error.too_long", "20000");
    }
    let kind = match file {
        Some(f) if f.bytes.len() > MAX_FILE_BYTES => {
            p.add("file", "error.hr.file_size", (MAX_FILE_BYTES / 1024 / 1024).to_string());
            None
        }
        Some(f) => match file_kind(f) {
            Some(kind) => Some(kind),
            None => {
                p.add("file", "error.hr.file_type", f.name.chars().take(100).collect::<String>());
                None
            }
        },
        None => None,
    };
    if form.resume.trim().is_empty() && file.is_none() {
        p.add("resume", "error.hr.resume", "");
    }
    // Files arrive from anyone: a day's stored résumé bytes per company are capped, so a
    // flood of uploads cannot fill the disk (the typed résumé is still taken).
    if let (Some(f), Some(_)) = (file, kind) {
        let since = chrono::DateTime::parse_from_rfc3339(tx.now())
            .map(|at| (at - chrono::Duration::days(1)).to_utc())
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let stored: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(file_size), 0) AS BIGINT) AS n FROM hr_applications WHERE company_id = $1 AND applied_at >= $2",
        )
        .bind(company)
        .bind(kernel::clock::format_instant(since))
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
        if stored + f.bytes.len() as i64 > RESUME_BYTES_PER_DAY {
            p.add("file", "error.hr.resume_storage", "");
        }
    }
    p.finish()?;
    let mobile = mobile.unwrap_or_default();
    // The same person applying again stays one party: matched by mobile and name, and only
    // among candidates who are not employees — an anonymous form never points at (or changes)
    // a customer's, a contact's or an employee's record.
    let existing = sqlx::query(
        "SELECT p.id FROM parties p JOIN party_contacts c ON c.party_id = p.id \
         JOIN party_roles r ON r.party_id = p.id AND r.role = 'candidate' \
         WHERE p.company_id = $1 AND p.kind = 'person' AND c.kind = 'mobile' AND c.value = $2 AND p.name = $3 \
           AND NOT EXISTS (SELECT 1 FROM hr_employees e WHERE e.party_id = p.id) ORDER BY p.id LIMIT 1",
    )
    .bind(company)
    .bind(&mobile)
    .bind(name)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.try_get::<i64, _>("id"))
    .transpose()?;
    let party = match existing {
        Some(party) => {
            sqlx::query("INSERT INTO party_roles (party_id, role) VALUES ($1, 'candidate') ON CONFLICT (party_id, role) DO NOTHING")
                .bind(party)
                .execute(tx.conn())
                .await?;
            party
        }
        None => {
            let mut contacts =
                vec![party::domain::Contact { kind: "mobile".into(), value: mobile.clone(), label: String::new() }];
            if !email.is_empty() {
                contacts.push(party::domain::Contact {
                    kind: "email".into(),
                    value: email.clone(),
                    label: String::new(),
                });
            }
            let person = party::domain::validate(&party::domain::PartyForm {
                kind: "person".into(),
                name: name.to_string(),
                roles: vec!["candidate".into()],
                contacts,
                ..Default::default()
            })?;
            party::service::record_new(tx, company, &person, None).await?
        }
    };
    let repeat_of =
        sqlx::query("SELECT id FROM hr_applications WHERE posting_id = $1 AND party_id = $2 ORDER BY id LIMIT 1")
            .bind(posting.id)
            .bind(party)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get::<i64, _>("id"))
            .transpose()?;
    // The words of a text or Word file count for screening too.
    let mut text = form.resume.trim().to_string();
    if let Some(words) = kind.zip(file).and_then(|(kind, f)| crate::resume_text::extract(kind, &f.bytes)) {
        text.push('\n');
        text.push_str(&words);
    }
    let (score, why) =
        domain::screen(&text, years, &form.education, &posting.keywords, posting.min_years, &posting.education);
    let id: i64 = sqlx::query(
        "INSERT INTO hr_applications (company_id, posting_id, party_id, name, mobile, email, years, education, resume_text, file_name, file_type, file_size, \
           file_base64, score, explanation, repeat_of, stage, applied_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'applied', $17) RETURNING id",
    )
    .bind(company)
    .bind(posting.id)
    .bind(party)
    .bind(name)
    .bind(&mobile)
    .bind(&email)
    .bind(years)
    .bind(&form.education)
    .bind(form.resume.trim())
    .bind(file.map(|f| f.name.chars().take(200).collect::<String>()))
    .bind(kind.and_then(|k| FILE_TYPES.iter().find(|(x, _)| *x == k)).map(|(_, t)| t.to_string()))
    .bind(file.map(|f| f.bytes.len() as i64))
    .bind(file.map(|f| db::stored_file::to_column(&f.bytes)))
    .bind(score)
    .bind(serde_json::to_string(&why).unwrap_or_else(|_| "[]".into()))
    .bind(repeat_of)
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "hr.application",
        Some(&id.to_string()),
        &json!({"posting_id": [null, posting.id], "score": [null, score]}),
    )
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize)]
pub struct Interview {
    pub kind: String,
    pub interviewer: String,
    pub score: i64,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub id: i64,
    pub posting_id: i64,
    pub party_id: i64,
    pub name: String,
    pub mobile: String,
    pub email: String,
    pub years: i64,
    pub education: String,
    pub score: i64,
    /// How the score was reached, line by line.
    pub explanation: Vec<String>,
    pub repeat_of: Option<i64>,
    pub stage: String,
    pub has_file: bool,
    pub applied_at: String,
    pub employee_id: Option<i64>,
    pub interviews: Vec<Interview>,
    /// The stage a rejected application had reached.
    pub rejected_at_stage: Option<String>,
    /// The offer's status (open, accepted, declined, withdrawn), when one was made.
    pub offer_status: Option<String>,
}

/// A posting's candidates, best score first.
pub async fn candidates(conn: &mut db::Conn, principal: &Principal, posting: Option<i64>) -> Result<Vec<Candidate>> {
    principal.authorize(PLAN_READ)?;
    let mut q = db::SqlBuilder::new(
        "SELECT a.id, a.posting_id, a.party_id, a.name, a.mobile, a.email, a.years, a.education, a.score, a.explanation, a.repeat_of, a.stage, \
           a.file_name, a.applied_at, a.employee_id, a.rejected_at_stage, o.status AS offer_status \
         FROM hr_applications a LEFT JOIN hr_offers o ON o.application_id = a.id WHERE a.company_id = ",
    );
    q.bind(principal.company_id.0);
    if let Some(posting) = posting {
        q.push(" AND a.posting_id = ").bind(posting);
    }
    q.push(" ORDER BY a.score DESC, a.id LIMIT 500");
    let rows = q.build().fetch_all(&mut *conn).await?;
    // The listed applications' scorecards in one read, not one per candidate.
    let mut interviews: std::collections::HashMap<i64, Vec<Interview>> = std::collections::HashMap::new();
    if !rows.is_empty() {
        let mut q = db::SqlBuilder::new(
            "SELECT application_id, kind, interviewer, score, notes FROM hr_interviews WHERE application_id IN (",
        );
        for (i, r) in rows.iter().enumerate() {
            q.push(if i == 0 { "" } else { ", " }).bind(r.try_get::<i64, _>("id")?);
        }
        q.push(") ORDER BY id");
        for i in q.build().fetch_all(&mut *conn).await? {
            interviews.entry(i.try_get("application_id")?).or_default().push(Interview {
                kind: i.try_get("kind")?,
                interviewer: i.try_get("interviewer")?,
                score: i.try_get("score")?,
                notes: i.try_get("notes")?,
            });
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        let interviews = interviews.remove(&id).unwrap_or_default();
        let explanation: String = r.try_get("explanation")?;
        out.push(Candidate {
            id,
            posting_id: r.try_get("posting_id")?,
            party_id: r.try_get("party_id")?,
            name: r.try_get("name")?,
            mobile: r.try_get("mobile")?,
            email: r.try_get("email")?,
            years: r.try_get("years")?,
            education: r.try_get("education")?,
            score: r.try_get("score")?,
            explanation: serde_json::from_str(&explanation).unwrap_or_default(),
            repeat_of: r.try_get("repeat_of")?,
            stage: r.try_get("stage")?,
            has_file: r.try_get::<Option<String>, _>("file_name")?.is_some(),
            applied_at: r.try_get("applied_at")?,
            employee_id: r.try_get("employee_id")?,
            interviews,
            rejected_at_stage: r.try_get("rejected_at_stage")?,
            offer_status: r.try_get("offer_status")?,
        });
    }
    Ok(out)
}

async fn application_stage(tx: &mut Tx, company: i64, id: i64) -> Result<String> {
    Ok(sqlx::query("SELECT stage FROM hr_applications WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("application"))?
        .try_get("stage")?)
}

/// Moves an application forward one stage at a time up to the interviews, or rejects it
/// (remembering the stage it had reached; an open offer is withdrawn).
pub async fn advance(tx: &mut Tx, principal: &Principal, id: i64, to: &str) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let stage = application_stage(tx, company, id).await?;
    let from = STAGES.iter().position(|s| *s == stage);
    // An offer is made with its terms (`make_offer`), not by a bare change of stage.
    let allowed = match to {
        "rejected" => stage != "hired" && stage != "rejected",
        "screened" | "interview" => from.is_some_and(|f| STAGES.get(f + 1) == Some(&to)),
        _ => false,
    };
    if !allowed {
        return Err(db::document::wrong_status(&stage));
    }
    if to == "rejected" {
        sqlx::query(
            "UPDATE hr_offers SET status = 'withdrawn', answered_at = $1 WHERE application_id = $2 AND status = 'open'",
        )
        .bind(tx.now().to_string())
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query("UPDATE hr_applications SET stage = $1, rejected_at_stage = CASE WHEN $1 = 'rejected' THEN stage ELSE NULL END WHERE id = $2")
        .bind(to)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit("stage", "hr.application", Some(&id.to_string()), &json!({"stage": [stage, to]})).await
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterviewForm {
    /// assessment or interview.
    pub kind: String,
    pub interviewer: String,
    /// 1–5.
    pub score: i64,
    #[serde(default)]
    pub notes: String,
}

/// A scorecard from an assessment or an interview.
pub async fn record_interview(tx: &mut Tx, principal: &Principal, id: i64, form: &InterviewForm) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let stage = application_stage(tx, principal.company_id.0, id).await?;
    if stage != "interview" {
        return Err(db::document::wrong_status(&stage));
    }
    let mut p = Problems::default();
    if form.kind != "assessment" && form.kind != "interview" {
        p.add("kind", "error.hr.interview_kind", &form.kind);
    }
    if form.interviewer.trim().is_empty() || form.interviewer.chars().count() > 100 {
        p.add("interviewer", "error.required", "");
    }
    if !(1..=5).contains(&form.score) {
        p.add("score", "error.hr.score_range", "1–5");
    }
    p.finish()?;
    sqlx::query("INSERT INTO hr_interviews (application_id, kind, interviewer, score, notes, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(&form.kind)
        .bind(form.interviewer.trim())
        .bind(form.score)
        .bind(form.notes.trim())
        .bind(tx.now().to_string())
        .execute(tx.conn())
        .await?;
    tx.audit("interview", "hr.application", Some(&id.to_string()), &json!({"score": [null, form.score]})).await
}

/// The terms an offered candidate is hired on; who they are and where they sit come from the
/// application and its requisition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HireTerms {
    /// Empty: the accepted offer's start date.
    #[serde(default)]
    pub hire_date: String,
    /// Empty: the accepted offer's pay.
    #[serde(default)]
    pub base_salary: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub contract_kind: String,
    #[serde(default)]
    pub contract_end: String,
    #[serde(default)]
    pub manager_id: Option<i64>,
    #[serde(default)]
    pub additional_deductions: String,
    #[serde(default)]
    pub target_bonus: String,
    #[serde(default)]
    pub bank_name: String,
    #[serde(default)]
    pub bank_account: String,
}

/// Hires a candidate who accepted their offer: the employee is made from their party, in
/// the posting's requisition's department and position, on the offer's terms (what the form
/// types instead wins), and fills it; the last head closes the posting.
pub async fn hire(tx: &mut Tx, principal: &Principal, id: i64, typed: &HireTerms) -> Result<i64> {
    let terms = typed;
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let row = sqlx::query(
        "SELECT a.stage, a.party_id, a.name, a.mobile, a.posting_id, r.id AS requisition_id, r.department_id, r.position_id \
         FROM hr_applications a JOIN hr_postings s ON s.id = a.posting_id JOIN hr_requisitions r ON r.id = s.requisition_id \
         WHERE a.company_id = $1 AND a.id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("application"))?;
    let stage: String = row.try_get("stage")?;
    if stage != "offered" {
        return Err(db::document::wrong_status(&stage));
    }
    // The accepted offer's terms are the hire's unless the form says otherwise.
    let offer = sqlx::query(
        "SELECT status, base_salary, target_bonus, start_date, contract_kind, contract_end FROM hr_offers WHERE application_id = $1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    let Some(offer) = offer else {
        return Err(DomainError::invalid("stage", "error.hr.offer_not_accepted", "—").into());
    };
    let offer_status: String = offer.try_get("status")?;
    if offer_status != "accepted" {
        return Err(DomainError::invalid("stage", "error.hr.offer_not_accepted", offer_status).into());
    }
    let or_offer = |typed: &str, offered: String| if typed.trim().is_empty() { offered } else { typed.to_string() };
    let offered_bonus: i64 = offer.try_get("target_bonus")?;
    let terms = HireTerms {
        hire_date: or_offer(&terms.hire_date, offer.try_get("start_date")?),
        base_salary: or_offer(&terms.base_salary, finance::domain::yuan(offer.try_get("base_salary")?)),
        contract_kind: or_offer(&terms.contract_kind, offer.try_get("contract_kind")?),
        contract_end: or_offer(
            &terms.contract_end,
            offer.try_get::<Option<String>, _>("contract_end")?.unwrap_or_default(),
        ),
        target_bonus: or_offer(
            &terms.target_bonus,
            if offered_bonus == 0 { String::new() } else { finance::domain::yuan(offered_bonus) },
        ),
        ..terms.clone()
    };
    let requisition: i64 = row.try_get("requisition_id")?;
    let form = HireForm {
        name: row.try_get("name")?,
        mobile: row.try_get("mobile")?,
        department_id: row.try_get("department_id")?,
        position_id: row.try_get("position_id")?,
        requisition_id: Some(requisition),
        party_id: Some(row.try_get("party_id")?),
        hire_date: terms.hire_date.clone(),
        base_salary: terms.base_salary.clone(),
        id_number: terms.id_number.clone(),
        contract_kind: terms.contract_kind.clone(),
        contract_end: terms.contract_end.clone(),
        manager_id: terms.manager_id,
        additional_deductions: terms.additional_deductions.clone(),
        target_bonus: terms.target_bonus.clone(),
        bank_name: terms.bank_name.clone(),
        bank_account: terms.bank_account.clone(),
        ..Default::default()
    };
    let employee = org::hire(tx, principal, &form).await?;
    sqlx::query("UPDATE hr_applications SET stage = 'hired', hired_at = $1, employee_id = $2 WHERE id = $3")
        .bind(tx.now().to_string())
        .bind(employee)
        .bind(id)
        .execute(tx.conn())
        .await?;
    let posting: i64 = row.try_get("posting_id")?;
    sqlx::query(
        "UPDATE hr_postings SET status = 'closed' WHERE id = $1 AND EXISTS (SELECT 1 FROM hr_requisitions WHERE id = $2 AND status = 'filled')",
    )
    .bind(posting)
    .bind(requisition)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "hire",
        "hr.application",
        Some(&id.to_string()),
        &json!({"stage": [stage, "hired"], "employee_id": [null, employee]}),
    )
    .await?;
    Ok(employee)
}

/// The résumé file of an application: name, type and bytes.
pub async fn resume_file(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<(String, String, Vec<u8>)> {
    principal.authorize(PLAN_READ)?;
    let row =
        sqlx::query("SELECT file_name, file_type, file_base64 FROM hr_applications WHERE company_id = $1 AND id = $2")
            .bind(principal.company_id.0)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .ok_or(DomainError::NotFound("application"))?;
    let (name, kind, data): (Option<String>, Option<String>, Option<String>) =
        (row.try_get("file_name")?, row.try_get("file_type")?, row.try_get("file_base64")?);
    let (Some(name), Some(kind), Some(data)) = (name, kind, data) else {
        return Err(DomainError::NotFound("file").into());
    };
    let bytes = db::stored_file::from_column(&data)?;
    Ok((name, kind, bytes))
}

// ---- Offers ----

/// An offer's terms as typed: pay in yuan, dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferForm {
    pub base_salary: String,
    #[serde(default)]
    pub target_bonus: String,
    pub start_date: String,
    pub expires_on: String,
    /// open or fixed (with its end).
    pub contract_kind: String,
    #[serde(default)]
    pub contract_end: String,
    #[serde(default)]
    pub notes: String,
}

/// An offer with the application, posting and company it belongs to, for the letter.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub application_id: i64,
    pub candidate: String,
    pub title: String,
    pub department: String,
    pub position: String,
    pub company: String,
    pub base_salary: i64,
    pub target_bonus: i64,
    pub start_date: String,
    pub expires_on: String,
    pub contract_kind: String,
    pub contract_end: Option<String>,
    pub notes: String,
    /// open, accepted or declined.
    pub status: String,
    pub created_at: String,
    pub answered_at: Option<String>,
}

/// Makes an offer to a candidate after their interviews: the application moves to `offered`
/// with the offer's terms, which the letter prints and the hire takes.
pub async fn make_offer(tx: &mut Tx, principal: &Principal, id: i64, form: &OfferForm) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let stage = application_stage(tx, company, id).await?;
    if stage != "interview" {
        return Err(db::document::wrong_status(&stage));
    }
    let today = crate::china_today(tx)?;
    let mut p = Problems::default();
    let salary = p.amount("base_salary", form.base_salary.trim());
    if salary == 0 && !p.0.iter().any(|e| e.field == "base_salary") {
        p.add("base_salary", "error.hr.salary", form.base_salary.trim());
    }
    let bonus =
        if form.target_bonus.trim().is_empty() { 0 } else { p.amount("target_bonus", form.target_bonus.trim()) };
    let start = p.check(kernel::dates::parse("start_date", &form.start_date));
    let expires = p.check(kernel::dates::parse("expires_on", &form.expires_on));
    if let Some(e) = expires {
        if e < today {
            p.add("expires_on", "error.hr.offer_expiry", e.to_string());
        }
        if start.is_some_and(|s| e > s) {
            p.add("expires_on", "error.hr.offer_after_start", e.to_string());
        }
    }
    let contract_end = match form.contract_kind.as_str() {
        "open" => None,
        "fixed" => {
            let end = p.check(kernel::dates::parse("contract_end", &form.contract_end));
            if let (Some(s), Some(e)) = (start, end) {
                if e <= s {
                    p.add("contract_end", "error.hr.contract_end", e.to_string());
                }
            }
            end
        }
        other => {
            p.add("contract_kind", "error.hr.contract_kind", other);
            None
        }
    };
    if form.notes.chars().count() > 2_000 {
        p.add("notes", "error.too_long", "2000");
    }
    p.finish()?;
    let (Some(start), Some(expires)) = (start, expires) else {
        return Err(DomainError::Internal("checked above".into()).into());
    };
    sqlx::query(
        "INSERT INTO hr_offers (application_id, company_id, base_salary, target_bonus, start_date, expires_on, contract_kind, contract_end, notes, status, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11)",
    )
    .bind(id)
    .bind(company)
    .bind(salary)
    .bind(bonus)
    .bind(start.to_string())
    .bind(expires.to_string())
    .bind(&form.contract_kind)
    .bind(contract_end.map(|d| d.to_string()))
    .bind(form.notes.trim())
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .execute(tx.conn())
    .await?;
    let moved = sqlx::query("UPDATE hr_applications SET stage = 'offered' WHERE id = $1 AND stage = 'interview'")
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if moved != 1 {
        return Err(db::document::wrong_status(&stage));
    }
    // The audit chain records that an offer was made and until when, not the pay.
    tx.audit(
        "offer",
        "hr.application",
        Some(&id.to_string()),
        &json!({"stage": [stage, "offered"], "offer_expires_on": [null, expires.to_string()]}),
    )
    .await
}

/// Records the candidate's answer. An offer past its date can no longer be accepted; a
/// declined offer rejects the application (remembering it reached the offer).
pub async fn answer_offer(tx: &mut Tx, principal: &Principal, id: i64, accepted: bool) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let row = sqlx::query("SELECT status, expires_on FROM hr_offers WHERE company_id = $1 AND application_id = $2")
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("offer"))?;
    let (status, expires): (String, String) = (row.try_get("status")?, row.try_get("expires_on")?);
    if status != "open" {
        return Err(db::document::wrong_status(&status));
    }
    if accepted && crate::china_today(tx)?.to_string() > expires {
        return Err(DomainError::invalid("expires_on", "error.hr.offer_expired", expires).into());
    }
    let answer = if accepted { "accepted" } else { "declined" };
    sqlx::query("UPDATE hr_offers SET status = $1, answered_at = $2 WHERE application_id = $3 AND status = 'open'")
        .bind(answer)
        .bind(tx.now().to_string())
        .bind(id)
        .execute(tx.conn())
        .await?;
    if !accepted {
        sqlx::query("UPDATE hr_applications SET stage = 'rejected', rejected_at_stage = 'offered' WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.audit("offer_answer", "hr.application", Some(&id.to_string()), &json!({"offer": ["open", answer]})).await
}

/// The offer of an application, with what its letter prints.
pub async fn offer(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Offer> {
    principal.authorize(PLAN_READ)?;
    let r = sqlx::query(
        "SELECT o.*, a.name AS candidate, s.title, d.name AS department, ps.title AS position, c.legal_name AS company \
         FROM hr_offers o JOIN hr_applications a ON a.id = o.application_id JOIN hr_postings s ON s.id = a.posting_id \
         JOIN hr_requisitions r ON r.id = s.requisition_id JOIN hr_departments d ON d.id = r.department_id \
         JOIN hr_positions ps ON ps.id = r.position_id JOIN companies c ON c.id = o.company_id \
         WHERE o.company_id = $1 AND o.application_id = $2",
    )
    .bind(principal.company_id.0)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("offer"))?;
    Ok(Offer {
        application_id: id,
        candidate: r.try_get("candidate")?,
        title: r.try_get("title")?,
        department: r.try_get("department")?,
        position: r.try_get("position")?,
        company: r.try_get("company")?,
        base_salary: r.try_get("base_salary")?,
        target_bonus: r.try_get("target_bonus")?,
        start_date: r.try_get("start_date")?,
        expires_on: r.try_get("expires_on")?,
        contract_kind: r.try_get("contract_kind")?,
        contract_end: r.try_get("contract_end")?,
        notes: r.try_get("notes")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        answered_at: r.try_get("answered_at")?,
    })
}

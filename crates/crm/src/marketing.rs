//! Marketing: segments and campaigns. A segment is a saved rule over real data — spend in the
//! last twelve months (the current calendar month and the eleven before it; posted customer
//! invoices less credit notes, VAT included, as `finance::spend` keeps them per customer), region
//! (province or city of an address), tag, no confirmed order since a date — evaluated live by
//! one query each time it is read, so its members are always today's. A campaign (code, channel,
//! budget, period, target segment) is launched once: its segment's members are recorded as
//! touched. Its effect is measured, not entered: responses, leads (those naming its code), new
//! customers (its leads converted), conversion rate, attributed revenue (net invoices of its new
//! customers and of those it touched, from its start to 30 days after its end), cost per lead and
//! return on investment.

use db::{Result, RowExt, SqlBuilder, Tx};
use finance::domain::yuan;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const READ: &str = "crm.campaign.read";
pub const MANAGE: &str = "crm.campaign.manage";

/// The channels a campaign reaches people through.
pub const CHANNELS: [&str; 6] = ["email", "sms", "wechat", "event", "ads", "phone"];

/// Days after a campaign's end that its customers' invoices still count as its effect.
pub const ATTRIBUTION_DAYS: i64 = 30;

/// A segment as entered: each rule optional, all that are given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentForm {
    pub name: String,
    /// Yuan spent in the last twelve months, at least.
    #[serde(default)]
    pub min_spend_12m: String,
    /// A province or city of one of the customer's addresses.
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub tag: String,
    /// No confirmed order on or after this date (lapsed customers).
    #[serde(default)]
    pub no_purchase_since: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub min_spend_12m: Option<i64>,
    pub region: String,
    pub tag: String,
    pub no_purchase_since: Option<String>,
}

/// A member of a segment.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub party_id: i64,
    pub number: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

pub async fn create_segment(tx: &mut Tx, principal: &Principal, form: &SegmentForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let name = form.name.trim();
    if name.is_empty() {
        p.add("name", "error.required", "");
    }
    if name.chars().count() > 100 {
        p.add("name", "error.too_long", "100");
    }
    let spend = match form.min_spend_12m.trim() {
        "" => None,
        text => Some(p.amount("min_spend_12m", text)),
    };
    let since = match form.no_purchase_since.trim() {
        "" => None,
        text => p.check(kernel::dates::parse("no_purchase_since", text)).map(|d| d.to_string()),
    };
    for (field, text) in [("region", &form.region), ("tag", &form.tag)] {
        if text.chars().count() > 50 {
            p.add(field, "error.too_long", "50");
        }
    }
    p.finish()?;
    let inserted = sqlx::query(
        "INSERT INTO crm_segments (company_id, name, min_spend_12m, region, tag, no_purchase_since, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(company)
    .bind(name)
    .bind(spend)
    .bind(form.region.trim())
    .bind(form.tag.trim())
    .bind(since)
    .bind(tx.now().to_string())
    .bind(tx.actor().user_id)
    .fetch_one(tx.conn())
    .await
    .map_err(db::Error::from);
    let id: i64 = match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::invalid("name", "error.crm.segment_taken", name).into())
        }
        other => other?.try_get("id")?,
    };
    tx.audit("create", "crm.segment", Some(&id.to_string()), &json!({"name": [null, name], "rules": [null, form]}))
        .await?;
    Ok(id)
}

pub async fn segments(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Segment>> {
    principal.authorize(READ)?;
    sqlx::query("SELECT id, name, min_spend_12m, region, tag, no_purchase_since FROM crm_segments WHERE company_id = $1 ORDER BY name")
        .bind(principal.company_id.0)
        .fetch_all(conn)
        .await?
        .iter()
        .map(segment_of)
        .collect()
}

fn segment_of(r: &db::Row) -> Result<Segment> {
    Ok(Segment {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        min_spend_12m: r.try_get("min_spend_12m")?,
        region: r.try_get("region")?,
        tag: r.try_get("tag")?,
        no_purchase_since: r.try_get("no_purchase_since")?,
    })
}

pub async fn segment(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Segment> {
    principal.authorize(READ)?;
    let row = sqlx::query(
        "SELECT id, name, min_spend_12m, region, tag, no_purchase_since FROM crm_segments WHERE company_id = $1 AND id = $2",
    )
    .bind(principal.company_id.0)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("segment"))?;
    segment_of(&row)
}

/// The query of a segment's members: customers of the company the principal may read that
/// meet every rule. `today` anchors the twelve months of spend.
async fn members_query(
    conn: &mut db::Conn,
    principal: &Principal,
    segment: &Segment,
    today: chrono::NaiveDate,
    select: &str,
) -> Result<SqlBuilder> {
    let company = principal.company_id.0;
    let mut q = SqlBuilder::new(format!(
        "SELECT {select} FROM parties p WHERE p.archived_at IS NULL \
         AND EXISTS (SELECT 1 FROM party_roles r WHERE r.party_id = p.id AND r.role = 'customer')"
    ));
    db::rules::push_filter(&mut q, &principal.row_filter(party::service::READ)?, "p.company_id", "p.owner_id");
    if let Some(spend) = segment.min_spend_12m {
        q.push(" AND p.id IN (");
        finance::spend::push_spenders(conn, &mut q, company, today, spend).await?;
        q.push(")");
    }
    if !segment.region.is_empty() {
        q.push(" AND EXISTS (SELECT 1 FROM party_addresses a WHERE a.party_id = p.id AND (a.province = ")
            .bind(segment.region.clone());
        q.push(" OR a.city = ").bind(segment.region.clone()).push("))");
    }
    if !segment.tag.is_empty() {
        q.push(" AND EXISTS (SELECT 1 FROM party_tags t WHERE t.party_id = p.id AND t.tag = ")
            .bind(segment.tag.clone())
            .push(")");
    }
    if let Some(since) = &segment.no_purchase_since {
        q.push(" AND NOT EXISTS (SELECT 1 FROM sal_orders s WHERE s.customer_id = p.id AND s.status IN ('confirmed', 'done', 'closed') AND s.order_date >= ");
        q.bind(since.clone()).push(")");
    }
    Ok(q)
}

/// How many customers meet the segment's rules today.
pub async fn count(
    conn: &mut db::Conn,
    principal: &Principal,
    segment: &Segment,
    today: chrono::NaiveDate,
) -> Result<i64> {
    let q = members_query(&mut *conn, principal, segment, today, "COUNT(*) AS n").await?;
    Ok(q.build().fetch_one(conn).await?.try_get("n")?)
}

/// One page of the segment's members in id order (after `after`), with a mobile and an e-mail
/// each for the channel that will reach them.
pub async fn members(
    conn: &mut db::Conn,
    principal: &Principal,
    segment: &Segment,
    today: chrono::NaiveDate,
    after: i64,
    limit: i64,
) -> Result<Vec<Member>> {
    let mut q = members_query(
        &mut *conn,
        principal,
        segment,
        today,
        "p.id, p.number, p.name, \
         (SELECT c.value FROM party_contacts c WHERE c.party_id = p.id AND c.kind = 'mobile' ORDER BY c.position LIMIT 1) AS mobile, \
         (SELECT c.value FROM party_contacts c WHERE c.party_id = p.id AND c.kind = 'email' ORDER BY c.position LIMIT 1) AS email",
    )
    .await?;
    q.push(" AND p.id > ").bind(after).push(" ORDER BY p.id LIMIT ").bind(limit);
    q.build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Member {
                party_id: r.try_get("id")?,
                number: r.try_get("number")?,
                name: r.try_get("name")?,
                mobile: r.try_get("mobile")?,
                email: r.try_get("email")?,
            })
        })
        .collect()
}

/// The whole segment as CSV for the channel that sends it (number, name, mobile, e-mail).
/// Exporting is recorded in the audit trail: it is personal data leaving the system.
pub async fn export_csv(tx: &mut Tx, principal: &Principal, id: i64, today: chrono::NaiveDate) -> Result<String> {
    principal.authorize(MANAGE)?;
    let segment = segment(tx.conn(), principal, id).await?;
    let mut out = String::from("number,name,mobile,email\n");
    let mut after = 0;
    let mut rows = 0;
    loop {
        let page = members(tx.conn(), principal, &segment, today, after, 1_000).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.party_id;
        for m in &page {
            let field = |v: &str| {
                // A spreadsheet opens `=…`, `+…`, `-…`, `@…` as a formula: such a value
                // (a name typed into the public form) leaves as text.
                let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{v}") } else { v.to_string() };
                if v.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v
                }
            };
            out.push_str(&format!(
                "{},{},{},{}\n",
                field(&m.number),
                field(&m.name),
                field(m.mobile.as_deref().unwrap_or_default()),
                field(m.email.as_deref().unwrap_or_default())
            ));
            rows += 1;
        }
    }
    tx.audit("export", "crm.segment", Some(&id.to_string()), &json!({"rows": [null, rows]})).await?;
    Ok(out)
}

// ---- Campaigns ----

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignForm {
    /// The code leads and links carry (utm_campaign), e.g. `spring-2026`.
    pub code: String,
    pub name: String,
    pub channel: String,
    /// Yuan.
    pub budget: String,
    pub start_date: String,
    pub end_date: String,
    #[serde(default)]
    pub segment_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub channel: String,
    pub budget: i64,
    pub start_date: String,
    pub end_date: String,
    pub segment_id: Option<i64>,
    pub segment_name: Option<String>,
    pub status: String,
}

pub async fn create_campaign(tx: &mut Tx, principal: &Principal, form: &CampaignForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let code = form.code.trim().to_lowercase();
    if code.is_empty() || code.len() > 50 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        p.add("code", "error.crm.campaign_code", &form.code);
    }
    if form.name.trim().is_empty() {
        p.add("name", "error.required", "");
    }
    if form.name.chars().count() > 100 {
        p.add("name", "error.too_long", "100");
    }
    if !CHANNELS.contains(&form.channel.as_str()) {
        p.add("channel", "error.crm.channel", &form.channel);
    }
    let budget = p.amount("budget", &form.budget);
    if budget < 0 {
        p.add("budget", "error.finance.negative", &form.budget);
    }
    let start = p.check(kernel::dates::parse("start_date", &form.start_date));
    let end = p.check(kernel::dates::parse("end_date", &form.end_date));
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            p.add("end_date", "error.period_order", form.end_date.clone());
        }
    }
    if let Some(segment) = form.segment_id {
        let found = sqlx::query("SELECT 1 FROM crm_segments WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(segment)
            .fetch_optional(tx.conn())
            .await?;
        if found.is_none() {
            p.add("segment_id", "error.crm.segment", segment.to_string());
        }
    }
    p.finish()?;
    let inserted = sqlx::query(
        "INSERT INTO crm_campaigns (company_id, code, name, channel, budget, start_date, end_date, segment_id, status, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(form.name.trim())
    .bind(&form.channel)
    .bind(budget)
    .bind(start.map(|d| d.to_string()).unwrap_or_default())
    .bind(end.map(|d| d.to_string()).unwrap_or_default())
    .bind(form.segment_id)
    .bind(tx.now().to_string())
    .bind(tx.actor().user_id)
    .fetch_one(tx.conn())
    .await
    .map_err(db::Error::from);
    let id: i64 = match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::invalid("code", "error.crm.campaign_taken", code).into())
        }
        other => other?.try_get("id")?,
    };
    tx.audit(
        "create",
        "crm.campaign",
        Some(&id.to_string()),
        &json!({"code": [null, code], "budget": [null, yuan(budget)]}),
    )
    .await?;
    Ok(id)
}

const CAMPAIGN_COLUMNS: &str = "c.id, c.code, c.name, c.channel, c.budget, c.start_date, c.end_date, c.segment_id, s.name AS segment_name, c.status";

fn campaign_of(r: &db::Row) -> Result<Campaign> {
    Ok(Campaign {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        channel: r.try_get("channel")?,
        budget: r.try_get("budget")?,
        start_date: r.try_get("start_date")?,
        end_date: r.try_get("end_date")?,
        segment_id: r.try_get("segment_id")?,
        segment_name: r.try_get("segment_name")?,
        status: r.try_get("status")?,
    })
}

pub async fn campaigns(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Campaign>> {
    principal.authorize(READ)?;
    sqlx::query(&format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM crm_campaigns c LEFT JOIN crm_segments s ON s.id = c.segment_id WHERE c.company_id = $1 ORDER BY c.start_date DESC, c.id DESC"
    ))
    .bind(principal.company_id.0)
    .fetch_all(conn)
    .await?
    .iter()
    .map(campaign_of)
    .collect()
}

pub async fn campaign(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Campaign> {
    principal.authorize(READ)?;
    let row = sqlx::query(&format!(
        "SELECT {CAMPAIGN_COLUMNS} FROM crm_campaigns c LEFT JOIN crm_segments s ON s.id = c.segment_id WHERE c.company_id = $1 AND c.id = $2"
    ))
    .bind(principal.company_id.0)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("campaign"))?;
    campaign_of(&row)
}

/// Launches a draft campaign: its segment's members today are recorded as touched (the list
/// the channel sends to). Returns how many.
pub async fn launch(tx: &mut Tx, principal: &Principal, id: i64, today: chrono::NaiveDate) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let claimed = sqlx::query(
        "UPDATE crm_campaigns SET status = 'running' WHERE company_id = $1 AND id = $2 AND status = 'draft'",
    )
    .bind(company)
    .bind(id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if claimed != 1 {
        let status = campaign(tx.conn(), principal, id).await?.status;
        return Err(db::document::wrong_status(&status));
    }
    let campaign = campaign(tx.conn(), principal, id).await?;
    let mut touched = 0;
    if let Some(segment_id) = campaign.segment_id {
        let segment = segment(tx.conn(), principal, segment_id).await?;
        let now = tx.now().to_string();
        let mut after = 0;
        loop {
            let page = members(tx.conn(), principal, &segment, today, after, 1_000).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.party_id;
            let mut q = SqlBuilder::new("INSERT INTO crm_campaign_members (campaign_id, party_id, touched_at) VALUES ");
            for (i, m) in page.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(id).push(", ").bind(m.party_id).push(", ").bind(now.clone()).push(")");
            }
            q.build().execute(tx.conn()).await?;
            touched += page.len() as i64;
        }
    }
    tx.audit(
        "state",
        "crm.campaign",
        Some(&id.to_string()),
        &json!({"status": ["draft", "running"], "touched": [null, touched]}),
    )
    .await?;
    Ok(touched)
}

/// What a campaign did, measured from the data.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Effect {
    pub touched: i64,
    /// Its leads, and those it touched who confirmed an order in the attribution window.
    pub responses: i64,
    pub leads: i64,
    /// Its leads converted into customers.
    pub new_customers: i64,
    /// New customers per lead, in basis points.
    pub conversion_bp: i64,
    /// Net invoiced (VAT excluded, less credit notes) to its new customers and to those it
    /// touched, from its start to [`ATTRIBUTION_DAYS`] after its end (fen).
    pub revenue: i64,
    pub budget: i64,
    /// Budget per lead (fen); None without leads.
    pub cost_per_lead: Option<i64>,
    /// (revenue − budget) / budget in basis points; None without a budget.
    pub roi_bp: Option<i64>,
}

pub async fn effect(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Effect> {
    let campaign = campaign(&mut *conn, principal, id).await?;
    let company = principal.company_id.0;
    let window_end = kernel::dates::parse("end_date", &campaign.end_date)
        .map(|d| (d + chrono::Duration::days(ATTRIBUTION_DAYS)).to_string())
        .map_err(|e| DomainError::Invalid(vec![e]))?;
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM crm_campaign_members m WHERE m.campaign_id = $1) AS touched, \
           (SELECT COUNT(*) FROM crm_leads l WHERE l.company_id = $2 AND l.campaign = $3) AS leads, \
           (SELECT COUNT(DISTINCT l.party_id) FROM crm_leads l WHERE l.company_id = $2 AND l.campaign = $3 AND l.status = 'converted') AS new_customers, \
           (SELECT COUNT(DISTINCT s.customer_id) FROM sal_orders s JOIN crm_campaign_members m ON m.party_id = s.customer_id AND m.campaign_id = $1 \
              WHERE s.company_id = $2 AND s.status IN ('confirmed', 'done', 'closed') AND s.order_date >= $4 AND s.order_date <= $5) AS buyers, \
           (SELECT CAST(COALESCE(SUM(i.net), 0) AS BIGINT) FROM fin_invoices i WHERE i.company_id = $2 AND i.kind = 'customer' AND i.number IS NOT NULL \
              AND i.invoice_date >= $4 AND i.invoice_date <= $5 AND i.party_id IN ( \
                SELECT l.party_id FROM crm_leads l WHERE l.company_id = $2 AND l.campaign = $3 AND l.party_id IS NOT NULL \
                UNION SELECT m.party_id FROM crm_campaign_members m WHERE m.campaign_id = $1)) AS revenue",
    )
    .bind(id)
    .bind(company)
    .bind(&campaign.code)
    .bind(&campaign.start_date)
    .bind(&window_end)
    .fetch_one(conn)
    .await?;
    let (touched, leads, new_customers, buyers, revenue): (i64, i64, i64, i64, i64) = (
        row.try_get("touched")?,
        row.try_get("leads")?,
        row.try_get("new_customers")?,
        row.try_get("buyers")?,
        row.try_get("revenue")?,
    );
    let ratio = crate::domain::ratio_bp;
    Ok(Effect {
        touched,
        responses: leads + buyers,
        leads,
        new_customers,
        conversion_bp: ratio(new_customers, leads).unwrap_or(0),
        revenue,
        budget: campaign.budget,
        cost_per_lead: (leads > 0).then(|| (campaign.budget + leads / 2) / leads),
        roi_bp: ratio(revenue - campaign.budget, campaign.budget),
    })
}

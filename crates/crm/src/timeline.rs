//! The customer 360 (客户档案): one customer's figures and a single timeline of everything
//! that happened with them — what staff logged, their leads and opportunities, and the ERP
//! facts: quotations, confirmed orders, deliveries with their tracking status, invoices,
//! credit notes and receipts. Nothing is copied: one query reads each source table where it
//! lives (each indexed by the customer), merged and paged newest first by (time, step, id).
//! Each source shows only to those who may read it there, under the same record rules.

use crate::service::{self, CUSTOMER_READ};
use db::{Result, RowExt, SqlBuilder};
use kernel::permission::Principal;
use serde::Serialize;

/// One event on the timeline.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Item {
    /// When it happened (UTC instant).
    pub at: String,
    /// Where it sits among events of the same instant: the order business happens in (lead,
    /// activity, opportunity, quotation, order, won/lost, delivery, invoice, credit note,
    /// receipt).
    pub step: i64,
    /// `campaign`, `lead`, `activity.call` …, `opportunity`, `opportunity.won`, `quotation`,
    /// `order`, `delivery`, `invoice`, `credit_note`, `receipt`, `ticket`, `survey`.
    pub kind: String,
    /// The source record's id (the order's for a delivery).
    pub id: i64,
    pub title: String,
    /// A status or the activity's text.
    pub detail: String,
    /// Fen, where the event has an amount.
    pub amount: Option<i64>,
}

impl Item {
    /// Where the source record is shown.
    pub fn link(&self) -> Option<String> {
        let kind = self.kind.split('.').next().unwrap_or_default();
        match kind {
            "lead" => Some(format!("/crm/leads/{}", self.id)),
            "opportunity" => Some(format!("/crm/opportunities/{}", self.id)),
            "quotation" | "order" | "delivery" => Some(format!("/sales/orders/{}", self.id)),
            "invoice" | "credit_note" => Some(format!("/finance/invoices/{}", self.id)),
            "ticket" => Some(format!("/crm/tickets/{}", self.id)),
            "campaign" => Some(format!("/crm/campaigns/{}", self.id)),
            _ => None,
        }
    }

    /// The keyset cursor of this item: the next page starts after it.
    pub fn cursor(&self) -> String {
        format!("{}~{}~{}", self.at, self.step, self.id)
    }
}

/// A customer's figures and one page of their timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub party_id: i64,
    pub number: String,
    pub name: String,
    pub tags: Vec<String>,
    pub contacts: Vec<(String, String, String)>,
    pub addresses: Vec<String>,
    pub notes: String,
    /// The owning salesperson.
    pub salesperson: Option<String>,
    /// Everything invoiced to them, VAT included, less credit notes (fen); None when the
    /// principal may not read invoices.
    pub lifetime_value: Option<i64>,
    pub open_receivables: Option<i64>,
    /// Their last confirmed order's date.
    pub last_purchase: Option<String>,
    /// Open opportunities the principal may read, and their expected revenue weighted by
    /// their stage (fen); None without the permission.
    pub open_opportunities: Option<i64>,
    pub weighted_pipeline: Option<i64>,
    pub items: Vec<Item>,
    /// Cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// Narrows one branch of the timeline to the company and the customer.
fn scope(q: &mut SqlBuilder, column_company: &str, column_party: &str, company: i64, party: i64) {
    q.push(&format!(" WHERE {column_company} = ")).bind(company);
    q.push(&format!(" AND {column_party} = ")).bind(party);
}

/// One page (`limit` items, after `cursor`) of a customer's timeline, newest first, with
/// their figures. The principal needs the CRM's customer permission and must reach the party.
pub async fn customer(
    conn: &mut sqlx::AnyConnection,
    principal: &Principal,
    party: i64,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Customer> {
    principal.authorize(CUSTOMER_READ)?;
    party::service::reach_in(&mut *conn, principal, party).await?;
    let company = principal.company_id.0;
    let record = party::store::get(&mut *conn, company, party).await?.ok_or(kernel::DomainError::NotFound("party"))?;
    let invoices = principal.may(finance::invoicing::READ);
    let mut q = SqlBuilder::new("SELECT at, step, kind, id, title, detail, amount FROM (");
    // What staff logged.
    q.push("SELECT a.created_at AS at, 15 AS step, 'activity.' || a.kind AS kind, a.id AS id, a.subject AS title, a.body AS detail, CAST(NULL AS BIGINT) AS amount FROM crm_activities a");
    scope(&mut q, "a.company_id", "a.party_id", company, party);
    // An activity logged on an opportunity or a lead shows only to those who may read that.
    for (column, table, permission) in [
        ("a.opportunity_id", "crm_opportunities", service::OPPORTUNITY_READ),
        ("a.lead_id", "crm_leads", service::LEAD_READ),
    ] {
        match principal.row_filter(permission) {
            Ok(filter) => {
                q.push(&format!(" AND ({column} IS NULL OR {column} IN (SELECT r.id FROM {table} r WHERE 1 = 1"));
                db::rules::push_filter(&mut q, &filter, "r.company_id", "r.owner_id");
                q.push("))");
            }
            Err(_) => {
                q.push(&format!(" AND {column} IS NULL"));
            }
        }
    }
    if principal.may(service::LEAD_READ) {
        q.push(" UNION ALL SELECT l.created_at, 10, 'lead', l.id, l.number || ' ' || l.name, l.source || CASE WHEN l.campaign = '' THEN '' ELSE ' · ' || l.campaign END, CAST(NULL AS BIGINT) FROM crm_leads l");
        scope(&mut q, "l.company_id", "l.party_id", company, party);
        db::rules::push_filter(&mut q, &principal.row_filter(service::LEAD_READ)?, "l.company_id", "l.owner_id");
    }
    if principal.may(service::OPPORTUNITY_READ) {
        let filter = principal.row_filter(service::OPPORTUNITY_READ)?;
        q.push(" UNION ALL SELECT o.created_at, 20, 'opportunity', o.id, o.number || ' ' || o.title, o.status, o.expected_revenue FROM crm_opportunities o");
        scope(&mut q, "o.company_id", "o.party_id", company, party);
        db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
        q.push(" UNION ALL SELECT o.closed_at, 45, 'opportunity.' || o.status, o.id, o.number || ' ' || o.title, o.lost_reason, o.expected_revenue FROM crm_opportunities o");
        scope(&mut q, "o.company_id", "o.party_id", company, party);
        q.push(" AND o.closed_at IS NOT NULL");
        db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
    }
    if principal.may(sales::service::READ) {
        let filter = principal.row_filter(sales::service::READ)?;
        q.push(" UNION ALL SELECT s.created_at, 30, 'quotation', s.id, s.number, s.status, s.total FROM sal_orders s");
        scope(&mut q, "s.company_id", "s.customer_id", company, party);
        db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
        q.push(" UNION ALL SELECT s.confirmed_at, 40, 'order', s.id, s.number, s.status, s.total FROM sal_orders s");
        scope(&mut q, "s.company_id", "s.customer_id", company, party);
        q.push(" AND s.confirmed_at IS NOT NULL");
        db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
        q.push(" UNION ALL SELECT d.created_at, 50, 'delivery', s.id, d.number || ' (' || s.number || ')', d.status, CAST(NULL AS BIGINT) FROM sal_deliveries d JOIN sal_orders s ON s.id = d.order_id");
        scope(&mut q, "s.company_id", "s.customer_id", company, party);
        db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
    }
    if invoices {
        q.push(" UNION ALL SELECT i.posted_at, CASE WHEN i.credit_of IS NULL THEN 60 ELSE 65 END, CASE WHEN i.credit_of IS NULL THEN 'invoice' ELSE 'credit_note' END, i.id, i.number, i.status, i.total FROM fin_invoices i");
        scope(&mut q, "i.company_id", "i.party_id", company, party);
        q.push(" AND i.kind = 'customer' AND i.number IS NOT NULL");
        q.push(" UNION ALL SELECT p.created_at, 70, 'receipt', p.id, p.number, p.memo, p.amount FROM fin_payments p");
        scope(&mut q, "p.company_id", "p.party_id", company, party);
        q.push(" AND p.kind = 'receipt'");
    }
    if principal.may(crate::service_desk::TICKET_READ) {
        q.push(" UNION ALL SELECT k.created_at, 80, 'ticket', k.id, k.number || ' ' || k.subject, k.status, CAST(NULL AS BIGINT) FROM crm_tickets k");
        scope(&mut q, "k.company_id", "k.party_id", company, party);
        crate::service_desk::push_queue_filter(&mut q, principal, "k")?;
    }
    if principal.may(crate::service_desk::SURVEY_READ) {
        q.push(" UNION ALL SELECT v.answered_at, 90, 'survey', v.id, 'CSAT ' || CAST(v.csat AS TEXT) || ' · NPS ' || CAST(v.nps AS TEXT), v.comment, CAST(NULL AS BIGINT) FROM crm_surveys v");
        scope(&mut q, "v.company_id", "v.party_id", company, party);
        q.push(" AND v.answered_at IS NOT NULL");
        db::rules::push_filter(
            &mut q,
            &principal.row_filter(crate::service_desk::SURVEY_READ)?,
            "v.company_id",
            "v.agent_id",
        );
    }
    if principal.may(crate::marketing::READ) {
        q.push(" UNION ALL SELECT m.touched_at, 5, 'campaign', c.id, c.code || ' ' || c.name, c.channel, CAST(NULL AS BIGINT) FROM crm_campaign_members m JOIN crm_campaigns c ON c.id = m.campaign_id");
        scope(&mut q, "c.company_id", "m.party_id", company, party);
    }
    q.push(") t WHERE 1 = 1");
    if let Some((at, step, id)) = cursor.and_then(parse_cursor) {
        q.push(" AND (at < ").bind(at.clone()).push(" OR (at = ").bind(at).push(" AND (step < ").bind(step);
        q.push(" OR (step = ").bind(step).push(" AND id < ").bind(id).push("))))");
    }
    q.push(" ORDER BY at DESC, step DESC, id DESC LIMIT ").bind(limit + 1);
    let mut items: Vec<Item> = q
        .build()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Item {
                at: r.try_get("at")?,
                step: r.try_get("step")?,
                kind: r.try_get("kind")?,
                id: r.try_get("id")?,
                title: r.try_get::<Option<String>, _>("title")?.unwrap_or_default(),
                detail: r.try_get::<Option<String>, _>("detail")?.unwrap_or_default(),
                amount: r.try_get("amount")?,
            })
        })
        .collect::<Result<_>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(Item::cursor)
    } else {
        None
    };
    let (lifetime_value, open_receivables) = if invoices {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS billed, \
               CAST(COALESCE(SUM(CASE WHEN status IN ('open', 'partial') THEN total - settled ELSE 0 END), 0) AS BIGINT) AS open \
             FROM fin_invoices WHERE company_id = $1 AND party_id = $2 AND kind = 'customer' AND number IS NOT NULL",
        )
        .bind(company)
        .bind(party)
        .fetch_one(&mut *conn)
        .await?;
        (Some(row.try_get("billed")?), Some(row.try_get("open")?))
    } else {
        (None, None)
    };
    // The figures follow the same rules as the timeline's items: what the principal may read.
    let last_purchase: Option<String> = match principal.row_filter(sales::service::READ) {
        Ok(filter) => {
            let mut q = SqlBuilder::new("SELECT MAX(s.order_date) AS last FROM sal_orders s");
            scope(&mut q, "s.company_id", "s.customer_id", company, party);
            q.push(" AND s.status IN ('confirmed', 'done', 'closed')");
            db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
            q.build().fetch_one(&mut *conn).await?.try_get("last")?
        }
        Err(_) => None,
    };
    let (open_opportunities, weighted_pipeline) = match principal.row_filter(service::OPPORTUNITY_READ) {
        Ok(filter) => {
            let mut q = SqlBuilder::new(
                "SELECT COUNT(*) AS n, CAST(COALESCE(SUM((o.expected_revenue * s.probability_bp + 5000) / 10000), 0) AS BIGINT) AS weighted \
                 FROM crm_opportunities o JOIN crm_stages s ON s.id = o.stage_id",
            );
            scope(&mut q, "o.company_id", "o.party_id", company, party);
            q.push(" AND o.status = 'open'");
            db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
            let row = q.build().fetch_one(&mut *conn).await?;
            (Some(row.try_get("n")?), Some(row.try_get("weighted")?))
        }
        Err(_) => (None, None),
    };
    let salesperson: Option<String> = match record.owner_id {
        Some(owner) => sqlx::query("SELECT display_name FROM users WHERE id = $1")
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get("display_name"))
            .transpose()?,
        None => None,
    };
    Ok(Customer {
        party_id: party,
        number: record.number.clone(),
        name: record.name.clone(),
        tags: record.tags.clone(),
        contacts: record.contacts.iter().map(|c| (c.kind.clone(), c.value.clone(), c.label.clone())).collect(),
        addresses: record
            .addresses
            .iter()
            .map(|a| format!("{}{}{}{}", a.province, a.city, a.district, a.street))
            .collect(),
        notes: record.notes.clone(),
        salesperson,
        lifetime_value,
        open_receivables,
        last_purchase,
        open_opportunities,
        weighted_pipeline,
        items,
        next,
    })
}

fn parse_cursor(text: &str) -> Option<(String, i64, i64)> {
    let mut parts = text.split('~');
    let at = parts.next()?.to_string();
    let step = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    Some((at, step, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_names_the_last_item_seen() {
        let item = Item {
            at: "2026-03-15T02:00:00Z".into(),
            step: 60,
            kind: "invoice".into(),
            id: 7,
            title: "INV/2026/00001".into(),
            detail: "open".into(),
            amount: Some(240_000),
        };
        assert_eq!(parse_cursor(&item.cursor()), Some(("2026-03-15T02:00:00Z".into(), 60, 7)));
        assert_eq!(item.link().as_deref(), Some("/finance/invoices/7"));
        assert_eq!(parse_cursor("garbage"), None);
    }
}

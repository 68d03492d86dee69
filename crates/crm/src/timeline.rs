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
    conn: &mut db::Conn,
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
    // Each source gives at most a page of its newest rows after the cursor (its index on the
    // customer and time answers that), and the page is cut from their union: a customer with
    // ten thousand calls costs a page, not ten thousand rows.
    let cursor = cursor.and_then(parse_cursor);
    let mut branches = 0;
    let mut q = SqlBuilder::new("SELECT at, step, kind, id, title, detail, amount FROM (");
    // What staff logged.
    next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT a.created_at AS at, 15 AS step, 'activity.' || a.kind AS kind, a.id AS id, a.subject AS title, a.body AS detail, CAST(NULL AS BIGINT) AS amount FROM crm_activities a");
    scope(&mut q, "a.company_id", "a.party_id", company, party);
    // An activity logged on an opportunity or a lead shows only to those who may read that.
    for (column, table, permission) in [
        ("a.opportunity_id", "crm_opportunities", service::OPPORTUNITY_READ),
        ("a.lead_id", "crm_leads", service::LEAD_READ),
    ] {
        match principal.row_filter(permission) {
            // Company-wide reach: every lead and opportunity of the company is readable, so no
            // list of them needs building (at 100,000 opportunities that list is the cost).
            Ok(kernel::permission::RowFilter::Company(_)) => {}
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
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT l.created_at AS at, 10 AS step, 'lead' AS kind, l.id AS id, l.number || ' ' || l.name AS title, l.source || CASE WHEN l.campaign = '' THEN '' ELSE ' · ' || l.campaign END AS detail, CAST(NULL AS BIGINT) AS amount FROM crm_leads l");
        scope(&mut q, "l.company_id", "l.party_id", company, party);
        db::rules::push_filter(&mut q, &principal.row_filter(service::LEAD_READ)?, "l.company_id", "l.owner_id");
    }
    if principal.may(service::OPPORTUNITY_READ) {
        let filter = principal.row_filter(service::OPPORTUNITY_READ)?;
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT o.created_at AS at, 20 AS step, 'opportunity' AS kind, o.id AS id, o.number || ' ' || o.title AS title, o.status AS detail, o.expected_revenue AS amount FROM crm_opportunities o");
        scope(&mut q, "o.company_id", "o.party_id", company, party);
        db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT o.closed_at AS at, 45 AS step, 'opportunity.' || o.status AS kind, o.id AS id, o.number || ' ' || o.title AS title, o.lost_reason AS detail, o.expected_revenue AS amount FROM crm_opportunities o");
        scope(&mut q, "o.company_id", "o.party_id", company, party);
        q.push(" AND o.closed_at IS NOT NULL");
        db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
    }
    if principal.may(sales::service::READ) {
        let filter = principal.row_filter(sales::service::READ)?;
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT s.created_at AS at, 30 AS step, 'quotation' AS kind, s.id AS id, s.number AS title, s.status AS detail, s.total AS amount FROM sal_orders s");
        scope(&mut q, "s.company_id", "s.customer_id", company, party);
        db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT s.confirmed_at AS at, 40 AS step, 'order' AS kind, s.id AS id, s.number AS title, s.status AS detail, s.total AS amount FROM sal_orders s");
        scope(&mut q, "s.company_id", "s.customer_id", company, party);
        q.push(" AND s.confirmed_at IS NOT NULL");
        db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT d.created_at AS at, 50 AS step, 'delivery' AS kind, s.id AS id, d.number || ' (' || s.number || ')' AS title, d.status AS detail, CAST(NULL AS BIGINT) AS amount FROM sal_deliveries d JOIN sal_orders s ON s.id = d.order_id");
        scope(&mut q, "s.company_id", "s.customer_id", company, party);
        db::rules::push_filter(&mut q, &filter, "s.company_id", "s.created_by");
    }
    if invoices {
        // A document carried over from the books kept before these was typed with the opening
        // balances, long after it was issued: it stands on the timeline at the start of its own
        // date (an instant, as every item's time is).
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT CASE WHEN i.opening <> 0 THEN i.invoice_date || 'T00:00:00.000000Z' ELSE i.posted_at END AS at, CASE WHEN i.credit_of IS NULL THEN 60 ELSE 65 END AS step, CASE WHEN i.credit_of IS NULL THEN 'invoice' ELSE 'credit_note' END AS kind, i.id AS id, i.number AS title, i.status AS detail, i.total AS amount FROM fin_invoices i");
        scope(&mut q, "i.company_id", "i.party_id", company, party);
        q.push(" AND i.kind = 'customer' AND i.number IS NOT NULL");
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT CASE WHEN p.opening <> 0 THEN p.payment_date || 'T00:00:00.000000Z' ELSE p.created_at END AS at, 70 AS step, 'receipt' AS kind, p.id AS id, p.number AS title, p.memo AS detail, p.amount AS amount FROM fin_payments p");
        scope(&mut q, "p.company_id", "p.party_id", company, party);
        // Money a supplier sends back is a receipt of the books but no payment by a customer.
        q.push(" AND p.kind = 'receipt' AND p.refund_of IS NULL AND p.refunds_advance IS NULL");
        // Money given back to the customer: what a credit note owed, or an advance returned.
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT p.created_at AS at, 75 AS step, 'refund' AS kind, p.id AS id, p.number AS title, p.memo AS detail, p.amount AS amount FROM fin_payments p");
        scope(&mut q, "p.company_id", "p.party_id", company, party);
        q.push(" AND p.kind = 'payment' AND (p.refund_of IS NOT NULL OR p.refunds_advance IS NOT NULL)");
    }
    if principal.may(crate::service_desk::TICKET_READ) {
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT k.created_at AS at, 80 AS step, 'ticket' AS kind, k.id AS id, k.number || ' ' || k.subject AS title, k.status AS detail, CAST(NULL AS BIGINT) AS amount FROM crm_tickets k");
        scope(&mut q, "k.company_id", "k.party_id", company, party);
        crate::service_desk::push_queue_filter(&mut q, principal, "k")?;
    }
    if principal.may(crate::service_desk::SURVEY_READ) {
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT v.answered_at AS at, 90 AS step, 'survey' AS kind, v.id AS id, 'CSAT ' || CAST(v.csat AS TEXT) || ' · NPS ' || CAST(v.nps AS TEXT) AS title, v.comment AS detail, CAST(NULL AS BIGINT) AS amount FROM crm_surveys v");
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
        next_branch(&mut q, cursor.as_ref(), limit, &mut branches, "SELECT m.touched_at AS at, 5 AS step, 'campaign' AS kind, c.id AS id, c.code || ' ' || c.name AS title, c.channel AS detail, CAST(NULL AS BIGINT) AS amount FROM crm_campaign_members m JOIN crm_campaigns c ON c.id = m.campaign_id");
        scope(&mut q, "c.company_id", "m.party_id", company, party);
    }
    close_branch(&mut q, cursor.as_ref(), limit, branches);
    q.push(") t");
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

/// Starts the next source of the timeline (closing the one before).
fn next_branch(
    q: &mut SqlBuilder,
    cursor: Option<&(String, i64, i64)>,
    limit: i64,
    branches: &mut usize,
    select: &str,
) {
    if *branches > 0 {
        close_branch(q, cursor, limit, *branches);
        q.push(" UNION ALL ");
    }
    q.push("SELECT * FROM (SELECT * FROM (");
    q.push(select);
    *branches += 1;
}

/// Ends a source: only its rows after the cursor, newest first, one more than a page.
fn close_branch(q: &mut SqlBuilder, cursor: Option<&(String, i64, i64)>, limit: i64, branch: usize) {
    q.push(") x WHERE 1 = 1");
    if let Some((at, step, id)) = cursor {
        q.push(" AND (x.at < ")
            .bind(at.clone())
            .push(" OR (x.at = ")
            .bind(at.clone())
            .push(" AND (x.step < ")
            .bind(*step);
        q.push(" OR (x.step = ").bind(*step).push(" AND x.id < ").bind(*id).push("))))");
    }
    q.push(" ORDER BY x.at DESC, x.step DESC, x.id DESC LIMIT ").bind(limit + 1);
    q.push(&format!(") b{branch}"));
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

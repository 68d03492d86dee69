//! Record rules in SQL: the rows a principal's scope reaches, as a condition appended to a
//! query over any table that names its company and its owning user. Every module filters its
//! lists with this one piece, so "own", "team", "department" and "company" mean the same
//! everywhere; single records are checked with `kernel::Principal::reaches`.

use crate::SqlBuilder;
use kernel::permission::RowFilter;

/// Appends ` AND <company> = … AND <owner> …` for `filter`; `company` and `owner` are column
/// expressions of the caller's query (`p.company_id`, `o.created_by`), never input.
pub fn push_filter(q: &mut SqlBuilder, filter: &RowFilter, company: &str, owner: &str) {
    match filter {
        RowFilter::Company(c) => {
            q.push(&format!(" AND {company} = ")).bind(c.0);
        }
        RowFilter::Department(c, d) => {
            q.push(&format!(" AND {company} = ")).bind(c.0);
            q.push(&format!(" AND {owner} IN (SELECT id FROM users WHERE department = ")).bind(d.clone()).push(")");
        }
        RowFilter::Team(c, t) => {
            q.push(&format!(" AND {company} = ")).bind(c.0);
            q.push(&format!(" AND {owner} IN (SELECT id FROM users WHERE team = ")).bind(t.clone()).push(")");
        }
        RowFilter::Own(c, u) => {
            q.push(&format!(" AND {company} = ")).bind(c.0);
            q.push(&format!(" AND {owner} = ")).bind(u.0);
        }
    }
}

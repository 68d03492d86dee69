//! Party SQL. One dialect-neutral query per need; the list query is built from the list
//! conventions and the caller's record rule.

use crate::domain::{Address, Contact, PartyInput};
use db::{Result, RowExt, SqlBuilder};
use kernel::permission::RowFilter;
use serde::Serialize;
use web::list::{Cursor, ListParams};

/// A party as stored, with its roles, tags, contacts and addresses.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Party {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub name: String,
    pub name_en: Option<String>,
    pub credit_code: Option<String>,
    pub id_number: Option<String>,
    pub roles: Vec<String>,
    pub tags: Vec<String>,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
    pub notes: String,
    pub owner_id: Option<i64>,
    pub owner_team: Option<String>,
    pub owner_department: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A row of the party list.
#[derive(Debug, Clone, Serialize)]
pub struct PartyRow {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub name: String,
    pub name_en: Option<String>,
    pub credit_code: Option<String>,
    pub mobile: Option<String>,
    pub roles: Vec<String>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub version: i64,
}

/// A page of the list and the cursor of the next page.
#[derive(Debug, Clone, Serialize)]
pub struct PartyPage {
    pub items: Vec<PartyRow>,
    pub next_cursor: Option<String>,
}

/// List filters and sorts the party list accepts.
pub const LIST_SPEC: web::list::ListSpec = web::list::ListSpec {
    filters: &["role", "tag", "kind"],
    sorts: &["name", "number", "created_at"],
    default_sort: "name",
};

/// Appends the record rule to a query over `parties p`.
pub fn push_row_filter(q: &mut SqlBuilder, filter: &RowFilter) {
    db::rules::push_filter(q, filter, "p.company_id", "p.owner_id");
}

fn like_pattern(q: &str) -> String {
    let escaped = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// One page of parties the filter reaches, in keyset order.
pub async fn list(conn: &mut db::Conn, filter: &RowFilter, params: &ListParams) -> Result<PartyPage> {
    let mut q = SqlBuilder::new(
        "SELECT p.id, p.number, p.kind, p.name, p.name_en, p.credit_code, p.created_at, p.version, \
         (SELECT c.value FROM party_contacts c WHERE c.party_id = p.id AND c.kind = 'mobile' ORDER BY c.position LIMIT 1) AS mobile \
         FROM parties p WHERE p.archived_at IS NULL",
    );
    push_row_filter(&mut q, filter);
    if let Some(text) = &params.q {
        // Name and number by substring; mobile, e-mail and credit code exactly (normalised).
        let exact_contact = kernel::identifiers::mobile("q", text).unwrap_or_else(|_| text.trim().to_string());
        q.push(" AND (p.search_text LIKE ").bind(like_pattern(text)).push(" ESCAPE '\\'");
        q.push(" OR p.credit_code = ").bind(text.trim().to_uppercase());
        q.push(" OR p.id IN (SELECT party_id FROM party_contacts WHERE value = ").bind(exact_contact).push("))");
    }
    if let Some(role) = params.filter("role") {
        q.push(" AND EXISTS (SELECT 1 FROM party_roles r WHERE r.party_id = p.id AND r.role = ").bind(role).push(")");
    }
    if let Some(tag) = params.filter("tag") {
        q.push(" AND EXISTS (SELECT 1 FROM party_tags t WHERE t.party_id = p.id AND t.tag = ").bind(tag).push(")");
    }
    if let Some(kind) = params.filter("kind") {
        q.push(" AND p.kind = ").bind(kind);
    }
    let column = match params.sort {
        "number" => "p.number",
        "created_at" => "p.created_at",
        _ => "p.name",
    };
    let (cmp, dir) = if params.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(Cursor { key, id }) = &params.cursor {
        let key = key.as_str().unwrap_or_default().to_string();
        q.push(&format!(" AND ({column} {cmp} ")).bind(key.clone());
        q.push(&format!(" OR ({column} = ")).bind(key).push(&format!(" AND p.id {cmp} ")).bind(*id).push("))");
    }
    q.push(&format!(" ORDER BY {column} {dir}, p.id {dir} LIMIT {}", params.limit + 1));
    let rows = q.build().fetch_all(&mut *conn).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows.iter().take(params.limit as usize) {
        items.push(PartyRow {
            id: row.try_get("id")?,
            number: row.try_get("number")?,
            kind: row.try_get("kind")?,
            name: row.try_get("name")?,
            name_en: row.try_get("name_en")?,
            credit_code: row.try_get("credit_code")?,
            mobile: row.try_get("mobile")?,
            roles: Vec::new(),
            tags: Vec::new(),
            created_at: row.try_get("created_at")?,
            version: row.try_get("version")?,
        });
    }
    if !items.is_empty() {
        let ids: Vec<String> = items.iter().map(|i| i.id.to_string()).collect();
        let in_list = ids.join(",");
        let roles =
            sqlx::query(&format!("SELECT party_id, role FROM party_roles WHERE party_id IN ({in_list}) ORDER BY role"))
                .fetch_all(&mut *conn)
                .await?;
        let tags =
            sqlx::query(&format!("SELECT party_id, tag FROM party_tags WHERE party_id IN ({in_list}) ORDER BY tag"))
                .fetch_all(&mut *conn)
                .await?;
        for item in &mut items {
            item.roles = roles
                .iter()
                .filter(|r| r.try_get::<i64, _>("party_id").ok() == Some(item.id))
                .filter_map(|r| r.try_get("role").ok())
                .collect();
            item.tags = tags
                .iter()
                .filter(|r| r.try_get::<i64, _>("party_id").ok() == Some(item.id))
                .filter_map(|r| r.try_get("tag").ok())
                .collect();
        }
    }
    let next_cursor = if rows.len() as i64 > params.limit {
        items.last().map(|last| {
            let key = match params.sort {
                "number" => last.number.clone(),
                "created_at" => last.created_at.clone(),
                _ => last.name.clone(),
            };
            Cursor { key: serde_json::Value::String(key), id: last.id }.encode()
        })
    } else {
        None
    };
    Ok(PartyPage { items, next_cursor })
}

/// One party of a company, with the team and department of its owner (for record rules).
pub async fn get(conn: &mut db::Conn, company_id: i64, id: i64) -> Result<Option<Party>> {
    let row = sqlx::query(
        "SELECT p.id, p.number, p.kind, p.name, p.name_en, p.credit_code, p.id_number, p.notes, p.owner_id, \
         u.team AS owner_team, u.department AS owner_department, p.version, p.created_at, p.updated_at \
         FROM parties p LEFT JOIN users u ON u.id = p.owner_id WHERE p.company_id = $1 AND p.id = $2 AND p.archived_at IS NULL",
    )
    .bind(company_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let roles = sqlx::query("SELECT role FROM party_roles WHERE party_id = $1 ORDER BY role")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let tags = sqlx::query("SELECT tag FROM party_tags WHERE party_id = $1 ORDER BY tag")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let contacts = sqlx::query("SELECT kind, value, label FROM party_contacts WHERE party_id = $1 ORDER BY position")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let addresses = sqlx::query(
        "SELECT kind, country, province, city, district, street, postcode FROM party_addresses WHERE party_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(Party {
        id,
        number: row.try_get("number")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        name_en: row.try_get("name_en")?,
        credit_code: row.try_get("credit_code")?,
        id_number: row.try_get("id_number")?,
        roles: roles.iter().map(|r| r.try_get("role")).collect::<std::result::Result<_, _>>()?,
        tags: tags.iter().map(|r| r.try_get("tag")).collect::<std::result::Result<_, _>>()?,
        contacts: contacts
            .iter()
            .map(|r| Ok(Contact { kind: r.try_get("kind")?, value: r.try_get("value")?, label: r.try_get("label")? }))
            .collect::<std::result::Result<_, sqlx::Error>>()?,
        addresses: addresses
            .iter()
            .map(|r| {
                Ok(Address {
                    kind: r.try_get("kind")?,
                    country: r.try_get("country")?,
                    province: r.try_get("province")?,
                    city: r.try_get("city")?,
                    district: r.try_get("district")?,
                    street: r.try_get("street")?,
                    postcode: r.try_get("postcode")?,
                })
            })
            .collect::<std::result::Result<_, sqlx::Error>>()?,
        notes: row.try_get("notes")?,
        owner_id: row.try_get("owner_id")?,
        owner_team: row.try_get("owner_team")?,
        owner_department: row.try_get("owner_department")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    }))
}

/// Parties of the company that share a mobile, e-mail or credit code with the input:
/// (id, number, name, what matched).
pub async fn duplicates(
    conn: &mut db::Conn,
    company_id: i64,
    input: &PartyInput,
    except: Option<i64>,
) -> Result<Vec<(i64, String, String, String)>> {
    let mut found = Vec::new();
    if let Some(code) = &input.credit_code {
        let rows = sqlx::query(
            "SELECT id, number, name FROM parties WHERE company_id = $1 AND credit_code = $2 AND archived_at IS NULL",
        )
        .bind(company_id)
        .bind(code)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            found.push((r.try_get("id")?, r.try_get("number")?, r.try_get("name")?, code.clone()));
        }
    }
    for contact in input.contacts.iter().filter(|c| c.kind == "mobile" || c.kind == "email") {
        let rows = sqlx::query(
            "SELECT DISTINCT p.id, p.number, p.name FROM party_contacts c JOIN parties p ON p.id = c.party_id \
             WHERE c.value = $1 AND p.company_id = $2 AND p.archived_at IS NULL",
        )
        .bind(&contact.value)
        .bind(company_id)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            found.push((r.try_get("id")?, r.try_get("number")?, r.try_get("name")?, contact.value.clone()));
        }
    }
    found.retain(|(id, ..)| Some(*id) != except);
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

/// Inserts a party and its parts; returns its id.
pub async fn insert(
    conn: &mut db::Conn,
    company_id: i64,
    number: &str,
    input: &PartyInput,
    owner_id: Option<i64>,
    actor: Option<i64>,
    now: &str,
) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO parties (company_id, number, kind, name, name_en, credit_code, id_number, notes, owner_id, search_text, version, created_at, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $11) RETURNING id",
    )
    .bind(company_id)
    .bind(number)
    .bind(&input.kind)
    .bind(&input.name)
    .bind(&input.name_en)
    .bind(&input.credit_code)
    .bind(&input.id_number)
    .bind(&input.notes)
    .bind(owner_id)
    .bind(crate::domain::search_text(number, input))
    .bind(now)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await?
    .try_get("id")?;
    write_parts(conn, id, input).await?;
    Ok(id)
}

/// Replaces a party's fields and parts, if its version is still `version`. Returns false
/// when the version moved on (someone else saved first).
pub async fn update(
    conn: &mut db::Conn,
    id: i64,
    version: i64,
    number: &str,
    input: &PartyInput,
    owner_id: Option<i64>,
    now: &str,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE parties SET kind = $1, name = $2, name_en = $3, credit_code = $4, id_number = $5, notes = $6, owner_id = $7, \
         search_text = $8, version = version + 1, updated_at = $9 WHERE id = $10 AND version = $11",
    )
    .bind(&input.kind)
    .bind(&input.name)
    .bind(&input.name_en)
    .bind(&input.credit_code)
    .bind(&input.id_number)
    .bind(&input.notes)
    .bind(owner_id)
    .bind(crate::domain::search_text(number, input))
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(false);
    }
    for table in ["party_roles", "party_tags", "party_contacts", "party_addresses"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE party_id = $1")).bind(id).execute(&mut *conn).await?;
    }
    write_parts(conn, id, input).await?;
    Ok(true)
}

async fn write_parts(conn: &mut db::Conn, id: i64, input: &PartyInput) -> Result<()> {
    for role in &input.roles {
        sqlx::query("INSERT INTO party_roles (party_id, role) VALUES ($1, $2)")
            .bind(id)
            .bind(role)
            .execute(&mut *conn)
            .await?;
    }
    for tag in &input.tags {
        sqlx::query("INSERT INTO party_tags (party_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO party_tag_names (company_id, tag) SELECT company_id, $2 FROM parties WHERE id = $1 \
             ON CONFLICT (company_id, tag) DO NOTHING",
        )
        .bind(id)
        .bind(tag)
        .execute(&mut *conn)
        .await?;
    }
    for (position, c) in input.contacts.iter().enumerate() {
        sqlx::query("INSERT INTO party_contacts (party_id, kind, value, label, position) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(&c.kind)
            .bind(&c.value)
            .bind(&c.label)
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
    }
    for (position, a) in input.addresses.iter().enumerate() {
        sqlx::query(
            "INSERT INTO party_addresses (party_id, kind, country, province, city, district, street, postcode, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(&a.kind)
        .bind(&a.country)
        .bind(&a.province)
        .bind(&a.city)
        .bind(&a.district)
        .bind(&a.street)
        .bind(&a.postcode)
        .bind(position as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Tags in use in a company, for the filter.
pub async fn tags_in_use(conn: &mut db::Conn, company_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT tag FROM party_tag_names WHERE company_id = $1 ORDER BY tag LIMIT 200")
        .bind(company_id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(|r| r.try_get("tag")).collect::<std::result::Result<_, _>>()?)
}

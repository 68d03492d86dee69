//! Backup and restore in a dialect-neutral format, so a site can move from SQLite to
//! PostgreSQL (or back) with `zhongshu backup` and `zhongshu restore`.
//!
//! The file is JSON lines: a header naming the migrations the data was written under, then
//! for each table a line with its columns, one line per row (an array of integers, strings
//! and nulls), and a line with the row count; a final line marks the file complete, so a
//! truncated backup is refused instead of half-restored. The backup reads every table in
//! one transaction, so it is a consistent snapshot while the server keeps running.

use crate::migrate::Migration;
use crate::pool::{Db, Dialect};
use crate::Result;
use futures_util::TryStreamExt;
use kernel::DomainError;
use serde_json::{json, Value};
use sqlx::{Column, Row};
use std::io::{BufRead, Write};

const FORMAT: &str = "zhongshu-backup";

/// Tables in creation order, so a table comes after the tables it references.
pub fn tables(migrations: &[Migration]) -> Vec<String> {
    migrations.iter().flat_map(|m| m.created_tables()).collect()
}

/// Counts written per table.
pub type TableCounts = Vec<(String, u64)>;

/// Writes a consistent snapshot of every table.
pub async fn backup(db: &Db, migrations: &[Migration], out: &mut impl Write) -> Result<TableCounts> {
    let mut tx = db.reader().begin().await?;
    if db.dialect() == Dialect::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
    }
    let header = json!({
        "format": FORMAT,
        "version": 1,
        "created_at": db.clock().now_text(),
        "source": db.dialect().name(),
        "migrations": migrations.iter().map(|m| json!([m.module, m.version])).collect::<Vec<_>>(),
    });
    write_line(out, &header)?;
    let mut counts = Vec::new();
    for table in tables(migrations) {
        let select = format!("SELECT * FROM {table} ORDER BY 1");
        let mut rows = sqlx::query(&select).fetch(&mut *tx);
        let mut count = 0u64;
        let mut announced = false;
        while let Some(row) = rows.try_next().await? {
            if !announced {
                let columns: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
                write_line(out, &json!({"table": table, "columns": columns}))?;
                announced = true;
            }
            let values: Vec<Value> = (0..row.columns().len()).map(|i| cell(&row, i)).collect::<Result<_>>()?;
            write_line(out, &Value::Array(values))?;
            count += 1;
        }
        drop(rows);
        if !announced {
            write_line(out, &json!({"table": table, "columns": []}))?;
        }
        write_line(out, &json!({"end": table, "rows": count}))?;
        counts.push((table, count));
    }
    write_line(out, &json!({"complete": true, "tables": counts.len()}))?;
    tx.commit().await?;
    Ok(counts)
}

/// A value as JSON: the schema holds integers and text only; anything else stops the backup
/// rather than being written as a silent null.
fn cell(row: &sqlx::any::AnyRow, i: usize) -> Result<Value> {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(v.map(Value::from).unwrap_or(Value::Null));
    }
    match row.try_get::<Option<String>, _>(i) {
        Ok(v) => Ok(v.map(Value::from).unwrap_or(Value::Null)),
        Err(e) => Err(DomainError::Internal(format!("column {i} is neither integer nor text: {e}")).into()),
    }
}

fn write_line(out: &mut impl Write, value: &Value) -> Result<()> {
    writeln!(out, "{value}").map_err(|e| DomainError::Internal(format!("writing the backup: {e}")))?;
    Ok(())
}

fn bad_file(why: impl Into<String>) -> crate::Error {
    DomainError::Invalid(vec![kernel::error::FieldError::new("file", "error.backup.invalid", why.into())]).into()
}

/// Restores a backup into a database that has no users yet (a fresh one). Migrations are
/// applied first; the whole restore is one transaction, so a bad file changes nothing.
pub async fn restore(db: &Db, migrations: &[Migration], input: impl BufRead) -> Result<TableCounts> {
    crate::migrate::run(db, migrations).await?;
    let known = tables(migrations);
    let mut lines = input.lines();
    let header: Value = match lines.next() {
        Some(line) => {
            serde_json::from_str(&line.map_err(|e| bad_file(e.to_string()))?).map_err(|e| bad_file(e.to_string()))?
        }
        None => return Err(bad_file("the file is empty")),
    };
    if header["format"] != FORMAT {
        return Err(bad_file("not a Zhongshu backup"));
    }
    let expected: Vec<Value> = migrations.iter().map(|m| json!([m.module, m.version])).collect();
    if header["migrations"].as_array() != Some(&expected) {
        return Err(bad_file("the backup was written by a different version of the schema"));
    }

    let mut tx = db.begin(crate::Actor::system()).await?;
    // Checked inside the restore's own transaction: every table must be empty (the chain head
    // that migrations seed aside), so a restore can never wipe a database in use.
    for name in known.iter().filter(|t| t.as_str() != "audit_chain_head") {
        if sqlx::query(&format!("SELECT 1 FROM {name} LIMIT 1")).fetch_optional(tx.conn()).await?.is_some() {
            return Err(DomainError::Conflict(format!(
                "the target database is not empty ({name} has rows); restore needs a fresh database"
            ))
            .into());
        }
    }
    let mut inserted = 0u64;
    let mut counts = Vec::new();
    let mut table: Option<(String, Vec<String>)> = None;
    let mut batch: Vec<Vec<Value>> = Vec::new();
    let mut complete = false;
    for line in lines {
        let line = line.map_err(|e| bad_file(e.to_string()))?;
        let value: Value = serde_json::from_str(&line).map_err(|e| bad_file(e.to_string()))?;
        match value {
            Value::Array(cells) => {
                if table.is_none() {
                    return Err(bad_file("a row outside a table"));
                }
                batch.push(cells);
                if batch.len() >= 200 {
                    if let Some((name, columns)) = &table {
                        insert_rows(&mut tx, name, columns, &batch).await?;
                    }
                    inserted += batch.len() as u64;
                    batch.clear();
                }
            }
            Value::Object(map) if map.contains_key("table") => {
                let name = map["table"].as_str().unwrap_or_default().to_string();
                if !known.contains(&name) {
                    return Err(bad_file(format!("unknown table {name}")));
                }
                if table.is_some() || counts.iter().any(|(t, _)| *t == name) {
                    return Err(bad_file(format!("table {name} starts before the last one ended, or twice")));
                }
                let columns: Vec<String> = map["columns"]
                    .as_array()
                    .map(|c| c.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                // Column names go into SQL: only the target table's own columns are accepted.
                let target = table_columns(&mut tx, &name).await?;
                if let Some(unknown) = columns.iter().find(|c| !target.contains(c)) {
                    return Err(bad_file(format!("{name} has no column {unknown}")));
                }
                inserted = 0;
                // Rows that migrations seeded (the chain head) are replaced by the backup's.
                sqlx::query(&format!("DELETE FROM {name}")).execute(tx.conn()).await?;
                table = Some((name, columns));
            }
            Value::Object(map) if map.contains_key("end") => {
                let Some((name, columns)) = table.take() else {
                    return Err(bad_file("a table ends that never started"));
                };
                if map["end"].as_str() != Some(name.as_str()) {
                    return Err(bad_file(format!("table {name} ends under another name")));
                }
                insert_rows(&mut tx, &name, &columns, &batch).await?;
                inserted += batch.len() as u64;
                batch.clear();
                let rows = map["rows"].as_u64().unwrap_or(u64::MAX);
                if rows != inserted {
                    return Err(bad_file(format!("{name} should have {rows} rows but has {inserted}")));
                }
                counts.push((name, rows));
            }
            Value::Object(map) if map.contains_key("complete") => complete = true,
            _ => return Err(bad_file("unexpected line")),
        }
    }
    if !complete || table.is_some() {
        return Err(bad_file("the file ends before its last line: the backup is incomplete"));
    }
    if let Some(missing) = known.iter().find(|t| !counts.iter().any(|(c, _)| c == *t)) {
        return Err(bad_file(format!("the backup has no section for {missing}")));
    }
    if db.dialect() == Dialect::Postgres {
        // Identity columns continue after the restored ids.
        let identity_tables = sqlx::query(
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'",
        )
        .fetch_all(tx.conn())
        .await?;
        for row in identity_tables {
            let name: String = row.try_get("name")?;
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            ))
            .execute(tx.conn())
            .await?;
        }
    }
    tx.commit().await?;
    Ok(counts)
}

/// Names of every column of a table in the target database.
async fn table_columns(tx: &mut crate::Tx, table: &str) -> Result<Vec<String>> {
    let rows = match tx.dialect() {
        Dialect::Postgres => {
            sqlx::query(
                "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_all(tx.conn())
            .await?
        }
        Dialect::Sqlite => {
            sqlx::query("SELECT name FROM pragma_table_info($1)").bind(table).fetch_all(tx.conn()).await?
        }
    };
    Ok(rows.iter().map(|r| r.try_get("name")).collect::<std::result::Result<_, _>>()?)
}

/// Names of the integer columns of a table in the target database. A NULL must be bound with
/// its column's type: PostgreSQL refuses a text NULL for a BIGINT column.
async fn integer_columns(tx: &mut crate::Tx, table: &str) -> Result<Vec<String>> {
    let rows = match tx.dialect() {
        Dialect::Postgres => {
            sqlx::query(
                "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND data_type IN ('bigint', 'integer', 'smallint')",
            )
            .bind(table)
            .fetch_all(tx.conn())
            .await?
        }
        Dialect::Sqlite => {
            sqlx::query("SELECT name FROM pragma_table_info($1) WHERE upper(type) LIKE '%INT%'")
                .bind(table)
                .fetch_all(tx.conn())
                .await?
        }
    };
    Ok(rows.iter().map(|r| r.try_get("name")).collect::<std::result::Result<_, _>>()?)
}

async fn insert_rows(tx: &mut crate::Tx, table: &str, columns: &[String], rows: &[Vec<Value>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let integers = integer_columns(tx, table).await?;
    let mut q = crate::SqlBuilder::new(format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")));
    for (i, row) in rows.iter().enumerate() {
        if row.len() != columns.len() {
            return Err(bad_file(format!("a row of {table} has {} values for {} columns", row.len(), columns.len())));
        }
        q.push(if i == 0 { "(" } else { ", (" });
        for (j, cell) in row.iter().enumerate() {
            if j > 0 {
                q.push(", ");
            }
            match cell {
                Value::Null if integers.contains(&columns[j]) => q.bind(None::<i64>),
                Value::Null => q.bind(None::<String>),
                Value::Number(n) => q.bind(n.as_i64().ok_or_else(|| bad_file("a number that is not an integer"))?),
                Value::String(s) => q.bind(s.clone()),
                _ => return Err(bad_file("a value that is neither integer, text nor null")),
            };
        }
        q.push(")");
    }
    q.build().execute(tx.conn()).await?;
    Ok(())
}

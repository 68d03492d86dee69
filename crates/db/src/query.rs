//! A small builder for queries whose conditions depend on the request (list filters,
//! record rules, keyset cursors). It numbers the `$n` placeholders as values are pushed,
//! so the SQL text and its bound values cannot drift apart.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

/// A value bound to a placeholder. Business data is integers and text only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}

/// SQL text with its values.
#[derive(Debug, Clone, Default)]
pub struct SqlBuilder {
    sql: String,
    values: Vec<Value>,
}

impl SqlBuilder {
    pub fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), values: Vec::new() }
    }

    /// Appends literal SQL (never user input).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.sql.push_str(&format!("${}", self.values.len()));
        self
    }

    /// Appends a parenthesised list of placeholders, one per value, for `IN`: `($3, $4, $5)`.
    /// The caller makes sure there is at least one value, as SQL has no empty list.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.sql.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(value);
        }
        self.sql.push(')');
        self
    }

    /// A statement written out with its own `$1`, `$2` … and the values they stand for, in
    /// that order.
    pub fn with_values(sql: impl Into<String>, values: Vec<Value>) -> Self {
        Self { sql: sql.into(), values }
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The query, ready to run on a pool or a transaction.
    pub fn build(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.sql);
        for value in &self.values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_push_order() {
        let mut q = SqlBuilder::new("SELECT id FROM parties WHERE company_id = ");
        q.bind(1i64).push(" AND name LIKE ").bind("%华%");
        assert_eq!(q.sql(), "SELECT id FROM parties WHERE company_id = $1 AND name LIKE $2");
        assert_eq!(q.values.len(), 2);
    }
}

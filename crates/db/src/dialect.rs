//! The two databases Zhongshu runs on.

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn from_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }

    /// The clause that makes a `SELECT` hold a shared lock on its rows until the transaction
    /// ends: many transactions may rely on a row at once (postings on an open period), while
    /// one that changes it (closing the period) waits for them, and they for it. SQLite has no
    /// row locks and needs none: its one writer at a time (`BEGIN IMMEDIATE`) keeps the row
    /// still.
    pub fn share_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR SHARE",
        }
    }

    /// The clause that makes a `SELECT` take the rows of the table aliased `of` for this
    /// transaction alone until it ends: a document about to change state, which a second
    /// transaction doing the same must wait for and then see changed. SQLite needs none, for
    /// the reason given at [`Dialect::share_lock`].
    pub fn update_lock_of(self, of: &str) -> String {
        match self {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => format!(" FOR UPDATE OF {of}"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

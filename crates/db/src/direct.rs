//! The SQLite connection that every write transaction uses, driven from the writing task's own
//! thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement across to
//! it and the answer back. On a virtual machine with two cores those hand-offs, two per
//! statement, cost more than the statements: posting an invoice (twelve calls) kept sqlx's
//! thread busy for half the time it took and spent the other half waking threads on the other
//! core; confined to one core the same code ran a quarter faster, and no way of waiting
//! (`wait.rs`) closed the gap. So on SQLite the one connection that writes is driven here,
//! through SQLite's C interface, by the runtime thread that runs the transaction: no hand-off
//! at all. Statements are prepared once and kept; arguments come from sqlx's `Any` values and
//! rows go back as sqlx's `AnyRow`, so the modules' queries (`query(..).execute(tx.conn())`)
//! run unchanged, and they decode as they did through sqlx (the same value kinds, column
//! names and error kinds).
//!
//! The connection is opened by sqlx (the same URL, options and pragmas as every connection)
//! and then only lent: from then on its sqlx thread is never sent a statement, so only one
//! thread at a time uses the handle, which is all SQLite asks of a connection opened without
//! its own mutex. The statements kept here are finalized before sqlx closes the connection.
//!
//! The price: while a statement runs, it holds the runtime thread that runs it, as it holds the
//! database's one write lock anyway. Other tasks waiting on that thread are taken over by the
//! runtime's other threads; reads go through the read pool, whose connections keep their own
//! threads.

use libsqlite3_sys as ffi;
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Either};
use sqlx_core::any::{AnyColumn, AnyValueKind};
use sqlx_core::ext::ustr::UStr;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr};
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Statements kept prepared at most; past this, all are finalized and the count starts again
/// (the texts a server runs are a few hundred, but a text built with a varying number of rows
/// is a statement of its own each time).
const KEPT_STATEMENTS: usize = 400;

/// How long a writer waits for another process's write lock (every connection's busy timeout).
pub(crate) const BUSY_TIMEOUT_MS: c_int = 10_000;

/// What a statement gives back, as sqlx's executors give it: a row, or the outcome of a
/// finished statement.
pub(crate) type Outcome = Either<AnyQueryResult, AnyRow>;

/// The write connection. Only one task uses it at a time (it sits behind a mutex in `Db`).
pub(crate) struct Writer {
    handle: NonNull<ffi::sqlite3>,
    kept: HashMap<String, Vec<Prepared>>,
    /// Owns the handle and closes it when dropped; it is never sent a statement.
    owner: Option<SqliteConnection>,
}

// SAFETY: the handle is used by one thread at a time (the writer sits behind a mutex, and its
// sqlx thread is never sent work after `open`), which is what a SQLite connection opened in
// multi-thread mode requires.
unsafe impl Send for Writer {}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("kept_statements", &self.kept.len()).finish_non_exhaustive()
    }
}

/// A prepared statement with what its rows need: the names and declared types of its columns.
struct Prepared {
    raw: NonNull<ffi::sqlite3_stmt>,
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
    columns: Vec<AnyColumn>,
}

impl Writer {
    /// Opens the write connection to the database at `url` and applies `pragmas`.
    pub(crate) async fn open(url: &str, pragmas: &[String]) -> Result<Writer, sqlx::Error> {
        let options: SqliteConnectOptions = url.parse()?;
        let mut owner = options.connect().await?;
        let handle = owner.lock_handle().await?.as_raw_handle();
        let mut writer = Writer { handle, kept: HashMap::new(), owner: Some(owner) };
        for pragma in pragmas {
            writer.run_plain(pragma)?;
        }
        Ok(writer)
    }

    /// Begins a write transaction, taking the write lock at once (`BEGIN IMMEDIATE`). While
    /// another process holds the lock, the task sleeps and asks again, up to the busy timeout,
    /// instead of SQLite's busy handler putting the runtime thread to sleep.
    pub(crate) async fn begin(&mut self) -> Result<(), sqlx::Error> {
        // SAFETY: the connection is open.
        if self.in_transaction() {
            // A transaction whose rollback failed is still open: end it before the next.
            self.run_plain("ROLLBACK")?;
        }
        let deadline = Instant::now() + Duration::from_millis(BUSY_TIMEOUT_MS as u64);
        // SAFETY: the connection is open; the timeout is set back below on every path.
        unsafe { ffi::sqlite3_busy_timeout(self.handle.as_ptr(), 0) };
        let begun = loop {
            match self.run_plain("BEGIN IMMEDIATE") {
                Err(error) if is_busy(&error) && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                other => break other,
            }
        };
        // SAFETY: as above.
        unsafe { ffi::sqlite3_busy_timeout(self.handle.as_ptr(), BUSY_TIMEOUT_MS) };
        begun
    }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    pub(crate) fn in_transaction(&self) -> bool {
        // SAFETY: the connection is open.
        unsafe { ffi::sqlite3_get_autocommit(self.handle.as_ptr()) == 0 }
    }

    /// Runs a text without arguments whose rows, if any, are not needed (transaction control,
    /// pragmas, maintenance).
    pub(crate) fn run_plain(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        self.run(sql, None, false, false).map(drop)
    }

    /// Runs one text (one statement or several separated by semicolons) with its arguments,
    /// and returns every row and every finished statement's outcome in order, stopping at the
    /// first row when `first_row_only`. Like sqlx, each statement of a text is prepared when
    /// its turn comes (a text may create a table and then fill it). A text with arguments is
    /// kept prepared when `keep` (sqlx's `persistent`, true unless asked otherwise) once all
    /// its statements have been prepared.
    pub(crate) fn run(
        &mut self,
        sql: &str,
        arguments: Option<AnyArguments<'_>>,
        keep: bool,
        first_row_only: bool,
    ) -> Result<Vec<Outcome>, sqlx::Error> {
        let keep = keep && arguments.is_some();
        // Taken out while they run (the key too, to put them back without copying the text).
        let (text, mut text_run) = match self.kept.remove_entry(sql) {
            Some((text, statements)) => (Some(text), TextRun { statements, prepared_to_end: true }),
            None => (None, TextRun { statements: Vec::new(), prepared_to_end: false }),
        };
        let values = arguments.map(|a| a.values.0).unwrap_or_default();
        let mut outcomes = Vec::new();
        let result = self.run_text(sql, &mut text_run, keep, &values, first_row_only, &mut outcomes);
        for statement in &text_run.statements {
            // SAFETY: a statement of this connection; resetting ends its run and releases what
            // it held, clearing drops the values bound to it.
            unsafe {
                ffi::sqlite3_reset(statement.raw.as_ptr());
                ffi::sqlite3_clear_bindings(statement.raw.as_ptr());
            }
        }
        if keep && text_run.prepared_to_end {
            if self.kept.len() >= KEPT_STATEMENTS {
                self.kept.clear();
            }
            self.kept.insert(text.unwrap_or_else(|| sql.to_string()), text_run.statements);
        }
        result.map(|()| outcomes)
    }

    /// Runs the statements of a text in order, preparing each that is not prepared yet.
    fn run_text(
        &mut self,
        sql: &str,
        text_run: &mut TextRun,
        keep: bool,
        values: &[AnyValueKind<'_>],
        first_row_only: bool,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<(), sqlx::Error> {
        let (mut rest, mut offset, mut index) = (sql.as_bytes(), 0, 0);
        loop {
            if index == text_run.statements.len() {
                if text_run.prepared_to_end {
                    return Ok(());
                }
                match self.prepare_next(&mut rest, keep)? {
                    Some(statement) => text_run.statements.push(statement),
                    None => {
                        text_run.prepared_to_end = true;
                        return Ok(());
                    }
                }
            }
            let statement = &text_run.statements[index];
            offset += self.bind(statement, values, offset)?;
            if self.step(statement, first_row_only, outcomes)? == Stepped::StoppedAtFirstRow {
                // The statements after it do not run, but the text is kept whole: prepare
                // them (usually there are none), unless one cannot be prepared yet.
                while !text_run.prepared_to_end {
                    match self.prepare_next(&mut rest, keep) {
                        Ok(Some(statement)) => text_run.statements.push(statement),
                        Ok(None) => text_run.prepared_to_end = true,
                        Err(_) => break,
                    }
                }
                return Ok(());
            }
            index += 1;
        }
    }

    /// Steps a bound statement to its end, or to its first row when `first_row_only`.
    fn step(
        &self,
        statement: &Prepared,
        first_row_only: bool,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Stepped, sqlx::Error> {
        loop {
            // SAFETY: a statement of this connection, with its arguments bound.
            match unsafe { ffi::sqlite3_step(statement.raw.as_ptr()) } {
                ffi::SQLITE_ROW => {
                    outcomes.push(Either::Right(statement.row()?));
                    if first_row_only {
                        return Ok(Stepped::StoppedAtFirstRow);
                    }
                }
                ffi::SQLITE_DONE => {
                    // Like sqlx: the changes of the last statement that changed rows, and no id.
                    // SAFETY: the connection is open.
                    let changes = unsafe { ffi::sqlite3_changes64(self.handle.as_ptr()) };
                    outcomes.push(Either::Left(AnyQueryResult {
                        rows_affected: changes.max(0) as u64,
                        last_insert_id: None,
                    }));
                    return Ok(Stepped::Done);
                }
                _ => return Err(self.error()),
            }
        }
    }

    /// Binds the arguments a statement names, as sqlx does: `$N` and `?N` take the Nth
    /// argument, a bare `?` the next one after those the earlier statements of the text took;
    /// a parameter past the last argument stays NULL. Returns how many bare `?` it took.
    fn bind(&self, statement: &Prepared, values: &[AnyValueKind<'_>], offset: usize) -> Result<usize, sqlx::Error> {
        let raw = statement.raw.as_ptr();
        let mut next = offset;
        // SAFETY: a statement of this connection; text and blobs are copied by SQLite
        // (SQLITE_TRANSIENT) before the call returns.
        unsafe {
            for index in 1..=ffi::sqlite3_bind_parameter_count(raw) {
                let name = ffi::sqlite3_bind_parameter_name(raw, index);
                let n = if name.is_null() {
                    next += 1;
                    next
                } else {
                    let name = CStr::from_ptr(name).to_string_lossy();
                    name.strip_prefix(['$', '?']).and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| {
                        sqlx::Error::Protocol(format!("unsupported SQL parameter {name}: use $1, $2, …"))
                    })?
                };
                let Some(value) = n.checked_sub(1).and_then(|i| values.get(i)) else { break };
                let status = match value {
                    AnyValueKind::Null(_) => ffi::sqlite3_bind_null(raw, index),
                    AnyValueKind::Bool(b) => ffi::sqlite3_bind_int(raw, index, c_int::from(*b)),
                    AnyValueKind::SmallInt(i) => ffi::sqlite3_bind_int(raw, index, c_int::from(*i)),
                    AnyValueKind::Integer(i) => ffi::sqlite3_bind_int(raw, index, *i),
                    AnyValueKind::BigInt(i) => ffi::sqlite3_bind_int64(raw, index, *i),
                    AnyValueKind::Real(r) => ffi::sqlite3_bind_double(raw, index, f64::from(*r)),
                    AnyValueKind::Double(d) => ffi::sqlite3_bind_double(raw, index, *d),
                    AnyValueKind::Text(text) => ffi::sqlite3_bind_text64(
                        raw,
                        index,
                        text.as_ptr().cast::<c_char>(),
                        text.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                        ffi::SQLITE_UTF8 as u8,
                    ),
                    AnyValueKind::Blob(bytes) => ffi::sqlite3_bind_blob64(
                        raw,
                        index,
                        bytes.as_ptr().cast(),
                        bytes.len() as u64,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    other => return Err(sqlx::Error::Protocol(format!("SQLite cannot take the argument {other:?}"))),
                };
                if status != ffi::SQLITE_OK {
                    return Err(self.error());
                }
            }
        }
        Ok(next - offset)
    }

    /// Prepares the next statement of a text and moves `rest` past it; `None` at the end of
    /// the text (spaces and comments are not a statement).
    fn prepare_next(&mut self, rest: &mut &[u8], keep: bool) -> Result<Option<Prepared>, sqlx::Error> {
        let flags = if keep { ffi::SQLITE_PREPARE_PERSISTENT } else { 0 };
        while !rest.is_empty() {
            let mut raw = std::ptr::null_mut();
            let mut tail = std::ptr::null();
            // SAFETY: `rest` is valid for its length; SQLite writes the statement (or null for
            // a text of only spaces and comments) and where the next statement starts.
            let status = unsafe {
                ffi::sqlite3_prepare_v3(
                    self.handle.as_ptr(),
                    rest.as_ptr().cast::<c_char>(),
                    rest.len() as c_int,
                    flags,
                    &mut raw,
                    &mut tail,
                )
            };
            if status != ffi::SQLITE_OK {
                return Err(self.error());
            }
            let used = (tail as usize).saturating_sub(rest.as_ptr() as usize).min(rest.len());
            *rest = &rest[used..];
            if let Some(raw) = NonNull::new(raw) {
                return Ok(Some(Prepared::new(raw)));
            }
            if used == 0 {
                break;
            }
        }
        Ok(None)
    }

    /// The connection's last error, as sqlx reports a database error.
    fn error(&self) -> sqlx::Error {
        // SAFETY: the connection is open; the message is copied before the next call.
        let (code, message) = unsafe {
            let handle = self.handle.as_ptr();
            (
                ffi::sqlite3_extended_errcode(handle),
                CStr::from_ptr(ffi::sqlite3_errmsg(handle)).to_string_lossy().into_owned(),
            )
        };
        sqlx::Error::Database(Box::new(SqliteFailure { code, message }))
    }

    /// Finalizes the kept statements and closes the connection.
    pub(crate) async fn close(mut self) -> Result<(), sqlx::Error> {
        self.kept.clear();
        match self.owner.take() {
            Some(owner) => owner.close().await,
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Before `owner` closes the connection: sqlx refuses to close one with statements open.
        self.kept.clear();
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        // SAFETY: a statement of this connection, not used again.
        unsafe { ffi::sqlite3_finalize(self.raw.as_ptr()) };
    }
}

/// The statements of a text as far as they have been prepared.
struct TextRun {
    statements: Vec<Prepared>,
    /// Whether `statements` holds every statement of the text.
    prepared_to_end: bool,
}

#[derive(PartialEq, Eq)]
enum Stepped {
    Done,
    StoppedAtFirstRow,
}

/// Whether SQLite refused because another connection holds the lock it needs.
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            e.code().and_then(|code| code.parse::<c_int>().ok()).is_some_and(|code| code & 0xff == ffi::SQLITE_BUSY)
        }
        _ => false,
    }
}

impl Prepared {
    /// Reads the names and declared types of the columns, as sqlx does when it prepares.
    fn new(raw: NonNull<ffi::sqlite3_stmt>) -> Prepared {
        let mut names = sqlx_core::HashMap::default();
        let mut columns = Vec::new();
        // SAFETY: a freshly prepared statement; names and types are copied at once.
        unsafe {
            for ordinal in 0..ffi::sqlite3_column_count(raw.as_ptr()) {
                let name = ffi::sqlite3_column_name(raw.as_ptr(), ordinal);
                let name: UStr =
                    if name.is_null() { String::new() } else { CStr::from_ptr(name).to_string_lossy().into_owned() }
                        .into();
                let declared = ffi::sqlite3_column_decltype(raw.as_ptr(), ordinal);
                let kind = if declared.is_null() {
                    AnyTypeInfoKind::Null
                } else {
                    declared_kind(&CStr::from_ptr(declared).to_string_lossy())
                };
                let ordinal = ordinal as usize;
                names.insert(name.clone(), ordinal);
                columns.push(AnyColumn { ordinal, name, type_info: AnyTypeInfo { kind } });
            }
        }
        Prepared { raw, names: Arc::new(names), columns }
    }

    /// The row the statement stands on, its values by their stored type as sqlx reads them.
    fn row(&self) -> Result<AnyRow, sqlx::Error> {
        let raw = self.raw.as_ptr();
        let mut values = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let i = column.ordinal as c_int;
            // SAFETY: the statement stands on a row; text and blobs are copied at once.
            let kind = unsafe {
                match ffi::sqlite3_column_type(raw, i) {
                    ffi::SQLITE_INTEGER => AnyValueKind::BigInt(ffi::sqlite3_column_int64(raw, i)),
                    ffi::SQLITE_FLOAT => AnyValueKind::Double(ffi::sqlite3_column_double(raw, i)),
                    ffi::SQLITE_TEXT => {
                        let bytes = column_bytes(ffi::sqlite3_column_text(raw, i), ffi::sqlite3_column_bytes(raw, i));
                        let text = std::str::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
                            index: column.name.to_string(),
                            source: Box::new(e),
                        })?;
                        AnyValueKind::Text(Cow::Owned(text.to_string()))
                    }
                    ffi::SQLITE_BLOB => {
                        let bytes =
                            column_bytes(ffi::sqlite3_column_blob(raw, i).cast(), ffi::sqlite3_column_bytes(raw, i));
                        AnyValueKind::Blob(Cow::Owned(bytes.to_vec()))
                    }
                    _ => AnyValueKind::Null(column.type_info.kind),
                }
            };
            values.push(AnyValue { kind });
        }
        Ok(AnyRow { column_names: self.names.clone(), columns: self.columns.clone(), values })
    }
}

/// The bytes of a text or blob value (SQLite gives a null pointer for an empty one).
///
/// # Safety
/// `data` must point to `len` bytes that stay valid while the result is used.
unsafe fn column_bytes<'a>(data: *const u8, len: c_int) -> &'a [u8] {
    if data.is_null() || len <= 0 {
        &[]
    } else {
        // SAFETY: as the caller promises.
        unsafe { std::slice::from_raw_parts(data, len as usize) }
    }
}

/// The kind sqlx gives a column from its declared type (its rules for SQLite's type names).
fn declared_kind(declared: &str) -> AnyTypeInfoKind {
    let declared = declared.to_ascii_lowercase();
    match declared.as_str() {
        "int4" => AnyTypeInfoKind::Integer,
        "boolean" | "bool" => AnyTypeInfoKind::Bool,
        _ if declared.contains("int") => AnyTypeInfoKind::BigInt,
        _ if declared.contains("char") || declared.contains("clob") || declared.contains("text") => {
            AnyTypeInfoKind::Text
        }
        _ if declared.contains("blob") => AnyTypeInfoKind::Blob,
        _ if declared.contains("real") || declared.contains("floa") || declared.contains("doub") => {
            AnyTypeInfoKind::Double
        }
        _ => AnyTypeInfoKind::Null,
    }
}

/// A statement SQLite refused, with its extended result code (as sqlx's SQLite errors carry).
#[derive(Debug)]
struct SqliteFailure {
    code: c_int,
    message: String,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Writer;
    use sqlx::any::AnyArguments;
    use sqlx::Arguments;

    fn one(value: i64) -> Option<AnyArguments<'static>> {
        let mut arguments = AnyArguments::default();
        arguments.add(value).expect("argument");
        Some(arguments)
    }

    /// The statements a posting runs most are read for their first row (`fetch_one` of an
    /// insert's returned id): they must stay prepared like any other, or every posting
    /// prepares them again (a fifth of its time, measured).
    #[tokio::test]
    async fn a_statement_read_for_its_first_row_stays_prepared_and_a_text_of_two_keeps_both() {
        sqlx::any::install_default_drivers();
        let dir = std::env::temp_dir().join(format!("zhongshu-direct-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("directory");
        let url = format!("sqlite://{}?mode=rwc", dir.join("kept.db").display());
        let mut writer = Writer::open(&url, &[]).await.expect("open");
        for n in [1, 2] {
            let rows = writer.run("SELECT $1 AS n", one(n), true, true).expect("select");
            assert_eq!(rows.len(), 1);
        }
        writer.run("SELECT $1 AS n; SELECT 2 AS m", one(1), true, true).expect("two statements");
        assert_eq!(writer.kept.get("SELECT $1 AS n").map(Vec::len), Some(1));
        assert_eq!(writer.kept.get("SELECT $1 AS n; SELECT 2 AS m").map(Vec::len), Some(2));
        // Without arguments, a text is run and let go, as sqlx does.
        writer.run("SELECT 3 AS k", None, true, false).expect("no arguments");
        assert!(!writer.kept.contains_key("SELECT 3 AS k"));
        writer.close().await.expect("close");
        let _ = std::fs::remove_dir_all(dir);
    }
}

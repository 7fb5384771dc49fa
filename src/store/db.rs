//! Where SQL meets a driver: one small query API over two engines.
//!
//! Every statement in the store is written once, with `$1` parameters and
//! times as integer milliseconds, and runs on either engine:
//!
//! - **PostgreSQL** through `sqlx` (a pool, async, many instances);
//! - **SQLite** through `rusqlite`, called directly on the task that runs
//!   the transaction. SQLite is an in-process library whose statements take
//!   microseconds; handing each one to a driver thread and waiting to be
//!   woken again (what an async SQLite driver must do) cost far more than
//!   the statement itself, and held the one writer idle between statements
//!   of a transaction while its task waited to be polled. Run directly, a
//!   whole transaction completes in one go (see `Store::begin`).
//!
//! The builder mirrors `sqlx::query` (`query(sql).bind(v).fetch_one(target)`)
//! so the store reads the same for both; [`Row::try_get`] decodes a column
//! by name whichever engine produced it.

use super::{Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row as _};
use std::sync::Arc;

/// A bound parameter. NULLs keep their type: PostgreSQL types every
/// parameter, and a text NULL is not a valid bigint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

/// A value bindable as a parameter.
pub(crate) trait IntoArg {
    fn into_arg(self) -> Arg;
}

impl IntoArg for i64 {
    fn into_arg(self) -> Arg {
        Arg::Int(self)
    }
}
impl IntoArg for i32 {
    fn into_arg(self) -> Arg {
        Arg::Int(self.into())
    }
}
impl IntoArg for &str {
    fn into_arg(self) -> Arg {
        Arg::Text(self.to_string())
    }
}
impl IntoArg for &&str {
    fn into_arg(self) -> Arg {
        Arg::Text(self.to_string())
    }
}
impl IntoArg for String {
    fn into_arg(self) -> Arg {
        Arg::Text(self)
    }
}
impl IntoArg for &String {
    fn into_arg(self) -> Arg {
        Arg::Text(self.clone())
    }
}
impl IntoArg for Option<String> {
    fn into_arg(self) -> Arg {
        self.map_or(Arg::NullText, Arg::Text)
    }
}
impl IntoArg for Option<&str> {
    fn into_arg(self) -> Arg {
        self.map_or(Arg::NullText, |s| Arg::Text(s.to_string()))
    }
}
impl IntoArg for Option<i64> {
    fn into_arg(self) -> Arg {
        self.map_or(Arg::NullInt, Arg::Int)
    }
}

/// A statement and its parameters, not yet run.
#[must_use = "a query does nothing until it is run"]
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Arg>,
}

/// Starts a statement (`$1`, `$2`… parameters, bound in order).
pub(crate) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// A statement for `n` rows (a multi-row `INSERT`, a `VALUES` list) made
/// by `build(n)`: built once per size while `n` fits `cache`, anew beyond.
/// Formatting such SQL for every call showed up in profiles on SQLite's
/// writer path, and one string per size keeps one prepared statement each.
pub(crate) fn sql_for_rows(
    cache: &'static [std::sync::OnceLock<String>],
    n: usize,
    build: impl Fn(usize) -> String,
) -> std::borrow::Cow<'static, str> {
    match n.checked_sub(1).and_then(|i| cache.get(i)) {
        Some(cell) => std::borrow::Cow::Borrowed(cell.get_or_init(|| build(n))),
        None => std::borrow::Cow::Owned(build(n)),
    }
}

/// `$k` placeholders for row `row` (from 0) of rows `width` parameters wide:
/// row 1 of width 3 is `$4, $5, $6`.
pub(crate) fn placeholders(row: usize, width: usize) -> Vec<String> {
    (1..=width)
        .map(|k| format!("${}", width * row + k))
        .collect()
}

/// Where a statement runs.
pub(crate) enum Target<'a> {
    /// A PostgreSQL pool (one statement, autocommit).
    Pool(&'a AnyPool),
    /// A PostgreSQL connection inside a transaction.
    Conn(&'a mut AnyConnection),
    /// A SQLite connection (inside a transaction, or held for one
    /// statement). `&mut`, not `&`: the connection is `Send` but not `Sync`,
    /// and whoever holds it has it to themselves.
    Lite(&'a mut rusqlite::Connection),
}

/// A row from either engine.
pub(crate) enum Row {
    Any(AnyRow),
    Lite(LiteRow),
}

/// A SQLite row, copied out of the statement.
pub(crate) struct LiteRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, v: impl IntoArg) -> Self {
        self.args.push(v.into_arg());
        self
    }

    /// Runs the statement; returns how many rows it changed.
    pub(crate) async fn execute(self, target: Target<'_>) -> Result<u64> {
        match target {
            Target::Lite(c) => lite_run(c, &self).map(|(_, n)| n),
            Target::Pool(p) => Ok(self.any().execute(p).await?.rows_affected()),
            Target::Conn(c) => Ok(self.any().execute(c).await?.rows_affected()),
        }
    }

    pub(crate) async fn fetch_all(self, target: Target<'_>) -> Result<Vec<Row>> {
        match target {
            Target::Lite(c) => lite_run(c, &self).map(|(rows, _)| rows),
            Target::Pool(p) => Ok(wrap(self.any().fetch_all(p).await?)),
            Target::Conn(c) => Ok(wrap(self.any().fetch_all(c).await?)),
        }
    }

    pub(crate) async fn fetch_optional(self, target: Target<'_>) -> Result<Option<Row>> {
        match target {
            // A statement that changes rows (`UPDATE … RETURNING`) runs to
            // completion even though only its first row is wanted.
            Target::Lite(c) => lite_run(c, &self).map(|(rows, _)| rows.into_iter().next()),
            Target::Pool(p) => Ok(self.any().fetch_optional(p).await?.map(Row::Any)),
            Target::Conn(c) => Ok(self.any().fetch_optional(c).await?.map(Row::Any)),
        }
    }

    pub(crate) async fn fetch_one(self, target: Target<'_>) -> Result<Row> {
        self.fetch_optional(target)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    /// Runs an `INSERT … RETURNING id` (plain, or `ON CONFLICT … DO
    /// NOTHING`) and returns the new row's id, or `None` if nothing was
    /// inserted. On SQLite the statement runs without its `RETURNING`
    /// clause and the id comes from `last_insert_rowid()`: SQLite buffers
    /// `RETURNING` rows in a temporary table, which cost more than the
    /// insert on the writer's path. Not for `DO UPDATE` upserts, whose
    /// update leaves `last_insert_rowid()` alone.
    pub(crate) async fn insert_id(self, target: Target<'_>) -> Result<Option<i64>> {
        debug_assert!(
            !self.sql.contains("DO UPDATE"),
            "insert_id on an upsert: {}",
            self.sql
        );
        match target {
            Target::Lite(c) => {
                let bare = self
                    .sql
                    .trim_end()
                    .strip_suffix("RETURNING id")
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("insert_id needs RETURNING id: {}", self.sql))
                    })?;
                let q = Query {
                    sql: bare,
                    args: self.args,
                };
                let (_, changed) = lite_run(c, &q)?;
                Ok((changed > 0).then(|| c.last_insert_rowid()))
            }
            other => match self.fetch_optional(other).await? {
                Some(r) => Ok(Some(r.try_get::<i64>("id")?)),
                None => Ok(None),
            },
        }
    }

    /// The same statement as a `sqlx` query (PostgreSQL).
    fn any(&self) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(self.sql);
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::NullInt => q.bind(None::<i64>),
                Arg::NullText => q.bind(None::<String>),
            };
        }
        q
    }
}

fn wrap(rows: Vec<AnyRow>) -> Vec<Row> {
    rows.into_iter().map(Row::Any).collect()
}

/// Runs `q` on a SQLite connection: binds `$N` to the N-th argument (SQLite
/// numbers named parameters by first appearance, so `$2 … $1` would
/// otherwise swap), steps it to the end (so `UPDATE … RETURNING` changes
/// every row even when one is wanted) and copies out its rows.
fn lite_run(c: &rusqlite::Connection, q: &Query<'_>) -> Result<(Vec<Row>, u64)> {
    use rusqlite::types::ValueRef;
    let mut stmt = c.prepare_cached(q.sql)?;
    for i in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(i).unwrap_or("");
        let n: usize = name
            .strip_prefix('$')
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!("parameter {name:?} is not $N in: {}", q.sql))
            })?;
        let arg = q
            .args
            .get(n - 1)
            .ok_or_else(|| StoreError::Corrupt(format!("no value bound for ${n} in: {}", q.sql)))?;
        match arg {
            Arg::Int(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::Text(v) => stmt.raw_bind_parameter(i, v)?,
            Arg::NullInt | Arg::NullText => stmt.raw_bind_parameter(i, rusqlite::types::Null)?,
        }
    }
    // Column names are copied once per statement that returns a row, and
    // shared by its rows (most statements return none).
    let columns: Arc<[String]> = if stmt.column_count() == 0 {
        Arc::new([])
    } else {
        stmt.column_names().iter().map(|s| s.to_string()).collect()
    };
    let width = columns.len();
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(r) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Real(v),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
            });
        }
        out.push(Row::Lite(LiteRow {
            columns: columns.clone(),
            values,
        }));
    }
    drop(rows);
    Ok((out, c.changes()))
}

/// A column type the store reads.
pub(crate) trait FromDb: Sized {
    fn from_any(r: &AnyRow, col: &str) -> std::result::Result<Self, sqlx::Error>;
    fn from_lite(v: &Value) -> Option<Self>;
}

impl FromDb for i64 {
    fn from_any(r: &AnyRow, col: &str) -> std::result::Result<Self, sqlx::Error> {
        r.try_get(col)
    }
    fn from_lite(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            // SUM() over integers can come back as a real in SQLite.
            Value::Real(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }
}

impl FromDb for String {
    fn from_any(r: &AnyRow, col: &str) -> std::result::Result<Self, sqlx::Error> {
        r.try_get(col)
    }
    fn from_lite(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl<T: FromDb> FromDb for Option<T>
where
    Option<T>: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    fn from_any(r: &AnyRow, col: &str) -> std::result::Result<Self, sqlx::Error> {
        r.try_get(col)
    }
    fn from_lite(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_lite(v).map(Some),
        }
    }
}

impl Row {
    /// The value of column `col`, or an error naming the column if it is
    /// missing or of another type.
    pub(crate) fn try_get<T: FromDb>(&self, col: &str) -> Result<T> {
        match self {
            Row::Any(r) => T::from_any(r, col).map_err(StoreError::Db),
            Row::Lite(r) => {
                let i = r
                    .columns
                    .iter()
                    .position(|c| c == col)
                    .ok_or_else(|| StoreError::Corrupt(format!("no column {col:?}")))?;
                T::from_lite(&r.values[i]).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "column {col:?} holds {:?}, not a {}",
                        r.values[i],
                        std::any::type_name::<T>()
                    ))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)")
            .unwrap();
        c
    }

    #[tokio::test]
    async fn dollar_parameters_bind_by_number_not_by_first_appearance() {
        let mut c = conn();
        // $2 appears first: it must still get the second value.
        query("INSERT INTO t (b, a) VALUES ($2, $1)")
            .bind("x")
            .bind(7i64)
            .execute(Target::Lite(&mut c))
            .await
            .unwrap();
        let r = query("SELECT a, b FROM t WHERE b = $1 AND a = $2 AND $1 = b")
            .bind(7i64)
            .bind("x")
            .fetch_one(Target::Lite(&mut c))
            .await
            .unwrap();
        assert_eq!(r.try_get::<String>("a").unwrap(), "x");
        assert_eq!(r.try_get::<i64>("b").unwrap(), 7);
    }

    #[tokio::test]
    async fn nulls_missing_columns_and_wrong_types_are_told_apart() {
        let mut c = conn();
        query("INSERT INTO t (a, b) VALUES ($1, $2)")
            .bind(None::<String>)
            .bind(None::<i64>)
            .execute(Target::Lite(&mut c))
            .await
            .unwrap();
        let r = query("SELECT a, b, id FROM t")
            .fetch_one(Target::Lite(&mut c))
            .await
            .unwrap();
        assert_eq!(r.try_get::<Option<String>>("a").unwrap(), None);
        assert_eq!(r.try_get::<Option<i64>>("b").unwrap(), None);
        assert!(r.try_get::<String>("a").is_err(), "NULL is not a String");
        assert!(
            r.try_get::<String>("id").is_err(),
            "an integer is not a String"
        );
        let e = r.try_get::<i64>("nope").unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
    }

    #[test]
    fn sql_for_rows_builds_each_cached_size_once() {
        static CACHE: [std::sync::OnceLock<String>; 2] = [const { std::sync::OnceLock::new() }; 2];
        let build = |n: usize| {
            let rows: Vec<String> = (0..n).map(|i| placeholders(i, 2).join(", ")).collect();
            format!("({})", rows.join("), ("))
        };
        let two = sql_for_rows(&CACHE, 2, build);
        assert_eq!(two, "($1, $2), ($3, $4)");
        assert!(matches!(two, std::borrow::Cow::Borrowed(_)));
        assert!(std::ptr::eq(
            sql_for_rows(&CACHE, 2, build).as_ptr(),
            two.as_ptr()
        ));
        let three = sql_for_rows(&CACHE, 3, build);
        assert_eq!(three, "($1, $2), ($3, $4), ($5, $6)");
        assert!(
            matches!(three, std::borrow::Cow::Owned(_)),
            "beyond the cache"
        );
        assert!(matches!(
            sql_for_rows(&CACHE, 0, build),
            std::borrow::Cow::Owned(_)
        ));
    }

    #[tokio::test]
    async fn insert_id_gives_the_new_rows_id_or_none_when_nothing_was_inserted() {
        let mut c = conn();
        c.execute_batch("CREATE UNIQUE INDEX t_a ON t (a)").unwrap();
        let insert = "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO NOTHING RETURNING id";
        let first = query(insert)
            .bind("x")
            .insert_id(Target::Lite(&mut c))
            .await
            .unwrap();
        let second = query(insert)
            .bind("y")
            .insert_id(Target::Lite(&mut c))
            .await
            .unwrap();
        assert_eq!((first, second), (Some(1), Some(2)));
        let again = query(insert)
            .bind("x")
            .insert_id(Target::Lite(&mut c))
            .await
            .unwrap();
        assert_eq!(again, None, "a conflict inserts nothing");
        let plain = query("INSERT INTO t (a) VALUES ($1)")
            .bind("z")
            .insert_id(Target::Lite(&mut c))
            .await;
        assert!(plain.is_err(), "the statement must end in RETURNING id");
    }

    #[tokio::test]
    async fn execute_counts_changed_rows_and_missing_values_are_errors() {
        let mut c = conn();
        for v in ["a", "b", "c"] {
            query("INSERT INTO t (a) VALUES ($1)")
                .bind(v)
                .execute(Target::Lite(&mut c))
                .await
                .unwrap();
        }
        let n = query("UPDATE t SET b = 1 WHERE a <> $1")
            .bind("a")
            .execute(Target::Lite(&mut c))
            .await
            .unwrap();
        assert_eq!(n, 2);
        // `UPDATE … RETURNING` through execute still changes every row.
        let n = query("UPDATE t SET b = 2 RETURNING id")
            .execute(Target::Lite(&mut c))
            .await
            .unwrap();
        assert_eq!(n, 3);
        assert!(query("SELECT * FROM t WHERE a = $1")
            .fetch_all(Target::Lite(&mut c))
            .await
            .is_err());
        assert!(query("SELECT * FROM t WHERE a = $1")
            .fetch_one(Target::Lite(&mut c))
            .await
            .is_err_and(|e| e.to_string().contains("$1")));
    }
}

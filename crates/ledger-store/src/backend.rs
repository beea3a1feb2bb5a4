//! The two database engines the ledger runs on, and the macro that runs one piece of code on
//! whichever a store has.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

/// The two database engines the ledger runs on.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which engine a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// Runs the same code against whichever pool the store has; the SQL must be valid in both dialects
/// (`$1` placeholders work in both).
macro_rules! on_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            $crate::backend::Backend::Sqlite($pool) => $body,
            $crate::backend::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

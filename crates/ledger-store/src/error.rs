//! Errors of the store, with database failures mapped to domain meanings in one place.

use ledger_core::AccountId;

/// What can go wrong when reading or writing the ledger's database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("unsupported database URL `{0}` (expected sqlite:... or postgres://...)")]
    UnsupportedUrl(String),
    #[error("account code `{0}` is already taken")]
    AccountCodeTaken(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("the balance of account {0} would leave the range of a 64-bit integer")]
    BalanceOverflow(AccountId),
    /// A balance would pass `ledger_core::limits::MAX_ACCOUNT_BALANCE_MINOR`; nothing written.
    #[error("the balance of account {0} would pass the limit max_account_balance")]
    BalanceLimit(AccountId),
    /// A database constraint enforcing one of `ledger_core::limits` refused the write (the limit's
    /// name, as the API reports it); nothing written.
    #[error("the write would pass the limit {0}")]
    LimitExceeded(&'static str),
    #[error("a unique constraint refused the write: {0}")]
    UniqueViolation(String),
    #[error("the journal writer has stopped")]
    WriterStopped,
    #[error("the journal reader stopped before the end of its range")]
    ReaderStopped,
    #[error("the database cannot be reached: {0}")]
    Unreachable(String),
    #[error("there is no database at {0}")]
    NoDatabase(String),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database_error) = &error
            && database_error.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            // PostgreSQL names the constraint; SQLite names the columns in its message.
            let constraint = database_error
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| database_error.message().to_owned());
            return StoreError::UniqueViolation(constraint);
        }
        if let Some(limit) = exceeded_limit(&error) {
            return StoreError::LimitExceeded(limit);
        }
        StoreError::Database(error)
    }
}

/// The limits the database enforces itself (migrations 0008), by the name of the PostgreSQL CHECK
/// constraint or the text of the SQLite trigger that refuses the row, with the limit's API name.
const DATABASE_LIMITS: [(&str, &str); 2] = [
    (
        "contribution_batches_period_total_within_limit",
        "max_contributor_period_amount",
    ),
    ("account_balances_within_limit", "max_account_balance"),
];

/// The limit a database error reports, if it is one of [`DATABASE_LIMITS`].
fn exceeded_limit(error: &sqlx::Error) -> Option<&'static str> {
    let sqlx::Error::Database(database_error) = error else {
        return None;
    };
    let constraint = database_error.constraint().unwrap_or_default();
    let message = database_error.message();
    DATABASE_LIMITS
        .iter()
        .find(|(name, _)| constraint == *name || message.contains(name))
        .map(|(_, limit)| *limit)
}

impl StoreError {
    /// True when the database refused the statement because history is append-only.
    pub fn is_append_only_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(error)) if error.message().contains("append_only"))
    }
}

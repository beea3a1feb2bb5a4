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
    /// The database refused a programme version taking effect in or before a period that has a
    /// recorded run (migrations 0025, `programme_versions_after_recorded_runs`); nothing written.
    #[error("the programme has a recorded run for the version's effective period or a later one")]
    PeriodAlreadyPlanned,
    /// The database refused a run recorded with a programme version that a later version
    /// superseded for its period (migrations 0025, `transfer_runs_use_the_rules_in_force`);
    /// nothing written.
    #[error("a later programme version governs the run's period")]
    ProgrammeRulesChanged,
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
        if let Some(refusal) = refused_programme_rule(&error) {
            return refusal;
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
    DATABASE_LIMITS
        .iter()
        .find(|(name, _)| is_refusal_of(error, name))
        .map(|(_, limit)| *limit)
}

/// The rules between programme versions and runs the database holds (migrations 0025), by the
/// constraint the PostgreSQL trigger raises with or the text the SQLite trigger starts with.
const PROGRAMME_RULES: [(&str, StoreError); 2] = [
    (
        "programme_versions_after_recorded_runs",
        StoreError::PeriodAlreadyPlanned,
    ),
    (
        "transfer_runs_use_the_rules_in_force",
        StoreError::ProgrammeRulesChanged,
    ),
];

/// The refusal a database error reports, if it is one of [`PROGRAMME_RULES`].
fn refused_programme_rule(error: &sqlx::Error) -> Option<StoreError> {
    PROGRAMME_RULES
        .into_iter()
        .find(|(name, _)| is_refusal_of(error, name))
        .map(|(_, refusal)| refusal)
}

/// Whether the database refused the statement by the rule `name`: PostgreSQL names it as the
/// error's constraint (a CHECK, or a trigger raising with `CONSTRAINT =`), SQLite's triggers put
/// it in their text.
fn is_refusal_of(error: &sqlx::Error, name: &str) -> bool {
    let sqlx::Error::Database(database_error) = error else {
        return false;
    };
    database_error.constraint() == Some(name) || database_error.message().contains(name)
}

impl StoreError {
    /// True when the database refused the statement because history is append-only.
    pub fn is_append_only_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(error)) if error.message().contains("append_only"))
    }
}

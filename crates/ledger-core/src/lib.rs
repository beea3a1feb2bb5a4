//! Pure domain of the solidarity ledger: exact money, currency conversion, weighted splits, the
//! double-entry journal and its hash chain. No I/O, no clock, no randomness: time and ids are passed
//! in, so every decision can be replayed by an auditor and property-tested.

pub mod bank;
pub mod camt053;
pub mod chain;
pub mod chart;
pub mod checkpoint;
pub mod conditions;
pub mod contribution;
pub mod evidence;
pub mod export;
pub mod fund;
pub mod fx;
pub mod iati;
pub mod journal;
pub mod limits;
pub mod lots;
pub mod memo;
pub mod money;
pub mod organisation;
pub mod pain001;
pub mod payment_reference;
pub mod period;
pub mod postings;
pub mod publication;
pub mod redistribution;
pub mod review;
pub mod settlement;
pub mod split;
pub mod spreadsheet;
pub mod statement_matching;
pub mod text;
pub mod time;
pub mod transfer_run;
pub mod versions;
pub mod xml_writer;

pub use chain::{
    ChainBreak, ChainHash, ChainVerifier, GENESIS_HASH, JournalRecord, Movements, RecordDigest,
    RecordPosting,
};
pub use fx::{Conversion, ExchangeRate, FxError, RateSource};
pub use journal::{
    Account, AccountCode, AccountId, AccountKind, Actor, BalancedTransaction, JournalViolation,
    OrganisationId, Posting, TransactionDraft, TransactionId, TransactionKind,
};
pub use money::{Amount, AmountError, Currency, CurrencyError, MAX_AMOUNT_MINOR};
pub use period::{PERIOD_HORIZON_MONTHS, Period, PeriodKind};
pub use split::{SplitError, split_by_weights};
pub use time::{DateError, FundDate, Timestamp};

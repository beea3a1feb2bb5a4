//! The double-entry journal: accounts, transaction drafts, and the validation that turns a draft into
//! a [`BalancedTransaction`] — the only kind of transaction the store will append.
//!
//! Postings are signed amounts: positive debits, negative credits. A transaction balances when, for
//! every currency, its postings sum to zero; a movement between currencies goes through conversion
//! accounts so each currency balances on its own.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::{Amount, Currency};
use crate::time::Timestamp;

/// The most postings one transaction may have. A contribution batch posts a handful of lines per
/// account, not one per member, and a bound keeps one append's work and size predictable.
pub const MAX_POSTINGS_PER_TRANSACTION: usize = 10_000;
/// The most characters of a memo: a sentence or two for a human reader, or a correction's short
/// prefix and its quoted reason (see [`crate::memo`], which checks at compile time that the
/// longest of them fits).
pub const MAX_MEMO_LENGTH: usize = 1_200;
/// The most bytes of a transaction's metadata as JSON: references and ids, not documents.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The most characters of an actor's subject (a JWT `sub`).
pub const MAX_SUBJECT_LENGTH: usize = 255;
/// The most characters of an account code.
pub const MAX_ACCOUNT_CODE_LENGTH: usize = 128;

macro_rules! uuid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, formatter)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self)
            }
        }
    };
}

uuid_newtype!(
    /// Identifies an account.
    AccountId
);
uuid_newtype!(
    /// Identifies an organisation (a union, a mutual, the network, an auditor).
    OrganisationId
);
uuid_newtype!(
    /// Identifies a journal transaction independently of its sequence number.
    TransactionId
);

/// The nature of an account, which says on which side its balance normally sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccountKind {
    /// Money the fund holds or is owed (bank, receivables, funds in transit). Debit balance.
    Asset,
    /// Money the fund owes (an advance not yet accounted for). Credit balance.
    Liability,
    /// Funds held for the programme: the pool, earmarked and held funds, fee coverage. Credit balance.
    NetAssets,
    /// Pledges, donations and deposits. Credit balance.
    Income,
    /// Transfers, fees, redistribution. Debit balance.
    Expense,
}

impl AccountKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AccountKind::Asset => "asset",
            AccountKind::Liability => "liability",
            AccountKind::NetAssets => "net_assets",
            AccountKind::Income => "income",
            AccountKind::Expense => "expense",
        }
    }
}

impl FromStr for AccountKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "asset" => AccountKind::Asset,
            "liability" => AccountKind::Liability,
            "net_assets" => AccountKind::NetAssets,
            "income" => AccountKind::Income,
            "expense" => AccountKind::Expense,
            other => return Err(format!("unknown account kind `{other}`")),
        })
    }
}

/// A stable, human-readable account code such as `programme:2f1c…:pool`: lower-case ASCII letters,
/// digits and `: _ . -`, 1 to [`MAX_ACCOUNT_CODE_LENGTH`] characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountCode(String);

impl AccountCode {
    pub fn parse(text: &str) -> Result<AccountCode, String> {
        let allowed = |c: char| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '_' | '.' | '-')
        };
        if text.is_empty() || text.len() > MAX_ACCOUNT_CODE_LENGTH || !text.chars().all(allowed) {
            return Err(format!(
                "account code must be 1 to {MAX_ACCOUNT_CODE_LENGTH} characters of a-z, 0-9, `:`, `_`, `.`, `-`"
            ));
        }
        Ok(AccountCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A valid code for the impossible case of a generated code failing its own check.
    pub(crate) fn fallback() -> AccountCode {
        AccountCode("invalid".to_owned())
    }
}

impl fmt::Display for AccountCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl fmt::Debug for AccountCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl<'de> Deserialize<'de> for AccountCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AccountCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An account of the fund's chart. Accounts are opened once and never change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub code: AccountCode,
    pub name: String,
    pub kind: AccountKind,
    pub currency: Currency,
    /// The organisation whose money the account tracks, if any (a contributor's receivable, a
    /// beneficiary's advance); `None` for the fund's own accounts.
    pub owner_organisation: Option<OrganisationId>,
}

/// What a transaction records. Each money flow of the design has its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransactionKind {
    /// A contributor's batch: receivable ↔ pledged.
    Pledge,
    /// A bank receipt matching a batch: cash ↔ receivable, pool credited.
    Receipt,
    /// The reversal of an earlier transaction.
    Reversal,
    /// Money given to the fee-coverage account.
    FeeCoverageDeposit,
    /// Pool money allocated to a beneficiary by a transfer run.
    Allocation,
    /// A transfer leaving for a beneficiary, fees reserved.
    Transfer,
    /// A beneficiary's confirmation of what it received.
    Settlement,
    /// A top-up paid from fee coverage to make good a shortfall.
    TopUp,
    /// An accepted redistribution report liquidating an advance.
    Redistribution,
    /// A correction or opening entry made by the network, with its reason in the memo.
    Adjustment,
    /// A bank charge a statement shows on the fund's account, paid by fee coverage.
    BankCharge,
}

impl TransactionKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TransactionKind::Pledge => "pledge",
            TransactionKind::Receipt => "receipt",
            TransactionKind::Reversal => "reversal",
            TransactionKind::FeeCoverageDeposit => "fee_coverage_deposit",
            TransactionKind::Allocation => "allocation",
            TransactionKind::Transfer => "transfer",
            TransactionKind::Settlement => "settlement",
            TransactionKind::TopUp => "top_up",
            TransactionKind::Redistribution => "redistribution",
            TransactionKind::Adjustment => "adjustment",
            TransactionKind::BankCharge => "bank_charge",
        }
    }
}

/// Who made a transaction: the token's subject and organisation, or `system` for the service itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub subject: String,
    pub organisation: Option<OrganisationId>,
}

impl Actor {
    /// The service itself (migrations, the demo, maintenance commands).
    pub fn system() -> Actor {
        Actor {
            subject: "system".to_owned(),
            organisation: None,
        }
    }
}

/// One leg of a transaction: a signed amount on an account (debit positive, credit negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub account_id: AccountId,
    pub amount: Amount,
}

/// A transaction as proposed, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionDraft {
    pub id: TransactionId,
    pub kind: TransactionKind,
    /// The accounting date (value date) of the movement.
    pub effective_date: NaiveDate,
    /// When the ledger recorded it (passed in: the core has no clock).
    pub recorded_at: Timestamp,
    pub actor: Actor,
    pub memo: String,
    /// Structured references (batch id, bank reference, ...): a JSON object.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub postings: Vec<Posting>,
}

/// Everything wrong with a draft; validation reports all of them at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalViolation {
    #[error("a transaction needs at least two postings")]
    TooFewPostings,
    #[error("a transaction may have at most {MAX_POSTINGS_PER_TRANSACTION} postings")]
    TooManyPostings,
    #[error("postings[{posting_index}] has a zero amount")]
    ZeroAmount { posting_index: usize },
    #[error("postings[{posting_index}] names unknown account {account_id}")]
    UnknownAccount {
        posting_index: usize,
        account_id: AccountId,
    },
    #[error(
        "postings[{posting_index}] is in {posting_currency} but its account is kept in {account_currency}"
    )]
    CurrencyMismatch {
        posting_index: usize,
        account_currency: Currency,
        posting_currency: Currency,
    },
    #[error("postings in {currency} do not sum to zero (they sum to {sum_minor} minor units)")]
    Unbalanced { currency: Currency, sum_minor: i128 },
    #[error("memo exceeds {MAX_MEMO_LENGTH} characters")]
    MemoTooLong,
    #[error("metadata exceeds {MAX_METADATA_BYTES} bytes as JSON")]
    MetadataTooLarge,
    #[error("actor subject must be 1 to {MAX_SUBJECT_LENGTH} characters")]
    InvalidActor,
}

/// A transaction that passed validation: it balances per currency and every posting matches its
/// account. Only [`TransactionDraft::validate`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct BalancedTransaction {
    id: TransactionId,
    kind: TransactionKind,
    effective_date: NaiveDate,
    recorded_at: Timestamp,
    actor: Actor,
    memo: String,
    metadata_json: String,
    postings: Vec<Posting>,
}

impl TransactionDraft {
    /// Checks the draft against the accounts it names and returns every violation at once.
    pub fn validate(
        self,
        accounts: &HashMap<AccountId, Account>,
    ) -> Result<BalancedTransaction, Vec<JournalViolation>> {
        let mut violations = Vec::new();
        if self.postings.len() < 2 {
            violations.push(JournalViolation::TooFewPostings);
        }
        if self.postings.len() > MAX_POSTINGS_PER_TRANSACTION {
            violations.push(JournalViolation::TooManyPostings);
        }
        // i128 sums cannot overflow: at most 10,000 postings of at most 10^15 each.
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        for (posting_index, posting) in self.postings.iter().enumerate() {
            if posting.amount.is_zero() {
                violations.push(JournalViolation::ZeroAmount { posting_index });
            }
            match accounts.get(&posting.account_id) {
                None => violations.push(JournalViolation::UnknownAccount {
                    posting_index,
                    account_id: posting.account_id,
                }),
                Some(account) if account.currency != posting.amount.currency() => {
                    violations.push(JournalViolation::CurrencyMismatch {
                        posting_index,
                        account_currency: account.currency,
                        posting_currency: posting.amount.currency(),
                    })
                }
                Some(_) => {}
            }
            *sums.entry(posting.amount.currency()).or_default() +=
                i128::from(posting.amount.minor());
        }
        for (currency, sum_minor) in sums {
            if sum_minor != 0 {
                violations.push(JournalViolation::Unbalanced {
                    currency,
                    sum_minor,
                });
            }
        }
        if self.memo.chars().count() > MAX_MEMO_LENGTH {
            violations.push(JournalViolation::MemoTooLong);
        }
        let subject_length = self.actor.subject.chars().count();
        if subject_length == 0 || subject_length > MAX_SUBJECT_LENGTH {
            violations.push(JournalViolation::InvalidActor);
        }
        // serde_json's map is ordered by key, so the text is canonical for a given map.
        let metadata_json = serde_json::Value::Object(self.metadata).to_string();
        if metadata_json.len() > MAX_METADATA_BYTES {
            violations.push(JournalViolation::MetadataTooLarge);
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok(BalancedTransaction {
            id: self.id,
            kind: self.kind,
            effective_date: self.effective_date,
            recorded_at: self.recorded_at,
            actor: self.actor,
            memo: self.memo,
            metadata_json,
            postings: self.postings,
        })
    }
}

impl BalancedTransaction {
    pub fn id(&self) -> TransactionId {
        self.id
    }
    pub fn kind(&self) -> TransactionKind {
        self.kind
    }
    pub fn effective_date(&self) -> NaiveDate {
        self.effective_date
    }
    pub fn recorded_at(&self) -> Timestamp {
        self.recorded_at
    }
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    pub fn memo(&self) -> &str {
        &self.memo
    }
    /// The metadata as the canonical JSON text that is stored and hashed.
    pub fn metadata_json(&self) -> &str {
        &self.metadata_json
    }
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// The same transaction with `key` set to `value` in its metadata (an approval recorded on
    /// every transaction an approved operation writes), still within [`MAX_METADATA_BYTES`].
    pub fn with_metadata(
        mut self,
        key: &str,
        value: serde_json::Value,
    ) -> Result<BalancedTransaction, JournalViolation> {
        let mut metadata: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.metadata_json).unwrap_or_default();
        metadata.insert(key.to_owned(), value);
        let metadata_json = serde_json::Value::Object(metadata).to_string();
        if metadata_json.len() > MAX_METADATA_BYTES {
            return Err(JournalViolation::MetadataTooLarge);
        }
        self.metadata_json = metadata_json;
        Ok(self)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn account(code: &str, currency: &str) -> Account {
        Account {
            id: AccountId::from_uuid(Uuid::new_v4()),
            code: AccountCode::parse(code).unwrap(),
            name: code.to_owned(),
            kind: AccountKind::Asset,
            currency: Currency::from_code(currency).unwrap(),
            owner_organisation: None,
        }
    }

    pub(crate) fn draft(postings: Vec<Posting>) -> TransactionDraft {
        TransactionDraft {
            id: TransactionId::from_uuid(Uuid::from_u128(7)),
            kind: TransactionKind::Adjustment,
            effective_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            recorded_at: Timestamp::from_unix_micros(1_795_404_316_000_000).unwrap(),
            actor: Actor::system(),
            memo: "test".into(),
            metadata: serde_json::Map::new(),
            postings,
        }
    }

    fn posting(account: &Account, minor: i64) -> Posting {
        Posting {
            account_id: account.id,
            amount: Amount::from_minor(minor, account.currency).unwrap(),
        }
    }

    fn chart(accounts: &[&Account]) -> HashMap<AccountId, Account> {
        accounts.iter().map(|a| (a.id, (*a).clone())).collect()
    }

    #[test]
    fn a_balanced_draft_validates() {
        // Proves the happy path keeps postings, and metadata becomes canonical JSON.
        let cash = account("cash", "EUR");
        let pool = account("pool", "EUR");
        let mut draft = draft(vec![posting(&cash, 100), posting(&pool, -100)]);
        draft.metadata.insert("z".into(), 1.into());
        draft.metadata.insert("a".into(), "x".into());
        let balanced = draft.validate(&chart(&[&cash, &pool])).unwrap();
        assert_eq!(balanced.postings().len(), 2);
        assert_eq!(balanced.metadata_json(), r#"{"a":"x","z":1}"#);
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        // Proves validation does not stop at the first problem.
        let cash = account("cash", "EUR");
        let local = account("local", "XOF");
        let unknown = account("unknown", "EUR");
        let mut draft = draft(vec![
            posting(&cash, 100),
            posting(&cash, 0),
            Posting {
                account_id: local.id,
                amount: Amount::from_minor(5, Currency::eur()).unwrap(),
            },
            posting(&unknown, 1),
            posting(&local, 7),
        ]);
        draft.memo = "m".repeat(MAX_MEMO_LENGTH + 1);
        draft.actor.subject = String::new();
        let violations = draft.validate(&chart(&[&cash, &local])).unwrap_err();
        assert!(violations.contains(&JournalViolation::ZeroAmount { posting_index: 1 }));
        assert!(violations.contains(&JournalViolation::CurrencyMismatch {
            posting_index: 2,
            account_currency: local.currency,
            posting_currency: Currency::eur()
        }));
        assert!(violations.contains(&JournalViolation::UnknownAccount {
            posting_index: 3,
            account_id: unknown.id
        }));
        assert!(violations.contains(&JournalViolation::Unbalanced {
            currency: Currency::eur(),
            sum_minor: 106
        }));
        assert!(violations.contains(&JournalViolation::Unbalanced {
            currency: local.currency,
            sum_minor: 7
        }));
        assert!(violations.contains(&JournalViolation::MemoTooLong));
        assert!(violations.contains(&JournalViolation::InvalidActor));
        assert_eq!(violations.len(), 7);
    }

    #[test]
    fn empty_and_one_legged_drafts_are_refused() {
        // Proves a transaction needs at least two legs.
        assert_eq!(
            draft(vec![]).validate(&HashMap::new()).unwrap_err(),
            vec![JournalViolation::TooFewPostings]
        );
    }

    #[test]
    fn multi_currency_transactions_balance_per_currency() {
        // Proves a conversion through conversion accounts balances each currency on its own.
        let pool = account("pool", "EUR");
        let conversion_eur = account("conversion-eur", "EUR");
        let conversion_xof = account("conversion-xof", "XOF");
        let advance = account("advance", "XOF");
        let balanced = draft(vec![
            posting(&pool, 100),
            posting(&conversion_eur, -100),
            posting(&conversion_xof, 656),
            posting(&advance, -656),
        ])
        .validate(&chart(&[&pool, &conversion_eur, &conversion_xof, &advance]));
        assert!(balanced.is_ok());
    }

    #[test]
    fn account_codes_are_restricted() {
        // Proves account codes are stable identifiers, not free text.
        assert!(AccountCode::parse("programme:1:pool").is_ok());
        assert!(AccountCode::parse("").is_err());
        assert!(AccountCode::parse("Pool").is_err());
        assert!(AccountCode::parse("pool account").is_err());
        assert!(AccountCode::parse(&"a".repeat(MAX_ACCOUNT_CODE_LENGTH + 1)).is_err());
    }

    proptest! {
        #[test]
        fn validated_transactions_always_balance(amounts in prop::collection::vec(-1_000_000_i64..1_000_000, 1..20)) {
            // Proves any validated transaction sums to zero per currency, and any unbalanced one is refused.
            let accounts: Vec<Account> = (0..amounts.len() + 1).map(|i| account(&format!("a{i}"), "EUR")).collect();
            let mut postings: Vec<Posting> = amounts.iter().zip(&accounts).map(|(&m, a)| posting(a, m)).collect();
            let sum: i64 = amounts.iter().sum();
            let chart: HashMap<_, _> = accounts.iter().map(|a| (a.id, a.clone())).collect();
            // Unbalanced variant first.
            let unbalanced = draft(postings.clone()).validate(&chart);
            if sum != 0 {
                prop_assert!(unbalanced.is_err());
            }
            if sum != 0 {
                postings.push(posting(&accounts[amounts.len()], -sum));
            }
            match draft(postings).validate(&chart) {
                Ok(balanced) => {
                    let total: i64 = balanced.postings().iter().map(|p| p.amount.minor()).sum();
                    prop_assert_eq!(total, 0);
                }
                Err(violations) => {
                    // Only zero-amount legs or too few postings may refuse a balanced draft.
                    let only_degenerate_legs = violations.iter().all(|v| matches!(v, JournalViolation::ZeroAmount { .. } | JournalViolation::TooFewPostings));
                    prop_assert!(only_degenerate_legs, "unexpected violations: {:?}", violations);
                }
            }
        }
    }
}

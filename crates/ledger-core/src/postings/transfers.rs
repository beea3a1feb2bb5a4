//! Fee coverage and transfer runs: a deposit to fee coverage, a hold for an ineligible
//! beneficiary, a transfer (or top-up) with its fee reserved, and the exact balance guards that
//! refuse a run's execution when anything it read moved since it was planned.

use std::collections::HashMap;

use serde::Serialize;
use uuid::Uuid;

use super::{BalanceBound, BalanceGuard, Entry, Header, PostingError, entry, leg};
use crate::{Account, AccountId, Amount, OrganisationId, TransactionKind, chart};

/// Money given to fee coverage.
#[derive(Debug, Clone)]
pub struct FeeCoverageDeposit<'a> {
    pub deposit_id: Uuid,
    pub amount: Amount,
    /// Who gave it and the bank's reference.
    pub reference: &'a str,
}

#[derive(Debug, Serialize)]
struct DepositMetadata<'a> {
    deposit_id: String,
    reference: &'a str,
}

/// **Fee-coverage deposit** *D*: Dr `fund:bank` / Cr `fee_coverage`. Opens the bank account, fee
/// coverage and its reserved account (the first deposit opens them for the transfers to come).
pub fn fee_coverage_deposit(
    header: Header,
    deposit: &FeeCoverageDeposit<'_>,
) -> Result<Entry, PostingError> {
    let currency = deposit.amount.currency();
    let bank = chart::fund_bank(currency);
    let coverage = chart::fee_coverage(currency);
    let transaction = entry(
        header,
        TransactionKind::FeeCoverageDeposit,
        format!("Fee coverage deposit: {}", deposit.reference),
        &DepositMetadata {
            deposit_id: deposit.deposit_id.to_string(),
            reference: deposit.reference,
        },
        vec![
            leg(&bank, deposit.amount),
            leg(&coverage, deposit.amount.negated()),
        ],
        &[&bank, &coverage],
    )?;
    Ok(Entry {
        transaction,
        opens: vec![bank, coverage, chart::fee_coverage_reserved(currency)],
        guards: Vec::new(),
    })
}

/// A charge the bank took from the fund's account, as its statement shows it.
#[derive(Debug, Clone)]
pub struct BankCharge<'a> {
    /// The statement line it was read from.
    pub statement_entry_id: Uuid,
    pub amount: Amount,
    /// The bank's statement id and the line's own reference.
    pub statement_id: &'a str,
    pub bank_reference: &'a str,
}

#[derive(Debug, Serialize)]
struct BankChargeMetadata<'a> {
    statement_entry_id: String,
    statement_id: &'a str,
    bank_reference: &'a str,
}

/// **Bank charge** *C* (a statement's charge on our side): Dr `fee_coverage` / Cr `fund:bank`.
/// Fee coverage pays every bank fee, never the pool (the "no loss" rule). Opens both accounts and
/// the reserved one, as a deposit does. No guard: the bank has taken the money already, so the
/// books must show it even when fee coverage runs short (its balance then tells the network to
/// top it up).
pub fn bank_charge(header: Header, charge: &BankCharge<'_>) -> Result<Entry, PostingError> {
    let currency = charge.amount.currency();
    let bank = chart::fund_bank(currency);
    let coverage = chart::fee_coverage(currency);
    let transaction = entry(
        header,
        TransactionKind::BankCharge,
        format!(
            "Bank charge: statement {} line {}",
            charge.statement_id, charge.bank_reference
        ),
        &BankChargeMetadata {
            statement_entry_id: charge.statement_entry_id.to_string(),
            statement_id: charge.statement_id,
            bank_reference: charge.bank_reference,
        },
        vec![
            leg(&coverage, charge.amount),
            leg(&bank, charge.amount.negated()),
        ],
        &[&bank, &coverage],
    )?;
    Ok(Entry {
        transaction,
        opens: vec![bank, coverage, chart::fee_coverage_reserved(currency)],
        guards: Vec::new(),
    })
}

/// A pool share held for a beneficiary that does not meet the programme's conditions.
#[derive(Debug, Clone)]
pub struct Hold<'a> {
    pub run_id: Uuid,
    pub programme_id: Uuid,
    pub beneficiary: OrganisationId,
    pub beneficiary_slug: &'a str,
    pub period: &'a str,
    pub amount: Amount,
    /// The codes of the conditions it fails.
    pub failing_conditions: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
struct HoldMetadata<'a> {
    run_id: String,
    beneficiary_id: String,
    failing_conditions: &'a [&'a str],
}

/// **Hold** *H* (a run's execution, an ineligible beneficiary): Dr `programme:pool` / Cr
/// `programme:held:<b>`. Opens the held account.
pub fn hold(header: Header, hold: &Hold<'_>) -> Result<Entry, PostingError> {
    let currency = hold.amount.currency();
    let pool = chart::programme_pool(hold.programme_id, currency);
    let held = chart::programme_held(hold.programme_id, hold.beneficiary, currency);
    let transaction = entry(
        header,
        TransactionKind::Allocation,
        format!(
            "Held for {} ({}): conditions not met",
            hold.beneficiary_slug, hold.period
        ),
        &HoldMetadata {
            run_id: hold.run_id.to_string(),
            beneficiary_id: hold.beneficiary.to_string(),
            failing_conditions: &hold.failing_conditions,
        },
        vec![leg(&pool, hold.amount), leg(&held, hold.amount.negated())],
        &[&pool, &held],
    )?;
    Ok(Entry {
        transaction,
        opens: vec![held],
        guards: Vec::new(),
    })
}

/// Whether money leaves as a run's transfer or as a top-up of a shortfall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    Transfer,
    TopUp,
}

impl TransferKind {
    /// The journal's kind of the transaction.
    pub fn transaction_kind(self) -> TransactionKind {
        match self {
            TransferKind::Transfer => TransactionKind::Transfer,
            TransferKind::TopUp => TransactionKind::TopUp,
        }
    }

    /// As the transfer's record stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Transfer => "transfer",
            TransferKind::TopUp => "top_up",
        }
    }
}

/// Money leaving for a beneficiary, from its sources, with its expected fee reserved.
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    pub kind: TransferKind,
    pub transfer_id: Uuid,
    /// The run it belongs to (a top-up: the run of the transfer it tops up).
    pub run_id: Option<Uuid>,
    pub beneficiary: OrganisationId,
    pub beneficiary_slug: &'a str,
    pub period: &'a str,
    pub amount: Amount,
    /// The fee expected for sending it, reserved from fee coverage.
    pub fee: Amount,
    /// Where the money comes from: (account, part); parts sum to `amount`, zero parts are left out.
    pub sources: &'a [(Account, Amount)],
}

impl Transfer<'_> {
    /// The ISO 20022 EndToEndId of the bank instruction (32 characters).
    pub fn end_to_end_id(&self) -> String {
        self.transfer_id.simple().to_string()
    }

    /// The account the money waits in until the beneficiary confirms it.
    pub fn in_transit(&self) -> Account {
        chart::transfer_in_transit(self.transfer_id, self.beneficiary, self.amount.currency())
    }
}

#[derive(Debug, Serialize)]
struct TransferMetadata {
    transfer_id: String,
    beneficiary_id: String,
    end_to_end_id: String,
    expected_fee: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
}

/// **Transfer** (one per paid beneficiary of a run) of *A* = its sources (pool share *P*,
/// earmarked *E*, released hold *R*), expected fee *F*: Dr each source; Cr
/// `transfer:<t>:in_transit` *A*; Dr `fee_coverage` *F* / Cr `fee_coverage:reserved` *F*.
/// A **top-up** is the same with fee coverage as its only source. Opens the in-transit account
/// (and names every account it moves). The guards are the caller's: a run's are
/// [`ExactBalances::guards`], a top-up keeps fee coverage out of debit.
pub fn transfer(header: Header, transfer: &Transfer<'_>) -> Result<Entry, PostingError> {
    let currency = transfer.amount.currency();
    let in_transit = transfer.in_transit();
    let coverage = chart::fee_coverage(currency);
    let reserved = chart::fee_coverage_reserved(currency);
    let mut legs = Vec::new();
    let mut accounts = vec![in_transit.clone()];
    for (account, part) in transfer.sources {
        if part.is_positive() {
            legs.push(leg(account, *part));
            accounts.push(account.clone());
        }
    }
    legs.push(leg(&in_transit, transfer.amount.negated()));
    if transfer.fee.is_positive() {
        legs.push(leg(&coverage, transfer.fee));
        legs.push(leg(&reserved, transfer.fee.negated()));
        accounts.push(coverage);
        accounts.push(reserved);
    }
    let metadata = TransferMetadata {
        transfer_id: transfer.transfer_id.to_string(),
        beneficiary_id: transfer.beneficiary.to_string(),
        end_to_end_id: transfer.end_to_end_id(),
        expected_fee: transfer.fee.to_decimal_string(),
        run_id: transfer.run_id.map(|id| id.to_string()),
    };
    let references: Vec<&Account> = accounts.iter().collect();
    let transaction = entry(
        header,
        transfer.kind.transaction_kind(),
        format!(
            "{} {} to {}: {}",
            match transfer.kind {
                TransferKind::Transfer => "Transfer",
                TransferKind::TopUp => "Top-up",
            },
            transfer.period,
            transfer.beneficiary_slug,
            transfer.amount
        ),
        &metadata,
        legs,
        &references,
    )?;
    Ok(Entry {
        transaction,
        opens: accounts,
        guards: Vec::new(),
    })
}

/// The balances a run's plan was computed from, moved by what its execution books: the exact
/// guards hold every moved account at its expected balance after the write, so any concurrent
/// movement refuses the whole execution and nothing is written.
#[derive(Debug, Clone, Default)]
pub struct ExactBalances {
    read: HashMap<Uuid, i64>,
    expected: HashMap<Uuid, i64>,
}

impl ExactBalances {
    /// Starts from the signed balances read (debit positive), by account id.
    pub fn new(read: HashMap<Uuid, i64>) -> ExactBalances {
        ExactBalances {
            read,
            expected: HashMap::new(),
        }
    }

    /// Books `delta` (signed minor units, debit positive) on `account`.
    pub fn move_by(&mut self, account: &Account, delta: i64) {
        let id = account.id.as_uuid();
        let read = self.read.get(&id).copied().unwrap_or_default();
        *self.expected.entry(id).or_insert(read) += delta;
    }

    /// Two guards per moved account: at least and at most its expected balance.
    pub fn guards(&self) -> Vec<BalanceGuard> {
        self.expected
            .iter()
            .flat_map(|(account, balance)| {
                let account_id = AccountId::from_uuid(*account);
                [
                    BalanceGuard {
                        account_id,
                        bound: BalanceBound::AtLeast(*balance),
                    },
                    BalanceGuard {
                        account_id,
                        bound: BalanceBound::AtMost(*balance),
                    },
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_balanced, header};
    use super::*;
    use crate::Currency;

    fn eur(minor: i64) -> Amount {
        Amount::from_minor(minor, Currency::eur()).unwrap()
    }

    fn metadata(entry: &Entry) -> serde_json::Value {
        serde_json::from_str(entry.transaction.metadata_json()).unwrap()
    }

    #[test]
    fn a_bank_charge_is_paid_by_fee_coverage() {
        // Proves a statement's charge debits fee coverage and credits the bank, never touching a
        // pool, with the statement line named in the metadata.
        let booked = bank_charge(
            header(),
            &BankCharge {
                statement_entry_id: Uuid::from_u128(9),
                amount: eur(175),
                statement_id: "STMT-1",
                bank_reference: "BANK-2",
            },
        )
        .unwrap();
        assert_balanced(&booked.transaction);
        let coverage = chart::fee_coverage(Currency::eur());
        let bank = chart::fund_bank(Currency::eur());
        let legs: Vec<(AccountId, i64)> = booked
            .transaction
            .postings()
            .iter()
            .map(|posting| (posting.account_id, posting.amount.minor()))
            .collect();
        assert_eq!(legs, vec![(coverage.id, 175), (bank.id, -175)]);
        assert_eq!(booked.transaction.kind(), TransactionKind::BankCharge);
        assert_eq!(
            metadata(&booked)["statement_entry_id"],
            Uuid::from_u128(9).to_string()
        );
    }

    #[test]
    fn a_deposit_debits_the_bank_and_credits_fee_coverage() {
        // Proves the fee-coverage deposit row: two balanced legs, the three fee accounts opened,
        // the deposit id and reference in the metadata, no guard.
        let booked = fee_coverage_deposit(
            header(),
            &FeeCoverageDeposit {
                deposit_id: Uuid::from_u128(5),
                amount: eur(50_000),
                reference: "Fondation X, VIR 42",
            },
        )
        .unwrap();
        assert_balanced(&booked.transaction);
        let bank = chart::fund_bank(Currency::eur());
        let coverage = chart::fee_coverage(Currency::eur());
        assert_eq!(booked.transaction.postings()[0].account_id, bank.id);
        assert_eq!(booked.transaction.postings()[0].amount, eur(50_000));
        assert_eq!(booked.transaction.postings()[1].account_id, coverage.id);
        assert_eq!(
            booked.opens,
            vec![
                bank,
                coverage,
                chart::fee_coverage_reserved(Currency::eur())
            ]
        );
        assert!(booked.guards.is_empty());
        assert_eq!(
            metadata(&booked),
            serde_json::json!({"deposit_id": Uuid::from_u128(5).to_string(), "reference": "Fondation X, VIR 42"})
        );
        assert_eq!(
            booked.transaction.memo(),
            "Fee coverage deposit: Fondation X, VIR 42"
        );
    }

    #[test]
    fn a_hold_moves_the_pool_share_to_the_held_account() {
        // Proves the hold row: Dr pool / Cr held, the held account opened, the failing conditions
        // named in the metadata.
        let programme = Uuid::from_u128(7);
        let beneficiary = OrganisationId::from_uuid(Uuid::from_u128(8));
        let booked = hold(
            header(),
            &Hold {
                run_id: Uuid::from_u128(9),
                programme_id: programme,
                beneficiary,
                beneficiary_slug: "mutuelle-a",
                period: "2026-11",
                amount: eur(12_345),
                failing_conditions: vec!["public_cofinancing"],
            },
        )
        .unwrap();
        assert_balanced(&booked.transaction);
        let pool = chart::programme_pool(programme, Currency::eur());
        let held = chart::programme_held(programme, beneficiary, Currency::eur());
        assert_eq!(booked.transaction.postings()[0].account_id, pool.id);
        assert_eq!(booked.transaction.postings()[0].amount, eur(12_345));
        assert_eq!(booked.transaction.postings()[1].account_id, held.id);
        assert_eq!(booked.opens, vec![held]);
        assert!(booked.guards.is_empty());
        assert_eq!(
            metadata(&booked)["failing_conditions"],
            serde_json::json!(["public_cofinancing"])
        );
        assert_eq!(
            booked.transaction.memo(),
            "Held for mutuelle-a (2026-11): conditions not met"
        );
    }

    #[test]
    fn a_transfer_debits_its_sources_and_reserves_its_fee() {
        // Proves the transfer row: the positive sources debited, the in-transit account credited
        // the whole amount, the fee moved from fee coverage to its reserve, zero parts left out,
        // and a top-up's kind, memo and metadata (no run when it has none).
        let programme = Uuid::from_u128(7);
        let beneficiary = OrganisationId::from_uuid(Uuid::from_u128(8));
        let pool = chart::programme_pool(programme, Currency::eur());
        let earmarked = chart::programme_earmarked(programme, beneficiary, Currency::eur());
        let held = chart::programme_held(programme, beneficiary, Currency::eur());
        let sources = [
            (pool.clone(), eur(60_000)),
            (earmarked.clone(), eur(0)),
            (held.clone(), eur(5_000)),
        ];
        let input = Transfer {
            kind: TransferKind::Transfer,
            transfer_id: Uuid::from_u128(11),
            run_id: Some(Uuid::from_u128(9)),
            beneficiary,
            beneficiary_slug: "mutuelle-a",
            period: "2026-11",
            amount: eur(65_000),
            fee: eur(1_500),
            sources: &sources,
        };
        let booked = transfer(header(), &input).unwrap();
        assert_balanced(&booked.transaction);
        let in_transit = input.in_transit();
        let coverage = chart::fee_coverage(Currency::eur());
        let reserved = chart::fee_coverage_reserved(Currency::eur());
        let legs: Vec<(AccountId, i64)> = booked
            .transaction
            .postings()
            .iter()
            .map(|posting| (posting.account_id, posting.amount.minor()))
            .collect();
        assert_eq!(
            legs,
            vec![
                (pool.id, 60_000),
                (held.id, 5_000),
                (in_transit.id, -65_000),
                (coverage.id, 1_500),
                (reserved.id, -1_500),
            ]
        );
        assert_eq!(
            booked.opens,
            vec![in_transit, pool, held, coverage, reserved]
        );
        assert!(booked.guards.is_empty());
        assert_eq!(booked.transaction.kind(), TransactionKind::Transfer);
        assert_eq!(
            booked.transaction.memo(),
            "Transfer 2026-11 to mutuelle-a: 650.00 EUR"
        );
        let keys = metadata(&booked);
        assert_eq!(keys["expected_fee"], "15.00");
        assert_eq!(keys["end_to_end_id"].as_str().unwrap().len(), 32);
        assert_eq!(keys["run_id"], Uuid::from_u128(9).to_string());

        let coverage_only = [(chart::fee_coverage(Currency::eur()), eur(2_000))];
        let top_up = transfer(
            header(),
            &Transfer {
                kind: TransferKind::TopUp,
                run_id: None,
                amount: eur(2_000),
                fee: eur(0),
                sources: &coverage_only,
                ..input
            },
        )
        .unwrap();
        assert_balanced(&top_up.transaction);
        assert_eq!(top_up.transaction.kind(), TransactionKind::TopUp);
        assert_eq!(top_up.transaction.postings().len(), 2);
        assert!(metadata(&top_up).get("run_id").is_none());
        assert!(top_up.transaction.memo().starts_with("Top-up 2026-11"));
    }

    #[test]
    fn exact_guards_hold_every_moved_account_at_its_expected_balance() {
        // Proves the run's guards: each account a write moves is bounded above and below by the
        // balance read plus what the write books, and accounts the write does not move are not
        // guarded.
        let programme = Uuid::from_u128(7);
        let beneficiary = OrganisationId::from_uuid(Uuid::from_u128(8));
        let pool = chart::programme_pool(programme, Currency::eur());
        let held = chart::programme_held(programme, beneficiary, Currency::eur());
        let untouched = chart::fee_coverage(Currency::eur());
        let mut balances = ExactBalances::new(
            [(pool.id.as_uuid(), -100_000), (untouched.id.as_uuid(), -7)]
                .into_iter()
                .collect(),
        );
        let booked = hold(
            header(),
            &Hold {
                run_id: Uuid::from_u128(9),
                programme_id: programme,
                beneficiary,
                beneficiary_slug: "m",
                period: "2026-11",
                amount: eur(30_000),
                failing_conditions: Vec::new(),
            },
        )
        .unwrap();
        balances.move_by(&pool, booked.transaction.postings()[0].amount.minor());
        balances.move_by(&held, booked.transaction.postings()[1].amount.minor());
        balances.move_by(&pool, 1);
        let mut guards = balances.guards();
        guards.sort_by_key(|guard| (guard.account_id.as_uuid(), format!("{:?}", guard.bound)));
        let mut expected = vec![
            BalanceGuard {
                account_id: pool.id,
                bound: BalanceBound::AtLeast(-69_999),
            },
            BalanceGuard {
                account_id: pool.id,
                bound: BalanceBound::AtMost(-69_999),
            },
            BalanceGuard {
                account_id: held.id,
                bound: BalanceBound::AtLeast(-30_000),
            },
            BalanceGuard {
                account_id: held.id,
                bound: BalanceBound::AtMost(-30_000),
            },
        ];
        expected.sort_by_key(|guard| (guard.account_id.as_uuid(), format!("{:?}", guard.bound)));
        assert_eq!(guards, expected);
    }
}

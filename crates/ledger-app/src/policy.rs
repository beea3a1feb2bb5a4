//! Who may run what: one table, [`POLICY`], for every operation of every door. A door never lists
//! roles itself; it names the [`Operation`] and asks [`require`]. Which organisation's data a
//! caller then sees (its own, or everything for the network and auditors) is
//! [`crate::Caller::may_see`].

use crate::caller::{Caller, Role};
use crate::error::AppError;

/// Every operation of the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    // Organisations and programmes.
    RegisterOrganisation,
    ChangeOrganisation,
    SetBankAccount,
    ReadBankAccounts,
    ReadPaymentDetails,
    ListOrganisations,
    ReadOrganisation,
    CreateProgramme,
    ChangeProgramme,
    ListProgrammes,
    ReadProgramme,
    // Eligibility.
    RecordFact,
    VerifyFact,
    RejectFact,
    ReadFacts,
    ReadEligibility,
    // Contributions.
    SubmitBatch,
    ListBatches,
    ReadBatch,
    DownloadBatchTemplate,
    RecordReceipt,
    ReverseBatch,
    // Bank statements in (camt.053).
    ImportBankStatement,
    ReadBankStatements,
    AssignStatementEntry,
    DismissStatementEntry,
    // Fee coverage and transfers.
    DepositFeeCoverage,
    ReadFeeCoverage,
    PlanTransferRun,
    ReadTransferRun,
    ListTransferRuns,
    ExecuteTransferRun,
    ListTransfers,
    ReadTransfer,
    ConfirmTransfer,
    ReadDisputes,
    ResolveDispute,
    ReturnHeldFunds,
    ReadHeldFunds,
    ReadPaymentFile,
    // Redistribution.
    SubmitReport,
    ListReports,
    ReadReport,
    AcceptReport,
    RejectReport,
    ReverseReport,
    // What an organisation's money did.
    TraceContributor,
    TraceBeneficiary,
    ReadStatement,
    // The books themselves.
    ListAccounts,
    ReadAccount,
    ListJournal,
    TrialBalance,
    ExportJournal,
    VerifyJournal,
    VerifyExportFile,
    // People and keys (signing in, accepting an invitation and refreshing a session are public:
    // the credential they check is the caller's proof).
    InviteUser,
    ListUsers,
    DisableUser,
    ChangePassword,
    SignOut,
    ListSessions,
    RevokeSession,
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
    ReadSecurityEvents,
    // Four eyes.
    ListProposals,
    ApproveProposal,
    RejectProposal,
    // The fund in public: who is named, and what anyone may read without signing in.
    ChoosePublication,
    ReadPublicFund,
    ReadPublicDirectory,
    ReadPublicOrganisation,
    ReadIatiActivity,
    ReadIatiOrganisation,
}

use Operation::*;
use Role::{Admin, Auditor, Beneficiary, Contributor};

const EVERY_ROLE: &[Role] = &[Admin, Auditor, Contributor, Beneficiary];
const NETWORK: &[Role] = &[Admin];
const BOOKS: &[Role] = &[Admin, Auditor];

/// The roles that may run each operation. Reads scoped to the caller's organisation list the
/// organisation's own role beside the network's; [`Caller::may_see`] does the scoping.
pub const POLICY: &[(Operation, &[Role])] = &[
    (RegisterOrganisation, NETWORK),
    (ChangeOrganisation, NETWORK),
    (SetBankAccount, NETWORK),
    (ReadBankAccounts, &[Admin, Auditor, Beneficiary]),
    (ReadPaymentDetails, BOOKS),
    (ListOrganisations, EVERY_ROLE),
    (ReadOrganisation, EVERY_ROLE),
    (CreateProgramme, NETWORK),
    (ChangeProgramme, NETWORK),
    (ListProgrammes, EVERY_ROLE),
    (ReadProgramme, EVERY_ROLE),
    (RecordFact, &[Admin, Beneficiary]),
    (VerifyFact, NETWORK),
    (RejectFact, NETWORK),
    (ReadFacts, &[Admin, Auditor, Beneficiary]),
    (ReadEligibility, &[Admin, Auditor, Beneficiary]),
    (SubmitBatch, &[Contributor]),
    (ListBatches, &[Contributor, Admin, Auditor]),
    (ReadBatch, &[Contributor, Admin, Auditor]),
    (DownloadBatchTemplate, &[Contributor, Admin, Auditor]),
    (RecordReceipt, NETWORK),
    (ReverseBatch, NETWORK),
    (ImportBankStatement, NETWORK),
    (ReadBankStatements, BOOKS),
    (AssignStatementEntry, NETWORK),
    (DismissStatementEntry, NETWORK),
    (DepositFeeCoverage, NETWORK),
    (ReadFeeCoverage, BOOKS),
    (PlanTransferRun, NETWORK),
    (ReadTransferRun, BOOKS),
    (ListTransferRuns, BOOKS),
    (ExecuteTransferRun, NETWORK),
    (ListTransfers, &[Beneficiary, Admin, Auditor]),
    (ReadTransfer, &[Beneficiary, Admin, Auditor]),
    (ConfirmTransfer, &[Beneficiary]),
    (ReadDisputes, &[Beneficiary, Admin, Auditor]),
    (ResolveDispute, NETWORK),
    (ReturnHeldFunds, NETWORK),
    (ReadHeldFunds, BOOKS),
    (ReadPaymentFile, BOOKS),
    (SubmitReport, &[Beneficiary]),
    (ListReports, &[Beneficiary, Admin, Auditor]),
    (ReadReport, &[Beneficiary, Admin, Auditor]),
    (AcceptReport, NETWORK),
    (RejectReport, NETWORK),
    (ReverseReport, NETWORK),
    (TraceContributor, &[Contributor, Admin, Auditor]),
    (TraceBeneficiary, &[Beneficiary, Admin, Auditor]),
    (ReadStatement, EVERY_ROLE),
    (ListAccounts, BOOKS),
    (ReadAccount, BOOKS),
    (ListJournal, BOOKS),
    (TrialBalance, BOOKS),
    (ExportJournal, BOOKS),
    (VerifyJournal, BOOKS),
    (VerifyExportFile, BOOKS),
    (InviteUser, NETWORK),
    (ListUsers, EVERY_ROLE),
    (DisableUser, NETWORK),
    (ChangePassword, EVERY_ROLE),
    (SignOut, EVERY_ROLE),
    (ListSessions, EVERY_ROLE),
    (RevokeSession, EVERY_ROLE),
    (CreateApiKey, EVERY_ROLE),
    (ListApiKeys, EVERY_ROLE),
    (RevokeApiKey, EVERY_ROLE),
    (ReadSecurityEvents, BOOKS),
    (ListProposals, BOOKS),
    (ApproveProposal, NETWORK),
    (RejectProposal, NETWORK),
    (ChoosePublication, &[Admin, Contributor, Beneficiary]),
    (ReadPublicFund, EVERY_ROLE),
    (ReadPublicDirectory, EVERY_ROLE),
    (ReadPublicOrganisation, EVERY_ROLE),
    (ReadIatiActivity, EVERY_ROLE),
    (ReadIatiOrganisation, EVERY_ROLE),
];

/// The operations anyone may run without signing in ([`crate::public::PublicQuery`]): they read
/// only what organisations agreed to publish.
pub const PUBLIC: &[Operation] = &[
    ReadPublicFund,
    ReadPublicDirectory,
    ReadPublicOrganisation,
    ReadIatiActivity,
    ReadIatiOrganisation,
];

impl Operation {
    /// The operation's name as records and documents spell it (`execute_transfer_run`).
    pub fn name(self) -> String {
        let mut name = String::new();
        for (index, letter) in format!("{self:?}").chars().enumerate() {
            if letter.is_uppercase() && index > 0 {
                name.push('_');
            }
            name.push(letter.to_ascii_lowercase());
        }
        name
    }
}

/// The roles that may run `operation` (none if it is missing from the table: refused).
pub fn roles(operation: Operation) -> &'static [Role] {
    POLICY
        .iter()
        .find(|(listed, _)| *listed == operation)
        .map_or(&[], |(_, roles)| *roles)
}

/// Refuses a caller whose role may not run `operation` (403 `forbidden`).
pub fn require(operation: Operation, caller: &Caller) -> Result<(), AppError> {
    if roles(operation).contains(&caller.role) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "the {} role may not do this",
            caller.role.as_str()
        )))
    }
}

/// Refuses an operation run without a caller unless it is one of [`PUBLIC`].
pub fn require_public(operation: Operation) -> Result<(), AppError> {
    if PUBLIC.contains(&operation) {
        Ok(())
    } else {
        Err(AppError::unauthenticated(
            "unauthorized",
            "this operation needs a signed-in caller",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_listed_once_and_auditors_never_write() {
        // Proves the table is complete (a forgotten operation would be refused to everyone) and
        // that the read-only role holds no write.
        let writes = [
            RegisterOrganisation,
            ChangeOrganisation,
            SetBankAccount,
            CreateProgramme,
            ChangeProgramme,
            RecordFact,
            VerifyFact,
            RejectFact,
            SubmitBatch,
            RecordReceipt,
            ReverseBatch,
            ImportBankStatement,
            AssignStatementEntry,
            DismissStatementEntry,
            DepositFeeCoverage,
            PlanTransferRun,
            ExecuteTransferRun,
            ConfirmTransfer,
            ResolveDispute,
            ReturnHeldFunds,
            SubmitReport,
            AcceptReport,
            RejectReport,
            ReverseReport,
            InviteUser,
            DisableUser,
            ApproveProposal,
            RejectProposal,
            ChoosePublication,
        ];
        for (index, (operation, roles)) in POLICY.iter().enumerate() {
            assert!(!roles.is_empty(), "{operation:?} has no role");
            assert!(
                POLICY[index + 1..]
                    .iter()
                    .all(|(other, _)| other != operation),
                "{operation:?} is listed twice"
            );
        }
        for operation in writes {
            assert!(!roles(operation).is_empty(), "{operation:?} is not listed");
            assert!(!roles(operation).contains(&Auditor), "{operation:?}");
        }
        assert_eq!(POLICY.len(), 76);
        // Every public operation is a read, listed in the table too.
        for operation in PUBLIC {
            assert!(!writes.contains(operation), "{operation:?}");
            assert!(!roles(*operation).is_empty(), "{operation:?}");
        }
        assert!(require_public(ReadPublicFund).is_ok());
        assert!(require_public(ChoosePublication).is_err());
    }
}

//! The messages of the three languages: every key exists in French, English and Spanish, and
//! every key a template or a handler uses exists (a missing one would show its key to people).

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

const LANGUAGES: [&str; 3] = ["fr", "en", "es"];

fn keys(language: &str) -> BTreeSet<String> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(language);
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some((key, _)) = line.split_once(" = ")
                && !key.starts_with(['#', ' '])
            {
                assert!(keys.insert(key.to_owned()), "{language}: {key} twice");
            }
        }
    }
    keys
}

/// The keys of `t("…")` calls with a literal key, in every template.
fn template_keys() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (_, source) in ledger_web::templates::TEMPLATES {
        for quote in ['"', '\''] {
            let opening = format!("t({quote}");
            for piece in source.split(&opening).skip(1) {
                let key = piece.split(quote).next().unwrap();
                found.insert(key.to_owned());
            }
        }
    }
    found
}

#[test]
fn every_key_exists_in_every_language() {
    // Proves no message is missing in one language (the test fails naming it).
    let french = keys("fr");
    for language in LANGUAGES {
        let other = keys(language);
        let missing: Vec<_> = french.difference(&other).collect();
        let extra: Vec<_> = other.difference(&french).collect();
        assert!(missing.is_empty(), "missing in {language}: {missing:?}");
        assert!(extra.is_empty(), "only in {language}: {extra:?}");
    }
}

#[test]
fn every_key_the_pages_use_exists() {
    // Proves the templates' literal keys and the keys built from codes (conditions, purposes,
    // states, errors) all have messages.
    let known = keys("en");
    let (prefixes, mut used): (BTreeSet<String>, BTreeSet<String>) = template_keys()
        .into_iter()
        .partition(|key| key.ends_with('-'));
    assert!(used.len() > 50, "{used:?}");
    // Keys built from a code in the templates: each prefix's codes are listed below.
    assert_eq!(
        prefixes,
        BTreeSet::from([
            "audit-field-".to_owned(),
            "audit-verdict-".to_owned(),
            "batch-kind-".to_owned(),
            "batch-status-".to_owned(),
            "condition-".to_owned(),
            "fact-".to_owned(),
            "mutual-claim-".to_owned(),
            "mutual-fact-status-".to_owned(),
            "mutual-fix-".to_owned(),
            "mutual-movement-".to_owned(),
            "mutual-report-status-".to_owned(),
            "mutual-status-".to_owned(),
            "part-".to_owned(),
            "purpose-".to_owned(),
            // portal: network
            "facts-code-".to_owned(),
            "network-operation-".to_owned(),
            "network-outcome-".to_owned(),
            "network-run-status-".to_owned(),
            "org-error-".to_owned(),
            "org-field-".to_owned(),
            "orgs-kind-".to_owned(),
            "users-error-".to_owned(),
            "users-role-".to_owned(),
            "users-status-".to_owned(),
            "security-event-".to_owned(),
            // portal: statements
            "statements-status-".to_owned(),
            "statements-why-".to_owned(),
        ])
    );
    for purpose in ledger_core::redistribution::Purpose::ALL {
        used.insert(format!("purpose-{}", purpose.as_str()));
        used.insert(format!("part-{}", purpose.as_str()));
    }
    for part in ["awaiting", "held", "in_transit", "with_mutuals", "refunded"] {
        used.insert(format!("part-{part}"));
    }
    for code in [
        "mutual_operational",
        "contribution_rates_defined",
        "local_cofinancing",
        "public_cofinancing",
        "reporting_up_to_date",
        "admin_cost_cap",
        "governance",
    ] {
        used.insert(format!("condition-{code}"));
    }
    // A mutual's pages: transfers and their claims, reports, facts and what fixes a condition.
    for status in ["pending", "disputed", "settled", "topped_up"] {
        used.insert(format!("mutual-status-{status}"));
        used.insert(format!("mutual-status-{status}-lead"));
    }
    for status in ["open", "resolved", "rejected"] {
        used.insert(format!("mutual-claim-{status}"));
    }
    for status in ["submitted", "accepted", "rejected"] {
        used.insert(format!("mutual-report-status-{status}"));
    }
    for status in ["submitted", "verified", "rejected"] {
        used.insert(format!("mutual-fact-status-{status}"));
    }
    // Every journal transaction kind (ledger_core::journal::TransactionKind::as_str).
    for kind in [
        "pledge",
        "receipt",
        "reversal",
        "fee_coverage_deposit",
        "allocation",
        "transfer",
        "settlement",
        "top_up",
        "redistribution",
        "adjustment",
    ] {
        used.insert(format!("mutual-movement-{kind}"));
    }
    for code in ledger_core::conditions::FactCode::ALL {
        used.insert(format!("fact-{}", code.as_str()));
    }
    for code in [
        "mutual_operational",
        "contribution_rates_defined",
        "local_cofinancing",
        "public_cofinancing",
        "reporting_up_to_date",
        "admin_cost_cap",
        "governance",
    ] {
        used.insert(format!("mutual-fix-{code}"));
    }
    for status in ["pledged", "partially_received", "received", "reversed"] {
        used.insert(format!("batch-status-{status}"));
    }
    for kind in ["solidarity", "donation"] {
        used.insert(format!("batch-kind-{kind}"));
    }
    // The auditor's page: a verification's verdict, and the fields its refusal names.
    for verdict in [
        "self_consistent",
        "matches_checkpoint",
        "broken",
        "malformed",
    ] {
        used.insert(format!("audit-verdict-{verdict}"));
    }
    for field in ["format", "checkpoint", "file"] {
        used.insert(format!("audit-field-{field}"));
    }
    // The keys the portal's handlers choose (error pages, refusals at their fields).
    for key in [
        "sign-in-failed",
        "sign-in-throttled",
        "sign-in-throttled-address",
        "invitation-refused",
        "password-current-wrong",
        "password-rule",
        "batch-error-programme",
        "batch-error-period",
        "batch-error-reference",
        "batch-error-members",
        "batch-error-amount",
        "batch-error-kind",
        "batch-error-lines",
        "batch-error-other",
        "mutual-error-received",
        "mutual-error-value-date",
        "mutual-error-bank-reference",
        "mutual-error-fees",
        "mutual-error-other",
        "mutual-report-error-purpose",
        "mutual-report-error-amount",
        "mutual-report-error-members",
        "mutual-report-error-period",
        "mutual-report-error-notes",
        "mutual-report-error-lines",
        "mutual-report-error-admin-cap",
        "mutual-report-error-exceeds",
        "mutual-fact-error-code",
        "mutual-fact-error-value",
        "mutual-fact-error-as-of",
        "mutual-fact-error-reference",
        "mutual-fact-error-document",
        "mutual-statement-error-date",
        "upload-error-cell",
        "upload-error-file",
        "upload-error-format",
        "euros-chart-union",
        "euros-pooled",
        "euros-held",
    ] {
        used.insert(key.to_owned());
    }
    for error in [
        "error-not-found",
        "error-unavailable",
        "error-internal",
        "error-csrf",
        "error-forbidden",
        "error-throttled",
        "error-conflict",
        "error-invalid",
        "upload-unreadable",
    ] {
        used.insert(error.to_owned());
        used.insert(format!("{error}-title"));
    }
    for language in LANGUAGES {
        used.insert(format!("language-{language}"));
    }
    used.insert("flow-other-unions".to_owned());
    // portal: network — the keys built from codes, and those its handlers choose.
    let network_codes: [(&str, &[&str]); 10] = [
        (
            "facts-code-",
            &[
                "mutual_operational",
                "contribution_rates_defined",
                "local_cofinancing_percent",
                "public_cofinancing_percent",
                "admin_cost_percent",
                "general_assembly_date",
            ],
        ),
        (
            "network-operation-",
            &[
                "execute_transfer_run",
                "return_held_funds",
                "reverse_batch",
                "reverse_report",
                "set_bank_account",
            ],
        ),
        (
            "network-outcome-",
            &[
                "transfer",
                "held",
                "carried_forward",
                "fees_not_covered",
                "nothing",
            ],
        ),
        ("network-run-status-", &["planned", "executed", "dry_run"]),
        (
            "org-error-",
            &[
                "effective_from",
                "name",
                "contact",
                "covered_members",
                "fee_fixed",
                "fee_percent",
            ],
        ),
        (
            "org-field-",
            &["name", "contact", "covered_members", "fee_schedule"],
        ),
        ("orgs-kind-", &["contributor", "beneficiary", "network"]),
        ("users-error-", &["email", "organisation", "role"]),
        (
            "users-role-",
            &["contributor", "beneficiary", "auditor", "admin"],
        ),
        ("users-status-", &["invited", "active", "disabled"]),
    ];
    for (prefix, codes) in network_codes {
        for code in codes {
            used.insert(format!("{prefix}{code}"));
        }
    }
    for key in [
        "network-form-refused",
        "network-error-programme",
        "network-error-period",
        "network-error-rate",
        "network-error-approval_by_proposer",
        "network-error-proposal_decided",
        "network-error-bank_account_missing",
        "network-error-collection_account_missing",
        "network-error-run_not_executed",
        "network-error-payment_file_invalid",
        "network-error-run_without_transfers",
        "network-error-run_already_executed",
        "network-error-run_stale",
        "network-error-nothing_to_execute",
        "facts-error-reason",
        "facts-error-decided",
        "network-bad-form",
        "network-bad-form-title",
    ] {
        used.insert(key.to_owned());
    }
    // portal: statements — every status an entry can have, and the keys its handlers choose.
    for status in ledger_app::bank_statements::ENTRY_STATUSES {
        used.insert(format!("statements-status-{status}"));
    }
    for code in ledger_app::bank_statements::OUTCOME_CODES {
        used.insert(format!("statements-why-{code}"));
    }
    for kind in ledger_app::people::events::SecurityEventKind::ALL {
        used.insert(format!("security-event-{}", kind.as_str()));
    }
    for key in [
        "statements-error-file",
        "statements-error-refused",
        "statements-error-no-file",
        "statements-error-too-large",
        "statements-error-batch",
        "statements-error-unknown-batch",
        "statements-error-amount",
        "statements-error-reason",
        "statements-error-other",
        "statements-error-decided",
        "statements-error-not-a-credit",
    ] {
        used.insert(key.to_owned());
    }
    let missing: Vec<_> = used.difference(&known).collect();
    assert!(missing.is_empty(), "used but missing: {missing:?}");
}

//! camt.053 statements generated from the books for the end-to-end tests (the batches'
//! creditor references, the executed runs' EndToEndIds): shared by the statement import's tests
//! and the portal's statement pages.

use ledger_api::auth::Role;
use serde_json::json;

use super::southern::Fund;
use super::{TestServer, collection_account, token};

/// One entry of a generated statement.
#[derive(Debug, Clone)]
pub struct Line {
    /// `CRDT` or `DBIT`.
    pub direction: &'static str,
    pub amount: String,
    pub value_date: String,
    pub bank_reference: String,
    /// Bank transaction code: domain, family, sub-family.
    pub code: (&'static str, &'static str, &'static str),
    pub creditor_reference: Option<String>,
    pub end_to_end_id: Option<String>,
    pub debtor: Option<String>,
    pub charges: Option<String>,
}

impl Line {
    pub fn credit(amount: &str, bank_reference: &str) -> Line {
        Line {
            direction: "CRDT",
            amount: amount.to_owned(),
            value_date: "2026-10-02".to_owned(),
            bank_reference: bank_reference.to_owned(),
            code: ("PMNT", "RCDT", "ESCT"),
            creditor_reference: None,
            end_to_end_id: None,
            debtor: None,
            charges: None,
        }
    }

    pub fn debit(amount: &str, bank_reference: &str) -> Line {
        Line {
            direction: "DBIT",
            code: ("PMNT", "ICDT", "ESCT"),
            ..Line::credit(amount, bank_reference)
        }
    }
}

/// A camt.053 statement of `iban` in `version` (`02` or `08`), with `lines` as its entries.
pub fn camt053(
    version: &str,
    statement_id: &str,
    iban: &str,
    currency: &str,
    lines: &[Line],
) -> String {
    let v08 = version == "08";
    let mut entries = String::new();
    for line in lines {
        let status = if v08 {
            "<Sts><Cd>BOOK</Cd></Sts>".to_owned()
        } else {
            "<Sts>BOOK</Sts>".to_owned()
        };
        let charges = line.charges.as_ref().map_or(String::new(), |amount| {
            if v08 {
                format!("<Chrgs><Rcrd><Amt Ccy=\"{currency}\">{amount}</Amt></Rcrd></Chrgs>")
            } else {
                format!("<Chrgs><Amt Ccy=\"{currency}\">{amount}</Amt></Chrgs>")
            }
        });
        let party = |role: &str, name: &Option<String>| {
            name.as_ref().map_or(String::new(), |name| {
                if v08 {
                    format!("<{role}><Pty><Nm>{name}</Nm></Pty></{role}>")
                } else {
                    format!("<{role}><Nm>{name}</Nm></{role}>")
                }
            })
        };
        let parties = party("Dbtr", &line.debtor);
        let references = line.end_to_end_id.as_ref().map_or(String::new(), |id| {
            format!("<Refs><EndToEndId>{id}</EndToEndId></Refs>")
        });
        let remittance = line
            .creditor_reference
            .as_ref()
            .map_or(String::new(), |reference| {
                format!(
                    "<RmtInf><Ustrd>Solidarity euro</Ustrd><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{reference}</Ref></CdtrRefInf></Strd></RmtInf>"
                )
            });
        let parties = if parties.is_empty() {
            String::new()
        } else {
            format!("<RltdPties>{parties}</RltdPties>")
        };
        let (domain, family, sub_family) = line.code;
        entries += &format!(
            "<Ntry><Amt Ccy=\"{currency}\">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>{status}\
             <BookgDt><Dt>{date}</Dt></BookgDt><ValDt><Dt>{date}</Dt></ValDt><AcctSvcrRef>{reference}</AcctSvcrRef>\
             <BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>\
             {charges}<NtryDtls><TxDtls>{references}{parties}{remittance}</TxDtls></NtryDtls></Ntry>",
            amount = line.amount,
            direction = line.direction,
            date = line.value_date,
            reference = line.bank_reference,
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-10-05T08:00:00</CreDtTm></GrpHdr>\
         <Stmt><Id>{statement_id}</Id><CreDtTm>2026-10-05T08:00:00</CreDtTm>\
         <Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>\
         <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">0</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-10-05</Dt></Dt></Bal>\
         {entries}</Stmt></BkToCstmrStmt></Document>"
    )
}

/// The collection account's IBAN, as test servers are configured.
pub fn our_iban() -> String {
    collection_account()
        .iban
        .expect("test servers are configured with an IBAN")
}

/// A batch of `members` euros for `period`; its id and its creditor reference.
pub async fn batch(
    server: &TestServer,
    fund: &Fund,
    union: &str,
    period: &str,
    members: i64,
) -> (String, String) {
    let (status, batch) = server
        .post(
            "/v1/contribution-batches",
            &token(union, Role::Contributor),
            &format!("batch-{union}-{period}"),
            &json!({"programme_id": fund.programme, "period": period, "lines": [
                {"reference": "all-sections", "members": members, "amount": format!("{members}.00"), "kind": "solidarity"}]}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    (
        batch["id"].as_str().unwrap().to_owned(),
        batch["payment_instructions"]["creditor_reference"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

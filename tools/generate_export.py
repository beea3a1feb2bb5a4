#!/usr/bin/env python3
"""Writes a synthetic, valid export of N transactions, byte for byte as the ledger writes one, to
measure the verifiers on large files without filling a database:

    python3 tools/generate_export.py 1000000 /tmp/big   # writes /tmp/big.jsonl and /tmp/big.csv

Each transaction is a pledge of two postings (EUR or XOF) with an actor organisation, a memo that
needs CSV quoting and JSON metadata, like the ledger-bench journal; both files are SLJ2, ending
with the accounts section of the four accounts. Standard library only.
"""

import hashlib
import json
import struct
import sys
import uuid

CSV_HEADER = ("row,sequence,transaction_id,kind,effective_date,recorded_at,actor_subject,"
              "actor_organisation,memo,metadata,posting_count,posting_index,account_id,currency,"
              "amount_minor,previous_hash,hash\r\n")


def text(value):
    data = value.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def csv_field(value):
    if any(character in value for character in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def main():
    count, stem = int(sys.argv[1]), sys.argv[2]
    organisation = str(uuid.UUID(int=0x0e))
    accounts = {"EUR": (uuid.UUID(int=0xa1), uuid.UUID(int=0xb2)),
                "XOF": (uuid.UUID(int=0xc3), uuid.UUID(int=0xd4))}
    previous = bytes(32)
    with open(stem + ".jsonl", "w", encoding="utf-8", newline="") as jsonl, \
            open(stem + ".csv", "w", encoding="utf-8", newline="") as csv:
        csv.write(CSV_HEADER)
        for sequence in range(1, count + 1):
            currency = "XOF" if sequence % 3 == 0 else "EUR"
            debit, credit = accounts[currency]
            amount = 100 * (sequence % 997 + 1)
            transaction_id = uuid.UUID(int=(0x5eed << 96) + sequence)
            fields = {
                "kind": "pledge",
                "effective_date": "2026-11-23",
                "recorded_at": f"2026-11-23T03:{sequence // 60 % 60:02}:{sequence % 60:02}.123456Z",
                "actor_subject": "treasurer@csq",
                "actor_organisation": organisation,
                "memo": f"batch {sequence}, section {sequence % 40}",
                "metadata": f'{{"batch":"{sequence}","period":"2026-11"}}',
            }
            postings = [(debit, currency, amount), (credit, currency, -amount)]
            encoding = [b"SLJ1", struct.pack(">Q", sequence), transaction_id.bytes]
            encoding += [text(fields[name]) for name in fields]
            encoding.append(struct.pack(">I", len(postings)))
            for account, code, minor in postings:
                encoding += [account.bytes, text(code), struct.pack(">q", minor)]
            digest = hashlib.sha256(previous + b"".join(encoding)).digest()
            record = {"sequence": sequence, "transaction_id": str(transaction_id), **fields,
                      "postings": [{"account_id": str(account), "currency": code,
                                    "amount_minor": minor} for account, code, minor in postings],
                      "previous_hash": previous.hex(), "hash": digest.hex()}
            jsonl.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            repeated = ",".join(csv_field(value) for value in [
                str(sequence), str(transaction_id), *fields.values(), str(len(postings))])
            for index, (account, code, minor) in enumerate(postings):
                csv.write(f"posting,{repeated},{index},{account},{code},{minor},"
                          f"{previous.hex()},{digest.hex()}\r\n")
            previous = digest
        last = previous.hex() if count else None
        # The SLJ2 accounts section (docs/hash-chain.md, "Version 2"), the same in both formats.
        section = sorted(
            ({"id": account, "code": f"bench:{currency.lower()}:{side}",
              "name": f"Bench {side} account, {currency}", "kind": kind, "currency": currency,
              "owner": organisation if side == "debit" else ""}
             for currency, pair in accounts.items()
             for account, side, kind in zip(pair, ("debit", "credit"), ("asset", "net_assets"))),
            key=lambda account: account["id"].bytes)
        hashed = [b"SLJ2", struct.pack(">I", len(section))]
        for account in section:
            hashed.append(account["id"].bytes)
            hashed += [text(account[name]) for name in ("code", "name", "kind", "currency", "owner")]
        accounts_hash = hashlib.sha256(previous + b"".join(hashed)).hexdigest()
        jsonl.write(json.dumps({"export_end": {
            "last_sequence": count or None, "final_hash": last, "encoding": "SLJ2",
            "accounts": [{**account, "id": str(account["id"])} for account in section],
            "accounts_hash": accounts_hash}}, ensure_ascii=False, separators=(",", ":")) + "\n")
        for account in section:
            fields = [""] * 17
            fields[0], fields[3], fields[7] = "account", account["kind"], account["owner"]
            fields[8], fields[9] = csv_field(account["name"]), account["code"]
            fields[12], fields[13] = str(account["id"]), account["currency"]
            csv.write(",".join(fields) + "\r\n")
        csv.write("accounts,,,SLJ2" + "," * 13 + f"{accounts_hash}\r\n")
        csv.write(f"end,{count or ''}" + "," * 15 + f"{last or ''}\r\n")


if __name__ == "__main__":
    main()

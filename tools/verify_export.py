#!/usr/bin/env python3
"""Independent verifier of Solidarity Ledger export files (JSON Lines or CSV).

Written from docs/hash-chain.md alone, with the Python standard library only, so an auditor can
check an export without trusting the ledger's own code:

    python3 tools/verify_export.py journal.jsonl
    python3 tools/verify_export.py journal.csv [--from-sequence 1] [--previous-hash HEX]

Exit status: 0 the export verifies (a summary is printed), 1 the export is broken (the first
break is printed with its sequence), 2 the file is not an export (malformed) or cannot be read.
"""

import argparse
import csv
import hashlib
import json
import struct
import sys
import uuid

GENESIS = bytes(32)
CSV_COLUMNS = [
    "row", "sequence", "transaction_id", "kind", "effective_date", "recorded_at",
    "actor_subject", "actor_organisation", "memo", "metadata", "posting_count",
    "posting_index", "account_id", "currency", "amount_minor", "previous_hash", "hash",
]
TEXT_FIELDS = ["kind", "effective_date", "recorded_at", "actor_subject",
               "actor_organisation", "memo", "metadata"]
# Columns that every row of one transaction repeats (CSV).
TRANSACTION_COLUMNS = CSV_COLUMNS[1:11] + CSV_COLUMNS[15:17]
U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


class Broken(Exception):
    """The export does not verify: a finding about its contents."""


class Malformed(Exception):
    """The file is not an export at some line."""


def text(value):
    data = value.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def encoding(record):
    """The SLJ1 encoding of docs/hash-chain.md."""
    out = b"SLJ1" + struct.pack(">Q", record["sequence"]) + record["transaction_id"].bytes
    for field in TEXT_FIELDS:
        out += text(record[field])
    out += struct.pack(">I", len(record["postings"]))
    for account_id, currency, amount in record["postings"]:
        out += account_id.bytes + text(currency) + struct.pack(">q", amount)
    return out


def unsigned(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        raise ValueError(f"{what} is not an unsigned 64-bit integer")
    return value


def unsigned_text(value, what):
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{what} `{value}` is not an unsigned integer")
    return unsigned(int(value), what)


def signed_text(value, what):
    digits = value[1:] if value.startswith("-") else value
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{what} `{value}` is not an integer")
    number = int(value)
    if not I64_MIN <= number <= I64_MAX:
        raise ValueError(f"{what} `{value}` is out of range")
    return number


def parse_uuid(value, what):
    # The ledger writes lower-case hyphenated UUIDs; other spellings of the same UUID are accepted
    # like the Rust verifier does (it parses the UUID; only its 16 bytes are hashed).
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{what} `{value}` is not a UUID") from None


def parse_hash(value, what):
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError(f"{what} is not 64 hexadecimal digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not 64 hexadecimal digits") from None


def string(value, what):
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a string")
    return value


def record_from_json(obj):
    expected = {"sequence", "transaction_id", "previous_hash", "hash", "postings", *TEXT_FIELDS}
    if not isinstance(obj, dict) or not expected <= set(obj):
        raise ValueError("not a transaction record (fields missing)")
    record = {
        "sequence": unsigned(obj["sequence"], "sequence"),
        "transaction_id": parse_uuid(obj["transaction_id"], "transaction_id"),
        "previous_hash": parse_hash(obj["previous_hash"], "previous_hash"),
        "hash": parse_hash(obj["hash"], "hash"),
        "postings": [],
    }
    for field in TEXT_FIELDS:
        record[field] = string(obj[field], field)
    if not isinstance(obj["postings"], list):
        raise ValueError("postings is not a list")
    for posting in obj["postings"]:
        if not isinstance(posting, dict):
            raise ValueError("a posting is not an object")
        amount = posting.get("amount_minor")
        if isinstance(amount, bool) or not isinstance(amount, int) or not I64_MIN <= amount <= I64_MAX:
            raise ValueError("amount_minor is not a signed 64-bit integer")
        record["postings"].append((
            parse_uuid(posting.get("account_id"), "account_id"),
            string(posting.get("currency"), "currency"),
            amount,
        ))
    return record


def end_from_json(obj):
    if not isinstance(obj, dict) or set(obj) != {"export_end"} or not isinstance(obj["export_end"], dict) \
            or set(obj["export_end"]) != {"last_sequence", "final_hash"}:
        raise ValueError("neither a transaction record nor the end record")
    end = obj["export_end"]
    last = end["last_sequence"]
    final = end["final_hash"]
    return (None if last is None else unsigned(last, "last_sequence"),
            None if final is None else parse_hash(final, "final_hash"))


class Verifier:
    """Checks records in file order, as docs/hash-chain.md says, and tallies balances."""

    def __init__(self, from_sequence=None, previous_hash=None):
        self.expected_start = from_sequence
        self.expected_previous = previous_hash
        self.next_sequence = None
        self.previous = None
        self.first = None
        self.last = None
        self.transactions = 0
        self.postings = 0
        self.balances = {}
        self.ended = False

    def record(self, line, record):
        if self.ended:
            raise Broken(f"line {line}: data after the export's end record")
        sequence = record["sequence"]
        if self.next_sequence is None:
            start = self.expected_start if self.expected_start is not None else sequence
            if start == 1:
                previous = GENESIS if self.expected_previous is None else self.expected_previous
            else:
                previous = record["previous_hash"] if self.expected_previous is None else self.expected_previous
            if self.expected_start is not None and (sequence != start or record["previous_hash"] != previous):
                raise Broken(f"line {line}: the export starts at sequence {sequence} after hash "
                             f"{record['previous_hash'].hex()}, expected sequence {start} after hash {previous.hex()}")
            self.next_sequence, self.previous = start, previous
            self.first = (start, previous)
        if sequence != self.next_sequence:
            raise Broken(f"line {line}: chain broken at sequence {sequence}: sequence gap: "
                         f"expected sequence {self.next_sequence} here")
        if record["previous_hash"] != self.previous:
            raise Broken(f"line {line}: chain broken at sequence {sequence}: previous hash is "
                         f"{record['previous_hash'].hex()}, but the transaction before ends the chain at {self.previous.hex()}")
        computed = hashlib.sha256(self.previous + encoding(record)).digest()
        if computed != record["hash"]:
            raise Broken(f"line {line}: chain broken at sequence {sequence}: stored hash {record['hash'].hex()} "
                         f"does not match the contents, which hash to {computed.hex()} (a hashed field was changed)")
        sums = {}
        for _, currency, amount in record["postings"]:
            sums[currency] = sums.get(currency, 0) + amount
        for currency in sorted(sums):
            if sums[currency] != 0:
                raise Broken(f"line {line}: chain broken at sequence {sequence}: postings in {currency} "
                             f"sum to {sums[currency]}, not zero")
        for account_id, currency, amount in record["postings"]:
            key = (account_id, currency)
            self.balances[key] = self.balances.get(key, 0) + amount
        self.next_sequence += 1
        self.previous = record["hash"]
        self.last = (sequence, record["hash"])
        self.transactions += 1
        self.postings += len(record["postings"])

    def end(self, line, last_sequence, final_hash):
        if self.ended:
            raise Broken(f"line {line}: data after the export's end record")
        self.ended = True
        file_end = self.last if self.last else (None, None)
        if (last_sequence, final_hash) != file_end:
            raise Broken(f"line {line}: the end record says the export ends at sequence {last_sequence}, "
                         f"but the file ends at sequence {file_end[0]}")

    def after_sequence(self):
        return self.last[0] if self.last else None

    def truncated(self):
        after = self.after_sequence()
        return Broken(f"the file is truncated: it stops after sequence {after if after is not None else 'none'} "
                      f"without the export's end record")

    def summary(self):
        if not self.ended:
            raise self.truncated()
        lines = [f"export valid: {self.transactions} transactions, {self.postings} postings"]
        if self.first is None:
            lines.append("range: empty (no transaction)")
        else:
            lines.append(f"range: sequences {self.first[0]} to {self.last[0]}, chained onto {self.first[1].hex()}")
        lines.append(f"final hash: {self.last[1].hex() if self.last else 'none'}")
        totals = {}
        for (_, currency), balance in self.balances.items():
            accounts, debit, credit = totals.get(currency, (0, 0, 0))
            totals[currency] = (accounts + 1, debit + max(balance, 0), credit + min(balance, 0))
        lines.append("trial balance:")
        for currency in sorted(totals):
            accounts, debit, credit = totals[currency]
            lines.append(f"  {currency}: {accounts} accounts, debits {debit} minor units, "
                         f"credits {credit} minor units, net {debit + credit}")
        return "\n".join(lines)


def complete_lines(path):
    """The file's bytes up to its last line break, and whether bytes follow it (a cut)."""
    with open(path, "rb") as handle:
        data = handle.read()
    cut = data.rfind(b"\n") + 1
    return data[:cut], cut < len(data)


def verify_jsonl(data, verifier):
    lines = data.split(b"\n")[:-1] if data else []
    for number, raw in enumerate(lines, start=1):
        at_end = number == len(lines)
        try:
            raw = raw[:-1] if raw.endswith(b"\r") else raw
            obj = json.loads(raw.decode("utf-8"))
            if isinstance(obj, dict) and "export_end" in obj:
                verifier.end(number, *end_from_json(obj))
            else:
                verifier.record(number, record_from_json(obj))
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            problem = Malformed(f"line {number} (after sequence {verifier.after_sequence()}): "
                                f"not a valid export record: {error}")
            raise (_AtEnd(problem) if at_end else problem) from None
        except Broken as broken:
            if at_end:
                raise _AtEnd(broken) from None
            raise


class _AtEnd(Exception):
    """A problem on the last complete line: a cut there is the real cause."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


def verify_csv(data, verifier):
    rows = list(csv.reader(data.decode("utf-8").splitlines(keepends=True)))
    if not rows or rows[0] != CSV_COLUMNS:
        raise Malformed("line 1: the header row must be " + ",".join(CSV_COLUMNS))
    group = None  # (line, first row, record, declared count)

    def close(group):
        if group is None:
            return
        line, first, record, declared, pending = group
        # The chain is checked first: a moved or changed row is named at the sequence the chain
        # breaks at; a posting count changed on every row of a transaction is named after.
        verifier.record(line, record)
        if pending:
            raise pending
        if len(record["postings"]) != declared:
            raise Broken(f"line {line}: the rows of sequence {record['sequence']} disagree: "
                         f"`posting_count` says {declared} postings, the file has {len(record['postings'])} rows")

    # csv.reader joins quoted line breaks; count physical lines for messages.
    line = 1
    for index, row in enumerate(rows[1:], start=1):
        line += 1
        at_end = index == len(rows) - 1
        try:
            if len(row) != len(CSV_COLUMNS):
                raise ValueError(f"{len(row)} fields, an export row has {len(CSV_COLUMNS)}")
            fields = dict(zip(CSV_COLUMNS, row))
            if fields["row"] == "end":
                close(group)
                group = None
                last = None if fields["sequence"] == "" else unsigned_text(fields["sequence"], "sequence")
                final = None if fields["hash"] == "" else parse_hash(fields["hash"], "hash")
                verifier.end(line, last, final)
                continue
            if fields["row"] not in ("posting", "transaction"):
                raise ValueError(f"unknown row type `{fields['row']}`")
            sequence = unsigned_text(fields["sequence"], "sequence")
            if group is not None and group[2]["sequence"] == sequence:
                first = group[1]
                for column in TRANSACTION_COLUMNS:
                    if fields[column] != first[column]:
                        raise Broken(f"line {line}: the rows of sequence {sequence} disagree: "
                                     f"`{column}` differs from the transaction's first row")
                if fields["row"] != "posting":
                    raise Broken(f"line {line}: the rows of sequence {sequence} disagree: "
                                 f"a transaction row without postings has further rows")
            else:
                close(group)
                declared = unsigned_text(fields["posting_count"], "posting_count")
                record = {
                    "sequence": sequence,
                    "transaction_id": parse_uuid(fields["transaction_id"], "transaction_id"),
                    "previous_hash": parse_hash(fields["previous_hash"], "previous_hash"),
                    "hash": parse_hash(fields["hash"], "hash"),
                    "postings": [],
                }
                for field in TEXT_FIELDS:
                    record[field] = fields[field]
                group = [line, fields, record, declared, None]
            record = group[2]
            if fields["row"] == "posting":
                record["postings"].append((
                    parse_uuid(fields["account_id"], "account_id"),
                    fields["currency"],
                    signed_text(fields["amount_minor"], "amount_minor"),
                ))
            expected_index = len(record["postings"]) - 1
            found_index = fields["posting_index"]
            index_ok = (found_index == "" and expected_index < 0) or (
                found_index.isascii() and found_index.isdigit() and int(found_index) == expected_index)
            if not index_ok or len(record["postings"]) > group[3]:
                problem = Broken(f"line {line}: the rows of sequence {sequence} disagree: posting row "
                                 f"`{found_index}` where posting {max(expected_index, 0)} of {group[3]} was expected")
                if len(record["postings"]) > 1 or fields["row"] != "posting":
                    raise problem
                # On a transaction's first row: reported after its chain check, like the count.
                group[4] = problem
        except ValueError as error:
            problem = Malformed(f"line {line} (after sequence {verifier.after_sequence()}): "
                                f"not a valid export record: {error}")
            raise (_AtEnd(problem) if at_end else problem) from None
        except Broken as broken:
            if at_end:
                raise _AtEnd(broken) from None
            raise
        line += sum(value.count("\n") for value in row)
    try:
        close(group)
    except Broken as broken:
        raise _AtEnd(broken) from None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--format", choices=["jsonl", "csv"])
    parser.add_argument("--from-sequence", type=int)
    parser.add_argument("--previous-hash")
    arguments = parser.parse_args()
    export_format = arguments.format or arguments.file.rsplit(".", 1)[-1]
    if export_format not in ("jsonl", "csv"):
        print("error: cannot tell the format from the extension; pass --format", file=sys.stderr)
        return 2
    previous = None
    if arguments.previous_hash:
        try:
            previous = parse_hash(arguments.previous_hash, "--previous-hash")
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    verifier = Verifier(arguments.from_sequence, previous)
    try:
        data, cut = complete_lines(arguments.file)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        try:
            (verify_jsonl if export_format == "jsonl" else verify_csv)(data, verifier)
        except _AtEnd as at_end:
            if cut:
                raise verifier.truncated() from None
            raise at_end.cause from None
        except UnicodeDecodeError as error:
            raise Malformed(f"the file is not UTF-8: {error}") from None
        if cut:
            raise verifier.truncated()
        print(verifier.summary())
        return 0
    except Broken as broken:
        print(f"export BROKEN: {broken}")
        return 1
    except Malformed as malformed:
        print(f"export MALFORMED: {malformed}")
        return 2


if __name__ == "__main__":
    sys.exit(main())

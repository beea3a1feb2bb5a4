#!/usr/bin/env python3
"""Independent verifier of Solidarity Ledger export files (JSON Lines or CSV).

Written from docs/hash-chain.md alone, with the Python standard library only (plus the
`cryptography` package, when installed, for checkpoint signatures), so an auditor can check an
export without trusting the ledger's own code:

    python3 tools/verify_export.py journal.jsonl
    python3 tools/verify_export.py journal.csv --checkpoint head.json --public-key KEY
    python3 tools/verify_export.py range.csv --from-sequence 1001 [--previous-hash HEX]

It reads the file as a stream (a few megabytes of memory whatever the file's size).

Exit status: 0 the export verifies (a summary is printed); 1 the export is broken, or does not
match the checkpoint (the first problem is printed with its sequence); 2 the file is not an export
(malformed), or a file or argument cannot be read; 3 the export matches the checkpoint's hash, but
the checkpoint's signature could NOT be checked because the `cryptography` package is missing.
"""

import argparse
import hashlib
import json
import re
import struct
import sys
import uuid

EXIT_VALID, EXIT_BROKEN, EXIT_MALFORMED, EXIT_SIGNATURE_UNCHECKED = 0, 1, 2, 3

GENESIS = bytes(32)
CSV_COLUMNS = [
    "row", "sequence", "transaction_id", "kind", "effective_date", "recorded_at",
    "actor_subject", "actor_organisation", "memo", "metadata", "posting_count",
    "posting_index", "account_id", "currency", "amount_minor", "previous_hash", "hash",
]
TEXT_FIELDS = ["kind", "effective_date", "recorded_at", "actor_subject",
               "actor_organisation", "memo", "metadata"]
RECORD_KEYS = {"sequence", "transaction_id", "postings", "previous_hash", "hash", *TEXT_FIELDS}
POSTING_KEYS = {"account_id", "currency", "amount_minor"}
# CSV columns that every row of one transaction repeats: sequence .. posting_count, the hashes.
REPEATED = list(range(1, 11)) + [15, 16]
U64_MAX = 2**64 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
# The longest CSV row kept whole (as the Rust verifier): bounds the memory a hostile file takes.
MAX_ROW_BYTES = 64 * 1024 * 1024
READ_BYTES = 1024 * 1024

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HASH_TEXT = re.compile(r"[0-9a-f]{64}")
UNSIGNED_TEXT = re.compile(r"0|[1-9][0-9]*")
SIGNED_TEXT = re.compile(r"0|-?[1-9][0-9]*")
# One strict RFC 4180 row of 17 fields ending with CR LF (docs/hash-chain.md, "Reading a file").
_FIELD = rb'("[^"]*(?:""[^"]*)*"|[^",\r\n]*)'
CSV_ROW = re.compile(rb",".join([_FIELD] * len(CSV_COLUMNS)) + rb"\r\n")


class Broken(Exception):
    """The export does not verify: a finding about its contents (exit 1)."""


class Malformed(Exception):
    """The file is not an export at some line (exit 2)."""


class AtEnd(Exception):
    """A problem on the last complete line: when the file is cut short, the cut is the cause."""

    def __init__(self, cause):
        super().__init__(str(cause))
        self.cause = cause


# --- the encoding -------------------------------------------------------------------------------

def text(value):
    data = value.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def encoding(record):
    """The SLJ1 encoding of docs/hash-chain.md."""
    out = [b"SLJ1", struct.pack(">Q", record["sequence"]), record["transaction_id"]]
    for field in TEXT_FIELDS:
        out.append(text(record[field]))
    out.append(struct.pack(">I", len(record["postings"])))
    for account_id, currency, amount in record["postings"]:
        out += [account_id, text(currency), struct.pack(">q", amount)]
    return b"".join(out)


# The UUIDv5 namespace of account ids: account_id = uuid5(ACCOUNT_NAMESPACE, code).
ACCOUNT_NAMESPACE = uuid.UUID("5f1d2c3a-9b7e-4e51-8a0c-61d3e2b40a17")
ACCOUNT_KEYS = {"id", "code", "name", "kind", "currency", "owner"}
SLJ2_END_KEYS = {"last_sequence", "final_hash", "encoding", "accounts", "accounts_hash"}


def accounts_encoding(accounts):
    """The SLJ2 encoding of an accounts section (docs/hash-chain.md, "Version 2")."""
    out = [b"SLJ2", struct.pack(">I", len(accounts))]
    for account in accounts:
        out.append(account["id"])
        for field in ("code", "name", "kind", "currency", "owner"):
            out.append(text(account[field]))
    return b"".join(out)


# --- one spelling for every value ---------------------------------------------------------------

def uuid_bytes(value, what):
    if not isinstance(value, str) or not UUID_TEXT.fullmatch(value):
        raise ValueError(f"`{what}` {value!r} is not a lower-case hyphenated UUID")
    return bytes.fromhex(value.replace("-", ""))


def hash_bytes(value, what):
    if not isinstance(value, str) or not HASH_TEXT.fullmatch(value):
        raise ValueError(f"`{what}` {value!r} is not 64 lower-case hexadecimal digits")
    return bytes.fromhex(value)


def string(value, what):
    if not isinstance(value, str):
        raise ValueError(f"`{what}` is not a string")
    value.encode("utf-8")  # a lone surrogate (from a JSON escape) is not text: ValueError
    return value


def json_unsigned(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        raise ValueError(f"`{what}` is not an unsigned 64-bit integer")
    return value


def json_signed(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not I64_MIN <= value <= I64_MAX:
        raise ValueError(f"`{what}` is not a signed 64-bit integer")
    return value


def csv_unsigned(value, what):
    if not UNSIGNED_TEXT.fullmatch(value) or int(value) > U64_MAX:
        raise ValueError(f"`{what}` {value!r} is not an unsigned integer written `0` or without a "
                         f"leading zero, in range")
    return int(value)


def csv_signed(value, what):
    if not SIGNED_TEXT.fullmatch(value) or not I64_MIN <= int(value) <= I64_MAX:
        raise ValueError(f"`{what}` {value!r} is not a signed integer (`0`, or an optional `-` then "
                         f"digits without a leading zero), in range")
    return int(value)


def no_repeated_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"repeated key {repeated[0]!r}")
    return dict(pairs)


def json_object(data):
    """One JSON text; a key repeated in any object is an error (not "the last one wins")."""
    return json.loads(data.decode("utf-8"), object_pairs_hook=no_repeated_keys)


# --- the chain ----------------------------------------------------------------------------------

class Verifier:
    """Checks records in file order, as docs/hash-chain.md says, and tallies balances."""

    def __init__(self, from_sequence=1, previous_hash=None, watch_sequence=None):
        self.expected_start = from_sequence
        self.expected_previous = previous_hash
        self.watch_sequence = watch_sequence
        # The head after sequence 0 is the genesis hash, whatever the file holds.
        self.watched_hash = GENESIS if watch_sequence == 0 else None
        self.next_sequence = None
        self.previous = None
        self.first = None
        self.last = None
        self.transactions = 0
        self.postings = 0
        self.balances = {}
        self.ended = False
        self.accounts = None  # id bytes -> currency, once an SLJ2 end record was read

    def record(self, line, record):
        if self.ended:
            raise Broken(f"line {line}: data after the export's end record")
        sequence = record["sequence"]
        if self.next_sequence is None:
            start = self.expected_start
            if self.expected_previous is not None:
                previous = self.expected_previous
            elif start == 1:
                previous = GENESIS
            else:
                previous = record["previous_hash"]
            if sequence != start or record["previous_hash"] != previous:
                raise Broken(f"line {line}: the export starts at sequence {sequence} after hash "
                             f"{record['previous_hash'].hex()}, expected sequence {start} after hash "
                             f"{previous.hex()}")
            self.next_sequence, self.previous = start, previous
            self.first = (start, previous)
            if self.watch_sequence is not None and self.watch_sequence == start - 1:
                self.watched_hash = previous
        if sequence != self.next_sequence:
            raise Broken(f"line {line}: chain broken at sequence {sequence}: sequence gap: "
                         f"expected sequence {self.next_sequence} here")
        if record["previous_hash"] != self.previous:
            raise Broken(f"line {line}: chain broken at sequence {sequence}: previous hash is "
                         f"{record['previous_hash'].hex()}, but the transaction before ends the chain "
                         f"at {self.previous.hex()}")
        computed = hashlib.sha256(self.previous + encoding(record)).digest()
        if computed != record["hash"]:
            raise Broken(f"line {line}: chain broken at sequence {sequence}: stored hash "
                         f"{record['hash'].hex()} does not match the contents, which hash to "
                         f"{computed.hex()} (a hashed field was changed)")
        sums = {}
        for _, currency, amount in record["postings"]:
            sums[currency] = sums.get(currency, 0) + amount
        for currency in sorted(sums, key=lambda code: code.encode("utf-8")):
            if sums[currency] != 0:
                raise Broken(f"line {line}: chain broken at sequence {sequence}: postings in "
                             f"{currency} sum to {sums[currency]}, not zero")
        for account_id, currency, amount in record["postings"]:
            key = (account_id, currency)
            self.balances[key] = self.balances.get(key, 0) + amount
        self.next_sequence += 1
        self.previous = record["hash"]
        self.last = (sequence, record["hash"])
        if sequence == self.watch_sequence:
            self.watched_hash = record["hash"]
        self.transactions += 1
        self.postings += len(record["postings"])

    def end(self, line, last_sequence, final_hash, section=None):
        if self.ended:
            raise Broken(f"line {line}: data after the export's end record")
        self.ended = True
        file_end = self.last if self.last else (None, None)
        if (last_sequence, final_hash) != file_end:
            raise Broken(f"line {line}: the end record says the export ends at sequence "
                         f"{last_sequence}, but the file ends at sequence {file_end[0]}")
        if section is None:
            return
        accounts, stated_hash = section
        for before, after in zip(accounts, accounts[1:]):
            if before["id"] >= after["id"]:
                raise Broken(f"line {line}: the accounts section is not in strictly ascending id "
                             f"order at account {uuid.UUID(bytes=after['id'])}")
        self.derived_ids = sum(1 for account in accounts
                               if uuid.uuid5(ACCOUNT_NAMESPACE, account["code"]).bytes == account["id"])
        chain_end = final_hash if final_hash is not None else GENESIS
        computed = hashlib.sha256(chain_end + accounts_encoding(accounts)).digest()
        if computed != stated_hash:
            raise Broken(f"line {line}: the accounts section hashes to {computed.hex()}, but the "
                         f"end record states {stated_hash.hex()}: an account was changed, added "
                         f"or removed")
        self.accounts = {account["id"]: account["currency"] for account in accounts}

    def after_sequence(self):
        return self.last[0] if self.last else None

    def truncated(self):
        after = self.after_sequence()
        return Broken(f"the file is truncated: it stops after sequence "
                      f"{after if after is not None else 'none'} without the export's end record")

    def check_head(self, sequence, expected_hash):
        """The chain hash after `sequence` must be the checkpoint's (docs/hash-chain.md)."""
        if self.watched_hash is None:
            covered = "no transaction" if self.first is None else (
                f"sequences {self.first[0]} to {self.last[0]}")
            raise Broken(f"the file does not reach the checkpoint: the checkpoint signs the head "
                         f"after sequence {sequence}, the file holds {covered} (transactions "
                         f"deleted at its end, or an older export)")
        if self.watched_hash != expected_hash:
            raise Broken(f"the chain hash after sequence {sequence} is {self.watched_hash.hex()} in "
                         f"the file, but the checkpoint signs {expected_hash.hex()}: this is not "
                         f"the history the checkpoint was signed over")

    def summary(self):
        if not self.ended:
            raise self.truncated()
        if self.accounts is not None:
            for account_id, currency in sorted(self.balances):
                named = self.accounts.get(account_id)
                if named != currency:
                    what = "does not name" if named is None else f"gives the currency {named}"
                    raise Broken(f"postings in {currency} name account "
                                 f"{uuid.UUID(bytes=account_id)}, which the accounts section "
                                 f"{what}")
        lines = [f"export valid: {self.transactions} transactions, {self.postings} postings"]
        if self.first is None:
            lines.append("range: empty (no transaction)")
        else:
            lines.append(f"range: sequences {self.first[0]} to {self.last[0]}, chained onto "
                         f"{self.first[1].hex()}")
        lines.append(f"final hash: {self.last[1].hex() if self.last else 'none'}")
        if self.accounts is not None:
            count = len(self.accounts)
            lines.append(f"accounts section (SLJ2): {count} accounts, hash chained onto the final "
                         f"hash, every posting's account named in its currency; {self.derived_ids} "
                         f"of {count} ids derived from their codes (UUIDv5)")
        else:
            lines.append(NO_ACCOUNTS_SECTION)
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


# --- JSON Lines ---------------------------------------------------------------------------------

def record_from_json(obj):
    if not isinstance(obj, dict) or set(obj) != RECORD_KEYS:
        raise ValueError("not a transaction record (its keys must be exactly "
                         + ", ".join(sorted(RECORD_KEYS)) + ")")
    record = {
        "sequence": json_unsigned(obj["sequence"], "sequence"),
        "transaction_id": uuid_bytes(obj["transaction_id"], "transaction_id"),
        "previous_hash": hash_bytes(obj["previous_hash"], "previous_hash"),
        "hash": hash_bytes(obj["hash"], "hash"),
        "postings": [],
    }
    for field in TEXT_FIELDS:
        record[field] = string(obj[field], field)
    if not isinstance(obj["postings"], list):
        raise ValueError("`postings` is not a list")
    for posting in obj["postings"]:
        if not isinstance(posting, dict) or set(posting) != POSTING_KEYS:
            raise ValueError("a posting's keys must be exactly account_id, amount_minor, currency")
        record["postings"].append((
            uuid_bytes(posting["account_id"], "account_id"),
            string(posting["currency"], "currency"),
            json_signed(posting["amount_minor"], "amount_minor"),
        ))
    return record


def end_from_json(obj):
    if not isinstance(obj, dict) or set(obj) != {"export_end"} or not isinstance(obj["export_end"], dict) \
            or set(obj["export_end"]) not in ({"last_sequence", "final_hash"}, SLJ2_END_KEYS):
        raise ValueError("neither a transaction record nor the end record")
    end = obj["export_end"]
    last, final = end["last_sequence"], end["final_hash"]
    section = None
    if "encoding" in end:
        if end["encoding"] != "SLJ2":
            raise ValueError(f"`encoding` {end['encoding']!r} is not `SLJ2`")
        if not isinstance(end["accounts"], list):
            raise ValueError("`accounts` is not a list")
        accounts = []
        for account in end["accounts"]:
            if not isinstance(account, dict) or set(account) != ACCOUNT_KEYS:
                raise ValueError("an account's keys must be exactly " + ", ".join(sorted(ACCOUNT_KEYS)))
            owner = string(account["owner"], "owner")
            if owner:
                uuid_bytes(owner, "owner")
            accounts.append({
                "id": uuid_bytes(account["id"], "id"),
                "code": string(account["code"], "code"),
                "name": string(account["name"], "name"),
                "kind": string(account["kind"], "kind"),
                "currency": string(account["currency"], "currency"),
                "owner": owner,
            })
        section = (accounts, hash_bytes(end["accounts_hash"], "accounts_hash"))
    return (None if last is None else json_unsigned(last, "last_sequence"),
            None if final is None else hash_bytes(final, "final_hash"),
            section)


def verify_jsonl(handle, complete, verifier):
    position, number = 0, 0
    while position < complete:
        raw = handle.readline()  # binary mode: only b"\n" ends a line
        if not raw:
            break
        position += len(raw)
        number += 1
        at_end = position >= complete
        line = raw[:-1] if raw.endswith(b"\n") else raw
        line = line[:-1] if line.endswith(b"\r") else line
        try:
            try:
                obj = json_object(line)
                if isinstance(obj, dict) and "export_end" in obj:
                    item = ("end", end_from_json(obj))
                else:
                    item = ("record", record_from_json(obj))
            except (ValueError, RecursionError) as error:
                raise Malformed(f"line {number} (after sequence {verifier.after_sequence()}): "
                                f"not a valid export record: {error}") from None
            if item[0] == "end":
                verifier.end(number, *item[1])
            else:
                verifier.record(number, item[1])
        except (Malformed, Broken) as problem:
            raise (AtEnd(problem) if at_end else problem) from None


# --- CSV ----------------------------------------------------------------------------------------

def read_row_slowly(data, at, at_eof):
    """The strict row reader of docs/hash-chain.md, byte by byte, for what the fast pattern does
    not take: ("row", fields, next), ("more",), ("malformed", why) or ("unfinished", why)."""
    def need_more(why):
        return ("unfinished", why) if at_eof else ("more",)

    fields = []
    position = at
    while True:
        if data[position:position + 1] == b'"':
            position += 1
            value = bytearray()
            while True:
                quote = data.find(b'"', position)
                if quote < 0:
                    return need_more("a quoted field is not closed")
                value += data[position:quote]
                position = quote + 1
                if data[position:position + 1] == b'"':
                    value += b'"'
                    position += 1
                elif position == len(data) and not at_eof:
                    return ("more",)
                else:
                    break
        else:
            match = re.compile(rb"[,\r\n]").search(data, position)
            if match is None:
                return need_more("the last row does not end with CR LF")
            value = data[position:match.start()]
            if b'"' in value:
                return ("malformed", f"field {len(fields) + 1} holds a quote but is not quoted")
            position = match.start()
        try:
            fields.append(bytes(value).decode("utf-8"))
        except UnicodeDecodeError:
            return ("malformed", f"field {len(fields) + 1} is not UTF-8")
        following = data[position:position + 1]
        if following == b",":
            position += 1
        elif following == b"\r":
            after = data[position + 1:position + 2]
            if after == b"\n":
                return ("row", fields, position + 2)
            if after == b"" and not at_eof:
                return ("more",)
            return ("malformed", "a carriage return outside quotes is not followed by a line feed")
        elif following == b"\n":
            return ("malformed", "a line feed outside quotes without a carriage return before it")
        elif following == b"":
            return need_more("the last row does not end with CR LF")
        else:
            return ("malformed", f"text after the closing quote of field {len(fields)}")


def unquote(field):
    return field[1:-1].replace(b'""', b'"') if field.startswith(b'"') else field


class CsvAssembler:
    """Groups rows into transactions, as docs/hash-chain.md says (the Rust CsvAssembler's rules)."""

    def __init__(self):
        self.header_seen = False
        self.current = None  # [line, first row's fields, record, declared count, pending problem]
        # The SLJ2 accounts section: its accounts once its first row was read (no transaction row
        # may follow), and the hash its `accounts` row states (then only the end row may follow).
        self.section = None
        self.section_hash = None
        self.ended = False

    def push_row(self, fields, line, after):
        def malformed(why):
            return Malformed(f"line {line} (after sequence {after}): not a valid export record: {why}")

        if len(fields) != len(CSV_COLUMNS):
            raise malformed(f"{len(fields)} fields, an export row has {len(CSV_COLUMNS)}")
        if not self.header_seen:
            if fields != CSV_COLUMNS:
                raise malformed("the header row must be " + ",".join(CSV_COLUMNS))
            self.header_seen = True
            return []
        kind = fields[0]
        try:
            if self.section_hash is not None and kind != "end":
                raise ValueError(f"a `{kind}` row after the `accounts` row: only the end row "
                                 f"follows it")
            if kind == "end":
                for column in range(2, 16):
                    if fields[column]:
                        raise ValueError(f"the end row has `{CSV_COLUMNS[column]}`; only `sequence` "
                                         f"and `hash` are filled on it")
                end = (None if fields[1] == "" else csv_unsigned(fields[1], "sequence"),
                       None if fields[16] == "" else hash_bytes(fields[16], "hash"))
                section = None
                if self.section_hash is not None:
                    section = (self.section, self.section_hash)
                elif self.section is not None:
                    raise ValueError("account rows without the `accounts` row that closes them")
                self.section, self.section_hash, self.ended = None, None, True
                return self.take_current() + [(line, "end", end + (section,), None)]
            if kind == "account":
                account = account_of(fields)
                if self.ended:
                    raise Broken(f"line {line}: data after the export's end record")
                completed = self.take_current()
                if self.section is None:
                    self.section = []
                self.section.append(account)
                return completed
            if kind == "accounts":
                stated = accounts_row_hash(fields)
                if self.ended:
                    raise Broken(f"line {line}: data after the export's end record")
                completed = self.take_current()
                if self.section is None:
                    self.section = []
                self.section_hash = stated
                return completed
            if kind not in ("posting", "transaction"):
                raise ValueError(f"unknown row type `{kind}`")
            if self.section is not None:
                raise ValueError(f"a `{kind}` row after the accounts section: the section follows "
                                 f"the last transaction")
            sequence = csv_unsigned(fields[1], "sequence")
            if kind == "transaction":
                for column in range(11, 15):
                    if fields[column]:
                        raise ValueError(f"a `transaction` row (no postings) has "
                                         f"`{CSV_COLUMNS[column]}`")
            if self.current is not None and self.current[2]["sequence"] == sequence:
                self.add_to_current(fields, line, sequence)
                return []
            declared = csv_unsigned(fields[10], "posting_count")
            record = {
                "sequence": sequence,
                "transaction_id": uuid_bytes(fields[2], "transaction_id"),
                "previous_hash": hash_bytes(fields[15], "previous_hash"),
                "hash": hash_bytes(fields[16], "hash"),
                "postings": [],
            }
            for column in range(3, 10):
                record[CSV_COLUMNS[column]] = fields[column]
            if kind == "posting":
                record["postings"].append(posting_of(fields))
        except ValueError as error:
            raise malformed(error) from None
        completed = self.take_current()
        self.current = [line, fields, record, declared, None]
        self.current[4] = self.index_problem(fields, line)
        return completed

    def add_to_current(self, fields, line, sequence):
        posting = None
        if fields[0] == "posting":
            try:
                posting = posting_of(fields)
            except ValueError as error:
                raise Malformed(f"line {line} (after sequence {sequence - 1}): not a valid export "
                                f"record: {error}") from None
        first = self.current[1]
        for column in REPEATED:
            if fields[column] != first[column]:
                raise Broken(f"line {line}: the rows of sequence {sequence} disagree: "
                             f"`{CSV_COLUMNS[column]}` differs from the transaction's first row")
        if posting is None:
            raise Broken(f"line {line}: the rows of sequence {sequence} disagree: a transaction row "
                         f"without postings has further rows")
        self.current[2]["postings"].append(posting)
        problem = self.index_problem(fields, line)
        if problem:
            raise problem

    def index_problem(self, fields, line):
        _, _, record, declared, _ = self.current
        expected = len(record["postings"]) - 1
        found = fields[11]
        matches = (found == "" and expected < 0) or (found != "" and int(found) == expected)
        if not matches or len(record["postings"]) > declared:
            return Broken(f"line {line}: the rows of sequence {record['sequence']} disagree: posting "
                          f"row `{found}` where posting {max(expected, 0)} of {declared} was expected")
        return None

    def take_current(self):
        if self.current is None:
            return []
        line, _, record, declared, pending = self.current
        self.current = None
        problem = pending
        if problem is None and len(record["postings"]) != declared:
            problem = Broken(f"line {line}: the rows of sequence {record['sequence']} disagree: "
                             f"`posting_count` says {declared} postings, the file has "
                             f"{len(record['postings'])} rows")
        return [(line, "record", record, problem)]


# Where an account row of a CSV SLJ2 section puts each field of its account (docs/hash-chain.md,
# "Version 2"): column index, field; in the order of the section's encoding.
ACCOUNT_COLUMNS = [(12, "id"), (9, "code"), (8, "name"), (3, "kind"), (13, "currency"),
                   (7, "owner")]


def account_of(fields):
    """An `account` row: the account's fields in their columns, every other column empty."""
    filled = {column for column, _ in ACCOUNT_COLUMNS}
    for column in range(1, len(CSV_COLUMNS)):
        if column not in filled and fields[column]:
            raise ValueError(f"an account row has `{CSV_COLUMNS[column]}`; only the account's "
                             f"columns are filled on it")
    account = {name: fields[column] for column, name in ACCOUNT_COLUMNS}
    if account["owner"]:
        uuid_bytes(account["owner"], "owner")
    account["id"] = uuid_bytes(account["id"], "account_id")
    return account


def accounts_row_hash(fields):
    """The `accounts` row closing a section: `kind` is the encoding `SLJ2`, `hash` the section's."""
    for column in range(1, len(CSV_COLUMNS)):
        if column not in (3, 16) and fields[column]:
            raise ValueError(f"the `accounts` row has `{CSV_COLUMNS[column]}`; only `kind` (the "
                             f"encoding) and `hash` are filled on it")
    if fields[3] != "SLJ2":
        raise ValueError(f"the `accounts` row's encoding (`kind`) {fields[3]!r} is not `SLJ2`")
    return hash_bytes(fields[16], "hash")


def posting_of(fields):
    csv_unsigned(fields[11], "posting_index")
    return (uuid_bytes(fields[12], "account_id"), fields[13],
            csv_signed(fields[14], "amount_minor"))


def check_items(items, verifier):
    # A transaction's chain is checked first, then its rows: a moved or changed row is named by
    # the chain at the sequence it belongs to; a count changed on every row is named after.
    for line, kind, value, rows_problem in items:
        if kind == "end":
            verifier.end(line, *value)
        else:
            verifier.record(line, value)
            if rows_problem:
                raise rows_problem


def verify_csv(handle, complete, verifier, read_bytes=READ_BYTES):
    assembler = CsvAssembler()
    data = b""
    start = 0
    consumed = 0  # bytes of the file before data[0]
    remaining = complete
    at_eof = complete == 0
    line = 1
    while True:
        if start >= len(data) and at_eof:
            break
        row_line = line
        match = CSV_ROW.match(data, start)
        if match:
            fields = []
            for raw in match.groups():
                try:
                    fields.append(unquote(raw).decode("utf-8"))
                except UnicodeDecodeError:
                    fields = None
                    break
            outcome = ("row", fields, match.end()) if fields is not None else \
                read_row_slowly(data, start, at_eof)
        else:
            outcome = read_row_slowly(data, start, at_eof)
        if outcome[0] == "more":
            if len(data) - start > MAX_ROW_BYTES:
                raise Malformed(f"line {row_line}: a row longer than {MAX_ROW_BYTES} bytes")
            chunk = handle.read(min(read_bytes, remaining))
            remaining -= len(chunk)
            consumed += start
            data = data[start:] + chunk
            start = 0
            at_eof = remaining == 0 or not chunk
            continue
        if outcome[0] in ("malformed", "unfinished"):
            problem = Malformed(f"line {row_line} (after sequence {verifier.after_sequence()}): not "
                                f"a valid export record: {outcome[1]}")
            last_line = outcome[0] == "unfinished" or (at_eof and b"\n" not in data[start:-1])
            raise (AtEnd(problem) if last_line else problem)
        _, fields, next_start = outcome
        line += 1 + data.count(b"\n", start, next_start) - 1
        at_end = consumed + next_start >= complete
        start = next_start
        try:
            check_items(assembler.push_row(fields, row_line, verifier.after_sequence()), verifier)
        except (Malformed, Broken) as problem:
            raise (AtEnd(problem) if at_end else problem) from None
    try:
        check_items(assembler.take_current(), verifier)
    except Broken as broken:
        raise AtEnd(broken) from None


def complete_length(handle):
    """Where the file's last line break ends (bytes after it are a line cut short), and its size."""
    handle.seek(0, 2)
    length = handle.tell()
    position = length
    while position > 0:
        start = max(0, position - 4096)
        handle.seek(start)
        block = handle.read(position - start)
        index = block.rfind(b"\n")
        if index >= 0:
            handle.seek(0)
            return start + index + 1, length
        position = start
    handle.seek(0)
    return 0, length


# --- checkpoints --------------------------------------------------------------------------------

CHECKPOINT_KEYS = {"sequence", "hash", "signed_at", "key_id", "signature"}
SIGNED_AT_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def read_checkpoint(path):
    """A checkpoint file: exactly the five keys of docs/hash-chain.md ("Checkpoints")."""
    with open(path, "rb") as handle:
        obj = json_object(handle.read().strip())
    if not isinstance(obj, dict) or set(obj) != CHECKPOINT_KEYS:
        raise ValueError("a checkpoint has exactly the keys " + ", ".join(sorted(CHECKPOINT_KEYS)))
    key_id = obj["key_id"]
    signature = obj["signature"]
    if not isinstance(key_id, str) or not re.fullmatch(r"[0-9a-f]{16}", key_id):
        raise ValueError("key_id is 16 lower-case hexadecimal digits")
    if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-f]{128}", signature):
        raise ValueError("signature is 128 lower-case hexadecimal digits")
    if not isinstance(obj["signed_at"], str) or not SIGNED_AT_TEXT.fullmatch(obj["signed_at"]):
        raise ValueError("signed_at is RFC 3339 in UTC with whole seconds and `Z`")
    return {
        "sequence": json_unsigned(obj["sequence"], "sequence"),
        "hash": hash_bytes(obj["hash"], "hash"),
        "signed_at": obj["signed_at"],
        "key_id": key_id,
        "signature": bytes.fromhex(signature),
    }


def signed_message(checkpoint):
    return (f"solidarity-ledger checkpoint v1\nsequence={checkpoint['sequence']}\n"
            f"hash={checkpoint['hash'].hex()}\nsigned_at={checkpoint['signed_at']}\n"
            f"key_id={checkpoint['key_id']}\n").encode("utf-8")


def read_public_key(argument):
    """64 lower-case hex digits, given as such or in a file."""
    value = argument
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        with open(argument, "r", encoding="utf-8") as handle:
            value = handle.read().strip()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError("a public key is 64 lower-case hexadecimal digits")
    return bytes.fromhex(value)


def check_signature(checkpoint, public_key):
    """True when verified, None when it cannot be checked here; raises Broken when it fails."""
    expected_id = hashlib.sha256(public_key).hexdigest()[:16]
    if checkpoint["key_id"] != expected_id:
        raise Broken(f"the checkpoint names key {checkpoint['key_id']}, but the key given has id "
                     f"{expected_id}")
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            checkpoint["signature"], signed_message(checkpoint))
    except (InvalidSignature, ValueError):
        raise Broken(f"the checkpoint's signature does not verify with key "
                     f"{checkpoint['key_id']}") from None
    return True


NO_ACCOUNTS_SECTION = ("accounts section: none (SLJ1): the file does not name its accounts, and "
                       "reads the same as an SLJ2 export whose section was removed; pass "
                       "--expect-accounts to refuse such a file")
CHECKPOINT_LEAVES_ACCOUNTS = ("the checkpoint's signature covers the transactions up to its "
                              "sequence, not the accounts section: names, codes, kinds and owners "
                              "are the exporter's statement, bound to this file's final hash by the "
                              "exporter, and each id to its code only where it is derived (UUIDv5)")


# --- the command --------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--format", choices=["jsonl", "csv"])
    parser.add_argument("--from-sequence", type=int,
                        help="verify a range that starts at this sequence (default: 1, the whole chain)")
    parser.add_argument("--previous-hash", help="the hash the range must chain onto")
    parser.add_argument("--checkpoint", help="a signed checkpoint (JSON) the file must match")
    parser.add_argument("--public-key", help="the ledger's public key (64 hex digits, or a file)")
    parser.add_argument("--expect-accounts", action="store_true",
                        help="refuse a file without an accounts section (SLJ1, or an SLJ2 export "
                             "whose section was removed)")
    # For the tests: small reads put row boundaries everywhere between two reads.
    parser.add_argument("--read-bytes", type=int, default=READ_BYTES, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    export_format = arguments.format or arguments.file.rsplit(".", 1)[-1]
    if export_format not in ("jsonl", "csv"):
        print("error: cannot tell the format from the extension; pass --format", file=sys.stderr)
        return EXIT_MALFORMED
    if arguments.previous_hash is not None and arguments.from_sequence is None:
        print("error: --previous-hash needs --from-sequence", file=sys.stderr)
        return EXIT_MALFORMED
    if arguments.public_key is not None and arguments.checkpoint is None:
        print("error: --public-key checks a checkpoint's signature: pass --checkpoint", file=sys.stderr)
        return EXIT_MALFORMED
    try:
        previous = None
        if arguments.previous_hash is not None:
            previous = hash_bytes(arguments.previous_hash, "--previous-hash")
        checkpoint = read_checkpoint(arguments.checkpoint) if arguments.checkpoint else None
        public_key = read_public_key(arguments.public_key) if arguments.public_key else None
        if arguments.from_sequence is not None and not 1 <= arguments.from_sequence <= U64_MAX:
            raise ValueError("--from-sequence is at least 1")
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_MALFORMED
    verifier = Verifier(arguments.from_sequence or 1, previous,
                        checkpoint["sequence"] if checkpoint else None)
    try:
        handle = open(arguments.file, "rb")
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_MALFORMED
    with handle:
        try:
            complete, length = complete_length(handle)
            cut = complete < length
            try:
                if export_format == "jsonl":
                    verify_jsonl(handle, complete, verifier)
                else:
                    verify_csv(handle, complete, verifier, max(1, arguments.read_bytes))
            except AtEnd as at_end:
                if cut:
                    raise verifier.truncated() from None
                raise at_end.cause from None
            if cut:
                raise verifier.truncated()
            summary = verifier.summary()
            if arguments.expect_accounts and verifier.accounts is None:
                raise Broken("the file has no accounts section (it reads as SLJ1), but "
                             "--expect-accounts was given: an SLJ2 export whose section was "
                             "removed reads the same")
            signature = None
            if checkpoint is not None:
                if public_key is not None:
                    signature = check_signature(checkpoint, public_key)
                verifier.check_head(checkpoint["sequence"], checkpoint["hash"])
        except Broken as broken:
            print(f"export BROKEN: {broken}")
            return EXIT_BROKEN
        except Malformed as malformed:
            print(f"export MALFORMED: {malformed}")
            return EXIT_MALFORMED
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_MALFORMED
    print(summary)
    if checkpoint is None:
        print("NOT PROVEN: this proves only that the file is consistent with itself, not that it "
              "is the ledger's history; pass --checkpoint with a head a partner kept (and "
              "--public-key) to prove that")
        return EXIT_VALID
    head = f"sequence {checkpoint['sequence']}, hash {checkpoint['hash'].hex()}"
    print(f"checkpoint: the file's chain hash after {head} matches the checkpoint signed at "
          f"{checkpoint['signed_at']} by key {checkpoint['key_id']}")
    if verifier.accounts is not None:
        print(CHECKPOINT_LEAVES_ACCOUNTS)
    if public_key is None:
        print("signature NOT CHECKED: no --public-key was given, so who signed this checkpoint is "
              "unproven")
        return EXIT_VALID
    if signature is None:
        print("SIGNATURE NOT CHECKED: the Python package `cryptography` is not installed, so the "
              "checkpoint's Ed25519 signature could not be verified (pip install cryptography); "
              f"exit status {EXIT_SIGNATURE_UNCHECKED}", file=sys.stderr)
        print("signature NOT CHECKED (the `cryptography` package is missing)")
        return EXIT_SIGNATURE_UNCHECKED
    print("signature: verified with the given public key")
    return EXIT_VALID


if __name__ == "__main__":
    sys.exit(main())

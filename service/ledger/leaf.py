"""The canonical leaf of a check record: the exact bytes the ledger hashes (versions 1 and 2).

The leaf is a function of a record's stored, immutable values only, so that ``jamkesda
ledger verify`` re-encodes rows read back from PostgreSQL or SQLite to the same bytes as
the record had when it was written. It holds no plain NIK: records have none.

Encoding, version 1 — the ASCII bytes of one JSON text (RFC 8259), an object with exactly
these 24 members:

- ``v``: the integer 1, the version of this encoding.
- ``id``, ``client_id``: integers.
- ``population_snapshot_id``, ``jamkesda_snapshot_id``, ``jkn_snapshot_id``: integer or null.
- ``check_id``, ``channel``, ``name_match``, ``birth_date_match``, ``decision``,
  ``policy_version``: strings.
- ``nik_hash``, ``nik_masked``, ``facility_code``, ``operator_id``, ``service_type``,
  ``external_ref``: string or null.
- ``decided_at``: the decision instant in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, always
  six fraction digits. A stored instant without a zone (SQLite's) is UTC already.
- ``service_date``: ``YYYY-MM-DD`` or null.
- ``reasons``: the array of reason codes (strings), in the record's order.
- ``coverage``, ``errors``: the stored JSON value (an object) or null.
- ``latency_us``: the stored ``latency_ms`` times 1000 in IEEE 754 double arithmetic,
  rounded to the nearest integer (ties to even): integer microseconds.

Nested JSON values (``reasons``, ``coverage``, ``errors``) may hold only objects with
string keys, arrays, strings, integers, true, false and null; a fractional number makes a
record unencodable rather than leave its spelling to a JSON library.

Serialisation: no whitespace at all; the members of every object, nested ones included,
sorted by key in Unicode code point order; integers in decimal; in strings, '"' and '\\'
are escaped with a backslash, U+0008, U+0009, U+000A, U+000C and U+000D as \\b \\t \\n \\f
\\r, and every other character outside U+0020–U+007E as \\u followed by four lower-case
hex digits (a character beyond U+FFFF as its UTF-16 surrogate pair). This is what Python's
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` writes.
The ledger's leaf hash is then SHA-256(0x00 ‖ leaf), as ``merkle.leaf_hash`` computes.
``tests/test_ledger_leaf.py`` pins an example record and its leaf byte for byte.

Encoding, version 2 — version 1 with ``v`` the integer 2 and one more member, 25 in all:

- ``batch_id``: a string, the batch the check came in (``POST /v1/checks/batch``).

A record's version follows from the record alone: version 2 when it has a ``batch_id``,
version 1 otherwise. So every record made outside a batch, and every leaf written before
batches existed, keeps exactly its version-1 bytes.

A later version changes ``v`` and is documented here beside these; a leaf once in the
log is never re-encoded under another version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from service.clock import aware

if TYPE_CHECKING:
    from models import CheckRecord
    from service.records import CheckEntry

LEAF_VERSION = 1
BATCH_LEAF_VERSION = 2


class UnencodableRecord(ValueError):
    """A record value that the leaf encoding has no one spelling for (``field``: whose)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        """What is wrong, and the leaf field it is in once known."""
        super().__init__(message)
        self.field = field


def _integer(value: Any) -> int:
    """An integer, not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnencodableRecord(f"{value!r} is not an integer")
    return value


def _text(value: Any) -> str:
    """A string."""
    if not isinstance(value, str):
        raise UnencodableRecord(f"{value!r} is not a string")
    return value


def _instant(value: Any) -> str:
    """A stored instant in UTC to the microsecond, ending in Z."""
    if not isinstance(value, datetime):
        raise UnencodableRecord(f"{value!r} is not a date and time")
    utc = aware(value).astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def _date(value: Any) -> str:
    """A calendar date, YYYY-MM-DD."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise UnencodableRecord(f"{value!r} is not a date")
    return value.isoformat()


def _latency(value: Any) -> int:
    """Milliseconds as stored, to whole microseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnencodableRecord(f"{value!r} is not a finite number of milliseconds")
    return round(value * 1000)


def _json(value: Any) -> Any:
    """A nested JSON value, checked to hold nothing without one spelling."""
    # Booleans are integers to Python, and JSON writes both one way only; floats are refused.
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, (list, tuple)):
        return _array(value)
    if isinstance(value, (dict, Mapping)):
        if not all(isinstance(key, str) for key in value):
            raise UnencodableRecord(f"an object with a key that is not a string: {value!r}")
        return {key: _json(item) for key, item in value.items()}
    raise UnencodableRecord(f"{value!r} has no canonical JSON form")


def _array(value: Any) -> list[Any]:
    """A JSON array as the record holds it."""
    if not isinstance(value, (list, tuple)):
        raise UnencodableRecord(f"{value!r} is not a JSON array")
    return [_json(item) for item in value]


def _object(value: Any) -> dict[str, Any]:
    """A JSON object as the record holds it."""
    if not isinstance(value, (dict, Mapping)):
        raise UnencodableRecord(f"{value!r} is not a JSON object")
    result: dict[str, Any] = _json(value)
    return result


def _nullable(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The conversion, letting null through."""
    return lambda value: None if value is None else convert(value)


# Each member of the leaf: the record field it comes from, and how it is written.
_MEMBERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "id": ("id", _integer),
    "check_id": ("check_id", _text),
    "decided_at": ("decided_at", _instant),
    "nik_hash": ("nik_hash", _nullable(_text)),
    "nik_masked": ("nik_masked", _nullable(_text)),
    "facility_code": ("facility_code", _nullable(_text)),
    "client_id": ("client_id", _integer),
    "operator_id": ("operator_id", _nullable(_text)),
    "channel": ("channel", _text),
    "service_date": ("service_date", _nullable(_date)),
    "service_type": ("service_type", _nullable(_text)),
    "external_ref": ("external_ref", _nullable(_text)),
    "name_match": ("name_match", _text),
    "birth_date_match": ("birth_date_match", _text),
    "decision": ("decision", _text),
    "reasons": ("reasons", _array),
    "coverage": ("coverage", _nullable(_object)),
    "errors": ("errors", _nullable(_object)),
    "policy_version": ("policy_version", _text),
    "population_snapshot_id": ("population_snapshot_id", _nullable(_integer)),
    "jamkesda_snapshot_id": ("jamkesda_snapshot_id", _nullable(_integer)),
    "jkn_snapshot_id": ("jkn_snapshot_id", _nullable(_integer)),
    "latency_us": ("latency_ms", _latency),
}

_Member = tuple[str, tuple[str, Callable[[Any], Any]]]
_VERSION_1: tuple[_Member, ...] = tuple(_MEMBERS.items())
# Version 2 has one more member, and is written only for a record made in a batch.
_VERSION_2: tuple[_Member, ...] = (*_VERSION_1, ("batch_id", ("batch_id", _text)))

# The record fields the leaf reads: what storage must select to re-encode a record.
FIELDS = tuple(field for _member, (field, _convert) in _VERSION_2)


def encode_leaf(record: CheckRecord | CheckEntry | Mapping[Any, Any]) -> bytes:
    """The canonical leaf bytes of a check record or a row mapping of one (version 1 or 2)."""
    # Decided once per record, not per field: the abstract-class check is slow, and the
    # sequencer and ``ledger verify`` encode millions of records.
    read: Callable[[str], Any] = (
        record.__getitem__ if isinstance(record, Mapping) else partial(getattr, record)
    )
    in_batch = _read(read, "batch_id") is not None
    members: dict[str, Any] = {"v": BATCH_LEAF_VERSION if in_batch else LEAF_VERSION}
    for member, (field, convert) in _VERSION_2 if in_batch else _VERSION_1:
        value = _read(read, field)
        try:
            members[member] = convert(value)
        except UnencodableRecord as error:
            raise UnencodableRecord(f"{field}: {error}", field) from error
    text = json.dumps(
        members, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return text.encode("ascii")


def _read(read: Callable[[str], Any], field: str) -> Any:
    """A field of the record being encoded; a record without it cannot be encoded."""
    try:
        return read(field)
    except (KeyError, AttributeError) as error:
        raise UnencodableRecord(f"the record has no field {field}", field) from error

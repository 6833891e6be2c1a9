"""What the console shows of one check: the record, its replay, and its place in the ledger.

The record page and the dispute report both show a ``Dossier``. A replay that cannot be
made (a refused request, a policy version no longer available, a registry hashed under
another key) is a message on the page, never an error page: the record and the ledger
state are still worth reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.audit.records import AuditEntry
from service.audit.replay import (
    HashedUnderEarlierKey,
    NotReplayable,
    PolicyUnavailable,
    Replay,
    replay_check,
)
from service.config import Settings
from service.decision import Decision
from service.documents import audit_document
from service.ledger.record_state import (
    LedgerState,
    SignedCheckpoint,
    latest_checkpoint,
    record_state,
)
from service.messages import earlier_key_text
from service.registry_key import RehashNeeded

NOT_REPLAYABLE = (
    "Permintaan ini ditolak saat diperiksa karena isiannya tidak valid, dan tidak "
    "menghasilkan keputusan. Tidak ada keputusan yang dapat diulang."
)
REHASH_NEEDED = (
    "Ulangan belum dapat dibuat: hash NIK pada data kependudukan dibuat dengan kunci lain "
    "daripada yang berlaku sekarang, jadi orang pada catatan ini belum dapat dicari. Ini "
    "bukan berarti NIK tidak terdaftar. Minta operator menjalankan `jamkesda db rehash`."
)


def policy_unavailable(version: str) -> str:
    """The page's text when the record's policy version cannot be found."""
    return (
        f"Ulangan tidak dapat dibuat: versi kebijakan {version} yang tercatat tidak "
        "tersedia di layanan ini. Minta operator memasang berkas kebijakan versi itu."
    )


@dataclass(frozen=True)
class ReplayPart:
    """One column of the replay: its title, its decision, and whether it differs."""

    title: str
    decision: Decision
    differs: bool


@dataclass(frozen=True)
class ReplayResult:
    """A record's replay, or the reason there is none (in words for the officer)."""

    replay: Replay | None
    unavailable: str | None = None

    def parts(self) -> list[ReplayPart]:
        """Recorded, as of then, as of now; each later part marked when it differs."""
        if self.replay is None:
            return []
        recorded = self.replay.recorded
        same = (recorded.outcome, recorded.reasons)
        then, now = self.replay.as_of_then, self.replay.as_of_now
        return [
            ReplayPart("Tercatat", recorded, False),
            ReplayPart("Menurut data saat itu", then, (then.outcome, then.reasons) != same),
            ReplayPart("Menurut data sekarang", now, (now.outcome, now.reasons) != same),
        ]


@dataclass(frozen=True)
class Dossier:
    """A check record as an ``AuditRecord``, its replay and its ledger state."""

    entry: AuditEntry
    record: dict[str, Any]
    replay: ReplayResult
    ledger: LedgerState


def replay_result(session: Session, check_id: str, settings: Settings) -> ReplayResult:
    """The replay of the record ``check_id``, or why it cannot be made."""
    try:
        found = replay_check(session, check_id, settings.policy, settings.nik_hash_key)
    except NotReplayable:
        return ReplayResult(None, NOT_REPLAYABLE)
    except PolicyUnavailable as missing:
        return ReplayResult(None, policy_unavailable(missing.version))
    except RehashNeeded:
        return ReplayResult(None, REHASH_NEEDED)
    except HashedUnderEarlierKey as earlier:
        return ReplayResult(None, earlier_key_text(earlier.rotated_at, settings.policy.zone))
    # The entry was read in this transaction, and records are never deleted.
    assert found is not None
    return ReplayResult(found)


def dossier(
    session: Session, entry: AuditEntry, settings: Settings, latest: SignedCheckpoint | None
) -> Dossier:
    """Everything the console shows of ``entry``, its ledger state under ``latest``."""
    record = entry.record
    document = audit_document(
        record,
        entry.snapshots,
        entry.facility_name,
        entry.client_name,
        settings.policy.zone,
        entry.leaf_index,
        entry.quarantined,
    )
    return Dossier(
        entry,
        document,
        replay_result(session, record.check_id, settings),
        record_state(session, record, entry.leaf_index, latest),
    )


def latest_signed(session: Session, settings: Settings) -> SignedCheckpoint | None:
    """The latest checkpoint, its signature checked with this service's verifier key."""
    return latest_checkpoint(session, settings.ledger_verifier_key)

"""The dispute report (SPEC §10): checks, their replays, and what proves them untouched.

A report is for a complaint ("I was refused at Puskesmas X on 3 March"): one check, or
every check of one NIK over a period. Besides each record and its replay it carries the
latest signed checkpoint, the service's verifier key, and for each check its leaf and
inclusion proof, so that anyone can verify it later, without trusting the service then:
the leaf hashes with the proof to the checkpoint's root, and the checkpoint's signature
verifies with the key (``docs/ombudsman/verify_ledger.py`` does both against the API).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service import clock
from service.audit.filters import CheckFilter
from service.audit.records import AuditEntry, list_records
from service.config import Settings
from service.ledger.record_state import SignedCheckpoint
from service.web.dossier import Dossier, dossier, latest_signed

# A report of one NIK holds at most this many checks (the newest); a longer period is
# better cut in several reports, each still printable.
MAX_CHECKS = 200


@dataclass(frozen=True)
class DisputeReport:
    """The checks of a report, oldest first, and the checkpoint their proofs lead to."""

    made_at: datetime
    checkpoint: SignedCheckpoint | None
    verifier_key: str
    dossiers: list[Dossier]
    cut: bool  # more checks matched than MAX_CHECKS


def _report(
    session: Session, entries: list[AuditEntry], settings: Settings, cut: bool
) -> DisputeReport:
    latest = latest_signed(session, settings)
    dossiers = [dossier(session, entry, settings, latest) for entry in entries]
    return DisputeReport(clock.now(), latest, settings.ledger_verifier_key, dossiers, cut)


def check_report(session: Session, entry: AuditEntry, settings: Settings) -> DisputeReport:
    """The report of one check."""
    return _report(session, [entry], settings, cut=False)


def search_report(session: Session, selection: CheckFilter, settings: Settings) -> DisputeReport:
    """The report of the checks ``selection`` finds (one NIK over a period), oldest first."""
    page = list_records(session, selection, MAX_CHECKS)
    entries = list(reversed(page.entries))
    return _report(session, entries, settings, cut=page.next_cursor is not None)

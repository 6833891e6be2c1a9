"""SQLAlchemy models: what the tables are. They never commit or call services."""

from models.access import AccessRecord
from models.base import Base
from models.batches import Batch
from models.checks import CheckRecord
from models.clients import Client
from models.idempotency import RememberedAnswer
from models.ledger import (
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHash,
    LedgerQuarantine,
    LedgerQueue,
)
from models.snapshots import Facility, JamkesdaRow, JknRow, PopulationRow, Snapshot
from models.web import SavedSearch, WebSession

__all__ = [
    "AccessRecord",
    "Base",
    "Batch",
    "CheckRecord",
    "Client",
    "Facility",
    "JamkesdaRow",
    "JknRow",
    "LedgerCheckpoint",
    "LedgerEntry",
    "LedgerHash",
    "LedgerQuarantine",
    "LedgerQueue",
    "PopulationRow",
    "RememberedAnswer",
    "SavedSearch",
    "Snapshot",
    "WebSession",
]

"""The ledger: check records as an RFC 6962 transparency log with signed checkpoints.

The pure core has no I/O: Merkle hashing and proofs (``merkle``), signed checkpoints
(``note``) and the canonical leaf of a check record (``leaf``). On it build the log's data
access (``store``), the one writer (``sequencer``, run by ``runner``), what auditors ask
(``proofs``), and ``jamkesda ledger`` (``verify``, ``command``).
"""

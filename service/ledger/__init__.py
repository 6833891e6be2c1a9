"""The ledger: check records as an RFC 6962 transparency log with signed checkpoints.

This package holds the pure core only: Merkle hashing and proofs (``merkle``), signed
checkpoints (``note``) and the canonical leaf of a check record (``leaf``). Storage and
HTTP build on it and stay out of it.
"""

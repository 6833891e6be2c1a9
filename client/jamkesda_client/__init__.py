"""Client of the Kukar free-care-by-KTP eligibility service (``jamkesda-client``)."""

from jamkesda_client.check_request import CheckRequest
from jamkesda_client.client import Client
from jamkesda_client.errors import (
    AuthenticationError,
    ForbiddenError,
    InvalidRequestError,
    JamkesdaConnectionError,
    JamkesdaError,
    JamkesdaTimeoutError,
    NotFoundError,
    ProblemError,
    RateLimitedError,
    ServiceUnavailableError,
    TransportError,
    UnexpectedResponseError,
)
from jamkesda_client.results import (
    BatchItem,
    BatchProblem,
    BatchResult,
    CheckResult,
    Coverage,
    DataAsOf,
    Dispute,
    IdentityMatch,
    Reason,
    Replay,
    Verdict,
)
from jamkesda_client.version import __version__

__all__ = [
    "AuthenticationError",
    "BatchItem",
    "BatchProblem",
    "BatchResult",
    "CheckRequest",
    "CheckResult",
    "Client",
    "Coverage",
    "DataAsOf",
    "Dispute",
    "ForbiddenError",
    "IdentityMatch",
    "InvalidRequestError",
    "JamkesdaConnectionError",
    "JamkesdaError",
    "JamkesdaTimeoutError",
    "NotFoundError",
    "ProblemError",
    "RateLimitedError",
    "Reason",
    "Replay",
    "ServiceUnavailableError",
    "TransportError",
    "UnexpectedResponseError",
    "Verdict",
    "__version__",
]

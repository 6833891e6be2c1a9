"""The desk's printed slip (SPEC §10): the receipt's address, as text and as a QR code.

The patient scans the code, or types the address, and unlocks the receipt with the full
NIK (``service.web.receipt``). The address carries only the reference, never the NIK.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from flask import request

# Sizes the desk clerk may choose for the slip's paper, in millimetres; the first is the
# default. The print stylesheet (``static/desk.css``) has a page for each.
PAPER_WIDTHS = ("80", "58")
# Medium error correction survives a smudged thermal print and keeps the code small.
QR_ERROR = "m"
# Module size of the SVG; the stylesheet sets the printed size, so this only sets a ratio.
QR_SCALE = 4


@dataclass(frozen=True)
class Slip:
    """The receipt's address and its QR code as a ``data:`` image (CSP allows those)."""

    receipt_url: str
    qr_image: str
    width: str


def receipt_url(check_id: str) -> str:
    """The receipt's address on the server the clerk is using: ``<scheme>://<host>/r/<id>``."""
    return f"{request.url_root}r/{check_id}"


def qr_image(text: str) -> str:
    """A QR code (never a Micro QR, which phones read badly) of ``text``, as an SVG data URI.

    An image rather than inline SVG: no ``style`` to allow, and it prints crisply at any size.
    """
    return segno.make_qr(text, error=QR_ERROR).svg_data_uri(scale=QR_SCALE, dark="#000")


def paper_width(asked: str | None) -> str:
    """The paper width the clerk chose (``?lebar=58``), else the default 80 mm."""
    return asked if asked in PAPER_WIDTHS else PAPER_WIDTHS[0]


def slip_of(check_id: str, width: str | None) -> Slip:
    """The slip's address and QR code for a check, on paper ``width`` mm wide."""
    url = receipt_url(check_id)
    return Slip(url, qr_image(url), paper_width(width))

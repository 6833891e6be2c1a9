"""The pages of a PDF that Chromium printed, with their sizes and text, read with pypdf."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from pypdf import PdfReader

POINTS_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class PrintedPage:
    """One page: its size in millimetres and its text, runs of white space made one space."""

    width_mm: float
    height_mm: float
    text: str


def printed_pages(pdf: bytes) -> list[PrintedPage]:
    """The pages of a printed PDF, in order."""
    return [
        PrintedPage(
            width_mm=float(page.mediabox.width) / POINTS_PER_MM,
            height_mm=float(page.mediabox.height) / POINTS_PER_MM,
            text=re.sub(r"\s+", " ", page.extract_text()).strip(),
        )
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def pdf_text(pdf: bytes) -> str:
    """The text of every page of a printed PDF, a line between pages."""
    return "\n".join(page.text for page in printed_pages(pdf))

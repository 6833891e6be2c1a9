"""Data imports (SPEC §7): population, Jamkesda and JKN snapshots with history, and facilities."""

from service.imports.importer import import_file
from service.imports.report import ImportRejected, ImportResult, Problem
from service.imports.sources import SOURCE_NAMES

__all__ = ["SOURCE_NAMES", "ImportRejected", "ImportResult", "Problem", "import_file"]

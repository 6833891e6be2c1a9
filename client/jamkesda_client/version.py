"""The library's version: one place, read by the build too (``pyproject.toml``)."""

__version__ = "0.1.0"

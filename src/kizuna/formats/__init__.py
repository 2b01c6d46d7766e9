"""Readers and writers for external formats. No database, no network here."""

from kizuna.formats.common import ParseResult
from kizuna.formats.detect import detect_format, read_path, read_text

__all__ = ["ParseResult", "detect_format", "read_path", "read_text"]

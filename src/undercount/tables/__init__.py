"""Capture tables built from linked records."""

from undercount.tables.build import capture_histories, sidecar

__all__ = ["capture_histories", "sidecar"]

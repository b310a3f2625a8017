"""Reading lists and capture tables from files (CSV, Parquet, Excel)."""

from undercount.io.readers import read_frame, read_table

__all__ = ["read_frame", "read_table"]

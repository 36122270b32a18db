"""Tabular data in FATE's formats (CSV with an id column, optional label)."""

from fedloom.data.fate_csv import CsvFormatError, Table, read_fate_csv

__all__ = ["CsvFormatError", "Table", "read_fate_csv"]

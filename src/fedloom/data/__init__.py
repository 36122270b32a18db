"""Tables: one parser for FATE's dense CSV and sparse / tag formats, and the upload checks.

- :mod:`fedloom.data.csv_table` — the CSV parser (records, headers, ids, numeric cells);
- :mod:`fedloom.data.fate_csv` — dense tables as :class:`Table` (ids, header, features, labels);
- :mod:`fedloom.data.table_format` — FATE's upload ``meta`` (input format, delimiters, label);
- :mod:`fedloom.data.feature_text` — sparse and tag rows (``id`` + features text);
- :mod:`fedloom.data.upload` — checking and normalising an upload (FATE's upload options).
"""

from fedloom.data.csv_table import MISSING_MARKERS, CsvFormatError
from fedloom.data.fate_csv import Table, read_dense, read_fate_csv
from fedloom.data.feature_text import TextTable, parse_row, read_text_table, write_text_table
from fedloom.data.table_format import TableFormat, TableOptionError, stored_format
from fedloom.data.upload import UploadedTable, UploadSpec, meta_path, normalise_upload

__all__ = [
    "MISSING_MARKERS",
    "CsvFormatError",
    "Table",
    "TableFormat",
    "TableOptionError",
    "TextTable",
    "UploadSpec",
    "UploadedTable",
    "meta_path",
    "normalise_upload",
    "parse_row",
    "read_dense",
    "read_fate_csv",
    "read_text_table",
    "stored_format",
    "write_text_table",
]

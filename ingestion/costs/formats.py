"""Cloud cost file formats: detection from the header and normalisation to landing rows.

Every supported export becomes the same landing row (:data:`ROW_COLUMNS`): FOCUS-like column
meanings with the source's own charge type kept as text (dbt staging maps it per provider),
money as :class:`~decimal.Decimal`, times as naive UTC, tags as a JSON object and the source
columns nothing else uses in ``extras`` (JSON).

Formats: FOCUS 1.0-1.2 (CSV, Parquet), AWS CUR legacy CSV (``lineItem/...``), AWS CUR 2.0
(snake_case), Azure cost exports (EA: PascalCase, MCA: camelCase), GCP billing export rows
(CSV with flattened names or newline-delimited JSON as BigQuery exports it).

Quirks handled: the literal ``NULL`` (and empty strings) as null, timestamps without a zone
(taken as UTC), ``MM/DD/YYYY`` dates (Azure EA), a UTF-8 byte-order mark, Azure tags without
braces, and thousands of tag columns (CUR ``resourceTags/...``, CUR 2.0 ``resource_tags_*``).

The code lives in one module per concern; this module re-exports their public names so
``from ingestion.costs.formats import ...`` keeps working:

- :mod:`ingestion.costs.values`: decimals, timestamps, tags, ``COST_PLACES`` / ``COST_TYPE``,
  the landing row's columns and the errors;
- :mod:`ingestion.costs.readers`: CSV, gzip, Parquet and newline-delimited JSON;
- :mod:`ingestion.costs.columns`: what the normalisers share (column look-up, ``Format``);
- :mod:`ingestion.costs.focus`, :mod:`~ingestion.costs.aws`, :mod:`~ingestion.costs.azure`,
  :mod:`~ingestion.costs.gcp`: one normaliser per provider, with its formats;
- :mod:`ingestion.costs.detect`: the format from the header;
- :mod:`ingestion.costs.parse`: a whole file to landing rows (``parse_file``, ``check_file``).
"""

from ingestion.costs.aws import CUR2, CUR_LEGACY, CUR_MONEY, aws_effective_cost
from ingestion.costs.azure import AZURE_COLUMNS, AZURE_REQUIRED
from ingestion.costs.columns import REQUIRED, Columns, Format, Normalised
from ingestion.costs.detect import detect
from ingestion.costs.focus import FOCUS_COLUMNS, FOCUS_REQUIRED
from ingestion.costs.gcp import GCP_COLUMNS, GCP_REQUIRED
from ingestion.costs.parse import ParsedFile, check_file, parse_file
from ingestion.costs.readers import Table, read_table
from ingestion.costs.values import (
    COST_CONTEXT,
    COST_INTEGER_DIGITS,
    COST_PLACES,
    COST_TYPE,
    NULLS,
    ROW_COLUMNS,
    ROW_NAMES,
    CostFileError,
    CostValueError,
    clean,
    month_start,
    next_month,
    parse_decimal,
    parse_tags,
    parse_time,
    to_storage_scale,
)

__all__ = [
    "AZURE_COLUMNS",
    "AZURE_REQUIRED",
    "COST_CONTEXT",
    "COST_INTEGER_DIGITS",
    "COST_PLACES",
    "COST_TYPE",
    "CUR2",
    "CUR_LEGACY",
    "CUR_MONEY",
    "FOCUS_COLUMNS",
    "FOCUS_REQUIRED",
    "GCP_COLUMNS",
    "GCP_REQUIRED",
    "NULLS",
    "REQUIRED",
    "ROW_COLUMNS",
    "ROW_NAMES",
    "Columns",
    "CostFileError",
    "CostValueError",
    "Format",
    "Normalised",
    "ParsedFile",
    "Table",
    "aws_effective_cost",
    "check_file",
    "clean",
    "detect",
    "month_start",
    "next_month",
    "parse_decimal",
    "parse_file",
    "parse_tags",
    "parse_time",
    "read_table",
    "to_storage_scale",
]

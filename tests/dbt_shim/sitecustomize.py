"""Loaded by every Python process the test suite starts (tests/conftest.py puts this directory
on PYTHONPATH); it changes nothing except in a ``dbt`` process. The test workers, which run
dbt in process (dagster_project/transform/in_process.py), apply the same change
(tests/conftest.py, ``share_dbt_setup``).

dbt reparses the whole project (seconds per invocation) when the connection it is given differs
from the one of the last parse, and a DuckDB connection includes the file's path, which is new
in every test. The parse does not depend on that path (a model's database is the file's stem,
which stays in the hash), so in tests the path is left out of the comparison and the suite
seeds each new data directory with the parse of an earlier one (``make_settings``)."""

import os
import sys


def leave_duckdb_path_out_of_parse_state() -> None:
    import dataclasses
    import pprint

    from dbt.contracts.files import FileHash
    from dbt.parser.manifest import ManifestLoader

    state_check = ManifestLoader.build_manifest_state_check

    def state_check_without_duckdb_path(self):
        state = state_check(self)
        credentials = self.root_project.credentials
        if credentials.type != "duckdb":
            return state
        keys = sorted((k, v) for k, v in credentials.connection_info() if k != "path")
        return dataclasses.replace(state, profile_hash=FileHash.from_contents(pprint.pformat(keys)))

    ManifestLoader.build_manifest_state_check = state_check_without_duckdb_path


if os.path.basename(sys.argv[0] if sys.argv else "") == "dbt":
    leave_duckdb_path_out_of_parse_state()

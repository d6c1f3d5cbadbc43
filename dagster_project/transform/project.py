"""The dbt project, built once. The manifest is prepared by ``dagster dev`` and by the
``billing`` CLI; if it is missing (fresh checkout, tests) it is parsed on first load."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from functools import cache, cached_property
from importlib import metadata
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def dbt_executable() -> str:
    """The dbt installed next to this interpreter (the venv need not be activated)."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


class BillingDbtCliResource(DbtCliResource):
    """dagster-dbt runs ``dbt --version`` (a process of its own, about 2 s) before a run's first
    dbt command. The dbt beside this interpreter is the dbt-core installed here: its version is
    read from the package instead. Any other executable is asked, as dagster-dbt does."""

    @cached_property
    def _cli_version(self) -> version.Version:
        local = Path(sys.executable).parent / "dbt"
        if Path(self.dbt_executable) == local:
            return version.parse(metadata.version("dbt-core"))
        return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args):
        """dagster-dbt opens a dbt adapter in this process before each dbt command (loading
        the profile and dbt's macros: a second or more per build) for ``fetch_row_counts`` and
        ``fetch_column_metadata`` alone, which these assets do not call. Without it the
        invocation has no adapter, as under dbt Fusion; the build itself opens its own."""
        return None


def dbt_resource() -> DbtCliResource:
    return BillingDbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable())


@cache
def dbt_project() -> DbtProject:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if project.preparer.using_dagster_dev() or manifest_is_stale(project):
        # Several processes may load the definitions at once (tests, dagster dev, the CLI):
        # one parses, the others wait and find the manifest fresh.
        target = project.manifest_path.parent
        target.mkdir(parents=True, exist_ok=True)
        with open(target / ".prepare.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if project.preparer.using_dagster_dev() or manifest_is_stale(project):
                prepare_manifest(project)
    return project


def manifest_is_stale(project: DbtProject) -> bool:
    """Missing, or older than any file of the dbt project."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    for folder in ("models", "macros", "tests", "snapshots", "seeds", "analyses"):
        for path in (DBT_PROJECT_DIR / folder).rglob("*"):
            if path.is_file() and path.stat().st_mtime > built:
                return True
    return any(
        (DBT_PROJECT_DIR / name).stat().st_mtime > built
        for name in ("dbt_project.yml", "profiles.yml")
    )


def prepare_manifest(project: DbtProject) -> None:
    """``dbt parse`` into the project's target directory (no warehouse connection needed)."""
    DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
        ["--quiet", "parse"], target_path=project.target_path
    ).wait()

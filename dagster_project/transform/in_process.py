"""dbt commands run in this process (dbt's programmatic ``dbtRunner``) instead of a ``dbt``
subprocess, behind dagster-dbt's own invocation: its events, asset checks and errors are the
same.

A dbt process costs about 3 CPU-seconds before its first model (importing dbt and its
adapter, loading the last parse); a billing run starts two. In this process dbt is imported
once, and each build costs only its own work. The command runs to its end in the calling
thread's place (in a thread of its own); its structured events (what ``dbt --log-format json``
prints) are then streamed to dagster-dbt as if read from the process's output. Ctrl-C and
SIGTERM interrupt the run at once, as any step of it, and the run fails; dbt's thread ends with
the process, as a killed dbt process would.

dbt's programmatic invocations are not safe to run concurrently in one process; a billing run
executes its steps one after another (Dagster's in-process executor; a multiprocess executor
runs each step in a process of its own), and ``BILLING_DBT_IN_PROCESS=false`` restores the
subprocess.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import orjson
from dagster_dbt.core import dbt_cli_invocation, resource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

PARTIAL_PARSE = "partial_parse.msgpack"
# The billing window of a build (macros/usage_window.sql). Read in the body of the models, it
# is rendered again for each build, so a parse made with another window serves this one.
PERIOD_START_ENV = "BILLING_DBT_PERIOD_START"
PERIOD_END_ENV = "BILLING_DBT_PERIOD_END"
RENDERED_AT_RUN = frozenset({PERIOD_START_ENV, PERIOD_END_ENV})
PROJECT_OUTPUTS = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
# dagster-dbt re-emits every event to stdout (where _dbt_output sends it); dbt's own console
# log would print each a second time.
QUIET = ["--log-level", "none"]
_one_at_a_time = threading.Lock()
log = logging.getLogger(__name__)


class InProcessDbt:
    """The part of ``subprocess.Popen`` dagster-dbt reads, for a dbt command that already
    ran here: ``args``, ``stdout`` (its events as JSON lines), ``wait()``/``returncode``."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str]):
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict

        self.args = list(args)
        lines: list[bytes] = []

        def keep(message) -> None:
            event = msg_to_dict(message)
            if event.get("info", {}).get("level") != "debug":  # what the CLI prints
                lines.append(orjson.dumps(event))

        command = [*self.args[1:], *QUIET]
        outcome: dict = {}

        def invoke() -> None:
            try:
                manifest = _parsed_project(command)
                outcome["result"] = dbtRunner(manifest=manifest, callbacks=[keep]).invoke(command)
            except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
                outcome["error"] = error

        # dbt runs in a thread of its own, so that Ctrl-C or SIGTERM reaches the run at once
        # (the calling thread waits, interruptibly); an interrupted dbt is left to the
        # process's exit, as a killed dbt process would be.
        worker = threading.Thread(target=invoke, name="dbt", daemon=True)
        with _one_at_a_time, environment(env):  # dagster-dbt has made cwd the project's
            log.info("running dbt %s", command[0])  # the stop and crash tests wait for this
            worker.start()
            while worker.is_alive():
                worker.join(0.1)
        _release_warehouse()
        if "error" in outcome:
            raise outcome["error"]
        result = outcome["result"]
        if result.exception is not None and not lines:
            lines.append(str(result.exception).encode())
        self.returncode = 0 if result.success else (1 if result.exception is None else 2)
        self.stdout = io.BytesIO(b"\n".join(lines))

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def poll(self) -> int:
        return self.returncode

    def send_signal(self, signum: int) -> None:  # it has ended already
        pass


class InProcessDbtCliInvocation(DbtCliInvocation):
    @classmethod
    def run(cls, args, env, manifest, dagster_dbt_translator, project_dir, target_path,
            raise_on_error, context, adapter, cli_version, dbt_project=None):  # fmt: skip
        # As dagster-dbt does: start from the last parse in DBT_TARGET_PATH, if any.
        source = dbt_cli_invocation._get_dbt_target_path()
        if not source.is_absolute():
            source = project_dir / source
        if (source / PARTIAL_PARSE).exists() and not (target_path / PARTIAL_PARSE).exists():
            target_path.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / PARTIAL_PARSE, target_path / PARTIAL_PARSE)
        return cls(
            process=InProcessDbt(args, env),  # type: ignore[arg-type]
            manifest=manifest,
            project=dbt_project,
            dagster_dbt_translator=dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            context=context,
            adapter=adapter,
            cli_version=cli_version,
        )


_parses: dict[tuple, object] = {}


def _parsed_project(command: Sequence[str]):
    """The project as dbt parsed it for ``command`` in this process, parsed (``dbt parse``,
    from the last parse on disk) if it changed since, or if the warehouse or an environment
    value the parse read did. Reading and writing a parse costs each build more than a second;
    the two builds of a run, and the runs of a process, share one."""
    subcommand = next(i for i, arg in enumerate(command) if not arg.startswith("-"))
    parse = [*command[:subcommand], "parse", *_profile_args(command[subcommand:]), *QUIET]
    key = (tuple(parse), _warehouse_identity(), _project_files(Path.cwd()))
    parsed = _parses.get(key)
    if parsed is None or any(
        os.environ.get(name) != value
        for name, value in parsed.env_vars.items()
        if name not in RENDERED_AT_RUN
    ):
        parsed = _parse(parse)
        if parsed is None:
            return None  # the build parses again and reports what is wrong
        if len(_parses) >= 4:  # a few warehouses at a time (the tests switch between two)
            _parses.pop(next(iter(_parses)))
        _parses[key] = parsed
    # A build compiles into the manifest it is given (compiled SQL, ephemeral models' CTEs):
    # each build gets a copy of the parse, as a parse of its own would give it.
    return parsed.deepcopy()  # dbt's own copy (copy.deepcopy misplaces its lookups)


def _parse(command: list[str]):
    """``dbt parse``: the manifest, or None if the project does not parse."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(command)
    return result.result if result.success else None


def _profile_args(args: Sequence[str]) -> list[str]:
    chosen = []
    for flag in ("--profile", "--target", "--vars", "--profiles-dir", "--project-dir"):
        if flag in args:
            at = list(args).index(flag)
            chosen += [flag, args[at + 1]]
    return chosen


def _warehouse_identity() -> tuple:
    """What of dbt_project/profiles.yml's connection a parse records: the adapter and the
    database each node names (a DuckDB file's name without its folder)."""
    target = os.environ.get("BILLING_DBT_TARGET", "duckdb")
    profiles = os.environ.get("DBT_PROFILES_DIR")
    if target == "duckdb":
        stem = Path(os.environ.get("BILLING_DUCKDB_PATH", "warehouse.duckdb")).stem
        return (target, profiles, stem)
    names = ("BILLING_PG_HOST", "BILLING_PG_PORT", "BILLING_PG_USER", "BILLING_PG_DATABASE")
    return (target, profiles, *(os.environ.get(n) for n in names))


def _project_files(root: Path) -> tuple:
    """Each source file of the dbt project (what a parse reads), with its size and time."""
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in PROJECT_OUTPUTS)
        for name in sorted(names):
            stat = os.stat(os.path.join(folder, name))
            files.append((os.path.join(folder, name), stat.st_size, stat.st_mtime_ns))
    return tuple(files)


def _release_warehouse() -> None:
    """Close what dbt left open in this process. A dbt process closes its connections when it
    exits; in this process dbt-duckdb would keep the warehouse file open (and locked against
    every other process) until the next invocation."""
    from dbt.adapters.factory import cleanup_connections

    cleanup_connections()
    with contextlib.suppress(ImportError):
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        with DuckDBConnectionManager._LOCK:
            environment = DuckDBConnectionManager._ENV
            if environment is not None:
                environment.close()
                DuckDBConnectionManager._ENV = None


@contextlib.contextmanager
def invocations() -> Iterator[None]:
    """dagster-dbt's ``DbtCliResource.cli`` builds an in-process invocation in this block."""
    saved = resource.DbtCliInvocation
    resource.DbtCliInvocation = InProcessDbtCliInvocation
    try:
        yield
    finally:
        resource.DbtCliInvocation = saved


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """This process's environment holds ``env`` for the block (dbt reads its flags, profile and
    ``env_var()`` values from it; ``env`` is this environment plus dagster-dbt's ``DBT_*``
    values), and what it held afterwards. Only the values that differ are set, one by one:
    other threads (an API served beside a run) never see an environment without them."""
    changed = {name: value for name, value in env.items() if os.environ.get(name) != value}
    saved = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

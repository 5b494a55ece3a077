"""`make mutation`: run cosmic-ray on the modules of mutation/config.toml and print a table.

The tree (tracked and new, non-ignored files) is copied to mutation/work/tree and the
mutants are made there, so the work tree stays untouched while it runs. Per module:
cosmic-ray's core operators plus our DeleteStatement (mutation/operators.py); mutants
inside type annotations are skipped; mutants listed in mutation/equivalents.txt (with
a reason) are excluded from the score. Timeouts count as killed. One throwaway PostgreSQL
cluster serves the whole run (tests/support/postgres.py, AMI_TEST_POSTGRES): a mutant's
pytest session copies a fresh database from its template instead of starting a cluster.

    .venv/bin/python mutation/run.py [--report] [collector/durable.py ...]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cosmic_ray.plugins
from cosmic_ray.commands import init
from cosmic_ray.mutating import mutate_and_test
from cosmic_ray.work_db import use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from operators import OPERATORS, PROVIDER, annotation_spans, function_lines, in_annotation  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "mutation" / "work"
ANNOTATION = "annotation"
OUTSIDE = "outside the functions chosen"


def module_entry(entry: list[str] | dict) -> tuple[list[str], list[str]]:
    """(test files, functions) of a config entry: a list of tests, or a table with `tests`
    and `functions` (only the mutants inside those functions are made and scored)."""
    if isinstance(entry, list):
        return entry, []
    return entry["tests"], entry.get("functions", [])


def copy_tree(tree: Path) -> None:
    """Copy the files git would see (tracked or new, not ignored) into `tree`."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    shutil.rmtree(tree, ignore_errors=True)
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith("mutation/work/"):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name)


def read_equivalents(path: Path) -> dict[tuple[str, str, str], str]:
    """`module:line:column operator reason` lines; a line without a reason is an error."""
    found = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            location, operator, *reason = line.split(maxsplit=2)
            if not reason:
                sys.exit(f"{path}:{number}: an equivalent mutant needs a reason")
            found[(location, operator)] = reason[0]
    return found


def location(mutation) -> str:
    return f"{mutation.module_path}:{mutation.start_pos[0]}:{mutation.start_pos[1]}"


def named(completed) -> list:
    """(key, item, result): key = (`module:line:column`, operator), `[n]` added when one
    operator mutates one place several ways (a number +1 and -1)."""
    groups: dict[tuple[str, str], list] = {}
    for item, result in sorted(completed, key=lambda pair: pair[0].mutations[0].occurrence):
        mutation = item.mutations[0]
        groups.setdefault((location(mutation), mutation.operator_name), []).append((item, result))
    return [((where, operator + (f"[{index}]" if len(pairs) > 1 else "")), item, result)
            for (where, operator), pairs in groups.items() for index, (item, result) in enumerate(pairs)]


def test_command(settings: dict, tests: list[str]) -> str:
    """The module's own test files first, then the broad ones (`broad` in config.toml: whole
    pages, the intake) only if those passed: most mutants die in the first files, and then
    the broad ones are not even imported."""
    broad = settings.get("broad", [])
    stages = [[test for test in tests if test not in broad], [test for test in tests if test in broad]]
    runs = [shlex.join([sys.executable, "-m", "pytest", *settings["pytest-args"], *files])
            for files in stages if files]
    return shlex.join(["sh", "-c", " && ".join(runs)])


def mutate(module: str, entry: list[str] | dict, settings: dict, database: Path, resume: bool | str,
           equivalents: dict) -> None:
    tests, functions = module_entry(entry)
    command = test_command(settings, tests)
    started = time.monotonic()
    # The unmutated run writes the bytecode caches (cosmic-ray's runs only read them): the
    # mutated module's own cache never matches a mutant (another mtime), so it is recompiled.
    writing = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    baseline = subprocess.run(shlex.split(command), capture_output=True, text=True, env=writing)
    if baseline.returncode != 0:
        sys.exit(f"{module}: the tests fail before any mutation:\n{baseline.stdout[-3000:]}")
    timeout = settings["timeout-factor"] * (time.monotonic() - started) + 10
    fresh = not (resume and database.exists())
    if fresh:
        database.unlink(missing_ok=True)
    elif resume == "survivors":  # tests were added since: the survivors are tested again,
        with use_db(str(database)) as db:  # except those listed as equivalent (no test can kill them)
            again = [item.job_id for key, item, result in named(db.completed_work_items)
                     if result.test_outcome == TestOutcome.SURVIVED and key not in equivalents]
        with sqlite3.connect(database) as connection:
            connection.executemany("DELETE FROM work_results WHERE job_id = ?", [(job_id,) for job_id in again])
    source = Path(module).read_text(encoding="utf-8")
    spans = annotation_spans(source)
    chosen = function_lines(source, functions) if functions else None
    with use_db(str(database)) as db:
        if fresh:
            init([Path(module)], db, {})
        for item in db.work_items:
            line = item.mutations[0].start_pos[0]
            if fresh and in_annotation(spans, item.mutations[0].start_pos):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=ANNOTATION))
            elif fresh and chosen is not None and line not in chosen:
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=OUTSIDE))
        print(f"{module}: {db.num_work_items - db.num_results} mutants, timeout {timeout:.0f} s", flush=True)
        # cosmic-ray's own local loop, except that a mutant another copy (--name) has tested
        # meanwhile is skipped: several copies can share one module's mutants.
        for item in db.pending_work_items:
            if item.job_id not in {job_id for job_id, _result in db.results}:
                db.set_result(item.job_id, mutate_and_test(item.mutations, command, timeout))


@contextmanager
def shared_postgres(tree: Path) -> Iterator[None]:
    """Start one cluster (with the copy's schema as template) that every test session of the
    run reuses; stopped at the end. Without PostgreSQL's binaries, each session goes on
    failing as it would alone."""
    sys.path.insert(0, str(tree))
    from tests.support.postgres import SHARED_ENV, migrated_template, server_bin_dir, shared_settings, \
        start_cluster, stop_cluster

    if server_bin_dir() is None:
        yield
        return
    cluster = start_cluster()
    try:
        cluster.template = migrated_template(cluster)
        os.environ[SHARED_ENV] = shared_settings(cluster)
        yield
    finally:
        os.environ.pop(SHARED_ENV, None)
        stop_cluster(cluster)


def database_of(tree: str, module: str) -> Path:
    return WORK / f"{tree}.{module.replace('/', '_')}.sqlite"


def report(tree: str, modules: list[str], equivalents: dict) -> list[str]:
    """Print the table and the survivors; return the lines of equivalents that matched nothing."""
    rows, survivors, used = [], [], set()
    for module in modules:
        database = database_of(tree, module)
        if not database.exists():
            continue
        counts = {"mutants": 0, "killed": 0, "survived": 0, "timeouts": 0, "equivalent": 0, "errors": 0}
        deletions = {"mutants": 0, "killed": 0}
        with use_db(str(database)) as db:
            for key, item, result in named(db.completed_work_items):
                mutation = item.mutations[0]
                if result.worker_outcome == WorkerOutcome.SKIPPED:
                    continue
                counts["mutants"] += 1
                deleted = mutation.operator_name == f"{PROVIDER}/DeleteStatement"
                deletions["mutants"] += deleted
                if result.worker_outcome != WorkerOutcome.NORMAL:
                    counts["errors"] += 1
                    deletions["mutants"] -= deleted
                    survivors.append((key, "not made, cosmic-ray failed: " + (result.output or "").strip().splitlines()[-1]))
                elif result.output == "timeout":
                    counts["timeouts"] += 1
                    deletions["killed"] += deleted
                elif result.is_killed:
                    counts["killed"] += 1
                    deletions["killed"] += deleted
                elif key in equivalents:  # only a survivor can be equivalent
                    used.add(key)
                    counts["equivalent"] += 1
                    deletions["mutants"] -= deleted
                else:
                    counts["survived"] += 1
                    changed = [line for line in result.diff.splitlines()
                               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
                    survivors.append((key, " | ".join(changed)))
        scored = counts["mutants"] - counts["equivalent"] - counts["errors"]  # errors: never made
        score = 100 * (counts["killed"] + counts["timeouts"]) / scored if scored else 100.0
        rows.append((module, *counts.values(), f"{score:.1f} %"))
        if deletions["mutants"]:
            rows.append((f"  of which statement deletions", deletions["mutants"], deletions["killed"],
                         deletions["mutants"] - deletions["killed"], "", "", "",
                         f"{100 * deletions['killed'] / deletions['mutants']:.1f} %"))
    header = ("module", "mutants", "killed", "survived", "timeouts", "equivalent", "errors", "score")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(widths[0]) if i == 0 else str(cell).rjust(widths[i])
                        for i, cell in enumerate(row)))
    print(f"\nSurviving mutants, and mutants cosmic-ray could not make ({len(survivors)}):" if survivors
          else "\nNo surviving mutant.")
    for (where, operator), change in sorted(survivors):
        print(f"{where} {operator}\n    {change}")
    return [f"{where} {operator}" for where, operator in equivalents if (where, operator) not in used
            and any(where.startswith(module + ":") for module in modules)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="only these modules (default: all of config.toml)")
    parser.add_argument("--report", action="store_true", help="print the last results, run nothing")
    parser.add_argument("--resume", action="store_true", help="go on with an interrupted run's mutants")
    parser.add_argument("--retest-survivors", action="store_true",
                        help="as --resume, and test the last run's survivors not listed as equivalent again "
                             "(after adding tests)")
    parser.add_argument("--config", default=str(ROOT / "mutation" / "config.toml"), help="another module list")
    parser.add_argument("--name", help="name of the results (default: the copy's); copies with one name share the work")
    parser.add_argument("--tree", default="tree", help="name of the copy under mutation/work (for runs side by side)")
    arguments = parser.parse_args()
    config = tomllib.loads(Path(arguments.config).read_text(encoding="utf-8"))
    modules = arguments.modules or list(config["modules"])
    equivalents = read_equivalents(ROOT / config["run"]["equivalents"])
    name = arguments.name or arguments.tree
    if not arguments.report:
        cosmic_ray.plugins.OPERATOR_PROVIDERS[PROVIDER] = OPERATORS
        tree = WORK / arguments.tree
        copy_tree(tree)
        os.chdir(tree)
        os.environ["PYTHONPATH"] = str(tree)  # the copy's collector, never the work tree's
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the shared cluster is stopped too
        with shared_postgres(tree):
            for module in modules:
                mutate(module, config["modules"][module], config["run"], database_of(name, module),
                       "survivors" if arguments.retest_survivors else arguments.resume, equivalents)
    stale = report(name, modules, equivalents)
    if stale:
        print("\nListed as equivalent but killed or no longer made (update mutation/equivalents.txt):")
        print("\n".join(f"    {line}" for line in stale))


if __name__ == "__main__":
    main()

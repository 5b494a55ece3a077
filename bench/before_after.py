"""Reviewers' commands before and after a change, in the same run: a new process's `list`, and `reindex`.

The machine is shared, so wall times drift from one minute to the next: each figure is
taken on this tree and on another commit (`--base`, default `main`, exported with `git
archive` into a temporary folder), alternating, on the same generated records; the ratio
of the medians and the CPU seconds (user + system of the command and its children, which
other work on the machine does not inflate) are printed.

- `flask --app collector list --departement 14` as a new process (what a reviewer waits
  for, Python's start-up and imports included) at 10,000 records (floor: 0.5 s);
- `flask --app collector reindex` from scratch at 10,000 records, or 100,000 with
  --large (floor: 60 s at 100,000).

With --instructions, the new process's `list`, `--help` (the app built to name its
commands) and `show` also run once per tree under valgrind's cachegrind (`--cache-sim=no`),
which counts the instructions they execute: a figure that other work on the machine does
not change, the one to trust on a loaded machine.

Both trees are byte-compiled first (`python -m compileall`, as `pip install` does for an
installed package): a command then loads the collector's bytecode instead of compiling
its ~80 modules at every start (0.1 s), whatever PYTHONDONTWRITEBYTECODE says.

    .venv/bin/python bench/before_after.py [--base main] [--large] [--rounds 5] [--no-reindex] [--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.exports import generate  # noqa: E402
from bench.trees import export_tree  # noqa: E402

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
INSTRUCTION_COMMANDS = [  # (name, arguments) of the commands counted with --instructions
    ("list --departement 14 (new process)", ["list", "--departement", "14"]),
    ("--help (new process)", ["--help"]),
    ("show AMI-2021-00042 (new process)", ["show", "AMI-2021-00042"]),
]
ENV = {"COLLECTOR_SECRET_KEY": "bench-secret", "COLLECTOR_SMTP_HOST": "", "AMI_NOW": "2021-05-28T20:00:00"}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(tree: str, data_dir: str, args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of `flask --app collector ARGS` run from `tree` (its own code first on the path)."""
    env = {**os.environ, **ENV, "COLLECTOR_DATA_DIR": data_dir, "PYTHONPATH": tree}
    started, cpu = time.perf_counter(), children_cpu()
    subprocess.run([FLASK, "--app", "collector", *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, children_cpu() - cpu


def instructions(tree: str, data_dir: str, args: list[str]) -> int:
    """Instructions executed by `flask --app collector ARGS` run from `tree`, counted by cachegrind."""
    env = {**os.environ, **ENV, "COLLECTOR_DATA_DIR": data_dir, "PYTHONPATH": tree}
    result = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                             sys.executable, FLASK, "--app", "collector", *args], cwd=tree, env=env, check=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(re.search(r"I\s+refs:\s+([\d,]+)", result.stderr).group(1).replace(",", ""))


def compare_instructions(name: str, trees: dict[str, str], folders: dict[str, str], args: list[str]) -> list[str]:
    counts = {label: instructions(tree, folders[label], args) for label, tree in trees.items()}
    lines = [f"  {name:<34} {label:<8} instructions {count / 1e9:7.3f} G (cachegrind)" for label, count in counts.items()]
    lines.append(f"  {name:<34} after/before: instructions {counts['after'] / counts['before']:.3f}")
    return lines


def add_dossier_life(data_dir: str, size: int) -> None:
    """What the collector keeps beside the records: one ids/ link per submission (its
    submission id), and some dossiers in instruction (histories)."""
    os.environ["COLLECTOR_DATA_DIR"] = data_dir
    from collector.idempotency import IDS_DIR
    from collector.statuses import change_status

    os.makedirs(os.path.join(data_dir, IDS_DIR))
    for number in range(1, size + 1):
        os.symlink(f"AMI-2021-{number:05d}", os.path.join(data_dir, IDS_DIR, f"{number:032x}"))
    for number in range(1, size + 1, 7):
        change_status(data_dir, f"AMI-2021-{number:05d}", "en_instruction", by="bench")


def compare(name: str, trees: dict[str, str], data_dir: str | dict[str, str], args: list[str],
            rounds: int) -> list[str]:
    """Run the command on each tree in turn, `rounds` times; the lines that report it. `data_dir`:
    one folder for both, or each tree's own (a tree whose review index another tree cannot use)."""
    folders = data_dir if isinstance(data_dir, dict) else {label: data_dir for label in trees}
    figures: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
    for _ in range(rounds):
        for label, tree in trees.items():  # alternate, so that both see the same machine
            figures[label].append(run(tree, folders[label], args))
    lines = []
    medians = {}
    for label, values in figures.items():
        walls, cpus = [wall for wall, _cpu in values], [cpu for _wall, cpu in values]
        medians[label] = (statistics.median(walls), statistics.median(cpus))
        lines.append(f"  {name:<34} {label:<8} wall median {medians[label][0]:7.2f} s  min {min(walls):7.2f} s   "
                     f"CPU median {medians[label][1]:7.2f} s")
    (base_wall, base_cpu), (wall, cpu) = medians["before"], medians["after"]
    lines.append(f"  {name:<34} after/before: wall {wall / base_wall:.2f}, CPU {cpu / base_cpu:.2f}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="main", help="commit to compare with (default: main)")
    parser.add_argument("--large", action="store_true", help="reindex 100,000 records (several minutes)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command on each tree")
    parser.add_argument("--no-reindex", action="store_true", help="the new process's `list` only")
    parser.add_argument("--instructions", action="store_true", help="also count the new process's `list` "
                        "instructions with valgrind's cachegrind (independent of the machine's load)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-before-after-")
    try:
        trees = {"before": export_tree(args.base, os.path.join(root, "before")), "after": REPO_ROOT}
        for tree in trees.values():
            subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(tree, "collector")], check=True)
        lines = [f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
                 f"before = {args.base}, after = this tree; medians of {args.rounds} alternated runs"]
        data_dir = os.path.join(root, "data-10000")
        generate(data_dir, 10_000)
        add_dossier_life(data_dir, 10_000)
        run(REPO_ROOT, data_dir, ["reindex"])
        # Each tree lists from its own copy, its index made by itself: an index another tree wrote in
        # another layout (or from another store) is rebuilt, and the figure would be that rebuild's.
        own = {label: os.path.join(root, f"data-10000-{label}") for label in trees}
        for label, tree in trees.items():
            shutil.copytree(data_dir, own[label], symlinks=True)
            run(tree, own[label], ["reindex"])
        lines += compare("list --departement 14 (new process)", trees, own, ["list", "--departement", "14"],
                         args.rounds)
        if args.instructions:
            for name, command in INSTRUCTION_COMMANDS:
                lines += compare_instructions(name, trees, own, command)
        if args.no_reindex:
            lines.append(f"load average at end {os.getloadavg()[0]:.1f}")
            print("\n".join(lines))
            return 0
        size = 100_000 if args.large else 10_000
        if size != 10_000:
            data_dir = os.path.join(root, f"data-{size}")
            generate(data_dir, size)
            add_dossier_life(data_dir, size)
        rounds = max(1, args.rounds // 2) if args.large else args.rounds
        lines += compare(f"reindex ({size:,} records)", trees, data_dir, ["reindex"], rounds)
        lines.append(f"load average at end {os.getloadavg()[0]:.1f}")
        print("\n".join(lines))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

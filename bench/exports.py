"""Reviewers' figures: export 1,000 and 10,000 records to CSV, XLSX and ODS, and `list` with a filter.

Records are generated in a temporary data folder in the exact format the collector
writes (answers normalised by the form's own schema, then records.serialise_record);
they are written without fsync to save time, which changes nothing for reading them.
Each operation (best of a few runs, as the machine is shared) runs the real code path end to end: reading every file, validating it
against the form, statuses, duplicates, then writing the spreadsheet (or the table).
The per-record time shows whether the cost grows linearly. Floor (issue 4): 10,000
records to XLSX in at most 10 s on this machine.

    .venv/bin/python bench/exports.py
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from collector.formdef import load_form  # noqa: E402
from collector.records import build_record, serialise_record  # noqa: E402
from tests.review.factory import START, normalise, raw_answers  # noqa: E402

SIZES = (1_000, 10_000)
VARIANTS = 200
XLSX_FLOOR_SECONDS = 10.0


def generate(data_dir: str, count: int) -> None:
    """`count` valid records AMI-2021-00001…, varied organisations, themes and départements."""
    form = load_form()
    rng = random.Random(2021)
    variants = [normalise(form, raw_answers(form, number, rng, contact_email=f"contact{number}@exemple.fr"))
                for number in range(1, VARIANTS + 1)]
    folder = os.path.join(data_dir, "submissions")
    os.makedirs(folder, exist_ok=True)
    for number in range(1, count + 1):
        answers, flags, derived = variants[number % VARIANTS]
        answers = {**answers, "raison_sociale": f"Structure numéro {number}", "contact_email": f"c{number}@exemple.fr"}
        record = build_record(f"AMI-2021-{number:05d}", START + timedelta(minutes=7 * number), form.version,
                              answers, flags, derived)
        with open(os.path.join(folder, record["reference"] + ".yaml"), "wb") as handle:
            handle.write(serialise_record(record))


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> int:
    os.environ.setdefault("COLLECTOR_SECRET_KEY", "bench-secret")
    os.environ["COLLECTOR_SMTP_HOST"] = ""
    from collector import create_app

    rows = []
    ok = True
    for size in SIZES:
        root = tempfile.mkdtemp(prefix=f"bench-exports-{size}-")
        data_dir = os.path.join(root, "data")
        try:
            generation = timed(lambda: generate(data_dir, size))
            os.environ["COLLECTOR_DATA_DIR"] = data_dir
            runner = create_app().test_cli_runner()
            figures = {}
            repeats = 3 if size <= 1_000 else 2
            for name, args in (
                ("export CSV", ["export", "--format", "csv", "--output", os.path.join(root, "out.csv")]),
                ("export XLSX", ["export", "--format", "xlsx", "--output", os.path.join(root, "out.xlsx")]),
                ("export ODS", ["export", "--format", "ods", "--output", os.path.join(root, "out.ods")]),
                ("list --departement 14", ["list", "--departement", "14"]),
            ):
                result = None

                def run(args=args):
                    nonlocal result
                    result = runner.invoke(args=args)

                figures[name] = min(timed(run) for _ in range(repeats))
                if result.exit_code != 0:
                    print(f"{name} failed: {result.output}", file=sys.stderr)
                    return 1
            sizes = {fmt: os.path.getsize(os.path.join(root, f"out.{fmt}")) for fmt in ("csv", "xlsx", "ods")}
            rows.append((size, generation, figures, sizes))
        finally:
            shutil.rmtree(root, ignore_errors=True)

    print(f"best of 3 (1,000) or 2 (10,000) runs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work on the machine slows every figure)")
    print(f"{'records':>8}  {'operation':<22} {'seconds':>8}  {'µs/record':>10}  output")
    for size, generation, figures, sizes in rows:
        print(f"{size:>8}  {'(generate records)':<22} {generation:8.2f}  {generation / size * 1e6:10.0f}")
        for name, seconds in figures.items():
            fmt = name.split()[-1].lower() if name.startswith("export") else ""
            extra = f"{sizes[fmt] / 1e6:.1f} MB" if fmt else ""
            print(f"{size:>8}  {name:<22} {seconds:8.2f}  {seconds / size * 1e6:10.0f}  {extra}")
    small, large = rows[0], rows[-1]
    print("\ngrowth (per-record time at 10,000 ÷ at 1,000; 1.0 = linear):")
    for name in small[2]:
        ratio = (large[2][name] / large[0]) / (small[2][name] / small[0])
        print(f"  {name:<22} {ratio:5.2f}")
    xlsx = large[2]["export XLSX"]
    verdict = "ok" if xlsx <= XLSX_FLOOR_SECONDS else "ABOVE THE FLOOR"
    ok = xlsx <= XLSX_FLOOR_SECONDS
    print(f"\n10,000 records to XLSX: {xlsx:.2f} s (floor {XLSX_FLOOR_SECONDS:.0f} s): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

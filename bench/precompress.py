"""Sizes of the production build before and after pre-compression (gzip, for nginx's gzip_static).

Builds the site with publishconf.py into a scratch folder, exactly as `make publish`
does, then reads every text file and the `.gz` written beside it by the build.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT_SUFFIXES = (".html", ".css", ".js", ".xml", ".atom", ".ics", ".svg", ".txt")


def build(output: str) -> float:
    """Run the production build into `output`; return its duration in seconds."""
    env = {**os.environ, "AMI_NOW": ""}
    started = time.monotonic()
    built = subprocess.run([sys.executable, "-m", "pelican", "content", "-o", output, "-s", "publishconf.py", "-q"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if built.returncode != 0:
        raise SystemExit("the production build failed:\n" + built.stdout + built.stderr)
    return time.monotonic() - started


def sizes(output: str) -> list[tuple[str, int, int | None]]:
    """(relative path, bytes, bytes of its .gz or None) for every text file of the build."""
    rows = []
    for folder, _, names in os.walk(output):
        for name in sorted(names):
            if name.endswith(TEXT_SUFFIXES):
                path = os.path.join(folder, name)
                gz = path + ".gz"
                rows.append((os.path.relpath(path, output), os.path.getsize(path),
                             os.path.getsize(gz) if os.path.exists(gz) else None))
    return sorted(rows)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ami-publish-") as output:
        duration = build(output)
        rows = sizes(output)
    if not rows:
        print("precompress: the build wrote no text file")
        return 1
    print(f"production build (publishconf.py, with pre-compression): {duration:.2f} s")
    by_type: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    for path, raw, gz in rows:
        totals = by_type[os.path.splitext(path)[1]]
        totals[0] += 1
        totals[1] += raw
        totals[2] += gz if gz is not None else raw
        totals[3] += gz is not None
    print(f"{'type':<7}{'files':>6}{'.gz':>6}{'bytes':>10}{'served gz':>11}{'saved':>8}")
    for suffix, (count, raw, served, compressed) in sorted(by_type.items()):
        print(f"{suffix:<7}{count:>6}{compressed:>6}{raw:>10}{served:>11}{1 - served / raw:>8.0%}")
    raw_all = sum(raw for _, raw, _ in rows)
    served_all = sum(gz if gz is not None else raw for _, raw, gz in rows)
    print(f"{'all':<7}{len(rows):>6}{sum(gz is not None for *_, gz in rows):>6}{raw_all:>10}{served_all:>11}"
          f"{1 - served_all / raw_all:>8.0%}")
    pages = [(path, raw, gz) for path, raw, gz in rows if path.endswith(".html")]
    css = sum(raw for path, raw, _ in rows if path.endswith(".css"))
    css_gz = sum(gz or raw for path, raw, gz in rows if path.endswith(".css"))
    heaviest = max(pages, key=lambda row: row[1])
    print(f"heaviest page {heaviest[0]}: {heaviest[1]} B, gz {heaviest[2]} B; "
          f"first visit with the CSS: {heaviest[1] + css} B -> {(heaviest[2] or heaviest[1]) + css_gz} B")
    if any(gz is not None and gz >= raw for _, raw, gz in rows):
        print("warning: some .gz files are not smaller than their source")
    print("brotli: not produced (Debian's nginx-light has no brotli_static module)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Reviewers at any size: the review index, the list page through gunicorn, `list`, reindex.

For each size (1,000 and 10,000 records; 100,000 with --large), records are generated as
bench/exports.py does (the collector's exact format), then:

- reindex from scratch: `flask --app collector reindex` (in process: the rebuild itself);
- `list --departement 14`: in process (the command's work), and as a new process
  (`flask --app collector list …`, what a reviewer waits for, Python's start-up included);
- the review list page through a real gunicorn (2 workers, logged in): the first page of
  50 with its counts, p50 and p95 over repeated requests; also a search, a filter, a
  dossier page with previous/next, and the dashboard.

Floors (issue 12): list page ≤ 150 ms at 10,000 and ≤ 300 ms at 100,000; `list
--departement 14` ≤ 0.5 s at 10,000; reindex ≤ 60 s at 100,000.

    .venv/bin/python bench/review_index.py [--large] [--requests 60]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.exports import generate  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402

PASSWORD = "bench password 2021"
FLOORS = {  # (size, figure): seconds
    (10_000, "list page p95"): 0.150, (100_000, "list page p95"): 0.300,
    (10_000, "list --departement 14 (new process)"): 0.5, (100_000, "reindex"): 60.0,
}
PAGES = {
    "list page": "/instruction/",
    "search « Structure numéro 4242 »": "/instruction/?q=%22Structure+num%C3%A9ro+4242%22",
    "filter 14 + en instruction": "/instruction/?departement=14&statut=en_instruction&tri=structure",
    "dossier (with prev/next)": "/instruction/AMI-2021-00500?tri=date-recente",
    "dashboard": "/instruction/tableau-de-bord",
}


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def logged_in_opener(base: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(base + "/instruction/connexion").read().decode("utf-8")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "identifiant": "alice", "mot_de_passe": PASSWORD}).encode()
    opener.open(urllib.request.Request(base + "/instruction/connexion", data=body)).read()
    return opener


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by gunicorn's workers, from /proc."""
    total = 0
    with open(f"/proc/{master_pid}/task/{master_pid}/children", encoding="ascii") as handle:
        children = handle.read().split()
    for pid in children:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def measure_pages(env: dict[str, str], root: str, requests: int) -> dict[str, tuple[float, float, float]]:
    """Per page: (p50, p95, server CPU per request), seconds."""
    figures = {}
    with gunicorn(env, workers=2, log_dir=root) as server:
        opener = logged_in_opener(server.base_url)
        for name, path in PAGES.items():
            url = server.base_url + path
            for _ in range(4):  # warm-up: both workers open the index and bring it in step
                opener.open(url).read()
            durations = []
            cpu_before = workers_cpu_seconds(server.process.pid)
            for _ in range(requests if name == "list page" else max(10, requests // 4)):
                started = time.perf_counter()
                with opener.open(url) as response:
                    body = response.read()
                    assert response.status == 200 and b"Candidature" in body, (name, response.status)
                durations.append(time.perf_counter() - started)
            cpu = (workers_cpu_seconds(server.process.pid) - cpu_before) / len(durations)
            figures[name] = (statistics.median(durations), percentile(durations, 0.95), cpu)
    return figures


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (load-independent, unlike wall time)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_cpu(function) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    started, cpu = time.perf_counter(), cpu_seconds()
    function()
    return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large", action="store_true", help="also 100,000 records (several minutes)")
    parser.add_argument("--requests", type=int, default=60, help="requests per figure of the list page")
    args = parser.parse_args()
    sizes = (1_000, 10_000, 100_000) if args.large else (1_000, 10_000)
    base_env = {"COLLECTOR_SECRET_KEY": "bench-secret", "COLLECTOR_SMTP_HOST": "", "COLLECTOR_COOKIE_SECURE": "0",
                "AMI_NOW": "2021-05-28T20:00:00"}
    os.environ.update(base_env)
    from collector import create_app
    from collector.review.users import set_password
    from collector.statuses import change_status

    results = []
    for size in sizes:
        root = tempfile.mkdtemp(prefix=f"bench-review-{size}-")
        data_dir = os.path.join(root, "data")
        try:
            generation = timed(lambda: generate(data_dir, size))
            for number in range(1, size + 1, 7):  # some dossiers in instruction, for the status filter and counts
                change_status(data_dir, f"AMI-2021-{number:05d}", "en_instruction", by="bench")
            set_password(data_dir, "alice", PASSWORD)
            env = {**base_env, "COLLECTOR_DATA_DIR": data_dir}
            os.environ["COLLECTOR_DATA_DIR"] = data_dir
            runner = create_app().test_cli_runner()
            figures: dict[str, float | tuple[float, float]] = {}
            result = None

            def reindex():
                nonlocal result
                result = runner.invoke(args=["reindex"])

            figures["reindex"] = timed_cpu(reindex)
            assert result.exit_code == 0, result.output

            def list_in_process():
                nonlocal result
                result = runner.invoke(args=["list", "--departement", "14"])

            figures["list --departement 14 (command)"] = min(timed_cpu(list_in_process) for _ in range(3))
            assert result.exit_code == 0, result.output
            # As a reviewer types it, in the repository, with the collector byte-compiled as an install
            # leaves it (else each start compiles ~80 modules, whatever the command does).
            subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(REPO_ROOT, "collector")], check=True)
            command = [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "collector", "list",
                       "--departement", "14"]
            figures["list --departement 14 (new process)"] = min(
                timed_cpu(lambda: subprocess.run(command, env={**os.environ, **env}, cwd=REPO_ROOT, check=True,
                                                 stdout=subprocess.DEVNULL)) for _ in range(3))
            figures.update(measure_pages(env, root, args.requests))
            results.append((size, generation, figures))
        finally:
            shutil.rmtree(root, ignore_errors=True)

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other work on the machine stretches "
          "wall times; CPU seconds (this process and its children, or gunicorn's workers per request) do not "
          "depend on it. Commands: best of 3 (reindex: once). Pages: gunicorn, 2 workers, one client, logged in.")
    print(f"{'records':>8}  {'figure':<36} {'wall p50':>9} {'wall p95':>9} {'CPU':>7}  floor")
    ok = True
    for size, generation, figures in results:
        print(f"{size:>8}  {'(generate records)':<36} {generation:9.2f}")
        for name, value in figures.items():
            if len(value) == 3:
                p50, p95, cpu = value
            else:
                (p50, cpu), p95 = value, None
            floor = FLOORS.get((size, f"{name} p95")) or FLOORS.get((size, name))
            checked = p95 if p95 is not None else p50
            verdict = "" if floor is None else (f"≤ {floor:g} s: " + ("ok" if checked <= floor else "ABOVE (wall)"))
            ok = ok and (floor is None or checked <= floor)
            p95_text = f"{p95:9.3f}" if p95 is not None else " " * 9
            print(f"{size:>8}  {name:<36} {p50:9.3f} {p95_text} {cpu:7.3f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

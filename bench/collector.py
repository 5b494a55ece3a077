"""Collector throughput: accepted submissions per second and p50 / p99 latency at 16 concurrent
clients, on each store (data folder; PostgreSQL with one host, and with two), next to the same gunicorn serving a bare 204 endpoint, in the same run (measured first
and last; the ratios use the faster of the two runs). The two collector variants below run
`--rounds` times each in alternating order (A B B A); their ratio uses each one's faster run.

"As deployed" is gunicorn with the mailer process running beside it (`flask --app collector
mailer`, sending to an SMTP sink on loopback, in its own process); "intake only" is the same
gunicorn with no mailer and no `record_stored` listener. The floor (issue 12): as deployed
at least 0.9x the intake alone, p99 at most 100 ms, and every mail of the burst sent within
seconds after it.

    .venv/bin/python bench/collector.py [--seconds 8] [--workers 4] [--clients 16] [--worker-class sync] [--threads 1]
                                        [--intake-only] [--no-ladder] [--rounds 2] [--base main]

With --base REF, another commit (exported with `git archive`) runs too, its intake alone and,
unless --intake-only, as deployed with its own mailer, alternating with the others: before and
after a change (the mails' delay after the burst too), on the same machine in the same run.

Each submission is a full, valid form post with its own token, signed the way
GET /candidater/ signs it (the collector's own key, read from its data folder), so every
post passes every check and is stored durably (fsync of the file and of its folder).
The posts are prepared before the timed run, so that during it the client does the same
work for every request (send a prepared body, read the answer), whatever the endpoint.

The ladder then adds the intake's mandatory steps one at a time (bench/collector_apps.py):
where the throughput goes, step by step.

The stores (`--no-stores` skips them, `--stores-only` runs only them): the intake alone on
the data folder, then on PostgreSQL (a throwaway cluster started for the run, with
PostgreSQL's durable defaults: fsync, synchronous commit) from one host, then from two
hosts sharing it (two gunicorns with their own data folders and half the workers each,
clients alternating between them: the same machine, so the same CPU, split in two).
On PostgreSQL the intake also composes each record's two mails and queues them in the
record's transaction; after each PostgreSQL run, one mailer per host sends them to an SMTP
sink, and the mails per second they reach together is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.collector_apps import LADDER, WRITE_ALONE  # noqa: E402
from bench.postgres_database import postgres_server  # noqa: E402
from bench.trees import export_tree  # noqa: E402
from collector.antispam import Tokens  # noqa: E402
from collector.formdef import load_form  # noqa: E402
from collector.mail.delivery import KINDS, QUEUED, SENT, pending  # noqa: E402
from collector.records import iter_record_paths  # noqa: E402
from tests.review.mailer_process import mailer  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.payloads import encode_form, fetch_hidden, valid_answers  # noqa: E402
from tests.support.servers import gunicorn  # noqa: E402


def load(port: int | list[int], seconds: float, clients: int, make_request) -> tuple[list[float], int, int]:
    """`clients` threads send requests for `seconds`; (latencies of good answers, good, bad).
    With several ports (several hosts), client i talks to port i modulo their number."""
    ports = port if isinstance(port, list) else [port]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    bad = [0] * clients
    stop = time.monotonic() + seconds
    start_gate = threading.Barrier(clients)

    def client(index: int) -> None:
        start_gate.wait()
        connection = http.client.HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=30)
        while time.monotonic() < stop:
            method, path, body, headers, expected = make_request(index)
            began = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            elapsed = time.perf_counter() - began
            if status == expected:
                latencies[index].append(elapsed)
            else:
                bad[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [value for chunk in latencies for value in chunk]
    return flat, len(flat), sum(bad)


def workers_cpu_seconds(master_pid: int) -> float:
    """User + system CPU seconds used so far by a gunicorn master's worker processes."""
    with open(f"/proc/{master_pid}/task/{master_pid}/children", encoding="ascii") as handle:
        pids = [int(pid) for pid in handle.read().split()]
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def report(name: str, latencies: list[float], good: int, bad: int, seconds: float, cpu: float) -> float:
    rate = good / seconds
    print(f"{name:<30} {rate:6.0f} /s   p50 {percentile(latencies, .5) * 1000:6.1f} ms   "
          f"p99 {percentile(latencies, .99) * 1000:6.1f} ms   server CPU {cpu / max(good, 1) * 1000:5.2f} ms/request"
          f"   ({good} ok, {bad} other)", flush=True)
    return rate


INTAKE_ONLY = "bench.collector_apps:intake_only()"
AS_DEPLOYED, INTAKE_ALONE = "collector (as deployed)", "collector intake only"
NO_MAILER = "collector, no mailer"
VARIANTS = [  # (label, app, with the mailer process)
    (AS_DEPLOYED, "collector:create_app()", True),  # gunicorn + the mailer process (and an SMTP sink)
    (INTAKE_ALONE, INTAKE_ONLY, False),  # same gunicorn, record_stored listeners disconnected, no mailer
    # The deployed app itself with no mailer beside it: what the mailer alone costs the intake
    # (the listeners intake_only() disconnects set the receipt's cookie and note the review index).
    (NO_MAILER, "collector:create_app()", False),
]
FLOOR_RATIO, FLOOR_P99_MS = 0.9, 100.0


_porteurs = itertools.count()


def prepared_posts(tokens: Tokens, answers: dict, count: int) -> list[bytes]:
    """`count` distinct valid bodies, each with its own one-time token and its own contact address
    (one address would have its acknowledgements held back past its daily cap), made before the timed run."""
    return [encode_form({**answers, "contact_email": f"porteur{next(_porteurs)}@example.org"},
                        tokens.issue(time.time() - 60)) for _ in range(count)]


def mail_timeline(data_dir: str, burst_end: float) -> str:
    """Where the mails' delay after the burst went, from the outbox's files: seconds after the
    last post until the first and the last message was queued (its name remembered in
    mail-queued/, once durably in the outbox) and until the first and the last was claimed for
    sending (a claim sets the file's time: mail/delivery.py's _claim; sent/ keeps it)."""

    def span(folder: str) -> str:
        path = os.path.join(data_dir, folder)
        times = [os.stat(os.path.join(path, name)).st_mtime for name in pending(data_dir, folder)]
        return f"{min(times) - burst_end:+.1f} … {max(times) - burst_end:+.1f} s" if times else "none"

    return f"after the last post: queued {span(QUEUED)}, claimed for sending {span(SENT)}"


def mails_out(data_dir: str, timeout: float = 300.0) -> float | None:
    """Seconds until every stored record's mails were accepted by the SMTP server (None: not within `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if len(pending(data_dir, SENT)) >= len(KINDS) * len(list(iter_record_paths(data_dir))):
            return time.monotonic() - started
        time.sleep(0.1)
    return None


@contextlib.contextmanager
def smtp_sink(port: int):
    """aiosmtpd's Sink handler (accepts and forgets) in its own process: the Région's relay stands here."""
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                                "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the SMTP sink did not start") from None
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def deployed_mail(env: dict[str, str], scratch: str, with_mailer: bool, tree: str | None = None):
    """The mailer process (`tree`'s code, if given) and an SMTP sink for the block, as deployed;
    nothing for the intake alone."""
    if not with_mailer:
        yield env
        return
    port = free_port()
    mail_env = {**env, "COLLECTOR_SMTP_HOST": "127.0.0.1", "COLLECTOR_SMTP_PORT": str(port)}
    with smtp_sink(port), mailer(mail_env, scratch, cwd=tree or REPO_ROOT):
        yield mail_env


def run_collector(app: str, with_mailer: bool, env: dict[str, str], data_dir: str, args: argparse.Namespace,
                  answers: dict, scratch: str, extra: tuple[str, ...],
                  tree: str | None = None) -> tuple[tuple[list[float], int, int], int, float, float | None, str]:
    """Load one collector variant (from `tree`, another commit's files, if given); (load result, records
    written in the timed run, workers' CPU seconds, seconds after the run until every record's mails were
    sent: None without a mailer, and where those seconds went: mail_timeline)."""
    env = {**env, "COLLECTOR_DATA_DIR": data_dir}
    if tree:
        env["PYTHONPATH"], extra = tree, (*extra, "--chdir", tree)
    with deployed_mail(env, scratch, with_mailer, tree) as env, \
            gunicorn(env, workers=args.workers, app=app, log_dir=scratch, extra_args=extra) as server:
        fetch_hidden(server.base_url)  # a real page first: the key exists, the workers are warm
        with open(os.path.join(data_dir, "secret_key"), encoding="ascii") as handle:
            tokens = Tokens(handle.read().strip(), 3600)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
        # More posts than the fastest run could send (about 2,500/s); made afresh past that.
        posts = iter(prepared_posts(tokens, answers, int((args.seconds + 1) * 2500)))

        def submission(_index: int):
            body = next(posts, None) or prepared_posts(tokens, answers, 1)[0]
            return "POST", "/candidater/", body, headers, 303

        load(server.port, 1.0, args.clients, submission)  # warm-up
        before = len(list(iter_record_paths(data_dir)))
        cpu_before = workers_cpu_seconds(server.process.pid)
        result = load(server.port, args.seconds, args.clients, submission)
        burst_end = time.time()
        cpu = workers_cpu_seconds(server.process.pid) - cpu_before
        stored = len(list(iter_record_paths(data_dir))) - before
        out = mails_out(data_dir) if with_mailer else None
        return result, stored, cpu, out, mail_timeline(data_dir, burst_end) if with_mailer else ""


def warm_then_time(server, args: argparse.Namespace, post) -> tuple[tuple[list[float], int, int], float]:
    """One second of warm-up, then the timed run; (load result, workers' CPU seconds during it)."""
    load(server.port, 1.0, args.clients, post)
    cpu_before = workers_cpu_seconds(server.process.pid)
    result = load(server.port, args.seconds, args.clients, post)
    return result, workers_cpu_seconds(server.process.pid) - cpu_before


def run_bare(env: dict[str, str], args: argparse.Namespace, scratch: str,
             extra: tuple[str, ...]) -> tuple[tuple[list[float], int, int], float]:
    """Load the bare 204 endpoint under the same gunicorn; (load result, workers' CPU seconds)."""
    with gunicorn(env, workers=args.workers, app="bench.bare_app:app", log_dir=scratch, extra_args=extra) as bare:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return warm_then_time(bare, args, lambda _i: ("POST", "/candidater/", b"x=1", headers, 204))


def run_ladder_step(step: str, env: dict[str, str], args: argparse.Namespace, body: bytes, scratch: str,
                    extra: tuple[str, ...]) -> tuple[tuple[list[float], int, int], float]:
    """Load POST /etape/ doing the intake's steps up to `step`; (load result, workers' CPU seconds)."""
    data_dir = os.path.join(scratch, f"ladder-{step}")
    os.makedirs(data_dir)
    with gunicorn({**env, "COLLECTOR_DATA_DIR": data_dir}, workers=args.workers,
                  app=f"bench.collector_apps:ladder({step!r})", log_dir=scratch, extra_args=extra) as server:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return warm_then_time(server, args, lambda _i: ("POST", "/etape/", body, headers, 204))


SHARED_KEY = "bench: one key for every host"


def load_store_variant(servers: list, args: argparse.Namespace, answers: dict,
                       count_records) -> tuple[tuple[list[float], int, int], int, float]:
    """Warm up, then load the hosts with prepared posts signed with SHARED_KEY;
    (load result, records stored during the timed run, the hosts' workers' CPU seconds)."""
    ports = [server.port for server in servers]
    tokens = Tokens(SHARED_KEY, 3600)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
    posts = iter(prepared_posts(tokens, answers, int((args.seconds + 1) * 2500)))

    def submission(_index: int):
        body = next(posts, None) or prepared_posts(tokens, answers, 1)[0]
        return "POST", "/candidater/", body, headers, 303

    load(ports, 1.0, args.clients, submission)
    before, cpu_before = count_records(), sum(workers_cpu_seconds(server.process.pid) for server in servers)
    result = load(ports, args.seconds, args.clients, submission)
    cpu = sum(workers_cpu_seconds(server.process.pid) for server in servers) - cpu_before
    return result, count_records() - before, cpu


def mailers_on_postgresql(env: dict[str, str], folders: list[str], database: str, scratch: str) -> None:
    """Print how fast one mailer per host empties PostgreSQL's outbox (the mails the timed run
    queued with its records) into an SMTP sink: messages per second, all hosts together."""
    import psycopg

    def waiting() -> int:
        with psycopg.connect(database) as connection:
            return int(connection.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])

    queued, port = waiting(), free_port()
    mail_env = {**env, "COLLECTOR_SMTP_HOST": "127.0.0.1", "COLLECTOR_SMTP_PORT": str(port),
                "COLLECTOR_DATABASE_URL": database}
    with smtp_sink(port), contextlib.ExitStack() as stack:
        for number, folder in enumerate(folders):
            stack.enter_context(mailer({**mail_env, "COLLECTOR_DATA_DIR": folder}, scratch, f"mailer-pg-{number}"))
        count, started = waiting(), time.monotonic()  # timed once every mailer runs (start-ups left out)
        while waiting() and time.monotonic() - started < 600:
            time.sleep(0.05)
        elapsed, left = time.monotonic() - started, waiting()
    print(f"{'':28} then {len(folders)} mailer(s): {queued} mails queued by the intake; once all ran, "
          f"{count - left} sent in {elapsed:.1f} s: {(count - left) / max(elapsed, 1e-9):.0f} mails/s", flush=True)


def compare_stores(env: dict[str, str], args: argparse.Namespace, answers: dict, scratch: str,
                   extra: tuple[str, ...]) -> int:
    """The intake alone on the data folder, on PostgreSQL from one host and from two; 1 on a mismatch."""
    import psycopg

    with postgres_server(durable=True) as new_database:
        print("\nStores (the intake alone; PostgreSQL with fsync and synchronous commit, on this machine):", flush=True)
        failed = False
        for label, hosts in (("data folder, one host", 0), ("PostgreSQL, one host", 1), ("PostgreSQL, two hosts", 2)):
            base = {**env, "COLLECTOR_SECRET_KEY": SHARED_KEY}
            database = None
            if hosts:
                database = new_database()
                base["COLLECTOR_DATABASE_URL"] = database
            workers = args.workers if hosts < 2 else max(1, args.workers // 2)
            folders = [os.path.join(scratch, f"store-{len(label)}-{hosts}-{n}") for n in range(max(1, hosts))]

            def count_records(database=database, folder=folders[0]) -> int:
                if database is None:
                    return len(list(iter_record_paths(folder)))
                with psycopg.connect(database) as connection:
                    return int(connection.execute("SELECT count(*) FROM records").fetchone()[0])

            with contextlib.ExitStack() as stack:
                servers = [stack.enter_context(gunicorn({**base, "COLLECTOR_DATA_DIR": folder}, workers=workers,
                                                        app=INTAKE_ONLY, log_dir=scratch, extra_args=extra))
                           for folder in folders]
                result, stored, cpu = load_store_variant(servers, args, answers, count_records)
            report(f"  {label}", *result, args.seconds, cpu)
            print(f"{'':28} {len(servers)} × {workers} workers; records stored in the timed run: {stored} "
                  f"for {result[1]} accepted")
            failed |= stored != result[1]
            if database is not None:
                mailers_on_postgresql(base, folders, database, scratch)
        if failed:
            print("MISMATCH: an accepted submission has no record", file=sys.stderr)
        return 1 if failed else 0


def base_deployed_label(base: str) -> str:
    return f"{AS_DEPLOYED[:-1]}, {base})"[:30]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--intake-only", action="store_true", help="skip the as-deployed variant")
    parser.add_argument("--no-ladder", action="store_true", help="skip the ladder of mandatory steps")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each collector variant, in alternating order")
    parser.add_argument("--base", help="also the intake alone of this commit (before a change)")
    parser.add_argument("--no-stores", action="store_true", help="skip the data folder / PostgreSQL comparison")
    parser.add_argument("--stores-only", action="store_true", help="run only the data folder / PostgreSQL comparison")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-collector-")
    form = load_form()
    body_answers = valid_answers(form)
    extra = ("--worker-class", args.worker_class, "--threads", str(args.threads), "--log-level", "warning")
    env = {"AMI_NOW": "2021-04-15T10:00:00", "COLLECTOR_MIN_FILL_SECONDS": "0",
           "COLLECTOR_RATE_LIMIT": "100000000/600", "COLLECTOR_SMTP_HOST": ""}
    print(f"gunicorn {args.workers} {args.worker_class} workers ({args.threads} thread(s) each), {args.clients} clients, {args.seconds:.0f} s each, "
          f"{os.cpu_count()} cores", flush=True)
    if args.stores_only:
        try:
            return compare_stores(env, args, body_answers, scratch, extra)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    try:
        bare_first = run_bare(env, args, scratch, extra)
        # The variants in turn, the order reversed every other round (A B, B A…): a machine that
        # gets busier or quieter during the run does not favour one of them.
        variants = [(label, app, None, with_mailer) for label, app, with_mailer in VARIANTS
                    if not (args.intake_only and app != INTAKE_ONLY)]
        if args.base:
            base_tree = export_tree(args.base, os.path.join(scratch, "base"))
            variants.append((f"intake only, {args.base}"[:30], INTAKE_ONLY, base_tree, False))
            if not args.intake_only:
                variants.append((base_deployed_label(args.base), "collector:create_app()", base_tree, True))
        runs: list[tuple[str, tuple]] = []
        for round_number in range(args.rounds):
            for label, app, tree, with_mailer in variants if round_number % 2 == 0 else variants[::-1]:
                data_dir = os.path.join(scratch, f"data-{len(runs)}")  # each run its own folder
                os.makedirs(data_dir)
                runs.append((label, run_collector(app, with_mailer, env, data_dir, args, body_answers, scratch, extra, tree)))
        ladder_body = encode_form(body_answers, Tokens("ladder", 3600).issue())
        steps = [] if args.no_ladder else [
            (name, purpose, *run_ladder_step(name, env, args, ladder_body, scratch, extra))
            for name, purpose in (*LADDER, WRITE_ALONE)]
        print()
        bare_last = run_bare(env, args, scratch, extra)
        # The bare endpoint is measured first and last; the ratios use the faster of the two
        # runs (the harder comparison), since a busy machine slows one run more than another.
        bare_rate = max(report(f"bare 204 endpoint ({when})", *result, args.seconds, cpu)
                        for when, (result, cpu) in (("first", bare_first), ("last", bare_last)))
        failed = False
        rates: dict[str, float] = {}  # the faster run of each variant, as for the bare endpoint
        best: dict[str, list[float]] = {}  # that run's latencies
        for label, (result, stored, cpu, out, timeline) in runs:
            rate = report(label, *result, args.seconds, cpu)
            if rate > rates.get(label, -1.0):
                rates[label], best[label] = rate, result[0]
            print(f"{'':28} ratio to bare: {rate / bare_rate:.2f}; records stored in the timed run: "
                  f"{stored} for {result[1]} accepted")
            failed |= stored != result[1]
            if label == AS_DEPLOYED or (args.base and label == base_deployed_label(args.base)):
                print(f"{'':28} every mail of the run sent by the mailer " + (
                    f"{out:.1f} s after the run" if out is not None else "NOT within 300 s after the run"))
                print(f"{'':28} {timeline}")
                failed |= out is None
        if AS_DEPLOYED in rates and INTAKE_ALONE in rates:
            p99 = percentile(best[AS_DEPLOYED], .99) * 1000
            print(f"\nas deployed / intake alone (faster run of each): {rates[AS_DEPLOYED] / rates[INTAKE_ALONE]:.2f} "
                  f"(floor {FLOOR_RATIO}); as deployed p99 {p99:.1f} ms in that run (floor {FLOOR_P99_MS:.0f} ms)")
        if AS_DEPLOYED in rates and NO_MAILER in rates:
            print(f"as deployed / the same app with no mailer (faster run of each): "
                  f"{rates[AS_DEPLOYED] / rates[NO_MAILER]:.2f}; p99 {percentile(best[NO_MAILER], .99) * 1000:.1f} ms "
                  f"with no mailer")
        base_label = f"intake only, {args.base}"[:30] if args.base else None
        if args.base and base_deployed_label(args.base) in rates and base_label in rates:
            deployed = base_deployed_label(args.base)
            print(f"{args.base}: as deployed / intake alone (faster run of each): "
                  f"{rates[deployed] / rates[base_label]:.2f}; as deployed p99 "
                  f"{percentile(best[deployed], .99) * 1000:.1f} ms in that run")
        if base_label in rates and INTAKE_ALONE in rates:
            print(f"intake alone, this tree / {args.base} (faster run of each): throughput "
                  f"{rates[INTAKE_ALONE] / rates[base_label]:.2f}; p99 {percentile(best[INTAKE_ALONE], .99) * 1000:.1f} ms "
                  f"against {percentile(best[base_label], .99) * 1000:.1f} ms")
        if steps:
            print("\nThe intake's mandatory steps alone, one added at a time (POST /etape/, answers 204):")
        for name, purpose, result, cpu in steps:
            if name == WRITE_ALONE[0]:
                print("Outside the ladder, the framework and the durable write with nothing between them:")
            rate = report(f"  {name}", *result, args.seconds, cpu)
            print(f"{'':28} ratio to bare: {rate / bare_rate:.2f}; {purpose}")
            if name == WRITE_ALONE[0] and INTAKE_ALONE in rates:
                print(f"{'':28} intake alone / this rung: {rates[INTAKE_ALONE] / rate:.2f}")
        if failed:
            print("MISMATCH: an accepted submission has no record, or its mails were never sent", file=sys.stderr)
            return 1
        if not args.no_stores:
            return compare_stores(env, args, body_answers, scratch, extra)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

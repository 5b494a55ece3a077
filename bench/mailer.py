"""The mailer alone: how fast a queued outbox drains, and how fast stored records become sent mails.

For each tree (this one, and `--base`'s, default `main`, exported with `git archive`), in
alternated rounds on the same machine, each in its own Python process (that tree's code
first on the path):

- compose: the `--messages` messages of `--messages`/2 records composed into the bytes an outbox
  file holds, nothing written (the CPU of composing alone: its CPU ms per message);
- queue: the mails of `--messages`/2 stored records (acknowledgement + notification each)
  composed and queued durably into the outbox (`mail.reconcile`, what the mailer does at start);
- deliver: that outbox of `--messages` messages sent by `mail.deliver_outbox` to an SMTP
  sink on loopback (aiosmtpd in its own process, accepting and forgetting, as the Région's
  relay would): the mailer's sending alone;
- mailer process: a real `flask --app collector mailer` started on `--messages`/2 fresh
  records with no mail yet: seconds from its « running » line until every mail is in sent/
  (queueing and sending, with its nice +10, as deployed). These records were there when it
  started: it takes them up as a start-up catch-up (compose all, then deliver); records that
  arrive while it runs (a burst) are sent while the next batch is composed, which
  bench/collector.py measures (« every mail of the run sent by the mailer … after the run »).

Figures are messages per second (wall) and the CPU seconds of the work. The delay of the
last mail after a burst of posts is bench/collector.py's (« every mail of the run sent by
the mailer … after the run »).

    .venv/bin/python bench/mailer.py [--messages 2000] [--rounds 2] [--base main | --no-base]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"COLLECTOR_SECRET_KEY": "bench-secret", "AMI_NOW": "2021-05-28T20:00:00", "COLLECTOR_MAIL_RETRY_SECONDS": "60"}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_sent(data_dir: str) -> int:
    folder = os.path.join(data_dir, "sent")
    return len(os.listdir(folder)) if os.path.isdir(folder) else 0


def measure(scratch: str, messages: int) -> dict[str, float]:
    """Run in a child process whose path starts with the tree under test."""
    from bench.collector import smtp_sink
    from bench.exports import generate
    from collector import create_app
    from collector.mail.delivery import (MailSettings, compose_acknowledgement, compose_notification, deliver_outbox,
                                envelope_line, reconcile, wire_bytes)
    from collector.records import iter_record_paths, read_record
    from tests.review.mailer_process import mailer
    from tests.support.net import free_port

    port = free_port()
    os.environ.update({**ENV, "COLLECTOR_SMTP_HOST": "127.0.0.1", "COLLECTOR_SMTP_PORT": str(port)})
    figures: dict[str, float] = {}
    with smtp_sink(port):
        data_dir = os.path.join(scratch, "outbox")
        generate(data_dir, messages // 2)
        os.environ["COLLECTOR_DATA_DIR"] = data_dir
        app = create_app()
        facts, form = app.config["FACTS"], app.config["FORM"]
        settings = replace(MailSettings.from_env(), dossier_secret="bench-secret")

        started, cpu = time.perf_counter(), cpu_seconds()
        queued = reconcile(data_dir, facts, form, settings)
        figures["queue s"], figures["queue cpu"] = time.perf_counter() - started, cpu_seconds() - cpu
        assert len(queued) == messages, (len(queued), messages)

        started, cpu = time.perf_counter(), cpu_seconds()
        report = deliver_outbox(data_dir, settings)
        figures["deliver s"], figures["deliver cpu"] = time.perf_counter() - started, cpu_seconds() - cpu
        assert len(report.sent) == messages and count_sent(data_dir) == messages, report

        data_dir = os.path.join(scratch, "compose")
        generate(data_dir, messages)  # the second half: addresses and times this process has not met yet
        records = [read_record(path) for path in sorted(iter_record_paths(data_dir))][messages // 2:]
        notification_to = facts["contacts"]["notification_email"]
        started, cpu = time.perf_counter(), cpu_seconds()
        for record in records:
            envelope_line(record["answers"]["contact_email"]) + wire_bytes(
                compose_acknowledgement(record, facts, form, settings))
            envelope_line(notification_to) + wire_bytes(compose_notification(record, facts, form, settings))
        figures["compose s"], figures["compose cpu"] = time.perf_counter() - started, cpu_seconds() - cpu

        data_dir = os.path.join(scratch, "process")
        generate(data_dir, messages // 2)
        env = {**os.environ, "COLLECTOR_DATA_DIR": data_dir}
        with mailer(env, scratch) as running:
            started = time.perf_counter()
            while count_sent(data_dir) < messages:
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"the mailer sent {count_sent(data_dir)} of {messages} in 600 s")
                time.sleep(0.05)
            figures["mailer process s"] = time.perf_counter() - started
            with open(f"/proc/{running.process.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            figures["mailer process cpu"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return figures


def run_tree(tree: str, messages: int) -> dict[str, float]:
    scratch = tempfile.mkdtemp(prefix="bench-mailer-")
    try:
        env = {**os.environ, "PYTHONPATH": tree}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        result = subprocess.run([sys.executable, os.path.abspath(__file__), "--measure", scratch,
                                 "--messages", str(messages)], cwd=tree, env=env, check=True,
                                capture_output=True, text=True)
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages in the outbox (records: half)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated runs on each tree")
    parser.add_argument("--base", default="main", help="commit to compare with (default: main)")
    parser.add_argument("--no-base", action="store_true", help="this tree only")
    parser.add_argument("--measure", metavar="SCRATCH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.messages)))
        return 0

    sys.path.insert(0, REPO_ROOT)
    from bench.trees import export_tree

    root = tempfile.mkdtemp(prefix="bench-mailer-trees-")
    try:
        trees = {"after": REPO_ROOT} if args.no_base else {
            "before": export_tree(args.base, os.path.join(root, "before")), "after": REPO_ROOT}
        load = os.getloadavg()[0]
        results: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
        for _ in range(args.rounds):
            for label, tree in trees.items():  # alternate, so that both see the same machine
                results[label].append(run_tree(tree, args.messages))
        print(f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end, on {os.cpu_count()} cores; "
              f"{args.messages} messages ({args.messages // 2} records); medians of {args.rounds} alternated "
              f"run(s){'' if args.no_base else f'; before = {args.base}, after = this tree'}")
        print(f"{'tree':<7} {'figure':<16} {'seconds':>8} {'messages/s':>11} {'CPU s':>7} {'CPU ms/message':>15}")
        for label, runs in results.items():
            for figure in ("compose", "queue", "deliver", "mailer process"):
                seconds = statistics.median(run[f"{figure} s"] for run in runs)
                cpu = statistics.median(run[f"{figure} cpu"] for run in runs)
                print(f"{label:<7} {figure:<16} {seconds:8.2f} {args.messages / seconds:11.0f} {cpu:7.2f} "
                      f"{cpu / args.messages * 1000:15.3f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What one stored post costs, counted rather than timed: fsyncs, and CPU time, per post.

A post's wall time on a shared machine depends on everybody's load; the number of fsyncs it
makes does not, and they are most of its time when the disk is the limit. Posts go through
the Flask test client of the real app (every check, the durable write, the index update;
a review index exists, as on a server where reviewers work), in a fresh data folder, on this
tree and on another commit (`--base`, exported with `git archive`) in turn.

    .venv/bin/python bench/intake_fsyncs.py [--base main] [--posts 300]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.trees import export_tree  # noqa: E402

# Run inside the measured tree (its own code first on the path); prints one JSON line.
MEASURE = r"""
import json, logging, os, sys, time
count = int(sys.argv[1])
from collector import create_app
from collector.antispam import Tokens
from collector.formdef import load_form
from collector.review.indexing import app_index
from tests.support.payloads import encode_form, valid_answers
app = create_app()
logging.getLogger("collector").setLevel(logging.WARNING)
logging.getLogger("collector.intake").setLevel(logging.WARNING)
with app.app_context():
    app_index().rebuild(1)
client = app.test_client(use_cookies=False)
tokens = Tokens(app.config["SECRET_KEY"], 3600)
answers = valid_answers(load_form())
bodies = [encode_form({**answers, "contact_email": f"porteur{n}@example.org"}, tokens.issue(time.time() - 60))
          for n in range(count + 20)]  # an address each: one address's acknowledgements are capped
headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
real_fsync, made = os.fsync, [0]
def counting(fd):
    made[0] += 1
    real_fsync(fd)
os.fsync = counting
for body in bodies[:20]:  # warm-up
    assert client.post("/candidater/", data=body, headers=headers).status_code == 303
made[0] = 0
cpu, wall = time.process_time(), time.perf_counter()
for body in bodies[20:]:
    assert client.post("/candidater/", data=body, headers=headers).status_code == 303
print(json.dumps({"fsyncs": made[0] / count, "cpu_ms": (time.process_time() - cpu) / count * 1000,
                  "wall_ms": (time.perf_counter() - wall) / count * 1000}))
"""
ENV = {"AMI_NOW": "2021-04-15T10:00:00", "COLLECTOR_MIN_FILL_SECONDS": "0", "COLLECTOR_RATE_LIMIT": "100000000/600",
       "COLLECTOR_SMTP_HOST": "", "COLLECTOR_SECRET_KEY": "bench-secret"}


def measure(tree: str, data_dir: str, posts: int) -> dict[str, float]:
    env = {**os.environ, **ENV, "COLLECTOR_DATA_DIR": data_dir, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, "-c", MEASURE, str(posts)], cwd=tree, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="main", help="commit to compare with (default: main)")
    parser.add_argument("--posts", type=int, default=300)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-intake-fsyncs-")
    try:
        trees = {args.base: export_tree(args.base, os.path.join(root, "base")), "this tree": REPO_ROOT}
        print(f"{args.posts} stored posts each, in process (Flask test client), a review index present; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times depend on it)")
        for label, tree in trees.items():
            figures = measure(tree, os.path.join(root, f"data-{len(os.listdir(root))}"), args.posts)
            print(f"  {label:<12} fsyncs per post {figures['fsyncs']:5.2f}   CPU {figures['cpu_ms']:5.2f} ms per post"
                  f"   wall {figures['wall_ms']:6.2f} ms per post")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

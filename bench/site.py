"""Site figures: per page, bytes transferred (uncompressed bodies) and requests in headless
Chromium; the full build time; Lighthouse mobile scores when bench/node_modules has it.

    .venv/bin/python bench/site.py            (make bench runs it too)
    npm install --prefix bench lighthouse@12.2.3   (optional, for the Lighthouse scores)

Floors (issue 2): every page at most 20 KB in at most 3 requests; Lighthouse 100 x 4.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
OUT_DIR = os.path.join(BENCH_DIR, "out")
SITE_DIR = os.path.join(OUT_DIR, "site")
PELICAN = os.path.join(os.path.dirname(sys.executable), "pelican")
LIGHTHOUSE = os.path.join(BENCH_DIR, "node_modules", ".bin", "lighthouse")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AMI_NOW = "2021-04-15T10:00:00"
MAX_BYTES, MAX_REQUESTS = 20 * 1024, 3
LIGHTHOUSE_PAGES = ["/", "/calendrier/", "/pourquoi-cet-ami/", "/donnees-personnelles/", "/candidater/"]
BUILDS = 3


def build_once() -> float:
    """One full `pelican` build into a fresh folder; its wall time in seconds."""
    shutil.rmtree(SITE_DIR, ignore_errors=True)
    env = {**os.environ, "AMI_NOW": AMI_NOW}
    started = time.perf_counter()
    subprocess.run([PELICAN, "content", "-o", SITE_DIR, "-s", "pelicanconf.py", "-q"], cwd=REPO_ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def page_paths() -> list[str]:
    paths = []
    for folder, _dirs, files in os.walk(SITE_DIR):
        for name in files:
            if name.endswith(".html"):
                relative = os.path.relpath(os.path.join(folder, name), SITE_DIR).replace(os.sep, "/")
                paths.append("/" + relative.removesuffix("index.html"))
    return sorted(paths)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=SITE_DIR))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def weigh_pages(base_url: str, paths: list[str]) -> list[tuple[str, int, int]]:
    """(path, bytes, requests) per page, each loaded in a fresh browser profile (empty cache)."""
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for path in paths:
            context = browser.new_context()
            tab = context.new_page()
            responses = []
            tab.on("response", lambda response: responses.append(response))
            tab.goto(base_url + path, wait_until="load")
            tab.wait_for_load_state("networkidle")
            network = [r for r in responses if r.url.startswith("http")]
            size = sum(len(r.body()) for r in network)
            rows.append((path, size, len(network)))
            context.close()
        browser.close()
    return rows


def lighthouse(base_url: str) -> list[tuple[str, dict[str, int]]]:
    """Lighthouse (mobile, the default form factor) scores for a few pages."""
    results = []
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    for path in LIGHTHOUSE_PAGES:
        if not os.path.exists(os.path.join(SITE_DIR, path.lstrip("/"), "index.html")):
            continue
        report = os.path.join(OUT_DIR, "lighthouse-" + (path.strip("/").replace("/", "-") or "accueil") + ".json")
        command = [LIGHTHOUSE, base_url + path, "--quiet", "--output=json", f"--output-path={report}",
                   "--only-categories=performance,accessibility,best-practices,seo",
                   "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            results.append((path, {"error": done.returncode}))
            continue
        with open(report, encoding="utf-8") as handle:
            categories = json.load(handle)["categories"]
        results.append((path, {key: round(value["score"] * 100) for key, value in categories.items()}))
    return results


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    times = [build_once() for _ in range(BUILDS)]
    print(f"\nsite: full build (pelican, {len(page_paths())} pages), median of {BUILDS}: "
          f"{statistics.median(times):.2f} s (min {min(times):.2f} s, max {max(times):.2f} s)")
    server, base_url = serve()
    try:
        rows = weigh_pages(base_url, page_paths())
        print(f"\n{'page':44} {'bytes':>8} {'KB':>6} {'req':>4}  floor (≤ {MAX_BYTES // 1024} KB, ≤ {MAX_REQUESTS} req)")
        failures = 0
        for path, size, count in rows:
            ok = size <= MAX_BYTES and count <= MAX_REQUESTS
            failures += not ok
            print(f"{path:44} {size:8d} {size / 1024:6.1f} {count:4d}  {'ok' if ok else 'OVER'}")
        sizes = [size for _p, size, _c in rows]
        print(f"{'largest / median':44} {max(sizes):8d} {max(sizes) / 1024:6.1f}       median {statistics.median(sizes) / 1024:.1f} KB")
        if os.path.exists(LIGHTHOUSE):
            print("\nLighthouse 12 (mobile): performance / accessibility / best practices / SEO")
            for path, scores in lighthouse(base_url):
                if "error" in scores:
                    print(f"{path:44} lighthouse failed (exit {scores['error']})")
                    failures += 1
                    continue
                line = " / ".join(str(scores.get(k, "-")) for k in ("performance", "accessibility", "best-practices", "seo"))
                failures += any(v < 100 for v in scores.values())
                print(f"{path:44} {line}")
        else:
            print("\nLighthouse: not installed (npm install --prefix bench lighthouse@12.2.3), scores skipped.")
    finally:
        server.shutdown()
    print(f"\nsite: {'all floors met' if not failures else f'{failures} floor(s) missed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

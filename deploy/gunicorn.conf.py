"""gunicorn settings for the collector in production (behind nginx).

    gunicorn --config deploy/gunicorn.conf.py 'collector:create_app()'

Every value can be changed from the environment (systemd's EnvironmentFile) without
editing this file: GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_TIMEOUT.
"""

import multiprocessing
import os

# nginx proxies to this address; it is never exposed directly.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")

# Sync workers: each request is short (validate, one fsynced file). Two per core plus
# one, at most nine: the data folder's lock, not the CPU, bounds the throughput.
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 9)))
# gunicorn's sync worker, with gunicorn's own error pages (a header it cannot parse, say) in
# French: behind nginx they are never reached, straight to gunicorn (`make run`) they are.
worker_class = "collector.gunicorn_worker.FrenchErrorsWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Recycle workers now and then so that no slow leak can grow for two months.
max_requests = 5000
max_requests_jitter = 500
# nginx refuses request and header lines over 4 KiB with a French page (its
# large_client_header_buffers); these limits sit above it, so that gunicorn's own English
# error pages (« Request Line is too large », « Limit request headers fields ») are never
# reached through nginx: a line at gunicorn's maximum, and as many header lines as 16 KiB of
# headers can hold.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 4096

# nginx on this machine is the only proxy whose X-Forwarded-* headers are believed.
forwarded_allow_ips = "127.0.0.1,::1"

# Logs go to stdout/stderr (the journal under systemd). The access log carries no
# client address, no query string (it can hold a receipt's key), no user agent and no
# referer: only time, method, path, status, size and duration in milliseconds.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# The path is logged decoded: this logger writes its control characters escaped (`%0A`
# cannot forge a line, `%1B` cannot reach a terminal) and drops the client address that
# gunicorn puts in its "Invalid request" warnings.
logger_class = "collector.safe_logging.GunicornLogger"

proc_name = "ami-collector"


def on_starting(server):  # noqa: ARG001 - gunicorn's hook signature
    """With COLLECTOR_DATABASE_URL, check PostgreSQL (reachable, password, schema) once, in the
    master, before any worker starts: an unusable database stops gunicorn with one French
    message (collector/stores), never a traceback nor workers started again and again."""
    from collector.stores import exit_unless_usable

    exit_unless_usable(os.environ)


# gunicorn 25+ opens a control socket (for gunicornc). Under systemd it goes in the unit's
# RuntimeDirectory (/run/ami-collector), the only place the hardened unit lets it write.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"], "gunicorn.ctl")

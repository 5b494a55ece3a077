"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary folder,
a loopback port, stopped at the end.

`initdb` and `postgres` refuse to run as root: when the tests run as root, the cluster's
folder is given to an unprivileged user (`postgres` if it exists, else `nobody`) and every
server command runs through `runuser -u <user> --`. The folder is made with `mkdtemp`
directly under the system's temporary folder, so that user can reach it (pytest's own
temporary folders are private to root).

The superuser has a password (scram-sha-256 over TCP), so a test can try a wrong one.
For tests the cluster trades durability for speed (fsync off): they check behaviour, not
power cuts; a bench asks for PostgreSQL's durable defaults (`start_cluster(durable=True)`).
A test cluster's folder is in memory (tmpfs, /dev/shm) when that has room: each test copies
the template into a database of its own (about 300 files, 11 MB), and on a disk creating and
removing those files cost more than the tests themselves; `database_url` (tests/conftest.py)
drops its database when the test ends, so the folder stays small. A durable cluster stays on disk.

A mutation run (mutation/run.py) starts one cluster for all its pytest sessions and names it
in AMI_TEST_POSTGRES: `start_cluster()` then gives that running cluster (started again if a
session killed meanwhile had stopped it), `migrated_template` its template, and `stop_cluster`
drops the databases this session made instead of stopping it. Each test still gets a fresh
database copied from the template; without the variable (`make test`) nothing changes.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from .net import free_port

BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
SUPERUSER = "ami_test"
PASSWORD = "mot-de-passe-de-test"
FAST_SETTINGS = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
SHARED_ENV = "AMI_TEST_POSTGRES"  # a running cluster every test session reuses (JSON: shared_settings)
MEMORY_FOLDER = "/dev/shm"
MEMORY_NEEDED = 2 * 1024 ** 3  # room left in tmpfs below which a test cluster goes to the temporary folder


def server_bin_dir() -> str | None:
    """The folder holding initdb, pg_ctl and postgres (Debian's `postgresql` package), if any."""
    for folder in BIN_DIRS:
        if os.path.exists(os.path.join(folder, "initdb")):
            return folder
    return None


def cluster_parent(durable: bool) -> str | None:
    """The folder a new cluster's folder goes in: tmpfs for a test cluster when it has room, else
    None (the system's temporary folder)."""
    if durable or not os.access(MEMORY_FOLDER, os.W_OK | os.X_OK):
        return None
    stats = os.statvfs(MEMORY_FOLDER)
    return MEMORY_FOLDER if stats.f_bavail * stats.f_frsize >= MEMORY_NEEDED else None


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither the postgres nor the nobody user exists")


@dataclass
class PostgresCluster:
    """One running cluster; `url(database)` gives a connection URL for psycopg."""

    folder: str
    port: int
    bin_dir: str
    user: str | None
    template: str = ""  # a migrated database to copy (tests/conftest.py sets it)
    durable: bool = False  # fsync and synchronous commits on (benches), off (tests)
    shared: bool = False  # named by AMI_TEST_POSTGRES: kept running after the session
    _databases: int = field(default=0)
    _made: list[str] = field(default_factory=list)

    @property
    def data(self) -> str:
        return os.path.join(self.folder, "data")

    @property
    def log_path(self) -> str:
        return os.path.join(self.folder, "server.log")

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, os.path.join(self.bin_dir, command[0]), *command[1:]],
                              check=check, capture_output=True, text=True, timeout=120)

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        password_file = os.path.join(self.folder, "password")
        with open(password_file, "w", encoding="ascii") as handle:
            handle.write(PASSWORD)
        self._chown()
        self._run("initdb", "-D", self.data, "-U", SUPERUSER, "--pwfile", password_file, "-E", "UTF8",
                  "--locale", "C.UTF-8", "--auth-host", "scram-sha-256", "--auth-local", "trust", "--no-sync")
        os.unlink(password_file)

    def _chown(self) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            for root, folders, files in os.walk(self.folder):
                for name in [root, *(os.path.join(root, item) for item in folders + files)]:
                    os.chown(name, entry.pw_uid, entry.pw_gid)

    def start(self) -> None:
        options = " ".join(["-h", "127.0.0.1", "-p", str(self.port), "-k", self.folder, "-c", "max_connections=300",
                            *(() if self.durable else FAST_SETTINGS)])
        self._run("pg_ctl", "-D", self.data, "-l", self.log_path, "-o", options, "-w", "-t", "60", "start")

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", self.data, "status", check=False).returncode == 0

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        """Stop then start again (clients see their connections closed)."""
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def new_database(self, template: str | None = None) -> str:
        """Create a fresh database (a copy of `template` when given); its name."""
        import psycopg

        self._databases += 1
        # the random part: a session killed before dropping its databases leaves names behind
        name = f"ami_{os.getpid()}_{self._databases}_{secrets.token_hex(4)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            clause = f" TEMPLATE {template}" if template else ""
            connection.execute(f"CREATE DATABASE {name}{clause}")
        self._made.append(name)
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database this object made, unless a connection is still open on it (a test left
        it open): that one goes with the cluster, rather than waiting for it or cutting it."""
        import psycopg

        try:
            with psycopg.connect(self.url(), autocommit=True) as connection:
                in_use = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                            (name,)).fetchone()[0]
                if in_use:
                    return
                connection.execute(f"DROP DATABASE IF EXISTS {name}")
        except psycopg.OperationalError:  # a test left the server stopped: its own failure says so
            return
        self._made.remove(name)

    def drop_databases(self) -> None:
        """Drop every database this object made (a shared cluster, at the end of a session)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            for name in reversed(self._made):
                if name != self.template:
                    connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.clear()


def shared_settings(cluster: PostgresCluster) -> str:
    """The value of AMI_TEST_POSTGRES that makes test sessions reuse `cluster` (and its template)."""
    return json.dumps({"folder": cluster.folder, "port": cluster.port, "bin_dir": cluster.bin_dir,
                       "user": cluster.user, "template": cluster.template})


def _shared_cluster() -> PostgresCluster | None:
    settings = os.environ.get(SHARED_ENV)
    if not settings:
        return None
    cluster = PostgresCluster(**json.loads(settings), shared=True)
    if not cluster.is_running():  # a session killed while it had stopped the server (test_outage)
        cluster.start()
    return cluster


def start_cluster(durable: bool = False) -> PostgresCluster:
    """initdb in a new temporary folder and start the server on a free loopback port
    (`durable`: PostgreSQL's default fsync and commit settings, as in production; for benches).
    With AMI_TEST_POSTGRES set (a mutation run), the running cluster it names instead."""
    if not durable and (shared := _shared_cluster()) is not None:
        return shared
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL's server binaries are missing: install Debian's postgresql package "
                           "(.ci/run does).")
    folder = tempfile.mkdtemp(prefix="ami-pg-", dir=cluster_parent(durable))
    os.chmod(folder, 0o755)
    cluster = PostgresCluster(folder=folder, port=free_port(), bin_dir=bin_dir, user=_unprivileged_user(),
                              durable=durable)
    try:
        cluster.init()
        cluster.start()
    except subprocess.CalledProcessError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {error.stderr}\n{cluster.log()}") from None
    return cluster


def start_standby(primary: PostgresCluster) -> PostgresCluster:
    """A hot standby of `primary` on another loopback port (pg_basebackup -R): in recovery, it
    answers read-only queries. Stop it with stop_cluster."""
    folder = tempfile.mkdtemp(prefix="ami-pg-standby-", dir=cluster_parent(primary.durable))
    os.chmod(folder, 0o755)
    standby = PostgresCluster(folder=folder, port=free_port(), bin_dir=primary.bin_dir, user=primary.user)
    try:
        standby._chown()
        standby._run("pg_basebackup", "-d", primary.url(), "-D", standby.data, "-R", "-X", "stream",
                     "-c", "fast", "--no-sync")
        standby.start()
    except subprocess.CalledProcessError as error:
        stop_cluster(standby)
        raise RuntimeError(f"the standby did not start: {error.stderr}\n{standby.log()}") from None
    return standby


def stop_cluster(cluster: PostgresCluster) -> None:
    if cluster.shared:  # another session uses it next: only this session's databases go
        cluster.drop_databases()
        return
    cluster.stop()
    for _attempt in range(50):  # the server removes its files as it ends
        try:
            shutil.rmtree(cluster.folder)
            return
        except OSError:
            time.sleep(0.1)


def migrated_template(cluster: PostgresCluster) -> str:
    """A database holding the collector's current schema, to copy per test (CREATE DATABASE … TEMPLATE)."""
    import psycopg

    from collector.stores import schema

    if cluster.shared and cluster.template:
        return cluster.template
    name = cluster.new_database()
    with psycopg.connect(cluster.url(name)) as connection:
        schema.upgrade(connection)
    return name

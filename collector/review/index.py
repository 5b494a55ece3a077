"""An index of the records for reviewers: sqlite in `$DATA/state/index.sqlite3`.

The store's records stay the records (YAML files in the data folder, or rows in
PostgreSQL); this index is derived from them, on each host in its own data folder, and
can always be rebuilt (`flask --app collector reindex`). It keeps, per record: its
signature (the store's source says what: stores/review_source.py), a summary (reference,
time of receipt, structure, type, département, thématiques, flags, problems, the duplicate
keys (SIRET, RNA, e-mail, structure name: duplicates.py), the searchable text), or the French
message that says why the record is unreadable; per history, the status.

Each use first brings it in step with the store (`sync`): in the data folder, the files
inotify names as changed since this process last looked (folder_watch.py), or, the first
time and where there is no inotify, every file of `submissions/` and `reviews/` (one
`scandir`); in PostgreSQL, a digest of every signature computed by the server, and every
row's signature only when it differs from this process's last one. A record whose
signature differs from the index's is re-read, a vanished one dropped. A hand-edited
file, a restored backup, or a record or status written by another host is thus seen at
the next request, by every worker, without a restart. Writers in the data folder also
update it at once (`note_record`, `note_history`), so the next sync finds nothing to re-read.
A sync that fails makes the source forget what it reported (`ReviewSource.forget`), so the
next one compares every signature. A sync that drops rows wipes their bytes (`secure_delete`,
then `wipe_log`); `purge` and each host's mailer sync it (index_upkeep.py), so a purged dossier
leaves every host's index, not only the ones reviewers use.

The index is not a record: it is written without fsync (WAL, synchronous=NORMAL), and a
damaged or outdated file (another schema, another form definition) is rebuilt into a new
file that replaces it (os.replace), so readers never see a half-built index. Duplicates
(same SIRET, RNA, e-mail or structure name) are worked out by the queries, from the keys, never stored.
Each write transaction bumps `generation`, so a process whose last view of the files
is still the index's skips reloading the signatures, and answers its remembered counts.
A new process (a command) compares a digest of every file's signature with the one kept
beside the generation when the index was last known to hold exactly those files
(`in_step`): the same, and it loads no signature from the index at all.
"""

from __future__ import annotations

import copy
import fcntl
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import sqlite3
import struct
import threading
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from .. import sqlite_files
from ..records import RECORD_SUFFIX, SUBMISSIONS_DIR, RecordError
from ..sequence import STATE_DIR
from ..display import shown
from ..duplicates import FLAGS as DUPLICATE_FLAGS, KINDS as DUPLICATE_KINDS, keys_of
from ..statuses import REVIEWS_DIR, STATUSES, UNREADABLE_HISTORY, StatusError, read_history, store_of
from ..stores.folder_review_source import signature as _signature
from ..stores.review_source import Signature
from .catalog import (INVALID_FLAG, Entry, departement_code, departement_name, entry_of, format_departement,
                      format_received)

log = logging.getLogger("collector")

DB_FILE = "index.sqlite3"
IN_STEP = "in_step"  # meta key: "<generation> <digest>", the files the index held exactly at that generation
SCHEMA_VERSION = "4"  # 3: the `listed` table; 4: RNA and structure name keys
PARIS = ZoneInfo("Europe/Paris")
SEARCH_FIELDS = ("raison_sociale", "siret", "rna", "contact_nom", "contact_email", "contact_telephone",
                 "commune", "code_postal", "projet_titre", "description", "territoire", "partenaires")

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    name TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, ino INTEGER NOT NULL,
    error TEXT,
    received_ts REAL, received_day TEXT, structure_key TEXT, type_structure TEXT, departement TEXT,
    departement_name TEXT, flags TEXT, siret_key TEXT, rna_key TEXT, email_key TEXT, nom_key TEXT
);  -- the duplicate keys last, in the order of duplicates.KINDS
-- wide columns apart, so that counts, filters and sorts scan narrow rows
CREATE TABLE details (name TEXT PRIMARY KEY, summary TEXT NOT NULL, problems TEXT NOT NULL);
CREATE TABLE texts (name TEXT PRIMARY KEY, search TEXT NOT NULL);
-- a list row as `list` prints it, rendered once when the file is read: a row costs no JSON nor date
CREATE TABLE listed (name TEXT PRIMARY KEY, received TEXT NOT NULL, organisation TEXT NOT NULL,
                     thematiques TEXT NOT NULL, departement TEXT NOT NULL, flags TEXT NOT NULL,
                     invalid INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE TABLE themes (name TEXT NOT NULL, code TEXT NOT NULL, PRIMARY KEY (name, code));
CREATE TABLE histories (name TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, ino INTEGER NOT NULL,
                        status TEXT NOT NULL);
"""
# Made once the rows are in (a rebuild): one sort per index instead of an insertion per row.
INDEXES = """
CREATE INDEX records_received ON records (received_ts);
CREATE INDEX records_structure ON records (structure_key);
CREATE INDEX records_departement ON records (departement);
CREATE INDEX records_siret ON records (siret_key);
CREATE INDEX records_email ON records (email_key);
CREATE INDEX records_rna ON records (rna_key);
CREATE INDEX records_nom ON records (nom_key);
CREATE INDEX themes_code ON themes (code);
"""
CHUNK = 500  # files per task of a parallel rebuild

Validator = Callable[[dict[str, Any]], list[str]]

STATUS_ORDER = "CASE COALESCE(h.status, 'recu') " + " ".join(
    f"WHEN '{code}' THEN {rank}" for rank, code in enumerate(STATUSES)) + " ELSE 99 END"
SORTS = {
    "date": "r.received_ts",
    "structure": "r.structure_key",
    "departement": "r.departement",
    "statut": STATUS_ORDER,
    "reference": "r.name",
}
FROM = "FROM records r LEFT JOIN histories h ON h.name = r.name"
KEY_COLUMNS = {kind: f"{kind}_key" for kind in DUPLICATE_KINDS}  # the records' column of each duplicate key
KEYS_SELECTED = ", ".join(f"r.{column}" for column in KEY_COLUMNS.values())
DUPLICATED = "(SELECT {key} FROM records WHERE {key} <> '' AND error IS NULL GROUP BY {key} HAVING COUNT(*) > 1)"
# Has another readable record this one's key? For the rows of a page or a list: one look in the
# key's index per row, where DUPLICATED groups every record.
SHARED = ("IFNULL(r.{key} <> '' AND EXISTS (SELECT 1 FROM records d WHERE d.{key} = r.{key} "
          "AND d.rowid <> r.rowid AND d.error IS NULL), 0)")
SEPARATOR = "\x1f"  # between the codes of a `listed` cell: `shown` writes it [U+001F], so no code holds it


_COMBINING = re.compile(r"[\u0300-\u036f]")


def fold(text: str) -> str:
    """Text as search and sort compare it: no accents, no case, single spaces."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return " ".join(text.casefold().split())


def search_words(text: str) -> list[str]:
    """What a search must all find: each word, or each "phrase between quotes"; digits typed
    in groups (« 732 829 320 00017 ») stay one."""
    folded = fold(text)
    if re.fullmatch(r"[\d .]+", folded) and len(re.sub(r"\D", "", folded)) >= 9:
        return [re.sub(r"\D", "", folded)]
    return [" ".join(phrase.split()) if phrase else word
            for phrase, word in re.findall(r'"([^"]*)"|([^\s"]+)', folded) if (phrase or word).strip()]


@dataclass(frozen=True)
class Selection:
    """What a reviewer asks for: filters (codes), words to search, a sort."""

    status: str | None = None
    thematique: str | None = None
    departement: str | None = None
    type_structure: str | None = None
    flag: str | None = None
    search: str = ""
    sort: str = "date"
    descending: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["r.error IS NULL"], []
        for value, clause in ((self.status, "COALESCE(h.status, 'recu') = ?"),
                              (self.thematique, "r.name IN (SELECT name FROM themes WHERE code = ?)"),
                              (self.departement, "r.departement = ?"), (self.type_structure, "r.type_structure = ?")):
            if value:
                clauses.append(clause)
                params.append(value)
        duplicated = [kind for kind, flag in DUPLICATE_FLAGS.items() if flag == self.flag]
        if duplicated:
            column = KEY_COLUMNS[duplicated[0]]
            clauses.append(f"r.{column} IN {DUPLICATED.format(key=column)}")
        elif self.flag:
            clauses.append("instr(r.flags, ?) > 0")
            params.append(f"|{self.flag}|")
        words = search_words(self.search)
        if words:
            clauses.append("r.name IN (SELECT name FROM texts WHERE "
                           + " AND ".join("instr(search, ?) > 0" for _word in words) + ")")
            params.extend(words)
        return " AND ".join(clauses), params

    def order(self) -> str:
        column = SORTS.get(self.sort, SORTS["date"])
        direction = "DESC" if self.descending else "ASC"
        return f"{column} {direction}, r.name {direction}"


def _files_digest(submissions: dict[str, Signature], histories: dict[str, Signature]) -> str:
    """A digest of every record's and history's name and signature, in the folders' order.

    Unsorted: an unchanged folder lists its files in the same order, and another order
    only costs a comparison with the index, never a wrong answer. The names are hashed as
    one text, the signatures as signed 64-bit integers (as sqlite keeps them): a fifth of
    the cost of hashing the folders' `repr`, which a new process pays at every command."""
    digest = hashlib.blake2b(digest_size=16)
    for files in (submissions, histories):
        digest.update(struct.pack("<q", len(files)))
        digest.update("\0".join(files).encode("utf-8", "surrogatepass"))
        digest.update(struct.pack(f"<{3 * len(files)}q", *itertools.chain.from_iterable(files.values())))
    return digest.hexdigest()


def _note_in_step(connection: sqlite3.Connection, digest: str) -> None:
    """Inside a write transaction that left the index holding exactly the files of `digest`."""
    generation = connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (IN_STEP, f"{generation} {digest}"))


class ListRow(NamedTuple):
    """One record as `list` prints it: texts rendered when the file was read, codes for the rest."""

    reference: str
    received: str  # « 16/04/2021 10:05 », as the record wrote the time
    organisation: str
    thematiques: list[str]  # codes, in the record's order
    departement: str  # « Calvados (14) », or « — »
    status: str
    flags: list[str]  # codes, as Entry.flags gives them
    version: int


@dataclass
class IndexedFile:
    """What the index keeps of one record file: its `records` row, thématiques, summary, text, list row."""

    row: list[Any]
    themes: list[str]
    detail: tuple[str, str, str] | None
    text: tuple[str, str] | None
    listed: tuple[Any, ...] | None = None


def _listed(name: str, entry: Entry) -> tuple[Any, ...]:
    """The `listed` row: what `list` prints of the record, rendered once here rather than at every
    command (the date by strftime, hidden characters made visible)."""
    return (name, shown(format_received(entry), multiline=False), entry.organisation,
            SEPARATOR.join(entry.thematiques), shown(format_departement(entry), multiline=False),
            SEPARATOR.join(entry.own_flags), int(bool(entry.problems)), entry.version)


def _indexed_file(name: str, signature: Signature, entry: Entry | None, error: str | None) -> IndexedFile:
    if entry is None:
        return IndexedFile([name, *signature, error] + [None] * (7 + len(KEY_COLUMNS)), [], None, None)
    record, answers = entry.record, entry.record["answers"]
    moment = datetime.fromisoformat(str(record["received_at"]))
    texts = [name] + [str(answers.get(key) or "") for key in SEARCH_FIELDS]
    texts.append(re.sub(r"\D", "", str(answers.get("siret") or "")))
    texts.append(re.sub(r"\D", "", str(answers.get("contact_telephone") or "")))
    flags = [str(flag) for flag in record.get("flags") or []] + ([INVALID_FLAG] if entry.problems else [])
    row = [name, *signature, None, moment.timestamp(), moment.astimezone(PARIS).date().isoformat(),
           fold(entry.organisation), entry.type_structure, departement_code(record), departement_name(record),
           "|" + "|".join(flags) + "|", *keys_of(answers).values()]
    detail = (name, json.dumps(entry.summary, ensure_ascii=False), json.dumps(entry.problems, ensure_ascii=False))
    return IndexedFile(row, entry.thematiques, detail, (name, fold(" | ".join(texts))), _listed(name, entry))


def _history_status(where: Any, name: str) -> str:
    try:
        return read_history(where, name)["status"]
    except StatusError:
        return UNREADABLE_HISTORY


@contextmanager
def _build_lock(path: str) -> Iterator[None]:
    """One builder at a time across processes (two workers starting together build once each, in turn)."""
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


_READER: RecordIndex | None = None


def _read_chunk(files: tuple[dict[str, Signature], dict[str, Signature]]) -> tuple[list[IndexedFile], list[list[Any]]]:
    """In a forked process: read some record and history files for `RecordIndex._read_all`."""
    assert _READER is not None
    return _READER._read_records(files[0]), _READER._read_histories(files[1])


def _chunks(files: dict[str, Signature]) -> list[dict[str, Signature]]:
    names = sorted(files)
    return [{name: files[name] for name in names[start:start + CHUNK]} for start in range(0, len(names), CHUNK)]


_seen_lock = threading.Lock()
_answers: dict[tuple[str, str, str, tuple], Any] = {}  # (index file, generation, question, arguments) → answer
MAX_ANSWERS = 256


def per_generation(method):
    """Remember a query's answer until the index changes (each write gives it a new generation).

    Totals, counts and the département list are asked on every page view; this process
    answers them again only after something was written.
    """
    @functools.wraps(method)
    def remembered(self: "RecordIndex", *args: Any) -> Any:
        self._db()
        key = (self.path, self._generation, method.__name__, args)
        with _seen_lock:
            if key in _answers:
                return copy.deepcopy(_answers[key])
        answer = method(self, *args)
        with _seen_lock:
            if len(_answers) >= MAX_ANSWERS:
                _answers.clear()
            _answers[key] = answer
        return copy.deepcopy(answer)

    return remembered
_seen: dict[str, tuple[str, dict[str, Signature], dict[str, Signature]]] = {}


class RecordIndex:
    """The index of a store's records, in a data folder; open it per use (connections are cached per thread).

    `store` (the data folder's own by default) keeps the records and histories; the index
    file is always in `data_dir` (each host keeps its own). `follow`: this process will use
    the index again (a web worker, the mailer), so each sync asks the store what changed
    since the last one (inotify, PostgreSQL's digest) and the next sync looks at those only;
    a one-shot command (False) looks at every file once and sets up nothing for later.
    """

    def __init__(self, data_dir: str, validator: Validator | None = None, store: Any = None,
                 follow: bool = True) -> None:
        self.data_dir = data_dir
        self.follow = follow
        self.path = os.path.join(data_dir, STATE_DIR, DB_FILE)
        self.store = store_of(store if store is not None else data_dir)
        self.source = self.store.review_source
        self.validator = validator
        self.validator_key = str(getattr(validator, "fingerprint", "none" if validator is None else "custom"))
        if self.source.key:  # an index made from another store is rebuilt (the data folder's key is "")
            self.validator_key += " " + self.source.key
        self._synced = False
        self._generation = ""

    # --- connection -----------------------------------------------------------------------

    def _connect(self, path: str | None = None) -> sqlite3.Connection:
        connection = sqlite3.connect(path or self.path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # derived data: rebuilt if ever lost
        connection.execute("PRAGMA secure_delete=ON")  # a deleted row's bytes are zeroed (a purged dossier's)
        return connection

    def _connection(self, build: bool = True) -> sqlite3.Connection | None:
        """This thread's connection, reopened when the file was replaced (a rebuild) or removed.

        A missing or unusable index is built first, unless `build` is false (writers' updates
        never build: the next reader will); then None when there is no index file, or one of
        another schema or form definition (an upgrade's first post must neither write into the
        old file nor keep it open for this thread's review pages: the next reader rebuilds it).
        """
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        cached = sqlite_files.cached(self.path)  # kept with the file's inode (closed with the app's folder)
        if cached is not None and cached[1] == inode:
            return cached[0]
        sqlite_files.forget(self.path)
        if inode is None or not self._usable():  # only a checked file is kept open
            if not build:
                return None
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with _build_lock(self.path):
                if not (os.path.exists(self.path) and self._usable()):  # another process may have built it
                    self._build()
            inode = os.stat(self.path).st_ino
        return sqlite_files.keep(self.path, self._connect(), inode)

    def _usable(self) -> bool:
        """Is the file an index of this schema, made with this form definition?"""
        try:
            connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                meta = dict(connection.execute("SELECT key, value FROM meta"))
            finally:
                connection.close()
        except sqlite3.Error:
            return False
        return meta.get("schema") == SCHEMA_VERSION and meta.get("validator") == self.validator_key

    # --- building and keeping in step -------------------------------------------------------

    def rebuild(self, processes: int = 1) -> int:
        """Build the index from scratch into a new file, then put it in place; the record count.

        With `processes` > 1 the files are read by that many forked processes (for the
        `reindex` command; never inside a web worker, whose other threads fork would copy).
        """
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with _build_lock(self.path):
            return self._build(processes)

    def _build(self, processes: int = 1) -> int:
        """Read every file (in `processes` forked processes, started before the new file is
        opened), write the rows into a new file as they come, then put it in place.

        The new file has no journal and is never fsynced: it is nobody's until os.replace
        puts it in place, and a crash before leaves a `.new` file of derived data.
        """
        building = f"{self.path}.{os.getpid()}.{uuid.uuid4().hex}.new"
        submissions = self.source.signatures("records")
        histories = self.source.signatures("histories")
        if not self.source.forkable:
            processes = 1
        try:
            with self._read_all(submissions, histories, processes) as parts:
                connection = sqlite3.connect(building, timeout=30, isolation_level=None)
                try:
                    connection.execute("PRAGMA journal_mode=OFF")
                    connection.execute("PRAGMA synchronous=OFF")
                    connection.executescript(TABLES)
                    connection.execute("BEGIN")
                    connection.executemany("INSERT INTO meta VALUES (?, ?)", [
                        ("schema", SCHEMA_VERSION), ("validator", self.validator_key), ("generation", "")])
                    for records, history_rows in parts:
                        self._insert(connection, records, history_rows)
                    connection.execute("COMMIT")
                    connection.executescript(INDEXES)
                    connection.execute("BEGIN")
                    self._new_generation(connection)
                    _note_in_step(connection, _files_digest(submissions, histories))
                    connection.execute("COMMIT")
                    connection.execute("PRAGMA journal_mode=WAL")  # as every reader opens it
                finally:
                    connection.close()
            os.replace(building, self.path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(building + suffix)
                except FileNotFoundError:
                    pass
        with _seen_lock:
            _seen.pop(self.path, None)
        return len(submissions)

    def _read_records(self, files: dict[str, Signature]) -> list[IndexedFile]:
        folder = os.path.join(self.data_dir, SUBMISSIONS_DIR)
        reader = self.source.reader(files.keys(), ())
        rows = []
        for name, signature in files.items():
            try:
                entry = entry_of(reader.read_record(name), name, reader, self.validator,
                                 os.path.join(folder, name + RECORD_SUFFIX))
                error = None
            except RecordError as failure:
                entry, error = None, str(failure)
            rows.append(_indexed_file(name, signature, entry, error))
        return rows

    @contextmanager
    def _read_all(self, submissions: dict[str, Signature], histories: dict[str, Signature],
                  processes: int) -> Iterator[Iterable[tuple[list[IndexedFile], list[list[Any]]]]]:
        """Every record and history read, a chunk at a time, in order.

        With `processes` > 1, every chunk is handed to a pool of forked processes at once,
        so they fork before the caller opens anything, and the caller writes one chunk
        while they read the next ones.
        """
        global _READER
        parts = [(chunk, {}) for chunk in _chunks(submissions)] + [({}, chunk) for chunk in _chunks(histories)]
        if processes <= 1:
            yield ((self._read_records(records), self._read_histories(history)) for records, history in parts)
            return
        _READER = self  # inherited by the forked processes
        try:
            import multiprocessing  # here: only a rebuild needs the process pool, not every command
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
                yield pool.map(_read_chunk, parts)  # map submits every chunk now: the processes start here
        finally:
            _READER = None

    def _read_histories(self, files: dict[str, Signature]) -> list[list[Any]]:
        reader = self.source.reader((), files.keys())
        return [[name, *signature, _history_status(reader, name)] for name, signature in files.items()]

    @classmethod
    def _write(cls, connection: sqlite3.Connection, records: Sequence[IndexedFile], gone: Iterable[str],
               histories: Sequence[list[Any]], gone_histories: Iterable[str]) -> None:
        """Apply changes inside the caller's transaction and bump the generation."""
        names = [(name,) for name in gone] + [(item.row[0],) for item in records]
        for table in ("records", "themes", "details", "texts", "listed"):
            connection.executemany(f"DELETE FROM {table} WHERE name = ?", names)
        connection.executemany("DELETE FROM histories WHERE name = ?", [(name,) for name in gone_histories])
        cls._insert(connection, records, histories)
        cls._new_generation(connection)

    @staticmethod
    def _insert(connection: sqlite3.Connection, records: Sequence[IndexedFile], histories: Sequence[list[Any]]) -> None:
        """Insert the rows of files read (the caller removed their earlier rows)."""
        connection.executemany("INSERT INTO records VALUES (" + ", ".join("?" * (12 + len(KEY_COLUMNS))) + ")",
                               [item.row for item in records])
        connection.executemany("INSERT OR IGNORE INTO themes VALUES (?, ?)",
                               [(item.row[0], code) for item in records for code in item.themes])
        connection.executemany("INSERT INTO details VALUES (?, ?, ?)", [item.detail for item in records if item.detail])
        connection.executemany("INSERT INTO texts VALUES (?, ?)", [item.text for item in records if item.text])
        connection.executemany("INSERT INTO listed VALUES (" + ", ".join("?" * 8) + ")",
                               [item.listed for item in records if item.listed])
        connection.executemany("INSERT OR REPLACE INTO histories VALUES (?, ?, ?, ?, ?)", histories)

    @staticmethod
    def _new_generation(connection: sqlite3.Connection) -> None:
        connection.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (uuid.uuid4().hex,))

    def sync(self) -> None:
        """Bring the index in step with the files: re-read changed or new files, drop vanished ones.

        What this process saw last time (`_seen`: the index's generation and every file's
        signature) spares work: inotify (folder_watch.py) names the files changed since, and
        only those are looked at again; when the generation is still the one this process
        left, the index holds exactly those signatures, so only those names are compared.

        A sync that fails (the database out of reach, a full disk) makes the source forget
        what this process saw: the changes it reported were not applied, so the next sync
        compares every signature rather than trusting them as applied.
        """
        try:
            self._sync()
        except BaseException:
            self.source.forget()
            raise

    def _sync(self) -> None:
        connection = self._connection()
        generation, in_step = self._meta(connection)
        with _seen_lock:
            seen = _seen.get(self.path)
        disk: list[dict[str, Signature]] = []
        touched: list[set[str] | None] = []
        for number, kind in enumerate(("records", "histories")):
            changed_now = self.source.changes(kind) if self.follow else None  # type: ignore[arg-type]
            if changed_now is None or seen is None:
                disk.append(self.source.signatures(kind))  # type: ignore[arg-type]
                touched.append(None)
            else:
                files = dict(seen[1 + number])
                for name, signature in changed_now.items():
                    if signature is None:
                        files.pop(name, None)
                    else:
                        files[name] = signature
                disk.append(files)
                touched.append(set(changed_now))
        # A process's first look (a command, a new worker): every file was scanned.
        digest = _files_digest(disk[0], disk[1]) if seen is None else None
        if seen is not None and seen[0] == generation:
            known = [seen[1], seen[2]]
        elif digest is not None and in_step == f"{generation} {digest}":
            known = [disk[0], disk[1]]  # the index holds exactly these files: nothing to compare
            touched = [set(), set()]
        else:
            touched = [None, None]
            connection.execute("BEGIN")  # the signatures and the generation from one snapshot
            try:
                generation, in_step = self._meta(connection)
                known = [{name: (m, s, i) for name, m, s, i in connection.execute(
                    f"SELECT name, mtime_ns, size, ino FROM {table}")} for table in ("records", "histories")]
            finally:
                connection.execute("COMMIT")
        changes = []
        for files, before, names in zip(disk, known, touched):
            candidates = files.keys() | before.keys() if names is None else names
            changes.append(({name: files[name] for name in candidates if name in files and before.get(name) != files[name]},
                            [name for name in candidates if name in before and name not in files]))
        (changed, gone), (changed_histories, gone_histories) = changes
        for name in changed_histories:  # a correction (a new version) is written with a history event
            if name in disk[0] and name not in changed:
                changed[name] = disk[0][name]
        changing = bool(changed or gone or changed_histories or gone_histories)
        if changing or (digest is not None and in_step != f"{generation} {digest}"):
            records = self._read_records(changed)
            history_rows = self._read_histories(changed_histories)
            connection.execute("BEGIN IMMEDIATE")
            try:
                # Another writer since the snapshot: the index may now hold more than the
                # files scanned, so the digest is not kept (the next process compares again).
                unchanged = self._meta(connection)[0] == generation
                if changing:
                    self._write(connection, records, gone, history_rows, gone_histories)
                if unchanged and digest is not None:
                    _note_in_step(connection, digest)
                generation = self._meta(connection)[0]
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            if gone or gone_histories:
                self.wipe_log()
        with _seen_lock:
            _seen[self.path] = (generation, disk[0], disk[1])
        self._generation = generation
        self._synced = True

    def wipe_log(self) -> None:
        """After rows were dropped (a purged dossier): secure_delete zeroed them in the pages,
        but the write-ahead log still holds earlier copies of those pages; a TRUNCATE
        checkpoint copies the pages into the file and empties the log. A reader in the
        middle of a query can hold it back: the next sync that drops rows, or the mailer's
        next upkeep (index_upkeep.py), empties it."""
        connection = self._connection(build=False)
        if connection is None:
            return
        busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            log.info("review index: its write-ahead log is still in use; emptied at a later sync")

    @staticmethod
    def _meta(connection: sqlite3.Connection) -> tuple[str, str | None]:
        """(generation, in_step) of the index."""
        meta = dict(connection.execute("SELECT key, value FROM meta WHERE key IN ('generation', ?)", (IN_STEP,)))
        return meta["generation"], meta.get(IN_STEP)

    def _db(self) -> sqlite3.Connection:
        if not self._synced:
            try:
                self.sync()
            except sqlite3.OperationalError:
                raise
            except sqlite3.DatabaseError as error:  # a damaged file: derived data, so rebuild it
                log.warning("review index damaged (%s): rebuilt from the records", error)
                self._forget_connection()
                with _build_lock(self.path):
                    self._build()
                self.sync()
        return self._connection()

    def _forget_connection(self) -> None:
        sqlite_files.forget(self.path)

    # --- writers' updates --------------------------------------------------------------------

    def note_record(self, record: dict[str, Any], path: str) -> None:
        """A record was just written: index it from memory (no re-read), if the index exists."""
        if self._connection(build=False) is None:
            return
        entry = Entry(record, path)
        if self.validator is not None:
            entry.problems = self.validator(record)
        self._apply([_indexed_file(record["reference"], _signature(os.stat(path)), entry, None)], [], [], [])

    def note_history(self, reference: str, status: str) -> None:
        """A history file was just rewritten: record its status, if the index exists."""
        path = os.path.join(self.data_dir, REVIEWS_DIR, reference + RECORD_SUFFIX)
        record_file = os.path.join(self.data_dir, SUBMISSIONS_DIR, reference + RECORD_SUFFIX)
        try:  # its event may come with a new version of the answers (dossier.py): read the newest
            records = self._read_records({reference: _signature(os.stat(record_file))})
        except FileNotFoundError:
            records = []
        self._apply(records, [], [[reference, *_signature(os.stat(path)), status]], [])

    def _apply(self, records, gone, histories, gone_histories) -> None:
        connection = self._connection(build=False)
        if connection is None:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            self._write(connection, records, gone, histories, gone_histories)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    # --- reading ------------------------------------------------------------------------------

    def _entries(self, rows: list[tuple[str, ...]]) -> list[Entry]:
        """Entries, in order, from (name, status, *duplicate keys) rows (KEYS_SELECTED): summaries and duplicates."""
        connection = self._connection()
        details: dict[str, tuple[str, str]] = {}
        others: dict[tuple[str, str], list[str]] = {}
        names = [row[0] for row in rows]
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            details.update((name, (summary, problems)) for name, summary, problems in connection.execute(
                f"SELECT name, summary, problems FROM details WHERE name IN ({', '.join('?' * len(chunk))})", chunk))
        for place, (kind, column) in enumerate(KEY_COLUMNS.items(), start=2):
            keys = sorted({row[place] for row in rows if row[place]})
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                query = (f"SELECT {column}, name FROM records WHERE error IS NULL AND {column} IN "
                         f"(SELECT {column} FROM records WHERE {column} IN ({', '.join('?' * len(chunk))}) "
                         f"AND error IS NULL GROUP BY {column} HAVING COUNT(*) > 1)")
                for key, name in connection.execute(query, chunk):
                    others.setdefault((kind, key), []).append(name)
        folder = os.path.join(self.data_dir, SUBMISSIONS_DIR)
        entries = []
        for name, status, *keys in rows:
            pairs = [(other, kind) for kind, key in zip(KEY_COLUMNS, keys)
                     for other in others.get((kind, key), ()) if other != name]
            summary, problems = details[name]
            entries.append(Entry(json.loads(summary), os.path.join(folder, name + RECORD_SUFFIX),
                                 status=status, duplicates=sorted(pairs), problems=json.loads(problems),
                                 summary_only=True, where=self.store))
        return entries

    def select(self, selection: Selection, offset: int = 0, limit: int | None = None) -> list[Entry]:
        """The entries of a selection, sorted, from `offset` (at most `limit`)."""
        where, params = selection.where()
        query = (f"SELECT r.name, COALESCE(h.status, 'recu'), {KEYS_SELECTED} "
                 f"{FROM} WHERE {where} ORDER BY {selection.order()}")
        if limit is not None:
            query += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return self._entries(self._db().execute(query, params).fetchall())

    def listing(self, selection: Selection) -> list[ListRow]:
        """The rows of a selection as `list` prints them, sorted: from the `listed` table, with the
        status and the duplicates worked out by the query (no summary decoded, no date formatted)."""
        where, params = selection.where()
        shared = ", ".join(SHARED.format(key=column) for column in KEY_COLUMNS.values())
        query = (f"SELECT r.name, l.received, l.organisation, l.thematiques, l.departement, COALESCE(h.status, 'recu'), "
                 f"l.flags, l.invalid, l.version, {shared} "
                 f"{FROM} JOIN listed l ON l.name = r.name WHERE {where} ORDER BY {selection.order()}")
        return [ListRow(name, received, organisation, themes.split(SEPARATOR) if themes else [], departement, status,
                        (flags.split(SEPARATOR) if flags else [])
                        + [DUPLICATE_FLAGS[kind] for kind, same in zip(KEY_COLUMNS, sames) if same]
                        + [INVALID_FLAG] * invalid, version)
                for name, received, organisation, themes, departement, status, flags, invalid, version, *sames
                in self._db().execute(query, params)]

    @per_generation
    def count(self, selection: Selection) -> int:
        where, params = selection.where()
        return self._db().execute(f"SELECT COUNT(*) {FROM} WHERE {where}", params).fetchone()[0]

    def entry(self, reference: str) -> Entry | None:
        """One readable record's entry (summary), or None."""
        rows = self._db().execute(
            f"SELECT r.name, COALESCE(h.status, 'recu'), {KEYS_SELECTED} "
            f"{FROM} WHERE r.name = ? AND r.error IS NULL", (reference,)).fetchall()
        return self._entries(rows)[0] if rows else None

    def neighbours(self, selection: Selection, reference: str) -> tuple[str | None, str | None, int, int]:
        """(previous reference, next reference, position from 1 (0: not in it), size) in a selection."""
        where, params = selection.where()
        names = [name for (name,) in self._db().execute(
            f"SELECT r.name {FROM} WHERE {where} ORDER BY {selection.order()}", params)]
        try:
            position = names.index(reference)
        except ValueError:
            return None, None, 0, len(names)
        return (names[position - 1] if position else None,
                names[position + 1] if position + 1 < len(names) else None, position + 1, len(names))

    @per_generation
    def status_counts(self, selection: Selection) -> Counter:
        """How many of a selection are in each status."""
        where, params = selection.where()
        return Counter(dict(self._db().execute(
            f"SELECT COALESCE(h.status, 'recu'), COUNT(*) {FROM} WHERE {where} GROUP BY 1", params)))

    @per_generation
    def count_by(self, selection: Selection = Selection()) -> dict[str, Counter]:
        """Counts by thématique, département, type, ISO week, day and status of a selection."""
        where, params = selection.where()
        db = self._db()
        chosen = f"SELECT r.name {FROM} WHERE {where}"

        def grouped(sql: str) -> Counter:
            return Counter({key: count for key, count in db.execute(sql, params)})

        counts = {
            "thematique": grouped(f"SELECT code, COUNT(*) FROM themes WHERE name IN ({chosen}) GROUP BY code"),
            "departement": grouped(f"SELECT COALESCE(NULLIF(r.departement, ''), 'inconnu'), COUNT(*) {FROM} "
                                   f"WHERE {where} GROUP BY 1"),
            "type_structure": grouped(f"SELECT COALESCE(NULLIF(r.type_structure, ''), 'inconnu'), COUNT(*) {FROM} "
                                      f"WHERE {where} GROUP BY 1"),
            "jour": grouped(f"SELECT r.received_day, COUNT(*) {FROM} WHERE {where} GROUP BY 1"),
            "statut": grouped(f"SELECT COALESCE(h.status, 'recu'), COUNT(*) {FROM} WHERE {where} GROUP BY 1"),
        }
        weeks: Counter = Counter()
        for day, count in counts["jour"].items():
            year, week, _weekday = datetime.fromisoformat(day).isocalendar()
            weeks[f"{year}-S{week:02d}"] += count
        counts["semaine"] = weeks
        return counts

    @per_generation
    def departements(self) -> list[tuple[str, str]]:
        """(code, name) of every département that has a record, by code."""
        return list(self._db().execute(
            "SELECT departement, MAX(departement_name) FROM records WHERE error IS NULL AND departement <> '' "
            "GROUP BY departement ORDER BY departement"))

    @per_generation
    def total(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM records WHERE error IS NULL").fetchone()[0]

    @per_generation
    def warnings(self) -> list[str]:
        """Every file a reviewer must look at by hand, named, in French (as `Catalog.warnings`)."""
        return self.unreadable() + [f"{entry.reference}.yaml : {'; '.join(entry.problems)} (ne valide plus le formulaire)"
                                    for entry in self.select(Selection(flag=INVALID_FLAG, sort="reference"))]

    @per_generation
    def unreadable(self) -> list[str]:
        """Unreadable records and histories, named, in French."""
        db = self._db()
        lines = [error for (error,) in db.execute("SELECT error FROM records WHERE error IS NOT NULL ORDER BY name")]
        lines += [f"{REVIEWS_DIR}/{name}.yaml : historique des décisions illisible."
                  for (name,) in db.execute("SELECT h.name FROM histories h JOIN records r ON r.name = h.name "
                                            "WHERE h.status = ? AND r.error IS NULL ORDER BY h.name",
                                            (UNREADABLE_HISTORY,))]
        return lines

    def references_with_email_key(self, key: str) -> list[str]:
        """The references whose newest contact e-mail has this key (addresses.address_key), in order."""
        return [name for (name,) in self._db().execute(
            "SELECT name FROM records WHERE email_key = ? ORDER BY name", (key,))]

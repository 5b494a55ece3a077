"""Moving data between the two stores: `migrate-store --from DIR` (a data folder into an empty
PostgreSQL store) and `dump DIR` (any store written out as a data folder: an archive or a
backup a person can read, that the reviewers' commands read with COLLECTOR_DATA_DIR=DIR).

Both carry the records, submission ids and counter, each dossier's review history and
corrected versions (their YAML documents byte for byte), and the mails; both verify what
they wrote, by counts and by the sha256 of every document, and name what they cannot carry
instead of dropping it.

The mails go both ways (outbox_transfer.py): migrate-store loads the folder's outbox into
PostgreSQL's in the same transaction (waiting, being sent, sent, refused, and the names only
remembered), so that no mail is sent again and none waiting is lost; dump writes them back.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from .. import dossier, idempotency, records, sequence, statuses
from ..durable import write_new_file
from ..link_requests import REQUESTS_DIR
from .base import Store, TransferRefused
from .folder import FolderStore
from .outbox_transfer import folder_messages, write_messages

# What a data folder may hold that the PostgreSQL store does not keep yet: migrate-store
# refuses such a folder rather than leave it behind without a word.
NOT_CARRIED = {REQUESTS_DIR: "demandes de lien de dossier en attente : laissez le mailer les traiter"}


@dataclass(frozen=True)
class Summary:
    records: int
    submission_ids: int
    last_number: int
    mails: int = 0  # messages carried (every name ever queued)
    waiting_mails: int = 0  # … of which not sent yet
    histories: int = 0
    versions: int = 0
    skipped_ids: int = 0  # ids/ links of the data folder pointing at no dossier, not carried


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _not_carried(data_dir: str) -> list[str]:
    found = []
    for folder, what in NOT_CARRIED.items():
        path = os.path.join(data_dir, folder)
        if os.path.isdir(path) and os.listdir(path):
            found.append(f"{folder}/ ({what})")
    return found


def migrate(source_dir: str, target: Store, prefix: str) -> Summary:
    """Copy a data folder's records, submission ids and counter into an empty PostgreSQL store."""
    if not os.path.isdir(os.path.join(source_dir, records.SUBMISSIONS_DIR)):
        raise TransferRefused(f"{source_dir} n'est pas un dossier de données du collecteur (pas de dossier "
                              "submissions/) : rien n'a été copié.")
    if left := _not_carried(source_dir):
        raise TransferRefused("ce dossier de données contient ce que la base PostgreSQL ne garde pas encore : "
                              + ", ".join(left) + ". Rien n'a été copié ; gardez le dossier de données comme "
                              "stockage tant que ces données existent.")
    import_contents = getattr(target, "import_contents", None)
    if import_contents is None:
        raise TransferRefused("COLLECTOR_DATABASE_URL n'est pas définie : migrate-store copie un dossier de données "
                              "vers PostgreSQL. Définissez-la (postgresql://…), lancez « flask --app collector "
                              "db-upgrade », puis relancez.")
    documents, unreadable = [], []
    for path in records.iter_record_paths(source_dir):
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            documents.append((data, records.read_record(path)))
        except records.RecordError as error:
            unreadable.append(str(error))
    if unreadable:
        raise TransferRefused("des dossiers sont illisibles ; corrigez-les (flask --app collector check) : "
                              + " ; ".join(unreadable) + " Rien n'a été copié.")
    histories, versions = _life_after_receipt(FolderStore(source_dir))
    links, skipped = _carried_links(source_dir, {record["reference"] for _data, record in documents})
    last_number = sequence.last_number(source_dir, prefix)
    messages = folder_messages(source_dir)
    import_contents(documents, links, last_number, histories, versions, messages)
    return Summary(len(documents), len(links), last_number, len(messages),
                   sum(1 for message in messages if message.state == "waiting"), len(histories), len(versions),
                   skipped)


def _carried_links(source_dir: str, references: set[str]) -> tuple[list[tuple[str, str]], int]:
    """The ids/ links to carry, each as (submission id, the reference of its dossier): the form's,
    and the corrections' and replies' (an older folder links a correction to `<REF>-V<N>`: carried
    for REF, which is what the store claims now); and how many point at no dossier (skipped)."""
    carried, skipped = [], 0
    for submission_id, target in sorted(idempotency.links(source_dir)):
        reference = idempotency.dossier_of(target)
        if reference in references:
            carried.append((submission_id, reference))
        else:
            skipped += 1
    return carried, skipped


def _life_after_receipt(source: FolderStore) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, int, bytes]]]:
    """Every history (reference, current status, document) and version (reference, number,
    document) of a data folder, each checked readable; TransferRefused (French) naming those that are not."""
    histories, versions, unreadable = [], [], []
    for reference in source.histories.references():
        try:
            status = statuses.read_history(source, reference)["status"]
        except statuses.StatusError as error:
            unreadable.append(str(error))
            continue
        histories.append((reference, status, source.histories.text(reference) or b""))
    for reference in _corrected_references(source.data_dir):
        for number in source.versions.numbers(reference):
            try:
                source.versions.read(reference, number)
            except records.RecordError as error:
                unreadable.append(f"{dossier.VERSIONS_DIR}/{reference}/{error}")
                continue
            versions.append((reference, number, source.versions.text(reference, number)))
    if unreadable:
        raise TransferRefused("des historiques ou des versions corrigées sont illisibles ; corrigez-les : "
                              + " ; ".join(unreadable) + " Rien n'a été copié.")
    return histories, versions


def _corrected_references(data_dir: str) -> list[str]:
    folder = os.path.join(data_dir, dossier.VERSIONS_DIR)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def dump(source: Store, target_dir: str, prefix: str) -> Summary:
    """Write a store out as a data folder in `target_dir` (new or empty), then check it."""
    if os.path.exists(target_dir) and os.listdir(target_dir):
        raise TransferRefused(f"{target_dir} n'est pas vide : choisissez un dossier nouveau ou vide "
                              "(dump n'écrase jamais rien).")
    os.makedirs(os.path.join(target_dir, records.SUBMISSIONS_DIR), exist_ok=True)
    references = source.references()
    digests = {}
    for reference in references:
        data = source.record_text(reference)
        digests[reference] = _digest(data)
        write_new_file(os.path.join(target_dir, records.SUBMISSIONS_DIR), reference + records.RECORD_SUFFIX, data)
    links = source.submission_links()
    for submission_id, reference in links:
        idempotency.claim(target_dir, submission_id, reference)
    last_number = source.last_reference_number(prefix)
    sequence.set_counter(target_dir, last_number)
    mails, waiting = write_messages(source.outbox.messages(), target_dir)
    written = FolderStore(target_dir)
    life = _dump_life_after_receipt(source, written, references)
    if ({reference: _digest(written.record_text(reference)) for reference in written.references()} != digests
            or written.submission_links() != sorted(links) or _life_digests(written, references) != life):
        raise TransferRefused(f"la copie relue dans {target_dir} ne correspond pas au stockage (nombre ou empreinte "
                              "des dossiers, des historiques ou des versions) : ne vous y fiez pas.")
    histories = sum(1 for key in life if key[1] == 0)
    return Summary(len(references), len(links), last_number, mails, waiting, histories, len(life) - histories)


def _dump_life_after_receipt(source: Store, target: FolderStore, references: list[str]) -> dict[tuple[str, int], str]:
    """Write each history and version of `source` into the data folder `target`, byte for byte;
    the digest of each, keyed (reference, 0) for a history and (reference, N) for version N."""
    digests = {}
    for reference in source.histories.references():
        data = source.histories.text(reference)
        if data is not None:
            digests[(reference, 0)] = _digest(data)
            write_new_file(os.path.join(target.data_dir, statuses.REVIEWS_DIR), reference + ".yaml", data)
    for reference in references:
        for number in source.versions.numbers(reference):
            data = source.versions.text(reference, number)
            digests[(reference, number)] = _digest(data)
            target.versions.write(reference, number, data)
    return digests


def _life_digests(store: Store, references: list[str]) -> dict[tuple[str, int], str]:
    """The digests of what a store holds, keyed as _dump_life_after_receipt's."""
    digests = {(reference, 0): _digest(store.histories.text(reference) or b"") for reference in store.histories.references()}
    for reference in references:
        for number in store.versions.numbers(reference):
            digests[(reference, number)] = _digest(store.versions.text(reference, number))
    return digests

"""Every event the dossier's life writes is a kind a history may hold (statuses.EVENT_KINDS)."""

from collector import dossier, statuses


def test_every_dossier_event_kind_is_accepted_by_the_history_reader():
    assert dossier.PORTEUR_KINDS <= statuses.EVENT_KINDS
    assert set(dossier.EVENT_LABELS) <= statuses.EVENT_KINDS


def test_a_history_event_of_an_unknown_kind_is_still_refused(data_dir):
    import os

    import pytest

    os.makedirs(os.path.join(data_dir, "reviews"))
    with open(os.path.join(data_dir, "reviews", "AMI-2021-0001.yaml"), "w", encoding="utf-8") as handle:
        handle.write("reference: AMI-2021-0001\nstatus: recu\nevents:\n- {at: '2021-05-01T10:00:00+02:00', by: x, kind: farce}\n")
    with pytest.raises(statuses.StatusError, match="type inconnu"):
        statuses.read_history(data_dir, "AMI-2021-0001")

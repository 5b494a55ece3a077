"""The names of the data folder's outbox folders and of the two mails every record calls for.

Read by the mail package (which writes those folders), by the folder stores, and by the
reference counter (sequence.py: every file named after a reference), which must not load mail.
"""

OUTBOX, SENDING, SENT, FAILED = "outbox", "sending", "sent", "failed"
QUEUED = "mail-queued"  # one empty file per message ever queued (the outbox's memory)
KINDS = ("accuse", "notification")

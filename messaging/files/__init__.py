"""Files: attachments to messages.

An upload is stored first (``services.uploads``), unsent, owned by its
uploader and bound to one conversation; a send then claims it for its
message (``services.attach``) in the send's transaction, so a message with
files is acknowledged only once its files are stored. The bytes' type is
sniffed (``sniffing``), never taken from the name or the browser; images are
re-encoded (``images``); documents get previews from a Celery task
(``previews``, ``tasks``). Every fetch goes through ``serving`` after
``messaging.policy`` says yes, and is audited.
"""

"""Writes of the files package: uploads, claiming by a send, previews, purge."""

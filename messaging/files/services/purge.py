"""Removing stored files nothing needs any more."""


def purge_expired() -> int:
    return 0

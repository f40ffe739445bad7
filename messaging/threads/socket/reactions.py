"""Socket commands for reactions, pins and saved messages."""

COMMANDS: dict = {}

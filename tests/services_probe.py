"""Exit 0 when PostgreSQL and Redis answer on their usual local ports."""

import socket
import sys


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if reachable("127.0.0.1", 5432) and reachable("127.0.0.1", 6379) else 1)

"""Server processes for the benchmark, and what they cost (CPU, memory)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu(stat: str | None = None) -> dict[str, float]:
    """The whole machine's CPU seconds so far, every core together, from
    the first line of ``/proc/stat`` (or ``stat``, its text): ``busy``
    (user, nice, system, irq, softirq: every process, whoever runs it, and
    the kernel's loopback networking, which a process's own times need not
    carry), ``idle`` (iowait included) and ``steal`` (taken by the host for
    other machines)."""
    if stat is None:
        with open("/proc/stat") as f:
            stat = f.readline()
    name, *ticks = stat.split()
    assert name == "cpu", "the first line of /proc/stat sums every core"
    user, nice, system, idle, iowait, irq, softirq, steal = (int(t) for t in ticks[:8])
    return {
        "busy": (user + nice + system + irq + softirq) / CLOCK_TICKS,
        "idle": (idle + iowait) / CLOCK_TICKS,
        "steal": steal / CLOCK_TICKS,
    }


def machine_cores_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Cores busy and stolen between two ``machine_cpu`` readings, out of
    the cores the machine has (busy + idle + steal over the interval)."""
    spent = {part: after[part] - before[part] for part in before}
    total = sum(spent.values())
    if total <= 0:
        return {"busy_cores": 0.0, "steal_cores": 0.0}
    cores = os.cpu_count() or 1
    return {
        "busy_cores": round(cores * spent["busy"] / total, 2),
        "steal_cores": round(cores * spent["steal"] / total, 2),
    }


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def pids_named(name: str) -> list[int]:
    """Processes whose command name is ``name`` (for read-only CPU accounting
    of the shared PostgreSQL and Redis)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def with_descendants(pids) -> list[int]:
    """``pids`` and every process under them (a server that runs its
    workers as child processes, as granian does, is measured whole)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def total_cpu(pids) -> float:
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = cpu_seconds(pid)
        except OSError:
            continue
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two ``cpu_by_pid`` readings; a process that started
    in between counts in full, one that ended is missed."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def service_pids() -> list[int]:
    return pids_named("redis-server") + pids_named("postgres")


class Server:
    """One server process on 127.0.0.1:<port>, logging to a file."""

    def __init__(
        self, argv: list[str], *, env: dict, port: int, log_dir: Path, name: str, cwd: Path = ROOT
    ):
        self.port = port
        self.name = name
        self.log_path = log_dir / f"{name}-{port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_listening(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen within {timeout}s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if not self._log.closed:
            self._log.close()


def daphne_argv(port: int, app: str) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]


def parley_argv(port: int, app: str, server: str | None = None) -> list[str]:
    """Parley's own entry point (the Procfile's ``web``) on ``server``
    (uvicorn, daphne or granian, configured as in production), or on the
    checkout's own default when None."""
    argv = ["--bind", "127.0.0.1", "--port", str(port), app]
    if server:
        argv = ["--server", server, *argv]
    return [sys.executable, "-m", "config.server", *argv]


def limit_argv(port: int, redis_url: str, prefix: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.baselines.limit",
        "--port",
        str(port),
        "--redis",
        redis_url,
        "--prefix",
        prefix,
    ]


def wait_quiet(pids, *, busy: float = 0.2, limit: float = 30.0) -> float:
    """Wait until ``pids`` together use less than ``busy`` of a core over a
    second (a server still working off an overload), at most ``limit``
    seconds; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = total_cpu(pids)
        time.sleep(1.0)
        if total_cpu(pids) - before < busy:
            break
    return round(time.monotonic() - started, 1)


class PeakRss:
    """The highest summed RSS of ``pids`` while the ``with`` block runs,
    sampled every ``every`` seconds from a thread (a stalled reader's
    buffer may be freed the moment its socket closes, before the end)."""

    def __init__(self, pids, every: float = 0.25):
        import threading

        self.pids = list(pids)
        self.every = every
        self.start = self.peak = self.end = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _total(self) -> int:
        total = 0
        for pid in self.pids:
            try:
                total += rss_bytes(pid)
            except OSError:
                continue
        return total

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._total())

    def __enter__(self) -> "PeakRss":
        self.start = self.peak = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.end = self._total()
        self.peak = max(self.peak, self.end)

"""The layer rules of docs/architecture.md, enforced.

* The import contracts in pyproject.toml (``[tool.importlinter]``) hold: the
  same check ``make lint`` runs, so ``make test`` fails on a forbidden import
  too.
* Only ``messaging/events.py`` reaches the channel layer (``group_send``,
  ``get_channel_layer``, ``channels.layers``); the socket consumer may use its
  own ``self.channel_layer`` for group membership, nothing more.
* ORM writes happen in services only (and migrations, management commands
  and tests), apart from the commented allow-list below.
* Services, selectors and the policy never touch request handling.

import-linter sees imports only; the other rules read the syntax tree of each
module (calls and attribute names, not types), so each checker is also tested
on small snippets: a rule that cannot fail proves nothing.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "config", "messaging", "notifications")


def project_modules() -> Iterator[tuple[str, str]]:
    """``(path relative to the repository, source)`` of every application
    module; tests, bench and migrations excluded."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            yield relative, path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str  # qualified name of the enclosing function or class; "" at module level
    what: str

    def __str__(self) -> str:
        where = f" in {self.function}" if self.function else ""
        return f"{self.path}:{self.line}{where}: {self.what}"


@dataclass(frozen=True)
class Allowed:
    """An exception to a rule: ``what`` (a method or name) in ``function``
    (qualified; "" for module level) of ``path``."""

    path: str
    function: str
    what: str


def _allowed(finding: Finding, allow_list: list[Allowed]) -> bool:
    return any(
        (a.path, a.function, a.what) == (finding.path, finding.function, finding.what)
        for a in allow_list
    )


def _stale(allow_list: list[Allowed], findings: list[Finding]) -> list[Allowed]:
    """Exceptions that no longer match anything."""
    found = {(f.path, f.function, f.what) for f in findings}
    return [a for a in allow_list if (a.path, a.function, a.what) not in found]


def _walk_with_scope(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Every node with the qualified name of its enclosing function/class."""

    def visit(node: ast.AST, scope: str) -> Iterator[tuple[ast.AST, str]]:
        for child in ast.iter_child_nodes(node):
            yield child, scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from visit(child, f"{scope}.{child.name}" if scope else child.name)
            else:
                yield from visit(child, scope)

    yield from visit(tree, "")


def _imported(node: ast.AST) -> list[str]:
    """The modules an import statement names (``from a import b``: ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def _within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


# --- Import contracts (import-linter) --------------------------------------------------


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert found, "lint-imports is missing: install the dev extra (pip install -e '.[dev]')"
    return found


def _run_lint_imports(cwd: Path, *config: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo", *config],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_hold():
    result = _run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _contracts() -> list[dict]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def _concrete(expression: str) -> str:
    """A module name an expression matches: ``**.services`` -> ``notifications.services``."""
    return expression.replace("**", "notifications").replace("*", "notifications")


def test_import_contracts_catch_a_forbidden_import(tmp_path):
    """Run the project's own (forbidden-import) contracts over a small tree
    that breaks each of them once: every contract must report it."""
    contracts = [c for c in _contracts() if c["type"] == "forbidden"]
    assert contracts
    modules = set(APPS)
    for contract in contracts:
        modules.update(_concrete(m) for m in contract["source_modules"])
        modules.update(_concrete(m) for m in contract["forbidden_modules"])
    violations: dict[str, set[str]] = {}
    for contract in contracts:
        source = _concrete(contract["source_modules"][0])
        violations.setdefault(source, set()).add(_concrete(contract["forbidden_modules"][0]))
    for module in modules:
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            package = tmp_path.joinpath(*parts[:depth])
            package.mkdir(exist_ok=True)
            (package / "__init__.py").touch()
        imports = "".join(f"import {name}\n" for name in sorted(violations.get(module, ())))
        tmp_path.joinpath(*parts, "__init__.py").write_text(imports)

    config = tmp_path / "contracts.toml"
    lines = ["[tool.importlinter]", f"root_packages = {json.dumps(list(APPS))}"]
    for contract in contracts:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    config.write_text("\n".join(lines) + "\n")

    result = _run_lint_imports(tmp_path, str(config))
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    for contract in contracts:
        assert f"{contract['name']} BROKEN" in report, report


# --- The channel layer ----------------------------------------------------------------

EVENTS = "messaging/events.py"
CONSUMER = "messaging/realtime/consumers.py"
# What the consumer may do with its own channel layer: join and leave groups.
GROUP_MEMBERSHIP = {"group_add", "group_discard"}

# (path, enclosing function, name) that may reach the channel layer outside
# messaging/events.py.
CHANNEL_LAYER_ALLOWED = [
    # The channel layer itself: its group_send wraps the pub/sub layer's to
    # turn a Redis outage into a logged, degraded state (events stay a hint).
    Allowed("messaging/realtime/layer.py", "ResilientPubSubLoopLayer.group_send", "group_send"),
]


def channel_layer_uses(path: str, source: str) -> list[Finding]:
    """Every way ``path`` reaches the channel layer that only events.py may use."""
    if path == EVENTS:
        return []
    found = []
    for node, scope in _walk_with_scope(ast.parse(source)):
        name = None
        if any(_within(n, "channels.layers") for n in _imported(node)):
            name = "channels.layers"
        elif isinstance(node, ast.Name) and node.id == "get_channel_layer":
            name = "get_channel_layer"
        elif isinstance(node, ast.Attribute):
            if node.attr in ("group_send", "get_channel_layer"):
                name = node.attr
            elif (
                isinstance(node.value, ast.Attribute)
                and node.value.attr == "channel_layer"
                and not (path == CONSUMER and node.attr in GROUP_MEMBERSHIP)
            ):
                name = f"channel_layer.{node.attr}"
            elif node.attr == "channel_layer" and path != CONSUMER:
                name = "channel_layer"
        if name is not None:
            found.append(Finding(path, node.lineno, scope, name))
    return found


def test_only_events_reaches_the_channel_layer():
    found = [
        f
        for path, source in project_modules()
        for f in channel_layer_uses(path, source)
        if not _allowed(f, CHANNEL_LAYER_ALLOWED)
    ]
    assert not found, (
        "Publish through messaging.events (publish, apublish, publish_on_commit):\n"
        + "\n".join(map(str, found))
    )


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("messaging/views.py", "from channels.layers import get_channel_layer\n", 1),
        ("messaging/views.py", "import channels.layers\n", 1),
        ("messaging/views.py", "from channels import layers\n", 1),
        ("messaging/tasks.py", "async def f(layer):\n    await layer.group_send('g', {})\n", 1),
        ("messaging/services/x.py", "def f():\n    return get_channel_layer()\n", 1),
        (CONSUMER, "async def f(self):\n    await self.channel_layer.group_send('g', {})\n", 1),
        (CONSUMER, "async def f(self):\n    await self.channel_layer.send('c', {})\n", 1),
        (CONSUMER, "async def f(self):\n    await self.channel_layer.group_add('g', 'c')\n", 0),
        (CONSUMER, "async def f(self):\n    await self.channel_layer.group_discard('g', 'c')\n", 0),
        ("messaging/realtime/x.py", "def f(consumer):\n    return consumer.channel_layer\n", 1),
        (EVENTS, "from channels.layers import get_channel_layer\nget_channel_layer()\n", 0),
    ],
)
def test_channel_layer_rule_flags(path, source, expected):
    assert len(channel_layer_uses(path, source)) == expected


# --- ORM writes -----------------------------------------------------------------------

WRITE_METHODS = {
    "save",
    "create",
    "update",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
    "create_user",
    "create_superuser",
}
# Receivers whose write-named methods are not the ORM, by a word in their
# name: the cache, sessions (the consumer saves its own), Redis clients and
# pipelines, the realtime stores and backends (Redis or in-process memory),
# Django's file storages (``messaging.files.storage``).
NON_ORM_RECEIVER_WORDS = (
    "cache",
    "session",
    "redis",
    "client",
    "pipe",
    "store",
    "backend",
    "storage",
)
# Values that are plain containers, whatever they are later called with.
CONTAINER_FACTORIES = {
    "set",
    "dict",
    "list",
    "frozenset",
    "defaultdict",
    "Counter",
    "OrderedDict",
    "deque",
    "vars",
    "globals",
    "locals",
}
CONTAINER_NODES = (ast.Set, ast.Dict, ast.List, ast.SetComp, ast.DictComp, ast.ListComp)

# (path, enclosing function, method) that may write outside services.
ORM_WRITES_ALLOWED = [
    # Pillow's Image.save, encoding a rendered page as PNG; no database.
    Allowed("messaging/files/rendering.py", "_draw", "save"),
    # The audit helper that every service calls to write its audit row
    # (inside the service's transaction, or after its rollback for refusals).
    Allowed("messaging/audit.py", "record", "create"),
    # Its counter of repeats (refusals, downloads): the first occurrence in a
    # window makes the count, repeats raise it (``record_repeated``).
    Allowed("messaging/audit.py", "record_repeated", "create"),
    Allowed("messaging/audit.py", "record_repeated", "update"),
    # Pillow writing an image into a buffer (the files package's one encoder).
    Allowed("messaging/files/images.py", "_encode", "save"),
    # The model manager's own creation path (Django's contract for a custom
    # user model), called by services, the seed and tests.
    Allowed("accounts/models.py", "UserManager.create_user", "save"),
    Allowed("accounts/models.py", "UserManager.create_superuser", "create_user"),
]


def may_write(path: str) -> bool:
    """Services, migrations and management commands (seed data) write."""
    parts = path.split("/")
    return (
        parts[-1] == "services.py"
        or "services" in parts[:-1]
        or "migrations" in parts
        or "management" in parts
    )


def _name_of(node: ast.AST) -> str:
    """The last name in a receiver: ``self.request.session`` -> ``session``,
    ``scope["session"]`` -> ``session``, ``get_redis()`` -> ``get_redis``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            return node.slice.value
        return _name_of(node.value)
    if isinstance(node, ast.Call):
        return _name_of(node.func)
    return ""


def _is_container(node: ast.AST | None) -> bool:
    if isinstance(node, CONTAINER_NODES):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "fromkeys":
            return True  # dict.fromkeys(...)
        return isinstance(func, ast.Name) and func.id in CONTAINER_FACTORIES
    return False


def orm_writes(path: str, source: str) -> list[Finding]:
    """Calls in ``path`` that look like ORM writes: by method name, receivers
    that are evidently containers, caches, sessions, Redis clients or realtime
    stores aside, and ``super().save()`` inside an override."""
    if may_write(path):
        return []
    tree = ast.parse(source)
    containers = set()  # names bound to plain containers anywhere in the module
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_container(node.value):
            containers.update(ast.unparse(target) for target in node.targets)
        elif isinstance(node, ast.AnnAssign) and _is_container(node.value):
            containers.add(ast.unparse(node.target))
    found = []
    for node, scope in _walk_with_scope(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITE_METHODS
        ):
            continue
        receiver = node.func.value
        if (
            _is_container(receiver)
            or ast.unparse(receiver) in containers
            or any(word in _name_of(receiver).lower() for word in NON_ORM_RECEIVER_WORDS)
            or (isinstance(receiver, ast.Call) and _name_of(receiver) == "super")
        ):
            continue
        found.append(Finding(path, node.lineno, scope, node.func.attr))
    return found


def test_orm_writes_only_in_services():
    found = [
        f
        for path, source in project_modules()
        for f in orm_writes(path, source)
        if not _allowed(f, ORM_WRITES_ALLOWED)
    ]
    assert not found, (
        "Write through a service (messaging.services, accounts.services, ...):\n"
        + "\n".join(f"{f}()" for f in found)
    )


def test_orm_write_allow_list_is_current():
    """A lasting exception that no longer matches anything goes from the list."""
    found = [f for path, source in project_modules() for f in orm_writes(path, source)]
    assert not _stale(ORM_WRITES_ALLOWED, found)


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("messaging/views.py", "def v():\n    Message.objects.create(content='x')\n", ["create"]),
        ("messaging/views.py", "def v(m):\n    m.save(update_fields=['content'])\n", ["save"]),
        (
            "messaging/admin.py",
            "def a(queryset):\n    queryset.update(archived_at=None)\n",
            ["update"],
        ),
        ("messaging/api/views.py", "def p(s):\n    s.save()\n", ["save"]),
        (
            "accounts/views.py",
            "def p(u):\n    User.objects.create_user(email=u)\n",
            ["create_user"],
        ),
        ("messaging/x.py", "def f():\n    T.objects.filter(a=1).delete()\n", ["delete"]),
        ("messaging/x.py", "def f(p):\n    p.objects.get_or_create(a=1)\n", ["get_or_create"]),
        ("messaging/x.py", "def f(rows):\n    M.objects.bulk_create(rows)\n", ["bulk_create"]),
        ("messaging/realtime/x.py", "def f(c):\n    c.members.create(user=c)\n", ["create"]),
        # Not the ORM:
        ("messaging/x.py", "def f(a):\n    seen = {a}\n    seen.update([a])\n", []),
        ("messaging/x.py", "def f(a):\n    d: dict = {}\n    d.update(a=1)\n", []),
        ("messaging/x.py", "def f(a):\n    d = dict.fromkeys(a)\n    d.update(a)\n", []),
        (
            "messaging/x.py",
            "class C:\n    def __init__(s):\n        s.m = {}\n"
            "    def f(s):\n        s.m.update(a=1)\n",
            [],
        ),
        ("config/settings.py", "vars().update({'A': 1})\n", []),
        ("messaging/x.py", "def f():\n    cache.delete('k')\n", []),
        ("messaging/realtime/x.py", "async def f(s):\n    await s.scope['session'].save()\n", []),
        ("messaging/realtime/x.py", "async def f():\n    await get_redis().delete('k')\n", []),
        ("messaging/realtime/x.py", "def f(u):\n    presence_store().delete(u, 'c')\n", []),
        # Where writes belong:
        ("messaging/services/x.py", "def f():\n    M.objects.create()\n", []),
        ("accounts/services.py", "def f(u):\n    u.save()\n", []),
        ("messaging/management/commands/seed.py", "def f():\n    M.objects.create()\n", []),
        ("messaging/migrations/0002_x.py", "def f(apps):\n    M.objects.update(a=1)\n", []),
    ],
)
def test_orm_write_rule_flags(path, source, expected):
    assert [f.what for f in orm_writes(path, source)] == expected


def test_orm_write_findings_name_their_function():
    source = "class V:\n    def post(self):\n        Token.objects.get_or_create(user=1)\n"
    assert [str(f) for f in orm_writes("messaging/api/views.py", source)] == [
        "messaging/api/views.py:3 in V.post: get_or_create"
    ]


# --- Request handling stays at the edge -----------------------------------------------

# Services, selectors and the policy take typed values and raise
# messaging.errors; responses, requests, consumers and flash messages belong
# to the views, API views and the consumer that call them.
EDGE_MODULES = (
    "django.http",
    "django.shortcuts",
    "django.contrib.messages",
    "rest_framework.response",
    "rest_framework.request",
    "rest_framework.views",
    "rest_framework.viewsets",
    "rest_framework.generics",
    "rest_framework.serializers",
    "channels.generic",
    "channels.consumer",
)


def is_core(path: str) -> bool:
    parts = path.split("/")
    return (
        parts[-1] in ("services.py", "selectors.py", "policy.py")
        or "services" in parts[:-1]
        or "policy" in parts[:-1]
    )


def edge_imports(path: str, source: str) -> list[Finding]:
    found = []
    for node, scope in _walk_with_scope(ast.parse(source)):
        for name in _imported(node):
            if any(_within(name, module) for module in EDGE_MODULES):
                found.append(Finding(path, node.lineno, scope, f"imports {name}"))
                break
    return found


def test_core_never_handles_requests():
    found = [
        f for path, source in project_modules() if is_core(path) for f in edge_imports(path, source)
    ]
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from django.http import Http404\n", 1),
        ("from django import http\n", 1),
        ("import django.shortcuts\n", 1),
        ("from rest_framework.response import Response\n", 1),
        ("from rest_framework import serializers\n", 1),
        ("from rest_framework.authtoken.models import Token\n", 0),
        ("from django.core.exceptions import ValidationError\n", 0),
    ],
)
def test_edge_import_rule_flags(source, expected):
    assert len(edge_imports("messaging/services/x.py", source)) == expected

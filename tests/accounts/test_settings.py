"""Settings profiles. ``PARLEY_PROFILE`` picks one explicitly: production
(the default) passes `check --deploy` and refuses to start without its
secrets and services or with DEBUG on; embedded runs on nothing but Python
unless a service URL switches one part to the real service.

Each test loads the settings in a child process with exactly the environment
it names."""

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "".join(
        secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)") for _ in range(60)
    ),
    "ALLOWED_HOSTS": "parley.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/parley",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
}

# Variables the settings read; the child gets only what each test gives it.
SETTINGS_VARIABLES = {
    "PARLEY_PROFILE",
    "PARLEY_VAR_DIR",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CHANNEL_LAYER_REDIS_URLS",
    "EMAIL_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "TEST_DATABASE_NAME",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "DJANGO_SETTINGS_MODULE",
    "PARLEY_TRUSTED_PROXIES",
    "PARLEY_LOGIN_FAILURE_LIMIT",
    "PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT",
    "PARLEY_LOGIN_LOCKOUT_MINUTES",
    "PARLEY_PUBLIC_API_SCHEMA",
}


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    return subprocess.run(
        argv,
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], env)


SUMMARY = """
import json
from django.conf import settings
print(json.dumps({
    "profile": settings.PARLEY_PROFILE,
    "debug": settings.DEBUG,
    "database": settings.DATABASES["default"]["ENGINE"],
    "database_name": str(settings.DATABASES["default"]["NAME"]),
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "celery_eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "media_storage": settings.STORAGES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "secret_key": settings.SECRET_KEY,
    "ssl_redirect": getattr(settings, "SECURE_SSL_REDIRECT", False),
}))
"""


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load ``config.settings`` in a child process with only ``env`` set."""
    return _run(
        [sys.executable, "-c", SUMMARY], {"DJANGO_SETTINGS_MODULE": "config.settings", **env}
    )


def summary(env: dict[str, str]) -> dict:
    result = load_settings(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("profile", [None, "production"], ids=["unset", "production"])
def test_production_profile_passes_check_deploy(profile):
    env = PRODUCTION if profile is None else {**PRODUCTION, "PARLEY_PROFILE": profile}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_wildcard_hosts():
    result = manage("check", env={**PRODUCTION, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_check_deploy_flags_a_weak_production_setup():
    """The check can fail: a short key and no HTTPS redirect are reported."""
    weak = {**PRODUCTION, "SECRET_KEY": "short", "SECURE_SSL_REDIRECT": "false"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=weak)
    assert result.returncode != 0
    assert "security.W009" in result.stderr and "security.W008" in result.stderr


def test_without_a_profile_or_environment_parley_refuses_to_start():
    """No environment means production, not a silent development server:
    the error names every missing variable and the way to run locally."""
    result = manage("check", env={})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "is missing SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL;" in message
    assert "PARLEY_PROFILE=embedded" in message


@pytest.mark.parametrize("missing", ["ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"])
def test_production_requires_its_services(missing):
    """No silent SQLite, in-memory channel layer or open host list."""
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = load_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert f"is missing {missing};" in message


@pytest.mark.parametrize("profile", [None, "production"], ids=["unset", "production"])
def test_production_refuses_debug(profile):
    env = {**PRODUCTION, "DEBUG": "true"}
    if profile:
        env["PARLEY_PROFILE"] = profile
    result = load_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DEBUG is for the embedded profile" in result.stderr
    # Off is what production runs with anyway.
    assert summary({**PRODUCTION, "DEBUG": "false"})["debug"] is False


@pytest.mark.parametrize("profile", ["staging", "Embedded", "dev"])
def test_an_unknown_profile_is_refused(profile):
    result = load_settings({**PRODUCTION, "PARLEY_PROFILE": profile})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"PARLEY_PROFILE must be 'production' (the default) or 'embedded', not {profile!r}" in (
        result.stderr
    )


def test_embedded_profile_with_nothing_else_runs_on_python_alone(tmp_path):
    found = summary({"PARLEY_PROFILE": "embedded", "PARLEY_VAR_DIR": str(tmp_path)})
    assert found == {
        "profile": "embedded",
        "debug": True,
        "database": "django.db.backends.sqlite3",
        "database_name": str(tmp_path / "parley.sqlite3"),
        "channel_layer": "channels.layers.InMemoryChannelLayer",
        "celery_eager": True,
        "media_storage": "django.core.files.storage.FileSystemStorage",
        "email": "django.core.mail.backends.console.EmailBackend",
        "secret_key": "parley-embedded-insecure-key-do-not-deploy",
        "ssl_redirect": False,
    }


def test_embedded_profile_switches_each_part_to_its_real_service(tmp_path):
    base = {"PARLEY_PROFILE": "embedded", "PARLEY_VAR_DIR": str(tmp_path)}
    on_postgres = summary({**base, "DATABASE_URL": PRODUCTION["DATABASE_URL"]})
    assert on_postgres["database"] == "django.db.backends.postgresql"
    assert on_postgres["database_name"] == "parley"
    # Only the database moved; DEBUG stays on for the embedded profile.
    assert on_postgres["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert on_postgres["debug"] is True and on_postgres["ssl_redirect"] is False

    on_both = summary(
        {**base, "DATABASE_URL": PRODUCTION["DATABASE_URL"], "REDIS_URL": PRODUCTION["REDIS_URL"]}
    )
    assert on_both["channel_layer"] == "messaging.realtime.layer.ResilientPubSubChannelLayer"
    assert on_both["celery_eager"] is False
    assert on_both["debug"] is True
    assert not (tmp_path / "parley.sqlite3").exists()


LAYER_HOSTS = """
from django.conf import settings
print([host["address"] for host in settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]])
print({(host["socket_timeout"], host["socket_connect_timeout"])
       for host in settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]})
"""


def test_the_channel_layer_is_sharded_over_the_servers_listed(tmp_path):
    """``CHANNEL_LAYER_REDIS_URLS`` lists the channel layer's Redis servers,
    each with the same timeouts; unset (or empty), ``REDIS_URL`` alone; set
    without ``REDIS_URL``, the settings refuse to start."""
    base = {
        "PARLEY_PROFILE": "embedded",
        "PARLEY_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": PRODUCTION["REDIS_URL"],
        "REDIS_SOCKET_TIMEOUT": "2",
        "REDIS_CONNECT_TIMEOUT": "2",
    }
    load = [sys.executable, "-c", "import django; django.setup()\n" + LAYER_HOSTS]

    alone = _run(load, base)
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.splitlines() == [f"['{PRODUCTION['REDIS_URL']}']", "{(2.0, 2.0)}"]
    assert _run(load, {**base, "CHANNEL_LAYER_REDIS_URLS": ""}).stdout == alone.stdout

    shards = "redis://events-1:6379/0, redis://events-2:6379/0"
    sharded = _run(load, {**base, "CHANNEL_LAYER_REDIS_URLS": shards, "REDIS_SOCKET_TIMEOUT": "3"})
    assert sharded.returncode == 0, sharded.stderr
    assert sharded.stdout.splitlines() == [
        "['redis://events-1:6379/0', 'redis://events-2:6379/0']",
        "{(3.0, 2.0)}",
    ]

    refused = _run(load, {**base, "REDIS_URL": "", "CHANNEL_LAYER_REDIS_URLS": shards})
    assert refused.returncode != 0
    assert "CHANNEL_LAYER_REDIS_URLS needs REDIS_URL" in refused.stderr


def test_the_benchmark_runs_parley_in_its_production_profile(tmp_path):
    """bench/ measures the production profile: its server environment loads
    as production even when the caller (this suite) runs embedded."""
    from bench.stacks import ParleyStack, Shape

    stack = ParleyStack(shapes=[Shape(rooms=1, size=2)], log_dir=tmp_path, run_id="settingstest")
    env = stack.env()
    assert os.environ.get("PARLEY_PROFILE") == "embedded"
    found = summary(env)
    assert found["profile"] == "production"
    assert found["debug"] is False
    assert found["database"] == "django.db.backends.postgresql"
    assert found["channel_layer"] == "messaging.realtime.layer.ResilientPubSubChannelLayer"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PARLEY_SEND_RATE_PER_SECOND", "0"),
        ("PARLEY_SEND_BURST", "0"),
        ("PARLEY_MAX_SOCKETS_PER_USER", "0"),
        ("PARLEY_MAX_GROUP_MEMBERS", "1"),
        ("PARLEY_E2E_MAX_MEMBERS", "1"),
    ],
)
def test_a_limit_below_its_minimum_is_refused_at_start(variable, value):
    """A send rate of 0 used to start and then fail every send; the
    deployment is told at start instead, naming the setting."""
    result = load_settings({"PARLEY_PROFILE": "embedded", "DEBUG": "true", variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_the_minimums_are_the_role_limits_minimums():
    from messaging.limits import ROLE_LIMIT_MINIMUMS
    from messaging.moderation.models import RoleLimits

    # Every figure a role's row holds has its minimum, the deployment's too.
    assert set(ROLE_LIMIT_MINIMUMS) == {
        "send_rate_per_second",
        "send_burst",
        "max_sockets_per_user",
        "max_group_members",
    }
    for field, minimum in ROLE_LIMIT_MINIMUMS.items():
        validators = RoleLimits._meta.get_field(field).validators
        assert any(getattr(v, "limit_value", None) == minimum for v in validators), field

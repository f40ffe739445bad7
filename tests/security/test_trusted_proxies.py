"""``PARLEY_TRUSTED_PROXIES`` is the one switch for forwarded headers: the
lockout's client address (``config.proxies.client_address``) and DRF's
throttles read ``X-Forwarded-For`` the same way, and ``X-Forwarded-Proto``
is believed only when a proxy is configured."""

import json
import sys

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.proxies import client_address, client_network
from tests.accounts.test_settings import PRODUCTION, _run, load_settings

PEER = "192.0.2.10"
FORWARDED = [
    None,
    "203.0.113.5",
    "203.0.113.5, 198.51.100.7",
    "10.9.9.9, 203.0.113.5, 198.51.100.7",
]


@pytest.mark.parametrize("proxies", [0, 1, 2])
@pytest.mark.parametrize("forwarded", FORWARDED)
def test_the_lockout_and_the_throttles_see_the_same_client(settings, proxies, forwarded):
    settings.PARLEY_TRUSTED_PROXIES = proxies
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    extra = {"REMOTE_ADDR": PEER}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().post("/login/", **extra)
    assert client_address(request) == BaseThrottle().get_ident(Request(request))


@pytest.mark.parametrize(
    ("proxies", "forwarded", "client"),
    [
        (0, "203.0.113.5", PEER),  # no proxy: the header is the client's own word
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # a client's own entry is ignored
        (2, "6.6.6.6, 203.0.113.5, 198.51.100.7", "203.0.113.5"),
        (1, "not-an-address", PEER),
        (1, "2001:DB8:0:0::1", "2001:db8::1"),
    ],
)
def test_the_client_address(settings, proxies, forwarded, client):
    settings.PARLEY_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PEER, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == client


@pytest.mark.parametrize(
    ("peer", "network"),
    [
        ("203.0.113.5", "203.0.113.5"),  # IPv4 as it is
        ("::ffff:203.0.113.5", "203.0.113.5"),  # IPv4-mapped: the IPv4 address
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::"),  # its /64
        ("2001:db8:1:2::1", "2001:db8:1:2::"),
        ("2001:db8:1:3::1", "2001:db8:1:3::"),  # the next /64 is another client
        ("fe80::1%eth0", "fe80::"),  # a zone index does not matter
    ],
)
def test_the_client_network(peer, network):
    assert client_network(RequestFactory().get("/", REMOTE_ADDR=peer)) == network


SETTINGS = """
import json
from django.conf import settings
print(json.dumps({
    "proxies": settings.PARLEY_TRUSTED_PROXIES,
    "num_proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
    "ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "axes_ip": settings.AXES_CLIENT_IP_CALLABLE,
    "public_schema": settings.PARLEY_PUBLIC_API_SCHEMA,
    "limits": [settings.AXES_FAILURE_LIMIT, settings.PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT,
               settings.AXES_COOLOFF_TIME.total_seconds()],
}))
"""


def production(**env) -> dict:
    """The settings above, loaded in a child process in the production
    profile with ``env`` added."""
    result = _run(
        [sys.executable, "-c", SETTINGS],
        {"DJANGO_SETTINGS_MODULE": "config.settings", **PRODUCTION, **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_by_default_no_forwarded_header_is_trusted():
    found = production()
    assert found == {
        "proxies": 0,
        "num_proxies": 0,
        "ssl_header": None,
        "axes_ip": "config.proxies.client_network",
        "public_schema": False,
        "limits": [5, 20, 900.0],
    }


def test_one_setting_configures_the_throttles_and_the_forwarded_scheme():
    found = production(PARLEY_TRUSTED_PROXIES="1")
    assert found["proxies"] == 1 and found["num_proxies"] == 1
    assert found["ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_lockout_limits_and_the_schema_come_from_the_environment():
    found = production(
        PARLEY_LOGIN_FAILURE_LIMIT="3",
        PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT="50",
        PARLEY_LOGIN_LOCKOUT_MINUTES="30",
        PARLEY_PUBLIC_API_SCHEMA="true",
    )
    assert found["limits"] == [3, 50, 1800.0]
    assert found["public_schema"] is True


def test_a_negative_proxy_count_refuses_to_start():
    result = load_settings({**PRODUCTION, "PARLEY_TRUSTED_PROXIES": "-1"})
    assert result.returncode != 0
    assert "PARLEY_TRUSTED_PROXIES" in result.stderr

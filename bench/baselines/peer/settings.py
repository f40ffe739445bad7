"""Minimal Django settings for the peer baseline (not Parley's)."""

import os

SECRET_KEY = os.environ.get("SECRET_KEY", "bench-peer-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["daphne", "channels"]
ROOT_URLCONF = "bench.baselines.peer.urls"
ASGI_APPLICATION = "bench.baselines.peer.asgi.application"
DATABASES = {}
USE_TZ = True
CHANNEL_LAYERS = {
    "default": {
        # The tutorial's layer: channels-redis's default, with its defaults.
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")],
            "prefix": os.environ.get("BENCH_PEER_PREFIX", "benchpeer"),
        },
    }
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "WARNING"},
}

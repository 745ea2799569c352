"""Gunicorn settings for the camvault container: `gunicorn 'app.main:create_app()' -c docker/gunicorn.conf.py`.

Every value can be overridden from the environment (WEB_CONCURRENCY, BIND, ...), so the image
needs no rebuild to be tuned.
"""

from __future__ import annotations

import importlib.util
import os


def _env(name: str, default: str) -> str:
    # An empty variable (compose's `NAME: ${NAME:-}`) means unset, as it does for the app's settings.
    return os.environ.get(name) or default


# Uvicorn's bundled `uvicorn.workers` is deprecated in favour of the separate `uvicorn-worker`
# package (a dependency of ours); fall back to the bundled one for older installs.
if importlib.util.find_spec("uvicorn_worker") is not None:
    worker_class = "uvicorn_worker.UvicornWorker"
else:
    worker_class = "uvicorn.workers.UvicornWorker"

workers = int(_env("WEB_CONCURRENCY", "2"))
bind = _env("BIND", "0.0.0.0:8000")

# Long uploads/downloads stream through the worker; a worker silent for `timeout` seconds is
# restarted. On SIGTERM workers get `graceful_timeout` seconds to finish their requests.
timeout = int(_env("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(_env("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(_env("GUNICORN_KEEPALIVE", "5"))

# Only Nginx (on the compose network) reaches the app: trust its X-Forwarded-For/-Proto, so the
# client ip in audit rows and login throttling is the browser's, not Nginx's.
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "*")

# No access log: the request line carries the query string, where a WebSocket token may be.
# The app logs every request itself (path only), see app/api/middleware.py.
accesslog = None
loglevel = _env("LOG_LEVEL", "info").lower()

# Gunicorn's own messages (and Uvicorn's, which the worker routes through them) go to stdout,
# through sys.stdout rather than a second open of /dev/stdout, so they interleave cleanly with
# the app's log lines when stdout is a file.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "generic": {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}

# The heartbeat file on tmpfs, so a slow disk never makes a healthy worker look dead.
_SHM = "/dev/shm"  # noqa: S108  (a tmpfs, used only for the heartbeat file)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# gunicornc's control socket (Gunicorn >= 25.1) would go to $HOME/.gunicorn; not needed here.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    # Runs in each worker after the app is loaded: the worker wires uvicorn.access to Gunicorn's
    # (disabled) access log; silence it for good and strip query strings from handshake lines.
    from app.core.logging import hide_query_strings

    hide_query_strings()


def on_starting(server: object) -> None:
    # Check the settings once, in the master, before any worker boots: a missing SECRET_KEY or an example
    # password stops the container with one clear line instead of a worker crash loop.
    import sys

    from pydantic import ValidationError

    from app.core.config import get_settings

    try:
        get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"camvault: refusing to start: {error['msg'].removeprefix('Value error, ')}", flush=True)
        sys.exit(1)

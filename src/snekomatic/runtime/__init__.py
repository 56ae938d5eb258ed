"""What a running bot is: settings, the web server, the service that runs it with the inbox's workers
and sweeps, crash reports, metrics, and the wiring of all of these with the store and the features.

Everything a command needs to start the bot is built here, in one place (``_compose``; what stops
start-up, ``_startup``)::

    settings = checked_settings(acts_as_app=True, receives_webhooks=True)  # StartupError: one line
    listening_socket = open_listening_socket("0.0.0.0", 8000)  # bound before anything is written
    store = open_store(settings, migrate=True)
    clock = DatabaseClock(store)  # snekomatic.inbox: the one clock of the process
    bot = builtin_bot(settings, store, clock=clock)  # or app_bot(import_app("mybot:app"))(...)
    service = build_service(settings, store, bot, clock=clock, worker_count=4, sweep=True)
    trio.run(partial(run_until_signalled, service, listening_socket=listening_socket))

The command line (:mod:`snekomatic.cli`) parses options and prints; the dev and setup flows build on
this too. Only ``_config`` reads the environment.
"""

from snekomatic.runtime._app_import import import_app as import_app
from snekomatic.runtime._compose import DEFAULT_SQLITE_FILE as DEFAULT_SQLITE_FILE
from snekomatic.runtime._compose import Bot as Bot
from snekomatic.runtime._compose import BotFactory as BotFactory
from snekomatic.runtime._compose import app_bot as app_bot
from snekomatic.runtime._compose import bot_service as bot_service
from snekomatic.runtime._compose import build_service as build_service
from snekomatic.runtime._compose import builtin_bot as builtin_bot
from snekomatic.runtime._compose import checked_settings as checked_settings
from snekomatic.runtime._compose import delivery_ingest as delivery_ingest
from snekomatic.runtime._compose import feature_options as feature_options
from snekomatic.runtime._compose import freeze_startup_heap as freeze_startup_heap
from snekomatic.runtime._compose import github_app as github_app
from snekomatic.runtime._compose import http_limits as http_limits
from snekomatic.runtime._compose import needs_a_person as needs_a_person
from snekomatic.runtime._compose import open_store as open_store
from snekomatic.runtime._compose import report_failed_attempt as report_failed_attempt
from snekomatic.runtime._compose import run_until_signalled as run_until_signalled
from snekomatic.runtime._compose import start_logging as start_logging
from snekomatic.runtime._compose import start_reporting as start_reporting
from snekomatic.runtime._compose import store_url as store_url
from snekomatic.runtime._config import Settings as Settings
from snekomatic.runtime._config import SettingsError as SettingsError
from snekomatic.runtime._config import load_settings as load_settings
from snekomatic.runtime._metrics import Metrics as Metrics
from snekomatic.runtime._sentry import capture_exception as capture_exception
from snekomatic.runtime._sentry import init_sentry as init_sentry
from snekomatic.runtime._sentry import report_delivery_failure as report_delivery_failure
from snekomatic.runtime._service import Service as Service
from snekomatic.runtime._service import repeat_every as repeat_every
from snekomatic.runtime._service import stop_on_signals as stop_on_signals
from snekomatic.runtime._service import worker_name as worker_name
from snekomatic.runtime._startup import AddressInUse as AddressInUse
from snekomatic.runtime._startup import StartupError as StartupError
from snekomatic.runtime._startup import open_listening_socket as open_listening_socket
from snekomatic.runtime._web import DEFAULT_HTTP_LIMITS as DEFAULT_HTTP_LIMITS
from snekomatic.runtime._web import HttpLimits as HttpLimits
from snekomatic.runtime._web import MiB as MiB
from snekomatic.runtime._web import create_app as create_app
from snekomatic.runtime._web import serve_http as serve_http
from snekomatic.runtime._web import serve_http_socket as serve_http_socket

__all__ = [
    "DEFAULT_HTTP_LIMITS",
    "DEFAULT_SQLITE_FILE",
    "AddressInUse",
    "Bot",
    "BotFactory",
    "HttpLimits",
    "Metrics",
    "MiB",
    "Service",
    "Settings",
    "SettingsError",
    "StartupError",
    "app_bot",
    "bot_service",
    "build_service",
    "builtin_bot",
    "capture_exception",
    "checked_settings",
    "create_app",
    "delivery_ingest",
    "feature_options",
    "freeze_startup_heap",
    "github_app",
    "http_limits",
    "import_app",
    "init_sentry",
    "load_settings",
    "needs_a_person",
    "open_listening_socket",
    "open_store",
    "repeat_every",
    "report_delivery_failure",
    "report_failed_attempt",
    "run_until_signalled",
    "serve_http",
    "serve_http_socket",
    "start_logging",
    "start_reporting",
    "stop_on_signals",
    "store_url",
    "worker_name",
]

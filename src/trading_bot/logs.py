"""Logging: structlog on top of the standard library, plus the audit trail.

Our structured events and third-party `logging` records go through the same processors, so every
output (console, JSON-lines file, audit file) has one format and one redaction step: known secret
values, values of sensitive keys and URL passwords are masked before anything is written.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import sys
from collections.abc import Iterable
from io import TextIOWrapper
from logging.handlers import QueueHandler, QueueListener, RotatingFileHandler
from pathlib import Path
from typing import Any

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import EventDict, Processor, WrappedLogger

from trading_bot.config import ConfigError, LoggingSettings
from trading_bot.redaction import Redactor

AUDIT_LOGGER = "trading_bot.audit"
ORDER_AUDIT_LOGGER = AUDIT_LOGGER + ".orders"
CHATTY_LIBRARIES = ("alembic", "asyncio", "httpx", "telegram", "apscheduler", "uvicorn")
_HANDLER_PREFIX = "trading_bot."  # names the handlers configure_logging owns and replaces

_audit = structlog.stdlib.get_logger(AUDIT_LOGGER)
_order_audit = structlog.stdlib.get_logger(ORDER_AUDIT_LOGGER)

# Run on our events and on foreign `logging` records alike, before any output-specific step.
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _capture_exc_info(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Take the exception being handled now: the writer thread formats it later, outside the
    `except` block where `exc_info=True` would still find it."""
    if event_dict.get("exc_info") is True:
        event_dict["exc_info"] = sys.exc_info()
    return event_dict


class _RedactingProcessor:
    """Masks secrets in every value of an event, exception text included."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        return {key: self._redactor.value(value, key) for key, value in event_dict.items()}


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """Logs reveal positions and accounts: only the bot's user may read them, rotated ones too."""

    def _open(self) -> TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def _formatter(renderer: Processor, redactor: Redactor) -> ProcessorFormatter:
    return ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # exceptions become text, then get redacted
            _RedactingProcessor(redactor),
            renderer,
        ],
    )


def _json_renderer() -> Processor:
    return structlog.processors.JSONRenderer(serializer=json.dumps, default=str)


def _file_handler(
    key: str, path: Path, settings: LoggingSettings, redactor: Redactor
) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _PrivateRotatingFileHandler(
            path, maxBytes=settings.max_bytes, backupCount=settings.backup_count, encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigError(
            [
                f'logging.{key} = "{path}": cannot open the log file ({exc.strerror}); '
                'choose a writable path, or "" for no file'
            ]
        ) from None
    handler.set_name(_HANDLER_PREFIX + key)
    handler.setFormatter(_formatter(_json_renderer(), redactor))
    return handler


def _console_handler(settings: LoggingSettings, redactor: Redactor) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    renderer = (
        structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        if settings.console_format == "pretty"
        else _json_renderer()
    )
    handler.set_name(_HANDLER_PREFIX + "console")
    handler.setFormatter(_formatter(renderer, redactor))
    if settings.console_format == "pretty":
        handler.addFilter(_not_routine_order_flow)
    return handler


def _not_routine_order_flow(record: logging.LogRecord) -> bool:
    return record.name != ORDER_AUDIT_LOGGER or record.levelno >= logging.WARNING


class _WriterQueue(QueueHandler):
    """Puts records on a queue that a writer thread empties into the real outputs, so logging
    from the trading loop never waits for a disk or a terminal."""

    def __init__(self, name: str, outputs: list[logging.Handler]) -> None:
        super().__init__(queue.Queue())
        self.set_name(name)
        self.listener = QueueListener(self.queue, *outputs, respect_handler_level=True)
        self.listener.start()
        _writers.add(self)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # As it is: structlog's formatters in the writer thread need the event dict.
        return record

    def flush(self) -> None:
        """Wait until the writer thread has written everything queued so far."""
        self.queue.join()  # type: ignore[attr-defined]

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the outputs."""
        if self in _writers:
            _writers.discard(self)
            self.listener.stop()
            for output in self.listener.handlers:
                output.close()
        super().close()


_writers: set[_WriterQueue] = set()


@atexit.register
def _stop_writers() -> None:
    for writer in list(_writers):
        writer.close()


def flush_logs() -> None:
    """Wait until every log record so far is written (tests, and before exiting)."""
    for writer in list(_writers):
        writer.flush()


def _replace_handlers(logger: logging.Logger, handlers: list[logging.Handler]) -> None:
    """Swap the outputs a previous configure_logging installed, leaving others' alone."""
    for old in list(logger.handlers):
        if old.name and old.name.startswith(_HANDLER_PREFIX):
            logger.removeHandler(old)
            old.close()
    if handlers:
        logger.addHandler(_WriterQueue(f"{_HANDLER_PREFIX}{logger.name}-writer", handlers))


def configure_logging(settings: LoggingSettings, secrets: Iterable[str] = ()) -> None:
    """Send every log record (ours and third-party) to the console and the configured files.

    Safe to call again on a configuration reload: the previous outputs are replaced, not added
    to. Raises ConfigError when a log file cannot be opened, leaving the old outputs in place.
    """
    redactor = Redactor(secrets)
    level = logging.getLevelNamesMapping()[settings.level]
    outputs: list[logging.Handler] = [_console_handler(settings, redactor)]
    audit_outputs: list[logging.Handler] = []
    try:
        if settings.file is not None:
            outputs.append(_file_handler("file", settings.file, settings, redactor))
        if settings.audit_file is not None:
            audit_outputs.append(
                _file_handler("audit_file", settings.audit_file, settings, redactor)
            )
    except ConfigError:
        for handler in outputs:
            handler.close()
        raise
    for handler in outputs:
        handler.setLevel(level)

    root = logging.getLogger()
    _replace_handlers(root, outputs)
    root.setLevel(level)
    audit = logging.getLogger(AUDIT_LOGGER)
    _replace_handlers(audit, audit_outputs)
    audit.setLevel(min(level, logging.INFO))  # the audit file stays complete at any level
    for chatty in CHATTY_LIBRARIES:  # their INFO lines say nothing a trader needs
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            _capture_exc_info,
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Loggers made at import time, before this runs, must follow the configuration.
        cache_logger_on_first_use=False,
    )


def log_action(action: str, **fields: Any) -> None:
    """Record what the bot or a person did (order sent, kill switch, reload) in the audit trail."""
    _audit.info(action, **fields)


def log_order_action(action: str, **fields: Any) -> None:
    """Like `log_action`, for the order flow (submitted, filled, canceled): kept off the
    pretty console, which the console notifier already tells, but in every file."""
    _order_audit.info(action, **fields)


def log_error(error: str | BaseException, **context: Any) -> None:
    """Record a failure in the audit trail, with the traceback when `error` is an exception."""
    if isinstance(error, BaseException):
        error_type = type(error).__name__
        _audit.error(str(error) or error_type, error_type=error_type, exc_info=error, **context)
    else:
        _audit.error(error, **context)

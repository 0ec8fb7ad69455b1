"""Logging: JSON-lines files, console output, redaction, the audit trail and reconfiguration."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
import structlog

from trading_bot.config import ConfigError, LoggingSettings
from trading_bot.logs import AUDIT_LOGGER, configure_logging, flush_logs, log_action, log_error

SECRET = "hunter2-s3cr3t"
log = structlog.get_logger("tests.logging")  # made before any configuration, as modules do


def _console(capsys: pytest.CaptureFixture[str]) -> Any:
    """What the console got, once the writer thread has written everything."""
    flush_logs()
    return capsys.readouterr()


pytestmark = pytest.mark.usefixtures("restore_logging")


def settings(tmp_path: Path, **overrides: Any) -> LoggingSettings:
    values: dict[str, Any] = {
        "file": tmp_path / "logs" / "bot.jsonl",
        "audit_file": tmp_path / "logs" / "audit.jsonl",
    }
    return LoggingSettings(**(values | overrides))


def lines(path: Path) -> list[dict[str, Any]]:
    flush_logs()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_log_file_gets_json_lines(tmp_path: Path) -> None:
    config = settings(tmp_path, file=tmp_path / "deep" / "dir" / "bot.jsonl")
    configure_logging(config)

    log.info("order sent", symbol="SYN/USD", qty=1.5)

    assert config.file is not None
    [entry] = lines(config.file)
    assert entry["event"] == "order sent"
    assert entry["symbol"] == "SYN/USD" and entry["qty"] == 1.5
    assert entry["level"] == "info" and entry["logger"] == "tests.logging"
    assert entry["timestamp"].endswith("Z")
    assert stat.S_IMODE(config.file.stat().st_mode) == 0o600


def test_rotated_files_stay_private(tmp_path: Path) -> None:
    config = settings(tmp_path, max_bytes=200, backup_count=2)
    configure_logging(config)

    for number in range(10):
        log.info("filler", number=number, padding="x" * 50)

    assert config.file is not None
    flush_logs()
    rotated = config.file.with_name(config.file.name + ".1")
    assert rotated.exists()
    assert stat.S_IMODE(rotated.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.file.stat().st_mode) == 0o600


def test_third_party_records_share_the_format(tmp_path: Path) -> None:
    config = settings(tmp_path)
    configure_logging(config)

    logging.getLogger("some.library").warning("retrying in %d s", 3)

    assert config.file is not None
    [entry] = lines(config.file)
    assert entry["event"] == "retrying in 3 s"
    assert entry["logger"] == "some.library" and entry["level"] == "warning"


def test_level_filters_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = settings(tmp_path, level="WARNING")
    configure_logging(config)

    log.info("routine")
    logging.getLogger("some.library").debug("chatter")
    log.warning("unusual")

    assert config.file is not None
    assert [entry["event"] for entry in lines(config.file)] == ["unusual"]
    err = _console(capsys).err
    assert "unusual" in err and "routine" not in err and "chatter" not in err


def test_pretty_console_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(tmp_path, file=None, audit_file=None))

    log.info("candle closed", close=101.5)

    captured = _console(capsys)
    assert captured.out == ""
    assert "candle closed" in captured.err and "close=101.5" in captured.err
    assert not (tmp_path / "logs").exists()


def test_json_console(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(settings(tmp_path, console_format="json", file=None, audit_file=None))

    log.info("candle closed", close=101.5)

    [line] = _console(capsys).err.splitlines()
    entry = json.loads(line)
    assert entry["event"] == "candle closed" and entry["close"] == 101.5


def test_secrets_are_redacted_in_console_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = settings(tmp_path)
    configure_logging(config, secrets=[SECRET])

    log.info(f"logging in with {SECRET}", header={"Authorization": f"Bearer {SECRET}"})
    log.info("connecting", url="postgresql://trader:pa55word@db/bot", api_key="abc123")
    logging.getLogger("some.library").warning("sent %s", SECRET)
    try:
        raise PermissionError(f"key {SECRET} rejected")
    except PermissionError:
        log.exception("login failed")

    assert config.file is not None
    flush_logs()
    file_text = config.file.read_text(encoding="utf-8")
    console_text = _console(capsys).err
    for text in (file_text, console_text):
        assert SECRET not in text
        assert "pa55word" not in text and "abc123" not in text
        assert "postgresql://trader:***@db/bot" in text
        assert "key *** rejected" in text
    entries = lines(config.file)
    assert entries[0]["event"] == "logging in with ***"
    assert entries[0]["header"] == {"Authorization": "Bearer ***"}
    assert entries[1]["api_key"] == "***"
    assert entries[2]["event"] == "sent ***"
    assert "PermissionError: key *** rejected" in entries[3]["exception"]


def test_audit_trail_goes_to_the_audit_file_and_the_normal_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = settings(tmp_path)
    configure_logging(config, secrets=[SECRET])

    log.info("not an audit event")
    log_action("order submitted", client_order_id="abc-1", qty=2)
    try:
        raise ConnectionError(f"venue refused {SECRET}")
    except ConnectionError as exc:
        log_error(exc, venue="replay")
    log_error("kill switch tripped", loss_pct=5.2)

    assert config.audit_file is not None and config.file is not None
    audit = lines(config.audit_file)
    assert [entry["event"] for entry in audit] == [
        "order submitted",
        "venue refused ***",
        "kill switch tripped",
    ]
    assert all(entry["logger"] == AUDIT_LOGGER for entry in audit)
    assert audit[0]["client_order_id"] == "abc-1" and audit[0]["level"] == "info"
    assert audit[1]["error_type"] == "ConnectionError" and audit[1]["venue"] == "replay"
    assert audit[1]["level"] == "error" and "Traceback" in audit[1]["exception"]
    assert audit[2]["loss_pct"] == 5.2
    assert stat.S_IMODE(config.audit_file.stat().st_mode) == 0o600
    assert len(lines(config.file)) == 4
    assert "order submitted" in _console(capsys).err


def test_audit_file_stays_complete_when_the_level_is_higher(tmp_path: Path) -> None:
    config = settings(tmp_path, level="ERROR")
    configure_logging(config)

    log_action("config reloaded")

    assert config.audit_file is not None and config.file is not None
    assert [entry["event"] for entry in lines(config.audit_file)] == ["config reloaded"]
    assert lines(config.file) == []


def test_reconfiguring_does_not_duplicate_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = settings(tmp_path)
    configure_logging(config)
    configure_logging(config)

    log.info("once")
    log_action("once audited")

    assert config.file is not None and config.audit_file is not None
    assert [entry["event"] for entry in lines(config.file)] == ["once", "once audited"]
    assert len(lines(config.audit_file)) == 1
    assert _console(capsys).err.count("once") == 2


def test_reconfiguring_moves_outputs_and_secrets(tmp_path: Path) -> None:
    first = settings(tmp_path, file=tmp_path / "first.jsonl")
    second = settings(tmp_path, file=tmp_path / "second.jsonl", audit_file=None)
    configure_logging(first, secrets=["old-secret"])
    configure_logging(second, secrets=["new-secret"])

    log.info("after reload", values=["old-secret", "new-secret"])
    log_action("reloaded")

    assert lines(tmp_path / "first.jsonl") == []
    after_reload, reloaded = lines(tmp_path / "second.jsonl")
    assert after_reload["values"] == ["old-secret", "***"]
    assert reloaded["event"] == "reloaded"
    assert first.audit_file is not None and lines(first.audit_file) == []


def test_foreign_handlers_are_left_alone(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logging.getLogger().addHandler(Collect())
    configure_logging(settings(tmp_path))
    configure_logging(settings(tmp_path))

    logging.getLogger("some.library").warning("seen by everyone")

    assert [record.getMessage() for record in records] == ["seen by everyone"]


def test_unwritable_log_path_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("", encoding="utf-8")

    with pytest.raises(ConfigError) as excinfo:
        configure_logging(settings(tmp_path, file=blocker / "bot.jsonl"))

    [problem] = excinfo.value.problems
    assert problem.startswith(f'logging.file = "{blocker / "bot.jsonl"}": cannot open the log')

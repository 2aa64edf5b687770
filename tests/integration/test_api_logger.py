"""PUT /logger: where the log goes (a file, a FIFO that never blocks ember),
which levels pass, and Firecracker's line format
`YYYY-MM-DDTHH:MM:SS.nnnnnnnnn [id:thread(:LEVEL)(:file:line)] message`."""

import datetime
import os
import time

import pytest

from apilib import LOG_LINE, REPO_ROOT, api, start_ember  # noqa: F401
from apilib import api_test_deadline  # noqa: F401  (autouse: a deadline per test)

pytestmark = pytest.mark.kvm

LEVELS = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]


def parse(text):
    """Every line of the log, parsed with LOG_LINE (each must match)."""
    out = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        assert m, f"not a log line: {line!r}"
        out.append(m.groupdict())
    return out


def boot_noisy_guest(e):
    # test=unmapped touches addresses with no device: ember logs each at
    # INFO (rate-limited), from the vCPU thread; the start logs at INFO and
    # DEBUG from the VMM thread.
    e.boot("test=unmapped")
    assert e.finish() == 0


def test_default_format(start_ember, tmp_path):
    log = tmp_path / "l.log"
    e = start_ember(log=False, args=["--id", "vm-1"])
    e.put("/logger", {"log_path": str(log)})
    boot_noisy_guest(e)
    lines = parse(log.read_text())
    assert lines
    now = datetime.datetime.now()
    for x in lines:
        assert x["id"] == "vm-1" and x["level"] is None and x["file"] is None
        ts = datetime.datetime.strptime(x["ts"][:26], "%Y-%m-%dT%H:%M:%S.%f")
        assert abs((now - ts).total_seconds()) < 120  # local time
    threads = {x["thread"] for x in lines}
    assert "main" in threads and any("vcpu" in t for t in threads), threads
    # Before PUT /logger the log went to stdout; after it, none does.
    assert "Running ember" in e.out and "VM started" not in e.out
    assert any(x["msg"] == "VM started" for x in lines)


def test_show_level_and_origin(start_ember, tmp_path):
    log = tmp_path / "l.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log), "level": "Debug", "show_level": True,
                      "show_log_origin": True})
    boot_noisy_guest(e)
    lines = parse(log.read_text())
    assert {"INFO", "DEBUG"} <= {x["level"] for x in lines}
    for x in lines:
        assert x["level"] in LEVELS and x["file"] and int(x["line"]) > 0
        assert (REPO_ROOT / x["file"]).is_file(), x["file"]


def test_show_level_only(start_ember, tmp_path):
    log = tmp_path / "l.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log), "show_level": True})
    boot_noisy_guest(e)
    for x in parse(log.read_text()):
        assert x["level"] in LEVELS and x["file"] is None


@pytest.mark.parametrize("level,allowed", [
    ("Error", {"ERROR"}),
    ("warning", {"ERROR", "WARN"}),
    ("WARN", {"ERROR", "WARN"}),
    ("Info", {"ERROR", "WARN", "INFO"}),
    ("debug", {"ERROR", "WARN", "INFO", "DEBUG"}),
])
def test_levels_filter(start_ember, tmp_path, level, allowed):
    log = tmp_path / "l.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log), "level": level, "show_level": True})
    boot_noisy_guest(e)
    seen = {x["level"] for x in parse(log.read_text())}
    assert seen <= allowed, seen
    if "INFO" in allowed:
        assert "INFO" in seen
    if "DEBUG" in allowed:
        assert "DEBUG" in seen


def test_level_off(start_ember, tmp_path):
    log = tmp_path / "l.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log), "level": "Off"})
    boot_noisy_guest(e)
    assert log.read_text() == ""


def test_logger_defaults_when_fields_are_omitted(start_ember, tmp_path):
    """A PUT sets every field: omitted ones take their defaults (Info, no
    level, no origin), whatever an earlier PUT or the flags said."""
    log = tmp_path / "l.log"
    e = start_ember(log=False, args=["--level", "Error", "--show-level"])
    e.put("/logger", {"log_path": str(log)})
    boot_noisy_guest(e)
    lines = parse(log.read_text())
    assert any(x["msg"] == "VM started" for x in lines)
    assert all(x["level"] is None for x in lines)


def test_module_filter(start_ember, tmp_path):
    log = tmp_path / "l.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log), "module": "src/bus", "show_log_origin": True})
    boot_noisy_guest(e)
    lines = parse(log.read_text())
    assert lines and all(x["file"].startswith("src/bus") for x in lines)


def test_second_put_moves_the_log(start_ember, tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(a)})
    e.put("/logger", {"log_path": str(b)})
    boot_noisy_guest(e)
    assert "VM started" in b.read_text() and "VM started" not in a.read_text()


def test_log_file_is_appended_to(start_ember, tmp_path):
    log = tmp_path / "l.log"
    log.write_text("earlier line\n")
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log)})
    boot_noisy_guest(e)
    assert log.read_text().startswith("earlier line\n")


def read_available(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def test_fifo_with_a_reader(start_ember, tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        e = start_ember(log=False)
        e.put("/logger", {"log_path": str(fifo), "level": "Info"})
        boot_noisy_guest(e)
        lines = parse(read_available(rfd).decode())
        assert any(x["msg"] == "VM started" for x in lines)
    finally:
        os.close(rfd)


def test_fifo_without_a_reader_never_blocks(start_ember, tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    e = start_ember(log=False)
    t0 = time.monotonic()
    e.put("/logger", {"log_path": str(fifo), "level": "Trace"})
    assert time.monotonic() - t0 < 0.5
    boot_noisy_guest(e)


def test_log_path_flag_fifo_without_a_reader(start_ember, tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    e = start_ember(log=False, args=["--log-path", fifo])
    e.get("/")


def test_api_requests_are_logged(start_ember, tmp_path):
    log = tmp_path / "l.log"
    e = start_ember(log=False)
    e.put("/logger", {"log_path": str(log), "level": "Info"})
    e.put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    e.fault("PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 64})
    text = log.read_text()
    assert "/machine-config" in text and "vcpu_count" in text
    assert "400" in text


def test_refused_put_logger_changes_nothing(api, tmp_path):
    msg = api.fault("PUT", "/logger", {"module": "src/bus",
                                       "log_path": str(tmp_path / "no" / "x.log")})
    assert msg.startswith("Logger error:")
    boot_noisy_guest(api)
    assert "VM started" in api.log()

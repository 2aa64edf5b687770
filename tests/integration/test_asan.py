"""The ASan+UBSan build (`make integration-asan`) under ember's own seccomp
filters: an error in any thread kind ends in the sanitizer's whole report,
in its report file, and the sanitizer's exit code; never in a SIGSYS
halfway through the report. build/ember-testhooks-asan makes the error on
purpose with EMBER_SANITIZER_SELFTEST=THREAD:KIND, right after the thread's
filter goes on. LeakSanitizer cannot run under a filter (docs/seccomp.md),
so leaks are checked here with --no-seccomp."""

import json
import os
import socket
import subprocess

import pytest

import disks
from apilib import Conn, api, start_ember  # noqa: F401
from emberlib import (ASAN, EXIT_OK, SANITIZER_EXIT, TESTHOOKS, config, sanitizer_options,
                      sanitizer_reports, symbolize)

pytestmark = [pytest.mark.kvm,
              pytest.mark.skipif(not ASAN, reason="tests the ASan build: run "
                                 "`make integration-asan` (EMBER_ASAN=1)")]

# What each kind of deliberate error must produce in the report.
REPORT = {
    "heap": "ERROR: AddressSanitizer: heap-buffer-overflow",
    "ub": "runtime error: signed integer overflow: 2147483647 + 1",
    "leak": "ERROR: LeakSanitizer: detected memory leaks",
}
SUMMARY = {
    "heap": "SUMMARY: AddressSanitizer: heap-buffer-overflow",
    "ub": "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior",
    "leak": "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s)",
}
# The function that installs each thread kind's filter and then errs.
THREAD_FUNCTION = {"vmm": "vmm_boot", "api": "api_thread", "vcpu": "vcpu_thread"}


def boot(tmp_path, selftest=None, args=(), extra_options="", cfg=None):
    """Boots the test guest from a config file with the API socket up, so
    that all three thread kinds run; sanitizer reports go to tmp_path/asan
    (not the suite's log directory: these reports are expected)."""
    log_dir = tmp_path / "asan"
    log_dir.mkdir()
    path = tmp_path / "vm.json"
    path.write_text(json.dumps(cfg or config(boot_args="test=hello")))
    options = sanitizer_options(log_dir) + extra_options
    env = dict(os.environ, ASAN_OPTIONS=options, UBSAN_OPTIONS=options)
    env.pop("EMBER_SANITIZER_SELFTEST", None)
    if selftest:
        env["EMBER_SANITIZER_SELFTEST"] = selftest
    r = subprocess.run([str(TESTHOOKS), "--api-sock", str(tmp_path / "api.sock"),
                        "--config-file", str(path), "--log-path", str(tmp_path / "log"), *args],
                       env=env, capture_output=True, text=True, errors="replace", timeout=60)
    return r, sanitizer_reports(log_dir)


def one_report(r, reports):
    assert len(reports) == 1, f"rc {r.returncode}, reports {list(reports)}:\n{r.stderr}"
    return symbolize(next(iter(reports.values())))


@pytest.mark.parametrize("kind", ["heap", "ub"])
@pytest.mark.parametrize("thread", ["vmm", "api", "vcpu"])
def test_report_gets_out_under_the_filter(tmp_path, thread, kind):
    r, reports = boot(tmp_path, f"{thread}:{kind}")
    assert "forbidden syscall" not in r.stderr, r.stderr
    assert r.returncode == SANITIZER_EXIT, r.stderr
    text = one_report(r, reports)
    assert REPORT[kind] in text and SUMMARY[kind] in text, text
    # The stack trace names the code that erred and the thread it ran in.
    assert "in seccomp_test_violation " in text, text
    assert f"in {THREAD_FUNCTION[thread]} " in text, text


def test_no_selftest_no_report(tmp_path):
    r, reports = boot(tmp_path)
    assert r.returncode == EXIT_OK, r.stderr
    assert "TEST hello PASS" in r.stdout
    assert reports == {}


@pytest.mark.parametrize("thread", ["vmm", "api", "vcpu"])
def test_leak_reported_without_seccomp(tmp_path, thread):
    r, reports = boot(tmp_path, f"{thread}:leak", args=["--no-seccomp"],
                      extra_options=":detect_leaks=1")
    assert r.returncode == SANITIZER_EXIT, r.stderr
    text = one_report(r, reports)
    assert REPORT["leak"] in text and SUMMARY["leak"] in text, text
    assert "in seccomp_test_violation " in text, text


def test_vm_lifecycle_leaks_nothing_without_seccomp(tmp_path):
    # Every thread kind, a block device on each engine, the guest driving
    # them, then the whole teardown: LeakSanitizer finds nothing left.
    img = disks.pattern_image(tmp_path / "d0.img", 64)
    d1 = disks.zero_image(tmp_path / "d1.img", 2 << 20)
    cfg = config(boot_args="test=blk-write")
    cfg["drives"] = [disks.drive("d0", img, io_engine="Sync"),
                     disks.drive("d1", d1, io_engine="Async", cache_type="Writeback")]
    r, reports = boot(tmp_path, cfg=cfg, args=["--no-seccomp"], extra_options=":detect_leaks=1")
    assert "TEST blk-write PASS" in r.stdout, r.stdout + r.stderr
    assert reports == {}, "\n".join(symbolize(t) for t in reports.values())
    assert r.returncode == EXIT_OK, r.stderr


def test_request_cut_short_by_the_clients_fin(api):
    """Regression: when a client's FIN cut a request short, server.c queued
    the 400, flushed it (which closed and freed the connection) and then
    read the freed connection's fd. Only ASan sees that; a report fails
    this test (conftest.py), as it failed test_truncated_body_then_close."""
    body = json.dumps({"vcpu_count": 2, "mem_size_mib": 256}).encode()
    c = api.conn(3)
    c.send(Conn.format("PUT", "/machine-config", body, length=len(body) + 50))
    c.s.shutdown(socket.SHUT_WR)
    assert c.read_response(3).status == 400
    assert c.wait_closed(3)
    c.close()
    assert api.get("/machine-config").json()["vcpu_count"] == 1

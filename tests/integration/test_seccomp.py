"""Per-thread seccomp filters: on for every test of the suite; here, proof
that each thread kind's filter is really fatal, and the flags."""

import json
import os
import re
import subprocess

import pytest

from emberlib import ASAN, BUILD, EMBER, EXIT_BAD_CONFIG, EXIT_OK, TESTHOOKS, config, run_config

pytestmark = pytest.mark.kvm

# The lists of the binary under test (the ASan build's have a few more).
OWN_RULES = BUILD / ("gen-asan" if ASAN else "gen") / "seccomp.json"
EXIT_BAD_SYSCALL = 148


def boot_with_api(tmp_path, binary, env_extra=None, args=()):
    """Boots the test guest from a config file, with the API socket up, so
    that all three thread kinds run."""
    cfg = tmp_path / "vm.json"
    cfg.write_text(json.dumps(config(boot_args="test=hello")))
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([str(binary), "--api-sock", str(tmp_path / "api.sock"),
                           "--config-file", str(cfg), "--log-path", str(tmp_path / "log"),
                           *args], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("thread,name", [("vmm", "main"), ("api", "api"), ("vcpu", "vcpu 0")])
def test_forbidden_syscall_is_fatal(tmp_path, thread, name):
    # The test build makes the named thread call getppid(2), which no list
    # allows, right after its filter is in place.
    r = boot_with_api(tmp_path, TESTHOOKS, {"EMBER_SECCOMP_SELFTEST": thread})
    assert r.returncode == EXIT_BAD_SYSCALL, r.stdout + r.stderr
    assert (f"ember: seccomp: forbidden syscall 110 in thread '{name}'; "
            "exiting with code 148") in r.stderr


def test_same_binary_without_the_violation_runs(tmp_path):
    r = boot_with_api(tmp_path, TESTHOOKS)
    assert r.returncode == EXIT_OK, r.stderr
    assert "TEST hello PASS" in r.stdout


def test_no_seccomp_disables_the_filters(tmp_path):
    r = boot_with_api(tmp_path, TESTHOOKS, {"EMBER_SECCOMP_SELFTEST": "vcpu"},
                      args=["--no-seccomp"])
    assert r.returncode == EXIT_OK, r.stderr
    assert "TEST hello PASS" in r.stdout


def test_filter_file_with_ember_s_own_rules(tmp_path):
    # build/gen/seccomp.json is ember's built-in lists in the file format.
    r = boot_with_api(tmp_path, EMBER, args=["--seccomp-filter", str(OWN_RULES)])
    assert r.returncode == EXIT_OK, r.stderr
    assert "TEST hello PASS" in r.stdout


def test_filter_file_that_forbids_what_a_vcpu_needs(tmp_path):
    rules = json.loads(OWN_RULES.read_text())
    rules["vcpu"]["filter"] = [f for f in rules["vcpu"]["filter"] if f["syscall"] != "write"]
    path = tmp_path / "filter.json"
    path.write_text(json.dumps(rules))
    # The guest's first interrupt or console byte needs write(2) on a vCPU.
    cfg = config(boot_args="test=hello")
    r = run_config(tmp_path, cfg, args=["--seccomp-filter", path])
    assert r.rc == EXIT_BAD_SYSCALL
    assert re.search(r"forbidden syscall 1 in thread 'vcpu 0'", r.err), r.err


def test_kill_default_action(tmp_path):
    rules = json.loads(OWN_RULES.read_text())
    rules["vcpu"]["default_action"] = "kill_process"
    rules["vcpu"]["filter"] = [f for f in rules["vcpu"]["filter"] if f["syscall"] != "write"]
    path = tmp_path / "filter.json"
    path.write_text(json.dumps(rules))
    r = run_config(tmp_path, config(boot_args="test=hello"), args=["--seccomp-filter", path])
    assert r.rc == -31 or r.rc == 128 + 31, r.rc  # killed by SIGSYS


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.pop("api"), 'no "api" filter'),
    (lambda d: d["vmm"]["filter"].append({"syscall": "no_such_call"}), "unknown syscall"),
    (lambda d: d["vmm"].update(default_action="errno"), "default_action"),
    (lambda d: d["vmm"].update(filter_action="trap"), "filter_action"),
    (lambda d: d["vmm"]["filter"].append(
        {"syscall": "ioctl", "args": [{"index": 9, "type": "dword", "op": "eq", "val": 1}]}),
     "index"),
    (lambda d: d["vmm"]["filter"].append(
        {"syscall": "ioctl", "args": [{"index": 1, "type": "byte", "op": "eq", "val": 1}]}),
     "type"),
    (lambda d: d["vmm"]["filter"].append(
        {"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "like", "val": 1}]}),
     "op"),
])
def test_bad_filter_files(tmp_path, mutate, needle):
    rules = json.loads(OWN_RULES.read_text())
    mutate(rules)
    path = tmp_path / "filter.json"
    path.write_text(json.dumps(rules))
    r = run_config(tmp_path, config(boot_args="test=hello"), args=["--seccomp-filter", path])
    assert r.rc == EXIT_BAD_CONFIG, r.text
    assert "--seccomp-filter" in r.err and needle in r.err, r.err


def test_malformed_filter_file(tmp_path):
    path = tmp_path / "filter.json"
    path.write_text("{")
    r = run_config(tmp_path, config(), args=["--seccomp-filter", path])
    assert r.rc == EXIT_BAD_CONFIG and "--seccomp-filter" in r.err


def test_seccomp_flags_exclude_each_other(tmp_path):
    r = run_config(tmp_path, config(), args=["--seccomp-filter", OWN_RULES, "--no-seccomp"])
    assert r.rc == 153


def test_docs_table_matches_the_lists():
    summary = (BUILD / "gen" / "seccomp-summary.txt").read_text()
    doc = (BUILD.parent / "docs" / "seccomp.md").read_text()
    for m in re.finditer(r"seccomp (\w+)\s+(\d+) syscalls,\s+(\d+) rules \((\d+) with", summary):
        name, calls, rules, args = m.groups()
        assert re.search(rf"^\| {name} \| {calls} \| {rules} \| {args} \|", doc, re.M), \
            f"docs/seccomp.md: the {name} row should read {calls} | {rules} | {args}"

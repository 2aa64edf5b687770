"""Command-line flags: Firecracker's names, exit code 153 for bad arguments."""

import re

import pytest

from emberlib import EXIT_ARG_PARSING, EXIT_OK, REPO, run


def test_version_is_printed_as_firecracker_prints_it():
    # Tools split `--version` on spaces and parse the second field as the
    # Firecracker (API) version: nothing may follow it.
    r = run(["--version"])
    assert r.rc == EXIT_OK
    assert re.fullmatch(r"Firecracker v\d+\.\d+\.\d+\n\n", r.out), r.out
    assert r.out.split(" ")[1].strip() == "v1.16.1"


def test_help_names_ember_and_its_version():
    version = (REPO / "VERSION").read_text().strip()
    assert run(["--help"]).out.startswith(f"ember v{version} (Firecracker API 1.16.1)")


def test_help_lists_every_flag():
    r = run(["--help"])
    assert r.rc == EXIT_OK
    for flag in ["--config-file", "--no-api", "--api-sock", "--id", "--log-path", "--level",
                 "--module", "--show-level", "--show-log-origin", "--boot-timer",
                 "--boot-protocol", "--version", "--help"]:
        assert flag in r.out


def test_flag_equals_form(tmp_path):
    assert run(["--level=Debug", "--version"]).rc == EXIT_OK


@pytest.mark.parametrize("args,needle", [
    (["--no-such-flag"], "unknown or incomplete argument"),
    (["--config-file"], "unknown or incomplete argument"),
    (["--no-api"], "--no-api needs --config-file"),
    (["--version", "--version"], "more than once"),
    (["--id", "bad/id", "--version"], "--id"),
    (["--id", "x" * 65, "--version"], "--id"),
    (["--id", "", "--version"], "--id"),
    (["stray"], "unexpected argument"),
])
def test_bad_arguments(args, needle):
    r = run(args)
    assert r.rc == EXIT_ARG_PARSING, r.text
    assert needle in r.err
    assert len(r.err.strip().splitlines()) == 1, "one clear error line"


def test_bad_level(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    r = run(["--no-api", "--config-file", cfg, "--level", "Loud"])
    # The config is rejected first or the level is; either way nothing runs.
    assert r.rc in (EXIT_ARG_PARSING, 152), r.text


def test_bad_boot_protocol(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    r = run(["--no-api", "--config-file", cfg, "--boot-protocol", "efi"])
    assert r.rc == EXIT_ARG_PARSING
    assert "--boot-protocol" in r.err

"""Bad configuration files: a clear error naming the field, exit code 152,
nothing started (no VM is built, so these need no KVM)."""

import json

import pytest

from emberlib import EXIT_BAD_CONFIG, run_config


def base():
    return {
        "boot-source": {"kernel_image_path": "/nonexistent-kernel", "boot_args": "x"},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
    }


def with_(path, value):
    cfg = base()
    sect, key = path.split(".", 1) if "." in path else (path, None)
    if key is None:
        cfg[sect] = value
    else:
        cfg[sect][key] = value
    return cfg


CASES = [
    ("unknown top-level key", {**base(), "bogus": 1}, "bogus"),
    ("unknown nested key", with_("machine-config.cpus", 2), "machine-config: unknown field 'cpus'"),
    ("vcpu_count as string", with_("machine-config.vcpu_count", "2"), "machine-config.vcpu_count"),
    ("vcpu_count zero", with_("machine-config.vcpu_count", 0), "machine-config.vcpu_count"),
    ("vcpu_count too large", with_("machine-config.vcpu_count", 33), "machine-config.vcpu_count"),
    ("vcpu_count negative", with_("machine-config.vcpu_count", -1), "machine-config.vcpu_count"),
    ("vcpu_count fraction", with_("machine-config.vcpu_count", 1.5), "machine-config.vcpu_count"),
    ("smt with odd vcpus", {**base(), "machine-config": {"vcpu_count": 3, "mem_size_mib": 128,
                                                          "smt": True}},
     "machine-config.vcpu_count"),
    ("smt not a bool", with_("machine-config.smt", 1), "machine-config.smt"),
    ("memory zero", with_("machine-config.mem_size_mib", 0), "machine-config.mem_size_mib"),
    ("memory too small", with_("machine-config.mem_size_mib", 1), "machine-config.mem_size_mib"),
    ("memory too large", with_("machine-config.mem_size_mib", 1 << 40),
     "machine-config.mem_size_mib"),
    ("huge pages name", with_("machine-config.huge_pages", "1G"), "machine-config.huge_pages"),
    ("cpu template", with_("machine-config.cpu_template", "T2"), "machine-config.cpu_template"),
    ("missing vcpu_count", with_("machine-config", {"mem_size_mib": 128}),
     "machine-config.vcpu_count: missing"),
    ("missing boot-source", {"machine-config": {"vcpu_count": 1, "mem_size_mib": 128}},
     "boot-source"),
    ("missing kernel path", with_("boot-source", {"boot_args": "x"}),
     "boot-source.kernel_image_path: missing"),
    ("empty kernel path", with_("boot-source.kernel_image_path", ""),
     "boot-source.kernel_image_path"),
    ("boot_args not a string", with_("boot-source.boot_args", 5), "boot-source.boot_args"),
    ("machine-config not an object", with_("machine-config", [1]), "machine-config"),
    ("drives not supported yet", with_("drives", [{"drive_id": "x"}]), "drives"),
    ("logger level", with_("logger", {"level": "Loud"}), "logger.level"),
]


@pytest.mark.parametrize("name,cfg,needle", CASES, ids=[c[0] for c in CASES])
def test_rejected(tmp_path, name, cfg, needle):
    r = run_config(tmp_path, cfg)
    assert r.rc == EXIT_BAD_CONFIG, r.text
    assert needle in r.err, r.err
    assert "VM started" not in r.out


@pytest.mark.parametrize("raw,needle", [
    ("{", "invalid JSON"),
    ("[]", "must be a JSON object"),
    ('{"boot-source": {"kernel_image_path": "a", "kernel_image_path": "b"}}', "duplicate"),
    ('{"machine-config": {"vcpu_count": 1, "mem_size_mib": 99999999999999999999999}}',
     "too big integer"),
    ("", "invalid JSON"),
])
def test_malformed(tmp_path, raw, needle):
    r = run_config(tmp_path, None, raw=raw)
    assert r.rc == EXIT_BAD_CONFIG, r.text
    assert needle in r.err


def test_missing_config_file(tmp_path):
    from emberlib import run
    r = run(["--no-api", "--config-file", tmp_path / "nope.json"])
    assert r.rc == EXIT_BAD_CONFIG
    assert "cannot open" in r.err


def test_oversized_config_file(tmp_path):
    cfg = base()
    cfg["boot-source"]["boot_args"] = "a" * (1 << 20)
    r = run_config(tmp_path, cfg)
    assert r.rc == EXIT_BAD_CONFIG
    assert "limit" in r.err


def test_missing_kernel_file(tmp_path):
    r = run_config(tmp_path, base())
    assert r.rc == EXIT_BAD_CONFIG
    assert "boot-source.kernel_image_path: cannot open '/nonexistent-kernel'" in r.err


def test_null_optional_fields_accepted(tmp_path):
    cfg = base()
    cfg["boot-source"]["initrd_path"] = None
    cfg["machine-config"]["smt"] = None
    r = run_config(tmp_path, cfg)
    # Parsing succeeded: the failure is the missing kernel file.
    assert "cannot open '/nonexistent-kernel'" in r.err


def test_empty_device_lists_accepted(tmp_path):
    cfg = base()
    cfg["drives"] = []
    cfg["network-interfaces"] = []
    r = run_config(tmp_path, cfg)
    assert "cannot open '/nonexistent-kernel'" in r.err, json.dumps(cfg)

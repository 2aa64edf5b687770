import os

import pytest

import emberlib


def pytest_configure(config):
    config.addinivalue_line("markers", "kvm: needs a usable /dev/kvm")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    if emberlib.ASAN and emberlib.sanitizer_log_dir() is None:
        # EMBER_ASAN=1 without `make integration-asan`: its options.
        log_dir = emberlib.BUILD / "asan-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            os.environ[var] = emberlib.sanitizer_options(log_dir)


def pytest_collection_modifyitems(config, items):
    ok, why = emberlib.kvm_usable()
    if ok:
        return
    skip = pytest.mark.skip(reason=why)
    for item in items:
        if "kvm" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def built():
    if not emberlib.EMBER.exists():
        target = "make asan" if emberlib.ASAN else "make"
        pytest.exit(f"{emberlib.EMBER.relative_to(emberlib.REPO)} is missing: run `{target}` "
                    "first", returncode=2)


# Report files already blamed on a test, or there before the session.
_seen_reports = set()
# Reports that appeared between tests: from an ember a test left running.
_stray_reports = {}


def pytest_sessionstart(session):
    if emberlib.ASAN:
        _new_reports()


def _new_reports():
    log_dir = emberlib.sanitizer_log_dir()
    if log_dir is None or not log_dir.is_dir():
        return {}
    reports = emberlib.sanitizer_reports(log_dir)
    new = {p: t for p, t in reports.items() if p not in _seen_reports}
    _seen_reports.update(new)
    return new


def _describe(reports):
    return "\n".join(f"--- {p}\n{emberlib.symbolize(t)}" for p, t in reports.items())


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """Against the ASan build: fails the test during which ember wrote a
    sanitizer report (ember's exit code alone may not show it)."""
    if not emberlib.ASAN:
        yield
        return
    _stray_reports.update(_new_reports())
    yield
    new = _new_reports()
    if new:
        pytest.fail("sanitizer report(s) from ember during this test:\n" + _describe(new),
                    pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    # An ember that reported after the test that started it had ended.
    new = {**_stray_reports, **_new_reports()} if emberlib.ASAN else {}
    if new:
        print("\nsanitizer report(s) from ember after the tests that started it:\n"
              + _describe(new))
        session.exitstatus = 1


@pytest.fixture
def testguest():
    if not emberlib.TESTGUEST_ELF.exists():
        pytest.fail("build/testguest.elf is missing: run `make testguest`")
    return emberlib.TESTGUEST_ELF

import pytest

import emberlib


def pytest_configure(config):
    config.addinivalue_line("markers", "kvm: needs a usable /dev/kvm")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


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
        pytest.exit("build/ember is missing: run `make` first", returncode=2)


@pytest.fixture
def testguest():
    if not emberlib.TESTGUEST_ELF.exists():
        pytest.fail("build/testguest.elf is missing: run `make testguest`")
    return emberlib.TESTGUEST_ELF

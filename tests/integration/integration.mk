# Integration tests: pytest (Debian's python3-pytest) driving build/ember.
.PHONY: integration
integration: $(B)/ember $(B)/ember-testhooks
	$(Q)cd tests/integration && $(PYTHON) -m pytest -q -rs -p no:cacheprovider $(PYTEST_ARGS)

# The same tests against ember built with ASan+UBSan (build/ember-asan,
# build/ember-testhooks-asan), under its seccomp filters: EMBER_ASAN=1
# selects those binaries (emberlib.py). Any report is fatal (ASan halts on
# its first; UBSan's checks are built not to recover), exits 86, a code no
# ember path uses, and goes to a file in build/asan-logs/; conftest.py fails
# the test during which one appears, showing it symbolized. conftest.py
# sets the same options when EMBER_ASAN=1 is run by hand without them.
# The whole suite, minus what cannot work against this build (each skip
# says why); about two minutes on two cores.
ASAN_LOG_DIR      := $(B)/asan-logs
ASAN_TEST_OPTIONS := halt_on_error=1:exitcode=86:symbolize=0:detect_leaks=0:log_path=$(abspath $(ASAN_LOG_DIR))/ember

.PHONY: integration-asan
integration-asan: $(B)/ember-asan $(B)/ember-testhooks-asan $(SRC_GEN)
	$(Q)rm -rf $(ASAN_LOG_DIR) && mkdir -p $(ASAN_LOG_DIR)
	$(Q)cd tests/integration && EMBER_ASAN=1 ASAN_OPTIONS=$(ASAN_TEST_OPTIONS) \
		UBSAN_OPTIONS=$(ASAN_TEST_OPTIONS) \
		$(PYTHON) -m pytest -q -rs -p no:cacheprovider $(PYTEST_ARGS)

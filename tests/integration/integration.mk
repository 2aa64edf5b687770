# Integration tests: pytest (Debian's python3-pytest) driving build/ember.
.PHONY: integration
integration: $(B)/ember $(B)/ember-testhooks
	$(Q)cd tests/integration && $(PYTHON) -m pytest -q -rs -p no:cacheprovider $(PYTEST_ARGS)

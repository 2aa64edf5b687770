.PHONY: integration
integration:

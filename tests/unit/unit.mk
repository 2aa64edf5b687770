.PHONY: unit
unit:

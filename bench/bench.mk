# Benchmarks (not tests): make bench. Numbers and commands go into
# docs/performance.md.
.PHONY: bench
bench: $(B)/ember testguest $(B)/bench/firstbyte $(B)/bench/tapflood $(B)/bench/apilat
	$(Q)$(PYTHON) bench/boot.py
	$(Q)$(PYTHON) bench/virtio.py
	$(Q)$(PYTHON) bench/api.py

$(B)/bench/firstbyte: bench/firstbyte.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(B)/bench/tapflood: bench/tapflood.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(B)/bench/apilat: bench/apilat.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

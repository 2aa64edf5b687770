# Benchmarks (not tests): make bench runs each one (results in
# build/bench/*.json), then bench/report.py writes docs/performance.md and its
# figures (docs/perf/*.svg). make bench-report redraws from the last results.
.PHONY: bench bench-report
bench: $(B)/ember testguest $(B)/bench/firstbyte $(B)/bench/tapflood $(B)/bench/apilat \
       $(B)/bench/churn
	$(Q)$(PYTHON) bench/boot.py
	$(Q)$(PYTHON) bench/virtio.py
	$(Q)$(PYTHON) bench/api.py
	$(Q)$(PYTHON) bench/create.py
	$(Q)$(PYTHON) bench/density.py
	$(Q)$(PYTHON) bench/report.py

bench-report:
	$(Q)$(PYTHON) bench/report.py

$(B)/bench/churn: bench/churn.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

$(B)/bench/firstbyte: bench/firstbyte.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(B)/bench/tapflood: bench/tapflood.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

$(B)/bench/apilat: bench/apilat.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

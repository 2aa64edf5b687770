#!/bin/sh
# Runs cmocka unit-test binaries, one after another, each with its output in
# <binary>.log. Prints one line per binary and a total; prints the log of any
# binary that failed a test, crashed or drew a sanitizer report; exits
# non-zero if any did. ASAN_OPTIONS / UBSAN_OPTIONS come from the caller
# (tests/unit/unit.mk sets them).
#
#   tests/unit/run.sh build/unit/test_bus build/unit/test_serial
set -u

num() { # the first number in the cmocka line that matches $2, or 0
	sed -n "s/^\[ *$2 *\] \([0-9][0-9]*\) test(s).*/\1/p" "$1" | head -n 1 | grep . || echo 0
}

now_ns() { date +%s%N; }

t_pass=0 t_fail=0 t_skip=0 t_bad=0
t0=$(now_ns)
for bin in "$@"; do
	name=${bin##*/}
	log=$bin.log
	s=$(now_ns)
	"$bin" >"$log" 2>&1
	rc=$?
	e=$(now_ns)
	ran=$(sed -n 's/^\[==========\] \([0-9][0-9]*\) test(s) run\./\1/p' "$log" | head -n 1)
	pass=$(num "$log" PASSED)
	fail=$(num "$log" FAILED)
	skip=$(num "$log" SKIPPED)
	why=
	if grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|^SUMMARY: [A-Za-z]+Sanitizer' "$log"; then
		why="sanitizer report"
	elif [ -z "$ran" ]; then
		why="crashed (exit $rc)"
	elif [ "$fail" -ne 0 ]; then
		why="$fail test(s) failed"
	elif [ "$rc" -ne 0 ]; then
		why="exit status $rc"
	fi
	secs=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	if [ -z "$why" ]; then
		printf '  %-20s %3d passed %3d skipped          %6ss\n' "$name" "$pass" "$skip" "$secs"
	else
		printf '  %-20s %3d passed %3d skipped  FAILED  %6ss  (%s)\n' \
			"$name" "$pass" "$skip" "$secs" "$why"
		sed 's/^/    | /' "$log" >&2
		t_bad=$((t_bad + 1))
	fi
	t_pass=$((t_pass + pass))
	t_fail=$((t_fail + fail))
	t_skip=$((t_skip + skip))
done
secs=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
if [ "$t_bad" -eq 0 ]; then
	printf '  %-20s %3d passed %3d skipped          %6ss  (%d binaries)\n' \
		"TOTAL" "$t_pass" "$t_skip" "$secs" "$#"
	exit 0
fi
printf '  %-20s %3d passed %3d skipped  FAILED  %6ss  (%d of %d binaries failed, %d test(s))\n' \
	"TOTAL" "$t_pass" "$t_skip" "$secs" "$t_bad" "$#" "$t_fail"
exit 1

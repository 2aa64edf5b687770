#!/bin/sh
# make fuzz-smoke: runs every libFuzzer target for a few seconds from a
# fresh copy of its seed corpus, then replays every input saved under
# fuzz/regressions/<target>/ once. Prints one line per target and fails if
# any run crashed, leaked, failed a check or timed out; the log of a failed
# run is printed. Logs stay in <build>/smoke/<target>.log.
#
#   fuzz/smoke.sh build/fuzz 5 http:4096 blk:8192 ...
set -u
fb=$1 secs=$2
shift 2

now_ns() { date +%s%N; }
stat_of() { # the value of libFuzzer's final "stat::$2:" line in log $1
	sed -n "s/^stat::$2: *\([0-9][0-9]*\).*/\1/p" "$1" | tail -n 1 | grep . || echo 0
}

bad=0
t0=$(now_ns)
for spec in "$@"; do
	t=${spec%%:*} maxlen=${spec#*:}
	bin=$fb/${t}_fuzz dir=$fb/smoke/$t log=$fb/smoke/$t.log
	rm -rf "$dir" "$fb/smoke/$t-"*
	mkdir -p "$dir"
	cp fuzz/corpus/"$t"/* "$dir"/
	s=$(now_ns)
	"$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$fb/smoke/$t-" "$dir" >"$log" 2>&1
	rc=$?
	runs=$(stat_of "$log" number_of_executed_units)
	cov=$(sed -n 's/.*DONE *cov: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	why=
	[ "$rc" -eq 0 ] || why="fuzzing: exit $rc"
	nreg=0
	if [ -z "$why" ] && [ -d fuzz/regressions/"$t" ]; then
		set -- fuzz/regressions/"$t"/*
		if [ -e "$1" ]; then
			nreg=$#
			if ! "$bin" "$@" >>"$log" 2>&1; then
				why="a regression input failed"
			fi
		fi
		set --
	fi
	e=$(now_ns)
	secs_t=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	if [ -z "$why" ]; then
		printf '  %-10s %9s runs  cov %5s  %3d regressions  %5ss\n' "$t" "$runs" "${cov:-?}" \
			"$nreg" "$secs_t"
	else
		printf '  %-10s %9s runs  cov %5s  FAILED  %5ss  (%s)\n' "$t" "$runs" "${cov:-?}" \
			"$secs_t" "$why"
		tail -n 60 "$log" | sed 's/^/    | /' >&2
		bad=$((bad + 1))
	fi
done
secs_all=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
if [ "$bad" -eq 0 ]; then
	printf '  %-10s all passed  %5ss\n' TOTAL "$secs_all"
	exit 0
fi
printf '  %-10s %d FAILED  %5ss\n' TOTAL "$bad" "$secs_all"
exit 1

#!/usr/bin/env python3
"""Writes docs/performance.md from the benchmarks' results (build/bench/*.json)
and bench/performance.md.in, and its figures (docs/perf/*.svg) with gnuplot.
A benchmark that was not run leaves its section saying so."""

import json
import os
import re
import shutil
import subprocess
import sys

import common

TEMPLATE = common.REPO / "bench" / "performance.md.in"
OUT = common.REPO / "docs" / "performance.md"
FIG = common.REPO / "docs" / "perf"
DATA = common.BUILD / "bench" / "plot"
OK, NO = "✓", "✗ (see below)"


def load(name):
    p = common.BUILD / "bench" / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def ms(us):
    return f"{us / 1000:.1f} ms"


def mib(kib):
    return f"{kib / 1024:.2f} MiB"


def ratio(a, b):
    return a / b if b else float("nan")


def check(ok, text):
    return f"{text} {OK if ok else NO}"


def table(head, rows):
    """A markdown table: text columns left-aligned (the first, and a last
    "target" column), numbers right-aligned."""
    align = ["---"] + ["---:"] * (len(head) - 1)
    if head[-1] == "target":
        align[-1] = "---"
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine(res):
    h = res["host"]
    return f"{h['cpus']}-vCPU {h['cpu']}, Linux {h['kernel']}, {h['kvm']}, {h['date']}"


# ---------------------------------------------------------------- figures

def gnuplot(name, script, datasets, title_machine):
    """Writes the data files and runs gnuplot; returns the markdown image
    line, or a note when gnuplot is missing."""
    if not shutil.which("gnuplot"):
        return f"(figure `{name}` not drawn: gnuplot is not installed)"
    DATA.mkdir(parents=True, exist_ok=True)
    FIG.mkdir(parents=True, exist_ok=True)
    for fname, rows in datasets.items():
        (DATA / fname).write_text("\n".join(" ".join(str(c) for c in r) for r in rows) + "\n")
    head = (f'set terminal svg size 760,400 font "sans,11" background "white"\n'
            f'set output "{FIG / (name + ".svg")}"\n'
            f'set label 99 "{title_machine}" at screen 0.99,0.025 right font "sans,8" noenhanced\n'
            f'set bmargin 5\nset key top left noenhanced\nset grid ytics lc rgb "#dddddd"\n'
            f'cd "{DATA}"\n')
    subprocess.run(["gnuplot"], input=head + script, text=True, check=True)
    png = os.environ.get("BENCH_PNG")  # a directory: PNG copies, to look at
    if png:
        subprocess.run(["gnuplot"], text=True, check=True, input=head.replace(
            'set terminal svg size 760,400 font "sans,11" background "white"',
            'set terminal pngcairo size 760,400 font "sans,10"').replace(
            str(FIG / (name + ".svg")), os.path.join(png, name + ".png")) + script)
    # No absolute paths in the committed SVG.
    svg = FIG / (name + ".svg")
    svg.write_text(svg.read_text().replace(str(DATA), "data").replace(str(FIG), "perf"))
    return f"![{name}](perf/{name}.svg)"


def cdf(values, points=400):
    """The empirical CDF, at most `points` steps (evenly spaced in rank, plus
    the last), so that a figure of thousands of samples stays small."""
    xs = sorted(values)
    n = len(xs)
    step = max(1, n // points)
    idx = list(range(0, n, step))
    if n and idx[-1] != n - 1:
        idx.append(n - 1)
    return [(xs[i], (i + 1) / n) for i in idx]


# ---------------------------------------------------------------- sections

def boot_section(r):
    if not r:
        return {"boot_table": "(not run)", "boot_figure": "", "boot_machine": ""}
    e, q = r["ember"], r["qemu"]
    fb = ratio(e["first_byte_us"], q["first_byte_us"])
    rows = [
        ["exec → first console byte", ms(e["first_byte_us"]), ms(q["first_byte_us"]),
         f"**{fb:.2f}**", check(fb <= 1 / 3, "≤ 0.33")],
        ["exec → `TEST hello PASS`", ms(e["match_us"]), ms(q["match_us"]),
         f"{ratio(e['match_us'], q['match_us']):.2f}", ""],
        ["exec → exit", ms(e["exit_us"]), ms(q["exit_us"]),
         f"{ratio(e['exit_us'], q['exit_us']):.2f}", ""],
        ["CPU time (user + system)", ms(e["cpu_us"]), ms(q["cpu_us"]),
         f"{ratio(e['cpu_us'], q['cpu_us']):.2f}", ""],
        ["peak RSS", mib(e["max_rss_kib"]), mib(q["max_rss_kib"]),
         f"{ratio(e['max_rss_kib'], q['max_rss_kib']):.2f}", ""],
        ["RSS minus guest RAM, guest idle (`test=idle`)", f"**{mib(e['idle_rss_kib'])}**",
         mib(q["idle_rss_kib"]), f"{ratio(e['idle_rss_kib'], q['idle_rss_kib']):.2f}",
         check(e["idle_rss_kib"] <= 2048, "≤ 2 MiB")],
        ["PSS minus guest RAM, guest idle", mib(e["idle_pss_kib"]), mib(q["idle_pss_kib"]),
         f"{ratio(e['idle_pss_kib'], q['idle_pss_kib']):.2f}", ""],
    ]
    fig = ""
    if "rows" in r:
        data = {f"boot-{w}.dat": [(x / 1000, y) for x, y in
                                  cdf([row["first_byte_us"] for row in r["rows"][w]])]
                for w in ("ember", "qemu")}
        fig = gnuplot("boot", f'''
set title "exec to the first console byte, {r['rounds']} interleaved rounds (CDF)"
set xlabel "milliseconds"
set ylabel "fraction of boots"
set yrange [0:1.05]
set xrange [0:*]
plot "boot-ember.dat" using 1:2 with steps lw 2 lc rgb "#d9480f" title "ember", \\
     "boot-qemu.dat" using 1:2 with steps lw 2 lc rgb "#1c7ed6" title "QEMU microvm"
''', data, machine(r))
    return {"boot_table": table(["", "ember", "QEMU", "ember/QEMU", "target"], rows),
            "boot_figure": fig, "boot_rounds": str(r["rounds"]), "boot_machine": machine(r)}


def virtio_section(r):
    if not r:
        return {"virtio_table": "(not run)", "virtio_figure": "", "virtio_misses": []}
    labels = {"blk seq read 64K": "block, 64 KiB sequential read",
              "blk seq write 64K": "block, 64 KiB sequential write",
              "blk rand read 4K": "block, 4 KiB random read",
              "net tx 1500B": "net, TX 1500-byte frames",
              "net rx 1500B": "net, RX 1500-byte frames"}
    rows, bars, misses = [], [], []
    for i, (name, x) in enumerate(r["results"].items()):
        rt = paired_ratio(x)
        if rt < 1.0:
            misses.append(round_spread(labels.get(name, name), x, 1.0))
        if x["unit"] == "MiB/s":
            fmt = lambda v: f"{v:.0f} MiB/s"  # noqa: E731
        else:
            fmt = lambda v: f"{v / 1000:.0f} k/s"  # noqa: E731
        rows.append([labels.get(name, name), fmt(x["ember"]), fmt(x["qemu"]), f"**{rt:.2f}**",
                     check(rt >= 1.0, "≥ 1.0")])
        bars.append((i, rt, f'"{labels.get(name, name)}"'))
    epr = [x["ember_exits_per_request"] for x in r["results"].values()
           if "ember_exits_per_request" in x]
    fig = gnuplot("virtio", f'''
set title "virtio throughput, ember / QEMU microvm (median of {r['rounds']} interleaved rounds)"
set style fill solid 0.8 noborder
set boxwidth 0.6
set yrange [0:*]
set ylabel "ember / QEMU"
set xtics rotate by -15 font "sans,9"
set bmargin 7
unset key
plot "virtio.dat" using 1:2:xtic(3) with boxes lc rgb "#d9480f", \\
     1 with lines dt 2 lc rgb "#1c7ed6"
''', {"virtio.dat": bars}, machine(r))
    note = (f"\n\nExits to ember per block request in steady state: **{min(epr):.3f}–"
            f"{max(epr):.3f}**." if epr else "")
    return {"virtio_table": table(["", "ember", "QEMU", "ember/QEMU", "target"], rows) + note,
            "virtio_figure": fig, "virtio_rounds": str(r["rounds"]), "virtio_misses": misses}


def paired_ratio(x):
    """ember/QEMU as the median of the interleaved rounds' own ratios: each
    round ran both VMMs back to back, so the host's load mostly cancels out
    within a round, where the ratio of two medians can mix a quiet round of
    one with a busy round of the other."""
    e, q = x.get("rows", {}).get("ember", []), x.get("rows", {}).get("qemu", [])
    per = sorted(ratio(a, b) for a, b in zip(e, q))
    if not per:
        return ratio(x["ember"], x["qemu"])
    n = len(per)
    return per[n // 2] if n % 2 else (per[n // 2 - 1] + per[n // 2]) / 2


def round_spread(what, x, target):
    """One missed ratio target, round by round: each interleaved round's
    ember/QEMU ratio, and how many rounds met the target. Rounds that
    disagree mean the machine's load changed during the run."""
    e, q = x.get("rows", {}).get("ember", []), x.get("rows", {}).get("qemu", [])
    per = [ratio(a, b) for a, b in zip(e, q)]
    met = sum(1 for v in per if v >= target)
    line = f"- **{what}**: ember/QEMU {paired_ratio(x):.2f} (target ≥ {target})"
    if per:
        line += ("; per round " + ", ".join(f"{v:.2f}" for v in per) +
                 f"; {met} of {len(per)} rounds met it")
        lo, hi = min(e + q), max(e + q)
        if met and met < len(per):
            line += (". The rounds disagree and both VMMs' throughput moved "
                     f"{hi / lo:.1f}× within the run: the host's load changed while it "
                     "ran, so this median says little; rerun on a quiet host")
    return line + "."


def not_met_section(values):
    misses = values.pop("virtio_misses", [])
    if not misses:
        return "None: every target above is met in this run."
    return "\n".join(misses) + """

A target missed in a run on a quiet host is a finding: it is profiled
(`perf record -g` on the ember process, or callgrind on the device loop)
and the cause written down in the issue that owns the device."""


def api_section(r):
    if not r:
        return {"api_table": "(not run)"}
    e, q = r["ember"], r["qemu"]
    rows = [["exec → socket ready, wall", ms(e["wall_us"]), ms(q["wall_us"]),
             f"{ratio(e['wall_us'], q['wall_us']):.3f}", ""],
            ["exec → socket ready, CPU", ms(e["cpu_us"]), ms(q["cpu_us"]),
             f"**{ratio(e['cpu_us'], q['cpu_us']):.3f}**", check(e["cpu_us"] <= 1000, "≤ 1 ms")],
            ["exec → socket ready, instructions (callgrind)", f"{e['instructions']:,}",
             f"{q['instructions']:,}", f"**{ratio(e['instructions'], q['instructions']):.4f}**",
             check(0 < e["instructions"] <= 2_000_000, "≤ 2 M")]]
    for name, x in r["latency"].items():
        rows.append([f"`{name}` latency p50 / p99 ({x['n']:,} requests)",
                     f"{x['p50_us']:.0f} / {x['p99_us']:.0f} µs", "", "",
                     check(x["p99_us"] <= 200, "p99 ≤ 200 µs")])
    return {"api_table": table(["", "ember", "QEMU (QMP)", "ember/QEMU", "target"], rows),
            "api_rounds": str(r["rounds"])}


def create_section(r):
    if not r:
        return {"create_table": "(not run)", "create_figure": "", "create_leaks": ""}
    e, q = r["ember"], r["qemu"]
    rows = [["microVMs started, booted and stopped per second", f"**{e['rate']:.1f}**",
             f"{q['rate']:.1f}", f"**{ratio(e['rate'], q['rate']):.2f}**",
             check(e["rate"] >= 30, "≥ 30/s")],
            ["cycles completed / failed", f"{e['completed']} / {e['failed']}",
             f"{q['completed']} / {q['failed']}", "", check(e["failed"] == 0, "0 failures")],
            ["start → exit of one cycle, p50", ms(e["exit_us_p50"]), ms(q["exit_us_p50"]),
             f"{ratio(e['exit_us_p50'], q['exit_us_p50']):.2f}", ""],
            ["start → exit of one cycle, p99", ms(e["exit_us_p99"]), ms(q["exit_us_p99"]),
             f"{ratio(e['exit_us_p99'], q['exit_us_p99']):.2f}", ""],
            ["CPU per microVM (user + system)", f"{e['cpu_ms_per_vm']:.1f} ms",
             f"{q['cpu_ms_per_vm']:.1f} ms",
             f"{ratio(e['cpu_ms_per_vm'], q['cpu_ms_per_vm']):.2f}", ""]]
    data = {f"create-{w}.dat": [(i + 0.5, n) for i, n in enumerate(r[w]["per_second"])]
            for w in ("ember", "qemu")}
    data.update({f"create-cdf-{w}.dat": [(x / 1000, y) for x, y in cdf(r[w]["exit_us_all"])]
                 for w in ("ember", "qemu")})
    fig = gnuplot("create", f'''
set multiplot layout 1,2
set title "completed per second ({r['parallel']} at a time)" font "sans,10"
set xlabel "second of the run"
set ylabel "microVMs per second"
set yrange [0:*]
set key center right
plot "create-ember.dat" using 1:2 with lines lw 2 lc rgb "#d9480f" title "ember", \\
     "create-qemu.dat" using 1:2 with lines lw 2 lc rgb "#1c7ed6" title "QEMU microvm", \\
     30 with lines dt 2 lc rgb "#888888" title "target"
set title "start to exit of one cycle (CDF)" font "sans,10"
set xlabel "milliseconds"
set ylabel "fraction of cycles"
set yrange [0:1.05]
set logscale x
set key bottom right
plot "create-cdf-ember.dat" using 1:2 with steps lw 2 lc rgb "#d9480f" title "ember", \\
     "create-cdf-qemu.dat" using 1:2 with steps lw 2 lc rgb "#1c7ed6" title "QEMU microvm"
unset multiplot
''', data, machine(r))
    leaks = ("none: no VMM process, thread or zombie left, file handles back where they "
             "were, no tap created, no socket or file left behind" if not r["leaks"]
             else "**" + "; ".join(r["leaks"]) + "**")
    return {"create_table": table(["", "ember", "QEMU", "ember/QEMU", "target"], rows),
            "create_figure": fig, "create_leaks": leaks,
            "create_seconds": str(r["duration_s"]), "create_parallel": str(r["parallel"])}


def density_section(r):
    if not r:
        return {"density_table": "(not run)", "density_figure": ""}
    rows = []
    for e, q in zip(r["ember"], r["qemu"]):
        rr = ratio(e["rss_kib"], q["rss_kib"])
        rows.append([str(e["n"]), f"**{mib(e['rss_kib'])}**", mib(q["rss_kib"]), f"**{rr:.3f}**",
                     mib(e["pss_kib"]), mib(q["pss_kib"]), mib(e["guest_touched_kib"]),
                     mib(q["guest_touched_kib"]), mib(e["host_kib_per_vm"]),
                     mib(q["host_kib_per_vm"]),
                     check(e["rss_kib"] <= 2048 and rr <= 0.2, "≤ 2 MiB, ≤ 0.2")])
    head = ["N", "ember RSS−guest", "QEMU RSS−guest", "ratio", "ember PSS−guest",
            "QEMU PSS−guest", "ember guest touched", "QEMU guest touched", "ember host/VM",
            "QEMU host/VM", "target"]
    data = {f"density-{w}.dat": [(x["n"], x["rss_kib"] / 1024, x["pss_kib"] / 1024,
                                  x["host_kib_per_vm"] / 1024) for x in r[w]]
            for w in ("ember", "qemu")}
    fig = gnuplot("density", f'''
set title "memory per microVM versus N ({r['mem_mib']} MiB guests, idle)"
set xlabel "microVMs running (N)"
set ylabel "MiB per microVM"
set logscale y
set key outside right
set xrange [0:*]
plot "density-ember.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#d9480f" title "ember RSS-guest", \\
     "density-ember.dat" using 1:3 with linespoints lw 2 pt 5 dt 2 lc rgb "#d9480f" title "ember PSS-guest", \\
     "density-ember.dat" using 1:4 with linespoints lw 1 pt 2 dt 3 lc rgb "#d9480f" title "ember host/VM", \\
     "density-qemu.dat" using 1:2 with linespoints lw 2 pt 7 lc rgb "#1c7ed6" title "QEMU RSS-guest", \\
     "density-qemu.dat" using 1:3 with linespoints lw 2 pt 5 dt 2 lc rgb "#1c7ed6" title "QEMU PSS-guest", \\
     "density-qemu.dat" using 1:4 with linespoints lw 1 pt 2 dt 3 lc rgb "#1c7ed6" title "QEMU host/VM"
''', data, machine(r))
    return {"density_table": table(head, rows), "density_figure": fig,
            "density_mem": str(r["mem_mib"])}


def binary_section():
    ember = common.EMBER
    if not ember.exists():
        return {"binary_table": "(not built)"}
    size = ember.stat().st_size
    desc = subprocess.run(["file", "-b", str(ember)], capture_output=True,
                          text=True).stdout.strip() if shutil.which("file") else ""
    linkage = ("static-pie" if "static-pie" in desc else
               "static" if "statically linked" in desc else "dynamic")
    rows = [["`build/ember` (stripped)", f"**{size / 1024:.0f} KiB**", linkage,
             check(size <= 1 << 20 and linkage != "dynamic", "≤ 1 MiB, static")]]
    q = shutil.which(common.QEMU)
    if q:
        qs = os.stat(q).st_size
        rows.append([f"`{common.QEMU}` (Debian, for scale)", f"{qs / 1024:.0f} KiB",
                     "dynamic", ""])
    return {"binary_table": table(["binary", "size", "linkage", "target"], rows)}


def summary(values):
    """Every table row that has a target, in one table: what, ember's
    figure, the ratio to QEMU where there is one, the target."""
    sections = [("boot_table", "boot"), ("binary_table", "binary"),
                ("virtio_table", "virtio"), ("api_table", "API"),
                ("create_table", "creation rate"), ("density_table", "density")]
    rows = []
    for key, name in sections:
        lines = [x for x in values.get(key, "").splitlines() if x.startswith("| ")][2:]
        for line in lines:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not cells[-1]:
                continue
            if key == "density_table":
                what, ember, rt = f"N = {cells[0]}: RSS minus guest", cells[1], cells[3]
            elif key == "binary_table":
                what, ember, rt = cells[0], cells[1], ""
            else:
                what, ember = cells[0], cells[1]
                rt = cells[3] if len(cells) > 4 else ""
            rows.append([name, what, ember, rt, cells[-1]])
    if not rows:
        return "(no benchmark results)"
    return table(["", "what", "ember", "ember/QEMU", "target"], rows)


def main():
    values = {}
    results = {n: load(n) for n in ("boot", "virtio", "api", "create", "density")}
    values.update(boot_section(results["boot"]))
    values.update(virtio_section(results["virtio"]))
    values.update(api_section(results["api"]))
    values.update(create_section(results["create"]))
    values.update(density_section(results["density"]))
    values.update(binary_section())
    values["not_met"] = not_met_section(values)
    values["summary"] = summary(values)
    host = next((r for r in results.values() if r), None)
    values["machine"] = machine(host) if host else "(no benchmark results)"
    text = TEMPLATE.read_text()
    missing = sorted(set(re.findall(r"@@(\w+)@@", text)) - set(values))
    for k in missing:
        values[k] = "(not run)"
    text = re.sub(r"@@(\w+)@@", lambda m: values[m.group(1)], text)
    OUT.write_text(text)
    print(f"written: {OUT.relative_to(common.REPO)} and {FIG.relative_to(common.REPO)}/*.svg")
    not_met = text.count(NO)
    if not_met:
        print(f"{not_met} target(s) not met: see the report", file=sys.stderr)


if __name__ == "__main__":
    main()

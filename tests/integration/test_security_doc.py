"""docs/security.md, the hostile-input catalogue, is kept true by this file
(its section "How the catalogue is kept true" says what is checked):

- every test the page names exists: a pytest function (with its
  parametrized id, when one is given) that `pytest --collect-only` lists in
  the named file, or a cmocka case in the named file's `tests[]` table that
  is not unconditionally skipped (a bare `skip();` at the top level of its
  body is a known bug, which shows nothing yet);
- every row of a catalogue table (the tables whose last column is
  "shown by") names at least one test, and nothing else in that column;
- every `hostile-*` scenario of the test guest (tests/guest/main.c) is
  mentioned in the page;
- in the code a guest can drive (GUEST_REACH below), every log call is
  rate-limited (LOG_RL_*) or on LOGGED_ONCE with the reason it cannot
  repeat at the guest's will.

Each checker is a function of text, so the self-tests at the end feed it a
page or a source with one thing broken and show that it is caught. No KVM
is needed."""

import functools
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"
INTEGRATION = ROOT / "tests" / "integration"
GUEST_MAIN = ROOT / "tests" / "guest" / "main.c"

# The code a guest can drive once it runs: the vCPU's exit handling
# (src/kvm/vcpu.c; there is no other vcpu*.c), the MMIO and port I/O buses,
# every device (the virtio transport, queues, block, net and its tap, the
# rate limiters, the UART, the i8042, the boot timer), guest memory lookups
# of guest addresses, and the console pump between the UART and the host
# (src/vmm/vm_run.c). Every pattern must match at least one file, so that
# moving the code cannot empty the scope unnoticed.
GUEST_REACH = [
    "src/devices/**/*.[ch]",
    "src/bus/**/*.[ch]",
    "src/mem/**/*.[ch]",
    "src/kvm/vcpu*.[ch]",
    "src/vmm/vm_run.c",
]

# Log calls in GUEST_REACH that are not rate-limited, each logged at most
# once per VM, per vCPU or per device set-up: (file, a piece of the call's
# text that names it, why it cannot repeat at the guest's will). Each entry
# must match exactly one call.
LOGGED_ONCE = [
    ("src/devices/virtio/block.c", "is not a multiple of 512",
     "device set-up: the host opens the drive (at start or on a PATCH of its path)"),
    ("src/devices/legacy/i8042.c", "guest requested a reset through the i8042",
     "only for the first reset (reset_count == 1), which stops the VM; the rest are counted"),
    ("src/kvm/vcpu.c", '"vCPU %u: %s; %s"',
     "log_fatal(): every caller returns an exit code that stops the VM (triple fault, "
     "internal error, failed entry, crash, unexpected exit): once per vCPU"),
    ("src/kvm/vcpu.c", "guest shut down (KVM_SYSTEM_EVENT_SHUTDOWN)",
     "the VM stops: once per vCPU"),
    ("src/kvm/vcpu.c", "guest reset (KVM_SYSTEM_EVENT_RESET)",
     "the VM stops: once per vCPU"),
    ("src/kvm/vcpu.c", "halted (KVM_EXIT_HLT); stopping the VM",
     "the VM stops: once per vCPU"),
    ("src/kvm/vcpu.c", "cannot install its seccomp filter",
     "vCPU thread start, before the guest runs; the vCPU stops"),
    ("src/kvm/vcpu.c", "KVM_RUN failed",
     "the vCPU stops (the loop breaks) and with it the VM"),
    ("src/vmm/vm_run.c", "console input closed",
     "end of the console input: the source is removed from the event loop"),
    ("src/vmm/vm_run.c", "console output: cannot make it non-blocking",
     "console set-up, before the guest runs"),
    ("src/vmm/vm_run.c", "cannot switch the terminal to raw mode",
     "console set-up, before the guest runs"),
    ("src/vmm/vm_run.c", "console input is not pollable",
     "console set-up, before the guest runs"),
    ("src/vmm/vm_run.c", "console reader too slow",
     "the final drain at exit, once per VM"),
    ("src/vmm/vm_run.c", '"exits to user space:',
     "vm_log_counters(), once per VM at exit"),
    ("src/vmm/vm_run.c", '"block %s: reads=',
     "vm_log_counters(), once per drive at exit"),
    ("src/vmm/vm_run.c", '"net %s: rx_packets=',
     "vm_log_counters(), once per interface at exit"),
    ("src/vmm/vm_run.c", "setting up the console",
     "vm_start(), before the guest runs"),
    ("src/vmm/vm_run.c", "installing the vCPU kick signal",
     "vm_start(), before the guest runs"),
    ("src/vmm/vm_run.c", "starting vCPU %u",
     "vm_start(), before the guest runs"),
    ("src/vmm/vm_run.c", '"VM started"',
     "vm_start(), once per VM"),
]

PYTEST_REF = re.compile(r"tests/integration/(test_\w+\.py)::(\w+(?:::\w+)*)(?:\[(.+)\])?")
CMOCKA_REF = re.compile(r"tests/unit/(test_\w+\.c): (\w+)")
FILE_REF = re.compile(r"tests/(?:integration|unit|guest)/[\w./-]*")
TICKED = re.compile(r"`([^`]+)`")


# ---------------------------------------------------------------- the page

def references(page):
    """Every backticked span of the page that points into tests/: (text,
    line number)."""
    out = []
    for no, line in enumerate(page.splitlines(), 1):
        for m in TICKED.finditer(line):
            if m.group(1).startswith("tests/"):
                out.append((m.group(1), no))
    return out


def split_row(line):
    """The cells of a Markdown table row; `\\|` stays inside a cell."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def catalogue_rows(page):
    """The rows of every catalogue table (a header whose last cell is
    "shown by"): (line number, cells)."""
    rows, header = [], None
    for no, line in enumerate(page.splitlines(), 1):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = split_row(line)
        if header is None:
            header = cells
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        if header[-1].lower() == "shown by":
            rows.append((no, len(header), cells))
    return rows


def check_rows(page):
    """Rows that name no test, or name something that is not a test."""
    problems = []
    rows = catalogue_rows(page)
    for no, width, cells in rows:
        if len(cells) != width:
            problems.append(f"line {no}: {len(cells)} cells, the header has {width}")
            continue
        spans = TICKED.findall(cells[-1])
        rest = TICKED.sub("", cells[-1]).replace(",", "").strip()
        if not spans:
            problems.append(f"line {no}: the row names no test")
        if rest:
            problems.append(f"line {no}: text outside the test names: {rest!r}")
        for s in spans:
            if not (PYTEST_REF.fullmatch(s) or CMOCKA_REF.fullmatch(s)):
                problems.append(f"line {no}: not a test name: {s!r}")
    return problems


def hostile_scenarios(main_c):
    return re.findall(r'\{\s*"(hostile-[\w-]+)"\s*,', main_c)


def check_hostile(page, main_c):
    names = hostile_scenarios(main_c)
    problems = [] if names else ["no hostile-* scenario found in tests/guest/main.c"]
    for n in names:
        if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", page):
            problems.append(f"the guest's scenario {n} is not mentioned")
    return problems


# ------------------------------------------------------- tests that exist

@functools.lru_cache(maxsize=None)
def collected(file):
    """The node ids pytest collects in tests/integration/<file>, once."""
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", file],
        cwd=INTEGRATION, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"collecting {file} failed:\n{r.stdout}\n{r.stderr}"
    return frozenset(line.strip() for line in r.stdout.splitlines()
                     if line.startswith(file + "::"))


def strip_c(src):
    """C source with comments, string and character literals blanked (same
    length, newlines kept), so that braces and calls can be counted."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                  blank, src, flags=re.S)


def closing(code, open_at):
    """The index of the bracket that closes the one at open_at."""
    pairs = {"{": "}", "(": ")"}
    o, c = code[open_at], pairs[code[open_at]]
    depth = 0
    for i in range(open_at, len(code)):
        if code[i] == o:
            depth += 1
        elif code[i] == c:
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced")


def top_level_split(text):
    """text split at the commas outside any bracket."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def cmocka_cases(src):
    """The case functions of a cmocka file's `tests[]` table, through any
    wrapping macro (the first argument of each entry: cmocka_unit_test(fn),
    PT(fn), BOTH(fn), E(fn, eng), ...), mapped to True when the case is
    unconditionally skipped, False otherwise, None when its definition
    cannot be found."""
    code = strip_c(src)
    m = re.search(r"CMUnitTest\s+tests\s*\[\s*\]\s*=\s*\{", code)
    if not m:
        return {}
    table = code[m.end():closing(code, m.end() - 1)]
    cases = {}
    for entry in top_level_split(table):
        e = re.match(r"\w+\s*\(\s*(\w+)", entry) or re.match(r'\{\s*"[^"]*"\s*,\s*(\w+)', entry)
        if e:
            cases[e.group(1)] = unconditionally_skipped(code, e.group(1))
    return cases


SKIP_CALL = re.compile(r"skip\s*\(\s*\)\s*;")


def unconditionally_skipped(code, fn):
    d = re.search(rf"\bvoid\s+{fn}\s*\([^)]*\)\s*\{{", code)
    if not d:
        return None
    start = d.end() - 1
    body = code[start:closing(code, start) + 1]
    depth = 0
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 1 and ch == "s" and SKIP_CALL.match(body, i) \
                and not re.match(r"\w", body[i - 1]):
            before = body[:i].rstrip()
            if before[-1] in ";{}":  # a statement of its own, not under an if
                return True
    return False


def check_tests(page, collect=collected, unit_source=None):
    """References to tests that do not exist (or show nothing)."""
    if unit_source is None:
        def unit_source(name):
            p = ROOT / "tests" / "unit" / name
            return p.read_text() if p.exists() else None
    problems, cases = [], {}
    for ref, no in references(page):
        if m := PYTEST_REF.fullmatch(ref):
            file, name, param = m.groups()
            if not (INTEGRATION / file).exists():
                problems.append(f"line {no}: {ref}: no such file")
                continue
            ids = collect(file)
            node = f"{file}::{name}"
            if param is not None:
                ok = f"{node}[{param}]" in ids
            else:
                ok = node in ids or any(i.startswith(node + "[") for i in ids)
            if not ok:
                problems.append(f"line {no}: {ref}: pytest does not collect it")
        elif m := CMOCKA_REF.fullmatch(ref):
            file, case = m.groups()
            if file not in cases:
                src = unit_source(file)
                cases[file] = None if src is None else cmocka_cases(src)
            if cases[file] is None:
                problems.append(f"line {no}: {ref}: no such file")
            elif case not in cases[file]:
                problems.append(f"line {no}: {ref}: not in the file's tests[] table")
            elif cases[file][case] is None:
                problems.append(f"line {no}: {ref}: its definition was not found")
            elif cases[file][case]:
                problems.append(f"line {no}: {ref}: unconditionally skipped (a known bug)")
        elif FILE_REF.fullmatch(ref):
            if not (ROOT / ref).exists():
                problems.append(f"line {no}: {ref}: no such file")
        else:
            problems.append(f"line {no}: {ref!r}: neither a test nor a file")
    return problems


# ------------------------------------------------------- guest-reach logs

def guest_reach_sources():
    files = {}
    for pattern in GUEST_REACH:
        found = sorted(p for p in ROOT.glob(pattern) if p.is_file())
        assert found, f"{pattern} matches no file: update GUEST_REACH and docs/security.md"
        for p in found:
            files[str(p.relative_to(ROOT))] = p.read_text()
    return files


LOG_CALL = re.compile(r"\b(LOG_[A-Z_]+|log_msg)\s*\(")


def log_calls(src):
    """(line, macro, the call's source text) of every log call that is not
    a #define."""
    code = strip_c(src)
    out = []
    for m in LOG_CALL.finditer(code):
        line_start = code.rfind("\n", 0, m.start()) + 1
        if code[line_start:m.start()].lstrip().startswith("#"):
            continue
        end = closing(code, m.end() - 1)
        out.append((code.count("\n", 0, m.start()) + 1, m.group(1), src[m.start():end + 1]))
    return out


def check_logs(files, allowed=LOGGED_ONCE):
    problems, used = [], {i: 0 for i in range(len(allowed))}
    for path, src in sorted(files.items()):
        for line, macro, text in log_calls(src):
            if macro.startswith("LOG_RL"):
                continue
            hits = [i for i, (f, piece, _) in enumerate(allowed) if f == path and piece in text]
            for i in hits:
                used[i] += 1
            if len(hits) != 1:
                first = " ".join(text.split())[:90]
                problems.append(f"{path}:{line}: {first} is not rate-limited (LOG_RL_*) "
                                f"and matches {len(hits)} LOGGED_ONCE entries, not 1")
    for i, n in used.items():
        if n != 1:
            f, piece, _ = allowed[i]
            problems.append(f"LOGGED_ONCE entry ({f}, {piece!r}) matches {n} log calls, not 1")
    return problems


# ------------------------------------------------------------ the checks

def test_named_tests_exist():
    assert check_tests(PAGE.read_text()) == []


def test_every_row_names_a_test():
    page = PAGE.read_text()
    assert len(catalogue_rows(page)) > 100  # the parser sees the tables
    assert check_rows(page) == []


def test_every_hostile_scenario_is_mentioned():
    assert check_hostile(PAGE.read_text(), GUEST_MAIN.read_text()) == []


def test_guest_reach_logs_are_limited():
    assert check_logs(guest_reach_sources()) == []


def test_guest_reach_is_written_down():
    # The page names the same files: each pattern up to its first wildcard.
    page = PAGE.read_text()
    for pattern in GUEST_REACH:
        fixed = re.split(r"[*?\[]", pattern)[0]
        assert f"`{fixed}" in page, pattern


def test_every_logged_once_entry_has_a_reason():
    for f, piece, why in LOGGED_ONCE:
        assert (ROOT / f).exists() and piece and len(why) > 10, (f, piece)


# ------------------------------------------- each check can fail: proven

def test_self_renamed_pytest_name_is_caught():
    page = PAGE.read_text()
    name = "test_hostile_guest.py::test_doorbell_storm_keeps_the_api_answering"
    assert name in page
    bad = page.replace(name, name + "_renamed", 1)
    assert any("_renamed: pytest does not collect it" in p for p in check_tests(bad))


def test_self_wrong_parametrized_id_is_caught():
    page = PAGE.read_text()
    name = "test_hostile_block[hostile-desc-loop]"
    assert name in page
    bad = page.replace(name, "test_hostile_block[hostile-no-such-thing]", 1)
    assert any("hostile-no-such-thing]: pytest does not collect it" in p
               for p in check_tests(bad))


def test_self_renamed_cmocka_case_is_caught():
    page = PAGE.read_text()
    name = "tests/unit/test_virtio_blk.c: flush_data_outside_ram"
    assert name in page
    bad = page.replace(name, name + "_renamed", 1)
    assert any("not in the file's tests[] table" in p for p in check_tests(bad))


def test_self_skipped_cmocka_case_is_caught():
    page = PAGE.read_text()
    real = (ROOT / "tests/unit/test_virtio_blk.c").read_text()
    opening = "static void flush_data_outside_ram(void **state)\n{\n"
    assert opening in real

    def source(skip_statement):
        def unit_source(name):
            p = ROOT / "tests" / "unit" / name
            src = p.read_text() if p.exists() else None
            if name == "test_virtio_blk.c":
                src = src.replace(opening, opening + skip_statement, 1)
            return src
        return unit_source

    # The page names the case; the real file does not skip it.
    assert check_tests(page, unit_source=source("")) == []
    # A bare skip() at the top of its body, even after a comment, is caught ...
    caught = check_tests(page, unit_source=source("\t/* BUG: ... */\n\tskip();\n"))
    assert any("flush_data_outside_ram: unconditionally skipped" in p for p in caught)
    # ... a conditional one (a host without io_uring) and one in a comment are not.
    for ok in ("\tif (getenv(\"X\"))\n\t\tskip();\n", "\tif (1) {\n\t\tskip();\n\t}\n",
               "\t/* skip(); */\n"):
        assert check_tests(page, unit_source=source(ok)) == [], ok


def test_self_cmocka_table_through_macros():
    src = """
        static void a(void **s) { (void)s; }
        static void b(void **s) { skip(); }
        static void c(void **s) { if (x) skip(); }
        #define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        #define BOTH(fn) E(fn, SYNC), E(fn, ASYNC)
        static const struct CMUnitTest tests[] = {
            T(a), BOTH(b), E(c, ASYNC), cmocka_unit_test_teardown(d, teardown),
        };"""
    assert cmocka_cases(src) == {"a": False, "b": True, "c": False, "d": None}


def test_self_row_without_a_test_is_caught():
    page = PAGE.read_text()
    line = next(l for l in page.splitlines()
                if "`tests/unit/test_i8042.c: odd_accesses` |" in l)
    bad = page.replace(line, line.replace("`tests/unit/test_i8042.c: odd_accesses`", ""), 1)
    assert any("names no test" in p for p in check_rows(bad))
    bad = page.replace(line, line.replace("`tests/unit/test_i8042.c: odd_accesses`",
                                          "tests/unit/test_i8042.c: odd_accesses"), 1)
    assert any("names no test" in p for p in check_rows(bad))


def test_self_unmentioned_hostile_scenario_is_caught():
    page, main_c = PAGE.read_text(), GUEST_MAIN.read_text()
    assert "hostile-doorbell" in hostile_scenarios(main_c)
    bad = page.replace("hostile-doorbell", "hostile-bell")
    assert check_hostile(bad, main_c) == ["the guest's scenario hostile-doorbell is not mentioned"]
    # A prefix of a longer name is no mention of it.
    bad = page.replace("hostile-buf-gap", "hostile-buf-gapless")
    assert check_hostile(bad, main_c) == ["the guest's scenario hostile-buf-gap is not mentioned"]


def test_self_unlimited_log_line_is_caught():
    files = guest_reach_sources()
    net = "src/devices/virtio/net.c"
    files[net] += '\nstatic void f(void)\n{\n\tLOG_WARN("frame dropped: %u", 1);\n}\n'
    assert any(p.startswith(f"{net}:") and "frame dropped" in p for p in check_logs(files))
    # Rate-limited, or in a comment, it is fine.
    files = guest_reach_sources()
    files[net] += '\n/* LOG_WARN("x") */\nstatic void f(void)\n{\n\tLOG_RL_WARN("x");\n}\n'
    assert check_logs(files) == []
    # An entry of the list whose line is gone is caught too.
    files = guest_reach_sources()
    files["src/vmm/vm_run.c"] = files["src/vmm/vm_run.c"].replace(
        'LOG_INFO("VM started");', "")
    assert check_logs(files) == [
        "LOGGED_ONCE entry (src/vmm/vm_run.c, '\"VM started\"') matches 0 log calls, not 1"]

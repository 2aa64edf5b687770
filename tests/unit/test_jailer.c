/* SPDX-License-Identifier: Apache-2.0 */
/* ember-jailer's pure parts: the command line, id/uid/gid/cgroup/rlimit
 * values, /proc parsers, the ELF interpreter check, cgroup preparation
 * against a fake /proc/mounts, and the undo log on a temp directory. */
#include "unit.h"

#include <elf.h>
#include <sys/stat.h>

#include "jailer/jailer.h"

#define ARGV(...)	 ((char *[]){"ember-jailer", __VA_ARGS__, NULL})
#define ARGC(...)	 ((int)(sizeof((char *[]){"ember-jailer", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(f, e, ...) jail_parse_flags(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), f, e)

#define REQ "--id", "vm1", "--exec-file", "/usr/bin/ember", "--uid", "123", "--gid", "100"

/* ---------------------------------------------------------------- flags */

static void flags_minimal_and_defaults(void **state)
{
	struct jail_flags f;
	struct jerr e;
	assert_int_equal(PARSE(&f, &e, REQ), 0);
	assert_string_equal(f.id, "vm1");
	assert_string_equal(f.exec_file, "/usr/bin/ember");
	assert_string_equal(f.uid, "123");
	assert_string_equal(f.gid, "100");
	assert_string_equal(f.chroot_base, "/srv/jailer");
	assert_string_equal(f.cgroup_version, "1");
	assert_null(f.netns);
	assert_null(f.parent_cgroup);
	assert_false(f.daemonize || f.new_pid_ns || f.help || f.version);
	assert_int_equal(f.n_cgroups, 0);
	assert_int_equal(f.n_rlimits, 0);
	assert_int_equal(f.n_extra, 0);
	assert_null(f.extra[0]);
}

static void flags_everything(void **state)
{
	struct jail_flags f;
	struct jerr e;
	assert_int_equal(PARSE(&f, &e, REQ, "--chroot-base-dir", "/tmp/j", "--netns",
			       "/var/run/netns/n", "--daemonize", "--new-pid-ns", "--cgroup",
			       "cpuset.cpus=0", "--cgroup", "cpuset.mems=0", "--cgroup-version",
			       "2", "--parent-cgroup", "a/b", "--resource-limit", "fsize=1",
			       "--resource-limit", "no-file=5", "--", "--no-api", "--config-file",
			       "/vm.json"),
			 0);
	assert_string_equal(f.chroot_base, "/tmp/j");
	assert_string_equal(f.netns, "/var/run/netns/n");
	assert_true(f.daemonize && f.new_pid_ns);
	assert_int_equal(f.n_cgroups, 2);
	assert_string_equal(f.cgroups[1], "cpuset.mems=0");
	assert_string_equal(f.cgroup_version, "2");
	assert_string_equal(f.parent_cgroup, "a/b");
	assert_int_equal(f.n_rlimits, 2);
	assert_string_equal(f.rlimits[0], "fsize=1");
	assert_int_equal(f.n_extra, 3);
	assert_string_equal(f.extra[0], "--no-api");
	assert_string_equal(f.extra[2], "/vm.json");
	assert_null(f.extra[3]);
}

static void flags_missing_required(void **state)
{
	struct jail_flags f;
	struct jerr e;
	assert_errno(PARSE(&f, &e, "--exec-file", "x", "--uid", "1", "--gid", "1"), -EINVAL);
	assert_substr(e.msg, "missing required flag --id");
	assert_errno(PARSE(&f, &e, "--id", "a", "--uid", "1", "--gid", "1"), -EINVAL);
	assert_substr(e.msg, "missing required flag --exec-file");
	assert_errno(PARSE(&f, &e, "--id", "a", "--exec-file", "x", "--gid", "1"), -EINVAL);
	assert_substr(e.msg, "missing required flag --uid");
	assert_errno(PARSE(&f, &e, "--id", "a", "--exec-file", "x", "--uid", "1"), -EINVAL);
	assert_substr(e.msg, "missing required flag --gid");
	/* A flag after "--" is the VMM's, not ours. */
	assert_errno(
	    PARSE(&f, &e, "--exec-file", "x", "--uid", "1", "--gid", "1", "--", "--id", "a"),
	    -EINVAL);
	assert_substr(e.msg, "missing required flag --id");
}

static void flags_grammar_errors(void **state)
{
	struct jail_flags f;
	struct jerr e;
	assert_errno(PARSE(&f, &e, REQ, "--frobnicate"), -EINVAL);
	assert_substr(e.msg, "unknown flag '--frobnicate'");
	assert_errno(PARSE(&f, &e, REQ, "--seccomp-level", "2"), -EINVAL);
	assert_substr(e.msg, "unknown flag '--seccomp-level'");
	assert_errno(PARSE(&f, &e, REQ, "--node", "0"), -EINVAL);
	assert_substr(e.msg, "unknown flag '--node'");
	assert_errno(PARSE(&f, &e, "--id=vm1", "--exec-file", "x", "--uid", "1", "--gid", "1"),
		     -EINVAL);
	assert_substr(e.msg, "unknown flag '--id=vm1' (write '--id VALUE')");
	assert_errno(PARSE(&f, &e, REQ, "--id", "vm2"), -EINVAL);
	assert_substr(e.msg, "--id given more than once");
	assert_errno(PARSE(&f, &e, REQ, "--daemonize", "--daemonize"), -EINVAL);
	assert_substr(e.msg, "--daemonize given more than once");
	assert_errno(PARSE(&f, &e, REQ, "--netns"), -EINVAL);
	assert_substr(e.msg, "--netns needs a value");
	assert_errno(PARSE(&f, &e, "--id", "--uid", "1"), -EINVAL);
	assert_substr(e.msg, "--id needs a value");
	assert_errno(PARSE(&f, &e, REQ, "stray"), -EINVAL);
	assert_substr(e.msg, "unexpected argument 'stray'");
	assert_errno(PARSE(&f, &e, REQ, "-v"), -EINVAL);
	assert_substr(e.msg, "unexpected argument '-v'");
}

static void flags_help_and_version_win(void **state)
{
	struct jail_flags f;
	struct jerr e;
	assert_int_equal(PARSE(&f, &e, "--bogus", "-h"), 0);
	assert_true(f.help);
	assert_int_equal(PARSE(&f, &e, "--version", "--help"), 0);
	assert_true(f.help);
	assert_false(f.version);
	assert_int_equal(PARSE(&f, &e, "--id", "x", "--version"), 0);
	assert_true(f.version);
	/* After "--" they belong to the VMM. */
	assert_errno(PARSE(&f, &e, "--", "--help"), -EINVAL);
	assert_substr(e.msg, "missing required flag");
}

static void flags_multi_limit(void **state)
{
	char *argv[2 + 2 * (JAIL_MULTI_MAX + 1) + 8];
	struct jail_flags f;
	struct jerr e;
	int n = 0;
	argv[n++] = "ember-jailer";
	for (int i = 0; i <= JAIL_MULTI_MAX; i++) {
		argv[n++] = "--cgroup";
		argv[n++] = "cpu.shares=2";
	}
	argv[n] = NULL;
	assert_errno(jail_parse_flags(n, argv, &f, &e), -E2BIG);
	assert_substr(e.msg, "--cgroup given more than 64 times");
}

/* ---------------------------------------------------------------- values */

static void id_rules(void **state)
{
	struct jerr e;
	char s64[65], s65[66];
	memset(s64, 'a', 64);
	s64[64] = '\0';
	memset(s65, 'b', 65);
	s65[65] = '\0';
	assert_int_equal(jail_check_id("551e7604-e35c-42b3-b825-416853441234", &e), 0);
	assert_int_equal(jail_check_id("A", &e), 0);
	assert_int_equal(jail_check_id(s64, &e), 0);
	assert_errno(jail_check_id(s65, &e), -EINVAL);
	assert_substr(e.msg, "invalid --id: 65 characters");
	assert_errno(jail_check_id("", &e), -EINVAL);
	assert_substr(e.msg, "invalid --id: 0 characters");
	assert_errno(jail_check_id("a/b", &e), -EINVAL);
	assert_substr(e.msg, "invalid --id 'a/b': '/' at position 1");
	assert_errno(jail_check_id("..", &e), -EINVAL);
	assert_substr(e.msg, "'.' at position 0");
	assert_errno(jail_check_id("a_b", &e), -EINVAL);
	assert_errno(jail_check_id("a b", &e), -EINVAL);
	assert_errno(jail_check_id("a\nb", &e), -EINVAL);
	assert_substr(e.msg, "\\x0a at position 1");
	assert_errno(jail_check_id("caf\xc3\xa9", &e), -EINVAL);
}

static void xid_rules(void **state)
{
	struct jerr e;
	uint32_t v = 7;
	assert_int_equal(jail_parse_xid("--uid", "0", &v, &e), 0);
	assert_int_equal(v, 0);
	assert_int_equal(jail_parse_xid("--uid", "123456", &v, &e), 0);
	assert_int_equal(v, 123456);
	assert_int_equal(jail_parse_xid("--gid", "4294967294", &v, &e), 0);
	assert_int_equal(v, 4294967294u);
	assert_errno(jail_parse_xid("--uid", "4294967295", &v, &e), -ERANGE);
	assert_substr(e.msg, "invalid --uid '4294967295': out of range");
	assert_errno(jail_parse_xid("--uid", "99999999999999999999999", &v, &e), -EINVAL);
	assert_substr(e.msg, "out of range");
	assert_errno(jail_parse_xid("--uid", "nobody", &v, &e), -EINVAL);
	assert_substr(e.msg, "invalid --uid 'nobody': not a number");
	assert_errno(jail_parse_xid("--gid", "-1", &v, &e), -EINVAL);
	assert_substr(e.msg, "invalid --gid '-1': not a number");
	assert_errno(jail_parse_xid("--uid", "", &v, &e), -EINVAL);
	assert_errno(jail_parse_xid("--uid", " 1", &v, &e), -EINVAL);
	assert_errno(jail_parse_xid("--uid", "0x10", &v, &e), -EINVAL);
	assert_errno(jail_parse_xid("--uid", "1.5", &v, &e), -EINVAL);
}

static void cgroup_version_rules(void **state)
{
	struct jerr e;
	int v = 0;
	assert_int_equal(jail_parse_cgroup_version("1", &v, &e), 0);
	assert_int_equal(v, 1);
	assert_int_equal(jail_parse_cgroup_version("2", &v, &e), 0);
	assert_int_equal(v, 2);
	assert_errno(jail_parse_cgroup_version("3", &v, &e), -EINVAL);
	assert_substr(e.msg, "invalid --cgroup-version '3': 1 or 2");
	assert_errno(jail_parse_cgroup_version("", &v, &e), -EINVAL);
	assert_errno(jail_parse_cgroup_version("v2", &v, &e), -EINVAL);
}

static void parent_cgroup_rules(void **state)
{
	struct jerr e;
	unsigned d = 99;
	assert_int_equal(jail_check_parent_cgroup("ember", &d, &e), 0);
	assert_int_equal(d, 1);
	assert_int_equal(jail_check_parent_cgroup("all_uvms/external_uvms", &d, &e), 0);
	assert_int_equal(d, 2);
	assert_int_equal(jail_check_parent_cgroup("a//b/", &d, &e), 0);
	assert_int_equal(d, 2);
	assert_int_equal(jail_check_parent_cgroup("..a/b..", &d, &e), 0);
	assert_int_equal(d, 2);
	assert_errno(jail_check_parent_cgroup("/abs", &d, &e), -EINVAL);
	assert_substr(e.msg, "invalid --parent-cgroup '/abs'");
	assert_errno(jail_check_parent_cgroup("a/../b", &d, &e), -EINVAL);
	assert_errno(jail_check_parent_cgroup("..", &d, &e), -EINVAL);
	assert_errno(jail_check_parent_cgroup(".", &d, &e), -EINVAL);
	assert_errno(jail_check_parent_cgroup("a/./b", &d, &e), -EINVAL);
	assert_errno(jail_check_parent_cgroup("a/.", &d, &e), -EINVAL);
	assert_errno(jail_check_parent_cgroup("", &d, &e), -EINVAL);
}

static void rlimit_rules(void **state)
{
	struct jail_rlimits r;
	struct jerr e;
	jail_rlimits_init(&r);
	assert_false(r.has_fsize);
	assert_int_equal(r.nofile, 2048);
	assert_int_equal(jail_parse_rlimit("fsize=250000000", &r, &e), 0);
	assert_true(r.has_fsize);
	assert_int_equal(r.fsize, 250000000);
	assert_int_equal(jail_parse_rlimit("no-file=1024", &r, &e), 0);
	assert_int_equal(r.nofile, 1024);
	assert_int_equal(jail_parse_rlimit("no-file=18446744073709551615", &r, &e), 0);
	assert_true(r.nofile == UINT64_MAX);
	assert_errno(jail_parse_rlimit("no-file=18446744073709551616", &r, &e), -EINVAL);
	assert_errno(jail_parse_rlimit("no-file=abc", &r, &e), -EINVAL);
	assert_substr(e.msg, "invalid --resource-limit 'no-file=abc': 'abc' is not a number");
	assert_errno(jail_parse_rlimit("no-file=-1", &r, &e), -EINVAL);
	assert_errno(jail_parse_rlimit("fsize=", &r, &e), -EINVAL);
	assert_errno(jail_parse_rlimit("nofile=5", &r, &e), -EINVAL);
	assert_substr(e.msg, "unknown resource 'nofile' (fsize or no-file)");
	assert_errno(jail_parse_rlimit("fsize", &r, &e), -EINVAL);
	assert_substr(e.msg, "expected fsize=<bytes> or no-file=<n>");
	assert_errno(jail_parse_rlimit("=5", &r, &e), -EINVAL);
}

static void cgroup_arg_rules(void **state)
{
	struct cg_prop p;
	struct jerr e;
	assert_int_equal(jail_parse_cgroup_arg("cpuset.cpus=0-3", &p, &e), 0);
	assert_string_equal(p.file, "cpuset.cpus");
	assert_string_equal(p.controller, "cpuset");
	assert_string_equal(p.value, "0-3");
	assert_int_equal(jail_parse_cgroup_arg("hugetlb.2MB.max=0", &p, &e), 0);
	assert_string_equal(p.controller, "hugetlb");
	assert_int_equal(jail_parse_cgroup_arg("cpu.max=max 100000", &p, &e), 0);
	assert_string_equal(p.value, "max 100000");

	const char *bad_format[] = {"cpu.shares", "cpu.shares=", "=1", "a=b=c", ""};
	for (size_t i = 0; i < ARRAY_SIZE(bad_format); i++) {
		assert_errno(jail_parse_cgroup_arg(bad_format[i], &p, &e), -EINVAL);
		assert_substr(e.msg, "expected <file>=<value>");
	}
	const char *bad_file[] = {"tasks=1",	     ".shares=1", "cpu.=1",
				  "../cpu.shares=1", "cpu/x.y=1", "/cpu.shares=1"};
	for (size_t i = 0; i < ARRAY_SIZE(bad_file); i++) {
		assert_errno(jail_parse_cgroup_arg(bad_file[i], &p, &e), -EINVAL);
		assert_substr(e.msg, "is not a cgroup file name");
	}
}

static void path_building(void **state)
{
	char small[16], big[PATH_MAX];
	struct jerr e;
	assert_int_equal(
	    jail_path(big, sizeof(big), &e, "%s/%s/%s/root", "/srv/jailer", "ember", "vm1"), 0);
	assert_string_equal(big, "/srv/jailer/ember/vm1/root");
	assert_errno(jail_path(small, sizeof(small), &e, "%s/%s", "/srv/jailer", "ember"),
		     -ENAMETOOLONG);
	assert_substr(e.msg, "path too long");
}

/* ---------------------------------------------------------------- /proc parsers */

static void mount_lines(void **state)
{
	char dir[PATH_MAX], opts[1024];
	assert_int_equal(cg_parse_mount_line("cgroup /sys/fs/cgroup/cpu,cpuacct cgroup "
					     "rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n",
					     dir, sizeof(dir), opts, sizeof(opts)),
			 1);
	assert_string_equal(dir, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(opts, "rw,nosuid,nodev,noexec,relatime,cpu,cpuacct");
	assert_true(cg_list_has(opts, ',', "cpu"));
	assert_true(cg_list_has(opts, ',', "cpuacct"));
	assert_false(cg_list_has(opts, ',', "cpuset"));
	assert_false(cg_list_has(opts, ',', "cp"));
	assert_int_equal(cg_parse_mount_line("cgroup2 /sys/fs/cgroup/unified cgroup2 "
					     "rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n",
					     dir, sizeof(dir), opts, sizeof(opts)),
			 2);
	assert_string_equal(dir, "/sys/fs/cgroup/unified");
	assert_int_equal(cg_parse_mount_line("none /a\\040b\\134c cgroup rw,memory 0 0", dir,
					     sizeof(dir), opts, sizeof(opts)),
			 1);
	assert_string_equal(dir, "/a b\\c");
	assert_int_equal(cg_parse_mount_line("tmpfs /sys/fs/cgroup tmpfs rw,mode=755 0 0", dir,
					     sizeof(dir), opts, sizeof(opts)),
			 0);
	assert_int_equal(
	    cg_parse_mount_line("proc /proc proc rw 0 0", dir, sizeof(dir), opts, sizeof(opts)), 0);
	assert_int_equal(
	    cg_parse_mount_line("cgroup /x cgroup", dir, sizeof(dir), opts, sizeof(opts)), 0);
	assert_int_equal(cg_parse_mount_line("", dir, sizeof(dir), opts, sizeof(opts)), 0);
	assert_int_equal(
	    cg_parse_mount_line("cgroup /x cgroupfoo rw 0 0", dir, sizeof(dir), opts, sizeof(opts)),
	    0);
	assert_true(cg_list_has("hugetlb cpu memory", ' ', "memory"));
	assert_false(cg_list_has("", ' ', "memory"));
}

static void self_cgroup_lines(void **state)
{
	const char *text = "9:name=systemd:/\n"
			   "4:memory:/process_api/abc\n"
			   "2:cpu,cpuacct:/ember/vm1\n"
			   "0::/user.slice\n";
	char out[PATH_MAX];
	assert_int_equal(cg_self_path(text, 1, "cpu", out, sizeof(out)), 0);
	assert_string_equal(out, "/ember/vm1");
	assert_int_equal(cg_self_path(text, 1, "cpuacct", out, sizeof(out)), 0);
	assert_string_equal(out, "/ember/vm1");
	assert_int_equal(cg_self_path(text, 1, "memory", out, sizeof(out)), 0);
	assert_string_equal(out, "/process_api/abc");
	assert_int_equal(cg_self_path(text, 2, "", out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice");
	assert_errno(cg_self_path(text, 1, "systemd", out, sizeof(out)), -ENOENT);
	assert_errno(cg_self_path(text, 1, "cpuset", out, sizeof(out)), -ENOENT);
	assert_errno(cg_self_path("1:cpu:/x\n", 2, "", out, sizeof(out)), -ENOENT);
	assert_errno(cg_self_path(text, 1, "memory", out, 5), -ENAMETOOLONG);
}

static void misc_and_id_maps(void **state)
{
	const char *misc = "200 tun\n237 loop-control\n257 userfaultfd\n 58 rfkill\n232 kvm\n";
	unsigned m = 0;
	assert_int_equal(jail_misc_minor(misc, "userfaultfd", &m), 0);
	assert_int_equal(m, 257);
	assert_int_equal(jail_misc_minor(misc, "rfkill", &m), 0);
	assert_int_equal(m, 58);
	assert_errno(jail_misc_minor(misc, "userfault", &m), -ENOENT);
	assert_errno(jail_misc_minor("", "kvm", &m), -ENOENT);

	assert_true(jail_id_mapped("         0          0 4294967295\n", 123456));
	assert_true(jail_id_mapped("         0          0 4294967295\n", 4294967294u));
	assert_false(jail_id_mapped("         0       1000          1\n", 1));
	assert_true(jail_id_mapped("0 1000 1\n1 100000 65536\n", 65536));
	assert_false(jail_id_mapped("0 1000 1\n1 100000 65536\n", 65537));
	assert_false(jail_id_mapped("", 0));
}

/* ---------------------------------------------------------------- ELF */

/* A 64-bit ELF header and `n` program headers, with an interpreter string
 * at offset 0x200 when interp is given. */
static size_t make_elf(unsigned char *buf, size_t len, const char *interp, unsigned n)
{
	Elf64_Ehdr eh = {0};
	memset(buf, 0, len);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_DYN;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (Elf64_Half)n;
	memcpy(buf, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = {.p_type = PT_LOAD};
		if (interp && i == n - 1) {
			ph.p_type = PT_INTERP;
			ph.p_offset = 0x200;
			ph.p_filesz = strlen(interp) + 1;
			memcpy(buf + 0x200, interp, strlen(interp) + 1);
		}
		memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	return 0x200 + (interp ? strlen(interp) + 1 : 0);
}

static void elf_interpreter(void **state)
{
	unsigned char buf[1024];
	char out[PATH_MAX];
	size_t n;

	n = make_elf(buf, sizeof(buf), "/lib64/ld-linux-x86-64.so.2", 3);
	assert_int_equal(jail_elf_interp(buf, n, out, sizeof(out)), 1);
	assert_string_equal(out, "/lib64/ld-linux-x86-64.so.2");
	/* Static (no PT_INTERP), not ELF, 32-bit: nothing to check. */
	n = make_elf(buf, sizeof(buf), NULL, 3);
	assert_int_equal(jail_elf_interp(buf, n, out, sizeof(out)), 0);
	assert_int_equal(
	    jail_elf_interp((const unsigned char *)"#!/bin/sh\n", 10, out, sizeof(out)), 0);
	make_elf(buf, sizeof(buf), "/x", 1);
	buf[EI_CLASS] = ELFCLASS32;
	assert_int_equal(jail_elf_interp(buf, sizeof(buf), out, sizeof(out)), 0);
	/* Too short to tell. */
	n = make_elf(buf, sizeof(buf), "/lib/ld.so", 2);
	assert_errno(jail_elf_interp(buf, 40, out, sizeof(out)), -ERANGE);
	assert_errno(jail_elf_interp(buf, 0x200 + 3, out, sizeof(out)), -ERANGE);
	/* Malformed: no NUL, too long for out, huge phoff. */
	n = make_elf(buf, sizeof(buf), "/lib/ld.so", 1);
	buf[0x200 + strlen("/lib/ld.so")] = 'x';
	assert_errno(jail_elf_interp(buf, n, out, sizeof(out)), -EINVAL);
	n = make_elf(buf, sizeof(buf), "/lib/ld.so", 1);
	assert_errno(jail_elf_interp(buf, n, out, 4), -EINVAL);
	Elf64_Ehdr eh;
	memcpy(&eh, buf, sizeof(eh));
	eh.e_phoff = UINT64_MAX - 8;
	memcpy(buf, &eh, sizeof(eh));
	assert_true(jail_elf_interp(buf, n, out, sizeof(out)) < 0);

	/* This test binary is dynamically linked. */
	size_t len;
	char *self = ut_slurp("/proc/self/exe", &len);
	assert_non_null(self);
	assert_int_equal(jail_elf_interp((unsigned char *)self, len, out, sizeof(out)), 1);
	assert_true(out[0] == '/' && strstr(out, "ld-"));
	free(self);
}

/* ---------------------------------------------------------------- cgroups */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void cgroups_v1_prepare(void **state)
{
	char mounts[PATH_MAX];
	struct jail_flags f;
	struct jail_cgroups *c = calloc(1, sizeof(*c));
	struct jerr e;

	snprintf(mounts, sizeof(mounts), "%s/mounts-v1", ut_tmpdir);
	write_text(mounts, "proc /proc proc rw 0 0\n"
			   "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
			   "cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n"
			   "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n");
	assert_int_equal(PARSE(&f, &e, REQ, "--cgroup", "cpuset.cpus=0", "--cgroup",
			       "cpu.shares=512", "--cgroup", "cpuset.mems=0", "--cgroup",
			       "cpuacct.usage=0"),
			 0);
	assert_int_equal(cg_prepare(c, &f, 1, "vm1", "a//b/", 2, mounts, &e), 0);
	assert_string_equal(c->parent, "a/b");
	assert_int_equal(c->n_props, 4);
	/* One group per controller, in order of first use. */
	assert_int_equal(c->n_groups, 3);
	assert_string_equal(c->groups[0].controller, "cpuset");
	assert_string_equal(c->groups[0].mount, "/sys/fs/cgroup/cpuset");
	assert_int_equal(c->groups[0].n_props, 2);
	assert_string_equal(c->props[c->groups[0].props[1]].file, "cpuset.mems");
	assert_string_equal(c->groups[1].controller, "cpu");
	assert_string_equal(c->groups[1].mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(c->groups[2].controller, "cpuacct");
	assert_string_equal(c->groups[2].mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_false(c->join_parent);

	/* Unknown controller, malformed value. */
	assert_int_equal(
	    PARSE(&f, &e, REQ, "--cgroup", "cpu.shares=2", "--cgroup", "bogus.thing=1"), 0);
	assert_errno(cg_prepare(c, &f, 1, "vm1", "ember", 1, mounts, &e), -ENOENT);
	assert_substr(e.msg, "unknown cgroup controller 'bogus'");
	assert_int_equal(PARSE(&f, &e, REQ, "--cgroup", "cpu.shares"), 0);
	assert_errno(cg_prepare(c, &f, 1, "vm1", "ember", 1, mounts, &e), -EINVAL);
	assert_substr(e.msg, "invalid --cgroup 'cpu.shares'");

	/* Without --cgroup, v1 does not even read the mounts. */
	assert_int_equal(PARSE(&f, &e, REQ), 0);
	assert_int_equal(cg_prepare(c, &f, 1, "vm1", "ember", 1, "/nonexistent", &e), 0);
	assert_int_equal(c->n_groups, 0);

	/* No v1 hierarchy at all. */
	write_text(mounts, "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
	assert_int_equal(PARSE(&f, &e, REQ, "--cgroup", "cpu.shares=2"), 0);
	assert_errno(cg_prepare(c, &f, 1, "vm1", "ember", 1, mounts, &e), -ENOENT);
	assert_substr(e.msg, "no cgroup v1 hierarchy is mounted");
	unlink(mounts);
	free(c);
}

static void cgroups_v2_prepare(void **state)
{
	char mounts[PATH_MAX], uni[300], ctl[PATH_MAX], text[PATH_MAX];
	struct jail_flags f;
	struct jail_cgroups *c = calloc(1, sizeof(*c));
	struct jerr e;

	snprintf(mounts, sizeof(mounts), "%s/mounts-v2", ut_tmpdir);
	snprintf(uni, sizeof(uni), "%s/unified", ut_tmpdir);
	snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", uni);
	assert_int_equal(mkdir(uni, 0755), 0);
	write_text(ctl, "cpuset cpu io memory hugetlb pids\n");
	snprintf(text, sizeof(text),
		 "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
		 "cgroup2 %s cgroup2 rw,nsdelegate 0 0\n",
		 uni);
	write_text(mounts, text);

	assert_int_equal(PARSE(&f, &e, REQ, "--cgroup", "cpu.weight=50", "--cgroup",
			       "memory.max=1G", "--cgroup", "cpu.max=max 100000"),
			 0);
	assert_int_equal(cg_prepare(c, &f, 2, "vm1", "ember", 1, mounts, &e), 0);
	assert_int_equal(c->n_groups, 1);
	assert_string_equal(c->groups[0].mount, uni);
	assert_int_equal(c->groups[0].n_props, 3);
	assert_false(c->join_parent);

	assert_int_equal(PARSE(&f, &e, REQ, "--cgroup", "cpuacct.usage=0"), 0);
	assert_errno(cg_prepare(c, &f, 2, "vm1", "ember", 1, mounts, &e), -ENOENT);
	assert_substr(e.msg, "unknown cgroup controller 'cpuacct'");
	assert_substr(e.msg, "offers 'cpuset cpu io memory hugetlb pids'");

	/* No --cgroup: only a move into the parent. */
	assert_int_equal(PARSE(&f, &e, REQ), 0);
	assert_int_equal(cg_prepare(c, &f, 2, "vm1", "ember", 1, mounts, &e), 0);
	assert_true(c->join_parent);
	assert_int_equal(c->n_groups, 1);

	/* v2 asked, none mounted: an error even without --cgroup. */
	write_text(mounts, "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n");
	assert_errno(cg_prepare(c, &f, 2, "vm1", "ember", 1, mounts, &e), -ENOENT);
	assert_substr(e.msg, "no cgroup v2 hierarchy is mounted");

	unlink(ctl);
	rmdir(uni);
	unlink(mounts);
	free(c);
}

/* ---------------------------------------------------------------- undo, files */

static void undo_removes_only_what_was_made(void **state)
{
	struct undo *u = calloc(1, sizeof(*u));
	char path[PATH_MAX + 64];
	struct jerr e;
	struct stat st;
	int fd = open(ut_tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);

	/* "pre" exists already: not recorded, not removed. */
	snprintf(path, sizeof(path), "%s/pre", ut_tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(fs_mkdirs(u, fd, ut_tmpdir, "pre/a//b/c", 0755, &e), 0);
	assert_int_equal(u->n, 3);
	assert_string_equal(u->v[0].path, "pre/a");
	assert_string_equal(u->v[2].path, "pre/a/b/c");
	/* Again: everything exists, nothing new recorded. */
	assert_int_equal(fs_mkdirs(u, fd, ut_tmpdir, "pre/a/b/c/", 0755, &e), 0);
	assert_int_equal(u->n, 3);
	int f = openat(fd, "pre/a/b/c/file", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	close(f);
	assert_int_equal(undo_push(u, UNDO_UNLINK, fd, ut_tmpdir, "pre/a/b/c/file"), 0);

	undo_run(u);
	assert_int_equal(u->n, 0);
	snprintf(path, sizeof(path), "%s/pre/a", ut_tmpdir);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/pre", ut_tmpdir);
	assert_int_equal(stat(path, &st), 0);

	/* A symbolic link or a file on the way is refused. */
	snprintf(path, sizeof(path), "%s/pre/link", ut_tmpdir);
	assert_int_equal(symlink("/tmp", path), 0);
	assert_errno(fs_mkdirs(u, fd, ut_tmpdir, "pre/link/x", 0755, &e), -ENOTDIR);
	assert_substr(e.msg, "pre/link exists and is not a directory (a symbolic link)");
	unlink(path);
	snprintf(path, sizeof(path), "%s/pre/file", ut_tmpdir);
	write_text(path, "x");
	assert_errno(fs_mkdirs(u, fd, ut_tmpdir, "pre/file/x", 0755, &e), -ENOTDIR);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pre", ut_tmpdir);
	rmdir(path);
	close(fd);
	free(u);
}

static void small_files(void **state)
{
	char path[PATH_MAX + 64], line[64], text[8];
	struct jerr e;
	snprintf(path, sizeof(path), "%s/small", ut_tmpdir);
	write_text(path, "0-3\nsecond line\n");
	assert_int_equal(fs_read_line(path, line, sizeof(line), &e), 0);
	assert_string_equal(line, "0-3");
	assert_errno(fs_read_text(path, text, sizeof(text)), -EFBIG);
	write_text(path, "");
	assert_int_equal(fs_read_line(path, line, sizeof(line), &e), 0);
	assert_string_equal(line, "");
	assert_int_equal(fs_write_line(path, "512", &e), 0);
	assert_int_equal(fs_read_text(path, text, sizeof(text)), 0);
	assert_string_equal(text, "512\n");
	unlink(path);
	assert_errno(fs_read_line(path, line, sizeof(line), &e), -ENOENT);
	assert_substr(e.msg, "cannot open");
	assert_errno(fs_write_line(path, "1", &e), -ENOENT);
	assert_substr(e.msg, "No such file or directory");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(flags_minimal_and_defaults),
	    cmocka_unit_test(flags_everything),
	    cmocka_unit_test(flags_missing_required),
	    cmocka_unit_test(flags_grammar_errors),
	    cmocka_unit_test(flags_help_and_version_win),
	    cmocka_unit_test(flags_multi_limit),
	    cmocka_unit_test(id_rules),
	    cmocka_unit_test(xid_rules),
	    cmocka_unit_test(cgroup_version_rules),
	    cmocka_unit_test(parent_cgroup_rules),
	    cmocka_unit_test(rlimit_rules),
	    cmocka_unit_test(cgroup_arg_rules),
	    cmocka_unit_test(path_building),
	    cmocka_unit_test(mount_lines),
	    cmocka_unit_test(self_cgroup_lines),
	    cmocka_unit_test(misc_and_id_maps),
	    cmocka_unit_test(elf_interpreter),
	    cmocka_unit_test(cgroups_v1_prepare),
	    cmocka_unit_test(cgroups_v2_prepare),
	    cmocka_unit_test(undo_removes_only_what_was_made),
	    cmocka_unit_test(small_files),
	};
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name(__FILE__, tests, ut_tmpdir_setup, ut_tmpdir_teardown);
}

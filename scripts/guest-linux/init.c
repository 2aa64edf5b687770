/*
 * /sbin/init of ember's Linux guest rootfs (a static binary, built by
 * build-rootfs.sh with musl-gcc).
 *
 *  1. makes sure /dev (devtmpfs) is there, then writes the byte 123 to
 *     guest-physical 0xC0000000 through /dev/mem: ember's boot-timer device
 *     records the time of that write. Failure is a warning, not fatal.
 *  2. prints "EMBER-INIT: boot-timer written" on the console;
 *  3. mounts /proc, /sys, /dev/pts, /tmp, /run;
 *  4. runs a script, /etc/ember/run or the path in ember.run=<path> on the
 *     kernel command line, in its own session, and reaps orphans meanwhile;
 *  5. when the script exits: sync, remount / read-only, reboot(RB_AUTOBOOT).
 *     With reboot=k on the command line the kernel resets through the i8042,
 *     and the VMM exits.
 *
 * Everything it prints starts with "EMBER-INIT: ".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOOT_TIMER_GPA 0xC0000000UL /* ember boot-timer device, MMIO */
#define BOOT_TIMER_MAGIC 123        /* the byte it waits for */
#define DEFAULT_RUN "/etc/ember/run"
#define RUN_PARAM "ember.run="
#define CMDLINE_MAX 4096 /* COMMAND_LINE_SIZE is 2048 on x86 */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("EMBER-INIT: ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* The kernel opens /dev/console as fds 0-2 when it exists; if it did not
 * (no /dev/console in the image and no devtmpfs yet), try again later. */
static void open_console(void)
{
	int fd;

	if (fcntl(1, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void mount_fs(const char *type, const char *dir, unsigned long flags,
		     const char *data)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		say("warning: mkdir %s: %s", dir, strerror(errno));
		return;
	}
	/* EBUSY: already mounted (the kernel mounts devtmpfs on /dev). */
	if (mount(type, dir, type, flags, data) < 0 && errno != EBUSY)
		say("warning: mount %s on %s: %s", type, dir, strerror(errno));
}

static void write_boot_timer(void)
{
	long page = sysconf(_SC_PAGESIZE);
	volatile uint8_t *reg;
	void *map;
	int fd;

	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		say("warning: boot-timer not written: open /dev/mem: %s", strerror(errno));
		return;
	}
	map = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)BOOT_TIMER_GPA);
	if (map == MAP_FAILED) {
		say("warning: boot-timer not written: mmap /dev/mem at 0x%lx: %s",
		    BOOT_TIMER_GPA, strerror(errno));
		close(fd);
		return;
	}
	reg = map;
	*reg = BOOT_TIMER_MAGIC;
	munmap(map, (size_t)page);
	close(fd);
	say("boot-timer written");
}

/* The value of ember.run= on the kernel command line, or DEFAULT_RUN. */
static const char *run_script(void)
{
	static char cmdline[CMDLINE_MAX];
	char *tok, *save = NULL;
	ssize_t n;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return DEFAULT_RUN;
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	if (n <= 0)
		return DEFAULT_RUN;
	cmdline[n] = '\0';
	for (tok = strtok_r(cmdline, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, RUN_PARAM, strlen(RUN_PARAM)) == 0 &&
		    tok[strlen(RUN_PARAM)] != '\0')
			return tok + strlen(RUN_PARAM);
	}
	return DEFAULT_RUN;
}

static pid_t start_script(const char *path)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid; /* parent, or -1 */
	/* A session of its own: the script may take the console as its
	 * controlling tty (busybox cttyhack) for an interactive shell. */
	setsid();
	setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
	setenv("HOME", "/root", 1);
	setenv("SHELL", "/bin/sh", 1);
	if (!getenv("TERM"))
		setenv("TERM", "linux", 1);
	execl(path, path, (char *)NULL);
	if (errno == ENOEXEC || errno == EACCES)
		execl("/bin/sh", "sh", path, (char *)NULL);
	say("cannot run %s: %s", path, strerror(errno));
	_exit(127);
}

/* Wait for the script, reaping every orphan re-parented to us meanwhile. */
static int wait_script(pid_t script)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = wait(&status);
		if (pid == script)
			return status;
		if (pid < 0 && errno != EINTR)
			return -1;
	}
}

int main(void)
{
	const char *script;
	pid_t pid;
	int status;

	open_console();
	if (access("/dev/mem", F_OK) < 0)
		mount_fs("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
	open_console();
	write_boot_timer();

	mount_fs("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_fs("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_fs("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666");
	mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_fs("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755");

	script = run_script();
	say("running %s", script);
	pid = start_script(script);
	if (pid < 0) {
		say("fork: %s", strerror(errno));
	} else {
		status = wait_script(pid);
		if (status < 0)
			say("%s: lost track of it (%s)", script, strerror(errno));
		else if (WIFEXITED(status))
			say("%s exited with status %d", script, WEXITSTATUS(status));
		else
			say("%s killed by signal %d", script, WTERMSIG(status));
	}

	say("rebooting");
	sync();
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		say("warning: remount / read-only: %s", strerror(errno));
	reboot(RB_AUTOBOOT);
	say("reboot: %s", strerror(errno));
	for (;;) /* init must not exit: that would panic the kernel */
		pause();
}

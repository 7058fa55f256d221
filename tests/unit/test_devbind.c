/* SPDX-License-Identifier: MIT */
/*
 * uvio-devbind over a fake sysfs tree (UVIO_SYSFS_ROOT): --status names the
 * netdev or disk and marks the ones in use *Active*, the hugepage files are
 * written, read back and shown per node and size, and every bad input is
 * one line with the right exit status. What "in use" means is real: the
 * fake disks name a maj:min that /proc/self/mountinfo has, the fake netdev
 * is "lo", which the kernel gives 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../apps/uvio-devbind/options.c"
#include "../../apps/uvio-devbind/sysfs.c"
#include "../../apps/uvio-devbind/status.c"
#include "../../apps/uvio-devbind/hugepages.c"

static char root[64];
static char out[16384], err[4096];

/* ---- the fake tree ---- */

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = strchr(path + strlen(root) + 1, '/'); p; p = strchr(p + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p - path), path);
		mkdir(dir, 0755);
	}
	if (!text) {
		mkdir(path, 0755);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *rel)
{
	static char buf[256];
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	buf[0] = '\0';
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	return buf;
}

/* A virtio-pci function bound to virtio-pci; `child` under its virtio0. */
static void pci_dev(const char *bdf, const char *device, const char *child,
		    const char *dev)
{
	char rel[256], link[PATH_MAX];

	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/vendor", bdf);
	put(rel, "0x1af4\n");
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/device", bdf);
	put(rel, device);
	snprintf(link, sizeof(link), "%s/bus/pci/devices/%s/driver", root, bdf);
	assert_int_equal(symlink("../../../bus/pci/drivers/virtio-pci", link), 0);
	if (!child)
		return;
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtio0/%s", bdf, child);
	put(rel, NULL);
	if (dev) {
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtio0/%s/dev", bdf, child);
		put(rel, dev);
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/virtio0/%s/holders", bdf, child);
		put(rel, NULL);
	}
}

/* maj:min of a filesystem this process has mounted. */
static void mounted_dev(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	unsigned maj, min;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%*u %*u %u:%u", &maj, &min), 2);
	fclose(f);
	snprintf(buf, len, "%u:%u\n", maj, min);
}

static void make_devices(void)
{
	char used[32];

	mounted_dev(used, sizeof(used));
	pci_dev("0000:00:02.0", "0x1042\n", "block/vda", used);
	pci_dev("0000:00:03.0", "0x1041\n", "net/lo", NULL);
	put("class/net/lo/flags", "0x9\n");                /* UP | LOOPBACK */
	pci_dev("0000:00:04.0", "0x1042\n", "block/vdb", "250:77\n");
	pci_dev("0000:00:05.0", "0x1044\n", NULL, NULL);   /* rng */
	pci_dev("0000:00:06.0", "0x1042\n", "block/vdc", "250:78\n");
	put("bus/pci/devices/0000:00:06.0/virtio0/block/vdc/vdc1/dev", used);
	put("bus/pci/devices/0000:00:06.0/virtio0/block/vdc/vdc1/holders", NULL);
	pci_dev("0000:00:07.0", "0x1041\n", "net/uvt0", NULL);
	put("class/net/uvt0/flags", "0x1002\n");           /* down */
	pci_dev("0000:00:08.0", "0x1042\n", "block/vde", "250:79\n");
	put("bus/pci/devices/0000:00:08.0/virtio0/block/vde/holders/dm-0", NULL);
}

static void make_hugepages(void)
{
	static const char *const dirs[] = {
		"kernel/mm/hugepages",
		"devices/system/node/node0/hugepages",
		"devices/system/node/node1/hugepages",
	};
	char rel[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		for (int s = 0; s < 2; s++) {
			const char *kb = s ? "1048576" : "2048";

			snprintf(rel, sizeof(rel), "%s/hugepages-%skB/nr_hugepages", dirs[i], kb);
			put(rel, "0\n");
			snprintf(rel, sizeof(rel), "%s/hugepages-%skB/free_hugepages", dirs[i], kb);
			put(rel, "0\n");
		}
	put("devices/system/node/online", "0-1\n");
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/uvio-devbind-test.XXXXXX");
	assert_non_null(mkdtemp(root));
	setenv("UVIO_SYSFS_ROOT", root, 1);
	make_devices();
	make_hugepages();
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static int teardown(void **state)
{
	(void)state;
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("UVIO_SYSFS_ROOT");
	return 0;
}

/* ---- running the program ---- */

static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run uvio-devbind ARGS... with stdout into out[] and stderr into err[]. */
static int run(const char *first, ...)
{
	char *argv[32];
	int argc = 0, rc, o, e, so, se;
	va_list ap;

	argv[argc++] = (char *)"uvio-devbind";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	o = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	e = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	assert_true(o >= 0 && e >= 0);
	so = dup(1);
	se = dup(2);
	dup2(o, 1);
	dup2(e, 2);
	rc = devbind_run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(o, out, sizeof(out));
	slurp(e, err, sizeof(err));
	return rc;
}

/* The --status line of one device, without its newline. */
static const char *status_line(const char *bdf)
{
	static char line[512];
	char *p = strstr(out, bdf);

	assert_non_null(p);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	return line;
}

static void assert_ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	if (n < t || strcmp(s + n - t, tail))
		fail_msg("'%s' does not end with '%s'", s, tail);
}

/* One stderr line holding `what`, exit status `rc`. */
#define ONE_LINE_ERR(rc, what, ...) do {                                   \
		assert_int_equal(run(__VA_ARGS__, NULL), rc);               \
		assert_non_null(strstr(err, what));                         \
		assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); \
	} while (0)

/* ---- --status ---- */

static void test_status_names_and_active(void **state)
{
	(void)state;
	assert_int_equal(run("--status", NULL), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "BDF "));
	assert_non_null(strstr(out, " NAME\n"));
	/* mounted whole disk; netdev up with an address; mounted partition;
	 * a disk held by device mapper */
	assert_ends_with(status_line("0000:00:02.0"), " vda *Active*");
	assert_ends_with(status_line("0000:00:03.0"), " lo *Active*");
	assert_ends_with(status_line("0000:00:06.0"), " vdc *Active*");
	assert_ends_with(status_line("0000:00:08.0"), " vde *Active*");
	/* unused disk, netdev down, no kernel device at all */
	assert_ends_with(status_line("0000:00:04.0"), " vdb");
	assert_ends_with(status_line("0000:00:07.0"), " uvt0");
	assert_ends_with(status_line("0000:00:05.0"), " -");
	assert_non_null(strstr(status_line("0000:00:05.0"), " rng "));
	assert_non_null(strstr(status_line("0000:00:02.0"), " blk      modern       virtio-pci "));
}

/* *Active* and the --bind refusal are one test. */
static void test_bind_refuses_what_status_marks(void **state)
{
	(void)state;
	put("bus/pci/drivers/uio_pci_generic/bind", NULL);
	ONE_LINE_ERR(1, "0000:00:06.0: in use: /dev/vdc1 is mounted on ",
		     "--bind=uio_pci_generic", "0000:00:06.0");
	ONE_LINE_ERR(1, "0000:00:08.0: in use: /dev/vde is held by another device",
		     "--bind", "uio", "0000:00:08.0");
	ONE_LINE_ERR(1, "0000:00:03.0: in use: netdev lo is up with addresses",
		     "--bind", "uio", "0000:00:03.0");
	/* every address is checked before any device is touched */
	ONE_LINE_ERR(2, "bad PCI address 'nope' (want dddd:bb:dd.f)",
		     "--bind", "uio", "0000:00:04.0", "nope");
}

static void test_kernel_names(void **state)
{
	struct uvio_pci_addr a;
	char names[64];

	(void)state;
	put("bus/pci/devices/0000:00:07.0/net/uvt1", NULL);   /* on the function */
	assert_int_equal(uvio_pci_addr_parse("00:07.0", &a), 0);
	db_kernel_names(&a, names, sizeof(names));
	assert_string_equal(names, "uvt1,uvt0");
	assert_int_equal(uvio_pci_addr_parse("00:05.0", &a), 0);
	db_kernel_names(&a, names, sizeof(names));
	assert_string_equal(names, "");
}

/* ---- hugepages ---- */

#define G2 "kernel/mm/hugepages/hugepages-2048kB/"
#define N1_1G "devices/system/node/node1/hugepages/hugepages-1048576kB/"
#define N1_2M "devices/system/node/node1/hugepages/hugepages-2048kB/"

static void test_huge_reserve_default_and_node(void **state)
{
	struct db_huge all = { 16, 0, -1 }, node = { 2, 1024 * 1024, 1 };

	(void)state;
	assert_int_equal(db_huge_check(&all), 0);
	assert_int_equal(all.page_kb, 2048);  /* x86's default, in /proc/meminfo */
	assert_int_equal(db_huge_reserve(&all), 0);
	assert_string_equal(get(G2 "nr_hugepages"), "16\n");
	assert_int_equal(db_huge_check(&node), 0);
	assert_int_equal(db_huge_reserve(&node), 0);
	assert_string_equal(get(N1_1G "nr_hugepages"), "2\n");
	assert_string_equal(get(G2 "nr_hugepages"), "16\n");
}

static void test_huge_clear(void **state)
{
	(void)state;
	put(G2 "nr_hugepages", "16\n");
	put(N1_1G "nr_hugepages", "2\n");
	put(N1_2M "nr_hugepages", "4\n");
	assert_int_equal(run("--clear", "--node=1", NULL), 0);
	assert_string_equal(get(N1_1G "nr_hugepages"), "0\n");
	assert_string_equal(get(N1_2M "nr_hugepages"), "0\n");
	assert_string_equal(get(G2 "nr_hugepages"), "16\n");
	put(N1_1G "nr_hugepages", "2\n");
	assert_int_equal(run("--clear", "--pagesize", "2M", NULL), 0);
	assert_string_equal(get(G2 "nr_hugepages"), "0\n");
	assert_string_equal(get(N1_1G "nr_hugepages"), "2\n");
	assert_int_equal(run("--clear", NULL), 0);
	assert_string_equal(get("kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"), "0\n");
	assert_string_equal(err, "");
}

static void test_huge_show(void **state)
{
	(void)state;
	put(G2 "nr_hugepages", "48\n");
	put(G2 "free_hugepages", "40\n");
	put(N1_1G "nr_hugepages", "2\n");
	put(N1_1G "free_hugepages", "1\n");
	assert_int_equal(run("--show", NULL), 0);
	assert_non_null(strstr(out, "NODE  SIZE  TOTAL   FREE    MEMORY\n"));
	assert_non_null(strstr(out, "\n0     2M    0       0       0\n"));
	assert_non_null(strstr(out, "\n1     1G    2       1       2G\n"));
	assert_non_null(strstr(out, "\nall   2M    48      40      96M\n"));
	assert_non_null(strstr(out, "\nall   1G    0       0       0\n"));
	assert_non_null(strstr(out, "default page size 2M\n"));
	assert_true(strstr(out, "\nhugetlbfs on ") || strstr(out, "\nhugetlbfs is not mounted"));
}

static void test_huge_errors(void **state)
{

	(void)state;
	ONE_LINE_ERR(1, "no 4M hugepages on this CPU (page sizes here: 2M 1G)",
		     "--hugepages", "1", "--pagesize=4M");
	ONE_LINE_ERR(1, "no NUMA node 5 (nodes here: 0 1)", "--clear", "--node", "5");
}

/* short_of()'s line on stderr, into err[]. */
static int short_of_line(struct db_huge *h, uint64_t got)
{
	int e = open("/tmp", O_TMPFILE | O_RDWR, 0600), se = dup(2), rc;

	fflush(stderr);
	dup2(e, 2);
	rc = short_of(h, got);
	fflush(stderr);
	dup2(se, 2);
	close(se);
	slurp(e, err, sizeof(err));
	return rc;
}

/* The kernel gave a different count than asked: how many, and what to do. */
static void test_huge_short_message(void **state)
{
	struct db_huge h = { 16, 2048, 1 };

	(void)state;
	assert_int_equal(short_of_line(&h, 3), 1);
	assert_string_equal(err, "uvio-devbind: only 3 of 16 2M hugepages could be reserved on node 1 (too little free memory, or fragmented): ask for fewer, or boot with hugepagesz=2M hugepages=16\n");
	h = (struct db_huge){ 0, 1024 * 1024, -1 };
	assert_int_equal(short_of_line(&h, 5), 1);
	assert_string_equal(err, "uvio-devbind: 5 1G hugepages are still in use (asked for 0): stop the programs using them and remove their files from hugetlbfs\n");
}

/* Without root nr_hugepages cannot be opened for writing: one line says
 * so. Run as root, the check drops to nobody in a child first. */
static void test_huge_not_root(void **state)
{
	struct db_huge h = { 4, 2048, -1 };
	int e = open("/tmp", O_TMPFILE | O_RDWR, 0600), status = 0;
	pid_t pid;

	(void)state;
	assert_true(e >= 0);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(e, 2);
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(9);
		_exit(db_huge_reserve(&h));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	slurp(e, err, sizeof(err));
	assert_non_null(strstr(err, G2 "nr_hugepages: need root\n"));
	assert_int_equal(strncmp(err, "uvio-devbind: cannot write ", 27), 0);
	assert_string_equal(get(G2 "nr_hugepages"), "0\n");
}

/* ---- options ---- */

static void test_help_and_version(void **state)
{
	(void)state;
	assert_int_equal(run("--help", NULL), 0);
	assert_int_equal(strncmp(out, "Usage: uvio-devbind [OPTION]...\n", 32), 0);
	/* help2man: every option on a line of its own, indented */
	assert_null(strstr(out, "\n-"));
	assert_non_null(strstr(out, "\n      --pagesize=SIZE "));
	assert_non_null(strstr(out, "\n      --node=N "));
	assert_non_null(strstr(out, "\n      --show "));
	assert_non_null(strstr(out, "\n      --clear "));
	assert_non_null(strstr(out, "\n      --version "));
	assert_int_equal(run("--version", NULL), 0);
	assert_int_equal(strncmp(out, "uvio-devbind (uvio) ", 20), 0);
}

static void test_both_value_forms(void **state)
{
	struct db_opts a = { .huge = { .node = -1 } }, b = a;
	char *av[] = { (char *)"uvio-devbind", (char *)"--hugepages=8",
		       (char *)"--pagesize=1G", (char *)"--node=1", NULL };
	char *bv[] = { (char *)"uvio-devbind", (char *)"--hugepages", (char *)"8",
		       (char *)"--pagesize", (char *)"1G", (char *)"--node",
		       (char *)"1", NULL };

	(void)state;
	assert_int_equal(parse(&a, 4, av), 0);
	assert_int_equal(parse(&b, 7, bv), 0);
	assert_int_equal(a.action, OPT_HUGEPAGES);
	assert_int_equal(a.huge.count, 8);
	assert_int_equal(a.huge.page_kb, 1024 * 1024);
	assert_int_equal(a.huge.node, 1);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run(NULL), 2);
	assert_non_null(strstr(err, "nothing to do"));
	ONE_LINE_ERR(2, "unknown option '--bogus'", "--bogus");
	ONE_LINE_ERR(2, "--show takes no value", "--show=1");
	ONE_LINE_ERR(2, "--hugepages needs a value", "--hugepages");
	ONE_LINE_ERR(2, "--hugepages: 'lots': want a count", "--hugepages=lots");
	ONE_LINE_ERR(2, "--hugepages: '-1': want a count", "--hugepages", "-1");
	ONE_LINE_ERR(2, "--pagesize: '2X': not a page size (2M, 1G)", "--clear", "--pagesize=2X");
	ONE_LINE_ERR(2, "--pagesize: '512': not a page size", "--clear", "--pagesize=512");
	ONE_LINE_ERR(2, "--node: '-1': want a NUMA node number", "--clear", "--node=-1");
	ONE_LINE_ERR(2, "--pagesize and --node go with --hugepages or --clear",
		     "--status", "--pagesize=2M");
	ONE_LINE_ERR(2, "--force goes with --bind", "--unbind", "--force", "00:02.0");
	ONE_LINE_ERR(2, "choose one of", "--status", "--show");
	ONE_LINE_ERR(2, "--status takes no device", "--status", "00:02.0");
	ONE_LINE_ERR(2, "--hugepages takes only the count", "--hugepages", "4", "4");
	ONE_LINE_ERR(2, "no device given", "--unbind");
	ONE_LINE_ERR(2, "--bind: 'igb_uio': want vfio-pci or uio_pci_generic",
		     "--bind=igb_uio", "00:02.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_names_and_active, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_refuses_what_status_marks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_reserve_default_and_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_show, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_short_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_not_root, setup, teardown),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_both_value_forms),
		cmocka_unit_test(test_usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* uvio-devbind's options: one action, its modifiers, and the dispatch. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "../common/cli.h"
#include "devbind.h"

/* help2man reads this: the Usage lines, then one option per line. */
static const char usage_text[] =
	"Usage: " DB_PROG " [OPTION]...\n"
	"  or:  " DB_PROG " --bind DRIVER [--force] BDF...\n"
	"  or:  " DB_PROG " --unbind BDF...\n"
	"  or:  " DB_PROG " --hugepages N [--pagesize SIZE] [--node N]\n"
	"Show virtio PCI devices, give them to vfio-pci or uio_pci_generic and\n"
	"back, and reserve hugepages for uvio programs.\n"
	"\n"
	"Devices:\n"
	"  -s, --status           list virtio-pci devices: type, interface, driver,\n"
	"                         IOMMU group, NUMA node, the kernel's netdev or disk\n"
	"                         name, and *Active* when that is in use (a disk or\n"
	"                         partition mounted or swap, a netdev up with\n"
	"                         addresses or routes, a VFIO group open)\n"
	"  -b, --bind=DRIVER      give the devices to vfio-pci or uio_pci_generic\n"
	"                         (the module must be loaded: modprobe vfio-pci)\n"
	"  -u, --unbind           give the devices back to their kernel driver\n"
	"      --force            bind even when the device is *Active*\n"
	"\n"
	"Hugepages:\n"
	"      --hugepages=N      reserve N hugepages and mount hugetlbfs for them\n"
	"                         (on " DB_HUGEPAGES_MNT " when it is free)\n"
	"      --clear            reserve 0 hugepages (every size, unless --pagesize)\n"
	"      --show             hugepages per NUMA node and size: total, free;\n"
	"                         the hugetlbfs mounts\n"
	"      --pagesize=SIZE    with --hugepages or --clear: 2M, 1G, ... (default:\n"
	"                         the kernel's default hugepage size)\n"
	"      --node=N           with --hugepages or --clear: NUMA node N only\n"
	"\n"
	"  -h, --help             display this help and exit\n"
	"      --version          output version information and exit\n"
	"\n"
	"BDF is dddd:bb:dd.f or bb:dd.f. Exit status: 0 on success, 1 on an error\n"
	"(one line on stderr), 2 on a usage error.\n";

enum {
	OPT_FORCE = 256, OPT_HUGEPAGES, OPT_CLEAR, OPT_SHOW, OPT_PAGESIZE,
	OPT_NODE, OPT_VERSION,
};

struct db_opts {
	int action;
	enum uvio_pci_driver drv;
	bool force, huge_mod;
	struct db_huge huge;
};

static int usage(const char *msg)
{
	return cli_usage_error(DB_PROG, "%s", msg);
}

static int set_action(struct db_opts *o, int c)
{
	if (o->action && o->action != c)
		return usage("choose one of --status, --bind, --unbind, --hugepages, --clear, --show");
	o->action = c;
	return 0;
}

static int parse_driver(struct db_opts *o, const char *v)
{
	if (!strcmp(v, "vfio-pci") || !strcmp(v, "vfio"))
		o->drv = UVIO_PCI_DRV_VFIO;
	else if (!strcmp(v, "uio_pci_generic") || !strcmp(v, "uio"))
		o->drv = UVIO_PCI_DRV_UIO;
	else
		return cli_usage_error(DB_PROG, "--bind: '%s': want vfio-pci or uio_pci_generic", v);
	return 0;
}

/* A page size is a whole number of kB the kernel could have ("2M", "1G"). */
static int parse_pagesize(struct db_opts *o, const char *v)
{
	uint64_t bytes;

	if (cli_parse_size(v, &bytes) || bytes < 4096 || bytes % 1024)
		return cli_usage_error(DB_PROG, "--pagesize: '%s': not a page size (2M, 1G)", v);
	o->huge.page_kb = bytes / 1024;
	o->huge_mod = true;
	return 0;
}

static int parse_value(struct db_opts *o, int c, const char *v)
{
	uint64_t n;

	switch (c) {
	case 'b':
		return parse_driver(o, v);
	case OPT_HUGEPAGES:
		if (cli_parse_uint(v, 0, INT32_MAX, &n))
			return cli_usage_error(DB_PROG, "--hugepages: '%s': want a count, 0 or more", v);
		o->huge.count = n;
		return 0;
	case OPT_PAGESIZE:
		return parse_pagesize(o, v);
	case OPT_NODE:
		if (cli_parse_uint(v, 0, 4095, &n))
			return cli_usage_error(DB_PROG, "--node: '%s': want a NUMA node number", v);
		o->huge.node = (int)n;
		o->huge_mod = true;
		return 0;
	}
	return 0;
}

/* 0: go on; 1: --help or --version done (exit 0); 2: usage error. */
static int parse(struct db_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", no_argument, NULL, 's' },
		{ "bind", required_argument, NULL, 'b' },
		{ "unbind", no_argument, NULL, 'u' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
		{ "clear", no_argument, NULL, OPT_CLEAR },
		{ "show", no_argument, NULL, OPT_SHOW },
		{ "pagesize", required_argument, NULL, OPT_PAGESIZE },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	char msg[256];
	int c, rc;

	optind = 0;  /* GNU: start over, so a test can parse many times */
	opterr = 0;  /* cli_getopt_msg's one line instead of getopt's */
	while ((c = getopt_long(argc, argv, ":sb:uh", opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			cli_getopt_msg(c, argv, msg, sizeof(msg));
			return usage(msg);
		}
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == OPT_VERSION)
			return cli_print_version(DB_PROG) + 1;
		if (c == OPT_FORCE) {
			o->force = true;
			continue;
		}
		rc = c == OPT_PAGESIZE || c == OPT_NODE ? 0 : set_action(o, c);
		if (!rc)
			rc = parse_value(o, c, optarg);
		if (rc)
			return rc;
	}
	return 0;
}

/* "32 2M hugepages reserved on node 0, hugetlbfs on /dev/hugepages". */
static int report_mount(const struct db_huge *h)
{
	char dir[256], size[32], where[32] = "";

	if (db_huge_mount(h->page_kb, dir, sizeof(dir)))
		return 1;
	db_fmt_kb(h->page_kb, size, sizeof(size));
	if (h->node >= 0)
		snprintf(where, sizeof(where), " on node %d", h->node);
	printf("%" PRIu64 " %s hugepages reserved%s, hugetlbfs on %s\n", h->count,
	       size, where, dir);
	return 0;
}

static int run_huge(struct db_opts *o, bool extra)
{
	struct db_huge h = o->huge;

	if (extra)
		return usage(o->action == OPT_HUGEPAGES ? "--hugepages takes only the count" :
			     "--clear and --show take no device");
	if (o->action == OPT_SHOW)
		return db_huge_show();
	if (db_huge_check(&h))
		return 1;
	/* --clear without --pagesize clears every size: o->huge keeps 0. */
	if (o->action == OPT_CLEAR)
		return db_huge_clear(&o->huge);
	if (db_huge_reserve(&h))
		return 1;
	return h.count ? report_mount(&h) : 0;
}

static int dispatch(struct db_opts *o, int nargs, char **args)
{
	if (o->huge_mod && o->action != OPT_HUGEPAGES && o->action != OPT_CLEAR)
		return usage("--pagesize and --node go with --hugepages or --clear");
	if (o->force && o->action != 'b')
		return usage("--force goes with --bind");
	switch (o->action) {
	case 's':
		return nargs ? usage("--status takes no device") : db_status();
	case 'b':
	case 'u':
		if (!nargs)
			return usage("no device given (BDF, e.g. 0000:01:00.0)");
		return db_bind(o->action == 'b' ? o->drv : UVIO_PCI_DRV_NONE,
			       o->force, nargs, args);
	case OPT_HUGEPAGES:
	case OPT_CLEAR:
	case OPT_SHOW:
		return run_huge(o, nargs != 0);
	default:
		return usage("nothing to do: give --status, --bind, --unbind, --hugepages, --clear or --show");
	}
}

int devbind_run(int argc, char **argv)
{
	struct db_opts o = { .huge = { .node = -1 } };
	int rc = parse(&o, argc, argv);

	if (rc)
		return rc == 1 ? 0 : rc;
	return dispatch(&o, argc - optind, argv + optind);
}

/* SPDX-License-Identifier: MIT */
/*
 * uvio-devbind: show virtio-pci devices, hand them to vfio-pci or
 * uio_pci_generic and back, and reserve hugepages.
 *
 * Exit status: 0 on success; 1 with one error line; 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <uvio/pci.h>

#define HUGEPAGES_MNT "/dev/hugepages"

static const char usage_text[] =
	"usage: uvio-devbind --status\n"
	"       uvio-devbind --bind vfio-pci|uio_pci_generic [--force] BDF...\n"
	"       uvio-devbind --unbind BDF...\n"
	"       uvio-devbind --hugepages N\n"
	"\n"
	"  -s, --status          list virtio-pci devices: type, interface, driver,\n"
	"                        IOMMU group, NUMA node\n"
	"  -b, --bind DRIVER     give the devices to vfio-pci or uio_pci_generic\n"
	"                        (the module must be loaded: modprobe vfio-pci)\n"
	"  -u, --unbind          give the devices back to their kernel driver\n"
	"      --force           bind even when the kernel driver is in use\n"
	"                        (a mounted disk, a configured netdev)\n"
	"      --hugepages N     reserve N default-size hugepages and mount hugetlbfs\n"
	"                        on " HUGEPAGES_MNT "\n"
	"  -h, --help            this text\n"
	"BDF is dddd:bb:dd.f or bb:dd.f.\n";

/* One line: what was wrong, and where the usage is. */
static int usage_error(const char *msg)
{
	fprintf(stderr, "uvio-devbind: %s (see uvio-devbind --help)\n",
		msg ? msg : "unknown option");
	return 2;
}

static int fail(const char *msg)
{
	fprintf(stderr, "uvio-devbind: %s\n", msg);
	return 1;
}

static const char *type_name(uint16_t id)
{
	switch (id) {
	case VIRTIO_ID_NET:     return "net";
	case VIRTIO_ID_BLOCK:   return "blk";
	case VIRTIO_ID_CONSOLE: return "console";
	case VIRTIO_ID_RNG:     return "rng";
	case VIRTIO_ID_BALLOON: return "balloon";
	case VIRTIO_ID_SCSI:    return "scsi";
	case VIRTIO_ID_9P:      return "9p";
	case VIRTIO_ID_GPU:     return "gpu";
	case VIRTIO_ID_INPUT:   return "input";
	case VIRTIO_ID_VSOCK:   return "vsock";
	case VIRTIO_ID_CRYPTO:  return "crypto";
	case VIRTIO_ID_IOMMU:   return "iommu";
	case VIRTIO_ID_MEM:     return "mem";
	case VIRTIO_ID_FS:      return "fs";
	default:                return "other";
	}
}

/* modern: 0x1040+ ids; transitional: old id with both interfaces; legacy:
 * old id, legacy interface only (QEMU disable-modern=on). */
static const char *iface_name(const struct uvio_pci_info *i)
{
	if (!i->legacy_capable)
		return "modern";
	return i->modern_capable ? "transitional" : "legacy";
}

static int do_status(void)
{
	struct uvio_pci_info *devs;
	struct uvio_err err;
	int n, max = 256;

	devs = calloc((size_t)max, sizeof(*devs));
	if (!devs)
		return fail("out of memory");
	n = uvio_pci_scan(devs, (unsigned)max, &err);
	if (n < 0) {
		free(devs);
		return fail(err.msg);
	}
	printf("%-13s %-8s %-12s %-16s %-6s %s\n", "BDF", "TYPE", "INTERFACE",
	       "DRIVER", "GROUP", "NUMA");
	for (int i = 0; i < n && i < max; i++) {
		char bdf[UVIO_PCI_ADDR_LEN], group[16], node[16];

		uvio_pci_addr_format(&devs[i].addr, bdf);
		snprintf(group, sizeof(group), "%d", devs[i].iommu_group);
		snprintf(node, sizeof(node), "%d", devs[i].numa_node);
		printf("%-13s %-8s %-12s %-16s %-6s %s\n", bdf,
		       type_name(devs[i].virtio_type), iface_name(&devs[i]),
		       devs[i].driver_name[0] ? devs[i].driver_name : "-",
		       devs[i].iommu_group >= 0 ? group : "-",
		       devs[i].numa_node >= 0 ? node : "-");
	}
	if (n == 0)
		printf("(no virtio-pci devices)\n");
	free(devs);
	return 0;
}

static int parse_bdfs(int argc, char **argv, struct uvio_pci_addr *out)
{
	for (int i = 0; i < argc; i++)
		if (uvio_pci_addr_parse(argv[i], &out[i]))
			return i + 1;
	return 0;
}

static int do_bind(enum uvio_pci_driver drv, bool force, int argc, char **argv)
{
	struct uvio_pci_addr *a = calloc((size_t)argc, sizeof(*a));
	struct uvio_err err;
	int bad, rc = 0;

	if (!a)
		return fail("out of memory");
	bad = parse_bdfs(argc, argv, a);
	if (bad) {
		char msg[128];

		snprintf(msg, sizeof(msg), "bad PCI address '%s' (want dddd:bb:dd.f)",
			 argv[bad - 1]);
		free(a);
		return usage_error(msg);
	}
	for (int i = 0; i < argc && !rc; i++) {
		struct uvio_pci_info info;

		if (drv == UVIO_PCI_DRV_NONE) {
			if (uvio_pci_unbind(&a[i], &err))
				rc = fail(err.msg);
		} else if (uvio_pci_bind(&a[i], drv, force, &err)) {
			rc = fail(err.msg);
		}
		if (rc)
			break;
		if (uvio_pci_probe(&a[i], &info, NULL) == 0)
			printf("%s: %s\n", argv[i],
			       info.driver_name[0] ? info.driver_name : "no driver");
	}
	free(a);
	return rc;
}

static int read_meminfo(const char *key, long *val)
{
	char line[256];
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/meminfo", "re");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			*val = strtol(line + klen + 1, NULL, 10);
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

static bool hugetlbfs_mounted(const char *dir)
{
	char dev[256], mnt[256], type[64], line[1024];
	FILE *f = fopen("/proc/mounts", "re");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%255s %255s %63s", dev, mnt, type) == 3 &&
			!strcmp(mnt, dir) && !strcmp(type, "hugetlbfs");
	if (f)
		fclose(f);
	return found;
}

static int do_hugepages(long n)
{
	char msg[256], val[32];
	long total = -1;
	FILE *f;

	f = fopen("/proc/sys/vm/nr_hugepages", "we");
	if (!f)
		return fail(errno == EACCES || errno == EPERM || errno == EROFS ?
			    "cannot write /proc/sys/vm/nr_hugepages: need root" :
			    "cannot open /proc/sys/vm/nr_hugepages (kernel without hugetlbfs?)");
	snprintf(val, sizeof(val), "%ld\n", n);
	if (fputs(val, f) == EOF || fclose(f) == EOF)
		return fail("writing /proc/sys/vm/nr_hugepages failed: need root");
	if (!hugetlbfs_mounted(HUGEPAGES_MNT)) {
		mkdir(HUGEPAGES_MNT, 0755);
		if (mount("nodev", HUGEPAGES_MNT, "hugetlbfs", 0, NULL)) {
			snprintf(msg, sizeof(msg),
				 "cannot mount hugetlbfs on %s: %s (need root)",
				 HUGEPAGES_MNT, strerror(errno));
			return fail(msg);
		}
	}
	if (read_meminfo("HugePages_Total", &total) || total != n) {
		snprintf(msg, sizeof(msg),
			 "only %ld of %ld hugepages could be reserved (too little free memory, or fragmented): ask for fewer, or boot with hugepages=%ld",
			 total, n, n);
		return fail(msg);
	}
	printf("%ld hugepages reserved, hugetlbfs on %s\n", n, HUGEPAGES_MNT);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_FORCE = 256, OPT_HUGEPAGES };
	static const struct option opts[] = {
		{ "status", no_argument, NULL, 's' },
		{ "bind", required_argument, NULL, 'b' },
		{ "unbind", no_argument, NULL, 'u' },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "hugepages", required_argument, NULL, OPT_HUGEPAGES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum uvio_pci_driver drv = UVIO_PCI_DRV_NONE;
	int action = 0, c;
	bool force = false;
	long hugepages = -1;
	char *end;

	opterr = 0;  /* our own one-line message instead of getopt's */
	while ((c = getopt_long(argc, argv, ":sb:uh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'u':
			if (action && action != c)
				return usage_error("choose one of --status, --bind, --unbind, --hugepages");
			action = c;
			break;
		case 'b':
			if (action && action != c)
				return usage_error("choose one of --status, --bind, --unbind, --hugepages");
			action = c;
			if (!strcmp(optarg, "vfio-pci") || !strcmp(optarg, "vfio"))
				drv = UVIO_PCI_DRV_VFIO;
			else if (!strcmp(optarg, "uio_pci_generic") || !strcmp(optarg, "uio"))
				drv = UVIO_PCI_DRV_UIO;
			else
				return usage_error("--bind takes vfio-pci or uio_pci_generic");
			break;
		case OPT_FORCE:
			force = true;
			break;
		case OPT_HUGEPAGES:
			if (action && action != c)
				return usage_error("choose one of --status, --bind, --unbind, --hugepages");
			action = c;
			errno = 0;
			hugepages = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || hugepages < 0)
				return usage_error("--hugepages takes a count >= 0");
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("an option needs a value");
		default:
			return usage_error(NULL);
		}
	}
	switch (action) {
	case 's':
		if (optind != argc)
			return usage_error("--status takes no device");
		return do_status();
	case 'b':
	case 'u':
		if (optind == argc)
			return usage_error("no device given (BDF, e.g. 0000:01:00.0)");
		return do_bind(action == 'b' ? drv : UVIO_PCI_DRV_NONE, force,
			       argc - optind, argv + optind);
	case OPT_HUGEPAGES:
		if (optind != argc)
			return usage_error("--hugepages takes only the count");
		return do_hugepages(hugepages);
	default:
		return usage_error("nothing to do");
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * --status, --bind, --unbind. A device's kernel names and its *Active* mark
 * are what dpdk-devbind shows: a netdev or disk the kernel made of it, and
 * whether that is in use. "In use" is libuvio's uvio_pci_in_use(), the same
 * test --bind refuses on, so the two never disagree.
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>

#include "../common/cli.h"
#include "devbind.h"

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

/* Append the entries of DIR/net and DIR/block to out, comma-separated. */
static void append_names(const char *dir, char *out, size_t len)
{
	static const char *const kinds[] = { "net", "block" };
	char path[PATH_MAX];

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", dir, kinds[k]);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			size_t used = strlen(out);

			if (de->d_name[0] == '.')
				continue;
			snprintf(out + used, len - used, "%s%s", used ? "," : "",
				 de->d_name);
		}
		if (d)
			closedir(d);
	}
}

/* virtio-pci puts the netdev or disk under BDF/virtioN/; a driver bound to
 * the PCI function itself would put it under BDF/. */
void db_kernel_names(const struct uvio_pci_addr *a, char *out, size_t len)
{
	char bdf[UVIO_PCI_ADDR_LEN], dev[PATH_MAX], child[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	uvio_pci_addr_format(a, bdf);
	snprintf(dev, sizeof(dev), "%s/bus/pci/devices/%s", db_sysfs_root(), bdf);
	append_names(dev, out, len);
	d = opendir(dev);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "virtio", 6) ||
		    !isdigit((unsigned char)de->d_name[6]))
			continue;
		snprintf(child, sizeof(child), "%s/%s", dev, de->d_name);
		append_names(child, out, len);
	}
	if (d)
		closedir(d);
}

static void print_device(const struct uvio_pci_info *i)
{
	char bdf[UVIO_PCI_ADDR_LEN], group[16], node[16], names[256];
	bool active = uvio_pci_in_use(&i->addr, NULL, 0) == 1;

	uvio_pci_addr_format(&i->addr, bdf);
	snprintf(group, sizeof(group), "%d", i->iommu_group);
	snprintf(node, sizeof(node), "%d", i->numa_node);
	db_kernel_names(&i->addr, names, sizeof(names));
	printf("%-13s %-8s %-12s %-16s %-6s %-5s %s%s\n", bdf,
	       type_name(i->virtio_type), iface_name(i),
	       i->driver_name[0] ? i->driver_name : "-",
	       i->iommu_group >= 0 ? group : "-",
	       i->numa_node >= 0 ? node : "-", names[0] ? names : "-",
	       active ? " *Active*" : "");
}

int db_status(void)
{
	struct uvio_pci_info *devs;
	struct uvio_err err;
	int n, max = 256;

	devs = calloc((size_t)max, sizeof(*devs));
	if (!devs)
		return db_fail("out of memory");
	n = uvio_pci_scan(devs, (unsigned)max, &err);
	if (n < 0) {
		free(devs);
		return db_fail("%s", err.msg);
	}
	printf("%-13s %-8s %-12s %-16s %-6s %-5s %s\n", "BDF", "TYPE",
	       "INTERFACE", "DRIVER", "GROUP", "NUMA", "NAME");
	for (int i = 0; i < n && i < max; i++)
		print_device(&devs[i]);
	if (n == 0)
		printf("(no virtio-pci devices)\n");
	free(devs);
	return 0;
}

static int bind_one(const struct uvio_pci_addr *a, const char *arg,
		    enum uvio_pci_driver drv, bool force)
{
	struct uvio_pci_info info;
	struct uvio_err err;
	int rc;

	rc = drv == UVIO_PCI_DRV_NONE ? uvio_pci_unbind(a, &err) :
					uvio_pci_bind(a, drv, force, &err);
	if (rc)
		return db_fail("%s", err.msg);
	if (uvio_pci_probe(a, &info, NULL) == 0)
		printf("%s: %s\n", arg,
		       info.driver_name[0] ? info.driver_name : "no driver");
	return 0;
}

/* Every address is checked before any device is touched. */
int db_bind(enum uvio_pci_driver drv, bool force, int argc, char **argv)
{
	struct uvio_pci_addr *a = calloc((size_t)argc, sizeof(*a));
	int rc = 0;

	if (!a)
		return db_fail("out of memory");
	for (int i = 0; i < argc && !rc; i++)
		if (uvio_pci_addr_parse(argv[i], &a[i]))
			rc = cli_usage_error(DB_PROG, "bad PCI address '%s' (want dddd:bb:dd.f)",
					     argv[i]);
	for (int i = 0; i < argc && !rc; i++)
		rc = bind_one(&a[i], argv[i], drv, force);
	free(a);
	return rc;
}

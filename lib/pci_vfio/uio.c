/* SPDX-License-Identifier: MIT */
/*
 * PCI bus access for a device bound to uio_pci_generic, through sysfs:
 * memory BARs are mmap()s of resourceN, I/O-port BARs are pread/pwrite on
 * resourceN (the kernel turns them into in/out), config space is pread/
 * pwrite on `config`. uio_pci_generic itself only gives interrupts, which
 * uvio does not use; binding it keeps other drivers off the device.
 *
 * There is no IOMMU mapping: the device reaches physical memory, so the
 * process's IOVA mode is PA, and an IOMMU that translates DMA for the
 * device (intel_iommu=on without iommu=pt) makes it unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci_internal.h"

/* include/linux/ioport.h; not in the uapi headers. */
#define UIO_IORESOURCE_IO  0x00000100UL
#define UIO_IORESOURCE_MEM 0x00000200UL

static const struct uvio_pci_bus_ops uio_bus_ops;

static int uio_map_bar(struct uvio_pci_bus *bus, int bar, struct uvio_err *err)
{
	struct uvio_pci_bar *b = &bus->bar[bar];
	char path[PATH_MAX], name[16];
	void *va;
	int fd;

	if (b->va || b->fd >= 0)
		return 0;
	if (!b->size)
		return uvio_err_set(err, -ENODEV, "%s: BAR %d is not implemented",
				    bus->bdf, bar);
	snprintf(name, sizeof(name), "resource%d", bar);
	uvio_pci_sysfs_path(path, sizeof(path), &bus->addr, name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;

		return uvio_err_set(err, e, "%s: cannot open %s: %s%s", bus->bdf, path,
				    strerror(-e),
				    e == -EACCES || e == -EPERM ? " (need root)" : "");
	}
	if (b->is_io) {
		b->fd = fd;
		b->off = 0;
		return 0;
	}
	va = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (va == MAP_FAILED)
		return uvio_err_set(err, -errno, "%s: cannot mmap %s: %s", bus->bdf,
				    path, strerror(errno));
	b->va = va;
	b->map_len = b->size;
	uvio_pci_rm_add_bar(bus, bar);
	return 0;
}

static void uio_close(struct uvio_pci_bus *bus)
{
	if (!bus)
		return;
	uvio_pci_rm_detach(bus);
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		if (bus->bar[i].va)
			munmap((void *)bus->bar[i].va, bus->bar[i].map_len);
		if (bus->bar[i].fd >= 0)
			close(bus->bar[i].fd);
	}
	if (bus->cfg_fd >= 0)
		close(bus->cfg_fd);   /* drops the flock too */
	free(bus);
}

/*
 * UIO does not wait for us: on an unplug the device is gone already. For a
 * device still there, bus mastering off stops its DMA (nobody resets it
 * after us); then every fd that reaches it points at /dev/null, which also
 * drops the lock on `config`.
 */
static int uio_release(struct uvio_pci_bus *bus)
{
	int rc, e;

	uvio_pci_set_bus_master(bus, false);
	rc = uvio_pci_fd_to_null(bus->cfg_fd);
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		if ((e = uvio_pci_fd_to_null(bus->bar[i].fd)) && !rc)
			rc = e;
	return rc;
}

static const struct uvio_pci_bus_ops uio_bus_ops = {
	.name = "uio",
	.map_bar = uio_map_bar,
	.close = uio_close,
	.release = uio_release,
};

/* The `resource` file: one "start end flags" line per BAR. */
static int read_resources(struct uvio_pci_bus *bus, struct uvio_err *err)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int i = 0;

	uvio_pci_sysfs_path(path, sizeof(path), &bus->addr, "resource");
	f = fopen(path, "re");
	if (!f)
		return uvio_err_set(err, -errno, "%s: cannot read %s: %s", bus->bdf,
				    path, strerror(errno));
	while (i < PCI_STD_NUM_BARS && fgets(line, sizeof(line), f)) {
		uint64_t start, end, flags;

		bus->bar[i].fd = -1;
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end,
			   &flags) == 3 && end > start) {
			bus->bar[i].size = end - start + 1;
			bus->bar[i].is_io = flags & UIO_IORESOURCE_IO;
		}
		i++;
	}
	fclose(f);
	for (; i < PCI_STD_NUM_BARS; i++)
		bus->bar[i].fd = -1;
	return 0;
}

/* uio_pci_generic leaves DMA to physical addresses: refuse when an IOMMU
 * translates for the device, since every DMA would fault. */
static int check_iommu(const struct uvio_pci_info *info, const char *bdf,
		       struct uvio_err *err)
{
	char path[PATH_MAX], type[32];

	if (info->iommu_group < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/type",
		 uvio_pci_sysfs_root(), info->iommu_group);
	if (uvio_pci_sysfs_read(path, type, sizeof(type)) == 0 &&
	    !strncmp(type, "DMA", 3))
		return uvio_err_set(err, -EINVAL,
				    "%s: the IOMMU translates DMA for group %d (type %s), so uio_pci_generic cannot work: use vfio-pci, or boot with iommu=pt",
				    bdf, info->iommu_group, type);
	return 0;
}

int uvio_uio_open(const struct uvio_pci_info *info,
		  struct uvio_pci_bus **out, struct uvio_err *err)
{
	char path[PATH_MAX], bdf[UVIO_PCI_ADDR_LEN];
	struct uvio_pci_bus *bus;
	int rc;

	uvio_pci_addr_format(&info->addr, bdf);
	rc = check_iommu(info, bdf, err);
	if (rc)
		return rc;
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return uvio_err_set(err, -ENOMEM, "%s: out of memory", bdf);
	bus->ops = &uio_bus_ops;
	bus->addr = info->addr;
	bus->info = *info;
	bus->driver = UVIO_PCI_DRV_UIO;
	memcpy(bus->bdf, bdf, sizeof(bdf));
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		bus->bar[i].fd = -1;

	uvio_pci_sysfs_path(path, sizeof(path), &info->addr, "config");
	bus->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (bus->cfg_fd < 0) {
		rc = -errno;
		free(bus);
		if (rc == -EACCES || rc == -EPERM)
			return uvio_err_set(err, rc, "need root (or write access to %s)",
					    path);
		return uvio_err_set(err, rc, "%s: cannot open %s: %s", bdf, path,
				    strerror(-rc));
	}
	/* UIO lets any number of processes in; a lock on the config file
	 * keeps two uvio processes from driving one device. */
	if (flock(bus->cfg_fd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(bus->cfg_fd);
		free(bus);
		return uvio_err_set(err, rc, "%s: device is in use by another process",
				    bdf);
	}
	rc = read_resources(bus, err);
	if (rc) {
		uio_close(bus);
		return rc;
	}
	*out = bus;
	return 0;
}

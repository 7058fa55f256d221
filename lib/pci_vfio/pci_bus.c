/* SPDX-License-Identifier: MIT */
/*
 * Config space and BAR access on a bus handle (pci_internal.h), the same
 * for VFIO and UIO: a mapped BAR is a volatile load/store, anything else is
 * pread/pwrite on the file the bus set up.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pci_internal.h"

/* ---- config space and BAR access ---------------------------------------- */

int uvio_pci_cfg_read(struct uvio_pci_bus *bus, uint32_t off, void *buf,
		      size_t len)
{
	ssize_t n = pread(bus->cfg_fd, buf, len, bus->cfg_off + off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int uvio_pci_cfg_write(struct uvio_pci_bus *bus, uint32_t off,
		       const void *buf, size_t len)
{
	ssize_t n = pwrite(bus->cfg_fd, buf, len, bus->cfg_off + off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Config space is little-endian; so is every host uvio runs on (x86,
 * arm64 LE), and the values are used as they come. */
int uvio_pci_cfg_read8(struct uvio_pci_bus *bus, uint32_t off, uint8_t *v)
{
	return uvio_pci_cfg_read(bus, off, v, 1);
}

int uvio_pci_cfg_read16(struct uvio_pci_bus *bus, uint32_t off, uint16_t *v)
{
	return uvio_pci_cfg_read(bus, off, v, 2);
}

int uvio_pci_cfg_read32(struct uvio_pci_bus *bus, uint32_t off, uint32_t *v)
{
	return uvio_pci_cfg_read(bus, off, v, 4);
}

int uvio_pci_set_bus_master(struct uvio_pci_bus *bus, bool on)
{
	uint16_t cmd, want;
	int rc = uvio_pci_cfg_read16(bus, PCI_COMMAND, &cmd);

	if (rc)
		return rc;
	want = on ? cmd | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY | PCI_COMMAND_IO :
		    cmd & ~PCI_COMMAND_MASTER;
	if (want == cmd)
		return 0;
	return uvio_pci_cfg_write(bus, PCI_COMMAND, &want, 2);
}

uint8_t uvio_pci_find_cap(struct uvio_pci_bus *bus, uint8_t id, uint8_t start)
{
	uint16_t status;
	uint8_t pos, cap[2];
	unsigned loops = 0;

	if (uvio_pci_cfg_read16(bus, PCI_STATUS, &status) ||
	    !(status & PCI_STATUS_CAP_LIST))
		return 0;
	if (start) {
		if (uvio_pci_cfg_read(bus, start, cap, 2))
			return 0;
		pos = cap[1];
	} else if (uvio_pci_cfg_read8(bus, PCI_CAPABILITY_LIST, &pos)) {
		return 0;
	}
	while ((pos &= ~3) >= 0x40 && loops++ < 48) {
		if (uvio_pci_cfg_read(bus, pos, cap, 2))
			return 0;
		if (cap[0] == id)
			return pos;
		pos = cap[1];
	}
	return 0;
}

bool uvio_pci_msix_enabled(struct uvio_pci_bus *bus)
{
	uint8_t pos = uvio_pci_find_cap(bus, PCI_CAP_ID_MSIX, 0);
	uint16_t ctrl;

	return pos && uvio_pci_cfg_read16(bus, pos + PCI_MSIX_FLAGS, &ctrl) == 0 &&
	       (ctrl & PCI_MSIX_FLAGS_ENABLE);
}

static int bar_pread(struct uvio_pci_bus *bus, int bar, uint64_t off,
		     void *v, size_t len)
{
	const struct uvio_pci_bar *b = &bus->bar[bar];

	if (b->fd < 0 || pread(b->fd, v, len, b->off + (off_t)off) != (ssize_t)len) {
		memset(v, 0xff, len);
		return -EIO;
	}
	return 0;
}

static int bar_pwrite(struct uvio_pci_bus *bus, int bar, uint64_t off,
		      const void *v, size_t len)
{
	const struct uvio_pci_bar *b = &bus->bar[bar];

	if (b->fd < 0 || pwrite(b->fd, v, len, b->off + (off_t)off) != (ssize_t)len)
		return -EIO;
	return 0;
}

uint8_t uvio_pci_bar_read8(struct uvio_pci_bus *bus, int bar, uint64_t off)
{
	uint8_t v;

	if (uvio_pci_bus_removed(bus))
		return (uint8_t)~0u;
	if (bus->bar[bar].va)
		return *(volatile uint8_t *)(bus->bar[bar].va + off);
	bar_pread(bus, bar, off, &v, 1);
	return v;
}

uint16_t uvio_pci_bar_read16(struct uvio_pci_bus *bus, int bar, uint64_t off)
{
	uint16_t v;

	if (uvio_pci_bus_removed(bus))
		return (uint16_t)~0u;
	if (bus->bar[bar].va)
		return *(volatile uint16_t *)(void *)(bus->bar[bar].va + off);
	bar_pread(bus, bar, off, &v, 2);
	return v;
}

uint32_t uvio_pci_bar_read32(struct uvio_pci_bus *bus, int bar, uint64_t off)
{
	uint32_t v;

	if (uvio_pci_bus_removed(bus))
		return (uint32_t)~0u;
	if (bus->bar[bar].va)
		return *(volatile uint32_t *)(void *)(bus->bar[bar].va + off);
	bar_pread(bus, bar, off, &v, 4);
	return v;
}

int uvio_pci_bar_write8(struct uvio_pci_bus *bus, int bar, uint64_t off,
			uint8_t v)
{
	if (uvio_pci_bus_removed(bus))
		return -ENODEV;
	if (bus->bar[bar].va) {
		*(volatile uint8_t *)(bus->bar[bar].va + off) = v;
		return 0;
	}
	return bar_pwrite(bus, bar, off, &v, 1);
}

int uvio_pci_bar_write16(struct uvio_pci_bus *bus, int bar, uint64_t off,
			 uint16_t v)
{
	if (uvio_pci_bus_removed(bus))
		return -ENODEV;
	if (bus->bar[bar].va) {
		*(volatile uint16_t *)(void *)(bus->bar[bar].va + off) = v;
		return 0;
	}
	return bar_pwrite(bus, bar, off, &v, 2);
}

int uvio_pci_bar_write32(struct uvio_pci_bus *bus, int bar, uint64_t off,
			 uint32_t v)
{
	if (uvio_pci_bus_removed(bus))
		return -ENODEV;
	if (bus->bar[bar].va) {
		*(volatile uint32_t *)(void *)(bus->bar[bar].va + off) = v;
		return 0;
	}
	return bar_pwrite(bus, bar, off, &v, 4);
}

/* ---- removal, as the bus sees it (the records are removal.c's) ---------- */

bool uvio_pci_bus_poll_removed(struct uvio_pci_bus *bus)
{
	uint16_t vendor;

	if (!bus->rm)
		return false;
	if (uvio_pci_rm_signalled(bus))
		return true;
	/*
	 * Nobody asked. Under UIO nobody does, and the BAR mappings are not
	 * zapped either (sysfs resource files map through the iomem address
	 * space, which kernfs does not unmap): once the device is gone its
	 * BARs read what the bus gives for nothing (QEMU: zeros). Config
	 * space tells: its sysfs file fails (-ENODEV) once the device is
	 * deleted, and a device behind a dead link reads all ones.
	 */
	if (uvio_pci_cfg_read16(bus, PCI_VENDOR_ID, &vendor) || vendor == 0xffff) {
		uvio_pci_rm_mark(bus);
		return true;
	}
	return false;
}

int uvio_pci_bus_release(struct uvio_pci_bus *bus)
{
	if (bus->released)
		return 0;
	uvio_pci_rm_cover(bus);
	bus->released = true;
	return bus->ops->release ? bus->ops->release(bus) : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * uvio_pci_open: from a PCI address to a uvio device, and the calls of
 * uvio/pci.h on a device it opened (driver, removal, release).
 *
 *   probe (sysfs) -> bus access (vfio.c / uio.c: also fixes the IOVA mode
 *   and makes DMA memory visible to the device) -> removal record
 *   (removal.c) -> bus master on -> virtio-pci transport (modern or
 *   legacy) -> uvio_dev_create.
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <uvio/dma.h>

#include "pci_internal.h"

/*
 * Device addresses for this device: a device without
 * VIRTIO_F_ACCESS_PLATFORM uses physical addresses whatever IOMMU sits in
 * between (spec 6.1); UIO and VFIO no-IOMMU have no IOMMU. VFIO type1
 * also maps every DMA segment into the container.
 */
static int setup_dma(struct uvio_pci_bus *bus,
		     const struct uvio_transport_ops *ops, void *t,
		     struct uvio_err *err)
{
	bool need_pa = !(ops->get_features(t) & (1ULL << VIRTIO_F_ACCESS_PLATFORM));

	if (bus->driver == UVIO_PCI_DRV_VFIO)
		return uvio_vfio_dma_setup(bus, need_pa, err);
	return uvio_dma_set_iova_mode(UVIO_IOVA_PA, err);
}

int uvio_pci_open(const struct uvio_pci_addr *addr, struct uvio_dev **out,
		  struct uvio_err *err)
{
	const struct uvio_transport_ops *ops = NULL;
	struct uvio_pci_info info;
	struct uvio_pci_bus *bus;
	void *t = NULL;
	int rc;

	if (!addr || !out)
		return uvio_err_set(err, -EINVAL, "uvio_pci_open: NULL argument");
	rc = uvio_pci_probe(addr, &info, err);
	if (rc)
		return rc;
	switch (info.driver) {
	case UVIO_PCI_DRV_VFIO:
		rc = uvio_vfio_open(&info, &bus, err);
		break;
	case UVIO_PCI_DRV_UIO:
		rc = uvio_uio_open(&info, &bus, err);
		break;
	case UVIO_PCI_DRV_KERNEL: {
		char bdf[UVIO_PCI_ADDR_LEN];

		uvio_pci_addr_format(addr, bdf);
		return uvio_err_set(err, -EBUSY,
				    "%s: bound to kernel driver %s; run 'uvio-devbind --bind vfio-pci %s' first",
				    bdf, info.driver_name, bdf);
	}
	default: {
		char bdf[UVIO_PCI_ADDR_LEN];

		uvio_pci_addr_format(addr, bdf);
		return uvio_err_set(err, -ENODEV,
				    "%s: not bound to any driver; run 'uvio-devbind --bind vfio-pci %s' first",
				    bdf, bdf);
	}
	}
	if (rc)
		return rc;
	/* Before any BAR is mapped: a removed device must never kill us. */
	rc = uvio_pci_rm_attach(bus, err);
	if (rc) {
		bus->ops->close(bus);
		return rc;
	}
	/* The device DMAs into our rings: bus mastering on (VFIO and UIO
	 * enable the device's decoding but leave this to the driver). */
	rc = uvio_pci_set_bus_master(bus, true);
	if (rc) {
		uvio_err_set(err, rc, "%s: cannot enable bus mastering: %s",
			     bus->bdf, strerror(-rc));
		bus->ops->close(bus);
		return rc;
	}
	rc = uvio_virtio_pci_create(bus, &ops, &t, err);
	if (rc) {
		bus->ops->close(bus);
		return rc;
	}
	rc = setup_dma(bus, ops, t, err);
	if (rc) {
		ops->destroy(t);
		return rc;
	}
	/* From here the device owns the transport, which owns the bus (and
	 * may free it on failure: pass a copy of the name). */
	char name[UVIO_PCI_ADDR_LEN];

	memcpy(name, bus->bdf, sizeof(name));
	return uvio_dev_create(ops, t, name, info.numa_node, out, err);
}

static struct uvio_pci_bus *dev_bus(const struct uvio_dev *dev)
{
	return dev ? uvio_virtio_pci_bus(uvio_dev_ops(dev), uvio_dev_transport(dev)) : NULL;
}

enum uvio_pci_driver uvio_pci_dev_driver(const struct uvio_dev *dev,
					 bool *noiommu)
{
	struct uvio_pci_bus *bus = dev_bus(dev);

	if (noiommu)
		*noiommu = bus && bus->noiommu;
	return bus ? bus->driver : UVIO_PCI_DRV_NONE;
}

/* ---- removal (uvio/pci.h): the generic calls (uvio/dev.h), for PCI only -- */

int uvio_pci_removal_fd(const struct uvio_dev *dev)
{
	return dev_bus(dev) ? uvio_dev_removal_fd(dev) : -1;
}

bool uvio_pci_is_removed(const struct uvio_dev *dev)
{
	return dev_bus(dev) && uvio_dev_is_removed(dev);
}

int uvio_pci_release(struct uvio_dev *dev)
{
	return dev_bus(dev) ? uvio_dev_release(dev) : -ENOTSUP;
}

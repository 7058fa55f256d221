/* SPDX-License-Identifier: MIT */
/*
 * uvio PCI: find virtio-pci devices, take them from the kernel (vfio-pci or
 * uio_pci_generic), and open them as a uvio device (virtio-pci transport,
 * spec 4.1, modern and legacy).
 *
 * Thread safety: none of these calls are for the hot path; call them from
 * one thread at a time.
 */
#ifndef UVIO_PCI_H
#define UVIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uvio/dev.h>
#include <uvio/err.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define UVIO_PCI_ADDR_LEN 16  /* "dddd:bb:dd.f" + NUL */

struct uvio_pci_addr {
	uint16_t domain;
	uint8_t bus, dev, func;
};

/* Parse "dddd:bb:dd.f" or "bb:dd.f". */
int uvio_pci_addr_parse(const char *s, struct uvio_pci_addr *addr);
void uvio_pci_addr_format(const struct uvio_pci_addr *addr,
			  char buf[UVIO_PCI_ADDR_LEN]);

enum uvio_pci_driver {
	UVIO_PCI_DRV_NONE = 0,
	UVIO_PCI_DRV_VFIO,       /* vfio-pci */
	UVIO_PCI_DRV_UIO,        /* uio_pci_generic */
	UVIO_PCI_DRV_KERNEL,     /* virtio-pci or any other kernel driver */
};

struct uvio_pci_info {
	struct uvio_pci_addr addr;
	uint16_t vendor_id, device_id;
	uint16_t virtio_type;    /* VIRTIO_ID_NET, VIRTIO_ID_BLOCK, ... */
	bool legacy_capable;     /* transitional id 0x1000-0x103f */
	bool modern_capable;     /* has the virtio vendor capabilities (spec
				  * 4.1.4); false when config space beyond
				  * 64 bytes is not readable (not root) */
	int numa_node;           /* -1 when unknown */
	int iommu_group;         /* -1 when none */
	enum uvio_pci_driver driver;
	char driver_name[32];    /* "" when unbound */
};

/* Fill `out` (up to `max`) with the virtio devices in sysfs. Returns the
 * number found (may exceed max), or a negative errno. */
int uvio_pci_scan(struct uvio_pci_info *out, unsigned max,
		  struct uvio_err *err);

/* Info for one device; -ENODEV when no such device, -ENOTSUP when it is
 * not a virtio device. */
int uvio_pci_probe(const struct uvio_pci_addr *addr,
		   struct uvio_pci_info *info, struct uvio_err *err);

/* Bind to vfio-pci or uio_pci_generic. Refuses (-EBUSY) a device whose
 * kernel driver is in use (a mounted disk, a NIC that is up) unless
 * `force`. */
int uvio_pci_bind(const struct uvio_pci_addr *addr, enum uvio_pci_driver drv,
		  bool force, struct uvio_err *err);

/* Is the device in use where it is bound now: a disk (or one of its
 * partitions) mounted, held or used as swap; a netdev up with addresses or
 * routes; its VFIO group open in a process. The test uvio_pci_bind() refuses
 * on. 1 with the reason in `why` (one line; NULL allowed), 0 when not,
 * -ENODEV / -ENOTSUP as uvio_pci_probe(). */
int uvio_pci_in_use(const struct uvio_pci_addr *addr, char *why, size_t len);

/* Unbind from vfio-pci/uio and give the device back to its kernel driver
 * (clears driver_override and reprobes). */
int uvio_pci_unbind(const struct uvio_pci_addr *addr, struct uvio_err *err);

/*
 * Open a device already bound to vfio-pci (type1 IOMMU, or no-IOMMU mode)
 * or uio_pci_generic, set the process's IOVA mode from the binding, map its
 * BARs and wrap the virtio-pci transport in a uvio device (reset,
 * ACKNOWLEDGE, DRIVER). Polling mode: no MSI-X vectors on queues.
 * Errors (one line in err): no such device, not virtio, still bound to its
 * kernel driver, IOMMU group not viable, no permission, device busy.
 */
int uvio_pci_open(const struct uvio_pci_addr *addr, struct uvio_dev **out,
		  struct uvio_err *err);

/* The binding of an open uvio PCI device (VFIO, UIO) and, for VFIO,
 * whether it runs in no-IOMMU mode. */
enum uvio_pci_driver uvio_pci_dev_driver(const struct uvio_dev *dev,
					 bool *noiommu);

/*
 * Removal: the device is hot-unplugged, or its driver unbound, while the
 * process runs.
 *
 * Under VFIO the kernel asks for the device back (the device-request IRQ)
 * and its unplug waits until the process has let go. Under UIO it does not
 * ask: the BAR mappings vanish, and the next access would raise SIGBUS.
 * uvio turns both into one state, "removed":
 * - the device's removal fd becomes readable (and stays so);
 * - status reads give 0xff, so uvio_blk_check() and uvio_net_check()
 *   return -ENODEV, and other BAR reads give all ones, writes do nothing;
 * - a BAR access that faults completes, reading all ones, instead of
 *   killing the process: uvio_pci_open() installs, once per process, a
 *   SIGBUS handler that recognises its own BAR mappings and passes any
 *   other fault on to the handler installed before it (or the default
 *   action). An application that installs its own SIGBUS handler after
 *   opening a device must likewise call the previous one.
 *
 * What an application does (a control thread, every ~100 ms, or when the
 * removal fd polls readable): on -ENODEV from uvio_*_check(), or when
 * uvio_pci_is_removed(), call uvio_pci_release() at once, then stop the
 * queue threads and close the device as usual (uvio_blk_close, ...).
 * The release breaks every queue of the device ("device removed"): what
 * is in flight fails at its owner's next poll (blk requests complete with
 * -EIO; uvio_blk_poll returns -EIO), nothing waits for a device that is
 * gone.
 *
 * Thread safety: these three calls may run on a control thread while queue
 * threads keep using the device (hot-path stores land in memory of the
 * process once the device is released); not concurrently with opening or
 * closing the same device.
 */

/* The eventfd that becomes readable when the device is removed (for
 * poll/epoll; level-triggered: it stays readable). The library owns it: do
 * not read or close it; it is valid until the device is destroyed. Under
 * VFIO it is the device-request eventfd, under UIO it is signalled by the
 * SIGBUS handler. -1 for a device that is not PCI. */
int uvio_pci_removal_fd(const struct uvio_dev *dev);

/* True once the device is removed: the kernel asked for it (VFIO), a BAR
 * access faulted, or uvio_pci_release() ran. One poll() of the removal fd. */
bool uvio_pci_is_removed(const struct uvio_dev *dev);

/*
 * Let go of the hardware now, keeping every uvio object valid: the device
 * is marked removed, memory of all ones replaces the BAR mappings, the
 * device's file descriptors point to /dev/null from now on and (VFIO) its
 * IOMMU group is dropped, so the kernel can finish the unplug (VFIO also
 * disables the device: no more DMA; under UIO bus mastering is turned
 * off). Every queue is marked broken (uvio_vq_set_broken). Queue threads
 * may still be running: nothing they do reaches the device any more, and
 * their calls fail with -EIO. Close the device afterwards as usual; it no
 * longer waits for a reset. Returns 0 (also when already released), -ENOTSUP for a
 * device that is not PCI, or a negative errno when a descriptor could not
 * be swapped (the device is still marked removed).
 */
int uvio_pci_release(struct uvio_dev *dev);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif

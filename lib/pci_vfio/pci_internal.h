/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of lib/pci_vfio: the bus access (VFIO or UIO) below,
 * the virtio-pci transport above.
 *
 * A bus handle is mostly data: each BAR is either mapped (a plain load or
 * store, the hot path for notifications) or reached through pread/pwrite on
 * a file (I/O-port BARs, or a VFIO region that cannot be mapped). Config
 * space is always pread/pwrite on a file. virtio_pci.c only uses the
 * uvio_pci_bar_* and uvio_pci_cfg_* helpers, so it never knows whether VFIO
 * or UIO is underneath.
 */
#ifndef UVIO_PCI_INTERNAL_H
#define UVIO_PCI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/pci_regs.h>
#include <uvio/dev.h>
#include <uvio/err.h>
#include <uvio/pci.h>

/* Red Hat / Qumranet: every virtio-pci device (spec 4.1.2). */
#define UVIO_PCI_VENDOR_VIRTIO       0x1af4
#define UVIO_PCI_DEVICE_TRANS_FIRST  0x1000  /* transitional ids */
#define UVIO_PCI_DEVICE_TRANS_LAST   0x103f
#define UVIO_PCI_DEVICE_MODERN_BASE  0x1040  /* 0x1040 + virtio id */
#define UVIO_PCI_DEVICE_MODERN_LAST  0x107f

#define UVIO_SYSFS_PCI_DEVICES "/sys/bus/pci/devices"

struct uvio_pci_bar {
	uint64_t size;          /* 0: BAR not implemented */
	bool is_io;             /* I/O-port BAR */
	volatile uint8_t *va;   /* mapped; NULL when only rw works */
	size_t map_len;         /* length of the mapping at va */
	int fd;                 /* pread/pwrite access; -1 when none */
	off_t off;              /* file offset of the BAR's byte 0 */
};

struct uvio_pci_bus;

struct uvio_pci_bus_ops {
	const char *name;                        /* "vfio", "uio" */
	/* Make BAR `bar` accessible: map it when possible, else set fd/off.
	 * Idempotent. */
	int (*map_bar)(struct uvio_pci_bus *bus, int bar, struct uvio_err *err);
	/* Unmap the BARs, close the fds, free the bus. */
	void (*close)(struct uvio_pci_bus *bus);
	/* Let go of the device now (removal.c has already put all-ones memory
	 * over the BAR mappings): point every fd that reaches the device at
	 * /dev/null and drop what else holds it, so that the kernel can take
	 * it back while other threads may still touch the bus. */
	int (*release)(struct uvio_pci_bus *bus);
	/* An eventfd the kernel signals when it wants the device back, which
	 * the caller owns; -errno when the bus has none (NULL: never has one).
	 * removal.c makes it the device's removal eventfd. */
	int (*request_eventfd)(struct uvio_pci_bus *bus);
};

struct uvio_pci_rm;

struct uvio_pci_bus {
	const struct uvio_pci_bus_ops *ops;
	struct uvio_pci_addr addr;
	char bdf[UVIO_PCI_ADDR_LEN];
	struct uvio_pci_info info;
	enum uvio_pci_driver driver;
	bool noiommu;            /* VFIO no-IOMMU: device sees physical memory */
	int cfg_fd;              /* config space: pread/pwrite */
	off_t cfg_off;
	struct uvio_pci_bar bar[PCI_STD_NUM_BARS];
	struct uvio_pci_rm *rm;  /* removal record (removal.c); NULL: none */
	bool released;           /* uvio_pci_bus_release() ran (control thread) */
};

/* Config space access (little-endian values, as the bus stores them). */
int uvio_pci_cfg_read(struct uvio_pci_bus *bus, uint32_t off, void *buf,
		      size_t len);
int uvio_pci_cfg_write(struct uvio_pci_bus *bus, uint32_t off,
		       const void *buf, size_t len);
int uvio_pci_cfg_read8(struct uvio_pci_bus *bus, uint32_t off, uint8_t *v);
int uvio_pci_cfg_read16(struct uvio_pci_bus *bus, uint32_t off, uint16_t *v);
int uvio_pci_cfg_read32(struct uvio_pci_bus *bus, uint32_t off, uint32_t *v);
/* Set PCI_COMMAND_MASTER (and memory/I/O decode) so the device can DMA. */
int uvio_pci_set_bus_master(struct uvio_pci_bus *bus, bool on);
/* Offset of capability `id` at or after `start` (0 = from the list head);
 * 0 when not found. Loop-safe against a malformed list. */
uint8_t uvio_pci_find_cap(struct uvio_pci_bus *bus, uint8_t id, uint8_t start);
/* True when the MSI-X capability exists and MSI-X is enabled. */
bool uvio_pci_msix_enabled(struct uvio_pci_bus *bus);

/* BAR access at byte `off`, 1/2/4-byte naturally aligned accesses; the
 * caller has checked the bounds. A mapped BAR is a single volatile
 * load/store (no syscall); otherwise pread/pwrite. Errors are reported as
 * all-ones reads (like a PCI master abort) and -EIO from writes; once the
 * device is removed, reads are all ones and writes -ENODEV, untouched. */
uint8_t uvio_pci_bar_read8(struct uvio_pci_bus *bus, int bar, uint64_t off);
uint16_t uvio_pci_bar_read16(struct uvio_pci_bus *bus, int bar, uint64_t off);
uint32_t uvio_pci_bar_read32(struct uvio_pci_bus *bus, int bar, uint64_t off);
int uvio_pci_bar_write8(struct uvio_pci_bus *bus, int bar, uint64_t off,
			uint8_t v);
int uvio_pci_bar_write16(struct uvio_pci_bus *bus, int bar, uint64_t off,
			 uint16_t v);
int uvio_pci_bar_write32(struct uvio_pci_bus *bus, int bar, uint64_t off,
			 uint32_t v);

/* snprintf that returns -ENAMETOOLONG when `buf` was too small (and does
 * not trip -Wformat-truncation on paths built from sysfs names). */
int uvio_pci_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sysfs helpers shared by pci.c, vfio.c, uio.c and open.c. The sysfs root
 * is /sys, or $UVIO_SYSFS_ROOT (unit tests point it at a fake tree). */
const char *uvio_pci_sysfs_root(void);
int uvio_pci_sysfs_path(char *buf, size_t len, const struct uvio_pci_addr *a,
			const char *file);
/* Read a whole sysfs file, trailing newline stripped; -errno on failure. */
int uvio_pci_sysfs_read(const char *path, char *buf, size_t len);
int uvio_pci_sysfs_write(const char *path, const char *val);
/* The IOMMU group number of a device, -1 when it has none. */
int uvio_pci_iommu_group(const struct uvio_pci_addr *a);

/* Bus access. Both fill a new bus handle for a device already bound to
 * the driver; `info` is the probe result. */
int uvio_vfio_open(const struct uvio_pci_info *info,
		   struct uvio_pci_bus **out, struct uvio_err *err);
int uvio_uio_open(const struct uvio_pci_info *info,
		  struct uvio_pci_bus **out, struct uvio_err *err);
/* VFIO: fix the process's IOVA mode for this device and map all DMA
 * memory into the container (type1). `need_pa`: the device DMAs to
 * physical addresses (no VIRTIO_F_ACCESS_PLATFORM). */
int uvio_vfio_dma_setup(struct uvio_pci_bus *bus, bool need_pa,
			struct uvio_err *err);
/* VFIO: is the process's container in no-IOMMU mode (valid once a group is
 * attached)? */
bool uvio_vfio_container_noiommu(void);

/*
 * VFIO interrupts (uvio polls; removal.c uses the device request).
 * `efds[i]` (eventfds the caller owns) is signalled by MSI-X vector i; -1
 * leaves a vector unused. Disabling tears all vectors down.
 */
int uvio_vfio_msix_enable(struct uvio_pci_bus *bus, const int *efds,
			  unsigned n, struct uvio_err *err);
int uvio_vfio_msix_disable(struct uvio_pci_bus *bus);
/* Number of MSI-X vectors the device has (0 when none). */
unsigned uvio_vfio_msix_count(struct uvio_pci_bus *bus);
/* The device-request eventfd: signalled when the kernel asks for the device
 * back (hot-unplug, or someone unbinds vfio-pci). Returns an eventfd the
 * caller owns, or -errno (-ENOTSUP when the kernel has no request IRQ).
 * removal.c makes it the device's removal eventfd. */
int uvio_vfio_req_eventfd(struct uvio_pci_bus *bus, struct uvio_err *err);

/*
 * Event mode (irq.c): MSI-X vector 0 for the config change, 1 + q for
 * queue q, each an eventfd. irq_want: enable the vectors for `nsrc`
 * sources on first use (*irq NULL until then), mark `vec` as given out and
 * return its eventfd (the irq owns it), or -ENOTSUP (UIO, no MSI-X),
 * -ENOSPC (too few vectors). irq_vector: what to write into msix_config /
 * queue_msix_vector for `vec` (VIRTIO_MSI_NO_VECTOR when not given out;
 * `irq` may be NULL). irq_destroy: after the bus is closed.
 */
struct uvio_pci_irq;
int uvio_pci_irq_want(struct uvio_pci_bus *bus, struct uvio_pci_irq **irq,
		      unsigned nsrc, unsigned vec, struct uvio_err *err);
uint16_t uvio_pci_irq_vector(const struct uvio_pci_irq *irq, unsigned vec);
void uvio_pci_irq_destroy(struct uvio_pci_irq *irq);

/*
 * Removal records (removal.c; see its head comment). attach: give an open
 * bus its removal record and eventfd (ops->request_eventfd, else a plain
 * one), and install the process's SIGBUS handler the first time; add_bar:
 * tell it about a BAR the bus just mapped; detach: at close, before the
 * BARs are unmapped. bus_removed is one atomic load (the BAR accessors use
 * it); rm_signalled also looks at the eventfd (a system call); rm_mark sets
 * the flag and signals the eventfd; rm_cover marks and puts all-ones memory
 * over the BAR mappings. fd_to_null: dup /dev/null over an fd. removal.c
 * calls nothing else in this folder.
 */
int uvio_pci_rm_attach(struct uvio_pci_bus *bus, struct uvio_err *err);
void uvio_pci_rm_add_bar(struct uvio_pci_bus *bus, int bar);
void uvio_pci_rm_detach(struct uvio_pci_bus *bus);
bool uvio_pci_bus_removed(const struct uvio_pci_bus *bus);
bool uvio_pci_rm_signalled(struct uvio_pci_bus *bus);
void uvio_pci_rm_mark(struct uvio_pci_bus *bus);
void uvio_pci_rm_cover(struct uvio_pci_bus *bus);
int uvio_pci_bus_removal_fd(const struct uvio_pci_bus *bus);   /* -1: none */
int uvio_pci_fd_to_null(int fd);

/* Removal as the bus sees it (pci_bus.c). poll_removed: the record, then
 * config space (status reads, not the hot path). release: rm_cover, then
 * ops->release; once. */
bool uvio_pci_bus_poll_removed(struct uvio_pci_bus *bus);
int uvio_pci_bus_release(struct uvio_pci_bus *bus);

/* The virtio-pci transport (spec 4.1) over a bus: modern when the vendor
 * capabilities are there, else legacy (I/O BAR 0). Takes the bus on
 * success. */
int uvio_virtio_pci_create(struct uvio_pci_bus *bus,
			   const struct uvio_transport_ops **ops,
			   void **transport, struct uvio_err *err);
int uvio_virtio_pci_legacy_create(struct uvio_pci_bus *bus,
				  const struct uvio_transport_ops **ops,
				  void **transport, struct uvio_err *err);
/* Device-config access with the widths of spec 4.1.3.1, at `base` in
 * `bar` (virtio_pci_cfg.c: shared by the modern and legacy transports). */
int uvio_virtio_pci_cfg_access(struct uvio_pci_bus *bus, int bar, uint64_t base,
			       uint32_t off, void *buf, uint32_t len, bool write);
struct uvio_pci_bus *uvio_virtio_pci_legacy_bus(const struct uvio_transport_ops *ops,
						void *transport);
/* The bus under a transport made by the two above, or NULL when `ops` is
 * not one of ours. */
struct uvio_pci_bus *uvio_virtio_pci_bus(const struct uvio_transport_ops *ops,
					 void *transport);
/* Does the device have the virtio modern vendor capabilities? */
bool uvio_virtio_pci_has_modern_caps(struct uvio_pci_bus *bus);

#endif

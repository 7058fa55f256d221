/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport for legacy devices (spec 4.1.4.10,
 * the 0.9.5 interface): one register block at the start of BAR 0
 * (I/O ports on QEMU), 32 feature bits, a fixed queue size chosen by the
 * device, and a queue given as one 32-bit page frame number, from which
 * the device computes the avail and used rings (spec 2.7.2 legacy layout).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "pci_internal.h"

/* QEMU's VIRTIO_QUEUE_MAX: a legacy device does not say how many queues it
 * has, so they are probed up to the first that reads size 0. */
#define LEGACY_QUEUE_PROBE_MAX 1024
#define RESET_TIMEOUT_MS 1000

struct vlegacy {
	struct uvio_pci_bus *bus;
	uint16_t num_queues;
	struct uvio_pci_irq *irq;  /* event mode (irq.c); NULL: polling only */
};

static const struct uvio_transport_ops legacy_ops_vfio, legacy_ops_uio;

static uint8_t r8(struct vlegacy *l, uint32_t off)
{
	return uvio_pci_bar_read8(l->bus, 0, off);
}

static uint16_t r16(struct vlegacy *l, uint32_t off)
{
	return uvio_pci_bar_read16(l->bus, 0, off);
}

static uint32_t r32(struct vlegacy *l, uint32_t off)
{
	return uvio_pci_bar_read32(l->bus, 0, off);
}

static void w8(struct vlegacy *l, uint32_t off, uint8_t v)
{
	uvio_pci_bar_write8(l->bus, 0, off, v);
}

static void w16(struct vlegacy *l, uint32_t off, uint16_t v)
{
	uvio_pci_bar_write16(l->bus, 0, off, v);
}

static int w32(struct vlegacy *l, uint32_t off, uint32_t v)
{
	return uvio_pci_bar_write32(l->bus, 0, off, v);
}

/* The device config follows the registers, 4 bytes further when MSI-X is
 * enabled (the two vector registers sit in between). Asked each time:
 * whoever enables MSI-X moves it. */
static uint32_t config_off(struct vlegacy *l)
{
	return VIRTIO_PCI_CONFIG_OFF(uvio_pci_msix_enabled(l->bus));
}

static int l_config_access(struct vlegacy *l, uint32_t off, void *buf,
			   uint32_t len, bool write)
{
	uint32_t base = config_off(l);
	uint64_t size = l->bus->bar[0].size;

	if (base > size || off > size - base || len > size - base - off)
		return -EINVAL;
	return uvio_virtio_pci_cfg_access(l->bus, 0, base, off, buf, len, write);
}

static int l_read_config(void *t, uint32_t off, void *buf, uint32_t len)
{
	return l_config_access(t, off, buf, len, false);
}

static int l_write_config(void *t, uint32_t off, const void *buf, uint32_t len)
{
	return l_config_access(t, off, (void *)buf, len, true);
}

/* ---- interrupt vectors (spec 4.1.4.8: the two registers at 20 and 22
 * exist while MSI-X is enabled; vectors: irq.c) ---- */

/* Read back: VIRTIO_MSI_NO_VECTOR means the device refused (4.1.5.1.3). */
static int l_set_vector(struct vlegacy *l, uint32_t reg, uint16_t vec)
{
	if (!uvio_pci_msix_enabled(l->bus))
		return 0;   /* no vector registers: nothing to undo */
	w16(l, reg, vec);
	if (vec != VIRTIO_MSI_NO_VECTOR && r16(l, reg) != vec)
		return -EIO;
	return 0;
}

static int l_config_vector(struct vlegacy *l)
{
	return l_set_vector(l, VIRTIO_MSI_CONFIG_VECTOR, uvio_pci_irq_vector(l->irq, 0));
}

static int l_queue_vector(struct vlegacy *l, uint16_t q)
{
	w16(l, VIRTIO_PCI_QUEUE_SEL, q);
	return l_set_vector(l, VIRTIO_MSI_QUEUE_VECTOR, uvio_pci_irq_vector(l->irq, 1u + q));
}

/* A legacy queue is live once it has an address. */
static int l_queue_eventfd(void *t, uint16_t q, struct uvio_err *err)
{
	struct vlegacy *l = t;
	int fd;

	if (q >= l->num_queues)
		return uvio_err_set(err, -ENOENT, "%s: no queue %u", l->bus->bdf, q);
	fd = uvio_pci_irq_want(l->bus, &l->irq, 1u + l->num_queues, 1u + q, err);
	if (fd >= 0 && l_queue_vector(l, q))
		return uvio_err_set(err, -EIO, "%s: queue %u refused MSI-X vector %u "
				    "(reads VIRTIO_MSI_NO_VECTOR)", l->bus->bdf, q, 1u + q);
	return fd;
}

static int l_config_eventfd(void *t, struct uvio_err *err)
{
	struct vlegacy *l = t;
	int fd = uvio_pci_irq_want(l->bus, &l->irq, 1u + l->num_queues, 0, err);

	if (fd >= 0 && l_config_vector(l))
		return uvio_err_set(err, -EIO, "%s: the config vector register refused "
				    "MSI-X vector 0", l->bus->bdf);
	return fd;
}

/* A removed device reads all ones, like a master abort (removal.c). */
static uint8_t l_get_status(void *t)
{
	struct vlegacy *l = t;

	if (uvio_pci_bus_poll_removed(l->bus))
		return 0xff;
	return r8(l, VIRTIO_PCI_STATUS);
}

static void l_set_status(void *t, uint8_t status)
{
	w8(t, VIRTIO_PCI_STATUS, status);
}

/* Legacy reset is done when the write of 0 is; the read back flushes it
 * (as Linux's vp_legacy_reset does). Still, wait for 0. */
static int l_reset(void *t)
{
	struct timespec ms = { 0, 1000000 };

	w8(t, VIRTIO_PCI_STATUS, 0);
	for (int i = 0; l_get_status(t) != 0; i++) {
		if (uvio_pci_bus_removed(((struct vlegacy *)t)->bus))
			return -ENODEV;   /* gone: no need to wait */
		if (i >= RESET_TIMEOUT_MS)
			return -ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
	/* The reset dropped the vectors: event mode's config one comes back. */
	l_config_vector(t);
	return 0;
}

static uint64_t l_get_features(void *t)
{
	return r32(t, VIRTIO_PCI_HOST_FEATURES);
}

static int l_set_features(void *t, uint64_t features)
{
	if (features >> 32)
		return -EINVAL;  /* legacy has 32 feature bits */
	return w32(t, VIRTIO_PCI_GUEST_FEATURES, (uint32_t)features);
}

static bool l_is_legacy(void *t)
{
	(void)t;
	return true;
}

static uint16_t l_max_queues(void *t)
{
	return ((struct vlegacy *)t)->num_queues;
}

static uint16_t l_queue_max_size(void *t, uint16_t q)
{
	struct vlegacy *l = t;

	if (q >= l->num_queues)
		return 0;
	w16(l, VIRTIO_PCI_QUEUE_SEL, q);
	return r16(l, VIRTIO_PCI_QUEUE_NUM);
}

/*
 * Legacy queues (spec 2.7.2 "Legacy Interfaces"): the device takes the
 * descriptor table's page frame number and finds the avail ring right
 * after the table and the used ring at the next 4096 boundary, so the
 * ring must have exactly that layout and the device's own size, and its
 * address must fit in 32 bits of PFN (below 2^44).
 */
static int l_setup_queue(void *t, uint16_t q, uint16_t size,
			 const struct uvio_vq_addrs *a)
{
	struct vlegacy *l = t;
	uint64_t avail, used, pfn;
	uint16_t num;

	if (q >= l->num_queues)
		return -ENOENT;
	w16(l, VIRTIO_PCI_QUEUE_SEL, q);
	num = r16(l, VIRTIO_PCI_QUEUE_NUM);
	if (size != num)
		return -EINVAL;   /* the size is the device's; it cannot change */
	avail = a->desc + (uint64_t)size * sizeof(struct vring_desc);
	used = (avail + sizeof(uint16_t) * (3u + size) + VIRTIO_PCI_VRING_ALIGN - 1) &
	       ~(uint64_t)(VIRTIO_PCI_VRING_ALIGN - 1);
	if (a->desc & (VIRTIO_PCI_VRING_ALIGN - 1) || a->driver != avail ||
	    a->device != used)
		return -EINVAL;
	pfn = a->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT;
	if (pfn > UINT32_MAX || pfn == 0)
		return -ERANGE;   /* above the 16 TiB legacy limit (or at 0) */
	if (l_queue_vector(l, q))
		return -EIO;
	return w32(l, VIRTIO_PCI_QUEUE_PFN, (uint32_t)pfn);
}

static void l_del_queue(void *t, uint16_t q)
{
	struct vlegacy *l = t;

	if (q >= l->num_queues)
		return;
	w16(l, VIRTIO_PCI_QUEUE_SEL, q);
	w32(l, VIRTIO_PCI_QUEUE_PFN, 0);
}

/* A legacy notification is the 16-bit queue index; there is no
 * notification data. On an I/O BAR it is one pwrite (a port write in the
 * kernel): legacy devices are not the fast path. */
static void l_notify_queue(void *t, uint16_t q, uint32_t data)
{
	(void)data;
	w16(t, VIRTIO_PCI_QUEUE_NOTIFY, q);
}

/* A transitional device's subsystem device ID (spec 4.1.2.1). */
static uint32_t l_device_id(void *t)
{
	return ((struct vlegacy *)t)->bus->info.virtio_type;
}

/* Removal (removal.c, pci_bus.c): the bus under the transport. */
static int l_removal_fd(void *t)
{
	return uvio_pci_bus_removal_fd(((struct vlegacy *)t)->bus);
}

static bool l_is_removed(void *t)
{
	return uvio_pci_bus_poll_removed(((struct vlegacy *)t)->bus);
}

static int l_release(void *t)
{
	return uvio_pci_bus_release(((struct vlegacy *)t)->bus);
}

static void l_destroy(void *t)
{
	struct vlegacy *l = t;

	l->bus->ops->close(l->bus);
	uvio_pci_irq_destroy(l->irq);
	free(l);
}

#define LEGACY_OPS(bus_name) {                       \
	.name = bus_name,                            \
	.read_config = l_read_config,                \
	.write_config = l_write_config,              \
	.config_generation = NULL,                   \
	.get_status = l_get_status,                  \
	.set_status = l_set_status,                  \
	.reset = l_reset,                            \
	.get_features = l_get_features,              \
	.set_features = l_set_features,              \
	.is_legacy = l_is_legacy,                    \
	.max_queues = l_max_queues,                  \
	.queue_max_size = l_queue_max_size,          \
	.setup_queue = l_setup_queue,                \
	.del_queue = l_del_queue,                    \
	.notify_queue = l_notify_queue,              \
	.destroy = l_destroy,                        \
	.device_id = l_device_id,                    \
	.removal_fd = l_removal_fd,                  \
	.is_removed = l_is_removed,                  \
	.release = l_release,                        \
	.queue_eventfd = l_queue_eventfd,            \
	.config_eventfd = l_config_eventfd,          \
}

static const struct uvio_transport_ops legacy_ops_vfio = LEGACY_OPS("vfio");
static const struct uvio_transport_ops legacy_ops_uio = LEGACY_OPS("uio");

int uvio_virtio_pci_legacy_create(struct uvio_pci_bus *bus,
				  const struct uvio_transport_ops **ops,
				  void **transport, struct uvio_err *err)
{
	struct vlegacy *l;
	int rc;

	if (bus->bar[0].size < VIRTIO_PCI_CONFIG_OFF(0))
		return uvio_err_set(err, -ENOTSUP,
				    "%s: legacy virtio device without its register BAR 0",
				    bus->bdf);
	rc = bus->ops->map_bar(bus, 0, err);
	if (rc)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l)
		return uvio_err_set(err, -ENOMEM, "%s: out of memory", bus->bdf);
	l->bus = bus;
	if (r32(l, VIRTIO_PCI_HOST_FEATURES) == UINT32_MAX &&
	    r8(l, VIRTIO_PCI_STATUS) == UINT8_MAX) {
		free(l);
		return uvio_err_set(err, -EIO, "%s: the device does not answer on BAR 0",
				    bus->bdf);
	}
	/* Queues are probed with the device reset, as a driver would. */
	l_reset(l);
	l->num_queues = LEGACY_QUEUE_PROBE_MAX;
	for (uint16_t q = 0; q < LEGACY_QUEUE_PROBE_MAX; q++) {
		if (!l_queue_max_size(l, q)) {
			l->num_queues = q;
			break;
		}
	}
	*ops = bus->driver == UVIO_PCI_DRV_VFIO ? &legacy_ops_vfio : &legacy_ops_uio;
	*transport = l;
	return 0;
}

struct uvio_pci_bus *uvio_virtio_pci_legacy_bus(const struct uvio_transport_ops *ops,
						void *transport)
{
	if (ops == &legacy_ops_vfio || ops == &legacy_ops_uio)
		return ((struct vlegacy *)transport)->bus;
	return NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport for modern devices (spec 4.1): the
 * vendor capabilities locate the common configuration, notification, ISR
 * and device configuration structures in the BARs (4.1.4); everything
 * after that is loads and stores through the bus (VFIO or UIO, see
 * pci_internal.h). Legacy devices are in virtio_pci_legacy.c.
 *
 * uvio polls: no MSI-X vector is assigned (VIRTIO_MSI_NO_VECTOR for the
 * config change and every queue) until event mode asks for one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "common/virtio_compat.h"
#include "pci_internal.h"

#define RESET_TIMEOUT_MS 1000

/* One structure found through a vendor capability. */
struct vcap {
	int bar;          /* -1: not found */
	uint64_t off;     /* in the BAR */
	uint32_t len;
};

/* Where queue q is notified: cached at setup so that notify is one
 * store (spec 4.1.4.4). */
struct vq_notify {
	volatile uint8_t *va;   /* NULL: not set up, or the BAR is not mapped */
	uint64_t off;           /* in the notify BAR, for pwrite */
	uint16_t vqn;           /* queue index, or queue_notify_data */
	bool set;
};

struct vpci {
	struct uvio_pci_bus *bus;
	struct vcap common, notify, isr, device;
	uint32_t notify_mult;
	uint16_t num_queues;
	uint64_t features;        /* what the driver wrote */
	struct vq_notify *nq;     /* nq_cap >= num_queues entries */
	uint16_t nq_cap;
	struct uvio_pci_irq *irq; /* event mode (irq.c); NULL: polling only */
};

static const struct uvio_transport_ops modern_ops_vfio, modern_ops_uio;

/* ---- the common configuration (spec 4.1.4.3) ---------------------------- */

static uint8_t cc_read8(struct vpci *v, uint32_t off)
{
	return uvio_pci_bar_read8(v->bus, v->common.bar, v->common.off + off);
}

static uint16_t cc_read16(struct vpci *v, uint32_t off)
{
	return uvio_pci_bar_read16(v->bus, v->common.bar, v->common.off + off);
}

static uint32_t cc_read32(struct vpci *v, uint32_t off)
{
	return uvio_pci_bar_read32(v->bus, v->common.bar, v->common.off + off);
}

static void cc_write8(struct vpci *v, uint32_t off, uint8_t val)
{
	uvio_pci_bar_write8(v->bus, v->common.bar, v->common.off + off, val);
}

static void cc_write16(struct vpci *v, uint32_t off, uint16_t val)
{
	uvio_pci_bar_write16(v->bus, v->common.bar, v->common.off + off, val);
}

static void cc_write32(struct vpci *v, uint32_t off, uint32_t val)
{
	uvio_pci_bar_write32(v->bus, v->common.bar, v->common.off + off, val);
}

/* 64-bit fields are written as two 32-bit halves, low first (4.1.3.1). */
static void cc_write64(struct vpci *v, uint32_t lo, uint32_t hi, uint64_t val)
{
	cc_write32(v, lo, (uint32_t)val);
	cc_write32(v, hi, (uint32_t)(val >> 32));
}

/* ---- device configuration (spec 4.1.4.6) -------------------------------- */

static int m_read_config(void *t, uint32_t off, void *buf, uint32_t len)
{
	struct vpci *v = t;

	if (v->device.bar < 0 || off > v->device.len || len > v->device.len - off)
		return -EINVAL;
	return uvio_virtio_pci_cfg_access(v->bus, v->device.bar, v->device.off,
					  off, buf, len, false);
}

static int m_write_config(void *t, uint32_t off, const void *buf, uint32_t len)
{
	struct vpci *v = t;

	if (v->device.bar < 0 || off > v->device.len || len > v->device.len - off)
		return -EINVAL;
	return uvio_virtio_pci_cfg_access(v->bus, v->device.bar, v->device.off,
					  off, (void *)buf, len, true);
}

static uint32_t m_config_generation(void *t)
{
	return cc_read8(t, VIRTIO_PCI_COMMON_CFGGENERATION);
}

/* ---- interrupt vectors (spec 4.1.4.3, 4.1.5.1.3; vectors: irq.c) --------- */

/* Write a vector and read it back: VIRTIO_MSI_NO_VECTOR back means the
 * device refused it (4.1.5.1.3). Polling writes NO_VECTOR: nothing to
 * check. */
static int m_set_vector(struct vpci *v, uint32_t reg, uint16_t vec)
{
	cc_write16(v, reg, vec);
	if (vec != VIRTIO_MSI_NO_VECTOR && cc_read16(v, reg) != vec)
		return -EIO;
	return 0;
}

static int m_config_vector(struct vpci *v)
{
	return m_set_vector(v, VIRTIO_PCI_COMMON_MSIX, uvio_pci_irq_vector(v->irq, 0));
}

/* Selects queue q. Before queue_enable at set-up (4.1.5.1.3), and again
 * for a queue already live when its fd is first asked for. */
static int m_queue_vector(struct vpci *v, uint16_t q)
{
	cc_write16(v, VIRTIO_PCI_COMMON_Q_SELECT, q);
	return m_set_vector(v, VIRTIO_PCI_COMMON_Q_MSIX,
			    uvio_pci_irq_vector(v->irq, 1u + q));
}

static int m_queue_eventfd(void *t, uint16_t q, struct uvio_err *err)
{
	struct vpci *v = t;
	int fd;

	if (q >= v->num_queues)
		return uvio_err_set(err, -ENOENT, "%s: no queue %u", v->bus->bdf, q);
	fd = uvio_pci_irq_want(v->bus, &v->irq, 1u + v->num_queues, 1u + q, err);
	if (fd >= 0 && v->nq[q].set && m_queue_vector(v, q))
		return uvio_err_set(err, -EIO, "%s: queue %u refused MSI-X vector %u "
				    "(reads VIRTIO_MSI_NO_VECTOR)", v->bus->bdf, q, 1u + q);
	return fd;
}

static int m_config_eventfd(void *t, struct uvio_err *err)
{
	struct vpci *v = t;
	int fd = uvio_pci_irq_want(v->bus, &v->irq, 1u + v->num_queues, 0, err);

	if (fd >= 0 && m_config_vector(v))
		return uvio_err_set(err, -EIO, "%s: msix_config refused MSI-X vector 0 "
				    "(reads VIRTIO_MSI_NO_VECTOR)", v->bus->bdf);
	return fd;
}

/* ---- status and features (spec 4.1.4.3, 3.1.1) -------------------------- */

/* A removed device reads all ones, like a master abort (removal.c). */
static uint8_t m_get_status(void *t)
{
	struct vpci *v = t;

	if (uvio_pci_bus_poll_removed(v->bus))
		return 0xff;
	return cc_read8(v, VIRTIO_PCI_COMMON_STATUS);
}

static void m_set_status(void *t, uint8_t status)
{
	cc_write8(t, VIRTIO_PCI_COMMON_STATUS, status);
}

/* Spec 4.1.4.3.2: after writing 0 the driver waits for 0 to read back. */
static int m_reset(void *t)
{
	struct vpci *v = t;
	struct timespec ms = { 0, 1000000 };

	cc_write8(v, VIRTIO_PCI_COMMON_STATUS, 0);
	for (int i = 0; m_get_status(v) != 0; i++) {
		if (uvio_pci_bus_removed(v->bus))
			return -ENODEV;   /* gone: no need to wait */
		if (i >= RESET_TIMEOUT_MS)
			return -ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
	for (uint16_t q = 0; q < v->num_queues; q++)
		v->nq[q].set = false;
	v->features = 0;
	/* The reset dropped the config vector: event mode's comes back. */
	m_config_vector(v);
	return 0;
}

static uint64_t m_get_features(void *t)
{
	struct vpci *v = t;
	uint64_t lo, hi;

	cc_write32(v, VIRTIO_PCI_COMMON_DFSELECT, 0);
	lo = cc_read32(v, VIRTIO_PCI_COMMON_DF);
	cc_write32(v, VIRTIO_PCI_COMMON_DFSELECT, 1);
	hi = cc_read32(v, VIRTIO_PCI_COMMON_DF);
	return hi << 32 | lo;
}

static int m_set_features(void *t, uint64_t features)
{
	struct vpci *v = t;

	cc_write32(v, VIRTIO_PCI_COMMON_GFSELECT, 0);
	cc_write32(v, VIRTIO_PCI_COMMON_GF, (uint32_t)features);
	cc_write32(v, VIRTIO_PCI_COMMON_GFSELECT, 1);
	cc_write32(v, VIRTIO_PCI_COMMON_GF, (uint32_t)(features >> 32));
	v->features = features;
	return 0;
}

static bool m_is_legacy(void *t)
{
	(void)t;
	return false;
}

/* ---- queues (spec 4.1.5.1.3, 4.1.4.4) ------------------------------------ */

/* num_queues can change with the features (QEMU's virtio-net shows 2N+1
 * queues only once MQ is accepted, 3 after a reset): read it each time the
 * core asks, growing the notify table to match. */
static uint16_t m_max_queues(void *t)
{
	struct vpci *v = t;
	uint16_t n = cc_read16(v, VIRTIO_PCI_COMMON_NUMQ);

	if (n == 0xffff)
		return v->num_queues;  /* gone: keep what we had */
	if (n > v->nq_cap) {
		struct vq_notify *nq = realloc(v->nq, sizeof(*nq) * n);

		if (!nq)
			return v->num_queues;
		memset(nq + v->nq_cap, 0, sizeof(*nq) * (n - v->nq_cap));
		v->nq = nq;
		v->nq_cap = n;
	}
	v->num_queues = n;
	return n;
}

static uint16_t m_queue_max_size(void *t, uint16_t q)
{
	struct vpci *v = t;

	if (q >= v->num_queues)
		return 0;
	cc_write16(v, VIRTIO_PCI_COMMON_Q_SELECT, q);
	return cc_read16(v, VIRTIO_PCI_COMMON_Q_SIZE);
}

static int m_setup_queue(void *t, uint16_t q, uint16_t size,
			 const struct uvio_vq_addrs *a)
{
	struct vpci *v = t;
	bool ndata = v->features & (1ULL << VIRTIO_F_NOTIFICATION_DATA);
	uint64_t noff;
	uint16_t max;

	if (q >= v->num_queues)
		return -ENOENT;
	cc_write16(v, VIRTIO_PCI_COMMON_Q_SELECT, q);
	max = cc_read16(v, VIRTIO_PCI_COMMON_Q_SIZE);
	if (!size || size > max)
		return -EINVAL;
	if (cc_read16(v, VIRTIO_PCI_COMMON_Q_ENABLE))
		return -EBUSY;
	cc_write16(v, VIRTIO_PCI_COMMON_Q_SIZE, size);
	/* Also the re-enable of a reset queue (spec 2.6.1.2): event mode's
	 * per-queue MSI-X vector is written here, so that it comes back
	 * with the queue (and after a device reset). */
	if (m_queue_vector(v, q))
		return -EIO;
	cc_write64(v, VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_DESCHI, a->desc);
	cc_write64(v, VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_AVAILHI, a->driver);
	cc_write64(v, VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_Q_USEDHI, a->device);

	/* Spec 4.1.4.4: cap.offset + queue_notify_off * notify_off_multiplier,
	 * and the write (2 bytes, 4 with NOTIFICATION_DATA) must fit in the
	 * capability. */
	noff = (uint64_t)cc_read16(v, VIRTIO_PCI_COMMON_Q_NOFF) * v->notify_mult;
	if (noff + (ndata ? 4 : 2) > v->notify.len)
		return -EIO;
	v->nq[q].off = v->notify.off + noff;
	v->nq[q].va = v->bus->bar[v->notify.bar].va ?
		      v->bus->bar[v->notify.bar].va + v->nq[q].off : NULL;
	v->nq[q].vqn = q;
	if (v->features & (1ULL << VIRTIO_F_NOTIF_CONFIG_DATA))
		v->nq[q].vqn = cc_read16(v, VIRTIO_PCI_COMMON_Q_NDATA);
	v->nq[q].set = true;
	cc_write16(v, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	return 0;
}

/* Spec 4.1.4.3.2: the driver must not write 0 to queue_enable; a reset
 * disables the queues. */
static void m_del_queue(void *t, uint16_t q)
{
	struct vpci *v = t;

	if (q < v->num_queues)
		v->nq[q].set = false;
}

/* Spec 4.1.4.3.2 (queue_reset, with VIRTIO_F_RING_RESET): the driver
 * writes 1 and the reset is done when queue_reset reads 0 again, with
 * queue_enable 0 too, as the device requirement says and QEMU and Linux
 * (vp_modern_set_queue_reset) do: the driver text's "reads back 1" is
 * the polarity that virtio-spec issue 139 corrected. setup_queue then
 * re-enables it (spec 2.6.1.2). */
static int m_reset_queue(void *t, uint16_t q)
{
	struct vpci *v = t;
	struct timespec ms = { 0, 1000000 };

	if (!(v->features & (1ULL << VIRTIO_F_RING_RESET)))
		return -ENOTSUP;
	if (q >= v->num_queues)
		return -ENOENT;
	/* queue_reset lies past the 1.0 structure: it must be inside the
	 * capability (4.1.4.3). */
	if (v->common.len < VIRTIO_PCI_COMMON_Q_RESET + 2)
		return -ENOTSUP;
	cc_write16(v, VIRTIO_PCI_COMMON_Q_SELECT, q);
	cc_write16(v, VIRTIO_PCI_COMMON_Q_RESET, 1);
	for (int i = 0; cc_read16(v, VIRTIO_PCI_COMMON_Q_RESET) ||
			cc_read16(v, VIRTIO_PCI_COMMON_Q_ENABLE); i++) {
		if (uvio_pci_bus_poll_removed(v->bus))
			return -ENODEV;   /* all ones: gone, not resetting */
		if (i >= RESET_TIMEOUT_MS)
			return -ETIMEDOUT;
		nanosleep(&ms, NULL);
		cc_write16(v, VIRTIO_PCI_COMMON_Q_SELECT, q);
	}
	v->nq[q].set = false;
	return 0;
}

/* Spec 4.1.5.2: the 16-bit queue index (or queue_notify_data); with
 * NOTIFICATION_DATA the 32-bit value the ring computed, whose low half is
 * the same index. */
static void m_notify_queue(void *t, uint16_t q, uint32_t data)
{
	struct vpci *v = t;
	struct vq_notify *n = &v->nq[q];

	if (v->features & (1ULL << VIRTIO_F_NOTIFICATION_DATA)) {
		data = (data & 0xffff0000u) | n->vqn;
		if (n->va)
			*(volatile uint32_t *)(void *)n->va = data;
		else
			uvio_pci_bar_write32(v->bus, v->notify.bar, n->off, data);
	} else if (n->va) {
		*(volatile uint16_t *)(void *)n->va = n->vqn;
	} else {
		uvio_pci_bar_write16(v->bus, v->notify.bar, n->off, n->vqn);
	}
}

/* From the PCI device ID (spec 4.1.2.1): probe worked it out. */
static uint32_t m_device_id(void *t)
{
	return ((struct vpci *)t)->bus->info.virtio_type;
}

/* Removal (removal.c, pci_bus.c): the bus under the transport. */
static int m_removal_fd(void *t)
{
	return uvio_pci_bus_removal_fd(((struct vpci *)t)->bus);
}

static bool m_is_removed(void *t)
{
	return uvio_pci_bus_poll_removed(((struct vpci *)t)->bus);
}

static int m_release(void *t)
{
	return uvio_pci_bus_release(((struct vpci *)t)->bus);
}

static void m_destroy(void *t)
{
	struct vpci *v = t;

	v->bus->ops->close(v->bus);
	uvio_pci_irq_destroy(v->irq);
	free(v->nq);
	free(v);
}

#define MODERN_OPS(bus_name) {                       \
	.name = bus_name,                            \
	.read_config = m_read_config,                \
	.write_config = m_write_config,              \
	.config_generation = m_config_generation,    \
	.get_status = m_get_status,                  \
	.set_status = m_set_status,                  \
	.reset = m_reset,                            \
	.get_features = m_get_features,              \
	.set_features = m_set_features,              \
	.is_legacy = m_is_legacy,                    \
	.max_queues = m_max_queues,                  \
	.queue_max_size = m_queue_max_size,          \
	.setup_queue = m_setup_queue,                \
	.del_queue = m_del_queue,                    \
	.notify_queue = m_notify_queue,              \
	.destroy = m_destroy,                        \
	.device_id = m_device_id,                    \
	.removal_fd = m_removal_fd,                  \
	.is_removed = m_is_removed,                  \
	.release = m_release,                        \
	.reset_queue = m_reset_queue,                \
	.queue_eventfd = m_queue_eventfd,            \
	.config_eventfd = m_config_eventfd,          \
}

static const struct uvio_transport_ops modern_ops_vfio = MODERN_OPS("vfio");
static const struct uvio_transport_ops modern_ops_uio = MODERN_OPS("uio");

/* ---- finding the structures (spec 4.1.4) --------------------------------- */

/* Walk the vendor capabilities; the first usable one of each type wins
 * (4.1.4.1: "the driver SHOULD use the first instance it can use"). */
static void find_caps(struct vpci *v)
{
	struct uvio_pci_bus *bus = v->bus;
	struct vcap *slot;
	uint8_t pos = 0;

	v->common.bar = v->notify.bar = v->isr.bar = v->device.bar = -1;
	while ((pos = uvio_pci_find_cap(bus, PCI_CAP_ID_VNDR, pos))) {
		struct virtio_pci_cap cap;
		uint32_t mult = 0;

		if (uvio_pci_cfg_read(bus, pos, &cap, sizeof(cap)) ||
		    cap.cap_len < sizeof(cap) || cap.bar >= PCI_STD_NUM_BARS)
			continue;
		switch (cap.cfg_type) {
		case VIRTIO_PCI_CAP_COMMON_CFG: slot = &v->common; break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG: slot = &v->notify; break;
		case VIRTIO_PCI_CAP_ISR_CFG:    slot = &v->isr; break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: slot = &v->device; break;
		default: continue;
		}
		if (slot->bar >= 0)
			continue;
		/* The structure must lie inside an implemented BAR. */
		if ((uint64_t)cap.offset + cap.length > bus->bar[cap.bar].size)
			continue;
		if (slot == &v->notify) {
			if (cap.cap_len < sizeof(struct virtio_pci_notify_cap) ||
			    uvio_pci_cfg_read32(bus, pos + VIRTIO_PCI_NOTIFY_CAP_MULT, &mult))
				continue;
			v->notify_mult = mult;
		}
		slot->bar = cap.bar;
		slot->off = cap.offset;
		slot->len = cap.length;
	}
}

bool uvio_virtio_pci_has_modern_caps(struct uvio_pci_bus *bus)
{
	struct vpci v = { .bus = bus };

	find_caps(&v);
	return v.common.bar >= 0 && v.notify.bar >= 0;
}

int uvio_virtio_pci_create(struct uvio_pci_bus *bus,
			   const struct uvio_transport_ops **ops,
			   void **transport, struct uvio_err *err)
{
	struct vpci *v;
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v)
		return uvio_err_set(err, -ENOMEM, "%s: out of memory", bus->bdf);
	v->bus = bus;
	find_caps(v);
	if (v->common.bar < 0 || v->notify.bar < 0) {
		free(v);
		/* No modern interface: a legacy device (0x1000-0x103f with
		 * disable-modern=on, or an old hypervisor). */
		if (bus->info.legacy_capable)
			return uvio_virtio_pci_legacy_create(bus, ops, transport, err);
		return uvio_err_set(err, -ENOTSUP,
				    "%s: virtio device without the virtio-pci capabilities",
				    bus->bdf);
	}
	if (v->common.len < sizeof(struct virtio_pci_common_cfg) ||
	    v->notify.len < 2) {
		rc = uvio_err_set(err, -EIO, "%s: virtio capability too short",
				  bus->bdf);
		goto fail;
	}
	rc = bus->ops->map_bar(bus, v->common.bar, err);
	if (!rc)
		rc = bus->ops->map_bar(bus, v->notify.bar, err);
	if (!rc && v->isr.bar >= 0)
		rc = bus->ops->map_bar(bus, v->isr.bar, err);
	if (!rc && v->device.bar >= 0)
		rc = bus->ops->map_bar(bus, v->device.bar, err);
	if (rc)
		goto fail;
	v->num_queues = cc_read16(v, VIRTIO_PCI_COMMON_NUMQ);
	if (v->num_queues == 0xffff) {
		/* All-ones: the BAR reads as a master abort. */
		rc = uvio_err_set(err, -EIO, "%s: the device does not answer on BAR %d",
				  bus->bdf, v->common.bar);
		goto fail;
	}
	v->nq_cap = v->num_queues ? v->num_queues : 1;
	v->nq = calloc(v->nq_cap, sizeof(*v->nq));
	if (!v->nq) {
		rc = uvio_err_set(err, -ENOMEM, "%s: out of memory", bus->bdf);
		goto fail;
	}
	cc_write16(v, VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
	*ops = bus->driver == UVIO_PCI_DRV_VFIO ? &modern_ops_vfio : &modern_ops_uio;
	*transport = v;
	return 0;
fail:
	free(v->nq);
	free(v);
	return rc;
}

struct uvio_pci_bus *uvio_virtio_pci_bus(const struct uvio_transport_ops *ops,
					 void *transport)
{
	if (ops == &modern_ops_vfio || ops == &modern_ops_uio)
		return ((struct vpci *)transport)->bus;
	return uvio_virtio_pci_legacy_bus(ops, transport);
}

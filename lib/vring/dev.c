/* SPDX-License-Identifier: MIT */
/*
 * The device core: spec 3.1.1 (device initialization) over any transport.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <uvio/dev.h>
#include <uvio/dma.h>

#include "common/virtio_compat.h"
#include "vq_internal.h"

#define CONFIG_READ_RETRIES 100

struct dev_queue {
	struct uvio_vq *vq;
	void *mem;
};

struct uvio_dev {
	const struct uvio_transport_ops *ops;
	void *t;
	char name[64];
	int numa_node;
	bool legacy;
	uint64_t device_features;
	uint64_t features;
	uint16_t nqueues;          /* entries in queues[] */
	struct dev_queue *queues;
	uint64_t config_reads;     /* read_config calls (atomic, relaxed) */
	char error[UVIO_ERR_MSG_MAX];
};

static int dev_error(struct uvio_dev *dev, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int dev_error(struct uvio_dev *dev, int code, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(dev->error, sizeof(dev->error), "%s: ", dev->name);

	va_start(ap, fmt);
	vsnprintf(dev->error + n, sizeof(dev->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

uint64_t uvio_dev_ring_features(void)
{
	return 1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |
	       1ULL << VIRTIO_F_IN_ORDER | 1ULL << VIRTIO_F_RING_PACKED |
	       1ULL << VIRTIO_F_ORDER_PLATFORM | 1ULL << VIRTIO_F_ACCESS_PLATFORM |
	       1ULL << VIRTIO_F_NOTIFICATION_DATA | 1ULL << VIRTIO_F_VERSION_1 |
	       1ULL << VIRTIO_F_RING_RESET | 1ULL << VIRTIO_F_ANY_LAYOUT;
}

/* Spec 3.1.1 steps 1-3. */
static int handshake_start(struct uvio_dev *dev)
{
	int rc = dev->ops->reset(dev->t);

	if (rc)
		return dev_error(dev, rc, "device did not reset (status stuck at 0x%x)",
				 dev->ops->get_status(dev->t));
	dev->ops->set_status(dev->t, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	dev->ops->set_status(dev->t, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	dev->device_features = dev->ops->get_features(dev->t);
	dev->features = 0;
	return 0;
}

int uvio_dev_create(const struct uvio_transport_ops *ops, void *transport,
		    const char *name, int numa_node, struct uvio_dev **out,
		    struct uvio_err *err)
{
	struct uvio_dev *dev = calloc(1, sizeof(*dev));
	int rc;

	if (!dev) {
		ops->destroy(transport);
		return uvio_err_set(err, -ENOMEM, "%s: out of memory", name);
	}
	dev->ops = ops;
	dev->t = transport;
	dev->numa_node = numa_node;
	dev->legacy = ops->is_legacy && ops->is_legacy(transport);
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->nqueues = ops->max_queues(transport);
	if (dev->nqueues) {
		dev->queues = calloc(dev->nqueues, sizeof(*dev->queues));
		if (!dev->queues) {
			uvio_dev_destroy(dev);
			return uvio_err_set(err, -ENOMEM, "%s: out of memory", name);
		}
	}
	rc = handshake_start(dev);
	if (rc) {
		uvio_err_set(err, rc, "%s", dev->error);
		uvio_dev_destroy(dev);
		return rc;
	}
	*out = dev;
	return 0;
}

static void free_queue(struct uvio_dev *dev, uint16_t q)
{
	struct dev_queue *dq = &dev->queues[q];

	if (!dq->vq)
		return;
	uvio_vq_destroy(dq->vq);
	uvio_dma_free(dq->mem);
	dq->vq = NULL;
	dq->mem = NULL;
}

static void free_queues(struct uvio_dev *dev,
			void (*on_unused)(void *, uint16_t, void *), void *ctx)
{
	for (uint16_t q = 0; q < dev->nqueues; q++) {
		struct uvio_vq *vq = dev->queues[q].vq;
		void *cookie;

		if (!vq)
			continue;
		while ((cookie = uvio_vq_detach_unused(vq)))
			if (on_unused)
				on_unused(ctx, q, cookie);
		dev->ops->del_queue(dev->t, q);
		free_queue(dev, q);
	}
}

int uvio_dev_reset(struct uvio_dev *dev)
{
	int rc = dev->ops->reset(dev->t);

	return rc ? dev_error(dev, rc, "device did not reset") : 0;
}

void uvio_dev_destroy(struct uvio_dev *dev)
{
	if (!dev)
		return;
	/* The device must stop touching queue memory before it is freed. */
	dev->ops->reset(dev->t);
	if (dev->queues)
		free_queues(dev, NULL, NULL);
	free(dev->queues);
	dev->ops->destroy(dev->t);
	free(dev);
}

const char *uvio_dev_name(const struct uvio_dev *dev) { return dev->name; }
int uvio_dev_numa_node(const struct uvio_dev *dev) { return dev->numa_node; }
bool uvio_dev_is_legacy(const struct uvio_dev *dev) { return dev->legacy; }
void *uvio_dev_transport(const struct uvio_dev *dev) { return dev->t; }
const struct uvio_transport_ops *uvio_dev_ops(const struct uvio_dev *dev) { return dev->ops; }
const char *uvio_dev_error(const struct uvio_dev *dev) { return dev->error; }
uint64_t uvio_dev_device_features(const struct uvio_dev *dev) { return dev->device_features; }
uint64_t uvio_dev_features(const struct uvio_dev *dev) { return dev->features; }
uint16_t uvio_dev_max_queues(const struct uvio_dev *dev) { return dev->nqueues; }

bool uvio_dev_has_feature(const struct uvio_dev *dev, unsigned bit)
{
	return bit < 64 && (dev->features & (1ULL << bit));
}

uint16_t uvio_dev_queue_max_size(const struct uvio_dev *dev, uint16_t q)
{
	return q < dev->nqueues ? dev->ops->queue_max_size(dev->t, q) : 0;
}

/* The ring features we cannot drive are never offered back. */
static uint64_t feature_mask(const struct uvio_dev *dev, uint64_t wanted)
{
	/* Spec 2.2: bits 24-41 are the transport's, 42-49 reserved; the
	 * rest belong to the device type and pass as the caller wants. */
	uint64_t transport_bits = ((1ULL << 50) - 1) & ~((1ULL << 24) - 1);
	uint64_t f = wanted & ~(transport_bits & ~uvio_dev_ring_features());

	/* Spec 2.6.1: RING_RESET only where the transport can reset a queue. */
	if (!dev->ops->reset_queue)
		f &= ~(1ULL << VIRTIO_F_RING_RESET);

	if (dev->legacy)
		/* Legacy: 32 feature bits, and no packed ring (spec 2.8 is 1.1+). */
		return f & 0xffffffffULL;
	return f | 1ULL << VIRTIO_F_VERSION_1;
}

/* The number of queues may depend on the features (spec 4.1.4.3: read
 * num_queues after FEATURES_OK): size the table again. No queue is set up
 * yet at this point. */
static int resize_queues(struct uvio_dev *dev)
{
	uint16_t n = dev->ops->max_queues(dev->t);
	struct dev_queue *q;

	if (n == dev->nqueues)
		return 0;
	q = calloc(n ? n : 1, sizeof(*q));
	if (!q)
		return dev_error(dev, -ENOMEM, "out of memory");
	free(dev->queues);
	dev->queues = q;
	dev->nqueues = n;
	return 0;
}

/* Spec 3.1.1 steps 4-6. */
int uvio_dev_negotiate(struct uvio_dev *dev, uint64_t wanted, uint64_t *negotiated)
{
	uint64_t f = feature_mask(dev, wanted) & dev->device_features;
	int rc;

	if (!dev->legacy && !(dev->device_features & (1ULL << VIRTIO_F_VERSION_1)))
		return dev_error(dev, -ENOTSUP, "device does not offer VERSION_1 "
				 "(a modern transport needs it)");
	rc = dev->ops->set_features(dev->t, f);
	if (rc)
		return dev_error(dev, rc, "could not write driver features");
	dev->features = f;
	if (!dev->legacy) {
		dev->ops->set_status(dev->t, dev->ops->get_status(dev->t) |
				     VIRTIO_CONFIG_S_FEATURES_OK);
		if (!(dev->ops->get_status(dev->t) & VIRTIO_CONFIG_S_FEATURES_OK))
			return dev_error(dev, -ENOTSUP, "device refused features 0x%llx "
					 "(FEATURES_OK did not stick)",
					 (unsigned long long)f);
	}
	if (uvio_dev_needs_reset(dev))
		return dev_error(dev, -EIO, "device needs a reset");
	if (negotiated)
		*negotiated = f;
	return resize_queues(dev);
}

/* Spec 2.5.1: a read is consistent when the generation did not move. */
int uvio_dev_read_config(struct uvio_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	for (int i = 0; i < CONFIG_READ_RETRIES; i++) {
		uint32_t gen = dev->ops->config_generation ? dev->ops->config_generation(dev->t) : 0;
		int rc = dev->ops->read_config(dev->t, off, buf, len);

		__atomic_fetch_add(&dev->config_reads, 1, __ATOMIC_RELAXED);

		if (rc)
			return dev_error(dev, rc, "config read at %u+%u failed", off, len);
		if (!dev->ops->config_generation || dev->ops->config_generation(dev->t) == gen)
			return 0;
	}
	return dev_error(dev, -EIO, "config generation never settled");
}

int uvio_dev_write_config(struct uvio_dev *dev, uint32_t off, const void *buf, uint32_t len)
{
	int rc = dev->ops->write_config(dev->t, off, buf, len);

	return rc ? dev_error(dev, rc, "config write at %u+%u failed", off, len) : 0;
}

static uint16_t choose_size(const struct uvio_dev *dev, uint16_t max, uint16_t want)
{
	/* A legacy device's queue size is fixed (spec 4.1.4.8): take it. */
	uint16_t size = want && want < max && !dev->legacy ? want : max;

	if (!(dev->features & (1ULL << VIRTIO_F_RING_PACKED)))
		while (size & (size - 1))
			size &= (uint16_t)(size - 1);  /* round down to a power of two */
	return size;
}

static void notify_transport(void *ctx, uint16_t index, uint32_t data)
{
	struct uvio_dev *dev = ctx;

	dev->ops->notify_queue(dev->t, index, data);
}

/* Spec 3.1.1 step 7, for one queue. */
int uvio_dev_setup_queue(struct uvio_dev *dev, uint16_t q, uint16_t size,
			 uint16_t indirect_max, struct uvio_vq **out)
{
	uint16_t max = uvio_dev_queue_max_size(dev, q);
	struct uvio_vq_params p = {
		.index = q, .features = dev->features, .indirect_max = indirect_max,
		.notify = notify_transport, .notify_ctx = dev,
	};
	struct uvio_vq_addrs addrs;
	struct uvio_err err;
	int rc;

	if (!max)
		return dev_error(dev, -ENOENT, "queue %u does not exist", q);
	if (dev->queues[q].vq)
		return dev_error(dev, -EEXIST, "queue %u is already set up", q);
	p.size = choose_size(dev, max, size);
	size_t len = uvio_vq_mem_size(dev->features, p.size, indirect_max);
	p.mem = uvio_dma_alloc(len, 4096, dev->numa_node, &p.mem_iova, &err);
	if (!p.mem)
		return dev_error(dev, err.code, "queue %u: %s", q, err.msg);
	rc = uvio_vq_create(&p, &dev->queues[q].vq);
	if (rc) {
		uvio_dma_free(p.mem);
		return dev_error(dev, rc, "queue %u: bad size %u", q, p.size);
	}
	dev->queues[q].mem = p.mem;
	uvio_vq_get_addrs(dev->queues[q].vq, &addrs);
	rc = dev->ops->setup_queue(dev->t, q, p.size, &addrs);
	if (rc) {
		free_queue(dev, q);
		return dev_error(dev, rc, "queue %u: the transport refused it (%s)", q,
				 strerror(-rc));
	}
	*out = dev->queues[q].vq;
	return 0;
}

struct uvio_vq *uvio_dev_queue(const struct uvio_dev *dev, uint16_t q)
{
	return q < dev->nqueues ? dev->queues[q].vq : NULL;
}

int uvio_dev_start(struct uvio_dev *dev)
{
	dev->ops->set_status(dev->t, dev->ops->get_status(dev->t) | VIRTIO_CONFIG_S_DRIVER_OK);
	if (uvio_dev_needs_reset(dev))
		return dev_error(dev, -EIO, "device needs a reset right after DRIVER_OK");
	return 0;
}

void uvio_dev_fail(struct uvio_dev *dev)
{
	dev->ops->set_status(dev->t, dev->ops->get_status(dev->t) | VIRTIO_CONFIG_S_FAILED);
}

uint8_t uvio_dev_status(struct uvio_dev *dev)
{
	return dev->ops->get_status(dev->t);
}

bool uvio_dev_needs_reset(struct uvio_dev *dev)
{
	return dev->ops->get_status(dev->t) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

int uvio_dev_check(struct uvio_dev *dev)
{
	uint8_t status = dev->ops->get_status(dev->t);

	if (status == 0xff)  /* all ones: the device is gone (surprise removal) */
		return -ENODEV;
	if (status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return -ERESTART;
	return 0;
}

uint32_t uvio_dev_device_id(const struct uvio_dev *dev)
{
	return dev->ops->device_id ? dev->ops->device_id(dev->t) : 0;
}

/* The names spec 5 gives the device types uvio drives. */
static void type_name(uint32_t id, char *buf, size_t len)
{
	if (id == VIRTIO_ID_NET)
		snprintf(buf, len, "virtio-net");
	else if (id == VIRTIO_ID_BLOCK)
		snprintf(buf, len, "virtio-blk");
	else
		snprintf(buf, len, "virtio device type %u", id);
}

int uvio_dev_expect_type(const struct uvio_dev *dev, uint32_t device_id,
			 struct uvio_err *err)
{
	uint32_t id = uvio_dev_device_id(dev);
	char is[32], want[32];

	if (!id || id == device_id)
		return 0;
	type_name(id, is, sizeof(is));
	type_name(device_id, want, sizeof(want));
	return uvio_err_set(err, -ENODEV, "%s: is a %s device, not %s",
			    dev->name, is, want);
}

int uvio_dev_reinit(struct uvio_dev *dev,
		    void (*on_unused)(void *ctx, uint16_t q, void *cookie), void *ctx)
{
	int rc = dev->ops->reset(dev->t);

	if (rc)
		return dev_error(dev, rc, "device did not reset");
	free_queues(dev, on_unused, ctx);
	return handshake_start(dev);
}

bool uvio_dev_can_reset_queue(const struct uvio_dev *dev)
{
	return dev->ops->reset_queue && uvio_dev_has_feature(dev, VIRTIO_F_RING_RESET);
}

/* A ring of a new size: new memory and a new queue (spec 2.6.1.2: the
 * driver may re-enable the queue with another size). */
static int queue_resize(struct uvio_dev *dev, uint16_t q, uint16_t size)
{
	struct dev_queue *dq = &dev->queues[q];
	struct uvio_vq_params p = {
		.index = q, .size = size, .features = dev->features,
		.indirect_max = dq->vq->indirect_max,
		.notify = notify_transport, .notify_ctx = dev,
	};
	size_t len = uvio_vq_mem_size(dev->features, size, p.indirect_max);
	struct uvio_vq *vq;
	struct uvio_err err;

	p.mem = uvio_dma_alloc(len, 4096, dev->numa_node, &p.mem_iova, &err);
	if (!p.mem)
		return dev_error(dev, err.code, "queue %u: %s", q, err.msg);
	if (uvio_vq_create(&p, &vq)) {
		uvio_dma_free(p.mem);
		return dev_error(dev, -ENOMEM, "queue %u: out of memory", q);
	}
	free_queue(dev, q);
	dq->vq = vq;
	dq->mem = p.mem;
	return 0;
}

/* Spec 2.6.1.2: a reset queue is set up again and enabled like a new one.
 * The transport's setup_queue also gives it back its notification
 * vector (MSI-X), as at first set-up. */
static int queue_reenable(struct uvio_dev *dev, uint16_t q, uint16_t size)
{
	struct dev_queue *dq = &dev->queues[q];
	struct uvio_vq_addrs addrs;
	int rc;

	if (size != uvio_vq_size(dq->vq))
		rc = queue_resize(dev, q, size);
	else if ((rc = uvio_vq_reset(dq->vq)))
		dev_error(dev, rc, "queue %u: ring not made new (%s)", q, strerror(-rc));
	if (rc)
		return rc;
	uvio_vq_get_addrs(dq->vq, &addrs);
	rc = dev->ops->setup_queue(dev->t, q, size, &addrs);
	if (rc)
		return dev_error(dev, rc, "queue %u: the transport refused it again (%s)",
				 q, strerror(-rc));
	return 0;
}

int uvio_dev_reset_queue(struct uvio_dev *dev, uint16_t q, uint16_t size,
			 void (*on_unused)(void *ctx, uint16_t q, void *cookie),
			 void *ctx, struct uvio_vq **out)
{
	struct uvio_vq *vq = uvio_dev_queue(dev, q);
	void *cookie;
	int rc;

	if (!vq)
		return dev_error(dev, -ENOENT, "queue %u is not set up", q);
	if (!uvio_dev_can_reset_queue(dev))
		return dev_error(dev, -ENOTSUP, "queue reset needs VIRTIO_F_RING_RESET "
				 "and a transport that has it (%s)", dev->ops->name);
	rc = dev->ops->reset_queue(dev->t, q);
	if (rc) {
		uvio_vq_set_broken(vq, "queue reset failed");
		return dev_error(dev, rc, "queue %u did not reset (%s)", q, strerror(-rc));
	}
	/* Spec 2.6.1.1: once reset, the device owns none of the buffers. */
	while ((cookie = uvio_vq_detach_unused(vq)))
		if (on_unused)
			on_unused(ctx, q, cookie);
	rc = queue_reenable(dev, q, choose_size(dev, uvio_dev_queue_max_size(dev, q), size));
	if (rc) {
		uvio_vq_set_broken(dev->queues[q].vq, "queue re-enable failed");
		*out = dev->queues[q].vq;
		return rc;
	}
	*out = dev->queues[q].vq;
	return 0;
}

/* Event mode: the transport's interrupt fds (dev.h). */
static int event_fd_result(struct uvio_dev *dev, int rc, const struct uvio_err *e)
{
	size_t n = strlen(dev->name);
	const char *msg = e->msg;

	if (rc >= 0)
		return rc;
	/* The transport names the device too: say it once. */
	if (!strncmp(msg, dev->name, n) && msg[n] == ':' && msg[n + 1] == ' ')
		msg += n + 2;
	return dev_error(dev, rc, "%s", *msg ? msg : "no interrupts on this transport");
}

int uvio_dev_queue_eventfd(struct uvio_dev *dev, uint16_t q)
{
	struct uvio_err e = { 0 };

	if (q >= dev->nqueues || !dev->queues[q].vq)
		return dev_error(dev, -EINVAL, "queue %u is not set up", q);
	if (!dev->ops->queue_eventfd)
		return dev_error(dev, -ENOTSUP, "the %s transport has no queue interrupts",
				 dev->ops->name);
	return event_fd_result(dev, dev->ops->queue_eventfd(dev->t, q, &e), &e);
}

int uvio_dev_config_eventfd(struct uvio_dev *dev)
{
	struct uvio_err e = { 0 };

	if (!dev->ops->config_eventfd)
		return dev_error(dev, -ENOTSUP, "the %s transport has no config interrupt",
				 dev->ops->name);
	return event_fd_result(dev, dev->ops->config_eventfd(dev->t, &e), &e);
}

uint64_t uvio_dev_config_reads(const struct uvio_dev *dev)
{
	return __atomic_load_n(&dev->config_reads, __ATOMIC_RELAXED);
}

/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user transport (QEMU docs/interop/vhost-user.rst): the device
 * core's operations over a vhost-user back-end.
 *
 * Message order, as QEMU's front-end (vhost_dev_start) and DPDK's
 * virtio-user expect:
 *   open:        (vu_conn.c) GET_FEATURES, GET/SET_PROTOCOL_FEATURES,
 *                GET_QUEUE_NUM, SET_OWNER; GET_CONFIG to learn its size
 *   negotiate:   SET_FEATURES (with PROTOCOL_FEATURES when offered)
 *   config:      GET_CONFIG (SET_CONFIG for writes)
 *   each queue:  SET_MEM_TABLE (before the first), then SET_VRING_NUM,
 *                SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK,
 *                SET_VRING_CALL
 *   DRIVER_OK:   SET_VRING_ENABLE 1 for each queue (rings start disabled
 *                once PROTOCOL_FEATURES is negotiated)
 *   reset:       SET_VRING_ENABLE 0 and GET_VRING_BASE (which stops the
 *                ring) for each queue, then RESET_DEVICE where offered
 * With REPLY_ACK every message without an answer of its own asks for an
 * ack, so a refusal is seen at the message that caused it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include <uvio/vhost_user.h>

#include "common/virtio_compat.h"
#include "vu_internal.h"

#define DEFAULT_QUEUE_SIZE 256

/* Bits of GET_FEATURES that belong to the transport or that it cannot
 * carry: the protocol-features and logging bits, an IOMMU (that would need
 * IOTLB messages), notification data (a kick eventfd carries no data),
 * NOTIF_CONFIG_DATA and RING_RESET (no messages for them here). */
static const uint64_t transport_bits =
	BIT(VU_F_PROTOCOL_FEATURES) | BIT(VHOST_F_LOG_ALL) |
	BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(VIRTIO_F_NOTIFICATION_DATA) |
	BIT(VIRTIO_F_NOTIF_CONFIG_DATA) | BIT(VIRTIO_F_RING_RESET);

/* A virtio-net back-end has no configuration space and no control queue
 * (QEMU handles both itself): what needs either is not offered to a net
 * device, except the control queue and MQ, which vu_ctrl.c emulates. */
static const uint64_t net_frontend_bits =
	BIT(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | BIT(VIRTIO_NET_F_MTU) |
	BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
	BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) |
	BIT(VIRTIO_NET_F_CTRL_VLAN) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |
	BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VIRTIO_NET_F_MQ) |
	BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_NOTF_COAL) |
	BIT(VIRTIO_NET_F_HASH_REPORT) | BIT(VIRTIO_NET_F_RSS) |
	BIT(VIRTIO_NET_F_RSC_EXT) | BIT(VIRTIO_NET_F_STANDBY) |
	BIT(VIRTIO_NET_F_SPEED_DUPLEX);

static const struct uvio_transport_ops vu_ops;

static bool has_protocol_features(const struct vu *v)
{
	return v->features & BIT(VU_F_PROTOCOL_FEATURES);
}

/* ---- messages ------------------------------------------------------------ */

static int send_state(struct vu *v, uint32_t request, uint16_t q, uint32_t num)
{
	struct vu_msg m;

	uvio_vu_msg_init(&m, request, sizeof(m.p.state));
	m.p.state.index = q;
	m.p.state.num = num;
	return uvio_vu_request(v, &m, NULL, 0, NULL);
}

static int send_vring_fd(struct vu *v, uint32_t request, uint16_t q, int fd)
{
	struct vu_msg m;

	uvio_vu_msg_init(&m, request, sizeof(m.p.u64));
	m.p.u64 = q & VU_VRING_IDX_MASK;
	return uvio_vu_request(v, &m, &fd, 1, NULL);
}

/* One region per DMA segment, with its fd. Under the lock. */
static int send_mem_table(struct vu *v)
{
	struct vu_msg m;

	uvio_vu_msg_init(&m, VU_SET_MEM_TABLE, uvio_vu_mem_table_size(v->nregions));
	m.p.mem.nregions = v->nregions;
	memcpy(m.p.mem.regions, v->regions, v->nregions * sizeof(v->regions[0]));
	int rc = uvio_vu_request(v, &m, v->region_fd, v->nregions, NULL);

	v->mem_sent = !rc;
	return rc;
}

/* ---- DMA memory: every segment is a region ------------------------------- */

static int dma_map(void *ctx, const struct uvio_dma_seg *seg, struct uvio_err *err)
{
	struct vu *v = ctx;
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	if (v->nregions == VU_MAX_REGIONS) {
		uvio_vu_fail(v, -ENOSPC, "DMA memory needs a %uth segment, but "
			     "vhost-user has %u memory regions: ask for larger "
			     "segments (uvio_dma_init segment_size)",
			     VU_MAX_REGIONS + 1, VU_MAX_REGIONS);
		uvio_err_set(err, -ENOSPC, "%s", v->error);
		pthread_mutex_unlock(&v->lock);
		return -ENOSPC;
	}
	/* IOVA = VA: guest physical and user addresses are both the VA. */
	v->regions[v->nregions] = (struct vu_region){
		.guest_phys_addr = (uintptr_t)seg->va,
		.memory_size = seg->len,
		.userspace_addr = (uintptr_t)seg->va,
		.mmap_offset = seg->fd_offset,
	};
	v->region_fd[v->nregions++] = seg->fd;
	/* A segment made after the table went out: send the whole table
	 * again. A lost connection sends it at the reconnect. */
	if (v->mem_sent && atomic_load(&v->connected)) {
		rc = send_mem_table(v);
		if (rc && atomic_load(&v->connected)) {
			v->nregions--;  /* refused: the allocation fails */
			uvio_err_set(err, rc, "%s", v->error);
		} else
			rc = 0;
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static void dma_unmap(void *ctx, const struct uvio_dma_seg *seg)
{
	struct vu *v = ctx;

	pthread_mutex_lock(&v->lock);
	for (unsigned i = 0; i < v->nregions; i++) {
		if (v->regions[i].userspace_addr != (uintptr_t)seg->va)
			continue;
		memmove(&v->regions[i], &v->regions[i + 1],
			(v->nregions - i - 1) * sizeof(v->regions[0]));
		memmove(&v->region_fd[i], &v->region_fd[i + 1],
			(v->nregions - i - 1) * sizeof(v->region_fd[0]));
		v->nregions--;
		if (v->mem_sent && atomic_load(&v->connected))
			send_mem_table(v);
		break;
	}
	pthread_mutex_unlock(&v->lock);
}

/* ---- configuration ------------------------------------------------------- */

static int vu_read_config(void *t, uint32_t off, void *buf, uint32_t len)
{
	struct vu *v = t;
	struct vu_msg m, r;
	int rc;

	if (v->device_id == VIRTIO_ID_NET)
		return uvio_vu_net_read_config(v, off, buf, len);  /* made up */
	if (off > v->config_size || len > v->config_size - off)
		return -EINVAL;
	/* Always the whole space from 0: qemu-storage-daemon ignores the
	 * offset and refuses every other size. */
	uvio_vu_msg_init(&m, VU_GET_CONFIG, VU_CONFIG_HDR + v->config_size);
	m.p.config.size = v->config_size;
	pthread_mutex_lock(&v->lock);
	rc = uvio_vu_request(v, &m, NULL, 0, &r);
	if (!rc && (r.hdr.size != VU_CONFIG_HDR + v->config_size ||
		    r.p.config.size != v->config_size))
		rc = uvio_vu_fail(v, -EIO, "the back-end answered GET_CONFIG with "
				  "%u bytes", r.hdr.size);
	pthread_mutex_unlock(&v->lock);
	if (!rc)
		memcpy(buf, r.p.config.region + off, len);
	return rc;
}

static int vu_write_config(void *t, uint32_t off, const void *buf, uint32_t len)
{
	struct vu *v = t;
	struct vu_msg m;
	int rc;

	if (v->device_id == VIRTIO_ID_NET)
		return -ENOTSUP;
	if (off > v->config_size || len > v->config_size - off)
		return -EINVAL;
	uvio_vu_msg_init(&m, VU_SET_CONFIG, VU_CONFIG_HDR + len);
	m.p.config.offset = off;
	m.p.config.size = len;
	m.p.config.flags = 0;  /* VHOST_SET_CONFIG_TYPE_FRONTEND */
	memcpy(m.p.config.region, buf, len);
	pthread_mutex_lock(&v->lock);
	rc = uvio_vu_request(v, &m, NULL, 0, NULL);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* ---- status and features ------------------------------------------------- */

/* The status is ours; a lost back-end reads as DEVICE_NEEDS_RESET. */
static uint8_t vu_get_status(void *t)
{
	struct vu *v = t;

	return (uint8_t)(v->status |
			 (atomic_load(&v->connected) ? 0 : VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void vu_set_status(void *t, uint8_t status)
{
	struct vu *v = t;
	uint8_t old;

	pthread_mutex_lock(&v->lock);
	old = v->status;
	v->status = (uint8_t)(status | (old & VIRTIO_CONFIG_S_NEEDS_RESET));
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    has_protocol_features(v))
		for (uint16_t q = 0; q < v->nqueues; q++)
			if (v->q[q].live && send_state(v, VU_SET_VRING_ENABLE, q, 1))
				v->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	pthread_mutex_unlock(&v->lock);
}

/* Stop every ring the back-end runs (GET_VRING_BASE stops it), then reset
 * it where it can. A lost back-end touches nothing any more: done. */
static int vu_reset(void *t)
{
	struct vu *v = t;
	bool any = false;

	pthread_mutex_lock(&v->lock);
	for (uint16_t q = 0; q < v->nqueues; q++) {
		struct vu_msg m, r;

		if (!v->q[q].live || !atomic_load(&v->connected))
			continue;
		any = true;
		if (has_protocol_features(v))
			send_state(v, VU_SET_VRING_ENABLE, q, 0);
		uvio_vu_msg_init(&m, VU_GET_VRING_BASE, sizeof(m.p.state));
		m.p.state.index = q;
		uvio_vu_request(v, &m, NULL, 0, &r);
	}
	if (any && atomic_load(&v->connected) &&
	    (v->protocol & BIT(VU_PROTOCOL_F_RESET_DEVICE))) {
		struct vu_msg m;

		uvio_vu_msg_init(&m, VU_RESET_DEVICE, 0);
		uvio_vu_request(v, &m, NULL, 0, NULL);
	}
	for (uint16_t q = 0; q < v->nqueues; q++)
		v->q[q].live = false;
	v->mem_sent = false;
	v->status = 0;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static uint64_t vu_get_features(void *t)
{
	struct vu *v = t;

	uint64_t f = v->features & ~transport_bits;

	if (v->device_id == VIRTIO_ID_NET)
		return uvio_vu_net_features(v, f & ~net_frontend_bits);
	return f;
}

static int vu_set_features(void *t, uint64_t features)
{
	struct vu *v = t;
	int rc;

	struct vu_msg m;

	if (v->device_id == VIRTIO_ID_NET)
		features = uvio_vu_net_backend_features(v, features);
	/* Keeps the rings disabled until SET_VRING_ENABLE. */
	features |= v->features & BIT(VU_F_PROTOCOL_FEATURES);
	uvio_vu_msg_init(&m, VU_SET_FEATURES, sizeof(m.p.u64));
	m.p.u64 = features;
	pthread_mutex_lock(&v->lock);
	rc = uvio_vu_request(v, &m, NULL, 0, NULL);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static bool vu_is_legacy(void *t)
{
	(void)t;
	return false;
}

/* ---- queues -------------------------------------------------------------- */

static uint16_t vu_max_queues(void *t)
{
	return ((struct vu *)t)->nqueues;
}

static uint16_t vu_queue_max_size(void *t, uint16_t q)
{
	struct vu *v = t;

	return q < v->nqueues ? v->queue_size : 0;
}

/* Queue q's kick and call eventfds, made once and kept across resets and
 * reconnections. */
static int queue_fds(struct vu_queue *vq)
{
	if (vq->kickfd < 0)
		vq->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->callfd < 0)
		vq->callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return vq->kickfd < 0 || vq->callfd < 0 ? -errno : 0;
}

static int vu_setup_queue(void *t, uint16_t q, uint16_t size,
			  const struct uvio_vq_addrs *a)
{
	struct vu *v = t;
	bool packed = v->features & BIT(VIRTIO_F_RING_PACKED);
	struct vu_msg m;
	int rc = 0;

	if (q >= v->nqueues)
		return -ENOENT;
	pthread_mutex_lock(&v->lock);
	rc = queue_fds(&v->q[q]);
	if (!rc && !v->mem_sent)
		rc = send_mem_table(v);
	if (!rc)
		rc = send_state(v, VU_SET_VRING_NUM, q, size);
	/* Start at 0; a packed ring's wrap counters start at 1 (spec 2.8.1):
	 * bit 15 for the available side, bit 31 for the used side. */
	if (!rc)
		rc = send_state(v, VU_SET_VRING_BASE, q, packed ? 0x80008000u : 0);
	if (!rc) {
		uvio_vu_msg_init(&m, VU_SET_VRING_ADDR, sizeof(m.p.addr));
		m.p.addr.index = q;
		m.p.addr.desc_user_addr = a->desc;
		m.p.addr.used_user_addr = a->device;
		m.p.addr.avail_user_addr = a->driver;
		rc = uvio_vu_request(v, &m, NULL, 0, NULL);
	}
	if (!rc)
		rc = send_vring_fd(v, VU_SET_VRING_KICK, q, v->q[q].kickfd);
	if (!rc)
		rc = send_vring_fd(v, VU_SET_VRING_CALL, q, v->q[q].callfd);
	if (!rc) {
		v->q[q].live = true;
		/* A queue added to a running device runs at once. */
		if ((v->status & VIRTIO_CONFIG_S_DRIVER_OK) && has_protocol_features(v))
			rc = send_state(v, VU_SET_VRING_ENABLE, q, 1);
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static void vu_del_queue(void *t, uint16_t q)
{
	struct vu *v = t;

	pthread_mutex_lock(&v->lock);
	if (q < v->nqueues)
		v->q[q].live = false;
	pthread_mutex_unlock(&v->lock);
}

/* The doorbell: 8 bytes into the kick eventfd. Fails only on a counter
 * near 2^64, which the back-end drains long before. */
static void vu_notify_queue(void *t, uint16_t q, uint32_t data)
{
	struct vu *v = t;
	uint64_t one = 1;
	ssize_t n = write(v->q[q].kickfd, &one, sizeof(one));

	(void)data;
	(void)n;
}

static uint32_t vu_device_id(void *t)
{
	return ((struct vu *)t)->device_id;
}

/* Event mode: the queue's call fd, which the back-end writes when the
 * ring's used_event or flags ask for a notification (spec 2.7.7, 2.8.10).
 * The fd outlives reconnections (SET_VRING_CALL sends it again). */
static int vu_queue_eventfd(void *t, uint16_t q, struct uvio_err *err)
{
	struct vu *v = t;

	if (q >= v->nqueues || v->q[q].callfd < 0)
		return uvio_err_set(err, -ENOENT, "vhost-user %s: no call fd for queue %u",
				    v->path, q);
	return v->q[q].callfd;
}

/* The back-end tells config changes over its own request channel
 * (VHOST_USER_BACKEND_CONFIG_CHANGE_MSG), which uvio does not open. */
static int vu_config_eventfd(void *t, struct uvio_err *err)
{
	return uvio_err_set(err, -ENOTSUP, "vhost-user %s: no config-change "
			    "notification (needs the back-end request channel)",
			    ((struct vu *)t)->path);
}

static bool vu_connected(void *t)
{
	return atomic_load(&((struct vu *)t)->connected);
}

/* Drop the connection (live or not) and make a new one. */
static int vu_reconnect(void *t, int timeout_ms, struct uvio_err *err)
{
	struct vu *v = t;
	int rc;

	uvio_vu_watch_stop(v);
	pthread_mutex_lock(&v->lock);
	uvio_vu_conn_lost(v, "reconnecting");
	pthread_mutex_unlock(&v->lock);
	rc = uvio_vu_establish(v, timeout_ms, false, err);
	if (!rc && (rc = uvio_vu_watch_start(v)))
		uvio_err_set(err, rc, "vhost-user: cannot start the watcher thread: %s",
			     strerror(-rc));
	if (rc) {
		pthread_mutex_lock(&v->lock);
		uvio_vu_conn_lost(v, "reconnect failed");
		pthread_mutex_unlock(&v->lock);
	}
	return rc;
}

static void vu_destroy(void *t)
{
	struct vu *v = t;

	uvio_vu_watch_stop(v);
	if (v->listening)
		uvio_dma_unlisten(&v->listener);
	if (v->fd >= 0)
		close(v->fd);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->path);
	}
	for (uint16_t q = 0; v->q && q < v->nqueues; q++) {
		if (v->q[q].kickfd >= 0)
			close(v->q[q].kickfd);
		if (v->q[q].callfd >= 0)
			close(v->q[q].callfd);
	}
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	free(v->q);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static const struct uvio_transport_ops vu_ops = {
	.name = "vhost-user",
	.read_config = vu_read_config,
	.write_config = vu_write_config,
	.config_generation = NULL,  /* vhost-user has none */
	.get_status = vu_get_status,
	.set_status = vu_set_status,
	.reset = vu_reset,
	.get_features = vu_get_features,
	.set_features = vu_set_features,
	.is_legacy = vu_is_legacy,
	.max_queues = vu_max_queues,
	.queue_max_size = vu_queue_max_size,
	.setup_queue = vu_setup_queue,
	.del_queue = vu_del_queue,
	.notify_queue = vu_notify_queue,
	.destroy = vu_destroy,
	.device_id = vu_device_id,
	.queue_eventfd = vu_queue_eventfd,
	.config_eventfd = vu_config_eventfd,
	.net_ctrl = uvio_vu_net_ctrl,
	.connected = vu_connected,
	.reconnect = vu_reconnect,
};

/* ---- open, reconnect ----------------------------------------------------- */

static int alloc_queue_state(struct vu *v, struct uvio_err *err)
{
	v->q = calloc(v->nqueues, sizeof(*v->q));
	if (!v->q)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	/* The eventfds come with each queue's first set-up (queue_fds): DPDK's
	 * vhost says 128 pairs whatever testpmd's queues=, and 512 eventfds
	 * per device would run a 1024-descriptor process out of them. */
	for (uint16_t q = 0; q < v->nqueues; q++)
		v->q[q].kickfd = v->q[q].callfd = -1;
	return 0;
}

static bool is_pow2(unsigned x)
{
	return x && !(x & (x - 1));
}

static int check_opts(const struct uvio_vhost_user_opts *o, struct uvio_err *err)
{
	if (!o || !o->path || !*o->path)
		return uvio_err_set(err, -EINVAL, "vhost-user: no socket path given");
	if (strlen(o->path) >= VU_PATH_MAX)
		return uvio_err_set(err, -ENAMETOOLONG, "vhost-user socket path %s is "
				    "too long (at most %zu bytes)", o->path,
				    VU_PATH_MAX - 1);
	if (o->queue_size && !is_pow2(o->queue_size))
		return uvio_err_set(err, -EINVAL, "vhost-user: queue size %u is not a "
				    "power of two", o->queue_size);
	return 0;
}

int uvio_vhost_user_open(const struct uvio_vhost_user_opts *o,
			 struct uvio_dev **out, struct uvio_err *err)
{
	struct uvio_err e = { 0 };
	char name[64];
	struct vu *v;
	int rc = check_opts(o, err);

	if (rc)
		return rc;
	if (uvio_dma_set_iova_mode(UVIO_IOVA_VA, &e))
		return uvio_err_set(err, e.code, "vhost-user needs IOVA = VA: %s", e.msg);
	v = calloc(1, sizeof(*v));
	if (!v)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&v->lock, NULL);
	snprintf(v->path, sizeof(v->path), "%s", o->path);
	v->server = o->server;
	v->listen_fd = v->fd = v->wake_fd = -1;
	v->timeout_ms = o->timeout_ms;
	v->want_queues = o->queues;
	v->device_id = o->device_id;
	v->queue_size = o->queue_size ? o->queue_size : DEFAULT_QUEUE_SIZE;
	v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->wake_fd < 0)
		rc = uvio_err_set(err, -errno, "eventfd: %s", strerror(errno));
	if (!rc && v->server)
		rc = uvio_vu_listen(v, err);
	if (!rc)
		rc = uvio_vu_establish(v, v->timeout_ms, true, err);
	if (!rc)
		rc = alloc_queue_state(v, err);
	if (!rc) {
		v->listener = (struct uvio_dma_listener){ dma_map, dma_unmap, v };
		rc = uvio_dma_listen(&v->listener, &e);
		if (rc)
			uvio_err_set(err, rc, "%s", v->error[0] ? v->error : e.msg);
		v->listening = !rc;
	}
	if (rc) {
		vu_destroy(v);
		return rc;
	}
	snprintf(name, sizeof(name), "vhost-user:%s", o->path);
	rc = uvio_dev_create(&vu_ops, v, name, -1, out, err);
	if (rc)
		return rc;  /* the core destroyed the transport */
	pthread_mutex_lock(&v->lock);
	v->dev = *out;
	pthread_mutex_unlock(&v->lock);
	rc = uvio_vu_watch_start(v);
	if (rc) {
		uvio_dev_destroy(*out);
		*out = NULL;
		return uvio_err_set(err, rc, "vhost-user: cannot start the watcher "
				    "thread: %s", strerror(-rc));
	}
	return 0;
}

bool uvio_dev_is_vhost_user(const struct uvio_dev *dev)
{
	return dev && uvio_dev_ops(dev) == &vu_ops;
}

bool uvio_vhost_user_connected(const struct uvio_dev *dev)
{
	return uvio_dev_is_vhost_user(dev) && uvio_dev_connected(dev);
}

int uvio_vhost_user_reconnect(struct uvio_dev *dev, int timeout_ms,
			      struct uvio_err *err)
{
	if (!uvio_dev_is_vhost_user(dev))
		return uvio_err_set(err, -EINVAL, "%s is not a vhost-user device",
				    dev ? uvio_dev_name(dev) : "(null)");
	return uvio_dev_reconnect(dev, timeout_ms, err);
}

/* SPDX-License-Identifier: MIT */
/*
 * The model transport (see model_dev.h): device registers of virtio 1.2
 * section 2 (status 2.1, features 2.2, config 2.5) and the initialisation
 * order of 3.1.1, checked from the device's side.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_dev.h"

#ifndef VIRTIO_CONFIG_S_NEEDS_RESET
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40
#endif

#define S_ACK       VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER    VIRTIO_CONFIG_S_DRIVER
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_FEAT_OK   VIRTIO_CONFIG_S_FEATURES_OK
#define S_NEEDS_RST VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAILED    VIRTIO_CONFIG_S_FAILED

#define STATUS_LOG 32

struct model_queue {
	struct vdev_model *vq;
	uint16_t size;
	uint16_t max;
	unsigned kicks;
	uint32_t kick_data;
	unsigned resets;             /* queue resets (spec 2.6.1) */
	bool reset;                  /* reset alone: may be set up after DRIVER_OK */
};

struct model_dev {
	unsigned refs;
	bool alive;                  /* owned by a uvio_dev */
	struct uvio_dev *dev;        /* that uvio_dev, while alive */
	bool disconnected;           /* atomic: model_dev_disconnect() */
	pthread_mutex_t lock;        /* one queue served at a time */
	struct model_dev_cfg cfg;
	uint8_t status;
	uint64_t drv_features;
	uint8_t *config;
	uint32_t config_len;
	uint32_t gen;
	unsigned churn;
	unsigned config_reads, config_writes;
	unsigned reset_failures;
	unsigned resets;
	unsigned releases;           /* the release op ran */
	uint8_t status_log[STATUS_LOG];
	unsigned nstatus;
	unsigned early_kicks;
	bool processing;
	struct model_queue q[MODEL_MAX_QUEUES];
	unsigned violations;
	char err[256];
};

/* ---- violations ---- */

void model_dev_violation(struct model_dev *m, const char *fmt, ...)
{
	va_list ap;

	m->violations++;
	if (m->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
}

unsigned model_dev_violations(const struct model_dev *m)
{
	unsigned n = m->violations;

	for (unsigned i = 0; i < MODEL_MAX_QUEUES; i++)
		if (m->q[i].vq && vdev_model_error(m->q[i].vq)[0])
			n++;
	return n;
}

const char *model_dev_error(const struct model_dev *m)
{
	if (m->err[0])
		return m->err;
	for (unsigned i = 0; i < MODEL_MAX_QUEUES; i++)
		if (m->q[i].vq && vdev_model_error(m->q[i].vq)[0])
			return vdev_model_error(m->q[i].vq);
	return "";
}

/* ---- queues ---- */

static void queues_drop(struct model_dev *m)
{
	for (unsigned i = 0; i < MODEL_MAX_QUEUES; i++) {
		struct model_queue *mq = &m->q[i];

		/* Keep a driver error visible after the reset that ends a test. */
		if (mq->vq && vdev_model_error(mq->vq)[0])
			model_dev_violation(m, "queue %u: %s", i, vdev_model_error(mq->vq));
		vdev_model_destroy(mq->vq);
		mq->vq = NULL;
		mq->size = 0;
		mq->reset = false;
	}
}

/* Spec 2.1 / 4.1.4.3.2: writing 0 resets; the device forgets everything
 * the driver told it. */
static void device_reset(struct model_dev *m)
{
	if (m->cfg.backend && m->cfg.backend->reset)
		m->cfg.backend->reset(m->cfg.be, m);
	queues_drop(m);
	m->status = 0;
	m->drv_features = 0;
	m->resets++;
}

/* What the driver reads: a back-end that went away says NEEDS_RESET, as
 * lib/vhost_user's status does. */
static uint8_t status_read(const struct model_dev *m)
{
	return (uint8_t)(m->status | (model_dev_connected(m) ? 0 : S_NEEDS_RST));
}

bool model_dev_running(const struct model_dev *m)
{
	return (m->status & S_DRIVER_OK) && !(status_read(m) & (S_NEEDS_RST | S_FAILED));
}

void model_dev_process_queue(struct model_dev *m, uint16_t q)
{
	if (q >= MODEL_MAX_QUEUES || !m->cfg.backend || !m->cfg.backend->process)
		return;
	/* Each queue may have a polling thread of its own that notifies it. */
	pthread_mutex_lock(&m->lock);
	if (m->q[q].vq && model_dev_running(m) && !m->processing) {
		m->processing = true;
		m->cfg.backend->process(m->cfg.be, m, q);
		m->processing = false;
	}
	pthread_mutex_unlock(&m->lock);
}

unsigned model_dev_process(struct model_dev *m)
{
	unsigned n = 0;

	for (uint16_t q = 0; q < MODEL_MAX_QUEUES; q++)
		if (m->q[q].vq && model_dev_running(m)) {
			model_dev_process_queue(m, q);
			n++;
		}
	return n;
}

/* ---- transport ops ---- */

static int op_read_config(void *t, uint32_t off, void *buf, uint32_t len)
{
	struct model_dev *m = t;

	m->config_reads++;
	if (off > m->config_len || len > m->config_len - off)
		return -EINVAL;
	memcpy(buf, m->config + off, len);
	if (m->churn) {
		/* The device changed the config while the driver read it. */
		m->churn--;
		m->gen++;
	}
	return 0;
}

static int op_write_config(void *t, uint32_t off, const void *buf, uint32_t len)
{
	struct model_dev *m = t;
	int rc = -EPERM;

	m->config_writes++;
	if (off > m->config_len || len > m->config_len - off)
		return -EINVAL;
	/* 3.1.1 step 4: the driver MUST NOT write config before FEATURES_OK. */
	if (!m->cfg.legacy && !(m->status & S_FEAT_OK))
		model_dev_violation(m, "config write at %u before FEATURES_OK (3.1.1)", off);
	if (m->cfg.backend && m->cfg.backend->config_write)
		rc = m->cfg.backend->config_write(m->cfg.be, m, off, buf, len);
	if (rc) {
		model_dev_violation(m, "driver wrote read-only config bytes %u+%u", off, len);
		return 0;  /* a device ignores such writes */
	}
	memcpy(m->config + off, buf, len);
	return 0;
}

static uint32_t op_config_generation(void *t)
{
	return ((struct model_dev *)t)->gen;
}

static uint8_t op_get_status(void *t)
{
	return status_read(t);
}

static void check_features_ok(struct model_dev *m, uint8_t *s)
{
	uint64_t extra = m->drv_features & ~m->cfg.features;

	if (extra) {
		/* 2.2.1: the driver MUST NOT accept a feature not offered. */
		model_dev_violation(m, "driver accepted features %#llx not offered (2.2.1)",
				    (unsigned long long)extra);
		*s &= (uint8_t)~S_FEAT_OK;
	}
	if (m->drv_features & m->cfg.refuse_features)
		*s &= (uint8_t)~S_FEAT_OK;
	if (!(m->drv_features & (1ULL << VIRTIO_F_VERSION_1)))
		*s &= (uint8_t)~S_FEAT_OK;  /* a modern device needs VERSION_1 */
}

static void op_set_status(void *t, uint8_t s)
{
	struct model_dev *m = t;
	uint8_t old = m->status;

	m->status_log[m->nstatus++ % STATUS_LOG] = s;
	if (s == 0) {
		device_reset(m);
		return;
	}
	/* 2.1.1: the driver MUST NOT clear a device status bit. */
	if (old & ~s & (uint8_t)~S_NEEDS_RST)
		model_dev_violation(m, "status %#x -> %#x clears bits without a reset (2.1.1)",
				    old, s);
	if ((s & S_DRIVER) && !(s & S_ACK))
		model_dev_violation(m, "DRIVER without ACKNOWLEDGE (3.1.1)");
	if (!m->cfg.legacy && (s & S_FEAT_OK) && !(old & S_FEAT_OK))
		check_features_ok(m, &s);
	if ((s & S_DRIVER_OK) && !(old & S_DRIVER_OK) && !m->cfg.legacy &&
	    !(s & S_FEAT_OK))
		model_dev_violation(m, "DRIVER_OK without FEATURES_OK (3.1.1)");
	if (s & m->cfg.needs_reset_on & ~old)
		s |= S_NEEDS_RST;
	/* NEEDS_RESET belongs to the device: only a reset clears it. */
	m->status = (uint8_t)(s | (old & S_NEEDS_RST));
	if ((s & S_DRIVER_OK) && !(old & S_DRIVER_OK) && !m->cfg.manual)
		model_dev_process(m);
}

static int op_reset(void *t)
{
	struct model_dev *m = t;

	if (m->reset_failures) {
		m->reset_failures--;
		return -ETIMEDOUT;
	}
	m->status_log[m->nstatus++ % STATUS_LOG] = 0;
	device_reset(m);
	return 0;
}

static uint64_t op_get_features(void *t)
{
	struct model_dev *m = t;

	return m->cfg.legacy ? m->cfg.features & 0xffffffffULL : m->cfg.features;
}

static int op_set_features(void *t, uint64_t f)
{
	struct model_dev *m = t;

	/* 3.1.1 steps 3-5: after DRIVER, before FEATURES_OK. */
	if (!(m->status & S_DRIVER))
		model_dev_violation(m, "features written before DRIVER (3.1.1)");
	if (m->status & (S_FEAT_OK | S_DRIVER_OK))
		model_dev_violation(m, "features written after FEATURES_OK (3.1.1)");
	if (m->cfg.legacy && (f >> 32))
		model_dev_violation(m, "legacy device: feature bits above 31 written");
	m->drv_features = f;
	return 0;
}

static bool op_is_legacy(void *t)
{
	return ((struct model_dev *)t)->cfg.legacy;
}

static uint16_t op_max_queues(void *t)
{
	return ((struct model_dev *)t)->cfg.num_queues;
}

static uint16_t op_queue_max_size(void *t, uint16_t q)
{
	struct model_dev *m = t;

	return q < m->cfg.num_queues ? m->q[q].max : 0;
}

static int op_setup_queue(void *t, uint16_t q, uint16_t size,
			  const struct uvio_vq_addrs *addrs)
{
	struct model_dev *m = t;
	bool packed = m->drv_features & (1ULL << VIRTIO_F_RING_PACKED);

	if (q >= m->cfg.num_queues)
		return -ENOENT;
	if (!size || size > m->q[q].max || (!packed && (size & (size - 1)))) {
		model_dev_violation(m, "queue %u: bad size %u (max %u)", q, size, m->q[q].max);
		return -EINVAL;
	}
	/* 3.1.1 step 7: after FEATURES_OK, before DRIVER_OK. */
	if (!m->cfg.legacy && !(m->status & S_FEAT_OK))
		model_dev_violation(m, "queue %u set up before FEATURES_OK (3.1.1)", q);
	/* Spec 2.6.1.2: a queue reset alone is re-enabled while running. */
	if ((m->status & S_DRIVER_OK) && !m->q[q].reset)
		model_dev_violation(m, "queue %u set up after DRIVER_OK (3.1.1)", q);
	m->q[q].reset = false;
	if (m->q[q].vq) {
		model_dev_violation(m, "queue %u set up twice without a reset", q);
		vdev_model_destroy(m->q[q].vq);
	}
	m->q[q].vq = vdev_model_create(addrs, size, m->drv_features);
	if (!m->q[q].vq)
		return -ENOMEM;
	m->q[q].size = size;
	return 0;
}

static void op_del_queue(void *t, uint16_t q)
{
	struct model_dev *m = t;

	if (q < MODEL_MAX_QUEUES && m->q[q].vq) {
		/* A live queue must not vanish under the device (after a reset
		 * the model has already let it go). */
		if (m->status)
			model_dev_violation(m, "queue %u deleted without a reset", q);
		vdev_model_destroy(m->q[q].vq);
		m->q[q].vq = NULL;
		m->q[q].size = 0;
	}
}

/* Spec 2.6.1.1, 4.1.4.3 queue_reset: the device drops the queue's
 * buffers without using them and forgets its set-up. Other queues may be
 * served by other threads meanwhile: under the lock. */
static int op_reset_queue(void *t, uint16_t q)
{
	struct model_dev *m = t;
	struct model_queue *mq;

	if (!(m->drv_features & (1ULL << VIRTIO_F_RING_RESET))) {
		model_dev_violation(m, "queue %u reset without RING_RESET (2.6.1)", q);
		return -ENOTSUP;
	}
	mq = q < m->cfg.num_queues ? &m->q[q] : NULL;
	if (!mq || !mq->vq) {
		model_dev_violation(m, "reset of queue %u, which is not set up", q);
		return -ENOENT;
	}
	if (m->cfg.queue_reset_failures) {
		m->cfg.queue_reset_failures--;
		return -ETIMEDOUT;
	}
	pthread_mutex_lock(&m->lock);
	if (m->cfg.backend && m->cfg.backend->reset_queue)
		m->cfg.backend->reset_queue(m->cfg.be, m, q);
	if (vdev_model_error(mq->vq)[0])
		model_dev_violation(m, "queue %u: %s", q, vdev_model_error(mq->vq));
	vdev_model_destroy(mq->vq);
	mq->vq = NULL;
	mq->size = 0;
	mq->resets++;
	mq->reset = true;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

unsigned model_dev_queue_resets(const struct model_dev *m, uint16_t q)
{
	return q < MODEL_MAX_QUEUES ? m->q[q].resets : 0;
}

void model_dev_fail_queue_resets(struct model_dev *m, unsigned n)
{
	m->cfg.queue_reset_failures = n;
}

static void op_notify(void *t, uint16_t q, uint32_t data)
{
	struct model_dev *m = t;

	if (!(m->status & S_DRIVER_OK)) {
		m->early_kicks++;  /* before DRIVER_OK, or after a reset */
		if (q < MODEL_MAX_QUEUES)
			m->q[q].kicks++;
		return;
	}
	if (q >= MODEL_MAX_QUEUES || !m->q[q].vq) {
		model_dev_violation(m, "notify of queue %u, which is not set up", q);
		return;
	}
	m->q[q].kicks++;
	m->q[q].kick_data = data;
	if (!model_dev_running(m))
		return;
	if (!m->cfg.manual)
		model_dev_process_queue(m, q);
}

static void model_free(struct model_dev *m)
{
	queues_drop(m);
	if (m->cfg.backend && m->cfg.backend->destroy)
		m->cfg.backend->destroy(m->cfg.be);
	pthread_mutex_destroy(&m->lock);
	free(m->config);
	free(m);
}

void model_dev_hold(struct model_dev *m)
{
	m->refs++;
}

void model_dev_put(struct model_dev *m)
{
	if (m && !--m->refs)
		model_free(m);
}

static void op_destroy(void *t)
{
	struct model_dev *m = t;

	m->alive = false;
	m->dev = NULL;
	device_reset(m);
	model_dev_put(m);
}

static uint32_t op_device_id(void *t)
{
	return ((struct model_dev *)t)->cfg.device_id;
}

/* The back-end of model_dev_disconnect() / model_dev_reconnect(). */
static bool op_connected(void *t)
{
	return model_dev_connected(t);
}

/* Letting go: only counted; the model still answers as before. */
static int op_release(void *t)
{
	((struct model_dev *)t)->releases++;
	return 0;
}

static const struct uvio_transport_ops model_ops = {
	.name = "model",
	.read_config = op_read_config,
	.write_config = op_write_config,
	.config_generation = op_config_generation,
	.get_status = op_get_status,
	.set_status = op_set_status,
	.reset = op_reset,
	.get_features = op_get_features,
	.set_features = op_set_features,
	.is_legacy = op_is_legacy,
	.max_queues = op_max_queues,
	.queue_max_size = op_queue_max_size,
	.setup_queue = op_setup_queue,
	.del_queue = op_del_queue,
	.notify_queue = op_notify,
	.destroy = op_destroy,
	.device_id = op_device_id,
	.connected = op_connected,
	.release = op_release,
	.reset_queue = op_reset_queue,
};

/* Legacy devices have no generation counter (spec 4.1.4.3.1). */
static const struct uvio_transport_ops model_legacy_ops = {
	.name = "model",
	.read_config = op_read_config,
	.write_config = op_write_config,
	.config_generation = NULL,
	.get_status = op_get_status,
	.set_status = op_set_status,
	.reset = op_reset,
	.get_features = op_get_features,
	.set_features = op_set_features,
	.is_legacy = op_is_legacy,
	.max_queues = op_max_queues,
	.queue_max_size = op_queue_max_size,
	.setup_queue = op_setup_queue,
	.del_queue = op_del_queue,
	.notify_queue = op_notify,
	.destroy = op_destroy,
	.device_id = op_device_id,
	.connected = op_connected,
	.release = op_release,
};

/* Recursive: a backend that serves a queue again from its own work meets
 * the `processing` guard, not a deadlock. */
static void lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(lock, &a);
	pthread_mutexattr_destroy(&a);
}

int model_dev_create(const struct model_dev_cfg *cfg, struct uvio_dev **out)
{
	struct model_dev *m = calloc(1, sizeof(*m));
	struct uvio_err err;
	int rc;

	if (!m || cfg->num_queues > MODEL_MAX_QUEUES) {
		free(m);
		if (cfg->backend && cfg->backend->destroy)
			cfg->backend->destroy(cfg->be);
		return -EINVAL;
	}
	m->cfg = *cfg;
	m->refs = 1;
	m->alive = true;
	lock_init(&m->lock);
	m->config_len = cfg->config_len;
	m->config = calloc(1, cfg->config_len + 1);
	if (!m->config) {
		model_free(m);
		return -ENOMEM;
	}
	if (cfg->config)
		memcpy(m->config, cfg->config, cfg->config_len);
	m->reset_failures = cfg->reset_failures;
	for (uint16_t q = 0; q < cfg->num_queues; q++) {
		uint16_t max = cfg->queue_max_of[q] ? cfg->queue_max_of[q] : cfg->queue_max;

		m->q[q].max = max ? max : 256;
	}
	rc = uvio_dev_create(cfg->legacy ? &model_legacy_ops : &model_ops, m,
			     "model", -1, out, &err);
	if (!rc)
		m->dev = *out;
	return rc;
}

struct model_dev *model_dev_of(const struct uvio_dev *dev)
{
	const struct uvio_transport_ops *ops = uvio_dev_ops(dev);

	return ops == &model_ops || ops == &model_legacy_ops ? uvio_dev_transport(dev) : NULL;
}

/* ---- accessors ---- */

bool model_dev_alive(const struct model_dev *m) { return m->alive; }
void *model_dev_backend(const struct model_dev *m) { return m->cfg.be; }
uint8_t model_dev_status(const struct model_dev *m) { return status_read(m); }
uint64_t model_dev_features(const struct model_dev *m) { return m->cfg.features; }
uint64_t model_dev_driver_features(const struct model_dev *m) { return m->drv_features; }
bool model_dev_is_legacy(const struct model_dev *m) { return m->cfg.legacy; }
unsigned model_dev_resets(const struct model_dev *m) { return m->resets; }
uint8_t *model_dev_config(struct model_dev *m) { return m->config; }
uint32_t model_dev_config_len(const struct model_dev *m) { return m->config_len; }
uint32_t model_dev_config_gen(const struct model_dev *m) { return m->gen; }
unsigned model_dev_config_reads(const struct model_dev *m) { return m->config_reads; }
unsigned model_dev_config_writes(const struct model_dev *m) { return m->config_writes; }
unsigned model_dev_early_kicks(const struct model_dev *m) { return m->early_kicks; }
uint16_t model_dev_num_queues(const struct model_dev *m) { return m->cfg.num_queues; }
void model_dev_set_manual(struct model_dev *m, bool manual) { m->cfg.manual = manual; }
void model_dev_config_churn(struct model_dev *m, unsigned n) { m->churn = n; }

bool model_dev_has(const struct model_dev *m, unsigned bit)
{
	return bit < 64 && (m->drv_features & (1ULL << bit));
}

unsigned model_dev_status_log(const struct model_dev *m, const uint8_t **log)
{
	*log = m->status_log;
	return m->nstatus < STATUS_LOG ? m->nstatus : STATUS_LOG;
}

void model_dev_raise_needs_reset(struct model_dev *m)
{
	m->status |= S_NEEDS_RST;
}

/* Marked gone before the queues break: a driver thread that finds its
 * queue broken also finds the back-end gone (lib/vhost_user/vu_conn.c). */
void model_dev_disconnect(struct model_dev *m, const char *why)
{
	__atomic_store_n(&m->disconnected, true, __ATOMIC_RELEASE);
	for (uint16_t q = 0; m->dev && q < m->cfg.num_queues; q++)
		if (uvio_dev_queue(m->dev, q))
			uvio_vq_set_broken(uvio_dev_queue(m->dev, q), why);
}

void model_dev_reconnect(struct model_dev *m)
{
	__atomic_store_n(&m->disconnected, false, __ATOMIC_RELEASE);
}

unsigned model_dev_releases(const struct model_dev *m)
{
	return m->releases;
}

bool model_dev_connected(const struct model_dev *m)
{
	return !__atomic_load_n(&m->disconnected, __ATOMIC_ACQUIRE);
}

void model_dev_config_set(struct model_dev *m, uint32_t off, const void *buf,
			  uint32_t len)
{
	if (off > m->config_len || len > m->config_len - off)
		return;
	memcpy(m->config + off, buf, len);
	m->gen++;
}

struct vdev_model *model_dev_vq(const struct model_dev *m, uint16_t q)
{
	return q < MODEL_MAX_QUEUES ? m->q[q].vq : NULL;
}

uint16_t model_dev_queue_size(const struct model_dev *m, uint16_t q)
{
	return q < MODEL_MAX_QUEUES ? m->q[q].size : 0;
}

unsigned model_dev_kicks(const struct model_dev *m, uint16_t q)
{
	return q < MODEL_MAX_QUEUES ? m->q[q].kicks : 0;
}

uint32_t model_dev_kick_data(const struct model_dev *m, uint16_t q)
{
	return q < MODEL_MAX_QUEUES ? m->q[q].kick_data : 0;
}

/* ---- helpers for backends ---- */

uint64_t model_ring_features(bool legacy, bool packed, bool in_order,
			     bool no_indirect, bool no_event_idx)
{
	uint64_t f = legacy ? 1ULL << VIRTIO_F_ANY_LAYOUT : 1ULL << VIRTIO_F_VERSION_1;

	if (!no_event_idx)
		f |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (!no_indirect)
		f |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (packed)
		f |= 1ULL << VIRTIO_F_RING_PACKED;
	if (in_order)
		f |= 1ULL << VIRTIO_F_IN_ORDER;
	return f;
}

/* Walk the readable (or writable) elements of b as one byte stream. */
static size_t buf_copy(const struct vdev_buf *b, bool writable, size_t off,
		       void *mem, size_t len, bool to_buf)
{
	size_t pos = 0, done = 0;

	for (unsigned i = 0; i < b->nseg && done < len; i++) {
		const struct vdev_seg *s = &b->seg[i];
		size_t start, n;

		if (s->writable != writable)
			continue;
		if (off + done >= pos + s->len) {
			pos += s->len;
			continue;
		}
		start = off + done - pos;
		n = s->len - start;
		if (n > len - done)
			n = len - done;
		if (to_buf)
			memcpy((char *)s->ptr + start, (const char *)mem + done, n);
		else
			memcpy((char *)mem + done, (const char *)s->ptr + start, n);
		done += n;
		pos += s->len;
	}
	return done;
}

size_t model_buf_read(const struct vdev_buf *b, size_t off, void *dst, size_t len)
{
	return buf_copy(b, false, off, dst, len, false);
}

size_t model_buf_write(struct vdev_buf *b, size_t off, const void *src, size_t len)
{
	return buf_copy(b, true, off, (void *)src, len, true);
}

unsigned model_buf_segs(const struct vdev_buf *b, bool writable, size_t off,
			size_t len, uint32_t *longest)
{
	size_t pos = 0, end = off + len;
	unsigned n = 0;

	*longest = 0;
	for (unsigned i = 0; i < b->nseg; i++) {
		const struct vdev_seg *s = &b->seg[i];
		size_t lo, hi;

		if (s->writable != writable)
			continue;
		lo = pos > off ? pos : off;
		hi = pos + s->len < end ? pos + s->len : end;
		if (hi > lo) {
			n++;
			if (hi - lo > *longest)
				*longest = (uint32_t)(hi - lo);
		}
		pos += s->len;
	}
	return n;
}

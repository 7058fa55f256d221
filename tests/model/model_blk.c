/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk device on a RAM disk (spec 5.2), for the model transport.
 *
 * Each request is parsed as spec 5.2.6 lays it out: a device-readable
 * header (type, reserved, sector), the data, and a status byte, the last
 * device-writable byte. The device checks the driver's side of 5.2.6.1
 * (lengths, ranges, segment limits, flags) and records what it breaks as a
 * violation, answering as a real device would (IOERR / UNSUPP).
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model_dev.h"

#define SECTOR 512u
#define HDR_LEN 16u
#define CFG(field) offsetof(struct virtio_blk_config, field)
#define BIT(n) (1ULL << (n))

enum { SLOT_FREE, SLOT_HELD, SLOT_DROPPED };

struct blk_q {
	uint16_t size;
	uint32_t *len;      /* used length, by buffer id, while held */
	uint8_t *slot;      /* SLOT_* by buffer id */
	unsigned held;
};

struct model_blk {
	struct model_dev *m;
	struct model_blk_cfg cfg;
	struct virtio_blk_config config;
	uint8_t *disk;
	uint64_t disk_size;
	char id[VIRTIO_BLK_ID_BYTES];
	uint64_t bad_sector;
	uint64_t unsupp;          /* bit per type < 64 */
	enum model_blk_evil evil;
	int evil_arg;
	unsigned evil_left;       /* UINT32_MAX: forever */
	bool hold;
	uint32_t seed;            /* cfg.order_seed, moved on each service */
	uint64_t taken;           /* requests taken, every queue */
	uint64_t disconnect_at;   /* 0: never */
	struct blk_q q[MODEL_MAX_QUEUES];
	struct model_blk_req *log;
	unsigned nlog, log_cap;
	unsigned count[64];
};

/* ---- per-queue bookkeeping ---- */

static void q_free(struct blk_q *bq)
{
	free(bq->len);
	free(bq->slot);
	memset(bq, 0, sizeof(*bq));
}

static struct blk_q *q_get(struct model_blk *b, uint16_t q)
{
	struct blk_q *bq = &b->q[q];
	uint16_t size = model_dev_queue_size(b->m, q);

	if (bq->size != size) {
		q_free(bq);
		bq->len = calloc(size, sizeof(*bq->len));
		bq->slot = calloc(size, sizeof(*bq->slot));
		if (!bq->len || !bq->slot) {
			q_free(bq);
			return NULL;
		}
		bq->size = size;
	}
	return bq;
}

static void log_req(struct model_blk *b, const struct model_blk_req *r)
{
	if (b->nlog == b->log_cap) {
		unsigned cap = b->log_cap ? b->log_cap * 2 : 256;
		struct model_blk_req *l = realloc(b->log, cap * sizeof(*l));

		if (!l)
			return;
		b->log = l;
		b->log_cap = cap;
	}
	b->log[b->nlog++] = *r;
	if (r->type < 64)
		b->count[r->type]++;
}

/* ---- requests ---- */

static bool has(const struct model_blk *b, unsigned bit)
{
	return model_dev_has(b->m, bit);
}

static bool touches_bad(const struct model_blk *b, uint64_t sector, uint64_t n)
{
	return b->bad_sector != UINT64_MAX && b->bad_sector >= sector &&
	       b->bad_sector - sector < n;
}

/* 5.2.6.1: the data of IN/OUT is whole sectors, inside the capacity, and
 * within seg_max / size_max. */
static uint8_t check_rw(struct model_blk *b, const struct vdev_buf *vb,
			struct model_blk_req *r, bool writable)
{
	uint64_t cap = b->config.capacity;

	r->data_segs = model_buf_segs(vb, writable, writable ? 0 : HDR_LEN, r->data_len,
				      &r->longest_seg);
	if (has(b, VIRTIO_BLK_F_SEG_MAX) && b->config.seg_max &&
	    r->data_segs > b->config.seg_max)
		model_dev_violation(b->m, "request with %u data segments > seg_max %u",
				    r->data_segs, b->config.seg_max);
	if (has(b, VIRTIO_BLK_F_SIZE_MAX) && b->config.size_max &&
	    r->longest_seg > b->config.size_max)
		model_dev_violation(b->m, "data segment of %u bytes > size_max %u",
				    r->longest_seg, b->config.size_max);
	if (r->data_len % SECTOR) {
		model_dev_violation(b->m, "%s data of %u bytes, not whole sectors (5.2.6.1)",
				    writable ? "IN" : "OUT", r->data_len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (r->sector > cap || r->data_len / SECTOR > cap - r->sector) {
		model_dev_violation(b->m, "%s past capacity: sector %llu + %u bytes (5.2.6.1)",
				    writable ? "IN" : "OUT", (unsigned long long)r->sector,
				    r->data_len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (touches_bad(b, r->sector, r->data_len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_in(struct model_blk *b, struct vdev_buf *vb, struct model_blk_req *r)
{
	uint8_t st;

	r->data_len = vb->in_len - 1;
	if (vb->out_len != HDR_LEN)
		model_dev_violation(b->m, "IN request with %u readable bytes", vb->out_len);
	st = check_rw(b, vb, r, true);
	if (st == VIRTIO_BLK_S_OK)
		model_buf_write(vb, 0, b->disk + r->sector * SECTOR, r->data_len);
	return st;
}

static uint8_t do_out(struct model_blk *b, struct vdev_buf *vb, struct model_blk_req *r)
{
	uint8_t st;

	r->data_len = vb->out_len - HDR_LEN;
	if (vb->in_len != 1)
		model_dev_violation(b->m, "OUT request with %u writable bytes", vb->in_len);
	st = check_rw(b, vb, r, false);
	/* 5.2.6.2: a read-only device fails writes and writes nothing. */
	if (st == VIRTIO_BLK_S_OK && has(b, VIRTIO_BLK_F_RO)) {
		model_dev_violation(b->m, "write to a read-only device");
		st = VIRTIO_BLK_S_IOERR;
	}
	if (st == VIRTIO_BLK_S_OK)
		model_buf_read(vb, HDR_LEN, b->disk + r->sector * SECTOR, r->data_len);
	return st;
}

static uint8_t do_flush(struct model_blk *b, struct vdev_buf *vb, struct model_blk_req *r)
{
	if (!has(b, VIRTIO_BLK_F_FLUSH)) {
		model_dev_violation(b->m, "FLUSH without VIRTIO_BLK_F_FLUSH");
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (r->sector)
		model_dev_violation(b->m, "FLUSH with sector %llu (5.2.6.1: MUST be 0)",
				    (unsigned long long)r->sector);
	if (vb->out_len != HDR_LEN || vb->in_len != 1)
		model_dev_violation(b->m, "FLUSH with data (5.2.6.1: SHOULD NOT)");
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct model_blk *b, struct vdev_buf *vb, struct model_blk_req *r)
{
	r->data_len = vb->in_len - 1;
	if (r->data_len != VIRTIO_BLK_ID_BYTES) {
		model_dev_violation(b->m, "GET_ID data of %u bytes (5.2.6.1: MUST be 20)",
				    r->data_len);
		return VIRTIO_BLK_S_IOERR;
	}
	model_buf_write(vb, 0, b->id, VIRTIO_BLK_ID_BYTES);
	return VIRTIO_BLK_S_OK;
}

struct range_cmd {
	unsigned feature;
	const char *name;
	uint32_t max_sectors, max_seg;
};

static struct range_cmd range_cmd(const struct model_blk *b, uint32_t type)
{
	const struct virtio_blk_config *c = &b->config;

	switch (type) {
	case VIRTIO_BLK_T_DISCARD:
		return (struct range_cmd){ VIRTIO_BLK_F_DISCARD, "DISCARD",
					   c->max_discard_sectors, c->max_discard_seg };
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return (struct range_cmd){ VIRTIO_BLK_F_WRITE_ZEROES, "WRITE_ZEROES",
					   c->max_write_zeroes_sectors, c->max_write_zeroes_seg };
	default:
		return (struct range_cmd){ VIRTIO_BLK_F_SECURE_ERASE, "SECURE_ERASE",
					   c->max_secure_erase_sectors, c->max_secure_erase_seg };
	}
}

/* One segment of DISCARD / WRITE_ZEROES / SECURE_ERASE (5.2.6). */
static uint8_t do_range(struct model_blk *b, uint32_t type, const struct range_cmd *rc,
			const struct virtio_blk_discard_write_zeroes *d)
{
	uint64_t cap = b->config.capacity;

	if (d->flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;  /* 5.2.6.2: unknown flag */
	if (type != VIRTIO_BLK_T_WRITE_ZEROES && (d->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)) {
		model_dev_violation(b->m, "%s with the unmap flag (5.2.6.1)", rc->name);
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (rc->max_sectors && d->num_sectors > rc->max_sectors)
		model_dev_violation(b->m, "%s of %u sectors > max %u", rc->name,
				    d->num_sectors, rc->max_sectors);
	if (d->sector > cap || d->num_sectors > cap - d->sector) {
		model_dev_violation(b->m, "%s past capacity", rc->name);
		return VIRTIO_BLK_S_IOERR;
	}
	if (touches_bad(b, d->sector, d->num_sectors))
		return VIRTIO_BLK_S_IOERR;
	/* WRITE_ZEROES: reads return zeroes after, unmap or not (5.2.6.2).
	 * SECURE_ERASE: the model erases to zeroes too. DISCARD leaves the
	 * data: the driver must not assume anything about it. */
	if (type != VIRTIO_BLK_T_DISCARD)
		memset(b->disk + d->sector * SECTOR, 0, (size_t)d->num_sectors * SECTOR);
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_ranges(struct model_blk *b, struct vdev_buf *vb, struct model_blk_req *r)
{
	struct range_cmd rc = range_cmd(b, r->type);
	uint8_t st = VIRTIO_BLK_S_OK;

	if (!has(b, rc.feature)) {
		model_dev_violation(b->m, "%s without its feature", rc.name);
		return VIRTIO_BLK_S_UNSUPP;
	}
	r->data_len = vb->out_len - HDR_LEN;
	if (r->sector)
		model_dev_violation(b->m, "%s with header sector %llu (5.2.6: set to 0)",
				    rc.name, (unsigned long long)r->sector);
	if (!r->data_len || r->data_len % sizeof(struct virtio_blk_discard_write_zeroes)) {
		model_dev_violation(b->m, "%s data of %u bytes (5.2.6.1)", rc.name, r->data_len);
		return VIRTIO_BLK_S_IOERR;
	}
	r->nranges = r->data_len / sizeof(struct virtio_blk_discard_write_zeroes);
	if (rc.max_seg && r->nranges > rc.max_seg)
		model_dev_violation(b->m, "%s with %u segments > max %u (5.2.6.1)",
				    rc.name, r->nranges, rc.max_seg);
	for (unsigned i = 0; i < r->nranges; i++) {
		struct virtio_blk_discard_write_zeroes d;
		uint8_t s;

		model_buf_read(vb, HDR_LEN + i * sizeof(d), &d, sizeof(d));
		if (!i)
			r->range0 = d;
		s = do_range(b, r->type, &rc, &d);
		if (s != VIRTIO_BLK_S_OK && st == VIRTIO_BLK_S_OK)
			st = s;
	}
	return st;
}

static uint8_t serve(struct model_blk *b, struct vdev_buf *vb, struct model_blk_req *r,
		     uint32_t *used)
{
	struct virtio_blk_outhdr hdr;

	model_buf_read(vb, 0, &hdr, sizeof(hdr));
	r->type = hdr.type;
	r->sector = hdr.sector;
	*used = 1;
	if (r->type < 64 && (b->unsupp & BIT(r->type)))
		return VIRTIO_BLK_S_UNSUPP;
	switch (r->type) {
	case VIRTIO_BLK_T_IN: {
		uint8_t st = do_in(b, vb, r);

		*used = st == VIRTIO_BLK_S_OK ? vb->in_len : 1;
		return st;
	}
	case VIRTIO_BLK_T_OUT:
		return do_out(b, vb, r);
	case VIRTIO_BLK_T_FLUSH:
		return do_flush(b, vb, r);
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t st = do_get_id(b, vb, r);

		*used = st == VIRTIO_BLK_S_OK ? VIRTIO_BLK_ID_BYTES + 1 : 1;
		return st;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
	case VIRTIO_BLK_T_SECURE_ERASE:
		return do_ranges(b, vb, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* IN_ORDER (spec 2.7.9, 2.8.8) leaves the device no choice. */
static enum vdev_order service_order(const struct model_blk *b)
{
	return has(b, VIRTIO_F_IN_ORDER) ? VDEV_ORDER_FIFO : b->cfg.order;
}

static uint32_t next_seed(struct model_blk *b)
{
	b->seed = b->seed * 1664525u + 1013904223u;  /* LCG, Numerical Recipes */
	return b->seed;
}

static bool disconnect_now(struct model_blk *b)
{
	b->taken++;
	if (!b->disconnect_at || b->taken < b->disconnect_at)
		return false;
	b->disconnect_at = 0;
	return true;
}

static bool evil_now(struct model_blk *b)
{
	if (b->evil == MODEL_BLK_OK || !b->evil_left)
		return false;
	if (b->evil_left != UINT32_MAX)
		b->evil_left--;
	return true;
}

static void one_request(struct model_blk *b, struct vdev_model *vq, struct blk_q *bq,
			uint16_t q, struct vdev_buf *vb)
{
	struct model_blk_req r = { .q = q };
	enum model_blk_evil evil = evil_now(b) ? b->evil : MODEL_BLK_OK;
	uint32_t used = 0;
	uint8_t st;

	if (vb->out_len < HDR_LEN || vb->in_len < 1) {
		/* No header or no status byte: nothing can be answered. */
		model_dev_violation(b->m, "request with %u readable / %u writable bytes (5.2.6)",
				    vb->out_len, vb->in_len);
		vdev_model_push(vq, vb, 0);
		return;
	}
	if (evil == MODEL_BLK_DROP) {
		bq->slot[vb->id] = SLOT_DROPPED;
		return;
	}
	st = serve(b, vb, &r, &used);
	r.status = st;
	log_req(b, &r);
	if (evil == MODEL_BLK_STATUS)
		st = (uint8_t)b->evil_arg;
	if (evil == MODEL_BLK_NO_STATUS)
		used = used > 1 ? used - 1 : 0;
	else
		model_buf_write(vb, vb->in_len - 1, &st, 1);
	if (evil == MODEL_BLK_USED_EVIL) {
		vdev_model_misbehave(vq, (enum vdev_evil)b->evil_arg, vb);
		return;
	}
	if (b->hold || service_order(b) != VDEV_ORDER_FIFO) {
		bq->slot[vb->id] = SLOT_HELD;
		bq->len[vb->id] = used;
		bq->held++;
		return;
	}
	vdev_model_push(vq, vb, used);
}

static void blk_process(void *be, struct model_dev *m, uint16_t q)
{
	struct model_blk *b = be;
	struct vdev_model *vq = model_dev_vq(m, q);
	struct blk_q *bq = q_get(b, q);
	enum vdev_order order = service_order(b);
	struct vdev_buf *vb;

	if (!vq || !bq)
		return;
	while (vdev_model_pop(vq, &vb) == 1) {
		if (disconnect_now(b)) {
			model_dev_disconnect(m, "model back-end gone");
			return;  /* gone: what it took is never answered */
		}
		one_request(b, vq, bq, q, vb);
	}
	if (!b->hold && order != VDEV_ORDER_FIFO)
		model_blk_complete(b, q, order, next_seed(b));
}

unsigned model_blk_complete(struct model_blk *b, uint16_t q, enum vdev_order order,
			    uint32_t seed)
{
	struct vdev_model *vq = model_dev_vq(b->m, q);
	struct blk_q *bq = &b->q[q];
	struct vdev_buf **held;
	unsigned n = 0, done = 0;

	if (!vq || !bq->size)
		return 0;
	held = calloc(bq->size, sizeof(*held));
	if (!held)
		return 0;
	for (unsigned i = 0; i < vdev_model_pending(vq); i++) {
		struct vdev_buf *vb = vdev_model_pending_at(vq, i);

		if (bq->slot[vb->id] == SLOT_HELD)
			held[n++] = vb;
	}
	seed = seed ? seed : 0x2545f491u;
	while (n) {
		unsigned i = order == VDEV_ORDER_FIFO ? 0 : order == VDEV_ORDER_REVERSE ? n - 1 : 0;
		struct vdev_buf *vb;

		if (order == VDEV_ORDER_RANDOM) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			i = seed % n;
		}
		vb = held[i];
		memmove(&held[i], &held[i + 1], (n - i - 1) * sizeof(*held));
		n--;
		bq->slot[vb->id] = SLOT_FREE;
		bq->held--;
		vdev_model_push(vq, vb, bq->len[vb->id]);
		done++;
	}
	free(held);
	return done;
}

static void blk_reset(void *be, struct model_dev *m)
{
	struct model_blk *b = be;

	(void)m;
	for (unsigned q = 0; q < MODEL_MAX_QUEUES; q++)
		q_free(&b->q[q]);
	/* 5.2.5: the cache mode after reset may be either; keep the last. */
}

/* 5.2.5.1: only writeback is writable, with CONFIG_WCE (or legacy). */
static int blk_config_write(void *be, struct model_dev *m, uint32_t off,
			    const void *buf, uint32_t len)
{
	struct model_blk *b = be;
	uint8_t v;

	if (off != CFG(wce) || len != 1)
		return -EPERM;
	if (!model_dev_is_legacy(m) && !has(b, VIRTIO_BLK_F_CONFIG_WCE))
		return -EPERM;
	memcpy(&v, buf, 1);
	if (v > 1)
		model_dev_violation(m, "writeback = %u (0 or 1)", v);
	b->config.wce = v;
	return 0;
}

static void blk_destroy(void *be)
{
	struct model_blk *b = be;

	blk_reset(b, NULL);
	free(b->disk);
	free(b->log);
	free(b);
}

/* Spec 2.6.1.1: requests held on a reset queue are dropped unanswered. */
static void blk_reset_queue(void *be, struct model_dev *m, uint16_t q)
{
	(void)m;
	q_free(&((struct model_blk *)be)->q[q]);
}

static const struct model_backend blk_backend = {
	.process = blk_process,
	.config_write = blk_config_write,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.reset_queue = blk_reset_queue,
};

static void fill_config(struct model_blk *b)
{
	const struct model_blk_cfg *c = &b->cfg;
	struct virtio_blk_config *v = &b->config;

	v->capacity = c->capacity;
	v->size_max = c->size_max;
	v->seg_max = c->seg_max;
	v->geometry.cylinders = c->cylinders;
	v->geometry.heads = c->heads;
	v->geometry.sectors = c->sectors;
	v->blk_size = c->blk_size;
	v->physical_block_exp = c->physical_block_exp;
	v->alignment_offset = c->alignment_offset;
	v->min_io_size = c->min_io_size;
	v->opt_io_size = c->opt_io_size;
	v->wce = c->writeback;
	v->num_queues = c->num_queues;
	v->max_discard_sectors = c->max_discard_sectors;
	v->max_discard_seg = c->max_discard_seg;
	v->discard_sector_alignment = c->discard_sector_alignment;
	v->max_write_zeroes_sectors = c->max_write_zeroes_sectors;
	v->max_write_zeroes_seg = c->max_write_zeroes_seg;
	v->write_zeroes_may_unmap = c->write_zeroes_may_unmap;
	v->max_secure_erase_sectors = c->max_secure_erase_sectors;
	v->max_secure_erase_seg = c->max_secure_erase_seg;
	v->secure_erase_sector_alignment = c->secure_erase_sector_alignment;
}

struct model_blk *model_blk_create(const struct model_blk_cfg *cfg, struct uvio_dev **out)
{
	struct model_blk *b = calloc(1, sizeof(*b));
	struct model_dev_cfg dc = { 0 };
	const char *id;
	int rc;

	if (!b)
		return NULL;
	b->cfg = *cfg;
	if (!b->cfg.capacity)
		b->cfg.capacity = 8192;
	if (!b->cfg.queue_max)
		b->cfg.queue_max = 128;
	b->disk_size = b->cfg.capacity * SECTOR;
	b->disk = calloc(1, b->disk_size);
	b->bad_sector = UINT64_MAX;
	b->seed = cfg->order_seed;
	id = cfg->id ? cfg->id : "uvio-model-blk";
	/* NUL-padded, without a NUL when 20 bytes long (5.2.6) */
	memcpy(b->id, id, strnlen(id, sizeof(b->id)));
	if (!b->disk) {
		free(b);
		return NULL;
	}
	fill_config(b);
	dc.features = cfg->features | model_ring_features(cfg->legacy, cfg->packed,
							  cfg->in_order, cfg->no_indirect,
							  cfg->no_event_idx);
	dc.device_id = VIRTIO_ID_BLOCK;
	dc.legacy = cfg->legacy;
	dc.num_queues = cfg->num_queues > 1 ? cfg->num_queues : 1;
	dc.queue_max = b->cfg.queue_max;
	dc.config = &b->config;
	dc.config_len = sizeof(b->config);
	dc.manual = cfg->manual;
	dc.refuse_features = cfg->refuse_features;
	dc.needs_reset_on = cfg->needs_reset_on;
	dc.backend = &blk_backend;
	dc.be = b;
	rc = model_dev_create(&dc, out);
	if (rc)
		return NULL;  /* the backend was destroyed with the model */
	b->m = model_dev_of(*out);
	/* The device's config is the model's copy from here on. */
	model_dev_hold(b->m);
	return b;
}

void model_blk_put(struct model_blk *b)
{
	if (b)
		model_dev_put(b->m);
}

struct model_dev *model_blk_dev(const struct model_blk *b) { return b->m; }
uint8_t *model_blk_disk(struct model_blk *b) { return b->disk; }
uint64_t model_blk_disk_size(const struct model_blk *b) { return b->disk_size; }
void model_blk_set_bad_sector(struct model_blk *b, uint64_t s) { b->bad_sector = s; }
void model_blk_hold(struct model_blk *b, bool on) { b->hold = on; }
void model_blk_disconnect_at(struct model_blk *b, uint64_t n) { b->disconnect_at = n; }
unsigned model_blk_nreqs(const struct model_blk *b) { return b->nlog; }
void model_blk_clear_log(struct model_blk *b) { b->nlog = 0; memset(b->count, 0, sizeof(b->count)); }

uint8_t model_blk_writeback(const struct model_blk *b)
{
	return model_dev_config((struct model_dev *)b->m)[CFG(wce)];
}

void model_blk_set_unsupp(struct model_blk *b, uint32_t type, bool on)
{
	if (type >= 64)
		return;
	if (on)
		b->unsupp |= BIT(type);
	else
		b->unsupp &= ~BIT(type);
}

void model_blk_misbehave(struct model_blk *b, enum model_blk_evil what, int arg,
			 unsigned count)
{
	b->evil = what;
	b->evil_arg = arg;
	b->evil_left = count ? count : UINT32_MAX;
}

unsigned model_blk_held(const struct model_blk *b, uint16_t q)
{
	return q < MODEL_MAX_QUEUES ? b->q[q].held : 0;
}

const struct model_blk_req *model_blk_req_at(const struct model_blk *b, unsigned i)
{
	return i < b->nlog ? &b->log[i] : NULL;
}

unsigned model_blk_count(const struct model_blk *b, uint32_t type)
{
	return type < 64 ? b->count[type] : 0;
}

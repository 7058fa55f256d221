/* SPDX-License-Identifier: MIT */
/*
 * The engine of fuzz_split.c and fuzz_packed.c: one lib/vring queue (the
 * real driver code) and one vdev_model (tests/model) on the same memory.
 * The fuzz input picks the queue's size and ring features, then a list of
 * operations: driver verbs (add, kick, get_used, has_used, enable_cb,
 * disable_cb) interleaved with device actions, either through the model
 * (pop, use a buffer with some length, an IN_ORDER batch, a canned
 * misbehaviour) or as raw stores of fuzz bytes into what the device owns
 * (split: used ring entries, used idx, used flags, avail_event; packed:
 * descriptor flags/ids/lengths, the device event suppression structure).
 *
 * Checked beyond the sanitizers:
 *  - every cookie comes back at most once, only after it was posted, with
 *    a length no larger than its writable bytes; at teardown
 *    detach_unused() gives back exactly the rest;
 *  - in_flight / num_free agree with what was posted and returned, and
 *    add() says -ENOSPC exactly when the descriptors do not fit;
 *  - a broken queue stays broken: add/get_used give -EIO, kick does not
 *    notify, has_used is false;
 *  - while the device behaves (no raw store, no misbehaviour), the queue
 *    never breaks, the model finds nothing wrong in what the driver wrote,
 *    has_used() agrees with get_used(), and every buffer the device used
 *    comes back.
 */
#ifndef UVIO_TESTS_FUZZ_VRING_H
#define UVIO_TESTS_FUZZ_VRING_H

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>

#include <uvio/vring.h>

#include "vdev_model.h"
#include "fuzz_common.h"

#define FV_MAX_TOKENS 2048
#define FV_MAX_OPS 1500
#define FV_MAX_SEGS 24

enum { TOK_FREE = 0, TOK_POSTED, TOK_RETURNED };

struct fv_tok {
	uint8_t state;
	uint32_t in_len;
};

struct fv {
	struct fin in;
	bool packed, in_order, event_idx, indirect;
	uint16_t size, indirect_max;
	void *mem;
	struct uvio_vq *vq;
	struct vdev_model *dev;
	struct uvio_vq_addrs addrs;
	bool evil;          /* the device did something a correct one never does */
	bool broken;        /* seen broken */
	unsigned in_flight; /* our count */
	unsigned ntok;
	unsigned kicks;
};

static struct fv_tok fv_toks[FV_MAX_TOKENS];
/* Data the segments point at: the model may look at it. */
static uint8_t fv_data[1 << 16] __attribute__((aligned(4096)));

static void fv_notify(void *ctx, uint16_t index, uint32_t data)
{
	struct fv *f = ctx;

	f->kicks++;
	FUZZ_CHECK(!uvio_vq_is_broken(f->vq), "a broken queue notified the device");
	FUZZ_CHECK((data & 0xffff) == index, "notification data %#x for queue %u", data, index);
}

static void fv_take(struct fv *f, void *cookie, uint32_t len, const char *how)
{
	struct fv_tok *t = cookie;

	FUZZ_CHECK(t >= fv_toks && t < fv_toks + FV_MAX_TOKENS,
		   "%s gave back %p, not a cookie we posted", how, cookie);
	FUZZ_CHECK(t->state == TOK_POSTED, "%s gave back cookie %u twice (or never posted)",
		   how, (unsigned)(t - fv_toks));
	FUZZ_CHECK(len <= t->in_len, "%s: len %u > writable %u", how, len, t->in_len);
	t->state = TOK_RETURNED;
	FUZZ_CHECK(f->in_flight > 0, "more buffers back than in flight");
	f->in_flight--;
}

static void fv_check_state(struct fv *f)
{
	bool br = uvio_vq_is_broken(f->vq);

	if (f->broken)
		FUZZ_CHECK(br, "the queue was broken and healed itself");
	f->broken = br;
	FUZZ_CHECK(uvio_vq_in_flight(f->vq) == f->in_flight, "in_flight %u, we count %u",
		   uvio_vq_in_flight(f->vq), f->in_flight);
	FUZZ_CHECK(uvio_vq_num_free(f->vq) <= f->size, "num_free %u > size %u",
		   uvio_vq_num_free(f->vq), f->size);
	if (!f->evil) {
		FUZZ_CHECK(!br, "a well-behaved device broke the queue: %s", uvio_vq_error(f->vq));
		FUZZ_CHECK(!vdev_model_error(f->dev)[0], "the driver wrote something invalid: %s",
			   vdev_model_error(f->dev));
	}
	if (br) {
		struct uvio_vq_used u[2];
		struct uvio_sg sg = { (uint64_t)(uintptr_t)fv_data, 64 };

		FUZZ_CHECK(uvio_vq_get_used(f->vq, u, 2) == -EIO, "broken get_used not -EIO");
		FUZZ_CHECK(uvio_vq_add(f->vq, &sg, 1, 0, &fv_toks[0]) == -EIO,
			   "broken add not -EIO");
		FUZZ_CHECK(!uvio_vq_has_used(f->vq), "broken queue has_used");
		FUZZ_CHECK(!uvio_vq_kick_prepare(f->vq), "broken queue wants a kick");
		FUZZ_CHECK(uvio_vq_error(f->vq)[0], "broken without a reason");
	}
}

static void fv_add(struct fv *f)
{
	uint8_t shape = fin_u8(&f->in);
	unsigned n_out = shape & 7, n_in = (shape >> 3) & 7, n;
	struct uvio_sg sg[FV_MAX_SEGS];
	unsigned free_before = uvio_vq_num_free(f->vq), ndesc;
	uint64_t in_len = 0;
	struct fv_tok *t;
	int rc;

	if (shape & 0x40) {   /* long chains: past the ring, past the indirect table */
		n_out += 4;
		n_in += 1;
	}
	n = n_out + n_in;
	for (unsigned i = 0; i < n; i++) {
		uint16_t len = fin_u16(&f->in);

		sg[i].iova = (uint64_t)(uintptr_t)fv_data;
		sg[i].len = (shape & 0x80) ? len : len % 512 + 1;
		if (i >= n_out)
			in_len += sg[i].len;
	}
	if (f->ntok == FV_MAX_TOKENS)
		return;
	t = &fv_toks[f->ntok];
	t->in_len = in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)in_len;
	rc = uvio_vq_add(f->vq, sg, n_out, n_in, t);
	if (f->broken) {
		FUZZ_CHECK(rc == -EIO, "add on a broken queue gave %d", rc);
		return;
	}
	if (n == 0 || (n > f->size && n > f->indirect_max)) {
		FUZZ_CHECK(rc == -EINVAL, "add of %u segments (size %u) gave %d", n, f->size, rc);
		return;
	}
	ndesc = n > 1 && n <= f->indirect_max ? 1 : n;
	if (ndesc > free_before) {
		FUZZ_CHECK(rc == -ENOSPC, "add of %u descriptors with %u free gave %d",
			   ndesc, free_before, rc);
		return;
	}
	FUZZ_CHECK(rc == 0, "add of %u descriptors with %u free gave %d", ndesc, free_before, rc);
	FUZZ_CHECK(uvio_vq_num_free(f->vq) == free_before - ndesc, "num_free %u after taking %u of %u",
		   uvio_vq_num_free(f->vq), ndesc, free_before);
	t->state = TOK_POSTED;
	f->ntok++;
	f->in_flight++;
}

static int fv_get_used(struct fv *f, unsigned max)
{
	struct uvio_vq_used u[8];
	bool had = uvio_vq_has_used(f->vq);
	int rc = uvio_vq_get_used(f->vq, u, max);

	if (f->broken) {
		FUZZ_CHECK(rc == -EIO, "get_used on a broken queue gave %d", rc);
		return 0;
	}
	FUZZ_CHECK(rc == -EIO || (rc >= 0 && (unsigned)rc <= max), "get_used(%u) gave %d", max, rc);
	if (rc == -EIO) {
		FUZZ_CHECK(uvio_vq_is_broken(f->vq), "get_used -EIO but not broken");
		return 0;
	}
	if (!f->evil)
		FUZZ_CHECK(had == (rc > 0), "has_used said %d, get_used(%u) gave %d", had, max, rc);
	for (int i = 0; i < rc; i++)
		fv_take(f, u[i].cookie, u[i].len, "get_used");
	return rc;
}

static void fv_dev_push(struct fv *f)
{
	unsigned np = vdev_model_pending(f->dev);
	struct vdev_buf *b;
	uint32_t len;
	bool lie;

	if (!np || vdev_model_error(f->dev)[0])
		return;
	b = vdev_model_pending_at(f->dev, f->in_order ? 0 : fin_u8(&f->in) % np);
	len = fin_len(&f->in, b->in_len, &lie);
	if (lie) {
		/* A length past the writable bytes: the canned lie. */
		f->evil = true;
		vdev_model_misbehave(f->dev, VDEV_EVIL_LEN, b);
		return;
	}
	vdev_model_push(f->dev, b, len);
}

static void fv_dev_batch(struct fv *f)
{
	unsigned np = vdev_model_pending(f->dev), n;
	struct vdev_buf *last;
	uint32_t len;
	bool lie;

	if (!f->in_order || !np || vdev_model_error(f->dev)[0])
		return;
	n = 1 + fin_u8(&f->in) % np;
	last = vdev_model_pending_at(f->dev, n - 1);
	len = fin_len(&f->in, last->in_len, &lie);
	vdev_model_push_batch(f->dev, n, lie ? last->in_len : len);
}

static void fv_dev_misbehave(struct fv *f)
{
	uint8_t what = fin_u8(&f->in) % 6, pick = fin_u8(&f->in);
	unsigned np = vdev_model_pending(f->dev);
	struct vdev_buf *b = np ? vdev_model_pending_at(f->dev, pick % np) : NULL;

	if (vdev_model_error(f->dev)[0])
		return;
	if ((what == VDEV_EVIL_LEN && !b) || (what == VDEV_EVIL_IDX_JUMP && f->packed) ||
	    (what == VDEV_EVIL_BAD_WRAP && !f->packed))
		return;
	f->evil = true;
	vdev_model_misbehave(f->dev, (enum vdev_evil)what, b);
}

/* Which available-buffer notifications the device asks for. */
static void fv_kick_mode(struct fv *f)
{
	uint8_t m = fin_u8(&f->in);
	unsigned ahead = fin_u8(&f->in);

	if (vdev_model_error(f->dev)[0])
		return;
	switch (m % 3) {
	case 0: vdev_model_kick_mode(f->dev, VDEV_KICK_ALWAYS, 0); break;
	case 1: vdev_model_kick_mode(f->dev, VDEV_KICK_NEVER, 0); break;
	default:
		if (f->event_idx)
			vdev_model_kick_mode(f->dev, VDEV_KICK_AT, ahead % f->size);
		break;
	}
}

/* An id the device writes: mostly near the ring, sometimes anything. */
static uint32_t fv_raw_id(struct fv *f)
{
	uint8_t how = fin_u8(&f->in);
	uint32_t v = fin_u32(&f->in);

	return (how & 1) ? v % (f->size + 2u) : v;
}

/* Raw stores of fuzz bytes into what the device owns. Event suppression
 * is the device's to choose (any value only changes whether we notify);
 * used entries and indices are a lie unless they happen to be right. */
static void fv_raw(struct fv *f, uint8_t sub)
{
	if (!f->packed) {
		struct vring_used *used = (void *)(uintptr_t)f->addrs.device;
		uint16_t k = fin_u16(&f->in) % f->size;

		switch (sub % 5) {
		case 0: case 1:
			used->ring[k].id = fv_raw_id(f);
			used->ring[k].len = fin_u32(&f->in);
			f->evil = true;
			break;
		case 2: {
			uint16_t d = fin_u16(&f->in);

			/* a small step forward or back, or anything */
			used->idx = (d & 0x8000) ? d : (uint16_t)(used->idx + (int8_t)d);
			f->evil = true;
			break;
		}
		case 3:
			used->flags = fin_u16(&f->in);
			break;
		default:
			*(uint16_t *)&used->ring[f->size] = fin_u16(&f->in);  /* avail_event */
			break;
		}
	} else {
		struct vring_packed_desc *d = (void *)(uintptr_t)f->addrs.desc;
		struct vring_packed_desc_event *ev = (void *)(uintptr_t)f->addrs.device;
		uint16_t k = fin_u16(&f->in) % f->size;

		switch (sub % 4) {
		case 0: case 1: {
			uint8_t fl = fin_u8(&f->in);

			d[k].id = (uint16_t)fv_raw_id(f);
			d[k].len = fin_u32(&f->in);
			/* AVAIL (bit 7) / USED (bit 15) / WRITE, or any flags */
			d[k].flags = (fl & 0x80) ? fin_u16(&f->in)
				: (uint16_t)((fl & 1 ? 1u << VRING_PACKED_DESC_F_AVAIL : 0) |
					     (fl & 2 ? 1u << VRING_PACKED_DESC_F_USED : 0) |
					     (fl & 4 ? VRING_DESC_F_WRITE : 0));
			f->evil = true;
			break;
		}
		case 2:
			ev->off_wrap = fin_u16(&f->in);
			break;
		default:
			ev->flags = fin_u16(&f->in);
			break;
		}
	}
}

static void fv_teardown(struct fv *f)
{
	void *c;
	unsigned back = 0, flight = f->in_flight;

	if (!f->evil && !vdev_model_error(f->dev)[0]) {
		/* A device that behaves: everything it used comes back. */
		int rc;

		uvio_vq_kick(f->vq);  /* publish what was added since the last kick */
		FUZZ_CHECK(vdev_model_pop_all(f->dev) >= 0, "model: %s", vdev_model_error(f->dev));
		while ((rc = fv_get_used(f, 8)) > 0)
			;
		FUZZ_CHECK(f->in_flight == vdev_model_pending(f->dev),
			   "%u in flight but the device holds %u", f->in_flight,
			   vdev_model_pending(f->dev));
		FUZZ_CHECK(!uvio_vq_has_used(f->vq), "has_used after draining");
		flight = f->in_flight;
	}
	/* After a reset the device owns nothing: the rest comes back once. */
	while ((c = uvio_vq_detach_unused(f->vq))) {
		fv_take(f, c, 0, "detach_unused");
		back++;
	}
	FUZZ_CHECK(back == flight, "detach_unused gave %u of %u", back, flight);
	FUZZ_CHECK(f->in_flight == 0 && uvio_vq_in_flight(f->vq) == 0, "buffers left over");
	for (unsigned i = 0; i < f->ntok; i++)
		FUZZ_CHECK(fv_toks[i].state == TOK_RETURNED, "cookie %u never came back", i);
	if (!f->broken)
		FUZZ_CHECK(uvio_vq_num_free(f->vq) == f->size, "num_free %u of %u when idle",
			   uvio_vq_num_free(f->vq), f->size);
}

static int fv_run(const uint8_t *data, size_t size, bool packed)
{
	struct fv f = { .in = { data, size }, .packed = packed };
	uint8_t feat = fin_u8(&f.in), sz = fin_u8(&f.in), ind = fin_u8(&f.in);
	uint64_t features = packed ? 1ULL << VIRTIO_F_RING_PACKED : 0;
	struct uvio_vq_params p = { .index = fin_u16(&f.in) % 64 };
	size_t len;

	if (feat & 1) features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (feat & 2) features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (feat & 4) features |= 1ULL << VIRTIO_F_IN_ORDER;
	if (feat & 8) features |= 1ULL << VIRTIO_F_NOTIFICATION_DATA;
	if (feat & 16) features |= 1ULL << VIRTIO_F_ORDER_PLATFORM;
	f.in_order = feat & 4;
	f.event_idx = feat & 1;
	f.indirect = feat & 2;
	if (packed)
		f.size = (feat & 0x80) ? (uint16_t)(1 + (sz | (feat & 0x60) << 3)) : (uint16_t)(1 + sz % 16);
	else
		f.size = (uint16_t)(1u << (sz % 9));
	f.indirect_max = f.indirect ? ind % 9 : 0;
	p.size = f.size;
	p.features = features;
	p.indirect_max = (uint16_t)(ind % 9);
	p.notify = fv_notify;
	p.notify_ctx = &f;
	len = uvio_vq_mem_size(features, f.size, p.indirect_max);
	/* Slack past the ring: the device model (the untrusted side) may
	 * follow a descriptor it scribbled on itself to an indirect table of
	 * up to 4096 entries; that read is the model's, not the driver's. */
	f.mem = aligned_alloc(4096, len + 65536);
	FUZZ_CHECK(f.mem, "out of memory");
	memset(f.mem, 0, len);
	p.mem = f.mem;
	p.mem_iova = (uint64_t)(uintptr_t)f.mem;
	FUZZ_CHECK(uvio_vq_create(&p, &f.vq) == 0, "create size %u failed", f.size);
	uvio_vq_get_addrs(f.vq, &f.addrs);
	f.dev = vdev_model_create(&f.addrs, f.size, features);
	FUZZ_CHECK(f.dev, "model: out of memory");
	memset(fv_toks, 0, sizeof(fv_toks));

	for (unsigned ops = 0; fin_more(&f.in) && ops < FV_MAX_OPS; ops++) {
		uint8_t op = fin_u8(&f.in);

		switch (op % 16) {
		case 0: case 1: case 2:
			fv_add(&f);
			break;
		case 3: {
			unsigned before = f.kicks;
			bool k = uvio_vq_kick(f.vq);

			FUZZ_CHECK(k == (f.kicks != before), "kick said %d", k);
			if (f.broken)
				FUZZ_CHECK(!k, "a broken queue kicked");
			break;
		}
		case 4: case 5:
			fv_get_used(&f, 1 + (op >> 4) % 8);
			break;
		case 6:
			if (!vdev_model_error(f.dev)[0])
				vdev_model_pop_all(f.dev);
			break;
		case 7: case 8:
			fv_dev_push(&f);
			break;
		case 9:
			fv_dev_batch(&f);
			break;
		case 10:
			if (!f.broken && !uvio_vq_enable_cb(f.vq) && !f.evil)
				FUZZ_CHECK(uvio_vq_has_used(f.vq), "enable_cb false with nothing used");
			break;
		case 11:
			uvio_vq_disable_cb(f.vq);
			break;
		case 12:
			fv_dev_misbehave(&f);
			break;
		case 13: case 14:
			fv_raw(&f, op >> 4);
			break;
		default:
			if ((op >> 4) == 15) {   /* the device went away */
				uvio_vq_set_broken(f.vq, "fuzz: device removed");
				f.evil = true;
			} else {
				fv_kick_mode(&f);
			}
			break;
		}
		fv_check_state(&f);
	}
	fv_teardown(&f);
	uvio_vq_destroy(f.vq);
	vdev_model_destroy(f.dev);
	free(f.mem);
	return 0;
}

#endif

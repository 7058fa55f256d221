/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: virtio-blk completions (spec 5.2.6). The device takes the
 * driver's requests and completes them when and how the fuzz input says:
 * any order (oldest first with IN_ORDER), any status byte (OK, IOERR,
 * UNSUPP or a value the spec does not define), the status byte written or
 * not, any used length (within the buffer, or a lie past it), or a bad
 * used entry. Interleaved: reads and writes (scatter-gather, split at
 * seg_max / size_max into several virtio requests), flush, get_id,
 * discard, write-zeroes, polls, and callbacks that submit again.
 *
 * Checked beyond the sanitizers: each accepted request gets its callback
 * exactly once, with 0, -EIO or -ENOTSUP; submitted = completed ok +
 * completed with error (after close, which fails what is left); a request
 * completes ok only if the device wrote OK (no more ok completions than
 * buffers the device answered OK, nor -ENOTSUP than UNSUPP); in_flight
 * matches; a broken queue stays broken (submit and poll give -EIO, nothing
 * stays in flight); get_id leaves a NUL-terminated string; the driver
 * breaks no rule the model checks.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fuzz_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIT(n) (1ULL << (n))
#define MAX_REQS 512
#define BUF_BYTES (256u << 10)
#define CAPACITY 1024  /* sectors */

struct req {
	bool used, done, resubmit;
	int status;
	char id[21];
};

struct bx {
	struct fin in;
	struct uvio_blk *blk;
	struct model_dev *m;
	struct fd_blk *be;
	uint16_t nq;
	bool in_order, closing;
	bool evil;  /* a bad used entry: the model may trip over its own lie */
	bool broken[2];
	unsigned nreq, submitted, called, ok, err, unsupp;
	unsigned dev_ok, dev_unsupp;  /* buffers the device answered so */
	struct req reqs[MAX_REQS];
};

static struct bx *cur;
static uint8_t *buf;  /* DMA memory for the data */

static int submit(struct bx *x, uint16_t qi, bool from_cb);

static void req_done(void *arg, int status)
{
	struct req *r = arg;
	struct bx *x = cur;

	FUZZ_CHECK(r >= x->reqs && r < x->reqs + x->nreq && r->used, "callback for %p", arg);
	FUZZ_CHECK(!r->done, "request %u completed twice", (unsigned)(r - x->reqs));
	FUZZ_CHECK(status == 0 || status == -EIO || status == -ENOTSUP, "status %d", status);
	r->done = true;
	r->status = status;
	x->called++;
	if (!status)
		x->ok++;
	else if (status == -ENOTSUP)
		x->unsupp++;
	else
		x->err++;
	if (r->id[0] || !status)
		FUZZ_CHECK(memchr(r->id, 0, sizeof(r->id)), "id not NUL-terminated");
	if (r->resubmit) {
		/* a callback that submits again: fine while the queue lives, -EIO
		 * once it broke or the device is closing */
		int rc = submit(x, 0, true);

		if (x->closing)
			FUZZ_CHECK(rc != 0, "submit from a callback during close gave 0");
	}
}

/* One request of a fuzz-chosen kind; returns the submit's rc. */
static int submit(struct bx *x, uint16_t qi, bool from_cb)
{
	struct uvio_blk_queue *q = uvio_blk_get_queue(x->blk, qi);
	const struct uvio_blk_info *info = uvio_blk_get_info(x->blk);
	uint8_t kind = from_cb ? 0 : fin_u8(&x->in);
	uint32_t bs = info->block_size;
	uint64_t off = (uint64_t)(fin_u16(&x->in) % (CAPACITY * 512 / bs + 2)) * bs;
	uint64_t len = (uint64_t)(fin_u8(&x->in) % 64) * bs;
	struct iovec iov[4];
	unsigned iovcnt = 1 + (kind >> 5) % 4;
	bool was_broken = uvio_vq_is_broken(uvio_dev_queue(uvio_blk_dev(x->blk), qi));
	struct req *r;
	int rc;

	if (x->nreq == MAX_REQS)
		return -ENOSPC;
	r = &x->reqs[x->nreq];
	memset(r, 0, sizeof(*r));
	r->resubmit = !from_cb && (kind & 0x10);
	if (len > BUF_BYTES)
		len = BUF_BYTES;
	/* iovecs: cut the data into pieces of 512-byte multiples */
	{
		uint64_t left = len, pos = 0;

		for (unsigned i = 0; i < iovcnt; i++) {
			uint64_t piece = i + 1 == iovcnt ? left :
					 (uint64_t)(fin_u8(&x->in) % 8) * 512;

			if (piece > left)
				piece = left;
			iov[i].iov_base = buf + pos;
			iov[i].iov_len = piece;
			pos += piece;
			left -= piece;
		}
	}
	x->nreq++;
	r->used = true;
	switch (kind % 8) {
	case 0: case 1: rc = uvio_blk_read(q, off, iov, iovcnt, req_done, r); break;
	case 2: case 3: rc = uvio_blk_write(q, off, iov, iovcnt, req_done, r); break;
	case 4: rc = uvio_blk_flush(q, req_done, r); break;
	case 5: rc = uvio_blk_get_id(q, r->id, req_done, r); break;
	case 6: rc = uvio_blk_discard(q, off, len, req_done, r); break;
	default: rc = uvio_blk_write_zeroes(q, off, len, kind & 8, req_done, r); break;
	}
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE || rc == -EROFS || rc == -ENOTSUP ||
		   rc == -EAGAIN || rc == -E2BIG || rc == -EIO, "submit gave %d", rc);
	if (rc) {
		r->used = false;
		x->nreq--;
		if (was_broken && rc != -EINVAL && rc != -ERANGE && rc != -ENOTSUP && rc != -EROFS)
			FUZZ_CHECK(rc == -EIO, "submit to a broken queue gave %d", rc);
		return rc;
	}
	FUZZ_CHECK(!was_broken, "a broken queue accepted a request");
	x->submitted++;
	return 0;
}

/* The device completes held buffers of queue qi. */
static void complete(struct bx *x, uint16_t qi)
{
	struct vdev_model *vq = model_dev_vq(x->m, qi);
	unsigned n = 1 + fin_u8(&x->in) % 8;

	if (!vq || vdev_model_pop_all(vq) < 0)
		return;
	while (n-- && vdev_model_pending(vq)) {
		unsigned np = vdev_model_pending(vq);
		struct vdev_buf *vb = vdev_model_pending_at(vq, x->in_order ? 0 : fin_u8(&x->in) % np);
		uint8_t how = fin_u8(&x->in);
		uint8_t st = (how & 0x80) ? fin_u8(&x->in) : (how >> 4) % 3;
		uint32_t len;
		bool lie;

		if (!(how & 1) && vb->in_len) {   /* bit 0: leave the status byte unwritten */
			model_buf_write(vb, vb->in_len - 1, &st, 1);
			x->dev_ok += st == VIRTIO_BLK_S_OK;
			x->dev_unsupp += st == VIRTIO_BLK_S_UNSUPP;
		}
		len = fin_len(&x->in, vb->in_len, &lie);
		if (lie) {
			x->evil = true;
			vdev_model_misbehave(vq, VDEV_EVIL_LEN, vb);
			return;
		}
		vdev_model_push(vq, vb, len);
	}
}

static void misbehave(struct bx *x, uint16_t qi)
{
	struct vdev_model *vq = model_dev_vq(x->m, qi);
	enum vdev_evil e = (enum vdev_evil)(fin_u8(&x->in) % 6);
	uint8_t pick = fin_u8(&x->in);
	bool packed = uvio_blk_get_info(x->blk)->packed;
	struct vdev_buf *b;
	unsigned np;

	if (!vq || vdev_model_pop_all(vq) < 0)
		return;
	np = vdev_model_pending(vq);
	b = np ? vdev_model_pending_at(vq, pick % np) : NULL;
	if ((e == VDEV_EVIL_LEN && !b) || (e == VDEV_EVIL_IDX_JUMP && packed) ||
	    (e == VDEV_EVIL_BAD_WRAP && !packed))
		return;
	x->evil = true;
	vdev_model_misbehave(vq, e, b);
}

static void poll_q(struct bx *x, uint16_t qi, unsigned max)
{
	struct uvio_blk_queue *q = uvio_blk_get_queue(x->blk, qi);
	bool was_broken = uvio_vq_is_broken(uvio_dev_queue(uvio_blk_dev(x->blk), qi));
	int rc = uvio_blk_poll(q, max);

	FUZZ_CHECK(rc == -EIO || (rc >= 0 && (unsigned)rc <= max), "poll(%u) gave %d", max, rc);
	if (was_broken)
		FUZZ_CHECK(rc == -EIO, "poll of a broken queue gave %d", rc);
	if (rc == -EIO) {
		FUZZ_CHECK(uvio_blk_queue_in_flight(q) == 0, "%u requests left on a broken queue",
			   uvio_blk_queue_in_flight(q));
		FUZZ_CHECK(uvio_blk_queue_error(q)[0], "broken without a reason");
	}
}

static struct uvio_blk *open_blk(struct bx *x)
{
	uint8_t ctl = fin_u8(&x->in), ctl2 = fin_u8(&x->in), sz = fin_u8(&x->in);
	bool legacy = (ctl & 0x11) == 0x10, packed = (ctl & 1) && !legacy;
	struct model_dev_cfg dc = { 0 };
	struct virtio_blk_config cfg = { 0 };
	struct uvio_blk_opts o = { 0 };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_blk *blk;
	int rc;

	dc.features = model_ring_features(legacy, packed, ctl & 2, ctl & 4, ctl & 8) |
		      BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_DISCARD) |
		      BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	cfg.capacity = CAPACITY;
	if (ctl & 0x20) {
		dc.features |= BIT(VIRTIO_BLK_F_SEG_MAX);
		cfg.seg_max = fin_u8(&x->in) % 8;   /* 0: no limit */
	}
	if (ctl & 0x40) {
		dc.features |= BIT(VIRTIO_BLK_F_SIZE_MAX);
		cfg.size_max = fin_u16(&x->in);     /* odd values too */
	}
	if (ctl & 0x80) {
		dc.features |= BIT(VIRTIO_BLK_F_BLK_SIZE);
		cfg.blk_size = 4096;
	}
	if (ctl2 & 1)
		dc.features |= BIT(VIRTIO_BLK_F_RO);
	if (ctl2 & 2) {
		dc.features |= BIT(VIRTIO_BLK_F_MQ);
		cfg.num_queues = 2;
	}
	cfg.max_discard_sectors = ctl2 & 4 ? fin_u8(&x->in) : 0;
	cfg.max_write_zeroes_sectors = ctl2 & 8 ? fin_u8(&x->in) : 0;
	cfg.max_discard_seg = cfg.max_write_zeroes_seg = 1;
	dc.legacy = legacy;
	dc.num_queues = 2;
	dc.queue_max = packed ? (uint16_t)(1 + sz % 64) : (uint16_t)(1u << (sz % 7));
	dc.config = &cfg;
	dc.config_len = sizeof(cfg);
	dc.backend = &fd_blk_backend;
	dc.be = x->be;
	x->be->hold = true;
	o.queues = 2;
	if (model_dev_create(&dc, &dev))
		return NULL;
	x->m = model_dev_of(dev);
	model_dev_hold(x->m);
	rc = uvio_blk_open(dev, &o, &blk, &err);
	FUZZ_CHECK(rc == 0, "open failed: %s", err.msg);
	x->nq = uvio_blk_get_info(blk)->queues;
	x->in_order = ctl & 2;
	return blk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bx x;

	fd_init();
	if (!buf) {
		uint64_t iova;

		buf = uvio_dma_alloc(BUF_BYTES, 4096, -1, &iova, NULL);
		FUZZ_CHECK(buf, "no DMA memory");
	}
	memset(&x, 0, sizeof(x));
	x.in = (struct fin){ data, size };
	cur = &x;
	x.be = calloc(1, sizeof(*x.be));
	FUZZ_CHECK(x.be, "out of memory");
	x.blk = open_blk(&x);
	if (!x.blk) {
		free(x.be);
		return 0;
	}
	for (unsigned ops = 0; fin_more(&x.in) && ops < 400; ops++) {
		uint8_t op = fin_u8(&x.in);
		uint16_t qi = (uint16_t)((op >> 7) % x.nq);

		switch (op % 8) {
		case 0: case 1: case 2:
			submit(&x, qi, false);
			break;
		case 3: case 4:
			complete(&x, qi);
			break;
		case 5: case 6:
			poll_q(&x, qi, 1 + fin_u8(&x.in) % 40);
			break;
		default:
			misbehave(&x, qi);
			break;
		}
		for (uint16_t q = 0; q < x.nq; q++) {
			bool br = uvio_vq_is_broken(uvio_dev_queue(uvio_blk_dev(x.blk), q));

			if (x.broken[q])
				FUZZ_CHECK(br, "queue %u was broken and healed itself", q);
			x.broken[q] = br;
		}
		FUZZ_CHECK(x.submitted - x.called ==
			   uvio_blk_queue_in_flight(uvio_blk_get_queue(x.blk, 0)) +
			   (x.nq > 1 ? uvio_blk_queue_in_flight(uvio_blk_get_queue(x.blk, 1)) : 0),
			   "%u submitted, %u called back, in flight %u", x.submitted, x.called,
			   uvio_blk_queue_in_flight(uvio_blk_get_queue(x.blk, 0)));
	}
	FUZZ_CHECK(x.evil || !model_dev_error(x.m)[0], "the driver broke a rule: %s",
		   model_dev_error(x.m));
	x.closing = true;
	uvio_blk_close(x.blk);
	FUZZ_CHECK(x.called == x.submitted, "%u callbacks for %u requests", x.called, x.submitted);
	FUZZ_CHECK(x.ok + x.err + x.unsupp == x.submitted, "ok %u + err %u + unsupp %u != %u",
		   x.ok, x.err, x.unsupp, x.submitted);
	FUZZ_CHECK(x.ok <= x.dev_ok, "%u requests ok, the device said OK %u times", x.ok, x.dev_ok);
	FUZZ_CHECK(x.unsupp <= x.dev_unsupp, "%u requests unsupported, the device said so %u times",
		   x.unsupp, x.dev_unsupp);
	FUZZ_CHECK(x.evil || !model_dev_error(x.m)[0], "the driver broke a rule: %s",
		   model_dev_error(x.m));
	model_dev_put(x.m);
	free(x.be);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk requests (spec 5.2.6): header, data, status, on one queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/dma.h>

#include "blk_internal.h"

#define SECTOR 512u
#define POLL_BURST 32
#define HUGEPAGE (2u << 20)
#define STATUS_UNSET 0xff  /* a device that never writes the status fails */

/* ---- slots and user requests: two free lists per queue ---- */

int uvio_blk_queue_init(struct uvio_blk *blk, struct uvio_blk_queue *q,
			struct uvio_vq *vq, struct uvio_err *err)
{
	const struct uvio_blk_info *in = &blk->info;
	uint16_t n = uvio_vq_size(vq);
	uint32_t segs = in->seg_max ? in->seg_max : 126;

	q->blk = blk;
	q->vq = vq;
	q->nslots = n;
	q->indirect = uvio_dev_has_feature(blk->dev, VIRTIO_RING_F_INDIRECT_DESC);
	/* Without indirect tables a request's descriptors sit in the ring. */
	if (segs > 126u)
		segs = 126;
	if (!q->indirect && segs > n - 2u)
		segs = n > 2 ? n - 2u : 1;
	q->max_data_segs = (uint16_t)segs;
	q->slots = uvio_dma_alloc(sizeof(struct blk_slot) * n, 64,
				  uvio_dev_numa_node(blk->dev), &q->slots_iova, err);
	q->reqs = calloc(n, sizeof(*q->reqs));
	q->ios = calloc(n, sizeof(*q->ios));
	q->sg = calloc(segs + 2u, sizeof(*q->sg));
	if (!q->slots || !q->reqs || !q->ios || !q->sg)
		return uvio_err_set(err, err && err->code ? err->code : -ENOMEM,
				    "%s", err && err->code ? err->msg : "out of memory");
	for (uint16_t i = 0; i < n; i++) {
		q->reqs[i].next_free = (uint16_t)(i + 1);
		q->ios[i].next_free = (uint16_t)(i + 1);
	}
	q->nfree_req = q->nfree_io = n;
	return 0;
}

void uvio_blk_queue_fini(struct uvio_blk_queue *q)
{
	free(q->cancelled);
	q->cancelled = NULL;
	q->ncancelled = 0;
	uvio_dma_free(q->slots);
	free(q->reqs);
	free(q->ios);
	free(q->sg);
}

static struct blk_io *io_get(struct uvio_blk_queue *q)
{
	struct blk_io *io = &q->ios[q->free_io];

	q->free_io = io->next_free;
	q->nfree_io--;
	return io;
}

static void io_put(struct uvio_blk_queue *q, struct blk_io *io)
{
	io->next_free = q->free_io;
	q->free_io = (uint16_t)(io - q->ios);
	q->nfree_io++;
}

static uint16_t req_get(struct uvio_blk_queue *q, struct blk_io *io)
{
	uint16_t i = q->free_req;

	q->free_req = q->reqs[i].next_free;
	q->nfree_req--;
	q->reqs[i].io = io;
	return i;
}

static void req_put(struct uvio_blk_queue *q, uint16_t i)
{
	q->reqs[i].next_free = q->free_req;
	q->free_req = i;
	q->nfree_req++;
}

static uint64_t slot_iova(const struct uvio_blk_queue *q, uint16_t i, size_t off)
{
	return q->slots_iova + (uint64_t)i * sizeof(struct blk_slot) + off;
}

/* ---- completion ---- */

static int status_to_errno(uint8_t status)
{
	switch (status) {
	case VIRTIO_BLK_S_OK: return 0;
	case VIRTIO_BLK_S_UNSUPP: return -ENOTSUP;
	default: return -EIO;  /* IOERR, or a status the spec does not define */
	}
}

/* One part of a request is done; the request completes with its last. */
static void part_done(struct uvio_blk_queue *q, uint16_t i, int status)
{
	struct blk_io *io = q->reqs[i].io;

	if (status && !io->status)
		io->status = status;
	if (io->id_out && !status) {
		memcpy(io->id_out, q->slots[i].id, VIRTIO_BLK_ID_BYTES);
		io->id_out[VIRTIO_BLK_ID_BYTES] = '\0';
	}
	req_put(q, i);
	if (--io->parts_left)
		return;
	q->in_flight--;
	io_put(q, io);
	if (io->cb)
		io->cb(io->arg, io->status);
}

static uint16_t slot_of_cookie(const struct uvio_blk_queue *q, void *cookie)
{
	return (uint16_t)((struct blk_slot *)cookie - q->slots);
}

/* Requests a queue reset cancelled: their callbacks run here, from the
 * poll, on the queue's thread like any other completion. */
static unsigned run_cancelled(struct uvio_blk_queue *q, unsigned max)
{
	unsigned done = 0;

	while (done < max && q->ncancelled) {
		struct blk_cancelled c = q->cancelled[--q->ncancelled];

		q->in_flight--;
		done++;
		if (c.cb)
			c.cb(c.arg, -ECANCELED);
	}
	return done;
}

void uvio_blk_queue_fail_all(struct uvio_blk_queue *q)
{
	void *cookie;

	run_cancelled(q, q->ncancelled);
	if (!q->vq)
		return;
	while ((cookie = uvio_vq_detach_unused(q->vq)))
		part_done(q, slot_of_cookie(q, cookie), -EIO);
}

int uvio_blk_poll(struct uvio_blk_queue *q, unsigned max)
{
	struct uvio_vq_used used[POLL_BURST];
	unsigned done = 0;

	if (__builtin_expect(q->ncancelled != 0, 0))
		done = run_cancelled(q, max);
	while (done < max) {
		unsigned want = max - done < POLL_BURST ? max - done : POLL_BURST;
		int n = uvio_vq_get_used(q->vq, used, want);

		if (n < 0) {
			snprintf(q->error, sizeof(q->error), "%s", uvio_vq_error(q->vq));
			uvio_blk_queue_fail_all(q);
			return -EIO;
		}
		for (int k = 0; k < n; k++) {
			uint16_t i = slot_of_cookie(q, used[k].cookie);
			uint8_t st = *(volatile uint8_t *)&q->slots[i].status;

			part_done(q, i, status_to_errno(st));
		}
		done += (unsigned)n;
		if ((unsigned)n < want)
			break;
	}
	return (int)done;
}

/* One notification per batch when the caller batches (uvio_blk_defer_kicks):
 * a vhost-user kick is a syscall, a PCI one a trapped write. */
static void notify(struct uvio_blk_queue *q)
{
	if (!q->defer_kicks)
		uvio_vq_kick(q->vq);
}

void uvio_blk_defer_kicks(struct uvio_blk_queue *q, bool on)
{
	q->defer_kicks = on;
	if (!on)
		uvio_vq_kick(q->vq);
}

void uvio_blk_kick(struct uvio_blk_queue *q)
{
	uvio_vq_kick(q->vq);
}

unsigned uvio_blk_queue_in_flight(const struct uvio_blk_queue *q)
{
	return q->in_flight;
}

const char *uvio_blk_queue_error(const struct uvio_blk_queue *q)
{
	return q->error;
}

/* ---- data segments: iovecs cut at hugepage and size_max boundaries ---- */

struct seg_iter {
	const struct iovec *iov;
	unsigned iovcnt, i;
	size_t off;
	uint32_t max_len;
};

/* The next piece that is contiguous in IOVA and within size_max. */
static bool seg_next(struct seg_iter *it, struct uvio_sg *sg)
{
	while (it->i < it->iovcnt && it->off == it->iov[it->i].iov_len) {
		it->i++;
		it->off = 0;
	}
	if (it->i == it->iovcnt)
		return false;
	const char *p = (const char *)it->iov[it->i].iov_base + it->off;
	size_t len = it->iov[it->i].iov_len - it->off;
	size_t to_boundary = HUGEPAGE - ((uintptr_t)p & (HUGEPAGE - 1));

	if (len > to_boundary)
		len = to_boundary;
	if (len > it->max_len)
		len = it->max_len;
	sg->iova = uvio_dma_iova(p);
	sg->len = (uint32_t)len;
	it->off += len;
	return true;
}

static int check_iov(const struct iovec *iov, unsigned iovcnt, uint64_t *total)
{
	*total = 0;
	for (unsigned i = 0; i < iovcnt; i++) {
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (SECTOR - 1))
			return -EINVAL;
		if (iov[i].iov_len && uvio_dma_iova(iov[i].iov_base) == UINT64_MAX)
			return -EINVAL;
		*total += iov[i].iov_len;
	}
	return 0;
}

static uint32_t piece_max(const struct uvio_blk_queue *q)
{
	uint32_t m = q->blk->info.size_max & ~(SECTOR - 1);

	return m ? m : HUGEPAGE;
}

/* -EAGAIN only when waiting helps: a request that would not fit even an
 * idle queue is -E2BIG, or a caller following the contract spins forever.
 * A broken queue is -EIO before either, for the same reason; the add finds
 * a break that comes later (post). */
static int fits(const struct uvio_blk_queue *q, unsigned parts, unsigned descs)
{
	if (uvio_vq_is_broken(q->vq))
		return -EIO;
	if (parts > q->nslots || descs > uvio_vq_size(q->vq))
		return -E2BIG;
	if (parts > q->nfree_req || !q->nfree_io || descs > uvio_vq_num_free(q->vq))
		return -EAGAIN;
	return 0;
}

/* Ring descriptors and slots a data request needs, all or nothing. */
static int reserve(const struct uvio_blk_queue *q, const struct iovec *iov,
		   unsigned iovcnt, unsigned *parts)
{
	struct seg_iter it = { .iov = iov, .iovcnt = iovcnt, .max_len = piece_max(q) };
	struct uvio_sg sg;
	unsigned pieces = 0, descs;

	while (seg_next(&it, &sg))
		pieces++;
	*parts = (pieces + q->max_data_segs - 1) / q->max_data_segs;
	descs = q->indirect ? *parts : pieces + 2 * *parts;
	return fits(q, *parts, descs);
}

/* ---- submission ---- */

static int check_range(const struct uvio_blk_queue *q, uint64_t offset, uint64_t len)
{
	const struct uvio_blk_info *in = &q->blk->info;

	if (!len || (offset | len) & (in->block_size - 1))
		return -EINVAL;
	if (offset > in->capacity || len > in->capacity - offset)
		return -ERANGE;
	return 0;
}

static struct blk_io *io_start(struct uvio_blk_queue *q, unsigned parts,
			       uvio_blk_cb cb, void *arg)
{
	struct blk_io *io = io_get(q);

	*io = (struct blk_io){ .cb = cb, .arg = arg, .parts_left = (uint16_t)parts };
	q->in_flight++;
	return io;
}

/* Post one virtio request: header, n data segments in q->sg[1..n], status.
 * Room was reserved, so only a broken queue refuses it (-EIO). Another
 * thread may break it at any time (a back-end gone, a device removed), even
 * after the checks before this found it whole, so the add's answer counts:
 * a part that is not on the ring is one that no poll would ever complete. */
static int post(struct uvio_blk_queue *q, struct blk_io *io, uint32_t type,
		uint64_t sector, unsigned n, bool data_in)
{
	uint16_t i = req_get(q, io);
	struct blk_slot *s = &q->slots[i];
	int rc;

	s->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	s->status = STATUS_UNSET;
	q->sg[0] = (struct uvio_sg){ slot_iova(q, i, 0), sizeof(s->hdr) };
	q->sg[n + 1] = (struct uvio_sg){
		slot_iova(q, i, offsetof(struct blk_slot, status)), 1 };
	if (data_in)
		rc = uvio_vq_add(q->vq, q->sg, 1, n + 1, s);
	else
		rc = uvio_vq_add(q->vq, q->sg, n + 1, 1, s);
	if (rc)
		req_put(q, i);
	return rc;
}

/* A post was refused after `posted` of the request's `parts` went on the
 * ring. None: the request never started, the caller gets -EIO. Some: it
 * fails with them, when the broken queue's next poll hands them back
 * (uvio_blk_queue_fail_all); the caller was told it started. */
static int post_failed(struct uvio_blk_queue *q, struct blk_io *io, unsigned posted,
		       unsigned parts)
{
	if (!posted) {
		q->in_flight--;
		io_put(q, io);
		return -EIO;
	}
	io->status = -EIO;
	io->parts_left = (uint16_t)(io->parts_left - (parts - posted));
	return 0;
}

/* Any iovec: cut at hugepages and size_max, then into parts of at most
 * max_data_segs segments, each its own virtio request. */
static int submit_pieces(struct uvio_blk_queue *q, uint32_t type, uint64_t offset,
			 const struct iovec *iov, unsigned iovcnt, uvio_blk_cb cb, void *arg)
{
	struct seg_iter it = { .iov = iov, .iovcnt = iovcnt, .max_len = piece_max(q) };
	uint64_t len, sector = offset / SECTOR;
	unsigned parts, n = 0, posted = 0;
	struct blk_io *io;
	int rc = check_iov(iov, iovcnt, &len);

	if (!rc)
		rc = check_range(q, offset, len);
	if (!rc)
		rc = reserve(q, iov, iovcnt, &parts);
	if (rc)
		return rc;
	io = io_start(q, parts, cb, arg);
	while (seg_next(&it, &q->sg[n + 1])) {
		if (++n < q->max_data_segs)
			continue;
		if (post(q, io, type, sector, n, type == VIRTIO_BLK_T_IN))
			return post_failed(q, io, posted, parts);
		posted++;
		for (unsigned k = 1; k <= n; k++)
			sector += q->sg[k].len / SECTOR;
		n = 0;
	}
	if (n && post(q, io, type, sector, n, type == VIRTIO_BLK_T_IN))
		return post_failed(q, io, posted, parts);
	notify(q);
	return 0;
}

/* The common request, one buffer that is one piece (within size_max, not
 * across a hugepage): its segment in *sg, with one IOVA lookup and no
 * second pass. false: take the general path, which also says what is
 * wrong. 4K reads cost about a fifth fewer instructions this way. */
static bool one_piece(const struct uvio_blk_queue *q, const struct iovec *iov,
		      unsigned iovcnt, struct uvio_sg *sg)
{
	uintptr_t p;
	size_t len;

	if (iovcnt != 1)
		return false;
	p = (uintptr_t)iov->iov_base;
	len = iov->iov_len;
	if (!len || len > piece_max(q) || ((p | len) & (SECTOR - 1)) ||
	    (p & (HUGEPAGE - 1)) + len > HUGEPAGE)
		return false;
	sg->iova = uvio_dma_iova(iov->iov_base);
	sg->len = (uint32_t)len;
	return sg->iova != UINT64_MAX;
}

/* One part, one virtio request: its data segment is in q->sg[1]. */
static int submit_one(struct uvio_blk_queue *q, uint32_t type, uint64_t offset,
		      uvio_blk_cb cb, void *arg)
{
	struct blk_io *io;
	int rc = check_range(q, offset, q->sg[1].len);

	if (!rc)
		rc = fits(q, 1, q->indirect ? 1 : 3);
	if (rc)
		return rc;
	io = io_start(q, 1, cb, arg);
	if (post(q, io, type, offset / SECTOR, 1, type == VIRTIO_BLK_T_IN))
		return post_failed(q, io, 0, 1);
	notify(q);
	return 0;
}

static int submit_rw(struct uvio_blk_queue *q, uint32_t type, uint64_t offset,
		     const struct iovec *iov, unsigned iovcnt, uvio_blk_cb cb, void *arg)
{
	if (one_piece(q, iov, iovcnt, &q->sg[1]))
		return submit_one(q, type, offset, cb, arg);
	return submit_pieces(q, type, offset, iov, iovcnt, cb, arg);
}

int uvio_blk_read(struct uvio_blk_queue *q, uint64_t offset,
		  const struct iovec *iov, unsigned iovcnt, uvio_blk_cb cb, void *arg)
{
	return submit_rw(q, VIRTIO_BLK_T_IN, offset, iov, iovcnt, cb, arg);
}

int uvio_blk_write(struct uvio_blk_queue *q, uint64_t offset,
		   const struct iovec *iov, unsigned iovcnt, uvio_blk_cb cb, void *arg)
{
	if (q->blk->info.read_only)
		return -EROFS;
	return submit_rw(q, VIRTIO_BLK_T_OUT, offset, iov, iovcnt, cb, arg);
}

/* A request with no data or with one driver-owned buffer of the slot. */
static int submit_simple(struct uvio_blk_queue *q, uint32_t type, uint64_t sector,
			 size_t buf_off, uint32_t buf_len, bool buf_in,
			 struct blk_io *io)
{
	uint16_t i = q->free_req;
	unsigned n = buf_len ? 1 : 0;

	if (n)
		q->sg[1] = (struct uvio_sg){ slot_iova(q, i, buf_off), buf_len };
	return post(q, io, type, sector, n, buf_in);
}

static int room_for(struct uvio_blk_queue *q, unsigned parts, unsigned descs_each)
{
	return fits(q, parts, parts * (q->indirect ? 1 : descs_each));
}

int uvio_blk_flush(struct uvio_blk_queue *q, uvio_blk_cb cb, void *arg)
{
	int rc = q->blk->info.flush ? room_for(q, 1, 2) : -ENOTSUP;
	struct blk_io *io;

	if (rc)
		return rc;
	io = io_start(q, 1, cb, arg);
	if (submit_simple(q, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, io))
		return post_failed(q, io, 0, 1);
	notify(q);
	return 0;
}

int uvio_blk_get_id(struct uvio_blk_queue *q, char id[21], uvio_blk_cb cb, void *arg)
{
	int rc = room_for(q, 1, 3);
	struct blk_io *io;

	if (rc)
		return rc;
	io = io_start(q, 1, cb, arg);
	io->id_out = id;
	if (submit_simple(q, VIRTIO_BLK_T_GET_ID, 0, offsetof(struct blk_slot, id),
			  VIRTIO_BLK_ID_BYTES, true, io))
		return post_failed(q, io, 0, 1);
	notify(q);
	return 0;
}

/* DISCARD, WRITE_ZEROES, SECURE_ERASE (spec 5.2.6.2): one range per part,
 * each at most max_sectors long. */
static int submit_range(struct uvio_blk_queue *q, uint32_t type, uint64_t offset,
			uint64_t len, uint32_t max_sectors, uint32_t flags,
			uvio_blk_cb cb, void *arg)
{
	uint64_t per = max_sectors ? (uint64_t)max_sectors * SECTOR : len;
	unsigned parts, posted = 0;
	struct blk_io *io;
	int rc = check_range(q, offset, len);

	per &= ~(uint64_t)(q->blk->info.block_size - 1);
	if (!rc && !per)
		rc = -EINVAL;
	if (rc)
		return rc;
	parts = (unsigned)((len + per - 1) / per);
	if (parts > UINT16_MAX || (rc = room_for(q, parts, 3)))
		return rc ? rc : -EAGAIN;
	io = io_start(q, parts, cb, arg);
	for (uint64_t done = 0; done < len; done += per) {
		uint64_t chunk = len - done < per ? len - done : per;
		uint16_t i = q->free_req;

		q->slots[i].range = (struct virtio_blk_discard_write_zeroes){
			.sector = (offset + done) / SECTOR,
			.num_sectors = (uint32_t)(chunk / SECTOR), .flags = flags,
		};
		if (submit_simple(q, type, 0, offsetof(struct blk_slot, range),
				  sizeof(q->slots[i].range), false, io))
			return post_failed(q, io, posted, parts);
		posted++;
	}
	notify(q);
	return 0;
}

int uvio_blk_discard(struct uvio_blk_queue *q, uint64_t offset, uint64_t len,
		     uvio_blk_cb cb, void *arg)
{
	const struct uvio_blk_info *in = &q->blk->info;

	if (!in->discard)
		return -ENOTSUP;
	if (in->read_only)
		return -EROFS;
	return submit_range(q, VIRTIO_BLK_T_DISCARD, offset, len,
			    in->max_discard_sectors, 0, cb, arg);
}

int uvio_blk_write_zeroes(struct uvio_blk_queue *q, uint64_t offset, uint64_t len,
			  bool unmap, uvio_blk_cb cb, void *arg)
{
	const struct uvio_blk_info *in = &q->blk->info;

	if (!in->write_zeroes)
		return -ENOTSUP;
	if (in->read_only)
		return -EROFS;
	return submit_range(q, VIRTIO_BLK_T_WRITE_ZEROES, offset, len,
			    in->max_write_zeroes_sectors,
			    unmap ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0, cb, arg);
}

int uvio_blk_secure_erase(struct uvio_blk_queue *q, uint64_t offset, uint64_t len,
			  uvio_blk_cb cb, void *arg)
{
	const struct uvio_blk_info *in = &q->blk->info;

	if (!in->secure_erase)
		return -ENOTSUP;
	if (in->read_only)
		return -EROFS;
	return submit_range(q, VIRTIO_BLK_T_SECURE_ERASE, offset, len,
			    in->max_secure_erase_sectors, 0, cb, arg);
}

/* SPDX-License-Identifier: MIT */
/*
 * Synchronous wrappers: submit one request and poll its queue until it
 * completes. For tools and simple users; they spin on the queue.
 */
#include <errno.h>

#include "blk_internal.h"

struct sync_wait {
	bool done;
	int status;
};

static void sync_done(void *arg, int status)
{
	struct sync_wait *w = arg;

	w->done = true;
	w->status = status;
}

/* Poll until our request completes. A broken queue fails every request it
 * holds, ours included, so this loop always ends. */
static int sync_finish(struct uvio_blk_queue *q, int rc, struct sync_wait *w)
{
	if (rc)
		return rc;
	uvio_blk_kick(q);   /* in case the queue defers its kicks */
	while (!w->done)
		if (uvio_blk_poll(q, 32) < 0 && !w->done)
			return -EIO;
	return w->status;
}

int uvio_blk_read_sync(struct uvio_blk_queue *q, uint64_t offset, void *buf, uint64_t len)
{
	struct iovec iov = { buf, len };
	struct sync_wait w = { 0 };

	return sync_finish(q, uvio_blk_read(q, offset, &iov, 1, sync_done, &w), &w);
}

int uvio_blk_write_sync(struct uvio_blk_queue *q, uint64_t offset, const void *buf,
			uint64_t len)
{
	struct iovec iov = { (void *)buf, len };
	struct sync_wait w = { 0 };

	return sync_finish(q, uvio_blk_write(q, offset, &iov, 1, sync_done, &w), &w);
}

int uvio_blk_flush_sync(struct uvio_blk_queue *q)
{
	struct sync_wait w = { 0 };

	return sync_finish(q, uvio_blk_flush(q, sync_done, &w), &w);
}

/* A range the queue cannot take in one go (-E2BIG: the device allows few
 * sectors per request and the ring is small) goes in halves, in order. */
static int range_sync(struct uvio_blk_queue *q, uint64_t offset, uint64_t len,
		      int (*submit)(struct uvio_blk_queue *, uint64_t, uint64_t,
				    bool, uvio_blk_cb, void *), bool flag)
{
	uint32_t bs = q->blk->info.block_size;

	while (len) {
		uint64_t chunk = len;
		int rc;

		for (;;) {
			struct sync_wait w = { 0 };

			rc = sync_finish(q, submit(q, offset, chunk, flag, sync_done, &w), &w);
			if (rc != -E2BIG || chunk <= bs)
				break;
			chunk = (chunk / 2 + bs - 1) & ~(uint64_t)(bs - 1);
		}
		if (rc)
			return rc;
		offset += chunk;
		len -= chunk;
	}
	return 0;
}

static int submit_wz(struct uvio_blk_queue *q, uint64_t off, uint64_t len, bool unmap,
		     uvio_blk_cb cb, void *arg)
{
	return uvio_blk_write_zeroes(q, off, len, unmap, cb, arg);
}

static int submit_discard(struct uvio_blk_queue *q, uint64_t off, uint64_t len,
			  bool unused, uvio_blk_cb cb, void *arg)
{
	(void)unused;
	return uvio_blk_discard(q, off, len, cb, arg);
}

int uvio_blk_write_zeroes_sync(struct uvio_blk_queue *q, uint64_t offset,
			       uint64_t len, bool unmap)
{
	return range_sync(q, offset, len, submit_wz, unmap);
}

int uvio_blk_discard_sync(struct uvio_blk_queue *q, uint64_t offset, uint64_t len)
{
	return range_sync(q, offset, len, submit_discard, false);
}

int uvio_blk_get_id_sync(struct uvio_blk_queue *q, char id[21])
{
	struct sync_wait w = { 0 };

	return sync_finish(q, uvio_blk_get_id(q, id, sync_done, &w), &w);
}

/* SPDX-License-Identifier: MIT */
/*
 * Resetting one request queue while the others run (VIRTIO_F_RING_RESET,
 * spec 2.6.1). The device drops what the queue held without completing
 * it (spec 2.6.1.1), so every request in flight there is cancelled: its
 * callback runs with -ECANCELED from the queue's next uvio_blk_poll(), as
 * a completion would, never from inside the reset.
 */
#include <errno.h>
#include <stdlib.h>

#include "blk_internal.h"

/* A part the device never completed; the request is cancelled with its
 * last part (parts are posted all or none, blk_io.c reserve()). */
static void part_unused(void *ctx, uint16_t qi, void *cookie)
{
	struct uvio_blk_queue *q = ctx;
	uint16_t i = (uint16_t)((struct blk_slot *)cookie - q->slots);
	struct blk_io *io = q->reqs[i].io;

	(void)qi;
	if (--io->parts_left)
		return;
	q->cancelled[q->ncancelled++] = (struct blk_cancelled){ io->cb, io->arg };
}

/* Room for every request in flight: the cancel list cannot fail later. */
static int cancel_room(struct uvio_blk_queue *q)
{
	struct blk_cancelled *c;

	if (!q->in_flight)
		return 0;
	c = realloc(q->cancelled, sizeof(*c) * q->in_flight);
	if (!c)
		return -ENOMEM;
	q->cancelled = c;
	return 0;
}

/* Slots, requests and scratch made new for the ring (its size may have
 * changed); the cancelled requests stay in flight until polled. */
static int rebuild(struct uvio_blk *blk, struct uvio_blk_queue *q, struct uvio_vq *vq)
{
	struct blk_cancelled *c = q->cancelled;
	unsigned n = q->ncancelled;
	struct uvio_err err = { 0 };
	int rc;

	q->cancelled = NULL;
	uvio_blk_queue_fini(q);
	q->free_req = q->free_io = 0;
	q->error[0] = '\0';
	rc = uvio_blk_queue_init(blk, q, vq, &err);
	q->cancelled = c;
	q->ncancelled = n;
	q->in_flight = n;
	if (rc)
		uvio_vq_set_broken(vq, "queue reset: out of memory");
	return rc;
}

int uvio_blk_queue_reset(struct uvio_blk *blk, uint16_t qi, uint16_t new_size)
{
	struct uvio_blk_queue *q;
	struct uvio_vq *vq = NULL;
	int rc;

	if (!blk->queues || qi >= blk->info.queues)
		return -EINVAL;
	if (!uvio_dev_can_reset_queue(blk->dev))
		return -ENOTSUP;
	q = &blk->queues[qi];
	if ((rc = cancel_room(q)))
		return rc;
	rc = uvio_dev_reset_queue(blk->dev, qi, new_size, part_unused, q, &vq);
	if (!vq)  /* not reset: the queue is as it was (broken if it failed) */
		return rc;
	/* Reset (and re-enabled, or broken when that failed): the old
	 * requests are gone from the ring either way. */
	if (rebuild(blk, q, vq) && !rc)
		rc = -ENOMEM;
	return rc;
}

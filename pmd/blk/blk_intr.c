/* SPDX-License-Identifier: MIT */
/*
 * Event mode for request queues (blk.h): arm the used buffer
 * notification of a requestq (spec 5.2.2) and sleep on the transport's
 * eventfd until a request completes.
 */
#include <errno.h>

#include "blk_internal.h"

int uvio_blk_queue_eventfd(struct uvio_blk_queue *q)
{
	return uvio_dev_queue_eventfd(q->blk->dev, uvio_vq_index(q->vq));
}

/* Spec 2.7.7.1 / 2.8.10.1: look at the ring again once armed, or a
 * completion the device wrote before it saw the arming would never be
 * notified (a lost wake-up). */
int uvio_blk_queue_intr_enable(struct uvio_blk_queue *q)
{
	if (uvio_vq_is_broken(q->vq))
		return -EIO;
	return uvio_vq_enable_cb(q->vq) ? 0 : 1;
}

void uvio_blk_queue_intr_disable(struct uvio_blk_queue *q)
{
	uvio_vq_disable_cb(q->vq);
}

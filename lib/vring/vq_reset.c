/* SPDX-License-Identifier: MIT */
/*
 * A virtqueue made new in place after a queue reset (spec 2.6.1): the
 * device forgot the queue, so the driver starts it again as it did at
 * creation (spec 2.7 / 2.8 initial state) over the same memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vq_internal.h"

int uvio_vq_reset(struct uvio_vq *vq)
{
	size_t ring = vq->packed ? uvio_vq_packed_ring_size(vq->size)
				 : uvio_vq_split_ring_size(vq->size);

	if (vq->in_flight)
		return -EBUSY;  /* detach_unused first: the shadow must be empty */
	free(vq->packed ? (void *)vq->u.packed.next_id : (void *)vq->u.split.next);
	memset(&vq->u, 0, sizeof(vq->u));
	/* Spec 2.6.1.1: the re-enabled queue starts from a zeroed ring (a
	 * split ring's indices at 0; a packed ring's descriptors without
	 * AVAIL/USED, wrap counters at 1). Indirect tables are rewritten on
	 * every add. */
	memset(vq->mem, 0, ring);
	vq->num_free = vq->size;
	vq->num_added = 0;
	vq->io_oldest = 0;
	vq->batch_active = false;
	vq->error[0] = '\0';
	__atomic_store_n(&vq->breaking, false, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->broken, false, __ATOMIC_RELEASE);
	if (vq->packed)
		uvio_vq_packed_init(vq);
	else
		uvio_vq_split_init(vq);
	if (vq_broken(vq))  /* init could not allocate its shadow */
		return -ENOMEM;
	uvio_vq_disable_cb(vq);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The broken state of a queue (uvio_vq_break). On its own, below vq.c,
 * split.c and packed.c, which all break queues: so that the dispatcher
 * and the layouts do not call each other both ways.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "vq_internal.h"

int uvio_vq_break(struct uvio_vq *vq, const char *fmt, ...)
{
	va_list ap;

	if (!__atomic_exchange_n(&vq->breaking, true, __ATOMIC_ACQ_REL)) {
		int n = snprintf(vq->error, sizeof(vq->error), "queue %u: ", vq->index);

		va_start(ap, fmt);
		vsnprintf(vq->error + n, sizeof(vq->error) - (size_t)n, fmt, ap);
		va_end(ap);
		__atomic_store_n(&vq->broken, true, __ATOMIC_RELEASE);
	}
	return -EIO;
}

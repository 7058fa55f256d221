/* SPDX-License-Identifier: MIT */
/*
 * --completion irq|hybrid: sleep until the queue's used buffer
 * notification instead of spinning. The order that loses no wake-up:
 * drain the eventfd, arm (uvio re-checks the ring and says when a
 * completion is already there), sleep, disarm, poll.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uvio/blk.h>
#include <uvio/dev.h>

#include "completion.h"

#define COMPLETION_WAIT_MS 100   /* bounded sleep: a stop or a broken queue is seen */

static const char *const completion_names[] = {
	[BB_COMPLETION_POLL] = "poll", [BB_COMPLETION_IRQ] = "irq",
	[BB_COMPLETION_HYBRID] = "hybrid",
};

/* Setting up a vector writes shared transport registers: one at a time. */
static pthread_mutex_t completion_setup_lock = PTHREAD_MUTEX_INITIALIZER;

int bb_completion_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof(completion_names) / sizeof(completion_names[0])); i++)
		if (!strcmp(s, completion_names[i]))
			return i;
	return -1;
}

const char *bb_completion_name(int mode)
{
	return mode >= 0 && mode <= BB_COMPLETION_HYBRID ? completion_names[mode] : "?";
}

int bb_completion_setup(struct bb_worker *w)
{
	w->efd = -1;
	w->empty = 0;
	if (w->o->completion == BB_COMPLETION_POLL)
		return 0;
	pthread_mutex_lock(&completion_setup_lock);
	w->efd = uvio_blk_queue_eventfd(w->q);
	pthread_mutex_unlock(&completion_setup_lock);
	if (w->efd >= 0)
		return 0;
	fprintf(stderr, "blkbench: --completion %s: queue %u: %s\n",
		bb_completion_name(w->o->completion), w->id,
		uvio_dev_error(uvio_blk_dev(w->sh->blk)));
	return -1;
}

static void completion_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
}

static void completion_sleep(struct bb_worker *w)
{
	struct pollfd pfd = { .fd = w->efd, .events = POLLIN };

	completion_drain(w->efd);
	if (uvio_blk_queue_intr_enable(w->q) == 0) {
		w->sleeps++;
		if (poll(&pfd, 1, COMPLETION_WAIT_MS) > 0)
			completion_drain(w->efd);
	}
	uvio_blk_queue_intr_disable(w->q);
}

void bb_completion_wait(struct bb_worker *w, int n)
{
	if (w->efd < 0)
		return;
	if (n != 0 || !w->in_flight) {
		w->empty = 0;
		return;
	}
	if (w->o->completion == BB_COMPLETION_HYBRID && ++w->empty < BB_HYBRID_POLLS)
		return;
	w->empty = 0;
	completion_sleep(w);
}

void bb_completion_done(struct bb_worker *w)
{
	if (w->efd >= 0)
		fprintf(stderr, "blkbench: queue %u: --completion %s: slept %llu times\n",
			w->id, bb_completion_name(w->o->completion),
			(unsigned long long)w->sleeps);
}

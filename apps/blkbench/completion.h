/* SPDX-License-Identifier: MIT */
/*
 * --completion poll|irq|hybrid (completion.c): how a worker waits for its
 * requests. poll spins on uvio_blk_poll (the default); irq sleeps on the
 * queue's interrupt eventfd whenever a poll found nothing; hybrid polls
 * BB_HYBRID_POLLS times first, then sleeps.
 */
#ifndef BLKBENCH_COMPLETION_H
#define BLKBENCH_COMPLETION_H

#include "engine.h"

#define BB_HYBRID_POLLS 2000

/* "poll", "irq", "hybrid" -> BB_COMPLETION_*; -1 when none of them. */
int bb_completion_parse(const char *s);
const char *bb_completion_name(int mode);

/* A worker, once at start: its queue's eventfd (0, or -1 with a line on
 * stderr). No-op for poll. */
int bb_completion_setup(struct bb_worker *w);

/* A worker, after a poll that completed n requests: maybe sleep until
 * the device says one more completed. */
void bb_completion_wait(struct bb_worker *w, int n);

/* At the end: "blkbench: queue Q: --completion irq: slept N times". */
void bb_completion_done(struct bb_worker *w);

#endif

/* SPDX-License-Identifier: MIT */
/* Inside the workload engine: engine.c sets up and watches, worker.c runs
 * one queue's I/O loop on its own thread. */
#ifndef BLKBENCH_ENGINE_H
#define BLKBENCH_ENGINE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "blkbench.h"
#include "lbagen.h"
#include "verify.h"

struct bb_worker;

struct bb_io {
	struct bb_worker *w;
	struct bb_io *next;     /* free list, done list */
	void *buf;              /* bs bytes of DMA memory */
	uint64_t block;         /* index in the worker's slice */
	uint64_t t_submit, t_done;
	int status;
	enum bb_dir op;         /* BB_DIR_READ, _WRITE or _SYNC (a flush) */
	bool redo;              /* failed when the back-end went away: resend */
};

/* What every worker sees. */
struct bb_shared {
	const struct bb_opts *o;
	uint64_t start_ns;
	uint64_t deadline_ns;   /* 0: none */
	int stop;               /* atomic: a worker failed, or SIGINT */
	int removed;            /* atomic: the device is gone (and released) */
	struct uvio_blk *blk;
	FILE *latlog;
	pthread_mutex_t latlock;
	unsigned print_budget;  /* lines of verify / I/O error detail */
	/* --reconnect: a worker whose queue broke because the back-end went
	 * away parks here; once every worker still running is parked, the
	 * control thread reconnects, reinits and bumps `epoch`. */
	const struct bb_link *link;
	pthread_mutex_t park_lock;
	pthread_cond_t park_cv;
	unsigned parked;        /* under park_lock */
	unsigned active;        /* workers not yet finished; under park_lock */
	unsigned epoch;         /* reconnects done; under park_lock */
	char lost_why[160];     /* the first broken queue's reason; park_lock */
	bool reconnect_failed;
	uint64_t failed_before; /* completed_error at the last reconnect */
	struct bb_worker *ws;
	unsigned nworkers;
};

struct bb_worker {
	struct bb_shared *sh;
	const struct bb_opts *o;
	struct uvio_blk_queue *q;
	unsigned id;
	uint64_t first, nblocks;  /* the slice, in bs blocks from o->offset */
	uint64_t budget, issued;  /* reads + writes */
	struct bb_lbagen gen;
	uint64_t rng;             /* read or write, for randrw */
	struct bb_io *ios, *free, *pending, *done, **done_tail;
	struct bb_io *redo;       /* failed at a back-end loss: send again */
	unsigned in_flight;
	uint64_t *busy;           /* verify: blocks in flight */
	uint64_t *written;        /* verify randrw: blocks this run wrote */
	uint64_t writes_since_flush;
	struct bb_verify v;
	struct bb_counters c;
	struct bb_hist lat[BB_DIRS];
	char *logbuf;
	size_t loglen;
	bool failed;
	int efd;                  /* --completion irq|hybrid: the queue's eventfd */
	unsigned empty;           /* hybrid: polls that found nothing */
	uint64_t sleeps;
	uint64_t wait_from;       /* a poll found nothing with requests out: since */
	pthread_t thread;
};

/* worker.c: one queue's thread. */
void *bb_worker_main(void *arg);

#endif

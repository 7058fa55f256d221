/* SPDX-License-Identifier: MIT */
/*
 * The workload: cut the range into one slice per queue, give each slice a
 * worker thread with its own buffers, print progress every second while
 * they run, then add up what they did. Every 100 ms the control thread
 * also looks at the device: removed (-ENODEV), it lets go and stops; a
 * back-end gone (-ERESTART) with --reconnect, it waits for
 * every running worker to park, reconnects, reinits and lets them go on.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <uvio/dev.h>
#include <uvio/dma.h>

#include "blockhdr.h"
#include "engine.h"

#define LD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define DETAIL_LINES 100
#define TICK_NS 1000000000ull
#define CHECK_EVERY 10          /* naps of 10 ms: look at the device each 100 ms */
#define RECONNECT_TRY_MS 1000   /* one attempt; SIGINT is heard between them */
#define RECONNECT_PAUSE_NS 100000000ull  /* after an attempt that failed at once */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* A transport without a back-end to lose is always connected. */
static bool dev_lost(struct uvio_blk *blk)
{
	return !uvio_dev_connected(uvio_blk_dev(blk));
}

static int dev_reconnect(struct uvio_blk *blk, int timeout_ms, struct uvio_err *err)
{
	return uvio_dev_reconnect(uvio_blk_dev(blk), timeout_ms, err);
}

const struct bb_link bb_dev_link = { dev_lost, dev_reconnect };

void bb_counters_merge(struct bb_counters *dst, const struct bb_counters *src)
{
	dst->ios += src->ios;
	dst->reads += src->reads;
	dst->writes += src->writes;
	dst->flushes += src->flushes;
	dst->bytes += src->bytes;
	for (unsigned d = 0; d < BB_DIRS; d++)
		dst->io_bytes[d] += src->io_bytes[d];
	dst->submitted += src->submitted;
	dst->completed_ok += src->completed_ok;
	dst->completed_error += src->completed_error;
	dst->resubmitted += src->resubmitted;
	dst->redo += src->redo;
	dst->unrecovered += src->unrecovered;
	dst->errors += src->errors;
	for (unsigned i = 0; i < BB_ERRNO_SLOTS; i++)
		dst->by_errno[i] += src->by_errno[i];
	dst->verify_checked += src->verify_checked;
	dst->verify_failed += src->verify_failed;
	dst->verify_skipped += src->verify_skipped;
	dst->queue_full += src->queue_full;
	dst->bursts += src->bursts;
	dst->polls += src->polls;
	dst->empty_polls += src->empty_polls;
	dst->wait_ns += src->wait_ns;
}

static enum bb_pattern pattern_of(const struct bb_opts *o)
{
	if (!bb_rw_is_random(o->rw))
		return BB_SEQ;
	/* Verify: each block once per pass. randrw must read what it wrote,
	 * so it picks freely and keeps a map of written blocks instead. */
	if (o->verify && o->rw != BB_RANDRW)
		return BB_PERM;
	return BB_UNIFORM;
}

static int alloc_ios(struct bb_worker *w)
{
	const struct bb_opts *o = w->o;
	struct uvio_err err = { 0 };

	w->ios = calloc(o->iodepth, sizeof(*w->ios));
	if (!w->ios)
		return -ENOMEM;
	for (unsigned i = 0; i < o->iodepth; i++) {
		struct bb_io *io = &w->ios[i];
		uint64_t iova, st = o->seed + i;

		io->w = w;
		io->buf = uvio_dma_alloc(o->bs, 4096, -1, &iova, &err);
		if (!io->buf) {
			fprintf(stderr, "blkbench: DMA buffer: %s\n", err.msg);
			return -ENOMEM;
		}
		/* Plain writes carry noise, not zeros a device could skip. */
		if (!o->verify)
			for (uint64_t k = 0; k < o->bs; k += 8) {
				uint64_t r = bb_rand64(&st);

				memcpy((char *)io->buf + k, &r, 8);
			}
		io->next = w->free;
		w->free = io;
	}
	return 0;
}

static int worker_init(struct bb_worker *w, struct bb_shared *sh,
		       struct uvio_blk *blk, unsigned i)
{
	const struct bb_opts *o = sh->o;
	uint64_t budget_first;

	w->sh = sh;
	w->o = o;
	w->id = i;
	w->q = uvio_blk_get_queue(blk, (uint16_t)i);
	bb_split(o->size / o->bs, o->queues, i, &w->first, &w->nblocks);
	w->budget = UINT64_MAX;
	/* The same split as the slices: --io-count = blocks means each
	 * worker does exactly its slice. */
	if (o->io_count)
		bb_split(o->io_count, o->queues, i, &budget_first, &w->budget);
	bb_lbagen_init(&w->gen, pattern_of(o), w->nblocks,
		       o->seed ^ (0x9E3779B97F4A7C15ull * (i + 1)));
	w->rng = o->seed ^ (0xC2B2AE3D27D4EB4Full * (i + 1));
	w->v = (struct bb_verify){ .unit = bb_unit_size(o->bs), .seed = o->seed,
				   .generation = o->generation,
				   .print_budget = &sh->print_budget };
	for (unsigned d = 0; d < BB_DIRS; d++)
		bb_hist_init(&w->lat[d]);
	if (o->verify && !(w->busy = bb_bitmap_new(w->nblocks)))
		return -ENOMEM;
	if (o->verify && o->rw == BB_RANDRW && !(w->written = bb_bitmap_new(w->nblocks)))
		return -ENOMEM;
	if (sh->latlog && !(w->logbuf = malloc(64u << 10)))
		return -ENOMEM;
	if (!w->q)
		return -EINVAL;
	return alloc_ios(w);
}

static void worker_fini(struct bb_worker *w)
{
	for (unsigned i = 0; w->ios && i < w->o->iodepth; i++)
		uvio_dma_free(w->ios[i].buf);
	free(w->ios);
	free(w->busy);
	free(w->written);
	free(w->logbuf);
}

/* One progress line for the second that just ended. */
static void progress(struct bb_worker *ws, unsigned n, struct bb_hist *cur,
		     struct bb_hist *prev, struct bb_hist *tmp, double t,
		     uint64_t *last_ios, uint64_t *last_bytes, double interval)
{
	uint64_t ios = 0, bytes = 0;

	bb_hist_init(cur);
	for (unsigned i = 0; i < n; i++) {
		ios += LD(&ws[i].c.ios);
		bytes += LD(&ws[i].c.bytes);
		/* The p99 of reads and writes, as the final text report's. */
		bb_hist_snapshot(tmp, &ws[i].lat[BB_DIR_READ]);
		bb_hist_merge(cur, tmp);
		bb_hist_snapshot(tmp, &ws[i].lat[BB_DIR_WRITE]);
		bb_hist_merge(cur, tmp);
	}
	bb_hist_diff(tmp, cur, prev);
	bb_report_progress(stderr, t, ios - *last_ios, bytes - *last_bytes,
			   interval, bb_hist_percentile(tmp, 99.0));
	*last_ios = ios;
	*last_bytes = bytes;
	memcpy(prev, cur, sizeof(*prev));
}

static bool all_done(struct bb_worker *ws, unsigned n, unsigned *joined)
{
	while (*joined < n && pthread_tryjoin_np(ws[*joined].thread, NULL) == 0)
		++*joined;
	return *joined == n;
}

static void stop_run(struct bb_shared *sh)
{
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
}

/* Connect again within --reconnect seconds, in short attempts so that a
 * SIGINT is not kept waiting. */
static int reconnect(struct bb_shared *sh, struct uvio_err *err)
{
	uint64_t end = bb_now_ns() + (uint64_t)(sh->o->reconnect * 1e9);
	int rc;

	for (;;) {
		uint64_t t0 = bb_now_ns(), left_ms = t0 < end ? (end - t0) / 1000000 : 0;

		rc = sh->link->reconnect(sh->blk, left_ms < RECONNECT_TRY_MS ?
					 (int)left_ms + 1 : RECONNECT_TRY_MS, err);
		if (!rc || interrupted || bb_now_ns() >= end)
			return rc;
		if (bb_now_ns() - t0 < RECONNECT_PAUSE_NS) {
			struct timespec nap = { 0, RECONNECT_PAUSE_NS };

			nanosleep(&nap, NULL);
		}
	}
}

/* Failed requests since the last reconnect; every worker is parked. */
static uint64_t failed_since(struct bb_shared *sh)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < sh->nworkers; i++)
		sum += sh->ws[i].c.completed_error;
	return sum - sh->failed_before;
}

/*
 * The back-end went away (uvio_blk_check says -ERESTART). Once every worker
 * still running has parked, none is inside a uvio_blk_* call: bring the
 * device back (uvio_dev_reconnect) and let them go on with the new queues.
 * Called with park_lock held.
 */
static void bring_back(struct bb_shared *sh)
{
	const struct bb_opts *o = sh->o;
	struct uvio_err err = { 0 };
	uint64_t failed = failed_since(sh);
	int rc;

	fprintf(stderr, "blkbench: %s: %s; %llu I/O%s failed; reconnecting (up to %g s)\n",
		o->dev, sh->lost_why[0] ? sh->lost_why : "the back-end went away",
		(unsigned long long)failed, failed == 1 ? "" : "s", o->reconnect);
	rc = reconnect(sh, &err);
	if (rc && interrupted)
		fprintf(stderr, "blkbench: %s: interrupted while reconnecting\n", o->dev);
	else if (rc)
		fprintf(stderr, "blkbench: %s: could not reconnect within %g s: %s\n",
			o->dev, o->reconnect, err.msg);
	else if ((rc = uvio_blk_reinit(sh->blk, &err)))
		fprintf(stderr, "blkbench: %s: reconnected, but the device did not come "
			"back: %s\n", o->dev, err.msg);
	if (rc) {
		sh->reconnect_failed = true;
		stop_run(sh);
		return;
	}
	fprintf(stderr, "blkbench: reconnected to %s (%llu I/O%s failed)\n", o->dev,
		(unsigned long long)failed, failed == 1 ? "" : "s");
	sh->failed_before += failed;
	sh->lost_why[0] = '\0';
	sh->epoch++;
	pthread_cond_broadcast(&sh->park_cv);
}

/* --reconnect: are the workers waiting for the device to come back? The
 * status is read once they all are: a worker parks only after the
 * transport marked the back-end gone, so it says -ERESTART by then. */
static void check_parked(struct bb_shared *sh)
{
	pthread_mutex_lock(&sh->park_lock);
	if (sh->parked && sh->parked == sh->active && !LD(&sh->stop)) {
		if (uvio_blk_check(sh->blk) == -ERESTART) {
			bring_back(sh);
		} else {
			fprintf(stderr, "blkbench: %s: the queues broke (%s), but the "
				"device does not ask for a reset\n", sh->o->dev,
				sh->lost_why);
			sh->reconnect_failed = true;
			stop_run(sh);
		}
	}
	pthread_mutex_unlock(&sh->park_lock);
}

/*
 * Is the device still there? Gone (hot-unplugged, unbound), let go of it at
 * once so that the kernel can finish (uvio_dev_release), and stop. The
 * release breaks the queues: what is in flight fails at the workers' next
 * poll. `removed` is set first, so that they say nothing of it. A
 * back-end that went away is waited for with --reconnect.
 */
static void check_device(struct bb_shared *sh)
{
	int status;

	if (LD(&sh->removed))
		return;
	status = uvio_blk_check(sh->blk);
	if (status != -ENODEV) {
		if (sh->o->reconnect > 0)
			check_parked(sh);
		return;
	}
	__atomic_store_n(&sh->removed, 1, __ATOMIC_RELAXED);
	stop_run(sh);
	uvio_dev_release(uvio_blk_dev(sh->blk));
}

/* Watch the workers: progress each second, SIGINT, the device, the end. */
static void watch(struct bb_shared *sh, struct bb_worker *ws, unsigned n)
{
	struct bb_hist *h = malloc(3 * sizeof(*h));
	uint64_t next = sh->start_ns + TICK_NS, last_ios = 0, last_bytes = 0;
	uint64_t last_tick = sh->start_ns;
	unsigned joined = 0, naps = 0;

	if (h)
		bb_hist_init(&h[1]);
	while (!all_done(ws, n, &joined)) {
		struct timespec nap = { 0, 10 * 1000 * 1000 };
		uint64_t now;

		nanosleep(&nap, NULL);
		if (interrupted)
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
		if (++naps % CHECK_EVERY == 0)
			check_device(sh);
		now = bb_now_ns();
		if (now < next || !h)
			continue;
		progress(ws, n, &h[0], &h[1], &h[2], (double)(now - sh->start_ns) / 1e9,
			 &last_ios, &last_bytes, (double)(now - last_tick) / 1e9);
		last_tick = now;
		next += TICK_NS;
		if (next <= now)  /* after a reconnect that took seconds */
			next = now + TICK_NS;
	}
	free(h);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double tv_secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* What the process spent over the run: fio's usr_cpu, sys_cpu, ctx, majf,
 * minf. The control thread is in it too; it sleeps nearly all the time. */
static void rusage_since(const struct rusage *r0, struct bb_result *res)
{
	struct rusage r1;

	if (getrusage(RUSAGE_SELF, &r1))
		return;
	res->usr_secs = tv_secs(r1.ru_utime) - tv_secs(r0->ru_utime);
	res->sys_secs = tv_secs(r1.ru_stime) - tv_secs(r0->ru_stime);
	res->ctx = (uint64_t)(r1.ru_nvcsw + r1.ru_nivcsw - r0->ru_nvcsw - r0->ru_nivcsw);
	res->majf = (uint64_t)(r1.ru_majflt - r0->ru_majflt);
	res->minf = (uint64_t)(r1.ru_minflt - r0->ru_minflt);
}

static void collect(struct bb_worker *ws, unsigned n, struct bb_result *res)
{
	for (unsigned i = 0; i < n; i++) {
		bb_counters_merge(&res->c, &ws[i].c);
		for (unsigned d = 0; d < BB_DIRS; d++)
			bb_hist_merge(&res->lat[d], &ws[i].lat[d]);
		res->submit_failed |= ws[i].failed;
	}
}

static int run_workers(struct bb_shared *sh, struct bb_worker *ws, unsigned n,
		       struct bb_result *res)
{
	unsigned started = 0;
	struct rusage r0;
	int rc = 0;

	getrusage(RUSAGE_SELF, &r0);
	sh->start_ns = bb_now_ns();
	if (sh->o->runtime > 0)
		sh->deadline_ns = sh->start_ns + (uint64_t)(sh->o->runtime * 1e9);
	for (; started < n; started++) {
		rc = pthread_create(&ws[started].thread, NULL, bb_worker_main, &ws[started]);
		if (rc) {
			fprintf(stderr, "blkbench: pthread_create: %s\n", strerror(rc));
			__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	if (started == n) {
		watch(sh, ws, n);
	} else {
		for (unsigned i = 0; i < started; i++)
			pthread_join(ws[i].thread, NULL);
	}
	res->secs = (double)(bb_now_ns() - sh->start_ns) / 1e9;
	res->end_ms = wall_ms();
	rusage_since(&r0, res);
	collect(ws, started, res);
	res->reconnects = sh->epoch;
	if (sh->reconnect_failed)
		res->submit_failed = true;
	if (sh->removed) {
		fprintf(stderr, "blkbench: %s: device removed (%llu I/Os failed)\n",
			sh->o->dev, (unsigned long long)res->c.errors);
		res->submit_failed = true;
	}
	return rc ? 1 : 0;
}

/* The locks, and the condition the workers park on (on CLOCK_MONOTONIC,
 * as park()'s deadlines). */
static void shared_init(struct bb_shared *sh)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&sh->latlock, NULL);
	pthread_mutex_init(&sh->park_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sh->park_cv, &ca);
	pthread_condattr_destroy(&ca);
}

static void shared_fini(struct bb_shared *sh)
{
	pthread_mutex_destroy(&sh->latlock);
	pthread_cond_destroy(&sh->park_cv);
	pthread_mutex_destroy(&sh->park_lock);
}

/* The latency log and every worker; 0, or 1 with a line on stderr. */
static int set_up(struct bb_shared *sh, struct uvio_blk *blk)
{
	const struct bb_opts *o = sh->o;

	if (o->latency_log && !(sh->latlog = fopen(o->latency_log, "w"))) {
		fprintf(stderr, "blkbench: %s: %s\n", o->latency_log, strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < sh->nworkers; i++) {
		int e = worker_init(&sh->ws[i], sh, blk, i);

		if (e) {
			fprintf(stderr, "blkbench: queue %u set-up failed: %s\n", i,
				strerror(-e));
			return 1;
		}
	}
	return 0;
}

/* Every worker set up, even in part, then the log: 1 when the log could
 * not be written. */
static int tear_down(struct bb_shared *sh)
{
	int rc = 0;

	for (unsigned i = 0; sh->ws && i < sh->nworkers; i++)
		if (sh->ws[i].o)
			worker_fini(&sh->ws[i]);
	if (sh->latlog && fclose(sh->latlog)) {
		fprintf(stderr, "blkbench: %s: %s\n", sh->o->latency_log, strerror(errno));
		rc = 1;
	}
	return rc;
}

int bb_run_workload(const struct bb_opts *o, struct uvio_blk *blk,
		    const struct bb_link *link, struct bb_result *res)
{
	struct bb_shared sh = { .o = o, .blk = blk, .print_budget = DETAIL_LINES,
				.link = link ? link : &bb_dev_link,
				.active = o->queues, .nworkers = o->queues };
	struct bb_worker *ws = calloc(o->queues, sizeof(*ws));
	struct sigaction sa = { .sa_handler = on_signal };
	int rc;

	memset(res, 0, sizeof(*res));
	for (unsigned d = 0; d < BB_DIRS; d++)
		bb_hist_init(&res->lat[d]);
	sh.ws = ws;
	shared_init(&sh);
	rc = ws ? set_up(&sh, blk) : 1;
	if (!rc) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		rc = run_workers(&sh, ws, o->queues, res);
	}
	if (tear_down(&sh))
		rc = 1;
	shared_fini(&sh);
	free(ws);
	return rc;
}

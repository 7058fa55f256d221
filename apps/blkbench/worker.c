/* SPDX-License-Identifier: MIT */
/*
 * One polling thread per queue: keep iodepth requests in flight, reap
 * completions, account and verify them. The thread owns its queue, its
 * buffers and its counters; it shares only the stop flag, the latency log,
 * the budget of detail lines and, with --reconnect, the parking place.
 *
 * --reconnect: when a device's back-end goes away the library breaks
 * every queue; the poll that says so (-EIO) has already run the callbacks
 * of everything in flight with -EIO. Those requests are counted as errors,
 * kept on the worker's redo list with their buffers as they were, and the
 * worker parks: it must not touch its queue until the control thread has
 * reconnected and reinit the device (uvio_dev_reconnect). Then it takes the
 * new queue and sends the redo list first.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "completion.h"
#include "engine.h"

#define LD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)
#define LOGBUF_SIZE (64u << 10)
#define LOGLINE_MAX BB_LATLOG_LINE_MAX

static const char *const io_op_names[BB_DIRS] = {
	[BB_DIR_READ] = "read", [BB_DIR_WRITE] = "write", [BB_DIR_TRIM] = "trim",
	[BB_DIR_SYNC] = "flush",
};

static uint64_t io_offset(const struct bb_worker *w, uint64_t block)
{
	return w->o->offset + (w->first + block) * w->o->bs;
}

/* The worker's queue broke: may it wait for a reconnect? */
static bool may_reconnect(const struct bb_shared *sh)
{
	return sh->o->reconnect > 0 && sh->link->lost(sh->blk);
}

static void stop_all(struct bb_worker *w)
{
	w->failed = true;
	__atomic_store_n(&w->sh->stop, 1, __ATOMIC_RELAXED);
}

static bool detail_ok(struct bb_worker *w)
{
	unsigned left = LD(&w->sh->print_budget);

	while (left)
		if (__atomic_compare_exchange_n(&w->sh->print_budget, &left, left - 1,
						false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return true;
	return false;
}

static void count_error(struct bb_worker *w, int status)
{
	unsigned e = status < 0 ? (unsigned)-status : (unsigned)status;

	w->c.errors++;
	w->c.by_errno[e < BB_ERRNO_SLOTS ? e : BB_ERRNO_SLOTS - 1]++;
}

/* ---- latency log: lines gathered per thread, written in chunks ---- */

static void log_flush(struct bb_worker *w)
{
	if (!w->loglen)
		return;
	pthread_mutex_lock(&w->sh->latlock);
	fwrite(w->logbuf, 1, w->loglen, w->sh->latlog);
	pthread_mutex_unlock(&w->sh->latlock);
	w->loglen = 0;
}

/* fio logs no sync latencies (they are in the JSON's "sync"): neither do we. */
static void log_io(struct bb_worker *w, const struct bb_io *io)
{
	int n;

	if (!w->logbuf || io->op == BB_DIR_SYNC)
		return;
	if (w->loglen + LOGLINE_MAX > LOGBUF_SIZE)
		log_flush(w);
	n = bb_latlog_line(w->logbuf + w->loglen, LOGLINE_MAX,
			   (io->t_done - w->sh->start_ns) / 1000000, io->t_done - io->t_submit,
			   io->op, w->o->bs, io_offset(w, io->block));
	if (n > 0 && n < LOGLINE_MAX)
		w->loglen += (size_t)n;
}

/* ---- completion ---- */

/* Runs inside uvio_blk_poll: only note it; reap() does the work. */
static void io_done(void *arg, int status)
{
	struct bb_io *io = arg;
	struct bb_worker *w = io->w;

	io->status = status;
	io->t_done = bb_now_ns();
	io->next = NULL;
	*w->done_tail = io;
	w->done_tail = &io->next;
}

static void verify_read(struct bb_worker *w, const struct bb_io *io)
{
	uint64_t units = w->o->bs / w->v.unit, bad;

	if (w->written && !bb_bit_test(w->written, io->block)) {
		w->c.verify_skipped += units;
		return;
	}
	bad = bb_verify_check(&w->v, io->buf, w->o->bs, io_offset(w, io->block));
	w->c.verify_checked += units;
	w->c.verify_failed += bad;
}

/* A failed request to send again after the reconnect; its buffer still
 * holds what it wrote (a read is simply read again). */
static void keep_for_redo(struct bb_worker *w, struct bb_io *io)
{
	w->c.redo++;
	io->redo = true;
	io->next = w->redo;
	w->redo = io;
	w->in_flight--;
}

/* Counters and latency of one finished request, ok or not. */
static void account(struct bb_worker *w, const struct bb_io *io)
{
	bb_hist_add(&w->lat[io->op], io->t_done - io->t_submit);
	if (io->op == BB_DIR_SYNC) {
		w->c.flushes++;
		return;
	}
	ST(&w->c.ios, w->c.ios + 1);
	if (io->op == BB_DIR_READ)
		w->c.reads++;
	else
		w->c.writes++;
	if (!io->status) {
		ST(&w->c.bytes, w->c.bytes + w->o->bs);
		w->c.io_bytes[io->op] += w->o->bs;
	}
	if (w->busy)
		bb_bit_clear(w->busy, io->block);
}

static void io_failed(struct bb_worker *w, const struct bb_io *io, bool lost)
{
	w->c.completed_error++;
	count_error(w, io->status);
	/* A removed device fails everything, and so does a back-end that went
	 * away: the engine says it once. */
	if (!lost && !LD(&w->sh->removed) && detail_ok(w))
		fprintf(stderr, "blkbench: queue %u: %s at offset %llu failed: %s\n",
			w->id, io_op_names[io->op],
			io->op == BB_DIR_SYNC ? 0ull :
			(unsigned long long)io_offset(w, io->block),
			bb_errno_name(-io->status));
}

/* `lost`: the queue broke because the back-end went away. */
static void complete(struct bb_worker *w, struct bb_io *io, bool lost)
{
	account(w, io);
	if (io->status) {
		io_failed(w, io, lost);
	} else {
		w->c.completed_ok++;
		if (io->op == BB_DIR_READ && w->o->verify)
			verify_read(w, io);
	}
	if (io->op == BB_DIR_WRITE && w->written) {
		/* A failed write leaves the block in an unknown state. */
		if (io->status)
			bb_bit_clear(w->written, io->block);
		else
			bb_bit_set(w->written, io->block);
	}
	log_io(w, io);
	if (lost && io->status) {
		keep_for_redo(w, io);
		return;
	}
	io->next = w->free;
	w->free = io;
	w->in_flight--;
}

static void reap(struct bb_worker *w, bool lost)
{
	struct bb_io *io = w->done;

	w->done = NULL;
	w->done_tail = &w->done;
	while (io) {
		struct bb_io *next = io->next;

		complete(w, io, lost);
		io = next;
	}
}

/* ---- submission ---- */

/* The next request, on a free buffer; NULL when the budget is spent. */
static struct bb_io *pick(struct bb_worker *w)
{
	const struct bb_opts *o = w->o;
	struct bb_io *io = w->free;
	bool write;

	if (!io)
		return NULL;
	if (o->flush_every && w->writes_since_flush >= o->flush_every) {
		w->writes_since_flush = 0;
		io->op = BB_DIR_SYNC;
	} else {
		if (w->issued >= w->budget)
			return NULL;
		w->issued++;
		if (o->rw == BB_RANDRW)
			write = bb_rand_below(&w->rng, 100) >= o->rwmixread;
		else
			write = bb_rw_writes(o->rw);
		io->op = write ? BB_DIR_WRITE : BB_DIR_READ;
		io->block = bb_lbagen_next(&w->gen);
		if (write && o->verify)
			bb_verify_fill(&w->v, io->buf, o->bs, io_offset(w, io->block));
	}
	w->free = io->next;
	return io;
}

static int submit(struct bb_worker *w, struct bb_io *io)
{
	struct iovec iov = { io->buf, w->o->bs };
	uint64_t off = io_offset(w, io->block);

	io->t_submit = bb_now_ns();
	switch (io->op) {
	case BB_DIR_READ:
		return uvio_blk_read(w->q, off, &iov, 1, io_done, io);
	case BB_DIR_WRITE:
		return uvio_blk_write(w->q, off, &iov, 1, io_done, io);
	default:  /* BB_DIR_SYNC: pick() makes nothing else */
		return uvio_blk_flush(w->q, io_done, io);
	}
}

static void submit_failed(struct bb_worker *w, struct bb_io *io, int rc)
{
	count_error(w, rc);
	stop_all(w);
	if (LD(&w->sh->removed))
		return;
	fprintf(stderr, "blkbench: queue %u: submitting %s at offset %llu: %s%s%s\n",
		w->id, io_op_names[io->op], (unsigned long long)io_offset(w, io->block),
		rc == -EAGAIN ? "the request does not fit in the empty queue" :
		bb_errno_name(-rc), *uvio_blk_queue_error(w->q) ? ": " : "",
		uvio_blk_queue_error(w->q));
}

/* The oldest request first: what failed, then what the budget allows. */
static struct bb_io *next_io(struct bb_worker *w)
{
	struct bb_io *io = w->redo;

	if (w->pending)
		return w->pending;
	if (!io)
		return pick(w);
	w->redo = io->next;
	return io;
}

/* Submit until out of buffers, budget or room; how many went. */
static unsigned fill_burst(struct bb_worker *w)
{
	unsigned sent = 0;

	for (;;) {
		struct bb_io *io = next_io(w);
		int rc;

		if (!io)
			return sent;
		w->pending = io;
		/* Verify: never two requests on one block at once. */
		if (io->op != BB_DIR_SYNC && w->busy && bb_bit_test(w->busy, io->block))
			return sent;
		rc = submit(w, io);
		if (rc == -EAGAIN && w->in_flight) {
			w->c.queue_full++;
			return sent;  /* back-pressure: poll, then retry */
		}
		/* Never sent: it stays pending, the poll parks the worker. */
		if (rc == -EIO && may_reconnect(w->sh))
			return sent;
		if (rc) {
			submit_failed(w, io, rc);
			return sent;
		}
		w->c.submitted++;
		sent++;
		if (io->redo) {
			w->c.resubmitted++;
			io->redo = false;
		}
		w->pending = NULL;
		w->in_flight++;
		if (io->op == BB_DIR_WRITE)
			w->writes_since_flush++;
		if (io->op != BB_DIR_SYNC && w->busy)
			bb_bit_set(w->busy, io->block);
	}
}

/* Keep the queue full, and tell the device once for the whole burst: a
 * kick per request publishes the avail index and reads the device's event
 * index each time, cache lines the polling back-end writes on every pop. */
static void fill(struct bb_worker *w)
{
	if (!fill_burst(w))
		return;
	w->c.bursts++;
	uvio_blk_kick(w->q);
}

/* A stretch of empty polls (note_poll) is over. */
static void wait_end(struct bb_worker *w)
{
	if (w->wait_from) {
		w->c.wait_ns += bb_now_ns() - w->wait_from;
		w->wait_from = 0;
	}
}

/* After a poll that completed n: the polls that found nothing while
 * requests were out are time spent waiting for the device. Timed only
 * where a wait starts and ends, not on every empty poll. */
static void note_poll(struct bb_worker *w, int n)
{
	w->c.polls++;
	if (n == 0 && w->in_flight) {
		w->c.empty_polls++;
		if (!w->wait_from)
			w->wait_from = bb_now_ns();
		return;
	}
	wait_end(w);
}

/* The queue this worker drives, at start and after a reinit made new ones:
 * submissions notify only through fill()'s kick. */
static void take_queue(struct bb_worker *w, struct uvio_blk_queue *q)
{
	w->q = q;
	if (q)
		uvio_blk_defer_kicks(q, true);
}

static bool stopping(struct bb_worker *w)
{
	if (w->failed || LD(&w->sh->stop))
		return true;
	return w->sh->deadline_ns && bb_now_ns() >= w->sh->deadline_ns;
}

/* Until the control thread brought the device back (a new epoch) or the
 * run stops. Nothing in flight here: the failing poll completed it all. */
static void park(struct bb_worker *w)
{
	struct bb_shared *sh = w->sh;
	unsigned epoch;

	log_flush(w);
	pthread_mutex_lock(&sh->park_lock);
	if (!sh->lost_why[0])
		snprintf(sh->lost_why, sizeof(sh->lost_why), "%s",
			 uvio_blk_queue_error(w->q));
	epoch = sh->epoch;
	sh->parked++;
	while (sh->epoch == epoch && !stopping(w)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sh->park_cv, &sh->park_lock, &ts);
	}
	sh->parked--;
	if (sh->epoch != epoch)  /* reinit made new queues */
		take_queue(w, uvio_blk_get_queue(sh->blk, (uint16_t)w->id));
	pthread_mutex_unlock(&sh->park_lock);
}

static void finish(struct bb_worker *w)
{
	struct bb_shared *sh = w->sh;

	for (struct bb_io *io = w->redo; io; io = io->next)
		w->c.unrecovered++;
	if (w->pending) {  /* never submitted: back to the free list */
		w->pending->next = w->free;
		w->free = w->pending;
		w->pending = NULL;
	}
	log_flush(w);
	pthread_mutex_lock(&sh->park_lock);
	sh->active--;
	pthread_mutex_unlock(&sh->park_lock);
}

void *bb_worker_main(void *arg)
{
	struct bb_worker *w = arg;

	w->done_tail = &w->done;
	take_queue(w, w->q);
	if (bb_completion_setup(w))
		stop_all(w);
	for (;;) {
		bool stop = stopping(w);
		int n;

		if (!stop)
			fill(w);
		/* Nothing in flight after fill(): stopped, failed, or done;
		 * unless a request waits for a queue that broke (the poll
		 * below says so). */
		if (!w->in_flight && (stop || (!w->pending && !w->redo)))
			break;
		/* Everything that completed, up to the whole iodepth: fill()
		 * then sends it back as one burst with one kick. */
		n = uvio_blk_poll(w->q, w->o->iodepth);
		note_poll(w, n);
		if (n < 0 && may_reconnect(w->sh)) {
			reap(w, true);
			park(w);
			continue;
		}
		/* A removed device breaks every queue (uvio_dev_release): the
		 * engine reports that once. */
		if (n < 0 && LD(&w->sh->removed))
			stop_all(w);
		if (n < 0 && !w->failed) {
			fprintf(stderr, "blkbench: queue %u broke: %s\n", w->id,
				uvio_blk_queue_error(w->q));
			stop_all(w);
		}
		reap(w, false);
		bb_completion_wait(w, n);
	}
	wait_end(w);
	bb_completion_done(w);
	finish(w);
	return NULL;
}

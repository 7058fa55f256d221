/* SPDX-License-Identifier: MIT */
/*
 * blk_queue_loop: uvio's asynchronous block interface. It keeps QD reads
 * in flight on one queue of a virtio-blk device: submit with
 * uvio_blk_read(), collect with uvio_blk_poll() (which runs the completion
 * callbacks), submit again, until COUNT reads are done, SECONDS have passed
 * or SIGINT; then it prints the IOPS. With --verify every read is checked
 * against the offset pattern: each 8-byte little-endian word at device byte
 * offset X holds X.
 *
 *   cc blk_queue_loop.c $(pkg-config --cflags --libs uvio)
 *   blk_queue_loop vhost-user:/tmp/blk.sock --qd 32 --seconds 5
 *
 * Exit status: 0 every read done (and verified), 1 an error or a mismatch,
 * 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uvio/uvio.h>

#define PROG "blk_queue_loop"
#include "example.h"
#define MAX_QD 1024u
#define MAX_BS (2u << 20)     /* one hugepage: one contiguous DMA block */
#define DRAIN_NS 5000000000ull /* what a healthy device needs, many times over */

struct args {
	const char *dev;
	unsigned qd, bs;
	uint64_t count;        /* 0: no limit */
	double seconds;        /* 0: no limit */
	bool verify;
};

struct loop;

/* One request slot: its buffer is reused by every read it carries. */
struct io {
	struct loop *l;
	unsigned char *buf;
	uint64_t off;
	int status;
	struct io *next;       /* on the done list, or the idle list */
};

struct loop {
	const struct args *a;
	struct uvio_blk_queue *q;
	uint64_t blocks;       /* bs-sized blocks on the device */
	uint64_t rng;
	struct io *done;       /* completed, filled by the callback */
	struct io *idle;       /* free to carry the next read */
	uint64_t submitted, completed, mismatches;
	bool failed;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " DEV [--qd N] [--bs BYTES] [--count N] [--seconds S] [--verify]\n"
		"Keep N reads in flight on queue 0 of the virtio-blk device DEV (pci:BDF or\n"
		"vhost-user:PATH), at random offsets aligned to BYTES, then print the IOPS.\n"
		"  --qd N         reads in flight, 1-%u (default 32)\n"
		"  --bs BYTES     bytes per read, a multiple of the device's block (default 4096)\n"
		"  --count N      stop after N reads (default 100000 without --seconds)\n"
		"  --seconds S    stop after S seconds\n"
		"  --verify       check each read: the 8-byte word at byte X holds X\n"
		"  -h, --help     this text\n"
		"Ctrl-C stops it early. Exit status: 0 done, 1 an error or a mismatch, 2 usage.\n",
		MAX_QD);
}

static int parse_opt(int c, const char *arg, struct args *a)
{
	uint64_t v;

	switch (c) {
	case 'q':
		if (parse_u64(arg, MAX_QD, &v) || !v)
			return usage_error("--qd wants 1-1024", arg);
		a->qd = (unsigned)v;
		return -1;
	case 'b':
		if (parse_u64(arg, MAX_BS, &v) || !v || v % 512)
			return usage_error("--bs wants a multiple of 512, at most 2097152", arg);
		a->bs = (unsigned)v;
		return -1;
	case 'c':
		if (parse_u64(arg, UINT64_MAX, &a->count) || !a->count)
			return usage_error("--count wants a number above 0", arg);
		return -1;
	case 's':
		if (parse_seconds(arg, &a->seconds))
			return usage_error("--seconds wants a time above 0", arg);
		return -1;
	case 'v':
		a->verify = true;
		return -1;
	case 'h':
		usage(stdout);
		return fflush(stdout) ? 1 : 0;
	default:
		return usage_error("unknown option", NULL);
	}
}

/* -1: go on; otherwise the exit status (help, or a usage error). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longs[] = {
		{ "qd", required_argument, NULL, 'q' },
		{ "bs", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "verify", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvio_err err = { 0 };
	int c, rc;

	*a = (struct args){ .qd = 32, .bs = 4096 };
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1)
		if ((rc = parse_opt(c, optarg, a)) >= 0)
			return rc;
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	a->dev = argv[optind];
	if (uvio_spec_check(a->dev, &err))
		return usage_error(err.msg, NULL);
	if (!a->count && !a->seconds)
		a->count = 100000;
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: offsets spread over the device, the same every run. */
static uint64_t next_block(struct loop *l)
{
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	return (l->rng * 2685821657736338717ull) % l->blocks;
}

/* Runs inside uvio_blk_poll(), on this thread: only note the completion;
 * the loop verifies and resubmits once poll has returned. */
static void on_done(void *arg, int status)
{
	struct io *io = arg;

	io->status = status;
	io->next = io->l->done;
	io->l->done = io;
}

static void verify(struct loop *l, const struct io *io)
{
	for (unsigned i = 0; i < l->a->bs; i += 8) {
		uint64_t want = io->off + i, got;

		memcpy(&got, io->buf + i, 8);   /* uvio is little-endian only */
		if (got == want)
			continue;
		if (!l->mismatches++)
			fprintf(stderr, PROG ": mismatch: the word at byte %" PRIu64
				" holds 0x%" PRIx64 ", expected 0x%" PRIx64 "\n",
				want, got, want);
		return;
	}
}

static bool want_more(const struct loop *l, uint64_t deadline)
{
	if (interrupted || l->failed)
		return false;
	if (l->a->count && l->submitted >= l->a->count)
		return false;
	return !deadline || now_ns() < deadline;
}

/* Hand idle slots to the device; a full queue (-EAGAIN) waits for a poll. */
static void submit_idle(struct loop *l, uint64_t deadline)
{
	uint64_t before = l->submitted;

	while (l->idle && want_more(l, deadline)) {
		struct io *io = l->idle;
		struct iovec iov = { .iov_base = io->buf, .iov_len = l->a->bs };
		int rc;

		io->off = next_block(l) * l->a->bs;
		rc = uvio_blk_read(l->q, io->off, &iov, 1, on_done, io);
		if (rc == -EAGAIN)
			break;
		if (rc) {
			fprintf(stderr, PROG ": read of %u bytes at byte %" PRIu64
				": %s\n", l->a->bs, io->off, strerror(-rc));
			l->failed = true;
			break;
		}
		l->idle = io->next;
		l->submitted++;
	}
	/* One notification for the whole batch (kicks are deferred). */
	if (l->submitted != before)
		uvio_blk_kick(l->q);
}

static void reap(struct loop *l)
{
	while (l->done) {
		struct io *io = l->done;

		l->done = io->next;
		if (io->status) {
			const char *why = uvio_blk_queue_error(l->q);

			if (!l->failed)
				fprintf(stderr, PROG ": read at byte %" PRIu64 " failed: "
					"%s%s%s\n", io->off, strerror(-io->status),
					*why ? ": " : "", why);
			l->failed = true;
		} else {
			l->completed++;
			if (l->a->verify)
				verify(l, io);
		}
		io->next = l->idle;
		l->idle = io;
	}
}

/* Submit, poll, reap until nothing more is wanted and nothing is in
 * flight; a device that stops answering is given DRAIN_NS. */
static int run(struct loop *l)
{
	uint64_t start = now_ns(), last = start, end = 0;
	uint64_t deadline = l->a->seconds ? start + (uint64_t)(l->a->seconds * 1e9) : 0;

	for (;;) {
		int n;

		submit_idle(l, deadline);
		if (!uvio_blk_queue_in_flight(l->q))
			break;
		n = uvio_blk_poll(l->q, l->a->qd);
		if (n < 0) {
			fprintf(stderr, PROG ": the queue broke: %s\n",
				uvio_blk_queue_error(l->q));
			return -1;
		}
		reap(l);
		if (n) {
			last = now_ns();
		} else if (now_ns() - last > DRAIN_NS) {
			fprintf(stderr, PROG ": %u reads got no answer in 5 s\n",
				uvio_blk_queue_in_flight(l->q));
			return -1;
		}
	}
	end = now_ns();
	return (int)((end - start) / 1000000u);  /* ms; fits for 24 days */
}

static int loop_init(struct loop *l, struct io *ios, struct uvio_blk *blk)
{
	const struct uvio_blk_info *in = uvio_blk_get_info(blk);
	int node = uvio_dev_numa_node(uvio_blk_dev(blk));
	struct uvio_err err = { 0 };
	uint64_t iova;

	if (l->a->bs % in->block_size || in->capacity < l->a->bs) {
		fprintf(stderr, PROG ": --bs %u: the device has %u-byte blocks and "
			"%" PRIu64 " bytes\n", l->a->bs, in->block_size, in->capacity);
		return -1;
	}
	l->q = uvio_blk_get_queue(blk, 0);
	l->blocks = in->capacity / l->a->bs;
	l->rng = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < l->a->qd; i++) {
		ios[i].l = l;
		ios[i].buf = uvio_dma_alloc(l->a->bs, 4096, node, &iova, &err);
		if (!ios[i].buf) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			return -1;
		}
		ios[i].next = l->idle;
		l->idle = &ios[i];
	}
	uvio_blk_defer_kicks(l->q, true);
	return 0;
}

static void report(const struct loop *l, int ms)
{
	double s = ms > 0 ? ms / 1000.0 : 0.001;

	printf(PROG ": %" PRIu64 " reads of %u bytes at queue depth %u in %.3f s: "
	       "%.0f IOPS, %.1f MiB/s\n", l->completed, l->a->bs, l->a->qd, s,
	       (double)l->completed / s,
	       (double)l->completed * l->a->bs / s / (1 << 20));
	if (l->a->verify)
		printf(PROG ": verify: %" PRIu64 " reads checked, %" PRIu64
		       " mismatched\n", l->completed, l->mismatches);
	if (interrupted)
		printf(PROG ": stopped by SIGINT\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	struct loop l = { 0 };
	struct uvio_blk *blk;
	struct io *ios;
	struct args a;
	int rc = parse_args(argc, argv, &a), ms = -1;

	if (rc >= 0)
		return rc;
	l.a = &a;
	ios = calloc(a.qd, sizeof(*ios));
	if (!ios) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (sigaction(SIGINT, &sa, NULL)) {
		fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
		free(ios);
		return 1;
	}
	if (!open_blk(a.dev, &blk)) {
		if (!loop_init(&l, ios, blk))
			ms = run(&l);
		if (ms >= 0)
			report(&l, ms);
		/* Nothing is in flight unless run() gave up on the device;
		 * close completes whatever is, before the buffers go. */
		uvio_blk_close(blk);
	}
	for (unsigned i = 0; i < a.qd; i++)
		uvio_dma_free(ios[i].buf);
	free(ios);
	if (fflush(stdout))
		return 1;
	return ms < 0 || l.failed || l.mismatches ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The polling threads. Thread q owns queue pair q of every port (uvio's
 * rule: one thread per queue, no locks) and runs one mode over all ports.
 * Counters are written by their thread only and read by the stats line:
 * relaxed atomics, plain stores on x86.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/net.h>

#include "idle.h"
#include "pktfwd.h"

#define CACHE_SIZE    256
#define TX_RETRIES    8       /* io: tries before a frame is dropped */
#define LINEAR_MAX    65536   /* the largest frame the checker copies */

/* --count in io and rxonly: frames are claimed from a shared budget before
 * they are received, so the total is exact with any number of threads. */
static unsigned claim(struct pf_ctx *ctx, unsigned want)
{
	int_fast64_t left;

	if (!ctx->o.count)
		return want;
	left = atomic_load(&ctx->budget);
	while (left > 0) {
		int_fast64_t take = left < (int_fast64_t)want ? left : want;

		if (atomic_compare_exchange_weak(&ctx->budget, &left, left - take))
			return (unsigned)take;
	}
	return 0;
}

static void unclaim(struct pf_ctx *ctx, unsigned n)
{
	if (ctx->o.count && n)
		atomic_fetch_add(&ctx->budget, n);
}

static void handled(struct pf_ctx *ctx, unsigned n)
{
	if (ctx->o.count && n &&
	    atomic_fetch_add(&ctx->done, n) + n >= ctx->o.count)
		atomic_store(&ctx->stop, true);
}

/* A burst from port p's queue of this thread, within what --count still
 * allows: claimed, received, the unused claim given back, counted. */
static unsigned rx_claimed(struct pf_thread *t, unsigned p, struct uvio_pkt **pkts)
{
	struct pf_ctx *ctx = t->ctx;
	unsigned want = claim(ctx, ctx->o.burst), n;

	if (!want)
		return 0;
	n = uvio_net_rx_burst(ctx->port[p].net, (uint16_t)t->q, pkts, (uint16_t)want);
	unclaim(ctx, want - n);
	if (n)
		pf_count_rx(t, p, pkts, n);
	return n;
}

/* ---- io and macswap ---- */

static void mac_swap(struct uvio_pkt **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = uvio_pkt_data(pkts[i]), tmp[6];

		if (pkts[i]->data_len < 12)
			continue;
		memcpy(tmp, d, 6);
		memcpy(d, d + 6, 6);
		memcpy(d + 6, tmp, 6);
	}
}

/* Complete a partial checksum in software (spec 5.1.6.4.1: the field
 * holds the pseudo-header sum; the rest is the sum from csum_start to the
 * end). A segment at an odd offset sums byte-swapped (RFC 1071). */
static void csum_finish(struct uvio_pkt *p)
{
	uint32_t at = (uint32_t)p->csum_start + p->csum_offset, off;
	uint8_t *d = uvio_pkt_data(p);
	uint64_t sum;
	uint16_t c;

	if (p->csum_start > p->data_len || at + 2 > p->data_len)
		return;         /* headers not in the first segment: leave it */
	sum = pf_fold(pf_sum16(0, d + p->csum_start,
			       p->data_len - p->csum_start));
	off = p->data_len - p->csum_start;
	for (struct uvio_pkt *s = p->next; s; s = s->next) {
		uint16_t v = pf_fold(pf_sum16(0, uvio_pkt_data(s), s->data_len));

		sum += off & 1 ? (uint16_t)(v << 8 | v >> 8) : v;
		off += s->data_len;
	}
	c = (uint16_t)~pf_fold(sum);
	pf_put16(d + at, c ? c : 0xffff);     /* UDP: 0 means "none" */
}

/* A frame the device left with a partial checksum (NEEDS_CSUM) must leave
 * with a whole one: the out port's offload finishes it, or we do. */
static void tx_flags(struct uvio_pkt **pkts, unsigned n, bool tx_csum)
{
	for (unsigned i = 0; i < n; i++) {
		struct uvio_pkt *p = pkts[i];

		if (!(p->ol_flags & UVIO_PKT_RX_CSUM_NONE)) {
			p->ol_flags = 0;
		} else if (tx_csum) {
			p->ol_flags = UVIO_PKT_TX_CSUM;
		} else {
			csum_finish(p);
			p->ol_flags = 0;
		}
	}
}

static void fwd_loop(struct pf_thread *t)
{
	struct pf_ctx *ctx = t->ctx;
	struct uvio_pkt *pkts[PF_MAX_BURST];
	uint16_t q = (uint16_t)t->q;
	unsigned long loops = 0;
	unsigned got = 0;

	while (!pf_stopping(ctx)) {
		pf_maybe_park(t);
		if (!(++loops & PF_ERR_POLL_MASK) && pf_any_queue_broken(t))
			break;
		pf_idle_round(t, got);
		got = 0;
		for (unsigned p = 0; p < ctx->nports; p++) {
			/* Pairs 0-1, 2-3...; a port without a partner echoes. */
			unsigned d = (p ^ 1) < ctx->nports ? p ^ 1 : p;
			struct uvio_net *out = ctx->port[d].net;
			unsigned n = rx_claimed(t, p, pkts), sent = 0;
			uint64_t bytes = 0;

			if (!n)
				continue;
			got += n;
			if (ctx->o.mode == PF_MACSWAP)
				mac_swap(pkts, n);
			tx_flags(pkts, n, ctx->port[d].tx_csum);
			for (unsigned i = 0; i < n; i++)
				bytes += pkts[i]->pkt_len;
			for (int r = 0; r < TX_RETRIES && sent < n; r++)
				sent += uvio_net_tx_burst(out, q, pkts + sent,
							  (uint16_t)(n - sent));
			for (unsigned i = sent; i < n; i++)
				bytes -= pkts[i]->pkt_len;
			if (sent < n) {
				uvio_net_tx_drop(out, q, pkts + sent,
						 (uint16_t)(n - sent));
				pf_cnt_add(&t->cnt[d].drops, n - sent);
			}
			pf_cnt_add(&t->cnt[d].tx_pkts, sent);
			pf_cnt_add(&t->cnt[d].tx_bytes, bytes);
			handled(ctx, n);
		}
	}
}

/* ---- rxonly ---- */

/* Give every frame to the checker, chains made linear first. */
static void check_frames(struct pf_thread *t, struct uvio_pkt **pkts, unsigned n,
			 uint8_t *linear)
{
	for (unsigned i = 0; i < n; i++) {
		struct uvio_pkt *s = pkts[i];
		const uint8_t *f = uvio_pkt_data(s);
		size_t len = s->data_len;

		if (s->nb_segs > 1) {   /* mergeable rx chain */
			for (len = 0; s && len < LINEAR_MAX; s = s->next) {
				size_t k = s->data_len;

				if (k > LINEAR_MAX - len)
					k = LINEAR_MAX - len;
				memcpy(linear + len, uvio_pkt_data(s), k);
				len += k;
			}
			f = linear;
		}
		pf_check_frame(&t->ck, f, len,
			       pkts[i]->ol_flags & UVIO_PKT_RX_CSUM_OK,
			       pkts[i]->ol_flags & UVIO_PKT_RX_CSUM_NONE);
	}
}

static void rx_loop(struct pf_thread *t, struct uvio_pkt_cache *cache)
{
	struct pf_ctx *ctx = t->ctx;
	struct uvio_pkt *pkts[PF_MAX_BURST];
	uint8_t *linear = malloc(LINEAR_MAX);
	bool check = !ctx->o.no_check;
	unsigned long loops = 0;
	unsigned got = 0;

	if (!linear) {
		snprintf(t->error, sizeof(t->error), "out of memory");
		atomic_store(&ctx->failed, true);
		atomic_store(&ctx->stop, true);
		return;
	}
	while (!pf_stopping(ctx)) {
		pf_maybe_park(t);
		if (!(++loops & PF_ERR_POLL_MASK) && pf_any_queue_broken(t))
			break;
		pf_idle_round(t, got);
		got = 0;
		for (unsigned p = 0; p < ctx->nports; p++) {
			unsigned n = rx_claimed(t, p, pkts);

			if (!n)
				continue;
			got += n;
			if (check)
				check_frames(t, pkts, n, linear);
			uvio_pkt_free_bulk(cache, pkts, n);
			handled(ctx, n);
		}
	}
	free(linear);
}

/* ---- threads ---- */

/* The thread's queues refill from, and free sent frames into, the caches
 * the thread itself allocates from and frees into: buffers stay warm and
 * never cross the pool's lock (NULL, NULL: the queues' own again). */
static void lend_caches(struct pf_thread *t, struct uvio_pkt_cache *rx_cache,
			struct uvio_pkt_cache *tx_cache)
{
	for (unsigned p = 0; p < t->ctx->nports; p++)
		uvio_net_queue_caches(t->ctx->port[p].net, (uint16_t)t->q, rx_cache, tx_cache);
}

static void *thread_main(void *arg)
{
	struct pf_thread *t = arg;
	struct pf_ctx *ctx = t->ctx;
	struct uvio_pkt_cache *rx_cache = uvio_pkt_cache_create(ctx->pool,
								CACHE_SIZE);
	struct uvio_pkt_cache *tx_cache = ctx->tx_pool ?
		uvio_pkt_cache_create(ctx->tx_pool, CACHE_SIZE) : NULL;

	if (!rx_cache || (ctx->tx_pool && !tx_cache)) {
		snprintf(t->error, sizeof(t->error), "no packet cache");
		atomic_store(&ctx->failed, true);
		atomic_store(&ctx->stop, true);
	} else {
		/* io: the frames sent are the received ones, of the rx pool */
		lend_caches(t, rx_cache, tx_cache ? tx_cache : rx_cache);
		if (ctx->o.mode == PF_TXONLY)
			pf_tx_loop(t, rx_cache, tx_cache);
		else if (ctx->o.mode == PF_RXONLY)
			rx_loop(t, rx_cache);
		else
			fwd_loop(t);
	}
	t->end_ns = pf_now_ns();
	/* Before leaving the park: a reinit that starts once we are out may
	 * drain the queues into their caches. */
	lend_caches(t, NULL, NULL);
	uvio_pkt_cache_destroy(tx_cache);
	uvio_pkt_cache_destroy(rx_cache);
	if (ctx->park_on)
		pf_park_exit(&ctx->park);
	atomic_fetch_add(&ctx->threads_done, 1);
	return NULL;
}

int pf_threads_start(struct pf_ctx *ctx)
{
	sigset_t all, old;
	int rc = 0;

	ctx->nthreads = ctx->o.queues;
	ctx->thr = calloc(ctx->nthreads, sizeof(*ctx->thr));
	if (!ctx->thr)
		return -ENOMEM;
	atomic_init(&ctx->budget, (int_fast64_t)ctx->o.count);
	if (ctx->o.reconnect > 0) {
		if (pf_park_init(&ctx->park, ctx->nthreads))
			return -ENOMEM;
		ctx->park_on = true;
	}
	for (unsigned q = 0; q < ctx->nthreads; q++) {
		ctx->thr[q].ctx = ctx;
		ctx->thr[q].q = q;
		if (ctx->o.mode == PF_RXONLY &&
		    pf_checker_init(&ctx->thr[q].ck, 2 * ctx->o.flows))
			return -ENOMEM;
	}
	/* Signals go to the main thread only. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ctx->start_ns = pf_now_ns();
	for (unsigned q = 0; q < ctx->nthreads && !rc; q++) {
		rc = -pthread_create(&ctx->thr[q].tid, NULL, thread_main,
				     &ctx->thr[q]);
		ctx->thr[q].started = !rc;
		if (rc && ctx->park_on)
			for (unsigned k = q; k < ctx->nthreads; k++)
				pf_park_exit(&ctx->park);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void pf_threads_join(struct pf_ctx *ctx)
{
	atomic_store(&ctx->stop, true);
	ctx->end_ns = ctx->start_ns;
	for (unsigned q = 0; ctx->thr && q < ctx->nthreads; q++) {
		if (!ctx->thr[q].started)
			continue;
		pthread_join(ctx->thr[q].tid, NULL);
		ctx->thr[q].started = false;
		if (ctx->thr[q].end_ns > ctx->end_ns)
			ctx->end_ns = ctx->thr[q].end_ns;
	}
	if (ctx->park_on) {
		pf_park_fini(&ctx->park);
		ctx->park_on = false;
	}
}

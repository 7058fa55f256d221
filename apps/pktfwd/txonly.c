/* SPDX-License-Identifier: MIT */
/*
 * txonly: each thread makes frames for its queue of every port from a
 * template (frame.c), one sequence per flow, and keeps the rx rings
 * moving. Without --rate a frame the device does not take is offered
 * again; with it, a late frame is dropped (counted) to keep the pace.
 * While a port's back-end is gone (--reconnect) no frames are made for
 * it: --count N still means N frames taken by the driver.
 */
#include <stdlib.h>
#include <string.h>

#include <uvio/net.h>

#include "pktfwd.h"

struct tx_port {
	struct pf_frame_tmpl tmpl;
	struct uvio_pkt *pend[PF_MAX_BURST];
	unsigned npend;
	bool limited;               /* --count given */
	uint64_t target;            /* its share (may be 0) */
	uint64_t made;
	struct pf_tbucket tb;
	unsigned next_flow;
	uint64_t *seq;              /* per flow */
};

static void tx_port_init(struct pf_thread *t, unsigned p, struct tx_port *tp,
			 uint64_t now)
{
	struct pf_ctx *ctx = t->ctx;
	const struct pf_opts *o = &ctx->o;
	unsigned shares = ctx->nthreads * ctx->nports, me = t->q * ctx->nports + p;
	struct pf_frame_params fp = {
		.src_ip = o->src_ip, .dst_ip = o->dst_ip,
		.src_port = o->src_port, .dst_port = o->dst_port,
		.len = o->pkt_size,
	};

	memcpy(fp.src_mac, o->src_mac_set ? o->src_mac : ctx->port[p].mac, 6);
	memcpy(fp.dst_mac, o->dst_mac, 6);
	pf_tmpl_init(&tp->tmpl, &fp);
	tp->limited = o->count != 0;
	tp->target = tp->limited ? pf_share(o->count, shares, me) : 0;
	if (o->rate) {
		uint64_t rate = pf_share(o->rate, shares, me);
		/* 10 ms of credit: a thread that was descheduled or slowed
		 * for that long catches up instead of losing the time. */
		uint64_t depth = rate / 100 > o->burst ? rate / 100 : o->burst;

		if (depth > 1u << 20)
			depth = 1u << 20;

		pf_tb_init(&tp->tb, rate, depth, now);
	}
}

/* Fill pend with up to `want` fresh frames; 0 when the pool is empty. */
static unsigned tx_make(struct pf_thread *t, unsigned p, struct tx_port *tp,
			struct uvio_pkt_cache *cache, unsigned want)
{
	struct pf_ctx *ctx = t->ctx;
	bool csum = ctx->port[p].tx_csum && !ctx->o.fill_headers;

	if (!uvio_pkt_alloc_bulk(ctx->tx_pool, cache, tp->pend, want))
		return 0;
	for (unsigned i = 0; i < want; i++) {
		struct uvio_pkt *k = tp->pend[i];
		unsigned f = tp->next_flow;
		/* Flow ids are unique per port and thread: sequences stay
		 * monotonic per id whoever receives them. */
		uint32_t id = (uint32_t)p << 24 | (uint32_t)t->q << 16 | f;

		tp->next_flow = f + 1 < ctx->o.flows ? f + 1 : 0;
		if (ctx->o.fill_headers)
			pf_frame_write_headers(&tp->tmpl, uvio_pkt_data(k), (uint16_t)f);
		else
			pf_frame_write(&tp->tmpl, uvio_pkt_data(k), id, (uint16_t)f,
				       tp->seq[f]++, csum);
		k->data_len = (uint16_t)tp->tmpl.len;
		k->pkt_len = tp->tmpl.len;
		if (csum) {
			k->ol_flags = UVIO_PKT_TX_CSUM;
			k->csum_start = PF_ETH_HLEN + PF_IP_HLEN;
			k->csum_offset = 6;     /* UDP checksum field */
		}
	}
	tp->made += want;
	t->tx_generated += want;
	return want;
}

static bool tx_port_done(const struct tx_port *tp)
{
	return tp->limited && tp->made == tp->target && !tp->npend;
}

/* Each port's state for this thread; NULL when out of memory. */
static struct tx_port *tx_ports_new(struct pf_thread *t)
{
	struct pf_ctx *ctx = t->ctx;
	struct tx_port *tp = calloc(ctx->nports, sizeof(*tp));
	uint64_t now = pf_now_ns();

	for (unsigned p = 0; tp && p < ctx->nports; p++) {
		tp[p].seq = calloc(ctx->o.flows, sizeof(uint64_t));
		if (!tp[p].seq) {
			for (unsigned i = 0; i < p; i++)
				free(tp[i].seq);
			free(tp);
			return NULL;
		}
		tx_port_init(t, p, &tp[p], now);
	}
	return tp;
}

/* Made and never sent (the run stopped first): dropped. */
static void tx_ports_free(struct pf_thread *t, struct tx_port *tp)
{
	struct pf_ctx *ctx = t->ctx;

	for (unsigned p = 0; p < ctx->nports; p++) {
		if (tp[p].npend) {
			uvio_net_tx_drop(ctx->port[p].net, (uint16_t)t->q, tp[p].pend,
					 (uint16_t)tp[p].npend);
			pf_cnt_add(&t->cnt[p].drops, tp[p].npend);
		}
		free(tp[p].seq);
	}
	free(tp);
}

/* Keep the rx ring moving: what comes in is counted and let go. */
static void rx_drain(struct pf_thread *t, unsigned p, struct uvio_pkt_cache *cache)
{
	struct pf_ctx *ctx = t->ctx;
	struct uvio_pkt *rx[PF_MAX_BURST];
	unsigned n = uvio_net_rx_burst(ctx->port[p].net, (uint16_t)t->q, rx,
				       (uint16_t)ctx->o.burst);

	if (n) {
		pf_count_rx(t, p, rx, n);
		uvio_pkt_free_bulk(cache, rx, n);
	}
}

/* Nothing pending: the next burst, as big as --count and --rate allow. */
static void tx_refill(struct pf_thread *t, unsigned p, struct tx_port *x,
		      struct uvio_pkt_cache *cache)
{
	const struct pf_opts *o = &t->ctx->o;
	unsigned want = o->burst;

	if (x->limited && x->target - x->made < want)
		want = (unsigned)(x->target - x->made);
	if (want && o->rate)
		want = pf_tb_take(&x->tb, want, pf_now_ns());
	if (want)
		x->npend = tx_make(t, p, x, cache, want);
}

/* Offer what is pending; the rest is offered again, or dropped when paced:
 * a late frame would break the rate. */
static void tx_send(struct pf_thread *t, unsigned p, struct tx_port *x)
{
	struct pf_ctx *ctx = t->ctx;
	struct uvio_net *net = ctx->port[p].net;
	uint16_t q = (uint16_t)t->q;
	unsigned sent = uvio_net_tx_burst(net, q, x->pend, (uint16_t)x->npend);

	pf_cnt_add(&t->cnt[p].tx_pkts, sent);
	pf_cnt_add(&t->cnt[p].tx_bytes, (uint64_t)sent * x->tmpl.len);
	x->npend -= sent;
	if (x->npend && ctx->o.rate) {
		uvio_net_tx_drop(net, q, x->pend + sent, (uint16_t)x->npend);
		pf_cnt_add(&t->cnt[p].drops, x->npend);
		x->npend = 0;
	} else if (x->npend) {
		memmove(x->pend, x->pend + sent, x->npend * sizeof(x->pend[0]));
	}
}

/* One turn on port p; true when the port has made and sent its share. */
static bool tx_port_turn(struct pf_thread *t, unsigned p, struct tx_port *x,
			 struct uvio_pkt_cache *rx_cache,
			 struct uvio_pkt_cache *tx_cache)
{
	if (pf_port_lost(t->ctx, p))
		return tx_port_done(x);
	rx_drain(t, p, rx_cache);
	if (!x->npend)
		tx_refill(t, p, x, tx_cache);
	if (x->npend)
		tx_send(t, p, x);
	return tx_port_done(x);
}

void pf_tx_loop(struct pf_thread *t, struct uvio_pkt_cache *rx_cache,
		struct uvio_pkt_cache *tx_cache)
{
	struct pf_ctx *ctx = t->ctx;
	struct tx_port *tp = tx_ports_new(t);
	unsigned long loops = 0;
	unsigned done = 0;

	if (!tp) {
		snprintf(t->error, sizeof(t->error), "out of memory");
		atomic_store(&ctx->failed, true);
		atomic_store(&ctx->stop, true);
		return;
	}
	while (!pf_stopping(ctx) && done < ctx->nports) {
		pf_maybe_park(t);
		if (!(++loops & PF_ERR_POLL_MASK) && pf_any_queue_broken(t))
			break;
		done = 0;
		for (unsigned p = 0; p < ctx->nports; p++)
			done += tx_port_turn(t, p, &tp[p], rx_cache, tx_cache);
	}
	tx_ports_free(t, tp);
}

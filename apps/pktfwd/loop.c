/* SPDX-License-Identifier: MIT */
/*
 * What every mode's polling loop shares (engine.c's io, macswap and rxonly,
 * txonly.c's generator): the clock, the broken-queue check, parking for
 * --reconnect and counting (and capturing) what was received. Below both,
 * so that neither calls the other for it.
 */
#include <stdio.h>
#include <time.h>

#include <uvio/dev.h>
#include <uvio/net.h>

#include "pktfwd.h"

uint64_t pf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool pf_port_lost(const struct pf_ctx *ctx, unsigned p)
{
	return ctx->o.reconnect > 0 && ctx->port[p].can_reconnect &&
	       !uvio_dev_connected(uvio_net_dev(ctx->port[p].net));
}

/* A queue broke (the driver says why): stop everything, exit 1; unless
 * its back-end went away and main.c is bringing it back (--reconnect). */
static bool queue_broken(struct pf_thread *t, unsigned p)
{
	struct pf_ctx *ctx = t->ctx;
	const char *why = uvio_net_queue_error(ctx->port[p].net, (uint16_t)t->q);

	if (!why || !*why || pf_port_lost(ctx, p))
		return false;
	snprintf(t->error, sizeof(t->error), "%s queue %u: %s",
		 ctx->port[p].name, t->q, why);
	atomic_store(&ctx->failed, true);
	atomic_store(&ctx->stop, true);
	return true;
}

bool pf_any_queue_broken(struct pf_thread *t)
{
	for (unsigned p = 0; p < t->ctx->nports; p++)
		if (queue_broken(t, p))
			return true;
	return false;
}

/* Frames this thread handed to a port that is about to be reinit and not
 * yet reclaimed are lost (uvio_net_reinit frees them). */
void pf_park_thread(struct pf_thread *t)
{
	struct pf_ctx *ctx = t->ctx;

	for (unsigned p = 0; p < ctx->nports; p++)
		if (atomic_load(&ctx->port[p].resetting))
			pf_cnt_add(&t->cnt[p].lost,
				   uvio_net_tx_pending(ctx->port[p].net,
						       (uint16_t)t->q));
	pf_park_here(&ctx->park, &ctx->stop);
}

static void capture(struct pf_ctx *ctx, struct uvio_pkt **pkts, unsigned n)
{
	const void *seg[64];
	uint32_t len[64];

	for (unsigned i = 0; i < n && !pf_pcap_full(&ctx->pcap); i++) {
		unsigned k = 0;

		for (struct uvio_pkt *s = pkts[i]; s && k < 64; s = s->next, k++) {
			seg[k] = uvio_pkt_data(s);
			len[k] = s->data_len;
		}
		pf_pcap_write(&ctx->pcap, seg, len, k, pkts[i]->pkt_len, wall_ns());
	}
}

void pf_count_rx(struct pf_thread *t, unsigned p, struct uvio_pkt **pkts,
		 unsigned n)
{
	uint64_t bytes = 0;

	for (unsigned i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	pf_cnt_add(&t->cnt[p].rx_pkts, n);
	pf_cnt_add(&t->cnt[p].rx_bytes, bytes);
	if (t->ctx->pcap_on)
		capture(t->ctx, pkts, n);
}

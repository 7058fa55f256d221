/* SPDX-License-Identifier: MIT */
/*
 * The net PMD's own cost, without a back-end's speed in the figure: tx and
 * rx bursts of 32 against the in-process virtio-net model (tests/model),
 * split and packed. The model serves each kick at once, on the same core,
 * so the ring is never full and nothing is polled in vain.
 *
 * Under `valgrind --tool=callgrind`, the self cost of the functions in
 * pmd/ and lib/ divided by the frames moved is the driver's instructions
 * per frame (bench/net --callgrind does that sum); run plain, it prints
 * frames per second for driver and model together.
 *
 *   net_model_bench [-n FRAMES] [-s SIZE] [-d tx|rx] [-l split|packed]
 *                   [--in-order]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uvio/dma.h>
#include <uvio/net.h>

#include "../tests/model/model_dev.h"

#define BURST 32

struct opts {
	unsigned long frames;
	unsigned size;
	bool rx, packed, in_order;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "in-order", no_argument, NULL, 'i' }, { 0 } };
	int c;

	*o = (struct opts){ .frames = 2000000, .size = 64 };
	while ((c = getopt_long(argc, argv, "n:s:d:l:", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->frames = strtoul(optarg, NULL, 0); break;
		case 's': o->size = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'd': o->rx = !strcmp(optarg, "rx"); break;
		case 'l': o->packed = !strcmp(optarg, "packed"); break;
		case 'i': o->in_order = true; break;
		default: return -1;
		}
	}
	if (!o->frames || o->size < 60 || o->size > 1514) {
		fprintf(stderr, "net_model_bench: -n > 0 and -s 60..1514\n");
		return -1;
	}
	return 0;
}

static struct model_net *open_net(const struct opts *o, struct uvio_pktpool *pool,
				  struct uvio_net **net)
{
	struct model_net_cfg cfg = {
		.features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_MRG_RXBUF,
		.packed = o->packed, .in_order = o->in_order,
		.status = VIRTIO_NET_S_LINK_UP,
	};
	struct uvio_net_opts no = { .rx_pool = pool };
	struct uvio_dev *dev = NULL;
	struct uvio_err err = { 0 };
	struct model_net *mn = model_net_create(&cfg, &dev);

	if (!mn || uvio_net_open(dev, &no, net, &err)) {
		fprintf(stderr, "net_model_bench: open: %s\n", err.msg);
		model_net_put(mn);
		return NULL;
	}
	return mn;
}

static unsigned long run_tx(const struct opts *o, struct uvio_net *net,
			    struct model_net *mn, struct uvio_pktpool *pool,
			    struct uvio_pkt_cache *cache)
{
	struct uvio_pkt *pkts[BURST];
	unsigned long done = 0;

	while (done < o->frames) {
		unsigned n = 0;

		if (!uvio_pkt_alloc_bulk(pool, cache, pkts, BURST))
			break;
		for (unsigned i = 0; i < BURST; i++) {
			memset(uvio_pkt_data(pkts[i]), 0xab, 16);
			pkts[i]->data_len = (uint16_t)o->size;
			pkts[i]->pkt_len = o->size;
		}
		n = uvio_net_tx_burst(net, 0, pkts, BURST);
		if (n < BURST)
			uvio_net_tx_drop(net, 0, pkts + n, (uint16_t)(BURST - n));
		done += n;
		model_net_tx_clear(mn);  /* the model's capture, not the driver's cost */
		if (!n)
			break;
	}
	return done;
}

static unsigned long run_rx(const struct opts *o, struct uvio_net *net,
			    struct model_net *mn, struct uvio_pkt_cache *cache)
{
	static uint8_t frame[1514];
	struct uvio_pkt *pkts[BURST];
	unsigned long done = 0;

	while (done < o->frames) {
		unsigned n;

		for (unsigned i = 0; i < BURST; i++)
			model_net_rx_inject(mn, 0, frame, o->size, NULL);
		n = uvio_net_rx_burst(net, 0, pkts, BURST);
		uvio_pkt_free_bulk(cache, pkts, n);
		done += n;
		if (!n)
			break;
	}
	return done;
}

int main(int argc, char **argv)
{
	struct uvio_err err = { 0 };
	struct uvio_pktpool *pool = NULL;
	struct uvio_pkt_cache *cache;
	struct uvio_net *net = NULL;
	struct model_net *mn;
	struct opts o;
	unsigned long done;
	double t0, t;

	if (parse(argc, argv, &o))
		return 2;
	/* The model reads buffers at their IOVA: 4K pinned memory, VA mode. */
	if (uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED }, &err) ||
	    uvio_pktpool_create("bench", 4096, 2048, -1, &pool, &err)) {
		fprintf(stderr, "net_model_bench: %s\n", err.msg);
		return 1;
	}
	cache = uvio_pkt_cache_create(pool, 256);
	mn = open_net(&o, pool, &net);
	if (!cache || !mn)
		return 1;
	t0 = now();
	done = o.rx ? run_rx(&o, net, mn, cache) : run_tx(&o, net, mn, pool, cache);
	t = now() - t0;
	printf("%s %s%s %u B: %lu frames, %.2f Mframes/s (driver and model on one core)\n",
	       o.rx ? "rx" : "tx", o.packed ? "packed" : "split",
	       o.in_order ? " in-order" : "", o.size, done, (double)done / t / 1e6);
	uvio_net_close(net);
	model_net_put(mn);
	uvio_pkt_cache_destroy(cache);
	uvio_pktpool_destroy(pool);
	return done == o.frames ? 0 : 1;
}

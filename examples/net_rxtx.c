/* SPDX-License-Identifier: MIT */
/*
 * net_rxtx: uvio's packet interface. It opens a virtio-net device with a
 * packet pool for its receive ring, lends queue pair 0 this thread's pool
 * cache, and runs one poll loop in one of three modes:
 *   echo    every frame received goes back out, MAC addresses swapped;
 *   txonly  makes --size byte frames and sends them;
 *   rxonly  receives frames and frees them.
 * It stops after --count frames (received in echo and rxonly, sent in
 * txonly), after --seconds, or on SIGINT, waits until what it sent has
 * left, and prints its counts and the driver's.
 *
 *   cc net_rxtx.c $(pkg-config --cflags --libs uvio)
 *   net_rxtx vhost-user:/tmp/net.sock --mode txonly --count 100000
 *
 * Exit status: 0 done, 1 an error, 2 usage.
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

#define PROG "net_rxtx"
#include "example.h"
#define BURST 32
/* The pool holds both rings (QEMU's largest is 1024 entries), the cache
 * (up to twice its size) and a burst in our hands. */
#define POOL_COUNT 4096
#define CACHE_SIZE 256
#define DATA_ROOM 2048        /* longer frames arrive as chains (mergeable rx) */
#define MIN_FRAME 60          /* Ethernet without the FCS */
#define MAX_FRAME 1514
#define ETHERTYPE 0x88b5      /* IEEE 802 local experimental */
#define DRAIN_NS 5000000000ull

enum mode { ECHO, TXONLY, RXONLY };

struct args {
	const char *dev;
	enum mode mode;
	uint64_t count;         /* 0: no limit */
	double seconds;         /* 0: no limit */
	unsigned size;
};

struct port {
	struct uvio_net *net;
	struct uvio_pktpool *pool;
	struct uvio_pkt_cache *cache;
	uint8_t mac[6];
	uint64_t rx, tx, drops, tx_bytes;
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
		"usage: " PROG " DEV [--mode echo|txonly|rxonly] [--count N] [--seconds S] [--size BYTES]\n"
		"Run one poll loop on queue pair 0 of the virtio-net device DEV (pci:BDF or\n"
		"vhost-user:PATH).\n"
		"  --mode M       echo (default): send each frame back, MACs swapped;\n"
		"                 txonly: send frames; rxonly: receive and drop\n"
		"  --count N      stop after N frames (received; sent for txonly)\n"
		"  --seconds S    stop after S seconds\n"
		"  --size BYTES   txonly frame size, %u-%u (default 64)\n"
		"  -h, --help     this text\n"
		"Ctrl-C stops it. Exit status: 0 done, 1 an error, 2 usage.\n",
		MIN_FRAME, MAX_FRAME);
}

static int parse_opt(int c, const char *arg, struct args *a)
{
	uint64_t v;

	switch (c) {
	case 'm':
		if (!strcmp(arg, "echo"))
			a->mode = ECHO;
		else if (!strcmp(arg, "txonly"))
			a->mode = TXONLY;
		else if (!strcmp(arg, "rxonly"))
			a->mode = RXONLY;
		else
			return usage_error("--mode wants echo, txonly or rxonly", arg);
		return -1;
	case 'c':
		if (parse_u64(arg, UINT64_MAX, &a->count) || !a->count)
			return usage_error("--count wants a number above 0", arg);
		return -1;
	case 's':
		if (parse_seconds(arg, &a->seconds))
			return usage_error("--seconds wants a time above 0", arg);
		return -1;
	case 'z':
		if (parse_u64(arg, MAX_FRAME, &v) || v < MIN_FRAME)
			return usage_error("--size wants 60-1514", arg);
		a->size = (unsigned)v;
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
		{ "mode", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct uvio_err err = { 0 };
	int c, rc;

	*a = (struct args){ .mode = ECHO, .size = 64 };
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
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The pool comes first: the driver fills its receive ring from it. */
static int port_open(const struct args *a, struct port *p)
{
	struct uvio_err err = { 0 };
	struct uvio_net_opts no = { 0 };
	struct uvio_dev *dev;
	const struct uvio_net_info *in;

	if (uvio_open(a->dev, &dev, &err))
		goto fail;
	if (uvio_pktpool_create(PROG, POOL_COUNT, DATA_ROOM, uvio_dev_numa_node(dev),
				&p->pool, &err)) {
		uvio_dev_destroy(dev);
		goto fail;
	}
	no.rx_pool = p->pool;
	/* uvio_net_open takes the device over, and closes it when it fails. */
	if (uvio_net_open(dev, &no, &p->net, &err))
		goto fail;
	in = uvio_net_get_info(p->net);
	/* Without a MAC in its config (vhost-user), a locally administered one. */
	memcpy(p->mac, in->has_mac ? in->mac : (const uint8_t[6]){ 2, 0, 0, 0, 0, 1 }, 6);
	fprintf(stderr, PROG ": %s: %02x:%02x:%02x:%02x:%02x:%02x, %s rings of %u/%u, "
		"mergeable rx %s\n", a->dev, p->mac[0], p->mac[1], p->mac[2],
		p->mac[3], p->mac[4], p->mac[5], in->packed ? "packed" : "split",
		in->rx_queue_size, in->tx_queue_size, in->mrg_rxbuf ? "on" : "off");
	return 0;
fail:
	fprintf(stderr, PROG ": %s\n", err.msg);
	return -1;
}

/* Refills and sent frames then go through this thread's cache, without
 * the pool's lock. */
static int port_lend_cache(struct port *p)
{
	int rc;

	p->cache = uvio_pkt_cache_create(p->pool, CACHE_SIZE);
	if (!p->cache) {
		fprintf(stderr, PROG ": no memory for a packet cache\n");
		return -1;
	}
	rc = uvio_net_queue_caches(p->net, 0, p->cache, p->cache);
	if (rc) {
		fprintf(stderr, PROG ": lending queue pair 0 the cache: %s\n", strerror(-rc));
		return -1;
	}
	return 0;
}

/* Close in the reverse order: the caches are given back before they go,
 * and the pool goes last, once the driver has returned every buffer. */
static void port_close(struct port *p)
{
	if (p->net && p->cache)
		uvio_net_queue_caches(p->net, 0, NULL, NULL);
	if (p->cache)
		uvio_pkt_cache_destroy(p->cache);
	if (p->net)
		uvio_net_close(p->net);
	if (p->pool)
		uvio_pktpool_destroy(p->pool);
}

static void mac_swap(struct uvio_pkt **pkts, unsigned n, const uint8_t mac[6])
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *eth = uvio_pkt_data(pkts[i]);

		memcpy(eth, eth + 6, 6);
		memcpy(eth + 6, mac, 6);
		pkts[i]->ol_flags = 0;  /* rx flags are no tx requests */
	}
}

/* Broadcast, from us, a sequence number after the Ethernet header. */
static void frame_fill(struct uvio_pkt *k, const uint8_t mac[6], unsigned size,
		       uint64_t seq)
{
	uint8_t *f = uvio_pkt_data(k);

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	memcpy(f + 14, &seq, sizeof(seq));
	memset(f + 14 + sizeof(seq), 0, size - 14 - sizeof(seq));
	k->data_len = (uint16_t)size;
	k->pkt_len = size;
}

static unsigned burst_left(const struct args *a, uint64_t done)
{
	return a->count && a->count - done < BURST ? (unsigned)(a->count - done) : BURST;
}

/* txonly: a frame the device does not take now is offered again later,
 * so that --count frames really leave. */
static void tx_some(const struct args *a, struct port *p)
{
	struct uvio_pkt *pkts[BURST];
	unsigned n = burst_left(a, p->tx), sent;

	if (!n || !uvio_pkt_alloc_bulk(p->pool, p->cache, pkts, n))
		return;   /* the pool is empty until the device sends some */
	for (unsigned i = 0; i < n; i++)
		frame_fill(pkts[i], p->mac, a->size, p->tx + i);
	sent = uvio_net_tx_burst(p->net, 0, pkts, (uint16_t)n);
	uvio_pkt_free_bulk(p->cache, pkts + sent, n - sent);
	p->tx += sent;
	p->tx_bytes += (uint64_t)sent * a->size;
}

/* echo and rxonly take frames; txonly keeps the rx ring moving too. */
static void rx_some(const struct args *a, struct port *p)
{
	struct uvio_pkt *pkts[BURST];
	unsigned n = uvio_net_rx_burst(p->net, 0, pkts,
				       (uint16_t)(a->mode == TXONLY ? BURST : burst_left(a, p->rx)));
	unsigned sent = 0;

	if (!n)
		return;
	p->rx += n;
	if (a->mode != ECHO) {
		uvio_pkt_free_bulk(p->cache, pkts, n);
		return;
	}
	mac_swap(pkts, n, p->mac);
	for (unsigned i = 0; i < n; i++)
		p->tx_bytes += pkts[i]->pkt_len;
	sent = uvio_net_tx_burst(p->net, 0, pkts, (uint16_t)n);
	for (unsigned i = sent; i < n; i++)
		p->tx_bytes -= pkts[i]->pkt_len;
	/* A full tx ring drops the rest, as a forwarder would, and counts it. */
	uvio_net_tx_drop(p->net, 0, pkts + sent, (uint16_t)(n - sent));
	p->tx += sent;
	p->drops += n - sent;
}

static bool counted_out(const struct args *a, const struct port *p)
{
	return a->count && (a->mode == TXONLY ? p->tx : p->rx) >= a->count;
}

/* Wait until everything handed to the device has left it. */
static int tx_drain(struct port *p)
{
	uint64_t until = now_ns() + DRAIN_NS;
	unsigned left;

	while ((left = uvio_net_tx_pending(p->net, 0)) && now_ns() < until)
		;
	if (left)
		fprintf(stderr, PROG ": %u frames still queued after 5 s\n", left);
	return left ? -1 : 0;
}

static int run(const struct args *a, struct port *p, uint64_t *ns)
{
	uint64_t start = now_ns(), first = 0;
	uint64_t deadline = a->seconds ? start + (uint64_t)(a->seconds * 1e9) : 0;
	const char *why;

	for (unsigned long loops = 1; !interrupted && !counted_out(a, p); loops++) {
		if (a->mode == TXONLY)
			tx_some(a, p);
		rx_some(a, p);
		/* The rate counts from the first frame, not from the wait for it. */
		if (!first && (p->rx || p->tx))
			first = now_ns();
		/* The cheap checks, every 1024 rounds: the clock, the queue. */
		if (loops % 1024)
			continue;
		if (deadline && now_ns() >= deadline)
			break;
		why = uvio_net_queue_error(p->net, 0);
		if (*why)
			break;
	}
	*ns = first ? now_ns() - first : 0;
	why = uvio_net_queue_error(p->net, 0);
	if (*why) {
		fprintf(stderr, PROG ": queue pair 0 broke: %s\n", why);
		return -1;
	}
	return tx_drain(p);
}

static void report(const struct port *p, uint64_t ns)
{
	struct uvio_net_queue_stats st;
	uint64_t frames = p->rx > p->tx ? p->rx : p->tx;
	double s = ns / 1e9, mpps = ns ? (double)frames / s / 1e6 : 0;

	printf(PROG ": rx %" PRIu64 " frames, tx %" PRIu64 " frames (%" PRIu64
	       " bytes), dropped %" PRIu64 ", in %.6f s from the first (%.3f Mpps)\n", p->rx, p->tx,
	       p->tx_bytes, p->drops, s, mpps);
	if (uvio_net_get_stats(p->net, 0, &st) == 0)
		printf(PROG ": driver: rx_packets %" PRIu64 " tx_packets %" PRIu64
		       " tx_drops %" PRIu64 " rx_nobuf %" PRIu64 "\n", st.rx_packets,
		       st.tx_packets, st.tx_drops, st.rx_nobuf);
	if (interrupted)
		printf(PROG ": stopped by SIGINT\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigint };
	struct port p = { 0 };
	struct args a;
	uint64_t ns = 0;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if (sigaction(SIGINT, &sa, NULL)) {
		fprintf(stderr, PROG ": sigaction: %s\n", strerror(errno));
		return 1;
	}
	rc = port_open(&a, &p) || port_lend_cache(&p) || run(&a, &p, &ns) ? 1 : 0;
	if (p.net)
		report(&p, ns);
	port_close(&p);
	if (fflush(stdout))
		rc = 1;
	return rc;
}

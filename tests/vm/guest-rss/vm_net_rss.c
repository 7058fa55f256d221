/* SPDX-License-Identifier: MIT */
/*
 * Guest half of tests/vm/run-rss: RSS and hash report on QEMU's
 * virtio-net-pci,mq=on,rss=on,hash=on, driven by uvio over VFIO.
 *
 *   vm_net_rss DEV N READY DONE
 *     opens DEV with 2 queue pairs and UVIO_NET_OFF_RSS (so open programs
 *     the key and a table of pair i % 2 at entry i: pmd/net/rss.c),
 *     creates the file READY, then receives on both pairs until N frames
 *     came or 2 s after the file DONE appears. Prints "CHECK ok|fail ..."
 *     lines:
 *       RSS and HASH_REPORT negotiated, RSS in effect;
 *       all N frames received, both pairs got some;
 *       every frame carries a hash (UVIO_PKT_RX_RSS_HASH);
 *       each frame arrived on the pair the table gives its hash
 *       (table[hash % 128] = (hash % 128) % 2, spec 5.1.6.4.3.3), so the
 *       device used uvio's table, not its own steering.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include <uvio/uvio.h>

#define BURST 32

static int checks_failed;

static void check(int ok, const char *what, const char *fmt, unsigned long long a,
		  unsigned long long b)
{
	printf("CHECK %s %s: ", ok ? "ok" : "fail", what);
	printf(fmt, a, b);
	printf("\n");
	checks_failed += !ok;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct tally {
	unsigned long long rx[2], hashed, wrong_pair;
};

static void receive(struct uvio_net *net, unsigned long long want, const char *done,
		    struct tally *t)
{
	double until = 0, stop = now_s() + 300;

	while (t->rx[0] + t->rx[1] < want && now_s() < stop) {
		if (!until && access(done, F_OK) == 0)
			until = now_s() + 2;
		if (until && now_s() > until)
			break;
		for (uint16_t q = 0; q < 2; q++) {
			struct uvio_pkt *p[BURST];
			uint16_t n = uvio_net_rx_burst(net, q, p, BURST);

			for (uint16_t i = 0; i < n; i++) {
				if (!(p[i]->ol_flags & UVIO_PKT_RX_RSS_HASH))
					continue;
				t->hashed++;
				t->wrong_pair += (p[i]->rss_hash % 128) % 2 != q;
			}
			t->rx[q] += n;
			uvio_pkt_free_bulk(NULL, p, n);
		}
	}
}

int main(int argc, char **argv)
{
	struct uvio_net_opts no = { .queue_pairs = 2, .offloads = UVIO_NET_OFF_RSS };
	const struct uvio_net_info *in;
	struct uvio_err err = { 0 };
	struct uvio_pktpool *pool;
	struct uvio_dev *dev;
	struct uvio_net *net;
	struct tally t = { { 0, 0 }, 0, 0 };
	unsigned long long want;
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: vm_net_rss DEV N READY DONE\n");
		return 2;
	}
	want = strtoull(argv[2], NULL, 10);
	if (getenv("NO_RSS"))
		no.offloads = 0;  /* debugging: the device's own steering */
	/* The device first, as pktfwd does: it fixes the IOVA mode the pool's
	 * addresses are made in. */
	if (uvio_open(argv[1], &dev, &err) ||
	    uvio_pktpool_create("rss", 4096, 2048, -1, &pool, &err) ||
	    (no.rx_pool = pool, 0) || uvio_net_open(dev, &no, &net, &err)) {
		printf("CHECK fail open %s: %s\n", argv[1], err.msg);
		return 1;
	}
	in = uvio_net_get_info(net);
	check((in->features >> VIRTIO_NET_F_RSS & 1) && (in->features >> VIRTIO_NET_F_HASH_REPORT & 1) &&
	      (in->offloads & UVIO_NET_OFF_RSS) && in->queue_pairs == 2,
	      "guest: RSS and HASH_REPORT negotiated, RSS in effect on 2 pairs",
	      "features %#llx, %llu pairs", (unsigned long long)in->features,
	      (unsigned long long)in->queue_pairs);
	f = fopen(argv[3], "w");
	if (f)
		fclose(f);
	receive(net, want, argv[4], &t);
	check(t.rx[0] + t.rx[1] == want && t.rx[0] && t.rx[1],
	      "guest: every injected frame received, on both pairs",
	      "pair 0 %llu, pair 1 %llu", t.rx[0], t.rx[1]);
	check(t.hashed == t.rx[0] + t.rx[1] && t.hashed,
	      "guest: every frame carries the device's hash (HASH_REPORT)",
	      "%llu hashed of %llu", t.hashed, t.rx[0] + t.rx[1]);
	check(t.hashed && !t.wrong_pair,
	      "guest: each frame came on the pair uvio's indirection table gives its hash",
	      "%llu on the wrong pair of %llu", t.wrong_pair, t.hashed);
	for (uint16_t q = 0; q < 2; q++) {
		struct uvio_net_queue_stats st;

		if (!uvio_net_get_stats(net, q, &st))
			printf("pair %u: rx %llu errors %llu nobuf %llu\n", q,
			       (unsigned long long)st.rx_packets,
			       (unsigned long long)st.rx_errors,
			       (unsigned long long)st.rx_nobuf);
	}
	uvio_net_close(net);
	uvio_pktpool_destroy(pool);
	return checks_failed ? 1 : 0;
}

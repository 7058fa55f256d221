/* SPDX-License-Identifier: MIT */
/*
 * Host-test helper: virtio-net multiqueue and the emulated control queue
 * over vhost-user (lib/vhost_user/vu_ctrl.c), against a back-end that
 * sends and receives on every queue (testpmd flowgen on net_vhost).
 *
 *   vu_net_mq DEV
 *     opens DEV with 2 queue pairs, then prints one line per control call,
 *     "ctrl NAME RC MESSAGE" (promisc, allmulti, mac, mac_tables, vlan,
 *     rss), and three traffic phases of 1 s each, polling rx and sending
 *     60-byte frames on both pairs:
 *       "phase 2 rx0 R rx1 R tx0 T tx1 T"   both pairs in use
 *       "phase 1 ..."                       after set_queue_pairs(1)
 *       "phase 2again ..."                  after set_queue_pairs(2)
 *     Before each counted phase 0.3 s go uncounted, so that what was in
 *     flight settles (a disabled pair's tx ring fills and then takes no
 *     more). tx counts frames the device gave back (sent).
 *   vu_net_mq DEV reconnect
 *     the same, then prints "waiting" and waits (30 s at most) for the
 *     back-end to go away, reconnects (uvio_vhost_user_reconnect, 30 s,
 *     then uvio_net_reinit) and prints "reconnected RC MESSAGE" and
 *     "phase reconnected ...": both pairs run again.
 * Exit 0 when the calls returned and the phases ran; the suite judges.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uvio/uvio.h>

#define BURST 32

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct counts {
	uint64_t rx[2], tx[2];
};

/* Send one burst of broadcast IPv4-typed frames on pair q; count what
 * the device finished (pending went down). */
static void send_some(struct uvio_net *net, struct uvio_pktpool *pool, uint16_t q,
		      struct counts *c, unsigned *pending)
{
	struct uvio_pkt *p[BURST];
	unsigned now = uvio_net_tx_pending(net, q);
	uint16_t n;

	if (now < *pending)
		c->tx[q] += *pending - now;
	*pending = now;
	if (now > 128 || uvio_pkt_alloc_bulk(pool, NULL, p, BURST) != BURST)
		return;
	for (unsigned i = 0; i < BURST; i++) {
		uint8_t *f = uvio_pkt_data(p[i]);

		memset(f, 0, 60);
		memset(f, 0xff, 6);
		memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
		f[12] = 0x08;
		p[i]->data_len = 60;
		p[i]->pkt_len = 60;
	}
	n = uvio_net_tx_burst(net, q, p, BURST);
	*pending += n;
	if (n < BURST)
		uvio_net_tx_drop(net, q, p + n, (uint16_t)(BURST - n));
}

static void run(struct uvio_net *net, struct uvio_pktpool *pool, double secs,
		struct counts *c)
{
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	unsigned pending[2] = { uvio_net_tx_pending(net, 0), uvio_net_tx_pending(net, 1) };

	memset(c, 0, sizeof(*c));
	while (now_ns() < end) {
		for (uint16_t q = 0; q < 2; q++) {
			struct uvio_pkt *p[BURST];
			uint16_t n = uvio_net_rx_burst(net, q, p, BURST);

			c->rx[q] += n;
			uvio_pkt_free_bulk(NULL, p, n);
			send_some(net, pool, q, c, &pending[q]);
		}
	}
}

static void phase(struct uvio_net *net, struct uvio_pktpool *pool, const char *name)
{
	struct counts c;

	run(net, pool, 0.3, &c);
	run(net, pool, 1.0, &c);
	printf("phase %s rx0 %llu rx1 %llu tx0 %llu tx1 %llu\n", name,
	       (unsigned long long)c.rx[0], (unsigned long long)c.rx[1],
	       (unsigned long long)c.tx[0], (unsigned long long)c.tx[1]);
	fflush(stdout);
}

/* The back-end goes away (the suite kills it) and comes back. */
static void after_reconnect(struct uvio_net *net, struct uvio_pktpool *pool)
{
	struct uvio_err err = { 0 };
	uint64_t end = now_ns() + 30000000000ull;
	int rc;

	printf("waiting\n");
	fflush(stdout);
	while (uvio_net_check(net) == 0 && now_ns() < end)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	rc = uvio_vhost_user_reconnect(uvio_net_dev(net), 30000, &err);
	if (!rc)
		rc = uvio_net_reinit(net, &err);
	printf("reconnected %d %s\n", rc, rc ? err.msg : "ok");
	fflush(stdout);
	if (!rc)
		phase(net, pool, "reconnected");
}

static void ctrl_line(struct uvio_net *net, const char *name, int rc)
{
	printf("ctrl %s %d %s\n", name, rc, rc ? uvio_net_ctrl_error(net) : "ok");
}

static void ctrl_calls(struct uvio_net *net)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x42 };
	static const uint8_t key[40] = { 0x6d, 0x5a };
	static const uint16_t table[4] = { 0, 1, 0, 1 };

	ctrl_line(net, "promisc", uvio_net_set_promisc(net, true));
	ctrl_line(net, "allmulti", uvio_net_set_allmulti(net, true));
	ctrl_line(net, "mac", uvio_net_set_mac(net, mac));
	ctrl_line(net, "mac_tables", uvio_net_set_mac_tables(net, &mac, 1, NULL, 0));
	ctrl_line(net, "vlan", uvio_net_vlan_add(net, 100));
	ctrl_line(net, "rss", uvio_net_set_rss(net, 1, key, sizeof(key), table, 4));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct uvio_err err = { 0 };
	struct uvio_pktpool *pool;
	struct uvio_dev *dev;
	struct uvio_net *net;
	int rc;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "reconnect"))) {
		fprintf(stderr, "usage: vu_net_mq DEV [reconnect]\n");
		return 2;
	}
	if (uvio_pktpool_create("mq", 4096, 2048, -1, &pool, &err) ||
	    uvio_open(argv[1], &dev, &err) ||
	    uvio_net_open(dev, &(struct uvio_net_opts){ .queue_pairs = 2, .rx_pool = pool },
			  &net, &err)) {
		fprintf(stderr, "vu_net_mq: %s\n", err.msg);
		return 1;
	}
	printf("pairs %u of %u\n", uvio_net_get_info(net)->queue_pairs,
	       uvio_net_get_info(net)->max_queue_pairs);
	ctrl_calls(net);
	phase(net, pool, "2");
	rc = uvio_net_set_queue_pairs(net, 1);
	ctrl_line(net, "pairs1", rc);
	phase(net, pool, "1");
	rc = uvio_net_set_queue_pairs(net, 2);
	ctrl_line(net, "pairs2", rc);
	phase(net, pool, "2again");
	ctrl_line(net, "pairs3", uvio_net_set_queue_pairs(net, 3));
	if (argc == 3)
		after_reconnect(net, pool);
	uvio_net_close(net);
	uvio_pktpool_destroy(pool);
	return 0;
}

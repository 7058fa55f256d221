/* SPDX-License-Identifier: MIT */
/*
 * uvio-vmtest --ring-reset: the guest half of tests/vm/run-ringreset.
 * One queue is reset (VIRTIO_F_RING_RESET, spec 2.6.1) while another
 * carries traffic on its own thread; the host counts what came out.
 *
 * virtio-net, 2 queue pairs (a multi-queue tap on the host):
 *   1. pair 1 sends RR_Q1_BEFORE frames (flow 1) and drains;
 *   2. pair 0's thread sends RR_Q0_FRAMES frames (flow 0), and half-way
 *      the main thread resets pair 1 to RR_NET_SIZE entries;
 *   3. pair 1 sends RR_Q1_AFTER frames (flow 2);
 *   4. it creates RR_RXREADY and receives on both pairs until RR_RXDONE
 *      exists (the host injects RR_RX_FRAMES frames of 16 flows, which
 *      the tap spreads over its queues).
 *   Frames are pktfwd's format (nettool.py count checks every flow's
 *   sequence: a frame lost on pair 0 during the reset is seen there).
 * virtio-blk, 2 queues: queue 0's thread writes units [0, RR_UNITS) in
 * blkbench's verify format (seed RR_SEED) while queue 1, idle (see
 * blk_reset_q1), is reset to RR_BLK_SIZE entries; then it writes units
 * [RR_Q1_UNIT0, +RR_UNITS).
 * The host checks both ranges with blkcheck.
 *
 * Prints "CHECK ok|fail NAME" lines; returns 0 when every check passed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <uvio/blk.h>
#include <uvio/dma.h>
#include <uvio/net.h>
#include <uvio/pci.h>

#include "../blkbench/blockhdr.h"
#include "ringreset.h"

#define RR_Q0_FRAMES 20000
#define RR_Q1_BEFORE 2000
#define RR_Q1_AFTER 2000
#define RR_RX_FRAMES 2000
#define RR_FRAME_LEN 128
#define RR_NET_SIZE 128
#define RR_RXREADY "/tmp/rr.rxready"
#define RR_RXDONE "/tmp/rr.rxdone"
#define RR_SEED 7
#define RR_UNIT 4096u
#define RR_UNITS 2048u
#define RR_Q1_UNIT0 8192u
#define RR_QD 16u
#define RR_BLK_SIZE 64
#define RR_TIMEOUT_S 120

static int n_fail;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("CHECK %s ", ok ? "ok" : "fail");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	n_fail += !ok;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- pktfwd-format frames (apps/pktfwd/frame.c), UDP checksum 0 ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* pf_crc32c(prev, ...): chainable like zlib's crc32(). */
static uint32_t crc_chain(uint32_t prev, const void *p, size_t len)
{
	return ~bb_crc32c_update(~prev, p, len);
}

static void frame_write(uint8_t *f, const uint8_t src[6], uint32_t flow, uint64_t seq)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x0a };
	uint8_t *ip = f + 14, *udp = f + 34, *pl = f + 42;
	unsigned pl_len = RR_FRAME_LEN - 42;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, RR_FRAME_LEN - 14);
	put16(ip + 4, 0x7066);            /* PF_IP_ID_MAGIC */
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 17;
	put32(ip + 12, 0xc6120001);       /* 198.18.0.1 */
	put32(ip + 16, 0xc6120002);
	put16(ip + 10, ip_csum(ip, 20));
	put16(udp, (uint16_t)(1024 + flow));
	put16(udp + 2, 1025);
	put16(udp + 4, (uint16_t)(RR_FRAME_LEN - 34));
	put16(udp + 6, 0);                /* no checksum (RFC 768) */
	put16(pl, 0x5556);                /* PF_PAYLOAD_MAGIC */
	put32(pl + 2, flow);
	put32(pl + 6, (uint32_t)(seq >> 32));
	put32(pl + 10, (uint32_t)seq);
	for (unsigned i = 18; i < pl_len; i++)
		pl[i] = (uint8_t)(i * 31 + 7);
	put32(pl + 14, crc_chain(crc_chain(0, pl + 18, pl_len - 18), pl, 14));
}

static bool is_pf_frame(const struct uvio_pkt *p)
{
	const uint8_t *f = uvio_pkt_data((struct uvio_pkt *)p);

	return p->data_len >= 44 && f[12] == 8 && f[13] == 0 && f[18] == 0x70 &&
	       f[19] == 0x66 && f[42] == 0x55 && f[43] == 0x56;
}

/* ---- net ---- */

struct net_run {
	struct uvio_net *net;
	struct uvio_pktpool *pool;
	uint8_t mac[6];
	atomic_uint q0_sent;
	int q0_err;
	int efd1;                   /* pair 1's rx interrupt, set up before the reset */
};

/* Send n frames of `flow` on pair q, retrying while the ring is full. */
static int send_frames(struct net_run *r, uint16_t q, uint32_t flow, unsigned n,
		       atomic_uint *sent)
{
	for (unsigned i = 0; i < n; i++) {
		struct uvio_pkt *p;
		double t0 = now_s();

		if (!uvio_pkt_alloc_bulk(r->pool, NULL, &p, 1))
			return -ENOMEM;
		frame_write(uvio_pkt_data(p), r->mac, flow, i);
		p->data_len = RR_FRAME_LEN;
		p->pkt_len = RR_FRAME_LEN;
		while (!uvio_net_tx_burst(r->net, q, &p, 1)) {
			if (uvio_net_queue_error(r->net, q)[0] || now_s() - t0 > RR_TIMEOUT_S) {
				uvio_pkt_free_bulk(NULL, &p, 1);
				return -EIO;
			}
		}
		if (sent)
			atomic_store(sent, i + 1);
	}
	return 0;
}

static bool drain(struct net_run *r, uint16_t q)
{
	double t0 = now_s();

	while (uvio_net_tx_pending(r->net, q))
		if (now_s() - t0 > RR_TIMEOUT_S)
			return false;
	return true;
}

static void *q0_thread(void *arg)
{
	struct net_run *r = arg;

	r->q0_err = send_frames(r, 0, 0, RR_Q0_FRAMES, &r->q0_sent);
	if (!r->q0_err && !drain(r, 0))
		r->q0_err = -ETIMEDOUT;
	return NULL;
}

static int reset_pair1(struct net_run *r)
{
	double t0;
	int rc;

	while (atomic_load(&r->q0_sent) < RR_Q0_FRAMES / 2 && !r->q0_err)
		;
	t0 = now_s();
	rc = uvio_net_queue_reset(r->net, 1, RR_NET_SIZE);
	check(rc == 0, "net: queue pair 1 reset and re-enabled at %u entries while pair 0 "
	      "sends (%.1f ms; pair 0 had sent %u): %s", RR_NET_SIZE,
	      (now_s() - t0) * 1e3, atomic_load(&r->q0_sent), rc ? strerror(-rc) : "ok");
	return rc;
}

/* Event mode across the reset: the eventfd was set up before it, so the
 * vector must have come back with the re-enable (setup_queue). True once
 * the armed queue's interrupt fired. */
static bool irq_fired(struct net_run *r)
{
	struct pollfd p = { .fd = r->efd1, .events = POLLIN };
	uint64_t v;

	if (r->efd1 < 0 || poll(&p, 1, 0) != 1)
		return false;
	if (read(r->efd1, &v, sizeof(v)) != sizeof(v))
		return false;
	uvio_net_rxq_intr_disable(r->net, 1);
	return true;
}

static void rx_phase(struct net_run *r)
{
	struct uvio_pkt *pkts[32];
	unsigned got[2] = { 0, 0 }, other = 0;
	double t0 = now_s(), done_at = 0;
	bool irq = false;
	int armed = r->efd1 >= 0 ? uvio_net_rxq_intr_enable(r->net, 1) : -1;
	FILE *f = fopen(RR_RXREADY, "w");

	if (f)
		fclose(f);
	while (now_s() - t0 < RR_TIMEOUT_S) {
		if (!irq && armed == 0)
			irq = irq_fired(r);
		for (uint16_t q = 0; q < 2; q++) {
			uint16_t n = uvio_net_rx_burst(r->net, q, pkts, 32);

			for (uint16_t i = 0; i < n; i++)
				is_pf_frame(pkts[i]) ? got[q]++ : other++;
			uvio_pkt_free_bulk(NULL, pkts, n);
		}
		if (!done_at && access(RR_RXDONE, F_OK) == 0)
			done_at = now_s();
		if (done_at && now_s() - done_at > 1.0)
			break;
	}
	check(got[0] + got[1] == RR_RX_FRAMES && got[1] > 0,
	      "net: after the reset both pairs receive: %u of %u injected frames (pair 0 %u, "
	      "pair 1 %u; %u others)", got[0] + got[1], RR_RX_FRAMES, got[0], got[1], other);
	check(armed == 0 && irq, "net: pair 1's rx interrupt (MSI-X, set up before the "
	      "reset) fires after it: the re-enable gave the vector back (armed %d)", armed);
}

static void net_report(struct net_run *r)
{
	struct uvio_net_queue_stats s0, s1;

	uvio_net_get_stats(r->net, 0, &s0);
	uvio_net_get_stats(r->net, 1, &s1);
	check(!r->q0_err && s0.tx_packets == RR_Q0_FRAMES && s0.tx_drops == 0 &&
	      s0.tx_errors == 0, "net: pair 0 sent its %u frames across pair 1's reset "
	      "(tx_packets %llu, drops %llu, errors %llu)", RR_Q0_FRAMES,
	      (unsigned long long)s0.tx_packets, (unsigned long long)s0.tx_drops,
	      (unsigned long long)s0.tx_errors);
	check(s1.tx_packets == RR_Q1_BEFORE + RR_Q1_AFTER && s1.tx_drops == 0,
	      "net: pair 1 sent %u frames before and %u after its reset (tx_packets %llu, "
	      "drops %llu: it was drained first)", RR_Q1_BEFORE, RR_Q1_AFTER,
	      (unsigned long long)s1.tx_packets, (unsigned long long)s1.tx_drops);
}

static int net_traffic(struct net_run *r)
{
	pthread_t th;
	int rc;

	rc = send_frames(r, 1, 1, RR_Q1_BEFORE, NULL);
	check(!rc && drain(r, 1), "net: pair 1 sends %u frames before its reset",
	      RR_Q1_BEFORE);
	if (pthread_create(&th, NULL, q0_thread, r))
		return -1;
	rc = reset_pair1(r);
	if (!rc) {
		rc = send_frames(r, 1, 2, RR_Q1_AFTER, NULL);
		check(!rc && drain(r, 1), "net: pair 1 sends %u frames after its reset "
		      "(ring of %u)", RR_Q1_AFTER, RR_NET_SIZE);
	}
	pthread_join(th, NULL);
	net_report(r);
	rx_phase(r);
	return 0;
}

static int net_check(struct uvio_dev *dev)
{
	struct net_run r = { .efd1 = -1 };
	struct uvio_err err = { 0 };
	unsigned avail;

	if (uvio_pktpool_create("rr", 4096, 2048, -1, &r.pool, &err)) {
		check(false, "net: packet pool: %s", err.msg);
		uvio_dev_destroy(dev);
		return -1;
	}
	avail = uvio_pktpool_avail(r.pool);
	if (uvio_net_open(dev, &(struct uvio_net_opts){ .queue_pairs = 2, .rx_pool = r.pool },
			  &r.net, &err)) {
		check(false, "net: open: %s", err.msg);
	} else {
		memcpy(r.mac, uvio_net_get_info(r.net)->mac, 6);
		r.efd1 = uvio_net_rxq_eventfd(r.net, 1);
		check(r.efd1 >= 0, "net: pair 1's rx interrupt eventfd set up before the "
		      "reset (%s)", r.efd1 >= 0 ? "ok" : uvio_dev_error(uvio_net_dev(r.net)));
		check(uvio_net_get_info(r.net)->queue_pairs == 2, "net: 2 queue pairs (%u)",
		      uvio_net_get_info(r.net)->queue_pairs);
		check(uvio_dev_can_reset_queue(uvio_net_dev(r.net)),
		      "net: VIRTIO_F_RING_RESET negotiated");
		if (uvio_net_get_info(r.net)->queue_pairs == 2)
			net_traffic(&r);
		uvio_net_close(r.net);
		check(uvio_pktpool_avail(r.pool) == avail,
		      "net: every packet back in the pool after close (%u of %u)",
		      uvio_pktpool_avail(r.pool), avail);
	}
	uvio_pktpool_destroy(r.pool);
	return 0;
}

/* ---- blk ---- */

struct blk_run;

/* One write in flight: its callback's argument. */
struct blk_slot {
	struct blk_run *r;
	uint16_t q;
	bool busy;
};

struct blk_run {
	struct uvio_blk *blk;
	uint8_t *buf;               /* RR_QD units per queue, DMA */
	struct blk_slot slots[2][RR_QD];
	atomic_uint q0_done;
	unsigned ok[2], cancelled[2], bad[2];
	int q0_err;
};

static void blk_done(void *arg, int status)
{
	struct blk_slot *s = arg;

	s->busy = false;
	if (status == 0)
		s->r->ok[s->q]++;
	else if (status == -ECANCELED)
		s->r->cancelled[s->q]++;
	else
		s->r->bad[s->q]++;
	if (s->q == 0)
		atomic_fetch_add(&s->r->q0_done, 1);
}

/* Write units [first, first + n) on queue q, RR_QD at a time. */
static int write_units(struct blk_run *r, uint16_t q, unsigned first, unsigned n)
{
	struct uvio_blk_queue *bq = uvio_blk_get_queue(r->blk, q);
	struct blk_slot *slots = r->slots[q];
	uint8_t *base = r->buf + (size_t)q * RR_QD * RR_UNIT;
	unsigned next = 0;
	double t0 = now_s();

	for (unsigned i = 0; i < RR_QD; i++)
		slots[i] = (struct blk_slot){ r, q, false };
	while (next < n || uvio_blk_queue_in_flight(bq)) {
		for (unsigned i = 0; i < RR_QD && next < n; i++) {
			uint8_t *u = base + (size_t)i * RR_UNIT;

			if (slots[i].busy)
				continue;
			bb_unit_fill(u, RR_UNIT, first + next, RR_SEED, 1);
			slots[i].busy = true;
			if (uvio_blk_write(bq, (uint64_t)(first + next) * RR_UNIT,
					   &(struct iovec){ u, RR_UNIT }, 1, blk_done, &slots[i])) {
				slots[i].busy = false;
				break;
			}
			next++;
		}
		if (uvio_blk_poll(bq, RR_QD) < 0 || now_s() - t0 > RR_TIMEOUT_S)
			return -EIO;
	}
	return uvio_blk_flush_sync(bq);
}

static void *blk_q0_thread(void *arg)
{
	struct blk_run *r = arg;

	r->q0_err = write_units(r, 0, 0, RR_UNITS);
	return NULL;
}

/*
 * Queue 1, idle, is reset while queue 0's thread writes. Idle: QEMU 7.2's
 * virtio-blk has no per-queue reset of its own, so a request it already
 * took completes into the reset ring, and QEMU then marks the whole
 * device broken (seen here: queue 0 stopped too). Cancelling in-flight
 * requests is the unit tests' (tests/unit/test_blk_queue_reset.c).
 */
static void blk_reset_q1(struct blk_run *r)
{
	double t0;
	int rc;

	while (atomic_load(&r->q0_done) < RR_UNITS / 4 && !r->q0_err)
		;
	rc = write_units(r, 1, RR_Q1_UNIT0, RR_QD);
	check(!rc && r->ok[1] == RR_QD && !r->bad[1], "blk: queue 1 writes %u units, "
	      "then is idle (%u ok, %u failed)", RR_QD, r->ok[1], r->bad[1]);
	t0 = now_s();
	rc = uvio_blk_queue_reset(r->blk, 1, RR_BLK_SIZE);
	check(rc == 0, "blk: queue 1 reset and re-enabled at %u entries while queue 0 "
	      "writes (%.1f ms; queue 0 had done %u): %s", RR_BLK_SIZE,
	      (now_s() - t0) * 1e3, atomic_load(&r->q0_done), rc ? strerror(-rc) : "ok");
}

static void blk_traffic(struct blk_run *r)
{
	pthread_t th;
	int rc;

	if (pthread_create(&th, NULL, blk_q0_thread, r)) {
		check(false, "blk: thread");
		return;
	}
	blk_reset_q1(r);
	r->ok[1] = 0;
	rc = write_units(r, 1, RR_Q1_UNIT0, RR_UNITS);
	check(!rc && r->ok[1] == RR_UNITS && !r->bad[1],
	      "blk: queue 1 writes %u units after its reset (%u ok, %u failed%s%s)",
	      RR_UNITS, r->ok[1], r->bad[1], rc ? "; " : "",
	      rc ? uvio_blk_queue_error(uvio_blk_get_queue(r->blk, 1)) : "");
	pthread_join(th, NULL);
	check(!r->q0_err && r->ok[0] == RR_UNITS && !r->bad[0] && !r->cancelled[0],
	      "blk: queue 0 wrote its %u units across queue 1's reset (%u ok, %u failed, "
	      "%u cancelled)", RR_UNITS, r->ok[0], r->bad[0], r->cancelled[0]);
}

static int blk_check(struct uvio_dev *dev)
{
	struct blk_run r = { 0 };
	struct uvio_err err = { 0 };
	uint64_t iova;

	if (uvio_blk_open(dev, &(struct uvio_blk_opts){ .queues = 2 }, &r.blk, &err)) {
		check(false, "blk: open: %s", err.msg);
		return -1;
	}
	r.buf = uvio_dma_alloc(2 * RR_QD * RR_UNIT, 4096, -1, &iova, &err);
	check(uvio_blk_get_info(r.blk)->queues == 2, "blk: 2 queues (%u)",
	      uvio_blk_get_info(r.blk)->queues);
	check(uvio_dev_can_reset_queue(uvio_blk_dev(r.blk)),
	      "blk: VIRTIO_F_RING_RESET negotiated");
	if (r.buf && uvio_blk_get_info(r.blk)->queues == 2)
		blk_traffic(&r);
	uvio_blk_close(r.blk);
	uvio_dma_free(r.buf);
	return 0;
}

int vmtest_ring_reset(const char *bdf)
{
	struct uvio_pci_addr addr;
	struct uvio_dev *dev;
	struct uvio_err err = { 0 };
	bool offered;

	if (uvio_pci_addr_parse(bdf, &addr) || uvio_pci_open(&addr, &dev, &err)) {
		check(false, "open %s: %s", bdf, err.msg);
		return 1;
	}
	offered = uvio_dev_device_features(dev) & (1ULL << VIRTIO_F_RING_RESET);
	check(offered, "%s: the device offers VIRTIO_F_RING_RESET (features 0x%016llx)",
	      bdf, (unsigned long long)uvio_dev_device_features(dev));
	if (uvio_dev_device_id(dev) == VIRTIO_ID_NET)
		net_check(dev);
	else
		blk_check(dev);
	return n_fail ? 1 : 0;
}

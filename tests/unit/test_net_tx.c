/* SPDX-License-Identifier: MIT */
/* pmd/net: the tx path, with and without offloads. The fixture is
 * net_fixture.h. */
#include "net_fixture.h"

/* ---- tx ---- */

static void test_tx_single_no_offload(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = { 60, 1000, 1514 };
	struct uvio_pkt *p[3];
	struct uvio_net_queue_stats st;
	uint8_t want[1514];
	uint64_t bytes = 0;

	open_base(f);
	for (unsigned i = 0; i < 3; i++) {
		p[i] = pkt(f, lens[i], 100 + i);
		bytes += lens[i];
	}
	/* Headroom left dirty (say, by an earlier rx): the header sent is
	 * still all zero, num_buffers included, whatever it skips storing. */
	memset((char *)uvio_pkt_data(p[1]) - 12, 0xa5, 12);
	memset((char *)uvio_pkt_data(p[2]) - 2, 0x01, 1);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 3), 3);
	assert_int_equal(model_net_tx_count(f->mn), 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct model_net_frame *fr = model_net_tx_frame(f->mn, i);

		fill(want, lens[i], 100 + i);
		assert_int_equal(fr->pair, 0);
		assert_int_equal(fr->hdr_len, 12);
		assert_int_equal(fr->len, lens[i]);
		assert_memory_equal(fr->data, want, lens[i]);
		assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
		assert_int_equal(fr->nsegs, 1);
	}
	assert_int_equal(uvio_net_get_stats(f->net, 0, &st), 0);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_bytes, bytes);
	assert_int_equal(st.tx_errors + st.tx_drops, 0);
	finish(f);
}

static void test_tx_multi_segment(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = { 100, 200, 300, 1, 413 };
	uint8_t flat[1100];
	struct uvio_pkt *p;
	const struct model_net_frame *fr;

	open_base(f);
	p = chain(f, lens, 5, flat, 7);
	assert_int_equal(p->pkt_len, 1014);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_non_null(fr);
	assert_int_equal(fr->len, 1014);
	assert_memory_equal(fr->data, flat, 1014);
	assert_int_equal(fr->nsegs, 5);  /* header + first segment share one */
	assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
	finish(f);
}

static void test_tx_csum_offload(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TX_CSUM };
	struct uvio_pkt *p[2];
	const struct model_net_frame *fr;

	open_ok(f, &cfg, &o);
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_TX_CSUM);
	p[0] = pkt(f, 100, 1);
	p[0]->ol_flags = UVIO_PKT_TX_CSUM;
	p[0]->csum_start = 34;
	p[0]->csum_offset = 16;
	p[1] = pkt(f, 100, 2);  /* no offload asked: zero header */
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 2), 2);
	fr = model_net_tx_frame(f->mn, 0);
	assert_int_equal(fr->hdr.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(fr->hdr.hdr.csum_start, 34);
	assert_int_equal(fr->hdr.hdr.csum_offset, 16);
	assert_int_equal(fr->hdr.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(fr->hdr.num_buffers, 0);
	fr = model_net_tx_frame(f->mn, 1);
	assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
	finish(f);
}

static void test_tx_tso4(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TSO };
	static const uint16_t lens[] = { 1800, 1800, 1800, 1800, 1800 };
	static uint8_t flat[9000];
	struct uvio_pkt *p;
	const struct model_net_frame *fr;

	open_ok(f, &cfg, &o);
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_TSO);
	p = chain(f, lens, 5, flat, 3);
	p->ol_flags = UVIO_PKT_TX_TSO4;
	p->csum_start = 34;
	p->csum_offset = 16;
	p->hdr_len = 54;
	p->tso_segsz = 1448;
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_int_equal(fr->len, 9000);
	assert_memory_equal(fr->data, flat, 9000);
	assert_int_equal(fr->hdr.hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(fr->hdr.hdr.gso_size, 1448);
	assert_int_equal(fr->hdr.hdr.hdr_len, 54);
	assert_int_equal(fr->hdr.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(fr->hdr.hdr.csum_start, 34);
	assert_int_equal(fr->hdr.hdr.csum_offset, 16);
	finish(f);
}

/* Regression (found by this suite): the TSO offload is on with HOST_TSO4 alone, and
 * a TSO6 packet then goes out with gso_type TCPV6 although HOST_TSO6 was
 * not negotiated (5.1.6.2.1: the driver MUST NOT). */
static void test_tx_tso6_without_host_tso6(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TSO };
	struct uvio_pkt *p;
	struct uvio_net_queue_stats st;

	cfg.features &= ~BIT(VIRTIO_NET_F_HOST_TSO6);
	open_ok(f, &cfg, &o);
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_TSO);
	p = pkt(f, 1514, 4);
	p->ol_flags = UVIO_PKT_TX_TSO6;
	p->csum_start = 54;
	p->csum_offset = 16;
	p->hdr_len = 74;
	p->tso_segsz = 1400;
	uvio_net_tx_burst(f->net, 0, &p, 1);
	uvio_net_get_stats(f->net, 0, &st);
	if (model_net_tx_count(f->mn) &&
	    model_net_tx_frame(f->mn, 0)->hdr.hdr.gso_type == VIRTIO_NET_HDR_GSO_TCPV6)
		fail_msg("TSO6 frame sent with gso_type TCPV6 although HOST_TSO6 was not "
			 "negotiated (5.1.6.2.1: MUST NOT); expected: refused (tx_errors %llu) "
			 "or TSO6 kept off", (unsigned long long)st.tx_errors);
	finish(f);
}

static void test_offload_not_offered(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_TSO |
					       UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO };
	const struct uvio_net_info *in;
	struct uvio_pkt *p;
	const struct model_net_frame *fr;

	cfg.features &= ~(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
			  BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			  BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6));
	open_ok(f, &cfg, &o);
	in = uvio_net_get_info(f->net);
	assert_int_equal(in->offloads, 0);
	assert_int_equal(in->offloads_offered & (UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_TSO |
						 UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO), 0);
	assert_false(in->features & (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM)));
	p = pkt(f, 200, 5);
	p->ol_flags = UVIO_PKT_TX_CSUM | UVIO_PKT_TX_TSO4;
	p->csum_start = 34;
	p->csum_offset = 16;
	p->tso_segsz = 100;
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
	finish(f);
}

static void test_offloads_offered(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	const struct uvio_net_info *in;

	open_ok(f, &cfg, &(struct uvio_net_opts){ .offloads = UVIO_NET_OFF_RX_CSUM });
	in = uvio_net_get_info(f->net);
	assert_int_equal(in->offloads, UVIO_NET_OFF_RX_CSUM);
	assert_int_equal(in->offloads_offered & 0xf, UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_RX_CSUM |
			 UVIO_NET_OFF_TSO | UVIO_NET_OFF_LRO);
	assert_false(in->features & BIT(VIRTIO_NET_F_CSUM));
	assert_true(in->features & BIT(VIRTIO_NET_F_GUEST_CSUM));
	finish(f);
}

/* Many frames: the tx ring is cleaned as the driver goes; nothing leaks. */
static void test_tx_many_packets_return_to_pool(void **state)
{
	struct fx *f = *state;
	enum { TOTAL = 1000 };
	struct uvio_pkt *p[BURST];
	struct uvio_net_queue_stats st;
	unsigned sent = 0;

	open_base(f);
	while (sent < TOTAL) {
		unsigned n = TOTAL - sent < BURST ? TOTAL - sent : BURST, took;

		for (unsigned i = 0; i < n; i++)
			p[i] = pkt(f, 64, sent + i);
		took = uvio_net_tx_burst(f->net, 0, p, (uint16_t)n);
		assert_int_equal(took, n);
		sent += took;
		/* Never more in flight than the ring. */
		assert_true(uvio_pktpool_avail(f->tx_pool) + 256 >= f->tx_start);
	}
	assert_int_equal(model_net_tx_count(f->mn), TOTAL);
	for (unsigned i = 0; i < TOTAL; i += 97) {
		uint8_t want[64];

		fill(want, 64, i);
		assert_memory_equal(model_net_tx_frame(f->mn, i)->data, want, 64);
	}
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.tx_packets, TOTAL);
	assert_int_equal(st.tx_bytes, TOTAL * 64);
	finish(f);
}

/* The device holds the tx buffers: the ring fills, the rest stay the
 * caller's, and go once the device catches up. */
static void test_tx_ring_full(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	enum { N = 40 };
	struct uvio_pkt *p[N];
	struct uvio_net_queue_stats st;
	unsigned took;

	cfg.queue_max = 32;
	open_ok(f, &cfg, NULL);
	model_net_tx_hold(f->mn, true);
	for (unsigned i = 0; i < N; i++)
		p[i] = pkt(f, 100, i);
	took = uvio_net_tx_burst(f->net, 0, p, N);
	assert_int_equal(took, 32);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + took, N - took), 0);
	/* The device sends what it holds. */
	assert_int_equal(model_net_tx_complete(f->mn), 32);
	model_net_tx_hold(f->mn, false);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + took, 4), 4);
	/* The caller gives up on the rest. */
	uvio_net_tx_drop(f->net, 0, p + took + 4, N - took - 4);
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.tx_packets, 36);
	assert_int_equal(st.tx_drops, N - 36);
	assert_int_equal(model_net_tx_count(f->mn), 36);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_tx_single_no_offload),
		BOTH(test_tx_multi_segment),
		BOTH(test_tx_csum_offload),
		BOTH(test_tx_tso4),
		BOTH(test_tx_tso6_without_host_tso6),
		BOTH(test_offload_not_offered),
		BOTH(test_offloads_offered),
		BOTH(test_tx_many_packets_return_to_pool),
		BOTH(test_tx_ring_full),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

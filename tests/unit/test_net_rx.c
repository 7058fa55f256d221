/* SPDX-License-Identifier: MIT */
/* pmd/net: the rx path, buffer refill and the packet pools and caches.
 * The fixture is net_fixture.h. */
#include "net_fixture.h"

/* ---- rx ---- */

static void test_rx_small_frames(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = { 60, 64, 128, 1000, 1514 };
	struct uvio_pkt *got[8];
	struct uvio_net_queue_stats st;
	uint8_t frame[1514];
	uint64_t bytes = 0;

	open_base(f);
	for (unsigned i = 0; i < 5; i++) {
		fill(frame, lens[i], 50 + i);
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, lens[i], NULL), 0);
		bytes += lens[i];
	}
	assert_int_equal(rx_all(f, 0, got, 8), 5);
	for (unsigned i = 0; i < 5; i++) {
		fill(frame, lens[i], 50 + i);
		assert_int_equal(got[i]->pkt_len, lens[i]);
		assert_int_equal(got[i]->data_len, lens[i]);
		assert_int_equal(got[i]->nb_segs, 1);
		assert_null(got[i]->next);
		assert_int_equal(got[i]->rx_queue, 0);
		assert_int_equal(got[i]->ol_flags, 0);
		assert_memory_equal(uvio_pkt_data(got[i]), frame, lens[i]);
	}
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.rx_bytes, bytes);
	assert_int_equal(st.rx_errors, 0);
	uvio_pkt_free_bulk(NULL, got, 5);
	finish(f);
}

/* A jumbo frame over mergeable buffers: one multi-segment packet. */
static void test_rx_jumbo_mergeable(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	static uint8_t frame[9014], back[9014];
	struct uvio_pkt *got[4];
	unsigned segs = 0;
	uint32_t sum = 0;

	cfg.mtu = 9000;
	open_ok(f, &cfg, NULL);
	fill(frame, sizeof(frame), 9);
	assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	fill(back, 60, 10);
	assert_int_equal(model_net_rx_inject(f->mn, 0, back, 60, NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 4), 2);
	assert_int_equal(got[0]->pkt_len, sizeof(frame));
	for (struct uvio_pkt *s = got[0]; s; s = s->next) {
		segs++;
		sum += s->data_len;
	}
	assert_int_equal(got[0]->nb_segs, segs);
	assert_true(segs >= 5);
	assert_int_equal(sum, sizeof(frame));
	memset(back, 0, sizeof(back));
	assert_int_equal(gather(got[0], back), sizeof(frame));
	assert_memory_equal(back, frame, sizeof(frame));
	assert_int_equal(got[1]->pkt_len, 60);
	uvio_pkt_free_bulk(NULL, got, 2);
	finish(f);
}

/* Without mergeable buffers each frame is one buffer; what does not fit
 * is the device's to drop. */
static void test_rx_no_mrg(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .no_mrg_rxbuf = true };
	struct virtio_net_hdr valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	static uint8_t frame[3000];
	struct uvio_pkt *got[4];

	open_ok(f, &cfg, &o);
	assert_false(uvio_net_get_info(f->net)->mrg_rxbuf);
	assert_int_equal(model_net_hdr_len(f->mn), 12);  /* VERSION_1 */
	fill(frame, sizeof(frame), 11);
	model_net_rx_inject(f->mn, 0, frame, 1514, NULL);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(model_net_rx_dropped(f->mn), 1);
	/* num_buffers is the device's business without MRG_RXBUF: ignored. */
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS_HUGE, 0, 1);
	model_net_rx_inject(f->mn, 0, frame + 1, 100, NULL);
	/* Flags without GUEST_CSUM mean nothing (spec 5.1.6.4): not read. */
	model_net_rx_inject(f->mn, 0, frame + 2, 60, &valid);
	assert_int_equal(rx_all(f, 0, got, 4), 3);
	assert_int_equal(got[0]->pkt_len, 1514);
	assert_int_equal(got[0]->nb_segs, 1);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, 1514);
	assert_int_equal(got[1]->pkt_len, 100);
	assert_memory_equal(uvio_pkt_data(got[1]), frame + 1, 100);
	assert_int_equal(got[2]->pkt_len, 60);
	assert_int_equal(got[2]->ol_flags, 0);
	assert_memory_equal(uvio_pkt_data(got[2]), frame + 2, 60);
	uvio_pkt_free_bulk(NULL, got, 3);
	finish(f);
}

static void test_rx_csum_flags(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO };
	struct virtio_net_hdr h[3] = {
		{ .flags = VIRTIO_NET_HDR_F_DATA_VALID },
		{ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 },
		{ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		  .gso_size = 1448, .hdr_len = 54, .csum_start = 34, .csum_offset = 16 },
	};
	static uint8_t frame[4000];
	struct uvio_pkt *got[4];

	open_ok(f, &cfg, &o);
	assert_int_equal(uvio_net_get_info(f->net)->offloads,
			 UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO);
	fill(frame, sizeof(frame), 12);
	model_net_rx_inject(f->mn, 0, frame, 100, &h[0]);
	model_net_rx_inject(f->mn, 0, frame, 200, &h[1]);
	model_net_rx_inject(f->mn, 0, frame, 4000, &h[2]);
	assert_int_equal(rx_all(f, 0, got, 4), 3);
	assert_int_equal(got[0]->ol_flags, UVIO_PKT_RX_CSUM_OK);
	assert_int_equal(got[1]->ol_flags, UVIO_PKT_RX_CSUM_NONE);
	assert_int_equal(got[1]->csum_start, 34);
	assert_int_equal(got[1]->csum_offset, 16);
	assert_true(got[2]->ol_flags & UVIO_PKT_RX_LRO);
	assert_true(got[2]->ol_flags & UVIO_PKT_RX_CSUM_NONE);
	assert_int_equal(got[2]->tso_segsz, 1448);
	assert_int_equal(got[2]->pkt_len, 4000);
	uvio_pkt_free_bulk(NULL, got, 3);
	finish(f);
}

/* Packet objects span 4k + 2 cache lines, so the same line of every
 * buffer does not pile into a quarter of the L1 sets; the room asked for
 * is all there. */
static void test_pktpool_stride(void **state)
{
	static const uint16_t rooms[] = { 2048, 1500, 1, 9000, 2176 };
	struct uvio_err err = { 0 };

	(void)state;
	for (unsigned i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
		struct uvio_pktpool *pp;
		struct uvio_pkt *p[2];

		assert_int_equal(uvio_pktpool_create("stride", 8, rooms[i], -1, &pp, &err), 0);
		assert_int_equal(uvio_pkt_alloc_bulk(pp, NULL, p, 2), 2);
		assert_int_equal(p[0]->buf_len % 64, 0);
		assert_int_equal(p[0]->buf_len / 64 % 4, 2);
		assert_true(uvio_pkt_tailroom(p[0]) >= rooms[i]);
		assert_int_equal(labs((char *)p[1] - (char *)p[0]) % p[0]->buf_len, 0);
		uvio_pkt_free_bulk(NULL, p, 2);
		uvio_pktpool_destroy(pp);
	}
}

/* The pool runs dry: rx_nobuf counts it; freeing packets lets rx resume. */
static void test_rx_refill_nobuf(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { 0 };
	struct uvio_net_queue_stats st0, st1;
	struct uvio_pkt *got[64];
	uint8_t frame[100];
	struct uvio_err err = { 0 };
	unsigned n;

	pools(f, 48);  /* fewer packets than the 256-entry ring */
	assert_int_equal(open_cfg(f, &cfg, &o, &err), 0);
	uvio_net_get_stats(f->net, 0, &st0);
	assert_true(st0.rx_nobuf > 0);
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), 0);
	fill(frame, sizeof(frame), 13);
	for (unsigned i = 0; i < 48; i++)
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	/* No buffer left for this one: it waits in the device. */
	assert_int_equal(model_net_rx_inject(f->mn, 0, frame, 60, NULL), 1);
	n = rx_all(f, 0, got, 64);
	assert_int_equal(n, 48);
	uvio_net_get_stats(f->net, 0, &st1);
	assert_true(st1.rx_nobuf > st0.rx_nobuf);
	assert_int_equal(model_net_rx_waiting(f->mn, 0), 1);
	uvio_pkt_free_bulk(NULL, got, n);
	/* The next burst refills, the device places the waiting frame. */
	n = rx_all(f, 0, got, 64);
	assert_int_equal(n, 1);
	assert_int_equal(got[0]->pkt_len, 60);
	assert_int_equal(model_net_rx_waiting(f->mn, 0), 0);
	uvio_pkt_free_bulk(NULL, got, 1);
	uvio_net_get_stats(f->net, 0, &st1);
	assert_int_equal(st1.rx_packets, 49);
	finish(f);
}

/* A refill stops at a ring slot that is a multiple of 4, whatever count
 * was taken: 37 buffers taken from a full 256-entry ring come back as 36,
 * so the device can then place 255 frames, not 256. */
static void test_rx_refill_ends_aligned(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *got[32];
	uint8_t frame[100];

	open_base(f);
	fill(frame, sizeof(frame), 21);
	for (unsigned i = 0; i < 7; i++)   /* too few to refill */
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 32), 7);
	uvio_pkt_free_bulk(NULL, got, 7);
	for (unsigned i = 0; i < 30; i++)  /* 37 free: refill up to slot 36 */
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 32), 30);
	uvio_pkt_free_bulk(NULL, got, 30);
	for (unsigned i = 0; i < 300; i++)
		model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(model_net_rx_waiting(f->mn, 0), 300 - 255);
	finish(f);
}

/* Lent caches: the queue refills from the application's rx cache and
 * frees sent frames into its tx cache; traffic flows as before, and every
 * buffer is back in its pool once the caches are given back. */
static void test_lent_caches(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt_cache *rxc, *txc;
	struct uvio_pkt *p[BURST];
	uint8_t frame[200];
	unsigned got = 0;

	open_base(f);
	rxc = uvio_pkt_cache_create(f->rx_pool, 64);
	txc = uvio_pkt_cache_create(f->tx_pool, 64);
	assert_non_null(rxc);
	assert_non_null(txc);
	assert_int_equal(uvio_net_queue_caches(f->net, 1, rxc, txc), -EINVAL);
	assert_int_equal(uvio_net_queue_caches(f->net, 0, txc, NULL), -EINVAL);
	assert_int_equal(uvio_net_queue_caches(f->net, 0, rxc, txc), 0);
	for (unsigned sent = 0; sent < 640; sent += BURST) {
		assert_int_equal(uvio_pkt_alloc_bulk(f->tx_pool, txc, p, BURST), BURST);
		for (unsigned i = 0; i < BURST; i++) {
			fill(uvio_pkt_data(p[i]), 64, sent + i);
			p[i]->data_len = p[i]->pkt_len = 64;
		}
		assert_int_equal(uvio_net_tx_burst(f->net, 0, p, BURST), BURST);
	}
	assert_int_equal(model_net_tx_count(f->mn), 640);
	fill(frame, 64, 639);
	assert_memory_equal(model_net_tx_frame(f->mn, 639)->data, frame, 64);
	for (unsigned round = 0; round < 20; round++) {  /* 600 frames: laps of the ring */
		for (unsigned i = 0; i < 30; i++) {
			fill(frame, sizeof(frame), round * 30 + i);
			assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
		}
		for (unsigned n; (n = uvio_net_rx_burst(f->net, 0, p, BURST)); got += n) {
			fill(frame, sizeof(frame), got);
			assert_memory_equal(uvio_pkt_data(p[0]), frame, sizeof(frame));
			uvio_pkt_free_bulk(rxc, p, n);
		}
	}
	assert_int_equal(got, 600);
	uvio_net_tx_pending(f->net, 0);  /* sent frames back into txc */
	assert_int_equal(uvio_net_queue_caches(f->net, 0, NULL, NULL), 0);
	uvio_pkt_cache_destroy(rxc);
	uvio_pkt_cache_destroy(txc);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_rx_small_frames),
		BOTH(test_rx_jumbo_mergeable),
		BOTH(test_rx_no_mrg),
		BOTH(test_rx_csum_flags),
		BOTH(test_rx_refill_nobuf),
		cmocka_unit_test(test_pktpool_stride),
		BOTH(test_rx_refill_ends_aligned),
		BOTH(test_lent_caches),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

/* SPDX-License-Identifier: MIT */
/* pmd/net against a misbehaving device, and random traffic (the fuzz
 * seeds). The fixture is net_fixture.h. */
#include "net_fixture.h"

/* ---- a misbehaving device ---- */

static void test_rx_evil_headers(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_pkt *got[8];
	struct uvio_net_queue_stats st;
	uint8_t frame[200];

	open_ok(f, &cfg, NULL);
	fill(frame, sizeof(frame), 16);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS_ZERO, 0, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS_HUGE, 0, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_SHORT_LEN, 0, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	model_net_rx_inject(f->mn, 0, frame, 200, NULL);  /* a good one after */
	assert_int_equal(rx_all(f, 0, got, 8), 1);
	assert_int_equal(got[0]->pkt_len, 200);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, 200);
	uvio_pkt_free_bulk(NULL, got, 1);
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.rx_errors, 3);
	assert_int_equal(st.rx_packets, 1);
	assert_string_equal(uvio_net_queue_error(f->net, 0), "");
	finish(f);
}

/* num_buffers larger than what the device used: the driver waits for the
 * rest; close frees the partial frame. */
static void test_rx_partial_frame_at_close(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *got[4];
	uint8_t frame[100];

	open_base(f);
	fill(frame, sizeof(frame), 17);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS, 3, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	finish(f);
}

/* A bad used entry breaks the rx queue: rx returns nothing, the error is
 * readable, tx still works, close returns every buffer. */
static void test_rx_queue_broken(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *got[4], *p;
	uint8_t frame[64] = { 0 };

	open_base(f);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_USED_EVIL, VDEV_EVIL_LEN, 1);
	model_net_rx_inject(f->mn, 0, frame, 64, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	assert_true(strlen(uvio_net_queue_error(f->net, 0)) > 0);
	model_net_rx_inject(f->mn, 0, frame, 64, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	p = pkt(f, 64, 1);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	assert_int_equal(model_net_tx_count(f->mn), 1);
	finish(f);
}

/* A bad used entry on the tx queue: the driver finds it when it cleans
 * the ring (64 in flight); from then on it takes nothing, and close still
 * returns every packet. */
static void test_tx_queue_broken(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *p[70];
	struct vdev_model *vq;

	open_base(f);
	model_net_tx_hold(f->mn, true);
	for (unsigned i = 0; i < 70; i++)
		p[i] = pkt(f, 64, i);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 64), 64);
	vq = model_dev_vq(f->m, 1);
	assert_int_equal(vdev_model_misbehave(vq, VDEV_EVIL_ID_RANGE,
					      vdev_model_pending_at(vq, 0)), 0);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + 64, 6), 0);
	assert_true(strlen(uvio_net_queue_error(f->net, 0)) > 0);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + 64, 6), 0);
	uvio_net_tx_drop(f->net, 0, p + 64, 6);
	finish(f);
}

/* ---- fuzz seeds ---- */

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void random_traffic(struct fx *f, uint32_t seed, unsigned rounds, bool evil)
{
	struct model_net_cfg cfg = base_cfg(f);
	static uint8_t frame[9014], back[9014];
	struct uvio_pkt *got[64], *p[16];
	uint32_t want_len[64];
	uint32_t want_seed[64];
	unsigned sent = 0;

	cfg.mtu = 9000;
	cfg.queue_max = 64;
	open_ok(f, &cfg, NULL);
	for (unsigned r = 0; r < rounds; r++) {
		unsigned nin = 1 + rnd(&seed) % 8, nwant = 0, got_n, ntx;

		for (unsigned i = 0; i < nin; i++) {
			uint32_t len = 14 + rnd(&seed) % 9000, s = rnd(&seed);
			bool bad = evil && rnd(&seed) % 4 == 0;

			if (bad)
				model_net_rx_misbehave(f->mn, (enum model_net_rx_evil)
						       (1 + rnd(&seed) % 3), 0, 1);
			fill(frame, len, s);
			model_net_rx_inject(f->mn, 0, frame, len, NULL);
			if (!bad) {
				want_len[nwant] = len;
				want_seed[nwant++] = s;
			}
		}
		got_n = rx_all(f, 0, got, 64);
		if (!evil)
			assert_int_equal(got_n, nwant);
		for (unsigned i = 0; i < got_n; i++) {
			uint32_t len = gather(got[i], back);

			assert_int_equal(len, got[i]->pkt_len);
			if (!evil) {
				fill(frame, want_len[i], want_seed[i]);
				assert_int_equal(len, want_len[i]);
				assert_memory_equal(back, frame, len);
			}
		}
		uvio_pkt_free_bulk(NULL, got, got_n);
		ntx = rnd(&seed) % 16;
		for (unsigned i = 0; i < ntx; i++)
			p[i] = pkt(f, (uint16_t)(60 + rnd(&seed) % 1400), sent + i);
		ntx = uvio_net_tx_burst(f->net, 0, p, (uint16_t)ntx);
		sent += ntx;
	}
	assert_int_equal(model_net_tx_count(f->mn), sent);
	finish(f);
}

static void test_random_traffic_seed1(void **state)
{
	random_traffic(*state, 1, 200, false);
}

static void test_random_traffic_evil(void **state)
{
	random_traffic(*state, 0xc0ffee, 200, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_rx_evil_headers),
		BOTH(test_rx_partial_frame_at_close),
		BOTH(test_rx_queue_broken),
		BOTH(test_tx_queue_broken),
		BOTH(test_random_traffic_seed1),
		BOTH(test_random_traffic_evil),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

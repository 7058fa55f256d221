/* SPDX-License-Identifier: MIT */
/* pmd/net: RSS programmed at open (pmd/net/rss.c) on the model. */
#include "net_fixture.h"

static void rss_cfg(struct model_net_cfg *cfg, uint16_t table_max)
{
	cfg->features |= BIT(VIRTIO_NET_F_RSS) | BIT(VIRTIO_NET_F_MQ);
	cfg->max_pairs = 4;
	cfg->rss_max_key_size = 40;
	cfg->rss_max_indirection_table_length = table_max;
	cfg->supported_hash_types = VIRTIO_NET_RSS_HASH_TYPE_IPv4 |
				    VIRTIO_NET_RSS_HASH_TYPE_TCPv4 |
				    VIRTIO_NET_RSS_HASH_TYPE_UDPv4 |
				    VIRTIO_NET_RSS_HASH_TYPE_IP_EX;
}

/* --offload rss alone gets every pair a share of the table, the Toeplitz
 * key and the address/port hash types the device has (not IP_EX). */
static void test_rss_at_open(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	const struct model_net_state *s;

	rss_cfg(&cfg, 128);
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 3,
						  .offloads = UVIO_NET_OFF_RSS });
	s = model_net_state(f->mn);
	assert_true(s->rss);
	assert_int_equal(s->rss_table_len, 128);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(s->rss_table[i], i % 3);
	assert_int_equal(s->rss_hash_types, VIRTIO_NET_RSS_HASH_TYPE_IPv4 |
			 VIRTIO_NET_RSS_HASH_TYPE_TCPv4 | VIRTIO_NET_RSS_HASH_TYPE_UDPv4);
	assert_int_equal(s->rss_key_len, 40);
	assert_int_equal(s->rss_key[0], 0x6d);
	assert_int_equal(s->rss_key[39], 0xfa);
	assert_int_equal(s->rss_max_tx_vq, 3);
	finish(f);
}

/* A device with a short table (not a power of two): the largest power of
 * two that fits. */
static void test_rss_short_table(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	const struct model_net_state *s;

	rss_cfg(&cfg, 12);
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2,
						  .offloads = UVIO_NET_OFF_RSS });
	s = model_net_state(f->mn);
	assert_int_equal(s->rss_table_len, 8);
	finish(f);
}

/* Without the offload nothing is programmed: the device's default (all to
 * pair 0, spec 5.1.6.5.7.2). */
static void test_no_rss_without_offload(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);

	rss_cfg(&cfg, 128);
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2 });
	assert_false(model_net_state(f->mn)->rss);
	finish(f);
}

/* HASH_REPORT comes with the RSS offload: the 20-byte header, and the
 * device's hash in rss_hash for the frames it hashed. Sent frames leave
 * the hash fields 0 (the model checks the header). */
static void test_hash_report(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	uint8_t ip[60] = { 0 }, arp[60] = { 0 };
	struct uvio_pkt *got[4], *tx;

	rss_cfg(&cfg, 128);
	cfg.features |= BIT(VIRTIO_NET_F_HASH_REPORT);
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2,
						  .offloads = UVIO_NET_OFF_RSS });
	assert_true(uvio_net_get_info(f->net)->features & BIT(VIRTIO_NET_F_HASH_REPORT));
	fill(ip, sizeof(ip), 3);
	ip[12] = 0x08;
	ip[13] = 0x00;
	fill(arp, sizeof(arp), 4);
	arp[12] = 0x08;
	arp[13] = 0x06;
	assert_int_equal(model_net_rx_inject(f->mn, 0, ip, sizeof(ip), NULL), 0);
	assert_int_equal(model_net_rx_inject(f->mn, 0, arp, sizeof(arp), NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 4), 2);
	assert_true(got[0]->ol_flags & UVIO_PKT_RX_RSS_HASH);
	assert_int_equal(got[0]->rss_hash, model_net_ipv4_hash(ip));
	assert_int_equal(got[0]->data_len, sizeof(ip));
	assert_memory_equal(uvio_pkt_data(got[0]), ip, sizeof(ip));
	assert_false(got[1]->ol_flags & UVIO_PKT_RX_RSS_HASH);
	uvio_pkt_free_bulk(NULL, got, 2);
	tx = pkt(f, 60, 9);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &tx, 1), 1);
	assert_int_equal(model_net_tx_count(f->mn), 1);
	assert_int_equal(model_net_tx_frame(f->mn, 0)->hdr_len, 20);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_rss_at_open),
		BOTH(test_rss_short_table),
		BOTH(test_no_rss_without_offload),
		BOTH(test_hash_report),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

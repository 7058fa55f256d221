/* SPDX-License-Identifier: MIT */
/*
 * Receive-side scaling at open (spec 5.1.6.5.7): with UVIO_NET_OFF_RSS in
 * effect the device gets a Toeplitz key and an indirection table that
 * spreads flows over every queue pair in use, as DPDK's virtio PMD does at
 * configure time; otherwise the device steers everything to pair 0 (spec
 * 5.1.6.5.7.2: the unclassified queue) and the other pairs stay idle.
 */
#include <errno.h>

#include "net_internal.h"

#define RSS_TABLE_MAX 128

/* The Toeplitz key of the Microsoft RSS verification suite, which Linux,
 * DPDK and QEMU's tests use too: a known key makes hashes comparable. */
static const uint8_t default_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* IP addresses and TCP/UDP ports, v4 and v6 (spec 5.1.6.5.6.4): what the
 * device supports of them. */
static uint32_t default_types(const struct uvio_net_info *in)
{
	return in->supported_hash_types &
	       (VIRTIO_NET_RSS_HASH_TYPE_IPv4 | VIRTIO_NET_RSS_HASH_TYPE_TCPv4 |
		VIRTIO_NET_RSS_HASH_TYPE_UDPv4 | VIRTIO_NET_RSS_HASH_TYPE_IPv6 |
		VIRTIO_NET_RSS_HASH_TYPE_TCPv6 | VIRTIO_NET_RSS_HASH_TYPE_UDPv6);
}

int uvio_net_rss_default(struct uvio_net *net)
{
	const struct uvio_net_info *in = &net->info;
	uint16_t table[RSS_TABLE_MAX], len = RSS_TABLE_MAX;
	uint8_t key_len = in->rss_max_key_size < sizeof(default_key) ?
			  in->rss_max_key_size : sizeof(default_key);

	/* Spec 5.1.4.1: the table length is a power of two. */
	while (len > 1 && len > in->rss_max_indirection_table_length)
		len /= 2;
	for (uint16_t i = 0; i < len; i++)
		table[i] = (uint16_t)(i % in->queue_pairs);
	return uvio_net_set_rss(net, default_types(in), default_key, key_len,
				table, len);
}

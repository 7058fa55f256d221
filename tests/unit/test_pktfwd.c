/* SPDX-License-Identifier: MIT */
/*
 * pktfwd's pure parts, compiled in: option parsing, the UDP/IPv4 test
 * frames (checked against checksums computed here a second, naive way),
 * io's software checksum completion, the sequence checker, the pcap writer,
 * the token bucket and the parking of threads for --reconnect.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../apps/pktfwd/options.c"
#include "../../apps/pktfwd/frame.c"
#include "../../apps/pktfwd/check.c"
#include "../../apps/pktfwd/pcap.c"
#include "../../apps/pktfwd/park.c"
/* For csum_finish (io's software checksum); its other code is not run. */
#include "../../apps/pktfwd/engine.c"
#include "../../apps/pktfwd/loop.c"
#include "../../apps/pktfwd/txonly.c"
#include "../../apps/pktfwd/idle.c"

/* ---- options ---- */

static int parse(struct pf_opts *o, char *err, const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"pktfwd";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return pf_parse_options(argc, argv, o, err, PF_ERR_MAX);
}

/* A usage error: -1 and one line naming `what`. */
#define USAGE_ERR(what, ...) do {                                           \
		struct pf_opts o_;                                          \
		char e_[PF_ERR_MAX];                                        \
		assert_int_equal(parse(&o_, e_, __VA_ARGS__, NULL), -1);    \
		assert_non_null(strstr(e_, what));                          \
		assert_null(strchr(e_, '\n'));                              \
	} while (0)

static void test_options_full(void **state)
{
	struct pf_opts o;
	char err[PF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(&o, err, "-p", "pci:0000:01:00.0", "--port",
			       "pci:02:00.0", "--mode", "txonly", "--queues", "4",
			       "--burst", "64", "--pkt-size", "1514", "--count", "2k",
			       "--duration", "1.5", "--rate", "1M",
			       "--stats-interval", "0", "--json", "--pcap", "/tmp/x",
			       "--pcap-count", "10", "--promisc", "on", "--offload",
			       "csum,rxcsum,lro", "--src-mac", "02:00:00:00:00:AA",
			       "--dst-mac", "52:54:00:12:34:56", "--src-ip", "10.0.0.1",
			       "--dst-ip", "10.0.0.255", "--src-port", "5000",
			       "--dst-port=6000", "--flows", "16", NULL), 0);
	assert_int_equal(o.nports, 2);
	assert_string_equal(o.ports[1], "pci:02:00.0");
	assert_int_equal(o.mode, PF_TXONLY);
	assert_int_equal(o.queues, 4);
	assert_int_equal(o.burst, 64);
	assert_int_equal(o.pkt_size, 1514);
	assert_int_equal(o.count, 2000);
	assert_true(o.duration == 1.5);
	assert_int_equal(o.rate, 1000000);
	assert_true(o.stats_interval == 0);
	assert_true(o.json);
	assert_string_equal(o.pcap, "/tmp/x");
	assert_int_equal(o.pcap_count, 10);
	assert_int_equal(o.promisc, 1);
	assert_int_equal(o.offloads, UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_RX_CSUM |
				     UVIO_NET_OFF_LRO);
	assert_true(o.src_mac_set);
	assert_int_equal(o.src_mac[5], 0xaa);
	assert_memory_equal(o.dst_mac, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	assert_int_equal(o.src_ip, 0x0a000001);
	assert_int_equal(o.dst_ip, 0x0a0000ff);
	assert_int_equal(o.src_port, 5000);
	assert_int_equal(o.dst_port, 6000);
	assert_int_equal(o.flows, 16);
}

static void test_options_defaults(void **state)
{
	struct pf_opts o;
	char err[PF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(&o, err, "--mode", "rxonly", "-p", "pci:1:0.0", NULL), 0);
	assert_int_equal(o.mode, PF_RXONLY);
	assert_int_equal(o.queues, 1);
	assert_int_equal(o.burst, 32);
	assert_int_equal(o.pkt_size, 64);
	assert_int_equal(o.count, 0);
	assert_int_equal(o.promisc, -1);
	assert_int_equal(o.pcap_count, 1000);
	assert_true(o.stats_interval == 1);
	assert_false(o.src_mac_set);
	assert_int_equal(o.dst_mac[0], 0xff);
	assert_int_equal(o.flows, 1);
	assert_false(o.fill_headers);
	assert_false(o.no_check);
	assert_int_equal(parse(&o, err, "--mode", "rxonly", "-p", "pci:1:0.0",
			       "--no-check", NULL), 0);
	assert_true(o.no_check);
	assert_int_equal(parse(&o, err, "--mode", "txonly", "-p", "pci:1:0.0",
			       "--fill", "headers", NULL), 0);
	assert_true(o.fill_headers);
	assert_int_equal(parse(&o, err, "--mode", "txonly", "-p", "pci:1:0.0",
			       "--fill=full", NULL), 0);
	assert_false(o.fill_headers);
	/* Parsing again starts from scratch (getopt state reset). */
	assert_int_equal(parse(&o, err, "--mode", "io", "-p", "pci:1:0.0",
			       "--burst", "512", NULL), 0);
	assert_int_equal(o.mode, PF_IO);
	assert_int_equal(o.burst, 512);
	assert_int_equal(parse(&o, err, "--help", NULL), 1);
	assert_int_equal(parse(&o, err, "-p", "pci:1:0.0", "-h", NULL), 1);
	assert_int_equal(parse(&o, err, "--version", NULL), 2);
}

/* The shared parsers (test_cli.c) as pktfwd's options take them. */
static void test_options_numbers(void **state)
{
	struct pf_opts o;
	char err[PF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(&o, err, "--mode=txonly", "--port=pci:1:0.0", "--burst", "010",
			       "--pkt-size=0128", "--duration", "2m", "--stats-interval",
			       "500ms", "--count", "3M", "--rate=2k", "--promisc", "yes",
			       NULL), 0);
	assert_int_equal(o.burst, 10);
	assert_int_equal(o.pkt_size, 128);
	assert_true(o.duration == 120);
	assert_true(o.stats_interval == 0.5);
	assert_int_equal(o.count, 3000000);
	assert_int_equal(o.rate, 2000);
	assert_int_equal(o.promisc, 1);
	assert_int_equal(parse(&o, err, "--mode", "io", "-p", "vhost-user:/s,server,queues=2",
			       "--duration=1.5s", "--reconnect", "1h", "--promisc=off",
			       "--count", "7", NULL), 0);
	assert_true(o.duration == 1.5);
	assert_true(o.reconnect == 3600);
	assert_int_equal(o.promisc, 0);
	assert_int_equal(o.count, 7);
}

static void test_options_errors(void **state)
{
	(void)state;
	USAGE_ERR("unknown mode", "-p", "pci:1:0.0", "--mode", "fwd");
	USAGE_ERR("--fill half: expected full or headers", "-p", "pci:1:0.0",
		  "--mode", "txonly", "--fill", "half");
	USAGE_ERR("--burst", "-p", "pci:1:0.0", "--mode", "io", "--burst", "0");
	USAGE_ERR("--burst", "-p", "pci:1:0.0", "--mode", "io", "--burst", "513");
	USAGE_ERR("--burst", "-p", "pci:1:0.0", "--mode", "io", "--burst", "-1");
	USAGE_ERR("--pkt-size", "-p", "pci:1:0.0", "--mode", "txonly", "--pkt-size", "59");
	USAGE_ERR("--pkt-size", "-p", "pci:1:0.0", "--mode", "txonly", "--pkt-size", "9015");
	USAGE_ERR("--queues", "-p", "pci:1:0.0", "--mode", "io", "--queues", "0");
	USAGE_ERR("--queues", "-p", "pci:1:0.0", "--mode", "io", "--queues", "2x");
	USAGE_ERR("at least one port", "--mode", "io");
	USAGE_ERR("at least one port", "--mode", "macswap");
	USAGE_ERR("at least one port", "--mode", "txonly");
	USAGE_ERR("--mode is required", "-p", "pci:1:0.0");
	USAGE_ERR("expected pci:BDF", "-p", "0000:01:00.0", "--mode", "io");
	USAGE_ERR("bad MAC", "-p", "pci:1:0.0", "--mode", "txonly", "--src-mac", "1:2:3:4:5:6");
	USAGE_ERR("bad MAC", "-p", "pci:1:0.0", "--mode", "txonly", "--dst-mac", "00:11:22:33:44:gg");
	USAGE_ERR("bad MAC", "-p", "pci:1:0.0", "--mode", "txonly", "--dst-mac", "00-11-22-33-44-55");
	USAGE_ERR("bad MAC", "-p", "pci:1:0.0", "--mode", "txonly", "--dst-mac", "00:11:22:33:44:55:");
	USAGE_ERR("bad IPv4", "-p", "pci:1:0.0", "--mode", "txonly", "--src-ip", "10.0.0");
	USAGE_ERR("bad IPv4", "-p", "pci:1:0.0", "--mode", "txonly", "--dst-ip", "10.0.0.256");
	USAGE_ERR("bad IPv4", "-p", "pci:1:0.0", "--mode", "txonly", "--dst-ip", "10.0.0.1.2");
	USAGE_ERR("bad IPv4", "-p", "pci:1:0.0", "--mode", "txonly", "--dst-ip", "1..2.3");
	USAGE_ERR("unknown option '--bogus'", "-p", "pci:1:0.0", "--mode", "io", "--bogus");
	USAGE_ERR("unknown option '-x'", "-p", "pci:1:0.0", "--mode", "io", "-x");
	USAGE_ERR("needs a value", "-p", "pci:1:0.0", "--mode", "io", "--count");
	USAGE_ERR("unexpected argument 'extra'", "-p", "pci:1:0.0", "--mode", "io", "extra");
	USAGE_ERR("--promisc", "-p", "pci:1:0.0", "--mode", "io", "--promisc", "maybe");
	USAGE_ERR("--offload", "-p", "pci:1:0.0", "--mode", "io", "--offload", "csum,gso");
	USAGE_ERR("--offload", "-p", "pci:1:0.0", "--mode", "io", "--offload", "csum,");
	USAGE_ERR("--duration", "-p", "pci:1:0.0", "--mode", "io", "--duration", "0");
	USAGE_ERR("--duration", "-p", "pci:1:0.0", "--mode", "io", "--duration", "1x");
	USAGE_ERR("--duration", "-p", "pci:1:0.0", "--mode", "io", "--duration", "-1");
	USAGE_ERR("--stats-interval", "-p", "pci:1:0.0", "--mode", "io", "--stats-interval", "1e3");
	/* Decimal only: no octal, hex or k suffix where a count is not meant. */
	USAGE_ERR("--burst: '0x10' is not a decimal number", "-p", "pci:1:0.0", "--mode", "io",
		  "--burst", "0x10");
	USAGE_ERR("--pkt-size: '1k' is not a decimal number", "-p", "pci:1:0.0", "--mode",
		  "txonly", "--pkt-size", "1k");
	USAGE_ERR("--count", "-p", "pci:1:0.0", "--mode", "io", "--count", "2kk");
	USAGE_ERR("--count", "-p", "pci:1:0.0", "--mode", "io", "--count", "k");
	USAGE_ERR("--json takes no value", "-p", "pci:1:0.0", "--mode", "io", "--json=1");
	/* A malformed DEV is a usage error (main: exit 2), not a failed open. */
	USAGE_ERR("-p 'pci:zz': not a PCI address", "-p", "pci:zz", "--mode", "io");
	USAGE_ERR("expected pci:BDF", "--mode", "io", "-p", "foo:1");
	USAGE_ERR("bad option 'fast'", "--mode", "io", "-p", "vhost-user:/s,fast");
	USAGE_ERR("no socket path", "--mode", "io", "-p", "vhost-user:");
	USAGE_ERR("--count", "-p", "pci:1:0.0", "--mode", "io", "--count", "0");
	USAGE_ERR("--src-port", "-p", "pci:1:0.0", "--mode", "txonly", "--src-port", "65530",
		  "--flows", "10");
	USAGE_ERR("--rate", "-p", "pci:1:0.0", "--mode", "txonly", "--queues", "4",
		  "--rate", "3");
	USAGE_ERR("--reconnect", "-p", "vhost-user:/s", "--mode", "io", "--reconnect", "0");
	USAGE_ERR("--reconnect", "-p", "vhost-user:/s", "--mode", "io", "--reconnect", "x");
	USAGE_ERR("--reconnect", "-p", "vhost-user:/s", "--mode", "io", "--reconnect",
		  "86401");
	USAGE_ERR("needs a value", "-p", "vhost-user:/s", "--mode", "io", "--reconnect");
}

static void test_options_reconnect(void **state)
{
	struct pf_opts o;
	char err[PF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(&o, err, "--mode", "rxonly", "-p", "vhost-user:/s", NULL), 0);
	assert_true(o.reconnect == 0);
	assert_int_equal(parse(&o, err, "--mode", "txonly", "-p", "vhost-user:/s",
			       "--reconnect", "20", NULL), 0);
	assert_true(o.reconnect == 20);
	assert_int_equal(parse(&o, err, "--mode", "io", "-p", "pci:1:0.0",
			       "--reconnect=0.25", NULL), 0);
	assert_true(o.reconnect == 0.25);
}

/* --idle-sleep N: empty rounds before sleeping; off by default. */
static void test_options_idle_sleep(void **state)
{
	struct pf_opts o;
	char err[PF_ERR_MAX];

	(void)state;
	assert_int_equal(parse(&o, err, "--mode", "io", "-p", "pci:1:0.0", NULL), 0);
	assert_int_equal(o.idle_sleep, 0);
	assert_int_equal(parse(&o, err, "--mode", "rxonly", "-p", "pci:1:0.0",
			       "--idle-sleep", "1000", NULL), 0);
	assert_int_equal(o.idle_sleep, 1000);
	USAGE_ERR("idle-sleep", "--mode", "io", "-p", "pci:1:0.0", "--idle-sleep", "0");
	USAGE_ERR("idle-sleep", "--mode", "io", "-p", "pci:1:0.0", "--idle-sleep", "x");
}

static void test_options_vlan(void **state)
{
	struct pf_opts o;
	char err[PF_ERR_MAX];
	char *argv[4 + 2 * (PF_MAX_VLANS + 1) + 1] = {
		(char *)"pktfwd", (char *)"-p", (char *)"pci:1:0.0",
		(char *)"--mode=rxonly",
	};
	char vids[PF_MAX_VLANS + 1][8];
	int argc = 4;

	(void)state;
	assert_int_equal(parse(&o, err, "--mode", "rxonly", "-p", "pci:1:0.0", NULL), 0);
	assert_int_equal(o.nvlans, 0);
	/* Repeatable, both ends of the range, a repeat kept once. */
	assert_int_equal(parse(&o, err, "--mode", "rxonly", "-p", "pci:1:0.0",
			       "--vlan", "100", "--vlan=4095", "--vlan", "1",
			       "--vlan", "100", NULL), 0);
	assert_int_equal(o.nvlans, 3);
	assert_int_equal(o.vlans[0], 100);
	assert_int_equal(o.vlans[1], 4095);
	assert_int_equal(o.vlans[2], 1);
	/* Parsing again starts with an empty list. */
	assert_int_equal(parse(&o, err, "--mode", "io", "-p", "pci:1:0.0", NULL), 0);
	assert_int_equal(o.nvlans, 0);

	USAGE_ERR("--vlan 0: expected a VLAN ID in 1..4095", "-p", "pci:1:0.0",
		  "--mode", "rxonly", "--vlan", "0");
	USAGE_ERR("--vlan 4096: expected a VLAN ID in 1..4095", "-p", "pci:1:0.0",
		  "--mode", "rxonly", "--vlan", "4096");
	USAGE_ERR("--vlan", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan", "-1");
	USAGE_ERR("--vlan", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan", " 1");
	USAGE_ERR("--vlan", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan", "1k");
	USAGE_ERR("--vlan", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan", "10x");
	USAGE_ERR("--vlan", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan", "");
	USAGE_ERR("--vlan", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan",
		  "99999999999999999999");
	USAGE_ERR("needs a value", "-p", "pci:1:0.0", "--mode", "rxonly", "--vlan");

	/* PF_MAX_VLANS distinct VIDs fit; one more is refused. */
	for (int i = 0; i <= PF_MAX_VLANS; i++) {
		snprintf(vids[i], sizeof(vids[i]), "%d", 10 + i);
		argv[argc++] = (char *)"--vlan";
		argv[argc++] = vids[i];
	}
	assert_int_equal(pf_parse_options(argc - 2, argv, &o, err, sizeof(err)), 0);
	assert_int_equal(o.nvlans, PF_MAX_VLANS);
	assert_int_equal(o.vlans[PF_MAX_VLANS - 1], 10 + PF_MAX_VLANS - 1);
	assert_int_equal(pf_parse_options(argc, argv, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many --vlan"));
}

static void test_parse_addresses(void **state)
{
	uint8_t mac[6];
	uint32_t ip;

	(void)state;
	assert_int_equal(pf_parse_mac("aA:bB:01:23:45:67", mac), 0);
	assert_memory_equal(mac, ((uint8_t[]){ 0xaa, 0xbb, 1, 0x23, 0x45, 0x67 }), 6);
	assert_int_equal(pf_parse_mac("", mac), -1);
	assert_int_equal(pf_parse_ipv4("0.0.0.0", &ip), 0);
	assert_int_equal(ip, 0);
	assert_int_equal(pf_parse_ipv4("255.255.255.255", &ip), 0);
	assert_int_equal(ip, 0xffffffffu);
	assert_int_equal(pf_parse_ipv4("1.2.3.4 ", &ip), -1);
	assert_int_equal(pf_parse_ipv4("0001.2.3.4", &ip), -1);
}

/* ---- frames: checked against a second, naive computation ---- */

/* RFC 1071 the slow way: 16-bit words, carries folded at every step. */
static uint16_t naive_csum(const uint8_t *p, size_t len, uint32_t start)
{
	uint32_t sum = start;

	for (size_t i = 0; i < len; i += 2) {
		uint16_t w = (uint16_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));

		sum += w;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* The UDP checksum over a pseudo header built as its own buffer. */
static uint16_t naive_udp_csum(const uint8_t *frame)
{
	const uint8_t *ip = frame + 14, *udp = frame + 34;
	unsigned ulen = (unsigned)(udp[4] << 8 | udp[5]);
	uint8_t buf[12 + PF_MAX_FRAME];

	memcpy(buf, ip + 12, 8);                /* source, destination */
	buf[8] = 0;
	buf[9] = 17;
	buf[10] = (uint8_t)(ulen >> 8);
	buf[11] = (uint8_t)ulen;
	memcpy(buf + 12, udp, ulen);
	buf[12 + 6] = buf[12 + 7] = 0;          /* the checksum field */
	return naive_csum(buf, 12 + ulen, 0);
}

/* CRC-32C bit by bit. */
static uint32_t naive_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void params(struct pf_frame_params *p, unsigned len)
{
	static const uint8_t src[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	memset(p, 0, sizeof(*p));
	memcpy(p->src_mac, src, 6);
	memset(p->dst_mac, 0xff, 6);
	p->src_ip = 0xc6120001;
	p->dst_ip = 0xc6120002;
	p->src_port = 1024;
	p->dst_port = 1025;
	p->len = len;
}

static void test_crc32c(void **state)
{
	static const uint8_t v[] = "123456789";
	uint8_t buf[1000];

	(void)state;
	assert_int_equal(pf_crc32c(0, v, 9), 0xe3069283u);     /* the check value */
	assert_int_equal(crc32c_sw(0, v, 9), 0xe3069283u);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len < 40; len++)
		assert_int_equal(pf_crc32c(0, buf + 1, len),
				 naive_crc32c(0, buf + 1, len));
	assert_int_equal(pf_crc32c(pf_crc32c(0, buf, 333), buf + 333, 667),
			 naive_crc32c(0, buf, 1000));
	assert_int_equal(crc32c_sw(0, buf, 1000), naive_crc32c(0, buf, 1000));
}

static void test_frame_build(void **state)
{
	static const unsigned sizes[] = { 60, 61, 64, 65, 128, 1001, 1514, 9014 };
	static struct pf_frame_tmpl t;
	static uint8_t f[PF_MAX_FRAME + 16];
	struct pf_frame_params p;

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned len = sizes[s];

		params(&p, len);
		pf_tmpl_init(&t, &p);
		assert_int_equal(t.len, len);
		for (uint64_t seq = 0; seq < 2000; seq += 97) {
			uint32_t flow = (uint32_t)(seq * 2654435761u);
			uint16_t poff = (uint16_t)(seq % 7);
			const uint8_t *ip = f + 14, *udp = f + 34, *pl = f + 42;
			uint32_t crc;

			memset(f, 0xee, sizeof(f));
			pf_frame_write(&t, f, flow, poff, seq | (seq << 40), false);
			/* Ethernet, IPv4 header fields */
			assert_memory_equal(f, p.dst_mac, 6);
			assert_memory_equal(f + 6, p.src_mac, 6);
			assert_int_equal(pf_get16(f + 12), 0x0800);
			assert_int_equal(ip[0], 0x45);
			assert_int_equal(pf_get16(ip + 2), len - 14);
			assert_int_equal(ip[9], 17);
			assert_int_equal(pf_get32(ip + 12), p.src_ip);
			assert_int_equal(pf_get32(ip + 16), p.dst_ip);
			/* IPv4 header checksum: the stored value is what a
			 * fresh computation with the field zeroed gives */
			{
				uint8_t h[20];

				memcpy(h, ip, 20);
				h[10] = h[11] = 0;
				assert_int_equal(pf_get16(ip + 10), naive_csum(h, 20, 0));
			}
			/* UDP */
			assert_int_equal(pf_get16(udp), 1024 + poff);
			assert_int_equal(pf_get16(udp + 2), 1025);
			assert_int_equal(pf_get16(udp + 4), len - 34);
			{
				uint16_t want = naive_udp_csum(f);

				assert_int_equal(pf_get16(udp + 6), want ? want : 0xffff);
			}
			/* payload */
			assert_int_equal(pf_get16(pl), PF_PAYLOAD_MAGIC);
			assert_int_equal(pf_get32(pl + 2), flow);
			assert_int_equal(pf_get64(pl + 6), seq | (seq << 40));
			crc = naive_crc32c(0, pl + 18, len - 42 - 18);
			crc = naive_crc32c(crc, pl, 14);
			assert_int_equal(pf_get32(pl + 14), crc);
			assert_int_equal(f[len], 0xee);     /* nothing past the end */
		}
	}
}

/* --fill headers: the same 42 header bytes as a full frame but for the UDP
 * checksum, which says "none"; not one byte of payload written. */
static void test_frame_headers_only(void **state)
{
	static struct pf_frame_tmpl t;
	static uint8_t full[PF_MAX_FRAME], f[PF_MAX_FRAME];
	struct pf_frame_params p;

	(void)state;
	params(&p, 1514);
	pf_tmpl_init(&t, &p);
	for (uint16_t poff = 0; poff < 5; poff++) {
		memset(f, 0xee, sizeof(f));
		pf_frame_write(&t, full, 7, poff, 9, false);
		pf_frame_write_headers(&t, f, poff);
		assert_memory_equal(f, full, PF_HDRS_LEN - 2);
		assert_int_equal(pf_get16(f + 34), 1024 + poff);
		assert_int_equal(pf_get16(f + 40), 0);      /* RFC 768: no checksum */
		for (unsigned i = PF_HDRS_LEN; i < 1514; i++)
			assert_int_equal(f[i], 0xee);
	}
}

/* With offload the field holds the folded pseudo-header sum; the device's
 * sum over the UDP part then gives the same checksum as the full path. */
static void test_frame_partial_csum(void **state)
{
	static struct pf_frame_tmpl t;
	static uint8_t full[PF_MAX_FRAME], part[PF_MAX_FRAME];
	struct pf_frame_params p;

	(void)state;
	params(&p, 333);
	pf_tmpl_init(&t, &p);
	pf_frame_write(&t, full, 7, 3, 12345, false);
	pf_frame_write(&t, part, 7, 3, 12345, true);
	assert_memory_equal(full, part, 40);
	assert_memory_equal(full + 42, part + 42, 333 - 42);
	/* what the device does: checksum from csum_start to the end */
	{
		uint16_t dev = naive_csum(part + 34, 333 - 34, 0);

		assert_int_equal(dev ? dev : 0xffff, pf_get16(full + 40));
	}
}

/* A fake packet segment holding bytes [from, to) of frame f. */
static struct uvio_pkt *seg_of(const uint8_t *f, unsigned from, unsigned to)
{
	struct uvio_pkt *p = calloc(1, sizeof(*p) + 64 + (to - from));

	assert_non_null(p);
	p->data_off = (uint16_t)(sizeof(*p) + 64);
	p->data_len = (uint16_t)(to - from);
	memcpy(uvio_pkt_data(p), f + from, to - from);
	return p;
}

/* io finishing a partial checksum itself, over chains cut at odd and
 * even places, gives the checksum the generator computes in full. */
static void test_csum_finish(void **state)
{
	static struct pf_frame_tmpl t;
	static uint8_t full[PF_MAX_FRAME], part[PF_MAX_FRAME];
	static const unsigned cuts[][2] = {
		{ 0, 0 }, { 101, 0 }, { 100, 0 }, { 77, 78 }, { 77, 200 },
		{ 60, 61 },
	};
	struct pf_frame_params p;

	(void)state;
	params(&p, 333);
	pf_tmpl_init(&t, &p);
	for (uint64_t seq = 0; seq < 50; seq++) {
		pf_frame_write(&t, full, 1, 0, seq * 7919, false);
		pf_frame_write(&t, part, 1, 0, seq * 7919, true);
		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			unsigned a = cuts[c][0] ? cuts[c][0] : 333;
			unsigned b = cuts[c][1] ? cuts[c][1] : 333;
			struct uvio_pkt *h = seg_of(part, 0, a), *s;

			h->next = a < 333 ? seg_of(part, a, b) : NULL;
			if (h->next && b < 333)
				h->next->next = seg_of(part, b, 333);
			h->ol_flags = UVIO_PKT_RX_CSUM_NONE;
			h->csum_start = 34;
			h->csum_offset = 6;
			tx_flags(&h, 1, false);
			assert_int_equal(h->ol_flags, 0);
			assert_int_equal(pf_get16((uint8_t *)uvio_pkt_data(h) + 40),
					 pf_get16(full + 40));
			h->ol_flags = UVIO_PKT_RX_CSUM_NONE;
			tx_flags(&h, 1, true);  /* the out port's offload does it */
			assert_int_equal(h->ol_flags, UVIO_PKT_TX_CSUM);
			for (s = h; s;) {
				struct uvio_pkt *n = s->next;

				free(s);
				s = n;
			}
		}
	}
}

/* ---- checker ---- */

static struct pf_frame_tmpl ck_tmpl;

static void feed(struct pf_checker *ck, uint32_t flow, uint64_t seq)
{
	uint8_t f[128];

	pf_frame_write(&ck_tmpl, f, flow, 0, seq, false);
	pf_check_frame(ck, f, ck_tmpl.len, false, false);
}

static int ck_setup(void **state)
{
	struct pf_frame_params p;
	struct pf_checker *ck = calloc(1, sizeof(*ck));

	params(&p, 100);
	pf_tmpl_init(&ck_tmpl, &p);
	assert_non_null(ck);
	assert_int_equal(pf_checker_init(ck, 1), 0);
	*state = ck;
	return 0;
}

static int ck_teardown(void **state)
{
	pf_checker_fini(*state);
	free(*state);
	return 0;
}

static void assert_counts(const struct pf_checker *ck, uint64_t rx,
			  uint64_t lost, uint64_t dup, uint64_t reord,
			  uint64_t corrupt)
{
	assert_int_equal(ck->c.received, rx);
	assert_int_equal(ck->c.lost, lost);
	assert_int_equal(ck->c.dup, dup);
	assert_int_equal(ck->c.reordered, reord);
	assert_int_equal(ck->c.corrupt, corrupt);
}

static void test_check_clean(void **state)
{
	struct pf_checker *ck = *state;

	for (uint64_t s = 0; s < 5000; s++)
		feed(ck, 1, s);
	for (uint64_t s = 0; s < 10; s++)       /* another flow, own sequence */
		feed(ck, 2, s);
	assert_counts(ck, 5010, 0, 0, 0, 0);
	assert_int_equal(ck->c.foreign, 0);
}

static void test_check_gap_dup_reorder(void **state)
{
	struct pf_checker *ck = *state;

	feed(ck, 9, 0);
	feed(ck, 9, 1);
	feed(ck, 9, 3);                 /* 2 missing */
	assert_counts(ck, 3, 1, 0, 0, 0);
	feed(ck, 9, 3);                 /* duplicate */
	assert_counts(ck, 4, 1, 1, 0, 0);
	feed(ck, 9, 2);                 /* late: reordered, not lost any more */
	assert_counts(ck, 5, 0, 1, 1, 0);
	feed(ck, 9, 2);                 /* and now a duplicate */
	assert_counts(ck, 6, 0, 2, 1, 0);
	feed(ck, 9, 5000);              /* a gap bigger than the window */
	assert_counts(ck, 7, 4996, 2, 1, 0);
	feed(ck, 9, 4999);
	assert_counts(ck, 8, 4995, 2, 2, 0);
	feed(ck, 9, 4999);
	assert_counts(ck, 9, 4995, 3, 2, 0);
	feed(ck, 10, 4);                /* a new flow that lost its start */
	assert_counts(ck, 10, 4999, 3, 2, 0);
}

static void test_check_corrupt(void **state)
{
	struct pf_checker *ck = *state;
	uint8_t f[128];

	pf_frame_write(&ck_tmpl, f, 3, 0, 0, false);
	f[80] ^= 0x10;                  /* payload byte: UDP sum and crc break */
	pf_check_frame(ck, f, ck_tmpl.len, false, false);
	assert_counts(ck, 1, 0, 0, 0, 1);
	/* the device vouched for the L4 sum: the crc alone catches it */
	pf_check_frame(ck, f, ck_tmpl.len, true, false);
	assert_counts(ck, 2, 0, 0, 0, 2);
	pf_frame_write(&ck_tmpl, f, 3, 0, 0, false);
	f[14 + 8] ^= 1;                 /* IPv4 TTL: header checksum */
	pf_check_frame(ck, f, ck_tmpl.len, true, false);
	assert_counts(ck, 3, 0, 0, 0, 3);
	pf_frame_write(&ck_tmpl, f, 3, 0, 0, false);
	pf_check_frame(ck, f, ck_tmpl.len - 1, false, false);  /* truncated */
	assert_counts(ck, 4, 0, 0, 0, 4);
	/* a corrupt frame says nothing about the sequence */
	feed(ck, 3, 0);
	assert_counts(ck, 5, 0, 0, 0, 4);
	/* not ours: ARP, another UDP frame, a runt */
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[13] = 0x06;
	pf_check_frame(ck, f, 60, false, false);
	pf_frame_write(&ck_tmpl, f, 3, 0, 0, false);
	f[42] = 0;                      /* payload magic */
	pf_check_frame(ck, f, ck_tmpl.len, false, false);
	pf_check_frame(ck, f, 20, false, false);
	assert_int_equal(ck->c.foreign, 3);
	assert_counts(ck, 5, 0, 0, 0, 4);
}

static void test_check_many_flows(void **state)
{
	struct pf_checker *ck = *state;

	for (uint64_t s = 0; s < 3; s++)
		for (uint32_t fl = 0; fl < 5000; fl++)
			if (!(fl == 77 && s == 1))
				feed(ck, fl * 65537u, s);
	assert_counts(ck, 14999, 1, 0, 0, 0);
	assert_int_equal(ck->used, 5000);
	assert_true(ck->cap >= 10000);
}

/* ---- pcap ---- */

static void test_pcap(void **state)
{
	char path[] = "/tmp/test_pktfwd_XXXXXX";
	int fd = mkstemp(path);
	struct pf_pcap pc;
	char err[PF_ERR_MAX];
	uint8_t a[300], b[50], got[400];
	const void *seg[2] = { a, b };
	uint32_t len[2] = { 300, 50 };
	FILE *f;
	uint32_t h[6], r[4];
	uint16_t ver[2];

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)i;
	memset(b, 0xbb, sizeof(b));
	assert_int_equal(pf_pcap_open(&pc, path, 200, 3, err, sizeof(err)), 0);
	pf_pcap_write(&pc, seg, len, 1, 60, 1700000000123456789ull);   /* 60 of a */
	pf_pcap_write(&pc, seg, len, 2, 350, 5);        /* cut at snaplen */
	pf_pcap_write(&pc, seg, len, 1, 400, 6);        /* claims more than given */
	pf_pcap_write(&pc, seg, len, 1, 60, 7);         /* past the limit */
	assert_true(pf_pcap_full(&pc));
	assert_int_equal(pf_pcap_close(&pc), 0);

	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(h, 4, 2, f), 2);
	memcpy(ver, &h[1], 4);
	assert_int_equal(h[0], 0xa1b2c3d4u);
	assert_int_equal(ver[0], 2);
	assert_int_equal(ver[1], 4);
	assert_int_equal(fread(h, 4, 4, f), 4);
	assert_int_equal(h[0], 0);              /* thiszone */
	assert_int_equal(h[2], 200);            /* snaplen */
	assert_int_equal(h[3], 1);              /* LINKTYPE_ETHERNET */

	assert_int_equal(fread(r, 4, 4, f), 4);
	assert_int_equal(r[0], 1700000000u);
	assert_int_equal(r[1], 123456);
	assert_int_equal(r[2], 60);
	assert_int_equal(r[3], 60);
	assert_int_equal(fread(got, 1, 60, f), 60);
	assert_memory_equal(got, a, 60);

	assert_int_equal(fread(r, 4, 4, f), 4);
	assert_int_equal(r[2], 200);
	assert_int_equal(r[3], 350);
	assert_int_equal(fread(got, 1, 200, f), 200);
	assert_memory_equal(got, a, 200);

	assert_int_equal(fread(r, 4, 4, f), 4);
	assert_int_equal(r[2], 200);            /* snaplen, within the 300 given */
	assert_int_equal(r[3], 400);
	assert_int_equal(fread(got, 1, 200, f), 200);
	assert_int_equal(fread(got, 1, 1, f), 0);       /* three records only */
	fclose(f);
	unlink(path);

	/* the second segment is used when the record spans it */
	assert_int_equal(pf_pcap_open(&pc, path, 65535, 10, err, sizeof(err)), 0);
	pf_pcap_write(&pc, seg, len, 2, 350, 0);
	assert_int_equal(pf_pcap_close(&pc), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 24, SEEK_SET), 0);
	assert_int_equal(fread(r, 4, 4, f), 4);
	assert_int_equal(r[2], 350);
	assert_int_equal(fread(got, 1, 350, f), 350);
	assert_memory_equal(got, a, 300);
	assert_memory_equal(got + 300, b, 50);
	fclose(f);
	unlink(path);

	assert_int_equal(pf_pcap_open(&pc, "/nonexistent/dir/x.pcap", 100, 1,
				      err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.pcap"));
}

/* ---- pacing ---- */

#define MS 1000000ull

static void test_token_bucket(void **state)
{
	struct pf_tbucket tb;
	uint64_t t0 = 5 * 1000 * MS, total = 0;

	(void)state;
	pf_tb_init(&tb, 1000, 32, t0);
	assert_int_equal(pf_tb_take(&tb, 32, t0), 0);           /* starts empty */
	assert_int_equal(pf_tb_take(&tb, 32, t0 + MS / 2), 0);
	assert_int_equal(pf_tb_take(&tb, 32, t0 + MS), 1);      /* 1 per ms */
	assert_int_equal(pf_tb_take(&tb, 32, t0 + 11 * MS), 10);
	assert_int_equal(pf_tb_take(&tb, 4, t0 + 21 * MS), 4);  /* 6 stay */
	assert_int_equal(pf_tb_take(&tb, 32, t0 + 21 * MS), 6);
	/* an idle second fills the bucket to its depth, no more */
	assert_int_equal(pf_tb_take(&tb, 500, t0 + 2000 * MS), 32);
	assert_int_equal(pf_tb_take(&tb, 500, t0 + 2000 * MS), 0);
	/* time going backwards adds nothing */
	assert_int_equal(pf_tb_take(&tb, 500, t0), 0);

	/* 3 s of polling every 37 us at 1 Mpps: 3M packets, give or take the
	 * bucket */
	pf_tb_init(&tb, 1000000, 64, 0);
	for (uint64_t t = 0; t <= 3000 * MS; t += 37000)
		total += pf_tb_take(&tb, 64, t);
	assert_true(total >= 3000000 - 64 && total <= 3000000);

	/* huge rates do not overflow */
	pf_tb_init(&tb, 1000000000000ull, 512, 0);
	assert_int_equal(pf_tb_take(&tb, 512, 3600ull * 1000 * MS), 512);
	pf_tb_init(&tb, 0, 32, 0);
	assert_int_equal(pf_tb_take(&tb, 32, 1000 * MS), 0);
}

static void test_share(void **state)
{
	uint64_t sum = 0;

	(void)state;
	assert_int_equal(pf_share(10, 3, 0), 4);
	assert_int_equal(pf_share(10, 3, 1), 3);
	assert_int_equal(pf_share(10, 3, 2), 3);
	assert_int_equal(pf_share(2, 4, 3), 0);
	for (unsigned i = 0; i < 7; i++)
		sum += pf_share(1000003, 7, i);
	assert_int_equal(sum, 1000003);
}

/* ---- parking the threads (--reconnect) ---- */

#define PARK_THREADS 3

struct park_test {
	struct pf_park pk;
	atomic_bool stop;
	atomic_uint busy;            /* threads inside "uvio_net_*" now */
	atomic_uint_fast64_t work[PARK_THREADS];
	unsigned quit_after[PARK_THREADS]; /* loops, then exit; 0 never */
	struct park_arg {
		struct park_test *pt;
		unsigned id;
	} arg[PARK_THREADS];
};

static void *park_thread(void *arg)
{
	/* The id is the creation index: tid[i] is the thread with id i (the
	 * test joins tid[2] as the one that quits). */
	struct park_test *pt = ((struct park_arg *)arg)->pt;
	unsigned id = ((struct park_arg *)arg)->id;
	uint64_t loops = 0;

	while (!atomic_load(&pt->stop)) {
		if (pf_park_requested(&pt->pk)) {
			pf_park_here(&pt->pk, &pt->stop);
			continue;
		}
		/* A burst: the control thread must never see it from a park. */
		atomic_fetch_add(&pt->busy, 1);
		atomic_fetch_add(&pt->work[id], 1);
		atomic_fetch_sub(&pt->busy, 1);
		if (pt->quit_after[id] && ++loops == pt->quit_after[id])
			break;
	}
	pf_park_exit(&pt->pk);
	return NULL;
}

static void test_park(void **state)
{
	struct park_test *pt = calloc(1, sizeof(*pt));
	pthread_t tid[PARK_THREADS];
	unsigned rounds = 0;

	(void)state;
	assert_non_null(pt);
	assert_int_equal(pf_park_init(&pt->pk, PARK_THREADS), 0);
	pt->quit_after[2] = 20000;   /* one thread ends on its own midway */
	for (unsigned i = 0; i < PARK_THREADS; i++) {
		pt->arg[i] = (struct park_arg){ pt, i };
		assert_int_equal(pthread_create(&tid[i], NULL, park_thread, &pt->arg[i]), 0);
	}
	for (; rounds < 200; rounds++) {
		uint64_t before[PARK_THREADS];

		assert_true(pf_park_all(&pt->pk, &pt->stop));
		/* Everyone running is parked: nobody is inside, nobody moves. */
		assert_int_equal(atomic_load(&pt->busy), 0);
		for (unsigned i = 0; i < 2; i++)
			before[i] = atomic_load(&pt->work[i]);
		usleep(200);
		for (unsigned i = 0; i < 2; i++)
			assert_int_equal(atomic_load(&pt->work[i]), before[i]);
		assert_int_equal(atomic_load(&pt->busy), 0);
		pf_park_release(&pt->pk);
		/* ... and after the release they work again. */
		while (atomic_load(&pt->work[0]) == before[0] ||
		       atomic_load(&pt->work[1]) == before[1])
			sched_yield();
	}
	pthread_join(tid[2], NULL);
	assert_int_equal(atomic_load(&pt->work[2]), 20000);
	pthread_mutex_lock(&pt->pk.lock);
	assert_int_equal(pt->pk.running, 2);  /* thread 2 has left */
	pthread_mutex_unlock(&pt->pk.lock);
	assert_true(pf_park_all(&pt->pk, &pt->stop));  /* without it */
	pf_park_release(&pt->pk);

	/* A stop while parked: the threads leave the park and end. */
	assert_true(pf_park_all(&pt->pk, &pt->stop));
	atomic_store(&pt->stop, true);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pf_park_release(&pt->pk);
	assert_int_equal(pt->pk.running, 0);
	assert_int_equal(pt->pk.parked, 0);
	pf_park_fini(&pt->pk);
	free(pt);
}

/* Edge cases: nobody to wait for; a stop while waiting; a thread that
 * arrives after the release does not wait. */
static void test_park_edges(void **state)
{
	struct pf_park pk;
	atomic_bool stop;

	(void)state;
	atomic_init(&stop, false);
	assert_int_equal(pf_park_init(&pk, 0), 0);
	assert_true(pf_park_all(&pk, &stop));
	pf_park_release(&pk);
	pf_park_fini(&pk);

	assert_int_equal(pf_park_init(&pk, 1), 0);
	atomic_store(&stop, true);
	assert_false(pf_park_all(&pk, &stop));  /* the one thread never came */
	pf_park_release(&pk);
	assert_false(pf_park_requested(&pk));
	atomic_store(&stop, false);
	pf_park_here(&pk, &stop);               /* not asked: returns at once */
	assert_int_equal(pk.parked, 0);
	assert_int_equal(pk.epoch, 1);
	pf_park_fini(&pk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_full),
		cmocka_unit_test(test_options_defaults),
		cmocka_unit_test(test_options_numbers),
		cmocka_unit_test(test_options_errors),
		cmocka_unit_test(test_options_reconnect),
		cmocka_unit_test(test_options_vlan),
		cmocka_unit_test(test_options_idle_sleep),
		cmocka_unit_test(test_parse_addresses),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_frame_build),
		cmocka_unit_test(test_frame_headers_only),
		cmocka_unit_test(test_frame_partial_csum),
		cmocka_unit_test(test_csum_finish),
		cmocka_unit_test_setup_teardown(test_check_clean, ck_setup, ck_teardown),
		cmocka_unit_test_setup_teardown(test_check_gap_dup_reorder, ck_setup,
						ck_teardown),
		cmocka_unit_test_setup_teardown(test_check_corrupt, ck_setup, ck_teardown),
		cmocka_unit_test_setup_teardown(test_check_many_flows, ck_setup,
						ck_teardown),
		cmocka_unit_test(test_pcap),
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_park),
		cmocka_unit_test(test_park_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * pktfwd test frames: Ethernet + IPv4 (RFC 791) + UDP (RFC 768) with a
 * payload that says who sent it and in what order (check.c reads it back),
 * and the token bucket that paces txonly.
 *
 * Payload (network byte order, right after the UDP header):
 *   0  u16 magic 0x5556       6  u64 sequence number (per flow)
 *   2  u32 flow id           14  u32 crc32c of bytes 18..end, then 0..13
 *   18 filler: byte i = i * 31 + 7
 * The IPv4 identification is 0x7066 too, so a stray UDP frame matches both
 * magics with odds of 2^-32. 18 payload bytes are what a 60-byte frame
 * holds. The crc covers the filler first so that the generator computes
 * it once per template and only feeds 14 bytes per frame.
 */
#include <stdlib.h>
#include <string.h>

#include "pktfwd.h"

/* ---- checksums ---- */

#define CRC32C_POLY 0x82f63b78u  /* Castagnoli, reflected */

static uint32_t crc_tab[8][256];

static void crc_tab_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ CRC32C_POLY : c >> 1;
		crc_tab[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = crc_tab[t - 1][i] >> 8 ^
					crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* Slicing by 8; chainable like zlib's crc32(): pass the previous result. */
static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint32_t c = ~crc;

	pthread_once(&crc_once, crc_tab_init);
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= c;
		c = crc_tab[7][lo & 0xff] ^ crc_tab[6][lo >> 8 & 0xff] ^
		    crc_tab[5][lo >> 16 & 0xff] ^ crc_tab[4][lo >> 24] ^
		    crc_tab[3][hi & 0xff] ^ crc_tab[2][hi >> 8 & 0xff] ^
		    crc_tab[1][hi >> 16 & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = c >> 8 ^ crc_tab[0][(c ^ *p++) & 0xff];
	return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

uint32_t pf_crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}

/* Ones' complement sum of big-endian 16-bit words, not folded. */
uint64_t pf_sum16(uint64_t sum, const uint8_t *p, size_t len)
{
	while (len >= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t pf_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* RFC 1071 checksum of a buffer: 0 over a buffer that holds its own. */
uint16_t pf_inet_csum(const void *buf, size_t len)
{
	return (uint16_t)~pf_fold(pf_sum16(0, buf, len));
}

/* ---- generator ---- */

#define OFF_IP   PF_ETH_HLEN
#define OFF_UDP  (PF_ETH_HLEN + PF_IP_HLEN)
#define OFF_PL   PF_HDRS_LEN

uint64_t pf_pseudo_sum(uint32_t src, uint32_t dst, unsigned udp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	       17 + udp_len;
}

void pf_tmpl_init(struct pf_frame_tmpl *t, const struct pf_frame_params *p)
{
	uint8_t *f = t->bytes, *ip = f + OFF_IP, *udp = f + OFF_UDP;
	uint8_t *pl = f + OFF_PL;
	unsigned udp_len = p->len - OFF_UDP;

	memset(t, 0, sizeof(*t));
	t->len = p->len;
	t->src_port = p->src_port;
	memcpy(f, p->dst_mac, 6);
	memcpy(f + 6, p->src_mac, 6);
	pf_put16(f + 12, 0x0800);

	ip[0] = 0x45;                           /* version 4, 5 words */
	pf_put16(ip + 2, (uint16_t)(p->len - OFF_IP));
	pf_put16(ip + 4, PF_IP_ID_MAGIC);
	pf_put16(ip + 6, 0x4000);                  /* DF, offset 0 */
	ip[8] = 64;
	ip[9] = 17;
	pf_put32(ip + 12, p->src_ip);
	pf_put32(ip + 16, p->dst_ip);
	pf_put16(ip + 10, pf_inet_csum(ip, PF_IP_HLEN));

	/* Source port and checksum stay 0 here: they vary per frame. */
	pf_put16(udp + 2, p->dst_port);
	pf_put16(udp + 4, (uint16_t)udp_len);
	pf_put16(pl, PF_PAYLOAD_MAGIC);
	for (unsigned i = PF_PAYLOAD_HDR; i < udp_len - PF_UDP_HLEN; i++)
		pl[i] = (uint8_t)(i * 31 + 7);

	t->pseudo_sum = pf_pseudo_sum(p->src_ip, p->dst_ip, udp_len);
	t->udp_sum_base = pf_sum16(t->pseudo_sum, udp, udp_len);
	t->filler_crc = pf_crc32c(0, pl + PF_PAYLOAD_HDR,
				  udp_len - PF_UDP_HLEN - PF_PAYLOAD_HDR);
}

void pf_frame_write(const struct pf_frame_tmpl *t, void *out, uint32_t flow,
		    uint16_t flow_port_off, uint64_t seq, bool partial_csum)
{
	uint8_t *f = out, *udp = f + OFF_UDP, *pl = f + OFF_PL;
	uint16_t sport = (uint16_t)(t->src_port + flow_port_off);
	uint32_t crc;
	uint64_t sum;

	memcpy(f, t->bytes, t->len);
	pf_put16(udp, sport);
	pf_put32(pl + 2, flow);
	pf_put64(pl + 6, seq);
	crc = pf_crc32c(t->filler_crc, pl, 14);
	pf_put32(pl + 14, crc);
	if (partial_csum) {
		/* Virtio NEEDS_CSUM (spec 5.1.6.2): the device sums from the
		 * UDP header on and folds in what the field holds. */
		pf_put16(udp + 6, pf_fold(t->pseudo_sum));
		return;
	}
	/* The template summed these fields as 0; add them as words. */
	sum = t->udp_sum_base + sport + (flow >> 16) + (flow & 0xffff) +
	      (seq >> 48) + (seq >> 32 & 0xffff) + (seq >> 16 & 0xffff) +
	      (seq & 0xffff) + (crc >> 16) + (crc & 0xffff);
	sum = (uint16_t)~pf_fold(sum);
	pf_put16(udp + 6, sum ? (uint16_t)sum : 0xffff);   /* RFC 768: 0 = none */
}

void pf_frame_write_headers(const struct pf_frame_tmpl *t, void *out,
			    uint16_t flow_port_off)
{
	uint8_t *f = out;

	memcpy(f, t->bytes, PF_HDRS_LEN);   /* the template's UDP checksum is 0 */
	pf_put16(f + OFF_UDP, (uint16_t)(t->src_port + flow_port_off));
}

/* ---- pacing ---- */

#define NS 1000000000ull

void pf_tb_init(struct pf_tbucket *tb, uint64_t rate, uint64_t depth,
		uint64_t now_ns)
{
	tb->rate = rate;
	tb->depth = depth ? depth : 1;
	tb->tokens = 0;
	tb->last_ns = now_ns;
}

unsigned pf_tb_take(struct pf_tbucket *tb, unsigned want, uint64_t now_ns)
{
	uint64_t full = tb->depth * NS, dt, n;

	if (!tb->rate)
		return 0;
	if (now_ns < tb->last_ns)       /* not monotonic: nothing earned */
		now_ns = tb->last_ns;
	dt = now_ns - tb->last_ns;
	/* Past the time that fills the bucket, more time adds nothing; the
	 * cap also keeps dt * rate from overflowing. */
	if (dt > full / tb->rate + 1)
		dt = full / tb->rate + 1;
	tb->last_ns = now_ns;
	tb->tokens += dt * tb->rate;
	if (tb->tokens > full)
		tb->tokens = full;
	n = tb->tokens / NS;
	if (n > want)
		n = want;
	tb->tokens -= n * NS;
	return (unsigned)n;
}

uint64_t pf_share(uint64_t total, unsigned n, unsigned i)
{
	return total / n + (i < total % n);
}

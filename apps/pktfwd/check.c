/* SPDX-License-Identifier: MIT */
/*
 * The rxonly checker: is a frame one of txonly's (frame.c has the layout),
 * is it intact, and where does it fall in its flow's sequence. One checker
 * per receiving thread; a flow is expected to stay on one queue (RSS and
 * tap steering hash the 5-tuple, which is fixed per flow).
 */
#include <stdlib.h>
#include <string.h>

#include "pktfwd.h"

#define OFF_IP   PF_ETH_HLEN
#define OFF_UDP  (PF_ETH_HLEN + PF_IP_HLEN)
#define OFF_PL   PF_HDRS_LEN

struct pf_flow_state {
	uint64_t next;                  /* highest sequence seen + 1 */
	uint64_t seen[PF_SEQ_WINDOW / 64]; /* bit s % WINDOW: s arrived */
	uint32_t id;
	bool used;
};

static size_t flow_slot(uint32_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b1u) ^ (id >> 15)) & (cap - 1);
}

int pf_checker_init(struct pf_checker *ck, size_t expected_flows)
{
	size_t cap = 64;

	memset(ck, 0, sizeof(*ck));
	while (cap < 2 * expected_flows)
		cap *= 2;
	ck->flows = calloc(cap, sizeof(*ck->flows));
	if (!ck->flows)
		return -1;
	ck->cap = cap;
	return 0;
}

void pf_checker_fini(struct pf_checker *ck)
{
	free(ck->flows);
	ck->flows = NULL;
}

static struct pf_flow_state *flow_find(struct pf_flow_state *tab, size_t cap,
				       uint32_t id)
{
	size_t i = flow_slot(id, cap);

	while (tab[i].used && tab[i].id != id)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* A new flow: grow at half full, which happens once per doubling. */
static struct pf_flow_state *flow_get(struct pf_checker *ck, uint32_t id)
{
	struct pf_flow_state *fs = flow_find(ck->flows, ck->cap, id);

	if (fs->used)
		return fs;
	if (2 * (ck->used + 1) > ck->cap) {
		size_t cap = ck->cap * 2;
		struct pf_flow_state *tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return NULL;
		for (size_t i = 0; i < ck->cap; i++)
			if (ck->flows[i].used)
				*flow_find(tab, cap, ck->flows[i].id) =
					ck->flows[i];
		free(ck->flows);
		ck->flows = tab;
		ck->cap = cap;
		fs = flow_find(tab, cap, id);
	}
	fs->used = true;
	fs->id = id;
	ck->used++;
	return fs;
}

#define SEEN_BIT(s) ((uint64_t)1 << ((s) % 64))
#define SEEN_WORD(fs, s) ((fs)->seen[(s) % PF_SEQ_WINDOW / 64])

/*
 * Sequences start at 0 for every flow. Ahead of `next`: the gap is lost
 * for now. Behind it, inside the window: a repeat is a duplicate, a first
 * arrival is reordered (and no longer lost). Behind the window nothing is
 * known: it counts as reordered, taken back from lost.
 */
static void check_seq(struct pf_checker *ck, struct pf_flow_state *fs,
		      uint64_t s)
{
	struct pf_check_counts *c = &ck->c;

	if (s >= fs->next) {
		uint64_t gap = s - fs->next;

		if (gap >= PF_SEQ_WINDOW) {
			memset(fs->seen, 0, sizeof(fs->seen));
		} else {
			for (uint64_t x = fs->next; x < s; x++)
				SEEN_WORD(fs, x) &= ~SEEN_BIT(x);
		}
		c->lost += gap;
		fs->next = s + 1;
		SEEN_WORD(fs, s) |= SEEN_BIT(s);
		return;
	}
	if (fs->next - s <= PF_SEQ_WINDOW) {
		if (SEEN_WORD(fs, s) & SEEN_BIT(s)) {
			c->dup++;
			return;
		}
		SEEN_WORD(fs, s) |= SEEN_BIT(s);
	}
	c->reordered++;
	if (c->lost)
		c->lost--;
}

void pf_check_frame(struct pf_checker *ck, const uint8_t *f, size_t len,
		    bool csum_ok, bool csum_partial)
{
	const uint8_t *ip = f + OFF_IP, *udp = f + OFF_UDP, *pl = f + OFF_PL;
	unsigned ip_len, udp_len, pl_len;
	uint32_t crc;
	struct pf_flow_state *fs;

	if (len < OFF_PL + PF_PAYLOAD_HDR || pf_get16(f + 12) != 0x0800 ||
	    ip[0] != 0x45 || ip[9] != 17 || pf_get16(ip + 4) != PF_IP_ID_MAGIC ||
	    (pf_get16(ip + 6) & 0x3fff) || pf_get16(pl) != PF_PAYLOAD_MAGIC) {
		ck->c.foreign++;
		return;
	}
	ck->c.received++;
	ip_len = pf_get16(ip + 2);
	udp_len = pf_get16(udp + 4);
	/* Lengths must agree; the frame may carry padding after them. */
	if (ip_len + OFF_IP > len || udp_len + PF_IP_HLEN != ip_len ||
	    udp_len < PF_UDP_HLEN + PF_PAYLOAD_HDR ||
	    pf_inet_csum(ip, PF_IP_HLEN) != 0)
		goto corrupt;
	if (!csum_ok && !csum_partial && pf_get16(udp + 6) &&
	    pf_fold(pf_sum16(pf_pseudo_sum(pf_get32(ip + 12), pf_get32(ip + 16), udp_len),
		       udp, udp_len)) != 0xffff)
		goto corrupt;
	pl_len = udp_len - PF_UDP_HLEN;
	crc = pf_crc32c(0, pl + PF_PAYLOAD_HDR, pl_len - PF_PAYLOAD_HDR);
	crc = pf_crc32c(crc, pl, 14);
	if (crc != pf_get32(pl + 14))
		goto corrupt;
	fs = flow_get(ck, pf_get32(pl + 2));
	if (!fs) {
		ck->c.foreign++;        /* out of memory: not tracked */
		return;
	}
	check_seq(ck, fs, pf_get64(pl + 6));
	return;
corrupt:
	ck->c.corrupt++;
}

void pf_check_add(struct pf_check_counts *sum, const struct pf_check_counts *c)
{
	sum->received += c->received;
	sum->lost += c->lost;
	sum->dup += c->dup;
	sum->reordered += c->reordered;
	sum->corrupt += c->corrupt;
	sum->foreign += c->foreign;
}


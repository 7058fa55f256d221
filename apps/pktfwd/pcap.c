/* SPDX-License-Identifier: MIT */
/*
 * Classic pcap files (the tcpdump format: a 24-byte file header, then a
 * 16-byte header per record, all in the writer's byte order, which readers
 * tell from the magic). Microsecond timestamps, link type Ethernet.
 *
 * One file for all receiving threads, behind a mutex: the capture is for
 * the first frames of a run (--pcap-count), so the lock is taken only that
 * many times, and once the count is reached a relaxed load is all a thread
 * pays. One file keeps the arrival order across queues, which per-queue
 * files would lose.
 */
#include <errno.h>
#include <string.h>

#include "pktfwd.h"

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_usec;
	uint32_t incl_len, orig_len;
};

_Static_assert(sizeof(struct pcap_file_hdr) == 24, "pcap file header");
_Static_assert(sizeof(struct pcap_rec_hdr) == 16, "pcap record header");

int pf_pcap_open(struct pf_pcap *pc, const char *path, uint32_t snaplen,
		 uint64_t limit, char *err, size_t errlen)
{
	struct pcap_file_hdr h = {
		.magic = PF_PCAP_MAGIC, .version_major = 2, .version_minor = 4,
		.snaplen = snaplen, .linktype = PF_PCAP_LINKTYPE_ETHERNET,
	};

	memset(pc, 0, sizeof(*pc));
	pc->f = fopen(path, "wb");
	if (!pc->f) {
		snprintf(err, errlen, "--pcap %s: %s", path, strerror(errno));
		return -1;
	}
	if (fwrite(&h, sizeof(h), 1, pc->f) != 1) {
		snprintf(err, errlen, "--pcap %s: %s", path, strerror(errno));
		fclose(pc->f);
		pc->f = NULL;
		return -1;
	}
	pthread_mutex_init(&pc->lock, NULL);
	pc->snaplen = snaplen;
	pc->limit = limit;
	atomic_init(&pc->written, 0);
	return 0;
}

void pf_pcap_write(struct pf_pcap *pc, const void *const *seg,
		   const uint32_t *seg_len, unsigned nseg, uint32_t orig_len,
		   uint64_t ts_ns)
{
	struct pcap_rec_hdr r = {
		.ts_sec = (uint32_t)(ts_ns / 1000000000u),
		.ts_usec = (uint32_t)(ts_ns % 1000000000u / 1000),
		.orig_len = orig_len,
	};
	uint32_t left;

	if (pf_pcap_full(pc))
		return;
	r.incl_len = orig_len < pc->snaplen ? orig_len : pc->snaplen;
	pthread_mutex_lock(&pc->lock);
	if (pf_pcap_full(pc) || pc->failed) {
		pthread_mutex_unlock(&pc->lock);
		return;
	}
	/* The segments may hold less than orig_len claims: never read past
	 * them, and say in the record what was really written. */
	left = 0;
	for (unsigned i = 0; i < nseg; i++)
		left += seg_len[i];
	if (r.incl_len > left)
		r.incl_len = left;
	left = r.incl_len;
	if (fwrite(&r, sizeof(r), 1, pc->f) != 1)
		pc->failed = true;
	for (unsigned i = 0; i < nseg && left && !pc->failed; i++) {
		uint32_t n = seg_len[i] < left ? seg_len[i] : left;

		if (fwrite(seg[i], 1, n, pc->f) != n)
			pc->failed = true;
		left -= n;
	}
	atomic_fetch_add_explicit(&pc->written, 1, memory_order_relaxed);
	pthread_mutex_unlock(&pc->lock);
}

/* 0, or -1 when a write failed. */
int pf_pcap_close(struct pf_pcap *pc)
{
	int rc = pc->failed ? -1 : 0;

	if (!pc->f)
		return rc;
	if (fclose(pc->f))
		rc = -1;
	pc->f = NULL;
	pthread_mutex_destroy(&pc->lock);
	return rc;
}

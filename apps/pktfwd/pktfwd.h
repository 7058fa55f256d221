/* SPDX-License-Identifier: MIT */
/*
 * pktfwd: a testpmd-like forwarder and traffic generator on uvio virtio-net.
 *
 * Files, by concern:
 *   options.c  command line (pure: no device calls)
 *   frame.c    UDP/IPv4 test frames and their payload, the token bucket
 *              (pure)
 *   check.c    the rxonly checker of those frames (pure)
 *   pcap.c     classic pcap writer (pure)
 *   port.c     opening, configuring and closing ports
 *   engine.c   the per-queue polling threads; io, macswap, rxonly
 *   txonly.c   the generator mode
 *   loop.c     what the modes' loops share: the clock, broken queues,
 *              parking, rx counts (below engine.c and txonly.c)
 *   stats.c    the periodic line (stderr) and the summary (stdout)
 *   park.c     stopping the threads while a port reconnects (pure)
 *   main.c     signals, start, stop, device checks, reconnects, exit status
 *
 * Counting, also across a --reconnect:
 *   tx_packets  frames uvio_net_tx_burst took ("sent"; txonly --count N
 *               ends when N were taken)
 *   lost        of those, the ones still in the tx ring when the back-end
 *               went away: maybe never sent (uvio_net_tx_pending then)
 *   drops       frames given up before the driver took them (io: the out
 *               port stayed full or gone; txonly --rate: late; txonly: made
 *               but not sent when the run stopped)
 *   txonly: generated = tx_packets + drops + tx errors.
 */
#ifndef PKTFWD_H
#define PKTFWD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PF_MAX_PORTS   16
#define PF_MAX_QUEUES  256
#define PF_MAX_BURST   512
#define PF_MAX_FLOWS   65536
#define PF_MIN_FRAME   60      /* Ethernet minimum without FCS */
#define PF_MAX_FRAME   9014    /* 9000-byte MTU + Ethernet header */
#define PF_ERR_MAX     256
#define PF_MAX_VLANS   64      /* --vlan: one control command each, per port */

/* ---- options.c ---- */

enum pf_mode { PF_IO, PF_MACSWAP, PF_TXONLY, PF_RXONLY };

struct pf_opts {
	const char *ports[PF_MAX_PORTS];
	unsigned nports;
	enum pf_mode mode;
	unsigned queues;
	unsigned burst;
	unsigned pkt_size;
	bool mtu_frames;            /* txonly frames as large as the MTU allows */
	uint64_t count;             /* 0 = no limit */
	double duration;            /* seconds, 0 = no limit */
	uint64_t rate;              /* pps over all threads and ports, 0 = line */
	double stats_interval;      /* seconds, 0 = no periodic line */
	bool json;
	const char *pcap;
	uint64_t pcap_count;
	int promisc;                /* -1 leave alone, 0 off, 1 on */
	uint32_t offloads;          /* UVIO_NET_OFF_* */
	uint64_t disable_features;  /* --no-packed, --no-mrg */
	uint8_t src_mac[6], dst_mac[6];
	bool src_mac_set;           /* else the port's own MAC */
	uint32_t src_ip, dst_ip;    /* host order */
	uint16_t src_port, dst_port;
	unsigned flows;
	bool fill_headers;          /* txonly: write the headers only (--fill) */
	bool no_check;              /* rxonly: count frames without reading them */
	double reconnect;           /* seconds to wait for a back-end that
				     * went away; 0 = give up */
	uint16_t vlans[PF_MAX_VLANS]; /* --vlan: added to every port's filter */
	unsigned nvlans;
	unsigned idle_sleep;        /* empty rounds before sleeping (idle.c); 0 = never */
};

#define PF_RECONNECT_MAX 86400.0

/* 0, 1 for --help, 2 for --version (the caller prints them), or -1 with
 * one line in err. */
int pf_parse_options(int argc, char **argv, struct pf_opts *o, char *err,
		     size_t errlen);
void pf_usage(FILE *f);
const char *pf_mode_name(enum pf_mode m);
int pf_parse_mac(const char *s, uint8_t mac[6]);
int pf_parse_ipv4(const char *s, uint32_t *ip);

/* ---- network byte order, unaligned ---- */

static inline void pf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void pf_put32(uint8_t *p, uint32_t v)
{
	pf_put16(p, (uint16_t)(v >> 16));
	pf_put16(p + 2, (uint16_t)v);
}
static inline void pf_put64(uint8_t *p, uint64_t v)
{
	pf_put32(p, (uint32_t)(v >> 32));
	pf_put32(p + 4, (uint32_t)v);
}
static inline uint16_t pf_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t pf_get32(const uint8_t *p)
{
	return (uint32_t)pf_get16(p) << 16 | pf_get16(p + 2);
}
static inline uint64_t pf_get64(const uint8_t *p)
{
	return (uint64_t)pf_get32(p) << 32 | pf_get32(p + 4);
}

/* ---- frame.c, check.c ---- */

#define PF_ETH_HLEN     14
#define PF_IP_HLEN      20
#define PF_UDP_HLEN     8
#define PF_HDRS_LEN     (PF_ETH_HLEN + PF_IP_HLEN + PF_UDP_HLEN)  /* 42 */
#define PF_PAYLOAD_HDR  18      /* magic 2, flow 4, seq 8, crc 4 */
#define PF_IP_ID_MAGIC  0x7066  /* "pf" in the IPv4 identification */
#define PF_PAYLOAD_MAGIC 0x5556 /* "UV" at the start of the UDP payload */

struct pf_frame_tmpl {
	uint8_t bytes[PF_MAX_FRAME];
	unsigned len;
	uint16_t src_port;          /* base: flow f uses src_port + f */
	uint64_t pseudo_sum;        /* ones' sum of the UDP pseudo header */
	uint64_t udp_sum_base;      /* ... plus the template's UDP part */
	uint32_t filler_crc;        /* crc32c state after the filler bytes */
};

struct pf_frame_params {
	uint8_t src_mac[6], dst_mac[6];
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	unsigned len;               /* frame bytes, without FCS */
};

uint32_t pf_crc32c(uint32_t crc, const void *buf, size_t len);
/* Ones' complement sum of big-endian words (unfolded), its fold, and the
 * UDP/IPv4 pseudo-header's sum. */
uint64_t pf_sum16(uint64_t sum, const uint8_t *p, size_t len);
uint16_t pf_fold(uint64_t sum);
uint64_t pf_pseudo_sum(uint32_t src, uint32_t dst, unsigned udp_len);
uint16_t pf_inet_csum(const void *buf, size_t len);
void pf_tmpl_init(struct pf_frame_tmpl *t, const struct pf_frame_params *p);
/* Write the whole frame for (flow, seq) to out (t->len bytes). With
 * partial_csum the UDP checksum field holds the pseudo-header sum only, as
 * a device checksum offload wants. */
void pf_frame_write(const struct pf_frame_tmpl *t, void *out, uint32_t flow,
		    uint16_t flow_port_off, uint64_t seq, bool partial_csum);
/* Only the Ethernet, IPv4 and UDP headers (PF_HDRS_LEN bytes), UDP
 * checksum 0 ("none", RFC 768): what testpmd's txonly writes per frame.
 * The payload keeps whatever the buffer held, so no checker can verify it. */
void pf_frame_write_headers(const struct pf_frame_tmpl *t, void *out,
			    uint16_t flow_port_off);

/* Per-flow sequence checker: what one receiving thread saw. */
#define PF_SEQ_WINDOW 1024      /* bits of history per flow */

struct pf_check_counts {
	uint64_t received;          /* frames carrying the pktfwd magic */
	uint64_t lost;              /* gaps not filled later */
	uint64_t dup;
	uint64_t reordered;
	uint64_t corrupt;           /* bad crc, length or header checksum */
	uint64_t foreign;           /* other frames */
};

struct pf_flow_state;

struct pf_checker {
	struct pf_flow_state *flows;
	size_t cap, used;           /* open addressing, cap a power of two */
	struct pf_check_counts c;
};

int pf_checker_init(struct pf_checker *ck, size_t expected_flows);
void pf_checker_fini(struct pf_checker *ck);
/* Look at one linear frame; csum_ok: the device vouched for the L4
 * checksum, csum_partial: the device left it unfinished (not checked). */
void pf_check_frame(struct pf_checker *ck, const uint8_t *f, size_t len,
		    bool csum_ok, bool csum_partial);
void pf_check_add(struct pf_check_counts *sum,
		  const struct pf_check_counts *c);

/* Token bucket in fixed point: tokens are packets * 1e9. */
struct pf_tbucket {
	uint64_t rate;              /* packets per second */
	uint64_t depth;             /* packets */
	uint64_t tokens;            /* packets * 1e9 */
	uint64_t last_ns;
};

void pf_tb_init(struct pf_tbucket *tb, uint64_t rate, uint64_t depth,
		uint64_t now_ns);
/* How many of `want` packets may go now (and take them). */
unsigned pf_tb_take(struct pf_tbucket *tb, unsigned want, uint64_t now_ns);
/* Split a total into n shares: share i gets total/n plus one of the rest. */
uint64_t pf_share(uint64_t total, unsigned n, unsigned i);

/* ---- pcap.c ---- */

#define PF_PCAP_MAGIC     0xa1b2c3d4u
#define PF_PCAP_SNAPLEN   65535u
#define PF_PCAP_LINKTYPE_ETHERNET 1u

struct pf_pcap {
	FILE *f;
	pthread_mutex_t lock;
	uint64_t limit;
	atomic_uint_fast64_t written;
	uint32_t snaplen;
	bool failed;
};

int pf_pcap_open(struct pf_pcap *pc, const char *path, uint32_t snaplen,
		 uint64_t limit, char *err, size_t errlen);
/* Append one record from `nseg` pieces totalling orig_len bytes; keeps the
 * first `limit` records and ignores the rest. Thread-safe. */
void pf_pcap_write(struct pf_pcap *pc, const void *const *seg,
		   const uint32_t *seg_len, unsigned nseg, uint32_t orig_len,
		   uint64_t ts_ns);
static inline bool pf_pcap_full(struct pf_pcap *pc)
{
	return atomic_load_explicit(&pc->written, memory_order_relaxed) >=
	       pc->limit;
}
int pf_pcap_close(struct pf_pcap *pc);

/* ---- park.c ---- */

struct pf_park {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	atomic_bool requested;      /* the threads are asked to park */
	unsigned parked, running;   /* under lock */
	unsigned epoch;             /* releases so far; under lock */
};

int pf_park_init(struct pf_park *pk, unsigned threads);
void pf_park_fini(struct pf_park *pk);
static inline bool pf_park_requested(struct pf_park *pk)
{
	return atomic_load_explicit(&pk->requested, memory_order_relaxed);
}
/* A thread: wait here until released or *stop. */
void pf_park_here(struct pf_park *pk, atomic_bool *stop);
/* A thread is done for good: the control thread no longer waits for it. */
void pf_park_exit(struct pf_park *pk);
/* The control thread: ask, and wait until every running thread is parked
 * (true) or *stop (false). pf_park_release always follows. */
bool pf_park_all(struct pf_park *pk, atomic_bool *stop);
void pf_park_release(struct pf_park *pk);

/* ---- port.c, engine.c, loop.c, stats.c, main.c ---- */

struct pf_ctx;
struct uvio_net;
struct uvio_dev;
struct uvio_pktpool;

struct pf_port {
	const char *name;
	struct uvio_dev *dev;
	struct uvio_net *net;
	uint8_t mac[6];
	unsigned mtu;
	unsigned queue_pairs;
	bool tx_csum;               /* checksum offload in effect */
	bool can_reconnect;         /* its transport can (uvio_dev_can_reconnect) */
	atomic_bool resetting;      /* being reconnected: threads count lost tx */
	unsigned reconnects;
	/* The link as the main thread last read it (every 100 ms): a config
	 * read, kept off the polling threads. */
	bool link_known, link_up;
	uint32_t link_mbps;         /* UINT32_MAX unknown */
};

/* The back-end of port p went away (and --reconnect waits for it): its
 * queues are broken but that is not a failure. Lock-free. */
bool pf_port_lost(const struct pf_ctx *ctx, unsigned p);

/* One thread's counters, per port, read by the stats line. */
struct pf_qcount {
	_Alignas(64) atomic_uint_fast64_t rx_pkts;
	atomic_uint_fast64_t rx_bytes;
	atomic_uint_fast64_t tx_pkts;
	atomic_uint_fast64_t tx_bytes;
	atomic_uint_fast64_t drops;
	atomic_uint_fast64_t lost;  /* tx in flight at a back-end loss */
};

struct pf_thread {
	struct pf_ctx *ctx;
	unsigned q;
	pthread_t tid;
	bool started;
	struct pf_qcount cnt[PF_MAX_PORTS];
	struct pf_checker ck;       /* rxonly */
	uint64_t tx_generated;      /* txonly: frames made (sent + dropped) */
	uint64_t end_ns;            /* when this thread stopped */
	char error[PF_ERR_MAX];     /* why it stopped early, or "" */
};

struct pf_ctx {
	struct pf_opts o;
	struct pf_port port[PF_MAX_PORTS];
	unsigned nports;            /* opened (or tried) */
	struct uvio_pktpool *pool;  /* rx buffers of every port */
	struct uvio_pktpool *tx_pool; /* txonly frames */
	struct pf_thread *thr;
	unsigned nthreads;
	struct pf_pcap pcap;
	bool pcap_on;
	atomic_bool stop;
	atomic_bool failed;         /* a queue broke or a thread could not run */
	atomic_uint threads_done;
	atomic_int_fast64_t budget; /* io/rxonly --count: frames not claimed */
	atomic_uint_fast64_t done;  /* io/rxonly: frames handled */
	uint64_t start_ns, end_ns;
	struct pf_park park;        /* --reconnect */
	bool park_on;
};

uint64_t pf_now_ns(void);      /* loop.c: CLOCK_MONOTONIC */

int pf_ports_open(struct pf_ctx *ctx);
void pf_ports_close(struct pf_ctx *ctx);
/* Read port p's link again (main thread); true when up/down changed. */
bool pf_port_link_changed(struct pf_port *p);

int pf_threads_start(struct pf_ctx *ctx);
/* loop.c: inside the threads, for engine.c and txonly.c. */
#define PF_ERR_POLL_MASK 1023   /* look for a broken queue every 1024 loops */
struct uvio_pkt;
struct uvio_pkt_cache;
bool pf_any_queue_broken(struct pf_thread *t);
/* --reconnect asked the threads to stop for a moment: count what the
 * resetting ports lose, wait. */
void pf_park_thread(struct pf_thread *t);
void pf_count_rx(struct pf_thread *t, unsigned p, struct uvio_pkt **pkts,
		 unsigned n);
/* txonly.c: the generator's loop, run by engine.c's threads. */
void pf_tx_loop(struct pf_thread *t, struct uvio_pkt_cache *rx_cache,
		struct uvio_pkt_cache *tx_cache);

/* One writer per counter: a plain load and store, no locked add. */
static inline void pf_cnt_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
			      n, memory_order_relaxed);
}

static inline bool pf_stopping(struct pf_ctx *ctx)
{
	return atomic_load_explicit(&ctx->stop, memory_order_relaxed);
}

/* At the top of every thread's loop: one relaxed load when not asked. */
static inline void pf_maybe_park(struct pf_thread *t)
{
	if (t->ctx->park_on && pf_park_requested(&t->ctx->park))
		pf_park_thread(t);
}
void pf_threads_join(struct pf_ctx *ctx);

struct pf_stats_snap {
	uint64_t ns;
	uint64_t rx_pkts[PF_MAX_PORTS], rx_bytes[PF_MAX_PORTS];
	uint64_t tx_pkts[PF_MAX_PORTS], tx_bytes[PF_MAX_PORTS];
	uint64_t drops[PF_MAX_PORTS], errors[PF_MAX_PORTS];
	uint64_t lost[PF_MAX_PORTS];
};

void pf_stats_snap(const struct pf_ctx *ctx, struct pf_stats_snap *s);
void pf_stats_line(const struct pf_ctx *ctx, const struct pf_stats_snap *a,
		   const struct pf_stats_snap *b);
/* "link up 10000 Mbps", "link up", "link down" or "link unknown". */
const char *pf_link_text(const struct pf_port *p, char *buf, size_t len);
const char *pf_link_word(const struct pf_port *p);
/* Port p's link went up or down: a line on stderr among the stats lines. */
void pf_link_line(const struct pf_ctx *ctx, unsigned p);
/* Print the summary; returns the exit status it implies (0 or 1). */
int pf_summary(struct pf_ctx *ctx, FILE *out);

#endif

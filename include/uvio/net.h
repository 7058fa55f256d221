/* SPDX-License-Identifier: MIT */
/*
 * uvio virtio-net poll-mode driver (spec 5.1).
 *
 * Packets live in DMA buffers from a packet pool. A buffer is one
 * struct uvio_pkt, then headroom (the virtio-net header goes at its end, so
 * header and frame leave in one descriptor), then the frame. Bursts of
 * packets go in and out of queue pairs; offloads are used only when the
 * application turns them on and the device offers them.
 *
 * Thread safety: open/close and the control calls (promisc, MAC and VLAN
 * tables, queue pairs, RSS) are for one control thread. Each queue pair
 * belongs to one thread: rx_burst and tx_burst on queue q take no lock;
 * different queues are independent. Packet pools are thread-safe; give each
 * thread its own cache for speed.
 */
#ifndef UVIO_NET_H
#define UVIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <uvio/dev.h>
#include <uvio/dma.h>
#include <uvio/err.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* ---- packets ---- */

#define UVIO_PKT_HEADROOM 128  /* bytes before the frame in a fresh packet */

/* Offload flags (uvio_pkt.ol_flags). */
#define UVIO_PKT_TX_CSUM      (1u << 0)  /* fill the L4 checksum (csum_start/offset) */
#define UVIO_PKT_TX_TSO4      (1u << 1)  /* segment TCP/IPv4 at tso_segsz */
#define UVIO_PKT_TX_TSO6      (1u << 2)  /* segment TCP/IPv6 at tso_segsz */
#define UVIO_PKT_RX_CSUM_OK   (1u << 8)  /* device says the L4 checksum is valid */
#define UVIO_PKT_RX_CSUM_NONE (1u << 9)  /* partial checksum: not yet computed */
#define UVIO_PKT_RX_LRO       (1u << 10) /* coalesced by the device (GUEST_TSO) */
#define UVIO_PKT_RX_RSS_HASH  (1u << 11) /* rss_hash is valid */

struct uvio_pktpool;

struct uvio_pkt {
	struct uvio_pkt *next;      /* next segment of the same frame */
	struct uvio_pktpool *pool;
	uint64_t buf_iova;          /* device address of the buffer start */
	uint16_t data_off;          /* frame start, from the buffer start */
	uint16_t data_len;          /* bytes in this segment */
	uint16_t buf_len;           /* whole buffer, from the buffer start */
	uint16_t nb_segs;           /* first segment: segments in the frame */
	uint32_t pkt_len;           /* first segment: bytes in the frame */
	uint32_t ol_flags;
	uint16_t csum_start;        /* TX_CSUM: where checksumming starts */
	uint16_t csum_offset;       /* TX_CSUM: where the sum goes, from csum_start */
	uint16_t hdr_len;           /* TSO: L2+L3+L4 header bytes */
	uint16_t tso_segsz;         /* TSO: payload bytes per segment */
	uint16_t rx_queue;
	uint32_t rss_hash;
	uint64_t udata;             /* the application's */
};

/* The frame bytes of one segment. */
static inline void *uvio_pkt_data(struct uvio_pkt *p)
{
	return (char *)p + p->data_off;
}

/* Room after the data in this segment. */
static inline uint16_t uvio_pkt_tailroom(const struct uvio_pkt *p)
{
	return (uint16_t)(p->buf_len - p->data_off - p->data_len);
}

/* A pool of `count` packets with at least `data_room` bytes for the frame
 * each (objects are padded to 4k + 2 cache lines: see pkt.c). */
int uvio_pktpool_create(const char *name, unsigned count, uint16_t data_room,
			int numa_node, struct uvio_pktpool **out,
			struct uvio_err *err);
void uvio_pktpool_destroy(struct uvio_pktpool *pool);
unsigned uvio_pktpool_avail(const struct uvio_pktpool *pool);

/* A per-thread cache; the calling thread owns it. */
struct uvio_pkt_cache;
struct uvio_pkt_cache *uvio_pkt_cache_create(struct uvio_pktpool *pool,
					     unsigned size);
void uvio_pkt_cache_destroy(struct uvio_pkt_cache *cache);

/* Fresh packets (one segment, empty, headroom UVIO_PKT_HEADROOM): all n or
 * none. `cache` may be NULL. */
unsigned uvio_pkt_alloc_bulk(struct uvio_pktpool *pool,
			     struct uvio_pkt_cache *cache,
			     struct uvio_pkt **pkts, unsigned n);
/* Free whole frames (every segment), back to the pool they came from. */
void uvio_pkt_free_bulk(struct uvio_pkt_cache *cache, struct uvio_pkt **pkts,
			unsigned n);

/* ---- the device ---- */

/* Offloads an application may ask for (uvio_net_opts.offloads). */
#define UVIO_NET_OFF_TX_CSUM  (1u << 0)  /* VIRTIO_NET_F_CSUM */
#define UVIO_NET_OFF_RX_CSUM  (1u << 1)  /* VIRTIO_NET_F_GUEST_CSUM */
#define UVIO_NET_OFF_TSO      (1u << 2)  /* HOST_TSO4/6 */
#define UVIO_NET_OFF_LRO      (1u << 3)  /* GUEST_TSO4/6 (needs mergeable rx) */
#define UVIO_NET_OFF_RSS      (1u << 4)  /* VIRTIO_NET_F_RSS + hash report */

struct uvio_net_opts {
	uint16_t queue_pairs;       /* 0 = 1; capped at max_queue_pairs */
	uint16_t rx_queue_size;     /* 0 = the device's maximum */
	uint16_t tx_queue_size;
	uint32_t offloads;          /* UVIO_NET_OFF_* wanted */
	bool no_mrg_rxbuf;          /* don't negotiate mergeable rx buffers */
	struct uvio_pktpool *rx_pool; /* where rx buffers come from (required) */
	uint64_t disable_features;  /* feature bits not to negotiate */
};

struct uvio_net;

struct uvio_net_info {
	uint8_t mac[6];
	bool has_mac;               /* MAC from the device's config */
	uint16_t mtu;               /* VIRTIO_NET_F_MTU, else 1500 */
	uint16_t max_queue_pairs;   /* MQ, else 1 */
	uint16_t queue_pairs;       /* in use */
	uint16_t rx_queue_size, tx_queue_size;
	bool ctrl_vq;
	bool mrg_rxbuf;
	uint32_t offloads;          /* UVIO_NET_OFF_* in effect */
	uint32_t offloads_offered;  /* UVIO_NET_OFF_* the device offers */
	uint64_t features;          /* negotiated */
	bool packed;
	uint16_t simd_bitwidth;     /* the rings' batch path: 256 (AVX2) or 64 (scalar);
				     * see uvio_vq_simd_bitwidth() */
	uint16_t rss_max_key_size, rss_max_indirection_table_length;
	uint32_t supported_hash_types;
};

int uvio_net_open(struct uvio_dev *dev, const struct uvio_net_opts *opts,
		  struct uvio_net **out, struct uvio_err *err);
/* Reset the device; rx buffers and untransmitted packets go back to their
 * pools. */
void uvio_net_close(struct uvio_net *net);

/*
 * Lend queue pair q the caller's packet caches: rx refills take buffers
 * from rx_cache (a cache of opts.rx_pool) and sent frames go back into
 * tx_cache (a cache of the pool the caller's tx frames come from). Frames
 * the application frees into those same caches then come back warm and
 * without a lock, as with DPDK's per-lcore mempool cache; otherwise they
 * cross the pool's shared part twice. NULL gives the queue its own back.
 * The caches belong to the thread that polls pair q; give them back (NULL,
 * NULL) before destroying them. Returns 0, or -EINVAL (q out of range,
 * rx_cache of another pool).
 */
int uvio_net_queue_caches(struct uvio_net *net, uint16_t q, struct uvio_pkt_cache *rx_cache,
			  struct uvio_pkt_cache *tx_cache);

/*
 * Ask the device how it is (one status read; from a control thread now and
 * then): 0 fine, -ERESTART it set DEVICE_NEEDS_RESET (spec 2.1.2): call
 * uvio_net_reinit; -ENODEV it is gone.
 */
int uvio_net_check(struct uvio_net *net);

/*
 * Reset the device and bring it back with the options it was opened with.
 * Frames in flight go back to their pools (tx ones are lost: counted in
 * tx_drops by the caller if it cares); counters are kept. Every queue
 * thread must be out of uvio_net_* calls meanwhile.
 */
int uvio_net_reinit(struct uvio_net *net, struct uvio_err *err);

/*
 * Reset queue pair qp alone and bring it back (VIRTIO_F_RING_RESET, spec
 * 2.6.1), its rx and tx queues at `new_size` entries (0: the device's
 * maximum; rounded as at open). Posted rx buffers go back to the pool and
 * the ring is refilled; frames waiting to be sent are freed and counted in
 * qp's tx_drops. The other queue pairs keep carrying traffic: nothing of
 * theirs is touched and no lock is taken. Thread safety: call it from the
 * thread that polls qp (or while qp is not polled), never at the same time
 * as another control call on this device. uvio_net_get_info()'s queue
 * sizes are queue pair 0's. Returns 0, -EINVAL (no such pair), -ENOTSUP
 * (RING_RESET not negotiated: legacy devices, vhost-user), or a transport
 * error (the pair is then broken: see uvio_net_queue_error).
 */
int uvio_net_queue_reset(struct uvio_net *net, uint16_t qp, uint16_t new_size);

const struct uvio_net_info *uvio_net_get_info(const struct uvio_net *net);
struct uvio_dev *uvio_net_dev(const struct uvio_net *net);

/* Received frames (multi-segment when they did not fit one buffer).
 * Refills the ring from rx_pool in batches. Returns how many; 0 also when
 * the queue is broken (see uvio_net_queue_error). */
uint16_t uvio_net_rx_burst(struct uvio_net *net, uint16_t q,
			   struct uvio_pkt **pkts, uint16_t n);

/* Queue frames for sending; the driver owns (and later frees) the ones it
 * took. Returns how many it took: the rest are the caller's to retry or
 * drop (counted as tx drops when dropped with uvio_net_tx_drop). */
uint16_t uvio_net_tx_burst(struct uvio_net *net, uint16_t q,
			   struct uvio_pkt **pkts, uint16_t n);

/* Frames queue pair q still holds for sending (after reclaiming what the
 * device is done with): 0 means everything handed to tx_burst has left. */
unsigned uvio_net_tx_pending(struct uvio_net *net, uint16_t q);

/* Free frames the application gives up on, counting them as tx drops. */
void uvio_net_tx_drop(struct uvio_net *net, uint16_t q, struct uvio_pkt **pkts,
		      uint16_t n);

/* Why queue pair q broke, or "". */
const char *uvio_net_queue_error(const struct uvio_net *net, uint16_t q);

/* ---- event mode (rx interrupts, as DPDK's rte_eth_dev_rx_intr_*) ----
 *
 * uvio_net_rxq_eventfd: an fd that polls readable (epoll) when rx queue q
 * got a frame while armed; read 8 bytes from it to clear it. The first
 * call sets the interrupt up: from the control thread, after open (the fd
 * stays the same across uvio_net_reinit). -ENOTSUP (UIO, model) and the
 * other results of uvio_dev_queue_eventfd, the reason in uvio_dev_error().
 *
 * uvio_net_rxq_intr_enable: arm queue q's used buffer notification (spec
 * 2.7.7 used_event or flags; 2.8.10 the driver event structure) and look
 * at the ring again after arming: returns 0 when it is empty (sleep on the
 * fd now), 1 when a frame came meanwhile (do not sleep: poll, it would
 * not wake you), -EIO when the queue is broken, -EINVAL for a bad q.
 * uvio_net_rxq_intr_disable: back to polling (no interrupts). Both on the
 * thread that owns pair q, like rx_burst; no lock, no system call.
 */
int uvio_net_rxq_eventfd(struct uvio_net *net, uint16_t q);
int uvio_net_rxq_intr_enable(struct uvio_net *net, uint16_t q);
int uvio_net_rxq_intr_disable(struct uvio_net *net, uint16_t q);

/* ---- link ---- */

struct uvio_net_link {
	bool up;                    /* STATUS, else always up */
	bool announce;              /* the device asks for a gratuitous ARP */
	uint32_t speed_mbps;        /* SPEED_DUPLEX; UINT32_MAX unknown */
	uint8_t duplex;             /* 1 full, 0 half, 0xff unknown */
};

int uvio_net_get_link(struct uvio_net *net, struct uvio_net_link *link);

/* ---- control queue (spec 5.1.6.5): each returns the device's ack as 0,
 * -EIO when it said no, -ENOTSUP without CTRL_VQ / the feature, with one
 * line in uvio_net_ctrl_error().
 *
 * Over vhost-user the back-end has no control queue: uvio emulates one (as
 * DPDK's virtio_user does) and answers each command with what the protocol
 * can carry, never with a pretend ack:
 *   set_queue_pairs   SET_VRING_ENABLE: pairs >= N really stop (0)
 *   set_mac           SET_CONFIG of mac where the back-end has the CONFIG
 *                     protocol feature (0 or -EIO), else -ENOTSUP
 *                     (DPDK's vhost has none)
 *   set_promisc       -ENOTSUP "vhost-user: the protocol has no
 *                     promiscuous-mode message"
 *   set_allmulti      -ENOTSUP "... no all-multicast message"
 *   set_mac_tables    -ENOTSUP "... no MAC filter table message"
 *   vlan_add/del      -ENOTSUP "... no VLAN filter message"
 *   set_rss           -ENOTSUP "... no RSS message"
 *   announce_ack      -ENOTSUP (the back-end announces by itself) ---- */

int uvio_net_set_promisc(struct uvio_net *net, bool on);
int uvio_net_set_allmulti(struct uvio_net *net, bool on);
int uvio_net_set_mac(struct uvio_net *net, const uint8_t mac[6]);
int uvio_net_set_mac_tables(struct uvio_net *net, const uint8_t (*uc)[6],
			    unsigned n_uc, const uint8_t (*mc)[6], unsigned n_mc);
int uvio_net_vlan_add(struct uvio_net *net, uint16_t vid);
int uvio_net_vlan_del(struct uvio_net *net, uint16_t vid);
int uvio_net_announce_ack(struct uvio_net *net);
/* Spec 5.1.6.5.5: the device uses pairs 0..pairs-1 only (1..queue_pairs);
 * a pair left out gets no frames and sends none until it is back. */
int uvio_net_set_queue_pairs(struct uvio_net *net, uint16_t pairs);
/* Why the last control call above failed, one line ("" after a success). */
const char *uvio_net_ctrl_error(const struct uvio_net *net);
/* RSS (VIRTIO_NET_F_RSS): key, indirection table of queue indexes. */
int uvio_net_set_rss(struct uvio_net *net, uint32_t hash_types,
		     const uint8_t *key, uint8_t key_len, const uint16_t *table,
		     uint16_t table_len);

/* ---- counters ---- */

struct uvio_net_queue_stats {
	uint64_t rx_packets, rx_bytes, rx_errors, rx_nobuf;
	uint64_t tx_packets, tx_bytes, tx_errors, tx_drops;
};

int uvio_net_get_stats(const struct uvio_net *net, uint16_t q,
		       struct uvio_net_queue_stats *st);

/* Extended counters by name ("q0_rx_packets", ...). Fills up to `max`
 * names/values; returns how many exist. */
int uvio_net_get_xstats(const struct uvio_net *net, const char **names,
			uint64_t *values, unsigned max);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif

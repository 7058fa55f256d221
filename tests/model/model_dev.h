/* SPDX-License-Identifier: MIT */
/*
 * A model transport for tests, fuzzers and benchmarks: a struct
 * uvio_transport_ops ("model") whose device lives in the same process, on
 * the same memory (IOVA == VA, so DMA memory must be 4K pinned or VA mode).
 *
 * The transport part plays the device's registers: the status handshake of
 * spec 3.1.1 (reset gives 0; FEATURES_OK sticks only when the driver's
 * features are a subset of the offer; DEVICE_NEEDS_RESET when a test
 * raises it), a 64-bit (32 for legacy) feature offer, config space bytes
 * with a generation counter (spec 2.5.1), per-queue maximum sizes, and one
 * vdev_model per queue the driver sets up.
 *
 * A backend (model_blk.c, model_net.c, or a test's own) is the device's
 * work: it serves a queue when the driver notifies it (synchronously, so
 * sync wrappers work without threads) or only when the test calls
 * model_dev_process() ("manual" mode). Queues may be notified from
 * several threads at once (a polling thread per queue): the device serves
 * one queue at a time.
 *
 * Like vdev_model, the model is strict: whatever the driver does against
 * the spec is recorded (model_dev_error(), model_dev_violations()), never
 * fatal. Misbehaviour is always asked for by the test.
 *
 * Lifetime: the uvio_dev owns the model (its transport). A test that wants
 * to look at the model after uvio_*_close() takes a reference with
 * model_dev_hold() and drops it with model_dev_put(); model_blk_create()
 * and model_net_create() return a held backend (drop it with
 * model_blk_put() / model_net_put()).
 */
#ifndef UVIO_TESTS_MODEL_DEV_H
#define UVIO_TESTS_MODEL_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include <uvio/dev.h>

#include "vdev_model.h"

#define MODEL_MAX_QUEUES 80

struct model_dev;

/* ---- the device's work ---- */

struct model_backend {
	/* Serve queue q: take what the driver made available, do it, use
	 * buffers (vdev_model_pop/push on model_dev_vq(m, q)). */
	void (*process)(void *be, struct model_dev *m, uint16_t q);
	/* The driver writes config bytes [off, off + len). Return 0 to store
	 * them, or < 0 to refuse (a violation is recorded). NULL: the whole
	 * config space is read-only. */
	int (*config_write)(void *be, struct model_dev *m, uint32_t off,
			    const void *buf, uint32_t len);
	/* The device is reset: forget every buffer (the queues go away right
	 * after this). May be NULL. */
	void (*reset)(void *be, struct model_dev *m);
	/* The model is freed. May be NULL. */
	void (*destroy)(void *be);
	/* Queue q alone is reset (VIRTIO_F_RING_RESET, spec 2.6.1): forget
	 * its buffers (its vdev_model goes away right after this). May be
	 * NULL. */
	void (*reset_queue)(void *be, struct model_dev *m, uint16_t q);
};

struct model_dev_cfg {
	uint32_t device_id;         /* VIRTIO_ID_*; 0: the transport cannot tell */
	uint64_t features;          /* the offer (legacy: low 32 bits) */
	bool legacy;                /* is_legacy(): no FEATURES_OK, no generation */
	uint16_t num_queues;        /* queues the transport exposes */
	uint16_t queue_max;         /* every queue's maximum size; 0 = 256 */
	uint16_t queue_max_of[MODEL_MAX_QUEUES]; /* per queue; 0 = queue_max */
	const void *config;         /* initial config space */
	uint32_t config_len;
	bool manual;                /* notify only records; work waits for model_dev_process() */
	uint64_t refuse_features;   /* FEATURES_OK fails if the driver takes any of these */
	uint8_t needs_reset_on;     /* raise NEEDS_RESET when the driver sets one of these status bits */
	unsigned reset_failures;    /* the first n resets do not complete (reset op: -ETIMEDOUT) */
	unsigned queue_reset_failures; /* the first n queue resets do not complete (-ETIMEDOUT) */
	const struct model_backend *backend;
	void *be;                   /* the backend's state, given to its ops */
};

/* Make a model and wrap it in a uvio_dev ("model"). Returns 0 or what
 * uvio_dev_create returned; the backend's destroy runs on failure too. */
int model_dev_create(const struct model_dev_cfg *cfg, struct uvio_dev **out);

/* The model behind a uvio_dev made by model_dev_create (NULL otherwise). */
struct model_dev *model_dev_of(const struct uvio_dev *dev);
void model_dev_hold(struct model_dev *m);
void model_dev_put(struct model_dev *m);
bool model_dev_alive(const struct model_dev *m);  /* its uvio_dev exists */

void *model_dev_backend(const struct model_dev *m);

/* ---- registers ---- */

uint8_t model_dev_status(const struct model_dev *m);
uint64_t model_dev_features(const struct model_dev *m);         /* offered */
uint64_t model_dev_driver_features(const struct model_dev *m);  /* written by the driver */
bool model_dev_has(const struct model_dev *m, unsigned bit);    /* negotiated */
bool model_dev_is_legacy(const struct model_dev *m);
bool model_dev_running(const struct model_dev *m);  /* DRIVER_OK, not NEEDS_RESET/FAILED */
/* Status bytes the driver wrote since creation, oldest first (up to 32). */
unsigned model_dev_status_log(const struct model_dev *m, const uint8_t **log);
unsigned model_dev_resets(const struct model_dev *m);
/* Set DEVICE_NEEDS_RESET (spec 2.1.2): the device stops serving queues. */
void model_dev_raise_needs_reset(struct model_dev *m);

/* The back-end goes away, as a vhost-user one whose socket closes: the
 * transport breaks every queue of the driver (uvio_vq_set_broken(why)),
 * what is in the rings is never answered, and the status reads
 * DEVICE_NEEDS_RESET, across resets, until model_dev_reconnect(). A
 * backend may call it from its work, on any thread. */
void model_dev_disconnect(struct model_dev *m, const char *why);
/* The back-end is back; the driver resets and sets the device up again. */
void model_dev_reconnect(struct model_dev *m);
bool model_dev_connected(const struct model_dev *m);  /* safe on any thread */
/* uvio_dev_release() reached the transport this many times. */
unsigned model_dev_releases(const struct model_dev *m);

/* ---- config space (spec 2.5) ---- */

uint8_t *model_dev_config(struct model_dev *m);  /* the bytes; no generation bump */
uint32_t model_dev_config_len(const struct model_dev *m);
/* Change config bytes as the device: bumps the generation. */
void model_dev_config_set(struct model_dev *m, uint32_t off, const void *buf,
			  uint32_t len);
uint32_t model_dev_config_gen(const struct model_dev *m);
/* The next n config reads race a device-side change (the generation moves
 * during each), so a driver must retry them. */
void model_dev_config_churn(struct model_dev *m, unsigned n);
unsigned model_dev_config_reads(const struct model_dev *m);
unsigned model_dev_config_writes(const struct model_dev *m);

/* ---- queues ---- */

struct vdev_model *model_dev_vq(const struct model_dev *m, uint16_t q);
uint16_t model_dev_queue_size(const struct model_dev *m, uint16_t q);  /* 0: not set up */
uint16_t model_dev_num_queues(const struct model_dev *m);
unsigned model_dev_kicks(const struct model_dev *m, uint16_t q);
/* Queue resets of queue q (spec 2.6.1) the transport did. */
unsigned model_dev_queue_resets(const struct model_dev *m, uint16_t q);
/* The next n queue resets do not complete (reset_queue: -ETIMEDOUT). */
void model_dev_fail_queue_resets(struct model_dev *m, unsigned n);
uint32_t model_dev_kick_data(const struct model_dev *m, uint16_t q);
/* Notifications sent before DRIVER_OK or after a reset (spec 3.1.1: the
 * driver MUST NOT notify before DRIVER_OK). Counted here, not as
 * violations; the device ignores them. */
unsigned model_dev_early_kicks(const struct model_dev *m);

void model_dev_set_manual(struct model_dev *m, bool manual);
/* Serve every queue once (when the device is running); returns the number
 * of queues served. */
unsigned model_dev_process(struct model_dev *m);
void model_dev_process_queue(struct model_dev *m, uint16_t q);

/* ---- what the driver did wrong ---- */

__attribute__((format(printf, 2, 3)))
void model_dev_violation(struct model_dev *m, const char *fmt, ...);
unsigned model_dev_violations(const struct model_dev *m);
/* The first violation (or a queue's vdev_model error), "" when none. */
const char *model_dev_error(const struct model_dev *m);

/* ---- helpers for backends ---- */

/* The ring features a model device offers: VERSION_1 (ANY_LAYOUT when
 * legacy), EVENT_IDX, INDIRECT_DESC, and RING_PACKED / IN_ORDER on request. */
uint64_t model_ring_features(bool legacy, bool packed, bool in_order,
			     bool no_indirect, bool no_event_idx);

/* Copy up to len device-readable bytes starting `off` bytes into b. */
size_t model_buf_read(const struct vdev_buf *b, size_t off, void *dst, size_t len);
/* Copy up to len bytes into b's device-writable part at `off`. */
size_t model_buf_write(struct vdev_buf *b, size_t off, const void *src, size_t len);
/* Segments of b's readable (writable) part overlapping [off, off + len),
 * and the longest overlap. */
unsigned model_buf_segs(const struct vdev_buf *b, bool writable, size_t off,
			size_t len, uint32_t *longest);

/* ==== virtio-blk on a RAM disk (model_blk.c) ==== */

struct model_blk;

struct model_blk_cfg {
	uint64_t features;          /* VIRTIO_BLK_F_* offered */
	bool packed;                /* offer VIRTIO_F_RING_PACKED */
	bool legacy;
	bool in_order;              /* offer VIRTIO_F_IN_ORDER (completes in order) */
	bool no_indirect;           /* do not offer INDIRECT_DESC */
	bool no_event_idx;          /* do not offer EVENT_IDX */
	bool manual;
	uint16_t queue_max;         /* 0 = 128 */
	uint64_t capacity;          /* 512-byte sectors; 0 = 8192 (4 MiB) */
	uint32_t blk_size, size_max, seg_max;
	uint16_t num_queues;        /* config num_queues; transport exposes max(1, this) */
	uint8_t writeback;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint32_t max_secure_erase_sectors, max_secure_erase_seg;
	uint32_t secure_erase_sector_alignment;
	const char *id;             /* GET_ID answer (up to 20 bytes); NULL = "uvio-model-blk" */
	uint64_t refuse_features;   /* see model_dev_cfg */
	uint8_t needs_reset_on;
	/* Each time a queue is served (a notify, model_dev_process), use the
	 * requests it took in this order once all are done (RANDOM: another
	 * permutation each time, from order_seed). FIFO (0): each as soon as
	 * it is done. With IN_ORDER negotiated: FIFO. */
	enum vdev_order order;
	uint32_t order_seed;
};

/* One request as the device saw it. */
struct model_blk_req {
	uint16_t q;
	uint32_t type;
	uint64_t sector;            /* header sector */
	uint32_t data_len;          /* IN/OUT/GET_ID data bytes; range bytes for the others */
	unsigned data_segs;         /* descriptors holding data */
	uint32_t longest_seg;
	unsigned nranges;
	struct virtio_blk_discard_write_zeroes range0;  /* the first range */
	uint8_t status;             /* what the device meant to answer */
};

enum model_blk_evil {
	MODEL_BLK_OK = 0,
	MODEL_BLK_STATUS,           /* write status byte `arg` (e.g. 7) */
	MODEL_BLK_NO_STATUS,        /* never write the status byte */
	MODEL_BLK_USED_EVIL,        /* use a bad used entry: vdev_model_misbehave(arg = enum vdev_evil);
				     * BAD_WRAP is not advanced past: a later completion
				     * overwrites it, so make it the last one */
	MODEL_BLK_DROP,             /* take the request and never complete it */
};

struct model_blk *model_blk_create(const struct model_blk_cfg *cfg,
				   struct uvio_dev **out);
void model_blk_put(struct model_blk *b);
struct model_dev *model_blk_dev(const struct model_blk *b);

uint8_t *model_blk_disk(struct model_blk *b);
uint64_t model_blk_disk_size(const struct model_blk *b);
/* Requests touching `sector` fail with IOERR (UINT64_MAX: none). */
void model_blk_set_bad_sector(struct model_blk *b, uint64_t sector);
/* Answer UNSUPP to request `type` (although known). */
void model_blk_set_unsupp(struct model_blk *b, uint32_t type, bool on);
/* The next `count` requests (0: every one) misbehave. */
void model_blk_misbehave(struct model_blk *b, enum model_blk_evil what, int arg,
			 unsigned count);
/* Disconnect (model_dev_disconnect) on taking request number n, counted
 * from 1 over every queue since creation; that request is never served.
 * Once; 0: never. */
void model_blk_disconnect_at(struct model_blk *b, uint64_t n);
/* Hold completions (do the work, keep the buffers) until model_blk_complete. */
void model_blk_hold(struct model_blk *b, bool on);
/* Use the held buffers of queue q in the given order; returns how many. */
unsigned model_blk_complete(struct model_blk *b, uint16_t q,
			    enum vdev_order order, uint32_t seed);
unsigned model_blk_held(const struct model_blk *b, uint16_t q);

unsigned model_blk_nreqs(const struct model_blk *b);
const struct model_blk_req *model_blk_req_at(const struct model_blk *b, unsigned i);
unsigned model_blk_count(const struct model_blk *b, uint32_t type);
void model_blk_clear_log(struct model_blk *b);
uint8_t model_blk_writeback(const struct model_blk *b);

/* ==== virtio-net (model_net.c) ==== */

struct model_net;

struct model_net_cfg {
	uint64_t features;          /* VIRTIO_NET_F_* offered */
	bool packed, legacy, in_order, no_indirect, no_event_idx, manual;
	uint16_t queue_max;         /* rx/tx; 0 = 256 */
	uint16_t ctrl_queue_max;    /* 0 = 64 */
	uint8_t mac[6];
	uint16_t status;            /* VIRTIO_NET_S_* */
	uint16_t max_pairs;         /* 0 = 1 */
	uint16_t mtu;               /* 0 = 1500 */
	uint32_t speed;
	uint8_t duplex;
	uint8_t rss_max_key_size;
	uint16_t rss_max_indirection_table_length;
	uint32_t supported_hash_types;
	uint64_t refuse_features;   /* see model_dev_cfg */
	uint8_t needs_reset_on;
};

/* A frame the driver sent. */
struct model_net_frame {
	uint16_t pair;
	uint16_t hdr_len;           /* the header size the device expects */
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint8_t *data;              /* the frame, without the header */
	uint32_t len;
	unsigned nsegs;             /* elements of the buffer */
};

/* A control command (spec 5.1.6.5). */
struct model_net_cmd {
	uint8_t cls, cmd;
	uint8_t *data;
	uint32_t len;
	uint8_t ack;                /* answered; 0xff while unanswered */
};

/* The device state the control queue changes. */
struct model_net_state {
	bool promisc, allmulti;
	uint8_t mac[6];
	bool mac_set;
	unsigned n_uc, n_mc;
	uint8_t uc[16][6], mc[16][6];
	uint32_t vlans[4096 / 32];
	uint16_t pairs;             /* VQ_PAIRS_SET / RSS max_tx_vq */
	bool rss;
	uint32_t rss_hash_types;
	uint16_t rss_table_len, rss_unclassified, rss_max_tx_vq;
	uint16_t rss_table[256];
	uint8_t rss_key_len, rss_key[256];
	unsigned announce_acks;
};

enum model_net_ctrl_mode {
	MODEL_NET_CTRL_ACK = 0,     /* VIRTIO_NET_OK (ERR for what the spec forbids) */
	MODEL_NET_CTRL_NAK,         /* VIRTIO_NET_ERR to everything */
	MODEL_NET_CTRL_SILENT,      /* take commands and never answer */
};

enum model_net_rx_evil {
	MODEL_NET_RX_OK = 0,
	MODEL_NET_RX_NUM_BUFFERS_ZERO, /* num_buffers = 0 */
	MODEL_NET_RX_NUM_BUFFERS_HUGE, /* num_buffers = 0xffff */
	MODEL_NET_RX_NUM_BUFFERS,      /* num_buffers = arg (e.g. more than used) */
	MODEL_NET_RX_SHORT_LEN,        /* used len 4: shorter than the header */
	MODEL_NET_RX_USED_EVIL,        /* a bad used entry: vdev_model_misbehave(arg) */
};

struct model_net *model_net_create(const struct model_net_cfg *cfg,
				   struct uvio_dev **out);
void model_net_put(struct model_net *n);
struct model_dev *model_net_dev(const struct model_net *n);
uint16_t model_net_hdr_len(const struct model_net *n);

/* tx: frames the driver sent, in order, over all pairs. */
unsigned model_net_tx_count(const struct model_net *n);
const struct model_net_frame *model_net_tx_frame(const struct model_net *n, unsigned i);
/* The hash the model reports for an IPv4 frame (HASH_REPORT with RSS). */
uint32_t model_net_ipv4_hash(const uint8_t *frame);
void model_net_tx_clear(struct model_net *n);
/* Keep tx buffers (frames are captured) until model_net_tx_complete. */
void model_net_tx_hold(struct model_net *n, bool on);
unsigned model_net_tx_complete(struct model_net *n);

/* rx: queue a frame for pair `pair` (hdr may be NULL: all zero); it goes
 * into posted buffers as soon as there are enough. Returns the number of
 * frames still waiting on that pair. */
unsigned model_net_rx_inject(struct model_net *n, uint16_t pair, const void *frame,
			     uint32_t len, const struct virtio_net_hdr *hdr);
unsigned model_net_rx_waiting(const struct model_net *n, uint16_t pair);
/* Use only the first buffer of a multi-buffer frame now, the others at the
 * queue's next service (a notify, or model_dev_process), so the driver
 * sees the frame over two polls. */
void model_net_rx_split(struct model_net *n, bool on);
unsigned model_net_rx_dropped(const struct model_net *n);  /* did not fit without MRG_RXBUF */
/* The next `count` injected frames (0: all) misbehave. */
void model_net_rx_misbehave(struct model_net *n, enum model_net_rx_evil what,
			    int arg, unsigned count);

/* control queue */
void model_net_ctrl_mode(struct model_net *n, enum model_net_ctrl_mode mode);
unsigned model_net_ncmds(const struct model_net *n);
const struct model_net_cmd *model_net_cmd_at(const struct model_net *n, unsigned i);
const struct model_net_state *model_net_state(const struct model_net *n);

/* config changes (bump the generation) */
void model_net_set_link(struct model_net *n, bool up);
void model_net_set_announce(struct model_net *n);
void model_net_set_speed(struct model_net *n, uint32_t speed, uint8_t duplex);

#endif

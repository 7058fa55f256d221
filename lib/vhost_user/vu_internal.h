/* SPDX-License-Identifier: MIT */
/*
 * Inside the vhost-user transport: its state, shared by vhost_user.c (the
 * transport operations, open, reconnect) and vu_conn.c (sockets, the
 * handshake, the hang-up watcher).
 */
#ifndef UVIO_VU_INTERNAL_H
#define UVIO_VU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include <uvio/dev.h>
#include <uvio/dma.h>
#include <uvio/err.h>

#include "vu_msg.h"

#define VU_REPLY_TIMEOUT_MS 5000
#define VU_SERVER_WAIT_MS   30000
#define VU_PATH_MAX         sizeof(((struct sockaddr_un *)0)->sun_path)
/* Kick and call carry the ring index in 8 bits. */
#define VU_MAX_QUEUES       256

struct vu_queue {
	int kickfd;     /* we write: the back-end's doorbell */
	int callfd;     /* the back-end writes; uvio never reads it (event mode gives it to the app) */
	bool live;      /* set up on this connection since the last reset */
};

struct vu {
	/* Guards the socket (one request and its answer at a time), the
	 * regions and the queues. The DMA listener takes it under the DMA
	 * lock: never allocate DMA memory while holding it. */
	pthread_mutex_t lock;
	char path[VU_PATH_MAX];
	bool server;
	int listen_fd;              /* server: stays open for reconnects */
	int fd;                     /* the connection, -1 when none */
	int timeout_ms;
	uint16_t want_queues;
	uint16_t queue_size;
	uint16_t nqueues;           /* exposed to the core, fixed at open */
	uint64_t features;          /* GET_FEATURES of this connection */
	uint64_t protocol;          /* negotiated protocol features */
	/* The virtio device ID: the caller's (opts), else what the first
	 * back-end offered says (no CONFIG: net, CONFIG: block). */
	uint32_t device_id;
	bool config;                /* the first back-end offered CONFIG */
	uint32_t config_size;       /* the GET_CONFIG size the back-end serves */
	uint8_t status;             /* the local device status */
	bool mem_sent;              /* the back-end has the current table */
	unsigned nregions;
	struct vu_region regions[VU_MAX_REGIONS];
	int region_fd[VU_MAX_REGIONS];
	struct vu_queue *q;         /* nqueues entries */
	struct uvio_dev *dev;       /* set once the device exists */
	atomic_bool connected;
	atomic_bool losing;         /* elects the one uvio_vu_conn_lost() that runs */
	/* The hang-up watcher. */
	bool watching;
	pthread_t watcher;
	int wake_fd;
	struct uvio_dma_listener listener;
	bool listening;
	char error[UVIO_ERR_MSG_MAX];
};

/* Record "vhost-user PATH: ..." as the transport's last error; returns rc. */
int uvio_vu_fail(struct vu *v, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The connection is gone: shut the socket, break every live queue with
 * `why`. Idempotent. Under the lock. */
void uvio_vu_conn_lost(struct vu *v, const char *why);

/* One request (and its answer: into *reply for GET_*, else the REPLY_ACK
 * ack when negotiated). A back-end that is gone, silent or confused loses
 * the connection; a refused ack does not. Under the lock. */
int uvio_vu_request(struct vu *v, struct vu_msg *m, const int *fds,
		    unsigned nfds, struct vu_msg *reply);

/* Connect (client) or wait for the back-end (server) within timeout_ms,
 * then the handshake: features, protocol features, queue count, SET_OWNER.
 * `first`: decide how many queues to expose; later: check the back-end
 * still has them. Not under the lock (takes it). Fills err. */
int uvio_vu_establish(struct vu *v, int timeout_ms, bool first,
		      struct uvio_err *err);

/* Server mode: the listening socket at v->path. */
int uvio_vu_listen(struct vu *v, struct uvio_err *err);

/* The hang-up watcher: a thread that sleeps in poll() on the socket and
 * loses the connection when the back-end closes it. Not under the lock. */
int uvio_vu_watch_start(struct vu *v);
void uvio_vu_watch_stop(struct vu *v);

/* vu_ctrl.c: a net device's config space and control queue, which the
 * front-end emulates. Features offered on top of the back-end's, those
 * SET_FEATURES carries, the made-up config, and the commands. */
uint64_t uvio_vu_net_features(const struct vu *v, uint64_t backend);
uint64_t uvio_vu_net_backend_features(const struct vu *v, uint64_t features);
int uvio_vu_net_read_config(const struct vu *v, uint32_t off, void *buf, uint32_t len);
int uvio_vu_net_ctrl(void *t, uint8_t cls, uint8_t cmd, const void *data,
		     uint32_t len, char *why, uint32_t why_len);

#endif

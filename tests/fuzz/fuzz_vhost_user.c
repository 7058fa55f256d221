/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a vhost-user back-end's replies (QEMU
 * docs/interop/vhost-user.rst), against the real transport (lib/vhost_user)
 * through its public API, then the virtio-blk or virtio-net driver on top.
 *
 * The back-end is a thread of this process listening on a unix socket; uvio
 * connects to it as a client. Every request that wants an answer (GET_*,
 * or any message with NEED_REPLY once REPLY_ACK is on) gets one made from
 * the fuzz input: a proper answer with fuzz-chosen contents (features,
 * protocol features, queue count, config bytes, vring base, ack status), a
 * wrong request number or flags, a wrong size, or the back-end hanging up.
 * When the input runs out the back-end hangs up, so nothing ever waits for
 * the transport's 5 s reply timeout. The message formats are written here
 * from the protocol document, not taken from lib/vhost_user.
 *
 * Checked beyond the sanitizers: open fails with a negative errno and a
 * message or gives a device; blk requests each get one callback (0, -EIO or
 * -ENOTSUP) and submitted = ok + error after close; every packet goes back
 * to the pool; no file descriptor leaks across iterations; nothing times
 * out (the back-end always answers or hangs up).
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uvio/vhost_user.h>

#include "fuzz_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- the wire format ("Message specification") ---- */

#define VU_VERSION 0x1u
#define VU_REPLY (1u << 2)
#define VU_NEED_REPLY (1u << 3)
#define VU_F_PROTOCOL_FEATURES 30

enum {
	GET_FEATURES = 1, GET_VRING_BASE = 11, GET_PROTOCOL_FEATURES = 15,
	GET_QUEUE_NUM = 17, GET_CONFIG = 24,
};

struct vu_hdr {
	uint32_t request, flags, size;
} __attribute__((packed));

#define MAX_PAYLOAD 4096

struct be {
	struct fin in;
	int lfd;
	unsigned replies;
};

static char sock_path[108];
static int listen_fd = -1;

/* Read exactly len bytes; descriptors that come along are closed. */
static int recv_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 16)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { p, len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(f);
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The answer to one request; returns false to hang up instead. */
static bool reply(struct be *b, int fd, const struct vu_hdr *req, const uint8_t *payload)
{
	struct {
		struct vu_hdr h;
		uint8_t p[MAX_PAYLOAD];
	} __attribute__((packed)) r;
	uint8_t mode = fin_u8(&b->in);
	uint32_t size = 8;

	if (!fin_more(&b->in) || (mode & 7) == 7)
		return false;
	memset(&r, 0, sizeof(r));
	r.h.request = req->request;
	r.h.flags = VU_VERSION | VU_REPLY;
	switch (req->request) {
	case GET_FEATURES: {
		uint64_t f = fin_u64(&b->in);

		/* now and then what a real back-end offers at least */
		if (mode & 0x10)
			f |= 1ULL << 32 | 1ULL << VU_F_PROTOCOL_FEATURES;
		memcpy(r.p, &f, 8);
		break;
	}
	case GET_VRING_BASE:
		memcpy(r.p, payload, 4);   /* the ring index back */
		fin_bytes(&b->in, r.p + 4, 4);
		break;
	case GET_CONFIG: {
		uint32_t want = req->size >= 12 ? req->size : 12;

		if (want > MAX_PAYLOAD)
			want = MAX_PAYLOAD;
		memcpy(r.p, payload, 12);  /* offset, size, flags back */
		fin_bytes(&b->in, r.p + 12, want - 12);
		size = want;
		break;
	}
	default:
		/* GET_PROTOCOL_FEATURES, GET_QUEUE_NUM: anything; an ack:
		 * mostly success */
		if (req->request == GET_PROTOCOL_FEATURES || req->request == GET_QUEUE_NUM ||
		    (mode & 8))
			fin_bytes(&b->in, r.p, 8);
		break;
	}
	if ((mode & 7) == 5) {   /* a header that does not match */
		if (mode & 0x20)
			r.h.request = fin_u32(&b->in);
		else
			r.h.flags = fin_u32(&b->in);
	} else if ((mode & 7) == 6) {   /* a size that does not match */
		size = fin_u16(&b->in) % (MAX_PAYLOAD + 64);
		if (size > MAX_PAYLOAD)
			size = 0x10000 + size;  /* more than any message: sent short */
	}
	r.h.size = size;
	b->replies++;
	return send(fd, &r, sizeof(r.h) + (size <= MAX_PAYLOAD ? size : 0), MSG_NOSIGNAL) >= 0;
}

static void *be_main(void *arg)
{
	struct be *b = arg;
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };
	static uint8_t payload[0x10000];
	int fd;

	if (poll(&p, 1, 2000) != 1)
		return NULL;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		struct vu_hdr h;
		bool want;

		if (recv_full(fd, &h, sizeof(h)) || h.size > sizeof(payload) ||
		    recv_full(fd, payload, h.size))
			break;
		FUZZ_SAY("back-end: request %u flags %#x size %u\n", h.request, h.flags, h.size);
		want = h.request == GET_FEATURES || h.request == GET_VRING_BASE ||
		       h.request == GET_PROTOCOL_FEATURES || h.request == GET_QUEUE_NUM ||
		       h.request == GET_CONFIG || (h.flags & VU_NEED_REPLY);
		if (want && !reply(b, fd, &h, payload))
			break;
	}
	close(fd);
	return NULL;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void *blk_buf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t iova;

	(void)argc;
	(void)argv;
	fd_init();
	/* before the first count of open descriptors: a new DMA segment is
	 * a new memfd */
	blk_buf = uvio_dma_alloc(65536, 4096, -1, &iova, NULL);
	FUZZ_CHECK(blk_buf, "no DMA memory");
	snprintf(sock_path, sizeof(sock_path), "/tmp/uvio-fuzz-vu.%d.sock", (int)getpid());
	unlink(sock_path);
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 4)) {
		perror("fuzz_vhost_user: listen");
		abort();
	}
	return 0;
}

/* ---- the front-end's side ---- */

static unsigned cb_called, cb_ok, cb_err;

static void blk_cb(void *arg, int status)
{
	(void)arg;
	FUZZ_CHECK(status == 0 || status == -EIO || status == -ENOTSUP, "status %d", status);
	cb_called++;
	if (status)
		cb_err++;
	else
		cb_ok++;
}

static void use_blk(struct fin *in, struct uvio_dev *dev)
{
	void *buf = blk_buf;
	struct uvio_blk *blk;
	struct uvio_err err = { 0 };
	unsigned submitted = 0;
	int rc;

	cb_called = cb_ok = cb_err = 0;
	rc = uvio_blk_open(dev, &(struct uvio_blk_opts){ .queues = fin_u8(in) % 3 }, &blk, &err);
	FUZZ_SAY("blk open: %d %s\n", rc, err.msg);
	FUZZ_CHECK(rc != -ETIMEDOUT, "blk open timed out: %s", err.msg);
	FUZZ_CHECK(rc <= 0 && (!rc || err.msg[0]), "blk open %d without a message", rc);
	if (rc)
		return;
	for (unsigned n = fin_u8(in) % 4; n; n--) {
		struct uvio_blk_queue *q = uvio_blk_get_queue(blk, 0);
		struct iovec iov = { buf, uvio_blk_get_info(blk)->block_size };

		rc = fin_u8(in) & 1 ? uvio_blk_flush(q, blk_cb, NULL)
				    : uvio_blk_read(q, 0, &iov, 1, blk_cb, NULL);
		FUZZ_CHECK(rc <= 0, "submit %d", rc);
		submitted += !rc;
		rc = uvio_blk_poll(q, 8);
		FUZZ_CHECK(rc >= -EIO, "poll %d", rc);
	}
	uvio_blk_close(blk);
	FUZZ_CHECK(cb_called == submitted && cb_ok + cb_err == submitted,
		   "%u callbacks (%u ok, %u error) for %u requests", cb_called, cb_ok, cb_err,
		   submitted);
}

static void use_net(struct fin *in, struct uvio_dev *dev)
{
	/* Nobody serves the rings here: a control queue would make open wait
	 * for its 2 s timeout (a back-end that offers CONFIG is not taken for
	 * virtio-net, so its features are not masked). */
	struct uvio_net_opts o = {
		.rx_pool = fd_pool, .queue_pairs = fin_u8(in) % 3,
		.disable_features = 1ULL << VIRTIO_NET_F_CTRL_VQ | 1ULL << VIRTIO_NET_F_MQ |
				    1ULL << 60 /* RSS */,
	};
	struct uvio_err err = { 0 };
	struct uvio_net *net;
	struct uvio_pkt *pkts[4];
	int rc = uvio_net_open(dev, &o, &net, &err);

	FUZZ_SAY("net open: %d %s\n", rc, err.msg);
	FUZZ_CHECK(rc != -ETIMEDOUT, "net open timed out: %s", err.msg);
	FUZZ_CHECK(rc <= 0 && (!rc || err.msg[0]), "net open %d without a message", rc);
	if (rc)
		return;
	for (unsigned n = fin_u8(in) % 4; n; n--) {
		unsigned took;

		if (fin_u8(in) & 1) {
			took = uvio_net_rx_burst(net, 0, pkts, 4);
			uvio_pkt_free_bulk(NULL, pkts, took);
		} else if (uvio_pkt_alloc_bulk(fd_pool, NULL, pkts, 4)) {
			for (unsigned i = 0; i < 4; i++)
				pkts[i]->data_len = (uint16_t)(pkts[i]->pkt_len = 60);
			took = uvio_net_tx_burst(net, 0, pkts, 4);
			FUZZ_CHECK(took <= 4, "tx_burst took %u", took);
			if (took < 4)
				uvio_net_tx_drop(net, 0, pkts + took, (uint16_t)(4 - took));
		}
	}
	uvio_net_close(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t nmain = size ? data[0] % 16 : 0;
	struct fin in = { size ? data + 1 : data, size ? (nmain < size - 1 ? nmain : size - 1) : 0 };
	struct be b = { .in = { in.p + in.n, size ? size - 1 - in.n : 0 } };
	struct uvio_vhost_user_opts o = { .path = sock_path, .timeout_ms = 0 };
	uint8_t kind = fin_u8(&in);
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;
	unsigned fds = count_fds();
	pthread_t th;
	int rc;

	o.queues = fin_u8(&in) % 4;
	o.queue_size = (uint16_t)(1u << (fin_u8(&in) % 9));
	FUZZ_CHECK(pthread_create(&th, NULL, be_main, &b) == 0, "no back-end thread");
	rc = uvio_vhost_user_open(&o, &dev, &err);
	FUZZ_SAY("vhost-user open: %d %s\n", rc, err.msg);
	FUZZ_CHECK(rc <= 0, "open %d", rc);
	/* The back-end answers or hangs up: never a reply timeout. */
	FUZZ_CHECK(rc != -ETIMEDOUT, "open timed out: %s", err.msg);
	if (rc) {
		FUZZ_CHECK(err.msg[0], "open failed (%d) without a message", rc);
	} else if (kind & 1) {
		use_net(&in, dev);
	} else {
		use_blk(&in, dev);
	}
	pthread_join(th, NULL);
	fd_pool_check();
	FUZZ_CHECK(count_fds() == fds, "%u file descriptors open, %u before", count_fds(), fds);
	return 0;
}

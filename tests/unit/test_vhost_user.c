/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user transport against a fake back-end: a thread serving a
 * unix socket in a temporary directory, which records every message (type,
 * flags, payload, descriptors), answers the GET_* requests and REPLY_ACK
 * acks, and can misbehave on demand (garbage, a refused ack, hanging up).
 * It never runs the rings: these tests are about the protocol, the order
 * of messages and the error paths; tests/host runs real back-ends.
 *
 * DMA memory is 4K pinned memfd (IOVA = VA), set up once for the process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvio/blk.h>
#include <uvio/dma.h>
#include <uvio/net.h>
#include <uvio/uvio.h>
#include <uvio/vhost_user.h>

#include "vhost_user/vu_msg.h"

#define BIT(n) (1ULL << (n))
#define SEG_SIZE ((size_t)4 << 20)
#define MAX_MSGS 512
#define MAGIC 0x7576696f6d656d21ull  /* "uviomem!" */

static const uint64_t blk_features =
	BIT(VIRTIO_F_VERSION_1) | BIT(VU_F_PROTOCOL_FEATURES) |
	BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
	BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_MQ) |
	BIT(VIRTIO_BLK_F_CONFIG_WCE) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	BIT(VIRTIO_RING_F_INDIRECT_DESC);

static const uint64_t all_protocol =
	BIT(VU_PROTOCOL_F_MQ) | BIT(1) /* LOG_SHMFD */ |
	BIT(VU_PROTOCOL_F_REPLY_ACK) | BIT(VU_PROTOCOL_F_CONFIG) |
	BIT(5) /* BACKEND_REQ */;

struct rec {
	uint32_t request, flags, size;
	union vu_payload p;
	unsigned nfds;
	uint64_t fd_size[VU_MAX_FDS];   /* fstat of each descriptor */
	uint64_t magic;                 /* SET_MEM_TABLE: see check_magic */
};

struct fake {
	char dir[64], path[108];
	int lfd;                /* listening; -1 in client mode */
	int fd;                 /* the session */
	pthread_t thread;
	bool client;            /* connect to path instead (uvio is server) */
	/* behaviour */
	uint64_t features, protocol, queue_num;
	uint32_t config_ok;     /* the one GET_CONFIG size served; 0 = any */
	uint8_t config[VU_CONFIG_MAX];
	bool garbage;           /* answer GET_FEATURES with another request */
	uint32_t nak;           /* ack this request with 1 */
	uint64_t *magic_at;     /* a DMA address to read through the memfd */
	/* record */
	pthread_mutex_t lock;
	unsigned nmsg, sessions;
	struct rec msg[MAX_MSGS];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

/* Read the magic through the back-end's view of the memory: the region's
 * fd mapped at its mmap_offset, as a back-end does. */
static uint64_t check_magic(const struct fake *f, const struct vu_mem_table *mt,
			    const int *fds, unsigned nfds)
{
	uintptr_t at = (uintptr_t)f->magic_at;

	for (unsigned i = 0; f->magic_at && i < mt->nregions && i < nfds; i++) {
		const struct vu_region *r = &mt->regions[i];
		size_t len = r->memory_size + r->mmap_offset;
		uint64_t val;
		void *m;

		if (at < r->userspace_addr || at >= r->userspace_addr + r->memory_size)
			continue;
		m = mmap(NULL, len, PROT_READ, MAP_SHARED, fds[i], 0);
		if (m == MAP_FAILED)
			return 0;
		memcpy(&val, (char *)m + r->mmap_offset + (at - r->userspace_addr), 8);
		munmap(m, len);
		return val;
	}
	return 0;
}

static void reply(int fd, const struct vu_msg *req, uint32_t request, uint32_t size,
		  const void *payload)
{
	struct vu_msg r;

	uvio_vu_msg_init(&r, request, size);
	r.hdr.flags |= VU_FLAG_REPLY;
	if (size)
		memcpy(&r.p, payload, size);
	(void)req;
	uvio_vu_send(fd, &r, NULL, 0, 1000);
}

static void answer(struct fake *f, int fd, const struct vu_msg *m)
{
	uint64_t u;

	switch (m->hdr.request) {
	case VU_GET_FEATURES:
		u = f->features;
		reply(fd, m, f->garbage ? 99 : m->hdr.request, 8, &u);
		return;
	case VU_GET_PROTOCOL_FEATURES:
		reply(fd, m, m->hdr.request, 8, &f->protocol);
		return;
	case VU_GET_QUEUE_NUM:
		reply(fd, m, m->hdr.request, 8, &f->queue_num);
		return;
	case VU_GET_VRING_BASE: {
		struct vhost_vring_state st = { m->p.state.index, 0 };

		reply(fd, m, m->hdr.request, sizeof(st), &st);
		return;
	}
	case VU_GET_CONFIG: {
		struct vu_config c = m->p.config;

		if (f->config_ok && c.size != f->config_ok) {
			reply(fd, m, m->hdr.request, 0, NULL);  /* as QEMU does */
			return;
		}
		memcpy(c.region, f->config + c.offset, c.size);
		reply(fd, m, m->hdr.request, VU_CONFIG_HDR + c.size, &c);
		return;
	}
	case VU_SET_CONFIG:
		if (m->p.config.offset + m->p.config.size <= sizeof(f->config))
			memcpy(f->config + m->p.config.offset, m->p.config.region,
			       m->p.config.size);
		/* fall through */
	default:
		if (m->hdr.flags & VU_FLAG_NEED_REPLY) {
			u = m->hdr.request == f->nak;
			reply(fd, m, m->hdr.request, 8, &u);
		}
	}
}

static void record(struct fake *f, const struct vu_msg *m, const int *fds, unsigned nfds)
{
	struct rec *r;

	pthread_mutex_lock(&f->lock);
	if (f->nmsg < MAX_MSGS) {
		r = &f->msg[f->nmsg];
		memset(r, 0, sizeof(*r));
		r->request = m->hdr.request;
		r->flags = m->hdr.flags;
		r->size = m->hdr.size;
		memcpy(&r->p, &m->p, sizeof(r->p));
		r->nfds = nfds;
		for (unsigned i = 0; i < nfds; i++) {
			struct stat st;

			r->fd_size[i] = fstat(fds[i], &st) ? 0 : (uint64_t)st.st_size;
		}
		if (m->hdr.request == VU_SET_MEM_TABLE)
			r->magic = check_magic(f, &m->p.mem, fds, nfds);
		f->nmsg++;
	}
	pthread_mutex_unlock(&f->lock);
}

static void session(struct fake *f, int fd)
{
	pthread_mutex_lock(&f->lock);
	f->fd = fd;
	f->sessions++;
	pthread_mutex_unlock(&f->lock);
	for (;;) {
		struct vu_msg m;
		int fds[VU_MAX_FDS];
		unsigned nfds = 0;

		if (uvio_vu_recv(fd, &m, fds, &nfds, -1))
			break;
		record(f, &m, fds, nfds);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		answer(f, fd, &m);
	}
	pthread_mutex_lock(&f->lock);
	f->fd = -1;
	pthread_mutex_unlock(&f->lock);
	close(fd);
}

static void *serve(void *arg)
{
	struct fake *f = arg;

	if (f->client) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		strcpy(sa.sun_path, f->path);
		for (int i = 0; i < 200; i++) {
			if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
				session(f, fd);
				return NULL;
			}
			sleep_ms(10);
		}
		close(fd);
		return NULL;
	}
	for (;;) {
		int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return NULL;
		session(f, fd);
	}
}

static struct fake *fake_new(uint64_t features, uint64_t protocol)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/uvio-vu-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	f->features = features;
	f->protocol = protocol;
	f->queue_num = 2;
	f->lfd = f->fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	/* A 64 MiB disk of 512-byte blocks, 2 queues. */
	struct virtio_blk_config *c = (void *)f->config;
	c->capacity = 64 << 11;
	c->blk_size = 512;
	c->seg_max = 64;
	c->num_queues = 2;
	c->wce = 1;
	return f;
}

/* Listen (back-end as server) and serve in a thread. */
static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!f->client) {
		strcpy(sa.sun_path, f->path);
		f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(f->lfd >= 0);
		assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(f->lfd, 4), 0);
	}
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

/* The back-end hangs up the current session (it goes on accepting). */
static void fake_hangup(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0)
		shutdown(f->fd, SHUT_RDWR);
	pthread_mutex_unlock(&f->lock);
}

static void fake_free(struct fake *f)
{
	fake_hangup(f);
	if (f->lfd >= 0)
		shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	if (f->lfd >= 0)
		close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static unsigned nmsg(struct fake *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->nmsg;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* The index of the first `request` at or after `from`, or -1. */
static int find(struct fake *f, uint32_t request, unsigned from)
{
	for (unsigned i = from; i < nmsg(f); i++)
		if (f->msg[i].request == request)
			return (int)i;
	return -1;
}

static unsigned count(struct fake *f, uint32_t request)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nmsg(f); i++)
		n += f->msg[i].request == request;
	return n;
}

static bool wait_for(bool (*cond)(void *), void *arg, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (!cond(arg)) {
		if (now_ms() > end)
			return false;
		sleep_ms(2);
	}
	return true;
}

static char *spec_of(const struct fake *f, const char *opts)
{
	static char spec[256];

	snprintf(spec, sizeof(spec), "vhost-user:%s%s", f->path, opts);
	return spec;
}

static int count_seg(void *ctx, const struct uvio_dma_seg *seg)
{
	(void)seg;
	++*(unsigned *)ctx;
	return 0;
}

static unsigned nsegs(void)
{
	unsigned n = 0;

	uvio_dma_foreach_seg(count_seg, &n);
	return n;
}

/* ---- the wire format ----------------------------------------------------- */

static void test_msg_layout(void **state)
{
	struct vu_msg m;

	(void)state;
	/* vhost-user.rst "Message specification". */
	assert_int_equal(sizeof(struct vu_hdr), 12);
	assert_int_equal(offsetof(struct vu_msg, p), 12);
	assert_int_equal(sizeof(struct vhost_vring_state), 8);
	assert_int_equal(sizeof(struct vhost_vring_addr), 40);
	assert_int_equal(offsetof(struct vhost_vring_addr, desc_user_addr), 8);
	assert_int_equal(offsetof(struct vhost_vring_addr, used_user_addr), 16);
	assert_int_equal(offsetof(struct vhost_vring_addr, avail_user_addr), 24);
	assert_int_equal(sizeof(struct vu_region), 32);
	assert_int_equal(offsetof(struct vu_region, mmap_offset), 24);
	assert_int_equal(uvio_vu_mem_table_size(2), 8 + 2 * 32);
	assert_int_equal(offsetof(struct vu_config, region), VU_CONFIG_HDR);
	uvio_vu_msg_init(&m, VU_SET_FEATURES, 8);
	assert_int_equal(m.hdr.flags, 1);
	assert_int_equal(m.hdr.request, 2);
}

static void test_msg_roundtrip_with_fds(void **state)
{
	int sv[2], fds[2], got[VU_MAX_FDS];
	unsigned ngot = 0;
	struct vu_msg m, r;
	struct stat a, b;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fds[0] = eventfd(0, 0);
	fds[1] = eventfd(0, 0);
	uvio_vu_msg_init(&m, VU_SET_MEM_TABLE, uvio_vu_mem_table_size(2));
	m.p.mem.nregions = 2;
	m.p.mem.regions[1].guest_phys_addr = 0x1234000;
	m.p.mem.regions[1].mmap_offset = 0x2000;
	assert_int_equal(uvio_vu_send(sv[0], &m, fds, 2, 1000), 0);
	assert_int_equal(uvio_vu_recv(sv[1], &r, got, &ngot, 1000), 0);
	assert_int_equal(ngot, 2);
	assert_memory_equal(&m, &r, 12 + m.hdr.size);
	/* The same open files, as new descriptors. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fstat(fds[i], &a), 0);
		assert_int_equal(fstat(got[i], &b), 0);
		assert_int_equal(a.st_ino, b.st_ino);
		assert_int_not_equal(got[i], fds[i]);
		close(got[i]);
		close(fds[i]);
	}
	/* Descriptors nobody asked for are closed, not leaked. */
	fds[0] = eventfd(0, 0);
	uvio_vu_msg_init(&m, VU_SET_VRING_KICK, 8);
	assert_int_equal(uvio_vu_send(sv[0], &m, fds, 1, 1000), 0);
	assert_int_equal(uvio_vu_recv(sv[1], &r, NULL, NULL, 1000), 0);
	close(fds[0]);
	close(sv[0]);
	close(sv[1]);
}

static void test_msg_recv_errors(void **state)
{
	int sv[2];
	struct vu_msg m;
	struct vu_hdr bad = { .request = 1, .flags = 2, .size = 0 };

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* Nothing comes: a timeout, not a hang. */
	assert_int_equal(uvio_vu_recv(sv[1], &m, NULL, NULL, 30), -ETIMEDOUT);
	/* Version 2 is no vhost-user. */
	assert_int_equal(write(sv[0], &bad, sizeof(bad)), (ssize_t)sizeof(bad));
	assert_int_equal(uvio_vu_recv(sv[1], &m, NULL, NULL, 1000), -EPROTO);
	/* A payload larger than any message. */
	bad = (struct vu_hdr){ .request = 1, .flags = 1, .size = 100000 };
	assert_int_equal(write(sv[0], &bad, sizeof(bad)), (ssize_t)sizeof(bad));
	assert_int_equal(uvio_vu_recv(sv[1], &m, NULL, NULL, 1000), -EPROTO);
	/* Half a header, then the peer is gone. */
	assert_int_equal(write(sv[0], &bad, 5), 5);
	close(sv[0]);
	assert_int_equal(uvio_vu_recv(sv[1], &m, NULL, NULL, 1000), -ECONNRESET);
	/* Sending to a closed peer: EPIPE, and no SIGPIPE kills us. */
	uvio_vu_msg_init(&m, VU_SET_OWNER, 0);
	assert_int_equal(uvio_vu_send(sv[1], &m, NULL, 0, 1000), -EPIPE);
	close(sv[1]);
}

static void test_msg_check_reply(void **state)
{
	struct vu_msg r;
	char why[160];

	(void)state;
	uvio_vu_msg_init(&r, VU_GET_FEATURES, 8);
	r.hdr.flags |= VU_FLAG_REPLY;
	assert_int_equal(uvio_vu_check_reply(&r, VU_GET_FEATURES, 8, true, why, sizeof(why)), 0);
	assert_int_equal(uvio_vu_check_reply(&r, VU_GET_QUEUE_NUM, 8, true, why, sizeof(why)),
			 -EPROTO);
	assert_non_null(strstr(why, "answered GET_QUEUE_NUM with GET_FEATURES"));
	assert_int_equal(uvio_vu_check_reply(&r, VU_GET_FEATURES, 16, true, why, sizeof(why)),
			 -EPROTO);
	r.hdr.flags = 1;
	assert_int_equal(uvio_vu_check_reply(&r, VU_GET_FEATURES, 8, true, why, sizeof(why)),
			 -EPROTO);
	assert_non_null(strstr(why, "reply flag"));
}

/* ---- opening: the one-line errors ---------------------------------------- */

static void expect_open_error(const char *spec, int code, const char *needle)
{
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;

	assert_int_equal(uvio_open(spec, &dev, &err), code);
	assert_null(dev);
	if (!strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, needle);
	assert_null(strchr(err.msg, '\n'));
}

static void test_open_errors(void **state)
{
	char dir[] = "/tmp/uvio-vu-XXXXXX", path[128], spec[160];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	snprintf(spec, sizeof(spec), "vhost-user:%s", path);
	expect_open_error(spec, -ENOENT, "start the back-end first, or use ,server");
	/* A regular file. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	expect_open_error(spec, -ENOTSOCK, "is not a socket");
	unlink(path);
	/* A socket nobody listens on (a back-end that died). */
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	expect_open_error(spec, -ECONNREFUSED, "refuses connections");
	/* ,timeout retries, then says how long it waited. */
	snprintf(spec, sizeof(spec), "vhost-user:%s,timeout=60", path);
	expect_open_error(spec, -ECONNREFUSED, "waited");
	unlink(path);
	/* A server nobody connects to. */
	snprintf(spec, sizeof(spec), "vhost-user:%s,server,timeout=50", path);
	expect_open_error(spec, -ETIMEDOUT, "no vhost-user back-end connected");
	/* Malformed specs. */
	expect_open_error("vhost-user:", -EINVAL, "no socket path");
	expect_open_error("vhost-user:,server", -EINVAL, "no socket path");
	snprintf(spec, sizeof(spec), "vhost-user:%s,queues=0", path);
	expect_open_error(spec, -EINVAL, "bad option 'queues=0'");
	snprintf(spec, sizeof(spec), "vhost-user:%s,fast", path);
	expect_open_error(spec, -EINVAL, "bad option 'fast'");
	snprintf(spec, sizeof(spec), "vhost-user:%s,queue_size=100", path);
	expect_open_error(spec, -EINVAL, "not a power of two");
	expect_open_error("vhost-user:/tmp/this/path/is/far/too/long/for/a/unix/socket/"
			  "address/which/holds/only/a/hundred/and/seven/bytes/and/so/"
			  "this/one/does/not/fit/x.sock", -ENAMETOOLONG, "too long");
	expect_open_error("vhost:x", -EINVAL, "vhost-user:/path/to.sock");
	unlink(path);
	rmdir(dir);
}

static void test_open_garbage_backend(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);

	(void)state;
	f->garbage = true;
	fake_start(f);
	expect_open_error(spec_of(f, ""), -EPROTO, "not a vhost-user back-end");
	fake_free(f);
}

/* ---- blk: the handshake, the order, the memory --------------------------- */

static struct uvio_blk *open_blk(struct fake *f, const char *opts, uint16_t queues)
{
	struct uvio_blk_opts bo = { .queues = queues };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_blk *blk;

	if (uvio_open(spec_of(f, opts), &dev, &err) || uvio_blk_open(dev, &bo, &blk, &err))
		fail_msg("open: %s", err.msg);
	return blk;
}

/* Index of the message after `i` that must be `request`. */
static unsigned expect_at(struct fake *f, unsigned i, uint32_t request)
{
	char a[24], b[24];

	if (i >= nmsg(f))
		fail_msg("message %u: expected %s, got none", i, uvio_vu_request_name(request, a));
	if (f->msg[i].request != request)
		fail_msg("message %u: expected %s, got %s", i, uvio_vu_request_name(request, a),
			 uvio_vu_request_name(f->msg[i].request, b));
	return i + 1;
}

static void test_blk_handshake_order(void **state)
{
	struct fake *f = fake_new(blk_features | BIT(VHOST_F_LOG_ALL) |
				  BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(38), all_protocol);
	uint64_t iova, *magic;
	struct uvio_err err;
	struct uvio_blk *blk;
	const struct uvio_blk_info *in;
	unsigned i = 0, segs;

	(void)state;
	/* Older QEMU: only the blk config without secure erase. */
	f->config_ok = offsetof(struct virtio_blk_config, max_secure_erase_sectors);
	magic = uvio_dma_alloc(64, 64, -1, &iova, &err);
	assert_non_null(magic);
	*magic = MAGIC;
	f->magic_at = magic;
	fake_start(f);
	blk = open_blk(f, "", 2);
	in = uvio_blk_get_info(blk);
	assert_int_equal(in->capacity, 64u << 20);
	assert_int_equal(in->queues, 2);
	assert_int_equal(in->queue_size, 256);

	i = expect_at(f, i, VU_GET_FEATURES);
	i = expect_at(f, i, VU_GET_PROTOCOL_FEATURES);
	i = expect_at(f, i, VU_SET_PROTOCOL_FEATURES);
	assert_int_equal(f->msg[i - 1].p.u64, BIT(VU_PROTOCOL_F_MQ) |
			 BIT(VU_PROTOCOL_F_REPLY_ACK) | BIT(VU_PROTOCOL_F_CONFIG));
	i = expect_at(f, i, VU_GET_QUEUE_NUM);
	i = expect_at(f, i, VU_SET_OWNER);
	/* The config size probe: the full struct, refused; then the older. */
	i = expect_at(f, i, VU_GET_CONFIG);
	assert_int_equal(f->msg[i - 1].p.config.size, sizeof(struct virtio_blk_config));
	i = expect_at(f, i, VU_GET_CONFIG);
	assert_int_equal(f->msg[i - 1].p.config.size, f->config_ok);
	i = expect_at(f, i, VU_SET_FEATURES);
	/* The transport bit goes back; what the transport hides does not. */
	uint64_t set = f->msg[i - 1].p.u64;
	assert_true(set & BIT(VU_F_PROTOCOL_FEATURES));
	assert_true(set & BIT(VIRTIO_F_VERSION_1));
	assert_false(set & (BIT(VHOST_F_LOG_ALL) | BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(38)));
	assert_false(uvio_dev_device_features(uvio_blk_dev(blk)) & BIT(VU_F_PROTOCOL_FEATURES));
	/* Config reads, then the memory table before the first ring. */
	while (f->msg[i].request == VU_GET_CONFIG) {
		assert_int_equal(f->msg[i].p.config.offset, 0);
		assert_int_equal(f->msg[i].p.config.size, f->config_ok);
		i++;
	}
	i = expect_at(f, i, VU_SET_MEM_TABLE);
	const struct rec *mt = &f->msg[i - 1];
	segs = nsegs();
	assert_int_equal(mt->p.mem.nregions, segs);
	assert_int_equal(mt->nfds, segs);
	for (unsigned r = 0; r < segs; r++) {
		const struct vu_region *reg = &mt->p.mem.regions[r];

		assert_int_equal(reg->guest_phys_addr, reg->userspace_addr);
		assert_true(mt->fd_size[r] >= reg->mmap_offset + reg->memory_size);
	}
	/* The back-end sees our memory through the fds. */
	assert_int_equal(mt->magic, MAGIC);
	for (uint16_t q = 0; q < 2; q++) {
		struct uvio_vq_addrs a;

		uvio_vq_get_addrs(uvio_dev_queue(uvio_blk_dev(blk), q), &a);
		i = expect_at(f, i, VU_SET_VRING_NUM);
		assert_int_equal(f->msg[i - 1].p.state.index, q);
		assert_int_equal(f->msg[i - 1].p.state.num, 256);
		i = expect_at(f, i, VU_SET_VRING_BASE);
		assert_int_equal(f->msg[i - 1].p.state.num, 0);
		i = expect_at(f, i, VU_SET_VRING_ADDR);
		assert_int_equal(f->msg[i - 1].p.addr.desc_user_addr, a.desc);
		assert_int_equal(f->msg[i - 1].p.addr.avail_user_addr, a.driver);
		assert_int_equal(f->msg[i - 1].p.addr.used_user_addr, a.device);
		i = expect_at(f, i, VU_SET_VRING_KICK);
		assert_int_equal(f->msg[i - 1].nfds, 1);
		assert_int_equal(f->msg[i - 1].p.u64, q);
		i = expect_at(f, i, VU_SET_VRING_CALL);
		assert_int_equal(f->msg[i - 1].nfds, 1);
	}
	/* DRIVER_OK enables the rings. */
	for (uint16_t q = 0; q < 2; q++) {
		i = expect_at(f, i, VU_SET_VRING_ENABLE);
		assert_int_equal(f->msg[i - 1].p.state.index, q);
		assert_int_equal(f->msg[i - 1].p.state.num, 1);
	}
	assert_int_equal(i, nmsg(f));
	/* With REPLY_ACK, every message without an answer asks for an ack. */
	for (unsigned k = 0; k < i; k++) {
		uint32_t rq = f->msg[k].request;
		bool get = rq == VU_GET_FEATURES || rq == VU_GET_PROTOCOL_FEATURES ||
			   rq == VU_GET_QUEUE_NUM || rq == VU_GET_CONFIG ||
			   rq == VU_SET_PROTOCOL_FEATURES;

		assert_int_equal(!!(f->msg[k].flags & VU_FLAG_NEED_REPLY), !get);
	}

	/* CONFIG_WCE: a write is one SET_CONFIG of the wce byte. */
	assert_int_equal(uvio_blk_set_writeback(blk, false), 0);
	i = (unsigned)find(f, VU_SET_CONFIG, i);
	assert_int_equal(f->msg[i].p.config.offset, offsetof(struct virtio_blk_config, wce));
	assert_int_equal(f->msg[i].p.config.size, 1);
	assert_int_equal(f->msg[i].p.config.region[0], 0);

	/* Close: each ring disabled and stopped (GET_VRING_BASE). */
	i = nmsg(f);
	uvio_blk_close(blk);
	for (uint16_t q = 0; q < 2; q++) {
		i = expect_at(f, i, VU_SET_VRING_ENABLE);
		assert_int_equal(f->msg[i - 1].p.state.num, 0);
		i = expect_at(f, i, VU_GET_VRING_BASE);
		assert_int_equal(f->msg[i - 1].p.state.index, q);
	}
	uvio_dma_free(magic);
	fake_free(f);
}

static bool table_resent(void *arg)
{
	return count((struct fake *)arg, VU_SET_MEM_TABLE) >= 2;
}

/* A segment made after SET_MEM_TABLE: the table goes out again. */
static void test_blk_new_segment_announced(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);
	struct uvio_blk *blk;
	struct uvio_err err;
	unsigned before = nsegs();
	void *big;
	uint64_t iova;
	int at;

	(void)state;
	fake_start(f);
	blk = open_blk(f, "", 1);
	assert_int_equal(count(f, VU_SET_MEM_TABLE), 1);
	big = uvio_dma_alloc(SEG_SIZE / 2 + 4096, 4096, -1, &iova, &err);
	assert_non_null(big);
	*(uint64_t *)big = MAGIC;
	if (nsegs() == before) {
		uvio_dma_free(big);
		big = uvio_dma_alloc(SEG_SIZE - 8192, 4096, -1, &iova, &err);
		assert_non_null(big);
	}
	assert_true(nsegs() > before);
	assert_true(wait_for(table_resent, f, 2000));
	at = find(f, VU_SET_MEM_TABLE, 1);
	at = find(f, VU_SET_MEM_TABLE, (unsigned)at + 1);
	assert_true(at > 0);
	assert_int_equal(f->msg[at].p.mem.nregions, nsegs());
	assert_int_equal(f->msg[at].nfds, nsegs());
	uvio_dma_free(big);
	uvio_blk_close(blk);
	fake_free(f);
}

static void test_blk_refused_ack(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_blk *blk;

	(void)state;
	f->nak = VU_SET_VRING_ADDR;
	fake_start(f);
	assert_int_equal(uvio_open(spec_of(f, ""), &dev, &err), 0);
	assert_int_equal(uvio_blk_open(dev, NULL, &blk, &err), -EIO);
	assert_non_null(strstr(err.msg, "queue 0"));
	fake_free(f);
}

/* ---- net: what a back-end without config or control queue offers -------- */

static void test_net_features(void **state)
{
	uint64_t net = BIT(VIRTIO_F_VERSION_1) | BIT(VU_F_PROTOCOL_FEATURES) |
		       BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) |
		       BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_MQ) |
		       BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |
		       BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_F_RING_PACKED) |
		       BIT(VIRTIO_RING_F_EVENT_IDX);
	struct fake *f = fake_new(net, all_protocol & ~BIT(VU_PROTOCOL_F_CONFIG));
	struct uvio_vhost_user_opts vo = { .queue_size = 64 };
	struct uvio_pktpool *pool;
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_net *n;
	const struct uvio_net_info *in;
	int at;

	(void)state;
	fake_start(f);
	vo.path = f->path;
	assert_int_equal(uvio_pktpool_create("vu-rx", 256, 2048, -1, &pool, &err), 0);
	assert_int_equal(uvio_vhost_user_open(&vo, &dev, &err), 0);
	assert_true(uvio_dev_is_vhost_user(dev));
	assert_true(uvio_vhost_user_connected(dev));
	/* GET_QUEUE_NUM counts a net back-end's pairs (2): four rings. */
	assert_int_equal(uvio_dev_max_queues(dev), 4);
	struct uvio_net_opts no = { .rx_pool = pool };
	if (uvio_net_open(dev, &no, &n, &err))
		fail_msg("net open: %s", err.msg);
	in = uvio_net_get_info(n);
	/* The control queue is emulated (vu_ctrl.c), and MQ with it. */
	assert_true(in->ctrl_vq);
	assert_false(in->has_mac);
	assert_int_equal(in->queue_pairs, 1);
	assert_int_equal(in->max_queue_pairs, 2);
	assert_int_equal(in->mtu, 1500);
	assert_true(in->packed);
	assert_true(in->mrg_rxbuf);
	assert_true(in->features & BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_true(in->features & BIT(VIRTIO_NET_F_MQ));
	assert_false(in->features & (BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_CTRL_RX)));
	/* The back-end never hears of the control queue. */
	at = find(f, VU_SET_FEATURES, 0);
	assert_false(f->msg[at].p.u64 & BIT(VIRTIO_NET_F_CTRL_VQ));
	assert_true(f->msg[at].p.u64 & BIT(VIRTIO_NET_F_MQ));
	assert_int_equal(find(f, VU_GET_CONFIG, 0), -1);
	assert_int_equal(find(f, VU_GET_QUEUE_NUM, 0) >= 0, 1);
	/* A packed ring starts with both wrap counters at 1. */
	at = find(f, VU_SET_VRING_BASE, 0);
	assert_int_equal(f->msg[at].p.state.num, 0x80008000u);
	uvio_net_close(n);
	uvio_pktpool_destroy(pool);
	fake_free(f);
}

/* Two pairs and the emulated control queue: VQ_PAIRS_SET is
 * SET_VRING_ENABLE, MAC is SET_CONFIG (with CONFIG), the rest -ENOTSUP. */
static void test_net_mq_ctrl(void **state)
{
	uint64_t net = BIT(VIRTIO_F_VERSION_1) | BIT(VU_F_PROTOCOL_FEATURES) |
		       BIT(VIRTIO_NET_F_MRG_RXBUF);
	struct fake *f = fake_new(net, all_protocol);
	struct uvio_vhost_user_opts vo = { .queue_size = 64, .device_id = VIRTIO_ID_NET };
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 7 };
	struct uvio_pktpool *pool;
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_net *n;
	unsigned mark;
	int at;

	(void)state;
	fake_start(f);
	vo.path = f->path;
	assert_int_equal(uvio_pktpool_create("vu-mq", 512, 2048, -1, &pool, &err), 0);
	assert_int_equal(uvio_vhost_user_open(&vo, &dev, &err), 0);
	struct uvio_net_opts no = { .rx_pool = pool, .queue_pairs = 2 };
	if (uvio_net_open(dev, &no, &n, &err))
		fail_msg("net open: %s", err.msg);
	/* MQ from the protocol feature alone: offered, not sent on. */
	assert_int_equal(uvio_net_get_info(n)->queue_pairs, 2);
	at = find(f, VU_SET_FEATURES, 0);
	assert_false(f->msg[at].p.u64 & (BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ)));
	assert_int_equal(count(f, VU_SET_VRING_ENABLE), 4 + 4);

	mark = nmsg(f);
	assert_int_equal(uvio_net_set_queue_pairs(n, 1), 0);
	for (unsigned q = 0; q < 4; q++) {
		at = find(f, VU_SET_VRING_ENABLE, mark);
		assert_true(at >= 0);
		assert_int_equal(f->msg[at].p.state.index, q);
		assert_int_equal(f->msg[at].p.state.num, q < 2);
		mark = (unsigned)at + 1;
	}
	assert_int_equal(uvio_net_set_queue_pairs(n, 2), 0);
	assert_int_equal(uvio_net_set_queue_pairs(n, 3), -EINVAL);

	assert_int_equal(uvio_net_set_mac(n, mac), 0);
	at = find(f, VU_SET_CONFIG, 0);
	assert_true(at >= 0);
	assert_int_equal(f->msg[at].p.config.offset, 0);
	assert_int_equal(f->msg[at].p.config.size, 6);
	assert_memory_equal(f->msg[at].p.config.region, mac, 6);
	assert_memory_equal(uvio_net_get_info(n)->mac, mac, 6);
	f->nak = VU_SET_CONFIG;
	assert_int_equal(uvio_net_set_mac(n, mac), -EIO);
	assert_non_null(strstr(uvio_net_ctrl_error(n), "refused SET_CONFIG"));

	assert_int_equal(uvio_net_set_promisc(n, true), -ENOTSUP);
	assert_string_equal(uvio_net_ctrl_error(n),
			    "vhost-user: the protocol has no promiscuous-mode message");
	assert_int_equal(uvio_net_set_allmulti(n, false), -ENOTSUP);
	assert_int_equal(uvio_net_vlan_add(n, 5), -ENOTSUP);
	assert_non_null(strstr(uvio_net_ctrl_error(n), "VLAN"));
	assert_int_equal(uvio_net_set_mac_tables(n, &mac, 1, NULL, 0), -ENOTSUP);
	assert_int_equal(uvio_net_set_rss(n, 1, mac, 6, (uint16_t[]){ 0, 1 }, 2), -ENOTSUP);
	assert_non_null(strstr(uvio_net_ctrl_error(n), "RSS"));
	assert_int_equal(uvio_net_announce_ack(n), -ENOTSUP);

	/* After a reconnect both pairs run again: reinit enables the four
	 * rings, and a back-end with fewer pairs is refused. */
	assert_int_equal(uvio_net_set_queue_pairs(n, 1), 0);
	mark = nmsg(f);
	if (uvio_vhost_user_reconnect(dev, 2000, &err) || uvio_net_reinit(n, &err))
		fail_msg("reconnect: %s", err.msg);
	assert_int_equal(uvio_net_get_info(n)->queue_pairs, 2);
	for (unsigned q = 0; q < 4; q++) {
		at = find(f, VU_SET_VRING_ENABLE, mark);
		assert_true(at >= 0);
		assert_int_equal(f->msg[at].p.state.index, q);
		assert_int_equal(f->msg[at].p.state.num, 1);
		mark = (unsigned)at + 1;
	}
	f->queue_num = 1;
	assert_int_equal(uvio_vhost_user_reconnect(dev, 2000, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "came back with 1 queue pairs; the device uses 2"));
	uvio_net_close(n);
	uvio_pktpool_destroy(pool);
	fake_free(f);
}

/* ---- the back-end goes away, and comes back ------------------------------ */

static int io_status;
static int io_done;

static void on_io(void *arg, int status)
{
	(void)arg;
	io_status = status;
	io_done++;
}

static bool disconnected(void *arg)
{
	return !uvio_vhost_user_connected(arg);
}

static void test_blk_hangup_then_reconnect(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);
	struct uvio_err err = { 0 };
	struct uvio_blk *blk;
	struct uvio_blk_queue *q;
	struct uvio_dev *dev;
	uint64_t iova;
	void *buf = uvio_dma_alloc(4096, 4096, -1, &iova, &err);
	struct iovec iov = { buf, 4096 };
	unsigned mark;
	int i;

	(void)state;
	fake_start(f);
	blk = open_blk(f, "", 2);
	dev = uvio_blk_dev(blk);
	q = uvio_blk_get_queue(blk, 0);
	io_done = 0;
	assert_int_equal(uvio_blk_check(blk), 0);
	/* The fake never completes it: it is in flight when the back-end goes. */
	assert_int_equal(uvio_blk_write(q, 0, &iov, 1, on_io, NULL), 0);
	assert_int_equal(uvio_blk_poll(q, 8), 0);

	fake_hangup(f);
	assert_true(wait_for(disconnected, dev, 2000));
	assert_true(uvio_vq_is_broken(uvio_dev_queue(dev, 0)));
	assert_true(uvio_vq_is_broken(uvio_dev_queue(dev, 1)));
	assert_int_equal(uvio_blk_check(blk), -ERESTART);
	/* The request fails at the next poll; nothing waits forever. */
	assert_int_equal(uvio_blk_poll(q, 8), -EIO);
	assert_int_equal(io_done, 1);
	assert_int_equal(io_status, -EIO);
	assert_non_null(strstr(uvio_blk_queue_error(q), "back-end gone"));
	assert_int_equal(uvio_blk_write(q, 0, &iov, 1, on_io, NULL), -EIO);
	/* Reinit without the back-end: an error, no hang. */
	assert_int_not_equal(uvio_blk_reinit(blk, &err), 0);

	/* The back-end is still there (accepting): reconnect, then reinit. */
	mark = nmsg(f);
	if (uvio_vhost_user_reconnect(dev, 2000, &err) || uvio_blk_reinit(blk, &err))
		fail_msg("reconnect: %s", err.msg);
	assert_true(uvio_vhost_user_connected(dev));
	assert_int_equal(uvio_blk_check(blk), 0);
	assert_int_equal(f->sessions, 2);
	i = (int)expect_at(f, mark, VU_GET_FEATURES);
	assert_true(find(f, VU_SET_OWNER, mark) > 0);
	i = find(f, VU_SET_FEATURES, mark);
	assert_true(i > 0);
	assert_int_equal(f->msg[i].p.u64 & ~BIT(VU_F_PROTOCOL_FEATURES),
			 uvio_dev_features(dev));
	i = find(f, VU_SET_MEM_TABLE, (unsigned)i);
	assert_true(i > 0);
	assert_int_equal(count(f, VU_SET_VRING_ENABLE), 2 + 2);
	/* The new queues work. */
	q = uvio_blk_get_queue(blk, 0);
	assert_false(uvio_vq_is_broken(uvio_dev_queue(dev, 0)));
	assert_false(uvio_vq_is_broken(uvio_dev_queue(dev, 1)));
	assert_int_equal(uvio_blk_write(q, 0, &iov, 1, on_io, NULL), 0);
	assert_int_equal(uvio_blk_queue_in_flight(q), 1);

	/* A forced reconnect on a live connection: the old one is dropped,
	 * reinit fails what was in flight. */
	io_done = 0;
	if (uvio_vhost_user_reconnect(dev, 2000, &err) || uvio_blk_reinit(blk, &err))
		fail_msg("forced reconnect: %s", err.msg);
	assert_int_equal(io_done, 1);
	assert_int_equal(io_status, -EIO);
	assert_int_equal(f->sessions, 3);

	/* Gone for good: reconnect fails within its timeout, queues broken. */
	q = uvio_blk_get_queue(blk, 0);
	fake_hangup(f);
	assert_true(wait_for(disconnected, dev, 2000));
	assert_int_equal(uvio_blk_poll(q, 8), -EIO);
	shutdown(f->lfd, SHUT_RDWR);
	uint64_t t0 = now_ms();
	assert_int_not_equal(uvio_vhost_user_reconnect(dev, 100, &err), 0);
	assert_true(now_ms() - t0 < 2000);
	assert_non_null(strstr(err.msg, f->path));
	assert_true(uvio_vq_is_broken(uvio_dev_queue(dev, 0)));
	uvio_blk_close(blk);  /* no back-end: must not hang */
	uvio_dma_free(buf);
	fake_free(f);
}

/* A back-end that comes back with fewer queues than the device uses. */
static void test_reconnect_fewer_queues(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);
	struct uvio_err err = { 0 };
	struct uvio_blk *blk;
	struct uvio_dev *dev;

	(void)state;
	fake_start(f);
	blk = open_blk(f, "", 2);
	dev = uvio_blk_dev(blk);
	f->queue_num = 1;
	assert_int_equal(uvio_vhost_user_reconnect(dev, 2000, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "came back with 1 queues"));
	assert_false(uvio_vhost_user_connected(dev));
	assert_true(uvio_vq_is_broken(uvio_dev_queue(dev, 0)));
	/* And then with enough again. */
	f->queue_num = 2;
	if (uvio_vhost_user_reconnect(dev, 2000, &err) || uvio_blk_reinit(blk, &err))
		fail_msg("reconnect: %s", err.msg);
	uvio_blk_close(blk);
	fake_free(f);
}

/* ,server: uvio listens, the back-end connects. */
static void test_server_mode(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);
	struct uvio_blk *blk;
	struct stat st;

	(void)state;
	f->client = true;
	fake_start(f);
	blk = open_blk(f, ",server,timeout=5000,queues=1", 2);
	assert_int_equal(uvio_blk_get_info(blk)->queues, 1);
	assert_int_equal(uvio_dev_max_queues(uvio_blk_dev(blk)), 1);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	uvio_blk_close(blk);
	/* The server's socket goes with the device. */
	assert_int_not_equal(stat(f->path, &st), 0);
	fake_free(f);
}

/* No REPLY_ACK, no protocol features at all: rings start enabled, and no
 * SET_VRING_ENABLE is sent. */
static void test_no_protocol_features(void **state)
{
	struct fake *f = fake_new(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF), 0);
	struct uvio_vhost_user_opts vo = { .queue_size = 64 };
	struct uvio_pktpool *pool;
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_net *n;

	(void)state;
	fake_start(f);
	vo.path = f->path;
	assert_int_equal(uvio_pktpool_create("vu-rx2", 256, 2048, -1, &pool, &err), 0);
	assert_int_equal(uvio_vhost_user_open(&vo, &dev, &err), 0);
	struct uvio_net_opts no = { .rx_pool = pool };
	if (uvio_net_open(dev, &no, &n, &err))
		fail_msg("net open: %s", err.msg);
	sleep_ms(50);  /* no acks: let the fake catch up */
	assert_int_equal(find(f, VU_GET_PROTOCOL_FEATURES, 0), -1);
	assert_int_equal(count(f, VU_SET_VRING_ENABLE), 0);
	assert_int_equal(count(f, VU_SET_VRING_KICK), 2);
	for (unsigned k = 0; k < nmsg(f); k++)
		assert_false(f->msg[k].flags & VU_FLAG_NEED_REPLY);
	uvio_net_close(n);
	uvio_pktpool_destroy(pool);
	fake_free(f);
}

/* The basic protocol has 8 regions: a 9th segment is refused (the
 * allocation fails with a message), the device goes on. Runs last: DMA
 * segments are never given back. */
static void test_ninth_segment_refused(void **state)
{
	struct fake *f = fake_new(blk_features, all_protocol);
	struct uvio_blk *blk;
	void *blocks[16];
	unsigned n = 0;
	int at;

	(void)state;
	fake_start(f);
	blk = open_blk(f, "", 1);
	for (; n < 16; n++) {
		struct uvio_err err = { 0 };
		uint64_t iova;

		blocks[n] = uvio_dma_alloc(SEG_SIZE - 8192, 4096, -1, &iova, &err);
		if (!blocks[n]) {
			assert_true(err.code < 0);
			assert_true(err.msg[0]);
			break;
		}
	}
	assert_true(n < 16);
	assert_int_equal(nsegs(), VU_MAX_REGIONS);
	at = -1;
	for (int k = find(f, VU_SET_MEM_TABLE, 0); k >= 0; k = find(f, VU_SET_MEM_TABLE, (unsigned)k + 1))
		at = k;
	assert_int_equal(f->msg[at].p.mem.nregions, VU_MAX_REGIONS);
	assert_true(uvio_vhost_user_connected(uvio_blk_dev(blk)));
	while (n--)
		uvio_dma_free(blocks[n]);
	uvio_blk_close(blk);
	fake_free(f);
}

static int group_setup(void **state)
{
	struct uvio_err err;

	(void)state;
	signal(SIGPIPE, SIG_DFL);  /* a SIGPIPE must kill the test */
	return uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED,
						      .segment_size = SEG_SIZE }, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_layout),
		cmocka_unit_test(test_msg_roundtrip_with_fds),
		cmocka_unit_test(test_msg_recv_errors),
		cmocka_unit_test(test_msg_check_reply),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_garbage_backend),
		cmocka_unit_test(test_blk_handshake_order),
		cmocka_unit_test(test_blk_new_segment_announced),
		cmocka_unit_test(test_blk_refused_ack),
		cmocka_unit_test(test_net_features),
		cmocka_unit_test(test_net_mq_ctrl),
		cmocka_unit_test(test_blk_hangup_then_reconnect),
		cmocka_unit_test(test_reconnect_fewer_queues),
		cmocka_unit_test(test_server_mode),
		cmocka_unit_test(test_no_protocol_features),
		cmocka_unit_test(test_ninth_segment_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

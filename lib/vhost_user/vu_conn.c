/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user connection: reaching the back-end (client or server), the
 * handshake every connection starts with, requests and their answers, and
 * noticing when the back-end goes away.
 *
 * Handshake, as QEMU's front-end does it (vhost_user_backend_init, then
 * vhost_dev_init): GET_FEATURES; with VHOST_USER_F_PROTOCOL_FEATURES,
 * GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES (MQ, REPLY_ACK, CONFIG,
 * RESET_DEVICE, whichever are offered); GET_QUEUE_NUM with MQ; SET_OWNER.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "common/virtio_compat.h"
#include "vu_internal.h"

#define RETRY_MS 20

static const uint64_t wanted_protocol =
	BIT(VU_PROTOCOL_F_MQ) | BIT(VU_PROTOCOL_F_REPLY_ACK) |
	BIT(VU_PROTOCOL_F_CONFIG) | BIT(VU_PROTOCOL_F_RESET_DEVICE);

int uvio_vu_fail(struct vu *v, int rc, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(v->error, sizeof(v->error), "vhost-user %s: ", v->path);

	if (n < 0 || (size_t)n >= sizeof(v->error))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(v->error + n, sizeof(v->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

void uvio_vu_conn_lost(struct vu *v, const char *why)
{
	char msg[160];

	if (!atomic_load(&v->connected) || atomic_exchange(&v->losing, true))
		return;
	/* Shut, not close: the watcher may be polling this fd. */
	if (v->fd >= 0)
		shutdown(v->fd, SHUT_RDWR);
	snprintf(msg, sizeof(msg), "vhost-user back-end gone: %s", why);
	for (uint16_t q = 0; q < v->nqueues; q++) {
		struct uvio_vq *vq = v->dev ? uvio_dev_queue(v->dev, q) : NULL;

		if (v->q[q].live && vq)
			uvio_vq_set_broken(vq, msg);
		v->q[q].live = false;
	}
	v->mem_sent = false;
	/* Last: whoever sees the back-end gone sees its queues broken too. */
	atomic_store(&v->connected, false);
}

/* Lose the connection with the reason as the error; returns rc. */
static int lost(struct vu *v, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int lost(struct vu *v, int rc, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	uvio_vu_fail(v, rc, "%s", why);
	uvio_vu_conn_lost(v, why);
	return rc;
}

static const char *io_error(int rc)
{
	switch (rc) {
	case -ECONNRESET: return "the back-end closed the connection";
	case -EPIPE: return "the back-end closed the connection (EPIPE)";
	default: return strerror(-rc);
	}
}

int uvio_vu_request(struct vu *v, struct vu_msg *m, const int *fds,
		    unsigned nfds, struct vu_msg *reply)
{
	bool ack = !reply && (v->protocol & BIT(VU_PROTOCOL_F_REPLY_ACK));
	uint32_t request = m->hdr.request;
	struct vu_msg r;
	char nb[24], why[160];
	const char *name = uvio_vu_request_name(request, nb);
	int rc;

	if (!atomic_load(&v->connected) || v->fd < 0)
		return uvio_vu_fail(v, -ENOTCONN, "%s: not connected", name);
	if (ack)
		m->hdr.flags |= VU_FLAG_NEED_REPLY;
	rc = uvio_vu_send(v->fd, m, fds, nfds, VU_REPLY_TIMEOUT_MS);
	if (rc)
		return lost(v, rc, "sending %s: %s", name, io_error(rc));
	if (!reply && !ack)
		return 0;
	if (!reply)
		reply = &r;
	rc = uvio_vu_recv(v->fd, reply, NULL, NULL, VU_REPLY_TIMEOUT_MS);
	if (rc == -ETIMEDOUT)
		return lost(v, rc, "no answer to %s within %d ms (is it a vhost-user "
			    "back-end?)", name, VU_REPLY_TIMEOUT_MS);
	if (rc == -EPROTO)
		return lost(v, rc, "answered %s with garbage (version 0x%x, %u bytes): "
			    "not a vhost-user back-end?", name,
			    reply->hdr.flags & VU_VERSION_MASK, reply->hdr.size);
	if (rc)
		return lost(v, rc, "waiting for the answer to %s: %s", name, io_error(rc));
	/* Every answer we ask for has a u64 payload, except GET_VRING_BASE
	 * (a vring state) and GET_CONFIG (checked by the caller). */
	uint32_t size = request == VU_GET_VRING_BASE ? sizeof(reply->p.state) :
			request == VU_GET_CONFIG ? 0 : sizeof(reply->p.u64);
	rc = uvio_vu_check_reply(reply, request, size, request != VU_GET_CONFIG,
				 why, sizeof(why));
	if (rc)
		return lost(v, rc, "%s: not a vhost-user back-end?", why);
	if (ack && r.p.u64)
		return uvio_vu_fail(v, -EIO, "the back-end refused %s (status %llu)",
				    name, (unsigned long long)r.p.u64);
	return 0;
}

/* ---- reaching the back-end ---------------------------------------------- */

static void fill_addr(const struct vu *v, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, v->path, strlen(v->path));
}

/* One connect attempt: the socket fd, or -errno (-ENOTSOCK for a path
 * that is something else). */
static int connect_once(const struct vu *v)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (stat(v->path, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	fill_addr(v, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_error(struct vu *v, int rc, int waited, struct uvio_err *err)
{
	char w[48] = "";

	if (waited > 0)
		snprintf(w, sizeof(w), " (waited %d ms)", waited);
	switch (rc) {
	case -ENOENT:
		return uvio_err_set(err, rc, "no vhost-user socket at %s%s: start the "
				    "back-end first, or use ,server", v->path, w);
	case -ENOTSOCK:
		return uvio_err_set(err, rc, "%s is not a socket: give the unix socket "
				    "a vhost-user back-end listens on", v->path);
	case -ECONNREFUSED:
		return uvio_err_set(err, rc, "vhost-user socket %s refuses connections%s: "
				    "no back-end listens there (a stale socket?)", v->path, w);
	default:
		return uvio_err_set(err, rc, "cannot connect to vhost-user socket %s: %s",
				    v->path, strerror(-rc));
	}
}

/* Client: connect, retrying while the socket is missing or refuses (a
 * back-end still starting, or restarting). */
static int client_connect(struct vu *v, int timeout_ms, struct uvio_err *err)
{
	int64_t start = now_ms();

	for (;;) {
		int fd = connect_once(v);
		int64_t spent = now_ms() - start;

		if (fd >= 0)
			return fd;
		if ((fd != -ENOENT && fd != -ECONNREFUSED) ||
		    (timeout_ms >= 0 && spent >= timeout_ms))
			return connect_error(v, fd, (int)spent, err);
		nanosleep(&(struct timespec){ 0, RETRY_MS * 1000000L }, NULL);
	}
}

int uvio_vu_listen(struct vu *v, struct uvio_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (!lstat(v->path, &st)) {
		if (!S_ISSOCK(st.st_mode))
			return uvio_err_set(err, -EEXIST, "%s exists and is not a socket: "
					    "choose another path for ,server", v->path);
		fd = connect_once(v);
		if (fd >= 0) {
			close(fd);
			return uvio_err_set(err, -EADDRINUSE, "%s: a server already "
					    "listens there", v->path);
		}
		unlink(v->path);  /* a stale socket from an earlier run */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return uvio_err_set(err, -errno, "socket: %s", strerror(errno));
	fill_addr(v, &sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		int rc = -errno;

		close(fd);
		return uvio_err_set(err, rc, "cannot listen at %s: %s", v->path,
				    strerror(-rc));
	}
	v->listen_fd = fd;
	return 0;
}

static int server_accept(struct vu *v, int timeout_ms, struct uvio_err *err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = v->listen_fd, .events = POLLIN };
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		int n, fd;

		if (deadline >= 0 && wait < 0)
			wait = 0;
		n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uvio_err_set(err, -errno, "poll: %s", strerror(errno));
		if (n == 0)
			return uvio_err_set(err, -ETIMEDOUT, "no vhost-user back-end "
					    "connected to %s within %d ms (start it as a "
					    "client of that socket)", v->path, timeout_ms);
		fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			return uvio_err_set(err, -errno, "accept on %s: %s", v->path,
					    strerror(errno));
	}
}

/* ---- the handshake ------------------------------------------------------- */

static int get_u64(struct vu *v, uint32_t request, uint64_t *val)
{
	struct vu_msg m, r;
	int rc;

	uvio_vu_msg_init(&m, request, 0);
	rc = uvio_vu_request(v, &m, NULL, 0, &r);
	if (!rc)
		*val = r.p.u64;
	return rc;
}

static int set_u64(struct vu *v, uint32_t request, uint64_t val)
{
	struct vu_msg m;

	uvio_vu_msg_init(&m, request, sizeof(m.p.u64));
	m.p.u64 = val;
	return uvio_vu_request(v, &m, NULL, 0, NULL);
}

/* QEMU's vhost-user-blk export answers any size but its own struct's with
 * size 0: try ours (6.1 UAPI, with secure erase), then the one before. */
static int probe_config(struct vu *v)
{
	static const uint32_t sizes[] = {
		sizeof(struct virtio_blk_config),
		offsetof(struct virtio_blk_config, max_secure_erase_sectors),
	};

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vu_msg m, r;
		int rc;

		uvio_vu_msg_init(&m, VU_GET_CONFIG, VU_CONFIG_HDR + sizes[i]);
		m.p.config.size = sizes[i];
		rc = uvio_vu_request(v, &m, NULL, 0, &r);
		if (rc)
			return rc;
		if (r.hdr.size == VU_CONFIG_HDR + sizes[i] && r.p.config.size == sizes[i]) {
			v->config_size = sizes[i];
			return 0;
		}
	}
	return uvio_vu_fail(v, -EIO, "the back-end offers CONFIG but answers "
			    "GET_CONFIG with nothing");
}

/*
 * vhost-user has no message for the device type: the caller names it
 * (opts.device_id), or what the back-end offers tells. QEMU keeps a
 * virtio-net device's config space itself, so its back-ends (DPDK's
 * net_vhost) have no CONFIG; block back-ends (qemu-storage-daemon) serve
 * theirs. A back-end that comes back must be the same kind.
 */
static int learn_type(struct vu *v, bool first)
{
	bool config = v->protocol & BIT(VU_PROTOCOL_F_CONFIG);

	if (first) {
		v->config = config;
		if (!v->device_id)
			v->device_id = config ? VIRTIO_ID_BLOCK : VIRTIO_ID_NET;
	} else if (config != v->config) {
		return uvio_vu_fail(v, -ENOTSUP, "the back-end came back as another "
				    "kind of device (CONFIG %s)", config ? "now offered" :
				    "no longer offered");
	}
	if (v->device_id != VIRTIO_ID_NET && !config)
		return uvio_vu_fail(v, -ENOTSUP, "a back-end of virtio device type %u "
				    "needs the CONFIG protocol feature", v->device_id);
	return 0;
}

static int hello(struct vu *v, bool first)
{
	uint64_t offered = 0, nq = 1;
	uint16_t need;
	bool net;
	int rc = get_u64(v, VU_GET_FEATURES, &v->features);

	v->protocol = 0;
	if (!rc && (v->features & BIT(VU_F_PROTOCOL_FEATURES))) {
		rc = get_u64(v, VU_GET_PROTOCOL_FEATURES, &offered);
		/* REPLY_ACK applies from the next message on. */
		if (!rc)
			rc = set_u64(v, VU_SET_PROTOCOL_FEATURES, offered & wanted_protocol);
		if (!rc)
			v->protocol = offered & wanted_protocol;
	}
	if (!rc && (v->protocol & BIT(VU_PROTOCOL_F_MQ)))
		rc = get_u64(v, VU_GET_QUEUE_NUM, &nq);
	if (!rc) {
		struct vu_msg m;

		uvio_vu_msg_init(&m, VU_SET_OWNER, 0);
		rc = uvio_vu_request(v, &m, NULL, 0, NULL);
	}
	if (rc)
		return rc;
	rc = learn_type(v, first);
	if (rc)
		return rc;
	net = v->device_id == VIRTIO_ID_NET;
	if (!net && (rc = probe_config(v)))
		return rc;
	if (nq == 0 || nq > VU_MAX_QUEUES)
		nq = nq ? VU_MAX_QUEUES : 1;
	if (net && nq > VU_MAX_QUEUES / 2)
		nq = VU_MAX_QUEUES / 2;
	need = v->want_queues && v->want_queues < nq ? v->want_queues : (uint16_t)nq;
	/* A net back-end counts queue pairs (DPDK's queues=; QEMU compares
	 * GET_QUEUE_NUM with its pairs): two rings each. */
	if (net) {
		nq *= 2;
		need = (uint16_t)(need * 2);
	}
	if (first) {
		v->nqueues = need;
	} else if (nq < v->nqueues) {
		return uvio_vu_fail(v, -ENOTSUP, "the back-end came back with %llu "
				    "%s; the device uses %u", (unsigned long long)nq / (net ? 2 : 1),
				    net ? "queue pairs" : "queues", v->nqueues / (net ? 2 : 1));
	}
	return 0;
}

int uvio_vu_establish(struct vu *v, int timeout_ms, bool first, struct uvio_err *err)
{
	int fd, rc;

	if (v->server) {
		if (!timeout_ms)
			timeout_ms = VU_SERVER_WAIT_MS;
		fd = server_accept(v, timeout_ms, err);
	} else {
		fd = client_connect(v, timeout_ms, err);
	}
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&v->lock);
	if (v->fd >= 0)
		close(v->fd);  /* the last connection, already shut */
	v->fd = fd;
	v->status = 0;
	v->mem_sent = false;
	atomic_store(&v->losing, false);
	atomic_store(&v->connected, true);
	rc = hello(v, first);
	if (rc) {
		uvio_vu_conn_lost(v, "handshake failed");
		uvio_err_set(err, rc, "%s", v->error);
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* ---- the hang-up watcher ------------------------------------------------- */

/* Sleeps until the back-end closes the socket (POLLRDHUP: not woken by
 * answers, which the control thread reads) or it is told to stop. */
static void *watch_main(void *arg)
{
	struct vu *v = arg;
	struct pollfd p[2] = {
		{ .fd = v->fd, .events = POLLRDHUP },
		{ .fd = v->wake_fd, .events = POLLIN },
	};

	for (;;) {
		int n = poll(p, 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			return NULL;
		if (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
			pthread_mutex_lock(&v->lock);
			uvio_vu_fail(v, -ECONNRESET, "the back-end closed the connection");
			uvio_vu_conn_lost(v, "the back-end closed the connection");
			pthread_mutex_unlock(&v->lock);
			return NULL;
		}
	}
}

int uvio_vu_watch_start(struct vu *v)
{
	sigset_t all, old;
	int rc;

	if (v->watching || v->fd < 0)
		return 0;
	/* The application's signal handlers stay on its own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&v->watcher, NULL, watch_main, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	v->watching = true;
	return 0;
}

void uvio_vu_watch_stop(struct vu *v)
{
	uint64_t one = 1;

	if (!v->watching)
		return;
	if (write(v->wake_fd, &one, sizeof(one)) != sizeof(one))
		pthread_cancel(v->watcher);  /* cannot happen: a fresh eventfd */
	pthread_join(v->watcher, NULL);
	if (read(v->wake_fd, &one, sizeof(one)) < 0)
		one = 0;  /* EAGAIN: nothing to drain */
	v->watching = false;
}

/* SPDX-License-Identifier: MIT */
/*
 * Moving vhost-user messages over the socket. A message is a 12-byte
 * header and `size` payload bytes; file descriptors ride on the first
 * byte as SCM_RIGHTS. The socket may be blocking: every call here uses
 * MSG_DONTWAIT and poll() so that a silent peer costs a timeout, never a
 * hang, and MSG_NOSIGNAL so that a vanished one costs EPIPE, never SIGPIPE.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vu_msg.h"

static const char *const names[] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
};

const char *uvio_vu_request_name(uint32_t request, char buf[24])
{
	if (request < sizeof(names) / sizeof(names[0]) && names[request])
		return names[request];
	snprintf(buf, 24, "request %u", request);
	return buf;
}

void uvio_vu_msg_init(struct vu_msg *m, uint32_t request, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = request;
	m->hdr.flags = VU_VERSION;
	m->hdr.size = size;
}

uint32_t uvio_vu_mem_table_size(uint32_t nregions)
{
	return (uint32_t)(offsetof(struct vu_mem_table, regions) +
			  nregions * sizeof(struct vu_region));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for `events` or the deadline (-1: none) passes. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int wait = -1, n;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			wait = left > 0 ? (int)left : 0;
		}
		n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (p.revents & POLLNVAL)
			return -EBADF;
		/* POLLHUP/POLLERR: let the next send/recv say what happened. */
		return 0;
	}
}

/* After a failed non-blocking send/recv: 0 to try again (interrupted, or
 * the socket is ready now), or the error (the peer's, or the deadline). */
static int retry_after(int fd, short events, int64_t deadline)
{
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return wait_fd(fd, events, deadline);
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

int uvio_vu_send(int fd, const struct vu_msg *m, const int *fds, unsigned nfds,
		 int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	const char *p = (const char *)m;
	size_t left = sizeof(m->hdr) + m->hdr.size;
	int64_t deadline = deadline_of(timeout_ms);

	if (m->hdr.size > sizeof(m->p) || nfds > VU_MAX_FDS)
		return -EINVAL;
	while (left) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = left };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (nfds) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int rc = retry_after(fd, POLLOUT, deadline);

			if (rc)
				return rc;
			continue;
		}
		/* The descriptors went with the first byte. */
		nfds = 0;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

static void take_fds(struct msghdr *mh, int *fds, unsigned *nfds)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && nfds && *nfds < VU_MAX_FDS)
				fds[(*nfds)++] = f;
			else
				close(f);
		}
	}
}

/* Read exactly len bytes (collecting descriptors) before the deadline. */
static int recv_full(int fd, void *buf, size_t len, int *fds, unsigned *nfds,
		     int64_t deadline)
{
	char *p = buf;

	while (len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = p, .iov_len = len };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0) {
			int rc = retry_after(fd, POLLIN, deadline);

			if (rc)
				return rc;
			continue;
		}
		take_fds(&mh, fds, nfds);
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int uvio_vu_recv(int fd, struct vu_msg *m, int *fds, unsigned *nfds, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	int rc;

	if (nfds)
		*nfds = 0;
	memset(m, 0, sizeof(*m));
	rc = recv_full(fd, &m->hdr, sizeof(m->hdr), fds, nfds, deadline);
	if (rc)
		return rc;
	if ((m->hdr.flags & VU_VERSION_MASK) != VU_VERSION || m->hdr.size > sizeof(m->p))
		return -EPROTO;
	return recv_full(fd, &m->p, m->hdr.size, fds, nfds, deadline);
}

int uvio_vu_check_reply(const struct vu_msg *r, uint32_t request,
			uint32_t min_size, bool exact, char *why, unsigned len)
{
	char b1[24], b2[24];

	if (r->hdr.request != request) {
		snprintf(why, len, "answered %s with %s", uvio_vu_request_name(request, b1),
			 uvio_vu_request_name(r->hdr.request, b2));
		return -EPROTO;
	}
	if (!(r->hdr.flags & VU_FLAG_REPLY)) {
		snprintf(why, len, "sent %s without the reply flag (flags 0x%x)",
			 uvio_vu_request_name(request, b1), r->hdr.flags);
		return -EPROTO;
	}
	if (r->hdr.size < min_size || (exact && r->hdr.size != min_size)) {
		snprintf(why, len, "answered %s with %u payload bytes (expected %u)",
			 uvio_vu_request_name(request, b1), r->hdr.size, min_size);
		return -EPROTO;
	}
	return 0;
}

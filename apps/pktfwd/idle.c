/* SPDX-License-Identifier: MIT */
/*
 * --idle-sleep: sleep in epoll when idle, as DPDK's l3fwd-power does with
 * rte_eth_dev_rx_intr_enable. The order that loses no wake-up: drain the
 * eventfd, arm (uvio re-checks the ring and says when a frame is already
 * there), sleep, disarm, poll. Per-thread state lives here, indexed by
 * the thread's queue, so the polling loops only call pf_idle_round().
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <uvio/dev.h>
#include <uvio/net.h>

#include "idle.h"

#define IDLE_WAIT_MS 100   /* epoll timeout: stop, park and broken queues are seen */

struct idle_thr {
	int ep;                      /* epoll over this queue's rx fds */
	int rx_fd[PF_MAX_PORTS];
	unsigned empty;              /* rounds with nothing received */
	atomic_uint_fast64_t sleeps, wakes, busy;
};

static struct idle_thr idle_thr_of[PF_MAX_QUEUES];
static int idle_cfg_fd[PF_MAX_PORTS];
static bool idle_on;

/* Eventfds hold a count: reading clears it (EFD_NONBLOCK: -1 when 0). */
static bool idle_drain(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static int idle_thread_fds(struct pf_ctx *ctx, unsigned q)
{
	struct idle_thr *it = &idle_thr_of[q];

	it->ep = epoll_create1(EPOLL_CLOEXEC);
	if (it->ep < 0)
		return -errno;
	for (unsigned p = 0; p < ctx->nports; p++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = p };
		int fd = uvio_net_rxq_eventfd(ctx->port[p].net, (uint16_t)q);

		if (fd < 0) {
			fprintf(stderr, "pktfwd: --idle-sleep: %s queue %u: %s\n",
				ctx->port[p].name, q, uvio_dev_error(uvio_net_dev(ctx->port[p].net)));
			return fd;
		}
		it->rx_fd[p] = fd;
		if (epoll_ctl(it->ep, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
	}
	return 0;
}

/* No config interrupt (vhost-user, say): the link is polled as before. */
static void idle_config_fd(struct pf_ctx *ctx, unsigned p)
{
	struct uvio_dev *dev = uvio_net_dev(ctx->port[p].net);

	idle_cfg_fd[p] = uvio_dev_config_eventfd(dev);
	if (idle_cfg_fd[p] < 0)
		fprintf(stderr, "pktfwd: %s: link polled: %s\n", ctx->port[p].name,
			uvio_dev_error(dev));
}

int pf_idle_setup(struct pf_ctx *ctx)
{
	for (unsigned p = 0; p < PF_MAX_PORTS; p++)
		idle_cfg_fd[p] = -1;
	if (!ctx->o.idle_sleep)
		return 0;
	idle_on = true;
	for (unsigned q = 0; q < ctx->o.queues; q++) {
		int rc = idle_thread_fds(ctx, q);

		if (rc) {
			if (rc != -ENOTSUP && rc != -ENOSPC && rc != -EIO)
				fprintf(stderr, "pktfwd: --idle-sleep: %s\n", strerror(-rc));
			return -1;
		}
	}
	for (unsigned p = 0; p < ctx->nports; p++)
		idle_config_fd(ctx, p);
	return 0;
}

void pf_idle_teardown(struct pf_ctx *ctx)
{
	for (unsigned q = 0; idle_on && q < ctx->o.queues; q++)
		if (idle_thr_of[q].ep > 0)
			close(idle_thr_of[q].ep);
	idle_on = false;
}

static void idle_disarm(struct pf_thread *t, unsigned n)
{
	for (unsigned p = 0; p < n; p++)
		uvio_net_rxq_intr_disable(t->ctx->port[p].net, (uint16_t)t->q);
}

/* Arm every port's queue; false (all disarmed) when one has work. */
static bool idle_arm_all(struct pf_thread *t)
{
	struct idle_thr *it = &idle_thr_of[t->q];

	for (unsigned p = 0; p < t->ctx->nports; p++) {
		idle_drain(it->rx_fd[p]);
		if (uvio_net_rxq_intr_enable(t->ctx->port[p].net, (uint16_t)t->q) != 0) {
			idle_disarm(t, p + 1);
			return false;
		}
	}
	return true;
}

static void idle_sleep_once(struct pf_thread *t)
{
	struct idle_thr *it = &idle_thr_of[t->q];
	struct epoll_event ev[PF_MAX_PORTS];
	int n;

	if (!idle_arm_all(t)) {
		atomic_fetch_add_explicit(&it->busy, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&it->sleeps, 1, memory_order_relaxed);
	n = epoll_wait(it->ep, ev, PF_MAX_PORTS, IDLE_WAIT_MS);
	for (int i = 0; i < n; i++)
		idle_drain(it->rx_fd[ev[i].data.u32]);
	if (n > 0)
		atomic_fetch_add_explicit(&it->wakes, 1, memory_order_relaxed);
	idle_disarm(t, t->ctx->nports);
}

void pf_idle_round(struct pf_thread *t, unsigned got)
{
	struct idle_thr *it = &idle_thr_of[t->q];

	if (!idle_on)
		return;
	if (got) {
		it->empty = 0;
		return;
	}
	if (++it->empty < t->ctx->o.idle_sleep)
		return;
	it->empty = 0;
	idle_sleep_once(t);
}

bool pf_idle_link_due(const struct pf_ctx *ctx, unsigned p)
{
	(void)ctx;
	if (idle_cfg_fd[p] < 0)
		return true;
	return idle_drain(idle_cfg_fd[p]);
}

static uint64_t idle_config_reads(const struct pf_ctx *ctx)
{
	uint64_t n = 0;

	for (unsigned p = 0; p < ctx->nports; p++)
		n += uvio_dev_config_reads(uvio_net_dev(ctx->port[p].net));
	return n;
}

/* After a link line: the counter shows that nothing polled config space
 * between two events. */
void pf_idle_link_note(const struct pf_ctx *ctx, unsigned p)
{
	if (idle_on)
		fprintf(stderr, "pktfwd: port %u %s: config-space reads so far: %llu\n", p,
			ctx->port[p].name,
			(unsigned long long)uvio_dev_config_reads(uvio_net_dev(ctx->port[p].net)));
}

void pf_idle_report(const struct pf_ctx *ctx, FILE *out)
{
	uint64_t s = 0, w = 0, b = 0;

	if (!idle_on)
		return;
	for (unsigned q = 0; q < ctx->nthreads; q++) {
		s += atomic_load(&idle_thr_of[q].sleeps);
		w += atomic_load(&idle_thr_of[q].wakes);
		b += atomic_load(&idle_thr_of[q].busy);
	}
	fprintf(out, "idle: %llu sleeps, %llu woken by an interrupt, %llu found work "
		"when arming; %llu config-space reads\n", (unsigned long long)s,
		(unsigned long long)w, (unsigned long long)b,
		(unsigned long long)idle_config_reads(ctx));
}

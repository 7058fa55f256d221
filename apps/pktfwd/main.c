/* SPDX-License-Identifier: MIT */
/*
 * pktfwd: forward, generate or check packets on uvio virtio-net ports.
 * The main thread parses, opens, starts one polling thread per queue, then
 * only watches the clock, the signals, the stats and the devices, and
 * reports. A back-end that went away (vhost-user's) is brought back here
 * (--reconnect): the threads park, the port reconnects and reinits, they
 * go on.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uvio/dev.h>
#include <uvio/net.h>

#include "../common/cli.h"
#include "idle.h"
#include "pktfwd.h"

#define TICK_NS    10000000ull  /* how often the main thread looks */
#define LINGER_NS 200000000ull  /* let the devices send what they took */
#define CHECK_EVERY 10          /* ticks: look at the devices each 100 ms */
#define RECONNECT_TRY_MS 1000   /* one attempt; a signal is heard between */
#define RECONNECT_PAUSE_NS 100000000ull  /* after an attempt that failed at once */

static struct pf_ctx ctx;
static const char *removed;         /* the device that went away */
static char gave_up[2 * PF_ERR_MAX]; /* why a reconnect failed */

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&ctx.stop, true);      /* lock-free: signal-safe */
}

static void handle_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
			       (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);   /* a signal cuts it short: fine */
}

/* Connect again within --reconnect seconds, in short attempts so that a
 * signal is not kept waiting. */
static int reconnect(struct uvio_dev *dev, struct uvio_err *err)
{
	uint64_t end = pf_now_ns() + (uint64_t)(ctx.o.reconnect * 1e9);
	int rc;

	for (;;) {
		uint64_t t0 = pf_now_ns(), left_ms = t0 < end ? (end - t0) / 1000000 : 0;

		rc = uvio_dev_reconnect(dev, left_ms < RECONNECT_TRY_MS ?
					(int)left_ms + 1 : RECONNECT_TRY_MS, err);
		if (!rc || atomic_load(&ctx.stop) || pf_now_ns() >= end)
			return rc;
		if (pf_now_ns() - t0 < RECONNECT_PAUSE_NS)
			sleep_ns(RECONNECT_PAUSE_NS);
	}
}

static uint64_t port_lost(unsigned p)
{
	uint64_t n = 0;

	for (unsigned q = 0; q < ctx.nthreads; q++)
		n += atomic_load(&ctx.thr[q].cnt[p].lost);
	return n;
}

/*
 * Port p's back-end went away (its status says NEEDS_RESET):
 * park every thread (reinit wants nobody in uvio_net_* calls, and each
 * thread owns a queue pair of every port), reconnect, reinit, go on.
 * Frames the port had taken and not sent are counted as lost. False when
 * it could not come back: the run stops and fails.
 */
static bool bring_back(unsigned p)
{
	struct pf_port *pt = &ctx.port[p];
	struct uvio_err err = {0};
	uint64_t lost = port_lost(p);
	bool parked;
	int rc = 0;

	atomic_store(&pt->resetting, true);
	parked = pf_park_all(&ctx.park, &ctx.stop);
	if (parked) {
		const char *why = uvio_net_queue_error(pt->net, 0);

		fprintf(stderr, "pktfwd: %s: %s; reconnecting (up to %g s)\n",
			pt->name, *why ? why : "the back-end went away",
			ctx.o.reconnect);
		rc = reconnect(uvio_net_dev(pt->net), &err);
		if (rc && atomic_load(&ctx.stop))
			snprintf(gave_up, sizeof(gave_up), "%s: interrupted while "
				 "reconnecting", pt->name);
		else if (rc)
			snprintf(gave_up, sizeof(gave_up), "%s: could not reconnect "
				 "within %g s: %s", pt->name, ctx.o.reconnect, err.msg);
		else if ((rc = uvio_net_reinit(pt->net, &err)))
			snprintf(gave_up, sizeof(gave_up), "%s: reconnected, but the "
				 "device did not come back: %s", pt->name, err.msg);
	}
	atomic_store(&pt->resetting, false);
	if (parked && !rc) {
		pt->reconnects++;
		lost = port_lost(p) - lost;
		fprintf(stderr, "pktfwd: reconnected to %s (%llu frame%s lost in "
			"flight)\n", pt->name, (unsigned long long)lost,
			lost == 1 ? "" : "s");
	}
	pf_park_release(&ctx.park);
	if (!gave_up[0])
		return true;
	fprintf(stderr, "pktfwd: %s\n", gave_up);
	atomic_store(&ctx.failed, true);
	atomic_store(&ctx.stop, true);
	return false;
}

/*
 * Are the devices still there? One that is gone (hot-unplugged, unbound) is
 * let go of at once, so that the kernel can finish (uvio_dev_release), and
 * everything stops. A back-end that went away, on a transport that can
 * reconnect, is waited for with --reconnect.
 */
static void check_devices(void)
{
	for (unsigned p = 0; p < ctx.nports; p++) {
		int status = uvio_net_check(ctx.port[p].net);

		if (status == -ERESTART && ctx.park_on && ctx.port[p].can_reconnect) {
			if (!bring_back(p))
				return;
			continue;
		}
		if (status != -ENODEV)
			continue;
		removed = ctx.port[p].name;
		atomic_store(&ctx.failed, true);
		atomic_store(&ctx.stop, true);
		uvio_dev_release(uvio_net_dev(ctx.port[p].net));
		fprintf(stderr, "pktfwd: %s: device removed\n", ctx.port[p].name);
	}
}

/* Link changes, reported as they are seen: a config read per port, so here
 * with the device checks, never on the polling threads. */
static void watch_links(void)
{
	for (unsigned p = 0; p < ctx.nports; p++)
		if (pf_idle_link_due(&ctx, p) && pf_port_link_changed(&ctx.port[p])) {
			pf_link_line(&ctx, p);
			pf_idle_link_note(&ctx, p);
		}
}

/* Until a signal, --duration, --count, a failure or a removal says stop. */
static void watch(void)
{
	const struct pf_opts *o = &ctx.o;
	uint64_t deadline = o->duration > 0 ?
		ctx.start_ns + (uint64_t)(o->duration * 1e9) : UINT64_MAX;
	uint64_t every = (uint64_t)(o->stats_interval * 1e9);
	struct pf_stats_snap a, b;
	uint64_t next = ctx.start_ns + every;
	unsigned ticks = 0;

	pf_stats_snap(&ctx, &a);
	while (!atomic_load(&ctx.stop)) {
		uint64_t now = pf_now_ns();

		if (++ticks % CHECK_EVERY == 0) {
			check_devices();
			if (removed || gave_up[0])
				break;
			watch_links();
			now = pf_now_ns();  /* a reconnect takes a while */
		}

		if (now >= deadline ||
		    atomic_load(&ctx.threads_done) == ctx.nthreads)
			break;
		if (every && now >= next) {
			pf_stats_snap(&ctx, &b);
			pf_stats_line(&ctx, &a, &b);
			a = b;
			next += every;
			if (next <= now)
				next = now + every;
		}
		sleep_ns(TICK_NS);
	}
}

/* Ports, then the capture file; 0, or -1 when one could not be had. */
static int set_up(void)
{
	char err[PF_ERR_MAX];

	if (pf_ports_open(&ctx))
		return -1;
	if (ctx.o.pcap) {
		if (pf_pcap_open(&ctx.pcap, ctx.o.pcap, PF_PCAP_SNAPLEN,
				 ctx.o.pcap_count, err, sizeof(err))) {
			fprintf(stderr, "pktfwd: %s\n", err);
			return -1;
		}
		ctx.pcap_on = true;
	}
	return 0;
}

/* Why the threads stopped early, for the summary's result. */
static void note_why(void)
{
	if (removed && ctx.thr && !ctx.thr[0].error[0])
		snprintf(ctx.thr[0].error, sizeof(ctx.thr[0].error),
			 "%s: device removed", removed);
	if (gave_up[0] && ctx.thr && !ctx.thr[0].error[0])
		snprintf(ctx.thr[0].error, sizeof(ctx.thr[0].error), "%.250s", gave_up);
}

/* Start the threads, watch them, stop them, report: the exit status. */
static int run(void)
{
	int status;

	if (pf_threads_start(&ctx)) {
		fprintf(stderr, "pktfwd: cannot start the polling threads\n");
		atomic_store(&ctx.failed, true);
	} else {
		watch();
	}
	pf_threads_join(&ctx);
	if (ctx.o.mode != PF_RXONLY && !removed)
		sleep_ns(LINGER_NS);
	note_why();
	status = pf_summary(&ctx, stdout);
	pf_idle_report(&ctx, stderr);
	return atomic_load(&ctx.failed) ? 1 : status;
}

static int tear_down(int status)
{
	if (ctx.pcap_on && pf_pcap_close(&ctx.pcap)) {
		fprintf(stderr, "pktfwd: writing %s failed\n", ctx.o.pcap);
		status = 1;
	}
	pf_idle_teardown(&ctx);
	pf_ports_close(&ctx);
	for (unsigned q = 0; ctx.thr && q < ctx.nthreads; q++)
		pf_checker_fini(&ctx.thr[q].ck);
	free(ctx.thr);
	return status;
}

int main(int argc, char **argv)
{
	char err[PF_ERR_MAX];
	int rc = pf_parse_options(argc, argv, &ctx.o, err, sizeof(err));
	int status = 1;

	if (rc == 1) {
		pf_usage(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (rc == 2)
		return cli_print_version("pktfwd");
	if (rc)
		return cli_usage_error("pktfwd", "%s", err);
	handle_signals();
	/* After a signal during set-up nothing runs. */
	if (!set_up() && !atomic_load(&ctx.stop) && !pf_idle_setup(&ctx))
		status = run();
	return tear_down(status);
}

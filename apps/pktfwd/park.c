/* SPDX-License-Identifier: MIT */
/*
 * Parking the polling threads (--reconnect). uvio's reinit wants every
 * queue thread out of uvio_net_* calls (uvio/net.h), and a thread owns
 * queue pair q of every port, so bringing one port back stops them all
 * for a moment: the control thread asks, each thread parks at the top of
 * its loop, the control thread reconnects and reinits, then lets them go.
 * Pure pthreads: no device here.
 */
#include <time.h>

#include "pktfwd.h"

#define PARK_NAP_NS 10000000    /* a parked thread looks at `stop` this often */

static void deadline_in(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ns += (uint64_t)ts->tv_nsec;
	ts->tv_sec += (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

int pf_park_init(struct pf_park *pk, unsigned threads)
{
	pthread_condattr_t ca;
	int rc;

	atomic_init(&pk->requested, false);
	pk->parked = 0;
	pk->running = threads;
	pk->epoch = 0;
	if ((rc = pthread_mutex_init(&pk->lock, NULL)))
		return -rc;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&pk->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (rc) {
		pthread_mutex_destroy(&pk->lock);
		return -rc;
	}
	return 0;
}

void pf_park_fini(struct pf_park *pk)
{
	pthread_cond_destroy(&pk->cv);
	pthread_mutex_destroy(&pk->lock);
}

void pf_park_here(struct pf_park *pk, atomic_bool *stop)
{
	unsigned epoch;

	pthread_mutex_lock(&pk->lock);
	/* Asked and already let go while we came: nothing to wait for. */
	if (!atomic_load(&pk->requested)) {
		pthread_mutex_unlock(&pk->lock);
		return;
	}
	epoch = pk->epoch;
	pk->parked++;
	pthread_cond_broadcast(&pk->cv);
	while (pk->epoch == epoch && !atomic_load(stop)) {
		struct timespec ts;

		deadline_in(&ts, PARK_NAP_NS);
		pthread_cond_timedwait(&pk->cv, &pk->lock, &ts);
	}
	pk->parked--;
	pthread_mutex_unlock(&pk->lock);
}

void pf_park_exit(struct pf_park *pk)
{
	pthread_mutex_lock(&pk->lock);
	pk->running--;
	pthread_cond_broadcast(&pk->cv);
	pthread_mutex_unlock(&pk->lock);
}

bool pf_park_all(struct pf_park *pk, atomic_bool *stop)
{
	bool all;

	pthread_mutex_lock(&pk->lock);
	atomic_store(&pk->requested, true);
	while (pk->parked < pk->running && !atomic_load(stop)) {
		struct timespec ts;

		deadline_in(&ts, PARK_NAP_NS);
		pthread_cond_timedwait(&pk->cv, &pk->lock, &ts);
	}
	all = pk->parked == pk->running;
	pthread_mutex_unlock(&pk->lock);
	return all;
}

void pf_park_release(struct pf_park *pk)
{
	pthread_mutex_lock(&pk->lock);
	atomic_store(&pk->requested, false);
	pk->epoch++;
	pthread_cond_broadcast(&pk->cv);
	pthread_mutex_unlock(&pk->lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * --idle-sleep N (idle.c): event mode for the polling threads. A thread
 * busy-polls while frames come; after N rounds that received nothing it
 * arms the rx interrupt of its queue on every port, sleeps in epoll_wait
 * and disarms when woken. Link changes come from each port's config
 * eventfd instead of config reads.
 */
#ifndef PKTFWD_IDLE_H
#define PKTFWD_IDLE_H

#include <stdbool.h>
#include <stdio.h>

#include "pktfwd.h"

/* Main thread, after the ports are open, before the threads start: the
 * eventfds (0, or -1 with a line on stderr). No-op without --idle-sleep. */
int pf_idle_setup(struct pf_ctx *ctx);
void pf_idle_teardown(struct pf_ctx *ctx);

/* A polling thread, after each round over its ports: `got` frames. */
void pf_idle_round(struct pf_thread *t, unsigned got);

/* Main thread: should port p's link be read now? Always without a config
 * eventfd (polling, as before); with one only once it fired. */
bool pf_idle_link_due(const struct pf_ctx *ctx, unsigned p);

/* After a link line: "pktfwd: port P NAME: config-space reads so far: N". */
void pf_idle_link_note(const struct pf_ctx *ctx, unsigned p);

/* "idle: N sleeps, N wake-ups by interrupt, N re-armed with work waiting" */
void pf_idle_report(const struct pf_ctx *ctx, FILE *out);

#endif

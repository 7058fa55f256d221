/* SPDX-License-Identifier: MIT */
/* Per-queue counters and their names (xstats). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "net_internal.h"

int uvio_net_get_stats(const struct uvio_net *net, uint16_t q,
		       struct uvio_net_queue_stats *st)
{
	if (q >= net->info.queue_pairs)
		return -EINVAL;
	*st = net->stats[q];
	return 0;
}

static const struct {
	const char *name;
	size_t off;
} counters[] = {
#define C(f) { #f, offsetof(struct uvio_net_queue_stats, f) }
	C(rx_packets), C(rx_bytes), C(rx_errors), C(rx_nobuf),
	C(tx_packets), C(tx_bytes), C(tx_errors), C(tx_drops),
#undef C
};

#define N_COUNTERS (sizeof(counters) / sizeof(counters[0]))

int uvio_net_xstats_init(struct uvio_net *net)
{
	unsigned k = 0;

	net->xstat_names = calloc((size_t)net->info.queue_pairs * N_COUNTERS,
				  sizeof(*net->xstat_names));
	if (!net->xstat_names)
		return -ENOMEM;
	for (uint16_t q = 0; q < net->info.queue_pairs; q++)
		for (unsigned c = 0; c < N_COUNTERS; c++, k++)
			snprintf(net->xstat_names[k], sizeof(net->xstat_names[k]),
				 "q%u_%s", q, counters[c].name);
	return 0;
}

int uvio_net_get_xstats(const struct uvio_net *net, const char **names,
			uint64_t *values, unsigned max)
{
	unsigned total = (unsigned)(net->info.queue_pairs * N_COUNTERS), k = 0;

	for (uint16_t q = 0; q < net->info.queue_pairs; q++)
		for (unsigned c = 0; c < N_COUNTERS && k < max; c++, k++) {
			if (names)
				names[k] = net->xstat_names[k];
			if (values)
				values[k] = *(const uint64_t *)((const char *)&net->stats[q] +
								counters[c].off);
		}
	return (int)total;
}

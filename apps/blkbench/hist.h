/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram, HDR-like: exact below 128 ns, then 64 buckets per
 * power of two (at most 1/64 = 1.6% relative error), up to 2^64 ns.
 *
 * One thread writes a histogram (bb_hist_add), another may read it at the
 * same time (bb_hist_snapshot) for the progress line: every field is
 * stored and loaded with relaxed atomics, so the reader sees each counter
 * whole, if not all of them at one instant. The sum of squares (for the
 * standard deviation) is the owner's alone: it is read once the owner has
 * finished, and a snapshot or a diff leaves it 0.
 */
#ifndef BLKBENCH_HIST_H
#define BLKBENCH_HIST_H

#include <stdint.h>

#define BB_HIST_SUB 64u
#define BB_HIST_BUCKETS (2 * BB_HIST_SUB + BB_HIST_SUB * (64 - 7))

struct bb_hist {
	uint64_t count;
	uint64_t sum;      /* ns */
	uint64_t min, max; /* ns; min is UINT64_MAX while empty */
	/* ns^2, exact: a double loses the variance of tight latencies
	 * (mean/stddev of 1000 or more) to rounding over a long run. */
	__extension__ unsigned __int128 sumsq;
	uint64_t b[BB_HIST_BUCKETS];
};

void bb_hist_init(struct bb_hist *h);
/* Owner thread only. */
void bb_hist_add(struct bb_hist *h, uint64_t ns);
/* Any thread: a consistent-enough copy of a live histogram. */
void bb_hist_snapshot(struct bb_hist *dst, const struct bb_hist *live);
void bb_hist_merge(struct bb_hist *dst, const struct bb_hist *src);
/* dst = now - before (bucket counts and count; min/max from `now`):
 * what happened in an interval. */
void bb_hist_diff(struct bb_hist *dst, const struct bb_hist *now,
		  const struct bb_hist *before);

unsigned bb_hist_bucket(uint64_t ns);
uint64_t bb_hist_bucket_low(unsigned i);
uint64_t bb_hist_bucket_high(unsigned i);
/* The value at percentile p (0 < p <= 100), in ns, within the bucket's
 * resolution and clamped to [min, max]; 0 when empty. */
uint64_t bb_hist_percentile(const struct bb_hist *h, double p);
/* ns; 0 when empty. The standard deviation is the sample's (n - 1), as
 * fio's; 0 below two values. Both need the sum of squares: not of a
 * snapshot or a diff. */
double bb_hist_mean(const struct bb_hist *h);
double bb_hist_stddev(const struct bb_hist *h);

#endif

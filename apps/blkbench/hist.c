/* SPDX-License-Identifier: MIT */
/* Latency histogram: log buckets with 64 linear sub-buckets. */
#include <math.h>
#include <string.h>

#include "hist.h"

#define LD(p) __atomic_load_n(p, __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n(p, v, __ATOMIC_RELAXED)

void bb_hist_init(struct bb_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Values below 128 have a bucket each; from 2^e (e >= 7) on, the top 7
 * bits pick one of 64 buckets of width 2^(e-6). */
unsigned bb_hist_bucket(uint64_t ns)
{
	unsigned e, shift;

	if (ns < 2 * BB_HIST_SUB)
		return (unsigned)ns;
	e = 63u - (unsigned)__builtin_clzll(ns);
	shift = e - 6;
	return BB_HIST_SUB * (e - 6) + (unsigned)(ns >> shift);
}

uint64_t bb_hist_bucket_low(unsigned i)
{
	unsigned e, sub;

	if (i < 2 * BB_HIST_SUB)
		return i;
	e = i / BB_HIST_SUB + 5;
	sub = i % BB_HIST_SUB + BB_HIST_SUB;
	return (uint64_t)sub << (e - 6);
}

uint64_t bb_hist_bucket_high(unsigned i)
{
	if (i + 1 >= BB_HIST_BUCKETS)
		return UINT64_MAX;
	return bb_hist_bucket_low(i + 1) - 1;
}

void bb_hist_add(struct bb_hist *h, uint64_t ns)
{
	unsigned i = bb_hist_bucket(ns);

	ST(&h->b[i], LD(&h->b[i]) + 1);
	ST(&h->sum, LD(&h->sum) + ns);
	h->sumsq += (unsigned __int128)ns * ns;
	if (ns < LD(&h->min))
		ST(&h->min, ns);
	if (ns > LD(&h->max))
		ST(&h->max, ns);
	ST(&h->count, LD(&h->count) + 1);
}

void bb_hist_snapshot(struct bb_hist *dst, const struct bb_hist *live)
{
	uint64_t n = 0;

	dst->sum = LD(&live->sum);
	dst->min = LD(&live->min);
	dst->max = LD(&live->max);
	dst->sumsq = 0;
	for (unsigned i = 0; i < BB_HIST_BUCKETS; i++)
		n += dst->b[i] = LD(&live->b[i]);
	/* The buckets are what percentiles walk: count what they hold. */
	dst->count = n;
}

void bb_hist_merge(struct bb_hist *dst, const struct bb_hist *src)
{
	dst->count += src->count;
	dst->sum += src->sum;
	dst->sumsq += src->sumsq;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	for (unsigned i = 0; i < BB_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

void bb_hist_diff(struct bb_hist *dst, const struct bb_hist *now,
		  const struct bb_hist *before)
{
	uint64_t n = 0;
	unsigned lo = BB_HIST_BUCKETS, hi = 0;

	for (unsigned i = 0; i < BB_HIST_BUCKETS; i++) {
		uint64_t d = now->b[i] >= before->b[i] ? now->b[i] - before->b[i] : 0;

		dst->b[i] = d;
		n += d;
		if (d && lo == BB_HIST_BUCKETS)
			lo = i;
		if (d)
			hi = i;
	}
	dst->count = n;
	dst->sum = now->sum - before->sum;
	dst->sumsq = 0;
	/* The interval's extremes are known to bucket resolution only. */
	dst->min = n ? bb_hist_bucket_low(lo) : UINT64_MAX;
	dst->max = n ? bb_hist_bucket_high(hi) : 0;
	if (n && now->max < dst->max)
		dst->max = now->max;
	if (n && now->min > dst->min)
		dst->min = now->min;
}

uint64_t bb_hist_percentile(const struct bb_hist *h, double p)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (p >= 100.0)
		return h->max;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < BB_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen < rank)
			continue;
		/* The middle of the bucket: half its width off at most. */
		v = bb_hist_bucket_low(i) + (bb_hist_bucket_high(i) - bb_hist_bucket_low(i)) / 2;
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max;
}

double bb_hist_mean(const struct bb_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}

/* In long double: the cancellation in sumsq - sum * mean costs about
 * 2^-64 of sumsq, nothing next to any real spread. */
double bb_hist_stddev(const struct bb_hist *h)
{
	long double n = (long double)h->count, mean, var;

	if (h->count < 2)
		return 0;
	mean = (long double)h->sum / n;
	var = ((long double)h->sumsq - (long double)h->sum * mean) / (n - 1);
	return var > 0 ? (double)sqrtl(var) : 0;
}

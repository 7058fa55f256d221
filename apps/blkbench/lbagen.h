/* SPDX-License-Identifier: MIT */
/*
 * Which block comes next, in a slice of n blocks:
 *   SEQ      0, 1, ..., n-1, 0, ...
 *   UNIFORM  independent uniform picks (blocks may repeat)
 *   PERM     a random permutation per pass: every block exactly once in
 *            each run of n picks, a different order each pass. Verify
 *            runs use it so "n I/Os" means "the whole slice".
 */
#ifndef BLKBENCH_LBAGEN_H
#define BLKBENCH_LBAGEN_H

#include <stdint.h>

enum bb_pattern { BB_SEQ, BB_UNIFORM, BB_PERM };

struct bb_lbagen {
	enum bb_pattern pattern;
	uint64_t n;
	uint64_t seed;
	uint64_t rng;       /* UNIFORM */
	uint64_t pos;       /* SEQ: next block; PERM: next counter value */
	uint64_t pass;
	/* PERM: a bijection on [0, 2^bits), walked by a counter; values >= n
	 * are skipped (2^bits < 2n, so at most half are). */
	unsigned bits, shift;
	uint64_t mask, key[3], mul[3];
};

/* n >= 1. */
void bb_lbagen_init(struct bb_lbagen *g, enum bb_pattern p, uint64_t n,
		    uint64_t seed);
uint64_t bb_lbagen_next(struct bb_lbagen *g);

/* splitmix64 step: the one PRNG of blkbench. */
uint64_t bb_rand64(uint64_t *state);
/* Uniform in [0, n), n >= 1. */
uint64_t bb_rand_below(uint64_t *state, uint64_t n);

#endif

/* SPDX-License-Identifier: MIT */
/* Block index generators: sequential, uniform, per-pass permutation. */
#include "lbagen.h"

uint64_t bb_rand64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Lemire's multiply-shift: bias below 2^-64 * n, fine for a benchmark. */
uint64_t bb_rand_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bb_rand64(state) * n) >> 64);
}

/* New keys for each pass so that passes differ. */
static void perm_rekey(struct bb_lbagen *g)
{
	uint64_t st = g->seed ^ (g->pass * 0xA0761D6478BD642Full);

	for (int r = 0; r < 3; r++) {
		g->key[r] = bb_rand64(&st) & g->mask;
		g->mul[r] = bb_rand64(&st) | 1;  /* odd: invertible mod 2^bits */
	}
	g->pos = 0;
}

void bb_lbagen_init(struct bb_lbagen *g, enum bb_pattern p, uint64_t n,
		    uint64_t seed)
{
	*g = (struct bb_lbagen){ .pattern = p, .n = n ? n : 1, .seed = seed,
				 .rng = seed ^ 0x5851F42D4C957F2Dull };
	while (g->bits < 64 && (1ull << g->bits) < g->n)
		g->bits++;
	g->mask = g->bits == 64 ? UINT64_MAX : (1ull << g->bits) - 1;
	g->shift = g->bits / 2 + 1;
	if (p == BB_PERM)
		perm_rekey(g);
}

/* Each step is a bijection on [0, 2^bits): xor with a key, multiply by
 * an odd number (mod 2^bits), xor with itself shifted right. */
static uint64_t perm_hash(const struct bb_lbagen *g, uint64_t x)
{
	for (int r = 0; r < 3; r++) {
		x ^= g->key[r];
		x = (x * g->mul[r]) & g->mask;
		x ^= x >> g->shift;
	}
	return x;
}

uint64_t bb_lbagen_next(struct bb_lbagen *g)
{
	uint64_t v;

	switch (g->pattern) {
	case BB_SEQ:
		v = g->pos++;
		if (g->pos == g->n) {
			g->pos = 0;
			g->pass++;
		}
		return v;
	case BB_UNIFORM:
		return bb_rand_below(&g->rng, g->n);
	case BB_PERM:
		break;
	}
	for (;;) {
		if (g->pos > g->mask) {  /* n <= 2^55 blocks: never 64 bits */
			g->pass++;
			perm_rekey(g);
		}
		v = perm_hash(g, g->pos++);
		if (v < g->n)
			return v;
	}
}

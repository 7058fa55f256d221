/* SPDX-License-Identifier: MIT */
/* blkbench --verify: I/O buffers in the blockhdr.h format, and bitmaps. */
#ifndef BLKBENCH_VERIFY_H
#define BLKBENCH_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

struct bb_verify {
	uint32_t unit;
	uint64_t seed;
	uint32_t generation;
	unsigned *print_budget;  /* failure lines left to print (shared) */
};

/* Fill `len` bytes (whole units) that go to byte offset `off`. */
void bb_verify_fill(const struct bb_verify *v, void *buf, uint64_t len,
		    uint64_t off);
/* Check `len` bytes read from `off`; prints "verify: lba N: why" on stderr
 * per bad unit while the budget lasts. Returns the number of bad units. */
uint64_t bb_verify_check(const struct bb_verify *v, const void *buf,
			 uint64_t len, uint64_t off);

/* One bit per block of a worker's slice. */
uint64_t *bb_bitmap_new(uint64_t nbits);
static inline bool bb_bit_test(const uint64_t *m, uint64_t i)
{
	return m[i / 64] >> (i % 64) & 1;
}
static inline void bb_bit_set(uint64_t *m, uint64_t i)
{
	m[i / 64] |= 1ull << (i % 64);
}
static inline void bb_bit_clear(uint64_t *m, uint64_t i)
{
	m[i / 64] &= ~(1ull << (i % 64));
}

#endif

/* SPDX-License-Identifier: MIT */
/* blkbench --verify: stamp I/O buffers unit by unit, and check them. */
#include <stdio.h>
#include <stdlib.h>

#include "blockhdr.h"
#include "verify.h"

void bb_verify_fill(const struct bb_verify *v, void *buf, uint64_t len,
		    uint64_t off)
{
	uint8_t *p = buf;

	for (uint64_t k = 0; k < len; k += v->unit)
		bb_unit_fill(p + k, v->unit, (off + k) / v->unit, v->seed,
			     v->generation);
}

/* Take one line from the shared budget; the last one says so. */
static bool may_print(unsigned *budget)
{
	unsigned left = __atomic_load_n(budget, __ATOMIC_RELAXED);

	while (left) {
		if (__atomic_compare_exchange_n(budget, &left, left - 1, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			if (left == 1)
				fprintf(stderr, "verify: more failures are not shown\n");
			return left > 1;
		}
	}
	return false;
}

uint64_t bb_verify_check(const struct bb_verify *v, const void *buf,
			 uint64_t len, uint64_t off)
{
	const uint8_t *p = buf;
	uint64_t bad = 0;
	char why[96];

	for (uint64_t k = 0; k < len; k += v->unit) {
		uint64_t lba = (off + k) / v->unit;

		if (bb_unit_check(p + k, v->unit, lba, v->seed, v->generation,
				  why, sizeof(why)) == BB_UNIT_OK)
			continue;
		bad++;
		if (v->print_budget && may_print(v->print_budget))
			fprintf(stderr, "verify: lba %llu: %s\n",
				(unsigned long long)lba, why);
	}
	return bad;
}

uint64_t *bb_bitmap_new(uint64_t nbits)
{
	return calloc(nbits / 64 + 1, sizeof(uint64_t));
}

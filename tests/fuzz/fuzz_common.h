/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets in tests/fuzz/: a reader that turns the
 * fuzz input into the device's choices, and the invariant check.
 *
 * The input is consumed front to back; once it runs out every read gives
 * 0, so a target always ends (its op loop stops at the end of the input).
 */
#ifndef UVIO_TESTS_FUZZ_COMMON_H
#define UVIO_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant is a crash for libFuzzer (the reproducer is saved);
 * the line says which one. */
#define FUZZ_CHECK(cond, ...)                                              \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "INVARIANT BROKEN (%s:%d): %s: ",  \
				__FILE__, __LINE__, #cond);                \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			__builtin_trap();                                  \
		}                                                          \
	} while (0)

/* Known findings to step around while exploring further, named in the
 * environment: UVIO_FUZZ_IGNORE="net-ctrl-deps,net-offload-deps".
 * Never set in `make fuzz`. */
static inline bool fuzz_ignoring(const char *what)
{
	static const char *env;
	static bool init;

	if (!init) {
		env = getenv("UVIO_FUZZ_IGNORE");
		init = true;
	}
	return env && strstr(env, what);
}

/* UVIO_FUZZ_VERBOSE=1: say what an input does (to understand a seed or a
 * reproducer; far too slow for fuzzing). */
#define FUZZ_SAY(...)                                                      \
	do {                                                               \
		static int v_ = -1;                                        \
		if (v_ < 0)                                                \
			v_ = getenv("UVIO_FUZZ_VERBOSE") != NULL;          \
		if (v_)                                                    \
			fprintf(stderr, __VA_ARGS__);                      \
	} while (0)

struct fin {
	const uint8_t *p;
	size_t n;
};

static inline bool fin_more(const struct fin *in)
{
	return in->n > 0;
}

static inline void fin_bytes(struct fin *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset((char *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fin_u8(struct fin *in)
{
	uint8_t v;

	fin_bytes(in, &v, 1);
	return v;
}

static inline uint16_t fin_u16(struct fin *in)
{
	uint16_t v;

	fin_bytes(in, &v, 2);
	return v;
}

static inline uint32_t fin_u32(struct fin *in)
{
	uint32_t v;

	fin_bytes(in, &v, 4);
	return v;
}

static inline uint64_t fin_u64(struct fin *in)
{
	uint64_t v;

	fin_bytes(in, &v, 8);
	return v;
}

/* A length the device reports for a buffer with `max` writable bytes:
 * mostly a valid one, sometimes anything (a lie). */
static inline uint32_t fin_len(struct fin *in, uint32_t max, bool *lie)
{
	uint8_t how = fin_u8(in);
	uint32_t v = fin_u32(in);

	*lie = false;
	switch (how & 3) {
	case 0: return max;
	case 1: return (uint32_t)(v % ((uint64_t)max + 1));  /* max may be UINT32_MAX */
	case 2: return 0;
	default:
		*lie = v > max;
		return v;
	}
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The verify format shared by blkbench (writes and checks it through a
 * device) and blkcheck (checks or generates it in an image file on the
 * host). Header-only: each program's folder is linked on its own.
 *
 * The disk is cut into verify units of U bytes, U = the largest power of
 * two that divides --bs, at most 4096 (so 4k I/Os: U = 4096; 512-byte
 * I/Os: U = 512). Unit number `lba` covers bytes [lba*U, (lba+1)*U) of the
 * device. Every unit starts with a 32-byte header, all little endian:
 *
 *   0  magic       "UVIOBLK1"
 *   8  lba         u64, byte offset / U: catches misdirected I/O
 *  16  seed        u64, the run's --seed: catches stale data
 *  24  generation  u32, --generation (default 1): catches lost writes
 *  28  crc32c      u32, CRC32C (Castagnoli) of the whole unit with these
 *                  4 bytes taken as zero
 *  32  data        a splitmix64 stream seeded from (seed, lba, generation)
 *
 * A unit is good when all four fields match what the reader expects and
 * the CRC matches; the CRC covers the data, so one flipped bit fails.
 */
#ifndef BLKBENCH_BLOCKHDR_H
#define BLKBENCH_BLOCKHDR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define BB_MAGIC "UVIOBLK1"
#define BB_HDR_SIZE 32u
#define BB_UNIT_MAX 4096u
#define BB_CRC_OFF 28u

/* ---- CRC32C: slicing-by-8 tables, SSE4.2 when the CPU has it ---- */

static uint32_t bb_crc_tab[8][256];
static pthread_once_t bb_crc_once = PTHREAD_ONCE_INIT;
static bool bb_crc_hw;

static inline void bb_crc_init_once(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		bb_crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			bb_crc_tab[t][i] = (bb_crc_tab[t - 1][i] >> 8) ^
					   bb_crc_tab[0][bb_crc_tab[t - 1][i] & 0xff];
#if defined(__x86_64__)
	bb_crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static inline void bb_crc_init(void)
{
	pthread_once(&bb_crc_once, bb_crc_init_once);
}

/* Raw update: `crc` is the running (inverted) state. */
static inline uint32_t bb_crc32c_sw_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	bb_crc_init();
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= crc;  /* little-endian hosts: the first 4 bytes meet crc */
		crc = bb_crc_tab[7][w & 0xff] ^ bb_crc_tab[6][(w >> 8) & 0xff] ^
		      bb_crc_tab[5][(w >> 16) & 0xff] ^ bb_crc_tab[4][(w >> 24) & 0xff] ^
		      bb_crc_tab[3][(w >> 32) & 0xff] ^ bb_crc_tab[2][(w >> 40) & 0xff] ^
		      bb_crc_tab[1][(w >> 48) & 0xff] ^ bb_crc_tab[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ bb_crc_tab[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static inline uint32_t bb_crc32c_hw_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

static inline uint32_t bb_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	bb_crc_init();
#if defined(__x86_64__)
	if (bb_crc_hw)
		return bb_crc32c_hw_update(crc, buf, len);
#endif
	return bb_crc32c_sw_update(crc, buf, len);
}

/* CRC32C of a buffer: crc32c("123456789") = 0xE3069283. */
static inline uint32_t bb_crc32c(const void *buf, size_t len)
{
	return ~bb_crc32c_update(~0u, buf, len);
}

static inline uint32_t bb_crc32c_sw(const void *buf, size_t len)
{
	return ~bb_crc32c_sw_update(~0u, buf, len);
}

/* ---- little-endian fields ---- */

static inline void bb_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void bb_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t bb_get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint32_t bb_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ---- units ---- */

static inline uint64_t bb_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The verify unit for I/Os of `bs` bytes (bs a multiple of 512). */
static inline uint32_t bb_unit_size(uint64_t bs)
{
	uint64_t low = bs & (~bs + 1);

	return low > BB_UNIT_MAX || !low ? BB_UNIT_MAX : (uint32_t)low;
}

/* Write unit `lba` of `unit` bytes into buf. */
static inline void bb_unit_fill(void *buf, uint32_t unit, uint64_t lba,
				uint64_t seed, uint32_t gen)
{
	uint8_t *p = buf;
	uint64_t st = seed ^ (lba * 0xD6E8FEB86659FD93ull) ^ ((uint64_t)gen << 32);

	memcpy(p, BB_MAGIC, 8);
	bb_put_le64(p + 8, lba);
	bb_put_le64(p + 16, seed);
	bb_put_le32(p + 24, gen);
	bb_put_le32(p + BB_CRC_OFF, 0);
	for (uint32_t off = BB_HDR_SIZE; off < unit; off += 8)
		bb_put_le64(p + off, bb_splitmix64(&st));
	bb_put_le32(p + BB_CRC_OFF, bb_crc32c(p, unit));
}

/* The CRC of a unit as stored, with the crc field taken as zero. */
static inline uint32_t bb_unit_crc(const void *buf, uint32_t unit)
{
	static const uint8_t zero[4];
	const uint8_t *p = buf;
	uint32_t c = bb_crc32c_update(~0u, p, BB_CRC_OFF);

	c = bb_crc32c_update(c, zero, 4);
	return ~bb_crc32c_update(c, p + BB_HDR_SIZE, unit - BB_HDR_SIZE);
}

static inline bool bb_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

enum bb_unit_status {
	BB_UNIT_OK = 0,
	BB_UNIT_ZERO,       /* all zeros: never written, or zeroed */
	BB_UNIT_MAGIC,
	BB_UNIT_LBA,
	BB_UNIT_SEED,
	BB_UNIT_GEN,
	BB_UNIT_CRC,
};

/*
 * Check one unit against what should be there. On failure, `why` (may be
 * NULL) gets one line such as "crc mismatch (stored 0x..., computed 0x...)".
 */
static inline enum bb_unit_status bb_unit_check(const void *buf, uint32_t unit,
						uint64_t lba, uint64_t seed,
						uint32_t gen, char *why,
						size_t why_len)
{
	const uint8_t *p = buf;
	enum bb_unit_status st = BB_UNIT_OK;
	uint64_t v = 0, v2 = 0;

	if (memcmp(p, BB_MAGIC, 8)) {
		st = bb_is_zero(p, unit) ? BB_UNIT_ZERO : BB_UNIT_MAGIC;
	} else if ((v = bb_get_le64(p + 8)) != lba) {
		st = BB_UNIT_LBA;
	} else if ((v = bb_get_le64(p + 16)) != seed) {
		st = BB_UNIT_SEED;
	} else if ((v = bb_get_le32(p + 24)) != gen) {
		st = BB_UNIT_GEN;
	} else if ((v = bb_get_le32(p + BB_CRC_OFF)) != (v2 = bb_unit_crc(p, unit))) {
		st = BB_UNIT_CRC;
	}
	if (!why || !why_len)
		return st;
	switch (st) {
	case BB_UNIT_OK: snprintf(why, why_len, "ok"); break;
	case BB_UNIT_ZERO: snprintf(why, why_len, "all zeros (never written?)"); break;
	case BB_UNIT_MAGIC: snprintf(why, why_len, "bad magic"); break;
	case BB_UNIT_LBA:
		snprintf(why, why_len, "lba mismatch (header says %llu)",
			 (unsigned long long)v);
		break;
	case BB_UNIT_SEED:
		snprintf(why, why_len, "seed mismatch (header says %llu, want %llu)",
			 (unsigned long long)v, (unsigned long long)seed);
		break;
	case BB_UNIT_GEN:
		snprintf(why, why_len, "generation mismatch (header says %llu, want %u)",
			 (unsigned long long)v, gen);
		break;
	case BB_UNIT_CRC:
		snprintf(why, why_len, "crc mismatch (stored 0x%08llx, computed 0x%08llx)",
			 (unsigned long long)v, (unsigned long long)v2);
		break;
	}
	return st;
}

#endif

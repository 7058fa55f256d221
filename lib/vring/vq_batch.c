/* SPDX-License-Identifier: MIT */
/*
 * The rings' batch path, four buffers at a time, as DPDK's vector paths
 * take them:
 *   packed  four descriptors are one cache line: posted with two vector
 *           stores of their fields and then their four flags, reaped with
 *           two loads that check all four flags, then the ids, lengths and
 *           shadow entries four at a time;
 *   split   four descriptors and four avail slots posted with vector
 *           stores (a slot that already holds its head is not written),
 *           four used entries reaped with one load.
 * Only IN_ORDER queues: buffer ids (packed) or heads (split) then run
 * alongside ring positions, so the four shadow entries are one line too.
 * x86-64 with AVX2 (256 bits, two descriptors a register), chosen at run
 * time; elsewhere the batch path takes nothing and packed.c / split.c do
 * it all. AVX2, not AVX512: the machines this is built and measured on
 * have no AVX512, and a path that cannot be run here cannot be tested.
 * Anything short of a clean group of four is left to the scalar code,
 * which takes what is good and breaks the queue on what is not.
 *
 * Ordering needs no fence instruction here: x86 keeps stores in program
 * order and loads in program order, for the device as for any CPU, so
 * only the compiler has to be held back.
 */
#include <string.h>

#include "vq_internal.h"

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED  (1u << VRING_PACKED_DESC_F_USED)

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

/* A 256-bit register holds two 16-byte descriptors (spec 2.8.13): in
 * 32-bit lanes, addr is 0-1 and 4-5, len 2 and 6, id | flags << 16 3 and
 * 7. A shadow entry (struct vq_buf_state) has its cookie in 0-1, in_len
 * in 2 and ndesc | last << 16 in 3; a used entry its cookie in 0-1 and
 * len in 2. */
typedef uint32_t __attribute__((may_alias)) dword_alias;

#define TOP   0x88  /* blend mask of lanes 3 and 7 */
#define LEN   0x44
#define PTR   0x33

_Static_assert(sizeof(struct uvio_sg) == 16, "an sg entry is a descriptor's size");
_Static_assert(sizeof(struct vq_buf_state) == 16, "shadow entries pair in a register");
_Static_assert(sizeof(struct uvio_vq_used) == 16, "used entries pair in a register");

uint16_t uvio_vq_cpu_simd_bitwidth(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") ? 256 : 64;
}

/* lanes 3 and 7 */
AVX2 static __m256i tops(uint32_t v0, uint32_t v1)
{
	return _mm256_set_epi32((int)v1, 0, 0, 0, (int)v0, 0, 0, 0);
}

/* Shadow entries of four buffers: cookie, in_len (0 when the device may
 * not write), ndesc 1 and last: top is ndesc | last << 16 of the first,
 * step what the next adds (split: the next head; packed: last unused). */
AVX2 static void put_states(struct vq_buf_state *st, const struct uvio_sg *sg,
			    void *const *cookies, bool writable, uint32_t top, uint32_t step)
{
	for (unsigned k = 0; k < 4; k += 2) {
		__m256i c = _mm256_castsi128_si256(_mm_loadu_si128((const void *)&cookies[k]));
		__m256i v = _mm256_loadu_si256((const void *)&sg[k]);
		__m256i len = writable ? _mm256_blend_epi32(_mm256_setzero_si256(), v, LEN)
				       : _mm256_setzero_si256();
		uint32_t t = top + k * step;

		c = _mm256_permute4x64_epi64(c, 0x50);  /* c0 c0 c1 c1 */
		_mm256_storeu_si256((void *)&st[k],
				    _mm256_blend_epi32(_mm256_blend_epi32(c, len, LEN),
						       tops(t, t + step), TOP));
	}
}

/*
 * Descriptors d[0..3] from sg's iova and len, ids id..id+3. Each line is
 * written whole with the id and flags dword it had, which the device does
 * not look at again before the flags say available (spec 2.8.21); then
 * each id | flags dword, one store, hands its descriptor over.
 */
AVX2 static void put_group(struct vring_packed_desc *d, const struct uvio_sg *sg,
			   uint16_t id, uint16_t flags)
{
	__m256i s0 = _mm256_loadu_si256((const void *)sg);
	__m256i s1 = _mm256_loadu_si256((const void *)(sg + 2));
	__m256i o0 = _mm256_loadu_si256((const void *)d);
	__m256i o1 = _mm256_loadu_si256((const void *)(d + 2));
	uint32_t top = id | (uint32_t)flags << 16;
	dword_alias *dw = (dword_alias *)d;

	_mm256_storeu_si256((void *)d, _mm256_blend_epi32(s0, o0, TOP));
	_mm256_storeu_si256((void *)(d + 2), _mm256_blend_epi32(s1, o1, TOP));
	COMPILER_BARRIER();
	for (unsigned k = 0; k < 4; k++)
		__atomic_store_n(&dw[4 * k + 3], top + k, __ATOMIC_RELAXED);
}

/* A packed ring position past a group, and the lap it is in; a buffer id
 * past four (ids rotate through 0..size-1). */
static void step4(uint16_t *pos, bool *wrap, uint16_t size)
{
	if ((*pos = (uint16_t)(*pos + 4)) == size) {
		*pos = 0;
		*wrap = !*wrap;
	}
}

static uint16_t next4(uint16_t id, uint16_t size)
{
	id = (uint16_t)(id + 4);
	return id == size ? 0 : id;
}

AVX2 unsigned uvio_vq_packed_add_x4(struct uvio_vq *vq, const struct uvio_sg *sg,
				    void *const *cookies, unsigned n, bool writable)
{
	struct vq_packed *p = &vq->u.packed;
	uint16_t pos = p->next_avail, id = p->free_id, size = vq->size;
	uint16_t wflag = writable ? VRING_DESC_F_WRITE : 0;
	bool wrap = p->avail_wrap;
	unsigned i = 0;

	if (!vq->batch4)
		return 0;
	for (; i + 4 <= n && !(pos & 3) && pos + 4 <= size && id + 4 <= size; i += 4) {
		put_states(&vq->state[id], &sg[i], &cookies[i], writable, 1, 0);
		put_group(&p->desc[pos], &sg[i], id, (uint16_t)(wflag | (wrap ? F_AVAIL : F_USED)));
		step4(&pos, &wrap, size);
		id = next4(id, size);
	}
	p->next_avail = pos;
	p->avail_wrap = wrap;
	p->free_id = id;
	vq->num_free = (uint16_t)(vq->num_free - i);
	vq->num_added = (uint16_t)(vq->num_added + i);
	vq->in_flight = (uint16_t)(vq->in_flight + i);
	return i;
}

/* Lanes 3 and 7 of a and b all equal: each compare sets a lane to ~0. */
AVX2 static bool tops_equal(__m256i a, __m256i b)
{
	return (_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b))) & TOP) == TOP;
}

/* Two descriptors used in this lap whose ids are oldest + k, k + 1; the
 * flags are read first, and the ids and lengths after them from a second
 * load: the device writes those before the flags. */
AVX2 static bool pair_used(const struct vring_packed_desc *d, bool wrap, uint16_t oldest,
			   unsigned k, __m256i *v)
{
	const __m256i mask = _mm256_set1_epi32((int)((F_AVAIL | F_USED) << 16));
	const __m256i want = wrap ? mask : _mm256_setzero_si256();

	if (!tops_equal(_mm256_and_si256(_mm256_loadu_si256((const void *)d), mask), want))
		return false;
	COMPILER_BARRIER();
	*v = _mm256_loadu_si256((const void *)d);
	return tops_equal(_mm256_and_si256(*v, _mm256_set1_epi32(0xffff)),
			  tops(oldest + k, oldest + k + 1u));
}

/* The shadow of two buffers, each one descriptor (its top is want), and
 * the used entries for them from the lengths in lanes 2 and 6 of v, each
 * checked against what its buffer could take. */
AVX2 static bool pair_shadow(__m256i len, __m256i s, __m256i want, __m256i *out)
{
	if (!tops_equal(s, want))
		return false;
	if ((_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(
		     _mm256_max_epu32(len, s), s))) & LEN) != LEN)
		return false;
	*out = _mm256_blend_epi32(_mm256_blend_epi32(_mm256_setzero_si256(), s, PTR), len, LEN);
	return true;
}

/* The four shadow entries after their used entries went out: cookies
 * cleared, so a second use of them is caught. */
AVX2 static void clear_cookies(struct vq_buf_state *st)
{
	const __m256i keep = _mm256_set_epi32(-1, -1, 0, 0, -1, -1, 0, 0);
	__m256i *sv = (__m256i *)st;

	_mm256_storeu_si256(sv, _mm256_and_si256(_mm256_loadu_si256(sv), keep));
	_mm256_storeu_si256(sv + 1, _mm256_and_si256(_mm256_loadu_si256(sv + 1), keep));
}

/* Spec 2.8.4: the length means nothing for a buffer the device may not
 * write (see read_used() in packed.c): 0 where in_len is. */
AVX2 static __m256i packed_len(__m256i v, __m256i s)
{
	return _mm256_andnot_si256(_mm256_cmpeq_epi32(s, _mm256_setzero_si256()), v);
}

/*
 * Take descriptors d[0..3] if all four are used in this lap and name the
 * buffers oldest..oldest+3 in flight within what each could take; else
 * take nothing and leave the group to the scalar code, which takes what
 * is good and breaks the queue on what is not.
 */
AVX2 static bool take_group(const struct vring_packed_desc *d, struct vq_buf_state *st,
			    uint16_t oldest, bool wrap, struct uvio_vq_used *out)
{
	__m256i v0, v1, u0, u1, s0, s1;
	__m256i one = _mm256_set1_epi32(1);

	if (!pair_used(d, wrap, oldest, 0, &v0) || !pair_used(d + 2, wrap, oldest, 2, &v1))
		return false;
	s0 = _mm256_loadu_si256((const void *)st);
	s1 = _mm256_loadu_si256((const void *)(st + 2));
	if (!pair_shadow(packed_len(v0, s0), s0, one, &u0) ||
	    !pair_shadow(packed_len(v1, s1), s1, one, &u1))
		return false;
	_mm256_storeu_si256((void *)out, u0);
	_mm256_storeu_si256((void *)(out + 2), u1);
	clear_cookies(st);
	return true;
}

AVX2 unsigned uvio_vq_packed_used_x4(struct uvio_vq *vq, struct uvio_vq_used *out,
				     unsigned max)
{
	struct vq_packed *p = &vq->u.packed;
	uint16_t pos = p->next_used, oldest = vq->io_oldest, size = vq->size;
	bool wrap = p->used_wrap;
	unsigned n = 0, limit = max < vq->in_flight ? max : vq->in_flight;

	if (!vq->batch4 || vq->batch_active)
		return 0;
	for (; n + 4 <= limit && !(pos & 3) && pos + 4 <= size && oldest + 4 <= size &&
	       take_group(&p->desc[pos], &vq->state[oldest], oldest, wrap, &out[n]); n += 4) {
		step4(&pos, &wrap, size);
		oldest = next4(oldest, size);
	}
	p->next_used = pos;
	p->used_wrap = wrap;
	vq->io_oldest = oldest;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->in_flight = (uint16_t)(vq->in_flight - n);
	return n;
}

/* ---- split ---- */

/* Descriptors d[0..1] from sg's iova and len, flags, no NEXT; each next
 * field stays as it was, as the scalar code leaves it. The device reads
 * none of it before avail->idx moves (at kick, after a barrier). */
AVX2 static void split_put_pair(struct vring_desc *d, const struct uvio_sg *sg, uint16_t flags)
{
	__m256i v = _mm256_blend_epi32(_mm256_loadu_si256((const void *)sg),
				       _mm256_loadu_si256((const void *)d), TOP);

	_mm256_storeu_si256((void *)d, _mm256_blend_epi16(v, _mm256_set1_epi16((short)flags), 0x40));
}

/* Avail slots := head..head+3. Under IN_ORDER they mostly hold those
 * already, and an unchanged line is not dirtied (publish() in split.c). */
static void split_publish4(uint16_t *slot, uint16_t head)
{
	uint64_t want = head | (uint64_t)(uint16_t)(head + 1) << 16 |
			(uint64_t)(uint16_t)(head + 2) << 32 | (uint64_t)(uint16_t)(head + 3) << 48;
	uint64_t have;

	memcpy(&have, slot, sizeof(have));
	if (have != want)
		memcpy(slot, &want, sizeof(want));
}

AVX2 unsigned uvio_vq_split_add_x4(struct uvio_vq *vq, const struct uvio_sg *sg,
				   void *const *cookies, unsigned n, bool writable)
{
	struct vq_split *s = &vq->u.split;
	uint16_t size = vq->size, mask = (uint16_t)(size - 1), head = s->free_head;
	uint16_t idx = s->avail_idx, flags = writable ? VRING_DESC_F_WRITE : 0;
	unsigned i = 0;

	if (!vq->batch4)
		return 0;
	for (; i + 4 <= n && head + 4 <= size && (idx & mask) + 4 <= size; i += 4) {
		put_states(&vq->state[head], &sg[i], &cookies[i], writable,
			   1u | (uint32_t)head << 16, 1u << 16);
		split_put_pair(&s->desc[head], &sg[i], flags);
		split_put_pair(&s->desc[head + 2], &sg[i + 2], flags);
		split_publish4(&s->avail->ring[idx & mask], head);
		head = (uint16_t)((head + 4) & mask);
		idx = (uint16_t)(idx + 4);
	}
	s->free_head = head;
	s->avail_idx = idx;
	vq->num_free = (uint16_t)(vq->num_free - i);
	vq->num_added = (uint16_t)(vq->num_added + i);
	vq->in_flight = (uint16_t)(vq->in_flight + i);
	return i;
}

/* Used entries e[0..3] (id, len pairs) for the heads oldest..oldest+3,
 * each a one-descriptor buffer (last == head), each len within in_len. */
AVX2 static bool split_take_group(const struct vring_used_elem *e, struct vq_buf_state *st,
				  uint16_t oldest, struct uvio_vq_used *out)
{
	__m256i v = _mm256_loadu_si256((const void *)e), s0, s1, u0, u1;
	__m256i ids = _mm256_set_epi32(0, oldest + 3, 0, oldest + 2, 0, oldest + 1, 0, oldest);
	uint32_t t = 1u | (uint32_t)oldest << 16, step = 1u << 16;

	if ((_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, ids))) & 0x55) != 0x55)
		return false;
	s0 = _mm256_loadu_si256((const void *)st);
	s1 = _mm256_loadu_si256((const void *)(st + 2));
	/* len k to lane 2 or 6 of its pair */
	if (!pair_shadow(_mm256_permutevar8x32_epi32(v, _mm256_set_epi32(0, 3, 0, 0, 0, 1, 0, 0)),
			 s0, tops(t, t + step), &u0) ||
	    !pair_shadow(_mm256_permutevar8x32_epi32(v, _mm256_set_epi32(0, 7, 0, 0, 0, 5, 0, 0)),
			 s1, tops(t + 2 * step, t + 3 * step), &u1))
		return false;
	_mm256_storeu_si256((void *)out, u0);
	_mm256_storeu_si256((void *)(out + 2), u1);
	clear_cookies(st);
	return true;
}

AVX2 unsigned uvio_vq_split_used_x4(struct uvio_vq *vq, struct uvio_vq_used *out,
				    unsigned max, uint16_t used_idx)
{
	struct vq_split *s = &vq->u.split;
	uint16_t size = vq->size, mask = (uint16_t)(size - 1);
	uint16_t last = s->last_used, oldest = vq->io_oldest;
	unsigned n = 0;

	if (!vq->batch4 || vq->batch_active)
		return 0;
	for (; n + 4 <= max && (uint16_t)(used_idx - last) >= 4 && (last & mask) + 4 <= size &&
	       oldest + 4 <= size &&
	       split_take_group(&s->used->ring[last & mask], &vq->state[oldest], oldest, &out[n]);
	     n += 4) {
		last = (uint16_t)(last + 4);
		oldest = (uint16_t)((oldest + 4) & mask);
	}
	s->last_used = last;
	vq->io_oldest = oldest;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->in_flight = (uint16_t)(vq->in_flight - n);
	return n;
}

#else

uint16_t uvio_vq_cpu_simd_bitwidth(void) { return 64; }

unsigned uvio_vq_packed_add_x4(struct uvio_vq *vq, const struct uvio_sg *sg,
			       void *const *cookies, unsigned n, bool writable)
{
	(void)vq, (void)sg, (void)cookies, (void)n, (void)writable;
	return 0;
}

unsigned uvio_vq_packed_used_x4(struct uvio_vq *vq, struct uvio_vq_used *out,
				unsigned max)
{
	(void)vq, (void)out, (void)max;
	return 0;
}

unsigned uvio_vq_split_add_x4(struct uvio_vq *vq, const struct uvio_sg *sg,
			      void *const *cookies, unsigned n, bool writable)
{
	(void)vq, (void)sg, (void)cookies, (void)n, (void)writable;
	return 0;
}

unsigned uvio_vq_split_used_x4(struct uvio_vq *vq, struct uvio_vq_used *out,
			       unsigned max, uint16_t used_idx)
{
	(void)vq, (void)out, (void)max, (void)used_idx;
	return 0;
}

#endif

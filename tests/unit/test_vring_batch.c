/* SPDX-License-Identifier: MIT */
/*
 * The rings' batch path (lib/vring/vq_batch.c) against the scalar one,
 * split and packed: which queues take it, that both leave the very same bytes in
 * the ring and give back the very same buffers whatever the alignment,
 * wrap and burst sizes, and that a bad used descriptor inside a group is
 * still caught, after the good ones before it.
 */
#include "vring_fixture.h"

#define NCOOKIE 600

static uint8_t cookies[NCOOKIE];

static bool cpu_has_avx2(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
#else
	return false;
#endif
}

static struct fx *fx_new(bool packed, uint16_t simd)
{
	struct fx *f = tmem_alloc(sizeof(*f));

	f->packed = packed;
	f->max_simd_bitwidth = simd;
	return f;
}

/* The batch path: IN_ORDER, not capped below 256, and a CPU that
 * has it; the environment counts only when the caller gave no cap. */
static void t_path_choice(void **state)
{
	struct fx *f = *state;
	bool cpu = cpu_has_avx2();
	uint16_t want = f->max_simd_bitwidth != 64 && cpu ? 256 : 64;

	fx_open(f, 256, F_IN_ORDER, 0);
	assert_int_equal(uvio_vq_simd_bitwidth(f->vq), want);
	fx_open(f, 256, 0, 0);
	assert_int_equal(uvio_vq_simd_bitwidth(f->vq), 64);
	f->max_simd_bitwidth = 0;
	setenv("UVIO_MAX_SIMD_BITWIDTH", "128", 1);
	fx_open(f, 256, F_IN_ORDER, 0);
	assert_int_equal(uvio_vq_simd_bitwidth(f->vq), 64);
	setenv("UVIO_MAX_SIMD_BITWIDTH", "256", 1);
	fx_open(f, 256, F_IN_ORDER, 0);
	assert_int_equal(uvio_vq_simd_bitwidth(f->vq), cpu ? 256 : 64);
	unsetenv("UVIO_MAX_SIMD_BITWIDTH");
}

/* xorshift: the same sequence of operations for both queues */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

struct twin {
	struct fx *a, *b;      /* scalar, batch */
	uint8_t *data;         /* buffers both queues post (device memory) */
	uint16_t size;
	unsigned next_cookie;
};

static void twin_same(const struct twin *t)
{
	assert_memory_equal(t->a->mem, t->b->mem, t->a->mem_size);
	assert_int_equal(uvio_vq_num_free(t->a->vq), uvio_vq_num_free(t->b->vq));
	assert_int_equal(uvio_vq_in_flight(t->a->vq), uvio_vq_in_flight(t->b->vq));
	assert_false(uvio_vq_is_broken(t->a->vq));
	assert_false(uvio_vq_is_broken(t->b->vq));
}

/* n one-segment buffers through add_bufs, or now and then one 2-segment
 * chain through add, which moves the ring off the group boundary. */
static void twin_post(struct twin *t, uint32_t *seed)
{
	unsigned room = uvio_vq_num_free(t->a->vq), n = rnd(seed) % 41;
	bool writable = rnd(seed) & 1;
	struct uvio_sg sg[40];
	void *ck[40];

	if (room >= 2 && rnd(seed) % 5 == 0) {
		struct uvio_sg two[2] = {
			{ (uintptr_t)t->data, 100 }, { (uintptr_t)t->data + 2048, 200 },
		};
		void *c = &cookies[t->next_cookie++ % NCOOKIE];

		assert_int_equal(uvio_vq_add(t->a->vq, two, 1, 1, c), 0);
		assert_int_equal(uvio_vq_add(t->b->vq, two, 1, 1, c), 0);
		return;
	}
	n = n < room ? n : room;
	for (unsigned i = 0; i < n; i++) {
		sg[i] = (struct uvio_sg){ (uintptr_t)t->data + 64 * (i % 32), 60 + rnd(seed) % 4 };
		ck[i] = &cookies[t->next_cookie++ % NCOOKIE];
	}
	assert_int_equal(uvio_vq_add_bufs(t->a->vq, sg, ck, n, writable), 0);
	assert_int_equal(uvio_vq_add_bufs(t->b->vq, sg, ck, n, writable), 0);
}

/* Both devices take everything, then use a random number of buffers,
 * oldest first, each with a random length up to what it may take. */
static void twin_device(struct twin *t, uint32_t *seed)
{
	int na, nb;
	unsigned use;

	uvio_vq_kick(t->a->vq);
	uvio_vq_kick(t->b->vq);
	na = vdev_model_pop_all(t->a->dev);
	nb = vdev_model_pop_all(t->b->dev);
	assert_int_equal(na, nb);
	use = vdev_model_pending(t->a->dev);
	use = use ? rnd(seed) % (use + 1) : 0;
	for (unsigned i = 0; i < use; i++) {
		struct vdev_buf *ba = vdev_model_pending_at(t->a->dev, 0);
		struct vdev_buf *bb = vdev_model_pending_at(t->b->dev, 0);
		uint32_t len = rnd(seed) % (ba->in_len + 1);

		vdev_model_push(t->a->dev, ba, len);
		vdev_model_push(t->b->dev, bb, len);
	}
}

/* Both drivers take used buffers in calls of random sizes: the same ones,
 * with the same lengths. */
static void twin_reap(struct twin *t, uint32_t *seed)
{
	struct uvio_vq_used ua[64], ub[64];

	for (;;) {
		unsigned max = 1 + rnd(seed) % 64;
		int ra = uvio_vq_get_used(t->a->vq, ua, max);
		int rb = uvio_vq_get_used(t->b->vq, ub, max);

		assert_int_equal(ra, rb);
		assert_in_range(ra, 0, max);
		for (int k = 0; k < ra; k++) {
			assert_ptr_equal(ua[k].cookie, ub[k].cookie);
			assert_int_equal(ua[k].len, ub[k].len);
		}
		if (ra == 0)
			return;
	}
}

static void twin_run(bool packed, uint16_t size, uint64_t extra, uint32_t seed)
{
	struct twin t = {
		.a = fx_new(packed, 64), .b = fx_new(packed, 256), .size = size,
		.data = tmem_alloc(4096),
	};

	fx_open(t.a, size, F_IN_ORDER | extra, 0);
	fx_open(t.b, size, F_IN_ORDER | extra, 0);
	for (unsigned round = 0; round < 400; round++) {
		twin_post(&t, &seed);
		twin_same(&t);
		twin_device(&t, &seed);
		twin_reap(&t, &seed);
		twin_same(&t);
	}
	fx_model_ok(t.a);
	fx_model_ok(t.b);
	fx_close(t.a);
	fx_close(t.b);
}

/* Ring sizes that are and (packed) are not a multiple of the group, and
 * smaller than a group, with and without EVENT_IDX. */
static void t_same_as_scalar(void **state)
{
	struct fx *f = *state;

	if (f->packed) {
		twin_run(true, 256, 0, 1);
		twin_run(true, 256, F_EVENT_IDX, 2);
		twin_run(true, 250, 0, 3);
		twin_run(true, 63, F_EVENT_IDX, 4);
		twin_run(true, 3, 0, 5);
	} else {
		twin_run(false, 256, 0, 6);
		twin_run(false, 256, F_EVENT_IDX, 7);
		twin_run(false, 16, 0, 8);
		twin_run(false, 2, F_EVENT_IDX, 9);
	}
}

/* Eight writable buffers, a whole ring of groups: post, pop, and use the
 * first `good` of them well. */
static void post8(struct fx *f, uint8_t mem[8][64], unsigned good)
{
	struct uvio_sg sg[8];
	void *ck[8];

	fx_open(f, 8, F_IN_ORDER, 0);
	for (unsigned i = 0; i < 8; i++) {
		sg[i] = (struct uvio_sg){ (uintptr_t)mem[i], 64 };
		ck[i] = mem[i];
	}
	assert_int_equal(uvio_vq_add_bufs(f->vq, sg, ck, 8, true), 0);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 8);
	for (unsigned i = 0; i < good; i++)
		vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 64);
}

/* The good buffers come back, then the queue breaks on the bad one. */
static void expect_good_then_broken(struct fx *f, uint8_t mem[8][64], unsigned good,
				    const char *why)
{
	struct uvio_vq_used u[8];
	int rc = uvio_vq_get_used(f->vq, u, 8);

	assert_int_equal(rc, (int)good);
	for (unsigned k = 0; k < good; k++) {
		assert_ptr_equal(u[k].cookie, mem[k]);
		assert_int_equal(u[k].len, 64);
	}
	assert_int_equal(uvio_vq_get_used(f->vq, u, 8), -EIO);
	assert_non_null(strstr(uvio_vq_error(f->vq), why));
}

/* A too-long length in the last descriptor of the second group, the
 * group otherwise whole and good. */
static void t_group_bad_len(void **state)
{
	struct fx *f = *state;
	uint8_t mem[8][64];

	post8(f, mem, 7);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_LEN,
					      vdev_model_pending_at(f->dev, 0)), 0);
	expect_good_then_broken(f, mem, 7, "writable");
}

/* The first group used twice over: its second use names buffers that
 * are no longer in flight. */
static void t_group_used_twice(void **state)
{
	struct fx *f = *state;
	uint8_t mem[8][64];
	struct uvio_vq_used u[8];

	post8(f, mem, 4);
	assert_int_equal(uvio_vq_get_used(f->vq, u, 8), 4);
	memcpy((char *)f->mem + 4 * 16, f->mem, 4 * 16);  /* descs 4..7 := 0..3 */
	assert_int_equal(uvio_vq_get_used(f->vq, u, 8), -EIO);
	assert_non_null(strstr(uvio_vq_error(f->vq), "not in flight"));
}

/* An id out of range in the last descriptor of the first group. */
static void t_group_bad_id(void **state)
{
	struct fx *f = *state;
	uint8_t mem[8][64];

	post8(f, mem, 3);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_ID_RANGE,
					      vdev_model_pending_at(f->dev, 0)), 0);
	expect_good_then_broken(f, mem, 3, "id");
}

/* One descriptor of a group with USED set for this lap but AVAIL not. */
static void t_group_bad_wrap(void **state)
{
	struct fx *f = *state;
	uint8_t mem[8][64];

	post8(f, mem, 5);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_BAD_WRAP,
					      vdev_model_pending_at(f->dev, 0)), 0);
	expect_good_then_broken(f, mem, 5, "flags");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQ_BOTH(t_path_choice),
		{ "split/t_same_as_scalar", t_same_as_scalar, fx_setup, fx_teardown,
		  &layout_split },
		{ "packed/t_same_as_scalar", t_same_as_scalar, fx_setup, fx_teardown,
		  &layout_packed },
		VQ_BOTH(t_group_bad_len),
		VQ_BOTH(t_group_bad_id),
		VQ_PACKED(t_group_bad_wrap),
		VQ_PACKED(t_group_used_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

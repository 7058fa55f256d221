/* SPDX-License-Identifier: MIT */
/* lib/vring: a queue made new in place after a queue reset (spec 2.6.1,
 * uvio_vq_reset), on both layouts. The fixture is vring_fixture.h. */
#include "vring_fixture.h"

/* The device forgot the queue (spec 2.6.1.1): a fresh model on the same
 * memory expects the ring at its initial state. */
static void device_forgets(struct fx *f)
{
	struct uvio_vq_addrs a;

	vdev_model_destroy(f->dev);
	uvio_vq_get_addrs(f->vq, &a);
	f->dev = vdev_model_create(&a, f->size, f->features);
	assert_non_null(f->dev);
}

/* The descriptors (and a split ring's used ring) read as zero: what the
 * device last wrote is gone. The driver area holds the new flags. */
static bool ring_is_zero(const struct fx *f)
{
	struct uvio_vq_addrs a;
	const uint8_t *p = f->mem;

	uvio_vq_get_addrs(f->vq, &a);
	for (size_t i = 0; i < a.driver - a.desc; i++)
		if (p[i])
			return false;
	if (!f->packed)
		for (size_t i = 0; i < 4 + 8u * f->size; i++)
			if (p[a.device - a.desc + i])
				return false;
	return true;
}

/* Posted buffers must be detached first; then the ring is as new. */
static void t_reset_needs_detach(void **state)
{
	struct fx *f = *state;
	uint64_t w[3];
	unsigned n = 0;

	fx_open(f, 8, F_EVENT_IDX, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(add1(f, &w[i], 8, true, &w[i]), 0);
	uvio_vq_kick(f->vq);
	assert_int_equal(uvio_vq_reset(f->vq), -EBUSY);
	while (uvio_vq_detach_unused(f->vq))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(uvio_vq_reset(f->vq), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), 8);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	assert_int_equal(uvio_vq_next_slot(f->vq), 0);
	assert_true(ring_is_zero(f));
	device_forgets(f);
	round_trip1(f);
	fx_model_ok(f);
}

/* After many wraps (split indices far from 0, packed wrap counters
 * flipped), with buffers in flight: the reset ring starts again from the
 * spec's initial state and the device sees nothing odd. */
static void reset_after_wraps(struct fx *f, uint64_t extra)
{
	uint64_t w[2];

	fx_open(f, 8, extra, 0);
	for (int i = 0; i < 301; i++)
		round_trip1(f);
	assert_int_equal(add1(f, &w[0], 8, true, &w[0]), 0);
	assert_int_equal(add1(f, &w[1], 8, false, &w[1]), 0);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 2);           /* taken, never used: the reset drops them */
	while (uvio_vq_detach_unused(f->vq))
		;
	assert_int_equal(uvio_vq_reset(f->vq), 0);
	device_forgets(f);
	for (int i = 0; i < 20; i++)
		round_trip1(f);
	fx_model_ok(f);
}

static void t_reset_after_wraps(void **state)
{
	reset_after_wraps(*state, F_EVENT_IDX);
}

static void t_reset_after_wraps_in_order(void **state)
{
	reset_after_wraps(*state, F_IN_ORDER);
}

/* A queue broken by what the device did comes back whole. */
static void t_reset_unbreaks(void **state)
{
	struct fx *f = *state;
	uint64_t w;

	fx_open(f, 8, 0, 0);
	assert_int_equal(add1(f, &w, 8, true, &w), 0);
	uvio_vq_set_broken(f->vq, "test");
	assert_true(uvio_vq_is_broken(f->vq));
	assert_ptr_equal(uvio_vq_detach_unused(f->vq), &w);
	assert_int_equal(uvio_vq_reset(f->vq), 0);
	assert_false(uvio_vq_is_broken(f->vq));
	assert_string_equal(uvio_vq_error(f->vq), "");
	device_forgets(f);
	round_trip1(f);
	fx_model_ok(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQ_BOTH(t_reset_needs_detach),
		VQ_BOTH(t_reset_after_wraps),
		VQ_BOTH(t_reset_after_wraps_in_order),
		VQ_BOTH(t_reset_unbreaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * lib/vring against a buggy or malicious device, on both layouts: every
 * bad used entry must break the queue (-EIO, uvio_vq_is_broken(), a
 * message in uvio_vq_error()), every later call must fail fast, nothing
 * may be read or written out of bounds (these run under ASan + UBSan), and
 * the buffers still posted must come back once from detach_unused().
 */
#include "vring_fixture.h"

static struct tbuf bufs[4];

/* Post n buffers (1 readable + 1 writable segment of 64 bytes: two
 * descriptors each, so split heads are 0, 2, 4...), kick, device pops. */
static void post(struct fx *f, uint64_t extra, unsigned n)
{
	fx_open(f, 16, extra, 0);
	for (unsigned i = 0; i < n; i++) {
		tbuf_make(&bufs[i], 1, 1, 64, i);
		assert_int_equal(tbuf_add(f, &bufs[i], &bufs[i]), 0);
	}
	uvio_vq_kick(f->vq);
	dev_pop_n(f, n);
}

static void unpost(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tbuf_free(&bufs[i]);
}

static void assert_broken(struct fx *f)
{
	struct uvio_vq_used u[4];
	int x;

	assert_true(uvio_vq_is_broken(f->vq));
	assert_true(strlen(uvio_vq_error(f->vq)) > 0);
	assert_int_equal(uvio_vq_get_used(f->vq, u, 4), -EIO);
	assert_int_equal(add1(f, &x, sizeof(x), false, &x), -EIO);
	assert_false(uvio_vq_kick(f->vq));
}

/* The first get_used() fails (or returns the good entries before the bad
 * one, then fails); then the queue stays broken. `posted` buffers were
 * posted and `returned` of them came back before. */
static void expect_broken(struct fx *f, unsigned posted, unsigned returned)
{
	struct uvio_vq_used u[4];
	unsigned n = 0;
	int rc = uvio_vq_get_used(f->vq, u, 4);
	void *c;

	if (rc > 0) {
		returned += (unsigned)rc;
		rc = uvio_vq_get_used(f->vq, u, 4);
	}
	assert_int_equal(rc, -EIO);
	assert_broken(f);
	/* teardown after the device reset: the rest comes back, once each */
	while ((c = uvio_vq_detach_unused(f->vq)) != NULL) {
		assert_true(c >= (void *)&bufs[0] && c < (void *)&bufs[posted]);
		assert_true(++n <= posted - returned);
	}
	assert_int_equal(n, posted - returned);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
}

static void t_evil_id_range(void **state)
{
	struct fx *f = *state;

	post(f, 0, 2);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_ID_RANGE,
					      vdev_model_pending_at(f->dev, 0)), 0);
	expect_broken(f, 2, 0);
	unpost(2);
}

/* Split: id 1 is the second descriptor of the first chain, not a head. */
static void t_evil_id_not_in_flight(void **state)
{
	struct fx *f = *state;

	post(f, 0, 2);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_ID_NOT_IN_FLIGHT, NULL), 0);
	expect_broken(f, 2, 0);
	unpost(2);
}

static void t_evil_id_not_in_flight_in_order(void **state)
{
	struct fx *f = *state;

	post(f, F_IN_ORDER, 3);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_ID_NOT_IN_FLIGHT, NULL), 0);
	expect_broken(f, 3, 0);
	unpost(3);
}

/* The same buffer used twice: after the driver took it back... */
static void t_evil_double_later(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u;

	post(f, 0, 2);
	vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 1);
	fx_model_ok(f);
	drv_get_n(f, &u, 1);
	assert_ptr_equal(u.cookie, &bufs[0]);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_DOUBLE, NULL), 0);
	expect_broken(f, 2, 1);
	unpost(2);
}

/* ...and twice in a row, before it did. */
static void t_evil_double_at_once(void **state)
{
	struct fx *f = *state;

	post(f, 0, 2);
	vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 1);
	fx_model_ok(f);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_DOUBLE, NULL), 0);
	expect_broken(f, 2, 0);
	unpost(2);
}

static void t_evil_len(void **state)
{
	struct fx *f = *state;

	post(f, 0, 2);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_LEN,
					      vdev_model_pending_at(f->dev, 1)), 0);
	expect_broken(f, 2, 0);
	unpost(2);
}

/* A device-readable-only buffer. Split: any written length is a lie.
 * Packed (spec 2.8.4): the length of such a used descriptor is reserved
 * and ignored, so it reads as 0 and the queue stays healthy. */
static void t_evil_len_readonly(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u;

	fx_open(f, 16, 0, 0);
	tbuf_make(&bufs[0], 2, 0, 64, 0);
	assert_int_equal(tbuf_add(f, &bufs[0], &bufs[0]), 0);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 1);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_LEN,
					      vdev_model_pending_at(f->dev, 0)), 0);
	if (!uvio_vq_is_packed(f->vq)) {
		expect_broken(f, 1, 0);
	} else {
		assert_int_equal(uvio_vq_get_used(f->vq, &u, 1), 1);
		assert_ptr_equal(u.cookie, &bufs[0]);
		assert_int_equal(u.len, 0);
		assert_false(uvio_vq_is_broken(f->vq));
	}
	unpost(1);
}

/* Split: used->idx moves by more than the queue size. The index is read
 * before any entry, so not a single (bogus) buffer may come back. */
static void t_evil_idx_jump(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u[4];

	post(f, 0, 2);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_IDX_JUMP, NULL), 0);
	assert_int_equal(uvio_vq_get_used(f->vq, u, 4), -EIO);
	expect_broken(f, 2, 0);
	unpost(2);
}

/* Split: used->idx moves by more than is in flight (but < size). */
static void t_evil_idx_ahead(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_addrs a;

	post(f, 0, 2);
	vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 1);
	vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 1);
	uvio_vq_get_addrs(f->vq, &a);
	((struct vring_used *)(uintptr_t)a.device)->idx = 5;
	expect_broken(f, 2, 0);
	unpost(2);
}

/* Packed: a descriptor whose USED bit says "used in this lap" while its
 * AVAIL bit disagrees: no device writes that (2.8.1). */
static void t_evil_bad_wrap(void **state)
{
	struct fx *f = *state;

	post(f, 0, 2);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_BAD_WRAP,
					      vdev_model_pending_at(f->dev, 0)), 0);
	expect_broken(f, 2, 0);
	unpost(2);
}

/* A used entry while nothing at all is in flight. */
static void t_evil_used_when_idle(void **state)
{
	struct fx *f = *state;

	fx_open(f, 16, 0, 0);
	round_trip1(f);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_ID_NOT_IN_FLIGHT, NULL), 0);
	expect_broken(f, 0, 0);
}

/* Misbehaviour after the indices have wrapped a few times. */
static void t_evil_after_wrap(void **state)
{
	struct fx *f = *state;

	fx_open(f, 4, 0, 0);
	for (unsigned i = 0; i < 70000; i++)
		round_trip1(f);
	tbuf_make(&bufs[0], 1, 1, 64, 0);
	assert_int_equal(tbuf_add(f, &bufs[0], &bufs[0]), 0);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 1);
	assert_int_equal(vdev_model_misbehave(f->dev, VDEV_EVIL_ID_NOT_IN_FLIGHT, NULL), 0);
	expect_broken(f, 1, 0);
	unpost(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQ_BOTH(t_evil_id_range),
		VQ_BOTH(t_evil_id_not_in_flight),
		VQ_BOTH(t_evil_id_not_in_flight_in_order),
		VQ_BOTH(t_evil_double_later),
		VQ_BOTH(t_evil_double_at_once),
		VQ_BOTH(t_evil_len),
		VQ_BOTH(t_evil_len_readonly),
		VQ_SPLIT(t_evil_idx_jump),
		VQ_SPLIT(t_evil_idx_ahead),
		VQ_PACKED(t_evil_bad_wrap),
		VQ_BOTH(t_evil_used_when_idle),
		VQ_BOTH(t_evil_after_wrap),
	};

	return cmocka_run_group_tests_name("vring_evil", tests, NULL, NULL);
}

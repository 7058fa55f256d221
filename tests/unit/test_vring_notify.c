/* SPDX-License-Identifier: MIT */
/*
 * lib/vring notifications, on both layouts: available buffer notification
 * suppression (kicks: spec 2.7.10, 2.8.10 with and without EVENT_IDX), the
 * notification value (VIRTIO_F_NOTIFICATION_DATA, spec 2.9 / 4.1.5.2),
 * and used buffer notification suppression (enable_cb / disable_cb, spec
 * 2.7.7, 2.8.10) as the device model judges it.
 */
#include "vring_fixture.h"

static uint64_t scratch[64];

/* Post one single-descriptor writable buffer and kick; returns whether
 * the driver notified. */
static bool add_kick(struct fx *f, unsigned i)
{
	assert_int_equal(add1(f, &scratch[i % 64], 8, true, &scratch[i % 64]), 0);
	return uvio_vq_kick(f->vq);
}

/* Device: use everything; driver: take it all back. */
static void drain(struct fx *f)
{
	struct uvio_vq_used u[64];
	unsigned n;

	assert_true(vdev_model_pop_all(f->dev) >= 0);
	vdev_model_push_all(f->dev, VDEV_ORDER_FIFO, 0);
	n = uvio_vq_in_flight(f->vq);
	drv_get_n(f, u, n);
	fx_model_ok(f);
}

/* ---- kicks ---- */

/* Without EVENT_IDX: VRING_USED_F_NO_NOTIFY / packed DISABLE stop kicks,
 * flags 0 / ENABLE require every one (spec 2.7.10, 2.8.10). */
static void t_kick_flags(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_try(f, 8, 0, 0, 5), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(add_kick(f, i));
		assert_int_equal(f->kicks.count, i + 1);
		assert_int_equal(f->kicks.last_index, 5);
		assert_int_equal(f->kicks.last_data, 5);
		drain(f);
	}
	vdev_model_kick_mode(f->dev, VDEV_KICK_NEVER, 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_false(add_kick(f, i));
		drain(f);
	}
	assert_int_equal(f->kicks.count, 3);
	vdev_model_kick_mode(f->dev, VDEV_KICK_ALWAYS, 0);
	assert_true(add_kick(f, 0));
	assert_int_equal(f->kicks.count, 4);
	drain(f);
}

/* EVENT_IDX: the device asks for a kick when entry / descriptor X is made
 * available; the driver kicks exactly once, when it passes X
 * (vring_need_event). */
static void kick_at_run(struct fx *f)
{
	vdev_model_kick_mode(f->dev, VDEV_KICK_AT, 3);
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(add_kick(f, i), i == 3);
		assert_int_equal(f->kicks.count, i >= 3 ? 1u : 0u);
	}
	drain(f);
	vdev_model_kick_mode(f->dev, VDEV_KICK_AT, 0);
	assert_true(add_kick(f, 0));
	assert_int_equal(f->kicks.count, 2);
	assert_false(add_kick(f, 1));
	assert_int_equal(f->kicks.count, 2);
	drain(f);
}

static void t_kick_event_idx_at(void **state)
{
	struct fx *f = *state;

	fx_open(f, 16, F_EVENT_IDX, 0);
	kick_at_run(f);
	fx_model_ok(f);
}

/* A batch that crosses X kicks once; batches before and after do not. */
static void t_kick_event_idx_batch(void **state)
{
	struct fx *f = *state;

	fx_open(f, 16, F_EVENT_IDX, 0);
	vdev_model_kick_mode(f->dev, VDEV_KICK_AT, 3);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(add1(f, &scratch[i], 8, true, &scratch[i]), 0);
	assert_false(uvio_vq_kick(f->vq));
	for (unsigned i = 2; i < 5; i++)
		assert_int_equal(add1(f, &scratch[i], 8, true, &scratch[i]), 0);
	assert_true(uvio_vq_kick(f->vq));
	assert_false(add_kick(f, 5));
	assert_int_equal(f->kicks.count, 1);
	drain(f);
}

/* The same across the 16-bit index wrap (split) and the wrap counter
 * (packed: the event offset lies in the next lap of the ring). */
static void t_kick_event_idx_wrap(void **state)
{
	struct fx *f = *state;

	fx_open(f, 8, F_EVENT_IDX, 0);
	for (unsigned i = 0; i < 65534; i++)
		round_trip1(f);
	f->kicks.count = 0;
	kick_at_run(f);
	fx_model_ok(f);
}

/* One batch of 4 that crosses the end of the ring (packed: positions 6, 7,
 * 0, 1 with a wrap counter flip; split: avail idx 65534..1 the first
 * time): a kick exactly when the event lies inside the batch. */
static void t_kick_event_idx_batch_wrap(void **state)
{
	struct fx *f = *state;

	fx_open(f, 8, F_EVENT_IDX, 0);
	for (unsigned i = 0; i < 65534; i++)
		round_trip1(f);
	for (unsigned ahead = 0; ahead < 7; ahead++) {
		unsigned before = f->kicks.count;

		vdev_model_kick_mode(f->dev, VDEV_KICK_AT, ahead);
		for (unsigned i = 0; i < 4; i++)
			assert_int_equal(add1(f, &scratch[i], 8, true, &scratch[i]), 0);
		assert_int_equal(uvio_vq_kick(f->vq), ahead < 4);
		assert_int_equal(f->kicks.count, before + (ahead < 4));
		drain(f);
		vdev_model_kick_mode(f->dev, VDEV_KICK_ALWAYS, 0);
		for (unsigned i = 0; i < 4; i++)   /* back to position 6 */
			round_trip1(f);
	}
}

static void t_kick_event_idx_never(void **state)
{
	struct fx *f = *state;

	fx_open(f, 8, F_EVENT_IDX, 0);
	vdev_model_kick_mode(f->dev, VDEV_KICK_NEVER, 0);
	for (unsigned i = 0; i < 20; i++) {
		assert_false(add_kick(f, i));
		drain(f);
	}
	assert_int_equal(f->kicks.count, 0);
	vdev_model_kick_mode(f->dev, VDEV_KICK_ALWAYS, 0);
	assert_true(add_kick(f, 0));
	assert_int_equal(f->kicks.count, 1);
	drain(f);
}

/* ---- notification data ---- */

static void t_notify_data_plain(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_try(f, 8, 0, 0, 7), 0);
	assert_true(add_kick(f, 0));
	assert_int_equal(f->kicks.last_index, 7);
	assert_int_equal(f->kicks.last_data, 7);
	assert_int_equal(uvio_vq_notification_data(f->vq), 7);
	drain(f);
}

/* Spec 2.9: split: vqn | next_off (15 low bits of avail idx) << 16 |
 * next_wrap (bit 15 of avail idx) << 31, i.e. vqn | avail idx << 16. */
static void t_notify_data_split(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fx_try(f, 8, F_NOTIF_DATA, 0, 3), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(add1(f, &scratch[i], 8, true, &scratch[i]), 0);
	assert_true(add_kick(f, 4));
	assert_int_equal(f->kicks.last_data, 3u | 5u << 16);
	assert_int_equal(uvio_vq_notification_data(f->vq), 3u | 5u << 16);
	drain(f);
	for (unsigned i = 5; i < 0x8001; i++)
		round_trip1(f);
	assert_int_equal(uvio_vq_notification_data(f->vq), 3u | 0x8001u << 16);
	assert_true(add_kick(f, 0));
	assert_int_equal(f->kicks.last_data, 3u | 0x8002u << 16);
	assert_int_equal(f->kicks.last_index, 3);
	drain(f);
}

/* Spec 2.9: packed: vqn | next_off << 16 | driver wrap counter << 31. */
static void t_notify_data_packed(void **state)
{
	struct fx *f = *state;
	struct tbuf t;

	assert_int_equal(fx_try(f, 8, F_NOTIF_DATA, 0, 3), 0);
	assert_int_equal(uvio_vq_notification_data(f->vq), 3u | 0u << 16 | 1u << 31);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(add1(f, &scratch[i], 8, true, &scratch[i]), 0);
	assert_true(add_kick(f, 2));
	assert_int_equal(f->kicks.last_data, 3u | 3u << 16 | 1u << 31);
	drain(f);
	/* two 3-descriptor chains: positions 3..8 -> next_off 1, wrap 0 */
	tbuf_make(&t, 1, 2, 8, 1);
	assert_int_equal(tbuf_add(f, &t, &t), 0);
	assert_int_equal(tbuf_add(f, &t, &t.sg[0]), 0);
	assert_true(uvio_vq_kick(f->vq));
	assert_int_equal(f->kicks.last_data, 3u | 1u << 16 | 0u << 31);
	assert_int_equal(uvio_vq_notification_data(f->vq), 3u | 1u << 16);
	drain(f);
	tbuf_free(&t);
}

/* ---- used buffer notifications ---- */

/* Post, kick, let the device use it (without the driver reaping): did the
 * device have to interrupt? */
static bool use_one(struct fx *f, unsigned i)
{
	struct vdev_buf *b;

	add_kick(f, i);
	assert_int_equal(vdev_model_pop(f->dev, &b), 1);
	return vdev_model_push(f->dev, b, 8);
}

static const uint64_t cb_features[] = { 0, F_EVENT_IDX };

/* "Callbacks start disabled: uvio polls" (vring.h). */
static void t_cb_initially_disabled(void **state)
{
	struct fx *f = *state;

	for (unsigned k = 0; k < 2; k++) {
		fx_open(f, 8, cb_features[k], 0);
		for (unsigned i = 0; i < 5; i++) {
			assert_false(use_one(f, i));
			if (i % 2)
				drain(f);
		}
		drain(f);
		assert_int_equal(vdev_model_irqs(f->dev), 0);
	}
}

static void t_cb_enable_disable(void **state)
{
	struct fx *f = *state;

	for (unsigned k = 0; k < 2; k++) {
		fx_open(f, 8, cb_features[k], 0);
		round_trip1(f);
		assert_true(uvio_vq_enable_cb(f->vq));
		assert_true(use_one(f, 0));
		drain(f);
		uvio_vq_disable_cb(f->vq);
		assert_false(use_one(f, 1));
		drain(f);
		assert_true(uvio_vq_enable_cb(f->vq));
		assert_true(use_one(f, 2));
		drain(f);
		uvio_vq_disable_cb(f->vq);
		assert_int_equal(vdev_model_irqs(f->dev), 2);
	}
}

/* Split with EVENT_IDX: used_event asks for the next used buffer only, so
 * a second one before the driver reaps needs no interrupt (2.7.7). Without
 * EVENT_IDX, flags 0 asks for every one. (Packed may use ENABLE or DESC.) */
static void t_cb_next_buffer(void **state)
{
	struct fx *f = *state;

	for (unsigned k = 0; k < 2; k++) {
		fx_open(f, 8, cb_features[k], 0);
		assert_true(uvio_vq_enable_cb(f->vq));
		assert_true(use_one(f, 0));
		if (!cb_features[k])
			assert_true(use_one(f, 1));
		else if (!f->packed)
			assert_false(use_one(f, 1));
		drain(f);
	}
}

/* enable_cb() returns false when buffers were used meanwhile (spec 2.7.14
 * note: re-check after enabling). */
static void t_enable_cb_pending(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u;
	struct vdev_buf *b;

	for (unsigned k = 0; k < 2; k++) {
		fx_open(f, 8, cb_features[k], 0);
		add_kick(f, 0);
		add_kick(f, 1);
		dev_pop_n(f, 2);
		b = vdev_model_pending_at(f->dev, 0);
		vdev_model_push(f->dev, b, 8);
		assert_false(uvio_vq_enable_cb(f->vq));
		assert_false(uvio_vq_enable_cb(f->vq));
		drv_get_n(f, &u, 1);
		assert_true(uvio_vq_enable_cb(f->vq));
		assert_true(vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 8));
		drv_get_n(f, &u, 1);
		uvio_vq_disable_cb(f->vq);
	}
}

/* disable_cb() after much traffic (indices far from 0) still disables. */
static void t_cb_disable_after_traffic(void **state)
{
	struct fx *f = *state;

	for (unsigned k = 0; k < 2; k++) {
		fx_open(f, 8, cb_features[k], 0);
		assert_true(uvio_vq_enable_cb(f->vq));
		for (unsigned i = 0; i < 1000; i++)
			round_trip1(f);
		uvio_vq_disable_cb(f->vq);
		for (unsigned i = 0; i < 10; i++) {
			assert_false(use_one(f, i));
			drain(f);
		}
		assert_true(uvio_vq_enable_cb(f->vq));
		assert_true(use_one(f, 0));
		drain(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQ_BOTH(t_kick_flags),
		VQ_BOTH(t_kick_event_idx_at),
		VQ_BOTH(t_kick_event_idx_batch),
		VQ_BOTH(t_kick_event_idx_wrap),
		VQ_BOTH(t_kick_event_idx_batch_wrap),
		VQ_BOTH(t_kick_event_idx_never),
		VQ_BOTH(t_notify_data_plain),
		VQ_SPLIT(t_notify_data_split),
		VQ_PACKED(t_notify_data_packed),
		VQ_BOTH(t_cb_initially_disabled),
		VQ_BOTH(t_cb_enable_disable),
		VQ_BOTH(t_cb_next_buffer),
		VQ_BOTH(t_enable_cb_pending),
		VQ_BOTH(t_cb_disable_after_traffic),
	};

	return cmocka_run_group_tests_name("vring_notify", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* uvio-vmtest --ring-reset (ringreset.c): reset queue 1 of a 2-queue
 * virtio-net or virtio-blk device while queue 0 carries traffic. */
#ifndef UVIO_VMTEST_RINGRESET_H
#define UVIO_VMTEST_RINGRESET_H

/* 0 when every check passed, 1 otherwise; prints CHECK lines. */
int vmtest_ring_reset(const char *bdf);

#endif

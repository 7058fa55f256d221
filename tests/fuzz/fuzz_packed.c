/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the packed virtqueue (spec 2.8) against a device that
 * writes fuzz-chosen descriptor flags (AVAIL/USED/WRITE, wrap bits), buffer
 * ids and lengths, and its event suppression structure, between the
 * driver's verbs. See fuzz_vring.h for the operations and the invariants.
 */
#include "fuzz_vring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fv_run(data, size, true);
}

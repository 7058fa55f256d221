/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the split virtqueue (spec 2.7) against a device that writes
 * fuzz-chosen used entries, used idx, used flags and avail_event between
 * the driver's add / kick / get_used / enable_cb / disable_cb. See
 * fuzz_vring.h for the operations and the invariants.
 */
#include "fuzz_vring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fv_run(data, size, false);
}

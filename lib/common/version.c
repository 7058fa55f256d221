/* SPDX-License-Identifier: MIT */
#include <uvio/version.h>

const char *uvio_version(void)
{
	return UVIO_VERSION;
}

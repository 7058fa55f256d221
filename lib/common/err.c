/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uvio/err.h>

int uvio_err_set(struct uvio_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void uvio_err_clear(struct uvio_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * uvio error reports.
 *
 * Every uvio call that can fail returns a negative errno. Calls that create
 * an object also take an optional `struct uvio_err *`: on failure it holds one
 * line for a human that says what went wrong and what to do about it.
 * Objects that outlive a failing call (a device, a queue) keep their own last
 * message; see their headers.
 */
#ifndef UVIO_ERR_H
#define UVIO_ERR_H

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define UVIO_ERR_MSG_MAX 256

struct uvio_err {
	int code;                      /* negative errno, 0 = no error */
	char msg[UVIO_ERR_MSG_MAX];    /* one line, no trailing newline */
};

/* Record an error in `err` (which may be NULL) and return `code` (< 0). */
int uvio_err_set(struct uvio_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear `err` (may be NULL). */
void uvio_err_clear(struct uvio_err *err);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif

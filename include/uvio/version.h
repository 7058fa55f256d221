/* SPDX-License-Identifier: MIT */
/*
 * uvio's version. UVIO_VERSION is the release this header came with; the
 * Makefile reads it from here, so it is the one place the number is kept.
 * uvio_version() is the release of the library actually loaded, which may
 * differ from the header's when a program runs against a newer libuvio.so.
 */
#ifndef UVIO_VERSION_H
#define UVIO_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define UVIO_VERSION_MAJOR 0
#define UVIO_VERSION_MINOR 2
#define UVIO_VERSION_PATCH 0
#define UVIO_VERSION "0.2.0"

/* "MAJOR.MINOR.PATCH" of the library. Thread safety: any thread. */
const char *uvio_version(void);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif

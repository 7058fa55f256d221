// SPDX-License-Identifier: MIT
// cxx_link: a C++ program includes every uvio header and links against
// libuvio, which works only because the headers declare C linkage. It
// prints the library's version and checks a few calls that need no
// device. Exit status: 0 all good, 1 a call misbehaved.
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <uvio/uvio.h>

// A well-formed device name passes uvio_spec_check() and a malformed one
// is refused with one line, as uvio_open() would refuse it.
static bool spec_checks()
{
	uvio_err err = {};

	if (uvio_spec_check("vhost-user:/tmp/cxx_link.sock,server", &err) != 0) {
		std::fprintf(stderr, "cxx_link: a good name was refused: %s\n", err.msg);
		return false;
	}
	if (uvio_spec_check("nonsense:0", &err) >= 0 || !err.msg[0]) {
		std::fprintf(stderr, "cxx_link: a malformed name passed\n");
		return false;
	}
	std::printf("cxx_link: uvio_spec_check(\"nonsense:0\"): %s\n", err.msg);
	return true;
}

// Memory that is not DMA memory has no device address.
static bool iova_of_stack()
{
	int local = 0;

	if (uvio_dma_iova(&local) != UINT64_MAX) {
		std::fprintf(stderr, "cxx_link: a stack address has a device address\n");
		return false;
	}
	return true;
}

int main()
{
	const char *v = uvio_version();

	std::printf("cxx_link: uvio_version() %s, UVIO_VERSION %s\n", v, UVIO_VERSION);
	if (std::strcmp(v, UVIO_VERSION) != 0) {
		std::fprintf(stderr, "cxx_link: the library loaded is %s, the header %s\n",
			     v, UVIO_VERSION);
		return 1;
	}
	return spec_checks() && iova_of_stack() ? 0 : 1;
}

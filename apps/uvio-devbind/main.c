/* SPDX-License-Identifier: MIT */
/*
 * uvio-devbind: show virtio-pci devices, hand them to vfio-pci or
 * uio_pci_generic and back, and reserve hugepages (dpdk-devbind.py and
 * dpdk-hugepages.py in one tool). The program is options.c's devbind_run(),
 * so the unit test can run all of it but main().
 */
#include "devbind.h"

int main(int argc, char **argv)
{
	return devbind_run(argc, argv);
}

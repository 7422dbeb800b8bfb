/*
 * fuzz_proto.c: libFuzzer target for every StratusFS wire decoder: the frame
 * header, every op's request and reply payload, and the bulk records
 * (directory entries, OST list, destroy list).  The first two input bytes
 * pick the op and direction; the rest is the hostile input.  A decoded
 * message must also encode again (what we accept, we can say).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sfs_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union sfs_msg m;
	static uint8_t out[SFS_MAX_PAYLOAD];
	if (size < 2)
		return 0;
	uint16_t op = data[0];
	bool reply = data[1] & 1;
	data += 2;
	size -= 2;
	if (size >= SFS_HDR_LEN) {
		struct sfs_hdr h;
		sfs_hdr_decode(data, &h);
	}
	if (sfs_op_info(op) && sfs_decode(op, reply, data, size, &m) == 0) {
		int n = sfs_encode(op, reply, &m, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, data, size))
			abort(); /* a decoded message must encode to the same bytes */
	}
	size_t pos = 0;
	struct sfs_dirent d;
	while (pos < size && sfs_dirent_decode(&d, reply, data, size, &pos) == 0)
		;
	pos = 0;
	struct sfs_ostinfo o;
	while (pos < size && sfs_ostinfo_decode(&o, data, size, &pos) == 0)
		;
	pos = 0;
	struct sfs_destroy_item x;
	while (pos < size && sfs_destroy_decode(&x, data, size, &pos) == 0)
		;
	return 0;
}

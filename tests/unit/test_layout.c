/*
 * test_layout.c: unit tests of RAID-0 layout arithmetic: file offset to
 * (stripe, object offset) and back, object sizes for a file size, and the
 * cutting of a range into per-object extents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libsfs/sfs_layout.h"

static struct sfs_layout mk(uint32_t count, uint32_t size)
{
	struct sfs_layout l;
	memset(&l, 0, sizeof(l));
	l.count = count;
	l.stripe_size = size;
	for (uint32_t i = 0; i < count; i++)
		l.stripes[i] = (struct sfs_stripe){ i, 100 + i };
	return l;
}

static void test_map_examples(void **state)
{
	struct sfs_layout l = mk(3, 1 << 20);
	uint32_t s;
	uint64_t o;
	sfs_layout_map(&l, 0, &s, &o);
	assert_int_equal(s, 0);
	assert_int_equal(o, 0);
	sfs_layout_map(&l, (1 << 20) + 5, &s, &o);
	assert_int_equal(s, 1);
	assert_int_equal(o, 5);
	sfs_layout_map(&l, 3 * (1 << 20) + 7, &s, &o);
	assert_int_equal(s, 0);
	assert_int_equal(o, (1 << 20) + 7);
	/* > 4 GiB offsets */
	sfs_layout_map(&l, 5ULL << 30, &s, &o);
	assert_int_equal(s, (5 * 1024) % 3);
	assert_int_equal(o, ((5ULL * 1024) / 3) << 20);
}

static void test_map_unmap_inverse(void **state)
{
	srand(1);
	for (int t = 0; t < 200; t++) {
		uint32_t count = 1 + (uint32_t)rand() % SFS_MAX_STRIPES;
		uint32_t size = (1 + (uint32_t)rand() % 64) * SFS_MIN_STRIPE_SIZE;
		struct sfs_layout l = mk(count, size);
		for (int k = 0; k < 200; k++) {
			uint64_t off = ((uint64_t)rand() << 20) ^ (uint64_t)rand();
			uint32_t s;
			uint64_t o;
			sfs_layout_map(&l, off, &s, &o);
			assert_true(s < count);
			assert_int_equal(sfs_layout_unmap(&l, s, o), off);
		}
	}
}

static void test_obj_size(void **state)
{
	struct sfs_layout l = mk(3, 1 << 20);
	uint64_t M = 1 << 20;
	assert_int_equal(sfs_layout_obj_size(&l, 0, 0), 0);
	assert_int_equal(sfs_layout_obj_size(&l, 0, 10), 10);
	assert_int_equal(sfs_layout_obj_size(&l, 1, 10), 0);
	assert_int_equal(sfs_layout_obj_size(&l, 1, M + 10), 10);
	assert_int_equal(sfs_layout_obj_size(&l, 0, M + 10), M);
	assert_int_equal(sfs_layout_obj_size(&l, 2, 3 * M), M);
	assert_int_equal(sfs_layout_obj_size(&l, 0, 3 * M + 1), M + 1);
	assert_int_equal(sfs_layout_obj_size(&l, 2, 3 * M + 1), M);
	/* the object sizes add up to the file size, for any size */
	srand(2);
	for (int t = 0; t < 1000; t++) {
		uint32_t count = 1 + (uint32_t)rand() % 8;
		struct sfs_layout r = mk(count, (1 + (uint32_t)rand() % 4) * SFS_MIN_STRIPE_SIZE);
		uint64_t size = (uint64_t)rand() * 17;
		uint64_t sum = 0;
		for (uint32_t i = 0; i < count; i++)
			sum += sfs_layout_obj_size(&r, i, size);
		assert_int_equal(sum, size);
	}
}

static void test_extents(void **state)
{
	struct sfs_layout l = mk(3, 64 << 10);
	struct sfs_extent e[64];
	/* 1 MiB from offset 10: 17 pieces round-robin */
	int n = sfs_layout_extents(&l, 10, 1 << 20, e, 64);
	assert_int_equal(n, 17);
	uint64_t total = 0, pos = 10;
	for (int i = 0; i < n; i++) {
		assert_int_equal(e[i].file_off, pos);
		uint32_t s;
		uint64_t o;
		sfs_layout_map(&l, e[i].file_off, &s, &o);
		assert_int_equal(e[i].stripe, s);
		assert_int_equal(e[i].obj_off, o);
		pos += e[i].len;
		total += e[i].len;
	}
	assert_int_equal(total, 1 << 20);
	/* too many pieces for the array */
	assert_int_equal(sfs_layout_extents(&l, 0, 1 << 20, e, 4), -E2BIG);
	/* one stripe: always one extent */
	struct sfs_layout one = mk(1, 64 << 10);
	n = sfs_layout_extents(&one, 12345, 3 << 20, e, 64);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].len, 3 << 20);
	assert_int_equal(e[0].obj_off, 12345);
	/* empty range */
	assert_int_equal(sfs_layout_extents(&l, 5, 0, e, 64), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_examples),
		cmocka_unit_test(test_map_unmap_inverse),
		cmocka_unit_test(test_obj_size),
		cmocka_unit_test(test_extents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_lcache.c: unit tests of the client's lease cache (libsfs/sfs_lcache.h):
 * answers only while the covering lease holds, at the same connection
 * generation; a recall forgets everything under that lease at once; a
 * lease recalled before its grant was seen is never taken; drops; how many
 * names stay found when the tables fill.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "libsfs/sfs_lcache.h"

static struct sfs_attr attr(uint64_t ino, uint32_t mode)
{
	struct sfs_attr a;
	memset(&a, 0, sizeof(a));
	a.ino = ino;
	a.mode = mode;
	a.nlink = 1;
	return a;
}

static void test_hit_while_held(void **state)
{
	struct sfs_attr a = attr(1001, 0100644), out;
	lc_lease_add(10, 7, 1);
	lc_put_entry(10, "f", &a, 7, 1, lc_epoch());
	assert_true(lc_get_entry(10, "f", 1, &out));
	assert_int_equal(out.ino, 1001);
	assert_int_equal(out.mode, 0100644);
	assert_true(lc_get_attr(1001, 1, &out));
	assert_false(lc_get_entry(10, "g", 1, &out));      /* another name */
	assert_false(lc_get_entry(11, "f", 1, &out));      /* another directory */
	assert_false(lc_get_entry(10, "f", 2, &out));      /* after a reconnect */
	assert_false(lc_get_attr(1001, 2, &out));
	assert_int_equal(lc_lease_dir(7, 1), 10);
	assert_int_equal(lc_lease_dir(7, 2), 0);
}

static void test_recall_forgets_all(void **state)
{
	struct sfs_attr out;
	lc_lease_add(20, 8, 1);
	for (uint64_t i = 0; i < 100; i++) {
		char n[16];
		snprintf(n, sizeof(n), "n%llu", (unsigned long long)i);
		struct sfs_attr a = attr(2000 + i, 0100600);
		lc_put_entry(20, n, &a, 8, 1, lc_epoch());
	}
	assert_true(lc_get_entry(20, "n42", 1, &out));
	lc_lease_forget(20, 8, 1);
	assert_false(lc_get_entry(20, "n42", 1, &out));
	assert_false(lc_get_attr(2042, 1, &out));
	/* The grant of a recalled lease arriving late is ignored. */
	lc_lease_add(20, 8, 1);
	struct sfs_attr a = attr(2042, 0100600);
	lc_put_entry(20, "n42", &a, 8, 1, lc_epoch());
	assert_false(lc_get_entry(20, "n42", 1, &out));
	/* After a reconnect (another generation) the same id may be granted. */
	lc_lease_add(20, 8, 2);
	lc_put_entry(20, "n42", &a, 8, 2, lc_epoch());
	assert_true(lc_get_entry(20, "n42", 2, &out));
	/* A new lease on the same directory works again. */
	lc_lease_add(20, 9, 1);
	lc_put_entry(20, "n42", &a, 9, 1, lc_epoch());
	assert_true(lc_get_entry(20, "n42", 1, &out));
}

static void test_not_held_not_stored(void **state)
{
	struct sfs_attr a = attr(3001, 0100644), out;
	lc_put_entry(30, "x", &a, 12, 1, lc_epoch()); /* lease 12 never granted */
	assert_false(lc_get_entry(30, "x", 1, &out));
	lc_lease_add(30, 13, 1);
	lc_put_attr(30, &a, 12, 1, lc_epoch());       /* attributes under another lease id */
	assert_false(lc_get_attr(3001, 1, &out));
	lc_put_attr(30, &a, 13, 1, lc_epoch());
	assert_true(lc_get_attr(3001, 1, &out));
}

static void test_drops(void **state)
{
	struct sfs_attr a = attr(4001, 0100644), b = attr(4002, 0100644), out;
	lc_lease_add(40, 14, 1);
	lc_put_entry(40, "a", &a, 14, 1, lc_epoch());
	lc_put_entry(40, "b", &b, 14, 1, lc_epoch());
	lc_drop_ino(4001);
	assert_false(lc_get_entry(40, "a", 1, &out));   /* the name needs its attributes */
	assert_true(lc_get_entry(40, "b", 1, &out));
	lc_drop_entry(40, "b");
	assert_false(lc_get_entry(40, "b", 1, &out));
	assert_false(lc_get_attr(4002, 1, &out));       /* and they go with it */
	/* An answer that was on its way while this client dropped the inode
	 * (it changed the size itself) is not kept. */
	uint64_t e = lc_epoch();
	lc_drop_ino(4002);
	lc_put_entry(40, "b", &b, 14, 1, e);
	assert_false(lc_get_entry(40, "b", 1, &out));
	lc_put_entry(40, "b", &b, 14, 1, lc_epoch());
	assert_true(lc_get_entry(40, "b", 1, &out));
}

/* Lease dir as (lease, gen), put n names PREFIXi (inode ino0 + i) under it,
 * and count how many are found again with the right inode. */
static int put_and_find(uint64_t dir, uint64_t lease, uint64_t gen, const char *prefix, uint64_t ino0, int n)
{
	struct sfs_attr out;
	char name[32];
	lc_lease_add(dir, lease, gen);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		struct sfs_attr a = attr(ino0 + (uint64_t)i, 0100644);
		lc_put_entry(dir, name, &a, lease, gen, lc_epoch());
	}
	int hits = 0;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, i);
		hits += lc_get_entry(dir, name, gen, &out) && out.ino == ino0 + (uint64_t)i;
	}
	return hits;
}

static void test_many_names_fit(void **state)
{
	/* A directory of 8,000 names (mdtest's) is nearly all kept. */
	int hits = put_and_find(50, 15, 3, "file.mdtest.", 100000, 8000);
	assert_true(hits >= 7600);
	uint64_t h, r;
	lc_stats(&h, &r);
	assert_true(h >= (uint64_t)hits);
	assert_true(r >= 1);
}

static void test_three_quarters_full(void **state)
{
	/* 24,000 names and inodes in tables of 32,768 each: a name is found
	 * only with its inode's attributes, and each may have been pushed out
	 * of its set.  Sets of 8 keep 21,864 here; sets of 4 kept 19,691. */
	int hits = put_and_find(60, 16, 4, "f", 500000, 24000);
	print_message("%d of 24000 names found\n", hits);
	assert_true(hits >= 21000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_while_held),
		cmocka_unit_test(test_recall_forgets_all),
		cmocka_unit_test(test_not_held_not_stored),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_many_names_fit),
		cmocka_unit_test(test_three_quarters_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_bench.c: unit tests of src/bench/bench_fmt.c and bench_opt.c.  The expected lines are
 * lines of real IOR 3.3 and mdtest 4 output, so a script that parses those
 * parses ours; the numbers are fed in as IOR computed them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_fmt.h"
#include "bench/bench_opt.h"

static void test_ior_row_matches_ior(void **state)
{
	struct buf b = BUF_INIT(4096);
	struct ior_row w = { "write", 678.06, 678.07, 0.118931, 16384, 1024, 0.770489, 3.78, 3.59, 3.78, 0 };
	assert_int_equal(ior_fmt_row(&b, &w), 0);
	assert_string_equal(b.data, "write     678.06     678.07     0.118931    16384      1024.00    0.770489   "
				    "3.78       3.59       3.78       0   \n");
	buf_reset(&b);
	struct ior_row r = { "read", 4233.46, 4234, 0.019146, 16384, 1024, 0.000035, 0.604695, 0.298354, 0.604706, 0 };
	ior_fmt_row(&b, &r);
	assert_string_equal(b.data, "read      4233       4234       0.019146    16384      1024.00    0.000035   "
				    "0.604695   0.298354   0.604706   0   \n");
	buf_reset(&b);
	ior_fmt_remove_row(&b, 3.20, 0);
	assert_string_equal(b.data, "remove    -          -          -           -          -          -          "
				    "-          -          3.20       0   \n");
	buf_release(&b);
}

static void test_ior_header_and_max(void **state)
{
	struct buf b = BUF_INIT(4096);
	ior_fmt_table_header(&b);
	assert_string_equal(b.data, "\naccess    bw(MiB/s)  IOPS       Latency(s)  block(KiB) xfer(KiB)  open(s)    "
				    "wr/rd(s)   close(s)   total(s)   iter\n------    ---------  ----       ----------  "
				    "---------- ---------  --------   --------   --------   --------   ----\n");
	buf_reset(&b);
	ior_fmt_max(&b, true, 678.06 * BENCH_MIB);
	ior_fmt_max(&b, false, 4233.463 * BENCH_MIB); /* IOR printed the rounded MiB figure */
	assert_string_equal(b.data, "Max Write: 678.06 MiB/sec (711.00 MB/sec)\n"
				    "Max Read:  4233.46 MiB/sec (4439.11 MB/sec)\n");
	buf_release(&b);
}

static void test_ior_summary_matches_ior(void **state)
{
	struct buf b = BUF_INIT(8192);
	ior_fmt_summary_header(&b);
	struct ior_summary s = {
		.operation = "write",
		.bw = { 678.06 * BENCH_MIB, 678.06 * BENCH_MIB, 678.06 * BENCH_MIB, 0 },
		.ops = { 678.06, 678.06, 678.06, 0 },
		.mean_time = 3.77548, .tasks = 10, .tasks_per_node = 10, .reps = 1, .task_offset = 1,
		.segments = 16, .block = 16777216, .xfer = 1048576, .agg_mib = 2560.0, .api = "POSIX",
	};
	ior_fmt_summary_row(&b, &s);
	assert_string_equal(b.data,
		"\nSummary of all tests:\n"
		"Operation   Max(MiB)   Min(MiB)  Mean(MiB)     StdDev   Max(OPs)   Min(OPs)  Mean(OPs)     StdDev    "
		"Mean(s) Stonewall(s) Stonewall(MiB) Test# #Tasks tPN reps fPP reord reordoff reordrand seed segcnt   "
		"blksiz    xsize aggs(MiB)   API RefNum\n"
		"write         678.06     678.06     678.06       0.00     678.06     678.06     678.06       0.00    "
		"3.77548         NA            NA     0     10  10    1   0     0        1         0    0     16 "
		"16777216  1048576    2560.0 POSIX      0\n");
	buf_release(&b);
}

static void test_sizes_as_ior_says_them(void **state)
{
	char s[32];
	bench_size_text(4096, s, sizeof(s));
	assert_string_equal(s, "4096 bytes");
	bench_size_text(1 << 20, s, sizeof(s));
	assert_string_equal(s, "1 MiB");
	bench_size_text(2560LL << 20, s, sizeof(s));
	assert_string_equal(s, "2.50 GiB");
	bench_size_text(16LL << 30, s, sizeof(s));
	assert_string_equal(s, "16 GiB");
}

static void test_stats(void **state)
{
	const double v[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	struct bench_stats s;
	bench_stats_ior(v, 8, &s);
	assert_true(s.max == 9 && s.min == 2 && s.mean == 5);
	assert_true(fabs(s.sd - 2.0) < 1e-12); /* population */
	bench_stats_mdtest(v, 8, &s);
	assert_true(fabs(s.sd - sqrt(32.0 / 7)) < 1e-12); /* sample */
	bench_stats_mdtest(v, 1, &s);
	assert_true(s.sd == 0);
}

static void test_pattern_detects_one_byte(void **state)
{
	uint64_t buf[512];
	size_t first = 99;
	ior_pattern_fill(buf, sizeof(buf), 3, 42, 0);
	assert_int_equal(ior_pattern_check(buf, sizeof(buf), 3, 42, 0, &first), 0);
	assert_int_equal(first, 99);
	/* another rank's data, or another seed, is wrong in every even word */
	assert_int_equal(ior_pattern_check(buf, sizeof(buf), 2, 42, 0, NULL), 256);
	assert_int_equal(ior_pattern_check(buf, sizeof(buf), 3, 43, 0, NULL), 256);
	/* data at another file offset (-l) is wrong in every odd word */
	assert_int_equal(ior_pattern_check(buf, sizeof(buf), 3, 42, 4096, NULL), 256);
	((unsigned char *)buf)[1001] ^= 0x01;
	assert_int_equal(ior_pattern_check(buf, sizeof(buf), 3, 42, 0, &first), 1);
	assert_int_equal(first, 1000);
}

static void test_mdtest_table_matches_mdtest(void **state)
{
	struct buf b = BUF_INIT(8192);
	mdtest_fmt_summary_header(&b, 10);
	struct bench_stats f = { 7147.432, 6789.531, 6996.044, 132.149 };
	mdtest_fmt_summary_row(&b, MDTEST_FILE_CREATE, &f, 10);
	struct bench_stats t = { 99.443, 95.475, 97.632, 1.266 };
	mdtest_fmt_summary_row(&b, MDTEST_TREE_REMOVE, &t, 10);
	assert_string_equal(b.data,
		"\nSUMMARY rate (in ops/sec): (of 10 iterations)\n"
		"   Operation                     Max            Min           Mean        Std Dev\n"
		"   ---------                     ---            ---           ----        -------\n"
		"   File creation                7147.432       6789.531       6996.044        132.149\n"
		"   Tree removal                   99.443         95.475         97.632          1.266\n");
	buf_release(&b);
	assert_string_equal(mdtest_op_name(MDTEST_DIR_STAT), "Directory stat");
	assert_string_equal(mdtest_op_name(MDTEST_FILE_READ), "File read");
}

static void test_option_values(void **state)
{
	char err[256];
	int64_t v = -7;
	assert_int_equal(bench_opt_int('i', "12", 1, 100, false, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 12);
	assert_int_equal(bench_opt_int('w', "4k", 0, 1LL << 30, true, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 4096);
	v = -7;
	assert_int_equal(bench_opt_int('i', "0", 1, 100, false, &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "option '-i' expects an integer from 1 to 100, not '0'");
	assert_int_equal(v, -7);
	assert_int_equal(bench_opt_int('i', "101", 1, 100, false, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(bench_opt_int('i', "4k", 1, 100000, false, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(bench_opt_int('i', "", 1, 100, false, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(bench_opt_int('e', "2g", 0, 1LL << 30, true, &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "option '-e' expects a size from 0 to 1073741824, not '2g'");
	assert_int_equal(v, -7);
	assert_int_equal(bench_opt_size('b', "32m", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 32 << 20);
	assert_int_equal(bench_opt_size('t', "lots", &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "option '-t' expects a size such as 4k, 32m or 4g, not 'lots'");
	/* A short buffer gets a cut message, never an overflow. */
	char small[8];
	assert_int_equal(bench_opt_size('t', "lots", &v, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "option ");
}

static void test_shared_options(void **state)
{
	struct bench_cli cli = { "stratus-ior", "IOR", "AcdD", "the test file is given with -o" };
	char err[256], *argv[] = { "stratus-ior", "-w", "stray", NULL };
	assert_int_equal(bench_opt_common(&cli, 'J', NULL, 0, "--json", err, sizeof(err)), BENCH_OPT_TAKEN);
	assert_true(cli.json);
	assert_null(cli.json_path);
	assert_int_equal(bench_opt_json_check(&cli, err, sizeof(err)), 0);
	assert_int_equal(bench_opt_common(&cli, 'J', "out.json", 0, "--json=out.json", err, sizeof(err)), BENCH_OPT_TAKEN);
	assert_string_equal(cli.json_path, "out.json");
	assert_int_equal(bench_opt_json_check(&cli, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "give either --json or --json=FILE, not both");
	assert_int_equal(bench_opt_common(&cli, 'h', NULL, 0, "-h", err, sizeof(err)), BENCH_OPT_HELP);
	assert_int_equal(bench_opt_common(&cli, ':', NULL, 'b', "-b", err, sizeof(err)), BENCH_OPT_BAD);
	assert_string_equal(err, "option '-b' needs a value; see 'stratus-ior -h'");
	assert_int_equal(bench_opt_common(&cli, '?', NULL, 'D', "-D", err, sizeof(err)), BENCH_OPT_BAD);
	assert_string_equal(err, "IOR's option '-D' is not supported by stratus-ior; see 'stratus-ior -h'");
	assert_int_equal(bench_opt_common(&cli, '?', NULL, 'q', "-q", err, sizeof(err)), BENCH_OPT_BAD);
	assert_string_equal(err, "unknown option '-q'; see 'stratus-ior -h'");
	assert_int_equal(bench_opt_common(&cli, '?', NULL, 0, "--nope", err, sizeof(err)), BENCH_OPT_BAD);
	assert_string_equal(err, "unknown option '--nope'; see 'stratus-ior -h'");
	assert_int_equal(bench_opt_no_operand(&cli, 3, argv, 3, err, sizeof(err)), 0);
	assert_int_equal(bench_opt_no_operand(&cli, 3, argv, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unexpected argument 'stray'; the test file is given with -o");
}

static void test_flags(void **state)
{
	bool a = false, b = false;
	const struct bench_flag tbl[] = { { 'a', &a }, { 'B', &b }, { 0, NULL } };
	assert_true(bench_opt_flag(tbl, 'B'));
	assert_false(a);
	assert_true(b);
	assert_false(bench_opt_flag(tbl, 'b'));
	assert_false(bench_opt_flag(tbl, 0));
	assert_false(bench_opt_flag(tbl, '?'));
	assert_true(bench_opt_flag(tbl, 'a'));
	assert_true(a);
}

static void test_long_options(void **state)
{
	/* The shared long options, as getopt_long reads them. */
	static const struct option longopts[] = { BENCH_LONG_OPTIONS };
	struct bench_cli cli = { "stratus-mdtest", "mdtest", "aAb", "the test directory is given with -d" };
	char err[256], *argv[] = { "stratus-mdtest", "--json=r.json", "-C", NULL };
	int c, got_c = 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(3, argv, ":Ch", longopts, NULL)) != -1) {
		if (c == 'C')
			got_c = 1;
		else
			assert_int_equal(bench_opt_common(&cli, c, optarg, optopt, argv[optind - 1], err, sizeof(err)),
					 BENCH_OPT_TAKEN);
	}
	assert_int_equal(got_c, 1);
	assert_false(cli.json);
	assert_string_equal(cli.json_path, "r.json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ior_row_matches_ior),
		cmocka_unit_test(test_option_values),
		cmocka_unit_test(test_shared_options),
		cmocka_unit_test(test_long_options),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_ior_header_and_max),
		cmocka_unit_test(test_ior_summary_matches_ior),
		cmocka_unit_test(test_sizes_as_ior_says_them),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_pattern_detects_one_byte),
		cmocka_unit_test(test_mdtest_table_matches_mdtest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

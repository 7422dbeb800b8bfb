/*
 * test_filter.c: unit tests of the filter language (src/lang/filter.c):
 * every operator, precedence, case-insensitive attribute names, missing
 * attributes, type mixing, error columns and the caret line, limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/filter.h"

static json_t *node;

static int setup(void **state)
{
	node = json_pack("{sssssssssisbsfss s{ss}}",
	                 "Name", "demo-execute-1", "Template", "execute", "State", "Ready",
	                 "TargetState", "Started", "MaxCount", 4, "Spot", 0, "Load", 0.75,
	                 "PrivateIp", "10.77.0.11",
	                 "Configuration", "slurm.role", "execute");
	return node ? 0 : -1;
}

static int teardown(void **state)
{
	json_decref(node);
	return 0;
}

/* Parse EXPR (must succeed) and match it against the test node. */
static bool m(const char *expr)
{
	struct filter *f = NULL;
	char *err = NULL;
	int rc = filter_parse(expr, &f, &err);
	if (rc != 0)
		fail_msg("filter '%s' did not parse: %s", expr, err ? err : "?");
	bool r = filter_match_json(f, node);
	filter_free(f);
	return r;
}

/* Parse EXPR (must fail with rc) and return the error (caller frees). */
static char *bad(const char *expr, int want_rc, int want_col)
{
	struct filter *f = NULL;
	char *err = NULL;
	int col = -1;
	int rc = filter_parse_col(expr, &f, &err, &col);
	if (rc != want_rc)
		fail_msg("filter '%s': rc %d, wanted %d (%s)", expr, rc, want_rc, err ? err : "");
	assert_null(f);
	assert_non_null(err);
	if (want_col >= 0 && col != want_col)
		fail_msg("filter '%s': column %d, wanted %d (%s)", expr, col, want_col, err);
	return err;
}

static void test_comparisons(void **state)
{
	assert_true(m("Template == \"execute\""));
	assert_false(m("Template == \"Execute\""));   /* values keep their case */
	assert_true(m("template==\"execute\""));      /* names do not */
	assert_true(m("TEMPLATE != \"scheduler\""));
	assert_false(m("State != \"Ready\""));
	assert_true(m("MaxCount == 4"));
	assert_true(m("MaxCount >= 4"));
	assert_true(m("MaxCount <= 4"));
	assert_false(m("MaxCount < 4"));
	assert_false(m("MaxCount > 4"));
	assert_true(m("MaxCount > 3"));
	assert_true(m("MaxCount < 4.5"));
	assert_true(m("Load > 0.5"));
	assert_true(m("Load == .75"));
	assert_true(m("-1 < MaxCount"));
	assert_true(m("Name < \"demo-execute-2\""));   /* strings by bytes */
	assert_true(m("Name >= \"demo\""));
	assert_true(m("MaxCount == \"4\""));           /* numeric text against a number */
	assert_false(m("MaxCount == \"four\""));
	assert_true(m("MaxCount != \"four\""));
	assert_true(m("Spot == false"));
	assert_true(m("Spot != true"));
	assert_false(m("Spot < true"));               /* booleans do not order */
	assert_true(m("Configuration.slurm.role == \"execute\""));
	assert_true(m("configuration.SLURM.ROLE == \"execute\""));
}

static void test_missing_attribute(void **state)
{
	assert_false(m("Nope == \"x\""));
	assert_true(m("Nope != \"x\""));
	assert_false(m("Nope < 3"));
	assert_false(m("Nope >= 3"));
	assert_false(m("Nope in {\"a\"}"));
	assert_false(m("Nope"));
	assert_true(m("!Nope"));
}

static void test_logic_and_precedence(void **state)
{
	assert_true(m("Template == \"execute\" && State == \"Ready\""));
	assert_false(m("Template == \"execute\" && State != \"Ready\""));
	assert_true(m("Template == \"x\" || State == \"Ready\""));
	/* && binds tighter than ||: true || (false && false) */
	assert_true(m("State == \"Ready\" || Template == \"x\" && Name == \"y\""));
	/* (true || false) && false */
	assert_false(m("(State == \"Ready\" || Template == \"x\") && Name == \"y\""));
	/* ! binds tighter than && and || */
	assert_false(m("!State == \"Ready\" && true"));
	assert_true(m("!(State != \"Ready\")"));
	assert_true(m("!!true"));
	assert_false(m("!true || false"));
	assert_true(m("true && !false"));
	assert_true(m("((((MaxCount == 4))))"));
	assert_true(m("MaxCount"));
	assert_false(m("Spot"));
	assert_true(m("Name"));
}

static void test_in(void **state)
{
	assert_true(m("Name in {\"demo-execute-1\", \"demo-execute-2\"}"));
	assert_false(m("Name in {\"demo-execute-3\"}"));
	assert_false(m("Name in {}"));
	assert_true(m("MaxCount in {1, 2, 4}"));
	assert_true(m("State != \"Ready\" || Name in {\"a\",\"demo-execute-1\"}"));
	assert_true(m("!(Name in {\"a\", \"b\"})"));
	assert_true(m("Name IN {Template, Name}"));
}

static void test_strings(void **state)
{
	json_t *o = json_pack("{ss}", "Label", "say \"hi\"\\now");
	struct filter *f;
	char *err;
	assert_int_equal(filter_parse("Label == \"say \\\"hi\\\"\\\\now\"", &f, &err), 0);
	assert_true(filter_match_json(f, o));
	filter_free(f);
	json_decref(o);
}

static void test_eval_and_names(void **state)
{
	struct filter *f;
	char *err;
	json_t *v;
	assert_int_equal(filter_parse("MaxCount", &f, &err), 0);
	assert_int_equal(filter_eval(f, node, &v), 0);
	assert_true(json_is_integer(v));
	assert_int_equal(json_integer_value(v), 4);
	json_decref(v);
	filter_free(f);

	assert_int_equal(filter_parse("Nope", &f, &err), 0);
	assert_int_equal(filter_eval(f, node, &v), 0);
	assert_null(v);
	filter_free(f);

	assert_int_equal(filter_parse("State == \"Ready\" && (name in {\"a\"} || STATE != \"x\")",
	                              &f, &err), 0);
	assert_int_equal(filter_eval(f, node, &v), 0);
	assert_true(json_is_true(v));
	json_decref(v);
	assert_string_equal(filter_name(f, 0), "State");
	assert_string_equal(filter_name(f, 1), "name");
	assert_null(filter_name(f, 2));   /* STATE is State again */
	filter_free(f);

	/* not an object: no attributes */
	assert_int_equal(filter_parse("Name != \"x\"", &f, &err), 0);
	assert_true(filter_match_json(f, NULL));
	json_t *arr = json_array();
	assert_true(filter_match_json(f, arr));
	json_decref(arr);
	filter_free(f);
}

static void test_error_columns(void **state)
{
	char *e;
	e = bad("State == && x", -EINVAL, 10);
	assert_string_equal(e, "column 10: expected a value after '==', not '&&'\n"
	                       "  State == && x\n"
	                       "           ^");
	free(e);
	e = bad("", -EINVAL, 1);
	assert_non_null(strstr(e, "expected an expression"));
	free(e);
	e = bad("State = \"Ready\"", -EINVAL, 7);
	assert_non_null(strstr(e, "write '=='"));
	free(e);
	e = bad("a & b", -EINVAL, 3);
	assert_non_null(strstr(e, "'&&'"));
	free(e);
	e = bad("a | b", -EINVAL, 3);
	free(e);
	e = bad("(State == \"x\"", -EINVAL, 14);
	assert_non_null(strstr(e, "expected ')' to close the '(' at column 1"));
	free(e);
	e = bad("State == \"x\")", -EINVAL, 13);
	assert_non_null(strstr(e, "no '(' to close"));
	free(e);
	e = bad("State == \"Ready", -EINVAL, 10);
	assert_non_null(strstr(e, "unterminated string"));
	free(e);
	e = bad("Name == 'x'", -EINVAL, 9);
	assert_non_null(strstr(e, "double quotes"));
	free(e);
	e = bad("Name in \"a\"", -EINVAL, 9);
	assert_non_null(strstr(e, "expected '{' after 'in'"));
	free(e);
	e = bad("Name in {\"a\" \"b\"}", -EINVAL, 14);
	assert_non_null(strstr(e, "expected ',' or '}'"));
	free(e);
	e = bad("Name in {\"a\",}", -EINVAL, 14);
	assert_non_null(strstr(e, "expected a value after ','"));
	free(e);
	e = bad("a == b == c", -EINVAL, 8);
	assert_non_null(strstr(e, "after a comparison"));
	free(e);
	e = bad("State \"Ready\"", -EINVAL, 7);
	assert_non_null(strstr(e, "expected '&&', '||' or the end"));
	free(e);
	e = bad("x == \"a\\q\"", -EINVAL, 8);
	assert_non_null(strstr(e, "unknown escape"));
	free(e);
	e = bad("x == 12abc", -EINVAL, 8);
	free(e);
	e = bad("x == 99999999999999999999", -EINVAL, 6);
	assert_non_null(strstr(e, "out of range"));
	free(e);
	e = bad("x # y", -EINVAL, 3);
	free(e);
	e = bad("!", -EINVAL, 2);
	assert_non_null(strstr(e, "expected a value after '!'"));
	free(e);
	e = bad("a &&", -EINVAL, 5);
	assert_non_null(strstr(e, "after '&&', not the end"));
	free(e);
	e = bad("()", -EINVAL, 2);
	assert_non_null(strstr(e, "after '('"));
	free(e);
	e = bad("x == \"\xff\"", -EINVAL, 6);
	assert_non_null(strstr(e, "UTF-8"));
	free(e);
}

static void test_limits(void **state)
{
	char big[FILTER_MAX_LEN + 10];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	char *e = bad(big, -E2BIG, 0);
	free(e);

	/* deep nesting: refused, not a stack overflow */
	char deep[2 * FILTER_MAX_DEPTH + 20];
	size_t n = 0;
	for (int i = 0; i < FILTER_MAX_DEPTH + 2; i++)
		deep[n++] = '(';
	deep[n++] = 'a';
	for (int i = 0; i < FILTER_MAX_DEPTH + 2; i++)
		deep[n++] = ')';
	deep[n] = 0;
	e = bad(deep, -E2BIG, FILTER_MAX_DEPTH + 1);
	free(e);
	memset(deep, '!', FILTER_MAX_DEPTH + 5);
	deep[FILTER_MAX_DEPTH + 5] = 'a';
	deep[FILTER_MAX_DEPTH + 6] = 0;
	e = bad(deep, -E2BIG, -1);
	free(e);

	/* within the length limit but too many terms */
	char many[FILTER_MAX_LEN];
	n = 0;
	while (n + 5 < sizeof(many)) {
		memcpy(many + n, "a||", 3);
		n += 3;
	}
	many[n++] = 'a';
	many[n] = 0;
	e = bad(many, -E2BIG, -1);
	free(e);

	/* exactly at the depth limit: fine */
	n = 0;
	for (int i = 0; i < FILTER_MAX_DEPTH; i++)
		deep[n++] = '(';
	deep[n++] = '1';
	for (int i = 0; i < FILTER_MAX_DEPTH; i++)
		deep[n++] = ')';
	deep[n] = 0;
	assert_true(m(deep));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_missing_attribute),
		cmocka_unit_test(test_logic_and_precedence),
		cmocka_unit_test(test_in),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_eval_and_names),
		cmocka_unit_test(test_error_columns),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_state.c: unit tests of the node state machine (src/manager/state.c):
 * the CycleCloud path Off -> Acquiring -> Preparing -> Ready, failures,
 * termination, retry, and every change an agent or the manager may not make.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "manager/state.h"

static int mgr(enum node_state a, enum node_state b) { return state_check(a, b, ACTOR_MANAGER, NULL); }
static int agent(enum node_state a, enum node_state b) { return state_check(a, b, ACTOR_AGENT, NULL); }

static void test_names(void **state)
{
	for (int s = 0; s < NS_COUNT; s++)
		assert_int_equal(state_parse(state_name((enum node_state)s)), s);
	assert_int_equal(state_parse("ready"), -EINVAL); /* the API's spelling only */
	assert_int_equal(state_parse(""), -EINVAL);
	assert_int_equal(state_parse(NULL), -EINVAL);
	assert_string_equal(state_name(NS_COUNT), "Unknown");
}

static void test_happy_path(void **state)
{
	assert_int_equal(mgr(NS_OFF, NS_ACQUIRING), 0);
	assert_int_equal(agent(NS_ACQUIRING, NS_PREPARING), 0);
	assert_int_equal(agent(NS_PREPARING, NS_READY), 0);
	assert_int_equal(mgr(NS_READY, NS_TERMINATING), 0);
	assert_int_equal(mgr(NS_TERMINATING, NS_OFF), 0);
}

static void test_failure_and_retry(void **state)
{
	assert_int_equal(agent(NS_PREPARING, NS_FAILED), 0);
	assert_int_equal(agent(NS_ACQUIRING, NS_FAILED), 0);
	assert_int_equal(mgr(NS_ACQUIRING, NS_FAILED), 0);   /* the provider could not make it */
	/* retry: in place (Preparing) or by making the node again (Acquiring) */
	assert_int_equal(mgr(NS_FAILED, NS_PREPARING), 0);
	assert_int_equal(mgr(NS_FAILED, NS_ACQUIRING), 0);
	assert_int_equal(agent(NS_FAILED, NS_PREPARING), 0);
	/* a Failed node is never Ready without running its cluster-init again */
	const char *why = NULL;
	assert_int_equal(state_check(NS_FAILED, NS_READY, ACTOR_AGENT, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(mgr(NS_FAILED, NS_TERMINATING), 0);
}

static void test_agent_limits(void **state)
{
	/* an agent reports on its own install and nothing else */
	for (int from = 0; from < NS_COUNT; from++) {
		assert_int_equal(agent((enum node_state)from, NS_OFF), -EPERM);
		assert_int_equal(agent((enum node_state)from, NS_ACQUIRING), -EPERM);
		assert_int_equal(agent((enum node_state)from, NS_TERMINATING), -EPERM);
	}
	/* nor revives a node being terminated or off */
	assert_int_equal(agent(NS_TERMINATING, NS_READY), -EINVAL);
	assert_int_equal(agent(NS_TERMINATING, NS_PREPARING), -EINVAL);
	assert_int_equal(agent(NS_OFF, NS_READY), -EINVAL);
	assert_int_equal(agent(NS_OFF, NS_FAILED), -EINVAL);
	/* restarts are fine */
	assert_int_equal(agent(NS_READY, NS_PREPARING), 0);
	assert_int_equal(agent(NS_READY, NS_READY), 0);
}

static void test_manager_limits(void **state)
{
	const char *why = NULL;
	assert_int_equal(state_check(NS_ACQUIRING, NS_READY, ACTOR_MANAGER, &why), -EPERM);
	assert_non_null(strstr(why, "agent"));
	assert_int_equal(mgr(NS_READY, NS_ACQUIRING), -EINVAL);
	assert_int_equal(mgr(NS_OFF, NS_TERMINATING), -EALREADY);
	assert_int_equal(mgr(NS_TERMINATING, NS_TERMINATING), -EALREADY);
	assert_int_equal(mgr(NS_READY, NS_OFF), -EINVAL);  /* off only through Terminating */
	assert_int_equal(mgr(NS_OFF, NS_FAILED), -EINVAL);
	assert_int_equal(mgr(NS_TERMINATING, NS_FAILED), -EINVAL);
	/* Only a failed stop script keeps a Terminating node, as Failed. */
	assert_int_equal(state_check(NS_TERMINATING, NS_FAILED, ACTOR_STOP, NULL), 0);
	for (int from = 0; from < NS_COUNT; from++)
		for (int to = 0; to < NS_COUNT; to++)
			if (from != NS_TERMINATING || to != NS_FAILED)
				assert_int_equal(state_check((enum node_state)from, (enum node_state)to, ACTOR_STOP, NULL),
						 -EINVAL);
	assert_int_equal(state_check(NS_COUNT, NS_OFF, ACTOR_MANAGER, NULL), -EINVAL);
	assert_int_equal(state_check(NS_OFF, (enum node_state)-1, ACTOR_MANAGER, NULL), -EINVAL);
}

static void test_live(void **state)
{
	assert_false(state_is_live(NS_OFF));
	for (int s = 1; s < NS_COUNT; s++)
		assert_true(state_is_live((enum node_state)s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_failure_and_retry),
		cmocka_unit_test(test_agent_limits),
		cmocka_unit_test(test_manager_limits),
		cmocka_unit_test(test_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * state.c: the node state machine of state.h.
 */
#include "manager/state.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

static const char *const names[NS_COUNT] = {
	[NS_OFF] = "Off", [NS_ACQUIRING] = "Acquiring", [NS_PREPARING] = "Preparing",
	[NS_READY] = "Ready", [NS_FAILED] = "Failed", [NS_TERMINATING] = "Terminating",
};

int state_parse(const char *s)
{
	for (int i = 0; s && i < NS_COUNT; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

const char *state_name(enum node_state s)
{
	return (unsigned)s < NS_COUNT ? names[s] : "Unknown";
}

bool state_is_live(enum node_state s)
{
	return s != NS_OFF;
}

int state_check(enum node_state from, enum node_state to, enum state_actor actor, const char **why)
{
	static const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	if ((unsigned)from >= NS_COUNT || (unsigned)to >= NS_COUNT) {
		*why = "unknown state";
		return -EINVAL;
	}
	if (actor == ACTOR_AGENT) {
		/* A node reports on its own install, nothing else. */
		if (to != NS_PREPARING && to != NS_READY && to != NS_FAILED) {
			*why = "a node may only report Preparing, Ready or Failed";
			return -EPERM;
		}
		if (from == NS_OFF || from == NS_TERMINATING) {
			*why = "the node is being terminated or is off";
			return -EINVAL;
		}
		switch (to) {
		case NS_PREPARING:
			/* Acquiring: first boot; Preparing: agent restarted; Failed:
			 * retry; Ready: agent restarted and re-checks its install. */
			return 0;
		case NS_READY:
			if (from == NS_FAILED) {
				*why = "a Failed node must report Preparing (re-run its cluster-init) before Ready";
				return -EINVAL;
			}
			return 0;
		case NS_FAILED:
			return 0;
		default:
			break;
		}
		return -EINVAL;
	}
	if (actor == ACTOR_STOP) {
		if (from == NS_TERMINATING && to == NS_FAILED)
			return 0;
		*why = "only a Terminating node whose stop scripts failed goes to Failed this way";
		return -EINVAL;
	}
	/* The manager. */
	switch (to) {
	case NS_ACQUIRING:
		if (from == NS_OFF || from == NS_FAILED)
			return 0;
		*why = "only an Off or Failed node can be acquired";
		return -EINVAL;
	case NS_PREPARING:
		if (from == NS_FAILED || from == NS_ACQUIRING || from == NS_PREPARING)
			return 0;
		*why = "only an Acquiring or Failed node can be prepared";
		return -EINVAL;
	case NS_READY:
		*why = "only the node's agent says when it is Ready";
		return -EPERM;
	case NS_FAILED:
		if (from == NS_OFF || from == NS_TERMINATING) {
			*why = "an Off or Terminating node cannot fail";
			return -EINVAL;
		}
		return 0;
	case NS_TERMINATING:
		if (from == NS_OFF) {
			*why = "the node is already off";
			return -EALREADY;
		}
		if (from == NS_TERMINATING) {
			*why = "the node is already terminating";
			return -EALREADY;
		}
		return 0;
	case NS_OFF:
		if (from == NS_TERMINATING || from == NS_FAILED || from == NS_ACQUIRING)
			return 0;
		*why = "a node is turned off by terminating it";
		return -EINVAL;
	default:
		break;
	}
	return -EINVAL;
}

/*
 * state.h: the node state machine, the one place that says which state
 * changes make sense and who may make them.
 *
 *   Off -> Acquiring -> Preparing -> Ready
 *                 \          \         \
 *                  +---------+-> Failed (reason, failing script's log)
 *   any state but Off -> Terminating -> Off
 *                        Terminating -> Failed (a stop script failed: kept)
 *
 * The agent on a node reports Preparing, Ready and Failed; the manager makes
 * every other change (it acquires, terminates, and marks nodes that vanished).
 * Pure functions: no I/O, so they are unit-tested on their own.
 */
#ifndef STRATUS_MANAGER_STATE_H
#define STRATUS_MANAGER_STATE_H

#include <stdbool.h>

enum node_state {
	NS_OFF = 0,
	NS_ACQUIRING,
	NS_PREPARING,
	NS_READY,
	NS_FAILED,
	NS_TERMINATING,
	NS_COUNT
};

/* ACTOR_STOP: the manager when a node's stop scripts failed: the one way
 * from Terminating to Failed (the node is kept, not destroyed). */
enum state_actor { ACTOR_MANAGER, ACTOR_AGENT, ACTOR_STOP };

/* "Ready" -> NS_READY; -EINVAL for anything else (case-sensitive: the API's spelling). */
int state_parse(const char *s);
const char *state_name(enum node_state s);

/*
 * May ACTOR move a node from FROM to TO?  0 if so, else -EPERM (the actor may
 * never make that change) or -EALREADY/-EINVAL (the change makes no sense
 * from FROM); *why is a static sentence for the 409 reply.
 */
int state_check(enum node_state from, enum node_state to, enum state_actor actor, const char **why);

/* Does a node in state S hold resources (namespaces, processes) on its host? */
bool state_is_live(enum node_state s);

#endif

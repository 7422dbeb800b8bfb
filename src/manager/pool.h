/*
 * pool.h: host pools: machines that already exist, registered with the
 * manager, from which the ssh provider (src/provider/ssh.h) makes nodes.
 *
 * A pool has hosts; a host is free, busy (running one node) or unclean
 * (cleaning failed, or contact was lost while it ran a node: not handed out
 * until an operator clears it).  A node uses a pool when its template node
 * or array says `Pool = NAME` (or configuration `stratus.pool = NAME`); other
 * nodes stay with the local provider.
 *
 * The worker calls pool_node_spec / pool_take / pool_release around the
 * provider's create and destroy; threads of this module check busy and free
 * hosts over ssh, several at a time (liveness, the agent), and push the
 * cluster's /etc/hosts block to busy hosts as soon as it changes.
 * Private keys live in STATE/pools/hosts/HOST/id_key (0600) and never leave
 * the manager except as an argument to ssh -i.
 */
#ifndef STRATUS_MANAGER_POOL_H
#define STRATUS_MANAGER_POOL_H

#include <limits.h>
#include <stdint.h>
#include <jansson.h>

#include "provider/ssh.h"

struct mgr;
struct node_spec;

/* The storage behind a node_spec's ssh target (kept by the caller for the call). */
struct pool_target {
	struct ssh_target t;
	int64_t host_id;
	char host[64], address[256], ip[64], user[64], mgr_addr[64];
	char key[PATH_MAX + 32], known[PATH_MAX + 32], install[256], specs[4096];
};

/* Tables and the checking threads.  0 or -errno. */
int pool_start(struct mgr *m);
void pool_stop(struct mgr *m);

/*
 * The clusters' hosts files changed (hosts_refresh): push the new /etc/hosts
 * block to every busy host now, not at its next periodic probe.  Returns at
 * once; the checker's threads do the ssh.  Safe from any thread.
 */
void pool_hosts_changed(struct mgr *m);

/*
 * The REST routes /pools... and /hosts... (docs/ssh-provider.md).  Returns
 * the HTTP status; *out is the answer (NULL for none), {"error": ...} on
 * failure.  body is the parsed JSON body ({} when empty).
 */
int pool_api(struct mgr *m, const char *method, char **seg, int nseg, json_t *body, json_t **out);

/* If node_id holds a pool host, point spec->ssh at it (storage in *pt). */
void pool_node_spec(struct mgr *m, int64_t node_id, struct node_spec *spec, struct pool_target *pt);

/*
 * Before a node is made: if it names a pool, give it a host (the one it
 * holds if that is still healthy, else a free one), set its address to the
 * host's, and point spec->ssh at it.  0 also for nodes of no pool; -ENOSPC
 * (empty pool), -ENOENT (no such pool) with *why (malloc'd) and an event.
 */
int pool_take(struct mgr *m, int64_t node_id, struct node_spec *spec, struct pool_target *pt, char **why);

/*
 * After the provider's destroy returned rc (and *err): give the node's host
 * back (rc 0), or mark it unclean with the reason.  Returns the rc the
 * caller should act on: 0 when the host took the failure (the node is Off,
 * the host quarantined; *err is freed), rc for nodes of no pool.
 */
int pool_release(struct mgr *m, int64_t node_id, int rc, char **err);

#endif

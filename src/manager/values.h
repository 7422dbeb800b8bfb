/*
 * values.h: what the nodes of a cluster hand each other through the manager
 * instead of through a folder they would all have to share: published values
 * (the storage cluster's MDS address, the scheduler's /shared server) and the
 * cluster's secrets (its MUNGE key).
 *
 * Values: a node publishes KEY = VALUE for its own cluster (PUT
 * /api/v1/node/values/KEY); a node reads the values of its own cluster, or of
 * a cluster its own cluster names (guard_refers: a *Cluster parameter, a
 * *.cluster configuration, the Network attribute).  Values are not secret:
 * operators list them (GET /api/v1/clusters/C/values).  A node's values go
 * when it turns Off, a cluster's when it is Off or deleted.
 *
 * Secrets: each cluster gets a MUNGE key when it is created
 * (STATE/clusters/C/secrets/munge.key, mode 0600, never in the datastore,
 * a log, an event or an API answer).  They reach a node only through the
 * provider, as the file the agent's `secrets` setting names (local nodes: a
 * 0600 file on the manager's host that the node reads in place; pool hosts:
 * inside the ssh channel), and the agent merges them into the node's
 * configuration: `munge.key` (its own cluster's key, base64) and, for each
 * configuration key PREFIX.cluster that names another cluster,
 * PREFIX.munge_key (that cluster's key): so a compute node gets the storage
 * cluster's key only because its cluster names that storage cluster.
 */
#ifndef STRATUS_MANAGER_VALUES_H
#define STRATUS_MANAGER_VALUES_H

#include <stdint.h>
#include <jansson.h>

struct mgr;
struct op_err;

/* Make the cluster's secrets if they are not there (create, start).  0 or -errno with *e. */
int values_make_secrets(struct mgr *m, const char *cluster, struct op_err *e);

/*
 * The secret configuration values of node nid as JSON object text (malloc'd;
 * the caller wipes and frees it), or NULL if the node is gone or out of
 * memory.  Keys the node's configuration sets itself are left out (the
 * template's value wins).
 */
char *values_node_secrets(struct mgr *m, int64_t nid);

/*
 * The node route /api/v1/node/values/KEY: GET (query cluster=C: another
 * cluster's) and PUT {"value": "text"}.  Returns the HTTP status; *out the
 * answer ({"error"} on failure, NULL for none).
 */
int values_node_api(struct mgr *m, int64_t nid, const char *method, const char *key, const char *cluster,
		    json_t *body, json_t **out);

/* GET /api/v1/clusters/C/values: {"values":[{"key","value","node","updated"}]}. */
json_t *values_list(struct mgr *m, const char *cluster);

/* Forget what node nid published (it turned Off), or all of a cluster's. */
void values_forget_node(struct mgr *m, int64_t nid);
void values_forget_cluster(struct mgr *m, int64_t cluster_id);

#endif

/*
 * manager.h: stratusd's shared state and the operations its API calls.
 *
 * struct mgr is made once in main() and handed to every module; there are no
 * globals.  HTTP threads only touch the datastore and queue work; everything
 * that may take long (provider create/destroy, network set-up) runs on the
 * worker threads (worker.c), which own the provider calls.
 */
#ifndef STRATUS_MANAGER_H
#define STRATUS_MANAGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "provider/provider.h"

struct db;

/* Where cluster-init keeps node data when a node's stratus.data_dir is not
 * set (the projects' default), and the default of --node-data-dir. */
#define MGR_NODE_DATA_DEFAULT "/var/lib/stratus-nodes"

struct mgr_opts {
	char *config;
	char *state_dir;
	char *listen;
	int64_t port;
	char *port_file;
	char *tls_cert;
	char *tls_key;
	char *network;
	char *web_dir;
	char *agent_path;
	char *provider;
	char *log_file;
	char *log_level;
	char *init_admin;
	char *password_file;
	int64_t max_body;
	int64_t max_upload;
	int64_t threads;
	int64_t heartbeat_timeout;
	int64_t workers;           /* provider threads (worker.c) */
	int64_t retry_max;         /* automatic retries of a failed node (retry.c) */
	int64_t retry_delay;       /* ms before the first; doubles each time */
	int64_t retry_delay_max;   /* ms, the cap */
	int64_t token_ttl;         /* ms a user token is good for; 0: until revoked */
	char *node_data_dir;       /* node data below it is removed with its cluster */
};

struct job;
struct pool_ctl;

struct mgr {
	struct mgr_opts o;
	struct db *db;
	const struct provider_ops *prov;  /* NULL: no provider built in */
	int port;                         /* the port we listen on */
	char cert_path[4096];             /* PEM given to the agents and CLI */
	char key_path[4096];
	uint32_t net_base;                /* --network, host order */
	int net_prefix;
	int net_subnets;                  /* /24 subnets in the range (<= 256) */
	char instance[8];                 /* random id of this datastore: bridge names */
	/* worker queue (worker.c): jobs stay queued while they run */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;
	struct job *qhead, *qtail;
	bool stopping;
	pthread_t *workers;
	int nworkers;
	/* serialises bridge set-up and removal among the workers */
	pthread_mutex_t netmu;
	/* serialises hosts-file rewrites */
	pthread_mutex_t hostsmu;
	struct pool_ctl *pools;           /* host pools (pool.c); NULL: none */
};

/* Append an event (time now).  cluster/node may be NULL. */
void mgr_event(struct mgr *m, const char *cluster, const char *node, const char *kind,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- worker.c ---- */
int worker_start(struct mgr *m);
void worker_stop(struct mgr *m);
/* Queue an acquire / destroy of node ID; remove: delete the record afterwards. */
void worker_acquire(struct mgr *m, int64_t node_id);
void worker_destroy(struct mgr *m, int64_t node_id, bool remove);
/* worker_destroy with WORKER_STOP_* flags: how the node's stop scripts run. */
#define WORKER_STOP_FORCE   0x1  /* destroy even when a stop script fails (--force) */
#define WORKER_STOP_CLUSTER 0x2  /* the whole cluster goes (STRATUS_STOP_SCOPE=cluster) */
void worker_destroy_flags(struct mgr *m, int64_t node_id, bool remove, unsigned flags);
/* Queue "take the cluster network down once every node is Off". */
void worker_cluster_down(struct mgr *m, int64_t cluster_id);
/* Wait until the queue is empty (tests, shutdown). */
void worker_drain(struct mgr *m);

/* ---- cluster.c ---- */
/*
 * These return 0 or -errno and, on failure, *err (malloc'd): the sentence the
 * API sends back; *status the HTTP status to send.
 */
struct op_err {
	int status;
	char *msg;
};
void op_err_set(struct op_err *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int cluster_create(struct mgr *m, const char *name, const char *tmpl, json_t *params, struct op_err *e);
int cluster_start(struct mgr *m, const char *name, struct op_err *e);
/* Terminate / delete a cluster; refused (409) while a running cluster depends
 * on it (guard.c) unless force. */
int cluster_terminate(struct mgr *m, const char *name, bool force, struct op_err *e);
int cluster_delete(struct mgr *m, const char *name, bool force, struct op_err *e);
/* Add COUNT nodes of array/node TEMPLATE; *names gets the new names. */
int cluster_add_nodes(struct mgr *m, const char *cluster, const char *tmpl, int count,
		      json_t **names, struct op_err *e);
/*
 * Terminate (or remove) the nodes of CLUSTER named in NAMES (array of
 * strings) or matching FILTER.  Nodes outside node arrays need force.
 * *done lists the nodes acted on.
 */
int cluster_terminate_nodes(struct mgr *m, const char *cluster, json_t *names, const char *filter,
			    bool force, bool remove, json_t **done, struct op_err *e);
/* Re-acquire the Failed nodes of a cluster (all, or those named). */
int cluster_retry(struct mgr *m, const char *cluster, json_t *names, json_t **done, struct op_err *e);
/* Nodes of a cluster as JSON objects, filtered (filter may be NULL). */
int cluster_nodes(struct mgr *m, const char *cluster, const char *filter, json_t **out, struct op_err *e);
/* Insert a node record (state Off) of template tname in the cluster (a row with
 * id, name, subnet_index); name gets its name.  Caller holds db_lock.  Its id or -errno. */
int64_t node_insert(struct mgr *m, json_t *cluster_row, const char *tname, bool is_array, int idx,
		    char *name, size_t nlen, struct op_err *e);
/* One node's JSON as the agent sees it (GET /api/v1/node). */
json_t *node_view_for_agent(struct mgr *m, int64_t node_id);
/* Change a node's state (checked by state.c), with an event. */
int node_set_state(struct mgr *m, int64_t node_id, int to, int actor, const char *reason,
		   struct op_err *e);
/* Start a Failed node again: in place (its agent re-runs what failed; returns
 * 1) when it still runs, else made again (returns 0). */
int node_restart(struct mgr *m, int64_t node_id);
/* Rewrite every cluster's hosts file (all nodes of all clusters). */
void hosts_refresh(struct mgr *m);
/* Reconcile the records with what runs (start-up). */
void mgr_reconcile(struct mgr *m);
/* Paths under the state directory. */
void mgr_path(struct mgr *m, char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The /24 of cluster subnet index k: base address (host order). */
uint32_t mgr_subnet(struct mgr *m, int k);
void mgr_bridge_name(struct mgr *m, int k, char *out, size_t len);

/* ---- autoscale.c ---- */
/* Off records for every slot up to MaxCount of the cluster's autoscaling node
 * arrays (cluster row with id and definition).  Caller holds db_lock. */
int autoscale_add_slots(struct mgr *m, json_t *cluster_row, struct op_err *e);
/* POST /api/v1/node/resume|suspend from node CALLER: acquire (resume) or
 * terminate (suspend) the named array nodes of its own cluster, each an event
 * with REASON.  *done: the names on their way (resume: acquired now, or
 * already Acquiring/Preparing/Ready; suspend: terminated). */
int autoscale_request(struct mgr *m, int64_t caller, json_t *names, const char *reason, bool resume,
		      json_t **done, struct op_err *e);

/* ---- retry.c: failed nodes retried with back-off ---- */
struct evloop;
/* Node NODE_ID went to state TO (node_set_state calls this): a Failed node of a
 * started cluster gets its next automatic retry scheduled (or is told it has
 * none left); Ready closes the series; Terminating and Off cancel it. */
void retry_note(struct mgr *m, int64_t node_id, int to, const char *reason);
/* Forget a node's series (a retry by hand starts a new one). */
void retry_forget(struct mgr *m, int64_t node_id);
/* The wait before automatic retry number ATTEMPT (0 for the first): BASE
 * doubled ATTEMPT times, at most CAP. */
int64_t retry_backoff_ms(int64_t base, int64_t cap, int attempt);
/* A cluster's retry settings: its template's RetryMax, RetryDelay and
 * RetryDelayMax attributes (of [cluster]), else stratusd's --retry-*.  Values
 * out of range are ignored (with a warning). */
struct retry_policy {
	int max;
	int64_t delay_ms, delay_max_ms;
};
void retry_policy_of(const struct mgr_opts *o, json_t *cluster_attrs, struct retry_policy *p);
/* The node's retry series as {"attempt","max","due","reason"} (due 0: none
 * scheduled), or JSON null when it has none.  New reference. */
json_t *retry_view(struct mgr *m, int64_t node_id);
/* Start the retries that are due; a timer of stratusd's event loop (arg: struct mgr). */
void retry_tick(struct evloop *loop, void *arg);

/* ---- guard.c: what needs --force ---- */
/* Do a cluster's PARAMS and DEFINITION name cluster NAME (a parameter *Cluster,
 * a configuration *.cluster, the Network attribute)?  VIA says how. */
bool guard_refers(json_t *params, json_t *definition, const char *name, char *via, size_t len);
/* The Started clusters other than NAME that depend on it: [{"cluster","via"}]. */
json_t *guard_dependents(struct mgr *m, const char *name);
/* 0 when nothing depends on cluster NAME, or with force (an event says so);
 * else -EBUSY and a 409 in e that names the dependents.  VERB: "terminate". */
int guard_cluster(struct mgr *m, const char *name, const char *verb, bool force, struct op_err *e);
/* Why terminating node template TNAME of CLUSTER (a non-array node) needs
 * --force: its role (configuration *.role) and the clusters that depend on it. */
void guard_node_why(struct mgr *m, const char *cluster, const char *tname, char *out, size_t len);

/* ---- tmpl.c: templates through liblang ---- */
/* The template's name ([cluster NAME]) and whether it parses. */
int tmpl_check(const char *text, char **name, char **err);
/*
 * Resolve the template with parameters into the cluster definition:
 * {"nodes":[{"name","array":bool,"max_count":N,"initial_count":N,
 *   "configuration":{dotted:value},"cluster_init":[{project,spec,version}]}]}
 */
int tmpl_resolve(const char *text, const char *cluster, json_t *params, json_t **def, char **err);

/* ---- api.c ---- */
struct MHD_Daemon;
struct MHD_Daemon *api_start(struct mgr *m, int listen_fd, char **err);

#endif

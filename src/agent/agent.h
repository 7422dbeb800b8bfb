/*
 * agent.h: the pieces of stratus-node, the agent on every node (libagent).
 *
 *   runner  runs a node's cluster-init: specs in template order, scripts in
 *           lexical order, each once (a marker per script), each with its log
 *   client  the REST client of the agent <-> manager contract (docs/api.md)
 *   nodecfg the node document cache and `stratus-node config KEY` lookups
 *   text    helpers for text sent as JSON (UTF-8 repair, tails of logs)
 *
 * Functions return 0 or -errno; those that can fail in ways a person must act
 * on fill *err (malloc'd, caller frees).  The agent is single-threaded.
 */
#ifndef STRATUS_AGENT_H
#define STRATUS_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- runner ---- */

/* One script's outcome, as the runner reports it (POST /api/v1/node/script). */
struct script_event {
	const char *project, *spec, *script;
	const char *status;      /* "started", "succeeded", "failed" */
	int exit_code;           /* 128+signal when killed */
	int64_t started_ms, finished_ms; /* wall clock */
	const char *log_path;    /* the script's own log file */
};

struct runner {
	const char *state_dir;   /* markers under done/, logs under logs/ */
	const char *node_name;   /* STRATUS_NODE_NAME */
	const char *cluster;     /* STRATUS_CLUSTER */
	const char *config_path; /* STRATUS_NODE_CONFIG (the node document cache) */
	const char *agent_config;/* STRATUS_AGENT_CONFIG, for `stratus-node search` (NULL: unset) */
	const char *local_disk;  /* STRATUS_LOCAL_DISK: the node's local disk (NULL: unset) */
	const char *bin_dir;     /* put first in PATH, so scripts find stratus-node */
	int64_t timeout_ms;      /* a script running longer is killed (0: no limit) */
	/* Called for each event; a failure to report is logged, never fatal. */
	void (*report)(void *ctx, const struct script_event *ev);
	void *ctx;
};

/*
 * Run the scripts of one spec: DIR is its cluster-init folder (holding
 * scripts/, files/, tests/).  Scripts whose marker exists are skipped.
 * Returns 0 when all succeeded; 1 when one failed (the rest of the spec is
 * not run) with *reason "cluster-init script SPEC/SCRIPT exited N"; -errno
 * when the spec cannot be run at all (*reason says why).
 */
int runner_run_spec(const struct runner *r, const char *project, const char *spec,
		    const char *dir, char **reason);

/*
 * Run the stop scripts of one spec (the files in DIR/stop), before its node is
 * destroyed: all of them, every time (no markers), in reverse lexical order,
 * each reported as script "stop/NAME" with its log under
 * state_dir/logs/PROJECT/SPEC/stop/.  Returns 0 when all succeeded (or there
 * are none); 1 when one failed (the rest are not run: what they would stop
 * may be what keeps data safe) with *reason "stop script SPEC/stop/NAME
 * exited N"; -errno when they cannot be run at all.
 */
int runner_run_stop(const struct runner *r, const char *project, const char *spec,
		    const char *dir, char **reason);

/* The sorted names of the regular files in DIR/SUB (hidden and odd names left out). */
int runner_list_dir(const char *dir, const char *sub, char ***names, size_t *count);

/* The sorted names of the scripts in DIR/scripts (hidden and odd names left out). */
int runner_list_scripts(const char *dir, char ***names, size_t *count);
void runner_free_list(char **names, size_t count);

/* Where the marker of a script lives (state_dir/done/PROJECT/SPEC/SCRIPT). */
int runner_marker_path(const char *state_dir, const char *project, const char *spec,
		       const char *script, char *out, size_t outlen);

/* Is s a safe single path component (no '/', not "." or "..", not hidden, printable)? */
bool agent_safe_name(const char *s);

/* ---- node document and `config` ---- */

/*
 * Find KEY in the node document: first configuration["KEY"] (dotted keys
 * are flat there), then a dotted path through the document itself
 * ("name", "ip", "cluster.name", "cluster.parameters.X").  Borrowed, or NULL.
 */
json_t *nodecfg_lookup(json_t *doc, const char *key);
/* The cluster's name from the document ("cluster" as a string, or cluster.name). */
const char *nodecfg_cluster_name(json_t *doc);
/* A value as `config` prints it: strings bare, everything else as JSON.  malloc'd. */
char *nodecfg_format(json_t *v);

/* ---- text ---- */

/*
 * Copy of the last at most max bytes of a file, made valid UTF-8 with
 * control characters (but \n, \r, \t) replaced by '?', so that it travels
 * as a JSON string of bounded size.  malloc'd.  0 or -errno.
 */
int text_tail_file(const char *path, size_t max, char **out);
/* The same repair on a buffer; returns a malloc'd string or NULL. */
char *text_sanitize(const char *p, size_t n);

/* ---- REST client ---- */

struct client;

/* base_url "https://10.1.2.1:8443"; token the node's; ca the PEM to trust. */
int client_new(const char *base_url, const char *token, const char *ca_file, struct client **out, char **err);
void client_free(struct client *c);

/*
 * Calls under /api/v1.  *status is the HTTP status (0 if no answer).  A
 * status >= 400 returns -EPROTO with *err naming the route and the manager's
 * own message; no answer returns -ECONNREFUSED/-ETIMEDOUT/-EIO with *err.
 */
int client_get_json(struct client *c, const char *path, json_t **out, long *status, char **err);
int client_post_json(struct client *c, const char *path, json_t *body, long *status, char **err);
/* POST body, and the answer's JSON in *out (caller decrefs). */
int client_post_json_answer(struct client *c, const char *path, json_t *body, json_t **out, long *status,
			    char **err);
/* GET path into the file dest (at most max bytes). */
int client_get_file(struct client *c, const char *path, const char *dest, size_t max, long *status, char **err);
/* Percent-encode s for a query string.  malloc'd or NULL. */
char *client_escape(struct client *c, const char *s);

#endif

/*
 * main.c: stratus-node, the agent on every node (CycleCloud's jetpack).
 *
 *   stratus-node run --config FILE      what the provider starts in a node: fetch the
 *                                       node's document, run its cluster-init, report
 *                                       state and logs, then send heartbeats; runs
 *                                       cluster-init again when the manager moves the
 *                                       node back to Preparing (retry) or on SIGHUP
 *   stratus-node retry --config FILE    run cluster-init once more now (what failed or
 *                                       never ran), in the foreground
 *   stratus-node stop --config FILE     what the manager runs in a node before destroying
 *                                       it: the stop scripts of its specs, reverse spec
 *                                       order; exit 0 only when all succeeded
 *   stratus-node run-specs [--state_dir D] SPEC_DIR...   run specs from local folders,
 *                                       no manager (for tests and for trying a project)
 *   stratus-node config KEY [DEFAULT]   print one configuration value of this node
 *   stratus-node search [FILTER]        print the cluster's nodes that match FILTER
 *
 * The contract with the manager is in docs/api.md; how nodes are made in
 * docs/nodes.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#define MAX_SPEC_TAR (256u << 20)
#define LOG_UPLOAD_MAX (1u << 20)

struct opts {
	char *config, *url, *token, *ca, *name, *state_dir, *log_level, *cluster, *node_json, *format, *reason;
	char *scope, *secrets;
	int64_t heartbeat, script_timeout, stop_timeout, wait;

	char *local_disk;
};

static const struct cfg_opt table[] = {
	CFG_STR("config", 'c', struct opts, config, NULL, "agent config file (key = value), as the provider writes it"),
	CFG_STR("url", 0, struct opts, url, NULL, "the manager, https://GATEWAY:PORT"),
	CFG_STR("token", 0, struct opts, token, NULL, "this node's API token (keep it in the config file)"),
	CFG_STR("ca", 0, struct opts, ca, NULL, "the manager's certificate (PEM) to verify it with"),
	CFG_STR("name", 'n', struct opts, name, NULL, "this node's name"),
	CFG_STR("state_dir", 's', struct opts, state_dir, NULL, "where markers, logs, specs and the config cache live"),
	CFG_STR("local_disk", 0, struct opts, local_disk, NULL, "the node's local disk (a directory), STRATUS_LOCAL_DISK for scripts"),
	CFG_DURATION("heartbeat", 0, struct opts, heartbeat, "10s", 200, 3600000, "time between heartbeats"),
	CFG_DURATION("script_timeout", 0, struct opts, script_timeout, "0", 0, 86400000LL * 7,
		     "kill a cluster-init script that runs longer (0: no limit)"),
	CFG_DURATION("stop_timeout", 0, struct opts, stop_timeout, "10m", 1000, 86400000LL,
		     "stop: kill a stop script that runs longer (the node's stratus.stop_timeout overrides)"),
	CFG_STR("scope", 0, struct opts, scope, "node", "stop: 'node' (this node alone goes) or 'cluster' (all of "
		"its cluster goes), STRATUS_STOP_SCOPE for stop scripts"),
	CFG_STR("log_level", 0, struct opts, log_level, "info", "error, warn, info or debug"),
	CFG_STR("cluster", 0, struct opts, cluster, NULL, "run-specs: the cluster name scripts see (default "
		"'local'); lookup: the cluster whose value to read (default: this node's)"),
	CFG_STR("secrets", 0, struct opts, secrets, NULL, "a JSON file of secret configuration values (the "
		"cluster's MUNGE key), written by the provider, merged into the node's configuration"),
	CFG_DURATION("wait", 0, struct opts, wait, "0", 0, 86400000LL, "lookup: wait this long for the value "
		     "to be published (seconds, or 500ms, 5m)"),
	CFG_STR("node_json", 0, struct opts, node_json, NULL, "run-specs: a node document to serve `config` from"),
	CFG_STR("format", 0, struct opts, format, "text", "search: text or json"),
	CFG_STR("reason", 0, struct opts, reason, NULL, "resume, suspend: why (the manager's event says it)"),
	CFG_END
};

static const struct cfg_program prog = {
	"stratus-node", "COMMAND [options] [ARGS]",
	"The agent on every Stratus node.  Commands: run, retry, stop, run-specs SPEC_DIR..., "
	"config KEY [DEFAULT], search [FILTER], resume|suspend [--reason TEXT] NODE... (the cluster's "
	"autoscaler asks the manager for its array nodes), publish KEY [VALUE|-], lookup [--cluster C] "
	"[--wait SECS] KEY (values the cluster's nodes share through the manager).  See docs/nodes.md.",
	table
};

/* *out = the formatted text (malloc'd; NULL if out of memory), freeing what was there. */
static void set_text(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_text(char **out, const char *fmt, ...)
{
	free(*out);
	*out = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(out, fmt, ap) < 0)
		*out = NULL;
	va_end(ap);
}

static volatile sig_atomic_t stop_flag, rerun_flag;
static void on_stop(int sig) { stop_flag = 1; }
static void on_hup(int sig) { rerun_flag = 1; }

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

/* The directory of this program, for PATH (scripts call stratus-node). */
static char *self_dir(void)
{
	char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof(p) - 1);
	if (n <= 0)
		return strdup("/usr/local/bin");
	p[n] = '\0';
	return strdup(dirname(p));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_tree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0 ? neg_errno() : 0;
}

/* ---- state shared by run, retry ---- */

struct agent {
	struct opts *o;
	struct client *c;
	char cache[PATH_MAX];   /* state_dir/node.json */
	char *bin_dir;
	char *config_path;      /* absolute, for scripts' `search` */
	int64_t heartbeat_ms;   /* the config file's, or the node's stratus.agent.heartbeat */
	json_t *secrets;        /* the provider's secrets file, merged into every fetched node */
	char *cached;           /* what the cache file holds now */
};

/* A template may set the heartbeat: configuration stratus.agent.heartbeat (seconds or "500ms"). */
static void take_heartbeat(struct agent *a, json_t *doc)
{
	json_t *v = json_object_get(json_object_get(doc, "configuration"), "stratus.agent.heartbeat");
	int64_t ms = -1;
	if (json_is_integer(v))
		ms = json_integer_value(v) * 1000;
	else if (json_is_real(v))
		ms = (int64_t)(json_real_value(v) * 1000);
	else if (json_is_string(v) && cfg_parse_duration_ms(json_string_value(v), &ms))
		ms = -1;
	if (ms >= 200 && ms <= 3600000 && ms != a->heartbeat_ms) {
		log_info("heartbeat every %lld ms (the node's stratus.agent.heartbeat)", (long long)ms);
		a->heartbeat_ms = ms;
	}
}

static void upload_event(void *ctx, const struct script_event *ev)
{
	struct agent *a = ctx;
	char *logtext = NULL, *err = NULL;
	if (strcmp(ev->status, "started") && ev->log_path)
		text_tail_file(ev->log_path, LOG_UPLOAD_MAX, &logtext);
	json_t *b = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s}", "spec", ev->spec, "script", ev->script,
			      "status", ev->status, "exit_code", ev->exit_code, "started_ms",
			      (json_int_t)ev->started_ms, "finished_ms", (json_int_t)ev->finished_ms,
			      "log", logtext ? logtext : "");
	long st = 0;
	int rc = b ? client_post_json(a->c, "/node/script", b, &st, &err) : -ENOMEM;
	if (rc == -EPROTO && st == 413 && logtext && strlen(logtext) > 65536) {
		/* The manager takes less than we thought: send the last 64 KiB. */
		json_object_set_new(b, "log", json_string(logtext + strlen(logtext) - 65536));
		rc = client_post_json(a->c, "/node/script", b, &st, &err);
	}
	if (rc)
		log_warn("cannot report cluster-init %s/%s %s: %s", ev->spec, ev->script, ev->status,
			 err ? err : strerror(-rc));
	json_decref(b);
	free(logtext);
	free(err);
}

static int post_state(struct agent *a, const char *state, const char *reason)
{
	char *err = NULL;
	long st = 0;
	json_t *b = json_pack("{s:s,s:s}", "state", state, "reason", reason ? reason : "");
	int rc = b ? client_post_json(a->c, "/node/state", b, &st, &err) : -ENOMEM;
	json_decref(b);
	if (rc)
		log_warn("cannot report state %s: %s", state, err ? err : strerror(-rc));
	else
		log_info("state %s%s%s", state, reason ? ": " : "", reason ? reason : "");
	free(err);
	return rc;
}

/* GET /node, retrying with back-off while the manager is away; caches it. */
static int fetch_node(struct agent *a, json_t **doc, bool patient)
{
	int64_t wait = 500;
	for (;;) {
		char *err = NULL;
		long st = 0;
		int rc = client_get_json(a->c, "/node", doc, &st, &err);
		if (!rc && !json_is_object(*doc)) {
			json_decref(*doc);
			rc = -EBADMSG;
			err = strdup("GET /node: the answer is not a JSON object");
		}
		if (!rc) {
			json_t *conf = json_object_get(*doc, "configuration");
			if (a->secrets && json_is_object(conf))
				json_object_update(conf, a->secrets);
			take_heartbeat(a, *doc);
			/* Written (with fsync) only when it changed: it is re-read every heartbeat. */
			char *text = json_dumps(*doc, JSON_INDENT(1) | JSON_SORT_KEYS);
			if (text && (!a->cached || strcmp(text, a->cached))) {
				/* 0600: it holds the node's secrets (its cluster's MUNGE key). */
				int w = util_write_file_atomic(a->cache, text, strlen(text), 0600);
				if (w)
					log_warn("cannot write the config cache '%s': %s", a->cache, strerror(-w));
				free(a->cached);
				a->cached = w ? NULL : text;
				text = NULL;
			}
			free(text);
			free(err);
			return 0;
		}
		/* 4xx other than 408/429 will not get better by asking again. */
		bool hopeless = rc == -EPROTO && st >= 400 && st < 500 && st != 408 && st != 429;
		log_warn("%s%s", err ? err : strerror(-rc), hopeless || !patient ? "" : "; trying again");
		free(err);
		if (hopeless || !patient || stop_flag)
			return rc;
		sleep_ms(wait);
		wait = wait * 2 > 30000 ? 30000 : wait * 2;
	}
}

/* Download one spec and unpack it; *ci_dir is its cluster-init folder. */
static int fetch_spec(struct agent *a, const char *project, const char *version, const char *spec,
		      char *ci_dir, size_t len, char **reason)
{
	char dir[PATH_MAX], tarp[PATH_MAX + 8], path[8192];
	char *ep = client_escape(a->c, project), *ev = client_escape(a->c, version ? version : "");
	char *es = client_escape(a->c, spec), *err = NULL;
	int rc = -ENOMEM;
	if (!ep || !ev || !es)
		goto out;
	snprintf(path, sizeof(path), "/node/spec?project=%s&version=%s&spec=%s", ep, ev, es);
	snprintf(dir, sizeof(dir), "%s/specs/%s/%s", a->o->state_dir, project, spec);
	snprintf(tarp, sizeof(tarp), "%s.tar", dir);
	if ((rc = rm_tree(dir)) || (rc = util_mkdirs(dir, 0755))) {
		set_text(reason, "cannot make spec directory '%s': %s", dir, strerror(-rc));
		goto out;
	}
	long st = 0;
	for (int attempt = 0; attempt < 5; attempt++) {
		free(err);
		err = NULL;
		rc = client_get_file(a->c, path, tarp, MAX_SPEC_TAR, &st, &err);
		if (!rc || (rc == -EPROTO && st < 500) || stop_flag)
			break;
		sleep_ms(500LL << attempt);
	}
	if (rc) {
		set_text(reason, "cannot download spec %s:%s:%s: %s", project, spec, version ? version : "",
			 err ? err : strerror(-rc));
		goto out;
	}
	pid_t pid = fork();
	if (pid == 0) {
		execlp("tar", "tar", "-xf", tarp, "-C", dir, "--no-same-owner", (char *)NULL);
		_exit(127);
	}
	int ws = 0;
	if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)) {
		set_text(reason, "cannot unpack spec %s:%s (the manager's tar '%s' is damaged?)", project, spec, tarp);
		rc = -EBADMSG;
		goto out;
	}
	unlink(tarp);
	if ((size_t)snprintf(ci_dir, len, "%s/cluster-init", dir) >= len) {
		set_text(reason, "spec directory '%s' is too long a path", dir);
		rc = -ENAMETOOLONG;
		goto out;
	}
	if (access(ci_dir, F_OK) < 0) {
		set_text(reason, "spec %s:%s from the manager has no cluster-init folder", project, spec);
		rc = -ENOENT;
		goto out;
	}
	rc = 0;
out:
	free(ep);
	free(ev);
	free(es);
	free(err);
	return rc;
}

/*
 * One pass of cluster-init, as the contract says: Preparing, every spec in
 * template order, then Ready or Failed with the reason.  Holds the install
 * lock so that `retry` and the daemon never run scripts at the same time.
 * 0: Ready; 1: Failed; -errno: could not even start (manager away).
 */
static int install(struct agent *a)
{
	char lockp[PATH_MAX];
	snprintf(lockp, sizeof(lockp), "%s/cluster-init.lock", a->o->state_dir);
	int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		int rc = neg_errno();
		log_error("cannot lock '%s': %s", lockp, strerror(-rc));
		if (lfd >= 0)
			close(lfd);
		return rc;
	}
	json_t *doc = NULL;
	int rc = fetch_node(a, &doc, true);
	if (rc) {
		close(lfd);
		return rc;
	}
	post_state(a, "Preparing", NULL);
	struct runner r = {
		.state_dir = a->o->state_dir, .node_name = a->o->name,
		.cluster = nodecfg_cluster_name(doc), .config_path = a->cache,
		.agent_config = a->config_path, .bin_dir = a->bin_dir, .local_disk = a->o->local_disk,
		.timeout_ms = a->o->script_timeout, .report = upload_event, .ctx = a,
	};
	char *reason = NULL;
	json_t *ci = json_object_get(doc, "cluster_init"), *x;
	size_t i;
	rc = 0;
	if (ci && !json_is_array(ci)) {
		reason = strdup("the manager's cluster_init list is not an array");
		rc = 1;
	}
	json_array_foreach(ci, i, x) {
		if (rc)
			break;
		const char *p = json_string_value(json_object_get(x, "project"));
		const char *v = json_string_value(json_object_get(x, "version"));
		const char *s = json_string_value(json_object_get(x, "spec"));
		char dir[PATH_MAX];
		if (!agent_safe_name(p) || !agent_safe_name(s) || (v && *v && !agent_safe_name(v))) {
			set_text(&reason, "cluster-init entry %zu has a bad project or spec name", i + 1);
			rc = 1;
			break;
		}
		if (fetch_spec(a, p, v, s, dir, sizeof(dir), &reason)) {
			rc = 1;
			break;
		}
		int sr = runner_run_spec(&r, p, s, dir, &reason);
		if (sr)
			rc = 1;
	}
	if (rc) {
		log_error("cluster-init failed: %s", reason ? reason : "unknown reason");
		post_state(a, "Failed", reason ? reason : "cluster-init failed");
	} else {
		post_state(a, "Ready", NULL);
	}
	free(reason);
	json_decref(doc);
	close(lfd);
	return rc;
}

static int agent_open(struct agent *a, struct opts *o)
{
	char *err = NULL;
	memset(a, 0, sizeof(*a));
	a->o = o;
	if (!o->url || !o->token || !o->ca || !o->name || !o->state_dir)
		die("'url', 'token', 'ca', 'name' and 'state_dir' must all be set; give --config FILE");
	int rc = util_mkdirs(o->state_dir, 0700);
	if (rc)
		die("cannot make state directory '%s': %s", o->state_dir, strerror(-rc));
	snprintf(a->cache, sizeof(a->cache), "%s/node.json", o->state_dir);
	a->bin_dir = self_dir();
	a->heartbeat_ms = o->heartbeat;
	a->config_path = o->config ? realpath(o->config, NULL) : NULL;
	if ((rc = client_new(o->url, o->token, o->ca, &a->c, &err)))
		die("%s", err ? err : strerror(-rc));
	explicit_bzero(o->token, strlen(o->token));
	if (o->secrets) {
		json_error_t je;
		a->secrets = json_load_file(o->secrets, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(a->secrets))
			die("cannot read the node's secrets '%s': %s; the provider writes it (mode 0600)", o->secrets,
			    je.text);
	}
	return 0;
}

/*
 * Read the config file again and talk to the manager it names from now on:
 * a manager that restarted elsewhere (another port, a new certificate)
 * rewrites the file, and the agent follows.  Called when the manager does not
 * answer, and on SIGHUP.
 */
static void agent_reload(struct agent *a)
{
	struct opts n;
	char *err = NULL;
	struct client *c = NULL;
	if (!a->config_path || cfg_defaults(&prog, &n))
		return;
	if (cfg_load_file(&prog, &n, a->config_path, &err) || !n.url || !n.token || !n.ca) {
		log_warn("cannot re-read '%s': %s", a->config_path, err ? err : "url, token or ca missing");
	} else if (!client_new(n.url, n.token, n.ca, &c, &err)) {
		if (!a->o->url || strcmp(a->o->url, n.url))
			log_info("manager is now %s (from '%s')", n.url, a->config_path);
		client_free(a->c);
		a->c = c;
		free(a->o->url);
		a->o->url = strdup(n.url);
	}
	if (n.token)
		explicit_bzero(n.token, strlen(n.token));
	free(err);
	cfg_release(&prog, &n);
}

static void agent_close(struct agent *a)
{
	client_free(a->c);
	json_decref(a->secrets);
	free(a->cached);
	free(a->bin_dir);
	free(a->config_path);
}

static int cmd_run(struct opts *o, bool once)
{
	struct agent a;
	agent_open(&a, o);
	struct sigaction sa = { 0 };
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("agent of node '%s' starting (manager %s)", o->name, o->url);
	int rc = install(&a);
	if (once) {
		agent_close(&a);
		return rc == 0 ? 0 : 1;
	}
	/* Heartbeats; each also re-reads the node, so a retry (the manager moving the
	 * node back to Preparing) or an agent that could not reach it is picked up. */
	bool need_install = rc < 0;
	while (!stop_flag) {
		sleep_ms(a.heartbeat_ms);
		if (stop_flag)
			break;
		char *err = NULL;
		long st = 0;
		json_t *empty = json_object();
		int hr = client_post_json(a.c, "/node/heartbeat", empty, &st, &err);
		if (hr)
			log_warn("%s", err ? err : "heartbeat failed");
		if (hr && hr != -EPROTO)
			agent_reload(&a); /* no answer: has the manager moved? */
		json_decref(empty);
		free(err);
		json_t *doc = NULL;
		if (!fetch_node(&a, &doc, false)) {
			const char *state = json_string_value(json_object_get(doc, "state"));
			if (state && (!strcmp(state, "Preparing") || !strcmp(state, "Acquiring")))
				need_install = true;
			json_decref(doc);
		}
		if (rerun_flag || need_install) {
			if (rerun_flag)
				agent_reload(&a);
			rerun_flag = 0;
			log_info("running cluster-init again");
			need_install = install(&a) < 0;
		}
	}
	log_info("agent of node '%s' stopping", o->name);
	agent_close(&a);
	return 0;
}

/* ---- stop: the node's stop scripts, before it is destroyed ---- */

/* The node's stop-script time limit: stratus.stop_timeout (seconds or "5m") or DEF. */
static int64_t stop_timeout_of(json_t *doc, int64_t def)
{
	json_t *v = nodecfg_lookup(doc, "stratus.stop_timeout");
	int64_t ms = -1;
	if (json_is_integer(v))
		ms = json_integer_value(v) * 1000;
	else if (json_is_string(v) && cfg_parse_duration_ms(json_string_value(v), &ms))
		ms = -1;
	if (v && (ms < 1000 || ms > 86400000)) {
		log_warn("stratus.stop_timeout: give 1s to 24h (seconds, or with a unit: 90s, 10m); using %lld ms",
			 (long long)def);
		return def;
	}
	return v ? ms : def;
}

/*
 * Run the stop scripts of every spec this node installed, last spec first,
 * and write the outcome to state_dir/stop.result ("ok" or "failed: REASON"),
 * where the manager reads why.  The scripts are the ones the node ran (its
 * specs as downloaded then), not the locker's newest.  0: all succeeded.
 */
static int cmd_stop(struct opts *o)
{
	struct agent a;
	agent_open(&a, o);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(o->scope, "node") && strcmp(o->scope, "cluster"))
		die("--scope must be 'node' or 'cluster', not '%s'", o->scope);
	setenv("STRATUS_STOP_SCOPE", o->scope, 1);
	char resp[PATH_MAX + 16];
	snprintf(resp, sizeof(resp), "%s/stop.result", o->state_dir);
	unlink(resp);
	json_t *doc = NULL;
	if (fetch_node(&a, &doc, false)) {
		/* The manager is away: what the node last knew is what it runs. */
		json_error_t je;
		doc = json_load_file(a.cache, JSON_REJECT_DUPLICATES, &je);
	}
	char *reason = NULL;
	int rc = 0, ran = 0;
	if (!doc) {
		log_info("node '%s' never fetched its document: no spec installed, nothing to stop", o->name);
	} else {
		struct runner r = {
			.state_dir = o->state_dir, .node_name = o->name, .cluster = nodecfg_cluster_name(doc),
			.config_path = a.cache, .agent_config = a.config_path, .bin_dir = a.bin_dir,
			.local_disk = o->local_disk, .timeout_ms = stop_timeout_of(doc, o->stop_timeout),
			.report = upload_event, .ctx = &a,
		};
		json_t *ci = json_object_get(doc, "cluster_init");
		for (size_t i = json_is_array(ci) ? json_array_size(ci) : 0; i-- > 0 && !rc;) {
			json_t *x = json_array_get(ci, i);
			const char *p = json_string_value(json_object_get(x, "project"));
			const char *s = json_string_value(json_object_get(x, "spec"));
			char dir[PATH_MAX];
			if (!agent_safe_name(p) || !agent_safe_name(s))
				continue; /* never installed either */
			snprintf(dir, sizeof(dir), "%s/specs/%s/%s/cluster-init", o->state_dir, p, s);
			if (access(dir, F_OK) < 0)
				continue; /* never downloaded: it started nothing */
			ran++;
			if (runner_run_stop(&r, p, s, dir, &reason))
				rc = 1;
		}
	}
	char line[4200];
	int n = snprintf(line, sizeof(line), rc ? "failed: %s\n" : "ok\n", reason ? reason : "a stop script failed");
	int w = util_write_file_atomic(resp, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, 0644);
	if (w)
		log_warn("cannot write '%s': %s", resp, strerror(-w));
	if (rc)
		error("%s", reason ? reason : "a stop script failed");
	else
		log_info("stop scripts of node '%s' done (%d spec(s) looked at)", o->name, ran);
	free(reason);
	json_decref(doc);
	agent_close(&a);
	return rc;
}

/* ---- run-specs: cluster-init from local folders, no manager ---- */

static void print_event(void *ctx, const struct script_event *ev)
{
	if (!strcmp(ev->status, "started"))
		printf("cluster-init %s/%s started\n", ev->spec, ev->script);
	else
		printf("cluster-init %s/%s %s (exit %d, %lld ms, log %s)\n", ev->spec, ev->script, ev->status,
		       ev->exit_code, (long long)(ev->finished_ms - ev->started_ms), ev->log_path);
	fflush(stdout);
}

static int cmd_run_specs(struct opts *o, int nargs, char **args)
{
	if (nargs < 1)
		die("usage: stratus-node run-specs [--state_dir DIR] [--name N] [--node_json F] SPEC_DIR...");
	char host[256] = "localhost";
	gethostname(host, sizeof(host) - 1);
	const char *sd = o->state_dir ? o->state_dir : ".";
	int rc = util_mkdirs(sd, 0755);
	if (rc)
		die("cannot make state directory '%s': %s", sd, strerror(-rc));
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/node.json", sd);
	json_t *doc = NULL;
	if (o->node_json) {
		json_error_t je;
		doc = json_load_file(o->node_json, JSON_REJECT_DUPLICATES, &je);
		if (!doc)
			die("cannot read node document '%s': line %d: %s", o->node_json, je.line, je.text);
		if (json_dump_file(doc, cache, JSON_INDENT(1)) < 0)
			die("cannot write the config cache '%s'", cache);
	}
	char *bin = self_dir();
	char *abs_cache = NULL;
	struct runner r = {
		.state_dir = sd, .node_name = o->name ? o->name : host,
		.cluster = doc && nodecfg_cluster_name(doc) ? nodecfg_cluster_name(doc) : o->cluster ? o->cluster : "local",
		.config_path = doc ? (abs_cache = realpath(cache, NULL)) : NULL,
		.bin_dir = bin, .timeout_ms = o->script_timeout, .report = print_event,
		.local_disk = o->local_disk,
	};
	int result = 0;
	for (int i = 0; i < nargs && !result; i++) {
		char abs[PATH_MAX], ci[PATH_MAX + 16], tmp[PATH_MAX], tmp2[PATH_MAX];
		if (!realpath(args[i], abs))
			die("cannot find spec folder '%s': %s", args[i], strerror(errno));
		/* SPEC_DIR is specs/<spec> (holding cluster-init/) or that cluster-init folder. */
		snprintf(ci, sizeof(ci), "%s/cluster-init", abs);
		struct stat st;
		if (stat(ci, &st) < 0 || !S_ISDIR(st.st_mode))
			snprintf(ci, sizeof(ci), "%s", abs);
		else
			snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/cluster-init");
		snprintf(tmp, sizeof(tmp), "%s", abs);
		char *specdir = dirname(tmp);              /* .../specs/<spec> */
		char spec[256], project[256] = "local";
		snprintf(tmp2, sizeof(tmp2), "%s", specdir);
		snprintf(spec, sizeof(spec), "%s", basename(tmp2));
		snprintf(tmp2, sizeof(tmp2), "%s", specdir);
		char *specs = dirname(tmp2);               /* .../<project>/specs */
		if (!strcmp(basename(specs), "specs")) {
			char tmp3[PATH_MAX];
			snprintf(tmp3, sizeof(tmp3), "%s", specs);
			snprintf(project, sizeof(project), "%s", basename(dirname(tmp3)));
		}
		char *reason = NULL;
		int sr = runner_run_spec(&r, project, spec, ci, &reason);
		if (sr) {
			error("%s", reason ? reason : "cluster-init failed");
			result = 1;
		}
		free(reason);
	}
	free(bin);
	free(abs_cache);
	json_decref(doc);
	return result;
}

/* ---- config and search, for scripts ---- */

static int cmd_config(struct opts *o, int nargs, char **args)
{
	if (nargs < 1 || nargs > 2)
		die("usage: stratus-node config KEY [DEFAULT]");
	char path[PATH_MAX];
	const char *env = getenv("STRATUS_NODE_CONFIG");
	if (env && *env)
		snprintf(path, sizeof(path), "%s", env);
	else if (o->state_dir)
		snprintf(path, sizeof(path), "%s/node.json", o->state_dir);
	else
		die("no node configuration: set STRATUS_NODE_CONFIG or give --config FILE");
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		die("cannot read node configuration '%s': %s; has the agent fetched it yet?", path, je.text);
	json_t *v = nodecfg_lookup(doc, args[0]);
	if (!v) {
		json_decref(doc);
		if (nargs == 2) {
			printf("%s\n", args[1]);
			return 0;
		}
		return error("this node has no configuration key '%s'; give a default: "
			     "stratus-node config %s DEFAULT", args[0], args[0]) ? 1 : 1;
	}
	char *text = nodecfg_format(v);
	printf("%s\n", text ? text : "");
	free(text);
	json_decref(doc);
	return 0;
}

static int cmd_search(struct opts *o, int nargs, char **args)
{
	char *err = NULL;
	if (nargs > 1)
		die("usage: stratus-node search [FILTER]  (quote the filter: 'Template == \"scheduler\"')");
	if (!o->url || !o->token || !o->ca)
		die("'url', 'token' and 'ca' are needed; give --config FILE (scripts get STRATUS_AGENT_CONFIG)");
	struct client *c = NULL;
	int rc = client_new(o->url, o->token, o->ca, &c, &err);
	if (rc)
		die("%s", err ? err : strerror(-rc));
	char path[8192] = "/node/cluster-nodes";
	if (nargs == 1) {
		char *e = client_escape(c, args[0]);
		if (!e)
			die("out of memory");
		snprintf(path, sizeof(path), "/node/cluster-nodes?filter=%s", e);
		free(e);
	}
	json_t *ans = NULL;
	long st = 0;
	rc = client_get_json(c, path, &ans, &st, &err);
	client_free(c);
	if (rc)
		die("%s", err ? err : strerror(-rc));
	json_t *nodes = json_object_get(ans, "nodes"), *n;
	size_t i;
	if (!json_is_array(nodes))
		die("the manager's answer to cluster search has no 'nodes' list");
	if (o->format && !strcmp(o->format, "json")) {
		char *t = json_dumps(nodes, JSON_INDENT(2));
		printf("%s\n", t ? t : "[]");
		free(t);
	} else {
		json_array_foreach(nodes, i, n) {
			const char *f[] = { "name", "template", "hostname", "ip", "state" };
			for (size_t k = 0; k < 5; k++) {
				const char *s = json_string_value(json_object_get(n, f[k]));
				printf("%s%s", k ? "\t" : "", s ? s : "-");
			}
			printf("\n");
		}
	}
	json_decref(ans);
	return 0;
}

/* resume|suspend NODE...: ask the manager to make (or give back) array nodes of
 * this node's cluster: POST /api/v1/node/resume|suspend. */
static int cmd_scale(struct opts *o, bool resume, int nargs, char **args)
{
	char *err = NULL;
	if (nargs < 1)
		die("usage: stratus-node %s [--reason TEXT] NODE...", resume ? "resume" : "suspend");
	if (!o->url || !o->token || !o->ca)
		die("'url', 'token' and 'ca' are needed; give --config FILE (scripts get STRATUS_AGENT_CONFIG)");
	json_t *names = json_array();
	for (int i = 0; i < nargs; i++)
		json_array_append_new(names, json_string(args[i]));
	json_t *body = json_pack("{s:o,s:s}", "nodes", names, "reason", o->reason ? o->reason : "");
	if (!body)
		die("out of memory");
	struct client *c = NULL;
	int rc = client_new(o->url, o->token, o->ca, &c, &err);
	if (rc)
		die("%s", err ? err : strerror(-rc));
	long st = 0;
	json_t *ans = NULL;
	rc = client_post_json_answer(c, resume ? "/node/resume" : "/node/suspend", body, &ans, &st, &err);
	client_free(c);
	json_decref(body);
	if (rc)
		die("cannot %s %s: %s", resume ? "resume" : "suspend", args[0], err ? err : strerror(-rc));
	/* The nodes the manager took on, one a line (a node still terminating is
	 * not among them: ask again). */
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(ans, "nodes"), i, n)
		if (json_is_string(n))
			printf("%s\n", json_string_value(n));
	json_decref(ans);
	return 0;
}

/* ---- publish and lookup: values the cluster's nodes share through the manager ---- */

static struct client *env_client(struct opts *o, const char *cmd)
{
	char *err = NULL;
	struct client *c = NULL;
	if (!o->url || !o->token || !o->ca)
		die("%s: 'url', 'token' and 'ca' are needed; give --config FILE (scripts get STRATUS_AGENT_CONFIG)", cmd);
	int rc = client_new(o->url, o->token, o->ca, &c, &err);
	if (rc)
		die("%s", err ? err : strerror(-rc));
	return c;
}

/* publish KEY [VALUE|-]: PUT /node/values/KEY; VALUE "-" or none: stdin (at most 64 KiB). */
static int cmd_publish(struct opts *o, int nargs, char **args)
{
	if (nargs < 1 || nargs > 2)
		die("usage: stratus-node publish KEY [VALUE|-]  (no VALUE or '-': read it from stdin)");
	char *value = NULL;
	if (nargs == 2 && strcmp(args[1], "-")) {
		value = strdup(args[1]);
	} else {
		struct buf b = BUF_INIT(64 << 10);
		char chunk[4096];
		ssize_t n;
		while ((n = read(0, chunk, sizeof(chunk))) > 0)
			if (buf_append(&b, chunk, (size_t)n))
				die("publish %s: the value on stdin is longer than 64 KiB", args[0]);
		if (n < 0)
			die("publish %s: cannot read stdin: %s", args[0], strerror(errno));
		/* A value read from a pipe loses one trailing newline, as $(...) would. */
		if (b.len && b.data[b.len - 1] == '\n')
			b.len--;
		value = strndup(b.data ? b.data : "", b.len);
		buf_release(&b);
	}
	if (!value)
		die("out of memory");
	struct client *c = env_client(o, "publish");
	char *key = client_escape(c, args[0]), *err = NULL, path[512];
	if (!key || strlen(key) > 300)
		die("publish: the key '%s' is too long", args[0]);
	snprintf(path, sizeof(path), "/node/values/%s", key);
	json_t *body = json_pack("{s:s}", "value", value), *ans = NULL;
	long st = 0;
	if (!body)
		die("publish %s: the value is not valid UTF-8", args[0]);
	/* A manager that does not answer (restarting, or a loaded machine) is
	 * asked again for up to 30 s; an answer that refuses is final. */
	int64_t end = util_mono_ms() + 30000, pause = 500;
	int rc;
	while ((rc = client_post_json_answer(c, path, body, &ans, &st, &err)) &&
	       (rc != -EPROTO || st >= 500) && util_mono_ms() + pause < end) {
		log_warn("publish %s: %s; trying again", args[0], err ? err : strerror(-rc));
		free(err);
		err = NULL;
		sleep_ms(pause);
		pause = pause * 2 > 4000 ? 4000 : pause * 2;
	}
	client_free(c);
	json_decref(body);
	json_decref(ans);
	free(key);
	free(value);
	if (rc)
		die("cannot publish '%s': %s", args[0], err ? err : strerror(-rc));
	return 0;
}

/* lookup [--cluster C] [--wait T] KEY: GET /node/values/KEY, polling until it exists or T passes. */
static int cmd_lookup(struct opts *o, int nargs, char **args)
{
	if (nargs != 1)
		die("usage: stratus-node lookup [--cluster C] [--wait SECS] KEY");
	struct client *c = env_client(o, "lookup");
	char *key = client_escape(c, args[0]), *cl = o->cluster ? client_escape(c, o->cluster) : NULL, path[1024];
	if (!key || strlen(key) > 300 || (o->cluster && (!cl || strlen(cl) > 300)))
		die("lookup: the key or cluster name is too long");
	snprintf(path, sizeof(path), "/node/values/%s%s%s", key, cl ? "?cluster=" : "", cl ? cl : "");
	free(key);
	free(cl);
	int64_t end = util_mono_ms() + o->wait, pause = 200;
	for (;;) {
		char *err = NULL;
		json_t *ans = NULL;
		long st = 0;
		int rc = client_get_json(c, path, &ans, &st, &err);
		const char *v = rc ? NULL : json_string_value(json_object_get(ans, "value"));
		if (v) {
			printf("%s\n", v);
			json_decref(ans);
			client_free(c);
			return 0;
		}
		json_decref(ans);
		/* Not published yet (404), or the manager away: wait; refused (403, 400): never. */
		bool hopeless = rc == -EPROTO && st != 404 && st != 408 && st != 429 && st < 500;
		if (hopeless || util_mono_ms() + pause > end) {
			client_free(c);
			int r = error("cannot look up '%s'%s%s%s: %s", args[0], o->cluster ? " of cluster '" : "",
				      o->cluster ? o->cluster : "", o->cluster ? "'" : "",
				      err ? err : !rc ? "the manager's answer has no 'value'" : strerror(-rc));
			free(err);
			(void)r;
			return hopeless ? 2 : 1;
		}
		free(err);
		sleep_ms(pause);
		pause = pause * 2 > 2000 ? 2000 : pause * 2;
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	err_set_progname("stratus-node");
	if (argc < 2)
		die("no command; see 'stratus-node --help'");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		cfg_print_help(&prog);
		return 0;
	}
	/* Scripts call `config` and `search` without flags: the agent's config file
	 * comes from the environment the runner gave them. */
	const char *envconf = getenv("STRATUS_AGENT_CONFIG");
	bool has_config_flag = false;
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--config") || !strncmp(argv[i], "--config=", 9) || !strcmp(argv[i], "-c"))
			has_config_flag = true;
	int idx = cfg_parse_args(&prog, &o, argc - 1, argv + 1) + 1;
	if (!has_config_flag && envconf && *envconf &&
	    (!strcmp(cmd, "search") || !strcmp(cmd, "resume") || !strcmp(cmd, "suspend") ||
	     !strcmp(cmd, "publish") || !strcmp(cmd, "lookup"))) {
		char *e = NULL;
		if (cfg_load_file(&prog, &o, envconf, &e))
			die("%s", e ? e : "cannot read the agent config");
		o.config = strdup(envconf);
	}
	int lvl = log_level_parse(o.log_level);
	log_init("stratus-node", lvl < 0 ? LOG_INFO : (enum log_level)lvl);
	int nargs = argc - idx;
	char **args = argv + idx;
	int rc;
	if (!strcmp(cmd, "run"))
		rc = cmd_run(&o, false);
	else if (!strcmp(cmd, "retry"))
		rc = cmd_run(&o, true);
	else if (!strcmp(cmd, "stop"))
		rc = cmd_stop(&o);
	else if (!strcmp(cmd, "run-specs"))
		rc = cmd_run_specs(&o, nargs, args);
	else if (!strcmp(cmd, "config"))
		rc = cmd_config(&o, nargs, args);
	else if (!strcmp(cmd, "search"))
		rc = cmd_search(&o, nargs, args);
	else if (!strcmp(cmd, "resume") || !strcmp(cmd, "suspend"))
		rc = cmd_scale(&o, !strcmp(cmd, "resume"), nargs, args);
	else if (!strcmp(cmd, "publish"))
		rc = cmd_publish(&o, nargs, args);
	else if (!strcmp(cmd, "lookup"))
		rc = cmd_lookup(&o, nargs, args);
	else
		die("unknown command '%s'; commands: run, retry, stop, run-specs, config, search, resume, suspend, "
		    "publish, lookup", cmd);
	cfg_release(&prog, &o);
	return rc;
}

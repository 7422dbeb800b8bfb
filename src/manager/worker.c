/*
 * worker.c: the threads that do the slow work of stratusd: provider calls
 * (make and destroy nodes, bring cluster networks up and down).
 *
 * A small pool of threads (--workers, 4 by default) takes jobs from one queue,
 * so that `add_node -c 4` or an autoscale burst makes its nodes together.
 * Order still holds where it matters: a job never starts while a job queued
 * before it for the same node is waiting or running (a destroy queued after a
 * create always sees the node the create made), and a cluster's network
 * job waits for every job of that cluster queued before it.
 *
 * Before a running node is destroyed its stop scripts run inside it
 * (`stratus-node stop`, through the provider's exec; the ssh provider runs
 * them itself at release): a failing one leaves the node running, Failed
 * with the reason, unless the terminate was forced (docs/user-guide.md).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/auth.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/values.h"
#include "manager/pool.h"
#include "manager/run.h"
#include "manager/state.h"

enum job_kind { JOB_ACQUIRE, JOB_DESTROY, JOB_CLUSTER_DOWN };

struct job {
	enum job_kind kind;
	int64_t id;              /* node id, or cluster id for JOB_CLUSTER_DOWN */
	int64_t cluster_id;      /* the cluster the job touches */
	bool remove;
	unsigned flags;          /* WORKER_STOP_* (destroy) */
	bool running;            /* taken by a worker; stays queued until done */
	struct job *next;
};

static void push(struct mgr *m, enum job_kind kind, int64_t id, bool remove, unsigned flags)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		log_error("out of memory queueing work for %lld", (long long)id);
		return;
	}
	j->kind = kind;
	j->id = id;
	j->remove = remove;
	j->flags = flags;
	j->cluster_id = id;
	if (kind != JOB_CLUSTER_DOWN &&
	    db_get_int(m->db, &j->cluster_id, "SELECT cluster_id FROM nodes WHERE id = ?", "i", id))
		j->cluster_id = 0; /* record gone: the job will find nothing to do */
	pthread_mutex_lock(&m->qmu);
	if (m->qtail)
		m->qtail->next = j;
	else
		m->qhead = j;
	m->qtail = j;
	pthread_cond_broadcast(&m->qcv);
	pthread_mutex_unlock(&m->qmu);
}

void worker_acquire(struct mgr *m, int64_t id) { push(m, JOB_ACQUIRE, id, false, 0); }
void worker_destroy(struct mgr *m, int64_t id, bool remove) { push(m, JOB_DESTROY, id, remove, 0); }
void worker_destroy_flags(struct mgr *m, int64_t id, bool remove, unsigned flags)
{
	push(m, JOB_DESTROY, id, remove, flags);
}
void worker_cluster_down(struct mgr *m, int64_t id) { push(m, JOB_CLUSTER_DOWN, id, false, 0); }

/* Must LATER wait for EARLIER (queued before it) to finish? */
static bool job_conflicts(const struct job *earlier, const struct job *later)
{
	if (earlier->kind == JOB_CLUSTER_DOWN || later->kind == JOB_CLUSTER_DOWN)
		return earlier->cluster_id == later->cluster_id;
	return earlier->id == later->id;
}

/* The first queued job that may start now, or NULL.  Caller holds qmu. */
static struct job *job_next(struct mgr *m)
{
	for (struct job *j = m->qhead; j; j = j->next) {
		if (j->running)
			continue;
		bool blocked = false;
		for (struct job *e = m->qhead; e != j && !blocked; e = e->next)
			blocked = job_conflicts(e, j);
		if (!blocked)
			return j;
	}
	return NULL;
}

/* Everything a provider needs to know of a node, kept alive for the call. */
struct spec_store {
	struct node_spec s;
	struct node_handle h;
	char cluster[128], name[128], ip[32], gw[32], bridge[32], state_dir[PATH_MAX];
	char hosts[PATH_MAX], keys[PATH_MAX], sshkey[PATH_MAX], hostkeys[PATH_MAX], url[128];
	int64_t id, subnet;
	char state[32];
	bool is_array;
	struct pool_target pool;  /* the node's pool host, if any (pool.c) */
};

static int load_spec(struct mgr *m, int64_t id, struct spec_store *st)
{
	json_t *n = db_query_one(m->db, "SELECT n.name, n.ip, n.state, n.holder_pid, n.netns, n.veth, "
				 "c.name AS cluster, c.subnet_index FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
				 "WHERE n.id = ?", "i", id);
	if (!n)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->id = id;
	snprintf(st->name, sizeof(st->name), "%s", json_string_value(json_object_get(n, "name")));
	snprintf(st->cluster, sizeof(st->cluster), "%s", json_string_value(json_object_get(n, "cluster")));
	snprintf(st->ip, sizeof(st->ip), "%s", json_string_value(json_object_get(n, "ip")));
	snprintf(st->state, sizeof(st->state), "%s", json_string_value(json_object_get(n, "state")));
	st->subnet = json_integer_value(json_object_get(n, "subnet_index"));
	st->h.holder_pid = (pid_t)json_integer_value(json_object_get(n, "holder_pid"));
	snprintf(st->h.netns, sizeof(st->h.netns), "%s", json_string_value(json_object_get(n, "netns")));
	snprintf(st->h.veth, sizeof(st->h.veth), "%s", json_string_value(json_object_get(n, "veth")));
	json_decref(n);
	struct in_addr gw = { htonl(mgr_subnet(m, (int)st->subnet) + 1) };
	inet_ntop(AF_INET, &gw, st->gw, sizeof(st->gw));
	mgr_bridge_name(m, (int)st->subnet, st->bridge, sizeof(st->bridge));
	mgr_path(m, st->state_dir, sizeof(st->state_dir), "nodes/%s", st->name);
	mgr_path(m, st->hosts, sizeof(st->hosts), "clusters/%s/hosts", st->cluster);
	mgr_path(m, st->keys, sizeof(st->keys), "clusters/%s/ssh/id_ed25519.pub", st->cluster);
	mgr_path(m, st->sshkey, sizeof(st->sshkey), "clusters/%s/ssh/id_ed25519", st->cluster);
	mgr_path(m, st->hostkeys, sizeof(st->hostkeys), "nodes/%s/ssh", st->name);
	snprintf(st->url, sizeof(st->url), "https://%s:%d", st->gw, m->port);
	st->s = (struct node_spec){
		.cluster = st->cluster, .name = st->name, .ip = st->ip, .prefix_len = 24,
		.gateway = st->gw, .bridge = st->bridge, .state_dir = st->state_dir,
		.hosts_file = st->hosts, .authorized_keys = st->keys, .host_key_dir = st->hostkeys,
		.ssh_key = st->sshkey,
		.agent_path = m->o.agent_path, .manager_url = st->url, .ca_file = m->cert_path,
		.token = NULL,
	};
	pool_node_spec(m, id, &st->s, &st->pool);
	return 0;
}

static void fail_node(struct mgr *m, int64_t id, const char *why)
{
	struct op_err e = { 0 };
	if (node_set_state(m, id, NS_FAILED, ACTOR_MANAGER, why, &e))
		log_warn("cannot mark node %lld Failed: %s", (long long)id, e.msg ? e.msg : "?");
	free(e.msg);
}

static void save_handle(struct mgr *m, int64_t id, const struct node_handle *h)
{
	db_exec(m->db, "UPDATE nodes SET holder_pid = ?, netns = ?, veth = ? WHERE id = ?", "issi",
		(int64_t)h->holder_pid, h->netns, h->veth, id);
}

static void do_acquire(struct mgr *m, int64_t id)
{
	struct spec_store st;
	char *err = NULL, token[AUTH_TOKEN_LEN + 1];
	if (load_spec(m, id, &st))
		return;
	if (strcmp(st.state, "Acquiring"))
		return; /* terminated while queued */
	if (!m->prov) {
		fail_node(m, id, "stratusd was built without a node provider");
		return;
	}
	/* A retry: take down what is left of the old node first. */
	if (st.h.holder_pid > 0 || st.h.netns[0]) {
		if (m->prov->destroy(&st.s, &st.h, &err))
			log_warn("retry of '%s': destroying the old node failed: %s", st.name, err ? err : "?");
		free(err);
		err = NULL;
		struct node_handle none = { 0 };
		save_handle(m, id, &none);
	}
	int rc = util_mkdirs(st.state_dir, 0700);
	if (!rc)
		rc = util_mkdirs(st.hostkeys, 0700);
	if (rc) {
		char why[PATH_MAX + 64];
		snprintf(why, sizeof(why), "cannot create '%s': %s", st.state_dir, strerror(-rc));
		fail_node(m, id, why);
		return;
	}
	if (auth_node_token(m->db, id, token)) {
		fail_node(m, id, "cannot make the node's token");
		return;
	}
	st.s.token = token;
	hosts_refresh(m);
	/* Nodes of one cluster are made at once: one of them makes the bridge. */
	pthread_mutex_lock(&m->netmu);
	rc = m->prov->network_up(st.bridge, st.gw, 24, &err);
	pthread_mutex_unlock(&m->netmu);
	if (rc) {
		char why[1024];
		snprintf(why, sizeof(why), "cannot set up the cluster network '%s': %s", st.bridge, err ? err : "?");
		free(err);
		fail_node(m, id, why);
		return;
	}
	if (pool_take(m, id, &st.s, &st.pool, &err)) {
		explicit_bzero(token, sizeof(token));
		fail_node(m, id, err ? err : "cannot take a host from the node's pool");
		free(err);
		return;
	}
	struct node_handle h = { 0 };
	int64_t t0 = util_mono_ms();
	char *secrets = values_node_secrets(m, id);
	st.s.secrets = secrets;
	rc = m->prov->create(&st.s, &h, &err);
	explicit_bzero(token, sizeof(token));
	if (secrets) {
		explicit_bzero(secrets, strlen(secrets));
		free(secrets);
	}
	st.s.secrets = NULL;
	if (rc) {
		char why[2048];
		snprintf(why, sizeof(why), "the %s provider could not make the node: %s", m->prov->name,
			 err ? err : strerror(-rc));
		free(err);
		/* Keep whatever it did make, so that terminate can clean it up. */
		save_handle(m, id, &h);
		fail_node(m, id, why);
		return;
	}
	save_handle(m, id, &h);
	mgr_event(m, st.cluster, st.name, "provider", "node made by the %s provider in %lld ms (holder pid %d, ip %s)",
		  m->prov->name, (long long)(util_mono_ms() - t0), (int)h.holder_pid, st.ip);
}

/*
 * Run the stop scripts of a local node that still runs: `stratus-node stop`
 * inside it, its output appended to the agent's log.  0: done (or nothing to
 * run: no agent, node gone); 1: a stop script failed, *why says which (from
 * the agent's stop.result).  Nodes on pool hosts are left to the ssh
 * provider, which runs the same scripts when it releases the host.
 */
static int run_stop_scripts(struct mgr *m, struct spec_store *st, unsigned flags, char *why, size_t len)
{
	char conf[PATH_MAX + 16], logf[PATH_MAX + 16], result[PATH_MAX + 32];
	snprintf(conf, sizeof(conf), "%s/agent.conf", st->state_dir);
	snprintf(logf, sizeof(logf), "%s/agent.log", st->state_dir);
	snprintf(result, sizeof(result), "%s/agent/stop.result", st->state_dir);
	if (st->s.ssh || !m->prov->exec || st->h.holder_pid <= 0 || access(conf, F_OK) < 0)
		return 0;
	if (!m->prov->alive(&st->s, &st->h)) {
		mgr_event(m, st->cluster, st->name, "stop", "the node no longer runs: no stop script run");
		return 0;
	}
	const char *scope = flags & WORKER_STOP_CLUSTER ? "cluster" : "node";
	char *argv[] = { "/bin/sh", "-c", "exec \"$0\" stop --config \"$1\" --scope \"$2\" >>\"$3\" 2>&1",
			 (char *)m->o.agent_path, conf, (char *)scope, logf, NULL };
	char *err = NULL;
	unlink(result);
	mgr_event(m, st->cluster, st->name, "stop", "running the node's stop scripts (scope %s)", scope);
	int64_t t0 = util_mono_ms();
	int rc = m->prov->exec(&st->h, argv, &err);
	int64_t ms = util_mono_ms() - t0;
	if (rc == 0) {
		free(err);
		mgr_event(m, st->cluster, st->name, "stop", "stop scripts done in %lld ms", (long long)ms);
		return 0;
	}
	char *text = NULL;
	size_t tl = 0;
	if (rc > 0 && !util_read_file(result, 8192, &text, &tl) && tl > 8 && !strncmp(text, "failed: ", 8)) {
		text[strcspn(text, "\n")] = '\0';
		snprintf(why, len, "%s", text + 8);
	} else if (rc > 0) {
		snprintf(why, len, "'stratus-node stop' exited %d (see '%.3000s')", rc, logf);
	} else {
		snprintf(why, len, "cannot run 'stratus-node stop' in the node: %s", err ? err : strerror(-rc));
	}
	free(text);
	free(err);
	mgr_event(m, st->cluster, st->name, "stop", "stop scripts failed after %lld ms: %s", (long long)ms, why);
	return 1;
}

static void do_destroy(struct mgr *m, int64_t id, bool remove, unsigned flags)
{
	struct spec_store st;
	char *err = NULL;
	if (load_spec(m, id, &st))
		return;
	if (strcmp(st.state, "Terminating") && strcmp(st.state, "Off"))
		return; /* re-acquired (retry) since */
	char stop_why[4096];
	if (m->prov && !strcmp(st.state, "Terminating") &&
	    run_stop_scripts(m, &st, flags, stop_why, sizeof(stop_why))) {
		if (flags & WORKER_STOP_FORCE) {
			mgr_event(m, st.cluster, st.name, "stop", "destroying the node anyway (--force): what its "
				  "stop scripts would have kept (data on it) is lost");
		} else {
			char reason[4600];
			snprintf(reason, sizeof(reason), "%s; the node was not destroyed and still runs (its data "
				 "is safe); see the script's log in 'stratus show_nodes %s -l', fix the cause and "
				 "terminate it again, or terminate it with --force to destroy it anyway",
				 stop_why, st.cluster);
			struct op_err e = { 0 };
			if (node_set_state(m, id, NS_FAILED, ACTOR_STOP, reason, &e))
				log_warn("cannot mark node '%s' Failed: %s", st.name, e.msg ? e.msg : "?");
			free(e.msg);
			return;
		}
	}
	int rc = 0;
	if (m->prov) {
		int64_t t0 = util_mono_ms();
		/* A pool host runs the stop scripts itself at release, with the same scope. */
		if (st.s.ssh)
			st.pool.t.stop_scope = flags & WORKER_STOP_CLUSTER ? "cluster" : "node";
		rc = m->prov->destroy(&st.s, &st.h, &err);
		rc = pool_release(m, id, rc, &err);
		if (!rc && strcmp(st.state, "Off"))
			mgr_event(m, st.cluster, st.name, "provider", "node destroyed in %lld ms",
				  (long long)(util_mono_ms() - t0));
	}
	auth_node_revoke(m->db, id);
	if (rc) {
		char why[2048];
		snprintf(why, sizeof(why), "terminating failed: %s; run terminate_node again", err ? err : strerror(-rc));
		free(err);
		fail_node(m, id, why);
		return;
	}
	struct node_handle none = { 0 };
	save_handle(m, id, &none);
	/* A terminated node is gone as a cloud VM is: the agent's markers, specs and
	 * cache go with it, so the node made again later runs all its cluster-init
	 * (its daemons are not there any more).  Its host keys stay. */
	char agent_dir[PATH_MAX + 16];
	snprintf(agent_dir, sizeof(agent_dir), "%s/agent", st.state_dir);
	char *wipe[] = { "rm", "-rf", agent_dir, NULL };
	if (!remove)
		run_argv(wipe, NULL, NULL, NULL);
	if (!strcmp(st.state, "Terminating")) {
		struct op_err e = { 0 };
		node_set_state(m, id, NS_OFF, ACTOR_MANAGER, NULL, &e);
		free(e.msg);
	}
	if (remove) {
		db_lock(m->db);
		db_exec(m->db, "DELETE FROM script_logs WHERE node_id = ?", "i", id);
		db_exec(m->db, "DELETE FROM nodes WHERE id = ?", "i", id);
		db_unlock(m->db);
		mgr_event(m, st.cluster, st.name, "node", "node removed");
		char *argv[] = { "rm", "-rf", st.state_dir, NULL };
		run_argv(argv, NULL, NULL, NULL);
		hosts_refresh(m);
	}
}

static void do_cluster_down(struct mgr *m, int64_t cid)
{
	int64_t live = 0, k = 0;
	char *name = NULL, *state = NULL, br[32], *err = NULL;
	if (db_get_text(m->db, &name, "SELECT name FROM clusters WHERE id = ?", "i", cid))
		return;
	db_get_text(m->db, &state, "SELECT state FROM clusters WHERE id = ?", "i", cid);
	db_get_int(m->db, &k, "SELECT subnet_index FROM clusters WHERE id = ?", "i", cid);
	db_get_int(m->db, &live, "SELECT COUNT(*) FROM nodes WHERE cluster_id = ? AND state <> 'Off'", "i", cid);
	if (live == 0 && state && !strcmp(state, "Terminating")) {
		mgr_bridge_name(m, (int)k, br, sizeof(br));
		pthread_mutex_lock(&m->netmu);
		int rc = m->prov ? m->prov->network_down(br, &err) : 0;
		pthread_mutex_unlock(&m->netmu);
		if (rc)
			log_warn("cluster '%s': cannot remove bridge '%s': %s", name, br, err ? err : "?");
		free(err);
		db_exec(m->db, "UPDATE clusters SET state = 'Off' WHERE id = ?", "i", cid);
		values_forget_cluster(m, cid);
		mgr_event(m, name, NULL, "cluster", "cluster terminated: every node is Off");
	} else if (state && !strcmp(state, "Terminating")) {
		mgr_event(m, name, NULL, "cluster", "cluster terminate: %lld node(s) did not turn Off; "
			  "see 'stratus show_nodes %s'", (long long)live, name);
	}
	free(name);
	free(state);
}

static void *worker_main(void *arg)
{
	struct mgr *m = arg;
	log_set_context("worker");
	pthread_mutex_lock(&m->qmu);
	for (;;) {
		struct job *j;
		while (!(j = job_next(m)) && !(m->stopping && !m->qhead))
			pthread_cond_wait(&m->qcv, &m->qmu);
		if (!j)
			break;
		j->running = true;
		pthread_mutex_unlock(&m->qmu);
		switch (j->kind) {
		case JOB_ACQUIRE: do_acquire(m, j->id); break;
		case JOB_DESTROY: do_destroy(m, j->id, j->remove, j->flags); break;
		case JOB_CLUSTER_DOWN: do_cluster_down(m, j->id); break;
		}
		pthread_mutex_lock(&m->qmu);
		/* Dequeue only after the work, so that worker_drain() waits for it
		 * and later jobs of the same node wait for it too. */
		struct job **pp = &m->qhead, *prev = NULL;
		while (*pp != j) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = j->next;
		if (m->qtail == j)
			m->qtail = prev;
		free(j);
		pthread_cond_broadcast(&m->qcv);
	}
	pthread_mutex_unlock(&m->qmu);
	return NULL;
}

int worker_start(struct mgr *m)
{
	int n = m->o.workers > 0 ? (int)m->o.workers : 1;
	pthread_mutex_init(&m->netmu, NULL);
	m->workers = calloc((size_t)n, sizeof(*m->workers));
	if (!m->workers)
		return -ENOMEM;
	for (m->nworkers = 0; m->nworkers < n; m->nworkers++) {
		int rc = pthread_create(&m->workers[m->nworkers], NULL, worker_main, m);
		if (rc) {
			if (m->nworkers > 0)
				break; /* fewer threads still do the work */
			free(m->workers);
			m->workers = NULL;
			return -rc;
		}
	}
	if (m->nworkers < n)
		log_warn("started only %d of %d worker threads", m->nworkers, n);
	return 0;
}

void worker_drain(struct mgr *m)
{
	pthread_mutex_lock(&m->qmu);
	while (m->qhead)
		pthread_cond_wait(&m->qcv, &m->qmu);
	pthread_mutex_unlock(&m->qmu);
}

void worker_stop(struct mgr *m)
{
	pthread_mutex_lock(&m->qmu);
	m->stopping = true;
	pthread_cond_broadcast(&m->qcv);
	pthread_mutex_unlock(&m->qmu);
	for (int i = 0; i < m->nworkers; i++)
		pthread_join(m->workers[i], NULL);
	free(m->workers);
	m->workers = NULL;
	m->nworkers = 0;
}

/*
 * Namespaces of node NAME that the local provider made but we hold no handle
 * for (stratusd died between making them and recording them): destroy them,
 * so that nothing is orphaned.  Netns names are "st-<name, 40 chars>-<8 hex>".
 */
static void sweep_unrecorded(struct mgr *m, struct spec_store *st)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "st-%.40s-", st->name);
	size_t pl = strlen(prefix);
	DIR *d = opendir("/run/netns");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *rest = de->d_name + pl;
		if (strncmp(de->d_name, prefix, pl) || strlen(rest) != 8 || strspn(rest, "0123456789abcdef") != 8 ||
		    !strcmp(de->d_name, st->h.netns))
			continue;
		struct node_handle h = { 0 };
		char *err = NULL;
		snprintf(h.netns, sizeof(h.netns), "%.63s", de->d_name);
		snprintf(h.veth, sizeof(h.veth), "stv%s", rest);
		if (m->prov->destroy(&st->s, &h, &err))
			log_warn("cannot remove unrecorded namespace '%s' of node '%s': %s", h.netns, st->name,
				 err ? err : "?");
		else
			mgr_event(m, st->cluster, st->name, "reconcile", "removed namespace '%s' that no record held",
				  h.netns);
		free(err);
	}
	if (d)
		closedir(d);
}

void mgr_reconcile(struct mgr *m)
{
	json_t *nodes = db_query_json(m->db, "SELECT id FROM nodes WHERE state <> 'Off' OR netns <> '' ORDER BY id", NULL);
	json_t *cls = db_query_json(m->db, "SELECT id, name, state, subnet_index FROM clusters", NULL);
	size_t i;
	json_t *r;
	int kept = 0, lost = 0;

	/* Bridges first: nodes that survived need their network. */
	json_array_foreach(cls, i, r) {
		const char *st = json_string_value(json_object_get(r, "state"));
		if (m->prov && strcmp(st, "Off")) {
			char br[32], gw[32], *err = NULL;
			int k = (int)json_integer_value(json_object_get(r, "subnet_index"));
			struct in_addr a = { htonl(mgr_subnet(m, k) + 1) };
			inet_ntop(AF_INET, &a, gw, sizeof(gw));
			mgr_bridge_name(m, k, br, sizeof(br));
			if (m->prov->network_up(br, gw, 24, &err))
				log_warn("cluster '%s': cannot bring its network '%s' up again: %s",
					 json_string_value(json_object_get(r, "name")), br, err ? err : "?");
			free(err);
		}
	}
	json_array_foreach(nodes, i, r) {
		struct spec_store st;
		int64_t id = json_integer_value(json_object_get(r, "id"));
		if (load_spec(m, id, &st))
			continue;
		if (m->prov)
			sweep_unrecorded(m, &st);
		bool alive = m->prov && (st.h.holder_pid > 0 || st.h.netns[0]) && m->prov->alive(&st.s, &st.h);
		if (alive && strcmp(st.state, "Terminating") && strcmp(st.state, "Off")) {
			kept++;
			mgr_event(m, st.cluster, st.name, "reconcile", "still running after stratusd restarted "
				  "(holder pid %d), state %s", (int)st.h.holder_pid, st.state);
			continue;
		}
		if (!strcmp(st.state, "Terminating")) {
			worker_destroy(m, id, false);
			continue;
		}
		/* Gone (or Off with leftovers): clean what is left, then say what happened. */
		char *err = NULL;
		if (m->prov && (st.h.holder_pid > 0 || st.h.netns[0]) && m->prov->destroy(&st.s, &st.h, &err))
			log_warn("node '%s': cannot clean up after it: %s", st.name, err ? err : "?");
		free(err);
		struct node_handle none = { 0 };
		save_handle(m, id, &none);
		if (!strcmp(st.state, "Off"))
			continue;
		lost++;
		auth_node_revoke(m->db, id);
		char why[256];
		snprintf(why, sizeof(why), "the node vanished while stratusd was down (holder pid %d is gone); "
			 "run 'stratus retry %s'", (int)st.h.holder_pid, st.cluster);
		fail_node(m, id, why);
	}
	json_array_foreach(cls, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "state")), "Terminating"))
			worker_cluster_down(m, json_integer_value(json_object_get(r, "id")));
	log_info("reconciled: %d node(s) still running, %d vanished", kept, lost);
	json_decref(nodes);
	json_decref(cls);
	hosts_refresh(m);
}

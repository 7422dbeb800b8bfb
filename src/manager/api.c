/*
 * api.c: stratusd's HTTPS server: authentication, request bodies with a hard
 * cap, the REST/JSON routes under /api/v1 (docs/api.md) and the static GUI
 * files under /.
 *
 * libmicrohttpd calls handle() several times per request: first with the
 * headers (where authentication and the size check happen, so a caller
 * without a token never gets its body read), then with each piece of the
 * body, then once more to answer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "manager/auth.h"
#include "manager/db.h"
#include "manager/gui.h"
#include "manager/manager.h"
#include "manager/values.h"
#include "manager/pool.h"
#include "manager/run.h"
#include "manager/state.h"

#define MAX_SEGS 8

struct req {
	struct buf body;
	bool too_big;
	bool answered;
	size_t dropped;
	bool is_api;
	struct auth_who who;
	char id[16];
};

struct call {
	struct mgr *m;
	struct MHD_Connection *conn;
	struct req *r;
	const char *method;
	const char *url;
	char *seg[MAX_SEGS];
	int nseg;
	json_t *json;            /* parsed body (JSON routes) */
};

static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status,
				     struct MHD_Response *resp, const char *ctype)
{
	if (!resp)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	/* The GUI loads nothing from elsewhere, runs no inline script and is
	 * never framed (clickjacking). */
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
				"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	enum MHD_Result rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Answer with JSON (steals j). */
static enum MHD_Result reply_json(struct call *k, unsigned status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return MHD_NO;
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (t) {
		s = t;
		s[n++] = '\n';
		s[n] = '\0';
	}
	k->r->answered = true;
	log_debug("%s %s -> %u", k->method, k->url, status);
	return send_response(k->conn, status,
			     MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE),
			     "application/json");
}

static enum MHD_Result reply_error(struct call *k, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct call *k, unsigned status, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s %s -> %u: %s", k->method, k->url, status, msg);
	return reply_json(k, status, json_pack("{s:s,s:i}", "error", msg, "status", (int)status));
}

static enum MHD_Result reply_op(struct call *k, struct op_err *e)
{
	enum MHD_Result rc = reply_error(k, e->status ? (unsigned)e->status : 500, "%s",
					 e->msg ? e->msg : "internal error");
	free(e->msg);
	e->msg = NULL;
	return rc;
}

static enum MHD_Result reply_empty(struct call *k, unsigned status)
{
	k->r->answered = true;
	return send_response(k->conn, status,
			     MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT), NULL);
}

static const char *arg(struct call *k, const char *name)
{
	return MHD_lookup_connection_value(k->conn, MHD_GET_ARGUMENT_KIND, name);
}

static bool arg_true(struct call *k, const char *name)
{
	const char *v = arg(k, name);
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

/* Parse the body as a JSON object; on failure answer 400 and return false. */
static bool need_json(struct call *k, enum MHD_Result *rc)
{
	json_error_t je;
	if (k->r->body.len == 0) {
		k->json = json_object();
		return true;
	}
	k->json = json_loadb(k->r->body.data, k->r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!k->json) {
		*rc = reply_error(k, 400, "the request body is not valid JSON: %s at line %d column %d",
				  je.text, je.line, je.column);
		return false;
	}
	if (!json_is_object(k->json)) {
		*rc = reply_error(k, 400, "the request body must be a JSON object");
		return false;
	}
	return true;
}

/* A string member of the body, or NULL; a member of another type is an error. */
static const char *jstr(struct call *k, const char *key, bool *bad)
{
	json_t *v = json_object_get(k->json, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* ---------------------------------------------------------------- static files */

static const char *mime_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".css", "text/css" },
		{ ".js", "text/javascript" }, { ".json", "application/json" },
		{ ".svg", "image/svg+xml" }, { ".png", "image/png" }, { ".ico", "image/x-icon" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static enum MHD_Result serve_static(struct call *k)
{
	char path[PATH_MAX];
	const char *u = k->url;
	if (strcmp(k->method, "GET") && strcmp(k->method, "HEAD"))
		return reply_error(k, 405, "only GET and HEAD are served outside /api/v1");
	if (strstr(u, "..") || strlen(u) > 512)
		return reply_error(k, 404, "no such file '%s'", u);
	if (!strcmp(u, "/") || u[0] == '\0')
		u = "/index.html";
	snprintf(path, sizeof(path), "%s%s", k->m->o.web_dir, u);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_error(k, 404, "no such file '%s'", u);
	}
	k->r->answered = true;
	return send_response(k->conn, 200, MHD_create_response_from_fd((uint64_t)st.st_size, fd),
			     mime_of(path));
}

/* ---------------------------------------------------------------- helpers */

static int64_t cluster_id_of(struct mgr *m, const char *name)
{
	int64_t id = 0;
	if (!name || db_get_int(m->db, &id, "SELECT id FROM clusters WHERE name = ?", "s", name))
		return 0;
	return id;
}

static int64_t locker_of(struct mgr *m, const char *name, char **path)
{
	int64_t id = 0;
	if (db_get_int(m->db, &id, "SELECT id FROM lockers WHERE name = ?", "s", name))
		return 0;
	if (path && db_get_text(m->db, path, "SELECT path FROM lockers WHERE id = ?", "i", id))
		return 0;
	return id;
}

/* ---------------------------------------------------------------- operator routes */

static enum MHD_Result r_login(struct call *k)
{
	enum MHD_Result rc;
	bool bad = false;
	char token[AUTH_TOKEN_LEN + 1];
	if (!need_json(k, &rc))
		return rc;
	const char *u = jstr(k, "username", &bad), *p = jstr(k, "password", &bad);
	if (bad)
		return reply_error(k, 400, "'username' and 'password' must be strings");
	if (!u || !p)
		return reply_error(k, 401, "give 'username' and 'password' to log in");
	int64_t expires = 0;
	if (auth_login_ttl(k->m->db, u, p, k->m->o.token_ttl, token, &expires)) {
		log_info("failed login for '%s'", u);
		return reply_error(k, 401, "wrong username or password for '%s'", u);
	}
	log_info("user '%s' logged in", u);
	return reply_json(k, 200, json_pack("{s:s,s:s,s:I}", "token", token, "username", u,
					     "expires", (json_int_t)expires));
}

static const char *bearer(struct MHD_Connection *c);

/* POST /logout {"all"?: bool}: revoke the caller's token (or all of the user's). */
static enum MHD_Result r_logout(struct call *k)
{
	enum MHD_Result rc;
	if (!need_json(k, &rc))
		return rc;
	json_t *all = json_object_get(k->json, "all");
	if (all && !json_is_boolean(all))
		return reply_error(k, 400, "'all' must be true or false");
	const char *tok = bearer(k->conn);
	int n;
	if (json_is_true(all)) {
		n = auth_user_revoke_all(k->m->db, k->r->who.user_id);
	} else {
		if (!tok)
			return reply_error(k, 400, "log out with the token itself ('Authorization: Bearer TOKEN'), "
					   "or give {\"all\": true}");
		n = auth_token_revoke(k->m->db, tok);
		n = n == 0 ? 1 : n == -ENOENT ? 0 : n;
	}
	if (n < 0)
		return reply_error(k, 500, "cannot revoke the tokens of '%s'", k->r->who.name);
	log_info("user '%s' logged out (%d token(s) revoked)", k->r->who.name, n);
	return reply_json(k, 200, json_pack("{s:s,s:i}", "username", k->r->who.name, "revoked", n));
}

static enum MHD_Result r_lockers(struct call *k)
{
	if (!strcmp(k->method, "GET"))
		return reply_json(k, 200, json_pack("{s:o}", "lockers", db_query_json(k->m->db,
			"SELECT name, path, created FROM lockers ORDER BY name", NULL)));
	enum MHD_Result rc;
	bool bad = false;
	if (!need_json(k, &rc))
		return rc;
	const char *name = jstr(k, "name", &bad), *path = jstr(k, "path", &bad);
	if (bad || !valid_name(name))
		return reply_error(k, 400, "a locker needs a 'name' of letters, digits, '.', '_' or '-'");
	char def[4096];
	if (!path) {
		mgr_path(k->m, def, sizeof(def), "lockers/%s", name);
		path = def;
	}
	if (path[0] != '/')
		return reply_error(k, 400, "the locker path '%s' must be absolute", path);
	int e = util_mkdirs(path, 0700);
	if (e)
		return reply_error(k, 500, "cannot create the locker directory '%s': %s", path, strerror(-e));
	e = db_exec(k->m->db, "INSERT INTO lockers (name, path, created) VALUES (?, ?, ?)", "ssi",
		    name, path, util_wall_ms());
	if (e == -EEXIST)
		return reply_error(k, 409, "a locker named '%s' exists already", name);
	if (e < 0)
		return reply_error(k, 500, "cannot store the locker '%s'", name);
	return reply_json(k, 201, json_pack("{s:s,s:s}", "name", name, "path", path));
}

static json_t *list_specs(const char *dir)
{
	json_t *a = json_array();
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/specs", dir);
	DIR *d = opendir(p);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			json_array_append_new(a, json_string(de->d_name));
	if (d)
		closedir(d);
	/* a stable order for the CLI */
	size_t n = json_array_size(a);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(json_string_value(json_array_get(a, j - 1)),
						   json_string_value(json_array_get(a, j))) > 0; j--) {
			json_t *x = json_incref(json_array_get(a, j));
			json_array_set(a, j, json_array_get(a, j - 1));
			json_array_set_new(a, j - 1, x);
		}
	return a;
}

/* PUT /lockers/L/projects/P/V, body = the project folder as tar.gz. */
static enum MHD_Result r_project_put(struct call *k, const char *lname, const char *proj, const char *ver)
{
	char *lpath = NULL, dir[PATH_MAX], tmpdir[PATH_MAX], oldd[PATH_MAX], tgz[PATH_MAX], ini[PATH_MAX + 32];
	char *etext = NULL;
	enum MHD_Result rc;
	int64_t lid = locker_of(k->m, lname, &lpath);
	if (!lid)
		return reply_error(k, 404, "no locker named '%s'; see 'stratus locker list'", lname);
	if (!valid_name(proj) || !valid_name(ver)) {
		free(lpath);
		return reply_error(k, 400, "project name and version may hold only letters, digits, '.', '_' and '-'");
	}
	if (k->r->body.len == 0) {
		free(lpath);
		return reply_error(k, 400, "the upload is empty: send the project folder as a tar.gz");
	}
	snprintf(dir, sizeof(dir), "%s/%s/%s", lpath, proj, ver);
	snprintf(tmpdir, sizeof(tmpdir), "%s/%s/.%s.new.%d", lpath, proj, ver, (int)gettid());
	snprintf(oldd, sizeof(oldd), "%s/%s/.%s.old.%d", lpath, proj, ver, (int)gettid());
	snprintf(tgz, sizeof(tgz), "%s/%s/%s.tar.gz", lpath, proj, ver);
	free(lpath);
	int e = util_mkdirs(tmpdir, 0700);
	if (!e)
		e = util_write_file_atomic(tgz, k->r->body.data, k->r->body.len, 0600);
	if (e)
		return reply_error(k, 500, "cannot store the project in locker '%s': %s", lname, strerror(-e));
	/* GNU tar drops leading '/' and refuses members that climb with '..'. */
	char *argv[] = { "tar", "--no-same-owner", "--no-same-permissions", "-xzf", tgz, "-C", tmpdir, NULL };
	int st = run_argv(argv, NULL, NULL, &etext);
	snprintf(ini, sizeof(ini), "%s/project.ini", tmpdir);
	if (st != 0) {
		char *rm[] = { "rm", "-rf", tmpdir, NULL };
		run_argv(rm, NULL, NULL, NULL);
		unlink(tgz);
		rc = reply_error(k, 400, "the upload is not a tar.gz of a project folder: tar said: %s",
				 etext ? etext : "nothing");
		free(etext);
		return rc;
	}
	free(etext);
	if (access(ini, F_OK) != 0) {
		char *rm[] = { "rm", "-rf", tmpdir, NULL };
		run_argv(rm, NULL, NULL, NULL);
		unlink(tgz);
		return reply_error(k, 400, "the upload has no project.ini at its top; run 'stratus project upload' in the project folder");
	}
	/* Replace an older upload of the same version (fixing a project, then retry). */
	rename(dir, oldd);
	if (rename(tmpdir, dir) < 0) {
		e = -errno;
		rename(oldd, dir);
		return reply_error(k, 500, "cannot install the project into '%s': %s", dir, strerror(-e));
	}
	char *rm[] = { "rm", "-rf", oldd, NULL };
	run_argv(rm, NULL, NULL, NULL);
	json_t *specs = list_specs(dir);
	char *specs_s = json_dumps(specs, JSON_COMPACT);
	e = db_exec(k->m->db, "INSERT INTO projects (locker_id, name, version, specs, uploaded) "
		    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (locker_id, name, version) DO UPDATE SET "
		    "specs = excluded.specs, uploaded = excluded.uploaded", "isssi", lid, proj, ver,
		    specs_s ? specs_s : "[]", util_wall_ms());
	free(specs_s);
	if (e < 0) {
		json_decref(specs);
		return reply_error(k, 500, "cannot record project '%s' %s", proj, ver);
	}
	mgr_event(k->m, NULL, NULL, "project", "project '%s' version %s uploaded to locker '%s'", proj, ver, lname);
	return reply_json(k, 200, json_pack("{s:s,s:s,s:s,s:o}", "locker", lname, "project", proj,
					     "version", ver, "specs", specs));
}

static enum MHD_Result r_projects_list(struct call *k, const char *lname)
{
	int64_t lid = locker_of(k->m, lname, NULL);
	if (!lid)
		return reply_error(k, 404, "no locker named '%s'; see 'stratus locker list'", lname);
	return reply_json(k, 200, json_pack("{s:o}", "projects", db_query_json(k->m->db,
		"SELECT name, version, specs AS specs_json, uploaded FROM projects WHERE locker_id = ? "
		"ORDER BY name, version", "i", lid)));
}

static enum MHD_Result r_templates(struct call *k)
{
	const char *name = k->nseg > 1 ? k->seg[1] : NULL;
	enum MHD_Result rc;
	if (!name && !strcmp(k->method, "GET"))
		return reply_json(k, 200, json_pack("{s:o}", "templates", db_query_json(k->m->db,
			"SELECT name, created, updated FROM templates ORDER BY name", NULL)));
	if (!name || k->nseg != 2)
		return reply_error(k, 404, "no such route '%s %s'", k->method, k->url);
	if (!strcmp(k->method, "GET")) {
		json_t *t = db_query_one(k->m->db, "SELECT name, text, created, updated FROM templates "
					 "WHERE name = ?", "s", name);
		if (!t)
			return reply_error(k, 404, "no template named '%s'; see 'stratus import_template'", name);
		return reply_json(k, 200, t);
	}
	if (!strcmp(k->method, "DELETE")) {
		int n = db_exec(k->m->db, "DELETE FROM templates WHERE name = ?", "s", name);
		if (n == 0)
			return reply_error(k, 404, "no template named '%s'", name);
		return reply_empty(k, 204);
	}
	if (strcmp(k->method, "PUT"))
		return reply_error(k, 405, "templates take GET, PUT and DELETE");
	if (!need_json(k, &rc))
		return rc;
	bool bad = false;
	const char *text = jstr(k, "text", &bad);
	json_t *f = json_object_get(k->json, "force");
	bool force = json_is_true(f) || arg_true(k, "force");
	if (bad || !text)
		return reply_error(k, 400, "give the template as a string in 'text'");
	if (!valid_name(name))
		return reply_error(k, 400, "the template name '%s' may hold only letters, digits, '.', '_' and '-'", name);
	char *tname = NULL, *err = NULL;
	if (tmpl_check(text, &tname, &err)) {
		rc = reply_error(k, 400, "%s", err ? err : "the template does not parse");
		free(err);
		free(tname);
		return rc;
	}
	free(tname);
	int64_t now = util_wall_ms();
	int e;
	if (force)
		e = db_exec(k->m->db, "INSERT INTO templates (name, text, created, updated) VALUES (?, ?, ?, ?) "
			    "ON CONFLICT (name) DO UPDATE SET text = excluded.text, updated = excluded.updated",
			    "ssii", name, text, now, now);
	else
		e = db_exec(k->m->db, "INSERT INTO templates (name, text, created, updated) VALUES (?, ?, ?, ?)",
			    "ssii", name, text, now, now);
	if (e == -EEXIST)
		return reply_error(k, 409, "a template named '%s' exists already; use --force to replace it", name);
	if (e < 0)
		return reply_error(k, 500, "cannot store the template '%s'", name);
	mgr_event(k->m, NULL, NULL, "template", "template '%s' imported", name);
	return reply_json(k, 200, json_pack("{s:s}", "name", name));
}

static json_t *cluster_summary(struct mgr *m, const char *name)
{
	const char *sql =
		"SELECT c.name, c.template, c.state, c.created, c.parameters AS parameters_json, "
		"(SELECT COUNT(*) FROM nodes n WHERE n.cluster_id = c.id) AS nodes, "
		"(SELECT COUNT(*) FROM nodes n WHERE n.cluster_id = c.id AND n.state = 'Ready') AS ready, "
		"(SELECT COUNT(*) FROM nodes n WHERE n.cluster_id = c.id AND n.state = 'Failed') AS failed, "
		"(SELECT COUNT(*) FROM nodes n WHERE n.cluster_id = c.id AND n.state <> 'Off') AS live "
		"FROM clusters c";
	if (!name) {
		char q[1024];
		snprintf(q, sizeof(q), "%s ORDER BY c.name", sql);
		return db_query_json(m->db, q, NULL);
	}
	char q[1024];
	snprintf(q, sizeof(q), "%s WHERE c.name = ?", sql);
	return db_query_one(m->db, q, "s", name);
}

static json_t *names_arg(struct call *k, bool *bad)
{
	json_t *n = json_object_get(k->json, "nodes");
	if (!n || json_is_null(n))
		return NULL;
	if (!json_is_array(n) || json_array_size(n) > 10000) {
		*bad = true;
		return NULL;
	}
	size_t i;
	json_t *v;
	json_array_foreach(n, i, v)
		if (!json_is_string(v))
			*bad = true;
	return n;
}

static enum MHD_Result r_clusters(struct call *k)
{
	struct mgr *m = k->m;
	struct op_err e = { 0 };
	enum MHD_Result rc;
	bool bad = false;
	const char *name = k->nseg > 1 ? k->seg[1] : NULL;
	const char *sub = k->nseg > 2 ? k->seg[2] : NULL;

	if (!name) {
		if (!strcmp(k->method, "GET"))
			return reply_json(k, 200, json_pack("{s:o}", "clusters", cluster_summary(m, NULL)));
		if (strcmp(k->method, "POST"))
			return reply_error(k, 405, "clusters take GET and POST");
		if (!need_json(k, &rc))
			return rc;
		const char *cname = jstr(k, "name", &bad), *tname = jstr(k, "template", &bad);
		json_t *params = json_object_get(k->json, "parameters");
		if (bad || !cname || !tname || (params && !json_is_object(params)))
			return reply_error(k, 400, "give 'name' and 'template' as strings and 'parameters' as an object");
		if (cluster_create(m, cname, tname, params, &e))
			return reply_op(k, &e);
		return reply_json(k, 201, cluster_summary(m, cname));
	}
	if (!cluster_id_of(m, name))
		return reply_error(k, 404, "no cluster named '%s'; see 'stratus show_cluster'", name);
	if (!sub) {
		if (!strcmp(k->method, "GET")) {
			json_t *c = cluster_summary(m, name), *nodes = NULL;
			if (cluster_nodes(m, name, NULL, &nodes, &e)) {
				json_decref(c);
				return reply_op(k, &e);
			}
			json_object_set_new(c, "node_list", nodes);
			json_t *def = db_query_one(m->db, "SELECT definition AS definition_json FROM clusters "
						   "WHERE name = ?", "s", name);
			if (def)
				json_object_set(c, "definition", json_object_get(def, "definition"));
			json_decref(def);
			return reply_json(k, 200, c);
		}
		if (!strcmp(k->method, "DELETE")) {
			if (cluster_delete(m, name, arg_true(k, "force"), &e))
				return reply_op(k, &e);
			return reply_empty(k, 204);
		}
		return reply_error(k, 405, "a cluster takes GET and DELETE");
	}
	if (!strcmp(sub, "start") && k->nseg == 3 && !strcmp(k->method, "POST")) {
		if (cluster_start(m, name, &e))
			return reply_op(k, &e);
		return reply_json(k, 200, cluster_summary(m, name));
	}
	if (!strcmp(sub, "terminate") && k->nseg == 3 && !strcmp(k->method, "POST")) {
		if (!need_json(k, &rc))
			return rc;
		json_t *f = json_object_get(k->json, "force");
		if (f && !json_is_boolean(f))
			return reply_error(k, 400, "'force' must be true or false");
		if (cluster_terminate(m, name, json_is_true(f) || arg_true(k, "force"), &e))
			return reply_op(k, &e);
		return reply_json(k, 200, cluster_summary(m, name));
	}
	if (!strcmp(sub, "retry") && k->nseg == 3 && !strcmp(k->method, "POST")) {
		json_t *done = NULL;
		if (!need_json(k, &rc))
			return rc;
		json_t *names = names_arg(k, &bad);
		if (bad)
			return reply_error(k, 400, "'nodes' must be an array of node names");
		if (cluster_retry(m, name, names, &done, &e))
			return reply_op(k, &e);
		return reply_json(k, 200, json_pack("{s:o}", "nodes", done));
	}
	if (!strcmp(sub, "events") && k->nseg == 3 && !strcmp(k->method, "GET")) {
		const char *since = arg(k, "since");
		long long s = since ? strtoll(since, NULL, 10) : 0;
		return reply_json(k, 200, json_pack("{s:o}", "events", db_query_json(m->db,
			"SELECT id, time, cluster, node, kind, message FROM events WHERE cluster = ? AND id > ? "
			"ORDER BY id LIMIT 5000", "si", name, (int64_t)s)));
	}
	if (!strcmp(sub, "values") && k->nseg == 3 && !strcmp(k->method, "GET"))
		return reply_json(k, 200, values_list(m, name));
	if (!strcmp(sub, "sshkey") && k->nseg == 3 && !strcmp(k->method, "GET")) {
		char p[PATH_MAX], *key = NULL, *pub = NULL;
		mgr_path(m, p, sizeof(p), "clusters/%s/ssh/id_ed25519", name);
		if (util_read_file(p, 65536, &key, NULL) < 0)
			return reply_error(k, 404, "cluster '%s' has no SSH key yet; start it first", name);
		mgr_path(m, p, sizeof(p), "clusters/%s/ssh/id_ed25519.pub", name);
		util_read_file(p, 65536, &pub, NULL);
		json_t *j = json_pack("{s:s,s:s}", "private_key", key, "public_key", pub ? pub : "");
		explicit_bzero(key, strlen(key));
		free(key);
		free(pub);
		return reply_json(k, 200, j);
	}
	if (!strcmp(sub, "nodes")) {
		if (k->nseg == 3 && !strcmp(k->method, "GET")) {
			json_t *nodes = NULL;
			if (cluster_nodes(m, name, arg(k, "filter"), &nodes, &e))
				return reply_op(k, &e);
			return reply_json(k, 200, json_pack("{s:o}", "nodes", nodes));
		}
		if (k->nseg == 3 && !strcmp(k->method, "POST")) {
			if (!need_json(k, &rc))
				return rc;
			const char *t = jstr(k, "template", &bad);
			json_t *cnt = json_object_get(k->json, "count");
			json_int_t n = cnt ? (json_is_integer(cnt) ? json_integer_value(cnt) : -1) : 1;
			if (bad || !t || n < 1 || n > 1000)
				return reply_error(k, 400, "give 'template' (a node array name) and 'count' (1 to 1000)");
			json_t *names = NULL;
			if (cluster_add_nodes(m, name, t, (int)n, &names, &e))
				return reply_op(k, &e);
			return reply_json(k, 201, json_pack("{s:o}", "nodes", names));
		}
		if (k->nseg == 4 && !strcmp(k->method, "POST") &&
		    (!strcmp(k->seg[3], "terminate") || !strcmp(k->seg[3], "remove"))) {
			if (!need_json(k, &rc))
				return rc;
			json_t *names = names_arg(k, &bad);
			const char *filter = jstr(k, "filter", &bad);
			json_t *f = json_object_get(k->json, "force");
			if (bad || (f && !json_is_boolean(f)))
				return reply_error(k, 400, "give 'nodes' (array of names) or 'filter' (string), and 'force' (boolean)");
			json_t *done = NULL;
			if (cluster_terminate_nodes(m, name, names, filter, json_is_true(f),
						    !strcmp(k->seg[3], "remove"), &done, &e))
				return reply_op(k, &e);
			return reply_json(k, 200, json_pack("{s:o}", "nodes", done));
		}
		if (k->nseg == 4 && !strcmp(k->method, "GET")) {
			json_t *n = db_query_one(m->db,
				"SELECT n.id, n.name, n.template, n.is_array, n.state, n.target_state, n.reason, "
				"n.ip, n.name AS hostname, n.created, n.state_changed, n.last_heartbeat, "
				"n.holder_pid, n.netns, n.veth FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
				"WHERE c.name = ? AND n.name = ?", "ss", name, k->seg[3]);
			if (!n)
				return reply_error(k, 404, "cluster '%s' has no node '%s'", name, k->seg[3]);
			int64_t id = json_integer_value(json_object_get(n, "id"));
			json_object_set_new(n, "scripts", db_query_json(m->db,
				"SELECT spec, script, status, exit_code, started_ms, finished_ms, log FROM script_logs "
				"WHERE node_id = ? ORDER BY started_ms, spec, script", "i", id));
			json_object_set_new(n, "events", db_query_json(m->db,
				"SELECT id, time, kind, message FROM events WHERE cluster = ? AND node = ? ORDER BY id",
				"ss", name, k->seg[3]));
			json_object_set_new(n, "retry", retry_view(m, id));
			return reply_json(k, 200, n);
		}
	}
	return reply_error(k, 404, "no such route '%s %s'", k->method, k->url);
}

/* ---------------------------------------------------------------- node routes */

static enum MHD_Result r_node(struct call *k)
{
	struct mgr *m = k->m;
	int64_t nid = k->r->who.node_id;
	struct op_err e = { 0 };
	enum MHD_Result rc;
	bool bad = false;
	const char *sub = k->nseg > 1 ? k->seg[1] : NULL;

	if (!sub && !strcmp(k->method, "GET")) {
		json_t *v = node_view_for_agent(m, nid);
		if (!v)
			return reply_error(k, 404, "this node's record is gone");
		return reply_json(k, 200, v);
	}
	if (sub && k->nseg == 2 && !strcmp(sub, "heartbeat") && !strcmp(k->method, "POST")) {
		db_exec(m->db, "UPDATE nodes SET last_heartbeat = ? WHERE id = ?", "ii", util_wall_ms(), nid);
		return reply_empty(k, 204);
	}
	if (sub && k->nseg == 2 && !strcmp(sub, "state") && !strcmp(k->method, "POST")) {
		if (!need_json(k, &rc))
			return rc;
		const char *s = jstr(k, "state", &bad), *reason = jstr(k, "reason", &bad);
		int to = state_parse(s);
		if (bad || to < 0)
			return reply_error(k, 400, "give 'state' as \"Preparing\", \"Ready\" or \"Failed\"");
		if (reason && strlen(reason) > 4096)
			return reply_error(k, 413, "'reason' is longer than 4096 bytes");
		if (node_set_state(m, nid, to, ACTOR_AGENT, reason, &e))
			return reply_op(k, &e);
		db_exec(m->db, "UPDATE nodes SET last_heartbeat = ? WHERE id = ?", "ii", util_wall_ms(), nid);
		return reply_json(k, 200, json_pack("{s:s}", "state", s));
	}
	if (sub && k->nseg == 2 && !strcmp(sub, "script") && !strcmp(k->method, "POST")) {
		if (!need_json(k, &rc))
			return rc;
		const char *spec = jstr(k, "spec", &bad), *script = jstr(k, "script", &bad);
		const char *status = jstr(k, "status", &bad), *log = jstr(k, "log", &bad);
		json_t *ec = json_object_get(k->json, "exit_code");
		json_t *sm = json_object_get(k->json, "started_ms"), *fm = json_object_get(k->json, "finished_ms");
		if (bad || !spec || !script || !status || strlen(spec) > 255 || strlen(script) > 255 ||
		    (strcmp(status, "started") && strcmp(status, "succeeded") && strcmp(status, "failed")) ||
		    (ec && !json_is_integer(ec) && !json_is_null(ec)) ||
		    (sm && !json_is_integer(sm)) || (fm && !json_is_integer(fm)))
			return reply_error(k, 400, "give 'spec', 'script', 'status' (started|succeeded|failed) "
					   "as strings and 'exit_code', 'started_ms', 'finished_ms' as integers");
		if (log && strlen(log) > (1u << 20))
			return reply_error(k, 413, "'log' is longer than 1 MiB; send its last 1 MiB");
		char *node = NULL, *cluster = NULL;
		db_get_text(m->db, &node, "SELECT name FROM nodes WHERE id = ?", "i", nid);
		db_get_text(m->db, &cluster, "SELECT c.name FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
			    "WHERE n.id = ?", "i", nid);
		int x = db_exec(m->db, "INSERT INTO script_logs (node_id, spec, script, status, exit_code, "
			"started_ms, finished_ms, log) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, spec, script) "
			"DO UPDATE SET status = excluded.status, exit_code = excluded.exit_code, "
			"started_ms = excluded.started_ms, finished_ms = excluded.finished_ms, log = excluded.log",
			"isssiiis", nid, spec, script, status, (int64_t)(ec ? json_integer_value(ec) : 0),
			(int64_t)(sm ? json_integer_value(sm) : util_wall_ms()),
			(int64_t)(fm ? json_integer_value(fm) : 0), log ? log : "");
		/* The agent reports stop scripts as "stop/NAME" (runner_run_stop). */
		const char *what = strncmp(script, "stop/", 5) ? "cluster-init" : "stop script";
		if (!strcmp(status, "started"))
			mgr_event(m, cluster, node, "script", "%s %s/%s started", what, spec, script);
		else
			mgr_event(m, cluster, node, "script", "%s %s/%s %s (exit %lld)", what, spec, script,
				  status, (long long)(ec ? json_integer_value(ec) : 0));
		free(node);
		free(cluster);
		if (x < 0)
			return reply_error(k, 500, "cannot store the script log");
		return reply_empty(k, 204);
	}
	if (sub && k->nseg == 2 && (!strcmp(sub, "resume") || !strcmp(sub, "suspend")) &&
	    !strcmp(k->method, "POST")) {
		if (!need_json(k, &rc))
			return rc;
		const char *reason = jstr(k, "reason", &bad);
		json_t *names = names_arg(k, &bad), *done = NULL;
		if (bad)
			return reply_error(k, 400, "give 'nodes' (array of names) and 'reason' (string)");
		if (autoscale_request(m, nid, names, reason, !strcmp(sub, "resume"), &done, &e))
			return reply_op(k, &e);
		return reply_json(k, 200, json_pack("{s:o}", "nodes", done));
	}
	if (sub && k->nseg == 3 && !strcmp(sub, "values")) {
		json_t *out = NULL;
		if (strcmp(k->method, "GET") && !need_json(k, &rc))
			return rc;
		int st = values_node_api(m, nid, k->method, k->seg[2], arg(k, "cluster"), k->json, &out);
		return out ? reply_json(k, (unsigned)st, out) : reply_empty(k, (unsigned)st);
	}
	if (sub && k->nseg == 2 && !strcmp(sub, "cluster-nodes") && !strcmp(k->method, "GET")) {
		char *cluster = NULL;
		json_t *nodes = NULL, *out = json_array();
		db_get_text(m->db, &cluster, "SELECT c.name FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
			    "WHERE n.id = ?", "i", nid);
		if (!cluster || cluster_nodes(m, cluster, arg(k, "filter"), &nodes, &e)) {
			free(cluster);
			json_decref(out);
			if (!e.status)
				op_err_set(&e, 404, "this node's cluster is gone");
			return reply_op(k, &e);
		}
		free(cluster);
		size_t i;
		json_t *n;
		json_array_foreach(nodes, i, n)
			json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O,s:O}", "name", json_object_get(n, "name"),
				"template", json_object_get(n, "template"), "hostname", json_object_get(n, "hostname"),
				"ip", json_object_get(n, "ip"), "state", json_object_get(n, "state")));
		json_decref(nodes);
		return reply_json(k, 200, json_pack("{s:o}", "nodes", out));
	}
	if (sub && k->nseg == 2 && !strcmp(sub, "spec") && !strcmp(k->method, "GET")) {
		const char *p = arg(k, "project"), *v = arg(k, "version"), *s = arg(k, "spec");
		if (!valid_name(p) || !valid_name(s) || (v && *v && !valid_name(v)))
			return reply_error(k, 400, "give 'project', 'spec' and 'version' as names");
		/* Only a spec that this node's cluster-init lists may be read. */
		json_t *view = node_view_for_agent(m, nid);
		json_t *ci = json_object_get(view, "cluster_init"), *x;
		size_t i;
		const char *ver = NULL;
		json_array_foreach(ci, i, x) {
			const char *xp = json_string_value(json_object_get(x, "project"));
			const char *xs = json_string_value(json_object_get(x, "spec"));
			const char *xv = json_string_value(json_object_get(x, "version"));
			if (xp && xs && !strcmp(xp, p) && !strcmp(xs, s) &&
			    (!v || !*v || (xv && !strcmp(xv, v))))
				ver = xv;
		}
		char *verc = ver ? strdup(ver) : NULL;
		json_decref(view);
		if (!verc)
			return reply_error(k, 403, "spec '%s:%s:%s' is not in this node's cluster-init", p, s, v ? v : "");
		char *lpath = NULL;
		db_get_text(m->db, &lpath, "SELECT l.path FROM projects pr JOIN lockers l ON l.id = pr.locker_id "
			    "WHERE pr.name = ? AND pr.version = ? ORDER BY pr.uploaded DESC", "ss", p, verc);
		char dir[PATH_MAX], tmp[PATH_MAX];
		if (!lpath) {
			rc = reply_error(k, 404, "project '%s' version %s is in no locker; run 'stratus project upload'", p, verc);
			free(verc);
			return rc;
		}
		snprintf(dir, sizeof(dir), "%s/%s/%s/specs/%s", lpath, p, verc, s);
		free(lpath);
		free(verc);
		char ci_dir[PATH_MAX + 16];
		snprintf(ci_dir, sizeof(ci_dir), "%s/cluster-init", dir);
		if (access(ci_dir, F_OK) != 0)
			return reply_error(k, 404, "project '%s' has no spec '%s' with a cluster-init folder", p, s);
		mgr_path(m, tmp, sizeof(tmp), "tmp/spec.%d.%lld.tar", (int)gettid(), (long long)util_mono_ms());
		char *argv[] = { "tar", "-cf", tmp, "-C", dir, "cluster-init", NULL };
		char *etext = NULL;
		int st = run_argv(argv, NULL, NULL, &etext);
		int fd = st == 0 ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
		unlink(tmp);
		struct stat sb;
		if (fd < 0 || fstat(fd, &sb) < 0) {
			if (fd >= 0)
				close(fd);
			rc = reply_error(k, 500, "cannot pack spec '%s': %s", s, etext ? etext : "tar failed");
			free(etext);
			return rc;
		}
		free(etext);
		k->r->answered = true;
		return send_response(k->conn, 200, MHD_create_response_from_fd((uint64_t)sb.st_size, fd),
				     "application/x-tar");
	}
	return reply_error(k, 404, "no such node route '%s %s'", k->method, k->url);
}

/* ---------------------------------------------------------------- dispatch */

static enum MHD_Result route(struct call *k)
{
	const char *first = k->nseg ? k->seg[0] : "";
	enum MHD_Result grc;
	if (strcmp(first, "node") && gui_route(k->m, k->conn, k->method, k->seg, k->nseg, k->r->body.data,
					      k->r->body.len, &k->r->who, &grc)) {
		k->r->answered = true;
		return grc;
	}
	if (!strcmp(first, "node"))
		return r_node(k);
	if (!strcmp(first, "login") && k->nseg == 1 && !strcmp(k->method, "POST"))
		return r_login(k);
	if (!strcmp(first, "logout") && k->nseg == 1 && !strcmp(k->method, "POST"))
		return r_logout(k);
	if (!strcmp(first, "whoami") && k->nseg == 1 && !strcmp(k->method, "GET"))
		return reply_json(k, 200, json_pack("{s:s,s:s,s:i,s:I}", "username", k->r->who.name,
						    "version", "stratusd 0.1", "users", (int)auth_user_count(k->m->db),
						    "expires", (json_int_t)k->r->who.expires));
	if (!strcmp(first, "lockers")) {
		if (k->nseg == 1 && (!strcmp(k->method, "GET") || !strcmp(k->method, "POST")))
			return r_lockers(k);
		if (k->nseg == 3 && !strcmp(k->seg[2], "projects") && !strcmp(k->method, "GET"))
			return r_projects_list(k, k->seg[1]);
		if (k->nseg == 5 && !strcmp(k->seg[2], "projects") && !strcmp(k->method, "PUT"))
			return r_project_put(k, k->seg[1], k->seg[3], k->seg[4]);
	}
	if (!strcmp(first, "templates"))
		return r_templates(k);
	if (!strcmp(first, "pools") || !strcmp(first, "hosts")) {
		enum MHD_Result rc;
		json_t *out = NULL;
		if (!need_json(k, &rc))
			return rc;
		int st = pool_api(k->m, k->method, k->seg, k->nseg, k->json, &out);
		return out ? reply_json(k, (unsigned)st, out) : reply_empty(k, (unsigned)st);
	}
	if (!strcmp(first, "clusters"))
		return r_clusters(k);
	if (!strcmp(first, "events") && k->nseg == 1 && !strcmp(k->method, "GET")) {
		const char *since = arg(k, "since");
		long long s = since ? strtoll(since, NULL, 10) : 0;
		return reply_json(k, 200, json_pack("{s:o}", "events", db_query_json(k->m->db,
			"SELECT id, time, cluster, node, kind, message FROM events WHERE id > ? ORDER BY id LIMIT 5000",
			"i", (int64_t)s)));
	}
	return reply_error(k, 404, "no such route '%s %s'", k->method, k->url);
}

/* Split "/api/v1/a/b" into segments (in place, URL-decoded by MHD already). */
static int split(char *path, char **seg)
{
	int n = 0;
	for (char *save = NULL, *t = strtok_r(path, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS)
			return -1;
		seg[n++] = t;
	}
	return n;
}

static const char *bearer(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h && !strncasecmp(h, "Bearer ", 7))
		return h + 7;
	/* Browsers use sessions (gui.c), never a token in a cookie: a cookie
	 * alone must not authorize a change without its CSRF token. */
	return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct mgr *m = cls;
	struct req *r = *con_cls;
	struct call k = { .m = m, .conn = conn, .method = method, .url = url };
	char pathbuf[1024];

	if (!r) {
		/* Headers: decide now whether this request may send a body at all. */
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		k.r = r;
		r->is_api = !strncmp(url, "/api/", 5);
		if (!r->is_api) {
			buf_init(&r->body, 0);
			return MHD_YES;
		}
		bool is_login = !strcmp(url, "/api/v1/login");
		bool is_node = !strcmp(url, "/api/v1/node") || !strncmp(url, "/api/v1/node/", 13);
		bool is_upload = !strcmp(method, "PUT") && !strncmp(url, "/api/v1/lockers/", 16);
		buf_init(&r->body, (size_t)(is_upload ? m->o.max_upload : m->o.max_body));
		/* Browser sessions and their CSRF check (gui.c). */
		enum gui_auth ga = gui_authenticate(m, conn, url, method, &r->who);
		if (ga == GUI_AUTH_STALE || ga == GUI_AUTH_CSRF)
			return reply_error(&k, ga == GUI_AUTH_CSRF ? 403 : 401, "%s", gui_auth_message(ga));
		if (!is_login && ga != GUI_AUTH_PUBLIC) {
			const char *tok = bearer(conn);
			int arc = ga == GUI_AUTH_OK ? 0 : tok ? auth_lookup(m->db, tok, &r->who) : -EACCES;
			if (arc)
				return reply_error(&k, 401, "%s", !tok ? "authentication required: send "
						   "'Authorization: Bearer TOKEN' (see 'stratus initialize')" :
						   arc == -EKEYEXPIRED ? "the token has expired; log in again with "
						   "'stratus initialize'" : "the token is not valid (expired or revoked); "
						   "run 'stratus initialize' again");
			if (is_node && r->who.kind != AUTH_NODE)
				return reply_error(&k, 403, "routes under /api/v1/node take a node's token, not a user's");
			if (!is_node && r->who.kind != AUTH_USER)
				return reply_error(&k, 403, "a node's token is good only for /api/v1/node routes");
		}
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);
			if (*end || n > r->body.max) {
				r->too_big = true;
				return reply_error(&k, 413, "the request body is larger than the limit of %zu bytes",
						   r->body.max);
			}
		}
		return MHD_YES;
	}
	k.r = r;
	if (r->answered)
		return MHD_YES;
	if (*upload_size) {
		/* Past the cap the rest is read and dropped, so that the client gets
		 * its 413 (MHD cannot answer in the middle of a body); a client that
		 * keeps sending far past the cap is cut off. */
		if (!r->too_big && buf_append(&r->body, upload, *upload_size)) {
			r->too_big = true;
			buf_release(&r->body);
		}
		if (r->too_big) {
			r->dropped += *upload_size;
			if (r->dropped > 4 * r->body.max + (64u << 20)) {
				log_warn("%s %s: body far past the limit; connection dropped", method, url);
				return MHD_NO;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return reply_error(&k, 413, "the request body is larger than the limit of %zu bytes", r->body.max);
	if (!r->is_api)
		return serve_static(&k);
	if (strncmp(url, "/api/v1/", 8) && strcmp(url, "/api/v1"))
		return reply_error(&k, 404, "this manager serves API version v1 at /api/v1");
	if (strlen(url) >= sizeof(pathbuf))
		return reply_error(&k, 414, "the URL is too long");
	snprintf(pathbuf, sizeof(pathbuf), "%s", url + 7);
	k.nseg = split(pathbuf, k.seg);
	if (k.nseg < 0)
		return reply_error(&k, 404, "no such route '%s'", url);
	log_set_context("%s", r->who.name);
	enum MHD_Result rc = route(&k);
	log_set_context(NULL);
	json_decref(k.json);
	return rc;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct req *r = *con_cls;
	if (!r)
		return;
	if (r->body.data)
		explicit_bzero(r->body.data, r->body.len);
	buf_release(&r->body);
	free(r);
	*con_cls = NULL;
}

struct MHD_Daemon *api_start(struct mgr *m, int fd, char **err)
{
	char *cert = NULL, *key = NULL;
	*err = NULL;
	int rc = gui_init(m);
	if (rc) {
		if (asprintf(err, "cannot create the web GUI's sessions table: %s", strerror(-rc)) < 0)
			*err = NULL;
		return NULL;
	}
	rc = util_read_file(m->cert_path, 1 << 20, &cert, NULL);
	if (rc == 0)
		rc = util_read_file(m->key_path, 1 << 20, &key, NULL);
	if (rc) {
		if (asprintf(err, "cannot read the TLS certificate '%s' or key '%s': %s", m->cert_path,
			     m->key_path, strerror(-rc)) < 0)
			*err = NULL;
		free(cert);
		free(key);
		return NULL;
	}
	/* MHD copies neither: they live as long as the daemon (stratusd's life). */
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
		0, NULL, NULL, handle, m,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)m->o.threads,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)128,
		MHD_OPTION_NOTIFY_COMPLETED, completed, m,
		MHD_OPTION_END);
	if (!d) {
		if (asprintf(err, "cannot start the HTTPS server (libmicrohttpd); is the certificate '%s' "
			     "a PEM certificate with key '%s'?", m->cert_path, m->key_path) < 0)
			*err = NULL;
		free(cert);
		free(key);
	}
	return d;
}

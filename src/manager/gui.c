/*
 * gui.c: stratusd's routes for the web GUI (gui.h): browser sessions with
 * CSRF protection (session.h), a template's parameters for the new-cluster
 * form, and the results of `stratus bench` for the benchmarks page.
 *
 * Routes (under /api/v1):
 *   POST   /session                 {"username","password"} -> cookie + {"username","csrf_token","expires_ms"}
 *                                   (429 after 5 wrong passwords for a name in 5 minutes, for 1 minute)
 *   GET    /session                 -> {"username","csrf_token","expires_ms"}
 *   DELETE /session                 log out: the cookie is dead from then on
 *   GET    /templates/NAME/parameters   -> liblang's tmpl_params_json()
 *   GET    /bench                   -> {"runs":[run...]}
 *   POST   /bench                   store a run: {"name","time_ms","command","points":[{"oss_count",
 *                                   "write_mib_s","read_mib_s"}]}, or text/csv with ?name=
 *   PUT    /clusters/NAME/autoscale {"array","max_count","idle_time","enabled"}: the array's MaxCount
 *                                   (which add_node enforces) and the cluster's autoscale settings, kept
 *                                   in its definition as "autoscale": {"enabled","idle_time"} and in the
 *                                   nodes' configuration keys slurm.idle_time / slurm.autoscale if present
 */
#include "manager/gui.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "lang/template.h"
#include "manager/auth.h"
#include "manager/db.h"
#include "manager/manager.h"
#include "manager/session.h"

#define BENCH_MAX_POINTS 1000
#define BENCH_MAX_RUNS 200
#define BENCH_MAX_FILE (1 << 20)

int gui_init(struct mgr *m)
{
	return session_init(m->db);
}

/* ---------------------------------------------------------------- replies */

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j,
				 const char *set_cookie)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	struct MHD_Response *resp = s ?
		MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE) :
		MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	if (s)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (set_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, set_cookie);
	enum MHD_Result rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("gui: %u: %s", status, msg);
	return send_json(c, status, json_pack("{s:s,s:i}", "error", msg, "status", (int)status), NULL);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* ---------------------------------------------------------------- authentication */

static bool is_login(const char *url, const char *method)
{
	return !strcmp(method, "POST") && !strcmp(url, "/api/v1/session");
}

enum gui_auth gui_authenticate(struct mgr *m, struct MHD_Connection *c, const char *url,
			       const char *method, struct auth_who *who)
{
	struct session_info si;
	if (is_login(url, method))
		return GUI_AUTH_PUBLIC;
	/* The CLI and the agents send a token: the cookie plays no part then. */
	const char *authz = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	if (authz && *authz)
		return GUI_AUTH_NONE;
	int rc = session_authenticate(m->db, header(c, MHD_HTTP_HEADER_COOKIE), method,
				      header(c, SESSION_CSRF_HEADER), &si);
	if (rc == -ENOENT)
		return GUI_AUTH_NONE;
	if (rc == -EPERM) {
		log_info("refused %s %s for '%s': no valid %s header", method, url, si.user,
			 SESSION_CSRF_HEADER);
		return GUI_AUTH_CSRF;
	}
	if (rc)
		return GUI_AUTH_STALE;
	memset(who, 0, sizeof(*who));
	who->kind = AUTH_USER;
	who->user_id = si.user_id;
	snprintf(who->name, sizeof(who->name), "%s", si.user);
	explicit_bzero(&si, sizeof(si));
	return GUI_AUTH_OK;
}

const char *gui_auth_message(enum gui_auth a)
{
	switch (a) {
	case GUI_AUTH_STALE:
		return "your session has ended (logged out, expired or unknown); log in again";
	case GUI_AUTH_CSRF:
		return "refused: a request that changes state must carry the session's X-CSRF-Token header "
		       "(reload the page to get it)";
	default:
		return "authentication required";
	}
}

/* ---------------------------------------------------------------- login throttling */

/*
 * Online password guessing through the login form: after LOGIN_MAX_FAILS
 * wrong passwords for one user name within LOGIN_WINDOW_MS, that name is
 * refused (429) for LOGIN_LOCK_MS, right password or not.  A small table,
 * oldest entry replaced when full; this process's memory only (a restart
 * forgets it, which is fine: each guess already costs a slow hash).
 */
#define LOGIN_SLOTS 256
#define LOGIN_MAX_FAILS 5
#define LOGIN_WINDOW_MS (5 * 60 * 1000LL)
#define LOGIN_LOCK_MS (60 * 1000LL)

struct login_slot {
	char name[128];
	int fails;
	int64_t first_ms, locked_until_ms;
};

static pthread_mutex_t login_mu = PTHREAD_MUTEX_INITIALIZER;
static struct login_slot login_slots[LOGIN_SLOTS];

static struct login_slot *login_slot_of(const char *name, bool make)
{
	struct login_slot *old = &login_slots[0];
	for (size_t i = 0; i < LOGIN_SLOTS; i++) {
		if (login_slots[i].name[0] && !strcmp(login_slots[i].name, name))
			return &login_slots[i];
		if (login_slots[i].first_ms < old->first_ms)
			old = &login_slots[i];
	}
	if (!make)
		return NULL;
	memset(old, 0, sizeof(*old));
	snprintf(old->name, sizeof(old->name), "%s", name);
	return old;
}

/* 0 if NAME may try to log in now, else the seconds left of its lock. */
static int64_t login_locked(const char *name)
{
	int64_t now = util_wall_ms(), left = 0;
	pthread_mutex_lock(&login_mu);
	struct login_slot *l = login_slot_of(name, false);
	if (l && l->locked_until_ms > now)
		left = (l->locked_until_ms - now + 999) / 1000;
	pthread_mutex_unlock(&login_mu);
	return left;
}

static void login_result(const char *name, bool ok)
{
	int64_t now = util_wall_ms();
	pthread_mutex_lock(&login_mu);
	struct login_slot *l = login_slot_of(name, !ok);
	if (l && ok) {
		memset(l, 0, sizeof(*l));
	} else if (l) {
		if (now - l->first_ms > LOGIN_WINDOW_MS) {
			l->fails = 0;
			l->first_ms = now;
		}
		if (++l->fails >= LOGIN_MAX_FAILS) {
			l->locked_until_ms = now + LOGIN_LOCK_MS;
			l->fails = 0;
			l->first_ms = now;
		}
	}
	pthread_mutex_unlock(&login_mu);
}

/* ---------------------------------------------------------------- /session */

static enum MHD_Result r_login(struct mgr *m, struct MHD_Connection *c, const char *body, size_t len)
{
	char id[SESSION_ID_LEN + 1], cookie[256];
	struct session_info si;
	json_error_t je;
	const char *ct = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	/* A cross-site form cannot send application/json without a CORS
	 * preflight, which stratusd never grants: this stops login CSRF. */
	if (!ct || strncasecmp(ct, "application/json", 16))
		return send_error(c, 415, "log in with a JSON body and 'Content-Type: application/json'");
	json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
	const char *u = json_string_value(json_object_get(j, "username"));
	const char *p = json_string_value(json_object_get(j, "password"));
	if (!j || !json_is_object(j) || !u || !p || !*u) {
		json_decref(j);
		return send_error(c, 400, "give 'username' and 'password' as JSON strings to log in");
	}
	/* Names go into the log: no control characters (no forged log lines). */
	for (const char *q = u; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			json_decref(j);
			return send_error(c, 400, "a user name holds no control characters");
		}
	int64_t wait_s = login_locked(u);
	if (wait_s) {
		log_info("gui: login for '%.64s' refused: too many wrong passwords", u);
		enum MHD_Result r = send_error(c, 429, "too many wrong passwords for '%.64s'; wait %lld s and try again",
					       u, (long long)wait_s);
		json_decref(j);
		return r;
	}
	int rc = session_login(m->db, u, p, id, &si);
	if (rc == -EACCES || rc == 0)
		login_result(u, rc == 0);
	if (rc == -EACCES) {
		log_info("gui: failed login for '%.64s'", u);
		json_decref(j);
		return send_error(c, 401, "wrong user name or password");
	}
	if (rc) {
		json_decref(j);
		return send_error(c, 500, "cannot open a session: %s; see stratusd's log", strerror(-rc));
	}
	log_info("gui: user '%s' logged in (browser session)", si.user);
	session_set_cookie(cookie, sizeof(cookie), id, SESSION_MAX_AGE_S);
	explicit_bzero(id, sizeof(id));
	json_decref(j);
	enum MHD_Result r = send_json(c, 200, json_pack("{s:s,s:s,s:I}", "username", si.user,
		"csrf_token", si.csrf, "expires_ms", (json_int_t)si.expires_ms), cookie);
	explicit_bzero(cookie, sizeof(cookie));
	return r;
}

static enum MHD_Result r_session(struct mgr *m, struct MHD_Connection *c, const char *method,
				 const struct auth_who *who)
{
	char id[SESSION_ID_LEN + 1], cookie[256];
	struct session_info si;
	const char *authz = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	bool by_cookie = !(authz && *authz) &&
		!session_cookie_value(header(c, MHD_HTTP_HEADER_COOKIE), id);
	if (!by_cookie)
		return send_error(c, 404, "this request has no browser session (it came with a token); "
				  "browsers log in with POST /api/v1/session");
	if (!strcmp(method, "GET")) {
		if (session_lookup(m->db, id, &si))
			return send_error(c, 401, "%s", gui_auth_message(GUI_AUTH_STALE));
		explicit_bzero(id, sizeof(id));
		return send_json(c, 200, json_pack("{s:s,s:s,s:I}", "username", si.user, "csrf_token", si.csrf,
			"expires_ms", (json_int_t)si.expires_ms), NULL);
	}
	if (!strcmp(method, "DELETE")) {
		int rc = session_logout(m->db, id);
		explicit_bzero(id, sizeof(id));
		if (rc)
			return send_error(c, 500, "cannot end the session: %s", strerror(-rc));
		log_info("gui: user '%s' logged out", who->name);
		session_set_cookie(cookie, sizeof(cookie), NULL, 0);
		return send_json(c, 204, NULL, cookie);
	}
	return send_error(c, 405, "/api/v1/session takes POST (log in), GET and DELETE (log out)");
}

/* ---------------------------------------------------------------- template parameters */

static enum MHD_Result r_template_params(struct mgr *m, struct MHD_Connection *c, const char *name)
{
	char *text = NULL, *err = NULL;
	struct tmpl *t = NULL;
	if (db_get_text(m->db, &text, "SELECT text FROM templates WHERE name = ?", "s", name))
		return send_error(c, 404, "no template named '%s'; import it with 'stratus import_template'", name);
	int rc = tmpl_parse(text, strlen(text), name, &t, &err);
	free(text);
	if (rc) {
		enum MHD_Result r = send_error(c, 422, "template '%s' no longer parses: %s", name,
					       err ? err : strerror(-rc));
		free(err);
		return r;
	}
	json_t *j = tmpl_params_json(t);
	tmpl_free(t);
	if (!j)
		return send_error(c, 500, "out of memory listing the parameters of '%s'", name);
	json_object_set_new(j, "name", json_string(name));
	return send_json(c, 200, j, NULL);
}

/* ---------------------------------------------------------------- benchmarks */

static bool bench_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Check a run sent by `stratus bench`; the copy kept holds only known fields. */
static json_t *bench_clean(json_t *in, char *why, size_t wn)
{
	const char *name = json_string_value(json_object_get(in, "name"));
	json_t *pts = json_object_get(in, "points");
	json_t *cmd = json_object_get(in, "command"), *tm = json_object_get(in, "time_ms");
	if (!name || !bench_name_ok(name)) {
		snprintf(why, wn, "'name' must be 1 to 64 letters, digits, '.', '_' or '-'");
		return NULL;
	}
	if (!json_is_array(pts) || json_array_size(pts) == 0 || json_array_size(pts) > BENCH_MAX_POINTS) {
		snprintf(why, wn, "'points' must be an array of 1 to %d points", BENCH_MAX_POINTS);
		return NULL;
	}
	if (cmd && (!json_is_string(cmd) || strlen(json_string_value(cmd)) > 4096)) {
		snprintf(why, wn, "'command' must be a string of at most 4096 bytes");
		return NULL;
	}
	json_t *out = json_pack("{s:s,s:I}", "name", name, "time_ms",
				(json_int_t)(json_is_integer(tm) ? json_integer_value(tm) : util_wall_ms()));
	json_t *op = json_array();
	if (cmd)
		json_object_set(out, "command", cmd);
	json_object_set_new(out, "points", op);
	size_t i;
	json_t *p;
	json_array_foreach(pts, i, p) {
		json_t *oss = json_object_get(p, "oss_count");
		json_t *w = json_object_get(p, "write_mib_s"), *r = json_object_get(p, "read_mib_s");
		if (!json_is_integer(oss) || json_integer_value(oss) < 0 || json_integer_value(oss) > 100000 ||
		    (w && !json_is_null(w) && !json_is_number(w)) || (r && !json_is_null(r) && !json_is_number(r)) ||
		    (json_is_number(w) && (!isfinite(json_number_value(w)) || json_number_value(w) < 0)) ||
		    (json_is_number(r) && (!isfinite(json_number_value(r)) || json_number_value(r) < 0))) {
			snprintf(why, wn, "point %zu: 'oss_count' must be an integer and 'write_mib_s', "
				 "'read_mib_s' numbers >= 0 (or null)", i + 1);
			json_decref(out);
			return NULL;
		}
		json_t *q = json_pack("{s:O}", "oss_count", oss);
		json_object_set_new(q, "write_mib_s", json_is_number(w) ? json_real(json_number_value(w)) : json_null());
		json_object_set_new(q, "read_mib_s", json_is_number(r) ? json_real(json_number_value(r)) : json_null());
		json_array_append_new(op, q);
	}
	return out;
}

/*
 * A run sent as CSV, as bench/fs-scaling writes it: a header line naming the
 * columns (oss or oss_count, write_mib_s, read_mib_s; others are ignored),
 * then one line per OSS count; an empty field is "not measured".  The name
 * comes from ?name=.  Returns the run as JSON for bench_clean, or NULL with
 * why.
 */
static json_t *bench_from_csv(const char *body, size_t len, const char *name, char *why, size_t wn)
{
	int col_oss = -1, col_w = -1, col_r = -1, line = 0;
	json_t *pts = json_array();
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		char row[1024];
		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(row)) {
			snprintf(why, wn, "CSV line %d is longer than %zu bytes", line, sizeof(row) - 1);
			goto bad;
		}
		memcpy(row, p, n);
		row[n] = '\0';
		p = eol ? eol + 1 : end;
		if (n == 0)
			continue;
		char *f;
		int col = 0;
		json_t *pt = line == 1 ? NULL : json_object();
		/* strsep keeps empty fields (strtok_r would skip them). */
		char *rest = row;
		while ((f = strsep(&rest, ",")) != NULL) {
			while (*f == ' ')
				f++;
			if (line == 1) {
				if (!strcmp(f, "oss") || !strcmp(f, "oss_count"))
					col_oss = col;
				else if (!strcmp(f, "write_mib_s"))
					col_w = col;
				else if (!strcmp(f, "read_mib_s"))
					col_r = col;
			} else if (col == col_oss || col == col_w || col == col_r) {
				char *e = NULL;
				errno = 0;
				if (col == col_oss) {
					long long v = strtoll(f, &e, 10);
					if (!*f || *e || errno) {
						json_decref(pt);
						snprintf(why, wn, "CSV line %d: OSS count '%.32s' is not a whole number", line, f);
						goto bad;
					}
					json_object_set_new(pt, "oss_count", json_integer(v));
				} else {
					double v = *f ? strtod(f, &e) : 0;
					if (*f && (*e || errno)) {
						json_decref(pt);
						snprintf(why, wn, "CSV line %d: '%.32s' is not a number", line, f);
						goto bad;
					}
					json_object_set_new(pt, col == col_w ? "write_mib_s" : "read_mib_s",
							    *f ? json_real(v) : json_null());
				}
			}
			col++;
		}
		if (line == 1 && col_oss < 0) {
			snprintf(why, wn, "the CSV header has no 'oss' or 'oss_count' column");
			goto bad;
		}
		if (pt && json_array_append_new(pts, pt))
			goto bad;
		if (json_array_size(pts) > BENCH_MAX_POINTS) {
			snprintf(why, wn, "more than %d points", BENCH_MAX_POINTS);
			goto bad;
		}
	}
	return json_pack("{s:s,s:o}", "name", name ? name : "", "points", pts);
bad:
	json_decref(pts);
	return NULL;
}

static enum MHD_Result r_bench(struct mgr *m, struct MHD_Connection *c, const char *method,
			       const char *body, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX + 320], why[256];
	mgr_path(m, dir, sizeof(dir), "bench");
	if (!strcmp(method, "POST")) {
		json_error_t je;
		json_t *in;
		const char *ct = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct && !strncasecmp(ct, "text/csv", 8)) {
			in = bench_from_csv(body ? body : "", len,
					    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"), why, sizeof(why));
			if (!in)
				return send_error(c, 400, "bad benchmark CSV: %s", why);
		} else if (!(in = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je)) ||
			   !json_is_object(in)) {
			json_decref(in);
			return send_error(c, 400, "the benchmark run must be a JSON object (or text/csv): %s",
					  in ? "not an object" : je.text);
		}
		json_t *run = bench_clean(in, why, sizeof(why));
		json_decref(in);
		if (!run)
			return send_error(c, 400, "bad benchmark run: %s", why);
		char *s = json_dumps(run, JSON_INDENT(1));
		int rc = util_mkdirs(dir, 0750);
		snprintf(path, sizeof(path), "%s/%s.json", dir, json_string_value(json_object_get(run, "name")));
		if (!rc && s)
			rc = util_write_file_atomic(path, s, strlen(s), 0640);
		free(s);
		if (rc) {
			json_decref(run);
			return send_error(c, 500, "cannot store the benchmark run in '%s': %s", path, strerror(-rc));
		}
		mgr_event(m, NULL, NULL, "bench", "benchmark run '%s' stored",
			  json_string_value(json_object_get(run, "name")));
		return send_json(c, 201, run, NULL);
	}
	if (strcmp(method, "GET"))
		return send_error(c, 405, "/api/v1/bench takes GET and POST");
	json_t *runs = json_array();
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && json_array_size(runs) < BENCH_MAX_RUNS) {
		size_t n = strlen(e->d_name);
		char *text = NULL;
		if (n < 6 || e->d_name[0] == '.' || strcmp(e->d_name + n - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (util_read_file(path, BENCH_MAX_FILE, &text, NULL) < 0)
			continue;
		json_t *run = json_loads(text, 0, NULL);
		free(text);
		if (json_is_object(run))
			json_array_append(runs, run);
		json_decref(run);
	}
	if (d)
		closedir(d);
	return send_json(c, 200, json_pack("{s:o}", "runs", runs), NULL);
}

/* ---------------------------------------------------------------- autoscale settings */

static enum MHD_Result r_autoscale(struct mgr *m, struct MHD_Connection *c, const char *cluster,
				   const char *body, size_t len, const struct auth_who *who)
{
	json_error_t je;
	json_t *in = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
	json_t *arr = json_object_get(in, "array"), *mx = json_object_get(in, "max_count");
	json_t *idle = json_object_get(in, "idle_time"), *en = json_object_get(in, "enabled");
	enum MHD_Result rc;
	if (!json_is_object(in) || (arr && !json_is_string(arr)) ||
	    (mx && (!json_is_integer(mx) || json_integer_value(mx) < 0 || json_integer_value(mx) > 10000)) ||
	    (idle && (!json_is_integer(idle) || json_integer_value(idle) < 0 ||
		      json_integer_value(idle) > 7 * 86400)) ||
	    (en && !json_is_boolean(en)) || (mx && !arr)) {
		json_decref(in);
		return send_error(c, 400, "give 'array' (a node array name) with 'max_count' (0 to 10000), "
				  "'idle_time' (seconds, 0 to 604800) and 'enabled' (boolean)");
	}
	db_lock(m->db);
	char *text = NULL;
	json_t *def = NULL;
	if (db_get_text(m->db, &text, "SELECT definition FROM clusters WHERE name = ?", "s", cluster)) {
		rc = send_error(c, 404, "no cluster named '%s'", cluster);
		goto out;
	}
	def = json_loads(text, 0, NULL);
	if (!json_is_object(def)) {
		rc = send_error(c, 500, "the definition of cluster '%s' is not JSON; see stratusd's log", cluster);
		goto out;
	}
	if (arr) {
		const char *an = json_string_value(arr);
		json_t *n = NULL, *x;
		size_t i;
		json_array_foreach(json_object_get(def, "nodes"), i, x)
			if (json_is_string(json_object_get(x, "name")) &&
			    !strcmp(json_string_value(json_object_get(x, "name")), an))
				n = x;
		if (!n || !json_is_true(json_object_get(n, "array"))) {
			rc = send_error(c, 400, "cluster '%s' has no node array named '%s'%s", cluster, an,
					n ? " (it is a single node)" : "");
			goto out;
		}
		if (mx) {
			int64_t have = 0;
			db_get_int(m->db, &have, "SELECT COUNT(*) FROM nodes n JOIN clusters c ON c.id = n.cluster_id "
				   "WHERE c.name = ? AND n.template = ? AND n.state <> 'Off'", "ss", cluster, an);
			if (json_integer_value(mx) > 0 && json_integer_value(mx) < have) {
				rc = send_error(c, 409, "node array '%s' has %lld nodes running; terminate some before "
						"lowering its max count to %lld", an, (long long)have,
						(long long)json_integer_value(mx));
				goto out;
			}
			json_object_set(n, "max_count", mx);
		}
	}
	json_t *as = json_object_get(def, "autoscale");
	if (!json_is_object(as)) {
		as = json_object();
		json_object_set_new(def, "autoscale", as);
	}
	if (idle)
		json_object_set(as, "idle_time", idle);
	if (en)
		json_object_set(as, "enabled", en);
	/* The shipped Slurm template hands these to its nodes as configuration
	 * (slurm.idle_time, slurm.autoscale): keep those in step, so nodes made
	 * from now on, and a scheduler whose cluster-init runs again, use them. */
	json_t *x;
	size_t i;
	json_array_foreach(json_object_get(def, "nodes"), i, x) {
		json_t *conf = json_object_get(x, "configuration");
		if (!json_is_object(conf))
			continue;
		if (idle && json_object_get(conf, "slurm.idle_time"))
			json_object_set(conf, "slurm.idle_time", idle);
		if (en && json_object_get(conf, "slurm.autoscale"))
			json_object_set(conf, "slurm.autoscale", en);
	}
	char *out = json_dumps(def, JSON_COMPACT);
	int e = out ? db_exec(m->db, "UPDATE clusters SET definition = ? WHERE name = ?", "ss", out, cluster) : -ENOMEM;
	free(out);
	if (e < 0) {
		rc = send_error(c, 500, "cannot store the autoscale settings of '%s'", cluster);
		goto out;
	}
	char idle_s[32] = "unset", max_s[200] = "";
	if (json_is_integer(json_object_get(as, "idle_time")))
		snprintf(idle_s, sizeof(idle_s), "%lld s", (long long)json_integer_value(json_object_get(as, "idle_time")));
	if (arr && mx)
		snprintf(max_s, sizeof(max_s), ", max count of '%.64s' %lld", json_string_value(arr),
			 (long long)json_integer_value(mx));
	mgr_event(m, cluster, NULL, "autoscale", "%s set autoscale %s, idle time %s%s", who->name,
		  json_is_true(json_object_get(as, "enabled")) ? "on" : "off", idle_s, max_s);
	rc = send_json(c, 200, json_pack("{s:O}", "autoscale", as), NULL);
out:
	db_unlock(m->db);
	free(text);
	json_decref(def);
	json_decref(in);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

bool gui_route(struct mgr *m, struct MHD_Connection *c, const char *method, char **seg, int nseg,
	       const char *body, size_t len, const struct auth_who *who, enum MHD_Result *rc)
{
	if (nseg == 1 && !strcmp(seg[0], "session")) {
		*rc = !strcmp(method, "POST") ? r_login(m, c, body, len) : r_session(m, c, method, who);
		return true;
	}
	if (nseg == 3 && !strcmp(seg[0], "templates") && !strcmp(seg[2], "parameters") &&
	    !strcmp(method, "GET")) {
		*rc = r_template_params(m, c, seg[1]);
		return true;
	}
	if (nseg == 3 && !strcmp(seg[0], "clusters") && !strcmp(seg[2], "autoscale") && !strcmp(method, "PUT")) {
		*rc = r_autoscale(m, c, seg[1], body, len, who);
		return true;
	}
	if (nseg == 1 && !strcmp(seg[0], "bench")) {
		*rc = r_bench(m, c, method, body, len);
		return true;
	}
	return false;
}

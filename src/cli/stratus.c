/*
 * stratus.c: the Stratus CLI, CycleCloud's `cyclecloud` verbs for stratusd
 * (docs/cli.md): initialize, locker list, project upload, import_template,
 * create_cluster, start/terminate/delete_cluster, show_cluster, show_nodes,
 * add_node, terminate_node, remove_node, retry, ssh.
 *
 * Exit codes: 0 done, 1 failed (the manager refused, or could not be
 * reached), 2 the command line was wrong.  Tables by default, --format json
 * for scripts.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "cli/cert.h"
#include "cli/client.h"
#include "cli/pool.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/util.h"
#include "lang/ini.h"
#include "lang/template.h"

/* Every option of every verb; each verb's table names the ones it takes. */
struct opts {
	char *config;
	char *format;
	char *url, *username, *password, *password_file, *ca;
	char *verify_ssl;
	bool batch;
	char *file;
	bool force;
	char *params;
	bool lng;
	char *filter;
	char *tmpl;
	int64_t count;
	char *token;
	bool all;
	char *user;
};

#define OPT_FORMAT CFG_STR("format", 0, struct opts, format, "text", "output: text (tables) or json"), \
	CFG_STR("settings", 0, struct opts, config, NULL, "the CLI settings file (also --config FILE; default: $STRATUS_CONFIG or ~/.stratus/config.ini)")

struct ctx {
	struct opts o;
	struct cli_settings s;
	struct client c;
	bool json;
	char cfgpath[PATH_MAX];
	char cfgdir[PATH_MAX];
	int npos;
	char **pos;
};

/* ---------------------------------------------------------------- settings */

static void config_path(struct ctx *x)
{
	cli_settings_path(x->o.config, x->cfgpath, sizeof(x->cfgpath));
	snprintf(x->cfgdir, sizeof(x->cfgdir), "%s", x->cfgpath);
	char *sl = strrchr(x->cfgdir, '/');
	if (sl && sl != x->cfgdir)
		*sl = '\0';
	else
		snprintf(x->cfgdir, sizeof(x->cfgdir), ".");
}

static int load_settings(struct ctx *x)
{
	if (cli_settings_load(x->cfgpath, &x->s, &x->c))
		return 1;
	if (x->o.verify_ssl) {
		bool v;
		if (cfg_parse_bool(x->o.verify_ssl, &v))
			return cli_fail("--verify-ssl takes true or false, not '%s'", x->o.verify_ssl);
		x->c.verify = v;
	}
	return 0;
}

/* ---------------------------------------------------------------- calls and output */

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
}

/* NODES (names) as JSON, or "WHAT N KIND: a b c". */
static void print_nodes(struct ctx *x, json_t *nodes, const char *what, const char *kind)
{
	size_t i;
	json_t *n;
	if (x->json) {
		print_json(nodes);
		return;
	}
	printf("%s %zu %s:", what, json_array_size(nodes), kind);
	json_array_foreach(nodes, i, n)
		printf(" %s", json_string_value(n));
	printf("\n");
}

static const char *str_of(json_t *v, char *tmp, size_t len)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, len, "%lld", (long long)json_integer_value(v));
		return tmp;
	}
	if (json_is_true(v))
		return "true";
	if (json_is_false(v))
		return "false";
	if (!v || json_is_null(v))
		return "";
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(tmp, len, "%s", s ? s : "");
	free(s);
	return tmp;
}

/* A table of ROWS with these columns (JSON keys) and headings. */
static void print_table(json_t *rows, const char *const *keys, const char *const *heads, int ncol)
{
	size_t w[16] = { 0 };
	char tmp[512];
	size_t i;
	json_t *r;
	for (int c = 0; c < ncol; c++)
		w[c] = strlen(heads[c]);
	json_array_foreach(rows, i, r)
		for (int c = 0; c < ncol; c++) {
			size_t l = strlen(str_of(json_object_get(r, keys[c]), tmp, sizeof(tmp)));
			if (l > w[c])
				w[c] = l > 60 ? 60 : l;
		}
	for (int c = 0; c < ncol; c++)
		printf("%-*s%s", (int)w[c], heads[c], c + 1 < ncol ? "  " : "\n");
	json_array_foreach(rows, i, r)
		for (int c = 0; c < ncol; c++)
			printf("%-*s%s", (int)w[c], str_of(json_object_get(r, keys[c]), tmp, sizeof(tmp)),
			       c + 1 < ncol ? "  " : "\n");
}

static void fmt_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---------------------------------------------------------------- initialize */

static char *prompt(const char *what, bool secret)
{
	char line[1024];
	struct termios old, now;
	bool tty = isatty(0);
	fprintf(stderr, "%s: ", what);
	fflush(stderr);
	if (secret && tty) {
		tcgetattr(0, &old);
		now = old;
		now.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSANOW, &now);
	}
	char *r = fgets(line, sizeof(line), stdin);
	if (secret && tty) {
		tcsetattr(0, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	if (!r)
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line);
}

static int write_settings(struct ctx *x, const char *url, const char *user, const char *token,
			  bool verify, const char *ca)
{
	struct buf b = BUF_INIT(1 << 16);
	int rc = util_mkdirs(x->cfgdir, 0700);
	if (rc)
		return cli_fail("cannot create '%s': %s", x->cfgdir, strerror(-rc));
	buf_printf(&b, "# stratus CLI settings, written by 'stratus initialize' (secret: mode 0600)\n"
		   "url = %s\nusername = %s\n", url, user);
	/* No token: logged out ('stratus logout'); initialize logs in again. */
	if (token)
		buf_printf(&b, "token = %s\n", token);
	buf_printf(&b, "verify_ssl = %s\n", verify ? "true" : "false");
	if (ca)
		buf_printf(&b, "ca = %s\n", ca);
	rc = util_write_file_atomic(x->cfgpath, b.data, b.len, 0600);
	explicit_bzero(b.data, b.len);
	buf_release(&b);
	if (rc)
		return cli_fail("cannot write '%s': %s", x->cfgpath, strerror(-rc));
	chmod(x->cfgpath, 0600);
	return 0;
}

/* Pin PEM (LEN bytes) as the manager's certificate: later commands trust exactly it. */
static int pin_cert(struct ctx *x, const char *pem, size_t len, char *capath, size_t calen)
{
	snprintf(capath, calen, "%s/manager.pem", x->cfgdir);
	if (util_mkdirs(x->cfgdir, 0700) || util_write_file_atomic(capath, pem, len, 0644))
		return cli_fail("cannot store the certificate in '%s'", capath);
	return 0;
}

/*
 * Interactive initialize against a manager whose certificate no authority of
 * this machine vouches for (stratusd's self-signed one): show who it names
 * and its fingerprint, and pin it if the person says so.  Nothing secret has
 * been sent yet.  0: not needed, or trusted and pinned (*ca set); 1: refused.
 */
static int trust_prompt(struct ctx *x, const char *url, char *capath, size_t calen, const char **ca)
{
	struct client c = { .url = url, .token = NULL, .verify = true, .ca = NULL };
	json_t *ans = NULL;
	long status = 0;
	char *err = NULL, *pem = NULL, when[64];
	int e = client_call(&c, "GET", "/whoami", NULL, NULL, 0, NULL, &status, &ans, &err);
	json_decref(ans);
	if (e != -EKEYREJECTED) {
		free(err);
		return 0; /* trusted already, or a failure the login will explain */
	}
	free(err);
	err = NULL;
	if (client_peer_cert(url, &pem, &err)) {
		cli_fail("%s", err ? err : "cannot fetch the manager's certificate");
		free(err);
		return 1;
	}
	struct cert_info ci;
	if (cert_describe(pem, &ci)) {
		free(pem);
		return cli_fail("the certificate that '%s' shows cannot be read; give the manager's certificate with --ca FILE", url);
	}
	struct tm tm;
	time_t t = ci.expires;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(stderr, "The certificate of %s is not signed by an authority this machine trusts\n"
		"(stratusd makes its own at first start).  Check that it is the manager's:\n"
		"  subject:     %s\n  issuer:      %s\n  expires:     %s\n  fingerprint: %s\n"
		"On the manager host, 'certtool -i --infile STATE_DIR/tls/cert.pem' shows the same\n"
		"fingerprint, and stratusd logs it when it starts.\n", url, ci.subject, ci.issuer, when, ci.sha256);
	char *yes = prompt("Trust this certificate and pin it? [yes/no]", false);
	bool ok = yes && (!strcasecmp(yes, "yes") || !strcasecmp(yes, "y"));
	free(yes);
	if (!ok) {
		free(pem);
		return cli_fail("not trusting the certificate of '%s'; nothing was sent or written. Give the manager's "
			    "certificate with --ca FILE, or answer yes after checking its fingerprint", url);
	}
	int rc = pin_cert(x, pem, strlen(pem), capath, calen);
	free(pem);
	if (!rc)
		*ca = capath;
	return rc;
}

static int v_initialize(struct ctx *x)
{
	struct opts *o = &x->o;
	char *url = o->url ? strdup(o->url) : NULL, *user = o->username ? strdup(o->username) : NULL;
	char *pw = NULL;
	bool verify = true;
	int rc = 1;

	if (o->verify_ssl && cfg_parse_bool(o->verify_ssl, &verify))
		return cli_fail("--verify-ssl takes true or false, not '%s'", o->verify_ssl);
	char capath[PATH_MAX + 32];
	const char *ca = NULL;
	if (!o->batch) {
		if (!url)
			url = prompt("Stratus manager URL (https://HOST:PORT)", false);
		if (url && !strncmp(url, "https://", 8) && verify && !o->ca) {
			size_t ul = strlen(url);
			while (ul > 8 && url[ul - 1] == '/')
				url[--ul] = '\0';
			/* Before any secret is typed or sent. */
			if (trust_prompt(x, url, capath, sizeof(capath), &ca))
				goto out;
		}
		if (!user)
			user = prompt("Username", false);
	}
	if (o->password_file) {
		char *t = NULL;
		if (util_read_file(o->password_file, 4096, &t, NULL) < 0)
			return cli_fail("cannot read the password file '%s'", o->password_file);
		t[strcspn(t, "\r\n")] = '\0';
		pw = t;
	} else if (o->password) {
		pw = strdup(o->password);
	} else if (!o->batch) {
		pw = prompt("Password", true);
	}
	if (!url || !*url || !user || !*user || !pw) {
		cli_fail("initialize needs --url, --username and --password (or --password-file) with --batch");
		rc = 2;
		goto out;
	}
	size_t ul = strlen(url);
	while (ul > 8 && url[ul - 1] == '/')
		url[--ul] = '\0';
	if (o->ca) {
		char *pem = NULL;
		size_t len = 0;
		if (util_read_file(o->ca, 1 << 20, &pem, &len) < 0 || !strstr(pem, "BEGIN CERTIFICATE")) {
			free(pem);
			cli_fail("'%s' is not a PEM certificate; give the manager's certificate (STATE_DIR/tls/cert.pem)", o->ca);
			goto out;
		}
		int prc = pin_cert(x, pem, len, capath, sizeof(capath));
		free(pem);
		if (prc)
			goto out;
		ca = capath;
	}
	struct client c = { .url = url, .token = NULL, .verify = verify, .ca = ca };
	json_t *ans = NULL, *body = json_pack("{s:s,s:s}", "username", user, "password", pw);
	long status = 0;
	char *err = NULL;
	int e = client_call(&c, "POST", "/login", body, NULL, 0, NULL, &status, &ans, &err);
	json_decref(body);
	if (e) {
		cli_fail("%s", err ? err : "cannot reach the manager");
		free(err);
		goto out;
	}
	if (status == 401) {
		cli_fail("wrong username or password for '%s' at %s", user, url);
		json_decref(ans);
		goto out;
	}
	if (status == 404 || !json_is_string(json_object_get(ans, "token"))) {
		cli_fail("'%s' answered %ld but does not look like a Stratus manager; check the URL (https://HOST:PORT, no path)",
		     url, status);
		json_decref(ans);
		goto out;
	}
	if (status >= 400) {
		cli_fail("%s", client_errtext(ans, status));
		json_decref(ans);
		goto out;
	}
	rc = write_settings(x, url, user, json_string_value(json_object_get(ans, "token")), verify, ca);
	json_decref(ans);
	if (!rc)
		printf("Initialized: %s as '%s'%s; settings in %s\n", url, user,
		       verify ? (ca ? " (certificate pinned)" : "") : " (certificate NOT verified)", x->cfgpath);
out:
	if (pw)
		explicit_bzero(pw, strlen(pw));
	free(pw);
	free(url);
	free(user);
	return rc;
}

static int v_logout(struct ctx *x)
{
	json_t *a = NULL;
	if (x->npos != 0)
		return cli_fail("usage: stratus logout [--all]"), 2;
	if (cli_call(&x->c, "POST", "/logout", json_pack("{s:b}", "all", x->o.all), &a, NULL))
		return 1;
	long long n = (long long)json_integer_value(json_object_get(a, "revoked"));
	json_decref(a);
	/* Forget the token, keep where the manager is. */
	if (write_settings(x, x->s.url, x->s.username ? x->s.username : "", NULL, x->s.verify_ssl, x->s.ca))
		return 1;
	if (x->json)
		printf("{\"revoked\": %lld}\n", n);
	else
		printf("Logged out of %s: %lld token(s) revoked%s; 'stratus initialize' logs in again\n", x->s.url, n,
		       x->o.all ? " (every session of this user)" : "");
	return 0;
}

/* ---------------------------------------------------------------- lockers and projects */

static int v_locker(struct ctx *x)
{
	json_t *a = NULL;
	if (x->npos != 1 || strcmp(x->pos[0], "list"))
		return cli_fail("usage: stratus locker list"), 2;
	if (cli_call(&x->c, "GET", "/lockers", NULL, &a, NULL))
		return 1;
	if (x->json)
		print_json(json_object_get(a, "lockers"));
	else {
		static const char *const k[] = { "name", "path" }, *const h[] = { "NAME", "PATH" };
		print_table(json_object_get(a, "lockers"), k, h, 2);
	}
	json_decref(a);
	return 0;
}

static int v_project(struct ctx *x)
{
	char *text = NULL, *err = NULL, tgz[PATH_MAX], path[PATH_MAX];
	size_t len = 0;
	struct project_info *pi = NULL;
	int rc = 1;
	if (x->npos != 2 || strcmp(x->pos[0], "upload"))
		return cli_fail("usage: stratus project upload LOCKER (in the project folder)"), 2;
	const char *locker = x->pos[1];
	if (util_read_file("project.ini", INI_MAX_TEXT, &text, &len) < 0)
		return cli_fail("no project.ini here; run 'stratus project upload' in the project folder");
	if (project_ini_parse(text, len, "project.ini", &pi, &err)) {
		cli_fail("%s", err ? err : "bad project.ini");
		free(err);
		free(text);
		return 1;
	}
	free(text);
	struct stat st;
	if (stat("specs", &st) < 0 || !S_ISDIR(st.st_mode)) {
		cli_fail("project '%s' has no specs/ folder; a project is project.ini + specs/SPEC/cluster-init/", pi->name);
		goto out;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(tgz, sizeof(tgz), "%s/stratus-upload.%d.tar.gz", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	pid_t pid = fork();
	if (pid == 0) {
		execlp("tar", "tar", "-czf", tgz, "--exclude=.git", "project.ini", "specs", (char *)NULL);
		_exit(127);
	}
	int ws = 0;
	if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)) {
		cli_fail("cannot pack the project with tar (exit %d)", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
		unlink(tgz);
		goto out;
	}
	char *data = NULL;
	size_t dlen = 0;
	int e = util_read_file(tgz, 1u << 30, &data, &dlen);
	unlink(tgz);
	if (e < 0) {
		cli_fail("cannot read the packed project '%s': %s", tgz, strerror(-e));
		goto out;
	}
	char *l = client_escape(locker), *n = client_escape(pi->name), *v = client_escape(pi->version);
	snprintf(path, sizeof(path), "/lockers/%s/projects/%s/%s", l, n, v);
	free(l);
	free(n);
	free(v);
	long status = 0;
	json_t *ans = NULL;
	e = client_call(&x->c, "PUT", path, NULL, data, dlen, "application/gzip", &status, &ans, &err);
	free(data);
	if (e) {
		cli_fail("%s", err ? err : "upload failed");
		free(err);
		goto out;
	}
	if (status >= 400) {
		cli_fail("%s", client_errtext(ans, status));
		json_decref(ans);
		goto out;
	}
	if (x->json) {
		print_json(ans);
	} else {
		printf("Uploaded project '%s' version %s to locker '%s'; specs:", pi->name, pi->version, locker);
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(ans, "specs"), i, s)
			printf(" %s", json_string_value(s));
		printf("\n");
	}
	json_decref(ans);
	rc = 0;
out:
	project_info_free(pi);
	return rc;
}

/* ---------------------------------------------------------------- templates and clusters */

static int v_import_template(struct ctx *x)
{
	char *text = NULL, *err = NULL, path[512];
	size_t len = 0;
	struct tmpl *t = NULL;
	if (!x->o.file)
		return cli_fail("import_template needs -f FILE"), 2;
	if (x->npos > 1)
		return cli_fail("usage: stratus import_template [NAME] -f FILE [--force]"), 2;
	int e = util_read_file(x->o.file, TMPL_MAX_TEXT, &text, &len);
	if (e < 0)
		return cli_fail("cannot read the template '%s': %s", x->o.file, strerror(-e));
	if (tmpl_parse(text, len, x->o.file, &t, &err)) {
		cli_fail("%s", err ? err : "the template does not parse");
		free(err);
		free(text);
		return 1;
	}
	const char *name = x->npos ? x->pos[0] : t->template_name;
	cli_path(path, sizeof(path), "/templates/", name, "");
	json_t *ans = NULL;
	int rc = cli_call(&x->c, "PUT", path, json_pack("{s:s,s:b}", "text", text, "force", x->o.force), &ans, NULL);
	if (!rc) {
		if (x->json)
			print_json(ans);
		else
			printf("Imported template '%s' (%zu node(s) and array(s), %zu parameter(s))\n", name,
			       t->n_nodes, t->n_params);
	}
	json_decref(ans);
	tmpl_free(t);
	free(text);
	return rc;
}

static int v_create_cluster(struct ctx *x)
{
	json_t *params = NULL, *ans = NULL;
	if (x->npos != 2)
		return cli_fail("usage: stratus create_cluster TEMPLATE NAME [-p PARAMS.json]"), 2;
	if (x->o.params) {
		json_error_t je;
		params = json_load_file(x->o.params, 0, &je);
		if (!params)
			return cli_fail("cannot read parameters '%s': %s at line %d", x->o.params, je.text, je.line);
		if (!json_is_object(params)) {
			json_decref(params);
			return cli_fail("parameters '%s' must be a JSON object {\"Name\": value, ...}", x->o.params);
		}
	}
	json_t *body = json_pack("{s:s,s:s,s:o}", "template", x->pos[0], "name", x->pos[1],
				 "parameters", params ? params : json_object());
	if (cli_call(&x->c, "POST", "/clusters", body, &ans, NULL))
		return 1;
	if (x->json)
		print_json(ans);
	else
		printf("Created cluster '%s' from template '%s'\n", x->pos[1], x->pos[0]);
	json_decref(ans);
	return 0;
}

static int cluster_action(struct ctx *x, const char *action, const char *done)
{
	char path[512];
	if (x->npos != 1)
		return cli_fail("usage: stratus %s_cluster NAME [--force]", action), 2;
	char suffix[64];
	json_t *ans = NULL;
	if (!strcmp(action, "delete"))
		snprintf(suffix, sizeof(suffix), "%s", x->o.force ? "?force=true" : "");
	else
		snprintf(suffix, sizeof(suffix), "/%s", action);
	cli_path(path, sizeof(path), "/clusters/", x->pos[0], suffix);
	json_t *body = NULL;
	if (strcmp(action, "delete")) {
		body = json_object();
		if (x->o.force)
			json_object_set_new(body, "force", json_true());
	}
	if (cli_call(&x->c, strcmp(action, "delete") ? "POST" : "DELETE", path, body, &ans, NULL))
		return 1;
	if (x->json)
		print_json(ans ? ans : json_object());
	else
		printf("Cluster '%s' %s\n", x->pos[0], done);
	json_decref(ans);
	return 0;
}

static int v_start_cluster(struct ctx *x) { return cluster_action(x, "start", "started"); }
static int v_terminate_cluster(struct ctx *x) { return cluster_action(x, "terminate", "terminating"); }
static int v_delete_cluster(struct ctx *x) { return cluster_action(x, "delete", "deleted"); }

static const char *const node_keys[] = { "name", "template", "state", "ip", "reason" };
static const char *const node_heads[] = { "NAME", "TEMPLATE", "STATE", "IP", "REASON" };

static int show_failed_logs(struct ctx *x, const char *cluster, json_t *nodes)
{
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		char path[512];
		if (strcmp(json_string_value(json_object_get(n, "state")) ?: "", "Failed"))
			continue;
		char *c = client_escape(cluster), *nn = client_escape(json_string_value(json_object_get(n, "name")));
		snprintf(path, sizeof(path), "/clusters/%s/nodes/%s", c, nn);
		free(c);
		free(nn);
		json_t *d = NULL;
		if (cli_call(&x->c, "GET", path, NULL, &d, NULL))
			return 1;
		size_t j;
		json_t *s;
		json_array_foreach(json_object_get(d, "scripts"), j, s) {
			if (strcmp(json_string_value(json_object_get(s, "status")) ?: "", "failed"))
				continue;
			printf("\n--- %s: cluster-init %s/%s failed (exit %lld); its log:\n%s",
			       json_string_value(json_object_get(n, "name")),
			       json_string_value(json_object_get(s, "spec")), json_string_value(json_object_get(s, "script")),
			       (long long)json_integer_value(json_object_get(s, "exit_code")),
			       json_string_value(json_object_get(s, "log")));
			const char *lg = json_string_value(json_object_get(s, "log"));
			if (lg && *lg && lg[strlen(lg) - 1] != '\n')
				printf("\n");
		}
		json_decref(d);
	}
	return 0;
}

static int v_show_cluster(struct ctx *x)
{
	json_t *a = NULL;
	char path[512];
	if (x->npos > 1)
		return cli_fail("usage: stratus show_cluster [NAME] [-l]"), 2;
	if (x->npos == 0) {
		if (cli_call(&x->c, "GET", "/clusters", NULL, &a, NULL))
			return 1;
		if (x->json)
			print_json(json_object_get(a, "clusters"));
		else {
			static const char *const k[] = { "name", "template", "state", "nodes", "ready", "failed" };
			static const char *const h[] = { "NAME", "TEMPLATE", "STATE", "NODES", "READY", "FAILED" };
			print_table(json_object_get(a, "clusters"), k, h, 6);
		}
		json_decref(a);
		return 0;
	}
	cli_path(path, sizeof(path), "/clusters/", x->pos[0], "");
	if (cli_call(&x->c, "GET", path, NULL, &a, NULL))
		return 1;
	if (x->json) {
		print_json(a);
		json_decref(a);
		return 0;
	}
	char t[64];
	fmt_time(json_integer_value(json_object_get(a, "created")), t, sizeof(t));
	printf("Cluster %s: %s (template %s, created %s)\n", x->pos[0], json_string_value(json_object_get(a, "state")),
	       json_string_value(json_object_get(a, "template")), t);
	printf("Nodes: %lld, Ready %lld, Failed %lld\n", (long long)json_integer_value(json_object_get(a, "nodes")),
	       (long long)json_integer_value(json_object_get(a, "ready")),
	       (long long)json_integer_value(json_object_get(a, "failed")));
	json_t *nodes = json_object_get(a, "node_list");
	if (json_array_size(nodes)) {
		printf("\n");
		print_table(nodes, node_keys, node_heads, x->o.lng ? 5 : 4);
	}
	int rc = 0;
	if (x->o.lng)
		rc = show_failed_logs(x, x->pos[0], nodes);
	json_decref(a);
	return rc;
}

static int v_show_nodes(struct ctx *x)
{
	json_t *a = NULL;
	char path[8192];
	if (x->npos != 1)
		return cli_fail("usage: stratus show_nodes NAME [--filter EXPR] [--format json|text] [-l]"), 2;
	char *e = client_escape(x->pos[0]);
	if (x->o.filter) {
		char *f = client_escape(x->o.filter);
		snprintf(path, sizeof(path), "/clusters/%s/nodes?filter=%s", e, f ? f : "");
		free(f);
	} else {
		snprintf(path, sizeof(path), "/clusters/%s/nodes", e);
	}
	free(e);
	if (cli_call(&x->c, "GET", path, NULL, &a, NULL))
		return 1;
	json_t *nodes = json_object_get(a, "nodes");
	int rc = 0;
	if (x->json)
		print_json(nodes);
	else {
		print_table(nodes, node_keys, node_heads, 5);
		if (x->o.lng)
			rc = show_failed_logs(x, x->pos[0], nodes);
	}
	json_decref(a);
	return rc;
}

/* GET a node by the name given, else as CLUSTER-NODE (CycleCloud's short names). */
static int get_node(struct ctx *x, const char *cluster, const char *node, json_t **out)
{
	char path[1024], full[512];
	char *c = client_escape(cluster), *n = client_escape(node);
	long st = 0;
	char *err = NULL;
	snprintf(path, sizeof(path), "/clusters/%s/nodes/%s", c, n);
	free(n);
	*out = NULL;
	if (client_call(&x->c, "GET", path, NULL, NULL, 0, NULL, &st, out, &err) == 0 && st == 404 &&
	    snprintf(full, sizeof(full), "%s-%s", cluster, node) < (int)sizeof(full)) {
		json_decref(*out);
		*out = NULL;
		n = client_escape(full);
		snprintf(path, sizeof(path), "/clusters/%s/nodes/%s", c, n);
		free(n);
	} else {
		json_decref(*out);
		*out = NULL;
	}
	free(err);
	free(c);
	return cli_call(&x->c, "GET", path, NULL, out, NULL);
}

static int v_show_node(struct ctx *x)
{
	json_t *n = NULL;
	char t[64];
	if (x->npos != 2)
		return cli_fail("usage: stratus show_node NAME NODE"), 2;
	if (get_node(x, x->pos[0], x->pos[1], &n))
		return 1;
	if (x->json) {
		print_json(n);
		json_decref(n);
		return 0;
	}
	const char *reason = json_string_value(json_object_get(n, "reason"));
	printf("Node %s: %s (template %s, ip %s)\n", json_string_value(json_object_get(n, "name")),
	       json_string_value(json_object_get(n, "state")), json_string_value(json_object_get(n, "template")),
	       json_string_value(json_object_get(n, "ip")));
	if (reason && *reason)
		printf("Reason: %s\n", reason);
	json_t *r = json_object_get(n, "retry");
	if (json_is_object(r)) {
		int64_t due = json_integer_value(json_object_get(r, "due"));
		if (due > 0) {
			fmt_time(due, t, sizeof(t));
			printf("Automatic retry %lld of %lld due at %s\n",
			       (long long)json_integer_value(json_object_get(r, "attempt")) + 1,
			       (long long)json_integer_value(json_object_get(r, "max")), t);
		}
	}
	size_t i;
	json_t *s;
	if (json_array_size(json_object_get(n, "scripts"))) {
		printf("\nCluster-init scripts:\n");
		static const char *const k[] = { "spec", "script", "status", "exit_code" };
		static const char *const h[] = { "SPEC", "SCRIPT", "STATUS", "EXIT" };
		print_table(json_object_get(n, "scripts"), k, h, 4);
	}
	printf("\nTimeline:\n");
	json_array_foreach(json_object_get(n, "events"), i, s) {
		int64_t ms = json_integer_value(json_object_get(s, "time"));
		fmt_time(ms, t, sizeof(t));
		printf("%s.%03lld  %-9s %s\n", t, (long long)(ms % 1000), json_string_value(json_object_get(s, "kind")),
		       json_string_value(json_object_get(s, "message")));
	}
	json_decref(n);
	return 0;
}

static int v_add_node(struct ctx *x)
{
	json_t *a = NULL;
	char path[512];
	if (x->npos != 1 || !x->o.tmpl)
		return cli_fail("usage: stratus add_node NAME -t TEMPLATE [-c COUNT]"), 2;
	cli_path(path, sizeof(path), "/clusters/", x->pos[0], "/nodes");
	if (cli_call(&x->c, "POST", path, json_pack("{s:s,s:I}", "template", x->o.tmpl, "count", (json_int_t)x->o.count), &a, NULL))
		return 1;
	print_nodes(x, json_object_get(a, "nodes"), "Added", "node(s)");
	json_decref(a);
	return 0;
}

static int node_action(struct ctx *x, const char *verb, const char *what)
{
	json_t *a = NULL;
	char path[512];
	if (x->npos < 1 || x->npos > 2 || (x->npos == 1 && !x->o.filter) || (x->npos == 2 && x->o.filter))
		return cli_fail("usage: stratus %s NAME [NODE | --filter EXPR] [--force]", verb), 2;
	char suffix[64];
	snprintf(suffix, sizeof(suffix), "/nodes/%s", what);
	cli_path(path, sizeof(path), "/clusters/", x->pos[0], suffix);
	json_t *body = json_pack("{s:b}", "force", x->o.force);
	if (x->o.filter)
		json_object_set_new(body, "filter", json_string(x->o.filter));
	if (x->npos == 2) {
		/* Accept "execute-1" for "CLUSTER-execute-1", as CycleCloud names them. */
		char full[256];
		if (strncmp(x->pos[1], x->pos[0], strlen(x->pos[0])) || x->pos[1][strlen(x->pos[0])] != '-')
			snprintf(full, sizeof(full), "%s-%s", x->pos[0], x->pos[1]);
		else
			snprintf(full, sizeof(full), "%s", x->pos[1]);
		json_t *names = json_pack("[s]", full);
		json_object_set_new(body, "nodes", names);
		/* ...but a node really called that wins. */
		json_array_append_new(names, json_string(x->pos[1]));
	}
	long st = 0;
	if (x->npos == 2) {
		/* Try the full name first, then the name as given. */
		json_t *b2 = json_deep_copy(body);
		json_t *only = json_pack("[O]", json_array_get(json_object_get(body, "nodes"), 0));
		json_object_set_new(b2, "nodes", only);
		long s2 = 0;
		char *err = NULL;
		json_t *ans = NULL;
		int rc = client_call(&x->c, "POST", path, b2, NULL, 0, NULL, &s2, &ans, &err);
		json_decref(b2);
		if (!rc && s2 == 404 && strcmp(json_string_value(json_array_get(json_object_get(body, "nodes"), 0)),
					    x->pos[1])) {
			json_decref(ans);
			json_object_set_new(body, "nodes", json_pack("[s]", x->pos[1]));
		} else {
			json_decref(body);
			if (rc) {
				cli_fail("%s", err ? err : "request failed");
				free(err);
				return 1;
			}
			if (s2 >= 400) {
				cli_fail("%s", client_errtext(ans, s2));
				json_decref(ans);
				return 1;
			}
			a = ans;
			goto print;
		}
	}
	if (cli_call(&x->c, "POST", path, body, &a, &st))
		return 1;
print:
	if (x->json)
		print_json(json_object_get(a, "nodes"));
	else {
		size_t i;
		json_t *n;
		printf("%s %zu node(s):", !strcmp(what, "remove") ? "Removing" : "Terminating",
		       json_array_size(json_object_get(a, "nodes")));
		json_array_foreach(json_object_get(a, "nodes"), i, n)
			printf(" %s", json_string_value(n));
		printf("\n");
	}
	json_decref(a);
	return 0;
}

static int v_terminate_node(struct ctx *x) { return node_action(x, "terminate_node", "terminate"); }
static int v_remove_node(struct ctx *x) { return node_action(x, "remove_node", "remove"); }

static int v_retry(struct ctx *x)
{
	json_t *a = NULL;
	char path[512];
	if (x->npos != 1)
		return cli_fail("usage: stratus retry NAME"), 2;
	cli_path(path, sizeof(path), "/clusters/", x->pos[0], "/retry");
	if (cli_call(&x->c, "POST", path, json_object(), &a, NULL))
		return 1;
	print_nodes(x, json_object_get(a, "nodes"), "Retrying", "failed node(s)");
	json_decref(a);
	return 0;
}

static int v_ssh(struct ctx *x)
{
	json_t *n = NULL, *k = NULL;
	char path[512], keyp[PATH_MAX + 64];
	if (x->npos < 2)
		return cli_fail("usage: stratus ssh NAME NODE [COMMAND...]"), 2;
	char *e = client_escape(x->pos[0]), *nn = client_escape(x->pos[1]);
	snprintf(path, sizeof(path), "/clusters/%s/nodes/%s", e, nn);
	long st = 0;
	char *err = NULL;
	if (client_call(&x->c, "GET", path, NULL, NULL, 0, NULL, &st, &n, &err) == 0 && st == 404) {
		json_decref(n);
		n = NULL;
		char *full = NULL;
		if (asprintf(&full, "%s-%s", x->pos[0], x->pos[1]) > 0) {
			char *ef = client_escape(full);
			snprintf(path, sizeof(path), "/clusters/%s/nodes/%s", e, ef);
			free(ef);
			free(full);
		}
	} else {
		json_decref(n);
		n = NULL;
	}
	free(err);
	free(nn);
	if (cli_call(&x->c, "GET", path, NULL, &n, NULL)) {
		free(e);
		return 1;
	}
	snprintf(path, sizeof(path), "/clusters/%s/sshkey", e);
	free(e);
	if (cli_call(&x->c, "GET", path, NULL, &k, NULL)) {
		json_decref(n);
		return 1;
	}
	const char *ip = json_string_value(json_object_get(n, "ip"));
	const char *key = json_string_value(json_object_get(k, "private_key"));
	snprintf(keyp, sizeof(keyp), "%s/keys", x->cfgdir);
	util_mkdirs(keyp, 0700);
	snprintf(keyp, sizeof(keyp), "%s/keys/%s", x->cfgdir, x->pos[0]);
	if (!key || util_write_file_atomic(keyp, key, strlen(key), 0600)) {
		json_decref(n);
		json_decref(k);
		return cli_fail("cannot store the key of cluster '%s' in '%s'", x->pos[0], keyp);
	}
	/* A user name as useradd takes it: it goes on ssh's command line. */
	const char *user = x->o.user && *x->o.user ? x->o.user : "root";
	bool user_ok = strlen(user) <= 32 && (islower((unsigned char)user[0]) || user[0] == '_');
	for (const char *p = user; *p && user_ok; p++)
		user_ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '-';
	if (!user_ok) {
		json_decref(k);
		json_decref(n);
		return cli_fail("--user '%s' is not a user name (lowercase letters, digits, _ and -)", user), 2;
	}
	char dest[128];
	snprintf(dest, sizeof(dest), "%s@%s", user, ip ? ip : "");
	json_decref(k);
	json_decref(n);
	char **argv = calloc((size_t)x->npos + 16, sizeof(char *));
	int a = 0;
	argv[a++] = "ssh";
	argv[a++] = "-i";
	argv[a++] = keyp;
	/* Nodes are made and remade with new host keys: do not pin them. */
	argv[a++] = "-o";
	argv[a++] = "StrictHostKeyChecking=no";
	argv[a++] = "-o";
	argv[a++] = "UserKnownHostsFile=/dev/null";
	argv[a++] = "-o";
	argv[a++] = "LogLevel=ERROR";
	argv[a++] = "-o";
	argv[a++] = "BatchMode=yes";
	argv[a++] = dest;
	for (int i = 2; i < x->npos; i++)
		argv[a++] = x->pos[i];
	argv[a] = NULL;
	fflush(stdout);
	execvp("ssh", argv);
	return cli_fail("cannot run ssh: %s; is openssh-client installed?", strerror(errno));
}

/* ---------------------------------------------------------------- verbs */

struct verb {
	const char *name;
	const char *usage;
	const char *summary;
	int (*fn)(struct ctx *x);
	bool needs_settings;
	struct cfg_opt opts[12];
};

static const struct verb verbs[] = {
	{ "initialize", "[--batch --url URL --username USER --password PW] [--verify-ssl false] [--ca CERT.pem]",
	  "Connect the CLI to a manager: log in, then write the settings file (mode 0600) with an API token. "
	  "Without --batch, asks for what is missing.", v_initialize, false, {
		OPT_FORMAT,
		CFG_BOOL("batch", 0, struct opts, batch, "false", "never ask; fail if something is missing"),
		CFG_STR("url", 0, struct opts, url, NULL, "the manager, https://HOST:PORT"),
		CFG_STR("username", 0, struct opts, username, NULL, "user name"),
		CFG_STR("password", 0, struct opts, password, NULL, "password (visible to other users in ps: prefer --password-file)"),
		CFG_STR("password-file", 0, struct opts, password_file, NULL, "read the password from this file"),
		CFG_STR("verify-ssl", 0, struct opts, verify_ssl, NULL, "false: do not verify the manager's certificate"),
		CFG_STR("ca", 0, struct opts, ca, NULL, "the manager's certificate (PEM) to trust and pin"),
		CFG_END } },
	{ "logout", "[--all]", "Revoke the CLI's token at the manager and forget it (--all: every token of this user, "
	  "e.g. a lost laptop's).", v_logout, true, { OPT_FORMAT,
		CFG_BOOL("all", 0, struct opts, all, "false", "revoke every token of this user"), CFG_END } },
	{ "locker", "list", "List the lockers projects are uploaded to.", v_locker, true, { OPT_FORMAT, CFG_END } },
	{ "project", "upload LOCKER", "Upload the project in this folder (project.ini, specs/) to LOCKER.", v_project, true,
	  { OPT_FORMAT, CFG_END } },
	{ "import_template", "[NAME] -f FILE [--force]", "Import a cluster template (NAME: its [cluster NAME] by default).",
	  v_import_template, true, { OPT_FORMAT,
		CFG_STR("file", 'f', struct opts, file, NULL, "the template file"),
		CFG_BOOL("force", 0, struct opts, force, "false", "replace a template of that name"), CFG_END } },
	{ "create_cluster", "TEMPLATE NAME [-p PARAMS.json]", "Create cluster NAME from TEMPLATE (alias: import_cluster).",
	  v_create_cluster, true, { OPT_FORMAT,
		CFG_STR("parameters", 'p', struct opts, params, NULL, "JSON object of parameter values"), CFG_END } },
	{ "import_cluster", "TEMPLATE NAME [-p PARAMS.json]", "The same as create_cluster.", v_create_cluster, true,
	  { OPT_FORMAT, CFG_STR("parameters", 'p', struct opts, params, NULL, "JSON object of parameter values"), CFG_END } },
	{ "start_cluster", "NAME", "Start a cluster: make its nodes.", v_start_cluster, true, { OPT_FORMAT, CFG_END } },
	{ "terminate_cluster", "NAME [--force]", "Terminate every node of a cluster and take its network down.  "
	  "A cluster that a running cluster depends on (a storage cluster it mounts) needs --force.", v_terminate_cluster, true,
	  { OPT_FORMAT, CFG_BOOL("force", 0, struct opts, force, "false", "even if running clusters depend on it"), CFG_END } },
	{ "delete_cluster", "NAME [--force]", "Delete a terminated cluster and its records (--force: even if a running "
	  "cluster names it).", v_delete_cluster, true,
	  { OPT_FORMAT, CFG_BOOL("force", 0, struct opts, force, "false", "even if running clusters depend on it"), CFG_END } },
	{ "show_cluster", "[NAME] [-l]", "List clusters, or show one with its nodes (-l: reasons and failed scripts' logs).",
	  v_show_cluster, true, { OPT_FORMAT,
		CFG_BOOL("long", 'l', struct opts, lng, "false", "more detail"), CFG_END } },
	{ "show_nodes", "NAME [--filter EXPR]", "List a cluster's nodes, e.g. --filter 'Template == \"execute\"'.",
	  v_show_nodes, true, { OPT_FORMAT,
		CFG_STR("filter", 0, struct opts, filter, NULL, "only nodes matching this expression"),
		CFG_BOOL("long", 'l', struct opts, lng, "false", "also show failed scripts' logs"), CFG_END } },
	{ "show_node", "NAME NODE", "One node: its state and reason, its cluster-init scripts and its timeline "
	  "(every state change, retry and script, with times).", v_show_node, true, { OPT_FORMAT, CFG_END } },
	{ "add_node", "NAME -t ARRAY [-c COUNT]", "Add COUNT nodes to node array ARRAY of cluster NAME.", v_add_node, true,
	  { OPT_FORMAT,
		CFG_STR("template", 't', struct opts, tmpl, NULL, "the node array"),
		CFG_INT("count", 'c', struct opts, count, "1", 1, 1000, "how many nodes"), CFG_END } },
	{ "terminate_node", "NAME [NODE] [--filter EXPR] [--force]",
	  "Terminate nodes (they stay listed, Off).  Nodes outside node arrays need --force.", v_terminate_node, true,
	  { OPT_FORMAT,
		CFG_STR("filter", 0, struct opts, filter, NULL, "the nodes matching this expression"),
		CFG_BOOL("force", 0, struct opts, force, "false", "also scheduler/head nodes"), CFG_END } },
	{ "remove_node", "NAME [NODE] [--filter EXPR] [--force]", "Terminate nodes and delete their records.", v_remove_node, true,
	  { OPT_FORMAT,
		CFG_STR("filter", 0, struct opts, filter, NULL, "the nodes matching this expression"),
		CFG_BOOL("force", 0, struct opts, force, "false", "also scheduler/head nodes"), CFG_END } },
	{ "retry", "NAME", "Run the cluster-init of the cluster's Failed nodes again (what failed or never ran).", v_retry, true,
	  { OPT_FORMAT, CFG_END } },
	{ "ssh", "NAME NODE [COMMAND...]", "ssh to a node with the cluster's key, as root or as --user (e.g. the "
	  "cluster user, hpcuser).", v_ssh, true,
	  { OPT_FORMAT, CFG_STR("user", 0, struct opts, user, "root", "log in as this user (the slurm template's "
				"cluster user is hpcuser by default)"), CFG_END } },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: stratus VERB [options] [arguments]\n\nThe Stratus cluster manager CLI (docs/cli.md).\n\nverbs:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-18s %s\n", verbs[i].name, verbs[i].usage);
	cli_pool_usage(f);
	fprintf(f, "  %-18s %s\n", "bench", "[--oss \"1 2 4 8\"] [--cap MIB_S] [--storage NAME --compute NAME] (bench/stratus-bench)");
	fprintf(f, "\n'stratus VERB --help' shows a verb's options.  Exit codes: 0 done, 1 failed, 2 bad usage.\n");
}

/*
 * `stratus bench ...` is the script bench/stratus-bench (the seed's throughput
 * experiment, driving this CLI): found beside this program's source tree
 * (build/bin/../../bench), in an install's share/stratus/bench, or on PATH.
 */
static int run_bench(int argc, char **argv)
{
	char self[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		const char *rel[] = { "../../bench/stratus-bench", "../share/stratus/bench/stratus-bench" };
		for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
			snprintf(cand, sizeof(cand), "%s/%s", self, rel[i]);
			if (access(cand, X_OK) == 0) {
				argv[0] = cand;
				execv(cand, argv);
			}
		}
	}
	argv[0] = "stratus-bench";
	execvp("stratus-bench", argv);
	fprintf(stderr, "stratus: error: cannot run 'stratus-bench' (bench/stratus-bench): %s; "
		"run it from the source tree or install it on PATH\n", strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct ctx x;
	memset(&x, 0, sizeof(x));
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (cli_pool_is_verb(argv[1]))
		return cli_pool_main(argc, argv);
	if (!strcmp(argv[1], "bench"))
		return run_bench(argc - 1, argv + 1);
	const struct verb *v = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i].name))
			v = &verbs[i];
	if (!v) {
		fprintf(stderr, "stratus: error: unknown verb '%s'; see 'stratus --help'\n", argv[1]);
		return 2;
	}
	char progname[64];
	snprintf(progname, sizeof(progname), "stratus %s", v->name);
	struct cfg_program prog = { progname, v->usage, v->summary, v->opts };
	int nargc;
	char **nargv = cli_permute(v->opts, argc - 1, argv + 1, &nargc);
	if (!nargv)
		return cli_fail("out of memory");
	int idx = cfg_parse_args(&prog, &x.o, nargc, nargv);
	x.pos = nargv + idx;
	x.npos = nargc - idx;
	if (strcmp(x.o.format, "json") && strcmp(x.o.format, "text")) {
		fprintf(stderr, "stratus: error: --format takes json or text, not '%s'\n", x.o.format);
		return 2;
	}
	x.json = !strcmp(x.o.format, "json");
	config_path(&x);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = 0;
	if (v->needs_settings && (rc = load_settings(&x)))
		goto out;
	rc = v->fn(&x);
out:
	cli_settings_release(&x.s);
	cfg_release(&prog, &x.o);
	free(nargv);
	curl_global_cleanup();
	return rc;
}

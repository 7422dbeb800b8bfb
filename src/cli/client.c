/*
 * client.c: the CLI's HTTPS calls (client.h).
 */
#include "cli/client.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "common/buf.h"
#include "common/config.h"

#define MAX_ANSWER (64u << 20)

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	if (buf_append(b, p, sz * n))
		return 0; /* too big: curl fails the transfer */
	return sz * n;
}

static int say(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(char **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -EIO;
}

/*
 * A handle for URL (HTTPS only, never through a proxy: the manager is ours,
 * and lookups must not leave) that collects the answer into ans and libcurl's
 * error text into ebuf (CURL_ERROR_SIZE).  NULL if libcurl cannot start.
 */
static CURL *curl_start(const char *url, char *ebuf, struct buf *ans, long timeout_s)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	return h;
}

char *client_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = e ? strdup(e) : NULL;
	curl_free(e);
	return r;
}

const char *client_errtext(json_t *ans, long status)
{
	const char *e = json_string_value(json_object_get(ans, "error"));
	if (e)
		return e;
	switch (status) {
	case 401: return "the manager refused our token; run 'stratus initialize' again";
	case 404: return "not found";
	default: return "the manager answered with an error";
	}
}

int client_call(const struct client *c, const char *method, const char *path, json_t *body,
		const void *raw, size_t rawlen, const char *ctype, long *status, json_t **out,
		char **err)
{
	char url[4096], ebuf[CURL_ERROR_SIZE] = "", auth[256];
	struct buf ans = BUF_INIT(MAX_ANSWER);
	struct curl_slist *hdr = NULL;
	char *js = NULL;
	int rc = 0;

	*out = NULL;
	*err = NULL;
	*status = 0;
	if (!strncmp(c->url, "http://", 7))
		return say(err, "'%s' is plain HTTP, but the manager speaks only HTTPS: use https://%s",
			   c->url, c->url + 7);
	if (strncmp(c->url, "https://", 8))
		return say(err, "'%s' is not an https:// URL; give the manager as https://HOST:PORT", c->url);
	snprintf(url, sizeof(url), "%s/api/v1%s", c->url, path);
	CURL *h = curl_start(url, ebuf, &ans, 600L);
	if (!h)
		return say(err, "cannot start libcurl");
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!c->verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (c->ca) {
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		hdr = curl_slist_append(hdr, auth);
	}
	if (body) {
		js = json_dumps(body, JSON_COMPACT);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, js ? js : "{}");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(js ? js : "{}"));
	} else if (raw) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/octet-stream");
		hdr = curl_slist_append(hdr, ct);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, raw);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rawlen);
	}
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
		rc = say(err, "cannot connect to '%s': %s; is stratusd running there, and is the port right?",
			 c->url, ebuf[0] ? ebuf : "connection refused");
		goto out;
	case CURLE_COULDNT_RESOLVE_HOST:
		rc = say(err, "cannot find the host of '%s': %s; check the URL (or use the manager's IP address)",
			 c->url, ebuf);
		goto out;
	case CURLE_OPERATION_TIMEDOUT:
		rc = say(err, "'%s' did not answer in time (%s); is the address right and stratusd running?", c->url, ebuf);
		goto out;
	case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
	case CURLE_SSL_CACERT:
#endif
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		say(err, "the certificate of '%s' is not trusted: %s; give the manager's certificate with "
		    "--ca FILE (stratusd keeps it in STATE_DIR/tls/cert.pem), or --verify-ssl false to skip the check",
		    c->url, ebuf);
		rc = -EKEYREJECTED;
		goto out;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
		rc = say(err, "TLS with '%s' failed: %s; is that port a Stratus manager (it speaks HTTPS)?", c->url, ebuf);
		goto out;
	case CURLE_UNSUPPORTED_PROTOCOL:
		rc = say(err, "'%s' is not an https:// URL; give the manager as https://HOST:PORT", c->url);
		goto out;
	default:
		rc = say(err, "request to '%s' failed: %s", url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
		goto out;
	}
	if (ans.len) {
		json_error_t je;
		*out = json_loadb(ans.data, ans.len, 0, &je);
		if (!*out) {
			rc = say(err, "'%s' answered %ld with something that is not JSON: it does not look like a "
				 "Stratus manager; check the URL (https://HOST:PORT, no path)", c->url, *status);
			goto out;
		}
	}
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	free(js);
	buf_release(&ans);
	return rc;
}

static const struct cfg_opt settings_tbl[] = {
	CFG_STR("url", 0, struct cli_settings, url, NULL, "manager URL"),
	CFG_STR("username", 0, struct cli_settings, username, NULL, "user"),
	CFG_STR("token", 0, struct cli_settings, token, NULL, "API token"),
	CFG_STR("ca", 0, struct cli_settings, ca, NULL, "pinned certificate"),
	CFG_BOOL("verify_ssl", 0, struct cli_settings, verify_ssl, "true", "verify the certificate"),
	CFG_END
};
static const struct cfg_program settings_prog = { "stratus", NULL, NULL, settings_tbl };

void cli_settings_path(const char *given, char *out, size_t len)
{
	const char *p = given ? given : getenv("STRATUS_CONFIG");
	if (p && *p) {
		snprintf(out, len, "%s", p);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw = home ? NULL : getpwuid(getuid());
		snprintf(out, len, "%s/.stratus/config.ini", home ? home : pw ? pw->pw_dir : "/root");
	}
}

int cli_settings_load(const char *path, struct cli_settings *s, struct client *c)
{
	char *err = NULL;
	cfg_defaults(&settings_prog, s);
	if (access(path, F_OK) != 0)
		return cli_fail("no CLI settings at '%s'; run 'stratus initialize' first", path);
	if (cfg_load_file(&settings_prog, s, path, &err)) {
		cli_fail("cannot read the CLI settings: %s; run 'stratus initialize' again", err ? err : path);
		free(err);
		return 1;
	}
	if (!s->url || !s->token)
		return cli_fail("'%s' has no url or token; run 'stratus initialize' again", path);
	*c = (struct client){ .url = s->url, .token = s->token, .verify = s->verify_ssl, .ca = s->ca };
	return 0;
}

void cli_settings_release(struct cli_settings *s)
{
	cfg_release(&settings_prog, s);
}

char **cli_permute(const struct cfg_opt *tbl, int argc, char **argv, int *nargc)
{
	char **out = calloc((size_t)argc + 2, sizeof(char *));
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int n = 0, np = 0;
	if (!out || !pos) {
		free(out);
		free(pos);
		return NULL;
	}
	out[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "--")) {
			while (++i < argc)
				pos[np++] = argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			pos[np++] = a;
			continue;
		}
		/* --config names the CLI's settings file, not a file of flags. */
		if (!strcmp(a, "--config"))
			a = "--settings";
		else if (!strncmp(a, "--config=", 9) && asprintf(&a, "--settings=%s", a + 9) < 0)
			a = argv[i];
		out[n++] = a;
		if (strchr(a, '='))
			continue;
		const struct cfg_opt *o = NULL;
		for (const struct cfg_opt *p = tbl; p->name; p++)
			if ((a[1] == '-' && !strcmp(a + 2, p->name)) || (a[1] != '-' && a[2] == '\0' && a[1] == p->short_name))
				o = p;
		if (o && o->type != CFG_T_BOOL && i + 1 < argc)
			out[n++] = argv[++i];
	}
	out[n++] = "--";
	for (int i = 0; i < np; i++)
		out[n++] = pos[i];
	free(pos);
	*nargc = n;
	return out;
}

void cli_path(char *out, size_t len, const char *prefix, const char *name, const char *suffix)
{
	char *e = client_escape(name);
	snprintf(out, len, "%s%s%s", prefix, e ? e : "", suffix);
	free(e);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "stratus: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return 1;
}

int cli_call(const struct client *c, const char *method, const char *path, json_t *body, json_t **out,
	     long *status)
{
	long st = 0;
	char *err = NULL;
	json_t *ans = NULL;
	int rc = client_call(c, method, path, body, NULL, 0, NULL, &st, &ans, &err);
	json_decref(body);
	if (rc) {
		cli_fail("%s", err ? err : "request failed");
		free(err);
		return 1;
	}
	if (status)
		*status = st;
	if (st >= 400) {
		cli_fail("%s", client_errtext(ans, st));
		json_decref(ans);
		return 1;
	}
	if (out)
		*out = ans;
	else
		json_decref(ans);
	return 0;
}

int client_peer_cert(const char *base, char **pem, char **err)
{
	char url[4096], ebuf[CURL_ERROR_SIZE] = "";
	struct buf ans = BUF_INIT(1 << 20);
	struct curl_certinfo *ci = NULL;
	int rc = -EIO;

	*pem = NULL;
	*err = NULL;
	if (strncmp(base, "https://", 8))
		return say(err, "'%s' is not an https:// URL; give the manager as https://HOST:PORT", base);
	snprintf(url, sizeof(url), "%s/api/v1/whoami", base);
	CURL *h = curl_start(url, ebuf, &ans, 30L);
	if (!h)
		return say(err, "cannot start libcurl");
	/* Not trusted yet: we only look at the certificate, and send nothing secret. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		say(err, "cannot fetch the certificate of '%s': %s", base, ebuf[0] ? ebuf : curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1) {
		say(err, "'%s' showed no certificate", base);
		goto out;
	}
	/* The first certificate of the chain is the server's own. */
	for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next)
		if (!strncmp(l->data, "Cert:", 5)) {
			*pem = strdup(l->data + 5);
			break;
		}
	if (!*pem) {
		say(err, "libcurl gave no PEM of the certificate of '%s'", base);
		goto out;
	}
	rc = 0;
out:
	curl_easy_cleanup(h);
	buf_release(&ans);
	return rc;
}

/*
 * client.c: the agent's side of the agent <-> manager contract (docs/api.md):
 * HTTPS with libcurl, the manager's certificate verified against the CA file
 * the provider handed us (host name included: the manager's certificate
 * names its gateway addresses), `Authorization: Bearer TOKEN` on every call.
 * Answers are size-capped: a manager that talks too much is cut off.
 */
#include "agent/agent.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"

#define MAX_JSON_ANSWER (16u << 20)
#define CONNECT_TIMEOUT_S 5L
#define CALL_TIMEOUT_S 120L

struct client {
	CURL *curl;
	char *base;          /* "https://host:port/api/v1" */
	char *ca_file;
	struct curl_slist *auth; /* the Authorization header (secret) */
};

static void set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err, const char *fmt, ...)
{
	if (!err)
		return;
	free(*err);
	*err = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
}

int client_new(const char *base_url, const char *token, const char *ca_file, struct client **out, char **err)
{
	static bool inited;
	if (!base_url || strncmp(base_url, "https://", 8)) {
		set_err(err, "manager url '%s' does not start with https://; give https://GATEWAY:PORT",
			base_url ? base_url : "");
		return -EINVAL;
	}
	if (!token || !*token || strpbrk(token, "\r\n")) {
		set_err(err, "the node's token is missing or not one line; check the agent's config file");
		return -EINVAL;
	}
	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = true;
	}
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	size_t bl = strlen(base_url);
	while (bl && base_url[bl - 1] == '/')
		bl--;
	char *hdr = NULL;
	if (asprintf(&c->base, "%.*s/api/v1", (int)bl, base_url) < 0)
		c->base = NULL;
	if (asprintf(&hdr, "Authorization: Bearer %s", token) < 0)
		hdr = NULL;
	c->ca_file = ca_file ? strdup(ca_file) : NULL;
	c->curl = curl_easy_init();
	if (hdr) {
		c->auth = curl_slist_append(NULL, hdr);
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
	}
	if (!c->base || !c->curl || !c->auth || (ca_file && !c->ca_file)) {
		client_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->auth);
	free(c->base);
	free(c->ca_file);
	free(c);
}

char *client_escape(struct client *c, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	char *r = e ? strdup(e) : NULL;
	curl_free(e);
	return r;
}

struct sink {
	CURL *curl;        /* to tell an error answer from a download */
	struct buf body;   /* JSON answers and error bodies */
	FILE *file;        /* or the file a download goes to */
	size_t file_max, file_len;
	bool over;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	long code = 0;
	if (s->file)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (s->file && code < 400) {
		if (s->file_len + len > s->file_max) {
			s->over = true;
			return 0;
		}
		s->file_len += len;
		return fwrite(p, 1, len, s->file);
	}
	if (buf_append(&s->body, p, len)) {
		s->over = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return len;
}

/* One call; the answer body goes to sink.  Returns 0 with *status, or -errno with *err. */
static int call(struct client *c, const char *method, const char *path, const char *json_body,
		struct sink *sink, const char *accept, long *status, char **err)
{
	char url[8192];
	char errbuf[CURL_ERROR_SIZE] = "";
	*status = 0;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url)) {
		set_err(err, "request path '%s' is too long", path);
		return -ENAMETOOLONG;
	}
	CURL *h = c->curl;
	curl_easy_reset(h);
	struct curl_slist *hdrs = NULL;
	for (struct curl_slist *a = c->auth; a; a = a->next)
		hdrs = curl_slist_append(hdrs, a->data);
	hdrs = curl_slist_append(hdrs, accept);
	if (json_body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, CALL_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	/* The manager is reached on the cluster network, never through a proxy. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	if (json_body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode cc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK) {
		int rc;
		if (sink->over) {
			set_err(err, "%s %s: the manager's answer is larger than allowed; dropped", method, path);
			return -EMSGSIZE;
		}
		switch (cc) {
		case CURLE_COULDNT_CONNECT: rc = -ECONNREFUSED; break;
		case CURLE_OPERATION_TIMEDOUT: rc = -ETIMEDOUT; break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CONNECT_ERROR: rc = -EACCES; break;
		default: rc = -EIO; break;
		}
		set_err(err, "%s %s: cannot reach the manager at '%s': %s%s", method, path, c->base,
			errbuf[0] ? errbuf : curl_easy_strerror(cc),
			rc == -EACCES ? "; is the agent's 'ca' the manager's certificate?" : "");
		return rc;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 400) {
		const char *msg = NULL;
		json_t *j = sink->body.data ? json_loadb(sink->body.data, sink->body.len, 0, NULL) : NULL;
		if (j)
			msg = json_string_value(json_object_get(j, "error"));
		set_err(err, "%s %s: the manager answered %ld: %s", method, path, *status,
			msg ? msg : "(no message)");
		json_decref(j);
		return -EPROTO;
	}
	return 0;
}

/* *out = the JSON of an answer's body, or -EBADMSG with *err. */
static int parse_answer(const char *method, const char *path, const struct sink *s, json_t **out, char **err)
{
	json_error_t je;
	*out = s->body.data ? json_loadb(s->body.data, s->body.len, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (*out)
		return 0;
	set_err(err, "%s %s: the manager's answer is not JSON (%s)", method, path,
		s->body.data ? je.text : "empty body");
	return -EBADMSG;
}

int client_get_json(struct client *c, const char *path, json_t **out, long *status, char **err)
{
	struct sink s = { .body = BUF_INIT(MAX_JSON_ANSWER) };
	int rc = call(c, "GET", path, NULL, &s, "Accept: application/json", status, err);
	if (!rc)
		rc = parse_answer("GET", path, &s, out, err);
	buf_release(&s.body);
	return rc;
}

int client_post_json_answer(struct client *c, const char *path, json_t *body, json_t **out, long *status,
			    char **err)
{
	char *text = json_dumps(body, JSON_COMPACT);
	*out = NULL;
	if (!text) {
		set_err(err, "POST %s: cannot encode the request", path);
		return -ENOMEM;
	}
	struct sink s = { .body = BUF_INIT(MAX_JSON_ANSWER) };
	int rc = call(c, "POST", path, text, &s, "Accept: application/json", status, err);
	if (!rc)
		rc = parse_answer("POST", path, &s, out, err);
	buf_release(&s.body);
	free(text);
	return rc;
}

int client_post_json(struct client *c, const char *path, json_t *body, long *status, char **err)
{
	char *text = json_dumps(body, JSON_COMPACT);
	if (!text) {
		set_err(err, "POST %s: cannot encode the request", path);
		return -ENOMEM;
	}
	struct sink s = { .body = BUF_INIT(1 << 20) };
	int rc = call(c, "POST", path, text, &s, "Accept: application/json", status, err);
	buf_release(&s.body);
	free(text);
	return rc;
}

int client_get_file(struct client *c, const char *path, const char *dest, size_t max, long *status, char **err)
{
	FILE *f = fopen(dest, "we");
	if (!f) {
		int rc = neg_errno();
		set_err(err, "cannot write '%s': %s", dest, strerror(-rc));
		return rc;
	}
	struct sink s = { .curl = c->curl, .body = BUF_INIT(1 << 20), .file = f, .file_max = max };
	int rc = call(c, "GET", path, NULL, &s, "Accept: application/x-tar, application/json", status, err);
	if (fclose(f) != 0 && !rc) {
		rc = neg_errno();
		set_err(err, "cannot write '%s': %s", dest, strerror(-rc));
	}
	buf_release(&s.body);
	return rc;
}

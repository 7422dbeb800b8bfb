/*
 * session.c: browser sessions and their CSRF tokens (session.h).
 *
 * Session ids are 256 random bits in hex, made like API tokens
 * (auth_new_token); the datastore keeps only their SHA-256.  The CSRF token
 * is SHA-256("stratus-csrf:" + id): knowing it needs the id, which the
 * browser keeps in an HttpOnly cookie that scripts cannot read, and which is
 * handed to the page only by the same-origin API (GET /api/v1/session).
 */
#include "manager/session.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "common/util.h"
#include "manager/auth.h"
#include "manager/db.h"

static const char csrf_label[] = "stratus-csrf:";

int session_init(struct db *db)
{
	int rc = db_exec(db, "CREATE TABLE IF NOT EXISTS sessions ("
			 "  id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
			 "  user_id INTEGER NOT NULL, created INTEGER NOT NULL,"
			 "  last_used INTEGER NOT NULL, expires INTEGER NOT NULL)", NULL);
	if (rc < 0)
		return rc;
	rc = db_exec(db, "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)", NULL);
	return rc < 0 ? rc : 0;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int session_cookie_value(const char *hdr, char id[SESSION_ID_LEN + 1])
{
	static const size_t namelen = sizeof(SESSION_COOKIE) - 1;
	if (!hdr)
		return -ENOENT;
	/* Cookie: a=b; c=d -- pairs separated by ';' and optional spaces. */
	const char *p = hdr;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > namelen && !strncmp(p, SESSION_COOKIE, namelen) && p[namelen] == '=') {
			const char *v = p + namelen + 1;
			size_t vn = n - namelen - 1;
			if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
				v++;
				vn -= 2;
			}
			if (vn != SESSION_ID_LEN || !is_hex(v, vn))
				return -EINVAL;
			memcpy(id, v, vn);
			id[vn] = '\0';
			return 0;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return -ENOENT;
}

int session_csrf_token(const char *id, char out[SESSION_CSRF_LEN + 1])
{
	char in[sizeof(csrf_label) + SESSION_ID_LEN];
	unsigned char d[32];
	static const char hx[] = "0123456789abcdef";
	size_t n = strlen(id);
	if (n != SESSION_ID_LEN)
		return -EINVAL;
	memcpy(in, csrf_label, sizeof(csrf_label) - 1);
	memcpy(in + sizeof(csrf_label) - 1, id, n);
	int rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, in, sizeof(csrf_label) - 1 + n, d);
	explicit_bzero(in, sizeof(in));
	if (rc < 0)
		return -EIO;
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[SESSION_CSRF_LEN] = '\0';
	return 0;
}

int session_csrf_check(const char *id, const char *value)
{
	char want[SESSION_CSRF_LEN + 1];
	if (!value || strlen(value) != SESSION_CSRF_LEN)
		return -EPERM;
	if (session_csrf_token(id, want))
		return -EPERM;
	unsigned diff = 0;
	for (size_t i = 0; i < SESSION_CSRF_LEN; i++)
		diff |= (unsigned char)(tolower((unsigned char)value[i]) ^ want[i]);
	return diff ? -EPERM : 0;
}

bool session_method_changes_state(const char *method)
{
	if (!method)
		return true;
	return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

int session_set_cookie(char *out, size_t len, const char *id, int64_t max_age_s)
{
	int n;
	/* __Host- makes the browser insist on Secure, Path=/ and no Domain. */
	if (id)
		n = snprintf(out, len, "%s=%s; Path=/; Max-Age=%lld; Secure; HttpOnly; SameSite=Strict",
			     SESSION_COOKIE, id, (long long)max_age_s);
	else
		n = snprintf(out, len, "%s=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
			     SESSION_COOKIE);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* Check a password the way auth_login does, without issuing an API token. */
static int check_user(struct db *db, const char *name, const char *password, int64_t *uid)
{
	/* A missing user still costs one hash, so timing does not tell names. */
	static const char *dummy = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7";
	char *hash = NULL;
	if (strlen(name) > 127 || strlen(password) > AUTH_MAX_PASSWORD) {
		auth_check_password("", dummy);
		return -EACCES;
	}
	if (db_get_text(db, &hash, "SELECT hash FROM users WHERE name = ?", "s", name) ||
	    db_get_int(db, uid, "SELECT id FROM users WHERE name = ?", "s", name)) {
		auth_check_password(password, dummy);
		free(hash);
		return -EACCES;
	}
	int rc = auth_check_password(password, hash);
	free(hash);
	return rc ? -EACCES : 0;
}

int session_login(struct db *db, const char *name, const char *password,
		  char id[SESSION_ID_LEN + 1], struct session_info *info)
{
	char h[65];
	int64_t uid = 0, now = util_wall_ms();
	int rc = check_user(db, name, password, &uid);
	if (rc)
		return rc;
	if ((rc = auth_new_token(id)) || (rc = auth_token_hash(id, h)))
		return rc;
	memset(info, 0, sizeof(*info));
	info->user_id = uid;
	snprintf(info->user, sizeof(info->user), "%s", name);
	info->created_ms = now;
	info->expires_ms = now + SESSION_MAX_AGE_S * 1000LL;
	if ((rc = session_csrf_token(id, info->csrf)))
		return rc;
	rc = db_exec(db, "INSERT INTO sessions (hash, user_id, created, last_used, expires) "
		     "VALUES (?, ?, ?, ?, ?)", "siiii", h, uid, now, now, info->expires_ms);
	/* Logging in is also when old sessions are swept. */
	if (rc >= 0)
		session_expire(db);
	return rc < 0 ? rc : 0;
}

int session_lookup(struct db *db, const char *id, struct session_info *info)
{
	char h[65];
	int64_t now = util_wall_ms();
	memset(info, 0, sizeof(*info));
	if (!id || strlen(id) != SESSION_ID_LEN || auth_token_hash(id, h))
		return -EACCES;
	json_t *row = db_query_one(db,
		"SELECT s.user_id, s.created, s.last_used, s.expires, u.name FROM sessions s "
		"JOIN users u ON u.id = s.user_id WHERE s.hash = ?", "s", h);
	if (!row)
		return -EACCES;
	int64_t last = json_integer_value(json_object_get(row, "last_used"));
	info->user_id = json_integer_value(json_object_get(row, "user_id"));
	info->created_ms = json_integer_value(json_object_get(row, "created"));
	info->expires_ms = json_integer_value(json_object_get(row, "expires"));
	snprintf(info->user, sizeof(info->user), "%s", json_string_value(json_object_get(row, "name")));
	json_decref(row);
	if (now >= info->expires_ms || now - last >= SESSION_IDLE_MS) {
		db_exec(db, "DELETE FROM sessions WHERE hash = ?", "s", h);
		return -EACCES;
	}
	/* The GUI polls every few seconds: record the use only now and then. */
	if (now - last >= SESSION_TOUCH_MS)
		db_exec(db, "UPDATE sessions SET last_used = ? WHERE hash = ?", "is", now, h);
	return session_csrf_token(id, info->csrf) ? -EACCES : 0;
}

int session_logout(struct db *db, const char *id)
{
	char h[65];
	if (!id || strlen(id) != SESSION_ID_LEN || auth_token_hash(id, h))
		return 0;
	int rc = db_exec(db, "DELETE FROM sessions WHERE hash = ?", "s", h);
	return rc < 0 ? rc : 0;
}

int session_logout_user(struct db *db, int64_t user_id)
{
	int rc = db_exec(db, "DELETE FROM sessions WHERE user_id = ?", "i", user_id);
	return rc < 0 ? rc : 0;
}

int session_expire(struct db *db)
{
	int64_t now = util_wall_ms();
	return db_exec(db, "DELETE FROM sessions WHERE expires <= ? OR last_used <= ?", "ii",
		       now, now - SESSION_IDLE_MS);
}

int session_authenticate(struct db *db, const char *cookie_header, const char *method,
			 const char *csrf_header, struct session_info *info)
{
	char id[SESSION_ID_LEN + 1];
	int rc = session_cookie_value(cookie_header, id);
	memset(info, 0, sizeof(*info));
	if (rc == -ENOENT)
		return -ENOENT;
	if (rc)
		return -EACCES;
	if ((rc = session_lookup(db, id, info)))
		goto out;
	if (session_method_changes_state(method) && session_csrf_check(id, csrf_header))
		rc = -EPERM;
out:
	explicit_bzero(id, sizeof(id));
	return rc;
}

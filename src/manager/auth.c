/*
 * auth.c: password hashes, tokens and their lookup (auth.h).
 */
#include "manager/auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "common/util.h"
#include "manager/db.h"
#include "manager/session.h"

int auth_hash_password(const char *password, char **hash)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	if (strlen(password) > AUTH_MAX_PASSWORD)
		return -E2BIG;
	/* yescrypt at libcrypt's default cost: about 20 ms per check here. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)))
		return -EIO;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	const char *h = crypt_r(password, salt, cd);
	int rc = 0;
	if (!h || h[0] == '*')
		rc = -EIO;
	else if (!(*hash = strdup(h)))
		rc = -ENOMEM;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int auth_check_password(const char *password, const char *hash)
{
	struct crypt_data *cd;
	if (strlen(password) > AUTH_MAX_PASSWORD)
		return -EACCES;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	const char *h = crypt_r(password, hash, cd);
	int rc = -EACCES;
	if (h && h[0] != '*') {
		size_t a = strlen(h), b = strlen(hash);
		unsigned diff = (unsigned)(a ^ b);
		for (size_t i = 0; i < a && i < b; i++)
			diff |= (unsigned char)(h[i] ^ hash[i]);
		if (!diff)
			rc = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int auth_new_token(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char r[AUTH_TOKEN_LEN / 2];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	to_hex(r, sizeof(r), out);
	explicit_bzero(r, sizeof(r));
	return 0;
}

int auth_token_hash(const char *token, char out[65])
{
	unsigned char d[32];
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), d) < 0)
		return -EIO;
	to_hex(d, sizeof(d), out);
	return 0;
}

int auth_user_set(struct db *db, const char *name, const char *password, int replace)
{
	char *hash = NULL;
	int64_t uid = 0;
	int rc = auth_hash_password(password, &hash);
	if (rc)
		return rc;
	if (!replace) {
		rc = db_exec(db, "INSERT INTO users (name, hash, created) VALUES (?, ?, ?)",
			     "ssi", name, hash, util_wall_ms());
		free(hash);
		return rc < 0 ? rc : 0;
	}
	/* One transaction: the new hash is never in place while what the old
	 * password opened (tokens, browser sessions) still works. */
	db_lock(db);
	if ((rc = db_begin(db)))
		goto out;
	rc = db_exec(db, "INSERT INTO users (name, hash, created) VALUES (?, ?, ?) "
		     "ON CONFLICT (name) DO UPDATE SET hash = excluded.hash",
		     "ssi", name, hash, util_wall_ms());
	if (rc >= 0)
		rc = db_get_int(db, &uid, "SELECT id FROM users WHERE name = ?", "s", name);
	if (rc >= 0)
		rc = auth_user_revoke_all(db, uid);
	/* The sessions table may not exist yet (--init-admin before the first start). */
	if (rc >= 0)
		rc = session_init(db);
	if (rc >= 0)
		rc = session_logout_user(db, uid);
	if (rc >= 0)
		rc = db_commit(db);
	if (rc < 0)
		db_rollback(db);
out:
	db_unlock(db);
	free(hash);
	return rc < 0 ? rc : 0;
}

static int store_token(struct db *db, const char *kind, int64_t user_id, int64_t node_id,
		       int64_t expires, char token[AUTH_TOKEN_LEN + 1])
{
	char h[65];
	int rc = auth_new_token(token);
	if (!rc)
		rc = auth_token_hash(token, h);
	if (!rc)
		rc = db_exec(db, "INSERT INTO tokens (hash, kind, user_id, node_id, created, expires) "
			     "VALUES (?, ?, ?, ?, ?, ?)", "ssiiii", h, kind, user_id, node_id,
			     util_wall_ms(), expires);
	return rc < 0 ? rc : 0;
}

int auth_login(struct db *db, const char *name, const char *password, char token[AUTH_TOKEN_LEN + 1])
{
	return auth_login_ttl(db, name, password, 0, token, NULL);
}

int auth_login_ttl(struct db *db, const char *name, const char *password, int64_t ttl_ms,
		   char token[AUTH_TOKEN_LEN + 1], int64_t *expires)
{
	char *hash = NULL;
	int64_t uid = 0;
	/* A missing user still costs one hash, so timing does not tell names. */
	static const char *dummy = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7";
	if (db_get_text(db, &hash, "SELECT hash FROM users WHERE name = ?", "s", name) ||
	    db_get_int(db, &uid, "SELECT id FROM users WHERE name = ?", "s", name)) {
		auth_check_password(password, dummy);
		free(hash);
		return -EACCES;
	}
	int rc = auth_check_password(password, hash);
	free(hash);
	if (rc)
		return -EACCES;
	int64_t exp = ttl_ms > 0 ? util_wall_ms() + ttl_ms : 0;
	if (expires)
		*expires = exp;
	/* Expired tokens of anyone are of no use: drop them as we go. */
	db_exec(db, "DELETE FROM tokens WHERE kind = 'user' AND expires > 0 AND expires <= ?", "i",
		util_wall_ms());
	return store_token(db, "user", uid, 0, exp, token);
}

int auth_node_token(struct db *db, int64_t node_id, char token[AUTH_TOKEN_LEN + 1])
{
	auth_node_revoke(db, node_id);
	return store_token(db, "node", 0, node_id, 0, token);
}

int auth_token_revoke(struct db *db, const char *token)
{
	char h[65];
	if (!token || strlen(token) != AUTH_TOKEN_LEN || auth_token_hash(token, h))
		return -ENOENT;
	int n = db_exec(db, "DELETE FROM tokens WHERE hash = ?", "s", h);
	return n < 0 ? n : n == 0 ? -ENOENT : 0;
}

int auth_user_revoke_all(struct db *db, int64_t user_id)
{
	return db_exec(db, "DELETE FROM tokens WHERE kind = 'user' AND user_id = ?", "i", user_id);
}

void auth_node_revoke(struct db *db, int64_t node_id)
{
	db_exec(db, "DELETE FROM tokens WHERE kind = 'node' AND node_id = ?", "i", node_id);
}

int auth_lookup(struct db *db, const char *token, struct auth_who *who)
{
	char h[65];
	memset(who, 0, sizeof(*who));
	if (!token || strlen(token) != AUTH_TOKEN_LEN)
		return -EACCES;
	if (auth_token_hash(token, h))
		return -EACCES;
	json_t *row = db_query_one(db,
		"SELECT t.kind, t.user_id, t.node_id, t.expires, COALESCE(u.name, n.name, '') AS who "
		"FROM tokens t LEFT JOIN users u ON t.kind = 'user' AND u.id = t.user_id "
		"LEFT JOIN nodes n ON t.kind = 'node' AND n.id = t.node_id WHERE t.hash = ?", "s", h);
	if (!row)
		return -EACCES;
	const char *kind = json_string_value(json_object_get(row, "kind"));
	int rc = 0;
	if (kind && !strcmp(kind, "user")) {
		who->kind = AUTH_USER;
		who->user_id = json_integer_value(json_object_get(row, "user_id"));
		who->expires = json_integer_value(json_object_get(row, "expires"));
		if (who->expires > 0 && who->expires <= util_wall_ms()) {
			/* Kept until the next login sweeps it, so that every use says why. */
			memset(who, 0, sizeof(*who));
			json_decref(row);
			return -EKEYEXPIRED;
		}
	} else if (kind && !strcmp(kind, "node")) {
		who->kind = AUTH_NODE;
		who->node_id = json_integer_value(json_object_get(row, "node_id"));
	} else {
		rc = -EACCES;
	}
	snprintf(who->name, sizeof(who->name), "%s", json_string_value(json_object_get(row, "who")));
	json_decref(row);
	return rc;
}

int64_t auth_user_count(struct db *db)
{
	int64_t n = 0;
	db_get_int(db, &n, "SELECT COUNT(*) FROM users", NULL);
	return n;
}

/*
 * auth.h: who may call stratusd.
 *
 * Users have crypt(3) password hashes (yescrypt, salted, slow).  Every API
 * call carries a bearer token: a user's (from /api/v1/login or
 * `stratusd --init-admin`) or a node's (made when the node is acquired, good
 * for the /api/v1/node routes of that node only).  Only a SHA-256 of each token is
 * stored, so a copy of the datastore lets nobody in.  A user token expires
 * (stratusd --token-ttl) and its holder may revoke it (POST /api/v1/logout).
 */
#ifndef STRATUS_MANAGER_AUTH_H
#define STRATUS_MANAGER_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define AUTH_TOKEN_LEN 64 /* hex characters of a token */
#define AUTH_MAX_PASSWORD 1024

enum auth_kind { AUTH_NONE = 0, AUTH_USER, AUTH_NODE };

struct auth_who {
	enum auth_kind kind;
	int64_t user_id;          /* AUTH_USER */
	int64_t node_id;          /* AUTH_NODE */
	char name[128];           /* user or node name, for logs */
	int64_t expires;          /* AUTH_USER: when the token stops working (ms); 0: never */
};

/* Hash a password with a fresh salt.  *hash malloc'd.  0 or -errno. */
int auth_hash_password(const char *password, char **hash);
/* Does password match hash?  Constant-time comparison. */
int auth_check_password(const char *password, const char *hash);

/* A new random token (AUTH_TOKEN_LEN hex chars + NUL into out). */
int auth_new_token(char out[AUTH_TOKEN_LEN + 1]);
/* Hex SHA-256 of a token, as stored. */
int auth_token_hash(const char *token, char out[65]);

/*
 * Create user NAME; with replace, create it or give it a new password, which
 * also ends everything the old password opened: every token of the user and
 * every browser session (session.h), in the same transaction.  0, -EEXIST
 * (exists, !replace), -errno.
 */
int auth_user_set(struct db *db, const char *name, const char *password, int replace);
/* Check NAME/PASSWORD and issue a user token.  0, -EACCES on bad credentials. */
int auth_login(struct db *db, const char *name, const char *password, char token[AUTH_TOKEN_LEN + 1]);
/* The same, with a token good for ttl_ms (0: until revoked); *expires gets
 * when it stops working (0: never). */
int auth_login_ttl(struct db *db, const char *name, const char *password, int64_t ttl_ms,
		   char token[AUTH_TOKEN_LEN + 1], int64_t *expires);
/* Revoke this token (logout).  0, or -ENOENT when no such token exists. */
int auth_token_revoke(struct db *db, const char *token);
/* Revoke every token of user USER_ID; the number revoked, or -errno. */
int auth_user_revoke_all(struct db *db, int64_t user_id);
/* Issue a node token (replacing the node's old ones).  0 or -errno. */
int auth_node_token(struct db *db, int64_t node_id, char token[AUTH_TOKEN_LEN + 1]);
/* Drop every token of a node (it was terminated). */
void auth_node_revoke(struct db *db, int64_t node_id);
/* Who holds this token?  0 and *who; -EKEYEXPIRED for a user token past its
 * expiry (the next login deletes it); -EACCES for anything else. */
int auth_lookup(struct db *db, const char *token, struct auth_who *who);
/* Number of users (0 on a fresh manager). */
int64_t auth_user_count(struct db *db);

#endif

/*
 * auth.h: who may call stratusd.
 *
 * Users have crypt(3) password hashes (yescrypt, salted, slow).  Every API
 * call carries a bearer token: a user's (from /api/v1/login or
 * `stratusd --init-admin`) or a node's (made when the node is acquired, good
 * for the /api/v1/node routes of that node only).  Only a SHA-256 of each token is
 * stored, so a copy of the datastore lets nobody in.
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
};

/* Hash a password with a fresh salt.  *hash malloc'd.  0 or -errno. */
int auth_hash_password(const char *password, char **hash);
/* Does password match hash?  Constant-time comparison. */
int auth_check_password(const char *password, const char *hash);

/* A new random token (AUTH_TOKEN_LEN hex chars + NUL into out). */
int auth_new_token(char out[AUTH_TOKEN_LEN + 1]);
/* Hex SHA-256 of a token, as stored. */
int auth_token_hash(const char *token, char out[65]);

/* Create user NAME (or replace its password).  0, -EEXIST, -errno. */
int auth_user_set(struct db *db, const char *name, const char *password, int replace);
/* Check NAME/PASSWORD and issue a user token.  0, -EACCES on bad credentials. */
int auth_login(struct db *db, const char *name, const char *password, char token[AUTH_TOKEN_LEN + 1]);
/* Issue a node token (replacing the node's old ones).  0 or -errno. */
int auth_node_token(struct db *db, int64_t node_id, char token[AUTH_TOKEN_LEN + 1]);
/* Drop every token of a node (it was terminated). */
void auth_node_revoke(struct db *db, int64_t node_id);
/* Who holds this token?  0 and *who, or -EACCES. */
int auth_lookup(struct db *db, const char *token, struct auth_who *who);
/* Number of users (0 on a fresh manager). */
int64_t auth_user_count(struct db *db);

#endif

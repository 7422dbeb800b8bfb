/*
 * test_mgr2.c: unit tests of the manager's retries, guards and tokens
 * (src/manager/retry.c, guard.c, auth.c): the back-off, a cluster's retry
 * settings from its template attributes, which clusters a cluster depends
 * on, token expiry and revocation, and the datastore's migration from
 * schema version 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>

#include "manager/auth.h"
#include "manager/db.h"
#include "manager/manager.h"

struct fx {
	char dir[64];
	char path[128];
	struct db *db;
};

static void rm_db(const char *path)
{
	char p[192];
	const char *sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *err = NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_mgr2.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/stratus.db", f->dir);
	if (db_open(f->path, &f->db, &err))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	db_close(f->db);
	rm_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_backoff(void **state)
{
	assert_int_equal(retry_backoff_ms(5000, 300000, 0), 5000);
	assert_int_equal(retry_backoff_ms(5000, 300000, 1), 10000);
	assert_int_equal(retry_backoff_ms(5000, 300000, 2), 20000);
	assert_int_equal(retry_backoff_ms(5000, 300000, 5), 160000);
	assert_int_equal(retry_backoff_ms(5000, 300000, 6), 300000);
	/* No overflow however many attempts. */
	assert_int_equal(retry_backoff_ms(5000, 300000, 1000), 300000);
	assert_int_equal(retry_backoff_ms(1000, 3000, 2), 3000);
	assert_int_equal(retry_backoff_ms(0, 3000, 0), 1);
}

static void test_policy(void **state)
{
	struct mgr_opts o = { .retry_max = 3, .retry_delay = 5000, .retry_delay_max = 300000 };
	struct retry_policy p;
	json_t *a = json_object();
	retry_policy_of(&o, a, &p);
	assert_int_equal(p.max, 3);
	assert_int_equal(p.delay_ms, 5000);
	assert_int_equal(p.delay_max_ms, 300000);
	retry_policy_of(&o, NULL, &p);
	assert_int_equal(p.max, 3);
	/* Names without case; integers are seconds; strings may carry a unit. */
	json_object_set_new(a, "retrymax", json_string("7"));
	json_object_set_new(a, "RetryDelay", json_integer(2));
	json_object_set_new(a, "RETRYDELAYMAX", json_string("1m"));
	retry_policy_of(&o, a, &p);
	assert_int_equal(p.max, 7);
	assert_int_equal(p.delay_ms, 2000);
	assert_int_equal(p.delay_max_ms, 60000);
	/* Out of range or not a number: the defaults stay. */
	json_object_set_new(a, "retrymax", json_string("lots"));
	json_object_set_new(a, "RetryDelay", json_string("-5"));
	json_object_set_new(a, "RETRYDELAYMAX", json_integer(999999));
	retry_policy_of(&o, a, &p);
	assert_int_equal(p.max, 3);
	assert_int_equal(p.delay_ms, 5000);
	assert_int_equal(p.delay_max_ms, 300000);
	json_object_set_new(a, "retrymax", json_integer(101));
	retry_policy_of(&o, a, &p);
	assert_int_equal(p.max, 3);
	json_object_set_new(a, "retrymax", json_integer(0));
	json_object_set_new(a, "RetryDelay", json_string("500ms"));
	json_object_set_new(a, "RETRYDELAYMAX", json_string("100ms"));
	retry_policy_of(&o, a, &p);
	assert_int_equal(p.max, 0);
	assert_int_equal(p.delay_ms, 500);
	/* A cap below the first wait is raised to it. */
	assert_int_equal(p.delay_max_ms, 500);
	json_decref(a);
}

static void test_token_expiry(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_LEN + 1], tok2[AUTH_TOKEN_LEN + 1], tok3[AUTH_TOKEN_LEN + 1];
	struct auth_who who;
	int64_t exp = -1;
	assert_int_equal(auth_user_set(f->db, "admin", "pw", 0), 0);
	/* No expiry. */
	assert_int_equal(auth_login_ttl(f->db, "admin", "pw", 0, tok, &exp), 0);
	assert_int_equal(exp, 0);
	assert_int_equal(auth_lookup(f->db, tok, &who), 0);
	assert_int_equal(who.expires, 0);
	/* A long one is good now and says when it ends. */
	assert_int_equal(auth_login_ttl(f->db, "admin", "pw", 3600000, tok2, &exp), 0);
	assert_true(exp > 0);
	assert_int_equal(auth_lookup(f->db, tok2, &who), 0);
	assert_int_equal(who.expires, exp);
	assert_int_equal(who.kind, AUTH_USER);
	/* A short one expires and is refused as expired, every time... */
	char tok4[AUTH_TOKEN_LEN + 1];
	assert_int_equal(auth_login_ttl(f->db, "admin", "pw", 1, tok3, &exp), 0);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(auth_lookup(f->db, tok3, &who), -EKEYEXPIRED);
	assert_int_equal(who.kind, AUTH_NONE);
	assert_int_equal(auth_lookup(f->db, tok3, &who), -EKEYEXPIRED);
	/* ...until the next login sweeps it away; the others stay. */
	assert_int_equal(auth_login_ttl(f->db, "admin", "pw", 0, tok4, &exp), 0);
	assert_int_equal(auth_lookup(f->db, tok3, &who), -EACCES);
	assert_int_equal(auth_lookup(f->db, tok2, &who), 0);
	/* A wrong password issues nothing. */
	assert_int_equal(auth_login_ttl(f->db, "admin", "nope", 1000, tok3, &exp), -EACCES);
}

static void test_token_revoke(void **state)
{
	struct fx *f = *state;
	char a[AUTH_TOKEN_LEN + 1], b[AUTH_TOKEN_LEN + 1], c[AUTH_TOKEN_LEN + 1], n[AUTH_TOKEN_LEN + 1];
	struct auth_who who;
	assert_int_equal(auth_user_set(f->db, "u1", "pw", 0), 0);
	assert_int_equal(auth_user_set(f->db, "u2", "pw", 0), 0);
	assert_int_equal(auth_login(f->db, "u1", "pw", a), 0);
	assert_int_equal(auth_login(f->db, "u1", "pw", b), 0);
	assert_int_equal(auth_login(f->db, "u2", "pw", c), 0);
	assert_int_equal(auth_node_token(f->db, 5, n), 0);
	/* Logout revokes that token only. */
	assert_int_equal(auth_token_revoke(f->db, a), 0);
	assert_int_equal(auth_lookup(f->db, a, &who), -EACCES);
	assert_int_equal(auth_token_revoke(f->db, a), -ENOENT);
	assert_int_equal(auth_token_revoke(f->db, "short"), -ENOENT);
	assert_int_equal(auth_lookup(f->db, b, &who), 0);
	/* All of a user's tokens, not another user's nor a node's. */
	int64_t uid = who.user_id;
	assert_int_equal(auth_login(f->db, "u1", "pw", a), 0);
	assert_int_equal(auth_user_revoke_all(f->db, uid), 2);
	assert_int_equal(auth_lookup(f->db, a, &who), -EACCES);
	assert_int_equal(auth_lookup(f->db, b, &who), -EACCES);
	assert_int_equal(auth_lookup(f->db, c, &who), 0);
	assert_int_equal(auth_lookup(f->db, n, &who), 0);
	assert_int_equal(who.kind, AUTH_NODE);
}

/* A datastore made by schema version 1 is migrated: its tokens keep working
 * (with no expiry) and the new tables exist. */
static void test_migrate_v1(void **state)
{
	char dir[64], path[128], *err = NULL;
	sqlite3 *h = NULL;
	snprintf(dir, sizeof(dir), "/tmp/test_mgr2.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stratus.db", dir);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	char hash[65];
	const char *tok = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	assert_int_equal(auth_token_hash(tok, hash), 0);
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
		 "INSERT INTO meta VALUES ('schema_version', '1');"
		 "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,"
		 " created INTEGER NOT NULL);"
		 "INSERT INTO users VALUES (1, 'old', 'x', 0);"
		 "CREATE TABLE tokens (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
		 " user_id INTEGER, node_id INTEGER, created INTEGER NOT NULL, last_used INTEGER);"
		 "INSERT INTO tokens (hash, kind, user_id, node_id, created) VALUES ('%s', 'user', 1, 0, 0);", hash);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	struct db *db = NULL;
	assert_int_equal(db_open(path, &db, &err), 0);
	char *v = NULL;
	assert_int_equal(db_meta_get(db, "schema_version", &v), 0);
	assert_int_equal(strtol(v, NULL, 10), DB_SCHEMA_VERSION);
	free(v);
	struct auth_who who;
	assert_int_equal(auth_lookup(db, tok, &who), 0);
	assert_string_equal(who.name, "old");
	assert_int_equal(who.expires, 0);
	assert_int_equal(db_exec(db, "INSERT INTO node_retry (node_id, attempt, due) VALUES (1, 0, 0)", NULL), 1);
	db_close(db);
	/* Opening again changes nothing. */
	assert_int_equal(db_open(path, &db, &err), 0);
	assert_int_equal(auth_lookup(db, tok, &who), 0);
	db_close(db);
	rm_db(path);
	rmdir(dir);
}

static void test_guard_refers(void **state)
{
	char via[512];
	json_t *params = json_pack("{s:s,s:s,s:i}", "StorageCluster", "storage", "MountPoint", "/lustre", "MaxNodes", 4);
	json_t *def = json_pack("{s:[{s:s,s:{s:s,s:s}}],s:{}}", "nodes", "name", "scheduler", "configuration",
				"stratusfs.cluster", "other", "slurm.role", "scheduler", "attributes");
	assert_true(guard_refers(params, def, "storage", via, sizeof(via)));
	assert_string_equal(via, "its parameter StorageCluster is 'storage'");
	/* Through a node's configuration. */
	assert_true(guard_refers(NULL, def, "other", via, sizeof(via)));
	assert_string_equal(via, "the configuration stratusfs.cluster of its node 'scheduler' is 'other'");
	/* Only keys that name a cluster count, and only exact names. */
	assert_false(guard_refers(params, def, "/lustre", via, sizeof(via)));
	assert_false(guard_refers(params, def, "scheduler", via, sizeof(via)));
	assert_false(guard_refers(params, def, "stor", via, sizeof(via)));
	assert_false(guard_refers(params, def, "Storage", via, sizeof(via)));
	/* The Network attribute: nodes on another cluster's bridge. */
	json_object_set_new(json_object_get(def, "attributes"), "network", json_string("net1"));
	assert_true(guard_refers(NULL, def, "net1", via, sizeof(via)));
	assert_non_null(strstr(via, "Network"));
	/* A *_cluster key, any case; a parameter whose value is not a string is ignored. */
	json_t *d2 = json_pack("{s:[{s:s,s:{s:s,s:i}}]}", "nodes", "name", "x", "configuration", "app.Backup_Cluster",
			       "b", "app.cluster", 3);
	json_t *p2 = json_pack("{s:i}", "OtherCluster", 3);
	assert_true(guard_refers(p2, d2, "b", via, sizeof(via)));
	json_decref(p2);
	assert_false(guard_refers(NULL, d2, "3", via, sizeof(via)));
	assert_false(guard_refers(NULL, NULL, "b", via, sizeof(via)));
	json_decref(d2);
	json_decref(params);
	json_decref(def);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_policy),
		cmocka_unit_test_setup_teardown(test_token_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_revoke, setup, teardown),
		cmocka_unit_test(test_migrate_v1),
		cmocka_unit_test(test_guard_refers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

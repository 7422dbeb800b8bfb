/*
 * test_manager.c: unit tests of stratusd's datastore and authentication
 * (src/manager/db.c, auth.c): schema and migration, typed statements, JSON
 * rows, password hashes, user and node tokens and their lookup.
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
#include <unistd.h>

#include "manager/auth.h"
#include "manager/db.h"
#include "manager/run.h"

struct fx {
	char dir[64];
	char path[128];
	struct db *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *err = NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_manager.XXXXXX");
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
	char p[192];
	db_close(f->db);
	const char *sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_schema(void **state)
{
	struct fx *f = *state;
	char *v = NULL, *err = NULL;
	assert_int_equal(db_meta_get(f->db, "schema_version", &v), 0);
	assert_int_equal(strtol(v, NULL, 10), DB_SCHEMA_VERSION);
	free(v);
	/* Reopening keeps the data; a newer schema is refused with a reason. */
	assert_int_equal(db_meta_set(f->db, "x", "1"), 0);
	db_close(f->db);
	assert_int_equal(db_open(f->path, &f->db, &err), 0);
	assert_int_equal(db_meta_get(f->db, "x", &v), 0);
	assert_string_equal(v, "1");
	free(v);
	assert_int_equal(db_meta_set(f->db, "schema_version", "999"), 0);
	db_close(f->db);
	assert_int_equal(db_open(f->path, &f->db, &err), -EPROTO);
	assert_non_null(strstr(err, "newer"));
	free(err);
	/* start afresh for teardown */
	char p[192];
	const char *sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	assert_int_equal(db_open(f->path, &f->db, &err), 0);
}

static void test_statements(void **state)
{
	struct fx *f = *state;
	int64_t n = 0;
	char *t = NULL;
	assert_int_equal(db_exec(f->db, "INSERT INTO templates (name, text, created, updated) VALUES (?, ?, ?, ?)",
				 "ssii", "a", "it's \"quoted\"; DROP TABLE x", (int64_t)1, (int64_t)2), 1);
	assert_int_equal(db_exec(f->db, "INSERT INTO templates (name, text, created, updated) VALUES (?, ?, ?, ?)",
				 "ssii", "a", "dup", (int64_t)1, (int64_t)2), -EEXIST);
	assert_int_equal(db_get_text(f->db, &t, "SELECT text FROM templates WHERE name = ?", "s", "a"), 0);
	assert_string_equal(t, "it's \"quoted\"; DROP TABLE x");
	free(t);
	assert_int_equal(db_get_int(f->db, &n, "SELECT COUNT(*) FROM templates", NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_get_int(f->db, &n, "SELECT id FROM templates WHERE name = ?", "s", "zz"), -ENOENT);
	json_t *rows = db_query_json(f->db, "SELECT name, created, '{\"k\":[1,2]}' AS doc_json, NULL AS missing "
				     "FROM templates", NULL);
	assert_int_equal(json_array_size(rows), 1);
	json_t *r = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "a");
	assert_int_equal(json_integer_value(json_object_get(r, "created")), 1);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "doc"), "k")), 2);
	assert_true(json_is_null(json_object_get(r, "missing")));
	json_decref(rows);
	assert_null(db_query_one(f->db, "SELECT name FROM templates WHERE name = ?", "s", "none"));
}

static void test_passwords(void **state)
{
	char *h1 = NULL, *h2 = NULL;
	assert_int_equal(auth_hash_password("s3cret", &h1), 0);
	assert_int_equal(auth_hash_password("s3cret", &h2), 0);
	assert_string_not_equal(h1, h2);              /* salted */
	assert_int_equal(strncmp(h1, "$y$", 3), 0);   /* yescrypt */
	assert_null(strstr(h1, "s3cret"));
	assert_int_equal(auth_check_password("s3cret", h1), 0);
	assert_int_equal(auth_check_password("s3cret ", h1), -EACCES);
	assert_int_equal(auth_check_password("", h1), -EACCES);
	free(h1);
	free(h2);
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_LEN + 1], tok2[AUTH_TOKEN_LEN + 1], h[65];
	struct auth_who who;
	assert_int_equal(auth_user_count(f->db), 0);
	assert_int_equal(auth_user_set(f->db, "admin", "pw1", 0), 0);
	assert_int_equal(auth_user_set(f->db, "admin", "pw2", 0), -EEXIST);
	assert_int_equal(auth_user_set(f->db, "admin", "pw2", 1), 0);  /* reset */
	assert_int_equal(auth_login(f->db, "admin", "pw1", tok), -EACCES);
	assert_int_equal(auth_login(f->db, "nobody", "pw2", tok), -EACCES);
	assert_int_equal(auth_login(f->db, "admin", "pw2", tok), 0);
	assert_int_equal(strlen(tok), AUTH_TOKEN_LEN);
	/* only the hash is stored */
	int64_t n = -1;
	assert_int_equal(db_get_int(f->db, &n, "SELECT COUNT(*) FROM tokens WHERE hash = ?", "s", tok), 0);
	assert_int_equal(n, 0);
	assert_int_equal(auth_token_hash(tok, h), 0);
	assert_int_equal(db_get_int(f->db, &n, "SELECT COUNT(*) FROM tokens WHERE hash = ?", "s", h), 0);
	assert_int_equal(n, 1);
	assert_int_equal(auth_lookup(f->db, tok, &who), 0);
	assert_int_equal(who.kind, AUTH_USER);
	assert_string_equal(who.name, "admin");
	tok[0] = tok[0] == 'a' ? 'b' : 'a';
	assert_int_equal(auth_lookup(f->db, tok, &who), -EACCES);
	assert_int_equal(auth_lookup(f->db, "short", &who), -EACCES);
	assert_int_equal(auth_lookup(f->db, NULL, &who), -EACCES);

	/* node tokens: one live token per node, revoked on terminate */
	assert_int_equal(db_exec(f->db, "INSERT INTO clusters (name, template, template_text, state, created) "
				 "VALUES ('c', 't', '', 'Off', 0)", NULL), 1);
	assert_int_equal(db_exec(f->db, "INSERT INTO nodes (cluster_id, name, template, is_array, idx, state, "
				 "target_state, ip, created, state_changed) VALUES (1, 'c-x-1', 'x', 1, 1, 'Off', 'Off', "
				 "'10.0.0.10', 0, 0)", NULL), 1);
	assert_int_equal(auth_node_token(f->db, 1, tok), 0);
	assert_int_equal(auth_lookup(f->db, tok, &who), 0);
	assert_int_equal(who.kind, AUTH_NODE);
	assert_int_equal(who.node_id, 1);
	assert_string_equal(who.name, "c-x-1");
	assert_int_equal(auth_node_token(f->db, 1, tok2), 0);  /* re-acquire replaces it */
	assert_int_equal(auth_lookup(f->db, tok, &who), -EACCES);
	assert_int_equal(auth_lookup(f->db, tok2, &who), 0);
	auth_node_revoke(f->db, 1);
	assert_int_equal(auth_lookup(f->db, tok2, &who), -EACCES);
}

static void test_names(void **state)
{
	assert_true(valid_name("demo-execute-1"));
	assert_true(valid_name("v1.0.0"));
	assert_false(valid_name(""));
	assert_false(valid_name(NULL));
	assert_false(valid_name(".."));
	assert_false(valid_name("-x"));
	assert_false(valid_name("a/b"));
	assert_false(valid_name("a b"));
	assert_false(valid_name("0123456789012345678901234567890123456789012345678901234567890123"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

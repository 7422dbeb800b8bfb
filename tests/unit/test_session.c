/*
 * test_session.c: browser sessions (src/manager/session.c): the Cookie
 * header parser against hostile input, CSRF tokens, the Set-Cookie flags,
 * and sessions in a real SQLite datastore: login with right and wrong
 * passwords, lookup, the CSRF check per method, logout killing the cookie.
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
#include "manager/session.h"

static const char *ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_cookie_parse(void **state)
{
	char id[SESSION_ID_LEN + 1], hdr[512];
	assert_int_equal(session_cookie_value(NULL, id), -ENOENT);
	assert_int_equal(session_cookie_value("", id), -ENOENT);
	assert_int_equal(session_cookie_value("a=b; c=d", id), -ENOENT);
	snprintf(hdr, sizeof(hdr), "a=b; " SESSION_COOKIE "=%s; c=d", ID);
	assert_int_equal(session_cookie_value(hdr, id), 0);
	assert_string_equal(id, ID);
	snprintf(hdr, sizeof(hdr), SESSION_COOKIE "=\"%s\"", ID);
	assert_int_equal(session_cookie_value(hdr, id), 0);
	/* A name that only starts like ours is not ours. */
	snprintf(hdr, sizeof(hdr), SESSION_COOKIE "x=%s", ID);
	assert_int_equal(session_cookie_value(hdr, id), -ENOENT);
	/* Wrong length, not hex, empty: malformed, never copied. */
	assert_int_equal(session_cookie_value(SESSION_COOKIE "=abc", id), -EINVAL);
	assert_int_equal(session_cookie_value(SESSION_COOKIE "=", id), -EINVAL);
	snprintf(hdr, sizeof(hdr), SESSION_COOKIE "=%.63sz", ID);
	assert_int_equal(session_cookie_value(hdr, id), -EINVAL);
	snprintf(hdr, sizeof(hdr), SESSION_COOKIE "=%s0", ID);
	assert_int_equal(session_cookie_value(hdr, id), -EINVAL);
	assert_int_equal(session_cookie_value(";;;  ;", id), -ENOENT);
}

static void test_csrf(void **state)
{
	char a[SESSION_CSRF_LEN + 1], b[SESSION_CSRF_LEN + 1];
	assert_int_equal(session_csrf_token(ID, a), 0);
	assert_int_equal(strlen(a), SESSION_CSRF_LEN);
	assert_int_equal(session_csrf_token(ID, b), 0);
	assert_string_equal(a, b);
	/* The token is not the id, and another id has another token. */
	assert_string_not_equal(a, ID);
	char other[SESSION_ID_LEN + 1];
	snprintf(other, sizeof(other), "1%s", ID + 1);
	assert_int_equal(session_csrf_token(other, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(session_csrf_check(ID, a), 0);
	assert_int_equal(session_csrf_check(ID, b), -EPERM);
	assert_int_equal(session_csrf_check(ID, NULL), -EPERM);
	assert_int_equal(session_csrf_check(ID, ""), -EPERM);
	assert_int_equal(session_csrf_check(ID, ID), -EPERM);
	assert_int_equal(session_csrf_token("short", a), -EINVAL);
}

static void test_methods_and_cookie(void **state)
{
	char c[256];
	assert_false(session_method_changes_state("GET"));
	assert_false(session_method_changes_state("HEAD"));
	assert_false(session_method_changes_state("OPTIONS"));
	assert_true(session_method_changes_state("POST"));
	assert_true(session_method_changes_state("PUT"));
	assert_true(session_method_changes_state("DELETE"));
	assert_true(session_method_changes_state("PATCH"));
	assert_true(session_method_changes_state("get"));
	assert_true(session_method_changes_state(NULL));
	assert_int_equal(session_set_cookie(c, sizeof(c), ID, 3600), 0);
	assert_non_null(strstr(c, SESSION_COOKIE "="));
	assert_non_null(strstr(c, "; Secure"));
	assert_non_null(strstr(c, "; HttpOnly"));
	assert_non_null(strstr(c, "; SameSite=Strict"));
	assert_non_null(strstr(c, "; Path=/"));
	assert_non_null(strstr(c, "Max-Age=3600"));
	assert_int_equal(session_set_cookie(c, sizeof(c), NULL, 0), 0);
	assert_non_null(strstr(c, "Max-Age=0"));
	assert_int_equal(session_set_cookie(c, 20, ID, 1), -ENOSPC);
}

static void test_sessions_in_datastore(void **state)
{
	char dir[] = "/tmp/test_session.XXXXXX", path[256], *err = NULL;
	char id[SESSION_ID_LEN + 1], hdr[256];
	struct db *db = NULL;
	struct session_info si;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/stratus.db", dir);
	assert_int_equal(db_open(path, &db, &err), 0);
	assert_int_equal(session_init(db), 0);
	assert_int_equal(session_init(db), 0); /* twice is fine */
	assert_int_equal(auth_user_set(db, "alice", "right horse", 0), 0);

	assert_int_equal(session_login(db, "alice", "wrong horse", id, &si), -EACCES);
	assert_int_equal(session_login(db, "nobody", "right horse", id, &si), -EACCES);
	assert_int_equal(session_login(db, "alice", "right horse", id, &si), 0);
	assert_string_equal(si.user, "alice");
	assert_true(si.expires_ms > si.created_ms);
	char want[SESSION_CSRF_LEN + 1];
	assert_int_equal(session_csrf_token(id, want), 0);
	assert_string_equal(si.csrf, want);

	/* Only a hash of the id is stored. */
	char *stored = NULL;
	assert_int_equal(db_get_text(db, &stored, "SELECT hash FROM sessions", NULL), 0);
	assert_string_not_equal(stored, id);
	free(stored);

	struct session_info got;
	assert_int_equal(session_lookup(db, id, &got), 0);
	assert_string_equal(got.user, "alice");
	snprintf(hdr, sizeof(hdr), "x=1; " SESSION_COOKIE "=%s", id);
	assert_int_equal(session_authenticate(db, hdr, "GET", NULL, &got), 0);
	assert_int_equal(session_authenticate(db, hdr, "POST", NULL, &got), -EPERM);
	assert_int_equal(session_authenticate(db, hdr, "DELETE", ID, &got), -EPERM);
	assert_int_equal(session_authenticate(db, hdr, "POST", want, &got), 0);
	assert_int_equal(session_authenticate(db, "x=1", "POST", want, &got), -ENOENT);
	assert_int_equal(session_authenticate(db, NULL, "GET", NULL, &got), -ENOENT);
	snprintf(hdr, sizeof(hdr), SESSION_COOKIE "=%s", ID);
	assert_int_equal(session_authenticate(db, hdr, "GET", NULL, &got), -EACCES);

	/* Logout: the same cookie is dead, for reads and writes. */
	assert_int_equal(session_logout(db, id), 0);
	snprintf(hdr, sizeof(hdr), SESSION_COOKIE "=%s", id);
	assert_int_equal(session_authenticate(db, hdr, "GET", NULL, &got), -EACCES);
	assert_int_equal(session_authenticate(db, hdr, "POST", want, &got), -EACCES);
	assert_int_equal(session_logout(db, id), 0);

	/* An expired session is refused and swept. */
	assert_int_equal(session_login(db, "alice", "right horse", id, &si), 0);
	assert_true(db_exec(db, "UPDATE sessions SET expires = 1", NULL) >= 0);
	assert_int_equal(session_lookup(db, id, &got), -EACCES);
	int64_t n = -1;
	assert_int_equal(db_get_int(db, &n, "SELECT COUNT(*) FROM sessions", NULL), 0);
	assert_int_equal(n, 0);

	/* A user's sessions end together. */
	assert_int_equal(session_login(db, "alice", "right horse", id, &si), 0);
	assert_int_equal(session_logout_user(db, si.user_id), 0);
	assert_int_equal(session_lookup(db, id, &got), -EACCES);

	/*
	 * A new password ends what the old one opened: the user's browser
	 * sessions and API tokens, not another user's.
	 */
	char tok[AUTH_TOKEN_LEN + 1], btok[AUTH_TOKEN_LEN + 1], bid[SESSION_ID_LEN + 1];
	struct auth_who who;
	struct session_info bsi;
	assert_int_equal(auth_user_set(db, "bob", "bob horse", 0), 0);
	assert_int_equal(session_login(db, "alice", "right horse", id, &si), 0);
	assert_int_equal(auth_login(db, "alice", "right horse", tok), 0);
	assert_int_equal(session_login(db, "bob", "bob horse", bid, &bsi), 0);
	assert_int_equal(auth_login(db, "bob", "bob horse", btok), 0);
	assert_int_equal(auth_user_set(db, "alice", "new horse", 1), 0);
	assert_int_equal(session_lookup(db, id, &got), -EACCES);
	assert_int_equal(auth_lookup(db, tok, &who), -EACCES);
	assert_int_equal(session_login(db, "alice", "right horse", id, &si), -EACCES);
	assert_int_equal(session_login(db, "alice", "new horse", id, &si), 0);
	assert_int_equal(session_lookup(db, id, &got), 0);
	assert_int_equal(session_lookup(db, bid, &got), 0);
	assert_string_equal(got.user, "bob");
	assert_int_equal(auth_lookup(db, btok, &who), 0);
	assert_string_equal(who.name, "bob");

	db_close(db);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_parse),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_methods_and_cookie),
		cmocka_unit_test(test_sessions_in_datastore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

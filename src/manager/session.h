/*
 * session.h: browser sessions for the web GUI.
 *
 * The CLI sends a bearer token; a browser instead logs in once (POST
 * /api/v1/session with a user name and password) and gets a session cookie:
 * __Host-stratus_session, Secure, HttpOnly, SameSite=Strict, Path=/.  Only a
 * SHA-256 of the session id is stored (table `sessions` in stratusd's SQLite
 * datastore), so sessions survive a restart of stratusd and a copy of the
 * datastore lets nobody in.
 *
 * CSRF: every request authenticated by the cookie whose method changes state
 * (anything but GET, HEAD, OPTIONS) must carry X-CSRF-Token with the
 * session's CSRF token, else it is refused (403).  The token is derived from
 * the session id (SHA-256 over a label and the id), so nothing more is
 * stored, and only a page that could read the API's answers (same origin) can
 * know it.  Bearer-token requests need no CSRF token: a browser never adds
 * an Authorization header by itself.
 *
 * Logout deletes the session row: the old cookie gets 401 from then on.
 * Sessions end after SESSION_MAX_AGE_S, or SESSION_IDLE_MS without a request.
 *
 * Every function returns 0 or -errno.
 */
#ifndef STRATUS_MANAGER_SESSION_H
#define STRATUS_MANAGER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

#define SESSION_COOKIE "__Host-stratus_session"
#define SESSION_CSRF_HEADER "X-CSRF-Token"
#define SESSION_ID_LEN 64                       /* hex characters */
#define SESSION_CSRF_LEN 64                     /* hex characters */
#define SESSION_MAX_AGE_S (12 * 3600)           /* a working day, then log in again */
#define SESSION_IDLE_MS (2 * 3600 * 1000LL)     /* no request for this long ends it */
#define SESSION_TOUCH_MS (60 * 1000LL)          /* write last use at most this often */

struct session_info {
	int64_t user_id;
	char user[128];
	char csrf[SESSION_CSRF_LEN + 1];
	int64_t created_ms;
	int64_t expires_ms;                     /* absolute end (wall clock) */
};

/* Create the sessions table if it is not there.  Call once at start-up. */
int session_init(struct db *db);

/*
 * Check NAME and PASSWORD against stratusd's users and, when they match,
 * open a session: id gets the cookie value, *info the user and CSRF token.
 * -EACCES on a wrong name or password (the same time either way).
 */
int session_login(struct db *db, const char *name, const char *password,
		  char id[SESSION_ID_LEN + 1], struct session_info *info);

/* The live session with this cookie value: 0 and *info, or -EACCES. */
int session_lookup(struct db *db, const char *id, struct session_info *info);

/* End the session (logout).  0 even if it had already ended. */
int session_logout(struct db *db, const char *id);

/* End every session of a user (password changed, user deleted). */
int session_logout_user(struct db *db, int64_t user_id);

/* Delete expired rows.  Returns how many, or -errno. */
int session_expire(struct db *db);

/*
 * The whole check for one request, for the API's authentication hook:
 *   0        a live session, CSRF satisfied; *info filled
 *   -ENOENT  no session cookie in the request (try other credentials)
 *   -EACCES  a cookie that is not a live session (401)
 *   -EPERM   a state-changing method without the right X-CSRF-Token (403)
 * cookie_header and csrf_header may be NULL.
 */
int session_authenticate(struct db *db, const char *cookie_header, const char *method,
			 const char *csrf_header, struct session_info *info);

/* ---- pure helpers (no datastore), also used by the tests ---- */

/* Find SESSION_COOKIE in a Cookie: header.  0, -ENOENT absent, -EINVAL malformed. */
int session_cookie_value(const char *cookie_header, char id[SESSION_ID_LEN + 1]);
/* The CSRF token of a session id. */
int session_csrf_token(const char *id, char out[SESSION_CSRF_LEN + 1]);
/* Does header_value (may be NULL) hold the CSRF token of id?  0 or -EPERM; constant time. */
int session_csrf_check(const char *id, const char *header_value);
/* GET, HEAD and OPTIONS do not change state; everything else does. */
bool session_method_changes_state(const char *method);
/*
 * The Set-Cookie value that stores id (max_age_s > 0) or clears the cookie
 * (id NULL).  0, or -ENOSPC if out is too small.
 */
int session_set_cookie(char *out, size_t len, const char *id, int64_t max_age_s);

#endif

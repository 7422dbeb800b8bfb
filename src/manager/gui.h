/*
 * gui.h: what stratusd does for the web GUI beyond the CLI's API: browser
 * sessions (login, who am I, logout; session.h) and the routes the GUI's pages
 * need (template parameters for the new-cluster form, benchmark results).
 *
 * api.c calls two hooks:
 *  - gui_authenticate() while it reads a request's headers, before looking
 *    for a bearer token: a request with the session cookie is authenticated
 *    here (and refused here without its CSRF token when it changes state);
 *  - gui_route() when it dispatches a request under /api/v1.
 */
#ifndef STRATUS_MANAGER_GUI_H
#define STRATUS_MANAGER_GUI_H

#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>

struct mgr;
struct auth_who;

enum gui_auth {
	GUI_AUTH_NONE = 0,  /* no session cookie: look for a bearer token */
	GUI_AUTH_OK,        /* a live session: *who is its user */
	GUI_AUTH_PUBLIC,    /* the login route itself: needs no credentials */
	GUI_AUTH_STALE,     /* a session cookie that is no longer valid: 401 */
	GUI_AUTH_CSRF,      /* a state-changing request without the CSRF token: 403 */
};

/* Create the GUI's tables (sessions).  0 or -errno. */
int gui_init(struct mgr *m);

/*
 * Decide how a request is authenticated, from its headers only.  With a
 * bearer token in the request the session cookie is not looked at
 * (GUI_AUTH_NONE), so the CLI's requests are exactly as before.
 */
enum gui_auth gui_authenticate(struct mgr *m, struct MHD_Connection *c, const char *url,
			       const char *method, struct auth_who *who);

/* The sentence for a refused request (GUI_AUTH_STALE or GUI_AUTH_CSRF). */
const char *gui_auth_message(enum gui_auth a);

/*
 * Answer the request if it is one of the GUI's routes (seg: the path under
 * /api/v1 split at '/', URL-decoded; body: the request body).  Returns true
 * and *rc when it answered, false when the route is not the GUI's.
 */
bool gui_route(struct mgr *m, struct MHD_Connection *c, const char *method, char **seg, int nseg,
	       const char *body, size_t len, const struct auth_who *who, enum MHD_Result *rc);

#endif

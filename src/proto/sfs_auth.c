/*
 * sfs_auth.c: MUNGE credential helpers (see sfs_auth.h).
 */
#include "proto/sfs_auth.h"

#include <errno.h>
#include <munge.h>
#include <stdio.h>
#include <stdlib.h>

static munge_ctx_t make_ctx(const char *socket_path, char *errbuf, size_t errlen)
{
	munge_ctx_t ctx = munge_ctx_create();
	if (!ctx) {
		snprintf(errbuf, errlen, "cannot create a MUNGE context: out of memory");
		return NULL;
	}
	if (socket_path && *socket_path) {
		munge_err_t e = munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket_path);
		if (e != EMUNGE_SUCCESS) {
			snprintf(errbuf, errlen, "cannot use MUNGE socket '%s': %s", socket_path,
				 munge_strerror(e));
			munge_ctx_destroy(ctx);
			return NULL;
		}
	}
	return ctx;
}

int sfs_auth_encode(const char *socket_path, char **cred, char *errbuf, size_t errlen)
{
	munge_ctx_t ctx = make_ctx(socket_path, errbuf, errlen);
	if (!ctx)
		return -EIO;
	char *c = NULL;
	munge_err_t e = munge_encode(&c, ctx, NULL, 0);
	int rc = 0;
	if (e != EMUNGE_SUCCESS) {
		snprintf(errbuf, errlen, "cannot get a MUNGE credential from '%s': %s; is munged running?",
			 socket_path ? socket_path : "(default socket)", munge_strerror(e));
		free(c);
		rc = -EIO;
	} else {
		*cred = c;
	}
	munge_ctx_destroy(ctx);
	return rc;
}

int sfs_auth_decode(const char *socket_path, const char *cred, uid_t *uid, gid_t *gid,
		    char *errbuf, size_t errlen)
{
	munge_ctx_t ctx = make_ctx(socket_path, errbuf, errlen);
	if (!ctx)
		return -EIO;
	void *payload = NULL;
	int plen = 0;
	munge_err_t e = munge_decode(cred, ctx, &payload, &plen, uid, gid);
	free(payload);
	munge_ctx_destroy(ctx);
	if (e == EMUNGE_SUCCESS)
		return 0;
	snprintf(errbuf, errlen, "MUNGE credential refused: %s", munge_strerror(e));
	if (e == EMUNGE_SOCKET || e == EMUNGE_SNAFU || e == EMUNGE_NO_MEMORY)
		return -EIO;
	return -EACCES;
}

/*
 * sfs_auth.h: MUNGE credentials for StratusFS connections.
 *
 * Every connection's first request (HELLO) carries a fresh credential made
 * by the local munged; the server decodes it with its own munged, so only
 * hosts sharing the cluster's MUNGE key get in, and the credential says
 * which uid/gid the connecting process runs as.  Credentials are single-use
 * (munged refuses a replay).
 */
#ifndef STRATUS_SFS_AUTH_H
#define STRATUS_SFS_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Make a credential through the munged at socket_path (NULL: MUNGE's default).
 * On success *cred is malloc'd (caller frees).  0, or -EACCES / -EIO with a
 * reason in errbuf. */
int sfs_auth_encode(const char *socket_path, char **cred, char *errbuf, size_t errlen);

/* Check a credential.  0 with the uid and gid set, or -EACCES (invalid, expired,
 * replayed, another key) / -EIO (munged unreachable) with a reason in errbuf. */
int sfs_auth_decode(const char *socket_path, const char *cred, uid_t *uid, gid_t *gid,
		    char *errbuf, size_t errlen);

#endif

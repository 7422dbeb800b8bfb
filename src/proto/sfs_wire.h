/*
 * sfs_wire.h: sending and receiving whole frames on blocking sockets.
 *
 * Used by the servers (one thread per connection) and by libsfs.  A frame is
 * written with one writev so that frames from several threads never
 * interleave as long as each writer holds the connection's send lock.
 */
#ifndef STRATUS_SFS_WIRE_H
#define STRATUS_SFS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/sfs_proto.h"

/*
 * Send header + payload + bulk (bulk may be NULL).  hdr->plen/blen are set
 * here.  0 or -errno (-EPIPE when the peer has gone).
 */
int sfs_send(int fd, struct sfs_hdr *hdr, const void *payload, size_t plen,
	     const void *bulk, size_t blen);
/* sfs_send with MSG_MORE when `more`: the frame may wait in the socket for
 * the next one (which must be sent without `more` soon: it is not timed). */
int sfs_send_more(int fd, struct sfs_hdr *hdr, const void *payload, size_t plen,
		  const void *bulk, size_t blen, bool more);

/* Encode msg for op and send it as a request or reply.  0 or -errno. */
int sfs_send_msg(int fd, uint16_t op, bool reply, uint64_t reqid, int32_t status,
		 const void *msg, const void *bulk, size_t blen);

/* Read and check one header.  0, -EPIPE at EOF, -EPROTO for a bad header. */
int sfs_recv_hdr(int fd, struct sfs_hdr *hdr);

#endif

/* What a server learnt from a client's HELLO. */
struct sfs_peer {
	uint8_t role;
	uint64_t client_id;
	uint32_t uid, gid;      /* from the MUNGE credential */
	char name[64];          /* address, for logs */
	bool squash;            /* server policy: this peer's root is squashed */
	bool leases;            /* HELLO asked for directory leases (SFS_HELLO_LEASES) */
};

/*
 * Server side of the handshake: read the first frame, which must be a HELLO
 * whose MUNGE credential munged at munge_socket accepts; answer it with
 * fsname and session.  0 with *peer filled, or -errno after answering
 * SFS_S_ACCES (bad credential) or nothing (garbage): the caller closes fd.
 * A reason is logged either way.
 */
int sfs_serve_hello(int fd, const char *munge_socket, const char *fsname, uint64_t session,
		    uint32_t rep_flags, struct sfs_peer *peer);

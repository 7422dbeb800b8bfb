/*
 * sfs_wire.c: whole-frame I/O on blocking sockets (see sfs_wire.h).
 */
#include "proto/sfs_wire.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net.h"
#include "proto/sfs_auth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int sfs_send(int fd, struct sfs_hdr *hdr, const void *payload, size_t plen,
	     const void *bulk, size_t blen)
{
	return sfs_send_more(fd, hdr, payload, plen, bulk, blen, false);
}

int sfs_send_more(int fd, struct sfs_hdr *hdr, const void *payload, size_t plen,
		  const void *bulk, size_t blen, bool more)
{
	uint8_t h[SFS_HDR_LEN];
	hdr->plen = (uint32_t)plen;
	hdr->blen = (uint32_t)blen;
	sfs_hdr_encode(hdr, h);
	struct iovec iov[3] = {
		{ h, sizeof(h) }, { (void *)payload, plen }, { (void *)bulk, blen },
	};
	size_t n = bulk && blen ? 3 : 2;
	struct iovec *v = iov;
	size_t total = sizeof(h) + plen + (n == 3 ? blen : 0);
	while (total) {
		struct msghdr mh = { .msg_iov = v, .msg_iovlen = n };
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
		}
		total -= (size_t)w;
		net_iov_advance(&v, &n, (size_t)w);
	}
	return 0;
}

int sfs_send_msg(int fd, uint16_t op, bool reply, uint64_t reqid, int32_t status,
		 const void *msg, const void *bulk, size_t blen)
{
	uint8_t p[SFS_MAX_PAYLOAD];
	int plen = 0;
	if (status == 0 && msg) {
		plen = sfs_encode(op, reply, msg, p, sizeof(p));
		if (plen < 0)
			return plen;
	}
	if (status != 0) {
		bulk = NULL;
		blen = 0;
	}
	struct sfs_hdr h = { .version = SFS_VERSION, .flags = reply ? SFS_FLAG_REPLY : 0,
			     .op = op, .reqid = reqid, .status = status };
	return sfs_send(fd, &h, p, (size_t)plen, bulk, blen);
}

int sfs_recv_hdr(int fd, struct sfs_hdr *hdr)
{
	uint8_t h[SFS_HDR_LEN];
	int rc = net_read_full(fd, h, sizeof(h));
	if (rc)
		return rc;
	return sfs_hdr_decode(h, hdr);
}

int sfs_serve_hello(int fd, const char *munge_socket, const char *fsname, uint64_t session, uint32_t rep_flags,
		    struct sfs_peer *peer)
{
	struct sfs_hdr h;
	uint8_t p[SFS_MAX_PAYLOAD];
	struct sfs_hello_req *hq = malloc(sizeof(*hq));
	int rc;
	net_peer_name(fd, peer->name, sizeof(peer->name));
	if (!hq)
		return -ENOMEM;
	/* A client that connects and says nothing must not hold a thread forever. */
	struct timeval tv = { 10, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rc = sfs_recv_hdr(fd, &h);
	if (rc) {
		if (rc != -EPIPE)
			log_warn("dropping '%s': bad first frame (%s)", peer->name, strerror(-rc));
		goto out;
	}
	if (h.op != SFS_HELLO || (h.flags & SFS_FLAG_REPLY) || h.blen) {
		log_warn("dropping '%s': first request is %s, not HELLO", peer->name, sfs_op_name(h.op));
		sfs_send_msg(fd, h.op, true, h.reqid, SFS_S_ACCES, NULL, NULL, 0);
		rc = -EACCES;
		goto out;
	}
	if ((rc = net_read_full(fd, p, h.plen)) || (rc = sfs_decode(SFS_HELLO, false, p, h.plen, hq))) {
		log_warn("dropping '%s': malformed HELLO", peer->name);
		goto out;
	}
	char why[256];
	uid_t uid;
	gid_t gid;
	rc = sfs_auth_decode(munge_socket, hq->cred, &uid, &gid, why, sizeof(why));
	if (rc) {
		log_warn("refusing '%s': %s", peer->name, why);
		sfs_send_msg(fd, SFS_HELLO, true, h.reqid, SFS_S_ACCES, NULL, NULL, 0);
		rc = -EACCES;
		goto out;
	}
	if (hq->role < SFS_ROLE_CLIENT || hq->role > SFS_ROLE_ADMIN) {
		log_warn("dropping '%s': unknown role %u", peer->name, hq->role);
		rc = -EPROTO;
		goto out;
	}
	peer->role = hq->role;
	peer->client_id = hq->client_id;
	peer->leases = (hq->flags & SFS_HELLO_LEASES) != 0;
	peer->uid = uid;
	peer->gid = gid;
	struct sfs_hello_rep hr = { .session = session, .uid = uid, .gid = gid, .flags = rep_flags };
	snprintf(hr.fsname, sizeof(hr.fsname), "%s", fsname);
	rc = sfs_send_msg(fd, SFS_HELLO, true, h.reqid, 0, &hr, NULL, 0);
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
out:
	free(hq);
	return rc;
}

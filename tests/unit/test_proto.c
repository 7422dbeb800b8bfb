/*
 * test_proto.c: unit tests of the StratusFS wire protocol: every message's
 * encode/decode round trip (request and reply), the header checks, the bulk
 * records, status <-> errno, and decoders refusing malformed input
 * (truncation, trailing bytes, bad strings, counts over limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sfs_proto.h"

static const uint16_t all_ops[] = {
	SFS_HELLO, SFS_CLTOMD_LOOKUP, SFS_CLTOMD_GETATTR, SFS_CLTOMD_SETATTR, SFS_CLTOMD_CREATE,
	SFS_CLTOMD_MKDIR, SFS_CLTOMD_UNLINK, SFS_CLTOMD_RMDIR, SFS_CLTOMD_RENAME, SFS_CLTOMD_LINK,
	SFS_CLTOMD_SYMLINK, SFS_CLTOMD_READLINK, SFS_CLTOMD_READDIR, SFS_CLTOMD_STATFS, SFS_CLTOMD_OPEN,
	SFS_CLTOMD_CLOSE, SFS_CLTOMD_SETSIZE, SFS_CLTOMD_GETLAYOUT, SFS_CLTOMD_SETLAYOUT,
	SFS_CLTOMD_GETXATTR, SFS_CLTOMD_SETXATTR, SFS_CLTOMD_LISTXATTR, SFS_CLTOMD_REMOVEXATTR,
	SFS_CLTOMD_ALLOCLAYOUT, SFS_CLTOMD_SWAPLAYOUT, SFS_CLTOMD_OSTLIST, SFS_OSTOMD_REGISTER,
	SFS_OSTOMD_HEARTBEAT, SFS_CLTOOS_WRITE, SFS_CLTOOS_READ, SFS_CLTOOS_PUNCH, SFS_CLTOOS_SYNC,
	SFS_CLTOOS_DESTROY, SFS_CLTOOS_STAT, SFS_CLTOOS_STATFS, SFS_CLTOMD_OSTSTATE, SFS_CLTOMD_RELEASE,
	SFS_MDTOCL_RECALL, SFS_CLTOMD_INORANGE,
};

/* Fill a message with a valid pattern: the same bytes everywhere except
 * the composite fields, which must be in range to encode at all. */
static void fill(uint16_t op, bool reply, union sfs_msg *m, unsigned seed)
{
	memset(m, 0, sizeof(*m));
	/* Every struct starts with plain fields; set the interesting ones by type. */
	switch (reply ? 1000 + op : op) {
	case SFS_HELLO:
		m->hello_req.role = SFS_ROLE_CLIENT;
		m->hello_req.client_id = 0x1122334455667788ULL + seed;
		snprintf(m->hello_req.cred, sizeof(m->hello_req.cred), "MUNGE:abc%u:", seed);
		break;
	case 1000 + SFS_HELLO:
		m->hello_rep.session = seed;
		snprintf(m->hello_rep.fsname, sizeof(m->hello_rep.fsname), "fs%u", seed);
		m->hello_rep.uid = 1000;
		break;
	case SFS_CLTOMD_LOOKUP: case SFS_CLTOMD_UNLINK: case SFS_CLTOMD_RMDIR:
		m->name_req.cred.uid = 5;
		m->name_req.cred.ngroups = 2;
		m->name_req.cred.groups[1] = 77;
		m->name_req.parent = 42 + seed;
		snprintf(m->name_req.name, sizeof(m->name_req.name), "name-%u", seed);
		break;
	case SFS_CLTOMD_CREATE:
		m->create_req.parent = 9;
		snprintf(m->create_req.name, sizeof(m->create_req.name), "f%u", seed);
		m->create_req.mode = 0100644;
		m->create_req.sreq = (struct sfs_sreq){ -1, 1 << 20, 2 };
		break;
	case 1000 + SFS_CLTOMD_CREATE: case 1000 + SFS_CLTOMD_OPEN:
		m->attr_layout_rep.attr.ino = 7;
		m->attr_layout_rep.attr.size = 1ULL << 40;
		m->attr_layout_rep.attr.mtime = -5;
		m->attr_layout_rep.layout.stripe_size = 1 << 20;
		m->attr_layout_rep.layout.count = 3;
		for (int i = 0; i < 3; i++)
			m->attr_layout_rep.layout.stripes[i] = (struct sfs_stripe){ (uint32_t)i, 100u + seed + (uint64_t)i };
		break;
	case SFS_CLTOMD_SYMLINK:
		m->symlink_req.parent = 1;
		snprintf(m->symlink_req.name, sizeof(m->symlink_req.name), "l");
		memset(m->symlink_req.target, 'x', SFS_PATH_MAX);
		m->symlink_req.target[SFS_PATH_MAX] = 0;
		break;
	case SFS_CLTOMD_RENAME:
		snprintf(m->rename_req.name, sizeof(m->rename_req.name), "a");
		snprintf(m->rename_req.newname, sizeof(m->rename_req.newname), "b");
		m->rename_req.flags = SFS_RENAME_EXCHANGE;
		break;
	case SFS_CLTOMD_SETLAYOUT:
		m->setlayout_req.sreq = (struct sfs_sreq){ 4, 128 << 10, -1 };
		break;
	case 1000 + SFS_CLTOMD_GETLAYOUT:
		m->getlayout_rep.sreq = (struct sfs_sreq){ 0, 0, -1 };
		break;
	case SFS_CLTOMD_ALLOCLAYOUT:
		m->alloclayout_req.sreq = (struct sfs_sreq){ 2, 0, -1 };
		m->alloclayout_req.avoid_ost = SFS_NO_OST;
		break;
	case SFS_CLTOMD_SWAPLAYOUT:
		m->swaplayout_req.layout.stripe_size = 64 << 10;
		m->swaplayout_req.layout.count = SFS_MAX_STRIPES;
		for (int i = 0; i < SFS_MAX_STRIPES; i++)
			m->swaplayout_req.layout.stripes[i].ost = (uint32_t)i;
		break;
	case SFS_OSTOMD_REGISTER:
		snprintf(m->register_req.uuid, sizeof(m->register_req.uuid), "u%u", seed);
		snprintf(m->register_req.addr, sizeof(m->register_req.addr), "10.0.0.%u", seed % 250);
		m->register_req.port = 9000;
		break;
	case SFS_CLTOOS_WRITE:
		m->obj_write_req = (struct sfs_obj_write_req){ 3, 99, 1ULL << 33, 1 };
		break;
	default:
		/* Plain integer fields only: any bytes will do. */
		break;
	}
}

static void test_round_trip_every_message(void **state)
{
	union sfs_msg *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t buf[SFS_MAX_PAYLOAD], buf2[SFS_MAX_PAYLOAD];
	for (size_t i = 0; i < sizeof(all_ops) / sizeof(all_ops[0]); i++) {
		for (int reply = 0; reply < 2; reply++) {
			const struct sfs_opinfo *info = sfs_op_info(all_ops[i]);
			assert_non_null(info);
			fill(all_ops[i], reply, a, (unsigned)i);
			int n = sfs_encode(all_ops[i], reply, a, buf, sizeof(buf));
			if (n < 0)
				fail_msg("encode %s %s: %d", info->name, reply ? "reply" : "request", n);
			assert_int_equal(sfs_decode(all_ops[i], reply, buf, (size_t)n, b), 0);
			/* Decoding then encoding again gives the same bytes. */
			int n2 = sfs_encode(all_ops[i], reply, b, buf2, sizeof(buf2));
			assert_int_equal(n, n2);
			assert_memory_equal(buf, buf2, (size_t)n);
			/* Every strict prefix is refused, and so is one extra byte. */
			for (int cut = 0; cut < n; cut++)
				assert_int_equal(sfs_decode(all_ops[i], reply, buf, (size_t)cut, b), -EPROTO);
			buf[n] = 0;
			assert_int_equal(sfs_decode(all_ops[i], reply, buf, (size_t)n + 1, b), -EPROTO);
		}
	}
	free(a);
	free(b);
}

static void test_fields_survive(void **state)
{
	union sfs_msg a, b;
	uint8_t buf[SFS_MAX_PAYLOAD];
	fill(SFS_CLTOMD_CREATE, true, &a, 5);
	int n = sfs_encode(SFS_CLTOMD_CREATE, true, &a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(sfs_decode(SFS_CLTOMD_CREATE, true, buf, (size_t)n, &b), 0);
	assert_int_equal(b.attr_layout_rep.attr.size, 1ULL << 40);
	assert_int_equal(b.attr_layout_rep.attr.mtime, -5);
	assert_int_equal(b.attr_layout_rep.layout.count, 3);
	assert_int_equal(b.attr_layout_rep.layout.stripes[2].objid, 107);
	fill(SFS_CLTOMD_LOOKUP, false, &a, 3);
	n = sfs_encode(SFS_CLTOMD_LOOKUP, false, &a, buf, sizeof(buf));
	assert_int_equal(sfs_decode(SFS_CLTOMD_LOOKUP, false, buf, (size_t)n, &b), 0);
	assert_string_equal(b.name_req.name, "name-3");
	assert_int_equal(b.name_req.cred.ngroups, 2);
	assert_int_equal(b.name_req.cred.groups[1], 77);
	/* The lease fields and the HELLO flags. */
	memset(&a, 0, sizeof(a));
	a.attr_rep.attr.ino = 9;
	a.attr_rep.lease = 0x1122334455667788ULL;
	n = sfs_encode(SFS_CLTOMD_LOOKUP, true, &a, buf, sizeof(buf));
	assert_int_equal(sfs_decode(SFS_CLTOMD_LOOKUP, true, buf, (size_t)n, &b), 0);
	assert_int_equal(b.attr_rep.lease, 0x1122334455667788ULL);
	memset(&a, 0, sizeof(a));
	a.create_rep.pseq = 4;
	a.create_rep.lease = 12;
	n = sfs_encode(SFS_CLTOMD_CREATE, true, &a, buf, sizeof(buf));
	assert_int_equal(sfs_decode(SFS_CLTOMD_CREATE, true, buf, (size_t)n, &b), 0);
	assert_int_equal(b.create_rep.pseq, 4);
	assert_int_equal(b.create_rep.lease, 12);
	memset(&a, 0, sizeof(a));
	a.lease_msg = (struct sfs_lease_msg){ 77, 78 };
	n = sfs_encode(SFS_MDTOCL_RECALL, false, &a, buf, sizeof(buf));
	assert_int_equal(n, 16);
	assert_int_equal(sfs_decode(SFS_MDTOCL_RECALL, false, buf, (size_t)n, &b), 0);
	assert_int_equal(b.lease_msg.dir, 77);
	assert_int_equal(b.lease_msg.lease, 78);
	memset(&a, 0, sizeof(a));
	a.hello_req.role = SFS_ROLE_CLIENT;
	a.hello_req.flags = SFS_HELLO_LEASES;
	n = sfs_encode(SFS_HELLO, false, &a, buf, sizeof(buf));
	assert_int_equal(sfs_decode(SFS_HELLO, false, buf, (size_t)n, &b), 0);
	assert_int_equal(b.hello_req.flags, SFS_HELLO_LEASES);
}

static void test_malformed_payloads(void **state)
{
	union sfs_msg a, b;
	uint8_t buf[SFS_MAX_PAYLOAD];
	/* A name with a NUL inside. */
	fill(SFS_CLTOMD_LOOKUP, false, &a, 1);
	int n = sfs_encode(SFS_CLTOMD_LOOKUP, false, &a, buf, sizeof(buf));
	buf[n - 2] = 0;
	assert_int_equal(sfs_decode(SFS_CLTOMD_LOOKUP, false, buf, (size_t)n, &b), -EPROTO);
	/* A string length larger than the field allows. */
	fill(SFS_CLTOMD_LOOKUP, false, &a, 1);
	n = sfs_encode(SFS_CLTOMD_LOOKUP, false, &a, buf, sizeof(buf));
	size_t lenpos = (size_t)n - strlen(a.name_req.name) - 2;
	buf[lenpos] = 0x01; /* length 256 + x */
	assert_int_equal(sfs_decode(SFS_CLTOMD_LOOKUP, false, buf, (size_t)n, &b), -EPROTO);
	/* Too many groups. */
	fill(SFS_CLTOMD_LOOKUP, false, &a, 1);
	n = sfs_encode(SFS_CLTOMD_LOOKUP, false, &a, buf, sizeof(buf));
	buf[8] = SFS_MAX_GROUPS + 1;
	assert_int_equal(sfs_decode(SFS_CLTOMD_LOOKUP, false, buf, (size_t)n, &b), -EPROTO);
	/* A layout with more stripes than allowed, and a bad stripe size. */
	fill(SFS_CLTOMD_CREATE, true, &a, 1);
	a.attr_layout_rep.layout.count = SFS_MAX_STRIPES + 1;
	assert_true(sfs_encode(SFS_CLTOMD_CREATE, true, &a, buf, sizeof(buf)) < 0);
	fill(SFS_CLTOMD_CREATE, true, &a, 1);
	n = sfs_encode(SFS_CLTOMD_CREATE, true, &a, buf, sizeof(buf));
	size_t lay = 76; /* attr is 76 bytes */
	buf[lay + 4] = 0xff; /* count */
	assert_int_equal(sfs_decode(SFS_CLTOMD_CREATE, true, buf, (size_t)n, &b), -EPROTO);
	fill(SFS_CLTOMD_CREATE, true, &a, 1);
	n = sfs_encode(SFS_CLTOMD_CREATE, true, &a, buf, sizeof(buf));
	buf[lay + 3] = 1; /* stripe size 1 MiB + 1 */
	assert_int_equal(sfs_decode(SFS_CLTOMD_CREATE, true, buf, (size_t)n, &b), -EPROTO);
	/* A stripe request out of range. */
	fill(SFS_CLTOMD_SETLAYOUT, false, &a, 1);
	a.setlayout_req.sreq.count = -2;
	n = sfs_encode(SFS_CLTOMD_SETLAYOUT, false, &a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(sfs_decode(SFS_CLTOMD_SETLAYOUT, false, buf, (size_t)n, &b), -EPROTO);
	/* An unknown op. */
	assert_int_equal(sfs_decode(999, false, buf, 0, &b), -EPROTO);
	assert_null(sfs_op_info(999));
	/* Random garbage never crashes and never overruns. */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % 200;
		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rand();
		uint16_t op = all_ops[(size_t)rand() % (sizeof(all_ops) / sizeof(all_ops[0]))];
		sfs_decode(op, rand() & 1, buf, len, &b);
	}
}

static void test_header(void **state)
{
	uint8_t h[SFS_HDR_LEN];
	struct sfs_hdr a = { .version = SFS_VERSION, .flags = SFS_FLAG_REPLY, .op = SFS_CLTOOS_READ,
			     .reqid = 0xdeadbeefcafeULL, .status = 0, .plen = 4, .blen = SFS_MAX_IO }, b;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), 0);
	assert_int_equal(b.op, SFS_CLTOOS_READ);
	assert_int_equal(b.reqid, 0xdeadbeefcafeULL);
	assert_int_equal(b.blen, SFS_MAX_IO);
	/* bulk larger than the op allows */
	a.blen = SFS_MAX_IO + 1;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	/* a request that may carry no bulk */
	a.flags = 0;
	a.op = SFS_CLTOMD_GETATTR;
	a.blen = 1;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	/* payload over the limit */
	a.blen = 0;
	a.plen = SFS_MAX_PAYLOAD + 1;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	/* bad magic, version, unknown op, unknown flags */
	a.plen = 0;
	sfs_hdr_encode(&a, h);
	h[0] ^= 1;
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	sfs_hdr_encode(&a, h);
	h[4] = 9;
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	a.op = 4242;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	a.op = SFS_CLTOMD_GETATTR;
	a.flags = 0x80;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
	/* an error reply with a payload */
	a.flags = SFS_FLAG_REPLY;
	a.status = SFS_S_NOENT;
	a.plen = 4;
	sfs_hdr_encode(&a, h);
	assert_int_equal(sfs_hdr_decode(h, &b), -EPROTO);
}

static void test_bulk_records(void **state)
{
	uint8_t buf[4096];
	size_t pos = 0;
	struct sfs_dirent d = { .ino = 5, .cookie = 9, .mode = 040755 }, e;
	snprintf(d.name, sizeof(d.name), "dir");
	d.attr.ino = 5;
	d.attr.size = 77;
	assert_int_equal(sfs_dirent_encode(&d, true, buf, sizeof(buf), &pos), 0);
	snprintf(d.name, sizeof(d.name), "second");
	assert_int_equal(sfs_dirent_encode(&d, true, buf, sizeof(buf), &pos), 0);
	size_t rpos = 0;
	assert_int_equal(sfs_dirent_decode(&e, true, buf, pos, &rpos), 0);
	assert_string_equal(e.name, "dir");
	assert_int_equal(e.attr.size, 77);
	assert_int_equal(sfs_dirent_decode(&e, true, buf, pos, &rpos), 0);
	assert_string_equal(e.name, "second");
	assert_int_equal(rpos, pos);
	assert_int_equal(sfs_dirent_decode(&e, true, buf, pos, &rpos), -EPROTO);
	/* a name with a slash is refused */
	pos = 0;
	snprintf(d.name, sizeof(d.name), "a/b");
	assert_int_equal(sfs_dirent_encode(&d, false, buf, sizeof(buf), &pos), 0);
	rpos = 0;
	assert_int_equal(sfs_dirent_decode(&e, false, buf, pos, &rpos), -EPROTO);
	/* no room */
	pos = 0;
	assert_int_equal(sfs_dirent_encode(&d, true, buf, 10, &pos), -ENOBUFS);

	struct sfs_ostinfo o = { .ost = 3, .port = 1234, .total = 10, .free = 5, .up = 1 }, p;
	snprintf(o.uuid, sizeof(o.uuid), "uuid");
	snprintf(o.addr, sizeof(o.addr), "127.0.0.1");
	pos = 0;
	assert_int_equal(sfs_ostinfo_encode(&o, buf, sizeof(buf), &pos), 0);
	rpos = 0;
	assert_int_equal(sfs_ostinfo_decode(&p, buf, pos, &rpos), 0);
	assert_string_equal(p.addr, "127.0.0.1");
	assert_int_equal(p.port, 1234);
	o.port = 70000;
	pos = 0;
	sfs_ostinfo_encode(&o, buf, sizeof(buf), &pos);
	rpos = 0;
	assert_int_equal(sfs_ostinfo_decode(&p, buf, pos, &rpos), -EPROTO);

	struct sfs_destroy_item x = { 1, 2 }, y;
	pos = 0;
	assert_int_equal(sfs_destroy_encode(&x, buf, sizeof(buf), &pos), 0);
	rpos = 0;
	assert_int_equal(sfs_destroy_decode(&y, buf, pos, &rpos), 0);
	assert_int_equal(y.objid, 2);
	rpos = 0;
	assert_int_equal(sfs_destroy_decode(&y, buf, pos - 1, &rpos), -EPROTO);
}

static void test_status_errno(void **state)
{
	int errs[] = { EPERM, ENOENT, EIO, EACCES, EEXIST, ENOTDIR, EISDIR, EINVAL, EFBIG, ENOSPC, EROFS,
		       EMLINK, ENAMETOOLONG, ENOTEMPTY, ENODATA, ERANGE, EXDEV, EAGAIN, ENOSYS, EPROTO,
		       ESTALE, E2BIG, EOPNOTSUPP, EBUSY, ENOMEM, ETIMEDOUT, ELOOP, EBADF, EOVERFLOW, EDQUOT };
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		int32_t s = sfs_status_from_errno(errs[i]);
		assert_int_not_equal(s, 0);
		assert_int_equal(sfs_status_to_errno(s), errs[i]);
		assert_int_equal(sfs_status_from_errno(-errs[i]), s);
	}
	assert_int_equal(sfs_status_from_errno(0), 0);
	assert_int_equal(sfs_status_to_errno(0), 0);
	assert_int_equal(sfs_status_to_errno(12345), EIO);
	assert_int_equal(sfs_status_from_errno(EHOSTDOWN), SFS_S_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_message),
		cmocka_unit_test(test_fields_survive),
		cmocka_unit_test(test_malformed_payloads),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_bulk_records),
		cmocka_unit_test(test_status_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

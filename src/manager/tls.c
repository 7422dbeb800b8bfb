/*
 * tls.c: the self-signed certificate of tls.h.
 */
#include "manager/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/buf.h"
#include "common/util.h"

static int seterr(char **err, const char *what, int grc)
{
	if (asprintf(err, "cannot make the self-signed certificate: %s: %s", what,
		     gnutls_strerror(grc)) < 0)
		*err = NULL;
	return -EIO;
}

int tls_ensure_self_signed(const char *dir, const uint32_t *gw, int n, char **err)
{
	char certp[4096], keyp[4096], markp[4096], host[256];
	struct buf mark = BUF_INIT(1 << 20);
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t c = { 0 }, k = { 0 };
	char *old = NULL;
	int rc, grc;

	*err = NULL;
	snprintf(certp, sizeof(certp), "%s/cert.pem", dir);
	snprintf(keyp, sizeof(keyp), "%s/key.pem", dir);
	snprintf(markp, sizeof(markp), "%s/self-signed", dir);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	buf_printf(&mark, "host %s\n", host);
	for (int i = 0; i < n; i++)
		buf_printf(&mark, "%u\n", gw[i]);

	if (access(certp, F_OK) == 0 && access(keyp, F_OK) == 0) {
		/* The operator's own certificate (no marker) is never replaced. */
		if (util_read_file(markp, 1 << 20, &old, NULL) < 0 ||
		    (mark.data && !strcmp(old, mark.data))) {
			rc = 0;
			goto out;
		}
	}
	if ((rc = util_mkdirs(dir, 0700))) {
		if (asprintf(err, "cannot create '%s': %s", dir, strerror(-rc)) < 0)
			*err = NULL;
		goto out;
	}
	rc = -EIO;
	if ((grc = gnutls_x509_privkey_init(&key)) < 0 ||
	    (grc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
		rc = seterr(err, "key generation", grc);
		goto out;
	}
	unsigned char serial[16];
	if (getrandom(serial, sizeof(serial), 0) != (ssize_t)sizeof(serial)) {
		rc = seterr(err, "random serial", GNUTLS_E_RANDOM_FAILED);
		goto out;
	}
	serial[0] &= 0x7f;
	time_t now = time(NULL);
	const char *dnerr = NULL;
	if ((grc = gnutls_x509_crt_init(&crt)) < 0 ||
	    (grc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (grc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (grc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (grc = gnutls_x509_crt_set_expiration_time(crt, now + 10L * 365 * 86400)) < 0 ||
	    (grc = gnutls_x509_crt_set_dn(crt, "CN=stratusd,O=Stratus", &dnerr)) < 0 ||
	    (grc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (grc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
	    (grc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
						 GNUTLS_KEY_KEY_CERT_SIGN)) < 0 ||
	    (grc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) {
		rc = seterr(err, "certificate fields", grc);
		goto out;
	}
	unsigned char kid[64];
	size_t kidlen = sizeof(kid);
	if (gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen) >= 0)
		gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen);
	const char *names[] = { "localhost", "stratus-manager", host };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, names[i],
						     (unsigned)strlen(names[i]), GNUTLS_FSAN_APPEND);
	uint32_t lo = htonl(0x7f000001);
	gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, &lo, 4, GNUTLS_FSAN_APPEND);
	for (int i = 0; i < n; i++) {
		uint32_t a = htonl(gw[i]);
		gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, &a, 4, GNUTLS_FSAN_APPEND);
	}
	if ((grc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
		rc = seterr(err, "signing", grc);
		goto out;
	}
	if ((grc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c)) < 0 ||
	    (grc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k)) < 0) {
		rc = seterr(err, "export", grc);
		goto out;
	}
	if ((rc = util_write_file_atomic(keyp, k.data, k.size, 0600)) ||
	    (rc = util_write_file_atomic(certp, c.data, c.size, 0644)) ||
	    (rc = util_write_file_atomic(markp, mark.data, mark.len, 0644))) {
		if (asprintf(err, "cannot write the certificate into '%s': %s", dir, strerror(-rc)) < 0)
			*err = NULL;
		goto out;
	}
	rc = 0;
out:
	gnutls_free(c.data);
	if (k.data) {
		explicit_bzero(k.data, k.size);
		gnutls_free(k.data);
	}
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	free(old);
	buf_release(&mark);
	return rc;
}

int tls_fingerprint(const char *path, char *out, size_t len)
{
	char *pem = NULL;
	size_t n = 0;
	unsigned char fp[32];
	size_t fplen = sizeof(fp);
	gnutls_x509_crt_t crt = NULL;
	int rc = util_read_file(path, 1 << 20, &pem, &n);
	if (rc < 0)
		return rc;
	gnutls_datum_t in = { (unsigned char *)pem, (unsigned)n };
	rc = -EINVAL;
	if (len < 72 || gnutls_x509_crt_init(&crt) < 0)
		goto out;
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fplen) >= 0 && fplen == sizeof(fp)) {
		static const char hx[] = "0123456789abcdef";
		memcpy(out, "sha256:", 7);
		for (size_t i = 0; i < fplen; i++) {
			out[7 + 2 * i] = hx[fp[i] >> 4];
			out[8 + 2 * i] = hx[fp[i] & 15];
		}
		out[7 + 2 * fplen] = '\0';
		rc = 0;
	}
	gnutls_x509_crt_deinit(crt);
out:
	free(pem);
	return rc;
}

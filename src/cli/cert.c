/*
 * cert.c: a certificate described for a person (cert.h), with GnuTLS.
 */
#include "cli/cert.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

static void dn_text(gnutls_x509_crt_t crt, int issuer, char *out, size_t len)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc = issuer ? gnutls_x509_crt_get_issuer_dn2(crt, &d) : gnutls_x509_crt_get_dn2(crt, &d);
	snprintf(out, len, "%.*s", rc < 0 ? 1 : (int)d.size, rc < 0 ? "?" : (const char *)d.data);
	gnutls_free(d.data);
}

int cert_describe(const char *pem, struct cert_info *ci)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t in = { (unsigned char *)pem, (unsigned)strlen(pem) };
	unsigned char fp[32];
	size_t fplen = sizeof(fp);
	int rc = -EINVAL;

	memset(ci, 0, sizeof(*ci));
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fplen) < 0 || fplen != sizeof(fp))
		goto out;
	dn_text(crt, 0, ci->subject, sizeof(ci->subject));
	dn_text(crt, 1, ci->issuer, sizeof(ci->issuer));
	ci->expires = gnutls_x509_crt_get_expiration_time(crt);
	static const char hx[] = "0123456789abcdef";
	memcpy(ci->sha256, "sha256:", 7);
	for (size_t i = 0; i < fplen; i++) {
		ci->sha256[7 + 2 * i] = hx[fp[i] >> 4];
		ci->sha256[7 + 2 * i + 1] = hx[fp[i] & 15];
	}
	ci->sha256[7 + 2 * fplen] = '\0';
	rc = 0;
out:
	gnutls_x509_crt_deinit(crt);
	return rc;
}

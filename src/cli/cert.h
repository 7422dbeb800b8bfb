/*
 * cert.h: what `stratus initialize` shows of a certificate it is asked to
 * trust: who it names, who signed it, until when, and its SHA-256
 * fingerprint in certtool's form ("sha256:" and 64 hex digits), so that the
 * person at the keyboard can compare it with what stratusd logged.
 */
#ifndef STRATUS_CLI_CERT_H
#define STRATUS_CLI_CERT_H

#include <stddef.h>
#include <time.h>

struct cert_info {
	char subject[512];
	char issuer[512];
	time_t expires;
	char sha256[7 + 64 + 1];   /* "sha256:" + hex */
};

/* Describe the PEM certificate PEM.  0, or -EINVAL when it is not one. */
int cert_describe(const char *pem, struct cert_info *ci);

#endif

/*
 * tls.h: stratusd's certificate.  A self-signed one is made at first start
 * (GnuTLS API, ECDSA P-256) unless the operator names their own; it names
 * localhost, this host, "stratus-manager" and the gateway address of every
 * cluster network the manager may hand out, so that agents can verify it
 * against the address they are given.
 */
#ifndef STRATUS_MANAGER_TLS_H
#define STRATUS_MANAGER_TLS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Make DIR/cert.pem and DIR/key.pem if absent, or if they were made by us for
 * another set of gateway addresses (recorded in DIR/self-signed).
 * gateways: host-order IPv4 addresses, n of them.  0 or -errno, *err set.
 */
int tls_ensure_self_signed(const char *dir, const uint32_t *gateways, int n, char **err);

/* The SHA-256 fingerprint of the PEM certificate at PATH in certtool's form
 * ("sha256:" + 64 hex digits) into out (>= 72 bytes).  0 or -errno. */
int tls_fingerprint(const char *path, char *out, size_t len);

#endif

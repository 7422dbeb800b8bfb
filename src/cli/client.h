/*
 * client.h: the CLI's HTTPS client for stratusd (libcurl): one call = one
 * request, JSON in and out, with every failure turned into one sentence that
 * says what is wrong (wrong URL, wrong scheme, untrusted certificate, refused
 * token...) and what to do.  Also what every verb of the CLI (stratus.c,
 * pool.c) shares: the settings file, the command line, error output.
 */
#ifndef STRATUS_CLI_CLIENT_H
#define STRATUS_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct client {
	const char *url;      /* https://host:port, no trailing '/' */
	const char *token;    /* NULL for /login */
	bool verify;          /* verify the certificate */
	const char *ca;       /* pinned certificate (PEM), or NULL for the system's CAs */
};

struct cfg_opt;
/*
 * Options may come before, between or after the arguments (as in
 * `show_nodes demo --filter X`): a new argv (*nargc entries, malloc'd; its
 * strings are argv's, but for a rewritten --config=FILE, kept to the end)
 * with the options of TBL first, then "--" and the
 * positionals, for cfg_parse_args.  --config FILE is --settings FILE (the
 * CLI's settings file, not a file of flags).  NULL when out of memory.
 */
char **cli_permute(const struct cfg_opt *tbl, int argc, char **argv, int *nargc);

/* What `stratus initialize` writes (key = value lines, mode 0600), read by every other verb. */
struct cli_settings {
	char *url, *username, *token, *ca;
	bool verify_ssl;
};

/* The settings file: GIVEN (--settings) if set, else $STRATUS_CONFIG, else ~/.stratus/config.ini. */
void cli_settings_path(const char *given, char *out, size_t len);
/*
 * Read the settings at PATH into *s and point *c at the manager they name
 * (c borrows s's strings).  0, or 1 after printing why and what to do.
 * Release *s with cli_settings_release, also after a failure.
 */
int cli_settings_load(const char *path, struct cli_settings *s, struct client *c);
void cli_settings_release(struct cli_settings *s);

/*
 * METHOD base-url + /api/v1 + PATH.  body: JSON to send (NULL: none), or raw
 * bytes with ctype when raw is set.  Returns 0 and *status, *out (parsed JSON
 * answer, or NULL when empty); or -errno with *err (malloc'd) when the request
 * could not be made or the answer is not from a Stratus manager.  A 4xx/5xx
 * from the manager is not an error here: look at *status and "error" in *out.
 * A certificate that is not trusted is -EKEYREJECTED (stratus initialize then
 * offers to trust it).
 */
int client_call(const struct client *c, const char *method, const char *path, json_t *body,
		const void *raw, size_t rawlen, const char *ctype, long *status, json_t **out,
		char **err);

/*
 * The certificate the server at BASE (https://HOST:PORT) shows, as PEM
 * (*pem malloc'd), fetched without trusting it so that a person can check
 * its fingerprint.  0 or -errno with *err.
 */
int client_peer_cert(const char *base, char **pem, char **err);

/*
 * The CLI's way to call: client_call with a JSON body (or none) that prints
 * "stratus: error: WHY" on stderr when the manager could not be reached or
 * answered 4xx/5xx.  Takes and frees body.  Returns 0 with *out (the answer,
 * NULL when empty; left alone when out is NULL, the answer then dropped), or 1
 * after printing why.  status (may be NULL) gets the HTTP status whenever the
 * manager answered, refusals included.
 */
int cli_call(const struct client *c, const char *method, const char *path, json_t *body, json_t **out,
	     long *status);

/* Print "stratus: error: " and the message on stderr; returns 1 (the CLI's exit code for a failure). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The "error" of an answer, or a sentence made from the status. */
const char *client_errtext(json_t *ans, long status);

/* Percent-encode s for a query string (malloc'd). */
char *client_escape(const char *s);
/* PREFIX + NAME percent-encoded + SUFFIX into out: "/clusters/" NAME "/nodes". */
void cli_path(char *out, size_t len, const char *prefix, const char *name, const char *suffix);

#endif

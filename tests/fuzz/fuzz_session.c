/*
 * fuzz_session.c: libFuzzer target for the browser-session code that reads
 * what a browser (or anyone) sends: the Cookie header and the X-CSRF-Token
 * header.  The first line of the input is the CSRF header, the rest the
 * Cookie header.  Whatever comes in, a session id found must be exactly
 * SESSION_ID_LEN hex digits, and no made-up token may pass the CSRF check.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "manager/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[SESSION_ID_LEN + 1], want[SESSION_CSRF_LEN + 1];
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = strchr(buf, '\n');
	const char *csrf = nl ? buf : NULL;
	const char *cookie = nl ? nl + 1 : buf;
	if (nl)
		*nl = '\0';
	if (session_cookie_value(cookie, id) == 0) {
		if (strlen(id) != SESSION_ID_LEN)
			abort();
		for (size_t i = 0; i < SESSION_ID_LEN; i++)
			if (!isxdigit((unsigned char)id[i]))
				abort();
		if (session_csrf_token(id, want))
			abort();
		/* Only the session's own token passes. */
		if (csrf && session_csrf_check(id, csrf) == 0 && strcasecmp(csrf, want))
			abort();
		if (session_csrf_check(id, want))
			abort();
	}
	free(buf);
	return 0;
}

/* The session-bound runtime token on POST /v1/turn (contract section 2).
 *
 * The API proves it is the session's own caller with the header below; the
 * answer (401 RUNTIME_AUTH_REQUIRED or go on) is decided from the headers
 * alone, before any body is read. */
#ifndef SANDBOX_INIT_TURN_AUTH_H
#define SANDBOX_INIT_TURN_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define TURN_AUTH_HEADER "X-Kartograph-Runtime-Auth"

/* Whether presented (presented_length bytes, not NUL-terminated, may hold
 * any byte), with surrounding spaces and tabs ignored, is the token
 * expected (NUL-terminated, already trimmed).  The time taken depends on
 * neither how much of the token matches nor how long the presented value
 * is compared with the token.  NULL or blank presented, and NULL or empty
 * expected, never match.  Safe to call from several threads. */
bool turn_auth_matches(const char *expected, const char *presented, size_t presented_length);

#endif

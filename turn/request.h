/* POST /v1/turn: the request body, what the executor reads on its stdin,
 * the lines it writes back, and the bodies the supervisor writes itself
 * (contract sections 2 and 3).
 *
 * Every function here is pure data: no I/O, no global state, thread-safe.
 * Whatever holds a workload token (a parsed request, an executor input) is
 * a secret and is wiped before it is freed. */
#ifndef SANDBOX_INIT_TURN_REQUEST_H
#define SANDBOX_INIT_TURN_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "turn/turn.h"

/* Request bodies above this are answered 413 before they are parsed. */
#define TURN_MAX_BODY_LENGTH TURN_MAX_BODY
/* One executor stdout line, without its newline. */
#define TURN_MAX_LINE_LENGTH (1024 * 1024)

enum turn_ui_mode {
	TURN_MODE_INITIAL_SCHEMA_DESIGN,
	TURN_MODE_EXTRACTION_JOBS,
	TURN_MODE_ONE_OFF_MUTATIONS,
};

/* "initial-schema-design", "extraction-jobs", "one-off-mutations";
 * "unknown" for a value outside the enum. */
const char *turn_ui_mode_name(enum turn_ui_mode mode);

/* Exactly one of the names above (case-sensitive).  Returns 0 or -EINVAL. */
int turn_ui_mode_parse(const char *name, enum turn_ui_mode *out);

struct turn_request {
	char *message;               /* non-empty, no NUL inside */
	enum turn_ui_mode ui_mode;   /* default initial-schema-design */
	bool ui_mode_given;          /* false: the default applies (serve --mode may set another) */
	json_t *agent_configuration; /* object, default {} */
	json_t *message_history;     /* array, default [] */
	char *workload_token;        /* NULL when absent or null; a secret: wiped on release */
};

/* Parses and validates a request body of length bytes (not NUL-terminated).
 * Unknown keys are ignored; a key given twice is refused, so no two readers
 * of one body can disagree about its value; "workload_token": null is read
 * as absent.  Returns 0 with *out filled, or with *out zeroed:
 * -EINVAL: error gets one line for the 422, naming the field, e.g.
 *   "body: not valid JSON (line 1, column 5)", "body: must be a JSON object",
 *   "message: must be a non-empty string",
 *   "ui_mode: must be one of initial-schema-design, extraction-jobs, one-off-mutations",
 *   "agent_configuration: must be an object", "message_history: must be an array",
 *   "workload_token: must be a string";
 *   it never quotes the body, so it never holds the token or the message;
 * -E2BIG: length is above TURN_MAX_BODY_LENGTH (a 413; the caller should
 *   have refused it before reading it);
 * -ENOMEM. */
int turn_request_parse(const char *body, size_t length, struct turn_request *out, char *error,
		       size_t error_size);

/* Frees what parse filled, wiping the token, and zeroes *request.  Safe on
 * a zeroed or already released request, and on NULL. */
void turn_request_release(struct turn_request *request);

/* Identity of the sticky session; NULL for a value that is not set. */
struct turn_session {
	const char *session_id;
	const char *tenant_id;
	const char *knowledge_graph_id;
	const char *user_id;
	const char *workspace;
};

/* The executor's stdin: one compact JSON object and a newline, nothing
 * else:
 *   {"message", "ui_mode", "agent_configuration", "message_history",
 *    "workload_token" (null when absent),
 *    "session": {"session_id", "tenant_id", "knowledge_graph_id", "user_id",
 *                "ui_mode", "workspace"}}
 * with null for each unset identity value (session may be NULL: all null).
 * *length gets the size including the newline (the buffer is also
 * NUL-terminated).  It holds the token: wipe it (explicit_bzero over
 * *length) before free().  NULL: out of memory, or an identity value that
 * is not UTF-8. */
char *turn_executor_input(const struct turn_request *request, const struct turn_session *session,
			  size_t *length);

/* Checks one executor stdout line (length bytes, without the newline):
 * exactly one JSON object, UTF-8, no key twice, at most
 * TURN_MAX_LINE_LENGTH.  An object whose "type" is "done" must carry a
 * boolean "ok", the shape the client relies on to end the turn.  Returns 0
 * (*is_done true for a done line) or -EINVAL (*is_done false): the line is
 * not relayed and the turn ends with AGENT_RUNTIME_INTERNAL_ERROR. */
int turn_line_check(const char *line, size_t length, bool *is_done);

/* The done line the supervisor writes when the executor cannot, newline
 * included: {"type":"done","ok":false,"code":"...","message":"..."}.
 * message may be NULL (no "message" key).  *length excludes the final NUL.
 * NULL: out of memory, code NULL, or a value that is not UTF-8. */
char *turn_done_line(const char *code, const char *message, size_t *length);

/* The FastAPI-compatible error body, no newline:
 * {"detail":{"code":"...","message":"..."}}.  Same rules as turn_done_line. */
char *turn_error_body(const char *code, const char *message, size_t *length);

#endif

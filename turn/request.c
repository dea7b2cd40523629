#include "turn/request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ui_mode_names[] = {
	[TURN_MODE_INITIAL_SCHEMA_DESIGN] = "initial-schema-design",
	[TURN_MODE_EXTRACTION_JOBS] = "extraction-jobs",
	[TURN_MODE_ONE_OFF_MUTATIONS] = "one-off-mutations",
};

#define UI_MODE_COUNT (sizeof(ui_mode_names) / sizeof(ui_mode_names[0]))

const char *turn_ui_mode_name(enum turn_ui_mode mode)
{
	if ((size_t)mode >= UI_MODE_COUNT)
		return "unknown";
	return ui_mode_names[mode];
}

int turn_ui_mode_parse(const char *name, enum turn_ui_mode *out)
{
	for (size_t i = 0; i < UI_MODE_COUNT; i++) {
		if (strcmp(name, ui_mode_names[i]) == 0) {
			*out = (enum turn_ui_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ------------------------------------------------------------ secrets */

/* jansson frees its strings without clearing them, so a token would stay
 * in freed heap for the next allocation to hand out.  The bytes are ours
 * to overwrite: jansson's const only keeps callers from breaking its
 * length bookkeeping, and the value is about to be dropped. */
static void wipe_json_string(json_t *value)
{
	if (json_is_string(value))
		explicit_bzero((char *)json_string_value(value), json_string_length(value));
}

static void free_secret(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* ------------------------------------------------------------ parse */

__attribute__((format(printf, 4, 5)))
static int report(int result, char *error, size_t error_size, const char *format, ...)
{
	if (error && error_size > 0) {
		va_list args;
		va_start(args, format);
		vsnprintf(error, error_size, format, args);
		va_end(args);
	}
	return result;
}

/* Only the position goes into the message: jansson's own text quotes the
 * input near the error ("invalid token near '...'"), which may be the
 * token or the user's message. */
static int report_json_error(const json_error_t *json_error, char *error, size_t error_size)
{
	int line = json_error->line, column = json_error->column;

	switch (json_error_code(json_error)) {
	case json_error_out_of_memory:
		return report(-ENOMEM, error, error_size, "body: out of memory");
	case json_error_stack_overflow:
		return report(-EINVAL, error, error_size, "body: nested too deeply (line %d, column %d)",
			      line, column);
	case json_error_duplicate_key:
		return report(-EINVAL, error, error_size, "body: duplicate key (line %d, column %d)",
			      line, column);
	case json_error_invalid_utf8:
		return report(-EINVAL, error, error_size, "body: not valid UTF-8 (line %d, column %d)",
			      line, column);
	case json_error_null_character:
		return report(-EINVAL, error, error_size,
			      "body: \\u0000 in a string is not supported (line %d, column %d)", line,
			      column);
	case json_error_numeric_overflow:
		return report(-EINVAL, error, error_size,
			      "body: number out of range (line %d, column %d)", line, column);
	default:
		return report(-EINVAL, error, error_size, "body: not valid JSON (line %d, column %d)",
			      line, column);
	}
}

static int copy_string(const json_t *value, char **out, char *error, size_t error_size)
{
	*out = strdup(json_string_value(value));
	if (!*out)
		return report(-ENOMEM, error, error_size, "body: out of memory");
	return 0;
}

/* Each reader takes one field from the body object into the request, or
 * refuses with a message naming that field. */
typedef int field_reader(json_t *body, struct turn_request *out, char *error, size_t error_size);

static int read_message(json_t *body, struct turn_request *out, char *error, size_t error_size)
{
	json_t *value = json_object_get(body, "message");

	if (!json_is_string(value) || json_string_length(value) == 0)
		return report(-EINVAL, error, error_size, "message: must be a non-empty string");
	return copy_string(value, &out->message, error, error_size);
}

static int read_ui_mode(json_t *body, struct turn_request *out, char *error, size_t error_size)
{
	json_t *value = json_object_get(body, "ui_mode");

	out->ui_mode = TURN_MODE_INITIAL_SCHEMA_DESIGN;
	if (!value)
		return 0;
	if (!json_is_string(value) || turn_ui_mode_parse(json_string_value(value), &out->ui_mode))
		return report(-EINVAL, error, error_size,
			      "ui_mode: must be one of initial-schema-design, extraction-jobs, "
			      "one-off-mutations");
	out->ui_mode_given = true;
	return 0;
}

static int read_agent_configuration(json_t *body, struct turn_request *out, char *error,
				    size_t error_size)
{
	json_t *value = json_object_get(body, "agent_configuration");

	if (value && !json_is_object(value))
		return report(-EINVAL, error, error_size, "agent_configuration: must be an object");
	out->agent_configuration = value ? json_incref(value) : json_object();
	if (!out->agent_configuration)
		return report(-ENOMEM, error, error_size, "body: out of memory");
	return 0;
}

static int read_message_history(json_t *body, struct turn_request *out, char *error,
				size_t error_size)
{
	json_t *value = json_object_get(body, "message_history");

	if (value && !json_is_array(value))
		return report(-EINVAL, error, error_size, "message_history: must be an array");
	out->message_history = value ? json_incref(value) : json_array();
	if (!out->message_history)
		return report(-ENOMEM, error, error_size, "body: out of memory");
	return 0;
}

/* null is accepted as absent: a Python client with an Optional[str] field
 * sends it, and without a token the JWT check answers 401 anyway. */
static int read_workload_token(json_t *body, struct turn_request *out, char *error,
			       size_t error_size)
{
	json_t *value = json_object_get(body, "workload_token");

	if (!value || json_is_null(value))
		return 0;
	if (!json_is_string(value))
		return report(-EINVAL, error, error_size, "workload_token: must be a string");
	return copy_string(value, &out->workload_token, error, error_size);
}

/* In the contract's order, so the first wrong field is the one named. */
static field_reader *const field_readers[] = {
	read_message,
	read_ui_mode,
	read_agent_configuration,
	read_message_history,
	read_workload_token,
};

static int read_fields(json_t *body, struct turn_request *out, char *error, size_t error_size)
{
	if (!json_is_object(body))
		return report(-EINVAL, error, error_size, "body: must be a JSON object");
	for (size_t i = 0; i < sizeof(field_readers) / sizeof(field_readers[0]); i++) {
		int result = field_readers[i](body, out, error, error_size);
		if (result)
			return result;
	}
	return 0;
}

int turn_request_parse(const char *body, size_t length, struct turn_request *out, char *error,
		       size_t error_size)
{
	/* Duplicate keys are refused: json_loadb() would keep one value and
	 * another reader (a log pipeline, a future Python executor) another,
	 * so a body could say two things at once. */
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;
	json_error_t json_error;
	json_t *root;
	int result;

	memset(out, 0, sizeof(*out));
	if (error && error_size > 0)
		error[0] = '\0';
	/* An empty body may come as no buffer at all. */
	if (!body) {
		body = "";
		length = 0;
	}
	if (length > TURN_MAX_BODY_LENGTH)
		return report(-E2BIG, error, error_size, "body: must be at most %d bytes",
			      TURN_MAX_BODY_LENGTH);

	root = json_loadb(body, length, flags, &json_error);
	if (!root)
		result = report_json_error(&json_error, error, error_size);
	else
		result = read_fields(root, out, error, error_size);

	/* json_error.text may quote the token; the root holds a copy of it. */
	explicit_bzero(&json_error, sizeof(json_error));
	if (json_is_object(root))
		wipe_json_string(json_object_get(root, "workload_token"));
	json_decref(root);
	if (result)
		turn_request_release(out);
	return result;
}

void turn_request_release(struct turn_request *request)
{
	if (!request)
		return;
	free(request->message);
	free_secret(request->workload_token);
	json_decref(request->agent_configuration);
	json_decref(request->message_history);
	memset(request, 0, sizeof(*request));
}

/* ------------------------------------------------------------ output */

/* Dumped into a buffer we own, sized first, because json_dumps() grows its
 * buffer by copying and would leave copies of the token in freed memory.
 * Compact output has no newline of its own (strings escape theirs), so the
 * result is exactly one line. */
static char *dump_line(const json_t *value, bool newline, size_t *length)
{
	size_t size = json_dumpb(value, NULL, 0, JSON_COMPACT);
	char *text;

	if (size == 0)
		return NULL;
	text = malloc(size + 2);
	if (!text)
		return NULL;
	if (json_dumpb(value, text, size, JSON_COMPACT) != size) {
		explicit_bzero(text, size);
		free(text);
		return NULL;
	}
	if (newline)
		text[size++] = '\n';
	text[size] = '\0';
	*length = size;
	return text;
}

char *turn_executor_input(const struct turn_request *request, const struct turn_session *session,
			  size_t *length)
{
	static const struct turn_session no_session;
	const char *ui_mode = turn_ui_mode_name(request->ui_mode);
	json_t *input;
	char *text;

	if (!session)
		session = &no_session;
	input = json_pack("{s:s, s:s, s:O, s:O, s:s?, s:{s:s?, s:s?, s:s?, s:s?, s:s, s:s?}}",
			  "message", request->message,
			  "ui_mode", ui_mode,
			  "agent_configuration", request->agent_configuration,
			  "message_history", request->message_history,
			  "workload_token", request->workload_token,
			  "session",
			  "session_id", session->session_id,
			  "tenant_id", session->tenant_id,
			  "knowledge_graph_id", session->knowledge_graph_id,
			  "user_id", session->user_id,
			  "ui_mode", ui_mode,
			  "workspace", session->workspace);
	if (!input)
		return NULL;
	text = dump_line(input, true, length);
	wipe_json_string(json_object_get(input, "workload_token"));
	json_decref(input);
	return text;
}

/* JSON_ALLOW_NUL: "\u0000" is valid JSON an executor may well write (the
 * line is relayed as it is, never through a C string), so "type" is
 * compared with its length: "done\u0000" is not "done". */
int turn_line_check(const char *line, size_t length, bool *is_done)
{
	json_t *event = NULL, *type, *ok;
	int result = -EINVAL;

	*is_done = false;
	if (length > TURN_MAX_LINE_LENGTH)
		return -EINVAL;
	/* Without JSON_DISABLE_EOF_CHECK anything after the object but white
	 * space is an error, so two objects on one line are refused.  Without
	 * JSON_DECODE_ANY a scalar is, too.  A repeated key is refused because
	 * the client's parser may keep the other value: {"type":"done",
	 * "type":"message"} must not end the turn for one and not the other. */
	event = json_loadb(line, length, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!json_is_object(event))
		goto out;
	type = json_object_get(event, "type");
	if (json_is_string(type) && json_string_length(type) == 4 &&
	    memcmp(json_string_value(type), "done", 4) == 0) {
		ok = json_object_get(event, "ok");
		if (!json_is_boolean(ok))
			goto out;
		*is_done = true;
	}
	result = 0;
out:
	json_decref(event);
	return result;
}

char *turn_done_line(const char *code, const char *message, size_t *length)
{
	json_t *done = json_pack("{s:s, s:b, s:s, s:s*}", "type", "done", "ok", 0, "code", code,
				 "message", message);
	char *text;

	if (!done)
		return NULL;
	text = dump_line(done, true, length);
	json_decref(done);
	return text;
}

char *turn_error_body(const char *code, const char *message, size_t *length)
{
	json_t *body = json_pack("{s:{s:s, s:s*}}", "detail", "code", code, "message", message);
	char *text;

	if (!body)
		return NULL;
	text = dump_line(body, false, length);
	json_decref(body);
	return text;
}

/* Fuzzes the /v1/turn request layer with every input three ways:
 * 1. as a request body: the parser's promises (a zeroed request and one
 *    line naming a field on refusal, a complete request otherwise), and the
 *    executor input built from an accepted request read back exactly;
 * 2. as an executor stdout line: only an object is accepted, and only a
 *    done line with a boolean ok is done;
 * 3. as the message of a supervisor-written done line and error body: they
 *    read back exactly, and the done line passes the line check.
 * Seed it with request bodies and NDJSON events. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turn/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct turn_session this_sandbox = {
	.session_id = "sess-7f3a",
	.tenant_id = "tenant-acme",
	.knowledge_graph_id = "kg-0042",
	.user_id = NULL,
	.workspace = "/workspace",
};

static const char *const error_prefixes[] = {
	"body: ", "message: ", "ui_mode: ", "agent_configuration: ", "message_history: ",
	"workload_token: ",
};

static bool starts_with_a_field(const char *error)
{
	for (size_t i = 0; i < sizeof(error_prefixes) / sizeof(error_prefixes[0]); i++) {
		if (strncmp(error, error_prefixes[i], strlen(error_prefixes[i])) == 0)
			return true;
	}
	return false;
}

/* A refusal names a field in one line and quotes nothing of the body:
 * no quote marks, which any echo of jansson's "near '...'" would bring. */
static void check_refusal(int result, const struct turn_request *request, const char *error)
{
	if (result != -EINVAL && result != -E2BIG && result != -ENOMEM)
		__builtin_trap();
	if (request->message || request->workload_token || request->agent_configuration ||
	    request->message_history || request->ui_mode_given)
		__builtin_trap();
	if (!starts_with_a_field(error) || strpbrk(error, "\n'\""))
		__builtin_trap();
}

static bool string_member_is(const json_t *object, const char *key, const char *expected)
{
	json_t *value = json_object_get(object, key);

	if (!expected)
		return json_is_null(value);
	return json_is_string(value) && strcmp(json_string_value(value), expected) == 0;
}

static void check_executor_input(const struct turn_request *request)
{
	size_t length = 0;
	char *text = turn_executor_input(request, &this_sandbox, &length);
	const char *ui_mode = turn_ui_mode_name(request->ui_mode);
	json_t *input, *session;
	bool is_done = true;

	if (!text)
		__builtin_trap();
	if (length == 0 || text[length - 1] != '\n' || memchr(text, '\n', length - 1))
		__builtin_trap();
	if (turn_line_check(text, length - 1, &is_done) != 0 || is_done)
		__builtin_trap();
	input = json_loadb(text, length - 1, JSON_REJECT_DUPLICATES, NULL);
	session = json_object_get(input, "session");
	if (json_object_size(input) != 6 || json_object_size(session) != 6 ||
	    !string_member_is(input, "message", request->message) ||
	    !string_member_is(input, "ui_mode", ui_mode) ||
	    !string_member_is(input, "workload_token", request->workload_token) ||
	    !json_equal(json_object_get(input, "agent_configuration"),
			request->agent_configuration) ||
	    !json_equal(json_object_get(input, "message_history"), request->message_history) ||
	    !string_member_is(session, "session_id", this_sandbox.session_id) ||
	    !string_member_is(session, "user_id", NULL) ||
	    !string_member_is(session, "ui_mode", ui_mode))
		__builtin_trap();
	json_decref(input);
	explicit_bzero(text, length);
	free(text);
}

static void check_request(const uint8_t *data, size_t size)
{
	struct turn_request request;
	char error[256] = "";
	int result = turn_request_parse((const char *)data, size, &request, error, sizeof(error));

	if (result != 0) {
		check_refusal(result, &request, error);
		return;
	}
	if (!request.message || request.message[0] == '\0' ||
	    !json_is_object(request.agent_configuration) ||
	    !json_is_array(request.message_history) ||
	    strcmp(turn_ui_mode_name(request.ui_mode), "unknown") == 0)
		__builtin_trap();
	check_executor_input(&request);
	turn_request_release(&request);
	if (request.message || request.workload_token)
		__builtin_trap();
}

static void check_line(const uint8_t *data, size_t size)
{
	bool is_done = true;
	int result = turn_line_check((const char *)data, size, &is_done);
	json_t *event;

	if (result != 0 && (result != -EINVAL || is_done))
		__builtin_trap();
	if (result != 0 || !is_done)
		return;
	event = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(event) || !string_member_is(event, "type", "done") ||
	    !json_is_boolean(json_object_get(event, "ok")))
		__builtin_trap();
	json_decref(event);
}

static void check_supervisor_lines(const uint8_t *data, size_t size)
{
	char *message = strndup((const char *)data, size);
	size_t length = 0;
	bool is_done = false;
	char *done, *body;
	json_t *parsed;

	if (!message)
		return;
	done = turn_done_line("AGENT_RUNTIME_INTERNAL_ERROR", message, &length);
	if (done) {
		if (turn_line_check(done, length - 1, &is_done) != 0 || !is_done)
			__builtin_trap();
		parsed = json_loadb(done, length - 1, 0, NULL);
		if (!string_member_is(parsed, "message", message))
			__builtin_trap();
		json_decref(parsed);
		free(done);
	}
	body = turn_error_body("VALIDATION_ERROR", message, &length);
	if (body) {
		parsed = json_loadb(body, length, 0, NULL);
		if (memchr(body, '\n', length) ||
		    !string_member_is(json_object_get(parsed, "detail"), "message", message))
			__builtin_trap();
		json_decref(parsed);
		free(body);
	}
	/* Both are NULL only when the message is not UTF-8. */
	if (!done != !body)
		__builtin_trap();
	free(message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_line(data, size);
	check_supervisor_lines(data, size);
	return 0;
}

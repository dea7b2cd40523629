/* The /v1/turn request layer: body validation with the exact 422 messages,
 * the executor's stdin, the executor line check, and the bodies the
 * supervisor writes itself. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "turn/request.h"

#define SECRET_TOKEN "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"
#define PRIVATE_WORDS "the quarterly numbers nobody may see"

static const char ui_mode_error[] =
	"ui_mode: must be one of initial-schema-design, extraction-jobs, one-off-mutations";

static int parse_text(const char *body, struct turn_request *out, char *error, size_t error_size)
{
	return turn_request_parse(body, strlen(body), out, error, error_size);
}

/* Expects body to be refused with errno_value and exactly message, and the
 * request to come back zeroed. */
static void assert_refused(const char *body, size_t length, int errno_value, const char *message)
{
	struct turn_request request;
	char error[256];

	memset(&request, 0xa5, sizeof(request));
	assert_int_equal(turn_request_parse(body, length, &request, error, sizeof(error)),
			 -errno_value);
	assert_string_equal(error, message);
	assert_null(request.message);
	assert_null(request.workload_token);
	assert_null(request.agent_configuration);
	assert_null(request.message_history);
	assert_false(request.ui_mode_given);
}

static void assert_text_refused(const char *body, const char *message)
{
	assert_refused(body, strlen(body), EINVAL, message);
}

static void assert_accepted(const char *body, struct turn_request *request)
{
	char error[256] = "";

	if (parse_text(body, request, error, sizeof(error)) != 0)
		fail_msg("refused %s: %s", body, error);
}

/* ------------------------------------------------------------ ui_mode */

static void test_ui_mode_names_are_the_contract_spellings(void **state)
{
	(void)state;
	assert_string_equal(turn_ui_mode_name(TURN_MODE_INITIAL_SCHEMA_DESIGN),
			    "initial-schema-design");
	assert_string_equal(turn_ui_mode_name(TURN_MODE_EXTRACTION_JOBS), "extraction-jobs");
	assert_string_equal(turn_ui_mode_name(TURN_MODE_ONE_OFF_MUTATIONS), "one-off-mutations");
	assert_string_equal(turn_ui_mode_name((enum turn_ui_mode)3), "unknown");
}

static void test_ui_mode_parse_accepts_each_name_and_round_trips(void **state)
{
	enum turn_ui_mode modes[] = { TURN_MODE_INITIAL_SCHEMA_DESIGN, TURN_MODE_EXTRACTION_JOBS,
				      TURN_MODE_ONE_OFF_MUTATIONS };
	(void)state;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		enum turn_ui_mode parsed = (enum turn_ui_mode)99;
		assert_int_equal(turn_ui_mode_parse(turn_ui_mode_name(modes[i]), &parsed), 0);
		assert_int_equal(parsed, modes[i]);
	}
}

static void test_ui_mode_parse_rejects_other_spellings_with_einval(void **state)
{
	const char *wrong[] = { "", "Extraction-Jobs", "extraction_jobs", "extraction-jobs ",
				"extraction-job", "unknown" };
	enum turn_ui_mode parsed;
	(void)state;

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		assert_int_equal(turn_ui_mode_parse(wrong[i], &parsed), -EINVAL);
}

/* ------------------------------------------------------------ parse: accepted */

static void test_body_with_only_a_message_gets_the_defaults(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted("{\"message\":\"hello\"}", &request);
	assert_string_equal(request.message, "hello");
	assert_int_equal(request.ui_mode, TURN_MODE_INITIAL_SCHEMA_DESIGN);
	assert_false(request.ui_mode_given);
	assert_true(json_is_object(request.agent_configuration));
	assert_int_equal(json_object_size(request.agent_configuration), 0);
	assert_true(json_is_array(request.message_history));
	assert_int_equal(json_array_size(request.message_history), 0);
	assert_null(request.workload_token);
	turn_request_release(&request);
}

static void test_body_with_every_field_is_read_exactly(void **state)
{
	const char *body = "{\"message\":\"add a Person type\","
			   "\"ui_mode\":\"one-off-mutations\","
			   "\"agent_configuration\":{\"model\":\"opus\",\"depth\":2},"
			   "\"message_history\":[{\"role\":\"user\",\"content\":\"hi\"}],"
			   "\"workload_token\":\"" SECRET_TOKEN "\"}";
	struct turn_request request;
	json_t *expected_configuration = json_pack("{s:s, s:i}", "model", "opus", "depth", 2);
	json_t *expected_history = json_pack("[{s:s, s:s}]", "role", "user", "content", "hi");
	(void)state;

	assert_accepted(body, &request);
	assert_string_equal(request.message, "add a Person type");
	assert_int_equal(request.ui_mode, TURN_MODE_ONE_OFF_MUTATIONS);
	assert_true(request.ui_mode_given);
	assert_true(json_equal(request.agent_configuration, expected_configuration));
	assert_true(json_equal(request.message_history, expected_history));
	assert_string_equal(request.workload_token, SECRET_TOKEN);
	turn_request_release(&request);
	json_decref(expected_configuration);
	json_decref(expected_history);
}

static void test_each_ui_mode_is_accepted_and_marked_given(void **state)
{
	const char *bodies[] = {
		"{\"message\":\"m\",\"ui_mode\":\"initial-schema-design\"}",
		"{\"message\":\"m\",\"ui_mode\":\"extraction-jobs\"}",
		"{\"message\":\"m\",\"ui_mode\":\"one-off-mutations\"}",
	};
	enum turn_ui_mode modes[] = { TURN_MODE_INITIAL_SCHEMA_DESIGN, TURN_MODE_EXTRACTION_JOBS,
				      TURN_MODE_ONE_OFF_MUTATIONS };
	(void)state;

	for (size_t i = 0; i < 3; i++) {
		struct turn_request request;
		assert_accepted(bodies[i], &request);
		assert_int_equal(request.ui_mode, modes[i]);
		assert_true(request.ui_mode_given);
		turn_request_release(&request);
	}
}

static void test_unknown_keys_of_any_type_are_ignored(void **state)
{
	const char *body = "{\"session\":{\"x\":1},\"message\":\"m\",\"stream\":true,"
			   "\"extra\":[1,2,null],\"ui_mode\":\"extraction-jobs\",\"n\":null}";
	struct turn_request request;
	(void)state;

	assert_accepted(body, &request);
	assert_string_equal(request.message, "m");
	assert_int_equal(request.ui_mode, TURN_MODE_EXTRACTION_JOBS);
	turn_request_release(&request);
}

static void test_null_workload_token_is_read_as_absent(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted("{\"message\":\"m\",\"workload_token\":null}", &request);
	assert_null(request.workload_token);
	turn_request_release(&request);
}

static void test_empty_workload_token_is_kept_for_the_jwt_check_to_refuse(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted("{\"message\":\"m\",\"workload_token\":\"\"}", &request);
	assert_non_null(request.workload_token);
	assert_string_equal(request.workload_token, "");
	turn_request_release(&request);
}

static void test_unicode_and_escapes_in_the_message_are_decoded(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted("{\"message\":\"caf\\u00e9 \xe2\x9c\x93\\nline \\\"two\\\"\"}", &request);
	assert_string_equal(request.message, "caf\xc3\xa9 \xe2\x9c\x93\nline \"two\"");
	turn_request_release(&request);
}

static void test_white_space_around_the_body_is_accepted(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted(" \r\n\t{\"message\":\"m\"}\r\n ", &request);
	assert_string_equal(request.message, "m");
	turn_request_release(&request);
}

static void test_body_is_read_to_its_length_not_to_a_nul(void **state)
{
	const char body[] = "{\"message\":\"m\"}garbage after the body";
	struct turn_request request;
	char error[128];
	(void)state;

	assert_int_equal(turn_request_parse(body, 15, &request, error, sizeof(error)), 0);
	assert_string_equal(request.message, "m");
	turn_request_release(&request);
	assert_int_equal(turn_request_parse(body, 16, &request, error, sizeof(error)), -EINVAL);
	assert_string_equal(error, "body: not valid JSON (line 1, column 16)");
}

static char *body_of_length(size_t length)
{
	/* {"message":"xxx...x"} */
	const size_t overhead = strlen("{\"message\":\"\"}");
	char *body = malloc(length + 1);

	assert_non_null(body);
	assert_true(length > overhead);
	memcpy(body, "{\"message\":\"", 12);
	memset(body + 12, 'x', length - overhead);
	memcpy(body + length - 2, "\"}", 3);
	return body;
}

static void test_body_of_exactly_one_mib_is_accepted(void **state)
{
	char *body = body_of_length(TURN_MAX_BODY_LENGTH);
	struct turn_request request;
	char error[128];
	(void)state;

	assert_int_equal(turn_request_parse(body, TURN_MAX_BODY_LENGTH, &request, error,
					    sizeof(error)), 0);
	assert_int_equal(strlen(request.message), TURN_MAX_BODY_LENGTH - 14);
	turn_request_release(&request);
	free(body);
}

static void test_body_over_one_mib_is_refused_with_e2big(void **state)
{
	char *body = body_of_length(TURN_MAX_BODY_LENGTH + 1);
	(void)state;

	assert_refused(body, TURN_MAX_BODY_LENGTH + 1, E2BIG, "body: must be at most 1048576 bytes");
	free(body);
}

/* ------------------------------------------------------------ parse: body refused */

static void test_body_that_is_not_json_is_refused_with_its_position(void **state)
{
	(void)state;
	assert_text_refused("{\"message\": }", "body: not valid JSON (line 1, column 13)");
	assert_text_refused("{\n  \"message\": nope\n}", "body: not valid JSON (line 2, column 17)");
	assert_text_refused("{\"message\":\"m\"", "body: not valid JSON (line 1, column 14)");
	assert_text_refused("{'message':'m'}", "body: not valid JSON (line 1, column 2)");
}

static void test_empty_body_is_refused_as_not_json(void **state)
{
	(void)state;
	assert_refused("", 0, EINVAL, "body: not valid JSON (line 1, column 0)");
	assert_refused(NULL, 0, EINVAL, "body: not valid JSON (line 1, column 0)");
	assert_text_refused("  \n", "body: not valid JSON (line 2, column 0)");
}

static void test_trailing_garbage_after_the_object_is_refused(void **state)
{
	(void)state;
	assert_text_refused("{\"message\":\"m\"} x", "body: not valid JSON (line 1, column 17)");
	assert_text_refused("{\"message\":\"m\"}{\"message\":\"n\"}",
			    "body: not valid JSON (line 1, column 16)");
}

static void test_body_that_is_not_an_object_is_refused(void **state)
{
	const char *bodies[] = { "[{\"message\":\"m\"}]", "\"message\"", "42", "true", "null", "[]" };
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_text_refused(bodies[i], "body: must be a JSON object");
}

static void test_duplicate_keys_are_refused(void **state)
{
	(void)state;
	assert_text_refused("{\"message\":\"a\",\"message\":\"b\"}",
			    "body: duplicate key (line 1, column 24)");
	/* Even an ignored key, and inside a nested object. */
	assert_text_refused("{\"message\":\"a\",\"x\":1,\"x\":2}",
			    "body: duplicate key (line 1, column 24)");
	assert_text_refused("{\"message\":\"a\",\"agent_configuration\":{\"k\":1,\"k\":1}}",
			    "body: duplicate key (line 1, column 47)");
}

static void test_invalid_utf8_is_refused(void **state)
{
	(void)state;
	assert_text_refused("{\"message\":\"\xff\"}", "body: not valid UTF-8 (line 1, column 12)");
	/* A UTF-16 surrogate encoded as UTF-8 (CESU-8) is not UTF-8. */
	assert_text_refused("{\"message\":\"\xed\xa0\x80\"}",
			    "body: not valid UTF-8 (line 1, column 12)");
	/* An overlong encoding of '/'. */
	assert_text_refused("{\"message\":\"\xc0\xaf\"}",
			    "body: not valid UTF-8 (line 1, column 12)");
}

static void test_nul_in_a_string_is_refused(void **state)
{
	const char raw[] = "{\"message\":\"a\0b\"}";
	(void)state;

	assert_text_refused("{\"message\":\"a\\u0000b\"}",
			    "body: \\u0000 in a string is not supported (line 1, column 21)");
	assert_refused(raw, sizeof(raw) - 1, EINVAL, "body: not valid JSON (line 1, column 13)");
}

static void test_numbers_jansson_cannot_hold_are_refused(void **state)
{
	(void)state;
	assert_text_refused("{\"message\":\"m\",\"agent_configuration\":{\"n\":1e999}}",
			    "body: number out of range (line 1, column 47)");
	assert_text_refused("{\"message\":\"m\",\"n\":99999999999999999999}",
			    "body: number out of range (line 1, column 39)");
}

static void test_deep_nesting_is_refused(void **state)
{
	size_t depth = 5000;
	char *body = malloc(2 * depth + 64);
	size_t length = 0;
	char error[128];
	struct turn_request request;
	(void)state;

	assert_non_null(body);
	length += (size_t)sprintf(body, "{\"message\":\"m\",\"x\":");
	memset(body + length, '[', depth);
	length += depth;
	memset(body + length, ']', depth);
	length += depth;
	body[length++] = '}';
	assert_int_equal(turn_request_parse(body, length, &request, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "body: nested too deeply (line 1, column "));
	free(body);
}

/* ------------------------------------------------------------ parse: fields refused */

static void test_missing_or_empty_message_is_refused(void **state)
{
	const char *bodies[] = {
		"{}",
		"{\"ui_mode\":\"extraction-jobs\"}",
		"{\"message\":\"\"}",
		"{\"message\":null}",
		"{\"message\":42}",
		"{\"message\":[\"m\"]}",
		"{\"message\":{\"text\":\"m\"}}",
		"{\"message\":true}",
		"{\"Message\":\"m\"}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_text_refused(bodies[i], "message: must be a non-empty string");
}

static void test_message_of_white_space_is_a_non_empty_string(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted("{\"message\":\" \"}", &request);
	assert_string_equal(request.message, " ");
	turn_request_release(&request);
}

static void test_unknown_or_mistyped_ui_mode_is_refused(void **state)
{
	const char *bodies[] = {
		"{\"message\":\"m\",\"ui_mode\":\"\"}",
		"{\"message\":\"m\",\"ui_mode\":\"Extraction-Jobs\"}",
		"{\"message\":\"m\",\"ui_mode\":\"extraction-job\"}",
		"{\"message\":\"m\",\"ui_mode\":\"initial-schema-design \"}",
		"{\"message\":\"m\",\"ui_mode\":null}",
		"{\"message\":\"m\",\"ui_mode\":1}",
		"{\"message\":\"m\",\"ui_mode\":[\"extraction-jobs\"]}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_text_refused(bodies[i], ui_mode_error);
}

static void test_agent_configuration_that_is_not_an_object_is_refused(void **state)
{
	const char *bodies[] = {
		"{\"message\":\"m\",\"agent_configuration\":[]}",
		"{\"message\":\"m\",\"agent_configuration\":\"{}\"}",
		"{\"message\":\"m\",\"agent_configuration\":null}",
		"{\"message\":\"m\",\"agent_configuration\":0}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_text_refused(bodies[i], "agent_configuration: must be an object");
}

static void test_message_history_that_is_not_an_array_is_refused(void **state)
{
	const char *bodies[] = {
		"{\"message\":\"m\",\"message_history\":{}}",
		"{\"message\":\"m\",\"message_history\":\"[]\"}",
		"{\"message\":\"m\",\"message_history\":null}",
		"{\"message\":\"m\",\"message_history\":false}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_text_refused(bodies[i], "message_history: must be an array");
}

static void test_workload_token_that_is_not_a_string_is_refused(void **state)
{
	const char *bodies[] = {
		"{\"message\":\"m\",\"workload_token\":1}",
		"{\"message\":\"m\",\"workload_token\":true}",
		"{\"message\":\"m\",\"workload_token\":[\"" SECRET_TOKEN "\"]}",
		"{\"message\":\"m\",\"workload_token\":{\"jwt\":\"" SECRET_TOKEN "\"}}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_text_refused(bodies[i], "workload_token: must be a string");
}

static void test_first_wrong_field_in_contract_order_is_named(void **state)
{
	(void)state;
	assert_text_refused("{\"message_history\":{},\"agent_configuration\":[],\"ui_mode\":\"x\","
			    "\"message\":\"m\"}",
			    ui_mode_error);
	assert_text_refused("{\"workload_token\":5,\"message_history\":{},\"message\":\"m\"}",
			    "message_history: must be an array");
}

/* ------------------------------------------------------------ parse: secrecy */

static void assert_error_quotes_nothing_of(const char *body, const char *secret)
{
	struct turn_request request;
	char error[512];

	assert_true(parse_text(body, &request, error, sizeof(error)) < 0);
	if (strstr(error, secret) || strstr(error, "SECRET") || strstr(error, "quarterly"))
		fail_msg("error echoes the input: %s", error);
	assert_null(strchr(error, '\n'));
}

static void test_errors_never_quote_the_token_or_the_message(void **state)
{
	(void)state;
	/* Each of these makes jansson's own error text quote the input. */
	assert_error_quotes_nothing_of("{\"message\":\"m\",\"workload_token\":\"" SECRET_TOKEN
				       "\x01\"}", SECRET_TOKEN);
	assert_error_quotes_nothing_of("{\"message\":\"m\",\"workload_token\":" SECRET_TOKEN "}",
				       "eyJhbGci");
	assert_error_quotes_nothing_of("{\"message\":\"m\",\"workload_token\":\"" SECRET_TOKEN
				       "\",\"workload_token\":\"" SECRET_TOKEN "\"}",
				       SECRET_TOKEN);
	assert_error_quotes_nothing_of("{\"message\":\"" PRIVATE_WORDS "\\u0000\"}", PRIVATE_WORDS);
	assert_error_quotes_nothing_of("{\"message\":\"" PRIVATE_WORDS "\",\"ui_mode\":\"SECRET\"}",
				       PRIVATE_WORDS);
	assert_error_quotes_nothing_of("{\"message\":\"" PRIVATE_WORDS "\",\"workload_token\":\""
				       SECRET_TOKEN "\",\"message_history\":\"x\"}",
				       SECRET_TOKEN);
}

static void test_error_is_truncated_to_its_buffer(void **state)
{
	struct turn_request request;
	char error[8];
	(void)state;

	memset(error, 'z', sizeof(error));
	assert_int_equal(parse_text("{}", &request, error, sizeof(error)), -EINVAL);
	assert_string_equal(error, "message");
}

static void test_error_buffer_may_be_null(void **state)
{
	struct turn_request request;
	(void)state;

	assert_int_equal(turn_request_parse("{}", 2, &request, NULL, 0), -EINVAL);
	assert_int_equal(turn_request_parse("{\"message\":\"m\"}", 15, &request, NULL, 0), 0);
	turn_request_release(&request);
}

static void test_release_zeroes_and_may_be_repeated(void **state)
{
	struct turn_request request;
	(void)state;

	assert_accepted("{\"message\":\"m\",\"workload_token\":\"" SECRET_TOKEN "\"}", &request);
	turn_request_release(&request);
	assert_null(request.message);
	assert_null(request.workload_token);
	assert_null(request.agent_configuration);
	assert_null(request.message_history);
	turn_request_release(&request);
	turn_request_release(NULL);
}

/* ------------------------------------------------------------ executor input */

static json_t *load_line(const char *text, size_t length)
{
	json_error_t json_error;
	json_t *value;

	assert_true(length > 0);
	assert_int_equal(text[length - 1], '\n');
	assert_int_equal(strlen(text), length);
	/* Exactly one line: the only newline is the last byte. */
	assert_ptr_equal(strchr(text, '\n'), text + length - 1);
	value = json_loadb(text, length - 1, JSON_REJECT_DUPLICATES, &json_error);
	if (!value)
		fail_msg("not JSON: %s", json_error.text);
	return value;
}

static const char *object_string(const json_t *object, const char *key)
{
	json_t *value = json_object_get(object, key);

	if (!json_is_string(value))
		fail_msg("%s is not a string", key);
	return json_string_value(value);
}

static void test_executor_input_is_one_line_with_request_and_session(void **state)
{
	const char *body = "{\"message\":\"two\\nlines \\\"quoted\\\" caf\\u00e9\","
			   "\"ui_mode\":\"extraction-jobs\","
			   "\"agent_configuration\":{\"model\":\"opus\",\"nested\":{\"a\":[1,2.5]}},"
			   "\"message_history\":[{\"role\":\"assistant\",\"content\":\"x\\ny\"}],"
			   "\"workload_token\":\"" SECRET_TOKEN "\",\"ignored\":1}";
	const struct turn_session session = {
		.session_id = "sess-7f3a",
		.tenant_id = "tenant-acme",
		.knowledge_graph_id = "kg-0042",
		.user_id = "user-9",
		.workspace = "/workspace",
	};
	struct turn_request request;
	size_t length = 0;
	char *text;
	json_t *input, *session_object;
	(void)state;

	assert_accepted(body, &request);
	text = turn_executor_input(&request, &session, &length);
	assert_non_null(text);
	input = load_line(text, length);

	assert_int_equal(json_object_size(input), 6);
	assert_string_equal(object_string(input, "message"), "two\nlines \"quoted\" caf\xc3\xa9");
	assert_string_equal(object_string(input, "ui_mode"), "extraction-jobs");
	assert_true(json_equal(json_object_get(input, "agent_configuration"),
			       request.agent_configuration));
	assert_true(json_equal(json_object_get(input, "message_history"), request.message_history));
	assert_string_equal(object_string(input, "workload_token"), SECRET_TOKEN);
	assert_null(json_object_get(input, "ignored"));

	session_object = json_object_get(input, "session");
	assert_true(json_is_object(session_object));
	assert_int_equal(json_object_size(session_object), 6);
	assert_string_equal(object_string(session_object, "session_id"), "sess-7f3a");
	assert_string_equal(object_string(session_object, "tenant_id"), "tenant-acme");
	assert_string_equal(object_string(session_object, "knowledge_graph_id"), "kg-0042");
	assert_string_equal(object_string(session_object, "user_id"), "user-9");
	assert_string_equal(object_string(session_object, "ui_mode"), "extraction-jobs");
	assert_string_equal(object_string(session_object, "workspace"), "/workspace");

	json_decref(input);
	explicit_bzero(text, length);
	free(text);
	turn_request_release(&request);
}

static void test_executor_input_has_null_for_unset_identity_and_absent_token(void **state)
{
	const struct turn_session session = { .session_id = "sess-7f3a", .workspace = "/w" };
	const char *unset[] = { "tenant_id", "knowledge_graph_id", "user_id" };
	struct turn_request request;
	size_t length;
	char *text;
	json_t *input, *session_object;
	(void)state;

	assert_accepted("{\"message\":\"m\"}", &request);
	text = turn_executor_input(&request, &session, &length);
	assert_non_null(text);
	input = load_line(text, length);
	assert_true(json_is_null(json_object_get(input, "workload_token")));
	assert_string_equal(object_string(input, "ui_mode"), "initial-schema-design");
	assert_true(json_is_object(json_object_get(input, "agent_configuration")));
	assert_true(json_is_array(json_object_get(input, "message_history")));
	session_object = json_object_get(input, "session");
	assert_string_equal(object_string(session_object, "session_id"), "sess-7f3a");
	assert_string_equal(object_string(session_object, "workspace"), "/w");
	assert_string_equal(object_string(session_object, "ui_mode"), "initial-schema-design");
	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++) {
		json_t *value = json_object_get(session_object, unset[i]);
		assert_non_null(value);
		assert_true(json_is_null(value));
	}
	json_decref(input);
	free(text);
	turn_request_release(&request);
}

static void test_executor_input_without_a_session_has_every_identity_null(void **state)
{
	const char *keys[] = { "session_id", "tenant_id", "knowledge_graph_id", "user_id",
			       "workspace" };
	struct turn_request request;
	size_t length;
	char *text;
	json_t *input, *session_object;
	(void)state;

	assert_accepted("{\"message\":\"m\",\"ui_mode\":\"one-off-mutations\"}", &request);
	text = turn_executor_input(&request, NULL, &length);
	assert_non_null(text);
	input = load_line(text, length);
	session_object = json_object_get(input, "session");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_true(json_is_null(json_object_get(session_object, keys[i])));
	assert_string_equal(object_string(session_object, "ui_mode"), "one-off-mutations");
	json_decref(input);
	free(text);
	turn_request_release(&request);
}

static void test_executor_input_with_identity_not_utf8_is_null(void **state)
{
	const struct turn_session session = { .session_id = "sess-\xff" };
	struct turn_request request;
	size_t length;
	(void)state;

	assert_accepted("{\"message\":\"m\"}", &request);
	assert_null(turn_executor_input(&request, &session, &length));
	turn_request_release(&request);
}

/* ------------------------------------------------------------ line check */

static int check_text(const char *line, bool *is_done)
{
	return turn_line_check(line, strlen(line), is_done);
}

static void test_line_with_one_object_is_accepted_and_not_done(void **state)
{
	const char *lines[] = {
		"{}",
		"{\"type\":\"thinking\",\"text\":\"hm\"}",
		"{\"type\":\"message\",\"text\":\"caf\xc3\xa9 \xe2\x9c\x93\"}",
		"{\"no_type\":true}",
		"{\"type\":42}",
		"{\"type\":\"Done\",\"ok\":true}",
		"{\"type\":\"done \",\"ok\":true}",
		"{\"text\":\"a\\u0000b\"}",
		"  {\"type\":\"wait\"}  \r",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		bool is_done = true;
		if (check_text(lines[i], &is_done) != 0)
			fail_msg("refused %s", lines[i]);
		assert_false(is_done);
	}
}

static void test_done_line_with_boolean_ok_is_done(void **state)
{
	const char *lines[] = {
		"{\"type\":\"done\",\"ok\":true}",
		"{\"ok\":false,\"type\":\"done\",\"code\":\"X\",\"message\":\"y\"}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		bool is_done = false;
		assert_int_equal(check_text(lines[i], &is_done), 0);
		assert_true(is_done);
	}
}

static void test_done_line_without_boolean_ok_is_refused(void **state)
{
	const char *lines[] = {
		"{\"type\":\"done\"}",
		"{\"type\":\"done\",\"ok\":1}",
		"{\"type\":\"done\",\"ok\":\"true\"}",
		"{\"type\":\"done\",\"ok\":null}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		bool is_done = true;
		assert_int_equal(check_text(lines[i], &is_done), -EINVAL);
		assert_false(is_done);
	}
}

static void test_type_done_followed_by_nul_is_not_done(void **state)
{
	bool is_done = true;
	(void)state;

	assert_int_equal(check_text("{\"type\":\"done\\u0000\",\"ok\":true}", &is_done), 0);
	assert_false(is_done);
}

static void test_line_that_is_not_one_object_is_refused(void **state)
{
	const char *lines[] = {
		"",
		" ",
		"[]",
		"[{\"type\":\"done\",\"ok\":true}]",
		"42",
		"\"done\"",
		"true",
		"null",
		"{\"type\":\"thinking\"}{\"type\":\"done\",\"ok\":true}",
		"{\"type\":\"thinking\"} {\"type\":\"thinking\"}",
		"{\"type\":\"thinking\"} x",
		"{\"type\":\"thinking\"},",
		"{\"type\":\"thinking\"",
		"not json at all",
		"{\"text\":\"\xff\"}",
		"{\"text\":\"\xed\xa0\x80\"}",
		"{\"text\":\"\\ud800\"}",
		"{\"type\":\"done\",\"ok\":true,\"type\":\"thinking\"}",
		"{\"type\":\"thinking\",\"type\":\"done\",\"ok\":true}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		bool is_done = true;
		if (check_text(lines[i], &is_done) != -EINVAL)
			fail_msg("accepted %s", lines[i]);
		assert_false(is_done);
	}
}

static void test_line_is_read_to_its_length_not_to_a_nul(void **state)
{
	const char line[] = "{\"type\":\"done\",\"ok\":true}\0{\"type\":\"thinking\"}";
	const char raw_nul[] = "{\"text\":\"a\0b\"}";
	bool is_done = false;
	(void)state;

	assert_int_equal(turn_line_check(line, 25, &is_done), 0);
	assert_true(is_done);
	assert_int_equal(turn_line_check(line, sizeof(line) - 1, &is_done), -EINVAL);
	assert_false(is_done);
	assert_int_equal(turn_line_check(raw_nul, sizeof(raw_nul) - 1, &is_done), -EINVAL);
}

static char *event_of_length(size_t length)
{
	/* {"t":"xxx...x"} */
	char *line = malloc(length + 1);

	assert_non_null(line);
	memcpy(line, "{\"t\":\"", 6);
	memset(line + 6, 'x', length - 8);
	memcpy(line + length - 2, "\"}", 3);
	return line;
}

static void test_line_of_the_maximum_length_is_accepted(void **state)
{
	char *line = event_of_length(TURN_MAX_LINE_LENGTH);
	bool is_done;
	(void)state;

	assert_int_equal(turn_line_check(line, TURN_MAX_LINE_LENGTH, &is_done), 0);
	free(line);
}

static void test_line_over_the_maximum_length_is_refused(void **state)
{
	char *line = event_of_length(TURN_MAX_LINE_LENGTH + 1);
	bool is_done = true;
	(void)state;

	assert_int_equal(turn_line_check(line, TURN_MAX_LINE_LENGTH + 1, &is_done), -EINVAL);
	assert_false(is_done);
	free(line);
}

/* ------------------------------------------------------------ done and error bodies */

static void test_done_line_is_exactly_the_contract_shape(void **state)
{
	size_t length = 0;
	char *line = turn_done_line("AGENT_TURN_TIMEOUT", "turn timed out after 1000 s", &length);
	(void)state;

	assert_non_null(line);
	assert_string_equal(line, "{\"type\":\"done\",\"ok\":false,\"code\":\"AGENT_TURN_TIMEOUT\","
				  "\"message\":\"turn timed out after 1000 s\"}\n");
	assert_int_equal(length, strlen(line));
	free(line);
}

static void test_done_line_round_trips_and_passes_the_line_check(void **state)
{
	const char *message = "executor wrote \"{oops\"\nthen exited: caf\xc3\xa9";
	size_t length = 0;
	char *line = turn_done_line("AGENT_RUNTIME_INTERNAL_ERROR", message, &length);
	bool is_done = false;
	json_t *done;
	(void)state;

	assert_non_null(line);
	done = load_line(line, length);
	assert_int_equal(json_object_size(done), 4);
	assert_string_equal(object_string(done, "type"), "done");
	assert_true(json_is_false(json_object_get(done, "ok")));
	assert_string_equal(object_string(done, "code"), "AGENT_RUNTIME_INTERNAL_ERROR");
	assert_string_equal(object_string(done, "message"), message);
	assert_int_equal(turn_line_check(line, length - 1, &is_done), 0);
	assert_true(is_done);
	json_decref(done);
	free(line);
}

static void test_done_line_without_a_message_has_no_message_key(void **state)
{
	size_t length = 0;
	char *line = turn_done_line("AGENT_TURN_TIMEOUT", NULL, &length);
	(void)state;

	assert_non_null(line);
	assert_string_equal(line, "{\"type\":\"done\",\"ok\":false,\"code\":\"AGENT_TURN_TIMEOUT\"}\n");
	free(line);
}

static void test_done_line_with_invalid_utf8_or_no_code_is_null(void **state)
{
	size_t length;
	(void)state;

	assert_null(turn_done_line("AGENT_TURN_TIMEOUT", "bad \xff", &length));
	assert_null(turn_done_line(NULL, "message", &length));
}

static void test_error_body_is_exactly_the_fastapi_shape(void **state)
{
	size_t length = 0;
	char *body = turn_error_body("RUNTIME_AUTH_REQUIRED", "missing or wrong runtime token",
				     &length);
	(void)state;

	assert_non_null(body);
	assert_string_equal(body, "{\"detail\":{\"code\":\"RUNTIME_AUTH_REQUIRED\","
				  "\"message\":\"missing or wrong runtime token\"}}");
	assert_int_equal(length, strlen(body));
	free(body);
}

static void test_error_body_round_trips_quotes_and_newlines(void **state)
{
	const char *message = "ui_mode: must be \"one\"\nof\tthree \\ \xe2\x9c\x93";
	size_t length = 0;
	char *body = turn_error_body("VALIDATION_ERROR", message, &length);
	json_t *parsed, *detail;
	(void)state;

	assert_non_null(body);
	assert_null(strchr(body, '\n'));
	parsed = json_loadb(body, length, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(parsed);
	assert_int_equal(json_object_size(parsed), 1);
	detail = json_object_get(parsed, "detail");
	assert_int_equal(json_object_size(detail), 2);
	assert_string_equal(object_string(detail, "code"), "VALIDATION_ERROR");
	assert_string_equal(object_string(detail, "message"), message);
	json_decref(parsed);
	free(body);
}

static void test_error_body_with_invalid_utf8_is_null(void **state)
{
	size_t length;
	(void)state;

	assert_null(turn_error_body("X", "\xc0\xaf", &length));
	assert_null(turn_error_body(NULL, "m", &length));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ui_mode_names_are_the_contract_spellings),
		cmocka_unit_test(test_ui_mode_parse_accepts_each_name_and_round_trips),
		cmocka_unit_test(test_ui_mode_parse_rejects_other_spellings_with_einval),
		cmocka_unit_test(test_body_with_only_a_message_gets_the_defaults),
		cmocka_unit_test(test_body_with_every_field_is_read_exactly),
		cmocka_unit_test(test_each_ui_mode_is_accepted_and_marked_given),
		cmocka_unit_test(test_unknown_keys_of_any_type_are_ignored),
		cmocka_unit_test(test_null_workload_token_is_read_as_absent),
		cmocka_unit_test(test_empty_workload_token_is_kept_for_the_jwt_check_to_refuse),
		cmocka_unit_test(test_unicode_and_escapes_in_the_message_are_decoded),
		cmocka_unit_test(test_white_space_around_the_body_is_accepted),
		cmocka_unit_test(test_body_is_read_to_its_length_not_to_a_nul),
		cmocka_unit_test(test_body_of_exactly_one_mib_is_accepted),
		cmocka_unit_test(test_body_over_one_mib_is_refused_with_e2big),
		cmocka_unit_test(test_body_that_is_not_json_is_refused_with_its_position),
		cmocka_unit_test(test_empty_body_is_refused_as_not_json),
		cmocka_unit_test(test_trailing_garbage_after_the_object_is_refused),
		cmocka_unit_test(test_body_that_is_not_an_object_is_refused),
		cmocka_unit_test(test_duplicate_keys_are_refused),
		cmocka_unit_test(test_invalid_utf8_is_refused),
		cmocka_unit_test(test_nul_in_a_string_is_refused),
		cmocka_unit_test(test_numbers_jansson_cannot_hold_are_refused),
		cmocka_unit_test(test_deep_nesting_is_refused),
		cmocka_unit_test(test_missing_or_empty_message_is_refused),
		cmocka_unit_test(test_message_of_white_space_is_a_non_empty_string),
		cmocka_unit_test(test_unknown_or_mistyped_ui_mode_is_refused),
		cmocka_unit_test(test_agent_configuration_that_is_not_an_object_is_refused),
		cmocka_unit_test(test_message_history_that_is_not_an_array_is_refused),
		cmocka_unit_test(test_workload_token_that_is_not_a_string_is_refused),
		cmocka_unit_test(test_first_wrong_field_in_contract_order_is_named),
		cmocka_unit_test(test_errors_never_quote_the_token_or_the_message),
		cmocka_unit_test(test_error_is_truncated_to_its_buffer),
		cmocka_unit_test(test_error_buffer_may_be_null),
		cmocka_unit_test(test_release_zeroes_and_may_be_repeated),
		cmocka_unit_test(test_executor_input_is_one_line_with_request_and_session),
		cmocka_unit_test(test_executor_input_has_null_for_unset_identity_and_absent_token),
		cmocka_unit_test(test_executor_input_without_a_session_has_every_identity_null),
		cmocka_unit_test(test_executor_input_with_identity_not_utf8_is_null),
		cmocka_unit_test(test_line_with_one_object_is_accepted_and_not_done),
		cmocka_unit_test(test_done_line_with_boolean_ok_is_done),
		cmocka_unit_test(test_done_line_without_boolean_ok_is_refused),
		cmocka_unit_test(test_type_done_followed_by_nul_is_not_done),
		cmocka_unit_test(test_line_that_is_not_one_object_is_refused),
		cmocka_unit_test(test_line_is_read_to_its_length_not_to_a_nul),
		cmocka_unit_test(test_line_of_the_maximum_length_is_accepted),
		cmocka_unit_test(test_line_over_the_maximum_length_is_refused),
		cmocka_unit_test(test_done_line_is_exactly_the_contract_shape),
		cmocka_unit_test(test_done_line_round_trips_and_passes_the_line_check),
		cmocka_unit_test(test_done_line_without_a_message_has_no_message_key),
		cmocka_unit_test(test_done_line_with_invalid_utf8_or_no_code_is_null),
		cmocka_unit_test(test_error_body_is_exactly_the_fastapi_shape),
		cmocka_unit_test(test_error_body_round_trips_quotes_and_newlines),
		cmocka_unit_test(test_error_body_with_invalid_utf8_is_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The child's environment: the allow-list, the deny-list that beats every
 * pattern, the PATH default and a receipt that names variables, never values. */
#include "landlock/environment.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const everything[] = { "*", NULL };

static struct environment_plan build(const char *const *entries, const char *const *patterns)
{
	struct confinement_error error = { "" };
	struct environment_plan plan;
	int rc = environment_build(entries, patterns, &plan, &error);

	if (rc != 0)
		print_message("environment_build: %s\n", error.message);
	assert_int_equal(rc, 0);
	assert_non_null(plan.envp);
	assert_non_null(plan.receipt);
	return plan;
}

/* The value the child would see for name, or NULL when it is not passed. */
static const char *lookup(const struct environment_plan *plan, const char *name)
{
	size_t length = strlen(name);

	for (char **entry = plan->envp; *entry; entry++) {
		if (strncmp(*entry, name, length) == 0 && (*entry)[length] == '=')
			return *entry + length + 1;
	}
	return NULL;
}

static size_t count(const struct environment_plan *plan)
{
	size_t n = 0;

	while (plan->envp[n])
		n++;
	return n;
}

static json_int_t dropped(const struct environment_plan *plan)
{
	return json_integer_value(json_object_get(plan->receipt, "dropped"));
}

static void test_allow_listed_names_pass_with_their_values(void **state)
{
	const char *const entries[] = {
		"PATH=/usr/bin", "HOME=/home/agent", "USER=agent", "LANG=C.UTF-8",
		"LC_ALL=C", "TZ=UTC", "TERM=xterm", "HTTPS_PROXY=http://10.0.0.1:3128",
		"https_proxy=http://10.0.0.1:3128", "no_proxy=localhost",
		"SSL_CERT_FILE=/etc/ssl/ca.pem", "REQUESTS_CA_BUNDLE=/etc/ssl/ca.pem",
		"NODE_EXTRA_CA_CERTS=/etc/ssl/ca.pem", "KARTOGRAPH_SESSION_ID=s-1",
		"KARTOGRAPH_TENANT_ID=t-1", "KARTOGRAPH_KNOWLEDGE_GRAPH_ID=kg-1",
		"KARTOGRAPH_USER_ID=u-1", "KARTOGRAPH_SESSION_MODE=extraction-job",
		"KARTOGRAPH_WORKSPACE_DIR=/workspace",
		"KARTOGRAPH_API_BASE_URL=http://api:8000",
		"KARTOGRAPH_AGENT_TURN_TIMEOUT_SECONDS=1000",
		"ANTHROPIC_API_KEY=openshell:resolve:anthropic", "CLAUDE_CODE_USE_VERTEX=1",
		"CLOUD_ML_REGION=us-east5", "GOOGLE_CLOUD_PROJECT=p", NULL,
	};
	struct environment_plan plan = build(entries, NULL);

	(void)state;
	assert_int_equal(count(&plan), sizeof(entries) / sizeof(entries[0]) - 1);
	assert_string_equal(lookup(&plan, "PATH"), "/usr/bin");
	assert_string_equal(lookup(&plan, "ANTHROPIC_API_KEY"), "openshell:resolve:anthropic");
	assert_string_equal(lookup(&plan, "KARTOGRAPH_AGENT_TURN_TIMEOUT_SECONDS"), "1000");
	assert_int_equal(dropped(&plan), 0);
	assert_null(plan.envp[count(&plan)]);
	environment_release(&plan);
}

static void test_names_outside_the_allow_list_are_dropped(void **state)
{
	const char *const entries[] = {
		"PATH=/bin", "AWS_SECRET_ACCESS_KEY=x", "LD_PRELOAD=/tmp/evil.so",
		"KARTOGRAPH_OTHER=x", "KARTOGRAPH_SESSION_ID_EXTRA=x", "LC=x", "path=/tmp", NULL,
	};
	struct environment_plan plan = build(entries, NULL);

	(void)state;
	assert_int_equal(count(&plan), 1);
	assert_non_null(lookup(&plan, "PATH"));
	assert_null(lookup(&plan, "LD_PRELOAD"));
	assert_int_equal(dropped(&plan), 6);
	environment_release(&plan);
}

static void test_pass_env_pattern_adds_matching_names_only(void **state)
{
	const char *const entries[] = { "MY_TOOL_HOME=/opt", "MY_TOOL_MODE=fast", "OTHER=x", NULL };
	const char *const patterns[] = { "MY_TOOL_*", NULL };
	struct environment_plan plan = build(entries, patterns);

	(void)state;
	assert_string_equal(lookup(&plan, "MY_TOOL_HOME"), "/opt");
	assert_string_equal(lookup(&plan, "MY_TOOL_MODE"), "fast");
	assert_null(lookup(&plan, "OTHER"));
	environment_release(&plan);
}

/* The deny-list is checked before any pattern, in any spelling. */
static void test_secrets_never_pass_even_with_pass_env_star(void **state)
{
	const char *const entries[] = {
		"KARTOGRAPH_RUNTIME_AUTH_TOKEN=t", "KARTOGRAPH_RUNTIME_AUTH_TOKEN_FILE=/run/t",
		"KARTOGRAPH_WORKLOAD_TOKEN=jwt", "KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY=k",
		"KARTOGRAPH_WORKLOAD_TOKEN_ALG=HS256", "MY_SIGNING_KEY_PATH=/k",
		"kartograph_runtime_auth_token=t", "Anthropic_Signing_Key=k",
		"ANTHROPIC_SIGNING_KEY=k", "SANDBOX_INIT_EVENTS_KEY=/etc/key",
		"sandbox_init_grace_seconds=1", "HARMLESS=yes", NULL,
	};
	struct environment_plan plan = build(entries, everything);

	(void)state;
	assert_int_equal(count(&plan), 2);
	assert_string_equal(lookup(&plan, "HARMLESS"), "yes");
	assert_non_null(lookup(&plan, "PATH"));
	assert_int_equal(dropped(&plan), 11);
	environment_release(&plan);
}

static void test_entries_without_a_name_or_equals_sign_are_dropped(void **state)
{
	const char *const entries[] = { "HOME", "=value", "TERM=", "TZ=a=b", NULL };
	struct environment_plan plan = build(entries, everything);

	(void)state;
	assert_null(lookup(&plan, "HOME"));
	assert_string_equal(lookup(&plan, "TERM"), "");
	assert_string_equal(lookup(&plan, "TZ"), "a=b");
	assert_int_equal(dropped(&plan), 2);
	environment_release(&plan);
}

static void test_names_with_control_or_non_ascii_bytes_are_dropped(void **state)
{
	const char *const entries[] = { "BAD\nNAME=x", "CAF\xc3\xa9=x", "GOOD.NAME-1=x", NULL };
	struct environment_plan plan = build(entries, everything);

	(void)state;
	assert_string_equal(lookup(&plan, "GOOD.NAME-1"), "x");
	assert_int_equal(dropped(&plan), 2);
	environment_release(&plan);
}

static void test_first_of_duplicate_names_wins(void **state)
{
	const char *const entries[] = { "HOME=/first", "HOME=/second", NULL };
	struct environment_plan plan = build(entries, NULL);

	(void)state;
	assert_string_equal(lookup(&plan, "HOME"), "/first");
	assert_int_equal(count(&plan), 2);
	assert_int_equal(dropped(&plan), 1);
	environment_release(&plan);
}

static void test_missing_path_gets_the_safe_default(void **state)
{
	const char *const entries[] = { "HOME=/root", NULL };
	struct environment_plan plan = build(entries, NULL);

	(void)state;
	assert_string_equal(lookup(&plan, "PATH"), ENVIRONMENT_DEFAULT_PATH);
	assert_string_equal(json_string_value(json_object_get(plan.receipt, "path")), "default");
	environment_release(&plan);
}

static void test_present_path_is_kept(void **state)
{
	const char *const entries[] = { "PATH=/opt/bin", NULL };
	struct environment_plan plan = build(entries, NULL);

	(void)state;
	assert_string_equal(lookup(&plan, "PATH"), "/opt/bin");
	assert_int_equal(count(&plan), 1);
	assert_string_equal(json_string_value(json_object_get(plan.receipt, "path")), "inherited");
	environment_release(&plan);
}

static void test_empty_or_absent_environment_gets_only_path(void **state)
{
	const char *const empty[] = { NULL };
	struct environment_plan plan = build(empty, NULL);
	struct environment_plan none = build(NULL, NULL);

	(void)state;
	assert_int_equal(count(&plan), 1);
	assert_int_equal(count(&none), 1);
	assert_string_equal(lookup(&none, "PATH"), ENVIRONMENT_DEFAULT_PATH);
	environment_release(&plan);
	environment_release(&none);
}

static void test_receipt_names_passed_variables_and_never_values(void **state)
{
	const char *const entries[] = {
		"ANTHROPIC_API_KEY=sk-ant-very-secret", "KARTOGRAPH_RUNTIME_AUTH_TOKEN=rt-secret",
		"HOME=/home/h", NULL,
	};
	struct environment_plan plan = build(entries, everything);
	char *text = json_dumps(plan.receipt, JSON_COMPACT);

	(void)state;
	assert_non_null(text);
	assert_null(strstr(text, "sk-ant-very-secret"));
	assert_null(strstr(text, "rt-secret"));
	assert_null(strstr(text, "KARTOGRAPH_RUNTIME_AUTH_TOKEN"));
	assert_string_equal(text, "{\"passed\":[\"ANTHROPIC_API_KEY\",\"HOME\",\"PATH\"],"
				  "\"dropped\":1,\"path\":\"default\"}");
	free(text);
	environment_release(&plan);
}

static void test_envp_is_a_copy_independent_of_the_input(void **state)
{
	char home[] = "HOME=/original";
	const char *const entries[] = { home, NULL };
	struct environment_plan plan = build(entries, NULL);

	(void)state;
	memcpy(home, "HOME=/changed!", sizeof(home));
	assert_string_equal(lookup(&plan, "HOME"), "/original");
	environment_release(&plan);
}

static void test_empty_pass_env_pattern_fails_with_einval(void **state)
{
	const char *const patterns[] = { "FOO_*", "", NULL };
	struct confinement_error error = { "" };
	struct environment_plan plan;

	(void)state;
	assert_int_equal(environment_build(NULL, patterns, &plan, &error), -EINVAL);
	assert_non_null(strstr(error.message, "--pass-env pattern \"\": is empty"));
	assert_null(plan.envp);
	assert_null(plan.receipt);
}

static void test_pass_env_pattern_with_equals_sign_fails_with_einval(void **state)
{
	const char *const patterns[] = { "FOO=bar", NULL };
	struct confinement_error error = { "" };
	struct environment_plan plan;

	(void)state;
	assert_int_equal(environment_build(NULL, patterns, &plan, &error), -EINVAL);
	assert_non_null(strstr(error.message, "\"FOO=bar\""));
}

static void test_is_secret_names_the_supervisors_secrets_only(void **state)
{
	(void)state;
	assert_true(environment_is_secret("KARTOGRAPH_RUNTIME_AUTH_TOKEN"));
	assert_true(environment_is_secret("KARTOGRAPH_RUNTIME_AUTH_TOKEN_FILE"));
	assert_true(environment_is_secret("KARTOGRAPH_WORKLOAD_TOKEN"));
	assert_true(environment_is_secret("KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY_FILE"));
	assert_true(environment_is_secret("OTHER_SIGNING_KEY"));
	assert_true(environment_is_secret("kartograph_workload_token"));
	assert_false(environment_is_secret("KARTOGRAPH_SESSION_ID"));
	assert_false(environment_is_secret("ANTHROPIC_API_KEY"));
	assert_false(environment_is_secret("SANDBOX_INIT_LOG_LEVEL"));
	assert_false(environment_is_secret("SIGNING"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_listed_names_pass_with_their_values),
		cmocka_unit_test(test_names_outside_the_allow_list_are_dropped),
		cmocka_unit_test(test_pass_env_pattern_adds_matching_names_only),
		cmocka_unit_test(test_secrets_never_pass_even_with_pass_env_star),
		cmocka_unit_test(test_entries_without_a_name_or_equals_sign_are_dropped),
		cmocka_unit_test(test_names_with_control_or_non_ascii_bytes_are_dropped),
		cmocka_unit_test(test_first_of_duplicate_names_wins),
		cmocka_unit_test(test_missing_path_gets_the_safe_default),
		cmocka_unit_test(test_present_path_is_kept),
		cmocka_unit_test(test_empty_or_absent_environment_gets_only_path),
		cmocka_unit_test(test_receipt_names_passed_variables_and_never_values),
		cmocka_unit_test(test_envp_is_a_copy_independent_of_the_input),
		cmocka_unit_test(test_empty_pass_env_pattern_fails_with_einval),
		cmocka_unit_test(test_pass_env_pattern_with_equals_sign_fails_with_einval),
		cmocka_unit_test(test_is_secret_names_the_supervisors_secrets_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The policy loader: every accepted form, every refused class with its exact
 * message, the fixtures as Kartograph and OpenShell write them, and their
 * round trip through YAML.  Runs from the source root so that messages name
 * "tests/policies/...". */
#include "landlock/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define FIXTURES "tests/policies/"
#define INVALID FIXTURES "invalid/"

static const char *const mode_fixtures[] = {
	"gma-initial-schema-design", "gma-extraction-jobs", "gma-one-off-mutations",
	"gma-sticky-base",           "extraction-job",
};

static const char *const sandbox_fixtures[] = {
	FIXTURES "openshell/default.yaml",
	FIXTURES "openshell/identity-network.yaml",
};

/* ---- helpers ------------------------------------------------------------ */

static int parse_sandbox(const char *text, struct sandbox_policy *policy,
			 struct confinement_error *error)
{
	return policy_parse_sandbox("<inline>", text, strlen(text), policy, error);
}

static int parse_mode(const char *text, struct mode_policy *policy,
		      struct confinement_error *error)
{
	return policy_parse_mode("<inline>", text, strlen(text), policy, error);
}

static bool is_zeroed(const void *data, size_t size)
{
	const unsigned char *bytes = data;

	for (size_t i = 0; i < size; i++)
		if (bytes[i])
			return false;
	return true;
}

static void assert_sandbox_accepted(const char *text)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;
	int ret = parse_sandbox(text, &policy, &error);

	if (ret != 0)
		fail_msg("refused (%d): %s", ret, error.message);
	sandbox_policy_release(&policy);
}

static void assert_sandbox_refused(const char *text, const char *message)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	assert_int_equal(parse_sandbox(text, &policy, &error), -EINVAL);
	assert_string_equal(error.message, message);
	assert_true(is_zeroed(&policy, sizeof(policy)));
}

static void assert_mode_accepted(const char *text)
{
	struct confinement_error error = { { 0 } };
	struct mode_policy policy;
	int ret = parse_mode(text, &policy, &error);

	if (ret != 0)
		fail_msg("refused (%d): %s", ret, error.message);
	mode_policy_release(&policy);
}

static void assert_mode_refused(const char *text, const char *message)
{
	struct confinement_error error = { { 0 } };
	struct mode_policy policy;

	assert_int_equal(parse_mode(text, &policy, &error), -EINVAL);
	assert_string_equal(error.message, message);
	assert_true(is_zeroed(&policy, sizeof(policy)));
}

static void assert_sandbox_file_refused(const char *path, const char *message)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	assert_int_equal(policy_load_sandbox(path, &policy, &error), -EINVAL);
	assert_string_equal(error.message, message);
	assert_true(is_zeroed(&policy, sizeof(policy)));
}

static void assert_mode_file_refused(const char *path, const char *message)
{
	struct confinement_error error = { { 0 } };
	struct mode_policy policy;

	assert_int_equal(policy_load_mode(path, &policy, &error), -EINVAL);
	assert_string_equal(error.message, message);
	assert_true(is_zeroed(&policy, sizeof(policy)));
}

static void load_sandbox(const char *path, struct sandbox_policy *policy)
{
	struct confinement_error error = { { 0 } };
	int ret = policy_load_sandbox(path, policy, &error);

	if (ret != 0)
		fail_msg("%s refused (%d): %s", path, ret, error.message);
}

static void load_mode(const char *name, struct mode_policy *policy)
{
	struct confinement_error error = { { 0 } };
	char path[PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), FIXTURES "kartograph/%s.yaml", name);
	ret = policy_load_mode(path, policy, &error);
	if (ret != 0)
		fail_msg("%s refused (%d): %s", path, ret, error.message);
}

static void assert_strings(char **actual, size_t count, const char *const *expected,
			   size_t expected_count)
{
	assert_int_equal(count, expected_count);
	for (size_t i = 0; i < count; i++)
		assert_string_equal(actual[i], expected[i]);
}

#define ASSERT_STRINGS(actual, count, ...)                                                  \
	do {                                                                                \
		static const char *const expected_[] = { __VA_ARGS__ };                     \
		assert_strings(actual, count, expected_,                                    \
			       sizeof(expected_) / sizeof(expected_[0]));                   \
	} while (0)

static void assert_endpoint(const struct mode_endpoint *endpoint, const char *host,
			    uint16_t port, const char *access)
{
	assert_string_equal(endpoint->host, host);
	assert_int_equal(endpoint->port, port);
	assert_string_equal(endpoint->access, access);
}

/* ---- Kartograph mode fixtures ------------------------------------------- */

static void test_kartograph_mode_fixtures_load_as_best_effort_with_api_and_inference(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mode_fixtures) / sizeof(mode_fixtures[0]); i++) {
		struct mode_policy policy;

		load_mode(mode_fixtures[i], &policy);
		assert_string_equal(policy.name, mode_fixtures[i]);
		assert_int_equal(policy.enforcement, ENFORCEMENT_BEST_EFFORT);
		assert_non_null(policy.description);
		assert_true(policy.endpoint_count >= 5);
		assert_endpoint(&policy.endpoints[0], "api", 8000, "read-write");
		assert_endpoint(&policy.endpoints[1], "inference.local", 443, "read-write");
		assert_true(policy.l7_allowed_path_count >= 1);
		mode_policy_release(&policy);
	}
}

static void test_extraction_job_fixture_reaches_github_pypi_and_anthropic(void **state)
{
	struct mode_policy policy;

	(void)state;
	load_mode("extraction-job", &policy);
	assert_string_equal(policy.description,
			    "Network policy for batch extraction jobs executed in OpenShell sandboxes.");
	assert_int_equal(policy.endpoint_count, 10);
	assert_endpoint(&policy.endpoints[2], "github.com", 443, "full");
	assert_endpoint(&policy.endpoints[3], "*.github.com", 443, "full");
	assert_endpoint(&policy.endpoints[4], "pypi.org", 443, "read-only");
	assert_endpoint(&policy.endpoints[5], "files.pythonhosted.org", 443, "read-only");
	assert_endpoint(&policy.endpoints[6], "aiplatform.googleapis.com", 443, "read-write");
	assert_endpoint(&policy.endpoints[7], "*.aiplatform.googleapis.com", 443, "read-write");
	assert_endpoint(&policy.endpoints[8], "oauth2.googleapis.com", 443, "read-write");
	assert_endpoint(&policy.endpoints[9], "api.anthropic.com", 443, "read-write");
	ASSERT_STRINGS(policy.l7_allowed_paths, policy.l7_allowed_path_count,
		       "/extraction/workloads/*");
	mode_policy_release(&policy);
}

static void test_gma_mode_fixtures_carry_their_own_l7_paths(void **state)
{
	struct mode_policy policy;

	(void)state;
	load_mode("gma-initial-schema-design", &policy);
	ASSERT_STRINGS(policy.l7_allowed_paths, policy.l7_allowed_path_count,
		       "/extraction/workloads/schema/*", "/extraction/workloads/graph/*");
	mode_policy_release(&policy);
	load_mode("gma-extraction-jobs", &policy);
	ASSERT_STRINGS(policy.l7_allowed_paths, policy.l7_allowed_path_count,
		       "/extraction/workloads/jobs/*", "/extraction/workloads/schema/*",
		       "/extraction/workloads/graph/*");
	mode_policy_release(&policy);
	load_mode("gma-one-off-mutations", &policy);
	ASSERT_STRINGS(policy.l7_allowed_paths, policy.l7_allowed_path_count,
		       "/extraction/workloads/mutations/*", "/extraction/workloads/graph/*");
	mode_policy_release(&policy);
	load_mode("gma-sticky-base", &policy);
	ASSERT_STRINGS(policy.l7_allowed_paths, policy.l7_allowed_path_count,
		       "/extraction/workloads/*");
	assert_int_equal(policy.endpoint_count, 5);
	assert_endpoint(&policy.endpoints[3], "*.aiplatform.googleapis.com", 443, "read-write");
	mode_policy_release(&policy);
}

/* ---- OpenShell sandbox fixtures ----------------------------------------- */

static void test_openshell_default_fixture_reads_system_paths_and_writes_tmp(void **state)
{
	struct sandbox_policy policy;

	(void)state;
	load_sandbox(FIXTURES "openshell/default.yaml", &policy);
	assert_true(policy.include_workdir);
	ASSERT_STRINGS(policy.read_only, policy.read_only_count, "/usr", "/lib", "/lib64", "/bin",
		       "/sbin", "/etc", "/app", "/proc", "/dev/urandom", "/var/log");
	ASSERT_STRINGS(policy.read_write, policy.read_write_count, "/tmp", "/dev/null");
	assert_int_equal(policy.compatibility, ENFORCEMENT_BEST_EFFORT);
	assert_null(policy.run_as_user);
	assert_null(policy.run_as_group);
	assert_int_equal(policy.connect_port_count, 0);
	assert_null(policy.connect_ports);
	sandbox_policy_release(&policy);
}

static void test_openshell_identity_fixture_extracts_identity_and_sorted_unique_ports(void **state)
{
	static const uint16_t ports[] = { 443, 5432, 8000, 8443 };
	struct sandbox_policy policy;

	(void)state;
	load_sandbox(FIXTURES "openshell/identity-network.yaml", &policy);
	assert_true(policy.include_workdir);
	ASSERT_STRINGS(policy.read_only, policy.read_only_count, "/usr", "/lib", "/lib64", "/bin",
		       "/etc", "/app", "/proc", "/dev/urandom");
	ASSERT_STRINGS(policy.read_write, policy.read_write_count, "/sandbox", "/tmp",
		       "/dev/null");
	assert_int_equal(policy.compatibility, ENFORCEMENT_HARD_REQUIREMENT);
	assert_string_equal(policy.run_as_user, "sandbox");
	assert_string_equal(policy.run_as_group, "1500");
	assert_int_equal(policy.connect_port_count, 4);
	assert_memory_equal(policy.connect_ports, ports, sizeof(ports));
	sandbox_policy_release(&policy);
}

/* ---- round trips -------------------------------------------------------- */

static void emit_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (; *text; text++) {
		unsigned char c = (unsigned char)*text;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void emit_string_list(FILE *out, const char *key, char **items, size_t count)
{
	fprintf(out, "%s:\n", key);
	for (size_t i = 0; i < count; i++) {
		fputs("  - ", out);
		emit_string(out, items[i]);
		fputc('\n', out);
	}
	if (count == 0)
		fputs("  []\n", out);
}

static const char *enforcement_name(enum enforcement enforcement)
{
	return enforcement == ENFORCEMENT_HARD_REQUIREMENT ? "hard_requirement" : "best_effort";
}

static char *emit_sandbox(const struct sandbox_policy *policy)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_non_null(out);
	fputs("version: 1\nfilesystem_policy:\n", out);
	fprintf(out, "  include_workdir: %s\n", policy->include_workdir ? "true" : "false");
	fputs("  read_only: [", out);
	for (size_t i = 0; i < policy->read_only_count; i++) {
		fputs(i ? ", " : "", out);
		emit_string(out, policy->read_only[i]);
	}
	fputs("]\n  read_write: [", out);
	for (size_t i = 0; i < policy->read_write_count; i++) {
		fputs(i ? ", " : "", out);
		emit_string(out, policy->read_write[i]);
	}
	fputs("]\n", out);
	if (policy->compatibility != ENFORCEMENT_UNSET)
		fprintf(out, "landlock: {compatibility: %s}\n",
			enforcement_name(policy->compatibility));
	if (policy->run_as_user || policy->run_as_group)
		fputs("process:\n", out);
	if (policy->run_as_user) {
		fputs("  run_as_user: ", out);
		emit_string(out, policy->run_as_user);
		fputc('\n', out);
	}
	if (policy->run_as_group) {
		fputs("  run_as_group: ", out);
		emit_string(out, policy->run_as_group);
		fputc('\n', out);
	}
	if (policy->connect_port_count) {
		fputs("network_policies:\n  allowed:\n    endpoints:\n      - host: any\n"
		      "        ports: [", out);
		for (size_t i = 0; i < policy->connect_port_count; i++)
			fprintf(out, "%s%u", i ? ", " : "", policy->connect_ports[i]);
		fputs("]\n", out);
	}
	fclose(out);
	return text;
}

static char *emit_mode(const struct mode_policy *policy)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	assert_non_null(out);
	fputs("version: 1\n", out);
	if (policy->name) {
		fputs("name: ", out);
		emit_string(out, policy->name);
		fputc('\n', out);
	}
	if (policy->enforcement != ENFORCEMENT_UNSET)
		fprintf(out, "enforcement: %s\n", enforcement_name(policy->enforcement));
	if (policy->description) {
		fputs("description: ", out);
		emit_string(out, policy->description);
		fputc('\n', out);
	}
	fputs("endpoints:\n", out);
	for (size_t i = 0; i < policy->endpoint_count; i++)
		fprintf(out, "  - \"%s:%u:%s\"\n", policy->endpoints[i].host,
			policy->endpoints[i].port, policy->endpoints[i].access);
	if (policy->endpoint_count == 0)
		fputs("  []\n", out);
	emit_string_list(out, "l7_allowed_paths", policy->l7_allowed_paths,
			 policy->l7_allowed_path_count);
	fclose(out);
	return text;
}

static void assert_same_strings(char **a, size_t a_count, char **b, size_t b_count)
{
	assert_int_equal(a_count, b_count);
	for (size_t i = 0; i < a_count; i++)
		assert_string_equal(a[i], b[i]);
}

static void assert_same_optional(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_same_sandbox(const struct sandbox_policy *a, const struct sandbox_policy *b)
{
	assert_int_equal(a->include_workdir, b->include_workdir);
	assert_same_strings(a->read_only, a->read_only_count, b->read_only, b->read_only_count);
	assert_same_strings(a->read_write, a->read_write_count, b->read_write,
			    b->read_write_count);
	assert_int_equal(a->compatibility, b->compatibility);
	assert_same_optional(a->run_as_user, b->run_as_user);
	assert_same_optional(a->run_as_group, b->run_as_group);
	assert_int_equal(a->connect_port_count, b->connect_port_count);
	if (a->connect_port_count)
		assert_memory_equal(a->connect_ports, b->connect_ports,
				    a->connect_port_count * sizeof(*a->connect_ports));
}

static void assert_same_mode(const struct mode_policy *a, const struct mode_policy *b)
{
	assert_same_optional(a->name, b->name);
	assert_same_optional(a->description, b->description);
	assert_int_equal(a->enforcement, b->enforcement);
	assert_int_equal(a->endpoint_count, b->endpoint_count);
	for (size_t i = 0; i < a->endpoint_count; i++)
		assert_endpoint(&b->endpoints[i], a->endpoints[i].host, a->endpoints[i].port,
				a->endpoints[i].access);
	assert_same_strings(a->l7_allowed_paths, a->l7_allowed_path_count, b->l7_allowed_paths,
			    b->l7_allowed_path_count);
}

static void test_sandbox_fixtures_round_trip_through_yaml_unchanged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sandbox_fixtures) / sizeof(sandbox_fixtures[0]); i++) {
		struct confinement_error error = { { 0 } };
		struct sandbox_policy first, second;
		char *text, *again;

		load_sandbox(sandbox_fixtures[i], &first);
		text = emit_sandbox(&first);
		if (policy_parse_sandbox("<emitted>", text, strlen(text), &second, &error) != 0)
			fail_msg("%s: %s", error.message, text);
		assert_same_sandbox(&first, &second);
		again = emit_sandbox(&second);
		assert_string_equal(text, again);
		free(again);
		free(text);
		sandbox_policy_release(&second);
		sandbox_policy_release(&first);
	}
}

static void test_mode_fixtures_round_trip_through_yaml_unchanged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mode_fixtures) / sizeof(mode_fixtures[0]); i++) {
		struct confinement_error error = { { 0 } };
		struct mode_policy first, second;
		char *text, *again;

		load_mode(mode_fixtures[i], &first);
		text = emit_mode(&first);
		if (policy_parse_mode("<emitted>", text, strlen(text), &second, &error) != 0)
			fail_msg("%s: %s", error.message, text);
		assert_same_mode(&first, &second);
		again = emit_mode(&second);
		assert_string_equal(text, again);
		free(again);
		free(text);
		mode_policy_release(&second);
		mode_policy_release(&first);
	}
}

/* ---- accepted forms ----------------------------------------------------- */

static void test_paths_are_normalised_to_one_slash_and_no_dot_components(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(parse_sandbox("version: 1\n"
				       "filesystem_policy:\n"
				       "  read_only: ['//usr///lib/', /., '///', /etc/./ssl/, /a/.b/..c]\n"
				       "  read_write: [/tmp/, '/dev//null']\n",
				       &policy, &error),
			 0);
	ASSERT_STRINGS(policy.read_only, policy.read_only_count, "/usr/lib", "/", "/", "/etc/ssl",
		       "/a/.b/..c");
	ASSERT_STRINGS(policy.read_write, policy.read_write_count, "/tmp", "/dev/null");
	sandbox_policy_release(&policy);
}

static void test_missing_filesystem_policy_includes_workdir_as_openshell_does(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(parse_sandbox("version: 1\n", &policy, &error), 0);
	assert_true(policy.include_workdir);
	assert_int_equal(policy.read_only_count + policy.read_write_count, 0);
	sandbox_policy_release(&policy);
	assert_int_equal(parse_sandbox("version: 1\nfilesystem_policy: {read_only: [/usr]}\n",
				       &policy, &error),
			 0);
	assert_false(policy.include_workdir);
	sandbox_policy_release(&policy);
}

static void test_absent_sections_leave_identity_unchanged_and_compatibility_unset(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(parse_sandbox("version: 1\nlandlock: {}\nprocess: {}\n"
				       "network_policies: {}\n",
				       &policy, &error),
			 0);
	assert_int_equal(policy.compatibility, ENFORCEMENT_UNSET);
	assert_null(policy.run_as_user);
	assert_null(policy.run_as_group);
	assert_int_equal(policy.connect_port_count, 0);
	sandbox_policy_release(&policy);
}

static void test_identity_accepts_names_and_ids_plain_or_quoted(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(parse_sandbox("version: 1\n"
				       "process: {run_as_user: 1500, run_as_group: \"4294967294\"}\n",
				       &policy, &error),
			 0);
	assert_string_equal(policy.run_as_user, "1500");
	assert_string_equal(policy.run_as_group, "4294967294");
	sandbox_policy_release(&policy);
	assert_int_equal(parse_sandbox("version: 1\n"
				       "process: {run_as_user: 'svc_agent.1', run_as_group: 0150}\n",
				       &policy, &error),
			 0);
	assert_string_equal(policy.run_as_user, "svc_agent.1");
	assert_string_equal(policy.run_as_group, "150");
	sandbox_policy_release(&policy);
}

static void test_boolean_accepts_core_schema_spellings_only(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {include_workdir: True}\n");
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {include_workdir: FALSE}\n");
	assert_sandbox_refused("version: 1\nfilesystem_policy: {include_workdir: on}\n",
			       "<inline>:2: filesystem_policy.include_workdir: "
			       "expected true or false, got \"on\"");
	assert_sandbox_refused("version: 1\nfilesystem_policy: {include_workdir: \"true\"}\n",
			       "<inline>:2: filesystem_policy.include_workdir: "
			       "expected true or false, got \"true\"");
	assert_sandbox_refused("version: 1\nfilesystem_policy: {include_workdir: }\n",
			       "<inline>:2: filesystem_policy.include_workdir: "
			       "expected true or false, got null");
}

static void test_version_must_be_the_plain_integer_one(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\n");
	assert_mode_accepted("version: 1\n");
	assert_sandbox_refused("version: \"1\"\n",
			       "<inline>:1: version: expected a decimal integer, "
			       "got the quoted string \"1\"");
	assert_sandbox_refused("version: 01\n",
			       "<inline>:1: version: expected a decimal integer, got \"01\"");
	assert_sandbox_refused("version: 0x1\n",
			       "<inline>:1: version: expected a decimal integer, got \"0x1\"");
	assert_sandbox_refused("version: +1\n",
			       "<inline>:1: version: expected a decimal integer, got \"+1\"");
	assert_sandbox_refused("version: 1.0\n",
			       "<inline>:1: version: expected a decimal integer, got \"1.0\"");
	assert_sandbox_refused("version: 99999999999\n", "<inline>:1: version: expected a "
							 "decimal integer, got \"99999999999\"");
	assert_mode_refused("version: [1]\n",
			    "<inline>:1: version: expected a decimal integer, got a sequence");
}

static void test_null_where_a_section_or_list_is_expected_is_a_wrong_type(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {}\n");
	assert_sandbox_refused("version: 1\nfilesystem_policy:\n",
			       "<inline>:2: filesystem_policy: expected a mapping, got null");
	assert_sandbox_refused("version: 1\nfilesystem_policy:\n  read_only: ~\n",
			       "<inline>:3: filesystem_policy.read_only: "
			       "expected a sequence, got null");
	assert_sandbox_refused("version: 1\nfilesystem_policy:\n  read_only: [null]\n",
			       "<inline>:3: filesystem_policy.read_only[0]: "
			       "expected a string, got null");
	/* Found by fuzz_landlock_policy: a section given as a block sequence. */
	assert_sandbox_refused("version: 1\nlandlock:\n\n-",
			       "<inline>:2: landlock: expected a mapping, got a sequence");
	assert_sandbox_refused("version: 1\nprocess:\n- run_as_user: sandbox\n",
			       "<inline>:2: process: expected a mapping, got a sequence");
	assert_sandbox_refused("version: 1\nfilesystem_policy:\n- read_only: [/usr]\n",
			       "<inline>:2: filesystem_policy: expected a mapping, got a sequence");
	assert_mode_refused("- version: 1\n",
			    "<inline>:1: document: expected a mapping, got a sequence");
	assert_sandbox_refused("version: 1\nfilesystem_policy:\n  read_only: [[/usr]]\n",
			       "<inline>:3: filesystem_policy.read_only[0]: "
			       "expected a string, got a sequence");
}

static void test_read_write_root_is_refused_but_read_only_root_is_allowed(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {read_only: [/]}\n");
	assert_sandbox_refused("version: 1\nfilesystem_policy: {read_write: [/tmp, /.]}\n",
			       "<inline>:2: filesystem_policy.read_write[1]: "
			       "the whole filesystem cannot be read-write: \"/\"");
}

static void test_more_than_256_paths_are_refused(void **state)
{
	size_t size = 16 + 300 * 8;
	char *text = malloc(size);
	size_t used;

	(void)state;
	assert_non_null(text);
	used = (size_t)snprintf(text, size, "version: 1\nfilesystem_policy:\n  read_only: [");
	for (int i = 0; i < 256; i++)
		used += (size_t)snprintf(text + used, size - used, "%s/usr", i ? "," : "");
	snprintf(text + used, size - used, "]\n");
	assert_sandbox_accepted(text);
	snprintf(text + used, size - used, "]\n  read_write: [/tmp]\n");
	assert_sandbox_refused(text,
			       "<inline>:2: filesystem_policy: 257 paths, more than 256");
	free(text);
}

static void test_path_of_4096_bytes_is_refused_and_4095_accepted(void **state)
{
	char path[4097], text[4200];

	(void)state;
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[4095] = '\0';
	snprintf(text, sizeof(text), "version: 1\nfilesystem_policy: {read_only: [%s]}\n", path);
	assert_sandbox_accepted(text);
	path[4095] = 'a';
	path[4096] = '\0';
	snprintf(text, sizeof(text), "version: 1\nfilesystem_policy: {read_only: [%s]}\n", path);
	{
		struct confinement_error error = { { 0 } };
		struct sandbox_policy policy;

		assert_int_equal(parse_sandbox(text, &policy, &error), -EINVAL);
		assert_non_null(strstr(error.message, "<inline>:2: filesystem_policy.read_only[0]: "
						      "path is longer than 4095 bytes: \"/aaa"));
	}
}

/* ---- network_policies --------------------------------------------------- */

static void test_network_endpoint_accepts_port_or_ports_in_any_style(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(parse_sandbox("version: 1\n"
				       "network_policies:\n"
				       "  a: {endpoints: [{host: x, port: 65535}, {host: y, ports: [1, 80]}]}\n"
				       "  b:\n"
				       "    endpoints:\n"
				       "      - host: z\n"
				       "        port: 80\n",
				       &policy, &error),
			 0);
	assert_int_equal(policy.connect_port_count, 3);
	assert_int_equal(policy.connect_ports[0], 1);
	assert_int_equal(policy.connect_ports[1], 80);
	assert_int_equal(policy.connect_ports[2], 65535);
	sandbox_policy_release(&policy);
}

static void test_network_policy_unknown_fields_are_refused_at_every_depth(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nnetwork_policies:\n"
				"  p: {name: n, endpoints: [{host: h, port: 1}], binaries: [{path: /b}]}\n");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {nam: n}\n",
			       "<inline>:3: network_policies.p.nam: unknown field");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {binaries: [{path: /b, hardness: true}]}\n",
			       "<inline>:3: network_policies.p.binaries[0].hardness: unknown field");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p:\n"
			       "    endpoints:\n"
			       "      - host: h\n"
			       "        port: 443\n"
			       "        rules:\n"
			       "          - allow: {methd: GET}\n",
			       "<inline>:8: network_policies.p.endpoints[0].rules[0].allow.methd: "
			       "unknown field");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {endpoints: [{host: h, port: 1, mcp: {max_body: 1}}]}\n",
			       "<inline>:3: network_policies.p.endpoints[0].mcp.max_body: "
			       "unknown field");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {endpoints: [{host: h, port: 1,\n"
			       "      deny_rules: [{method: GET, query: {q: {any: [a], all: [b]}}}]}]}\n",
			       "<inline>:4: network_policies.p.endpoints[0].deny_rules[0].query.q.all: "
			       "unknown field");
}

static void test_network_policy_required_and_typed_fields_are_checked(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nnetwork_policies:\n"
				"  p: {endpoints: [{host: h, port: 1, rules: [{allow: {method: GET}}],\n"
				"      credential_binding: {provider: work}, json_rpc: {max_body_bytes: 9},\n"
				"      allow_encoded_slash: true}]}\n");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {endpoints: [{host: h, port: 1, rules: [{}]}]}\n",
			       "<inline>:3: network_policies.p.endpoints[0].rules[0].allow: "
			       "required field is missing");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {binaries: [{harness: false}]}\n",
			       "<inline>:3: network_policies.p.binaries[0].path: "
			       "required field is missing");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {endpoints: [{host: h, port: 1, allow_encoded_slash: 1}]}\n",
			       "<inline>:3: network_policies.p.endpoints[0].allow_encoded_slash: "
			       "expected true or false, got \"1\"");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {endpoints: [{host: [h], port: 1}]}\n",
			       "<inline>:3: network_policies.p.endpoints[0].host: "
			       "expected a string, got a sequence");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  \"\": {endpoints: [{host: h, port: 1}]}\n",
			       "<inline>:3: network_policies.: names must not be empty");
	assert_sandbox_refused("version: 1\nnetwork_policies:\n"
			       "  p: {endpoints: [{host: h, ports: []}]}\n",
			       "<inline>:3: network_policies.p.endpoints[0]: "
			       "endpoint has no port (set port or ports)");
}

static void test_network_policy_accepts_openshell_l7_shapes(void **state)
{
	(void)state;
	assert_sandbox_accepted(
		"version: 1\n"
		"network_policies:\n"
		"  p:\n"
		"    endpoints:\n"
		"      - host: h\n"
		"        port: 1\n"
		"        protocol: mcp\n"
		"        mcp: {max_body_bytes: 1, strict_tool_names: false,\n"
		"              allow_all_known_mcp_methods: true}\n"
		"        rules:\n"
		"          - allow: {method: tools/call, tool: {any: [a, b]},\n"
		"                    params: {name: x, nested: {deeper: {any: [y]}}}}\n"
		"        deny_rules: [{operation_type: mutation, fields: [deleteRepo]}]\n"
		"        graphql_persisted_queries: {h1: {operation_type: query}}\n"
		"        allowed_ips: [10.0.0.0/8]\n");
}

/* ---- Kartograph mode policies ------------------------------------------ */

static void test_mode_enforcement_soft_and_best_effort_both_mean_best_effort(void **state)
{
	struct confinement_error error = { { 0 } };
	struct mode_policy policy;

	(void)state;
	assert_int_equal(parse_mode("version: 1\nenforcement: soft\n", &policy, &error), 0);
	assert_int_equal(policy.enforcement, ENFORCEMENT_BEST_EFFORT);
	mode_policy_release(&policy);
	assert_int_equal(parse_mode("version: 1\nenforcement: best_effort\n", &policy, &error), 0);
	assert_int_equal(policy.enforcement, ENFORCEMENT_BEST_EFFORT);
	mode_policy_release(&policy);
	assert_int_equal(parse_mode("version: 1\nenforcement: hard_requirement\n", &policy, &error),
			 0);
	assert_int_equal(policy.enforcement, ENFORCEMENT_HARD_REQUIREMENT);
	mode_policy_release(&policy);
	assert_int_equal(parse_mode("version: 1\n", &policy, &error), 0);
	assert_int_equal(policy.enforcement, ENFORCEMENT_UNSET);
	assert_null(policy.name);
	assert_int_equal(policy.endpoint_count, 0);
	mode_policy_release(&policy);
}

static void test_mode_endpoint_hosts_allow_a_wildcard_first_label_only(void **state)
{
	(void)state;
	assert_mode_accepted("version: 1\nendpoints: ['*.github.com:443:full',\n"
			     "  '*-aiplatform.googleapis.com:443:read-write', '**.example.com:1:full',\n"
			     "  'kartograph-api:8000:read-only', '10.0.0.1:5432:full']\n");
	assert_mode_refused("version: 1\nendpoints: ['*:443:full']\n",
			    "<inline>:2: endpoints[0]: invalid host: \"*:443:full\"");
	assert_mode_refused("version: 1\nendpoints: ['api.*.com:443:full']\n",
			    "<inline>:2: endpoints[0]: invalid host: \"api.*.com:443:full\"");
	assert_mode_refused("version: 1\nendpoints: ['a..b:443:full']\n",
			    "<inline>:2: endpoints[0]: invalid host: \"a..b:443:full\"");
	assert_mode_refused("version: 1\nendpoints: ['.a:443:full']\n",
			    "<inline>:2: endpoints[0]: invalid host: \".a:443:full\"");
	assert_mode_refused("version: 1\nendpoints: ['a b:443:full']\n",
			    "<inline>:2: endpoints[0]: invalid host: \"a b:443:full\"");
	assert_mode_refused("version: 1\nendpoints: [':443:full']\n",
			    "<inline>:2: endpoints[0]: invalid host: \":443:full\"");
	assert_mode_refused("version: 1\nendpoints: ['[::1]:443:full']\n",
			    "<inline>:2: endpoints[0]: expected \"host:port:access\", "
			    "got \"[::1]:443:full\"");
}

static void test_mode_endpoint_ports_are_decimal_in_1_to_65535(void **state)
{
	struct confinement_error error = { { 0 } };
	struct mode_policy policy;

	(void)state;
	assert_int_equal(parse_mode("version: 1\nendpoints: ['a:1:full', 'b:65535:full']\n",
				    &policy, &error),
			 0);
	assert_endpoint(&policy.endpoints[0], "a", 1, "full");
	assert_endpoint(&policy.endpoints[1], "b", 65535, "full");
	mode_policy_release(&policy);
	assert_mode_refused("version: 1\nendpoints: ['a:0:full']\n",
			    "<inline>:2: endpoints[0]: port must be a decimal number in 1..65535: "
			    "\"a:0:full\"");
	assert_mode_refused("version: 1\nendpoints: ['a:65536:full']\n",
			    "<inline>:2: endpoints[0]: port must be a decimal number in 1..65535: "
			    "\"a:65536:full\"");
	assert_mode_refused("version: 1\nendpoints: ['a:+443:full']\n",
			    "<inline>:2: endpoints[0]: port must be a decimal number in 1..65535: "
			    "\"a:+443:full\"");
	assert_mode_refused("version: 1\nendpoints: ['a::full']\n",
			    "<inline>:2: endpoints[0]: port must be a decimal number in 1..65535: "
			    "\"a::full\"");
	assert_mode_refused("version: 1\nendpoints: [443]\n",
			    "<inline>:2: endpoints[0]: expected \"host:port:access\", got \"443\"");
}

static void test_mode_name_and_l7_paths_are_validated(void **state)
{
	(void)state;
	assert_mode_accepted("version: 1\nname: x\nl7_allowed_paths: ['/a/*', '/']\n");
	assert_mode_refused("version: 1\nname: ''\n", "<inline>:2: name: must not be empty");
	assert_mode_refused("version: 1\nl7_allowed_paths: ['/a b']\n",
			    "<inline>:2: l7_allowed_paths[0]: "
			    "must not contain spaces or control characters: \"/a b\"");
	assert_mode_refused("version: 1\nl7_allowed_paths: ['']\n",
			    "<inline>:2: l7_allowed_paths[0]: must start with \"/\": \"\"");
	assert_mode_refused("version: 1\ndescription: {text: x}\n",
			    "<inline>:2: description: expected a string, got a mapping");
}

/* ---- every refused class, from tests/policies/invalid ------------------- */

static void test_relative_path_is_refused_with_file_line_and_field(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {read_write: [/tmp]}\n");
	assert_sandbox_file_refused(INVALID "relative-path.yaml",
				    INVALID "relative-path.yaml:7: filesystem_policy.read_write[2]: "
					    "path must be absolute: \"tmp\"");
}

static void test_dotdot_component_is_refused(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {read_only: [/app/..etc]}\n");
	assert_sandbox_file_refused(INVALID "dotdot-path.yaml",
				    INVALID "dotdot-path.yaml:6: filesystem_policy.read_only[1]: "
					    "path must not contain \"..\" components: "
					    "\"/app/../etc\"");
}

static void test_empty_path_is_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "empty-path.yaml",
				    INVALID "empty-path.yaml:3: filesystem_policy.read_only[1]: "
					    "path must not be empty: \"\"");
}

static void test_nul_in_path_is_refused(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {read_write: [\"/tmp\\x41\"]}\n");
	assert_sandbox_file_refused(INVALID "nul-path.yaml",
				    INVALID "nul-path.yaml:5: filesystem_policy.read_write[0]: "
					    "contains a NUL byte");
}

static void test_unknown_fields_are_refused_in_every_section(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "unknown-field.yaml",
				    INVALID "unknown-field.yaml:5: filesystem_policy.read_exec: "
					    "unknown field");
	assert_sandbox_file_refused(INVALID "unknown-top-field.yaml",
				    INVALID "unknown-top-field.yaml:4: seccomp_profile: "
					    "unknown field");
	assert_sandbox_file_refused(INVALID "unknown-endpoint-field.yaml",
				    INVALID "unknown-endpoint-field.yaml:7: "
					    "network_policies.api.endpoints[0].protocl: "
					    "unknown field");
	assert_sandbox_refused("version: 1\nlandlock: {compatibilty: best_effort}\n",
			       "<inline>:2: landlock.compatibilty: unknown field");
	assert_sandbox_refused("version: 1\nprocess: {run_as: sandbox}\n",
			       "<inline>:2: process.run_as: unknown field");
	assert_sandbox_refused("version: 1\nnetwork_middlewares: {}\n",
			       "<inline>:2: network_middlewares: unknown field");
	assert_mode_file_refused(INVALID "mode-unknown-field.yaml",
				 INVALID "mode-unknown-field.yaml:6: l7_allowed_path: "
					 "unknown field");
}

static void test_ports_outside_1_to_65535_or_non_numeric_are_refused(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nnetwork_policies:\n"
				"  db: {endpoints: [{host: db.internal, ports: [1, 65535]}]}\n");
	assert_sandbox_file_refused(INVALID "port-out-of-range.yaml",
				    INVALID "port-out-of-range.yaml:5: "
					    "network_policies.db.endpoints[0].port: "
					    "port must be in 1..65535, got 70000");
	assert_sandbox_file_refused(INVALID "port-zero.yaml",
				    INVALID "port-zero.yaml:6: "
					    "network_policies.db.endpoints[0].ports[1]: "
					    "port must be in 1..65535, got 0");
	assert_sandbox_file_refused(INVALID "port-non-numeric.yaml",
				    INVALID "port-non-numeric.yaml:6: "
					    "network_policies.web.endpoints[0].port: "
					    "expected a decimal integer, got \"https\"");
	assert_mode_file_refused(INVALID "mode-port-out-of-range.yaml",
				 INVALID "mode-port-out-of-range.yaml:5: endpoints[1]: "
					 "port must be a decimal number in 1..65535: "
					 "\"pypi.org:80000:read-only\"");
	assert_mode_file_refused(INVALID "mode-port-non-numeric.yaml",
				 INVALID "mode-port-non-numeric.yaml:4: endpoints[0]: "
					 "port must be a decimal number in 1..65535: "
					 "\"api:http:read-write\"");
}

static void test_endpoint_port_ambiguity_or_absence_is_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "port-and-ports.yaml",
				    INVALID "port-and-ports.yaml:5: "
					    "network_policies.web.endpoints[0]: "
					    "port and ports are mutually exclusive");
	assert_sandbox_file_refused(INVALID "endpoint-without-port.yaml",
				    INVALID "endpoint-without-port.yaml:5: "
					    "network_policies.web.endpoints[0]: "
					    "endpoint has no port (set port or ports)");
}

static void test_unknown_enforcement_or_compatibility_values_are_refused(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nlandlock: {compatibility: hard_requirement}\n");
	assert_sandbox_file_refused(INVALID "unknown-compatibility.yaml",
				    INVALID "unknown-compatibility.yaml:3: landlock.compatibility: "
					    "unknown value \"strict\" "
					    "(expected best_effort or hard_requirement)");
	/* "soft" is Kartograph's word, not OpenShell's. */
	assert_sandbox_refused("version: 1\nlandlock: {compatibility: soft}\n",
			       "<inline>:2: landlock.compatibility: unknown value \"soft\" "
			       "(expected best_effort or hard_requirement)");
	assert_mode_file_refused(INVALID "mode-unknown-enforcement.yaml",
				 INVALID "mode-unknown-enforcement.yaml:3: enforcement: "
					 "unknown value \"strict\" "
					 "(expected soft, best_effort or hard_requirement)");
}

static void test_unknown_access_or_malformed_endpoint_is_refused(void **state)
{
	(void)state;
	assert_mode_file_refused(INVALID "mode-unknown-access.yaml",
				 INVALID "mode-unknown-access.yaml:5: endpoints[1]: "
					 "unknown access (expected read-only, read-write or full): "
					 "\"github.com:443:write\"");
	assert_mode_file_refused(INVALID "mode-malformed-endpoint.yaml",
				 INVALID "mode-malformed-endpoint.yaml:4: endpoints[0]: "
					 "expected \"host:port:access\", got \"api:8000\"");
	assert_mode_file_refused(INVALID "mode-bad-host.yaml",
				 INVALID "mode-bad-host.yaml:4: endpoints[0]: "
					 "invalid host: \"*.com:443:full\"");
	assert_mode_file_refused(INVALID "mode-l7-relative.yaml",
				 INVALID "mode-l7-relative.yaml:4: l7_allowed_paths[0]: "
					 "must start with \"/\": \"extraction/workloads/*\"");
}

static void test_wrong_types_are_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "wrong-type-list.yaml",
				    INVALID "wrong-type-list.yaml:3: filesystem_policy.read_only: "
					    "expected a sequence, got a scalar");
	assert_sandbox_file_refused(INVALID "wrong-type-boolean.yaml",
				    INVALID "wrong-type-boolean.yaml:3: "
					    "filesystem_policy.include_workdir: "
					    "expected true or false, got \"yes\"");
	assert_sandbox_file_refused(INVALID "wrong-type-mapping.yaml",
				    INVALID "wrong-type-mapping.yaml:2: network_policies: "
					    "expected a mapping, got a sequence");
	assert_sandbox_file_refused(INVALID "root-not-mapping.yaml",
				    INVALID "root-not-mapping.yaml:1: document: "
					    "expected a mapping, got a sequence");
	assert_mode_file_refused(INVALID "mode-wrong-type.yaml",
				 INVALID "mode-wrong-type.yaml:3: endpoints: "
					 "expected a sequence, got a scalar");
}

static void test_duplicate_keys_are_refused_naming_both_lines(void **state)
{
	(void)state;
	assert_sandbox_accepted("version: 1\nfilesystem_policy: {read_write: [/tmp], "
				"read_only: [/usr]}\n");
	assert_sandbox_file_refused(INVALID "duplicate-key.yaml",
				    INVALID "duplicate-key.yaml:6: filesystem_policy.read_write: "
					    "duplicate key (first at line 4)");
	assert_mode_file_refused(INVALID "mode-duplicate-key.yaml",
				 INVALID "mode-duplicate-key.yaml:5: enforcement: "
					 "duplicate key (first at line 3)");
	/* Quoting does not make a different key. */
	assert_sandbox_refused("version: 1\n\"version\": 1\n",
			       "<inline>:2: version: duplicate key (first at line 1)");
}

static void test_version_other_than_1_or_missing_is_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "version-2.yaml",
				    INVALID "version-2.yaml:1: version: "
					    "unsupported version 2 (only 1 exists)");
	assert_sandbox_file_refused(INVALID "missing-version.yaml",
				    INVALID "missing-version.yaml:1: version: "
					    "required field is missing");
	assert_mode_file_refused(INVALID "mode-version-2.yaml",
				 INVALID "mode-version-2.yaml:1: version: "
					 "unsupported version 2 (only 1 exists)");
	assert_mode_refused("name: x\n", "<inline>:1: version: required field is missing");
}

static void test_yaml_syntax_errors_carry_libyaml_line_and_reason(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "syntax-error.yaml",
				    INVALID "syntax-error.yaml:5: syntax error: "
					    "did not find expected key "
					    "(while parsing a block mapping)");
	assert_sandbox_file_refused(INVALID "control-character.yaml",
				    INVALID "control-character.yaml:3: syntax error: "
					    "control characters are not allowed");
	assert_sandbox_refused("version: 1\nfilesystem_policy: {read_only: [/usr}\n",
			       "<inline>:2: syntax error: did not find expected ',' or ']' "
			       "(while parsing a flow sequence)");
}

static void test_raw_nul_byte_in_input_is_a_syntax_error(void **state)
{
	static const char text[] = "version: 1\nfilesystem_policy: {read_only: [/usr\0/x]}\n";
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(policy_parse_sandbox("<inline>", text, sizeof(text) - 1, &policy, &error),
			 -EINVAL);
	assert_string_equal(error.message,
			    "<inline>:2: syntax error: control characters are not allowed");
}

static void test_utf8_byte_order_mark_is_accepted_and_utf16_refused(void **state)
{
	static const char utf16[] = "\xff\xfev\0e\0r\0s\0i\0o\0n\0:\0 \0001\0\n\0";
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_sandbox_accepted("\xef\xbb\xbfversion: 1\n");
	assert_int_equal(policy_parse_sandbox("<inline>", utf16, sizeof(utf16) - 1, &policy, &error),
			 -EINVAL);
	assert_string_equal(error.message, "<inline>:1: syntax error: invalid leading UTF-8 octet");
}

static void test_anchors_and_aliases_are_refused_against_billion_laughs(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "billion-laughs.yaml",
				    INVALID "billion-laughs.yaml:3: filesystem_policy.read_only: "
					    "anchors are not allowed");
	assert_sandbox_file_refused(INVALID "alias.yaml",
				    INVALID "alias.yaml:5: filesystem_policy.read_only[1]: "
					    "aliases are not allowed");
	assert_sandbox_refused("version: 1\n&k filesystem_policy: {}\n",
			       "<inline>:2: filesystem_policy: anchors are not allowed");
}

static void test_explicit_tags_and_complex_keys_are_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "tag.yaml",
				    INVALID "tag.yaml:1: version: explicit tags are not allowed");
	assert_sandbox_refused("version: 1\nfilesystem_policy: !!map {}\n",
			       "<inline>:2: filesystem_policy: explicit tags are not allowed");
	assert_sandbox_refused("version: 1\n? [a, b]\n: c\n",
			       "<inline>:2: document: mapping keys must be scalars");
}

static void test_several_documents_or_none_are_refused(void **state)
{
	(void)state;
	assert_sandbox_accepted("---\nversion: 1\n...\n");
	assert_sandbox_file_refused(INVALID "multiple-documents.yaml",
				    INVALID "multiple-documents.yaml:4: document: "
					    "only one YAML document is allowed");
	assert_sandbox_file_refused(INVALID "empty.yaml",
				    INVALID "empty.yaml:1: document: no YAML document in the input");
	assert_sandbox_refused("# only a comment\n",
			       "<inline>:2: document: no YAML document in the input");
}

static void test_root_or_invalid_identity_is_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "root-identity.yaml",
				    INVALID "root-identity.yaml:3: process.run_as_user: "
					    "root is not a sandbox identity: \"0\"");
	assert_sandbox_file_refused(INVALID "bad-identity.yaml",
				    INVALID "bad-identity.yaml:4: process.run_as_group: "
					    "not a user or group name or numeric id: "
					    "\"sandbox group\"");
	assert_sandbox_refused("version: 1\nprocess: {run_as_group: root}\n",
			       "<inline>:2: process.run_as_group: "
			       "root is not a sandbox identity: \"root\"");
	assert_sandbox_refused("version: 1\nprocess: {run_as_user: 4294967295}\n",
			       "<inline>:2: process.run_as_user: "
			       "id must be in 1..4294967294: \"4294967295\"");
	assert_sandbox_refused("version: 1\nprocess: {run_as_user: ''}\n",
			       "<inline>:2: process.run_as_user: "
			       "not a user or group name or numeric id: \"\"");
}

static void test_root_read_write_fixture_is_refused(void **state)
{
	(void)state;
	assert_sandbox_file_refused(INVALID "root-read-write.yaml",
				    INVALID "root-read-write.yaml:5: "
					    "filesystem_policy.read_write[1]: "
					    "the whole filesystem cannot be read-write: \"/\"");
}

/* ---- limits ------------------------------------------------------------- */

static char *nested_params(int depth)
{
	size_t size = (size_t)depth * 8 + 256;
	char *text = malloc(size);
	size_t used;

	assert_non_null(text);
	used = (size_t)snprintf(text, size, "version: 1\nnetwork_policies: {p: {endpoints: "
					    "[{host: h, port: 1, rules: [{allow: {params: ");
	for (int i = 0; i < depth; i++)
		used += (size_t)snprintf(text + used, size - used, "{k: ");
	used += (size_t)snprintf(text + used, size - used, "v");
	for (int i = 0; i < depth; i++)
		used += (size_t)snprintf(text + used, size - used, "}");
	snprintf(text + used, size - used, "}}]}]}}\n");
	return text;
}

static void test_nesting_deeper_than_32_levels_is_refused(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;
	char *text;

	(void)state;
	text = nested_params(24); /* 32 levels in all */
	assert_sandbox_accepted(text);
	free(text);
	text = nested_params(25);
	assert_int_equal(parse_sandbox(text, &policy, &error), -EINVAL);
	assert_non_null(strstr(error.message, ".k.k.k: nested deeper than 32 levels"));
	assert_non_null(strstr(error.message, "<inline>:2: network_policies.p.endpoints[0]."
					      "rules[0].allow.params.k.k"));
	free(text);
}

static void test_more_than_100000_nodes_are_refused(void **state)
{
	size_t size = 100000 * 2 + 64;
	char *text = malloc(size);
	size_t used;

	(void)state;
	assert_non_null(text);
	used = (size_t)snprintf(text, size, "version: 1\nfilesystem_policy: {read_only: [/");
	for (int i = 1; i < 100000; i++) {
		text[used++] = ',';
		text[used++] = '/';
	}
	snprintf(text + used, size - used, "]}\n");
	assert_sandbox_refused(text, "<inline>:2: document: more than 100000 nodes");
	free(text);
}

static void test_input_over_1_mib_is_refused_with_efbig(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;
	char *text = malloc(POLICY_MAX_SIZE + 1);
	char path[] = "/tmp/test_landlock_policy.XXXXXX";
	int fd;

	(void)state;
	assert_non_null(text);
	memset(text, '#', POLICY_MAX_SIZE + 1);
	memcpy(text, "version: 1\n", 11);
	text[POLICY_MAX_SIZE - 1] = '\n';
	assert_int_equal(policy_parse_sandbox("<inline>", text, POLICY_MAX_SIZE, &policy, &error),
			 0);
	sandbox_policy_release(&policy);
	assert_int_equal(policy_parse_sandbox("<inline>", text, POLICY_MAX_SIZE + 1, &policy,
					      &error),
			 -EFBIG);
	assert_string_equal(error.message, "<inline>: larger than 1048576 bytes (1048577)");
	assert_true(is_zeroed(&policy, sizeof(policy)));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, POLICY_MAX_SIZE + 1), POLICY_MAX_SIZE + 1);
	close(fd);
	assert_int_equal(policy_load_sandbox(path, &policy, &error), -EFBIG);
	assert_non_null(strstr(error.message, ": larger than 1048576 bytes (1048577)"));
	assert_int_equal(strncmp(error.message, path, strlen(path)), 0);
	unlink(path);
	free(text);
}

/* ---- files -------------------------------------------------------------- */

static void test_missing_file_fails_with_enoent_naming_it(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy sandbox;
	struct mode_policy mode;

	(void)state;
	assert_int_equal(policy_load_sandbox(FIXTURES "missing.yaml", &sandbox, &error), -ENOENT);
	assert_string_equal(error.message,
			    FIXTURES "missing.yaml: cannot open: No such file or directory");
	assert_int_equal(policy_load_mode(FIXTURES "missing.yaml", &mode, &error), -ENOENT);
	assert_true(is_zeroed(&mode, sizeof(mode)));
}

static void test_directory_fails_with_eisdir(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(policy_load_sandbox(FIXTURES "openshell", &policy, &error), -EISDIR);
	assert_string_equal(error.message,
			    FIXTURES "openshell: not a regular file: Is a directory");
}

static void test_fifo_is_refused_without_blocking(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;
	char directory[] = "/tmp/test_landlock_policy.XXXXXX", path[PATH_MAX];

	(void)state;
	assert_non_null(mkdtemp(directory));
	snprintf(path, sizeof(path), "%s/policy.yaml", directory);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(policy_load_sandbox(path, &policy, &error), -EINVAL);
	assert_non_null(strstr(error.message, ": not a regular file: Invalid argument"));
	unlink(path);
	rmdir(directory);
}

static int load_as_nobody(const char *path)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;
	int status;
	pid_t child = fork();

	assert_true(child >= 0);
	if (child == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(100);
		_exit(policy_load_sandbox(path, &policy, &error) == -EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_unreadable_file_fails_with_eacces(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;
	char path[] = "/tmp/test_landlock_policy.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "version: 1\n", 11), 11);
	close(fd);
	assert_int_equal(policy_load_sandbox(path, &policy, &error), 0);
	sandbox_policy_release(&policy);
	assert_int_equal(chmod(path, 0), 0);
	/* Root reads any file; an unprivileged identity cannot. */
	if (geteuid() == 0)
		assert_int_equal(load_as_nobody(path), 0);
	else
		assert_int_equal(policy_load_sandbox(path, &policy, &error), -EACCES);
	unlink(path);
}

/* ---- output on failure, release, messages ------------------------------ */

static void test_failure_after_partial_reading_leaves_output_zeroed(void **state)
{
	struct confinement_error error = { { 0 } };
	struct sandbox_policy sandbox;
	struct mode_policy mode;

	(void)state;
	memset(&sandbox, 0xa5, sizeof(sandbox));
	assert_int_equal(parse_sandbox("version: 1\n"
				       "filesystem_policy: {read_only: [/usr, /lib], read_write: [/tmp, x]}\n"
				       "process: {run_as_user: sandbox}\n",
				       &sandbox, &error),
			 -EINVAL);
	assert_true(is_zeroed(&sandbox, sizeof(sandbox)));
	memset(&mode, 0xa5, sizeof(mode));
	assert_int_equal(parse_mode("version: 1\nname: n\ndescription: d\n"
				    "endpoints: ['a:1:full', 'b:2:nope']\n",
				    &mode, &error),
			 -EINVAL);
	assert_true(is_zeroed(&mode, sizeof(mode)));
	mode_policy_release(&mode);
	sandbox_policy_release(&sandbox);
}

static void test_release_is_safe_twice_and_on_zeroed_policies(void **state)
{
	struct sandbox_policy sandbox = { 0 };
	struct mode_policy mode = { 0 };

	(void)state;
	sandbox_policy_release(&sandbox);
	mode_policy_release(&mode);
	load_sandbox(FIXTURES "openshell/identity-network.yaml", &sandbox);
	sandbox_policy_release(&sandbox);
	sandbox_policy_release(&sandbox);
	assert_true(is_zeroed(&sandbox, sizeof(sandbox)));
	load_mode("extraction-job", &mode);
	mode_policy_release(&mode);
	mode_policy_release(&mode);
	assert_true(is_zeroed(&mode, sizeof(mode)));
}

static void test_hostile_keys_are_escaped_and_cut_short_in_messages(void **state)
{
	char text[600], key[301];
	struct confinement_error error = { { 0 } };
	struct sandbox_policy policy;

	(void)state;
	memset(key, 'k', 300);
	key[300] = '\0';
	key[1] = '\x1b';
	snprintf(text, sizeof(text), "version: 1\n\"%.1s\\e%s\": 1\n", key, key + 2);
	assert_int_equal(parse_sandbox(text, &policy, &error), -EINVAL);
	assert_non_null(strstr(error.message, "<inline>:2: k\\x1bkkkk"));
	assert_non_null(strstr(error.message, "kkk...: unknown field"));
	assert_null(strchr(error.message, '\x1b'));
	assert_true(strlen(error.message) < 120);
}

/* ---- the built-in default ---------------------------------------------- */

static void test_default_policy_is_openshells_baseline_plus_the_workspace(void **state)
{
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(policy_default_sandbox("/workspace//", &policy), 0);
	ASSERT_STRINGS(policy.read_only, policy.read_only_count, "/usr", "/lib", "/lib64", "/bin",
		       "/sbin", "/etc", "/app", "/proc", "/dev/urandom");
	ASSERT_STRINGS(policy.read_write, policy.read_write_count, "/tmp", "/dev/null",
		       "/workspace");
	assert_false(policy.include_workdir);
	assert_int_equal(policy.compatibility, ENFORCEMENT_UNSET);
	assert_null(policy.run_as_user);
	assert_null(policy.run_as_group);
	assert_int_equal(policy.connect_port_count, 0);
	sandbox_policy_release(&policy);
}

static void test_default_policy_refuses_a_relative_or_escaping_workspace(void **state)
{
	struct sandbox_policy policy;

	(void)state;
	assert_int_equal(policy_default_sandbox("workspace", &policy), -EINVAL);
	assert_true(is_zeroed(&policy, sizeof(policy)));
	assert_int_equal(policy_default_sandbox("/workspace/../etc", &policy), -EINVAL);
	assert_int_equal(policy_default_sandbox("", &policy), -EINVAL);
	assert_int_equal(policy_default_sandbox("//", &policy), -EINVAL);
	assert_int_equal(policy_default_sandbox(NULL, &policy), -EINVAL);
	assert_true(is_zeroed(&policy, sizeof(policy)));
}

/* Messages name "tests/policies/...": run from the source root, found from
 * this file's own path (CMake compiles it by absolute path), or from
 * SI_SOURCE_DIR. */
static void change_to_source_root(void)
{
	const char *root = getenv("SI_SOURCE_DIR");
	char path[PATH_MAX];
	char *end;

	if (!root) {
		snprintf(path, sizeof(path), "%s", __FILE__);
		end = strstr(path, "tests/unit/");
		if (!end || (end != path && end[-1] != '/')) {
			fprintf(stderr, "cannot locate the source root from %s\n", __FILE__);
			exit(1);
		}
		/* Compiled by a relative path: from the source root itself. */
		if (end == path)
			snprintf(path, sizeof(path), ".");
		else
			end[-1] = '\0';
		root = path[0] ? path : "/";
	}
	if (chdir(root) < 0) {
		perror(root);
		exit(1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kartograph_mode_fixtures_load_as_best_effort_with_api_and_inference),
		cmocka_unit_test(test_extraction_job_fixture_reaches_github_pypi_and_anthropic),
		cmocka_unit_test(test_gma_mode_fixtures_carry_their_own_l7_paths),
		cmocka_unit_test(test_openshell_default_fixture_reads_system_paths_and_writes_tmp),
		cmocka_unit_test(test_openshell_identity_fixture_extracts_identity_and_sorted_unique_ports),
		cmocka_unit_test(test_sandbox_fixtures_round_trip_through_yaml_unchanged),
		cmocka_unit_test(test_mode_fixtures_round_trip_through_yaml_unchanged),
		cmocka_unit_test(test_paths_are_normalised_to_one_slash_and_no_dot_components),
		cmocka_unit_test(test_missing_filesystem_policy_includes_workdir_as_openshell_does),
		cmocka_unit_test(test_absent_sections_leave_identity_unchanged_and_compatibility_unset),
		cmocka_unit_test(test_identity_accepts_names_and_ids_plain_or_quoted),
		cmocka_unit_test(test_boolean_accepts_core_schema_spellings_only),
		cmocka_unit_test(test_version_must_be_the_plain_integer_one),
		cmocka_unit_test(test_null_where_a_section_or_list_is_expected_is_a_wrong_type),
		cmocka_unit_test(test_read_write_root_is_refused_but_read_only_root_is_allowed),
		cmocka_unit_test(test_more_than_256_paths_are_refused),
		cmocka_unit_test(test_path_of_4096_bytes_is_refused_and_4095_accepted),
		cmocka_unit_test(test_network_endpoint_accepts_port_or_ports_in_any_style),
		cmocka_unit_test(test_network_policy_unknown_fields_are_refused_at_every_depth),
		cmocka_unit_test(test_network_policy_required_and_typed_fields_are_checked),
		cmocka_unit_test(test_network_policy_accepts_openshell_l7_shapes),
		cmocka_unit_test(test_mode_enforcement_soft_and_best_effort_both_mean_best_effort),
		cmocka_unit_test(test_mode_endpoint_hosts_allow_a_wildcard_first_label_only),
		cmocka_unit_test(test_mode_endpoint_ports_are_decimal_in_1_to_65535),
		cmocka_unit_test(test_mode_name_and_l7_paths_are_validated),
		cmocka_unit_test(test_relative_path_is_refused_with_file_line_and_field),
		cmocka_unit_test(test_dotdot_component_is_refused),
		cmocka_unit_test(test_empty_path_is_refused),
		cmocka_unit_test(test_nul_in_path_is_refused),
		cmocka_unit_test(test_unknown_fields_are_refused_in_every_section),
		cmocka_unit_test(test_ports_outside_1_to_65535_or_non_numeric_are_refused),
		cmocka_unit_test(test_endpoint_port_ambiguity_or_absence_is_refused),
		cmocka_unit_test(test_unknown_enforcement_or_compatibility_values_are_refused),
		cmocka_unit_test(test_unknown_access_or_malformed_endpoint_is_refused),
		cmocka_unit_test(test_wrong_types_are_refused),
		cmocka_unit_test(test_duplicate_keys_are_refused_naming_both_lines),
		cmocka_unit_test(test_version_other_than_1_or_missing_is_refused),
		cmocka_unit_test(test_yaml_syntax_errors_carry_libyaml_line_and_reason),
		cmocka_unit_test(test_raw_nul_byte_in_input_is_a_syntax_error),
		cmocka_unit_test(test_utf8_byte_order_mark_is_accepted_and_utf16_refused),
		cmocka_unit_test(test_anchors_and_aliases_are_refused_against_billion_laughs),
		cmocka_unit_test(test_explicit_tags_and_complex_keys_are_refused),
		cmocka_unit_test(test_several_documents_or_none_are_refused),
		cmocka_unit_test(test_root_or_invalid_identity_is_refused),
		cmocka_unit_test(test_root_read_write_fixture_is_refused),
		cmocka_unit_test(test_nesting_deeper_than_32_levels_is_refused),
		cmocka_unit_test(test_more_than_100000_nodes_are_refused),
		cmocka_unit_test(test_input_over_1_mib_is_refused_with_efbig),
		cmocka_unit_test(test_missing_file_fails_with_enoent_naming_it),
		cmocka_unit_test(test_directory_fails_with_eisdir),
		cmocka_unit_test(test_fifo_is_refused_without_blocking),
		cmocka_unit_test(test_unreadable_file_fails_with_eacces),
		cmocka_unit_test(test_failure_after_partial_reading_leaves_output_zeroed),
		cmocka_unit_test(test_release_is_safe_twice_and_on_zeroed_policies),
		cmocka_unit_test(test_hostile_keys_are_escaped_and_cut_short_in_messages),
		cmocka_unit_test(test_default_policy_is_openshells_baseline_plus_the_workspace),
		cmocka_unit_test(test_default_policy_refuses_a_relative_or_escaping_workspace),
	};

	change_to_source_root();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The plan compiler: what the two policies add up to, and the receipt. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "landlock/landlock.h"
#include "landlock/plan_internal.h"

static void test_proxy_port_comes_from_the_url_or_its_scheme(void **state)
{
	(void)state;
	uint16_t port = 0;
	assert_int_equal(plan_proxy_port("http://10.200.0.1:3128", &port), 0);
	assert_int_equal(port, 3128);
	assert_int_equal(plan_proxy_port("http://user:pa:ss@proxy.local:8080/path", &port), 0);
	assert_int_equal(port, 8080);
	assert_int_equal(plan_proxy_port("https://proxy.local", &port), 0);
	assert_int_equal(port, 443);
	assert_int_equal(plan_proxy_port("http://proxy.local/", &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(plan_proxy_port("proxy.local:3129", &port), 0);
	assert_int_equal(port, 3129);
	assert_int_equal(plan_proxy_port("http://[fd00::1]:3130", &port), 0);
	assert_int_equal(port, 3130);
	assert_int_equal(plan_proxy_port("http://[fd00::1]", &port), 0);
	assert_int_equal(port, 80);
}

static void test_bad_proxy_urls_are_refused(void **state)
{
	(void)state;
	uint16_t port;
	const char *bad[] = { "socks5://proxy:1080", "http://proxy:0", "http://proxy:65536",
			      "http://proxy:12a", "http://", "http://[fd00::1", "http://proxy:" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(plan_proxy_port(bad[i], &port), -EINVAL);
}

static void test_port_set_is_sorted_and_unique(void **state)
{
	(void)state;
	struct port_set set = { 0 };
	uint16_t values[] = { 443, 8000, 443, 80, 65535, 80 };
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(port_set_add(&set, values[i]), 0);
	assert_int_equal(set.count, 4);
	assert_int_equal(set.ports[0], 80);
	assert_int_equal(set.ports[1], 443);
	assert_int_equal(set.ports[2], 8000);
	assert_int_equal(set.ports[3], 65535);
	port_set_release(&set);
}

static void test_path_within_respects_component_boundaries(void **state)
{
	(void)state;
	assert_true(plan_path_within("/var/lib/sandbox-init", "/var"));
	assert_true(plan_path_within("/var/lib/sandbox-init", "/var/lib/sandbox-init"));
	assert_true(plan_path_within("/anything", "/"));
	assert_false(plan_path_within("/var/lib/sandbox-init", "/var/lib/sandbox"));
	assert_false(plan_path_within("/var", "/var/lib"));
}

static char *write_file(const char *text)
{
	static char paths[8][64];
	static int next;
	char *path = paths[next++ % 8];
	strcpy(path, "/tmp/si-plan-test-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char *const test_environment[] = {
	"PATH=/usr/bin:/bin", "HTTPS_PROXY=http://proxy.local:3128", "SECRET_THING=x", NULL
};

static struct confinement_inputs inputs_for(const char *sandbox, const char *mode)
{
	return (struct confinement_inputs){
		.sandbox_policy_path = sandbox,
		.mode_policy_path = mode,
		.workspace = "/tmp",
		.state_dir = "/var/lib/sandbox-init/events",
		.environment = test_environment,
	};
}

static void test_ports_come_from_mode_network_policies_and_proxy(void **state)
{
	(void)state;
	char *mode = write_file("version: 1\nname: m\nenforcement: soft\nendpoints:\n"
				"  - \"api:8000:read-write\"\n  - \"inference.local:443:read-write\"\n");
	struct confinement_inputs inputs = inputs_for(NULL, mode);
	struct confinement_plan *plan;
	struct confinement_error error;
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	json_t *receipt = plan_receipt(plan);
	json_t *ports = json_object_get(json_object_get(receipt, "network"), "tcp_connect_ports");
	assert_int_equal(json_array_size(ports), 3);
	assert_int_equal(json_integer_value(json_array_get(ports, 0)), 443);
	assert_int_equal(json_integer_value(json_array_get(ports, 1)), 3128);
	assert_int_equal(json_integer_value(json_array_get(ports, 2)), 8000);
	assert_string_equal(json_string_value(json_object_get(json_object_get(receipt, "policy"), "mode_name")), "m");
	json_decref(receipt);
	plan_free(plan);
	unlink(mode);
}

static void test_stricter_enforcement_of_the_two_policies_wins(void **state)
{
	(void)state;
	char *sandbox = write_file("version: 1\nfilesystem_policy:\n  read_only: [/usr]\n"
				   "landlock:\n  compatibility: best_effort\n");
	char *mode = write_file("version: 1\nname: m\nenforcement: hard_requirement\nendpoints: []\n");
	struct confinement_inputs inputs = inputs_for(sandbox, mode);
	struct confinement_plan *plan;
	struct confinement_error error;
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	json_t *receipt = plan_receipt(plan);
	assert_string_equal(json_string_value(json_object_get(receipt, "enforcement")), "hard_requirement");
	json_decref(receipt);
	plan_free(plan);

	inputs.enforcement = ENFORCEMENT_BEST_EFFORT; /* the flag decides over both files */
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	receipt = plan_receipt(plan);
	assert_string_equal(json_string_value(json_object_get(receipt, "enforcement")), "best_effort");
	json_decref(receipt);
	plan_free(plan);
	unlink(sandbox);
	unlink(mode);
}

static void test_state_dir_under_a_read_write_path_is_refused_or_reported(void **state)
{
	(void)state;
	char *sandbox = write_file("version: 1\nfilesystem_policy:\n  read_only: [/usr]\n  read_write: [/var]\n");
	struct confinement_inputs inputs = inputs_for(sandbox, NULL);
	struct confinement_plan *plan;
	struct confinement_error error;

	inputs.enforcement = ENFORCEMENT_HARD_REQUIREMENT;
	assert_int_equal(plan_compile(&inputs, &plan, &error), -EPERM);
	assert_null(plan);
	assert_string_equal(error.message,
			    "read_write path \"/var\" contains sandbox-init's state directory "
			    "\"/var/lib/sandbox-init/events\": a workload could rewrite the event spool");

	inputs.enforcement = ENFORCEMENT_BEST_EFFORT;
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	assert_true(plan_degraded(plan));
	json_t *receipt = plan_receipt(plan);
	assert_true(json_is_false(json_object_get(json_object_get(receipt, "state_dir"), "protected")));
	json_decref(receipt);
	plan_free(plan);
	unlink(sandbox);
}

static void test_bad_policy_error_names_file_and_line(void **state)
{
	(void)state;
	char *sandbox = write_file("version: 1\nfilesystem_policy:\n  read_only: [usr]\n");
	struct confinement_inputs inputs = inputs_for(sandbox, NULL);
	struct confinement_plan *plan;
	struct confinement_error error;
	assert_int_equal(plan_compile(&inputs, &plan, &error), -EINVAL);
	char expected_prefix[128];
	snprintf(expected_prefix, sizeof(expected_prefix), "%s:3:", sandbox);
	assert_memory_equal(error.message, expected_prefix, strlen(expected_prefix));
	unlink(sandbox);
}

static void test_workspace_must_not_widen_the_read_write_set(void **state)
{
	(void)state;
	const char *bad[] = { "/", "relative", "/srv/../etc", "/srv/..", "/srv/./x", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct confinement_inputs inputs = inputs_for(NULL, NULL);
		struct confinement_plan *plan;
		struct confinement_error error;
		inputs.workspace = bad[i];
		assert_int_equal(plan_compile(&inputs, &plan, &error), -EINVAL);
		assert_non_null(strstr(error.message, "workspace"));
	}
	struct confinement_inputs inputs = inputs_for(NULL, NULL);
	struct confinement_plan *plan;
	struct confinement_error error;
	inputs.workspace = "/srv/.hidden/work..space";
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	plan_free(plan);
}

static void test_environment_is_the_allow_list(void **state)
{
	(void)state;
	struct confinement_inputs inputs = inputs_for(NULL, NULL);
	struct confinement_plan *plan;
	struct confinement_error error;
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	char *const *envp = plan_environment(plan);
	assert_string_equal(envp[0], "PATH=/usr/bin:/bin");
	assert_string_equal(envp[1], "HTTPS_PROXY=http://proxy.local:3128");
	assert_null(envp[2]);
	plan_free(plan);
}

static void test_applied_plan_confines_a_forked_child(void **state)
{
	(void)state;
	struct confinement_inputs inputs = inputs_for(NULL, NULL);
	struct confinement_plan *plan;
	struct confinement_error error;
	assert_int_equal(plan_compile(&inputs, &plan, &error), 0);
	pid_t child = fork();
	if (child == 0) {
		const char *step;
		if (plan_apply(plan, &step) < 0)
			_exit(100);
		/* /root is outside the default policy (access(2) is not a Landlock hook: open is). */
		_exit(open("/root", O_RDONLY | O_DIRECTORY) == -1 && errno == EACCES ? 0 : 101);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	plan_free(plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_port_comes_from_the_url_or_its_scheme),
		cmocka_unit_test(test_bad_proxy_urls_are_refused),
		cmocka_unit_test(test_port_set_is_sorted_and_unique),
		cmocka_unit_test(test_path_within_respects_component_boundaries),
		cmocka_unit_test(test_ports_come_from_mode_network_policies_and_proxy),
		cmocka_unit_test(test_stricter_enforcement_of_the_two_policies_wins),
		cmocka_unit_test(test_state_dir_under_a_read_write_path_is_refused_or_reported),
		cmocka_unit_test(test_bad_policy_error_names_file_and_line),
		cmocka_unit_test(test_workspace_must_not_widen_the_read_write_set),
		cmocka_unit_test(test_environment_is_the_allow_list),
		cmocka_unit_test(test_applied_plan_confines_a_forked_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

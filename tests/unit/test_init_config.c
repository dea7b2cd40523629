/* The command line and environment: flags win, bad values are refused with a
 * message naming the input, secrets leave the environment. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/config.h"

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0]) - 1))

static int clear_environment(void **state)
{
	(void)state;
	clearenv();
	return 0;
}

static void test_job_command_follows_the_options(void **state)
{
	(void)state;
	char *argv[] = { "sandbox-init", "--grace", "3", "--", "sh", "-c", "exit 1", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config.mode, RUN_JOB);
	assert_int_equal(config.grace_seconds, 3);
	assert_string_equal(config.command[0], "sh");
	assert_string_equal(config.command[2], "exit 1");
	assert_null(config.command[3]);
	assert_null(config.listen);
	config_release(&config);
}

static void test_workload_options_are_not_parsed_as_ours(void **state)
{
	(void)state;
	char *argv[] = { "sandbox-init", "ls", "--grace", "-v", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config.grace_seconds, 10);
	assert_string_equal(config.command[1], "--grace");
	config_release(&config);
}

static void test_flag_wins_over_variable(void **state)
{
	(void)state;
	setenv("SANDBOX_INIT_GRACE_SECONDS", "7", 1);
	setenv("KARTOGRAPH_WORKSPACE_DIR", "/from-env", 1);
	char *argv[] = { "sandbox-init", "--grace", "2", "true", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config.grace_seconds, 2);
	assert_string_equal(config.workspace, "/from-env");
	config_release(&config);
}

static void test_serve_takes_options_after_the_subcommand_and_defaults_listen(void **state)
{
	(void)state;
	char *argv[] = { "sandbox-init", "-v", "serve", "--turn-timeout", "30", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config.mode, RUN_SERVE);
	assert_int_equal(config.turn_timeout_seconds, 30);
	assert_string_equal(config.listen, "0.0.0.0:8787");
	assert_string_equal(config.log_level, "debug");
	config_release(&config);
}

static void test_probe_needs_exactly_one_url(void **state)
{
	(void)state;
	char *good[] = { "sandbox-init", "probe", "http://127.0.0.1:8787/healthz", NULL };
	char *bad[] = { "sandbox-init", "probe", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(good), good, &config, error, sizeof(error)), 0);
	assert_string_equal(config.probe_url, "http://127.0.0.1:8787/healthz");
	config_release(&config);
	assert_int_equal(config_parse(ARGC(bad), bad, &config, error, sizeof(error)), -EINVAL);
	assert_string_equal(error, "probe: expected exactly one URL");
	config_release(&config);
}

static void expect_refusal(char **argv, int argc, const char *message)
{
	struct config config;
	char error[256] = "";
	assert_int_equal(config_parse(argc, argv, &config, error, sizeof(error)), -EINVAL);
	assert_string_equal(error, message);
	config_release(&config);
}

static void test_bad_values_are_refused_naming_the_input(void **state)
{
	(void)state;
	char *unknown[] = { "sandbox-init", "--frobnicate", "true", NULL };
	expect_refusal(unknown, ARGC(unknown), "unknown option \"--frobnicate\" (see --help)");
	char *missing[] = { "sandbox-init", "--grace", NULL };
	expect_refusal(missing, ARGC(missing), "option \"--grace\" needs a value");
	char *grace[] = { "sandbox-init", "--grace", "10s", "true", NULL };
	expect_refusal(grace, ARGC(grace), "--grace: expected whole seconds from 0 to 3600, got \"10s\"");
	char *enforcement[] = { "sandbox-init", "--enforcement", "strict", "true", NULL };
	expect_refusal(enforcement, ARGC(enforcement),
		       "--enforcement: expected best_effort, soft or hard_requirement, got \"strict\"");
	char *serve[] = { "sandbox-init", "serve", "extra", NULL };
	expect_refusal(serve, ARGC(serve), "serve: unexpected argument \"extra\"");
	char *nothing[] = { "sandbox-init", NULL };
	expect_refusal(nothing, ARGC(nothing),
		       "no command given: sandbox-init [OPTIONS] [--] COMMAND [ARG...] or sandbox-init serve (see --help)");
	setenv("SANDBOX_INIT_SUBREAPER", "maybe", 1);
	char *subreaper[] = { "sandbox-init", "true", NULL };
	expect_refusal(subreaper, ARGC(subreaper), "SANDBOX_INIT_SUBREAPER: expected 1 or 0, got \"maybe\"");
}

static void test_pass_env_flags_repeat_and_variable_is_a_comma_list(void **state)
{
	(void)state;
	struct config config;
	char error[256];
	char *flags[] = { "sandbox-init", "--pass-env", "A_*", "--pass-env", "B", "true", NULL };
	assert_int_equal(config_parse(ARGC(flags), flags, &config, error, sizeof(error)), 0);
	assert_string_equal(config.pass_env[0], "A_*");
	assert_string_equal(config.pass_env[1], "B");
	assert_null(config.pass_env[2]);
	config_release(&config);

	setenv("SANDBOX_INIT_PASS_ENV", "X,,Y_*", 1);
	char *plain[] = { "sandbox-init", "true", NULL };
	assert_int_equal(config_parse(ARGC(plain), plain, &config, error, sizeof(error)), 0);
	assert_string_equal(config.pass_env[0], "X");
	assert_string_equal(config.pass_env[1], "Y_*");
	assert_null(config.pass_env[2]);
	config_release(&config);
}

static void test_secrets_are_read_then_removed_from_the_environment(void **state)
{
	(void)state;
	setenv("KARTOGRAPH_RUNTIME_AUTH_TOKEN", "  token-value\n", 1);
	setenv("KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY", "k3y", 1);
	setenv("SOME_SIGNING_KEY_FILE", "/x", 1);
	setenv("KEEP_ME", "1", 1);
	char *argv[] = { "sandbox-init", "true", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config_take_secrets(&config, error, sizeof(error)), 0);
	assert_string_equal(config.auth_token, "token-value");
	assert_int_equal(config.jwt_key_length, 3);
	assert_memory_equal(config.jwt_key, "k3y", 3);
	assert_null(getenv("KARTOGRAPH_RUNTIME_AUTH_TOKEN"));
	assert_null(getenv("KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY"));
	assert_null(getenv("SOME_SIGNING_KEY_FILE"));
	assert_string_equal(getenv("KEEP_ME"), "1");
	config_release(&config);
}

static void test_token_file_wins_and_is_trimmed(void **state)
{
	(void)state;
	char path[] = "/tmp/si-token-XXXXXX";
	int fd = mkstemp(path);
	assert_int_equal(write(fd, "file-token\n", 11), 11);
	close(fd);
	setenv("KARTOGRAPH_RUNTIME_AUTH_TOKEN", "env-token", 1);
	char *argv[] = { "sandbox-init", "--auth-token-file", path, "true", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config_take_secrets(&config, error, sizeof(error)), 0);
	assert_string_equal(config.auth_token, "file-token");
	config_release(&config);
	unlink(path);
}

static void test_empty_or_missing_token_file_is_refused_without_echoing_it(void **state)
{
	(void)state;
	char *argv[] = { "sandbox-init", "--auth-token-file", "/nonexistent/token", "true", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config_take_secrets(&config, error, sizeof(error)), -EINVAL);
	assert_string_equal(error, "--auth-token-file: cannot open \"/nonexistent/token\": No such file or directory");
	config_release(&config);

	setenv("KARTOGRAPH_RUNTIME_AUTH_TOKEN", " \n", 1);
	char *plain[] = { "sandbox-init", "true", NULL };
	assert_int_equal(config_parse(ARGC(plain), plain, &config, error, sizeof(error)), 0);
	assert_int_equal(config_take_secrets(&config, error, sizeof(error)), -EINVAL);
	assert_string_equal(error, "the runtime auth token (KARTOGRAPH_RUNTIME_AUTH_TOKEN) is empty");
	config_release(&config);
}

static void test_workload_token_variable_is_refused(void **state)
{
	(void)state;
	setenv("KARTOGRAPH_WORKLOAD_TOKEN", "eyJ.secret.token", 1);
	char *argv[] = { "sandbox-init", "true", NULL };
	struct config config;
	char error[256];
	assert_int_equal(config_parse(ARGC(argv), argv, &config, error, sizeof(error)), 0);
	assert_int_equal(config_take_secrets(&config, error, sizeof(error)), -EINVAL);
	assert_non_null(strstr(error, "KARTOGRAPH_WORKLOAD_TOKEN is set"));
	assert_null(strstr(error, "eyJ"));
	config_release(&config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_job_command_follows_the_options, clear_environment),
		cmocka_unit_test_setup(test_workload_options_are_not_parsed_as_ours, clear_environment),
		cmocka_unit_test_setup(test_flag_wins_over_variable, clear_environment),
		cmocka_unit_test_setup(test_serve_takes_options_after_the_subcommand_and_defaults_listen, clear_environment),
		cmocka_unit_test_setup(test_probe_needs_exactly_one_url, clear_environment),
		cmocka_unit_test_setup(test_bad_values_are_refused_naming_the_input, clear_environment),
		cmocka_unit_test_setup(test_pass_env_flags_repeat_and_variable_is_a_comma_list, clear_environment),
		cmocka_unit_test_setup(test_secrets_are_read_then_removed_from_the_environment, clear_environment),
		cmocka_unit_test_setup(test_token_file_wins_and_is_trimmed, clear_environment),
		cmocka_unit_test_setup(test_empty_or_missing_token_file_is_refused_without_echoing_it, clear_environment),
		cmocka_unit_test_setup(test_workload_token_variable_is_refused, clear_environment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The command line and its environment variables (CONTRACT.md section 1).
 * Flags win over variables; anything malformed is refused before anything runs. */
#ifndef SANDBOX_INIT_CONFIG_H
#define SANDBOX_INIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum run_mode { RUN_JOB, RUN_SERVE, RUN_CHECK_POLICY, RUN_PROBE, RUN_HELP, RUN_VERSION };

struct config {
	enum run_mode mode;
	char **command;                 /* job mode: the workload's argv, NULL-terminated */
	const char *probe_url;

	const char *listen;             /* NULL in job mode unless given */
	const char *turn_command_json;
	const char *auth_token_file;
	const char *jwt_key_file;
	const char *jwt_algorithm;
	const char *policy_file;        /* NULL: /etc/openshell/policy.yaml if present */
	const char *policy_dir;
	const char *session_mode;
	const char *enforcement;        /* NULL: as the policy says */
	const char *workspace;
	unsigned turn_timeout_seconds;
	unsigned grace_seconds;
	const char *events_url, *events_spool, *events_cert, *events_key, *events_ca;
	bool subreaper;
	const char *log_level;
	bool insecure_skip_workload_token;
	bool allow_exec_writable;
	const char **pass_env;          /* NULL-terminated patterns */
	char *pass_env_list;            /* storage for the patterns split from the variable */

	const char *session_id, *tenant_id, *knowledge_graph_id, *user_id;

	/* Secrets: read once, never logged, wiped by config_release(). */
	char *auth_token;
	unsigned char *jwt_key;
	size_t jwt_key_length;
};

/* Fills config from argv and the environment.  Returns 0, or -EINVAL with one
 * line in error naming the input and what is wrong with it. */
int config_parse(int argc, char **argv, struct config *config, char *error, size_t error_size);

/* Reads the token and key (from their variables or files), then removes every
 * secret variable from our own environment so no child can inherit one.
 * Refuses KARTOGRAPH_WORKLOAD_TOKEN outright. */
int config_take_secrets(struct config *config, char *error, size_t error_size);

void config_release(struct config *config);

void config_print_help(void);

#endif

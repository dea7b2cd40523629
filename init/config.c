#include "init/config.h"
#include "init/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum option_key {
	OPT_LISTEN = 1000, OPT_TURN_COMMAND, OPT_AUTH_TOKEN_FILE, OPT_JWT_KEY_FILE, OPT_JWT_ALG,
	OPT_POLICY, OPT_POLICY_DIR, OPT_MODE, OPT_ENFORCEMENT, OPT_WORKSPACE, OPT_TURN_TIMEOUT,
	OPT_GRACE, OPT_EVENTS_URL, OPT_EVENTS_SPOOL, OPT_EVENTS_CERT, OPT_EVENTS_KEY,
	OPT_EVENTS_CA, OPT_SUBREAPER, OPT_LOG_LEVEL, OPT_INSECURE_SKIP_WORKLOAD_TOKEN,
	OPT_ALLOW_EXEC_WRITABLE, OPT_PASS_ENV, OPT_HELP, OPT_VERSION, OPT_VERBOSE = 'v',
};

/* Each option and the variable that stands in for it when the flag is absent. */
struct option_spec {
	struct option option;
	const char *variable;
};

static const struct option_spec option_specs[] = {
	{ { "listen", required_argument, NULL, OPT_LISTEN }, "KARTOGRAPH_RUNTIME_LISTEN" },
	{ { "turn-command", required_argument, NULL, OPT_TURN_COMMAND }, "KARTOGRAPH_TURN_COMMAND" },
	{ { "auth-token-file", required_argument, NULL, OPT_AUTH_TOKEN_FILE }, "KARTOGRAPH_RUNTIME_AUTH_TOKEN_FILE" },
	{ { "jwt-key-file", required_argument, NULL, OPT_JWT_KEY_FILE }, "KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY_FILE" },
	{ { "jwt-alg", required_argument, NULL, OPT_JWT_ALG }, "KARTOGRAPH_WORKLOAD_TOKEN_ALG" },
	{ { "policy", required_argument, NULL, OPT_POLICY }, "OPENSHELL_POLICY_FILE" },
	{ { "policy-dir", required_argument, NULL, OPT_POLICY_DIR }, "KARTOGRAPH_POLICY_DIR" },
	{ { "mode", required_argument, NULL, OPT_MODE }, "KARTOGRAPH_SESSION_MODE" },
	{ { "enforcement", required_argument, NULL, OPT_ENFORCEMENT }, "KARTOGRAPH_POLICY_ENFORCEMENT" },
	{ { "workspace", required_argument, NULL, OPT_WORKSPACE }, "KARTOGRAPH_WORKSPACE_DIR" },
	{ { "turn-timeout", required_argument, NULL, OPT_TURN_TIMEOUT }, "KARTOGRAPH_AGENT_TURN_TIMEOUT_SECONDS" },
	{ { "grace", required_argument, NULL, OPT_GRACE }, "SANDBOX_INIT_GRACE_SECONDS" },
	{ { "events-url", required_argument, NULL, OPT_EVENTS_URL }, "SANDBOX_INIT_EVENTS_URL" },
	{ { "events-spool", required_argument, NULL, OPT_EVENTS_SPOOL }, "SANDBOX_INIT_EVENTS_SPOOL" },
	{ { "events-cert", required_argument, NULL, OPT_EVENTS_CERT }, "SANDBOX_INIT_EVENTS_CERT" },
	{ { "events-key", required_argument, NULL, OPT_EVENTS_KEY }, "SANDBOX_INIT_EVENTS_KEY" },
	{ { "events-ca", required_argument, NULL, OPT_EVENTS_CA }, "SANDBOX_INIT_EVENTS_CA" },
	{ { "subreaper", no_argument, NULL, OPT_SUBREAPER }, "SANDBOX_INIT_SUBREAPER" },
	{ { "log-level", required_argument, NULL, OPT_LOG_LEVEL }, "SANDBOX_INIT_LOG_LEVEL" },
	{ { "insecure-skip-workload-token", no_argument, NULL, OPT_INSECURE_SKIP_WORKLOAD_TOKEN }, NULL },
	{ { "allow-exec-writable", no_argument, NULL, OPT_ALLOW_EXEC_WRITABLE }, "SANDBOX_INIT_ALLOW_EXEC_WRITABLE" },
	{ { "pass-env", required_argument, NULL, OPT_PASS_ENV }, "SANDBOX_INIT_PASS_ENV" },
	{ { "help", no_argument, NULL, OPT_HELP }, NULL },
	{ { "version", no_argument, NULL, OPT_VERSION }, NULL },
	{ { "verbose", no_argument, NULL, OPT_VERBOSE }, NULL },
};

#define OPTION_COUNT (sizeof(option_specs) / sizeof(option_specs[0]))

int config_fail(char *error, size_t size, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(error, size, format, args);
	va_end(args);
	return -EINVAL;
}

static int parse_seconds(const char *name, const char *text, unsigned minimum, unsigned maximum,
			 unsigned *out, char *error, size_t size)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value < minimum || value > maximum)
		return config_fail(error, size, "%s: expected whole seconds from %u to %u, got \"%s\"", name,
			    minimum, maximum, text);
	*out = (unsigned)value;
	return 0;
}

static int parse_boolean(const char *name, const char *text, bool *out, char *error, size_t size)
{
	static const char *const truths[] = { "1", "true", "yes", "on" };
	static const char *const falsehoods[] = { "0", "false", "no", "off", "" };
	for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++)
		if (strcasecmp(text, truths[i]) == 0)
			return *out = true, 0;
	for (size_t i = 0; i < sizeof(falsehoods) / sizeof(falsehoods[0]); i++)
		if (strcasecmp(text, falsehoods[i]) == 0)
			return *out = false, 0;
	return config_fail(error, size, "%s: expected 1 or 0, got \"%s\"", name, text);
}

static int append_pattern(struct config *config, const char *pattern)
{
	size_t count = 0;
	while (config->pass_env && config->pass_env[count])
		count++;
	const char **patterns = reallocarray(config->pass_env, count + 2, sizeof(*patterns));
	if (!patterns)
		return -ENOMEM;
	patterns[count] = pattern;
	patterns[count + 1] = NULL;
	config->pass_env = patterns;
	return 0;
}

/* SANDBOX_INIT_PASS_ENV is a comma list, split in a copy the config owns. */
static int append_pattern_list(struct config *config, const char *list)
{
	free(config->pass_env_list);
	char *copy = config->pass_env_list = strdup(list), *cursor = copy, *pattern;
	if (!copy)
		return -ENOMEM;
	while ((pattern = strsep(&cursor, ",")))
		if (*pattern && append_pattern(config, pattern) < 0)
			return -ENOMEM;
	return 0;
}

static int apply_option(struct config *config, int key, const char *value, const char *name,
			char *error, size_t size)
{
	switch (key) {
	case OPT_LISTEN: config->listen = value; return 0;
	case OPT_TURN_COMMAND: config->turn_command_json = value; return 0;
	case OPT_AUTH_TOKEN_FILE: config->auth_token_file = value; return 0;
	case OPT_JWT_KEY_FILE: config->jwt_key_file = value; return 0;
	case OPT_JWT_ALG: config->jwt_algorithm = value; return 0;
	case OPT_POLICY: config->policy_file = value; return 0;
	case OPT_POLICY_DIR: config->policy_dir = value; return 0;
	case OPT_MODE: config->session_mode = value; return 0;
	case OPT_ENFORCEMENT:
		if (strcmp(value, "best_effort") && strcmp(value, "soft") && strcmp(value, "hard_requirement"))
			return config_fail(error, size, "%s: expected best_effort, soft or hard_requirement, got \"%s\"",
				    name, value);
		config->enforcement = value;
		return 0;
	case OPT_WORKSPACE: config->workspace = value; return 0;
	case OPT_TURN_TIMEOUT:
		return parse_seconds(name, value, 1, 86400, &config->turn_timeout_seconds, error, size);
	case OPT_GRACE:
		return parse_seconds(name, value, 0, 3600, &config->grace_seconds, error, size);
	case OPT_EVENTS_URL: config->events_url = value; return 0;
	case OPT_EVENTS_SPOOL: config->events_spool = value; return 0;
	case OPT_EVENTS_CERT: config->events_cert = value; return 0;
	case OPT_EVENTS_KEY: config->events_key = value; return 0;
	case OPT_EVENTS_CA: config->events_ca = value; return 0;
	case OPT_SUBREAPER:
		return value ? parse_boolean(name, value, &config->subreaper, error, size)
			     : (config->subreaper = true, 0);
	case OPT_LOG_LEVEL: config->log_level = value; return 0;
	case OPT_VERBOSE: config->log_level = "debug"; return 0;
	case OPT_INSECURE_SKIP_WORKLOAD_TOKEN: config->insecure_skip_workload_token = true; return 0;
	case OPT_ALLOW_EXEC_WRITABLE:
		return value ? parse_boolean(name, value, &config->allow_exec_writable, error, size)
			     : (config->allow_exec_writable = true, 0);
	case OPT_PASS_ENV:
		return append_pattern(config, value) < 0 ? config_fail(error, size, "out of memory") : 0;
	case OPT_HELP: config->mode = RUN_HELP; return 0;
	case OPT_VERSION: config->mode = RUN_VERSION; return 0;
	}
	return config_fail(error, size, "internal: unhandled option %d", key);
}

static const struct option_spec *spec_for_key(int key)
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (option_specs[i].option.val == key)
			return &option_specs[i];
	return NULL;
}

/* getopt_long over argv[0..argc), argv[0] being the program or subcommand.
 * Stops at the first operand; returns its index or -EINVAL. */
static int parse_flags(int argc, char **argv, struct config *config, bool *seen,
		       char *error, size_t size)
{
	struct option options[OPTION_COUNT + 1];
	for (size_t i = 0; i < OPTION_COUNT; i++)
		options[i] = option_specs[i].option;
	memset(&options[OPTION_COUNT], 0, sizeof(options[0]));

	opterr = 0;
	optind = 0; /* 0, not 1: glibc then also resets its state for a new argv */
	int key;
	while ((key = getopt_long(argc, argv, "+:v", options, NULL)) != -1) {
		if (key == '?')
			return config_fail(error, size, "unknown option \"%s\" (see --help)", argv[optind - 1]);
		if (key == ':')
			return config_fail(error, size, "option \"%s\" needs a value", argv[optind - 1]);
		const struct option_spec *spec = spec_for_key(key);
		char name[64];
		snprintf(name, sizeof(name), "--%s", spec->option.name);
		int result = apply_option(config, key, optarg, name, error, size);
		if (result < 0)
			return result;
		seen[spec - option_specs] = true;
	}
	return optind;
}

static int apply_environment(struct config *config, const bool *seen, char *error, size_t size)
{
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		const struct option_spec *spec = &option_specs[i];
		const char *value = spec->variable ? getenv(spec->variable) : NULL;
		if (seen[i] || !value)
			continue;
		int result = spec->option.val == OPT_PASS_ENV
				     ? (append_pattern_list(config, value) < 0 ? config_fail(error, size, "out of memory") : 0)
				     : apply_option(config, spec->option.val, value, spec->variable, error, size);
		if (result < 0)
			return result;
	}
	return 0;
}

static void set_defaults(struct config *config)
{
	*config = (struct config){
		.mode = RUN_JOB,
		.jwt_algorithm = "HS256",
		.policy_dir = "/etc/openshell/policies",
		.workspace = "/workspace",
		.turn_timeout_seconds = 1000,
		.grace_seconds = 10,
		.events_spool = "/var/lib/sandbox-init/events",
		.log_level = "info",
	};
}

static int parse_subcommand(int argc, char **argv, int index, struct config *config, bool *seen,
			    char *error, size_t size)
{
	const char *name = argv[index];
	if (strcmp(name, "serve") == 0)
		config->mode = RUN_SERVE;
	else if (strcmp(name, "check-policy") == 0)
		config->mode = RUN_CHECK_POLICY;
	else if (strcmp(name, "probe") == 0)
		config->mode = RUN_PROBE;
	else
		return 0; /* not a subcommand: the workload */

	int operand = parse_flags(argc - index, argv + index, config, seen, error, size);
	if (operand < 0)
		return operand;
	operand += index;
	if (config->mode == RUN_PROBE) {
		if (operand != argc - 1)
			return config_fail(error, size, "probe: expected exactly one URL");
		config->probe_url = argv[operand];
	} else if (operand < argc) {
		return config_fail(error, size, "%s: unexpected argument \"%s\"", name, argv[operand]);
	}
	return 1;
}

int config_parse(int argc, char **argv, struct config *config, char *error, size_t size)
{
	bool seen[OPTION_COUNT] = { false };

	set_defaults(config);
	int operand = parse_flags(argc, argv, config, seen, error, size);
	if (operand < 0)
		return operand;
	if (config->mode == RUN_HELP || config->mode == RUN_VERSION)
		return 0;

	/* After an explicit "--" the next word is always the workload, even "serve". */
	bool after_separator = operand > 1 && strcmp(argv[operand - 1], "--") == 0;
	if (operand < argc && !after_separator) {
		int result = parse_subcommand(argc, argv, operand, config, seen, error, size);
		if (result < 0)
			return result;
		if (config->mode == RUN_HELP || config->mode == RUN_VERSION)
			return 0;
	}

	int result = apply_environment(config, seen, error, size);
	if (result < 0)
		return result;

	if (config->mode == RUN_JOB) {
		if (operand >= argc)
			return config_fail(error, size, "no command given: sandbox-init [OPTIONS] [--] COMMAND [ARG...] "
						 "or sandbox-init serve (see --help)");
		config->command = &argv[operand];
	} else if (config->mode == RUN_SERVE && !config->listen) {
		config->listen = "0.0.0.0:8787";
	}

	config->session_id = getenv("KARTOGRAPH_SESSION_ID");
	config->tenant_id = getenv("KARTOGRAPH_TENANT_ID");
	config->knowledge_graph_id = getenv("KARTOGRAPH_KNOWLEDGE_GRAPH_ID");
	config->user_id = getenv("KARTOGRAPH_USER_ID");
	return 0;
}

void config_print_help(void)
{
	fputs("usage: sandbox-init [OPTIONS] [--] COMMAND [ARG...]   run COMMAND as the confined workload (job mode)\n"
	      "       sandbox-init serve [OPTIONS]                   serve /health and /v1/turn (sticky session)\n"
	      "       sandbox-init check-policy [OPTIONS]            print the enforcement receipt, exit\n"
	      "       sandbox-init probe URL                         HTTP GET URL; exit 0 on 2xx (HEALTHCHECK)\n"
	      "       sandbox-init --help | --version\n"
	      "\n"
	      "options (each also read from the variable shown; the flag wins):\n"
	      "  --listen ADDR:PORT          KARTOGRAPH_RUNTIME_LISTEN (serve: 0.0.0.0:8787)\n"
	      "  --turn-command JSON         KARTOGRAPH_TURN_COMMAND: turn executor argv, a JSON array\n"
	      "  --auth-token-file FILE      KARTOGRAPH_RUNTIME_AUTH_TOKEN(_FILE): session-bound token\n"
	      "  --jwt-key-file FILE         KARTOGRAPH_WORKLOAD_TOKEN_SIGNING_KEY(_FILE): JWT key\n"
	      "  --jwt-alg ALG               KARTOGRAPH_WORKLOAD_TOKEN_ALG (HS256|RS256|ES256|EdDSA)\n"
	      "  --insecure-skip-workload-token   local development only: no JWT check\n"
	      "  --policy FILE               OPENSHELL_POLICY_FILE (/etc/openshell/policy.yaml if present)\n"
	      "  --policy-dir DIR            KARTOGRAPH_POLICY_DIR (/etc/openshell/policies)\n"
	      "  --mode NAME                 KARTOGRAPH_SESSION_MODE: job mode policy <policy-dir>/NAME.yaml\n"
	      "  --enforcement E             KARTOGRAPH_POLICY_ENFORCEMENT: best_effort|soft|hard_requirement\n"
	      "  --allow-exec-writable       SANDBOX_INIT_ALLOW_EXEC_WRITABLE=1: lift W^X on read-write paths\n"
	      "  --pass-env PATTERN          SANDBOX_INIT_PASS_ENV (comma list): more variables for children\n"
	      "  --workspace DIR             KARTOGRAPH_WORKSPACE_DIR (/workspace)\n"
	      "  --turn-timeout S            KARTOGRAPH_AGENT_TURN_TIMEOUT_SECONDS (1000)\n"
	      "  --grace S                   SANDBOX_INIT_GRACE_SECONDS (10): SIGTERM-to-SIGKILL grace\n"
	      "  --events-url URL            SANDBOX_INIT_EVENTS_URL: gateway event endpoint\n"
	      "  --events-spool DIR          SANDBOX_INIT_EVENTS_SPOOL (/var/lib/sandbox-init/events)\n"
	      "  --events-cert/--events-key/--events-ca FILE   SANDBOX_INIT_EVENTS_{CERT,KEY,CA}: mTLS\n"
	      "  --subreaper                 SANDBOX_INIT_SUBREAPER=1 (automatic when not PID 1)\n"
	      "  -v, --log-level L           SANDBOX_INIT_LOG_LEVEL: debug|info|warn|error (info)\n",
	      stdout);
}

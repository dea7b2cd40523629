/* The confinement plan: both policies compiled, once, into everything a child
 * needs, so that plan_apply() in the child is a handful of system calls. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landlock/environment.h"
#include "landlock/identity.h"
#include "landlock/landlock.h"
#include "landlock/plan_internal.h"
#include "landlock/policy.h"
#include "landlock/ruleset.h"
#include "landlock/seccomp.h"

struct confinement_plan {
	enum enforcement enforcement;
	struct landlock_ruleset ruleset;
	struct seccomp_program seccomp;
	struct identity_plan identity;
	struct environment_plan environment;
	json_t *receipt;
	bool degraded;
};

/* What was read, and what it adds up to, while the plan is being compiled. */
struct compile_state {
	const struct confinement_inputs *inputs;
	struct sandbox_policy sandbox;
	struct mode_policy mode;
	const char **read_write;   /* the policy's, plus the workspace when asked */
	size_t read_write_count;
	struct port_set ports;
	int proxy_port;            /* 0: none */
	json_t *skipped;           /* findings of the plan itself (state dir) */
	bool state_dir_exposed;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct confinement_error *error, int result, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(error->message, sizeof(error->message), format, args);
	va_end(args);
	return result;
}

static const char *enforcement_name(enum enforcement enforcement)
{
	return enforcement == ENFORCEMENT_HARD_REQUIREMENT ? "hard_requirement" : "best_effort";
}

/* The workspace becomes a read-write rule: "/" or a path that climbs out
 * with ".." would grant far more than a workspace. */
static bool workspace_is_sane(const char *workspace)
{
	if (!workspace || workspace[0] != '/' || strcmp(workspace, "/") == 0)
		return false;
	for (const char *component = workspace; (component = strstr(component, "/.")); component++) {
		const char *end = component + 2;
		if (*end == '.')
			end++;
		if (*end == '/' || *end == '\0')
			return false;
	}
	return true;
}

static int load_policies(struct compile_state *state, struct confinement_error *error)
{
	const struct confinement_inputs *inputs = state->inputs;
	if (!workspace_is_sane(inputs->workspace))
		return fail(error, -EINVAL, "workspace \"%s\": must be an absolute path other than \"/\", "
					   "without \".\" or \"..\"", inputs->workspace ? inputs->workspace : "");
	int result = inputs->sandbox_policy_path
			     ? policy_load_sandbox(inputs->sandbox_policy_path, &state->sandbox, error)
			     : policy_default_sandbox(inputs->workspace, &state->sandbox);
	if (result < 0)
		return result;
	if (inputs->mode_policy_path)
		return policy_load_mode(inputs->mode_policy_path, &state->mode, error);
	return 0;
}

/* The flag decides when given; otherwise the stricter of what the two
 * policies ask, so neither file can quietly weaken the other. */
static enum enforcement decide_enforcement(const struct compile_state *state)
{
	if (state->inputs->enforcement != ENFORCEMENT_UNSET)
		return state->inputs->enforcement;
	if (state->sandbox.compatibility == ENFORCEMENT_HARD_REQUIREMENT ||
	    state->mode.enforcement == ENFORCEMENT_HARD_REQUIREMENT)
		return ENFORCEMENT_HARD_REQUIREMENT;
	return ENFORCEMENT_BEST_EFFORT;
}

static const char *environment_value(const char *const *environment, const char *name)
{
	size_t length = strlen(name);
	for (; environment && *environment; environment++)
		if (strncmp(*environment, name, length) == 0 && (*environment)[length] == '=')
			return *environment + length + 1;
	return NULL;
}

/* The mode's endpoints, the sandbox policy's network ports, and the proxy
 * OpenShell routes egress through. */
static int collect_connect_ports(struct compile_state *state, struct confinement_error *error)
{
	static const char *const proxy_variables[] = { "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy" };
	int result = 0;

	for (size_t i = 0; i < state->mode.endpoint_count && result == 0; i++)
		result = port_set_add(&state->ports, state->mode.endpoints[i].port);
	for (size_t i = 0; i < state->sandbox.connect_port_count && result == 0; i++)
		result = port_set_add(&state->ports, state->sandbox.connect_ports[i]);
	for (size_t i = 0; i < 4 && result == 0; i++) {
		const char *url = environment_value(state->inputs->environment, proxy_variables[i]);
		uint16_t port;
		if (!url || !*url)
			continue;
		if (plan_proxy_port(url, &port) < 0)
			return fail(error, -EINVAL, "%s: not an http(s) proxy URL with a valid port",
				    proxy_variables[i]);
		if (!state->proxy_port)
			state->proxy_port = port;
		result = port_set_add(&state->ports, port);
	}
	return result < 0 ? fail(error, result, "out of memory") : 0;
}

static void add_read_write(struct compile_state *state, const char *path)
{
	for (size_t i = 0; i < state->read_write_count; i++)
		if (strcmp(state->read_write[i], path) == 0)
			return;
	state->read_write[state->read_write_count++] = path;
}

/* The policy's read-write paths and, when it asks, the workspace; each once. */
static int collect_read_write(struct compile_state *state)
{
	state->read_write = calloc(state->sandbox.read_write_count + 1, sizeof(*state->read_write));
	if (!state->read_write)
		return -ENOMEM;
	for (size_t i = 0; i < state->sandbox.read_write_count; i++)
		add_read_write(state, state->sandbox.read_write[i]);
	if (state->sandbox.include_workdir && state->inputs->workspace)
		add_read_write(state, state->inputs->workspace);
	return 0;
}

/* Landlock can only grant, never carve out: a read-write path above our own
 * state directory would hand the workload the audit trail. */
static int check_state_dir(struct compile_state *state, enum enforcement enforcement,
			   struct confinement_error *error)
{
	const char *state_dir = state->inputs->state_dir;
	for (size_t i = 0; state_dir && i < state->read_write_count; i++) {
		const char *path = state->read_write[i];
		if (!plan_path_within(state_dir, path))
			continue;
		if (enforcement == ENFORCEMENT_HARD_REQUIREMENT)
			return fail(error, -EPERM,
				    "read_write path \"%s\" contains sandbox-init's state directory \"%s\": "
				    "a workload could rewrite the event spool", path, state_dir);
		state->state_dir_exposed = true;
		json_array_append_new(state->skipped,
				      json_pack("{s:s, s:s}", "what", "state directory protection",
						"why", "a read_write path contains the state directory"));
	}
	return 0;
}

static int build_ruleset(struct confinement_plan *plan, const struct compile_state *state,
			 struct confinement_error *error)
{
	struct ruleset_spec spec = {
		.read_only = (const char *const *)state->sandbox.read_only,
		.read_only_count = state->sandbox.read_only_count,
		.read_write = state->read_write,
		.read_write_count = state->read_write_count,
		.allow_exec_writable = state->inputs->allow_exec_writable,
		.connect_ports = state->ports.ports,
		.connect_port_count = state->ports.count,
		.enforcement = plan->enforcement,
	};
	return ruleset_build(&spec, &plan->ruleset, error);
}

static int build_identity(struct confinement_plan *plan, const struct compile_state *state,
			  struct confinement_error *error)
{
	int result = identity_plan_build(state->sandbox.run_as_user, state->sandbox.run_as_group,
					 plan->enforcement, &plan->identity, error);
	if (result < 0 && state->inputs->sandbox_policy_path) {
		char reason[sizeof(error->message)];
		memcpy(reason, error->message, sizeof(reason));
		snprintf(error->message, sizeof(error->message), "%.200s: %.300s",
			 state->inputs->sandbox_policy_path, reason);
	}
	return result;
}

/* What Landlock leaves open that our seccomp profile closes. */
static bool closed_by_seccomp(const char *gap)
{
	return strcmp(gap, "mptcp") == 0 || strcmp(gap, "sctp") == 0;
}

static json_t *remaining_gaps(const struct landlock_ruleset *ruleset)
{
	json_t *open = json_array();
	json_t *gaps = json_object_get(ruleset->receipt, "not_restricted");
	size_t index;
	json_t *gap;
	json_array_foreach(gaps, index, gap)
		if (json_is_string(gap) && !closed_by_seccomp(json_string_value(gap)))
			json_array_append(open, gap);
	return open;
}

static json_t *string_array(const char *const *strings, size_t count)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < count; i++)
		json_array_append_new(array, json_string(strings[i]));
	return array;
}

static json_t *port_array(const struct port_set *ports)
{
	json_t *array = json_array();
	for (size_t i = 0; array && i < ports->count; i++)
		json_array_append_new(array, json_integer(ports->ports[i]));
	return array;
}

/* Every part's skipped findings in one list, so a reader need not hunt. */
static json_t *all_skipped(const struct confinement_plan *plan, const struct compile_state *state)
{
	json_t *skipped = json_array();
	json_array_extend(skipped, json_object_get(plan->ruleset.receipt, "skipped"));
	json_array_extend(skipped, json_object_get(plan->identity.receipt, "skipped"));
	json_array_extend(skipped, state->skipped);
	return skipped;
}

static int assemble_receipt(struct confinement_plan *plan, const struct compile_state *state)
{
	const struct confinement_inputs *inputs = state->inputs;
	json_t *seccomp = seccomp_program_describe(&plan->seccomp);
	json_t *skipped = all_skipped(plan, state);

	plan->degraded = plan->ruleset.degraded || plan->identity.degraded || state->state_dir_exposed;
	plan->receipt = json_pack(
		"{s:s, s:b, s:b, s:{s:s, s:s?, s:s?}, s:{s:o, s:o, s:b}, s:{s:o, s:o*, s:s}, "
		"s:{s:s?, s:b}, s:O, s:o, s:O, s:O, s:o, s:o}",
		"enforcement", enforcement_name(plan->enforcement),
		"enforceable", true,
		"degraded", plan->degraded,
		"policy",
		"sandbox", inputs->sandbox_policy_path ? inputs->sandbox_policy_path : "built-in default",
		"mode", inputs->mode_policy_path,
		"mode_name", state->mode.name,
		"filesystem",
		"read_only", string_array((const char *const *)state->sandbox.read_only, state->sandbox.read_only_count),
		"read_write", string_array(state->read_write, state->read_write_count),
		"exec_on_writable", inputs->allow_exec_writable,
		"network",
		"tcp_connect_ports", port_array(&state->ports),
		"proxy_port", state->proxy_port ? json_integer(state->proxy_port) : NULL,
		"tcp_bind", "denied",
		"state_dir",
		"path", inputs->state_dir,
		"protected", !state->state_dir_exposed,
		"landlock", plan->ruleset.receipt,
		"seccomp", seccomp ? seccomp : json_null(),
		"process", plan->identity.receipt,
		"environment", plan->environment.receipt,
		"skipped", skipped ? skipped : json_array(),
		"open", remaining_gaps(&plan->ruleset));
	return plan->receipt ? 0 : -ENOMEM;
}

static void compile_state_release(struct compile_state *state)
{
	sandbox_policy_release(&state->sandbox);
	mode_policy_release(&state->mode);
	port_set_release(&state->ports);
	free(state->read_write);
	json_decref(state->skipped);
}

int plan_compile(const struct confinement_inputs *inputs, struct confinement_plan **out,
		 struct confinement_error *error)
{
	struct compile_state state = { .inputs = inputs, .skipped = json_array() };
	struct confinement_plan *plan = calloc(1, sizeof(*plan));
	int result = -ENOMEM;

	error->message[0] = '\0';
	if (!plan || !state.skipped)
		goto out;
	plan->ruleset.ruleset_fd = -1;
	if ((result = load_policies(&state, error)) < 0)
		goto out;
	plan->enforcement = decide_enforcement(&state);
	if ((result = collect_connect_ports(&state, error)) < 0)
		goto out;
	if ((result = collect_read_write(&state)) < 0)
		goto out;
	if ((result = check_state_dir(&state, plan->enforcement, error)) < 0)
		goto out;
	if ((result = build_ruleset(plan, &state, error)) < 0)
		goto out;
	if ((result = seccomp_program_build(&plan->seccomp, error)) < 0)
		goto out;
	if ((result = build_identity(plan, &state, error)) < 0)
		goto out;
	if ((result = environment_build(inputs->environment, inputs->pass_env, &plan->environment, error)) < 0)
		goto out;
	result = assemble_receipt(plan, &state);
out:
	if (result == -ENOMEM && !error->message[0])
		fail(error, result, "out of memory while compiling the confinement plan");
	compile_state_release(&state);
	if (result < 0) {
		plan_free(plan);
		plan = NULL;
	}
	*out = plan;
	return result;
}

void plan_free(struct confinement_plan *plan)
{
	if (!plan)
		return;
	ruleset_release(&plan->ruleset);
	seccomp_program_release(&plan->seccomp);
	identity_plan_release(&plan->identity);
	environment_release(&plan->environment);
	json_decref(plan->receipt);
	free(plan);
}

json_t *plan_receipt(const struct confinement_plan *plan)
{
	return json_incref(plan->receipt);
}

bool plan_degraded(const struct confinement_plan *plan)
{
	return plan->degraded;
}

char *const *plan_environment(const struct confinement_plan *plan)
{
	return plan->environment.envp;
}

/* The order matters: limits while we may still set them; groups, gid, uid
 * while we still hold the privilege; capabilities after the uid change (which
 * could otherwise restore them); no_new_privs before Landlock and seccomp,
 * which require it; seccomp last, so its denials cannot trip the steps above. */
int plan_apply(const struct confinement_plan *plan, const char **failed_step)
{
	int result;

	*failed_step = "rlimits";
	if ((result = identity_apply_rlimits(&plan->identity)) < 0)
		return result;
	*failed_step = "identity";
	if ((result = identity_apply_user(&plan->identity)) < 0)
		return result;
	*failed_step = "capabilities";
	if ((result = identity_drop_capabilities(&plan->identity)) < 0)
		return result;
	*failed_step = "no_new_privs";
	if ((result = identity_set_no_new_privs()) < 0)
		return result;
	*failed_step = "landlock";
	if ((result = ruleset_apply(&plan->ruleset)) < 0)
		return result;
	*failed_step = "seccomp";
	return seccomp_program_load(&plan->seccomp);
}

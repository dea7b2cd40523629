#include "init/confinement.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init/log.h"

#define OPENSHELL_DEFAULT_POLICY "/etc/openshell/policy.yaml"

/* A mode names a file in the policy directory: it must not be able to name
 * anything else. */
static bool mode_name_is_safe(const char *mode)
{
	if (!*mode || strlen(mode) > 64)
		return false;
	for (const char *c = mode; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

static enum enforcement parse_enforcement(const char *name)
{
	if (!name)
		return ENFORCEMENT_UNSET;
	return strcmp(name, "hard_requirement") == 0 ? ENFORCEMENT_HARD_REQUIREMENT : ENFORCEMENT_BEST_EFFORT;
}

static int fill_inputs(const struct config *config, const char *mode, struct confinement_inputs *inputs,
		       char *mode_path, size_t mode_path_size, char *reason, size_t reason_size)
{
	*inputs = (struct confinement_inputs){
		.sandbox_policy_path = config->policy_file,
		.workspace = config->workspace,
		.state_dir = config->events_spool,
		.enforcement = parse_enforcement(config->enforcement),
		.allow_exec_writable = config->allow_exec_writable,
		.pass_env = config->pass_env,
		.environment = (const char *const *)environ,
	};
	if (!inputs->sandbox_policy_path && access(OPENSHELL_DEFAULT_POLICY, F_OK) == 0)
		inputs->sandbox_policy_path = OPENSHELL_DEFAULT_POLICY;
	if (!mode)
		return 0;
	if (!mode_name_is_safe(mode)) {
		snprintf(reason, reason_size, "--mode: \"%s\" is not a policy name (a-z, 0-9, '-', '_')", mode);
		return -EINVAL;
	}
	snprintf(mode_path, mode_path_size, "%s/%s.yaml", config->policy_dir, mode);
	if (access(mode_path, R_OK) < 0) {
		snprintf(reason, reason_size, "--mode %s: cannot read \"%s\": %s", mode, mode_path, strerror(errno));
		return -errno;
	}
	inputs->mode_policy_path = mode_path;
	return 0;
}

int confinement_prepare(const struct config *config, const char *mode, struct confinement_plan **plan,
			char *reason, size_t reason_size)
{
	struct confinement_inputs inputs;
	struct confinement_error error;
	char mode_path[4096];

	*plan = NULL;
	int result = fill_inputs(config, mode, &inputs, mode_path, sizeof(mode_path), reason, reason_size);
	if (result < 0)
		return result;
	result = plan_compile(&inputs, plan, &error);
	if (result < 0)
		snprintf(reason, reason_size, "%s%s", result == -EPERM ? "policy not enforceable: " : "",
			 error.message);
	return result;
}

int confinement_check(const struct config *config, const char *mode, json_t **receipt, char *reason,
		      size_t reason_size)
{
	struct confinement_inputs inputs;
	struct confinement_error error;
	struct confinement_plan *plan;
	char mode_path[4096];

	*receipt = NULL;
	int result = fill_inputs(config, mode, &inputs, mode_path, sizeof(mode_path), reason, reason_size);
	if (result < 0)
		return result;
	result = plan_compile(&inputs, &plan, &error);
	if (result == -EPERM) {
		/* Show what would hold, then say plainly that it is not enough. */
		snprintf(reason, reason_size, "policy not enforceable: %s", error.message);
		inputs.enforcement = ENFORCEMENT_BEST_EFFORT;
		if (plan_compile(&inputs, &plan, &error) < 0)
			return -EPERM;
		*receipt = plan_receipt(plan);
		json_object_set_new(*receipt, "enforcement", json_string("hard_requirement"));
		json_object_set_new(*receipt, "enforceable", json_false());
		json_object_set_new(*receipt, "refused", json_string(reason));
		plan_free(plan);
		return -EPERM;
	}
	if (result < 0) {
		snprintf(reason, reason_size, "%s", error.message);
		return result;
	}
	*receipt = plan_receipt(plan);
	plan_free(plan);
	return 0;
}

void confinement_log_receipt(const struct confinement_plan *plan)
{
	json_t *receipt = plan_receipt(plan);
	log_info("policy applied", "{s:O}", "receipt", receipt);
	if (plan_degraded(plan))
		log_warn("enforcement degraded: best_effort left part of the policy unenforced", "{s:O}",
			 "skipped", json_object_get(receipt, "skipped"));
	json_decref(receipt);
}

int confinement_apply(const void *plan, const char **failed_step)
{
	return plan_apply(plan, failed_step);
}

/* The seccomp part of the enforcement receipt, read from the same rule table
 * the filter is compiled from. */
#include "landlock/seccomp.h"

#include <stdio.h>
#include <string.h>

#include "landlock/seccomp_rules.h"

static const char *const match_names[] = {
	[MATCH_NOTHING] = "nothing",
	[MATCH_ANY_OF] = "any_of",
	[MATCH_NONE_OF] = "none_of",
	[MATCH_ANY_BIT] = "any_bit",
};

static json_t *hexadecimal(uint32_t value)
{
	char text[16];

	snprintf(text, sizeof(text), "0x%x", value);
	return json_string(text);
}

static json_t *describe_values(const struct argument_condition *condition)
{
	json_t *values = json_array();

	for (unsigned int i = 0; values && i < condition->value_count; i++) {
		if (json_array_append_new(values, json_integer(condition->values[i])) < 0) {
			json_decref(values);
			return NULL;
		}
	}
	return values;
}

/* {"argument":0,"match":"none_of","mask":"0xffffffff","values":[1,2,10,16]},
 * or {"argument":0,"match":"any_bit","mask":"0x7e020000"}. */
static json_t *describe_condition(const struct argument_condition *condition)
{
	json_t *described = json_pack("{s:I, s:s, s:o}", "argument", (json_int_t)condition->index,
				      "match", match_names[condition->match], "mask",
				      hexadecimal(condition->mask));

	if (described && condition->match != MATCH_ANY_BIT &&
	    json_object_set_new(described, "values", describe_values(condition)) < 0) {
		json_decref(described);
		return NULL;
	}
	return described;
}

static json_t *describe_conditions(const struct seccomp_rule *rule)
{
	json_t *conditions = json_array();

	for (size_t i = 0; conditions && i < sizeof(rule->when) / sizeof(rule->when[0]); i++) {
		if (rule->when[i].match == MATCH_NOTHING)
			continue;
		if (json_array_append_new(conditions, describe_condition(&rule->when[i])) < 0) {
			json_decref(conditions);
			return NULL;
		}
	}
	return conditions;
}

static json_t *describe_rule(const struct seccomp_rule *rule)
{
	const char *error_name = strerrorname_np(rule->error);
	json_t *described = json_pack("{s:s, s:s, s:s}", "syscall", rule->syscall, "errno",
				      error_name ? error_name : "unknown", "why", rule->why);

	if (described && rule->when[0].match != MATCH_NOTHING &&
	    json_object_set_new(described, "when", describe_conditions(rule)) < 0) {
		json_decref(described);
		return NULL;
	}
	return described;
}

static int append_rules(json_t *denied, json_t *conditional)
{
	for (size_t i = 0; i < seccomp_rule_count; i++) {
		const struct seccomp_rule *rule = &seccomp_rules[i];
		json_t *list = rule->when[0].match == MATCH_NOTHING ? denied : conditional;

		if (json_array_append_new(list, describe_rule(rule)) < 0)
			return -1;
	}
	return 0;
}

static json_t *describe_allowed_on_purpose(void)
{
	json_t *allowed = json_array();

	for (size_t i = 0; allowed && i < seccomp_allowed_on_purpose_count; i++) {
		const struct seccomp_rule *decision = &seccomp_allowed_on_purpose[i];

		if (json_array_append_new(allowed, json_pack("{s:s, s:s}", "syscall",
							     decision->syscall, "why",
							     decision->why)) < 0) {
			json_decref(allowed);
			return NULL;
		}
	}
	return allowed;
}

json_t *seccomp_program_describe(const struct seccomp_program *program)
{
	json_t *denied = json_array(), *conditional = json_array();
	json_t *profile = NULL;

	if (!denied || !conditional || append_rules(denied, conditional) < 0)
		goto out;
	profile = json_pack("{s:s, s:s, s:[s, s], s:I, s:O, s:O, s:o}",
			    "profile", "sandbox-init-default",
			    "default_action", "allow",
			    "kill_process",
			    "any architecture but the native one, including i386 int 0x80 entry",
			    "x32 syscall numbers (nr & 0x40000000)",
			    "instructions", (json_int_t)program->program.len,
			    "denied", denied,
			    "conditional", conditional,
			    "allowed_on_purpose", describe_allowed_on_purpose());
out:
	json_decref(denied);
	json_decref(conditional);
	return profile;
}

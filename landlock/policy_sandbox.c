/* The OpenShell sandbox policy (--policy), read as OpenShell reads it
 * (crates/openshell-policy): version 1, filesystem_policy, landlock, process,
 * network_policies; any other field is an error. */
#include "landlock/policy.h"
#include "landlock/policy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sandbox_fields[] = {
	"version", "filesystem_policy", "landlock", "process", "network_policies", NULL,
};
static const char *const filesystem_fields[] = {
	"include_workdir", "read_only", "read_write", NULL,
};
static const char *const landlock_fields[] = { "compatibility", NULL };
static const char *const process_fields[] = { "run_as_user", "run_as_group", NULL };

/* Landlock needs one open fd per rule at compile time; OpenShell caps it too. */
static int check_path_count(const struct policy_reader *reader, const struct policy_node *node)
{
	const struct policy_node *read_only = policy_field(node, "read_only");
	const struct policy_node *read_write = policy_field(node, "read_write");
	size_t total = (read_only ? read_only->count : 0) + (read_write ? read_write->count : 0);

	if (total > POLICY_MAX_PATHS)
		return policy_reject(reader, node, "%zu paths, more than %d", total,
				     POLICY_MAX_PATHS);
	return 0;
}

static int read_path_list(const struct policy_reader *reader, const struct policy_node *node,
			  char ***paths, size_t *count)
{
	int ret = policy_expect_sequence(reader, node);

	if (ret < 0 || node->count == 0)
		return ret;
	*paths = calloc(node->count, sizeof(**paths));
	if (!*paths)
		return policy_out_of_memory(reader);
	for (size_t i = 0; i < node->count; i++) {
		ret = policy_read_path(reader, node->children[i], &(*paths)[i]);
		if (ret < 0)
			return ret;
		*count = i + 1;
	}
	return 0;
}

/* Writable "/" would make every other rule pointless (OpenShell refuses it too). */
static int check_read_write_scope(const struct policy_reader *reader,
				  const struct policy_node *node, const struct sandbox_policy *policy)
{
	for (size_t i = 0; i < policy->read_write_count; i++)
		if (strcmp(policy->read_write[i], "/") == 0)
			return policy_reject(reader, node->children[i],
					     "the whole filesystem cannot be read-write: \"/\"");
	return 0;
}

static int read_filesystem(const struct policy_reader *reader, const struct policy_node *node,
			   struct sandbox_policy *policy)
{
	const struct policy_node *field;
	int ret = policy_expect_mapping(reader, node);

	if (ret == 0)
		ret = policy_check_fields(reader, node, filesystem_fields);
	if (ret == 0)
		ret = check_path_count(reader, node);
	if (ret < 0)
		return ret;
	/* A present section without include_workdir means false (serde default). */
	policy->include_workdir = false;
	field = policy_field(node, "include_workdir");
	if (field && (ret = policy_read_boolean(reader, field, &policy->include_workdir)) < 0)
		return ret;
	field = policy_field(node, "read_only");
	if (field && (ret = read_path_list(reader, field, &policy->read_only,
					   &policy->read_only_count)) < 0)
		return ret;
	field = policy_field(node, "read_write");
	if (field && (ret = read_path_list(reader, field, &policy->read_write,
					   &policy->read_write_count)) < 0)
		return ret;
	return field ? check_read_write_scope(reader, field, policy) : 0;
}

static int read_landlock(const struct policy_reader *reader, const struct policy_node *node,
			 struct sandbox_policy *policy)
{
	char shown[POLICY_QUOTE_SIZE];
	const struct policy_node *field;
	const char *value;
	int ret = policy_expect_mapping(reader, node);

	if (ret == 0)
		ret = policy_check_fields(reader, node, landlock_fields);
	if (ret < 0)
		return ret;
	field = policy_field(node, "compatibility");
	if (!field)
		return 0;
	ret = policy_read_string(reader, field, &value);
	if (ret < 0)
		return ret;
	if (strcmp(value, "best_effort") == 0)
		policy->compatibility = ENFORCEMENT_BEST_EFFORT;
	else if (strcmp(value, "hard_requirement") == 0)
		policy->compatibility = ENFORCEMENT_HARD_REQUIREMENT;
	else
		return policy_reject(reader, field,
				     "unknown value %s (expected best_effort or hard_requirement)",
				     policy_quote(field->text, field->length, shown, sizeof(shown)));
	return 0;
}

static bool is_decimal(const char *text)
{
	if (*text == '\0')
		return false;
	for (; *text; text++)
		if (*text < '0' || *text > '9')
			return false;
	return true;
}

/* POSIX portable user and group names (useradd's default rule, with upper
 * case allowed), up to 32 bytes, an optional trailing "$" for machine accounts. */
static bool is_identity_name(const char *text)
{
	size_t length = strlen(text);

	if (length > 0 && text[length - 1] == '$')
		length--;
	if (length == 0 || length > 32 || text[0] == '-' || text[0] == '.' ||
	    (text[0] >= '0' && text[0] <= '9'))
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* OpenShell accepts a name or an id in 1..4294967294: 0 is root, and
 * (uid_t)-1 means "unchanged" to setresuid(2). */
static int read_identity(const struct policy_reader *reader, const struct policy_node *node,
			 char **copy)
{
	char shown[POLICY_QUOTE_SIZE], number[16];
	unsigned long long id;
	const char *value;
	int ret = policy_read_string(reader, node, &value);

	if (ret < 0)
		return ret;
	policy_quote(node->text, node->length, shown, sizeof(shown));
	if (is_decimal(value)) {
		id = node->length <= 10 ? strtoull(value, NULL, 10) : ~0ULL;
		if (id == 0)
			return policy_reject(reader, node, "root is not a sandbox identity: %s",
					     shown);
		if (id > 4294967294ULL)
			return policy_reject(reader, node, "id must be in 1..4294967294: %s", shown);
		snprintf(number, sizeof(number), "%llu", id);
		value = number;
	} else if (!is_identity_name(value)) {
		return policy_reject(reader, node, "not a user or group name or numeric id: %s",
				     shown);
	} else if (strcmp(value, "root") == 0) {
		return policy_reject(reader, node, "root is not a sandbox identity: %s", shown);
	}
	*copy = strdup(value);
	return *copy ? 0 : policy_out_of_memory(reader);
}

static int read_process(const struct policy_reader *reader, const struct policy_node *node,
			struct sandbox_policy *policy)
{
	const struct policy_node *field;
	int ret = policy_expect_mapping(reader, node);

	if (ret == 0)
		ret = policy_check_fields(reader, node, process_fields);
	if (ret < 0)
		return ret;
	field = policy_field(node, "run_as_user");
	if (field && (ret = read_identity(reader, field, &policy->run_as_user)) < 0)
		return ret;
	field = policy_field(node, "run_as_group");
	if (field && (ret = read_identity(reader, field, &policy->run_as_group)) < 0)
		return ret;
	return 0;
}

static int read_sandbox(const struct policy_reader *reader, const struct policy_node *root,
			struct sandbox_policy *policy)
{
	const struct policy_node *section;
	int ret = policy_expect_mapping(reader, root);

	if (ret == 0)
		ret = policy_check_fields(reader, root, sandbox_fields);
	if (ret == 0)
		ret = policy_read_version(reader, root);
	if (ret < 0)
		return ret;
	/* OpenShell's FilesystemPolicy::default(): no section, only the workdir. */
	policy->include_workdir = true;
	section = policy_field(root, "filesystem_policy");
	if (section && (ret = read_filesystem(reader, section, policy)) < 0)
		return ret;
	section = policy_field(root, "landlock");
	if (section && (ret = read_landlock(reader, section, policy)) < 0)
		return ret;
	section = policy_field(root, "process");
	if (section && (ret = read_process(reader, section, policy)) < 0)
		return ret;
	section = policy_field(root, "network_policies");
	if (section)
		ret = policy_read_network_policies(reader, section, &policy->connect_ports,
						   &policy->connect_port_count);
	return ret;
}

int policy_parse_sandbox(const char *name, const char *text, size_t length,
			 struct sandbox_policy *out, struct confinement_error *error)
{
	const struct policy_reader reader = { .name = name, .error = error };
	struct sandbox_policy policy = { 0 };
	struct policy_node *root = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = policy_document_parse(&reader, text, length, &root);
	if (ret == 0)
		ret = read_sandbox(&reader, root, &policy);
	if (ret == 0) {
		*out = policy;
		memset(&policy, 0, sizeof(policy));
	}
	sandbox_policy_release(&policy);
	policy_node_free(root);
	return ret;
}

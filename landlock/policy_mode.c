/* Kartograph mode policies (<policy-dir>/<mode>.yaml), as Kartograph ships
 * them in src/api/extraction/infrastructure/openshell/policies/: version,
 * name, enforcement, description, endpoints ("host:port:access", the
 * argument of `openshell policy update --add-endpoint`), l7_allowed_paths. */
#include "landlock/policy.h"
#include "landlock/policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_fields[] = {
	"version", "name", "enforcement", "description", "endpoints", "l7_allowed_paths", NULL,
};

/* OpenShell's access presets (openshell-cli policy_update.rs). */
static const char *const access_presets[] = { "read-only", "read-write", "full", NULL };

static bool is_host_character(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '*';
}

/* A DNS name; "*" only in the first label and never over a bare TLD
 * ("*.github.com" yes, "*.com", "api.*.com" and "*" no), as OpenShell allows. */
static bool is_host(const char *host, size_t length)
{
	size_t labels = 1;
	bool wildcard = false;

	if (length == 0 || length > 253 || host[0] == '.' || host[length - 1] == '.')
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!is_host_character(host[i]))
			return false;
		if (host[i] == '.') {
			if (host[i + 1] == '.')
				return false;
			labels++;
		}
		if (host[i] == '*') {
			if (labels > 1)
				return false;
			wildcard = true;
		}
	}
	return !wildcard || labels >= 3;
}

static bool parse_port(const char *text, size_t length, uint16_t *port)
{
	unsigned value = 0;

	if (length == 0 || length > 5)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	if (value < 1 || value > 65535)
		return false;
	*port = (uint16_t)value;
	return true;
}

static const char *find_access(const char *text, size_t length)
{
	for (const char *const *preset = access_presets; *preset; preset++)
		if (strlen(*preset) == length && memcmp(*preset, text, length) == 0)
			return *preset;
	return NULL;
}

static int read_endpoint(const struct policy_reader *reader, const struct policy_node *node,
			 struct mode_endpoint *endpoint)
{
	const char *text, *first, *last, *access;
	size_t length = node->length;
	char shown[POLICY_QUOTE_SIZE];
	int ret = policy_read_string(reader, node, &text);

	if (ret < 0)
		return ret;
	policy_quote(text, length, shown, sizeof(shown));
	first = memchr(text, ':', length);
	last = memrchr(text, ':', length);
	if (!first || first == last || memchr(first + 1, ':', (size_t)(last - first - 1)))
		return policy_reject(reader, node, "expected \"host:port:access\", got %s", shown);
	if (!is_host(text, (size_t)(first - text)))
		return policy_reject(reader, node, "invalid host: %s", shown);
	if (!parse_port(first + 1, (size_t)(last - first - 1), &endpoint->port))
		return policy_reject(reader, node, "port must be a decimal number in 1..65535: %s",
				     shown);
	access = find_access(last + 1, length - (size_t)(last + 1 - text));
	if (!access)
		return policy_reject(reader, node,
				     "unknown access (expected read-only, read-write or full): %s",
				     shown);
	endpoint->host = strndup(text, (size_t)(first - text));
	endpoint->access = strdup(access);
	if (!endpoint->host || !endpoint->access)
		return policy_out_of_memory(reader);
	return 0;
}

static int read_endpoints(const struct policy_reader *reader, const struct policy_node *node,
			  struct mode_policy *policy)
{
	int ret = policy_expect_sequence(reader, node);

	if (ret < 0 || node->count == 0)
		return ret;
	policy->endpoints = calloc(node->count, sizeof(*policy->endpoints));
	if (!policy->endpoints)
		return policy_out_of_memory(reader);
	for (size_t i = 0; i < node->count; i++) {
		/* Counted first so that release frees a half-read endpoint. */
		policy->endpoint_count = i + 1;
		ret = read_endpoint(reader, node->children[i], &policy->endpoints[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* HTTP path globs the OpenShell proxy matches requests against. */
static int read_l7_path(const struct policy_reader *reader, const struct policy_node *node,
			char **copy)
{
	char shown[POLICY_QUOTE_SIZE];
	const char *path;
	int ret = policy_read_string(reader, node, &path);

	if (ret < 0)
		return ret;
	policy_quote(path, node->length, shown, sizeof(shown));
	if (path[0] != '/')
		return policy_reject(reader, node, "must start with \"/\": %s", shown);
	for (size_t i = 0; i < node->length; i++)
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
			return policy_reject(reader, node,
					     "must not contain spaces or control characters: %s",
					     shown);
	*copy = strdup(path);
	return *copy ? 0 : policy_out_of_memory(reader);
}

static int read_l7_paths(const struct policy_reader *reader, const struct policy_node *node,
			 struct mode_policy *policy)
{
	int ret = policy_expect_sequence(reader, node);

	if (ret < 0 || node->count == 0)
		return ret;
	policy->l7_allowed_paths = calloc(node->count, sizeof(*policy->l7_allowed_paths));
	if (!policy->l7_allowed_paths)
		return policy_out_of_memory(reader);
	for (size_t i = 0; i < node->count; i++) {
		ret = read_l7_path(reader, node->children[i], &policy->l7_allowed_paths[i]);
		if (ret < 0)
			return ret;
		policy->l7_allowed_path_count = i + 1;
	}
	return 0;
}

/* Kartograph writes "soft" (its PolicyEnforcement literal); OpenShell says
 * "best_effort": both mean the same. */
static int read_enforcement(const struct policy_reader *reader, const struct policy_node *node,
			    enum enforcement *enforcement)
{
	char shown[POLICY_QUOTE_SIZE];
	const char *value;
	int ret = policy_read_string(reader, node, &value);

	if (ret < 0)
		return ret;
	if (strcmp(value, "soft") == 0 || strcmp(value, "best_effort") == 0)
		*enforcement = ENFORCEMENT_BEST_EFFORT;
	else if (strcmp(value, "hard_requirement") == 0)
		*enforcement = ENFORCEMENT_HARD_REQUIREMENT;
	else
		return policy_reject(
			reader, node,
			"unknown value %s (expected soft, best_effort or hard_requirement)",
			policy_quote(node->text, node->length, shown, sizeof(shown)));
	return 0;
}

static int read_name(const struct policy_reader *reader, const struct policy_node *node,
		     char **name)
{
	int ret = policy_copy_string(reader, node, name);

	if (ret == 0 && node->length == 0)
		return policy_reject(reader, node, "must not be empty");
	return ret;
}

static int read_mode(const struct policy_reader *reader, const struct policy_node *root,
		     struct mode_policy *policy)
{
	const struct policy_node *field;
	int ret = policy_expect_mapping(reader, root);

	if (ret == 0)
		ret = policy_check_fields(reader, root, mode_fields);
	if (ret == 0)
		ret = policy_read_version(reader, root);
	if (ret < 0)
		return ret;
	field = policy_field(root, "name");
	if (field && (ret = read_name(reader, field, &policy->name)) < 0)
		return ret;
	field = policy_field(root, "enforcement");
	if (field && (ret = read_enforcement(reader, field, &policy->enforcement)) < 0)
		return ret;
	field = policy_field(root, "description");
	if (field && (ret = policy_copy_string(reader, field, &policy->description)) < 0)
		return ret;
	field = policy_field(root, "endpoints");
	if (field && (ret = read_endpoints(reader, field, policy)) < 0)
		return ret;
	field = policy_field(root, "l7_allowed_paths");
	if (field)
		ret = read_l7_paths(reader, field, policy);
	return ret;
}

int policy_parse_mode(const char *name, const char *text, size_t length, struct mode_policy *out,
		      struct confinement_error *error)
{
	const struct policy_reader reader = { .name = name, .error = error };
	struct mode_policy policy = { 0 };
	struct policy_node *root = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = policy_document_parse(&reader, text, length, &root);
	if (ret == 0)
		ret = read_mode(&reader, root, &policy);
	if (ret == 0) {
		*out = policy;
		memset(&policy, 0, sizeof(policy));
	}
	mode_policy_release(&policy);
	policy_node_free(root);
	return ret;
}

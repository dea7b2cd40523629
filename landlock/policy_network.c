/* OpenShell's network_policies.  sandbox-init only needs the TCP ports of the
 * endpoints (its Landlock connect allow-list); the rest is OpenShell's proxy's
 * business.  The whole section is still checked against OpenShell's schema
 * (crates/openshell-policy, every struct deny_unknown_fields), so a typo is an
 * error here as it is there, never a silently ignored rule. */
#include "landlock/policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum shape {
	SHAPE_STRING,
	SHAPE_BOOLEAN,
	SHAPE_UNSIGNED,
	SHAPE_STRINGS,
	SHAPE_UNSIGNEDS,
	SHAPE_OBJECT,      /* a mapping with the listed fields */
	SHAPE_OBJECTS,     /* a sequence of such mappings */
	SHAPE_OBJECT_MAP,  /* free names, each to such a mapping */
	SHAPE_MATCHER,     /* "glob", or {any: [globs]} */
	SHAPE_MATCHER_MAP, /* free names, each to a matcher */
	SHAPE_PARAM_MAP,   /* free names, each to a matcher or a nested param map */
};

struct shape_field {
	const char *name;
	enum shape shape;
	const struct shape_field *fields; /* for the SHAPE_OBJECT* shapes */
	bool required;
};

static const struct shape_field graphql_operation_fields[] = {
	{ "operation_type", SHAPE_STRING, NULL, false },
	{ "operation_name", SHAPE_STRING, NULL, false },
	{ "fields", SHAPE_STRINGS, NULL, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

/* An allow rule's "allow" object and a deny rule share these fields. */
static const struct shape_field l7_rule_fields[] = {
	{ "method", SHAPE_STRING, NULL, false },
	{ "path", SHAPE_STRING, NULL, false },
	{ "command", SHAPE_STRING, NULL, false },
	{ "query", SHAPE_MATCHER_MAP, NULL, false },
	{ "operation_type", SHAPE_STRING, NULL, false },
	{ "operation_name", SHAPE_STRING, NULL, false },
	{ "fields", SHAPE_STRINGS, NULL, false },
	{ "tool", SHAPE_MATCHER, NULL, false },
	{ "params", SHAPE_PARAM_MAP, NULL, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field allow_rule_fields[] = {
	{ "allow", SHAPE_OBJECT, l7_rule_fields, true },
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field credential_binding_fields[] = {
	{ "provider", SHAPE_STRING, NULL, true },
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field json_rpc_fields[] = {
	{ "max_body_bytes", SHAPE_UNSIGNED, NULL, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field mcp_fields[] = {
	{ "max_body_bytes", SHAPE_UNSIGNED, NULL, false },
	{ "strict_tool_names", SHAPE_BOOLEAN, NULL, false },
	{ "allow_all_known_mcp_methods", SHAPE_BOOLEAN, NULL, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field endpoint_fields[] = {
	{ "host", SHAPE_STRING, NULL, false },
	{ "path", SHAPE_STRING, NULL, false },
	{ "port", SHAPE_UNSIGNED, NULL, false },
	{ "ports", SHAPE_UNSIGNEDS, NULL, false },
	{ "protocol", SHAPE_STRING, NULL, false },
	{ "tls", SHAPE_STRING, NULL, false },
	{ "enforcement", SHAPE_STRING, NULL, false },
	{ "access", SHAPE_STRING, NULL, false },
	{ "rules", SHAPE_OBJECTS, allow_rule_fields, false },
	{ "allowed_ips", SHAPE_STRINGS, NULL, false },
	{ "deny_rules", SHAPE_OBJECTS, l7_rule_fields, false },
	{ "allow_encoded_slash", SHAPE_BOOLEAN, NULL, false },
	{ "websocket_credential_rewrite", SHAPE_BOOLEAN, NULL, false },
	{ "request_body_credential_rewrite", SHAPE_BOOLEAN, NULL, false },
	{ "allow_uninspected_credentials", SHAPE_BOOLEAN, NULL, false },
	{ "persisted_queries", SHAPE_STRING, NULL, false },
	{ "graphql_persisted_queries", SHAPE_OBJECT_MAP, graphql_operation_fields, false },
	{ "graphql_max_body_bytes", SHAPE_UNSIGNED, NULL, false },
	{ "credential_signing", SHAPE_STRING, NULL, false },
	{ "signing_service", SHAPE_STRING, NULL, false },
	{ "signing_region", SHAPE_STRING, NULL, false },
	{ "credential_binding", SHAPE_OBJECT, credential_binding_fields, false },
	{ "json_rpc", SHAPE_OBJECT, json_rpc_fields, false },
	{ "mcp", SHAPE_OBJECT, mcp_fields, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field binary_fields[] = {
	{ "path", SHAPE_STRING, NULL, true },
	{ "harness", SHAPE_BOOLEAN, NULL, false }, /* deprecated, still accepted */
	{ NULL, SHAPE_STRING, NULL, false },
};

static const struct shape_field network_policy_fields[] = {
	{ "name", SHAPE_STRING, NULL, false },
	{ "endpoints", SHAPE_OBJECTS, endpoint_fields, false },
	{ "binaries", SHAPE_OBJECTS, binary_fields, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

static int check_shape(const struct policy_reader *reader, const struct policy_node *node,
		       const struct shape_field *field);

static const struct shape_field *find_field(const struct shape_field *fields,
					    const struct policy_node *key)
{
	for (; fields->name; fields++)
		if (strlen(fields->name) == key->length &&
		    memcmp(fields->name, key->text, key->length) == 0)
			return fields;
	return NULL;
}

static int check_object(const struct policy_reader *reader, const struct policy_node *node,
			const struct shape_field *fields)
{
	int ret = policy_expect_mapping(reader, node);

	for (size_t i = 0; ret == 0 && i < node->count; i++) {
		const struct shape_field *field = find_field(fields, node->children[i]->key);
		if (!field)
			return policy_reject_unknown(reader, node->children[i]);
		ret = check_shape(reader, node->children[i], field);
	}
	for (; ret == 0 && fields->name; fields++)
		if (fields->required && !policy_field(node, fields->name))
			ret = policy_reject_missing(reader, node, fields->name);
	return ret;
}

/* Map keys name things (policies, query parameters, persisted queries). */
static int check_name(const struct policy_reader *reader, const struct policy_node *key)
{
	const char *name;
	int ret = policy_read_string(reader, key, &name);

	if (ret == 0 && key->length == 0)
		ret = policy_reject(reader, key, "names must not be empty");
	return ret;
}

static int check_sequence(const struct policy_reader *reader, const struct policy_node *node,
			  const struct shape_field *item)
{
	int ret = policy_expect_sequence(reader, node);

	for (size_t i = 0; ret == 0 && i < node->count; i++)
		ret = check_shape(reader, node->children[i], item);
	return ret;
}

static int check_map(const struct policy_reader *reader, const struct policy_node *node,
		     const struct shape_field *value)
{
	int ret = policy_expect_mapping(reader, node);

	for (size_t i = 0; ret == 0 && i < node->count; i++) {
		ret = check_name(reader, node->children[i]->key);
		if (ret == 0)
			ret = check_shape(reader, node->children[i], value);
	}
	return ret;
}

static const struct shape_field string_item = { "", SHAPE_STRING, NULL, false };
static const struct shape_field unsigned_item = { "", SHAPE_UNSIGNED, NULL, false };
static const struct shape_field matcher_item = { "", SHAPE_MATCHER, NULL, false };
static const struct shape_field param_item = { "", SHAPE_PARAM_MAP, NULL, false };
static const struct shape_field any_fields[] = {
	{ "any", SHAPE_STRINGS, NULL, false },
	{ NULL, SHAPE_STRING, NULL, false },
};

static int check_matcher(const struct policy_reader *reader, const struct policy_node *node)
{
	const char *glob;

	if (node->kind == POLICY_NODE_MAPPING)
		return check_object(reader, node, any_fields);
	return policy_read_string(reader, node, &glob);
}

/* OpenShell's untagged ParamMatcherDef: a matcher first, else nested names. */
static int check_param(const struct policy_reader *reader, const struct policy_node *node)
{
	if (node->kind == POLICY_NODE_MAPPING && !policy_field(node, "any"))
		return check_map(reader, node, &param_item);
	return check_matcher(reader, node);
}

static int check_shape(const struct policy_reader *reader, const struct policy_node *node,
		       const struct shape_field *field)
{
	const struct shape_field object_item = { "", SHAPE_OBJECT, field->fields, false };
	const char *string;
	uint32_t number;
	bool flag;

	switch (field->shape) {
	case SHAPE_STRING:
		return policy_read_string(reader, node, &string);
	case SHAPE_BOOLEAN:
		return policy_read_boolean(reader, node, &flag);
	case SHAPE_UNSIGNED:
		return policy_read_unsigned(reader, node, &number);
	case SHAPE_STRINGS:
		return check_sequence(reader, node, &string_item);
	case SHAPE_UNSIGNEDS:
		return check_sequence(reader, node, &unsigned_item);
	case SHAPE_OBJECT:
		return check_object(reader, node, field->fields);
	case SHAPE_OBJECTS:
		return check_sequence(reader, node, &object_item);
	case SHAPE_OBJECT_MAP:
		return check_map(reader, node, &object_item);
	case SHAPE_MATCHER:
		return check_matcher(reader, node);
	case SHAPE_MATCHER_MAP:
		return check_map(reader, node, &matcher_item);
	case SHAPE_PARAM_MAP:
		return check_param(reader, node);
	}
	return -EINVAL;
}

struct port_list {
	uint16_t *ports;
	size_t count;
	size_t capacity;
};

static int port_list_add(struct port_list *list, uint16_t port)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 16;
		uint16_t *ports = reallocarray(list->ports, capacity, sizeof(*ports));
		if (!ports)
			return -ENOMEM;
		list->ports = ports;
		list->capacity = capacity;
	}
	list->ports[list->count++] = port;
	return 0;
}

static int add_port(const struct policy_reader *reader, const struct policy_node *node,
		    struct port_list *list)
{
	uint16_t port;
	int ret = policy_read_port(reader, node, &port);

	if (ret < 0)
		return ret;
	return port_list_add(list, port) < 0 ? policy_out_of_memory(reader) : 0;
}

/* OpenShell reads "ports" and ignores "port" when both are set; refuse the
 * ambiguity rather than guess which one the author meant. */
static int collect_endpoint_ports(const struct policy_reader *reader,
				  const struct policy_node *endpoint, struct port_list *list)
{
	const struct policy_node *port = policy_field(endpoint, "port");
	const struct policy_node *ports = policy_field(endpoint, "ports");
	int ret = 0;

	if (port && ports)
		return policy_reject(reader, endpoint, "port and ports are mutually exclusive");
	if (port)
		return add_port(reader, port, list);
	if (!ports || ports->count == 0)
		return policy_reject(reader, endpoint, "endpoint has no port (set port or ports)");
	for (size_t i = 0; ret == 0 && i < ports->count; i++)
		ret = add_port(reader, ports->children[i], list);
	return ret;
}

static int collect_policy_ports(const struct policy_reader *reader,
				const struct policy_node *entry, struct port_list *list)
{
	const struct policy_node *endpoints = policy_field(entry, "endpoints");
	int ret = 0;

	for (size_t i = 0; ret == 0 && endpoints && i < endpoints->count; i++)
		ret = collect_endpoint_ports(reader, endpoints->children[i], list);
	return ret;
}

static int compare_ports(const void *left, const void *right)
{
	uint16_t a = *(const uint16_t *)left, b = *(const uint16_t *)right;

	return (a > b) - (a < b);
}

static void sort_unique(struct port_list *list)
{
	size_t kept = 0;

	if (list->count == 0)
		return;
	qsort(list->ports, list->count, sizeof(*list->ports), compare_ports);
	for (size_t i = 1; i < list->count; i++)
		if (list->ports[i] != list->ports[kept])
			list->ports[++kept] = list->ports[i];
	list->count = kept + 1;
}

int policy_read_network_policies(const struct policy_reader *reader,
				 const struct policy_node *node, uint16_t **ports, size_t *count)
{
	const struct shape_field entry = { "", SHAPE_OBJECT, network_policy_fields, false };
	struct port_list list = { 0 };
	int ret = check_map(reader, node, &entry);

	for (size_t i = 0; ret == 0 && i < node->count; i++)
		ret = collect_policy_ports(reader, node->children[i], &list);
	if (ret < 0) {
		free(list.ports);
		return ret;
	}
	sort_unique(&list);
	*ports = list.ports;
	*count = list.count;
	return 0;
}

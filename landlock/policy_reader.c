/* Typed reads from the policy tree: each value is checked for the type and
 * range its field needs, and refused with its place in the document. */
#include "landlock/policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* YAML's null: an empty or "~"/"null" plain scalar (core schema). */
static bool is_null(const struct policy_node *node)
{
	static const char *const spellings[] = { "", "~", "null", "Null", "NULL" };

	if (node->kind != POLICY_NODE_SCALAR || !node->plain)
		return false;
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
		if (strcmp(node->text, spellings[i]) == 0)
			return true;
	return false;
}

const char *policy_node_kind_name(const struct policy_node *node)
{
	switch (node->kind) {
	case POLICY_NODE_SEQUENCE:
		return "a sequence";
	case POLICY_NODE_MAPPING:
		return "a mapping";
	default:
		return is_null(node) ? "null" : "a scalar";
	}
}

const struct policy_node *policy_field(const struct policy_node *mapping, const char *name)
{
	size_t length = strlen(name);

	if (mapping->kind != POLICY_NODE_MAPPING)
		return NULL;
	for (size_t i = 0; i < mapping->count; i++) {
		const struct policy_node *key = mapping->children[i]->key;
		if (key->length == length && memcmp(key->text, name, length) == 0)
			return mapping->children[i];
	}
	return NULL;
}

int policy_expect_mapping(const struct policy_reader *reader, const struct policy_node *node)
{
	if (node->kind != POLICY_NODE_MAPPING)
		return policy_reject(reader, node, "expected a mapping, got %s",
				     policy_node_kind_name(node));
	return 0;
}

int policy_expect_sequence(const struct policy_reader *reader, const struct policy_node *node)
{
	if (node->kind != POLICY_NODE_SEQUENCE)
		return policy_reject(reader, node, "expected a sequence, got %s",
				     policy_node_kind_name(node));
	return 0;
}

static bool is_known(const struct policy_node *key, const char *const *known)
{
	for (; *known; known++)
		if (strlen(*known) == key->length && memcmp(key->text, *known, key->length) == 0)
			return true;
	return false;
}

int policy_check_fields(const struct policy_reader *reader, const struct policy_node *mapping,
			const char *const *known)
{
	for (size_t i = 0; i < mapping->count; i++)
		if (!is_known(mapping->children[i]->key, known))
			return policy_reject_unknown(reader, mapping->children[i]);
	return 0;
}

/* Values become C strings: an embedded NUL ("/tmp\0/../etc") would make the
 * string checked differ from the string used. */
int policy_read_string(const struct policy_reader *reader, const struct policy_node *node,
		       const char **value)
{
	if (node->kind != POLICY_NODE_SCALAR || is_null(node))
		return policy_reject(reader, node, "expected a string, got %s",
				     policy_node_kind_name(node));
	if (memchr(node->text, '\0', node->length))
		return policy_reject(reader, node, "contains a NUL byte");
	*value = node->text;
	return 0;
}

int policy_copy_string(const struct policy_reader *reader, const struct policy_node *node,
		       char **copy)
{
	const char *value;
	int ret = policy_read_string(reader, node, &value);

	if (ret < 0)
		return ret;
	*copy = strdup(value);
	return *copy ? 0 : policy_out_of_memory(reader);
}

int policy_read_boolean(const struct policy_reader *reader, const struct policy_node *node,
			bool *value)
{
	static const char *const truths[] = { "true", "True", "TRUE" };
	static const char *const falsehoods[] = { "false", "False", "FALSE" };
	char shown[POLICY_QUOTE_SIZE];

	if (node->kind == POLICY_NODE_SCALAR && node->plain) {
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(node->text, truths[i]) == 0) {
				*value = true;
				return 0;
			}
			if (strcmp(node->text, falsehoods[i]) == 0) {
				*value = false;
				return 0;
			}
		}
	}
	if (node->kind != POLICY_NODE_SCALAR || is_null(node))
		return policy_reject(reader, node, "expected true or false, got %s",
				     policy_node_kind_name(node));
	return policy_reject(reader, node, "expected true or false, got %s",
			     policy_quote(node->text, node->length, shown, sizeof(shown)));
}

static bool parse_decimal(const char *text, size_t length, uint32_t *value)
{
	uint64_t result = 0;

	/* No sign, no leading zero (YAML 1.1 reads "010" as octal), no hex. */
	if (length == 0 || length > 10 || (text[0] == '0' && length > 1))
		return false;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		result = result * 10 + (uint64_t)(text[i] - '0');
	}
	if (result > UINT32_MAX)
		return false;
	*value = (uint32_t)result;
	return true;
}

int policy_read_unsigned(const struct policy_reader *reader, const struct policy_node *node,
			 uint32_t *value)
{
	char shown[POLICY_QUOTE_SIZE];

	if (node->kind != POLICY_NODE_SCALAR || is_null(node))
		return policy_reject(reader, node, "expected a decimal integer, got %s",
				     policy_node_kind_name(node));
	if (!node->plain)
		return policy_reject(reader, node,
				     "expected a decimal integer, got the quoted string %s",
				     policy_quote(node->text, node->length, shown, sizeof(shown)));
	if (!parse_decimal(node->text, node->length, value))
		return policy_reject(reader, node, "expected a decimal integer, got %s",
				     policy_quote(node->text, node->length, shown, sizeof(shown)));
	return 0;
}

int policy_read_port(const struct policy_reader *reader, const struct policy_node *node,
		     uint16_t *port)
{
	uint32_t value;
	int ret = policy_read_unsigned(reader, node, &value);

	if (ret < 0)
		return ret;
	if (value < 1 || value > 65535)
		return policy_reject(reader, node, "port must be in 1..65535, got %u", value);
	*port = (uint16_t)value;
	return 0;
}

int policy_read_version(const struct policy_reader *reader, const struct policy_node *root)
{
	const struct policy_node *node = policy_field(root, "version");
	uint32_t version;
	int ret;

	if (!node)
		return policy_reject_missing(reader, root, "version");
	ret = policy_read_unsigned(reader, node, &version);
	if (ret < 0)
		return ret;
	if (version != 1)
		return policy_reject(reader, node, "unsupported version %u (only 1 exists)",
				     version);
	return 0;
}

static int refuse_path(const char **reason, const char *why)
{
	*reason = why;
	return -EINVAL;
}

static bool is_component(const char *start, size_t length, const char *name)
{
	return length == strlen(name) && memcmp(start, name, length) == 0;
}

int policy_normalise_path(const char *path, size_t length, char **copy, const char **reason)
{
	char *normal;
	size_t used = 0;

	*copy = NULL;
	if (length == 0)
		return refuse_path(reason, "path must not be empty");
	if (memchr(path, '\0', length))
		return refuse_path(reason, "path contains a NUL byte");
	if (path[0] != '/')
		return refuse_path(reason, "path must be absolute");
	if (length >= POLICY_MAX_PATH_LENGTH)
		return refuse_path(reason, "path is longer than 4095 bytes");
	normal = malloc(length + 1);
	if (!normal)
		return -ENOMEM;
	for (size_t i = 0; i < length;) {
		size_t start, size;

		while (i < length && path[i] == '/')
			i++;
		for (start = i; i < length && path[i] != '/'; i++)
			;
		size = i - start;
		if (size == 0 || is_component(path + start, size, "."))
			continue;
		/* Landlock resolves ".." at open time: "/tmp/../etc" would grant /etc
		 * to a reader who only sees "/tmp". */
		if (is_component(path + start, size, "..")) {
			free(normal);
			return refuse_path(reason, "path must not contain \"..\" components");
		}
		normal[used++] = '/';
		memcpy(normal + used, path + start, size);
		used += size;
	}
	if (used == 0)
		normal[used++] = '/';
	normal[used] = '\0';
	*copy = normal;
	return 0;
}

int policy_read_path(const struct policy_reader *reader, const struct policy_node *node,
		     char **copy)
{
	char shown[POLICY_QUOTE_SIZE];
	const char *value, *reason = NULL;
	int ret = policy_read_string(reader, node, &value);

	if (ret < 0)
		return ret;
	ret = policy_normalise_path(value, node->length, copy, &reason);
	if (ret == -ENOMEM)
		return policy_out_of_memory(reader);
	if (ret < 0)
		return policy_reject(reader, node, "%s: %s", reason,
				     policy_quote(node->text, node->length, shown, sizeof(shown)));
	return 0;
}

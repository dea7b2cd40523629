/* libyaml's event stream turned into a tree of policy_node, refusing on the way
 * everything a policy file has no use for and an attacker might: aliases and
 * anchors, explicit tags, complex keys, duplicate keys, several documents,
 * deep nesting. */
#include "landlock/policy.h"
#include "landlock/policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct frame {
	struct policy_node *node;
	struct policy_node *pending_key; /* a mapping's key waiting for its value */
};

struct builder {
	const struct policy_reader *reader;
	struct policy_node *root;
	struct frame frames[POLICY_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	size_t documents;
};

void policy_node_free(struct policy_node *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->count; i++)
		policy_node_free(node->children[i]);
	free(node->children);
	policy_node_free(node->key);
	free(node->text);
	free(node);
}

static struct policy_node *node_new(enum policy_node_kind kind, const yaml_mark_t *start)
{
	struct policy_node *node = calloc(1, sizeof(*node));

	if (node) {
		node->kind = kind;
		node->line = start->line + 1;
	}
	return node;
}

static int append_child(struct policy_node *parent, struct policy_node *child)
{
	if (parent->count == parent->capacity) {
		size_t capacity = parent->capacity ? parent->capacity * 2 : 8;
		struct policy_node **children =
			reallocarray(parent->children, capacity, sizeof(*children));
		if (!children)
			return -ENOMEM;
		parent->children = children;
		parent->capacity = capacity;
	}
	child->index = parent->count;
	parent->children[parent->count++] = child;
	return 0;
}

/* Takes ownership of node: it ends in the tree, in a frame, or freed. */
static int builder_add(struct builder *builder, struct policy_node *node)
{
	struct frame *frame;

	if (builder->depth == 0) {
		builder->root = node;
		return 0;
	}
	frame = &builder->frames[builder->depth - 1];
	node->parent = frame->node;
	if (frame->node->kind == POLICY_NODE_MAPPING && !frame->pending_key) {
		node->is_key = true;
		frame->pending_key = node;
		if (node->kind != POLICY_NODE_SCALAR)
			return policy_reject(builder->reader, node, "mapping keys must be scalars");
		return 0;
	}
	if (frame->node->kind == POLICY_NODE_MAPPING) {
		node->key = frame->pending_key;
		frame->pending_key = NULL;
	}
	if (append_child(frame->node, node) < 0) {
		policy_node_free(node);
		return policy_out_of_memory(builder->reader);
	}
	return 0;
}

/* Billion-laughs documents blow up through aliases; a policy spells every
 * value out, so anchors (the only use of which is to be aliased) and explicit
 * tags (which change how a scalar is typed) are refused as well. */
static int check_plain_node(const struct builder *builder, const struct policy_node *node,
			    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor)
		return policy_reject(builder->reader, node, "anchors are not allowed");
	if (tag)
		return policy_reject(builder->reader, node, "explicit tags are not allowed");
	return 0;
}

static int builder_new_node(struct builder *builder, enum policy_node_kind kind,
			    const yaml_event_t *event, struct policy_node **node)
{
	if (builder->nodes >= POLICY_MAX_NODES)
		return policy_reject_at(builder->reader, event->start_mark.line + 1, "document",
					"more than %d nodes", POLICY_MAX_NODES);
	*node = node_new(kind, &event->start_mark);
	if (!*node)
		return policy_out_of_memory(builder->reader);
	builder->nodes++;
	return 0;
}

static int builder_scalar(struct builder *builder, const yaml_event_t *event)
{
	const size_t length = event->data.scalar.length;
	struct policy_node *node;
	int ret = builder_new_node(builder, POLICY_NODE_SCALAR, event, &node);

	if (ret < 0)
		return ret;
	node->text = malloc(length + 1);
	if (!node->text) {
		policy_node_free(node);
		return policy_out_of_memory(builder->reader);
	}
	memcpy(node->text, event->data.scalar.value, length);
	node->text[length] = '\0';
	node->length = length;
	node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	ret = builder_add(builder, node);
	if (ret < 0)
		return ret;
	return check_plain_node(builder, node, event->data.scalar.anchor, event->data.scalar.tag);
}

static int builder_alias(struct builder *builder, const yaml_event_t *event)
{
	struct policy_node *node;
	int ret = builder_new_node(builder, POLICY_NODE_SCALAR, event, &node);

	if (ret < 0)
		return ret;
	ret = builder_add(builder, node);
	if (ret < 0)
		return ret;
	return policy_reject(builder->reader, node, "aliases are not allowed");
}

static int builder_open(struct builder *builder, enum policy_node_kind kind,
			const yaml_event_t *event, const yaml_char_t *anchor, const yaml_char_t *tag)
{
	struct policy_node *node;
	int ret = builder_new_node(builder, kind, event, &node);

	if (ret < 0)
		return ret;
	ret = builder_add(builder, node);
	if (ret < 0)
		return ret;
	ret = check_plain_node(builder, node, anchor, tag);
	if (ret < 0)
		return ret;
	if (builder->depth == POLICY_MAX_DEPTH)
		return policy_reject(builder->reader, node, "nested deeper than %d levels",
				     POLICY_MAX_DEPTH);
	builder->frames[builder->depth++] = (struct frame){ .node = node };
	return 0;
}

static bool same_key(const struct policy_node *a, const struct policy_node *b)
{
	return a->key->length == b->key->length &&
	       memcmp(a->key->text, b->key->text, a->key->length) == 0;
}

static int compare_keys(const void *left, const void *right)
{
	const struct policy_node *a = *(const struct policy_node *const *)left;
	const struct policy_node *b = *(const struct policy_node *const *)right;
	size_t shorter = a->key->length < b->key->length ? a->key->length : b->key->length;
	int order = memcmp(a->key->text, b->key->text, shorter);

	if (order != 0)
		return order;
	if (a->key->length != b->key->length)
		return a->key->length < b->key->length ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* A duplicate key silently overrides the first in most YAML loaders, so a
 * reviewer reading the first one would be misled: refuse it.  Sorting keeps
 * this O(n log n) on a hostile mapping with many keys. */
static int check_duplicate_keys(const struct policy_reader *reader,
				const struct policy_node *mapping)
{
	const struct policy_node **sorted;
	const struct policy_node *duplicate = NULL, *first = NULL;

	if (mapping->count < 2)
		return 0;
	sorted = malloc(mapping->count * sizeof(*sorted));
	if (!sorted)
		return policy_out_of_memory(reader);
	memcpy(sorted, mapping->children, mapping->count * sizeof(*sorted));
	qsort(sorted, mapping->count, sizeof(*sorted), compare_keys);
	for (size_t i = 1; i < mapping->count; i++) {
		if (!same_key(sorted[i - 1], sorted[i]))
			continue;
		if (!duplicate || sorted[i]->index < duplicate->index) {
			duplicate = sorted[i];
			first = sorted[i - 1];
		}
	}
	free(sorted);
	if (duplicate)
		return policy_reject(reader, duplicate, "duplicate key (first at line %zu)",
				     first->key->line);
	return 0;
}

static int builder_close(struct builder *builder)
{
	struct frame *frame = &builder->frames[--builder->depth];

	/* libyaml always pairs keys with values; a lone key cannot remain. */
	policy_node_free(frame->pending_key);
	frame->pending_key = NULL;
	if (frame->node->kind == POLICY_NODE_MAPPING)
		return check_duplicate_keys(builder->reader, frame->node);
	return 0;
}

static int builder_handle(struct builder *builder, const yaml_event_t *event)
{
	switch (event->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (builder->documents++ > 0)
			return policy_reject_at(builder->reader, event->start_mark.line + 1,
						"document", "only one YAML document is allowed");
		return 0;
	case YAML_STREAM_END_EVENT:
		if (builder->documents == 0)
			return policy_reject_at(builder->reader, event->start_mark.line + 1,
						"document", "no YAML document in the input");
		return 0;
	case YAML_SCALAR_EVENT:
		return builder_scalar(builder, event);
	case YAML_ALIAS_EVENT:
		return builder_alias(builder, event);
	case YAML_SEQUENCE_START_EVENT:
		return builder_open(builder, POLICY_NODE_SEQUENCE, event,
				    event->data.sequence_start.anchor,
				    event->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return builder_open(builder, POLICY_NODE_MAPPING, event,
				    event->data.mapping_start.anchor,
				    event->data.mapping_start.tag);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return builder_close(builder);
	default:
		return 0;
	}
}

static size_t line_at_offset(const char *text, size_t length, size_t offset)
{
	size_t line = 1;

	for (size_t i = 0; i < offset && i < length; i++)
		line += text[i] == '\n';
	return line;
}

static int reject_syntax(const struct policy_reader *reader, const yaml_parser_t *parser,
			 const char *text, size_t length)
{
	const char *problem = parser->problem ? parser->problem : "malformed YAML";
	size_t line;

	if (parser->error == YAML_MEMORY_ERROR)
		return policy_out_of_memory(reader);
	/* The reader (encoding, control characters) reports a byte offset, the
	 * scanner and parser a mark. */
	if (parser->error == YAML_READER_ERROR)
		line = line_at_offset(text, length, parser->problem_offset);
	else
		line = parser->problem_mark.line + 1;
	if (parser->context)
		return policy_reject_at(reader, line, "syntax error", "%s (%s)", problem,
					parser->context);
	return policy_reject_at(reader, line, "syntax error", "%s", problem);
}

static void builder_release(struct builder *builder)
{
	for (size_t i = 0; i < builder->depth; i++)
		policy_node_free(builder->frames[i].pending_key);
	policy_node_free(builder->root);
}

int policy_document_parse(const struct policy_reader *reader, const char *text, size_t length,
			  struct policy_node **root)
{
	struct builder builder = { .reader = reader };
	yaml_parser_t parser;
	yaml_event_t event;
	bool done = false;
	int ret = 0;

	*root = NULL;
	if (!text)
		length = 0;
	if (length > POLICY_MAX_SIZE)
		return policy_reject_too_large(reader, length);
	if (!yaml_parser_initialize(&parser))
		return policy_out_of_memory(reader);
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), length);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (ret == 0 && !done) {
		if (!yaml_parser_parse(&parser, &event)) {
			ret = reject_syntax(reader, &parser, text, length);
			break;
		}
		ret = builder_handle(&builder, &event);
		done = event.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	if (ret == 0) {
		*root = builder.root;
		builder.root = NULL;
	}
	builder_release(&builder);
	return ret;
}

/* Inside the policy loader only (landlock/policy*.c and its tests): a YAML
 * document as a tree whose nodes remember their line and their place, so that
 * every error can name both, and the typed readers that check values. */
#ifndef SANDBOX_INIT_LANDLOCK_POLICY_INTERNAL_H
#define SANDBOX_INIT_LANDLOCK_POLICY_INTERNAL_H

#include "landlock/landlock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deeper than any real policy (network_policies.x.endpoints[0].rules[0].allow.params...
 * is 10), shallow enough that walking the tree recursively is safe. */
#define POLICY_MAX_DEPTH 32
/* Real policies have a few hundred nodes; this bounds memory per input. */
#define POLICY_MAX_NODES 100000
/* OpenShell's limits (openshell-policy validate_sandbox_policy). */
#define POLICY_MAX_PATH_LENGTH 4096
#define POLICY_MAX_PATHS 256

enum policy_node_kind {
	POLICY_NODE_SCALAR,
	POLICY_NODE_SEQUENCE,
	POLICY_NODE_MAPPING,
};

struct policy_node {
	enum policy_node_kind kind;
	size_t line;                    /* 1-based line where the node starts */
	const struct policy_node *parent;
	struct policy_node *key;        /* a mapping's value: its key (owned) */
	bool is_key;
	size_t index;                   /* position among the parent's children */
	char *text;                     /* scalar: the value, NUL-terminated */
	size_t length;                  /* scalar: bytes in text (it may hold NULs) */
	bool plain;                     /* scalar written without quotes */
	struct policy_node **children;  /* sequence items, or mapping values */
	size_t count;
	size_t capacity;
};

/* Names the input in every message. */
struct policy_reader {
	const char *name;
	struct confinement_error *error;
};

/* policy_document.c */
int policy_document_parse(const struct policy_reader *reader, const char *text, size_t length,
			  struct policy_node **root);
void policy_node_free(struct policy_node *node);

/* policy_message.c: each reject returns -EINVAL after writing
 * "name:line: field: reason" into reader->error. */
int policy_reject(const struct policy_reader *reader, const struct policy_node *node,
		  const char *format, ...) __attribute__((format(printf, 3, 4)));
int policy_reject_at(const struct policy_reader *reader, size_t line, const char *field,
		     const char *format, ...) __attribute__((format(printf, 4, 5)));
int policy_reject_missing(const struct policy_reader *reader, const struct policy_node *mapping,
			  const char *field);
int policy_reject_unknown(const struct policy_reader *reader, const struct policy_node *value);
/* "name: reason" without a line; -EFBIG, -ENOMEM. */
int policy_reject_too_large(const struct policy_reader *reader, size_t length);
int policy_out_of_memory(const struct policy_reader *reader);
/* The value as a double-quoted literal, escaped, cut after POLICY_QUOTE_BYTES
 * bytes: a buffer of POLICY_QUOTE_SIZE always holds it whole. */
#define POLICY_QUOTE_BYTES 64
#define POLICY_QUOTE_SIZE (POLICY_QUOTE_BYTES * 4 + 8)
const char *policy_quote(const char *text, size_t length, char *buffer, size_t size);

/* policy_reader.c */
const char *policy_node_kind_name(const struct policy_node *node);
const struct policy_node *policy_field(const struct policy_node *mapping, const char *name);
int policy_expect_mapping(const struct policy_reader *reader, const struct policy_node *node);
int policy_expect_sequence(const struct policy_reader *reader, const struct policy_node *node);
/* known is NULL-terminated; the first unknown key in document order is reported. */
int policy_check_fields(const struct policy_reader *reader, const struct policy_node *mapping,
			const char *const *known);
int policy_read_string(const struct policy_reader *reader, const struct policy_node *node,
		       const char **value);
int policy_copy_string(const struct policy_reader *reader, const struct policy_node *node,
		       char **copy);
int policy_read_boolean(const struct policy_reader *reader, const struct policy_node *node,
			bool *value);
int policy_read_unsigned(const struct policy_reader *reader, const struct policy_node *node,
			 uint32_t *value);
int policy_read_port(const struct policy_reader *reader, const struct policy_node *node,
		     uint16_t *port);
int policy_read_version(const struct policy_reader *reader, const struct policy_node *root);
/* Absolute, no "..": a normalised copy in *copy. */
int policy_read_path(const struct policy_reader *reader, const struct policy_node *node,
		     char **copy);
/* 0 and the normal form in *copy; -EINVAL and the reason in *reason; -ENOMEM. */
int policy_normalise_path(const char *path, size_t length, char **copy, const char **reason);

/* policy_network.c: OpenShell's network_policies, checked against its schema;
 * the TCP ports of every endpoint, sorted and unique. */
int policy_read_network_policies(const struct policy_reader *reader,
				 const struct policy_node *node, uint16_t **ports, size_t *count);

#endif

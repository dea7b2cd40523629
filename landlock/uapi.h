/* Landlock's user-space ABI, written out here because Debian 12's
 * <linux/landlock.h> stops at ABI 2 and we negotiate up to ABI 10.  Values
 * are the kernel's (include/uapi/linux/landlock.h); the ABI that introduced
 * each one is noted beside it.  Internal to landlock/.
 *
 * The names are the kernel's, so the kernel's documentation applies word for
 * word; this header therefore claims the system header's include guard, and
 * refuses to be included after it (the two struct definitions would clash). */
#ifndef SANDBOX_INIT_LANDLOCK_UAPI_H
#define SANDBOX_INIT_LANDLOCK_UAPI_H

#ifdef _LINUX_LANDLOCK_H
#error "landlock/uapi.h replaces <linux/landlock.h>; do not include both"
#endif
#define _LINUX_LANDLOCK_H

#include <stdint.h>
#include <sys/syscall.h>

/* The three system calls arrived together in Linux 5.13 and share the
 * generic numbers on every architecture we build for. */
#if defined(__x86_64__) || defined(__aarch64__) || defined(__i386__) || \
	defined(__arm__) || defined(__riscv) || defined(__powerpc64__) || \
	defined(__s390x__) || defined(__loongarch64)
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif
#else
#error "Landlock system call numbers are not known for this architecture"
#endif

/* Argument of landlock_create_ruleset().  The kernel sizes the copy by the
 * size we pass, so a caller sends only the prefix its kernel knows. */
struct landlock_ruleset_attr {
	uint64_t handled_access_fs;  /* ABI 1 */
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
	uint64_t quiet_access_fs;    /* ABI 10: denials not to audit */
	uint64_t quiet_access_net;   /* ABI 10 */
	uint64_t quiet_scoped;       /* ABI 10 */
};

/* landlock_create_ruleset() flags, with attr NULL and size 0. */
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0) /* returns the ABI version */
#define LANDLOCK_CREATE_RULESET_ERRATA  (1U << 1) /* returns the fixed errata bitmask */

enum landlock_rule_type {
	LANDLOCK_RULE_PATH_BENEATH = 1, /* struct landlock_path_beneath_attr */
	LANDLOCK_RULE_NET_PORT,         /* ABI 4: struct landlock_net_port_attr */
};

/* landlock_add_rule() flags. */
#define LANDLOCK_ADD_RULE_QUIET (1U << 0) /* ABI 10: do not audit denials on this object */

/* Packed by the kernel's definition: no trailing padding to leak or check. */
struct landlock_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd; /* preferably O_PATH: a directory, or a single file */
} __attribute__((packed));

struct landlock_net_port_attr {
	uint64_t allowed_access;
	uint64_t port; /* host byte order */
};

/* Filesystem rights.  Rights marked (file) are the only ones a rule on a
 * non-directory may carry; the others govern a directory's content. */
#define LANDLOCK_ACCESS_FS_EXECUTE      (1ULL << 0)  /* ABI 1 (file) */
#define LANDLOCK_ACCESS_FS_WRITE_FILE   (1ULL << 1)  /* ABI 1 (file) */
#define LANDLOCK_ACCESS_FS_READ_FILE    (1ULL << 2)  /* ABI 1 (file) */
#define LANDLOCK_ACCESS_FS_READ_DIR     (1ULL << 3)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_REMOVE_DIR   (1ULL << 4)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_REMOVE_FILE  (1ULL << 5)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_CHAR    (1ULL << 6)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_DIR     (1ULL << 7)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_REG     (1ULL << 8)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_SOCK    (1ULL << 9)  /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_FIFO    (1ULL << 10) /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_BLOCK   (1ULL << 11) /* ABI 1 */
#define LANDLOCK_ACCESS_FS_MAKE_SYM     (1ULL << 12) /* ABI 1 */
#define LANDLOCK_ACCESS_FS_REFER        (1ULL << 13) /* ABI 2; reparenting is denied by every ruleset before */
#define LANDLOCK_ACCESS_FS_TRUNCATE     (1ULL << 14) /* ABI 3 (file) */
#define LANDLOCK_ACCESS_FS_IOCTL_DEV    (1ULL << 15) /* ABI 5 (file) */
#define LANDLOCK_ACCESS_FS_RESOLVE_UNIX (1ULL << 16) /* ABI 9 (file): connect/sendmsg to a pathname UNIX socket */

/* Network rights, per port. */
#define LANDLOCK_ACCESS_NET_BIND_TCP         (1ULL << 0) /* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP      (1ULL << 1) /* ABI 4 */
#define LANDLOCK_ACCESS_NET_BIND_UDP         (1ULL << 2) /* ABI 10 */
#define LANDLOCK_ACCESS_NET_CONNECT_SEND_UDP (1ULL << 3) /* ABI 10 */

/* Scopes: IPC that may not leave the Landlock domain. */
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL               (1ULL << 1) /* ABI 6 */

/* landlock_restrict_self() flags. */
#define LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF  (1U << 0) /* ABI 7 */
#define LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON    (1U << 1) /* ABI 7: audit denials after execve too */
#define LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF (1U << 2) /* ABI 7 */
#define LANDLOCK_RESTRICT_SELF_TSYNC              (1U << 3) /* ABI 8: restrict every thread of the process */

#endif

/* The seccomp rule table: the one place that says what the filter denies and
 * why.  seccomp.c compiles it into BPF and describes it for the receipt, so
 * the two cannot disagree. */
#include "landlock/seccomp_rules.h"

#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>

/* Linux 6.3; Debian 12's headers predate it. */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* A C int travels in a 64-bit register whose upper half the kernel ignores,
 * so only the lower half may decide (libseccomp 2.5.4 compares all 64 bits
 * unless masked). */
#define INT32 0xffffffffU
/* SOCK_TYPE_MASK: the type without SOCK_NONBLOCK and SOCK_CLOEXEC. */
#define SOCKET_TYPE 0xfU

/* Every flag that makes a new namespace.  CLONE_NEWTIME (0x80) only for
 * unshare: in clone()'s first argument that bit belongs to the exit signal. */
#define CLONE_NAMESPACES (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
			  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#define UNSHARE_NAMESPACES (CLONE_NAMESPACES | CLONE_NEWTIME)

/* clone()'s flags are its first argument except where CLONE_BACKWARDS2
 * swaps the first two. */
#if defined(__s390__) || defined(__s390x__)
#define CLONE_FLAGS_ARGUMENT 1
#else
#define CLONE_FLAGS_ARGUMENT 0
#endif

#define VALUES(...) .values = { __VA_ARGS__ }, \
	.value_count = sizeof((uint32_t[]){ __VA_ARGS__ }) / sizeof(uint32_t)
#define ANY_OF(argument, field, ...) \
	{ .index = (argument), .match = MATCH_ANY_OF, .mask = (field), VALUES(__VA_ARGS__) }
#define NONE_OF(argument, field, ...) \
	{ .index = (argument), .match = MATCH_NONE_OF, .mask = (field), VALUES(__VA_ARGS__) }
#define ANY_BIT(argument, bits) \
	{ .index = (argument), .match = MATCH_ANY_BIT, .mask = (bits) }

#define DENY(name, error_number, reason) \
	{ .syscall = (name), .error = (error_number), .why = (reason) }
#define DENY_WHEN(name, error_number, reason, ...) \
	{ .syscall = (name), .error = (error_number), .why = (reason), .when = { __VA_ARGS__ } }
/* Syscalls newer than libseccomp 2.5.4's table: since Linux 5.1 a new
 * syscall has the same number on every architecture. */
#define DENY_NUMBER(name, number, error_number, reason) \
	{ .syscall = (name), .number_if_unknown = (number), .error = (error_number), \
	  .why = (reason) }

#define IP_FAMILIES ANY_OF(0, INT32, AF_INET, AF_INET6)
#define IO_URING_REASON "does I/O that seccomp never sees, and is a rich source of kernel bugs"

const struct seccomp_rule seccomp_rules[] = {
	/* Reaching into other processes, PID 1 included. */
	DENY("ptrace", EPERM, "reads and rewrites other processes' memory and registers"),
	DENY("process_vm_readv", EPERM, "reads another process's memory without ptrace"),
	DENY("process_vm_writev", EPERM, "writes another process's memory without ptrace"),
	DENY("pidfd_getfd", EPERM, "copies a file descriptor out of another process"),
	DENY("kcmp", EPERM, "compares other processes' kernel objects: a KASLR and fd probe"),

	/* Kernel attack surface a workload never needs. */
	DENY("bpf", EPERM, "loads programs into the kernel: a large, often exploited verifier"),
	DENY("perf_event_open", EPERM,
	     "kernel and CPU profiling: a long record of escalations and side channels"),
	DENY("userfaultfd", EPERM,
	     "stalls kernel copies on a page fault, the standard way to win kernel races"),
	DENY("keyctl", EPERM,
	     "the kernel keyrings are not namespaced: keys leak across sandboxes"),
	DENY("add_key", EPERM, "adds to the kernel keyrings, which are not namespaced"),
	DENY("request_key", EPERM, "searches the kernel keyrings and can run the host's helper"),

	/* The filesystem tree: Landlock decides by path, so paths must hold still. */
	DENY("mount", EPERM, "would change what paths mean underneath the Landlock rules"),
	DENY("umount2", EPERM, "would uncover what a mount hides and change what paths mean"),
	DENY("move_mount", EPERM, "new mount API: attaches a mount, changing what paths mean"),
	DENY("open_tree", EPERM, "new mount API: clones a mount tree for move_mount"),
	DENY_NUMBER("open_tree_attr", 467, EPERM,
		    "new mount API (Linux 6.15): open_tree with mount attributes"),
	DENY("fsopen", EPERM, "new mount API: creates a filesystem context"),
	DENY("fsconfig", EPERM, "new mount API: configures a filesystem context"),
	DENY("fsmount", EPERM, "new mount API: turns a filesystem context into a mount"),
	DENY("fspick", EPERM, "new mount API: reconfigures an existing mount"),
	DENY("mount_setattr", EPERM, "changes mount flags such as nosuid, noexec, read-only"),
	DENY("pivot_root", EPERM, "swaps the root filesystem"),
	DENY("chroot", EPERM,
	     "with a directory fd held open, the classic escape; nothing here needs it"),

	/* The running kernel itself. */
	DENY("kexec_load", EPERM, "replaces the running kernel"),
	DENY("kexec_file_load", EPERM, "replaces the running kernel"),
	DENY("init_module", EPERM, "loads code into the kernel"),
	DENY("finit_module", EPERM, "loads code into the kernel"),
	DENY("delete_module", EPERM, "unloads kernel code the host relies on"),

	/* Namespaces: a new user namespace hands out every capability inside
	 * it, and with them kernel code unprivileged users cannot reach. */
	DENY("setns", EPERM, "joins another process's namespaces, the host's via /proc/N/ns"),
	DENY_WHEN("unshare", EPERM,
		  "a CLONE_NEW* flag makes a namespace; a user namespace grants every capability",
		  ANY_BIT(0, UNSHARE_NAMESPACES)),
	DENY_WHEN("clone", EPERM, "a CLONE_NEW* flag makes namespaces at fork time, as unshare",
		  ANY_BIT(CLONE_FLAGS_ARGUMENT, CLONE_NAMESPACES)),
	DENY_WHEN("personality", EPERM,
		  "only the query and the uname-only PER_LINUX32/UNAME26 are harmless; other "
		  "flags disable ASLR or make data executable",
		  NONE_OF(0, INT32, PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32,
			  0xffffffffU)),

	/* Terminals: both push keystrokes into a session the workload does not own. */
	DENY_WHEN("ioctl", EPERM,
		  "TIOCSTI types into a terminal's input, TIOCLINUX pastes the console selection",
		  ANY_OF(1, INT32, TIOCSTI, TIOCLINUX)),

	/* Sockets: Landlock's network rules cover TCP only. */
	DENY_WHEN("socket", EPERM,
		  "families but UNIX, IPv4, IPv6 and netlink bypass Landlock and carry most "
		  "socket CVEs",
		  NONE_OF(0, INT32, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK)),
	DENY_WHEN("socket", EPERM,
		  "IP sockets stream or datagram only: SOCK_RAW forges, SOCK_PACKET sniffs, "
		  "SEQPACKET and DCCP reach SCTP and DCCP",
		  IP_FAMILIES, NONE_OF(1, SOCKET_TYPE, SOCK_STREAM, SOCK_DGRAM)),
	DENY_WHEN("socket", EPERM,
		  "IP protocols but TCP, UDP and ICMP (MPTCP 262, SCTP 132, UDP-Lite) escape "
		  "Landlock's TCP rules",
		  IP_FAMILIES,
		  NONE_OF(2, INT32, 0, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6)),
	DENY_WHEN("socket", EPERM,
		  "netlink only for NETLINK_ROUTE: audit, uevent, sock_diag and the rest "
		  "expose host-wide state",
		  ANY_OF(0, INT32, AF_NETLINK), NONE_OF(2, INT32, NETLINK_ROUTE)),
	DENY_WHEN("socketpair", EPERM,
		  "the families of socket; of those only UNIX implements socketpair",
		  NONE_OF(0, INT32, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK)),

	/* Files. */
	DENY("open_by_handle_at", EPERM,
	     "opens any file by handle, past every path check (the 'shocker' escape)"),
	DENY_WHEN("memfd_create", EPERM,
		  "an explicitly executable memfd is for running code that is on no disk, "
		  "past Landlock's execute rules",
		  ANY_BIT(1, MFD_EXEC)),

	/* Host administration: global state that no namespace isolates. */
	DENY("acct", EPERM, "host-wide process accounting into a file of the caller's choice"),
	DENY("swapon", EPERM, "host memory management"),
	DENY("swapoff", EPERM, "host memory management"),
	DENY("reboot", EPERM, "restarts or halts the machine"),
	DENY("settimeofday", EPERM,
	     "the real-time clock is host-wide: moving it breaks TLS and token expiry"),
	DENY("clock_settime", EPERM,
	     "the real-time clock is host-wide: moving it breaks TLS and token expiry"),
	DENY("quotactl", EPERM, "host-wide disk quota administration"),
	DENY("quotactl_fd", EPERM, "host-wide disk quota administration, by file descriptor"),
	DENY("lookup_dcookie", EPERM, "profiling interface that leaks kernel paths (gone in 6.8)"),
	DENY("uselib", EPERM, "legacy a.out library loader, a past exploitation vector"),
	DENY("nfsservctl", EPERM, "removed NFS server interface: nothing legitimate calls it"),
	DENY("ioperm", EPERM, "raw hardware I/O port access"),
	DENY("iopl", EPERM, "raw hardware I/O port access"),
	DENY("vhangup", EPERM, "hangs up a terminal other processes are using"),
	DENY("syslog", EPERM, "reads and clears the kernel log, which leaks kernel addresses"),

	/* ENOSYS, not EPERM: libc and runtimes read it as "not implemented"
	 * and fall back to calls this filter can inspect. */
	DENY("clone3", ENOSYS,
	     "its flags are in memory seccomp cannot read; glibc falls back to clone, filtered"),
	DENY("io_uring_setup", ENOSYS, IO_URING_REASON),
	DENY("io_uring_enter", ENOSYS, IO_URING_REASON),
	DENY("io_uring_register", ENOSYS, IO_URING_REASON),
};

const size_t seccomp_rule_count = sizeof(seccomp_rules) / sizeof(seccomp_rules[0]);

/* Asked about and left allowed; listed so the receipt shows the decision. */
#define ADJTIME_REASON \
	"with modes 0 it only reads NTP state; setting the clock needs CAP_SYS_TIME, " \
	"which the plan drops"
const struct seccomp_rule seccomp_allowed_on_purpose[] = {
	{ .syscall = "name_to_handle_at",
	  .why = "a handle opens nothing without open_by_handle_at, which is denied; "
		 "tools use it to find mount points" },
	{ .syscall = "adjtimex", .why = ADJTIME_REASON },
	{ .syscall = "clock_adjtime", .why = ADJTIME_REASON },
	{ .syscall = "memfd_create",
	  .why = "without MFD_EXEC: runtimes need it; such a memfd stays executable while "
		 "vm.memfd_noexec is 0" },
};

const size_t seccomp_allowed_on_purpose_count =
	sizeof(seccomp_allowed_on_purpose) / sizeof(seccomp_allowed_on_purpose[0]);

/* setup_sys.h: what sercon-setup knows of the machine around sercon: the
 * systemd units and their processes, the directories tmpfiles.d makes, the
 * VMs' console sockets and the hypervisor that makes them (libvirt, oVirt's
 * vdsm). The subcommands `libvirt` and `ovirt-host`, and the findings that
 * `check` prints for them. */
#ifndef SERCON_SETUP_SYS_H
#define SERCON_SETUP_SYS_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/config.h"

/* oVirt hosts: vdsm has libvirt bind each VM's console here, and hands the
 * socket to this group (g+w) once the VM runs. */
#define SETUP_OVIRT_CONSOLE_DIR   "/var/run/ovirt-vmconsole-console"
#define SETUP_OVIRT_GROUP         "ovirt-vmconsole"
#define SETUP_LIBVIRT_URI         "qemu:///system"

enum setup_level { SETUP_OK, SETUP_WARN, SETUP_PROBLEM };

/* How a check reports one finding (the message ends with "; fix: ..." for
 * a problem). */
typedef void (*setup_report_fn)(void *arg, enum setup_level level,
    const char *msg);

struct setup_sys_ctx {
	const struct sercon_config *cfg;
	uid_t uid;                 /* the sercon account */
	gid_t gid;
	setup_report_fn report;
	void *arg;
};

int setup_cmd_libvirt(int argc, char **argv);      /* setup_libvirt.c */
int setup_cmd_ovirt_host(int argc, char **argv);

/* The role's sshd unit (proxy or host) and the renewal timer, when systemd
 * runs this machine: enabled, running, every process as the sercon
 * account (setup_system.c). */
void setup_check_units(const struct setup_sys_ctx *c, const char *role);
/* The proxy's cache directory: a directory owned by the account. */
void setup_check_cache_dir(const struct setup_sys_ctx *c);
/* Each console socket in console_dir reachable by the account (tried as
 * it), with the reason when not; on an oVirt layout, the account's group;
 * with libvirt running, each running VM whose console is not in
 * console_dir, by name (setup_libvirt.c). */
void setup_check_consoles(const struct setup_sys_ctx *c);

#endif

/* The GDBus bindings gdbus-codegen generates from the introspection/ XML files (introspection/meson.build):
 * they compile and link against gio, and what a GUI binds to is the contract: GuestOS's
 * AgentConnected (b), OSName (s), ListUsers -> a(sst) and Logoff -> o, the Task's Progress and
 * Completed signals, the Manager's ListGuestOS, an object manager client whose objects are typed. */
#include <gio/gio.h>

#include "vpc-gdbus.h"

static const char *method_out(GDBusInterfaceInfo *info, const char *method) {
        GDBusMethodInfo *m = g_dbus_interface_info_lookup_method(info, method);

        g_assert_nonnull(m);
        g_assert_nonnull(m->out_args[0]);
        g_assert_null(m->out_args[1]);
        return m->out_args[0]->signature;
}

static void test_guestos(void) {
        GDBusInterfaceInfo *info = vpc_guest_os_interface_info();
        GDBusPropertyInfo *p;

        g_assert_cmpstr(info->name, ==, "org.vpc.GuestOS");
        g_assert_cmpstr(method_out(info, "ListUsers"), ==, "a(sst)");
        g_assert_cmpstr(method_out(info, "Logoff"), ==, "o");
        p = g_dbus_interface_info_lookup_property(info, "AgentConnected");
        g_assert_nonnull(p);
        g_assert_cmpstr(p->signature, ==, "b");
        g_assert_true(p->flags == G_DBUS_PROPERTY_INFO_FLAGS_READABLE);
        p = g_dbus_interface_info_lookup_property(info, "OSName");
        g_assert_nonnull(p);
        g_assert_cmpstr(p->signature, ==, "s");
        g_assert_nonnull(g_dbus_interface_info_lookup_property(info, "State"));
        g_assert_true(g_type_is_a(VPC_TYPE_GUEST_OS_PROXY, G_TYPE_DBUS_PROXY));
}

static void test_guestos_skeleton(void) {
        g_autoptr(VpcGuestOS) g = vpc_guest_os_skeleton_new();

        /* The typed accessors a GUI uses, on a skeleton (no bus needed). */
        vpc_guest_os_set_agent_connected(g, TRUE);
        vpc_guest_os_set_osname(g, "Debian GNU/Linux 12 (bookworm)");
        g_assert_true(vpc_guest_os_get_agent_connected(g));
        g_assert_cmpstr(vpc_guest_os_get_osname(g), ==, "Debian GNU/Linux 12 (bookworm)");
}

static void test_task_and_manager(void) {
        GDBusInterfaceInfo *task = vpc_task_interface_info(), *manager = vpc_manager_interface_info();
        GDBusSignalInfo *s;

        s = g_dbus_interface_info_lookup_signal(task, "Progress");
        g_assert_nonnull(s);
        g_assert_cmpstr(s->args[0]->signature, ==, "u");
        s = g_dbus_interface_info_lookup_signal(task, "Completed");
        g_assert_nonnull(s);
        g_assert_cmpstr(s->args[0]->signature, ==, "u");
        g_assert_cmpstr(s->args[1]->signature, ==, "s");
        g_assert_cmpstr(s->args[2]->signature, ==, "s");
        g_assert_cmpstr(method_out(task, "WaitForCompletion"), ==, "b");
        g_assert_nonnull(g_dbus_interface_info_lookup_property(task, "PercentCompleted"));
        g_assert_cmpstr(method_out(manager, "ListGuestOS"), ==, "a(sso)");
        g_assert_true(g_type_is_a(VPC_TYPE_OBJECT_MANAGER_CLIENT, G_TYPE_DBUS_OBJECT_MANAGER_CLIENT));
        /* The client's proxy-type function maps each interface to its generated proxy. */
        g_assert_true(vpc_object_manager_client_get_proxy_type(NULL, "/org/vpc/GuestOS/x", "org.vpc.GuestOS", NULL) ==
                      VPC_TYPE_GUEST_OS_PROXY);
        g_assert_true(vpc_object_manager_client_get_proxy_type(NULL, "/org/vpc/Task/1", "org.vpc.Task", NULL) ==
                      VPC_TYPE_TASK_PROXY);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/gdbus/guestos", test_guestos);
        g_test_add_func("/gdbus/guestos-skeleton", test_guestos_skeleton);
        g_test_add_func("/gdbus/task-and-manager", test_task_and_manager);
        return g_test_run();
}

// The C++ proxies that qdbusxml2cpp generates from introspection/*.xml build against QtDBus with
// introspection/vpc-qt-types.h: their replies have the annotated types, and those types marshal to
// exactly the files' signatures. With --list it is a Qt client of the running daemon (the
// integration test qt-proxies): ListGuestOS, GetGuestOS and Version through the proxies; with
// --users PATH it lists a real guest's users through ListUsers (tests/e2e/kde.py).
#include <cstdio>
#include <type_traits>
#include <utility>

#include <QtCore/QCoreApplication>
#include <QtDBus/QDBusConnection>
#include <QtDBus/QDBusMetaType>

#include "vpc_guestos_proxy.h"
#include "vpc_manager_proxy.h"
#include "vpc_task_proxy.h"

static_assert(std::is_same<decltype(std::declval<OrgVpcManagerInterface &>().ListGuestOS()),
                           QDBusPendingReply<VpcGuestList>>::value,
              "ListGuestOS() replies VpcGuestList");
static_assert(std::is_same<decltype(std::declval<OrgVpcGuestOSInterface &>().ListUsers()),
                           QDBusPendingReply<VpcUserList>>::value,
              "ListUsers() replies VpcUserList");
static_assert(std::is_same<decltype(std::declval<OrgVpcGuestOSInterface &>().Logoff()),
                           QDBusPendingReply<QDBusObjectPath>>::value,
              "Logoff() replies the task's path");
static_assert(std::is_same<decltype(std::declval<OrgVpcTaskInterface &>().WaitForCompletion(0)),
                           QDBusPendingReply<bool>>::value,
              "WaitForCompletion(i) replies b");

static int signatures() {
        const struct {
                int type;
                const char *name, *signature;
        } want[] = {
                { qMetaTypeId<VpcGuestList>(), "VpcGuestList", "a(sso)" },
                { qMetaTypeId<VpcUserList>(), "VpcUserList", "a(sst)" },
        };
        int failures = 0;

        for (const auto &w : want) {
                const char *got = QDBusMetaType::typeToSignature(w.type);

                if (got && qstrcmp(got, w.signature) == 0)
                        std::printf("ok - %s marshals as %s\n", w.name, w.signature);
                else {
                        std::printf("not ok - %s marshals as %s, not %s\n", w.name, got ? got : "(none)", w.signature);
                        failures++;
                }
        }
        return failures;
}

// One line per domain: name, UUID, the ListGuestOS path and GetGuestOS's, tab-separated; then the
// Version property. Any error on stderr and exit status 1.
static int list() {
        const QDBusConnection bus = QDBusConnection::systemBus();
        OrgVpcManagerInterface manager(QStringLiteral("org.vpc"), QStringLiteral("/org/vpc"), bus);
        QDBusPendingReply<VpcGuestList> guests = manager.ListGuestOS();

        guests.waitForFinished();
        if (guests.isError()) {
                std::fprintf(stderr, "ListGuestOS: %s\n", qPrintable(guests.error().message()));
                return 1;
        }
        for (const VpcGuest &g : guests.value()) {
                QDBusPendingReply<QDBusObjectPath> path = manager.GetGuestOS(g.name);

                path.waitForFinished();
                if (path.isError()) {
                        std::fprintf(stderr, "GetGuestOS: %s\n", qPrintable(path.error().message()));
                        return 1;
                }
                std::printf("%s\t%s\t%s\t%s\n", g.name.toUtf8().constData(), g.uuid.toUtf8().constData(),
                            g.path.path().toUtf8().constData(), path.value().path().toUtf8().constData());
        }
        std::printf("Version\t%s\n", manager.version().toUtf8().constData());
        return 0;
}

// One line per user logged on in the guest at path: user, domain, login time, tab-separated.
static int users(const char *path) {
        OrgVpcGuestOSInterface guest(QStringLiteral("org.vpc"), QString::fromUtf8(path), QDBusConnection::systemBus());
        QDBusPendingReply<VpcUserList> reply = guest.ListUsers();

        reply.waitForFinished();
        if (reply.isError()) {
                std::fprintf(stderr, "ListUsers: %s\n", qPrintable(reply.error().message()));
                return 1;
        }
        for (const VpcUser &u : reply.value())
                std::printf("%s\t%s\t%llu\n", u.user.toUtf8().constData(), u.domain.toUtf8().constData(),
                            (unsigned long long) u.loginUSec);
        return 0;
}

int main(int argc, char **argv) {
        QCoreApplication app(argc, argv);

        vpcRegisterQtTypes();
        if (argc > 1 && qstrcmp(argv[1], "--list") == 0)
                return list();
        if (argc > 2 && qstrcmp(argv[1], "--users") == 0)
                return users(argv[2]);
        return signatures() ? 1 : 0;
}

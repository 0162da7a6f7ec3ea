// The Qt types that introspection/*.xml's org.qtproject.QtDBus.QtTypeName annotations name, for the
// proxies qdbusxml2cpp generates from those files (qdbusxml2cpp -i vpc-qt-types.h). Call
// vpcRegisterQtTypes() once before the first call. Not installed: a Qt client copies it.
#pragma once

#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtDBus/QDBusArgument>
#include <QtDBus/QDBusMetaType>
#include <QtDBus/QDBusObjectPath>

// One row of Manager.ListGuestOS(), a(sso).
struct VpcGuest {
        QString name;
        QString uuid;
        QDBusObjectPath path;
};
typedef QList<VpcGuest> VpcGuestList;

// One row of GuestOS.ListUsers(), a(sst).
struct VpcUser {
        QString user;
        QString domain;         // "" for none; Windows sessions have one
        quint64 loginUSec;      // µs since the epoch, 0 when the guest agent gave none
};
typedef QList<VpcUser> VpcUserList;

Q_DECLARE_METATYPE(VpcGuest)
Q_DECLARE_METATYPE(VpcUser)

inline QDBusArgument &operator<<(QDBusArgument &a, const VpcGuest &g) {
        a.beginStructure();
        a << g.name << g.uuid << g.path;
        a.endStructure();
        return a;
}

inline const QDBusArgument &operator>>(const QDBusArgument &a, VpcGuest &g) {
        a.beginStructure();
        a >> g.name >> g.uuid >> g.path;
        a.endStructure();
        return a;
}

inline QDBusArgument &operator<<(QDBusArgument &a, const VpcUser &u) {
        a.beginStructure();
        a << u.user << u.domain << u.loginUSec;
        a.endStructure();
        return a;
}

inline const QDBusArgument &operator>>(const QDBusArgument &a, VpcUser &u) {
        a.beginStructure();
        a >> u.user >> u.domain >> u.loginUSec;
        a.endStructure();
        return a;
}

inline void vpcRegisterQtTypes() {
        qDBusRegisterMetaType<VpcGuest>();
        qDBusRegisterMetaType<VpcGuestList>();
        qDBusRegisterMetaType<VpcUser>();
        qDBusRegisterMetaType<VpcUserList>();
}

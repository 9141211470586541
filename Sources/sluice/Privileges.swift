#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif

/// `user NAME`: Sluice starts as root (to bind port 25), opens its listeners, its metrics endpoint and
/// its greylist store, then becomes NAME (its primary group and its supplementary groups too) for good.
/// Running as root without `user` is refused unless `--allow-root` says so.
enum Privileges {
    static var runningAsRoot: Bool { getuid() == 0 || geteuid() == 0 }

    /// The refusal for root without `user` and without `--allow-root`, or nil.
    static func rootRefusal(user: String?, allowRoot: Bool) -> CommandFailure? {
        guard runningAsRoot, user == nil, !allowRoot else { return nil }
        return CommandFailure(message: "refusing to run as root: set 'user NAME' in the configuration (Sluice switches to it once "
                                  + "its ports are bound) or pass --allow-root")
    }

    /// The account's uid and gid, checked before anything is bound: it exists, is not root, and this
    /// process can become it.
    @discardableResult
    static func account(_ name: String) throws(CommandFailure) -> (uid: uid_t, gid: gid_t) {
        guard let entry = getpwnam(name) else { throw CommandFailure(message: "user \(name): no such account") }
        let uid = entry.pointee.pw_uid, gid = entry.pointee.pw_gid
        guard uid != 0 else { throw CommandFailure(message: "user \(name): that is root; name an unprivileged account") }
        guard runningAsRoot || (getuid() == uid && geteuid() == uid) else {
            throw CommandFailure(message: "user \(name): Sluice runs as uid \(getuid()) and cannot switch users (start it as root, or drop 'user')")
        }
        return (uid, gid)
    }

    /// Becomes `name` for the rest of the process (every thread: glibc applies set*id to all of them).
    static func drop(to name: String) throws(CommandFailure) {
        let (uid, gid) = try account(name)
        if getuid() == uid && geteuid() == uid { return } // already that user (started by systemd's User=)
        guard initgroups(name, gid) == 0 else { throw failure("initgroups", name) }
        guard setgid(gid) == 0 else { throw failure("setgid", name) }
        guard setuid(uid) == 0 else { throw failure("setuid", name) }
        // For good: root cannot be taken back.
        guard setuid(0) != 0, getuid() == uid, geteuid() == uid, getegid() == gid else {
            throw CommandFailure(message: "user \(name): privileges could not be dropped for good")
        }
    }

    private static func failure(_ call: String, _ name: String) -> CommandFailure {
        CommandFailure(message: "user \(name): \(call) failed: \(String(cString: strerror(errno)))")
    }
}

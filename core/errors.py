"""Errors whose message is meant for the user (in Chinese)."""

import errno

from dao import db as dao_db


class UserError(Exception):
    """Something the user can fix; ``str(exc)`` is a complete Chinese sentence."""


class PermissionDenied(UserError):
    """The acting user's role or township does not allow this."""


class ConnectionLost(UserError, dao_db.ConnectionLost):
    """The PostgreSQL connection died under a write: nothing was saved; the next action reconnects."""


dao_db.lost_error = ConnectionLost


class Cancelled(Exception):
    """Long work stopped at the user's request; nothing was written."""


_OS_REASONS = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有权限：文件可能正在 Excel/WPS 中打开，或文件夹只读",
    errno.EPERM: "没有权限：文件可能正在 Excel/WPS 中打开，或文件夹只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "磁盘或共享为只读",
}


def os_error_message(exc: OSError) -> str:
    """A Chinese sentence for a file that could not be read or written, naming the file the user chose
    (not the temporary ``.name.part`` the writers use on the way)."""
    name = str(exc.filename or "")
    folder, _, base = name.rpartition("/") if "/" in name else name.rpartition("\\")
    if base.startswith(".") and ".part" in base:
        name = folder or name
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"文件无法读写：{name}（{reason}）" if name else f"文件无法读写：{reason}"

"""A pass-through FUSE file system whose writes can be refused while files stay open.

    faultfs.py BACKING MOUNTPOINT

Mounts BACKING at MOUNTPOINT (allow_other, so the server user reaches it) and serves
every operation from BACKING. While the file BACKING + ".refuse" exists, every operation
that would change the storage (write, fsync, truncate, create, unlink, rename, mkdir,
chmod, ...) fails with the errno named in that file (EIO if it is empty; with EROFS an
open for writing fails too, as on a file system remounted read-only), and reads,
look-ups and locks still work: what a disk whose writes fail looks like to a process that
already holds its files open. Removing the file lets writes through again. The kernel
keeps the POSIX locks (the file system implements none), so SQLite's locks behave as on
a local disk.

SQLite's "-shm" wal-index is shared memory that SQLite maps and never syncs: on a local
disk the kernel keeps its mapped pages whatever the device does. FUSE would instead
drop them when their write-back fails or a file is opened again, so writes to a "-shm"
file always go through and every open keeps the page cache (keep_cache): the index
behaves as on a local disk, and only the database and its WAL meet the fault.

Used by tests/integration/test_read_only.py. Runs in the foreground until unmounted.
"""
import errno
import os
import sys

from fusepy import FUSE, FuseOSError, Operations, fuse_get_context


class FaultFS(Operations):
    def __init__(self, backing):
        self.backing = os.path.realpath(backing)
        self.flag = self.backing + ".refuse"

    def _path(self, path):
        return os.path.join(self.backing, path.lstrip("/"))

    def _mode(self):
        """The errno name in the flag file, or None while writes go through."""
        try:
            with open(self.flag) as f:
                return f.read().strip() or "EIO"
        except FileNotFoundError:
            return None

    def _refuse(self, path):
        """Raises the configured errno while the flag file exists."""
        name = self._mode()
        if name is None or (path is not None and path.endswith("-shm")):
            return
        raise FuseOSError(getattr(errno, name, errno.EIO))

    def _own(self, path):
        """A new file belongs to the process that made it, as on a local disk."""
        uid, gid, _ = fuse_get_context()
        self._call(os.lchown, self._path(path), uid, gid)

    @staticmethod
    def _fd(fi):
        return fi.fh

    @staticmethod
    def _call(fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise FuseOSError(e.errno) from None

    # Reads and look-ups: always served.
    def getattr(self, path, fh=None):
        st = self._call(os.lstat, self._path(path)) if fh is None else \
            self._call(os.fstat, self._fd(fh))
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode",
                                            "st_mtime", "st_nlink", "st_size", "st_uid",
                                            "st_blocks", "st_blksize")}

    def access(self, path, mode):
        if not os.access(self._path(path), mode):
            raise FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        return [".", ".."] + self._call(os.listdir, self._path(path))

    def statfs(self, path):
        st = self._call(os.statvfs, self._path(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize",
                                            "f_favail", "f_ffree", "f_files", "f_flag",
                                            "f_frsize", "f_namemax")}

    def open(self, path, fi):
        # A read-only file system (EROFS) refuses to open a file for writing, as
        # ext4 does once remounted read-only; a failing disk (EIO) opens it.
        if fi.flags & os.O_ACCMODE != os.O_RDONLY and self._mode() == "EROFS":
            raise FuseOSError(errno.EROFS)
        fi.fh = self._call(os.open, self._path(path), fi.flags)
        fi.keep_cache = 1
        return 0

    def read(self, path, size, offset, fh):
        return self._call(os.pread, self._fd(fh), size, offset)

    def release(self, path, fh):
        return self._call(os.close, self._fd(fh))

    def flush(self, path, fh):
        return 0

    # Writes: refused while the flag file exists.
    def write(self, path, data, offset, fh):
        self._refuse(path)
        return self._call(os.pwrite, self._fd(fh), data, offset)

    def fsync(self, path, datasync, fh):
        self._refuse(path)
        return self._call(os.fdatasync if datasync else os.fsync, self._fd(fh))

    def truncate(self, path, length, fh=None):
        self._refuse(path)
        if fh is None:
            return self._call(os.truncate, self._path(path), length)
        return self._call(os.ftruncate, self._fd(fh), length)

    def create(self, path, mode, fi):
        self._refuse(path)
        fi.fh = self._call(os.open, self._path(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)
        fi.keep_cache = 1
        self._own(path)
        return 0

    def unlink(self, path):
        self._refuse(path)
        return self._call(os.unlink, self._path(path))

    def rename(self, old, new):
        self._refuse(old)
        return self._call(os.rename, self._path(old), self._path(new))

    def mkdir(self, path, mode):
        self._refuse(path)
        self._call(os.mkdir, self._path(path), mode)
        self._own(path)

    def rmdir(self, path):
        self._refuse(path)
        return self._call(os.rmdir, self._path(path))

    def chmod(self, path, mode):
        self._refuse(path)
        return self._call(os.chmod, self._path(path), mode)

    def chown(self, path, uid, gid):
        self._refuse(path)
        return self._call(os.lchown, self._path(path), uid, gid)

    def utimens(self, path, times=None):
        self._refuse(path)
        return self._call(os.utime, self._path(path), times)


def main():
    backing, mountpoint = sys.argv[1:3]
    # default_permissions: the kernel checks modes and owners as on a local disk.
    FUSE(FaultFS(backing), mountpoint, foreground=True, allow_other=True,
         default_permissions=True, nothreads=False, raw_fi=True)


if __name__ == "__main__":
    main()

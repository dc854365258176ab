/* afl_vfs: a VFS that refuses SQLite's silent read-only fallback (see afl_vfs.h). */
#include "afl_vfs.h"
#include "afl_log.h"

#include <sqlite3.h>
#include <string.h>

const char afl_vfs_name[] = "afiliate-rw";

static sqlite3_vfs rw_vfs;

/* The VFS this one forwards to (its own methods read their pAppData). */
#define REAL(vfs) ((sqlite3_vfs *)(vfs)->pAppData)

static int rw_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                   int *out_flags)
{
    sqlite3_vfs *real = REAL(vfs);
    int got = 0;
    int rc = real->xOpen(real, name, file, flags, &got);

    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_READWRITE) &&
        (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) && (got & SQLITE_OPEN_READONLY)) {
        if (file->pMethods)
            file->pMethods->xClose(file);
        file->pMethods = NULL;
        afl_log(AFL_LOG_ERR,
                AFL_LOGNO(00034) "the SQLite %s cannot be opened for writing (does its file "
                                 "system refuse writes?); not using a read-only connection",
                          flags & SQLITE_OPEN_WAL ? "write-ahead log" : "database");
        return SQLITE_CANTOPEN;
    }
    if (out_flags)
        *out_flags = got;
    return rc;
}

static int rw_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return REAL(vfs)->xDelete(REAL(vfs), name, sync_dir);
}

static int rw_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return REAL(vfs)->xAccess(REAL(vfs), name, flags, out);
}

static int rw_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    return REAL(vfs)->xFullPathname(REAL(vfs), name, n, out);
}

static void *rw_dl_open(sqlite3_vfs *vfs, const char *name)
{
    return REAL(vfs)->xDlOpen(REAL(vfs), name);
}

static void rw_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
    REAL(vfs)->xDlError(REAL(vfs), n, msg);
}

static void (*rw_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    return REAL(vfs)->xDlSym(REAL(vfs), h, sym);
}

static void rw_dl_close(sqlite3_vfs *vfs, void *h)
{
    REAL(vfs)->xDlClose(REAL(vfs), h);
}

static int rw_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    return REAL(vfs)->xRandomness(REAL(vfs), n, out);
}

static int rw_sleep(sqlite3_vfs *vfs, int usec)
{
    return REAL(vfs)->xSleep(REAL(vfs), usec);
}

static int rw_current_time(sqlite3_vfs *vfs, double *out)
{
    return REAL(vfs)->xCurrentTime(REAL(vfs), out);
}

static int rw_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    return REAL(vfs)->xGetLastError ? REAL(vfs)->xGetLastError(REAL(vfs), n, out) : 0;
}

static int rw_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return REAL(vfs)->xCurrentTimeInt64(REAL(vfs), out);
}

static int rw_set_system_call(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr fn)
{
    return REAL(vfs)->xSetSystemCall(REAL(vfs), name, fn);
}

static sqlite3_syscall_ptr rw_get_system_call(sqlite3_vfs *vfs, const char *name)
{
    return REAL(vfs)->xGetSystemCall(REAL(vfs), name);
}

static const char *rw_next_system_call(sqlite3_vfs *vfs, const char *name)
{
    return REAL(vfs)->xNextSystemCall(REAL(vfs), name);
}

int afl_vfs_install(void)
{
    sqlite3_vfs *real;
    int rc = sqlite3_initialize();

    if (rc != SQLITE_OK)
        return rc;
    if (sqlite3_vfs_find(afl_vfs_name))
        return SQLITE_OK;
    real = sqlite3_vfs_find(NULL);
    /* Version 3 methods are forwarded: the unix VFS has them all. */
    if (!real || real->iVersion < 3)
        return SQLITE_ERROR;
    memset(&rw_vfs, 0, sizeof rw_vfs);
    rw_vfs.iVersion = 3;
    rw_vfs.szOsFile = real->szOsFile;
    rw_vfs.mxPathname = real->mxPathname;
    rw_vfs.zName = afl_vfs_name;
    rw_vfs.pAppData = real;
    rw_vfs.xOpen = rw_open;
    rw_vfs.xDelete = rw_delete;
    rw_vfs.xAccess = rw_access;
    rw_vfs.xFullPathname = rw_full_pathname;
    rw_vfs.xDlOpen = rw_dl_open;
    rw_vfs.xDlError = rw_dl_error;
    rw_vfs.xDlSym = rw_dl_sym;
    rw_vfs.xDlClose = rw_dl_close;
    rw_vfs.xRandomness = rw_randomness;
    rw_vfs.xSleep = rw_sleep;
    rw_vfs.xCurrentTime = rw_current_time;
    rw_vfs.xGetLastError = rw_get_last_error;
    rw_vfs.xCurrentTimeInt64 = rw_current_time_int64;
    rw_vfs.xSetSystemCall = rw_set_system_call;
    rw_vfs.xGetSystemCall = rw_get_system_call;
    rw_vfs.xNextSystemCall = rw_next_system_call;
    return sqlite3_vfs_register(&rw_vfs, 1);
}

void afl_vfs_uninstall(void)
{
    if (sqlite3_vfs_find(afl_vfs_name) == &rw_vfs)
        sqlite3_vfs_unregister(&rw_vfs);
}

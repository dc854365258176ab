/* afl_vfs: SQLite opens what it was asked to open for writing, or nothing.
 *
 * When SQLite cannot open a database (or its WAL) for reading and writing, it
 * opens it read-only without saying so. mod_dbd keeps every connection it made
 * (its post_connect result is ignored, and the sqlite3 driver's connection
 * check only asks whether a handle exists), so a connection opened while the
 * file system refused writes would refuse every write for as long as the pool
 * keeps it, long after writes return. The default VFS installed here turns
 * that silent fallback into a failed open: mod_dbd then keeps nothing and the
 * next request opens a connection again. */
#ifndef AFL_VFS_H
#define AFL_VFS_H

/* Registers, as SQLite's default, a VFS over the current default that fails
 * (SQLITE_CANTOPEN) an open of a main database or WAL asked for reading and
 * writing that the underlying VFS could only open read-only. Idempotent. Returns
 * an SQLite result code (0 when installed). For the server's processes;
 * afiliatectl does without. */
int afl_vfs_install(void);

/* Unregisters it (the previous default is the default again): before the code
 * that holds it is unloaded, as httpd does with its modules on a restart. */
void afl_vfs_uninstall(void);

/* The name of the VFS above: "afiliate-rw". */
extern const char afl_vfs_name[];

#endif

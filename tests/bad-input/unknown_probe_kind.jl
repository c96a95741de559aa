kprobez:vfs_read { @ = count(); }

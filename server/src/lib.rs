//! fieldsync sync server (filled by the sync-server issue).

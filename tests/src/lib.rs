//! End-to-end test support for fieldsync (filled by later issues).

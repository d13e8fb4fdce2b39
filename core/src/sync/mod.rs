//! Sync: what a replica sends, what the server does with it, and what comes back.

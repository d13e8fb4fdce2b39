//! Byte-level mutations of change chunks, aware of their layout: LEB128 rewrites, crossovers between changes, and the checksum fixed again so a mutation reaches the decoder behind it.

use arbitrary::Arbitrary;
use sha2::{Digest, Sha256};

/// One mutation of a list of change chunks; `change` picks one by index.
#[derive(Arbitrary, Debug, Clone)]
pub enum Mutation {
    Flip {
        change: u8,
        at: u16,
        mask: u8,
    },
    Set {
        change: u8,
        at: u16,
        byte: u8,
    },
    Insert {
        change: u8,
        at: u16,
        bytes: Vec<u8>,
    },
    Remove {
        change: u8,
        at: u16,
        len: u8,
    },
    Truncate {
        change: u8,
        at: u16,
    },
    /// Replaces the LEB128 number starting at `at` by `value` (lengths, counts,
    /// seq, start op, column specs, run lengths).
    Leb {
        change: u8,
        at: u16,
        value: u64,
        signed: bool,
    },
    /// Copies a slice of one change into another.
    Cross {
        from: u8,
        into: u8,
        at: u16,
        len: u8,
        to: u16,
    },
    Duplicate {
        change: u8,
    },
    Drop {
        change: u8,
    },
    Swap {
        a: u8,
        b: u8,
    },
}

/// Mutations, and whether to fix each mutated change's checksum afterwards.
#[derive(Arbitrary, Debug, Clone)]
pub struct Mutations {
    pub list: Vec<Mutation>,
    pub fix_checksum: bool,
}

/// Writes the first 4 bytes of the change hash (SHA-256 of everything after
/// the checksum) into the checksum field, as a well-formed chunk has.
pub fn fix_checksum(bytes: &mut [u8]) {
    if bytes.len() < 8 {
        return;
    }
    let hash = Sha256::digest(&bytes[8..]);
    bytes[4..8].copy_from_slice(&hash[..4]);
}

fn leb(mut v: u64, signed: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if signed {
        let mut s = v as i64;
        loop {
            let b = (s & 0x7f) as u8;
            s >>= 7;
            let done = (s == 0 && b & 0x40 == 0) || (s == -1 && b & 0x40 != 0);
            out.push(if done { b } else { b | 0x80 });
            if done {
                return out;
            }
        }
    }
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn pos(at: u16, len: usize) -> usize {
    if len == 0 { 0 } else { at as usize % len }
}

/// Applies `m` to `changes`; returns, per resulting change, whether it is
/// byte-identical to one of the originals.
pub fn apply(changes: &mut Vec<Vec<u8>>, m: &Mutations) -> Vec<bool> {
    let originals = changes.clone();
    for mutation in m.list.iter().take(8) {
        if changes.is_empty() {
            break;
        }
        let n = changes.len();
        let pick = |c: u8| c as usize % n;
        match mutation {
            Mutation::Flip { change, at, mask } => {
                let c = &mut changes[pick(*change)];
                if !c.is_empty() {
                    let i = pos(*at, c.len());
                    c[i] ^= mask;
                }
            }
            Mutation::Set { change, at, byte } => {
                let c = &mut changes[pick(*change)];
                if !c.is_empty() {
                    let i = pos(*at, c.len());
                    c[i] = *byte;
                }
            }
            Mutation::Insert { change, at, bytes } => {
                let c = &mut changes[pick(*change)];
                let i = pos(*at, c.len() + 1);
                c.splice(i..i, bytes.iter().take(64).copied());
            }
            Mutation::Remove { change, at, len } => {
                let c = &mut changes[pick(*change)];
                let i = pos(*at, c.len());
                let end = (i + *len as usize).min(c.len());
                c.drain(i..end);
            }
            Mutation::Truncate { change, at } => {
                let c = &mut changes[pick(*change)];
                let i = pos(*at, c.len() + 1);
                c.truncate(i);
            }
            Mutation::Leb {
                change,
                at,
                value,
                signed,
            } => {
                let c = &mut changes[pick(*change)];
                let i = pos(*at, c.len());
                let mut end = i;
                while end < c.len() && c[end] & 0x80 != 0 && end - i < 10 {
                    end += 1;
                }
                let end = (end + 1).min(c.len());
                c.splice(i..end, leb(*value, *signed));
            }
            Mutation::Cross {
                from,
                into,
                at,
                len,
                to,
            } => {
                let src = &changes[pick(*from)];
                let i = pos(*at, src.len());
                let piece: Vec<u8> = src[i..(i + *len as usize).min(src.len())].to_vec();
                let dst = &mut changes[pick(*into)];
                let j = pos(*to, dst.len() + 1);
                let end = (j + piece.len()).min(dst.len());
                dst.splice(j..end, piece);
            }
            Mutation::Duplicate { change } => {
                let c = changes[pick(*change)].clone();
                changes.push(c);
            }
            Mutation::Drop { change } => {
                changes.remove(pick(*change));
            }
            Mutation::Swap { a, b } => changes.swap(pick(*a), pick(*b)),
        }
    }
    changes
        .iter_mut()
        .map(|c| {
            let intact = originals.contains(c);
            if !intact && m.fix_checksum {
                fix_checksum(c);
            }
            intact
        })
        .collect()
}

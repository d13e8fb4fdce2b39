//! Shared fixtures for core's integration tests: people, stamps and a small territory.
#![allow(dead_code)]

use fieldsync_core::automerge::Change;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DeviceId, TerritoryId, UserId};
use fieldsync_core::model::{DealerKind, DealerProfile, DealerStatus, Territory};
use fieldsync_core::set::Set;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{
    ChangeBytes, Cursor, DocChanges, Hub, PROTOCOL_VERSION, Principal, Replica, Role, SyncRequest,
};

pub const T0: i64 = 1_795_000_000_000; // 2026-11-18

pub fn user(s: &str) -> UserId {
    s.parse().unwrap()
}

pub fn territory() -> TerritoryId {
    "t-north".parse().unwrap()
}

pub fn stamp(u: &str, at: i64) -> Stamp {
    Stamp::new(
        user(u),
        format!("{u}-phone").parse::<DeviceId>().unwrap(),
        Timestamp(T0 + at),
    )
}

pub fn head_office() -> Principal {
    Principal {
        user: user("ho"),
        role: Role::HeadOffice,
        territories: Set::new(),
    }
}

pub fn manager(u: &str) -> Principal {
    Principal {
        user: user(u),
        role: Role::Manager,
        territories: [territory()].into_iter().collect(),
    }
}

pub fn profile(name: &str) -> DealerProfile {
    DealerProfile::new(name, DealerKind::Retailer, 2, DealerStatus::Active)
}

/// Syncs `replica` as `who` until the hub has nothing more for it.
pub fn sync(hub: &mut Hub, who: &Principal, replica: &mut Replica) {
    for _ in 0..1000 {
        let req = replica.sync_request();
        let resp = hub.sync(who, &req).unwrap();
        let report = replica.apply_response(&resp).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        if !report.more && replica.sync_request().push.is_empty() {
            return;
        }
    }
    panic!("sync did not settle");
}

/// A hub holding territory `t-north` (managed by m1 and m2), created by head office.
pub fn hub_with_territory() -> Hub {
    let mut hub = Hub::new();
    let mut ho = Replica::new().unwrap();
    let t = Territory {
        name: "北區".into(),
        region: "台灣".into(),
        managers: [user("m1"), user("m2")].into_iter().collect(),
        time_zone: None,
    };
    ho.create_territory(territory(), &t, &stamp("ho", 0))
        .unwrap();
    sync(&mut hub, &head_office(), &mut ho);
    hub
}

/// A request pushing `changes` to `doc` as they are, from a device that skips every check (a hostile one).
pub fn push_request(doc: DocId, changes: &[Change]) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Cursor::default(),
        push: vec![DocChanges {
            doc,
            changes: changes
                .iter()
                .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                .collect(),
        }],
    }
}

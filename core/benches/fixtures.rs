//! Shared benchmark fixtures: a dealer document with N visits, and replicas with offline edits.
#![allow(dead_code)]

use fieldsync_core::automerge::ActorId;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::Document;
use fieldsync_core::geo::{GeoFix, GeoPoint};
use fieldsync_core::ids::{CommitmentId, DeviceId, NoteId, UserId, VisitId};
use fieldsync_core::model::{
    Commitment, DealerKind, DealerProfile, DealerStatus, Visit, VisitPurpose,
};
use fieldsync_core::stamp::Stamp;
use serde_json::json;

pub const T0: i64 = 1_795_000_000_000;

pub fn stamp(user: &str, at: i64) -> Stamp {
    Stamp::new(
        user.parse::<UserId>().unwrap(),
        format!("{user}-phone").parse::<DeviceId>().unwrap(),
        Timestamp(T0 + at),
    )
}

pub fn visit(user: &str, i: usize) -> Visit {
    let st = stamp(user, i as i64 * 60_000);
    let mut v = Visit::new(st.user.clone(), st.at);
    v.gps = Some(GeoFix {
        point: GeoPoint {
            lat: 25.04 + i as f64 * 1e-4,
            lon: 121.5,
        },
        accuracy_m: 12.0,
        manual: false,
    });
    v.purposes = [VisitPurpose::Training, VisitPurpose::PromotionPlanning]
        .into_iter()
        .collect();
    v.summary = format!(
        "第{i}次拜訪:店面陳列檢查,與店長討論下月促銷 / display check and promotion planning"
    );
    v.attendees = ["林老闆".to_owned(), "王店長".to_owned()]
        .into_iter()
        .collect();
    v
}

/// A dealer document with `n` visits, each with a note, as a device would build it.
pub fn dealer_with_visits(n: usize) -> Document {
    let profile = DealerProfile::new(
        "林記商行 Lin's Trading",
        DealerKind::Retailer,
        2,
        DealerStatus::Active,
    );
    let mut doc = Document::create_dealer(
        "d-lin".parse().unwrap(),
        "t-north".parse().unwrap(),
        &profile,
        &stamp("m1", 0),
        ActorId::from(b"bench-a".to_vec()),
    )
    .unwrap();
    for i in 0..n {
        let id: VisitId = format!("v{i:05}").parse().unwrap();
        doc.insert(&id, &visit("m1", i), &stamp("m1", i as i64))
            .unwrap();
        let note: NoteId = format!("n{i:05}").parse().unwrap();
        doc.add_note::<Visit>(
            &id,
            &note,
            "店家反映競品降價,需要支援",
            &stamp("m1", i as i64),
        )
        .unwrap();
    }
    doc
}

/// `edits` offline edits of one kind or another on a copy of `base` by `user`.
pub fn offline_edits(base: &mut Document, actor: &str, user: &str, edits: usize) -> Document {
    let mut doc = Document::from_changes(
        base.changes_since(&[]),
        ActorId::from(actor.as_bytes().to_vec()),
    )
    .unwrap();
    for i in 0..edits {
        let st = stamp(user, 10_000_000 + i as i64);
        match i % 4 {
            0 => doc
                .insert(
                    &format!("v-{actor}-{i}").parse::<VisitId>().unwrap(),
                    &visit(user, i),
                    &st,
                )
                .unwrap(),
            1 => doc
                .update_profile(
                    &json!({"address": format!("{user} address {i}")}),
                    &st,
                    DealerProfile::validate,
                )
                .unwrap(),
            2 => {
                let c = Commitment::new(
                    format!("承諾 {i}"),
                    "林老闆",
                    st.user.clone(),
                    st.at,
                    "2027-03-01".parse::<Day>().unwrap(),
                );
                doc.insert(
                    &format!("k-{actor}-{i}").parse::<CommitmentId>().unwrap(),
                    &c,
                    &st,
                )
                .unwrap()
            }
            _ => doc
                .add_note::<Visit>(
                    &"v00000".parse().unwrap(),
                    &format!("n-{actor}-{i}").parse().unwrap(),
                    "補充說明",
                    &st,
                )
                .unwrap(),
        }
    }
    doc
}

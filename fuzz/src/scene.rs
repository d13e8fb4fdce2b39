//! The scene every input starts from: territory `t-north` (managers m1, m2) and dealer `d-lin`, made by fieldsync core with fixed actors and times, so it is byte-identical in every run.

use std::cell::RefCell;

use fieldsync_core::automerge::ActorId;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::Document;
use fieldsync_core::ids::{
    ClaimId, CommitmentId, DealerId, NoteId, ProblemId, TerritoryId, UserId,
};
use fieldsync_core::model::{
    ClaimStage, Commitment, DealerEntry, DealerKind, DealerProfile, DealerStatus, ExpenseCategory,
    ExpenseClaim, Problem, ProblemCategory, Severity, Territory, Visit,
};
use fieldsync_core::money::Money;
use fieldsync_core::set::Set;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{Hub, Principal, Role};
use sha2::{Digest, Sha256};

/// Scene time: 2026-11-18, epoch milliseconds.
pub const T0: i64 = 1_795_000_000_000;

pub fn user(s: &str) -> UserId {
    s.parse().expect("a valid user id")
}

pub fn territory() -> TerritoryId {
    "t-north".parse().expect("a valid territory id")
}

pub fn dealer() -> DealerId {
    "d-lin".parse().expect("a valid dealer id")
}

/// A stable 16-byte actor id named by `name`.
pub fn actor(name: &str) -> ActorId {
    let h = Sha256::digest(name.as_bytes());
    ActorId::from(h[..16].to_vec())
}

/// `user`'s stamp at scene time plus `at` ms.
pub fn stamp(user_id: &str, at: i64) -> Stamp {
    Stamp::new(
        user(user_id),
        format!("{user_id}-phone")
            .parse()
            .expect("a valid device id"),
        Timestamp(T0 + at),
    )
}

/// The people a push may come from.
pub fn principal(which: u8) -> Principal {
    let north: Set<TerritoryId> = [territory()].into_iter().collect();
    let (u, role, territories) = match which % 6 {
        0 => ("m1", Role::Manager, north),
        1 => ("m2", Role::Manager, north),
        2 => ("r1", Role::Regional, north),
        3 => ("ho", Role::HeadOffice, Set::new()),
        4 => ("ad", Role::Admin, Set::new()),
        _ => (
            "m9",
            Role::Manager,
            ["t-south".parse().expect("a valid territory id")]
                .into_iter()
                .collect(),
        ),
    };
    Principal {
        user: user(u),
        role,
        territories,
    }
}

/// The scene's two documents, as the server stores them.
#[derive(Debug)]
pub struct Scene {
    pub territory: Document,
    pub dealer: Document,
}

impl Scene {
    /// Head office creates the territory, m1 the dealer (listed in the
    /// territory's index) with a visit (and its note), a commitment, two claims
    /// and a problem; r1 approves one claim. Every actor and time is fixed, so
    /// the scene (and so every input's changes) is the same in every run.
    pub fn build() -> Scene {
        let t = Territory {
            name: "北區".into(),
            region: "台灣".into(),
            managers: [user("m1"), user("m2")].into_iter().collect(),
            time_zone: None,
        };
        let mut territory_doc =
            Document::create_territory(territory(), &t, &stamp("ho", 0), actor("ho-phone"))
                .expect("the territory");
        let profile = DealerProfile::new("林記", DealerKind::Retailer, 2, DealerStatus::Active);
        let s = stamp("m1", 1);
        let mut m1 = Document::load(&territory_doc.save(), actor("m1-phone")).expect("it loads");
        let mut doc =
            Document::create_dealer(dealer(), territory(), &profile, &s, actor("m1-phone"))
                .expect("the dealer");
        let entry = DealerEntry {
            added_by: s.user.clone(),
            added_at: s.at,
        };
        let heads = m1.heads();
        m1.insert(&dealer(), &entry, &s)
            .expect("the dealer's index entry");
        territory_doc
            .apply(m1.changes_since(&heads))
            .expect("the index entry applies");
        let s = stamp("m1", 2);
        let visit = "v1".parse().expect("an id");
        doc.insert(&visit, &Visit::new(s.user.clone(), s.at), &s)
            .expect("a visit");
        let note: NoteId = "n1".parse().expect("an id");
        doc.add_note::<Visit>(&visit, &note, "老闆說下月進貨", &s)
            .expect("a note");
        let due: Day = "2026-12-01".parse().expect("a day");
        let k1: CommitmentId = "k1".parse().expect("an id");
        doc.insert(
            &k1,
            &Commitment::new("送試用品", "林老闆", s.user.clone(), s.at, due),
            &s,
        )
        .expect("a commitment");
        let twd = "TWD".parse().expect("a currency");
        for id in ["c1", "c2"] {
            let c: ClaimId = id.parse().expect("an id");
            let claim = ExpenseClaim::new(
                ExpenseCategory::Placement,
                "鋪市",
                Money::new(150_000, twd).expect("money"),
                s.user.clone(),
                s.at,
            );
            doc.insert(&c, &claim, &s).expect("a claim");
        }
        let p1: ProblemId = "p1".parse().expect("an id");
        let problem = Problem::new(
            ProblemCategory::Dealer,
            Severity::High,
            "缺貨",
            s.user.clone(),
            s.at,
        );
        doc.insert(&p1, &problem, &s).expect("a problem");
        let mut r1 = Document::load(&doc.save(), actor("r1-phone")).expect("it loads");
        let heads = r1.heads();
        let c2: ClaimId = "c2".parse().expect("an id");
        r1.advance::<ExpenseClaim>(
            &c2,
            ClaimStage::Approved,
            serde_json::Value::Null,
            &stamp("r1", 3),
        )
        .expect("an approval");
        doc.apply(r1.changes_since(&heads))
            .expect("the approval applies");
        // As the server stores them.
        let stored = |mut d: Document| Document::load(&d.save(), Hub::actor()).expect("it loads");
        Scene {
            territory: stored(territory_doc),
            dealer: stored(doc),
        }
    }

    /// One of the two documents.
    pub fn doc(&mut self, territory_doc: bool) -> &mut Document {
        if territory_doc {
            &mut self.territory
        } else {
            &mut self.dealer
        }
    }
}

thread_local! {
    static SCENE: RefCell<Option<Scene>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread's scene (built once).
pub fn with_scene<R>(f: impl FnOnce(&mut Scene) -> R) -> R {
    SCENE.with(|s| {
        let mut s = s.borrow_mut();
        f(s.get_or_insert_with(Scene::build))
    })
}

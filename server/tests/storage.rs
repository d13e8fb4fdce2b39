//! The storage suite, written once and run against SQLite and PostgreSQL.

mod common;

use common::*;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::DeviceId;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::Hub;
use fieldsync_server::readmodel::materialise;
use fieldsync_server::store::{CommitDoc, Store, StoreError};
use fieldsync_server::{admin, auth};

on_both_backends!(
    migrations_run_once_and_reopen_cleanly,
    users_devices_and_hashed_tokens,
    commits_number_each_territory_feed_in_order,
    actor_owners_are_claimed_once_and_kept,
    a_stale_writer_is_refused_and_writes_nothing,
    concurrent_writers_leave_no_gap_in_the_feed,
);

async fn migrations_run_once_and_reopen_cleanly(backend: Backend) {
    let db = TestDb::new(backend).await;
    let a = Store::open(&db.url).await.unwrap();
    a.create_user("u1", "U", "manager", &["t-north".into()])
        .await
        .unwrap();
    a.close().await;
    let b = Store::open(&db.url).await.unwrap();
    assert_eq!(b.user("u1").await.unwrap().unwrap().role, "manager");
    assert_eq!(
        b.user_territories("u1").await.unwrap(),
        vec!["t-north".to_owned()]
    );
    b.close().await;
}

async fn users_devices_and_hashed_tokens(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = Store::open(&db.url).await.unwrap();
    assert!(s.has_no_users().await.unwrap());
    admin::add_user(&s, "m1", "陳 Chen", "manager", &["t-north".into()])
        .await
        .unwrap();
    assert!(matches!(
        admin::add_user(&s, "m1", "again", "manager", &[]).await,
        Err(admin::AdminError::Store(StoreError::Duplicate(_)))
    ));
    assert!(admin::add_user(&s, "x", "X", "emperor", &[]).await.is_err());
    let issued = admin::issue_device(&s, "m1", "phone", None).await.unwrap();
    let hash = auth::hash_token(&issued.token);
    assert_ne!(hash, issued.token);
    assert_eq!(
        s.device_by_token_hash(&hash).await.unwrap(),
        Some((issued.device.clone(), "m1".to_owned()))
    );
    assert!(
        s.device_by_token_hash(&auth::hash_token("fs_other"))
            .await
            .unwrap()
            .is_none()
    );
    // The session's one query also reads who its user is; their territories are one more.
    let session = s.token_session(&hash).await.unwrap().unwrap();
    assert_eq!(
        (
            session.device.as_str(),
            session.user_row().name,
            session.user_row().role
        ),
        (
            issued.device.as_str(),
            "陳 Chen".to_owned(),
            "manager".to_owned()
        )
    );
    assert!(!session.revoked && !session.user_disabled);
    assert_eq!(
        s.readable_territories("m1", 0).await.unwrap(),
        vec!["t-north".to_owned()]
    );
    // What a request reads first: the session and the territories, in one query.
    s.set_user_territories("m1", &["t-south".into(), "t-north".into()])
        .await
        .unwrap();
    assert_eq!(
        s.token_caller(&hash, 0).await.unwrap(),
        Some((session, vec!["t-north".to_owned(), "t-south".to_owned()]))
    );
    assert_eq!(
        s.token_caller(&auth::hash_token("fs_other"), 0)
            .await
            .unwrap(),
        None
    );
    assert!(s.revoke_device(&issued.device).await.unwrap());
    assert!(!s.revoke_device(&issued.device).await.unwrap());
    assert!(s.device_by_token_hash(&hash).await.unwrap().is_none());
    assert!(matches!(
        admin::issue_device(&s, "nobody", "", None).await,
        Err(admin::AdminError::UnknownUser(_))
    ));
    s.close().await;
}

fn new_dealer(territory: &str) -> (Document, Vec<(String, Vec<u8>)>) {
    let stamp = Stamp::new(
        "m1".parse().unwrap(),
        DeviceId::random().unwrap(),
        fieldsync_core::calendar::Timestamp(1_767_225_600_000),
    );
    let mut doc = Document::create_dealer(
        fieldsync_core::ids::DealerId::random().unwrap(),
        tid(territory),
        &profile("測試 Test"),
        &stamp,
        Hub::actor(),
    )
    .unwrap();
    let fresh = doc
        .changes_since(&[])
        .iter()
        .map(|c| (c.hash().to_string(), c.raw_bytes().to_vec()))
        .collect();
    (doc, fresh)
}

async fn commit_new(s: &Store, territory: &str) -> Result<(String, i64), StoreError> {
    let (mut doc, fresh) = new_dealer(territory);
    let read = materialise(&mut doc, &Default::default(), None).unwrap();
    let id = doc.id().to_string();
    let last = s
        .commit_doc(CommitDoc {
            id: &id,
            territory,
            kind: "dealer",
            expected_version: None,
            snapshot: doc.save(),
            fresh,
            device: "dev",
            origin: "",
            read: &read,
        })
        .await?;
    Ok((id, last))
}

async fn commits_number_each_territory_feed_in_order(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = Store::open(&db.url).await.unwrap();
    // A new database: its epoch, and no feed yet (what a sync request reads first).
    let epoch = s.epoch().await.unwrap();
    assert_eq!(s.epoch_and_heads().await.unwrap(), (epoch.clone(), vec![]));
    let (d1, last1) = commit_new(&s, "t-north").await.unwrap();
    let (_, last2) = commit_new(&s, "t-north").await.unwrap();
    let (_, south) = commit_new(&s, "t-south").await.unwrap();
    assert_eq!(
        (last1, last2, south),
        (2, 4, 2),
        "two changes (genesis, profile) each"
    );
    let feed = s.feed_after("t-north", 0, 100).await.unwrap();
    assert_eq!(
        feed.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(feed[0].doc, d1);
    assert_eq!(s.feed_after("t-north", 2, 1).await.unwrap()[0].seq, 3);
    assert_eq!(
        s.feed_territories().await.unwrap(),
        vec!["t-north".to_owned(), "t-south".to_owned()]
    );
    let heads = vec![("t-north".to_owned(), 4), ("t-south".to_owned(), 2)];
    assert_eq!(
        s.epoch_and_heads().await.unwrap(),
        (epoch.clone(), heads.clone())
    );
    // With a device's cursor positions: the entries there, in the same read; a position
    // past the end, or in a territory with no feed, has none.
    let at = [
        ("t-north".to_owned(), 3),
        ("t-south".to_owned(), 9),
        ("t-west".to_owned(), 1),
    ];
    assert_eq!(
        s.epoch_heads_and_hashes(&at).await.unwrap(),
        (
            epoch,
            heads,
            vec![("t-north".to_owned(), 3, feed[2].hash.clone())]
        )
    );
    let stored = s.load_doc(&d1).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    let doc = Document::load(&stored.snapshot, Hub::actor()).unwrap();
    assert_eq!(doc.id().to_string(), d1);
    assert!(matches!(doc.id(), DocId::Dealer(_)));
    s.close().await;
}

async fn actor_owners_are_claimed_once_and_kept(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = Store::open(&db.url).await.unwrap();
    let (a, b) = ("aa01".to_owned(), "bb02".to_owned());
    assert!(
        s.actor_owners(std::slice::from_ref(&a))
            .await
            .unwrap()
            .is_empty()
    );
    let owners = s
        .claim_actors("dev-1", "kuo", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(owners.get(&a).map(String::as_str), Some("dev-1"));
    // Another device cannot take it; its own new actor is registered beside it.
    let owners = s
        .claim_actors("dev-2", "kuo", &[a.clone(), b.clone()])
        .await
        .unwrap();
    assert_eq!(owners.get(&a).map(String::as_str), Some("dev-1"));
    assert_eq!(owners.get(&b).map(String::as_str), Some("dev-2"));
    // A second store on the same database (another replica) reads the same owners.
    let other = Store::open(&db.url).await.unwrap();
    let both = other.actor_owners(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(both, owners);
    // A new epoch (a restored copy) still answers from the database.
    s.new_epoch().await.unwrap();
    assert_eq!(s.actor_owners(&[a.clone(), b]).await.unwrap(), owners);
    other.close().await;
    s.close().await;
}

async fn a_stale_writer_is_refused_and_writes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = Store::open(&db.url).await.unwrap();
    let (mut doc, fresh) = new_dealer("t-north");
    let read = materialise(&mut doc, &Default::default(), None).unwrap();
    let id = doc.id().to_string();
    let commit = |expected| CommitDoc {
        id: &id,
        territory: "t-north",
        kind: "dealer",
        expected_version: expected,
        snapshot: vec![1, 2, 3],
        fresh: fresh.clone(),
        device: "dev",
        origin: "",
        read: &read,
    };
    s.commit_doc(commit(None)).await.unwrap();
    // A second creator of the same document, and a writer holding an old version, both lose.
    assert!(matches!(
        s.commit_doc(commit(None)).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        s.commit_doc(commit(Some(7))).await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(s.total_changes().await.unwrap(), 2);
    assert_eq!(s.feed_after("t-north", 0, 100).await.unwrap().len(), 2);
    s.close().await;
}

async fn concurrent_writers_leave_no_gap_in_the_feed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = Store::open(&db.url).await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { commit_new(&s, "t-north").await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let seqs: Vec<i64> = s
        .feed_after("t-north", 0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    s.close().await;
}

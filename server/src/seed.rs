//! Demo data (`seed-demo`): territories, people, dealers and field work made through the core's replicas and stored through the sync path.

use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::DocError;
use fieldsync_core::geo::{GeoFix, GeoPoint};
use fieldsync_core::ids::{
    ClaimId, CommitmentId, DealerId, DeviceId, IdError, ProblemId, TerritoryId, UserId, VisitId,
};
use fieldsync_core::model::Month;
use fieldsync_core::model::{
    ClaimStage, Commitment, CommitmentStatus, DealerKind, DealerProfile, DealerStatus,
    ExpenseCategory, ExpenseClaim, Problem, ProblemCategory, ProblemStatus, Severity, Territory,
    Visit, VisitPurpose,
};
use fieldsync_core::money::{Currency, Money};
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{Principal, Replica, SyncError};
use serde_json::{Value, json};

use crate::admin::{AdminError, add_user, issue_device};
use crate::auth::principal_of;
use crate::engine::{self, EngineError};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Figure, SalesFigure, now_millis};

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("sync failed: {0}")]
    Api(#[from] ApiError),
    #[error("sync failed: {0}")]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Doc(#[from] DocError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("the server refused demo data: {0}")]
    Refused(String),
    #[error(transparent)]
    Sales(#[from] crate::store::SalesWriteError),
}

/// A demo person: (user id, name, role, territories, fixed token).
const PEOPLE: &[(&str, &str, &str, &[&str], &str)] = &[
    ("admin", "系統管理員 Admin", "admin", &[], "demo-admin"),
    (
        "ho-wang",
        "王總 Wang (Head office)",
        "head_office",
        &[],
        "demo-ho",
    ),
    (
        "r-lee",
        "李大區 Lee (Regional)",
        "regional",
        &["t-north", "t-central"],
        "demo-regional",
    ),
    (
        "m-chen",
        "陳志明 Chen",
        "manager",
        &["t-north"],
        "demo-m-chen",
    ),
    (
        "m-lin",
        "林美華 Lin",
        "manager",
        &["t-central"],
        "demo-m-lin",
    ),
    (
        "m-huang",
        "黃建國 Huang",
        "manager",
        &["t-south"],
        "demo-m-huang",
    ),
    ("m-wu", "吳淑芬 Wu", "manager", &["t-south"], "demo-m-wu"),
    ("m-liu", "劉家豪 Liu", "manager", &["t-east"], "demo-m-liu"),
];

/// A demo territory: (id, name, region, managers, centre lat, centre lon).
type DemoTerritory = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    f64,
    f64,
);

const TERRITORIES: &[DemoTerritory] = &[
    ("t-north", "北區 North", "north", &["m-chen"], 25.03, 121.56),
    (
        "t-central",
        "中區 Central",
        "central",
        &["m-lin"],
        24.15,
        120.67,
    ),
    (
        "t-south",
        "南區 South",
        "south",
        &["m-huang", "m-wu"],
        22.63,
        120.30,
    ),
    ("t-east", "東區 East", "east", &["m-liu"], 23.98, 121.60),
];

pub(crate) const NAMES: &[&str] = &[
    "林記商行",
    "Golden Harvest Trading",
    "大同農資",
    "Sunrise Agro Supply",
    "永興貿易",
    "Green Valley Retail",
    "福隆五金",
    "Pacific Link Partners",
    "順發批發",
    "Harbour Bank 港都分行",
    "聯合農會超市",
    "Evergreen Distributors",
    "金泰行",
    "Mountain Road Store",
    "新光經銷",
    "Lucky Star Mart",
    "合作金庫 Co-op Branch",
    "Riverbank Wholesale",
    "豐年農機",
    "Jade Coast Traders",
    "協和商店",
    "Blue Ocean Supplies",
    "益昌行",
    "Northern Star Partners",
    "東昇企業",
    "Hillside General Store",
    "長春藥妝",
    "Orchard Lane Retail",
    "宏達電器行",
    "First Light Bank 第一分行",
    "玉山農產",
    "Silver Creek Co.",
    "建興批發",
    "Tea Garden Market",
    "新竹米行",
    "Lighthouse Retail",
    "萬順行",
    "Rice Field Cooperative",
    "大慶五金",
    "Seaside Partners",
];

pub(crate) const SUMMARIES: &[&str] = &[
    "培訓兩位新業務員，介紹新品",
    "Reviewed shelf placement; agreed on end-cap display",
    "陪同拜訪下線客戶三家",
    "Discussed overdue payment and a repayment plan",
    "規劃下月促銷活動",
    "Collected receipts for expense reconciliation 核報",
];

/// A small deterministic generator so the demo is the same every time.
pub(crate) struct Lcg(pub(crate) u64);
impl Lcg {
    pub(crate) fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[usize::try_from(self.next(xs.len() as u64)).unwrap_or(0)]
    }
}

/// Head office's monthly targets and the actual sales of every active or dormant demo dealer for the
/// last three months (this month's actual still partial); returns how many dealer months.
async fn seed_sales(
    state: &AppState,
    now: i64,
    dealers: usize,
    rng: &mut Lcg,
) -> Result<usize, SeedError> {
    let Some(this) = Timestamp(now).day().ok().and_then(Month::of) else {
        return Ok(0);
    };
    let months: Vec<Month> = [
        this.previous().and_then(Month::previous),
        this.previous(),
        Some(this),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut rows: Vec<(String, String, i64, i64)> = Vec::new();
    for n in 1..=dealers {
        // As the dealers were made: no sales for prospects or terminated dealers.
        if n % 9 == 4 || (n % 9 == 8 && n > 30) {
            continue;
        }
        for (i, month) in months.iter().enumerate() {
            let target = (200 + i64::try_from(rng.next(600)).unwrap_or(0)) * 100_000;
            let mut share = 60 + i64::try_from(rng.next(70)).unwrap_or(0);
            if i + 1 == months.len() {
                share /= 2;
            }
            rows.push((
                format!("d-{n:03}"),
                month.to_string(),
                target,
                target * share / 100,
            ));
        }
    }
    let figures: Vec<SalesFigure<'_>> = rows
        .iter()
        .flat_map(|(dealer, month, target, actual)| {
            [
                (Figure::Target, *target, None, "ho-wang"),
                (Figure::Actual, *actual, Some("import"), "ho-wang"),
            ]
            .map(|(figure, minor, source, by)| SalesFigure {
                dealer,
                month,
                currency: "TWD",
                minor,
                figure,
                source,
                by,
                at: now,
            })
        })
        .collect();
    state.store.set_sales(&figures).await?;
    Ok(rows.len())
}

pub(crate) struct Actor {
    pub(crate) principal: Principal,
    pub(crate) device: String,
    pub(crate) replica: Replica,
}

impl Actor {
    pub(crate) fn stamp(&self, at: i64) -> Result<Stamp, SeedError> {
        Ok(Stamp::new(
            self.principal.user.clone(),
            self.device.parse::<DeviceId>()?,
            Timestamp(at),
        ))
    }

    /// Syncs through the engine, the same code path as `POST /v1/sync`.
    pub(crate) async fn sync(&mut self, state: &AppState) -> Result<(), SeedError> {
        for _ in 0..1000 {
            let req = self.replica.sync_request();
            let resp = engine::sync(state, &self.principal, &self.device, &req).await?;
            let report = self.replica.apply_response(&resp)?;
            if let Some(r) = report.rejected.first() {
                return Err(SeedError::Refused(format!("{}: {}", r.doc, r.message)));
            }
            if let Some((doc, e)) = report.errors.first() {
                return Err(SeedError::Refused(format!("{doc}: {e}")));
            }
            if !report.more {
                return Ok(());
            }
        }
        Err(SeedError::Refused("sync did not finish".into()))
    }
}

pub(crate) async fn actor(
    state: &AppState,
    user: &str,
    device: String,
) -> Result<Actor, SeedError> {
    let row = state
        .store
        .user(user)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| SeedError::Refused(format!("no user {user}")))?;
    Ok(Actor {
        principal: principal_of(state, &row).await?,
        device,
        replica: Replica::new()?,
    })
}

pub(crate) const DAY: i64 = 86_400_000;

pub(crate) fn day_of(ms: i64) -> Result<Day, SeedError> {
    Timestamp(ms)
        .day()
        .map_err(|e| SeedError::Refused(e.to_string()))
}

pub(crate) fn twd(minor: i64) -> Result<Money, SeedError> {
    let c: Currency = "TWD"
        .parse()
        .map_err(|_| SeedError::Refused("currency".into()))?;
    Money::new(minor, c).map_err(|e| SeedError::Refused(e.to_string()))
}

/// A claim's intended final stage, by index.
fn claim_target(i: u64) -> ClaimStage {
    match i % 5 {
        0 => ClaimStage::Requested,
        1 => ClaimStage::Approved,
        2 => ClaimStage::Rejected,
        3 => ClaimStage::Spent,
        _ => ClaimStage::Reconciled,
    }
}

/// Seeds the demo and returns a printable summary with the demo tokens.
pub async fn seed_demo(state: &AppState) -> Result<String, SeedError> {
    let now = now_millis();
    let mut devices = std::collections::BTreeMap::new();
    for (id, name, role, ts, token) in PEOPLE {
        let ts: Vec<String> = ts.iter().map(|t| (*t).to_owned()).collect();
        add_user(&state.store, id, name, role, &ts).await?;
        let issued = issue_device(&state.store, id, "demo device", Some(token)).await?;
        devices.insert(*id, issued.device);
    }
    let device = |u: &str| devices.get(u).cloned().unwrap_or_default();

    // Head office creates the territories.
    let mut ho = actor(state, "ho-wang", device("ho-wang")).await?;
    for (id, name, region, managers, ..) in TERRITORIES {
        let t = Territory {
            name: (*name).to_owned(),
            region: (*region).to_owned(),
            managers: managers
                .iter()
                .map(|m| m.parse::<UserId>())
                .collect::<Result<_, _>>()?,
            time_zone: Some(fieldsync_core::zone::DEFAULT_ZONE.to_owned()),
        };
        let s = ho.stamp(now - 120 * DAY)?;
        ho.replica.create_territory(id.parse()?, &t, &s)?;
    }
    ho.sync(state).await?;

    let mut rng = Lcg(20_260_101);
    let mut dealer_no = 0usize;
    let mut claims: Vec<(String, DealerId, ClaimId, ClaimStage)> = Vec::new();
    let (mut n_visits, mut n_commitments, mut n_problems) = (0, 0, 0);
    for (tid, _, _, managers, lat, lon) in TERRITORIES {
        let territory: TerritoryId = tid.parse()?;
        for manager in managers.iter() {
            let mut m = actor(state, manager, device(manager)).await?;
            m.sync(state).await?;
            let per_manager = if managers.len() > 1 { 5 } else { 10 };
            for _ in 0..per_manager {
                let name = NAMES[dealer_no % NAMES.len()];
                dealer_no += 1;
                let dealer: DealerId = format!("d-{dealer_no:03}").parse()?;
                let kind = *rng.pick(DealerKind::ALL);
                let status = match dealer_no % 9 {
                    0 => DealerStatus::Dormant,
                    4 => DealerStatus::Prospect,
                    8 if dealer_no > 30 => DealerStatus::Terminated,
                    _ => DealerStatus::Active,
                };
                let tier = u8::try_from(1 + rng.next(5)).unwrap_or(3);
                let mut p = DealerProfile::new(name, kind, tier, status);
                p.address = format!(
                    "{} 中正路 {} 號",
                    tid.trim_start_matches("t-"),
                    10 + dealer_no
                );
                let (dlat, dlon) = (
                    lat + (rng.next(200) as f64 - 100.0) / 1000.0,
                    lon + (rng.next(200) as f64 - 100.0) / 1000.0,
                );
                p.location = Some(GeoPoint {
                    lat: dlat,
                    lon: dlon,
                });
                let created = now - (90 + rng.next(20) as i64) * DAY;
                let s = m.stamp(created)?;
                m.replica
                    .create_dealer(&territory, dealer.clone(), &p, &s)?;

                for v in 0..(1 + rng.next(4)) {
                    let at = now - (rng.next(60) as i64 + 1) * DAY - rng.next(8) as i64 * 3_600_000;
                    let mut visit = Visit::new(m.principal.user.clone(), Timestamp(at));
                    visit.summary = (*rng.pick(SUMMARIES)).to_owned();
                    visit.purposes = [*rng.pick(VisitPurpose::ALL), *rng.pick(VisitPurpose::ALL)]
                        .into_iter()
                        .collect();
                    visit.gps = Some(GeoFix {
                        point: GeoPoint {
                            lat: dlat + 0.0003,
                            lon: dlon - 0.0002,
                        },
                        accuracy_m: 5.0 + rng.next(40) as f64,
                        manual: false,
                    });
                    visit.attendees = ["店長 Store manager".to_owned()].into_iter().collect();
                    let id: VisitId = format!("v-{dealer_no:03}-{v}").parse()?;
                    let s = m.stamp(at)?;
                    m.replica.dealer_mut(&dealer)?.insert(&id, &visit, &s)?;
                    n_visits += 1;
                }

                for c in 0..rng.next(3) {
                    let made = now - (10 + rng.next(40) as i64) * DAY;
                    let due_in = rng.next(40) as i64 - 15;
                    let due = day_of((made + (due_in.max(0) + 5) * DAY).min(now + 30 * DAY))?;
                    let what = if c % 2 == 0 {
                        "補貨 200 箱並協助上架"
                    } else {
                        "Deliver POS display kit"
                    };
                    let mut com = Commitment::new(
                        what,
                        "店長 Mr. Chang",
                        m.principal.user.clone(),
                        Timestamp(made),
                        due,
                    );
                    if rng.next(2) == 0 {
                        com.amount = Some(twd(500_000 + rng.next(20) as i64 * 10_000)?);
                    }
                    let id: CommitmentId = format!("c-{dealer_no:03}-{c}").parse()?;
                    let s = m.stamp(made)?;
                    m.replica.dealer_mut(&dealer)?.insert(&id, &com, &s)?;
                    if rng.next(3) == 0 {
                        let s = m.stamp(made + 2 * DAY)?;
                        m.replica.dealer_mut(&dealer)?.advance::<Commitment>(
                            &id,
                            CommitmentStatus::Kept,
                            Value::Null,
                            &s,
                        )?;
                    }
                    n_commitments += 1;
                }

                if dealer_no.is_multiple_of(2) {
                    let at = now - (5 + rng.next(30) as i64) * DAY;
                    let claim = ExpenseClaim::new(
                        *rng.pick(ExpenseCategory::ALL),
                        if dealer_no.is_multiple_of(4) {
                            "鋪市費用：端架陳列"
                        } else {
                            "Salesman wage subsidy, Q3"
                        },
                        twd(200_000 + rng.next(50) as i64 * 10_000)?,
                        m.principal.user.clone(),
                        Timestamp(at),
                    );
                    let id: ClaimId = format!("x-{dealer_no:03}").parse()?;
                    let s = m.stamp(at)?;
                    m.replica.dealer_mut(&dealer)?.insert(&id, &claim, &s)?;
                    claims.push((
                        (*manager).to_owned(),
                        dealer.clone(),
                        id,
                        claim_target(dealer_no as u64 / 2),
                    ));
                }

                if dealer_no % 3 != 1 {
                    let raised = now - (rng.next(45) as i64 + 1) * DAY;
                    let (title, category) = match dealer_no % 5 {
                        0 => (
                            "Competitor undercutting price by 10%",
                            ProblemCategory::Competitor,
                        ),
                        1 => ("業務員流動率高", ProblemCategory::Staff),
                        2 => ("Dealer late on payment 貨款逾期", ProblemCategory::Dealer),
                        3 => ("市場需求下滑", ProblemCategory::Market),
                        _ => ("Expense receipts missing", ProblemCategory::Expense),
                    };
                    let mut prob = Problem::new(
                        category,
                        *rng.pick(Severity::ALL),
                        title,
                        m.principal.user.clone(),
                        Timestamp(raised),
                    );
                    prob.description = "詳見拜訪紀錄 See visit notes".into();
                    prob.escalated = dealer_no.is_multiple_of(7);
                    let id: ProblemId = format!("p-{dealer_no:03}").parse()?;
                    let s = m.stamp(raised)?;
                    m.replica.dealer_mut(&dealer)?.insert(&id, &prob, &s)?;
                    match dealer_no % 3 {
                        0 => {
                            let s = m.stamp(raised + DAY)?;
                            m.replica.dealer_mut(&dealer)?.advance::<Problem>(
                                &id,
                                ProblemStatus::InProgress,
                                Value::Null,
                                &s,
                            )?;
                        }
                        2 if dealer_no.is_multiple_of(4) => {
                            let s = m.stamp(raised + 2 * DAY)?;
                            m.replica.dealer_mut(&dealer)?.advance::<Problem>(
                                &id,
                                ProblemStatus::Resolved,
                                json!({"resolution": "已協調解決 Settled with the owner"}),
                                &s,
                            )?;
                        }
                        _ => {}
                    }
                    n_problems += 1;
                }
            }
            m.sync(state).await?;
        }
    }

    // Supervisors decide on claims: the regional manager for theirs, head office for the rest.
    let mut regional = actor(state, "r-lee", device("r-lee")).await?;
    regional.sync(state).await?;
    ho.sync(state).await?;
    for (_, dealer, id, target) in &claims {
        if *target == ClaimStage::Requested {
            continue;
        }
        let territory = ho.replica.dealer(dealer)?.territory().clone();
        let who = if regional.principal.territories.contains(&territory) {
            &mut regional
        } else {
            &mut ho
        };
        let stage = if *target == ClaimStage::Rejected {
            ClaimStage::Rejected
        } else {
            ClaimStage::Approved
        };
        let s = who.stamp(now - 3 * DAY)?;
        who.replica
            .dealer_mut(dealer)?
            .advance::<ExpenseClaim>(id, stage, Value::Null, &s)?;
    }
    regional.sync(state).await?;
    ho.sync(state).await?;

    // Managers spend and reconcile approved money.
    for (_, _, _, managers, ..) in TERRITORIES {
        for manager in managers.iter() {
            let mut m = actor(state, manager, device(manager)).await?;
            m.sync(state).await?;
            for (owner, dealer, id, target) in &claims {
                if owner != manager || !matches!(target, ClaimStage::Spent | ClaimStage::Reconciled)
                {
                    continue;
                }
                let amount = m
                    .replica
                    .dealer(dealer)?
                    .record::<ExpenseClaim>(id)?
                    .map(|c| c.amount);
                let Some(amount) = amount else { continue };
                let spent = Money {
                    minor: amount.minor * 9 / 10,
                    currency: amount.currency,
                };
                let s = m.stamp(now - 2 * DAY)?;
                m.replica.dealer_mut(dealer)?.advance::<ExpenseClaim>(
                    id,
                    ClaimStage::Spent,
                    json!({"spent": spent}),
                    &s,
                )?;
                if *target == ClaimStage::Reconciled {
                    let s = m.stamp(now - DAY)?;
                    m.replica.dealer_mut(dealer)?.advance::<ExpenseClaim>(
                        id,
                        ClaimStage::Reconciled,
                        Value::Null,
                        &s,
                    )?;
                }
            }
            m.sync(state).await?;
        }
    }

    let n_sales = seed_sales(state, now, dealer_no, &mut rng).await?;

    let mut out = format!(
        "demo data: {} territories, {} people, {dealer_no} dealers, {n_visits} visits, {n_commitments} commitments, {} claims, {n_problems} problems, {n_sales} dealer months of sales\n\n\
         Demo device tokens (demo only; paste one into the app's login form at http://HOST/):\n",
        TERRITORIES.len(),
        PEOPLE.len(),
        claims.len(),
    );
    for (id, name, role, ts, token) in PEOPLE {
        out.push_str(&format!(
            "  {token:<14} {id:<8} {role:<11} {name} {}\n",
            ts.join(",")
        ));
    }
    Ok(out)
}

//! Data at scale for head office's dashboard benchmark (`seed-scale`): many managers, dealers and visits, made through the core's replicas and stored through the sync path, with a year of sales.

use fieldsync_core::calendar::Timestamp;
use fieldsync_core::ids::{ClaimId, CommitmentId, DealerId, ProblemId, TerritoryId, VisitId};
use fieldsync_core::model::{
    ClaimStage, Commitment, DealerKind, DealerProfile, DealerStatus, ExpenseCategory, ExpenseClaim,
    Month, Problem, ProblemCategory, Severity, Territory, Visit, VisitPurpose,
};
use serde_json::Value;

use crate::admin::{add_user, issue_device};
use crate::seed::{DAY, Lcg, NAMES, SUMMARIES, SeedError, actor, day_of, twd};
use crate::state::AppState;
use crate::store::{Figure, SalesFigure, now_millis};

/// How much to make.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub managers: usize,
    pub dealers: usize,
    pub visits: usize,
}

/// Head office `ho` and `managers` managers (`m01`…), each alone in a territory (`t-s01`…) with
/// an equal share of the dealers and of the visits (spread over the last year), a commitment and
/// a claim per dealer (head office approves every other one), a problem per two dealers, and a
/// target and an actual per dealer for each of the last twelve months. Returns a summary with
/// head office's device token.
pub async fn seed_scale(state: &AppState, scale: Scale) -> Result<String, SeedError> {
    let now = now_millis();
    let managers = scale.managers.max(1);
    add_user(&state.store, "ho", "總部 Head office", "head_office", &[]).await?;
    let ho_device = issue_device(&state.store, "ho", "bench", None).await?;
    let mut ho = actor(state, "ho", ho_device.device.clone()).await?;
    let mut people = Vec::new();
    for m in 1..=managers {
        let (user, territory) = (format!("m{m:02}"), format!("t-s{m:02}"));
        let name = format!("經理 {m:02}");
        add_user(
            &state.store,
            &user,
            &name,
            "manager",
            std::slice::from_ref(&territory),
        )
        .await?;
        let device = issue_device(&state.store, &user, "bench", None)
            .await?
            .device;
        let t = Territory {
            name: format!("區域 {m:02}"),
            region: ["北部", "中部", "南部", "東部"][m % 4].to_owned(),
            managers: [user.parse()?].into_iter().collect(),
            time_zone: Some(fieldsync_core::zone::DEFAULT_ZONE.to_owned()),
        };
        let s = ho.stamp(now - 400 * DAY)?;
        ho.replica.create_territory(territory.parse()?, &t, &s)?;
        people.push((user, territory, device));
    }
    ho.sync(state).await?;

    let mut rng = Lcg(20_261_206);
    let mut dealers: Vec<(String, DealerId, ClaimId)> = Vec::new();
    let per_dealers = scale.dealers.div_ceil(managers);
    let per_visits = scale.visits.div_ceil(managers);
    let (mut n_dealers, mut n_visits) = (0usize, 0usize);
    for (user, territory, device) in &people {
        let territory: TerritoryId = territory.parse()?;
        let mut m = actor(state, user, device.clone()).await?;
        m.sync(state).await?;
        let mine: Vec<DealerId> = (0..per_dealers.min(scale.dealers - n_dealers))
            .map(|i| format!("d-{}-{i:04}", territory.as_str().trim_start_matches("t-")).parse())
            .collect::<Result<_, _>>()?;
        for (i, dealer) in mine.iter().enumerate() {
            let kind = *rng.pick(DealerKind::ALL);
            let tier = u8::try_from(1 + rng.next(5)).unwrap_or(3);
            let status = if i % 10 == 9 {
                DealerStatus::Dormant
            } else {
                DealerStatus::Active
            };
            let p = DealerProfile::new(NAMES[(n_dealers + i) % NAMES.len()], kind, tier, status);
            let s = m.stamp(now - 380 * DAY)?;
            m.replica
                .create_dealer(&territory, dealer.clone(), &p, &s)?;
            let made = now - (5 + rng.next(80) as i64) * DAY;
            let due = day_of(made + (rng.next(60) as i64) * DAY)?;
            let c = Commitment::new(
                "補貨並協助上架",
                "店長",
                m.principal.user.clone(),
                Timestamp(made),
                due,
            );
            let s = m.stamp(made)?;
            m.replica.dealer_mut(dealer)?.insert(
                &format!("c-{i:04}").parse::<CommitmentId>()?,
                &c,
                &s,
            )?;
            let claim: ClaimId = format!("k-{i:04}").parse()?;
            let at = now - (1 + rng.next(300) as i64) * DAY;
            let category = *rng.pick(ExpenseCategory::ALL);
            let amount = twd(100_000 + rng.next(50) as i64 * 20_000)?;
            let k = ExpenseClaim::new(
                category,
                "聯合促銷",
                amount,
                m.principal.user.clone(),
                Timestamp(at),
            );
            let s = m.stamp(at)?;
            m.replica.dealer_mut(dealer)?.insert(&claim, &k, &s)?;
            dealers.push((user.clone(), dealer.clone(), claim));
            if i % 2 == 0 {
                let raised = now - (1 + rng.next(120) as i64) * DAY;
                let pr = Problem::new(
                    *rng.pick(ProblemCategory::ALL),
                    *rng.pick(Severity::ALL),
                    "競品促銷",
                    m.principal.user.clone(),
                    Timestamp(raised),
                );
                let s = m.stamp(raised)?;
                m.replica.dealer_mut(dealer)?.insert(
                    &format!("p-{i:04}").parse::<ProblemId>()?,
                    &pr,
                    &s,
                )?;
            }
        }
        for v in 0..per_visits.min(scale.visits - n_visits) {
            let Some(dealer) = mine.get(v % mine.len().max(1)) else {
                break;
            };
            let at = now - (rng.next(365) as i64) * DAY - rng.next(10) as i64 * 3_600_000;
            let mut visit = Visit::new(m.principal.user.clone(), Timestamp(at));
            visit.summary = (*rng.pick(SUMMARIES)).to_owned();
            visit.purposes = [*rng.pick(VisitPurpose::ALL)].into_iter().collect();
            let s = m.stamp(at)?;
            m.replica.dealer_mut(dealer)?.insert(
                &format!("v-{v:05}").parse::<VisitId>()?,
                &visit,
                &s,
            )?;
            n_visits += 1;
        }
        m.sync(state).await?;
        n_dealers += mine.len();
    }

    // Head office approves every other claim.
    ho.sync(state).await?;
    for (i, (_, dealer, claim)) in dealers.iter().enumerate() {
        if i % 2 == 0 {
            let s = ho.stamp(now - DAY)?;
            ho.replica.dealer_mut(dealer)?.advance::<ExpenseClaim>(
                claim,
                ClaimStage::Approved,
                Value::Null,
                &s,
            )?;
        }
    }
    ho.sync(state).await?;

    // A year of monthly targets and actuals per dealer.
    let mut months = Vec::new();
    let mut month = Timestamp(now).day().ok().and_then(Month::of);
    while let Some(m) = month.filter(|_| months.len() < 12) {
        months.push(m.to_string());
        month = m.previous();
    }
    let mut rows = Vec::new();
    for (_, dealer, _) in &dealers {
        for month in &months {
            let target = (200 + rng.next(600) as i64) * 100_000;
            let actual = target * (50 + rng.next(80) as i64) / 100;
            rows.push((dealer.to_string(), month.clone(), target, actual));
        }
    }
    let figures: Vec<SalesFigure<'_>> = rows
        .iter()
        .flat_map(|(dealer, month, target, actual)| {
            [
                (Figure::Target, *target, None),
                (Figure::Actual, *actual, Some("import")),
            ]
            .map(|(figure, minor, source)| SalesFigure {
                dealer,
                month,
                currency: "TWD",
                minor,
                figure,
                source,
                by: "ho",
                at: now,
            })
        })
        .collect();
    state.store.set_sales(&figures).await?;
    Ok(format!(
        "scale data: {} territories and managers, {n_dealers} dealers, {n_visits} visits, {} claims, {} dealer months of sales\n\
         head office token: {}\n",
        people.len(),
        dealers.len(),
        rows.len(),
        ho_device.token
    ))
}

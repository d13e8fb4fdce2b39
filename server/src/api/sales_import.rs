//! Head office's import of actual sales from a CSV file (UTF-8, with or without a byte-order mark): every line or none.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::StringRejection;
use serde::Serialize;
use utoipa::ToSchema;

use super::sales::{SalesError, checked};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::{Figure, SalesFigure, now_millis};

/// Most lines one import takes.
pub const MAX_IMPORT_LINES: usize = 20_000;
/// Most line errors one refusal lists.
const MAX_LISTED: usize = 20;

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    /// Dealer months written.
    pub imported: usize,
}

/// The column each field is read from, by its English or zh-Hant header.
#[derive(Debug)]
struct Columns {
    dealer: usize,
    month: usize,
    amount: usize,
    currency: usize,
}

fn columns(headers: &csv::StringRecord) -> Result<Columns, String> {
    let find = |names: &[&str]| {
        headers.iter().position(|h| {
            let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
            names.iter().any(|n| h == *n)
        })
    };
    let need = |names: &[&str]| {
        find(names).ok_or_else(|| {
            format!(
                "the first line must name the columns dealer, month, amount and currency \
                 (經銷商, 月份, 銷售額, 幣別); '{}' is missing",
                names[0]
            )
        })
    };
    Ok(Columns {
        dealer: need(&["dealer", "經銷商"])?,
        month: need(&["month", "月份"])?,
        amount: need(&["amount", "銷售額"])?,
        currency: need(&["currency", "幣別"])?,
    })
}

/// An amount in major units (`12500`, `12,500.5`, `12500.50`) as minor units (×100).
pub fn parse_amount(text: &str) -> Result<i64, String> {
    let t: String = text.trim().chars().filter(|c| *c != ',').collect();
    let bad = || {
        format!(
            "'{}' is not an amount such as 12500 or 12500.50",
            text.trim()
        )
    };
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 15
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// One line read: (dealer, month, minor, currency).
type Line = (String, String, i64, String);

fn read_lines(body: &str) -> Result<Vec<(usize, Line)>, Vec<String>> {
    let body = body.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_bytes());
    let cols = match reader.headers() {
        Ok(h) => columns(h).map_err(|e| vec![e])?,
        Err(e) => return Err(vec![format!("line 1: {e}")]),
    };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let n = i + 2;
        if lines.len() + errors.len() >= MAX_IMPORT_LINES {
            errors.push(format!(
                "more than {MAX_IMPORT_LINES} lines; split the file"
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {n}: {e}"));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |c: usize| record.get(c).unwrap_or_default().to_owned();
        let read = parse_amount(&field(cols.amount)).and_then(|minor| {
            let (month, money) = checked(&field(cols.month), minor, &field(cols.currency))?;
            Ok((month.to_string(), money))
        });
        match read {
            Ok((month, money)) => lines.push((
                n,
                (
                    field(cols.dealer),
                    month,
                    money.minor,
                    money.currency.to_string(),
                ),
            )),
            Err(e) => errors.push(format!("line {n}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

fn refusal(errors: &[String]) -> SalesError {
    let mut text: Vec<&str> = errors.iter().take(MAX_LISTED).map(String::as_str).collect();
    let more = errors.len().saturating_sub(MAX_LISTED);
    let tail = format!("… and {more} more");
    if more > 0 {
        text.push(&tail);
    }
    SalesError::BadCsv(format!("nothing was imported: {}", text.join("; ")))
}

/// `POST /api/sales/import` (text/csv): head office's actual sales, a dealer month per line.
#[utoipa::path(
    post,
    path = "/api/sales/import",
    tag = "read",
    security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "Columns `dealer,month,amount,currency` (or 經銷商,月份,銷售額,幣別) in any order; amounts in major units (12500.50); a month written YYYY-MM. A later line for the same dealer month wins."),
    responses(
        (status = 200, description = "Every line was imported", body = Imported),
        (status = 400, description = "A line does not read or names an unknown dealer (`bad_csv`: the message lists the lines; nothing was imported)", body = ErrorBody),
        (status = 403, description = "Only head office imports sales (`forbidden`)", body = ErrorBody),
        (status = 409, description = "A month holds a target in another currency (`currency_mismatch`; nothing was imported)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn import_sales(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<String, StringRejection>,
) -> Result<Json<Imported>, SalesError> {
    if caller.principal.role != fieldsync_core::schema::Role::HeadOffice {
        return Err(ApiError::Forbidden("only head office imports sales".into()).into());
    }
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(e.body_text())
        } else {
            ApiError::bad(
                "bad_csv",
                "the file is not UTF-8 text; save it as CSV UTF-8",
            )
        }
    })?;
    let lines = read_lines(&body).map_err(|e| refusal(&e))?;
    // Every dealer must be known; a later line for the same month replaces an earlier one.
    // One query per 500 dealers named, not one per line.
    let named: BTreeSet<&str> = lines.iter().map(|(_, l)| l.0.as_str()).collect();
    let known = state.store.dealer_names(named.into_iter()).await?;
    let unknown: Vec<String> = lines
        .iter()
        .filter(|(_, l)| !known.contains_key(&l.0))
        .map(|(n, l)| {
            format!(
                "line {n}: no dealer '{}'",
                l.0.chars().take(40).collect::<String>()
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(refusal(&unknown));
    }
    let mut latest: BTreeMap<(&str, &str), &Line> = BTreeMap::new();
    for (_, line) in &lines {
        latest.insert((line.0.as_str(), line.1.as_str()), line);
    }
    let at = now_millis();
    let figures: Vec<SalesFigure<'_>> = latest
        .values()
        .map(|(dealer, month, minor, currency)| SalesFigure {
            dealer,
            month,
            currency,
            minor: *minor,
            figure: Figure::Actual,
            source: Some("import"),
            by: &caller.user.id,
            at,
        })
        .collect();
    state.store.set_sales(&figures).await?;
    tracing::info!(by = %caller.user.id, months = figures.len(), "sales imported");
    Ok(Json(Imported {
        imported: figures.len(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_major_units() {
        assert_eq!(parse_amount("12500"), Ok(1_250_000));
        assert_eq!(parse_amount(" 12,500.5 "), Ok(1_250_050));
        assert_eq!(parse_amount("0.07"), Ok(7));
        for bad in ["", "-5", "1.234", "12a", "1e5", ".5", "9999999999999999"] {
            assert!(parse_amount(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_file_reads_whole_or_lists_its_bad_lines() {
        let ok =
            "\u{feff}經銷商,月份,銷售額,幣別\nd-1,2026-11,\"1,000\",TWD\n\nd-2,2026-11,5.5,TWD\n";
        let lines = read_lines(ok).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].1,
            ("d-1".into(), "2026-11".into(), 100_000, "TWD".into())
        );
        let bad = "dealer,month,amount,currency\nd-1,2026-13,5,TWD\nd-2,2026-11,5,twd\nd-3,2026-11,5,TWD\n";
        let errors = read_lines(bad).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("line 2:"), "{errors:?}");
        assert!(errors[1].starts_with("line 3:"), "{errors:?}");
        assert!(read_lines("dealer,month,amount\nd-1,2026-11,5\n").is_err());
    }
}

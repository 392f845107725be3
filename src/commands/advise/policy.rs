//! From readings to a decision: the growth rate of one volume, days to full, and the size the
//! policy proposes (`--target-usage`, `--min-step`, whole GiB, `--max`, never below the largest
//! live PVC). Sizes are exact integers and quantities ([`crate::k8s::quantity`]); only rates and
//! days, which are estimates, are floating point.

use super::metrics::{Field, Place, Sample, Series};
use crate::k8s::quantity::{Quantity, Size};
use num_bigint::BigUint;
use num_traits::ToPrimitive;

const MS_PER_DAY: f64 = 86_400_000.0;
const GIB: u64 = 1 << 30;

/// `--target-usage`, `--min-step`, `--max`, `--horizon`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The usage to size for, in basis points (70% = 7000).
    pub target_bp: u64,
    pub min_step: Step,
    pub max: Option<Size>,
    pub horizon_ms: i64,
}

/// The smallest growth worth a resize (EBS allows one change per volume every 6 hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Of the largest live PVC, in basis points.
    Percent(u64),
    Bytes(u64),
}

/// `70%`, `70`, `72.5%` -> basis points (7000, 7000, 7250); 0 < p <= 100%.
pub fn parse_percent(flag: &str, s: &str) -> Result<u64, String> {
    let digits = s.strip_suffix('%').unwrap_or(s);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 3
        && frac.len() <= 2
        && whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit());
    let bp = ok.then(|| {
        let f: u64 = format!("{frac:0<2}").parse().unwrap_or(0);
        whole.parse::<u64>().unwrap_or(0) * 100 + f
    });
    match bp {
        Some(bp) if bp > 0 && bp <= 10_000 => Ok(bp),
        _ => Err(format!(
            "{flag}: invalid percentage {s:?}\n  hint: give a percentage above 0 and at most 100, e.g. 70%"
        )),
    }
}

/// `--min-step`: a percentage of the largest live PVC (`10%`) or a quantity (`5Gi`).
pub fn parse_step(s: &str) -> Result<Step, String> {
    if s.ends_with('%') {
        return parse_percent("--min-step", s).map(Step::Percent);
    }
    Size::parse(s)
        .map(|z| Step::Bytes(z.bytes as u64))
        .map_err(|e| format!("--min-step: {e}"))
}

/// A Prometheus duration (`14d`, `1w`, `36h`, `1d12h`, `90m`) in milliseconds.
pub fn parse_duration(flag: &str, s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{flag}: invalid duration {s:?}\n  hint: write it as Prometheus does, e.g. 14d, 2w, 36h or 1d12h"
        )
    };
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: i64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ms = match &rest[..unit_end] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        rest = &rest[unit_end..];
    }
    if total == 0 {
        return Err(bad());
    }
    Ok(total)
}

/// A duration as days, for messages: `14d`, `2.5d`.
pub fn days_text(days: f64) -> String {
    if days >= 10.0 || days.fract() == 0.0 {
        format!("{days:.0}d")
    } else {
        format!("{days:.1}d")
    }
}

/// One volume's latest readings and its growth.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub t_ms: i64,
    pub capacity: u64,
    pub used: u64,
    pub available: u64,
    pub inodes: u64,
    pub inodes_used: u64,
    /// Bytes per day, from two or more samples since the last reset.
    pub bytes_per_day: Option<f64>,
    pub inodes_per_day: Option<f64>,
    /// The sample after a reset (used bytes or inodes fell by more than half, or the capacity
    /// shrank: another volume, or one wiped): the rate starts there.
    pub reset: Option<Place>,
    /// Where the latest used-bytes sample was read.
    pub place: Option<Place>,
    /// Where the latest used-inodes sample was read.
    pub inode_place: Option<Place>,
}

impl Reading {
    /// `df`'s Use%: used / (used + available), in basis points (rounded up, as df does).
    pub fn usage_bp(&self) -> Option<u64> {
        ratio_bp(self.used, self.used + self.available)
    }

    pub fn inode_usage_bp(&self) -> Option<u64> {
        ratio_bp(self.inodes_used, self.inodes)
    }

    /// Days until the available bytes are gone at the observed rate (`None`: not growing or no rate).
    pub fn days_to_full(&self) -> Option<f64> {
        self.bytes_per_day
            .filter(|r| *r > 0.0)
            .map(|r| self.available as f64 / r)
    }

    pub fn days_to_inodes_full(&self) -> Option<f64> {
        self.inodes_per_day
            .filter(|r| *r > 0.0)
            .map(|r| self.inodes.saturating_sub(self.inodes_used) as f64 / r)
    }

    /// Used bytes projected `horizon_ms` ahead (never below today's).
    pub fn used_at(&self, horizon_ms: i64) -> u64 {
        project(self.used, self.bytes_per_day, horizon_ms)
    }

    pub fn inodes_used_at(&self, horizon_ms: i64) -> u64 {
        project(self.inodes_used, self.inodes_per_day, horizon_ms)
    }
}

fn project(now: u64, per_day: Option<f64>, horizon_ms: i64) -> u64 {
    let grow = per_day.filter(|r| *r > 0.0).unwrap_or(0.0) * horizon_ms as f64 / MS_PER_DAY;
    now.saturating_add(grow.ceil() as u64)
}

fn ratio_bp(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| (u128::from(part) * 10_000).div_ceil(u128::from(whole)) as u64)
}

/// The readings of one volume: the latest value of each gauge, and the rates.
pub fn reading(series: &Series) -> Reading {
    let last = |f: Field| series.last(f).map_or(0, |s| s.value);
    let used = series.get(Field::Used);
    let inodes_used = series.get(Field::InodesUsed);
    let reset_used = reset(used, series.get(Field::Capacity));
    let reset_inodes = reset(inodes_used, &[]);
    let reset = [reset_used, reset_inodes]
        .into_iter()
        .flatten()
        .max_by_key(|s| s.t_ms);
    Reading {
        t_ms: series.last(Field::Used).map_or(0, |s| s.t_ms),
        capacity: last(Field::Capacity),
        used: last(Field::Used),
        available: last(Field::Available),
        inodes: last(Field::Inodes),
        inodes_used: last(Field::InodesUsed),
        bytes_per_day: slope(since(used, reset_used)),
        inodes_per_day: slope(since(inodes_used, reset_inodes)),
        reset: reset.map(|s| s.place),
        place: series.last(Field::Used).map(|s| s.place),
        inode_place: series.last(Field::InodesUsed).map(|s| s.place),
    }
}

fn since<'a>(samples: &'a [Sample], from: Option<&Sample>) -> &'a [Sample] {
    match from {
        Some(r) => {
            let i = samples.iter().position(|s| s.t_ms >= r.t_ms).unwrap_or(0);
            &samples[i..]
        }
        None => samples,
    }
}

/// The last sample after which a series starts over: the value fell by more than half (a wiped
/// or re-created volume; a counter-like reset), or the capacity shrank (a volume can't).
fn reset<'a>(values: &'a [Sample], capacity: &'a [Sample]) -> Option<&'a Sample> {
    let fell = values
        .windows(2)
        .filter(|w| w[1].value < w[0].value / 2)
        .map(|w| &w[1]);
    let shrank = capacity
        .windows(2)
        .filter(|w| w[1].value < w[0].value)
        .map(|w| &w[1]);
    fell.chain(shrank).max_by_key(|s| s.t_ms)
}

/// Least-squares slope in units per day; `None` below two samples at distinct times.
fn slope(samples: &[Sample]) -> Option<f64> {
    if samples.len() < 2 || samples.first()?.t_ms == samples.last()?.t_ms {
        return None;
    }
    let t0 = samples[0].t_ms;
    let v0 = samples[0].value as f64;
    let n = samples.len() as f64;
    let xs = samples.iter().map(|s| (s.t_ms - t0) as f64 / MS_PER_DAY);
    let ys = samples.iter().map(|s| s.value as f64 - v0);
    let (sx, sy) = (xs.clone().sum::<f64>(), ys.clone().sum::<f64>());
    let (mx, my) = (sx / n, sy / n);
    let (mut num, mut den) = (0.0, 0.0);
    for (x, y) in xs.zip(ys) {
        num += (x - mx) * (y - my);
        den += (x - mx) * (x - mx);
    }
    (den > 0.0).then(|| num / den)
}

/// One ordinal as the policy sees it: its readings and its live PVC size in bytes.
pub struct Volume<'a> {
    pub reading: &'a Reading,
    pub live_bytes: u64,
}

/// What the policy says about a claim template (or a lone PVC).
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The smallest size that keeps every ordinal at or below the target at the horizon, in
    /// bytes (before the step, rounding and cap).
    pub need_bytes: u64,
    /// True when the need comes from inodes, not bytes.
    pub for_inodes: bool,
    /// The proposed size (whole GiB), or `None` when the live size suffices.
    pub size: Option<Size>,
    /// `--max` capped the size below the need.
    pub capped: bool,
}

/// The size that keeps each volume at or below the target at the horizon. A filesystem has less
/// room than its PVC (metadata, ext4's reserved blocks): the need scales by the PVC's bytes per
/// usable byte, and inodes scale with the size (as ext4 and XFS make them).
pub fn propose(policy: &Policy, volumes: &[Volume<'_>], live_max: u64) -> Proposal {
    let mut need = 0u64;
    let mut for_inodes = false;
    for v in volumes {
        let r = v.reading;
        let by_bytes = scaled(
            r.used_at(policy.horizon_ms),
            v.live_bytes,
            r.used + r.available,
            policy.target_bp,
        );
        let by_inodes = scaled(
            r.inodes_used_at(policy.horizon_ms),
            v.live_bytes,
            r.inodes,
            policy.target_bp,
        );
        if by_bytes > need {
            need = by_bytes;
            for_inodes = false;
        }
        if by_inodes > need {
            need = by_inodes;
            for_inodes = true;
        }
    }
    if need <= live_max {
        return Proposal {
            need_bytes: need,
            for_inodes,
            size: None,
            capped: false,
        };
    }
    let floor = match policy.min_step {
        Step::Percent(bp) => {
            live_max.saturating_add((u128::from(live_max) * u128::from(bp)).div_ceil(10_000) as u64)
        }
        Step::Bytes(b) => live_max.saturating_add(b),
    };
    let mut size = whole_gib(need.max(floor));
    let mut capped = false;
    if let Some(max) = &policy.max
        && size.quantity > max.quantity
    {
        capped = need > max.bytes as u64;
        size = max.clone();
    }
    let size = (size.bytes as u64 > live_max).then_some(size);
    Proposal {
        need_bytes: need,
        for_inodes,
        size,
        capped,
    }
}

/// `part * live / whole / target`, rounded up, exactly; 0 when nothing is known.
fn scaled(part: u64, live: u64, whole: u64, target_bp: u64) -> u64 {
    if whole == 0 || live == 0 {
        return 0;
    }
    let num = BigUint::from(part) * BigUint::from(live) * BigUint::from(10_000u32);
    let den = BigUint::from(whole) * BigUint::from(target_bp);
    let q = (&num + &den - BigUint::from(1u32)) / den;
    q.to_u64().unwrap_or(u64::MAX)
}

/// The smallest whole number of GiB at or above `bytes`, as a size (`53Gi`).
pub fn whole_gib(bytes: u64) -> Size {
    let gib = bytes.div_ceil(GIB).max(1);
    Size::parse(&format!("{gib}Gi")).unwrap_or_else(|_| {
        // Beyond 2^63-1 bytes: the largest whole GiB Kubernetes can store.
        Size::parse(&format!("{}Gi", (i64::MAX as u64) / GIB)).expect("a valid size")
    })
}

/// A PVC size in bytes from its quantity text (`None` for an invalid one).
pub fn bytes_of(text: &str) -> Option<u64> {
    Quantity::parse(text)
        .ok()
        .and_then(|q| q.bytes())
        .map(|b| b as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t_ms: i64, value: u64) -> Sample {
        Sample {
            t_ms,
            value,
            place: Place { file: 0, line: 1 },
        }
    }

    #[test]
    fn parses_flags() {
        assert_eq!(parse_percent("--t", "70%"), Ok(7000));
        assert_eq!(parse_percent("--t", "72.5%"), Ok(7250));
        assert_eq!(parse_percent("--t", "100"), Ok(10_000));
        assert!(parse_percent("--t", "0%").is_err());
        assert!(parse_percent("--t", "101%").is_err());
        assert!(parse_percent("--t", "7O%").unwrap_err().contains("hint:"));
        assert_eq!(parse_duration("--h", "14d"), Ok(14 * 86_400_000));
        assert_eq!(parse_duration("--h", "1d12h"), Ok(36 * 3_600_000));
        assert_eq!(parse_duration("--h", "2w"), Ok(14 * 86_400_000));
        assert!(parse_duration("--h", "14").is_err());
        assert!(parse_duration("--h", "d").is_err());
        assert!(parse_duration("--h", "0d").is_err());
        assert_eq!(parse_step("10%"), Ok(Step::Percent(1000)));
        assert_eq!(parse_step("5Gi"), Ok(Step::Bytes(5 * GIB)));
    }

    #[test]
    fn slope_and_reset() {
        let day = 86_400_000;
        let used = [s(0, 100), s(day, 200), s(2 * day, 300)];
        assert_eq!(slope(&used), Some(100.0));
        let wiped = [s(0, 1000), s(day, 100), s(2 * day, 150)];
        let r = reset(&wiped, &[]).unwrap();
        assert_eq!(r.t_ms, day);
        assert_eq!(slope(since(&wiped, Some(r))), Some(50.0));
        assert_eq!(slope(&[s(5, 1), s(5, 2)]), None);
    }

    #[test]
    fn proposal_follows_the_policy() {
        let gi = GIB;
        // 20Gi PVC, filesystem of 19.5Gi usable, 15Gi used, growing 1Gi a day.
        let r = Reading {
            used: 15 * gi,
            available: 9 * gi / 2,
            bytes_per_day: Some(gi as f64),
            ..Reading::default()
        };
        let policy = Policy {
            target_bp: 7000,
            min_step: Step::Percent(1000),
            max: None,
            horizon_ms: 14 * 86_400_000,
        };
        let v = [Volume {
            reading: &r,
            live_bytes: 20 * gi,
        }];
        let p = propose(&policy, &v, 20 * gi);
        // (15 + 14) Gi used at the horizon, over 70% of 19.5/20 of the PVC: 42.49 GiB -> 43Gi.
        let expected = (29 * gi as u128 * 20 * gi as u128 * 10_000)
            .div_ceil((39 * gi as u128 / 2) * 7000) as u64;
        assert_eq!(p.need_bytes, expected);
        let size = p.size.unwrap();
        assert_eq!(size.text, "43Gi");
        assert!(size.quantity >= Quantity::parse(&expected.to_string()).unwrap());
        // --max caps it, and says so.
        let capped = propose(
            &Policy {
                max: Some(Size::parse("30Gi").unwrap()),
                ..policy.clone()
            },
            &v,
            20 * gi,
        );
        assert_eq!(
            (capped.size.unwrap().text.as_str(), capped.capped),
            ("30Gi", true)
        );
        // A live PVC already larger than the need: nothing to propose.
        assert_eq!(propose(&policy, &v, 50 * gi).size.map(|s| s.text), None);
        // The minimum step: a need just above the live size still grows by 10%.
        let small = Reading {
            used: 29 * gi / 2,
            available: 11 * gi / 2,
            ..Reading::default()
        };
        let v = [Volume {
            reading: &small,
            live_bytes: 20 * gi,
        }];
        assert_eq!(propose(&policy, &v, 20 * gi).size.unwrap().text, "22Gi");
    }
}

//! Kubernetes resource quantities, parsed, compared and printed exactly as
//! `k8s.io/apimachinery/pkg/api/resource` does, without floating point.
//!
//! A quantity is kept as an exact decimal: `mantissa * 10^scale` (the binary suffixes are multiplied
//! out when parsing), so `1Gi == 1024Mi` and `19Gi > 20G` are plain integer comparisons, and values
//! beyond 64 bits stay exact instead of wrapping.

use num_bigint::BigUint;
use num_traits::{ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt;

/// The regular expression Kubernetes quotes in its error message.
pub const QUANTITY_REGEX: &str = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// The largest magnitude (in powers of ten) this implementation keeps exactly. Kubernetes
/// truncates exponents to 32 bits (so `1e4294967296` becomes `1`); we refuse such values instead.
/// The bound is on the value, not the written exponent, so that every canonical form parses back
/// (`200e1000` is `2e1002`, both about 10^1002).
const MAX_DECIMAL_EXPONENT: i64 = 1100;

/// Written exponents beyond this are refused before any arithmetic (no 10^(2^31) allocation).
const MAX_WRITTEN_EXPONENT: i64 = 10_000;

/// The largest value a `BinarySI` quantity may hold: Kubernetes caps it at `2^63 - 1`.
const MAX_INT64: i64 = i64::MAX;

/// How the quantity was written, which decides its canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `1e3`, `2E+6`
    DecimalExponent,
    /// `Ki Mi Gi Ti Pi Ei`
    BinarySI,
    /// `n u m "" k M G T P E`
    DecimalSI,
}

/// Why a string is not a quantity. The `Display` texts are Kubernetes' own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantityError {
    /// `quantities must match the regular expression ...`
    FormatWrong,
    /// `unable to parse quantity's suffix`
    Suffix,
    /// `unable to parse numeric part of quantity`
    Numeric,
    /// The exponent is so large that Kubernetes itself would wrap it; refused here.
    OutOfRange,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantityError::FormatWrong => write!(
                f,
                "quantities must match the regular expression '{QUANTITY_REGEX}'"
            ),
            QuantityError::Suffix => f.write_str("unable to parse quantity's suffix"),
            QuantityError::Numeric => f.write_str("unable to parse numeric part of quantity"),
            QuantityError::OutOfRange => write!(
                f,
                "the value is beyond 10^{MAX_DECIMAL_EXPONENT} (or its exponent beyond {MAX_WRITTEN_EXPONENT}); Kubernetes would truncate the exponent to 32 bits"
            ),
        }
    }
}

impl std::error::Error for QuantityError {}

/// An exact Kubernetes quantity.
#[derive(Debug, Clone)]
pub struct Quantity {
    negative: bool,
    mantissa: BigUint,
    scale: i64,
    format: Format,
    /// Kubernetes keeps the input string when it is already canonical (this includes a leading
    /// `+` or leading zeros, which `String()` then echoes).
    kept: Option<String>,
    capped: bool,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    /// Compares by value: `1Gi == 1024Mi`, `1G < 1Gi`, `1 == 1000m`.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a_zero, b_zero) = (self.is_zero(), other.is_zero());
        let sign = |neg: bool, zero: bool| {
            if zero {
                0
            } else if neg {
                -1
            } else {
                1
            }
        };
        let (sa, sb) = (sign(self.negative, a_zero), sign(other.negative, b_zero));
        if sa != sb {
            return sa.cmp(&sb);
        }
        if sa == 0 {
            return Ordering::Equal;
        }
        let scale = self.scale.min(other.scale);
        let a = &self.mantissa * pow10((self.scale - scale) as u32);
        let b = &other.mantissa * pow10((other.scale - scale) as u32);
        if sa < 0 { b.cmp(&a) } else { a.cmp(&b) }
    }
}

fn pow10(n: u32) -> BigUint {
    BigUint::from(10u32).pow(n)
}

/// The pieces `parseQuantityString` splits a quantity into.
struct Split<'a> {
    positive: bool,
    /// The numeric part with sign, as Kubernetes passes it to `inf.Dec.SetString`.
    value: &'a str,
    /// Integer digits, leading zeros removed, "0" when there are none.
    num: &'a str,
    /// Fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

/// Splits `s` as `parseQuantityString` does: the sign, the integer and fraction digits, the
/// suffix (checked for its characters only).
fn split(s: &str) -> Result<Split<'_>, QuantityError> {
    let b = s.as_bytes();
    let end = b.len();
    let (positive, mut pos) = sign_and_zeros(b);
    if pos >= end {
        return Ok(Split::unsuffixed(positive, "0", "0", ""));
    }
    let num_start = pos;
    pos = skip_digits(b, pos);
    let mut num = &s[num_start..pos];
    if pos >= end {
        return Ok(Split::unsuffixed(positive, s, num, ""));
    }
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        pos = skip_digits(b, pos);
        denom = &s[denom_start..pos];
        if pos >= end {
            return Ok(Split::unsuffixed(positive, s, num, denom));
        }
    }
    let value = &s[..pos];
    if suffix_end(b, pos) < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Split {
        positive,
        value,
        num,
        denom,
        suffix: &s[pos..],
    })
}

impl<'a> Split<'a> {
    /// The pieces of a quantity with no suffix.
    fn unsuffixed(positive: bool, value: &'a str, num: &'a str, denom: &'a str) -> Split<'a> {
        Split {
            positive,
            value,
            num,
            denom,
            suffix: "",
        }
    }
}

/// Whether the quantity is positive (no `-` sign), and the offset after its sign and leading
/// zeros.
fn sign_and_zeros(b: &[u8]) -> (bool, usize) {
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    if pos < end {
        match b[0] {
            b'-' => {
                positive = false;
                pos += 1
            }
            b'+' => pos += 1,
            _ => {}
        }
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    (positive, pos)
}

/// The offset after the ASCII digits from `pos`.
fn skip_digits(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    pos
}

/// The offset after the suffix starting at `pos`: its letters, then an exponent's sign and
/// digits.
fn suffix_end(b: &[u8], mut pos: usize) -> usize {
    let end = b.len();
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    skip_digits(b, pos)
}

/// The precision left for Kubernetes' int64 fast path (negative: the exact path is taken).
fn fast_precision(format: Format, sp: &Split<'_>, exponent: i64) -> i64 {
    let digits = sp.num.len() + sp.denom.len();
    match format {
        Format::DecimalExponent | Format::DecimalSI => 18 - digits as i64,
        Format::BinarySI if sp.denom.is_empty() => 15 - sp.num.len() as i64 - exponent * 3 / 10 - 1,
        Format::BinarySI => -1,
    }
}

/// Whether the fast path keeps the input string as the canonical form (`shifted`: the digits
/// without the point).
fn fast_canonical(format: Format, exponent: i64, fast_scale: i64, shifted: &str) -> bool {
    match format {
        // `value & 7 != 0`: the low three bits of the number before the suffix.
        Format::BinarySI => exponent % 10 == 0 && shifted.parse::<u64>().is_ok_and(|v| v & 7 != 0),
        _ => fast_scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
    }
}

/// `(base, exponent, format)` of a suffix.
fn interpret(suffix: &str) -> Result<(u32, i64, Format), QuantityError> {
    let dec = |e| Ok((10, e, Format::DecimalSI));
    let bin = |e| Ok((2, e, Format::BinarySI));
    match suffix {
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "" => dec(0),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ if suffix.len() > 1 && (suffix.starts_with('e') || suffix.starts_with('E')) => {
            // Go's strconv.ParseInt: optional sign, then digits only.
            let digits = &suffix[1..];
            let body = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
                return Err(QuantityError::Suffix);
            }
            let exponent: i64 = match digits.parse() {
                Ok(e) => e,
                // Beyond int64: Go's ParseInt fails, and so the suffix does.
                Err(_) => return Err(QuantityError::Suffix),
            };
            // unsigned_abs: `e-9223372036854775808` is a valid i64 whose abs() overflows.
            if exponent.unsigned_abs() > MAX_WRITTEN_EXPONENT as u64 {
                return Err(QuantityError::OutOfRange);
            }
            Ok((10, exponent, Format::DecimalExponent))
        }
        _ => Err(QuantityError::Suffix),
    }
}

impl Quantity {
    /// Parses a quantity exactly as `resource.ParseQuantity` does.
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::FormatWrong);
        }
        if s == "0" {
            return Ok(Quantity::zero_with(Format::DecimalSI, Some(s.to_owned())));
        }
        let sp = split(s)?;
        let (base, exponent, format) = interpret(sp.suffix)?;
        let digits = sp.num.len() + sp.denom.len();
        if digits > 4096 {
            return Err(QuantityError::OutOfRange);
        }

        // Kubernetes' int64 fast path: it decides whether the input string is kept as the
        // canonical form.
        let fast_precision = fast_precision(format, &sp, exponent);
        let shifted = format!("{}{}", sp.num, sp.denom);
        let mantissa: BigUint = shifted.parse().map_err(|_| QuantityError::Numeric)?;
        let mut q = Quantity {
            negative: !sp.positive,
            mantissa,
            scale: -(sp.denom.len() as i64),
            format,
            kept: None,
            capped: false,
        };
        if base == 10 {
            q.scale += exponent;
        } else {
            q.mantissa <<= exponent as usize;
        }
        // The value's order of magnitude: refuse what Kubernetes itself would mangle.
        let magnitude = q.scale + q.mantissa.to_string().len() as i64;
        if !q.mantissa.is_zero() && magnitude > MAX_DECIMAL_EXPONENT {
            return Err(QuantityError::OutOfRange);
        }

        if fast_precision >= 0 {
            let fast_scale = if base == 10 { exponent } else { 0 } - sp.denom.len() as i64;
            if fast_scale >= -9 && q.magnitude_fits_i64() {
                if fast_canonical(format, exponent, fast_scale, &shifted) {
                    q.kept = Some(s.to_owned());
                }
                return Ok(q);
            }
        }

        // The exact (inf.Dec) path.
        if !sp.value.bytes().any(|c| c.is_ascii_digit()) {
            return Err(QuantityError::Numeric);
        }
        Ok(q.exact())
    }

    /// The exact (inf.Dec) path's value: rounded up to whole nano units; a binary one capped at
    /// the int64 maximum, and made decimal below 1.
    fn exact(mut self) -> Quantity {
        let q = &mut self;
        if !q.mantissa.is_zero() && q.scale < -9 {
            // Round up (away from zero) to a whole number of nano units.
            let div = pow10((-9 - q.scale) as u32);
            let (quot, rem) = (&q.mantissa / &div, &q.mantissa % &div);
            q.mantissa = if rem.is_zero() { quot } else { quot + 1u32 };
            q.scale = -9;
        }
        if q.format == Format::BinarySI {
            if q.magnitude_cmp(MAX_INT64) == Ordering::Greater {
                q.mantissa = BigUint::from(MAX_INT64 as u64);
                q.scale = 0;
                q.capped = true;
            }
            if !q.mantissa.is_zero() && q.magnitude_cmp(1) == Ordering::Less {
                q.format = Format::DecimalSI;
            }
        }
        self
    }

    fn zero_with(format: Format, kept: Option<String>) -> Quantity {
        Quantity {
            negative: false,
            mantissa: BigUint::zero(),
            scale: 0,
            format,
            kept,
            capped: false,
        }
    }

    /// Compares the absolute value with a whole number.
    fn magnitude_cmp(&self, n: i64) -> Ordering {
        let other = BigUint::from(n.unsigned_abs());
        if self.scale >= 0 {
            (&self.mantissa * pow10(self.scale as u32)).cmp(&other)
        } else {
            self.mantissa.cmp(&(other * pow10((-self.scale) as u32)))
        }
    }

    /// True when Kubernetes capped a binary quantity at 2^63-1 (`9Ei` is stored as
    /// `9223372036854775807`).
    pub fn is_capped(&self) -> bool {
        self.capped
    }

    fn magnitude_fits_i64(&self) -> bool {
        // The fast path's int64Amount: the mantissa (before scaling) must fit in an int64.
        self.mantissa.to_i64().is_some()
    }

    /// How the quantity was written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True for a value of zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa.is_zero()
    }

    /// True for a value below zero.
    pub fn is_negative(&self) -> bool {
        self.negative && !self.is_zero()
    }

    /// True when the quantity uses a binary suffix (`Ki` ... `Ei`).
    pub fn is_binary(&self) -> bool {
        self.format == Format::BinarySI
    }

    /// The value rounded up to a whole number (`Quantity.Value()` for a positive quantity; bytes
    /// for a storage size). `None` when the value is negative or does not fit in an `i64`.
    pub fn bytes(&self) -> Option<i64> {
        if self.is_negative() {
            return None;
        }
        let whole = self.ceil_whole();
        whole.to_i64()
    }

    /// The byte count for messages, grouped: `21,474,836,480` (exact however large; negative
    /// values keep their sign).
    pub fn bytes_grouped(&self) -> String {
        let digits = group_digits(&self.ceil_whole().to_string());
        if self.is_negative() {
            format!("-{digits}")
        } else {
            digits
        }
    }

    /// The byte count to print beside `other`'s in a comparison: [`Quantity::bytes_grouped`],
    /// unless both round up to the same whole number while their values differ (`8Gi` and
    /// `8589934591.9999`): then the exact value with its fraction (`8,589,934,591.9999`), so
    /// that a shrink or a growth never shows two equal numbers. The API server compares the
    /// exact values (`Quantity.Cmp`, after `ParseQuantity` rounded up to nano units, as
    /// [`Quantity::parse`] does), not the rounded bytes.
    pub fn bytes_beside(&self, other: &Quantity) -> String {
        if self == other || self.ceil_whole() != other.ceil_whole() || self.scale >= 0 {
            return self.bytes_grouped();
        }
        let digits = self.mantissa.to_string();
        let frac_len = (-self.scale) as usize;
        let padded = format!("{digits:0>width$}", width = frac_len + 1);
        let (whole, frac) = padded.split_at(padded.len() - frac_len);
        let sign = if self.is_negative() { "-" } else { "" };
        format!(
            "{sign}{}.{}",
            group_digits(whole),
            frac.trim_end_matches('0')
        )
    }

    /// The value rounded up to a whole number, exactly, however large.
    pub fn bytes_exact(&self) -> BigUint {
        self.ceil_whole()
    }

    fn ceil_whole(&self) -> BigUint {
        if self.scale >= 0 {
            &self.mantissa * pow10(self.scale as u32)
        } else {
            let div = pow10((-self.scale) as u32);
            let (q, r) = (&self.mantissa / &div, &self.mantissa % &div);
            if r.is_zero() { q } else { q + 1u32 }
        }
    }

    /// The exact sum of two quantities that are not negative (`Quantity.Add`, as the quota
    /// admission adds usage): binary when both are, else decimal. `None` for a negative input.
    pub fn add(&self, other: &Quantity) -> Option<Quantity> {
        if self.is_negative() || other.is_negative() {
            return None;
        }
        let scale = self.scale.min(other.scale);
        let a = &self.mantissa * pow10((self.scale - scale) as u32);
        let b = &other.mantissa * pow10((other.scale - scale) as u32);
        Some(self.with(a + b, scale, other))
    }

    /// `self - other` when `self >= other >= 0` (the growth of a request), exactly.
    pub fn minus(&self, other: &Quantity) -> Option<Quantity> {
        if self.is_negative() || other.is_negative() || self < other {
            return None;
        }
        let scale = self.scale.min(other.scale);
        let a = &self.mantissa * pow10((self.scale - scale) as u32);
        let b = &other.mantissa * pow10((other.scale - scale) as u32);
        Some(self.with(a - b, scale, other))
    }

    fn with(&self, mantissa: BigUint, scale: i64, other: &Quantity) -> Quantity {
        // A zero (the start of a sum) takes the other's format.
        let binary = |q: &Quantity| q.is_binary() || q.is_zero();
        let format = if binary(self) && binary(other) && !(self.is_zero() && other.is_zero()) {
            Format::BinarySI
        } else {
            Format::DecimalSI
        };
        Quantity {
            negative: false,
            mantissa,
            scale,
            format,
            kept: None,
            capped: false,
        }
    }

    /// The canonical form, as Kubernetes' `Quantity.String()` prints it.
    pub fn canonical(&self) -> String {
        if let Some(kept) = &self.kept {
            return kept.clone();
        }
        if self.is_zero() {
            return "0".to_owned();
        }
        let sign = if self.negative { "-" } else { "" };
        let mut format = self.format;
        if format == Format::BinarySI
            && (self.magnitude_cmp(1024) == Ordering::Less || !self.is_whole())
        {
            format = Format::DecimalSI;
        }
        if format == Format::BinarySI {
            let mut n = self.ceil_whole();
            let mut exp = 0;
            let k = BigUint::from(1024u32);
            while exp < 6 && (&n % &k).is_zero() {
                n /= &k;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return format!("{sign}{n}{suffix}");
        }
        // Move every factor of ten into the exponent, then lower the exponent to a multiple of 3.
        let mut n = self.mantissa.clone();
        let mut exp = self.scale;
        let ten = BigUint::from(10u32);
        while (&n % &ten).is_zero() {
            n /= &ten;
            exp += 1;
        }
        while exp.rem_euclid(3) != 0 {
            n *= &ten;
            exp -= 1;
        }
        let suffix = match format {
            Format::DecimalExponent if exp == 0 => String::new(),
            Format::DecimalExponent => format!("e{exp}"),
            _ => match exp {
                -9 => "n".into(),
                -6 => "u".into(),
                -3 => "m".into(),
                0 => String::new(),
                3 => "k".into(),
                6 => "M".into(),
                9 => "G".into(),
                12 => "T".into(),
                15 => "P".into(),
                18 => "E".into(),
                // Beyond exa Kubernetes prints the digits with no suffix at all (a wrong value);
                // the exponent form keeps it exact.
                _ => format!("e{exp}"),
            },
        };
        format!("{sign}{n}{suffix}")
    }

    fn is_whole(&self) -> bool {
        self.scale >= 0 || (&self.mantissa % pow10((-self.scale) as u32)).is_zero()
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// A user-facing hint for a string Kubernetes refuses: what they probably meant.
pub fn suggest(input: &str) -> String {
    let trimmed: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != ',')
        .collect();
    let split_at = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split_at);
    let number = if number.is_empty() { "50" } else { number };
    let unit_lc = unit.to_ascii_lowercase();
    let unit_lc = unit_lc
        .trim_end_matches('b')
        .trim_end_matches("ytes")
        .trim_end_matches("yte");
    let binary = |u: &str| format!("{number}{u}");
    let pairs = [
        ("ki", "Ki", "k"),
        ("k", "Ki", "k"),
        ("mi", "Mi", "M"),
        ("m", "Mi", "M"),
        ("gi", "Gi", "G"),
        ("g", "Gi", "G"),
        ("ti", "Ti", "T"),
        ("t", "Ti", "T"),
        ("pi", "Pi", "P"),
        ("p", "Pi", "P"),
    ];
    for (lc, bin, dec) in pairs {
        if unit_lc == lc {
            let candidate = binary(bin);
            if Quantity::parse(&candidate).is_ok() {
                return format!(
                    "write `{candidate}` (binary, {bin} = 2^{}) or `{number}{dec}` (decimal, {dec} = 10^{}); \
                     units are case-sensitive and take no `B`, spaces or separators",
                    bin_power(bin),
                    dec_power(dec)
                );
            }
        }
    }
    "a quantity is a number and an optional suffix: `50Gi` (2^30 bytes each), `50G` (10^9), \
     `51200Mi`; suffixes are Ki Mi Gi Ti Pi Ei or k M G T P E, case-sensitive, no `B`"
        .to_owned()
}

fn bin_power(s: &str) -> u32 {
    match s {
        "Ki" => 10,
        "Mi" => 20,
        "Gi" => 30,
        "Ti" => 40,
        _ => 50,
    }
}

fn dec_power(s: &str) -> u32 {
    match s {
        "k" => 3,
        "M" => 6,
        "G" => 9,
        "T" => 12,
        _ => 15,
    }
}

/// A storage size: a quantity that is a valid PVC request (positive, within 64 bits), with the text
/// exactly as the user wrote it (that text is what gets written into files).
#[derive(Debug, Clone)]
pub struct Size {
    pub text: String,
    pub quantity: Quantity,
    pub bytes: i64,
}

/// Why a string is not a usable storage size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    Invalid {
        input: String,
        error: QuantityError,
        hint: String,
    },
    NotPositive {
        input: String,
    },
    TooLarge {
        input: String,
    },
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::Invalid { input, error, hint } => {
                write!(f, "invalid size {input:?}: {error}\n  hint: {hint}")
            }
            SizeError::NotPositive { input } => write!(
                f,
                "invalid size {input:?}: a PersistentVolumeClaim storage request must be greater than zero\n  hint: give the new, larger size, e.g. 50Gi"
            ),
            SizeError::TooLarge { input } => write!(
                f,
                "invalid size {input:?}: it is beyond 2^63-1 bytes, the largest size Kubernetes can store\n  hint: give a size below 8Ei (e.g. 500Ti)"
            ),
        }
    }
}

impl std::error::Error for SizeError {}

impl Size {
    /// Parses a storage size for a PVC request.
    pub fn parse(input: &str) -> Result<Size, SizeError> {
        let quantity = Quantity::parse(input).map_err(|error| SizeError::Invalid {
            input: input.to_owned(),
            error,
            hint: suggest(input),
        })?;
        if quantity.is_zero() || quantity.is_negative() {
            return Err(SizeError::NotPositive {
                input: input.to_owned(),
            });
        }
        let exact = quantity.bytes_exact();
        let bytes = match exact.to_i64() {
            Some(b) if exact <= BigUint::from(MAX_INT64 as u64) => b,
            _ => {
                return Err(SizeError::TooLarge {
                    input: input.to_owned(),
                });
            }
        };
        // A capped binary value (9Ei) is also "too large": the cap would silently shrink it.
        if quantity.is_capped() {
            return Err(SizeError::TooLarge {
                input: input.to_owned(),
            });
        }
        Ok(Size {
            text: input.to_owned(),
            quantity,
            bytes,
        })
    }

    /// A human reading of the byte count: `53687091200 bytes (50 GiB)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} bytes)",
            self.quantity.canonical(),
            group(self.bytes)
        )
    }
}

/// The warning for a decimal size replacing a binary one (`50G` for `20Gi`: users mean `Gi`,
/// and `df -h` prints powers of 1024 with a bare `G`), or `None` when there is nothing to say.
pub fn decimal_for_binary(
    old_text: &str,
    old: &Quantity,
    new_text: &str,
    new: &Quantity,
) -> Option<String> {
    if !old.is_binary() || new.is_binary() {
        return None;
    }
    let suggestion = new_text
        .strip_suffix(['k', 'M', 'G', 'T', 'P', 'E'])
        .map(|n| {
            format!(
                "; did you mean {n}{}i?",
                new_text.chars().last().unwrap().to_ascii_uppercase()
            )
        })
        .unwrap_or_default();
    Some(format!(
        "{new_text} is decimal ({}) where {old_text} is binary ({}): {new_text} is {} bytes{suggestion}",
        decimal_unit(new_text),
        binary_unit(old_text),
        new.bytes_grouped()
    ))
}

/// What the suffix of a decimal quantity means, in words (`G = 10^9 bytes`).
fn decimal_unit(text: &str) -> String {
    const UNITS: [(char, u32); 6] = [
        ('k', 3),
        ('M', 6),
        ('G', 9),
        ('T', 12),
        ('P', 15),
        ('E', 18),
    ];
    let last = text.chars().last().unwrap_or('0');
    match UNITS.iter().find(|(c, _)| *c == last) {
        Some((c, n)) => format!("{c} = 10^{n} bytes"),
        None if text.contains(['e', 'E']) => "a power of 10 as its exponent".to_owned(),
        None => "a plain number of bytes".to_owned(),
    }
}

/// What the suffix of a binary quantity means (`Gi = 2^30 bytes`).
fn binary_unit(text: &str) -> String {
    const UNITS: [(&str, u32); 6] = [
        ("Ki", 10),
        ("Mi", 20),
        ("Gi", 30),
        ("Ti", 40),
        ("Pi", 50),
        ("Ei", 60),
    ];
    UNITS.iter().find(|(s, _)| text.ends_with(s)).map_or_else(
        || "powers of 2".to_owned(),
        |(s, n)| format!("{s} = 2^{n} bytes"),
    )
}

/// `53687091200` -> `53,687,091,200`
pub fn group(n: i64) -> String {
    let out = group_digits(&n.unsigned_abs().to_string());
    if n < 0 { format!("-{out}") } else { out }
}

fn group_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    /// Issue 21, item 11: the warning for a decimal size beside a binary one names the units
    /// actually written, and the powers it states are the quantities' own byte counts.
    #[test]
    fn decimal_for_binary_names_the_units_written() {
        use super::{Quantity, decimal_for_binary};
        for old in ["20Ki", "20Mi", "20Gi", "20Ti", "20Pi", "20Ei"] {
            for new in ["1k", "1M", "1G", "1T", "1P", "1E", "1e9", "5000"] {
                let (o, n) = (Quantity::parse(old).unwrap(), Quantity::parse(new).unwrap());
                let w = decimal_for_binary(old, &o, new, &n).unwrap();
                let power = |base: &str| -> Option<num_bigint::BigUint> {
                    let (_, rest) = w.split_once(&format!(" = {base}^"))?;
                    let exp: u32 = rest.split(' ').next()?.parse().ok()?;
                    Some(num_bigint::BigUint::from(base.parse::<u32>().unwrap()).pow(exp))
                };
                if new.ends_with(char::is_alphabetic) {
                    let unit = format!("1{}", new.chars().last().unwrap());
                    assert_eq!(
                        power("10"),
                        Some(Quantity::parse(&unit).unwrap().bytes_exact()),
                        "{w}"
                    );
                } else {
                    assert!(!w.contains("10^"), "{w}");
                }
                let unit = format!("1{}", &old[2..]);
                assert_eq!(
                    power("2"),
                    Some(Quantity::parse(&unit).unwrap().bytes_exact()),
                    "{w}"
                );
            }
        }
    }

    /// Issue 21, item 10: a pair the API server orders (`Quantity.Cmp` on the values after
    /// `ParseQuantity`'s rounding up to nano units) never prints as two equal byte counts.
    #[test]
    fn compared_pairs_never_print_equal_bytes() {
        use super::{Quantity, Size};
        let sizes = [
            "8Gi",
            "8589934591.9999",
            "8589934591.999999999",
            "8589934591.9999999991",
            "8589934592",
            "8589934592000m",
            "8589934591999999999n",
            "8589934591.9999999995",
            "1",
            "999m",
            "1000001u",
            "0.5",
            "1.0000000001",
            "2Ki",
            "2048.5",
            "20Gi",
            "21474836479.9",
        ];
        for a in sizes {
            for b in sizes {
                let (qa, qb) = (Quantity::parse(a).unwrap(), Quantity::parse(b).unwrap());
                let (sa, sb) = (qa.bytes_beside(&qb), qb.bytes_beside(&qa));
                assert_eq!(qa == qb, sa == sb, "{a} ({sa}) vs {b} ({sb})");
                if let (Ok(x), Ok(y)) = (Size::parse(a), Size::parse(b)) {
                    assert_eq!(x.quantity.cmp(&y.quantity), qa.cmp(&qb));
                }
            }
        }
        // Beyond nano units the API server rounds up at parse time: equal, not a shrink.
        assert_eq!(
            Quantity::parse("8589934591.9999999999").unwrap(),
            Quantity::parse("8Gi").unwrap()
        );
        let (a, b) = (
            Quantity::parse("8Gi").unwrap(),
            Quantity::parse("8589934591.9999").unwrap(),
        );
        assert_eq!(
            (a.bytes_beside(&b), b.bytes_beside(&a)),
            ("8,589,934,592".to_owned(), "8,589,934,591.9999".to_owned())
        );
    }

    #[test]
    fn exact_sums_and_differences() {
        let q = |t: &str| Quantity::parse(t).unwrap();
        let sum = q("100Gi").add(&q("400Gi")).unwrap();
        assert_eq!(
            (sum.canonical(), sum == q("500Gi")),
            ("500Gi".to_owned(), true)
        );
        let mixed = q("1Gi").add(&q("1G")).unwrap();
        assert_eq!(mixed.bytes(), Some(1_073_741_824 + 1_000_000_000));
        assert_eq!(q("0.5Gi").add(&q("512Mi")).unwrap(), q("1Gi"));
        assert_eq!(q("50Gi").minus(&q("20Gi")).unwrap().canonical(), "30Gi");
        assert_eq!(q("1.5").minus(&q("500m")).unwrap(), q("1"));
        assert!(q("20Gi").minus(&q("50Gi")).is_none());
        assert!(q("-1").add(&q("1")).is_none());
        let big = q("9Ei").add(&q("9Ei")).unwrap();
        assert!(big > q("9Ei"), "exact beyond 2^63: {}", big.bytes_grouped());
    }

    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Every vector of FACTS.md section 3: input, canonical form, bytes (rounded up).
    #[test]
    fn canonical_forms_and_bytes() {
        let cases: &[(&str, &str, &str)] = &[
            ("20Gi", "20Gi", "21474836480"),
            ("20G", "20G", "20000000000"),
            ("1024Mi", "1Gi", "1073741824"),
            ("1000M", "1G", "1000000000"),
            ("20480Mi", "20Gi", "21474836480"),
            ("1.5Gi", "1536Mi", "1610612736"),
            (".5Gi", "512Mi", "536870912"),
            ("1024Gi", "1Ti", "1099511627776"),
            ("1.5Ki", "1536", "1536"),
            ("1023.5Ki", "1048064", "1048064"),
            ("1.1Ki", "1126400m", "1127"),
            ("1.5", "1500m", "2"),
            ("0.1m", "100u", "1"),
            ("3.001n", "4n", "1"),
            ("1e3", "1e3", "1000"),
            ("2e10", "20e9", "20000000000"),
            ("1.3E+6", "1300e3", "1300000"),
            ("1E", "1E", "1000000000000000000"),
            ("3Ei", "3Ei", "3458764513820540928"),
            ("9Ei", "9223372036854775807", "9223372036854775807"),
        ];
        for (input, canonical, bytes) in cases {
            let v = q(input);
            assert_eq!(&v.canonical(), canonical, "canonical of {input}");
            assert_eq!(&v.bytes_exact().to_string(), bytes, "bytes of {input}");
        }
    }

    #[test]
    fn negative_values() {
        let v = q("-1.5Gi");
        assert_eq!(v.canonical(), "-1536Mi");
        assert!(v.is_negative());
        assert_eq!(v.bytes(), None);
        assert!(matches!(
            Size::parse("-1.5Gi"),
            Err(SizeError::NotPositive { .. })
        ));
    }

    #[test]
    fn errors_match_kubernetes() {
        for bad in ["1K", "1mi", "1e", "1Ki1"] {
            assert_eq!(
                Quantity::parse(bad).unwrap_err(),
                QuantityError::Suffix,
                "{bad}"
            );
        }
        for bad in [
            "1gi", "1GB", "1GiB", "20Gb", " 1Gi", "1_000", "", "50 Gi", "1,000",
        ] {
            assert_eq!(
                Quantity::parse(bad).unwrap_err(),
                QuantityError::FormatWrong,
                "{bad:?}"
            );
        }
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(
            QuantityError::Suffix.to_string(),
            "unable to parse quantity's suffix"
        );
        assert_eq!(
            QuantityError::Numeric.to_string(),
            "unable to parse numeric part of quantity"
        );
        assert_eq!(
            Quantity::parse(".e-10").unwrap_err(),
            QuantityError::Numeric
        );
    }

    #[test]
    fn ordering_by_value() {
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert!(q("1G") < q("1Gi"));
        assert!(q("20G") < q("20Gi"));
        assert!(q("19Gi") > q("20G"));
        assert_eq!(q("1e9"), q("1G"));
        assert_eq!(q("1"), q("1000m"));
        assert!(q("10000T") > q("100Gi"));
        assert!(q("-1Gi") < q("1"));
        assert!(q("-2Gi") < q("-1Gi"));
        assert_eq!(q("0"), q("-0Gi"));
    }

    #[test]
    fn kept_strings_follow_kubernetes() {
        // Canonical already: Kubernetes keeps the input verbatim, sign and leading zeros included.
        assert_eq!(q("+20Gi").canonical(), "+20Gi");
        assert_eq!(q("5G").canonical(), "5G");
        assert_eq!(q("8Gi").canonical(), "8Gi");
        assert_eq!(q("2048Gi").canonical(), "2Ti");
        assert_eq!(q("0Gi").canonical(), "0");
        assert_eq!(q("1e-20").canonical(), "1e-9");
        assert_eq!(q("1.").canonical(), "1.");
    }

    #[test]
    fn beyond_64_bits_does_not_wrap() {
        let big = q("100E");
        assert_eq!(big.bytes(), None);
        assert_eq!(big.bytes_exact().to_string(), "100000000000000000000");
        assert_eq!(big.bytes_grouped(), "100,000,000,000,000,000,000");
        assert!(big > q("9Ei"));
        let huge = q("1e400");
        assert!(huge > big);
        assert_eq!(huge.canonical(), "10e399");
        assert!(matches!(
            Size::parse("100E"),
            Err(SizeError::TooLarge { .. })
        ));
        assert!(matches!(
            Size::parse("9Ei"),
            Err(SizeError::TooLarge { .. })
        ));
        assert!(matches!(
            Size::parse("8Ei"),
            Err(SizeError::TooLarge { .. })
        ));
        assert!(Size::parse("7Ei").is_ok());
        assert_eq!(
            Quantity::parse("1e99999").unwrap_err(),
            QuantityError::OutOfRange
        );
        assert_eq!(
            Quantity::parse("1e99999999999999999999").unwrap_err(),
            QuantityError::Suffix
        );
    }

    #[test]
    fn decimal_for_binary_warning() {
        let w = |o: &str, n: &str| decimal_for_binary(o, &q(o), n, &q(n));
        assert_eq!(
            w("20Gi", "50G").as_deref(),
            Some(
                "50G is decimal (G = 10^9 bytes) where 20Gi is binary (Gi = 2^30 bytes): 50G is 50,000,000,000 bytes; did you mean 50Gi?"
            )
        );
        assert!(w("20Gi", "500k").unwrap().ends_with("did you mean 500Ki?"));
        assert!(!w("20Gi", "50000000000").unwrap().contains("did you mean"));
        assert_eq!(w("20G", "50G"), None);
        assert_eq!(w("20Gi", "50Gi"), None);
    }

    #[test]
    fn sizes() {
        let s = Size::parse("50Gi").unwrap();
        assert_eq!(s.bytes, 53_687_091_200);
        assert_eq!(s.describe(), "50Gi (53,687,091,200 bytes)");
        assert!(matches!(
            Size::parse("0"),
            Err(SizeError::NotPositive { .. })
        ));
        let err = Size::parse("50GB").unwrap_err().to_string();
        assert!(err.contains("`50Gi`") && err.contains("`50G`"), "{err}");
        let err = Size::parse("50 gi").unwrap_err().to_string();
        assert!(err.contains("`50Gi`"), "{err}");
    }
}

//! Kubernetes resource quantities (`8Mi`, `64M`, `1Gi`) as byte counts.

/// Parses a Kubernetes-style byte quantity: a whole number with an optional
/// binary (`Ki`, `Mi`, `Gi`) or decimal (`k`, `M`, `G`) suffix.
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a quantity like 8Mi"))?;
    let unit: u64 = match suffix {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => {
            return Err(format!(
                "{text:?} has an unknown suffix (use Ki, Mi, Gi, k, M or G)"
            ));
        }
    };
    match number.checked_mul(unit) {
        Some(0) => Err(format!("{text:?} must be more than zero")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{text:?} is too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn binary_suffixes_are_powers_of_two() {
        assert_eq!(parse_bytes("8Mi"), Ok(8 << 20));
        assert_eq!(parse_bytes("1Gi"), Ok(1 << 30));
        assert_eq!(parse_bytes("512Ki"), Ok(512 << 10));
    }

    #[test]
    fn decimal_suffixes_are_powers_of_ten() {
        assert_eq!(parse_bytes("64M"), Ok(64_000_000));
        assert_eq!(parse_bytes("2k"), Ok(2_000));
    }

    #[test]
    fn plain_numbers_are_bytes() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
    }

    #[test]
    fn zero_negative_and_unknown_suffixes_are_refused() {
        assert!(parse_bytes("0Mi").is_err());
        assert!(parse_bytes("-1Mi").is_err());
        assert!(parse_bytes("8MB").is_err());
        assert!(parse_bytes("Mi").is_err());
        assert!(parse_bytes("99999999999999Gi").is_err());
    }
}

//! Serde for `f64` fields that may be NaN or infinite (JSON has no such
//! numbers): finite values as numbers, the others as the strings `"NaN"`,
//! `"inf"`, `"-inf"`. Use with `#[serde(with = "gengap_model::nonfinite")]`.

use serde::{Deserialize, Deserializer, Serializer};

/// Serialize.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

/// Deserialize.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(f64),
        S(String),
    }
    match V::deserialize(d)? {
        V::N(x) => Ok(x),
        V::S(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(serde::de::Error::custom(format!("not a number: {other:?}"))),
        },
    }
}

//! `serde_as_text!`: serde for types whose wire and document form is their `Display`/`FromStr` text.

/// Implements `Serialize` as the type's `Display` text and `Deserialize` by
/// parsing text with its `FromStr`, whose error becomes the serde error.
macro_rules! serde_as_text {
    ($($ty:ty),+ $(,)?) => {$(
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    )+};
}
pub(crate) use serde_as_text;

//! Go value model and the renderings Vault Agent applies to secrets.

pub mod decode;
pub mod default;
pub mod float;
pub mod json;
pub mod value;

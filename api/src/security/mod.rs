//! Who is calling and what proves it: tokens, passwords, secrets, the
//! second factor's codes, principals and authentication.

pub mod auth;
pub mod passwords;
pub mod principal;
pub mod secrets;
pub mod tokens;
pub mod totp;

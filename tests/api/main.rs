//! End-to-end tests over HTTP. Each test starts its own server and database.

mod access;
mod announcements;
mod api_keys;
mod audit;
mod auth;
mod bad_input;
mod board;
mod bodies;
mod browser;
mod calendar;
mod calls;
mod contract_end;
mod crash;
mod customer_view;
mod helpers;

mod instances;
mod jobs;
mod manners;
mod mixed_load;
mod ops;
mod outbox;
mod process;
mod second_factor;
mod security;
mod time_edges;
pub(crate) mod web;
mod web_desk;
mod webhooks;

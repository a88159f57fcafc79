//! Everything about the AIoD catalogue: settings, Keycloak tokens, the REST
//! client, body normalisation and the uploading sink.

pub mod auth;
pub mod client;
pub mod normalize;
pub mod settings;
pub mod upload;

//! Inbound APIs other than OpenAI's chat: each is translated into the typed OpenAI core on the
//! way in and back into its own shapes on the way out, so routing, retries, fallbacks, the
//! cache and the log work the same for every client.

pub mod chunk_bridge;
pub mod messages;
pub mod responses;

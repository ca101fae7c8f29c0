//! The typed OpenAI core: the gateway's one internal language. Inbound APIs translate into it,
//! providers translate out of it, and every chunk, answer and error the gateway writes is built
//! through these types. It depends on nothing above it (no routing, no dispatch, no cache).

pub mod chunk;
pub mod completion;
pub mod completion_view;
pub mod embeddings;
pub mod endpoint;
pub mod error_body;
pub mod ids;
pub mod request;
pub mod rewrite;
pub mod text_completion;
pub mod token_count;
pub mod usage;

pub use endpoint::Endpoint;
pub use usage::Usage;
